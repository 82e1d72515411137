//! The runtime sandbox: the Kubernetes manifests an app is deployed with (`deploy/`) and the
//! Kyverno admission policies that hold its namespace to the org's caps (`deploy/admission/`).
//!
//! Data flows one way: manifest + org config -> a [`Plan`] (namespace, limits, egress, runtime
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
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::manifest::{Classification, Cpu, Manifest, Memory, RuntimeType, SecretProvider, Tier};
use crate::org::{Org, host_matches};

/// The Kubernetes and Kyverno templates (`k8s/` at the crate root).
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/k8s");

/// The directory, relative to the app, that holds the generated manifests.
pub const DEPLOY_DIR: &str = "deploy";

/// The org config's `sandbox` section. Every key has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// The shared namespace public and internal apps run in. The platform team creates it
    /// (with the Pod Security `restricted` label); levee does not emit it.
    pub namespace: String,
    /// Confidential and restricted apps (and `hardened-container` apps) get a dedicated
    /// namespace named `<prefix><app>`, which levee emits.
    pub hardened_namespace_prefix: String,
    /// The RuntimeClass hardened apps run under (`gvisor`, `kata`); none when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_class: Option<String>,
    /// The RuntimeClass that runs WebAssembly workloads (a runwasi / SpinKube shim, like
    /// `wasmtime-spin-v2`). When unset, an app with `runtime.type: wasm` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm_runtime_class: Option<String>,
    /// The HTTP(S) egress proxy that enforces hostname allow-lists. A NetworkPolicy matches IP
    /// addresses, not hostnames: with a proxy, the manifest's egress hosts become an allow-list
    /// ConfigMap the proxy reads; without one, an app that lists egress hosts is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_proxy: Option<EgressProxy>,
    /// The registry apps' images are pushed to; the image is `<registry>/<app>:<image_tag>`.
    pub image_registry: String,
    /// The tag the pipeline pushes and deploys.
    pub image_tag: String,
    /// The port the app listens on (the starter apps read `PORT`).
    pub port: u16,
    /// The health endpoint probed for liveness and readiness.
    pub health_path: String,
    /// Where the cluster DNS runs (egress to it on port 53 is always allowed).
    pub dns: Peer,
    /// The ingress controller allowed to reach the app's port.
    pub ingress: Peer,
    /// The OpenTelemetry collector the app exports traces and metrics to.
    pub telemetry: Telemetry,
    /// The admission policy form: `validating-policy` (Kyverno 1.14+, `policies.kyverno.io/v1`
    /// from 1.17) or `cluster-policy` (the classic `kyverno.io/v1` form, for older Kyverno).
    pub kyverno: KyvernoForm,
}

/// Pods in a namespace, selected by labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The namespace.
    pub namespace: String,
    /// Labels of the pods (empty: every pod in the namespace).
    #[serde(default)]
    pub pod_labels: IndexMap<String, String>,
}

/// The egress proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EgressProxy {
    /// The proxy's address as the app uses it (`egress-proxy.egress.svc.cluster.local`).
    pub host: String,
    /// The proxy's port.
    pub port: u16,
    /// Where the proxy's pods run, for the NetworkPolicy.
    pub namespace: String,
    /// The proxy pods' labels.
    #[serde(default)]
    pub pod_labels: IndexMap<String, String>,
}

/// The OpenTelemetry collector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or `http/protobuf`.
    pub protocol: String,
    /// The collector's port, for the NetworkPolicy.
    pub port: u16,
    /// Where the collector's pods run.
    pub namespace: String,
    /// The collector pods' labels.
    #[serde(default)]
    pub pod_labels: IndexMap<String, String>,
}

crate::manifest::string_enum!(
    /// Which Kyverno policy kind to emit.
    KyvernoForm {
        /// `policies.kyverno.io/v1` `ValidatingPolicy` with CEL expressions (the default).
        ValidatingPolicy = "validating-policy",
        /// The classic `kyverno.io/v1` `ClusterPolicy` with patterns (deprecated in Kyverno 1.17).
        ClusterPolicy = "cluster-policy",
    }
);

