//! Reading and writing inside an app directory without ever leaving it.
//!
//! Every write, rename and removal levee makes inside an app (`levee sync`, `promote`, `deploy`,
//! `upgrade`) goes through an [`AppDir`]. Each path is resolved one component at a time from the
//! app's root, with `openat(…, O_NOFOLLOW)`: a component that is a symbolic link is refused and
//! named, never followed, so a `docs/` or `policy/` that links elsewhere cannot make levee write,
//! rewrite or delete a file outside the app (or read one into a diff). Paths are relative and
//! made of plain components only. A file is written to a temporary file in its own directory,
//! flushed, then renamed over the old one; reads are regular files only and capped (see
//! [`crate::support::input`]).
//!
//! Why rustix: it wraps the `*at` system calls (`openat`, `renameat`, `unlinkat`, `mkdirat`,
//! `fstatat`) safely, which std does not expose, and it is already in levee's tree (tempfile
//! uses it); cap-std would resolve symlinks that stay inside the directory, where levee refuses
//! every symlink on the way.
//!
//! [`AppDir::transact`] is the crash-safe multi-file swap `levee upgrade` uses; see there.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub use crate::support::record::JOURNAL;

/// The largest file levee reads from an app (a starter file, a managed file, a record).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An app directory, opened once; every operation resolves paths from it.
#[derive(Debug)]
pub struct AppDir {
    root: PathBuf,
    fd: imp::Dir,
}

/// What sits at a path inside an app (symlinks are not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file and its permission bits.
    File {
        mode: u32,
    },
    Dir,
    Symlink,
    /// A named pipe, device or socket: what it is, in words.
    Special(&'static str),
}

impl AppDir {
    /// Opens the app directory at `root` (a symlink in `root` itself is the caller's choice and
    /// is followed; below it, none is).
    pub(crate) fn open(root: &Path) -> io::Result<AppDir> {
        Ok(AppDir {
            root: root.to_path_buf(),
            fd: imp::open_root(root)?,
        })
    }

    /// The directory as given.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `rel` for messages (`app/docs/x.md`).
    pub(crate) fn display(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// Reads a regular file (at most `limit` bytes); `None` when it does not exist.
    pub(crate) fn read(&self, rel: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let (parts, name) = split(rel)?;
        let Some(chain) = self.walk(&parts, false)? else {
            return Ok(None);
        };
        match imp::open_file(chain.last().unwrap_or(&self.fd), &name) {
            Ok(Some(file)) => crate::support::input::read_file(file, limit).map(Some),
            Ok(None) => Ok(None),
            Err(e) if is_loop(&e) => Err(symlink_refused(&rel.to_string_lossy())),
            Err(e) => Err(e),
        }
    }

    /// A reader of many files of the app that opens each directory on the way once, not once
    /// per file ([`Reader::read`]).
    pub(crate) fn reader(&self) -> Reader<'_> {
        Reader {
            app: self,
            dirs: std::collections::HashMap::new(),
        }
    }

    /// What is at `rel`, without following a symlink; `None` when nothing is.
    pub(crate) fn kind(&self, rel: &Path) -> io::Result<Option<Kind>> {
        let (parts, name) = split(rel)?;
        match self.walk(&parts, false)? {
            None => Ok(None),
            Some(chain) => imp::kind(chain.last().unwrap_or(&self.fd), &name),
        }
    }

    /// Writes `bytes` to `rel` atomically (temporary file, flush, rename), creating missing
    /// directories. `exec`: `None` keeps the mode of the file replaced (a new file gets the
    /// default), `Some(true)` makes it executable, `Some(false)` not.
    pub(crate) fn write(&self, rel: &Path, bytes: &[u8], exec: Option<bool>) -> io::Result<()> {
        self.write_durably(rel, bytes, exec, true)
    }

    /// [`AppDir::write`]; `flush` false leaves the file and the rename to a later [`barrier`].
    fn write_durably(
        &self,
        rel: &Path,
        bytes: &[u8],
        exec: Option<bool>,
        flush: bool,
    ) -> io::Result<()> {
        let (parts, name) = split(rel)?;
        let chain = self.walk(&parts, true)?.unwrap_or_default();
        let dir = chain.last().unwrap_or(&self.fd);
        let mode = target_mode(dir, &name, rel, exec)?;
        let tmp = temp_name(&name);
        let result = (|| {
            let mut f = imp::create_new(dir, &tmp, mode.create)?;
            f.write_all(bytes)?;
            if let Some(m) = mode.set {
                imp::set_mode(&f, m)?;
            }
            if flush {
                f.sync_all()?;
            }
            drop(f);
            imp::rename(dir, &tmp, dir, &name)
        })();
        if let Err(e) = result {
            let _ = imp::unlink(dir, &tmp);
            return Err(e);
        }
        if flush {
            imp::sync(dir);
        }
        Ok(())
    }

    /// Removes the file at `rel`, then every directory the removal left empty (never the app's
    /// root). False when there was no file.
    pub(crate) fn remove(&self, rel: &Path) -> io::Result<bool> {
        self.remove_durably(rel, true)
    }

    /// [`AppDir::remove`]; `flush` false leaves the removal to a later [`barrier`].
    fn remove_durably(&self, rel: &Path, flush: bool) -> io::Result<bool> {
        let (parts, name) = split(rel)?;
        let Some(chain) = self.walk(&parts, false)? else {
            return Ok(false);
        };
        let dir = chain.last().unwrap_or(&self.fd);
        match imp::kind(dir, &name)? {
            None => return Ok(false),
            Some(Kind::Symlink) => return Err(symlink_refused(&rel.to_string_lossy())),
            Some(Kind::Dir) => return Err(is_a_directory()),
            Some(_) => imp::unlink(dir, &name)?,
        }
        if flush {
            imp::sync(dir);
        }
        for i in (0..chain.len()).rev() {
            let parent = if i == 0 { &self.fd } else { &chain[i - 1] };
            if imp::rmdir(parent, &parts[i]).is_err() {
                break;
            }
        }
        Ok(true)
    }

