//! The smaller edges of `levee upgrade` and friends: executable bits, CRLF files, a path that is
//! not UTF-8, a file turned into a directory, a byte order mark, git transports that run
//! commands or never answer.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{TestContext, run, write};

const TPL: &str = "svc-node/files";

/// A git pack at v1.0.0 and v1.1.0.
fn git_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("pack");
    write(&pack, "pack.yaml", b"name: edges\nversion: 1.0.0\n");
    write(
        &pack,
        "svc-node/template.yaml",
        b"kind: dashboard\nstack: node\ndescription: edges\n",
    );
    let f = |rel: &str, bytes: &[u8]| write(&pack, &format!("{TPL}/{rel}"), bytes);
    f("docs/guide.md", b"guide v1\n");
    f("notes.txt", b"one\r\ntwo\r\nthree\r\n");
    f("bin/run.sh", b"#!/bin/sh\necho v1\n");
    chmod(&pack.join(TPL).join("bin/run.sh"), 0o755);
    common::git(&pack, &["init", "-q"]);
    common::release(&pack, "v1.0.0");
    write(&pack, "pack.yaml", b"name: edges\nversion: 1.1.0\n");
    f("docs/guide.md", b"guide v2\n");
    f("notes.txt", b"one\r\nTWO from the template\r\nthree\r\n");
    f("bin/run.sh", b"#!/bin/sh\necho v2\n");
    f("bin/new.sh", b"#!/bin/sh\necho new\n");
    chmod(&pack.join(TPL).join("bin/new.sh"), 0o755);
    common::release(&pack, "v1.1.0");
    pack
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

fn scaffold(cx: &TestContext, dir: &Path, pack: &Path, target: &std::ffi::OsStr) -> PathBuf {
    common::new_app(cx, dir, target, "edge-app", "dashboard", Some(pack))
}

fn version(app: &Path) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(app.join(".levee/render.json")).expect("record"))
            .expect("json");
    v["template"]["version"]
        .as_str()
        .expect("version")
        .to_string()
}

#[test]
fn executable_bits_follow_the_template_and_crlf_conflicts_stay_crlf() {
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let app = scaffold(&tmp, tmp.path(), &pack, "app".as_ref());
    assert_eq!(mode(&app.join("bin/run.sh")) & 0o111, 0o111, "new keeps it");
    // The user edits the line the template changes next, in their CRLF file.
    std::fs::write(app.join("notes.txt"), "one\r\ntwo, mine\r\nthree\r\n").expect("write");
    let o = run(tmp.levee_in(tmp.path()).args(["upgrade", "app"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        mode(&app.join("bin/run.sh")) & 0o111,
        0o111,
        "updated, still executable"
    );
    assert_eq!(
        mode(&app.join("bin/new.sh")) & 0o111,
        0o111,
        "created executable"
    );
    assert_eq!(
        mode(&app.join("docs/guide.md")) & 0o111,
        0,
        "not executable"
    );
    let notes = std::fs::read_to_string(app.join("notes.txt")).expect("notes");
    assert_eq!(
        notes,
        "one\r\n<<<<<<< ours\r\ntwo, mine\r\n=======\r\nTWO from the template\r\n>>>>>>> template v1.1.0\r\nthree\r\n"
    );
}

#[test]
fn a_json_report_is_printed_for_an_app_whose_path_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let name = std::ffi::OsStr::from_bytes(b"app-\xff");
    let app = scaffold(&tmp, tmp.path(), &pack, name);
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["upgrade", "--format", "json"])
        .arg(name));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).expect("a JSON report");
    assert_eq!(report["apps"][0]["app"], "app-\u{fffd}");
    assert_eq!(report["apps"][0]["result"], "upgraded");
    assert_eq!(version(&app), "1.1.0");
}

#[test]
fn a_file_turned_into_a_directory_fails_naming_it_and_changes_nothing() {
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let app = scaffold(&tmp, tmp.path(), &pack, "app".as_ref());
    std::fs::remove_file(app.join("docs/guide.md")).expect("rm");
    write(&app, "docs/guide.md/chapter-1.md", b"the user's own\n");
    let before = common::tree(&app);
    let o = run(tmp.levee_in(tmp.path()).args(["upgrade", "app"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("app/docs/guide.md") && o.stdout.contains("it is a directory"),
        "{}",
        o.stdout
    );
    assert_eq!(common::tree(&app), before);
    assert_eq!(common::names(tmp.path()), ["app", "pack"]);
}

#[test]
fn a_byte_order_mark_is_read_and_kept() {
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let app = scaffold(&tmp, tmp.path(), &pack, "app".as_ref());
    let yaml = std::fs::read(app.join("app.yaml")).expect("app.yaml");
    let mut with_bom = b"\xef\xbb\xbf".to_vec();
    with_bom.extend_from_slice(&yaml);
    std::fs::write(app.join("app.yaml"), &with_bom).expect("write");
    let o = run(tmp.levee_in(tmp.path()).args(["validate", "app"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.starts_with("valid app/app.yaml: edge-app"),
        "{}",
        o.stdout
    );
    for args in [
        &["upgrade", "app"][..],
        &["promote", "app", "--tier", "sandbox", "--no-input"],
    ] {
        let o = run(tmp.levee_in(tmp.path()).args(args));
        assert_eq!(o.code, 0, "{args:?}: {}{}", o.stdout, o.stderr);
        let now = std::fs::read(app.join("app.yaml")).expect("app.yaml");
        assert!(
            now.starts_with(b"\xef\xbb\xbf# yaml-language-server"),
            "{args:?}"
        );
        assert_eq!(
            now.windows(3).filter(|w| *w == b"\xef\xbb\xbf").count(),
            1,
            "{args:?}"
        );
    }
    assert_eq!(version(&app), "1.1.0");
    let o = run(tmp.levee_in(tmp.path()).args(["sync", "--check", "app"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
}

#[test]
fn git_transports_that_run_commands_or_never_answer_are_refused_or_stopped() {
    let tmp = TestContext::new();
    let new = |source: &str, timeout: &str| {
        let started = Instant::now();
        let o = run(tmp
            .levee_in(tmp.path())
            .env("LEVEE_GIT_TIMEOUT_SECS", timeout)
            .args(["new", "app", "--no-input", "--name", "git-app"])
            .args([
                "--owner",
                "jane.doe@acme.corp",
                "--kind",
                "form",
                "--stack",
                "node",
            ])
            .args(["--classification", "internal", "--templates", source]));
        (o, started.elapsed())
    };
    for source in [
        "fd::0@v1.0.0",
        "ext::sh -c touch% /tmp/levee-ext-pwned@v1.0.0",
    ] {
        let (o, took) = new(source, "30");
        assert_eq!(o.code, 2, "{source}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains("not allowed"), "{source}: {}", o.stderr);
        assert!(took < Duration::from_secs(10), "{source}: {took:?}");
    }
    // A server that accepts and never answers: stopped after LEVEE_GIT_TIMEOUT_SECS.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c);
        }
    });
    let (o, took) = new(&format!("git://127.0.0.1:{port}/pack.git"), "2");
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("did not finish within 2 s")
            && o.stderr.contains("LEVEE_GIT_TIMEOUT_SECS"),
        "{}",
        o.stderr
    );
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(!tmp.path().join("app").exists());
}
