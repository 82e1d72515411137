//! `levee catalog register` and `levee catalog scan`: entries built from apps on disk and written
//! to the store, app ids kept unique, and (for a scan) the entries whose app is gone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::store::Prepared;
use super::{CatalogError, Corrupt, Entry, EntryError, Store};
use crate::load::document::LoadError;
use crate::model::org::Org;

/// What registering one app did (an element of `--format json`'s `apps`).
#[derive(Debug, Serialize)]
pub struct Registered {
    /// The app directory as given (or as found by a scan).
    pub app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// added, updated, unchanged or error.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The app directory.
    #[serde(skip)]
    pub dir: PathBuf,
    /// Where the error is: the app directory, or its invalid manifest.
    #[serde(skip)]
    pub error_at: Option<PathBuf>,
}

/// An entry whose app directory no longer holds an app.
#[derive(Debug, Serialize)]
pub struct Gone {
    pub id: String,
    pub path: String,
}

/// What a register or a scan did: each app's result (sorted by app), and for a scan the entries
/// under its roots whose app is gone.
#[derive(Debug, Serialize)]
pub struct Report {
    pub apps: Vec<Registered>,
    pub gone: Vec<Gone>,
    /// How many apps a scan found (outside the catalog directory).
    #[serde(skip)]
    pub found: usize,
    /// The catalog's corrupt entries, seen when a scan read the catalog back.
    #[serde(skip)]
    pub corrupt: Vec<Corrupt>,
}

impl Report {
    /// Whether an app could not be registered.
    #[must_use]
    pub(crate) fn has_errors(&self) -> bool {
        self.apps.iter().any(|r| r.error.is_some())
    }
}

/// Why a scan did not run, or could not read the catalog back.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("no directory to scan")]
    NoRoots,
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// App ids registered so far in this run, with their directories: two apps with one id in the
/// same run are an error, whichever thread gets there first.
type Claimed = Mutex<HashMap<String, String>>;

/// One run's registrations: the ids claimed, the entries written to temporary files and waiting
/// for the batch's commit, and every app's result (from parallel walkers).
struct Run<'a> {
    store: &'a Store,
    org: &'a Org,
    now: String,
    claimed: Claimed,
    pending: Mutex<Vec<Pending>>,
    log: Mutex<Vec<Registered>>,
    on_app: &'a (dyn Fn(&Registered) + Sync),
}

/// An app whose new entry is prepared (in a temporary file), waiting for [`Run::finish`].
struct Pending {
    app: PathBuf,
    entry: Entry,
    outcome: &'static str,
    prepared: Prepared,
}

impl<'a> Run<'a> {
    fn new(store: &'a Store, org: &'a Org, on_app: &'a (dyn Fn(&Registered) + Sync)) -> Self {
        store.remove_stale_temporaries();
        Run {
            store,
            org,
            now: super::now(),
            claimed: Claimed::default(),
            pending: Mutex::default(),
            log: Mutex::default(),
            on_app,
        }
    }

    /// Registers one app: an entry to write is prepared for [`Run::finish`]; any other result
    /// goes to `on_app` and to the log at once.
    fn app(&self, app: &Path) {
        let step = prepare(self.store, self.org, app, &self.now, &self.claimed);
        let result = match step {
            Ok(Step::Pending(p)) => {
                if let Ok(mut v) = self.pending.lock() {
                    v.push(*p);
                }
                return;
            }
            Ok(Step::Done(id, change)) => Ok((id, change)),
            Err(e) => Err(e),
        };
        self.report(app, result);
    }

