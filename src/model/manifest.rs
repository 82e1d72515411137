//! The app manifest, `app.yaml`: the one file that drives everything levee does for an app.
//!
//! The types here are the published shape (`levee schema manifest` is generated from them). The
//! meaning checks in [`check`] read the parsed YAML tree rather than the typed value, so that every
//! problem in a file is reported at once, each at its own line and column.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::load::document::Checker;
pub use crate::support::clock::Date;

/// The first line of every `app.yaml` levee writes, so editors complete and check the file.
pub const SCHEMA_COMMENT: &str =
    "# yaml-language-server: $schema=https://levee.dev/schema/manifest.json";

/// An app manifest (`app.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "levee app manifest", extend("$id" = "https://levee.dev/schema/manifest.json"))]
pub struct Manifest {
    /// The app's id: lowercase letters, digits and dashes, starting with a letter (2 to 63
    /// characters). It names the app everywhere: catalog, pipeline, policy, deployment.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{1,62}$"))]
    pub name: String,
    /// One sentence a colleague understands: what the app does and for whom (at most 500
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub description: Option<String>,
    /// The e-mail address of the person accountable for the app.
    #[schemars(email)]
    pub owner: String,
    /// The team that owns the app (required for production), written as the catalog and
    /// Kubernetes labels use it: letters and digits, words joined by single dashes, dots or
    /// underscores (`finance-ops`), at most 63 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        regex(pattern = r"^[A-Za-z0-9]+([-_.][A-Za-z0-9]+)*$"),
        length(max = 63)
    )]
    pub team: Option<String>,
    /// What the app is: a kind its template pack declares (the built-in pack: a dashboard, a
    /// form with approvals, or a webhook integration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The language stack of the starter app: a stack its template pack declares (the built-in
    /// pack: node or python).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<Stack>,
    /// The most sensitive data the app handles.
    pub classification: Classification,
    /// Single sign-on: `oidc`, or a mapping with the issuer, groups and scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<Sso>,
    /// Where and how the app runs: sandbox type, resource caps, outbound network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// Secrets the app reads, by name and store. Never a value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// Non-secret settings the app reads from its environment, `NAME: value`
    /// (`DOWNSTREAM_URL: https://api.acme.corp/events`): `deploy/` passes each one to the app as
    /// an environment variable. Names are UPPER_SNAKE_CASE; a credential belongs under `secrets`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(
        extend("propertyNames" = crate::model::settings::name_schema()),
        extend("maxProperties" = crate::model::settings::MAX_SETTINGS),
        extend("additionalProperties" = crate::model::settings::value_schema())
    )]
    pub settings: IndexMap<String, String>,
    /// Datasets the app reads or writes, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_access: Vec<DataAccess>,
    /// The app's tier and dates.
    pub lifecycle: Lifecycle,
    /// Who pays, and roughly how much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The CI system the pipeline is generated for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<Ci>,
    /// The template the app was scaffolded from (written by `levee new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    /// The kinds and stacks of the app's template pack (not part of the file: read from the
    /// app's `.levee/` record, or given by `levee new` from the pack), which the pipeline's build
    /// steps and the catalog come from. Unset: the built-in pack's.
    #[serde(skip)]
    #[schemars(skip)]
    pub declared: Declared,
}

/// The declarations a manifest was read with ([`Manifest::declared`]). Two manifests that say
/// the same are equal whatever their pack declares.
#[derive(Debug, Clone, Default)]
pub struct Declared(pub Option<std::sync::Arc<crate::load::declarations::Declarations>>);

impl PartialEq for Declared {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Declared {
    /// The declarations, or the built-in ones.
    pub(crate) fn get(&self) -> &crate::load::declarations::Declarations {
        self.0
            .as_deref()
            .unwrap_or_else(|| crate::load::declarations::builtin())
    }

