//! The org config, `levee.org.yaml`: the platform and security teams' data.
//!
//! Its shape is a public interface that teams keep across levee releases: keys are never renamed,
//! a missing key takes its default ([`Org::default`]), an unknown key is an error. The embedded
//! org, in force when no file is found, is [`Org::builtin`]: those defaults plus an example egress
//! proxy and the built-in templates' example hosts, so that a newcomer's first apps deploy.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::load::document::{self, Checked, Checker, LoadError, Loaded};
use crate::model::manifest::{
    AccessLevel, Classification, Cpu, Memory, RuntimeType, SecretProvider, Tier,
};

/// The file name levee looks for, walking up from an app directory.
pub const FILE_NAME: &str = "levee.org.yaml";

/// The org config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
#[schemars(title = "levee org config", extend("$id" = "https://levee.dev/schema/org.json"))]
pub struct Org {
    /// The organisation's short name.
    pub org: String,
    /// E-mail domains app owners must belong to; an empty list allows any domain.
    pub owner_domains: Vec<String>,
    /// The teams that review changes to generated pipelines and policies (CODEOWNERS).
    pub owners: Owners,
    /// The dataset registry: each dataset's classification and the access levels it allows.
    /// A dataset not listed here is treated as confidential.
    pub datasets: IndexMap<String, Dataset>,
    /// Outbound destinations apps may reach.
    pub egress: Egress,
    /// Caps per tier.
    pub tiers: Tiers,
    /// Secret stores allowed per classification.
    pub secret_providers: PerClassification<Vec<SecretProvider>>,
    /// Runtime types allowed per classification.
    pub allowed_runtimes: PerClassification<Vec<RuntimeType>>,
    /// Tiers whose apps may read secrets from environment variables (`provider: env`), where
    /// the classification allows it too.
    pub env_secret_tiers: Vec<Tier>,
    /// When an app must escalate to a higher tier and an engineering hand-off.
    pub escalation: Escalation,
    /// The generated pipelines' pinned actions, tool versions and images, and how CI installs
    /// levee.
    pub ci: crate::model::ci::CiSettings,
    /// Where and how apps run in Kubernetes: namespaces, runtime classes, the egress proxy,
    /// telemetry, and the admission policy form (`levee deploy`, the `deploy/` managed files).
    pub sandbox: crate::model::sandbox_config::SandboxConfig,
    /// The app catalog.
    pub catalog: CatalogConfig,
}

/// Where the app catalog lives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// The catalog directory (one JSON file per app), relative to this file's directory
    /// (default: `catalog` in the working directory). `--catalog DIR` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
}

/// CODEOWNERS handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Owners {
    /// The platform team (`@acme/platform`).
    pub platform: String,
    /// The security team (`@acme/security`).
    pub security: String,
}

impl Default for Owners {
    fn default() -> Self {
        Owners {
            platform: "@platform-team".into(),
            security: "@security-team".into(),
        }
    }
}

/// A dataset in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// How sensitive the dataset is.
    pub classification: Classification,
    /// The access levels apps may request (default: read only).
    #[serde(default = "read_only")]
    pub allowed_access: Vec<AccessLevel>,
}

fn read_only() -> Vec<AccessLevel> {
    vec![AccessLevel::Read]
}

/// Approved outbound destinations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Egress {
    /// Hostnames apps may call; `*.acme.corp` matches any subdomain.
    pub approved: Vec<String>,
}

/// Caps for each tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tiers {
    pub prototype: TierCaps,
    pub sandbox: TierCaps,
    pub production: TierCaps,
}

/// Caps for one tier. A missing key takes the tier's default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TierCaps {
    /// Most CPU an app of this tier may request (cores or millicores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cpu: Option<Cpu>,
    /// Most memory (`512Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<Memory>,
    /// Longest single run, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runtime_minutes: Option<u32>,
    /// Longest an app of this tier may live, in days (prototypes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lifetime_days: Option<u32>,
    /// The lifetime `levee new` proposes, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lifetime_days: Option<u32>,
    /// The most sensitive data an app of this tier may touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_classification: Option<Classification>,
}

