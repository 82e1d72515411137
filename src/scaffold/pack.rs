//! Template packs: where starter apps come from.
//!
//! A pack is a directory:
//! ```text
//! <pack>/
//!   pack.yaml            # name, version (semver), description
//!   <template-id>/       # a template: template.yaml (kind, stack, description, include) + files/
//!   _<layer>/files/      # a layer shared by templates that list it in `include`
//! ```
//! Directories starting with `_` or `.` are not templates. A symlink anywhere in a pack is
//! refused (it could point outside the pack, or make the render write outside the app).
//!
//! Sources ([`Spec`]): the built-in pack embedded from `templates/`; a local directory; or a git
//! repository (a local path or a URL) whose tags `v<version>` mark released versions, where
//! `SOURCE@v1.2.0` picks a tag and a bare URL takes the highest released version. Git goes
//! through the `git` command, once per run, into a temporary directory (see [`fetch_git`]).

use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{Dir, DirEntry, include_dir};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::model::manifest::{Kind, Stack};
use crate::scaffold::render::{Layer, SourceFile};

/// The built-in pack.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

include!(concat!(env!("OUT_DIR"), "/builtin_digests.rs"));

/// The SHA-256 (hex) of `bytes`: for the contents of a built-in pack file, taken from
/// [`BUILTIN_DIGESTS`] (computed by `build.rs` from the files the binary embeds); for anything
/// else, computed.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    match built_digest(bytes) {
        Some(d) => d.to_string(),
        None => crate::support::hash::sha256_hex(bytes),
    }
}

/// The build-time digest of `bytes` when they are a built-in pack file's embedded contents
/// (found by their address and length: a copy of them is not).
fn built_digest(bytes: &[u8]) -> Option<&'static str> {
    builtin_index()
        .digests
        .get(&(bytes.as_ptr() as usize, bytes.len()))
        .copied()
}

/// The built-in pack's embedded entries, indexed once per process in one walk.
struct BuiltinIndex {
    /// By path (`webhook-node/template.yaml`).
    entries: std::collections::HashMap<&'static str, &'static DirEntry<'static>>,
    /// Each file's build-time digest, by the address and length of its contents.
    digests: std::collections::HashMap<(usize, usize), &'static str>,
}

fn builtin_index() -> &'static BuiltinIndex {
    static INDEX: std::sync::OnceLock<BuiltinIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        fn walk(entries: &'static [DirEntry<'static>], out: &mut BuiltinIndex) {
            for e in entries {
                let Some(path) = e.path().to_str() else {
                    continue;
                };
                out.entries.insert(path, e);
                match e {
                    DirEntry::Dir(d) => walk(d.entries(), out),
                    DirEntry::File(f) => {
                        if let Ok(i) = BUILTIN_DIGESTS.binary_search_by(|(p, _)| (*p).cmp(path)) {
                            let c = f.contents();
                            out.digests
                                .insert((c.as_ptr() as usize, c.len()), BUILTIN_DIGESTS[i].1);
                        }
                    }
                }
            }
        }
        let mut out = BuiltinIndex {
            entries: Default::default(),
            digests: Default::default(),
        };
        walk(BUILTIN.entries(), &mut out);
        out
    })
}

/// The entry at `rel` (a `/`-separated path) of an embedded tree. include_dir's own lookup
/// searches the whole tree, comparing paths component by component, on every call: the thirty
/// lookups of loading the built-in pack were 2% of `levee new`. The built-in pack's entries are
/// indexed by path once; a path not written plainly (`a//b`, `./a`, `a/`) and other trees use
/// include_dir's lookup.
fn embedded_entry(root: &'static Dir<'static>, rel: &str) -> Option<&'static DirEntry<'static>> {
    let plain = !rel.is_empty()
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    if !plain || !std::ptr::eq(root, &BUILTIN) {
        return root.get_entry(rel);
    }
    builtin_index().entries.get(rel).copied()
}

fn embedded_file(
    root: &'static Dir<'static>,
    rel: &str,
) -> Option<&'static include_dir::File<'static>> {
    embedded_entry(root, rel).and_then(DirEntry::as_file)
}

fn embedded_dir(root: &'static Dir<'static>, rel: &str) -> Option<&'static Dir<'static>> {
    embedded_entry(root, rel).and_then(DirEntry::as_dir)
}

/// Earlier built-in pack versions, as deltas against `templates/` (see
/// `templates-archive/README.md` and [`archived`]).
static BUILTIN_ARCHIVE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates-archive");

/// The file in an archived version's directory that lists the current pack's paths the version
/// did not have.
pub const ARCHIVE_ABSENT: &str = "ABSENT";

/// The name levee records for the built-in pack's source.
pub const BUILTIN_SOURCE: &str = "builtin";

/// `pack.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    pub name: String,
    /// Semver (`1.2.0`).
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// The kinds of app the pack's templates are (`scheduled-job: {description: …}`), beyond or
    /// instead of the built-in pack's ([`crate::load::declarations`]).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub kinds: IndexMap<String, crate::load::declarations::KindSpec>,
    /// The language stacks of the pack's templates (`go: {description, image, build, …}`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub stacks: IndexMap<String, crate::load::declarations::StackSpec>,
}

/// `template.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateMeta {
    pub kind: Kind,
    pub stack: Stack,
    #[serde(default)]
    pub description: String,
    /// Layers rendered before the template's own files, in order.
    #[serde(default)]
    pub include: Vec<String>,
    /// Secrets the starter app cannot run without (`SESSION_SECRET`); `levee new` adds any the
    /// answers do not list, in the store the org prefers for the app's classification and tier.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// The app needs an approver group (a form): `levee new` adds `<name>-approvers` to the SSO
    /// groups when none of them names approvers.
    #[serde(default)]
    pub approver_group: bool,
    /// The non-secret settings the starter code reads from its environment, by name
    /// (`DOWNSTREAM_URL`): `levee new` asks for each (`--setting NAME=VALUE`) and writes them to
    /// app.yaml's `settings`, which `deploy/` passes to the app as environment variables.
    #[serde(default)]
    pub settings: IndexMap<String, SettingSpec>,
}

