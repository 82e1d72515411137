//! `levee catalog`: the app inventory (register, scan, list, show, remove, rollout, stats, export,
//! pipeline).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::catalog::{self, Entry, EntryError, Filter, LoadedCatalog, Store};
use crate::cli::Global;
use crate::model::manifest::{Ci, Classification, Tier};
use crate::model::org::{self, Org};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The catalog directory (default: the org config's `catalog.dir`, else `catalog`).
    #[arg(long, global = true, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CatalogCommand,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Add or update the entries of apps on disk.
    Register {
        /// App directories (or app.yaml files).
        #[arg(default_value = ".")]
        apps: Vec<PathBuf>,
        /// `json`: one report on stdout (each app's result, then a summary).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Walk trees of repositories, register every app found, report entries whose app is gone.
    Scan {
        #[arg(required = true)]
        roots: Vec<PathBuf>,
        /// `json`: one report on stdout (each app's result, the entries whose app is gone).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List entries.
    List {
        /// An owner e-mail, or `@domain` for every owner in a domain.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, value_parser = parse_classification)]
        classification: Option<Classification>,
        #[arg(long, value_parser = parse_tier)]
        tier: Option<Tier>,
        /// Only apps past their expiry date.
        #[arg(long)]
        expired: bool,
        /// Only apps expiring within DAYS days.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<u32>,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print one entry (JSON).
    Show { id: String },
    /// Remove an entry.
    Remove { id: String },
    /// Template rollout: each entry's template version against its pack's newest, so the
    /// platform team sees which apps still lag a release.
    Rollout {
        /// Compare every entry with this pack (a directory, a git repository, `builtin`) instead
        /// of the source each entry records.
        #[arg(long, env = "LEVEE_TEMPLATES", value_name = "SOURCE")]
        templates: Option<String>,
        /// Show only the apps not on their pack's newest version.
        #[arg(long)]
        behind: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Program metrics: apps by tier and classification, expiry, orphans, cost, escalations.
    Stats {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Export entries for another catalog.
    Export {
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Write to FILE instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the nightly pipeline for the catalog repository.
    Pipeline {
        #[arg(long, value_parser = parse_ci, default_value = "github")]
        ci: Ci,
        /// Directories the pipeline scans (relative to the repository root).
        #[arg(long = "scan-root", value_name = "DIR", default_value = "apps")]
        scan_roots: Vec<String>,
        /// A metrics file in the repository for `levee lifecycle --metrics`.
        #[arg(long, value_name = "FILE")]
        metrics: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// backstage.io/v1alpha1 Component entities (YAML documents).
    Backstage,
}

fn parse_classification(s: &str) -> Result<Classification, String> {
    s.parse()
        .map_err(|_| format!("expected one of: {}", names(Classification::ALL)))
}
fn parse_tier(s: &str) -> Result<Tier, String> {
    s.parse()
        .map_err(|_| format!("expected one of: {}", names(Tier::ALL)))
}
fn parse_ci(s: &str) -> Result<Ci, String> {
    s.parse()
        .map_err(|_| format!("expected one of: {}", names(Ci::ALL)))
}
fn names<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The org config (from --org, LEVEE_ORG, or walking up from the working directory) and the
/// catalog directory it implies.
pub fn resolve(global: &Global, explicit: Option<&Path>) -> anyhow::Result<(Org, Store)> {
    let resolved = org::resolve(global.org.as_deref(), Path::new("."))?;
    if global.verbose > 0 {
        eprintln!(
            "{}",
            super::org_in_words(&resolved.source, global.org.is_some(), Path::new("."))
        );
    }
    let dir = match (explicit, &resolved.org.catalog.dir, &resolved.source) {
        (Some(d), _, _) => d.to_path_buf(),
        (None, Some(d), org::OrgSource::File(f)) => f.parent().unwrap_or(Path::new(".")).join(d),
        (None, Some(d), org::OrgSource::Default) => PathBuf::from(d),
        (None, None, _) => PathBuf::from(catalog::DEFAULT_DIR),
    };
    Ok((resolved.org, Store::new(dir)))
}

/// Loads the catalog; a missing directory is a usage error with a hint.
pub fn load(store: &Store, ui: &Ui) -> anyhow::Result<LoadedCatalog> {
    let loaded = store.load_all().map_err(|e| match e {
        catalog::CatalogError::Missing(d) => anyhow::Error::new(
            UsageError::new(format!("no catalog at {}", d.display())).hint(
                "register apps with `levee catalog register APP_DIR`, or pass `--catalog DIR`",
            ),
        ),
        other => other.into(),
    })?;
    for c in &loaded.corrupt {
        ui.error(&format!(
            "error: {}: corrupt catalog entry: {}",
            crate::support::text::escape_path(&c.path),
            crate::support::text::escape(&c.message)
        ));
    }
    Ok(loaded)
}

pub fn run(global: &Global, args: &CatalogArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let (org, store) = resolve(global, args.catalog.as_deref())?;
    let today = crate::support::clock::today();
    match &args.command {
        CatalogCommand::Register { apps, format } => {
            store.remove_stale_temporaries();
            let log = RegisterLog::default();
            let claimed = Claimed::default();
            let now = catalog::now();
            for app in apps {
                register_claiming(&store, &org, app, &now, ui, &log, &claimed);
            }
            store.flush();
            let results = log.into_sorted();
            if *format == Format::Json {
                let report = ScanReport {
                    apps: &results,
                    gone: Vec::new(),
                };
                ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?;
            }
            Ok(if results.iter().any(|r| r.error.is_some()) {
                ExitStatus::Problems
            } else {
                ExitStatus::Success
            })
        }
        CatalogCommand::Scan { roots, format } => scan(&store, &org, roots, *format, ui),
        CatalogCommand::List {
            owner,
            classification,
            tier,
            expired,
            expiring_within,
            format,
        } => {
            let loaded = load(&store, ui)?;
            let filter = Filter {
                owner: owner.clone(),
                classification: *classification,
                tier: *tier,
                expired: *expired,
                expiring_within: *expiring_within,
            };
            let rows: Vec<&Entry> = loaded
                .entries
                .iter()
                .filter(|e| filter.matches(e, today))
                .collect();
            let text = match format {
                ListFormat::Json => serde_json::to_string_pretty(&rows)? + "\n",
                ListFormat::Csv => list_csv(&rows)?,
                ListFormat::Text => list_table(&rows, today),
            };
            ui.out(&text)?;
            Ok(if loaded.corrupt.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Problems
            })
        }
        CatalogCommand::Show { id } => match store.get(id)? {
            Some(e) => {
                ui.out(&(serde_json::to_string_pretty(&e)? + "\n"))?;
                Ok(ExitStatus::Success)
            }
            None => Err(
                UsageError::new(format!("no app `{id}` in {}", store.dir().display()))
                    .hint("see the ids with `levee catalog list`")
                    .into(),
            ),
        },
        CatalogCommand::Remove { id } => {
            if store.remove(id)? {
                ui.status(&format!("removed {id} from {}", store.dir().display()));
                Ok(ExitStatus::Success)
            } else {
                Err(
                    UsageError::new(format!("no app `{id}` in {}", store.dir().display()))
                        .hint("see the ids with `levee catalog list`")
                        .into(),
                )
            }
        }
        CatalogCommand::Rollout {
            templates,
            behind,
            format,
        } => {
            let loaded = load(&store, ui)?;
            let report = rollout(&loaded.entries, templates.as_deref(), ui);
            let rows: Vec<&catalog::rollout::Row> = report
                .apps
                .iter()
                .filter(|r| !*behind || r.status != catalog::rollout::Status::Current)
                .collect();
            let text = match format {
                Format::Json => {
                    let json = serde_json::json!({
                        "summary": report.summary,
                        "packs": report.packs,
                        "apps": rows,
                    });
                    serde_json::to_string_pretty(&json)? + "\n"
                }
                Format::Text => catalog::rollout::render(&report, &rows),
            };
            ui.out(&text)?;
            Ok(if loaded.corrupt.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Problems
            })
        }
        CatalogCommand::Stats { format } => {
            let loaded = load(&store, ui)?;
            let stats = crate::lifecycle::stats::compute(&loaded.entries, &org, today);
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&stats)? + "\n",
                Format::Text => crate::lifecycle::stats::render(&stats),
            };
            ui.out(&text)?;
            Ok(if loaded.corrupt.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Problems
            })
        }
        CatalogCommand::Export {
            format: ExportFormat::Backstage,
            output,
        } => {
            let loaded = load(&store, ui)?;
            let text = crate::generate::backstage::export(
                loaded.entries.iter().map(catalog::Entry::backstage),
                Some(&org),
            );
            match output {
                Some(path) => {
                    catalog::store_write(path, text.as_bytes())?;
                    ui.status(&format!(
                        "wrote {} entities to {}",
                        loaded.entries.len(),
                        path.display()
                    ));
                }
                None => ui.out(&text)?,
            }
            Ok(if loaded.corrupt.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Problems
            })
        }
        CatalogCommand::Pipeline {
            ci,
            scan_roots,
            metrics,
        } => {
            let dir = args.catalog.as_ref().map_or_else(
                || catalog::DEFAULT_DIR.to_string(),
                |d| d.display().to_string(),
            );
            let settings = catalog::pipeline::Settings {
                catalog_dir: dir,
                scan_roots: scan_roots.clone(),
                metrics: metrics.clone(),
                ..Default::default()
            };
            let text = catalog::pipeline::render(*ci, &settings).map_err(UsageError::new)?;
            ui.status(&format!("# save as {}", catalog::pipeline::file_name(*ci)));
            ui.out(&text)?;
            Ok(ExitStatus::Success)
        }
    }
}

/// The rollout report: each distinct pack opened once (a git pack's tags listed, the built-in
/// pack's version read), every entry compared with its newest version.
fn rollout(entries: &[Entry], templates: Option<&str>, ui: &Ui) -> catalog::rollout::Rollout {
    use crate::change::upgrade::{PackVersions, TemplateSource};
    use catalog::rollout::PackLatest;
    let cache: Mutex<std::collections::HashMap<String, PackLatest>> = Mutex::default();
    let pack_of = |recorded: &str| -> PackLatest {
        let source = templates.unwrap_or(recorded);
        let key = PackVersions::key(source);
        if let Ok(c) = cache.lock()
            && let Some(found) = c.get(&key)
        {
            return found.clone();
        }
        ui.verbose(&format!(
            "reading the versions of the template pack {source}"
        ));
        let latest = PackVersions::open(source)
            .map_err(|e| e.to_string())
            .and_then(|p| p.latest().map_err(|e| format!("{e:#}")));
        let found = PackLatest {
            pack: key.clone(),
            latest,
        };
        if let Ok(mut c) = cache.lock() {
            c.insert(key, found.clone());
        }
        found
    };
    catalog::rollout::compute(entries, &pack_of)
}

/// App ids registered so far in this run, with their directories: two apps with one id in the
/// same run are an error, whichever thread gets there first.
type Claimed = Mutex<std::collections::HashMap<String, String>>;

/// What registering one app did (for `--format json`).
#[derive(Debug, Serialize)]
struct Registered {
    app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// added, updated, unchanged or error.
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Every app's result, from the parallel walkers.
#[derive(Debug, Default)]
struct RegisterLog(Mutex<Vec<Registered>>);

impl RegisterLog {
    fn push(&self, r: Registered) {
        if let Ok(mut v) = self.0.lock() {
            v.push(r);
        }
    }

    fn into_sorted(self) -> Vec<Registered> {
        let mut v = self.0.into_inner().unwrap_or_default();
        v.sort_by(|a, b| a.app.cmp(&b.app));
        v
    }
}

/// An entry whose app directory no longer holds an app.
#[derive(Debug, Serialize)]
struct Gone<'a> {
    id: &'a str,
    path: &'a str,
}

#[derive(Debug, Serialize)]
struct ScanReport<'a> {
    apps: &'a [Registered],
    gone: Vec<Gone<'a>>,
}

