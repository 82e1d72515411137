//! Loading a user-written YAML file (manifest, org config) into a checked, typed value.
//!
//! One pipeline for every such file: bytes -> UTF-8 -> YAML with positions ([`crate::load::yaml`]) ->
//! the published JSON Schema (every structural problem) and the type's own meaning checks
//! (every semantic problem) -> the typed value. All problems of a file are reported together.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::load::diag::{Diagnostic, Severity};
use crate::load::schema;
use crate::load::yaml::{self, Document};

/// A file's path and text, kept for printing located errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// The text, without a leading byte order mark.
    pub text: String,
    /// The file started with a UTF-8 byte order mark (kept when levee rewrites it).
    pub bom: bool,
}

impl Source {
    /// `text` as it would be written back to this file (with its byte order mark, if it had one).
    pub(crate) fn as_written(&self, text: &str) -> String {
        if self.bom {
            format!("{}{text}", crate::load::yaml::BOM)
        } else {
            text.to_string()
        }
    }
}

/// Names the registered datasets an unusable dataset name looks like.
pub type DatasetLookalikes<'a> = &'a dyn Fn(&str) -> Vec<String>;

/// What the meaning checks may consult beyond the file itself; [`load`] passes none, and the
/// checks that need it are skipped. `levee validate` and `levee check` pass both.
#[derive(Default, Clone, Copy)]
pub struct Context<'a> {
    /// Today, for dates that may not lie in the future.
    pub today: Option<crate::support::clock::Date>,
    /// The registered datasets an unusable dataset name looks like (the org's policy decides),
    /// for "did you mean" hints.
    pub dataset_lookalikes: Option<DatasetLookalikes<'a>>,
    /// The kinds and stacks the app's template pack declares (the built-in pack's if `None`).
    pub declared: Option<&'a crate::load::declarations::Declarations>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("today", &self.today)
            .field("dataset_lookalikes", &self.dataset_lookalikes.is_some())
            .field("declared", &self.declared.is_some())
            .finish()
    }
}

/// What the meaning checks see: the parsed tree, its positions, the context, and where to put
/// problems.
#[derive(Debug)]
pub struct Checker<'a> {
    path: &'a Path,
    doc: &'a Document,
    pub context: Context<'a>,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) fn with_context(path: &'a Path, doc: &'a Document, context: Context<'a>) -> Self {
        Checker {
            path,
            doc,
            context,
            diags: Vec::new(),
        }
    }

    /// The value at a JSON pointer.
    pub(crate) fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.value.pointer(pointer)
    }

    /// The scalars YAML 1.1 tools read differently from levee.
    pub(crate) fn yaml11(&self) -> &'a [crate::load::yaml::Yaml11Scalar] {
        &self.doc.yaml11
    }

    /// Records an error about the value at `pointer`.
    pub(crate) fn error(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::for_value(self.path, &self.doc.spans, pointer, message).hint(hint));
    }

    /// Records an error about the key at `pointer` (a mapping's own key, like a setting's name).
    pub(crate) fn key_error(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::for_key(self.path, &self.doc.spans, pointer, message).hint(hint));
    }
}

/// Starts compiling `T`'s schema validator on a thread of its own and returns at once, so that
/// the compile (milliseconds: the JSON Schema, its meta-schema check and its patterns) overlaps
/// whatever the caller does before it first validates; [`Checked::validator`] then waits for it
/// or finds it built. A process that ends first simply never uses it.
pub(crate) fn prepare_validator<T: Checked + 'static>() {
    std::thread::spawn(|| {
        let _ = T::validator();
    });
}

