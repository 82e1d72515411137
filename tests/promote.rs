//! `levee promote`, through the real binary on apps scaffolded by `levee new`: tier changes with
//! `levee sync --check` clean after each step and app.yaml changed only on the edited lines,
//! refusals that list every reason and leave the tree byte-identical, --dry-run, flow-style
//! mappings, JSON, and `levee lifecycle --apply` escalations performed through promote.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{TestContext, validator};

/// Scaffolds an app with `levee new --no-input` and the given extra flags.
fn scaffold(cx: &TestContext, parent: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let dir = parent.join(name);
    cx.levee()
        .arg("new")
        .arg(&dir)
        .args([
            "--name",
            name,
            "--description",
            "Tracks expenses for the finance team",
            "--owner",
            "ann@example.com",
            "--kind",
            "form",
            "--stack",
            "node",
            "--classification",
            "internal",
        ])
        .args(extra)
        .assert()
        .success();
    dir
}

/// An app production accepts: team, cost center, SSO groups, secrets in vault.
fn production_ready(cx: &TestContext, parent: &Path) -> PathBuf {
    scaffold(
        cx,
        parent,
        "expense-tracker",
        &[
            "--team",
            "finance-ops",
            "--cost-center",
            "FIN-001",
            "--sso-group",
            "finance",
            "--secret",
            "DB_PASSWORD:vault",
            "--secret",
            "SESSION_SECRET:vault",
        ],
    )
}

/// Every file under `dir` (relative path -> bytes).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).expect("read")
}

/// The lines that differ: ("-" or "+", line).
fn line_diff(old: &str, new: &str) -> Vec<String> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value().trim_end()))
        .collect()
}

