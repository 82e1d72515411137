//! Loading a user-written YAML file (manifest, org config) into a checked, typed value.
//!
//! One pipeline for every such file: bytes -> UTF-8 -> YAML with positions ([`crate::yaml`]) ->
//! the published JSON Schema (every structural problem) and the type's own meaning checks
//! (every semantic problem) -> the typed value. All problems of a file are reported together.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diag::{Diagnostic, Severity};
use crate::schema;
use crate::yaml::{self, Document};

/// A file's path and text, kept for printing located errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// Names the registered datasets an unusable dataset name looks like.
pub type DatasetLookalikes<'a> = &'a dyn Fn(&str) -> Vec<String>;

/// What the meaning checks may consult beyond the file itself; [`load`] passes none, and the
/// checks that need it are skipped. `levee validate` and `levee check` pass both.
#[derive(Default, Clone, Copy)]
pub struct Context<'a> {
    /// Today, for dates that may not lie in the future.
    pub today: Option<crate::manifest::Date>,
    /// The registered datasets an unusable dataset name looks like (the org's policy decides),
    /// for "did you mean" hints.
    pub dataset_lookalikes: Option<DatasetLookalikes<'a>>,
    /// The kinds and stacks the app's template pack declares (the built-in pack's if `None`).
    pub declared: Option<&'a crate::declarations::Declarations>,
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
    pub fn new(path: &'a Path, doc: &'a Document) -> Self {
        Checker::with_context(path, doc, Context::default())
    }

    pub fn with_context(path: &'a Path, doc: &'a Document, context: Context<'a>) -> Self {
        Checker {
            path,
            doc,
            context,
            diags: Vec::new(),
        }
    }

    /// The value at a JSON pointer.
    pub fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.value.pointer(pointer)
    }

    /// The scalars YAML 1.1 tools read differently from levee.
    pub fn yaml11(&self) -> &'a [crate::yaml::Yaml11Scalar] {
        &self.doc.yaml11
    }

    /// Records an error about the value at `pointer`.
    pub fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::for_value(self.path, &self.doc.spans, pointer, message).hint(hint));
    }

    /// Records an error about the key at `pointer` (a mapping's own key, like a setting's name).
    pub fn key_error(
        &mut self,
        pointer: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::for_key(self.path, &self.doc.spans, pointer, message).hint(hint));
    }
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
pub fn load_with<T: Checked>(path: &Path, context: Context<'_>) -> Result<Loaded<T>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit so an oversized file is told apart without reading it all.
    file.take(yaml::MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > yaml::MAX_BYTES {
        let size = fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(bytes.len() as u64);
        let diag = Diagnostic::at(
            path,
            None,
            format!(
                "the file is {size} bytes; levee reads {} files of at most {} bytes",
                T::NOUN,
                yaml::MAX_BYTES
            ),
        )
        .hint("a manifest is a few kilobytes: check that this is the file you meant");
        return Err(invalid(path, String::new(), vec![diag]));
    }
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
    parse_str_with(path, text, context)
}

/// Checks text that came from `path`.
pub fn parse_str<T: Checked>(path: &Path, text: &str) -> Result<Loaded<T>, LoadError> {
    parse_str_with(path, text, Context::default())
}

/// Checks text that came from `path`, with the context the meaning checks may consult.
pub fn parse_str_with<T: Checked>(
    path: &Path,
    text: &str,
    context: Context<'_>,
) -> Result<Loaded<T>, LoadError> {
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

/// Every problem of a parsed document: structural (schema) and semantic (meaning checks).
/// A meaning check's message replaces the schema's for the same value.
pub fn check_document<T: Checked>(path: &Path, doc: &Document) -> Vec<Diagnostic> {
    check_document_with::<T>(path, doc, Context::default())
}

pub fn check_document_with<T: Checked>(
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
    T::check(&mut cx);
    let mut diags = cx.diags;
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
    diags.sort_by_key(|d| (d.line.unwrap_or(0), d.column.unwrap_or(0)));
    diags.dedup();
    diags
}

fn invalid(path: &Path, text: String, diags: Vec<Diagnostic>) -> LoadError {
    LoadError::Invalid {
        file: Source {
            path: path.to_path_buf(),
            text,
        },
        diags,
    }
}
