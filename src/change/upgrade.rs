//! `levee upgrade`: roll a new template version out to one app or a whole fleet.
//!
//! For each app: the merge base is the app's recorded template version rendered with the app's
//! current manifest, "theirs" is the target version rendered the same way, "ours" is the disk.
//! Every path goes through [`merge::decide`]; the app's whole result is staged next to it, then
//! swapped in file by file with rollback, so a failure part-way leaves the app as it was.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::change::merge::{self, MergeAction};
use crate::model::manifest::Manifest;
use crate::model::org::Org;
use crate::scaffold::pack::{self, Pack};
use crate::scaffold::render::Layer;
use crate::support::appdir::{AppDir, Change, Step};

/// Rendered starter files of one template version: relative path -> bytes.
pub type Tree = BTreeMap<PathBuf, bytes::Bytes>;

/// One template version rendered for an app: its files, and which of them are executable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub files: Tree,
    pub executable: BTreeSet<PathBuf>,
}

/// Where template versions come from (the built-in pack, a directory or a git pack).
pub trait TemplateSource: Sync {
    /// The newest version the source offers.
    fn latest(&self) -> anyhow::Result<String>;
    /// The starter files of `template` at `version`, rendered for `manifest` and `org`.
    fn render(
        &self,
        template: &str,
        version: &str,
        manifest: &Manifest,
        org: &Org,
    ) -> anyhow::Result<Rendered> {
        self.render_in(template, version, &crate::scaffold::context(manifest, org))
    }
    /// [`TemplateSource::render`] with the render context already made
    /// ([`crate::scaffold::context`]).
    fn render_in(
        &self,
        template: &str,
        version: &str,
        ctx: &serde_json::Value,
    ) -> anyhow::Result<Rendered>;
    /// What to record for `version`: the source string (`builtin`, `REPO@v1.1.0`) and the
    /// pack's name.
    fn describe(&self, version: &str) -> anyhow::Result<(String, String)>;
    /// The settings `template` declares at `version` (`template.yaml` `settings:`).
    fn settings(
        &self,
        template: &str,
        version: &str,
    ) -> anyhow::Result<indexmap::IndexMap<String, crate::scaffold::pack::SettingSpec>>;
    /// The kinds and stacks the pack declares at `version` that an app records
    /// ([`crate::scaffold::pack::Pack::own_declarations`]): `None` for the built-in pack.
    fn declarations(
        &self,
        version: &str,
    ) -> anyhow::Result<Option<crate::load::declarations::Declarations>>;
}

/// A pack source that serves several versions, prepared once per run: the built-in pack (the
/// current version and every archived one), a directory (its one version) or a git pack (a
/// remote one cloned once; each tag read from git objects into memory). Loaded versions are
/// cached with their layers, so a fleet of apps reads each template once.
#[derive(Debug)]
pub struct PackVersions {
    kind: SourceKind,
    /// Each version's slot, filled by the first thread that needs the version: threads that
    /// need other versions meanwhile load theirs side by side.
    cache: Mutex<HashMap<String, VersionSlot>>,
}

/// A version, once loaded.
type VersionSlot = Arc<Mutex<Option<Arc<LoadedVersion>>>>;

#[derive(Debug)]
enum SourceKind {
    Builtin,
    Dir(Box<Pack>),
    Git(pack::GitVersions),
}

#[derive(Debug)]
struct LoadedVersion {
    pack: Pack,
    /// Layers per template id, read the first time the template is rendered.
    layers: Mutex<HashMap<String, Arc<Vec<Layer>>>>,
}

impl LoadedVersion {
    fn layers(&self, template: &str) -> anyhow::Result<Arc<Vec<Layer>>> {
        let mut cache = self
            .layers
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread reading the template pack panicked"))?;
        if let Some(l) = cache.get(template) {
            return Ok(Arc::clone(l));
        }
        let t = self.pack.template(template)?;
        let layers = Arc::new(self.pack.layers(t)?);
        cache.insert(template.to_string(), Arc::clone(&layers));
        Ok(layers)
    }
}

