//! Loading what people write: YAML with positions, the published JSON Schemas, the kinds and
//! stacks a pack declares (the vocabulary a manifest is checked against, so the loader's checks
//! can consult them), located diagnostics, and surgical edits that keep every other byte of a
//! user's file.

pub(crate) mod builtin_meta;
pub mod declarations;
pub mod diag;
pub mod document;
pub mod edit;
pub mod field_path;
pub mod schema;
pub mod yaml;
