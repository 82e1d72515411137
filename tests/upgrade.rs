//! `levee upgrade` end to end: the real binary over apps scaffolded with `levee new` from a git
//! pack tagged `v1.0.0` and `v1.1.0`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use serde_json::Value;

use common::{Out, TestContext, run};

fn levee(cx: &TestContext, cwd: &Path) -> assert_cmd::Command {
    cx.levee_in(cwd)
}

fn git(dir: &Path, args: &[&str]) {
    let o = Std::new("git")
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
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, bytes).expect("write");
}

const TPL: &str = "dashboard-node/files";

/// A git pack with two releases. v1.1.0 edits, adds, deletes and renames files, changes a binary.
fn git_pack(dir: &Path) -> PathBuf {
    let pack = dir.join("pack");
    write(&pack, "pack.yaml", b"name: acme\nversion: 1.0.0\n");
    write(
        &pack,
        "dashboard-node/template.yaml",
        b"kind: dashboard\nstack: node\ndescription: test dashboard\n",
    );
    let f = |rel: &str, bytes: &[u8]| write(&pack, &format!("{TPL}/{rel}"), bytes);
    f(
        "README.md.jinja",
        b"# {{ app.name }}\n\nOwned by {{ app.team }}.\n",
    );
    f("edit.txt", b"one\ntwo\n");
    f("delete.txt", b"bye\n");
    f("rename-old.txt", b"moving\n");
    f("logo.bin", b"\x89PNG\0v1");
    f("art.bin", b"\0art v1");
    f("userdel.txt", b"keep me\n");
    f("conflict.txt", b"a\nb\nc\n");
    f("merge.txt", b"1\n2\n3\n4\n5\n6\n");
    git(&pack, &["init", "-q"]);
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.0.0"]);
    git(&pack, &["tag", "v1.0.0"]);

    write(&pack, "pack.yaml", b"name: acme\nversion: 1.1.0\n");
    f(
        "README.md.jinja",
        b"# {{ app.name }}\n\nOwned by {{ app.team }}.\n\nSee docs.\n",
    );
    f("edit.txt", b"one\ntwo\nthree\n");
    fs::remove_file(pack.join(TPL).join("delete.txt")).expect("rm");
    fs::rename(
        pack.join(TPL).join("rename-old.txt"),
        pack.join(TPL).join("rename-new.txt"),
    )
    .expect("mv");
    f("logo.bin", b"\x89PNG\0v2");
    f("art.bin", b"\0art v2");
    f("userdel.txt", b"keep me\nplease\n");
    f("conflict.txt", b"a\nB from template\nc\n");
    f("merge.txt", b"1\n2\n3\n4\n5\nsix\n");
    f("added.txt", b"new in 1.1\n");
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.1.0"]);
    git(&pack, &["tag", "v1.1.0"]);
    pack
}

/// `levee new` from the pack at v1.0.0.
fn scaffold(cx: &TestContext, cwd: &Path, pack: &Path, rel: &str) -> PathBuf {
    let name = Path::new(rel)
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    if let Some(parent) = cwd.join(rel).parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    let o = run(levee(cx, cwd)
        .args(["new", rel, "--name", &name, "--description", "Shop sales"])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args(["--kind", "dashboard", "--stack", "node"])
        .args(["--classification", "internal", "--templates"])
        .arg(format!("{}@v1.0.0", pack.display())));
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    cwd.join(rel)
}

/// Every file of an app, relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).expect("rel").to_string_lossy();
                out.insert(rel.replace('\\', "/"), fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The starter files only: not app.yaml, `.levee/`, or a managed file.
fn starter(app: &Path) -> BTreeMap<String, String> {
    let managed: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/managed.json")).expect("managed record"))
            .expect("json");
    let managed = managed["files"].as_object().expect("files").clone();
    tree(app)
        .into_iter()
        .filter(|(p, _)| p != "app.yaml" && !p.starts_with(".levee/") && !managed.contains_key(p))
        .map(|(p, b)| (p, String::from_utf8_lossy(&b).into_owned()))
        .collect()
}

fn json(out: &Out) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// (path, change) for every reported file of the first app, managed files left out.
fn changes(report: &Value, app: &Path) -> Vec<(String, String)> {
    let managed: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/managed.json")).expect("record"))
            .expect("json");
    report["apps"][0]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["change"].as_str().expect("change").to_string(),
            )
        })
        .filter(|(p, _)| managed["files"].get(p).is_none())
        .collect()
}