impl PackVersions {
    /// Prepares a SOURCE (`builtin`, a directory, a git repository; a `@vX.Y.Z` suffix is
    /// ignored: every tag is available). Clones a git pack once.
    pub fn open(source: &str) -> Result<PackVersions, pack::PackError> {
        let kind = match pack::Spec::parse(source) {
            pack::Spec::Builtin => SourceKind::Builtin,
            pack::Spec::Dir(_) => SourceKind::Dir(Box::new(pack::load(Some(source))?)),
            pack::Spec::Git { repo, .. } => SourceKind::Git(pack::GitVersions::open(&repo)?),
        };
        Ok(PackVersions {
            kind,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The key that identifies a source, so apps recorded with `REPO@v1.0.0` and `REPO@v1.1.0`
    /// share one clone.
    pub fn key(source: &str) -> String {
        match pack::Spec::parse(source) {
            pack::Spec::Builtin => pack::BUILTIN_SOURCE.to_string(),
            pack::Spec::Dir(p) => std::path::absolute(&p).unwrap_or(p).display().to_string(),
            pack::Spec::Git { repo, .. } => repo,
        }
    }

    /// Loads these versions side by side, before the apps that need them are planned (which
    /// would each wait for the first to load them, one after another). A version that cannot
    /// be loaded is left for those apps to report.
    pub fn preload(&self, versions: &BTreeSet<String>) {
        use rayon::prelude::*;
        versions.par_iter().for_each(|v| {
            let _ = self.version(v);
        });
    }

    fn version(&self, version: &str) -> anyhow::Result<Arc<LoadedVersion>> {
        let panicked = || anyhow::anyhow!("a thread loading the template pack panicked");
        let slot = {
            let mut cache = self.cache.lock().map_err(|_| panicked())?;
            Arc::clone(cache.entry(version.to_string()).or_default())
        };
        let mut slot = slot.lock().map_err(|_| panicked())?;
        if let Some(v) = slot.as_ref() {
            return Ok(Arc::clone(v));
        }
        let pack = match &self.kind {
            SourceKind::Builtin => pack::builtin_at(version)?,
            SourceKind::Dir(p) if p.version.to_string() == version => {
                pack::open_dir(dir_root(p)?, p.origin.clone())?
            }
            SourceKind::Dir(p) => anyhow::bail!(
                "the template pack {} is a directory that is not a git repository, so it holds \
                 only version {}; version {version} cannot be rebuilt from it. Make it versioned: \
                 `git init` in it, commit each release and tag it `v<version>` (`git tag v{}`); \
                 levee then reads every tagged version of the checkout",
                p.origin,
                p.version,
                p.version
            ),
            SourceKind::Git(g) => g.load(version)?,
        };
        let loaded = Arc::new(LoadedVersion {
            pack,
            layers: Mutex::new(HashMap::new()),
        });
        *slot = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

fn dir_root(p: &Pack) -> anyhow::Result<PathBuf> {
    match &p.origin {
        pack::Origin::Dir(root) => Ok(root.clone()),
        other => anyhow::bail!("{other} is not a directory pack"),
    }
}

impl TemplateSource for PackVersions {
    fn latest(&self) -> anyhow::Result<String> {
        Ok(match &self.kind {
            SourceKind::Builtin => pack::builtin()?.version.to_string(),
            SourceKind::Dir(p) => p.version.to_string(),
            SourceKind::Git(g) => g.latest().map(ToString::to_string).ok_or_else(|| {
                anyhow::anyhow!(
                    "the git pack {} has no `v<version>` tags; tag a release (`git tag v1.0.0`)",
                    g.repo
                )
            })?,
        })
    }

    fn render_in(
        &self,
        template: &str,
        version: &str,
        ctx: &serde_json::Value,
    ) -> anyhow::Result<Rendered> {
        let loaded = self.version(version)?;
        let layers = loaded.layers(template)?;
        let rendered = crate::scaffold::render::render_layers(
            &layers,
            &minijinja::Value::from(minijinja::value::Serde(ctx)),
        )?;
        let mut out = Rendered::default();
        for (p, f) in rendered {
            if p == crate::model::manifest::FILE_NAME || crate::support::record::is_record(&p) {
                continue;
            }
            if f.executable {
                out.executable.insert(PathBuf::from(&p));
            }
            out.files.insert(PathBuf::from(p), f.bytes);
        }
        Ok(out)
    }

    fn settings(
        &self,
        template: &str,
        version: &str,
    ) -> anyhow::Result<indexmap::IndexMap<String, crate::scaffold::pack::SettingSpec>> {
        let loaded = self.version(version)?;
        Ok(loaded.pack.template(template)?.meta.settings.clone())
    }

    fn declarations(
        &self,
        version: &str,
    ) -> anyhow::Result<Option<crate::load::declarations::Declarations>> {
        Ok(self.version(version)?.pack.own_declarations())
    }

    fn describe(&self, version: &str) -> anyhow::Result<(String, String)> {
        let loaded = self.version(version)?;
        Ok((
            loaded.pack.origin.to_string(),
            loaded.pack.meta.name.clone(),
        ))
    }
}

/// The outcome for one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeOutcome {
    UpToDate,
    Upgraded,
    Conflicts,
    Failed,
}

impl UpgradeOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeOutcome::UpToDate => "up-to-date",
            UpgradeOutcome::Upgraded => "upgraded",
            UpgradeOutcome::Conflicts => "conflicts",
            UpgradeOutcome::Failed => "failed",
        }
    }
}

/// What happened to one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    /// created, updated, merged, deleted, conflict.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The unified diff of the change, made for a dry run only (`--dry-run` shows it, text and
    /// JSON; a real run's report lists the changes without it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub diff: String,
}

impl FileChange {
    /// A change reported without a diff (a conflict left alone, a resolution noticed).
    fn note(path: PathBuf, change: &'static str, detail: String) -> FileChange {
        FileChange {
            path,
            change,
            detail: Some(detail),
            diff: String::new(),
        }
    }
}

/// The report for one app.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    /// The app directory (shown lossily in JSON when it is not UTF-8).
    #[serde(serialize_with = "lossy_path")]
    pub app: PathBuf,
    pub from: String,
    pub to: String,
    pub result: UpgradeOutcome,
    pub files: Vec<FileChange>,
    /// Files written or deleted in the app (its `.levee/` records not counted).
    pub files_changed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A path in a JSON report: as it is when it is UTF-8, else with U+FFFD for the bytes that are
/// not (a report is always printed, whatever the app's path).
fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// The plan for one app: new bytes per path (`None` deletes) and the changes to report.
#[derive(Debug, Default)]
pub struct UpgradePlan {
    pub writes: BTreeMap<PathBuf, Option<Vec<u8>>>,
    pub changes: Vec<FileChange>,
    pub conflicts: usize,
    /// Files written with conflict markers (recorded, so a later run can tell whether they are
    /// resolved).
    pub marked: Vec<PathBuf>,
}

/// Decides every path of an app: `base` and `theirs` are the two renders, `app` the directory.
pub fn plan(app: &Path, base: &Tree, theirs: &Tree, label: &str) -> io::Result<UpgradePlan> {
    plan_with(app, base, theirs, label, Diffs::Made)
}

/// Whether a plan's changes carry their unified diffs: only a dry run shows them, and making
/// them was a third of deciding an app's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Diffs {
    Made,
    Skipped,
}

impl Diffs {
    fn of(opts: &Options) -> Diffs {
        if opts.dry_run {
            Diffs::Made
        } else {
            Diffs::Skipped
        }
    }

    /// `make()`'s diff, or none.
    fn make(self, make: impl FnOnce() -> String) -> String {
        match self {
            Diffs::Made => make(),
            Diffs::Skipped => String::new(),
        }
    }
}