/// A setting a template's code reads (`template.yaml` `settings:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingSpec {
    /// What the setting is, in one sentence a non-developer understands (the wizard shows it).
    pub description: String,
    /// The app refuses to start without it when deployed: `levee new` requires a value.
    #[serde(default)]
    pub required: bool,
    /// An example value (the wizard and the missing-flag error show it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// A template of a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub id: String,
    #[serde(flatten)]
    pub meta: TemplateMeta,
}

/// Where a pack comes from, as the user wrote it (`--templates`, `LEVEE_TEMPLATES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Builtin,
    Dir(PathBuf),
    Git { repo: String, tag: Option<String> },
}

impl Spec {
    /// Reads a SOURCE: `builtin`; `REPO@vX.Y.Z` (a git tag); a URL (`https://`, `ssh://`,
    /// `file://`, `git@host:path`) is a git repository; a local directory that is a git checkout
    /// (it has a `.git`) is a git repository too, read like `file://` (its `v<version>` tags are
    /// its versions); any other local directory is a single-version directory pack.
    pub(crate) fn parse(source: &str) -> Spec {
        if source == BUILTIN_SOURCE {
            return Spec::Builtin;
        }
        if let Some((repo, tag)) = source.rsplit_once('@')
            && is_version_tag(tag)
            && !repo.is_empty()
        {
            return Spec::Git {
                repo: repo.to_string(),
                tag: Some(tag.to_string()),
            };
        }
        let url = source.contains("://")
            || (source.starts_with("git@") && source.contains(':'))
            || source.ends_with(".git");
        if url || is_local_repo(source) {
            Spec::Git {
                repo: source.to_string(),
                tag: None,
            }
        } else {
            Spec::Dir(PathBuf::from(source))
        }
    }
}

/// How a git pack's repository is recorded in `.levee/` and `app.yaml`: a URL as given; a local
/// path made absolute, so `levee upgrade` finds it from any working directory (a path relative to
/// where `levee new` ran would resolve against wherever the upgrade runs). For a fleet, prefer a
/// URL: an absolute local path only means something on the machine that has it.
fn recorded_repo(repo: &str) -> String {
    let url = repo.contains("://") || (repo.starts_with("git@") && repo.contains(':'));
    if url || Path::new(repo).is_absolute() {
        return repo.to_string();
    }
    std::fs::canonicalize(repo)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| repo.to_string())
}

/// Is `source` a local directory at the top of a git checkout (a `.git` directory, or the `.git`
/// file of a linked worktree)?
fn is_local_repo(source: &str) -> bool {
    let url = source.contains("://") || (source.starts_with("git@") && source.contains(':'));
    let dir = Path::new(source);
    !url && dir.is_dir()
        && std::fs::symlink_metadata(dir.join(".git")).is_ok_and(|m| m.is_dir() || m.is_file())
}

/// What git is given for a repository: a local checkout as a `file://` URL (so a shallow clone
/// is one, as for any remote), anything else as written.
fn git_location(repo: &str) -> String {
    if is_local_repo(repo)
        && let Ok(abs) = std::fs::canonicalize(repo)
        && let Some(s) = abs.to_str()
    {
        return format!("file://{s}");
    }
    repo.to_string()
}

fn is_version_tag(tag: &str) -> bool {
    tag.strip_prefix('v')
        .is_some_and(|v| semver::Version::parse(v).is_ok())
}

/// Where a loaded pack came from, resolved (recorded in `.levee/` and `app.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    Dir(PathBuf),
    Git { repo: String, tag: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str(BUILTIN_SOURCE),
            Origin::Dir(p) => write!(f, "{}", p.display()),
            Origin::Git { repo, tag } => write!(f, "{repo}@{tag}"),
        }
    }
}

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("the template pack {0} does not exist or is not a directory")]
    NotFound(String),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("the template pack contains a symlink, which levee refuses: {0}")]
    Symlink(String),
    #[error(
        "the template pack contains `{0}`; levee refuses `.git` in a pack (it would be copied into \
         every app, where git runs its hooks and config)"
    )]
    GitDir(String),
    #[error(
        "the template pack contains {what}, which levee refuses (only files and directories): {path}"
    )]
    Special { path: String, what: &'static str },
    #[error("git {action} failed for {repo}: {message}")]
    Git {
        action: &'static str,
        repo: String,
        message: String,
    },
    #[error("the pack has no template `{id}`; it offers: {available}")]
    NoTemplate { id: String, available: String },
}

/// The files of a pack, wherever they are.
#[derive(Debug)]
enum Tree {
    Embedded(&'static Dir<'static>),
    /// An archived built-in version or a git tag, read into memory: path (`/`-separated) ->
    /// bytes, and the paths that are executable.
    Memory(
        std::collections::BTreeMap<String, bytes::Bytes>,
        std::collections::BTreeSet<String>,
    ),
    Disk {
        root: PathBuf,
        /// Keeps a git checkout alive for the run.
        _tmp: Option<tempfile::TempDir>,
    },
}

/// A loaded pack.
#[derive(Debug)]
pub struct Pack {
    pub meta: PackMeta,
    pub version: semver::Version,
    pub origin: Origin,
    pub templates: Vec<Template>,
    /// The kinds and stacks the pack declares, over the built-in pack's.
    pub declared: crate::load::declarations::Declarations,
    tree: Tree,
}