fn edit_like_a_user(app: &Path) {
    fs::write(app.join("merge.txt"), "one\n2\n3\n4\n5\n6\n").expect("w");
    fs::write(app.join("conflict.txt"), "a\nb from user\nc\n").expect("w");
    fs::remove_file(app.join("userdel.txt")).expect("rm");
    fs::write(app.join("art.bin"), b"\0art user").expect("w");
    fs::write(app.join("mine.txt"), "my own file\n").expect("w");
}

fn s(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn scenario_every_kind_of_change_exact_tree_report_and_second_run() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    edit_like_a_user(&app);

    let o = run(levee(&dir, &app).args(["upgrade", "--format", "json"]));
    assert_eq!(o.code, 1, "conflicts exit 1: {}{}", o.stdout, o.stderr);
    let report = json(&o);
    assert_eq!(
        report["summary"],
        serde_json::json!({"dry_run": false, "apps": 1, "up_to_date": 0, "upgraded": 0,
                           "conflicts": 1, "failed": 0})
    );
    let a = &report["apps"][0];
    assert_eq!(
        (a["from"].as_str(), a["to"].as_str(), a["result"].as_str()),
        (Some("1.0.0"), Some("1.1.0"), Some("conflicts"))
    );
    let got = changes(&report, &app);
    let want: Vec<(String, String)> = [
        ("README.md", "updated"),
        ("added.txt", "created"),
        ("app.yaml", "updated"),
        ("art.bin", "conflict"),
        ("conflict.txt", "conflict"),
        ("delete.txt", "deleted"),
        ("edit.txt", "updated"),
        ("logo.bin", "updated"),
        ("merge.txt", "merged"),
        ("rename-new.txt", "created"),
        ("rename-old.txt", "deleted"),
        ("userdel.txt", "conflict"),
    ]
    .iter()
    .map(|(p, c)| (p.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);

    // The exact resulting tree of starter files.
    assert_eq!(
        starter(&app),
        s(&[
            ("README.md", "# shop\n\nOwned by shop-team.\n\nSee docs.\n"),
            ("added.txt", "new in 1.1\n"),
            ("art.bin", "\0art user"),
            (
                "conflict.txt",
                "a\n<<<<<<< ours\nb from user\n=======\nB from template\n>>>>>>> template v1.1.0\nc\n"
            ),
            ("edit.txt", "one\ntwo\nthree\n"),
            ("logo.bin", "\u{fffd}PNG\0v2"),
            ("merge.txt", "one\n2\n3\n4\n5\nsix\n"),
            ("mine.txt", "my own file\n"),
            ("rename-new.txt", "moving\n"),
        ])
    );
    assert_eq!(
        fs::read(app.join("logo.bin")).expect("logo"),
        b"\x89PNG\0v2"
    );
    // The record and app.yaml name the new version; managed files are in sync.
    let record: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("r"))
            .expect("json");
    assert_eq!(record["template"]["version"], "1.1.0");
    assert_eq!(
        record["template"]["source"],
        format!("{}@v1.1.0", pack.display())
    );
    assert_eq!(record["pack"]["version"], "1.1.0");
    let app_yaml = fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
    assert!(app_yaml.contains("  version: \"1.1.0\"\n"), "{app_yaml}");
    assert!(
        app_yaml.contains("# The starter template this app came from"),
        "comments kept: {app_yaml}"
    );
    let o = run(levee(&dir, &app).args(["sync", "--check"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);

    assert_eq!(
        record["conflicts"],
        serde_json::json!({"version": "1.1.0", "paths": ["conflict.txt"]}),
        "the files left with markers are recorded"
    );

    // While markers remain, a second run still reports the conflict (exit 1) and writes nothing.
    let before = tree(&app);
    let o = run(levee(&dir, &app).args(["upgrade"]));
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.starts_with(
            "== . (1.1.0 -> 1.1.0)\nconflict conflict.txt: unresolved conflict markers from the \
             upgrade to v1.1.0: keep the lines you want, delete the <<<<<<< / ======= / >>>>>>> \
             lines, then run `levee upgrade` again\n"
        ),
        "{}",
        o.stdout
    );
    assert_eq!(tree(&app), before);

    // Resolved by hand: the next run says so and forgets the record of the conflict.
    fs::write(
        app.join("conflict.txt"),
        "a\nB from template, b from user\nc\n",
    )
    .expect("w");
    let o = run(levee(&dir, &app).args(["upgrade"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.starts_with(
            "== . (1.1.0 -> 1.1.0)\nresolved conflict.txt: conflicts from the upgrade to v1.1.0 resolved\n"
        ),
        "{}",
        o.stdout
    );
    let record: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("r"))
            .expect("json");
    assert!(record.get("conflicts").is_none(), "{record}");

    // Then a run is a no-op.
    let before = tree(&app);
    let o = run(levee(&dir, &app).args(["upgrade"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(
        o.stdout,
        " app  from   to     result      files changed \n \
         .    1.1.0  1.1.0  up-to-date  0             \n\
         1 apps: 0 upgraded, 1 up to date, 0 with conflicts, 0 failed\n"
    );
    assert_eq!(tree(&app), before);
}

#[test]
fn text_report_names_each_conflict_and_the_summary() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    edit_like_a_user(&app);
    let o = run(levee(&dir, dir.path()).args(["upgrade", "shop"]));
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        "== shop (1.0.0 -> 1.1.0)\n\
         conflict art.bin: a binary file changed both in your app and in the template; yours is kept\n\
         conflict conflict.txt: 1 conflict region marked with <<<<<<< ours / >>>>>>> template v1.1.0\n\
         conflict userdel.txt: you deleted this file and the new template version changes it; it stays deleted\n \
         app   from   to     result     files changed \n \
         shop  1.0.0  1.1.0  conflicts  11            \n\
         1 apps: 0 upgraded, 0 up to date, 1 with conflicts, 0 failed\n\
         hint: resolve the conflict markers (<<<<<<< ours / >>>>>>> template vX.Y.Z) and the files listed above, then run `levee upgrade` again: it reports these apps as conflicts until no marker is left\n"
    );
}

#[test]
fn dry_run_writes_nothing_and_prints_diffs_and_conflicts() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    edit_like_a_user(&app);
    let before = tree(dir.path());
    let o = run(levee(&dir, dir.path()).args(["upgrade", "--dry-run", "shop"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(tree(dir.path()), before, "a dry run writes nothing");
    assert!(
        o.stdout
            .contains("--- a/edit.txt\n+++ b/edit.txt\n@@ -1,2 +1,3 @@\n one\n two\n+three\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("--- a/merge.txt\n+++ b/merge.txt\n"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("-bye\n"), "{}", o.stdout);
    assert!(o.stdout.contains("+<<<<<<< ours\n"), "{}", o.stdout);
    assert!(
        o.stdout
            .contains("conflict userdel.txt: you deleted this file"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\n-  version: \"1.0.0\"\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\n+  version: \"1.1.0\"\n"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .ends_with("dry run, nothing written: 1 apps: 0 upgraded, 0 up to date, 1 with conflicts, 0 failed\nhint: resolve the conflict markers (<<<<<<< ours / >>>>>>> template vX.Y.Z) and the files listed above, then run `levee upgrade` again: it reports these apps as conflicts until no marker is left\n"),
        "{}",
        o.stdout
    );
    // The JSON form of a dry run carries the same diffs, per file.
    let o = run(levee(&dir, dir.path()).args(["upgrade", "--dry-run", "--format", "json", "shop"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(tree(dir.path()), before, "a dry run writes nothing");
    let report = json(&o);
    assert_eq!(report["summary"]["dry_run"], true);
    let files = report["apps"][0]["files"].as_array().expect("files");
    let diff_of = |path: &str| {
        files
            .iter()
            .find(|f| f["path"] == path)
            .and_then(|f| f["diff"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        diff_of("edit.txt"),
        "--- a/edit.txt\n+++ b/edit.txt\n@@ -1,2 +1,3 @@\n one\n two\n+three\n"
    );
    assert!(diff_of("conflict.txt").contains("+<<<<<<< ours\n"));
    assert_eq!(
        diff_of("userdel.txt"),
        "",
        "a conflict that writes nothing has no diff"
    );

    // A real run's JSON lists the changes without diffs.
    let o = run(levee(&dir, dir.path()).args(["upgrade", "--format", "json", "shop"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!o.stdout.contains("\"diff\""), "{}", o.stdout);
}

#[test]
fn dirty_worktree_is_reported_and_require_clean_refuses() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let repo = dir.path().join("repo");
    fs::create_dir_all(&repo).expect("mkdir");
    let clean = scaffold(&dir, &repo, &pack, "apps/clean");
    let dirty = scaffold(&dir, &repo, &pack, "apps/dirty");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "apps"]);
    fs::write(dirty.join("edit.txt"), "zero\none\ntwo\n").expect("w");

    let before = tree(&repo);
    let o = run(levee(&dir, &repo).args(["upgrade", "--require-clean", "--format", "json"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = json(&o);
    assert_eq!(r["apps"][0]["app"], "./apps/clean");
    assert_eq!(r["apps"][0]["result"], "upgraded");
    assert_eq!(r["apps"][1]["app"], "./apps/dirty");
    assert_eq!(r["apps"][1]["result"], "failed");
    assert_eq!(
        r["apps"][1]["error"],
        "the git worktree has uncommitted changes (--require-clean): commit or stash them first"
    );
    let after = tree(&repo);
    let dirty_rel = "apps/dirty/";
    assert_eq!(
        after
            .iter()
            .filter(|(p, _)| p.starts_with(dirty_rel))
            .collect::<Vec<_>>(),
        before
            .iter()
            .filter(|(p, _)| p.starts_with(dirty_rel))
            .collect::<Vec<_>>(),
        "the refused app is untouched"
    );
    assert_eq!(
        fs::read_to_string(clean.join("edit.txt")).expect("r"),
        "one\ntwo\nthree\n"
    );

    // Without --require-clean the dirty app is upgraded and the dirt reported.
    let o = run(levee(&dir, &repo).args(["upgrade", "apps/dirty"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.starts_with(
            "== apps/dirty (1.0.0 -> 1.1.0)\nwarning: the git worktree has uncommitted changes\n"
        ),
        "{}",
        o.stdout
    );
    // The user's first line and the template's last line are both kept.
    assert_eq!(
        fs::read_to_string(dirty.join("edit.txt")).expect("r"),
        "zero\none\ntwo\nthree\n"
    );
}

#[test]
fn fleet_with_one_conflicting_app_exits_1_and_upgrades_the_others() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let fleet = dir.path().join("fleet");
    fs::create_dir_all(&fleet).expect("mkdir");
    let mut apps = Vec::new();
    for name in ["a1", "a2", "a3", "a4"] {
        apps.push(scaffold(&dir, &fleet, &pack, &format!("team/{name}")));
    }
    fs::write(apps[2].join("conflict.txt"), "a\nmine\nc\n").expect("w");
    fs::write(apps[0].join("merge.txt"), "one\n2\n3\n4\n5\n6\n").expect("w");
    // Not an app: no .levee/ record; and an ignored directory.
    write(&fleet, "loose/app.yaml", b"name: loose\n");
    write(&fleet, ".gitignore", b"ignored/\n");
    fs::create_dir_all(fleet.join("ignored")).expect("mkdir");
    let _ = scaffold(&dir, &fleet, &pack, "ignored/zz");
    git(&fleet, &["init", "-q"]);

    let o = run(levee(&dir, dir.path()).args(["upgrade", "fleet", "--format", "json"]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = json(&o);
    assert_eq!(
        r["summary"],
        serde_json::json!({"dry_run": false, "apps": 4, "up_to_date": 0, "upgraded": 3,
                           "conflicts": 1, "failed": 0})
    );
    let results: Vec<(String, String)> = r["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| {
            (
                a["app"].as_str().expect("app").to_string(),
                a["result"].as_str().expect("result").to_string(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("fleet/team/a1", "upgraded"),
            ("fleet/team/a2", "upgraded"),
            ("fleet/team/a3", "conflicts"),
            ("fleet/team/a4", "upgraded"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        fs::read_to_string(apps[0].join("merge.txt")).expect("r"),
        "one\n2\n3\n4\n5\nsix\n"
    );
    for app in &apps {
        assert!(app.join("added.txt").is_file());
        let o = run(levee(&dir, app).args(["sync", "--check"]));
        assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    }
    // A second run: a3 still holds its markers, so it is still a conflict (exit 1).
    let o = run(levee(&dir, dir.path()).args(["upgrade", "fleet"]));
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stdout
            .ends_with("4 apps: 0 upgraded, 3 up to date, 1 with conflicts, 0 failed\nhint: resolve the conflict markers (<<<<<<< ours / >>>>>>> template vX.Y.Z) and the files listed above, then run `levee upgrade` again: it reports these apps as conflicts until no marker is left\n"),
        "{}",
        o.stdout
    );
    // Resolved: everything up to date, exit 0.
    fs::write(apps[2].join("conflict.txt"), "a\nmine\nc\n").expect("w");
    let o = run(levee(&dir, dir.path()).args(["upgrade", "fleet"]));
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stdout
            .ends_with("4 apps: 0 upgraded, 4 up to date, 0 with conflicts, 0 failed\n"),
        "{}",
        o.stdout
    );
}

#[test]
fn managed_files_are_regenerated_and_hand_edits_are_conflicts() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    let yaml = fs::read_to_string(app.join("app.yaml")).expect("r");
    assert!(yaml.contains("description: \"Shop sales\"\n"), "{yaml}");
    fs::write(
        app.join("app.yaml"),
        yaml.replace("Shop sales", "Sales figures for the shop team"),
    )
    .expect("w");
    let o = run(levee(&dir, &app).args(["sync", "--check"]));
    assert_eq!(o.code, 1, "stale before the upgrade");
    let o = run(levee(&dir, &app).args(["upgrade", "--format", "json"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r = json(&o);
    let files = r["apps"][0]["files"].as_array().expect("files");
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "catalog-info.yaml" && f["change"] == "regenerated"),
        "{files:?}"
    );
    let catalog = fs::read_to_string(app.join("catalog-info.yaml")).expect("r");
    assert!(
        catalog.contains("Sales figures for the shop team"),
        "{catalog}"
    );
    let o = run(levee(&dir, &app).args(["sync", "--check"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);

    // A hand-edited managed file is a conflict, not overwritten.
    let app2 = scaffold(&dir, dir.path(), &pack, "shop2");
    let path = app2.join("catalog-info.yaml");
    let edited = format!("{}# my note\n", fs::read_to_string(&path).expect("r"));
    fs::write(&path, &edited).expect("w");
    let o = run(levee(&dir, &app2).args(["upgrade", "--format", "json"]));
    assert_eq!(o.code, 1, "{}", o.stdout);
    let r = json(&o);
    assert_eq!(r["apps"][0]["result"], "conflicts");
    assert!(
        r["apps"][0]["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f["path"] == "catalog-info.yaml" && f["change"] == "conflict")
    );
    assert_eq!(fs::read_to_string(&path).expect("r"), edited);
    assert!(app2.join("added.txt").is_file(), "the rest is upgraded");
}

#[test]
fn to_version_usage_errors_and_unknown_builtin_versions() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    // --to the recorded version: up to date.
    let o = run(levee(&dir, &app).args(["upgrade", "--to", "1.0.0"]));
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.stdout.contains("up-to-date"));
    let o = run(levee(&dir, &app).args(["upgrade", "--to", "2.0.0"]));
    assert_eq!(o.code, 1);
    assert!(o.stdout.contains("no tag `v2.0.0`"), "{}", o.stdout);
    let o = run(levee(&dir, &app).args(["upgrade", "--to", "latest"]));
    assert_eq!(o.code, 2);
    assert_eq!(
        o.stderr,
        "error: --to latest is not a version\nhint: pass a semver version such as 1.2.0\n"
    );
    let o = run(levee(&dir, dir.path()).args(["upgrade", "nowhere"]));
    assert_eq!(o.code, 2);
    let o = run(levee(&dir, &pack).args(["upgrade"]));
    assert_eq!(o.code, 2, "no app under the pack");
    assert!(o.stderr.contains("no levee app found"), "{}", o.stderr);

    // An app recorded at a built-in version this levee never shipped fails, with the reason.
    let builtin = dir.path().join("b");
    fs::create_dir_all(&builtin).expect("mkdir");
    let o = run(levee(&dir, &builtin)
        .args([
            "new",
            "old",
            "--name",
            "old",
            "--owner",
            "jane.doe@acme.corp",
        ])
        .args(["--team", "t", "--kind", "form", "--stack", "python"])
        .args(["--classification", "internal"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rec = builtin.join("old/.levee/render.json");
    let text = fs::read_to_string(&rec)
        .expect("r")
        .replace("\"version\": \"1.0.0\"", "\"version\": \"0.9.0\"");
    fs::write(&rec, text).expect("w");
    let o = run(levee(&dir, &builtin).args(["upgrade", "--format", "json"]));
    assert_eq!(o.code, 1);
    let r = json(&o);
    assert_eq!(r["apps"][0]["result"], "failed");
    assert!(
        r["apps"][0]["error"]
            .as_str()
            .expect("error")
            .contains("built-in pack version 0.9.0"),
        "{}",
        o.stdout
    );
}

#[test]
fn a_remote_git_pack_is_cloned_once_and_recorded() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    let url = format!("file://{}", pack.display());
    let o = run(levee(&dir, &app).args(["upgrade", "--templates", &url]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let record: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("r"))
            .expect("json");
    assert_eq!(record["template"]["source"], format!("{url}@v1.1.0"));
    assert_eq!(
        fs::read_to_string(app.join("edit.txt")).expect("r"),
        "one\ntwo\nthree\n"
    );
    // The next run needs no --templates: the recorded source is used.
    let o = run(levee(&dir, &app).args(["upgrade"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("up-to-date"), "{}", o.stdout);
}

#[test]
fn a_git_pack_given_by_a_relative_path_is_found_from_any_directory() {
    let dir = TestContext::new();
    let _pack = git_pack(dir.path());
    let work = dir.path().join("work");
    fs::create_dir_all(&work).expect("mkdir");
    // `levee new` run from work/ with a path relative to it.
    let o = run(levee(&dir, &work)
        .args([
            "new",
            "shop",
            "--name",
            "shop",
            "--description",
            "Shop sales",
        ])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args(["--kind", "dashboard", "--stack", "node"])
        .args([
            "--classification",
            "internal",
            "--templates",
            "../pack@v1.0.0",
        ]));
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    let app = work.join("shop");
    let record: Value =
        serde_json::from_slice(&fs::read(app.join(".levee/render.json")).expect("r"))
            .expect("json");
    let pack_abs = fs::canonicalize(dir.path().join("pack")).expect("canonical");
    assert_eq!(
        record["template"]["source"],
        format!("{}@v1.0.0", pack_abs.display()),
        "a local pack path is recorded absolute"
    );
    // The upgrade runs from the app directory, where `../pack` would be the wrong place.
    let o = run(levee(&dir, &app).args(["upgrade", "--format", "json"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert_eq!(json(&o)["apps"][0]["result"], "upgraded");
    assert!(app.join("added.txt").is_file());
}

#[test]
fn check_conflicts_reports_markers_until_resolved_and_reads_only_the_app() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    edit_like_a_user(&app);
    let check = |format: &str| {
        run(levee(&dir, dir.path()).args([
            "upgrade",
            "--check-conflicts",
            "--format",
            format,
            "shop",
        ]))
    };

    // Never upgraded: nothing to resolve.
    let o = check("text");
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (
            0,
            "ok no conflict markers left by an upgrade in 1 app(s)\n",
            ""
        )
    );
    // The upgrade leaves a conflict in conflict.txt.
    assert_eq!(
        run(levee(&dir, dir.path()).args(["upgrade", "shop"])).code,
        1
    );
    let o = check("text");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "conflict shop/conflict.txt:2: conflict markers left by a template upgrade\n\
         1 file(s) with conflict markers in 1 of 1 app(s)\n\
         hint: keep the lines you want, delete the <<<<<<< / ======= / >>>>>>> lines, then commit\n"
    );
    let o = check("json");
    assert_eq!(o.code, 1);
    assert_eq!(
        json(&o),
        serde_json::json!({
            "apps": [{"app": "shop", "files": [{"path": "conflict.txt", "line": 2}]}],
            "summary": {"apps": 1, "apps_with_conflicts": 1, "files": 1},
        })
    );
    // A record naming a path outside the app, or one through a symlink, is not followed even
    // when the file there holds markers.
    let marked = "<<<<<<< ours\nx\n=======\ny\n>>>>>>> template v9\n";
    fs::write(dir.path().join("outside.txt"), marked).expect("w");
    fs::create_dir_all(dir.path().join("elsewhere")).expect("mkdir");
    fs::write(dir.path().join("elsewhere/x.txt"), marked).expect("w");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), app.join("link")).expect("symlink");
    let record_path = app.join(".levee/render.json");
    let mut record: Value =
        serde_json::from_str(&fs::read_to_string(&record_path).expect("record")).expect("json");
    record["conflicts"]["paths"] = serde_json::json!([
        "conflict.txt",
        "../outside.txt",
        "link/x.txt",
        "/etc/hostname"
    ]);
    fs::write(&record_path, record.to_string()).expect("w");
    let o = check("json");
    assert_eq!(
        json(&o)["apps"][0]["files"],
        serde_json::json!([{"path": "conflict.txt", "line": 2}]),
        "{}",
        o.stdout
    );
    // A marker the record does not list, in a file rendered from the template, is found too.
    fs::write(app.join("edit.txt"), format!("one\n{marked}")).expect("w");
    let o = check("json");
    assert_eq!(
        json(&o)["apps"][0]["files"],
        serde_json::json!([{"path": "conflict.txt", "line": 2}, {"path": "edit.txt", "line": 2}])
    );
    // Resolved: the gate passes.
    fs::write(app.join("edit.txt"), "one\ntwo\nthree\n").expect("w");
    fs::write(
        app.join("conflict.txt"),
        "a\nB from template, b from user\nc\n",
    )
    .expect("w");
    let o = check("text");
    assert_eq!(o.code, 0, "{}", o.stdout);
    // It checks; it does not upgrade: the flags that would change the upgrade are refused.
    let o = run(levee(&dir, dir.path()).args([
        "upgrade",
        "--check-conflicts",
        "--to",
        "1.1.0",
        "shop",
    ]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("cannot be used with"), "{}", o.stderr);
    // A template source set for the whole CI (LEVEE_TEMPLATES) does not get in its way.
    let o = run(levee(&dir, dir.path())
        .env("LEVEE_TEMPLATES", "/nonexistent")
        .args(["upgrade", "--check-conflicts", "shop"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn an_upgrade_keeps_record_keys_a_newer_levee_wrote_and_changes_only_its_own() {
    let dir = TestContext::new();
    let pack = git_pack(dir.path());
    let app = scaffold(&dir, dir.path(), &pack, "shop");
    let path = app.join(".levee/render.json");
    let written = fs::read_to_string(&path).expect("record");
    let mut record: Value = serde_json::from_str(&written).expect("json");
    record["from_a_newer_levee"] = serde_json::json!({"kept": [1, "two", null]});
    let mut text = serde_json::to_string_pretty(&record).expect("json");
    text.push('\n');
    fs::write(&path, &text).expect("w");
    let o = run(levee(&dir, &app).args(["upgrade"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let after = fs::read_to_string(&path).expect("record");
    let upgraded: Value = serde_json::from_str(&after).expect("json");
    assert_eq!(
        upgraded["from_a_newer_levee"],
        serde_json::json!({"kept": [1, "two", null]})
    );
    assert_eq!(upgraded["template"]["version"], "1.1.0");
    assert_eq!(upgraded["pack"]["version"], "1.1.0");
    // Untouched fields keep their values; the layout is the one `levee new` writes.
    assert_eq!(upgraded["created"], record["created"]);
    assert_eq!(upgraded["format"], record["format"]);
    let keys = |v: &Value| {
        v.as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&upgraded), keys(&record), "{after}");
    assert!(
        after.ends_with("}\n") && after.starts_with("{\n  \"format\": 1,\n"),
        "{after}"
    );
}