/// [`plan`], with or without the diffs.
fn plan_with(
    app: &Path,
    base: &Tree,
    theirs: &Tree,
    label: &str,
    diffs: Diffs,
) -> io::Result<UpgradePlan> {
    let mut plan = UpgradePlan::default();
    let dir = AppDir::open(app)?;
    let mut reader = dir.reader();
    for (rel, b, t) in both(base, theirs) {
        if same(b, t) {
            // The new version renders the file as the old one did: whatever the app holds stays
            // (`merge::decide` keeps `ours` whenever base and theirs agree), so it is not read.
            continue;
        }
        let ours = reader
            .read(rel, crate::support::appdir::MAX_FILE_BYTES)
            .map_err(|e| in_app(app, rel, "read", e))?;
        let action = merge::decide(b, ours.as_deref(), t, label);
        let diff_against =
            |new: &[u8]| diffs.make(|| unified(rel, ours.as_deref().unwrap_or_default(), new));
        let (change, detail, new): (&'static str, Option<String>, Option<Option<Vec<u8>>>) =
            match action {
                MergeAction::Keep => continue,
                MergeAction::Write(bytes) => (
                    if ours.is_none() {
                        "created"
                    } else if b == ours.as_deref() {
                        "updated"
                    } else {
                        "merged"
                    },
                    None,
                    Some(Some(bytes)),
                ),
                MergeAction::Delete => ("deleted", None, Some(None)),
                MergeAction::Conflict(c) => {
                    plan.conflicts += 1;
                    ("conflict", Some(c.explain().to_string()), None)
                }
                MergeAction::WriteConflicted { text, conflicts } => {
                    plan.conflicts += 1;
                    plan.marked.push(rel.clone());
                    (
                        "conflict",
                        Some(format!(
                            "{conflicts} conflict region{} marked with <<<<<<< ours / >>>>>>> {label}",
                            if conflicts == 1 { "" } else { "s" }
                        )),
                        Some(Some(text.into_bytes())),
                    )
                }
            };
        let diff = match &new {
            Some(Some(bytes)) => diff_against(bytes),
            Some(None) => diff_against(b""),
            None => String::new(),
        };
        if let Some(new) = new {
            plan.writes.insert(rel.clone(), new);
        }
        plan.changes.push(FileChange {
            path: rel.clone(),
            change,
            detail,
            diff,
        });
    }
    Ok(plan)
}

/// Every path of either render in order, with its file in each (one pass over both maps).
fn both<'a>(
    base: &'a Tree,
    theirs: &'a Tree,
) -> impl Iterator<Item = (&'a PathBuf, Option<&'a [u8]>, Option<&'a [u8]>)> {
    let (mut b, mut t) = (base.iter().peekable(), theirs.iter().peekable());
    std::iter::from_fn(move || {
        let order = match (b.peek(), t.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((bp, _)), Some((tp, _))) => bp.cmp(tp),
        };
        Some(match order {
            std::cmp::Ordering::Less => b.next().map(|(p, x)| (p, Some(&x[..]), None))?,
            std::cmp::Ordering::Greater => t.next().map(|(p, x)| (p, None, Some(&x[..])))?,
            std::cmp::Ordering::Equal => {
                let (p, x) = b.next()?;
                let (_, y) = t.next()?;
                (p, Some(&x[..]), Some(&y[..]))
            }
        })
    })
}

/// Are the two the same file (the same bytes, often the very buffer a pack shares)?
fn same(a: Option<&[u8]>, b: Option<&[u8]>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => crate::support::hash::same_content(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// An error about one path of the app, naming it.
fn in_app(app: &Path, rel: &Path, action: &str, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!(
            "cannot {action} {}: {e}",
            crate::support::text::escape_path(&app.join(rel))
        ),
    )
}

/// A unified diff of one file, for `--dry-run` (binary files are named, not shown).
pub fn unified(rel: &Path, old: &[u8], new: &[u8]) -> String {
    let shown = crate::support::text::escape_path(rel);
    if merge::is_binary(old) || merge::is_binary(new) {
        return format!("Binary file {shown} changes\n");
    }
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .header(&format!("a/{shown}"), &format!("b/{shown}"))
        .to_string()
}

/// Applies a plan atomically per app (see [`AppDir::transact`]): a failure part-way leaves the
/// app as it was, and a crash part-way is completed by the next `levee upgrade`. Modes of the
/// files replaced are kept.
pub fn apply(app: &Path, writes: &BTreeMap<PathBuf, Option<Vec<u8>>>) -> io::Result<()> {
    apply_with(app, writes, &mut |_| Ok(()))
}

/// [`apply`] with a hook called before each rename of the swap (tests inject failures and
/// crashes through it).
pub fn apply_with(
    app: &Path,
    writes: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let changes: Vec<Change> = in_swap_order(writes.iter().map(|(p, c)| Change {
        path: p.clone(),
        content: c.clone(),
        exec: None,
    }));
    AppDir::open(app)?.transact("upgrade", &changes, hook)
}

/// The changes in the order the swap makes them: the app's files by path, then `app.yaml`, then
/// `.levee/managed.json`, and `.levee/render.json` (the version record) last, so a run that
/// stops part-way never leaves the record at the new version over files at the old one.
fn in_swap_order(changes: impl Iterator<Item = Change>) -> Vec<Change> {
    let rank = |p: &Path| {
        if p == Path::new(crate::support::record::RENDER) {
            3
        } else if p == Path::new(crate::generate::managed::RECORD_PATH) {
            2
        } else if p == Path::new(crate::model::manifest::FILE_NAME) {
            1
        } else {
            0
        }
    };
    let mut v: Vec<Change> = changes.collect();
    v.sort_by(|a, b| (rank(&a.path), &a.path).cmp(&(rank(&b.path), &b.path)));
    v
}

/// Completes an upgrade of `app` that was interrupted (a crash, kill -9, a power cut), or drops
/// one that had not changed anything yet. What was done, when there was something to do.
pub fn recover(app: &Path) -> io::Result<Option<crate::support::appdir::Recovered>> {
    AppDir::open(app)?.recover()
}

/// Finds apps under each root: directories with an `app.yaml` and a `.levee/` record, found by
/// the one app walker ([`crate::model::manifest::find_files`]: `.gitignore` honoured, hidden
/// directories and dependency trees skipped, symlinks never followed), so `levee upgrade` sees
/// the apps `levee catalog scan` and `levee check` see.
pub fn discover(roots: &[PathBuf]) -> Vec<PathBuf> {
    let is_app = |dir: &Path| {
        dir.join(crate::model::manifest::FILE_NAME).is_file()
            && dir.join(crate::support::record::DIR).is_dir()
    };
    let mut apps = BTreeSet::new();
    for root in roots {
        if is_app(root) {
            apps.insert(root.clone());
            continue;
        }
        let found =
            crate::model::manifest::find_files(root, |n| n == crate::model::manifest::FILE_NAME);
        apps.extend(
            found
                .iter()
                .filter_map(|f| f.parent())
                .filter(|dir| is_app(dir))
                .map(Path::to_path_buf),
        );
    }
    apps.into_iter().collect()
}

/// What `levee upgrade` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The target version (default: the newest the source offers).
    pub to: Option<String>,
    /// Plan and report, write nothing.
    pub dry_run: bool,
    /// An app with uncommitted changes fails instead of being upgraded.
    pub require_clean: bool,
    /// `--org`: the org config for every app (default: found from each app).
    pub org: Option<PathBuf>,
}

