//! Answers given before the wizard runs (flags and an answers file), and the answers file itself.
//!
//! An answers file is a partial `app.yaml`: the manifest's keys, every one optional, `template`
//! also as a bare id. It goes through the same loading as `app.yaml` (schema and meaning checks,
//! every problem located at file:line:column with a did-you-mean for unknown keys). The wizard
//! writes the same format when a run stops before the app is created, so the run can resume.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::load::document::{self, Checked, Checker, LoadError};
use crate::model::manifest::{
    self, AccessLevel, Ci, Classification, DataAccess, Date, Kind, Manifest, Secret,
    SecretProvider, Stack, Tier,
};

/// Answers given up front: a partial manifest (JSON), and the template id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Given {
    /// The manifest's keys, every one optional.
    pub doc: Value,
    /// `--template` / `template:`.
    pub template: Option<String>,
}

impl Given {
    /// These answers, with each missing one taken from `lower` (flags over the answers file).
    /// Mappings merge key by key; a list replaces the lower one whole.
    pub(crate) fn over(self, lower: Given) -> Given {
        let mut doc = lower.doc;
        merge(&mut doc, self.doc);
        Given {
            doc,
            template: self.template.or(lower.template),
        }
    }

    /// True when nothing is given.
    pub(crate) fn is_empty(&self) -> bool {
        self.template.is_none() && self.doc.as_object().is_none_or(Map::is_empty)
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The answers as typed values (what `levee new`'s flags give), every one optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub kind: Option<Kind>,
    pub stack: Option<Stack>,
    pub classification: Option<Classification>,
    pub tier: Option<Tier>,
    pub ci: Option<Ci>,
    pub sso_issuer: Option<String>,
    pub sso_groups: Option<Vec<String>>,
    pub datasets: Option<Vec<DataAccess>>,
    pub secrets: Option<Vec<Secret>>,
    pub egress: Option<Vec<String>>,
    pub expires: Option<Date>,
    pub cost_center: Option<String>,
    pub template: Option<String>,
    /// `--setting NAME=VALUE`, in the order given.
    pub settings: Option<Vec<(String, String)>>,
}

impl From<&Answers> for Given {
    fn from(a: &Answers) -> Given {
        let mut doc = json!({});
        let mut put = |pointer: &str, v: Option<Value>| {
            if let Some(v) = v {
                set(&mut doc, pointer, v);
            }
        };
        let s = |x: &Option<String>| x.clone().map(Value::String);
        let shown = |x: Option<String>| x.map(Value::String);
        put("/name", s(&a.name));
        put("/description", s(&a.description));
        put("/owner", s(&a.owner));
        put("/team", s(&a.team));
        put("/kind", shown(a.kind.as_ref().map(|k| k.to_string())));
        put("/stack", shown(a.stack.as_ref().map(|k| k.to_string())));
        put(
            "/classification",
            shown(a.classification.map(|k| k.to_string())),
        );
        put("/lifecycle/tier", shown(a.tier.map(|k| k.to_string())));
        put(
            "/lifecycle/expires",
            shown(a.expires.map(|k| k.to_string())),
        );
        put("/ci", shown(a.ci.map(|k| k.to_string())));
        put("/sso/issuer", s(&a.sso_issuer));
        put("/sso/groups", a.sso_groups.as_ref().map(|g| json!(g)));
        put("/data_access", a.datasets.as_ref().map(|d| json!(d)));
        put("/secrets", a.secrets.as_ref().map(|d| json!(d)));
        put("/runtime/egress", a.egress.as_ref().map(|d| json!(d)));
        put("/cost/center", s(&a.cost_center));
        put(
            "/settings",
            a.settings.as_ref().map(|list| {
                Value::Object(
                    list.iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                )
            }),
        );
        Given {
            doc,
            template: a.template.clone(),
        }
    }
}

/// Sets the value at a JSON pointer, making the mappings and lists on the way (a list is padded
/// with empty mappings up to the index).
pub(crate) fn set(doc: &mut Value, pointer: &str, value: Value) {
    let mut cur = doc;
    let path = crate::load::field_path::FieldPath::from_pointer(pointer);
    let parts = path.segments();
    for (n, part) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        let next_is_index = parts
            .get(n + 1)
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        match cur {
            Value::Array(items) => {
                let Ok(i) = part.parse::<usize>() else { return };
                while items.len() <= i {
                    items.push(if last { Value::Null } else { fresh() });
                }
                if last {
                    items[i] = value;
                    return;
                }
                cur = &mut items[i];
            }
            Value::Object(map) => {
                if last {
                    map.insert(part.clone(), value);
                    return;
                }
                let slot = map.entry(part.clone()).or_insert_with(fresh);
                if !(slot.is_object() || slot.is_array()) {
                    *slot = fresh();
                }
                cur = slot;
            }
            other => {
                *other = Value::Object(Map::new());
                if let Value::Object(map) = other {
                    let slot = map.entry(part.clone()).or_insert_with(fresh);
                    cur = slot;
                } else {
                    return;
                }
            }
        }
    }
}

/// Removes the value at a JSON pointer (a list item is replaced by an empty mapping, so later
/// items keep their place).
pub(crate) fn remove(doc: &mut Value, pointer: &str) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = crate::load::field_path::unescape(key);
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.shift_remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items[i] = Value::Object(Map::new());
            }
        }
        _ => {}
    }
}

