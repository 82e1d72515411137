//! levee: guardrails for citizen-developer micro apps.
//!
//! One manifest per app (`app.yaml`) drives the starter code, the CI pipeline, the policy bundle,
//! the catalog entry and the app's lifecycle. The binary (`src/main.rs`) only parses arguments and
//! maps the outcome to an exit code; everything else lives here, callable from tests.
//!
//! The modules are layers, and read as the flow, bottom to top: [`support`] (I/O, text, output)
//! -> [`load`] (YAML, schemas, diagnostics) -> [`model`] (manifest, org config) -> [`generate`]
//! (gate plan, pipeline, policy, sandbox, backstage, managed files) -> [`scaffold`] (packs,
//! render, wizard, new apps) -> [`check`] (the policy gate over many manifests) -> [`change`]
//! (promote, upgrade, merge) -> [`sbom`] -> [`catalog`]
//! -> [`lifecycle`] -> [`cli`] (arguments and printing). A layer uses only the layers below it;
//! `tests/layers.rs` fails otherwise.

pub mod catalog;
pub mod change;
pub mod check;
pub mod cli;
pub mod generate;
pub mod lifecycle;
pub mod load;
pub mod model;
pub mod sbom;
pub mod scaffold;
pub mod support;

/// levee's version, stamped into every file it generates.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
