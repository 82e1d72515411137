//! What the pnpm and yarn readers share: the project's `package.json` (the only place that says
//! which of a yarn project's dependencies are dev-only), workspace folders, and `name@spec` keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{SbomError, Scope};

/// The parts of a `package.json` an SBOM needs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PackageJson {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub optional_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub peer_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub dev_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub workspaces: Option<Workspaces>,
}

/// `"workspaces": ["packages/*"]` or `{"packages": [...]}` (yarn 1's form with `nohoist`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Workspaces {
    List(Vec<String>),
    Object {
        #[serde(default)]
        packages: Vec<String>,
    },
}

impl PackageJson {
    /// How the project itself needs a direct dependency: a production (or peer, which npm 7+
    /// and yarn install) dependency is required, an optional one optional, one listed only under
    /// `devDependencies` is dev. A name the manifest does not list counts as required.
    pub fn scope_of(&self, name: &str) -> Scope {
        if self.dependencies.contains_key(name) || self.peer_dependencies.contains_key(name) {
            Scope::Required
        } else if self.optional_dependencies.contains_key(name) {
            Scope::Optional
        } else if self.dev_dependencies.contains_key(name) {
            Scope::Dev
        } else {
            Scope::Required
        }
    }

    /// Every direct dependency's name and spec (production, optional, peer, dev).
    pub fn all_dependencies(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
        self.dependencies
            .iter()
            .chain(&self.optional_dependencies)
            .chain(&self.peer_dependencies)
            .chain(&self.dev_dependencies)
    }

    pub fn workspace_patterns(&self) -> &[String] {
        match &self.workspaces {
            Some(Workspaces::List(l)) => l,
            Some(Workspaces::Object { packages }) => packages,
            None => &[],
        }
    }
}

/// Reads `dir/package.json`: `None` when there is none; a malformed one is an error with its
/// position (guessing dev scopes from a manifest levee cannot read would be wrong silently).
pub(crate) fn package_json(dir: &Path) -> Result<Option<PackageJson>, SbomError> {
    let path = dir.join("package.json");
    if !path.is_file() {
        return Ok(None);
    }
    let text = super::read_text(&path)?;
    super::parse_json(&path, &text).map(Some)
}

/// The folders a `workspaces` list names, relative to `root`, sorted. Literal folders and the
/// common `dir/*` form are expanded; other glob forms (`**`, `{a,b}`, negations) are not, and a
/// workspace they alone name is missed (its dependencies then count as dev by reachability).
pub(crate) fn workspace_dirs(root: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in patterns {
        let p = p.trim_start_matches("./").trim_end_matches('/');
        if let Some(parent) = p.strip_suffix("/*") {
            if has_glob(parent) {
                continue;
            }
            let Ok(rd) = std::fs::read_dir(root.join(parent)) else {
                continue;
            };
            let mut dirs: Vec<PathBuf> = rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|d| d.join("package.json").is_file())
                .filter_map(|d| d.strip_prefix(root).ok().map(Path::to_path_buf))
                .collect();
            dirs.sort();
            out.extend(dirs);
        } else if !has_glob(p) && root.join(p).join("package.json").is_file() {
            out.push(PathBuf::from(p));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{', '!'])
}

/// A YAML scalar read as text: lock files write `version: 1.0.0` (a string) but also
/// `version: 10` or `lockfileVersion: 5.4` (numbers), and old yarn 2 locks `dep: 1` for a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits `name@rest` (`@scope/name@rest` for scoped names) at the `@` that ends the name.
pub(crate) fn split_name(spec: &str) -> Option<(&str, &str)> {
    let from = if spec.starts_with('@') {
        spec.find('/')?
    } else {
        // Past the first character: a name never starts with `@` unless it is scoped.
        spec.chars().next().map_or(0, char::len_utf8)
    };
    let at = spec[from..].find('@')? + from;
    let (name, rest) = (&spec[..at], &spec[at + 1..]);
    (!name.is_empty()).then_some((name, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_handles_scopes_aliases_and_garbage() {
        assert_eq!(split_name("ms@2.1.3"), Some(("ms", "2.1.3")));
        assert_eq!(
            split_name("@types/node@20.1.0"),
            Some(("@types/node", "20.1.0"))
        );
        assert_eq!(
            split_name("my-ms@npm:ms@2.1.2"),
            Some(("my-ms", "npm:ms@2.1.2"))
        );
        assert_eq!(split_name("@scope/x"), None);
        assert_eq!(split_name("@nope"), None);
        assert_eq!(split_name("plain"), None);
        assert_eq!(split_name(""), None);
        assert_eq!(split_name("@"), None);
        assert_eq!(split_name("é@1"), Some(("é", "1")));
    }
}
