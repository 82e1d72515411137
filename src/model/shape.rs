//! The manifest's and the org config's structural checks, compiled when levee is built.
//!
//! Compiling a JSON Schema validator at run time (the schema generated from the types, the
//! meta-schema check, the patterns) cost a `levee check` of one manifest more than its policy
//! evaluation did. The schemas generated from the types are committed as
//! `schemas/{manifest,org}.schema.json` (a test keeps them equal to what the types generate),
//! and jsonschema's `validator` macro turns each into Rust code at build time, with the options
//! of the run-time validator ([`crate::load::schema::compile`]): formats checked, patterns on
//! the `regex` engine.
//!
//! Only the verdict comes from here: a file these accept is structurally valid and no schema
//! is compiled; a file they refuse goes through the run-time validator, whose errors are
//! explained and located as before. A test checks that both decide the same on the fixtures
//! and on thousands of mutations of them.
//!
//! The macro reads a verdict copy of each committed schema (`src/model/verdict/`, kept equal by
//! a test to [`crate::model::pattern::verdict_schema`] of it), where every pattern that would need
//! a regex built at run time is matched by a plain function instead ([`crate::model::pattern`]).

/// `schemas/manifest.schema.json`: the schema of `app.yaml`.
#[jsonschema::validator(
    path = "src/model/verdict/manifest.json",
    validate_formats = true,
    pattern_options = { engine = regex },
    keywords = { "levee-pattern" => crate::model::pattern::keyword },
    methods = { is_valid = true, validate = false, iter_errors = false }
)]
pub(crate) struct ManifestShape;

/// `schemas/org.schema.json`: the schema of `levee.org.yaml`.
#[jsonschema::validator(
    path = "src/model/verdict/org.json",
    validate_formats = true,
    pattern_options = { engine = regex },
    keywords = { "levee-pattern" => crate::model::pattern::keyword },
    methods = { is_valid = true, validate = false, iter_errors = false }
)]
pub(crate) struct OrgShape;

/// The manifest schema's structure (its verdict copy: no descriptions, a third of the text), for
/// asking which keys are required without reading the whole schema: the wizard's question of
/// each answer, in every `levee new`.
pub(crate) fn manifest_structure() -> &'static serde_json::Value {
    static S: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        serde_json::from_str(include_str!("verdict/manifest.json")).unwrap_or_else(|_| {
            <crate::model::manifest::Manifest as crate::load::document::Checked>::schema().clone()
        })
    })
}

