//! The store: `<dir>/<id>.json`, one file per app.
//!
//! Writes are atomic: the entry goes to a temporary file in the same directory, is flushed to
//! disk (fsync), then renamed over the old file, and the directory is synced. Readers see the old
//! entry or the new one, never a mix; a crash before the rename leaves the old entry intact (and
//! a `.*.tmp` file that loading ignores, and that a later registration removes once it is stale).
//! Parallel writers of different apps never touch the same file. A change that depends on what
//! the entry held (registration refusing a second app with the same id, `lifecycle --apply`
//! marking an app deprovisioned) goes through [`Store::update`]: the new file is written and
//! flushed first, then, under an advisory lock on the catalog directory, the entry is read again
//! and the file renamed into place only if the entry is still the one the change was computed
//! from (otherwise the change is computed again). No process's change is lost, and the lock is
//! held for one read and one rename. A batch (`catalog scan`, `register` of many apps) takes the
//! same steps for all its entries at once ([`Store::prepare`], [`Store::commit_batch`]): every
//! temporary file is written, then all are flushed (one `syncfs`), then the lock is taken once
//! for the reads and renames.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Entry;
use crate::support::fsio::{self, sync_dir};

/// The catalog directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// An entry file that could not be read, by path.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Corrupt {
    pub path: PathBuf,
    pub message: String,
}

/// Every readable entry, sorted by id, and every unreadable one.
#[derive(Debug, Default)]
pub struct LoadedCatalog {
    pub entries: Vec<Entry>,
    pub corrupt: Vec<Corrupt>,
}

/// A catalog operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("no catalog at {}", .0.display())]
    Missing(PathBuf),
    #[error(
        "`{0}` is not a valid app id (lowercase letters, digits and dashes, 2 to 63 characters)"
    )]
    BadId(String),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
}

/// The largest catalog entry read (an entry is a few kilobytes).
const MAX_ENTRY_BYTES: u64 = 4 << 20;

