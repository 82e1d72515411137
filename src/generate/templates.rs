//! The one templates registry: every minijinja environment levee renders with is configured
//! here (syntax, undefined behaviour, auto-escaping, filters, fuel), and templates are compiled
//! once per process, so a fleet run compiles each template once, not once per app.
//!
//! One dialect per kind of output, because what a value may do differs:
//! - [`Dialect::Starter`]: a pack's starter files and the scaffolded `app.yaml`. Strict
//!   undefined, the trailing newline kept, a budget ([`FUEL`]), auto-escaping by output file
//!   type and the literal filters (the contract of `scaffold::render` and `templates/README.md`).
//! - [`Dialect::Pipeline`]: CI pipelines (`pipelines/`). Variables are `{{{ }}}` so GitHub's
//!   `${{ }}` stays literal; blocks trimmed; no auto-escape (values are quoted in the template:
//!   `yaml_str`, a JSON string, and `gh_literal`, a string inside a GitHub expression).
//! - [`Dialect::Deploy`]: the Kubernetes manifests under `deploy/`. Blocks trimmed, no
//!   auto-escape; `yaml_str` is a double-quoted YAML string as a person writes it.
//! - [`Dialect::Catalog`]: the catalog repository's pipeline, rendered from settings levee has
//!   already checked (safe paths): minijinja's default syntax, no auto-escape.
//!
//! Every dialect is strict about undefined values. Embedded templates (pipelines, deploy) are
//! compiled with their environment, once; starter files come from packs, so [`Starter`] keeps
//! each distinct (name, source) it is asked for.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use bytes::Bytes;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};

use crate::support::literal::{escape_dq, json_literal, quoted};

/// The work one starter template may make the engine do (minijinja's fuel: one per instruction,
/// one per 64 bytes produced). The largest built-in template (a 230 kB `uv.lock`) needs under
/// 4,000.
pub const FUEL: u64 = 1_000_000;

/// What a template renders, which decides how its environment is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Starter,
    Pipeline,
    Deploy,
    Catalog,
}

/// A new environment configured for `dialect`, without templates.
pub fn environment(dialect: Dialect) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    match dialect {
        Dialect::Starter => starter(&mut env)?,
        Dialect::Pipeline => {
            env.set_syntax(pipeline_syntax()?);
            env.set_auto_escape_callback(|_| AutoEscape::None);
            // A YAML double-quoted scalar (JSON string syntax, without `tojson`'s HTML escapes).
            env.add_filter("yaml_str", |s: String| {
                serde_json::to_string(&s).unwrap_or_default()
            });
            // A string literal inside a GitHub expression: single-quoted, `'` doubled.
            env.add_filter("gh_literal", |s: String| {
                format!("'{}'", s.replace('\'', "''"))
            });
        }
        Dialect::Deploy => {
            env.set_syntax(trimmed_syntax()?);
            // YAML is not auto-escaped; values are quoted explicitly.
            env.set_auto_escape_callback(|_| AutoEscape::None);
            // A double-quoted YAML string as a person writes it (`tojson` writes `&` as
            // `\u0026`).
            env.add_filter("yaml_str", |v: Value| Value::from_safe_string(quoted(&v)));
        }
        Dialect::Catalog => {
            // The values are checked by the caller (safe paths) or levee's own; YAML is not
            // JSON-escaped.
            env.set_auto_escape_callback(|_| AutoEscape::None);
        }
    }
    Ok(env)
}

/// The syntax of pipeline templates: `{{{ }}}` variables, blocks trimmed, trailing newline
/// kept.
fn pipeline_syntax() -> Result<SyntaxConfig, Error> {
    SyntaxConfig::builder()
        .variable_delimiters("{{{", "}}}")
        .block_delimiters("{%", "%}")
        .comment_delimiters("{#", "#}")
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
}

/// Default delimiters, blocks trimmed, trailing newline kept.
fn trimmed_syntax() -> Result<SyntaxConfig, Error> {
    SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
}

const DQ: &str = "dq";
const DOCKERFILE: &str = "dockerfile";