    /// Declarations given by a pack.
    pub fn of(d: crate::load::declarations::Declarations) -> Declared {
        Declared(Some(std::sync::Arc::new(d)))
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The manifest spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{s}` is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use string_enum;

macro_rules! declared_name {
    ($(#[$m:meta])* $name:ident, $what:literal, $plural:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The manifest spelling.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                if crate::load::declarations::is_id(s) {
                    Ok($name(s.to_string()))
                } else {
                    Err(format!(
                        "`{s}` is not a {} name: lowercase letters, digits and dashes, starting with a letter",
                        $what
                    ))
                }
            }
        }

        impl From<&str> for $name {
            /// For names known to be well-formed (levee's own); anything else is refused by the
            /// manifest's checks when it is written or read.
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": "string",
                    "pattern": "^[a-z]([a-z0-9]|-[a-z0-9])*$",
                    "maxLength": 40,
                    "description": format!(
                        "One of the {} the app's template pack declares (`levee templates list`; the built-in pack: {}).",
                        $plural,
                        builtin_names($what).join(", ")
                    ),
                })
            }
        }
    };
}

declared_name!(
    /// What the app is: a kind the app's template pack declares (`dashboard`, `scheduled-job`).
    Kind, "kind", "kinds"
);
declared_name!(
    /// The language stack: a stack the app's template pack declares (`node`, `go`).
    Stack, "stack", "stacks"
);

fn builtin_names(what: &str) -> Vec<String> {
    let b = crate::load::declarations::builtin();
    if what == "kind" {
        b.kind_names()
    } else {
        b.stack_names()
    }
}
string_enum!(
    /// Data classification, least to most sensitive.
    Classification {
        /// Anyone may see it.
        Public = "public",
        /// Staff only; harmless if leaked.
        Internal = "internal",
        /// Customer, employee or financial data; harmful if leaked.
        Confidential = "confidential",
        /// Regulated or secret data; severe harm if leaked.
        Restricted = "restricted",
    }
);
string_enum!(
    /// The runtime tier, from a short-lived prototype to a production service.
    Tier { Prototype = "prototype", Sandbox = "sandbox", Production = "production" }
);
string_enum!(
    /// Where a secret is stored.
    SecretProvider { Vault = "vault", AwsSecretsManager = "aws-secrets-manager", Env = "env" }
);
string_enum!(
    /// What an app may do with a dataset.
    AccessLevel { Read = "read", Write = "write", Admin = "admin" }
);
string_enum!(
    /// The CI system.
    Ci { Github = "github", Gitlab = "gitlab" }
);
string_enum!(
    /// The sandbox the app runs in.
    RuntimeType {
        /// A short-lived container with caps and an egress allow-list.
        SandboxedContainer = "sandboxed-container",
        /// An isolated container for sensitive data: dedicated namespace, strict egress.
        HardenedContainer = "hardened-container",
        /// A WebAssembly runtime.
        Wasm = "wasm",
    }
);
string_enum!(
    /// The single sign-on protocol.
    SsoProvider { Oidc = "oidc" }
);

impl Classification {
    /// One line a non-developer can act on.
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Classification::Public => "anyone may see it (published figures, office addresses)",
            Classification::Internal => "staff only, harmless if leaked (team schedules, wikis)",
            Classification::Confidential => {
                "harmful if leaked: customer, employee or financial data"
            }
            Classification::Restricted => {
                "regulated or secret: health, payment card, credentials; severe harm if leaked"
            }
        }
    }
}

/// Single sign-on settings. `sso: oidc` is shorthand for `{provider: oidc}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sso {
    pub provider: SsoProvider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// The two spellings of `sso`.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum SsoRepr {
    /// Shorthand: the provider only.
    Provider(SsoProvider),
    /// The full form.
    Full(SsoFull),
}

/// Single sign-on in full.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SsoFull {
    /// The protocol; `oidc`.
    provider: SsoProvider,
    /// The OpenID Connect issuer URL (https).
    #[serde(default)]
    #[schemars(regex(pattern = r"^(https://|http://localhost[:/]|http://127\.0\.0\.1[:/])"))]
    issuer: Option<String>,
    /// Groups allowed to use the app (required for confidential and restricted apps).
    #[serde(default)]
    groups: Vec<String>,
    /// OAuth scopes requested at login.
    #[serde(default)]
    scopes: Vec<String>,
}

impl<'de> Deserialize<'de> for Sso {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match SsoRepr::deserialize(d)? {
            SsoRepr::Provider(provider) => Sso {
                provider,
                issuer: None,
                groups: Vec::new(),
                scopes: Vec::new(),
            },
            SsoRepr::Full(f) => Sso {
                provider: f.provider,
                issuer: f.issuer,
                groups: f.groups,
                scopes: f.scopes,
            },
        })
    }
}

impl JsonSchema for Sso {
    fn schema_name() -> Cow<'static, str> {
        "Sso".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        SsoRepr::json_schema(generator)
    }
}

