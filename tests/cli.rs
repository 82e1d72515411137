//! The command-line surface: definition, help, exit codes and global flags.

mod common;

use clap::CommandFactory;
use common::levee;

#[test]
fn cli_definition_is_consistent() {
    levee::cli::Cli::command().debug_assert();
}

#[test]
fn help_text() {
    let out = levee().arg("--help").output().expect("runs");
    assert!(out.status.success());
    snap!("help", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn missing_path_is_exit_2() {
    levee()
        .args(["validate", "no/such/dir"])
        .assert()
        .code(2)
        .stdout(predicates::str::contains("error: cannot read no/such/dir"));
}

#[test]
fn directory_without_manifest_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    levee()
        .arg("validate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicates::str::contains("has no app.yaml"));
}

#[test]
fn directory_with_manifest_is_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        common::root().join("tests/manifests/valid/playbook-example.yaml"),
        dir.path().join("app.yaml"),
    )
    .expect("copy");
    levee().arg("validate").arg(dir.path()).assert().code(0);
}

#[test]
fn usage_error_is_exit_2() {
    levee()
        .args(["validate", "--format", "xml"])
        .assert()
        .code(2);
    levee().arg("no-such-command").assert().code(2);
}

#[test]
fn quiet_prints_nothing_for_valid_files() {
    levee()
        .args(["validate", "-q", "tests/manifests/valid/minimal.yaml"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn color_always_colours_and_never_does_not() {
    let coloured = levee()
        .args([
            "--color",
            "always",
            "validate",
            "tests/manifests/invalid/memory-mb.yaml",
        ])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&coloured.stdout).contains('\u{1b}'));
    let plain = levee()
        .args([
            "--color",
            "never",
            "validate",
            "tests/manifests/invalid/memory-mb.yaml",
        ])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));
}

#[test]
fn schemas_are_draft_2020_12() {
    for which in ["manifest", "org"] {
        let out = levee().args(["schema", which]).output().expect("runs");
        assert!(out.status.success());
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{which}"
        );
    }
}

#[test]
fn broken_pipe_is_not_an_error() {
    // `levee schema | head -c1`: the reader goes away; levee exits quietly.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("levee"))
        .args(["schema"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{:?}", out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
