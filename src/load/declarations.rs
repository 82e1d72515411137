//! The kinds of app and the language stacks a template pack declares (`pack.yaml` `kinds:` and
//! `stacks:`), and what levee does with them: the manifest accepts exactly the declared names,
//! the wizard offers them, the pipelines run a stack's declared build steps, `levee sbom` reads
//! its lock files, and the catalog's Backstage export describes an app by its kind.
//!
//! ```yaml
//! kinds:
//!   scheduled-job: {description: A job that runs on a schedule and reports what it did}
//! stacks:
//!   go:
//!     description: Go 1.25
//!     image: golang:1.25-bookworm          # the pipeline's build container
//!     build: [go build ./..., {name: Test (go test), run: go test ./...}]
//!     cache: {dir: .go-cache, key: [go.sum]}
//!     lockfiles: [go.sum]
//! ```
//!
//! The built-in pack declares its three kinds and two stacks the same way (`templates/pack.yaml`),
//! and every pack starts from them: a pack adds kinds and stacks, or redeclares a built-in one.
//!
//! After `levee new`, an app made from another pack keeps its pack's declarations in its
//! `.levee/render.json` (`pack_declarations`), so `validate`, `sync` and CI need no pack; an app
//! made from the built-in pack (or with no record) uses the built-in declarations of the running
//! levee.

use std::path::Path;
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The key of `.levee/render.json` that holds a pack's declarations.
pub const RECORD_KEY: &str = "pack_declarations";

/// The most kinds, or stacks, a pack declares.
pub const MAX_DECLARED: usize = 64;

/// The most build steps of a stack.
const MAX_STEPS: usize = 20;

/// The longest build step, in characters.
const MAX_STEP_CHARS: usize = 500;

/// A kind of app (`pack.yaml` `kinds.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    /// One sentence a non-developer understands (the wizard, `levee templates list` and the
    /// Backstage export show it).
    pub description: String,
    /// The Backstage `spec.type` of such an app (`service`, `website`, ...); `service` if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backstage_type: Option<String>,
}

/// A language stack (`pack.yaml` `stacks.<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    /// What the stack is (`Go 1.25`).
    pub description: String,
    /// The container image the pipeline's build job runs in (`golang:1.25-bookworm`, a digest
    /// may follow). The org config's `ci.images.<stack>` wins for `node` and `python`.
    pub image: String,
    /// The build job's steps, in order: each a command (`go test ./...`) or `{name, run}`.
    pub build: Vec<Step>,
    /// A directory the build caches between runs, keyed by lock files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheSpec>,
    /// The lock files `levee sbom` reads for this stack, when it can (`go.sum`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lockfiles: Vec<String>,
}

/// A build step: a command, or a command with a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a command, or a mapping with `name` and `run` (and nothing else)"
)]
pub enum Step {
    Run(String),
    Named(NamedStep),
}

/// A build step with a name of its own (`{name: Test (go test), run: go test ./...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedStep {
    pub name: String,
    pub run: String,
}

impl Step {
    /// The step's name in the pipeline (the command itself when it has none).
    pub(crate) fn name(&self) -> &str {
        match self {
            Step::Run(run) => run,
            Step::Named(s) => &s.name,
        }
    }

    /// The command.
    pub(crate) fn run(&self) -> &str {
        match self {
            Step::Run(run) => run,
            Step::Named(s) => &s.run,
        }
    }
}

/// The build cache of a stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// The cached directory, relative to the app (`.npm`).
    pub dir: String,
    /// An environment variable the build job sets to `dir` as written (relative to the app), for a
    /// tool that reads its cache directory from it (`npm_config_cache`, `UV_CACHE_DIR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The files whose contents key the cache (one or two: GitLab keys on at most two).
    pub key: Vec<String>,
}

/// The kinds and stacks a pack declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    #[serde(default)]
    pub kinds: IndexMap<String, KindSpec>,
    #[serde(default)]
    pub stacks: IndexMap<String, StackSpec>,
}

/// What is wrong with a declaration: the key path in `pack.yaml` (`stacks.go.build[1]`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.at, self.message)
    }
}

/// The built-in pack's declarations (`templates/pack.yaml`).
pub(crate) fn builtin() -> &'static Declarations {
    static BUILTIN: OnceLock<Declarations> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        /// `pack.yaml` read for its declarations only.
        #[derive(Deserialize)]
        struct Meta {
            #[serde(default)]
            kinds: IndexMap<String, KindSpec>,
            #[serde(default)]
            stacks: IndexMap<String, StackSpec>,
        }
        const TEXT: &str = include_str!("../../templates/pack.yaml");
        // The built-in pack is checked by its tests; a broken one declares nothing.
        crate::load::builtin_meta::parsed::<Meta>("pack.yaml", TEXT.as_bytes())
            .or_else(|| serde_norway::from_str::<Meta>(TEXT).ok())
            .map(|m| Declarations {
                kinds: m.kinds,
                stacks: m.stacks,
            })
            .unwrap_or_default()
    })
}