    /// Every entry under the directory `rel` (recursively, nothing followed), relative to the
    /// app, sorted; empty when the directory does not exist.
    pub(crate) fn entries_under(&self, rel: &Path) -> io::Result<Vec<(PathBuf, Kind)>> {
        let (mut parts, name) = split(rel)?;
        parts.push(name);
        let Some(chain) = self.walk(&parts, false)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let start = chain.last().unwrap_or(&self.fd);
        list_into(start, rel, &mut out)?;
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Opens each directory of `parts` from the root, refusing symlinks; creates missing ones
    /// when `create`. `None` when one is missing and `create` is false.
    fn walk(&self, parts: &[OsString], create: bool) -> io::Result<Option<Vec<imp::Dir>>> {
        let mut chain: Vec<imp::Dir> = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let at = chain.last().unwrap_or(&self.fd);
            let shown = || {
                parts[..=i]
                    .iter()
                    .map(|p| p.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            };
            let next = match imp::open_dir(at, part) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if !create {
                        return Ok(None);
                    }
                    match imp::mkdir(at, part) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                    imp::open_dir(at, part).map_err(|e| classify(at, part, e, &shown()))?
                }
                Err(e) => return Err(classify(at, part, e, &shown())),
            };
            chain.push(next);
        }
        Ok(Some(chain))
    }
}

/// Reads files of an app, keeping the directories it opened on the way (see [`AppDir::reader`]).
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    app: &'a AppDir,
    /// Directories by their path in the app: open, or `None` when missing.
    dirs: std::collections::HashMap<Vec<OsString>, Option<imp::Dir>>,
}

impl Reader<'_> {
    /// [`AppDir::read`], with the directories on the way opened at most once per reader. Any
    /// error but a missing directory is [`AppDir::read`]'s own, found again by it.
    pub(crate) fn read(&mut self, rel: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let (parts, name) = split(rel)?;
        for depth in 1..=parts.len() {
            if self.dirs.contains_key(&parts[..depth]) {
                continue;
            }
            let parent = match depth {
                1 => Some(&self.app.fd),
                _ => self.dirs.get(&parts[..depth - 1]).and_then(Option::as_ref),
            };
            let opened = match parent {
                None => None,
                Some(at) => match imp::open_dir(at, &parts[depth - 1]) {
                    Ok(d) => Some(d),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(_) => return self.app.read(rel, limit),
                },
            };
            self.dirs.insert(parts[..depth].to_vec(), opened);
        }
        let at = match parts.is_empty() {
            true => &self.app.fd,
            false => match self.dirs.get(&parts[..]) {
                Some(Some(d)) => d,
                _ => return Ok(None),
            },
        };
        match imp::open_file(at, &name) {
            Ok(Some(file)) => crate::support::input::read_file(file, limit).map(Some),
            Ok(None) => Ok(None),
            Err(_) => self.app.read(rel, limit),
        }
    }
}

/// Explains why opening a directory component failed: a symlink or a file in the way.
fn classify(at: &imp::Dir, part: &OsStr, e: io::Error, shown: &str) -> io::Error {
    match imp::kind(at, part) {
        Ok(Some(Kind::Symlink)) => symlink_refused(shown),
        Ok(Some(Kind::File { .. })) => io::Error::new(
            io::ErrorKind::NotADirectory,
            format!(
                "`{}` is a file where levee needs a directory",
                crate::support::text::escape(shown)
            ),
        ),
        Ok(Some(Kind::Special(what))) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is {what} where levee needs a directory",
                crate::support::text::escape(shown)
            ),
        ),
        _ => e,
    }
}

/// The error for a symlink on the way to a path.
fn symlink_refused(shown: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "`{}` is a symbolic link; levee does not read or write through symlinks inside an app \
             (replace it with the real directory or file)",
            crate::support::text::escape(shown)
        ),
    )
}

fn is_a_directory() -> io::Error {
    io::Error::new(
        io::ErrorKind::IsADirectory,
        "a directory stands where levee writes a file (move it away)",
    )
}

fn is_loop(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
            || e.raw_os_error() == Some(rustix::io::Errno::MLINK.raw_os_error())
    }
    #[cfg(not(unix))]
    {
        e.kind() == io::ErrorKind::InvalidInput && e.to_string().contains("symbolic link")
    }
}

/// Splits a relative path into its directories and its file name; anything but plain
/// components (`..`, `/`, `.`, a drive) is refused.
fn split(rel: &Path) -> io::Result<(Vec<OsString>, OsString)> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_os_string()),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "`{}` is not a plain relative path inside the app",
                        crate::support::text::escape_path(rel)
                    ),
                ));
            }
        }
    }
    let name = parts
        .pop()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "an empty path"))?;
    Ok((parts, name))
}

fn temp_name(name: &OsStr) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    s.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    s
}

/// The process that made a temporary file named by [`temp_name`], if `name` is one.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = rest.rsplitn(3, '.');
    let counter = parts.next()?;
    let pid = parts.next()?;
    parts.next().filter(|n| !n.is_empty())?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// The mode a new file is created with (the umask applies) and the mode to set explicitly.
struct NewMode {
    create: u32,
    set: Option<u32>,
}

fn target_mode(
    dir: &imp::Dir,
    name: &OsStr,
    rel: &Path,
    exec: Option<bool>,
) -> io::Result<NewMode> {
    mode_for(imp::kind(dir, name)?, rel, exec)
}

fn mode_for(existing: Option<Kind>, rel: &Path, exec: Option<bool>) -> io::Result<NewMode> {
    let existing = match existing {
        None => None,
        Some(Kind::File { mode }) => Some(mode & 0o7777),
        Some(Kind::Dir) => return Err(is_a_directory()),
        Some(Kind::Symlink) => return Err(symlink_refused(&slash(rel))),
        Some(Kind::Special(what)) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{what} stands where levee writes a file"),
            ));
        }
    };
    Ok(match (existing, exec) {
        (None, Some(true)) => NewMode {
            create: 0o777,
            set: None,
        },
        (None, _) => NewMode {
            create: 0o666,
            set: None,
        },
        (Some(m), None) => NewMode {
            create: 0o600,
            set: Some(m),
        },
        (Some(m), Some(true)) => NewMode {
            create: 0o600,
            set: Some(m | ((m & 0o444) >> 2)),
        },
        (Some(m), Some(false)) => NewMode {
            create: 0o600,
            set: Some(m & !0o111),
        },
    })
}

