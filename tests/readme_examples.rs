//! The README's deterministic console examples, read out of README.md and run: each case finds
//! its `$ command` in a ```console block and compares what levee prints with the output the
//! README shows under it, so an edit to either that makes them disagree fails here. (The first
//! ten minutes are tests/golden_path.rs's.)

mod common;

use std::path::{Path, PathBuf};

use common::TestContext;

/// A `$ command` of a README console block (continuation lines joined) and the output under it.
struct Shown {
    command: String,
    output: String,
}

/// Every `$ command` of every console block of the README, in order.
fn readme_commands() -> Vec<Shown> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let mut shown: Vec<Shown> = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line != "```console" {
            continue;
        }
        let mut pending: Option<String> = None;
        // Output before the block's first command (a terminal screen shown alone) is nobody's.
        let mut has_command = false;
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            let cmd = match (&mut pending, line.strip_prefix("$ ")) {
                (Some(p), _) => {
                    p.push_str(line.trim_start());
                    None
                }
                (None, Some(cmd)) => Some(cmd),
                (None, None) => {
                    if has_command && let Some(last) = shown.last_mut() {
                        last.output.push_str(line);
                        last.output.push('\n');
                    }
                    continue;
                }
            };
            if let Some(cmd) = cmd {
                pending = Some(cmd.to_string());
            }
            if let Some(p) = pending.as_mut() {
                if p.ends_with('\\') {
                    p.pop();
                    continue;
                }
                shown.push(Shown {
                    command: p.trim_end().to_string(),
                    output: String::new(),
                });
                has_command = true;
                pending = None;
            }
        }
    }
    shown
}

/// The output the README shows for `command` (exactly that command line, the one shown with
/// output; trailing blank lines, which separate commands, left off).
fn readme_output(command: &str) -> String {
    let all = readme_commands();
    let mut found: Vec<&Shown> = all.iter().filter(|s| s.command == command).collect();
    if found.len() > 1 {
        found.retain(|s| !s.output.trim().is_empty());
    }
    assert_eq!(
        found.len(),
        1,
        "the README should show `$ {command}` once in a console block"
    );
    found[0].output.trim_end_matches('\n').to_string() + "\n"
}

/// Runs levee with `args` in `dir` and returns what it printed (stdout, then stderr) and its
/// exit code.
fn levee(cx: &TestContext, dir: &Path, args: &[&str]) -> (String, i32) {
    let out = common::run(cx.levee_in(dir).args(args));
    (format!("{}{}", out.stdout, out.stderr), out.code)
}

/// The one `$ command` of the README that is `prefix`, else the one that starts with it, split
/// into levee's arguments.
fn readme_command(prefix: &str) -> (String, Vec<String>) {
    let all = readme_commands();
    let exact = all.iter().any(|s| s.command == prefix);
    let mut found: Vec<Shown> = all
        .into_iter()
        .filter(|s| {
            if exact {
                s.command == prefix
            } else {
                s.command.starts_with(prefix)
            }
        })
        .collect();
    // A command the first ten minutes list without output is the one shown with its output.
    if found.len() > 1 {
        found.retain(|s| !s.output.trim().is_empty());
    }
    assert_eq!(
        found.len(),
        1,
        "the README should show one `$ {prefix}...` in a console block"
    );
    let words = common::shell_words(&found[0].command);
    assert_eq!(words[0], "levee", "{}", found[0].command);
    (found[0].command.clone(), words[1..].to_vec())
}

/// The README's `$ command` starting with `prefix`, run in `dir` (its exit code checked): what
/// it printed, and the output the README shows for it.
fn run_readme(cx: &TestContext, dir: &Path, prefix: &str, exit: i32) -> (String, String) {
    let (command, words) = readme_command(prefix);
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let (out, code) = levee(cx, dir, &args);
    assert_eq!(code, exit, "{command}: {out}");
    (out, readme_output(&command))
}

fn words(command: &str) -> Vec<&str> {
    let rest = command.strip_prefix("levee ").expect("a levee command");
    rest.split_whitespace().collect()
}

/// The README's first `levee new` (the expense form, exactly as the README writes it), on the
/// built-in org, in `parent`.
fn expense_form(cx: &TestContext, parent: &Path) -> PathBuf {
    let all = readme_commands();
    let new = all
        .iter()
        .find(|s| s.command.starts_with("levee new expense-form "))
        .expect("the README's `levee new expense-form`");
    let words = common::shell_words(&new.command);
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let (out, code) = levee(cx, parent, &args);
    assert_eq!(code, 0, "{}: {out}", new.command);
    parent.join("expense-form")
}

