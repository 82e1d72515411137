//! Control characters and injection: refused (located) in manifests, answers files and the org
//! config; escaped wherever text from a user's files reaches a terminal or a CI log, so a value
//! can never start a GitHub workflow command (`::error ...` at column 0) or carry an ANSI/OSC
//! escape; org-config values written into pipelines are checked and quoted.

mod common;

use std::path::{Path, PathBuf};

use common::{Out, TestContext, run, write};

/// Output a terminal or CI log can show as it is: line breaks and levee's own text only.
fn assert_plain(what: &str, o: &Out) {
    for (stream, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| *c != '\n' && levee::support::text::forbidden(*c).is_some())
            .collect();
        assert!(bad.is_empty(), "{what}: raw {bad:?} on {stream}: {text:?}");
        for line in text.lines() {
            assert!(
                !line.trim_start().starts_with("::"),
                "{what}: a workflow command on {stream}: {line:?}"
            );
        }
    }
}

fn scaffold(cx: &TestContext, dir: &Path, name: &str) -> PathBuf {
    common::new_app(cx, dir, name.as_ref(), name, "form", None)
}

#[test]
fn check_and_validate_report_hostile_manifests_in_plain_text() {
    let cx = TestContext::new();
    for file in common::corpus("tests/manifests/invalid")
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("control-"))
    {
        let rel = common::rel(&file);
        for format in ["text", "json", "sarif"] {
            let o = run(cx.levee().args(["check", "--format", format, &rel]));
            assert_eq!(o.code, 1, "{rel}: {}{}", o.stdout, o.stderr);
            assert_plain(&format!("check {format} {rel}"), &o);
        }
        let o = run(cx.levee().args(["validate", "--format", "json", &rel]));
        assert_eq!(o.code, 1, "{rel}");
        assert_plain(&format!("validate json {rel}"), &o);
        let report: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
        let p = &report["problems"][0];
        assert!(
            p["line"].as_u64().is_some() && p["message"].as_str().is_some_and(|m| m.contains("U+")),
            "{rel}: {p}"
        );
    }
}

