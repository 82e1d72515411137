//! The runtime sandbox: the Kubernetes manifests an app is deployed with (`deploy/`) and the
//! Kyverno admission policies that hold its namespace to the org's caps (`deploy/admission/`).
//!
//! Data flows one way: manifest + org config -> a [`SandboxPlan`] (namespace, limits, egress, runtime
//! class: every decision, made here in plain functions) -> the templates in `k8s/` rendered with
//! minijinja -> files. Nothing here writes to disk; `levee deploy` and `levee sync` do.
//!
//! Decisions, in one place:
//!
//! | input | sandboxed (public, internal) | hardened (confidential, restricted, or `hardened-container`) |
//! | --- | --- | --- |
//! | namespace | the org's shared `sandbox.namespace` (owned by the platform team, not emitted) | a dedicated `<hardened_namespace_prefix><app>`, emitted, Pod Security `restricted` |
//! | runtime class | none (`wasm`: `sandbox.wasm_runtime_class`) | `sandbox.runtime_class` if the org names one |
//! | egress | DNS, telemetry, and the manifest's hosts through the egress proxy | the same, exact hostnames only (`*.` wildcards refused), plus a namespace-wide default deny |
//! | ingress | from the ingress controller's namespace, app port only | the same |
//! | quota | the platform's, on the shared namespace | a ResourceQuota: two pods at the app's limits |

use std::path::PathBuf;

use include_dir::{Dir, include_dir};
use indexmap::IndexMap;
use serde::Serialize;

use crate::model::manifest::{
    Classification, Cpu, Manifest, Memory, Runtime, RuntimeType, SecretProvider, Tier,
};
use crate::model::org::{Org, TierCaps, host_matches};
use crate::model::sandbox_config::{
    EgressProxy, GatewayRef, KyvernoForm, Peer, SandboxConfig, Telemetry, url_host_port,
};

/// The Kubernetes and Kyverno templates (`k8s/` at the crate root).
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/k8s");

/// The directory, relative to the app, that holds the generated manifests.
pub const DEPLOY_DIR: &str = "deploy";

/// What the caller may choose beyond the org config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Overrides the org config's `sandbox.kyverno`.
    pub kyverno: Option<KyvernoForm>,
}

/// Why a manifest cannot be deployed as asked. Each names the `app.yaml` field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRefusal {
    /// The JSON pointer of the field in `app.yaml` (`/runtime/egress/0`).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What fixes it.
    pub hint: String,
}

/// Errors from [`deploy_files`].
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The manifest asks for something the sandbox will not run.
    #[error("{} cannot be deployed to the sandbox: {}", .app, .refusals.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused {
        app: String,
        refusals: Vec<DeployRefusal>,
    },
    /// A template failed to render (a bug in levee's `k8s/` templates).
    #[error("rendering the sandbox template `{name}` failed")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// Is this app deployed to the hardened sandbox?
pub(crate) fn is_hardened(m: &Manifest) -> bool {
    matches!(
        m.classification,
        Classification::Confidential | Classification::Restricted
    ) || m.runtime().kind == Some(RuntimeType::HardenedContainer)
}

/// Makes a Kubernetes label value from free text (an e-mail, a team name): letters, digits,
/// `-`, `_` and `.`, at most 63 characters, starting and ending with a letter or digit.
/// `jane.doe@acme.corp` becomes `jane.doe_at_acme.corp`. Empty input gives `unassigned`.
pub(crate) fn label_value(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        match c {
            '@' => out.push_str("_at_"),
            c if c.is_ascii_alphanumeric() || "-_.".contains(c) => out.push(c),
            _ => out.push('_'),
        }
    }
    let out: String = out.chars().take(63).collect();
    let out = out.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if out.is_empty() {
        "unassigned".into()
    } else {
        out.to_string()
    }
}

/// One egress destination as the NetworkPolicy and the proxy see it.
#[derive(Debug, Clone, Serialize)]
struct EgressHost {
    host: String,
    /// The port, for destinations reached without the proxy.
    port: u16,
    /// Why the app may reach it (`runtime.egress`, `the SSO issuer`).
    reason: &'static str,
}

