//! The org config: the example is valid, defaults fill in, errors are located.

mod common;

use std::path::Path;

use common::TestContext;
use levee::load::document;
use levee::model::manifest::{Classification, Cpu, Tier};
use levee::model::org::{self, Org};

fn org_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join(org::FILE_NAME);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn the_documented_example_is_valid_and_means_what_it_says() {
    let dir = TestContext::new();
    let text =
        std::fs::read_to_string(common::root().join("tests/org/issue-example.levee.org.yaml"))
            .expect("read");
    let path = org_file(dir.path(), &text);
    let org = document::load::<Org>(&path).expect("valid").value;
    assert_eq!(org.org, "acme");
    assert!(org.owner_domain_allowed("jane@acme.corp"));
    assert!(!org.owner_domain_allowed("jane@gmail.com"));
    assert_eq!(
        org.dataset_classification("expenses", Classification::Internal),
        Classification::Confidential
    );
    assert_eq!(
        org.dataset_classification("office-locations", Classification::Restricted),
        Classification::Public
    );
    // An unregistered dataset is never less sensitive than it could be.
    assert_eq!(
        org.dataset_classification("unknown", Classification::Internal),
        Classification::Confidential
    );
    assert_eq!(
        org.dataset_classification("unknown", Classification::Confidential),
        Classification::Restricted
    );
    assert!(org.egress_approved("hr.internal.acme.corp"));
    assert_eq!(org.tier(Tier::Sandbox).max_cpu, Some(Cpu(1000)));
    dir.levee().arg("validate").arg(&path).assert().code(0);
}

#[test]
fn missing_keys_take_defaults() {
    let dir = TestContext::new();
    let path = org_file(
        dir.path(),
        "org: tiny\ntiers:\n  prototype: {max_cpu: 250m}\n",
    );
    let org = document::load::<Org>(&path).expect("valid").value;
    let proto = org.tier(Tier::Prototype);
    assert_eq!(proto.max_cpu, Some(Cpu(250)));
    assert_eq!(proto.max_lifetime_days, Some(90));
    assert_eq!(proto.default_lifetime_days, Some(30));
    assert_eq!(org.escalation.active_users_month, 1000);
    assert!(org.owner_domains.is_empty());
}

#[test]
fn unknown_keys_and_bad_values_are_located() {
    let dir = TestContext::new();
    let path = org_file(
        dir.path(),
        "org: acme\nowner_domain: [acme.corp]\ntiers:\n  prototype: {max_memory: 512MB, default_lifetime_days: 120}\n",
    );
    let out = dir
        .levee()
        .arg("validate")
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).replace(&path.display().to_string(), "levee.org.yaml");
    snap!("org-invalid", text);
}

#[test]
fn resolution_order() {
    let dir = TestContext::new();
    let app = dir.path().join("apps/one");
    std::fs::create_dir_all(&app).expect("mkdir");
    // Nothing found: the embedded org.
    let r = org::resolve(None, &app).expect("default");
    assert_eq!(r.source, org::OrgSource::Default);
    assert_eq!(r.org, Org::builtin());
    // Found walking up.
    let found = org_file(dir.path(), "org: walked\n");
    let r = org::resolve(None, &app).expect("walked");
    assert_eq!(r.org.org, "walked");
    // A file's missing keys take the defaults, never the embedded org's examples: no approved
    // host, no egress proxy it does not name.
    assert_eq!(
        r.org,
        Org {
            org: "walked".into(),
            ..Org::default()
        }
    );
    assert!(r.org.egress.approved.is_empty());
    assert_eq!(r.org.sandbox.egress_proxy, None);
    assert_eq!(
        r.source,
        org::OrgSource::File(std::path::absolute(&found).expect("abs"))
    );
    // Explicit wins.
    let explicit = dir.path().join("other.yaml");
    std::fs::write(&explicit, "org: explicit\n").expect("write");
    let r = org::resolve(Some(&explicit), &app).expect("explicit");
    assert_eq!(r.org.org, "explicit");
}

