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

use crate::model::manifest::{
    Classification, Cpu, Manifest, Memory, RuntimeType, SecretProvider, Tier,
};
use crate::model::org::{Org, host_matches};

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
    /// The app's public URL, `{app}` standing for the app's name and `{environment}` for the
    /// tier's deploy environment (`sandbox`, `production`): the Deployment's `APP_BASE_URL` (the
    /// OIDC redirect URI is `<it>/auth/callback`) and the Ingress or HTTPRoute host. Keep it the
    /// address `ci.deploy.url` names, which the pipeline's smoke test probes.
    pub base_url_template: String,
    /// The External Secrets Operator `ClusterSecretStore` each secret provider is read through.
    pub secret_stores: SecretStores,
    /// Where an app keeps its own state (`DATA_DIR`): an `emptyDir` at prototype, a
    /// PersistentVolumeClaim at sandbox and production, or an external database.
    pub data: DataConfig,
    /// The IngressClass (`nginx`): when set, an Ingress for the app's host is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class: Option<String>,
    /// The Gateway API gateway: when set, an HTTPRoute for the app's host is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
}

/// The `ClusterSecretStore` names, per secret provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SecretStores {
    /// The store backed by HashiCorp Vault (KV version 2).
    pub vault: String,
    /// The store backed by AWS Secrets Manager.
    #[serde(rename = "aws-secrets-manager")]
    pub aws_secrets_manager: String,
    /// The store `provider: env` secrets are read through (for instance External Secrets'
    /// `kubernetes` provider over a Secret the platform team fills); low tiers only.
    pub env: String,
}

impl Default for SecretStores {
    fn default() -> Self {
        SecretStores {
            vault: "vault".into(),
            aws_secrets_manager: "aws-secrets-manager".into(),
            env: "levee-env".into(),
        }
    }
}

impl SecretStores {
    /// The store a provider's secrets are read through.
    pub fn for_provider(&self, p: SecretProvider) -> &str {
        match p {
            SecretProvider::Vault => &self.vault,
            SecretProvider::AwsSecretsManager => &self.aws_secrets_manager,
            SecretProvider::Env => &self.env,
        }
    }
}

/// Where apps keep their state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// The size of the PersistentVolumeClaim at sandbox and production.
    pub size: Memory,
    /// The claim's StorageClass (default: the cluster's default class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// An external database that replaces the claim in some tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_database: Option<ExternalDatabase>,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            size: Memory(1 << 30),
            storage_class: None,
            external_database: None,
        }
    }
}

/// An external database the platform provides to apps of some tiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalDatabase {
    /// The tiers whose apps use it instead of a PersistentVolumeClaim (sandbox, production).
    pub tiers: Vec<Tier>,
    /// The Kubernetes Secret holding the connection settings, one file per key (`{app}` stands
    /// for the app's name); the platform team creates it. Mounted at
    /// `/var/run/secrets/levee-database`.
    pub secret: String,
}

/// A Gateway API `Gateway` the app's HTTPRoute attaches to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayRef {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace.
    pub namespace: String,
    /// The listener (`sectionName`) to attach to; all listeners when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
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

impl EgressProxy {
    /// The proxy the embedded org ([`crate::model::org::Org::builtin`]) and the README's example name:
    /// `egress-proxy.egress.svc.cluster.local:3128`, pods labelled
    /// `app.kubernetes.io/name: egress-proxy` in the `egress` namespace.
    pub fn example() -> EgressProxy {
        EgressProxy {
            host: "egress-proxy.egress.svc.cluster.local".into(),
            port: 3128,
            namespace: "egress".into(),
            pod_labels: labels(&[("app.kubernetes.io/name", "egress-proxy")]),
        }
    }
}

/// The OpenTelemetry collector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the one protocol every starter app
    /// speaks (see [`OtlpProtocol`]).
    pub protocol: OtlpProtocol,
    /// The collector's port, for the NetworkPolicy.
    pub port: u16,
    /// Where the collector's pods run.
    pub namespace: String,
    /// The collector pods' labels.
    #[serde(default)]
    pub pod_labels: IndexMap<String, String>,
}

crate::model::manifest::string_enum!(
    /// The OTLP protocol the Deployment sets (`OTEL_EXPORTER_OTLP_PROTOCOL`): only what every
    /// built-in starter app speaks. Both export OTLP over HTTP with protobuf; Node also speaks
    /// `http/json`, which the Python OpenTelemetry SDK has no exporter for, and neither ships a
    /// gRPC exporter (it would add `grpcio`, a native wheel, to every Python image, and
    /// `@grpc/grpc-js` to every Node one, for what OTLP/HTTP already does on the collector's
    /// port 4318). Both apps refuse anything else at start-up.
    OtlpProtocol {
        /// OTLP/HTTP with protobuf bodies (`/v1/traces`, `/v1/metrics` on port 4318).
        HttpProtobuf = "http/protobuf",
    }
);