/// The runtime sandbox and its caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Runtime {
    /// The sandbox type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RuntimeType>,
    /// CPU cap in cores (`0.25`) or millicores (`"250m"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<Cpu>,
    /// Memory cap as a Kubernetes quantity (`256Mi`, `1Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<Memory>,
    /// The longest a single run (request or job) may take, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_runtime_minutes: Option<u32>,
    /// Outbound destinations the app may reach (hostnames; `*.acme.corp` wildcards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(
        pattern = r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$"
    )))]
    pub egress: Vec<String>,
}

/// A secret the app reads at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    /// The name the app asks for, like an environment variable (`PAYMENT_API_KEY`).
    #[schemars(regex(pattern = r"^[A-Z_][A-Z0-9_]*$"))]
    pub name: String,
    /// The store that holds it.
    pub provider: SecretProvider,
    /// Where it lives in the store (Vault path, AWS secret id); defaults to `<app>/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Access to one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataAccess {
    /// The dataset's name in the org's registry: lowercase letters, digits and hyphens.
    #[schemars(regex(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$"))]
    pub dataset: String,
    /// What the app does with it.
    pub access_level: AccessLevel,
    /// Why the app needs it, in plain words (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    pub purpose: Option<String>,
}

/// The app's tier and dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// prototype (short-lived), sandbox, or production.
    pub tier: Tier,
    /// When the app was created (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Date>,
    /// When the app expires (YYYY-MM-DD); prototypes must have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
}

/// Cost attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// The cost center that pays for the app (at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub center: Option<String>,
    /// Estimated monthly cloud cost in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub estimated_monthly_usd: Option<f64>,
}

/// The template an app was scaffolded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// The template id (`form-node`).
    pub id: String,
    /// The pack version (semver).
    pub version: String,
    /// `builtin`, a directory, or a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A CPU amount in millicores. Written as cores (`0.25`, `1`) or millicores (`"250m"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cpu(pub u32);

impl Cpu {
    pub(crate) fn parse_value(v: &Value) -> Result<Cpu, String> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| "not a number".to_string())
                .and_then(Cpu::from_cores),
            Value::String(s) => Cpu::parse(s),
            _ => Err("expected a number of cores (`0.25`) or millicores (`\"250m\"`)".into()),
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Cpu, String> {
        if let Some(m) = s.strip_suffix('m') {
            return match m.parse::<u32>() {
                Ok(0) => Err("a CPU limit must be more than zero".into()),
                Ok(n) if m.bytes().all(|b| b.is_ascii_digit()) => Ok(Cpu(n)),
                _ => Err(format!("`{s}` is not a CPU amount")),
            };
        }
        let cores: f64 = s
            .parse()
            .map_err(|_| format!("`{s}` is not a CPU amount"))?;
        Cpu::from_cores(cores)
    }

    fn from_cores(cores: f64) -> Result<Cpu, String> {
        if !cores.is_finite() || cores <= 0.0 {
            return Err("a CPU limit must be a positive number of cores".into());
        }
        if cores > 1024.0 {
            return Err(format!("{cores} cores is more than any sandbox offers"));
        }
        let milli = cores * 1000.0;
        if (milli - milli.round()).abs() > 1e-6 {
            return Err(format!(
                "{cores} cores is finer than a millicore; round it to three decimals"
            ));
        }
        Ok(Cpu(milli.round() as u32))
    }

    /// Cores as a float (`0.25`).
    pub(crate) fn cores(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl fmt::Display for Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}", self.0 / 1000)
        } else {
            write!(f, "{}m", self.0)
        }
    }
}

impl Serialize for Cpu {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.cores())
    }
}

impl<'de> Deserialize<'de> for Cpu {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Cpu::parse_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Cpu {
    fn schema_name() -> Cow<'static, str> {
        "Cpu".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "CPU in cores (0.25) or millicores (\"250m\").",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": "^([1-9][0-9]*m|[0-9]+(\\.[0-9]+)?)$"}
            ]
        })
    }
}

/// A memory amount in bytes, written as a Kubernetes quantity (`256Mi`, `1Gi`, `512M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Memory(pub u64);

const MEMORY_UNITS: &[(&str, u64)] = &[
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
];