/// An app's `.levee/render.json` record, which names the template it was made from.
pub type Recorded = crate::scaffold::RenderRecord;

/// Reads `.levee/render.json`.
pub fn read_record(app: &Path) -> anyhow::Result<Recorded> {
    let path = record_path(app);
    let rel = Path::new(crate::support::record::RENDER);
    let bytes = AppDir::open(app)
        .and_then(|d| d.read(rel, crate::support::appdir::MAX_FILE_BYTES))
        .and_then(|b| b.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)))
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    // A record as levee writes it is read in one pass; any other (an error to explain, a key
    // given twice) goes the way below, which names what is wrong.
    if let Ok(record) = serde_json::from_slice::<Recorded>(&bytes) {
        return Ok(record);
    }
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a levee render record: {e}", path.display()))?;
    serde_json::from_value::<crate::model::manifest::TemplateRef>(json["template"].clone())
        .map_err(|e| {
            anyhow::anyhow!(
                "{} has no usable `template` (id, version, source): {e}",
                path.display()
            )
        })?;
    serde_json::from_value(json)
        .map_err(|e| anyhow::anyhow!("{} is not a levee render record: {e}", path.display()))
}

impl AppReport {
    pub(crate) fn failed(app: &Path, from: String, to: String, error: String) -> AppReport {
        AppReport {
            app: app.to_path_buf(),
            from,
            to,
            result: UpgradeOutcome::Failed,
            files: Vec::new(),
            files_changed: 0,
            error: Some(error),
            warning: None,
        }
    }

    /// This app's report once writing its upgrade failed: the versions stay, the rest is the
    /// error.
    pub(crate) fn write_failed(self, error: String) -> AppReport {
        AppReport::failed(&self.app, self.from, self.to, error)
    }

    /// Says when the app's git worktree had uncommitted changes (unless it failed or already
    /// carries a warning).
    pub(crate) fn note_dirty(mut self, dirty: Option<bool>) -> AppReport {
        if dirty == Some(true) && self.warning.is_none() && self.result != UpgradeOutcome::Failed {
            self.warning = Some("the git worktree has uncommitted changes".into());
        }
        self
    }
}

/// An app's upgrade, planned ([`plan_app`]): its report, and the changes to swap into the app
/// (none for a dry run, an app up to date, or one that failed).
#[derive(Debug)]
pub struct PlannedApp {
    pub report: AppReport,
    pub swap: Option<PendingSwap>,
}

/// The changes an upgrade swaps into an app, in swap order ([`in_swap_order`]), and the swap's
/// label for its journal.
#[derive(Debug)]
pub struct PendingSwap {
    pub label: String,
    pub changes: Vec<Change>,
}

/// The message of a report whose swap failed.
pub(crate) fn write_error(e: &io::Error) -> String {
    format!("writing the upgrade failed: {e}")
}

/// Upgrades one app (or plans it, with `dry_run`). Never panics on user input and never returns
/// an error: a problem with this app is its report's `failed` result, so a fleet run goes on.
/// `dirty` is whether the app's git worktree has uncommitted changes (`None`: not in git).
pub fn upgrade_app(
    app: &Path,
    recorded: &Recorded,
    source: &dyn TemplateSource,
    opts: &Options,
    dirty: Option<bool>,
) -> AppReport {
    upgrade_app_with(app, recorded, source, opts, dirty, &mut |_| Ok(()))
}

/// [`upgrade_app`] with a hook called at each point of the swap ([`Step`]): the crash tests
/// stop the process there and kill it. The `levee` binary passes none.
pub fn upgrade_app_with(
    app: &Path,
    recorded: &Recorded,
    source: &dyn TemplateSource,
    opts: &Options,
    dirty: Option<bool>,
    hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>,
) -> AppReport {
    let PlannedApp { mut report, swap } = plan_app(app, recorded, source, opts, dirty);
    if let Some(swap) = swap {
        let written = AppDir::open(app).map_err(|e| e.to_string()).and_then(|d| {
            d.transact(&swap.label, &swap.changes, hook)
                .map_err(|e| write_error(&e))
        });
        if let Err(e) = written {
            report = report.write_failed(e);
        }
    }
    report.note_dirty(dirty)
}

/// Plans one app's upgrade: renders both versions, merges, and prepares the changes to swap in;
/// writes nothing (except forgetting resolved conflicts of an app already at the version). A
/// problem with the app is its report's `failed` result.
pub fn plan_app(
    app: &Path,
    recorded: &Recorded,
    source: &dyn TemplateSource,
    opts: &Options,
    dirty: Option<bool>,
) -> PlannedApp {
    let from = recorded.template.version.clone();
    let to = match opts.to.clone().map_or_else(|| source.latest(), Ok) {
        Ok(v) => v,
        Err(e) => {
            return PlannedApp {
                report: AppReport::failed(app, from, String::new(), format!("{e:#}")),
                swap: None,
            };
        }
    };
    match upgrade_inner(app, recorded, source, opts, dirty, &to) {
        Ok((report, swap)) => PlannedApp { report, swap },
        Err(e) => PlannedApp {
            report: AppReport::failed(app, from, to, format!("{e:#}")),
            swap: None,
        },
    }
}

