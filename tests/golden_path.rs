//! The path a citizen developer walks, for every kind x stack, with no hand edit of app.yaml:
//! `levee new` (a vault secret, a dataset, SSO groups, a cost center, a team) -> `check` ->
//! `promote --tier sandbox` -> `check` -> `promote --tier production` -> `sync --check`.
//! At every tier the seams hold: the pipeline's smoke test probes the address the Deployment
//! gives the app, and the sandbox lets the app reach its SSO issuer. That walk uses a fixture
//! org; a second walks the README's own commands on levee's built-in org, as a newcomer does.

mod common;

use common::TestContext;

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

fn run(cx: &TestContext, dir: &Path, args: &[&str]) -> common::Out {
    common::run(cx.levee_in(dir).arg("--org").arg(org()).args(args))
}

fn scaffold(cx: &TestContext, parent: &Path, kind: &str, stack: &str) -> PathBuf {
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
    let out = run(cx, parent, &args);
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
    let tmp = TestContext::new();
    for (kind, stack) in APPS {
        let app = scaffold(&tmp, tmp.path(), kind, stack);
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
            let out = run(&tmp, &app, &args);
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
        let out = run(&tmp, &app, &["deploy"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        let out = run(&tmp, &app, &["sync", "--check"]);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    }
}

/// A `$ command` of a README console block and the output shown under it.
#[derive(Debug)]
struct Shown {
    words: Vec<String>,
    output: String,
}

/// The console blocks of the README section titled `title`, as commands and their output.
fn readme_blocks(title: &str) -> Vec<Vec<Shown>> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let start = readme
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("the README has no section `{title}`"));
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line != "```console" {
            continue;
        }
        let mut block: Vec<Shown> = Vec::new();
        let mut pending = String::new();
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            if let Some(cmd) = line
                .strip_prefix("$ ")
                .or((!pending.is_empty()).then_some(line))
            {
                match cmd.strip_suffix('\\') {
                    Some(head) => pending.push_str(head),
                    None => {
                        pending.push_str(cmd);
                        block.push(Shown {
                            words: common::shell_words(&pending),
                            output: String::new(),
                        });
                        pending.clear();
                    }
                }
            } else if let Some(last) = block.last_mut() {
                last.output.push_str(line);
                last.output.push('\n');
            }
        }
        blocks.push(block);
    }
    blocks
}

