//! levee: guardrails for citizen-developer micro apps.
//!
//! One manifest per app (`app.yaml`) drives the starter code, the CI pipeline, the policy bundle,
//! the catalog entry and the app's lifecycle. The binary (`src/main.rs`) only parses arguments and
//! maps the outcome to an exit code; everything else lives here, callable from tests.

pub mod appdir;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod declarations;
pub mod diag;
pub mod document;
pub mod edit;
pub mod exit;
pub mod fsio;
pub mod input;
pub mod lifecycle;
pub mod managed;
pub mod manifest;
pub mod merge;
pub mod org;
pub mod pack;
pub mod pipeline;
pub mod plan;
pub mod policy;
pub mod promote;
pub mod render;
pub mod sandbox;
pub mod scaffold;
pub mod schema;
pub mod settings;
pub mod template_settings;
pub mod text;
pub mod ui;
pub mod upgrade;
pub mod upgrade_job;
pub mod wizard;
pub mod yaml;

/// levee's version, stamped into every file it generates.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub mod sbom;