/// A committed schema, read from its text (built into levee). A test keeps the text equal to
/// what the types generate, so this is the same value as `generate` returns, read in about a
/// quarter of the time generating takes (80 against 290 us for the manifest's, measured in a
/// release build): the explanation of an invalid file and `levee schema` read it.
pub(crate) fn committed(text: &str, generate: fn() -> serde_json::Value) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| generate())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde_json::{Value, json};

    use super::{ManifestShape, OrgShape};
    use crate::load::document::Checked;
    use crate::load::schema::generate;
    use crate::model::manifest::Manifest;
    use crate::model::org::Org;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// Every YAML file under `dir` (recursively) whose name `wanted` accepts, as values.
    fn yaml_files(dir: &Path, wanted: &dyn Fn(&str) -> bool, out: &mut Vec<(String, Value)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if p.is_dir() && name.as_deref().is_none_or(|n| n != "node_modules") {
                yaml_files(&p, wanted, out);
            } else if name.as_deref().is_some_and(wanted)
                && let Ok(text) = std::fs::read_to_string(&p)
                && let Ok(doc) = crate::load::yaml::parse(&text)
            {
                out.push((p.display().to_string(), doc.value));
            }
        }
    }

    /// The values a mutation puts in place of a node: every JSON type, and strings shaped like
    /// the schemas' patterns and formats, just inside and just outside them.
    fn replacements() -> Vec<Value> {
        vec![
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(3),
            json!(1.5),
            json!(2.0),
            json!(1e20),
            json!(""),
            json!(" "),
            json!("x"),
            json!("ab"),
            json!("a\u{7}b"),
            json!("two\nlines"),
            json!("UPPER_CASE"),
            json!("API_TOKEN"),
            json!("app-name"),
            json!("-bad-"),
            json!("500m"),
            json!("0.5"),
            json!("512Mi"),
            json!("2026-01-31"),
            json!("2026-02-30"),
            json!("someone@acme.corp"),
            json!("someone@"),
            json!("https://id.acme.corp"),
            json!("http://example.com"),
            json!("*.acme.corp"),
            json!("a".repeat(63)),
            json!("x".repeat(300)),
            json!("0123456789abcdef0123456789abcdef01234567"),
            json!([]),
            json!(["x"]),
            json!({}),
            json!({"zz": 1}),
        ]
    }

    /// `value` and its mutations: each node removed, replaced by each of [`replacements`], and
    /// each object given an unknown key and a key with a control character.
    fn mutations(value: &Value) -> Vec<Value> {
        fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        pointers(
                            c,
                            format!("{at}/{}", crate::load::field_path::escape(k)),
                            out,
                        );
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        pointers(c, format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
            out.push(at);
        }
        let mut at = Vec::new();
        pointers(value, String::new(), &mut at);
        let mut out = vec![value.clone()];
        for p in at.iter().filter(|p| !p.is_empty()) {
            let (parent, last) = p.rsplit_once('/').unwrap_or(("", p));
            let mut removed = value.clone();
            match removed.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    let key = last.replace("~1", "/").replace("~0", "~");
                    m.remove(&key);
                }
                Some(Value::Array(a)) => {
                    if let Ok(i) = last.parse::<usize>() {
                        a.remove(i);
                    }
                }
                _ => {}
            }
            out.push(removed);
            for r in replacements() {
                let mut changed = value.clone();
                if let Some(slot) = changed.pointer_mut(p) {
                    *slot = r;
                }
                out.push(changed);
            }
        }
        for p in &at {
            for key in ["zz_unknown", "bell\u{7}"] {
                let mut added = value.clone();
                if let Some(Value::Object(m)) = added.pointer_mut(p) {
                    m.insert(key.into(), json!("x"));
                    out.push(added);
                }
            }
        }
        out
    }

    /// The check compiled into levee and the run-time validator decide the same, on `docs` and
    /// every mutation of them. Returns how many were valid and how many invalid.
    fn agree<T: Checked>(docs: &[(String, Value)], compiled: fn(&Value) -> bool) -> (usize, usize) {
        let runtime = T::validator();
        let (mut valid, mut invalid) = (0, 0);
        for (path, doc) in docs {
            for m in mutations(doc) {
                let want = runtime.is_valid(&m);
                assert_eq!(
                    compiled(&m),
                    want,
                    "{path}: the build-time and run-time schema checks disagree on {m:#}"
                );
                if want {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        (valid, invalid)
    }

    #[test]
    fn the_compiled_manifest_check_decides_as_the_schema_does() {
        let mut docs = Vec::new();
        yaml_files(&root().join("tests"), &|n| n == "app.yaml", &mut docs);
        for dir in ["tests/policy/corpus", "tests/manifests"] {
            yaml_files(&root().join(dir), &|n| n.ends_with(".yaml"), &mut docs);
        }
        assert!(docs.len() >= 100, "{} manifests found", docs.len());
        let (valid, invalid) = agree::<Manifest>(&docs, ManifestShape::is_valid);
        // Both verdicts are exercised, each many times.
        assert!(
            valid >= 1_000 && invalid >= 10_000,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn the_compiled_org_check_decides_as_the_schema_does() {
        let mut docs = Vec::new();
        yaml_files(
            &root().join("tests"),
            &|n| n.ends_with("levee.org.yaml"),
            &mut docs,
        );
        let builtin = serde_json::to_value(Org::builtin()).expect("org as json");
        docs.push(("the built-in org".into(), builtin));
        assert!(docs.len() >= 4, "{} org configs found", docs.len());
        let (valid, invalid) = agree::<Org>(&docs, OrgShape::is_valid);
        assert!(
            valid >= 500 && invalid >= 1_000,
            "{valid} valid, {invalid} invalid"
        );
    }

    /// The verdict schemas the compiled checks are generated from are the committed schemas with
    /// their patterns as `levee-pattern` (`LEVEE_UPDATE_SCHEMAS=1` rewrites them too).
    #[test]
    fn the_verdict_schemas_are_the_committed_ones_with_matched_patterns() {
        let update = std::env::var_os("LEVEE_UPDATE_SCHEMAS").is_some();
        for (name, schema) in [
            ("manifest", <Manifest as Checked>::schema()),
            ("org", <Org as Checked>::schema()),
        ] {
            keep_committed(
                &root()
                    .join("src/model/verdict")
                    .join(format!("{name}.json")),
                &crate::model::pattern::verdict_schema(schema),
                update,
                "is stale: run `LEVEE_UPDATE_SCHEMAS=1 cargo test --lib verdict_schemas` and commit it",
            );
        }
    }

    /// `value` as the pretty JSON committed at `path`: written there when `update`, else
    /// compared with it (`stale` says how to regenerate it).
    fn keep_committed(path: &Path, value: &Value, update: bool, stale: &str) {
        let mut want = serde_json::to_string_pretty(value).expect("json");
        want.push('\n');
        if update {
            std::fs::write(path, &want).expect("write");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(have == want, "{} {stale}", path.display());
    }

    /// Which keys are required reads the same in the structure as in the whole schema, for the
    /// pointer of every value of every fixture manifest and of every key the schema describes.
    #[test]
    fn the_manifest_structure_says_what_is_required_as_the_schema_does() {
        fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
            out.push(at.clone());
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        let p = format!("{at}/{}", crate::load::field_path::escape(k));
                        pointers(c, p, out);
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        pointers(c, format!("{at}/{i}"), out);
                    }
                }
                _ => {}
            }
        }
        let mut docs = Vec::new();
        yaml_files(&root().join("tests"), &|n| n == "app.yaml", &mut docs);
        yaml_files(
            &root().join("tests/manifests"),
            &|n| n.ends_with(".yaml"),
            &mut docs,
        );
        let mut at = Vec::new();
        for (_, doc) in &docs {
            pointers(doc, String::new(), &mut at);
        }
        // And every property the schema names, at any depth.
        pointers(<Manifest as Checked>::schema(), String::new(), &mut at);
        at.sort();
        at.dedup();
        let (full, structure) = (<Manifest as Checked>::schema(), super::manifest_structure());
        assert_ne!(full, structure);
        let mut required = 0;
        for p in &at {
            let want = crate::load::schema::is_required(full, p);
            assert_eq!(crate::load::schema::is_required(structure, p), want, "{p}");
            required += usize::from(want);
        }
        assert!(
            at.len() > 500 && required > 10,
            "{} pointers, {required} required",
            at.len()
        );
    }

    /// The committed schemas are the ones the types generate. After changing a type, regenerate
    /// them with `LEVEE_UPDATE_SCHEMAS=1 cargo test --lib committed_schemas`.
    #[test]
    fn the_committed_schemas_are_the_generated_ones() {
        let update = std::env::var_os("LEVEE_UPDATE_SCHEMAS").is_some();
        for (name, schema) in [
            ("manifest", generate::<Manifest>()),
            ("org", generate::<Org>()),
        ] {
            keep_committed(
                &root().join("schemas").join(format!("{name}.schema.json")),
                &schema,
                update,
                "is not the schema the types generate: run `LEVEE_UPDATE_SCHEMAS=1 cargo test \
                 --lib committed_schemas` and commit it",
            );
        }
        // The schemas levee works with are these files, each the right one.
        assert_eq!(<Manifest as Checked>::schema(), &generate::<Manifest>());
        assert_eq!(<Org as Checked>::schema(), &generate::<Org>());
    }
}
