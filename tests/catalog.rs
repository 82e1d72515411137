//! `levee catalog` and `levee lifecycle`: the store under concurrency and crashes, corrupt
//! entries, schemas (check-jsonschema), Backstage output (@backstage/catalog-model's own
//! validators), lifecycle through the CLI, and the catalog pipeline under the CI validators.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;
use std::time::{Duration, Instant};

use common::{TestContext, root, validator};
use levee::catalog::{Entry, Store};
use levee::model::org::Org;

/// Writes an app directory with a manifest; `extra` is appended YAML.
fn app(parent: &Path, name: &str, extra: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text = format!(
        "name: {name}\nowner: jdoe@acme.corp\nteam: finance-ops\nclassification: internal\nsso:\n  provider: oidc\n  groups: [finance]\n  scopes: [openid]\nlifecycle:\n  tier: prototype\n  created: 2026-01-15\n  expires: 2026-04-01\ncost:\n  center: FIN-001\n  estimated_monthly_usd: 40\n{extra}"
    );
    std::fs::write(dir.join("app.yaml"), text).expect("write");
    dir
}

fn sbom_and_policy(dir: &Path) {
    let bom = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "metadata": {"component": {"bom-ref": "app", "type": "application", "name": "app"}},
        "components": [
            {"bom-ref": "pkg:npm/express@4.21.2", "type": "library", "name": "express", "version": "4.21.2", "purl": "pkg:npm/express@4.21.2"},
            {"bom-ref": "pkg:npm/debug@2.6.9", "type": "library", "name": "debug", "version": "2.6.9", "purl": "pkg:npm/debug@2.6.9"}
        ],
        "dependencies": [
            {"ref": "app", "dependsOn": ["pkg:npm/express@4.21.2"]},
            {"ref": "pkg:npm/express@4.21.2", "dependsOn": ["pkg:npm/debug@2.6.9"]}
        ]
    });
    std::fs::write(dir.join("sbom.cdx.json"), bom.to_string()).expect("sbom");
    std::fs::create_dir_all(dir.join(".levee")).expect("mkdir");
    std::fs::write(
        dir.join(".levee/policy-result.json"),
        r#"{"passed": false, "deny": ["secrets.vault_required"], "warn": ["egress.unlisted"], "checked": "2026-02-27"}"#,
    )
    .expect("policy");
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("catalog dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

fn run_ok(cmd: &mut Std) -> String {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn registered_entries_validate_against_the_published_schema() {
    let tmp = TestContext::new();
    let a = app(
        tmp.path(),
        "expense-tracker",
        "description: Track expenses\nkind: dashboard\nstack: node\ntemplate:\n  id: node-dashboard\n  version: 1.2.0\n",
    );
    sbom_and_policy(&a);
    app(tmp.path(), "minimal-app", "");
    let cat = tmp.path().join("catalog");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .arg(tmp.path().join("minimal-app"))
        .assert()
        .success();
    let entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cat.join("expense-tracker.json")).expect("entry"))
            .expect("json");
    assert_eq!(entry["sbom"]["component_count"], 2);
    assert_eq!(entry["sbom"]["by_ecosystem"]["npm"], 2);
    assert_eq!(entry["sbom"]["top_level_dependencies"][0], "express@4.21.2");
    assert_eq!(entry["policy"]["deny"][0], "secrets.vault_required");
    assert_eq!(entry["sso"]["groups"][0], "finance");
    assert_eq!(entry["updated"], "2026-03-01T00:00:00Z");

    let schema = tmp.path().join("catalog.schema.json");
    let out = tmp
        .levee()
        .args(["schema", "catalog"])
        .output()
        .expect("schema");
    assert!(out.status.success());
    std::fs::write(&schema, &out.stdout).expect("write");
    let files = entries(&cat);
    assert_eq!(files.len(), 2);
    run_ok(
        Std::new(validator("check-jsonschema"))
            .arg("--schemafile")
            .arg(&schema)
            .args(&files),
    );
    // And the schema rejects what it should: a wrong tier.
    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        String::from_utf8_lossy(&std::fs::read(&files[0]).expect("read"))
            .replace("\"prototype\"", "\"prod\""),
    )
    .expect("write");
    let out = Std::new(validator("check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .arg(&bad)
        .output()
        .expect("runs");
    assert!(!out.status.success(), "the schema must reject tier `prod`");

    // Registering again without changes leaves the file alone.
    let before = std::fs::read(&files[0]).expect("read");
    tmp.levee()
        .env("LEVEE_TODAY", "2026-03-02")
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .assert()
        .success()
        .stderr(predicates::str::contains("unchanged expense-tracker"));
    assert_eq!(before, std::fs::read(&files[0]).expect("read"));
}

fn backstage_validate(files: &[PathBuf]) -> String {
    let dir = root().join("tests/backstage");
    assert!(
        dir.join("node_modules/@backstage/catalog-model").is_dir(),
        "tests/backstage/node_modules is missing: run scripts/node-validators-setup.sh (scripts/test.sh does)"
    );
    let out = Std::new("node")
        .arg(dir.join("validate.js"))
        .args(files)
        .output()
        .expect("node runs (Node.js 20 or later is required)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "Backstage validation failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn backstage_export_passes_the_catalog_model_validators() {
    let tmp = TestContext::new();
    let a = app(
        tmp.path(),
        "expense-tracker",
        "description: Track expenses\nkind: webhook\nstack: python\ntemplate:\n  id: python-webhook\n  version: 2.0.0\n",
    );
    // A checkout with an origin holding credentials: they must not reach the export.
    common::git(tmp.path(), &["init", "-q"]);
    common::git(
        tmp.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://x-access-token:SECRET@github.com/acme/apps.git",
        ],
    );
    let b = app(tmp.path(), "owner-odd", "");
    let text = std::fs::read_to_string(b.join("app.yaml"))
        .expect("read")
        .replace("team: finance-ops\n", "")
        .replace("jdoe@", "j.o'hara+x@");
    std::fs::write(b.join("app.yaml"), text).expect("write");
    let cat = tmp.path().join("catalog");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .args([&a, &b])
        .assert()
        .success();
    let out_file = tmp.path().join("entities.yaml");
    tmp.levee()
        .args(["catalog", "export", "--format", "backstage", "--catalog"])
        .arg(&cat)
        .arg("-o")
        .arg(&out_file)
        .assert()
        .success();
    let exported = std::fs::read_to_string(&out_file).expect("export");
    assert!(!exported.contains("SECRET"), "{exported}");
    assert!(exported.contains("backstage.io/source-location: url:https://github.com/acme/apps/tree/HEAD/expense-tracker/"), "{exported}");
    assert!(
        exported.contains("owner: group:default/finance-ops"),
        "{exported}"
    );
    // The app's own catalog-info.yaml, as `levee sync` writes it.
    let manifest = levee::model::manifest::load(&a).expect("manifest").value;
    let info = tmp.path().join("catalog-info.yaml");
    std::fs::write(
        &info,
        levee::generate::backstage::entity(
            &manifest,
            &Org::default(),
            Some("https://github.com/acme/apps"),
        ),
    )
    .expect("write");
    let report = backstage_validate(&[out_file.clone(), info]);
    assert_eq!(report.matches("ok ").count(), 3, "{report}");
    // The validators catch a broken entity (so the check above can fail).
    let broken = tmp.path().join("broken.yaml");
    std::fs::write(
        &broken,
        exported.replace("lifecycle: experimental", "lifecycle: 7"),
    )
    .expect("write");
    let out = Std::new("node")
        .arg(root().join("tests/backstage/validate.js"))
        .arg(&broken)
        .output()
        .expect("node");
    assert!(!out.status.success());
}

#[test]
fn twenty_parallel_registrations_threads() {
    let tmp = TestContext::new();
    let apps: Vec<PathBuf> = (0..20)
        .map(|i| app(tmp.path(), &format!("app-{i:02}"), ""))
        .collect();
    let store = Store::new(tmp.path().join("catalog"));
    std::thread::scope(|s| {
        for a in &apps {
            let store = &store;
            s.spawn(move || {
                // Each app twice, so writers of the same file race too.
                for _ in 0..2 {
                    let e =
                        Entry::from_app(a, &Org::default(), "2026-03-01T00:00:00Z").expect("entry");
                    store.put(&e).expect("put");
                }
            });
        }
    });
    let loaded = store.load_all().expect("load");
    assert_eq!(loaded.entries.len(), 20);
    assert!(loaded.corrupt.is_empty(), "{:?}", loaded.corrupt);
    assert_eq!(entries(store.dir()).len(), 20, "no temporary files left");
}

#[test]
fn twenty_parallel_registrations_processes() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let children: Vec<_> = (0..20)
        .map(|i| {
            let a = app(tmp.path(), &format!("app-{i:02}"), "");
            tmp.levee_std()
                .args(["-q", "catalog", "register", "--catalog"])
                .arg(&cat)
                .arg(a)
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success());
    }
    let out = tmp
        .levee()
        .args(["catalog", "list", "--format", "json", "--catalog"])
        .arg(&cat)
        .output()
        .expect("list");
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.len(), 20);
    assert_eq!(entries(&cat).len(), 20);
}

