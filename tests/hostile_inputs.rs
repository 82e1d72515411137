//! Devices, named pipes, endless and huge inputs: every file levee reads goes through one
//! bounded reader (regular files only, a cap on the bytes actually read), so none of them hangs
//! levee or fills its memory; each gets a clear error and exit 2 (or a per-app error in a scan).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Out, TestContext, run, write};

fn mkfifo(p: &Path) -> PathBuf {
    assert!(
        std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .expect("mkfifo")
            .success()
    );
    p.to_path_buf()
}

/// Runs levee in `cwd` and checks it did not wait on a pipe or read an endless device (the
/// harness would kill it after 60 s; a bounded reader answers at once).
fn quick(cx: &TestContext, cwd: &Path, args: &[&str]) -> Out {
    let started = Instant::now();
    let o = run(cx.levee_in(cwd).args(args));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{args:?} took {:?}",
        started.elapsed()
    );
    o
}

fn scaffold(cx: &TestContext, dir: &Path, name: &str) -> PathBuf {
    common::new_app(cx, dir, name.as_ref(), name, "form", None)
}

#[test]
fn manifests_org_configs_and_answers_from_devices_and_pipes_are_refused() {
    let tmp = TestContext::new();
    let fifo = mkfifo(&tmp.path().join("app.yaml"));
    let fifo = fifo.to_str().expect("utf-8");
    let valid = common::root().join("tests/manifests/valid/playbook-example.yaml");
    let valid = valid.to_str().expect("utf-8");
    for (args, what) in [
        (vec!["validate", "/dev/zero"], "a character device"),
        (vec!["validate", fifo], "a named pipe"),
        (vec!["check", fifo], "a named pipe"),
        (
            vec!["--org", "/dev/urandom", "check", valid],
            "a character device",
        ),
        (vec!["--org", fifo, "check", valid], "a named pipe"),
        (
            vec![
                "new",
                "x-app",
                "--no-input",
                "--answers",
                "/dev/zero",
                "--owner",
                "a@acme.corp",
            ],
            "a character device",
        ),
        (
            vec![
                "new",
                "y-app",
                "--no-input",
                "--answers",
                fifo,
                "--owner",
                "a@acme.corp",
            ],
            "a named pipe",
        ),
    ] {
        let o = quick(&tmp, tmp.path(), &args);
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert!(
            o.stderr.contains(what) || o.stdout.contains(what),
            "{args:?}: {}{}",
            o.stdout,
            o.stderr
        );
    }
    assert!(!tmp.path().join("x-app").exists() && !tmp.path().join("y-app").exists());
}