fn list_into(dir: &imp::Dir, rel: &Path, out: &mut Vec<(PathBuf, Kind)>) -> io::Result<()> {
    for name in imp::list(dir)? {
        let path = rel.join(&name);
        match imp::kind(dir, &name)? {
            Some(Kind::Dir) => {
                out.push((path.clone(), Kind::Dir));
                let sub = imp::open_dir(dir, &name)?;
                list_into(&sub, &path, out)?;
            }
            Some(k) => out.push((path, k)),
            None => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The crash-safe swap.

/// One change of a [`AppDir::transact`]: the new bytes of a path (`None` deletes it) and its
/// executable bit (`None` keeps the mode of the file replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub content: Option<Vec<u8>>,
    pub exec: Option<bool>,
}

/// A point of the swap, announced to the hook: each rename just before it happens, and the
/// moments between the phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Every new file is staged and flushed; nothing in the app has changed yet.
    Staged,
    /// The old file at this path is kept in the staging directory (a second link, or a move
    /// for a deletion); announced for every change, whether or not there was an old file.
    Backup(&'a Path),
    /// The new file moves from the staging directory to this path.
    Install(&'a Path),
    /// Every rename is made; the journal still says `swapping`.
    Swapped,
}

/// The journal of a swap (`.levee/upgrade-journal.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    format: u32,
    /// `swapping`: the renames are under way (a later run completes them). (`staging` and
    /// `done`, which earlier builds wrote, are read too.)
    state: String,
    /// What the swap does, for messages (`upgrade to template v1.1.0`).
    label: String,
    stage: StageRef,
    ops: Vec<Op>,
    /// Directories the swap creates (removed again on rollback), outermost first.
    created_dirs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StageRef {
    /// `parent`: a sibling of the app; `record`: inside `.levee/` (the app is a mount point, or
    /// its parent is not writable).
    at: String,
    name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Op {
    path: String,
    /// A new file is staged as `n<index>`; the old one is kept as `o<index>` until the end.
    new: bool,
}

/// What [`AppDir::recover`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// The interrupted swap was completed.
    Completed(String),
    /// Nothing had been swapped yet; the staged files were dropped.
    Discarded(String),
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovered::Completed(l) => write!(f, "completed an interrupted {l}"),
            Recovered::Discarded(l) => {
                write!(f, "discarded an interrupted {l} that had changed nothing")
            }
        }
    }
}

const STATE_STAGING: &str = "staging";
const STATE_SWAPPING: &str = "swapping";

/// The name of a staging directory beside the app starts with this and the app's name.
const STAGE_PREFIX: &str = ".levee-upgrade.";
/// The name of a staging directory inside `.levee/` starts with this.
const RECORD_STAGE_PREFIX: &str = "upgrade-stage.";

impl AppDir {
    /// Applies `changes` so that a crash at any point leaves the app either as it was or, after
    /// the next [`AppDir::recover`], as intended; never half of each. `changes` are swapped in
    /// the order given, so a caller puts its version record last.
    ///
    /// 1. Every new file is written to a staging directory and flushed. The staging directory
    ///    is a sibling of the app (never inside it), on the same filesystem; when the app is a
    ///    mount point (a rename to the parent would fail with EXDEV) or the parent is not
    ///    writable, it is inside `.levee/`. Nothing in the app has changed yet: a crash here
    ///    leaves only the staging directory, which the next run removes.
    /// 2. The journal (`.levee/upgrade-journal.json`) is written and flushed: the staging
    ///    directory and every change in order. From here on, a run that finds it completes the
    ///    swap.
    /// 3. For each change in order: the old file gets a second link in the staging directory
    ///    (for a rollback), then the new file replaces it in one atomic rename (same
    ///    filesystem), so no path is ever missing; a deleted file moves to the staging
    ///    directory in one rename. The directories are flushed.
    /// 4. The journal is removed (the swap is done), then the staging directory.
    ///
    /// A failure during 3 renames everything back (the app is left as it was). `hook` is called
    /// at each point of [`Step`] (tests inject failures and crashes there).
    pub(crate) fn transact(
        &self,
        label: &str,
        changes: &[Change],
        hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some(swap) = self.stage(label, changes.to_vec(), Durability::Flush)? else {
            return Ok(());
        };
        if let Err(e) = hook(Step::Staged).and_then(|()| swap.journal()) {
            swap.abandon();
            return Err(e);
        }
        swap.swap(hook)?;
        swap.finish()?;
        swap.cleanup();
        Ok(())
    }

    /// Step 1 of [`AppDir::transact`]: checks every path, then writes every new file to a new
    /// staging directory (flushed when `durability` is [`Durability::Flush`]). `None` when
    /// there is nothing to change.
    pub fn stage(
        &self,
        label: &str,
        changes: Vec<Change>,
        durability: Durability,
    ) -> io::Result<Option<Swap<'_>>> {
        if changes.is_empty() {
            return Ok(None);
        }
        if self.kind(Path::new(JOURNAL))?.is_some() {
            return Err(interrupted_error());
        }
        self.remove_orphan_stages(None);
        let created_dirs = self.check_paths(&changes)?;
        let mut journal = Journal {
            format: 1,
            state: STATE_SWAPPING.into(),
            label: label.to_string(),
            stage: StageRef::default(),
            ops: changes
                .iter()
                .map(|c| Op {
                    path: slash(&c.path),
                    new: c.content.is_some(),
                })
                .collect(),
            created_dirs,
        };
        let flush = durability == Durability::Flush;
        let stage = self.make_stage(&mut journal.stage)?;
        if let Err(e) = self.stage_files(&stage, &changes, flush) {
            imp::remove_stage(&stage.parent, &stage.name);
            return Err(e);
        }
        Ok(Some(Swap {
            dir: self,
            changes,
            journal,
            stage,
            flush,
        }))
    }

    /// Every path resolves without a symlink; the directories the swap creates, outermost
    /// first.
    fn check_paths(&self, changes: &[Change]) -> io::Result<Vec<String>> {
        let mut created_dirs: BTreeSet<String> = BTreeSet::new();
        for c in changes {
            let (parts, _) = split(&c.path)?;
            if utf8(&c.path).is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{}` is not UTF-8", c.path.to_string_lossy()),
                ));
            }
            let mut rel = PathBuf::new();
            for p in &parts {
                rel.push(p);
                match self.kind(&rel)? {
                    Some(Kind::Dir) => {}
                    None if c.content.is_some() => {
                        created_dirs.insert(slash(&rel));
                    }
                    None => {}
                    Some(Kind::Symlink) => return Err(symlink_refused(&slash(&rel))),
                    Some(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::NotADirectory,
                            format!("`{}` is a file where levee needs a directory", slash(&rel)),
                        ));
                    }
                }
            }
            if let Some(Kind::Symlink) = self.kind(&c.path)? {
                return Err(symlink_refused(&slash(&c.path)));
            }
        }
        Ok(created_dirs.into_iter().collect())
    }

    /// Is an interrupted swap waiting to be completed? Its label when so.
    pub(crate) fn pending(&self) -> io::Result<Option<String>> {
        Ok(self.read_journal()?.map(|j| j.label))
    }

    /// Completes an interrupted swap (or drops one that had changed nothing yet), as
    /// [`AppDir::transact`] describes, and removes staging directories that crashed runs left
    /// before writing a journal. `None` when there was no swap to complete.
    pub(crate) fn recover(&self) -> io::Result<Option<Recovered>> {
        let journal = self.read_journal()?;
        self.remove_orphan_stages(journal.as_ref().map(|j| &j.stage));
        let Some(journal) = journal else {
            return Ok(None);
        };
        let stage = self.find_stage(&journal.stage)?;
        if journal.state == STATE_STAGING {
            if let Some(s) = &stage {
                imp::remove_stage(&s.parent, &s.name);
            }
            self.remove_journal(true)?;
            return Ok(Some(Recovered::Discarded(journal.label)));
        }
        if journal.state == STATE_SWAPPING {
            let Some(s) = &stage else {
                return Err(io::Error::other(format!(
                    "an interrupted {} cannot be completed: its staging directory `{}` is gone; \
                     restore the app from version control, then remove {JOURNAL}",
                    journal.label, journal.stage.name
                )));
            };
            self.roll_forward(&journal, s)?;
        }
        self.remove_journal(true)?;
        if let Some(s) = &stage {
            imp::remove_stage(&s.parent, &s.name);
        }
        Ok(Some(Recovered::Completed(journal.label)))
    }

    /// Writes every new file into the staging directory, then flushes them all at once (the
    /// filesystem commits concurrent flushes together).
    fn stage_files(&self, stage: &Stage, changes: &[Change], flush: bool) -> io::Result<()> {
        let mut files = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let Some(bytes) = &c.content else { continue };
            let (parts, name) = split(&c.path)?;
            let existing = match self.walk(&parts, false)? {
                Some(chain) => imp::kind(chain.last().unwrap_or(&self.fd), &name)?,
                None => None,
            };
            let mode = mode_for(existing, &c.path, c.exec)?;
            let staged = format!("n{i}");
            let mut f = imp::create_new(&stage.dir, OsStr::new(&staged), mode.create)?;
            f.write_all(bytes)?;
            if let Some(m) = mode.set {
                imp::set_mode(&f, m)?;
            }
            files.push(f);
        }
        if flush {
            flush_all(files.iter().map(|f| move || f.sync_data()))?;
            imp::sync(&stage.dir);
        }
        Ok(())
    }

    /// The renames of step 3 of [`AppDir::transact`].
    fn swap(
        &self,
        stage: &Stage,
        changes: &[Change],
        hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>,
        flush: bool,
    ) -> io::Result<()> {
        let mut touched: Vec<imp::Dir> = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let (parts, name) = split(&c.path)?;
            let chain = self.walk(&parts, c.content.is_some())?;
            let Some(chain) = chain else {
                continue; // deleting a file whose directory is already gone
            };
            let dir = chain.last().unwrap_or(&self.fd);
            let (n, o) = (format!("n{i}"), format!("o{i}"));
            let (n, o) = (OsStr::new(&n), OsStr::new(&o));
            let old = match imp::kind(dir, &name)? {
                None => false,
                Some(Kind::File { .. } | Kind::Special(_)) => true,
                Some(Kind::Dir) => return Err(in_context(&c.path, is_a_directory())),
                Some(Kind::Symlink) => return Err(symlink_refused(&slash(&c.path))),
            };
            hook(Step::Backup(&c.path))?;
            if c.content.is_some() {
                // The old file stays in place (a second link to it is kept for a rollback)
                // until the new one replaces it in one rename: the path is never missing.
                if old {
                    keep_old(dir, &name, &stage.dir, o)?;
                }
                hook(Step::Install(&c.path))?;
                imp::rename(&stage.dir, n, dir, &name)?;
            } else if old {
                imp::rename(dir, &name, &stage.dir, o)?;
            }
            if flush && let Some(d) = chain.into_iter().last() {
                touched.push(d);
            }
        }
        if flush {
            flush_all(touched.iter().chain([&self.fd]).map(|d| {
                move || -> io::Result<()> {
                    imp::sync(d);
                    Ok(())
                }
            }))?;
        }
        hook(Step::Swapped)
    }

    /// Puts every old file back, keeping each new one in the staging directory again (so that a
    /// rollback cut short can still be completed forward).
    fn rollback(&self, journal: &Journal, stage: &Stage) -> io::Result<()> {
        for (i, op) in journal.ops.iter().enumerate().rev() {
            let rel = PathBuf::from(&op.path);
            let (parts, name) = split(&rel)?;
            let Some(chain) = self.walk(&parts, false)? else {
                continue;
            };
            let dir = chain.last().unwrap_or(&self.fd);
            let (n, o) = (format!("n{i}"), format!("o{i}"));
            let (n, o) = (OsStr::new(&n), OsStr::new(&o));
            let has_n = imp::kind(&stage.dir, n)?.is_some();
            let has_o = imp::kind(&stage.dir, o)?.is_some();
            let has_t = imp::kind(dir, &name)?.is_some();
            if op.new && !has_n && has_t {
                // Installed: the new file goes back to the staging directory.
                if has_o {
                    keep_old(dir, &name, &stage.dir, n)?;
                    imp::rename(&stage.dir, o, dir, &name)?;
                } else {
                    imp::rename(dir, &name, &stage.dir, n)?;
                }
            } else if has_o && (!has_t || !op.new) {
                // Deleted, or moved aside when a second link was not possible.
                imp::rename(&stage.dir, o, dir, &name)?;
            }
        }
        for d in journal.created_dirs.iter().rev() {
            let (parts, name) = split(Path::new(d))?;
            if let Some(chain) = self.walk(&parts, false)? {
                let _ = imp::rmdir(chain.last().unwrap_or(&self.fd), &name);
            }
        }
        imp::sync(&self.fd);
        Ok(())
    }

    /// Makes every change the journal lists that has not happened yet.
    fn roll_forward(&self, journal: &Journal, stage: &Stage) -> io::Result<()> {
        for (i, op) in journal.ops.iter().enumerate() {
            let rel = PathBuf::from(&op.path);
            let (parts, name) = split(&rel)?;
            let (n, o) = (format!("n{i}"), format!("o{i}"));
            let (n, o) = (OsStr::new(&n), OsStr::new(&o));
            if op.new && imp::kind(&stage.dir, n)?.is_none() {
                continue; // already in place
            }
            let Some(chain) = self.walk(&parts, op.new)? else {
                continue;
            };
            let dir = chain.last().unwrap_or(&self.fd);
            match imp::kind(dir, &name)? {
                Some(Kind::Dir) => return Err(in_context(&rel, is_a_directory())),
                Some(Kind::Symlink) => return Err(symlink_refused(&op.path)),
                Some(_) if !op.new => imp::rename(dir, &name, &stage.dir, o)?,
                _ => {}
            }
            if op.new {
                imp::rename(&stage.dir, n, dir, &name)?;
            }
            imp::sync(dir);
        }
        imp::sync(&self.fd);
        Ok(())
    }

    /// Creates the staging directory (see [`AppDir::transact`]) and names it in `at`.
    fn make_stage(&self, at: &mut StageRef) -> io::Result<Stage> {
        let unique = format!(
            "{}.{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let parent = imp::open_parent(&self.fd).ok();
        if let Some(parent) = parent.filter(|p| imp::same_mount(p, &self.fd)) {
            let name = format!("{}{unique}", self.stage_prefix());
            match imp::mkdir_private(&parent, OsStr::new(&name)) {
                Ok(()) => {
                    let dir = imp::open_dir(&parent, OsStr::new(&name))?;
                    *at = StageRef {
                        at: "parent".into(),
                        name: name.clone(),
                    };
                    return Ok(Stage { parent, name, dir });
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        // The app is a mount point, or its parent is not writable: stage inside `.levee/`.
        let name = format!("{RECORD_STAGE_PREFIX}{unique}");
        let record = self
            .walk(&[OsString::from(crate::support::record::DIR)], true)?
            .and_then(|c| c.into_iter().last())
            .ok_or_else(|| io::Error::other("cannot open .levee/"))?;
        imp::mkdir_private(&record, OsStr::new(&name))?;
        let dir = imp::open_dir(&record, OsStr::new(&name))?;
        *at = StageRef {
            at: "record".into(),
            name: name.clone(),
        };
        Ok(Stage {
            parent: record,
            name,
            dir,
        })
    }

    /// `.levee-upgrade.<app's name>.`: the start of this app's staging directories beside it.
    fn stage_prefix(&self) -> String {
        let base = self
            .root
            .file_name()
            .map_or_else(|| "app".into(), |n| n.to_string_lossy().into_owned());
        format!("{STAGE_PREFIX}{}.", sanitize(&base))
    }

    /// Removes this app's staging directories that no running levee owns and `keep` does not
    /// name (a crash before the journal was written leaves one behind), and the temporary files
    /// in `.levee/` of writers that died before renaming them (a crash while writing the
    /// journal).
    fn remove_orphan_stages(&self, keep: Option<&StageRef>) {
        let mut places = Vec::new();
        if let Ok(parent) = imp::open_parent(&self.fd) {
            places.push(("parent", parent, self.stage_prefix()));
        }
        if let Ok(Some(chain)) = self.walk(&[OsString::from(crate::support::record::DIR)], false)
            && let Some(record) = chain.into_iter().last()
        {
            places.push(("record", record, RECORD_STAGE_PREFIX.to_string()));
        }
        for (at, dir, prefix) in places {
            let names = if at == "parent" {
                stages_beside(&dir)
            } else {
                lossy_names(&dir)
            };
            for name in names {
                if at == "record"
                    && let Some(pid) = temp_owner(&name)
                {
                    // A journal (or record) whose writer died between creating and renaming it.
                    if !imp::process_alive(pid) {
                        let _ = imp::unlink(&dir, OsStr::new(&name));
                    }
                    continue;
                }
                let Some(rest) = name.strip_prefix(&prefix) else {
                    continue;
                };
                let kept = keep.is_some_and(|k| k.at == at && k.name == name);
                let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
                if !kept && pid.is_some_and(|p| !imp::process_alive(p)) {
                    imp::remove_stage(&dir, &name);
                }
            }
        }
    }

    fn find_stage(&self, r: &StageRef) -> io::Result<Option<Stage>> {
        if r.name.is_empty() || r.name.contains(['/', '\\']) || r.name.starts_with("..") {
            return Ok(None);
        }
        let parent = match r.at.as_str() {
            "parent" => imp::open_parent(&self.fd)?,
            _ => match self
                .walk(&[OsString::from(crate::support::record::DIR)], false)?
                .and_then(|c| c.into_iter().last())
            {
                Some(d) => d,
                None => return Ok(None),
            },
        };
        match imp::open_dir(&parent, OsStr::new(&r.name)) {
            Ok(dir) => Ok(Some(Stage {
                parent,
                name: r.name.clone(),
                dir,
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_journal(&self) -> io::Result<Option<Journal>> {
        let Some(bytes) = self.read(Path::new(JOURNAL), MAX_FILE_BYTES)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{JOURNAL} is not a levee journal ({e}); restore the app from version control, then remove it"),
            )
        })
    }

    fn write_journal(&self, journal: &Journal, flush: bool) -> io::Result<()> {
        let mut json = serde_json::to_string_pretty(journal).map_err(io::Error::other)?;
        json.push('\n');
        self.write_durably(Path::new(JOURNAL), json.as_bytes(), Some(false), flush)
    }

    fn remove_journal(&self, flush: bool) -> io::Result<()> {
        // `.levee/` goes too when the journal was all it held (a directory that is not an app).
        self.remove_durably(Path::new(JOURNAL), flush).map(|_| ())
    }
}

/// The names in `dir`, as text.
fn lossy_names(dir: &imp::Dir) -> Vec<String> {
    imp::list(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect()
}

/// The staging directories beside apps in `parent` (names starting with [`STAGE_PREFIX`]),
/// listed once per directory per process: a fleet's apps share their parent, and listing it again
/// for each app made a fleet's orphan scans quadratic (1,000 apps: a million names read). A
/// crashed run's staging directory exists before this process lists it; one whose process dies
/// while this one runs is removed by the next run.
fn stages_beside(parent: &imp::Dir) -> Vec<String> {
    static LISTED: Mutex<BTreeMap<(u64, u64), Vec<String>>> = Mutex::new(BTreeMap::new());
    let stages = |dir: &imp::Dir| -> Vec<String> {
        lossy_names(dir)
            .into_iter()
            .filter(|n| n.starts_with(STAGE_PREFIX))
            .collect()
    };
    let Some(key) = imp::identity(parent) else {
        return stages(parent);
    };
    let Ok(mut listed) = LISTED.lock() else {
        return stages(parent);
    };
    listed.entry(key).or_insert_with(|| stages(parent)).clone()
}

/// How a swap makes each of its steps durable before the next one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Each step flushes what it wrote (the files, then their directories): one app on its own.
    Flush,
    /// The steps flush nothing; the caller runs one [`barrier`] after each step, for many apps
    /// at once (a fleet upgrade: four filesystem flushes in all instead of a dozen per app).
    /// Linux only (`syncfs`): see [`Durability::for_many`].
    Barrier,
}

/// From this many swaps made together on, one `syncfs` per step costs less than each app's own
/// flushes (about a dozen per app). Below it the app's own flushes win: a `syncfs` also writes
/// whatever else is waiting on the filesystem (other processes' files), which one app's flushes
/// never wait for.
const BARRIER_FROM: usize = 8;
/// A `syncfs` writes every dirty page of the filesystem, levee's or not. With more than this
/// much waiting to be written (a compiler writing its output next door), four of them cost more
/// than the apps' own flushes: measured on a 2-core VM with 240 MB dirty, 1,000 apps took 25 s
/// with barriers against 16 s with per-app flushes, and 3 s against 5 s with little dirty.
const BARRIER_MAX_DIRTY: u64 = 64 << 20;

impl Durability {
    /// The durability for `count` swaps made together: [`Durability::Barrier`] for a fleet where
    /// the kernel flushes a whole filesystem on request (`syncfs`, Linux) and little else is
    /// waiting to be written, else [`Durability::Flush`].
    pub fn for_many(count: usize) -> Durability {
        if imp::CAN_SYNC_FILESYSTEM
            && count >= BARRIER_FROM
            && imp::dirty_bytes().is_some_and(|d| d <= BARRIER_MAX_DIRTY)
        {
            Durability::Barrier
        } else {
            Durability::Flush
        }
    }
}

/// Makes everything written so far in these apps (and anything else on their filesystems)
/// durable: one `syncfs` per filesystem. With [`Durability::Barrier`], the caller runs it after
/// each step of every [`Swap`], so the order [`AppDir::transact`] proves holds across the
/// fleet: every staged file before any journal, every journal before any rename, every rename
/// before any journal is removed, every journal removed before a staging directory is.
pub fn barrier<'a>(apps: impl IntoIterator<Item = &'a AppDir>) -> io::Result<()> {
    imp::sync_filesystems(apps.into_iter().map(|a| &a.fd))
}

/// A swap under way: [`AppDir::transact`] taken one step at a time, so that many apps can take
/// each step together with one [`barrier`] between steps. [`AppDir::stage`] is step 1,
/// [`Swap::journal`] step 2, [`Swap::swap`] step 3, [`Swap::finish`] then [`Swap::cleanup`]
/// step 4; [`Swap::abandon`] drops a swap whose journal was not written.
#[derive(Debug)]
pub struct Swap<'a> {
    dir: &'a AppDir,
    changes: Vec<Change>,
    journal: Journal,
    stage: Stage,
    flush: bool,
}

impl Swap<'_> {
    /// The app.
    pub fn dir(&self) -> &AppDir {
        self.dir
    }

    /// Step 2: writes the journal. From here on, a run that finds it completes the swap.
    pub fn journal(&self) -> io::Result<()> {
        self.dir.write_journal(&self.journal, self.flush)
    }

    /// Drops a swap before its journal is written: removes the staging directory.
    pub fn abandon(self) {
        imp::remove_stage(&self.stage.parent, &self.stage.name);
    }

    /// Step 3: the renames. A failure renames everything back (the app is left as it was) and
    /// removes the journal; if even that fails the journal stays, and the next run completes
    /// the swap from the staged files. Either way the swap is over when this fails.
    pub fn swap(&self, hook: &mut dyn FnMut(Step<'_>) -> io::Result<()>) -> io::Result<()> {
        let (dir, journal, stage) = (self.dir, &self.journal, &self.stage);
        let Err(e) = dir.swap(stage, &self.changes, hook, self.flush) else {
            return Ok(());
        };
        if let Err(e2) = dir.rollback(journal, stage) {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "{e}; undoing the changes failed too ({e2}): {JOURNAL} stays, and the \
                     next `levee upgrade` completes the {}",
                    journal.label
                ),
            ));
        }
        dir.remove_journal(true)?;
        imp::remove_stage(&stage.parent, &stage.name);
        Err(io::Error::new(
            e.kind(),
            format!("{e} (nothing was changed: the app is as it was)"),
        ))
    }

    /// Step 4, first half: removes the journal (the swap is done).
    pub fn finish(&self) -> io::Result<()> {
        self.dir.remove_journal(self.flush)
    }

    /// Step 4, second half: removes the staging directory (not flushed: one that reappears
    /// after a power cut is an orphan the next run removes).
    pub fn cleanup(self) {
        imp::remove_stage(&self.stage.parent, &self.stage.name);
    }
}

