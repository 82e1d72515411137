//! `levee lifecycle --apply`: what can be done locally about each decision. A deprovisioned app
//! is marked in the catalog; an escalation changes the app's tier through a [`Promoter`] (a real
//! `levee promote`) and is recorded on its entry; reported usage is stored. Each entry is
//! written as one check-and-write ([`Store::update`]), so a registration racing this run keeps
//! both its change and the mark.

use std::collections::HashMap;

use crate::catalog::{CatalogError, Deprovisioned, Entry, EscalationRecord, Store, Usage, now};
use crate::lifecycle::{Action, Decision, Promoter};
use crate::model::manifest::Tier;
use crate::model::org::Org;
use crate::support::clock::Date;

/// Applies `decisions` (one per entry of `entries`, in order); returns one line per action
/// taken, for the report.
pub(crate) fn apply(
    store: &Store,
    entries: &[Entry],
    decisions: &[Decision],
    metrics: &HashMap<String, Usage>,
    org: &Org,
    today: Date,
    promoter: &(dyn Promoter + Sync),
) -> Result<Vec<String>, CatalogError> {
    store.remove_stale_temporaries();
    let mut applied = Vec::new();
    for (e, d) in entries.iter().zip(decisions) {
        let to = d.to_tier.unwrap_or(Tier::Production);
        // The tier change happens once, here; what the catalog records is then applied to the
        // entry as it is when written (another run may have changed it since it was read).
        let escalation = (d.action == Action::Escalate).then(|| escalate(e, to, org, promoter));
        record(store, e, d, metrics, today, to, escalation.as_ref())?;
        match d.action {
            Action::Deprovision => applied.push(format!(
                "{}: marked deprovisioned in the catalog; tearing down its deployment is up to your platform",
                e.id
            )),
            Action::Escalate => applied.push(format!(
                "{}: escalation to {to} recorded; {}",
                e.id,
                escalation.map(|x| x.note).unwrap_or_default()
            )),
            _ => {}
        }
    }
    Ok(applied)
}

/// What an escalation did to the app.
struct Escalated {
    promoted: bool,
    /// What the promoter (or its absence) said.
    note: String,
    /// The entry as the promoted app now reads (tier and expiry from its app.yaml).
    fresh: Option<Entry>,
}

/// Changes the app's tier where the app is reachable.
fn escalate(e: &Entry, to: Tier, org: &Org, promoter: &(dyn Promoter + Sync)) -> Escalated {
    let (promoted, note) = if e.app_gone() {
        (
            false,
            format!(
                "app directory {} not reachable: run `levee promote DIR --tier {to}` where the app lives",
                e.repository.path
            ),
        )
    } else {
        match promoter.promote(e.app_dir(), to) {
            Ok(msg) => (true, msg),
            Err(msg) => (false, msg),
        }
    };
    // The catalog follows the app: its tier and expiry are what app.yaml now says; usage and
    // earlier escalations are kept.
    let fresh = promoted
        .then(|| Entry::from_app(e.app_dir(), org, &now()).ok())
        .flatten();
    Escalated {
        promoted,
        note,
        fresh,
    }
}

/// Records the decision on the entry as it is now: usage, the deprovisioned mark, the
/// escalation (once).
fn record(
    store: &Store,
    e: &Entry,
    d: &Decision,
    metrics: &HashMap<String, Usage>,
    today: Date,
    to: Tier,
    escalation: Option<&Escalated>,
) -> Result<bool, CatalogError> {
    let reasons: Vec<String> = d.fired.iter().map(ToString::to_string).collect();
    let promoted = escalation.is_some_and(|x| x.promoted);
    store.update(&e.id, |current| {
        // Removed meanwhile: nothing left to mark.
        let mut entry = current?.clone();
        let mut changed = false;
        if let Some(u) = metrics.get(&e.id)
            && entry.usage.as_ref() != Some(u)
        {
            entry.usage = Some(u.clone());
            changed = true;
        }
        match d.action {
            Action::Deprovision if entry.deprovisioned.is_none() => {
                entry.deprovisioned = Some(Deprovisioned {
                    date: today,
                    reason: d.reason.clone(),
                });
                changed = true;
            }
            Action::Escalate => {
                if let Some(f) = escalation.and_then(|x| x.fresh.as_ref()) {
                    let mut f = f.clone();
                    f.carry_over(&entry);
                    f.escalations.clone_from(&entry.escalations);
                    entry = f;
                }
                let already = entry.escalations.last().is_some_and(|r| {
                    r.to == to && r.reasons == reasons && !r.promoted && !promoted
                });
                if !already {
                    entry.escalations.push(EscalationRecord {
                        date: today,
                        from: e.tier,
                        to,
                        reasons: reasons.clone(),
                        promoted,
                    });
                    changed = true;
                }
            }
            _ => {}
        }
        changed.then(|| {
            entry.updated = now();
            entry
        })
    })
}
