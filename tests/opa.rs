//! The reference OPA as the oracle for levee's Rego: `levee check` (regorus, in-process) and CI
//! (OPA, on the bundle in `policy/`) must decide the same.
//!
//! scripts/opa-oracle.py drives OPA v1.20 itself (the Go engine built as a C library, PyPI
//! `opa-golib-python-bindings`, unpacked into the .venv by scripts/test.sh). Each test starts it
//! once and hands it every job at once. A missing OPA fails these tests; nothing is skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::TestContext;
use levee::generate::policy::{self, Clock, Evaluator, Finding, Level};
use levee::model::manifest::Date;
use serde_json::{Map, Value, json};

const TODAY: &str = "2026-03-01";

fn root() -> PathBuf {
    common::root()
}

fn clock() -> Clock {
    Clock::Fixed(Date::parse(TODAY).expect("date"))
}

fn now_ns() -> i64 {
    i64::try_from(clock().now_ns().expect("a fixed clock")).expect("fits")
}

fn corpus_org_path() -> PathBuf {
    root().join("tests/policy/levee.org.yaml")
}

fn corpus_org() -> levee::model::org::Org {
    levee::load::document::load::<levee::model::org::Org>(&corpus_org_path())
        .expect("corpus org config")
        .value
}

/// Every embedded policy module (not the tests), by file name.
fn policy_modules() -> Map<String, Value> {
    policy::modules()
        .into_iter()
        .map(|(n, t)| (n.to_string(), Value::from(t)))
        .collect()
}

/// The whole org config as policy data, as `levee check` evaluates it in-process.
fn full_data(org: &levee::model::org::Org) -> Value {
    policy::data(Some(org))
}

/// Runs the oracle on `jobs`; its replies, in order.
fn oracle(jobs: Vec<Value>) -> Vec<Value> {
    let n = jobs.len();
    let mut child = Command::new(common::validator("python"))
        .arg(root().join("scripts/opa-oracle.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the oracle starts");
    let request = serde_json::to_vec(&json!({ "jobs": jobs })).expect("json");
    // The oracle reads the whole request before it writes: no deadlock on full pipes.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&request)
        .expect("request written");
    let out = child.wait_with_output().expect("the oracle runs");
    assert!(
        out.status.success(),
        "the OPA oracle failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Value = serde_json::from_slice(&out.stdout).expect("the oracle replies with JSON");
    let replies = reply["jobs"].as_array().cloned().expect("jobs");
    assert_eq!(replies.len(), n);
    replies
}

/// One finding as both engines report it: level, id, field, message and hint.
type Key = (String, String, String, String, String);

fn keys(findings: &[Finding]) -> BTreeSet<Key> {
    findings
        .iter()
        .map(|f| {
            let level = match f.level {
                Level::Deny => "deny",
                Level::Warn => "warn",
            };
            (
                level.to_string(),
                f.id.clone(),
                f.field.clone(),
                f.msg.clone(),
                f.hint.clone(),
            )
        })
        .collect()
}

/// The findings of one OPA evaluation result; panics on an OPA error.
fn opa_keys(result: &Value, what: &str) -> BTreeSet<Key> {
    assert!(
        result.get("error").is_none(),
        "OPA failed on {what}: {result}"
    );
    let mut out = BTreeSet::new();
    for level in ["deny", "warn"] {
        for f in result[level].as_array().into_iter().flatten() {
            let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
            out.insert((
                level.to_string(),
                text("id"),
                text("field"),
                text("msg"),
                text("hint"),
            ));
        }
    }
    out
}

/// Equal as JSON documents, numbers compared by value (`8` and `8.0` are one number to OPA).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// The policy cases (tests/policy/corpus) and the valid manifest corpus (tests/manifests/valid):
/// each file, its text, and the manifest when levee accepts it. (A few policy cases are
/// manifests levee refuses, kept for the rules that CI's OPA applies to them.)
fn all_manifests() -> Vec<(
    PathBuf,
    String,
    Option<levee::load::document::Loaded<levee::model::manifest::Manifest>>,
)> {
    let mut files = yaml_files("tests/policy/corpus");
    files.extend(yaml_files("tests/manifests/valid"));
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            let loaded = levee::model::manifest::load(&p).ok();
            (p, text, loaded)
        })
        .collect()
}

/// A manifest as both engines receive it once read: the YAML as levee reads it.
fn doc_of(text: &str) -> Value {
    levee::load::yaml::parse(text).expect("YAML").value
}

