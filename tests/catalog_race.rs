//! The catalog under concurrent writers: registration's check-then-write and `lifecycle --apply`'s
//! read-modify-write are one step each (`Store::update`, an advisory lock on the catalog
//! directory), so parallel runs never lose a change or let two apps share an id; stale temporary
//! files of crashed writers are cleaned up.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{TestContext, copy_tree, run};

/// A `levee` process in `cwd` with the test harness's environment; with `pause_ms`, the
/// `levee_paused` build whose catalog writes wait that long before their rename.
fn spawn(
    cx: &TestContext,
    cwd: &Path,
    args: &[&str],
    pause_ms: Option<u64>,
) -> std::process::Child {
    let mut cmd = match pause_ms {
        Some(ms) => cx.levee_paused(ms),
        None => cx.levee_std(),
    };
    cmd.args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("levee starts")
}

fn scaffold(cx: &TestContext, dir: &Path, rel: &str, name: &str) -> PathBuf {
    let o = run(cx
        .levee_in(dir)
        .args(["new", rel, "--no-input", "--name", name])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args([
            "--kind",
            "form",
            "--stack",
            "node",
            "--classification",
            "internal",
        ]));
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    dir.join(rel)
}

fn entry(catalog: &Path, id: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(catalog.join(format!("{id}.json"))).expect("entry"))
        .expect("json")
}

#[test]
fn thirty_processes_registering_thirty_apps_with_one_id_leave_exactly_one() {
    let tmp = TestContext::new();
    let first = scaffold(&tmp, tmp.path(), "apps/app-00", "same-app");
    for i in 1..30 {
        copy_tree(&first, &tmp.path().join(format!("apps/app-{i:02}")));
    }
    let children: Vec<_> = (0..30)
        .map(|i| {
            let dir = format!("apps/app-{i:02}");
            spawn(
                &tmp,
                tmp.path(),
                &["catalog", "register", &dir, "--format", "json"],
                None,
            )
        })
        .collect();
    let mut added = Vec::new();
    let mut refused = 0;
    for child in children {
        let o = child.wait_with_output().expect("wait");
        let report: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        let r = &report["apps"][0];
        match r["result"].as_str() {
            Some("added") => added.push(r["app"].as_str().expect("app").to_string()),
            Some("error") => {
                assert!(
                    r["error"]
                        .as_str()
                        .is_some_and(|e| e.contains("is already registered for")),
                    "{r}"
                );
                refused += 1;
            }
            other => panic!("{other:?}: {r}"),
        }
    }
    assert_eq!(added.len(), 1, "{added:?}");
    assert_eq!(refused, 29);
    let catalog = tmp.path().join("catalog");
    assert_eq!(common::names(&catalog), ["same-app.json"]);
    let path = entry(&catalog, "same-app")["repository"]["path"]
        .as_str()
        .expect("path")
        .to_string();
    assert!(path.ends_with(&added[0]), "{path} vs {}", added[0]);
}

#[test]
fn lifecycle_apply_racing_a_registration_keeps_the_deprovisioned_mark() {
    let tmp = TestContext::new();
    let app = scaffold(&tmp, tmp.path(), "race-app", "race-app");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["catalog", "register", "race-app"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The registration has something new to write (a new description)...
    let yaml = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
    assert!(!yaml.contains("\ndescription:"), "{yaml}");
    std::fs::write(
        app.join("app.yaml"),
        format!("{yaml}description: Changed.\n"),
    )
    .expect("write");
    // ...and is held for 1.5 s between reading the entry and renaming its new file into place
    // (`levee_paused`, as in the catalog's crash-safety tests), while `lifecycle --apply`
    // a year later deprovisions the expired prototype.
    let register = spawn(
        &tmp,
        tmp.path(),
        &["catalog", "register", "race-app"],
        Some(1500),
    );
    std::thread::sleep(Duration::from_millis(400));
    let o = run(tmp
        .levee_in(tmp.path())
        .env("LEVEE_TODAY", "2027-01-01")
        .args(["lifecycle", "--apply"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("race-app: marked deprovisioned"),
        "{}",
        o.stdout
    );
    let r = register.wait_with_output().expect("wait");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let e = entry(&tmp.path().join("catalog"), "race-app");
    assert!(e["deprovisioned"].is_object(), "the mark was lost: {e}");
    assert_eq!(
        e["description"], "Changed.",
        "the registration was lost: {e}"
    );

    // And with many registrations at once, none of them loses it either.
    let children: Vec<_> = (0..20)
        .map(|_| spawn(&tmp, tmp.path(), &["catalog", "register", "race-app"], None))
        .collect();
    for c in children {
        let o = c.wait_with_output().expect("wait");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let e = entry(&tmp.path().join("catalog"), "race-app");
    assert!(e["deprovisioned"].is_object(), "{e}");
}

#[test]
fn stale_temporary_files_of_crashed_writers_are_removed() {
    let tmp = TestContext::new();
    scaffold(&tmp, tmp.path(), "tmp-app", "tmp-app");
    let catalog = tmp.path().join("catalog");
    std::fs::create_dir_all(&catalog).expect("mkdir");
    let stale = catalog.join(".tmp-app.json.4242.0.tmp");
    let fresh = catalog.join(".tmp-app.json.4243.0.tmp");
    for p in [&stale, &fresh] {
        std::fs::write(p, "{\"half\":").expect("write");
    }
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .expect("open")
        .set_modified(hour_ago)
        .expect("mtime");
    let o = run(tmp
        .levee_in(tmp.path())
        .args(["catalog", "register", "tmp-app"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The crashed writer's file is gone; one another writer may still be renaming is kept.
    assert!(!stale.exists());
    assert!(fresh.exists());
    assert_eq!(
        common::names(&catalog),
        [".tmp-app.json.4243.0.tmp", "tmp-app.json"]
    );
}