#[test]
fn a_kill_during_write_leaves_the_previous_entry_intact() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let a = app(tmp.path(), "crashy-app", "description: first\n");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .assert()
        .success();
    let before = std::fs::read(cat.join("crashy-app.json")).expect("entry");
    let text = std::fs::read_to_string(a.join("app.yaml")).expect("read");
    std::fs::write(a.join("app.yaml"), text.replace("first", "second")).expect("write");
    let mut child = tmp
        .levee_paused(20_000)
        .env("LEVEE_TODAY", "2026-03-01")
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .spawn()
        .expect("spawn");
    // Wait for the new entry to be fully written to its temporary file, then kill.
    let start = Instant::now();
    let tmp_file = loop {
        let found = entries(&cat).into_iter().find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".tmp"))
        });
        if let Some(f) = found
            && std::fs::read_to_string(&f).is_ok_and(|t| t.contains("second"))
        {
            break f;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("kill"); // SIGKILL on unix
    let _ = child.wait();
    assert_eq!(
        before,
        std::fs::read(cat.join("crashy-app.json")).expect("entry")
    );
    assert!(
        tmp_file.exists(),
        "the half-finished write is left aside, not renamed"
    );
    // The leftover is ignored by readers, and the next registration succeeds.
    tmp.levee()
        .args(["catalog", "list", "--catalog"])
        .arg(&cat)
        .assert()
        .success()
        .stdout(predicates::str::contains("crashy-app"));
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .assert()
        .success()
        .stderr(predicates::str::contains("updated crashy-app"));
    assert!(
        String::from_utf8_lossy(&std::fs::read(cat.join("crashy-app.json")).expect("e"))
            .contains("second")
    );
}

