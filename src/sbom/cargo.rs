//! Rust: `Cargo.lock`, read one of two ways, both giving the same components, hashes and graph.
//!
//! 1. `cargo metadata --locked --offline --all-features`: cargo's own resolved graph, plus what
//!    only cargo knows (every crate's licence, and which edges are dev or build dependencies)
//!    without levee re-implementing the resolver. `--locked` so the lock is never rewritten,
//!    `--offline` so levee never reaches the network behind the user's back, `--all-features` so
//!    the graph holds every package the lock pins (the lock is resolved with all features).
//!    Checksums come from `Cargo.lock` itself.
//! 2. `Cargo.lock` by itself ([`lock`]), with the workspace from the `Cargo.toml` files
//!    ([`workspace`]): what a fresh CI runner with no cargo cache (or no cargo) can read. The
//!    graph, hashes, members and root are the lock's and the manifests'; dev edges are a member's
//!    dependencies that only its `[dev-dependencies]` declare (a dependency that cannot be told
//!    apart counts as required); licences are known for local crates only (a registry crate's
//!    licence is in its own `Cargo.toml`, inside the `.crate` file).
//!
//! By default ([`CargoMetadata::Auto`]) cargo runs first and the lock is read by itself when cargo
//! cannot run (not installed, or the crates are not in the local cache); a lock cargo calls out
//! of date stays an error. [`ReadWith`] records which way was taken.
//!
//! No local absolute path ever reaches a purl or a bom-ref: path and workspace crates get a plain
//! `pkg:cargo/name@version` (cargo-cyclonedx puts `download_url=file:///home/...` in them), except
//! a path crate that shares its name and version with a registry or git crate (a local fork), which
//! gets cargo-cyclonedx's relative `download_url=file://crates/fork` so the two stay two components.

mod lock;
mod workspace;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use cargo_metadata::{CargoOpt, DependencyKind, MetadataCommand};

use super::{
    Ecosystem, Fallback, Hash, Inventory, Package, ReadWith, SbomError, Scope, printable,
    purl_error,
};
use workspace::DeclKind;

/// Whether to read `Cargo.lock` through `cargo metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CargoMetadata {
    /// `cargo metadata` when it can run offline, else the lock by itself.
    #[default]
    Auto,
    /// `cargo metadata` or an error (licences and scopes from cargo, or nothing).
    Always,
    /// The lock by itself, never cargo: the same SBOM on every machine.
    Never,
}

/// Reads a `Cargo.lock` (or the `Cargo.toml` next to one).
pub(crate) fn read(path: &Path, mode: CargoMetadata) -> Result<Inventory, SbomError> {
    let (lock_path, manifest) = if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        (path.with_file_name("Cargo.lock"), path.to_path_buf())
    } else {
        (path.to_path_buf(), path.with_file_name("Cargo.toml"))
    };
    let display = lock_path.display().to_string();
    // Parse the lock first: a broken lock gets a located error, not cargo's.
    let text = super::read_text(&lock_path)?;
    let lock = lock::parse(&lock_path, &text)?;
    if !manifest.is_file() {
        return Err(SbomError::Invalid {
            path: display,
            message: format!(
                "no Cargo.toml next to it ({} is needed to read the graph)",
                manifest.display()
            ),
        });
    }
    let (graph, read_with) = match mode {
        CargoMetadata::Never => (
            from_lock(&lock_path, &lock)?,
            ReadWith::Lockfile {
                reason: Fallback::Requested,
                detail: None,
            },
        ),
        CargoMetadata::Always => (
            from_metadata(
                &lock,
                run_metadata(&manifest).map_err(|e| e.into_error(&display))?,
            ),
            ReadWith::CargoMetadata,
        ),
        CargoMetadata::Auto => match run_metadata(&manifest) {
            Ok(meta) => (from_metadata(&lock, meta), ReadWith::CargoMetadata),
            Err(e) => match e.fallback() {
                Some((reason, detail)) => (
                    from_lock(&lock_path, &lock)?,
                    ReadWith::Lockfile { reason, detail },
                ),
                None => return Err(e.into_error(&display)),
            },
        },
    };
    let mut inv = inventory(&lock_path, &graph)?;
    inv.read_with = Some(read_with);
    Ok(inv)
}