/// One secret as the ExternalSecret fetches it and the Deployment mounts it: where the value
/// comes from, never the value.
#[derive(Debug, Clone, Serialize)]
struct SecretRef {
    name: String,
    provider: &'static str,
    /// The `ClusterSecretStore` the operator reads it through.
    store: String,
    /// The key in the store (`remoteRef.key`).
    path: String,
    /// The field inside the entry (`remoteRef.property`), for stores whose entries hold fields.
    property: Option<String>,
}

/// One of the app's settings (app.yaml `settings`), as the Deployment passes it.
#[derive(Debug, Clone, Serialize)]
struct SettingEnv {
    name: String,
    /// The value as the Deployment writes it: the kubelet expands `$(NAME)` in an env value and
    /// reads `$$` as `$`, so every `$` is doubled and the app gets exactly what app.yaml says.
    value: String,
}

/// Where the app's `DATA_DIR` lives.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum DataVolume {
    /// An `emptyDir`: gone when the pod goes (prototypes).
    EmptyDir { size: String },
    /// A PersistentVolumeClaim levee emits (`<app>-data`).
    Claim {
        name: String,
        size: String,
        storage_class: Option<String>,
    },
    /// The org's external database: its connection settings are mounted from a Secret, and
    /// `DATA_DIR` is scratch space only.
    ExternalDatabase { secret: String, size: String },
}

/// Where the Secret with the app's secrets is mounted (`LEVEE_SECRETS_DIR`).
pub const SECRETS_DIR: &str = "/var/run/secrets/levee";
/// Where the external database's connection settings are mounted (`LEVEE_DATABASE_DIR`).
pub const DATABASE_DIR: &str = "/var/run/secrets/levee-database";
/// The `data` volume's mount path (`DATA_DIR`).
pub const DATA_DIR: &str = "/var/lib/app";

/// Every decision for one app, ready for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxPlan {
    version: &'static str,
    app: String,
    description: Option<String>,
    owner_email: String,
    namespace: String,
    hardened: bool,
    /// The namespace is dedicated to this app (and emitted).
    dedicated_namespace: bool,
    labels: IndexMap<String, String>,
    selector: IndexMap<String, String>,
    classification: Classification,
    tier: Tier,
    runtime_type: &'static str,
    runtime_class: Option<String>,
    image: String,
    port: u16,
    health_path: String,
    cpu: String,
    memory: String,
    cap_cpu: String,
    cap_memory: String,
    /// The hardened namespace's quota: two pods at the app's limits.
    quota_cpu: String,
    quota_memory: String,
    max_runtime_seconds: Option<u64>,
    /// Hosts the app reaches through the egress proxy (the allow-list).
    egress: Vec<EgressHost>,
    /// Hosts the app reaches without a proxy (the org names none): HTTPS to any address.
    direct_egress: Vec<EgressHost>,
    egress_proxy: Option<EgressProxy>,
    /// The proxy URL, when the app's traffic goes through it.
    proxy_url: Option<String>,
    /// Node's built-in `fetch` ignores `HTTPS_PROXY` unless `NODE_USE_ENV_PROXY=1`.
    node_use_env_proxy: bool,
    dns: Peer,
    ingress: Peer,
    telemetry: Telemetry,
    otel_resource_attributes: Vec<String>,
    /// The SSO issuer URL, when app.yaml names one.
    sso_issuer: Option<String>,
    base_url: String,
    public_host: String,
    secrets: Vec<SecretRef>,
    /// The Kubernetes Secret the ExternalSecret produces and the Deployment mounts.
    secret_name: String,
    secrets_dir: &'static str,
    /// The distinct stores, in order of first use.
    secret_stores: Vec<String>,
    /// The app's settings, environment variables after the contract's own.
    settings: Vec<SettingEnv>,
    data: DataVolume,
    data_dir: &'static str,
    database_dir: &'static str,
    ingress_class: Option<String>,
    gateway: Option<GatewayRef>,
    kyverno: KyvernoForm,
}

/// Is this host inside the cluster (a Service name), so reached without the egress proxy?
fn in_cluster(host: &str) -> bool {
    !host.contains('.') || host.ends_with(".svc") || host.ends_with(".cluster.local")
}

/// The org's `base_url_template` for an app in a tier (`{environment}`: see
/// [`crate::generate::plan::environment`]).
pub(crate) fn base_url(cfg: &SandboxConfig, app: &str, tier: Tier) -> String {
    cfg.base_url_template
        .replace("{app}", app)
        .replace("{environment}", crate::generate::plan::environment(tier))
        .trim_end_matches('/')
        .to_string()
}

