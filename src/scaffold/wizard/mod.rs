//! The new-app wizard: from answers (flags over an answers file over defaults) and, on a
//! terminal, prompts, to a manifest the org's policies accept and the plan of files it implies.
//!
//! The questions are data ([`questions::QUESTIONS`]); this module asks them. One resolution
//! runs with or without a terminal: each question takes the given answer, else asks through
//! [`Prompt`] when there is one, else takes its default.
//!
//! The org's policies are the single source of truth. After each answer the wizard evaluates the
//! org's Rego (compiled once per run, as `levee check` does) and the manifest's own checks on
//! the manifest as answered so far. A finding belongs to the last question that sets its
//! `field`, a field around it or a field inside it: one that belongs to this question refuses
//! the answer; one that belongs to a question still ahead waits for it; one about an earlier
//! answer refuses this answer only if this answer caused it. A choice is offered only when the
//! policies accept it. The finished manifest passes the same gate once more, as it will be
//! written (with what the template adds), before the recap; nothing is written before the user
//! confirms.

pub mod answers;
pub mod questions;
mod recap;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::rc::Rc;

use serde_json::Value;

use crate::generate::policy::{self, Evaluator, Finding, Level};
use crate::load::diag::{Diagnostic, Severity};
use crate::load::document;
use crate::load::yaml::Document;
use crate::model::manifest::{Date, Manifest};
use crate::model::org::Org;
use crate::scaffold::pack::{Pack, Template};
use crate::scaffold::{self, ScaffoldError, WritePlan};

pub use answers::{Answers, Given, parse_dataset, parse_secret};
pub use questions::{Ctx, Input, NONE, OTHER, QUESTIONS, Spec};
pub use recap::file_rows;

use answers::{remove, set};

/// A question, as the prompt shows it.
#[derive(Debug, Clone)]
pub struct Question {
    /// The question's id in [`QUESTIONS`] (`name`, `dataset`; `confirm` and `change` at the end).
    pub key: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// The answer taken when the user just presses Enter (a choice's value for a select).
    pub default: Option<String>,
}

/// One option of a choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    /// What the user reads: the value and a one-line explanation.
    pub label: String,
}

/// How a prompt ended without an answer.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Esc: back to the previous question.
    #[error("back")]
    Back,
    /// Ctrl-C: stop the wizard; nothing is written.
    #[error("interrupted")]
    Interrupted,
    #[error("the prompt failed: {0}")]
    Failed(String),
}

/// How the wizard asks. The terminal implementation is the CLI's inquire prompt; tests
/// pass a scripted one.
pub trait Prompt {
    /// Free text. An empty answer means the question's default (or none).
    fn text(&mut self, q: &Question) -> Result<String, PromptError>;
    /// One of `choices`; returns the chosen `value`.
    fn select(&mut self, q: &Question, choices: &[Choice]) -> Result<String, PromptError>;
    /// Why an answer was refused, before the question is asked again.
    fn refuse(&mut self, reason: &str);
    /// Something to read before the next question: a warning, the choices not offered and why,
    /// the recap.
    fn note(&mut self, text: &str);
}

/// The wizard's inputs besides the answers.
#[derive(Debug)]
pub struct Setup<'a> {
    pub org: &'a Org,
    pub pack: &'a Pack,
    pub today: Date,
    /// The app name proposed when none is given: `levee new DIR` names the app after DIR when
    /// DIR's last component is a valid name.
    pub default_name: Option<String>,
    /// Where the app will be written (for the recap); default `./<name>`.
    pub target: Option<&'a Path>,
}

/// What the wizard decided.
#[derive(Debug)]
pub struct Resolved {
    /// The manifest as answered (the plan's manifest adds the template and what it needs).
    pub manifest: Manifest,
    pub template_id: String,
    /// Every file `levee new` will write.
    pub plan: WritePlan,
}

/// What kind of problem an answer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// No answer, and the app cannot be made without one.
    Missing,
    /// The answer is not valid for the manifest (or the template pack).
    Invalid,
    /// The org's policy refuses it.
    Policy,
}

/// An answer that keeps the app from being made.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The question whose answer it is (its flag names it on the command line), if one is.
    pub question: Option<&'static Spec>,
    /// The manifest field, dotted (`data_access[0].purpose`).
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
    /// The policy rule (`DATA-003`).
    pub rule: Option<String>,
    /// Which step of the run it belongs to.
    step: Option<usize>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.kind, self.question) {
            (ProblemKind::Missing, Some(q)) if q.field == questions::SETTING_FIELD => {
                let name = self.field.strip_prefix("settings.").unwrap_or(&self.field);
                write!(f, "missing {} {name}=...: {}", q.flag, self.message)
            }
            (ProblemKind::Missing, Some(q)) => {
                write!(f, "missing {} ({}): {}", q.flag, q.label, self.message)
            }
            (_, Some(q)) => write!(f, "{}: {}", q.flag, self.message),
            (_, None) if !self.field.is_empty() => write!(f, "`{}`: {}", self.field, self.message),
            _ => f.write_str(&self.message),
        }?;
        if let Some(r) = &self.rule {
            write!(f, " ({r})")?;
        }
        Ok(())
    }
}

/// Answers kept when a run stops before the app is made, to resume from.
#[derive(Debug, Clone)]
pub struct Kept {
    pub answers: Given,
    /// How many questions the user answered at the prompt in this run.
    pub asked: usize,
}

/// Why the wizard stopped.
#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    /// Answers that cannot make an app: missing, invalid, or refused by the org's policy.
    #[error("{}", list(.problems))]
    Refused {
        problems: Vec<Problem>,
        kept: Box<Kept>,
    },
    /// The user stopped (Ctrl-C, or "stop" at the recap); nothing was written.
    #[error("stopped; nothing was written")]
    Interrupted { kept: Box<Kept> },
    /// The files could not be made (a template that fails to render with these answers).
    #[error("{error}")]
    Scaffold {
        error: Box<ScaffoldError>,
        kept: Box<Kept>,
    },
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
    #[error("the prompt failed: {0}")]
    Prompt(String),
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Resolves the answers into a manifest and its plan, asking through `prompt` when given.
pub fn resolve(
    given: &Given,
    setup: &Setup<'_>,
    prompt: Option<&mut dyn Prompt>,
) -> Result<Resolved, WizardError> {
    let mut none = NoPrompt;
    let asks = prompt.is_some();
    let mut wizard = Wizard::new(given.clone(), setup, prompt.unwrap_or(&mut none))?;
    let resolved = if asks {
        wizard.interact()
    } else {
        wizard.silent()
    };
    // Its policy engine is left to the OS when the process ends next.
    crate::support::exit::release(wizard);
    resolved
}