fn labels(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            namespace: "levee-sandbox".into(),
            hardened_namespace_prefix: "levee-hardened-".into(),
            runtime_class: None,
            wasm_runtime_class: None,
            egress_proxy: None,
            image_registry: "registry.example.com/levee-apps".into(),
            image_tag: "latest".into(),
            port: 8080,
            health_path: "/healthz".into(),
            dns: Peer {
                namespace: "kube-system".into(),
                pod_labels: labels(&[("k8s-app", "kube-dns")]),
            },
            ingress: Peer {
                namespace: "ingress-nginx".into(),
                pod_labels: IndexMap::new(),
            },
            telemetry: Telemetry {
                endpoint: "http://otel-collector.observability.svc.cluster.local:4318".into(),
                protocol: "http/protobuf".into(),
                port: 4318,
                namespace: "observability".into(),
                pod_labels: labels(&[("app.kubernetes.io/name", "opentelemetry-collector")]),
            },
            kyverno: KyvernoForm::ValidatingPolicy,
        }
    }
}

/// Is `s` a Kubernetes DNS label (namespace names): lowercase letters, digits and `-`, at most 63,
/// starting and ending with a letter or digit?
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The org config's `sandbox` section, checked for meaning: every value ends up in a Kubernetes
/// object, where a bad one would only fail at `kubectl apply`.
pub fn check_org(cx: &mut crate::document::Checker<'_>) {
    use serde_json::Value;
    let text = |cx: &crate::document::Checker<'_>, p: &str| match cx.get(p) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    if let Some(ns) = text(cx, "/sandbox/namespace")
        && !is_dns_label(&ns)
    {
        cx.error(
            "/sandbox/namespace",
            format!("`{ns}` is not a Kubernetes namespace name"),
            "use at most 63 lowercase letters, digits and dashes, like `levee-sandbox`",
        );
    }
    if let Some(prefix) = text(cx, "/sandbox/hardened_namespace_prefix")
        && (prefix.len() > 40 || !is_dns_label(&format!("{prefix}a")))
    {
        cx.error(
            "/sandbox/hardened_namespace_prefix",
            format!("`{prefix}` cannot start a Kubernetes namespace name"),
            "use at most 40 lowercase letters, digits and dashes, like `levee-hardened-`",
        );
    }
    for key in ["runtime_class", "wasm_runtime_class"] {
        let pointer = format!("/sandbox/{key}");
        if let Some(class) = text(cx, &pointer)
            && (!class.split('.').all(is_dns_label) || class.len() > 253)
        {
            cx.error(
                &pointer,
                format!("`{class}` is not a RuntimeClass name"),
                "name the RuntimeClass as `kubectl get runtimeclass` lists it, like `gvisor`",
            );
        }
    }
    if let Some(host) = text(cx, "/sandbox/egress_proxy/host")
        && !crate::manifest::is_hostname(&host)
    {
        cx.error(
                "/sandbox/egress_proxy/host",
                format!("`{host}` is not a hostname"),
                "the proxy's service name, without scheme or port: `egress-proxy.egress.svc.cluster.local`",
            );
    }
    if let Some(path) = text(cx, "/sandbox/health_path")
        && (!path.starts_with('/') || path.contains(char::is_whitespace))
    {
        cx.error(
            "/sandbox/health_path",
            format!("`{path}` is not an HTTP path"),
            "start it with `/`, like `/healthz`",
        );
    }
    if let Some(protocol) = text(cx, "/sandbox/telemetry/protocol")
        && !["grpc", "http/protobuf", "http/json"].contains(&protocol.as_str())
    {
        cx.error(
            "/sandbox/telemetry/protocol",
            format!("`{protocol}` is not an OTLP protocol"),
            "use `grpc`, `http/protobuf` or `http/json`",
        );
    }
    if let Some(registry) = text(cx, "/sandbox/image_registry")
        && (registry.is_empty()
            || registry.contains("://")
            || registry.contains(char::is_whitespace))
    {
        cx.error(
            "/sandbox/image_registry",
            format!("`{registry}` is not an image registry path"),
            "a registry host and path without scheme, like `registry.acme.corp/apps`",
        );
    }
    for pointer in [
        "/sandbox/port",
        "/sandbox/telemetry/port",
        "/sandbox/egress_proxy/port",
    ] {
        if cx.get(pointer).and_then(Value::as_u64) == Some(0) {
            cx.error(
                pointer,
                "a port must be more than 0",
                "use the port the service listens on",
            );
        }
    }
}

