//! Scaffolding a new app: manifest + template -> a plan of files -> written atomically.
//!
//! The plan holds `app.yaml` (rendered from levee's own template, `templates/_levee/`), the
//! starter files rendered from the pack, the managed files (see [`managed_files`]) and the
//! `.levee/` record. [`write`] puts it into a temporary directory next to the target and renames
//! it into place only when every file is written, so a failure leaves nothing behind.

pub mod pack;
pub mod render;
pub mod template_settings;
pub mod wizard;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use minijinja::value::Value;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::load::document::{self, LoadError};
use crate::model::manifest::{self, Date, Manifest, SecretProvider, TemplateRef};
use crate::model::org::Org;
use crate::scaffold::pack::{Pack, Template};
use crate::scaffold::render::{OutFile, RenderError};
use crate::support::hash::sha256_hex;
use crate::support::record;

/// levee's own template for `app.yaml` (content, not Rust string building).
const APP_YAML: &str = include_str!("../../templates/_levee/app.yaml.jinja");

/// Why scaffolding failed.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Pack(#[from] crate::scaffold::pack::PackError),
    #[error(transparent)]
    Managed(#[from] crate::generate::managed::ManagedError),
    #[error("the generated app.yaml is not valid:\n{0}")]
    Manifest(String),
    #[error("the template `{template}` contains `{path}`, which levee writes itself")]
    Reserved { template: String, path: String },
    #[error("{} is not empty; levee new only writes into a new or empty directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("{} exists and is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Today's date (see [`crate::support::clock::today`]).
pub(crate) fn today() -> Date {
    crate::support::clock::today()
}

/// The manifest as templates see it (`app`): every optional field present, null or empty,
/// nested objects (`sso`, `runtime`, `lifecycle`, `cost`, `template`) always objects.
pub(crate) fn app_context(m: &Manifest) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_else(|_| json!({}));
    let skeleton = json!({
        "name": null, "description": null, "owner": null, "team": null, "kind": null,
        "stack": null, "classification": null,
        "sso": {"provider": null, "issuer": null, "groups": [], "scopes": []},
        "runtime": {"type": null, "cpu_limit": null, "mem_limit": null,
                    "max_runtime_minutes": null, "egress": []},
        "secrets": [], "settings": {}, "data_access": [],
        "lifecycle": {"tier": null, "created": null, "expires": null},
        "cost": {"center": null, "estimated_monthly_usd": null},
        "ci": null,
        "template": {"id": null, "version": null, "source": null},
    });
    fill(&mut v, &skeleton);
    for list in ["secrets", "data_access"] {
        if let Some(serde_json::Value::Array(items)) = v.get_mut(list) {
            let shape = if list == "secrets" {
                json!({"name": null, "provider": null, "path": null})
            } else {
                json!({"dataset": null, "access_level": null, "purpose": null})
            };
            for item in items {
                fill(item, &shape);
            }
        }
    }
    v
}

fn fill(v: &mut serde_json::Value, skeleton: &serde_json::Value) {
    if let (serde_json::Value::Object(map), serde_json::Value::Object(sk)) = (v, skeleton) {
        for (k, default) in sk {
            let slot = map.entry(k.clone()).or_insert(serde_json::Value::Null);
            if slot.is_null() && !default.is_null() {
                *slot = default.clone();
            } else {
                fill(slot, default);
            }
        }
    }
}

/// The full render context: `app`, `org`, `levee`.
pub fn context(m: &Manifest, org: &Org) -> serde_json::Value {
    json!({
        "app": app_context(m),
        "org": serde_json::to_value(org).unwrap_or_else(|_| json!({})),
        "levee": {"version": crate::VERSION},
    })
}