/// The prompt of a run without a terminal: never asked.
struct NoPrompt;

impl Prompt for NoPrompt {
    fn text(&mut self, _: &Question) -> Result<String, PromptError> {
        Err(PromptError::Failed("there is no terminal to ask on".into()))
    }
    fn select(&mut self, _: &Question, _: &[Choice]) -> Result<String, PromptError> {
        Err(PromptError::Failed("there is no terminal to ask on".into()))
    }
    fn refuse(&mut self, _: &str) {}
    fn note(&mut self, _: &str) {}
}

/// A question as asked in this run: the row and, for a list, the item.
#[derive(Debug, Clone)]
struct Step {
    spec: &'static Spec,
    item: Option<usize>,
    pointer: String,
}

impl Step {
    /// The question about the template's `j`th declared setting, `name`.
    fn setting(spec: &'static Spec, j: usize, name: &str) -> Step {
        let pointer = spec
            .field
            .replace("{setting}", &crate::load::field_path::escape(name));
        Step {
            spec,
            item: Some(j),
            pointer,
        }
    }

    fn new(spec: &'static Spec, item: Option<usize>) -> Step {
        let pointer = spec.field.replace("{i}", &item.unwrap_or(0).to_string());
        Step {
            spec,
            item,
            pointer,
        }
    }

    /// For the first question of a list item (`dataset`, `secret`): the list and the item.
    fn head(&self) -> Option<(&'static str, usize)> {
        let list = self.spec.list()?;
        is_head(self.spec).then_some((list, self.item.unwrap_or(0)))
    }
}

fn is_head(spec: &'static Spec) -> bool {
    is_head_spec(spec)
}

/// Is `spec` the first question of a list item (its empty answer ends the list)?
pub(crate) fn is_head_spec(spec: &Spec) -> bool {
    // Asked for every step each time the steps are listed: the heads are found once (a scan of
    // the questions per call was 0.8% of `levee new`).
    static HEADS: std::sync::OnceLock<Vec<usize>> = std::sync::OnceLock::new();
    let heads = HEADS.get_or_init(|| {
        QUESTIONS
            .iter()
            .filter(|q| {
                q.list().is_some()
                    && QUESTIONS
                        .iter()
                        .find(|s| s.list() == q.list())
                        .is_some_and(|first| std::ptr::eq(first, *q))
            })
            .map(|s| std::ptr::from_ref(s) as usize)
            .collect()
    });
    heads.contains(&(std::ptr::from_ref(spec) as usize))
}

/// Where a question's current answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Answered,
    Given,
    Unanswered,
}

/// What the checks say about one answer.
#[derive(Debug, Default)]
struct Verdict {
    refusals: Vec<String>,
    notes: Vec<String>,
}

/// Where the interactive run goes next.
enum Flow {
    Next,
    Back,
}

struct Wizard<'a, 'p> {
    setup: &'a Setup<'a>,
    prompt: &'p mut dyn Prompt,
    given: Given,
    template: Option<&'a Template>,
    /// Answers from the prompt or defaults, by pointer (`None`: answered empty).
    answered: BTreeMap<String, Option<Value>>,
    /// Pointers whose answer is a default nobody confirmed (not kept for resuming).
    defaulted: BTreeSet<String>,
    /// Items per list.
    lens: BTreeMap<&'static str, usize>,
    /// Lists given whole (by flags or the answers file): no "another?" question.
    closed: BTreeSet<&'static str>,
    asked: usize,
    evaluator: Evaluator,
    memo: HashMap<String, Rc<Vec<Finding>>>,
}

impl<'a, 'p> Wizard<'a, 'p> {
    fn new(
        given: Given,
        setup: &'a Setup<'a>,
        prompt: &'p mut dyn Prompt,
    ) -> Result<Self, WizardError> {
        let pack = setup.pack;
        let kept = || Kept {
            answers: given.clone(),
            asked: 0,
        };
        let invalid = |message: String, hint: &str| WizardError::Refused {
            problems: vec![Problem {
                kind: ProblemKind::Invalid,
                question: None,
                field: "template".into(),
                message,
                hint: Some(hint.into()),
                rule: None,
                step: None,
            }],
            kept: Box::new(kept()),
        };
        if pack.templates.is_empty() {
            return Err(invalid(
                format!("the template pack `{}` offers no templates", pack.meta.name),
                "point --templates at a pack with templates",
            ));
        }
        let template = match &given.template {
            Some(id) => Some(pack.template(id).map_err(|e| {
                invalid(e.to_string(), "`levee templates list` shows the templates")
            })?),
            None => None,
        };
        let mut lens = BTreeMap::new();
        let mut closed = BTreeSet::new();
        for spec in QUESTIONS.iter().filter(|s| is_head(s)) {
            let Some(list) = spec.list() else { continue };
            let n = given
                .doc
                .pointer(list)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            lens.insert(list, n);
            if n > 0 {
                closed.insert(list);
            }
        }
        let evaluator = Evaluator::embedded(setup.org, policy::Clock::Fixed(setup.today))?;
        Ok(Wizard {
            setup,
            prompt,
            given,
            template,
            answered: BTreeMap::new(),
            defaulted: BTreeSet::new(),
            lens,
            closed,
            asked: 0,
            evaluator,
            memo: HashMap::new(),
        })
    }

    fn len(&self, list: &str) -> usize {
        self.lens.get(list).copied().unwrap_or(0)
    }