impl Memory {
    pub(crate) fn parse(s: &str) -> Result<Memory, String> {
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(digits_end);
        let n: u64 = num.parse().map_err(|_| {
            format!("`{s}` is not a memory amount; write a whole number and a unit, like `256Mi`")
        })?;
        if unit.is_empty() {
            return Err(format!(
                "`{s}` has no unit, so it would mean {s} bytes; write `{s}Mi` for mebibytes"
            ));
        }
        let Some((_, mult)) = MEMORY_UNITS.iter().find(|(u, _)| *u == unit) else {
            let suggestion = match unit.to_ascii_lowercase().as_str() {
                "mb" | "mib" | "m" => Some("Mi"),
                "gb" | "gib" | "g" => Some("Gi"),
                "kb" | "kib" | "k" => Some("Ki"),
                "tb" | "tib" | "t" => Some("Ti"),
                _ => None,
            };
            return Err(match suggestion {
                Some(u) => format!("`{s}` is not a Kubernetes quantity: did you mean `{n}{u}`?"),
                None => format!(
                    "`{s}` is not a Kubernetes quantity (units: Ki, Mi, Gi, Ti, k, M, G, T)"
                ),
            });
        };
        if n == 0 {
            return Err("a memory limit must be more than zero".into());
        }
        n.checked_mul(*mult)
            .map(Memory)
            .ok_or_else(|| format!("`{s}` is too large"))
    }
}

impl fmt::Display for Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, mult) in MEMORY_UNITS.iter().take(4).rev() {
            if self.0.is_multiple_of(*mult) {
                return write!(f, "{}{unit}", self.0 / mult);
            }
        }
        for (unit, mult) in MEMORY_UNITS.iter().skip(4).rev() {
            if self.0.is_multiple_of(*mult) {
                return write!(f, "{}{unit}", self.0 / mult);
            }
        }
        write!(f, "{}", self.0)
    }
}

impl Serialize for Memory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Memory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Memory::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Memory {
    fn schema_name() -> Cow<'static, str> {
        "Memory".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes memory quantity: 256Mi, 1Gi.",
            "type": "string",
            "pattern": "^[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)$"
        })
    }
}

impl Manifest {
    /// What the app's pack declares for its kind (none without a kind, or for a kind the pack
    /// does not declare).
    pub(crate) fn kind_spec(&self) -> Option<crate::load::declarations::KindSpec> {
        let kind = self.kind.as_ref()?;
        self.declared.get().kinds.get(kind.as_str()).cloned()
    }

    /// The SSO groups, if any.
    pub fn sso_groups(&self) -> &[String] {
        self.sso.as_ref().map_or(&[], |s| &s.groups)
    }

    /// The runtime, or an empty one.
    pub fn runtime(&self) -> Runtime {
        self.runtime.clone().unwrap_or(Runtime {
            kind: None,
            cpu_limit: None,
            mem_limit: None,
            max_runtime_minutes: None,
            egress: Vec::new(),
        })
    }

    /// Serializes to YAML (plain, without comments).
    pub fn to_yaml(&self) -> String {
        crate::load::yaml::quote_yaml11_scalars(&serde_norway::to_string(self).unwrap_or_default())
    }
}

/// Is `s` an e-mail address? (A practical check, not RFC 5322: one `@`, a dotted domain, no
/// spaces or control characters.)
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-'".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.');
    local_ok && is_hostname(domain) && domain.contains('.')
}

/// Is `s` a DNS hostname (labels of letters, digits and dashes)?
pub(crate) fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Turns free text into a valid app name, for hints (`Expense Tracker!` -> `expense-tracker`).
pub(crate) fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    let out = out
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .to_string();
    let mut out: String = out.chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.len() < 2 { "my-app".into() } else { out }
}

/// Is `s` a team name as written in the catalog (a Backstage group) and in Kubernetes labels,
/// unchanged: letters and digits, words joined by single `-`, `.` or `_`, at most 63 characters.
pub(crate) fn is_team_name(s: &str) -> bool {
    s.len() <= 63
        && !s.is_empty()
        && s.split(['-', '.', '_'])
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A team name close to `s`, for hints (`Finance Ops` -> `finance-ops`).
pub(crate) fn team_slug(s: &str) -> String {
    let words: Vec<String> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let slug: String = words.join("-").chars().take(63).collect();
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "my-team".into()
    } else {
        slug
    }
}