/// A scan writes its entries as one batch: every temporary file, then one flush, then the
/// renames. Killed in between, every entry is the previous one and the next scan completes.
#[test]
fn a_kill_during_a_batch_write_leaves_every_previous_entry_intact() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let root = tmp.path().join("apps");
    let names: Vec<String> = (0..12).map(|i| format!("batch-app-{i:02}")).collect();
    for n in &names {
        app(&root, n, "description: first\n");
    }
    tmp.levee()
        .args(["-q", "catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&root)
        .assert()
        .success();
    let before: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(cat.join(format!("{n}.json"))).expect("entry"))
        .collect();
    for n in &names {
        let file = root.join(n).join("app.yaml");
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, text.replace("first", "second")).expect("write");
    }
    let mut child = tmp
        .levee_paused(20_000)
        .args(["-q", "catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&root)
        .spawn()
        .expect("spawn");
    // Wait until every new entry is in its temporary file, then kill.
    let start = Instant::now();
    loop {
        let written = entries(&cat)
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".tmp"))
                    && std::fs::read_to_string(p).is_ok_and(|t| t.contains("second"))
            })
            .count();
        if written == names.len() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{written} of {} temporary files appeared",
            names.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill"); // SIGKILL on unix
    let _ = child.wait();
    for (n, b) in names.iter().zip(&before) {
        assert_eq!(
            *b,
            std::fs::read(cat.join(format!("{n}.json"))).expect("entry"),
            "{n}"
        );
    }
    let out = tmp
        .levee()
        .args(["catalog", "scan", "--format", "json", "--catalog"])
        .arg(&cat)
        .arg(&root)
        .output()
        .expect("scan");
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let results: Vec<&str> = report["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| a["result"].as_str().expect("result"))
        .collect();
    assert_eq!(results, vec!["updated"; names.len()]);
    for n in &names {
        let entry = std::fs::read_to_string(cat.join(format!("{n}.json"))).expect("entry");
        assert!(entry.contains("second"), "{n}");
    }
}

