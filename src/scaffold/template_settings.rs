//! The settings an app's template declares (`template.yaml` `settings:`), after the app was made:
//! `app.yaml` must keep setting the required ones, or the app refuses to start when deployed.
//!
//! Where the declarations come from: the `.levee/render.json` record, `template_settings`, which
//! `levee new` writes from the template it rendered and `levee upgrade` rewrites from the version
//! it brings in. Of the places that know them it is the one always there, offline, for every
//! app: it travels in the app's repository (so CI has it), it names the declarations of exactly
//! the template version the app was rendered from, and it needs no pack. The built-in pack knows
//! only built-in templates, and only its own versions' declarations; a directory pack may not be
//! on the machine (CI) and holds one version; a git pack needs the network.
//!
//! A record written before levee kept `template_settings` has none: such an app is not checked
//! until its next `levee upgrade` writes them. A damaged record (not JSON, a declaration that
//! breaks the rules of `template.yaml`) is a problem located in the record, never skipped.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::load::diag::Diagnostic;
use crate::load::document::{LoadError, Loaded};
use crate::load::yaml::Document;
use crate::model::manifest::{self, Manifest};
use crate::scaffold::pack::SettingSpec;

/// The key of `.levee/render.json` that holds the declarations.
pub const RECORD_KEY: &str = "template_settings";

/// What the record says the app's template declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The template's id (`webhook-node`), for messages.
    pub template: String,
    /// The template version the declarations are from.
    pub version: String,
    pub settings: IndexMap<String, SettingSpec>,
}

/// Where an app's record is.
pub(crate) fn record_path(app_dir: &Path) -> PathBuf {
    app_dir.join(crate::support::record::RENDER)
}

/// The declarations recorded for the app in `app_dir`: `Ok(None)` when the app has no record
/// (a hand-written app.yaml) or a record without them (written by an older levee); `Err` with
/// what is wrong when the record cannot be read or is damaged.
pub(crate) fn read(app_dir: &Path) -> Result<Option<Declared>, String> {
    let Some(json) = crate::support::record::read_render(app_dir)? else {
        return Ok(None);
    };
    let Some(declared) = json.get(RECORD_KEY) else {
        return Ok(None);
    };
    let settings: IndexMap<String, SettingSpec> = serde_json::from_value(declared.clone())
        .map_err(|e| format!("`{RECORD_KEY}` is not a map of declared settings: {e}"))?;
    if let Some(problem) = crate::scaffold::pack::declarations_problem(&settings) {
        return Err(format!("`{RECORD_KEY}`: {problem}"));
    }
    let text = |k: &str| {
        json["template"][k]
            .as_str()
            .map(|s| s.chars().filter(|c| !c.is_control()).take(100).collect())
            .unwrap_or_else(|| "?".into())
    };
    Ok(Some(Declared {
        template: text("id"),
        version: text("version"),
        settings,
    }))
}

/// The required settings the declarations name that `doc` (an `app.yaml`) does not set, each
/// located at `settings:` (else at `template:`), with the declaration's description and example
/// as the hint.
pub(crate) fn unmet(path: &Path, doc: &Document, declared: &Declared) -> Vec<Diagnostic> {
    let set = doc.value.get("settings").and_then(|s| s.as_object());
    let mut out = Vec::new();
    for (name, spec) in &declared.settings {
        if !spec.required || set.is_some_and(|s| s.contains_key(name)) {
            continue;
        }
        let field = format!("/settings/{}", crate::load::field_path::escape(name));
        // At `settings:`, else at `template:` (what needs it), else at the top of the file.
        let pos = ["/settings", "/template"]
            .into_iter()
            .filter(|p| doc.value.pointer(p).is_some())
            .find_map(|p| doc.spans.key_pos(p))
            .unwrap_or(crate::load::yaml::Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            });
        let mut d = Diagnostic::at(
            path,
            Some(pos),
            format!(
                "the template {} needs the setting `{name}`, which app.yaml does not set: deployed, the app refuses to start without it",
                declared.template
            ),
        )
        .field(&field);
        let example = spec.example.as_deref().unwrap_or("<value>");
        d = d.hint(format!(
            "add it under `settings:`, like `{name}: {example}` ({})",
            spec.description.trim_end_matches('.')
        ));
        out.push(d);
    }
    out
}

