//! Loading what people write: YAML with positions, the published JSON Schemas, located
//! diagnostics, and surgical edits that keep every other byte of a user's file.

pub mod diag;
pub mod document;
pub mod edit;
pub mod schema;
pub mod yaml;
