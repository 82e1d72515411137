//! The recap shown before anything is written: every answer in the questions' own words, what
//! the template adds, and the files the app will have (managed files included).

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::manifest::Classification;
use crate::scaffold::WritePlan;

use super::{Resolved, Setup, Spec, Step, display};

/// A question's name in the recap; list items are numbered (`Dataset 2`).
pub(crate) fn label(spec: &Spec, item: Option<usize>) -> String {
    let head = super::QUESTIONS
        .iter()
        .find(|s| s.list().is_some() && s.list() == spec.list());
    match (item, head) {
        (Some(i), Some(h)) if std::ptr::eq(h, spec) => format!("{} {}", spec.label, i + 1),
        (Some(i), Some(h)) => format!("{} {} {}", h.label, i + 1, spec.label),
        _ => spec.label.to_string(),
    }
}

/// A step's name in the recap: a setting's is its own (`DOWNSTREAM_URL`).
pub(crate) fn step_label(s: &Step) -> String {
    if s.spec.field == super::questions::SETTING_FIELD {
        let name = s.pointer.rsplit('/').next().unwrap_or_default();
        return crate::load::field_path::unescape(name);
    }
    label(s.spec, s.item)
}

pub(crate) fn recap(steps: &[Step], answers: &Value, r: &Resolved, setup: &Setup<'_>) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    for s in steps {
        let value = answers.pointer(&s.pointer).filter(|v| !v.is_null());
        match s.head() {
            // One line per list item: its answers joined; nothing for "another?".
            Some((list, i)) => {
                if value.is_none() {
                    continue;
                }
                let parts: Vec<String> = steps
                    .iter()
                    .filter(|x| x.item == Some(i) && x.spec.list() == Some(list))
                    .filter_map(|x| answers.pointer(&x.pointer).filter(|v| !v.is_null()))
                    .map(display)
                    .collect();
                rows.push((label(s.spec, s.item), parts.join(" · ")));
            }
            None if s.spec.list().is_some() => {}
            None => {
                let shown = match value {
                    None => s.spec.unset.to_string(),
                    Some(v) if s.spec.id == "classification" => {
                        let text = display(v);
                        match text.parse::<Classification>() {
                            Ok(c) => format!("{text}: {}", c.explain()),
                            Err(_) => text,
                        }
                    }
                    Some(v) => display(v),
                };
                rows.push((step_label(s), shown));
            }
        }
    }
    let m = &r.plan.manifest;
    let mut added = Vec::new();
    for s in &m.secrets {
        if !r.manifest.secrets.iter().any(|x| x.name == s.name) {
            added.push(format!("secret {} in {}", s.name, s.provider));
        }
    }
    for g in m.sso_groups() {
        if !r.manifest.sso_groups().contains(g) {
            added.push(format!("sign-in group {g}"));
        }
    }
    if !added.is_empty() {
        rows.push((
            "The starter adds".into(),
            format!("{} (it cannot run without)", added.join("; ")),
        ));
    }
    if let Some(kind) = m.runtime.as_ref().and_then(|rt| rt.kind) {
        rows.push((
            "Runs in".into(),
            format!("a {kind}, with the org's limits for a {}", m.lifecycle.tier),
        ));
    }
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Here is the app. Nothing is written until you confirm.\n\n");
    for (l, v) in &rows {
        let _ = writeln!(out, "  {l:<width$}  {v}");
    }
    let target = setup
        .target
        .map_or_else(|| format!("./{}", m.name), |t| t.display().to_string());
    let _ = writeln!(
        out,
        "\nlevee will write {target}/ from the template {} ({} {}):",
        r.template_id, setup.pack.meta.name, setup.pack.version
    );
    for (what, detail) in file_rows(&r.plan) {
        let _ = writeln!(out, "  {what:<18} {detail}");
    }
    out
}

/// What a plan writes, grouped for a person: the manifest, the starter app, and each kind of
/// managed file (`levee new -v` lists every file instead).
pub fn file_rows(plan: &WritePlan) -> Vec<(String, String)> {
    let m = &plan.manifest;
    let count = |prefix: &str| {
        plan.managed
            .iter()
            .filter(|p| p.starts_with(prefix))
            .count()
    };
    let pipeline: Vec<&str> = plan
        .managed
        .iter()
        .map(String::as_str)
        .filter(|p| {
            p.ends_with("levee.yml") || p.ends_with(".gitlab-ci.yml") || p.ends_with("CODEOWNERS")
        })
        .collect();
    let mut rows = vec![
        (
            "app.yaml".to_string(),
            "the manifest: yours to edit; then run `levee sync`".to_string(),
        ),
        (
            "starter app".to_string(),
            format!(
                "{} files: the {} {} code, tests, Dockerfile, README",
                plan.starter.len(),
                m.kind.as_ref().map_or("app".into(), |k| k.to_string()),
                m.stack.as_ref().map_or(String::new(), |s| s.to_string())
            ),
        ),
        ("pipeline".to_string(), pipeline.join(", ")),
        (
            "policy/".to_string(),
            format!(
                "{} files: the policy bundle CI checks with OPA",
                count("policy/")
            ),
        ),
        (
            "deploy/".to_string(),
            format!(
                "{} files: the runtime sandbox (Kubernetes, Kyverno)",
                count("deploy/")
            ),
        ),
        (
            "catalog-info.yaml".to_string(),
            "the app's entry for the developer portal".to_string(),
        ),
        (
            ".levee/".to_string(),
            "levee's record, for upgrades and drift checks".to_string(),
        ),
    ];
    rows.retain(|(what, detail)| {
        !detail.is_empty()
            && (what != "catalog-info.yaml" || plan.managed.iter().any(|p| p == what))
    });
    rows
}