    /// Is `pointer` inside a list item that no longer exists?
    fn dropped(&self, pointer: &str) -> bool {
        self.lens.iter().any(|(list, n)| {
            pointer
                .strip_prefix(&**list)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(|rest| rest.split('/').next())
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i >= *n)
        })
    }

    /// Every answer so far (given, then answered over it) as a partial manifest.
    fn answers(&self) -> Value {
        let mut doc = self.given.doc.clone();
        if !doc.is_object() {
            doc = Value::Object(serde_json::Map::new());
        }
        for (list, n) in &self.lens {
            if let Some(Value::Array(items)) = doc.pointer_mut(list) {
                items.truncate(*n);
            }
        }
        for (pointer, value) in &self.answered {
            if self.dropped(pointer) {
                continue;
            }
            match value {
                Some(v) => set(&mut doc, pointer, v.clone()),
                None => remove(&mut doc, pointer),
            }
        }
        doc
    }

    fn ctx<'c>(&'c self, answers: &'c Value, item: Option<usize>) -> Ctx<'c> {
        Ctx {
            setup: self.setup,
            answers,
            item,
            template: self.template,
        }
    }

    /// The questions of this run, in order, for the answers so far.
    fn steps(&self) -> Vec<Step> {
        let answers = self.answers();
        let mut out = Vec::new();
        for spec in QUESTIONS {
            if spec.field == questions::SETTING_FIELD {
                let cx = self.ctx(&answers, None);
                if let Some(t) = cx.chosen_template() {
                    for (j, name) in t.meta.settings.keys().enumerate() {
                        out.push(Step::setting(spec, j, name));
                    }
                }
                continue;
            }
            match spec.list() {
                None => {
                    if (spec.applies)(&self.ctx(&answers, None)) {
                        out.push(Step::new(spec, None));
                    }
                }
                Some(list) if is_head(spec) => {
                    let group: Vec<&'static Spec> = QUESTIONS
                        .iter()
                        .filter(|s| s.list() == Some(list))
                        .collect();
                    let n = self.len(list);
                    for i in 0..n {
                        for s in &group {
                            out.push(Step::new(s, Some(i)));
                        }
                    }
                    if !self.closed.contains(list) {
                        out.push(Step::new(spec, Some(n)));
                    }
                }
                Some(_) => {}
            }
        }
        out
    }

    fn source(&self, step: &Step) -> Source {
        if self.answered.contains_key(&step.pointer) {
            Source::Answered
        } else if !self.dropped(&step.pointer)
            && self
                .given
                .doc
                .pointer(&step.pointer)
                .is_some_and(|v| !v.is_null())
        {
            Source::Given
        } else {
            Source::Unanswered
        }
    }

    /// Records an answer (a list's first question with no answer ends the list there).
    fn apply(&mut self, step: &Step, value: Option<Value>) {
        if let Some((list, i)) = step.head() {
            match &value {
                None => {
                    self.lens.insert(list, i.min(self.len(list)));
                    let prefix = format!("{list}/");
                    self.answered.retain(|p, _| {
                        p.strip_prefix(&prefix)
                            .and_then(|r| r.split('/').next())
                            .and_then(|n| n.parse::<usize>().ok())
                            .is_none_or(|n| n < i)
                    });
                }
                Some(_) if i >= self.len(list) => {
                    self.lens.insert(list, i + 1);
                }
                Some(_) => {}
            }
        }
        self.defaulted.remove(&step.pointer);
        self.answered.insert(step.pointer.clone(), value);
    }

    /// The manifest made of the answers to `steps[..upto]`, plus what is never asked (the
    /// creation date, the SSO protocol, what the answers file sets beyond the questions) and
    /// what follows from the answers (the template's kind and stack, the runtime type).
    fn doc(&self, steps: &[Step], upto: usize, answers: &Value) -> Value {
        let mut doc = answers.clone();
        for s in steps {
            if s.spec.field.ends_with("{i}") {
                if let Some(list) = s.spec.list() {
                    remove(&mut doc, list);
                }
            } else {
                remove(&mut doc, &s.pointer);
            }
        }
        if doc.pointer("/sso/provider").is_none() {
            set(&mut doc, "/sso/provider", Value::String("oidc".into()));
        }
        set(
            &mut doc,
            "/lifecycle/created",
            Value::String(self.setup.today.to_string()),
        );
        for s in &steps[..upto.min(steps.len())] {
            if let Some(v) = answers.pointer(&s.pointer).filter(|v| !v.is_null()) {
                set(&mut doc, &s.pointer, v.clone());
            }
        }
        self.derive(&mut doc);
        doc
    }

    fn derive(&self, doc: &mut Value) {
        let has = |doc: &Value, p: &str| doc.pointer(p).is_some_and(|v| !v.is_null());
        // Settings in the template's order, then the others as given.
        let declared: Vec<String> = self
            .ctx(doc, None)
            .chosen_template()
            .map(|t| t.meta.settings.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(Value::Object(settings)) = doc.get_mut("settings") {
            let rank = |k: &str| declared.iter().position(|d| d == k).unwrap_or(usize::MAX);
            let mut entries: Vec<(String, Value)> = std::mem::take(settings).into_iter().collect();
            entries.sort_by_key(|(k, _)| rank(k));
            settings.extend(entries);
        }
        if let Some(t) = self.template {
            if !has(doc, "/kind") {
                set(doc, "/kind", Value::String(t.meta.kind.to_string()));
            }
            if !has(doc, "/stack") {
                set(doc, "/stack", Value::String(t.meta.stack.to_string()));
            }
        } else if let Some(kind) = doc.pointer("/kind").and_then(Value::as_str)
            && !has(doc, "/stack")
            && let Ok(kind) = kind.parse::<crate::model::manifest::Kind>()
        {
            let stacks: BTreeSet<_> = self
                .setup
                .pack
                .find(Some(&kind), None)
                .iter()
                .map(|t| t.meta.stack.clone())
                .collect();
            if let [only] = &stacks.into_iter().collect::<Vec<_>>()[..] {
                set(doc, "/stack", Value::String(only.to_string()));
            }
        }
        if !has(doc, "/runtime/type")
            && let Some(c) = doc
                .pointer("/classification")
                .and_then(Value::as_str)
                .and_then(|c| c.parse().ok())
            && let Some(kind) = self.setup.org.allowed_runtimes(c).first()
        {
            set(doc, "/runtime/type", Value::String(kind.to_string()));
        }
    }

    /// The manifest's own checks (schema and meaning): the errors.
    fn check(&self, doc: &Value) -> Vec<Diagnostic> {
        let d = Document {
            value: doc.clone(),
            spans: Default::default(),
            // Answers are values, not YAML text: app.yaml quotes every string it writes.
            yaml11: Vec::new(),
        };
        let context = document::Context {
            declared: Some(&self.setup.pack.declared),
            ..Default::default()
        };
        document::check_document_with::<Manifest>(
            Path::new(crate::model::manifest::FILE_NAME),
            &d,
            context,
        )
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
    }

    /// The org's policy findings on `doc`, without the values the manifest checks refuse (the
    /// policies assume valid values).
    fn evaluate(
        &mut self,
        doc: &Value,
        diags: &[Diagnostic],
    ) -> Result<Rc<Vec<Finding>>, WizardError> {
        let mut input = doc.clone();
        let mut refused: Vec<String> = diags
            .iter()
            .filter_map(|d| d.field.as_deref().map(crate::load::field_path::pointer))
            .collect();
        // Deepest and last first, so removing a list item leaves the others' pointers intact.
        refused.sort();
        refused.dedup();
        for p in refused.iter().rev() {
            drop_value(&mut input, p);
        }
        let key = serde_json::to_string(&input).unwrap_or_default();
        if let Some(hit) = self.memo.get(&key) {
            return Ok(hit.clone());
        }
        let found = Rc::new(self.evaluator.evaluate(&input)?);
        self.memo.insert(key, found.clone());
        Ok(found)
    }

    /// What the runtime sandbox would refuse to run, for answers that make a whole manifest,
    /// without the values the manifest checks refuse (they are reported as such).
    fn sandbox_refusals(
        &self,
        doc: &Value,
        diags: &[Diagnostic],
    ) -> Vec<crate::generate::sandbox::DeployRefusal> {
        let mut doc = doc.clone();
        let mut refused: Vec<String> = diags
            .iter()
            .filter_map(|d| d.field.as_deref().map(crate::load::field_path::pointer))
            .collect();
        refused.sort();
        refused.dedup();
        for p in refused.iter().rev() {
            drop_value(&mut doc, p);
        }
        let Ok(m) = serde_json::from_value::<Manifest>(doc) else {
            return Vec::new();
        };
        match crate::generate::sandbox::plan(&m, self.setup.org, &Default::default()) {
            Err(crate::generate::sandbox::SandboxError::Refused { refusals, .. }) => refusals,
            _ => Vec::new(),
        }
    }

    /// The step that owns a field: the last one that sets it, a field around it or inside it.
    fn owner(steps: &[Step], field: &str) -> Option<usize> {
        let p = crate::load::field_path::pointer(field);
        if p.is_empty() {
            return None;
        }
        steps.iter().rposition(|s| {
            s.pointer == p
                || s.pointer.starts_with(&format!("{p}/"))
                || p.starts_with(&format!("{}/", s.pointer))
        })
    }

    fn required(&self, step: &Step) -> bool {
        step.spec.needed
            || step.spec.confirmed
            || (step.head().is_none()
                && crate::load::schema::is_required(
                    crate::model::shape::manifest_structure(),
                    &step.pointer,
                ))
            || self.declared_setting(step).is_some_and(|(_, s)| s.required)
    }

    /// For a setting's step: the setting as the chosen template declares it.
    fn declared_setting(
        &self,
        step: &Step,
    ) -> Option<(String, crate::scaffold::pack::SettingSpec)> {
        if step.spec.field != questions::SETTING_FIELD {
            return None;
        }
        let answers = self.answers();
        let cx = self.ctx(&answers, step.item);
        cx.setting().map(|(n, s)| (n.clone(), s.clone()))
    }

    /// Judges `value` as the answer to `steps[k]`, given the answers before it.
    fn judge(
        &mut self,
        k: usize,
        step: &Step,
        value: Option<Value>,
    ) -> Result<Verdict, WizardError> {
        let saved = (
            self.answered.clone(),
            self.lens.clone(),
            self.defaulted.clone(),
        );
        self.apply(step, value.clone());
        let verdict = self.judge_applied(k, step, value.as_ref());
        (self.answered, self.lens, self.defaulted) = saved;
        verdict
    }

    fn judge_applied(
        &mut self,
        k: usize,
        step: &Step,
        value: Option<&Value>,
    ) -> Result<Verdict, WizardError> {
        let mut v = Verdict::default();
        let answers = self.answers();
        let cx = self.ctx(&answers, step.item);
        if let Some(Value::String(s)) = value
            && let Err(e) = (step.spec.check)(&cx, s)
        {
            v.refusals.push(e);
            return Ok(v);
        }
        let empty = value.is_none();
        if empty && self.required(step) {
            v.refusals.push(format!(
                "an answer is needed here: {}",
                step.spec.help.text(&cx)
            ));
            return Ok(v);
        }
        let steps = self.steps();
        let before = self.doc(&steps, k, &answers);
        let after = self.doc(&steps, k + 1, &answers);
        // What the answers before this one already drew is looked up only for a problem that
        // this answer does not own and no later question does (see `attribute`): most answers
        // are judged without checking or evaluating the answers before them at all.
        let mut diags_before: Option<Vec<Diagnostic>> = None;
        let diags_after = self.check(&after);
        let own = crate::load::field_path::dotted(&step.pointer);
        for d in &diags_after {
            let field = d.field.clone().unwrap_or_default();
            if empty && field == own {
                continue;
            }
            let was = Self::needs_history(&steps, k, &field)
                && diags_before
                    .get_or_insert_with(|| self.check(&before))
                    .iter()
                    .any(|b| b.field == d.field && b.message == d.message);
            if let Some(text) = Self::attribute(&steps, k, &field, was) {
                let mut r = d.message.clone();
                if let Some(h) = d.hint.as_ref().filter(|h| !h.is_empty()) {
                    r.push('\n');
                    r.push_str(h);
                }
                v.refusals.push(with_conflict(r, text));
            }
        }
        if !v.refusals.is_empty() {
            return Ok(v);
        }
        // What the runtime sandbox refuses to run (the org config's `sandbox`), once the
        // answers make a whole manifest.
        let mut sandbox_before = None;
        for r in self.sandbox_refusals(&after, &diags_after) {
            let field = crate::load::field_path::dotted(&r.field);
            let was = Self::needs_history(&steps, k, &field)
                && sandbox_before
                    .get_or_insert_with(|| {
                        let diags = diags_before.get_or_insert_with(|| self.check(&before));
                        self.sandbox_refusals(&before, diags)
                    })
                    .iter()
                    .any(|b| b.field == r.field && b.message == r.message);
            if let Some(text) = Self::attribute(&steps, k, &field, was) {
                v.refusals
                    .push(with_conflict(format!("{}\n{}", r.message, r.hint), text));
            }
        }
        if !v.refusals.is_empty() {
            return Ok(v);
        }
        let found_after = self.evaluate(&after, &diags_after)?;
        let mut found_before = None;
        for f in found_after.iter() {
            let history = Self::needs_history(&steps, k, &f.field);
            if history && found_before.is_none() {
                let diags = diags_before.get_or_insert_with(|| self.check(&before));
                found_before = Some(self.evaluate(&before, diags)?);
            }
            let was = history
                && found_before
                    .as_ref()
                    .is_some_and(|b| b.iter().any(|b| b.id == f.id && b.field == f.field));
            if let Some(text) = Self::attribute(&steps, k, &f.field, was) {
                let line = with_conflict(format!("{} (org policy {})", f.msg, f.id), text);
                match f.level {
                    Level::Deny => v.refusals.push(line),
                    Level::Warn => v.notes.push(format!("note: {line}")),
                }
            }
        }
        Ok(v)
    }

    /// Whether judging `steps[k]` needs to know if a problem about `field` was already there
    /// before it: only when neither it nor a later question owns `field`.
    fn needs_history(steps: &[Step], k: usize, field: &str) -> bool {
        Self::owner(steps, field).is_none_or(|j| j < k)
    }

    /// Whether a finding about `field` refuses the answer to `steps[k]`: `Some(conflict)` when it
    /// does (`conflict` names the earlier question it clashes with, if any).
    fn attribute(steps: &[Step], k: usize, field: &str, was_there: bool) -> Option<Option<String>> {
        match Self::owner(steps, field) {
            Some(j) if j == k => Some(None),
            Some(j) if j > k => None,
            _ if was_there => None,
            Some(j) => Some(Some(steps[j].spec.label.to_string())),
            None => Some(None),
        }
    }

    /// The choices the checks accept for `steps[k]`, and a line for each they refuse.
    fn offer(
        &mut self,
        k: usize,
        step: &Step,
        choices: Vec<Choice>,
    ) -> Result<(Vec<Choice>, Vec<String>), WizardError> {
        let mut offered = Vec::new();
        let mut refused = Vec::new();
        for c in choices {
            if c.value == OTHER {
                offered.push(c);
                continue;
            }
            let value = (c.value != NONE).then(|| Value::String(c.value.clone()));
            let v = self.judge(k, step, value)?;
            match v.refusals.first() {
                None => offered.push(c),
                Some(why) => refused.push(format!(
                    "not offered: {} ({})",
                    c.value,
                    why.lines().next().unwrap_or_default()
                )),
            }
        }
        Ok((offered, refused))
    }

    /// The answer a question takes when nobody gives one: its default, else (for a choice that
    /// is not needed) the first one the policies accept.
    fn default_for(&mut self, k: usize, step: &Step) -> Result<Option<Value>, WizardError> {
        let answers = self.answers();
        let cx = self.ctx(&answers, step.item);
        if step.spec.confirmed {
            return Ok(None);
        }
        let proposed = (step.spec.default)(&cx);
        if step.spec.input == Input::Select {
            let choices = (step.spec.choices)(&cx);
            if let Some(d) = proposed {
                return Ok((d != NONE).then_some(Value::String(d)));
            }
            if step.spec.needed {
                return Ok(None);
            }
            // The first choice the checks accept, judged in order: the ones after it are not
            // evaluated (what `offer` would say of them does not change the answer).
            for c in choices {
                if c.value == NONE || c.value == OTHER {
                    continue;
                }
                let value = Value::String(c.value);
                if self
                    .judge(k, step, Some(value.clone()))?
                    .refusals
                    .is_empty()
                {
                    return Ok(Some(value));
                }
            }
            return Ok(None);
        }
        Ok(proposed.and_then(|d| parse(step.spec.input, &d)))
    }

    fn kept(&self) -> Kept {
        let mut doc = self.answers();
        for p in &self.defaulted {
            remove(&mut doc, p);
        }
        prune_empty(&mut doc);
        Kept {
            answers: Given {
                doc,
                template: self.given.template.clone(),
            },
            asked: self.asked,
        }
    }

    /// A given setting the template does not declare, whose name is close to one it does: a
    /// typo (`DOWNSTEAM_URL`), which would leave the declared one unset.
    fn setting_typos(&self, answers: &Value) -> Vec<Problem> {
        let cx = self.ctx(answers, None);
        let Some(t) = cx.chosen_template() else {
            return Vec::new();
        };
        let declared: Vec<String> = t.meta.settings.keys().cloned().collect();
        let given = answers
            .get("settings")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        given
            .into_iter()
            .filter(|n| !declared.contains(n))
            .filter_map(|n| {
                let close = crate::load::schema::did_you_mean(&n, &declared)?;
                Some(Problem {
                    kind: ProblemKind::Invalid,
                    question: setting_question("settings"),
                    field: format!("settings.{n}"),
                    message: format!("the template `{}` declares no setting `{n}`", t.id),
                    hint: Some(format!("did you mean `{close}`?")),
                    rule: None,
                    step: None,
                })
            })
            .collect()
    }

    // ---- without a terminal ----

    fn silent(&mut self) -> Result<Resolved, WizardError> {
        let mut k = 0;
        // The questions follow from the answers: they change only when a default is applied
        // (judging one applies it and puts everything back).
        let mut steps = self.steps();
        while let Some(step) = steps.get(k).cloned() {
            if self.source(&step) == Source::Unanswered {
                let d = self.default_for(k, &step)?;
                self.apply(&step, d);
                self.defaulted.insert(step.pointer.clone());
                steps = self.steps();
            }
            k += 1;
        }
        match self.gate()? {
            Ok(r) => Ok(r),
            Err(problems) => Err(WizardError::Refused {
                problems,
                kept: Box::new(self.kept()),
            }),
        }
    }

    /// The final gate: the whole manifest, as it will be written, through the manifest's checks
    /// and the org's policies. Every problem at once, each with the step it belongs to.
    fn gate(&mut self) -> Result<Result<Resolved, Vec<Problem>>, WizardError> {
        let answers = self.answers();
        let steps = self.steps();
        let doc = self.doc(&steps, steps.len(), &answers);
        let mut problems = Vec::new();
        let mut missing = BTreeSet::new();
        for (j, s) in steps.iter().enumerate() {
            if answers.pointer(&s.pointer).is_none_or(Value::is_null) && self.required(s) {
                let cx = self.ctx(&answers, s.item);
                missing.insert(crate::load::field_path::dotted(&s.pointer));
                // A setting is named with an example to pass.
                let hint = self.declared_setting(s).map(|(name, d)| {
                    format!(
                        "pass --setting {name}={}",
                        d.example.as_deref().unwrap_or("VALUE")
                    )
                });
                problems.push(Problem {
                    kind: ProblemKind::Missing,
                    question: Some(s.spec),
                    field: crate::load::field_path::dotted(&s.pointer),
                    message: s.spec.help.text(&cx),
                    hint,
                    rule: None,
                    step: Some(j),
                });
            }
        }
        problems.extend(self.setting_typos(&answers));
        let diags = self.check(&doc);
        for d in &diags {
            let field = d.field.clone().unwrap_or_default();
            if missing.contains(&field) {
                continue;
            }
            let j = Self::owner(&steps, &field);
            problems.push(Problem {
                kind: ProblemKind::Invalid,
                question: j
                    .map(|j| steps[j].spec)
                    .or_else(|| setting_question(&field)),
                field,
                message: d.message.clone(),
                hint: d.hint.clone(),
                rule: None,
                step: j,
            });
        }
        // The policies judge the manifest as it will be written (the template adds what its
        // starter code needs), one evaluation. The answers themselves are judged only when they
        // do not make one: invalid, or refused by the plan (the policies' refusals say more
        // than the plan's error).
        let mut resolved = None;
        let findings = if problems.is_empty() {
            let manifest: Manifest = serde_json::from_value(doc.clone()).map_err(|e| {
                WizardError::Prompt(format!("the answers do not make a manifest: {e}"))
            })?;
            let cx = self.ctx(&answers, None);
            let Some(template) = cx.chosen_template() else {
                return Ok(Err(problems));
            };
            let template_id = template.id.clone();
            match scaffold::plan(self.setup.pack, template, manifest.clone(), self.setup.org) {
                Ok(plan) => {
                    let input = serde_json::to_value(&plan.manifest).unwrap_or_default();
                    let findings = self.evaluate(&input, &[])?;
                    resolved = Some(Resolved {
                        manifest,
                        template_id,
                        plan,
                    });
                    findings
                }
                Err(e) => {
                    let findings = self.evaluate(&doc, &diags)?;
                    if !findings.iter().any(|f| f.level == Level::Deny) {
                        return self.plan_refused(e, &steps, problems);
                    }
                    findings
                }
            }
        } else {
            self.evaluate(&doc, &diags)?
        };
        for f in findings.iter().filter(|f| f.level == Level::Deny) {
            let j = Self::owner(&steps, &f.field);
            problems.push(Problem {
                kind: ProblemKind::Policy,
                question: j
                    .map(|j| steps[j].spec)
                    .or_else(|| setting_question(&f.field)),
                field: f.field.clone(),
                message: f.msg.clone(),
                hint: Some(f.hint.clone()).filter(|h| !h.is_empty()),
                rule: Some(f.id.clone()),
                step: j,
            });
        }
        match resolved {
            Some(r) if problems.is_empty() => Ok(Ok(r)),
            _ => Ok(Err(sorted(problems))),
        }
    }

    /// The gate's answer when the plan fails and the policies refuse nothing: what the runtime
    /// sandbox refuses, each with its question, or the plan's error.
    fn plan_refused(
        &self,
        error: ScaffoldError,
        steps: &[Step],
        mut problems: Vec<Problem>,
    ) -> Result<Result<Resolved, Vec<Problem>>, WizardError> {
        let ScaffoldError::Managed(crate::generate::managed::ManagedError::Sandbox(
            crate::generate::sandbox::SandboxError::Refused { refusals, .. },
        )) = error
        else {
            return Err(WizardError::Scaffold {
                error: Box::new(error),
                kept: Box::new(self.kept()),
            });
        };
        for r in refusals {
            let field = crate::load::field_path::dotted(&r.field);
            let j = Self::owner(steps, &field);
            problems.push(Problem {
                kind: ProblemKind::Policy,
                question: j.map(|j| steps[j].spec),
                field,
                message: r.message,
                hint: Some(r.hint),
                rule: None,
                step: j,
            });
        }
        Ok(Err(sorted(problems)))
    }

    // ---- on a terminal ----

    fn prompt(&mut self) -> &mut dyn Prompt {
        &mut *self.prompt
    }

    fn interact(&mut self) -> Result<Resolved, WizardError> {
        let intro = format!(
            "levee new asks about the app, then shows everything before writing anything.\n\
             Enter takes the answer shown; Esc goes back one question; Ctrl-C stops (nothing is written, your answers are kept).{}",
            if self.given.is_empty() {
                String::new()
            } else {
                "\nAnswers you gave as flags or in the answers file are not asked again unless the org's rules refuse them.".to_string()
            }
        );
        self.prompt().note(&intro);
        let mut cursor = 0;
        let mut recheck = true;
        let mut forced: Option<(usize, Vec<String>)> = None;
        loop {
            let steps = self.steps();
            if cursor >= steps.len() {
                match self.finish(&steps)? {
                    End::Create(r) => return Ok(*r),
                    End::Back => {
                        cursor = self.back_from(&steps, steps.len());
                        recheck = false;
                    }
                    End::Goto(j, why) => {
                        cursor = j;
                        forced = Some((j, why));
                        recheck = true;
                    }
                }
                continue;
            }
            let step = steps[cursor].clone();
            let mut pending = Vec::new();
            match forced.take() {
                Some((j, why)) if j == cursor => pending = why,
                other => {
                    forced = other;
                    let silent = match self.source(&step) {
                        Source::Given => true,
                        Source::Answered => recheck,
                        Source::Unanswered => false,
                    };
                    if silent {
                        let value = self.answers().pointer(&step.pointer).cloned();
                        let v = self.judge(cursor, &step, value.clone())?;
                        if v.refusals.is_empty() {
                            if self.source(&step) == Source::Answered {
                                self.apply(&step, value);
                            }
                            cursor += 1;
                            continue;
                        }
                        pending = v.refusals;
                    }
                }
            }
            match self.ask(cursor, &step, pending)? {
                Flow::Next => cursor += 1,
                Flow::Back => {
                    let j = self.back_from(&steps, cursor);
                    if j == cursor {
                        self.prompt()
                            .note("This is the first question; Ctrl-C stops the wizard.");
                    }
                    cursor = j;
                    recheck = false;
                }
            }
        }
    }

    /// The question before `cursor` that a person answers (given answers are skipped).
    fn back_from(&self, steps: &[Step], cursor: usize) -> usize {
        (0..cursor.min(steps.len()))
            .rev()
            .find(|j| self.source(&steps[*j]) != Source::Given)
            .unwrap_or(cursor.min(steps.len().saturating_sub(1)))
    }

    fn interrupted(&self) -> WizardError {
        WizardError::Interrupted {
            kept: Box::new(self.kept()),
        }
    }

    fn lift(&self, e: PromptError) -> WizardError {
        match e {
            PromptError::Interrupted => self.interrupted(),
            PromptError::Failed(m) => WizardError::Prompt(m),
            PromptError::Back => WizardError::Prompt("unexpected back".into()),
        }
    }

    /// Asks `steps[k]` until an answer passes, showing `pending` refusals first.
    fn ask(&mut self, k: usize, step: &Step, pending: Vec<String>) -> Result<Flow, WizardError> {
        let answers = self.answers();
        let cx = self.ctx(&answers, step.item);
        let spec = step.spec;
        let message = spec.prompt.text(&cx);
        let help = Some(spec.help.text(&cx));
        let current = answers
            .pointer(&step.pointer)
            .filter(|v| !v.is_null())
            .map(display);
        let proposed = (spec.default)(&cx);
        let choices = (spec.choices)(&cx);
        let source = self.source(step);
        if spec.input == Input::Select {
            let (mut offered, not) = self.offer(k, step, choices.clone())?;
            if offered.iter().all(|c| c.value == OTHER) {
                offered = choices;
                self.prompt().note(
                    "None of these fits your earlier answers (Esc goes back to change them):",
                );
            }
            for n in &not {
                self.prompt().note(n);
            }
            let offered_has = |v: &str| offered.iter().any(|c| c.value == v);
            let default = match (&current, source) {
                (Some(c), _) if offered_has(c) => Some(c.clone()),
                (None, Source::Answered) if offered_has(NONE) => Some(NONE.to_string()),
                _ => proposed.filter(|d| offered_has(d)).or_else(|| {
                    offered
                        .iter()
                        .find(|c| c.value != OTHER)
                        .map(|c| c.value.clone())
                }),
            };
            for p in &pending {
                self.prompt().refuse(p);
            }
            loop {
                let q = Question {
                    key: spec.id,
                    message: message.clone(),
                    help: help.clone(),
                    default: default.clone(),
                };
                let picked = match self.prompt().select(&q, &offered) {
                    Ok(v) => v,
                    Err(PromptError::Back) => return Ok(Flow::Back),
                    Err(e) => return Err(self.lift(e)),
                };
                let value = if picked == OTHER {
                    let q = Question {
                        key: spec.id,
                        message: spec.other.unwrap_or("Which one?").to_string(),
                        help: None,
                        default: None,
                    };
                    match self.prompt().text(&q) {
                        Ok(t) if t.trim().is_empty() => continue,
                        Ok(t) => Some(Value::String(t.trim().to_string())),
                        Err(PromptError::Back) => continue,
                        Err(e) => return Err(self.lift(e)),
                    }
                } else if picked == NONE {
                    None
                } else {
                    Some(Value::String(picked))
                };
                if self.settle(k, step, value)? {
                    return Ok(Flow::Next);
                }
            }
        }
        let default = current.or(proposed);
        for p in &pending {
            self.prompt().refuse(p);
        }
        loop {
            let q = Question {
                key: spec.id,
                message: message.clone(),
                help: help.clone(),
                default: default.clone(),
            };
            let raw = match self.prompt().text(&q) {
                Ok(v) => v,
                Err(PromptError::Back) => return Ok(Flow::Back),
                Err(e) => return Err(self.lift(e)),
            };
            let raw = raw.trim();
            let raw = if raw.is_empty() {
                default.clone().unwrap_or_default()
            } else {
                raw.to_string()
            };
            if self.settle(k, step, parse(spec.input, &raw))? {
                return Ok(Flow::Next);
            }
        }
    }

    /// Judges an answer given at the prompt: refuses it (false), or records it (true).
    fn settle(&mut self, k: usize, step: &Step, value: Option<Value>) -> Result<bool, WizardError> {
        let v = self.judge(k, step, value.clone())?;
        if !v.refusals.is_empty() {
            for r in &v.refusals {
                self.prompt().refuse(r);
            }
            return Ok(false);
        }
        for n in &v.notes {
            self.prompt().note(n);
        }
        self.apply(step, value);
        self.asked += 1;
        Ok(true)
    }

    /// After the last question: the final gate, the recap, the confirmation.
    fn finish(&mut self, steps: &[Step]) -> Result<End, WizardError> {
        let resolved = match self.gate()? {
            Ok(r) => r,
            Err(problems) => {
                // Back to the first question a refusal belongs to, with every refusal of it.
                let first = problems.iter().filter_map(|p| p.step).min();
                let unowned: Vec<Problem> = problems
                    .iter()
                    .filter(|p| p.step.is_none())
                    .cloned()
                    .collect();
                return match first {
                    Some(j) if unowned.is_empty() => {
                        let why = problems
                            .iter()
                            .filter(|p| p.step == Some(j))
                            .map(|p| match &p.rule {
                                Some(r) => format!("{} (org policy {r})", p.message),
                                None => p.message.clone(),
                            })
                            .collect();
                        Ok(End::Goto(j, why))
                    }
                    _ => Err(WizardError::Refused {
                        problems,
                        kept: Box::new(self.kept()),
                    }),
                };
            }
        };
        let answers = self.answers();
        let text = recap::recap(steps, &answers, &resolved, self.setup);
        self.prompt().note(&text);
        let options = vec![
            Choice {
                value: "create".into(),
                label: "Yes: create the app".into(),
            },
            Choice {
                value: "change".into(),
                label: "Change an answer".into(),
            },
            Choice {
                value: "stop".into(),
                label: "Stop: write nothing (your answers are kept to finish later)".into(),
            },
        ];
        loop {
            let q = Question {
                key: "confirm",
                message: "Create the app?".into(),
                help: Some("Esc goes back to the last question".into()),
                default: Some("create".into()),
            };
            match self.prompt().select(&q, &options) {
                Ok(v) if v == "create" => return Ok(End::Create(Box::new(resolved))),
                Ok(v) if v == "stop" => return Err(self.interrupted()),
                Ok(_) => {
                    let which: Vec<Choice> = steps
                        .iter()
                        .enumerate()
                        .map(|(j, s)| Choice {
                            value: j.to_string(),
                            label: format!(
                                "{}: {}",
                                recap::step_label(s),
                                answers
                                    .pointer(&s.pointer)
                                    .filter(|v| !v.is_null())
                                    .map_or("(none)".to_string(), display)
                            ),
                        })
                        .collect();
                    let q = Question {
                        key: "change",
                        message: "Which answer?".into(),
                        help: Some("Esc: back to the recap".into()),
                        default: None,
                    };
                    match self.prompt().select(&q, &which) {
                        Ok(v) => {
                            if let Ok(j) = v.parse::<usize>() {
                                return Ok(End::Goto(j, Vec::new()));
                            }
                        }
                        Err(PromptError::Back) => {}
                        Err(e) => return Err(self.lift(e)),
                    }
                }
                Err(PromptError::Back) => return Ok(End::Back),
                Err(e) => return Err(self.lift(e)),
            }
        }
    }
}

