//! `levee check [PATH...]`: the policy gate, in-process.
//!
//! Each manifest is validated first (an invalid manifest is reported as such, never as a policy
//! result), then evaluated against levee's embedded policies with the org config in force for
//! that app: the same modules and data `levee sync` writes into the app's `policy/`, which CI
//! evaluates with OPA. `--bundle DIR` evaluates a bundle directory instead (an app's `policy/`).
//! The policies are compiled once per org config and worker thread, then the manifests are
//! evaluated on every core; the report keeps the order of the paths.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::cli::Global;
use crate::generate::policy::report::{AppReport, Located, sarif};
use crate::generate::policy::{Clock, Evaluator, Level};
use crate::load::diag;
use crate::load::document::{Checked, Context, LoadError};
use crate::model::manifest::{self, Date};
use crate::model::org;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::Ui;

/// `--format` for `levee check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum CheckFormat {
    #[default]
    Text,
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// app.yaml files, or directories: every app.yaml at or below each, found as `catalog scan`
    /// finds apps (.gitignore honoured).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Evaluate this bundle directory (an app's `policy/`) instead of levee's policies.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Judge expiry as of this day (YYYY-MM-DD) instead of today.
    #[arg(long, env = "LEVEE_TODAY", value_name = "DATE", value_parser = parse_date)]
    pub today: Option<Date>,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s)
}

