//! `levee schema`: print the JSON Schemas generated from levee's types.

use clap::{Args, ValueEnum};

use crate::load::document::Checked;
use crate::model::manifest::Manifest;
use crate::model::org::Org;
use crate::support::exit::ExitStatus;
use crate::support::ui::Ui;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema.
    #[arg(value_enum, default_value_t = Which::Manifest)]
    pub which: Which,
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
        Which::Manifest => Manifest::schema(),
        Which::Org => Org::schema(),
        Which::Catalog => &crate::load::schema::generate::<crate::catalog::Entry>(),
    };
    ui.out(&format!("{}\n", serde_json::to_string_pretty(schema)?))?;
    Ok(ExitStatus::Success)
}