/// Decides everything about an app's sandbox, or says why it cannot run there.
pub(crate) fn plan(
    m: &Manifest,
    org: &Org,
    options: &DeployOptions,
) -> Result<SandboxPlan, SandboxError> {
    let cfg = &org.sandbox;
    let runtime = m.runtime();
    let tier = m.lifecycle.tier;
    let hardened = is_hardened(m);
    let mut refusals = Vec::new();

    let runtime_class = runtime_class(&runtime, cfg, hardened, &mut refusals);
    let limits = limits(&runtime, org.tier(tier), tier, &mut refusals);
    let mut egress = approved_egress(&runtime, org, hardened, &mut refusals);
    let sso_issuer = m.sso.as_ref().and_then(|s| s.issuer.clone());
    let direct_egress = own_egress(sso_issuer.as_deref(), cfg, &mut egress, &mut refusals);
    let (secrets, secret_stores) = secret_refs(m, cfg);
    let settings = setting_envs(m, &mut refusals);
    let data = data_volume(m, cfg, tier);

    if !refusals.is_empty() {
        return Err(SandboxError::Refused {
            app: m.name.clone(),
            refusals,
        });
    }

    let namespace = if hardened {
        hardened_namespace(&cfg.hardened_namespace_prefix, &m.name)
    } else {
        cfg.namespace.clone()
    };
    let (labels, selector) = labels(m, tier);
    let otel_resource_attributes = otel_resource_attributes(m, tier, &namespace);

    let base_url = base_url(cfg, &m.name, tier);
    let Limits {
        cpu,
        memory,
        cap_cpu,
        cap_memory,
        max_runtime_minutes,
    } = limits;
    Ok(SandboxPlan {
        version: crate::VERSION,
        app: m.name.clone(),
        description: m.description.clone(),
        owner_email: m.owner.clone(),
        namespace,
        hardened,
        dedicated_namespace: hardened,
        labels,
        selector,
        classification: m.classification,
        tier,
        runtime_type: runtime
            .kind
            .unwrap_or(if hardened {
                RuntimeType::HardenedContainer
            } else {
                RuntimeType::SandboxedContainer
            })
            .as_str(),
        runtime_class,
        image: format!(
            "{}/{}:{}",
            cfg.image_registry.trim_end_matches('/'),
            m.name,
            cfg.image_tag
        ),
        port: cfg.port,
        health_path: cfg.health_path.clone(),
        cpu: quantity_cpu(cpu),
        memory: memory.to_string(),
        cap_cpu: quantity_cpu(cap_cpu),
        cap_memory: cap_memory.to_string(),
        quota_cpu: quantity_cpu(Cpu(cpu.0.saturating_mul(2))),
        quota_memory: Memory(memory.0.saturating_mul(2)).to_string(),
        max_runtime_seconds: max_runtime_minutes.map(|m| u64::from(m) * 60),
        proxy_url: cfg
            .egress_proxy
            .as_ref()
            .filter(|_| !egress.is_empty())
            .map(|p| format!("http://{}:{}", p.host, p.port)),
        node_use_env_proxy: m.stack.as_ref().is_some_and(|s| s.as_str() == "node"),
        egress,
        direct_egress,
        egress_proxy: cfg.egress_proxy.clone(),
        dns: cfg.dns.clone(),
        ingress: cfg.ingress.clone(),
        telemetry: cfg.telemetry.clone(),
        otel_resource_attributes,
        sso_issuer,
        public_host: url_host_port(&base_url).map(|(h, _)| h).unwrap_or_default(),
        base_url,
        secrets,
        secret_name: format!("{}-secrets", m.name),
        secrets_dir: SECRETS_DIR,
        secret_stores,
        settings,
        data,
        data_dir: DATA_DIR,
        database_dir: DATABASE_DIR,
        ingress_class: cfg.ingress_class.clone(),
        gateway: cfg.gateway.clone(),
        kyverno: options.kyverno.unwrap_or(cfg.kyverno),
    })
}

