//! Generated pipelines, tested as a whole: snapshots per plan, the real validators over every
//! combination, and the structural checks the validators miss.

use std::path::{Path, PathBuf};
use std::process::Command;

use levee::generate::pipeline;
use levee::generate::plan;
use levee::model::ci::InstallMethod;
use levee::model::manifest::{Ci, Classification, Manifest, Stack, Tier};
use levee::model::org::Org;
use serde_json::Value;

fn manifest(c: Classification, t: Tier, stack: Stack, ci: Ci) -> Manifest {
    let text = format!(
        "name: expense-tracker\nowner: jdoe@acme.corp\nclassification: {c}\nstack: {stack}\nci: {ci}\nlifecycle:\n  tier: {t}\n  expires: 2026-04-01\n"
    );
    let mut m: Manifest = serde_norway::from_str(&text).expect("test manifest");
    // The stacks of the built-in pack and of the second pack in tests/fixtures/packs (`go`).
    m.declared = levee::model::manifest::Declared::of(acme_jobs().declared.clone());
    m
}

/// The second pack of tests/fixtures/packs, at its newest version: it declares the `go` stack.
fn acme_jobs() -> &'static levee::scaffold::pack::Pack {
    static PACK: std::sync::OnceLock<levee::scaffold::pack::Pack> = std::sync::OnceLock::new();
    PACK.get_or_init(|| {
        levee::scaffold::pack::load(Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/packs/acme-jobs/v1.1.0"
        )))
        .expect("the acme-jobs pack loads")
    })
}

/// Every stack the pipelines are tested with: the built-in pack's and the second pack's.
fn stacks() -> Vec<Stack> {
    acme_jobs()
        .declared
        .stack_names()
        .iter()
        .map(|s| Stack::from(s.as_str()))
        .collect()
}

fn render(m: &Manifest, org: &Org, ci: Ci) -> String {
    let p = plan::for_manifest(m, org);
    pipeline::render(m, org, &p, ci).expect("render")
}

/// The scheduled upgrade workflow (GitHub), when the org config has one.
fn render_upgrade(m: &Manifest, org: &Org, ci: Ci) -> Option<String> {
    let p = plan::for_manifest(m, org);
    pipeline::render_upgrade(m, org, &p, ci).expect("render")
}

/// An org config whose every `ci.upgrade` key is set.
fn upgrade_variant() -> Org {
    let mut org = Org::default();
    org.ci.upgrade.schedule = "30 6 * * 1-5".into();
    org.ci.upgrade.token_secret = "ACME_PLATFORM_BOT_TOKEN".into();
    org.ci.upgrade.labels = vec!["dependencies".into(), "platform: template".into()];
    org.ci.upgrade.conflict_label = "needs a human".into();
    org.ci.upgrade.committer = Some("Acme Platform Bot <platform-bot@acme.corp>".into());
    org.ci.default_branch = "trunk".into();
    org
}

/// Every (classification, tier, stack, ci) pipeline, plus the org-config variants; for GitHub
/// each is followed by its scheduled upgrade workflow (`upgrade-<name>`).
fn all_pipelines() -> Vec<(String, Ci, String)> {
    let mut out = Vec::new();
    let mut push = |name: String, m: &Manifest, org: &Org, ci: Ci| {
        out.push((name.clone(), ci, render(m, org, ci)));
        if let Some(text) = render_upgrade(m, org, ci) {
            out.push((format!("upgrade-{name}"), ci, text));
        }
    };
    let org = Org::default();
    for c in Classification::ALL {
        for t in Tier::ALL {
            for s in stacks() {
                for ci in Ci::ALL {
                    let m = manifest(*c, *t, s.clone(), *ci);
                    push(format!("{c}-{t}-{s}"), &m, &org, *ci);
                }
            }
        }
    }
    let mut variant = Org::default();
    variant.ci.levee.method = InstallMethod::Image;
    variant.ci.levee.image = Some("registry.acme.corp/platform/levee:0.1.0".into());
    variant.ci.gitlab.secret_detection_template = true;
    let mut off = Org::default();
    off.ci.upgrade.enabled = false;
    for ci in Ci::ALL {
        let m = manifest(
            Classification::Restricted,
            Tier::Production,
            Stack::from("python"),
            *ci,
        );
        push("image-install".into(), &m, &variant, *ci);
        push("custom-upgrade".into(), &m, &upgrade_variant(), *ci);
        push("no-upgrade".into(), &m, &off, *ci);
        let m = manifest(
            Classification::Internal,
            Tier::Prototype,
            Stack::from("node"),
            *ci,
        );
        push("image-install-prototype".into(), &m, &variant, *ci);
    }
    out
}

