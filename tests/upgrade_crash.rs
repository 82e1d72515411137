//! A crash in the middle of `levee upgrade` never leaves a half-upgraded app that later runs call
//! up to date: the process is killed with SIGKILL at every point of the swap (before each rename,
//! after the staging, after the last rename), then the real binary is run on what is left.
//!
//! The process killed is this test binary itself, re-run as a child on one test
//! (`child_upgrades_an_app_stopping_where_told`), which upgrades through the library with the hook
//! `levee::change::upgrade::upgrade_app_with` takes: it announces the chosen point on stdout and waits,
//! and the parent kills it there. The `levee` binary has no such hook: it passes a no-op.
//!
//! Also here: the app directory as a mount point (a tmpfs mounted in a private mount namespace
//! with `unshare`), where staging beside the app would fail with EXDEV.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{TestContext, copy_tree, names, run, tree, write};
use levee::change::upgrade::{self, Options, PackVersions};
use levee::support::appdir::{Durability, Step};

const CHILD_ENV: &str = "LEVEE_CRASH_TEST_CHILD";
const MARK: &str = "LEVEE-CRASH-POINT";
const TPL: &str = "svc-node/files";

/// A git pack at v1.0.0 and v1.1.0: edits, a deletion, a new file in a new directory, an
/// executable script, a binary change.
fn git_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("pack");
    write(&pack, "pack.yaml", b"name: crash\nversion: 1.0.0\n");
    write(
        &pack,
        "svc-node/template.yaml",
        b"kind: dashboard\nstack: node\ndescription: crash test\n",
    );
    let f = |rel: &str, bytes: &[u8]| write(&pack, &format!("{TPL}/{rel}"), bytes);
    f("README.md.jinja", b"# {{ app.name }}\n\nv1\n");
    f("docs/guide.md", b"guide v1\n");
    f("old.txt", b"old\n");
    f("bin/run.sh", b"#!/bin/sh\necho v1\n");
    f("logo.bin", b"\x89PNG\0v1");
    chmod_x(&pack.join(TPL).join("bin/run.sh"));
    common::git(&pack, &["init", "-q"]);
    common::release(&pack, "v1.0.0");
    write(&pack, "pack.yaml", b"name: crash\nversion: 1.1.0\n");
    f("README.md.jinja", b"# {{ app.name }}\n\nv2\n");
    f("docs/guide.md", b"guide v2\n");
    std::fs::remove_file(pack.join(TPL).join("old.txt")).expect("rm");
    f("bin/run.sh", b"#!/bin/sh\necho v2\n");
    f("tools/new.sh", b"#!/bin/sh\necho new\n");
    chmod_x(&pack.join(TPL).join("tools/new.sh"));
    f("logo.bin", b"\x89PNG\0v2");
    common::release(&pack, "v1.1.0");
    pack
}

fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

/// `levee new` from the pack at v1.0.0, into `<dir>/app`.
fn scaffold(cx: &TestContext, pack: &Path) -> PathBuf {
    let dir = cx.path();
    let o = run(cx
        .levee_in(dir)
        .args([
            "new",
            "app",
            "--name",
            "crash-app",
            "--description",
            "Crash",
        ])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args(["--kind", "dashboard", "--stack", "node"])
        .args(["--classification", "internal", "--templates"])
        .arg(format!("{}@v1.0.0", pack.display())));
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    dir.join("app")
}

/// The version `.levee/render.json` records.
fn recorded_version(app: &Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app.join(".levee/render.json")).expect("render.json"),
    )
    .expect("json");
    v["template"]["version"]
        .as_str()
        .expect("version")
        .to_string()
}

