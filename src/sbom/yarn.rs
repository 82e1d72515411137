//! yarn: `yarn.lock` in both of its formats.
//!
//! - yarn 1 ("classic", `# yarn lockfile v1`): yarn's own indented format, read by the small
//!   parser below. The crates.io parser (`yarn-lock-parser`) was considered and not taken: its
//!   errors carry no line or column, it requires the two comment lines at fixed positions, and it
//!   adds nom 8 and nom-language for what is ~150 lines here.
//! - yarn 2+ ("berry", a `__metadata` key): YAML, read with serde_norway.
//!
//! Both map descriptors (`ms@^2.1.3`, `my-ms@npm:ms@2.1.2`) to resolved entries. Neither format
//! says which packages are dev-only, so the scope comes from reachability: the project's (and its
//! workspaces') production and optional dependencies, as `package.json` lists them, are the roots.
//! Without a `package.json` next to the lock every package counts as required.
//!
//! Non-registry entries: `workspace:` entries are the project (not a component) or its workspace
//! packages (components named and versioned from their own `package.json`, which the root depends
//! on, as in npm's lock and cyclonedx-npm's graph; yarn 1 does not lock them, so they come from the
//! root `package.json`'s `workspaces` globs);
//! `file:` packages are components with the version the lock records; `link:` entries (a symlink
//! to a folder, with no package identity) are not components; `patch:` entries (berry's patched
//! packages, including its built-in `compat/fsevents` and `compat/typescript` patches) are the same
//! package as the one they patch and merge into it.
//!
//! Hashes: yarn 1's `integrity` (or, in old locks without it, the SHA-1 in the `resolved` URL's
//! fragment) is the registry tarball's hash and is reported. Berry's `checksum` (`10c0/<hex>`) is
//! NOT: it is a SHA-512 of the zip archive yarn repacks the tarball into for its cache, prefixed
//! with the cache key, and matches no file a consumer of the SBOM can download, so levee leaves
//! berry components without hashes rather than put a misleading one in the SBOM.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use super::js::{PackageJson, Scalar, WorkspaceGlobs, package_json, split_name};
use super::{Ecosystem, Hash, HashAlg, Inventory, Package, SbomError, Scope, npm_purl, purl_error};

/// Deeper nesting than this is not a yarn 1 lock (real ones nest three levels).
const MAX_DEPTH: usize = 32;

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = super::read_text(path)?;
    let is_berry = text.lines().any(|l| l.trim_end() == "__metadata:");
    let lock = if is_berry {
        berry(path, &text)?
    } else {
        classic(path, &text)?
    };
    assemble(path, lock)
}

/// What kind of thing an entry resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A package: from a registry, a tarball, git, a `file:` folder or a patch of one of those.
    Package,
    /// A workspace of the project (`workspace:path`; `.` is the root).
    Workspace(String),
    /// A folder outside the workspaces that is installed as a package (berry's `portal:path`).
    Portal(String),
    /// A symlink to a folder (`link:`): no package identity.
    Link,
}

#[derive(Debug)]
struct Entry {
    descriptors: Vec<String>,
    name: String,
    version: String,
    kind: Kind,
    hashes: Vec<Hash>,
    /// (name, range) of its dependencies, optional ones included.
    dependencies: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Lock {
    entries: Vec<Entry>,
    /// Berry: the root workspace's dependencies as the lock states them (name, range, optional).
    root_deps: Option<Vec<(String, String, bool)>>,
}

// ---------------------------------------------------------------------------------------------
// yarn 1

#[derive(Debug)]
enum Value {
    Str(String),
    Map(Vec<Node>),
}

#[derive(Debug)]
struct Node {
    line: usize,
    keys: Vec<String>,
    value: Value,
}

#[derive(Debug)]
struct Tok {
    line: usize,
    indent: usize,
    keys: Vec<String>,
    /// `None` for `key:` (a block follows).
    value: Option<String>,
}

fn classic(path: &Path, text: &str) -> Result<Lock, SbomError> {
    let toks = classic_lines(path, text)?;
    let mut i = 0;
    let nodes = build(&toks, &mut i, 0, 0).map_err(|(line, m)| parse_error(path, line, 1, m))?;
    let entries = nodes
        .into_iter()
        .map(|n| classic_entry(path, n))
        .collect::<Result<_, _>>()?;
    Ok(Lock {
        entries,
        root_deps: None,
    })
}

/// A parse error at `line`:`column` of the lock file.
fn parse_error(path: &Path, line: usize, column: usize, message: String) -> SbomError {
    SbomError::Parse {
        path: path.display().to_string(),
        line,
        column,
        message,
    }
}

/// A classic lock file's lines, each with its indentation and its keys and value (blank lines
/// and comments dropped).
fn classic_lines(path: &Path, text: &str) -> Result<Vec<Tok>, SbomError> {
    let mut toks = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.trim_start_matches(' ');
        let indent = raw.len() - body.len();
        let body = body.trim_end();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            return Err(parse_error(
                path,
                line,
                indent + 1,
                "tab in indentation".into(),
            ));
        }
        let (keys, value) =
            tokenize(body).map_err(|(at, m)| parse_error(path, line, indent + at + 1, m))?;
        toks.push(Tok {
            line,
            indent,
            keys,
            value,
        });
    }
    Ok(toks)
}

