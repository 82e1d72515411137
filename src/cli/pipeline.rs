//! `levee pipeline`: print or write just the app's CI pipeline.

use std::path::PathBuf;

use clap::Args;

use crate::cli::Global;
use crate::generate::managed::{self, SyncAction};
use crate::generate::pipeline;
use crate::model::manifest::Ci;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::Ui;

#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// The app directory (or its app.yaml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The CI to generate for (default: the manifest's `ci`, else github).
    #[arg(long, value_parser = parse_ci)]
    pub ci: Option<Ci>,
    /// Print the pipeline instead of writing it.
    #[arg(long)]
    pub stdout: bool,
}

fn parse_ci(s: &str) -> Result<Ci, String> {
    s.parse()
}

pub(super) fn run(global: &Global, args: &PipelineArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let (app, manifest, org) = match super::sync::load_app(global, &args.path, ui)? {
        Ok(v) => v,
        Err(status) => return Ok(status),
    };
    let own = pipeline::ci_of(&manifest);
    let ci = args.ci.unwrap_or(own);
    let file = managed::pipeline_for(&manifest, &org, ci)?;
    if args.stdout {
        ui.out(&file.content)?;
        return Ok(ExitStatus::Success);
    }
    if ci != own {
        return Err(UsageError::new(format!(
            "app.yaml says `ci: {own}`; a {ci} pipeline written here would be removed by the next `levee sync`"
        ))
        .hint(format!("set `ci: {ci}` in app.yaml and run `levee sync`, or add --stdout to preview"))
        .into());
    }
    let entries = managed::status(&app, std::slice::from_ref(&file))?;
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| e.path == file.path)
        .collect();
    let actions = managed::apply(&app, &entries, false)?;
    match actions.first() {
        Some(SyncAction::Refused) => {
            if let Some(e) = entries.first() {
                ui.out(&e.diff())?;
            }
            ui.error(&format!(
                "{} {} was edited by hand; not overwritten\n{} move the change into app.yaml or the org config; `levee sync --force` overwrites it",
                ui.stderr().red("refused"),
                file.path,
                ui.stderr().dim("hint:")
            ));
            Ok(ExitStatus::Problems)
        }
        Some(SyncAction::Written) => {
            ui.status(&format!("wrote {}", file.path));
            Ok(ExitStatus::Success)
        }
        _ => {
            ui.status(&format!("{} is current", file.path));
            Ok(ExitStatus::Success)
        }
    }
}