impl Declarations {
    /// The built-in declarations with `own` added on top (a pack's own redeclare built-in names).
    pub(crate) fn over_builtin(own: &Declarations) -> Declarations {
        let mut out = builtin().clone();
        for (k, v) in &own.kinds {
            out.kinds.insert(k.clone(), v.clone());
        }
        for (k, v) in &own.stacks {
            out.stacks.insert(k.clone(), v.clone());
        }
        out
    }

    /// The declared kind names, in declaration order.
    pub(crate) fn kind_names(&self) -> Vec<String> {
        self.kinds.keys().cloned().collect()
    }

    /// The declared stack names, in declaration order.
    pub fn stack_names(&self) -> Vec<String> {
        self.stacks.keys().cloned().collect()
    }

    /// The first thing wrong with the declarations, if any. Names are ids; descriptions one line;
    /// build steps one line each, without `${{` (a GitHub expression would run in the pipeline's
    /// context) or control characters; paths stay inside the app.
    pub(crate) fn problem(&self) -> Option<Problem> {
        let p = |at: String, message: String| Some(Problem { at, message });
        if self.kinds.len() > MAX_DECLARED || self.stacks.len() > MAX_DECLARED {
            return p(
                "kinds".into(),
                format!("a pack declares at most {MAX_DECLARED} kinds and {MAX_DECLARED} stacks"),
            );
        }
        for (name, kind) in &self.kinds {
            let at = format!("kinds.{}", printable(name));
            if let Some(m) = name_problem(name) {
                return p(at, m);
            }
            if let Some(m) = text_problem(&kind.description, 200) {
                return p(format!("{at}.description"), m);
            }
            if let Some(t) = &kind.backstage_type
                && !is_id(t)
            {
                return p(
                    format!("{at}.backstage_type"),
                    "write a Backstage type like `service` or `website` (lowercase letters, digits, dashes)".into(),
                );
            }
        }
        for (name, stack) in &self.stacks {
            let at = format!("stacks.{}", printable(name));
            if let Some(m) = name_problem(name) {
                return p(at, m);
            }
            if let Some(m) = text_problem(&stack.description, 200) {
                return p(format!("{at}.description"), m);
            }
            if !is_image(&stack.image) {
                return p(
                    format!("{at}.image"),
                    format!(
                        "`{}` is not a container image reference like `golang:1.25-bookworm` (a tag, optionally `@sha256:<digest>`)",
                        printable(&stack.image)
                    ),
                );
            }
            if stack.build.is_empty() || stack.build.len() > MAX_STEPS {
                return p(
                    format!("{at}.build"),
                    format!(
                        "declare 1 to {MAX_STEPS} build steps (the pipeline's build job runs them in order)"
                    ),
                );
            }
            for (i, step) in stack.build.iter().enumerate() {
                let step_at = format!("{at}.build[{i}]");
                if let Step::Named(named) = step
                    && let Some(m) = text_problem(&named.name, 100)
                {
                    return p(format!("{step_at}.name"), m);
                }
                if let Some(m) = step_problem(step.run()) {
                    return p(step_at, m);
                }
            }
            if let Some(cache) = &stack.cache {
                if !is_relative_path(&cache.dir) {
                    return p(
                        format!("{at}.cache.dir"),
                        "name a directory inside the app (`.npm`, `.go-cache`): relative, without `..`, letters, digits, `.`, `_`, `-` and `/`".into(),
                    );
                }
                if let Some(env) = &cache.env
                    && let Some(m) = env_problem(env)
                {
                    return p(format!("{at}.cache.env"), m);
                }
                if cache.key.is_empty() || cache.key.len() > 2 {
                    return p(
                        format!("{at}.cache.key"),
                        "name one or two files whose contents key the cache (GitLab keys on at most two)".into(),
                    );
                }
                if let Some(k) = cache.key.iter().find(|k| !is_relative_path(k)) {
                    return p(
                        format!("{at}.cache.key"),
                        format!("`{}` is not a file inside the app", printable(k)),
                    );
                }
            }
            if let Some(l) = stack.lockfiles.iter().find(|l| !is_relative_path(l)) {
                return p(
                    format!("{at}.lockfiles"),
                    format!("`{}` is not a file inside the app", printable(l)),
                );
            }
        }
        None
    }
}

/// A kind or stack name: an id the manifest, the catalog and the pipeline can carry as is.
pub(crate) fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=40).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn name_problem(name: &str) -> Option<String> {
    (!is_id(name)).then(|| {
        format!(
            "`{}` is not a name levee can use: 1 to 40 lowercase letters, digits and single dashes, starting with a letter (`scheduled-job`)",
            printable(name)
        )
    })
}

fn text_problem(s: &str, max: usize) -> Option<String> {
    if s.trim().is_empty() {
        return Some("it is empty; write one short sentence".into());
    }
    if s.chars().count() > max {
        return Some(format!("it is over {max} characters; one short sentence"));
    }
    if s.chars().any(char::is_control) {
        return Some(
            "it holds a control character (a line break, a tab, an escape); write one line".into(),
        );
    }
    None
}