/// Why `cargo metadata` gave no graph.
#[derive(Debug)]
enum MetadataError {
    /// cargo could not be started.
    NotStarted(std::io::Error),
    /// cargo ran and failed (its stderr).
    Failed(String),
    /// cargo's output could not be read.
    Output(String),
}

impl MetadataError {
    /// Whether reading the lock by itself is the right answer: yes when cargo cannot run or cannot
    /// resolve offline; no when cargo says the lock is out of date (the lock is then not what a
    /// build would use).
    fn fallback(&self) -> Option<(Fallback, Option<String>)> {
        match self {
            MetadataError::NotStarted(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Some((Fallback::CargoNotFound, Some(e.to_string())))
            }
            MetadataError::NotStarted(e) => Some((Fallback::CargoFailed, Some(e.to_string()))),
            MetadataError::Failed(stderr) if stale_lock(stderr) => None,
            MetadataError::Failed(stderr) => {
                let reason = if offline_failure(stderr) {
                    Fallback::CratesNotCached
                } else {
                    Fallback::CargoFailed
                };
                Some((reason, first_error(stderr)))
            }
            MetadataError::Output(m) => Some((Fallback::CargoFailed, Some(m.clone()))),
        }
    }

    fn into_error(self, path: &str) -> SbomError {
        let message = match self {
            MetadataError::NotStarted(e) => format!("cannot start cargo: {e}"),
            MetadataError::Failed(stderr) => {
                // From cargo's first error on: status lines ("Blocking waiting for file lock
                // on package cache") are noise here.
                let m = match stderr.find("error: ") {
                    Some(i) if i == 0 || stderr[..i].ends_with('\n') => &stderr[i + 7..],
                    _ => stderr.as_str(),
                };
                m.trim().to_string()
            }
            MetadataError::Output(m) => m,
        };
        let offline = offline_failure(&message) && !stale_lock(&message);
        SbomError::Cargo {
            path: path.to_string(),
            message: printable(&message),
            offline,
        }
    }
}

fn offline_failure(stderr: &str) -> bool {
    stderr.contains("--offline") || stderr.contains("failed to download")
}

/// cargo 1.95: "cannot update the lock file ... because --locked was passed to prevent this";
/// earlier: "the lock file ... needs to be updated but --locked was passed to prevent this".
fn stale_lock(stderr: &str) -> bool {
    stderr.contains("--locked was passed")
}

/// cargo's first `error:` line (what a summary can show of a long message).
fn first_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .map(|l| l.trim().to_string())
}

fn run_metadata(manifest: &Path) -> Result<cargo_metadata::Metadata, MetadataError> {
    MetadataCommand::new()
        .manifest_path(manifest)
        .features(CargoOpt::AllFeatures)
        .other_options(vec!["--locked".to_string(), "--offline".to_string()])
        .exec()
        .map_err(|e| match e {
            cargo_metadata::Error::Io(e) => MetadataError::NotStarted(e),
            cargo_metadata::Error::CargoMetadata { stderr } => MetadataError::Failed(stderr),
            other => MetadataError::Output(other.to_string()),
        })
}

/// What an edge means for the scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// A normal or build dependency: needed by what depends on it.
    Required,
    /// A dev-dependency of a workspace member.
    Dev,
}

/// One package of the resolved graph.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    version: String,
    source: Option<String>,
    checksum: Option<Hash>,
    license: Option<String>,
    /// A path crate's folder relative to the workspace root (`/`-separated).
    local_dir: Option<String>,
    deps: Vec<(usize, Edge)>,
}

/// The graph either way of reading gives; [`inventory`] turns it into components.
#[derive(Debug, Default)]
struct Graph {
    nodes: Vec<Node>,
    /// The workspace members (packages).
    members: Vec<usize>,
    /// The package `cargo metadata` resolves from (not a component: the SBOM's subject).
    root: Option<usize>,
}

