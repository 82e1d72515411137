//! `levee new [DIR]`: scaffold an app (the wizard on a terminal; flags, an answers file or
//! defaults otherwise).

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::cli::Global;
use crate::model::manifest::{Ci, Classification, DataAccess, Date, Kind, Secret, Stack, Tier};
use crate::scaffold::wizard::{
    self, Answers, Choice, Given, ProblemKind, Prompt, PromptError, Question, WizardError, answers,
};
use crate::scaffold::{self, ScaffoldError};
use crate::support::exit::{ExitStatus, UsageError};
use crate::support::ui::{Format, Ui};

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to create the app (default: ./<name>). Must be new or empty.
    pub dir: Option<PathBuf>,
    /// The app's name (lowercase letters, digits, dashes).
    #[arg(long)]
    pub name: Option<String>,
    /// One sentence: what the app does and for whom.
    #[arg(long)]
    pub description: Option<String>,
    /// The accountable person's work e-mail.
    #[arg(long)]
    pub owner: Option<String>,
    /// The owning team, as the catalog names it: letters and digits, words joined by single
    /// dashes, dots or underscores (`finance-ops`); anything else is refused, never rewritten.
    #[arg(long)]
    pub team: Option<String>,
    /// A kind the template pack declares (built-in: dashboard, form or webhook; `levee templates
    /// list` shows a pack's).
    #[arg(long)]
    pub kind: Option<Kind>,
    /// A stack the template pack declares (built-in: node or python).
    #[arg(long)]
    pub stack: Option<Stack>,
    /// public, internal, confidential or restricted.
    #[arg(long)]
    pub classification: Option<Classification>,
    /// prototype, sandbox or production (default: prototype, when the data allows).
    #[arg(long)]
    pub tier: Option<Tier>,
    /// github or gitlab (default: github).
    #[arg(long)]
    pub ci: Option<Ci>,
    /// The OIDC issuer URL (https).
    #[arg(long, value_name = "URL")]
    pub sso_issuer: Option<String>,
    /// A group allowed to use the app (repeatable).
    #[arg(long, value_name = "GROUP")]
    pub sso_group: Vec<String>,
    /// A dataset the app uses (repeatable).
    #[arg(long, value_name = "NAME:ACCESS[:PURPOSE]", value_parser = wizard::parse_dataset)]
    pub dataset: Vec<DataAccess>,
    /// A secret the app reads, and its store: vault, aws-secrets-manager or env (repeatable).
    #[arg(long, value_name = "NAME:STORE", value_parser = wizard::parse_secret)]
    pub secret: Vec<Secret>,
    /// An outside host the app calls (repeatable).
    #[arg(long, value_name = "HOST")]
    pub egress: Vec<String>,
    /// A non-secret setting the app reads from its environment (repeatable), like
    /// `DOWNSTREAM_URL=https://api.acme.corp/events`; the template's required ones must be given.
    #[arg(long, value_name = "NAME=VALUE", value_parser = crate::model::settings::parse_flag)]
    pub setting: Vec<(String, String)>,
    /// Expiry date, YYYY-MM-DD (default for prototypes: the org's default lifetime).
    #[arg(long, value_name = "DATE", value_parser = Date::parse)]
    pub expires: Option<Date>,
    /// The cost center that pays.
    #[arg(long, value_name = "CC")]
    pub cost_center: Option<String>,
    /// The template id (default: the pack's template for --kind and --stack).
    #[arg(long, value_name = "ID")]
    pub template: Option<String>,
    /// A YAML file of answers, with the manifest's keys. Flags win over it.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// The template pack: a directory, a git repository, REPO@vX.Y.Z, or `builtin`.
    #[arg(long, env = "LEVEE_TEMPLATES", value_name = "SOURCE")]
    pub templates: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

impl NewArgs {
    /// The answers the flags give.
    fn given(&self) -> Given {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Given::from(&Answers {
            name: self.name.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
            kind: self.kind.clone(),
            stack: self.stack.clone(),
            classification: self.classification,
            tier: self.tier,
            ci: self.ci,
            sso_issuer: self.sso_issuer.clone(),
            sso_groups: list(&self.sso_group),
            datasets: (!self.dataset.is_empty()).then(|| self.dataset.clone()),
            secrets: (!self.secret.is_empty()).then(|| self.secret.clone()),
            egress: list(&self.egress),
            expires: self.expires,
            cost_center: self.cost_center.clone(),
            template: self.template.clone(),
            settings: (!self.setting.is_empty()).then(|| self.setting.clone()),
        })
    }
}