/// What the caller may choose beyond the org config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Overrides the org config's `sandbox.kyverno`.
    pub kyverno: Option<KyvernoForm>,
}

/// Why a manifest cannot be deployed as asked. Each names the `app.yaml` field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
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
    Refused { app: String, refusals: Vec<Refusal> },
    /// A template failed to render (a bug in levee's `k8s/` templates).
    #[error("rendering the sandbox template `{name}` failed")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// Is this app deployed to the hardened sandbox?
pub fn is_hardened(m: &Manifest) -> bool {
    matches!(
        m.classification,
        Classification::Confidential | Classification::Restricted
    ) || m.runtime().kind == Some(RuntimeType::HardenedContainer)
}

/// Makes a Kubernetes label value from free text (an e-mail, a team name): letters, digits,
/// `-`, `_` and `.`, at most 63 characters, starting and ending with a letter or digit.
/// `jane.doe@acme.corp` becomes `jane.doe_at_acme.corp`. Empty input gives `unassigned`.
pub fn label_value(s: &str) -> String {
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
}

/// A secret reference: where the value comes from, never the value.
#[derive(Debug, Clone, Serialize)]
struct SecretRef {
    name: String,
    provider: &'static str,
    /// The Kubernetes Secret the value is synced into.
    k8s_secret: String,
    /// The path in the store.
    path: String,
}

/// Every decision for one app, ready for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
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
    egress: Vec<EgressHost>,
    egress_proxy: Option<EgressProxy>,
    dns: Peer,
    ingress: Peer,
    telemetry: Telemetry,
    otel_resource_attributes: Vec<String>,
    secrets: Vec<SecretRef>,
    secret_stores: Vec<String>,
    kyverno: KyvernoForm,
}

