//! Changing an existing app: promoting it to a higher tier, upgrading it to a new template
//! version, and the 3-way merge behind the upgrade.

pub mod fleet;
pub mod merge;
pub mod promote;
pub mod upgrade;