#[test]
fn templates_list_prints_what_the_readme_shows() {
    let cmd = "levee templates list";
    let tmp = TestContext::new();
    let (out, code) = levee(&tmp, tmp.path(), &words(cmd));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, readme_output(cmd));
}

#[test]
fn validate_examples_print_what_the_readme_shows() {
    for (cmd, exit) in [
        (
            "levee validate tests/manifests/valid/playbook-example.yaml",
            0,
        ),
        (
            "levee validate tests/manifests/invalid/many-problems.yaml",
            1,
        ),
        (
            "levee --org tests/policy/levee.org.yaml validate tests/policy/corpus/data-dataset-wrong-case.yaml",
            1,
        ),
    ] {
        let cx = TestContext::new();
        let (out, code) = levee(&cx, &common::root(), &words(cmd));
        assert_eq!(code, exit, "{cmd}: {out}");
        assert_eq!(out, readme_output(cmd), "{cmd}");
    }
}

#[test]
fn policy_test_and_a_refused_sync_check_print_what_the_readme_shows() {
    let tmp = TestContext::new();
    let app = expense_form(&tmp, tmp.path());

    let cmd = "levee policy test policy | tail -1";
    let (out, code) = levee(&tmp, &app, &words(cmd.trim_end_matches(" | tail -1")));
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap_or_default().to_string() + "\n";
    assert_eq!(last, readme_output(cmd));

    // The README's hand edit: the pipeline's vulnerability scan lowered to LOW.
    let workflow = app.join(".github/workflows/levee.yml");
    let text = std::fs::read_to_string(&workflow).expect("workflow");
    assert_eq!(text.matches("severity: CRITICAL\n").count(), 1, "{text}");
    std::fs::write(
        &workflow,
        text.replace("severity: CRITICAL\n", "severity: LOW\n"),
    )
    .expect("edit");
    let cmd = "levee sync --check";
    let (out, code) = levee(&tmp, &app, &words(cmd));
    assert_eq!(code, 1, "{out}");
    assert_eq!(out, readme_output(cmd));
}

/// `grep -A1 -e PATTERN...` for patterns anchored at the line start: each matching line and the
/// one after it, groups that do not touch separated by `--`.
fn grep_a1(text: &str, starts: &[&str]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep: Vec<usize> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if starts.iter().any(|s| line.starts_with(s)) {
            for j in [i, i + 1] {
                if j < lines.len() && !keep.contains(&j) {
                    keep.push(j);
                }
            }
        }
    }
    let mut out = String::new();
    for (n, i) in keep.iter().enumerate() {
        if n > 0 && keep[n - 1] + 1 != *i {
            out.push_str("--\n");
        }
        out.push_str(lines[*i]);
        out.push('\n');
    }
    out
}

/// An org config that approves `api.payments.acme.corp` behind its egress proxy, as the README's
/// settings example says.
const PAYMENTS_ORG: &str = "org: acme
owner_domains: [acme.corp]
egress:
  approved: [api.payments.acme.corp]
sandbox:
  egress_proxy: {host: egress-proxy.platform.svc.cluster.local, port: 3128, namespace: platform, pod_labels: {app: egress-proxy}}
";

#[test]
fn a_missing_setting_and_the_settings_written_are_what_the_readme_shows() {
    let tmp = TestContext::new();
    std::fs::write(tmp.join("levee.org.yaml"), PAYMENTS_ORG).expect("org config");
    let prefix = "levee new payments-hook --no-input --owner jane.doe@acme.corp --kind webhook ";
    let both: Vec<Shown> = readme_commands()
        .into_iter()
        .filter(|s| s.command.starts_with(prefix))
        .collect();
    assert_eq!(both.len(), 2, "the README's two `{prefix}...`");
    let [missing, given] = [&both[0], &both[1]];
    assert!(!missing.command.contains("--setting") && given.command.contains("--setting"));
    let run = |command: &str| {
        let words = common::shell_words(command);
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        levee(&tmp, tmp.path(), &args)
    };

    let (out, code) = run(&missing.command);
    assert_eq!(code, 2, "{}: {out}", missing.command);
    assert_eq!(out, readme_output(&missing.command));
    assert!(!tmp.join("payments-hook").exists(), "nothing was written");

    let (out, code) = run(&given.command);
    assert_eq!(code, 0, "{}: {out}", given.command);
    // The README elides the rest of the summary with `...`.
    let shown = readme_output(&given.command);
    let head = shown.strip_suffix("...\n").expect("the README's `...`");
    assert!(
        out.starts_with(head),
        "{}: printed\n{out}\nthe README shows\n{shown}",
        given.command
    );

    let grep = "grep -A1 -e '^  egress:' -e '^settings:' payments-hook/app.yaml";
    let app_yaml = std::fs::read_to_string(tmp.join("payments-hook/app.yaml")).expect("app.yaml");
    assert_eq!(
        grep_a1(&app_yaml, &["  egress:", "settings:"]),
        readme_output(grep)
    );
}

