//! `levee check [PATH...]`: the arguments, and the report printed as text, JSON or SARIF. The
//! gate itself (validation, then the policies, on every core) is [`crate::check`].

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::json;

use crate::check::{self, CheckError, Report};
use crate::cli::Global;
use crate::generate::policy::report::sarif;
use crate::generate::policy::{Clock, Level};
use crate::load::diag;
use crate::model::manifest::Date;
use crate::model::org::OrgSource;
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
    let request = check::Request {
        paths: &args.paths,
        org: global.org.as_deref(),
        bundle: args.bundle.as_deref(),
        clock: args.today.map_or(Clock::System, Clock::Fixed),
        strict: args.strict,
    };
    let announce = |source: &OrgSource, dir: &Path| {
        ui.verbose(&super::org_in_words(source, global.org.is_some(), dir));
    };
    let report = check::check(request, &announce).map_err(|e| match e {
        CheckError::BundleNotADirectory(_) => anyhow::Error::from(
            UsageError::new(e.to_string())
                .hint("pass an app's policy/ directory, as `levee sync` writes it"),
        ),
        // Its located problems are printed as `levee validate` prints them.
        CheckError::Org(e) => e.into(),
        other => other.into(),
    })?;
    let status = report.status();
    let reports = &report.apps;
    let out = match args.format {
        CheckFormat::Text => text(&report, ui),
        CheckFormat::Json => {
            let v = json!({
                "ok": status == ExitStatus::Success,
                "summary": {"apps": reports.len(), "invalid": report.invalid(), "deny": report.count(Level::Deny), "warn": report.count(Level::Warn)},
                "apps": reports,
            });
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        CheckFormat::Sarif => format!("{}\n", serde_json::to_string_pretty(&sarif(reports))?),
    };
    ui.out(&out)?;
    Ok(status)
}

fn text(report: &Report, ui: &Ui) -> String {
    use crate::support::text::Shown;
    let reports = &report.apps;
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
    let deny = report.count(Level::Deny);
    let warn = report.count(Level::Warn);
    let invalid = report.invalid();
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
