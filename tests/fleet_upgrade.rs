//! The scheduled template upgrade job, run for real: the generated GitHub workflow's and GitLab
//! job's own scripts, taken out of the generated YAML and run with bash and python3 over real
//! `levee upgrade --format json` reports (a conflict and a hostile file name), against real git
//! remotes. The GitHub and GitLab REST APIs are a local stub (`tests/fixtures/forge-api-stub.py`)
//! that answers from a table and logs what the script sent.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{TestContext, run};

/// A file name no one should trust: a backtick, a command substitution, HTML, a mention, a
/// Markdown link, a bare link GitHub would make clickable, and a right-to-left override (no `/`
/// or `:`, which levee refuses in a rendered path).
const HOSTILE: &str = "a`b $(touch PWNED) <img src=x onerror=alert(1)> @acme-admins \
                       [x](www.evil.example) www.evil.example \u{202e}gpj.md";

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args([
            "-c",
            "user.email=jane.doe@acme.corp",
            "-c",
            "user.name=Jane Doe",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "protocol.file.allow=always",
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
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

/// A git pack: v1.0.0, and v1.1.0, which changes a line of `conflict.txt` and adds a file whose
/// name is [`HOSTILE`].
fn pack(dir: &Path) -> PathBuf {
    let pack = dir.join("pack");
    let files = "dashboard-node/files";
    write(&pack, "pack.yaml", "name: acme\nversion: 1.0.0\n");
    write(
        &pack,
        "dashboard-node/template.yaml",
        "kind: dashboard\nstack: node\ndescription: test dashboard\n",
    );
    write(
        &pack,
        &format!("{files}/README.md.jinja"),
        "# {{ app.name }}\n",
    );
    write(&pack, &format!("{files}/conflict.txt"), "a\nb\nc\n");
    git(&pack, &["init", "-q"]);
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.0.0"]);
    git(&pack, &["tag", "v1.0.0"]);
    write(&pack, "pack.yaml", "name: acme\nversion: 1.1.0\n");
    write(
        &pack,
        &format!("{files}/conflict.txt"),
        "a\nB from the template\nc\n",
    );
    write(&pack, &format!("{files}/{HOSTILE}"), "hello\n");
    git(&pack, &["add", "-A"]);
    git(&pack, &["commit", "-qm", "v1.1.0"]);
    git(&pack, &["tag", "v1.1.0"]);
    pack
}

/// `levee new` from the pack at v1.0.0, committed on `main`, then an owner's edit of the line
/// the template changes next, committed too.
fn scaffold(cx: &TestContext, pack: &Path, ci: &str) -> PathBuf {
    let dir = cx.path();
    let o = run(cx
        .levee_in(dir)
        .args([
            "new",
            "shop",
            "--name",
            "shop",
            "--description",
            "Shop sales",
        ])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args(["--kind", "dashboard", "--stack", "node", "--ci", ci])
        .args(["--classification", "internal", "--templates"])
        .arg(format!("{}@v1.0.0", pack.display())));
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    let app = dir.join("shop");
    git(&app, &["init", "-q"]);
    git(&app, &["add", "-A"]);
    git(&app, &["commit", "-qm", "scaffold"]);
    fs::write(app.join("conflict.txt"), "a\nb from the owner\nc\n").expect("edit");
    git(&app, &["commit", "-qam", "owner edit"]);
    app
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&fs::read_to_string(path).expect("read")).expect("YAML")
}

/// PATH with the levee binary under test first.
fn path_with_levee() -> String {
    let bin = assert_cmd::cargo::cargo_bin("levee");
    let dir = bin.parent().expect("bin dir").display().to_string();
    format!("{dir}:{}", std::env::var("PATH").unwrap_or_default())
}

/// Runs a CI script the way the runners do (`bash -eo pipefail`), in `cwd`, with the harness's
/// hermetic levee environment plus `env`.
fn bash(cx: &TestContext, script: &str, cwd: &Path, env: &[(String, String)]) -> common::Out {
    let std_cmd = cx.command("bash");
    let mut cmd = assert_cmd::Command::from_std(std_cmd);
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(cwd)
        .env("PATH", path_with_levee())
        .timeout(Duration::from_secs(120));
    for var in ["GITHUB_OUTPUT", "GH_TOKEN"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The env values of a step or job that are plain strings (expressions left out).
fn plain_env(map: &Value) -> Vec<(String, String)> {
    map.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .filter(|(_, v)| !v.contains("${{"))
        .collect()
}

/// The local stand-in for the forge's REST API.
struct Stub {
    child: Child,
    url: String,
    routes: PathBuf,
    log: PathBuf,
}

impl Stub {
    fn start(dir: &Path) -> Stub {
        let routes = dir.join("routes.json");
        let log = dir.join("api.jsonl");
        let port = dir.join("port");
        fs::write(&routes, "{}").expect("routes");
        let child = Command::new("python3")
            .arg(common::root().join("tests/fixtures/forge-api-stub.py"))
            .args([&routes, &log, &port])
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 runs the API stub");
        let started = Instant::now();
        while !port.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the API stub did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let port = fs::read_to_string(&port).expect("port");
        Stub {
            child,
            url: format!("http://127.0.0.1:{}", port.trim()),
            routes,
            log,
        }
    }

    fn routes(&self, routes: Value) {
        fs::write(&self.routes, routes.to_string()).expect("routes");
    }

    /// The requests logged so far, and the log emptied.
    fn take(&self) -> Vec<Value> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let _ = fs::remove_file(&self.log);
        text.lines()
            .map(|l| serde_json::from_str(l).expect("log line"))
            .collect()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The HTML GitHub and GitLab would make of a body (GFM: tables, autolinks, strikethrough; raw
/// HTML passed through, as both do for the tags the body uses), with every code element's
/// content removed: what is left is what either forge reads as text, links and HTML.
fn outside_code(markdown: &str) -> (String, String) {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.render.r#unsafe = true;
    let html = comrak::markdown_to_html(markdown, &options);
    let mut rest = String::new();
    let mut tail = html.as_str();
    while let Some(start) = tail.find("<code") {
        rest.push_str(&tail[..start]);
        let end = tail[start..]
            .find("</code>")
            .map_or(tail.len(), |e| start + e + "</code>".len());
        tail = &tail[end..];
    }
    rest.push_str(tail);
    (html, rest)
}

/// The code span the body shows the hostile name in, as HTML.
fn hostile_as_html() -> String {
    "<code>a`b $(touch PWNED) &lt;img src=x onerror=alert(1)&gt; @acme-admins \
     [x](www.evil.example) www.evil.example \\u{202e}gpj.md</code>"
        .to_string()
}

/// What every rendered body must hold, whichever forge.
fn assert_body_is_safe_and_complete(body: &str, report: &Value) {
    let (html, rest) = outside_code(body);
    assert!(html.contains(&hostile_as_html()), "{html}");
    for bad in [
        "<img",
        "<a ",
        "PWNED",
        "@acme",
        "evil.example",
        "\u{202e}",
        "onerror",
    ] {
        assert!(!rest.contains(bad), "`{bad}` outside a code span:\n{rest}");
    }
    assert!(!body.contains('\u{202e}'), "a raw bidi override");
    assert!(
        body.lines().all(|l| !l.trim_start().starts_with('/')),
        "a line GitLab could read as a quick action:\n{body}"
    );
    assert!(body.contains("v1.0.0 \u{2192} v1.1.0: conflicts"), "{body}");
    assert!(body.contains("- `conflict.txt`: **conflict**"), "{body}");
    assert!(body.contains("### Conflicts to resolve"), "{body}");
    assert!(
        body.contains("run `levee upgrade --to 1.1.0` (it records the resolution)"),
        "{body}"
    );
    // The report itself, intact, in the details block.
    let start = body.find("```json\n").expect("json block") + "```json\n".len();
    let end = start
        + body[start..]
            .find("\n```\n")
            .expect("end of the json block");
    let shown: Value = serde_json::from_str(&body[start..end]).expect("the report parses");
    assert_eq!(&shown, report);
}

#[test]
fn github_workflow_describes_a_real_upgrade_and_guards_its_branch() {
    let dir = TestContext::new();
    let pack = pack(dir.path());
    let app = scaffold(&dir, &pack, "github");
    let workflow = yaml(&app.join(".github/workflows/levee-upgrade.yml"));
    let steps = workflow["jobs"]["upgrade"]["steps"]
        .as_array()
        .expect("steps")
        .clone();
    let step = |name: &str| -> Value {
        steps
            .iter()
            .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .unwrap_or_else(|| panic!("no step {name}"))
            .clone()
    };
    let temp = dir.path().join("runner-temp");
    fs::create_dir_all(&temp).expect("mkdir");
    let output = dir.path().join("github-output");
    let stub = Stub::start(dir.path());
    let github_env = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        let mut env = vars(&[
            ("RUNNER_TEMP", &temp.display().to_string()),
            ("GITHUB_OUTPUT", &output.display().to_string()),
            ("GITHUB_API_URL", &stub.url),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GH_TOKEN", "ghs-workflow-token"),
        ]);
        env.extend(vars(extra));
        env
    };

    // A real report of a failed upgrade, for later: a version the pack does not have.
    let failed = dir.path().join("failed");
    fs::create_dir_all(&failed).expect("mkdir");
    let o = run(dir.levee_in(&app).args([
        "upgrade",
        "--no-input",
        "--format",
        "json",
        "--to",
        "9.9.9",
        ".",
    ]));
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("\"result\": \"failed\""), "{}", o.stdout);
    fs::write(failed.join("levee-upgrade.json"), &o.stdout).expect("w");

    // The upgrade step: levee upgrade exits 1 (a conflict); the step goes on.
    let upgrade = step("Upgrade (levee upgrade)");
    let o = bash(
        &dir,
        upgrade["run"].as_str().expect("run"),
        &app,
        &github_env(&[]),
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let report: Value = serde_json::from_str(
        &fs::read_to_string(temp.join("levee-upgrade.json")).expect("the report"),
    )
    .expect("json");
    assert_eq!(report["summary"]["conflicts"], 1, "{report}");
    assert!(
        app.join(HOSTILE).is_file(),
        "the hostile file was created by the upgrade"
    );

    // The describe step, with the step's own env, no open pull request, no token secret.
    let describe = step("Describe the upgrade");
    let mut env = github_env(&[("LEVEE_UPGRADE_TOKEN_SET", "false")]);
    env.extend(plain_env(&describe["env"]));
    stub.routes(json!({
        "GET /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade": [],
    }));
    let script = describe["run"].as_str().expect("run");
    assert!(
        !script.contains("${{"),
        "no expression in a run: line:\n{script}"
    );
    let o = bash(&dir, script, &app, &env);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let outputs = fs::read_to_string(&output).expect("outputs");
    assert_eq!(
        outputs,
        "title=levee: upgrade the app template to v1.1.0 (conflicts to resolve)\n\
         labels=levee-upgrade,levee-conflicts\nconflicts=true\nupdate=true\n"
    );
    let body = fs::read_to_string(temp.join("levee-upgrade.md")).expect("body");
    assert_body_is_safe_and_complete(&body, &report);
    assert!(report["apps"][0].get("warning").is_none(), "{report}");
    assert!(
        body.contains("opened with the workflow's own `GITHUB_TOKEN`"),
        "{body}"
    );
    assert!(
        !dir.path().join("shop/PWNED").exists() && !dir.path().join("PWNED").exists(),
        "nothing ran the file name"
    );
    let calls = stub.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["authorization"], "Bearer ghs-workflow-token");

    // A real report of a failed upgrade (a version the pack does not have): the step fails the
    // job, naming the app and the reason, and sets no output.
    fs::remove_file(&output).expect("rm");
    let failed_env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| {
            let v = if k == "RUNNER_TEMP" {
                failed.display().to_string()
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    let o = bash(&dir, script, &app, &failed_env);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .starts_with("levee upgrade: the upgrade of . failed: "),
        "{}",
        o.stderr
    );
    assert!(
        !output.exists(),
        "no outputs: the pull request step does not run"
    );

    // The body and outputs again, with a token secret set: no note.
    let env_set: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| {
            let v = if k == "LEVEE_UPGRADE_TOKEN_SET" {
                "true"
            } else {
                v
            };
            (k.clone(), v.to_string())
        })
        .collect();
    let o = bash(&dir, script, &app, &env_set);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let body = fs::read_to_string(temp.join("levee-upgrade.md")).expect("body");
    assert!(!body.contains("GITHUB_TOKEN"), "{body}");
    stub.take();

    // An open pull request whose branch someone else committed to: left alone.
    fs::remove_file(&output).expect("rm");
    stub.routes(json!({
        "GET /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade": [{"number": 7}],
        "GET /repos/acme/shop/pulls/7/commits?per_page=100": [
            {"commit": {"author": {"email": "41898282+github-actions[bot]@users.noreply.github.com"}}},
            {"commit": {"author": {"email": "jane.doe@acme.corp"}}},
        ],
    }));
    let o = bash(&dir, script, &app, &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(&output)
            .expect("outputs")
            .ends_with("update=false\n")
    );
    assert!(
        o.stderr
            .contains("pull request #7 has a commit by someone else: left alone"),
        "{}",
        o.stderr
    );
    // Only the job's own commits: it updates the pull request.
    fs::remove_file(&output).expect("rm");
    stub.routes(json!({
        "GET /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade": [{"number": 7}],
        "GET /repos/acme/shop/pulls/7/commits?per_page=100": [
            {"commit": {"author": {"email": "41898282+github-actions[bot]@users.noreply.github.com"}}},
        ],
    }));
    let o = bash(&dir, script, &app, &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(&output)
            .expect("outputs")
            .ends_with("update=true\n")
    );
    // An API failure stops the job rather than overwrite a branch it could not check, with a
    // clear line, not a traceback.
    stub.routes(json!({}));
    let o = bash(&dir, script, &app, &env);
    assert_eq!(o.code, 1, "a 404 from the API is not success");
    assert_eq!(
        o.stderr,
        "levee upgrade: GitHub answered 404 to GET \
         /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade: {\"message\": \"404 Not Found\"}\n"
    );

    // The pull request cannot merge unresolved: the regular pipeline's drift job runs
    // `levee sync --check` (the upgrade regenerated every managed file: it passes) and
    // `levee upgrade --check-conflicts` (the marker is there: it fails).
    let pipeline = yaml(&app.join(".github/workflows/levee.yml"));
    let gate_steps: Vec<String> = pipeline["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|j| j["steps"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["run"].as_str().map(str::to_string))
        .filter(|r| r.starts_with("levee sync --check") || r.starts_with("levee upgrade"))
        .collect();
    assert_eq!(
        gate_steps,
        ["levee sync --check .", "levee upgrade --check-conflicts ."]
    );
    let o = bash(&dir, &gate_steps[0], &app, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let o = bash(&dir, &gate_steps[1], &app, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .starts_with("conflict conflict.txt:2: conflict markers left by a template upgrade\n"),
        "{}",
        o.stdout
    );
    // A person resolves the conflict: the gate passes.
    fs::write(
        app.join("conflict.txt"),
        "a\nB from the template, and the owner\nc\n",
    )
    .expect("w");
    let o = bash(&dir, &gate_steps[1], &app, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);

    // Merged without `levee upgrade --to 1.1.0`: the next run records the resolution, under a
    // title that says so.
    git(&app, &["add", "-A"]);
    git(&app, &["commit", "-qm", "upgrade, resolved by hand"]);
    let o = bash(
        &dir,
        upgrade["run"].as_str().expect("run"),
        &app,
        &github_env(&[]),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let _ = fs::remove_file(&output);
    stub.routes(json!({
        "GET /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade": [],
    }));
    let o = bash(&dir, script, &app, &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        fs::read_to_string(&output)
            .expect("outputs")
            .starts_with("title=levee: record the resolved template conflicts\n"),
    );
    assert_eq!(
        git(&app, &["status", "--porcelain"]),
        " M .levee/render.json\n",
        "the record is the only change"
    );
}

/// One GitLab CI run of the `levee-upgrade` job: a fresh clone of `remote` at `main` (detached,
/// as the runner checks out), then the job's `before_script` and `script`, as one bash script.
fn gitlab_run(cx: &TestContext, n: usize, remote: &Path, stub: &Stub) -> (common::Out, PathBuf) {
    let dir = cx.path();
    let ws = dir.join(format!("ws-{n}"));
    git(
        dir,
        &[
            "clone",
            "-q",
            &remote.display().to_string(),
            &ws.display().to_string(),
        ],
    );
    git(&ws, &["checkout", "-q", "--detach", "main"]);
    let ci = yaml(&ws.join(".gitlab-ci.yml"));
    let job = &ci["levee-upgrade"];
    assert_eq!(job["extends"], ".levee");
    let mut lines: Vec<String> = Vec::new();
    for part in [&ci[".levee"]["before_script"], &job["script"]] {
        for item in part.as_array().expect("script") {
            lines.push(item.as_str().expect("line").to_string());
        }
    }
    let mut env = vars(&[
        ("CI_API_V4_URL", &format!("{}/api/v4", stub.url)),
        ("CI_PROJECT_ID", "42"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("CI_PROJECT_DIR", &ws.display().to_string()),
        (
            "CI_PROJECT_URL",
            &format!("file://{}", remote.with_extension("").display()),
        ),
        ("LEVEE_UPGRADE_TOKEN", "glpat-project-token"),
    ]);
    env.extend(plain_env(&ci[".levee"]["variables"]));
    env.extend(plain_env(&job["variables"]));
    (bash(cx, &lines.join("\n"), &ws, &env), ws)
}

#[test]
fn gitlab_job_pushes_and_opens_one_merge_request_from_a_real_upgrade() {
    let dir = TestContext::new();
    let pack = pack(dir.path());
    let seed = scaffold(&dir, &pack, "gitlab");
    // The project's repository: a bare remote that takes push options and logs those of each
    // push to levee/upgrade.
    let remote = dir.path().join("remote.git");
    git(
        dir.path(),
        &["init", "-q", "--bare", &remote.display().to_string()],
    );
    git(&remote, &["config", "receive.advertisePushOptions", "true"]);
    let pushes = dir.path().join("pushes.log");
    let hook = remote.join("hooks/pre-receive");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\nwhile read -r old new ref; do\n  if [ \"$ref\" = refs/heads/levee/upgrade ]; then\n    \
             echo \"push ${{GIT_PUSH_OPTION_0:-}}\" >> {}\n  fi\ndone\n",
            pushes.display()
        ),
    )
    .expect("hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    git(
        &seed,
        &[
            "push",
            "-q",
            &remote.display().to_string(),
            "HEAD:refs/heads/main",
        ],
    );
    let stub = Stub::start(dir.path());
    let mrs = "GET /api/v4/projects/42/merge_requests?state=opened&source_branch=levee%2Fupgrade&target_branch=main";
    let commits = "GET /api/v4/projects/42/merge_requests/5/commits?per_page=100";
    let ours = json!([{"author_email": "levee-upgrade@noreply.invalid"}]);
    let branch_head = || git(&remote, &["rev-parse", "refs/heads/levee/upgrade"]);

    // Run 1: no merge request yet. The branch is pushed without a branch pipeline (ci.skip),
    // and the merge request is opened (its pipeline runs the gates once).
    stub.routes(json!({
        mrs: [],
        "POST /api/v4/projects/42/merge_requests": {"iid": 5},
    }));
    let (o, ws) = gitlab_run(&dir, 1, &remote, &stub);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("levee upgrade: opened merge request !5"),
        "{}",
        o.stderr
    );
    assert_eq!(
        fs::read_to_string(&pushes).expect("pushes"),
        "push ci.skip\n"
    );
    let head = branch_head();
    let author = git(
        &remote,
        &[
            "log",
            "-1",
            "--format=%an <%ae>|%cn <%ce>|%s",
            "levee/upgrade",
        ],
    );
    assert_eq!(
        author.trim(),
        "levee-upgrade <levee-upgrade@noreply.invalid>|levee-upgrade <levee-upgrade@noreply.invalid>|\
         levee: upgrade the app template to v1.1.0 (conflicts to resolve)"
    );
    let committed = git(&remote, &["ls-tree", "-r", "--name-only", "levee/upgrade"]);
    assert!(
        committed.lines().any(|l| l.contains("touch PWNED")),
        "{committed}"
    );
    assert!(
        !committed.contains(".levee-upgrade/") && !committed.contains(".levee-bin/"),
        "{committed}"
    );
    let conflict = git(&remote, &["show", "levee/upgrade:conflict.txt"]);
    assert!(
        conflict.starts_with("a\n<<<<<<< ours\nb from the owner\n=======\nB from the template\n>>>>>>> template v1.1.0\n"),
        "{conflict}"
    );
    let calls = stub.take();
    let shapes: Vec<(String, String)> = calls
        .iter()
        .map(|c| {
            (
                c["method"].as_str().unwrap_or("").into(),
                c["path"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [
            (
                "GET".to_string(),
                mrs.trim_start_matches("GET ").to_string()
            ),
            ("POST".into(), "/api/v4/projects/42/merge_requests".into()),
        ]
    );
    assert!(
        calls
            .iter()
            .all(|c| c["private_token"] == "glpat-project-token")
    );
    let body = fs::read_to_string(ws.join(".levee-upgrade/body.md")).expect("the body artifact");
    let report: Value = serde_json::from_str(
        &fs::read_to_string(ws.join(".levee-upgrade/report.json")).expect("the report artifact"),
    )
    .expect("json");
    assert_eq!(
        calls[1]["body"],
        json!({
            "source_branch": "levee/upgrade",
            "target_branch": "main",
            "title": "levee: upgrade the app template to v1.1.0 (conflicts to resolve)",
            "description": body,
            "labels": "levee-upgrade,levee-conflicts",
            "remove_source_branch": true,
        })
    );
    assert_body_is_safe_and_complete(&body, &report);
    assert!(!body.contains("GITHUB_TOKEN"), "no GitHub note on GitLab");
    assert!(
        report["apps"][0].get("warning").is_none(),
        "the job's own files are not uncommitted changes: {report}"
    );

    // The merge request's own pipeline: the validate job's gates, on the pushed branch. Drift
    // passes; the conflict gate fails until a person resolves the marker.
    let branch = dir.path().join("branch");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "-b",
            "levee/upgrade",
            &remote.display().to_string(),
            &branch.display().to_string(),
        ],
    );
    let ci = yaml(&branch.join(".gitlab-ci.yml"));
    let (job, body) = ci
        .as_object()
        .expect("jobs")
        .iter()
        .find(|(_, j)| {
            j["script"]
                .as_array()
                .is_some_and(|s| s.iter().any(|l| l == "levee sync --check ."))
        })
        .expect("the drift job");
    let gates: Vec<String> = body["script"]
        .as_array()
        .expect("script")
        .iter()
        .filter_map(|l| l.as_str().map(str::to_string))
        .take(3)
        .collect();
    assert_eq!(
        gates,
        [
            "levee validate app.yaml",
            "levee sync --check .",
            "levee upgrade --check-conflicts ."
        ],
        "{job}"
    );
    assert_eq!(
        body["rules"][0],
        json!({"if": "$CI_PIPELINE_SOURCE == \"schedule\"", "when": "never"}),
        "{job} never runs in a scheduled pipeline"
    );
    let o = bash(&dir, &gates[..2].join("\n"), &branch, &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let o = bash(&dir, &gates[2], &branch, &[]);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);

    // Run 2: the merge request is open and all its commits are the job's; the upgrade is the same
    // as the branch holds: nothing pushed, nothing updated, no pipeline started.
    stub.routes(json!({ mrs: [{"iid": 5}], commits: ours }));
    let (o, _) = gitlab_run(&dir, 2, &remote, &stub);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("merge request !5 already holds this upgrade"),
        "{}",
        o.stderr
    );
    assert_eq!(branch_head(), head);
    assert_eq!(
        fs::read_to_string(&pushes).expect("pushes"),
        "push ci.skip\n"
    );
    assert_eq!(stub.take().len(), 2, "the lookups only");

    // Run 3: main moved on; the branch is rebuilt from it and force-pushed (its merge request
    // pipeline runs: no ci.skip), and the merge request updated.
    fs::write(seed.join("NOTES.md"), "notes\n").expect("w");
    git(&seed, &["add", "NOTES.md"]);
    git(&seed, &["commit", "-qm", "notes"]);
    git(
        &seed,
        &[
            "push",
            "-q",
            &remote.display().to_string(),
            "HEAD:refs/heads/main",
        ],
    );
    stub.routes(json!({
        mrs: [{"iid": 5}],
        commits: ours,
        "PUT /api/v4/projects/42/merge_requests/5": {"iid": 5},
    }));
    let (o, _) = gitlab_run(&dir, 3, &remote, &stub);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("updated merge request !5"),
        "{}",
        o.stderr
    );
    assert_ne!(branch_head(), head);
    assert_eq!(
        fs::read_to_string(&pushes).expect("pushes"),
        "push ci.skip\npush \n"
    );
    let calls = stub.take();
    let put = calls.iter().find(|c| c["method"] == "PUT").expect("a PUT");
    assert_eq!(put["body"]["add_labels"], "levee-upgrade,levee-conflicts");
    assert_eq!(
        put["body"]["title"],
        "levee: upgrade the app template to v1.1.0 (conflicts to resolve)"
    );
    assert!(put["body"].get("remove_labels").is_none());
    let head = branch_head();

    // Run 4: someone pushed to the branch: the job leaves it alone.
    stub.routes(json!({
        mrs: [{"iid": 5}],
        commits: [{"author_email": "levee-upgrade@noreply.invalid"}, {"author_email": "jane.doe@acme.corp"}],
    }));
    let (o, _) = gitlab_run(&dir, 4, &remote, &stub);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("merge request !5 has a commit by someone else: left alone"),
        "{}",
        o.stderr
    );
    assert_eq!(branch_head(), head);
    assert_eq!(stub.take().len(), 2);

    // Run 5: main took the upgrade (a person merged it, conflict resolved): nothing left to
    // upgrade, so the job's open merge request is closed.
    let o = run(dir.levee_in(&seed).args(["upgrade", "--no-input", "."]));
    assert_eq!(o.code, 1, "the conflict: {}", o.stdout);
    fs::write(
        seed.join("conflict.txt"),
        "a\nB from the template, and the owner\nc\n",
    )
    .expect("w");
    let o = run(dir.levee_in(&seed).args(["upgrade", "--no-input", "."]));
    assert_eq!(o.code, 0, "resolved: {}", o.stdout);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-qm", "upgrade to v1.1.0"]);
    git(
        &seed,
        &[
            "push",
            "-q",
            &remote.display().to_string(),
            "HEAD:refs/heads/main",
        ],
    );
    stub.routes(json!({
        mrs: [{"iid": 5}],
        commits: ours,
        "PUT /api/v4/projects/42/merge_requests/5": {"iid": 5},
    }));
    let (o, _) = gitlab_run(&dir, 5, &remote, &stub);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let calls = stub.take();
    assert_eq!(
        calls.last().expect("a call")["body"],
        json!({"state_event": "close"})
    );
    assert!(o.stderr.contains("closed merge request !5"), "{}", o.stderr);

    // Without the token variable the job fails and says which variable to set.
    stub.routes(json!({ mrs: [] }));
    let ws6 = dir.path().join("ws-6");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            &remote.display().to_string(),
            &ws6.display().to_string(),
        ],
    );
    let ci = yaml(&ws6.join(".gitlab-ci.yml"));
    let script = ci["levee-upgrade"]["script"]
        .as_array()
        .expect("script")
        .iter()
        .filter_map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut env = vars(&[
        ("CI_API_V4_URL", &format!("{}/api/v4", stub.url)),
        ("CI_PROJECT_ID", "42"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PROJECT_URL", "file:///nonexistent"),
    ]);
    env.extend(plain_env(&ci["levee-upgrade"]["variables"]));
    let o = bash(&dir, &script, &ws6, &env);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("the CI/CD variable LEVEE_UPGRADE_TOKEN is not set"),
        "{}",
        o.stderr
    );
}

/// A report too long for a pull request body (GitHub keeps 65,536 characters): the raw report is
/// left out, then the end of the file list, and the body says so.
#[test]
fn a_huge_report_still_fits_a_pull_request_body() {
    let dir = TestContext::new();
    let text =
        "name: shop\nowner: a@acme.corp\nclassification: internal\nlifecycle: {tier: sandbox}\n";
    let m: levee::model::manifest::Manifest = serde_norway::from_str(text).expect("manifest");
    let org = levee::model::org::Org::default();
    let p = levee::generate::plan::for_manifest(&m, &org);
    let workflow =
        levee::generate::pipeline::render_upgrade(&m, &org, &p, levee::model::manifest::Ci::Github)
            .expect("render")
            .expect("on by default");
    let doc: Value = serde_norway::from_str(&workflow).expect("yaml");
    let step = doc["jobs"]["upgrade"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "report")
        .expect("report step")
        .clone();
    let files: Vec<Value> = (0..4000)
        .map(|i| json!({"path": format!("src/{}/file-{i}.ts", "deep/".repeat(12)), "change": "created"}))
        .collect();
    let report = json!({
        "summary": {"dry_run": false, "apps": 1, "up_to_date": 0, "upgraded": 1, "conflicts": 0, "failed": 0},
        "apps": [{"app": ".", "from": "1.0.0", "to": "1.1.0", "result": "upgraded", "files": files, "files_changed": 4000}],
    });
    fs::write(dir.path().join("levee-upgrade.json"), report.to_string()).expect("w");
    let stub = Stub::start(dir.path());
    stub.routes(json!({"GET /repos/acme/shop/pulls?state=open&head=acme%3Alevee%2Fupgrade": []}));
    let output = dir.path().join("out");
    let mut env = vars(&[
        ("RUNNER_TEMP", &dir.path().display().to_string()),
        ("GITHUB_OUTPUT", &output.display().to_string()),
        ("GITHUB_API_URL", &stub.url),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GH_TOKEN", "t"),
        ("LEVEE_UPGRADE_TOKEN_SET", "true"),
    ]);
    env.extend(plain_env(&step["env"]));
    let o = bash(&dir, step["run"].as_str().expect("run"), dir.path(), &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let body = fs::read_to_string(dir.path().join("levee-upgrade.md")).expect("body");
    assert!(body.chars().count() <= 60_000, "{} characters", body.len());
    assert!(!body.contains("```json"), "the raw report is left out");
    assert!(
        body.contains("The report is too long to show here (and the last "),
        "{}",
        &body[body.len() - 800..]
    );
    assert!(body.contains("- `src/deep/"), "the list starts");
    assert!(body.trim_end().ends_with("</sub>"), "the footer stays");
    assert!(
        fs::read_to_string(&output)
            .expect("outputs")
            .contains("title=levee: upgrade the app template to v1.1.0\n")
    );
}
