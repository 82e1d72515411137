//! The org config's `ci:` section: the generated pipelines' pinned actions, tool versions and
//! images, and how CI installs levee. Data a platform team bumps without a levee release;
//! The pipeline generator (`generate::pipeline`) lays it out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::load::document::Checker;

/// CI settings in the org config (`ci:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CiSettings {
    /// The branch deploys run from.
    pub default_branch: String,
    /// The GitHub runner label.
    pub runner: String,
    /// GitHub actions, pinned by full commit SHA.
    pub actions: Actions,
    /// Tool versions passed to actions.
    pub tools: Tools,
    /// Container images (GitLab jobs; GitHub build and scan containers). A digest
    /// (`name:tag@sha256:...`) may follow the tag.
    pub images: Images,
    /// How CI gets levee.
    pub levee: LeveeInstall,
    /// GitLab-only settings.
    pub gitlab: GitlabSettings,
    /// The deploy and post-deploy commands.
    pub deploy: DeploySettings,
    /// The scheduled template upgrade job, which opens one pull/merge request per new template
    /// version (docs/fleet-upgrades.md).
    pub upgrade: crate::model::upgrade_job::UpgradeSettings,
}

/// An action pinned by commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinnedAction {
    /// `owner/repo`.
    pub uses: String,
    /// The full 40-hex commit SHA.
    #[schemars(regex(pattern = r"^[0-9a-f]{40}$"))]
    pub sha: String,
    /// The release the SHA belongs to (written as a comment).
    pub version: String,
}

fn pinned(uses: &str, sha: &str, version: &str) -> PinnedAction {
    PinnedAction {
        uses: uses.into(),
        sha: sha.into(),
        version: version.into(),
    }
}

/// The actions generated workflows use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Actions {
    pub checkout: PinnedAction,
    pub setup_opa: PinnedAction,
    pub trivy: PinnedAction,
    pub upload_artifact: PinnedAction,
    pub cache: PinnedAction,
    /// Opens or updates the template upgrade's pull request (`levee-upgrade.yml`).
    pub create_pull_request: PinnedAction,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            checkout: pinned(
                "actions/checkout",
                "3d3c42e5aac5ba805825da76410c181273ba90b1",
                "v7.0.1",
            ),
            // Not the `v2` ref: that is a stale branch running on Node 20.
            setup_opa: pinned(
                "open-policy-agent/setup-opa",
                "b2b258e089860efaadaaf71bf6e3aecb4a3eeff1",
                "v2.4.0",
            ),
            // Its tags were hijacked in March 2026: only ever pin it by SHA.
            trivy: pinned(
                "aquasecurity/trivy-action",
                "ed142fd0673e97e23eac54620cfb913e5ce36c25",
                "v0.36.0",
            ),
            upload_artifact: pinned(
                "actions/upload-artifact",
                "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
                "v7.0.0",
            ),
            cache: pinned(
                "actions/cache",
                "27d5ce7f107fe9357f9df03efb73ab90386fccae",
                "v5.0.5",
            ),
            create_pull_request: pinned(
                "peter-evans/create-pull-request",
                "5f6978faf089d4d20b00c7766989d076bb2fc7f1",
                "v8.1.1",
            ),
        }
    }
}

/// Tool versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Tools {
    /// OPA, for `setup-opa`.
    pub opa: String,
    /// trivy, for `trivy-action`.
    pub trivy: String,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            opa: "1.22.3".into(),
            trivy: "0.69.3".into(),
        }
    }
}

/// Container images, pinned by version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Images {
    /// Where `cargo install levee-cli` runs on GitLab.
    pub rust: String,
    /// OPA with a shell (GitLab).
    pub opa: String,
    /// The MIT-licensed gitleaks CLI (both CIs).
    pub gitleaks: String,
    /// trivy (GitLab).
    pub trivy: String,
    /// Build and test for node apps.
    pub node: String,
    /// Build and test for python apps (uv and Python).
    pub python: String,
    /// Deploy, smoke and telemetry jobs (GitLab): kubectl and curl.
    pub deploy: String,
}

impl Default for Images {
    fn default() -> Self {
        Images {
            rust: "rust:1.95-slim-bookworm".into(),
            opa: "openpolicyagent/opa:1.22.3-debug".into(),
            gitleaks: "ghcr.io/gitleaks/gitleaks:v8.30.1".into(),
            trivy: "aquasec/trivy:0.69.3".into(),
            node: "node:24.22.3-bookworm-slim".into(),
            python: "ghcr.io/astral-sh/uv:0.13.9-python3.12-bookworm-slim".into(),
            deploy: "alpine/k8s:1.34.2".into(),
        }
    }
}

/// How CI installs levee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LeveeInstall {
    /// `cargo`: `cargo install --locked levee-cli@<the generating version>`, cached; `image`: an
    /// image the platform team publishes with levee at `binary`.
    pub method: InstallMethod,
    /// The levee image (required for `method: image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Where levee sits in the image.
    pub binary: String,
}

