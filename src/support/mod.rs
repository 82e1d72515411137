//! The bottom layer: what every other layer leans on and that knows nothing of apps. Reading
//! input within bounds, writing atomically, the app directory, today's date, untrusted text,
//! terminal output and exit codes.

pub mod appdir;
pub mod clock;
pub mod exit;
pub mod fsio;
pub mod git;
pub mod hash;
pub mod input;
pub mod literal;
pub mod record;
pub mod text;
pub mod ui;