/// How the recap ended.
enum End {
    Create(Box<Resolved>),
    Back,
    /// To a question, showing why.
    Goto(usize, Vec<String>),
}

/// The settings' question, for a problem about a setting no step asks (one given that the
/// template does not declare): its flag names it.
fn setting_question(field: &str) -> Option<&'static Spec> {
    (field == "settings" || field.starts_with("settings."))
        .then(|| {
            QUESTIONS
                .iter()
                .find(|s| s.field == questions::SETTING_FIELD)
        })
        .flatten()
}

fn with_conflict(refusal: String, conflict: Option<String>) -> String {
    match conflict {
        None => refusal,
        Some(label) => format!(
            "{refusal}\nThis clashes with your answer to \u{201c}{label}\u{201d}: answer differently here, or press Esc to go back and change it."
        ),
    }
}

/// An answer as typed, as a manifest value (`None`: no answer).
fn parse(input: Input, raw: &str) -> Option<Value> {
    let raw = raw.trim();
    match input {
        Input::List => {
            let items: Vec<Value> = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Input::Text | Input::Select => {
            (!raw.is_empty() && raw != NONE).then(|| Value::String(raw.to_string()))
        }
    }
}

/// A manifest value as a person reads it (a list as `a, b`).
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Problems in the order of the questions they belong to (those of no question last).
fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| p.step.unwrap_or(usize::MAX));
    problems
}