/// Upgrades through the library, calling `hook` at each point of the swap.
fn upgrade_lib(app: &Path, hook: &mut dyn FnMut(Step<'_>) -> std::io::Result<()>) {
    let recorded = upgrade::read_record(app).expect("record");
    let source = recorded.template.source.clone().expect("source");
    let versions = PackVersions::open(&source).expect("pack");
    let report =
        upgrade::upgrade_app_with(app, &recorded, &versions, &Options::default(), None, hook);
    assert_eq!(
        report.result,
        upgrade::UpgradeOutcome::Upgraded,
        "{:?}",
        report.error
    );
}

/// The points of the swap, in order, as the hook sees them.
fn points(app: &Path) -> Vec<String> {
    let mut seen = Vec::new();
    upgrade_lib(app, &mut |step| {
        seen.push(format!("{step:?}"));
        Ok(())
    });
    seen
}

/// The child side (see the module docs). Run on its own, without the variable, it upgrades a
/// fresh app through the same call and checks the points the hook is given.
#[test]
fn child_upgrades_an_app_stopping_where_told() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (app, stop) = spec.split_once('\n').expect("app\\nindex");
        let stop: usize = stop.parse().expect("index");
        let mut i = 0;
        upgrade_lib(Path::new(app), &mut |step| {
            if i == stop {
                println!("{MARK} {i} {step:?}");
                std::thread::sleep(Duration::from_secs(120));
            }
            i += 1;
            Ok(())
        });
        return;
    }
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let app = scaffold(&tmp, &pack);
    let seen = points(&app);
    // Staged first; every old file moved aside before its new one moves in; the version record
    // installed by the last rename; then Swapped.
    assert_eq!(seen.first().map(String::as_str), Some("Staged"));
    assert_eq!(seen.last().map(String::as_str), Some("Swapped"));
    assert_eq!(
        seen[seen.len() - 2],
        "Install(\".levee/render.json\")",
        "{seen:#?}"
    );
    for want in [
        "Backup(\"old.txt\")",
        "Install(\"tools/new.sh\")",
        "Backup(\"docs/guide.md\")",
        "Install(\"docs/guide.md\")",
        "Install(\"app.yaml\")",
    ] {
        assert!(seen.iter().any(|s| s == want), "{want} in {seen:#?}");
    }
    assert_eq!(recorded_version(&app), "1.1.0");
    assert_eq!(mode(&app.join("tools/new.sh")) & 0o111, 0o111);
}

/// Runs the child on a copy of the app and kills it (SIGKILL) at point `stop`.
fn crash_at(cx: &TestContext, app: &Path, stop: usize) -> String {
    let errors = app.parent().expect("case").with_extension("stderr");
    kill_child_at(
        cx,
        "child_upgrades_an_app_stopping_where_told",
        (CHILD_ENV, format!("{}\n{stop}", app.display())),
        &errors,
        stop,
    )
}

/// Runs this test binary's `child` test with `env` set, kills it (SIGKILL) as soon as it prints
/// that it reached point `stop`, and returns the name of that point. The child's stderr goes to
/// `errors`, shown when it never reaches the point.
fn kill_child_at(
    cx: &TestContext,
    child: &str,
    env: (&str, String),
    errors: &Path,
    stop: usize,
) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = cx
        .command(exe)
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(errors).expect("stderr file"))
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut at = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        // The harness prints `test NAME ... ` without a line break before the test's output.
        if let Some(i) = line.find(MARK) {
            at = Some(line[i + MARK.len()..].trim().to_string());
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the child was killed");
    at.unwrap_or_else(|| {
        panic!(
            "the child never reached point {stop}: {}",
            std::fs::read_to_string(errors).unwrap_or_default()
        )
    })
}

