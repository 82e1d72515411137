//! npm: `package-lock.json` (lockfileVersion 1, 2 and 3) and `npm-shrinkwrap.json` (same format).
//!
//! v2/v3 locks list every installed package under `packages`, keyed by its folder
//! (`node_modules/a/node_modules/b`); dependencies are resolved the way Node does, from the
//! nearest `node_modules` folder upwards. v1 locks nest `dependencies` and are flattened into the
//! same keys first. `link: true` entries (workspaces, `file:` dependencies) point at the folder
//! that holds the real entry. Workspace folders (`packages/app`) are components, as they are in
//! cyclonedx-npm's output, and the root depends on each one its `workspaces` globs match.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use serde::Deserialize;

use super::{Hash, HashAlg, Inventory, Package, SbomError, Scope, npm_purl, purl_error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    lockfile_version: Option<u32>,
    #[serde(default)]
    packages: Option<BTreeMap<String, Entry>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default)]
    integrity: Option<String>,
    #[serde(default)]
    license: Option<License>,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    dev_optional: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, String>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, String>,
    /// The root's `workspaces` globs, as its package.json states them.
    #[serde(default)]
    workspaces: Option<super::js::Workspaces>,
}

/// `license` is a string in current locks; very old packages carry `{type, url}` objects.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum License {
    Id(String),
    Object {
        #[serde(rename = "type")]
        kind: Option<String>,
    },
    Other(serde::de::IgnoredAny),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Entry {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    resolved: Option<String>,
    #[serde(default)]
    integrity: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    requires: BTreeMap<String, String>,
    #[serde(default)]
    dependencies: BTreeMap<String, V1Entry>,
}

/// `package.json` next to a v1 lock: the only place that says which packages are direct.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    peer_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_json(path, &text)?;
    let mut packages = match (lock.packages, lock.dependencies) {
        (Some(p), _) => p,
        (None, Some(deps)) => flatten_v1(path, deps)?,
        (None, None) => {
            return Err(SbomError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "neither `packages` nor `dependencies` found (lockfileVersion {})",
                    lock.lockfile_version
                        .map_or("missing".into(), |v| v.to_string())
                ),
            });
        }
    };
    let root = packages.remove("").unwrap_or_default();
    let mut inv = Inventory::new(path);
    let root_name = root.name.clone().or(lock.name);
    let root_version = root.version.clone().or(lock.version);
    if let Some(n) = root_name {
        inv.root = Some((n, root_version.unwrap_or_default()));
    }

    let tree = Tree {
        purls: purls(path, &packages)?,
        packages: &packages,
    };
    inv.direct = tree.edges("", &root, true);
    for (key, e) in &packages {
        if let Some(purl) = tree.purls.get(key.as_str()) {
            inv.add(tree.package(key, e, purl));
        }
    }
    if inv.direct.is_empty()
        && let Some(m) = sibling_manifest(path)
    {
        let names = m
            .dependencies
            .keys()
            .chain(m.optional_dependencies.keys())
            .chain(m.peer_dependencies.keys())
            .chain(m.dev_dependencies.keys());
        inv.direct = names.filter_map(|n| tree.resolve("", n)).collect();
    }
    if let Some(ws) = &root.workspaces {
        link_workspaces(path, ws, &tree.purls, &mut inv)?;
    }
    Ok(inv)
}

/// key -> purl, for every real (non-link) entry that has a version.
fn purls<'l>(
    path: &Path,
    packages: &'l BTreeMap<String, Entry>,
) -> Result<BTreeMap<&'l str, String>, SbomError> {
    let mut purls: BTreeMap<&str, String> = BTreeMap::new();
    for (key, e) in packages {
        if e.link {
            continue;
        }
        let Some(version) = e.version.as_deref() else {
            continue;
        };
        let name = entry_name(key, e);
        let purl = npm_purl(&name, version).map_err(|err| purl_error(path, &name, err))?;
        purls.insert(key.as_str(), purl);
    }
    Ok(purls)
}

/// The lock's `packages` (by `node_modules/...` path) and their purls.
struct Tree<'l> {
    packages: &'l BTreeMap<String, Entry>,
    purls: BTreeMap<&'l str, String>,
}