#[test]
fn a_new_app_and_a_refused_one_print_what_the_readme_shows() {
    let tmp = TestContext::new();
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee new expense-tracker ", 0);
    assert_eq!(out, shown);

    // The policy section's `levee check`: the app asks for more memory than a prototype gets,
    // and for a host the org does not approve.
    let app = tmp.join("expense-tracker");
    let manifest = app.join("app.yaml");
    let text = std::fs::read_to_string(&manifest).expect("app.yaml");
    let runtime = "\nruntime:\n  type: \"sandboxed-container\"\n";
    assert_eq!(text.matches(runtime).count(), 1, "{text}");
    let asks = format!("{runtime}  mem_limit: 2Gi\n  egress: [api.stripe.com]\n");
    std::fs::write(&manifest, text.replace(runtime, &asks)).expect("edit");
    let out = common::run(tmp.levee_in(&app).arg("check"));
    assert_eq!(out.code, 1, "{}", out.stderr);
    // `$ levee check` is shown three times: the first ten minutes' two passes, and this one.
    let shown: Vec<String> = readme_commands()
        .into_iter()
        .filter(|s| s.command == "levee check" && s.output.starts_with("expense-tracker "))
        .map(|s| s.output.trim_end_matches('\n').to_string() + "\n")
        .collect();
    assert_eq!(
        shown.len(),
        1,
        "the README's `levee check` of expense-tracker"
    );
    assert_eq!(format!("{}{}", out.stdout, out.stderr), shown[0]);

    // The answers of a refused run are kept under the user's home: levee's own path, with the
    // temporary directory in place of `/`.
    let home = tmp.join("home/jane");
    std::fs::create_dir_all(&home).expect("home");
    let (command, words) = readme_command("levee new prod-app ");
    let out = common::run(
        tmp.levee_in(tmp.path())
            .args(&words)
            .env("HOME", &home)
            .env_remove("XDG_STATE_HOME"),
    );
    let root = tmp.path().display().to_string();
    assert_eq!(
        format!("{}{}", out.stdout, out.stderr).replace(&root, ""),
        readme_output(&command)
    );
    // `$ echo $?` under it shows the exit code.
    let all = readme_commands();
    let at = all
        .iter()
        .position(|s| s.command == command)
        .expect("the command");
    assert_eq!(all[at + 1].command, "echo $?", "the README's exit code");
    assert_eq!(format!("{}\n", out.code), all[at + 1].output, "{command}");
    assert!(!tmp.join("prod-app").exists(), "nothing was written");
}

#[test]
fn deploy_of_the_playbook_app_prints_what_the_readme_shows() {
    let tmp = TestContext::new();
    let app = tmp.join("expense-quick-submit");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::copy(
        common::root().join("tests/manifests/valid/playbook-example.yaml"),
        app.join("app.yaml"),
    )
    .expect("copy");
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee deploy expense-quick-submit", 0);
    assert_eq!(out, shown);
}

#[test]
fn the_webhooks_settings_refused_print_what_the_readme_shows() {
    let tmp = TestContext::new();
    let (_, words) = readme_command("levee new payments-hook --no-input --description ");
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let (out, code) = levee(&tmp, tmp.path(), &args);
    assert_eq!(code, 0, "{out}");
    let manifest = tmp.join("payments-hook/app.yaml");
    let text = std::fs::read_to_string(&manifest).expect("app.yaml");
    let url = "  DOWNSTREAM_URL: \"https://api.payments.example.com/events\"\n";
    assert_eq!(text.matches(url).count(), 1, "{text}");

    // Pointed at another host: RUN-007.
    let other = text.replace(
        url,
        "  DOWNSTREAM_URL: \"https://ledger.example.com/events\"\n",
    );
    std::fs::write(&manifest, other).expect("edit");
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee check payments-hook", 1);
    assert_eq!(out, shown);

    // Replaced by a setting of the owner's: the template's setting is missing.
    let replaced = text.replace(url, "  LEDGER_NAME: \"main\"\n");
    std::fs::write(&manifest, replaced).expect("edit");
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee validate payments-hook", 1);
    assert_eq!(out, shown);
}

