//! npm: `package-lock.json` (lockfileVersion 1, 2 and 3) and `npm-shrinkwrap.json` (same format).
//!
//! v2/v3 locks list every installed package under `packages`, keyed by its folder
//! (`node_modules/a/node_modules/b`); dependencies are resolved the way Node does, from the
//! nearest `node_modules` folder upwards. v1 locks nest `dependencies` and are flattened into the
//! same keys first. `link: true` entries (workspaces, `file:` dependencies) point at the folder
//! that holds the real entry. Workspace folders (`packages/app`) are components, as they are in
//! cyclonedx-npm's output, and the root depends on each one its `workspaces` globs match.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use base64::Engine;
use serde::Deserialize;

use super::{Hash, HashAlg, Inventory, Package, SbomError, Scope, npm_purl, purl_error};

/// The lock, borrowing its strings from the file's text where they have no escapes (most do
/// not): a 500-package lock is some 10,000 strings, and copying each was a visible part of
/// the reader's profile (allocation, copying, fresh pages zeroed by the kernel).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock<'t> {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    lockfile_version: Option<u32>,
    #[serde(default, borrow)]
    packages: Option<BTreeMap<Cow<'t, str>, Entry<'t>>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'t> {
    #[serde(default, borrow)]
    name: Option<Cow<'t, str>>,
    #[serde(default, borrow)]
    version: Option<Cow<'t, str>>,
    #[serde(default, borrow)]
    resolved: Option<Cow<'t, str>>,
    #[serde(default, borrow)]
    integrity: Option<Cow<'t, str>>,
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
    #[serde(default, borrow)]
    dependencies: BTreeMap<Cow<'t, str>, Cow<'t, str>>,
    #[serde(default, borrow)]
    optional_dependencies: BTreeMap<Cow<'t, str>, Cow<'t, str>>,
    #[serde(default, borrow)]
    peer_dependencies: BTreeMap<Cow<'t, str>, Cow<'t, str>>,
    #[serde(default, borrow)]
    dev_dependencies: BTreeMap<Cow<'t, str>, Cow<'t, str>>,
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
    let lock: Lock<'_> = super::parse_json_borrowed(path, &text)?;
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
    let root_name = root.name.as_deref().map(str::to_string).or(lock.name);
    let root_version = root.version.as_deref().map(str::to_string).or(lock.version);
    if let Some(n) = root_name {
        inv.root = Some((n, root_version.unwrap_or_default()));
    }

    let purls = purls(path, &packages)?;
    let tree = Tree::new(&packages, &purls);
    inv.direct = tree.edges("", &root, true);
    for (key, e) in &packages {
        if let Some(purl) = tree.purls.get(&**key) {
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
        let mut cand = String::new();
        inv.direct = names
            .filter_map(|n| tree.resolve("", n, &mut cand).map(str::to_string))
            .collect();
    }
    if let Some(ws) = &root.workspaces {
        link_workspaces(path, ws, tree.purls, &mut inv)?;
    }
    Ok(inv)
}

/// key -> purl, for every real (non-link) entry that has a version.
fn purls<'l>(
    path: &Path,
    packages: &'l BTreeMap<Cow<'_, str>, Entry<'_>>,
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
        let purl = npm_purl(name, version).map_err(|err| purl_error(path, name, err))?;
        purls.insert(key, purl);
    }
    Ok(purls)
}

/// The lock's `packages` (by `node_modules/...` path) and their purls.
struct Tree<'l> {
    purls: &'l BTreeMap<&'l str, String>,
    /// Every folder key -> the purl a dependency found there is (a link followed to its
    /// target; None for an entry without one). Hashed: resolving tries a folder per level for
    /// every edge, and sorted-map lookups of these long common-prefix keys were the largest
    /// part of the reader's string comparisons.
    found: HashMap<&'l str, Option<&'l str>>,
}

impl<'l> Tree<'l> {
    fn new(
        packages: &'l BTreeMap<Cow<'_, str>, Entry<'_>>,
        purls: &'l BTreeMap<&'l str, String>,
    ) -> Self {
        let mut found = HashMap::with_capacity(packages.len());
        for (key, e) in packages {
            let target = if e.link {
                e.resolved.as_deref().unwrap_or_default()
            } else {
                key
            };
            found.insert(&**key, purls.get(target).map(String::as_str));
        }
        Tree { purls, found }
    }