fn upgrade_inner(
    app: &Path,
    recorded: &Recorded,
    source: &dyn TemplateSource,
    opts: &Options,
    dirty: Option<bool>,
    to: &str,
) -> anyhow::Result<(AppReport, Option<PendingSwap>)> {
    let from = recorded.template.version.as_str();
    let mut report = AppReport {
        app: app.to_path_buf(),
        from: from.to_string(),
        to: to.to_string(),
        result: UpgradeOutcome::UpToDate,
        files: Vec::new(),
        files_changed: 0,
        error: None,
        warning: None,
    };
    let (vf, vt) = (parse_version(from)?, parse_version(to)?);
    let left = left_conflicts(app, recorded);
    if !left.unresolved.is_empty() {
        // Merging over unresolved markers would nest conflicts: the user resolves first.
        report.result = UpgradeOutcome::Conflicts;
        report.files = unresolved_notes(left);
        return Ok((report, None));
    }
    if vf == vt {
        if !left.resolved.is_empty() {
            report.files = forget_resolved(app, recorded, left, opts.dry_run)?;
        }
        return Ok((report, None));
    }
    if vt < vf {
        anyhow::bail!(
            "the app is at template version {from}, newer than {to}; levee upgrade does not downgrade"
        );
    }
    if dirty == Some(true) && opts.require_clean {
        anyhow::bail!(
            "the git worktree has uncommitted changes (--require-clean): commit or stash them first"
        );
    }
    let sides = render_sides(app, recorded, source, opts, to)?;
    let label = format!("template v{to}");
    let diffs = Diffs::of(opts);
    let mut plan = plan_with(app, &sides.base.files, &sides.theirs.files, &label, diffs)?;
    let new_yaml = plan_app_yaml(app, &sides, &recorded.template.id, to, diffs, &mut plan)?;
    let (desired, managed_record) = plan_managed(app, &sides, diffs, &mut plan)?;
    let (record, warning) = new_record(recorded, source, &sides, &desired, &new_yaml, &plan, to)?;
    report.warning = warning;
    plan_records(&record, &managed_record, &mut plan)?;

    report.files_changed = plan
        .writes
        .keys()
        .filter(|p| !p.starts_with(crate::support::record::DIR))
        .count();
    report.result = if plan.conflicts > 0 {
        UpgradeOutcome::Conflicts
    } else {
        UpgradeOutcome::Upgraded
    };
    plan.changes.sort_by(|a, b| a.path.cmp(&b.path));
    report.files = plan.changes;
    let swap = if opts.dry_run {
        None
    } else {
        Some(PendingSwap {
            label: format!("upgrade to template v{to}"),
            changes: swap_changes(app, plan.writes, &sides)?,
        })
    };
    Ok((report, swap))
}

/// The report's lines for files the last upgrade left conflict markers in.
fn unresolved_notes(left: LeftConflicts) -> Vec<FileChange> {
    left.unresolved
        .into_iter()
        .map(|path| {
            let detail = format!(
                "unresolved conflict markers from the upgrade to v{}: keep the lines you \
                 want, delete the <<<<<<< / ======= / >>>>>>> lines, then run `levee \
                 upgrade` again",
                left.version
            );
            FileChange::note(path, "conflict", detail)
        })
        .collect()
}

/// Every file the last upgrade marked is resolved: forget them (the record loses its
/// `conflicts`, unless `dry_run`) and say so.
fn forget_resolved(
    app: &Path,
    recorded: &Recorded,
    left: LeftConflicts,
    dry_run: bool,
) -> anyhow::Result<Vec<FileChange>> {
    let notes = left
        .resolved
        .into_iter()
        .map(|path| {
            let detail = format!("conflicts from the upgrade to v{} resolved", left.version);
            FileChange::note(path, "resolved", detail)
        })
        .collect();
    if !dry_run {
        let record = Recorded {
            conflicts: None,
            ..recorded.clone()
        };
        let json = record.to_json()?;
        let rel = Path::new(crate::support::record::RENDER);
        AppDir::open(app)
            .and_then(|d| d.write(rel, json.as_bytes(), None))
            .map_err(|e| in_app(app, rel, "write", e))?;
    }
    Ok(notes)
}

/// The app as it is, and the two renders of it the merge needs.
struct Sides {
    /// app.yaml as read.
    loaded: crate::load::document::Loaded<Manifest>,
    org: Org,
    /// The manifest as the target version sees it: its template reference and declarations.
    theirs_manifest: Manifest,
    /// The render context of the target version ([`crate::scaffold::context`]).
    theirs_context: serde_json::Value,
    /// What the record and app.yaml name as the target's source, and the pack's name.
    new_source: String,
    pack_name: String,
    /// The target version's own kinds and stacks (`None` for the built-in pack).
    own_declared: Option<crate::load::declarations::Declarations>,
    /// The recorded version rendered for the app (the merge base), and the target version.
    base: Rendered,
    theirs: Rendered,
}

/// Reads app.yaml and the org config and renders the recorded and the target version for them.
fn render_sides(
    app: &Path,
    recorded: &Recorded,
    source: &dyn TemplateSource,
    opts: &Options,
    to: &str,
) -> anyhow::Result<Sides> {
    let from = recorded.template.version.as_str();
    let id = recorded.template.id.as_str();
    // The kinds and stacks app.yaml is read against, from the record already read (as
    // `manifest::load` would read them from it again): its pack's own over the built-in ones.
    let recorded_declared = recorded
        .pack_declarations
        .as_ref()
        .and_then(|own| crate::load::declarations::in_effect(own).ok());
    let context = crate::load::document::Context {
        declared: Some(
            recorded_declared
                .as_ref()
                .unwrap_or_else(|| crate::load::declarations::builtin()),
        ),
        ..Default::default()
    };
    let loaded = crate::model::manifest::load_with(app, context).map_err(|e| match e {
        crate::load::document::LoadError::Invalid { file, diags } => anyhow::anyhow!(
            "app.yaml is invalid (run `levee validate`):\n{}",
            crate::load::diag::render(&diags, Some(&file.text), false)
        ),
        e => anyhow::anyhow!("{e}"),
    })?;
    let org = crate::model::org::resolve(opts.org.as_deref(), app)?.org;
    let mut base_manifest = loaded.value.clone();
    let mut theirs_manifest = loaded.value.clone();
    let (new_source, pack_name) = source.describe(to)?;
    set_template(
        &mut base_manifest,
        id,
        from,
        recorded.template.source.clone(),
    );
    set_template(&mut theirs_manifest, id, to, Some(new_source.clone()));
    // The new version's kinds and stacks: its build steps are what the pipeline runs from now on.
    let own_declared = source.declarations(to)?;
    theirs_manifest.declared = match &own_declared {
        Some(own) => crate::model::manifest::Declared::of(
            crate::load::declarations::Declarations::over_builtin(own),
        ),
        None => crate::model::manifest::Declared::default(),
    };

    let base = source.render(id, from, &base_manifest, &org)?;
    let theirs_context = crate::scaffold::context(&theirs_manifest, &org);
    let theirs = source.render_in(id, to, &theirs_context)?;
    Ok(Sides {
        theirs_context,
        loaded,
        org,
        theirs_manifest,
        new_source,
        pack_name,
        own_declared,
        base,
        theirs,
    })
}

