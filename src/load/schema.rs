//! The published JSON Schemas, generated from the Rust types, and the structural check that uses
//! them: every schema violation in a file becomes a located diagnostic with a plain message.

use std::path::Path;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::load::diag::Diagnostic;
use crate::load::field_path::escape as escape_pointer;
use crate::load::yaml::Document;

/// Generates the JSON Schema (draft 2020-12) for `T`.
pub fn generate<T: schemars::JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null);
    forbid_control_characters(&mut schema);
    schema
}

/// The pattern every free-text string of levee's schemas carries: no character levee refuses in
/// user text (see [`crate::support::text::forbidden`]), so editors flag them too.
pub const ONE_LINE: &str =
    r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$";

/// The pattern of the few values that may hold several lines (a shell script in the org
/// config): line breaks and tabs allowed, the other control characters not.
pub const MULTI_LINE: &str =
    r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$";

/// Adds [`ONE_LINE`] to every string schema that has no pattern of its own, and to the keys of
/// every map.
fn forbid_control_characters(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            let constrained = ["pattern", "enum", "const"]
                .iter()
                .any(|k| map.contains_key(*k));
            if is_string && !constrained {
                map.insert("pattern".into(), Value::from(ONE_LINE));
            }
            if map.get("type").is_some_and(|t| t == "object")
                && map.contains_key("additionalProperties")
                && !map.contains_key("propertyNames")
            {
                map.insert(
                    "propertyNames".into(),
                    serde_json::json!({"pattern": ONE_LINE}),
                );
            }
            for child in map.values_mut() {
                forbid_control_characters(child);
            }
        }
        Value::Array(items) => {
            for item in items {
                forbid_control_characters(item);
            }
        }
        _ => {}
    }
}

/// Compiles a generated schema. The schemas are levee's own, so failure is a levee bug; it is
/// reported rather than panicking, by a validator that refuses everything with that message.
pub fn compile(schema: &Value) -> Validator {
    // Patterns compile with the `regex` crate directly: none of levee's uses look-around or
    // back-references, so fancy-regex's own parse of each pattern, before it hands the pattern
    // to `regex` anyway, is work the validator's compile can skip.
    jsonschema::options()
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .or_else(|e| {
            jsonschema::options().build(&serde_json::json!({
                "not": {}, "description": format!("levee's schema does not compile: {e}")
            }))
        })
        .unwrap_or_else(|_| unreachable_validator())
}

#[allow(clippy::unwrap_used)]
fn unreachable_validator() -> Validator {
    // `{"not": {}}` always compiles.
    jsonschema::validator_for(&serde_json::json!({"not": {}})).unwrap()
}

/// Every structural problem of `doc` against `schema`, located and explained.
pub fn structural(
    validator: &Validator,
    root: &Value,
    path: &Path,
    doc: &Document,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for e in validator.iter_errors(&doc.value) {
        explain(&e, root, path, doc, &mut out);
    }
    out
}

fn explain(
    e: &ValidationError<'_>,
    root: &Value,
    path: &Path,
    doc: &Document,
    out: &mut Vec<Diagnostic>,
) {
    let pointer = e.instance_path().as_str().to_string();
    let field = crate::load::field_path::dotted(&pointer);
    let label = if field.is_empty() {
        "the file".to_string()
    } else {
        format!("`{field}`")
    };
    let at = Site {
        root,
        path,
        doc,
        pointer,
        field,
        label,
    };
    let value = e.instance();
    match e.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            out.extend(unexpected.iter().map(|key| at.unknown_key(key)));
        }
        ValidationErrorKind::Required { property } => {
            out.push(at.missing_key(property.as_str().unwrap_or_default()));
        }
        ValidationErrorKind::Enum { options } => out.push(at.not_an_option(value, options)),
        ValidationErrorKind::Type { kind } => out.push(at.wrong_type(value, kind)),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            at.no_alternative(value, context, out);
        }
        ValidationErrorKind::Pattern { .. } | ValidationErrorKind::Format { .. } => {
            out.push(at.described(format!(
                "{} is not a valid {}",
                short(value),
                leaf(&at.field)
            )));
        }
        ValidationErrorKind::MaxLength { limit } => {
            let n = value.as_str().map_or(0, |s| s.chars().count());
            let label = &at.label;
            out.push(at.described(format!(
                "{label} is {n} characters long; the most is {limit}"
            )));
        }
        ValidationErrorKind::PropertyNames { error } => out.push(at.bad_key(error.instance())),
        ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => {
            out.push(
                at.value_diag(format!("{} must be at least {limit}", at.label))
                    .hint(describe(root, &at.pointer).unwrap_or_default()),
            );
        }
        _ => out.push(at.described(format!("{}: {e}", at.label))),
    }
}

/// Where a schema error is: the schema, the document, the value's pointer, its dotted field
/// path and how a message names it (`` `runtime.memory` ``, or "the file" for the root).
struct Site<'a> {
    root: &'a Value,
    path: &'a Path,
    doc: &'a Document,
    pointer: String,
    field: String,
    label: String,
}