/// Runs every flush at once, on scoped threads (a filesystem commits concurrent flushes
/// together: a few commits instead of one per file); the first error wins.
fn flush_all<F>(flushes: impl Iterator<Item = F>) -> io::Result<()>
where
    F: FnOnce() -> io::Result<()> + Send,
{
    let flushes: Vec<F> = flushes.collect();
    if flushes.len() < 2 {
        return flushes.into_iter().try_for_each(|f| f());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = flushes.into_iter().map(|f| s.spawn(f)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a flush panicked")))
            })
            .collect::<io::Result<Vec<()>>>()
            .map(|_| ())
    })
}

/// Keeps the file `name` of `dir` as `keep` in the staging directory: a second hard link when
/// the filesystem has them (the file never leaves its path), else by moving it.
fn keep_old(dir: &imp::Dir, name: &OsStr, stage: &imp::Dir, keep: &OsStr) -> io::Result<()> {
    if imp::kind(stage, keep)?.is_some() {
        imp::unlink(stage, keep)?;
    }
    match imp::link(dir, name, stage, keep) {
        Ok(()) => Ok(()),
        Err(_) => imp::rename(dir, name, stage, keep),
    }
}

/// The error every command but `levee upgrade` gives when an app holds a journal.
pub(crate) fn interrupted_error() -> io::Error {
    io::Error::other(format!(
        "an upgrade of this app was interrupted ({JOURNAL} is present): run `levee upgrade` on \
         the app to complete it first"
    ))
}

