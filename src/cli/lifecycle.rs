//! `levee lifecycle`: expired prototypes and apps past escalation thresholds; `--apply` acts.

use std::path::PathBuf;

use clap::Args;
use rayon::prelude::*;
use serde::Serialize;

use crate::cli::Global;
use crate::lifecycle::{self, Action, Decision};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// The catalog directory (default: the org config's `catalog.dir`, else `catalog`).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Usage metrics from the APM and cost tools (CSV or JSON; see the README).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Perform what can be done locally: mark deprovisioned entries, record escalations and
    /// reported usage, and change tiers where `levee promote` is available.
    #[arg(long)]
    pub apply: bool,
    /// Warn about apps expiring within DAYS days.
    #[arg(long, value_name = "DAYS", default_value_t = 14)]
    pub expiring_within: u32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    today: String,
    needs_action: usize,
    decisions: &'a [Decision],
    unknown_metrics: &'a [String],
    corrupt: &'a [crate::catalog::Corrupt],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    applied: Vec<String>,
}

pub(crate) fn run(global: &Global, args: &LifecycleArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let (org, store) = crate::cli::catalog::resolve(global, args.catalog.as_deref(), ui)?;
    let today = crate::support::clock::today();
    let loaded = crate::cli::catalog::load(&store, ui)?;
    let metrics = match &args.metrics {
        Some(p) => lifecycle::read_metrics(p, today).map_err(UsageError::new)?,
        None => Default::default(),
    };
    let mut unknown: Vec<String> = metrics
        .keys()
        .filter(|id| {
            loaded
                .entries
                .binary_search_by(|e| e.id.as_str().cmp(id))
                .is_err()
        })
        .cloned()
        .collect();
    unknown.sort();
    let decisions: Vec<Decision> = loaded
        .entries
        .par_iter()
        .map(|e| {
            let usage = metrics.get(&e.id).or(e.usage.as_ref());
            lifecycle::decide(e, usage, &org, today, args.expiring_within)
        })
        .collect();
    let applied = if args.apply {
        let promoter = crate::lifecycle::Promote {
            org: global.org.clone(),
            today,
        };
        lifecycle::apply::apply(
            &store,
            &loaded.entries,
            &decisions,
            &metrics,
            &org,
            today,
            &promoter,
        )?
    } else {
        Vec::new()
    };
    let needs = decisions.iter().filter(|d| d.action.needs_action()).count();
    match args.format {
        Format::Json => {
            let report = Report {
                today: today.to_string(),
                needs_action: needs,
                decisions: &decisions,
                unknown_metrics: &unknown,
                corrupt: &loaded.corrupt,
                applied: applied.clone(),
            };
            ui.out(&(serde_json::to_string_pretty(&report)? + "\n"))?;
        }
        Format::Text => {
            let mut t = crate::support::ui::table(&["APP", "OWNER", "TIER", "ACTION", "WHY"]);
            for d in decisions
                .iter()
                .filter(|d| d.action != Action::Ok || global.verbose > 0)
            {
                // Ids, owners and reasons come from catalog entries anyone could edit.
                let e = |s: &str| crate::support::text::escape(s).into_owned();
                t.add_row(vec![
                    e(&d.id),
                    e(&d.owner),
                    d.tier.to_string(),
                    d.action.as_str().to_string(),
                    e(&d.reason),
                ]);
            }
            let mut out = String::new();
            if decisions
                .iter()
                .any(|d| d.action != Action::Ok || global.verbose > 0)
            {
                out.push_str(&format!("{t}\n"));
            }
            out.push_str(&format!(
                "{} app(s): {needs} need action, {} ok\n",
                decisions.len(),
                decisions.iter().filter(|d| d.action == Action::Ok).count()
            ));
            for id in &unknown {
                out.push_str(&format!(
                    "metrics for unknown app `{}` (not in {})\n",
                    crate::support::text::Shown(id),
                    crate::support::text::escape_path(store.dir())
                ));
            }
            for a in &applied {
                out.push_str(&format!("applied: {}\n", crate::support::text::Shown(a)));
            }
            ui.out(&out)?;
        }
    }
    Ok(
        if needs > 0 || !unknown.is_empty() || !loaded.corrupt.is_empty() {
            ExitStatus::Problems
        } else {
            ExitStatus::Success
        },
    )
}
