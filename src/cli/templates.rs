//! `levee templates list`: what a template pack offers.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::scaffold::pack;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    pub command: TemplatesCommand,
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List the templates of a pack.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The template pack: a directory, a git repository (URL or path), `REPO@v1.2.0` for a
    /// tagged version, or `builtin` (default).
    #[arg(long, env = "LEVEE_TEMPLATES", value_name = "SOURCE")]
    pub templates: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Loads a pack, turning its error into a usage error (exit 2).
pub(crate) fn load_pack(source: Option<&str>) -> anyhow::Result<pack::Pack> {
    pack::load(source).map_err(|e| {
        UsageError::new(format!("cannot load the template pack: {e}"))
            .hint("--templates takes a directory, a git repository, REPO@vX.Y.Z, or `builtin`")
            .into()
    })
}

pub(super) fn run(args: &TemplatesArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let TemplatesCommand::List(args) = &args.command;
    let pack = load_pack(args.templates.as_deref())?;
    match args.format {
        Format::Json => {
            let v = json!({
                "pack": {
                    "name": pack.meta.name,
                    "version": pack.version.to_string(),
                    "description": pack.meta.description,
                    "source": pack.origin.to_string(),
                },
                "templates": pack.templates,
                "kinds": pack.declared.kinds,
                "stacks": pack.declared.stacks,
            });
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        }
        Format::Text => {
            // Names and descriptions come from the pack, which may be anyone's.
            use crate::support::text::Shown;
            let mut text = format!(
                "{} {} ({})\n",
                Shown(&pack.meta.name),
                pack.version,
                Shown(&pack.origin.to_string())
            );
            if pack.templates.is_empty() {
                text.push_str("  (no templates)\n");
            }
            let width = pack.templates.iter().map(|t| t.id.len()).max().unwrap_or(0);
            let kind_width = pack
                .templates
                .iter()
                .map(|t| t.meta.kind.as_str().len())
                .max()
                .unwrap_or(0)
                .max(9);
            let stack_width = pack
                .templates
                .iter()
                .map(|t| t.meta.stack.as_str().len())
                .max()
                .unwrap_or(0)
                .max(6);
            for t in &pack.templates {
                text.push_str(&format!(
                    "  {:<width$}  {:<kind_width$} {:<stack_width$}  {}\n",
                    Shown(&t.id).to_string(),
                    t.meta.kind.as_str(),
                    t.meta.stack.as_str(),
                    Shown(&t.meta.description)
                ));
            }
            // The kinds and stacks the pack declares itself or its templates use (the built-in
            // ones it starts from and uses).
            let kinds: Vec<_> = pack
                .declared
                .kinds
                .iter()
                .filter(|(n, _)| {
                    pack.meta.kinds.contains_key(*n)
                        || !pack
                            .find(Some(&crate::model::manifest::Kind::from(n.as_str())), None)
                            .is_empty()
                })
                .collect();
            let stacks: Vec<_> = pack
                .declared
                .stacks
                .iter()
                .filter(|(n, _)| {
                    pack.meta.stacks.contains_key(*n)
                        || !pack
                            .find(None, Some(&crate::model::manifest::Stack::from(n.as_str())))
                            .is_empty()
                })
                .collect();
            let name_width = kinds
                .iter()
                .map(|(n, _)| n.len())
                .chain(stacks.iter().map(|(n, _)| n.len()))
                .max()
                .unwrap_or(0);
            text.push_str("kinds:\n");
            for (name, k) in &kinds {
                text.push_str(&format!(
                    "  {name:<name_width$}  {}\n",
                    Shown(&k.description)
                ));
            }
            text.push_str("stacks:\n");
            for (name, s) in &stacks {
                let steps: Vec<&str> = s.build.iter().map(|b| b.name()).collect();
                text.push_str(&format!(
                    "  {name:<name_width$}  {} (build: {})\n",
                    Shown(&s.description),
                    Shown(&steps.join("; "))
                ));
            }
            ui.out(&text)?;
        }
    }
    Ok(ExitStatus::Success)
}
