//! Managed files: the files levee owns in an app and regenerates from `app.yaml` + the org config.
//!
//! [`files`] is the full list for an app (path -> content); each generator (pipeline, CODEOWNERS,
//! and later the policy bundle, `catalog-info.yaml`, `deploy/`) adds its files there, and
//! `levee sync` writes or checks them all. `.levee/managed.json` records the hash of every file
//! levee last wrote, so that a hand edit is told apart from a stale file, and a file levee no
//! longer generates (the GitHub workflow after `ci: gitlab`) is removed.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::generate::pipeline::{self, PipelineError};
use crate::model::manifest::{Ci, Manifest};
use crate::model::org::Org;
use crate::support::appdir::AppDir;

/// Where the record of managed files lives, relative to the app.
pub const RECORD_PATH: &str = crate::support::record::MANAGED;

/// One managed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFile {
    /// Relative to the app directory, `/`-separated.
    pub path: String,
    pub content: String,
}

/// What a generator needs.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub manifest: &'a Manifest,
    pub org: &'a Org,
}

/// A generator of managed files.
pub type Generator = fn(&Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError>;

/// Every generator, in order. Add yours here.
pub const GENERATORS: &[Generator] =
    &[pipeline_files, policy_bundle, sandbox_files, catalog_entity];

/// The app's policy bundle under `policy/` (Rego modules and tests, data.json, .manifest), the
/// same bundle `levee check` evaluates in-process and CI evaluates with OPA.
fn policy_bundle(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    Ok(crate::generate::policy::bundle(inputs.manifest, inputs.org)
        .into_iter()
        .map(|(path, content)| ManagedFile { path, content })
        .collect())
}

/// The app's own Backstage entity, for orgs whose developer portal reads `catalog-info.yaml`.
fn catalog_entity(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    Ok(vec![ManagedFile {
        path: "catalog-info.yaml".into(),
        content: crate::generate::backstage::entity(inputs.manifest, inputs.org, None),
    }])
}

/// The runtime sandbox: Kubernetes manifests and Kyverno admission policies under `deploy/`.
fn sandbox_files(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    let options = crate::generate::sandbox::DeployOptions::default();
    Ok(
        crate::generate::sandbox::deploy_files(inputs.manifest, inputs.org, &options)?
            .into_iter()
            .map(|(path, content)| ManagedFile {
                path: path.to_string_lossy().replace('\\', "/"),
                content,
            })
            .collect(),
    )
}

/// The pipeline, the scheduled template upgrade workflow (GitHub, unless the org config turns it
/// off), and their CODEOWNERS.
fn pipeline_files(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    let ci = pipeline::ci_of(inputs.manifest);
    let plan = crate::generate::plan::for_manifest(inputs.manifest, inputs.org);
    let mut files = vec![ManagedFile {
        path: pipeline::path(ci).into(),
        content: pipeline::render(inputs.manifest, inputs.org, &plan, ci)?,
    }];
    if let Some(content) = pipeline::render_upgrade(inputs.manifest, inputs.org, &plan, ci)? {
        files.push(ManagedFile {
            path: crate::model::upgrade_job::GITHUB_PATH.into(),
            content,
        });
    }
    files.push(ManagedFile {
        path: pipeline::codeowners_path(ci).into(),
        content: pipeline::render_codeowners(inputs.manifest, inputs.org, &plan, ci)?,
    });
    Ok(files)
}

/// The full list of managed files for an app.
pub(crate) fn files(manifest: &Manifest, org: &Org) -> Result<Vec<ManagedFile>, ManagedError> {
    let inputs = Inputs { manifest, org };
    let mut out = Vec::new();
    for g in GENERATORS {
        out.extend(g(&inputs)?);
    }
    for f in &out {
        check_relative(&f.path)?;
    }
    Ok(out)
}

/// What [`generate`] could make: every managed file except those of a generator that refused
/// the app (today only the sandbox, whose `deploy/` files are then left as they are).
#[derive(Debug, Clone)]
pub struct Generated {
    pub files: Vec<ManagedFile>,
    /// Why `deploy/` could not be generated; its files are not in `files`.
    pub sandbox_refused: Option<Vec<crate::generate::sandbox::DeployRefusal>>,
}

/// The managed files of an app, as many as can be generated: a sandbox refusal leaves out
/// `deploy/` and is returned with the rest, so `levee sync` still writes the pipeline, the
/// policy bundle and the catalog entity.
pub(crate) fn generate(manifest: &Manifest, org: &Org) -> Result<Generated, ManagedError> {
    let inputs = Inputs { manifest, org };
    let mut out = Vec::new();
    let mut sandbox_refused = None;
    for g in GENERATORS {
        match g(&inputs) {
            Ok(files) => out.extend(files),
            Err(ManagedError::Sandbox(crate::generate::sandbox::SandboxError::Refused {
                refusals,
                ..
            })) => sandbox_refused = Some(refusals),
            Err(e) => return Err(e),
        }
    }
    for f in &out {
        check_relative(&f.path)?;
    }
    Ok(Generated {
        files: out,
        sandbox_refused,
    })
}

/// Drops from `entries` the files under `dir/` that levee no longer generates: when the sandbox
/// refused the app, what is in `deploy/` stays as it was (neither removed nor reported).
pub(crate) fn leave_alone(entries: Vec<ManagedEntry>, dir: &str) -> Vec<ManagedEntry> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    entries
        .into_iter()
        .filter(|e| !(e.desired.is_none() && e.path.starts_with(&prefix)))
        .collect()
}

