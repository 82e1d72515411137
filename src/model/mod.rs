//! What the user and the platform team wrote: the app manifest (`app.yaml`), its settings, and
//! the org config (`levee.org.yaml`) with the settings it holds.

pub mod ci;
pub mod manifest;
pub mod org;
pub(crate) mod pattern;
pub mod sandbox_config;
pub mod settings;
pub(crate) mod shape;
pub mod upgrade_job;