/// Each line without its trailing spaces (a table's last column is padded; the README's lines
/// are not).
fn trim_lines(text: &str) -> String {
    text.lines()
        .map(|l| l.trim_end().to_string() + "\n")
        .collect()
}

/// The catalog section's apps: the playbook's expense form and a team rota that expires soon.
fn catalog_apps(cx: &TestContext) {
    let apps = cx.join("apps");
    common::write(
        &apps,
        "expense-quick-submit/app.yaml",
        &std::fs::read(common::root().join("tests/manifests/valid/playbook-example.yaml"))
            .expect("playbook example"),
    );
    common::write(
        &apps,
        "team-rota/app.yaml",
        b"name: team-rota
owner: ops.lead@acme.corp
classification: internal
sso: oidc
lifecycle:
  tier: prototype
  expires: 2026-03-10
cost:
  estimated_monthly_usd: 25
",
    );
}

#[test]
fn catalog_scan_list_and_lifecycle_print_what_the_readme_shows() {
    let tmp = TestContext::new();
    catalog_apps(&tmp);

    // The scan registers in parallel: the order of its `added` lines varies.
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee catalog scan apps", 0);
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines.join("\n")
    };
    assert_eq!(sorted(&out), sorted(&shown));
    let (out, shown) = run_readme(&tmp, tmp.path(), "levee catalog list", 0);
    assert_eq!(trim_lines(&out), shown);

    std::fs::write(
        tmp.join("usage.csv"),
        "app_id,active_users_month\nexpense-quick-submit,1400\nold-wiki,40\n",
    )
    .expect("usage.csv");
    let command = "levee lifecycle --metrics usage.csv";
    let (out, shown) = run_readme(&tmp, tmp.path(), command, 1);
    assert_eq!(trim_lines(&out), shown);
    let all = readme_commands();
    let at = all
        .iter()
        .position(|s| s.command == command)
        .expect("the command");
    assert_eq!(all[at + 1].command, "echo $?", "the README's exit code");
    assert_eq!(all[at + 1].output, "1\n");
}

/// The README's first `levee new expense-form` with `flags` removed (each flag with its value)
/// and `extra` added, run in `parent`; the app's directory.
fn expense_form_with(cx: &TestContext, parent: &Path, without: &[&str], extra: &[&str]) -> PathBuf {
    let (_, words) = readme_command("levee new expense-form ");
    let mut args: Vec<&str> = Vec::new();
    let mut skip = false;
    for w in &words {
        if skip {
            skip = false;
        } else if without.contains(&w.as_str()) {
            skip = true;
        } else {
            args.push(w);
        }
    }
    assert_eq!(
        args.len() + 2 * without.len(),
        words.len(),
        "every flag to leave out is in the README's command"
    );
    args.extend(extra);
    let (out, code) = levee(cx, parent, &args);
    assert_eq!(code, 0, "{args:?}: {out}");
    parent.join("expense-form")
}

#[test]
fn promote_examples_print_what_the_readme_shows() {
    let tmp = TestContext::new();
    let app = expense_form(&tmp, tmp.path());
    let (out, shown) = run_readme(&tmp, &app, "levee promote --tier sandbox", 0);
    assert_eq!(out, shown);

    // Made with the quickstart's flags and an env secret, without a team or a cost center.
    let bare = tmp.join("bare");
    std::fs::create_dir_all(&bare).expect("mkdir");
    let app = expense_form_with(
        &tmp,
        &bare,
        &["--team", "--cost-center"],
        &["--secret", "PAYMENT_API_KEY:env"],
    );
    let (out, shown) = run_readme(&tmp, &app, "levee promote --tier production", 1);
    assert_eq!(out, shown);

    // The same app with a team and a cost center: the env secrets move to vault. The README
    // elides the rest of the report with `...`.
    let full = tmp.join("full");
    std::fs::create_dir_all(&full).expect("mkdir");
    let app = expense_form_with(&tmp, &full, &[], &["--secret", "PAYMENT_API_KEY:env"]);
    let (out, shown) = run_readme(
        &tmp,
        &app,
        "levee promote --tier production --move-secrets-to vault",
        0,
    );
    let head = shown.strip_suffix("...\n").expect("the README's `...`");
    assert!(
        out.starts_with(head),
        "printed\n{out}\nthe README shows\n{shown}"
    );
}