fn write_all(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut gh, mut gl) = (Vec::new(), Vec::new());
    for (name, ci, text) in all_pipelines() {
        let path = match ci {
            Ci::Github => dir.join(format!("github-{name}.yml")),
            Ci::Gitlab => dir.join(format!("gitlab-{name}.yml")),
        };
        std::fs::write(&path, text).expect("write");
        match ci {
            Ci::Github => gh.push(path),
            Ci::Gitlab => gl.push(path),
        }
    }
    (gh, gl)
}

/// A validator from `LEVEE_VALIDATORS_BIN` (or `.venv/bin`). Missing is a failure, never a skip.
fn validator(name: &str) -> PathBuf {
    let dir = std::env::var_os("LEVEE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "validator {name} not found in {} (set LEVEE_VALIDATORS_BIN or run scripts/test.sh)",
        dir.display()
    );
    path
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run validator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn snapshot_per_plan() {
    let org = Org::default();
    let plans = Classification::ALL.iter().flat_map(|c| {
        Tier::ALL
            .iter()
            .flat_map(move |t| Ci::ALL.iter().map(move |ci| (*c, *t, *ci, "node")))
    });
    // A stack a pack declares (tests/fixtures/packs/acme-jobs): its build steps, image and cache.
    let declared = Ci::ALL
        .iter()
        .map(|ci| (Classification::Confidential, Tier::Production, *ci, "go"));
    for (c, t, ci, stack) in plans.chain(declared) {
        let (c, t, ci) = (&c, &t, &ci);
        {
            {
                let m = manifest(*c, *t, Stack::from(stack), *ci);
                let p = plan::for_manifest(&m, &org);
                let mut joined = String::new();
                let upgrade = pipeline::render_upgrade(&m, &org, &p, *ci)
                    .expect("render")
                    .map(|text| (levee::model::upgrade_job::GITHUB_PATH, text));
                for (path, text) in [
                    (
                        pipeline::path(*ci),
                        pipeline::render(&m, &org, &p, *ci).expect("render"),
                    ),
                    (
                        pipeline::codeowners_path(*ci),
                        pipeline::render_codeowners(&m, &org, &p, *ci).expect("render"),
                    ),
                ]
                .into_iter()
                .chain(upgrade)
                {
                    joined.push_str(&format!("──── {path} ────\n{text}"));
                }
                insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
                    let name = if stack == "node" {
                        format!("pipeline-{c}-{t}-{ci}")
                    } else {
                        format!("pipeline-{stack}-{c}-{t}-{ci}")
                    };
                    insta::assert_snapshot!(name, joined);
                });
            }
        }
    }
}

#[test]
fn actionlint_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gh, _) = write_all(dir.path());
    let (ok, text) = run(Command::new(validator("actionlint"))
        .arg("-no-color")
        .args(&gh));
    assert!(ok && text.trim().is_empty(), "actionlint:\n{text}");
}

#[test]
fn github_schema_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gh, _) = write_all(dir.path());
    let (ok, text) = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&gh));
    assert!(ok, "check-jsonschema:\n{text}");
}

#[test]
fn zizmor_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gh, _) = write_all(dir.path());
    let (ok, text) = run(Command::new(validator("zizmor"))
        .args(["--offline", "--no-progress", "--color", "never"])
        .args(&gh));
    assert!(
        ok && text.contains("No findings to report"),
        "zizmor:\n{text}"
    );
}

#[test]
fn gitlab_schema_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, gl) = write_all(dir.path());
    let (ok, text) = run(Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(&gl));
    assert!(ok, "check-jsonschema:\n{text}");
}

