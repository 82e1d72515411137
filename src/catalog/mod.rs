//! The app catalog: one JSON file per app in a directory (a Git-backed store, so registrations
//! from many repositories merge cleanly), with a JSON Schema (`levee schema catalog`).
//!
//! An [`Entry`] is built from an app directory ([`Entry::from_app`]): the manifest, the org
//! config, the app's `sbom.cdx.json` (CycloneDX JSON, when present) and its
//! `.levee/policy-result.json` (when present). Lifecycle automation adds usage metrics,
//! deprovisioning marks and escalation records.

pub mod pipeline;
pub mod register;
pub mod rollout;
pub mod sbom;
mod store;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::manifest::{
    AccessLevel, Classification, Date, Kind, Manifest, SsoProvider, Stack, TemplateRef, Tier,
};
use crate::model::org::Org;

pub use sbom::SbomSummary;
pub use store::{
    CatalogError, Corrupt, LoadedCatalog, Store, pause_writes, write_atomic as store_write,
};

/// The entry format version; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The default catalog directory, relative to the working directory.
pub const DEFAULT_DIR: &str = "catalog";

/// Where an app's last policy result is read from (written by `levee check`).
pub const POLICY_RESULT_FILE: &str = crate::support::record::POLICY_RESULT;

/// One app in the catalog (`catalog/<id>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "levee catalog entry", extend("$id" = "https://levee.dev/schema/catalog.json"))]
pub struct Entry {
    /// The entry format version (1).
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// The app id (the manifest's `name`); also the file name, `<id>.json`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{1,62}$"))]
    pub id: String,
    /// The app's name as shown to people (the manifest's `name`).
    pub name: String,
    /// What the app does and for whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owner's e-mail address.
    pub owner: String,
    /// The owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// dashboard, form or webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// What the app's template pack says of its kind (its description; its Backstage type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_spec: Option<crate::load::declarations::KindSpec>,
    /// node or python.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<Stack>,
    /// The app's data classification.
    pub classification: Classification,
    /// Single sign-on: who may use the app.
    pub sso: EntrySso,
    /// The datasets the app reads or writes, with their classification from the org's registry
    /// at registration time.
    #[serde(default)]
    pub data_access: Vec<EntryData>,
    /// The runtime tier.
    pub tier: Tier,
    /// When the app was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Date>,
    /// When the app expires (prototypes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    /// Cost center and estimate.
    pub cost: EntryCost,
    /// The SBOM summary and dependency snapshot, from the app's `sbom.cdx.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom: Option<SbomSummary>,
    /// The last usage metrics reported (by `levee lifecycle --metrics FILE --apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The template the app was generated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// Where the app lives.
    pub repository: Repository,
    /// The last policy result (from `.levee/policy-result.json`, written by `levee check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyResult>,
    /// Set when `levee lifecycle --apply` deprovisioned the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovisioned: Option<Deprovisioned>,
    /// Escalations recorded by `levee lifecycle --apply`, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<EscalationRecord>,
    /// When the entry was last changed (RFC 3339, UTC).
    #[schemars(extend("format" = "date-time"))]
    pub updated: String,
}

/// SSO groups and scopes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntrySso {
    /// The protocol, when the app uses SSO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<SsoProvider>,
    /// Groups allowed to use the app.
    #[serde(default)]
    pub groups: Vec<String>,
    /// OAuth scopes requested at login.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A dataset the app uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryData {
    pub dataset: String,
    pub access_level: AccessLevel,
    /// The dataset's classification in the org's registry (unknown datasets: confidential).
    pub classification: Classification,
}

/// Cost center and estimate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryCost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<String>,
    /// The owner's estimate, US dollars a month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub estimated_monthly_usd: Option<f64>,
}

/// Usage metrics as last reported by the APM and cost tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// When the metrics were reported.
    pub reported: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_users_month: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0))]
    pub monthly_cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_high_vulns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_critical_vulns: Option<u64>,
}

impl Usage {
    /// Nothing reported yet, as of `reported`.
    #[cfg(test)]
    pub(crate) fn empty(reported: Date) -> Usage {
        Usage {
            reported,
            active_users_month: None,
            p95_latency_ms: None,
            monthly_cost_usd: None,
            open_high_vulns: None,
            open_critical_vulns: None,
        }
    }
}

