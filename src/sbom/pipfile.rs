//! Pipenv: `Pipfile.lock` (JSON). `default` is run time, `develop` is dev; a package in both is
//! run time. The lock has no edges: direct dependencies come from the `Pipfile` next to it when
//! present, else every locked package counts as direct.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Ecosystem, Hash, Inventory, Package, SbomError, Scope, pep503, purl_error, pypi_purl};

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    default: BTreeMap<String, Entry>,
    #[serde(default)]
    develop: BTreeMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    hashes: Vec<String>,
    #[serde(default)]
    git: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_json(path, &text)?;
    let mut inv = Inventory::new(path);
    for (section, scope) in [
        (&lock.default, Scope::Required),
        (&lock.develop, Scope::Dev),
    ] {
        for (name, e) in section {
            let version = match (&e.version, &e.reference) {
                (Some(v), _) => v
                    .trim_start_matches("===")
                    .trim_start_matches("==")
                    .to_string(),
                (None, Some(r)) if e.git.is_some() => r.clone(),
                _ => {
                    inv.unpinned.push(super::Unpinned {
                        file: path.display().to_string(),
                        line: 0,
                        requirement: format!(
                            "{name} ({})",
                            e.path
                                .as_deref()
                                .or(e.git.as_deref())
                                .unwrap_or("no version")
                        ),
                    });
                    continue;
                }
            };
            let purl = pypi_purl(name, &version).map_err(|err| purl_error(path, name, err))?;
            let mut p = Package::new(Ecosystem::Pypi, name, &version, purl);
            p.scope = scope;
            // Several hashes (one per wheel and the sdist) for one component: the lock does not
            // say which file each belongs to, so all are listed.
            p.hashes = e.hashes.iter().filter_map(|h| Hash::prefixed(h)).collect();
            inv.add(p);
        }
    }
    let direct = pipfile_names(path);
    let by_name: BTreeMap<String, String> = inv
        .packages
        .values()
        .map(|p| (pep503(&p.name), p.purl.clone()))
        .collect();
    inv.direct = match direct {
        Some(names) => names
            .iter()
            .filter_map(|n| by_name.get(&pep503(n)).cloned())
            .collect(),
        None => inv.packages.keys().cloned().collect(),
    };
    Ok(inv)
}

fn pipfile_names(lock: &Path) -> Option<Vec<String>> {
    let text = super::read_text(&lock.with_file_name("Pipfile")).ok()?;
    let doc: toml::Table = toml::from_str(&text).ok()?;
    let mut names = Vec::new();
    for section in ["packages", "dev-packages"] {
        if let Some(t) = doc.get(section).and_then(|v| v.as_table()) {
            names.extend(t.keys().cloned());
        }
    }
    Some(names)
}