/// Records files levee wrote outside [`apply`] (`levee deploy`), so that they are not later
/// taken for hand edits, and forgets those it removed. Paths are relative to the app.
pub(crate) fn record(
    app: &Path,
    written: &[(String, String)],
    removed: &[String],
) -> Result<(), ManagedError> {
    let dir = open(app)?;
    let mut rec = ManagedRecord::load_in(&dir)?;
    for (path, content) in written {
        check_relative(path)?;
        rec.files.insert(path.clone(), hash(content.as_bytes()));
    }
    for path in removed {
        rec.files.remove(path);
    }
    rec.levee_version = crate::VERSION.to_string();
    let mut json = serde_json::to_string_pretty(&rec).unwrap_or_default();
    json.push('\n');
    write_in(&dir, RECORD_PATH, json.as_bytes())
}

/// Why managing files failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sandbox(#[from] crate::generate::sandbox::SandboxError),
    #[error("managed path `{0}` is not inside the app")]
    Escapes(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid record of managed files: {source}", path.display())]
    Record {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// An upgrade of the app was interrupted; `levee upgrade` completes it.
    #[error("{}: {source}", path.display())]
    Interrupted {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The directories levee owns whole: every file in them is generated, so a file levee does not
/// generate there is drift (OPA loads every `.rego` under `policy/`, `kubectl apply -f deploy/`
/// applies every manifest).
pub const OWNED_DIRS: &[&str] = &["policy", "deploy"];

fn check_relative(p: &str) -> Result<(), ManagedError> {
    let path = Path::new(p);
    if p.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(ManagedError::Escapes(p.to_string()));
    }
    Ok(())
}

/// `.levee/managed.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedRecord {
    /// The levee that last wrote the files.
    pub levee_version: String,
    /// Path -> `sha256:<hex>` of the content levee wrote.
    pub files: BTreeMap<String, String>,
}

/// How `managed.json` writes a file's hash: `sha256:<hex>`.
pub(crate) fn hash(content: &[u8]) -> String {
    format!("{HASH_PREFIX}{}", crate::support::hash::sha256_hex(content))
}

/// What [`hash`] puts before the hex digest.
pub(crate) const HASH_PREFIX: &str = "sha256:";

impl ManagedRecord {
    pub(crate) fn load(app: &Path) -> Result<ManagedRecord, ManagedError> {
        ManagedRecord::load_in(&open(app)?)
    }

    fn load_in(dir: &AppDir) -> Result<ManagedRecord, ManagedError> {
        let path = dir.display(Path::new(RECORD_PATH));
        match read_opt(dir, RECORD_PATH)? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|source| ManagedError::Record { path, source })
            }
            None => Ok(ManagedRecord::default()),
        }
    }
}