/// Loads a pack from a SOURCE (`None`: the built-in pack).
pub fn load(source: Option<&str>) -> Result<Pack, PackError> {
    match source.map(Spec::parse).unwrap_or(Spec::Builtin) {
        Spec::Builtin => builtin(),
        Spec::Dir(path) => {
            if !path.is_dir() {
                return Err(PackError::NotFound(path.display().to_string()));
            }
            let root = std::path::absolute(&path).unwrap_or(path);
            from_disk(root.clone(), None, Origin::Dir(root))
        }
        Spec::Git { repo, tag } => fetch_git(&repo, tag.as_deref()),
    }
}

/// The built-in pack.
pub fn builtin() -> Result<Pack, PackError> {
    let tree = Tree::Embedded(&BUILTIN);
    finish(tree, Origin::Builtin)
}

/// The built-in pack at `version`: the current one, or an earlier version this binary shipped,
/// rebuilt from `templates-archive/` (what `levee upgrade` needs to rebuild an app's merge base).
pub fn builtin_at(version: &str) -> Result<Pack, PackError> {
    let current = builtin()?;
    if current.version.to_string() == version {
        return Ok(current);
    }
    archived(&BUILTIN, &BUILTIN_ARCHIVE, version)
}

/// Every built-in version this binary can rebuild, oldest first.
pub fn builtin_versions() -> Vec<semver::Version> {
    let mut out: Vec<semver::Version> = BUILTIN_ARCHIVE
        .dirs()
        .filter_map(|d| semver::Version::parse(d.path().file_name()?.to_str()?).ok())
        .collect();
    if let Ok(p) = builtin() {
        out.push(p.version);
    }
    out.sort();
    out.dedup();
    out
}

/// Rebuilds an earlier version of a pack from the current tree and an archive of deltas:
/// `archive/<version>/` holds every file whose bytes at `version` differ from `current` (same
/// relative path, `pack.yaml` included), and an optional `ABSENT` file lists, one per line, the
/// current paths that `version` did not have. The version = current - ABSENT + the delta files.
///
/// Deltas are taken against the current tree (not chained version to version), so rebuilding any
/// version is one step; `scripts/archive-builtin.sh` rebases every delta when the pack is bumped.
pub fn archived(
    current: &'static Dir<'static>,
    archive: &'static Dir<'static>,
    version: &str,
) -> Result<Pack, PackError> {
    let Some(delta) = archive.get_dir(version) else {
        let known: Vec<String> = archive
            .dirs()
            .filter_map(|d| Some(d.path().file_name()?.to_str()?.to_string()))
            .collect();
        return Err(PackError::Invalid {
            file: format!("built-in pack version {version}"),
            message: format!(
                "this levee cannot rebuild it (it has the current version and archived versions: {}); \
                 upgrade with the levee release that is at least as new as the app's template",
                list_or_none(known.iter().map(String::as_str))
            ),
        });
    };
    let mut files = std::collections::BTreeMap::new();
    let mut all = Vec::new();
    collect_embedded(current, current.path(), &mut all);
    for f in all {
        files.insert(f.path, f.bytes);
    }
    let absent_file = format!("{version}/{ARCHIVE_ABSENT}");
    if let Some(absent) = archive.get_file(&absent_file) {
        for line in String::from_utf8_lossy(absent.contents()).lines() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                files.remove(line);
            }
        }
    }
    let mut deltas = Vec::new();
    collect_embedded(delta, delta.path(), &mut deltas);
    for f in deltas {
        if f.path != ARCHIVE_ABSENT {
            files.insert(f.path, f.bytes);
        }
    }
    let pack = finish(Tree::Memory(files, Default::default()), Origin::Builtin)?;
    if pack.version.to_string() != version {
        return Err(PackError::Invalid {
            file: format!("templates-archive/{version}/pack.yaml"),
            message: format!("says version {}, expected {version}", pack.version),
        });
    }
    Ok(pack)
}

/// Opens a pack checked out in a directory (a git worktree of one tag, for instance).
pub(crate) fn open_dir(root: PathBuf, origin: Origin) -> Result<Pack, PackError> {
    from_disk(root, None, origin)
}

fn from_disk(
    root: PathBuf,
    tmp: Option<tempfile::TempDir>,
    origin: Origin,
) -> Result<Pack, PackError> {
    refuse_symlinks(&root, &root)?;
    finish(Tree::Disk { root, _tmp: tmp }, origin)
}

fn finish(tree: Tree, origin: Origin) -> Result<Pack, PackError> {
    let meta: PackMeta = parse_meta(&tree, "pack.yaml")?;
    let version = semver::Version::parse(&meta.version).map_err(|e| PackError::Invalid {
        file: "pack.yaml".into(),
        message: format!("`version: {}` is not a semver version: {e}", meta.version),
    })?;
    let own = crate::load::declarations::Declarations {
        kinds: meta.kinds.clone(),
        stacks: meta.stacks.clone(),
    };
    if let Some(p) = own.problem() {
        return Err(PackError::Invalid {
            file: "pack.yaml".into(),
            message: p.to_string(),
        });
    }
    let declared = crate::load::declarations::Declarations::over_builtin(&own);
    let mut templates = Vec::new();
    for id in tree.dirs()? {
        if id.starts_with('_') || id.starts_with('.') {
            continue;
        }
        let file = format!("{id}/template.yaml");
        if !tree.exists(&file) {
            return Err(PackError::Invalid {
                file: format!("{id}/"),
                message: "a template directory needs a template.yaml (kind, stack, description); \
                          name shared layers with a leading `_`"
                    .into(),
            });
        }
        let meta: TemplateMeta = parse_meta(&tree, &file)?;
        check_settings(&file, &meta)?;
        for (what, name, names) in [
            ("kind", meta.kind.as_str(), declared.kind_names()),
            ("stack", meta.stack.as_str(), declared.stack_names()),
        ] {
            if !names.iter().any(|n| n == name) {
                return Err(PackError::Invalid {
                    file,
                    message: format!(
                        "`{what}: {name}` is not a {what} the pack declares (it has: {}); declare it in pack.yaml `{what}s:`",
                        names.join(", ")
                    ),
                });
            }
        }
        for layer in &meta.include {
            if !is_plain_name(layer) || !tree.is_dir(&format!("{layer}/files")) {
                return Err(PackError::Invalid {
                    file,
                    message: format!("`include: {layer}` names no layer directory with files/"),
                });
            }
        }
        templates.push(Template { id, meta });
    }
    templates.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Pack {
        meta,
        version,
        origin,
        templates,
        declared,
        tree,
    })
}

