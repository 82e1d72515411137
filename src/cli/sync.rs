//! `levee sync`: regenerate the app's managed files; `--check` reports drift with a diff.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::cli::Global;
use crate::generate::managed::{self, ManagedEntry, State, SyncAction};
use crate::load::document::LoadError;
use crate::model::manifest::{self, Manifest};
use crate::model::org;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The app directory (or its app.yaml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Write nothing; exit 1 with a diff when a managed file is missing, stale or edited.
    #[arg(long)]
    pub check: bool,
    /// Overwrite (or remove) managed files that were edited by hand.
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The app directory, its manifest and the org config; `Err` carries the exit status when the
/// manifest is invalid (its diagnostics already printed).
pub(crate) fn load_app(
    global: &Global,
    path: &Path,
    ui: &Ui,
) -> anyhow::Result<Result<(PathBuf, Manifest, org::Org), ExitStatus>> {
    let file = manifest::locate(path);
    let app = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let app = if app.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        app
    };
    let manifest = match manifest::load(path) {
        Ok(l) => l.value,
        Err(LoadError::Invalid {
            file: source,
            diags,
        }) => {
            super::report_invalid_manifest(&file, &source, &diags, ui);
            return Ok(Err(ExitStatus::Problems));
        }
        Err(e @ LoadError::Io { .. }) => {
            return Err(UsageError::new(e.to_string())
                .hint("pass an app directory or its app.yaml; create one with `levee new`")
                .into());
        }
    };
    let resolved = super::resolve_org(global, &app, ui)?;
    Ok(Ok((app, manifest, resolved.org)))
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    check: bool,
    in_sync: bool,
    files: Vec<FileReport<'a>>,
    /// Why `deploy/` could not be generated (left as it was), each located in app.yaml.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sandbox_refused: Vec<crate::load::diag::Diagnostic>,
    /// Policy denials on app.yaml (`levee check` fails on them; sync only warns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policy_denials: Vec<crate::load::diag::Diagnostic>,
}

#[derive(Debug, Serialize)]
struct FileReport<'a> {
    path: &'a str,
    state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<SyncAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

pub(super) fn run(global: &Global, args: &SyncArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let (app, manifest, org) = match load_app(global, &args.path, ui)? {
        Ok(v) => v,
        Err(status) => return Ok(status),
    };
    let generated = managed::generate(&manifest, &org)?;
    let mut desired = generated.files;
    // Located reports need app.yaml's text and positions.
    let loaded = manifest::load(&args.path)?;
    let mut refused = generated
        .sandbox_refused
        .as_ref()
        .map(|r| super::deploy::refusal_diagnostics(&loaded, r))
        .unwrap_or_default();
    // A required setting of the app's template that app.yaml does not set: the app would not
    // start, so deploy/ is left as it was too (every other managed file is still written).
    let unmet = crate::scaffold::template_settings::problems(&loaded);
    refused.extend(unmet.iter().cloned());
    if !unmet.is_empty() {
        let prefix = format!("{}/", crate::generate::sandbox::DEPLOY_DIR);
        desired.retain(|f| !f.path.starts_with(&prefix));
    }
    let denials = policy_denials(&loaded, &org)?;
    let mut entries = managed::status(&app, &desired)?;
    if !refused.is_empty() {
        entries = managed::leave_alone(entries, crate::generate::sandbox::DEPLOY_DIR);
    }
    let actions = if args.check {
        None
    } else {
        Some(managed::apply(&app, &entries, args.force)?)
    };
    let status = match &actions {
        None if entries.iter().all(|e| e.state.is_current()) => ExitStatus::Success,
        None => ExitStatus::Problems,
        Some(a) if a.contains(&SyncAction::Refused) => ExitStatus::Problems,
        Some(_) => ExitStatus::Success,
    };
    // A refused sandbox is a problem even when every file that could be written was.
    let status = if refused.is_empty() {
        status
    } else {
        ExitStatus::Problems
    };
    match args.format {
        Format::Json => {
            let report = Report {
                check: args.check,
                in_sync: status == ExitStatus::Success,
                files: entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| FileReport {
                        path: &e.path,
                        state: e.state,
                        action: actions.as_ref().map(|a| a[i]),
                        diff: (!e.state.is_current()).then(|| e.diff()),
                    })
                    .collect(),
                sandbox_refused: refused,
                policy_denials: denials,
            };
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        }
        Format::Text => {
            ui.out(&text(
                &app,
                &entries,
                actions.as_deref(),
                !refused.is_empty(),
                ui,
            ))?;
            // On stderr: stdout stays the report of the managed files.
            if !denials.is_empty() {
                let rendered =
                    crate::load::diag::render(&denials, Some(&loaded.source.text), ui.stderr_color);
                ui.status(rendered.trim_end());
                ui.status(&format!(
                    "{} {} policy denial{} in app.yaml: `levee check` and CI fail until {} fixed",
                    ui.stderr().yellow("warning:"),
                    denials.len(),
                    if denials.len() == 1 { "" } else { "s" },
                    if denials.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    },
                ));
            }
            if !unmet.is_empty() {
                let mut out =
                    crate::load::diag::render(&unmet, Some(&loaded.source.text), ui.stdout_color);
                out.push_str(&format!(
                    "{} {} cannot be deployed: {} problem{} with the settings its template needs\n",
                    ui.stdout().red("refused"),
                    loaded.value.name,
                    unmet.len(),
                    if unmet.len() == 1 { "" } else { "s" }
                ));
                ui.out(&out)?;
            }
            if let Some(r) = &generated.sandbox_refused {
                ui.out(&super::deploy::render_refusals(&loaded, r, ui))?;
            }
            if !refused.is_empty() {
                ui.out(&format!(
                    "{} {} was left as it was; every other managed file was {}\n",
                    ui.stdout().dim("note:"),
                    crate::generate::sandbox::DEPLOY_DIR,
                    if args.check { "checked" } else { "written" },
                ))?;
            }
        }
    }
    Ok(status)
}