#[test]
fn every_bundle_passes_its_unit_tests_on_opa_with_the_count_of_levee_policy_test() {
    let org = corpus_org();
    let work = TestContext::new();
    let mut dirs = Vec::new();
    let mut seen = BTreeSet::new();
    for name in [
        "clean-public-prototype.yaml",
        "clean-internal-prototype.yaml",
        "clean-confidential-sandbox.yaml",
        "clean-restricted-production.yaml",
    ] {
        let m = levee::model::manifest::load(&root().join("tests/policy/corpus").join(name))
            .expect("valid")
            .value;
        seen.insert(m.classification);
        let app = work.path().join(m.classification.as_str());
        policy::write_files(&app, &policy::bundle(&m, &org)).expect("bundle written");
        dirs.push((m.classification, app.join(policy::BUNDLE_DIR)));
    }
    assert_eq!(seen.len(), 4, "one bundle per classification");
    let replies = oracle(
        dirs.iter()
            .map(|(_, d)| json!({"test": d.display().to_string()}))
            .collect(),
    );
    let mut counts = BTreeMap::new();
    for ((class, dir), reply) in dirs.iter().zip(&replies) {
        assert!(reply.get("error").is_none(), "{class}: {reply}");
        let opa: BTreeMap<(String, String), String> = reply["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    (
                        r["file"].as_str().unwrap_or("").to_string(),
                        r["name"].as_str().unwrap_or("").to_string(),
                    ),
                    r["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let failed: Vec<_> = replies_not_passing(reply);
        assert!(
            failed.is_empty(),
            "{class} bundle fails on OPA: {failed:#?}"
        );

        let out = work
            .levee_std()
            .args(["policy", "test", "--format", "json"])
            .arg(dir)
            .output()
            .expect("levee policy test runs");
        assert_eq!(out.status.code(), Some(0), "{class}");
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        let ours: BTreeMap<(String, String), String> = report["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    (
                        r["file"].as_str().unwrap_or("").to_string(),
                        r["name"].as_str().unwrap_or("").to_string(),
                    ),
                    r["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        assert_eq!(
            opa.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "{class}: OPA and levee policy test ran different tests"
        );
        assert!(ours.values().all(|o| o == "pass"), "{class}: {ours:#?}");
        // As many as the bundle's *_test.rego define.
        let defined: usize = std::fs::read_dir(dir)
            .expect("bundle")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.to_string_lossy().ends_with("_test.rego"))
            .map(|p| {
                policy::runner::test_rules(&std::fs::read_to_string(p).expect("read"))
                    .1
                    .len()
            })
            .sum();
        assert_eq!(opa.len(), defined, "{class}");
        counts.insert(*class, opa.len());
    }
    eprintln!("unit tests per bundle, on OPA and on levee policy test: {counts:?}");
    let public = counts[&levee::model::manifest::Classification::Public];
    let restricted = counts[&levee::model::manifest::Classification::Restricted];
    assert!(public > 100 && restricted > public, "{counts:?}");
}