/// The RuntimeClass the pod runs under: the org's WebAssembly class for `wasm` (refused when the
/// org names none), the org's sandbox class when hardened, otherwise none.
fn runtime_class(
    runtime: &Runtime,
    cfg: &SandboxConfig,
    hardened: bool,
    refusals: &mut Vec<DeployRefusal>,
) -> Option<String> {
    match runtime.kind {
        Some(RuntimeType::Wasm) => match &cfg.wasm_runtime_class {
            Some(class) => Some(class.clone()),
            None => {
                refusals.push(DeployRefusal {
                    field: "/runtime/type".into(),
                    message: "the `wasm` runtime needs a WebAssembly RuntimeClass, and the org config names none".into(),
                    hint: "use `runtime.type: sandboxed-container`, or ask the platform team to set `sandbox.wasm_runtime_class` in levee.org.yaml (a runwasi or SpinKube shim)".into(),
                });
                None
            }
        },
        _ if hardened => cfg.runtime_class.clone(),
        _ => None,
    }
}

/// The app's limits and its tier's caps.
struct Limits {
    cpu: Cpu,
    memory: Memory,
    cap_cpu: Cpu,
    cap_memory: Memory,
    max_runtime_minutes: Option<u32>,
}

/// The app's limits (the tier's caps where app.yaml names none); a limit over its cap is refused.
fn limits(
    runtime: &Runtime,
    caps: TierCaps,
    tier: Tier,
    refusals: &mut Vec<DeployRefusal>,
) -> Limits {
    let cap_cpu = caps.max_cpu.unwrap_or(Cpu(1000));
    let cap_memory = caps.max_memory.unwrap_or(Memory(1 << 30));
    let cpu = runtime.cpu_limit.unwrap_or(cap_cpu);
    let memory = runtime.mem_limit.unwrap_or(cap_memory);
    let or_promote = if tier == Tier::Production {
        ""
    } else {
        ", or promote the app with `levee promote --tier production`"
    };
    if cpu > cap_cpu {
        refusals.push(DeployRefusal {
            field: "/runtime/cpu_limit".into(),
            message: format!(
                "`cpu_limit` {} is over the {tier} tier's cap of {}",
                quantity_cpu(cpu),
                quantity_cpu(cap_cpu)
            ),
            hint: format!(
                "lower `runtime.cpu_limit` to at most {}{or_promote}",
                quantity_cpu(cap_cpu)
            ),
        });
    }
    if memory > cap_memory {
        refusals.push(DeployRefusal {
            field: "/runtime/mem_limit".into(),
            message: format!("`mem_limit` {memory} is over the {tier} tier's cap of {cap_memory}"),
            hint: format!("lower `runtime.mem_limit` to at most {cap_memory}{or_promote}"),
        });
    }
    let max_runtime_minutes = match (runtime.max_runtime_minutes, caps.max_runtime_minutes) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    };
    Limits {
        cpu,
        memory,
        cap_cpu,
        cap_memory,
        max_runtime_minutes,
    }
}

/// The hosts app.yaml's `runtime.egress` names, through the egress proxy: each must be on the
/// org's approved list, exact when hardened, and the org must name a proxy.
fn approved_egress(
    runtime: &Runtime,
    org: &Org,
    hardened: bool,
    refusals: &mut Vec<DeployRefusal>,
) -> Vec<EgressHost> {
    let cfg = &org.sandbox;
    let mut egress = Vec::new();
    for (i, host) in runtime.egress.iter().enumerate() {
        let field = format!("/runtime/egress/{i}");
        let host = host.to_ascii_lowercase();
        if !org.egress.approved.iter().any(|a| host_matches(a, &host)) {
            refusals.push(DeployRefusal {
                field,
                message: format!("egress to `{host}` is not on the org's approved list"),
                hint: "ask the security team to add it to `egress.approved` in levee.org.yaml, or remove it from `runtime.egress`".into(),
            });
            continue;
        }
        if hardened && host.starts_with("*.") {
            refusals.push(DeployRefusal {
                field,
                message: format!(
                    "the hardened sandbox allows exact hostnames only, not the wildcard `{host}`"
                ),
                hint:
                    "list each host the app calls (`api.hr.internal.acme.corp`) in `runtime.egress`"
                        .into(),
            });
            continue;
        }
        if cfg.egress_proxy.is_none() {
            refusals.push(DeployRefusal {
                field,
                message: format!(
                    "egress to `{host}` needs the egress proxy: a NetworkPolicy matches IP addresses, not hostnames, and the org config names no proxy"
                ),
                hint: "ask the platform team to set `sandbox.egress_proxy` in levee.org.yaml, or remove the host from `runtime.egress`".into(),
            });
            continue;
        }
        egress.push(EgressHost {
            host,
            port: 443,
            reason: "runtime.egress",
        });
    }
    egress
}

