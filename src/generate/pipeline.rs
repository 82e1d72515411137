//! CI pipelines: the gate plan laid out as GitHub Actions or GitLab CI.
//!
//! The YAML lives in `pipelines/` (minijinja templates, embedded with include_dir); this module
//! only prepares the data they read. Templates use `{{{ }}}` for variables so GitHub's own
//! `${{ }}` expressions need no escaping (cargo-dist does the same).
//!
//! The pinned actions, tool versions and images are data in the org config (`ci:`), so a platform
//! team bumps them without a levee release.

use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use minijinja::{Environment, UndefinedBehavior, syntax::SyntaxConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::generate::plan::{Gate, Plan, Stage, Tool};
use crate::model::manifest::{Ci, Manifest};
use crate::model::org::Org;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/pipelines");

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
pub fn check_org(cx: &mut crate::load::document::Checker<'_>) {
    fn text(cx: &crate::load::document::Checker<'_>, pointer: &str) -> Option<String> {
        cx.get(pointer)
            .and_then(serde_json::Value::as_str)
            // A control character is reported by the document check already.
            .filter(|s| crate::support::text::find_forbidden(s).is_none())
            .map(str::to_string)
    }
    let plain = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
    };
    let mut checks: Vec<(String, String, &str)> = Vec::new();
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
    for (pointer, message, hint) in checks {
        cx.error(&pointer, message, hint);
    }
}

/// Why a pipeline could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("the org config sets `ci.levee.method: image` but no `ci.levee.image`")]
    NoLeveeImage,
    #[error(
        "the app's stack `{stack}` is not one its template pack declares ({declared}); run `levee upgrade` to a pack version that declares it, or set `stack:` to a declared one"
    )]
    UndeclaredStack { stack: String, declared: String },
    #[error("cannot render the pipeline template {name}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

/// The CI an app uses (github when the manifest does not say).
pub fn ci_of(manifest: &Manifest) -> Ci {
    manifest.ci.unwrap_or(Ci::Github)
}

/// Where a CI's pipeline lives in the app.
pub fn path(ci: Ci) -> &'static str {
    match ci {
        Ci::Github => ".github/workflows/levee.yml",
        Ci::Gitlab => ".gitlab-ci.yml",
    }
}

/// Where a CI's CODEOWNERS lives in the app.
pub fn codeowners_path(ci: Ci) -> &'static str {
    match ci {
        Ci::Github => ".github/CODEOWNERS",
        Ci::Gitlab => "CODEOWNERS",
    }
}

/// The provenance header of every managed file, as comment lines without the `# `.
pub fn header_lines() -> [String; 2] {
    [
        format!(
            "Generated by levee v{} from app.yaml. Do not edit by hand:",
            crate::VERSION
        ),
        "change app.yaml or the org config, then run `levee sync` to regenerate.".into(),
    ]
}

fn env() -> &'static Result<Environment<'static>, minijinja::Error> {
    static ENV: OnceLock<Result<Environment<'static>, minijinja::Error>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_syntax(
            SyntaxConfig::builder()
                .variable_delimiters("{{{", "}}}")
                .block_delimiters("{%", "%}")
                .comment_delimiters("{#", "#}")
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()?,
        );
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // YAML is written as YAML: values that need quoting are quoted in the template.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        // A YAML double-quoted scalar (JSON string syntax, without `tojson`'s HTML escapes).
        env.add_filter("yaml_str", |s: String| {
            serde_json::to_string(&s).unwrap_or_default()
        });
        // A string literal inside a GitHub expression: single-quoted, `'` doubled.
        env.add_filter("gh_literal", |s: String| {
            format!("'{}'", s.replace('\'', "''"))
        });
        for file in template_files() {
            if let (Some(name), Some(text)) = (file.path().to_str(), file.contents_utf8()) {
                env.add_template_owned(name.to_string(), text.to_string())?;
            }
        }
        Ok(env)
    })
}

/// Renders one embedded template.
fn render_template(name: &str, ctx: minijinja::Value) -> Result<String, PipelineError> {
    let err = |source| PipelineError::Template {
        name: name.to_string(),
        source,
    };
    let env = env().as_ref().map_err(|e| {
        err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            e.to_string(),
        ))
    })?;
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(err)
}

/// The names of every embedded pipeline template (a test renders them all).
pub fn template_names() -> Vec<String> {
    template_files()
        .into_iter()
        .filter_map(|f| f.path().to_str().map(str::to_string))
        .collect()
}

