//! `levee deploy`: the runtime sandbox's Kubernetes manifests and Kyverno policies (`deploy/`),
//! printed or written. `levee sync` writes the same files as part of the managed set.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::cli::Global;
use crate::generate::deploy::{self, Deployed, Destination};
use crate::generate::sandbox::{self, DeployOptions};
use crate::load::diag::{self, Diagnostic};
use crate::load::document::LoadError;
use crate::model::manifest;
use crate::model::sandbox_config::KyvernoForm;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The app: a directory holding app.yaml, or the file.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Print the files to stdout (each under a `# ---- deploy/...` line) instead of writing them.
    #[arg(long, conflicts_with = "out")]
    pub stdout: bool,
    /// The Kyverno policy form (default: the org config's `sandbox.kyverno`, else
    /// validating-policy).
    #[arg(long, value_enum)]
    pub kyverno: Option<KyvernoArg>,
    /// Write the files into DIR instead of the app's `deploy/` directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// `json`: report the files written and removed (or the refusals, or the problems in
    /// app.yaml) as one JSON object on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "stdout")]
    pub format: Format,
}

/// `--format json`: what `levee deploy` did.
#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    app: &'a str,
    /// ok, refused or invalid.
    result: &'static str,
    wrote: Vec<String>,
    removed: Vec<String>,
    /// Why the app cannot be deployed, or what is wrong with app.yaml; each located.
    problems: Vec<Diagnostic>,
}

/// `--kyverno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KyvernoArg {
    /// Kyverno's CEL `ValidatingPolicy` (policies.kyverno.io/v1, Kyverno 1.17+).
    ValidatingPolicy,
    /// The classic `ClusterPolicy` (kyverno.io/v1), for older Kyverno.
    ClusterPolicy,
}

impl From<KyvernoArg> for KyvernoForm {
    fn from(a: KyvernoArg) -> Self {
        match a {
            KyvernoArg::ValidatingPolicy => KyvernoForm::ValidatingPolicy,
            KyvernoArg::ClusterPolicy => KyvernoForm::ClusterPolicy,
        }
    }
}

pub(super) fn run(global: &Global, args: &DeployArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let file = manifest::locate(&args.path);
    let loaded = match crate::scaffold::template_settings::load(&args.path) {
        Ok(l) => l,
        Err(LoadError::Invalid {
            file: source,
            diags,
        }) => {
            if args.format == Format::Json {
                let name = source.path.display().to_string();
                json_report(ui, &name, "invalid", Vec::new(), Vec::new(), diags)?;
                return Ok(ExitStatus::Problems);
            }
            ui.out(&diag::render(&diags, Some(&source.text), ui.stdout_color))?;
            ui.status(&format!(
                "{} fix app.yaml (`levee validate` lists every problem), then run `levee deploy` again",
                ui.stderr().dim("hint:")
            ));
            return Ok(ExitStatus::Problems);
        }
        Err(e @ LoadError::Io { .. }) => {
            return Err(UsageError::new(e.to_string())
                .hint("pass an app directory or its app.yaml; create one with `levee new`")
                .into());
        }
    };
    let app_dir = file
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    // An invalid org config is the platform team's input, not this app's: reported like every
    // other command reports it (located, on stderr, exit 2), never as the app's problems.
    let resolved = super::resolve_org(global, &app_dir, ui)?;
    let options = DeployOptions {
        kyverno: args.kyverno.map(Into::into),
    };
    let dest = match (&args.out, args.stdout) {
        (_, true) => Destination::None,
        (Some(dir), false) => Destination::Dir(dir.clone()),
        (None, false) => Destination::App(app_dir),
    };
    let done = match deploy::deploy(&loaded.value, &resolved.org, &options, &dest)? {
        Deployed::Files(done) => done,
        Deployed::Refused(refusals) => {
            if args.format == Format::Json {
                let diags = refusal_diagnostics(&loaded, &refusals);
                let name = &loaded.value.name;
                json_report(ui, name, "refused", Vec::new(), Vec::new(), diags)?;
            } else {
                ui.out(&render_refusals(&loaded, &refusals, ui))?;
            }
            return Ok(ExitStatus::Problems);
        }
    };
    if args.stdout {
        let mut text = String::new();
        for (path, content) in &done.files {
            text.push_str(&format!("# ---- {}\n{content}", path.display()));
        }
        ui.out(&text)?;
        return Ok(ExitStatus::Success);
    }
    if args.format == Format::Json {
        let names = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect();
        let (w, r) = (names(&done.written), names(&done.removed));
        json_report(ui, &loaded.value.name, "ok", w, r, Vec::new())?;
        return Ok(ExitStatus::Success);
    }
    for p in &done.removed {
        ui.status(&format!("removed {} (no longer generated)", p.display()));
    }
    ui.status(&format!(
        "{} {} files for {} in {}",
        ui.stderr().green("wrote"),
        done.written.len(),
        loaded.value.name,
        done.root.display()
    ));
    Ok(ExitStatus::Success)
}

fn json_report(
    ui: &Ui,
    app: &str,
    result: &'static str,
    wrote: Vec<String>,
    removed: Vec<String>,
    problems: Vec<Diagnostic>,
) -> anyhow::Result<()> {
    let report = Report {
        app,
        result,
        wrote,
        removed,
        problems,
    };
    ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    Ok(())
}

/// The sandbox's refusals as diagnostics located in app.yaml.
pub(crate) fn refusal_diagnostics(
    loaded: &crate::load::document::Loaded<manifest::Manifest>,
    refusals: &[sandbox::DeployRefusal],
) -> Vec<Diagnostic> {
    refusals
        .iter()
        .map(|r| {
            Diagnostic::for_value(
                &loaded.source.path,
                &loaded.doc.spans,
                &r.field,
                r.message.clone(),
            )
            .hint(r.hint.clone())
        })
        .collect()
}

/// Prints the sandbox's refusals, each located in app.yaml.
pub(crate) fn render_refusals(
    loaded: &crate::load::document::Loaded<manifest::Manifest>,
    refusals: &[sandbox::DeployRefusal],
    ui: &Ui,
) -> String {
    let diags = refusal_diagnostics(loaded, refusals);
    let mut out = diag::render(&diags, Some(&loaded.source.text), ui.stdout_color);
    out.push_str(&format!(
        "{} {} cannot be deployed to the sandbox: {} problem{}\n",
        ui.stdout().red("refused"),
        loaded.value.name,
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    ));
    out
}
