//! The policy bundle: Rego unit tests, the manifest corpus, the mutation check, the bundle files,
//! and `levee check` / `levee policy test` as processes (exit codes, JSON, SARIF).

mod common;

use common::TestContext;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use levee::generate::policy::{self, Clock, Evaluator, Level, TestOutcome};
use levee::model::manifest::{Classification, Date};

const TODAY: &str = "2026-03-01";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    root().join("tests/policy/corpus")
}

fn clock() -> Clock {
    Clock::Fixed(Date::parse(TODAY).expect("date"))
}

fn corpus_org() -> levee::model::org::Org {
    levee::load::document::load::<levee::model::org::Org>(
        &root().join("tests/policy/levee.org.yaml"),
    )
    .expect("corpus org config")
    .value
}

fn embedded_with_tests() -> Vec<(String, String)> {
    policy::modules()
        .into_iter()
        .chain(policy::test_modules())
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

fn levee(cx: &TestContext) -> Command {
    let mut cmd = cx.levee_std();
    cmd.env_remove("LEVEE_TODAY");
    cmd
}

/// One policy case: the file, the rule ids its `# expect:` line names, and whether levee accepts
/// the manifest (a `# invalid: why` line marks the few that `levee validate` refuses and CI's OPA
/// must deny).
struct Case {
    path: PathBuf,
    expected: BTreeSet<String>,
    valid: bool,
}

impl Case {
    /// The manifest as the engines receive it: the YAML as levee reads it.
    fn doc(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(&self.path).expect("read");
        levee::load::yaml::parse(&text).expect("YAML").value
    }
}

/// The corpus of policy cases.
fn corpus() -> Vec<Case> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(corpus_dir()).expect("corpus dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            let line = text.lines().next().unwrap_or("");
            let list = line
                .strip_prefix("# expect:")
                .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()))
                .trim();
            let expected = if list == "none" {
                BTreeSet::new()
            } else {
                list.split(',').map(|s| s.trim().to_string()).collect()
            };
            let valid = !text
                .lines()
                .nth(1)
                .is_some_and(|l| l.starts_with("# invalid:"));
            out.push(Case {
                path,
                expected,
                valid,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[test]
fn rego_unit_tests_all_pass() {
    let report =
        policy::run_tests(&embedded_with_tests(), policy::data(None), false).expect("tests run");
    let failures: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome != TestOutcome::Pass)
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        report.passed() >= 2 * policy::rules().len(),
        "{}",
        report.passed()
    );
}

/// Every rule has unit tests that it fires and that it stays quiet, and one with the fields it
/// reads absent (`..._absent...`): both engines run them (`levee policy test` here, OPA in
/// tests/opa.rs), so a rule that decides differently on an absent field fails on one of them.
#[test]
fn every_rule_has_allow_deny_and_absent_field_tests() {
    let names: Vec<String> = policy::test_modules()
        .iter()
        .flat_map(|(_, text)| policy::runner::test_rules(text).1)
        .collect();
    let rules = policy::rules();
    assert!(rules.len() >= 29, "{rules:?}");
    for rule in rules {
        let tag = format!("test_{}_", rule.id.to_lowercase().replace('-', "_"));
        let mine: Vec<&String> = names.iter().filter(|n| n.starts_with(&tag)).collect();
        assert!(mine.len() >= 3, "{} has {} unit tests", rule.id, mine.len());
        assert!(
            mine.iter().any(|n| n.contains("absent")),
            "{} has no unit test with its field absent (a test named `{tag}..._absent...`)",
            rule.id
        );
    }
}

#[test]
fn rego_coverage_reaches_every_policy_line() {
    let report =
        policy::run_tests(&embedded_with_tests(), policy::data(None), true).expect("tests run");
    let cov = report.coverage.expect("coverage");
    assert!(cov.files.len() >= 8, "{cov:?}");
    for f in &cov.files {
        assert!(f.covered > 0, "{f:?}");
        assert!(
            f.not_covered.is_empty(),
            "{} not reached: {:?}",
            f.file,
            f.not_covered
        );
    }
}