/// Renders `app.yaml` from levee's template, and checks it as `levee validate` would; the
/// result parses back to `m`.
pub(crate) fn render_app_yaml(m: &Manifest, org: &Org) -> Result<String, ScaffoldError> {
    let mut ctx = context(m, org);
    ctx["schema_comment"] = json!(manifest::SCHEMA_COMMENT);
    // The kinds the app's pack declares, as a sentence ("dashboard, form or webhook").
    let kinds = m.declared.get().kind_names();
    ctx["kind_names"] = json!(match kinds.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => kinds.join(""),
    });
    // In the manifest's order (a template's mapping would be iterated sorted).
    ctx["settings"] = json!(
        m.settings
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect::<Vec<_>>()
    );
    let mut text = Vec::new();
    crate::generate::templates::Starter::get()
        .render_to(
            "app.yaml",
            APP_YAML,
            Value::from(minijinja::value::Serde(&ctx)),
            &mut text,
        )
        .map_err(|e| RenderError::Template {
            layer: "_levee".into(),
            file: "app.yaml.jinja".into(),
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&text);
    let text = squeeze_blank_lines(&text);
    let context = document::Context {
        declared: m.declared.0.as_deref(),
        ..Default::default()
    };
    match document::parse_str_with::<Manifest>(Path::new(manifest::FILE_NAME), &text, context) {
        Ok(loaded) if loaded.value == *m => Ok(text),
        Ok(loaded) => Err(ScaffoldError::Manifest(format!(
            "it reads back differently (a levee bug):\nwritten: {m:?}\nread:    {:?}",
            loaded.value
        ))),
        Err(LoadError::Invalid { file, diags }) => Err(ScaffoldError::Manifest(
            crate::load::diag::render(&diags, Some(&file.text), false),
        )),
        Err(e) => Err(ScaffoldError::Manifest(e.to_string())),
    }
}

/// Collapses runs of blank lines left by conditional sections into one.
fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The managed files of an app: pipeline, policy bundle, catalog entry, CODEOWNERS, deploy.
///
/// The same generators `levee sync` runs ([`crate::generate::managed::files`]), so a new app starts in sync.
pub(crate) fn managed_files(
    manifest: &Manifest,
    org: &Org,
) -> Result<Vec<(PathBuf, String)>, crate::generate::managed::ManagedError> {
    Ok(crate::generate::managed::files(manifest, org)?
        .into_iter()
        .map(|f| (PathBuf::from(f.path), f.content))
        .collect())
}

/// The store for the secrets levee adds itself (the template's `SESSION_SECRET`...): the store
/// the user chose for their own secrets (the first that is not `env`, else `env`), else the first
/// store the org allows for the classification that is not `env`, and `env` only where nothing
/// else is allowed (and the tier may read secrets from the environment). `None`: no store fits.
pub(crate) fn secret_store_for_added(manifest: &Manifest, org: &Org) -> Option<SecretProvider> {
    let allowed = org.secret_providers(manifest.classification);
    let env_ok = org.env_secret_tiers.contains(&manifest.lifecycle.tier);
    let usable = |p: &SecretProvider| allowed.contains(p) && (*p != SecretProvider::Env || env_ok);
    let own = manifest
        .secrets
        .iter()
        .map(|s| s.provider)
        .filter(usable)
        .min_by_key(|p| *p == SecretProvider::Env);
    own.or_else(|| {
        allowed
            .iter()
            .copied()
            .filter(usable)
            .min_by_key(|p| *p == SecretProvider::Env)
    })
}