impl Default for Tiers {
    fn default() -> Self {
        Tiers {
            prototype: TierCaps::builtin(Tier::Prototype),
            sandbox: TierCaps::builtin(Tier::Sandbox),
            production: TierCaps::builtin(Tier::Production),
        }
    }
}

impl TierCaps {
    /// levee's defaults for a tier.
    pub(crate) fn builtin(tier: Tier) -> TierCaps {
        match tier {
            Tier::Prototype => TierCaps {
                max_cpu: Some(Cpu(500)),
                max_memory: Some(Memory(512 << 20)),
                max_runtime_minutes: Some(120),
                max_lifetime_days: Some(90),
                default_lifetime_days: Some(30),
                max_classification: Some(Classification::Internal),
            },
            Tier::Sandbox => TierCaps {
                max_cpu: Some(Cpu(1000)),
                max_memory: Some(Memory(1 << 30)),
                max_runtime_minutes: None,
                max_lifetime_days: None,
                default_lifetime_days: None,
                max_classification: Some(Classification::Confidential),
            },
            Tier::Production => TierCaps {
                max_cpu: Some(Cpu(4000)),
                max_memory: Some(Memory(4 << 30)),
                max_runtime_minutes: None,
                max_lifetime_days: None,
                default_lifetime_days: None,
                max_classification: Some(Classification::Restricted),
            },
        }
    }

    /// These caps with every missing key taken from `defaults`.
    fn or(&self, defaults: &TierCaps) -> TierCaps {
        TierCaps {
            max_cpu: self.max_cpu.or(defaults.max_cpu),
            max_memory: self.max_memory.or(defaults.max_memory),
            max_runtime_minutes: self.max_runtime_minutes.or(defaults.max_runtime_minutes),
            max_lifetime_days: self.max_lifetime_days.or(defaults.max_lifetime_days),
            default_lifetime_days: self
                .default_lifetime_days
                .or(defaults.default_lifetime_days),
            max_classification: self.max_classification.or(defaults.max_classification),
        }
    }
}

/// A value for each classification. A missing key takes levee's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerClassification<T> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidential: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<T>,
}

impl<T> PerClassification<T> {
    pub(crate) fn get(&self, c: Classification) -> Option<&T> {
        match c {
            Classification::Public => self.public.as_ref(),
            Classification::Internal => self.internal.as_ref(),
            Classification::Confidential => self.confidential.as_ref(),
            Classification::Restricted => self.restricted.as_ref(),
        }
    }

    fn all(public: T, internal: T, confidential: T, restricted: T) -> Self {
        PerClassification {
            public: Some(public),
            internal: Some(internal),
            confidential: Some(confidential),
            restricted: Some(restricted),
        }
    }
}

impl Default for PerClassification<Vec<SecretProvider>> {
    fn default() -> Self {
        use SecretProvider::*;
        PerClassification::all(
            vec![Env, Vault, AwsSecretsManager],
            vec![Env, Vault, AwsSecretsManager],
            vec![Vault, AwsSecretsManager],
            vec![Vault],
        )
    }
}

impl Default for PerClassification<Vec<RuntimeType>> {
    fn default() -> Self {
        use RuntimeType::*;
        PerClassification::all(
            vec![SandboxedContainer, HardenedContainer, Wasm],
            vec![SandboxedContainer, HardenedContainer, Wasm],
            vec![HardenedContainer],
            vec![HardenedContainer],
        )
    }
}

/// Escalation thresholds (the playbook's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    /// Escalate above this many active users a month.
    pub active_users_month: u64,
    /// Escalate above this P95 latency, in milliseconds.
    pub p95_latency_ms: u64,
    /// Escalate above this monthly cost, in US dollars.
    pub monthly_cost_usd: f64,
    /// Escalate on any open vulnerability of these severities.
    pub vulnerability_severities: Vec<Severity>,
    /// Escalate a prototype that touches data of these classifications.
    pub data_classifications: Vec<Classification>,
}