/// The problems of the record itself, as a diagnostic naming it.
fn damaged(app_dir: &Path, why: &str) -> Diagnostic {
    let path = record_path(app_dir);
    Diagnostic::at(
        &path,
        None,
        format!(
            "levee's record of the app's template is damaged ({why}), so the settings the template needs cannot be checked"
        ),
    )
    .hint(format!(
        "restore it from version control (`git checkout -- {}`), or run `levee upgrade` to write it again",
        path.display()
    ))
}

/// The problems [`load`] adds for a loaded manifest: the required settings it does not set, or
/// the damaged record. Nothing for a file not named `app.yaml` or an app without a record.
pub(crate) fn problems(loaded: &Loaded<Manifest>) -> Vec<Diagnostic> {
    let path = &loaded.source.path;
    if path.file_name().and_then(|n| n.to_str()) != Some(manifest::FILE_NAME) {
        return Vec::new();
    }
    let app_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match read(&app_dir) {
        Ok(None) => Vec::new(),
        Ok(Some(declared)) => unmet(path, &loaded.doc, &declared),
        Err(why) => vec![damaged(&app_dir, &why)],
    }
}

/// Reads and checks an app's manifest as [`manifest::load`] does, and then, for an `app.yaml`
/// with a record beside it, that it sets every setting its template requires. All problems come
/// together, as one invalid file.
pub(crate) fn load(path: &Path) -> Result<Loaded<Manifest>, LoadError> {
    load_with(path, crate::load::document::Context::default())
}

/// [`load`], with the context the manifest's checks may consult (today, the org's dataset names).
pub(crate) fn load_with(
    path: &Path,
    context: crate::load::document::Context<'_>,
) -> Result<Loaded<Manifest>, LoadError> {
    let file = manifest::locate(path);
    let loaded = manifest::load_with(path, context);
    let is_app = file.file_name().and_then(|n| n.to_str()) == Some(manifest::FILE_NAME);
    if !is_app {
        return loaded;
    }
    let app_dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let extra = |doc: &Document, source_path: &Path| {
        let mut out = match read(&app_dir) {
            Ok(None) => Vec::new(),
            Ok(Some(declared)) => unmet(source_path, doc, &declared),
            // The record as a whole is damaged: said once.
            Err(why) => return vec![damaged(&app_dir, &why)],
        };
        // The kinds and stacks the app's pack declared, kept in the same record.
        if let Err(why) = crate::load::declarations::for_app(&app_dir) {
            out.push(
                Diagnostic::at(
                    &record_path(&app_dir),
                    None,
                    format!(
                        "levee's record of the app's template pack is damaged ({why}), so the kinds and stacks the pack declares cannot be read"
                    ),
                )
                .hint(format!(
                    "restore it from version control (`git checkout -- {}`), or run `levee upgrade` to write it again",
                    record_path(&app_dir).display()
                )),
            );
        }
        out
    };
    match loaded {
        Ok(l) => {
            let diags = extra(&l.doc, &l.source.path);
            if diags.is_empty() {
                Ok(l)
            } else {
                Err(LoadError::Invalid {
                    file: l.source,
                    diags,
                })
            }
        }
        Err(LoadError::Invalid { file, mut diags }) => {
            // The manifest has other problems: these join them when its YAML can be read.
            if let Ok(doc) = crate::load::yaml::parse(&file.text) {
                diags.extend(extra(&doc, &file.path));
                diags.sort_by_key(|d| (d.line.unwrap_or(0), d.column.unwrap_or(0)));
            }
            Err(LoadError::Invalid { file, diags })
        }
        Err(e) => Err(e),
    }
}
