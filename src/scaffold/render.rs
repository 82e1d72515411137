//! Rendering a template's layers into an app's files.
//!
//! Rules (the contract in `templates/README.md`):
//! - a file whose name ends in `.jinja` is rendered with minijinja (strict undefined) and the
//!   suffix is dropped; every other file is copied byte for byte;
//! - each path segment may be templated (`{{ app.name }}.ts`); a path with a segment that renders
//!   empty is skipped (conditional files and directories);
//! - layers are rendered in order, a later layer's file replacing an earlier one's;
//! - a rendered path that would leave the app directory (`..`, an absolute path, a separator or a
//!   backslash inside a segment, a drive letter, control characters) is refused, and so is a
//!   `.git` segment (git would run the hooks and config it holds);
//! - rendering is bounded: each template gets [`FUEL`] (minijinja's budget of instructions,
//!   bytes produced and items visited, so `range(100000)` nested twice or a string doubled in a
//!   loop stops with an error naming the template), at most [`MAX_FILE_BYTES`] of output per
//!   file and [`MAX_RENDER_BYTES`] for the whole app.
//!
//! Values from the answers are untrusted. Two defences keep them from changing the meaning of a
//! generated file:
//! - **auto-escaping by output file type**: in YAML, JSON, TypeScript/JavaScript, TOML and Python
//!   files every `{{ value }}` is escaped for the inside of a double-quoted string literal (the
//!   escapes `\" \\ \n \uXXXX` mean the same in all five), so a template writes
//!   `"name": "{{ app.name }}"` and a quote or newline in the value cannot end the string; in
//!   HTML files values are HTML-escaped; in a Dockerfile values are escaped for a double-quoted
//!   Dockerfile string, and a value holding a line break or a backtick is refused (it would start
//!   a new instruction or run a command in a `RUN` line).
//! - **filters that produce a complete literal** for templates that want one: `yaml_str`,
//!   `json_str` (and minijinja's `tojson`), `ts_str`, `toml_str`, `dockerfile`, `shell_str`.
//!   Their output is marked safe, so auto-escaping does not escape it twice.

use std::collections::BTreeMap;

use bytes::Bytes;
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind};

/// One file of a pack layer, as stored: its path under `files/` (`/`-separated) and its bytes
/// (shared: a file that is not a template renders as these very bytes, never a copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub bytes: Bytes,
    pub executable: bool,
}

/// A layer: a named set of files (`_node-common`, or the template itself).
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub files: Vec<SourceFile>,
}

/// A rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub bytes: Bytes,
    pub executable: bool,
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// minijinja failed (syntax error, undefined variable, a refused value).
    #[error("cannot render `{file}` (layer `{layer}`): {message}")]
    Template {
        layer: String,
        file: String,
        message: String,
    },
    /// A path would leave the target directory.
    #[error(
        "`{file}` (layer `{layer}`) renders to the path `{path}`, which would leave the app directory"
    )]
    Escape {
        layer: String,
        file: String,
        path: String,
    },
    /// A `.jinja` file is not UTF-8.
    #[error("`{file}` (layer `{layer}`) ends in .jinja but is not UTF-8 text")]
    NotText { layer: String, file: String },
    /// A path would put a file into `.git`.
    #[error(
        "`{file}` (layer `{layer}`) renders to the path `{path}`; levee refuses `.git` in an app's \
         files (git would run the hooks and config it holds)"
    )]
    GitDir {
        layer: String,
        file: String,
        path: String,
    },
    /// The whole render is larger than [`MAX_RENDER_BYTES`].
    #[error(
        "the template renders more than {limit} bytes in all (at `{file}`, layer `{layer}`); \
         levee refuses a template that large"
    )]
    TooLarge {
        layer: String,
        file: String,
        limit: usize,
    },
}

use crate::generate::templates::{Dialect, Starter};
pub use crate::generate::templates::{FUEL, auto_escape_for, escape_dockerfile};

/// The most one template file may render to.
pub const MAX_FILE_BYTES: usize = 16 << 20;
/// The most a whole render (every file of an app) may add up to.
pub const MAX_RENDER_BYTES: usize = 64 << 20;