/// Adds what the template's starter code cannot run without: its secrets (in the store
/// [`secret_store_for_added`] picks) and, for forms, an approver group. When no store fits, the
/// secrets are still added, in the first store the org lists, so that the policy refuses the app
/// with its reason rather than the app failing at start-up without them.
pub(crate) fn add_template_needs(manifest: &mut Manifest, template: &Template, org: &Org) {
    let fallback = || {
        org.secret_providers(manifest.classification)
            .first()
            .copied()
    };
    if let Some(provider) = secret_store_for_added(manifest, org).or_else(fallback) {
        for name in &template.meta.secrets {
            if !manifest.secrets.iter().any(|s| &s.name == name) {
                manifest.secrets.push(manifest::Secret {
                    name: name.clone(),
                    provider,
                    path: None,
                });
            }
        }
    }
    if template.meta.approver_group {
        let sso = manifest.sso.get_or_insert(manifest::Sso {
            provider: manifest::SsoProvider::Oidc,
            issuer: None,
            groups: Vec::new(),
            scopes: Vec::new(),
        });
        if !sso
            .groups
            .iter()
            .any(|g| g.to_lowercase().contains("approv"))
        {
            sso.groups.push(format!("{}-approvers", manifest.name));
        }
    }
}

/// The `.levee/render.json` record: what `levee upgrade` and drift checks need later.
///
/// ```json
/// {
///   "format": 1,                       // this layout's version
///   "levee_version": "0.1.0",          // the levee that rendered
///   "template": {"id": "form-node", "version": "1.0.0", "source": "builtin"},
///   "pack": {"name": "levee-builtin", "version": "1.0.0"},
///   "created": "2026-03-01",
///   "context": {"app": {…}, "org": {…}, "levee": {…}},  // the exact render context
///   "files": {"src/app.ts": "<sha256 hex>", …},           // starter files as rendered
///   "managed": {"policy/…": "<sha256 hex>", …},           // managed files as generated
///   "manifest": "<sha256 hex of app.yaml as written>",
///   "template_settings": {"DOWNSTREAM_URL": {"description": "…", "required": true, "example": "…"}},
///   "pack_declarations": {…},          // only for an app not made from the built-in pack
///   "conflicts": {"version": "1.1.0", "paths": ["src/app.ts"]}  // only after a conflicted upgrade
/// }
/// ```
/// The merge base of a later 3-way upgrade is rebuilt by rendering the same template at
/// `template.version` (a git tag `v<version>` for git packs) with `context`; `.levee/answers.yaml`
/// keeps a copy of `app.yaml` as first written, for people. `template_settings` are the settings
/// the template declares, which `levee validate`, `check`, `sync` and `deploy` hold `app.yaml`
/// to later ([`crate::scaffold::template_settings`]).
///
/// `levee new` writes it; `levee upgrade` reads it, changes it and writes it back through this
/// type. The maps keep the order they were read (or built) in, and keys this levee does not know
/// (written by a newer one) are kept in `extra`, so a rewrite changes only what levee means to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderRecord {
    pub format: u32,
    pub levee_version: String,
    pub template: TemplateRef,
    pub pack: PackRecord,
    pub created: Date,
    pub context: serde_json::Value,
    pub files: indexmap::IndexMap<String, String>,
    pub managed: indexmap::IndexMap<String, String>,
    pub manifest: String,
    /// `None` only in a record written before levee kept them (such an app is not held to any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_settings: Option<indexmap::IndexMap<String, crate::scaffold::pack::SettingSpec>>,
    /// The kinds and stacks the pack declares, for an app not made from the built-in pack
    /// ([`crate::load::declarations`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_declarations: Option<crate::load::declarations::Declarations>,
    /// The files the last upgrade left conflict markers in, until they are resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<UpgradeConflicts>,
    /// Keys this levee does not know, kept as they were.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl RenderRecord {
    /// The record as written to `.levee/render.json`: pretty JSON and a final newline.
    pub(crate) fn to_json(&self) -> serde_json::Result<String> {
        let mut json = serde_json::to_string_pretty(self)?;
        json.push('\n');
        Ok(json)
    }
}

/// The files an upgrade left conflict markers in (`conflicts` in `.levee/render.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeConflicts {
    /// The template version the upgrade went to.
    pub version: String,
    /// The files, relative to the app, `/`-separated.
    pub paths: Vec<String>,
}

