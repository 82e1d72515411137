//! `levee upgrade`: roll a template version out to one app or a whole fleet, by 3-way merge.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::change::fleet::{self, Event, Summary};
use crate::change::upgrade::{self, AppReport, Options};
use crate::cli::Global;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// App directories, or directories above many apps (apps: app.yaml next to a .levee/).
    #[arg(default_value = ".")]
    pub roots: Vec<PathBuf>,
    /// The template version to upgrade to (default: the newest the pack offers).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// The template pack (default: the source each app records): `builtin`, a directory, or a
    /// git repository whose `v<version>` tags are versions.
    #[arg(long, env = "LEVEE_TEMPLATES", value_name = "SOURCE")]
    pub templates: Option<String>,
    /// Write nothing; print per app the diff it would apply and the conflicts it would leave.
    #[arg(long)]
    pub dry_run: bool,
    /// An app whose git worktree has uncommitted changes fails instead of being upgraded.
    #[arg(long)]
    pub require_clean: bool,
    /// Upgrade nothing and open no pack (`--templates` and LEVEE_TEMPLATES are not read): exit 1
    /// while an app still holds conflict markers an upgrade left (in the files it recorded or
    /// rendered from the template). Generated pipelines run this, so an upgrade's pull request
    /// cannot merge unresolved.
    #[arg(long, conflicts_with_all = ["to", "dry_run", "require_clean"])]
    pub check_conflicts: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(super) fn run(global: &Global, args: &UpgradeArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    for root in &args.roots {
        if !root.is_dir() {
            return Err(
                UsageError::new(format!("{} is not a directory", root.display()))
                    .hint("pass an app directory or a directory above many apps")
                    .into(),
            );
        }
    }
    if let Some(to) = &args.to
        && semver::Version::parse(to.trim_start_matches('v')).is_err()
    {
        return Err(UsageError::new(format!("--to {to} is not a version"))
            .hint("pass a semver version such as 1.2.0")
            .into());
    }
    let apps = upgrade::discover(&args.roots);
    if args.check_conflicts && !apps.is_empty() {
        return check_conflicts(&apps, args.format, ui);
    }
    if apps.is_empty() {
        return Err(UsageError::new("no levee app found under the given roots")
            .hint(
                "an app is a directory with app.yaml and a .levee/ record, as `levee new` creates",
            )
            .into());
    }
    if ui.verbose > 0 {
        // One line per distinct org config in force.
        let mut seen = std::collections::BTreeSet::new();
        for app in &apps {
            let found = crate::model::org::locate(global.org.as_deref(), app);
            if seen.insert(found.clone()) {
                let source = found.map_or(
                    crate::model::org::OrgSource::Default,
                    crate::model::org::OrgSource::File,
                );
                ui.verbose(&super::org_in_words(&source, global.org.is_some(), app));
            }
        }
    }
    let opts = Options {
        to: args
            .to
            .as_ref()
            .map(|v| v.trim_start_matches('v').to_string()),
        dry_run: args.dry_run,
        require_clean: args.require_clean,
        org: global.org.clone(),
    };
    let bar = progress_bar(apps.len(), ui);
    let on = |event: Event<'_>| match event {
        Event::PreparingPack(source) => {
            ui.verbose(&format!("preparing the template pack {source}"))
        }
        Event::Planned => {
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
    };
    let report = fleet::upgrade_fleet(&apps, args.templates.as_deref(), &opts, &on)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let status = if report.has_problems() {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    };
    match args.format {
        Format::Json => ui.out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Text => ui.out(&text(&report.apps, &report.summary, args.dry_run, ui))?,
    }
    Ok(status)
}

#[derive(Debug, Serialize)]
struct ConflictReport<'a> {
    app: &'a std::path::Path,
    files: Vec<upgrade::Marker>,
}