/// What the app reaches on its own behalf: its login provider, and the telemetry collector
/// when it is outside the cluster. Through the proxy when the org has one (added to `egress`);
/// without one a NetworkPolicy cannot name a host, so HTTPS to any address is allowed for them
/// (and said so): those are returned.
fn own_egress(
    sso_issuer: Option<&str>,
    cfg: &SandboxConfig,
    egress: &mut Vec<EgressHost>,
    refusals: &mut Vec<DeployRefusal>,
) -> Vec<EgressHost> {
    let mut own = Vec::new();
    if let Some(issuer) = sso_issuer {
        match url_host_port(issuer) {
            Some((host, port)) => own.push((host, port, "the SSO issuer")),
            None => refusals.push(DeployRefusal {
                field: "/sso/issuer".into(),
                message: format!("the SSO issuer `{issuer}` is not an http(s) URL with a host"),
                hint: "write the issuer as your identity provider publishes it, like `https://login.acme.corp`".into(),
            }),
        }
    }
    if let Some((host, port)) = url_host_port(&cfg.telemetry.endpoint)
        && !in_cluster(&host)
    {
        own.push((host, port, "the OpenTelemetry collector"));
    }
    let mut direct_egress = Vec::new();
    for (host, port, reason) in own {
        let entry = EgressHost { host, port, reason };
        if cfg.egress_proxy.is_some() {
            if !egress.iter().any(|e| e.host == entry.host) {
                egress.push(entry);
            }
        } else if !direct_egress
            .iter()
            .any(|e: &EgressHost| e.port == entry.port)
        {
            direct_egress.push(entry);
        }
    }
    direct_egress
}

/// Where each of the app's secrets comes from, and the distinct stores in order of first use.
fn secret_refs(m: &Manifest, cfg: &SandboxConfig) -> (Vec<SecretRef>, Vec<String>) {
    let store_of = |p: SecretProvider| cfg.secret_stores.for_provider(p).to_string();
    let mut secrets = Vec::new();
    let mut secret_stores = Vec::new();
    for s in &m.secrets {
        let store = store_of(s.provider);
        if !secret_stores.contains(&store) {
            secret_stores.push(store.clone());
        }
        secrets.push(SecretRef {
            name: s.name.clone(),
            provider: s.provider.as_str(),
            store,
            path: s
                .path
                .clone()
                .unwrap_or_else(|| format!("{}/{}", m.name, s.name)),
            // A Vault KV entry holds fields: the secret is the field of its own name, as the
            // starter apps' direct Vault client reads it.
            property: (s.provider == SecretProvider::Vault).then(|| s.name.clone()),
        });
    }
    (secrets, secret_stores)
}

/// The app's settings as environment variables; a bad name or value is refused.
fn setting_envs(m: &Manifest, refusals: &mut Vec<DeployRefusal>) -> Vec<SettingEnv> {
    // The manifest's checks refuse these already; the Deployment never relies on that alone.
    let mut settings = Vec::new();
    for (name, value) in &m.settings {
        let problem = crate::model::settings::name_problem(name)
            .or_else(|| crate::model::settings::value_problem(value));
        match problem {
            Some(p) => refusals.push(DeployRefusal {
                field: format!("/settings/{}", crate::load::field_path::escape(name)),
                message: p.message,
                hint: p.hint,
            }),
            None => settings.push(SettingEnv {
                name: name.clone(),
                value: value.replace('$', "$$"),
            }),
        }
    }
    settings
}

/// Where `DATA_DIR` lives: an `emptyDir` for prototypes, the org's external database in the
/// tiers it serves, otherwise a PersistentVolumeClaim.
fn data_volume(m: &Manifest, cfg: &SandboxConfig, tier: Tier) -> DataVolume {
    let tmp_size = "64Mi".to_string();
    match tier {
        Tier::Prototype => DataVolume::EmptyDir {
            size: cfg.data.size.to_string(),
        },
        _ => match &cfg.data.external_database {
            Some(db) if db.tiers.contains(&tier) => DataVolume::ExternalDatabase {
                secret: db.secret.replace("{app}", &m.name),
                size: tmp_size,
            },
            _ => DataVolume::Claim {
                name: format!("{}-data", m.name),
                size: cfg.data.size.to_string(),
                storage_class: cfg.data.storage_class.clone(),
            },
        },
    }
}

