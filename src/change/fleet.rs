//! `levee upgrade` of a fleet: every app found under the roots, from the pack each records (or
//! `--templates`), in one run that returns one report.
//!
//! 1. An upgrade a crash interrupted is completed first (a dry run only reports it), then each
//!    app's record is read, and each distinct pack source prepared once (a git pack cloned once).
//! 2. Every app is planned in parallel ([`upgrade::plan_app`]): both versions rendered, merged,
//!    the changes decided. Nothing is written yet.
//! 3. The apps' swaps ([`AppDir::transact`], one step at a time) run together, step by step,
//!    with one filesystem barrier between steps ([`appdir::barrier`], `syncfs`) instead of a
//!    dozen flushes per app: every app's new files are staged, then flushed; every journal
//!    written, then flushed; every rename made, then flushed; every journal removed, then
//!    flushed; then the staging directories go. The order of durable states is the one a single
//!    app's swap has, so a crash or power cut at any point leaves each app as it was or
//!    completed by the next run.
//! 4. From `PIPELINE_FROM` apps on, steps 2 and 3 run in `BATCHES` batches: a batch's swaps
//!    (step 3, with its own barriers) run on their own threads while the next batch is planned,
//!    so the disk's flushes overlap the CPU's work. Each app's swap is the same; a crash leaves
//!    the batches written whole, the one being written as step 3 describes, the rest untouched.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::change::upgrade::{
    self, AppReport, Options, PackVersions, PendingSwap, PlannedApp, Recorded, UpgradeOutcome,
};
use crate::support::appdir::{self, AppDir, Durability, Step, Swap};
use crate::support::exit::UsageError;

/// What a fleet upgrade reports: the counts, then one report per app, sorted by path.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    pub summary: Summary,
    pub apps: Vec<AppReport>,
}

/// The counts of a fleet upgrade.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub dry_run: bool,
    pub apps: usize,
    pub up_to_date: usize,
    pub upgraded: usize,
    pub conflicts: usize,
    pub failed: usize,
}

impl FleetReport {
    /// Did any app end with conflicts or fail?
    pub fn has_problems(&self) -> bool {
        self.summary.conflicts + self.summary.failed > 0
    }
}

/// What the run tells its caller as it goes (for `--verbose` and a progress bar).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A template pack source is being prepared (a git pack is cloned).
    PreparingPack(&'a str),
    /// One more app is planned.
    Planned,
}

/// An app's record and the pack source to upgrade it from, or why they could not be read.
type AppSource = Result<(Recorded, String), String>;

/// Plans a batch of the fleet's apps, in order.
type PlanBatch<'a> = dyn Fn(&[(PathBuf, AppSource)]) -> Vec<PlannedApp> + Sync + 'a;

/// Something for the app at this index of the fleet, or why that app failed.
type Indexed<T> = Result<(usize, T), (usize, String)>;

