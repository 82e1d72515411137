//! An `opa test`-like runner on regorus: every `test_*` rule of every `*_test.rego` must be true.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{PolicyError, new_engine};

/// The Rego modules and data of a bundle directory.
#[derive(Debug, Default)]
pub struct Loaded {
    /// (path relative to the bundle root, text), sorted by path.
    pub modules: Vec<(String, String)>,
    /// Every `data.json`, merged at its directory's path (OPA bundle layout).
    pub data: Value,
}

/// Reads `*.rego` and `data.json` files under `dir`.
pub fn load_dir(dir: &Path) -> Result<Loaded, PolicyError> {
    let mut out = Loaded {
        data: Value::Object(serde_json::Map::new()),
        ..Loaded::default()
    };
    let mut stack = vec![dir.to_path_buf()];
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PolicyError::Io { path, source }
    };
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(io(&d))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let rel_s = rel.to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                stack.push(path);
            } else if rel_s.ends_with(".rego") {
                let text = read_text(&path).map_err(io(&path))?;
                out.modules.push((rel_s, text));
            } else if path.file_name().is_some_and(|n| n == "data.json") {
                let text = read_text(&path).map_err(io(&path))?;
                let value: Value =
                    serde_json::from_str(&text).map_err(|source| PolicyError::Json {
                        path: path.clone(),
                        source,
                    })?;
                let mut target = &mut out.data;
                for seg in rel.parent().into_iter().flat_map(Path::components) {
                    let key = seg.as_os_str().to_string_lossy().into_owned();
                    target = target
                        .as_object_mut()
                        .map(|o| {
                            o.entry(key)
                                .or_insert_with(|| Value::Object(Default::default()))
                        })
                        .ok_or_else(|| PolicyError::Compile("data.json paths overlap".into()))?;
                }
                merge(target, value);
            }
        }
    }
    out.modules.sort();
    Ok(out)
}

fn merge(target: &mut Value, value: Value) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, v) in v {
                merge(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, v) => *t = v,
    }
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Pass,
    /// The rule was false or undefined.
    Fail,
    /// Evaluation raised an error.
    Error(String),
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub file: String,
    pub package: String,
    pub name: String,
    pub outcome: TestOutcome,
    #[serde(serialize_with = "micros")]
    pub duration: Duration,
}

fn micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_micros())
}

/// Policy lines no test reached, by file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub files: Vec<FileCoverage>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileCoverage {
    pub file: String,
    pub covered: usize,
    pub not_covered: Vec<u32>,
}

/// Every test's result, and coverage when asked.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub results: Vec<TestResult>,
    pub coverage: Option<Coverage>,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == TestOutcome::Pass)
            .count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

/// The `test_*` rules a module defines, with its package.
pub fn test_rules(text: &str) -> (String, Vec<String>) {
    let mut package = String::new();
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("package ") {
            package = p.trim().to_string();
        }
        if line.starts_with("test_") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    (package, names)
}

/// Runs every `test_*` rule of the `*_test.rego` modules among `modules`, with `data`.
/// Compiles once; with `coverage`, reports the policy (non-test) lines no test reached.
pub fn run_tests(
    modules: &[(String, String)],
    data: Value,
    coverage: bool,
) -> Result<TestReport, PolicyError> {
    let mut engine = new_engine()?;
    for (name, text) in modules {
        engine
            .add_policy(name.clone(), text.clone())
            .map_err(|e| PolicyError::Compile(e.to_string()))?;
    }
    engine
        .add_data(regorus::Value::from(data))
        .map_err(|e| PolicyError::Compile(e.to_string()))?;
    engine.set_enable_coverage(coverage);
    let base = engine;
    let mut reached: BTreeMap<String, (BTreeSet<u32>, BTreeSet<u32>)> = BTreeMap::new();
    let mut results = Vec::new();
    for (file, text) in modules.iter().filter(|(n, _)| n.ends_with("_test.rego")) {
        let (package, names) = test_rules(text);
        for name in names {
            let start = Instant::now();
            // A fresh copy of the compiled engine per test: no cached value crosses tests.
            let mut engine = base.clone();
            let outcome = match engine.eval_rule(format!("data.{package}.{name}")) {
                Ok(v) if v == regorus::Value::from(true) => TestOutcome::Pass,
                Ok(_) => TestOutcome::Fail,
                Err(e) => TestOutcome::Error(e.to_string()),
            };
            results.push(TestResult {
                file: file.clone(),
                package: package.clone(),
                name,
                outcome,
                duration: start.elapsed(),
            });
            if coverage {
                merge_coverage(&mut reached, &engine)?;
            }
        }
    }
    let coverage = coverage.then(|| Coverage {
        files: reached
            .into_iter()
            .filter(|(path, _)| !path.ends_with("_test.rego"))
            .map(|(file, (covered, seen))| FileCoverage {
                file,
                covered: covered.len(),
                not_covered: seen.difference(&covered).copied().collect(),
            })
            .collect(),
    });
    Ok(TestReport { results, coverage })
}

/// Adds one engine's coverage to the union over all tests: (lines reached, lines seen).
fn merge_coverage(
    into: &mut BTreeMap<String, (BTreeSet<u32>, BTreeSet<u32>)>,
    engine: &regorus::Engine,
) -> Result<(), PolicyError> {
    let report = engine
        .get_coverage_report()
        .map_err(|e| PolicyError::Eval(e.to_string()))?;
    for f in report.files {
        let entry = into.entry(f.path).or_default();
        entry.1.extend(f.covered.iter().chain(f.not_covered.iter()));
        entry.0.extend(f.covered);
    }
    Ok(())
}

/// The largest policy file read (a module or `data.json`).
const MAX_POLICY_FILE_BYTES: u64 = 16 << 20;

/// Reads a bundle file: a regular file, at most [`MAX_POLICY_FILE_BYTES`], UTF-8.
fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(crate::support::input::read(path, MAX_POLICY_FILE_BYTES)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}
