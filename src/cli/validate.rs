//! `levee validate`: check manifests, report every problem with its location.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::cli::Global;
use crate::diag::{self, Diagnostic};
use crate::document::LoadError;
use crate::exit::ExitStatus;
use crate::manifest;
use crate::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// app.yaml files, or directories holding one.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    valid: bool,
    files: Vec<FileReport<'a>>,
    problems: Vec<&'a Diagnostic>,
}

#[derive(Debug, Serialize)]
struct FileReport<'a> {
    path: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    problems: usize,
    #[serde(skip)]
    _diags: std::marker::PhantomData<&'a ()>,
}

pub fn run(_global: &Global, args: &ValidateArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let mut status = ExitStatus::Success;
    let mut results = Vec::new();
    for path in &args.paths {
        let file = manifest::locate(path);
        match manifest::load(path) {
            Ok(loaded) => results.push((file, Ok(loaded.value), Vec::new(), String::new())),
            Err(LoadError::Invalid {
                file: source,
                diags,
            }) => {
                status = status.max(ExitStatus::Problems);
                results.push((file, Err(None), diags, source.text));
            }
            Err(e @ LoadError::Io { .. }) => {
                status = ExitStatus::Error;
                let msg = if path.is_dir() {
                    format!("{} has no app.yaml", path.display())
                } else {
                    e.to_string()
                };
                results.push((file, Err(Some(msg)), Vec::new(), String::new()));
            }
        }
    }

    match args.format {
        Format::Json => {
            let report = Report {
                valid: status == ExitStatus::Success,
                files: results
                    .iter()
                    .map(|(file, r, diags, _)| FileReport {
                        path: file.display().to_string(),
                        valid: r.is_ok(),
                        error: r.as_ref().err().cloned().flatten(),
                        problems: diags.len(),
                        _diags: std::marker::PhantomData,
                    })
                    .collect(),
                problems: results.iter().flat_map(|(_, _, d, _)| d.iter()).collect(),
            };
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        }
        Format::Text => {
            let mut text = String::new();
            for (file, result, diags, source) in &results {
                match result {
                    Ok(m) => {
                        if !ui.quiet {
                            text.push_str(&format!(
                                "{} {}: {} ({} {})\n",
                                ui.green("valid"),
                                file.display(),
                                m.name,
                                m.classification,
                                m.lifecycle.tier,
                            ));
                        }
                    }
                    Err(Some(msg)) => {
                        text.push_str(&format!("{} {msg}\n", ui.red("error:")));
                        text.push_str(&format!(
                            "{} pass the path of an app.yaml, or create one with `levee new`\n",
                            ui.dim("hint:")
                        ));
                    }
                    Err(None) => {
                        text.push_str(&diag::render(diags, Some(source), ui.stdout_color));
                        text.push_str(&format!(
                            "{} {}: {} problem{}\n",
                            ui.red("invalid"),
                            file.display(),
                            diags.len(),
                            if diags.len() == 1 { "" } else { "s" }
                        ));
                    }
                }
            }
            ui.out(&text)?;
        }
    }
    Ok(status)
}