/// The embedded org approves only the built-in templates' example hosts, under the reserved
/// `example.com`, and sends egress through an example proxy: nothing looser than the defaults.
#[test]
fn the_embedded_org_is_the_defaults_plus_the_examples() {
    let builtin = Org::builtin();
    let defaults = Org::default();
    assert_eq!(
        builtin.egress.approved,
        ["api.payments.example.com", "reports.example.com"]
    );
    assert!(
        builtin
            .egress
            .approved
            .iter()
            .all(|h| h.ends_with(".example.com") && !h.starts_with('*'))
    );
    let proxy = builtin.sandbox.egress_proxy.clone().expect("a proxy");
    assert_eq!(proxy.host, "egress-proxy.egress.svc.cluster.local");
    assert_eq!(proxy.port, 3128);
    // Everything else is the defaults.
    let mut rest = builtin.clone();
    rest.egress = defaults.egress.clone();
    rest.sandbox.egress_proxy = None;
    assert_eq!(rest, defaults);
    // Every example a built-in template gives for a URL setting names an approved host.
    let pack = levee::scaffold::pack::load(None).expect("the built-in pack");
    for t in &pack.templates {
        for (name, spec) in &t.meta.settings {
            if let Some(host) = spec
                .example
                .as_deref()
                .and_then(levee::model::settings::url_host)
            {
                assert!(builtin.egress_approved(&host), "{}: {name}: {host}", t.id);
            }
        }
    }
}

/// `sandbox.telemetry.protocol` takes only what every starter app speaks: both refuse `grpc` at
/// start-up, Python also `http/json`.
#[test]
fn otlp_protocols_are_what_every_starter_app_speaks() {
    let dir = TestContext::new();
    let org_text = |p: &str| {
        format!(
            "org: acme\nsandbox:\n  telemetry:\n    endpoint: http://collector:4318\n    protocol: {p}\n    port: 4318\n    namespace: observability\n"
        )
    };
    for refused in ["grpc", "http/json", "HTTP/PROTOBUF", "udp"] {
        let path = org_file(dir.path(), &org_text(refused));
        let out = dir
            .levee()
            .arg("validate")
            .arg(&path)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{refused}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("levee.org.yaml:5:15\n"),
            "{refused}: located at the value:\n{text}"
        );
        assert!(
            text.contains("help: use `http/protobuf`"),
            "{refused}: the supported values:\n{text}"
        );
        assert_eq!(text.matches("error:").count(), 1, "{text}");
    }
    let path = org_file(dir.path(), &org_text("http/protobuf"));
    dir.levee().arg("validate").arg(&path).assert().code(0);
    // The published schema says the same.
    let out = dir.levee().args(["schema", "org"]).output().expect("runs");
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let telemetry = &schema["$defs"]["Telemetry"]["properties"]["protocol"];
    assert_eq!(telemetry["$ref"], "#/$defs/OtlpProtocol", "{telemetry}");
    let allowed: Vec<&serde_json::Value> = schema["$defs"]["OtlpProtocol"]["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|v| &v["const"])
        .collect();
    assert_eq!(allowed, [&serde_json::json!("http/protobuf")]);
}

#[test]
fn upgrade_settings_are_checked_and_located() {
    let dir = TestContext::new();
    let path = org_file(
        dir.path(),
        "org: acme\nci:\n  upgrade:\n    schedule: \"61 6 * * 1\"\n    token_secret: ghp_0123456789abcdef\n    labels: [levee-upgrade, \"a,b\", \"${{ github.token }}\"]\n    conflict_label: \"needs\\nhuman\"\n    committer: \"Platform Bot\"\n    enabled: yes please\n",
    );
    let out = dir
        .levee()
        .arg("validate")
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).replace(&path.display().to_string(), "levee.org.yaml");
    snap!("org-invalid-upgrade", text);
    // Every documented form of a schedule is valid, and the defaults are what the docs say.
    for schedule in ["weekly", "daily", "30 6 * * 1", "*/30 4-7 * * 1-5"] {
        let path = org_file(
            dir.path(),
            &format!("ci:\n  upgrade:\n    schedule: \"{schedule}\"\n"),
        );
        dir.levee().arg("validate").arg(&path).assert().code(0);
    }
    let org = Org::default();
    assert!(org.ci.upgrade.enabled);
    assert_eq!(org.ci.upgrade.schedule, "weekly");
    assert_eq!(org.ci.upgrade.token_secret, "LEVEE_UPGRADE_TOKEN");
}