/// Opens the app directory for managed files (refusing one an interrupted upgrade left).
fn open(app: &Path) -> Result<AppDir, ManagedError> {
    let io = |action, source| ManagedError::Io {
        action,
        path: app.to_path_buf(),
        source,
    };
    let dir = AppDir::open(app).map_err(|e| io("open", e))?;
    if dir.pending().map_err(|e| io("read", e))?.is_some() {
        return Err(ManagedError::Interrupted {
            path: app.to_path_buf(),
            source: crate::support::appdir::interrupted_error(),
        });
    }
    Ok(dir)
}

/// The state of one managed file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Matches what levee generates.
    Current,
    /// Not on disk.
    Missing,
    /// What levee last wrote, but levee now generates something else.
    Stale,
    /// Changed by hand since levee wrote it (or never written by levee).
    Edited,
    /// Written by levee, no longer generated (to remove).
    Obsolete,
    /// No longer generated and changed by hand since (kept unless forced).
    ObsoleteEdited,
    /// Never generated by levee, in a directory levee owns ([`OWNED_DIRS`]; removed only when
    /// forced).
    Extra,
}

impl State {
    pub(crate) fn is_current(self) -> bool {
        self == State::Current
    }

    /// Changing this file would lose a hand edit.
    pub(crate) fn is_edited(self) -> bool {
        matches!(self, State::Edited | State::ObsoleteEdited | State::Extra)
    }
}

/// One managed file compared with the disk.
#[derive(Debug, Clone, Serialize)]
pub struct ManagedEntry {
    pub path: String,
    pub state: State,
    /// What levee generates (`None` for obsolete files).
    #[serde(skip)]
    pub desired: Option<String>,
    /// What is on disk.
    #[serde(skip)]
    pub actual: Option<String>,
}

impl ManagedEntry {
    /// A unified diff from the disk to what levee generates.
    pub(crate) fn diff(&self) -> String {
        let old = self.actual.as_deref().unwrap_or("");
        let new = self.desired.as_deref().unwrap_or("");
        // The path may be any file name found in the app: escaped, so the header stays one line.
        let path = crate::support::text::escape(&self.path);
        let (a, b) = match (self.actual.is_some(), self.desired.is_some()) {
            (true, true) => (format!("a/{path}"), format!("b/{path}")),
            (false, _) => ("/dev/null".into(), format!("b/{path}")),
            (true, false) => (format!("a/{path}"), "/dev/null".into()),
        };
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string()
    }
}

/// Compares the managed files with the app directory.
pub(crate) fn status(
    app: &Path,
    desired: &[ManagedFile],
) -> Result<Vec<ManagedEntry>, ManagedError> {
    let dir = open(app)?;
    let record = ManagedRecord::load_in(&dir)?;
    let mut reader = dir.reader();
    let mut entries = Vec::new();
    for f in desired {
        let actual = read_with(&mut reader, &dir, &f.path)?;
        let state = match &actual {
            None => State::Missing,
            Some(a) if *a == f.content => State::Current,
            Some(a) if record.files.get(&f.path) == Some(&hash(a.as_bytes())) => State::Stale,
            Some(_) => State::Edited,
        };
        entries.push(ManagedEntry {
            path: f.path.clone(),
            state,
            desired: Some(f.content.clone()),
            actual,
        });
    }
    for (path, recorded) in &record.files {
        if desired.iter().any(|f| &f.path == path) || check_relative(path).is_err() {
            continue;
        }
        if let Some(actual) = read_with(&mut reader, &dir, path)? {
            let state = if hash(actual.as_bytes()) == *recorded {
                State::Obsolete
            } else {
                State::ObsoleteEdited
            };
            entries.push(ManagedEntry {
                path: path.clone(),
                state,
                desired: None,
                actual: Some(actual),
            });
        }
    }
    // Files nobody generated in the directories levee owns.
    for owned in OWNED_DIRS {
        let found = dir
            .entries_under(Path::new(owned))
            .map_err(|source| ManagedError::Io {
                action: "read",
                path: dir.display(Path::new(owned)),
                source,
            })?;
        for (rel, kind) in found {
            if kind == crate::support::appdir::Kind::Dir {
                continue;
            }
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if desired.iter().any(|f| f.path == path) || record.files.contains_key(&path) {
                continue;
            }
            let actual = read_with(&mut reader, &dir, &path)?;
            entries.push(ManagedEntry {
                path,
                state: State::Extra,
                desired: None,
                actual,
            });
        }
    }
    Ok(entries)
}