/// A job as a template sees it.
#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    name: String,
    stage: Stage,
    gates: Vec<Gate>,
    tools: Vec<Tool>,
    needs: Vec<String>,
    timeout_minutes: u32,
    blocking: bool,
    default_branch_only: bool,
}

/// GitHub: the plan's jobs as they are.
fn github_jobs(plan: &Plan) -> Vec<JobView> {
    plan.jobs
        .iter()
        .map(|j| {
            let mut tools: Vec<Tool> = j.gates.iter().map(|g| g.tool()).collect();
            tools.dedup();
            JobView {
                id: j.id.into(),
                name: j.name.into(),
                stage: j.stage,
                gates: j.gates.clone(),
                tools,
                needs: j.needs.iter().map(|n| n.to_string()).collect(),
                timeout_minutes: j.timeout_minutes,
                blocking: j.blocking,
                default_branch_only: j.default_branch_only,
            }
        })
        .collect()
}

/// GitLab: one image per job, so a job whose gates use several tools becomes one job per tool
/// (`preflight-levee`, `preflight-opa`, ...), and `needs` follow. The approval gate becomes a
/// manual deploy instead of a job.
fn gitlab_jobs(plan: &Plan) -> Vec<JobView> {
    let split = |j: &crate::generate::plan::Job| -> Vec<(String, Tool, Vec<Gate>)> {
        let mut by_tool: Vec<(Tool, Vec<Gate>)> = Vec::new();
        for g in &j.gates {
            match by_tool.iter_mut().find(|(t, _)| *t == g.tool()) {
                Some((_, gates)) => gates.push(*g),
                None => by_tool.push((g.tool(), vec![*g])),
            }
        }
        let single = by_tool.len() == 1;
        by_tool
            .into_iter()
            .map(|(tool, gates)| {
                let id = if single {
                    j.id.to_string()
                } else {
                    format!("{}-{}", j.id, tool_name(tool))
                };
                (id, tool, gates)
            })
            .collect()
    };
    let expanded: Vec<(&'static str, Vec<String>)> = plan
        .jobs
        .iter()
        .map(|j| (j.id, split(j).into_iter().map(|(id, _, _)| id).collect()))
        .collect();
    let ids_of = |needs: &[&'static str]| -> Vec<String> {
        let mut out = Vec::new();
        for n in needs {
            match plan.job(n) {
                // Approval is folded into a manual deploy: depend on what it needed.
                Some(j) if j.gates == [Gate::Approval] => {
                    for nn in &j.needs {
                        if let Some((_, ids)) = expanded.iter().find(|(id, _)| id == nn) {
                            out.extend(ids.iter().cloned());
                        }
                    }
                }
                _ => {
                    if let Some((_, ids)) = expanded.iter().find(|(id, _)| id == n) {
                        out.extend(ids.iter().cloned());
                    }
                }
            }
        }
        out
    };
    plan.jobs
        .iter()
        .filter(|j| j.gates != [Gate::Approval])
        .flat_map(|j| {
            let needs = ids_of(&j.needs);
            split(j).into_iter().map(move |(id, tool, gates)| JobView {
                name: j.name.into(),
                id,
                stage: j.stage,
                gates,
                tools: vec![tool],
                needs: needs.clone(),
                timeout_minutes: j.timeout_minutes,
                blocking: j.blocking,
                default_branch_only: j.default_branch_only,
            })
        })
        .collect()
}

fn tool_name(t: Tool) -> &'static str {
    match t {
        Tool::Levee => "levee",
        Tool::Opa => "opa",
        Tool::Gitleaks => "gitleaks",
        Tool::Trivy => "trivy",
        Tool::Stack => "build",
        Tool::Deploy => "deploy",
    }
}

fn ser<T: Serialize>(v: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// Every file under `dir`, recursively.
fn all_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    for e in dir.entries() {
        match e {
            include_dir::DirEntry::Dir(d) => all_files(d, out),
            include_dir::DirEntry::File(f) => out.push(f),
        }
    }
}

fn template_files() -> Vec<&'static include_dir::File<'static>> {
    let mut out = Vec::new();
    all_files(&TEMPLATES, &mut out);
    out.retain(|f| f.path().extension().is_some_and(|e| e == "j2"));
    out
}

/// The build job of the app's stack, as the templates read it: the image, the steps (each a
/// YAML scalar already, plain when it can be and double-quoted otherwise), the cache.
#[derive(Debug, Serialize)]
struct StackView {
    image: String,
    steps: Vec<StepView>,
    cache: Option<CacheView>,
}