/// app.yaml: the template reference, edited in place (comments and order kept), and checked to
/// mean the target's manifest. Returns the new text.
fn plan_app_yaml(
    app: &Path,
    sides: &Sides,
    id: &str,
    to: &str,
    diffs: Diffs,
    plan: &mut UpgradePlan,
) -> anyhow::Result<String> {
    let loaded = &sides.loaded;
    let app_yaml_path = app.join(crate::model::manifest::FILE_NAME);
    let old_yaml = loaded.source.text.clone();
    let mut edits = vec![
        crate::load::edit::Change::Set("/template/version".into(), to.to_string()),
        crate::load::edit::Change::Set("/template/source".into(), sides.new_source.clone()),
    ];
    if loaded.value.template.as_ref().map(|t| t.id.as_str()) != Some(id) {
        edits.push(crate::load::edit::Change::Set(
            "/template/id".into(),
            id.to_string(),
        ));
    }
    let new_yaml = crate::load::edit::apply_parsed(&old_yaml, &loaded.doc, &edits)
        .map_err(|e| anyhow::anyhow!("cannot update `template` in app.yaml: {e}"))?;
    let context = crate::load::document::Context {
        declared: sides.theirs_manifest.declared.0.as_deref(),
        ..Default::default()
    };
    match crate::load::document::parse_str_with::<Manifest>(&app_yaml_path, &new_yaml, context) {
        Ok(l) if l.value == sides.theirs_manifest => {}
        _ => anyhow::bail!("updating `template` in app.yaml changed its meaning (a levee bug)"),
    }
    if new_yaml != old_yaml {
        let rel = PathBuf::from(crate::model::manifest::FILE_NAME);
        plan.changes.push(FileChange {
            diff: diffs.make(|| unified(&rel, old_yaml.as_bytes(), new_yaml.as_bytes())),
            path: rel.clone(),
            change: "updated",
            detail: Some("template version".into()),
        });
        plan.writes
            .insert(rel, Some(loaded.source.as_written(&new_yaml).into_bytes()));
    }
    Ok(new_yaml)
}

/// Managed files: regenerated as `levee sync` does; a hand edit is a conflict, never lost.
/// Returns the files the target's manifest asks for and the updated `.levee/managed.json`.
fn plan_managed(
    app: &Path,
    sides: &Sides,
    diffs: Diffs,
    plan: &mut UpgradePlan,
) -> anyhow::Result<(Desired, crate::generate::managed::ManagedRecord)> {
    use crate::generate::managed::{self, State};
    let files = managed::files(&sides.theirs_manifest, &sides.org)?;
    // Each managed file hashed once, for `.levee/managed.json` and `.levee/render.json` alike.
    let digests: Vec<String> = files
        .iter()
        .map(|f| crate::support::hash::sha256_hex_seen(&f.path, f.content.as_bytes()))
        .collect();
    let desired = Desired { files, digests };
    let entries = managed::status(app, &desired.files)?;
    let mut managed_record = managed::ManagedRecord::load(app)?;
    for e in &entries {
        let rel = PathBuf::from(&e.path);
        match e.state {
            State::Current => {
                if let Some(c) = &e.desired {
                    let hash = match desired.digest(&e.path, c) {
                        Some(digest) => format!("sha256:{digest}"),
                        None => managed::hash(c.as_bytes()),
                    };
                    managed_record.files.insert(e.path.clone(), hash);
                }
            }
            State::Edited | State::ObsoleteEdited => {
                plan.conflicts += 1;
                plan.changes.push(FileChange::note(
                    rel,
                    "conflict",
                    "a managed file edited by hand; not regenerated (move the change into \
                     app.yaml or the org config, then `levee sync --force`)"
                        .into(),
                ));
            }
            State::Missing | State::Stale => {
                let content = e.desired.clone().unwrap_or_default();
                let hash = match desired.digest(&e.path, &content) {
                    Some(digest) => format!("sha256:{digest}"),
                    None => managed::hash(content.as_bytes()),
                };
                managed_record.files.insert(e.path.clone(), hash);
                plan.changes.push(FileChange {
                    path: rel.clone(),
                    change: if e.state == State::Missing {
                        "created"
                    } else {
                        "regenerated"
                    },
                    detail: None,
                    diff: diffs.make(|| e.diff()),
                });
                plan.writes.insert(rel, Some(content.into_bytes()));
            }
            // Not the upgrade's to touch: `levee sync --check` reports it.
            State::Extra => {}
            State::Obsolete => {
                managed_record.files.remove(&e.path);
                plan.changes.push(FileChange {
                    path: rel.clone(),
                    change: "deleted",
                    detail: Some("a managed file levee no longer generates".into()),
                    diff: diffs.make(|| e.diff()),
                });
                plan.writes.insert(rel, None);
            }
        }
    }
    managed_record.levee_version = crate::VERSION.to_string();
    Ok((desired, managed_record))
}

/// The managed files the target's manifest asks for, and each one's SHA-256 (hex, in the same
/// order).
struct Desired {
    files: Vec<crate::generate::managed::ManagedFile>,
    digests: Vec<String>,
}

impl Desired {
    /// The SHA-256 of `content`, when it is that of the managed file at `path`.
    fn digest(&self, path: &str, content: &str) -> Option<&str> {
        self.files
            .iter()
            .position(|f| f.path == path && f.content == content)
            .map(|i| self.digests[i].as_str())
    }
}