/// Upgrades (or, with `opts.dry_run`, plans) every app of `apps` from its recorded pack source,
/// or from `templates` when given. An app's problem is its report's `failed` result; the error
/// is for the run as a whole: a `templates` pack that cannot be loaded (a [`UsageError`]).
pub fn upgrade_fleet(
    apps: &[PathBuf],
    templates: Option<&str>,
    opts: &Options,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<FleetReport> {
    upgrade_fleet_with(apps, templates, opts, on, None, &|_, _| Ok(()))
}

/// [`upgrade_fleet`] with the swaps' durability chosen (`None`: [`Durability::for_many`]
/// decides) and a hook called for each app at each point of its swap ([`Step`]): the crash
/// tests stop the process there and kill it.
pub fn upgrade_fleet_with(
    apps: &[PathBuf],
    templates: Option<&str>,
    opts: &Options,
    on: &(dyn Fn(Event<'_>) + Sync),
    durability: Option<Durability>,
    hook: &(dyn Fn(&Path, Step<'_>) -> io::Result<()> + Sync),
) -> anyhow::Result<FleetReport> {
    // Which apps have uncommitted changes (git) is found meanwhile.
    let ((work, recovered), dirty) = rayon::join(
        || read_apps(apps, templates, opts.dry_run),
        || upgrade::dirty_apps(apps),
    );
    let sources = open_sources(&work, templates, on)?;
    preload(&work, &sources, opts);
    let plan = |batch: &[(PathBuf, AppSource)]| -> Vec<PlannedApp> {
        batch
            .par_iter()
            .map(|(app, entry)| {
                let dirty = dirty.get(app).copied().flatten();
                let planned = match entry {
                    Err(e) => failed(app, e.clone()),
                    Ok((recorded, source)) => match &sources[&PackVersions::key(source)] {
                        Err(e) => {
                            failed(app, format!("cannot load the template pack {source}: {e}"))
                        }
                        Ok(src) => upgrade::plan_app(app, recorded, src, opts, dirty),
                    },
                };
                on(Event::Planned);
                planned
            })
            .collect()
    };
    let mut reports = if opts.dry_run || work.len() < PIPELINE_FROM {
        write_all(plan(&work), durability, hook)
    } else {
        plan_while_writing(&work, &plan, durability, hook)
    };
    for r in &mut reports {
        let dirty = dirty.get(&r.app).copied().flatten();
        *r = std::mem::replace(r, placeholder()).note_dirty(dirty);
        if let Some(note) = recovered.get(&r.app) {
            r.warning = Some(match r.warning.take() {
                Some(w) => format!("{note}; {w}"),
                None => note.clone(),
            });
        }
    }
    reports.sort_by(|a, b| a.app.cmp(&b.app));
    if !opts.dry_run {
        // Diffs are what a dry run shows; a real run's report lists the changes without them.
        for f in reports.iter_mut().flat_map(|r| r.files.iter_mut()) {
            f.diff.clear();
        }
    }
    let count = |o: UpgradeOutcome| reports.iter().filter(|r| r.result == o).count();
    let summary = Summary {
        dry_run: opts.dry_run,
        apps: reports.len(),
        up_to_date: count(UpgradeOutcome::UpToDate),
        upgraded: count(UpgradeOutcome::Upgraded),
        conflicts: count(UpgradeOutcome::Conflicts),
        failed: count(UpgradeOutcome::Failed),
    };
    Ok(FleetReport {
        summary,
        apps: reports,
    })
}

/// From this many apps on, the fleet is planned and written in batches, a batch written while
/// the next is planned: the disk's flushes of one batch then overlap the CPU's work on the next.
const PIPELINE_FROM: usize = 64;
/// Into how many batches such a fleet is cut.
const BATCHES: usize = 8;

/// Plans the fleet batch by batch, each batch written ([`write_all`], its own barriers) on a
/// second thread while the next one is planned. Returns the reports in the fleet's order. Each
/// app's swap is the one [`write_all`] makes, so a crash leaves every app as a crash in
/// [`write_all`] does: as it was, or completed by the next run.
fn plan_while_writing(
    work: &[(PathBuf, AppSource)],
    plan: &PlanBatch<'_>,
    durability: Option<Durability>,
    hook: &(dyn Fn(&Path, Step<'_>) -> io::Result<()> + Sync),
) -> Vec<AppReport> {
    let size = work.len().div_ceil(BATCHES);
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::channel::<Vec<PlannedApp>>();
        let writer = scope.spawn(move || {
            // Its own threads: in the pool that plans, a batch's writes would wait until the
            // planning of the next batch had run out of work, and the disk's flushes would not
            // overlap the planning at all.
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(rayon::current_num_threads())
                .build()
                .ok();
            let mut reports = Vec::new();
            for batch in receive {
                let write = || write_all(batch, durability, hook);
                reports.extend(match &pool {
                    Some(pool) => pool.install(write),
                    None => write(),
                });
            }
            reports
        });
        for batch in work.chunks(size) {
            if send.send(plan(batch)).is_err() {
                break; // The writer is gone: it panicked, and joining it says so.
            }
        }
        drop(send);
        match writer.join() {
            Ok(reports) => reports,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn placeholder() -> AppReport {
    AppReport::failed(Path::new(""), String::new(), String::new(), String::new())
}

fn failed(app: &Path, error: String) -> PlannedApp {
    PlannedApp {
        report: AppReport::failed(app, String::new(), String::new(), error),
        swap: None,
    }
}

/// Completes interrupted upgrades (a dry run refuses an app holding one) and reads each app's
/// record and pack source. Returns the apps in order, and what recovery did per app.
fn read_apps(
    apps: &[PathBuf],
    templates: Option<&str>,
    dry_run: bool,
) -> (Vec<(PathBuf, AppSource)>, HashMap<PathBuf, String>) {
    let read: Vec<(PathBuf, AppSource, Option<String>)> = apps
        .par_iter()
        .map(|app| {
            let pending = if dry_run {
                AppDir::open(app)
                    .and_then(|d| d.pending())
                    .map_err(|e| e.to_string())
                    .and_then(|p| match p {
                        Some(label) => Err(format!(
                            "an interrupted {label} is waiting to be completed: run `levee \
                             upgrade` without --dry-run to complete it first"
                        )),
                        None => Ok(None),
                    })
            } else {
                upgrade::recover(app)
                    .map(|r| r.map(|r| r.to_string()))
                    .map_err(|e| format!("{e}"))
            };
            let recovered = match pending {
                Ok(r) => r,
                Err(e) => return (app.clone(), Err(e), None),
            };
            let entry = upgrade::read_record(app)
                .map(|r| {
                    let source = templates.map(str::to_string).unwrap_or_else(|| {
                        r.template
                            .source
                            .clone()
                            .unwrap_or_else(|| crate::scaffold::pack::BUILTIN_SOURCE.into())
                    });
                    (r, source)
                })
                .map_err(|e| format!("{e:#}"));
            (app.clone(), entry, recovered)
        })
        .collect();
    let mut work = Vec::with_capacity(read.len());
    let mut recovered = HashMap::new();
    for (app, entry, note) in read {
        if let Some(note) = note {
            recovered.insert(app.clone(), note);
        }
        work.push((app, entry));
    }
    (work, recovered)
}

/// Prepares each distinct pack source once. A `templates` source that cannot be loaded fails
/// the run; an app's recorded source that cannot fails that app.
fn open_sources(
    work: &[(PathBuf, AppSource)],
    templates: Option<&str>,
    on: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<HashMap<String, Result<PackVersions, String>>> {
    let mut sources: HashMap<String, Result<PackVersions, String>> = HashMap::new();
    for (_, entry) in work {
        if let Ok((_, source)) = entry {
            let key = PackVersions::key(source);
            if let std::collections::hash_map::Entry::Vacant(slot) = sources.entry(key) {
                on(Event::PreparingPack(source));
                let opened = PackVersions::open(source);
                if let (Err(e), Some(_)) = (&opened, templates) {
                    return Err(
                        UsageError::new(format!("cannot load the template pack: {e}"))
                            .hint("--templates takes a directory, a git repository, or `builtin`")
                            .into(),
                    );
                }
                slot.insert(opened.map_err(|e| e.to_string()));
            }
        }
    }
    Ok(sources)
}

/// Loads the pack versions the apps are upgraded from and to, side by side.
fn preload(
    work: &[(PathBuf, AppSource)],
    sources: &HashMap<String, Result<PackVersions, String>>,
    opts: &Options,
) {
    use crate::change::upgrade::TemplateSource;
    let mut wanted: HashMap<String, std::collections::BTreeSet<String>> = HashMap::new();
    for (recorded, source) in work.iter().filter_map(|(_, e)| e.as_ref().ok()) {
        // Only a version the planning would load (it refuses one that is not semver first).
        if upgrade::parse_version(&recorded.template.version).is_err() {
            continue;
        }
        let key = PackVersions::key(source);
        if let Some(Ok(src)) = sources.get(&key) {
            let versions = wanted.entry(key).or_insert_with(|| {
                opts.to
                    .clone()
                    .or_else(|| src.latest().ok())
                    .into_iter()
                    .collect()
            });
            if !versions.contains(&recorded.template.version) {
                versions.insert(recorded.template.version.clone());
            }
        }
    }
    wanted.par_iter().for_each(|(key, versions)| {
        if let Some(Ok(src)) = sources.get(key) {
            src.preload(versions);
        }
    });
}

/// Swaps every planned app's changes in, all apps together step by step (see the module
/// documentation). Returns the reports, in the order planned.
fn write_all(
    planned: Vec<PlannedApp>,
    durability: Option<Durability>,
    hook: &(dyn Fn(&Path, Step<'_>) -> io::Result<()> + Sync),
) -> Vec<AppReport> {
    let mut reports = Vec::with_capacity(planned.len());
    let mut pending: Vec<(usize, PathBuf, PendingSwap)> = Vec::new();
    for (i, p) in planned.into_iter().enumerate() {
        if let Some(swap) = p.swap {
            pending.push((i, p.report.app.clone(), swap));
        }
        reports.push(p.report);
    }
    if pending.is_empty() {
        return reports;
    }
    let mut errors: Vec<(usize, String)> = Vec::new();
    let opened: Vec<Indexed<(AppDir, PendingSwap)>> = pending
        .into_par_iter()
        .map(|(i, app, swap)| match AppDir::open(&app) {
            Ok(d) => Ok((i, (d, swap))),
            Err(e) => Err((i, e.to_string())),
        })
        .collect();
    let mut dirs = Vec::new();
    let mut changes = Vec::new();
    for o in opened {
        match o {
            Ok((i, (d, swap))) => {
                dirs.push((i, d));
                changes.push(swap);
            }
            Err(e) => errors.push(e),
        }
    }
    let durability = durability.unwrap_or_else(|| Durability::for_many(dirs.len()));
    let together = || swap_together(&dirs, changes, durability, hook, &mut errors);
    // An app's own flushes wait on the disk far more than on the CPU: with more apps in flight
    // than cores, the filesystem commits their flushes together.
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 4)
        .clamp(4, 32);
    match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) if durability == Durability::Flush => pool.install(together),
        _ => together(),
    }
    for (i, e) in errors {
        let r = std::mem::replace(&mut reports[i], placeholder());
        reports[i] = r.write_failed(e);
    }
    reports
}

/// The steps of every app's swap, one barrier after each. Failures land in `errors` by index.
fn swap_together(
    dirs: &[(usize, AppDir)],
    changes: Vec<PendingSwap>,
    durability: Durability,
    hook: &(dyn Fn(&Path, Step<'_>) -> io::Result<()> + Sync),
    errors: &mut Vec<(usize, String)>,
) {
    let barrier = |swaps: &[(usize, Swap<'_>)]| -> io::Result<()> {
        match durability {
            Durability::Barrier => appdir::barrier(swaps.iter().map(|(_, s)| s.dir())),
            Durability::Flush => Ok(()),
        }
    };
    // 1. Stage every app's new files.
    let staged: Vec<Indexed<Swap<'_>>> = dirs
        .par_iter()
        .zip(changes.into_par_iter())
        .filter_map(
            |((i, dir), p)| match dir.stage(&p.label, p.changes, durability) {
                Ok(Some(s)) => Some(Ok((*i, s))),
                Ok(None) => None,
                Err(e) => Some(Err((*i, upgrade::write_error(&e)))),
            },
        )
        .collect();
    let mut swaps = keep_ok(staged, errors);
    if let Err(e) = barrier(&swaps) {
        for (i, s) in swaps {
            s.abandon();
            errors.push((
                i,
                flush_error("the staged files", &e, "nothing was changed"),
            ));
        }
        return;
    }
    // 2. Every journal: from here on, a run that finds one completes its swap.
    let journaled: Vec<Indexed<Swap<'_>>> = swaps
        .into_par_iter()
        .map(|(i, s)| {
            let app = s.dir().root().to_path_buf();
            match hook(&app, Step::Staged).and_then(|()| s.journal()) {
                Ok(()) => Ok((i, s)),
                Err(e) => {
                    s.abandon();
                    Err((i, upgrade::write_error(&e)))
                }
            }
        })
        .collect();
    swaps = keep_ok(journaled, errors);
    let completes = "the next `levee upgrade` completes the upgrade";
    if let Err(e) = barrier(&swaps) {
        errors.extend(
            swaps
                .into_iter()
                .map(|(i, _)| (i, flush_error("the journals", &e, completes))),
        );
        return;
    }
    // 3. The renames; a failure rolls its own app back.
    let swapped: Vec<Indexed<Swap<'_>>> = swaps
        .into_par_iter()
        .map(|(i, s)| {
            let app = s.dir().root().to_path_buf();
            match s.swap(&mut |step| hook(&app, step)) {
                Ok(()) => Ok((i, s)),
                Err(e) => Err((i, upgrade::write_error(&e))),
            }
        })
        .collect();
    swaps = keep_ok(swapped, errors);
    if let Err(e) = barrier(&swaps) {
        errors.extend(
            swaps
                .into_iter()
                .map(|(i, _)| (i, flush_error("the renames", &e, completes))),
        );
        return;
    }
    // 4. The journals go, then the staging directories.
    let finished: Vec<Indexed<Swap<'_>>> = swaps
        .into_par_iter()
        .map(|(i, s)| match s.finish() {
            Ok(()) => Ok((i, s)),
            Err(e) => Err((i, upgrade::write_error(&e))),
        })
        .collect();
    swaps = keep_ok(finished, errors);
    if let Err(e) = barrier(&swaps) {
        errors.extend(
            swaps
                .into_iter()
                .map(|(i, _)| (i, flush_error("the finished upgrades", &e, completes))),
        );
        return;
    }
    swaps.into_par_iter().for_each(|(_, s)| s.cleanup());
}

/// The apps that got through a step; the others' errors join `errors`.
fn keep_ok<T>(results: Vec<Indexed<T>>, errors: &mut Vec<(usize, String)>) -> Vec<(usize, T)> {
    let mut ok = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(t) => ok.push(t),
            Err(e) => errors.push(e),
        }
    }
    ok
}

fn flush_error(what: &str, e: &io::Error, then: &str) -> String {
    format!("writing the upgrade failed: flushing {what} to disk failed ({e}); {then}")
}
