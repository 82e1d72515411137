//! uv: `uv.lock` (version 1). Every package with its source, dependency edges (with extras and
//! dependency groups), sdist and wheel hashes. The project itself (an `editable` or `virtual`
//! source at `.`) is the root; other workspace members are components.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::{
    Distribution, Ecosystem, Hash, Inventory, Package, SbomError, pep503, purl_error, pypi_purl,
};

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LockPackage {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<Dep>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<Dep>>,
    #[serde(default, alias = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<Dep>>,
    #[serde(default)]
    sdist: Option<Artifact>,
    #[serde(default)]
    wheels: Vec<Artifact>,
}

#[derive(Debug, Deserialize)]
struct Dep {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Artifact {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    hash: Option<String>,
}

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let lock: Lock = super::parse_toml(path, &text)?;
    let mut inv = Inventory::new(path);

    // name -> versions present, to resolve `{ name = "x" }` (one version) or `{ name, version }`.
    let mut by_name: BTreeMap<String, Vec<(&str, String)>> = BTreeMap::new();
    for p in &lock.package {
        let version = p.version.as_deref().unwrap_or("");
        let purl = pypi_purl(&p.name, version).map_err(|e| purl_error(path, &p.name, e))?;
        by_name
            .entry(pep503(&p.name))
            .or_default()
            .push((version, purl));
    }
    let resolve = |d: &Dep| -> Option<String> {
        let versions = by_name.get(&pep503(&d.name))?;
        match &d.version {
            Some(v) => versions
                .iter()
                .find(|(x, _)| x == v)
                .map(|(_, p)| p.clone()),
            None => versions.first().map(|(_, p)| p.clone()),
        }
    };
    // Extras requested anywhere: a package's optional dependencies for those extras are edges.
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    let all_deps = lock.package.iter().flat_map(|p| {
        p.dependencies
            .iter()
            .chain(p.optional_dependencies.values().flatten())
            .chain(p.dev_dependencies.values().flatten())
    });
    for d in all_deps {
        for x in &d.extra {
            wanted.insert((pep503(&d.name), x.clone()));
        }
    }

    let (mut required, mut optional) = (Vec::new(), Vec::new());
    let mut dev_roots = Vec::new();
    for p in &lock.package {
        let version = p.version.as_deref().unwrap_or("");
        let purl = pypi_purl(&p.name, version).map_err(|e| purl_error(path, &p.name, e))?;
        let mut deps: BTreeSet<String> = p.dependencies.iter().filter_map(&resolve).collect();
        for (extra, list) in &p.optional_dependencies {
            if wanted.contains(&(pep503(&p.name), extra.clone())) {
                deps.extend(list.iter().filter_map(&resolve));
            }
        }
        let at_root = ["editable", "virtual"]
            .iter()
            .any(|k| p.source.get(*k).and_then(|v| v.as_str()) == Some("."));
        if at_root {
            inv.root = Some((p.name.clone(), version.to_string()));
            required.extend(p.dependencies.iter().filter_map(&resolve));
            for list in p.optional_dependencies.values() {
                optional.extend(list.iter().filter_map(&resolve));
            }
            for list in p.dev_dependencies.values() {
                dev_roots.extend(list.iter().filter_map(&resolve));
            }
            continue;
        }
        let mut pkg = Package::new(Ecosystem::Pypi, &p.name, version, purl);
        pkg.dependencies = deps;
        for list in p.dev_dependencies.values() {
            // A workspace member's own dev groups: edges, but dev scope by reachability.
            pkg.dependencies.extend(list.iter().filter_map(&resolve));
        }
        let artifacts = p.sdist.iter().chain(&p.wheels);
        for a in artifacts {
            let hashes: Vec<Hash> = a
                .hash
                .as_deref()
                .and_then(Hash::prefixed)
                .into_iter()
                .collect();
            if let Some(url) = a
                .url
                .as_ref()
                .or(a.path.as_ref())
                .filter(|u| u.contains("://"))
            {
                pkg.distributions.push(Distribution {
                    url: url.clone(),
                    hashes: hashes.clone(),
                });
            }
        }
        // The component's own hash: its source distribution's (the one artifact every platform
        // shares); the wheels' hashes go with their distribution references.
        if let Some(h) = p
            .sdist
            .as_ref()
            .and_then(|s| s.hash.as_deref())
            .and_then(Hash::prefixed)
        {
            pkg.hashes.push(h);
        } else if let [only] = p.wheels.as_slice()
            && let Some(h) = only.hash.as_deref().and_then(Hash::prefixed)
        {
            pkg.hashes.push(h);
        }
        inv.add(pkg);
    }
    inv.direct = required
        .iter()
        .chain(&optional)
        .chain(&dev_roots)
        .cloned()
        .collect();
    if inv.root.is_some() {
        inv.scope_by_reachability(&required, &optional);
    } else {
        // No project at `.` (a workspace root without a package): everything counts as required.
        inv.direct = inv.packages.keys().cloned().collect();
    }
    Ok(inv)
}