/// The staging directory of a swap.
#[derive(Debug)]
struct Stage {
    parent: imp::Dir,
    name: String,
    dir: imp::Dir,
}

fn in_context(rel: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("{}: {e}", crate::support::text::escape_path(rel)),
    )
}

fn utf8(p: &Path) -> Option<&str> {
    p.to_str()
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// A directory name made of safe characters (for the staging directory's name).
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

#[cfg(unix)]
mod imp {
    //! The `*at` system calls, through rustix.

    use std::ffi::{OsStr, OsString};
    use std::fs::File;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};

    use super::Kind;

    pub(super) type Dir = OwnedFd;

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    pub(super) fn open_root(root: &Path) -> io::Result<Dir> {
        Ok(rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?)
    }

    pub(super) fn open_parent(dir: &Dir) -> io::Result<Dir> {
        Ok(rustix::fs::openat(dir, "..", DIR_FLAGS, Mode::empty())?)
    }

    pub(super) fn open_dir(at: &Dir, name: &OsStr) -> io::Result<Dir> {
        Ok(rustix::fs::openat(at, name, DIR_FLAGS, Mode::empty())?)
    }

    pub(super) fn mkdir(at: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o777))?)
    }

    pub(super) fn mkdir_private(at: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::mkdirat(at, name, Mode::from_raw_mode(0o700))?)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const NOATIME: OFlags = OFlags::NOATIME;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const NOATIME: OFlags = OFlags::empty();

    /// Opens a file for reading without following a symlink or blocking on a pipe; `None`
    /// when it does not exist.
    pub(super) fn open_file(at: &Dir, name: &OsStr) -> io::Result<Option<File>> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        // Reading leaves the file's access time alone where the kernel lets it (the file's
        // owner): under `relatime` the first read after a checkout or copy (access time not
        // after modification time) otherwise marks every file read for writing back, and a fleet
        // run's next flush writes thousands of inodes nobody changed.
        let opened = match rustix::fs::openat(at, name, flags | NOATIME, Mode::empty()) {
            Err(rustix::io::Errno::PERM) if !NOATIME.is_empty() => {
                rustix::fs::openat(at, name, flags, Mode::empty())
            }
            other => other,
        };
        match opened {
            Ok(fd) => {
                let file = File::from(fd);
                // Linux ignores O_NONBLOCK for regular files (open(2)), and the reader checks the
                // file's type before its first read: two system calls fewer per file there.
                if !cfg!(target_os = "linux") && file.metadata()?.is_file() {
                    let flags = rustix::fs::fcntl_getfl(&file)?;
                    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
                }
                Ok(Some(file))
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn create_new(at: &Dir, name: &OsStr, mode: u32) -> io::Result<File> {
        let fd = rustix::fs::openat(
            at,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )?;
        Ok(File::from(fd))
    }

    pub(super) fn set_mode(f: &File, mode: u32) -> io::Result<()> {
        Ok(rustix::fs::fchmod(f, Mode::from_raw_mode(mode))?)
    }

    pub(super) fn kind(at: &Dir, name: &OsStr) -> io::Result<Option<Kind>> {
        match rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Kind::File {
                    mode: st.st_mode & 0o7777,
                },
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Symlink,
                FileType::Fifo => Kind::Special("a named pipe (FIFO)"),
                FileType::CharacterDevice => Kind::Special("a character device"),
                FileType::BlockDevice => Kind::Special("a block device"),
                FileType::Socket => Kind::Special("a socket"),
                _ => Kind::Special("a special file"),
            })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn rename(from: &Dir, a: &OsStr, to: &Dir, b: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(from, a, to, b)?)
    }

    pub(super) fn unlink(at: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(at, name, AtFlags::empty())?)
    }

    pub(super) fn link(from: &Dir, a: &OsStr, to: &Dir, b: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::linkat(from, a, to, b, AtFlags::empty())?)
    }

    pub(super) fn rmdir(at: &Dir, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(at, name, AtFlags::REMOVEDIR)?)
    }

    pub(super) fn list(dir: &Dir) -> io::Result<Vec<OsString>> {
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                out.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        Ok(out)
    }

    pub(super) fn sync(dir: &Dir) {
        let _ = rustix::fs::fsync(dir);
    }

    /// The device and inode of a directory: what it is, whatever path reached it.
    pub(super) fn identity(dir: &Dir) -> Option<(u64, u64)> {
        let st = rustix::fs::fstat(dir).ok()?;
        Some((st.st_dev, st.st_ino))
    }

    /// Can [`sync_filesystems`] flush a whole filesystem (and wait for it)?
    pub(super) const CAN_SYNC_FILESYSTEM: bool =
        cfg!(any(target_os = "linux", target_os = "android"));

    /// `syncfs` once per filesystem the directories are on (a bind mount shares its device).
    pub(super) fn sync_filesystems<'a>(dirs: impl Iterator<Item = &'a Dir>) -> io::Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        for d in dirs {
            if seen.insert(rustix::fs::fstat(d)?.st_dev) {
                sync_filesystem(d)?;
            }
        }
        Ok(())
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn sync_filesystem(dir: &Dir) -> io::Result<()> {
        Ok(rustix::fs::syncfs(dir)?)
    }

    /// How much the kernel has waiting to be written to disk (`Dirty` + `Writeback` of
    /// `/proc/meminfo`); `None` when it does not say.
    pub(super) fn dirty_bytes() -> Option<u64> {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(name))?;
            let kb = line[name.len()..].trim().strip_suffix("kB")?.trim();
            kb.parse::<u64>().ok()?.checked_mul(1024)
        };
        Some(field("Dirty:")?.saturating_add(field("Writeback:")?))
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn sync_filesystem(_dir: &Dir) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "flushing a whole filesystem needs Linux's syncfs",
        ))
    }

    /// Are both directories on the same mount (so a rename between them cannot fail with
    /// EXDEV)? The mount id where the kernel has it (Linux 5.8+), else the device.
    pub(super) fn same_mount(a: &Dir, b: &Dir) -> bool {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::StatxFlags;
            let id = |d: &Dir| {
                rustix::fs::statx(d, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
                    .ok()
                    .filter(|s| {
                        StatxFlags::from_bits_retain(s.stx_mask).contains(StatxFlags::MNT_ID)
                    })
                    .map(|s| s.stx_mnt_id)
            };
            if let (Some(x), Some(y)) = (id(a), id(b)) {
                return x == y;
            }
        }
        match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
            (Ok(x), Ok(y)) => x.st_dev == y.st_dev,
            _ => false,
        }
    }

    /// Removes a staging directory and the files in it (it holds no subdirectories). Not
    /// flushed: a staging directory that reappears after a power cut is an orphan the next run
    /// removes.
    pub(super) fn remove_stage(parent: &Dir, name: &str) {
        if let Ok(dir) = open_dir(parent, OsStr::new(name)) {
            for f in list(&dir).unwrap_or_default() {
                let _ = unlink(&dir, &f);
            }
        }
        let _ = rmdir(parent, OsStr::new(name));
    }

    /// Is a process with this id running (ours, or another user's)?
    pub(super) fn process_alive(pid: u32) -> bool {
        if pid == std::process::id() {
            return true;
        }
        let Some(pid) = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        else {
            return false;
        };
        !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        )
    }
}

