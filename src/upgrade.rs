//! `levee upgrade`: roll a new template version out to one app or a whole fleet.
//!
//! For each app: the merge base is the app's recorded template version rendered with the app's
//! current manifest, "theirs" is the target version rendered the same way, "ours" is the disk.
//! Every path goes through [`merge::decide`]; the app's whole result is staged next to it, then
//! swapped in file by file with rollback, so a failure part-way leaves the app as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::manifest::Manifest;
use crate::merge::{self, Action};

/// Rendered starter files of one template version: relative path -> bytes.
pub type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// Where template versions come from (the built-in pack, a directory or a git pack).
pub trait TemplateSource: Sync {
    /// The newest version the source offers.
    fn latest(&self) -> anyhow::Result<String>;
    /// The starter files of `template` at `version`, rendered for `manifest`.
    fn render(&self, template: &str, version: &str, manifest: &Manifest) -> anyhow::Result<Tree>;
}

/// The outcome for one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    UpToDate,
    Upgraded,
    Conflicts,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::UpToDate => "up-to-date",
            Outcome::Upgraded => "upgraded",
            Outcome::Conflicts => "conflicts",
            Outcome::Failed => "failed",
        }
    }
}

/// What happened to one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: PathBuf,
    /// created, updated, merged, deleted, conflict.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The unified diff of the change (for `--dry-run`).
    #[serde(skip)]
    pub diff: String,
}

/// The report for one app.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    pub app: PathBuf,
    pub from: String,
    pub to: String,
    pub result: Outcome,
    pub files: Vec<FileChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The plan for one app: new bytes per path (`None` deletes) and the changes to report.
#[derive(Debug, Default)]
pub struct Plan {
    pub writes: BTreeMap<PathBuf, Option<Vec<u8>>>,
    pub changes: Vec<FileChange>,
    pub conflicts: usize,
}

/// Decides every path of an app: `base` and `theirs` are the two renders, `app` the directory.
pub fn plan(app: &Path, base: &Tree, theirs: &Tree, label: &str) -> io::Result<Plan> {
    let mut plan = Plan::default();
    let paths: BTreeSet<&PathBuf> = base.keys().chain(theirs.keys()).collect();
    for rel in paths {
        let disk = app.join(rel);
        let ours = match fs::read(&disk) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let b = base.get(rel).map(Vec::as_slice);
        let t = theirs.get(rel).map(Vec::as_slice);
        let action = merge::decide(b, ours.as_deref(), t, label);
        let diff_against = |new: &[u8]| unified(rel, ours.as_deref().unwrap_or_default(), new);
        let (change, detail, new): (&'static str, Option<String>, Option<Option<Vec<u8>>>) =
            match action {
                Action::Keep => continue,
                Action::Write(bytes) => (
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
                Action::Delete => ("deleted", None, Some(None)),
                Action::Conflict(c) => {
                    plan.conflicts += 1;
                    ("conflict", Some(c.explain().to_string()), None)
                }
                Action::WriteConflicted { text, conflicts } => {
                    plan.conflicts += 1;
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

/// A unified diff of one file, for `--dry-run` (binary files are named, not shown).
pub fn unified(rel: &Path, old: &[u8], new: &[u8]) -> String {
    if merge::is_binary(old) || merge::is_binary(new) {
        return format!("Binary file {} changes\n", rel.display());
    }
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .header(
            &format!("a/{}", rel.display()),
            &format!("b/{}", rel.display()),
        )
        .to_string()
}

/// Applies a plan atomically per app: every new file is staged in a temporary directory next to
/// the app; then each path is swapped in (the old file moved to a backup first). If any step
/// fails, every swap already made is undone and the app is left as it was.
pub fn apply(app: &Path, writes: &BTreeMap<PathBuf, Option<Vec<u8>>>) -> io::Result<()> {
    apply_with(app, writes, &mut |_| Ok(()))
}

/// [`apply`] with a hook called before each swap (tests inject failures through it).
pub fn apply_with(
    app: &Path,
    writes: &BTreeMap<PathBuf, Option<Vec<u8>>>,
    before_swap: &mut dyn FnMut(&Path) -> io::Result<()>,
) -> io::Result<()> {
    if writes.is_empty() {
        return Ok(());
    }
    let parent = app.parent().unwrap_or(Path::new("."));
    let stage = tempfile::Builder::new()
        .prefix(".levee-upgrade-")
        .tempdir_in(parent)?;
    let staged = stage.path().join("new");
    let backup = stage.path().join("old");
    for (rel, content) in writes {
        if let Some(bytes) = content {
            let p = staged.join(rel);
            if let Some(d) = p.parent() {
                fs::create_dir_all(d)?;
            }
            fs::write(&p, bytes)?;
            // Keep the mode of the file being replaced (scripts stay executable).
            if let Ok(meta) = fs::metadata(app.join(rel)) {
                fs::set_permissions(&p, meta.permissions())?;
            }
        }
    }
    // Swap, remembering how to undo each step.
    let mut done: Vec<(PathBuf, bool)> = Vec::new(); // (rel, had an old file)
    let result = (|| -> io::Result<()> {
        for (rel, content) in writes {
            before_swap(rel)?;
            let target = app.join(rel);
            let had_old = target.exists();
            if had_old {
                let b = backup.join(rel);
                if let Some(d) = b.parent() {
                    fs::create_dir_all(d)?;
                }
                fs::rename(&target, &b)?;
            }
            done.push((rel.clone(), had_old));
            if content.is_some() {
                if let Some(d) = target.parent() {
                    fs::create_dir_all(d)?;
                }
                fs::rename(staged.join(rel), &target)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (rel, had_old) in done.into_iter().rev() {
            let target = app.join(&rel);
            let _ = fs::remove_file(&target);
            if had_old {
                let _ = fs::rename(backup.join(&rel), &target);
            }
        }
        return Err(e);
    }
    Ok(())
}

/// Finds apps under each root: directories with an `app.yaml` and a `.levee/` record. Honours
/// .gitignore and never follows symlinks.
pub fn discover(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut apps = BTreeSet::new();
    for root in roots {
        if root.join("app.yaml").is_file() && root.join(".levee").is_dir() {
            apps.insert(root.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .follow_links(false)
            .hidden(false)
            .filter_entry(|e| {
                let name = e.file_name();
                name != ".git" && name != "node_modules" && name != ".venv" && name != "target"
            })
            .build();
        for entry in walker.flatten() {
            if entry.file_name() == "app.yaml"
                && entry.file_type().is_some_and(|t| t.is_file())
                && let Some(dir) = entry.path().parent()
                && dir.join(".levee").is_dir()
            {
                apps.insert(dir.to_path_buf());
            }
        }
    }
    apps.into_iter().collect()
}

/// Is the app inside a git worktree with uncommitted changes? `None` when not in git.
pub fn git_dirty(app: &Path) -> Option<bool> {
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain", "--", "."])
        .current_dir(app)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(!out.stdout.is_empty())
}
