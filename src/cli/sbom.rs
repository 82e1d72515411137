//! `levee sbom`: CycloneDX JSON from the app's lock files, no syft.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::cli::Global;
use crate::load::diag;
use crate::load::document::LoadError;
use crate::model::manifest;
use crate::sbom::cargo::CargoMetadata;
use crate::sbom::{self, ReadOptions, ReadWith, Summary, bom};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The app directory (its lock files are found there; app.yaml, when present, describes the
    /// app in metadata.component).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Read this lock file instead of looking for them (repeat for several).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Vec<PathBuf>,
    /// Write the SBOM here (atomically) instead of stdout; `-` is stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// CycloneDX spec version.
    #[arg(long, value_enum, default_value_t = bom::Spec::V1_5)]
    pub spec_version: bom::Spec,
    /// Leave out dev-only packages (otherwise they are listed with scope "excluded").
    #[arg(long, value_enum, value_name = "KIND")]
    pub omit: Vec<Omit>,
    /// Print counts by ecosystem and scope (to stdout) instead of the SBOM; with -o the SBOM is
    /// still written to the file.
    #[arg(long)]
    pub summary: bool,
    /// How to read Cargo.lock: `auto` runs `cargo metadata --locked --offline` (licences,
    /// dev/build scopes) and reads the lock by itself when cargo cannot (no cargo, or the crates
    /// are not in the local cache); `always` fails instead; `never` reads the lock by itself (the
    /// same SBOM on every machine).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = CargoMetadata::Auto)]
    pub cargo_metadata: CargoMetadata,
    /// Format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Omit {
    Dev,
}

pub(super) fn run(_global: &Global, args: &SbomArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    // `-o -` is stdout, as in most tools (not a file named `-`).
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    if to_stdout && args.summary {
        return Err(UsageError::new("`-o -` and --summary both print to stdout")
            .hint("write the SBOM to a file with -o FILE, or drop --summary")
            .into());
    }
    let output = if to_stdout {
        None
    } else {
        args.output.as_ref()
    };
    let epoch = source_date_epoch()?;
    let dir = app_dir(&args.path)?;

    let app = match manifest::load(&dir) {
        Ok(loaded) => Some(loaded.value),
        Err(LoadError::Io { .. }) => None,
        Err(LoadError::Invalid { file, diags }) => {
            ui.status(&diag::render(&diags, Some(&file.text), ui.stderr_color));
            ui.status(&format!(
                "{} {} is invalid; the SBOM describes the app from it. Fix it (`levee validate {}`) and run again.",
                ui.stderr().red("error:"),
                file.path.display(),
                dir.display()
            ));
            return Ok(ExitStatus::Problems);
        }
    };

    let lockfiles = if args.lockfile.is_empty() {
        match declared_lockfiles(app.as_ref(), &dir)? {
            Some(files) => files,
            None => sbom::discover(&dir).map_err(to_usage)?,
        }
    } else {
        args.lockfile.clone()
    };
    let inventories = read_inventories(&lockfiles, &dir, args, ui)?;
    warn_unpinned(&inventories, ui);

    let opts = bom::Options {
        spec: args.spec_version,
        source_date_epoch: epoch,
    };
    let summary = sbom::summarize(&inventories);
    if output.is_some() || !args.summary {
        let bytes = bom::write(&inventories, app.as_ref(), &opts)?;
        match output {
            Some(out) => {
                write_atomic(out, &bytes)?;
                if !args.summary {
                    ui.status(&format!(
                        "wrote {} ({} components, CycloneDX {})",
                        out.display(),
                        summary.components,
                        args.spec_version.as_str()
                    ));
                }
            }
            None => ui.out(&String::from_utf8_lossy(&bytes))?,
        }
    }
    if args.summary {
        match args.format {
            Format::Json => ui.out(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?,
            Format::Text => ui.out(&summary_text(&summary))?,
        }
    }
    Ok(ExitStatus::Success)
}

/// `SOURCE_DATE_EPOCH` when it is set (reproducible output), refused when it is not a number.
fn source_date_epoch() -> anyhow::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().parse::<i64>().map_err(|_| {
            UsageError::new(format!(
                "SOURCE_DATE_EPOCH is `{v}`, not a number of seconds"
            ))
            .hint("set it to a Unix time, e.g. `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`")
        })?)),
        _ => Ok(None),
    }
}

/// The app directory: the path itself, or the directory of a lock file passed as the path.
fn app_dir(path: &Path) -> anyhow::Result<PathBuf> {
    let dir = if path.is_file() {
        path.parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    } else {
        path.to_path_buf()
    };
    if !dir.is_dir() {
        return Err(
            UsageError::new(format!("{} is not a directory", dir.display()))
                .hint("pass the app's directory, or a lock file with --lockfile")
                .into(),
        );
    }
    Ok(dir)
}