crate::model::manifest::string_enum!(
    /// A vulnerability severity.
    Severity { Low = "low", Medium = "medium", High = "high", Critical = "critical" }
);

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            active_users_month: 1000,
            p95_latency_ms: 500,
            monthly_cost_usd: 500.0,
            vulnerability_severities: vec![Severity::High, Severity::Critical],
            data_classifications: vec![Classification::Confidential, Classification::Restricted],
        }
    }
}

impl Default for Org {
    fn default() -> Self {
        Org {
            org: "example".into(),
            owner_domains: Vec::new(),
            owners: Owners::default(),
            datasets: IndexMap::new(),
            egress: Egress::default(),
            tiers: Tiers::default(),
            secret_providers: PerClassification::default(),
            allowed_runtimes: PerClassification::default(),
            env_secret_tiers: vec![Tier::Prototype],
            escalation: Escalation::default(),
            ci: crate::model::ci::CiSettings::default(),
            sandbox: crate::model::sandbox_config::SandboxConfig::default(),
            catalog: CatalogConfig::default(),
        }
    }
}

/// The hosts the built-in templates name in their examples (`DOWNSTREAM_URL`,
/// `DASHBOARD_DATA_SOURCE`), which the embedded org approves. `example.com` is reserved for
/// documentation (RFC 2606): nothing real is reached through them.
pub const BUILTIN_EXAMPLE_HOSTS: [&str; 2] = ["api.payments.example.com", "reports.example.com"];

impl Org {
    /// The org in force when no `levee.org.yaml` is found: every key's default ([`Org::default`],
    /// which is also what a file's missing keys take), plus what a newcomer's first apps need
    /// to deploy on it: the built-in templates' example hosts approved for egress
    /// ([`BUILTIN_EXAMPLE_HOSTS`]), and an example egress proxy that enforces the allow-list (a
    /// NetworkPolicy cannot name hosts). Nothing is looser than the defaults: only the two
    /// example hosts are approved, and an app's traffic goes through the proxy or nowhere.
    pub fn builtin() -> Org {
        let mut org = Org::default();
        org.egress.approved = BUILTIN_EXAMPLE_HOSTS.map(String::from).to_vec();
        org.sandbox.egress_proxy = Some(crate::model::sandbox_config::EgressProxy::example());
        org
    }

    /// The caps of a tier, every key filled in from levee's defaults.
    pub fn tier(&self, tier: Tier) -> TierCaps {
        let set = match tier {
            Tier::Prototype => &self.tiers.prototype,
            Tier::Sandbox => &self.tiers.sandbox,
            Tier::Production => &self.tiers.production,
        };
        set.or(&TierCaps::builtin(tier))
    }

    /// A dataset's classification for an app classified `app`, as the policy counts it: an
    /// unregistered dataset is restricted for confidential and restricted apps and confidential
    /// for the others (never less sensitive than it could be).
    pub fn dataset_classification(&self, name: &str, app: Classification) -> Classification {
        self.datasets.get(name).map_or(
            if app >= Classification::Confidential {
                Classification::Restricted
            } else {
                Classification::Confidential
            },
            |d| d.classification,
        )
    }