/// A template's declared settings follow the rules of app.yaml's `settings` (a hostile pack
/// cannot make `levee new` write `NODE_OPTIONS` or a credential into an app's settings).
fn check_settings(file: &str, meta: &TemplateMeta) -> Result<(), PackError> {
    match declarations_problem(&meta.settings) {
        Some(message) => Err(PackError::Invalid {
            file: file.to_string(),
            message,
        }),
        None => Ok(()),
    }
}

/// What is wrong with a template's declared settings (`template.yaml` `settings:`, or their copy
/// in an app's `.levee/` record), if anything.
pub(crate) fn declarations_problem(settings: &IndexMap<String, SettingSpec>) -> Option<String> {
    if settings.len() > crate::model::settings::MAX_SETTINGS {
        return Some(format!(
            "`settings` declares {} settings; the most is {}",
            settings.len(),
            crate::model::settings::MAX_SETTINGS
        ));
    }
    for (name, spec) in settings {
        if let Some(p) = crate::model::settings::name_problem(name) {
            return Some(format!("`settings`: {} ({})", p.message, p.hint));
        }
        if spec.description.trim().is_empty()
            || spec.description.chars().count() > 500
            || spec.description.chars().any(char::is_control)
        {
            return Some(format!(
                "`settings.{name}.description` must be one line of at most 500 characters saying what the setting is"
            ));
        }
        if let Some(p) = spec
            .example
            .as_deref()
            .and_then(crate::model::settings::value_problem)
        {
            return Some(format!(
                "`settings.{name}.example`: {} ({})",
                p.message, p.hint
            ));
        }
    }
    None
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains(['/', '\\'])
}

/// A metadata file of the pack: for the built-in pack's own files, the value parsed when levee
/// was built ([`crate::load::builtin_meta`]); otherwise, and for a built-in file edited since,
/// the file parsed.
fn parse_meta<T: serde::de::DeserializeOwned>(tree: &Tree, file: &str) -> Result<T, PackError> {
    if let Tree::Embedded(dir) = tree
        && std::ptr::eq(*dir, &BUILTIN)
        && let Some(f) = embedded_file(dir, file)
        && let Some(value) = crate::load::builtin_meta::parsed(file, f.contents())
    {
        return Ok(value);
    }
    parse_yaml(tree, file)
}

