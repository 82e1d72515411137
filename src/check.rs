//! The policy gate over many manifests (`levee check`): each manifest is validated first (an
//! invalid manifest is reported as such, never as a policy result), then evaluated against
//! levee's embedded policies with the org config in force for that app: the same modules and
//! data `levee sync` writes into the app's `policy/`, which CI evaluates with OPA. With a bundle
//! directory (an app's `policy/`), that bundle is evaluated instead.
//!
//! The policies are compiled once per org config and worker thread, then the manifests are
//! evaluated on every core; the report keeps the order of the paths. The schemas are checked by
//! code compiled into levee (`crate::model::shape`); a schema is compiled at run time only to
//! explain an invalid manifest.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::generate::policy::report::{AppReport, Located};
use crate::generate::policy::{Clock, Evaluator, Level, PolicyError};
use crate::load::document::{Context, LoadError};
use crate::model::manifest;
use crate::model::org::{self, OrgSource};
use crate::support::exit::ExitStatus;

/// What to check, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// app.yaml files, or directories: every app.yaml at or below each (`.gitignore` honoured).
    pub(crate) paths: &'a [PathBuf],
    /// The org config given by `--org` or `LEVEE_ORG`; else each app's nearest one, or the
    /// built-in default.
    pub(crate) org: Option<&'a Path>,
    /// Evaluate this bundle directory (an app's `policy/`) instead of levee's policies.
    pub(crate) bundle: Option<&'a Path>,
    /// The day expiry is judged on.
    pub(crate) clock: Clock,
    /// Warnings fail the check too.
    pub(crate) strict: bool,
}

/// Why the check could not run to its end (a manifest's own problems are in its report).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error("{} is not a directory", .0.display())]
    BundleNotADirectory(PathBuf),
    /// An org config that does not load: its located problems.
    #[error(transparent)]
    Org(#[from] LoadError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("a policy worker panicked")]
    Worker,
}

/// Every app's outcome, in the order of the paths.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) apps: Vec<AppReport>,
    pub(crate) strict: bool,
}

impl Report {
    /// 0 when every app passes; 1 for an invalid manifest, a denial (or, strict, a warning);
    /// 2 when a path could not be read.
    pub(crate) fn status(&self) -> ExitStatus {
        let mut status = ExitStatus::Success;
        for r in &self.apps {
            let denied = r.findings.iter().any(|f| f.finding.level == Level::Deny);
            let warned = r.findings.iter().any(|f| f.finding.level == Level::Warn);
            if r.error.is_some() {
                status = ExitStatus::Error;
            } else if !r.valid || denied || (self.strict && warned) {
                status = status.max(ExitStatus::Problems);
            }
        }
        status
    }

    /// How many findings of `level` over every app.
    pub(crate) fn count(&self, level: Level) -> usize {
        self.apps
            .iter()
            .flat_map(|r| &r.findings)
            .filter(|f| f.finding.level == level)
            .count()
    }

    /// How many manifests are invalid.
    pub(crate) fn invalid(&self) -> usize {
        self.apps.iter().filter(|r| !r.valid).count()
    }
}

/// Told, once per org config, which one judges the apps that use it and the app directory it
/// was found from (for `-v`); called from the worker that needs it first.
pub(crate) type OnOrg<'a> = &'a (dyn Fn(&OrgSource, &Path) + Sync);

/// Validates and judges every manifest under `req.paths`.
pub(crate) fn check(req: Request<'_>, on_org: OnOrg<'_>) -> Result<Report, CheckError> {
    if let Some(b) = req.bundle
        && !b.is_dir()
    {
        return Err(CheckError::BundleNotADirectory(b.to_path_buf()));
    }
    let mut paths = Vec::new();
    for p in req.paths {
        let found = if p.is_dir() {
            manifest::find_files(p, |n| n == manifest::FILE_NAME)
        } else {
            Vec::new()
        };
        if found.is_empty() {
            paths.push(p.clone());
        }
        paths.extend(found);
    }
    let gate = Gate {
        req,
        on_org,
        orgs: Mutex::new(HashMap::new()),
        announced: Mutex::new(HashSet::new()),
    };
    // The manifests are judged on every core: each worker takes the next manifest in turn and
    // keeps its own policy engines (a regorus engine stays on the thread that compiled it), one
    // per org config (or bundle); an org config is read once, shared. A valid manifest needs no
    // schema compiled (see `crate::model::shape`).
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<AppReport, CheckError>)>> =
        Mutex::new(Vec::with_capacity(paths.len()));
    std::thread::scope(|s| {
        let work = || {
            let mut engines = Engines::new();
            loop {
                if failed.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let report = gate.judge(path, &mut engines);
                if report.is_err() {
                    // Every manifest before this one is already taken and finishes: the first
                    // error in path order is among the results, as when judged one by one.
                    failed.store(true, Ordering::Relaxed);
                }
                if let Ok(mut r) = results.lock() {
                    r.push((i, report));
                }
            }
            crate::support::exit::release(engines);
        };
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let mut results = results.into_inner().map_err(|_| CheckError::Worker)?;
    results.sort_by_key(|(i, _)| *i);
    let mut apps = Vec::with_capacity(results.len());
    for (_, r) in results {
        apps.push(r?);
    }
    Ok(Report {
        apps,
        strict: req.strict,
    })
}

/// A worker's policy engines, by org config file (`None`: the built-in org) or bundle.
type Engines = HashMap<Option<PathBuf>, Evaluator>;

/// An org config as read, shared by the workers.
type SharedOrg = Arc<(org::Org, OrgSource)>;

/// What every worker shares: the request, the org configs read so far (`None` for one that
/// failed to load: the worker that needs it reads it again, for the error), and which ones
/// have been announced.
struct Gate<'a> {
    req: Request<'a>,
    on_org: OnOrg<'a>,
    orgs: Mutex<HashMap<Option<PathBuf>, Option<SharedOrg>>>,
    announced: Mutex<HashSet<Option<PathBuf>>>,
}