#[test]
fn a_corrupt_entry_is_reported_by_path_and_others_load() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let a = app(tmp.path(), "good-app", "");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .arg(&a)
        .assert()
        .success();
    std::fs::write(cat.join("broken-app.json"), "{\"id\": \"broken-app\", ").expect("write");
    let good = std::fs::read_to_string(cat.join("good-app.json")).expect("read");
    std::fs::write(cat.join("renamed-app.json"), &good).expect("write");
    let out = tmp
        .levee()
        .args(["catalog", "list", "--format", "csv", "--catalog"])
        .arg(&cat)
        .output()
        .expect("list");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("good-app,jdoe@acme.corp,finance-ops,internal,prototype"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stderr.contains(&format!(
            "{}: corrupt catalog entry",
            cat.join("broken-app.json").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the file name says `renamed-app` but the entry's id is `good-app`"),
        "{stderr}"
    );
    // Lifecycle also carries on, and fails so the nightly job notices.
    let out = tmp
        .levee()
        .args(["lifecycle", "--catalog"])
        .arg(&cat)
        .output()
        .expect("lifecycle");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken-app.json"));
}

#[test]
fn list_filters_show_remove_and_stats() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let a = app(tmp.path(), "old-proto", "");
    let t = std::fs::read_to_string(a.join("app.yaml"))
        .expect("r")
        .replace("2026-04-01", "2026-02-01");
    std::fs::write(a.join("app.yaml"), t).expect("w");
    let b = app(tmp.path(), "soon-proto", "");
    let t = std::fs::read_to_string(b.join("app.yaml"))
        .expect("r")
        .replace("2026-04-01", "2026-03-10")
        .replace("jdoe@acme.corp", "ext@gmail.com");
    std::fs::write(b.join("app.yaml"), t).expect("w");
    let c = app(tmp.path(), "big-sandbox", "");
    let t = std::fs::read_to_string(c.join("app.yaml"))
        .expect("r")
        .replace("tier: prototype", "tier: sandbox")
        .replace("estimated_monthly_usd: 40", "estimated_monthly_usd: 900");
    std::fs::write(c.join("app.yaml"), t).expect("w");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .args([&a, &b, &c])
        .assert()
        .success();
    let list = |args: &[&str]| {
        let out = tmp
            .levee()
            .args(["catalog", "list", "--format", "json", "--catalog"])
            .arg(&cat)
            .args(args)
            .output()
            .expect("list");
        assert!(out.status.success());
        let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
        v.iter()
            .map(|e| e["id"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&["--expired"]), ["old-proto"]);
    assert_eq!(list(&["--expiring-within", "9"]), ["soon-proto"]);
    assert_eq!(list(&["--expiring-within", "8"]), Vec::<String>::new());
    assert_eq!(list(&["--tier", "sandbox"]), ["big-sandbox"]);
    assert_eq!(list(&["--owner", "@gmail.com"]), ["soon-proto"]);
    assert_eq!(
        list(&["--owner", "JDOE@acme.corp"]),
        ["big-sandbox", "old-proto"]
    );
    assert_eq!(
        list(&["--classification", "confidential"]),
        Vec::<String>::new()
    );
    tmp.levee()
        .args(["catalog", "list", "--tier", "prod"])
        .assert()
        .code(2);

    let org = tmp.path().join("levee.org.yaml");
    std::fs::write(&org, "org: acme\nowner_domains: [acme.corp]\n").expect("org");
    let out = tmp
        .levee()
        .args(["catalog", "stats", "--format", "json", "--catalog"])
        .arg(&cat)
        .arg("--org")
        .arg(&org)
        .output()
        .expect("stats");
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["total"], 3);
    assert_eq!(s["by_tier"]["prototype"], 2);
    assert_eq!(s["by_tier"]["sandbox"], 1);
    assert_eq!(s["expired"], 1);
    assert_eq!(s["active"], 2);
    assert_eq!(s["orphaned"][0]["id"], "soon-proto");
    assert_eq!(s["total_monthly_cost_usd"], 980.0);
    assert_eq!(s["past_escalation_thresholds"][0]["id"], "big-sandbox");
    assert_eq!(
        s["past_escalation_thresholds"][0]["fired"][0],
        "monthly_cost_usd 900.00 > 500.00"
    );
    tmp.levee()
        .args(["catalog", "stats", "--catalog"])
        .arg(&cat)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "3 app(s): 2 active, 1 expired, 0 deprovisioned",
        ));

    // The app directory gone: orphaned.
    std::fs::remove_dir_all(&a).expect("rm");
    let out = tmp
        .levee()
        .args(["catalog", "stats", "--format", "json", "--catalog"])
        .arg(&cat)
        .output()
        .expect("stats");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        s["orphaned"][0]["reasons"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("app directory gone"),
        "{s}"
    );

    tmp.levee()
        .args(["catalog", "show", "big-sandbox", "--catalog"])
        .arg(&cat)
        .assert()
        .success()
        .stdout(predicates::str::contains("\"tier\": \"sandbox\""));
    tmp.levee()
        .args(["catalog", "show", "nope-app", "--catalog"])
        .arg(&cat)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("levee catalog list"));
    tmp.levee()
        .args(["catalog", "remove", "old-proto", "--catalog"])
        .arg(&cat)
        .assert()
        .success();
    assert_eq!(list(&[]), ["big-sandbox", "soon-proto"]);
    tmp.levee()
        .args(["catalog", "show", "../etc", "--catalog"])
        .arg(&cat)
        .assert()
        .code(2);
    tmp.levee()
        .args(["catalog", "list", "--catalog"])
        .arg(tmp.path().join("nowhere"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("hint: register apps"));
}

