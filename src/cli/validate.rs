//! `levee validate`: check manifests (and org configs), report every problem with its location.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::cli::Global;
use crate::generate::policy::{Clock, Evaluator};
use crate::load::diag::{self, Diagnostic};
use crate::load::document::{self, Context, LoadError};
use crate::model::manifest;
use crate::model::org::{self, Org};
use crate::support::exit::ExitStatus;
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// app.yaml files, or directories: every app.yaml (and org config) at or below each, found
    /// as `catalog scan` finds apps (.gitignore honoured). A file named levee.org.yaml (or
    /// NAME.levee.org.yaml) is checked as an org config.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What validating one path found.
#[derive(Debug)]
enum Outcome {
    Valid(String),
    Invalid {
        diags: Vec<Diagnostic>,
        text: String,
    },
    Unreadable(String),
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    valid: bool,
    files: Vec<FileReport>,
    problems: Vec<&'a Diagnostic>,
}

#[derive(Debug, Serialize)]
struct FileReport {
    path: String,
    valid: bool,
    problems: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `levee.org.yaml`, or any `*.levee.org.yaml` (several org configs side by side).
fn is_org_name(n: &str) -> bool {
    n == org::FILE_NAME || n.ends_with(&format!(".{}", org::FILE_NAME))
}

/// The files to check for each path: a file itself; for a directory, every app.yaml and org
/// config at or below it (a directory with none is reported as such).
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let found = manifest::find_files(p, |n| n == manifest::FILE_NAME || is_org_name(n));
            if found.is_empty() {
                out.push(p.clone());
            }
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// Policy engines by org config file, compiled on the first "did you mean" a file needs.
type Engines = RefCell<HashMap<Option<PathBuf>, Option<Evaluator>>>;

fn validate_one(global: &Global, engines: &Engines, path: &Path) -> (PathBuf, Outcome) {
    let file = manifest::locate(path);
    let is_org = file
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_org_name);
    let result = if is_org {
        document::load::<Org>(&file).map(|o| {
            format!(
                "org config `{}` ({} datasets)",
                o.value.org,
                o.value.datasets.len()
            )
        })
    } else {
        // The context: today (a creation date may not lie in the future) and the org's policy,
        // for "did you mean" hints on dataset names. An org config that does not load only costs
        // the hints (`.ok()?` below, deliberately): validating an app must not fail for the
        // platform team's file, `levee validate levee.org.yaml` reports that file's problems
        // itself, and the commands that need the org report it (located, stderr, exit 2).
        let key = org::locate(global.org.as_deref(), &file);
        let lookalikes = |name: &str| {
            let mut engines = engines.borrow_mut();
            let engine = engines.entry(key.clone()).or_insert_with(|| {
                let org = org::resolve(key.as_deref(), &file).ok()?;
                Evaluator::embedded(&org.org, Clock::System).ok()
            });
            engine
                .as_mut()
                .and_then(|e| e.lookalikes(name).ok())
                .unwrap_or_default()
        };
        let context = Context {
            today: Some(Clock::from_env().today()),
            dataset_lookalikes: Some(&lookalikes),
            declared: None,
        };
        // With the settings the app's template declares (its `.levee/` record).
        crate::scaffold::template_settings::load_with(&file, context).map(|m| {
            let m = m.value;
            format!("{} ({} {})", m.name, m.classification, m.lifecycle.tier)
        })
    };
    let outcome = match result {
        Ok(summary) => Outcome::Valid(summary),
        Err(LoadError::Invalid {
            file: source,
            diags,
        }) => Outcome::Invalid {
            diags,
            text: source.text,
        },
        Err(e @ LoadError::Io { .. }) => Outcome::Unreadable(if path.is_dir() {
            format!("{} has no app.yaml, nor any app below it", path.display())
        } else {
            e.to_string()
        }),
    };
    (file, outcome)
}

pub(super) fn run(global: &Global, args: &ValidateArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let engines = Engines::default();
    let results: Vec<(PathBuf, Outcome)> = expand(&args.paths)
        .iter()
        .map(|p| validate_one(global, &engines, p))
        .collect();
    let status = results
        .iter()
        .map(|(_, o)| match o {
            Outcome::Valid(_) => ExitStatus::Success,
            Outcome::Invalid { .. } => ExitStatus::Problems,
            Outcome::Unreadable(_) => ExitStatus::Error,
        })
        .max()
        .unwrap_or(ExitStatus::Success);

    match args.format {
        Format::Json => {
            let report = Report {
                valid: status == ExitStatus::Success,
                files: results
                    .iter()
                    .map(|(file, o)| FileReport {
                        path: file.display().to_string(),
                        valid: matches!(o, Outcome::Valid(_)),
                        problems: match o {
                            Outcome::Invalid { diags, .. } => diags.len(),
                            _ => 0,
                        },
                        error: match o {
                            Outcome::Unreadable(m) => Some(m.clone()),
                            _ => None,
                        },
                    })
                    .collect(),
                problems: results
                    .iter()
                    .flat_map(|(_, o)| match o {
                        Outcome::Invalid { diags, .. } => diags.iter().collect(),
                        _ => Vec::new(),
                    })
                    .collect(),
            };
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
        }
        Format::Text => {
            let mut text = String::new();
            for (file, outcome) in &results {
                match outcome {
                    Outcome::Valid(summary) if !ui.quiet => {
                        text.push_str(&format!(
                            "{} {}: {summary}\n",
                            ui.stdout().green("valid"),
                            file.display()
                        ));
                    }
                    Outcome::Valid(_) => {}
                    Outcome::Unreadable(msg) => {
                        text.push_str(&format!("{} {msg}\n", ui.stdout().red("error:")));
                        text.push_str(&format!(
                            "{} pass the path of an app.yaml, or create one with `levee new`\n",
                            ui.stdout().dim("hint:")
                        ));
                    }
                    Outcome::Invalid {
                        diags,
                        text: source,
                    } => {
                        text.push_str(&diag::render(diags, Some(source), ui.stdout_color));
                        text.push_str(&format!(
                            "{} {}: {} problem{}\n",
                            ui.stdout().red("invalid"),
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