/// What a build step may not hold: it is one `run:` line (GitHub) or `script:` line (GitLab), and
/// the pipeline is checked by actionlint and zizmor. A shell command is what it is for (pipes,
/// `&&`, quotes); what would change the pipeline around it is refused.
fn step_problem(run: &str) -> Option<String> {
    if let Some(m) = text_problem(run, MAX_STEP_CHARS) {
        return Some(m);
    }
    if run.contains("${{") {
        return Some(
            "it holds `${{`, a GitHub expression, which would be expanded in the pipeline's context before the shell runs; read what you need from the environment instead".into(),
        );
    }
    if run != run.trim() {
        return Some("it starts or ends with a space".into());
    }
    None
}

fn env_problem(env: &str) -> Option<String> {
    let b = env.as_bytes();
    let shape = !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !shape {
        return Some(format!(
            "`{}` is not an environment variable name (letters, digits, `_`)",
            printable(env)
        ));
    }
    let upper = env.to_ascii_uppercase();
    let reserved = [
        "PATH",
        "HOME",
        "SHELL",
        "ENV",
        "BASH_ENV",
        "IFS",
        "NODE_OPTIONS",
        "PYTHONPATH",
    ];
    if reserved.contains(&upper.as_str())
        || [
            "LD_", "GITHUB_", "RUNNER_", "CI_", "GITLAB_", "ACTIONS_", "DYLD_", "LEVEE_",
        ]
        .iter()
        .any(|p| upper.starts_with(p))
    {
        return Some(format!(
            "`{env}` is a variable the shell, the runner or levee relies on; name the cache variable of the stack's tool (`npm_config_cache`, `UV_CACHE_DIR`)"
        ));
    }
    None
}

fn is_relative_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 200
        && !p.starts_with('/')
        && !p.starts_with('-')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && p.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/'))
}

fn is_image(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 300
        && s.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
        })
}

fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(60)
        .collect()
}

/// The declarations recorded in an app's `.levee/render.json`, over the built-in ones: `Ok(None)`
/// when there is no record or it records none (a built-in app, a hand-written app.yaml); `Err`
/// with what is wrong when the record cannot be read or its declarations break the rules.
pub(crate) fn for_app(app_dir: &Path) -> Result<Option<Declarations>, String> {
    let path = app_dir.join(crate::support::record::RENDER);
    let Some(json) = crate::support::record::read_render(app_dir)
        .map_err(|why| format!("{}: {why}", path.display()))?
    else {
        return Ok(None);
    };
    let Some(v) = json.get(RECORD_KEY) else {
        return Ok(None);
    };
    let own: Declarations = serde_json::from_value(v.clone())
        .map_err(|e| format!("`{RECORD_KEY}` in {}: {e}", path.display()))?;
    in_effect(&own)
        .map(Some)
        .map_err(|p| format!("`{RECORD_KEY}` in {}: {p}", path.display()))
}

/// What an app is read against, given its record's `pack_declarations`: the pack's own kinds
/// and stacks over the built-in ones, or what is wrong with them.
pub(crate) fn in_effect(own: &Declarations) -> Result<Declarations, Problem> {
    match own.problem() {
        Some(p) => Err(p),
        None => Ok(Declarations::over_builtin(own)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_declares_three_kinds_and_two_stacks() {
        let b = builtin();
        assert_eq!(b.kind_names(), ["dashboard", "form", "webhook"]);
        assert_eq!(b.stack_names(), ["node", "python"]);
        assert_eq!(b.problem(), None);
    }

    fn go(build: &str) -> Declarations {
        serde_norway::from_str(&format!(
            "stacks:\n  go:\n    description: Go\n    image: golang:1.25\n    build: [{build}]\n"
        ))
        .expect("declarations")
    }

    #[test]
    fn steps_are_checked() {
        assert_eq!(go("go test ./...").problem(), None);
        assert_eq!(
            go("'go test ./... | tee out.txt && echo done'").problem(),
            None
        );
        let p = go("'echo ${{ github.token }}'").problem().expect("refused");
        assert_eq!(p.at, "stacks.go.build[0]");
        assert!(p.message.contains("${{"), "{p}");
        let p = go("\"go test\\nrm -rf /\"").problem().expect("refused");
        assert!(p.message.contains("control character"), "{p}");
        assert!(go("").problem().is_some(), "no steps");
    }

    #[test]
    fn names_and_paths_are_checked() {
        let d: Declarations = serde_norway::from_str("kinds:\n  Scheduled_Job: {description: x}\n")
            .expect("declarations");
        assert_eq!(d.problem().expect("refused").at, "kinds.Scheduled_Job");
        let d: Declarations = serde_norway::from_str(
            "stacks:\n  go:\n    description: Go\n    image: golang:1.25\n    build: [go test]\n    cache: {dir: ../../home, key: [go.sum]}\n",
        )
        .expect("declarations");
        assert_eq!(d.problem().expect("refused").at, "stacks.go.cache.dir");
        let d: Declarations = serde_norway::from_str(
            "stacks:\n  go:\n    description: Go\n    image: golang:1.25\n    build: [go test]\n    cache: {dir: .c, env: BASH_ENV, key: [go.sum]}\n",
        )
        .expect("declarations");
        assert_eq!(d.problem().expect("refused").at, "stacks.go.cache.env");
    }
}