/// The minijinja environment starter files render with ([`Dialect::Starter`] of the one
/// templates registry, [`crate::generate::templates`]), for templates a caller compiles itself.
pub fn environment() -> Result<Environment<'static>, Error> {
    crate::generate::templates::environment(Dialect::Starter)
}

/// Renders the layers in order into a map of relative path -> file.
pub fn render_layers(
    layers: &[Layer],
    ctx: &Value,
) -> Result<BTreeMap<String, OutFile>, RenderError> {
    let mut out = BTreeMap::new();
    let mut total = 0usize;
    for layer in layers {
        for file in &layer.files {
            if let Some((path, rendered)) = render_file(&layer.name, file, ctx)? {
                total = total.saturating_add(rendered.bytes.len());
                if total > MAX_RENDER_BYTES {
                    return Err(RenderError::TooLarge {
                        layer: layer.name.clone(),
                        file: file.path.clone(),
                        limit: MAX_RENDER_BYTES,
                    });
                }
                out.insert(path, rendered);
            }
        }
    }
    Ok(out)
}

/// Renders one file: `None` when its path renders empty. A template is compiled once per
/// process ([`Starter`]).
pub fn render_file(
    layer: &str,
    file: &SourceFile,
    ctx: &Value,
) -> Result<Option<(String, OutFile)>, RenderError> {
    let template_err = |message: String| RenderError::Template {
        layer: layer.to_string(),
        file: file.path.clone(),
        message,
    };
    let (raw_path, is_template) = match file.path.strip_suffix(".jinja") {
        Some(p) => (p, true),
        None => (file.path.as_str(), false),
    };
    let Some(path) = render_path(raw_path, ctx).map_err(|e| template_err(error_text(&e)))? else {
        return Ok(None);
    };
    if path.split('/').any(crate::scaffold::pack::is_dotgit) {
        return Err(RenderError::GitDir {
            layer: layer.to_string(),
            file: file.path.clone(),
            path,
        });
    }
    if !is_safe_path(&path) {
        return Err(RenderError::Escape {
            layer: layer.to_string(),
            file: file.path.clone(),
            path,
        });
    }
    let bytes = if is_template {
        // The output is about as long as the source: one allocation, not a doubling series.
        let mut out = Capped {
            bytes: Vec::with_capacity(file.bytes.len().min(MAX_FILE_BYTES)),
            over: false,
        };
        let starter = Starter::get();
        let rendered = match starter.render_held(&path, &file.bytes, ctx.clone(), &mut out) {
            Some(rendered) => rendered,
            None => {
                let source =
                    std::str::from_utf8(&file.bytes).map_err(|_| RenderError::NotText {
                        layer: layer.to_string(),
                        file: file.path.clone(),
                    })?;
                starter.render_shared(&path, source, &file.bytes, ctx.clone(), &mut out)
            }
        };
        match rendered {
            Ok(()) => Bytes::from(out.bytes),
            Err(_) if out.over => {
                return Err(template_err(format!(
                    "it renders more than {MAX_FILE_BYTES} bytes; levee refuses a file that large"
                )));
            }
            Err(e) if e.kind() == ErrorKind::OutOfFuel => {
                return Err(template_err(format!(
                    "rendering it takes too much work (more than {FUEL} steps): a loop over a \
                     huge range, or a string or list that keeps growing?"
                )));
            }
            Err(e) => return Err(template_err(error_text(&e))),
        }
    } else {
        file.bytes.clone()
    };
    Ok(Some((
        path,
        OutFile {
            bytes,
            executable: file.executable,
        },
    )))
}