/// An app scaffolded from a git pack at 1.0.0 (`pristine`), its files, and the files a copy of
/// it holds after a `levee upgrade` nothing interrupts: what each crash case must end with.
fn reference(tmp: &TestContext) -> (PathBuf, Tree, Tree) {
    let pack = git_pack(tmp.path());
    let pristine = scaffold(tmp, &pack);
    let before = tree(&pristine);
    let whole = tmp.path().join("whole");
    copy_tree(&pristine, &whole.join("app"));
    let o = run(tmp.levee_in(&whole).args(["upgrade", "app"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let expected = tree(&whole.join("app"));
    assert_ne!(expected, before);
    (pristine, before, expected)
}

#[test]
fn kill_9_at_each_point_of_the_swap_then_the_next_run_completes_the_upgrade() {
    let tmp = TestContext::new();
    let (pristine, before, expected) = reference(&tmp);

    let count = {
        let probe = tmp.path().join("probe");
        copy_tree(&pristine, &probe.join("app"));
        points(&probe.join("app")).len()
    };
    assert!(count >= 10, "{count} points");
    for stop in 0..count {
        let case = tmp.path().join(format!("case-{stop}"));
        let app = case.join("app");
        copy_tree(&pristine, &app);
        let at = crash_at(&tmp, &app, stop);

        if at.ends_with("Staged") {
            // Killed before the journal: nothing in the app changed; only the staging
            // directory beside it is left, which the next run removes.
            assert_eq!(tree(&app), before, "{at}");
            assert_eq!(names(&case).len(), 2, "{at}: {:?}", names(&case));
            let check = run(tmp.levee_in(&case).args(["sync", "--check", "app"]));
            assert_eq!(check.code, 0, "{at}: {}{}", check.stdout, check.stderr);
            let o = run(tmp.levee_in(&case).args(["upgrade", "app"]));
            assert_eq!(o.code, 0, "{at}: {}{}", o.stdout, o.stderr);
            assert!(!o.stdout.contains("interrupted"), "{at}: {}", o.stdout);
        } else {
            // Killed after the journal: it is left, and the version record says 1.1.0 only
            // once every rename is made, so no run can mistake a half-upgraded app for an
            // upgraded one.
            assert!(app.join(".levee/upgrade-journal.json").is_file(), "{at}");
            let version = recorded_version(&app);
            if at.ends_with("Swapped") {
                assert_eq!(version, "1.1.0", "{at}");
            } else {
                assert_eq!(version, "1.0.0", "{at}");
            }
            // Commands other than `levee upgrade` refuse to work on the half state, and say
            // why.
            let check = run(tmp.levee_in(&case).args(["sync", "--check", "app"]));
            assert_eq!(check.code, 2, "{at}: {}{}", check.stdout, check.stderr);
            assert!(
                check
                    .stderr
                    .contains("an upgrade of this app was interrupted")
                    && check.stderr.contains("run `levee upgrade`"),
                "{at}: {}",
                check.stderr
            );
            let dry = run(tmp.levee_in(&case).args(["upgrade", "--dry-run", "app"]));
            assert_eq!(dry.code, 1, "{at}: {}{}", dry.stdout, dry.stderr);
            assert!(
                dry.stdout
                    .contains("interrupted upgrade to template v1.1.0"),
                "{at}: {}",
                dry.stdout
            );
            // The next real run completes it.
            let o = run(tmp.levee_in(&case).args(["upgrade", "app"]));
            assert_eq!(o.code, 0, "{at}: {}{}", o.stdout, o.stderr);
            assert!(
                o.stdout
                    .contains("completed an interrupted upgrade to template v1.1.0"),
                "{at}: {}",
                o.stdout
            );
        }
        assert_eq!(tree(&app), expected, "{at}");
        assert_eq!(mode(&app.join("tools/new.sh")) & 0o111, 0o111, "{at}");
        // No journal, and no staging directory beside the app or inside it.
        assert_eq!(names(&case), ["app"], "{at}");
        assert!(
            !names(&app.join(".levee"))
                .iter()
                .any(|n| n.contains("journal") || n.contains("stage")),
            "{at}"
        );
        let again = run(tmp.levee_in(&case).args(["upgrade", "app"]));
        assert_eq!(again.code, 0, "{at}");
        assert!(
            again.stdout.contains("1 up to date"),
            "{at}: {}",
            again.stdout
        );
    }
}

const FLEET_CHILD_ENV: &str = "LEVEE_CRASH_TEST_FLEET_CHILD";
/// The files of an app, by relative path ([`tree`]).
type Tree = std::collections::BTreeMap<String, Vec<u8>>;

/// Enough apps for the fleet path's filesystem barriers (`Durability::for_many`).
const FLEET_APPS: usize = 8;

/// The child side of the fleet crash test: upgrades every app under a directory through
/// `levee::change::fleet::upgrade_fleet_with` (the path `levee upgrade` takes, with one barrier
/// between the steps of every app's swap), and stops at the `stop`-th point any app's swap
/// reaches. Run on its own, it upgrades a fresh fleet and checks every app was upgraded.
#[test]
fn child_upgrades_a_fleet_stopping_where_told() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (root, stop, durability) = match std::env::var(FLEET_CHILD_ENV) {
        Ok(spec) => {
            let mut parts = spec.split('\n');
            let (root, stop, mode) = (parts.next(), parts.next(), parts.next());
            let durability = match mode.expect("root\nindex\nmode") {
                "barrier" => Durability::Barrier,
                _ => Durability::Flush,
            };
            let stop = stop.and_then(|s| s.parse::<usize>().ok()).expect("index");
            (PathBuf::from(root.expect("root")), stop, durability)
        }
        Err(_) => {
            let tmp = TestContext::new();
            let pack = git_pack(tmp.path());
            let app = scaffold(&tmp, &pack);
            let fleet = tmp.path().join("fleet");
            for i in 0..FLEET_APPS {
                copy_tree(&app, &fleet.join(format!("app-{i}")));
            }
            let apps = upgrade::discover(std::slice::from_ref(&fleet));
            let points = AtomicUsize::new(0);
            let report = levee::change::fleet::upgrade_fleet_with(
                &apps,
                None,
                &Options::default(),
                &|_| {},
                Some(Durability::Barrier),
                &|_, _| {
                    points.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                },
            )
            .expect("fleet");
            assert_eq!(report.summary.upgraded, FLEET_APPS, "{:#?}", report.apps);
            assert!(points.load(Ordering::SeqCst) >= 10 * FLEET_APPS);
            for a in &apps {
                assert_eq!(recorded_version(a), "1.1.0");
            }
            return;
        }
    };
    let apps = upgrade::discover(std::slice::from_ref(&root));
    let seen = AtomicUsize::new(0);
    let _ = levee::change::fleet::upgrade_fleet_with(
        &apps,
        None,
        &Options::default(),
        &|_| {},
        Some(durability),
        &|app, step| {
            let i = seen.fetch_add(1, Ordering::SeqCst);
            if i == stop {
                println!("{MARK} {i} {} {step:?}", app.display());
                std::thread::sleep(Duration::from_secs(120));
            }
            Ok(())
        },
    );
}

/// `levee upgrade` of a fleet, killed (SIGKILL) at points of its swaps: every app is left
/// either untouched or with its journal, and the next run completes every one.
#[test]
fn kill_9_during_a_fleet_upgrade_then_the_next_run_completes_every_app() {
    let tmp = TestContext::new();
    let (pristine, before, expected) = reference(&tmp);
    // 8 apps with more than 10 points each: the first, some among the journals and the
    // renames, the last ones.
    // Both ways of making the steps durable: one barrier per step for every app (`syncfs`), and
    // each app's own flushes.
    for (stop, durability) in [
        (0, "barrier"),
        (3, "barrier"),
        (8, "barrier"),
        (9, "flush"),
        (15, "barrier"),
        (26, "flush"),
        (40, "barrier"),
        (61, "flush"),
        (77, "barrier"),
        (79, "flush"),
    ] {
        let case = tmp.path().join(format!("fleet-{stop}-{durability}"));
        let fleet = case.join("fleet");
        for i in 0..FLEET_APPS {
            copy_tree(&pristine, &fleet.join(format!("app-{i}")));
        }
        let errors = case.join("stderr");
        let at = kill_child_at(
            &tmp,
            "child_upgrades_a_fleet_stopping_where_told",
            (
                FLEET_CHILD_ENV,
                format!("{}\n{stop}\n{durability}", fleet.display()),
            ),
            &errors,
            stop,
        );
        for i in 0..FLEET_APPS {
            let app = fleet.join(format!("app-{i}"));
            if !app.join(".levee/upgrade-journal.json").is_file() {
                // Killed while another thread wrote this app's journal: its temporary file is
                // the one trace allowed (the next run removes it, checked below).
                let mut left = tree(&app);
                left.retain(|k, _| !is_temp_journal(k));
                assert_eq!(left, before, "{at}: app-{i} changed without a journal");
            }
        }
        let o = run(tmp.levee_in(&case).args(["upgrade", "fleet"]));
        assert_eq!(o.code, 0, "{at}: {}{}", o.stdout, o.stderr);
        for i in 0..FLEET_APPS {
            let app = fleet.join(format!("app-{i}"));
            assert_eq!(tree(&app), expected, "{at}: app-{i}");
            assert_eq!(mode(&app.join("tools/new.sh")) & 0o111, 0o111, "{at}");
        }
        // No journal and no staging directory left.
        let apps: Vec<String> = (0..FLEET_APPS).map(|i| format!("app-{i}")).collect();
        assert_eq!(names(&fleet), apps, "{at}");
        let again = run(tmp.levee_in(&case).args(["upgrade", "fleet"]));
        assert!(
            again.stdout.contains(&format!("{FLEET_APPS} up to date")),
            "{at}: {}",
            again.stdout
        );
    }
}

/// A fleet large enough to be planned and written in batches (a batch written while the next is
/// planned): killed at points of the first, a middle and the last batch, each app is left
/// untouched, with its journal, or upgraded, and the next run completes every one.
#[test]
fn kill_9_during_a_batched_fleet_upgrade_then_the_next_run_completes_every_app() {
    const APPS: usize = 70;
    let tmp = TestContext::new();
    let (pristine, before, expected) = reference(&tmp);
    // Over 10 points per app: 5 is in the first batch, 350 about halfway, 700 in the last.
    for stop in [5, 350, 700] {
        let case = tmp.path().join(format!("batched-{stop}"));
        let fleet = case.join("fleet");
        for i in 0..APPS {
            copy_tree(&pristine, &fleet.join(format!("app-{i:02}")));
        }
        let at = kill_child_at(
            &tmp,
            "child_upgrades_a_fleet_stopping_where_told",
            (
                FLEET_CHILD_ENV,
                format!("{}\n{stop}\nbarrier", fleet.display()),
            ),
            &case.join("stderr"),
            stop,
        );
        let (mut untouched, mut journaled, mut upgraded) = (0, 0, 0);
        for i in 0..APPS {
            let app = fleet.join(format!("app-{i:02}"));
            if app.join(".levee/upgrade-journal.json").is_file() {
                journaled += 1;
                continue;
            }
            let mut left = tree(&app);
            left.retain(|k, _| !is_temp_journal(k));
            if left == before {
                untouched += 1;
            } else {
                assert_eq!(
                    left, expected,
                    "{at}: app-{i:02} is neither as it was nor upgraded"
                );
                upgraded += 1;
            }
        }
        assert!(
            journaled + untouched > 0,
            "{at}: the kill came after every app"
        );
        if stop >= 350 {
            assert!(
                upgraded > 0,
                "{at}: no batch was written before point {stop}"
            );
        }
        let o = run(tmp.levee_in(&case).args(["upgrade", "fleet"]));
        assert_eq!(o.code, 0, "{at}: {}{}", o.stdout, o.stderr);
        for i in 0..APPS {
            let app = fleet.join(format!("app-{i:02}"));
            assert_eq!(tree(&app), expected, "{at}: app-{i:02}");
        }
        let apps: Vec<String> = (0..APPS).map(|i| format!("app-{i:02}")).collect();
        assert_eq!(
            names(&fleet),
            apps,
            "{at}: a journal or staging directory is left"
        );
    }
}

/// The app directory is a mount point (a tmpfs in a private mount namespace): a staging
/// directory beside it would be on another filesystem, and every rename from it would fail with
/// EXDEV. levee stages inside `.levee/` instead, and leaves nothing behind.
#[test]
fn an_app_that_is_a_mount_point_is_upgraded() {
    let tmp = TestContext::new();
    let pack = git_pack(tmp.path());
    let pristine = scaffold(&tmp, &pack);
    let whole = tmp.path().join("whole");
    copy_tree(&pristine, &whole.join("app"));
    let o = run(tmp.levee_in(&whole).args(["upgrade", "app"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let expected = tree(&whole.join("app"));

    let mnt = tmp.path().join("mnt");
    let app = mnt.join("app");
    std::fs::create_dir_all(&app).expect("mkdir");
    let levee = assert_cmd::cargo::cargo_bin("levee");
    // Inside the namespace: mount, copy the app in, upgrade, then print what a check needs
    // (the mount is gone once the shell exits).
    let script = r#"
        set -e
        mount -t tmpfs tmpfs "$APP"
        cp -a "$PRISTINE/." "$APP/"
        [ "$(stat -c %d "$APP")" != "$(stat -c %d "$APP/..")" ]
        "$LEVEE" upgrade "$APP" > "$OUT/stdout" 2> "$OUT/stderr" || echo "exit $?" > "$OUT/failed"
        (cd "$APP" && find . -type f | sort | while read -r f; do printf '%s %s\n' "$(sha256sum < "$f" | cut -c1-16)" "$f"; done) > "$OUT/files"
        ls -A "$APP/.levee" > "$OUT/levee-dir"
        ls -A "$APP/.." > "$OUT/beside"
    "#;
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mut unshare = tmp.command("unshare");
    let status = unshare
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", script])
        .env("APP", &app)
        .env("PRISTINE", &pristine)
        .env("LEVEE", &levee)
        .env("OUT", &out)
        .status()
        .expect(
            "unshare runs (util-linux; the test needs user and mount namespaces to mount a tmpfs)",
        );
    assert!(status.success(), "unshare + mount failed: {status}");
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap_or_default();
    assert!(
        !out.join("failed").exists(),
        "{}{}",
        read("stdout"),
        read("stderr")
    );
    let mut want = String::new();
    for (path, bytes) in &expected {
        use sha2::Digest;
        let h: String = sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        want.push_str(&format!("{} ./{path}\n", &h[..16]));
    }
    assert_eq!(read("files"), want);
    assert!(
        !read("levee-dir").contains("stage"),
        "{}",
        read("levee-dir")
    );
    assert_eq!(read("beside"), "app\n");
}

/// `.levee/.upgrade-journal.json.<pid>.<n>.tmp`: a journal being written.
fn is_temp_journal(path: &str) -> bool {
    path.strip_prefix(".levee/.upgrade-journal.json.")
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|rest| {
            rest.split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}