/// A YAML file type levee reads: a schema, meaning checks, and a name for messages.
pub trait Checked: DeserializeOwned + JsonSchema {
    /// What the file is, for messages ("manifest").
    const NOUN: &'static str;
    /// The compiled schema validator (built once per process).
    fn validator() -> &'static jsonschema::Validator;
    /// The root schema, for looking up allowed keys and descriptions.
    fn schema() -> &'static Value;
    /// Meaning checks beyond the schema.
    fn check(cx: &mut Checker<'_>);
    /// True when `value` passes the schema by a check compiled into levee when it was built
    /// (the manifest's and the org config's: `model::shape`): the run-time validator is then not
    /// compiled. False sends the value through [`Checked::validator`], which explains what is
    /// wrong.
    fn passes_compiled_schema(_value: &Value) -> bool {
        false
    }
    /// JSON pointers of the values that may hold several lines (a shell script): line breaks
    /// and tabs are allowed there, the other control characters still refused. Every other
    /// string is one line of printable text (see [`crate::support::text::forbidden`]).
    const MULTILINE: &'static [&'static str] = &[];
}

/// A checked file: the typed value and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub value: T,
    pub source: Source,
    pub doc: Document,
}

/// Why a file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all (exit 2).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read and has problems (exit 1).
    #[error("{} has {} problem(s)", file.path.display(), diags.len())]
    Invalid {
        file: Source,
        diags: Vec<Diagnostic>,
    },
}

/// Reads and checks a file.
pub fn load<T: Checked>(path: &Path) -> Result<Loaded<T>, LoadError> {
    load_with(path, Context::default())
}

/// Reads and checks a file, with the context the meaning checks may consult.
pub(crate) fn load_with<T: Checked>(
    path: &Path,
    context: Context<'_>,
) -> Result<Loaded<T>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Regular files only (a named pipe or a device is refused without blocking), and never
    // more than the limit read: see `crate::support::input`.
    let bytes = match crate::support::input::read(path, yaml::MAX_BYTES) {
        Ok(b) => b,
        Err(e) if crate::support::input::is_too_large(&e) => {
            let diag = Diagnostic::at(
                path,
                None,
                format!(
                    "the file is larger than {max} bytes; levee reads {} files of at most {max} \
                     bytes",
                    T::NOUN,
                    max = yaml::MAX_BYTES,
                ),
            )
            .hint("a manifest is a few kilobytes: check that this is the file you meant");
            return Err(invalid(path, String::new(), vec![diag]));
        }
        Err(e) => return Err(io(e)),
    };
    parse_bytes_with(path, &bytes, context)
}

/// Checks bytes that came from `path`.
pub fn parse_bytes<T: Checked>(path: &Path, bytes: &[u8]) -> Result<Loaded<T>, LoadError> {
    parse_bytes_with(path, bytes, Context::default())
}

fn parse_bytes_with<T: Checked>(
    path: &Path,
    bytes: &[u8],
    context: Context<'_>,
) -> Result<Loaded<T>, LoadError> {
    let text = match yaml::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            return Err(invalid(path, lossy, vec![Diagnostic::from_yaml(path, &e)]));
        }
    };
    let mut loaded = parse_str_with(path, text, context)?;
    loaded.source.bom = bytes.starts_with(yaml::BOM.as_bytes());
    Ok(loaded)
}

/// Checks text that came from `path`.
pub fn parse_str<T: Checked>(path: &Path, text: &str) -> Result<Loaded<T>, LoadError> {
    parse_str_with(path, text, Context::default())
}

/// Checks text that came from `path`, with the context the meaning checks may consult.
pub(crate) fn parse_str_with<T: Checked>(
    path: &Path,
    text: &str,
    context: Context<'_>,
) -> Result<Loaded<T>, LoadError> {
    let (text, bom) = match text.strip_prefix(yaml::BOM) {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            return Err(invalid(
                path,
                text.to_string(),
                vec![Diagnostic::from_yaml(path, &e)],
            ));
        }
    };
    let diags = check_document_with::<T>(path, &doc, context);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(invalid(path, text.to_string(), diags));
    }
    match serde_json::from_value::<T>(doc.value.clone()) {
        Ok(value) => Ok(Loaded {
            value,
            source: Source {
                path: path.to_path_buf(),
                text: text.to_string(),
                bom,
            },
            doc,
        }),
        // The schema and the meaning checks accept only what the types accept; reaching this
        // is a levee bug, but the user still gets a located message rather than a panic.
        Err(e) => Err(invalid(
            path,
            text.to_string(),
            vec![Diagnostic::at(
                path,
                None,
                format!("cannot read the {}: {e}", T::NOUN),
            )],
        )),
    }
}