#[cfg(not(unix))]
mod imp {
    //! Without the `*at` calls: each component is checked with `symlink_metadata` before use.
    //! (Racy against a concurrent attacker, unlike the unix implementation.)

    use std::ffi::{OsStr, OsString};
    use std::fs::{self, File};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::Kind;

    pub type Dir = PathBuf;

    pub(crate) fn open_root(root: &Path) -> io::Result<Dir> {
        if fs::metadata(root)?.is_dir() {
            Ok(root.to_path_buf())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ))
        }
    }

    pub(crate) fn open_parent(dir: &Dir) -> io::Result<Dir> {
        let abs = std::path::absolute(dir)?;
        abs.parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no parent"))
    }

    pub(crate) fn open_dir(at: &Dir, name: &OsStr) -> io::Result<Dir> {
        let p = at.join(name);
        let m = fs::symlink_metadata(&p)?;
        if m.file_type().is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a symbolic link",
            ));
        }
        if !m.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(p)
    }

    pub(crate) fn mkdir(at: &Dir, name: &OsStr) -> io::Result<()> {
        fs::create_dir(at.join(name))
    }

    pub(crate) fn mkdir_private(at: &Dir, name: &OsStr) -> io::Result<()> {
        fs::create_dir(at.join(name))
    }

    pub(crate) fn open_file(at: &Dir, name: &OsStr) -> io::Result<Option<File>> {
        let p = at.join(name);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a symbolic link",
            )),
            Ok(_) => File::open(&p).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn create_new(at: &Dir, name: &OsStr, _mode: u32) -> io::Result<File> {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(at.join(name))
    }

    pub(crate) fn set_mode(_f: &File, _mode: u32) -> io::Result<()> {
        Ok(())
    }

    pub(crate) fn kind(at: &Dir, name: &OsStr) -> io::Result<Option<Kind>> {
        match fs::symlink_metadata(at.join(name)) {
            Ok(m) if m.file_type().is_symlink() => Ok(Some(Kind::Symlink)),
            Ok(m) if m.is_dir() => Ok(Some(Kind::Dir)),
            Ok(m) if m.is_file() => Ok(Some(Kind::File { mode: 0o644 })),
            Ok(_) => Ok(Some(Kind::Special("a special file"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn rename(from: &Dir, a: &OsStr, to: &Dir, b: &OsStr) -> io::Result<()> {
        fs::rename(from.join(a), to.join(b))
    }

    pub(crate) fn unlink(at: &Dir, name: &OsStr) -> io::Result<()> {
        fs::remove_file(at.join(name))
    }

    pub(crate) fn link(from: &Dir, a: &OsStr, to: &Dir, b: &OsStr) -> io::Result<()> {
        fs::hard_link(from.join(a), to.join(b))
    }

    pub(crate) fn rmdir(at: &Dir, name: &OsStr) -> io::Result<()> {
        fs::remove_dir(at.join(name))
    }

    pub(crate) fn list(dir: &Dir) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect()
    }

    pub(crate) fn sync(_dir: &Dir) {}

    pub(crate) const CAN_SYNC_FILESYSTEM: bool = false;

    pub(crate) fn identity(_dir: &Dir) -> Option<(u64, u64)> {
        None
    }

    pub(crate) fn dirty_bytes() -> Option<u64> {
        None
    }

    pub(crate) fn sync_filesystems<'a>(mut dirs: impl Iterator<Item = &'a Dir>) -> io::Result<()> {
        match dirs.next() {
            None => Ok(()),
            Some(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "flushing a whole filesystem needs Linux's syncfs",
            )),
        }
    }

    pub(crate) fn same_mount(_a: &Dir, _b: &Dir) -> bool {
        true
    }

    pub(crate) fn remove_stage(parent: &Dir, name: &str) {
        let _ = fs::remove_dir_all(parent.join(name));
    }

    /// Without a way to ask, a staging directory is treated as some other run's.
    pub(crate) fn process_alive(_pid: u32) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> (tempfile::TempDir, AppDir) {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(tmp.path().join("app")).expect("mkdir");
        let app = AppDir::open(&tmp.path().join("app")).expect("open");
        (tmp, app)
    }

    #[test]
    fn temporary_files_name_their_writer() {
        let made = temp_name(OsStr::new("upgrade-journal.json"));
        let made = made.to_str().expect("utf-8");
        assert_eq!(temp_owner(made), Some(std::process::id()));
        assert_eq!(temp_owner(".a.b.12.3.tmp"), Some(12));
        for other in [
            "upgrade-journal.json",
            ".12.3.tmp",
            ".x.12.tmp",
            ".x.pid.3.tmp",
            ".x.12.3.tmp.bak",
            "render.json",
        ] {
            assert_eq!(temp_owner(other), None, "{other}");
        }
    }

    #[test]
    fn writes_reads_and_removes_inside() {
        let (_t, app) = app();
        app.write(Path::new("a/b/c.txt"), b"x", None)
            .expect("write");
        assert_eq!(
            app.read(Path::new("a/b/c.txt"), 10).expect("read"),
            Some(b"x".to_vec())
        );
        assert!(app.remove(Path::new("a/b/c.txt")).expect("remove"));
        // The directories the removal emptied are gone, the app is not.
        assert_eq!(app.kind(Path::new("a")).expect("kind"), None);
        assert!(app.root().is_dir());
        assert!(!app.remove(Path::new("a/b/c.txt")).expect("remove"));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_directory_is_refused_and_named() {
        let (tmp, app) = app();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).expect("mkdir");
        std::fs::write(outside.join("x.md"), "outside\n").expect("write");
        std::os::unix::fs::symlink(&outside, app.root().join("docs")).expect("symlink");
        for err in [
            app.write(Path::new("docs/x.md"), b"pwned", None)
                .expect_err("write"),
            app.read(Path::new("docs/x.md"), 100).expect_err("read"),
            app.remove(Path::new("docs/x.md")).expect_err("remove"),
        ] {
            assert!(
                err.to_string().contains("`docs` is a symbolic link"),
                "{err}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(outside.join("x.md")).expect("read"),
            "outside\n"
        );
    }

    #[test]
    fn paths_must_be_plain() {
        let (_t, app) = app();
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            assert!(app.write(Path::new(bad), b"x", None).is_err(), "{bad}");
        }
    }
}
