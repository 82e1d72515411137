//! Writing files so that a reader never sees half of one.
//!
//! Every file levee writes (managed files, catalog entries, policy bundles, deploy manifests, an
//! SBOM given `-o`) goes through [`write_atomic`]: the bytes go to a temporary file in the same
//! directory, are flushed (fsync), then renamed over the target, and the directory is synced.
//! A crash or a failed write leaves the old file intact; the temporary file is removed on error.
//!
//! A target that exists and is not a regular file (`/dev/stdout`, `/dev/null`, a named pipe) is
//! written directly instead: renaming over it would replace the device node or pipe with a
//! regular file, which is never what `-o /dev/stdout` means.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How [`write_atomic_with`] writes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Create the parent directory when it is missing.
    pub create_parent: bool,
    /// Sync the parent directory after the rename (batch writers sync once at the end instead).
    pub sync_parent: bool,
    /// Sleep between the synced temporary file and the rename (crash-safety tests only).
    pub pause_before_rename: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_parent: true,
            sync_parent: true,
            pause_before_rename: None,
        }
    }
}

/// Writes `bytes` to `path` atomically, creating the parent directory when needed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, bytes, Options::default())
}

/// [`write_atomic`] with explicit [`Options`].
pub(crate) fn write_atomic_with(path: &Path, bytes: &[u8], options: Options) -> io::Result<()> {
    if let Ok(meta) = fs::metadata(path)
        && !meta.is_file()
        && !meta.is_dir()
    {
        // A device or a pipe: there is nothing to replace atomically, write through it.
        return fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)?
            .write_all(bytes);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if options.create_parent {
        fs::create_dir_all(dir)?;
    }
    let staged = stage_in(dir, path, bytes)?;
    if let Some(pause) = options.pause_before_rename {
        std::thread::sleep(pause);
    }
    staged.commit(options.sync_parent)
}

/// A file written and flushed to a temporary file beside its target, not yet renamed over it:
/// the catalog takes its lock between the two. Dropped without [`Staged::commit`], the
/// temporary file is removed.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    done: bool,
}

/// Writes `bytes` to a temporary file beside `path` (whose directory must exist) and flushes it.
pub(crate) fn stage(path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    stage_in(dir, path, bytes)
}

/// [`stage`] without the flush: for a batch, whose files are flushed together (one `syncfs`, see
/// [`sync_filesystem`]) or one by one ([`Staged::sync`]) before any is renamed.
pub(crate) fn stage_unsynced(path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    stage_in_with(dir, path, bytes, false)
}

fn stage_in(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    stage_in_with(dir, path, bytes, true)
}

fn stage_in_with(dir: &Path, path: &Path, bytes: &[u8], sync: bool) -> io::Result<Staged> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut staged = Staged {
        tmp,
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        done: true,
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged.tmp)?;
    staged.done = false;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    Ok(staged)
}

impl Staged {
    /// Flushes the temporary file (one staged by [`stage_unsynced`]).
    pub(crate) fn sync(&self) -> io::Result<()> {
        fs::File::open(&self.tmp)?.sync_all()
    }

    /// Renames the temporary file over the target, then syncs the directory when asked.
    pub(crate) fn commit(mut self, sync_parent: bool) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)?;
        self.done = true;
        if sync_parent {
            sync_dir(&self.dir);
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Removes the temporary files a crashed writer left in `dir` (`.NAME.PID.N.tmp`, as
/// [`write_atomic`] names them) that are older than `age`: a writer holds its temporary file for
/// milliseconds. Returns how many were removed.
pub(crate) fn remove_stale_temporaries(dir: &Path, age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with('.') && name.ends_with(".tmp")) {
            continue;
        }
        let old = entry
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d > age);
        if old && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Flushes the whole filesystem `dir` is on (`syncfs`) and waits for it: Linux only, elsewhere an
/// `Unsupported` error (the caller then flushes its files one by one).
pub(crate) fn sync_filesystem(dir: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::fs::syncfs(fs::File::open(dir)?)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "flushing a whole filesystem needs Linux's syncfs",
        ))
    }
}

/// Syncs a directory so a rename survives a power cut (best effort: not every platform can).
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("io");
        let path = dir.path().join("sub/a.txt");
        write_atomic(&path, b"one").expect("io");
        write_atomic(&path, b"two").expect("io");
        assert_eq!(fs::read(&path).expect("io"), b"two");
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .expect("io")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_cleans_up() {
        let dir = tempfile::tempdir().expect("io");
        let path = dir.path().join("a.txt");
        fs::write(&path, "old").expect("io");
        // Renaming a file over a non-empty directory fails.
        let target = dir.path().join("d");
        fs::create_dir(&target).expect("io");
        fs::write(target.join("x"), "x").expect("io");
        assert!(write_atomic(&target, b"new").is_err());
        assert_eq!(fs::read_to_string(&path).expect("io"), "old");
        let left: Vec<_> = fs::read_dir(dir.path())
            .expect("io")
            .map(|e| e.expect("io").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_written_through() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().expect("io");
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).expect("io"))
        };
        write_atomic(&fifo, b"through the pipe").expect("io");
        assert_eq!(reader.join().expect("io"), b"through the pipe");
        assert!(fs::metadata(&fifo).expect("io").file_type().is_fifo());
    }
}
