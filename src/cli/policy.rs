//! `levee policy test [DIR]`: run a bundle's Rego unit tests in-process.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::Global;
use crate::generate::policy::{self, TestOutcome};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run every `test_*` rule of the bundle's `*_test.rego` (like `opa test`).
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The bundle directory (default: `policy/` when it exists, else levee's built-in policies).
    pub dir: Option<PathBuf>,
    /// Report the policy lines no test reached.
    #[arg(long)]
    pub coverage: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(super) fn run(_global: &Global, args: &PolicyArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    match &args.command {
        PolicyCommand::Test(t) => test(t, ui),
    }
}

fn test(args: &TestArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let dir = args.dir.clone().or_else(|| {
        let p = PathBuf::from(policy::BUNDLE_DIR);
        p.is_dir().then_some(p)
    });
    let (modules, data) = match &dir {
        Some(d) => {
            if !d.is_dir() {
                return Err(
                    UsageError::new(format!("{} is not a directory", d.display()))
                        .hint("pass the app's policy/ directory")
                        .into(),
                );
            }
            let loaded = policy::runner::load_dir(d)?;
            (loaded.modules, loaded.data)
        }
        None => {
            ui.verbose("testing levee's built-in policies");
            let all = policy::modules()
                .into_iter()
                .chain(policy::test_modules())
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect();
            (all, policy::data(None))
        }
    };
    if !modules.iter().any(|(n, _)| n.ends_with("_test.rego")) {
        return Err(UsageError::new("no *_test.rego files found")
            .hint("point `levee policy test` at a bundle with tests, like an app's policy/")
            .into());
    }
    let report = policy::run_tests(&modules, data, args.coverage)?;
    let status = if report.failed() > 0 {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    };
    match args.format {
        Format::Json => ui.out(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
        Format::Text => {
            let mut out = String::new();
            for r in &report.results {
                let (label, extra) = match &r.outcome {
                    TestOutcome::Pass => (ui.stdout().green("PASS"), String::new()),
                    TestOutcome::Fail => (ui.stdout().red("FAIL"), String::new()),
                    TestOutcome::Error(e) => (
                        ui.stdout().red("ERROR"),
                        format!("\n    {}", e.replace('\n', "\n    ")),
                    ),
                };
                if !(ui.quiet && r.outcome == TestOutcome::Pass) {
                    out.push_str(&format!(
                        "{label} {}: data.{}.{} ({:.1}ms){extra}\n",
                        r.file,
                        r.package,
                        r.name,
                        r.duration.as_secs_f64() * 1000.0
                    ));
                }
            }
            if let Some(cov) = &report.coverage {
                out.push_str("coverage (policy lines no test reached):\n");
                for f in &cov.files {
                    let total = f.covered + f.not_covered.len();
                    let pct = if total == 0 {
                        100.0
                    } else {
                        100.0 * f.covered as f64 / total as f64
                    };
                    let lines = ranges(&f.not_covered);
                    out.push_str(&format!(
                        "  {} {pct:.1}%{}\n",
                        f.file,
                        if lines.is_empty() {
                            String::new()
                        } else {
                            format!(" not reached: {lines}")
                        }
                    ));
                }
            }
            out.push_str("--------------------------------------------------------------------------------\n");
            out.push_str(&format!(
                "{} passed, {} failed\n",
                report.passed(),
                report.failed()
            ));
            ui.out(&out)?;
        }
    }
    Ok(status)
}

/// `[3, 4, 5, 9]` -> `3-5, 9`.
fn ranges(lines: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        let mut end = start;
        while i + 1 < lines.len() && lines[i + 1] == end + 1 {
            i += 1;
            end = lines[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(", ")
}
