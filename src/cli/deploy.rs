//! `levee deploy`: the runtime sandbox's Kubernetes manifests and Kyverno policies (`deploy/`),
//! printed or written. `levee sync` writes the same files as part of the managed set.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::cli::Global;
use crate::generate::sandbox::{self, DeployOptions, SandboxError};
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
    let files = match sandbox::deploy_files(&loaded.value, &resolved.org, &options) {
        Ok(files) => files,
        Err(SandboxError::Refused { refusals, .. }) => {
            if args.format == Format::Json {
                let diags = refusal_diagnostics(&loaded, &refusals);
                let name = &loaded.value.name;
                json_report(ui, name, "refused", Vec::new(), Vec::new(), diags)?;
            } else {
                ui.out(&render_refusals(&loaded, &refusals, ui))?;
            }
            return Ok(ExitStatus::Problems);
        }
        Err(e) => return Err(e.into()),
    };

    if args.stdout {
        let mut text = String::new();
        for (path, content) in &files {
            text.push_str(&format!("# ---- {}\n{content}", path.display()));
        }
        ui.out(&text)?;
        return Ok(ExitStatus::Success);
    }

    let (target, strip) = match &args.out {
        Some(dir) => (dir.clone(), true),
        None => (app_dir.clone(), false),
    };
    // Into the app: through `AppDir` (no symlink followed, nothing written outside the app).
    let app = if strip {
        None
    } else {
        let dir = crate::support::appdir::AppDir::open(&app_dir)
            .with_context(|| format!("cannot open {}", app_dir.display()))?;
        if dir.pending()?.is_some() {
            return Err(crate::support::appdir::interrupted_error().into());
        }
        // Read the record first: a broken one stops deploy before it writes anything.
        crate::generate::managed::ManagedRecord::load(&app_dir)?;
        Some(dir)
    };
    let mut written = Vec::new();
    for (path, content) in &files {
        let rel = if strip {
            path.strip_prefix(sandbox::DEPLOY_DIR).unwrap_or(path)
        } else {
            path.as_path()
        };
        let dest = target.join(rel);
        match &app {
            Some(dir) => dir
                .write(rel, content.as_bytes(), None)
                .with_context(|| format!("cannot write {}", dest.display()))?,
            None => write_atomic(&dest, content)?,
        }
        written.push(dest);
    }
    let deploy_root = if strip {
        target.clone()
    } else {
        target.join(sandbox::DEPLOY_DIR)
    };
    let removed = match &app {
        Some(dir) => remove_stale_in(dir, &files)?,
        None => remove_stale(&deploy_root, &written)?,
    };
    if !strip {
        // Written into the app: recorded as managed files, as `levee sync` records them, so a
        // later sync or promote knows them for levee's own and never calls them hand edits.
        let rel = |p: &Path| {
            p.strip_prefix(&app_dir)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        };
        let recorded: Vec<(String, String)> = files
            .iter()
            .map(|(p, c)| (p.to_string_lossy().replace('\\', "/"), c.clone()))
            .collect();
        let gone: Vec<String> = removed.iter().map(|p| rel(p)).collect();
        crate::generate::managed::record(&app_dir, &recorded, &gone)
            .with_context(|| format!("cannot record the files written in {}", app_dir.display()))?;
    }
    if args.format == Format::Json {
        let names = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect();
        let (w, r) = (names(&written), names(&removed));
        json_report(ui, &loaded.value.name, "ok", w, r, Vec::new())?;
        return Ok(ExitStatus::Success);
    }
    for p in &removed {
        ui.status(&format!("removed {} (no longer generated)", p.display()));
    }
    ui.status(&format!(
        "{} {} files for {} in {}",
        ui.stderr().green("wrote"),
        written.len(),
        loaded.value.name,
        deploy_root.display()
    ));
    Ok(ExitStatus::Success)
}

/// Writes `content` to `dest` atomically (see [`crate::support::fsio`]).
fn write_atomic(dest: &Path, content: &str) -> anyhow::Result<()> {
    crate::support::fsio::write_atomic(dest, content.as_bytes())
        .with_context(|| format!("cannot write {}", dest.display()))
}

/// Removes files under `root` that levee generated earlier (they start with levee's header) and
/// did not generate now (an egress allow-list after the egress list was emptied). Files without
/// the header are left alone.
fn remove_stale(root: &Path, keep: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for dir in [root.to_path_buf(), root.join("admission")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_file() || keep.contains(&path) {
                continue;
            }
            let head = crate::support::input::read(&path, crate::support::appdir::MAX_FILE_BYTES)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let generated = head
                .lines()
                .next()
                .is_some_and(|l| l.contains("Generated by levee v") && l.contains("levee sync"));
            if generated {
                fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                removed.push(path);
            }
        }
    }
    Ok(removed)
}

/// [`remove_stale`] for the app's own `deploy/`, through [`crate::support::appdir::AppDir`].
fn remove_stale_in(
    dir: &crate::support::appdir::AppDir,
    keep: &[(PathBuf, String)],
) -> anyhow::Result<Vec<PathBuf>> {
    let deploy = Path::new(sandbox::DEPLOY_DIR);
    let mut removed = Vec::new();
    for (rel, kind) in dir.entries_under(deploy)? {
        let depth = rel
            .strip_prefix(deploy)
            .map_or(0, |r| r.components().count());
        let in_scope = depth == 1 || (depth == 2 && rel.starts_with(deploy.join("admission")));
        if !matches!(kind, crate::support::appdir::Kind::File { .. })
            || !in_scope
            || keep.iter().any(|(p, _)| *p == rel)
        {
            continue;
        }
        let head = dir
            .read(&rel, crate::support::appdir::MAX_FILE_BYTES)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let generated = head
            .lines()
            .next()
            .is_some_and(|l| l.contains("Generated by levee v") && l.contains("levee sync"));
        if generated {
            dir.remove(&rel)
                .with_context(|| format!("cannot remove {}", dir.display(&rel).display()))?;
            removed.push(dir.display(&rel));
        }
    }
    Ok(removed)
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