impl Site<'_> {
    /// A diagnostic located at the value.
    fn value_diag(&self, message: String) -> Diagnostic {
        Diagnostic::for_value(self.path, &self.doc.spans, &self.pointer, message)
    }

    /// [`Site::value_diag`] with the schema's description of the field as its hint.
    fn described(&self, message: String) -> Diagnostic {
        let d = self.value_diag(message);
        match describe(self.root, &self.pointer) {
            Some(w) => d.hint(w),
            None => d,
        }
    }

    /// " in `field`", or nothing at the root.
    fn place(&self) -> String {
        if self.field.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", self.field)
        }
    }

    /// A key the schema does not allow here, with the closest allowed key (or all of them).
    fn unknown_key(&self, key: &str) -> Diagnostic {
        let allowed = allowed_keys(self.root, &self.pointer);
        let child = format!("{}/{}", self.pointer, escape_pointer(key));
        let d = Diagnostic::for_key(
            self.path,
            &self.doc.spans,
            &child,
            format!("unknown key `{key}`{}", self.place()),
        );
        match did_you_mean(key, &allowed) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("allowed keys here: {}", allowed.join(", "))),
        }
    }

    /// A required key that is missing: located at its mapping's key (line 1 at the root).
    fn missing_key(&self, prop: &str) -> Diagnostic {
        let pointer = &self.pointer;
        let child = format!("{pointer}/{}", escape_pointer(prop));
        let what = describe(self.root, &child);
        let mut d = Diagnostic::at(
            self.path,
            self.doc
                .spans
                .key_pos(pointer)
                .filter(|_| !pointer.is_empty()),
            format!("missing required key `{prop}`{}", self.place()),
        )
        .field(&child);
        if d.line.is_none() {
            d.line = Some(1);
            d.column = Some(1);
            d.offset = Some(0);
        }
        match what {
            Some(w) => d.hint(format!("add `{prop}`: {w}")),
            None => d.hint(format!("add `{prop}`")),
        }
    }

    /// A value not among the schema's `enum` options.
    fn not_an_option(&self, value: &Value, options: &Value) -> Diagnostic {
        let opts: Vec<String> = options
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        self.not_one_of(value, &opts)
    }

    /// "`got` is not a valid field; expected one of: …", with the closest option as the hint.
    fn not_one_of(&self, value: &Value, options: &[String]) -> Diagnostic {
        let d = self.value_diag(format!(
            "{} is not a valid {}; expected one of: {}",
            short(value),
            leaf(&self.field),
            options.join(", ")
        ));
        match value.as_str().and_then(|s| did_you_mean(s, options)) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d,
        }
    }

    /// A value of the wrong JSON type.
    fn wrong_type(&self, value: &Value, kind: &TypeKind) -> Diagnostic {
        let expected = match kind {
            TypeKind::Single(t) => type_name(&t.to_string()),
            TypeKind::Multiple(ts) => ts
                .iter()
                .map(|t| t.to_string())
                .filter(|t| t != "null")
                .map(|t| type_name(&t))
                .collect::<Vec<_>>()
                .join(" or "),
        };
        self.described(format!(
            "{} must be {expected}, not {}",
            self.label,
            value_kind(value)
        ))
    }

    /// A value no `anyOf`/`oneOf` alternative accepts: for an enum-like scalar, the values all
    /// alternatives allow; else the errors of the alternative of the same shape as the value (a
    /// mapping for a mapping), which are the useful ones; else one message.
    fn no_alternative(
        &self,
        value: &Value,
        context: &[Vec<ValidationError<'_>>],
        out: &mut Vec<Diagnostic>,
    ) {
        let pointer = &self.pointer;
        let same_shape = context.iter().find(|errs| {
            !errs.iter().any(|x| {
                x.instance_path().as_str() == pointer
                    && matches!(
                        x.kind(),
                        ValidationErrorKind::Type { .. } | ValidationErrorKind::Enum { .. }
                    )
            })
        });
        let values = subschema(self.root, pointer)
            .map(|sub| allowed_values(self.root, sub, 0))
            .unwrap_or_default();
        let is_scalar = !value.is_object() && !value.is_array();
        if is_scalar && !values.is_empty() && is_enum_like(self.root, pointer) {
            out.push(self.not_one_of(value, &values));
            return;
        }
        match same_shape {
            Some(errs) if !errs.is_empty() => {
                for x in errs {
                    explain(x, self.root, self.path, self.doc, out);
                }
            }
            _ => out.push(self.described(format!(
                "{} is not a valid value for {}",
                short(value),
                self.label
            ))),
        }
    }

    /// A key the mapping's `propertyNames` refuses: located at the key itself, as the meaning
    /// checks locate their own message about it (which then replaces this one).
    fn bad_key(&self, key_value: &Value) -> Diagnostic {
        let key = key_value.as_str().unwrap_or_default();
        let child = format!("{}/{}", self.pointer, escape_pointer(key));
        let d = Diagnostic::for_key(
            self.path,
            &self.doc.spans,
            &child,
            format!("{} is not a valid key in {}", short(key_value), self.label),
        );
        match describe(self.root, &self.pointer) {
            Some(w) => d.hint(w),
            None => d,
        }
    }
}