/// One top-level block of a classic lock file (`name@range, name@range2:` and its fields) as an
/// entry.
fn classic_entry(path: &Path, n: Node) -> Result<Entry, SbomError> {
    let err =
        |line: usize, column: usize, message: String| parse_error(path, line, column, message);
    let Value::Map(fields) = n.value else {
        return Err(err(
            n.line,
            1,
            format!(
                "`{}` is not an entry (expected `name@range:`)",
                n.keys.join(", ")
            ),
        ));
    };
    let descriptors: Vec<String> = n
        .keys
        .iter()
        .flat_map(|k| k.split(','))
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    let first = descriptors.first().cloned().unwrap_or_default();
    let Some((key_name, range)) = split_name(&first) else {
        return Err(err(n.line, 1, format!("`{first}` is not `name@range`")));
    };
    let (mut version, mut resolved, mut integrity) = (None, None, None);
    let mut dependencies = Vec::new();
    for f in &fields {
        let key = f.keys.first().map(String::as_str).unwrap_or_default();
        match (key, &f.value) {
            ("version", Value::Str(s)) => version = Some(s.clone()),
            ("resolved", Value::Str(s)) => resolved = Some(s.clone()),
            ("integrity", Value::Str(s)) => integrity = Some(s.clone()),
            ("dependencies" | "optionalDependencies", Value::Map(deps)) => {
                for d in deps {
                    match (&d.value, d.keys.as_slice()) {
                        (Value::Str(r), [name]) => dependencies.push((name.clone(), r.clone())),
                        _ => {
                            return Err(err(
                                d.line,
                                1,
                                format!("expected `name \"range\"` under `{key}`"),
                            ));
                        }
                    }
                }
            }
            ("version" | "resolved" | "integrity", Value::Map(_)) => {
                return Err(err(f.line, 1, format!("`{key}` must be a string")));
            }
            ("dependencies" | "optionalDependencies", Value::Str(_)) => {
                return Err(err(f.line, 1, format!("`{key}` must be a block")));
            }
            _ => {}
        }
    }
    let Some(version) = version else {
        return Err(err(n.line, 1, format!("entry `{first}` has no `version`")));
    };
    // `my-ms@npm:ms@2.1.2` is an alias of `ms`.
    let name = range
        .strip_prefix("npm:")
        .and_then(split_name)
        .map_or(key_name, |(n, _)| n)
        .to_string();
    let kind = if range.starts_with("link:") {
        Kind::Link
    } else {
        Kind::Package
    };
    let mut hashes = integrity
        .as_deref()
        .map(super::npm::integrity)
        .unwrap_or_default();
    if hashes.is_empty()
        && let Some(h) = resolved
            .as_deref()
            .and_then(|r| r.rsplit_once('#'))
            .and_then(|(_, h)| Hash::hex(HashAlg::Sha1, h))
    {
        hashes.push(h);
    }
    Ok(Entry {
        descriptors,
        name,
        version,
        kind,
        hashes,
        dependencies,
    })
}

