//! pnpm: `pnpm-lock.yaml` with `lockfileVersion: '9.0'` (written by pnpm 9 and 10).
//!
//! `packages` holds one entry per resolved package (`name@version`, with its `resolution`);
//! `snapshots` holds one per installed variant (`name@version(peer@1.0.0)`) with its resolved
//! dependencies; `importers` holds the project (`.`) and its workspace packages with their direct
//! `dependencies`, `optionalDependencies` and `devDependencies`. pnpm 9 no longer writes `dev`
//! flags, so dev-only packages are found by reachability from the importers' production and
//! optional dependencies. Workspace packages (`link:` from an importer) are components named and
//! versioned from their own `package.json`, and the root (`.`) depends on each of them, as in
//! npm's lock; `link:` folders that are not workspaces are symlinks without a package identity
//! and are not components; `file:` directories get the version their `package.json` states (the
//! lock does not record it). Older lock versions (5.x, 6.0 of pnpm 7 and 8) have another layout
//! and are refused with a message saying so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use serde::Deserialize;

use super::js::{Scalar, package_json, split_name};
use super::{Ecosystem, Inventory, Package, SbomError, Scope, npm_purl, purl_error};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Lock {
    #[serde(default)]
    lockfile_version: Option<Scalar>,
    #[serde(default)]
    importers: BTreeMap<String, Importer>,
    #[serde(default)]
    packages: BTreeMap<String, Info>,
    #[serde(default)]
    snapshots: BTreeMap<String, Snapshot>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Importer {
    #[serde(default)]
    dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, ImporterDep>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, ImporterDep>,
}

#[derive(Debug, Deserialize)]
struct ImporterDep {
    version: Scalar,
}

#[derive(Debug, Default, Deserialize)]
struct Info {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    resolution: Resolution,
}

#[derive(Debug, Default, Deserialize)]
struct Resolution {
    #[serde(default)]
    integrity: Option<String>,
    #[serde(default)]
    directory: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    #[serde(default)]
    dependencies: BTreeMap<String, Scalar>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Scalar>,
    #[serde(default)]
    optional: bool,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_yaml(path, &text)?;
    check_version(path, &lock)?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut inv = Inventory::new(path);
    if let Some(root) = package_json(dir)?
        && let Some(name) = root.name
    {
        inv.root = Some((name, root.version.unwrap_or_default()));
    }
    let refs = Refs {
        purls: packages(path, dir, &lock, &mut inv)?,
        members: members(path, dir, &lock, &mut inv)?,
    };
    let only_optional = snapshot_edges(&lock, &refs, &mut inv);
    scope_from_importers(&lock, &refs, &only_optional, &mut inv);
    Ok(inv)
}

fn invalid(path: &Path, message: String) -> SbomError {
    SbomError::Invalid {
        path: path.display().to_string(),
        message,
    }
}

/// Only pnpm 9 locks (`lockfileVersion: '9.0'`) are read.
fn check_version(path: &Path, lock: &Lock) -> Result<(), SbomError> {
    match lock.lockfile_version.as_ref().map(|v| v.0.as_str()) {
        Some(v) if v == "9" || v.starts_with("9.") => Ok(()),
        Some(v) => Err(invalid(
            path,
            format!(
                "lockfileVersion {v}: levee reads pnpm 9 locks (lockfileVersion '9.0'); \
                 re-lock with pnpm 9 or later (`pnpm install --lockfile-only`)"
            ),
        )),
        None => Err(invalid(
            path,
            "no `lockfileVersion`: not a pnpm lock file".into(),
        )),
    }
}

/// Adds each of `packages` to `inv`; returns `name@version` key -> purl.
fn packages<'l>(
    path: &Path,
    dir: &Path,
    lock: &'l Lock,
    inv: &mut Inventory,
) -> Result<BTreeMap<&'l str, String>, SbomError> {
    let mut purls: BTreeMap<&str, String> = BTreeMap::new();
    for (key, info) in &lock.packages {
        let (key_name, key_version) = split_name(key)
            .ok_or_else(|| invalid(path, format!("package `{key}` is not `name@version`")))?;
        let name = info.name.as_deref().unwrap_or(key_name);
        let version = match (&info.version, &info.resolution.directory) {
            (Some(v), _) => v.0.clone(),
            (None, _) if key_version.starts_with(|c: char| c.is_ascii_digit()) => {
                key_version.to_string()
            }
            // A `file:` directory: its package.json has the version (pnpm does not record it).
            (None, Some(d)) => package_json(&dir.join(d))?
                .and_then(|m| m.version)
                .unwrap_or_else(|| key_version.to_string()),
            (None, None) => key_version.to_string(),
        };
        let purl = npm_purl(name, &version).map_err(|e| purl_error(path, name, e))?;
        let mut p = Package::new(Ecosystem::Npm, name, &version, purl.clone());
        p.hashes = info
            .resolution
            .integrity
            .as_deref()
            .map(super::npm::integrity)
            .unwrap_or_default();
        inv.add(p);
        purls.insert(key.as_str(), purl);
    }
    Ok(purls)
}