/// The labels on every object, and the Deployment's selector (the name label alone).
fn labels(m: &Manifest, tier: Tier) -> (IndexMap<String, String>, IndexMap<String, String>) {
    let team = m.team.clone().unwrap_or_default();
    let center = cost_center(m);
    let labels: IndexMap<String, String> = [
        ("app.kubernetes.io/name", m.name.clone()),
        ("app.kubernetes.io/part-of", m.name.clone()),
        ("app.kubernetes.io/managed-by", "levee".to_string()),
        ("levee.dev/app", m.name.clone()),
        ("levee.dev/owner", label_value(&m.owner)),
        ("levee.dev/team", label_value(&team)),
        ("levee.dev/cost-center", label_value(&center)),
        ("levee.dev/classification", m.classification.to_string()),
        ("levee.dev/tier", tier.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let selector = labels
        .iter()
        .filter(|(k, _)| *k == "app.kubernetes.io/name")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (labels, selector)
}

/// app.yaml's `cost.center`, or empty.
fn cost_center(m: &Manifest) -> String {
    m.cost
        .as_ref()
        .and_then(|c| c.center.clone())
        .unwrap_or_default()
}

/// The resource the starter apps build from app.yaml (templates/CONTRACT.md, "Telemetry"),
/// with the current semantic-convention names (`deployment.environment.name`, not the
/// deprecated `deployment.environment`), plus what only the cluster knows. The apps let these
/// win, so each must say what the app says itself: `service.namespace` is the owning team
/// (the convention's own example), the Kubernetes namespace is `k8s.namespace.name`.
/// Label-safe values only: they go inside a double-quoted YAML string, unencoded.
fn otel_resource_attributes(m: &Manifest, tier: Tier, namespace: &str) -> Vec<String> {
    let team = m.team.clone().unwrap_or_default();
    let center = cost_center(m);
    vec![
        format!(
            "service.namespace={}",
            if team.is_empty() { "levee" } else { &team }
        ),
        format!("deployment.environment.name={tier}"),
        format!("k8s.namespace.name={namespace}"),
        format!("levee.app={}", m.name),
        format!("levee.team={}", label_value(&team)),
        format!("levee.cost_center={}", label_value(&center)),
        format!("levee.classification={}", m.classification),
    ]
}

/// `<prefix><app>`, kept within the 63 characters of a namespace name: a longer one is cut and
/// ends with a hash of the full name, so two long app names never share a namespace.
pub(crate) fn hardened_namespace(prefix: &str, app: &str) -> String {
    const MAX: usize = 63;
    let full = format!("{prefix}{app}");
    if full.len() <= MAX {
        return full;
    }
    // FNV-1a, 32 bits: stable across releases and platforms.
    let hash = full.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let keep = full[..MAX - 9].trim_end_matches('-');
    format!("{keep}-{hash:08x}")
}

/// A CPU amount as a Kubernetes quantity: whole cores as `1`, else millicores `250m`.
fn quantity_cpu(c: Cpu) -> String {
    if c.0.is_multiple_of(1000) {
        (c.0 / 1000).to_string()
    } else {
        format!("{}m", c.0)
    }
}

/// Which template makes which file, and whether the plan wants it.
fn outputs(plan: &SandboxPlan) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if plan.dedicated_namespace {
        out.push(("namespace.yaml.jinja", "deploy/00-namespace.yaml"));
        out.push(("resourcequota.yaml.jinja", "deploy/05-resourcequota.yaml"));
    }
    out.push(("serviceaccount.yaml.jinja", "deploy/10-serviceaccount.yaml"));
    if !plan.secrets.is_empty() {
        out.push(("externalsecret.yaml.jinja", "deploy/15-externalsecret.yaml"));
    }
    if !plan.egress.is_empty() {
        out.push((
            "egress-allowlist.yaml.jinja",
            "deploy/20-egress-allowlist.yaml",
        ));
    }
    if matches!(plan.data, DataVolume::Claim { .. }) {
        out.push((
            "persistentvolumeclaim.yaml.jinja",
            "deploy/25-persistentvolumeclaim.yaml",
        ));
    }
    out.push(("deployment.yaml.jinja", "deploy/30-deployment.yaml"));
    out.push(("service.yaml.jinja", "deploy/40-service.yaml"));
    if plan.ingress_class.is_some() {
        out.push(("ingress.yaml.jinja", "deploy/45-ingress.yaml"));
    }
    if plan.gateway.is_some() {
        out.push(("httproute.yaml.jinja", "deploy/45-httproute.yaml"));
    }
    out.push(("networkpolicy.yaml.jinja", "deploy/50-networkpolicy.yaml"));
    match plan.kyverno {
        KyvernoForm::ValidatingPolicy => out.push((
            "kyverno-validatingpolicy.yaml.jinja",
            "deploy/admission/kyverno-validatingpolicy.yaml",
        )),
        KyvernoForm::ClusterPolicy => out.push((
            "kyverno-clusterpolicy.yaml.jinja",
            "deploy/admission/kyverno-clusterpolicy.yaml",
        )),
    }
    out.push(("README.md.jinja", "deploy/README.md"));
    out
}

/// The sandbox templates, compiled once per process (an upgrade of a fleet renders `deploy/` for
/// every app; compiling the templates each time was a tenth of its CPU time).
fn environment() -> Result<&'static minijinja::Environment<'static>, SandboxError> {
    static ENV: std::sync::OnceLock<Result<minijinja::Environment<'static>, minijinja::Error>> =
        std::sync::OnceLock::new();
    let compiled = crate::generate::templates::embedded(
        &ENV,
        crate::generate::templates::Dialect::Deploy,
        || {
            TEMPLATES
                .files()
                .filter_map(|file| {
                    Some((
                        file.path().to_str()?.to_string(),
                        file.contents_utf8()?.to_string(),
                    ))
                })
                .collect()
        },
    );
    // A bug in the embedded templates (a test compiles them all): the same error each time.
    compiled.as_ref().map_err(|source| SandboxError::Template {
        name: source.name().unwrap_or("(environment)").to_string(),
        source: minijinja::Error::new(source.kind(), source.to_string()),
    })
}

/// The names of the embedded templates (for tests that load every one).
#[cfg(test)]
pub(crate) fn template_names() -> Vec<String> {
    TEMPLATES
        .files()
        .filter_map(|f| f.path().to_str().map(str::to_string))
        .collect()
}

/// The `deploy/` files for an app: paths relative to the app directory, and their content, each
/// starting with a provenance header. Pure: reads nothing, writes nothing.
pub fn deploy_files(
    m: &Manifest,
    org: &Org,
    options: &DeployOptions,
) -> Result<Vec<(PathBuf, String)>, SandboxError> {
    let plan = plan(m, org, options)?;
    let env = environment()?;
    let context = minijinja::Value::from(minijinja::value::Serde(&plan));
    outputs(&plan)
        .into_iter()
        .map(|(template, path)| {
            let text = env
                .get_template(template)
                .and_then(|t| t.render(context.clone()))
                .map_err(|source| SandboxError::Template {
                    name: template.to_string(),
                    source,
                })?;
            Ok((PathBuf::from(path), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values() {
        assert_eq!(label_value("jane.doe@acme.corp"), "jane.doe_at_acme.corp");
        assert_eq!(label_value(""), "unassigned");
        assert_eq!(label_value("Finance Ops!"), "Finance_Ops");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
        assert_eq!(label_value("-a-"), "a");
    }

    #[test]
    fn hardened_namespaces_fit_in_63_characters() {
        assert_eq!(
            hardened_namespace("levee-hardened-", "hr-app"),
            "levee-hardened-hr-app"
        );
        let a = hardened_namespace("levee-hardened-", &"a".repeat(63));
        let b = hardened_namespace("levee-hardened-", &format!("{}b", "a".repeat(62)));
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert_ne!(a, b);
        assert!(a.starts_with("levee-hardened-aaaa"));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        );
    }

    #[test]
    fn cpu_quantities() {
        assert_eq!(quantity_cpu(Cpu(250)), "250m");
        assert_eq!(quantity_cpu(Cpu(2000)), "2");
    }

    #[test]
    fn every_template_parses() {
        let env = environment().expect("templates load");
        for name in template_names() {
            assert!(env.get_template(&name).is_ok(), "{name}");
        }
    }
}