/// Where the app lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// The git remote `origin` URL (credentials removed), when the app is in a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The app directory's path within the repository (`.` for the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdir: Option<String>,
    /// The absolute path of the app directory where it was registered.
    pub path: String,
}

/// The last policy result. The file `.levee/policy-result.json` has exactly this shape:
/// `{"passed": bool, "deny": [rule ids], "warn": [rule ids], "checked": "YYYY-MM-DD"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyResult {
    pub passed: bool,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub warn: Vec<String>,
    pub checked: Date,
}

/// A deprovisioning mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deprovisioned {
    pub date: Date,
    pub reason: String,
}

/// An escalation decided by `levee lifecycle --apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationRecord {
    pub date: Date,
    pub from: Tier,
    pub to: Tier,
    /// The thresholds that fired, with values (`active_users_month 1500 > 1000`).
    pub reasons: Vec<String>,
    /// Whether the tier change was performed (by `levee promote`).
    pub promoted: bool,
}

impl Entry {
    /// The entry for an app directory (holding `app.yaml`), or the manifest's problems.
    pub fn from_app(app_dir: &Path, org: &Org, now: &str) -> Result<Entry, EntryError> {
        let loaded = crate::model::manifest::load(app_dir).map_err(EntryError::Manifest)?;
        let dir = if app_dir.is_dir() {
            app_dir.to_path_buf()
        } else {
            app_dir
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        };
        let mut entry = Entry::from_manifest(&loaded.value, org, &dir, now);
        entry.sbom = sbom::summarize_dir(&dir).map_err(EntryError::Other)?;
        entry.policy = match read_policy_result(&dir).map_err(EntryError::Other)? {
            Some(recorded) => Some(recorded),
            None => evaluate_policy(&loaded.value, org),
        };
        Ok(entry)
    }

    /// The entry for a manifest, without SBOM or policy result.
    pub(crate) fn from_manifest(m: &Manifest, org: &Org, app_dir: &Path, now: &str) -> Entry {
        let abs = std::path::absolute(app_dir).unwrap_or_else(|_| app_dir.to_path_buf());
        let (url, subdir) = crate::catalog::git_origin(&abs);
        Entry {
            schema_version: SCHEMA_VERSION,
            id: m.name.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            owner: m.owner.clone(),
            team: m.team.clone(),
            kind: m.kind.clone(),
            kind_spec: m.kind_spec(),
            stack: m.stack.clone(),
            classification: m.classification,
            sso: m
                .sso
                .as_ref()
                .map(|s| EntrySso {
                    provider: Some(s.provider),
                    groups: s.groups.clone(),
                    scopes: s.scopes.clone(),
                })
                .unwrap_or_default(),
            data_access: m
                .data_access
                .iter()
                .map(|d| EntryData {
                    dataset: d.dataset.clone(),
                    access_level: d.access_level,
                    classification: org.dataset_classification(&d.dataset, m.classification),
                })
                .collect(),
            tier: m.lifecycle.tier,
            created: m.lifecycle.created,
            expires: m.lifecycle.expires,
            cost: m
                .cost
                .as_ref()
                .map(|c| EntryCost {
                    center: c.center.clone(),
                    estimated_monthly_usd: c.estimated_monthly_usd,
                })
                .unwrap_or_default(),
            sbom: None,
            usage: None,
            template: m.template.clone(),
            repository: Repository {
                url,
                subdir,
                path: abs.display().to_string(),
            },
            policy: None,
            deprovisioned: None,
            escalations: Vec::new(),
            updated: now.to_string(),
        }
    }

    /// What the entry's Backstage entity says (`levee catalog export --format backstage`).
    pub(crate) fn backstage(&self) -> crate::generate::backstage::App {
        crate::generate::backstage::App {
            id: self.id.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
            kind: self.kind.clone(),
            kind_spec: self.kind_spec.clone(),
            stack: self.stack.clone(),
            classification: self.classification,
            tier: self.tier,
            cost_center: self.cost.center.clone(),
            expires: self.expires,
            template: self.template.clone(),
            deprovisioned: self.deprovisioned.as_ref().map(|d| d.date),
            repository_url: self.repository.url.clone(),
            repository_subdir: self.repository.subdir.clone(),
        }
    }