/// Registers one app; the result is printed on stderr (unless -q) and logged.
fn register_claiming(
    store: &Store,
    org: &Org,
    app: &Path,
    now: &str,
    ui: &Ui,
    log: &RegisterLog,
    claimed: &Claimed,
) {
    let error = |at: &Path, message: String| {
        ui.error(&format!(
            "error: {}: {}",
            crate::support::text::escape_path(at),
            crate::support::text::escape(&message)
        ));
        log.push(Registered {
            app: app.display().to_string(),
            id: None,
            result: "error",
            error: Some(message),
        });
    };
    match register(store, org, app, now, claimed) {
        Ok((id, change)) => {
            ui.status(&format!(
                "{change} {id} ({})",
                crate::support::text::escape_path(app)
            ));
            log.push(Registered {
                app: app.display().to_string(),
                id: Some(id),
                result: change,
                error: None,
            });
        }
        Err(RegisterError::Manifest(crate::load::document::LoadError::Invalid { file, diags })) => {
            let message = format!(
                "invalid manifest ({} problem(s)); run `levee validate {}`",
                diags.len(),
                app.display()
            );
            error(&file.path, message);
        }
        Err(e) => error(app, e.to_string()),
    }
}

#[derive(Debug, thiserror::Error)]
enum RegisterError {
    #[error("{0}")]
    Manifest(crate::load::document::LoadError),
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Store(#[from] catalog::CatalogError),
}

/// Builds and writes an app's entry; returns its id and `added`, `updated` or `unchanged`.
fn register(
    store: &Store,
    org: &Org,
    app: &Path,
    now: &str,
    claimed: &Claimed,
) -> Result<(String, &'static str), RegisterError> {
    let entry = Entry::from_app(app, org, now).map_err(|e| match e {
        EntryError::Manifest(m) => RegisterError::Manifest(m),
        EntryError::Other(s) => RegisterError::Other(s),
    })?;
    if let Ok(mut c) = claimed.lock() {
        match c.get(&entry.id) {
            Some(other) if *other != entry.repository.path => {
                return Err(RegisterError::Other(format!(
                    "app id `{}` is also used by {other}; app ids must be unique (rename one app)",
                    entry.id
                )));
            }
            _ => {
                c.insert(entry.id.clone(), entry.repository.path.clone());
            }
        }
    }
    // Check and write as one step: another `levee catalog register` (or `lifecycle --apply`)
    // running at the same time cannot slip in between (see `Store::update`). Both callers sync
    // the catalog directory once when every app is registered (`Store::flush`).
    let mut outcome: Result<&'static str, RegisterError> = Ok("unchanged");
    store.update_deferred(&entry.id, |previous| {
        let mut new = entry.clone();
        let Some(prev) = previous else {
            outcome = Ok("added");
            return Some(new);
        };
        if prev.repository.path != new.repository.path && !prev.app_gone() {
            outcome = Err(RegisterError::Other(format!(
                "app id `{}` is already registered for {}; app ids must be unique (rename one app, or `levee catalog remove {}` first)",
                new.id,
                crate::support::text::escape(&prev.repository.path),
                new.id
            )));
            return None;
        }
        new.carry_over(prev);
        if new.same_content(prev) {
            outcome = Ok("unchanged");
            return None;
        }
        outcome = Ok("updated");
        Some(new)
    })?;
    let change = outcome?;
    Ok((entry.id, change))
}

fn scan(
    store: &Store,
    org: &Org,
    roots: &[PathBuf],
    format: Format,
    ui: &Ui,
) -> anyhow::Result<ExitStatus> {
    for r in roots {
        if !r.is_dir() {
            return Err(UsageError::new(format!("{} is not a directory", r.display())).into());
        }
    }
    let catalog_abs =
        std::path::absolute(store.dir()).unwrap_or_else(|_| store.dir().to_path_buf());
    let Some(mut walk) = crate::model::manifest::walker(roots) else {
        return Err(UsageError::new("no directory to scan").into());
    };
    // Registration waits on fsync far more than on the CPU: more walkers than cores overlap it.
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 4)
        .clamp(4, 32);
    walk.threads(threads);
    store.remove_stale_temporaries();
    let found = Mutex::new(Vec::new());
    let log = RegisterLog::default();
    let claimed = Claimed::default();
    let now = catalog::now();
    walk.build_parallel().run(|| {
        Box::new(|item| {
            if let Ok(e) = item
                && e.file_type().is_some_and(|t| t.is_file())
                && e.file_name() == crate::model::manifest::FILE_NAME
            {
                let dir = e.path().parent().unwrap_or(Path::new(".")).to_path_buf();
                let abs = std::path::absolute(&dir).unwrap_or(dir.clone());
                if !abs.starts_with(&catalog_abs) {
                    register_claiming(store, org, &dir, &now, ui, &log, &claimed);
                    if let Ok(mut f) = found.lock() {
                        f.push(abs);
                    }
                }
            }
            ignore::WalkState::Continue
        })
    });
    store.flush();
    let found = found.into_inner().unwrap_or_default();
    let results = log.into_sorted();
    let mut status = if results.iter().any(|r| r.error.is_some()) {
        ExitStatus::Problems
    } else {
        ExitStatus::Success
    };
    let loaded = load(store, ui)?;
    if !loaded.corrupt.is_empty() {
        status = ExitStatus::Problems;
    }
    let abs_roots: Vec<PathBuf> = roots
        .iter()
        .map(|r| std::path::absolute(r).unwrap_or(r.clone()))
        .collect();
    let gone: Vec<&Entry> = loaded
        .entries
        .iter()
        .filter(|e| abs_roots.iter().any(|r| e.app_dir().starts_with(r)) && e.app_gone())
        .collect();
    match format {
        Format::Json => {
            let report = ScanReport {
                apps: &results,
                gone: gone
                    .iter()
                    .map(|e| Gone {
                        id: &e.id,
                        path: &e.repository.path,
                    })
                    .collect(),
            };
            ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?;
        }
        Format::Text => {
            for e in &gone {
                ui.out(&format!(
                    "gone: {} (registered at {}; no app.yaml there any more): remove it with `levee catalog remove {}`\n",
                    e.id,
                    crate::support::text::Shown(&e.repository.path),
                    e.id
                ))?;
            }
        }
    }
    ui.status(&format!(
        "scanned {} app(s) under {} root(s); {} entr{} whose app is gone",
        found.len(),
        roots.len(),
        gone.len(),
        if gone.len() == 1 { "y" } else { "ies" }
    ));
    if !gone.is_empty() {
        status = ExitStatus::Problems;
    }
    Ok(status)
}