/// Checks a name against `^[a-z][a-z0-9-]{1,62}$`.
pub(crate) fn is_valid_name(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=63).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Is `s` a dataset name: lowercase letters and digits, in words joined by single hyphens
/// (`payroll`, `office-hours`)? The policy's `is_slug` (policies/lib.rego) says the same.
pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The meaning checks: everything the schema cannot say, each at its own position.
pub(crate) fn check(cx: &mut Checker<'_>) {
    check_declared(cx);
    if let Some(Value::String(name)) = cx.get("/name")
        && !is_valid_name(name)
    {
        let name = name.clone();
        cx.error(
            "/name",
            format!("`{}` is not a valid app name", truncate(&name)),
            format!(
                "use 2 to 63 lowercase letters, digits and dashes, starting with a letter: `{}`",
                slugify(&name)
            ),
        );
    }
    if let Some(Value::String(team)) = cx.get("/team")
        && !is_team_name(team)
    {
        let team = team.clone();
        cx.error(
            "/team",
            format!(
                "`{}` is not a team name levee can use as written",
                truncate(&team)
            ),
            format!(
                "write it like `{}`: letters and digits, words joined by single dashes, dots or underscores, at most 63 characters (the catalog and Kubernetes labels take it as is)",
                team_slug(&team)
            ),
        );
    }
    if let Some(Value::String(owner)) = cx.get("/owner")
        && !is_email(owner)
    {
        let owner = owner.clone();
        cx.error(
            "/owner",
            format!("`{}` is not an e-mail address", truncate(&owner)),
            "the owner is the accountable person's work e-mail, like `jane.doe@acme.corp`",
        );
    }
    if let Some(v) = cx.get("/runtime/cpu_limit").cloned()
        && let Err(e) = Cpu::parse_value(&v)
    {
        cx.error(
            "/runtime/cpu_limit",
            e,
            "write cores as a number (`0.25`, `1`) or millicores as text (`\"250m\"`)",
        );
    }
    if let Some(Value::String(m)) = cx.get("/runtime/mem_limit")
        && let Err(e) = Memory::parse(m)
    {
        cx.error(
            "/runtime/mem_limit",
            e,
            "Kubernetes quantities use Ki, Mi, Gi (powers of 1024) or k, M, G (powers of 1000)",
        );
    }
    if let Some(Value::Array(egress)) = cx.get("/runtime/egress").cloned() {
        for (i, e) in egress.iter().enumerate() {
            if let Value::String(host) = e {
                let bare = host.strip_prefix("*.").unwrap_or(host);
                if !is_hostname(bare) {
                    cx.error(
                        &format!("/runtime/egress/{i}"),
                        format!("`{}` is not a hostname", truncate(host)),
                        "list hostnames only (`api.payments.acme.corp`, `*.internal.acme.corp`), without scheme, port or path",
                    );
                }
            }
        }
    }
    check_secrets(cx);
    check_settings(cx);
    check_dates(cx);
    check_datasets(cx);
    check_yaml11(cx);
    if let Some(Value::String(issuer)) = cx.get("/sso/issuer") {
        let local =
            issuer.starts_with("http://localhost") || issuer.starts_with("http://127.0.0.1");
        if !issuer.starts_with("https://") && !local {
            let issuer = issuer.clone();
            cx.error(
                "/sso/issuer",
                format!("the SSO issuer `{}` is not an https URL", truncate(&issuer)),
                "use the https URL of your identity provider, like `https://login.acme.corp`",
            );
        }
    }
}

fn check_secrets(cx: &mut Checker<'_>) {
    let Some(Value::Array(secrets)) = cx.get("/secrets").cloned() else {
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        let Value::Object(map) = s else { continue };
        if map.contains_key("value") {
            cx.error(
                &format!("/secrets/{i}/value"),
                "a secret's value never goes in app.yaml",
                "store the value in a secret store and name the store: `provider: vault` or `aws-secrets-manager` (`env` reads it from the environment, for prototypes); the app fetches it at run time",
            );
        }
        if let Some(Value::String(name)) = map.get("name") {
            let env_like = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && !name.as_bytes()[0].is_ascii_digit();
            if !env_like {
                cx.error(
                    &format!("/secrets/{i}/name"),
                    format!(
                        "`{}` does not look like an environment variable name",
                        truncate(name)
                    ),
                    format!(
                        "use capital letters, digits and underscores: `{}`",
                        name.to_ascii_uppercase()
                            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
                    ),
                );
            } else if seen.contains(&name.as_str()) {
                cx.error(
                    &format!("/secrets/{i}/name"),
                    format!("the secret `{name}` is listed twice"),
                    "list each secret once",
                );
            }
            seen.push(name);
        }
    }
}

