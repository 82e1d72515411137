//! Poetry: `poetry.lock` (lock-version 2.x). Each package's `groups` (lock 2.1) decide its scope;
//! older 2.0 locks fall back to reachability from `pyproject.toml`'s main dependencies. Files
//! carry sha256 hashes; `[package.dependencies]` give the edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::{
    Distribution, Ecosystem, Hash, Inventory, Package, SbomError, Scope, pep503, purl_error,
    pypi_purl,
};

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata {
    #[serde(default)]
    lock_version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
    #[serde(default)]
    extras: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    hash: Option<String>,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_toml(path, &text)?;
    if let Some(v) = lock
        .metadata
        .as_ref()
        .and_then(|m| m.lock_version.as_deref())
        && !v.starts_with('2')
    {
        return Err(SbomError::Invalid {
            path: path.display().to_string(),
            message: format!(
                "lock-version {v} is not supported (levee reads Poetry 2.x locks, lock-version 2.0 and 2.1)"
            ),
        });
    }
    let mut inv = Inventory::new(path);
    let names: BTreeMap<String, String> = lock
        .package
        .iter()
        .map(|p| {
            Ok((
                pep503(&p.name),
                pypi_purl(&p.name, &p.version).map_err(|e| purl_error(path, &p.name, e))?,
            ))
        })
        .collect::<Result<_, SbomError>>()?;
    let mut has_groups = true;
    for p in &lock.package {
        let purl = names[&pep503(&p.name)].clone();
        let mut pkg = Package::new(Ecosystem::Pypi, &p.name, &p.version, purl);
        let deps = p.dependencies.keys().map(String::as_str);
        let extra_deps = p.extras.values().flatten().map(|r| requirement_name(r));
        pkg.dependencies = deps
            .chain(extra_deps)
            .filter_map(|n| names.get(&pep503(n)).cloned())
            .collect();
        pkg.scope = match &p.groups {
            Some(g) if g.iter().any(|g| g == "main") => {
                if p.optional {
                    Scope::Optional
                } else {
                    Scope::Required
                }
            }
            Some(_) => Scope::Dev,
            None => {
                has_groups = false;
                Scope::Required
            }
        };
        for f in &p.files {
            let hash = f.hash.as_deref().and_then(Hash::prefixed);
            if let Some(url) = &f.url {
                pkg.distributions.push(Distribution {
                    url: url.clone(),
                    hashes: hash.iter().cloned().collect(),
                });
            }
            let is_sdist = f
                .file
                .as_deref()
                .is_some_and(|n| n.ends_with(".tar.gz") || n.ends_with(".zip"));
            if let Some(h) = hash
                && (is_sdist || p.files.len() == 1)
            {
                pkg.hashes.push(h);
            }
        }
        inv.add(pkg);
    }
    let project = PyProject::read(path);
    if let Some(pp) = &project {
        inv.root = pp.name_version();
        inv.direct = pp
            .all_direct()
            .iter()
            .filter_map(|n| names.get(&pep503(n)).cloned())
            .collect();
        if !has_groups {
            let main: Vec<String> = pp
                .main
                .iter()
                .filter_map(|n| names.get(&pep503(n)).cloned())
                .collect();
            inv.scope_by_reachability(&main, &[]);
        }
    }
    if inv.direct.is_empty() {
        inv.direct = not_depended_on(&inv);
    }
    Ok(inv)
}

/// Packages no other package depends on: the best guess at direct dependencies when the
/// project file is missing.
pub(crate) fn not_depended_on(inv: &Inventory) -> BTreeSet<String> {
    let depended: BTreeSet<&String> = inv
        .packages
        .values()
        .flat_map(|p| &p.dependencies)
        .collect();
    inv.packages
        .keys()
        .filter(|k| !depended.contains(k))
        .cloned()
        .collect()
}

/// The name at the start of a PEP 508 requirement (`requests[socks] (>=2) ; marker`).
pub(crate) fn requirement_name(req: &str) -> &str {
    let req = req.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    &req[..end]
}

/// What `pyproject.toml` says about direct dependencies (PEP 621, Poetry's own tables, PEP 735
/// dependency groups). Read leniently: a broken pyproject only loses the direct/dev split.
#[derive(Debug, Default)]
pub(crate) struct PyProject {
    name: Option<String>,
    version: Option<String>,
    pub main: Vec<String>,
    pub dev: Vec<String>,
}

impl PyProject {
    pub(crate) fn read(lock: &Path) -> Option<PyProject> {
        let text = super::read_text(&lock.with_file_name("pyproject.toml")).ok()?;
        let doc: toml::Table = toml::from_str(&text).ok()?;
        let mut pp = PyProject::default();
        let project = doc.get("project").and_then(|v| v.as_table());
        let poetry = doc
            .get("tool")
            .and_then(|t| t.get("poetry"))
            .and_then(|v| v.as_table());
        let s = |t: Option<&toml::Table>, k: &str| {
            t.and_then(|t| t.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        pp.name = s(project, "name").or_else(|| s(poetry, "name"));
        pp.version = s(project, "version").or_else(|| s(poetry, "version"));
        let reqs = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str())
                        .map(|r| requirement_name(r).to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        pp.main
            .extend(reqs(project.and_then(|p| p.get("dependencies"))));
        if let Some(opt) = project
            .and_then(|p| p.get("optional-dependencies"))
            .and_then(|v| v.as_table())
        {
            for v in opt.values() {
                pp.main.extend(reqs(Some(v)));
            }
        }
        let keys = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(|v| v.as_table())
                .map(|t| t.keys().filter(|k| *k != "python").cloned().collect())
                .unwrap_or_default()
        };
        pp.main
            .extend(keys(poetry.and_then(|p| p.get("dependencies"))));
        pp.dev
            .extend(keys(poetry.and_then(|p| p.get("dev-dependencies"))));
        if let Some(groups) = poetry
            .and_then(|p| p.get("group"))
            .and_then(|v| v.as_table())
        {
            for g in groups.values() {
                pp.dev.extend(keys(g.get("dependencies")));
            }
        }
        if let Some(groups) = doc.get("dependency-groups").and_then(|v| v.as_table()) {
            for g in groups.values() {
                pp.dev.extend(reqs(Some(g)));
            }
        }
        Some(pp)
    }

    pub(crate) fn name_version(&self) -> Option<(String, String)> {
        Some((self.name.clone()?, self.version.clone().unwrap_or_default()))
    }

    pub(crate) fn all_direct(&self) -> Vec<String> {
        self.main.iter().chain(&self.dev).cloned().collect()
    }
}