fn starter(env: &mut Environment<'static>) -> Result<(), Error> {
    env.set_fuel(Some(FUEL));
    // A file's last newline is part of the file: keep it (byte fidelity with the template).
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()?,
    );
    env.set_auto_escape_callback(auto_escape_for);
    env.set_formatter(|out, state, value| {
        if value.is_safe() {
            return minijinja::escape_formatter(out, state, value);
        }
        match state.auto_escape() {
            AutoEscape::Custom(mode) if mode == DQ => {
                out.write_str(&escape_dq(&display(value)))?;
                Ok(())
            }
            AutoEscape::Custom(mode) if mode == DOCKERFILE => {
                out.write_str(&escape_dockerfile(&display(value))?)?;
                Ok(())
            }
            _ => minijinja::escape_formatter(out, state, value),
        }
    });
    env.add_filter("yaml_str", |v: Value| Value::from_safe_string(quoted(&v)));
    env.add_filter("json_str", |v: Value| {
        Value::from_safe_string(json_literal(&v))
    });
    env.add_filter("ts_str", |v: Value| Value::from_safe_string(quoted(&v)));
    env.add_filter("toml_str", |v: Value| Value::from_safe_string(quoted(&v)));
    env.add_filter("dockerfile", |v: Value| -> Result<Value, Error> {
        Ok(Value::from_safe_string(format!(
            "\"{}\"",
            escape_dockerfile(&display(&v))?
        )))
    });
    env.add_filter("shell_str", |v: Value| {
        Value::from_safe_string(format!("'{}'", display(&v).replace('\'', r"'\''")))
    });
    Ok(())
}

/// The auto-escape mode of a starter file, by its output name (the path with `.jinja` dropped).
pub fn auto_escape_for(name: &str) -> AutoEscape {
    let file = name.rsplit('/').next().unwrap_or(name);
    let lower = file.to_ascii_lowercase();
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
    {
        return AutoEscape::Custom(DOCKERFILE.into());
    }
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "yaml" | "yml" | "json" | "ts" | "tsx" | "mts" | "cts" | "js" | "mjs" | "cjs" | "toml"
        | "py" => AutoEscape::Custom(DQ.into()),
        "html" | "htm" | "xml" | "svg" => AutoEscape::Html,
        _ => AutoEscape::None,
    }
}

/// A value as text: strings as they are, `none` as the empty string, the rest as displayed.
fn display(v: &Value) -> String {
    if v.is_none() {
        String::new()
    } else if let Some(s) = v.as_str() {
        s.to_string()
    } else {
        v.to_string()
    }
}

/// Escapes `s` for the inside of a double-quoted Dockerfile string (`LABEL k="…"`, `ENV`,
/// `RUN echo "…"`): `\`, `"` and `$` get a backslash. A line break or other control character
/// would end the instruction and a backtick would run a command in a shell-form `RUN`: refused.
pub fn escape_dockerfile(s: &str) -> Result<String, Error> {
    if let Some(c) = s.chars().find(|c| c.is_control() || *c == '`') {
        let what = match c {
            '\n' | '\r' => "a line break".to_string(),
            '`' => "a backtick".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "a value with {what} cannot go into a Dockerfile: `{}`",
                s.chars()
                    .take(60)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
            ),
        ));
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// Embedded templates compiled once per process into an environment of their dialect (`files`
/// gives their names and sources): the environment, or the error of the first that does not
/// compile (a bug in levee's own templates; a test compiles them all).
pub fn embedded(
    slot: &'static OnceLock<Result<Environment<'static>, Error>>,
    dialect: Dialect,
    files: impl FnOnce() -> Vec<(String, String)>,
) -> &'static Result<Environment<'static>, Error> {
    slot.get_or_init(|| {
        let mut env = environment(dialect)?;
        // Each template compiles when a render first asks for it: a run renders a few of them
        // (a GitHub app never the GitLab pipeline; an app without a route neither ingress).
        let files: HashMap<String, String> = files().into_iter().collect();
        env.set_loader(move |name| Ok(files.get(name).cloned()));
        Ok(env)
    })
}

/// Starter templates compiled once per process: each distinct (output name, source) a render
/// asks for. Several sources can share a name (the same file in two pack versions, or in a
/// layer and the template over it), so templates live in as many environments as the most
/// sources one name has; a name in an environment always means one source.
#[derive(Debug)]
pub struct Starter {
    envs: RwLock<Vec<Compiled>>,
    /// For one-off sources (templated path segments), compiled per call.
    plain: Result<Environment<'static>, Error>,
}

#[derive(Debug)]
struct Compiled {
    env: Environment<'static>,
    /// Each template's source: the pack's own buffer when it came from a pack.
    sources: HashMap<String, Bytes>,
}

/// The most distinct starter templates kept per process; past it, a template is compiled for
/// its render and not kept (a run over an endless stream of different packs stays bounded).
const MAX_KEPT: usize = 4096;

