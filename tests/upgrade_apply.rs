//! Upgrade planning and the staged, rolled-back apply.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use levee::change::upgrade::{self, Tree};
use levee::support::appdir::Step;

fn tree(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec().into()))
        .collect()
}

fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (p, c) in files {
        let path = dir.join(p);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, c).expect("write");
    }
}

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).expect("rel").display().to_string();
        out.insert(
            rel,
            String::from_utf8_lossy(&fs::read(&e).expect("read")).into_owned(),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn plan_covers_edit_add_delete_rename_conflict_and_user_deletion() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("app");
    // On disk: the v1 render with user edits.
    write_tree(
        &app,
        &[
            ("README.md", b"# App\nintro\n\nusage\n"), // user edited line 2 (was "intro v1")
            ("src/main.ts", b"console.log('mine');\n"), // conflicting edit
            ("old.txt", b"old\n"),                     // untouched, dropped by v2 -> deleted
            ("notes.txt", b"notes, edited\n"),         // edited, dropped by v2 -> conflict
            ("logo.bin", b"\0user"),                   // binary edited
            ("mine.txt", b"user file\n"),              // unknown to the template
        ],
    );
    // gone.txt was deleted by the user.
    let base = tree(&[
        ("README.md", "# App\nintro v1\n\nusage\n"),
        ("src/main.ts", "console.log('v1');\n"),
        ("old.txt", "old\n"),
        ("notes.txt", "notes\n"),
        ("gone.txt", "gone\n"),
        ("rename-me.txt", "same\n"),
    ]);
    let mut base = base;
    base.insert(PathBuf::from("logo.bin"), b"\0v1".to_vec().into());
    let mut theirs = tree(&[
        ("README.md", "# App\nintro v1\n\nusage v2\n"),
        ("src/main.ts", "console.log('v2');\n"),
        ("gone.txt", "gone v2\n"),
        ("renamed.txt", "same\n"),
        ("new.txt", "new in v2\n"),
    ]);
    theirs.insert(PathBuf::from("logo.bin"), b"\0v2".to_vec().into());
    write_tree(&app, &[("rename-me.txt", b"same\n")]);

    let plan = upgrade::plan(&app, &base, &theirs, "template v2.0.0").expect("plan");
    let changes: Vec<(String, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.path.display().to_string(), c.change))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("README.md".into(), "merged"),
            ("gone.txt".into(), "conflict"),
            ("logo.bin".into(), "conflict"),
            ("new.txt".into(), "created"),
            ("notes.txt".into(), "conflict"),
            ("old.txt".into(), "deleted"),
            ("rename-me.txt".into(), "deleted"),
            ("renamed.txt".into(), "created"),
            ("src/main.ts".into(), "conflict"),
        ]
    );
    assert_eq!(plan.conflicts, 4);
    upgrade::apply(&app, &plan.writes).expect("apply");
    let after = read_tree(&app);
    assert_eq!(after["README.md"], "# App\nintro\n\nusage v2\n");
    assert_eq!(
        after["src/main.ts"],
        "<<<<<<< ours\nconsole.log('mine');\n=======\nconsole.log('v2');\n>>>>>>> template v2.0.0\n"
    );
    assert_eq!(after["notes.txt"], "notes, edited\n");
    assert_eq!(after["logo.bin"], "\0user");
    assert_eq!(after["mine.txt"], "user file\n");
    assert_eq!(after["new.txt"], "new in v2\n");
    assert_eq!(after["renamed.txt"], "same\n");
    assert!(!after.contains_key("old.txt"));
    assert!(!after.contains_key("gone.txt"));
    assert!(!after.contains_key("rename-me.txt"));
    // No staging directory is left beside the app.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("app")]);
}

#[test]
fn a_failure_part_way_leaves_the_app_as_it_was() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = dir.path().join("app");
    write_tree(
        &app,
        &[("a.txt", b"a1\n"), ("b.txt", b"b1\n"), ("c.txt", b"c1\n")],
    );
    let before = read_tree(&app);
    let mut writes = BTreeMap::new();
    writes.insert(PathBuf::from("a.txt"), Some(b"a2\n".to_vec()));
    writes.insert(PathBuf::from("b.txt"), None);
    writes.insert(PathBuf::from("c.txt"), Some(b"c2\n".to_vec()));
    writes.insert(PathBuf::from("d/new.txt"), Some(b"d\n".to_vec()));
    let mut seen = Vec::new();
    let err = upgrade::apply_with(&app, &writes, &mut |step| {
        seen.push(format!("{step:?}"));
        if step == Step::Install(Path::new("d/new.txt")) {
            Err(std::io::Error::other("disk full (injected)"))
        } else {
            Ok(())
        }
    })
    .expect_err("injected failure");
    assert_eq!(
        err.to_string(),
        "disk full (injected) (nothing was changed: the app is as it was)"
    );
    // Each path in order: its old file kept aside, then its new one moved in.
    assert_eq!(
        seen,
        [
            "Staged",
            "Backup(\"a.txt\")",
            "Install(\"a.txt\")",
            "Backup(\"b.txt\")",
            "Backup(\"c.txt\")",
            "Install(\"c.txt\")",
            "Backup(\"d/new.txt\")",
            "Install(\"d/new.txt\")",
        ]
    );
    assert_eq!(read_tree(&app), before);
    // Nothing is left beside the app, and no journal inside it.
    let beside: Vec<_> = fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(beside, vec![std::ffi::OsString::from("app")]);
}

#[test]
fn discovery_finds_apps_with_a_record_and_honours_gitignore() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    for app in ["team-a/one", "team-b/two", "ignored/three", "norecord"] {
        write_tree(&root.join(app), &[("app.yaml", b"name: x\n")]);
    }
    for app in ["team-a/one", "team-b/two", "ignored/three"] {
        fs::create_dir_all(root.join(app).join(".levee")).expect("mkdir");
    }
    fs::write(root.join(".gitignore"), "ignored/\n").expect("gitignore");
    // The ignore crate reads .gitignore inside git repositories.
    std::process::Command::new("git")
        .arg("init")
        .arg("-q")
        .current_dir(root)
        .status()
        .expect("git");
    let apps = upgrade::discover(&[root.to_path_buf()]);
    let names: Vec<String> = apps
        .iter()
        .map(|p| p.strip_prefix(root).expect("rel").display().to_string())
        .collect();
    assert_eq!(names, ["team-a/one", "team-b/two"]);
}