/// The README's first ten minutes, exactly as written, on levee's built-in org (no
/// `levee.org.yaml` anywhere): each of its `levee new` commands, with `--stack node` and
/// `--stack python`, then its steps in the app (`levee check`, `promote --tier sandbox`, `check`,
/// `promote --tier production`, `sync --check`, `deploy`), all succeeding with no hand edit; the
/// output the README shows is what the app it shows prints. (`npm ci && npm test` is the app's
/// own suite, which scripts/node-apps-test.sh and scripts/python-apps-test.sh run; `git push`
/// needs a remote.)
#[test]
fn the_readme_path_on_the_built_in_org() {
    let blocks = readme_blocks("A citizen developer's first ten minutes");
    let news: Vec<&Shown> = blocks
        .iter()
        .flatten()
        .filter(|s| s.words.get(..2) == Some(&["levee".to_string(), "new".to_string()]))
        .collect();
    let kinds: Vec<&str> = news
        .iter()
        .filter_map(|n| {
            let i = n.words.iter().position(|w| w == "--kind")?;
            n.words.get(i + 1).map(String::as_str)
        })
        .collect();
    assert_eq!(
        kinds,
        ["form", "webhook", "dashboard"],
        "one command per kind"
    );
    let steps: &Vec<Shown> = blocks
        .iter()
        .find(|b| {
            b.first()
                .is_some_and(|s| s.words.first().is_some_and(|w| w == "cd"))
        })
        .expect("a block that starts with `cd` into the app");
    let shown_app = steps[0].words[1].clone();
    let levee_steps: Vec<Vec<String>> = steps
        .iter()
        .filter(|s| s.words.first().is_some_and(|w| w == "levee"))
        .map(|s| s.words[1..].to_vec())
        .collect();
    assert_eq!(
        levee_steps,
        [
            vec!["check"],
            vec!["promote", "--tier", "sandbox"],
            vec!["check"],
            vec!["promote", "--tier", "production"],
            vec!["sync", "--check"],
            vec!["deploy"],
        ],
        "the README's path"
    );

    for stack in ["node", "python"] {
        let parent = TestContext::new();
        for new in &news {
            let mut words: Vec<String> = new.words[1..].to_vec();
            let at = words.iter().position(|w| w == "--stack").expect("--stack") + 1;
            words[at] = stack.to_string();
            let name = words[1].clone();
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let out = common::run(parent.levee_in(parent.path()).args(&args));
            assert_eq!(
                out.code, 0,
                "{name} ({stack}): levee new:\n{}{}",
                out.stdout, out.stderr
            );
            let app = parent.path().join(&name);
            let before = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
            // No org config anywhere above the app: the built-in one is in force.
            let out = common::run(parent.levee_in(&app).args(["-v", "check"]));
            assert!(
                out.stderr.contains("Using levee's built-in org config"),
                "{name}: {}",
                out.stderr
            );
            for step in steps {
                if step.words.first().map(String::as_str) != Some("levee") {
                    continue;
                }
                let out = common::run(parent.levee_in(&app).args(&step.words[1..]));
                let what = format!("{name} ({stack}): {}", step.words.join(" "));
                assert_eq!(out.code, 0, "{what}:\n{}{}", out.stdout, out.stderr);
                assert!(
                    !out.stdout.contains("edited by hand"),
                    "{what}:\n{}",
                    out.stdout
                );
                // A terminal shows both streams (`deploy` reports on stderr).
                if name == shown_app && stack == "node" && !step.output.is_empty() {
                    assert_eq!(
                        format!("{}{}", out.stdout, out.stderr),
                        step.output,
                        "{what}: the README shows another output"
                    );
                }
            }
            // No hand edit: app.yaml changed only where promote changed it.
            let after = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
            let changed: Vec<String> = similar::TextDiff::from_lines(&before, &after)
                .iter_all_changes()
                .filter(|c| c.tag() != similar::ChangeTag::Equal)
                .map(|c| c.value().trim().to_string())
                .collect();
            assert!(
                changed
                    .iter()
                    .all(|l| l.starts_with("tier:") || l.starts_with("expires:")),
                "{name} ({stack}): {changed:#?}"
            );
            // The sandbox lets the app reach what its settings name and its sign-in provider,
            // through the built-in org's egress proxy.
            let manifest: Value = serde_norway::from_str(&after).expect("YAML");
            let allow = yaml(&app.join("deploy/20-egress-allowlist.yaml")).remove(0);
            let hosts: Vec<&str> = allow["data"]["hosts"]
                .as_str()
                .expect("hosts")
                .lines()
                .collect();
            let mut needed = vec!["login.acme.corp".to_string()];
            for v in manifest["settings"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, v)| v)
            {
                needed.extend(levee::model::settings::url_host(
                    v.as_str().unwrap_or_default(),
                ));
            }
            for host in &needed {
                assert!(
                    hosts.contains(&host.as_str()),
                    "{name} ({stack}): {host} in {hosts:?}"
                );
            }
            let deployment = yaml(&app.join("deploy/30-deployment.yaml")).remove(0);
            let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
            assert!(
                env.as_array()
                    .expect("env")
                    .iter()
                    .any(|e| e["name"] == "HTTPS_PROXY"
                        && e["value"] == "http://egress-proxy.egress.svc.cluster.local:3128"),
                "{name} ({stack}): {env}"
            );
        }
    }
}
