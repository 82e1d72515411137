//! The command line: argument definitions and dispatch. Each command lives in its own module and
//! is thin: it resolves settings, calls the domain modules, and prints.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{ColorChoice, Ui};

pub mod catalog;
mod check;
mod deploy;
mod help;
pub mod lifecycle;
pub mod new;
mod pipeline;
mod policy;
mod promote;
mod sbom;
mod schema;
mod sync;
mod templates;
mod upgrade;
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
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// When to use colour.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "LEVEE_COLOR", hide_env_values = true)]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what levee is doing (where the org config came from, timings).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never prompt; a missing answer is an error naming the flag to pass. Implied when stdin
    /// is not a terminal or CI is set.
    #[arg(long, global = true, env = "LEVEE_NO_INPUT", hide_env_values = true, value_parser = clap::builder::FalseyValueParser::new())]
    pub no_input: bool,
    /// The org config (default: the nearest levee.org.yaml at or above the app, else the
    /// built-in default).
    #[arg(
        long,
        global = true,
        env = "LEVEE_ORG",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub org: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new app: a wizard on a terminal; flags, --answers FILE or defaults otherwise.
    New(Deferred<Box<new::NewArgs>>),
    /// Check app manifests: schema and meaning, every problem at once, located.
    Validate(Deferred<validate::ValidateArgs>),
    /// The policy gate: evaluate the org's Rego policies against app manifests, in-process.
    Check(Deferred<check::CheckArgs>),
    /// Regenerate the app's managed files (pipeline, policy, sandbox, catalog entity);
    /// --check reports drift.
    Sync(Deferred<sync::SyncArgs>),
    /// Move the app to a higher tier: edit app.yaml in place, regenerate; refuse what the
    /// org's policies forbid.
    Promote(Deferred<promote::PromoteArgs>),
    /// Roll a new template version out to one app or a fleet, by 3-way merge.
    Upgrade(Deferred<upgrade::UpgradeArgs>),
    /// Write a CycloneDX SBOM from the app's lock files (npm, pnpm, yarn, Python, Rust), no syft.
    Sbom(Deferred<sbom::SbomArgs>),
    /// The app inventory: register, scan, list, show, remove, rollout, stats, export, pipeline.
    Catalog(Deferred<catalog::CatalogArgs>),
    /// Expired prototypes, expiring apps, apps past escalation thresholds; --apply acts.
    Lifecycle(Deferred<lifecycle::LifecycleArgs>),
    /// Work with the policy bundle (`levee policy test`).
    Policy(Deferred<policy::PolicyArgs>),
    /// Print or write just the app's CI pipeline.
    Pipeline(Deferred<pipeline::PipelineArgs>),
    /// Generate the runtime sandbox: Kubernetes manifests and Kyverno policies (deploy/).
    Deploy(Deferred<deploy::DeployArgs>),
    /// Show what a template pack offers.
    Templates(Deferred<templates::TemplatesArgs>),
    /// Print a JSON Schema (draft 2020-12).
    Schema(Deferred<schema::SchemaArgs>),
    /// Print shell completions: bash, zsh, fish, powershell or elvish.
    ///
    /// bash: `levee completions bash > ~/.local/share/bash-completion/completions/levee`;
    /// zsh: into a directory on `$fpath` as `_levee`; fish: `~/.config/fish/completions/levee.fish`.
    Completions(Deferred<help::CompletionsArgs>),
    /// Print levee's man page (roff), or a command's; --dir DIR writes them all.
    ///
    /// `levee man | man -l -` reads it; `levee man --dir /usr/local/share/man/man1` installs them.
    Man(Deferred<help::ManArgs>),
}

/// A command's arguments, added to the command line's definition only when that command is
/// parsed, or its help, completions or man page are asked for. Without it clap builds every
/// command's arguments (some 200) before it parses any: a quarter of `levee --version`.
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Whether [`Deferred`] defers: not while [`Cli::whole`] builds the definition.
static DEFER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        if DEFER.load(std::sync::atomic::Ordering::Relaxed) {
            cmd.defer(T::augment_args)
        } else {
            T::augment_args(cmd)
        }
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        if DEFER.load(std::sync::atomic::Ordering::Relaxed) {
            cmd.defer(T::augment_args_for_update)
        } else {
            T::augment_args_for_update(cmd)
        }
    }

    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: clap::FromArgMatches> clap::FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }

    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(
        &mut self,
        matches: &mut clap::ArgMatches,
    ) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl Global {
    /// May levee prompt? Only when stdin is a terminal, `--no-input`/`LEVEE_NO_INPUT` is not set,
    /// and `CI` is not set.
    pub(crate) fn interactive(&self) -> bool {
        use std::io::IsTerminal;
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        !self.no_input && !ci && std::io::stdin().is_terminal()
    }
}