/// One line (without indentation): keys (`a@1, "b@2"`), then `:` (a block follows) or a value
/// (`"quoted"` or the rest of the line). Errors carry the byte offset in `body`.
#[allow(clippy::type_complexity)]
fn tokenize(body: &str) -> Result<(Vec<String>, Option<String>), (usize, String)> {
    let mut keys = Vec::new();
    let mut pos = 0;
    loop {
        let rest = &body[pos..];
        let (key, used) = if rest.starts_with('"') {
            quoted(rest).map_err(|(at, m)| (pos + at, m))?
        } else {
            let end = rest.find([' ', ':', ',']).unwrap_or(rest.len());
            if end == 0 {
                return Err((pos, "expected a key".into()));
            }
            (rest[..end].to_string(), end)
        };
        keys.push(key);
        pos += used;
        pos += body[pos..].len() - body[pos..].trim_start().len();
        if body[pos..].starts_with(',') {
            pos += 1;
            pos += body[pos..].len() - body[pos..].trim_start().len();
            continue;
        }
        break;
    }
    let mut rest = &body[pos..];
    if rest == ":" {
        return Ok((keys, None));
    }
    if let Some(r) = rest.strip_prefix(':') {
        pos += 1;
        rest = r.trim_start();
        pos += r.len() - rest.len();
    }
    if rest.is_empty() {
        return Err((pos, format!("`{}` has no value", keys.join(", "))));
    }
    let value = if rest.starts_with('"') {
        let (v, used) = quoted(rest).map_err(|(at, m)| (pos + at, m))?;
        if used != rest.len() {
            return Err((pos + used, "unexpected text after a quoted value".into()));
        }
        v
    } else {
        rest.to_string()
    };
    Ok((keys, Some(value)))
}

/// A JSON-style quoted string at the start of `s`: its value and the bytes it used.
fn quoted(s: &str) -> Result<(String, usize), (usize, String)> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => {
                let v: String = serde_json::from_str(&s[..=i])
                    .map_err(|e| (e.column().saturating_sub(1), format!("bad string: {e}")))?;
                return Ok((v, i + 1));
            }
            _ => {}
        }
    }
    Err((0, "unterminated string".into()))
}