    /// Carries over what registration does not know (usage, lifecycle marks, and the policy
    /// result when the app has none on disk) from the previous entry.
    pub(crate) fn carry_over(&mut self, previous: &Entry) {
        if self.usage.is_none() {
            self.usage = previous.usage.clone();
        }
        if self.policy.is_none() {
            self.policy = previous.policy.clone();
        }
        if self.deprovisioned.is_none() {
            self.deprovisioned = previous.deprovisioned.clone();
        }
        if self.escalations.is_empty() {
            self.escalations = previous.escalations.clone();
        }
    }

    /// Equal apart from `updated`?
    pub(crate) fn same_content(&self, other: &Entry) -> bool {
        let mut a = self.clone();
        a.updated.clone_from(&other.updated);
        &a == other
    }

    /// The most sensitive classification the app touches (its own or a dataset's).
    pub(crate) fn max_data_classification(&self) -> Classification {
        self.data_access
            .iter()
            .map(|d| d.classification)
            .chain(std::iter::once(self.classification))
            .max()
            .unwrap_or(self.classification)
    }

    /// Past its expiry date on `today` (the expiry date itself is the last valid day)?
    pub(crate) fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }

    /// Days from `today` to the expiry date (negative when past).
    pub(crate) fn days_left(&self, today: Date) -> Option<i64> {
        self.expires
            .and_then(|e| today.0.until(e.0).ok())
            .map(|span| i64::from(span.get_days()))
    }

    /// The app directory recorded at registration.
    pub(crate) fn app_dir(&self) -> &Path {
        Path::new(&self.repository.path)
    }

    /// Is the registered app directory gone (no `app.yaml` there any more)?
    pub(crate) fn app_gone(&self) -> bool {
        !self
            .app_dir()
            .join(crate::model::manifest::FILE_NAME)
            .is_file()
    }

    /// The estimated monthly cost: reported usage when there is one, else the owner's estimate.
    pub(crate) fn monthly_cost(&self) -> Option<f64> {
        self.usage
            .as_ref()
            .and_then(|u| u.monthly_cost_usd)
            .or(self.cost.estimated_monthly_usd)
    }
}

/// Why an entry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Manifest(crate::load::document::LoadError),
    #[error("{0}")]
    Other(String),
}