impl Starter {
    /// The process's starter templates.
    pub fn get() -> &'static Starter {
        static STARTER: OnceLock<Starter> = OnceLock::new();
        STARTER.get_or_init(|| Starter {
            envs: RwLock::new(Vec::new()),
            plain: environment(Dialect::Starter),
        })
    }

    /// Renders a one-off `source` (a templated path segment), unnamed and not kept.
    pub fn render_str(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        match &self.plain {
            Ok(env) => env.render_str(source, ctx),
            Err(e) => Err(Error::new(e.kind(), e.to_string())),
        }
    }

    /// Renders `source` as the template `name` with `ctx` into `out`, compiling it the first
    /// time this name and source are asked for.
    pub fn render_to(
        &self,
        name: &str,
        source: &str,
        ctx: Value,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        match self.render_held(name, source.as_bytes(), ctx.clone(), out) {
            Some(done) => done,
            None => self.render_kept(
                name,
                source,
                || Bytes::copy_from_slice(source.as_bytes()),
                ctx,
                out,
            ),
        }
    }

    /// Renders the template `name` if it is held compiled from exactly `source`; `None` when it
    /// is not (then [`Starter::render_shared`] compiles it). A pack's file is one shared buffer
    /// for every app, so the template is found without reading its source again.
    pub fn render_held(
        &self,
        name: &str,
        source: &[u8],
        ctx: Value,
        out: &mut dyn std::io::Write,
    ) -> Option<Result<(), Error>> {
        let envs = match self.envs.read() {
            Ok(envs) => envs,
            Err(_) => return Some(Err(poisoned())),
        };
        let c = envs.iter().find(|c| c.holds(name, source))?;
        Some(
            c.env
                .get_template(name)
                .and_then(|t| t.render_captured_to(ctx, out))
                .map(|_| ()),
        )
    }

    /// [`Starter::render_to`] for a pack's file: `text` is `shared` read as UTF-8, and the
    /// buffer itself is kept, not a copy of it.
    pub fn render_shared(
        &self,
        name: &str,
        text: &str,
        shared: &Bytes,
        ctx: Value,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        self.render_kept(name, text, || shared.clone(), ctx, out)
    }

    fn render_kept(
        &self,
        name: &str,
        source: &str,
        keep: impl FnOnce() -> Bytes,
        ctx: Value,
        out: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        let mut envs = self.envs.write().map_err(|_| poisoned())?;
        let kept: usize = envs.iter().map(|c| c.sources.len()).sum();
        if kept >= MAX_KEPT {
            drop(envs);
            return render_once(name, source, ctx, out);
        }
        if !envs.iter().any(|c| c.holds(name, source.as_bytes())) {
            let at = match envs.iter().position(|c| !c.sources.contains_key(name)) {
                Some(i) => i,
                None => {
                    envs.push(Compiled {
                        env: environment(Dialect::Starter)?,
                        sources: HashMap::new(),
                    });
                    envs.len() - 1
                }
            };
            let c = &mut envs[at];
            c.env
                .add_template_owned(name.to_string(), source.to_string())?;
            c.sources.insert(name.to_string(), keep());
        }
        drop(envs);
        match self.render_held(name, source.as_bytes(), ctx.clone(), out) {
            Some(done) => done,
            None => render_once(name, source, ctx, out),
        }
    }
}

/// Compiles `source` for this one render, keeping nothing.
fn render_once(
    name: &str,
    source: &str,
    ctx: Value,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    environment(Dialect::Starter)?
        .template_from_named_str(name, source)?
        .render_captured_to(ctx, out)
        .map(|_| ())
}

impl Compiled {
    fn holds(&self, name: &str, source: &[u8]) -> bool {
        self.sources
            .get(name)
            .is_some_and(|s| crate::support::hash::same_content(s, source))
    }
}

fn poisoned() -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        "a thread rendering templates panicked",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(name: &str, source: &Bytes) -> String {
        let starter = Starter::get();
        let ctx = Value::from(minijinja::value::Serde(serde_json::json!({"v": 1})));
        let mut out = Vec::new();
        match starter.render_held(name, source, ctx.clone(), &mut out) {
            Some(done) => done.expect("renders"),
            None => {
                let text = std::str::from_utf8(source).expect("utf8");
                starter
                    .render_shared(name, text, source, ctx, &mut out)
                    .expect("renders");
            }
        }
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn one_name_with_several_sources_renders_each_source() {
        let name = "tests/one-name.txt";
        let first = Bytes::from_static(b"first {{ v }}");
        let second = Bytes::from_static(b"other {{ v }}");
        assert_eq!(render(name, &first), "first 1");
        assert_eq!(render(name, &second), "other 1");
        assert_eq!(render(name, &first), "first 1");
        // A copy of a held source is held; another source of the same length is not.
        let copy = Bytes::from(b"first {{ v }}".to_vec());
        let ctx = Value::from(0);
        assert!(
            Starter::get()
                .render_held(name, &copy, ctx.clone(), &mut Vec::new())
                .is_some()
        );
        let unseen = b"third {{ v }}";
        assert!(
            Starter::get()
                .render_held(name, unseen, ctx.clone(), &mut Vec::new())
                .is_none()
        );
        let mut out = Vec::new();
        Starter::get()
            .render_to(
                name,
                "third {{ v }}",
                Value::from(minijinja::value::Serde(serde_json::json!({"v": 3}))),
                &mut out,
            )
            .expect("renders");
        assert_eq!(out, b"third 3");
    }
}