pub(super) fn run(global: &Global, args: &CheckArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let clock = args.today.map_or(Clock::System, Clock::Fixed);
    if let Some(b) = &args.bundle
        && !b.is_dir()
    {
        return Err(
            UsageError::new(format!("{} is not a directory", b.display()))
                .hint("pass an app's policy/ directory, as `levee sync` writes it")
                .into(),
        );
    }
    let mut paths = Vec::new();
    for p in &args.paths {
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
        global,
        args,
        ui,
        clock,
        orgs: Mutex::new(HashMap::new()),
        announced: Mutex::new(HashSet::new()),
    };
    // The manifests are judged on every core: each worker takes the next manifest in turn and
    // keeps its own policy engines (a regorus engine stays on the thread that compiled it), one
    // per org config (or bundle); an org config is read once, shared. The schema validator
    // compiles on a thread of its own meanwhile, while the first engine compiles.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, anyhow::Result<AppReport>)>> =
        Mutex::new(Vec::with_capacity(paths.len()));
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = <manifest::Manifest as Checked>::validator();
        });
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
        };
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut reports = Vec::with_capacity(results.len());
    for (_, r) in results {
        reports.push(r?);
    }

    let mut status = ExitStatus::Success;
    for r in &reports {
        let denied = r.findings.iter().any(|f| f.finding.level == Level::Deny);
        let warned = r.findings.iter().any(|f| f.finding.level == Level::Warn);
        if r.error.is_some() {
            status = ExitStatus::Error;
        } else if !r.valid || denied || (args.strict && warned) {
            status = status.max(ExitStatus::Problems);
        }
    }

    let out = match args.format {
        CheckFormat::Text => text(&reports, ui),
        CheckFormat::Json => {
            let deny = count(&reports, Level::Deny);
            let warn = count(&reports, Level::Warn);
            let v = json!({
                "ok": status == ExitStatus::Success,
                "summary": {"apps": reports.len(), "invalid": reports.iter().filter(|r| !r.valid).count(), "deny": deny, "warn": warn},
                "apps": reports,
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        CheckFormat::Sarif => format!("{}\n", serde_json::to_string_pretty(&sarif(&reports))?),
    };
    ui.out(&out)?;
    Ok(status)
}

/// A worker's policy engines, by org config file (`None`: the built-in org) or bundle.
type Engines = HashMap<Option<PathBuf>, Evaluator>;

/// An org config as read, shared by the workers.
type SharedOrg = Arc<(org::Org, org::OrgSource)>;

/// What every worker shares: the arguments, the org configs read so far (`None` for one that
/// failed to load: the worker that needs it reads it again, for the error), and which ones
/// `-v` has named.
struct Gate<'a> {
    global: &'a Global,
    args: &'a CheckArgs,
    ui: &'a Ui,
    clock: Clock,
    orgs: Mutex<HashMap<Option<PathBuf>, Option<SharedOrg>>>,
    announced: Mutex<HashSet<Option<PathBuf>>>,
}

impl Gate<'_> {
    /// The org config for `key`, read once per process.
    fn org(&self, key: &Option<PathBuf>, file: &Path) -> anyhow::Result<SharedOrg> {
        let mut orgs = self
            .orgs
            .lock()
            .map_err(|_| anyhow::anyhow!("a policy worker panicked"))?;
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
    /// use of an org config is named under `-v` (once per process, whichever worker needs it).
    fn compile(
        &self,
        engines: &mut Engines,
        key: &Option<PathBuf>,
        file: &Path,
        announce: bool,
    ) -> anyhow::Result<()> {
        if !engines.contains_key(key) {
            let engine = match &self.args.bundle {
                Some(b) => Evaluator::from_dir(b, self.clock)?,
                None => Evaluator::embedded(&self.org(key, file)?.0, self.clock)?,
            };
            engines.insert(key.clone(), engine);
        }
        if announce
            && self.args.bundle.is_none()
            && self
                .announced
                .lock()
                .is_ok_and(|mut a| a.insert(key.clone()))
        {
            let source = self.org(key, file)?;
            self.ui.verbose(&super::org_in_words(
                &source.1,
                self.global.org.is_some(),
                file.parent().unwrap_or(Path::new(".")),
            ));
        }
        Ok(())
    }

    /// One manifest: validated, then evaluated with this worker's engine for its org config.
    fn judge(&self, path: &Path, engines: &mut Engines) -> anyhow::Result<AppReport> {
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
        let key = match &self.args.bundle {
            Some(b) => Some(b.clone()),
            None => org::locate(self.global.org.as_deref(), &file),
        };
        // The worker's first engine compiles while the schema validator does (on its own
        // thread); a failure here is reported where the engine is needed, as before.
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
            today: Some(self.clock.today()),
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
                let engine = engines
                    .get_mut(&key)
                    .ok_or_else(|| anyhow::anyhow!("policy engine missing"))?;
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

fn count(reports: &[AppReport], level: Level) -> usize {
    reports
        .iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.finding.level == level)
        .count()
}

fn text(reports: &[AppReport], ui: &Ui) -> String {
    use crate::support::text::Shown;
    let mut out = String::new();
    for r in reports {
        let path = Shown(&r.path);
        if let Some(e) = &r.error {
            out.push_str(&format!("{} {}\n", ui.stdout().red("error:"), Shown(e)));
            out.push_str("hint: pass the path of an app.yaml, or create one with `levee new`\n");
            continue;
        }
        if !r.valid {
            out.push_str(&diag::render(&r.problems, Some(&r.source), ui.stdout_color));
            out.push_str(&format!(
                "{} {path}: the manifest is invalid ({} problem{}); fix it before the policies can run (`levee validate`)\n",
                ui.stdout().red("invalid"),
                r.problems.len(),
                if r.problems.len() == 1 { "" } else { "s" }
            ));
            continue;
        }
        let name = Shown(r.name.as_deref().unwrap_or(""));
        if r.findings.is_empty() {
            if !ui.quiet {
                out.push_str(&format!(
                    "{} {name} ({path}): no policy findings\n",
                    ui.stdout().green("pass"),
                ));
            }
            continue;
        }
        out.push_str(&format!("{name} ({path})\n"));
        for f in &r.findings {
            let label = match f.finding.level {
                Level::Deny => ui.stdout().red("deny"),
                Level::Warn => ui.stdout().yellow("warn"),
            };
            // The messages come from the policies and quote the manifest's values (dataset
            // names, hosts): escaped, so none can start a line of its own in a CI log.
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
                _ => path.to_string(),
            };
            out.push_str(&format!(
                "  {label} {} {}\n",
                Shown(&f.finding.id),
                Shown(&f.finding.msg)
            ));
            out.push_str(&format!(
                "       {} {at} ({})\n",
                ui.stdout().dim("at"),
                Shown(&f.finding.field)
            ));
            out.push_str(&format!(
                "       {} {}\n",
                ui.stdout().dim("hint:"),
                Shown(&f.finding.hint)
            ));
        }
    }
    let deny = count(reports, Level::Deny);
    let warn = count(reports, Level::Warn);
    let invalid = reports.iter().filter(|r| !r.valid).count();
    out.push_str(&format!(
        "{} app{} checked: {deny} denial{}, {warn} warning{}, {invalid} invalid\n",
        reports.len(),
        plural(reports.len()),
        plural(deny),
        plural(warn)
    ));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
