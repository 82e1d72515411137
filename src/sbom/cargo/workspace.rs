//! The workspace around a `Cargo.lock`, read from the `Cargo.toml` files as cargo reads them, for
//! what the lock does not say: which packages are the workspace's members and which one
//! `cargo metadata` calls the root, which dependencies of a member are dev-dependencies, and the
//! licences of local crates.
//!
//! Members follow cargo's rules (`Workspace::find_members`): `workspace.members` entries are glob
//! patterns (`*`, `?`, `[...]` within one folder, `**` across folders) expanded in sorted order,
//! files among the matches skipped; a pattern that matches nothing is taken literally; every
//! member's path dependencies inside the workspace folder are members too; `workspace.exclude`
//! entries are folder prefixes that keep a path out unless a `members` entry names it; the root
//! package, when the root manifest has one, is a member; `default-members` choose the default
//! members (otherwise all members of a virtual workspace, or the root package). A `Cargo.toml`
//! without `[workspace]` is a workspace of one package, whose path dependencies are not members.
//! Inherited fields (`version.workspace = true`, `license.workspace = true`, `dep.workspace =
//! true`) are read from the root's `[workspace.package]` and `[workspace.dependencies]`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::{Spanned, Value};

use crate::sbom::{SbomError, line_col, printable};

/// A `**` pattern is not followed deeper than this below its literal prefix.
const MAX_GLOB_DEPTH: usize = 32;
/// A `**` walk that visits more folders than this stops.
const MAX_GLOB_WALK: usize = 100_000;
/// More local crates (members and path dependencies) than this is not a real workspace.
const MAX_LOCAL_CRATES: usize = 10_000;

/// How a member declares a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeclKind {
    Normal,
    Build,
    Dev,
}

/// One dependency a local crate declares (`[dependencies]`, `[build-dependencies]`,
/// `[dev-dependencies]`, and the same under `[target.'cfg(...)']`).
#[derive(Debug, Clone)]
pub(super) struct Decl {
    /// The key in the manifest (the name the code uses).
    pub key: String,
    /// The package it names (`package = "..."`, else the key).
    pub package: String,
    pub kind: DeclKind,
    /// The version requirement, when there is one cargo's semver syntax reads.
    pub req: Option<semver::VersionReq>,
    /// The folder of a path dependency (normalized).
    pub path: Option<PathBuf>,
    /// Where the declaration is: the manifest, line, column.
    pub line: usize,
    pub column: usize,
}

/// A crate on disk: a workspace member or a path dependency.
#[derive(Debug, Clone)]
pub(super) struct LocalCrate {
    pub name: String,
    /// `0.0.0` when the manifest has no version (as cargo has it).
    pub version: String,
    pub license: Option<String>,
    /// The folder (normalized, relative when the lock's path was).
    pub dir: PathBuf,
    pub manifest: PathBuf,
    pub deps: Vec<Decl>,
}

/// The workspace's packages.
#[derive(Debug, Clone, Default)]
pub(super) struct Workspace {
    /// Every local crate read: members first, then the path dependencies they reach.
    pub crates: Vec<LocalCrate>,
    /// Indices into `crates` of the members that are packages, in cargo's order.
    pub members: Vec<usize>,
    /// The package `cargo metadata` resolves from: the root manifest's package, else the first
    /// default member.
    pub root: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    #[serde(alias = "project")]
    package: Option<RawPackage>,
    workspace: Option<RawWorkspace>,
    #[serde(default)]
    dependencies: Deps,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev_dependencies: Deps,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build_dependencies: Deps,
    #[serde(default)]
    target: BTreeMap<String, RawTarget>,
    /// Path crates here are local crates too (their licences are read), never members.
    #[serde(default)]
    patch: BTreeMap<String, Deps>,
    #[serde(default)]
    replace: Deps,
}

type Deps = BTreeMap<String, Spanned<Value>>;

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: Spanned<String>,
    version: Option<Spanned<Value>>,
    license: Option<Spanned<Value>>,
}