#[test]
fn the_org_config_names_the_catalog_dir() {
    let tmp = TestContext::new();
    let a = app(tmp.path(), "org-app", "");
    std::fs::write(
        tmp.path().join("levee.org.yaml"),
        "catalog:\n  dir: inventory\n",
    )
    .expect("org");
    tmp.levee()
        .current_dir(tmp.path())
        .args(["catalog", "register"])
        .arg(&a)
        .assert()
        .success();
    assert!(tmp.path().join("inventory/org-app.json").is_file());
}

#[test]
fn scan_registers_in_parallel_and_reports_gone_apps() {
    let tmp = TestContext::new();
    let roots = tmp.path().join("repos");
    for i in 0..30 {
        app(
            &roots.join(format!("repo-{i}")),
            &format!("scan-app-{i:02}"),
            "",
        );
    }
    // Ignored: dependencies and an invalid manifest (reported, not fatal).
    app(&roots.join("repo-0/node_modules"), "dep-app", "");
    std::fs::create_dir_all(roots.join("repo-bad")).expect("mkdir");
    std::fs::write(roots.join("repo-bad/app.yaml"), "name: Bad\n").expect("write");
    let cat = tmp.path().join("catalog");
    let out = tmp
        .levee()
        .args(["catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&roots)
        .output()
        .expect("scan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("repo-bad/app.yaml: invalid manifest"),
        "{stderr}"
    );
    assert_eq!(entries(&cat).len(), 30);
    std::fs::remove_dir_all(roots.join("repo-bad")).expect("rm");
    // Two apps with one id in one scan: an error, whichever comes first.
    app(&roots.join("repo-dup"), "scan-app-05", "");
    let out = tmp
        .levee()
        .args(["catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&roots)
        .output()
        .expect("scan");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("app ids must be unique"), "{stderr}");
    std::fs::remove_dir_all(roots.join("repo-dup")).expect("rm");
    let e = Store::new(&cat)
        .get("scan-app-05")
        .expect("get")
        .expect("entry");
    assert!(
        e.repository.path.ends_with("repo-5/scan-app-05"),
        "{}",
        e.repository.path
    );
    tmp.levee()
        .args(["catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&roots)
        .assert()
        .success();
    std::fs::remove_dir_all(roots.join("repo-3")).expect("rm");
    tmp.levee()
        .args(["catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&roots)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("gone: scan-app-03"));
}

#[test]
fn lifecycle_reports_applies_and_gates() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let expired = app(tmp.path(), "old-proto", "");
    let t = std::fs::read_to_string(expired.join("app.yaml"))
        .expect("r")
        .replace("2026-04-01", "2026-02-27");
    std::fs::write(expired.join("app.yaml"), t).expect("w");
    let popular = app(tmp.path(), "popular-proto", "");
    let fine = app(tmp.path(), "fine-proto", "");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .args([&expired, &popular, &fine])
        .assert()
        .success();
    let metrics = tmp.path().join("metrics.csv");
    std::fs::write(
        &metrics,
        "app_id,active_users_month,p95_latency_ms,monthly_cost_usd,open_high_vulns,open_critical_vulns\npopular-proto,1500,620,30,0,1\nfine-proto,10,100,5,0,0\nghost-app,1,1,1,0,0\n",
    )
    .expect("metrics");
    let out = tmp
        .levee()
        .args(["lifecycle", "--format", "json", "--catalog"])
        .arg(&cat)
        .arg("--metrics")
        .arg(&metrics)
        .output()
        .expect("lifecycle");
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["needs_action"], 2);
    assert_eq!(r["unknown_metrics"][0], "ghost-app");
    let by_id = |id: &str| {
        r["decisions"]
            .as_array()
            .expect("list")
            .iter()
            .find(|d| d["id"] == id)
            .cloned()
            .expect("decision")
    };
    assert_eq!(by_id("old-proto")["action"], "deprovision");
    assert_eq!(by_id("fine-proto")["action"], "ok");
    let p = by_id("popular-proto");
    assert_eq!(p["action"], "escalate");
    assert_eq!(p["to_tier"], "production");
    let fired: Vec<String> = p["fired"]
        .as_array()
        .expect("fired")
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["threshold"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or(""),
                f["limit"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        fired,
        [
            "active_users_month 1500 1000",
            "p95_latency_ms 620 500",
            "open_critical_vulns 1 0"
        ]
    );

    // --apply: the escalation is performed by `levee promote` (the app is production-ready).
    let out = tmp
        .levee()
        .args(["lifecycle", "--apply", "--catalog"])
        .arg(&cat)
        .arg("--metrics")
        .arg(&metrics)
        .output()
        .expect("apply");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("old-proto: marked deprovisioned"), "{text}");
    assert!(
        text.contains("popular-proto: escalation to production recorded; promoted "),
        "{text}"
    );
    assert!(
        text.contains("metrics for unknown app `ghost-app`"),
        "{text}"
    );
    let store = Store::new(&cat);
    let old = store.get("old-proto").expect("get").expect("entry");
    assert!(old.deprovisioned.is_some());
    let pop = store.get("popular-proto").expect("get").expect("entry");
    assert_eq!(
        pop.usage.as_ref().and_then(|u| u.active_users_month),
        Some(1500)
    );
    assert_eq!(pop.escalations.len(), 1);
    assert!(pop.escalations[0].promoted);
    assert_eq!(pop.tier, levee::model::manifest::Tier::Production);
    // Re-applying records nothing new: the app is production now; the retired app needs nothing.
    tmp.levee()
        .args(["lifecycle", "--apply", "--catalog"])
        .arg(&cat)
        .assert()
        .code(0);
    let pop = store.get("popular-proto").expect("get").expect("entry");
    assert_eq!(pop.escalations.len(), 1);
    let out = tmp
        .levee()
        .args(["lifecycle", "--format", "json", "--catalog"])
        .arg(&cat)
        .output()
        .expect("json");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["needs_action"], 0, "{r}");

    // Nothing to do: exit 0.
    let only_fine = tmp.path().join("c2");
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&only_fine)
        .arg(&fine)
        .assert()
        .success();
    tmp.levee()
        .args(["lifecycle", "--catalog"])
        .arg(&only_fine)
        .assert()
        .success()
        .stdout(predicates::str::contains("1 app(s): 0 need action, 1 ok"));
    // A bad metrics file is a usage error.
    std::fs::write(&metrics, "app,users\n").expect("w");
    tmp.levee()
        .args(["lifecycle", "--catalog"])
        .arg(&only_fine)
        .arg("--metrics")
        .arg(&metrics)
        .assert()
        .code(2);
}

#[test]
fn catalog_pipelines_pass_the_ci_validators() {
    let tmp = TestContext::new();
    let gh = tmp.path().join("levee-catalog.yml");
    let gl = tmp.path().join(".gitlab-ci.yml");
    for (ci, path) in [("github", &gh), ("gitlab", &gl)] {
        let out = tmp
            .levee()
            .args([
                "catalog",
                "pipeline",
                "--ci",
                ci,
                "--scan-root",
                "apps",
                "--scan-root",
                "teams/finance",
                "--metrics",
                "metrics/usage.csv",
            ])
            .output()
            .expect("pipeline");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf8");
        crate::snap!(format!("catalog-pipeline-{ci}"), &text);
        std::fs::write(path, text).expect("write");
    }
    let gh_text = std::fs::read_to_string(&gh).expect("read");
    assert!(gh_text.contains("cargo install --locked levee-cli@0.1.0"));
    assert!(gh_text.contains("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"));
    run_ok(Std::new(validator("actionlint")).arg(&gh));
    run_ok(
        Std::new(validator("check-jsonschema"))
            .args(["--builtin-schema", "vendor.github-workflows"])
            .arg(&gh),
    );
    run_ok(
        Std::new(validator("zizmor"))
            .args(["--offline", "--no-progress"])
            .arg(&gh),
    );
    run_ok(
        Std::new(validator("check-jsonschema"))
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .arg(&gl),
    );
    run_ok(
        Std::new(validator("yamllint"))
            .args(["-s", "-d", "{extends: default, rules: {line-length: {max: 140}, document-start: disable, truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}}}"])
            .args([&gh, &gl]),
    );
    tmp.levee()
        .args(["catalog", "pipeline", "--scan-root", "../x"])
        .assert()
        .code(2);
}

#[test]
fn text_reports_snapshot() {
    let tmp = TestContext::new();
    let apps = tmp.path().join("apps");
    app(
        &apps,
        "expense-tracker",
        "data_access:\n  - dataset: payroll\n    access_level: read\n",
    );
    let rota = app(&apps, "team-rota", "");
    let t = std::fs::read_to_string(rota.join("app.yaml"))
        .expect("r")
        .replace("2026-04-01", "2026-03-10");
    std::fs::write(rota.join("app.yaml"), t).expect("w");
    let old = app(&apps, "old-survey", "");
    let t = std::fs::read_to_string(old.join("app.yaml"))
        .expect("r")
        .replace("2026-04-01", "2026-02-01");
    std::fs::write(old.join("app.yaml"), t).expect("w");
    std::fs::write(
        tmp.path().join("usage.csv"),
        "app_id,active_users_month,p95_latency_ms,monthly_cost_usd,open_high_vulns,open_critical_vulns\nteam-rota,12,90,3.5,0,0\nold-wiki,40,100,1,0,0\n",
    )
    .expect("w");
    let run = |args: &[&str]| {
        let out = tmp
            .levee()
            .current_dir(tmp.path())
            .args(args)
            .output()
            .expect("runs");
        format!(
            "$ levee {}\n[exit {}]\n{}{}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let mut all = String::new();
    for args in [
        &[
            "catalog",
            "register",
            "apps/expense-tracker",
            "apps/team-rota",
            "apps/old-survey",
        ][..],
        &["catalog", "list"],
        &["catalog", "stats"],
        &["lifecycle", "--metrics", "usage.csv"],
    ] {
        all.push_str(&run(args));
        all.push('\n');
    }
    crate::snap!("catalog-text-reports", all);
}

/// `levee -q catalog <command> --format json --catalog CAT PATH`: (exit code, stdout JSON,
/// stderr).
fn catalog_json(
    cx: &TestContext,
    command: &str,
    cat: &Path,
    path: &Path,
) -> (Option<i32>, serde_json::Value, String) {
    let out = cx
        .levee()
        .args(["-q", "catalog", command, "--format", "json", "--catalog"])
        .arg(cat)
        .arg(path)
        .output()
        .expect("levee runs");
    let report = serde_json::from_slice(&out.stdout).expect("json");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), report, stderr)
}

#[test]
fn register_and_scan_report_in_json() {
    let tmp = TestContext::new();
    let roots = tmp.path().join("repos");
    let a = app(&roots.join("repo-a"), "json-app-a", "");
    app(&roots.join("repo-b"), "json-app-b", "");
    std::fs::create_dir_all(roots.join("repo-bad")).expect("mkdir");
    std::fs::write(roots.join("repo-bad/app.yaml"), "name: Bad\n").expect("write");
    let cat = tmp.path().join("catalog");

    let (code, r, stderr) = catalog_json(&tmp, "register", &cat, &a);
    assert_eq!(code, Some(0));
    assert!(stderr.is_empty(), "-q: no progress lines: {stderr}");
    assert_eq!(
        r["apps"],
        serde_json::json!([{"app": a.display().to_string(), "id": "json-app-a", "result": "added"}])
    );
    assert_eq!(r["gone"], serde_json::json!([]));

    let (code, r, stderr) = catalog_json(&tmp, "scan", &cat, &roots);
    assert_eq!(code, Some(1), "the invalid manifest is a problem");
    // -q prints only errors: the invalid manifest's line, not the apps registered.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("repo-bad/app.yaml: invalid manifest"),
        "{stderr}"
    );
    let results: Vec<(String, String)> = r["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|x| {
            (
                x["app"]
                    .as_str()
                    .expect("app")
                    .rsplit('/')
                    .next()
                    .expect("name")
                    .to_string(),
                x["result"].as_str().expect("result").to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("json-app-a", "unchanged"),
            ("json-app-b", "added"),
            ("repo-bad", "error"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let bad = &r["apps"][2];
    assert!(
        bad["error"]
            .as_str()
            .expect("error")
            .starts_with("invalid manifest (4 problem(s)); run `levee validate"),
        "{bad}"
    );

    // An app removed from disk is listed under `gone`.
    std::fs::remove_dir_all(roots.join("repo-bad")).expect("rm");
    std::fs::remove_dir_all(roots.join("repo-b")).expect("rm");
    let (code, r, _) = catalog_json(&tmp, "scan", &cat, &roots);
    assert_eq!(code, Some(1), "a gone app is a problem");
    assert_eq!(r["gone"][0]["id"], "json-app-b");
    assert_eq!(r["gone"].as_array().expect("gone").len(), 1);
}

fn git(dir: &Path, args: &[&str]) {
    let out = Std::new("git")
        .args([
            "-c",
            "user.email=t@acme.corp",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {:?}", out);
}

/// A git pack tagged v1.0.0 and v1.1.0 (its files do not matter here: only its versions).
fn versioned_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("acme-pack");
    std::fs::create_dir_all(pack.join("form-node/files")).expect("mkdir");
    std::fs::write(
        pack.join("form-node/template.yaml"),
        "kind: form\nstack: node\n",
    )
    .expect("w");
    std::fs::write(pack.join("form-node/files/README.md"), "hi\n").expect("w");
    for v in ["1.0.0", "1.1.0"] {
        std::fs::write(
            pack.join("pack.yaml"),
            format!("name: acme\nversion: {v}\n"),
        )
        .expect("w");
        git(&pack, &["init", "-q"]);
        git(&pack, &["add", "-A"]);
        git(&pack, &["commit", "-qm", v]);
        git(&pack, &["tag", &format!("v{v}")]);
    }
    pack
}

#[test]
fn rollout_shows_which_apps_lag_their_packs_newest_version() {
    let tmp = TestContext::new();
    let pack = versioned_pack(tmp.path());
    let p = pack.display();
    let apps = tmp.path().join("apps");
    let template = |v: &str, source: &str| {
        format!("template:\n  id: form-node\n  version: \"{v}\"\n  source: \"{source}\"\n")
    };
    app(
        &apps,
        "expenses",
        &template("1.1.0", &format!("{p}@v1.1.0")),
    );
    app(&apps, "payroll", &template("1.0.0", &format!("{p}@v1.0.0")));
    app(&apps, "travel", &template("1.0.0", &format!("{p}@v1.0.0")));
    app(
        &apps,
        "builtin-app",
        "template:\n  id: form-node\n  version: \"1.0.0\"\n",
    );
    app(&apps, "handmade", "");
    app(&apps, "lost", &template("1.0.0", "/nonexistent/pack"));
    let cat = tmp.path().join("catalog");
    tmp.levee()
        .args(["-q", "catalog", "scan", "--catalog"])
        .arg(&cat)
        .arg(&apps)
        .assert()
        .code(0);
    let text = |args: &[&str]| {
        let out = tmp
            .levee()
            .args(["catalog", "rollout", "--catalog"])
            .arg(&cat)
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout)
            .expect("utf8")
            .replace(&p.to_string(), "<pack>")
    };
    assert_eq!(
        text(&[]),
        " ID           TEMPLATE   VERSION  LATEST  STATUS      \n \
         builtin-app  form-node  1.0.0    1.0.0   current     \n \
         expenses     form-node  1.1.0    1.1.0   current     \n \
         handmade     -          -        -       no template \n \
         lost         form-node  1.0.0    -       unknown     \n \
         payroll      form-node  1.0.0    1.1.0   behind      \n \
         travel       form-node  1.0.0    1.1.0   behind      \n\
         pack /nonexistent/pack: cannot read its versions (the template pack /nonexistent/pack does not exist or is not a directory); 1 app(s) (1.0.0: 1)\n\
         pack <pack>: newest 1.1.0; 1 of 3 app(s) on it (1.1.0: 1, 1.0.0: 2)\n\
         pack builtin: newest 1.0.0; 1 of 1 app(s) on it (1.0.0: 1)\n\
         6 app(s): 2 on their pack's newest template version, 2 behind, 0 ahead, 1 unknown, 1 without a template\n"
    );
    let behind = text(&["--behind", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&behind).expect("json");
    let ids: Vec<&str> = json["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| a["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["handmade", "lost", "payroll", "travel"]);
    assert_eq!(
        json["apps"][2],
        serde_json::json!({"id": "payroll", "template": "form-node", "version": "1.0.0", "pack": "<pack>", "latest": "1.1.0", "status": "behind"})
    );
    assert_eq!(json["summary"]["behind"], 2);
    // The platform team's checkout of the pack, for every entry: the builtin app lags it too.
    let all = text(&["--templates", &p.to_string(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&all).expect("json");
    assert_eq!(json["summary"]["behind"], 4, "{all}");
    assert_eq!(json["packs"].as_array().expect("packs").len(), 1);
}