#[test]
fn yamllint_finds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (gh, gl) = write_all(dir.path());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join(".yamllint.yaml");
    let (ok, text) = run(Command::new(validator("yamllint"))
        .args(["--strict", "--format", "parsable", "-c"])
        .arg(&config)
        .args(&gh)
        .args(&gl));
    assert!(ok && text.trim().is_empty(), "yamllint:\n{text}");
}

fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("generated YAML parses")
}

const GITLAB_KEYWORDS: &[&str] = &[
    "workflow",
    "stages",
    "include",
    "default",
    "variables",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

#[test]
fn gitlab_needs_and_stages_exist() {
    for (name, ci, text) in all_pipelines() {
        if ci != Ci::Gitlab {
            continue;
        }
        let doc = yaml(&text);
        let map = doc.as_object().expect("mapping");
        let stages: Vec<&str> = map["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut jobs: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|k| !GITLAB_KEYWORDS.contains(k) && !k.starts_with('.'))
            .collect();
        let upgrade = map.contains_key("levee-upgrade");
        assert_eq!(upgrade, name != "no-upgrade", "{name}");
        if map.contains_key("include") {
            // Jobs/Secret-Detection adds `secret_detection` in stage `test`.
            assert!(
                stages.contains(&"test"),
                "{name}: the template needs stage `test`"
            );
            jobs.push("secret_detection");
        }
        assert!(jobs.len() >= 4, "{name}: {jobs:?}");
        for job in jobs.iter().filter(|j| **j != "secret_detection") {
            let body = &map[*job];
            let stage = body["stage"].as_str().expect("every job names its stage");
            assert!(
                stages.contains(&stage),
                "{name}: {job} is in missing stage {stage}"
            );
            let needs = body["needs"].as_array().expect("every job has needs (DAG)");
            for n in needs {
                let n = n.as_str().expect("need is a job name");
                assert!(jobs.contains(&n), "{name}: {job} needs missing job {n}");
            }
            let timeout = body["timeout"].as_str().expect("every job has a timeout");
            assert!(timeout.ends_with("minutes"), "{name}: {job}: {timeout}");
            let deploy = body.get("environment").is_some();
            assert_eq!(
                body.get("interruptible").and_then(Value::as_bool) == Some(false),
                deploy || *job == "levee-upgrade",
                "{name}: only deploy and the upgrade are not interruptible ({job})"
            );
            assert_eq!(
                body.get("id_tokens").is_some(),
                deploy,
                "{name}: id_tokens only on deploy"
            );
        }
    }
}

/// Inputs each pinned action accepts (from their action.yml at the pinned SHA). actionlint does
/// not check SHA-pinned actions, so this table does.
const KNOWN_INPUTS: &[(&str, &[&str])] = &[
    (
        "actions/checkout",
        &[
            "repository",
            "ref",
            "token",
            "ssh-key",
            "ssh-known-hosts",
            "ssh-strict",
            "ssh-user",
            "persist-credentials",
            "path",
            "clean",
            "filter",
            "sparse-checkout",
            "sparse-checkout-cone-mode",
            "fetch-depth",
            "fetch-tags",
            "show-progress",
            "lfs",
            "submodules",
            "set-safe-directory",
            "github-server-url",
        ],
    ),
    ("open-policy-agent/setup-opa", &["version", "static"]),
    (
        "aquasecurity/trivy-action",
        &[
            "scan-type",
            "image-ref",
            "input",
            "scan-ref",
            "exit-code",
            "ignore-unfixed",
            "vuln-type",
            "severity",
            "format",
            "template",
            "output",
            "skip-dirs",
            "skip-files",
            "cache-dir",
            "timeout",
            "ignore-policy",
            "hide-progress",
            "list-all-pkgs",
            "scanners",
            "trivyignores",
            "github-pat",
            "trivy-config",
            "tf-vars",
            "limit-severities-for-sarif",
            "docker-host",
            "version",
            "cache",
            "skip-setup-trivy",
            "token-setup-trivy",
        ],
    ),
    (
        "actions/upload-artifact",
        &[
            "name",
            "path",
            "if-no-files-found",
            "retention-days",
            "compression-level",
            "overwrite",
            "include-hidden-files",
            "archive",
        ],
    ),
    (
        "actions/cache",
        &[
            "path",
            "key",
            "restore-keys",
            "upload-chunk-size",
            "enableCrossOsArchive",
            "fail-on-cache-miss",
            "lookup-only",
            "save-always",
        ],
    ),
    (
        "peter-evans/create-pull-request",
        &[
            "token",
            "branch-token",
            "path",
            "add-paths",
            "commit-message",
            "committer",
            "author",
            "signoff",
            "branch",
            "delete-branch",
            "branch-suffix",
            "base",
            "push-to-fork",
            "sign-commits",
            "title",
            "body",
            "body-path",
            "labels",
            "assignees",
            "reviewers",
            "team-reviewers",
            "milestone",
            "draft",
            "maintainer-can-modify",
        ],
    ),
];

#[test]
fn github_actions_are_pinned_and_inputs_are_known() {
    let sha = regex_like_sha;
    for (name, ci, text) in all_pipelines() {
        if ci != Ci::Github {
            continue;
        }
        for line in text.lines().filter(|l| {
            l.trim_start().starts_with("uses:") || l.trim_start().starts_with("- uses:")
        }) {
            let spec = line.split("uses:").nth(1).unwrap_or("").trim();
            let (reference, comment) = spec.split_once(" # ").expect("version comment");
            let (_, at) = reference.split_once('@').expect("pinned");
            assert!(sha(at), "{name}: {reference} is not pinned by a full SHA");
            assert!(comment.starts_with('v'), "{name}: {comment}");
        }
        let doc = yaml(&text);
        assert_eq!(
            doc["permissions"],
            serde_json::json!({}),
            "{name}: permissions: {{}}"
        );
        for (job_id, job) in doc["jobs"].as_object().expect("jobs") {
            assert!(job["timeout-minutes"].is_u64(), "{name}: {job_id} timeout");
            // Write access only on the upgrade job, and only what it needs.
            let writes: Vec<&String> = job["permissions"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| *v == "write" && *k != "id-token")
                .map(|(k, _)| k)
                .collect();
            if name.starts_with("upgrade-") {
                assert_eq!(job_id, "upgrade", "{name}");
                assert_eq!(writes, ["contents", "pull-requests"], "{name}");
            } else {
                assert!(writes.is_empty(), "{name}: {job_id} writes {writes:?}");
            }
            let id_token = job["permissions"].get("id-token").is_some();
            assert_eq!(
                id_token,
                job_id == "deploy",
                "{name}: id-token only on deploy"
            );
            for step in job["steps"].as_array().expect("steps") {
                if let Some(run) = step.get("run").and_then(Value::as_str) {
                    assert!(!run.contains("${{"), "{name}: expression in run: {run}");
                }
                let Some(uses) = step.get("uses").and_then(Value::as_str) else {
                    continue;
                };
                let action = uses.split('@').next().unwrap_or("");
                let known = KNOWN_INPUTS
                    .iter()
                    .find(|(a, _)| *a == action)
                    .unwrap_or_else(|| panic!("{name}: {action} has no input table"))
                    .1;
                for key in step
                    .get("with")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    assert!(
                        known.contains(&key.as_str()),
                        "{name}: {action} has no input `{key}`"
                    );
                }
                if action == "actions/checkout" {
                    assert_eq!(
                        step["with"]["persist-credentials"],
                        Value::Bool(false),
                        "{name}"
                    );
                }
            }
        }
    }
}

fn regex_like_sha(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[test]
fn every_template_is_used_and_renders() {
    let names = pipeline::template_names();
    assert_eq!(names.len(), 5, "{names:?}");
    let text = all_pipelines();
    // 72 pipelines (4 classifications x 3 tiers x 3 stacks: node, python and the second pack's
    // go, x 2 CIs) and 36 GitHub upgrade workflows; 8 org-config variants, 3 of them GitHub with
    // an upgrade workflow.
    assert_eq!(text.len(), 4 * 3 * 3 * 2 + 4 * 3 * 3 + 8 + 3);
}

#[test]
fn prototype_sbom_absent_full_gate_sbom_kept() {
    let org = Org::default();
    let proto = render(
        &manifest(
            Classification::Internal,
            Tier::Prototype,
            Stack::from("node"),
            Ci::Gitlab,
        ),
        &org,
        Ci::Gitlab,
    );
    assert!(!proto.contains("levee sbom"));
    let full = render(
        &manifest(
            Classification::Internal,
            Tier::Sandbox,
            Stack::from("node"),
            Ci::Gitlab,
        ),
        &org,
        Ci::Gitlab,
    );
    let doc = yaml(&full);
    assert_eq!(
        doc["sbom"]["artifacts"]["reports"]["cyclonedx"][0],
        "sbom.cdx.json"
    );
    assert!(
        doc["sbom"]["script"][0]
            .as_str()
            .is_some_and(|s| s == "levee sbom . -o sbom.cdx.json")
    );
}

/// The scheduled upgrade workflow, as generated for every plan: on a schedule and on demand,
/// from the default branch only, checkout without credentials, one pull request from a fixed
/// branch, the report rendered by the step's own script (never interpolated into a shell line).
#[test]
fn github_upgrade_workflow_shape() {
    for (name, ci, text) in all_pipelines() {
        if ci != Ci::Github || !name.starts_with("upgrade-") {
            continue;
        }
        let custom = name == "upgrade-custom-upgrade";
        let doc = yaml(&text);
        let cron = doc["on"]["schedule"][0]["cron"].as_str().expect("cron");
        let expected = levee::model::upgrade_job::cron(
            if custom { "30 6 * * 1-5" } else { "weekly" },
            "expense-tracker",
        );
        assert_eq!(cron, expected, "{name}");
        assert!(doc["on"].get("workflow_dispatch").is_some(), "{name}");
        let job = &doc["jobs"]["upgrade"];
        let branch = if custom { "trunk" } else { "main" };
        assert_eq!(
            job["if"],
            format!("github.ref == 'refs/heads/{branch}'"),
            "{name}"
        );
        let steps = job["steps"].as_array().expect("steps");
        let uses: Vec<&str> = steps
            .iter()
            .filter_map(|s| s["uses"].as_str())
            .map(|u| u.split('@').next().unwrap_or(""))
            .collect();
        assert!(uses.contains(&"peter-evans/create-pull-request"), "{name}");
        let pr = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("peter-evans/"))
            })
            .expect("pr step");
        assert_eq!(pr["with"]["branch"], "levee/upgrade");
        assert_eq!(pr["with"]["delete-branch"], true);
        assert_eq!(pr["if"], "steps.report.outputs.update == 'true'");
        let secret = if custom {
            "ACME_PLATFORM_BOT_TOKEN"
        } else {
            "LEVEE_UPGRADE_TOKEN"
        };
        assert_eq!(
            pr["with"]["token"],
            format!("${{{{ secrets.{secret} || github.token }}}}")
        );
        let who = if custom {
            "Acme Platform Bot <platform-bot@acme.corp>"
        } else {
            "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
        };
        assert_eq!(pr["with"]["author"], who);
        assert_eq!(pr["with"]["committer"], who);
        let report = steps
            .iter()
            .find(|s| s["id"] == "report")
            .expect("report step");
        assert_eq!(report["env"]["LEVEE_UPGRADE_AUTHOR"], who);
        let labels = if custom {
            "dependencies,platform: template"
        } else {
            "levee-upgrade"
        };
        assert_eq!(report["env"]["LEVEE_UPGRADE_LABELS"], labels);
        let run = report["run"].as_str().expect("run");
        assert!(run.starts_with("python3 - \"$RUNNER_TEMP/levee-upgrade.json\""));
        assert_eq!(
            run.trim_end().lines().last(),
            Some("PY"),
            "the heredoc ends the script"
        );
        // The upgrade step tolerates exit 1 (conflicts) and stops on 2.
        let upgrade = steps
            .iter()
            .find(|s| s["name"] == "Upgrade (levee upgrade)")
            .expect("upgrade step");
        assert!(
            upgrade["run"]
                .as_str()
                .is_some_and(|r| r.contains("levee upgrade --no-input --format json .")),
            "{name}"
        );
    }
}