#[derive(Debug, Deserialize)]
struct RawTarget {
    #[serde(default)]
    dependencies: Deps,
    #[serde(default, rename = "dev-dependencies", alias = "dev_dependencies")]
    dev_dependencies: Deps,
    #[serde(default, rename = "build-dependencies", alias = "build_dependencies")]
    build_dependencies: Deps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawWorkspace {
    members: Option<Vec<Spanned<String>>>,
    default_members: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<String>,
    package: Option<RawWorkspacePackage>,
    #[serde(default)]
    dependencies: Deps,
}

#[derive(Debug, Default, Deserialize)]
struct RawWorkspacePackage {
    version: Option<Spanned<Value>>,
    license: Option<Spanned<Value>>,
}

/// A manifest as read: its text (for positions) and content.
struct Manifest {
    path: PathBuf,
    text: String,
    raw: RawManifest,
}

impl Manifest {
    fn load(path: &Path) -> Result<Manifest, SbomError> {
        let text = crate::sbom::read_text(fs_path(path))?;
        let raw = crate::sbom::parse_toml(path, &text)?;
        Ok(Manifest {
            path: path.to_path_buf(),
            text,
            raw,
        })
    }

    fn error(&self, span: Range<usize>, message: String) -> SbomError {
        let (line, column) = line_col(&self.text, span.start);
        SbomError::Parse {
            path: self.path.display().to_string(),
            line,
            column,
            message: printable(&message),
        }
    }
}

/// What the root's `[workspace]` lends its members.
struct Inherited<'a> {
    root_dir: &'a Path,
    root: &'a Manifest,
}

impl Inherited<'_> {
    fn workspace(&self) -> Option<&RawWorkspace> {
        self.root.raw.workspace.as_ref()
    }

    fn package_field(&self, field: &str) -> Option<&Spanned<Value>> {
        let p = self.workspace()?.package.as_ref()?;
        match field {
            "version" => p.version.as_ref(),
            _ => p.license.as_ref(),
        }
    }
}

/// Reads the workspace whose root manifest is `root_dir/Cargo.toml`.
pub(super) fn read(root_dir: &Path) -> Result<Workspace, SbomError> {
    let root_dir = normalize(root_dir);
    let root_path = root_dir.join("Cargo.toml");
    let root = Manifest::load(&root_path)?;
    let inherited = Inherited {
        root_dir: &root_dir,
        root: &root,
    };
    let mut reader = Reader {
        inherited: &inherited,
        crates: Vec::new(),
        loaded: HashMap::new(),
        members: Vec::new(),
        member_set: HashSet::new(),
    };

    let Some(ws) = root.raw.workspace.as_ref() else {
        // A workspace of one package.
        let Some(i) = reader.load_crate(&root_path, None)? else {
            return Err(SbomError::Invalid {
                path: root_path.display().to_string(),
                message: "has neither [package] nor [workspace]".into(),
            });
        };
        reader.member_set.insert(root_path.clone());
        reader.members.push(root_path);
        reader.local_path_deps()?;
        return Ok(Workspace {
            crates: reader.crates,
            members: vec![i],
            root: Some(i),
        });
    };

    let mut members_paths: Vec<(PathBuf, &Spanned<String>)> = Vec::new();
    for entry in ws.members.iter().flatten() {
        for p in expand(&root_dir, entry.get_ref())
            .map_err(|m| root.error(entry.span(), format!("`{}`: {m}", entry.get_ref())))?
        {
            members_paths.push((p, entry));
        }
    }
    for (dir, entry) in &members_paths {
        let manifest = dir.join("Cargo.toml");
        if !fs_path(&manifest).is_file() {
            return Err(root.error(
                entry.span(),
                format!(
                    "workspace member {} (from `{}`) has no Cargo.toml",
                    dir.display(),
                    entry.get_ref()
                ),
            ));
        }
        reader.find_path_deps(&manifest, false)?;
    }
    reader.find_path_deps(&root_path, false)?;

    let member_crates: Vec<(PathBuf, usize)> = reader
        .members
        .iter()
        .filter_map(|m| {
            reader
                .loaded
                .get(m)
                .copied()
                .flatten()
                .map(|i| (m.clone(), i))
        })
        .collect();
    let default_manifests: Vec<PathBuf> = match &ws.default_members {
        Some(entries) => {
            let mut out = Vec::new();
            for entry in entries {
                let paths = expand(&root_dir, entry.get_ref())
                    .map_err(|m| root.error(entry.span(), format!("`{}`: {m}", entry.get_ref())))?;
                for dir in paths {
                    let manifest = dir.join("Cargo.toml");
                    if reader.member_set.contains(&manifest) {
                        out.push(manifest);
                    } else if !(members_paths.iter().any(|(p, _)| *p == dir)
                        && reader.is_excluded(&manifest))
                    {
                        return Err(root.error(
                            entry.span(),
                            format!(
                                "default member {} is not a member of the workspace",
                                dir.display()
                            ),
                        ));
                    }
                }
            }
            out
        }
        None if root.raw.package.is_none() => reader.members.clone(),
        None => vec![root_path.clone()],
    };
    let root_crate = match reader.loaded.get(&root_path).copied().flatten() {
        Some(i) => Some(i),
        None => default_manifests
            .iter()
            .find_map(|m| reader.loaded.get(m).copied().flatten())
            .or_else(|| member_crates.first().map(|(_, i)| *i)),
    };
    reader.local_path_deps()?;
    Ok(Workspace {
        crates: reader.crates,
        members: member_crates.into_iter().map(|(_, i)| i).collect(),
        root: root_crate,
    })
}