fn from_metadata(lock: &lock::Lock, meta: cargo_metadata::Metadata) -> Graph {
    let index: HashMap<&cargo_metadata::PackageId, usize> = meta
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| (&p.id, i))
        .collect();
    let root_dir = workspace::normalize(meta.workspace_root.as_std_path());
    let mut nodes: Vec<Node> = meta
        .packages
        .iter()
        .map(|p| {
            let name = p.name.to_string();
            let version = p.version.to_string();
            let source = p.source.as_ref().map(|s| s.repr.clone());
            let checksum = lock
                .find(&name, &version, source.as_deref())
                .and_then(|i| lock.packages[i].checksum.clone());
            let local_dir = match (&source, p.manifest_path.parent()) {
                (None, Some(dir)) => Some(workspace::relative(
                    &root_dir,
                    &workspace::normalize(dir.as_std_path()),
                )),
                _ => None,
            };
            Node {
                name,
                version,
                source,
                checksum,
                license: p.license.clone(),
                local_dir,
                deps: Vec::new(),
            }
        })
        .collect();
    let mut root = None;
    if let Some(resolve) = &meta.resolve {
        for node in &resolve.nodes {
            let Some(&from) = index.get(&node.id) else {
                continue;
            };
            for d in &node.deps {
                let Some(&to) = index.get(&d.pkg) else {
                    continue;
                };
                let only_dev = !d.dep_kinds.is_empty()
                    && d.dep_kinds
                        .iter()
                        .all(|k| k.kind == DependencyKind::Development);
                let edge = if only_dev { Edge::Dev } else { Edge::Required };
                nodes[from].deps.push((to, edge));
            }
        }
        root = resolve.root.as_ref().and_then(|id| index.get(id).copied());
    }
    let root = root
        .or_else(|| {
            meta.workspace_default_members
                .first()
                .and_then(|id| index.get(id).copied())
        })
        .or_else(|| {
            meta.workspace_members
                .first()
                .and_then(|id| index.get(id).copied())
        });
    let members = meta
        .workspace_members
        .iter()
        .filter_map(|id| index.get(id).copied())
        .collect();
    Graph {
        nodes,
        members,
        root,
    }
}

/// The graph from the lock and the workspace's manifests.
fn from_lock(lock_path: &Path, lock: &lock::Lock) -> Result<Graph, SbomError> {
    let root_dir = match lock_path.parent() {
        Some(p) => p.to_path_buf(),
        None => PathBuf::new(),
    };
    let ws = workspace::read(&root_dir)?;
    let root_dir = workspace::normalize(&root_dir);
    let display = lock_path.display().to_string();
    let stale = |message: String| SbomError::Invalid {
        path: display.clone(),
        message: printable(&message),
    };

    // Local crates -> their lock package (path packages have no source).
    let local: Vec<Option<usize>> = ws
        .crates
        .iter()
        .map(|c| lock.find(&c.name, &c.version, None))
        .collect();
    let mut member_of: HashMap<usize, usize> = HashMap::new();
    for &m in &ws.members {
        let c = &ws.crates[m];
        let Some(i) = local[m] else {
            return Err(stale(format!(
                "out of date: it does not list `{} {}`, a workspace member ({}); run `cargo update --workspace`",
                c.name,
                c.version,
                c.manifest.display()
            )));
        };
        member_of.insert(i, m);
    }
    if ws.members.is_empty() {
        return Err(stale(format!(
            "the workspace in {} has no member packages",
            root_dir.join("Cargo.toml").display()
        )));
    }

    let mut nodes: Vec<Node> = lock
        .packages
        .iter()
        .map(|p| Node {
            name: p.name.clone(),
            version: p.version.clone(),
            source: p.source.clone(),
            checksum: p.checksum.clone(),
            license: None,
            local_dir: None,
            deps: p
                .dependencies
                .iter()
                .map(|&d| (d, Edge::Required))
                .collect(),
        })
        .collect();
    for (c, i) in ws.crates.iter().zip(&local) {
        if let Some(i) = *i
            && nodes[i].local_dir.is_none()
        {
            nodes[i].license = c.license.clone();
            nodes[i].local_dir = Some(workspace::relative(&root_dir, &c.dir));
        }
    }

    // A member's edges: dev when only its [dev-dependencies] declare the package.
    for (&i, &m) in &member_of {
        let c = &ws.crates[m];
        for decl in &c.deps {
            let listed = nodes[i]
                .deps
                .iter()
                .any(|&(d, _)| lock.packages[d].name == decl.package);
            if !listed {
                return Err(SbomError::Parse {
                    path: c.manifest.display().to_string(),
                    line: decl.line,
                    column: decl.column,
                    message: printable(&format!(
                        "`{}` depends on `{}`, which Cargo.lock does not list for it: the lock is out of date; run `cargo update --workspace`",
                        c.name, decl.package
                    )),
                });
            }
        }
        for (d, edge) in &mut nodes[i].deps {
            let target = &lock.packages[*d];
            let could_be = |decl: &&workspace::Decl| {
                decl.package == target.name
                    && (decl.path.is_none() || target.source.is_none())
                    && decl.req.as_ref().is_none_or(|r| {
                        semver::Version::parse(&target.version).is_ok_and(|v| r.matches(&v))
                    })
            };
            let kinds: Vec<DeclKind> = c.deps.iter().filter(could_be).map(|d| d.kind).collect();
            if !kinds.is_empty() && kinds.iter().all(|k| *k == DeclKind::Dev) {
                *edge = Edge::Dev;
            }
        }
    }
    let mut members: Vec<usize> = ws.members.iter().filter_map(|&m| local[m]).collect();
    members.dedup();
    Ok(Graph {
        nodes,
        members,
        root: ws.root.and_then(|r| local[r]),
    })
}