pub(crate) fn check_document_with<T: Checked>(
    path: &Path,
    doc: &Document,
    context: Context<'_>,
) -> Vec<Diagnostic> {
    let mut cx = Checker::with_context(path, doc, context);
    if !doc.value.is_object() {
        cx.diags.push(
            Diagnostic::at(
                path,
                doc.spans.value_pos(""),
                format!("the {} must be a YAML mapping of keys to values", T::NOUN),
            )
            .hint("start from `levee new` or the example in the README"),
        );
        return cx.diags;
    }
    // A value with a control character gets that one message: the type's own checks would
    // only restate it less precisely (a team name "not usable as written").
    let refused = control_characters(path, doc, T::NOUN, T::MULTILINE);
    let refused_fields: Vec<Option<String>> = refused.iter().map(|d| d.field.clone()).collect();
    T::check(&mut cx);
    let mut diags = refused;
    diags.extend(
        cx.diags
            .into_iter()
            .filter(|d| d.field.is_none() || !refused_fields.contains(&d.field)),
    );
    if !T::passes_compiled_schema(&doc.value) {
        let covered: Vec<String> = diags.iter().filter_map(|d| d.field.clone()).collect();
        for d in schema::structural(T::validator(), T::schema(), path, doc) {
            let shadowed = d.field.as_ref().is_some_and(|f| {
                covered.iter().any(|c| {
                    f == c || f.starts_with(&format!("{c}.")) || f.starts_with(&format!("{c}["))
                })
            });
            if !shadowed {
                diags.push(d);
            }
        }
    }
    diags.sort_by_key(|d| (d.line.unwrap_or(0), d.column.unwrap_or(0)));
    diags.dedup();
    diags
}

/// Every key and string value of `doc` holding a character levee refuses in user text (see
/// [`crate::support::text::forbidden`]), located: it would break the YAML, Kubernetes manifests,
/// pipelines and READMEs levee generates from it, or act on the terminal or CI log that shows
/// it. `noun` names the file in the hint (`manifest`, `answers file`); at the JSON pointers in
/// `multiline`, line breaks and tabs are allowed.
pub(crate) fn control_characters(
    path: &Path,
    doc: &Document,
    noun: &str,
    multiline: &[&str],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk_strings(&doc.value, String::new(), &mut |text, at, is_key| {
        let allow_lines = multiline.contains(&at);
        let found = text.chars().enumerate().find_map(|(i, c)| {
            let allowed = allow_lines && matches!(c, '\n' | '\t');
            crate::support::text::forbidden(c)
                .filter(|_| !allowed)
                .map(|why| (i, c, why))
        });
        let Some((i, c, why)) = found else { return };
        let what = if is_key { "key" } else { "value" };
        let message = format!(
            "this {what} contains {why} ({}, character {}): `{}`",
            crate::support::text::code_point(c),
            i + 1,
            crate::support::text::escape(text)
        );
        let hint = format!(
            "write it as one line of printable text: levee refuses control characters in {noun}s \
             (they would break the files it generates and act on terminals and CI logs that show \
             them)"
        );
        let d = if is_key {
            Diagnostic::for_key(path, &doc.spans, at, message)
        } else {
            Diagnostic::for_value(path, &doc.spans, at, message)
        };
        out.push(d.hint(hint));
    });
    out
}

/// Calls `f(text, pointer, is_key)` for every key and string value.
fn walk_strings(value: &Value, pointer: String, f: &mut dyn FnMut(&str, &str, bool)) {
    match value {
        Value::String(s) => f(s, &pointer, false),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk_strings(v, format!("{pointer}/{i}"), f);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{pointer}/{}", crate::load::field_path::escape(k));
                f(k, &child, true);
                walk_strings(v, child, f);
            }
        }
        _ => {}
    }
}

fn invalid(path: &Path, text: String, diags: Vec<Diagnostic>) -> LoadError {
    LoadError::Invalid {
        file: Source {
            path: path.to_path_buf(),
            text,
            bom: false,
        },
        diags,
    }
}