/// The policy result of `levee check` for this manifest, evaluated now (in-process, the org's
/// rules). Each thread compiles the rules once per org config and reuses them, so scanning a
/// fleet costs one evaluation per app. `None` only if the embedded rules fail to compile (a
/// levee bug), in which case the entry simply has no policy result.
pub(crate) fn evaluate_policy(m: &Manifest, org: &Org) -> Option<PolicyResult> {
    use std::cell::RefCell;
    thread_local! {
        static EVALUATOR: RefCell<Option<(Org, crate::generate::policy::Evaluator)>> = const { RefCell::new(None) };
    }
    let today = crate::support::clock::today();
    let input = serde_json::to_value(m).ok()?;
    let findings = EVALUATOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(o, _)| o != org) {
            let e = crate::generate::policy::Evaluator::embedded(
                org,
                crate::generate::policy::Clock::Fixed(today),
            )
            .ok()?;
            *cell = Some((org.clone(), e));
        }
        cell.as_mut()?.1.evaluate(&input).ok()
    })?;
    let ids = |level: crate::generate::policy::Level| {
        let mut v: Vec<String> = findings
            .iter()
            .filter(|f| f.level == level)
            .map(|f| f.id.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let deny = ids(crate::generate::policy::Level::Deny);
    Some(PolicyResult {
        passed: deny.is_empty(),
        deny,
        warn: ids(crate::generate::policy::Level::Warn),
        checked: today,
    })
}

/// Reads `.levee/policy-result.json` when present.
pub(crate) fn read_policy_result(app_dir: &Path) -> Result<Option<PolicyResult>, String> {
    let path = app_dir.join(POLICY_RESULT_FILE);
    // Inside the app, no symlink followed, a regular file of at most 1 MiB.
    let read = crate::support::appdir::AppDir::open(app_dir)
        .and_then(|d| d.read(Path::new(POLICY_RESULT_FILE), 1 << 20))
        .and_then(|b| b.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound)));
    match read {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            format!(
                "{}: not a policy result ({e}); expected {{\"passed\": bool, \"deny\": [ids], \"warn\": [ids], \"checked\": \"YYYY-MM-DD\"}}",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The current time, RFC 3339 UTC, seconds precision. `LEVEE_NOW` fixes it (tests); else
/// `LEVEE_TODAY` at midnight; else the system clock.
pub(crate) fn now() -> String {
    if let Ok(s) = std::env::var("LEVEE_NOW")
        && let Ok(t) = s.parse::<jiff::Timestamp>()
    {
        return t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    if std::env::var_os("LEVEE_TODAY").is_some() {
        return format!("{}T00:00:00Z", crate::support::clock::today());
    }
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The `origin` remote of the git checkout holding `dir` (credentials removed) and `dir`'s path
/// inside it. The URL is git's own answer ([`crate::support::git::origin_url`]: `include`d
/// config files and `insteadOf` rewriting apply), asked once per repository.
pub(crate) fn git_origin(dir: &Path) -> (Option<String>, Option<String>) {
    let Some(root) = dir.ancestors().find(|d| d.join(".git").exists()) else {
        return (None, None);
    };
    let subdir = dir.strip_prefix(root).ok().map(|p| {
        let s = p.to_string_lossy().replace('\\', "/");
        if s.is_empty() { ".".to_string() } else { s }
    });
    let url = crate::support::git::origin_url(root).map(|u| strip_credentials(&u));
    (url, subdir)
}

/// Removes `user:password@` from a URL so no token lands in the catalog.
pub(crate) fn strip_credentials(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if path.is_empty() && !rest.contains('/') {
            return format!("{scheme}://{host}");
        }
        return format!("{scheme}://{host}/{path}");
    }
    url.to_string()
}

/// Filters for `levee catalog list`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// An e-mail address (case-insensitive), or `@domain` for every owner in a domain.
    pub owner: Option<String>,
    pub classification: Option<Classification>,
    pub tier: Option<Tier>,
    pub expired: bool,
    pub expiring_within: Option<u32>,
}

impl Filter {
    pub(crate) fn matches(&self, e: &Entry, today: Date) -> bool {
        if let Some(o) = &self.owner {
            let ok = match o.strip_prefix('@') {
                Some(domain) => e
                    .owner
                    .rsplit_once('@')
                    .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain)),
                None => e.owner.eq_ignore_ascii_case(o),
            };
            if !ok {
                return false;
            }
        }
        if self.classification.is_some_and(|c| c != e.classification) {
            return false;
        }
        if self.tier.is_some_and(|t| t != e.tier) {
            return false;
        }
        if self.expired && !e.is_expired(today) {
            return false;
        }
        if let Some(n) = self.expiring_within {
            match e.days_left(today) {
                Some(d) if (0..=i64::from(n)).contains(&d) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped() {
        assert_eq!(
            strip_credentials("https://x-access-token:ghp_abc@github.com/acme/app.git"),
            "https://github.com/acme/app.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:acme/app.git"),
            "git@github.com:acme/app.git"
        );
        assert_eq!(strip_credentials("https://u@host"), "https://host");
    }

    #[test]
    fn the_origin_is_what_git_resolves_with_includes_and_insteadof() {
        let tmp = tempfile::tempdir().expect("tmp");
        let repo = tmp.path().join("repo");
        let app = repo.join("apps/one");
        std::fs::create_dir_all(&app).expect("mkdir");
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(&repo)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", tmp.path())
                .output()
                .expect("git runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["init", "-q"]);
        // The remote lives in an included file and its URL is rewritten by `insteadOf`, which
        // a reader of .git/config alone would miss twice.
        std::fs::write(
            repo.join(".git/remotes.inc"),
            "[remote \"origin\"]\n\turl = acme:team/x.git\n[url \"https://ci:tok@git.acme.corp/\"]\n\tinsteadOf = acme:\n",
        )
        .expect("write include");
        git(&["config", "include.path", "remotes.inc"]);
        let (url, subdir) = git_origin(&app);
        assert_eq!(url.as_deref(), Some("https://git.acme.corp/team/x.git"));
        assert_eq!(subdir.as_deref(), Some("apps/one"));
    }
}