/// Workspace packages: importers other than `.`, named by their own package.json, added to
/// `inv`; returns importer path -> purl.
fn members(
    path: &Path,
    dir: &Path,
    lock: &Lock,
    inv: &mut Inventory,
) -> Result<BTreeMap<String, String>, SbomError> {
    let mut members: BTreeMap<String, String> = BTreeMap::new();
    for at in lock.importers.keys().filter(|k| k.as_str() != ".") {
        if let Some(m) = package_json(&dir.join(at))?
            && let Some(name) = m.name
        {
            let version = m.version.unwrap_or_default();
            let purl = npm_purl(&name, &version).map_err(|e| purl_error(path, &name, e))?;
            inv.add(Package::new(Ecosystem::Npm, &name, &version, purl.clone()));
            // The root depends on its workspaces, as npm's lock and cyclonedx-npm's graph say.
            inv.direct.insert(purl.clone());
            members.insert(normalize(Path::new(at)), purl);
        }
    }
    Ok(members)
}

/// The lock's packages and workspace members, for resolving references.
struct Refs<'l> {
    /// `name@version` key -> purl.
    purls: BTreeMap<&'l str, String>,
    /// Workspace importer path -> purl.
    members: BTreeMap<String, String>,
}

impl Refs<'_> {
    /// A dependency as a snapshot or importer (at `from`) states it: `2.0.0`,
    /// `2.0.0(peer@1.0.0)`, `ms@2.1.2` (an alias), `file:local-lib`, or `link:../shared` (a
    /// workspace package).
    fn resolve(&self, from: &str, name: &str, reference: &str) -> Option<String> {
        if let Some(target) = reference.strip_prefix("link:") {
            return self
                .members
                .get(&normalize(&Path::new(from).join(target)))
                .cloned();
        }
        let strip = |k: &str| k.split('(').next().unwrap_or(k).to_string();
        let own = strip(&format!("{name}@{reference}"));
        self.purls
            .get(own.as_str())
            .or_else(|| self.purls.get(strip(reference).as_str()))
            .cloned()
    }
}

/// Snapshots: the edges. Returns, per package, whether every snapshot of it says it is
/// optional.
fn snapshot_edges(lock: &Lock, refs: &Refs<'_>, inv: &mut Inventory) -> BTreeMap<String, bool> {
    let mut only_optional: BTreeMap<String, bool> = BTreeMap::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, snap) in &lock.snapshots {
        let base = key.split('(').next().unwrap_or(key);
        let Some(purl) = refs.purls.get(base) else {
            continue;
        };
        let deps = snap.dependencies.iter().chain(&snap.optional_dependencies);
        let e = edges.entry(purl.clone()).or_default();
        e.extend(deps.filter_map(|(n, r)| refs.resolve(".", n, &r.0)));
        e.remove(purl);
        *only_optional.entry(purl.clone()).or_insert(true) &= snap.optional;
    }
    for (purl, e) in edges {
        if let Some(p) = inv.packages.get_mut(&purl) {
            p.dependencies.extend(e);
        }
    }
    only_optional
}

/// Importers: the roots. Workspace packages get their dev edges only after scopes are set, so
/// that a workspace's devDependencies do not become required through it.
fn scope_from_importers(
    lock: &Lock,
    refs: &Refs<'_>,
    only_optional: &BTreeMap<String, bool>,
    inv: &mut Inventory,
) {
    let (mut required, mut optional) = (Vec::new(), Vec::new());
    let mut dev_edges: Vec<(String, BTreeSet<String>)> = Vec::new();
    for (at, imp) in &lock.importers {
        let list = |deps: &BTreeMap<String, ImporterDep>| -> BTreeSet<String> {
            deps.iter()
                .filter_map(|(n, d)| refs.resolve(at, n, &d.version.0))
                .collect()
        };
        let (prod, opt, dev) = (
            list(&imp.dependencies),
            list(&imp.optional_dependencies),
            list(&imp.dev_dependencies),
        );
        if at == "." {
            inv.direct
                .extend(prod.iter().chain(&opt).chain(&dev).cloned());
        } else if let Some(purl) = refs.members.get(&normalize(Path::new(at))) {
            if let Some(p) = inv.packages.get_mut(purl) {
                p.dependencies.extend(prod.iter().chain(&opt).cloned());
                p.dependencies.remove(purl);
            }
            required.push(purl.clone());
            dev_edges.push((purl.clone(), dev.clone()));
        }
        required.extend(prod);
        optional.extend(opt);
    }
    inv.scope_by_reachability(&required, &optional);
    for (purl, p) in &mut inv.packages {
        if p.scope == Scope::Required && only_optional.get(purl) == Some(&true) {
            p.scope = Scope::Optional;
        }
    }
    for (purl, dev) in dev_edges {
        if let Some(p) = inv.packages.get_mut(&purl) {
            p.dependencies.extend(dev);
            p.dependencies.remove(&purl);
        }
    }
}

/// `packages/a/../b/.` -> `packages/b`, lexically (importer keys are relative, `/`-separated).
fn normalize(p: &Path) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if out.last().is_none_or(|l| l == "..") {
                    out.push("..".into());
                } else {
                    out.pop();
                }
            }
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn normalize_joins_importer_paths() {
        assert_eq!(normalize(Path::new("./packages/a/../b")), "packages/b");
        assert_eq!(normalize(Path::new(".")), ".");
        assert_eq!(normalize(&PathBuf::from(".").join("../x")), "../x");
        assert_eq!(normalize(Path::new("../../x")), "../../x");
    }
}
