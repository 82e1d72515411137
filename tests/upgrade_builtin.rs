//! The built-in pack's history: earlier versions are rebuilt from `templates-archive/` deltas
//! (here a fixture archive in the same layout) and serve as the merge base of an upgrade.

mod common;

use common::TestContext;

use std::fs;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use levee::change::upgrade::{self, Tree};
use levee::model::manifest::Manifest;
use levee::model::org::Org;
use levee::scaffold::pack::{self, Pack};

static CURRENT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");
static FIXTURE_ARCHIVE: Dir<'static> =
    include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/builtin-archive");

fn render(pack: &Pack, template: &str, manifest: &Manifest) -> Tree {
    let t = pack.template(template).expect("template");
    let layers = pack.layers(t).expect("layers");
    let ctx = levee::scaffold::context(manifest, &Org::default());
    levee::scaffold::render::render_layers(
        &layers,
        &minijinja::Value::from(minijinja::value::Serde(&ctx)),
    )
    .expect("renders")
    .into_iter()
    .map(|(p, f)| (PathBuf::from(p), f.bytes))
    .collect()
}

fn scaffold(cx: &TestContext, dir: &Path, kind: &str, stack: &str) -> (PathBuf, Manifest) {
    let o = cx
        .levee()
        .current_dir(dir)
        .args([
            "new",
            "app",
            "--name",
            "sales-board",
            "--owner",
            "jane.doe@acme.corp",
        ])
        .args(["--team", "sales", "--kind", kind, "--stack", stack])
        .args(["--classification", "internal"])
        .args(if kind == "dashboard" {
            &["--setting", "DASHBOARD_DATA_SOURCE=/srv/data/sales.csv"][..]
        } else {
            &[]
        })
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let app = dir.join("app");
    let m = levee::model::manifest::load(&app).expect("manifest").value;
    (app, m)
}

#[test]
fn builtin_history_rebuilds_an_archived_version_as_the_merge_base() {
    let old = pack::archived(&CURRENT, &FIXTURE_ARCHIVE, "0.9.0").expect("0.9.0 rebuilds");
    assert_eq!(old.version.to_string(), "0.9.0");
    let new = pack::builtin().expect("builtin");
    let dir = TestContext::new();
    let (app, manifest) = scaffold(&dir, dir.path(), "dashboard", "node");
    let base = render(&old, "dashboard-node", &manifest);
    let theirs = render(&new, "dashboard-node", &manifest);
    let readme = PathBuf::from("README.md");
    let dockerignore = PathBuf::from(".dockerignore");
    assert!(!base.contains_key(&dockerignore), "ABSENT removes the path");
    assert!(theirs.contains_key(&dockerignore));
    let base_readme = String::from_utf8(base[&readme].to_vec()).expect("utf8");
    assert_eq!(
        base_readme.lines().nth(2),
        Some("A dashboard that shows one dataset to signed-in colleagues.")
    );
    // Every other file of 0.9.0 is the current one.
    for (p, bytes) in &base {
        if p != &readme {
            assert_eq!(Some(bytes), theirs.get(p), "{}", p.display());
        }
    }

    // Turn the app into one scaffolded by 0.9.0, then edited by its owner.
    fs::remove_file(app.join(&dockerignore)).expect("rm");
    let edited = base_readme.replacen("## What you need", "## What you need first", 1);
    assert_ne!(edited, base_readme);
    fs::write(app.join(&readme), &edited).expect("w");

    let plan = upgrade::plan(&app, &base, &theirs, "template v1.0.0").expect("plan");
    assert_eq!(plan.conflicts, 0);
    let merged =
        String::from_utf8(plan.writes[&readme].clone().expect("README is written")).expect("utf8");
    assert_eq!(
        merged,
        String::from_utf8(theirs[&readme].to_vec())
            .expect("utf8")
            .replacen("## What you need", "## What you need first", 1),
        "the user's heading and the 1.0.0 wording are both kept"
    );
    assert_eq!(
        plan.writes[&dockerignore].as_deref(),
        Some(&theirs[&dockerignore][..]),
        "the file 1.0.0 added is created"
    );
    assert_eq!(plan.writes.len(), 2, "{:?}", plan.writes.keys());
}

#[test]
fn builtin_history_unknown_version_is_a_clear_error() {
    let e = pack::archived(&CURRENT, &FIXTURE_ARCHIVE, "0.8.0").expect_err("not archived");
    assert!(e.to_string().contains("built-in pack version 0.8.0"), "{e}");
    assert!(e.to_string().contains("0.9.0"), "{e}");
}

#[test]
fn builtin_history_every_shipped_version_loads_and_renders() {
    let dir = TestContext::new();
    let (_, manifest) = scaffold(&dir, dir.path(), "form", "python");
    let versions = pack::builtin_versions();
    assert!(versions.contains(&pack::builtin().expect("builtin").version));
    for v in versions {
        let p = pack::builtin_at(&v.to_string()).expect("loads");
        assert_eq!(p.version, v);
        for t in &p.templates {
            let mut m = manifest.clone();
            m.kind = Some(t.meta.kind.clone());
            m.stack = Some(t.meta.stack.clone());
            assert!(!render(&p, &t.id, &m).is_empty(), "{v} {}", t.id);
        }
    }
}