/// Milliseconds every catalog write sleeps after its temporary file is written and synced,
/// before the rename; 0 (never set by levee itself) is no pause. Only a program that links the
/// library and calls [`pause_writes`] sets it: the shipped binary reads no setting for it.
static PAUSE_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Makes every catalog write in this process wait `pause` between writing its temporary file
/// and renaming it into place: the window the crash-safety and race tests kill or race in
/// (`tests/levee_paused.rs`, a `levee` with this set, runs them).
pub fn pause_writes(pause: std::time::Duration) {
    let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX);
    PAUSE_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of an app id.
    pub(crate) fn path_of(&self, id: &str) -> Result<PathBuf, CatalogError> {
        if !crate::model::manifest::is_valid_name(id) {
            return Err(CatalogError::BadId(id.to_string()));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Fails with [`CatalogError::Missing`] when the directory does not exist.
    pub(crate) fn require(&self) -> Result<(), CatalogError> {
        if self.dir.is_dir() {
            Ok(())
        } else {
            Err(CatalogError::Missing(self.dir.clone()))
        }
    }

    /// Reads every entry, in parallel. A corrupt file is reported and the others still load.
    pub fn load_all(&self) -> Result<LoadedCatalog, CatalogError> {
        self.require()?;
        let io = |source| CatalogError::Io {
            action: "read",
            path: self.dir.clone(),
            source,
        };
        let mut paths = Vec::new();
        for item in fs::read_dir(&self.dir).map_err(io)? {
            let path = item.map_err(io)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && !name.starts_with('.') {
                paths.push(path);
            }
        }
        let results: Vec<Result<Entry, Corrupt>> =
            paths.par_iter().map(|p| read_entry(p)).collect();
        let mut out = LoadedCatalog::default();
        for r in results {
            match r {
                Ok(e) => out.entries.push(e),
                Err(c) => out.corrupt.push(c),
            }
        }
        out.entries.sort_by(|a, b| a.id.cmp(&b.id));
        out.corrupt.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// One entry, if present.
    pub fn get(&self, id: &str) -> Result<Option<Entry>, CatalogError> {
        let path = self.path_of(id)?;
        if !path.exists() {
            return Ok(None);
        }
        read_entry(&path)
            .map(Some)
            .map_err(|c| CatalogError::Corrupt {
                path: c.path,
                message: c.message,
            })
    }

    /// Writes an entry atomically, creating the directory when needed.
    pub fn put(&self, entry: &Entry) -> Result<(), CatalogError> {
        self.put_inner(entry, true)
    }

    /// Syncs the catalog directory (after [`Store::update_deferred`]).
    pub(crate) fn flush(&self) {
        sync_dir(&self.dir);
    }

    fn put_inner(&self, entry: &Entry, sync_parent: bool) -> Result<(), CatalogError> {
        let path = self.path_of(&entry.id)?;
        self.create_dir()?;
        let mut text = serde_json::to_string_pretty(entry).map_err(|e| CatalogError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        write_file(&path, text.as_bytes(), sync_parent)
    }

    /// Reads the entry `id`, asks `decide` what it should become (`None`: leave it), and writes
    /// that, with no other levee changing the entry in between (see the module docs). `decide`
    /// may be called more than once, each time with the entry as it is then. True when
    /// something was written.
    pub(crate) fn update(
        &self,
        id: &str,
        decide: impl FnMut(Option<&Entry>) -> Option<Entry>,
    ) -> Result<bool, CatalogError> {
        self.update_inner(id, decide, true)
    }

    /// Like [`Store::update`], but leaves syncing the directory to [`Store::flush`]: for batches
    /// (`catalog scan` and `register` write many entries, then sync the directory once). The
    /// entry file is still synced before its rename, so a crash leaves the previous entry or
    /// the new one, never a torn file; the renames are durable once `flush` returns.
    pub(crate) fn update_deferred(
        &self,
        id: &str,
        decide: impl FnMut(Option<&Entry>) -> Option<Entry>,
    ) -> Result<bool, CatalogError> {
        self.update_inner(id, decide, false)
    }

    fn update_inner(
        &self,
        id: &str,
        mut decide: impl FnMut(Option<&Entry>) -> Option<Entry>,
        sync_parent: bool,
    ) -> Result<bool, CatalogError> {
        let path = self.path_of(id)?;
        self.create_dir()?;
        let io = |action, source| CatalogError::Io {
            action,
            path: path.clone(),
            source,
        };
        for _ in 0..MAX_ATTEMPTS {
            let before = read_raw(&path).map_err(|e| io("read", e))?;
            let Some(text) = decided_text(&path, before.as_deref(), &mut decide)? else {
                return Ok(false);
            };
            let staged = fsio::stage(&path, text.as_bytes()).map_err(|e| io("write", e))?;
            if let Some(pause) = pause() {
                std::thread::sleep(pause);
            }
            let lock = self.lock()?;
            if read_raw(&path).map_err(|e| io("read", e))? != before {
                continue; // changed meanwhile: decide again from what it is now
            }
            staged.commit(false).map_err(|e| io("write", e))?;
            // The directory is synced outside the lock, so parallel writers overlap their syncs.
            drop(lock);
            if sync_parent {
                sync_dir(&self.dir);
            }
            return Ok(true);
        }
        Err(CatalogError::Io {
            action: "update",
            path,
            source: std::io::Error::other(format!(
                "the entry kept changing under {MAX_ATTEMPTS} attempts by other levee runs"
            )),
        })
    }

    /// The first half of [`Store::update_deferred`] for a batch: reads the entry `id`, asks
    /// `decide` what it should become (`None`: leave it) and writes that to a temporary file,
    /// not flushed. [`Store::commit_batch`] flushes and renames a batch of them.
    pub(crate) fn prepare(
        &self,
        id: &str,
        decide: impl FnOnce(Option<&Entry>) -> Option<Entry>,
    ) -> Result<Option<Prepared>, CatalogError> {
        let path = self.path_of(id)?;
        self.create_dir()?;
        let io = |action, source| CatalogError::Io {
            action,
            path: path.clone(),
            source,
        };
        let before = read_raw(&path).map_err(|e| io("read", e))?;
        let Some(text) = decided_text(&path, before.as_deref(), decide)? else {
            return Ok(None);
        };
        let staged = fsio::stage_unsynced(&path, text.as_bytes()).map_err(|e| io("write", e))?;
        Ok(Some(Prepared {
            path,
            before,
            staged,
        }))
    }

    /// The second half, for every prepared entry at once: their temporary files are flushed
    /// (one `syncfs` for a batch of 8 or more while little else waits to be written, as a fleet
    /// upgrade does, else each file's own fsync), then, under one lock, each is renamed into
    /// place if its entry is still the one it was computed from. Returns, in order, whether each
    /// was written: `false` when its entry changed meanwhile (the caller decides again, through
    /// [`Store::update_deferred`]). The directory is synced by [`Store::flush`].
    pub(crate) fn commit_batch(
        &self,
        batch: Vec<Prepared>,
    ) -> Result<Vec<Result<bool, CatalogError>>, CatalogError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let barrier = crate::support::appdir::Durability::for_many(batch.len())
            == crate::support::appdir::Durability::Barrier
            && fsio::sync_filesystem(&self.dir).is_ok();
        if !barrier {
            batch
                .par_iter()
                .try_for_each(|p| p.staged.sync())
                .map_err(|source| CatalogError::Io {
                    action: "write",
                    path: self.dir.clone(),
                    source,
                })?;
        }
        if let Some(pause) = pause() {
            std::thread::sleep(pause);
        }
        let lock = self.lock()?;
        let mut written = Vec::with_capacity(batch.len());
        for p in batch {
            let io = |action, source| CatalogError::Io {
                action,
                path: p.path.clone(),
                source,
            };
            // An entry changed meanwhile is not written: its temporary file goes with `p`.
            written.push(match read_raw(&p.path) {
                Ok(now) if now == p.before => p
                    .staged
                    .commit(false)
                    .map(|()| true)
                    .map_err(|e| io("write", e)),
                Ok(_) => Ok(false),
                Err(e) => Err(io("read", e)),
            });
        }
        drop(lock);
        Ok(written)
    }

    fn create_dir(&self) -> Result<(), CatalogError> {
        fs::create_dir_all(&self.dir).map_err(|source| CatalogError::Io {
            action: "create",
            path: self.dir.clone(),
            source,
        })
    }

    /// An exclusive advisory lock on the catalog directory (the directory itself is locked, so
    /// no lock file lands in the git-backed store), released when the guard is dropped.
    pub(crate) fn lock(&self) -> Result<std::fs::File, CatalogError> {
        let io = |source| CatalogError::Io {
            action: "lock",
            path: self.dir.clone(),
            source,
        };
        let dir = open_dir(&self.dir).map_err(io)?;
        dir.lock().map_err(io)?;
        Ok(dir)
    }

    /// Removes temporary files crashed writers left in the catalog (older than ten minutes).
    pub(crate) fn remove_stale_temporaries(&self) -> usize {
        fsio::remove_stale_temporaries(&self.dir, std::time::Duration::from_secs(600))
    }

    /// Removes an entry; false when there was none.
    pub(crate) fn remove(&self, id: &str) -> Result<bool, CatalogError> {
        let path = self.path_of(id)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CatalogError::Io {
                action: "remove",
                path,
                source,
            }),
        }
    }
}

