//! The command line: argument definitions and dispatch. Each command lives in its own module and
//! is thin: it resolves settings, calls the domain modules, and prints.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::{ExitStatus, UsageError};
use crate::ui::{ColorChoice, Ui};

mod sbom;
mod schema;
mod validate;

/// Guardrails for citizen-developer micro apps.
///
/// One manifest per app (app.yaml) drives the starter code, the CI pipeline, the policy bundle,
/// the catalog entry and the lifecycle.
///
/// Exit codes: 0 success; 1 problems found (invalid manifest, policy denial, drift, conflicts);
/// 2 usage error, unreadable input or I/O failure.
#[derive(Debug, Parser)]
#[command(name = "levee", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "LEVEE_COLOR")]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what levee is doing (where the org config came from, timings).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never prompt; a missing answer is an error naming the flag to pass. Implied when stdin
    /// is not a terminal or CI is set.
    #[arg(long, global = true, env = "LEVEE_NO_INPUT", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_input: bool,
    /// The org config (default: the nearest levee.org.yaml at or above the app, else the
    /// built-in default).
    #[arg(long, global = true, env = "LEVEE_ORG", value_name = "FILE")]
    pub org: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check app manifests: schema and meaning, every problem at once, located.
    Validate(validate::ValidateArgs),
    /// Print a JSON Schema (draft 2020-12).
    Schema(schema::SchemaArgs),
    /// Write a CycloneDX SBOM from the app's lock files (npm, Python, Rust), no syft.
    Sbom(sbom::SbomArgs),
}

impl Cli {
    /// The output settings these arguments ask for.
    pub fn ui(&self) -> Ui {
        Ui::new(self.global.color, self.global.quiet, self.global.verbose)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, ui: &Ui) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Validate(args) => validate::run(&cli.global, &args, ui),
        Command::Schema(args) => schema::run(&args, ui),
        Command::Sbom(args) => sbom::run(&cli.global, &args, ui),
    }
}

/// Prints an error that ends the run: `error:`, each cause, and a hint (uv's shape).
pub fn render_error(e: &anyhow::Error, color: bool) -> String {
    let paint = |s: &str, f: fn(console::StyledObject<&str>) -> console::StyledObject<&str>| {
        if color {
            f(console::style(s)).force_styling(true).to_string()
        } else {
            s.to_string()
        }
    };
    let mut out = format!("{} {e}\n", paint("error:", |s| s.red().bold()));
    for cause in e.chain().skip(1) {
        out.push_str(&format!(
            "  {} {cause}\n",
            paint("Caused by:", |s| s.bold())
        ));
    }
    if let Some(hint) = e.downcast_ref::<UsageError>().and_then(|u| u.hint.as_ref()) {
        out.push_str(&format!("{} {hint}\n", paint("hint:", |s| s.cyan().bold())));
    }
    out
}