#[test]
fn a_sync_refused_by_the_sandbox_prints_what_the_readme_shows() {
    let tmp = TestContext::new();
    let app = expense_form(&tmp, tmp.path());
    for tier in ["sandbox", "production"] {
        let (out, code) = levee(&tmp, &app, &["promote", "--tier", tier]);
        assert_eq!(code, 0, "{tier}: {out}");
    }
    let manifest = app.join("app.yaml");
    let text = std::fs::read_to_string(&manifest).expect("app.yaml");
    let runtime = "\nruntime:\n  type: \"sandboxed-container\"\n";
    assert_eq!(text.matches(runtime).count(), 1, "{text}");
    std::fs::write(
        &manifest,
        text.replace(runtime, &format!("{runtime}  cpu_limit: 8\n")),
    )
    .expect("edit");
    let (out, shown) = run_readme(&tmp, &app, "levee sync", 1);
    assert_eq!(out, shown);
}

#[test]
fn a_git_pack_from_its_first_release_to_an_upgrade_prints_what_the_readme_shows() {
    let tmp = TestContext::new();
    // The README's packs live in /tmp/demo-packs: the temporary directory stands in for it.
    let ws = std::fs::canonicalize(tmp.path()).expect("canonical");
    let shown_ws = "/tmp/demo-packs";
    let here = |text: &str| text.replace(&ws.display().to_string(), shown_ws);
    let pack = ws.join("acme-pack");
    std::fs::create_dir_all(&pack).expect("mkdir");
    common::git(&pack, &["init", "-q", "-b", "main"]);
    common::release_fixture_pack(&pack, "v1.0.0");

    let (out, shown) = run_readme(&tmp, &ws, "levee templates list --templates ./acme-pack", 0);
    assert_eq!(here(&out), shown);
    let (out, shown) = run_readme(&tmp, &ws, "levee new nightly-report ", 0);
    assert_eq!(out, shown);

    // A typo in `kind:`.
    let app = ws.join("nightly-report");
    let manifest = app.join("app.yaml");
    let text = std::fs::read_to_string(&manifest).expect("app.yaml");
    let kind = "\nkind: \"scheduled-job\"\n";
    assert_eq!(text.matches(kind).count(), 1, "{text}");
    std::fs::write(
        &manifest,
        text.replace(kind, "\nkind: \"scheduled-jobs\"\n"),
    )
    .expect("edit");
    let (out, shown) = run_readme(&tmp, &ws, "levee validate nightly-report", 1);
    assert_eq!(out, shown);
    std::fs::write(&manifest, &text).expect("restore");

    // The app committed, the pack's next release tagged: the upgrade, and git's diff of it.
    common::git(&app, &["init", "-q"]);
    common::release(&app, "levee-new");
    common::release_fixture_pack(&pack, "v1.1.0");
    let (out, shown) = run_readme(
        &tmp,
        &ws,
        "levee upgrade --templates ./acme-pack nightly-report",
        0,
    );
    assert_eq!(out, shown);
    let diff = tmp
        .command("git")
        .args([
            "-C",
            "nightly-report",
            "diff",
            ".github/workflows/levee.yml",
            "app.yaml",
        ])
        .current_dir(&ws)
        .output()
        .expect("git diff");
    assert!(diff.status.success(), "git diff");
    // app.yaml names the pack's path, so its blob ids vary with it: left out (the workflow's
    // are compared).
    let blobs = |text: &str| -> String {
        let mut in_app_yaml = false;
        let mut out = String::new();
        for l in text.lines() {
            if l.starts_with("diff --git ") {
                in_app_yaml = l == "diff --git a/app.yaml b/app.yaml";
            }
            match l.strip_prefix("index ") {
                Some(rest) if in_app_yaml => {
                    let mode = &rest[rest.find(' ').unwrap_or(rest.len())..];
                    out.push_str(&format!("index <blobs>{mode}\n"));
                }
                _ => out.push_str(&format!("{l}\n")),
            }
        }
        out
    };
    assert_eq!(
        blobs(&here(&String::from_utf8_lossy(&diff.stdout))),
        blobs(&readme_output(
            "git -C nightly-report diff .github/workflows/levee.yml app.yaml"
        ))
    );
}