/// The pack a render came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackRecord {
    pub name: String,
    pub version: String,
}

/// Everything `levee new` will write, by relative path.
#[derive(Debug)]
pub struct WritePlan {
    pub manifest: Manifest,
    pub files: BTreeMap<String, OutFile>,
    /// Relative paths of the starter files (for the summary).
    pub starter: Vec<String>,
    pub managed: Vec<String>,
}

/// Paths levee owns in an app; a template may not contain them.
fn reserved(path: &str) -> bool {
    path == manifest::FILE_NAME || record::is_record(path)
}

/// Renders everything for a new app. `manifest.template` is set from the pack here.
pub fn plan(
    pack: &Pack,
    template: &Template,
    mut manifest: Manifest,
    org: &Org,
) -> Result<WritePlan, ScaffoldError> {
    manifest.template = Some(TemplateRef {
        id: template.id.clone(),
        version: pack.version.to_string(),
        source: Some(pack.origin.to_string()),
    });
    add_template_needs(&mut manifest, template, org);
    // The pack's kinds and stacks: the pipeline runs the stack's build steps.
    manifest.declared = crate::model::manifest::Declared::of(pack.declared.clone());
    let app_yaml = render_app_yaml(&manifest, org)?;
    let ctx = context(&manifest, org);
    let layers = pack.layers(template)?;
    let rendered = render::render_layers(&layers, &Value::from(minijinja::value::Serde(&ctx)))?;

    let mut files = BTreeMap::new();
    let mut record_files = BTreeMap::new();
    for (path, file) in rendered {
        if reserved(&path) {
            return Err(ScaffoldError::Reserved {
                template: template.id.clone(),
                path,
            });
        }
        record_files.insert(path.clone(), pack::sha256_hex(&file.bytes));
        files.insert(path, file);
    }
    let starter: Vec<String> = files.keys().cloned().collect();
    let mut record_managed = BTreeMap::new();
    let mut managed = Vec::new();
    for (path, text) in managed_files(&manifest, org)? {
        let rel = path.to_string_lossy().replace('\\', "/");
        if !render::is_safe_path(&rel) || files.contains_key(&rel) || reserved(&rel) {
            return Err(ScaffoldError::Reserved {
                template: template.id.clone(),
                path: rel,
            });
        }
        record_managed.insert(rel.clone(), sha256_hex(text.as_bytes()));
        managed.push(rel.clone());
        files.insert(
            rel,
            OutFile {
                bytes: text.into_bytes().into(),
                executable: false,
            },
        );
    }
    let record = RenderRecord {
        format: 1,
        levee_version: crate::VERSION.to_string(),
        template: manifest.template.clone().unwrap_or(TemplateRef {
            id: template.id.clone(),
            version: pack.version.to_string(),
            source: None,
        }),
        pack: PackRecord {
            name: pack.meta.name.clone(),
            version: pack.version.to_string(),
        },
        created: manifest.lifecycle.created.unwrap_or_else(today),
        context: ctx,
        files: record_files.into_iter().collect(),
        managed: record_managed.into_iter().collect(),
        manifest: sha256_hex(app_yaml.as_bytes()),
        template_settings: Some(template.meta.settings.clone()),
        pack_declarations: pack.own_declarations(),
        conflicts: None,
        extra: serde_json::Map::new(),
    };
    // `levee sync`'s record of what it generated, so the new app starts without drift.
    let managed_record = crate::generate::managed::ManagedRecord {
        levee_version: crate::VERSION.to_string(),
        // The digests just taken for render.json, in the record's form (`sha256:<hex>`).
        files: managed
            .iter()
            .filter_map(|p| {
                record.managed.get(p).map(|hex| {
                    (
                        p.clone(),
                        format!("{}{hex}", crate::generate::managed::HASH_PREFIX),
                    )
                })
            })
            .collect(),
    };
    let mut managed_json = serde_json::to_string_pretty(&managed_record).unwrap_or_default();
    managed_json.push('\n');
    let record_json = record.to_json().unwrap_or_default();
    let text_file = |s: String| OutFile {
        bytes: s.into_bytes().into(),
        executable: false,
    };
    files.insert(record::RENDER.to_string(), text_file(record_json));
    files.insert(
        crate::generate::managed::RECORD_PATH.into(),
        text_file(managed_json),
    );
    files.insert(record::ANSWERS.to_string(), text_file(app_yaml.clone()));
    files.insert(manifest::FILE_NAME.into(), text_file(app_yaml));
    Ok(WritePlan {
        manifest,
        files,
        starter,
        managed,
    })
}

