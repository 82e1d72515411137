//! `levee promote [PATH] --tier T`: change the app's tier in `app.yaml` in place, then regenerate
//! its managed files; refuse, writing nothing, what the org's policies forbid.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::change::promote::{
    self, PromoteError, PromoteOutcome, PromoteRefusal, Promotion, Reason, Request,
};
use crate::cli::Global;
use crate::load::document::LoadError;
use crate::model::manifest::{self, Classification, Date, SecretProvider, Tier};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The app directory (or its app.yaml).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The tier to move to: sandbox or production.
    #[arg(long, value_parser = parse_tier)]
    pub tier: Tier,
    /// Also change the app's classification.
    #[arg(long)]
    pub classification: Option<Classification>,
    /// The new expiry date (YYYY-MM-DD), for tiers with a maximum lifetime (default: the org's
    /// default lifetime from today).
    #[arg(long, value_name = "DATE", value_parser = Date::parse)]
    pub expires: Option<Date>,
    /// Move every secret read from the environment (`provider: env`) to this store, editing
    /// those lines of app.yaml in place: `vault` or `aws-secrets-manager`.
    #[arg(long, value_name = "STORE", value_parser = parse_store)]
    pub move_secrets_to: Option<SecretProvider>,
    /// Print the diff of app.yaml and of every managed file; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn parse_store(s: &str) -> Result<SecretProvider, String> {
    match s.parse::<SecretProvider>() {
        Ok(SecretProvider::Env) | Err(_) => Err(format!(
            "`{s}` is not a secret store to move secrets to: pass `vault` or `aws-secrets-manager`"
        )),
        Ok(p) => Ok(p),
    }
}

fn parse_tier(s: &str) -> Result<Tier, String> {
    match s.parse::<Tier>() {
        Ok(Tier::Prototype) => Err(
            "an app is promoted to `sandbox` or `production`; a prototype is where apps start"
                .into(),
        ),
        Ok(t) => Ok(t),
        Err(_) => Err(format!(
            "`{s}` is not a tier: pass `sandbox` or `production`"
        )),
    }
}

