//! `levee promote`: move an app to a higher tier (and optionally another classification).
//!
//! [`prepare`] decides everything and writes nothing: the surgical edit of `app.yaml`
//! ([`crate::load::edit`]), re-read with levee's loader and compared with the intended manifest; the
//! org's policies evaluated on the would-be manifest; the managed files `levee sync` would write
//! for it; and the gate plans before and after. A [`PromoteRefusal`] lists every reason, each with the
//! field to change and where it sits in `app.yaml`. [`Promotion::apply`] writes `app.yaml`
//! atomically, then the managed files, exactly as `levee sync` does.
//!
//! | target tier has `max_lifetime_days` | `--expires` | `lifecycle.expires` becomes |
//! | --- | --- | --- |
//! | no | absent | removed |
//! | no | given | the given date |
//! | yes | absent | today + `default_lifetime_days` (else the maximum), at most `created` + maximum |
//! | yes | given | the given date (the policy checks it against the maximum) |

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::generate::managed::{self, ManagedEntry, ManagedError, State};
use crate::generate::plan::{self, GatePlan};
use crate::generate::policy::{Clock, Evaluator, Level, PolicyError};
use crate::load::diag::Diagnostic;
use crate::load::document::{self, LoadError, Loaded};
use crate::load::edit::{self, Change, EditError};
use crate::model::manifest::{Classification, Date, Manifest, SecretProvider, Tier};
use crate::model::org::Org;

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub tier: Tier,
    pub classification: Option<Classification>,
    pub expires: Option<Date>,
    /// The day the expiry is counted from and policies judge dates on.
    pub today: Date,
    /// Move every `provider: env` secret to this store (`--move-secrets-to`).
    pub move_secrets_to: Option<SecretProvider>,
}

