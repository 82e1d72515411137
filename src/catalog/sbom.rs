//! The catalog's SBOM snapshot, read from the app's `sbom.cdx.json` (CycloneDX JSON, as written by
//! `levee sbom`): component count, the file's SHA-256, and the top-level dependencies (what the
//! root component depends on directly).

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The SBOM file an app directory may hold.
pub const FILE_NAME: &str = "sbom.cdx.json";

/// The SBOM summary and dependency snapshot in a catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SbomSummary {
    /// The SBOM file, relative to the app directory.
    pub file: String,
    /// SHA-256 of the file, lowercase hex.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// The CycloneDX spec version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<String>,
    /// Every component, nested ones included.
    pub component_count: u64,
    /// Components per ecosystem (the purl type: `npm`, `pypi`; `unknown` without a purl).
    pub by_ecosystem: BTreeMap<String, u64>,
    /// Components per CycloneDX scope (`required` when unset, `optional`, `excluded`).
    pub by_scope: BTreeMap<String, u64>,
    /// The root component's direct dependencies (`name@version`), sorted.
    pub top_level_dependencies: Vec<String>,
}

/// Reads `dir/sbom.cdx.json` when present.
/// The file is read through [`crate::support::appdir::AppDir`]: a regular file inside the app, no
/// symlink followed, at most [`MAX_BYTES`].
pub(crate) fn summarize_dir(dir: &Path) -> Result<Option<SbomSummary>, String> {
    let path = dir.join(FILE_NAME);
    let read = crate::support::appdir::AppDir::open(dir)
        .and_then(|d| d.read(Path::new(FILE_NAME), MAX_BYTES));
    match read {
        Ok(Some(bytes)) => summarize(&bytes)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The largest SBOM read (as large as the largest lock file `levee sbom` reads).
pub const MAX_BYTES: u64 = crate::sbom::MAX_LOCKFILE_BYTES;

/// Summarizes CycloneDX JSON bytes.
pub(crate) fn summarize(bytes: &[u8]) -> Result<SbomSummary, String> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not CycloneDX JSON: {e}"))?;
    if doc.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err("not a CycloneDX SBOM (`bomFormat` is not \"CycloneDX\")".into());
    }
    let mut components = Vec::new();
    collect(doc.get("components"), &mut components);
    let label = |c: &Value| {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let name = match c.get("group").and_then(Value::as_str) {
            Some(g) if !g.is_empty() => format!("{g}/{name}"),
            _ => name.to_string(),
        };
        match c.get("version").and_then(Value::as_str) {
            Some(v) => format!("{name}@{v}"),
            None => name,
        }
    };
    let root_ref = doc
        .pointer("/metadata/component/bom-ref")
        .and_then(Value::as_str);
    let mut top: Vec<String> = match root_ref {
        Some(root) => doc
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| d.get("ref").and_then(Value::as_str) == Some(root))
            .flat_map(|d| {
                d.get("dependsOn")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|r| {
                let r = r.as_str()?.to_string();
                Some(
                    components
                        .iter()
                        .find(|c| c.get("bom-ref").and_then(Value::as_str) == Some(&r))
                        .map_or(r, |c| label(c)),
                )
            })
            .collect(),
        None => Vec::new(),
    };
    top.sort();
    top.dedup();
    let mut by_ecosystem = BTreeMap::new();
    let mut by_scope = BTreeMap::new();
    for c in &components {
        let eco = c
            .get("purl")
            .and_then(Value::as_str)
            .and_then(|p| p.strip_prefix("pkg:"))
            .and_then(|p| p.split('/').next())
            .filter(|t| !t.is_empty())
            .unwrap_or("unknown");
        *by_ecosystem.entry(eco.to_string()).or_insert(0) += 1;
        let scope = c.get("scope").and_then(Value::as_str).unwrap_or("required");
        *by_scope.entry(scope.to_string()).or_insert(0) += 1;
    }
    Ok(SbomSummary {
        file: FILE_NAME.into(),
        sha256: crate::support::hash::sha256_hex(bytes),
        spec_version: doc
            .get("specVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        component_count: components.len() as u64,
        by_ecosystem,
        by_scope,
        top_level_dependencies: top,
    })
}

fn collect<'a>(list: Option<&'a Value>, out: &mut Vec<&'a Value>) {
    for c in list.and_then(Value::as_array).into_iter().flatten() {
        out.push(c);
        collect(c.get("components"), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_small_bom() {
        let bom = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6",
            "metadata": {"component": {"bom-ref": "app", "name": "app"}},
            "components": [
                {"bom-ref": "pkg:npm/express@4.21.2", "name": "express", "version": "4.21.2",
                 "components": [{"bom-ref": "x", "name": "nested"}]},
                {"bom-ref": "pkg:npm/debug@2.6.9", "name": "debug", "version": "2.6.9",
                 "purl": "pkg:npm/debug@2.6.9", "scope": "optional"}
            ],
            "dependencies": [
                {"ref": "app", "dependsOn": ["pkg:npm/express@4.21.2"]},
                {"ref": "pkg:npm/express@4.21.2", "dependsOn": ["pkg:npm/debug@2.6.9"]}
            ]
        });
        let bytes = serde_json::to_vec(&bom).expect("json");
        let s = summarize(&bytes).expect("summary");
        assert_eq!(s.component_count, 3);
        assert_eq!(s.top_level_dependencies, vec!["express@4.21.2"]);
        assert_eq!(s.sha256.len(), 64);
        assert_eq!(s.by_ecosystem["npm"], 1);
        assert_eq!(s.by_ecosystem["unknown"], 2);
        assert_eq!(s.by_scope["optional"], 1);
        assert_eq!(s.by_scope["required"], 2);
        assert!(summarize(b"{\"bomFormat\": \"SPDX\"}").is_err());
    }
}
