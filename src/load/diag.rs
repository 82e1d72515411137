//! Located problems in a user's file, and how they are printed.
//!
//! A [`Diagnostic`] is plain data: file, line, column, the field it concerns, a message and a
//! hint. Colour is decided when printing ([`render`]), never stored.

use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::load::yaml::{Pos, Spans, YamlError};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field in dotted form (`runtime.cpu_limit`, `secrets[1].name`), when there is one.
    pub field: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    #[serde(skip)]
    pub offset: Option<usize>,
    #[serde(skip)]
    pub len: usize,
}

impl Diagnostic {
    /// A problem at a known position.
    pub(crate) fn at(path: &Path, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.to_path_buf(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            field: None,
            message: message.into(),
            hint: None,
            offset: pos.map(|p| p.offset),
            len: pos.map_or(1, |p| p.len),
        }
    }

    /// A problem with the value at a JSON pointer, located through `spans`.
    pub(crate) fn for_value(
        path: &Path,
        spans: &Spans,
        pointer: &str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic::at(path, spans.value_pos(pointer), message).field(pointer)
    }

    /// A problem with the key at a JSON pointer (unknown keys, missing children).
    pub(crate) fn for_key(
        path: &Path,
        spans: &Spans,
        pointer: &str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic::at(path, spans.key_pos(pointer), message).field(pointer)
    }

    /// From a YAML syntax error.
    pub(crate) fn from_yaml(path: &Path, e: &YamlError) -> Self {
        let pos = (e.pos.line > 0).then_some(e.pos);
        let mut d = Diagnostic::at(path, pos, e.message.clone());
        d.hint = e.hint.clone();
        d
    }

    /// Names the field by JSON pointer; stored in dotted form.
    pub(crate) fn field(mut self, pointer: &str) -> Self {
        self.field = (!pointer.is_empty()).then(|| crate::load::field_path::dotted(pointer));
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Prints diagnostics the way compilers do: the message, the located source line with a caret,
/// and the hint. `source` is the text of the file the diagnostics point into.
pub fn render(diags: &[Diagnostic], source: Option<&str>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    // The file is shown with its control characters replaced byte for byte (offsets stay
    // right); the message, hint and path quote the user's text, escaped.
    let source = source.map(crate::support::text::same_length);
    let source = source.as_deref();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let path = crate::support::text::escape_path(&d.path);
        let message = crate::support::text::escape(&d.message);
        let hint = d.hint.as_deref().map(crate::support::text::escape);
        let mut group = Group::with_title(level.primary_title(message.as_ref()));
        match (source, d.offset) {
            (Some(src), Some(offset)) if offset <= src.len() && src.is_char_boundary(offset) => {
                let end = span_end(src, offset, d.len);
                group = group.element(
                    Snippet::source(src)
                        .path(&path)
                        .annotation(AnnotationKind::Primary.span(offset..end)),
                );
            }
            _ => {
                group = group.element(annotate_snippets::Origin::path(&path));
            }
        }
        if let Some(h) = &hint {
            group = group.element(Level::HELP.message(h.as_ref()));
        }
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out
}

/// The end of a caret of `len` characters from `offset`, clamped to the line.
fn span_end(src: &str, offset: usize, len: usize) -> usize {
    let rest = &src[offset..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let width = rest[..line_end]
        .char_indices()
        .nth(len.max(1))
        .map_or(line_end, |(i, _)| i);
    offset + width.max(rest[..line_end].chars().next().map_or(0, char::len_utf8))
}