/// Why promoting could not even be decided (exit 2, or 1 for an invalid manifest).
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot edit {}: {source}", path.display())]
    Edit {
        path: PathBuf,
        #[source]
        source: EditError,
    },
    /// The edited text does not read back as the intended manifest: a levee bug, never written.
    #[error("the edited {} would not mean what was intended ({detail}); nothing was written", path.display())]
    Roundtrip { path: PathBuf, detail: String },
    #[error(transparent)]
    Managed(#[from] ManagedError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// One field of `app.yaml` that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Dotted (`lifecycle.tier`).
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What changes in the gate plan, in words (`SBOM stage added`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GateChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl GateChanges {
    pub(crate) fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// One reason a promotion is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The policy rule (`AUTH-006`), or `MANIFEST`, `SANDBOX`, `DRIFT`, `TIER`.
    pub id: String,
    pub message: String,
    pub hint: String,
    /// The field to change, dotted (`secrets[1].provider`) or a file path for drift.
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

/// A promotion that levee will not make; nothing was written.
#[derive(Debug, Clone, Serialize)]
pub struct PromoteRefusal {
    pub from: Tier,
    pub to: Tier,
    pub reasons: Vec<Reason>,
    /// Diffs of hand-edited managed files (for `DRIFT` reasons).
    #[serde(skip)]
    pub drift: Vec<ManagedEntry>,
}

/// A promotion ready to write.
#[derive(Debug, Clone)]
pub struct Promotion {
    pub app: PathBuf,
    pub manifest_path: PathBuf,
    pub before: Manifest,
    pub after: Manifest,
    pub old_text: String,
    pub new_text: String,
    /// `app.yaml` starts with a byte order mark, which the rewrite keeps.
    pub bom: bool,
    pub changes: Vec<FieldChange>,
    pub gates: GateChanges,
    /// The managed files compared with what the promoted manifest generates.
    pub entries: Vec<ManagedEntry>,
    /// Policy warnings on the promoted manifest (not blocking).
    pub warnings: Vec<Reason>,
}

/// The outcome of [`prepare`].
#[derive(Debug, Clone)]
pub enum PromoteOutcome {
    Ready(Box<Promotion>),
    Refused(PromoteRefusal),
}

/// The dotted field of a JSON pointer (`/secrets/1/provider` -> `secrets[1].provider`).
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        if part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// Decides the promotion of the app whose manifest is at `path` (a file or its directory).
pub(crate) fn prepare(
    path: &Path,
    org: &Org,
    req: &Request,
) -> Result<PromoteOutcome, PromoteError> {
    let loaded = crate::scaffold::template_settings::load(path)?;
    let file = loaded.source.path.clone();
    let app = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let before = loaded.value.clone();
    let from = before.lifecycle.tier;
    let refuse = |reasons: Vec<Reason>| {
        Ok(PromoteOutcome::Refused(PromoteRefusal {
            from,
            to: req.tier,
            reasons,
            drift: Vec::new(),
        }))
    };

    // Demotions and no-ops are refused before anything else.
    let after = match target(&loaded, org, req) {
        Ok(after) => after,
        Err(reason) => return refuse(vec![*reason]),
    };
    let changes = field_changes(&before, &after);
    let (new_text, reread) = match rewrite(&loaded, &after, &changes)? {
        Ok(rewritten) => rewritten,
        Err(reasons) => return refuse(reasons),
    };
    let (mut reasons, warnings) = policy_reasons(&loaded, &reread, &after, org, req)?;
    let desired = sandbox_desired(&loaded, &after, org, &mut reasons)?;
    let entries = match &desired {
        Some(d) => managed::status(&app, d)?,
        None => Vec::new(),
    };
    let drift: Vec<ManagedEntry> = entries
        .iter()
        .filter(|e| e.state.is_edited())
        .cloned()
        .collect();
    reasons.extend(drift.iter().map(drift_reason));
    if !reasons.is_empty() {
        return Ok(PromoteOutcome::Refused(PromoteRefusal {
            from,
            to: req.tier,
            reasons,
            drift,
        }));
    }

    let gates = gate_changes(
        &plan::for_manifest(&before, org),
        &plan::for_manifest(&after, org),
    );
    Ok(PromoteOutcome::Ready(Box::new(Promotion {
        app,
        manifest_path: file,
        before,
        after,
        bom: loaded.source.bom,
        old_text: loaded.source.text,
        new_text,
        changes,
        gates,
        entries,
        warnings,
    })))
}

/// Where a field sits in app.yaml; a missing field is located at its nearest present parent
/// mapping, never at the document root (which says nothing).
fn locate(loaded: &Loaded<Manifest>, pointer: &str) -> (Option<usize>, Option<usize>) {
    let pos = loaded
        .doc
        .spans
        .find(pointer)
        .filter(|(found, _)| !found.is_empty())
        .map(|(_, s)| s.value);
    (pos.map(|p| p.line), pos.map(|p| p.col))
}

/// The manifest as the promotion would leave it, or the reason (at `lifecycle.tier`) why there
/// is nothing to promote: a demotion, or a no-op.
fn target(loaded: &Loaded<Manifest>, org: &Org, req: &Request) -> Result<Manifest, Box<Reason>> {
    let before = &loaded.value;
    let from = before.lifecycle.tier;
    let tier_reason = |message: String, hint: String| {
        let (line, column) = locate(loaded, "/lifecycle/tier");
        Reason {
            id: "TIER".into(),
            message,
            hint,
            field: "lifecycle.tier".into(),
            line,
            column,
        }
    };
    if req.tier < from {
        return Err(Box::new(tier_reason(
            format!(
                "the app is {from}; `levee promote` moves apps up, not down to {}",
                req.tier
            ),
            format!(
                "to demote it, edit `lifecycle.tier` to {} by hand (the platform team must agree), then run `levee sync`",
                req.tier
            ),
        )));
    }
    let after = intended(before, org, req);
    if after == *before {
        return Err(Box::new(tier_reason(
            format!(
                "the app is already {from}{}: nothing to change",
                req.classification
                    .map(|c| format!(" and {c}"))
                    .unwrap_or_default()
            ),
            match from {
                Tier::Production => "production is the highest tier".into(),
                Tier::Prototype => "pass `--tier sandbox` or `--tier production`".into(),
                Tier::Sandbox => "pass `--tier production`".into(),
            },
        )));
    }
    Ok(after)
}

/// app.yaml's new text and its reading, or the reasons the promoted manifest is invalid.
type Rewritten = Result<(String, Loaded<Manifest>), Vec<Reason>>;

/// app.yaml's text and the loader's reading of it after the surgical edit, or (inner `Err`) the
/// meaning checks the promoted manifest breaks, as reasons. The reading must be `after`, and
/// every byte but the edited lines must be the user's.
fn rewrite(
    loaded: &Loaded<Manifest>,
    after: &Manifest,
    changes: &[FieldChange],
) -> Result<Rewritten, PromoteError> {
    let file = &loaded.source.path;
    let edits: Vec<Change> = changes
        .iter()
        .map(|c| {
            let pointer = pointer_of(&c.field);
            match &c.new {
                Some(v) => Change::Set(pointer, v.clone()),
                None => Change::Remove(pointer),
            }
        })
        .collect();
    let new_text =
        edit::apply_parsed(&loaded.source.text, &loaded.doc, &edits).map_err(|source| {
            PromoteError::Edit {
                path: file.clone(),
                source,
            }
        })?;
    let context = document::Context {
        declared: loaded.value.declared.0.as_deref(),
        ..Default::default()
    };
    let reread: Loaded<Manifest> =
        match document::parse_str_with::<Manifest>(file, &new_text, context) {
            Ok(l) => l,
            Err(LoadError::Invalid { diags, .. }) => {
                // The promoted manifest breaks a meaning check: each is a reason, located in the
                // file as it is now where the field exists there.
                return Ok(Err(diags
                    .iter()
                    .map(|d| manifest_reason(d, loaded))
                    .collect()));
            }
            Err(e) => return Err(e.into()),
        };
    if reread.value != *after {
        return Err(PromoteError::Roundtrip {
            path: file.clone(),
            detail: format!(
                "expected tier {} / classification {} / expires {:?} / secrets {:?}, read tier {} / classification {} / expires {:?} / secrets {:?}",
                after.lifecycle.tier,
                after.classification,
                after.lifecycle.expires.map(|d| d.to_string()),
                providers(after),
                reread.value.lifecycle.tier,
                reread.value.classification,
                reread.value.lifecycle.expires.map(|d| d.to_string()),
                providers(&reread.value),
            ),
        });
    }
    // Every other byte is the user's: only the edited lines may differ.
    if let Some(detail) = stray_changes(&loaded.source.text, &new_text, changes) {
        return Err(PromoteError::Roundtrip {
            path: file.clone(),
            detail,
        });
    }
    Ok(Ok((new_text, reread)))
}

/// The org's policies on the would-be manifest: its denials (reasons) and its warnings, each
/// located in app.yaml as it is now.
fn policy_reasons(
    loaded: &Loaded<Manifest>,
    reread: &Loaded<Manifest>,
    after: &Manifest,
    org: &Org,
    req: &Request,
) -> Result<(Vec<Reason>, Vec<Reason>), PromoteError> {
    let mut evaluator = Evaluator::embedded(org, Clock::Fixed(req.today))?;
    let findings = evaluator.evaluate(&reread.doc.value)?;
    let mut reasons = Vec::new();
    let mut warnings = Vec::new();
    for f in findings {
        let pointer = f.pointer();
        let (line, column) = locate(loaded, &pointer);
        let reason = Reason {
            id: f.id.clone(),
            message: f.msg.clone(),
            hint: f.hint.clone(),
            field: f.field.clone(),
            line,
            column,
        };
        match f.level {
            Level::Deny => reasons.push(reason),
            Level::Warn => warnings.push(reason),
        }
    }
    offer_move_secrets(&mut reasons, after, org, req);
    Ok((reasons, warnings))
}

/// Secrets read from the environment are fixed by one flag: offer it, with the stores the
/// classification allows.
fn offer_move_secrets(reasons: &mut [Reason], after: &Manifest, org: &Org, req: &Request) {
    let stores: Vec<String> = org
        .secret_providers(after.classification)
        .into_iter()
        .filter(|p| *p != SecretProvider::Env)
        .map(|p| p.to_string())
        .collect();
    if stores.is_empty() {
        return;
    }
    // SEC-002 (env outside the tiers that allow it), and SEC-001 on an env secret (env not
    // allowed for the classification).
    let env_secret = |field: &str| {
        field
            .strip_prefix("secrets[")
            .and_then(|r| r.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok())
            .and_then(|i| after.secrets.get(i))
            .is_some_and(|s| s.provider == SecretProvider::Env)
    };
    for r in reasons
        .iter_mut()
        .filter(|r| r.id == "SEC-002" || (r.id == "SEC-001" && env_secret(&r.field)))
    {
        r.hint = format!(
            "run `levee promote --tier {}{} --move-secrets-to {}` to move every env secret to {} (edits app.yaml in place), or set `provider:` yourself",
            req.tier,
            req.classification
                .map(|c| format!(" --classification {c}"))
                .unwrap_or_default(),
            stores[0],
            stores.join(" or ")
        );
    }
}

/// What `levee sync` would write for the promoted app; the sandbox's own refusals are added to
/// `reasons` (unless a policy already said the same of the same field), and there is then
/// nothing to compare.
fn sandbox_desired(
    loaded: &Loaded<Manifest>,
    after: &Manifest,
    org: &Org,
    reasons: &mut Vec<Reason>,
) -> Result<Option<Vec<managed::ManagedFile>>, PromoteError> {
    match managed::files(after, org) {
        Ok(d) => Ok(Some(d)),
        Err(ManagedError::Sandbox(crate::generate::sandbox::SandboxError::Refused {
            refusals,
            ..
        })) => {
            for r in refusals {
                let (line, column) = locate(loaded, &r.field);
                let field = dotted(&r.field);
                if !reasons
                    .iter()
                    .any(|x| x.field == field && x.message == r.message)
                {
                    reasons.push(Reason {
                        id: "SANDBOX".into(),
                        message: r.message,
                        hint: r.hint,
                        field,
                        line,
                        column,
                    });
                }
            }
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The reason a hand-edited (or foreign) file in a directory levee owns blocks the promotion.
fn drift_reason(e: &ManagedEntry) -> Reason {
    let path = crate::support::text::escape(&e.path);
    let (message, hint) = if e.state == State::Extra {
        (
            format!(
                "{path} is not generated by levee, in a directory levee owns (OPA and kubectl \
                 load every file there)"
            ),
            "move it out of policy/ or deploy/ (or remove it with `levee sync --force`), then promote",
        )
    } else {
        (
            format!(
                "{path} was edited by hand{}; promoting would overwrite it",
                if e.state == State::ObsoleteEdited {
                    " and is no longer generated"
                } else {
                    ""
                }
            ),
            "move the change into app.yaml or the org config, run `levee sync --force` to drop it, then promote",
        )
    };
    Reason {
        id: "DRIFT".into(),
        message,
        hint: hint.into(),
        field: e.path.clone(),
        line: None,
        column: None,
    }
}

fn manifest_reason(d: &Diagnostic, loaded: &Loaded<Manifest>) -> Reason {
    let field = d.field.clone().unwrap_or_default();
    let pointer = format!("/{}", field.replace('.', "/"));
    let pos = loaded.doc.spans.value_pos(&pointer);
    Reason {
        id: "MANIFEST".into(),
        message: d.message.clone(),
        hint: d.hint.clone().unwrap_or_default(),
        field,
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.col),
    }
}

/// The manifest the user asked for (see the module docs for the expiry table).
pub(crate) fn intended(before: &Manifest, org: &Org, req: &Request) -> Manifest {
    let mut after = before.clone();
    after.lifecycle.tier = req.tier;
    if let Some(c) = req.classification {
        after.classification = c;
    }
    if let Some(store) = req.move_secrets_to {
        for s in after.secrets.iter_mut() {
            if s.provider == SecretProvider::Env {
                s.provider = store;
            }
        }
    }
    let caps = org.tier(req.tier);
    after.lifecycle.expires = match (req.expires, caps.max_lifetime_days) {
        (Some(d), _) => Some(d),
        // Staying in a tier with a lifetime keeps the date the app has.
        (None, Some(_))
            if req.tier == before.lifecycle.tier && before.lifecycle.expires.is_some() =>
        {
            before.lifecycle.expires
        }
        (None, Some(max)) => {
            let days = caps.default_lifetime_days.unwrap_or(max).min(max);
            let proposed = add_days(req.today, days);
            let limit = before
                .lifecycle
                .created
                .map_or(proposed, |c| add_days(c, max));
            Some(proposed.min(limit))
        }
        (None, None) => None,
    };
    after
}

fn add_days(d: Date, days: u32) -> Date {
    d.0.checked_add(jiff::Span::new().days(i64::from(days)))
        .map(Date)
        .unwrap_or(d)
}

fn field_changes(before: &Manifest, after: &Manifest) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field: &str, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(FieldChange {
                field: field.into(),
                old,
                new,
            });
        }
    };
    push(
        "lifecycle.tier",
        Some(before.lifecycle.tier.to_string()),
        Some(after.lifecycle.tier.to_string()),
    );
    push(
        "classification",
        Some(before.classification.to_string()),
        Some(after.classification.to_string()),
    );
    push(
        "lifecycle.expires",
        before.lifecycle.expires.map(|d| d.to_string()),
        after.lifecycle.expires.map(|d| d.to_string()),
    );
    for (i, (b, a)) in before.secrets.iter().zip(&after.secrets).enumerate() {
        push(
            &format!("secrets[{i}].provider"),
            Some(b.provider.to_string()),
            Some(a.provider.to_string()),
        );
    }
    out
}

/// The JSON pointer of a dotted field (`secrets[1].provider` -> `/secrets/1/provider`).
fn pointer_of(field: &str) -> String {
    format!(
        "/{}",
        field.replace('[', ".").replace(']', "").replace('.', "/")
    )
}

fn providers(m: &Manifest) -> Vec<String> {
    m.secrets.iter().map(|s| s.provider.to_string()).collect()
}

/// `None` when the only lines that differ between `old` and `new` are those of the changed
/// fields (their key appears on the line); otherwise what else changed.
fn stray_changes(old: &str, new: &str, changes: &[FieldChange]) -> Option<String> {
    let keys: Vec<&str> = changes
        .iter()
        .map(|c| c.field.rsplit('.').next().unwrap_or(&c.field))
        .collect();
    let diff = similar::TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        if change.tag() == similar::ChangeTag::Equal {
            continue;
        }
        let line = change.value();
        if !keys.iter().any(|k| line.contains(&format!("{k}:"))) {
            return Some(format!("an unrelated line changed: {:?}", line.trim_end()));
        }
    }
    None
}

/// What the gate plan gains and loses, in words.
pub(crate) fn gate_changes(before: &GatePlan, after: &GatePlan) -> GateChanges {
    let mut g = GateChanges::default();
    let stage_name = |s: plan::Stage| format!("{s:?}").to_lowercase();
    for s in after.stages() {
        if !before.stages().contains(&s) {
            g.added.push(format!("{} stage", stage_name(s)));
        }
    }
    for s in before.stages() {
        if !after.stages().contains(&s) {
            g.removed.push(format!("{} stage", stage_name(s)));
        }
    }
    for j in &after.jobs {
        match before.job(j.id) {
            None => g.added.push(format!(
                "job `{}` ({}){}",
                j.id,
                j.name,
                if j.blocking { "" } else { ", advisory" }
            )),
            Some(b) if b.blocking != j.blocking => g.changed.push(format!(
                "job `{}` is now {}",
                j.id,
                if j.blocking { "blocking" } else { "advisory" }
            )),
            Some(_) => {}
        }
    }
    for j in &before.jobs {
        if after.job(j.id).is_none() {
            g.removed.push(format!("job `{}` ({})", j.id, j.name));
        }
    }
    if before.profile != after.profile {
        g.changed.push(format!(
            "profile {} -> {}",
            serde_plain(&before.profile),
            serde_plain(&after.profile)
        ));
    }
    let sev = |p: &GatePlan| {
        p.sca_severities
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if before.sca_severities != after.sca_severities {
        g.changed.push(format!(
            "vulnerability scan blocks on {} (was {})",
            sev(after),
            sev(before)
        ));
    }
    if before.deploy.environment != after.deploy.environment {
        g.changed.push(format!(
            "deploys to the `{}` environment (was `{}`)",
            after.deploy.environment, before.deploy.environment
        ));
    }
    match (before.deploy.approval, after.deploy.approval) {
        (false, true) => g.added.push("manual approval before deploy".into()),
        (true, false) => g.removed.push("manual approval before deploy".into()),
        _ => {}
    }
    if before.retention_days != after.retention_days {
        g.changed.push(format!(
            "SBOM and reports kept {} days (was {})",
            after.retention_days, before.retention_days
        ));
    }
    g
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What [`Promotion::apply`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Written {
    /// Paths relative to the app, `app.yaml` first.
    pub files: Vec<String>,
    pub removed: Vec<String>,
}

impl Promotion {
    /// The unified diff of `app.yaml`.
    pub(crate) fn manifest_diff(&self) -> String {
        similar::TextDiff::from_lines(&self.old_text, &self.new_text)
            .unified_diff()
            .context_radius(3)
            .header("a/app.yaml", "b/app.yaml")
            .to_string()
    }

    /// The managed files that would change.
    pub(crate) fn changed_entries(&self) -> impl Iterator<Item = &ManagedEntry> {
        self.entries.iter().filter(|e| !e.state.is_current())
    }

    /// Writes `app.yaml` (atomically), then the managed files as `levee sync` does.
    pub(crate) fn apply(&self) -> Result<Written, PromoteError> {
        let name = self
            .manifest_path
            .file_name()
            .map_or_else(|| "app.yaml".into(), |n| n.to_string_lossy().into_owned());
        let text = if self.bom {
            format!("{}{}", crate::load::yaml::BOM, self.new_text)
        } else {
            self.new_text.clone()
        };
        managed::write_file(&self.app, &name, text.as_bytes())?;
        let actions = managed::apply(&self.app, &self.entries, false)?;
        let mut written = Written {
            files: vec![
                self.manifest_path
                    .file_name()
                    .map_or_else(|| "app.yaml".into(), |n| n.to_string_lossy().into_owned()),
            ],
            removed: Vec::new(),
        };
        for (e, a) in self.entries.iter().zip(actions) {
            match a {
                managed::SyncAction::Written => written.files.push(e.path.clone()),
                managed::SyncAction::Removed => written.removed.push(e.path.clone()),
                _ => {}
            }
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    fn manifest(tier: &str, created: &str, expires: Option<&str>) -> Manifest {
        let exp = expires
            .map(|e| format!("  expires: {e}\n"))
            .unwrap_or_default();
        let text = format!(
            "name: my-app\nowner: a@example.com\nclassification: internal\nsso: oidc\nlifecycle:\n  tier: {tier}\n  created: {created}\n{exp}"
        );
        document::parse_str::<Manifest>(Path::new("app.yaml"), &text)
            .expect("manifest")
            .value
    }

    fn req(tier: Tier, expires: Option<&str>) -> Request {
        Request {
            tier,
            classification: None,
            expires: expires.map(day),
            today: day("2026-03-01"),
            move_secrets_to: None,
        }
    }

    #[test]
    fn expiry_table() {
        let org = Org::default();
        let proto = manifest("prototype", "2026-02-01", Some("2026-03-15"));
        // No lifetime cap: removed, unless asked for.
        let to = |t, e| intended(&proto, &org, &req(t, e)).lifecycle.expires;
        assert_eq!(to(Tier::Sandbox, None), None);
        assert_eq!(to(Tier::Production, None), None);
        assert_eq!(
            to(Tier::Sandbox, Some("2026-09-01")),
            Some(day("2026-09-01"))
        );
        // A capped tier: today + default (30 days), within created + max.
        let mut capped = org.clone();
        capped.tiers.sandbox.max_lifetime_days = Some(180);
        capped.tiers.sandbox.default_lifetime_days = Some(60);
        assert_eq!(
            intended(&proto, &capped, &req(Tier::Sandbox, None))
                .lifecycle
                .expires,
            Some(day("2026-04-30"))
        );
        // ...clamped to created + max when the default would overrun it.
        let old = manifest("prototype", "2025-09-15", Some("2026-03-15"));
        assert_eq!(
            intended(&old, &capped, &req(Tier::Sandbox, None))
                .lifecycle
                .expires,
            Some(day("2026-03-14"))
        );
    }

    #[test]
    fn only_the_changed_fields_lines_may_differ() {
        let change = [FieldChange {
            field: "lifecycle.tier".into(),
            old: Some("prototype".into()),
            new: Some("sandbox".into()),
        }];
        let old = "# note\nlifecycle:\n  tier: prototype\n";
        assert_eq!(
            stray_changes(old, "# note\nlifecycle:\n  tier: sandbox\n", &change),
            None
        );
        assert!(stray_changes(old, "# other\nlifecycle:\n  tier: sandbox\n", &change).is_some());
    }

    #[test]
    fn pointers_of_dotted_fields() {
        assert_eq!(pointer_of("secrets[1].provider"), "/secrets/1/provider");
        assert_eq!(pointer_of("lifecycle.tier"), "/lifecycle/tier");
    }

    #[test]
    fn dotted_fields() {
        assert_eq!(dotted("/secrets/1/provider"), "secrets[1].provider");
        assert_eq!(dotted("/runtime/cpu_limit"), "runtime.cpu_limit");
    }

    #[test]
    fn gates_added_for_sandbox() {
        use crate::model::manifest::Stack;
        let g = gate_changes(
            &plan::plan(
                Classification::Internal,
                Tier::Prototype,
                Stack::from("node"),
            ),
            &plan::plan(Classification::Internal, Tier::Sandbox, Stack::from("node")),
        );
        assert!(g.added.contains(&"scan stage".to_string()), "{g:?}");
        assert!(g.added.iter().any(|a| a.starts_with("job `sbom`")), "{g:?}");
        assert!(g.removed.iter().any(|a| a.starts_with("job `preflight`")));
        let g = gate_changes(
            &plan::plan(Classification::Internal, Tier::Sandbox, Stack::from("node")),
            &plan::plan(
                Classification::Restricted,
                Tier::Production,
                Stack::from("node"),
            ),
        );
        assert!(
            g.added
                .contains(&"manual approval before deploy".to_string())
        );
        assert!(g.changed.iter().any(|c| c.contains("90 days (was 30)")));
        assert!(
            g.changed
                .iter()
                .any(|c| c == "job `verify` is now blocking")
        );
    }
}