/// Removes every `deny contains`/`warn contains` block that produces `id`.
fn without_rule(text: &str, id: &str) -> (String, usize) {
    let mut out = String::new();
    let mut removed = 0;
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(b) = block.as_mut() {
            b.push_str(line);
            b.push('\n');
            if line == "}" {
                let b = block.take().unwrap_or_default();
                if b.contains(&format!("\"id\": \"{id}\"")) {
                    removed += 1;
                } else {
                    out.push_str(&b);
                }
            }
            continue;
        }
        if line.starts_with("deny contains") || line.starts_with("warn contains") {
            block = Some(format!("{line}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, removed)
}

#[test]
fn mutation_removing_any_rule_fails_a_unit_test_and_the_corpus() {
    let org = corpus_org();
    let corpus = corpus();
    for rule in policy::rules() {
        let mut removed = 0;
        let modules: Vec<(String, String)> = embedded_with_tests()
            .into_iter()
            .map(|(n, t)| {
                if n.ends_with("_test.rego") {
                    (n, t)
                } else {
                    let (t, r) = without_rule(&t, &rule.id);
                    removed += r;
                    (n, t)
                }
            })
            .collect();
        assert!(removed >= 1, "{} not found in the modules", rule.id);
        assert!(
            modules
                .iter()
                .filter(|(n, _)| !n.ends_with("_test.rego"))
                .all(|(_, t)| !t.contains(&format!("\"{}\"", rule.id))),
            "{} still present",
            rule.id
        );
        let report = policy::run_tests(&modules, policy::data(None), false).expect("runs");
        assert!(
            report.failed() > 0,
            "removing {} fails no Rego unit test",
            rule.id
        );
        let data = policy::data(Some(&org));
        let mut eval = Evaluator::new(
            modules
                .iter()
                .filter(|(n, _)| !n.ends_with("_test.rego"))
                .map(|(n, t)| (n.as_str(), t.as_str())),
            data,
            clock(),
        )
        .expect("compiles without the rule");
        let corpus_fails = corpus.iter().any(|case| {
            let got: BTreeSet<String> = eval
                .evaluate(&case.doc())
                .expect("eval")
                .into_iter()
                .map(|f| f.id)
                .collect();
            got != case.expected
        });
        assert!(
            corpus_fails,
            "removing {} changes no corpus result",
            rule.id
        );
    }
}

#[test]
fn corpus_gets_exactly_the_expected_rule_ids() {
    let corpus = corpus();
    assert!(corpus.len() >= 55, "{} manifests", corpus.len());
    let org = corpus_org();
    let mut eval = Evaluator::embedded(&org, clock()).expect("compile");
    let mut seen = BTreeSet::new();
    let mut mismatches = Vec::new();
    for case in &corpus {
        let loaded = levee::model::manifest::load(&case.path);
        assert_eq!(
            loaded.is_ok(),
            case.valid,
            "{}: marked {}valid",
            case.path.display(),
            if case.valid { "" } else { "in" }
        );
        let doc = levee::load::yaml::parse(&std::fs::read_to_string(&case.path).expect("read"))
            .expect("YAML");
        let findings = eval.evaluate(&doc.value).expect("eval");
        for f in &findings {
            assert!(
                !f.msg.is_empty() && !f.hint.is_empty() && !f.field.is_empty(),
                "{f:?}"
            );
            assert!(
                doc.spans.find(&f.pointer()).is_some(),
                "{}: {} points at no field",
                case.path.display(),
                f.field
            );
        }
        let got: BTreeSet<String> = findings.into_iter().map(|f| f.id).collect();
        seen.extend(got.iter().cloned());
        if got != case.expected {
            mismatches.push(format!(
                "{}: expected {:?}, got {got:?}",
                case.path.display(),
                case.expected
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    for rule in policy::rules() {
        assert!(
            seen.contains(&rule.id),
            "no corpus manifest triggers {}",
            rule.id
        );
    }
}

#[test]
fn tuned_bundle_decides_like_the_in_process_check() {
    let org = corpus_org();
    let mut full = Evaluator::embedded(&org, clock()).expect("compile");
    for case in corpus().into_iter().filter(|c| c.valid) {
        let m = levee::model::manifest::load(&case.path).expect("valid");
        let dir = TestContext::new();
        let files = policy::bundle(&m.value, &org);
        policy::write_files(dir.path(), &files).expect("write");
        let mut tuned =
            Evaluator::from_dir(&dir.path().join(policy::BUNDLE_DIR), clock()).expect("load");
        assert_eq!(
            tuned.evaluate(&m.doc.value).expect("tuned"),
            full.evaluate(&m.doc.value).expect("full"),
            "{}",
            case.path.display()
        );
    }
}

#[test]
fn bundle_files_are_tuned_and_stamped() {
    let org = corpus_org();
    let load = |name: &str| {
        levee::model::manifest::load(&corpus_dir().join(name))
            .expect("valid")
            .value
    };
    let public = policy::bundle(&load("clean-public-prototype.yaml"), &org);
    let restricted = policy::bundle(&load("clean-restricted-production.yaml"), &org);
    assert!(!public.contains_key("policy/sensitive.rego"));
    assert!(!public.contains_key("policy/sensitive_test.rego"));
    assert!(restricted.contains_key("policy/sensitive.rego"));
    let all: usize = policy::modules().len() + policy::test_modules().len();
    assert_eq!(
        restricted.keys().filter(|k| k.ends_with(".rego")).count(),
        all
    );
    assert!(
        public.values().map(String::len).sum::<usize>()
            < restricted.values().map(String::len).sum::<usize>()
    );
    for (path, content) in &restricted {
        assert!(content.contains(levee::VERSION), "{path} has no provenance");
        if path.ends_with(".rego") {
            assert!(content.starts_with("# Generated by levee"), "{path}");
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&restricted["policy/.manifest"]).expect("json");
    assert_eq!(manifest["rego_version"], 1);
    assert_eq!(manifest["roots"], serde_json::json!(["levee"]));
    let rev = manifest["revision"].as_str().expect("revision");
    assert!(
        rev.starts_with(&format!("levee-{}+", levee::VERSION)),
        "{rev}"
    );
    assert_ne!(
        rev,
        serde_json::from_str::<serde_json::Value>(&public["policy/.manifest"]).expect("json")["revision"]
    );
    let data: serde_json::Value = serde_json::from_str(&public["policy/data.json"]).expect("json");
    let datasets = data["levee"]["org"]["datasets"]
        .as_object()
        .expect("datasets");
    assert_eq!(datasets.keys().collect::<Vec<_>>(), vec!["office-hours"]);
    assert_eq!(
        data["levee"]["org"]["secret_providers"]
            .as_object()
            .map(|o| o.len()),
        Some(1)
    );
    assert!(
        data["levee"].get("clock").is_none(),
        "the clock is never bundled"
    );
    assert_eq!(
        policy::module_names_for(Classification::Internal).len() + 2,
        policy::module_names_for(Classification::Restricted).len()
    );
}

#[test]
fn written_bundle_passes_levee_policy_test() {
    let org = corpus_org();
    let m = levee::model::manifest::load(&corpus_dir().join("clean-restricted-production.yaml"))
        .expect("valid");
    let dir = TestContext::new();
    policy::write_files(dir.path(), &policy::bundle(&m.value, &org)).expect("write");
    let out = levee(&dir)
        .args(["policy", "test"])
        .arg(dir.path().join("policy"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let summary = stdout.lines().last().unwrap_or("");
    let n = policy::runner::test_rules(
        &policy::test_modules()
            .iter()
            .map(|(_, t)| *t)
            .collect::<String>(),
    )
    .1
    .len();
    assert_eq!(summary, format!("{n} passed, 0 failed"));
    assert!(stdout.contains("PASS sensitive_test.rego: data.levee.policy_test.test_auth_002"));

    // A failing test: the runner says so and exits 1.
    let broken = dir.path().join("policy/broken_test.rego");
    std::fs::write(
        &broken,
        "package levee.policy_test\n\ntest_broken if {\n\t1 == 2\n}\n",
    )
    .expect("write");
    let out = levee(&dir)
        .args(["policy", "test"])
        .arg(dir.path().join("policy"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL broken_test.rego: data.levee.policy_test.test_broken"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!("{n} passed, 1 failed\n")),
        "{stdout}"
    );
}

#[test]
fn policy_test_coverage_names_unreached_lines() {
    let dir = TestContext::new();
    std::fs::write(
        dir.path().join("p.rego"),
        "package p\n\nx if {\n\tinput.a == 1\n}\n\ny if {\n\tinput.b == 2\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("p_test.rego"),
        "package p_test\n\ntest_x if {\n\tdata.p.x with input as {\"a\": 1}\n}\n",
    )
    .expect("write");
    let out = levee(&dir)
        .args(["policy", "test", "--coverage"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("p.rego"), "{stdout}");
    assert!(
        stdout.contains("not reached: ") && stdout.contains('8'),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");
}

fn check(cx: &TestContext, args: &[&str]) -> (Option<i32>, String, String) {
    let out = levee(cx)
        .arg("--org")
        .arg(root().join("tests/policy/levee.org.yaml"))
        .args(["check", "--today", TODAY])
        .args(args)
        .current_dir(corpus_dir())
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_exit_codes() {
    let cx = TestContext::new();
    let (code, out, _) = check(&cx, &["clean-internal-prototype.yaml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("pass clean-internal-prototype"), "{out}");

    let (code, out, _) = check(&cx, &["run-cpu-over-cap.yaml"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("deny RUN-001"), "{out}");
    assert!(
        out.contains("run-cpu-over-cap.yaml:8:14 (runtime.cpu_limit)"),
        "{out}"
    );
    assert!(
        out.contains("hint: set `runtime.cpu_limit` to at most \"500m\""),
        "{out}"
    );

    // Warnings alone pass, unless --strict.
    let (code, out, _) = check(&cx, &["life-expiring-soon.yaml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("warn LIFE-003"), "{out}");
    let (code, _, _) = check(&cx, &["--strict", "life-expiring-soon.yaml"]);
    assert_eq!(code, Some(1));

    // The clock: the same manifest expired a month later.
    let out = levee(&cx)
        .arg("--org")
        .arg(root().join("tests/policy/levee.org.yaml"))
        .args(["check", "life-expiring-soon.yaml"])
        .env("LEVEE_TODAY", "2026-04-01")
        .current_dir(corpus_dir())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("LIFE-004"));

    // Missing input: exit 2.
    let (code, out, _) = check(&cx, &["no-such-app.yaml"]);
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn check_reports_invalid_manifests_as_invalid() {
    let dir = TestContext::new();
    let bad = dir.path().join("app.yaml");
    std::fs::write(
        &bad,
        "name: Bad Name\nowner: nobody\nclassification: secret\nlifecycle:\n  tier: prototype\n",
    )
    .expect("write");
    let (code, out, _) = check(&dir, &[bad.to_str().expect("utf8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the manifest is invalid"), "{out}");
    assert!(!out.contains("deny "), "{out}");
    let (_, json, _) = check(&dir, &["--format", "json", bad.to_str().expect("utf8")]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["apps"][0]["valid"], false);
    assert!(
        v["apps"][0]["problems"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    assert_eq!(v["apps"][0]["findings"], serde_json::json!([]));
}

#[test]
fn check_json_lists_every_finding_with_its_line() {
    let cx = TestContext::new();
    let (code, out, _) = check(
        &cx,
        &[
            "--format",
            "json",
            "kitchen-sink-public-prototype.yaml",
            "clean-confidential-sandbox.yaml",
        ],
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["summary"]["apps"], 2);
    assert_eq!(v["summary"]["deny"], 6);
    let findings = v["apps"][0]["findings"].as_array().expect("findings");
    assert!(
        findings
            .iter()
            .all(|f| f["line"].as_u64().is_some_and(|l| l > 1)),
        "{findings:?}"
    );
    assert_eq!(v["apps"][1]["findings"], serde_json::json!([]));
}

#[test]
fn check_sarif_validates_against_the_sarif_2_1_0_schema() {
    let mut files: Vec<String> = corpus()
        .into_iter()
        .map(|c| {
            c.path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let dir = TestContext::new();
    let bad = dir.path().join("app.yaml");
    std::fs::write(&bad, "name: x\n").expect("write");
    files.push(bad.to_string_lossy().into_owned());
    let args: Vec<&str> = ["--format", "sarif"]
        .into_iter()
        .chain(files.iter().map(String::as_str))
        .collect();
    let (code, out, _) = check(&dir, &args);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "MANIFEST"));
    assert!(results.iter().any(|r| r["level"] == "warning"));
    let rules: Vec<&str> = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    for r in results {
        assert!(rules.contains(&r["ruleId"].as_str().unwrap_or("")), "{r}");
    }
    let sarif = dir.path().join("out.sarif");
    std::fs::write(&sarif, &out).expect("write");
    let bin = std::env::var_os("LEVEE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin"));
    let validator = bin.join("check-jsonschema");
    assert!(
        validator.is_file(),
        "check-jsonschema not found in {} (set LEVEE_VALIDATORS_BIN, or run scripts/test.sh)",
        bin.display()
    );
    let schema = root().join("tests/schemas/sarif-schema-2.1.0.json");
    let status = Command::new(&validator)
        .arg("--schemafile")
        .arg(&schema)
        .arg(&sarif)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        status.status.success(),
        "{}{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    // The validator does reject a broken log (so the check above can fail).
    let mut broken = v.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    std::fs::write(&sarif, broken.to_string()).expect("write");
    let status = Command::new(&validator)
        .arg("--schemafile")
        .arg(&schema)
        .arg(&sarif)
        .output()
        .expect("runs");
    assert!(!status.status.success());
}

#[test]
fn check_many_manifests_compiles_once() {
    // 1,000 evaluations on one compiled engine stay fast even in a debug build.
    let org = corpus_org();
    let mut eval = Evaluator::embedded(&org, clock()).expect("compile");
    let m = levee::model::manifest::load(&corpus_dir().join("kitchen-sink-public-prototype.yaml"))
        .expect("valid");
    let start = std::time::Instant::now();
    for _ in 0..200 {
        let f = eval.evaluate(&m.doc.value).expect("eval");
        assert_eq!(f.iter().filter(|f| f.level == Level::Deny).count(), 6);
    }
    assert!(start.elapsed().as_secs() < 60);
}

#[test]
fn check_of_many_manifests_in_one_call_equals_each_alone_in_path_order() {
    let cx = TestContext::new();
    // `levee check` judges the manifests on every core, each worker with its own engines: the
    // report must hold, in the order of the paths given, exactly what each manifest gets alone.
    // The corpus is given twice, reversed the second time, so the workers interleave.
    let mut names: Vec<String> = corpus()
        .iter()
        .map(|c| {
            c.path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.extend(names.iter().rev().map(String::as_str));
    let mut args = vec!["--format", "json"];
    args.extend(all.iter().copied());
    let (code, stdout, stderr) = check(&cx, &args);
    assert_eq!(code, Some(1), "{stderr}");
    let together: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let apps = together["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), all.len());
    let mut deny = 0;
    for (app, name) in apps.iter().zip(&all) {
        let (_, alone, stderr) = check(&cx, &["--format", "json", name]);
        let alone: serde_json::Value = serde_json::from_str(&alone).expect("json");
        assert_eq!(app, &alone["apps"][0], "{name}: {stderr}");
        deny += alone["summary"]["deny"].as_u64().expect("deny");
    }
    assert_eq!(together["summary"]["deny"].as_u64(), Some(deny));
    // A manifest that cannot be read is reported in its place (exit 2); the others are judged.
    let (code, stdout, stderr) = check(
        &cx,
        &[
            "--format",
            "json",
            &names[0],
            "no-such-dir/app.yaml",
            &names[1],
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let paths: Vec<&str> = v["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| a["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [names[0].as_str(), "no-such-dir/app.yaml", names[1].as_str()]
    );
    assert!(v["apps"][1]["error"].is_string(), "{stdout}");
}

#[test]
fn check_with_bundle_reads_the_written_bundle() {
    let org = corpus_org();
    let path = corpus_dir().join("data-prototype-confidential-dataset.yaml");
    let m = levee::model::manifest::load(&path).expect("valid");
    let dir = TestContext::new();
    policy::write_files(dir.path(), &policy::bundle(&m.value, &org)).expect("write");
    let bundle = dir.path().join("policy");
    let (code, out, _) = check(
        &dir,
        &[
            "--format",
            "json",
            "--bundle",
            bundle.to_str().expect("utf8"),
            path.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ids: BTreeSet<&str> = v["apps"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, BTreeSet::from(["DATA-001", "DATA-002"]));
    // A bundle whose data.json lists no datasets judges differently: the file is what counts.
    std::fs::write(
        bundle.join("data.json"),
        r#"{"levee": {"org": {"tiers": {}}}}"#,
    )
    .expect("write");
    let (_, out, _) = check(
        &dir,
        &[
            "--format",
            "json",
            "--bundle",
            bundle.to_str().expect("utf8"),
            path.to_str().expect("utf8"),
        ],
    );
    assert!(out.contains("RUN-005"), "{out}");
    let (code, _, err) = check(
        &dir,
        &["--bundle", "/no/such/dir", path.to_str().expect("utf8")],
    );
    assert_eq!(code, Some(2), "{err}");
}

/// The characters policies/fold.json folds and what into: each non-whitespace character whose
/// NFKC form, lowercased and without whitespace, is a non-empty run of `a-z`, `0-9` and `-`
/// (and is not already that character), and every whitespace character (to nothing). The
/// policy applies the table with `strings.replace_n`, the same in OPA and regorus; Unicode
/// normalisation itself is in neither engine.
fn fold_table() -> Vec<(char, String)> {
    use unicode_normalization::UnicodeNormalization;
    let slug = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let mut out = Vec::new();
    for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
        if slug(c.encode_utf8(&mut [0; 4])) {
            continue;
        }
        if c.is_whitespace() {
            out.push((c, String::new()));
            continue;
        }
        let folded: String = c
            .to_string()
            .nfkc()
            .flat_map(char::to_lowercase)
            .filter(|c| !c.is_whitespace())
            .collect();
        if !folded.is_empty() && slug(&folded) {
            out.push((c, folded));
        }
    }
    out
}

/// policies/fold.json, as [`fold_table`] renders it: a JSON object, one entry per line, each
/// character written as itself (as a `\uXXXX` escape when it is whitespace or a control
/// character, so that none is invisible in a diff).
fn fold_json() -> String {
    let entries: Vec<String> = fold_table()
        .into_iter()
        .map(|(c, to)| {
            let key = if c.is_whitespace() || c.is_control() {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            };
            format!("  \"{key}\": \"{to}\"")
        })
        .collect();
    format!("{{\n{}\n}}\n", entries.join(",\n"))
}

#[test]
fn fold_table_is_unicode_nfkc() {
    let path = root().join("policies/fold.json");
    let want = fold_json();
    if std::env::var_os("LEVEE_WRITE_FOLD_TABLE").is_some() {
        std::fs::write(&path, &want).expect("write policies/fold.json");
    }
    let got = std::fs::read_to_string(&path).expect("policies/fold.json");
    assert!(
        got == want,
        "policies/fold.json is not the NFKC fold table of this Unicode version: rerun this test \
         with LEVEE_WRITE_FOLD_TABLE=1 and review the diff"
    );
    let table = fold_table();
    // The table the policies read is that file, as JSON.
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&got).expect("fold.json is JSON");
    assert_eq!(parsed.len(), table.len());
    for (c, to) in &table {
        assert_eq!(
            parsed.get(&c.to_string()),
            Some(&serde_json::json!(to)),
            "{c:?}"
        );
    }
    assert_eq!(
        policy::data(None)["levee"]["fold"]["table"],
        serde_json::Value::Object(parsed)
    );
    for (c, to) in [
        ('Ｐ', "p"),
        ('A', "a"),
        ('\u{a0}', ""),
        ('ﬁ', "fi"),
        ('𝐩', "p"),
        ('①', "1"),
    ] {
        assert!(table.contains(&(c, to.to_string())), "{c:?}");
    }
    assert!(!table.iter().any(|(c, _)| *c == 'é' || *c == 'İ'));
}

/// policies/README.md lists every rule as its METADATA describes it.
#[test]
fn policies_readme_lists_every_rule_with_its_title() {
    let readme = std::fs::read_to_string(root().join("policies/README.md")).expect("README");
    let rows: Vec<String> = readme
        .lines()
        .filter(|l| {
            l.starts_with("| ")
                && l.split('|')
                    .nth(1)
                    .is_some_and(|c| policy::is_rule_id(c.trim()))
        })
        .map(str::to_string)
        .collect();
    let want: Vec<String> = policy::rules()
        .iter()
        .map(|r| {
            let level = match r.severity {
                Level::Deny => "deny",
                Level::Warn => "warn",
            };
            format!("| {} | {level} | {} |", r.id, r.title)
        })
        .collect();
    assert_eq!(rows, want);
}
