//! The scheduled template upgrade job: its settings in the org config (`ci.upgrade`), its
//! schedule, and the checks on both.
//!
//! Each app repository runs `levee upgrade` on a schedule and opens (or updates) one pull or
//! merge request from the branch [`BRANCH`]; the app's own pipeline then runs every gate on it
//! (docs/fleet-upgrades.md). GitHub gets a second managed workflow (`levee-upgrade.yml`), GitLab a
//! job in `.gitlab-ci.yml` that runs only in scheduled pipelines. The YAML is in `pipelines/`; the
//! script that turns the JSON report into the request's title and body is
//! `pipelines/upgrade/*.py`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::load::document::Checker;
use crate::model::manifest::Ci;

/// The branch every upgrade pull/merge request comes from.
pub const BRANCH: &str = "levee/upgrade";

/// The GitHub workflow, relative to the app.
pub const GITHUB_PATH: &str = ".github/workflows/levee-upgrade.yml";

/// `ci.upgrade` in the org config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UpgradeSettings {
    /// Generate the job (GitHub: `.github/workflows/levee-upgrade.yml`; GitLab: the
    /// `levee-upgrade` job in `.gitlab-ci.yml`). `false` removes it at the next `levee sync`.
    pub enabled: bool,
    /// When it runs, in UTC: `weekly` (a weekday, hour and minute picked from the app's name, so
    /// a fleet's jobs spread over the week instead of starting at once), `daily` (weekdays, time
    /// picked the same way), or a five-field cron expression (`30 6 * * 1`). GitHub reads it from
    /// the workflow; on GitLab, create a pipeline schedule with the cron the file's header names.
    pub schedule: String,
    /// The name (not the value) of the secret that holds the token the job pushes and opens the
    /// request with. GitHub: a repository or organisation secret holding a fine-grained token
    /// (contents and pull requests: write); when it is not set the workflow's own
    /// `GITHUB_TOKEN` is used, and GitHub then starts no checks on the pull request until it is
    /// closed and reopened. GitLab: a masked CI/CD variable holding a project access token
    /// (scopes `api` and `write_repository`, role Developer); required.
    pub token_secret: String,
    /// Labels on every upgrade pull/merge request (created when missing).
    pub labels: Vec<String>,
    /// The label added when the upgrade left conflicts for a person to resolve.
    pub conflict_label: String,
    /// Author and committer of the upgrade commits, `Name <email>` (default: on GitHub
    /// `github-actions[bot]`, on GitLab `levee-upgrade <levee-upgrade@noreply.invalid>`). The
    /// job updates its branch only while every commit on it is by this identity: once a person
    /// pushes to it, the branch is theirs and the job leaves it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committer: Option<String>,
}

impl Default for UpgradeSettings {
    fn default() -> Self {
        UpgradeSettings {
            enabled: true,
            schedule: "weekly".into(),
            token_secret: "LEVEE_UPGRADE_TOKEN".into(),
            labels: vec!["levee-upgrade".into()],
            conflict_label: "levee-conflicts".into(),
            committer: None,
        }
    }
}

impl UpgradeSettings {
    /// The commit identity for a CI.
    pub(crate) fn committer(&self, ci: Ci) -> String {
        self.committer.clone().unwrap_or_else(|| {
            match ci {
                Ci::Github => {
                    "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
                }
                Ci::Gitlab => "levee-upgrade <levee-upgrade@noreply.invalid>",
            }
            .to_string()
        })
    }
}

/// The cron expression (UTC) for an app: `schedule` as given, or for `weekly`/`daily` a time
/// picked from a hash of the app's name (stable, so `levee sync --check` stays green), between
/// 04:00 and 07:59 on a weekday.
pub fn cron(schedule: &str, app: &str) -> String {
    let digest = Sha256::digest(app.as_bytes());
    let mut n = 0u64;
    for b in &digest[..8] {
        n = (n << 8) | u64::from(*b);
    }
    let minute = n % 60;
    let hour = 4 + (n / 60) % 4;
    let weekday = 1 + (n / 240) % 5;
    match schedule {
        "weekly" => format!("{minute} {hour} * * {weekday}"),
        "daily" => format!("{minute} {hour} * * 1-5"),
        other => other.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Why a cron expression is not one GitHub (and GitLab's schedules) accept, if it is not.
fn cron_error(expr: &str) -> Option<String> {
    const FIELDS: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 6),
    ];
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != 5 {
        return Some(format!("it has {} fields, not 5", parts.len()));
    }
    for (part, (name, lo, hi)) in parts.iter().zip(FIELDS) {
        for item in part.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (item, None),
            };
            if let Some(s) = step
                && !s.parse::<u32>().is_ok_and(|s| (1..=hi.max(1)).contains(&s))
            {
                return Some(format!(
                    "the {name} step `{s}` is not a number from 1 to {hi}"
                ));
            }
            if range == "*" {
                continue;
            }
            let bounds: Vec<&str> = range.split('-').collect();
            if bounds.is_empty() || bounds.len() > 2 {
                return Some(format!(
                    "the {name} field `{part}` is not a list of values or ranges"
                ));
            }
            let mut values = Vec::new();
            for b in &bounds {
                match b.parse::<u32>() {
                    Ok(v) if (lo..=hi).contains(&v) => values.push(v),
                    _ => {
                        return Some(format!(
                            "the {name} `{b}` is not a number from {lo} to {hi}"
                        ));
                    }
                }
            }
            if values.len() == 2 && values[0] > values[1] {
                return Some(format!("the {name} range `{range}` runs backwards"));
            }
        }
    }
    None
}