struct Reader<'a> {
    inherited: &'a Inherited<'a>,
    crates: Vec<LocalCrate>,
    /// Manifest path -> the crate it holds (`None`: a virtual manifest).
    loaded: HashMap<PathBuf, Option<usize>>,
    /// Member manifests in cargo's order.
    members: Vec<PathBuf>,
    member_set: HashSet<PathBuf>,
}

impl Reader<'_> {
    /// cargo's `find_path_deps`: `manifest` and, depth first, the path dependencies it declares
    /// that live in the workspace folder, unless excluded.
    fn find_path_deps(&mut self, manifest: &Path, is_path_dep: bool) -> Result<(), SbomError> {
        let mut stack = vec![(normalize(manifest), is_path_dep, None)];
        while let Some((manifest, is_path_dep, from)) = stack.pop() {
            if self.member_set.contains(&manifest) {
                continue;
            }
            let dir = manifest.parent().unwrap_or(Path::new(""));
            if is_path_dep && !dir.starts_with(self.inherited.root_dir) {
                continue;
            }
            if self.is_excluded(&manifest) {
                continue;
            }
            self.member_set.insert(manifest.clone());
            self.members.push(manifest.clone());
            let Some(i) = self.load_crate(&manifest, from)? else {
                continue;
            };
            let deps: Vec<(PathBuf, usize)> = self.crates[i]
                .deps
                .iter()
                .enumerate()
                .filter_map(|(d, decl)| decl.path.as_ref().map(|p| (p.join("Cargo.toml"), d)))
                .collect();
            stack.extend(deps.into_iter().rev().map(|(m, d)| (m, true, Some((i, d)))));
        }
        Ok(())
    }

    /// cargo's `is_excluded`: under an `exclude` folder and under no `members` entry (entries
    /// compared as written, globs included).
    fn is_excluded(&self, manifest: &Path) -> bool {
        let Some(ws) = self.inherited.workspace() else {
            return false;
        };
        let root = self.inherited.root_dir;
        let under = |p: &str| manifest.starts_with(normalize(&root.join(p)));
        ws.exclude.iter().any(|e| under(e))
            && !ws.members.iter().flatten().any(|m| under(m.get_ref()))
    }

    /// Loads the crate of `manifest` once; `None` for a virtual manifest. `from` is the
    /// declaration that led here (for the error when there is no manifest).
    fn load_crate(
        &mut self,
        manifest: &Path,
        from: Option<(usize, usize)>,
    ) -> Result<Option<usize>, SbomError> {
        if let Some(i) = self.loaded.get(manifest) {
            return Ok(*i);
        }
        if self.crates.len() >= MAX_LOCAL_CRATES {
            return Err(SbomError::Invalid {
                path: manifest.display().to_string(),
                message: format!(
                    "more than {MAX_LOCAL_CRATES} local crates (members and path dependencies)"
                ),
            });
        }
        if let Some((c, d)) = from
            && !fs_path(manifest).is_file()
        {
            let c = &self.crates[c];
            let d = &c.deps[d];
            return Err(SbomError::Parse {
                path: c.manifest.display().to_string(),
                line: d.line,
                column: d.column,
                message: printable(&format!(
                    "path dependency `{}`: no Cargo.toml in {}",
                    d.key,
                    manifest.parent().unwrap_or(Path::new("")).display()
                )),
            });
        }
        let m = if manifest == self.inherited.root.path {
            None
        } else {
            Some(Manifest::load(manifest)?)
        };
        let m = m.as_ref().unwrap_or(self.inherited.root);
        let c = match &m.raw.package {
            Some(p) => Some(self.local_crate(m, p)?),
            None => None,
        };
        let i = c.map(|c| {
            self.crates.push(c);
            self.crates.len() - 1
        });
        self.loaded.insert(manifest.to_path_buf(), i);
        Ok(i)
    }

    fn local_crate(&self, m: &Manifest, p: &RawPackage) -> Result<LocalCrate, SbomError> {
        let dir = m.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let version = self
            .inheritable(m, "version", p.version.as_ref())?
            .unwrap_or_else(|| "0.0.0".into());
        let license = self.inheritable(m, "license", p.license.as_ref())?;
        let mut deps = Vec::new();
        let tables = [
            (&m.raw.dependencies, DeclKind::Normal),
            (&m.raw.build_dependencies, DeclKind::Build),
            (&m.raw.dev_dependencies, DeclKind::Dev),
        ]
        .into_iter()
        .chain(m.raw.target.values().flat_map(|t| {
            [
                (&t.dependencies, DeclKind::Normal),
                (&t.build_dependencies, DeclKind::Build),
                (&t.dev_dependencies, DeclKind::Dev),
            ]
        }));
        for (table, kind) in tables {
            for (key, value) in table {
                deps.push(self.decl(m, &dir, key, value, kind)?);
            }
        }
        Ok(LocalCrate {
            name: p.name.get_ref().clone(),
            version,
            license,
            dir,
            manifest: m.path.clone(),
            deps,
        })
    }

    /// `field = "..."` or `field.workspace = true`.
    fn inheritable(
        &self,
        m: &Manifest,
        field: &str,
        v: Option<&Spanned<Value>>,
    ) -> Result<Option<String>, SbomError> {
        let Some(v) = v else {
            return Ok(None);
        };
        match v.get_ref() {
            Value::String(s) => Ok(Some(s.clone())),
            Value::Table(t) if t.get("workspace") == Some(&Value::Boolean(true)) => {
                match self.inherited.package_field(field) {
                    Some(w) => match w.get_ref() {
                        Value::String(s) => Ok(Some(s.clone())),
                        _ => Err(self.inherited.root.error(
                            w.span(),
                            format!("`workspace.package.{field}` must be a string"),
                        )),
                    },
                    None => Err(m.error(
                        v.span(),
                        format!(
                            "`package.{field}` is inherited, but {} has no `workspace.package.{field}`",
                            self.inherited.root.path.display()
                        ),
                    )),
                }
            }
            _ => Err(m.error(
                v.span(),
                format!("`package.{field}` must be a string or `{{ workspace = true }}`"),
            )),
        }
    }

    fn decl(
        &self,
        m: &Manifest,
        dir: &Path,
        key: &str,
        value: &Spanned<Value>,
        kind: DeclKind,
    ) -> Result<Decl, SbomError> {
        let (line, column) = line_col(&m.text, value.span().start);
        let bad = |what: &str| m.error(value.span(), format!("dependency `{key}`: {what}"));
        let (spec, base, from) = match value.get_ref() {
            Value::Table(t) if t.get("workspace") == Some(&Value::Boolean(true)) => {
                let Some(w) = self
                    .inherited
                    .workspace()
                    .and_then(|w| w.dependencies.get(key))
                else {
                    return Err(bad(&format!(
                        "inherited (`workspace = true`), but {} has no `workspace.dependencies.{key}`",
                        self.inherited.root.path.display()
                    )));
                };
                (w, self.inherited.root_dir, self.inherited.root)
            }
            _ => (value, dir, m),
        };
        let bad_in = |what: &str| from.error(spec.span(), format!("dependency `{key}`: {what}"));
        let mut decl = Decl {
            key: key.to_string(),
            package: key.to_string(),
            kind,
            req: None,
            path: None,
            line,
            column,
        };
        match spec.get_ref() {
            Value::String(req) => decl.req = semver::VersionReq::parse(req).ok(),
            Value::Table(t) => {
                let text = |field: &str| match t.get(field) {
                    None => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(bad_in(&format!("`{field}` must be a string"))),
                };
                if let Some(p) = text("package")? {
                    decl.package = p.to_string();
                }
                decl.req = text("version")?.and_then(|r| semver::VersionReq::parse(r).ok());
                decl.path = text("path")?.map(|p| normalize(&base.join(p)));
            }
            _ => return Err(bad_in("must be a version string or a table")),
        }
        Ok(decl)
    }

    /// Loads every path dependency the loaded crates reach (and the root's `[patch]` and
    /// `[replace]` path crates) that is not loaded yet: non-member local crates, for licences.
    fn local_path_deps(&mut self) -> Result<(), SbomError> {
        let root = self.inherited.root;
        let root_dir = self.inherited.root_dir;
        let mut pending: Vec<(PathBuf, Option<(usize, usize)>)> = Vec::new();
        for (key, value) in root.raw.patch.values().flatten().chain(&root.raw.replace) {
            if let Value::Table(t) = value.get_ref()
                && let Some(Value::String(p)) = t.get("path")
            {
                let manifest = normalize(&root_dir.join(p)).join("Cargo.toml");
                if !fs_path(&manifest).is_file() {
                    return Err(
                        root.error(value.span(), format!("patch `{key}`: no Cargo.toml in {p}"))
                    );
                }
                pending.push((manifest, None));
            }
        }
        let mut next = 0;
        loop {
            while next < self.crates.len() {
                for (d, decl) in self.crates[next].deps.iter().enumerate() {
                    if let Some(p) = &decl.path {
                        pending.push((p.join("Cargo.toml"), Some((next, d))));
                    }
                }
                next += 1;
            }
            let Some((manifest, from)) = pending.pop() else {
                break;
            };
            if self.loaded.contains_key(&manifest) {
                continue;
            }
            self.load_crate(&manifest, from)?;
        }
        Ok(())
    }
}