    /// An app's result, to `on_app` and to the log.
    fn report(&self, app: &Path, result: Result<(String, &'static str), RegisterError>) {
        let result = match result {
            Ok((id, change)) => Registered {
                app: app.display().to_string(),
                id: Some(id),
                result: change,
                error: None,
                dir: app.to_path_buf(),
                error_at: None,
            },
            Err(e) => {
                let (at, message) = match e {
                    RegisterError::Manifest(LoadError::Invalid { file, diags }) => (
                        file.path,
                        format!(
                            "invalid manifest ({} problem(s)); run `levee validate {}`",
                            diags.len(),
                            app.display()
                        ),
                    ),
                    e => (app.to_path_buf(), e.to_string()),
                };
                Registered {
                    app: app.display().to_string(),
                    id: None,
                    result: "error",
                    error: Some(message),
                    dir: app.to_path_buf(),
                    error_at: Some(at),
                }
            }
        };
        (self.on_app)(&result);
        if let Ok(mut v) = self.log.lock() {
            v.push(result);
        }
    }

    /// Writes the prepared entries together ([`Store::commit_batch`]), decides again for any
    /// whose entry another levee changed meanwhile, syncs the catalog directory once and
    /// returns every app's result, sorted by app.
    fn finish(self) -> Vec<Registered> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let (batch, apps): (Vec<Prepared>, Vec<_>) = pending
            .into_iter()
            .map(|p| (p.prepared, (p.app, p.entry, p.outcome)))
            .unzip();
        match self.store.commit_batch(batch) {
            Ok(written) => {
                for (w, (app, entry, outcome)) in written.into_iter().zip(apps) {
                    let result = match w {
                        Ok(true) => Ok((entry.id, outcome)),
                        Ok(false) => write(self.store, entry),
                        Err(e) => Err(e.into()),
                    };
                    self.report(&app, result);
                }
            }
            Err(e) => {
                for (app, _, _) in apps {
                    self.report(&app, Err(RegisterError::Other(e.to_string())));
                }
            }
        }
        self.store.flush();
        let mut v = self.log.into_inner().unwrap_or_default();
        v.sort_by(|a, b| a.app.cmp(&b.app));
        v
    }
}

/// Registers the apps in `apps` (directories or app.yaml files): each app's result goes to
/// `on_app` as it is known, then the report holds them all.
pub(crate) fn register_apps(
    store: &Store,
    org: &Org,
    apps: &[PathBuf],
    on_app: &(dyn Fn(&Registered) + Sync),
) -> Report {
    let run = Run::new(store, org, on_app);
    for app in apps {
        run.app(app);
    }
    Report {
        apps: run.finish(),
        gone: Vec::new(),
        found: 0,
        corrupt: Vec::new(),
    }
}

/// Walks `roots` in parallel, registers every app found outside the catalog directory (each
/// result to `on_app` as it is known), then reads the catalog back for the entries under the
/// roots whose app is gone.
pub(crate) fn scan(
    store: &Store,
    org: &Org,
    roots: &[PathBuf],
    on_app: &(dyn Fn(&Registered) + Sync),
) -> Result<Report, ScanError> {
    for r in roots {
        if !r.is_dir() {
            return Err(ScanError::NotADirectory(r.clone()));
        }
    }
    let catalog_abs =
        std::path::absolute(store.dir()).unwrap_or_else(|_| store.dir().to_path_buf());
    let Some(mut walk) = crate::model::manifest::walker(roots) else {
        return Err(ScanError::NoRoots);
    };
    // One walker per core: the entries are flushed together at the end (`Run::finish`), so the
    // walkers wait on no flush, and each one compiles the policies once.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 32);
    walk.threads(threads);
    let run = Run::new(store, org, on_app);
    let found = Mutex::new(0usize);
    walk.build_parallel().run(|| {
        Box::new(|item| {
            if let Ok(e) = item
                && e.file_type().is_some_and(|t| t.is_file())
                && e.file_name() == crate::model::manifest::FILE_NAME
            {
                let dir = e.path().parent().unwrap_or(Path::new(".")).to_path_buf();
                let abs = std::path::absolute(&dir).unwrap_or(dir.clone());
                if !abs.starts_with(&catalog_abs) {
                    run.app(&dir);
                    if let Ok(mut f) = found.lock() {
                        *f += 1;
                    }
                }
            }
            ignore::WalkState::Continue
        })
    });
    let apps = run.finish();
    let loaded = store.load_all()?;
    let abs_roots: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::path::absolute(r).unwrap_or(r.clone()))
        .collect();
    let gone = loaded
        .entries
        .iter()
        .filter(|e| abs_roots.iter().any(|r| e.app_dir().starts_with(r)) && e.app_gone())
        .map(|e| Gone {
            id: e.id.clone(),
            path: e.repository.path.clone(),
        })
        .collect();
    Ok(Report {
        apps,
        gone,
        found: found.into_inner().unwrap_or_default(),
        corrupt: loaded.corrupt,
    })
}