fn leaf(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    match last {
        "" => "value".into(),
        "type" => "runtime type".into(),
        other => other.replace('_', " "),
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > 40 {
        format!("`{}…`", s.chars().take(40).collect::<String>())
    } else {
        format!("`{s}`")
    }
}

fn type_name(t: &str) -> String {
    match t {
        "object" => "a mapping (`key: value` lines)".into(),
        "array" => "a list (`- item` lines)".into(),
        "string" => "text".into(),
        "integer" => "a whole number".into(),
        "number" => "a number".into(),
        "boolean" => "true or false".into(),
        "null" => "empty".into(),
        other => other.into(),
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "empty",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Is the value at `pointer` an enumeration (only constants, no free-form alternative)?
fn is_enum_like(root: &Value, pointer: &str) -> bool {
    fn only_consts(root: &Value, s: &Value, depth: usize) -> bool {
        let s = resolve(root, s);
        if s.get("enum").is_some() || s.get("const").is_some() {
            return true;
        }
        if s.get("type").and_then(Value::as_str) == Some("null") {
            return true;
        }
        match s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Value::as_array)
        {
            Some(alts) if depth < 8 => alts.iter().all(|a| only_consts(root, a, depth + 1)),
            _ => false,
        }
    }
    subschema(root, pointer).is_some_and(|s| only_consts(root, s, 0))
}

/// The closest candidate, if it is close enough to be what the user meant.
pub fn did_you_mean<'a>(got: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&got.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.as_str())
}

/// The subschema describing the value at an instance pointer.
pub fn subschema<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut cur = resolve(root, root);
    for seg in crate::load::field_path::FieldPath::from_pointer(pointer).segments() {
        cur = object_branch(root, cur);
        cur = if let Some(p) = cur.get("properties").and_then(|p| p.get(seg)) {
            resolve(root, p)
        } else if let Some(items) = cur.get("items") {
            resolve(root, items)
        } else {
            return None;
        };
    }
    Some(cur)
}

/// Does the schema require the key at `pointer` in its parent (`/lifecycle/tier`,
/// `/secrets/0/provider`)?
pub fn is_required(root: &Value, pointer: &str) -> bool {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return false;
    };
    subschema(root, parent)
        .map(|s| object_branch(root, s))
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|k| k.as_str() == Some(key)))
}

/// Follows `$ref`s within the root schema.
fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(p) => match root.pointer(p) {
                Some(t) => s = t,
                None => break,
            },
            None => break,
        }
    }
    s
}

/// For an `anyOf`, the branch that is a mapping or list (where children are described).
fn object_branch<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    fn find<'a>(root: &'a Value, s: &'a Value, depth: usize) -> Option<&'a Value> {
        let s = resolve(root, s);
        if s.get("properties").is_some() || s.get("items").is_some() {
            return Some(s);
        }
        if depth > 8 {
            return None;
        }
        s.get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Value::as_array)?
            .iter()
            .find_map(|alt| find(root, alt, depth + 1))
    }
    find(root, s, 0).unwrap_or(s)
}

/// The values an enum-like schema allows (`enum`, or `oneOf`/`anyOf` of `const`s).
fn allowed_values(root: &Value, s: &Value, depth: usize) -> Vec<String> {
    let s = resolve(root, s);
    let text = |v: &Value| v.as_str().map_or(v.to_string(), str::to_string);
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return values.iter().filter(|v| !v.is_null()).map(text).collect();
    }
    if let Some(c) = s.get("const") {
        return vec![text(c)];
    }
    if depth > 8 {
        return Vec::new();
    }
    s.get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .flat_map(|a| allowed_values(root, a, depth + 1))
                .collect()
        })
        .unwrap_or_default()
}

fn allowed_keys(root: &Value, pointer: &str) -> Vec<String> {
    subschema(root, pointer)
        .map(|s| object_branch(root, s))
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schema's description of the value at `pointer`.
fn describe(root: &Value, pointer: &str) -> Option<String> {
    // A property's own description sits beside its `$ref` in the parent.
    let (parent, key) = pointer.rsplit_once('/')?;
    let from_parent = subschema(root, parent)
        .map(|s| object_branch(root, s))
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(crate::load::field_path::unescape(key)))
        .and_then(|p| p.get("description"))
        .and_then(Value::as_str);
    from_parent
        .or_else(|| subschema(root, pointer)?.get("description")?.as_str())
        .map(|s| {
            let s = s.replace('\n', " ");
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let keys = vec!["data_access".to_string(), "secrets".to_string()];
        assert_eq!(did_you_mean("data_acess", &keys), Some("data_access"));
        assert_eq!(did_you_mean("zzz", &keys), None);
    }
}