fn read_opt(dir: &AppDir, rel: &str) -> Result<Option<String>, ManagedError> {
    read_with(&mut dir.reader(), dir, rel)
}

/// [`read_opt`] through a reader that keeps the directories it opened.
fn read_with(
    reader: &mut crate::support::appdir::Reader<'_>,
    dir: &AppDir,
    rel: &str,
) -> Result<Option<String>, ManagedError> {
    match reader.read(Path::new(rel), crate::support::appdir::MAX_FILE_BYTES) {
        // UTF-8 (every file levee generates) is taken as read; other bytes are shown lossily.
        Ok(b) => Ok(b.map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })),
        Err(source) => Err(ManagedError::Io {
            action: "read",
            path: dir.display(Path::new(rel)),
            source,
        }),
    }
}

/// What [`apply`] did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncAction {
    Unchanged,
    Written,
    Removed,
    /// Left alone: it was edited by hand and `--force` was not given.
    Refused,
}

/// Brings the app's managed files up to date. Hand-edited files are refused unless `force`.
/// The record is rewritten to what is on disk afterwards.
pub(crate) fn apply(
    app: &Path,
    entries: &[ManagedEntry],
    force: bool,
) -> Result<Vec<SyncAction>, ManagedError> {
    let dir = open(app)?;
    let mut record = ManagedRecord::load_in(&dir)?;
    let mut actions = Vec::new();
    for e in entries {
        let action = if e.state.is_current() {
            SyncAction::Unchanged
        } else if e.state.is_edited() && !force {
            SyncAction::Refused
        } else if let Some(content) = &e.desired {
            write_in(&dir, &e.path, content.as_bytes())?;
            SyncAction::Written
        } else {
            remove(&dir, &e.path)?;
            SyncAction::Removed
        };
        match (action, &e.desired) {
            (SyncAction::Removed, _) => {
                record.files.remove(&e.path);
            }
            (SyncAction::Written | SyncAction::Unchanged, Some(c)) => {
                record.files.insert(e.path.clone(), hash(c.as_bytes()));
            }
            _ => {}
        }
        actions.push(action);
    }
    // Obsolete files that are already gone leave the record too.
    let present: Vec<&String> = entries.iter().map(|e| &e.path).collect();
    record
        .files
        .retain(|p, _| present.contains(&p) || matches!(dir.kind(Path::new(p)), Ok(Some(_))));
    record.levee_version = crate::VERSION.to_string();
    let mut json = serde_json::to_string_pretty(&record).unwrap_or_default();
    json.push('\n');
    if read_opt(&dir, RECORD_PATH)?.as_deref() != Some(json.as_str()) {
        write_in(&dir, RECORD_PATH, json.as_bytes())?;
    }
    Ok(actions)
}

fn remove(dir: &AppDir, rel: &str) -> Result<(), ManagedError> {
    // Directories the removal left empty (`.github/workflows`) go too, never the app itself.
    dir.remove(Path::new(rel))
        .map(|_| ())
        .map_err(|source| ManagedError::Io {
            action: "remove",
            path: dir.display(Path::new(rel)),
            source,
        })
}

/// Writes a file of the app atomically, through [`AppDir`] (no symlink followed).
fn write_in(dir: &AppDir, rel: &str, bytes: &[u8]) -> Result<(), ManagedError> {
    dir.write(Path::new(rel), bytes, None)
        .map_err(|source| ManagedError::Io {
            action: "write",
            path: dir.display(Path::new(rel)),
            source,
        })
}

/// Writes one file of the app at `app` atomically (`app.yaml`, for `levee promote`).
pub(crate) fn write_file(app: &Path, rel: &str, bytes: &[u8]) -> Result<(), ManagedError> {
    write_in(&open(app)?, rel, bytes)
}

/// The managed pipeline for a CI other than the manifest's (for `levee pipeline --ci`).
pub(crate) fn pipeline_for(
    manifest: &Manifest,
    org: &Org,
    ci: Ci,
) -> Result<ManagedFile, ManagedError> {
    let plan = crate::generate::plan::for_manifest(manifest, org);
    Ok(ManagedFile {
        path: pipeline::path(ci).into(),
        content: pipeline::render(manifest, org, &plan, ci)?,
    })
}
