//! PEP 751: `pylock.toml` and `pylock.<name>.toml`. Packages with sdist, wheels or archive
//! hashes; `dependencies` edges when the locker wrote them. A package whose marker selects it by
//! a dependency group that is not a default group is dev.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{
    Distribution, Ecosystem, Hash, HashAlg, Inventory, Package, SbomError, Scope, pep503,
    purl_error, pypi_purl,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Lock {
    lock_version: String,
    #[serde(default)]
    default_groups: Vec<String>,
    #[serde(default)]
    dependency_groups: Vec<String>,
    #[serde(default)]
    packages: Vec<LockPackage>,
}

#[derive(Debug, Deserialize)]
struct LockPackage {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default)]
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
    #[serde(default)]
    archive: Option<Artifact>,
    #[serde(default)]
    vcs: Option<Vcs>,
}

#[derive(Debug, Deserialize)]
struct Dep {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Artifact {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Vcs {
    #[serde(default)]
    commit_id: Option<String>,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_toml(path, &text)?;
    if !lock.lock_version.starts_with("1.") {
        return Err(SbomError::Invalid {
            path: path.display().to_string(),
            message: format!(
                "lock-version {} is not supported (levee reads PEP 751 lock-version 1.x)",
                lock.lock_version
            ),
        });
    }
    let dev_groups: Vec<&String> = lock
        .dependency_groups
        .iter()
        .filter(|g| !lock.default_groups.contains(g))
        .collect();
    let mut inv = Inventory::new(path);
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for p in &lock.packages {
        let version = match (
            &p.version,
            p.vcs.as_ref().and_then(|v| v.commit_id.as_ref()),
        ) {
            (Some(v), _) => v.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => {
                inv.unpinned.push(super::Unpinned {
                    file: path.display().to_string(),
                    line: 0,
                    requirement: format!("{} (no version in the lock)", p.name),
                });
                continue;
            }
        };
        let purl = pypi_purl(&p.name, &version).map_err(|e| purl_error(path, &p.name, e))?;
        names.insert(pep503(&p.name), purl.clone());
        let mut pkg = Package::new(Ecosystem::Pypi, &p.name, &version, purl);
        let marker = p.marker.as_deref().unwrap_or("");
        if marker.contains("dependency_groups")
            && dev_groups
                .iter()
                .any(|g| marker.contains(&format!("'{g}'")))
            && !lock
                .default_groups
                .iter()
                .any(|g| marker.contains(&format!("'{g}'")))
        {
            pkg.scope = Scope::Dev;
        }
        let hashes = |a: &Artifact| -> Vec<Hash> {
            a.hashes
                .iter()
                .filter_map(|(alg, hex)| Hash::hex(HashAlg::parse(alg)?, hex))
                .collect()
        };
        for a in p.sdist.iter().chain(&p.wheels).chain(&p.archive) {
            if let Some(url) = &a.url {
                pkg.distributions.push(Distribution {
                    url: url.clone(),
                    hashes: hashes(a),
                });
            }
        }
        if let Some(a) = p.sdist.as_ref().or(p.archive.as_ref()) {
            pkg.hashes = hashes(a);
        } else if let [only] = p.wheels.as_slice() {
            pkg.hashes = hashes(only);
        }
        inv.add(pkg);
    }
    for p in &lock.packages {
        let Some(from) = names.get(&pep503(&p.name)).cloned() else {
            continue;
        };
        let deps: Vec<String> = p
            .dependencies
            .iter()
            .filter_map(|d| names.get(&pep503(&d.name)).cloned())
            .collect();
        if let Some(pkg) = inv.packages.get_mut(&from) {
            pkg.dependencies.extend(deps);
        }
    }
    inv.direct = super::poetry::not_depended_on(&inv);
    if let Some(pp) = super::poetry::PyProject::read(path) {
        inv.root = pp.name_version();
        let direct: Vec<String> = pp
            .all_direct()
            .iter()
            .filter_map(|n| names.get(&pep503(n)).cloned())
            .collect();
        if !direct.is_empty() {
            inv.direct.extend(direct);
        }
    }
    Ok(inv)
}
