//! `levee new`, `levee templates list`, packs and rendering, through the real binary and the
//! library. Hermetic: temp dirs, a fixed date (SOURCE_DATE_EPOCH = 2026-03-01), no colour, no
//! CI / LEVEE_* variables leaking in.

mod common;

use common::TestContext;

use std::path::{Path, PathBuf};
use std::process::Command;

use levee::model::manifest::Classification;
use levee::scaffold;
use levee::scaffold::pack;
use levee::scaffold::wizard::{self, Answers, Given};

const EPOCH_2026_03_01: &str = "1772323200";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packs")
}

/// The harness's hermetic levee, dated by `SOURCE_DATE_EPOCH` and free to prompt (these tests
/// drive the prompt-or-refuse rules themselves).
fn levee(cx: &TestContext, cwd: &Path) -> Command {
    let mut cmd = cx.levee_std();
    cmd.current_dir(cwd)
        .env_remove("LEVEE_NO_INPUT")
        .env_remove("LEVEE_TODAY")
        .env("SOURCE_DATE_EPOCH", EPOCH_2026_03_01)
        .env("XDG_STATE_HOME", shared_state());
    cmd
}

/// Where runs that do not look at kept answers keep them (never the developer's home).
fn shared_state() -> PathBuf {
    std::env::temp_dir().join(format!("levee-new-tests-{}", std::process::id()))
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Out {
    let o = cmd.output().expect("runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

const BASE: &[&str] = &[
    "--no-input",
    "--owner",
    "jane.doe@acme.corp",
    "--classification",
    "internal",
];

fn basic_args(name: &str) -> Vec<String> {
    basic_args_with(name, &[])
}

/// The basic-pack arguments plus `extra`, whose flags replace BASE's.
fn basic_args_with(name: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["--no-input".into()];
    for pair in BASE[1..].chunks(2) {
        if !extra.contains(&pair[0]) {
            v.extend(pair.iter().map(|s| s.to_string()));
        }
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v.extend(
        [
            "--name",
            name,
            "--templates",
            fixtures().join("basic").to_str().expect("utf8"),
            "--template",
            "form-node",
        ]
        .map(String::from),
    );
    v
}

#[test]
fn no_input_names_every_missing_answer_at_once_and_never_prompts() {
    let dir = TestContext::new();
    let basic = fixtures().join("basic");
    let o = run(levee(&dir, dir.path())
        .args(["new", "--no-input", "--templates"])
        .arg(&basic));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(o.stdout, "");
    assert_eq!(
        o.stderr,
        "error: 5 answers are missing; nothing was written
  missing --name (App name): lowercase letters, digits and dashes, like expense-form
  missing --owner (Owner): the accountable person's e-mail, like jane.doe@acme.corp
  missing --kind (Kind of app): dashboard, form: each is a starter app you then make your own
  missing --stack (Language): node, python: the starter app is written in it
  missing --classification (Data classification): public, internal, confidential or restricted: as sensitive as the most sensitive data it touches (proposed from its datasets)
hint: pass each as a flag, or put them in an answers file (--answers FILE, with app.yaml's keys)
"
    );
    // CI and LEVEE_NO_INPUT mean the same; what is given is not reported.
    for (var, value) in [("CI", "true"), ("LEVEE_NO_INPUT", "1")] {
        let o = run(levee(&dir, dir.path())
            .env(var, value)
            .args(["new", "--name", "demo", "--kind", "form", "--templates"])
            .arg(&basic));
        assert_eq!(o.code, 2, "{var}: {}", o.stderr);
        assert!(
            o.stderr.starts_with("error: 2 answers are missing")
                && o.stderr.contains("missing --owner")
                && o.stderr.contains("missing --classification")
                && !o.stderr.contains("--name"),
            "{var}: {}",
            o.stderr
        );
    }
    // What the org's policy requires of a confidential app is a policy refusal (exit 1).
    let o = run(levee(&dir, dir.path())
        .args([
            "new",
            "--no-input",
            "--name",
            "demo",
            "--owner",
            "a@acme.corp",
            "--kind",
            "form",
            "--classification",
            "confidential",
            "--templates",
        ])
        .arg(&basic));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "  --sso-group: a confidential app must limit sign-in to named groups (AUTH-002)\n"
        ),
        "{}",
        o.stderr
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        0,
        "nothing written"
    );
}

#[test]
fn creates_an_app_that_validates_and_reads_back() {
    let dir = TestContext::new();
    let o = run(levee(&dir, dir.path())
        .arg("new")
        .args(basic_args("demo-app"))
        .args([
            "--description",
            "Track \"expenses\": fast # really",
            "--team",
            "finance",
            "--sso-group",
            "fin-approvers",
            "--sso-group",
            "fin-admins",
            "--sso-issuer",
            "https://login.acme.corp",
            "--secret",
            "PAYMENT_API_KEY:vault",
            "--cost-center",
            "CC-1234",
            "--ci",
            "gitlab",
        ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.starts_with(
            "Created demo-app in demo-app/ from the template form-node (fixture-basic 1.0.0)\n"
        ),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("\nNext:\n  cd demo-app\n  levee check "),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("  npm ci && npm test "), "{}", o.stdout);
    let app = dir.path().join("demo-app");
    let text = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
    assert!(text.starts_with(&format!("{}\n", levee::model::manifest::SCHEMA_COMMENT)));
    // The real validator, as a user would run it.
    let v = run(levee(&dir, dir.path()).args(["validate", "demo-app"]));
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let m = levee::model::manifest::load(&app).expect("loads").value;
    assert_eq!(
        m.description.as_deref(),
        Some("Track \"expenses\": fast # really")
    );
    assert_eq!(m.sso_groups(), ["fin-approvers", "fin-admins"]);
    assert_eq!(
        m.lifecycle.created.map(|d| d.to_string()).as_deref(),
        Some("2026-03-01")
    );
    assert_eq!(
        m.lifecycle.expires.map(|d| d.to_string()).as_deref(),
        Some("2026-03-31")
    );
    assert_eq!(
        m.template.as_ref().map(|t| t.id.as_str()),
        Some("form-node")
    );
    // The record: hashes match the files on disk, the answers snapshot is the app.yaml.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(app.join(".levee/render.json")).expect("record"),
    )
    .expect("json");
    assert_eq!(record["template"]["version"], "1.0.0");
    for (path, hash) in record["files"].as_object().expect("files") {
        let bytes = std::fs::read(app.join(path)).expect("file");
        assert_eq!(
            hash.as_str(),
            Some(levee::support::hash::sha256_hex(&bytes).as_str()),
            "{path}"
        );
    }
    assert_eq!(
        record["manifest"].as_str(),
        Some(levee::support::hash::sha256_hex(text.as_bytes()).as_str())
    );
    assert_eq!(
        std::fs::read_to_string(app.join(".levee/answers.yaml")).expect("answers"),
        text
    );
    assert_eq!(record["context"]["app"]["name"], "demo-app");
    // Byte-for-byte copy, executable bit kept, templated path, conditional dir skipped.
    assert_eq!(
        std::fs::read(app.join("logo.png")).expect("png"),
        std::fs::read(fixtures().join("basic/form-node/files/logo.png")).expect("src")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.join("bin/run.sh"))
            .expect("run.sh")
            .permissions()
            .mode();
        assert_ne!(mode & 0o111, 0);
    }
    assert!(app.join("src/demo-app.ts").is_file());
    assert!(!app.join("data").exists());
    // JSON output lists the files and the manifest.
    let o = run(levee(&dir, dir.path())
        .arg("new")
        .args(basic_args("second-app"))
        .args(["--sso-group", "g", "--format", "json"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["manifest"]["name"], "second-app");
    assert!(
        v["files"]
            .as_array()
            .expect("files")
            .iter()
            .any(|f| f == "app.yaml")
    );
}

#[test]
fn non_empty_target_is_refused_and_untouched() {
    let dir = TestContext::new();
    let target = dir.path().join("existing");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::write(target.join("keep.txt"), "mine").expect("write");
    let o = run(levee(&dir, dir.path())
        .arg("new")
        .arg("existing")
        .args(basic_args("demo")));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("existing is not empty"), "{}", o.stderr);
    assert!(o.stderr.contains("hint:"), "{}", o.stderr);
    let entries: Vec<_> = std::fs::read_dir(&target).expect("ls").collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).expect("read"),
        "mine"
    );
    // An empty directory is fine.
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let o = run(levee(&dir, dir.path())
        .arg("new")
        .arg("empty")
        .args(basic_args("demo")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(dir.path().join("empty/app.yaml").is_file());
}

fn only_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_render_failure_leaves_nothing_behind() {
    let dir = TestContext::new();
    let o = run(levee(&dir, dir.path()).arg("new").args(BASE).args([
        "--name",
        "demo",
        "--templates",
        fixtures().join("hostile").to_str().expect("utf8"),
        "--template",
        "fmt-docker",
        "--description",
        "run `id` first",
    ]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("a value with a backtick cannot go into a Dockerfile"),
        "{}",
        o.stderr
    );
    assert_eq!(
        only_entries(dir.path()),
        Vec::<String>::new(),
        "no target, no staging dir"
    );
}

/// A pack written at test time (symlinks and `..` cannot live in the repository's fixtures).
fn scratch_pack(root: &Path, files: &[(&str, &str)]) -> PathBuf {
    let pack = root.join("pack");
    std::fs::create_dir_all(pack.join("t/files")).expect("mkdir");
    std::fs::write(
        pack.join("pack.yaml"),
        "name: scratch\nversion: 1.0.0\ndescription: x\n",
    )
    .expect("w");
    std::fs::write(pack.join("t/template.yaml"), "kind: form\nstack: node\n").expect("w");
    for (path, text) in files {
        let p = pack.join("t/files").join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("w");
    }
    pack
}

#[test]
fn a_path_that_would_escape_is_refused() {
    let dir = TestContext::new();
    let pack = scratch_pack(dir.path(), &[("{{ app.cost.center }}/x.txt", "x")]);
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    for center in ["..", "../../etc", "/etc", "..\\..\\x"] {
        let o = run(levee(&dir, &work)
            .arg("new")
            .args(BASE)
            .args([
                "--name",
                "demo",
                "--template",
                "t",
                "--cost-center",
                center,
                "--templates",
            ])
            .arg(&pack));
        assert_eq!(o.code, 2, "{center}: {}", o.stderr);
        assert!(
            o.stderr.contains("which would leave the app directory"),
            "{center}: {}",
            o.stderr
        );
        assert_eq!(only_entries(&work), Vec::<String>::new());
    }
    assert_eq!(only_entries(dir.path()), vec!["pack", "work"]);
}

#[test]
fn missing_parent_directories_are_created() {
    let dir = TestContext::new();
    let o = run(levee(&dir, dir.path())
        .args(["new", "apps/finance/expense-form"])
        .args(BASE)
        .args(["--kind", "form", "--stack", "node"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let app = dir.path().join("apps/finance/expense-form");
    assert!(app.join("app.yaml").is_file());
    assert_eq!(
        only_entries(&dir.path().join("apps/finance")),
        ["expense-form"]
    );
    let o = run(levee(&dir, &app).arg("validate"));
    assert_eq!(o.code, 0, "{}", o.stderr);
}

#[test]
fn a_write_failure_removes_the_parents_it_created() {
    let dir = TestContext::new();
    // The template renders both a file `clash` and a directory `clash/`: the second write fails
    // after the parent directories were created.
    let pack = scratch_pack(
        dir.path(),
        &[
            ("clash", "a file"),
            ("{{ 'clash' }}/inner.txt", "under a dir"),
        ],
    );
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let o = run(levee(&dir, &work)
        .args(["new", "apps/team/demo"])
        .args(BASE)
        .args(["--name", "demo", "--template", "t", "--templates"])
        .arg(&pack));
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("clash"), "{}", o.stderr);
    assert_eq!(
        only_entries(&work),
        Vec::<String>::new(),
        "no app, no staging dir, no apps/team parents"
    );
    // A parent that already existed is kept.
    std::fs::create_dir(work.join("apps")).expect("mkdir");
    let o = run(levee(&dir, &work)
        .args(["new", "apps/team/demo"])
        .args(BASE)
        .args(["--name", "demo", "--template", "t", "--templates"])
        .arg(&pack));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(only_entries(&work), ["apps"]);
    assert_eq!(only_entries(&work.join("apps")), Vec::<String>::new());
}

#[test]
fn a_file_in_the_way_of_a_parent_is_refused() {
    let dir = TestContext::new();
    std::fs::write(dir.path().join("apps"), "not a directory").expect("w");
    let o = run(levee(&dir, dir.path())
        .args(["new", "apps/demo"])
        .args(BASE)
        .args(["--kind", "form", "--stack", "node"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("apps exists and is not a directory"),
        "{}",
        o.stderr
    );
    assert_eq!(only_entries(dir.path()), ["apps"]);
}

#[cfg(unix)]
#[test]
fn a_symlink_in_a_pack_is_refused() {
    let dir = TestContext::new();
    let pack = scratch_pack(dir.path(), &[("a.txt", "a")]);
    std::os::unix::fs::symlink("/etc/passwd", pack.join("t/files/passwd")).expect("symlink");
    let o = run(levee(&dir, dir.path())
        .args(["templates", "list", "--templates"])
        .arg(&pack));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("contains a symlink, which levee refuses: t/files/passwd"),
        "{}",
        o.stderr
    );
}

#[test]
fn templates_list_text_and_json() {
    let dir = TestContext::new();
    let basic = fixtures().join("basic");
    let o = run(levee(&dir, dir.path())
        .args(["templates", "list", "--templates"])
        .arg(&basic));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout,
        format!(
            "fixture-basic 1.0.0 ({})\n  dashboard-python  dashboard python  A fixture dashboard app\n  form-node         form      node    A fixture form app\nkinds:\n  dashboard  Charts and tables over your team's data, behind single sign-on\n  form       A form whose submissions go to an approver group, with an audit trail\nstacks:\n  node       TypeScript on Node.js (build: Install (npm ci); Test (npm test))\n  python     Python (build: Install (uv sync --frozen); Test (pytest); Trim the uv cache)\n",
            basic.display()
        )
    );
    let o = run(levee(&dir, dir.path())
        .args(["templates", "list", "--format", "json", "--templates"])
        .arg(&basic));
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["templates"][1]["id"], "form-node");
    assert_eq!(v["templates"][1]["include"][0], "_common");
    // The built-in pack loads whatever templates/ holds.
    let o = run(levee(&dir, dir.path()).args(["templates", "list"]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("(builtin)"));
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        st.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn git_packs_pick_tagged_versions() {
    let dir = TestContext::new();
    let repo = scratch_pack(dir.path(), &[("v.txt.jinja", "one")]);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "one"]);
    git(&repo, &["tag", "v1.0.0"]);
    std::fs::write(repo.join("pack.yaml"), "name: scratch\nversion: 1.1.0\n").expect("w");
    std::fs::write(repo.join("t/files/v.txt.jinja"), "two").expect("w");
    git(&repo, &["commit", "-qam", "two"]);
    git(&repo, &["tag", "v1.1.0"]);
    std::fs::write(repo.join("pack.yaml"), "name: scratch\nversion: 9.9.9\n").expect("w");
    git(&repo, &["commit", "-qam", "bad"]);
    git(&repo, &["tag", "v2.0.0"]);

    let src = repo.to_str().expect("utf8");
    let old = pack::load(Some(&format!("{src}@v1.0.0"))).expect("v1.0.0");
    assert_eq!(old.version.to_string(), "1.0.0");
    assert_eq!(old.origin.to_string(), format!("{src}@v1.0.0"));
    let layers = old.layers(old.template("t").expect("t")).expect("layers");
    assert_eq!(&layers[0].files[0].bytes[..], b"one");
    let newer = pack::load(Some(&format!("{src}@v1.1.0"))).expect("v1.1.0");
    assert_eq!(newer.version.to_string(), "1.1.0");
    // A tag whose pack.yaml disagrees is refused; so is an unknown tag.
    let e = pack::load(Some(&format!("{src}@v2.0.0"))).expect_err("mismatch");
    assert!(
        e.to_string()
            .contains("says version 9.9.9, but the tag is v2.0.0"),
        "{e}"
    );
    let e = pack::load(Some(&format!("{src}@v3.0.0"))).expect_err("no tag");
    assert!(e.to_string().contains("no tag `v3.0.0`"), "{e}");
    // A URL without a tag takes the highest released version.
    let e = pack::load(Some(&format!("file://{src}"))).expect_err("v2.0.0 is highest and bad");
    assert!(e.to_string().contains("v2.0.0"), "{e}");
    // Through the binary: the app records the git source with its tag.
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let o = run(levee(&dir, &work).arg("new").args(BASE).args([
        "--name",
        "demo",
        "--template",
        "t",
        "--templates",
        &format!("{src}@v1.1.0"),
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(work.join("demo/v.txt")).expect("v"),
        "two"
    );
    let m = levee::model::manifest::load(&work.join("demo"))
        .expect("manifest")
        .value;
    assert_eq!(
        m.template.and_then(|t| t.source),
        Some(format!("{src}@v1.1.0"))
    );
}

// ---- hostile answers, one test per output format ----

const HOSTILE: &[&str] = &[
    "plain",
    "quote \" and ' and \\ backslash",
    "${{ secrets.GITHUB_TOKEN }} and ${HOME} and $(id)",
    "; rm -rf / && echo pwned | cat > /tmp/x &",
    "../../etc/passwd and C:\\Windows\\system32 and \\\\server\\share",
    "{{ app.owner }} {% raw %} not a template",
    "\"}, \"admin\": true, \"x\": {\"",
    "# comment: key: value - item &anchor *alias !!python/object",
    "</script><script>alert(1)</script>",
    "unicode \u{feff} \u{200e} é 漢字",
];

const TEAM: &str = "finance-ops";

/// Values levee refuses in any answer (they are control characters, see `levee::support::text`): the
/// renderer's escaping is never their only defence.
const REFUSED: &[&str] = &[
    "a\nb: c\n- d",
    "a\n\"b\": 1",
    "two\nlines",
    "sep \u{2028} \u{2029}",
    "del \u{7f} here",
    "esc \u{1b}]8;;https://evil.example\u{7}",
    "tab\there",
];

#[test]
fn control_characters_in_answers_are_refused_before_rendering() {
    for value in REFUSED {
        for template in ["fmt-yaml", "fmt-json", "fmt-ts", "fmt-docker"] {
            let e = render_hostile(template, value).expect_err(value);
            assert!(e.contains("contains") && e.contains("U+"), "{value:?}: {e}");
        }
    }
}

fn hostile_values() -> Vec<String> {
    let mut v: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    v.push("x".repeat(500));
    v
}

/// Renders the hostile pack's template with `description` (any text) and cost center/purpose
/// (one-line text) set to `value`. The team is a name the catalog and Kubernetes labels take as
/// written (anything else is refused before rendering), so it is fixed here.
fn render_hostile(template: &str, value: &str) -> Result<String, String> {
    let pack = pack::load(Some(fixtures().join("hostile").to_str().expect("utf8"))).expect("pack");
    let org = levee::model::org::Org::default();
    let one_line: String = value.chars().filter(|c| !c.is_control()).take(64).collect();
    let answers = Answers {
        name: Some("demo".into()),
        owner: Some("jane@acme.corp".into()),
        classification: Some(Classification::Internal),
        description: Some(value.to_string()),
        team: Some(TEAM.into()),
        cost_center: Some(one_line.clone()),
        datasets: Some(vec![levee::model::manifest::DataAccess {
            dataset: "public-stats".into(),
            access_level: levee::model::manifest::AccessLevel::Read,
            purpose: Some(one_line.clone()),
        }]),
        template: Some(template.into()),
        ..Answers::default()
    };
    let mut org = org;
    org.datasets.insert(
        "public-stats".into(),
        levee::model::org::Dataset {
            classification: Classification::Public,
            allowed_access: vec![levee::model::manifest::AccessLevel::Read],
        },
    );
    let setup = wizard::Setup {
        org: &org,
        pack: &pack,
        today: levee::model::manifest::Date::parse("2026-03-01").expect("date"),
        default_name: None,
        target: None,
    };
    let resolved =
        wizard::resolve(&Given::from(&answers), &setup, None).map_err(|e| e.to_string())?;
    let t = pack.template(template).expect("template");
    let plan = scaffold::plan(&pack, t, resolved.manifest, &org).map_err(|e| e.to_string())?;
    // app.yaml went through `levee validate`'s checks and reads back equal inside plan().
    let out = plan
        .files
        .iter()
        .find(|(p, _)| p.starts_with("out") || p.as_str() == "Dockerfile")
        .expect("output file");
    Ok(String::from_utf8(out.1.bytes.to_vec()).expect("utf8"))
}

fn expected(value: &str) -> (String, String) {
    (
        value.to_string(),
        value.chars().filter(|c| !c.is_control()).take(64).collect(),
    )
}

#[test]
fn hostile_answers_yaml() {
    for value in hostile_values() {
        let text = render_hostile("fmt-yaml", &value).expect("renders");
        let doc: serde_json::Value =
            serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (full, line) = expected(&value);
        assert_eq!(doc["description"], full.as_str(), "{text}");
        assert_eq!(doc["description_auto"], full.as_str(), "{text}");
        assert_eq!(doc["team"], TEAM);
        assert_eq!(doc["cost_center"], line.as_str());
        assert_eq!(doc["purposes"][0], line.as_str());
        assert_eq!(
            doc.as_object().map(|o| o.len()),
            Some(5),
            "no injected keys: {text}"
        );
    }
}

#[test]
fn hostile_answers_json() {
    for value in hostile_values() {
        let text = render_hostile("fmt-json", &value).expect("renders");
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let (full, line) = expected(&value);
        assert_eq!(doc["description"], full.as_str());
        assert_eq!(doc["description_auto"], full.as_str());
        assert_eq!(doc["team"], TEAM);
        assert_eq!(doc["cost_center"], line.as_str());
        assert_eq!(doc["purposes"], serde_json::json!([line]));
        assert_eq!(
            doc.as_object().map(|o| o.len()),
            Some(5),
            "no injected keys: {text}"
        );
    }
}

/// TypeScript: the rendered module is evaluated by Node (the file is also valid JavaScript) and
/// its values compared; a missing `node` fails the test.
#[test]
fn hostile_answers_typescript() {
    let dir = TestContext::new();
    let mut values = hostile_values();
    values.push("a b`${process.exit(7)}`".into());
    let mut script = String::from("const out = [];\n");
    for (i, value) in values.iter().enumerate() {
        let text = render_hostile("fmt-ts", value).expect("renders");
        std::fs::write(dir.path().join(format!("m{i}.mjs")), text).expect("write");
        script.push_str(&format!("out.push((await import('./m{i}.mjs')).meta);\n"));
    }
    script.push_str("process.stdout.write(JSON.stringify(out));\n");
    std::fs::write(dir.path().join("main.mjs"), script).expect("write");
    let o = Command::new("node")
        .arg("main.mjs")
        .current_dir(dir.path())
        .output()
        .expect("node must be installed");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
    for (value, meta) in values.iter().zip(got) {
        let (full, line) = expected(value);
        assert_eq!(meta["description"], full.as_str());
        assert_eq!(meta["description_auto"], full.as_str());
        assert_eq!(meta["team"], TEAM);
        assert_eq!(meta["cost_center"], line.as_str());
        assert_eq!(meta["purposes"], serde_json::json!([line]));
        assert_eq!(meta.as_object().map(|o| o.len()), Some(5));
    }
}

/// Reads a Dockerfile double-quoted word the way Docker does: `\` escapes `"`, `$` and `\`.
fn docker_unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' | '$' => return None, // an unescaped quote or variable would end/expand
            c => out.push(c),
        }
    }
    Some(out)
}

#[test]
fn hostile_answers_dockerfile() {
    for value in hostile_values() {
        let text = render_hostile("fmt-docker", &value).expect("renders");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "one instruction per line: {text}");
        let (full, line) = expected(&value);
        let label = lines[1]
            .strip_prefix("LABEL org.opencontainers.image.description=")
            .expect("label");
        assert_eq!(
            docker_unquote(label).as_deref(),
            Some(full.as_str()),
            "{text}"
        );
        let team = lines[2].strip_prefix("LABEL team=").expect("team");
        assert_eq!(docker_unquote(team).as_deref(), Some(TEAM));
        let env = lines[3].strip_prefix("ENV COST_CENTER=").expect("env");
        assert_eq!(docker_unquote(env).as_deref(), Some(line.as_str()));
    }
    let e = render_hostile("fmt-docker", "`id`").expect_err("refused");
    assert!(
        e.contains("a value with a backtick cannot go into a Dockerfile"),
        "{e}"
    );
}

#[test]
fn hostile_names_and_fields_are_refused_with_the_flag() {
    let dir = TestContext::new();
    for (flag, value, message) in [
        (
            "--name",
            "../evil",
            "--name: `../evil` is not a valid app name",
        ),
        ("--name", "a\"b${{ x }}", "is not a valid app name"),
        (
            "--team",
            "fin\nance",
            "--team: this value contains a line break (U+000A, character 4): `fin\\nance`",
        ),
        (
            "--team",
            "Finance Ops",
            "--team: `Finance Ops` is not a team name levee can use as written",
        ),
        (
            "--owner",
            "x@evil.com; rm -rf /",
            "--owner: `x@evil.com; rm -rf /` is not an e-mail address",
        ),
        (
            "--sso-issuer",
            "http://evil",
            "--sso-issuer: the SSO issuer `http://evil` is not an https URL",
        ),
        (
            "--egress",
            "https://x/y",
            "--egress: `https://x/y` is not a hostname",
        ),
    ] {
        let args = if flag == "--name" {
            basic_args(value)
        } else {
            basic_args_with("demo", &[flag, value])
        };
        let o = run(levee(&dir, dir.path()).arg("new").args(args));
        assert_eq!(o.code, 2, "{flag} {value:?}: {}", o.stderr);
        assert!(o.stderr.contains(message), "{flag} {value:?}: {}", o.stderr);
    }
    let long = "d".repeat(501);
    let o = run(levee(&dir, dir.path())
        .arg("new")
        .args(basic_args("demo"))
        .args(["--description", &long]));
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("--description: `description` is 501 characters long; the most is 500"),
        "{}",
        o.stderr
    );
    assert_eq!(only_entries(dir.path()), Vec::<String>::new());
}

#[test]
fn org_policy_refusals_before_writing() {
    let dir = TestContext::new();
    std::fs::write(
        dir.path().join("levee.org.yaml"),
        "org: acme\nowner_domains: [acme.corp]\ndatasets:\n  hr-salaries: {classification: confidential}\n  stats: {classification: public}\negress:\n  approved: ['*.acme.corp']\nsandbox:\n  egress_proxy: {host: proxy.acme.corp, port: 3128, namespace: egress, pod_labels: {app: proxy}}\n",
    )
    .expect("org");
    for (extra, message) in [
        (
            vec!["--owner", "jane@gmail.com"],
            "--owner: the owner `jane@gmail.com` is not in one of the org's e-mail domains (acme.corp) (OWN-001)",
        ),
        (
            vec![
                "--classification",
                "confidential",
                "--sso-group",
                "g",
                "--tier",
                "prototype",
            ],
            "--tier: a prototype app may handle internal data at most, and this app is classified confidential (DATA-006)",
        ),
        (
            // The tier proposed fits the dataset (sandbox); the classification given does not.
            vec!["--dataset", "hr-salaries:read:pay"],
            "--classification: the app is classified internal but uses the confidential dataset `hr-salaries` (DATA-002)",
        ),
        (
            vec!["--dataset", "hr-salaries:read:pay", "--tier", "prototype"],
            "--dataset: a prototype app may not use the confidential dataset `hr-salaries`: prototype apps may touch internal data at most (DATA-001)",
        ),
        (
            vec!["--dataset", "stats:write:figures"],
            "--dataset: `stats` allows read access only, not write (DATA-004)",
        ),
        (
            vec![
                "--classification",
                "confidential",
                "--sso-group",
                "g",
                "--tier",
                "sandbox",
                "--secret",
                "KEY:env",
            ],
            "--secret: a confidential app may not keep `KEY` in env (SEC-001)",
        ),
        (
            vec!["--egress", "api.example.com"],
            "--egress: `api.example.com` is not an approved outbound destination (RUN-004)",
        ),
        (
            vec!["--expires", "2026-12-31"],
            "--expires: the app would live 305 days, longer than the prototype maximum of 90 (LIFE-002)",
        ),
    ] {
        let o = run(levee(&dir, dir.path())
            .arg("new")
            .args(basic_args_with("demo", &extra)));
        assert_eq!(
            o.code, 1,
            "a policy refusal is exit 1: {extra:?}: {}",
            o.stderr
        );
        assert!(o.stderr.contains(message), "{extra:?}: {}", o.stderr);
        assert!(o.stderr.contains("      hint: "), "{}", o.stderr);
        assert_eq!(
            only_entries(dir.path()),
            ["levee.org.yaml"],
            "nothing written"
        );
    }
    // A confidential app without --tier gets the lowest tier allowed to hold its data.
    let o = run(levee(&dir, dir.path()).arg("new").args(basic_args_with(
        "demo",
        &[
            "--classification",
            "confidential",
            "--sso-group",
            "hr",
            "--egress",
            "api.acme.corp",
            "--format",
            "json",
        ],
    )));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["manifest"]["lifecycle"]["tier"], "sandbox");
    assert_eq!(v["manifest"]["runtime"]["type"], "hardened-container");
}

#[test]
fn answers_file_under_flags() {
    let dir = TestContext::new();
    std::fs::write(
        dir.path().join("answers.yaml"),
        "name: from-file\nowner: file@acme.corp\nteam: file-team\nclassification: internal\nkind: form\nlifecycle: {tier: prototype}\nsso: {provider: oidc, groups: [a, b]}\ncost: {center: CC-9, estimated_monthly_usd: 40}\ntemplate: form-node\n",
    )
    .expect("answers");
    let o = run(levee(&dir, dir.path())
        .args([
            "new",
            "--no-input",
            "--answers",
            "answers.yaml",
            "--team",
            "flag-team",
            "--format",
            "json",
            "--templates",
        ])
        .arg(fixtures().join("basic")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(v["manifest"]["name"], "from-file");
    assert_eq!(v["manifest"]["team"], "flag-team");
    assert_eq!(
        v["manifest"]["sso"]["groups"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(v["manifest"]["cost"]["estimated_monthly_usd"], 40.0);
    assert!(
        dir.path().join("answers.yaml").is_file(),
        "the user's own answers file is never removed"
    );
    // Nor a file reached through levee's answers folder by a symlink or `..`.
    #[cfg(unix)]
    {
        let state = TestContext::new();
        let kept = state.path().join("levee/answers");
        std::fs::create_dir_all(&kept).expect("mkdir");
        std::os::unix::fs::symlink(dir.path().join("answers.yaml"), kept.join("link.yaml"))
            .expect("symlink");
        for (target, file) in [
            ("via-link", kept.join("link.yaml")),
            (
                "via-dots",
                kept.join("../".repeat(kept.components().count() - 1)).join(
                    dir.path()
                        .join("answers.yaml")
                        .strip_prefix("/")
                        .expect("absolute"),
                ),
            ),
        ] {
            let o = run(levee(&dir, dir.path())
                .env("XDG_STATE_HOME", state.path())
                .args(["new", target, "--no-input", "--name", target, "--answers"])
                .arg(&file)
                .arg("--templates")
                .arg(fixtures().join("basic")));
            assert_eq!(o.code, 0, "{target}: {}", o.stderr);
            assert!(dir.path().join("answers.yaml").is_file(), "{target}");
        }
    }
    // Loaded as app.yaml is: every problem located, a did-you-mean, no internal type names.
    std::fs::write(
        dir.path().join("bad.yaml"),
        "nmae: x\nowner: nobody\nlifecycle:\n  tier: prototyp\n",
    )
    .expect("w");
    let o = run(levee(&dir, dir.path()).args(["new", "--no-input", "--answers", "bad.yaml"]));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "error: unknown key `nmae`
 --> bad.yaml:1:1
  |
1 | nmae: x
  | ^^^^
  |
  = help: did you mean `name`?
error: `nobody` is not an e-mail address
 --> bad.yaml:2:8
  |
2 | owner: nobody
  |        ^^^^^^
  |
  = help: the owner is the accountable person's work e-mail, like `jane.doe@acme.corp`
error: `prototyp` is not a valid tier; expected one of: prototype, sandbox, production
 --> bad.yaml:4:9
  |
4 |   tier: prototyp
  |         ^^^^^^^^
  |
  = help: did you mean `prototype`?
error: bad.yaml has 3 problem(s)
"
    );
}

// ---- a real terminal ----

/// An org config for the terminal runs: one registered dataset, one approved host.
const PTY_ORG: &str = "org: acme\nowner_domains: [acme.corp]\ndatasets:\n  expenses: {classification: internal, allowed_access: [read, write]}\n  payroll: {classification: confidential}\negress:\n  approved: [api.acme.corp]\n";

#[cfg(unix)]
fn pty_session(
    cx: &TestContext,
    dir: &Path,
    state: &Path,
    args: &[&str],
) -> expectrl::session::OsSession {
    let mut cmd = levee(cx, dir);
    cmd.args(["new", "--templates"])
        .arg(fixtures().join("basic"))
        .args(["--kind", "form"])
        .args(args)
        .env("XDG_STATE_HOME", state)
        .env("TERM", "xterm");
    let mut s = expectrl::Session::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
    s
}

#[cfg(unix)]
#[test]
fn the_wizard_in_a_pseudo_terminal() {
    use expectrl::Expect;
    let dir = TestContext::new();
    let state = TestContext::new();
    std::fs::write(dir.path().join("levee.org.yaml"), PTY_ORG).expect("org");
    let mut s = pty_session(&dir, dir.path(), state.path(), &["pty-app"]);
    let mut step = |prompt: &str, keys: &str| {
        s.expect(prompt)
            .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        // inquire reads keys one event at a time; a lone ESC needs a moment to be told apart
        // from the start of an escape sequence.
        std::thread::sleep(std::time::Duration::from_millis(60));
        s.send(keys).expect("send");
        std::thread::sleep(std::time::Duration::from_millis(60));
    };
    const ENTER: &str = "\r";
    const ESC: &str = "\x1b";
    const UP: &str = "\x1b[A";
    step("App name?", ENTER); // the default: the directory's name
    step("What does the app do", "Made in a terminal\r");
    step("Your work e-mail?", "pat@acme.corp\r");
    // The registered datasets are listed with their classification; the cursor starts on
    // "no dataset" (expenses, payroll, another, none): three up is expenses.
    step("payroll", &format!("{UP}{UP}{UP}{ENTER}"));
    step("What does the app do with expenses?", ENTER);
    // An empty purpose is refused at its own question, by the org's policy.
    step("Why does the app need expenses?", ENTER);
    step("gives no purpose (org policy DATA-003)", "monthly report\r");
    step("Another dataset?", ENTER);
    step("How sensitive", ENTER); // proposed from expenses: internal
    step("Which tier?", ENTER);
    step("When should the app expire?", ENTER);
    step("Which team owns the app?", "ops\r");
    // Esc goes back one question: the team again, with the answer given as its default.
    step("Which cost center pays for it?", ESC);
    step("Which team owns the app?", ENTER);
    step("Which cost center pays for it?", "CC-7\r");
    step("sign-in (identity) provider", ENTER);
    step("Which groups may use the app?", "ops\r");
    step("Does the app need a secret", ENTER);
    step("call other services", ENTER);
    step("Where will the app's repository live?", ENTER);
    // The recap, then the confirmation.
    step("Here is the app. Nothing is written until you confirm.", "");
    step("levee will write pty-app/", "");
    step("Create the app?", ENTER);
    s.expect("Created pty-app").expect("created");
    s.expect(expectrl::Eof).expect("exits");
    let m = levee::model::manifest::load(&dir.path().join("pty-app"))
        .expect("valid app.yaml")
        .value;
    assert_eq!(m.name, "pty-app");
    assert_eq!(m.classification, Classification::Internal);
    assert_eq!(m.owner, "pat@acme.corp");
    assert_eq!(m.team.as_deref(), Some("ops"));
    assert_eq!(m.cost.and_then(|c| c.center).as_deref(), Some("CC-7"));
    assert_eq!(m.data_access.len(), 1);
    assert_eq!(m.data_access[0].purpose.as_deref(), Some("monthly report"));
    // The policy gate agrees with the wizard.
    let o = run(levee(&dir, dir.path())
        .env("LEVEE_TODAY", "2026-03-01")
        .args(["check", "pty-app"]));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_the_wizard_exits_130_writes_nothing_and_keeps_the_answers() {
    use expectrl::Expect;
    let dir = TestContext::new();
    let state = TestContext::new();
    std::fs::write(dir.path().join("levee.org.yaml"), PTY_ORG).expect("org");
    let mut s = pty_session(&dir, dir.path(), state.path(), &["stopped-app"]);
    s.expect("App name?").expect("asks the name");
    s.send("\r").expect("enter");
    s.expect("What does the app do").expect("asks");
    s.send("Half done\r").expect("send");
    s.expect("Your work e-mail?").expect("asks");
    std::thread::sleep(std::time::Duration::from_millis(60));
    s.send("\x03").expect("ctrl-c");
    s.expect("Stopped. Nothing was written.").expect("says so");
    s.expect("levee new stopped-app --answers")
        .expect("says how to resume");
    let status = s.get_process().wait().expect("exits");
    assert_eq!(
        status,
        expectrl::process::unix::WaitStatus::Exited(s.get_process().pid(), 130),
        "Ctrl-C exits 130"
    );
    assert_eq!(
        only_entries(dir.path()),
        ["levee.org.yaml"],
        "nothing written"
    );
    let kept = state.path().join("levee/answers/stopped-app.yaml");
    let text = std::fs::read_to_string(&kept).expect("answers kept");
    assert!(text.contains("levee new stopped-app --answers"), "{text}");
    assert!(text.contains("description: Half done"), "{text}");
    // Resuming takes the kept answers: only what is still missing is needed.
    let o = run(levee(&dir, dir.path())
        .env("XDG_STATE_HOME", state.path())
        .args(["new", "stopped-app", "--no-input", "--answers"])
        .arg(&kept)
        .args(["--owner", "pat@acme.corp", "--classification", "internal"])
        .arg("--templates")
        .arg(fixtures().join("basic")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let m = levee::model::manifest::load(&dir.path().join("stopped-app"))
        .expect("app")
        .value;
    assert_eq!(m.description.as_deref(), Some("Half done"));
    assert!(
        !kept.exists(),
        "a kept answers file is removed once the app is made"
    );
}

// ---- snapshots of every template's full rendered tree ----

fn tree_snapshot(pack: &pack::Pack, id: &str) -> String {
    let t = pack.template(id).expect("template");
    // The default org, which approves the hosts the template's example settings name (reached
    // through an egress proxy), so the app can call them.
    let mut org = levee::model::org::Org::default();
    let hosts: Vec<String> = t
        .meta
        .settings
        .values()
        .filter_map(|s| levee::model::settings::url_host(s.example.as_deref()?))
        .collect();
    if !hosts.is_empty() {
        org.egress.approved = hosts;
        org.sandbox.egress_proxy = Some(levee::model::sandbox_config::EgressProxy {
            host: "egress-proxy.platform.svc.cluster.local".into(),
            port: 3128,
            namespace: "platform".into(),
            pod_labels: Default::default(),
        });
    }
    let answers = Answers {
        name: Some("snapshot-app".into()),
        description: Some("The app every template is snapshotted with".into()),
        owner: Some("jane.doe@acme.corp".into()),
        team: Some("finance".into()),
        classification: Some(Classification::Internal),
        sso_issuer: Some("https://login.acme.corp".into()),
        sso_groups: Some(vec!["finance-approvers".into()]),
        secrets: Some(vec![levee::model::manifest::Secret {
            name: "API_TOKEN".into(),
            provider: levee::model::manifest::SecretProvider::Vault,
            path: None,
        }]),
        cost_center: Some("CC-1234".into()),
        template: Some(id.into()),
        // The settings the template declares, with its own examples.
        settings: Some(
            t.meta
                .settings
                .iter()
                .filter_map(|(n, s)| Some((n.clone(), s.example.clone()?)))
                .collect(),
        ),
        ..Answers::default()
    };
    let setup = wizard::Setup {
        org: &org,
        pack,
        today: levee::model::manifest::Date::parse("2026-03-01").expect("d"),
        default_name: None,
        target: None,
    };
    let r = wizard::resolve(&Given::from(&answers), &setup, None).expect("resolves");
    let plan = scaffold::plan(pack, t, r.manifest, &org).expect("plan");
    let mut out = String::new();
    for (path, file) in &plan.files {
        if path == ".levee/render.json" {
            // Holds the pack's absolute path (machine-specific) for directory packs.
            out.push_str(&format!(
                "=== {path} ===\n<the render record: hashes of the files above and below>\n"
            ));
            continue;
        }
        match std::str::from_utf8(&file.bytes) {
            Ok(text) => out.push_str(&format!(
                "=== {path} ===\n{}",
                text.replace(&pack.origin.to_string(), "<pack>")
            )),
            Err(_) => out.push_str(&format!(
                "=== {path} ===\n<binary, {} bytes, sha256 {}>\n",
                file.bytes.len(),
                levee::support::hash::sha256_hex(&file.bytes)
            )),
        }
        if !out.ends_with('\n') {
            out.push_str("\n<no newline at end of file>\n");
        }
    }
    out
}

#[test]
fn snapshot_every_template() {
    let fixture = pack::load(Some(fixtures().join("basic").to_str().expect("utf8"))).expect("pack");
    let builtin = pack::builtin().expect("built-in pack");
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        for t in &fixture.templates {
            insta::assert_snapshot!(format!("fixture-{}", t.id), tree_snapshot(&fixture, &t.id));
        }
        for t in &builtin.templates {
            insta::assert_snapshot!(format!("template-{}", t.id), tree_snapshot(&builtin, &t.id));
        }
    });
}

#[test]
fn a_policy_refusal_is_exit_1_keeps_the_answers_and_resumes() {
    // A production app needs a team and a cost center (the org's policy, what `levee check`
    // and CI enforce): nothing is written, every refusal is named with its flag, and the answers
    // are kept so the run resumes where it stopped.
    let dir = TestContext::new();
    let state = TestContext::new();
    let o = run(levee(&dir, dir.path())
        .env("XDG_STATE_HOME", state.path())
        .args(["new", "prod-app"])
        .args(basic_args_with(
            "prod-app",
            &[
                "--tier",
                "production",
                "--description",
                "Payroll questions, answered",
                "--sso-group",
                "ops",
            ],
        )));
    assert_eq!(o.code, 1, "{}", o.stderr);
    let kept = state.path().join("levee/answers/prod-app.yaml");
    assert_eq!(
        o.stderr,
        format!(
            "error: the org's policy refuses these answers; nothing was written
  --team: a production app needs an owning team (OWN-002)
      hint: add `team:` with the team that runs the app
  --cost-center: a production app needs a cost center (OWN-003)
      hint: add `cost: {{center: <your cost center>}}`
hint: your answers are kept in {k}: change the refused ones there (or pass them as flags), then run `levee new prod-app --answers {k}`
",
            k = kept.display()
        )
    );
    assert_eq!(
        only_entries(dir.path()),
        Vec::<String>::new(),
        "nothing written"
    );
    let text = std::fs::read_to_string(&kept).expect("kept");
    assert!(
        text.contains("Payroll questions, answered")
            && text.contains("tier: production")
            && text.contains("# What stopped the run:\n#   --team: a production app needs an owning team (OWN-002)\n"),
        "{text}"
    );
    // The kept file reads as an answers file; the two missing answers finish the app.
    let o = run(levee(&dir, dir.path())
        .env("XDG_STATE_HOME", state.path())
        .args(["new", "prod-app", "--no-input", "--answers"])
        .arg(&kept)
        .args(["--team", "payroll", "--cost-center", "CC-7", "--templates"])
        .arg(fixtures().join("basic")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let m = levee::model::manifest::load(&dir.path().join("prod-app"))
        .expect("app")
        .value;
    assert_eq!(
        m.description.as_deref(),
        Some("Payroll questions, answered")
    );
    assert_eq!(m.lifecycle.tier, levee::model::manifest::Tier::Production);
    assert_eq!(m.team.as_deref(), Some("payroll"));
    let o = run(levee(&dir, dir.path()).args(["check", "prod-app"]));
    assert_eq!(o.code, 0, "the gate agrees: {}{}", o.stdout, o.stderr);
}

#[test]
fn the_directory_names_the_app_when_no_name_is_given() {
    let dir = TestContext::new();
    let o = run(levee(&dir, dir.path()).args([
        "new",
        "payroll-report",
        "--no-input",
        "--owner",
        "jane.doe@acme.corp",
        "--kind",
        "dashboard",
        "--stack",
        "python",
        "--classification",
        "internal",
        "--setting",
        "DASHBOARD_DATA_SOURCE=/srv/data/payroll.csv",
    ]));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let app =
        std::fs::read_to_string(dir.path().join("payroll-report/app.yaml")).expect("app.yaml");
    assert!(app.contains("\nname: \"payroll-report\"\n"), "{app}");
    // A directory that is not a valid name proposes nothing: the flag is still required.
    let o = run(levee(&dir, dir.path()).args([
        "new",
        "Payroll Report",
        "--no-input",
        "--owner",
        "jane.doe@acme.corp",
    ]));
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("missing --name"), "{}", o.stderr);
}

/// Every built-in starter app's Dockerfile, rendered by `levee new`, has zero hadolint findings
/// (info level included): multi-stage, pinned, non-root by number, no curl in the healthcheck.
#[test]
fn every_starter_dockerfile_passes_hadolint() {
    let hadolint = std::env::var_os("LEVEE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin"))
        .join("hadolint");
    assert!(
        hadolint.is_file(),
        "{} is missing: run scripts/test.sh, which installs it",
        hadolint.display()
    );
    let dir = TestContext::new();
    // An org that approves the webhook's downstream host.
    let org = dir.path().join("levee.org.yaml");
    std::fs::write(
        &org,
        "egress:\n  approved: [api.acme.corp]\n\
         sandbox:\n  egress_proxy: {host: egress-proxy.platform.svc.cluster.local, port: 3128, namespace: platform}\n",
    )
    .expect("w");
    let mut checked = 0;
    for kind in ["dashboard", "form", "webhook"] {
        let settings: &[&str] = match kind {
            "dashboard" => &["--setting", "DASHBOARD_DATA_SOURCE=/srv/data/sales.csv"],
            "webhook" => &["--setting", "DOWNSTREAM_URL=https://api.acme.corp/events"],
            _ => &[],
        };
        for stack in ["node", "python"] {
            let name = format!("{kind}-{stack}");
            let o = run(levee(&dir, dir.path())
                .args(["new", &name])
                .args(BASE)
                .args(["--kind", kind, "--stack", stack])
                .args(settings)
                .arg("--org")
                .arg(&org));
            assert_eq!(o.code, 0, "{name}: {}", o.stderr);
            let out = Command::new(&hadolint)
                .args(["--no-color", "--failure-threshold", "info"])
                .arg(dir.path().join(&name).join("Dockerfile"))
                .output()
                .expect("hadolint runs");
            assert!(
                out.status.success() && out.stdout.is_empty(),
                "{name}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = TestContext::new();
    let o = run(levee(&dir, dir.path())
        .args(["-q", "new"])
        .args(basic_args("quiet-app")));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("", ""));
    assert!(dir.path().join("quiet-app/app.yaml").is_file());
}

// ---- settings: what a template declares, --setting, answers files, the wizard ----

const SETTINGS_TEMPLATE: &str = "kind: webhook\nstack: node\ndescription: A webhook\n\
settings:\n  DOWNSTREAM_URL:\n    description: Where verified events are forwarded\n    required: true\n    example: https://api.acme.corp/events\n  RETRIES:\n    description: How often a failed forward is retried\n    example: \"3\"\n";

/// A pack whose one template declares a required and an optional setting, and an org config
/// that approves one egress host.
fn settings_pack(root: &Path) -> (PathBuf, PathBuf) {
    let pack = scratch_pack(root, &[("README.md", "x\n")]);
    std::fs::write(pack.join("t/template.yaml"), SETTINGS_TEMPLATE).expect("w");
    let org = root.join("levee.org.yaml");
    std::fs::write(
        &org,
        "owner_domains: [acme.corp]\negress:\n  approved: [api.acme.corp]\n\
         sandbox:\n  egress_proxy: {host: egress-proxy.platform.svc.cluster.local, port: 3128, namespace: platform}\n",
    )
    .expect("w");
    (pack, org)
}

fn settings_args(pack: &Path, org: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "new",
        "hooks",
        "--no-input",
        "--name",
        "hooks",
        "--owner",
        "jane.doe@acme.corp",
        "--classification",
        "internal",
        "--sso-issuer",
        "https://login.acme.corp",
        "--template",
        "t",
        "--templates",
        pack.to_str().expect("utf8"),
        "--org",
        org.to_str().expect("utf8"),
    ]
    .map(String::from)
    .to_vec();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[test]
fn a_required_setting_is_asked_for_by_its_flag_and_written_to_app_yaml() {
    let dir = TestContext::new();
    let (pack, org) = settings_pack(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");

    // Missing in a --no-input run: the error names the flag and shows the example.
    let o = run(levee(&dir, &work).args(settings_args(&pack, &org, &[])));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        o.stderr,
        "error: 1 answer is missing; nothing was written\n  \
         missing --setting DOWNSTREAM_URL=...: Where verified events are forwarded (for example https://api.acme.corp/events)\n      \
         hint: pass --setting DOWNSTREAM_URL=https://api.acme.corp/events\n\
         hint: pass each as a flag, or put them in an answers file (--answers FILE, with app.yaml's keys)\n"
    );
    assert_eq!(only_entries(&work), Vec::<String>::new());

    // Given: written in the template's order, then the others; the URL's approved host becomes
    // the egress default; deploy/ hands every setting to the app.
    let o = run(levee(&dir, &work).args(settings_args(
        &pack,
        &org,
        &[
            "--setting",
            "REGION=eu-west-1",
            "--setting",
            "DOWNSTREAM_URL=https://api.acme.corp/events?from=levee&n=$(X)",
        ],
    )));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let app = work.join("hooks");
    let text = std::fs::read_to_string(app.join("app.yaml")).expect("app.yaml");
    assert!(
        text.contains(
            "settings:\n  DOWNSTREAM_URL: \"https://api.acme.corp/events?from=levee&n=$(X)\"\n  REGION: \"eu-west-1\"\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  egress:\n    - \"api.acme.corp\"\n"),
        "{text}"
    );
    let loaded = levee::model::manifest::load(&app).expect("valid");
    assert_eq!(
        loaded
            .value
            .settings
            .get("DOWNSTREAM_URL")
            .map(String::as_str),
        Some("https://api.acme.corp/events?from=levee&n=$(X)")
    );
    let deployment =
        std::fs::read_to_string(app.join("deploy/30-deployment.yaml")).expect("deployment");
    assert!(
        deployment.contains(
            "            - name: \"DOWNSTREAM_URL\"\n              value: \"https://api.acme.corp/events?from=levee&n=$$(X)\"\n            - name: \"REGION\"\n"
        ),
        "{deployment}"
    );
    let o = run(levee(&dir, &app)
        .env("LEVEE_TODAY", "2026-03-01")
        .args(["check", "--org"])
        .arg(&org));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // What new wrote is what sync makes of app.yaml: the settings keep one order.
    let o = run(levee(&dir, &app)
        .args(["sync", "--check", "--org"])
        .arg(&org));
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
}

#[test]
fn settings_are_refused_with_the_flag_and_nothing_is_written() {
    let dir = TestContext::new();
    let (pack, org) = settings_pack(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let url = "DOWNSTREAM_URL=https://api.acme.corp/events";
    for (extra, code, message) in [
        (
            vec!["--setting", "DOWNSTEAM_URL=https://api.acme.corp/events"],
            2,
            "  missing --setting DOWNSTREAM_URL=...: Where verified events are forwarded (for example https://api.acme.corp/events)\n      hint: pass --setting DOWNSTREAM_URL=https://api.acme.corp/events\n  --setting: the template `t` declares no setting `DOWNSTEAM_URL`\n      hint: did you mean `DOWNSTREAM_URL`?\n",
        ),
        (
            vec!["--setting", url, "--setting", "DB_PASSWORD=hunter2"],
            2,
            "  --setting: `DB_PASSWORD` looks like a credential (PASSWORD): a secret is never a setting\n      hint: declare it under `secrets:` instead",
        ),
        (
            vec![
                "--setting",
                url,
                "--setting",
                "HTTPS_PROXY=http://evil.example.com",
            ],
            2,
            "  --setting: `HTTPS_PROXY` cannot be a setting: the runtime contract sets it in the Deployment",
        ),
        (
            vec!["--setting", url, "--setting", "lower=x"],
            2,
            "  --setting: `lower` is not a setting name: settings are environment variables, named in UPPER_SNAKE_CASE\n      hint: did you mean `LOWER`?",
        ),
        (
            vec![
                "--setting",
                "DOWNSTREAM_URL=https://bot:pw@api.acme.corp/events",
            ],
            2,
            "  --setting: the URL carries credentials (`user:password@`)",
        ),
        (
            vec!["--setting", "DOWNSTREAM_URL=a\u{202E}b"],
            2,
            "  --setting: this value contains a Unicode bidirectional override (U+202E, character 2)",
        ),
        (
            vec!["--setting", url, "--setting", url],
            2,
            "error: --setting DOWNSTREAM_URL is given twice\nhint: give each setting once\n",
        ),
        (
            vec!["--setting", "DOWNSTREAM_URL"],
            2,
            "`DOWNSTREAM_URL` needs a value: NAME=VALUE",
        ),
        // A host the org has not approved is not proposed as egress: the policy refuses it.
        (
            vec![
                "--setting",
                "DOWNSTREAM_URL=https://ledger.example.com/events",
            ],
            1,
            "  --setting: the setting DOWNSTREAM_URL points at `ledger.example.com`, a host the app may not reach (it is not in `runtime.egress`) (RUN-007)\n      hint: add `ledger.example.com` to `runtime.egress`",
        ),
    ] {
        let o = run(levee(&dir, &work)
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .args(settings_args(&pack, &org, &extra)));
        assert_eq!(o.code, code, "{extra:?}: {}", o.stderr);
        assert!(o.stderr.contains(message), "{extra:?}: {}", o.stderr);
        assert_eq!(only_entries(&work), Vec::<String>::new(), "{extra:?}");
    }
}

#[test]
fn settings_in_an_answers_file_under_the_flags() {
    let dir = TestContext::new();
    let (pack, org) = settings_pack(dir.path());
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::write(
        work.join("answers.yaml"),
        "settings:\n  DOWNSTREAM_URL: https://api.acme.corp/from-file\n  RETRIES: \"5\"\n",
    )
    .expect("w");
    let o = run(levee(&dir, &work).args(settings_args(
        &pack,
        &org,
        &[
            "--answers",
            "answers.yaml",
            "--setting",
            "RETRIES=7",
            "--format",
            "json",
        ],
    )));
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    assert_eq!(
        v["manifest"]["settings"],
        serde_json::json!({"DOWNSTREAM_URL": "https://api.acme.corp/from-file", "RETRIES": "7"})
    );
    // A value that is not text in the answers file is a usage error naming the file.
    std::fs::remove_dir_all(work.join("hooks")).expect("rm");
    std::fs::write(work.join("bad.yaml"), "settings:\n  RETRIES: [1]\n").expect("w");
    let o = run(levee(&dir, &work).args(settings_args(&pack, &org, &["--answers", "bad.yaml"])));
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.starts_with(
            "error: the setting `RETRIES` must be one text value\n --> bad.yaml:2:12\n"
        ),
        "{}",
        o.stderr
    );
}

#[test]
fn a_pack_cannot_declare_a_setting_levee_would_refuse() {
    let dir = TestContext::new();
    for (decl, message) in [
        ("NODE_OPTIONS", "`NODE_OPTIONS` cannot be a setting"),
        ("API_TOKEN", "`API_TOKEN` looks like a credential"),
        ("lower", "`lower` is not a setting name"),
    ] {
        let pack = scratch_pack(dir.path(), &[("README.md", "x\n")]);
        std::fs::write(
            pack.join("t/template.yaml"),
            format!("kind: form\nstack: node\nsettings:\n  {decl}:\n    description: x\n"),
        )
        .expect("w");
        let e = pack::load(Some(pack.to_str().expect("utf8"))).expect_err(decl);
        assert!(e.to_string().contains(message), "{decl}: {e}");
        assert!(e.to_string().contains("t/template.yaml"), "{decl}: {e}");
    }
}
