//! Rust: `Cargo.toml` + `Cargo.lock` through `cargo metadata --locked --offline`, which gives
//! cargo's own resolved graph (features, platforms, renamed dependencies) without levee
//! re-implementing the resolver. `--locked` so the lock is never rewritten, `--offline` so levee
//! never reaches the network behind the user's back: when crates are missing from the local
//! cache the error says so and how to fetch them. Checksums come from `Cargo.lock` itself.
//!
//! No local absolute path ever reaches a purl or a bom-ref: path and workspace crates get a plain
//! `pkg:cargo/name@version` (cargo-cyclonedx puts `download_url=file:///home/...` in them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use cargo_metadata::{DependencyKind, MetadataCommand, PackageId};
use serde::Deserialize;

use super::{Ecosystem, Hash, HashAlg, Inventory, Package, SbomError, Scope, purl_error};

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Debug, Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    checksum: Option<String>,
}

pub fn read(path: &Path) -> Result<Inventory, SbomError> {
    let (lock_path, manifest) = if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        (path.with_file_name("Cargo.lock"), path.to_path_buf())
    } else {
        (path.to_path_buf(), path.with_file_name("Cargo.toml"))
    };
    let display = lock_path.display().to_string();
    // Parse the lock first: a broken lock gets a located error, not cargo's.
    let text = super::read_text(&lock_path)?;
    let lock: Lock = super::parse_toml(&lock_path, &text)?;
    let checksums: BTreeMap<(String, String), String> = lock
        .package
        .into_iter()
        .filter_map(|p| Some(((p.name, p.version), p.checksum?)))
        .collect();
    if !manifest.is_file() {
        return Err(SbomError::Invalid {
            path: display,
            message: format!(
                "no Cargo.toml next to it ({} is needed to read the graph)",
                manifest.display()
            ),
        });
    }
    let meta = MetadataCommand::new()
        .manifest_path(&manifest)
        .other_options(vec!["--locked".to_string(), "--offline".to_string()])
        .exec()
        .map_err(|e| {
            let message = match &e {
                cargo_metadata::Error::CargoMetadata { stderr } => stderr.trim().to_string(),
                other => other.to_string(),
            };
            let offline = message.contains("--offline") || message.contains("failed to download");
            SbomError::Cargo {
                path: display.clone(),
                message,
                offline,
            }
        })?;
    let resolve = meta.resolve.as_ref().ok_or_else(|| SbomError::Cargo {
        path: display.clone(),
        message: "cargo metadata gave no dependency graph".into(),
        offline: false,
    })?;

    let mut purls: BTreeMap<&PackageId, String> = BTreeMap::new();
    for p in &meta.packages {
        let version = p.version.to_string();
        let mut purl = packageurl::PackageUrl::new("cargo", p.name.as_str())
            .map_err(|e| purl_error(&lock_path, &p.name, e))?;
        purl.with_version(version.as_str())
            .map_err(|e| purl_error(&lock_path, &p.name, e))?;
        match p.source.as_ref().map(|s| s.repr.as_str()) {
            Some(s) if s.starts_with("git+") => {
                purl.add_qualifier("vcs_url", s.to_string())
                    .map_err(|e| purl_error(&lock_path, &p.name, e))?;
            }
            Some(s)
                if s.starts_with("registry+")
                    && !s.contains("github.com/rust-lang/crates.io-index") =>
            {
                purl.add_qualifier(
                    "repository_url",
                    s.trim_start_matches("registry+").to_string(),
                )
                .map_err(|e| purl_error(&lock_path, &p.name, e))?;
            }
            _ => {}
        }
        purls.insert(&p.id, purl.to_string());
    }
    let root_id = resolve
        .root
        .as_ref()
        .or_else(|| meta.workspace_default_members.first())
        .or_else(|| meta.workspace_members.first());
    let mut inv = Inventory::new(&lock_path);
    // Edges by kind: required (normal + build) and dev.
    let mut normal: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dev: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in &resolve.nodes {
        let Some(from) = purls.get(&node.id) else {
            continue;
        };
        for d in &node.deps {
            let Some(to) = purls.get(&d.pkg) else {
                continue;
            };
            let only_dev = !d.dep_kinds.is_empty()
                && d.dep_kinds
                    .iter()
                    .all(|k| k.kind == DependencyKind::Development);
            let map = if only_dev { &mut dev } else { &mut normal };
            map.entry(from.clone()).or_default().insert(to.clone());
        }
    }
    let root_purl = root_id.and_then(|id| purls.get(id)).cloned();
    for p in &meta.packages {
        let purl = &purls[&p.id];
        if Some(purl) == root_purl.as_ref() {
            inv.root = Some((p.name.to_string(), p.version.to_string()));
            continue;
        }
        let version = p.version.to_string();
        let mut pkg = Package::new(Ecosystem::Cargo, &p.name, &version, purl.clone());
        pkg.license = p.license.clone();
        if let Some(c) = checksums.get(&(p.name.to_string(), version.clone())) {
            pkg.hashes.extend(Hash::hex(HashAlg::Sha256, c));
        }
        pkg.dependencies = normal
            .get(purl)
            .into_iter()
            .chain(dev.get(purl))
            .flatten()
            .cloned()
            .collect();
        inv.add(pkg);
    }
    // Scope: required when reachable from the workspace members through normal/build edges.
    let members: Vec<String> = meta
        .workspace_members
        .iter()
        .filter_map(|id| purls.get(id).cloned())
        .collect();
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = members
        .iter()
        .flat_map(|m| normal.get(m).into_iter().flatten().cloned())
        .collect();
    while let Some(p) = stack.pop() {
        if seen.insert(p.clone()) {
            stack.extend(normal.get(&p).into_iter().flatten().cloned());
        }
    }
    for (purl, p) in &mut inv.packages {
        p.scope = if seen.contains(purl) || members.contains(purl) {
            Scope::Required
        } else {
            Scope::Dev
        };
    }
    if let Some(r) = &root_purl {
        inv.direct = normal
            .get(r)
            .into_iter()
            .chain(dev.get(r))
            .flatten()
            .cloned()
            .collect();
    }
    Ok(inv)
}