/// An entry written to a temporary file by [`Store::prepare`], neither flushed nor renamed yet.
#[derive(Debug)]
pub(crate) struct Prepared {
    path: PathBuf,
    /// The entry's bytes when it was read (`None`: there was none).
    before: Option<Vec<u8>>,
    staged: fsio::Staged,
}

fn read_entry(path: &Path) -> Result<Entry, Corrupt> {
    let bytes = crate::support::input::read(path, MAX_ENTRY_BYTES).map_err(|e| Corrupt {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    parse_entry(path, &bytes)
}

/// An entry's bytes, `None` when there is no entry.
fn read_raw(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match crate::support::input::read(path, MAX_ENTRY_BYTES) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens the catalog directory itself (for its lock), without blocking on anything that is
/// not a directory.
#[cfg(unix)]
fn open_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(std::fs::File::from(fd))
}

/// Elsewhere a directory cannot be opened as a file: a lock file beside the entries.
#[cfg(not(unix))]
fn open_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(".levee-catalog.lock"))
}

/// How often [`Store::update`] computes a change again before giving up.
const MAX_ATTEMPTS: usize = 64;

fn pause() -> Option<std::time::Duration> {
    match PAUSE_MS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => None,
        ms => Some(std::time::Duration::from_millis(ms)),
    }
}

fn parse_entry(path: &Path, bytes: &[u8]) -> Result<Entry, Corrupt> {
    let corrupt = |message: String| Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let entry: Entry = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if !crate::model::manifest::is_valid_name(&entry.id) {
        return Err(corrupt(format!(
            "`{}` is not a valid app id (lowercase letters, digits and dashes)",
            crate::support::text::escape(&entry.id)
        )));
    }
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if entry.id != stem {
        return Err(corrupt(format!(
            "the file name says `{stem}` but the entry's id is `{}`",
            entry.id
        )));
    }
    if entry.schema_version != super::SCHEMA_VERSION {
        return Err(corrupt(format!(
            "schema_version {} is not supported by this levee (expects {})",
            entry.schema_version,
            super::SCHEMA_VERSION
        )));
    }
    Ok(entry)
}

/// Writes `bytes` to `path` atomically (see [`crate::support::fsio`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CatalogError> {
    write_file(path, bytes, true)
}

fn write_file(path: &Path, bytes: &[u8], sync_parent: bool) -> Result<(), CatalogError> {
    let options = fsio::Options {
        create_parent: false,
        sync_parent,
        pause_before_rename: pause(),
    };
    fsio::write_atomic_with(path, bytes, options).map_err(|source| CatalogError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// What `decide` makes of the entry file's bytes `before` (a corrupt entry counts as none: it is
/// replaced by a good one), as the file's text; `None`: leave the entry as it is.
fn decided_text(
    path: &Path,
    before: Option<&[u8]>,
    decide: impl FnOnce(Option<&Entry>) -> Option<Entry>,
) -> Result<Option<String>, CatalogError> {
    let current = before.and_then(|b| parse_entry(path, b).ok());
    let Some(entry) = decide(current.as_ref()) else {
        return Ok(None);
    };
    let mut text = serde_json::to_string_pretty(&entry).map_err(|e| CatalogError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    Ok(Some(text))
}
