//! `levee catalog`: the app inventory (register, scan, list, show, remove, rollout, stats, export,
//! pipeline).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::catalog::{self, Entry, Filter, LoadedCatalog, Store, register};
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
pub(crate) fn resolve(
    global: &Global,
    explicit: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<(Org, Store)> {
    let resolved = super::resolve_org(global, Path::new("."), ui)?;
    let dir = match (explicit, &resolved.org.catalog.dir, &resolved.source) {
        (Some(d), _, _) => d.to_path_buf(),
        (None, Some(d), org::OrgSource::File(f)) => f.parent().unwrap_or(Path::new(".")).join(d),
        (None, Some(d), org::OrgSource::Default) => PathBuf::from(d),
        (None, None, _) => PathBuf::from(catalog::DEFAULT_DIR),
    };
    Ok((resolved.org, Store::new(dir)))
}

/// Loads the catalog; a missing directory is a usage error with a hint.
pub(crate) fn load(store: &Store, ui: &Ui) -> anyhow::Result<LoadedCatalog> {
    let loaded = store.load_all().map_err(catalog_error)?;
    print_corrupt(ui, &loaded.corrupt);
    Ok(loaded)
}

/// A catalog that cannot be read; a missing directory is a usage error with a hint.
fn catalog_error(e: catalog::CatalogError) -> anyhow::Error {
    match e {
        catalog::CatalogError::Missing(d) => anyhow::Error::new(
            UsageError::new(format!("no catalog at {}", d.display())).hint(
                "register apps with `levee catalog register APP_DIR`, or pass `--catalog DIR`",
            ),
        ),
        other => other.into(),
    }
}

/// Each corrupt entry, as an error on stderr.
fn print_corrupt(ui: &Ui, corrupt: &[catalog::Corrupt]) {
    for c in corrupt {
        ui.error(&format!(
            "error: {}: corrupt catalog entry: {}",
            crate::support::text::escape_path(&c.path),
            crate::support::text::escape(&c.message)
        ));
    }
}

pub(crate) fn run(global: &Global, args: &CatalogArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let (org, store) = resolve(global, args.catalog.as_deref(), ui)?;
    let today = crate::support::clock::today();
    match &args.command {
        CatalogCommand::Register { apps, format } => {
            let report = register::register_apps(&store, &org, apps, &|r| print_registered(ui, r));
            if *format == Format::Json {
                ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?;
            }
            Ok(if report.has_errors() {
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
            let filter = Filter {
                owner: owner.clone(),
                classification: *classification,
                tier: *tier,
                expired: *expired,
                expiring_within: *expiring_within,
            };
            reading(&store, ui, |loaded| {
                list(&loaded.entries, &filter, *format, today, ui)
            })
        }
        CatalogCommand::Show { id } => match store.get(id)? {
            Some(e) => {
                ui.out(&(serde_json::to_string_pretty(&e)? + "\n"))?;
                Ok(ExitStatus::Success)
            }
            None => Err(no_app(&store, id)),
        },
        CatalogCommand::Remove { id } => {
            if store.remove(id)? {
                ui.status(&format!("removed {id} from {}", store.dir().display()));
                Ok(ExitStatus::Success)
            } else {
                Err(no_app(&store, id))
            }
        }
        CatalogCommand::Rollout {
            templates,
            behind,
            format,
        } => reading(&store, ui, |loaded| {
            print_rollout(&loaded.entries, templates.as_deref(), *behind, *format, ui)
        }),
        CatalogCommand::Stats { format } => reading(&store, ui, |loaded| {
            let stats = crate::lifecycle::stats::compute(&loaded.entries, &org, today);
            let text = match format {
                Format::Json => serde_json::to_string_pretty(&stats)? + "\n",
                Format::Text => crate::lifecycle::stats::render(&stats),
            };
            ui.out(&text)
        }),
        CatalogCommand::Export {
            format: ExportFormat::Backstage,
            output,
        } => reading(&store, ui, |loaded| {
            export_backstage(&loaded.entries, &org, output.as_deref(), ui)
        }),
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

/// A command that reads the catalog: `print` runs over it, and corrupt entries (reported on
/// stderr) make the exit status 1.
fn reading(
    store: &Store,
    ui: &Ui,
    print: impl FnOnce(&LoadedCatalog) -> anyhow::Result<()>,
) -> anyhow::Result<ExitStatus> {
    let loaded = load(store, ui)?;
    print(&loaded)?;
    Ok(if loaded.corrupt.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Problems
    })
}

/// `show` or `remove` of an id the catalog does not hold.
fn no_app(store: &Store, id: &str) -> anyhow::Error {
    UsageError::new(format!("no app `{id}` in {}", store.dir().display()))
        .hint("see the ids with `levee catalog list`")
        .into()
}

/// `levee catalog list`: the entries `filter` keeps, as a table, JSON or CSV.
fn list(
    entries: &[Entry],
    filter: &Filter,
    format: ListFormat,
    today: crate::model::manifest::Date,
    ui: &Ui,
) -> anyhow::Result<()> {
    let rows: Vec<&Entry> = entries
        .iter()
        .filter(|e| filter.matches(e, today))
        .collect();
    let text = match format {
        ListFormat::Json => serde_json::to_string_pretty(&rows)? + "\n",
        ListFormat::Csv => list_csv(&rows)?,
        ListFormat::Text => list_table(&rows, today),
    };
    ui.out(&text)
}

/// `levee catalog rollout`: every entry against its pack's newest version (only those behind
/// with `behind`).
fn print_rollout(
    entries: &[Entry],
    templates: Option<&str>,
    behind: bool,
    format: Format,
    ui: &Ui,
) -> anyhow::Result<()> {
    let report = rollout(entries, templates, ui);
    let rows: Vec<&catalog::rollout::Row> = report
        .apps
        .iter()
        .filter(|r| !behind || r.status != catalog::rollout::Status::Current)
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
    ui.out(&text)
}

/// `levee catalog export --format backstage`: to stdout, or to `output`.
fn export_backstage(
    entries: &[Entry],
    org: &Org,
    output: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<()> {
    let text = crate::generate::backstage::export(
        entries.iter().map(catalog::Entry::backstage),
        Some(org),
    );
    match output {
        Some(path) => {
            catalog::store_write(path, text.as_bytes())?;
            ui.status(&format!(
                "wrote {} entities to {}",
                entries.len(),
                path.display()
            ));
        }
        None => ui.out(&text)?,
    }
    Ok(())
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

/// One app's registration, on stderr as it happens (unless -q).
fn print_registered(ui: &Ui, r: &register::Registered) {
    match (&r.error, &r.id) {
        (Some(message), _) => ui.error(&format!(
            "error: {}: {}",
            crate::support::text::escape_path(r.error_at.as_deref().unwrap_or(&r.dir)),
            crate::support::text::escape(message)
        )),
        (None, Some(id)) => ui.status(&format!(
            "{} {id} ({})",
            r.result,
            crate::support::text::escape_path(&r.dir)
        )),
        (None, None) => {}
    }
}

fn scan(
    store: &Store,
    org: &Org,
    roots: &[PathBuf],
    format: Format,
    ui: &Ui,
) -> anyhow::Result<ExitStatus> {
    let report =
        register::scan(store, org, roots, &|r| print_registered(ui, r)).map_err(|e| match e {
            register::ScanError::Catalog(e) => catalog_error(e),
            e => UsageError::new(e.to_string()).into(),
        })?;
    print_corrupt(ui, &report.corrupt);
    match format {
        Format::Json => ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?,
        Format::Text => {
            for e in &report.gone {
                ui.out(&format!(
                    "gone: {} (registered at {}; no app.yaml there any more): remove it with `levee catalog remove {}`\n",
                    e.id,
                    crate::support::text::Shown(&e.path),
                    e.id
                ))?;
            }
        }
    }
    let gone = report.gone.len();
    ui.status(&format!(
        "scanned {} app(s) under {} root(s); {gone} entr{} whose app is gone",
        report.found,
        roots.len(),
        if gone == 1 { "y" } else { "ies" }
    ));
    Ok(
        if report.has_errors() || !report.corrupt.is_empty() || gone > 0 {
            ExitStatus::Problems
        } else {
            ExitStatus::Success
        },
    )
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