/// An answers file as loaded: a partial manifest.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct AnswersFile(pub Value);

impl schemars::JsonSchema for AnswersFile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Answers".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::try_from(answers_schema().clone()).unwrap_or_default()
    }
}

/// The manifest's schema with every key optional, and `template` also a bare id.
fn answers_schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = <Manifest as Checked>::schema().clone();
        strip_required(&mut s);
        if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut)
            && let Some(t) = props.get("template").cloned()
        {
            props.insert(
                "template".into(),
                json!({"description": "The template id (`form-node`), or the manifest's template mapping.", "anyOf": [{"type": "string"}, t]}),
            );
        }
        s
    })
}

fn strip_required(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.shift_remove("required");
            for (_, child) in map.iter_mut() {
                strip_required(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_required),
        _ => {}
    }
}

impl Checked for AnswersFile {
    const NOUN: &'static str = "answers file";

    fn validator() -> &'static jsonschema::Validator {
        static V: OnceLock<jsonschema::Validator> = OnceLock::new();
        V.get_or_init(|| crate::load::schema::compile(answers_schema()))
    }

    fn schema() -> &'static Value {
        answers_schema()
    }

    fn check(cx: &mut Checker<'_>) {
        manifest::check(cx);
    }
}

/// Reads an answers file: every problem located, as `levee validate` reports them.
pub fn load(path: &Path) -> Result<Given, LoadError> {
    let loaded = document::load::<AnswersFile>(path)?;
    Ok(from_doc(loaded.value.0))
}

/// Answers from a partial manifest (an answers file's content).
pub(crate) fn from_doc(mut doc: Value) -> Given {
    let mut template = None;
    if let Some(map) = doc.as_object_mut() {
        template = match map.shift_remove("template") {
            Some(Value::String(id)) => Some(id),
            Some(Value::Object(t)) => t.get("id").and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        // `created` is the day the app is made, never an answer.
        if let Some(Value::Object(l)) = map.get_mut("lifecycle") {
            l.shift_remove("created");
        }
        // `sso: oidc` is shorthand for `{provider: oidc}`.
        if let Some(Value::String(p)) = map.get("sso").cloned() {
            map.insert("sso".into(), json!({"provider": p}));
        }
    }
    Given { doc, template }
}

/// An answers file's text: a comment saying how to finish (and what to change first), then the
/// answers as YAML with the manifest's keys.
pub fn to_yaml(given: &Given, resume: &str, refused: &[String]) -> String {
    let mut doc = given.doc.clone();
    if let (Some(id), Some(map)) = (&given.template, doc.as_object_mut()) {
        map.insert("template".into(), Value::String(id.clone()));
    }
    // In app.yaml's order, so the file reads like the manifest it will become.
    if let (Some(map), Some(order)) = (
        doc.as_object_mut(),
        <Manifest as Checked>::schema()
            .get("properties")
            .and_then(Value::as_object),
    ) {
        let rank = |k: &str| order.keys().position(|o| o == k).unwrap_or(usize::MAX);
        let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
        entries.sort_by_key(|(k, _)| rank(k));
        map.extend(entries);
    }
    let body = serde_norway::to_string(&doc).unwrap_or_default();
    let mut head = format!(
        "# Your answers to `levee new` so far; nothing else was written. To finish:\n#   {resume}\n# (change any answer below first; the keys are app.yaml's)\n"
    );
    if !refused.is_empty() {
        head.push_str("# What stopped the run:\n");
        for r in refused {
            for line in r.lines() {
                head.push_str(&format!("#   {line}\n"));
            }
        }
    }
    format!("{head}{body}")
}

/// Where levee keeps answers of runs that stopped: `$XDG_STATE_HOME/levee/answers`, else
/// `~/.local/state/levee/answers` (`%LOCALAPPDATA%\levee\answers` on Windows).
pub(crate) fn state_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = nonempty("XDG_STATE_HOME")
        .or_else(|| nonempty("LOCALAPPDATA").filter(|_| cfg!(windows)))
        .or_else(|| nonempty("HOME").map(|h| h.join(".local").join("state")))?;
    Some(base.join("levee").join("answers"))
}

