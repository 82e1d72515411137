//! Lifecycle automation: which apps must be deprovisioned, which expire soon, which have outgrown
//! their tier. One decision table, [`decide`], over plain data.
//!
//! | situation (first match wins) | action |
//! | --- | --- |
//! | already marked deprovisioned | `retired` (no action) |
//! | prototype or sandbox past an escalation threshold | `escalate` (which fired, with values) |
//! | prototype past its expiry date | `deprovision` |
//! | any other app past its expiry date, or expiring within N days | `expiring` (notify the owner) |
//! | otherwise | `ok` |
//!
//! Escalation thresholds come from the org config (`escalation`): more than `active_users_month`
//! users, a P95 latency above `p95_latency_ms`, a monthly cost above `monthly_cost_usd` (reported,
//! else the owner's estimate), any open vulnerability of the listed severities, and, for
//! prototypes, data of the listed classifications. Escalation wins over deprovisioning: a
//! prototype people rely on is handed to engineering, not switched off. The expiry date is the
//! last valid day.
//!
//! ## The metrics file (`--metrics FILE`)
//! CSV with a header row, or JSON (an array of objects, or `{"reported": DATE, "apps": [...]}`).
//! Columns / keys: `app_id` (required), `active_users_month`, `p95_latency_ms`,
//! `monthly_cost_usd`, `open_high_vulns`, `open_critical_vulns` (each optional; an empty CSV cell
//! means not reported), and optionally `reported` (YYYY-MM-DD; default today). Unknown columns are
//! errors; rows whose `app_id` is not in the catalog are reported.

pub mod apply;
pub mod stats;

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalog::{Entry, Usage};
use crate::model::manifest::{Date, Tier};
use crate::model::org::{Escalation, Org, Severity};

/// What to do about an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Escalate,
    Deprovision,
    Expiring,
    Ok,
    Retired,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Escalate => "escalate",
            Action::Deprovision => "deprovision",
            Action::Expiring => "expiring",
            Action::Ok => "ok",
            Action::Retired => "retired",
        }
    }

    /// Does the app need someone to act?
    pub(crate) fn needs_action(self) -> bool {
        matches!(
            self,
            Action::Escalate | Action::Deprovision | Action::Expiring
        )
    }
}

/// A threshold that fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    /// The org config key (`active_users_month`).
    pub threshold: &'static str,
    /// The app's value.
    pub value: String,
    /// The limit it passed.
    pub limit: String,
}

impl std::fmt::Display for Fired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.threshold == "data_classifications" {
            write!(
                f,
                "data_classifications: {} data in a prototype",
                self.value
            )
        } else {
            write!(f, "{} {} > {}", self.threshold, self.value, self.limit)
        }
    }
}

/// The decision for one app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub id: String,
    pub owner: String,
    pub tier: Tier,
    pub action: Action,
    /// For `escalate`: the tier to move to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_tier: Option<Tier>,
    /// For `escalate`: which thresholds fired, with values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<Fired>,
    /// Days until expiry (negative: past it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<i64>,
    /// One line for people.
    pub reason: String,
}

/// Usage metrics for one app, as read from the metrics file.
pub type Metrics = Usage;