fn parse_yaml<T: serde::de::DeserializeOwned>(tree: &Tree, file: &str) -> Result<T, PackError> {
    let bytes = tree.read(file)?.ok_or_else(|| PackError::Invalid {
        file: file.into(),
        message: "missing".into(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| PackError::Invalid {
        file: file.into(),
        message: "not UTF-8 text".into(),
    })?;
    serde_norway::from_str(&text).map_err(|e| PackError::Invalid {
        file: file.into(),
        message: e.to_string(),
    })
}

impl Tree {
    fn dirs(&self) -> Result<Vec<String>, PackError> {
        match self {
            Tree::Embedded(dir) => Ok(dir
                .dirs()
                .filter_map(|d| d.path().file_name()?.to_str().map(str::to_string))
                .collect()),
            Tree::Memory(files, _) => {
                let mut out: Vec<String> = files
                    .keys()
                    .filter_map(|k| k.split_once('/').map(|(d, _)| d.to_string()))
                    .collect();
                out.dedup();
                Ok(out)
            }
            Tree::Disk { root, .. } => {
                let mut out = Vec::new();
                for entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
                    let entry = entry.map_err(|e| io(root, e))?;
                    if entry.file_type().map_err(|e| io(root, e))?.is_dir() {
                        out.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                Ok(out)
            }
        }
    }

    fn exists(&self, rel: &str) -> bool {
        match self {
            Tree::Embedded(dir) => embedded_file(dir, rel).is_some(),
            Tree::Memory(files, _) => files.contains_key(rel),
            Tree::Disk { root, .. } => root.join(rel).is_file(),
        }
    }

    fn is_dir(&self, rel: &str) -> bool {
        match self {
            Tree::Embedded(dir) => embedded_dir(dir, rel).is_some(),
            Tree::Memory(files, _) => {
                let prefix = format!("{rel}/");
                files
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&prefix))
            }
            Tree::Disk { root, .. } => root.join(rel).is_dir(),
        }
    }

    fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, PackError> {
        match self {
            Tree::Embedded(dir) => Ok(embedded_file(dir, rel).map(|f| f.contents().to_vec())),
            Tree::Memory(files, _) => Ok(files.get(rel).map(|b| b.to_vec())),
            Tree::Disk { root, .. } => {
                let path = root.join(rel);
                match crate::support::input::read(&path, MAX_FILE_BYTES) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(io(&path, e)),
                }
            }
        }
    }

    /// Every file under `rel` (a `files/` directory), paths relative to it, sorted.
    fn files_under(&self, rel: &str) -> Result<Vec<SourceFile>, PackError> {
        let mut out = Vec::new();
        match self {
            Tree::Embedded(root) => {
                if let Some(dir) = embedded_dir(root, rel) {
                    collect_embedded(dir, dir.path(), &mut out);
                }
            }
            Tree::Memory(files, executable) => {
                let prefix = format!("{rel}/");
                for (k, bytes) in files.range(prefix.clone()..) {
                    let Some(path) = k.strip_prefix(&prefix) else {
                        break;
                    };
                    out.push(SourceFile {
                        path: path.to_string(),
                        bytes: bytes.clone(),
                        executable: executable.contains(k),
                    });
                }
            }
            Tree::Disk { root, .. } => {
                let base = root.join(rel);
                if base.is_dir() {
                    collect_disk(&base, &base, &mut out)?;
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

fn collect_embedded(dir: &Dir<'static>, base: &Path, out: &mut Vec<SourceFile>) {
    for f in dir.files() {
        let rel = f.path().strip_prefix(base).unwrap_or(f.path());
        out.push(SourceFile {
            path: slash_path(rel),
            bytes: bytes::Bytes::from_static(f.contents()),
            executable: false,
        });
    }
    for d in dir.dirs() {
        collect_embedded(d, base, out);
    }
}

fn collect_disk(dir: &Path, base: &Path, out: &mut Vec<SourceFile>) -> Result<(), PackError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        if meta.file_type().is_symlink() {
            return Err(PackError::Symlink(path.display().to_string()));
        } else if meta.is_dir() {
            collect_disk(&path, base, out)?;
        } else {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            out.push(SourceFile {
                path: slash_path(rel),
                bytes: crate::support::input::read(&path, MAX_FILE_BYTES)
                    .map_err(|e| io(&path, e))?
                    .into(),
                executable: is_executable(&meta),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

fn slash_path(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Refuses any symlink, special file (a named pipe, a device) or `.git` (any case, also as
/// NTFS and HFS+ spell it) in the pack. The `.git` directory at the root of a checked-out pack
/// is the checkout's, not the pack's: it is skipped, never read.
fn refuse_symlinks(dir: &Path, root: &Path) -> Result<(), PackError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let path = entry.path();
        if dir == root && entry.file_name() == ".git" {
            continue;
        }
        let shown = || {
            path.strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string()
        };
        if is_dotgit(&entry.file_name().to_string_lossy()) {
            return Err(PackError::GitDir(shown()));
        }
        let ft = entry.file_type().map_err(|e| io(&path, e))?;
        if ft.is_symlink() {
            return Err(PackError::Symlink(shown()));
        }
        if ft.is_dir() {
            refuse_symlinks(&path, root)?;
        } else if !ft.is_file() {
            return Err(PackError::Special {
                path: shown(),
                what: crate::support::input::describe(&ft),
            });
        }
    }
    Ok(())
}

/// Is this path segment `.git` as some filesystem would read it: any case, with trailing dots
/// or spaces (NTFS), with Unicode characters HFS+ ignores, or the NTFS short name `git~1`?
/// (The checks git itself makes on tree entries.)
pub(crate) fn is_dotgit(segment: &str) -> bool {
    let folded: String = segment
        .chars()
        .filter(|c| {
            !matches!(c,
                '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}')
        })
        .collect::<String>()
        .trim_end_matches(['.', ' '])
        .to_lowercase();
    folded == ".git" || folded == "git~1"
}

/// The largest file a pack may hold.
const MAX_FILE_BYTES: u64 = 32 << 20;

fn io(path: &Path, source: std::io::Error) -> PackError {
    PackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Pack {
    /// A template by id.
    pub fn template(&self, id: &str) -> Result<&Template, PackError> {
        self.templates
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| PackError::NoTemplate {
                id: id.to_string(),
                available: self.template_ids(),
            })
    }

    /// The template ids, comma-separated (for messages).
    pub(crate) fn template_ids(&self) -> String {
        if self.templates.is_empty() {
            return "(none)".into();
        }
        self.templates
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The templates for a kind and stack.
    pub(crate) fn find(&self, kind: Option<&Kind>, stack: Option<&Stack>) -> Vec<&Template> {
        self.templates
            .iter()
            .filter(|t| kind.is_none_or(|k| t.meta.kind == *k))
            .filter(|t| stack.is_none_or(|s| t.meta.stack == *s))
            .collect()
    }

    /// The declarations `levee new` records in an app made from this pack: none for the built-in
    /// pack (its apps follow the running levee's), the pack's own otherwise.
    pub(crate) fn own_declarations(&self) -> Option<crate::load::declarations::Declarations> {
        (self.origin != Origin::Builtin).then(|| crate::load::declarations::Declarations {
            kinds: self.meta.kinds.clone(),
            stacks: self.meta.stacks.clone(),
        })
    }

    /// The kinds the pack's templates are, in declaration order, with their declarations.
    pub(crate) fn kinds_offered(&self) -> Vec<(&str, &crate::load::declarations::KindSpec)> {
        self.declared
            .kinds
            .iter()
            .filter(|(k, _)| self.templates.iter().any(|t| t.meta.kind.as_str() == *k))
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }

    /// The stacks the pack's templates use, in declaration order, with their declarations.
    pub(crate) fn stacks_offered(&self) -> Vec<(&str, &crate::load::declarations::StackSpec)> {
        self.declared
            .stacks
            .iter()
            .filter(|(k, _)| self.templates.iter().any(|t| t.meta.stack.as_str() == *k))
            .map(|(k, v)| (k.as_str(), v))
            .collect()
    }

    /// The layers to render for a template: its includes in order, then its own files.
    pub fn layers(&self, template: &Template) -> Result<Vec<Layer>, PackError> {
        let mut layers = Vec::new();
        for name in &template.meta.include {
            layers.push(Layer {
                name: name.clone(),
                files: self.tree.files_under(&format!("{name}/files"))?,
            });
        }
        layers.push(Layer {
            name: template.id.clone(),
            files: self.tree.files_under(&format!("{}/files", template.id))?,
        });
        Ok(layers)
    }
}

/// Fetches a git pack: lists the repository's tags with `git ls-remote`, picks `tag` (or the
/// highest released `v<semver>`), and makes a shallow clone of that tag into a temporary
/// directory that lives as long as the pack.
///
/// Why the `git` command rather than a crate: it speaks every transport and uses the
/// credentials the user already has (ssh agent, credential helpers, proxies), and adds no
/// libgit2/OpenSSL or gitoxide build to levee for an operation done once per run.
pub(crate) fn fetch_git(repo: &str, tag: Option<&str>) -> Result<Pack, PackError> {
    let git_err = |action: &'static str, message: String| PackError::Git {
        action,
        repo: repo.to_string(),
        message,
    };
    let location = git_location(repo);
    let listing =
        crate::support::git::git(&["ls-remote", "--tags", "--refs", "--", &location], None)
            .map_err(|m| git_err("ls-remote", m))?;
    let mut versions: Vec<(semver::Version, String)> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.strip_prefix("refs/tags/"))
        .filter_map(|t| {
            Some((
                semver::Version::parse(t.strip_prefix('v')?).ok()?,
                t.to_string(),
            ))
        })
        .collect();
    versions.sort();
    let chosen = match tag {
        Some(t) => {
            if !versions.iter().any(|(_, name)| name == t) {
                return Err(git_err(
                    "tag lookup",
                    format!(
                        "no tag `{t}`; released versions: {}",
                        list_or_none(versions.iter().map(|(_, n)| n.as_str()))
                    ),
                ));
            }
            t.to_string()
        }
        None => versions
            .iter()
            .rev()
            .find(|(v, _)| v.pre.is_empty())
            .or(versions.last())
            .map(|(_, n)| n.clone())
            .ok_or_else(|| {
                git_err(
                    "tag lookup",
                    if is_local_repo(repo) {
                        "the git checkout has no `v<version>` tags, and a git checkout is read by \
                         its tags (not its working files): commit the pack and tag the release \
                         `v<pack.yaml version>` (`git tag v1.0.0`)"
                            .into()
                    } else {
                        "the repository has no `v<version>` tags; tag a release (`git tag v1.0.0`) \
                         or pass a local directory that is not a git checkout"
                            .into()
                    },
                )
            })?,
    };
    let tmp = tempfile::Builder::new()
        .prefix("levee-pack-")
        .tempdir()
        .map_err(|e| io(&std::env::temp_dir(), e))?;
    let dest = tmp.path().join("pack");
    let dest_str = dest.to_string_lossy().into_owned();
    crate::support::git::git(
        &[
            "-c",
            "advice.detachedHead=false",
            "clone",
            "--quiet",
            "--depth",
            "1",
            "--branch",
            &chosen,
            "--",
            &location,
            &dest_str,
        ],
        None,
    )
    .map_err(|m| git_err("clone", m))?;
    let pack = from_disk(
        dest,
        Some(tmp),
        Origin::Git {
            repo: recorded_repo(repo),
            tag: chosen.clone(),
        },
    )?;
    if format!("v{}", pack.version) != chosen {
        return Err(PackError::Invalid {
            file: format!("pack.yaml at tag {chosen}"),
            message: format!(
                "says version {}, but the tag is {chosen}; tag releases `v<pack.yaml version>`",
                pack.version
            ),
        });
    }
    Ok(pack)
}

/// A git pack prepared once per run for several versions (`levee upgrade` needs each app's
/// recorded version and the target). A local repository is read in place, read-only; a remote
/// one is cloned (bare) once. A version's files are read straight from git objects into memory
/// (`git ls-tree` + `git cat-file --batch`: two processes per version, nothing checked out),
/// which is what keeps a one-app upgrade fast.
#[derive(Debug)]
pub struct GitVersions {
    pub repo: String,
    /// Released versions and their tags, oldest first.
    pub versions: Vec<(semver::Version, String)>,
    /// The repository git reads from (the local repo, or the bare clone).
    dir: PathBuf,
    /// Blobs already read, by object id: most files are the same in two versions.
    blobs: std::sync::Mutex<std::collections::HashMap<String, bytes::Bytes>>,
    _tmp: Option<tempfile::TempDir>,
}

impl GitVersions {
    /// Opens `repo` (a local path as it is, anything else cloned bare once) and lists its
    /// `v<semver>` tags.
    pub(crate) fn open(repo: &str) -> Result<GitVersions, PackError> {
        let git_err = |action: &'static str, message: String| PackError::Git {
            action,
            repo: repo.to_string(),
            message,
        };
        let local = Path::new(repo);
        let (dir, tmp) = if !repo.contains("://") && local.is_dir() {
            if !is_local_repo(repo) {
                // git would look for a repository above it (and find one that is not the pack's).
                return Err(git_err(
                    "open",
                    "it is a directory but not a git checkout (no `.git` at its top); pass it \
                     without `@v<version>` to use it as a single-version pack, or `git init` it \
                     and tag its releases `v<version>`"
                        .into(),
                ));
            }
            (local.to_path_buf(), None)
        } else {
            let tmp = tempfile::Builder::new()
                .prefix("levee-pack-")
                .tempdir()
                .map_err(|e| io(&std::env::temp_dir(), e))?;
            let bare = tmp.path().join("repo.git");
            let bare_str = bare.to_string_lossy().into_owned();
            crate::support::git::git(&["clone", "--quiet", "--bare", "--", repo, &bare_str], None)
                .map_err(|m| git_err("clone", m))?;
            (bare, Some(tmp))
        };
        let listing = crate::support::git::git(&["tag", "--list", "v*"], Some(&dir))
            .map_err(|m| git_err("tag --list", m))?;
        let mut versions: Vec<(semver::Version, String)> = listing
            .lines()
            .filter_map(|t| {
                let t = t.trim();
                Some((
                    semver::Version::parse(t.strip_prefix('v')?).ok()?,
                    t.to_string(),
                ))
            })
            .collect();
        versions.sort();
        Ok(GitVersions {
            repo: recorded_repo(repo),
            versions,
            dir,
            blobs: Default::default(),
            _tmp: tmp,
        })
    }

    /// The highest released version (a pre-release only when there is nothing else).
    pub(crate) fn latest(&self) -> Option<&semver::Version> {
        self.versions
            .iter()
            .rev()
            .find(|(v, _)| v.pre.is_empty())
            .or(self.versions.last())
            .map(|(v, _)| v)
    }

    /// Loads the pack at the tag of `version`, from git objects into memory.
    pub(crate) fn load(&self, version: &str) -> Result<Pack, PackError> {
        let tag = format!("v{version}");
        let git_err = |action: &'static str, message: String| PackError::Git {
            action,
            repo: self.repo.clone(),
            message,
        };
        if !self.versions.iter().any(|(_, t)| *t == tag) {
            return Err(git_err(
                "tag lookup",
                format!(
                    "no tag `{tag}`; released versions: {}",
                    list_or_none(self.versions.iter().map(|(_, n)| n.as_str()))
                ),
            ));
        }
        let listing = crate::support::git::git(
            &[
                "ls-tree",
                "-r",
                "-z",
                "--full-tree",
                &format!("{tag}^{{tree}}"),
            ],
            Some(&self.dir),
        )
        .map_err(|m| git_err("ls-tree", m))?;
        let mut entries: Vec<(String, String)> = Vec::new(); // (object id, path)
        let mut executable = std::collections::BTreeSet::new();
        for item in listing.split('\0').filter(|i| !i.is_empty()) {
            let Some((meta, path)) = item.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split_whitespace();
            let (mode, kind, id) = (parts.next(), parts.next(), parts.next());
            if mode == Some("120000") {
                return Err(PackError::Symlink(path.to_string()));
            }
            if path.split('/').any(is_dotgit) {
                return Err(PackError::GitDir(path.to_string()));
            }
            if mode == Some("100755") {
                executable.insert(path.to_string());
            }
            if let (Some("blob"), Some(id)) = (kind, id) {
                entries.push((id.to_string(), path.to_string()));
            }
        }
        let mut known = self
            .blobs
            .lock()
            .map_err(|_| git_err("cat-file", "a thread reading the pack panicked".into()))?;
        let missing: Vec<&str> = entries
            .iter()
            .map(|(id, _)| id.as_str())
            .filter(|id| !known.contains_key(*id))
            .collect();
        let read =
            cat_blobs(&self.dir, missing.iter().copied()).map_err(|m| git_err("cat-file", m))?;
        for (id, bytes) in missing.iter().zip(read) {
            known.insert((*id).to_string(), bytes::Bytes::from(bytes));
        }
        let files: std::collections::BTreeMap<String, bytes::Bytes> = entries
            .iter()
            .filter_map(|(id, p)| Some((p.clone(), known.get(id)?.clone())))
            .collect();
        drop(known);
        let pack = finish(
            Tree::Memory(files, executable),
            Origin::Git {
                repo: self.repo.clone(),
                tag: tag.clone(),
            },
        )?;
        if format!("v{}", pack.version) != tag {
            return Err(PackError::Invalid {
                file: format!("pack.yaml at tag {tag}"),
                message: format!(
                    "says version {}, but the tag is {tag}; tag releases `v<pack.yaml version>`",
                    pack.version
                ),
            });
        }
        Ok(pack)
    }
}

/// The contents of blobs, in order, through one `git cat-file --batch`.
fn cat_blobs<'a>(dir: &Path, ids: impl Iterator<Item = &'a str>) -> Result<Vec<Vec<u8>>, String> {
    let input: String = ids.map(|id| format!("{id}\n")).collect();
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let out = crate::support::git::run(
        &["cat-file", "--batch"],
        Some(dir),
        Some(input.into_bytes()),
    )?;
    if !out.status.success() {
        return Err(format!("git cat-file exited with {}", out.status));
    }
    let out = out.stdout;
    let mut blobs = Vec::new();
    let mut rest = out.as_slice();
    while !rest.is_empty() {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated cat-file output")?;
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unexpected cat-file header `{header}`"))?;
        let body = rest
            .get(nl + 1..nl + 1 + size)
            .ok_or("truncated cat-file output")?;
        blobs.push(body.to_vec());
        rest = rest.get(nl + 2 + size..).unwrap_or_default();
    }
    Ok(blobs)
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(Spec::parse("builtin"), Spec::Builtin);
        assert_eq!(
            Spec::parse("./packs/acme"),
            Spec::Dir("./packs/acme".into())
        );
        assert_eq!(
            Spec::parse("./packs/acme@v1.2.0"),
            Spec::Git {
                repo: "./packs/acme".into(),
                tag: Some("v1.2.0".into())
            }
        );
        assert_eq!(
            Spec::parse("git@github.com:acme/pack.git"),
            Spec::Git {
                repo: "git@github.com:acme/pack.git".into(),
                tag: None
            }
        );
        assert_eq!(
            Spec::parse("https://git.acme.corp/pack@v2.0.0-rc.1"),
            Spec::Git {
                repo: "https://git.acme.corp/pack".into(),
                tag: Some("v2.0.0-rc.1".into())
            }
        );
    }

    #[test]
    fn a_local_checkout_is_a_git_source_and_a_plain_directory_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("plain");
        let checkout = dir.path().join("checkout");
        std::fs::create_dir_all(&plain).expect("mkdir");
        std::fs::create_dir_all(checkout.join(".git")).expect("mkdir");
        let (plain, checkout) = (plain.to_string_lossy(), checkout.to_string_lossy());
        assert_eq!(Spec::parse(&plain), Spec::Dir(plain.as_ref().into()));
        assert_eq!(
            Spec::parse(&checkout),
            Spec::Git {
                repo: checkout.to_string(),
                tag: None
            }
        );
        assert!(git_location(&checkout).starts_with("file:///"));
        assert_eq!(
            git_location("https://git.acme.corp/pack"),
            "https://git.acme.corp/pack"
        );
    }

    /// `compiled/builtin-pack.json` holds the built-in pack's metadata files as the YAML parser
    /// reads them, and loading the pack takes them from it. `LEVEE_UPDATE_PACK=1` rewrites it.
    #[test]
    fn committed_builtin_pack_metadata_is_the_parsed_files() {
        use crate::load::builtin_meta::{Entry, TEXT, parsed};
        let tree = Tree::Embedded(&BUILTIN);
        let mut files = vec!["pack.yaml".to_string()];
        files.extend(
            tree.dirs()
                .expect("dirs")
                .into_iter()
                .map(|id| format!("{id}/template.yaml"))
                .filter(|f| tree.exists(f)),
        );
        let mut fresh = std::collections::BTreeMap::new();
        for file in &files {
            let text = BUILTIN.get_file(file).expect("a file").contents();
            let value = if file == "pack.yaml" {
                serde_json::to_value(parse_yaml::<PackMeta>(&tree, file).expect("parses"))
            } else {
                serde_json::to_value(parse_yaml::<TemplateMeta>(&tree, file).expect("parses"))
            }
            .expect("json");
            fresh.insert(
                file.clone(),
                Entry {
                    sha256: crate::support::hash::sha256_hex(text),
                    value,
                },
            );
        }
        let mut want = serde_json::to_string_pretty(&fresh).expect("json");
        want.push('\n');
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("compiled/builtin-pack.json");
        if std::env::var_os("LEVEE_UPDATE_PACK").is_some() {
            std::fs::write(&path, &want).expect("write");
            return;
        }
        assert!(
            TEXT == want,
            "{} is stale: run `LEVEE_UPDATE_PACK=1 cargo test --lib committed_builtin_pack` and \
             commit it",
            path.display()
        );
        // Each committed value reads back as the file parses, and is what loading takes.
        assert!(files.len() >= 7, "{files:?}");
        for file in &files {
            let text = BUILTIN.get_file(file).expect("a file").contents();
            if file == "pack.yaml" {
                let committed: PackMeta = parsed(file, text).expect("committed value");
                assert_eq!(
                    committed,
                    parse_yaml::<PackMeta>(&tree, file).expect("parses")
                );
            } else {
                let committed: TemplateMeta = parsed(file, text).expect("committed value");
                assert_eq!(
                    committed,
                    parse_yaml::<TemplateMeta>(&tree, file).expect("parses")
                );
            }
        }
        // A file whose text changed is parsed, not taken from the committed value.
        assert!(parsed::<PackMeta>("pack.yaml", b"name: x\nversion: 9.9.9\n").is_none());
    }

    /// build.rs's digests are those of the files the binary embeds, one per file, and a built-in
    /// file's digest is taken from them; the same bytes elsewhere are hashed, to the same value.
    #[test]
    fn build_time_digests_are_the_embedded_files_digests() {
        fn walk(dir: &'static Dir<'static>, out: &mut Vec<&'static include_dir::File<'static>>) {
            out.extend(dir.files());
            for d in dir.dirs() {
                walk(d, out);
            }
        }
        let mut files = Vec::new();
        walk(&BUILTIN, &mut files);
        assert_eq!(files.len(), BUILTIN_DIGESTS.len());
        assert!(files.len() > 100, "{}", files.len());
        for f in files {
            let path = f.path().to_str().expect("a UTF-8 path");
            let computed = crate::support::hash::sha256_hex(f.contents());
            let built = BUILTIN_DIGESTS
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, d)| *d);
            assert_eq!(built, Some(computed.as_str()), "{path}");
            assert_eq!(sha256_hex(f.contents()), computed, "{path}");
            if !f.contents().is_empty() {
                assert_eq!(
                    built_digest(f.contents()),
                    Some(computed.as_str()),
                    "{path}"
                );
                let copy = f.contents().to_vec();
                assert_eq!(built_digest(&copy), None, "{path}");
                assert_eq!(sha256_hex(&copy), computed, "{path}");
            }
        }
        assert!(
            BUILTIN_DIGESTS.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted by path"
        );
    }

    /// The indexed lookup finds what include_dir's own does, for every entry and for paths that
    /// are not entries or not written plainly.
    #[test]
    fn the_indexed_lookup_finds_what_include_dir_finds() {
        fn walk(dir: &'static Dir<'static>, out: &mut Vec<String>) {
            for e in dir.entries() {
                out.push(e.path().to_string_lossy().into_owned());
                if let DirEntry::Dir(d) = e {
                    walk(d, out);
                }
            }
        }
        let mut paths = Vec::new();
        walk(&BUILTIN, &mut paths);
        assert!(paths.len() > 150, "{}", paths.len());
        for p in &paths {
            let found = embedded_entry(&BUILTIN, p).expect("found");
            assert!(std::ptr::eq(
                found,
                BUILTIN.get_entry(p).expect("include_dir finds it")
            ));
        }
        for p in [
            "",
            "/",
            "pack.yaml/",
            "./pack.yaml",
            "webhook-node//template.yaml",
            "nope",
            "webhook-node/../pack.yaml",
            "webhook-node/files/nope",
        ] {
            assert_eq!(
                embedded_entry(&BUILTIN, p).map(|e| e.path()),
                BUILTIN.get_entry(p).map(|e| e.path()),
                "{p:?}"
            );
        }
    }

    #[test]
    fn builtin_pack_loads() {
        let pack = builtin().expect("the built-in pack loads");
        assert_eq!(pack.origin, Origin::Builtin);
        for t in &pack.templates {
            pack.layers(t).expect("layers load");
        }
    }
}