#[test]
fn the_org_schema_documents_the_upgrade_keys() {
    let cx = TestContext::new();
    let out = cx.levee().args(["schema", "org"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ci = &schema["$defs"]["CiSettings"]["properties"];
    assert_eq!(ci["upgrade"]["$ref"], "#/$defs/UpgradeSettings");
    assert_eq!(
        ci["upgrade"]["default"],
        serde_json::json!({
            "enabled": true,
            "schedule": "weekly",
            "token_secret": "LEVEE_UPGRADE_TOKEN",
            "labels": ["levee-upgrade"],
            "conflict_label": "levee-conflicts",
        })
    );
    let upgrade = &schema["$defs"]["UpgradeSettings"];
    assert_eq!(upgrade["additionalProperties"], false);
    for key in [
        "enabled",
        "schedule",
        "token_secret",
        "labels",
        "conflict_label",
        "committer",
    ] {
        let description = upgrade["properties"][key]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(description.len() > 30, "ci.upgrade.{key}: {description:?}");
    }
    assert!(
        schema["$defs"]["Actions"]["properties"]["create_pull_request"].is_object(),
        "the pinned create-pull-request action is a documented key"
    );
}

/// The upward search for `levee.org.yaml` stops below a directory of
/// `LEVEE_ORG_CEILING_DIRECTORIES`: an org config above it is not used, one below it is.
#[test]
fn the_org_search_stops_below_a_ceiling_directory() {
    let tmp = TestContext::new();
    let outer = tmp.path().join("outer");
    let app = outer.join("team/app");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::write(outer.join("levee.org.yaml"), "org: outer\n").expect("org");
    std::fs::write(
        app.join("app.yaml"),
        "name: ceiling-app\nowner: a@acme.corp\nclassification: internal\nlifecycle: {tier: prototype, expires: 2026-04-01}\n",
    )
    .expect("app.yaml");
    let check = |ceiling: &Path| {
        let out = common::run(
            tmp.levee()
                .current_dir(&app)
                .env("LEVEE_ORG_CEILING_DIRECTORIES", ceiling)
                .args(["-v", "check"]),
        );
        out.stderr
    };
    let found = check(tmp.path());
    assert!(
        found.contains("Using the org config") && found.contains("outer"),
        "{found}"
    );
    let stopped = check(&outer);
    assert!(
        stopped.contains("Using levee's built-in org config"),
        "{stopped}"
    );
}

/// An invalid org config is the platform team's input, not the app's problem: every command that
/// needs it reports it the same way, its problems located on stderr and exit 2 ("unreadable
/// input"), nothing on stdout, nothing written. `levee deploy` once printed it on stdout with
/// exit 1, as if the app's manifest were at fault.
#[test]
fn an_invalid_org_config_is_one_error_for_every_command() {
    let dir = TestContext::new();
    let state = TestContext::new();
    let levee_in = |cwd: &Path| {
        let mut cmd = dir.levee_in(cwd);
        cmd.env("XDG_STATE_HOME", state.path());
        cmd
    };
    let o = common::run(
        levee_in(dir.path())
            .args(["new", "shop", "--name", "shop", "--owner", "jane@acme.corp"])
            .args([
                "--team",
                "shop-team",
                "--description",
                "Orders for the shop team.",
            ])
            .args([
                "--kind",
                "dashboard",
                "--stack",
                "node",
                "--classification",
                "internal",
            ])
            .args(["--setting", "DASHBOARD_DATA_SOURCE=sample-data/sales.csv"]),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Found walking up from the app (and from the working directory, for `new`).
    let path = org_file(dir.path(), "org: acme\nowner_domain: [acme.corp]\n");
    let before = common::tree(dir.path());
    let commands: [&[&str]; 6] = [
        &["deploy", "shop"],
        &["deploy", "--format", "json", "shop"],
        &["check", "shop"],
        &["sync", "shop"],
        &["promote", "shop", "--tier", "sandbox"],
        &[
            "new",
            "other",
            "--name",
            "other",
            "--owner",
            "jane@acme.corp",
        ],
    ];
    let expected = format!(
        "error: unknown key `owner_domain`\n --> {p}:2:1\n  |\n2 | owner_domain: [acme.corp]\n  | ^^^^^^^^^^^^\n  |\n  = help: did you mean `owner_domains`?\nerror: {p} has 1 problem(s)\n",
        p = path.display()
    );
    for args in commands {
        let o = common::run(levee_in(dir.path()).args(args));
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert_eq!(o.stdout, "", "{args:?}");
        assert_eq!(o.stderr, expected, "{args:?}");
        assert_eq!(common::tree(dir.path()), before, "{args:?} wrote something");
    }
    // Named with --org, the same error, from the file given.
    let o = common::run(
        levee_in(dir.path())
            .arg("--org")
            .arg(&path)
            .arg("deploy")
            .arg("shop"),
    );
    assert_eq!((o.code, o.stdout.as_str()), (2, ""));
    assert_eq!(o.stderr, expected);
}