    /// The purl `dep` resolves to from the folder `from`, as Node resolves it: the nearest
    /// `node_modules/dep` up the tree (a link followed to its target).
    /// `cand` is scratch space for the folders tried.
    fn resolve(&self, from: &str, dep: &str, cand: &mut String) -> Option<&'l str> {
        let mut cur = from;
        loop {
            cand.clear();
            if !cur.is_empty() {
                cand.push_str(cur);
                cand.push('/');
            }
            cand.push_str("node_modules/");
            cand.push_str(dep);
            if let Some(purl) = self.found.get(cand.as_str()) {
                return *purl;
            }
            if cur.is_empty() {
                return None;
            }
            cur = match rfind(cur, "/node_modules/") {
                Some(i) => &cur[..i],
                None => "",
            };
        }
    }

    /// The purls the entry at `key` depends on (its devDependencies too with `with_dev`).
    fn edges(&self, key: &str, e: &Entry<'_>, with_dev: bool) -> BTreeSet<String> {
        let dev = with_dev.then_some(&e.dev_dependencies);
        let names = e
            .dependencies
            .keys()
            .chain(e.optional_dependencies.keys())
            .chain(e.peer_dependencies.keys())
            .chain(dev.into_iter().flat_map(BTreeMap::keys));
        let mut cand = String::with_capacity(key.len() + 64);
        let mut edges = BTreeSet::new();
        for n in names {
            if let Some(purl) = self.resolve(key, n, &mut cand) {
                edges.insert(purl.to_string());
            }
        }
        edges
    }

    /// The package of the entry at `key`, with its scope, hashes, license and edges.
    fn package(&self, key: &str, e: &Entry<'_>, purl: &str) -> Package {
        let name = entry_name(key, e);
        let version = e.version.as_deref().unwrap_or_default();
        let mut p = Package::new(super::Ecosystem::Npm, name, version, purl.to_string());
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
        let is_workspace =
            !key.starts_with("node_modules/") && rfind(key, "/node_modules/").is_none();
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
            && rfind(key, "/node_modules/").is_none()
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
fn entry_name<'e>(key: &'e str, e: &'e Entry<'_>) -> &'e str {
    if let Some(n) = &e.name {
        return n;
    }
    match rfind(key, "node_modules/") {
        Some(i) => &key[i + "node_modules/".len()..],
        None => key.rsplit('/').next().unwrap_or(key),
    }
}

/// `hay.rfind(needle)` for the short ASCII needles above, without setting up a two-way
/// searcher for every folder key (that setup was a visible part of the npm reader's profile).
fn rfind(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let first = *n.first()?;
    (0..=h.len().checked_sub(n.len())?)
        .rev()
        .find(|&i| h[i] == first && h[i..].starts_with(n))
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
            Hash::digest(alg, &bytes)
        })
        .collect()
}

/// v1 nests `dependencies`; turn it into v2-style folder keys. `requires` become dependencies
/// (resolved later from the folder upwards, exactly like v2). A v1 `version` that is not a
/// version (`file:`, a git URL) marks a link or a non-registry source.
fn flatten_v1(
    path: &Path,
    deps: BTreeMap<String, V1Entry>,
) -> Result<BTreeMap<Cow<'static, str>, Entry<'static>>, SbomError> {
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
            Cow::Owned(key),
            Entry {
                name: Some(Cow::Owned(name)),
                version: version.map(Cow::Owned),
                link: link.is_some(),
                resolved: link.or(e.resolved).map(Cow::Owned),
                integrity: e.integrity.map(Cow::Owned),
                dev: e.dev,
                optional: e.optional,
                dependencies: e
                    .requires
                    .into_iter()
                    .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v)))
                    .collect(),
                ..Entry::default()
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::rfind;

    proptest! {
        #[test]
        fn rfind_is_str_rfind(hay in "(node_modules|/|@s|a|é|_)*", needle in "(/?node_modules/|/)") {
            prop_assert_eq!(rfind(&hay, &needle), hay.rfind(needle.as_str()));
        }
    }
}