fn run(cx: &TestContext, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cx
        .levee()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sync_check_clean(cx: &TestContext, dir: &Path) {
    let (code, out, err) = run(cx, dir, &["sync", "--check"]);
    assert_eq!(code, 0, "sync --check after promote:\n{out}{err}");
}

#[test]
fn prototype_to_sandbox_to_production_keeps_every_other_byte() {
    let tmp = TestContext::new();
    let app = production_ready(&tmp, tmp.path());
    let yaml = app.join("app.yaml");
    // The user's own comments, on the edited lines too.
    let text = read(&yaml)
        .replace(
            "  tier: \"prototype\"\n",
            "  tier: \"prototype\"   # started in March\n",
        )
        .replace(
            "cost:\n",
            "# Finance pays; ask Ann before raising it.\ncost:\n",
        );
    std::fs::write(&yaml, &text).expect("write");
    sync_check_clean(&tmp, &app);
    // The scheduled upgrade workflow does not depend on the tier: every promotion keeps it.
    let upgrade_workflow = read(&app.join(".github/workflows/levee-upgrade.yml"));

    // prototype -> sandbox: the tier line changes (comment kept), the prototype expiry goes.
    let (code, out, err) = run(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(code, 0, "{out}{err}");
    let sandbox = read(&yaml);
    assert_eq!(
        line_diff(&text, &sandbox),
        [
            "-  tier: \"prototype\"   # started in March",
            "+  tier: \"sandbox\"   # started in March",
            "-  expires: \"2026-03-31\"",
        ]
    );
    for want in [
        "promoted ./app.yaml: prototype -> sandbox",
        "  lifecycle.tier: prototype -> sandbox",
        "  lifecycle.expires: 2026-03-31 -> (removed)",
        "  + scan stage",
        "  + job `sbom` (SBOM)",
        "  + job `verify` (Smoke test and telemetry), advisory",
        "  - job `preflight` (Preflight)",
        "  ~ vulnerability scan blocks on CRITICAL, HIGH (was CRITICAL)",
        "  app.yaml\n  .github/workflows/levee.yml\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    sync_check_clean(&tmp, &app);
    let workflow = read(&app.join(".github/workflows/levee.yml"));
    assert!(workflow.contains("SBOM"), "{workflow}");

    // sandbox -> production.
    let (code, out, err) = run(&tmp, &app, &["promote", "--tier", "production"]);
    assert_eq!(code, 0, "{out}{err}");
    let production = read(&yaml);
    assert_eq!(
        line_diff(&sandbox, &production),
        [
            "-  tier: \"sandbox\"   # started in March",
            "+  tier: \"production\"   # started in March",
        ]
    );
    for want in [
        "  lifecycle.tier: sandbox -> production",
        "  ~ job `verify` is now blocking",
        "  ~ deploys to the `production` environment (was `sandbox`)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    sync_check_clean(&tmp, &app);
    assert_eq!(
        read(&app.join(".github/workflows/levee-upgrade.yml")),
        upgrade_workflow
    );
    // The whole file, apart from the two edited lines, is the user's.
    assert_eq!(
        line_diff(&text, &production),
        [
            "-  tier: \"prototype\"   # started in March",
            "+  tier: \"production\"   # started in March",
            "-  expires: \"2026-03-31\"",
        ]
    );
    assert!(production.contains("# Finance pays; ask Ann before raising it.\ncost:\n"));
    // The promoted pipeline still passes the real validators, and the policy gate passes.
    let wf = app.join(".github/workflows/levee.yml");
    let status = std::process::Command::new(validator("actionlint"))
        .arg(&wf)
        .status()
        .expect("actionlint");
    assert!(
        status.success(),
        "actionlint failed on the promoted workflow"
    );
    let status = std::process::Command::new(validator("check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(&wf)
        .status()
        .expect("check-jsonschema");
    assert!(
        status.success(),
        "check-jsonschema failed on the promoted workflow"
    );
    let (code, out, _) = run(&tmp, &app, &["check"]);
    assert_eq!(code, 0, "{out}");

    // Again: a no-op, refused clearly; a demotion too. Nothing written.
    let before = tree(&app);
    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "production"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("deny TIER the app is already production: nothing to change"),
        "{out}"
    );
    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(code, 1);
    assert!(out.contains("moves apps up, not down to sandbox"), "{out}");
    assert!(out.contains("at ./app.yaml:"), "{out}");
    assert_eq!(tree(&app), before);
}

#[test]
fn production_without_groups_and_with_env_secrets_is_refused_with_every_reason() {
    let tmp = TestContext::new();
    // No team, no cost center, an env secret (the user's choice).
    let app = scaffold(
        &tmp,
        tmp.path(),
        "quick-form",
        &["--secret", "SESSION_SECRET:env"],
    );
    let yaml = app.join("app.yaml");
    // Sign-in without groups: the shorthand.
    let text = read(&yaml);
    let start = text.find("sso:\n").expect("sso block");
    let end = start + text[start..].find("\n\n").expect("end of block");
    let text = format!("{}sso: oidc{}", &text[..start], &text[end..]);
    std::fs::write(&yaml, &text).expect("write");
    let (code, out, err) = run(&tmp, &app, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = tree(&app);

    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "production"]);
    assert_eq!(code, 1, "{out}");
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("line")
    };
    assert!(
        out.starts_with(
            "refused promotion of ./app.yaml from prototype to production: 4 reasons; nothing was written\n"
        ),
        "{out}"
    );
    for (id, field, at) in [
        (
            "AUTH-006",
            "sso.groups",
            format!("./app.yaml:{}:", line_of("sso: oidc")),
        ),
        ("OWN-002", "team", "./app.yaml (team)".to_string()),
        (
            "OWN-003",
            "cost.center",
            "./app.yaml (cost.center)".to_string(),
        ),
        (
            "SEC-002",
            "secrets[0].provider",
            format!("./app.yaml:{}:15", line_of("provider: \"env\"")),
        ),
    ] {
        assert!(out.contains(&format!("deny {id} ")), "{id} missing:\n{out}");
        assert!(
            out.contains(&format!("({field})")),
            "{field} missing:\n{out}"
        );
        assert!(out.contains(&at), "{at} missing:\n{out}");
    }
    assert!(out.contains("hint: add `team:`"), "{out}");
    assert_eq!(tree(&app), before, "a refusal wrote something");

    // JSON: the same reasons, for automation.
    let (code, out, _) = run(
        &tmp,
        &app,
        &["promote", "--tier", "production", "--format", "json"],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["promoted"], false);
    let ids: Vec<&str> = v["refused"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids, ["AUTH-006", "OWN-002", "OWN-003", "SEC-002"]);
    assert_eq!(v["refused"][3]["field"], "secrets[0].provider");
    assert!(v["refused"][3]["line"].as_u64().is_some());

    // Sandbox forbids env secrets too, but needs no team: one reason.
    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(code, 1);
    assert!(out.contains(": 1 reason; nothing was written"), "{out}");
    assert!(out.contains("deny SEC-002 a sandbox app may not read `SESSION_SECRET`"));
    assert_eq!(tree(&app), before, "a refusal wrote something");
}

#[test]
fn a_hand_edited_managed_file_is_refused_naming_sync_force() {
    let tmp = TestContext::new();
    let app = production_ready(&tmp, tmp.path());
    let wf = app.join(".github/workflows/levee.yml");
    let edited = read(&wf).replace("timeout-minutes: 10", "timeout-minutes: 11");
    std::fs::write(&wf, edited).expect("write");
    let before = tree(&app);
    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("deny DRIFT .github/workflows/levee.yml was edited by hand"),
        "{out}"
    );
    assert!(out.contains("`levee sync --force`"), "{out}");
    assert!(
        out.contains("       at .github/workflows/levee.yml\n"),
        "{out}"
    );
    assert!(
        out.contains("-    timeout-minutes: 11\n"),
        "the diff is shown:\n{out}"
    );
    assert_eq!(tree(&app), before);
}

#[test]
fn dry_run_prints_every_diff_and_writes_nothing() {
    let tmp = TestContext::new();
    let app = production_ready(&tmp, tmp.path());
    let before = tree(&app);
    let (code, out, err) = run(&tmp, &app, &["promote", "--tier", "sandbox", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "--- a/app.yaml\n+++ b/app.yaml\n",
        "-  tier: \"prototype\"\n+  tier: \"sandbox\"\n",
        "--- a/.github/workflows/levee.yml\n+++ b/.github/workflows/levee.yml\n",
        "--- a/catalog-info.yaml\n+++ b/catalog-info.yaml\n",
        "would promote ./app.yaml: prototype -> sandbox\n",
        "note: dry run: nothing was written\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert_eq!(tree(&app), before, "--dry-run wrote something");
    // JSON dry run: diffs included, nothing written.
    let (code, out, _) = run(
        &tmp,
        &app,
        &[
            "promote",
            "--tier",
            "sandbox",
            "--dry-run",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["promoted"], false);
    assert_eq!(v["changes"][0]["field"], "lifecycle.tier");
    assert!(
        v["app_yaml_diff"]
            .as_str()
            .expect("diff")
            .contains("+  tier: \"sandbox\"")
    );
    assert!(
        v["gates"]["added"]
            .as_array()
            .expect("added")
            .iter()
            .any(|g| g == "job `sbom` (SBOM)")
    );
    assert_eq!(tree(&app), before);
}

#[test]
fn flow_style_lifecycle_and_a_new_expiry_from_the_org_config() {
    let tmp = TestContext::new();
    let app = tmp.path().join("flow-app");
    std::fs::create_dir_all(&app).expect("mkdir");
    // An org whose sandbox tier has a lifetime: promotion sets a new expiry.
    std::fs::write(
        tmp.path().join("levee.org.yaml"),
        "tiers:\n  sandbox: {max_lifetime_days: 180, default_lifetime_days: 60}\n",
    )
    .expect("org");
    let text = "# my app\nname: flow-app\nowner: ann@example.com\nclassification: internal\nsso: {provider: oidc, groups: [staff]}\nlifecycle: {tier: prototype, created: 2026-02-01, expires: 2026-03-20}   # flow!\n";
    std::fs::write(app.join("app.yaml"), text).expect("write");
    let (code, out, err) = run(&tmp, &app, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&tmp, &app, &["promote", "--tier", "sandbox"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("  lifecycle.expires: 2026-03-20 -> 2026-04-30\n"),
        "{out}"
    );
    assert_eq!(
        line_diff(text, &read(&app.join("app.yaml"))),
        [
            "-lifecycle: {tier: prototype, created: 2026-02-01, expires: 2026-03-20}   # flow!",
            "+lifecycle: {tier: sandbox, created: 2026-02-01, expires: 2026-04-30}   # flow!",
        ]
    );
    sync_check_clean(&tmp, &app);
    // Production has no lifetime: the expiry goes, from the flow mapping.
    let (code, out, err) = run(
        &tmp,
        &app,
        &["promote", "--tier", "production", "--dry-run"],
    );
    assert_eq!(code, 1, "no team or cost center:\n{out}{err}");
    let yaml = read(&app.join("app.yaml"))
        .replace("# my app\n", "# my app\nteam: ops\ncost: {center: CC-9}\n");
    std::fs::write(app.join("app.yaml"), &yaml).expect("write");
    run(&tmp, &app, &["sync"]);
    let (code, out, err) = run(
        &tmp,
        &app,
        &["promote", "--tier", "production", "--expires", "2027-01-31"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(read(&app.join("app.yaml")).contains(
        "lifecycle: {tier: production, created: 2026-02-01, expires: 2027-01-31}   # flow!\n"
    ));
    sync_check_clean(&tmp, &app);
}

#[test]
fn classification_change_and_usage_errors() {
    let tmp = TestContext::new();
    let app = production_ready(&tmp, tmp.path());
    // Confidential data needs a hardened runtime: refused with the field to change.
    let (code, out, _) = run(
        &tmp,
        &app,
        &[
            "promote",
            "--tier",
            "sandbox",
            "--classification",
            "confidential",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deny RUN-005"), "{out}");
    assert!(out.contains("(runtime.type)"), "{out}");
    // Usage errors: exit 2.
    for bad in [
        &["promote", "--tier", "prototype"][..],
        &["promote", "--tier", "galaxy"][..],
        &["promote"][..],
    ] {
        let (code, out, err) = run(&tmp, &app, bad);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
    }
    let (code, _, err) = run(
        &tmp,
        tmp.path(),
        &["promote", "nowhere", "--tier", "sandbox"],
    );
    assert_eq!(code, 2, "{err}");
}

#[test]
fn lifecycle_apply_promotes_escalations_and_reports_refusals() {
    let tmp = TestContext::new();
    let cat = tmp.path().join("catalog");
    let ready = production_ready(&tmp, tmp.path());
    let blocked = scaffold(
        &tmp,
        tmp.path(),
        "env-form",
        &["--secret", "SESSION_SECRET:env"],
    );
    tmp.levee()
        .args(["catalog", "register", "--catalog"])
        .arg(&cat)
        .args([&ready, &blocked])
        .assert()
        .success();
    let metrics = tmp.path().join("metrics.csv");
    std::fs::write(
        &metrics,
        "app_id,active_users_month\nexpense-tracker,2500\nenv-form,1800\n",
    )
    .expect("metrics");
    let blocked_before = tree(&blocked);
    let (code, out, err) = run(
        &tmp,
        tmp.path(),
        &[
            "lifecycle",
            "--apply",
            "--catalog",
            cat.to_str().expect("utf8"),
            "--metrics",
            metrics.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 1, "escalations need action:\n{out}{err}");
    assert!(
        out.contains("applied: expense-tracker: escalation to production recorded; promoted"),
        "{out}"
    );
    assert!(
        out.contains("applied: env-form: escalation to production recorded; promotion to production refused: "),
        "{out}"
    );
    assert!(out.contains("SEC-002"), "{out}");
    // The promoted app really moved, and its managed files are current.
    assert!(read(&ready.join("app.yaml")).contains("  tier: \"production\"\n"));
    sync_check_clean(&tmp, &ready);
    // The refused one is untouched.
    assert_eq!(tree(&blocked), blocked_before);
    // The catalog follows: tier production, escalation recorded as performed.
    let store = levee::catalog::Store::new(&cat);
    let e = store.get("expense-tracker").expect("get").expect("entry");
    assert_eq!(e.tier, levee::model::manifest::Tier::Production);
    assert_eq!(e.expires, None);
    assert_eq!(e.escalations.len(), 1);
    assert!(e.escalations[0].promoted);
    let b = store.get("env-form").expect("get").expect("entry");
    assert_eq!(b.tier, levee::model::manifest::Tier::Prototype);
    assert!(!b.escalations[0].promoted);
}

/// `levee new` adds the template's secrets in the store the user chose for theirs: promoted
/// untouched, they are never the reason for a refusal.
#[test]
fn added_secrets_follow_the_users_store() {
    let tmp = TestContext::new();
    let app = scaffold(
        &tmp,
        tmp.path(),
        "aws-form",
        &["--secret", "API_TOKEN:aws-secrets-manager"],
    );
    let text = read(&app.join("app.yaml"));
    assert!(
        text.contains("  - name: \"API_TOKEN\"\n    provider: \"aws-secrets-manager\"\n  - name: \"SESSION_SECRET\"\n    provider: \"aws-secrets-manager\"\n"),
        "{text}"
    );
    // No secret of the user's: the first store the org allows that is not env.
    let app = scaffold(&tmp, tmp.path(), "plain-form", &[]);
    let text = read(&app.join("app.yaml"));
    assert!(
        text.contains("  - name: \"SESSION_SECRET\"\n    provider: \"vault\"\n"),
        "{text}"
    );
}

/// A promotion refused only because of env secrets offers `--move-secrets-to`, which edits the
/// provider lines in place (comments, quoting and every other byte kept) and promotes.
#[test]
fn move_secrets_to_edits_the_provider_lines_in_place() {
    let tmp = TestContext::new();
    let app = scaffold(
        &tmp,
        tmp.path(),
        "env-secrets",
        &[
            "--team",
            "finance-ops",
            "--cost-center",
            "FIN-001",
            "--sso-group",
            "finance",
            "--secret",
            "API_TOKEN:env",
            "--secret",
            "LEDGER_KEY:vault",
            "--secret",
            "SESSION_SECRET:env",
        ],
    );
    let yaml = app.join("app.yaml");
    // A comment on a provider line and flow style for one entry: both kept.
    let text = read(&yaml)
        .replacen("provider: \"env\"\n", "provider: \"env\"   # for now\n", 1)
        .replace(
            "  - name: \"SESSION_SECRET\"\n    provider: \"env\"\n",
            "  - {name: SESSION_SECRET, provider: env}\n",
        );
    std::fs::write(&yaml, &text).expect("write");
    let (code, out, err) = run(&tmp, &app, &["sync"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = tree(&app);

    let (code, out, _) = run(&tmp, &app, &["promote", "--tier", "production"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("2 reasons"), "{out}");
    assert_eq!(out.matches("deny SEC-002").count(), 2, "{out}");
    assert!(
        out.contains("hint: run `levee promote --tier production --move-secrets-to vault` to move every env secret to vault or aws-secrets-manager (edits app.yaml in place)"),
        "{out}"
    );
    assert_eq!(tree(&app), before);

    // Env not allowed for a new classification (SEC-001): the same flag, in the same command.
    let (code, out, _) = run(
        &tmp,
        &app,
        &[
            "promote",
            "--tier",
            "sandbox",
            "--classification",
            "confidential",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deny SEC-001"), "{out}");
    assert!(
        out.contains("hint: run `levee promote --tier sandbox --classification confidential --move-secrets-to vault`"),
        "{out}"
    );
    assert_eq!(tree(&app), before);

    // An env store is no store to move to.
    let (code, _, err) = run(
        &tmp,
        &app,
        &[
            "promote",
            "--tier",
            "production",
            "--move-secrets-to",
            "env",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pass `vault` or `aws-secrets-manager`"),
        "{err}"
    );

    let (code, out, err) = run(
        &tmp,
        &app,
        &[
            "promote",
            "--tier",
            "production",
            "--move-secrets-to",
            "vault",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("  secrets[0].provider: env -> vault\n"),
        "{out}"
    );
    assert!(
        out.contains("  secrets[2].provider: env -> vault\n"),
        "{out}"
    );
    let after = read(&yaml);
    let expected = text
        .replacen(
            "provider: \"env\"   # for now\n",
            "provider: \"vault\"   # for now\n",
            1,
        )
        .replace(
            "{name: SESSION_SECRET, provider: env}",
            "{name: SESSION_SECRET, provider: vault}",
        );
    // Only the tier, the expiry and the two provider lines differ.
    let diff: Vec<String> = similar::TextDiff::from_lines(&expected, &after)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| c.value().trim_end().to_string())
        .collect();
    assert!(
        diff.iter()
            .all(|l| l.contains("tier:") || l.contains("expires:")),
        "{diff:#?}"
    );
    sync_check_clean(&tmp, &app);
    let (code, out, _) = run(&tmp, &app, &["check"]);
    assert_eq!(code, 0, "{out}");
}
