//! Reading what levee is given: one bounded reader for every input.
//!
//! Every file levee reads (manifests, org configs, answers files, lock files, metrics, catalog
//! entries, SBOMs, pack files, policy bundles) goes through [`read`]:
//! - only a regular file is read: a named pipe, a device (`/dev/zero`, `/dev/urandom`, a
//!   terminal), a socket or a directory is refused without blocking (the file is opened
//!   non-blocking and checked before the first read, so a FIFO with no writer cannot hang levee);
//! - at most `limit` bytes are read: the cap is on the bytes actually read, not on what
//!   `metadata().len()` claims (a file that grows while it is read, or a special file that
//!   reports 0, still stops at the cap), and going past it is an error of kind
//!   [`io::ErrorKind::FileTooLarge`].

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Reads the regular file at `path`, refusing anything else and more than `limit` bytes.
pub(crate) fn read(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_file(open(path)?, limit)
}

/// Reads an open file after checking that it is a regular file (for files opened by
/// [`crate::support::appdir`], which opens them without following symlinks).
pub(crate) fn read_file(file: File, limit: u64) -> io::Result<Vec<u8>> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    // Sized from the file's length, so a file is read in one call (and one that reports end of
    // file), not in reads that start at 32 bytes and double; the cap still holds if it grew.
    let hint = meta.len().min(limit).saturating_add(1);
    read_capped_into(
        file,
        limit,
        Vec::with_capacity(usize::try_from(hint).unwrap_or(0)),
    )
}

/// Is this the error [`read`] returns for an input over its cap?
pub(crate) fn is_too_large(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::FileTooLarge
}

fn read_capped_into(reader: impl Read, limit: u64, mut bytes: Vec<u8>) -> io::Result<Vec<u8>> {
    // One byte past the cap tells "exactly at the cap" from "over it" without reading more.
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("more than {limit} bytes; levee reads at most that much from this input"),
        ));
    }
    Ok(bytes)
}

/// Opens `path` for reading without blocking on a named pipe or a device.
#[cfg(unix)]
fn open(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    // A regular file ignores O_NONBLOCK; clear it anyway so the descriptor is ordinary.
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

#[cfg(not(unix))]
fn open(path: &Path) -> io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    File::open(path)
}

/// The error for an input that is not a regular file, saying what it is.
pub(crate) fn not_regular(ft: &std::fs::FileType) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "not a regular file (it is {}); levee reads its inputs from regular files",
            describe(ft)
        ),
    )
}

/// What a file type is, in words ("a named pipe (FIFO)").
pub(crate) fn describe(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_the_bytes_actually_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").expect("write");
        assert_eq!(read(&p, 5).expect("at the cap"), b"12345");
        let err = read(&p, 4).expect_err("over the cap");
        assert!(is_too_large(&err), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_directories_and_pipes_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tmp");
        let fifo = dir.path().join("pipe");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo")
                .success()
        );
        for (p, what) in [
            (fifo.as_path(), "named pipe"),
            (Path::new("/dev/zero"), "character device"),
            (dir.path(), "directory"),
        ] {
            let err = read(p, 1 << 20).expect_err("refused");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains(what), "{err}");
        }
    }
}
