//! levee: guardrails for citizen-developer micro apps.
//!
//! One manifest per app (`app.yaml`) drives the starter code, the CI pipeline, the policy bundle,
//! the catalog entry and the app's lifecycle. The binary (`src/main.rs`) only parses arguments and
//! maps the outcome to an exit code; everything else lives here, callable from tests.

pub mod cli;
pub mod diag;
pub mod document;
pub mod exit;
pub mod manifest;
pub mod org;
pub mod schema;
pub mod ui;
pub mod yaml;

/// levee's version, stamped into every file it generates.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod sbom;