/// `.levee/render.json` after the upgrade: the new version, its files', managed files' and
/// app.yaml's hashes, its settings and declarations, the files left with markers. With it, the
/// warning when the new version needs settings app.yaml does not set.
fn new_record(
    recorded: &Recorded,
    source: &dyn TemplateSource,
    sides: &Sides,
    desired: &Desired,
    new_yaml: &str,
    plan: &UpgradePlan,
    to: &str,
) -> anyhow::Result<(Recorded, Option<String>)> {
    let theirs_manifest = &sides.theirs_manifest;
    let template = theirs_manifest
        .template
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the upgraded app.yaml names no template"))?;
    let files = sides
        .theirs
        .files
        .iter()
        .map(|(p, b)| {
            let p = slash(p);
            let hash = crate::support::hash::sha256_hex_seen_shared(&p, b);
            (p, hash)
        })
        .collect();
    let managed = desired
        .files
        .iter()
        .zip(&desired.digests)
        .map(|(f, hash)| (f.path.clone(), hash.clone()))
        .collect();
    // What the new version's code needs: `levee validate` holds app.yaml to it from now on.
    let declared = source.settings(&recorded.template.id, to)?;
    let unmet: Vec<&String> = declared
        .iter()
        .filter(|(name, spec)| spec.required && !theirs_manifest.settings.contains_key(*name))
        .map(|(name, _)| name)
        .collect();
    // Every field written out: one added to the record is decided here, not carried over.
    let record = Recorded {
        format: recorded.format,
        levee_version: crate::VERSION.to_string(),
        template,
        pack: crate::scaffold::PackRecord {
            name: sides.pack_name.clone(),
            version: to.to_string(),
        },
        created: recorded.created,
        context: sides.theirs_context.clone(),
        files,
        managed,
        manifest: crate::support::hash::sha256_hex(
            sides.loaded.source.as_written(new_yaml).as_bytes(),
        ),
        template_settings: Some(declared.clone()),
        pack_declarations: sides.own_declared.clone(),
        conflicts: (!plan.marked.is_empty()).then(|| crate::scaffold::UpgradeConflicts {
            version: to.to_string(),
            paths: plan.marked.iter().map(|p| slash(p)).collect(),
        }),
        extra: recorded.extra.clone(),
    };
    let warning = (!unmet.is_empty()).then(|| {
        format!(
            "template v{to} needs the setting{} {}, which app.yaml does not set: add {} under `settings:` (`levee validate` shows the example)",
            if unmet.len() == 1 { "" } else { "s" },
            unmet
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if unmet.len() == 1 { "it" } else { "them" },
        )
    });
    Ok((record, warning))
}

/// The records join the plan: `.levee/render.json` names the new version, `.levee/managed.json`
/// the managed files' hashes.
fn plan_records(
    record: &Recorded,
    managed_record: &crate::generate::managed::ManagedRecord,
    plan: &mut UpgradePlan,
) -> anyhow::Result<()> {
    let record_json = record.to_json()?;
    let mut managed_json = serde_json::to_string_pretty(managed_record)?;
    managed_json.push('\n');
    plan.writes.insert(
        PathBuf::from(crate::support::record::RENDER),
        Some(record_json.into_bytes()),
    );
    plan.writes.insert(
        PathBuf::from(crate::generate::managed::RECORD_PATH),
        Some(managed_json.into_bytes()),
    );
    Ok(())
}

/// The changes to swap into the app ([`AppDir::transact`]), each file with its executable bit
/// ([`exec_bit`]), in swap order.
fn swap_changes(
    app: &Path,
    writes: BTreeMap<PathBuf, Option<Vec<u8>>>,
    sides: &Sides,
) -> anyhow::Result<Vec<Change>> {
    let dir = AppDir::open(app)?;
    let mut changes = Vec::with_capacity(writes.len());
    for (path, content) in writes {
        let exec = match content {
            None => None,
            Some(_) => exec_bit(&dir, &path, &sides.base, &sides.theirs)?,
        };
        changes.push(Change {
            path,
            content,
            exec,
        });
    }
    Ok(in_swap_order(changes.into_iter()))
}

/// The executable bit of a file the upgrade writes: a new file takes the template's; an
/// existing one keeps its own, unless the template changed the bit and the user had not.
fn exec_bit(
    dir: &AppDir,
    path: &Path,
    base: &Rendered,
    theirs: &Rendered,
) -> anyhow::Result<Option<bool>> {
    let wants = theirs.executable.contains(path);
    Ok(match dir.kind(path)? {
        None => Some(wants),
        Some(crate::support::appdir::Kind::File { mode }) => {
            let had = base.executable.contains(path);
            let is = mode & 0o111 != 0;
            (base.files.contains_key(path) && had != wants && is == had).then_some(wants)
        }
        Some(_) => None,
    })
}

fn record_path(app: &Path) -> PathBuf {
    app.join(crate::support::record::RENDER)
}

/// The files the last upgrade left conflict markers in, split by whether markers remain.
#[derive(Debug, Default)]
struct LeftConflicts {
    version: String,
    unresolved: Vec<PathBuf>,
    resolved: Vec<PathBuf>,
}

fn left_conflicts(app: &Path, recorded: &Recorded) -> LeftConflicts {
    let mut left = LeftConflicts::default();
    let Some(c) = &recorded.conflicts else {
        return left;
    };
    left.version = c.version.clone();
    for rel in &c.paths {
        let rel = PathBuf::from(rel);
        let marked = AppDir::open(app)
            .and_then(|d| d.read(&rel, crate::support::appdir::MAX_FILE_BYTES))
            .ok()
            .flatten()
            .is_some_and(|b| has_conflict_markers(&String::from_utf8_lossy(&b)));
        if marked {
            left.unresolved.push(rel);
        } else {
            left.resolved.push(rel);
        }
    }
    left
}

/// True when `text` still holds a conflict region as levee writes it: an opening marker line
/// and a closing one.
pub fn has_conflict_markers(text: &str) -> bool {
    first_conflict_line(text).is_some()
}