/// Reads each lock file, recorded relative to the app (no local absolute path reaches the SBOM),
/// saying when Cargo.lock was read by itself and leaving out dev packages when asked.
fn read_inventories(
    lockfiles: &[PathBuf],
    dir: &Path,
    args: &SbomArgs,
    ui: &Ui,
) -> anyhow::Result<Vec<sbom::Inventory>> {
    let mut inventories = Vec::with_capacity(lockfiles.len());
    for path in lockfiles {
        ui.verbose(&format!("reading {}", path.display()));
        let opts = ReadOptions {
            cargo_metadata: args.cargo_metadata,
        };
        let mut inv = sbom::read_lockfile_with(path, opts).map_err(to_usage)?;
        if let Ok(rel) = path.strip_prefix(dir) {
            inv.lockfile = rel.to_path_buf();
        }
        if let Some(how) = &inv.read_with {
            if let ReadWith::Lockfile {
                detail: Some(d), ..
            } = how
            {
                ui.verbose(&format!("cargo metadata: {}", sbom::printable(d)));
            }
            let fell_back = matches!(how, ReadWith::Lockfile { .. })
                && args.cargo_metadata == CargoMetadata::Auto;
            if fell_back && !args.summary {
                ui.status(&format!("note: {}: {how}", inv.lockfile.display()));
            }
        }
        if args.omit.contains(&Omit::Dev) {
            sbom::omit_dev(&mut inv);
        }
        inventories.push(inv);
    }
    Ok(inventories)
}

/// A warning for each requirement that is not pinned to one version (left out of the SBOM).
fn warn_unpinned(inventories: &[sbom::Inventory], ui: &Ui) {
    for u in inventories.iter().flat_map(|i| &i.unpinned) {
        let at = if u.line > 0 {
            format!("{}:{}", u.file, u.line)
        } else {
            u.file.clone()
        };
        ui.status(&format!(
            "warning: {}: `{}` is not pinned to one version; it is not in the SBOM (pin it with `==`, or use a lock file)",
            crate::support::text::Shown(&at),
            crate::support::text::Shown(&u.requirement)
        ));
    }
}

fn to_usage(e: sbom::SbomError) -> anyhow::Error {
    let hint = e.hint();
    let mut u = UsageError::new(e.to_string());
    u.hint = hint;
    u.into()
}

/// `npm: 120 (required 80, optional 2, dev 38)` per ecosystem, then the total.
pub(super) fn summary_text(s: &Summary) -> String {
    let mut out = String::new();
    for (eco, scopes) in &s.by_ecosystem {
        let total: usize = scopes.values().sum();
        let parts: Vec<String> = scopes
            .iter()
            .map(|(scope, n)| {
                format!(
                    "{} {n}",
                    serde_json::to_value(scope)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        out.push_str(&format!("{eco}: {total} ({})\n", parts.join(", ")));
    }
    out.push_str(&format!(
        "total: {} components from {}\n",
        s.components,
        s.lockfiles.join(", ")
    ));
    for (file, how) in &s.read_with {
        out.push_str(&format!("{file}: {how}\n"));
    }
    if !s.unpinned.is_empty() {
        out.push_str(&format!(
            "unpinned (not in the SBOM): {}\n",
            s.unpinned.len()
        ));
    }
    out
}

/// Writes the SBOM atomically (see [`crate::support::fsio`]); `-o /dev/stdout` writes through.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::support::fsio::write_atomic(path, bytes)
        .map_err(|e| UsageError::new(format!("cannot write {}: {e}", path.display())).into())
}

/// The lock files the app's stack declares (`pack.yaml` `stacks.<stack>.lockfiles`) that exist in
/// `dir`: `None` when it declares none or none exists (then levee looks for the ones it knows).
/// One levee cannot read is an error naming it.
fn declared_lockfiles(
    app: Option<&manifest::Manifest>,
    dir: &Path,
) -> anyhow::Result<Option<Vec<PathBuf>>> {
    let Some(app) = app else { return Ok(None) };
    let Some(stack) = app.stack.as_ref() else {
        return Ok(None);
    };
    let Some(spec) = app.declared.get().stacks.get(stack.as_str()) else {
        return Ok(None);
    };
    let present: Vec<PathBuf> = spec
        .lockfiles
        .iter()
        .map(|l| dir.join(l))
        .filter(|p| p.is_file())
        .collect();
    if let Some(unknown) = present.iter().find(|p| sbom::LockKind::of(p).is_none()) {
        return Err(UsageError::new(format!(
            "the stack `{stack}` declares the lock file {}, which levee sbom cannot read",
            crate::support::text::escape_path(unknown)
        ))
        .hint("levee reads package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, uv.lock, poetry.lock, pylock.toml, Pipfile.lock, requirements*.txt, Cargo.lock and go.sum; pass --lockfile FILE for another")
        .into());
    }
    Ok((!present.is_empty()).then_some(present))
}