#[derive(Debug, thiserror::Error)]
enum RegisterError {
    #[error("{0}")]
    Manifest(LoadError),
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Store(#[from] CatalogError),
}

/// What [`prepare`] left to do for an app.
enum Step {
    /// Nothing to write: its id and `unchanged`.
    Done(String, &'static str),
    /// An entry to write, prepared.
    Pending(Box<Pending>),
}

/// Builds an app's entry and claims its id, then prepares the entry's new file ([`Store::prepare`])
/// unless it is unchanged.
fn prepare(
    store: &Store,
    org: &Org,
    app: &Path,
    now: &str,
    claimed: &Claimed,
) -> Result<Step, RegisterError> {
    let entry = Entry::from_app(app, org, now).map_err(|e| match e {
        EntryError::Manifest(m) => RegisterError::Manifest(m),
        EntryError::Other(s) => RegisterError::Other(s),
    })?;
    if let Ok(mut c) = claimed.lock() {
        match c.get(&entry.id) {
            Some(other) if *other != entry.repository.path => {
                return Err(RegisterError::Other(format!(
                    "app id `{}` is also used by {other}; app ids must be unique (rename one app)",
                    entry.id
                )));
            }
            _ => {
                c.insert(entry.id.clone(), entry.repository.path.clone());
            }
        }
    }
    // Check and write as one step: another `levee catalog register` (or `lifecycle --apply`)
    // running at the same time cannot slip in between (see `Store::commit_batch`).
    let mut outcome: Result<&'static str, RegisterError> = Ok("unchanged");
    let prepared = store.prepare(&entry.id, |previous| {
        let (new, o) = decide(&entry, previous);
        outcome = o;
        new
    })?;
    let outcome = outcome?;
    Ok(match prepared {
        Some(prepared) => Step::Pending(Box::new(Pending {
            app: app.to_path_buf(),
            entry,
            outcome,
            prepared,
        })),
        None => Step::Done(entry.id, outcome),
    })
}

/// Writes an app's entry on its own, for one whose entry changed after it was prepared: decided
/// again from the entry as it is then ([`Store::update_deferred`]).
fn write(store: &Store, entry: Entry) -> Result<(String, &'static str), RegisterError> {
    let mut outcome: Result<&'static str, RegisterError> = Ok("unchanged");
    store.update_deferred(&entry.id, |previous| {
        let (new, o) = decide(&entry, previous);
        outcome = o;
        new
    })?;
    let change = outcome?;
    Ok((entry.id, change))
}

/// What the catalog's entry should become given the one it holds: the new entry (`None`: leave
/// it) and `added`, `updated`, `unchanged`, or why the id cannot be registered here.
fn decide(
    entry: &Entry,
    previous: Option<&Entry>,
) -> (Option<Entry>, Result<&'static str, RegisterError>) {
    let mut new = entry.clone();
    let Some(prev) = previous else {
        return (Some(new), Ok("added"));
    };
    if prev.repository.path != new.repository.path && !prev.app_gone() {
        return (
            None,
            Err(RegisterError::Other(format!(
                "app id `{}` is already registered for {}; app ids must be unique (rename one app, or `levee catalog remove {}` first)",
                new.id,
                crate::support::text::escape(&prev.repository.path),
                new.id
            ))),
        );
    }
    new.carry_over(prev);
    if new.same_content(prev) {
        return (None, Ok("unchanged"));
    }
    (Some(new), Ok("updated"))
}
