//! Managed files: the files levee owns in an app and regenerates from `app.yaml` + the org config.
//!
//! [`files`] is the full list for an app (path -> content); each generator (pipeline, CODEOWNERS,
//! and later the policy bundle, `catalog-info.yaml`, `deploy/`) adds its files there, and
//! `levee sync` writes or checks them all. `.levee/managed.json` records the hash of every file
//! levee last wrote, so that a hand edit is told apart from a stale file, and a file levee no
//! longer generates (the GitHub workflow after `ci: gitlab`) is removed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::manifest::{Ci, Manifest};
use crate::org::Org;
use crate::pipeline::{self, PipelineError};

/// Where the record of managed files lives, relative to the app.
pub const RECORD_PATH: &str = ".levee/managed.json";

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
    Ok(crate::policy::bundle(inputs.manifest, inputs.org)
        .into_iter()
        .map(|(path, content)| ManagedFile { path, content })
        .collect())
}

/// The app's own Backstage entity, for orgs whose developer portal reads `catalog-info.yaml`.
fn catalog_entity(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    Ok(vec![ManagedFile {
        path: "catalog-info.yaml".into(),
        content: crate::catalog::backstage::entity(inputs.manifest, inputs.org, None),
    }])
}

/// The runtime sandbox: Kubernetes manifests and Kyverno admission policies under `deploy/`.
fn sandbox_files(inputs: &Inputs<'_>) -> Result<Vec<ManagedFile>, ManagedError> {
    let options = crate::sandbox::DeployOptions::default();
    Ok(
        crate::sandbox::deploy_files(inputs.manifest, inputs.org, &options)?
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
    let plan = crate::plan::for_manifest(inputs.manifest, inputs.org);
    let mut files = vec![ManagedFile {
        path: pipeline::path(ci).into(),
        content: pipeline::render(inputs.manifest, inputs.org, &plan, ci)?,
    }];
    if let Some(content) = pipeline::render_upgrade(inputs.manifest, inputs.org, &plan, ci)? {
        files.push(ManagedFile {
            path: crate::upgrade_job::GITHUB_PATH.into(),
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
pub fn files(manifest: &Manifest, org: &Org) -> Result<Vec<ManagedFile>, ManagedError> {
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
    pub sandbox_refused: Option<Vec<crate::sandbox::Refusal>>,
}

/// The managed files of an app, as many as can be generated: a sandbox refusal leaves out
/// `deploy/` and is returned with the rest, so `levee sync` still writes the pipeline, the
/// policy bundle and the catalog entity.
pub fn generate(manifest: &Manifest, org: &Org) -> Result<Generated, ManagedError> {
    let inputs = Inputs { manifest, org };
    let mut out = Vec::new();
    let mut sandbox_refused = None;
    for g in GENERATORS {
        match g(&inputs) {
            Ok(files) => out.extend(files),
            Err(ManagedError::Sandbox(crate::sandbox::SandboxError::Refused {
                refusals, ..
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
pub fn leave_alone(entries: Vec<Entry>, dir: &str) -> Vec<Entry> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    entries
        .into_iter()
        .filter(|e| !(e.desired.is_none() && e.path.starts_with(&prefix)))
        .collect()
}

/// Records files levee wrote outside [`apply`] (`levee deploy`), so that they are not later
/// taken for hand edits, and forgets those it removed. Paths are relative to the app.
pub fn record(
    app: &Path,
    written: &[(String, String)],
    removed: &[String],
) -> Result<(), ManagedError> {
    let mut rec = Record::load(app)?;
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
    write_atomic(&app.join(RECORD_PATH), json.as_bytes())
}

/// Why managing files failed.
#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
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
}

fn check_relative(p: &str) -> Result<(), ManagedError> {
    let path = Path::new(p);
    if p.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(ManagedError::Escapes(p.to_string()));
    }
    Ok(())
}

/// `.levee/managed.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The levee that last wrote the files.
    pub levee_version: String,
    /// Path -> `sha256:<hex>` of the content levee wrote.
    pub files: BTreeMap<String, String>,
}

pub fn hash(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl Record {
    pub fn load(app: &Path) -> Result<Record, ManagedError> {
        let path = app.join(RECORD_PATH);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ManagedError::Record { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
            Err(source) => Err(ManagedError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }
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
}

impl State {
    pub fn is_current(self) -> bool {
        self == State::Current
    }

    /// Changing this file would lose a hand edit.
    pub fn is_edited(self) -> bool {
        matches!(self, State::Edited | State::ObsoleteEdited)
    }
}

/// One managed file compared with the disk.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub path: String,
    pub state: State,
    /// What levee generates (`None` for obsolete files).
    #[serde(skip)]
    pub desired: Option<String>,
    /// What is on disk.
    #[serde(skip)]
    pub actual: Option<String>,
}

impl Entry {
    /// A unified diff from the disk to what levee generates.
    pub fn diff(&self) -> String {
        let old = self.actual.as_deref().unwrap_or("");
        let new = self.desired.as_deref().unwrap_or("");
        let (a, b) = match (self.actual.is_some(), self.desired.is_some()) {
            (true, true) => (format!("a/{}", self.path), format!("b/{}", self.path)),
            (false, _) => ("/dev/null".into(), format!("b/{}", self.path)),
            (true, false) => (format!("a/{}", self.path), "/dev/null".into()),
        };
        similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string()
    }
}

/// Compares the managed files with the app directory.
pub fn status(app: &Path, desired: &[ManagedFile]) -> Result<Vec<Entry>, ManagedError> {
    let record = Record::load(app)?;
    let mut entries = Vec::new();
    for f in desired {
        let actual = read_opt(&app.join(&f.path))?;
        let state = match &actual {
            None => State::Missing,
            Some(a) if *a == f.content => State::Current,
            Some(a) if record.files.get(&f.path) == Some(&hash(a.as_bytes())) => State::Stale,
            Some(_) => State::Edited,
        };
        entries.push(Entry {
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
        if let Some(actual) = read_opt(&app.join(path))? {
            let state = if hash(actual.as_bytes()) == *recorded {
                State::Obsolete
            } else {
                State::ObsoleteEdited
            };
            entries.push(Entry {
                path: path.clone(),
                state,
                desired: None,
                actual: Some(actual),
            });
        }
    }
    Ok(entries)
}

fn read_opt(path: &Path) -> Result<Option<String>, ManagedError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ManagedError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// What [`apply`] did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Unchanged,
    Written,
    Removed,
    /// Left alone: it was edited by hand and `--force` was not given.
    Refused,
}

/// Brings the app's managed files up to date. Hand-edited files are refused unless `force`.
/// The record is rewritten to what is on disk afterwards.
pub fn apply(app: &Path, entries: &[Entry], force: bool) -> Result<Vec<Action>, ManagedError> {
    let mut record = Record::load(app)?;
    let mut actions = Vec::new();
    for e in entries {
        let action = if e.state.is_current() {
            Action::Unchanged
        } else if e.state.is_edited() && !force {
            Action::Refused
        } else if let Some(content) = &e.desired {
            write_atomic(&app.join(&e.path), content.as_bytes())?;
            Action::Written
        } else {
            remove(app, &e.path)?;
            Action::Removed
        };
        match (action, &e.desired) {
            (Action::Removed, _) => {
                record.files.remove(&e.path);
            }
            (Action::Written | Action::Unchanged, Some(c)) => {
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
        .retain(|p, _| present.contains(&p) || app.join(p).exists());
    record.levee_version = crate::VERSION.to_string();
    let mut json = serde_json::to_string_pretty(&record).unwrap_or_default();
    json.push('\n');
    let path = app.join(RECORD_PATH);
    if read_opt(&path)?.as_deref() != Some(json.as_str()) {
        write_atomic(&path, json.as_bytes())?;
    }
    Ok(actions)
}

fn remove(app: &Path, rel: &str) -> Result<(), ManagedError> {
    let path = app.join(rel);
    fs::remove_file(&path).map_err(|source| ManagedError::Io {
        action: "remove",
        path: path.clone(),
        source,
    })?;
    // Drop directories levee's removal left empty (`.github/workflows`), never the app itself.
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == app || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Writes a file atomically (see [`crate::fsio`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ManagedError> {
    crate::fsio::write_atomic(path, bytes).map_err(|source| ManagedError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// The managed pipeline for a CI other than the manifest's (for `levee pipeline --ci`).
pub fn pipeline_for(manifest: &Manifest, org: &Org, ci: Ci) -> Result<ManagedFile, ManagedError> {
    let plan = crate::plan::for_manifest(manifest, org);
    Ok(ManagedFile {
        path: pipeline::path(ci).into(),
        content: pipeline::render(manifest, org, &plan, ci)?,
    })
}