impl Tree<'_> {
    /// The purl `dep` resolves to from the folder `from`, as Node resolves it: the nearest
    /// `node_modules/dep` up the tree (a link followed to its target).
    fn resolve(&self, from: &str, dep: &str) -> Option<String> {
        let mut cur = from.to_string();
        loop {
            let cand = if cur.is_empty() {
                format!("node_modules/{dep}")
            } else {
                format!("{cur}/node_modules/{dep}")
            };
            if let Some(e) = self.packages.get(&cand) {
                let target = if e.link {
                    e.resolved.clone().unwrap_or_default()
                } else {
                    cand
                };
                return self.purls.get(target.as_str()).cloned();
            }
            if cur.is_empty() {
                return None;
            }
            cur = match cur.rfind("/node_modules/") {
                Some(i) => cur[..i].to_string(),
                None => String::new(),
            };
        }
    }

    /// The purls the entry at `key` depends on (its devDependencies too with `with_dev`).
    fn edges(&self, key: &str, e: &Entry, with_dev: bool) -> BTreeSet<String> {
        let mut names: Vec<&String> = e
            .dependencies
            .keys()
            .chain(e.optional_dependencies.keys())
            .chain(e.peer_dependencies.keys())
            .collect();
        if with_dev {
            names.extend(e.dev_dependencies.keys());
        }
        names.iter().filter_map(|n| self.resolve(key, n)).collect()
    }

    /// The package of the entry at `key`, with its scope, hashes, license and edges.
    fn package(&self, key: &str, e: &Entry, purl: &str) -> Package {
        let name = entry_name(key, e);
        let version = e.version.as_deref().unwrap_or_default();
        let mut p = Package::new(super::Ecosystem::Npm, &name, version, purl.to_string());
        // devOptional packages stay with `--omit dev` (npm keeps them for the optional tree).
        p.scope = if e.dev {
            Scope::Dev
        } else if e.optional || e.dev_optional {
            Scope::Optional
        } else {
            Scope::Required
        };
        p.hashes = e.integrity.as_deref().map(integrity).unwrap_or_default();
        p.license = match &e.license {
            Some(License::Id(s)) => Some(s.clone()),
            Some(License::Object { kind: Some(s) }) => Some(s.clone()),
            _ => None,
        };
        // Workspace folders are not under node_modules: their devDependencies count too.
        let is_workspace = !key.starts_with("node_modules/") && !key.contains("/node_modules/");
        p.dependencies = self.edges(key, e, is_workspace);
        p.dependencies.remove(purl);
        p
    }
}

/// The root depends on its workspaces (npm links each from the root's node_modules, and
/// cyclonedx-npm's graph has the edges): the folders its `workspaces` globs match.
fn link_workspaces(
    path: &Path,
    ws: &super::js::Workspaces,
    purls: &BTreeMap<&str, String>,
    inv: &mut Inventory,
) -> Result<(), SbomError> {
    let globs =
        super::js::WorkspaceGlobs::new(ws.patterns()).map_err(|message| SbomError::Invalid {
            path: path.display().to_string(),
            message,
        })?;
    for (key, purl) in purls {
        if !key.starts_with("node_modules/")
            && !key.contains("/node_modules/")
            && globs.matches(key)
        {
            inv.direct.insert(purl.clone());
        }
    }
    Ok(())
}

fn sibling_manifest(lock: &Path) -> Option<Manifest> {
    let text = super::read_text(&lock.with_file_name("package.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The package name of an entry: its `name` when given (aliases, workspaces), else the folder.
fn entry_name(key: &str, e: &Entry) -> String {
    if let Some(n) = &e.name {
        return n.clone();
    }
    match key.rfind("node_modules/") {
        Some(i) => key[i + "node_modules/".len()..].to_string(),
        None => key.rsplit('/').next().unwrap_or(key).to_string(),
    }
}

/// Subresource-integrity strings (`sha512-<base64> sha1-<base64>`) as hex hashes.
pub(crate) fn integrity(s: &str) -> Vec<Hash> {
    s.split_whitespace()
        .filter_map(|part| {
            let (alg, b64) = part.split_once('-')?;
            let alg = HashAlg::parse(alg)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.split('?').next()?)
                .ok()?;
            let hex = crate::support::hash::hex(&bytes);
            Hash::hex(alg, &hex)
        })
        .collect()
}

/// v1 nests `dependencies`; turn it into v2-style folder keys. `requires` become dependencies
/// (resolved later from the folder upwards, exactly like v2). A v1 `version` that is not a
/// version (`file:`, a git URL) marks a link or a non-registry source.
fn flatten_v1(
    path: &Path,
    deps: BTreeMap<String, V1Entry>,
) -> Result<BTreeMap<String, Entry>, SbomError> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<(String, String, V1Entry)> = deps
        .into_iter()
        .map(|(n, e)| (String::new(), n, e))
        .collect();
    let mut guard = 0usize;
    while let Some((parent, name, e)) = stack.pop() {
        guard += 1;
        if guard > 5_000_000 {
            return Err(SbomError::Invalid {
                path: path.display().to_string(),
                message: "more than 5 million nested dependencies".into(),
            });
        }
        let key = if parent.is_empty() {
            format!("node_modules/{name}")
        } else {
            format!("{parent}/node_modules/{name}")
        };
        let version = e.version.clone().unwrap_or_default();
        let (version, link) = if let Some(target) = version.strip_prefix("file:") {
            (None, Some(target.to_string()))
        } else if version.contains(':') || version.contains('/') {
            // git or tarball: the version is in the URL; keep the spec's tail as the version.
            (
                Some(version.rsplit('#').next().unwrap_or(&version).to_string()),
                None,
            )
        } else {
            (Some(version), None)
        };
        for (n, child) in e.dependencies {
            stack.push((key.clone(), n, child));
        }
        out.insert(
            key,
            Entry {
                name: Some(name),
                version,
                link: link.is_some(),
                resolved: link.or(e.resolved),
                integrity: e.integrity,
                dev: e.dev,
                optional: e.optional,
                dependencies: e.requires,
                ..Entry::default()
            },
        );
    }
    Ok(out)
}