impl Gate<'_> {
    /// The org config for `key`, read once per process.
    fn org(&self, key: &Option<PathBuf>, file: &Path) -> Result<SharedOrg, CheckError> {
        let mut orgs = self.orgs.lock().map_err(|_| CheckError::Worker)?;
        if let Some(Some(o)) = orgs.get(key) {
            return Ok(o.clone());
        }
        match org::resolve(key.as_deref(), file) {
            Ok(resolved) => {
                let o = Arc::new((resolved.org, resolved.source));
                orgs.insert(key.clone(), Some(o.clone()));
                Ok(o)
            }
            Err(e) => {
                orgs.insert(key.clone(), None);
                Err(e.into())
            }
        }
    }

    /// Compiles this worker's engine for `key` unless it has one. With `announce`, the first
    /// use of an org config is told to `on_org` (once per process, whichever worker needs it).
    fn compile(
        &self,
        engines: &mut Engines,
        key: &Option<PathBuf>,
        file: &Path,
        announce: bool,
    ) -> Result<(), CheckError> {
        if !engines.contains_key(key) {
            let engine = match self.req.bundle {
                Some(b) => Evaluator::from_dir(b, self.req.clock)?,
                None => Evaluator::embedded(&self.org(key, file)?.0, self.req.clock)?,
            };
            engines.insert(key.clone(), engine);
        }
        if announce
            && self.req.bundle.is_none()
            && self
                .announced
                .lock()
                .is_ok_and(|mut a| a.insert(key.clone()))
        {
            let source = self.org(key, file)?;
            (self.on_org)(&source.1, file.parent().unwrap_or(Path::new(".")));
        }
        Ok(())
    }

    /// One manifest: validated, then evaluated with this worker's engine for its org config.
    fn judge(&self, path: &Path, engines: &mut Engines) -> Result<AppReport, CheckError> {
        let file = manifest::locate(path);
        let mut report = AppReport {
            path: file.display().to_string(),
            name: None,
            valid: false,
            error: None,
            problems: Vec::new(),
            findings: Vec::new(),
            source: String::new(),
        };
        let key = match self.req.bundle {
            Some(b) => Some(b.to_path_buf()),
            None => org::locate(self.req.org, &file),
        };
        // The worker's first engine compiles before the manifest is read; a failure here is
        // reported where the engine is needed. (Compiling it on a thread of its own while the
        // manifest is read was slower on two cores: 7.0 ms against 5.1 for one manifest.)
        if engines.is_empty() {
            let _ = self.compile(engines, &key, &file, false);
        }
        let engines = RefCell::new(engines);
        // Validated with today's date and, for "did you mean" hints on dataset names, the
        // org's policy (as `levee validate` does).
        let lookalikes = |name: &str| {
            let mut engines = engines.borrow_mut();
            self.compile(&mut engines, &key, &file, true)
                .ok()
                .and_then(|()| engines.get_mut(&key)?.lookalikes(name).ok())
                .unwrap_or_default()
        };
        let context = Context {
            today: Some(self.req.clock.today()),
            dataset_lookalikes: Some(&lookalikes),
            declared: None,
        };
        match crate::scaffold::template_settings::load_with(path, context) {
            Err(LoadError::Invalid { file, diags }) => {
                report.problems = diags;
                report.source = file.text;
            }
            Err(e @ LoadError::Io { .. }) => {
                report.error = Some(if path.is_dir() {
                    format!("{} has no app.yaml, nor any app below it", path.display())
                } else {
                    e.to_string()
                });
            }
            Ok(loaded) => {
                report.valid = true;
                report.name = Some(loaded.value.name.clone());
                let mut engines = engines.borrow_mut();
                self.compile(&mut engines, &key, &file, true)?;
                let engine = engines.get_mut(&key).ok_or_else(|| {
                    CheckError::Policy(PolicyError::Compile("policy engine missing".into()))
                })?;
                for finding in engine.evaluate(&loaded.doc.value)? {
                    let pos = loaded.doc.spans.value_pos(&finding.pointer());
                    report.findings.push(Located {
                        line: pos.map(|p| p.line),
                        column: pos.map(|p| p.col),
                        finding,
                    });
                }
                report.source = loaded.source.text;
            }
        }
        Ok(report)
    }
}
