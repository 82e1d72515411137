//! What `levee check` found for each app, and the SARIF 2.1.0 log of it (GitHub code scanning):
//! one run, levee's rules, one result per finding or manifest problem.

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use crate::generate::policy::{self, Finding, Level};
use crate::load::diag::Diagnostic;

/// One app's outcome of `levee check`.
#[derive(Debug, Serialize)]
pub struct AppReport {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Diagnostic>,
    pub findings: Vec<Located>,
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct Located {
    #[serde(flatten)]
    pub finding: Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// SARIF 2.1.0: one run, levee's rules, one result per finding or manifest problem.
pub fn sarif(reports: &[AppReport]) -> Value {
    let mut rules: Vec<Value> = policy::rules()
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id.replace('-', ""),
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.description.as_deref().unwrap_or(&r.title)},
                "defaultConfiguration": {"level": match r.severity {
                    Level::Deny => "error",
                    Level::Warn => "warning",
                }},
                "properties": {"module": r.module},
            })
        })
        .collect();
    rules.push(json!({
        "id": "MANIFEST",
        "name": "InvalidManifest",
        "shortDescription": {"text": "The manifest is invalid (schema or meaning)."},
        "defaultConfiguration": {"level": "error"},
    }));
    let location = |path: &str, line: Option<usize>, col: Option<usize>| {
        let mut phys = json!({"artifactLocation": {"uri": uri(path)}});
        if let Some(l) = line {
            let mut region = json!({"startLine": l.max(1)});
            if let Some(c) = col {
                region["startColumn"] = json!(c.max(1));
            }
            phys["region"] = region;
        }
        json!([{"physicalLocation": phys}])
    };
    let mut results = Vec::new();
    for r in reports {
        for d in &r.problems {
            let mut text = d.message.clone();
            if let Some(h) = &d.hint {
                text.push_str(&format!(" (hint: {h})"));
            }
            results.push(json!({
                "ruleId": "MANIFEST",
                "level": "error",
                "message": {"text": text},
                "locations": location(&r.path, d.line, d.column),
            }));
        }
        if let Some(e) = &r.error {
            results.push(json!({
                "ruleId": "MANIFEST",
                "level": "error",
                "message": {"text": e},
                "locations": location(&r.path, None, None),
            }));
        }
        for f in &r.findings {
            results.push(json!({
                "ruleId": f.finding.id,
                "level": match f.finding.level { Level::Deny => "error", Level::Warn => "warning" },
                "message": {"text": format!("{} (hint: {})", f.finding.msg, f.finding.hint)},
                "locations": location(&r.path, f.line, f.column),
                "properties": {"field": f.finding.field, "app": r.name},
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "levee",
                "version": crate::VERSION,
                "informationUri": "https://github.com/levee-dev/levee",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// A relative path as a URI reference (forward slashes, no `./`).
fn uri(path: &str) -> String {
    let p = Path::new(path);
    let s = p.to_string_lossy().replace('\\', "/");
    let s = s.trim_start_matches("./");
    s.replace(' ', "%20")
}