crate::model::manifest::string_enum!(
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
                protocol: OtlpProtocol::HttpProtobuf,
                port: 4318,
                namespace: "observability".into(),
                pod_labels: labels(&[("app.kubernetes.io/name", "opentelemetry-collector")]),
            },
            kyverno: KyvernoForm::ValidatingPolicy,
            // The same address as the pipeline's smoke test (`ci.deploy.url`).
            base_url_template: "https://{app}.{environment}.apps.example.com".into(),
            secret_stores: SecretStores::default(),
            data: DataConfig::default(),
            ingress_class: None,
            gateway: None,
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
pub fn check_org(cx: &mut crate::load::document::Checker<'_>) {
    use serde_json::Value;
    let text = |cx: &crate::load::document::Checker<'_>, p: &str| match cx.get(p) {
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
        && !crate::model::manifest::is_hostname(&host)
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
        && protocol.parse::<OtlpProtocol>().is_err()
    {
        let supported: Vec<String> = OtlpProtocol::ALL.iter().map(|p| format!("`{p}`")).collect();
        let known = ["grpc", "http/json"].contains(&protocol.as_str());
        cx.error(
            "/sandbox/telemetry/protocol",
            if known {
                format!(
                    "`{protocol}` is an OTLP protocol the starter apps do not speak: they refuse to start with it"
                )
            } else {
                format!("`{protocol}` is not an OTLP protocol")
            },
            format!(
                "use {}: every starter app exports OTLP over HTTP with protobuf (Node also speaks `http/json`, Python does not; neither speaks `grpc`); point `endpoint` at the collector's OTLP/HTTP port (4318)",
                supported.join(" or ")
            ),
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
    if let (Some(app_url), Some(pipeline_url)) = (
        text(cx, "/sandbox/base_url_template"),
        text(cx, "/ci/deploy/url"),
    ) && app_url != pipeline_url
    {
        cx.error(
            "/sandbox/base_url_template",
            format!("the app's address `{app_url}` is not the address the pipeline's smoke test probes (`ci.deploy.url`: `{pipeline_url}`)"),
            "give `sandbox.base_url_template` and `ci.deploy.url` the same value",
        );
    }
    if let Some(template) = text(cx, "/sandbox/base_url_template") {
        let url = template
            .replace("{app}", "my-app")
            .replace("{environment}", "sandbox");
        let ok = template.contains("{app}")
            && url.starts_with("https://")
            && url_host_port(&url).is_some()
            && !url.contains(char::is_whitespace);
        if !ok {
            cx.error(
                "/sandbox/base_url_template",
                format!("`{template}` is not an https URL template naming `{{app}}`"),
                "the apps' public address with `{app}` for the app's name, like `https://{app}.apps.acme.corp`",
            );
        }
    }
    for key in ["vault", "aws-secrets-manager", "env"] {
        let pointer = format!("/sandbox/secret_stores/{key}");
        if let Some(name) = text(cx, &pointer)
            && (!name.split('.').all(is_dns_label) || name.len() > 253)
        {
            cx.error(
                &pointer,
                format!("`{name}` is not a ClusterSecretStore name"),
                "name the store as `kubectl get clustersecretstores` lists it, like `vault`",
            );
        }
    }
    if let Some(secret) = text(cx, "/sandbox/data/external_database/secret") {
        let name = secret.replace("{app}", "my-app");
        if !name.split('.').all(is_dns_label) || name.len() > 253 {
            cx.error(
                "/sandbox/data/external_database/secret",
                format!("`{secret}` is not a Kubernetes Secret name"),
                "lowercase letters, digits, `-` and `.`, with `{app}` for the app's name: `{app}-database`",
            );
        }
    }
    if let Some(Value::Array(tiers)) = cx.get("/sandbox/data/external_database/tiers")
        && tiers.iter().any(|t| t == "prototype")
    {
        cx.error(
            "/sandbox/data/external_database/tiers",
            "prototypes keep their data in an emptyDir, never in the external database",
            "list `sandbox` and/or `production`",
        );
    }
    if let Some(class) = text(cx, "/sandbox/ingress_class")
        && (!class.split('.').all(is_dns_label) || class.len() > 253)
    {
        cx.error(
            "/sandbox/ingress_class",
            format!("`{class}` is not an IngressClass name"),
            "name it as `kubectl get ingressclass` lists it, like `nginx`",
        );
    }
    if cx.get("/sandbox/ingress_class").is_some() && cx.get("/sandbox/gateway").is_some() {
        cx.error(
            "/sandbox/gateway",
            "both `ingress_class` and `gateway` are set: the app gets one route",
            "keep `ingress_class` (an Ingress) or `gateway` (a Gateway API HTTPRoute), not both",
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

/// The host and port of an `http(s)://host[:port]/...` URL, lowercased; `None` for anything else.
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, p.parse().ok()?),
        _ => (authority, default_port),
    };
    let host = host.to_ascii_lowercase();
    crate::model::manifest::is_hostname(&host).then_some((host, port))
}

/// Is this host inside the cluster (a Service name), so reached without the egress proxy?
fn in_cluster(host: &str) -> bool {
    !host.contains('.') || host.ends_with(".svc") || host.ends_with(".cluster.local")
}

/// The org's `base_url_template` for an app in a tier (`{environment}`: see
/// [`crate::generate::plan::environment`]).
pub fn base_url(cfg: &SandboxConfig, app: &str, tier: Tier) -> String {
    cfg.base_url_template
        .replace("{app}", app)
        .replace("{environment}", crate::generate::plan::environment(tier))
        .trim_end_matches('/')
        .to_string()
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
    let or_promote = if tier == Tier::Production {
        ""
    } else {
        ", or promote the app with `levee promote --tier production`"
    };
    if cpu > cap_cpu {
        refusals.push(Refusal {
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
        refusals.push(Refusal {
            field: "/runtime/mem_limit".into(),
            message: format!("`mem_limit` {memory} is over the {tier} tier's cap of {cap_memory}"),
            hint: format!("lower `runtime.mem_limit` to at most {cap_memory}{or_promote}"),
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
        egress.push(EgressHost {
            host,
            port: 443,
            reason: "runtime.egress",
        });
    }

    // What the app reaches on its own behalf: its login provider, and the telemetry collector
    // when it is outside the cluster. Through the proxy when the org has one; without one a
    // NetworkPolicy cannot name a host, so HTTPS to any address is allowed for them (and said so).
    let sso_issuer = m.sso.as_ref().and_then(|s| s.issuer.clone());
    let mut own = Vec::new();
    if let Some(issuer) = &sso_issuer {
        match url_host_port(issuer) {
            Some((host, port)) => own.push((host, port, "the SSO issuer")),
            None => refusals.push(Refusal {
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

    // The manifest's checks refuse these already; the Deployment never relies on that alone.
    let mut settings = Vec::new();
    for (name, value) in &m.settings {
        let problem = crate::model::settings::name_problem(name)
            .or_else(|| crate::model::settings::value_problem(value));
        match problem {
            Some(p) => refusals.push(Refusal {
                field: format!("/settings/{}", crate::load::yaml::escape_pointer(name)),
                message: p.message,
                hint: p.hint,
            }),
            None => settings.push(SettingEnv {
                name: name.clone(),
                value: value.replace('$', "$$"),
            }),
        }
    }

    let tmp_size = "64Mi".to_string();
    let data = match tier {
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
    };

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
    // The resource the starter apps build from app.yaml (templates/CONTRACT.md, "Telemetry"),
    // with the current semantic-convention names (`deployment.environment.name`, not the
    // deprecated `deployment.environment`), plus what only the cluster knows. The apps let these
    // win, so each must say what the app says itself: `service.namespace` is the owning team
    // (the convention's own example), the Kubernetes namespace is `k8s.namespace.name`.
    // Label-safe values only: they go inside a double-quoted YAML string, unencoded.
    let otel_resource_attributes = vec![
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
    ];

    let base_url = base_url(cfg, &m.name, tier);
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
    static ENV: std::sync::OnceLock<Result<minijinja::Environment<'static>, SandboxError>> =
        std::sync::OnceLock::new();
    match ENV.get_or_init(compile_environment) {
        Ok(env) => Ok(env),
        // A bug in the embedded templates (a test compiles them all): the same error each time.
        Err(SandboxError::Template { name, source }) => Err(SandboxError::Template {
            name: name.clone(),
            source: minijinja::Error::new(source.kind(), source.to_string()),
        }),
        Err(other) => Err(SandboxError::Template {
            name: "(environment)".into(),
            source: minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                other.to_string(),
            ),
        }),
    }
}

fn compile_environment() -> Result<minijinja::Environment<'static>, SandboxError> {
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
    // A double-quoted YAML string as a person writes it (`tojson` writes `&` as `\u0026`).
    env.add_filter("yaml_str", |v: minijinja::Value| {
        minijinja::Value::from_safe_string(crate::scaffold::render::quoted(&v))
    });
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