pub fn run(global: &Global, args: &NewArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let mut prompt = InquirePrompt {
        color: ui.stderr_color,
    };
    let prompt: Option<&mut dyn Prompt> = if global.interactive() {
        Some(&mut prompt)
    } else {
        None
    };
    run_with(global, args, ui, prompt)
}

/// `run` with the prompt passed in (tests drive the wizard through it).
pub fn run_with(
    global: &Global,
    args: &NewArgs,
    ui: &Ui,
    prompt: Option<&mut dyn Prompt>,
) -> anyhow::Result<ExitStatus> {
    // The wizard checks every partial manifest (which the build-time check refuses until it is
    // complete) with the run-time schema validator: it compiles on the other core while the org
    // config, the pack and the policies load. A run without questions never needs it.
    if prompt.is_some() {
        crate::load::document::prepare_validator::<crate::model::manifest::Manifest>();
    }
    if let Some(dir) = &args.dir {
        scaffold::check_target(dir).map_err(usage)?;
    }
    let cwd = std::env::current_dir()?;
    let start = args
        .dir
        .as_deref()
        .and_then(Path::parent)
        .map_or(cwd.clone(), |p| {
            if p.as_os_str().is_empty() {
                cwd.clone()
            } else {
                p.to_path_buf()
            }
        });
    let org = super::resolve_org(global, &start, ui)?;
    let pack = super::templates::load_pack(args.templates.as_deref())?;

    if let Some(name) = args
        .setting
        .iter()
        .enumerate()
        .find(|(i, (n, _))| args.setting[..*i].iter().any(|(m, _)| m == n))
        .map(|(_, (n, _))| n)
    {
        return Err(UsageError::new(format!("--setting {name} is given twice"))
            .hint("give each setting once")
            .into());
    }
    let mut given = args.given();
    if let Some(file) = &args.answers {
        given = given.over(answers::load(file)?);
    }

    let setup = wizard::Setup {
        org: &org.org,
        pack: &pack,
        today: scaffold::today(),
        default_name: args
            .dir
            .as_deref()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .filter(|n| crate::model::manifest::is_valid_name(n))
            .map(str::to_string),
        target: args.dir.as_deref(),
    };
    let resolved = match wizard::resolve(&given, &setup, prompt) {
        Ok(r) => r,
        Err(e) => return stopped(e, args, ui),
    };
    let target = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&resolved.manifest.name));
    let plan = resolved.plan;
    if let Err(e) = scaffold::check_target(&target).and_then(|()| scaffold::write(&target, &plan)) {
        return Err(usage(e));
    }
    // A resumed run's answers file, kept by levee, has served its purpose.
    // Only a file directly in levee's own answers folder, resolved (no `..`, no symlink out).
    if let Some(file) = &args.answers
        && let Some(state) = answers::state_dir().and_then(|d| std::fs::canonicalize(d).ok())
        && let Ok(real) = std::fs::canonicalize(file)
        && real.parent() == Some(state.as_path())
    {
        let _ = std::fs::remove_file(&real);
    }

    match args.format {
        Format::Json => {
            let v = json!({
                "directory": target.display().to_string(),
                "template": plan.manifest.template,
                "files": plan.files.keys().collect::<Vec<_>>(),
                "manifest": plan.manifest,
            });
            ui.out(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        }
        Format::Text if ui.quiet => {}
        Format::Text => {
            let template = plan.manifest.template.as_ref();
            let mut text = format!(
                "{} {} in {}/ from the template {} ({} {})\n",
                ui.stdout().green("Created"),
                plan.manifest.name,
                target.display(),
                template.map_or("", |t| t.id.as_str()),
                pack.meta.name,
                pack.version
            );
            if ui.verbose > 0 {
                for path in plan.files.keys() {
                    text.push_str(&format!("  {path}\n"));
                }
            } else {
                for (what, detail) in wizard::file_rows(&plan) {
                    text.push_str(&format!("  {what:<18} {detail}\n"));
                }
            }
            let cd = shell_word(&target.display().to_string());
            let (test, needs) = own_tests(&plan);
            text.push_str(&format!(
                "\nNext:\n  cd {cd}\n  levee check          # the policy gate, as CI runs it\n  {test:<20} # the app's own tests{needs}\n  git init && git add . && git commit -m 'levee new'   # then push: the pipeline runs every gate\n"
            ));
            ui.out(&text)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The command that runs the app's own tests, and what it needs installed, read from the
/// rendered files (package.json `engines`, `.nvmrc`, pyproject.toml `requires-python`).
fn own_tests(plan: &scaffold::WritePlan) -> (String, String) {
    // A stack a pack declares: its build steps, as the pipeline runs them.
    if let Some(stack) = plan.manifest.stack.as_ref()
        && !matches!(stack.as_str(), "node" | "python")
        && let Some(spec) = plan.manifest.declared.get().stacks.get(stack.as_str())
    {
        let steps: Vec<&str> = spec.build.iter().map(|s| s.run()).collect();
        return (steps.join(" && "), format!("; needs {}", spec.description));
    }
    let text = |p: &str| {
        plan.files
            .get(p)
            .and_then(|f| std::str::from_utf8(&f.bytes).ok())
    };
    if plan
        .manifest
        .stack
        .as_ref()
        .is_some_and(|s| s.as_str() == "python")
    {
        let python = text("pyproject.toml")
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| {
                t.get("project")?
                    .get("requires-python")?
                    .as_str()
                    .map(str::to_string)
            });
        let needs = match python.as_deref().and_then(|r| r.strip_prefix(">=")) {
            Some(v) => format!("; needs uv, which fetches Python {v} or newer"),
            None => "; needs uv".to_string(),
        };
        return ("uv sync && uv run pytest".into(), needs);
    }
    let engines = text("package.json")
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .and_then(|v| v.pointer("/engines/node")?.as_str().map(str::to_string));
    let major = engines.as_deref().and_then(|r| {
        let digits: String = r
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    });
    let mut needs = match major {
        Some(m) => format!("; needs Node {m}"),
        None => String::new(),
    };
    if !needs.is_empty() && plan.files.contains_key(".nvmrc") {
        needs.push_str(" (`nvm use` reads .nvmrc)");
    }
    ("npm ci && npm test".into(), needs)
}

/// Reports why the wizard stopped; keeps the answers when they are worth resuming from.
fn stopped(e: WizardError, args: &NewArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let dir = args
        .dir
        .as_ref()
        .map(|d| shell_word(&d.display().to_string()));
    let keep = |kept: &wizard::Kept, refused: &[String]| -> Option<PathBuf> {
        if kept.answers.is_empty() {
            return None;
        }
        let stem = dir
            .as_deref()
            .or(kept.answers.doc.get("name").and_then(|n| n.as_str()))
            .and_then(|d| Path::new(d).file_name()?.to_str().map(str::to_string))
            .unwrap_or_else(|| "new-app".into());
        let resume = |file: &Path| resume_command(dir.as_deref(), file);
        match answers::save(&kept.answers, &stem, refused, resume) {
            Ok(p) => Some(p),
            Err(err) => {
                ui.error(&format!(
                    "{} could not keep your answers: {err}",
                    ui.stderr().red("warning:")
                ));
                None
            }
        }
    };
    match e {
        WizardError::Interrupted { kept } => {
            ui.error("Stopped. Nothing was written.");
            if let Some(file) = keep(&kept, &[]) {
                ui.error(&format!(
                    "Your answers are kept in {}. To finish:\n  {}",
                    file.display(),
                    resume_command(dir.as_deref(), &file)
                ));
            }
            Ok(ExitStatus::Interrupted)
        }
        WizardError::Refused { problems, kept } => {
            let policy_only = problems.iter().all(|p| p.kind == ProblemKind::Policy);
            let missing = problems
                .iter()
                .filter(|p| p.kind == ProblemKind::Missing)
                .count();
            let headline = if missing == problems.len() {
                format!(
                    "{missing} answer{} missing; nothing was written",
                    if missing == 1 { " is" } else { "s are" }
                )
            } else if policy_only {
                "the org's policy refuses these answers; nothing was written".to_string()
            } else {
                "these answers cannot make an app; nothing was written".to_string()
            };
            let mut text = format!("{} {headline}\n", ui.stderr().red("error:"));
            for p in &problems {
                text.push_str(&format!("  {p}\n"));
                if let Some(h) = &p.hint {
                    text.push_str(&format!("      {} {h}\n", ui.stderr().dim("hint:")));
                }
            }
            // A policy refusal comes after real work; keep it. Missing or mistyped flags are
            // better fixed on the command line.
            let kept_file = if problems.iter().any(|p| p.kind == ProblemKind::Policy) {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                keep(&kept, &lines)
            } else {
                None
            };
            match kept_file {
                Some(file) => text.push_str(&format!(
                    "hint: your answers are kept in {}: change the refused ones there (or pass them as flags), then run `{}`\n",
                    file.display(),
                    resume_command(dir.as_deref(), &file)
                )),
                None if missing > 0 => text.push_str(
                    "hint: pass each as a flag, or put them in an answers file (--answers FILE, with app.yaml's keys)\n",
                ),
                None => {}
            }
            ui.error_text(&text);
            Ok(if policy_only {
                ExitStatus::Problems
            } else {
                ExitStatus::Error
            })
        }
        WizardError::Scaffold { error, kept } => {
            if kept.asked > 0
                && let Some(file) = keep(&kept, &[error.to_string()])
            {
                ui.error(&format!(
                    "Your answers are kept in {}. To finish:\n  {}",
                    file.display(),
                    resume_command(dir.as_deref(), &file)
                ));
            }
            Err(usage(*error))
        }
        other => Err(other.into()),
    }
}

fn resume_command(dir: Option<&str>, file: &Path) -> String {
    let file = shell_word(&file.display().to_string());
    match dir {
        Some(d) => format!("levee new {d} --answers {file}"),
        None => format!("levee new --answers {file}"),
    }
}

fn usage(e: ScaffoldError) -> anyhow::Error {
    let hint = match &e {
        ScaffoldError::NotEmpty(_) | ScaffoldError::NotADirectory(_) => {
            Some("pick a new directory: `levee new DIR`; levee never overwrites files")
        }
        ScaffoldError::Render(_) | ScaffoldError::Reserved { .. } => {
            Some("nothing was written; fix the answer (or the template) and run again")
        }
        _ => None,
    };
    let mut u = UsageError::new(e.to_string());
    if let Some(h) = hint {
        u = u.hint(h);
    }
    u.into()
}

fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The terminal prompt (inquire): Esc goes back one question, Ctrl-C stops.
#[derive(Debug)]
pub struct InquirePrompt {
    /// Colour the refusals (stderr is a terminal and colour is on).
    pub color: bool,
}

fn inquire_err(e: inquire::InquireError) -> PromptError {
    match e {
        inquire::InquireError::OperationCanceled => PromptError::Back,
        inquire::InquireError::OperationInterrupted => PromptError::Interrupted,
        other => PromptError::Failed(other.to_string()),
    }
}

impl Prompt for InquirePrompt {
    fn text(&mut self, q: &Question) -> Result<String, PromptError> {
        let mut p = inquire::Text::new(&q.message);
        if let Some(h) = &q.help {
            p = p.with_help_message(h);
        }
        if let Some(d) = &q.default {
            p = p.with_default(d);
        }
        p.prompt().map_err(inquire_err)
    }

    fn select(&mut self, q: &Question, choices: &[Choice]) -> Result<String, PromptError> {
        let labels: Vec<String> = choices.iter().map(|c| c.label.clone()).collect();
        let start = q
            .default
            .as_ref()
            .and_then(|d| choices.iter().position(|c| &c.value == d))
            .unwrap_or(0);
        // The list shows each choice with its explanation; the answer echoes the value alone.
        let value_of = |i: usize| choices.get(i).map(|c| c.value.clone()).unwrap_or_default();
        // The value alone when the label starts with it; else the label (`no dataset`).
        let formatter = |o: inquire::list_option::ListOption<&String>| {
            let v = value_of(o.index);
            if o.value.starts_with(v.as_str()) {
                v
            } else {
                o.value.trim().to_string()
            }
        };
        let mut p = inquire::Select::new(&q.message, labels)
            .with_starting_cursor(start)
            .with_formatter(&formatter)
            .with_page_size(12);
        if let Some(h) = &q.help {
            p = p.with_help_message(h);
        }
        let picked = p.raw_prompt().map_err(inquire_err)?;
        Ok(value_of(picked.index))
    }

    fn refuse(&mut self, reason: &str) {
        let mark = if self.color {
            console::style("✗")
                .red()
                .bold()
                .force_styling(true)
                .to_string()
        } else {
            "✗".to_string()
        };
        let mut lines = reason.lines();
        if let Some(first) = lines.next() {
            // Reasons quote the answers: each line escaped.
            eprintln!("  {mark} {}", crate::support::text::escape(first));
        }
        for l in lines {
            eprintln!("    {}", crate::support::text::escape(l));
        }
    }

    fn note(&mut self, text: &str) {
        eprintln!("{}", crate::support::text::terminal(text));
    }
}