impl Cli {
    /// The whole command line's definition, every command's arguments in place, for shell
    /// completions and man pages: clap mirrors the commands under `levee help` as they are when
    /// the top is built, and a deferred command has no subcommands yet.
    pub fn whole() -> clap::Command {
        use clap::CommandFactory;
        DEFER.store(false, std::sync::atomic::Ordering::Relaxed);
        let cmd = Cli::command();
        DEFER.store(true, std::sync::atomic::Ordering::Relaxed);
        cmd
    }

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
        Command::Sync(args) => sync::run(&cli.global, &args, ui),
        Command::Pipeline(args) => pipeline::run(&cli.global, &args, ui),
        Command::Deploy(args) => deploy::run(&cli.global, &args, ui),
        Command::New(args) => new::run(&cli.global, &args, ui),
        Command::Templates(args) => templates::run(&args, ui),
        Command::Catalog(args) => catalog::run(&cli.global, &args, ui),
        Command::Lifecycle(args) => lifecycle::run(&cli.global, &args, ui),
        Command::Check(args) => check::run(&cli.global, &args, ui),
        Command::Policy(args) => policy::run(&cli.global, &args, ui),
        Command::Sbom(args) => sbom::run(&cli.global, &args, ui),
        Command::Promote(args) => promote::run(&cli.global, &args, ui),
        Command::Upgrade(args) => upgrade::run(&cli.global, &args, ui),
        Command::Completions(args) => help::completions(&args, ui),
        Command::Man(args) => help::man(&args, ui),
    }
}

/// Finds and loads the org config for an app at or below `start`; with `-v`, says which one.
pub(crate) fn resolve_org(
    global: &Global,
    start: &std::path::Path,
    ui: &Ui,
) -> anyhow::Result<crate::model::org::ResolvedOrg> {
    let resolved = crate::model::org::resolve(global.org.as_deref(), start)?;
    ui.verbose(&org_in_words(&resolved.source, global.org.is_some(), start));
    Ok(resolved)
}

/// Which org config is in force, in plain words (`-v`).
pub(crate) fn org_in_words(
    source: &crate::model::org::OrgSource,
    explicit: bool,
    start: &std::path::Path,
) -> String {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    match source {
        crate::model::org::OrgSource::File(p) if explicit => {
            format!(
                "Using the org config {} (given by --org or LEVEE_ORG).",
                p.display()
            )
        }
        crate::model::org::OrgSource::File(p) => format!(
            "Using the org config {} (the nearest levee.org.yaml at or above {}).",
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .display(),
            start.display()
        ),
        crate::model::org::OrgSource::Default => format!(
            "Using levee's built-in org config: there is no levee.org.yaml at or above {} (--org FILE or LEVEE_ORG names one).",
            start.display()
        ),
    }
}

/// Prints an invalid app.yaml's problems, each located, then the line saying to fix it first (the
/// commands that rewrite an app refuse to work from an invalid manifest; exit 1).
pub(crate) fn report_invalid_manifest(
    file: &std::path::Path,
    source: &crate::load::document::Source,
    diags: &[crate::load::diag::Diagnostic],
    ui: &Ui,
) {
    ui.error_text(&crate::load::diag::render(
        diags,
        Some(&source.text),
        ui.stderr_color,
    ));
    ui.error(&format!(
        "{} {} is invalid: fix it first (`levee validate` lists every problem)",
        ui.stdout().red("error:"),
        crate::support::text::escape_path(file)
    ));
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
    let mut out = String::new();
    // A user file (org config, answers) with problems: show each, located, like `levee validate`.
    if let Some(crate::load::document::LoadError::Invalid { file, diags }) =
        e.downcast_ref::<crate::load::document::LoadError>()
    {
        out.push_str(&crate::load::diag::render(diags, Some(&file.text), color));
    }
    // Messages quote paths and values from the user's files: escaped line by line (their own
    // line breaks kept), before levee adds its colours.
    let shown = |t: String| crate::support::text::escape_lines(&t);
    out.push_str(&format!(
        "{} {}\n",
        paint("error:", |s| s.red().bold()),
        shown(e.to_string())
    ));
    for cause in e.chain().skip(1) {
        out.push_str(&format!(
            "  {} {}\n",
            paint("Caused by:", |s| s.bold()),
            shown(cause.to_string())
        ));
    }
    if let Some(hint) = e.downcast_ref::<UsageError>().and_then(|u| u.hint.as_ref()) {
        out.push_str(&format!(
            "{} {}\n",
            paint("hint:", |s| s.cyan().bold()),
            shown(hint.clone())
        ));
    }
    crate::support::text::terminal(&out).into_owned()
}