/// `settings`: each name and value by the rules of [`crate::model::settings`], each problem at its own
/// key or value.
fn check_settings(cx: &mut Checker<'_>) {
    let Some(Value::Object(settings)) = cx.get("/settings").cloned() else {
        return;
    };
    if settings.len() > crate::model::settings::MAX_SETTINGS {
        cx.key_error(
            "/settings",
            format!(
                "{} settings; an app may have at most {}",
                settings.len(),
                crate::model::settings::MAX_SETTINGS
            ),
            "keep the settings the app reads; large configuration belongs in a file or dataset",
        );
    }
    let secrets: Vec<String> = match cx.get("/secrets") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|s| s.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    for (name, value) in &settings {
        let pointer = format!("/settings/{}", crate::load::field_path::escape(name));
        if let Some(p) = crate::model::settings::name_problem(name) {
            cx.key_error(&pointer, p.message, p.hint);
        } else if secrets.contains(name) {
            cx.key_error(
                &pointer,
                format!("`{name}` is both a secret and a setting"),
                "keep it under `secrets:` only (the app reads it from its secrets) and remove the setting",
            );
        }
        match value {
            Value::String(v) => {
                if let Some(p) = crate::model::settings::value_problem(v) {
                    cx.error(&pointer, p.message, p.hint);
                }
            }
            Value::Number(_) | Value::Bool(_) => {
                let text = value.to_string();
                cx.error(
                    &pointer,
                    format!("the setting `{}` must be text, not {text}", truncate(name)),
                    format!(
                        "environment variables are text: write it in quotes, `{}: \"{text}\"`",
                        truncate(name)
                    ),
                );
            }
            Value::Null => cx.key_error(
                &pointer,
                format!("the setting `{}` has no value", truncate(name)),
                "give it a value, or remove the setting",
            ),
            Value::Array(_) | Value::Object(_) => cx.error(
                &pointer,
                format!("the setting `{}` must be one text value", truncate(name)),
                "write `NAME: value` on one line; a list or mapping cannot be an environment variable",
            ),
        }
    }
}

fn check_dates(cx: &mut Checker<'_>) {
    let mut dates = [None, None];
    for (slot, field) in ["created", "expires"].iter().enumerate() {
        let pointer = format!("/lifecycle/{field}");
        match cx.get(&pointer).cloned() {
            Some(Value::String(s)) => match Date::parse(&s) {
                Ok(d) => dates[slot] = Some(d),
                Err(e) => cx.error(&pointer, e, "write dates as YYYY-MM-DD, like `2026-04-01`"),
            },
            Some(Value::Null) | None => {}
            Some(_) => cx.error(
                &pointer,
                format!("`{field}` must be a date"),
                "write dates as YYYY-MM-DD, like `2026-04-01`",
            ),
        }
    }
    // Dates carry no time zone, and east of UTC the calendar runs up to a day ahead: a date is
    // in the future once it is later than tomorrow in UTC (the policy's LIFE-005 agrees).
    if let (Some(created), Some(today)) = (dates[0], cx.context.today)
        && today.0.tomorrow().is_ok_and(|latest| created.0 > latest)
    {
        cx.error(
            "/lifecycle/created",
            format!("the app's creation date ({created}) is in the future (today is {today})"),
            "set `lifecycle.created` to the day the app was created; a prototype's lifetime counts from it",
        );
    }
    if let [Some(created), Some(expires)] = dates
        && expires <= created
    {
        cx.error(
            "/lifecycle/expires",
            format!("the app expires ({expires}) before it is created ({created})"),
            "set `lifecycle.expires` to a date after `lifecycle.created`",
        );
    }
}

/// Dataset names are slugs: anything else is refused here, with the registered dataset it looks
/// like when the context can ask the org's policy (the policy denies it too, DATA-007/008).
fn check_datasets(cx: &mut Checker<'_>) {
    let Some(Value::Array(accesses)) = cx.get("/data_access") else {
        return;
    };
    for (i, access) in accesses.iter().enumerate() {
        let Some(Value::String(name)) = access.get("dataset") else {
            continue;
        };
        if is_slug(name) {
            continue;
        }
        let similar = cx
            .context
            .dataset_lookalikes
            .map(|lookalikes| lookalikes(name))
            .unwrap_or_default();
        let hint = match similar.first() {
            Some(registered) => format!(
                "did you mean `{registered}`? Write `dataset: {registered}`, the name the org's dataset registry lists"
            ),
            None => {
                "write the dataset's name as the org's dataset registry (levee.org.yaml) lists it"
                    .to_string()
            }
        };
        cx.error(
            &format!("/data_access/{i}/dataset"),
            format!(
                "`{}` is not a dataset name: dataset names are lowercase letters, digits and hyphens",
                truncate(name)
            ),
            hint,
        );
    }
}