/// Refuses a target that exists and is not an empty directory, or that cannot be created
/// because a file stands where one of its parent directories would be.
pub(crate) fn check_target(target: &Path) -> Result<(), ScaffoldError> {
    match std::fs::symlink_metadata(target) {
        Err(e) => {
            let in_the_way = target
                .ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty())
                .find_map(|a| std::fs::metadata(a).ok().map(|m| (a, m)))
                .filter(|(_, m)| !m.is_dir());
            if let Some((a, _)) = in_the_way {
                return Err(ScaffoldError::NotADirectory(a.to_path_buf()));
            }
            if e.kind() == std::io::ErrorKind::NotFound {
                return Ok(());
            }
            Err(ScaffoldError::Io {
                path: target.to_path_buf(),
                source: e,
            })
        }
        Ok(m) if !m.is_dir() => Err(ScaffoldError::NotADirectory(target.to_path_buf())),
        Ok(_) => {
            let mut entries = std::fs::read_dir(target).map_err(|e| ScaffoldError::Io {
                path: target.to_path_buf(),
                source: e,
            })?;
            if entries.next().is_some() {
                Err(ScaffoldError::NotEmpty(target.to_path_buf()))
            } else {
                Ok(())
            }
        }
    }
}

/// Writes the plan into `target` (new or empty): into a temporary directory beside it first,
/// renamed into place when every file is written. Missing parent directories are created
/// (`levee new apps/sales-board` in a fresh repository). On error nothing is left behind: not
/// the staged tree, not the parents this call created.
pub(crate) fn write(target: &Path, plan: &WritePlan) -> Result<(), ScaffoldError> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let created = create_parents(&parent)?;
    let result = write_into(target, &parent, plan);
    if result.is_err() {
        // Deepest first; `remove_dir` only removes empty directories, so nothing else is lost.
        for dir in created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

/// Creates `dir` and its missing ancestors; returns the ones created, outermost first.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() {
            break;
        }
        match std::fs::metadata(d) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => return Err(ScaffoldError::NotADirectory(d.to_path_buf())),
            Err(_) => missing.push(d.to_path_buf()),
        }
        cur = d.parent();
    }
    missing.reverse();
    for (i, d) in missing.iter().enumerate() {
        if let Err(source) = std::fs::create_dir(d)
            && !d.is_dir()
        {
            for made in missing[..i].iter().rev() {
                let _ = std::fs::remove_dir(made);
            }
            return Err(ScaffoldError::Io {
                path: d.clone(),
                source,
            });
        }
    }
    Ok(missing)
}

