//! The org config's `sandbox:` section: where and how apps run in Kubernetes (namespaces,
//! runtime classes, the egress proxy, telemetry, the admission policy form), and its checks.
//! The sandbox generator (`generate::sandbox`) turns it and a manifest into `deploy/`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::load::document::Checker;
use crate::model::manifest::{Memory, SecretProvider, Tier};

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
    pub(crate) fn for_provider(&self, p: SecretProvider) -> &str {
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
    pub(crate) fn example() -> EgressProxy {
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
pub(crate) fn check_org(cx: &mut Checker<'_>) {
    check_names(cx);
    check_services(cx);
    check_base_url(cx);
    check_secrets(cx);
    check_routes_and_ports(cx);
}

/// The string at `pointer` in the org config, if it is one.
fn text(cx: &Checker<'_>, pointer: &str) -> Option<String> {
    match cx.get(pointer) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The namespace, the hardened namespaces' prefix and the RuntimeClasses: Kubernetes names.
fn check_names(cx: &mut Checker<'_>) {
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
}

/// The egress proxy, the health path, the telemetry protocol and the image registry.
fn check_services(cx: &mut Checker<'_>) {
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
}

/// The apps' public address template: an https URL naming `{app}`, the one the pipeline probes.
fn check_base_url(cx: &mut Checker<'_>) {
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
}

/// The secret stores and the external database's Secret and tiers.
fn check_secrets(cx: &mut Checker<'_>) {
    use serde_json::Value;
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
}

/// The route (an IngressClass or a Gateway, not both) and the ports.
fn check_routes_and_ports(cx: &mut Checker<'_>) {
    use serde_json::Value;
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

/// The host and port of an `http(s)://host[:port]/...` URL, lowercased; `None` for anything else.
pub(crate) fn url_host_port(url: &str) -> Option<(String, u16)> {
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