/// `pkg:cargo/name@version`, with `vcs_url` for git sources, `repository_url` for registries
/// other than crates.io, and `download_url=file://DIR` for a path crate `local_fork` marks.
fn purl(node: &Node, local_fork: bool, lock_path: &Path) -> Result<String, SbomError> {
    let e = |e| purl_error(lock_path, &node.name, e);
    let mut purl = packageurl::PackageUrl::new("cargo", node.name.as_str()).map_err(e)?;
    purl.with_version(node.version.as_str()).map_err(e)?;
    match node.source.as_deref() {
        Some(s) if s.starts_with("git+") => {
            purl.add_qualifier("vcs_url", s.to_string()).map_err(e)?;
        }
        Some(s) if s.starts_with("registry+") || s.starts_with("sparse+") => {
            if !s.contains("github.com/rust-lang/crates.io-index") {
                let url = s
                    .trim_start_matches("registry+")
                    .trim_start_matches("sparse+");
                purl.add_qualifier("repository_url", url.to_string())
                    .map_err(e)?;
            }
        }
        Some(_) => {}
        None => {
            if local_fork && let Some(dir) = &node.local_dir {
                purl.add_qualifier("download_url", format!("file://{dir}"))
                    .map_err(e)?;
            }
        }
    }
    Ok(purl.to_string())
}