/// Plain scalars that YAML 1.1 readers take for something else: in CI, OPA and conftest read
/// app.yaml with go-yaml v2, where `no` is `false` and `012` is octal. The policy would judge
/// another manifest than levee does, so such a value must be written unambiguously.
fn check_yaml11(cx: &mut Checker<'_>) {
    use crate::load::yaml::Yaml11;
    for scalar in cx.yaml11() {
        let text = truncate(&scalar.text);
        let ours = cx.get(&scalar.pointer);
        let (message, hint) = match (&scalar.reading, ours) {
            (Yaml11::Value(theirs), Some(Value::Number(n))) => (
                format!(
                    "`{text}` is the number {n} to levee but {} to YAML 1.1 readers, as OPA and conftest read app.yaml in CI (a leading 0 means octal there)",
                    describe(theirs)
                ),
                format!("write `{n}`, or quote the value if it is text: `\"{text}\"`"),
            ),
            (Yaml11::Value(theirs), _) => (
                format!(
                    "`{text}` is text to levee but {} to YAML 1.1 readers, as OPA and conftest read app.yaml in CI",
                    describe(theirs)
                ),
                format!("quote it so that every reader sees text: `\"{text}\"`"),
            ),
            (Yaml11::NotFinite, _) => (
                format!("`{text}` is not a number every reader agrees on"),
                "write a finite number, or quote the value if it is text".to_string(),
            ),
        };
        cx.error(&scalar.pointer, message, hint);
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Null => "null".to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text \"{s}\""),
        other => other.to_string(),
    }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 60;
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    }
}

/// `kind` and `stack` name what the app's template pack declares.
fn check_declared(cx: &mut Checker<'_>) {
    let declared = cx
        .context
        .declared
        .unwrap_or_else(|| crate::load::declarations::builtin());
    for (field, what, names) in [
        ("/kind", "kind", declared.kind_names()),
        ("/stack", "stack", declared.stack_names()),
    ] {
        let Some(Value::String(got)) = cx.get(field) else {
            continue;
        };
        if names.iter().any(|n| n == got) {
            continue;
        }
        let got = truncate(got);
        let hint = match crate::load::schema::did_you_mean(&got, &names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the {what}s come from the app's template pack (`levee templates list` shows them; a pack declares its own in pack.yaml `{what}s:`)"
            ),
        };
        cx.error(
            field,
            format!(
                "`{got}` is not a valid {what}; expected one of: {}",
                names.join(", ")
            ),
            hint,
        );
    }
}

impl crate::load::document::Checked for Manifest {
    const NOUN: &'static str = "manifest";

    fn validator() -> &'static jsonschema::Validator {
        static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
        V.get_or_init(|| crate::load::schema::compile(Self::schema()))
    }

    fn schema() -> &'static Value {
        static S: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        S.get_or_init(|| {
            crate::model::shape::committed(
                include_str!("../../schemas/manifest.schema.json"),
                crate::load::schema::generate::<Manifest>,
            )
        })
    }

    fn check(cx: &mut Checker<'_>) {
        check(cx);
    }

    fn passes_compiled_schema(value: &Value) -> bool {
        crate::model::shape::ManifestShape::is_valid(value)
    }
}

/// The manifest file name in an app directory.
pub const FILE_NAME: &str = "app.yaml";

/// `path` if it is a file, else `path/app.yaml`.
pub(crate) fn locate(path: &std::path::Path) -> std::path::PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

/// A walker over the trees under `roots` as levee looks for apps (`catalog scan`, `validate
/// DIR`, `check DIR`): `.gitignore` honoured whether or not the tree is a git repository, hidden
/// directories and dependency or build directories (`node_modules`, `target`, `.venv`, `venv`)
/// skipped, symlinks not followed. `None` without roots.
pub(crate) fn walker(roots: &[std::path::PathBuf]) -> Option<ignore::WalkBuilder> {
    let (first, rest) = roots.split_first()?;
    let mut walk = ignore::WalkBuilder::new(first);
    for r in rest {
        walk.add(r);
    }
    walk.hidden(true)
        .git_ignore(true)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            !matches!(
                e.file_name().to_str(),
                Some("node_modules" | "target" | ".venv" | "venv")
            )
        });
    Some(walk)
}