#[derive(Serialize)]
struct CsvRow<'a> {
    id: &'a str,
    owner: &'a str,
    team: &'a str,
    classification: &'a str,
    tier: &'a str,
    created: String,
    expires: String,
    cost_center: &'a str,
    estimated_monthly_usd: String,
    policy: &'a str,
    sbom_components: String,
    deprovisioned: String,
    path: &'a str,
    updated: &'a str,
}

fn list_csv(rows: &[&Entry]) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for e in rows {
        w.serialize(CsvRow {
            id: &e.id,
            owner: &e.owner,
            team: e.team.as_deref().unwrap_or(""),
            classification: e.classification.as_str(),
            tier: e.tier.as_str(),
            created: e.created.map(|d| d.to_string()).unwrap_or_default(),
            expires: e.expires.map(|d| d.to_string()).unwrap_or_default(),
            cost_center: e.cost.center.as_deref().unwrap_or(""),
            estimated_monthly_usd: e
                .cost
                .estimated_monthly_usd
                .map(|c| format!("{c:.2}"))
                .unwrap_or_default(),
            policy: policy_word(e),
            sbom_components: e
                .sbom
                .as_ref()
                .map(|s| s.component_count.to_string())
                .unwrap_or_default(),
            deprovisioned: e
                .deprovisioned
                .as_ref()
                .map(|d| d.date.to_string())
                .unwrap_or_default(),
            path: &e.repository.path,
            updated: &e.updated,
        })?;
    }
    if rows.is_empty() {
        // A header even for no rows, so consumers see the columns.
        w.write_record([
            "id",
            "owner",
            "team",
            "classification",
            "tier",
            "created",
            "expires",
            "cost_center",
            "estimated_monthly_usd",
            "policy",
            "sbom_components",
            "deprovisioned",
            "path",
            "updated",
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

fn policy_word(e: &Entry) -> &'static str {
    match &e.policy {
        Some(p) if p.passed => "pass",
        Some(_) => "fail",
        None => "",
    }
}

fn list_table(rows: &[&Entry], today: crate::model::manifest::Date) -> String {
    if rows.is_empty() {
        return "no apps match\n".into();
    }
    let mut t = crate::support::ui::table(&[
        "ID",
        "OWNER",
        "CLASSIFICATION",
        "TIER",
        "EXPIRES",
        "COST/MO",
        "POLICY",
    ]);
    for e in rows {
        let expires = match (e.expires, e.days_left(today)) {
            (_, _) if e.deprovisioned.is_some() => "deprovisioned".to_string(),
            (Some(x), Some(d)) if d < 0 => format!("{x} (expired)"),
            (Some(x), Some(d)) => format!("{x} ({d}d)"),
            _ => "-".into(),
        };
        t.add_row(vec![
            e.id.clone(),
            crate::support::text::escape(&e.owner).into_owned(),
            e.classification.to_string(),
            e.tier.to_string(),
            expires,
            e.cost
                .estimated_monthly_usd
                .map_or("-".into(), |c| format!("${c:.2}")),
            match policy_word(e) {
                "" => "-".into(),
                w => w.to_string(),
            },
        ]);
    }
    format!("{t}\n")
}
