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

impl Workspaces {
    pub(super) fn patterns(&self) -> &[String] {
        match self {
            Workspaces::List(l) => l,
            Workspaces::Object { packages } => packages,
        }
    }
}

impl PackageJson {
    /// How the project itself needs a direct dependency: a production (or peer, which npm 7+
    /// and yarn install) dependency is required, an optional one optional, one listed only under
    /// `devDependencies` is dev. A name the manifest does not list counts as required.
    pub(super) fn scope_of(&self, name: &str) -> Scope {
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
    pub(super) fn all_dependencies(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
        self.dependencies
            .iter()
            .chain(&self.optional_dependencies)
            .chain(&self.peer_dependencies)
            .chain(&self.dev_dependencies)
    }

    pub(super) fn workspace_patterns(&self) -> &[String] {
        self.workspaces.as_ref().map_or(&[], Workspaces::patterns)
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

/// A `workspaces` list as a matcher of folders relative to the project root, with the semantics
/// npm (`@npmcli/map-workspaces`), yarn and pnpm share: glob patterns (`*` within one folder,
/// `**` across folders, `{a,b}`, `?`, `[...]`) where a later `!pattern` removes what earlier
/// patterns matched (and a later positive pattern adds it back). `./` prefixes and trailing `/`
/// are ignored.
pub(crate) struct WorkspaceGlobs {
    /// (negated, matcher, literal leading folders to walk from, may match at any depth)
    patterns: Vec<(bool, globset::GlobMatcher, PathBuf, usize)>,
}

/// Folders deeper than this below a pattern's literal prefix are not searched for `**`.
const MAX_WORKSPACE_DEPTH: usize = 16;
/// A walk that visits more folders than this stops (a `**` over a huge tree).
const MAX_WORKSPACE_WALK: usize = 100_000;

impl WorkspaceGlobs {
    /// Compiles the patterns; a pattern globset cannot parse is an error naming it.
    pub(super) fn new(patterns: &[String]) -> Result<WorkspaceGlobs, String> {
        let mut out = Vec::new();
        for raw in patterns {
            let (negated, p) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, raw.as_str()),
            };
            let p = p.trim_start_matches("./").trim_end_matches('/');
            if p.is_empty() {
                continue;
            }
            let glob = globset::GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("workspaces pattern `{raw}`: {e}"))?;
            let segments: Vec<&str> = p.split('/').collect();
            let literal = segments.iter().take_while(|s| !has_glob(s)).count();
            let base: PathBuf = segments[..literal].iter().collect();
            let depth = if segments[literal..].contains(&"**") {
                MAX_WORKSPACE_DEPTH
            } else {
                segments.len() - literal
            };
            out.push((negated, glob.compile_matcher(), base, depth));
        }
        Ok(WorkspaceGlobs { patterns: out })
    }

    /// Whether a folder (relative to the root, `/`-separated) is a workspace: the last pattern
    /// that matches it is not a negation.
    pub(super) fn matches(&self, rel: &str) -> bool {
        let rel = rel.trim_start_matches("./").trim_end_matches('/');
        self.patterns
            .iter()
            .rev()
            .find(|(_, m, _, _)| m.is_match(rel))
            .is_some_and(|(negated, ..)| !negated)
    }

    /// The workspace folders under `root`: folders with a `package.json` that [`Self::matches`]
    /// accepts, found by walking from each positive pattern's literal prefix (never into
    /// `node_modules` or hidden folders, as the package managers' globbing does not). Sorted.
    pub(super) fn dirs(&self, root: &Path) -> Vec<PathBuf> {
        let mut found = std::collections::BTreeSet::new();
        let mut visited = 0usize;
        for (negated, _, base, depth) in &self.patterns {
            if *negated {
                continue;
            }
            let mut stack = vec![(base.clone(), 0usize)];
            while let Some((rel, d)) = stack.pop() {
                visited += 1;
                if visited > MAX_WORKSPACE_WALK {
                    break;
                }
                let abs = root.join(&rel);
                let key = rel.to_string_lossy().replace('\\', "/");
                if !key.is_empty() && abs.join("package.json").is_file() && self.matches(&key) {
                    found.insert(rel.clone());
                }
                if d >= *depth {
                    continue;
                }
                let Ok(rd) = std::fs::read_dir(&abs) else {
                    continue;
                };
                for e in rd.filter_map(Result::ok) {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    if name == "node_modules" || name.starts_with('.') {
                        continue;
                    }
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push((rel.join(&*name), d + 1));
                    }
                }
            }
        }
        found.into_iter().collect()
    }
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{', '!', '\\'])
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

    #[test]
    fn workspace_globs_expand_stars_braces_and_negations() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        for d in [
            "packages/a",
            "packages/b",
            "packages/legacy",
            "packages/group/deep/c",
            "apps/web",
            "apps/api",
            "apps/docs",
            "tools/cli",
            "packages/a/node_modules/x",
            "packages/.hidden",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
            std::fs::write(root.join(d).join("package.json"), "{}").expect("write");
        }
        std::fs::create_dir_all(root.join("packages/no-manifest")).expect("mkdir");
        let dirs = |pats: &[&str]| -> Vec<String> {
            let pats: Vec<String> = pats.iter().map(|p| p.to_string()).collect();
            WorkspaceGlobs::new(&pats)
                .expect("valid")
                .dirs(root)
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect()
        };
        // `*` stays in one folder; a folder without package.json is not a workspace.
        assert_eq!(
            dirs(&["packages/*"]),
            ["packages/a", "packages/b", "packages/legacy"]
        );
        // `**` crosses folders, but never into node_modules or hidden folders.
        assert_eq!(
            dirs(&["packages/**"]),
            [
                "packages/a",
                "packages/b",
                "packages/group/deep/c",
                "packages/legacy"
            ]
        );
        // Braces, a literal folder and `./` prefixes.
        assert_eq!(
            dirs(&["apps/{web,api}", "./tools/cli/"]),
            ["apps/api", "apps/web", "tools/cli"]
        );
        // A negation removes what came before it; a later positive pattern adds back.
        assert_eq!(
            dirs(&["packages/*", "apps/*", "!packages/legacy", "!apps/d*"]),
            ["apps/api", "apps/web", "packages/a", "packages/b"]
        );
        assert_eq!(dirs(&["apps/*", "!apps/*", "apps/docs"]), ["apps/docs"]);
        let g = WorkspaceGlobs::new(&["packages/**".into(), "!**/legacy".into()]).expect("ok");
        assert!(g.matches("packages/group/deep/c"));
        assert!(!g.matches("packages/legacy"));
        assert!(!g.matches("apps/web"));
        assert!(WorkspaceGlobs::new(&["packages/{a".into()]).is_err());
        assert!(dirs(&["missing/*"]).is_empty());
    }
}