    /// Secret providers allowed for a classification.
    pub(crate) fn secret_providers(&self, c: Classification) -> Vec<SecretProvider> {
        self.secret_providers.get(c).cloned().unwrap_or_else(|| {
            PerClassification::<Vec<SecretProvider>>::default()
                .get(c)
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Runtime types allowed for a classification.
    pub(crate) fn allowed_runtimes(&self, c: Classification) -> Vec<RuntimeType> {
        self.allowed_runtimes.get(c).cloned().unwrap_or_else(|| {
            PerClassification::<Vec<RuntimeType>>::default()
                .get(c)
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Is `email`'s domain one of the org's?
    pub fn owner_domain_allowed(&self, email: &str) -> bool {
        if self.owner_domains.is_empty() {
            return true;
        }
        let domain = email
            .rsplit_once('@')
            .map_or("", |(_, d)| d)
            .to_ascii_lowercase();
        self.owner_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&domain))
    }

    /// Is `host` on the approved egress list (with `*.` wildcards)?
    pub fn egress_approved(&self, host: &str) -> bool {
        self.egress.approved.iter().any(|a| host_matches(a, host))
    }
}

/// Does the approved pattern `pattern` (`api.acme.corp` or `*.acme.corp`) cover `host`?
/// A wildcard covers subdomains at any depth, not the bare domain.
pub(crate) fn host_matches(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            let requested = host.strip_prefix("*.").unwrap_or(&host);
            requested.ends_with(&format!(".{suffix}"))
                || (host.starts_with("*.") && requested == suffix)
        }
        None => host == pattern,
    }
}

impl Checked for Org {
    const NOUN: &'static str = "org config";
    const MULTILINE: &'static [&'static str] = &[
        "/ci/deploy/command",
        "/ci/deploy/smoke",
        "/ci/deploy/telemetry",
    ];

    fn validator() -> &'static jsonschema::Validator {
        static V: OnceLock<jsonschema::Validator> = OnceLock::new();
        V.get_or_init(|| crate::load::schema::compile(Self::schema()))
    }

    fn schema() -> &'static Value {
        static S: OnceLock<Value> = OnceLock::new();
        S.get_or_init(|| {
            crate::model::shape::committed(
                include_str!("../../schemas/org.schema.json"),
                crate::load::schema::generate::<Org>,
            )
        })
    }

    fn check(cx: &mut Checker<'_>) {
        crate::model::sandbox_config::check_org(cx);
        crate::model::ci::check_org(cx);
        crate::model::upgrade_job::check_org(cx);
        if let Some(Value::Array(domains)) = cx.get("/owner_domains") {
            for (i, d) in domains.iter().enumerate() {
                if let Value::String(s) = d
                    && !crate::model::manifest::is_hostname(s)
                {
                    let s = s.clone();
                    cx.error(
                        &format!("/owner_domains/{i}"),
                        format!("`{s}` is not a domain"),
                        "list bare e-mail domains, like `acme.corp`",
                    );
                }
            }
        }
        if let Some(Value::Object(datasets)) = cx.get("/datasets") {
            for name in datasets.keys() {
                if !crate::model::manifest::is_slug(name) {
                    cx.error(
                        &format!("/datasets/{}", crate::load::field_path::escape(name)),
                        format!("`{name}` is not a dataset name: dataset names are lowercase letters, digits and hyphens"),
                        "rename the dataset (manifests name datasets exactly as the registry does)",
                    );
                }
            }
        }
        if let Some(Value::Array(hosts)) = cx.get("/egress/approved") {
            for (i, h) in hosts.iter().enumerate() {
                if let Value::String(s) = h
                    && !crate::model::manifest::is_hostname(s.strip_prefix("*.").unwrap_or(s))
                {
                    let s = s.clone();
                    cx.error(
                        &format!("/egress/approved/{i}"),
                        format!("`{s}` is not a hostname or `*.domain` wildcard"),
                        "list hostnames without scheme, port or path",
                    );
                }
            }
        }
        for tier in Tier::ALL {
            let base = format!("/tiers/{tier}");
            if let Some(v) = cx.get(&format!("{base}/max_cpu")).cloned()
                && let Err(e) = Cpu::parse_value(&v)
            {
                cx.error(
                    &format!("{base}/max_cpu"),
                    e,
                    "cores (`0.5`) or millicores (`\"500m\"`)",
                );
            }
            if let Some(Value::String(m)) = cx.get(&format!("{base}/max_memory"))
                && let Err(e) = Memory::parse(m)
            {
                cx.error(
                    &format!("{base}/max_memory"),
                    e,
                    "a Kubernetes quantity, like `512Mi`",
                );
            }
            let max = cx
                .get(&format!("{base}/max_lifetime_days"))
                .and_then(Value::as_u64);
            let default = cx
                .get(&format!("{base}/default_lifetime_days"))
                .and_then(Value::as_u64);
            let builtin = TierCaps::builtin(*tier);
            let max = max.or(builtin.max_lifetime_days.map(u64::from));
            if let (Some(max), Some(default)) = (max, default)
                && default > max
            {
                cx.error(
                        &format!("{base}/default_lifetime_days"),
                        format!("the default lifetime ({default} days) is longer than the maximum ({max} days)"),
                        "make `default_lifetime_days` at most `max_lifetime_days`",
                    );
            }
        }
    }

    fn passes_compiled_schema(value: &Value) -> bool {
        crate::model::shape::OrgShape::is_valid(value)
    }
}

