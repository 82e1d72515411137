//! The manifest corpus: every invalid file fails with located errors (snapshotted), every valid
//! one passes, and the published JSON Schema agrees with levee on both.

mod common;

use common::{TestContext, corpus, rel, validator};

#[test]
fn every_invalid_manifest_fails_with_a_located_error() {
    let cx = TestContext::new();
    let files = corpus("tests/manifests/invalid");
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    for file in files {
        let out = cx
            .levee()
            .args(["validate", &rel(&file)])
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{}: {stdout}", rel(&file));
        assert!(
            out.stderr.is_empty(),
            "{}: stderr {:?}",
            rel(&file),
            out.stderr
        );
        // Located: `--> file:line:column`.
        assert!(
            stdout.contains(&format!("--> {}:", rel(&file))),
            "{} has no located error:\n{stdout}",
            rel(&file)
        );
        // Whatever the file holds, the report is plain text: no control character of the
        // file reaches the terminal, no line of it starts a GitHub workflow command.
        assert!(
            stdout
                .chars()
                .all(|c| c == '\n' || levee::support::text::forbidden(c).is_none()),
            "{}: {stdout:?}",
            rel(&file)
        );
        assert!(
            !stdout.lines().any(|l| l.starts_with("::")),
            "{}: {stdout}",
            rel(&file)
        );
        let stem = file.file_stem().and_then(|s| s.to_str()).expect("stem");
        snap!(format!("validate-invalid-{stem}"), stdout);
    }
}

#[test]
fn every_valid_manifest_passes() {
    let cx = TestContext::new();
    let files = corpus("tests/manifests/valid");
    assert!(files.iter().any(|f| f.ends_with("playbook-example.yaml")));
    for file in files {
        cx.levee()
            .args(["validate", &rel(&file)])
            .assert()
            .code(0)
            .stdout(predicates::str::starts_with(format!(
                "valid {}",
                rel(&file)
            )));
    }
}

#[test]
fn json_report_lists_every_problem_with_its_position() {
    let cx = TestContext::new();
    let out = cx
        .levee()
        .args([
            "validate",
            "--format",
            "json",
            "tests/manifests/invalid/many-problems.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let problems = report["problems"].as_array().expect("problems");
    let fields: Vec<&str> = problems
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(fields, ["owner", "runtime.mem_limit", "data_acess"]);
    for p in problems {
        assert!(
            p["line"].as_u64().is_some() && p["column"].as_u64().is_some(),
            "{p}"
        );
        assert!(p["hint"].as_str().is_some_and(|h| !h.is_empty()), "{p}");
    }
    snap!(
        "validate-json-many-problems",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Files whose only problem is one no JSON Schema can express (a relation between two values,
/// a date after today).
const MEANING_ONLY: &[&str] = &[
    "expires-before-created.yaml",
    "secret-duplicate.yaml",
    "created-in-the-future.yaml",
    "settings-also-a-secret.yaml",
    "settings-url-credentials.yaml",
];

#[test]
fn published_schema_agrees_with_levee() {
    let dir = TestContext::new();
    let schema = dir.path().join("manifest.schema.json");
    let out = dir
        .levee()
        .args(["schema", "manifest"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    std::fs::write(&schema, &out.stdout).expect("write schema");
    let check = validator("check-jsonschema");

    let valid: Vec<String> = corpus("tests/manifests/valid")
        .iter()
        .map(|p| rel(p))
        .collect();
    let ok = std::process::Command::new(&check)
        .current_dir(common::root())
        .arg("--schemafile")
        .arg(&schema)
        .args(&valid)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        ok.status.success(),
        "the schema rejects a valid manifest: {}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // The alias bomb is left out: check-jsonschema's YAML reader would expand it (levee refuses it).
    let invalid: Vec<String> = corpus("tests/manifests/invalid")
        .iter()
        .map(|p| rel(p))
        .filter(|p| !p.ends_with("alias-bomb.yaml"))
        .collect();
    let out = std::process::Command::new(&check)
        .current_dir(common::root())
        .arg("--schemafile")
        .arg(&schema)
        .args(["--output-format", "json"])
        .args(&invalid)
        .output()
        .expect("check-jsonschema runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let mut rejected = std::collections::BTreeSet::new();
    for key in ["errors", "parse_errors"] {
        for e in report[key].as_array().into_iter().flatten() {
            if let Some(f) = e["filename"].as_str() {
                rejected.insert(f.to_string());
            }
        }
    }
    for file in &invalid {
        let meaning_only = MEANING_ONLY.iter().any(|m| file.ends_with(m));
        assert_eq!(
            rejected.contains(file),
            !meaning_only,
            "{file}: schema verdict disagrees (rejected: {})",
            rejected.contains(file)
        );
    }
}

#[test]
fn hostile_inputs_get_clear_errors_fast() {
    let dir = TestContext::new();
    let big = dir.path().join("app.yaml");
    let mut text = String::from("name: big-app\ndescription: \"");
    text.push_str(&"x".repeat(40 * 1024 * 1024));
    text.push_str("\"\n");
    std::fs::write(&big, text).expect("write");
    let started = std::time::Instant::now();
    dir.levee()
        .args(["validate"])
        .arg(&big)
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "levee reads manifest files of at most 1048576 bytes",
        ));
    // A hang guard, not a benchmark (scripts/bench.sh measures speed).
    assert!(started.elapsed().as_secs() < 10);
}
