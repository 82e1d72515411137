//! The store: `<dir>/<id>.json`, one file per app.
//!
//! Writes are atomic: the entry goes to a temporary file in the same directory, is flushed to
//! disk (fsync), then renamed over the old file, and the directory is synced. Readers see the old
//! entry or the new one, never a mix; a crash before the rename leaves the old entry intact (and
//! a `.*.tmp` file that loading ignores). Parallel writers of different apps never touch the same
//! file; parallel writers of one app each rename a complete file, the last one wins.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Entry;
use crate::fsio::{self, sync_dir};

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

/// Hidden test hook: milliseconds to sleep after the temporary file is written and synced,
/// before the rename (the crash-safety test kills the process in that window).
const PAUSE_ENV: &str = "LEVEE_TEST_CATALOG_PAUSE_BEFORE_RENAME_MS";

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of an app id.
    pub fn path_of(&self, id: &str) -> Result<PathBuf, CatalogError> {
        if !crate::manifest::is_valid_name(id) {
            return Err(CatalogError::BadId(id.to_string()));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Fails with [`CatalogError::Missing`] when the directory does not exist.
    pub fn require(&self) -> Result<(), CatalogError> {
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

    /// Like [`Store::put`], but leaves syncing the directory to [`Store::flush`]: for batches
    /// (a scan writes a thousand entries; one directory sync at the end instead of one each).
    /// The entry file itself is synced before its rename either way, so a crash still leaves
    /// the previous entry or the new one, never a torn file.
    pub fn put_deferred(&self, entry: &Entry) -> Result<(), CatalogError> {
        self.put_inner(entry, false)
    }

    /// Syncs the catalog directory (after [`Store::put_deferred`]).
    pub fn flush(&self) {
        sync_dir(&self.dir);
    }

    fn put_inner(&self, entry: &Entry, sync_parent: bool) -> Result<(), CatalogError> {
        let path = self.path_of(&entry.id)?;
        fs::create_dir_all(&self.dir).map_err(|source| CatalogError::Io {
            action: "create",
            path: self.dir.clone(),
            source,
        })?;
        let mut text = serde_json::to_string_pretty(entry).map_err(|e| CatalogError::Corrupt {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        write_file(&path, text.as_bytes(), sync_parent)
    }

    /// Removes an entry; false when there was none.
    pub fn remove(&self, id: &str) -> Result<bool, CatalogError> {
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

fn read_entry(path: &Path) -> Result<Entry, Corrupt> {
    let corrupt = |message: String| Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let bytes = crate::input::read(path, MAX_ENTRY_BYTES)
        .map_err(|e| corrupt(format!("cannot read: {e}")))?;
    let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
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

/// Writes `bytes` to `path` atomically (see [`crate::fsio`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CatalogError> {
    write_file(path, bytes, true)
}

fn write_file(path: &Path, bytes: &[u8], sync_parent: bool) -> Result<(), CatalogError> {
    let options = fsio::Options {
        create_parent: false,
        sync_parent,
        pause_before_rename: std::env::var(PAUSE_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_millis),
    };
    fsio::write_atomic_with(path, bytes, options).map_err(|source| CatalogError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}