fn replies_not_passing(reply: &Value) -> Vec<Value> {
    reply["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["outcome"] != "pass")
        .cloned()
        .collect()
}

/// Each policy case and valid manifest gets, from OPA on the bundle `levee sync` writes for it
/// (app.yaml read as `opa eval --input app.yaml` reads it), exactly the findings regorus gives
/// (ids, levels, fields, messages, hints), and `levee check` prints those findings.
#[test]
fn corpus_and_policy_cases_get_the_same_findings_from_opa_as_from_levee_check() {
    let org = corpus_org();
    let work = TestContext::new();
    let mut full = Evaluator::embedded(&org, clock()).expect("compile");
    let mut cases = Vec::new();
    let mut jobs = Vec::new();
    for (i, (path, text, loaded)) in all_manifests().into_iter().enumerate() {
        let doc = doc_of(&text);
        let ours = full.evaluate(&doc).expect("eval");
        let bundle: Value = match &loaded {
            Some(loaded) => {
                let app = work.path().join(format!("app-{i}"));
                policy::write_files(&app, &policy::bundle(&loaded.value, &org)).expect("bundle");
                let dir = app.join(policy::BUNDLE_DIR);
                let mut tuned = Evaluator::from_dir(&dir, clock()).expect("bundle compiles");
                assert_eq!(
                    tuned.evaluate(&doc).expect("eval"),
                    ours,
                    "{}: the tuned bundle decides otherwise",
                    path.display()
                );
                Value::from(dir.display().to_string())
            }
            // `levee sync` writes no bundle for a manifest levee refuses: the rules, with the
            // whole registry.
            None => json!({"modules": policy_modules(), "data": full_data(&org)}),
        };
        jobs.push(json!({"eval": bundle, "now_ns": now_ns(), "inputs": [{"yaml": text}]}));
        cases.push((path, doc, ours, loaded.is_some()));
    }
    assert!(cases.len() >= 55, "{} manifests", cases.len());
    let replies = oracle(jobs);
    let mut mismatches = Vec::new();
    for ((path, doc, ours, _), reply) in cases.iter().zip(&replies) {
        assert!(reply.get("error").is_none(), "{}: {reply}", path.display());
        let result = &reply["results"][0];
        let what = path.display().to_string();
        assert!(
            same_json(&result["input"], doc),
            "{what}: OPA reads app.yaml as {}, levee as {doc}",
            result["input"]
        );
        let theirs = opa_keys(result, &what);
        if theirs != keys(ours) {
            mismatches.push(format!(
                "{what}:\n  regorus: {:?}\n  OPA:     {theirs:?}",
                keys(ours)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // `levee check` (validation, then the same engine) prints those findings, or refuses the
    // manifest as invalid, in which case OPA denies it.
    let out = work
        .levee_std()
        .arg("--org")
        .arg(corpus_org_path())
        .args(["check", "--format", "json", "--today", TODAY])
        .args(cases.iter().map(|(p, ..)| p))
        .output()
        .expect("levee check runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let apps = report["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), cases.len());
    let mut refused = 0;
    for ((path, _, ours, loads), app) in cases.iter().zip(apps) {
        let what = path.display().to_string();
        if app["valid"] == false {
            assert!(
                ours.iter().any(|f| f.level == Level::Deny),
                "{what}: levee refuses it, OPA lets it through"
            );
            // Beyond the manifests levee never loads, only a creation date in the future (a
            // check that needs today's date) makes levee check refuse a manifest.
            assert!(
                !loads || ours.iter().any(|f| f.id == "LIFE-005"),
                "{what} is invalid to levee check: {app}"
            );
            refused += 1;
            continue;
        }
        let printed: Vec<Finding> = app["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| Finding {
                level: if f["level"] == "deny" {
                    Level::Deny
                } else {
                    Level::Warn
                },
                id: f["id"].as_str().unwrap_or("").into(),
                msg: f["msg"].as_str().unwrap_or("").into(),
                hint: f["hint"].as_str().unwrap_or("").into(),
                field: f["field"].as_str().unwrap_or("").into(),
            })
            .collect();
        assert_eq!(keys(&printed), keys(ours), "{what}");
    }
    assert!(refused >= 3, "{refused} manifests refused");
}

/// The METADATA blocks levee reads (rule ids, titles, severities) are the annotations OPA's
/// parser attaches to each rule: every finding of the corpus comes from a rule whose METADATA
/// names its id and level, and every rule fires somewhere in the corpus.
#[test]
fn opa_reads_the_rule_metadata_that_levee_reads() {
    let org = corpus_org();
    let inputs: Vec<Value> = yaml_files("tests/policy/corpus")
        .iter()
        .map(|p| json!({"yaml": std::fs::read_to_string(p).expect("read")}))
        .collect();
    let broken = "package levee.policy\n\n# METADATA\n# title: [unclosed\ndeny contains finding if {\n\tfinding := {\"id\": \"X-001\"}\n}\n";
    let replies = oracle(vec![
        json!({
            "eval": {"modules": policy_modules(), "data": full_data(&org)},
            "now_ns": now_ns(),
            "inputs": inputs,
            "annotations": true,
        }),
        json!({"eval": {"modules": {"broken.rego": broken}, "data": {}}, "inputs": [{"json": {}}]}),
    ]);
    let rules: BTreeMap<String, policy::Rule> = policy::rules()
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let mut fired = BTreeSet::new();
    for result in replies[0]["results"].as_array().expect("results") {
        assert!(result.get("error").is_none(), "{result}");
        for a in result["annotated"].as_array().expect("annotated") {
            let id = a["id"].as_str().expect("id");
            let meta = &a["annotations"];
            let rule = rules
                .get(id)
                .unwrap_or_else(|| panic!("{id} has no METADATA levee reads"));
            assert_eq!(meta["custom"]["id"], id, "{a}");
            assert_eq!(meta["custom"]["severity"], a["level"], "{a}");
            assert_eq!(meta["title"], rule.title.as_str(), "{a}");
            assert_eq!(
                meta.get("description").and_then(Value::as_str),
                rule.description.as_deref(),
                "{a}"
            );
            assert_eq!(a["level"], json!(rule.severity), "{a}");
            fired.insert(id.to_string());
        }
    }
    let all: BTreeSet<String> = rules.keys().cloned().collect();
    assert_eq!(
        fired, all,
        "rules the corpus never fires, or ids without METADATA"
    );
    // OPA does parse the blocks: a malformed one fails to compile.
    let err = replies[1]["error"].as_str().unwrap_or("");
    assert!(err.contains("yaml"), "{}", replies[1]);
}

// -- a seeded generator of mutated manifests ---------------------------------------------------

/// SplitMix64: a small deterministic generator, so a failing run replays from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A value written into the YAML text as-is (`0130`, `yes`), unquoted.
const RAW: &str = "\u{1}raw:";

fn raw(text: &str) -> Value {
    Value::from(format!("{RAW}{text}"))
}

fn day(offset: i64) -> String {
    let today = jiff::civil::date(2026, 3, 1);
    today
        .checked_add(jiff::Span::new().days(offset))
        .expect("date")
        .to_string()
}

/// Sets `value` at the dotted path, making parents objects where needed.
fn set(doc: &mut Value, path: &[&str], value: Value) {
    let mut cur = doc;
    for key in &path[..path.len() - 1] {
        if !cur.get(*key).is_some_and(Value::is_object) {
            cur[*key] = json!({});
        }
        cur = &mut cur[*key];
    }
    cur[path[path.len() - 1]] = value;
}

/// Every JSON pointer below the root.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

/// Removes the value at `pointer` (or, with `null`, sets it to null).
fn remove_at(doc: &mut Value, pointer: &str, null: bool) {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer");
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            if null {
                m.insert(last, Value::Null);
            } else {
                m.shift_remove(&last);
            }
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                if null {
                    a[i] = Value::Null;
                } else {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

const WORDS: &[&str] = &[
    "no",
    "yes",
    "on",
    "off",
    "y",
    "n",
    "NO",
    "Yes",
    "~",
    "null",
    "1_000",
    "0x1F",
    "012",
    "1e3",
    ".5",
    "true",
    "2026-04-01",
];

fn mutate(rng: &mut Rng, doc: &mut Value) {
    let datasets = [
        "payroll",
        "expenses",
        "health",
        "office-hours",
        "mystery",
        "Payroll",
        "payroll ",
        "ｐａｙｒｏｌｌ",
        "payrol",
        "pay-roll",
        "PAYRLOL",
        "pay$roll",
        "Zzz Top",
        "x",
        "big--data",
    ];
    let hosts = [
        "api.acme.corp",
        "hr.internal.acme.corp",
        "*.internal.acme.corp",
        "internal.acme.corp",
        "api.example.com",
        "*.acme.corp",
        "API.ACME.CORP",
        "evilinternal.acme.corp",
    ];
    let texts = [
        "",
        " ",
        "\u{a0}",
        "\u{3000}",
        "people-ops",
        "reporting",
        "CC-1001",
    ];
    match rng.below(19) {
        0 | 1 => {
            let mut all = Vec::new();
            pointers(doc, String::new(), &mut all);
            if !all.is_empty() {
                let p = rng.pick(&all);
                remove_at(doc, &p, false);
            }
        }
        2 => {
            let mut all = Vec::new();
            pointers(doc, String::new(), &mut all);
            if !all.is_empty() {
                let p = rng.pick(&all);
                remove_at(doc, &p, true);
            }
        }
        3 => {
            doc["classification"] =
                Value::from(rng.pick(&["public", "internal", "confidential", "restricted"]))
        }
        4 => set(
            doc,
            &["lifecycle", "tier"],
            Value::from(rng.pick(&["prototype", "sandbox", "production"])),
        ),
        5 => set(
            doc,
            &["runtime", "cpu_limit"],
            rng.pick(&[
                json!(0.1),
                json!(0.25),
                json!(0.5),
                json!(0.501),
                json!(0.57),
                json!(1),
                json!(2),
                json!(4),
                json!(4.001),
                json!("250m"),
                json!("500m"),
                json!("501m"),
                json!("570m"),
                json!("1000m"),
                json!("4000m"),
                json!("4001m"),
                json!("1"),
                json!("0.5"),
                json!(1.1),
            ]),
        ),
        6 => set(
            doc,
            &["runtime", "mem_limit"],
            Value::from(rng.pick(&[
                "128Mi",
                "256Mi",
                "512Mi",
                "513Mi",
                "1Gi",
                "1.5Gi",
                "4Gi",
                "4097Mi",
                "600M",
                "536870912",
                "0.5Gi",
                "1G",
                "2Gi",
            ])),
        ),
        7 => set(
            doc,
            &["runtime", "max_runtime_minutes"],
            rng.pick(&[
                json!(1),
                json!(60),
                json!(120),
                json!(121),
                json!(1000),
                raw("0130"),
                raw("0170"),
            ]),
        ),
        8 => set(
            doc,
            &["runtime", "type"],
            Value::from(rng.pick(&["sandboxed-container", "hardened-container", "wasm"])),
        ),
        9 => {
            let n = rng.below(4);
            let list: Vec<Value> = (0..n).map(|_| Value::from(rng.pick(&hosts))).collect();
            set(doc, &["runtime", "egress"], Value::Array(list));
        }
        10 => {
            let n = rng.below(4);
            let list: Vec<Value> = (0..n)
                .map(|i| {
                    json!({"name": format!("KEY_{i}"), "provider": rng.pick(&["vault", "aws-secrets-manager", "env"])})
                })
                .collect();
            doc["secrets"] = Value::Array(list);
        }
        11 => {
            let n = rng.below(4);
            let list: Vec<Value> = (0..n)
                .map(|_| {
                    let mut a = json!({
                        "dataset": rng.pick(&datasets),
                        "access_level": rng.pick(&["read", "write"]),
                    });
                    match rng.below(4) {
                        0 => {}
                        1 => a["purpose"] = Value::Null,
                        _ => a["purpose"] = Value::from(rng.pick(&texts)),
                    }
                    a
                })
                .collect();
            doc["data_access"] = Value::Array(list);
        }
        12 => {
            doc["sso"] = match rng.below(4) {
                0 => Value::from("oidc"),
                1 => Value::Null,
                _ => {
                    let mut s = json!({"provider": "oidc"});
                    if rng.chance(60) {
                        s["groups"] = json!(["staff"]);
                    }
                    if rng.chance(50) {
                        let scopes = ["openid", "profile", "email", "offline_access", "api:*", "*"];
                        let n = rng.below(4);
                        s["scopes"] =
                            Value::Array((0..n).map(|_| Value::from(rng.pick(&scopes))).collect());
                    }
                    if rng.chance(50) {
                        s["issuer"] = Value::from("https://login.acme.corp");
                    }
                    s
                }
            }
        }
        13 => {
            let offset = rng.pick(&[-400, -100, -30, 0, 1, 2, 10, 26_000]);
            set(doc, &["lifecycle", "created"], Value::from(day(offset)));
        }
        14 => {
            let offset = rng.pick(&[-1, 0, 1, 10, 14, 15, 60, 90, 91, 120, 26_000]);
            set(doc, &["lifecycle", "expires"], Value::from(day(offset)));
        }
        15 => doc["team"] = Value::from(rng.pick(&texts)),
        16 => {
            doc["cost"] = match rng.below(3) {
                0 => Value::Null,
                1 => json!({"estimated_monthly_usd": 10}),
                _ => json!({"center": rng.pick(&texts)}),
            }
        }
        17 => {
            doc["owner"] = Value::from(rng.pick(&[
                "jane@acme.corp",
                "Jane@ACME.corp",
                "x@gmail.com",
                "jane@acme.corp.evil.com",
            ]))
        }
        _ => {
            let word = raw(rng.pick(WORDS));
            match rng.below(4) {
                0 => doc["team"] = word,
                1 => set(doc, &["cost", "center"], word),
                2 => doc["description"] = word,
                _ => set(doc, &["sso", "issuer"], word),
            }
        }
    }
}

/// `s` as a YAML scalar: plain when levee reads it back as this very string, else double-quoted
/// (JSON's escapes are YAML's). Plain words like `no` stay plain: that is how people write them.
fn scalar(s: &str) -> String {
    if let Some(text) = s.strip_prefix(RAW) {
        return text.to_string();
    }
    let plain_ok = !s.is_empty()
        && s.trim() == s
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(char::is_control)
        && levee::load::yaml::parse(&format!("k: {s}\n")).is_ok_and(|d| d.value["k"] == s);
    if plain_ok {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("json string")
    }
}

fn to_yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(c) if !c.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        to_yaml(x, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        to_yaml(x, indent, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", inline(x))),
                }
            }
        }
        Value::Array(a) => {
            for x in a {
                match x {
                    Value::Object(c) if !c.is_empty() => {
                        let mut item = String::new();
                        to_yaml(x, indent + 2, &mut item);
                        out.push_str(&format!("{pad}- {}", &item[indent + 2..]));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", inline(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", inline(other))),
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => scalar(s),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

/// Hundreds of manifests per run, mutated from the valid corpus (fields dropped or nulled,
/// classification, tier, caps, secrets, datasets, egress, dates, scopes, YAML 1.1 words), each
/// written as app.yaml text. Every one levee accepts gets the same findings from regorus (the
/// manifest as levee reads it) and from OPA (the text as `opa eval --input app.yaml` reads it).
/// The seed changes every run; `LEVEE_OPA_SEED=N` replays one.
#[test]
fn regorus_and_opa_agree_on_hundreds_of_mutated_manifests() {
    const CASES: usize = 600;
    let seed = std::env::var("LEVEE_OPA_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(13)
        });
    eprintln!("LEVEE_OPA_SEED={seed}");
    let mut rng = Rng(seed);
    let org = corpus_org();
    let bases: Vec<Value> = all_manifests()
        .into_iter()
        .filter_map(|(_, _, loaded)| loaded.map(|l| l.doc.value))
        .collect();
    let mut regorus = Evaluator::embedded(&org, clock()).expect("compile");
    let mut texts = Vec::new();
    let mut ours = Vec::new();
    let mut invalid = 0;
    for _ in 0..CASES {
        let mut doc = rng.pick(&bases);
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut doc);
        }
        let mut text = String::new();
        to_yaml(&doc, 0, &mut text);
        match levee::load::document::parse_str::<levee::model::manifest::Manifest>(
            Path::new("app.yaml"),
            &text,
        ) {
            Ok(loaded) => {
                let findings = regorus
                    .evaluate(&loaded.doc.value)
                    .expect("regorus evaluates");
                ours.push((loaded.doc.value, findings));
                texts.push(text);
            }
            Err(_) => invalid += 1,
        }
    }
    eprintln!(
        "{} valid manifests compared, {invalid} invalid ones left out",
        texts.len()
    );
    assert!(texts.len() >= 300, "only {} valid manifests", texts.len());
    let replies = oracle(vec![json!({
        "eval": {"modules": policy_modules(), "data": full_data(&org)},
        "now_ns": now_ns(),
        "inputs": texts.iter().map(|t| json!({"yaml": t})).collect::<Vec<_>>(),
    })]);
    let results = replies[0]["results"].as_array().expect("results");
    let mut disagreements = Vec::new();
    let mut ids = BTreeSet::new();
    for ((text, (doc, findings)), result) in texts.iter().zip(&ours).zip(results) {
        let theirs = opa_keys(result, text);
        ids.extend(findings.iter().map(|f| f.id.clone()));
        if !same_json(&result["input"], doc) {
            disagreements.push(format!(
                "--- app.yaml\n{text}--- levee reads {doc}\n--- OPA reads {}",
                result["input"]
            ));
        } else if theirs != keys(findings) {
            disagreements.push(format!(
                "--- app.yaml\n{text}--- regorus: {:#?}\n--- OPA: {theirs:#?}",
                keys(findings)
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "LEVEE_OPA_SEED={seed}: {} of {} manifests judged differently; the first ones:\n{}",
        disagreements.len(),
        texts.len(),
        disagreements
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The mutations reach most rules, so the comparison covers them.
    assert!(ids.len() >= 20, "{ids:?}");
}

/// The guard against rules that read a field without a default: every field of every corpus
/// manifest, removed and then set to null (`key:` with no value), one at a time, judged by both
/// engines (as JSON: what each engine receives once the YAML is read).
#[test]
fn regorus_and_opa_agree_with_each_field_absent_or_null() {
    let org = corpus_org();
    let mut regorus = Evaluator::embedded(&org, clock()).expect("compile");
    let mut inputs = Vec::new();
    let mut ours = Vec::new();
    for path in yaml_files("tests/policy/corpus") {
        let base = doc_of(&std::fs::read_to_string(&path).expect("read"));
        let mut all = Vec::new();
        pointers(&base, String::new(), &mut all);
        for p in all {
            for null in [false, true] {
                let mut doc = base.clone();
                remove_at(&mut doc, &p, null);
                let result = regorus.evaluate(&doc).map_err(|e| e.to_string());
                ours.push((
                    format!(
                        "{} {} {p}",
                        path.display(),
                        if null { "null" } else { "without" }
                    ),
                    result,
                    doc.clone(),
                ));
                inputs.push(json!({"json": doc}));
            }
        }
    }
    assert!(inputs.len() >= 1500, "{} cases", inputs.len());
    let replies = oracle(vec![json!({
        "eval": {"modules": policy_modules(), "data": full_data(&org)},
        "now_ns": now_ns(),
        "inputs": inputs,
    })]);
    let mut disagreements = Vec::new();
    let mut both_fail = 0;
    let valid = |doc: &Value| {
        levee::load::document::parse_str::<levee::model::manifest::Manifest>(
            Path::new("app.yaml"),
            &doc.to_string(),
        )
        .is_ok()
    };
    for ((what, result, doc), theirs) in ours
        .iter()
        .zip(replies[0]["results"].as_array().expect("results"))
    {
        match (result, theirs.get("error")) {
            (Ok(findings), None) => {
                let t = opa_keys(theirs, what);
                if t != keys(findings) {
                    disagreements.push(format!(
                        "{what}:\n  regorus {:?}\n  OPA     {t:?}",
                        keys(findings)
                    ));
                }
            }
            (Err(e), None) => {
                disagreements.push(format!("{what}: regorus fails ({e}), OPA does not"))
            }
            (Ok(_), Some(e)) => {
                disagreements.push(format!("{what}: OPA fails ({e}), regorus does not"))
            }
            // Both raise a type error (a null list item, `startswith(null, ...)`): acceptable
            // only for a manifest levee refuses, which CI's OPA then fails closed on.
            (Err(_), Some(_)) if !valid(doc) => both_fail += 1,
            (Err(e), Some(_)) => disagreements.push(format!(
                "{what}: both engines fail on a valid manifest: {e}"
            )),
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} cases:\n{}",
        disagreements.len(),
        ours.len(),
        disagreements
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "{} cases; {both_fail} of them manifests levee refuses, on which both engines raise an error",
        ours.len()
    );
}

/// Code of a Rego module without its comments.
fn code(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut in_string = false;
            let mut escaped = false;
            for (i, c) in l.char_indices() {
                match c {
                    '\\' if in_string => escaped = !escaped,
                    '"' if !escaped => in_string = !in_string,
                    '#' if !in_string => return &l[..i],
                    _ => escaped = false,
                }
                if c != '\\' {
                    escaped = false;
                }
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn identifiers(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        if c.is_ascii_alphanumeric() || c == '_' {
            if cur.is_empty() {
                start = i;
            }
            cur.push(c);
        } else if !cur.is_empty() {
            let prev = text[..start].chars().next_back();
            if prev != Some('.') && prev != Some('"') {
                out.push((start, std::mem::take(&mut cur)));
            } else {
                cur.clear();
            }
        }
    }
    out
}

/// The static half of the guard: rules read the manifest only through `field` (lib.rego), which
/// turns absent and null values into a default before any call or negation sees them.
#[test]
fn rules_read_the_manifest_only_through_field() {
    let mut uses = Vec::new();
    for (name, text) in policy::modules() {
        let code = code(text);
        for (line_no, line) in code.lines().enumerate() {
            if identifiers(line).iter().any(|(_, w)| w == "input") {
                uses.push(format!("{name}:{}: {}", line_no + 1, line.trim()));
            }
        }
    }
    assert_eq!(
        uses.len(),
        1,
        "a rule reads `input` directly; read the manifest through `field(path, default)`:\n{}",
        uses.join("\n")
    );
    assert!(uses[0].starts_with("lib.rego:") && uses[0].contains("object.get(input, path, null)"));
}

/// Names the policies bind: rules, functions and their parameters, local variables.
fn bound_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let keywords = [
        "package", "import", "default", "if", "else", "contains", "some", "every", "in", "not",
        "with", "as", "true", "false", "null",
    ];
    for line in code(text).lines() {
        let words = identifiers(line);
        if !line.starts_with(['\t', ' ', '}', ']', ')']) {
            // A rule or function head: its name, and a function's parameters.
            let head: Vec<&String> = words
                .iter()
                .map(|(_, w)| w)
                .filter(|w| !keywords.contains(&w.as_str()))
                .collect();
            if let Some(first) = head.first() {
                out.insert((*first).clone());
            }
            if let Some(open) = line.find('(')
                && line.starts_with(|c: char| c.is_ascii_lowercase())
                && line[..open]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                let close = line[open..].find(')').map_or(line.len(), |i| open + i);
                for (_, w) in identifiers(&line[open + 1..close]) {
                    out.insert(w);
                }
            }
        }
        for (i, (pos, w)) in words.iter().enumerate() {
            if line[pos + w.len()..].trim_start().starts_with(":=")
                && !keywords.contains(&w.as_str())
            {
                out.insert(w.clone());
            }
            if (w == "some" || w == "every") && i + 1 < words.len() {
                for (_, v) in words[i + 1..].iter().take_while(|(_, v)| v != "in").take(2) {
                    out.insert(v.clone());
                }
            }
        }
    }
    out.retain(|w| !w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w != "_");
    out
}

/// No rule, function, parameter or variable takes the name of an OPA built-in (`max`), as
/// Regal's `rule-shadows-builtin` and `var-shadows-builtin` require; OPA says which names are
/// built-ins.
#[test]
fn no_name_in_the_policies_shadows_an_opa_builtin() {
    let mut names = BTreeSet::new();
    for (_, text) in policy::modules().into_iter().chain(policy::test_modules()) {
        names.extend(bound_names(text));
    }
    for expected in [
        "field",
        "finding",
        "deny_ids",
        "ceiling",
        "tier",
        "lookalikes",
    ] {
        assert!(
            names.contains(expected),
            "{expected} not found in {names:?}"
        );
    }
    let replies = oracle(vec![
        json!({"builtins": names.iter().collect::<Vec<_>>()}),
        json!({"builtins": ["max", "count", "tier"]}),
    ]);
    assert_eq!(
        replies[0]["builtins"],
        json!([]),
        "names that shadow OPA built-ins"
    );
    // The probe recognises built-ins, so the check above can fail.
    assert_eq!(replies[1]["builtins"], json!(["max", "count"]));
}

/// The three bypasses of issue 13, and the two rules OPA did not fire on absent fields: refused by
/// `levee validate` / `levee check` and denied by OPA on the bundle CI evaluates.
#[test]
fn bypasses_are_refused_by_levee_and_denied_by_opa() {
    let org = corpus_org();
    let base = "name: pay-viewer\nowner: jane@acme.corp\nteam: people-ops\nclassification: confidential\n\
                sso: {provider: oidc, groups: [hr], issuer: 'https://login.acme.corp'}\n\
                runtime: {type: hardened-container}\ncost: {center: CC-1}\n";
    let access = |dataset: &str| {
        format!(
            "data_access:\n  - dataset: {}\n    access_level: read\n    purpose: pay people\n",
            serde_json::to_string(dataset).expect("json")
        )
    };
    let sandbox = "lifecycle:\n  tier: sandbox\n  created: 2026-02-01\n";
    // (manifest, what levee validate says (None: valid), what levee check denies, what OPA denies)
    type Case<'a> = (String, Option<&'a str>, &'a [&'a str], &'a [&'a str]);
    let cases: Vec<Case> = vec![
        (
            format!("{base}{}{sandbox}", access("Payroll")),
            Some("did you mean `payroll`?"),
            &[],
            &["DATA-008"],
        ),
        (
            format!("{base}{}{sandbox}", access("payroll ")),
            Some("did you mean `payroll`?"),
            &[],
            &["DATA-008"],
        ),
        (
            format!("{base}{}{sandbox}", access("ｐａｙｒｏｌｌ")),
            Some("did you mean `payroll`?"),
            &[],
            &["DATA-008"],
        ),
        (
            format!("{base}{}{sandbox}", access("payrol")),
            None,
            &["DATA-008"],
            &["DATA-008"],
        ),
        (
            format!("{base}{}{sandbox}", access("mystery")),
            None,
            &["DATA-001", "DATA-002"],
            &["DATA-001", "DATA-002"],
        ),
        (
            format!(
                "{}lifecycle:\n  tier: prototype\n  created: 2099-01-01\n  expires: 2099-03-31\n",
                base.replace("confidential", "internal")
                    .replace("hardened-container", "sandboxed-container")
            ),
            Some("is in the future"),
            &[],
            &["LIFE-002", "LIFE-005"],
        ),
        (
            format!(
                "{}{}lifecycle:\n  tier: production\n",
                base.replace("team: people-ops\n", ""),
                access("payroll").replace("    purpose: pay people\n", "")
            ),
            None,
            &["DATA-003", "OWN-002"],
            &["DATA-003", "OWN-002"],
        ),
    ];
    let work = TestContext::new();
    let mut jobs = Vec::new();
    for (i, (text, validate, check_denies, _)) in cases.iter().enumerate() {
        let app = work.path().join(format!("app-{i}"));
        std::fs::create_dir_all(&app).expect("dir");
        std::fs::write(app.join("app.yaml"), text).expect("write");
        let out = work
            .levee_std()
            .arg("--org")
            .arg(corpus_org_path())
            .arg("validate")
            .arg(app.join("app.yaml"))
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        match validate {
            Some(said) => {
                assert_eq!(out.status.code(), Some(1), "{text}\n{stdout}");
                assert!(stdout.contains(said), "{stdout}");
                assert!(stdout.contains("app.yaml:"), "not located: {stdout}");
            }
            None => assert_eq!(out.status.code(), Some(0), "{text}\n{stdout}"),
        }
        let out = work
            .levee_std()
            .arg("--org")
            .arg(corpus_org_path())
            .args(["check", "--format", "json"])
            .arg(app.join("app.yaml"))
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "levee check lets it through:\n{text}"
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("json");
        let denied: BTreeSet<&str> = report["apps"][0]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["level"] == "deny")
            .filter_map(|f| f["id"].as_str())
            .collect();
        assert_eq!(denied, check_denies.iter().copied().collect(), "{text}");
        // CI's view: OPA on app.yaml, with the rules and the whole registry, and, for a manifest
        // levee accepts, with the bundle `levee sync` writes for it. (For one levee refuses, sync
        // writes nothing; a stale bundle whose data.json lacks the dataset denies too: DATA-007.)
        jobs.push(json!({
            "eval": {"modules": policy_modules(), "data": full_data(&org)},
            "now_ns": now_ns(),
            "inputs": [{"yaml": text}],
        }));
        if validate.is_none() {
            let loaded = levee::model::manifest::load(&app).expect("valid");
            policy::write_files(&app, &policy::bundle(&loaded.value, &org)).expect("bundle");
            jobs.push(json!({
                "eval": app.join(policy::BUNDLE_DIR).display().to_string(),
                "now_ns": now_ns(),
                "inputs": [{"yaml": text}],
            }));
        }
    }
    let replies = oracle(jobs);
    let mut replies = replies.iter();
    for (text, validate, _, opa_denies) in &cases {
        let runs = if validate.is_none() { 2 } else { 1 };
        for reply in replies.by_ref().take(runs) {
            let denied: BTreeSet<String> = opa_keys(&reply["results"][0], text)
                .into_iter()
                .filter(|k| k.0 == "deny")
                .map(|k| k.1)
                .collect();
            let want: BTreeSet<String> = opa_denies.iter().map(|s| s.to_string()).collect();
            assert_eq!(denied, want, "OPA on:\n{text}");
        }
    }
}