/// Collects a rendered file, failing once it passes [`MAX_FILE_BYTES`].
struct Capped {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_FILE_BYTES {
            self.over = true;
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "the rendered file is too large",
            ));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn error_text(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Renders each templated segment of a path. `None` when a segment renders empty.
fn render_path(path: &str, ctx: &Value) -> Result<Option<String>, Error> {
    let mut segments = Vec::new();
    for segment in path.split('/') {
        let rendered = if segment.contains("{{") || segment.contains("{%") {
            Starter::get().render_str(segment, ctx)?
        } else {
            segment.to_string()
        };
        if rendered.is_empty() {
            return Ok(None);
        }
        segments.push(rendered);
    }
    Ok(Some(segments.join("/")))
}

/// Is `path` a relative path that stays inside the target (plain segments only)?
pub fn is_safe_path(path: &str) -> bool {
    if path.is_empty() || path.len() > 4096 {
        return false;
    }
    for segment in path.split('/') {
        let bad = segment.is_empty()
            || segment == "."
            || segment == ".."
            || crate::scaffold::pack::is_dotgit(segment)
            || segment.len() > 255
            || segment
                .chars()
                .any(|c| c == '\\' || c == ':' || c.is_control());
        if bad {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::literal::escape_dq;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            bytes: text.as_bytes().to_vec().into(),
            executable: false,
        }
    }

    fn render(files: Vec<SourceFile>, ctx: serde_json::Value) -> Result<Vec<String>, RenderError> {
        let layers = [Layer {
            name: "t".into(),
            files,
        }];
        Ok(
            render_layers(&layers, &Value::from(minijinja::value::Serde(&ctx)))?
                .into_keys()
                .collect(),
        )
    }

    #[test]
    fn paths_that_leave_are_refused() {
        for hostile in [
            "..",
            "../x",
            "/etc/passwd",
            "a/../../b",
            "..\\..\\x",
            "C:\\x",
            "c:x",
            "a\nb",
        ] {
            let ctx = serde_json::json!({"app": {"team": hostile}});
            let err = render(vec![file("{{ app.team }}/x.txt", "x")], ctx)
                .expect_err(&format!("{hostile:?} must be refused"));
            assert!(
                matches!(err, RenderError::Escape { .. }),
                "{hostile:?}: {err}"
            );
            assert!(err.to_string().contains("would leave the app directory"));
        }
    }

    #[test]
    fn empty_segment_skips_and_suffix_drops() {
        let ctx = serde_json::json!({"app": {"on": false, "name": "demo"}});
        let paths = render(
            vec![
                file("{% if app.on %}opt{% endif %}/x.txt", "x"),
                file(
                    "src/{{ app.name }}.ts.jinja",
                    "export const n = \"{{ app.name }}\";\n",
                ),
                file("plain.txt", "{{ not rendered }}"),
            ],
            ctx,
        )
        .expect("renders");
        assert_eq!(paths, vec!["plain.txt", "src/demo.ts"]);
    }

    #[test]
    fn strict_undefined() {
        let err = render(
            vec![file("a.txt.jinja", "{{ app.nope }}")],
            serde_json::json!({"app": {}}),
        )
        .expect_err("undefined");
        assert!(err.to_string().contains("a.txt.jinja"), "{err}");
    }

    #[test]
    fn runaway_templates_stop_with_an_error_naming_the_file() {
        let started = std::time::Instant::now();
        for (name, text, why) in [
            (
                "loops.txt.jinja",
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                "too much work",
            ),
            (
                "doubling.txt.jinja",
                "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
                "too much work",
            ),
            (
                "repeat.txt.jinja",
                "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}",
                "renders more than 16777216 bytes",
            ),
        ] {
            let err =
                render(vec![file(name, text)], serde_json::json!({"app": {}})).expect_err(name);
            let msg = err.to_string();
            assert!(msg.contains(name), "{msg}");
            assert!(msg.contains(why), "{msg}");
        }
        // Stopped in far less time than the loops would take.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn a_git_directory_is_never_rendered() {
        for hostile in [".git", ".GIT", ".git.", ".Git ", "git~1", ".g\u{200c}it"] {
            let ctx = serde_json::json!({"app": {"team": hostile}});
            let err = render(vec![file("{{ app.team }}/hooks/post-checkout", "x")], ctx)
                .expect_err(hostile);
            assert!(
                matches!(err, RenderError::GitDir { .. }),
                "{hostile:?}: {err}"
            );
        }
        let err = render(vec![file(".git/config", "x")], serde_json::json!({})).expect_err("git");
        assert!(err.to_string().contains("levee refuses `.git`"), "{err}");
    }

    #[test]
    fn dq_escaping_covers_line_breaks_and_quotes() {
        assert_eq!(escape_dq("a\"b\\c\nd\u{2028}"), "a\\\"b\\\\c\\nd\\u2028");
        assert!(escape_dockerfile("a\nb").is_err());
        assert!(escape_dockerfile("`id`").is_err());
        assert_eq!(
            escape_dockerfile("$HOME \"x\"").ok(),
            Some("\\$HOME \\\"x\\\"".into())
        );
    }
}
