//! The settings an app's template declares hold after `levee new`: an `app.yaml` that later drops
//! a required one is reported, located, with the template's description and example as the hint,
//! by `levee validate`, `check`, `sync` (which leaves `deploy/` as it was), `deploy` and
//! `promote`. The declarations come from the app's `.levee/render.json` record, which `levee new`
//! and `levee upgrade` write.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use common::{Out, TestContext, run};

const SETTING: &str = "  DOWNSTREAM_URL: \"https://api.payments.example.com/events\"\n";
const HINT: &str = "help: add it under `settings:`, like `DOWNSTREAM_URL: https://api.payments.example.com/events` (Where verified events are forwarded: an https URL)";

fn org() -> PathBuf {
    common::root().join("tests/fixtures/apps.levee.org.yaml")
}

fn levee(cx: &TestContext, cwd: &Path, args: &[&str]) -> Out {
    run(cx.levee_in(cwd).arg("--org").arg(org()).args(args))
}

/// A built-in webhook, made with `levee new` (its template requires `DOWNSTREAM_URL`).
fn webhook(cx: &TestContext, parent: &Path) -> PathBuf {
    let app = parent.join("hook");
    let mut args = vec![
        "new",
        "hook",
        "--template",
        "webhook-python",
        "--description",
        "Forwards payment events",
        "--owner",
        "jane.doe@example.com",
        "--team",
        "payments",
        "--classification",
        "internal",
        "--sso-issuer",
        "https://login.example.com",
        "--sso-group",
        "payments",
        "--cost-center",
        "CC-1",
    ];
    args.extend(common::kind_answers("webhook"));
    let out = levee(cx, parent, &args);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    app
}