/// Removes the value at a pointer; a list item is taken out of its list.
fn drop_value(doc: &mut Value, pointer: &str) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    match doc.pointer_mut(parent) {
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => remove(doc, pointer),
    }
}

/// Drops empty mappings and lists left by removals.
fn prune_empty(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune_empty(child);
            }
            map.retain(|_, c| {
                !(c.is_null()
                    || c.as_object().is_some_and(serde_json::Map::is_empty)
                    || c.as_array().is_some_and(Vec::is_empty))
            });
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                prune_empty(child);
            }
            items
                .retain(|c| !(c.is_null() || c.as_object().is_some_and(serde_json::Map::is_empty)));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> &'static Spec {
        QUESTIONS
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no question {id}"))
    }

    /// name, classification, tier, expires, team, sso-issuer, sso-group, one dataset item and
    /// the "another dataset?" question.
    fn steps() -> Vec<Step> {
        let mut out: Vec<Step> = ["name", "classification", "tier", "expires", "team"]
            .iter()
            .chain(&["sso-issuer", "sso-group"])
            .map(|id| Step::new(spec(id), None))
            .collect();
        for id in ["dataset", "access", "purpose"] {
            out.push(Step::new(spec(id), Some(0)));
        }
        out.push(Step::new(spec("dataset"), Some(1)));
        out
    }

    #[test]
    fn a_finding_belongs_to_the_last_question_around_its_field() {
        type W<'a, 'p> = Wizard<'a, 'p>;
        let s = steps();
        let at = |id: &str, item: Option<usize>| {
            s.iter()
                .position(|x| x.spec.id == id && x.item == item)
                .expect("step")
        };
        assert_eq!(
            W::owner(&s, "classification"),
            Some(at("classification", None))
        );
        // `lifecycle` (LIFE-001) waits for the expiry, the last question inside it.
        assert_eq!(W::owner(&s, "lifecycle"), Some(at("expires", None)));
        assert_eq!(W::owner(&s, "sso"), Some(at("sso-group", None)));
        assert_eq!(W::owner(&s, "data_access[0]"), Some(at("purpose", Some(0))));
        assert_eq!(
            W::owner(&s, "data_access[0].access_level"),
            Some(at("access", Some(0)))
        );
        assert_eq!(W::owner(&s, "runtime.cpu_limit"), None);
        assert_eq!(W::owner(&s, ""), None);
    }

    #[test]
    fn a_finding_refuses_the_answer_that_caused_it() {
        type W<'a, 'p> = Wizard<'a, 'p>;
        let s = steps();
        let dataset = 7;
        let classification = 1;
        // Its own question: refused, whether or not it was there before.
        assert_eq!(
            W::attribute(&s, dataset, "data_access[0].dataset", true),
            Some(None)
        );
        // A question still ahead: waits for it.
        assert_eq!(
            W::attribute(&s, classification, "lifecycle.tier", false),
            None
        );
        // An earlier question's field, new with this answer: refused, naming the clash.
        assert_eq!(
            W::attribute(&s, dataset, "classification", false),
            Some(Some("Data classification".into()))
        );
        // ... unless it was there before this answer.
        assert_eq!(W::attribute(&s, dataset, "classification", true), None);
        // A field no question sets, new with this answer: refused.
        assert_eq!(
            W::attribute(&s, dataset, "runtime.cpu_limit", false),
            Some(None)
        );
    }

    #[test]
    fn typed_answers_become_manifest_values() {
        assert_eq!(parse(Input::Text, "  x "), Some(Value::String("x".into())));
        assert_eq!(parse(Input::Text, " "), None);
        assert_eq!(
            parse(Input::List, "a, b,,c "),
            Some(serde_json::json!(["a", "b", "c"]))
        );
        assert_eq!(parse(Input::List, " , "), None);
        assert_eq!(parse(Input::Select, NONE), None);
    }
}