/// GitLab: scheduled pipelines run the upgrade job and nothing else; every other pipeline runs
/// the gates and never the upgrade job. With the upgrade off, nothing about schedules is written.
#[test]
fn gitlab_schedules_run_only_the_upgrade_job() {
    for (name, ci, text) in all_pipelines() {
        if ci != Ci::Gitlab {
            continue;
        }
        let doc = yaml(&text);
        let map = doc.as_object().expect("mapping");
        let rules = doc["workflow"]["rules"].as_array().expect("workflow rules");
        let schedule_rule = "$CI_PIPELINE_SOURCE == \"schedule\"";
        if name == "no-upgrade" {
            assert!(!text.contains("schedule"), "{name}");
            continue;
        }
        assert_eq!(rules[0]["if"], schedule_rule, "{name}");
        if map.contains_key("include") {
            assert_eq!(
                rules[0]["variables"]["SECRET_DETECTION_DISABLED"], "true",
                "{name}: the Secret-Detection template's job stays out of schedules"
            );
        }
        let upgrade = &doc["levee-upgrade"];
        assert_eq!(
            upgrade["rules"],
            serde_json::json!([{"if": "$CI_PIPELINE_SOURCE == \"schedule\" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]),
            "{name}"
        );
        assert_eq!(upgrade["needs"], serde_json::json!([]), "{name}");
        assert_eq!(upgrade["resource_group"], "levee-upgrade", "{name}");
        let token = if name == "custom-upgrade" {
            "ACME_PLATFORM_BOT_TOKEN"
        } else {
            "LEVEE_UPGRADE_TOKEN"
        };
        assert_eq!(
            upgrade["variables"]["LEVEE_UPGRADE_TOKEN_VARIABLE"], token,
            "{name}"
        );
        for (job, body) in map {
            if GITLAB_KEYWORDS.contains(&job.as_str())
                || job.starts_with('.')
                || job == "levee-upgrade"
            {
                continue;
            }
            assert_eq!(
                body["rules"][0],
                serde_json::json!({"if": schedule_rule, "when": "never"}),
                "{name}: {job} must not run in a scheduled pipeline"
            );
            assert!(
                body["rules"].as_array().is_some_and(|r| r.len() == 2),
                "{name}: {job} runs in every other pipeline it ran in before"
            );
        }
    }
}

#[test]
fn the_upgrade_can_be_turned_off() {
    let mut org = Org::default();
    org.ci.upgrade.enabled = false;
    let m = manifest(
        Classification::Internal,
        Tier::Sandbox,
        Stack::from("node"),
        Ci::Github,
    );
    assert_eq!(render_upgrade(&m, &org, Ci::Github), None);
    let p = plan::for_manifest(&m, &org);
    let owners = pipeline::render_codeowners(&m, &org, &p, Ci::Github).expect("codeowners");
    assert!(!owners.contains("levee-upgrade"), "{owners}");
    let on = pipeline::render_codeowners(&m, &Org::default(), &p, Ci::Github).expect("codeowners");
    assert!(
        on.contains("/.github/workflows/levee-upgrade.yml @platform-team @security-team"),
        "{on}"
    );
    let gl = render(&m, &org, Ci::Gitlab);
    assert!(
        !gl.contains("levee-upgrade") && !gl.contains("schedule"),
        "{gl}"
    );
    // The conflict gate stays: it guards any upgrade, scheduled or run by hand.
    assert!(gl.contains("levee upgrade --check-conflicts ."));
}

/// The default branch reaches the upgrade workflow inside a GitHub expression: a quote, a `#` or
/// a `: ` in it stays a string (quoted for YAML, `'` doubled for the expression).
#[test]
fn the_upgrade_workflow_quotes_the_default_branch() {
    let mut org = Org::default();
    org.ci.default_branch = "it's#main: x".into();
    let m = manifest(
        Classification::Internal,
        Tier::Sandbox,
        Stack::from("node"),
        Ci::Github,
    );
    let text = render_upgrade(&m, &org, Ci::Github).expect("on");
    assert_eq!(
        yaml(&text)["jobs"]["upgrade"]["if"],
        "github.ref == 'refs/heads/it''s#main: x'"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("levee-upgrade.yml");
    std::fs::write(&path, &text).expect("write");
    let (ok, out) = run(Command::new(validator("actionlint"))
        .arg("-no-color")
        .arg(&path));
    assert!(ok && out.trim().is_empty(), "actionlint:\n{out}");
}