/// Nests tokens by indentation. Errors carry the line.
fn build(
    toks: &[Tok],
    i: &mut usize,
    indent: usize,
    depth: usize,
) -> Result<Vec<Node>, (usize, String)> {
    let mut out = Vec::new();
    while let Some(t) = toks.get(*i) {
        if t.indent < indent {
            break;
        }
        if t.indent > indent {
            return Err((t.line, "unexpected indentation".into()));
        }
        *i += 1;
        let value = match &t.value {
            Some(v) => Value::Str(v.clone()),
            None => match toks.get(*i).filter(|n| n.indent > indent) {
                Some(next) if depth >= MAX_DEPTH => {
                    return Err((next.line, format!("nested deeper than {MAX_DEPTH} levels")));
                }
                Some(next) => Value::Map(build(toks, i, next.indent, depth + 1)?),
                None => Value::Map(Vec::new()),
            },
        };
        out.push(Node {
            line: t.line,
            keys: t.keys.clone(),
            value,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// yarn 2+ (berry)

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BerryEntry {
    #[serde(default)]
    version: Option<Scalar>,
    #[serde(default)]
    resolution: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, Scalar>,
    #[serde(default)]
    dependencies_meta: BTreeMap<String, BerryMeta>,
}

#[derive(Debug, Default, Deserialize)]
struct BerryMeta {
    #[serde(default)]
    optional: bool,
}

fn berry(path: &Path, text: &str) -> Result<Lock, SbomError> {
    let raw: BTreeMap<String, BerryEntry> = super::parse_yaml(path, text)?;
    let invalid = |message: String| SbomError::Invalid {
        path: path.display().to_string(),
        message,
    };
    let mut lock = Lock::default();
    for (key, e) in raw {
        if key == "__metadata" {
            continue;
        }
        let resolution = e
            .resolution
            .ok_or_else(|| invalid(format!("entry `{key}` has no `resolution`")))?;
        let version = e
            .version
            .ok_or_else(|| invalid(format!("entry `{key}` has no `version`")))?
            .0;
        let (name, reference) = split_name(&resolution).ok_or_else(|| {
            invalid(format!(
                "entry `{key}`: resolution `{resolution}` is not `name@reference`"
            ))
        })?;
        // The reference up to its `::` parameters (`::locator=...`, `::version=...&hash=...`).
        let reference = reference.split("::").next().unwrap_or(reference);
        let kind = if let Some(p) = reference.strip_prefix("workspace:") {
            Kind::Workspace(p.to_string())
        } else if let Some(p) = reference.strip_prefix("portal:") {
            Kind::Portal(p.to_string())
        } else if reference.starts_with("link:") {
            Kind::Link
        } else {
            Kind::Package
        };
        let dependencies: Vec<(String, String)> = e
            .dependencies
            .iter()
            .map(|(n, r)| (n.clone(), r.0.clone()))
            .collect();
        if kind == Kind::Workspace(".".into()) {
            lock.root_deps = Some(
                dependencies
                    .iter()
                    .map(|(n, r)| {
                        let opt = e.dependencies_meta.get(n).is_some_and(|m| m.optional);
                        (n.clone(), r.clone(), opt)
                    })
                    .collect(),
            );
        }
        lock.entries.push(Entry {
            descriptors: key.split(',').map(|d| d.trim().to_string()).collect(),
            name: name.to_string(),
            version,
            kind,
            // No hash: berry's `checksum` is not a hash of the package (see the module doc).
            hashes: Vec::new(),
            dependencies,
        });
    }
    Ok(lock)
}

// ---------------------------------------------------------------------------------------------
// Both formats

/// A project folder: the root or a workspace package, with its direct dependencies and how it
/// needs each.
struct Project {
    purl: Option<String>,
    deps: Vec<(String, String, Scope)>,
}

fn assemble(path: &Path, lock: Lock) -> Result<Inventory, SbomError> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut inv = Inventory::new(path);
    let root_pj = package_json(dir)?;
    if let Some(pj) = &root_pj
        && let Some(name) = &pj.name
    {
        inv.root = Some((name.clone(), pj.version.clone().unwrap_or_default()));
    }
    let mut index = Index::packages(path, dir, &lock, &mut inv)?;
    // yarn 1 does not lock workspace packages: read them from package.json `workspaces`.
    let classic_members = match &root_pj {
        Some(pj) if lock.root_deps.is_none() => {
            index.classic_workspaces(path, dir, pj, &mut inv)?
        }
        _ => Vec::new(),
    };
    index.link_packages(&lock, &mut inv);
    let projects = projects(
        dir,
        &lock,
        root_pj.as_ref(),
        &index.purl_of,
        classic_members,
    )?;
    // yarn 1 without package.json: nothing says what is direct; everything is required.
    let all_required = root_pj.is_none() && lock.root_deps.is_none();
    index.scope(&projects, all_required, &mut inv);
    Ok(inv)
}

/// The lock's packages by descriptor, and the workspace members.
struct Index {
    /// Descriptor -> purl.
    by_descriptor: BTreeMap<String, String>,
    /// berry binds some descriptors (`file:`) to their parent with `::`: the descriptor without
    /// it -> purl.
    by_unbound: BTreeMap<String, String>,
    /// A workspace member's name -> purl.
    members_by_name: BTreeMap<String, String>,
    /// Each lock entry's purl (none for links and the root workspace).
    purl_of: Vec<Option<String>>,
    /// The workspace members: the root depends on each (as npm's lock links them from the root).
    workspaces: Vec<String>,
}

impl Index {
    /// Adds every package of the lock to `inv` and indexes it by its descriptors.
    fn packages(
        path: &Path,
        dir: &Path,
        lock: &Lock,
        inv: &mut Inventory,
    ) -> Result<Index, SbomError> {
        let mut index = Index {
            by_descriptor: BTreeMap::new(),
            by_unbound: BTreeMap::new(),
            members_by_name: BTreeMap::new(),
            purl_of: Vec::with_capacity(lock.entries.len()),
            workspaces: Vec::new(),
        };
        for e in &lock.entries {
            let purl = match &e.kind {
                Kind::Link => None,
                Kind::Workspace(p) if p == "." => None,
                Kind::Workspace(p) | Kind::Portal(p) => {
                    // A workspace package: berry writes `0.0.0-use.local`; its package.json knows.
                    let version = package_json(&dir.join(p))?
                        .and_then(|m| m.version)
                        .unwrap_or_else(|| e.version.clone());
                    let purl =
                        npm_purl(&e.name, &version).map_err(|x| purl_error(path, &e.name, x))?;
                    inv.add(Package::new(
                        Ecosystem::Npm,
                        &e.name,
                        &version,
                        purl.clone(),
                    ));
                    index.members_by_name.insert(e.name.clone(), purl.clone());
                    if matches!(e.kind, Kind::Workspace(_)) {
                        index.workspaces.push(purl.clone());
                    }
                    Some(purl)
                }
                Kind::Package => {
                    let purl =
                        npm_purl(&e.name, &e.version).map_err(|x| purl_error(path, &e.name, x))?;
                    let mut p = Package::new(Ecosystem::Npm, &e.name, &e.version, purl.clone());
                    p.hashes = e.hashes.clone();
                    inv.add(p);
                    Some(purl)
                }
            };
            if let Some(purl) = &purl {
                for d in &e.descriptors {
                    index.by_descriptor.insert(d.clone(), purl.clone());
                    if let Some((unbound, _)) = d.split_once("::") {
                        index.by_unbound.insert(unbound.to_string(), purl.clone());
                    }
                }
            }
            index.purl_of.push(purl);
        }
        Ok(index)
    }

    /// yarn 1's workspace members, from the root package.json's `workspaces`: added to `inv`,
    /// returned with their package.json.
    fn classic_workspaces(
        &mut self,
        path: &Path,
        dir: &Path,
        root_pj: &PackageJson,
        inv: &mut Inventory,
    ) -> Result<Vec<(String, PackageJson)>, SbomError> {
        let globs = WorkspaceGlobs::new(root_pj.workspace_patterns()).map_err(|message| {
            SbomError::Invalid {
                path: dir.join("package.json").display().to_string(),
                message,
            }
        })?;
        let mut members = Vec::new();
        for ws in globs.dirs(dir) {
            if let Some(m) = package_json(&dir.join(&ws))?
                && let Some(name) = m.name.clone()
            {
                let version = m.version.clone().unwrap_or_default();
                let purl = npm_purl(&name, &version).map_err(|x| purl_error(path, &name, x))?;
                inv.add(Package::new(Ecosystem::Npm, &name, &version, purl.clone()));
                self.members_by_name.insert(name, purl.clone());
                self.workspaces.push(purl.clone());
                members.push((purl, m));
            }
        }
        Ok(members)
    }

    /// The purl a dependency `name` at `range` resolves to.
    fn resolve(&self, name: &str, range: &str) -> Option<String> {
        let d = format!("{name}@{range}");
        let npm = format!("{name}@npm:{range}");
        self.by_descriptor
            .get(&d)
            .or_else(|| self.by_descriptor.get(&npm))
            .or_else(|| self.by_unbound.get(&d))
            .or_else(|| self.members_by_name.get(name))
            .cloned()
    }

    /// Each locked package's dependency edges (a workspace package's come with the projects).
    fn link_packages(&self, lock: &Lock, inv: &mut Inventory) {
        for (e, purl) in lock.entries.iter().zip(&self.purl_of) {
            let Some(purl) = purl else { continue };
            if matches!(e.kind, Kind::Workspace(_) | Kind::Portal(_)) {
                continue; // a workspace package: its edges come with the projects below
            }
            let deps: BTreeSet<String> = e
                .dependencies
                .iter()
                .filter_map(|(n, r)| self.resolve(n, r))
                .filter(|d| d != purl)
                .collect();
            if let Some(p) = inv.packages.get_mut(purl) {
                p.dependencies.extend(deps);
            }
        }
    }

    /// Roots and scopes: the root project's dependencies are direct; each project's required
    /// and optional dependencies are reached from it. A workspace package's dev edges are added
    /// after the scopes are set, so its devDependencies do not become required through it.
    fn scope(self, projects: &[Project], all_required: bool, inv: &mut Inventory) {
        let (mut required, mut optional) = (Vec::new(), Vec::new());
        let mut dev_edges: Vec<(String, Vec<String>)> = Vec::new();
        if all_required {
            required.extend(inv.packages.keys().cloned());
        }
        for proj in projects {
            let mut dev = Vec::new();
            for (n, r, scope) in &proj.deps {
                let Some(purl) = self.resolve(n, r) else {
                    continue;
                };
                if proj.purl.is_none() {
                    inv.direct.insert(purl.clone());
                }
                match scope {
                    Scope::Required => required.push(purl.clone()),
                    Scope::Optional => optional.push(purl.clone()),
                    Scope::Dev => dev.push(purl.clone()),
                }
                if let Some(me) = &proj.purl
                    && *scope != Scope::Dev
                    && let Some(p) = inv.packages.get_mut(me)
                    && *me != purl
                {
                    p.dependencies.insert(purl);
                }
            }
            if let Some(me) = &proj.purl {
                required.push(me.clone());
                dev_edges.push((me.clone(), dev));
            }
        }
        inv.direct.extend(self.workspaces);
        inv.scope_by_reachability(&required, &optional);
        for (me, dev) in dev_edges {
            if let Some(p) = inv.packages.get_mut(&me) {
                p.dependencies.extend(dev.into_iter().filter(|d| *d != me));
            }
        }
    }
}

/// The projects: the root, then each workspace package (berry's from the lock, yarn 1's from
/// `classic_members`), with their direct dependencies in the scope their package.json gives.
fn projects(
    dir: &Path,
    lock: &Lock,
    root_pj: Option<&PackageJson>,
    purl_of: &[Option<String>],
    classic_members: Vec<(String, PackageJson)>,
) -> Result<Vec<Project>, SbomError> {
    let scope_in = |pj: Option<&PackageJson>, name: &str, optional: bool| match pj {
        Some(pj) => pj.scope_of(name),
        None if optional => Scope::Optional,
        None => Scope::Required,
    };
    let pj_specs = |pj: &PackageJson| -> Vec<(String, String, Scope)> {
        pj.all_dependencies()
            .filter_map(|(n, v)| Some((n.clone(), v.as_str()?.to_string(), pj.scope_of(n))))
            .collect()
    };
    let mut projects = vec![match &lock.root_deps {
        Some(deps) => Project {
            purl: None,
            deps: deps
                .iter()
                .map(|(n, r, opt)| (n.clone(), r.clone(), scope_in(root_pj, n, *opt)))
                .collect(),
        },
        None => Project {
            purl: None,
            deps: root_pj.map(pj_specs).unwrap_or_default(),
        },
    }];
    for (e, purl) in lock.entries.iter().zip(purl_of) {
        if let (Kind::Workspace(p) | Kind::Portal(p), Some(purl)) = (&e.kind, purl) {
            let pj = package_json(&dir.join(p))?;
            projects.push(Project {
                purl: Some(purl.clone()),
                deps: e
                    .dependencies
                    .iter()
                    .map(|(n, r)| (n.clone(), r.clone(), scope_in(pj.as_ref(), n, false)))
                    .collect(),
            });
        }
    }
    for (purl, m) in &classic_members {
        projects.push(Project {
            purl: Some(purl.clone()),
            deps: pj_specs(m),
        });
    }
    Ok(projects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenize_lines() {
        assert_eq!(
            tokenize(r#"has-flag@4.0.0, "has-flag@^4.0.0":"#),
            Ok((
                vec!["has-flag@4.0.0".into(), "has-flag@^4.0.0".into()],
                None
            ))
        );
        assert_eq!(
            tokenize(r#""@types/node" "^20 || ^22""#),
            Ok((vec!["@types/node".into()], Some("^20 || ^22".into())))
        );
        assert_eq!(
            tokenize("integrity sha512-abc=="),
            Ok((vec!["integrity".into()], Some("sha512-abc==".into())))
        );
        assert_eq!(tokenize(r#"version "1.0.0" x"#).map_err(|e| e.0), Err(15));
        assert!(tokenize(r#""unterminated"#).is_err());
        assert!(tokenize("lonely").is_err());
        assert!(tokenize(r#""a\"b" "c\u00e9""#).is_ok());
    }
}
