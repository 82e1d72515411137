//! `levee schema`: print the JSON Schemas generated from levee's types.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::load::declarations::Declarations;
use crate::load::document::Checked;
use crate::model::manifest::Manifest;
use crate::model::org::Org;
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::Ui;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value_t = Which::Manifest)]
    pub which: Which,
    /// The manifest schema of this app (a directory or its app.yaml): `kind` and `stack` are
    /// those its template pack declares (its `.levee/` record), not only the built-in ones.
    #[arg(long, value_name = "PATH", conflicts_with = "templates")]
    pub app: Option<PathBuf>,
    /// The manifest schema for apps made from this template pack (a directory, a git
    /// repository, `REPO@v1.2.0`, or `builtin`): `kind` and `stack` are those it declares.
    #[arg(long, env = "LEVEE_TEMPLATES", value_name = "SOURCE")]
    pub templates: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Which {
    /// app.yaml
    Manifest,
    /// levee.org.yaml
    Org,
    /// a catalog entry (catalog/<id>.json)
    Catalog,
}

pub(super) fn run(args: &SchemaArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let schema = match args.which {
        Which::Manifest => {
            let declared = declared(args)?;
            manifest_schema(&declared)
        }
        Which::Org => Org::schema().clone(),
        Which::Catalog => crate::load::schema::generate::<crate::catalog::Entry>(),
    };
    ui.out(&format!("{}\n", serde_json::to_string_pretty(&schema)?))?;
    Ok(ExitStatus::Success)
}

/// The kinds and stacks the schema names: the app's pack's, the given pack's, or the built-in.
fn declared(args: &SchemaArgs) -> anyhow::Result<Declarations> {
    if let Some(app) = &args.app {
        let file = crate::model::manifest::locate(app);
        if !file.is_file() {
            return Err(
                UsageError::new(format!("{} has no app.yaml", app.display()))
                    .hint("pass the app's directory or its app.yaml")
                    .into(),
            );
        }
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        return match crate::load::declarations::for_app(&dir) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Ok(crate::load::declarations::builtin().clone()),
            Err(why) => Err(UsageError::new(format!(
                "cannot read what the app's template pack declares: {why}"
            ))
            .hint("restore .levee/render.json from version control, or run `levee upgrade`")
            .into()),
        };
    }
    match &args.templates {
        Some(source) => Ok(super::templates::load_pack(Some(source))?.declared),
        None => Ok(crate::load::declarations::builtin().clone()),
    }
}

/// The published manifest schema with `kind` and `stack` closed to the declared names, each with
/// its description, so an editor completes and checks them.
pub(crate) fn manifest_schema(declared: &Declarations) -> Value {
    let mut schema = Manifest::schema().clone();
    let choices = |names: Vec<(&String, &String)>, what: &str| {
        json!({
            "description": format!("One of the {what} the app's template pack declares."),
            "type": "string",
            "enum": names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            "oneOf": names
                .iter()
                .map(|(n, d)| json!({"const": n, "description": d}))
                .collect::<Vec<_>>(),
        })
    };
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) {
        defs.insert(
            "Kind".into(),
            choices(
                declared
                    .kinds
                    .iter()
                    .map(|(n, k)| (n, &k.description))
                    .collect(),
                "kinds",
            ),
        );
        defs.insert(
            "Stack".into(),
            choices(
                declared
                    .stacks
                    .iter()
                    .map(|(n, s)| (n, &s.description))
                    .collect(),
                "stacks",
            ),
        );
    }
    schema
}
