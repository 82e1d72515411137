//! `levee check [PATH...]`: the policy gate, in-process.
//!
//! Each manifest is validated first (an invalid manifest is reported as such, never as a policy
//! result), then evaluated against levee's embedded policies with the org config in force for
//! that app: the same modules and data `levee sync` writes into the app's `policy/`, which CI
//! evaluates with OPA. `--bundle DIR` evaluates a bundle directory instead (an app's `policy/`).
//! The policies are compiled once per org config, then every manifest is evaluated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::cli::Global;
use crate::generate::policy::report::{AppReport, Located, sarif};
use crate::generate::policy::{Clock, Evaluator, Level};
use crate::load::diag;
use crate::load::document::{Context, LoadError};
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
    // The policy engine for an app, compiled once per org config (or bundle).
    let engines: RefCell<HashMap<Option<PathBuf>, Evaluator>> = RefCell::new(HashMap::new());
    let compile = |key: &Option<PathBuf>, file: &Path| -> anyhow::Result<()> {
        if engines.borrow().contains_key(key) {
            return Ok(());
        }
        let engine = match &args.bundle {
            Some(b) => Evaluator::from_dir(b, clock)?,
            None => {
                let resolved = org::resolve(key.as_deref(), file)?;
                ui.verbose(&super::org_in_words(
                    &resolved.source,
                    global.org.is_some(),
                    file.parent().unwrap_or(Path::new(".")),
                ));
                Evaluator::embedded(&resolved.org, clock)?
            }
        };
        engines.borrow_mut().insert(key.clone(), engine);
        Ok(())
    };
    let mut reports = Vec::new();
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
    for path in &paths {
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
        let key = match &args.bundle {
            Some(b) => Some(b.clone()),
            None => org::locate(global.org.as_deref(), &file),
        };
        // Validated with today's date and, for "did you mean" hints on dataset names, the
        // org's policy (as `levee validate` does).
        let lookalikes = |name: &str| {
            compile(&key, &file)
                .ok()
                .and_then(|()| engines.borrow_mut().get_mut(&key)?.lookalikes(name).ok())
                .unwrap_or_default()
        };
        let context = Context {
            today: Some(clock.today()),
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
                compile(&key, &file)?;
                let mut engines = engines.borrow_mut();
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
        reports.push(report);
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