/// Decides everything about an app's sandbox, or says why it cannot run there.
pub fn plan(m: &Manifest, org: &Org, options: &DeployOptions) -> Result<Plan, SandboxError> {
    let cfg = &org.sandbox;
    let runtime = m.runtime();
    let caps = org.tier(m.lifecycle.tier);
    let hardened = is_hardened(m);
    let mut refusals = Vec::new();

    let runtime_class = match runtime.kind {
        Some(RuntimeType::Wasm) => match &cfg.wasm_runtime_class {
            Some(class) => Some(class.clone()),
            None => {
                refusals.push(Refusal {
                    field: "/runtime/type".into(),
                    message: "the `wasm` runtime needs a WebAssembly RuntimeClass, and the org config names none".into(),
                    hint: "use `runtime.type: sandboxed-container`, or ask the platform team to set `sandbox.wasm_runtime_class` in levee.org.yaml (a runwasi or SpinKube shim)".into(),
                });
                None
            }
        },
        _ if hardened => cfg.runtime_class.clone(),
        _ => None,
    };

    let cap_cpu = caps.max_cpu.unwrap_or(Cpu(1000));
    let cap_memory = caps.max_memory.unwrap_or(Memory(1 << 30));
    let cpu = runtime.cpu_limit.unwrap_or(cap_cpu);
    let memory = runtime.mem_limit.unwrap_or(cap_memory);
    let tier = m.lifecycle.tier;
    if cpu > cap_cpu {
        refusals.push(Refusal {
            field: "/runtime/cpu_limit".into(),
            message: format!(
                "`cpu_limit` {} is over the {tier} tier's cap of {}",
                quantity_cpu(cpu),
                quantity_cpu(cap_cpu)
            ),
            hint: format!(
                "lower `runtime.cpu_limit` to at most {}, or promote the app with `levee promote --tier production`",
                quantity_cpu(cap_cpu)
            ),
        });
    }
    if memory > cap_memory {
        refusals.push(Refusal {
            field: "/runtime/mem_limit".into(),
            message: format!("`mem_limit` {memory} is over the {tier} tier's cap of {cap_memory}"),
            hint: format!(
                "lower `runtime.mem_limit` to at most {cap_memory}, or promote the app with `levee promote --tier production`"
            ),
        });
    }
    let max_runtime_minutes = match (runtime.max_runtime_minutes, caps.max_runtime_minutes) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    };

    let mut egress = Vec::new();
    for (i, host) in runtime.egress.iter().enumerate() {
        let field = format!("/runtime/egress/{i}");
        let host = host.to_ascii_lowercase();
        if !org.egress.approved.iter().any(|a| host_matches(a, &host)) {
            refusals.push(Refusal {
                field,
                message: format!("egress to `{host}` is not on the org's approved list"),
                hint: "ask the security team to add it to `egress.approved` in levee.org.yaml, or remove it from `runtime.egress`".into(),
            });
            continue;
        }
        if hardened && host.starts_with("*.") {
            refusals.push(Refusal {
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
            refusals.push(Refusal {
                field,
                message: format!(
                    "egress to `{host}` needs the egress proxy: a NetworkPolicy matches IP addresses, not hostnames, and the org config names no proxy"
                ),
                hint: "ask the platform team to set `sandbox.egress_proxy` in levee.org.yaml, or remove the host from `runtime.egress`".into(),
            });
            continue;
        }
        egress.push(EgressHost { host });
    }

    let mut secrets = Vec::new();
    let mut secret_stores = Vec::new();
    for s in &m.secrets {
        let provider = s.provider.as_str();
        let k8s_secret = format!("{}-{}", m.name, provider_suffix(s.provider));
        if !secret_stores.contains(&k8s_secret) {
            secret_stores.push(k8s_secret.clone());
        }
        secrets.push(SecretRef {
            name: s.name.clone(),
            provider,
            k8s_secret,
            path: s
                .path
                .clone()
                .unwrap_or_else(|| format!("{}/{}", m.name, s.name)),
        });
    }

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
    let team = m.team.clone().unwrap_or_default();
    let center = m
        .cost
        .as_ref()
        .and_then(|c| c.center.clone())
        .unwrap_or_default();
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
    // Label-safe values only: they go inside a double-quoted YAML string.
    let otel_resource_attributes = vec![
        format!("service.namespace={namespace}"),
        format!("deployment.environment={tier}"),
        format!("levee.app={}", m.name),
        format!("levee.team={}", label_value(&team)),
        format!("levee.cost_center={}", label_value(&center)),
        format!("levee.classification={}", m.classification),
    ];

    Ok(Plan {
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
        egress,
        egress_proxy: cfg.egress_proxy.clone(),
        dns: cfg.dns.clone(),
        ingress: cfg.ingress.clone(),
        telemetry: cfg.telemetry.clone(),
        otel_resource_attributes,
        secrets,
        secret_stores,
        kyverno: options.kyverno.unwrap_or(cfg.kyverno),
    })
}

/// `<prefix><app>`, kept within the 63 characters of a namespace name: a longer one is cut and
/// ends with a hash of the full name, so two long app names never share a namespace.
pub fn hardened_namespace(prefix: &str, app: &str) -> String {
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

fn provider_suffix(p: SecretProvider) -> &'static str {
    match p {
        SecretProvider::Vault => "vault",
        SecretProvider::AwsSecretsManager => "aws",
        SecretProvider::Env => "env",
    }
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
fn outputs(plan: &Plan) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if plan.dedicated_namespace {
        out.push(("namespace.yaml.jinja", "deploy/00-namespace.yaml"));
        out.push(("resourcequota.yaml.jinja", "deploy/05-resourcequota.yaml"));
    }
    out.push(("serviceaccount.yaml.jinja", "deploy/10-serviceaccount.yaml"));
    if !plan.egress.is_empty() {
        out.push((
            "egress-allowlist.yaml.jinja",
            "deploy/20-egress-allowlist.yaml",
        ));
    }
    out.push(("deployment.yaml.jinja", "deploy/30-deployment.yaml"));
    out.push(("service.yaml.jinja", "deploy/40-service.yaml"));
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

fn environment() -> Result<minijinja::Environment<'static>, SandboxError> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // YAML is not auto-escaped; values are quoted explicitly with `tojson`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|source| SandboxError::Template {
            name: "(syntax)".into(),
            source,
        })?;
    env.set_syntax(syntax);
    for file in TEMPLATES.files() {
        if let (Some(name), Some(text)) = (file.path().to_str(), file.contents_utf8()) {
            env.add_template(name, text)
                .map_err(|source| SandboxError::Template {
                    name: name.to_string(),
                    source,
                })?;
        }
    }
    Ok(env)
}

/// The names of the embedded templates (for tests that load every one).
pub fn template_names() -> Vec<String> {
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
