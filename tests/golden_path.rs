//! The path a citizen developer walks, for every kind x stack, with no hand edit of app.yaml:
//! `levee new` (a vault secret, a dataset, SSO groups, a cost center, a team) -> `check` ->
//! `promote --tier sandbox` -> `check` -> `promote --tier production` -> `sync --check`.
//! At every tier the seams hold: the pipeline's smoke test probes the address the Deployment
//! gives the app, and the sandbox lets the app reach its SSO issuer.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// kind x stack, as the built-in pack has them.
pub const APPS: [(&str, &str); 6] = [
    ("dashboard", "node"),
    ("dashboard", "python"),
    ("form", "node"),
    ("form", "python"),
    ("webhook", "node"),
    ("webhook", "python"),
];

const ISSUER_HOST: &str = "login.example.com";

fn org() -> PathBuf {
    common::root().join("tests/fixtures/apps.levee.org.yaml")
}

fn run(dir: &Path, args: &[&str]) -> common::Out {
    common::run(common::levee_in(dir).arg("--org").arg(org()).args(args))
}

fn scaffold(parent: &Path, kind: &str, stack: &str) -> PathBuf {
    let name = format!("golden-{kind}-{stack}");
    let dir = parent.join(&name);
    let mut args = vec![
        "new".to_string(),
        dir.display().to_string(),
        "--template".into(),
        format!("{kind}-{stack}"),
        "--name".into(),
        name,
        "--description".into(),
        format!("The golden path for a {kind} app"),
        "--owner".into(),
        "jane.doe@example.com".into(),
        "--team".into(),
        "platform".into(),
        "--classification".into(),
        "internal".into(),
        "--tier".into(),
        "prototype".into(),
        "--sso-issuer".into(),
        format!("https://{ISSUER_HOST}"),
        "--sso-group".into(),
        "ops-team".into(),
        "--dataset".into(),
        format!("example:read:the {kind} shows it"),
        "--cost-center".into(),
        "CC-1234".into(),
        "--secret".into(),
        "API_TOKEN:vault".into(),
    ];
    args.extend(common::kind_answers(kind).into_iter().map(str::to_string));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(parent, &args);
    assert_eq!(
        out.code, 0,
        "levee new {kind}-{stack}:\n{}{}",
        out.stdout, out.stderr
    );
    dir
}

fn yaml(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read");
    text.split("\n---\n")
        .map(|d| serde_norway::from_str::<Value>(d).expect("YAML"))
        .collect()
}

/// The seams at one tier: LEVEE_APP_URL (pipeline) == APP_BASE_URL (Deployment); the issuer's
/// host is on the egress allow-list and the NetworkPolicy lets the pod reach the proxy.
fn seams(app: &Path, tier: &str) {
    let deployment = yaml(&app.join("deploy/30-deployment.yaml")).remove(0);
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .clone();
    let value = |k: &str| {
        env.iter()
            .find(|e| e["name"] == k)
            .and_then(|e| e["value"].as_str())
            .map(str::to_string)
    };
    // The app's settings reach it as app.yaml says, after the kubelet's `$(NAME)` expansion.
    let pairs: Vec<(String, String)> = env
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let container_env = common::kubelet_env(&pairs);
    let manifest: Value =
        serde_norway::from_str(&std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml"))
            .expect("YAML");
    let settings = manifest["settings"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let kind = manifest["kind"].as_str().unwrap_or_default();
    assert_eq!(
        settings.is_empty(),
        kind == "form",
        "{tier}: the {kind} template declares its settings"
    );
    for (name, v) in &settings {
        let got = container_env.iter().rev().find(|(k, _)| k == name);
        assert_eq!(
            got.map(|(_, v)| v.as_str()),
            v.as_str(),
            "{tier}: the setting {name} as the container sees it"
        );
    }
    let workflow = yaml(&app.join(".github/workflows/levee.yml")).remove(0);
    let pipeline_url = workflow["jobs"]["deploy"]["env"]["LEVEE_APP_URL"]
        .as_str()
        .map(str::to_string);
    if tier != "prototype" {
        assert!(pipeline_url.is_some(), "{tier}: the pipeline deploys");
    }
    if let Some(url) = pipeline_url {
        assert_eq!(
            value("APP_BASE_URL"),
            Some(url),
            "{tier}: {}",
            app.display()
        );
    }
    assert_eq!(value("APP_ENV").as_deref(), Some("production"));
    let allow = yaml(&app.join("deploy/20-egress-allowlist.yaml")).remove(0);
    let hosts = allow["data"]["hosts"].as_str().expect("hosts");
    assert!(hosts.lines().any(|h| h == ISSUER_HOST), "{tier}: {hosts}");
    let np = yaml(&app.join("deploy/50-networkpolicy.yaml")).remove(0);
    let to_proxy = np["spec"]["egress"]
        .as_array()
        .expect("egress")
        .iter()
        .any(|r| {
            r["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                == "platform"
                && r["ports"][0]["port"] == 3128
        });
    assert!(to_proxy, "{tier}: no rule to the egress proxy");
    assert_eq!(
        value("HTTPS_PROXY").as_deref(),
        Some("http://egress-proxy.platform.svc.cluster.local:3128")
    );
}

#[test]
fn new_check_promote_sandbox_check_promote_production_sync_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (kind, stack) in APPS {
        let app = scaffold(tmp.path(), kind, stack);
        let manifest = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
        assert!(
            !manifest.contains("provider: \"env\""),
            "{kind}-{stack}:\n{manifest}"
        );
        seams(&app, "prototype");
        for (step, args) in [
            ("check", vec!["check"]),
            ("promote sandbox", vec!["promote", "--tier", "sandbox"]),
            ("check", vec!["check"]),
            (
                "promote production",
                vec!["promote", "--tier", "production"],
            ),
            ("sync --check", vec!["sync", "--check"]),
            ("check", vec!["check"]),
        ] {
            let out = run(&app, &args);
            assert_eq!(
                out.code, 0,
                "{kind}-{stack}: {step}:\n{}{}",
                out.stdout, out.stderr
            );
            if step.starts_with("promote") {
                assert!(!out.stdout.contains("edited by hand"), "{}", out.stdout);
                seams(&app, step.rsplit(' ').next().unwrap_or_default());
            }
        }
        // No hand edit: app.yaml changed only where promote changed it.
        let after = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
        let changed: Vec<String> = similar::TextDiff::from_lines(&manifest, &after)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .map(|c| c.value().trim().to_string())
            .collect();
        assert!(
            changed
                .iter()
                .all(|l| l.starts_with("tier:") || l.starts_with("expires:")),
            "{kind}-{stack}: {changed:#?}"
        );
        // `levee deploy` after the promotions writes what sync wrote: nothing is drift.
        let out = run(&app, &["deploy"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let out = run(&app, &["sync", "--check"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
}
