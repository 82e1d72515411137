//! `levee catalog stats`: the playbook's program metrics over the catalog, with each app's
//! lifecycle decision (who is past an escalation threshold); so it sits above both.

use indexmap::IndexMap;
use serde::Serialize;

use crate::catalog::Entry;
use crate::lifecycle::{self, Action};
use crate::model::manifest::{Classification, Date, Tier};
use crate::model::org::Org;
use crate::support::ui::table;

/// The program metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub total: usize,
    pub by_tier: IndexMap<String, usize>,
    pub by_classification: IndexMap<String, usize>,
    /// Not expired and not deprovisioned.
    pub active: usize,
    /// Past the expiry date and not deprovisioned.
    pub expired: usize,
    pub deprovisioned: usize,
    /// Owner outside the org's domains, or app directory gone.
    pub orphaned: Vec<Orphan>,
    /// Sum of the per-app monthly cost (reported, else estimated), US dollars.
    pub total_monthly_cost_usd: f64,
    pub cost_by_app: Vec<AppCost>,
    /// Apps past an escalation threshold (with the last reported usage).
    pub past_escalation_thresholds: Vec<Escalating>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub id: String,
    pub owner: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppCost {
    pub id: String,
    pub monthly_cost_usd: Option<f64>,
    /// `reported` (usage metrics) or `estimated` (the manifest).
    pub source: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Escalating {
    pub id: String,
    pub fired: Vec<String>,
}

pub(crate) fn compute(entries: &[Entry], org: &Org, today: Date) -> Stats {
    let mut by_tier: IndexMap<String, usize> =
        Tier::ALL.iter().map(|t| (t.to_string(), 0)).collect();
    let mut by_classification: IndexMap<String, usize> = Classification::ALL
        .iter()
        .map(|c| (c.to_string(), 0))
        .collect();
    let mut s = Stats {
        total: entries.len(),
        by_tier: IndexMap::new(),
        by_classification: IndexMap::new(),
        active: 0,
        expired: 0,
        deprovisioned: 0,
        orphaned: Vec::new(),
        total_monthly_cost_usd: 0.0,
        cost_by_app: Vec::new(),
        past_escalation_thresholds: Vec::new(),
    };
    for e in entries {
        *by_tier.entry(e.tier.to_string()).or_default() += 1;
        *by_classification
            .entry(e.classification.to_string())
            .or_default() += 1;
        if e.deprovisioned.is_some() {
            s.deprovisioned += 1;
        } else if e.is_expired(today) {
            s.expired += 1;
        } else {
            s.active += 1;
        }
        let mut reasons = Vec::new();
        if !org.owner_domain_allowed(&e.owner) {
            reasons.push("owner outside the org's domains".to_string());
        }
        if e.app_gone() {
            reasons.push(format!("app directory gone ({})", e.repository.path));
        }
        if !reasons.is_empty() {
            s.orphaned.push(Orphan {
                id: e.id.clone(),
                owner: e.owner.clone(),
                reasons,
            });
        }
        let reported = e.usage.as_ref().and_then(|u| u.monthly_cost_usd);
        let cost = e.monthly_cost();
        s.total_monthly_cost_usd += cost.unwrap_or(0.0);
        s.cost_by_app.push(AppCost {
            id: e.id.clone(),
            monthly_cost_usd: cost,
            source: if reported.is_some() {
                "reported"
            } else {
                "estimated"
            },
        });
        let d = lifecycle::decide(e, e.usage.as_ref(), org, today, 0);
        if d.action == Action::Escalate {
            s.past_escalation_thresholds.push(Escalating {
                id: e.id.clone(),
                fired: d.fired.iter().map(ToString::to_string).collect(),
            });
        }
    }
    s.by_tier = by_tier;
    s.by_classification = by_classification;
    s.total_monthly_cost_usd = (s.total_monthly_cost_usd * 100.0).round() / 100.0;
    s
}

pub(crate) fn render(s: &Stats) -> String {
    let mut out = format!(
        "{} app(s): {} active, {} expired, {} deprovisioned\n\n",
        s.total, s.active, s.expired, s.deprovisioned
    );
    let mut t = table(&["TIER", "APPS"]);
    for (k, v) in &s.by_tier {
        t.add_row(vec![k.clone(), v.to_string()]);
    }
    out.push_str(&format!("{t}\n\n"));
    let mut t = table(&["CLASSIFICATION", "APPS"]);
    for (k, v) in &s.by_classification {
        t.add_row(vec![k.clone(), v.to_string()]);
    }
    out.push_str(&format!("{t}\n\n"));
    out.push_str(&format!(
        "estimated monthly cost: ${:.2} in total\n",
        s.total_monthly_cost_usd
    ));
    let mut t = table(&["APP", "COST/MO", "SOURCE"]);
    for c in &s.cost_by_app {
        t.add_row(vec![
            c.id.clone(),
            c.monthly_cost_usd
                .map_or("-".into(), |v| format!("${v:.2}")),
            c.source.to_string(),
        ]);
    }
    out.push_str(&format!("{t}\n\n"));
    out.push_str(&format!("orphaned: {}\n", s.orphaned.len()));
    for o in &s.orphaned {
        out.push_str(&format!(
            "  {} ({}): {}\n",
            o.id,
            o.owner,
            o.reasons.join("; ")
        ));
    }
    out.push_str(&format!(
        "past escalation thresholds: {}\n",
        s.past_escalation_thresholds.len()
    ));
    for e in &s.past_escalation_thresholds {
        out.push_str(&format!("  {}: {}\n", e.id, e.fired.join(", ")));
    }
    out
}