impl Default for LeveeInstall {
    fn default() -> Self {
        LeveeInstall {
            method: InstallMethod::Cargo,
            image: None,
            binary: "/usr/local/bin/levee".into(),
        }
    }
}

crate::model::manifest::string_enum!(
    /// How CI gets levee.
    InstallMethod { Cargo = "cargo", Image = "image" }
);

/// GitLab-only settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct GitlabSettings {
    /// Also include GitLab's `Jobs/Secret-Detection` template (reports to the security
    /// dashboard; the blocking scan stays levee's gitleaks job).
    pub secret_detection_template: bool,
    /// The `aud` of the deploy job's OIDC token.
    pub id_token_audience: String,
}

impl Default for GitlabSettings {
    fn default() -> Self {
        GitlabSettings {
            secret_detection_template: false,
            id_token_audience: "https://gitlab.com".into(),
        }
    }
}

/// Deploy settings. Commands run with `LEVEE_APP`, `LEVEE_ENVIRONMENT` and `LEVEE_APP_URL` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DeploySettings {
    /// The app's URL; `{app}` and `{environment}` are replaced.
    pub url: String,
    /// Deploys the app (the runtime manifests in `deploy/`).
    #[schemars(regex(pattern = crate::load::schema::MULTI_LINE))]
    pub command: String,
    /// Fails when the deployed app is not healthy.
    #[schemars(regex(pattern = crate::load::schema::MULTI_LINE))]
    pub smoke: String,
    /// Fails when the deployed app's telemetry does not arrive.
    #[schemars(regex(pattern = crate::load::schema::MULTI_LINE))]
    pub telemetry: String,
}

impl Default for DeploySettings {
    fn default() -> Self {
        DeploySettings {
            url: "https://{app}.{environment}.apps.example.com".into(),
            // Server-side dry run first, so what is applied is what the API server accepted.
            command: "kubectl apply --dry-run=server -f deploy/ && kubectl apply -f deploy/".into(),
            smoke: "curl --fail --silent --show-error --retry 10 --retry-delay 6 --retry-all-errors \"$LEVEE_APP_URL/healthz\"".into(),
            // The starter apps report `"telemetry":"exporting"` on /healthz when OTLP export is on.
            telemetry: "curl -fsS --retry 10 --retry-delay 6 --retry-all-errors \"$LEVEE_APP_URL/healthz\" | grep -Eq '\"telemetry\": ?\"exporting\"'".into(),
        }
    }
}

impl Default for CiSettings {
    fn default() -> Self {
        CiSettings {
            default_branch: "main".into(),
            runner: "ubuntu-24.04".into(),
            actions: Actions::default(),
            tools: Tools::default(),
            images: Images::default(),
            levee: LeveeInstall::default(),
            gitlab: GitlabSettings::default(),
            deploy: DeploySettings::default(),
            upgrade: crate::model::upgrade_job::UpgradeSettings::default(),
        }
    }
}

/// Checks the org config's `ci` values that levee writes into generated pipelines: each must be
/// what it claims to be (a runner label, a branch name, an image reference, an `https://` URL),
/// and none may hold a GitHub expression (`${{ … }}`), which the runner would evaluate (template
/// injection). The templates quote them too.
pub(crate) fn check_org(cx: &mut Checker<'_>) {
    let mut checks: Checks = Vec::new();
    check_runner_and_branch(cx, &mut checks);
    check_deploy_url(cx, &mut checks);
    check_images(cx, &mut checks);
    check_versions(cx, &mut checks);
    check_injection(cx, &mut checks);
    for (pointer, message, hint) in checks {
        cx.error(&pointer, message, hint);
    }
}