pub(super) fn run(global: &Global, args: &PromoteArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let file = manifest::locate(&args.path);
    let app = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let resolved = super::resolve_org(global, &app, ui)?;
    let req = Request {
        tier: args.tier,
        classification: args.classification,
        expires: args.expires,
        today: crate::support::clock::today(),
        move_secrets_to: args.move_secrets_to,
    };
    let outcome = match promote::prepare(&args.path, &resolved.org, &req) {
        Ok(o) => o,
        Err(PromoteError::Load(LoadError::Invalid {
            file: source,
            diags,
        })) => {
            super::report_invalid_manifest(&file, &source, &diags, ui);
            return Ok(ExitStatus::Problems);
        }
        Err(PromoteError::Load(e @ LoadError::Io { .. })) => {
            return Err(UsageError::new(e.to_string())
                .hint("pass an app directory or its app.yaml; create one with `levee new`")
                .into());
        }
        Err(e) => return Err(e.into()),
    };
    let path = file.display().to_string();
    match outcome {
        PromoteOutcome::Refused(r) => {
            match args.format {
                Format::Json => ui.out(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&json!({
                        "app": path,
                        "promoted": false,
                        "dry_run": args.dry_run,
                        "from": r.from,
                        "to": r.to,
                        "refused": r.reasons,
                    }))?
                ))?,
                Format::Text => ui.out(&refusal_text(&path, &r, ui))?,
            }
            Ok(ExitStatus::Problems)
        }
        PromoteOutcome::Ready(p) => {
            let written = if args.dry_run { None } else { Some(p.apply()?) };
            match args.format {
                Format::Json => {
                    let files: Vec<_> = p
                        .changed_entries()
                        .map(|e| {
                            let mut v = json!({"path": e.path, "state": e.state});
                            if args.dry_run {
                                v["diff"] = json!(e.diff());
                            }
                            v
                        })
                        .collect();
                    let mut v = json!({
                        "app": path,
                        "promoted": written.is_some(),
                        "dry_run": args.dry_run,
                        "from": p.before.lifecycle.tier,
                        "to": p.after.lifecycle.tier,
                        "changes": p.changes,
                        "gates": p.gates,
                        "managed_files": files,
                        "warnings": p.warnings,
                    });
                    if let Some(w) = &written {
                        v["written"] = json!(w.files);
                        v["removed"] = json!(w.removed);
                    } else {
                        v["app_yaml_diff"] = json!(p.manifest_diff());
                    }
                    ui.out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
                }
                Format::Text => ui.out(&summary_text(&path, &p, written.as_ref(), ui))?,
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn at(path: &str, r: &Reason) -> String {
    match (r.line, r.column) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
        _ if r.id == "DRIFT" => r.field.clone(),
        _ => path.to_string(),
    }
}

fn refusal_text(path: &str, r: &PromoteRefusal, ui: &Ui) -> String {
    use crate::support::text::{Shown, escape_lines};
    let path = &crate::support::text::escape(path);
    let mut out = String::new();
    for e in &r.drift {
        out.push_str(&escape_lines(&e.diff()));
    }
    out.push_str(&format!(
        "{} promotion of {path} from {} to {}: {} reason{}; nothing was written\n",
        ui.stdout().red("refused"),
        r.from,
        r.to,
        r.reasons.len(),
        if r.reasons.len() == 1 { "" } else { "s" }
    ));
    for x in &r.reasons {
        out.push_str(&format!(
            "  {} {} {}\n",
            ui.stdout().red("deny"),
            Shown(&x.id),
            Shown(&x.message)
        ));
        let place = at(path, x);
        if place == x.field {
            out.push_str(&format!(
                "       {} {}\n",
                ui.stdout().dim("at"),
                Shown(&place)
            ));
        } else {
            out.push_str(&format!(
                "       {} {} ({})\n",
                ui.stdout().dim("at"),
                Shown(&place),
                Shown(&x.field)
            ));
        }
        out.push_str(&format!(
            "       {} {}\n",
            ui.stdout().dim("hint:"),
            Shown(&x.hint)
        ));
    }
    out
}

fn summary_text(path: &str, p: &Promotion, written: Option<&promote::Written>, ui: &Ui) -> String {
    let mut out = String::new();
    if written.is_none() {
        out.push_str(&crate::support::text::escape_lines(&p.manifest_diff()));
        for e in p.changed_entries() {
            out.push_str(&crate::support::text::escape_lines(&e.diff()));
        }
    }
    let verb = if written.is_some() {
        ui.stdout().green("promoted")
    } else {
        "would promote".to_string()
    };
    out.push_str(&format!(
        "{verb} {path}: {} -> {}\n",
        p.before.lifecycle.tier, p.after.lifecycle.tier
    ));
    out.push_str("fields:\n");
    for c in &p.changes {
        out.push_str(&format!(
            "  {}: {} -> {}\n",
            c.field,
            c.old.as_deref().unwrap_or("(none)"),
            c.new.as_deref().unwrap_or("(removed)")
        ));
    }
    if p.gates.is_empty() {
        out.push_str("gates: unchanged\n");
    } else {
        out.push_str("gates:\n");
        for g in &p.gates.added {
            out.push_str(&format!("  + {g}\n"));
        }
        for g in &p.gates.removed {
            out.push_str(&format!("  - {g}\n"));
        }
        for g in &p.gates.changed {
            out.push_str(&format!("  ~ {g}\n"));
        }
    }
    match written {
        Some(w) => {
            out.push_str(&format!("files rewritten ({}):\n", w.files.len()));
            for f in &w.files {
                out.push_str(&format!("  {f}\n"));
            }
            for f in &w.removed {
                out.push_str(&format!("  {f} (removed)\n"));
            }
        }
        None => {
            let changed: Vec<_> = p.changed_entries().collect();
            out.push_str(&format!(
                "files that would be rewritten ({}):\n  app.yaml\n",
                changed.len() + 1
            ));
            for e in changed {
                out.push_str(&format!("  {}\n", e.path));
            }
            out.push_str(&format!(
                "{} dry run: nothing was written\n",
                ui.stdout().dim("note:")
            ));
        }
    }
    for w in &p.warnings {
        out.push_str(&format!(
            "  {} {} {} ({}, {})\n",
            ui.stdout().yellow("warn"),
            w.id,
            w.message,
            at(path, w),
            w.field
        ));
    }
    out
}