/// The thresholds that fire for `entry` with `usage`.
pub(crate) fn thresholds(entry: &Entry, usage: Option<&Usage>, t: &Escalation) -> Vec<Fired> {
    let mut fired = Vec::new();
    if let Some(u) = usage {
        if let Some(v) = u.active_users_month.filter(|v| *v > t.active_users_month) {
            fired.push(Fired {
                threshold: "active_users_month",
                value: v.to_string(),
                limit: t.active_users_month.to_string(),
            });
        }
        if let Some(v) = u.p95_latency_ms.filter(|v| *v > t.p95_latency_ms) {
            fired.push(Fired {
                threshold: "p95_latency_ms",
                value: v.to_string(),
                limit: t.p95_latency_ms.to_string(),
            });
        }
    }
    let cost = usage
        .and_then(|u| u.monthly_cost_usd)
        .or(entry.cost.estimated_monthly_usd);
    if let Some(v) = cost.filter(|v| *v > t.monthly_cost_usd) {
        fired.push(Fired {
            threshold: "monthly_cost_usd",
            value: format!("{v:.2}"),
            limit: format!("{:.2}", t.monthly_cost_usd),
        });
    }
    if let Some(u) = usage {
        for (sev, count, key) in [
            (Severity::High, u.open_high_vulns, "open_high_vulns"),
            (
                Severity::Critical,
                u.open_critical_vulns,
                "open_critical_vulns",
            ),
        ] {
            if t.vulnerability_severities.contains(&sev)
                && let Some(n) = count.filter(|n| *n > 0)
            {
                fired.push(Fired {
                    threshold: key,
                    value: n.to_string(),
                    limit: "0".into(),
                });
            }
        }
    }
    if entry.tier == Tier::Prototype {
        let data = entry.max_data_classification();
        if t.data_classifications.contains(&data) {
            fired.push(Fired {
                threshold: "data_classifications",
                value: data.to_string(),
                limit: t
                    .data_classifications
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    fired
}

/// The decision table (see the module docs).
pub(crate) fn decide(
    entry: &Entry,
    usage: Option<&Usage>,
    org: &Org,
    today: Date,
    expiring_within: u32,
) -> Decision {
    let days_left = entry.days_left(today);
    let mut d = Decision {
        id: entry.id.clone(),
        owner: entry.owner.clone(),
        tier: entry.tier,
        action: Action::Ok,
        to_tier: None,
        fired: Vec::new(),
        days_left,
        reason: String::new(),
    };
    if let Some(dep) = &entry.deprovisioned {
        d.action = Action::Retired;
        d.reason = format!("deprovisioned on {}", dep.date);
        return d;
    }
    let fired = if entry.tier == Tier::Production {
        Vec::new()
    } else {
        thresholds(entry, usage, &org.escalation)
    };
    if !fired.is_empty() {
        let to = target_tier(entry, &fired, org);
        d.action = Action::Escalate;
        d.to_tier = Some(to);
        d.reason = format!(
            "{}: promote to {to} and hand off to engineering",
            fired
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if entry.is_expired(today) {
            d.reason.push_str(&format!(
                " (also past its expiry, {})",
                entry.expires.map(|e| e.to_string()).unwrap_or_default()
            ));
        }
        d.fired = fired;
        return d;
    }
    match days_left {
        Some(n) if n < 0 && entry.tier == Tier::Prototype => {
            d.action = Action::Deprovision;
            d.reason = format!(
                "prototype expired {} day(s) ago: deprovision",
                n.unsigned_abs()
            );
        }
        Some(n) if n < 0 => {
            d.action = Action::Expiring;
            d.reason = format!(
                "expired {} day(s) ago: the owner must renew (raise `lifecycle.expires`) or retire it",
                n.unsigned_abs()
            );
        }
        Some(n) if n <= i64::from(expiring_within) => {
            d.action = Action::Expiring;
            d.reason = format!("expires in {n} day(s): notify the owner");
        }
        _ => d.reason = "within its tier and lifetime".into(),
    }
    d
}

/// Where an escalation goes: production when usage, latency, cost or vulnerabilities fired;
/// for data alone, the lowest higher tier allowed to touch that data.
fn target_tier(entry: &Entry, fired: &[Fired], org: &Org) -> Tier {
    if fired.iter().any(|f| f.threshold != "data_classifications") {
        return Tier::Production;
    }
    let data = entry.max_data_classification();
    Tier::ALL
        .iter()
        .copied()
        .filter(|t| *t > entry.tier)
        .find(|t| org.tier(*t).max_classification.is_none_or(|m| m >= data))
        .unwrap_or(Tier::Production)
}

/// One row of the metrics file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    app_id: String,
    #[serde(default)]
    reported: Option<String>,
    #[serde(default)]
    active_users_month: Option<u64>,
    #[serde(default)]
    p95_latency_ms: Option<u64>,
    #[serde(default)]
    monthly_cost_usd: Option<f64>,
    #[serde(default)]
    open_high_vulns: Option<u64>,
    #[serde(default)]
    open_critical_vulns: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum JsonMetrics {
    List(Vec<Row>),
    Doc {
        #[serde(default)]
        reported: Option<String>,
        apps: Vec<Row>,
    },
}

/// The largest metrics file read (a row is about 100 bytes: room for a few hundred thousand apps).
pub const MAX_METRICS_BYTES: u64 = 32 << 20;

/// Reads a metrics file (CSV or JSON, by extension, else by content) into usage per app id.
pub(crate) fn read_metrics(path: &Path, today: Date) -> Result<HashMap<String, Usage>, String> {
    let bytes = crate::support::input::read(path, MAX_METRICS_BYTES)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let looks_json = ext.eq_ignore_ascii_case("json")
        || (!ext.eq_ignore_ascii_case("csv")
            && bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'[' || *b == b'{'));
    let (rows, default_reported) = if looks_json {
        match serde_json::from_slice::<JsonMetrics>(&bytes) {
            Ok(JsonMetrics::List(rows)) => (rows, None),
            Ok(JsonMetrics::Doc { reported, apps }) => (apps, reported),
            Err(e) => {
                return Err(format!(
                    "{}: not a metrics file ({e}); expected a list of {{\"app_id\": …, \"active_users_month\": …}} objects",
                    path.display()
                ));
            }
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(&bytes[..]);
        const COLUMNS: &[&str] = &[
            "app_id",
            "reported",
            "active_users_month",
            "p95_latency_ms",
            "monthly_cost_usd",
            "open_high_vulns",
            "open_critical_vulns",
        ];
        let headers = rdr
            .headers()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .clone();
        if let Some(h) = headers.iter().find(|h| !COLUMNS.contains(h)) {
            return Err(format!(
                "{}: unknown column `{h}`; the columns are: {}",
                path.display(),
                COLUMNS.join(", ")
            ));
        }
        if !headers.iter().any(|h| h == "app_id") {
            return Err(format!(
                "{}: the header row has no `app_id` column",
                path.display()
            ));
        }
        let mut rows = Vec::new();
        for (i, r) in rdr.deserialize::<Row>().enumerate() {
            rows.push(r.map_err(|e| format!("{}: row {}: {e}", path.display(), i + 2))?);
        }
        (rows, None)
    };
    let parse_date = |s: &str| Date::parse(s).map_err(|e| format!("{}: {e}", path.display()));
    let default_reported = match default_reported {
        Some(s) => parse_date(&s)?,
        None => today,
    };
    let mut out = HashMap::new();
    for r in rows {
        let reported = match &r.reported {
            Some(s) if !s.is_empty() => parse_date(s)?,
            _ => default_reported,
        };
        if r.monthly_cost_usd
            .is_some_and(|c| !c.is_finite() || c < 0.0)
        {
            return Err(format!(
                "{}: `{}`: monthly_cost_usd must be a non-negative number",
                path.display(),
                r.app_id
            ));
        }
        let usage = Usage {
            reported,
            active_users_month: r.active_users_month,
            p95_latency_ms: r.p95_latency_ms,
            monthly_cost_usd: r.monthly_cost_usd,
            open_high_vulns: r.open_high_vulns,
            open_critical_vulns: r.open_critical_vulns,
        };
        if out.insert(r.app_id.clone(), usage).is_some() {
            return Err(format!(
                "{}: app `{}` appears twice",
                path.display(),
                r.app_id
            ));
        }
    }
    Ok(out)
}

/// Performs a tier change for `levee lifecycle --apply` (plugged in by `levee promote`).
pub trait Promoter {
    /// Changes the app at `app_dir` to `to`; the text says what was done.
    fn promote(&self, app_dir: &Path, to: Tier) -> Result<String, String>;
}

/// The promoter `levee lifecycle --apply` uses for escalations: a real `levee promote`.
#[derive(Debug, Clone)]
pub struct Promote {
    /// `--org`, when given; otherwise the org config is found from each app.
    pub org: Option<std::path::PathBuf>,
    pub today: Date,
}

impl Promoter for Promote {
    fn promote(&self, app_dir: &Path, to: Tier) -> Result<String, String> {
        let org = crate::model::org::resolve(self.org.as_deref(), app_dir)
            .map_err(|e| format!("cannot read the org config: {e}"))?
            .org;
        let req = crate::change::promote::Request {
            tier: to,
            classification: None,
            expires: None,
            today: self.today,
            move_secrets_to: None,
        };
        match crate::change::promote::prepare(app_dir, &org, &req).map_err(|e| e.to_string())? {
            crate::change::promote::PromoteOutcome::Ready(p) => {
                let written = p.apply().map_err(|e| e.to_string())?;
                Ok(format!(
                    "promoted {} from {} to {to} ({} file(s) rewritten)",
                    app_dir.display(),
                    p.before.lifecycle.tier,
                    written.files.len() + written.removed.len()
                ))
            }
            crate::change::promote::PromoteOutcome::Refused(r) => Err(format!(
                "promotion to {to} refused: {}",
                r.reasons
                    .iter()
                    .map(|x| format!("{} {} (`{}`)", x.id, x.message, x.field))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{EntryCost, EntryData, EntrySso, Repository};
    use crate::model::manifest::{AccessLevel, Classification};

    fn day(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    fn entry(tier: Tier, expires: Option<&str>) -> Entry {
        Entry {
            schema_version: 1,
            id: "app".into(),
            name: "app".into(),
            description: None,
            owner: "a@acme.corp".into(),
            team: None,
            kind: None,
            kind_spec: None,
            stack: None,
            classification: Classification::Internal,
            sso: EntrySso::default(),
            data_access: Vec::new(),
            tier,
            created: None,
            expires: expires.map(day),
            cost: EntryCost::default(),
            sbom: None,
            usage: None,
            template: None,
            repository: Repository {
                url: None,
                subdir: None,
                path: "/nowhere".into(),
            },
            policy: None,
            deprovisioned: None,
            escalations: Vec::new(),
            updated: "2026-03-01T00:00:00Z".into(),
        }
    }

    fn usage() -> Usage {
        Usage::empty(day("2026-03-01"))
    }

    const TODAY: &str = "2026-03-01";

    fn run(e: &Entry, u: Option<&Usage>) -> Decision {
        decide(e, u, &Org::default(), day(TODAY), 14)
    }

    #[test]
    fn expiry_boundaries() {
        let p = |exp| run(&entry(Tier::Prototype, Some(exp)), None);
        assert_eq!(p("2026-02-28").action, Action::Deprovision); // one day past
        assert_eq!(p("2026-03-01").action, Action::Expiring); // last valid day
        assert_eq!(p("2026-03-01").days_left, Some(0));
        assert_eq!(p("2026-03-15").action, Action::Expiring); // exactly 14 days
        assert_eq!(p("2026-03-16").action, Action::Ok); // 15 days
        assert_eq!(run(&entry(Tier::Prototype, None), None).action, Action::Ok);
        // A sandbox past expiry is not switched off: the owner renews or retires it.
        let s = run(&entry(Tier::Sandbox, Some("2026-02-28")), None);
        assert_eq!(s.action, Action::Expiring);
        assert_eq!(s.days_left, Some(-1));
    }

    #[test]
    fn usage_boundaries() {
        let e = entry(Tier::Prototype, None);
        let at = |f: &dyn Fn(&mut Usage)| {
            let mut u = usage();
            f(&mut u);
            run(&e, Some(&u))
        };
        assert_eq!(
            at(&|u| u.active_users_month = Some(1000)).action,
            Action::Ok
        );
        let d = at(&|u| u.active_users_month = Some(1001));
        assert_eq!(d.action, Action::Escalate);
        assert_eq!(d.to_tier, Some(Tier::Production));
        assert_eq!(d.fired[0].to_string(), "active_users_month 1001 > 1000");
        assert_eq!(at(&|u| u.p95_latency_ms = Some(500)).action, Action::Ok);
        assert_eq!(
            at(&|u| u.p95_latency_ms = Some(501)).fired[0].threshold,
            "p95_latency_ms"
        );
        assert_eq!(at(&|u| u.monthly_cost_usd = Some(500.0)).action, Action::Ok);
        assert_eq!(
            at(&|u| u.monthly_cost_usd = Some(500.01)).fired[0].to_string(),
            "monthly_cost_usd 500.01 > 500.00"
        );
        assert_eq!(at(&|u| u.open_high_vulns = Some(0)).action, Action::Ok);
        assert_eq!(
            at(&|u| u.open_high_vulns = Some(1)).fired[0].threshold,
            "open_high_vulns"
        );
        assert_eq!(at(&|u| u.open_critical_vulns = Some(0)).action, Action::Ok);
        assert_eq!(
            at(&|u| u.open_critical_vulns = Some(1)).fired[0].threshold,
            "open_critical_vulns"
        );
        // Several at once: all are listed.
        let d = at(&|u| {
            u.active_users_month = Some(5000);
            u.open_critical_vulns = Some(2);
        });
        assert_eq!(d.fired.len(), 2);
    }

    #[test]
    fn estimated_cost_counts_without_metrics() {
        let mut e = entry(Tier::Sandbox, None);
        e.cost.estimated_monthly_usd = Some(500.0);
        assert_eq!(run(&e, None).action, Action::Ok);
        e.cost.estimated_monthly_usd = Some(501.0);
        assert_eq!(run(&e, None).action, Action::Escalate);
        // Reported cost wins over the estimate.
        let mut u = usage();
        u.monthly_cost_usd = Some(10.0);
        assert_eq!(run(&e, Some(&u)).action, Action::Ok);
    }

    #[test]
    fn data_boundaries() {
        let mut e = entry(Tier::Prototype, None);
        let with = |c| EntryData {
            dataset: "d".into(),
            access_level: AccessLevel::Read,
            classification: c,
        };
        e.data_access = vec![with(Classification::Internal)];
        assert_eq!(run(&e, None).action, Action::Ok);
        e.data_access = vec![with(Classification::Confidential)];
        let d = run(&e, None);
        assert_eq!(d.action, Action::Escalate);
        assert_eq!(d.to_tier, Some(Tier::Sandbox));
        e.data_access = vec![with(Classification::Restricted)];
        assert_eq!(run(&e, None).to_tier, Some(Tier::Production));
        // Confidential data is allowed in a sandbox: no escalation for the data alone.
        e.tier = Tier::Sandbox;
        e.data_access = vec![with(Classification::Confidential)];
        assert_eq!(run(&e, None).action, Action::Ok);
    }

    #[test]
    fn precedence() {
        // Escalation wins over deprovisioning.
        let e = entry(Tier::Prototype, Some("2026-01-01"));
        let mut u = usage();
        u.active_users_month = Some(2000);
        let d = run(&e, Some(&u));
        assert_eq!(d.action, Action::Escalate);
        assert!(d.reason.contains("also past its expiry"), "{}", d.reason);
        // Production never escalates.
        let p = entry(Tier::Production, None);
        assert_eq!(run(&p, Some(&u)).action, Action::Ok);
        // Deprovisioned entries are retired.
        let mut r = entry(Tier::Prototype, Some("2026-01-01"));
        r.deprovisioned = Some(crate::catalog::Deprovisioned {
            date: day("2026-02-01"),
            reason: "expired".into(),
        });
        assert_eq!(run(&r, Some(&u)).action, Action::Retired);
        assert!(!Action::Retired.needs_action());
    }

    #[test]
    fn metrics_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let csv = dir.path().join("m.csv");
        std::fs::write(
            &csv,
            "app_id,active_users_month,p95_latency_ms,monthly_cost_usd,open_high_vulns,open_critical_vulns\na,1500,,12.5,0,0\n",
        )
        .expect("write");
        let m = read_metrics(&csv, day(TODAY)).expect("csv");
        assert_eq!(m["a"].active_users_month, Some(1500));
        assert_eq!(m["a"].p95_latency_ms, None);
        let json = dir.path().join("m.json");
        std::fs::write(
            &json,
            r#"{"reported": "2026-02-27", "apps": [{"app_id": "b", "p95_latency_ms": 700}]}"#,
        )
        .expect("write");
        let m = read_metrics(&json, day(TODAY)).expect("json");
        assert_eq!(m["b"].reported, day("2026-02-27"));
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "app_id,users\na,1\n").expect("write");
        assert!(read_metrics(&bad, day(TODAY)).is_err());
    }
}