/// The problems found: the field's pointer, what is wrong, the hint.
type Checks = Vec<(String, String, &'static str)>;

/// The string at `pointer`, unless it holds a control character (the document check reports
/// those already).
fn text(cx: &Checker<'_>, pointer: &str) -> Option<String> {
    cx.get(pointer)
        .and_then(serde_json::Value::as_str)
        .filter(|s| crate::support::text::find_forbidden(s).is_none())
        .map(str::to_string)
}

/// ASCII letters and digits and the characters of `extra`, starting with a letter or digit.
fn plain(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// The runner label and the default branch.
fn check_runner_and_branch(cx: &Checker<'_>, checks: &mut Checks) {
    if let Some(v) = text(cx, "/ci/runner")
        && !plain(&v, "._-")
    {
        checks.push((
            "/ci/runner".into(),
            format!("`{v}` is not a runner label"),
            "one label of letters, digits, `.`, `_` and `-`, like `ubuntu-24.04`",
        ));
    }
    if let Some(v) = text(cx, "/ci/default_branch")
        && (!plain(&v, "._/-")
            || v.contains("..")
            || v.contains("//")
            || v.ends_with('/')
            || v.ends_with(".lock"))
    {
        checks.push((
            "/ci/default_branch".into(),
            format!("`{v}` is not a branch name"),
            "a git branch name of letters, digits, `.`, `_`, `-` and `/`, like `main`",
        ));
    }
}

/// The deploy URL the smoke test probes.
fn check_deploy_url(cx: &Checker<'_>, checks: &mut Checks) {
    if let Some(v) = text(cx, "/ci/deploy/url") {
        let filled = v.replace("{app}", "app").replace("{environment}", "env");
        let host = filled
            .strip_prefix("https://")
            .or_else(|| filled.strip_prefix("http://"));
        let bad_char = filled.chars().any(|c| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '`' | '{' | '}' | '<' | '>' | '$')
        });
        if host.is_none_or(|h| h.is_empty() || h.starts_with('/')) || bad_char {
            checks.push((
                "/ci/deploy/url".into(),
                format!("`{v}` is not an http(s) URL levee can write into a pipeline"),
                "an `https://` URL without spaces, quotes or `$`; `{app}` and `{environment}` are replaced",
            ));
        }
    }
}

/// The container images, and where levee itself comes from (image or binary).
fn check_images(cx: &Checker<'_>, checks: &mut Checks) {
    for key in [
        "rust", "opa", "gitleaks", "trivy", "node", "python", "deploy",
    ] {
        let pointer = format!("/ci/images/{key}");
        if let Some(v) = text(cx, &pointer)
            && !plain(&v, "._/:@+-")
        {
            checks.push((
                pointer,
                format!("`{v}` is not a container image reference"),
                "`registry/name:tag`, optionally `@sha256:…`",
            ));
        }
    }
    if let Some(v) = text(cx, "/ci/levee/image")
        && !plain(&v, "._/:@+-")
    {
        checks.push((
            "/ci/levee/image".into(),
            format!("`{v}` is not a container image reference"),
            "`registry/name:tag`, optionally `@sha256:…`",
        ));
    }
    if let Some(v) = text(cx, "/ci/levee/binary")
        && !(v.starts_with('/') && plain(&v[1..], "._/+-"))
    {
        checks.push((
            "/ci/levee/binary".into(),
            format!("`{v}` is not an absolute path levee can write into a pipeline"),
            "an absolute path of letters, digits, `.`, `_`, `-` and `/`, like `/usr/local/bin/levee`",
        ));
    }
}

/// The tool versions and the actions (repository and release).
fn check_versions(cx: &Checker<'_>, checks: &mut Checks) {
    for key in ["opa", "trivy"] {
        let pointer = format!("/ci/tools/{key}");
        if let Some(v) = text(cx, &pointer)
            && !plain(&v, "._+-")
        {
            checks.push((
                pointer,
                format!("`{v}` is not a version"),
                "a version like `1.22.3`",
            ));
        }
    }
    for key in ["checkout", "setup_opa", "trivy", "upload_artifact", "cache"] {
        let uses = format!("/ci/actions/{key}/uses");
        if let Some(v) = text(cx, &uses)
            && (!plain(&v, "._/-") || !v.contains('/'))
        {
            checks.push((
                uses,
                format!("`{v}` is not an action (`owner/repo`)"),
                "the action's repository, like `actions/checkout`",
            ));
        }
        let version = format!("/ci/actions/{key}/version");
        if let Some(v) = text(cx, &version)
            && !plain(&v, "._+-")
        {
            checks.push((
                version,
                format!("`{v}` is not a release name"),
                "the release the SHA belongs to, like `v4.2.2`",
            ));
        }
    }
}

/// Values written into a pipeline where an expression or a quote would inject: the GitLab ID
/// token's audience and the deploy commands.
fn check_injection(cx: &Checker<'_>, checks: &mut Checks) {
    if let Some(v) = text(cx, "/ci/gitlab/id_token_audience")
        && (v.is_empty()
            || v.chars()
                .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '`' | '$')))
    {
        checks.push((
            "/ci/gitlab/id_token_audience".into(),
            format!("`{v}` is not an audience levee can write into a pipeline"),
            "a URL or name without spaces, quotes or `$`, like `https://gitlab.com`",
        ));
    }
    for key in ["command", "smoke", "telemetry"] {
        let pointer = format!("/ci/deploy/{key}");
        if let Some(v) = cx.get(&pointer).and_then(serde_json::Value::as_str)
            && (v.contains("${{") || v.contains("{{"))
        {
            checks.push((
                pointer,
                "a GitHub expression (`${{ … }}`) in a command is evaluated before the shell runs it (template injection)".into(),
                "read values from environment variables instead: the deploy jobs set `LEVEE_APP`, `LEVEE_ENVIRONMENT` and `LEVEE_APP_URL`",
            ));
        }
    }
}