/// The files under `root` whose name `wanted` accepts (`app.yaml`), found by [`walker`], sorted.
pub(crate) fn find_files(
    root: &std::path::Path,
    wanted: fn(&str) -> bool,
) -> Vec<std::path::PathBuf> {
    let Some(mut walk) = walker(&[root.to_path_buf()]) else {
        return Vec::new();
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let found = std::sync::Mutex::new(Vec::new());
    walk.threads(threads).build_parallel().run(|| {
        Box::new(|item| {
            if let Ok(e) = item
                && e.file_type().is_some_and(|t| t.is_file())
                && e.file_name().to_str().is_some_and(wanted)
                && let Ok(mut f) = found.lock()
            {
                f.push(e.into_path());
            }
            ignore::WalkState::Continue
        })
    });
    let mut found = found.into_inner().unwrap_or_default();
    found.sort();
    found
}

/// Reads and checks a manifest (a file, or a directory holding `app.yaml`).
pub fn load(
    path: &std::path::Path,
) -> Result<crate::load::document::Loaded<Manifest>, crate::load::document::LoadError> {
    load_with(path, crate::load::document::Context::default())
}

/// [`load`], with the context the checks may consult (today's date, the org's dataset names).
/// An `app.yaml` is checked against the kinds and stacks its `.levee/` record says its pack
/// declares (else the built-in pack's), and the loaded value carries them.
pub(crate) fn load_with(
    path: &std::path::Path,
    context: crate::load::document::Context<'_>,
) -> Result<crate::load::document::Loaded<Manifest>, crate::load::document::LoadError> {
    let file = locate(path);
    // The record is read only when the caller has not given the declarations.
    let declared = match context.declared {
        Some(d) => Declared(Some(std::sync::Arc::new(d.clone()))),
        None if file.file_name().and_then(|n| n.to_str()) == Some(FILE_NAME) => {
            let dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            // A damaged record is reported by `levee validate` (template_settings); here it only
            // costs the pack's own names.
            match crate::load::declarations::for_app(&dir) {
                Ok(Some(d)) => Declared::of(d),
                _ => Declared::default(),
            }
        }
        None => Declared::default(),
    };
    let owned = declared.0.clone();
    let context = crate::load::document::Context {
        declared: owned.as_deref(),
        ..context
    };
    let mut loaded = crate::load::document::load_with::<Manifest>(&file, context)?;
    loaded.value.declared = declared;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms() {
        assert_eq!(Cpu::parse("250m"), Ok(Cpu(250)));
        assert_eq!(Cpu::parse("0.5"), Ok(Cpu(500)));
        assert_eq!(Cpu::parse_value(&serde_json::json!(0.25)), Ok(Cpu(250)));
        assert!(Cpu::parse("0").is_err());
        assert!(Cpu::parse("-1").is_err());
        assert!(Cpu::parse("0m").is_err());
    }

    #[test]
    fn memory_forms() {
        assert_eq!(Memory::parse("256Mi"), Ok(Memory(256 << 20)));
        assert_eq!(
            Memory::parse("1Gi").map(|m| m.to_string()),
            Ok("1Gi".into())
        );
        let e = Memory::parse("256MB").expect_err("MB");
        assert!(e.contains("256Mi"), "{e}");
    }

    #[test]
    fn names() {
        assert!(is_valid_name("expense-quick-submit"));
        assert!(!is_valid_name("../etc"));
        assert!(!is_valid_name("A"));
        assert_eq!(slugify("Expense Tracker!"), "expense-tracker");
        assert!(is_team_name("finance-ops"));
        assert!(is_team_name("Finance.Ops_2"));
        assert!(!is_team_name("Finance Ops"));
        assert!(!is_team_name("fin--ops"));
        assert!(!is_team_name("-fin"));
        assert!(!is_team_name(""));
        assert!(!is_team_name(&"a".repeat(64)));
        assert_eq!(team_slug("Finance Ops"), "finance-ops");
        assert_eq!(team_slug("../.."), "my-team");
        assert!(is_valid_name(&slugify("../../etc/passwd")));
    }

    #[test]
    fn emails() {
        assert!(is_email("finance.jdoe@acme.corp"));
        assert!(!is_email("finance.jdoe"));
        assert!(!is_email("a b@acme.corp"));
        assert!(!is_email("a@localhost"));
    }
}
