//! `levee deploy`'s work: the sandbox files for an app ([`sandbox::deploy_files`]) written into
//! the app's `deploy/` (through [`AppDir`], recorded as managed files) or into another directory,
//! and the files levee generated there earlier and no longer generates removed.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::generate::sandbox::{self, DeployOptions, DeployRefusal, SandboxError};
use crate::model::manifest::Manifest;
use crate::model::org::Org;
use crate::support::appdir::{self, AppDir};

/// Where the files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Nowhere: the caller prints them.
    None,
    /// The app's own `deploy/` (the app directory given).
    App(PathBuf),
    /// Another directory, the files without their `deploy/` prefix.
    Dir(PathBuf),
}

/// What [`deploy`] did.
#[derive(Debug)]
pub enum Deployed {
    /// The manifest asks for something the sandbox will not run; nothing was written.
    Refused(Vec<DeployRefusal>),
    /// The files (relative to the app, under `deploy/`), and what was written and removed.
    Files(Written),
}

/// The files of a deploy, and where they went.
#[derive(Debug)]
pub struct Written {
    /// Every generated file: its path under the app (`deploy/...`) and its content.
    pub files: Vec<(PathBuf, String)>,
    /// The files written (empty for [`Destination::None`]).
    pub written: Vec<PathBuf>,
    /// The files removed because levee no longer generates them.
    pub removed: Vec<PathBuf>,
    /// The directory the files went into.
    pub root: PathBuf,
}

/// Generates the sandbox files of `manifest` and writes them to `dest`.
pub(crate) fn deploy(
    manifest: &Manifest,
    org: &Org,
    options: &DeployOptions,
    dest: &Destination,
) -> anyhow::Result<Deployed> {
    let files = match sandbox::deploy_files(manifest, org, options) {
        Ok(files) => files,
        Err(SandboxError::Refused { refusals, .. }) => return Ok(Deployed::Refused(refusals)),
        Err(e) => return Err(e.into()),
    };
    let written = match dest {
        Destination::None => Written {
            files,
            written: Vec::new(),
            removed: Vec::new(),
            root: PathBuf::new(),
        },
        Destination::App(app_dir) => into_app(app_dir, files)?,
        Destination::Dir(dir) => into_dir(dir, files)?,
    };
    Ok(Deployed::Files(written))
}

/// Into the app: through [`AppDir`] (no symlink followed, nothing written outside the app), and
/// recorded as managed files, as `levee sync` records them, so a later sync or promote knows them
/// for levee's own and never calls them hand edits.
fn into_app(app_dir: &Path, files: Vec<(PathBuf, String)>) -> anyhow::Result<Written> {
    let dir =
        AppDir::open(app_dir).with_context(|| format!("cannot open {}", app_dir.display()))?;
    if dir.pending()?.is_some() {
        return Err(appdir::interrupted_error().into());
    }
    // Read the record first: a broken one stops deploy before it writes anything.
    crate::generate::managed::ManagedRecord::load(app_dir)?;
    let mut written = Vec::new();
    for (path, content) in &files {
        let dest = app_dir.join(path);
        dir.write(path, content.as_bytes(), None)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        written.push(dest);
    }
    let removed = remove_stale_in(&dir, &files)?;
    let rel = |p: &Path| {
        p.strip_prefix(app_dir)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let recorded: Vec<(String, String)> = files
        .iter()
        .map(|(p, c)| (p.to_string_lossy().replace('\\', "/"), c.clone()))
        .collect();
    let gone: Vec<String> = removed.iter().map(|p| rel(p)).collect();
    crate::generate::managed::record(app_dir, &recorded, &gone)
        .with_context(|| format!("cannot record the files written in {}", app_dir.display()))?;
    Ok(Written {
        files,
        written,
        removed,
        root: app_dir.join(sandbox::DEPLOY_DIR),
    })
}

/// Into another directory, each file without its `deploy/` prefix, written atomically.
fn into_dir(target: &Path, files: Vec<(PathBuf, String)>) -> anyhow::Result<Written> {
    let mut written = Vec::new();
    for (path, content) in &files {
        let rel = path.strip_prefix(sandbox::DEPLOY_DIR).unwrap_or(path);
        let dest = target.join(rel);
        crate::support::fsio::write_atomic(&dest, content.as_bytes())
            .with_context(|| format!("cannot write {}", dest.display()))?;
        written.push(dest);
    }
    let removed = remove_stale(target, &written)?;
    Ok(Written {
        files,
        written,
        removed,
        root: target.to_path_buf(),
    })
}

/// Whether a file's text starts with the header levee writes on its sandbox files.
fn generated_by_levee(head: &str) -> bool {
    head.lines()
        .next()
        .is_some_and(|l| l.contains("Generated by levee v") && l.contains("levee sync"))
}

/// Removes files under `root` that levee generated earlier (they start with levee's header) and
/// did not generate now (an egress allow-list after the egress list was emptied). Files without
/// the header are left alone.
fn remove_stale(root: &Path, keep: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for dir in [root.to_path_buf(), root.join("admission")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() || keep.contains(&path) {
                continue;
            }
            let head = crate::support::input::read(&path, appdir::MAX_FILE_BYTES)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if generated_by_levee(&head) {
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                removed.push(path);
            }
        }
    }
    Ok(removed)
}

/// [`remove_stale`] for the app's own `deploy/`, through [`AppDir`].
fn remove_stale_in(dir: &AppDir, keep: &[(PathBuf, String)]) -> anyhow::Result<Vec<PathBuf>> {
    let deploy = Path::new(sandbox::DEPLOY_DIR);
    let mut removed = Vec::new();
    for (rel, kind) in dir.entries_under(deploy)? {
        let depth = rel
            .strip_prefix(deploy)
            .map_or(0, |r| r.components().count());
        let in_scope = depth == 1 || (depth == 2 && rel.starts_with(deploy.join("admission")));
        if !matches!(kind, appdir::Kind::File { .. })
            || !in_scope
            || keep.iter().any(|(p, _)| *p == rel)
        {
            continue;
        }
        let head = dir
            .read(&rel, appdir::MAX_FILE_BYTES)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if generated_by_levee(&head) {
            dir.remove(&rel)
                .with_context(|| format!("cannot remove {}", dir.display(&rel).display()))?;
            removed.push(dir.display(&rel));
        }
    }
    Ok(removed)
}
