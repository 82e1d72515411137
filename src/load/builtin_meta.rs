//! The built-in pack's YAML metadata (`templates/pack.yaml` and each `template.yaml`), parsed
//! when levee was built: `compiled/builtin-pack.json` holds each file's value with the SHA-256 of
//! the text it was parsed from.
//!
//! Parsing the seven files with the YAML parser (a 48 KB buffer and a parse per file) was 3% of
//! `levee new`; reading their values from JSON takes a few microseconds. A file whose text is
//! not the one a value was parsed from (edited since `compiled/` was regenerated) is parsed as
//! before, and a test keeps the committed values equal to the parsed ones
//! (`LEVEE_UPDATE_PACK=1 cargo test --lib committed_builtin_pack` rewrites them).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `compiled/builtin-pack.json`.
pub(crate) static TEXT: &str = include_str!("../../compiled/builtin-pack.json");

/// One file's parsed value, with the digest of its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) sha256: String,
    pub(crate) value: serde_json::Value,
}

/// The committed values by file (`pack.yaml`, `webhook-node/template.yaml`, ...); empty when
/// the committed text does not read (the files are then parsed).
fn table() -> &'static BTreeMap<String, Entry> {
    static TABLE: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| serde_json::from_str(TEXT).unwrap_or_default())
}

/// The value of the built-in pack's `file` parsed when levee was built, if `text` is the text
/// it was parsed from.
pub(crate) fn parsed<T: DeserializeOwned>(file: &str, text: &[u8]) -> Option<T> {
    let entry = table().get(file)?;
    if entry.sha256 != crate::support::hash::sha256_hex(text) {
        return None;
    }
    T::deserialize(&entry.value).ok()
}