/// `--check-conflicts`: the conflict markers upgrades left, per app; exit 1 while any remain.
fn check_conflicts(apps: &[PathBuf], format: Format, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let reports: Vec<ConflictReport<'_>> = apps
        .par_iter()
        .map(|app| ConflictReport {
            app,
            files: upgrade::unresolved_markers(app),
        })
        .collect();
    let files: usize = reports.iter().map(|r| r.files.len()).sum();
    let with: usize = reports.iter().filter(|r| !r.files.is_empty()).count();
    match format {
        Format::Json => {
            let json = serde_json::json!({
                "apps": reports.iter().filter(|r| !r.files.is_empty()).collect::<Vec<_>>(),
                "summary": {"apps": reports.len(), "apps_with_conflicts": with, "files": files},
            });
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
        }
        Format::Text => {
            let mut out = String::new();
            for r in &reports {
                for m in &r.files {
                    let path = if r.app == std::path::Path::new(".") {
                        m.path.clone()
                    } else {
                        r.app.join(&m.path)
                    };
                    out.push_str(&format!(
                        "{} {}:{}: conflict markers left by a template upgrade\n",
                        ui.stdout().red("conflict"),
                        path.display(),
                        m.line
                    ));
                }
            }
            if files > 0 {
                out.push_str(&format!(
                    "{} file(s) with conflict markers in {with} of {} app(s)\n{} keep the lines you \
                     want, delete the <<<<<<< / ======= / >>>>>>> lines, then commit\n",
                    files,
                    reports.len(),
                    ui.stdout().dim("hint:")
                ));
            } else if !ui.quiet {
                out.push_str(&format!(
                    "{} no conflict markers left by an upgrade in {} app(s)\n",
                    ui.stdout().green("ok"),
                    reports.len()
                ));
            }
            ui.out(&out)?;
        }
    }
    Ok(if files > 0 {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    })
}

/// A progress bar on stderr for fleets, only when stderr is a terminal.
///
/// indicatif draws and rate-limits the bar from any thread (the apps are upgraded on rayon's
/// pool), and hides itself when stderr is not a terminal.
fn progress_bar(len: usize, ui: &Ui) -> Option<indicatif::ProgressBar> {
    if len < 2 || ui.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("upgrading {pos}/{len} apps {wide_bar} {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

fn text(reports: &[AppReport], summary: &Summary, dry_run: bool, ui: &Ui) -> String {
    use crate::support::text::{Shown, escape_path};
    let mut out = String::new();
    for r in reports {
        let has_detail = r.error.is_some()
            || r.warning.is_some()
            || r.files
                .iter()
                .any(|f| f.change == "conflict" || f.change == "resolved")
            || (dry_run && !r.files.is_empty());
        if !has_detail {
            continue;
        }
        out.push_str(&format!(
            "== {} ({} -> {})\n",
            escape_path(&r.app),
            Shown(&r.from),
            Shown(&r.to)
        ));
        if dry_run {
            for f in &r.files {
                out.push_str(&crate::support::text::escape_lines(&f.diff));
            }
        }
        for f in &r.files {
            let label = match f.change {
                "conflict" => ui.stdout().red("conflict"),
                "resolved" => ui.stdout().green("resolved"),
                _ => continue,
            };
            out.push_str(&format!(
                "{label} {}: {}\n",
                escape_path(&f.path),
                Shown(f.detail.as_deref().unwrap_or(""))
            ));
        }
        if let Some(w) = &r.warning {
            out.push_str(&format!("{} {}\n", ui.stdout().dim("warning:"), Shown(w)));
        }
        if let Some(e) = &r.error {
            // Errors can span lines (an invalid app.yaml's diagnostics): each line escaped.
            out.push_str(&format!(
                "{} {}\n",
                ui.stdout().red("failed:"),
                crate::support::text::escape_lines(e)
            ));
        }
    }
    let mut table = crate::support::ui::table(&["app", "from", "to", "result", "files changed"]);
    for r in reports {
        table.add_row(vec![
            escape_path(&r.app),
            Shown(&r.from).to_string(),
            Shown(&r.to).to_string(),
            r.result.as_str().to_string(),
            r.files_changed.to_string(),
        ]);
    }
    out.push_str(&format!("{table}\n"));
    out.push_str(&format!(
        "{}{} apps: {} upgraded, {} up to date, {} with conflicts, {} failed\n",
        if dry_run {
            "dry run, nothing written: "
        } else {
            ""
        },
        summary.apps,
        summary.upgraded,
        summary.up_to_date,
        summary.conflicts,
        summary.failed
    ));
    if summary.conflicts > 0 {
        out.push_str(&format!(
            "{} resolve the conflict markers (<<<<<<< ours / >>>>>>> template vX.Y.Z) and the \
             files listed above, then run `levee upgrade` again: it reports these apps as \
             conflicts until no marker is left\n",
            ui.stdout().dim("hint:")
        ));
    }
    out
}