/// The graph as components: the root is the SBOM's subject; a package is required when a member
/// reaches it through normal or build edges, else dev.
fn inventory(lock_path: &Path, graph: &Graph) -> Result<Inventory, SbomError> {
    let shared: BTreeSet<(&str, &str)> = graph
        .nodes
        .iter()
        .filter(|n| n.source.is_some())
        .map(|n| (n.name.as_str(), n.version.as_str()))
        .collect();
    let purls: Vec<String> = graph
        .nodes
        .iter()
        .map(|n| {
            let fork =
                n.source.is_none() && shared.contains(&(n.name.as_str(), n.version.as_str()));
            purl(n, fork, lock_path)
        })
        .collect::<Result<_, _>>()?;

    let mut inv = Inventory::new(lock_path);
    // Packages that share a purl merge (name + version, as the anchor tools deduplicate); a
    // fixed order (path crates first) makes the merge the same whichever way the graph was read.
    let mut order: Vec<usize> = (0..graph.nodes.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&graph.nodes[a], &graph.nodes[b]);
        (&x.name, &x.version, &x.source).cmp(&(&y.name, &y.version, &y.source))
    });
    let mut required: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for &i in &order {
        let n = &graph.nodes[i];
        let purl = &purls[i];
        for &(d, edge) in &n.deps {
            if edge == Edge::Required {
                required.entry(purl).or_default().insert(purls[d].clone());
            }
        }
        if Some(i) == graph.root {
            inv.root = Some((n.name.clone(), n.version.clone()));
            inv.direct = n.deps.iter().map(|&(d, _)| purls[d].clone()).collect();
            continue;
        }
        let mut pkg = Package::new(Ecosystem::Cargo, &n.name, &n.version, purl.clone());
        pkg.license = n.license.clone();
        pkg.hashes.extend(n.checksum.clone());
        pkg.dependencies = n.deps.iter().map(|&(d, _)| purls[d].clone()).collect();
        inv.add(pkg);
    }
    let members: BTreeSet<&str> = graph.members.iter().map(|&m| purls[m].as_str()).collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = members
        .iter()
        .flat_map(|m| required.get(m).into_iter().flatten().cloned())
        .collect();
    while let Some(p) = stack.pop() {
        if !seen.contains(&p) {
            stack.extend(required.get(p.as_str()).into_iter().flatten().cloned());
            seen.insert(p);
        }
    }
    for (purl, p) in &mut inv.packages {
        p.scope = if seen.contains(purl) || members.contains(purl.as_str()) {
            Scope::Required
        } else {
            Scope::Dev
        };
    }
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, source: Option<&str>, local_dir: Option<&str>) -> Node {
        Node {
            name: name.into(),
            version: "1.0.0".into(),
            source: source.map(str::to_string),
            checksum: None,
            license: None,
            local_dir: local_dir.map(str::to_string),
            deps: Vec::new(),
        }
    }

    #[test]
    fn purls_by_source() {
        let p = |n: Node, fork: bool| purl(&n, fork, Path::new("Cargo.lock")).expect("purl");
        assert_eq!(
            p(
                node(
                    "serde",
                    Some("registry+https://github.com/rust-lang/crates.io-index"),
                    None
                ),
                false
            ),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(
            p(
                node("acme", Some("registry+https://git.acme.corp/index"), None),
                false
            ),
            "pkg:cargo/acme@1.0.0?repository_url=https:%2F%2Fgit.acme.corp%2Findex"
        );
        assert_eq!(
            p(
                node("acme", Some("sparse+https://cargo.acme.corp/index/"), None),
                false
            ),
            "pkg:cargo/acme@1.0.0?repository_url=https:%2F%2Fcargo.acme.corp%2Findex%2F"
        );
        assert_eq!(
            p(
                node(
                    "x",
                    Some("git+https://github.com/a/x?branch=main#0123abc"),
                    None
                ),
                false
            ),
            "pkg:cargo/x@1.0.0?vcs_url=git%2Bhttps:%2F%2Fgithub.com%2Fa%2Fx%3Fbranch%3Dmain%230123abc"
        );
        assert_eq!(
            p(node("core", None, Some("crates/core")), false),
            "pkg:cargo/core@1.0.0"
        );
        assert_eq!(
            p(node("itoa", None, Some("../fork")), true),
            "pkg:cargo/itoa@1.0.0?download_url=file:%2F%2F..%2Ffork"
        );
    }

    #[test]
    fn what_falls_back_and_what_stays_an_error() {
        let failed = |s: &str| MetadataError::Failed(s.into()).fallback();
        assert_eq!(
            failed(
                "error: no matching package named `itoa` found\n...you're using offline mode (--offline)"
            ),
            Some((
                Fallback::CratesNotCached,
                Some("error: no matching package named `itoa` found".into())
            ))
        );
        assert_eq!(
            failed(
                "    Blocking waiting for file lock on package cache\nerror: cannot update the lock file x because --locked was passed to prevent this"
            ),
            None
        );
        assert_eq!(
            failed(
                "error: the lock file x needs to be updated but --locked was passed to prevent this"
            ),
            None
        );
        assert_eq!(
            failed("error: rustup could not choose a version of cargo to run"),
            Some((
                Fallback::CargoFailed,
                Some("error: rustup could not choose a version of cargo to run".into())
            ))
        );
        let gone = MetadataError::NotStarted(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(gone.fallback().map(|f| f.0), Some(Fallback::CargoNotFound));
    }
}