/// Where the org config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgSource {
    /// A file (from `--org`, `LEVEE_ORG`, or found walking up).
    File(PathBuf),
    /// levee's embedded default.
    Default,
}

/// The org config in force and where it came from.
#[derive(Debug, Clone)]
pub struct ResolvedOrg {
    pub org: Org,
    pub source: OrgSource,
    pub loaded: Option<Loaded<Org>>,
}

/// Finds and loads the org config: `explicit` (from `--org` or `LEVEE_ORG`), else the nearest
/// `levee.org.yaml` at or above `start`, else the embedded default.
pub fn resolve(explicit: Option<&Path>, start: &Path) -> Result<ResolvedOrg, LoadError> {
    match locate(explicit, start) {
        Some(path) => {
            let loaded = document::load::<Org>(&path)?;
            Ok(ResolvedOrg {
                org: loaded.value.clone(),
                source: OrgSource::File(path),
                loaded: Some(loaded),
            })
        }
        None => Ok(ResolvedOrg {
            org: Org::builtin(),
            source: OrgSource::Default,
            loaded: None,
        }),
    }
}

/// Which org config file [`resolve`] would load (`None`: the embedded default), without loading
/// it: callers handling many apps load each file once.
pub(crate) fn locate(explicit: Option<&Path>, start: &Path) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => find_upwards(start),
    }
}

/// The environment variable that bounds the upward search: directories (separated as in
/// `PATH`) the search stops below, looking neither in them nor above, as git does with
/// `GIT_CEILING_DIRECTORIES`. A CI
/// runner whose checkouts share a parent, or a test in a temporary directory, keeps a
/// `levee.org.yaml` further up from applying.
pub const CEILING_ENV: &str = "LEVEE_ORG_CEILING_DIRECTORIES";

fn find_upwards(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() {
        start.parent()?.to_path_buf()
    } else {
        start.to_path_buf()
    };
    let abs = std::path::absolute(&start).unwrap_or(start);
    let ceilings: Vec<PathBuf> = std::env::var_os(CEILING_ENV)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| p.is_absolute())
                .collect()
        })
        .unwrap_or_default();
    abs.ancestors()
        .take_while(|dir| !ceilings.iter().any(|c| c == dir))
        .map(|dir| dir.join(FILE_NAME))
        .find(|file| file.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(host_matches(
            "*.internal.acme.corp",
            "hr.internal.acme.corp"
        ));
        assert!(host_matches(
            "*.internal.acme.corp",
            "a.b.internal.acme.corp"
        ));
        assert!(!host_matches("*.internal.acme.corp", "internal.acme.corp"));
        assert!(!host_matches(
            "*.internal.acme.corp",
            "evilinternal.acme.corp"
        ));
        assert!(host_matches("api.acme.corp", "API.acme.corp"));
    }

    #[test]
    fn tier_caps_fill_in() {
        let mut org = Org::default();
        org.tiers.prototype = TierCaps {
            max_cpu: Some(Cpu(250)),
            ..TierCaps::default()
        };
        let caps = org.tier(Tier::Prototype);
        assert_eq!(caps.max_cpu, Some(Cpu(250)));
        assert_eq!(caps.max_lifetime_days, Some(90));
    }
}