#[test]
fn metrics_from_devices_pipes_and_huge_files_are_refused() {
    let tmp = TestContext::new();
    let app = scaffold(&tmp, tmp.path(), "metric-app");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["catalog", "register", "metric-app"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let _ = app;
    let fifo = mkfifo(&tmp.path().join("metrics.csv"));
    // 300 MB, sparse: the cap is on the bytes read, so levee stops after 32 MiB.
    let huge = tmp.path().join("huge.csv");
    let f = std::fs::File::create(&huge).expect("create");
    f.set_len(300 << 20).expect("set_len");
    for (file, what) in [
        ("/dev/zero", "a character device"),
        ("/dev/urandom", "a character device"),
        (fifo.to_str().expect("utf-8"), "a named pipe"),
        (huge.to_str().expect("utf-8"), "more than 33554432 bytes"),
    ] {
        let o = quick(&tmp, tmp.path(), &["lifecycle", "--metrics", file]);
        assert_eq!(o.code, 2, "{file}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(what), "{file}: {}", o.stderr);
    }
}

#[test]
fn requirements_includes_stay_in_the_project_and_never_echo_another_file() {
    let tmp = TestContext::new();
    let secret = tmp.path().join("secret.env");
    std::fs::write(&secret, "API_KEY=hunter2-outside\n").expect("write");
    for (include, extra, want) in [
        ("-r /dev/zero", None, "outside the project"),
        ("-r ../secret.env", None, "outside the project"),
        ("-r /etc/passwd", None, "outside the project"),
        ("-r pipe.txt", Some("pipe"), "a named pipe"),
        ("-r .env", Some("env"), "is not a pip requirement"),
    ] {
        let proj = tmp.path().join("proj");
        let _ = std::fs::remove_dir_all(&proj);
        std::fs::create_dir_all(&proj).expect("mkdir");
        write(
            &proj,
            "requirements.txt",
            format!("flask==3.0.0\n{include}\n").as_bytes(),
        );
        match extra {
            Some("pipe") => {
                mkfifo(&proj.join("pipe.txt"));
            }
            Some("env") => write(&proj, ".env", b"# secrets\nAPI_KEY=hunter2-inside\n"),
            _ => {}
        }
        let o = quick(&tmp, tmp.path(), &["sbom", "proj"]);
        assert_eq!(o.code, 2, "{include}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(want), "{include}: {}", o.stderr);
        for leak in ["hunter2", "root:x:0"] {
            assert!(
                !o.stderr.contains(leak) && !o.stdout.contains(leak),
                "{include} leaked: {}{}",
                o.stdout,
                o.stderr
            );
        }
    }
}

#[test]
fn lock_files_that_are_pipes_or_endlessly_nested_are_refused_quickly() {
    let tmp = TestContext::new();
    let proj = tmp.path().join("pipe");
    std::fs::create_dir_all(&proj).expect("mkdir");
    write(
        &proj,
        "package.json",
        b"{\"name\":\"x\",\"version\":\"1.0.0\"}\n",
    );
    mkfifo(&proj.join("package-lock.json"));
    let o = quick(
        &tmp,
        tmp.path(),
        &["sbom", "pipe", "--lockfile", "pipe/package-lock.json"],
    );
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("a named pipe"), "{}", o.stderr);

    // 100,000 levels of flow nesting: libyaml's scanner is quadratic in the depth (minutes);
    // levee refuses past 128 levels after one linear scan.
    let deep = tmp.path().join("deep");
    std::fs::create_dir_all(&deep).expect("mkdir");
    write(
        &deep,
        "package.json",
        b"{\"name\":\"x\",\"version\":\"1.0.0\"}\n",
    );
    let n = 100_000;
    write(
        &deep,
        "pnpm-lock.yaml",
        format!(
            "lockfileVersion: '9.0'\nimporters: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        )
        .as_bytes(),
    );
    let started = Instant::now();
    let o = quick(&tmp, tmp.path(), &["sbom", "deep"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("pnpm-lock.yaml:2:") && o.stderr.contains("nested more than 128"),
        "{}",
        o.stderr
    );
}

#[test]
fn catalog_scan_survives_devices_and_pipes_in_apps_and_in_the_catalog() {
    let tmp = TestContext::new();
    let apps = tmp.path().join("apps");
    std::fs::create_dir_all(&apps).expect("mkdir");
    let a = scaffold(&tmp, &apps, "sbom-zero");
    std::os::unix::fs::symlink("/dev/zero", a.join("sbom.cdx.json")).expect("symlink");
    let b = scaffold(&tmp, &apps, "policy-zero");
    std::os::unix::fs::symlink("/dev/zero", b.join(".levee/policy-result.json")).expect("symlink");
    let c = scaffold(&tmp, &apps, "pipe-sbom");
    mkfifo(&c.join("sbom.cdx.json"));
    let d = scaffold(&tmp, &apps, "git-pipe");
    std::fs::create_dir_all(d.join(".git")).expect("mkdir");
    mkfifo(&d.join(".git/config"));
    let ok = scaffold(&tmp, &apps, "fine-app");
    let _ = ok;
    let catalog = tmp.path().join("catalog");
    std::fs::create_dir_all(&catalog).expect("mkdir");
    mkfifo(&catalog.join("stale-pipe.json"));

    let o = quick(
        &tmp,
        tmp.path(),
        &["catalog", "scan", "apps", "--format", "json"],
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    let report: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let result = |name: &str| {
        report["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|r| r["app"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("{name}: {}", o.stdout))
            .clone()
    };
    for (name, why) in [
        ("sbom-zero", "`sbom.cdx.json` is a symbolic link"),
        (
            "policy-zero",
            "`.levee/policy-result.json` is a symbolic link",
        ),
        ("pipe-sbom", "a named pipe"),
    ] {
        let r = result(name);
        assert_eq!(r["result"], "error", "{name}: {r}");
        assert!(
            r["error"].as_str().expect("error").contains(why),
            "{name}: {r}"
        );
    }
    // A .git/config that is a pipe only loses the repository URL.
    assert_eq!(result("git-pipe")["result"], "added");
    assert_eq!(result("fine-app")["result"], "added");
    assert!(
        o.stderr.contains("stale-pipe.json") && o.stderr.contains("a named pipe"),
        "{}",
        o.stderr
    );
}