fn line_of(text: &str, starts: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(starts))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line starting with {starts:?}:\n{text}"))
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(dir)
        .expect("read_dir")
        .flat_map(|e| {
            let p = e.expect("entry").path();
            if p.is_dir() {
                snapshot(&p)
            } else {
                vec![(p.clone(), fs::read(&p).expect("read"))]
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_record_keeps_what_the_template_declares() {
    let tmp = TestContext::new();
    let app = webhook(&tmp, tmp.path());
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("record"))
            .expect("json");
    assert_eq!(
        record["template_settings"],
        serde_json::json!({"DOWNSTREAM_URL": {
            "description": "Where verified events are forwarded: an https URL",
            "required": true,
            "example": "https://api.payments.example.com/events",
        }})
    );
}

#[test]
fn a_dropped_required_setting_is_reported_located_everywhere() {
    let tmp = TestContext::new();
    let app = webhook(&tmp, tmp.path());
    let original = fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
    assert!(original.contains(SETTING), "{original}");
    // The owner replaces the downstream with a setting of their own.
    let edited = original.replace(SETTING, "  DOWNSTREAM_TIMEOUT_MS: \"5000\"\n");
    fs::write(app.join("app.yaml"), &edited).expect("write");
    let at = format!("--> ./app.yaml:{}:1", line_of(&edited, "settings:"));
    let message = "error: the template webhook-python needs the setting `DOWNSTREAM_URL`, which app.yaml does not set: deployed, the app refuses to start without it";

    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for expected in [message, &at, HINT, "invalid ./app.yaml: 1 problem"] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    let out = levee(&tmp, &app, &["validate", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(report["problems"][0]["field"], "settings.DOWNSTREAM_URL");
    assert_eq!(
        report["problems"][0]["line"],
        line_of(&edited, "settings:") as u64
    );

    let out = levee(&tmp, &app, &["check"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(message) && out.stdout.contains(HINT),
        "{}",
        out.stdout
    );

    // sync writes every other managed file, leaves deploy/ exactly as it was, exits 1.
    let deploy_before = snapshot(&app.join("deploy"));
    fs::remove_file(app.join("catalog-info.yaml")).expect("rm");
    let out = levee(&tmp, &app, &["sync"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for expected in [
        message,
        &at,
        HINT,
        "wrote catalog-info.yaml (missing)",
        "refused hook cannot be deployed: 1 problem with the settings its template needs",
        "note: deploy was left as it was; every other managed file was written",
    ] {
        assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
    }
    assert!(app.join("catalog-info.yaml").is_file());
    assert_eq!(snapshot(&app.join("deploy")), deploy_before);
    let out = levee(&tmp, &app, &["sync", "--check"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(message), "{}", out.stdout);
    let out = levee(&tmp, &app, &["sync", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        report["sandbox_refused"][0]["field"],
        "settings.DOWNSTREAM_URL"
    );

    // deploy and promote refuse, writing nothing.
    let out = levee(&tmp, &app, &["deploy"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(message), "{}", out.stdout);
    assert_eq!(snapshot(&app.join("deploy")), deploy_before);
    let out = levee(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains(message),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(
        fs::read_to_string(app.join("app.yaml")).expect("app.yaml"),
        edited
    );

    // Without a `settings:` block at all, the problem sits at `template:` (what needs it).
    let start = edited.find("\nsettings:\n").expect("settings block") + 1;
    let end = edited[start..]
        .find("\n\n")
        .map_or(edited.len(), |i| start + i + 1);
    let without = format!("{}{}", &edited[..start], &edited[end..]);
    assert!(!without.contains("settings:\n"), "{without}");
    fs::write(app.join("app.yaml"), &without).expect("write");
    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let at = format!("--> ./app.yaml:{}:1", line_of(&without, "template:"));
    assert!(out.stdout.contains(&at), "{at}\n{}", out.stdout);

    // Set again: everything passes.
    fs::write(app.join("app.yaml"), &original).expect("write");
    for args in [
        vec!["validate"],
        vec!["check"],
        vec!["sync", "--check"],
        vec!["promote", "--tier", "sandbox"],
    ] {
        let out = levee(&tmp, &app, &args);
        assert_eq!(out.code, 0, "{args:?}: {}{}", out.stdout, out.stderr);
    }
}

#[test]
fn a_manifest_with_other_problems_gets_this_one_too() {
    let tmp = TestContext::new();
    let app = webhook(&tmp, tmp.path());
    let text = fs::read_to_string(app.join("app.yaml"))
        .expect("app.yaml")
        .replace(SETTING, "  downstream-url: x\n");
    fs::write(app.join("app.yaml"), text).expect("write");
    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("did you mean `DOWNSTREAM_URL`?"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(HINT), "{}", out.stdout);
}

/// A damaged record is a located problem (never a panic, a hang or a silent skip); a record
/// from before levee kept the declarations is not checked.
#[test]
fn a_damaged_record_is_reported_and_an_old_one_is_not_checked() {
    let tmp = TestContext::new();
    let app = webhook(&tmp, tmp.path());
    let record = app.join(".levee/render.json");
    let good = fs::read(&record).expect("record");
    let mut json: serde_json::Value = serde_json::from_slice(&good).expect("json");
    let damaged = "error: levee's record of the app's template is damaged";

    let mut hostile = json.clone();
    hostile["template_settings"] =
        serde_json::json!({"NODE_OPTIONS": {"description": "x", "required": true}});
    let mut escape = json.clone();
    escape["template_settings"]["DOWNSTREAM_URL"]["description"] =
        serde_json::json!("evil \u{1b}[31m");
    let mut wrong_shape = json.clone();
    wrong_shape["template_settings"] = serde_json::json!(["DOWNSTREAM_URL"]);
    for (what, bytes) in [
        ("not JSON", b"{ not json".to_vec()),
        (
            "a reserved name",
            serde_json::to_vec(&hostile).expect("json"),
        ),
        (
            "a control character",
            serde_json::to_vec(&escape).expect("json"),
        ),
        ("a list", serde_json::to_vec(&wrong_shape).expect("json")),
    ] {
        fs::write(&record, bytes).expect("write");
        let out = levee(&tmp, &app, &["validate"]);
        assert_eq!(out.code, 1, "{what}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains(damaged), "{what}: {}", out.stdout);
        assert!(
            out.stdout.contains("--> ./.levee/render.json"),
            "{what}: {}",
            out.stdout
        );
        assert!(!out.stdout.contains('\u{1b}'), "{what}: {:?}", out.stdout);
    }
    // Through a symlink (to an endless file) or a FIFO: refused without reading, no hang.
    fs::remove_file(&record).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &record).expect("symlink");
    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("not a regular file"), "{}", out.stdout);
    fs::remove_file(&record).expect("rm");
    let fifo = Std::new("mkfifo").arg(&record).status().expect("mkfifo");
    assert!(fifo.success());
    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    fs::remove_file(&record).expect("rm");

    // A record written before levee kept the declarations: not checked (its next upgrade
    // writes them), and no record at all (a hand-written app.yaml): nothing to check.
    json.as_object_mut()
        .expect("object")
        .remove("template_settings");
    fs::write(&record, serde_json::to_vec(&json).expect("json")).expect("write");
    let text = fs::read_to_string(app.join("app.yaml"))
        .expect("app.yaml")
        .replace(SETTING, "  DOWNSTREAM_TIMEOUT_MS: \"5000\"\n");
    fs::write(app.join("app.yaml"), text).expect("write");
    assert_eq!(levee(&tmp, &app, &["validate"]).code, 0);
    fs::remove_dir_all(app.join(".levee")).expect("rm");
    assert_eq!(levee(&tmp, &app, &["validate"]).code, 0);
}

fn git(dir: &Path, args: &[&str]) {
    let o = Std::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
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
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A template version that starts requiring a setting: `levee upgrade` records it, says so, and
/// `levee validate` then holds app.yaml to it.
#[test]
fn an_upgrade_records_the_new_versions_declarations() {
    let tmp = TestContext::new();
    let pack = tmp.path().join("pack");
    let write = |rel: &str, text: &str| {
        let p = pack.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    };
    write("pack.yaml", "name: acme\nversion: 1.0.0\n");
    write(
        "dashboard-node/template.yaml",
        "kind: dashboard\nstack: node\ndescription: test dashboard\n",
    );
    write("dashboard-node/files/README.md.jinja", "# {{ app.name }}\n");
    git(&pack, &["init", "-q"]);
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.0.0"]);
    git(&pack, &["tag", "v1.0.0"]);
    write("pack.yaml", "name: acme\nversion: 1.1.0\n");
    write(
        "dashboard-node/template.yaml",
        "kind: dashboard\nstack: node\ndescription: test dashboard\nsettings:\n  REPORT_URL:\n    description: The report the dashboard shows\n    required: true\n    example: https://reports.example.com/q1.json\n",
    );
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.1.0"]);
    git(&pack, &["tag", "v1.1.0"]);

    let out = levee(
        &tmp,
        tmp.path(),
        &[
            "new",
            "board",
            "--owner",
            "jane.doe@example.com",
            "--kind",
            "dashboard",
            "--stack",
            "node",
            "--classification",
            "internal",
            "--templates",
            &format!("{}@v1.0.0", pack.display()),
        ],
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let app = tmp.path().join("board");
    assert_eq!(levee(&tmp, &app, &["validate"]).code, 0);

    let out = levee(&tmp, &app, &["upgrade", "--format", "json"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(report["apps"][0]["result"], "upgraded", "{report}");
    assert_eq!(
        report["apps"][0]["warning"],
        "template v1.1.0 needs the setting `REPORT_URL`, which app.yaml does not set: add it under `settings:` (`levee validate` shows the example)"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("record"))
            .expect("json");
    assert_eq!(
        record["template_settings"]["REPORT_URL"]["required"], true,
        "{record}"
    );
    let out = levee(&tmp, &app, &["validate"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("help: add it under `settings:`, like `REPORT_URL: https://reports.example.com/q1.json` (The report the dashboard shows)"),
        "{}",
        out.stdout
    );
}