/// Is `s` safe to render into a pipeline: no control characters, no GitHub expression?
fn plain_text(s: &str) -> bool {
    !s.chars().any(char::is_control) && !s.contains("${{")
}

/// The org config's `ci.upgrade` meaning checks (the schema has checked the types).
pub(crate) fn check_org(cx: &mut Checker<'_>) {
    let text = |cx: &Checker<'_>, p: &str| match cx.get(p) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    if let Some(s) = text(cx, "/ci/upgrade/schedule")
        && s != "weekly"
        && s != "daily"
        && let Some(why) = if plain_text(&s) {
            cron_error(&s)
        } else {
            Some("it holds a control character".into())
        }
    {
        cx.error(
            "/ci/upgrade/schedule",
            format!("`{}` is not a schedule: {why}", s.escape_debug()),
            "write `weekly`, `daily`, or five cron fields (minute hour day-of-month month \
             day-of-week, UTC), like `30 6 * * 1`",
        );
    }
    if let Some(s) = text(cx, "/ci/upgrade/token_secret") {
        let ok = s.len() <= 100
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !s.starts_with("GITHUB_");
        if !ok {
            cx.error(
                "/ci/upgrade/token_secret",
                format!("`{}` is not a secret's name", s.escape_debug()),
                "name the secret (not its value) in capitals, digits and `_`, not starting \
                 with `GITHUB_`, like `LEVEE_UPGRADE_TOKEN`",
            );
        }
    }
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(Value::Array(items)) = cx.get("/ci/upgrade/labels") {
        for (i, v) in items.iter().enumerate() {
            if let Value::String(s) = v {
                labels.push((format!("/ci/upgrade/labels/{i}"), s.clone()));
            }
        }
    }
    if let Some(s) = text(cx, "/ci/upgrade/conflict_label") {
        labels.push(("/ci/upgrade/conflict_label".into(), s));
    }
    for (pointer, label) in labels {
        if label.trim().is_empty()
            || label.trim() != label
            || label.chars().count() > 50
            || label.contains(',')
            || !plain_text(&label)
        {
            cx.error(
                &pointer,
                format!("`{}` is not a label levee can set", label.escape_debug()),
                "use 1 to 50 characters with no comma, no control character and no `${{`, \
                 like `levee-upgrade`",
            );
        }
    }
    if let Some(s) = text(cx, "/ci/upgrade/committer") {
        let ok = plain_text(&s)
            && s.len() <= 200
            && s.ends_with('>')
            && s.split_once(" <").is_some_and(|(name, email)| {
                let email = &email[..email.len() - 1];
                !name.trim().is_empty()
                    && !name.contains(['<', '>'])
                    && email.split_once('@').is_some_and(|(l, d)| {
                        !l.is_empty() && !d.is_empty() && !email.contains(['<', '>', ' '])
                    })
            });
        if !ok {
            cx.error(
                "/ci/upgrade/committer",
                format!("`{}` is not a commit identity", s.escape_debug()),
                "write `Name <email>`, like `levee-upgrade <levee-upgrade@acme.corp>`",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_and_daily_spread_by_app_and_stay_put() {
        let a = cron("weekly", "expense-tracker");
        assert_eq!(a, cron("weekly", "expense-tracker"), "stable");
        assert!(cron_error(&a).is_none(), "{a}");
        let fields: Vec<&str> = a.split(' ').collect();
        let hour: u32 = fields[1].parse().expect("hour");
        let day: u32 = fields[4].parse().expect("weekday");
        assert!((4..=7).contains(&hour) && (1..=5).contains(&day), "{a}");
        let spread: std::collections::BTreeSet<String> = (0..200)
            .map(|i| cron("weekly", &format!("app-{i}")))
            .collect();
        assert!(spread.len() > 150, "200 apps share {} slots", spread.len());
        let d = cron("daily", "expense-tracker");
        assert!(d.ends_with(" * * 1-5") && cron_error(&d).is_none(), "{d}");
        assert_eq!(cron("30  6 * * 1", "x"), "30 6 * * 1");
    }

    #[test]
    fn cron_expressions_are_checked_field_by_field() {
        for ok in [
            "30 6 * * 1",
            "*/15 * * * *",
            "0 4-7 1,15 * 1-5",
            "0 0 * 1-12/2 0",
        ] {
            assert_eq!(cron_error(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("30 6 * *", "it has 4 fields"),
            ("60 6 * * 1", "minute `60`"),
            ("0 24 * * 1", "hour `24`"),
            ("0 6 0 * 1", "day of month `0`"),
            ("0 6 * * MON", "day of week `MON`"),
            ("0 6 * * 5-1", "backwards"),
            ("*/0 * * * *", "step `0`"),
        ] {
            let got = cron_error(bad);
            assert!(
                got.as_deref().is_some_and(|g| g.contains(why)),
                "{bad}: {got:?}"
            );
        }
    }

    #[test]
    fn committer_defaults_per_ci() {
        let s = UpgradeSettings::default();
        assert!(s.committer(Ci::Github).starts_with("github-actions[bot] <"));
        assert!(s.committer(Ci::Gitlab).starts_with("levee-upgrade <"));
    }
}