#[derive(Debug, Serialize)]
struct StepView {
    name: String,
    run: String,
}

#[derive(Debug, Serialize)]
struct CacheView {
    dir: String,
    env: Option<String>,
    /// The key files, each a YAML scalar.
    key: Vec<String>,
    /// The key files as GitHub expression literals, comma-separated (`'go.sum'`).
    key_literals: String,
}

/// The stack's declaration ([`crate::model::declarations`]), from the pack the app was made from. The
/// org config's `ci.images.node` and `ci.images.python` pin the built-in stacks' images.
fn stack_view(manifest: &Manifest, org: &Org, plan: &Plan) -> Result<StackView, PipelineError> {
    let name = plan.stack.as_str();
    let spec =
        manifest
            .declared
            .get()
            .stacks
            .get(name)
            .ok_or_else(|| PipelineError::UndeclaredStack {
                stack: name.to_string(),
                declared: manifest.declared.get().stack_names().join(", "),
            })?;
    let image = match name {
        "node" => org.ci.images.node.clone(),
        "python" => org.ci.images.python.clone(),
        _ => spec.image.clone(),
    };
    Ok(StackView {
        image,
        steps: spec
            .build
            .iter()
            .map(|s| StepView {
                name: yaml_scalar(s.name()),
                run: yaml_scalar(s.run()),
            })
            .collect(),
        cache: spec.cache.as_ref().map(|c| CacheView {
            dir: yaml_scalar(&c.dir),
            env: c.env.clone(),
            key: c.key.iter().map(|k| yaml_scalar(k)).collect(),
            key_literals: c
                .key
                .iter()
                .map(|k| format!("'{}'", k.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    })
}

/// A string as a YAML scalar: plain when YAML reads it back as the same string, else
/// double-quoted (JSON string syntax).
fn yaml_scalar(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '.' | '_' | '-' | '/' | '(' | ')' | '+' | '=' | ',' | '@' | ':'
                )
        })
        && !s.ends_with(' ')
        && !s.contains(" #")
        && !s.contains(": ")
        && !s.ends_with(':')
        && serde_norway::from_str::<serde_norway::Value>(s)
            .ok()
            .is_some_and(|v| v.as_str() == Some(s));
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// Everything a template reads.
fn context(
    manifest: &Manifest,
    org: &Org,
    plan: &Plan,
    ci: Ci,
) -> Result<minijinja::Value, PipelineError> {
    let settings = &org.ci;
    if settings.levee.method == InstallMethod::Image && settings.levee.image.is_none() {
        return Err(PipelineError::NoLeveeImage);
    }
    let jobs = match ci {
        Ci::Github => github_jobs(plan),
        Ci::Gitlab => gitlab_jobs(plan),
    };
    let mut stages: Vec<&str> = Vec::new();
    for s in plan.stages() {
        let name = match s {
            Stage::Preflight => "preflight",
            Stage::Scan => "scan",
            Stage::Build => "build",
            Stage::Deploy => "deploy",
            Stage::Verify => "verify",
        };
        stages.push(name);
        // GitLab's Secret-Detection template runs in `test`.
        if s == Stage::Build && ci == Ci::Gitlab && settings.gitlab.secret_detection_template {
            stages.push("test");
        }
    }
    let url = settings
        .deploy
        .url
        .replace("{app}", &manifest.name)
        .replace("{environment}", plan.deploy.environment);
    let upgrade = &settings.upgrade;
    let upgrade_path =
        (ci == Ci::Github && upgrade.enabled).then_some(crate::model::upgrade_job::GITHUB_PATH);
    let upgrade_view = minijinja::context! {
        enabled => upgrade.enabled,
        cron => crate::model::upgrade_job::cron(&upgrade.schedule, &manifest.name),
        branch => crate::model::upgrade_job::BRANCH,
        committer => upgrade.committer(ci),
        labels => &upgrade.labels,
        conflict_label => &upgrade.conflict_label,
        token_secret => &upgrade.token_secret,
        script => upgrade_script(ci)?,
    };
    Ok(minijinja::context! {
        stack => ser(stack_view(manifest, org, plan)?),
        upgrade => upgrade_view,
        header => header_lines(),
        version => crate::VERSION,
        app => manifest.name.as_str(),
        plan => ser(plan),
        jobs => ser(&jobs),
        stages => stages,
        sca_severity => plan.sca_severities.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
        ci => ser(settings),
        app_url => url,
        owners => ser(&org.owners),
        pipeline_path => path(ci),
        upgrade_path => upgrade_path,
        codeowners_path => codeowners_path(ci),
    })
}

/// The pipeline file for an app: its path in the app and its text.
pub fn render(
    manifest: &Manifest,
    org: &Org,
    plan: &Plan,
    ci: Ci,
) -> Result<String, PipelineError> {
    let ctx = context(manifest, org, plan, ci)?;
    let name = match ci {
        Ci::Github => "github/levee.yml.j2",
        Ci::Gitlab => "gitlab/gitlab-ci.yml.j2",
    };
    render_template(name, ctx)
}

/// The scheduled template upgrade workflow (GitHub; GitLab's upgrade job is part of its one
/// pipeline file). `None` when the org config turns the job off.
pub fn render_upgrade(
    manifest: &Manifest,
    org: &Org,
    plan: &Plan,
    ci: Ci,
) -> Result<Option<String>, PipelineError> {
    if ci != Ci::Github || !org.ci.upgrade.enabled {
        return Ok(None);
    }
    let ctx = context(manifest, org, plan, ci)?;
    render_template("github/levee-upgrade.yml.j2", ctx).map(Some)
}

/// The script the upgrade job runs over `levee upgrade --format json`: the shared report renderer
/// (`pipelines/upgrade/report.py`) followed by the CI's own part (`github.py`, `gitlab.py`).
pub fn upgrade_script(ci: Ci) -> Result<String, PipelineError> {
    let part = match ci {
        Ci::Github => "upgrade/github.py",
        Ci::Gitlab => "upgrade/gitlab.py",
    };
    let mut out = String::new();
    for name in ["upgrade/report.py", part] {
        let text = TEMPLATES
            .get_file(name)
            .and_then(|f| f.contents_utf8())
            .ok_or_else(|| PipelineError::Template {
                name: name.to_string(),
                source: minijinja::Error::new(
                    minijinja::ErrorKind::TemplateNotFound,
                    "levee is missing this script",
                ),
            })?;
        out.push_str(text);
    }
    Ok(out)
}

/// The CODEOWNERS file that puts the pipeline and `policy/` under the platform and security
/// teams' review.
pub fn render_codeowners(
    manifest: &Manifest,
    org: &Org,
    plan: &Plan,
    ci: Ci,
) -> Result<String, PipelineError> {
    let ctx = context(manifest, org, plan, ci)?;
    render_template("CODEOWNERS.j2", ctx)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::document::{self, LoadError};

    fn app() -> Manifest {
        serde_norway::from_str(
            "name: pay\nowner: a@b.co\nclassification: internal\nlifecycle: {tier: sandbox}\n",
        )
        .expect("manifest")
    }

    fn org(text: &str) -> Result<Org, LoadError> {
        document::parse_str::<Org>(Path::new("levee.org.yaml"), text).map(|l| l.value)
    }

    #[test]
    fn org_config_bumps_a_pin_without_a_release() {
        let org = org("ci:\n  tools:\n    opa: 1.23.0\n  actions:\n    cache:\n      uses: actions/cache\n      sha: 0123456789abcdef0123456789abcdef01234567\n      version: v5.1.0\n")
            .expect("valid org");
        assert_eq!(
            org.ci.tools.trivy,
            Tools::default().trivy,
            "other keys keep defaults"
        );
        let m = app();
        let plan = crate::generate::plan::for_manifest(&m, &org);
        let text = render(&m, &org, &plan, Ci::Github).expect("render");
        assert!(text.contains("version: \"1.23.0\""));
        assert!(text.contains("actions/cache@0123456789abcdef0123456789abcdef01234567 # v5.1.0"));
    }

    #[test]
    fn org_config_ci_is_strict() {
        assert!(
            org("ci:\n  tool:\n    opa: 1.23.0\n").is_err(),
            "unknown key"
        );
        assert!(
            org("ci:\n  actions:\n    cache: {uses: actions/cache, sha: v5, version: v5}\n")
                .is_err(),
            "a tag is not a SHA"
        );
    }

    #[test]
    fn image_install_needs_an_image() {
        let mut org = Org::default();
        org.ci.levee.method = InstallMethod::Image;
        let m = app();
        let plan = crate::generate::plan::for_manifest(&m, &org);
        assert!(matches!(
            render(&m, &org, &plan, Ci::Gitlab),
            Err(PipelineError::NoLeveeImage)
        ));
    }
}