/// Writes the answers into [`state_dir`] as `<stem>.yaml` (`<stem>-2.yaml`, ... when taken), and
/// returns the file's path.
pub(crate) fn save(
    given: &Given,
    stem: &str,
    refused: &[String],
    resume: impl Fn(&Path) -> String,
) -> std::io::Result<PathBuf> {
    let dir = state_dir().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no home directory (set XDG_STATE_HOME)",
        )
    })?;
    std::fs::create_dir_all(&dir)?;
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let stem = if stem.trim_matches('-').is_empty() {
        "new-app".to_string()
    } else {
        stem
    };
    let mut path = dir.join(format!("{stem}.yaml"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.yaml"));
        n += 1;
    }
    crate::support::fsio::write_atomic(&path, to_yaml(given, &resume(&path), refused).as_bytes())?;
    Ok(path)
}

/// `--dataset NAME:ACCESS[:PURPOSE]`.
pub fn parse_dataset(s: &str) -> Result<DataAccess, String> {
    let mut parts = s.splitn(3, ':');
    let dataset = parts.next().unwrap_or_default().trim().to_string();
    let access = parts.next().ok_or_else(|| {
        format!("`{s}` needs an access level: NAME:ACCESS[:PURPOSE], like `expenses:read:monthly report`")
    })?;
    let access_level = access.trim().parse::<AccessLevel>()?;
    let purpose = parts
        .next()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    if dataset.is_empty() {
        return Err(format!("`{s}` has no dataset name"));
    }
    Ok(DataAccess {
        dataset,
        access_level,
        purpose,
    })
}

/// `--secret NAME:PROVIDER`.
pub fn parse_secret(s: &str) -> Result<Secret, String> {
    let (name, provider) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` needs a store: NAME:STORE, like `PAYMENT_API_KEY:vault`"))?;
    Ok(Secret {
        name: name.trim().to_string(),
        provider: provider.trim().parse::<SecretProvider>()?,
        path: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_remove_make_the_way() {
        let mut d = json!({});
        set(&mut d, "/data_access/1/dataset", json!("x"));
        assert_eq!(d, json!({"data_access": [{}, {"dataset": "x"}]}));
        set(&mut d, "/runtime/egress/0", json!("a"));
        assert_eq!(d["runtime"]["egress"], json!(["a"]));
        remove(&mut d, "/data_access/1/dataset");
        assert_eq!(d["data_access"], json!([{}, {}]));
        remove(&mut d, "/runtime/egress/0");
        assert_eq!(d["runtime"]["egress"], json!([{}]));
    }

    #[test]
    fn flags_override_the_file() {
        let file = from_doc(
            json!({"name": "a", "sso": "oidc", "lifecycle": {"tier": "sandbox", "created": "2020-01-01"}, "template": {"id": "t", "version": "1"}}),
        );
        assert_eq!(file.template.as_deref(), Some("t"));
        assert_eq!(file.doc["sso"], json!({"provider": "oidc"}));
        let flags = Given::from(&Answers {
            name: Some("b".into()),
            expires: Date::parse("2026-04-01").ok(),
            ..Answers::default()
        });
        let both = flags.over(file);
        assert_eq!(both.doc["name"], "b");
        assert_eq!(
            both.doc["lifecycle"],
            json!({"tier": "sandbox", "expires": "2026-04-01"})
        );
    }
}