#[test]
fn lifecycle_and_catalog_escape_hand_edited_entries_and_metrics_ids() {
    let tmp = TestContext::new();
    scaffold(&tmp, tmp.path(), "esc-app");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["catalog", "register", "esc-app"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Someone edits the entry by hand (the catalog is a git repository anyone can send a
    // change to): an owner with a workflow command and an OSC hyperlink.
    let entry = tmp.path().join("catalog/esc-app.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&entry).expect("read")).expect("json");
    v["owner"] =
        "ops@acme.corp\n::error title=pwned::owned\u{1b}]8;;https://evil.example\u{7}x".into();
    v["expires"] = "2026-02-01".into();
    std::fs::write(&entry, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
    let metrics = tmp.path().join("metrics.csv");
    std::fs::write(
        &metrics,
        "app_id,active_users_month\n\"ghost\n::warning::fake\",1\n\"\u{1b}[2J\u{9b}31m\",2\nesc-app,5\n",
    )
    .expect("write");
    for args in [
        vec!["-v", "lifecycle", "--metrics", "metrics.csv"],
        vec!["lifecycle", "--metrics", "metrics.csv", "--format", "json"],
        vec!["catalog", "list"],
        vec!["catalog", "list", "--format", "json"],
        vec!["catalog", "list", "--format", "csv"],
        vec!["catalog", "show", "esc-app"],
        vec!["catalog", "stats"],
    ] {
        let o = run(tmp.levee_in(tmp.path()).args(&args));
        assert!(
            o.code == 0 || o.code == 1,
            "{args:?}: {}{}",
            o.stdout,
            o.stderr
        );
        if args.contains(&"csv") {
            // CSV quotes the field; a line break inside quotes is data, not a new line of
            // output a log would act on, but no escape sequence may pass.
            assert!(!o.stdout.contains('\u{1b}'), "{args:?}: {:?}", o.stdout);
            continue;
        }
        assert_plain(&format!("{args:?}"), &o);
    }
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["-v", "lifecycle", "--metrics", "metrics.csv"]));
    assert!(
        o.stdout
            .contains("ops@acme.corp\\n::error title=pwned::owned\\u001b]8;;"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("metrics for unknown app `ghost\\n::warning::fake`"),
        "{}",
        o.stdout
    );
}

#[test]
fn file_names_in_managed_directories_are_escaped_in_reports() {
    let tmp = TestContext::new();
    let app = scaffold(&tmp, tmp.path(), "name-app");
    // A file levee does not generate, in a directory it owns, with a hostile name.
    write(
        &app,
        "policy/x\n::error title=pwned::y\u{1b}[2J.rego",
        b"package levee.policy\n",
    );
    for args in [
        vec!["sync", "--check", "name-app"],
        vec!["sync", "name-app"],
        vec!["sync", "--check", "--format", "json", "name-app"],
    ] {
        let o = run(tmp.levee_in(tmp.path()).args(&args));
        assert_eq!(o.code, 1, "{args:?}: {}{}", o.stdout, o.stderr);
        assert_plain(&format!("{args:?}"), &o);
        assert!(
            o.stdout
                .contains("x\\n::error title=pwned::y\\u001b[2J.rego"),
            "{args:?}: {}",
            o.stdout
        );
    }
}

#[test]
fn org_configs_refuse_control_characters_and_expressions_in_pipeline_values() {
    let tmp = TestContext::new();
    let org = tmp.path().join("levee.org.yaml");
    std::fs::write(
        &org,
        concat!(
            "org: \"acme\\u001b]0;x\\u0007\"\n",
            "owners:\n  platform: \"@acme/platform\\n* @attacker\"\n",
            "ci:\n",
            "  runner: \"ubuntu-24.04 ${{ github.event.issue.title }}\"\n",
            "  default_branch: \"main'] && true || ['\"\n",
            "  deploy:\n",
            "    url: \"https://{app}.example.com/${{ github.head_ref }}\"\n",
            "    command: |\n      kubectl apply -f deploy/\n      echo ${{ github.event.comment.body }}\n",
            "    smoke: \"curl -f \\\"$LEVEE_APP_URL\\\"\\u0007\"\n",
            "  images:\n    node: \"node:24 \\\"evil\\\"\"\n",
        ),
    )
    .expect("write");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["validate", "levee.org.yaml"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_plain("validate org", &o);
    for (line, want) in [
        (1, "contains a control character (U+001B"),
        (3, "contains a line break (U+000A"),
        (5, "is not a runner label"),
        (6, "is not a branch name"),
        (8, "is not an http(s) URL"),
        (10, "a GitHub expression"),
        (12, "contains a control character (U+0007"),
        (14, "is not a container image reference"),
    ] {
        let located = format!("levee.org.yaml:{line}:");
        let found = o
            .stdout
            .split("error: ")
            .any(|e| e.contains(want) && e.contains(&located));
        assert!(found, "line {line}: {want}\n{}", o.stdout);
    }
    // A multi-line deploy command without expressions is fine.
    std::fs::write(
        &org,
        "ci:\n  deploy:\n    command: |\n      kubectl apply -f deploy/\n      kubectl rollout status deploy/app\n",
    )
    .expect("write");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["validate", "levee.org.yaml"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
}

#[test]
fn an_answers_file_with_control_characters_is_refused_where_they_are() {
    let tmp = TestContext::new();
    std::fs::write(
        tmp.path().join("answers.yaml"),
        "name: ans-app\nowner: jane.doe@acme.corp\ndescription: \"Expenses\\x7f\"\nteam: \"a\\n::error::b\"\n",
    )
    .expect("write");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["new", "ans-app", "--no-input", "--answers", "answers.yaml"])
        .args([
            "--kind",
            "form",
            "--stack",
            "node",
            "--classification",
            "internal",
        ]));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert_plain("new --answers", &o);
    assert!(
        o.stderr.contains("answers.yaml:3:14") && o.stderr.contains("answers.yaml:4:7"),
        "{}",
        o.stderr
    );
    assert!(!tmp.path().join("ans-app").exists());
}

#[test]
fn flags_with_control_characters_never_reach_a_generated_file() {
    let tmp = TestContext::new();
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["new", "flag-app", "--no-input", "--name", "flag-app"])
        .args(["--owner", "jane.doe@acme.corp", "--team", "ops-team"])
        .args(["--description", "line one\n::error::line two"])
        .args([
            "--kind",
            "form",
            "--stack",
            "node",
            "--classification",
            "internal",
        ]));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert_plain("new with flags", &o);
    assert!(
        o.stderr.contains("--description") && o.stderr.contains("a line break"),
        "{}",
        o.stderr
    );
    assert!(!tmp.path().join("flag-app").exists());
}