fn write_into(target: &Path, parent: &Path, plan: &WritePlan) -> Result<(), ScaffoldError> {
    check_target(target)?;
    let io = |path: &Path, source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".levee-new-")
        .tempdir_in(parent)
        .map_err(|e| io(parent, e))?;
    // Each directory once, parents first (a `create_dir_all` per file asked the kernel for the
    // same directories again and again).
    let dirs: std::collections::BTreeSet<&Path> = plan
        .files
        .keys()
        .flat_map(|rel| Path::new(rel).ancestors().skip(1))
        .filter(|d| !d.as_os_str().is_empty())
        .collect();
    for d in dirs {
        let dir = tmp.path().join(d);
        std::fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
    }
    let write_one = |(rel, file): (&String, &OutFile)| -> Result<(), ScaffoldError> {
        let path = tmp.path().join(rel);
        let mut f = std::fs::File::create(&path).map_err(|e| io(&target.join(rel), e))?;
        // No fsync per file: the rename makes the tree appear whole or not at all, and an
        // fsync per starter file made `levee new` ten times slower on a busy disk.
        f.write_all(&file.bytes)
            .map_err(|e| io(&target.join(rel), e))?;
        #[cfg(unix)]
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(&path, e))?;
        }
        Ok(())
    };
    plan.files.iter().try_for_each(write_one)?;
    // The temp dir is 0700; the app directory gets the usual permissions.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io(tmp.path(), e))?;
    }
    // Checked again just before the rename: an empty directory is replaced, anything else kept.
    check_target(target)?;
    let staged = tmp.keep();
    std::fs::rename(&staged, target).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        io(target, e)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_record_is_rewritten_byte_for_byte_with_unknown_keys_kept() {
        let text = r#"{
  "format": 1,
  "levee_version": "0.1.0",
  "template": {
    "id": "form-node",
    "version": "1.0.0",
    "source": "builtin"
  },
  "pack": {
    "name": "levee-builtin",
    "version": "1.0.0"
  },
  "created": "2026-03-01",
  "context": {
    "z": 1,
    "a": [
      true,
      null
    ]
  },
  "files": {
    "src/app/x.ts": "bb",
    "src/app.ts": "aa"
  },
  "managed": {
    "policy/z.rego": "cc",
    "deploy/a.yaml": "dd"
  },
  "manifest": "ee",
  "template_settings": {},
  "conflicts": {
    "version": "1.1.0",
    "paths": [
      "src/app.ts"
    ]
  },
  "from_a_newer_levee": {
    "b": 2,
    "a": 1
  }
}
"#;
        let record: RenderRecord = serde_json::from_str(text).expect("record");
        assert_eq!(record.extra.len(), 1);
        assert_eq!(record.to_json().expect("json"), text);
        // A record written before levee kept template settings stays without them.
        let old = text.replace("  \"template_settings\": {},\n", "");
        let record: RenderRecord = serde_json::from_str(&old).expect("record");
        assert!(record.template_settings.is_none());
        assert_eq!(record.to_json().expect("json"), old);
    }

    fn manifest(extra: &str) -> Manifest {
        let text = format!(
            "name: my-app\nowner: a@example.com\nclassification: internal\nlifecycle: {{tier: prototype}}\n{extra}"
        );
        crate::load::document::parse_str::<Manifest>(std::path::Path::new("app.yaml"), &text)
            .expect("manifest")
            .value
    }

    #[test]
    fn added_secrets_follow_the_users_store_else_the_first_real_store() {
        use SecretProvider::*;
        let org = Org::default();
        let pick = |extra: &str, org: &Org| secret_store_for_added(&manifest(extra), org);
        // The user's own choice, env coming last among theirs.
        assert_eq!(
            pick("secrets: [{name: K, provider: vault}]", &org),
            Some(Vault)
        );
        assert_eq!(
            pick(
                "secrets: [{name: E, provider: env}, {name: K, provider: aws-secrets-manager}]",
                &org
            ),
            Some(AwsSecretsManager)
        );
        assert_eq!(pick("secrets: [{name: E, provider: env}]", &org), Some(Env));
        // None of the user's: the first store that is not env.
        assert_eq!(pick("", &org), Some(Vault));
        let mut only_env = org.clone();
        only_env.secret_providers.internal = Some(vec![Env]);
        assert_eq!(pick("", &only_env), Some(Env));
        // ... and env only in tiers that may read the environment.
        only_env.env_secret_tiers = vec![];
        assert_eq!(pick("", &only_env), None);
    }
}