/// Expands one `members` entry relative to `root` as cargo's glob does: the sorted folders it
/// matches; a pattern that matches nothing is the literal path (cargo then fails to find its
/// Cargo.toml). Files among the matches are skipped.
pub(super) fn expand(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let literal = normalize(&root.join(pattern));
    if !pattern.split('/').any(has_glob) {
        return Ok(
            if fs_path(&literal).exists() && !fs_path(&literal).is_dir() {
                Vec::new()
            } else {
                vec![literal]
            },
        );
    }
    let mut current = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        root.to_path_buf()
    }];
    let mut visited = 0usize;
    for comp in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let mut next = Vec::new();
        if comp == "**" {
            for base in &current {
                let mut stack = vec![(base.clone(), 0usize)];
                while let Some((dir, depth)) = stack.pop() {
                    visited += 1;
                    if visited > MAX_GLOB_WALK {
                        return Err(format!("`**` visits more than {MAX_GLOB_WALK} folders"));
                    }
                    next.push(dir.clone());
                    if depth >= MAX_GLOB_DEPTH {
                        continue;
                    }
                    for (name, is_dir) in entries(&dir) {
                        if is_dir {
                            stack.push((dir.join(name), depth + 1));
                        }
                    }
                }
            }
        } else if !has_glob(comp) {
            next.extend(
                current
                    .iter()
                    .map(|d| d.join(comp))
                    .filter(|p| fs_path(p).exists()),
            );
        } else {
            let matcher = globset::GlobBuilder::new(comp)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("not a glob pattern: {}", e.kind()))?
                .compile_matcher();
            for dir in &current {
                for (name, _) in entries(dir) {
                    if matcher.is_match(&name) {
                        next.push(dir.join(name));
                    }
                }
            }
        }
        current = next;
    }
    let mut found: Vec<PathBuf> = current.iter().map(|p| normalize(p)).collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Ok(vec![literal]);
    }
    found.retain(|p| fs_path(p).is_dir());
    Ok(found)
}

