//! Loading a user-written YAML file (manifest, org config) into a checked, typed value.
//!
//! One pipeline for every such file: bytes -> UTF-8 -> YAML with positions ([`crate::yaml`]) ->
//! the published JSON Schema (every structural problem) and the type's own meaning checks
//! (every semantic problem) -> the typed value. All problems of a file are reported together.

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

/// What the meaning checks see: the parsed tree, its positions, and where to put problems.
#[derive(Debug)]
pub struct Checker<'a> {
    path: &'a Path,
    doc: &'a Document,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub fn new(path: &'a Path, doc: &'a Document) -> Self {
        Checker {
            path,
            doc,
            diags: Vec::new(),
        }
    }

    /// The value at a JSON pointer.
    pub fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.value.pointer(pointer)
    }

    /// Records an error about the value at `pointer`.
    pub fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        self.diags
            .push(Diagnostic::for_value(self.path, &self.doc.spans, pointer, message).hint(hint));
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
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Regular files only (a named pipe or a device is refused without blocking), and never
    // more than the limit read: see `crate::input`.
    let bytes = match crate::input::read(path, yaml::MAX_BYTES) {
        Ok(b) => b,
        Err(e) if crate::input::is_too_large(&e) => {
            let diag = Diagnostic::at(
                path,
                None,
                format!(
                    "the file is more than {} bytes; levee reads {} files of at most that size",
                    yaml::MAX_BYTES,
                    T::NOUN,
                ),
            )
            .hint("a manifest is a few kilobytes: check that this is the file you meant");
            return Err(invalid(path, String::new(), vec![diag]));
        }
        Err(e) => return Err(io(e)),
    };
    parse_bytes(path, &bytes)
}

/// Checks bytes that came from `path`.
pub fn parse_bytes<T: Checked>(path: &Path, bytes: &[u8]) -> Result<Loaded<T>, LoadError> {
    let text = match yaml::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes).into_owned();
            return Err(invalid(path, lossy, vec![Diagnostic::from_yaml(path, &e)]));
        }
    };
    parse_str(path, text)
}

/// Checks text that came from `path`.
pub fn parse_str<T: Checked>(path: &Path, text: &str) -> Result<Loaded<T>, LoadError> {
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
    let diags = check_document::<T>(path, &doc);
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
    let mut cx = Checker::new(path, doc);
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