/// The 1-based line of the opening marker of the first conflict region in `text`.
pub fn first_conflict_line(text: &str) -> Option<usize> {
    let mut open = None;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("<<<<<<< ") {
            open = open.or(Some(i + 1));
        } else if line.starts_with(">>>>>>> ")
            && let Some(at) = open
        {
            return Some(at);
        }
    }
    None
}

/// A file of an app that still holds a conflict region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Marker {
    pub path: PathBuf,
    /// The line of the first opening marker (`<<<<<<< `).
    pub line: usize,
}

/// The most of one file `--check-conflicts` reads (starter files are small; a larger file is
/// not a file levee merged).
const MARKER_READ_LIMIT: u64 = 8 << 20;

/// The conflict regions an upgrade left in the app and nobody has resolved: every file the last
/// upgrade recorded as conflicted, and every starter file levee rendered from the template, that
/// still holds one. Reads only the app (no pack), follows no symlink and never leaves the app.
/// An app without a render record (never scaffolded from a template) has none.
pub fn unresolved_markers(app: &Path) -> Vec<Marker> {
    let Ok(recorded) = read_record(app) else {
        return Vec::new();
    };
    let mut paths: BTreeSet<String> = BTreeSet::new();
    paths.extend(recorded.files.into_keys());
    if let Some(c) = recorded.conflicts {
        paths.extend(c.paths);
    }
    let mut out = Vec::new();
    for rel in paths {
        let rel = PathBuf::from(rel);
        if !rel
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            continue;
        }
        // Every directory on the way and the file itself: no symlink.
        let mut at = app.to_path_buf();
        let mut plain = true;
        for c in rel.components() {
            at.push(c);
            match fs::symlink_metadata(&at) {
                Ok(m) if !m.file_type().is_symlink() => {}
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        if !plain || !at.is_file() {
            continue;
        }
        let mut bytes = Vec::new();
        let read = fs::File::open(&at).and_then(|f| {
            use std::io::Read;
            f.take(MARKER_READ_LIMIT).read_to_end(&mut bytes)
        });
        if read.is_err() {
            continue;
        }
        if let Some(line) = first_conflict_line(&String::from_utf8_lossy(&bytes)) {
            out.push(Marker { path: rel, line });
        }
    }
    out
}

pub(crate) fn parse_version(v: &str) -> anyhow::Result<semver::Version> {
    semver::Version::parse(v.trim_start_matches('v'))
        .map_err(|e| anyhow::anyhow!("`{v}` is not a semver version: {e}"))
}

fn set_template(m: &mut Manifest, id: &str, version: &str, source: Option<String>) {
    m.template = Some(crate::model::manifest::TemplateRef {
        id: id.to_string(),
        version: version.to_string(),
        source,
    });
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Which apps have uncommitted changes, with one `git status` per repository (not per app).
/// Apps outside git map to `None`.
pub fn dirty_apps(apps: &[PathBuf]) -> HashMap<PathBuf, Option<bool>> {
    let mut by_repo: BTreeMap<PathBuf, Vec<(PathBuf, PathBuf)>> = BTreeMap::new();
    let mut out = HashMap::new();
    for app in apps {
        let abs = fs::canonicalize(app).unwrap_or_else(|_| app.clone());
        match abs.ancestors().find(|d| d.join(".git").exists()) {
            Some(top) => {
                let rel = abs.strip_prefix(top).unwrap_or(Path::new("")).to_path_buf();
                by_repo
                    .entry(top.to_path_buf())
                    .or_default()
                    .push((app.clone(), rel));
            }
            None => {
                out.insert(app.clone(), None);
            }
        }
    }
    for (top, members) in by_repo {
        let status = crate::support::git::run(
            &["status", "--porcelain", "-z", "--untracked-files=all"],
            Some(&top),
            None,
        )
        .ok()
        .filter(|o| o.status.success());
        let Some(status) = status else {
            for (app, _) in members {
                out.insert(app, None);
            }
            continue;
        };
        let text = String::from_utf8_lossy(&status.stdout);
        let changed: Vec<&Path> = text
            .split('\0')
            .filter(|t| !t.is_empty())
            .map(|t| {
                let b = t.as_bytes();
                if b.len() > 3 && b[2] == b' ' {
                    Path::new(&t[3..])
                } else {
                    Path::new(t)
                }
            })
            .collect();
        for (app, rel) in members {
            let dirty = changed.iter().any(|c| c.starts_with(&rel));
            out.insert(app, Some(dirty));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(p, c)| (PathBuf::from(p), bytes::Bytes::from(c.to_string())))
            .collect()
    }

    /// A path and its file in each render, as `both` gives them.
    type Paired<'a> = Vec<(String, Option<&'a [u8]>, Option<&'a [u8]>)>;

    #[test]
    fn both_pairs_every_path_of_either_render_in_order() {
        let base = tree(&[("a", "1"), ("b/c", "2"), ("d", "3")]);
        let theirs = tree(&[("a", "1"), ("a-b", "4"), ("d", "5"), ("e", "6")]);
        let got: Paired<'_> = both(&base, &theirs)
            .map(|(p, b, t)| (p.display().to_string(), b, t))
            .collect();
        let want: Paired<'_> = vec![
            ("a".into(), Some(b"1"), Some(b"1")),
            ("a-b".into(), None, Some(b"4")),
            ("b/c".into(), Some(b"2"), None),
            ("d".into(), Some(b"3"), Some(b"5")),
            ("e".into(), None, Some(b"6")),
        ];
        assert_eq!(got, want);
        // The same paths as the union of both maps' keys, in the maps' order.
        let union: BTreeSet<&PathBuf> = base.keys().chain(theirs.keys()).collect();
        let paths: Vec<&PathBuf> = both(&base, &theirs).map(|(p, _, _)| p).collect();
        assert_eq!(paths, union.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn same_compares_bytes_whether_or_not_the_buffer_is_shared() {
        let shared = bytes::Bytes::from_static(b"text");
        let copy = bytes::Bytes::from(b"text".to_vec());
        assert!(same(Some(&shared), Some(&shared.clone())));
        assert!(same(Some(&shared), Some(&copy)));
        assert!(!same(Some(&shared), Some(b"text!")));
        assert!(!same(Some(&shared[..2]), Some(&shared[..3])));
        assert!(!same(Some(b""), None));
        assert!(same(None, None));
    }
}