/// The entries of a folder (name, is a folder, following symlinks), sorted; none when unreadable.
fn entries(dir: &Path) -> Vec<(String, bool)> {
    let Ok(rd) = std::fs::read_dir(fs_path(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, bool)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.path().is_dir();
            Some((name, is_dir))
        })
        .collect();
    out.sort();
    out
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// `.` and `..` resolved lexically, as cargo's `normalize_path` does; the empty path is the
/// current folder.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(
                    out.components().next_back(),
                    Some(Component::RootDir | Component::Prefix(_))
                ) {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The path to hand the file system: the empty path is `.`.
fn fs_path(p: &Path) -> &Path {
    if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    }
}

/// `to` relative to `from` (both normalized, both absolute or both relative to the same folder),
/// `/`-separated: `crates/core`, `../fork`.
pub(super) fn relative(from: &Path, to: &Path) -> String {
    let f: Vec<Component<'_>> = from.components().collect();
    let t: Vec<Component<'_>> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); f.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_relative() {
        assert_eq!(normalize(Path::new("./a/b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("a/../../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("/a/../../x")), PathBuf::from("/x"));
        assert_eq!(normalize(Path::new(".")), PathBuf::from(""));
        assert_eq!(
            relative(Path::new("w"), Path::new("w/crates/a")),
            "crates/a"
        );
        assert_eq!(relative(Path::new("/w/x"), Path::new("/w/fork")), "../fork");
        assert_eq!(relative(Path::new(""), Path::new("")), ".");
    }

    #[test]
    fn globs_expand_like_cargo() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        for d in [
            "crates/b",
            "crates/a",
            "crates/.hidden",
            "deep/x/y/z",
            "deep/x/w",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join("crates/README.md"), "").expect("write");
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter().map(|p| relative(root, p)).collect::<Vec<String>>()
        };
        assert_eq!(
            rel(expand(root, "crates/*").expect("ok")),
            ["crates/.hidden", "crates/a", "crates/b"]
        );
        assert_eq!(
            rel(expand(root, "crates/[ab]").expect("ok")),
            ["crates/a", "crates/b"]
        );
        assert_eq!(rel(expand(root, "deep/**/z").expect("ok")), ["deep/x/y/z"]);
        assert_eq!(rel(expand(root, "nothing/*").expect("ok")), ["nothing/*"]);
        assert_eq!(
            rel(expand(root, "crates/README.md").expect("ok")),
            Vec::<String>::new()
        );
        assert_eq!(rel(expand(root, "./crates/a/").expect("ok")), ["crates/a"]);
        assert!(expand(root, "crates/[a").is_err());
    }
}