/// The org's policy denials on app.yaml, as warnings located in the file.
fn policy_denials(
    loaded: &crate::load::document::Loaded<Manifest>,
    org: &org::Org,
) -> anyhow::Result<Vec<crate::load::diag::Diagnostic>> {
    let clock = crate::generate::policy::Clock::Fixed(crate::support::clock::today());
    let mut evaluator = crate::generate::policy::Evaluator::embedded(org, clock)?;
    Ok(evaluator
        .evaluate(&loaded.doc.value)?
        .into_iter()
        .filter(|f| f.level == crate::generate::policy::Level::Deny)
        .map(|f| {
            let mut d = crate::load::diag::Diagnostic::for_value(
                &loaded.source.path,
                &loaded.doc.spans,
                &f.pointer(),
                format!("{} {}", f.id, f.msg),
            )
            .hint(f.hint.clone());
            d.severity = crate::load::diag::Severity::Warning;
            d
        })
        .collect())
}

fn describe(state: State) -> &'static str {
    match state {
        State::Current => "current",
        State::Missing => "missing",
        State::Stale => "out of date",
        State::Edited => "edited by hand",
        State::Obsolete => "no longer generated",
        State::ObsoleteEdited => "no longer generated, and edited by hand",
        State::Extra => "not generated by levee, in a directory levee owns",
    }
}

fn text(
    app: &Path,
    entries: &[ManagedEntry],
    actions: Option<&[SyncAction]>,
    deploy_refused: bool,
    ui: &Ui,
) -> String {
    use crate::support::text::{Shown, escape_lines};
    let mut out = String::new();
    // When the sandbox refused the app, `deploy/` is not among the files counted.
    let other = if deploy_refused { "other " } else { "" };
    let stale: Vec<&ManagedEntry> = entries.iter().filter(|e| !e.state.is_current()).collect();
    let Some(actions) = actions else {
        // --check
        if stale.is_empty() {
            if !ui.quiet {
                out.push_str(&format!(
                    "{} {} {other}managed files in {} are current\n",
                    ui.stdout().green("ok"),
                    entries.len(),
                    crate::support::text::escape_path(app)
                ));
            }
            return out;
        }
        for e in &stale {
            out.push_str(&escape_lines(&e.diff()));
        }
        for e in &stale {
            out.push_str(&format!(
                "{} {}: {}\n",
                ui.stdout().red("drift"),
                Shown(&e.path),
                describe(e.state)
            ));
        }
        let fix = if stale.iter().any(|e| e.state == State::Extra) {
            "policy/ and deploy/ hold only what levee generates (OPA and kubectl load every file there): move other files elsewhere, or remove them with `levee sync --force`"
        } else if stale.iter().any(|e| e.state.is_edited()) {
            "hand edits are overwritten: move them into app.yaml or the org config, then run `levee sync --force`"
        } else {
            "run `levee sync` to regenerate them"
        };
        out.push_str(&format!("{} {fix}\n", ui.stdout().dim("hint:")));
        return out;
    };
    let mut refused = false;
    for (e, a) in entries.iter().zip(actions) {
        match a {
            SyncAction::Unchanged => {}
            SyncAction::Written => out.push_str(&format!(
                "{} {} ({})\n",
                ui.stdout().green("wrote"),
                Shown(&e.path),
                describe(e.state)
            )),
            SyncAction::Removed => out.push_str(&format!(
                "{} {} ({})\n",
                ui.stdout().green("removed"),
                Shown(&e.path),
                describe(e.state)
            )),
            SyncAction::Refused => {
                refused = true;
                out.push_str(&escape_lines(&e.diff()));
                out.push_str(&format!(
                    "{} {}: {}; {}\n",
                    ui.stdout().red("refused"),
                    Shown(&e.path),
                    describe(e.state),
                    if e.state == State::Extra {
                        "not removed"
                    } else {
                        "not overwritten"
                    }
                ));
            }
        }
    }
    if refused {
        let hint = if entries.iter().any(|e| e.state == State::Extra) {
            "move files levee does not generate out of policy/ and deploy/; `levee sync --force` overwrites hand edits and removes those files"
        } else {
            "move the change into app.yaml or the org config; `levee sync --force` overwrites hand edits"
        };
        out.push_str(&format!("{} {hint}\n", ui.stdout().dim("hint:")));
    } else if stale.is_empty() && !ui.quiet {
        out.push_str(&format!(
            "{} {} {other}managed files are current\n",
            ui.stdout().green("ok"),
            entries.len()
        ));
    }
    out
}
