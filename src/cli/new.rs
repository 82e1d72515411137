//! `levee new [DIR]`: scaffold an app (the wizard on a terminal; flags, an answers file or
//! defaults otherwise).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use crate::cli::Global;
use crate::exit::{ExitStatus, UsageError};
use crate::manifest::{Ci, Classification, DataAccess, Date, Kind, Secret, Stack, Tier};
use crate::org;
use crate::scaffold::{self, ScaffoldError};
use crate::ui::{Format, Ui};
use crate::wizard::{self, Answers, Choice, Prompt, PromptError, Question};

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
    /// The owning team.
    #[arg(long)]
    pub team: Option<String>,
    /// dashboard, form or webhook.
    #[arg(long)]
    pub kind: Option<Kind>,
    /// node or python.
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
    /// A secret the app reads, and its store (repeatable).
    #[arg(long, value_name = "NAME:PROVIDER", value_parser = wizard::parse_secret)]
    pub secret: Vec<Secret>,
    /// An outside host the app calls (repeatable).
    #[arg(long, value_name = "HOST")]
    pub egress: Vec<String>,
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
    fn answers(&self) -> Answers {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Answers {
            name: self.name.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            team: self.team.clone(),
            kind: self.kind,
            stack: self.stack,
            classification: self.classification,
            tier: self.tier,
            ci: self.ci,
            sso_issuer: self.sso_issuer.clone(),
            sso_groups: list(&self.sso_group),
            sso_scopes: None,
            datasets: (!self.dataset.is_empty()).then(|| self.dataset.clone()),
            secrets: (!self.secret.is_empty()).then(|| self.secret.clone()),
            egress: list(&self.egress),
            expires: self.expires,
            cost_center: self.cost_center.clone(),
            cost_estimate: None,
            runtime: None,
            template: self.template.clone(),
        }
    }
}

/// Prompts only on a terminal, without --no-input / LEVEE_NO_INPUT, and outside CI.
pub fn interactive(global: &Global) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    std::io::stdin().is_terminal() && !global.no_input && !ci
}

pub fn run(global: &Global, args: &NewArgs, ui: &Ui) -> anyhow::Result<ExitStatus> {
    let mut prompt = InquirePrompt;
    let prompt: Option<&mut dyn Prompt> = if interactive(global) {
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
    let org = org::resolve(global.org.as_deref(), &start).map_err(|e| {
        UsageError::new(format!("cannot use the org config: {e}"))
            .hint("run `levee validate` style checks on it, or pass --org FILE")
    })?;
    let pack = super::templates::load_pack(args.templates.as_deref())?;

    let mut answers = args.answers();
    if let Some(file) = &args.answers {
        let text = std::fs::read_to_string(file).map_err(|e| {
            UsageError::new(format!(
                "cannot read the answers file {}: {e}",
                file.display()
            ))
        })?;
        let from_file = wizard::answers_from_yaml(&text).map_err(|e| {
            UsageError::new(format!("the answers file {} is not valid: {e}", file.display()))
                .hint("an answers file uses the keys of app.yaml (name, owner, kind, lifecycle: {tier}, …)")
        })?;
        answers = answers.or(from_file);
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
            .filter(|n| crate::manifest::is_valid_name(n))
            .map(str::to_string),
    };
    let resolved = wizard::resolve(&answers, &setup, prompt).map_err(|e| {
        let hint = e.hint().map(str::to_string);
        let mut u = UsageError::new(e.to_string());
        if let Some(h) = hint.filter(|h| !h.is_empty()) {
            u = u.hint(h);
        }
        u
    })?;
    let target = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&resolved.manifest.name));
    let template = pack
        .template(&resolved.template_id)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let plan = scaffold::plan(&pack, template, resolved.manifest, &org.org).map_err(usage)?;
    // The last gate before writing: the org's own policy rules (what `levee check` and CI
    // enforce) on the manifest as it will be written. A denial writes nothing.
    policy_gate(&plan.manifest, &org.org)?;
    scaffold::write(&target, &plan).map_err(usage)?;

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
        Format::Text => {
            let mut text = format!(
                "{} {} in {}/ from the template {} ({} {})\n",
                ui.green("Created"),
                plan.manifest.name,
                target.display(),
                template.id,
                pack.meta.name,
                pack.version
            );
            if ui.verbose > 0 {
                for path in plan.files.keys() {
                    text.push_str(&format!("  {path}\n"));
                }
            } else {
                text.push_str(&summary(&plan, &plan.manifest));
            }
            let cd = shell_word(&target.display().to_string());
            let test = match plan.manifest.stack {
                Some(crate::manifest::Stack::Python) => "uv sync && uv run pytest",
                _ => "npm ci && npm test",
            };
            text.push_str(&format!(
                "\nNext:\n  cd {cd}\n  levee check          # the policy gate, as CI runs it\n  {test:<20} # the app's own tests\n  git init && git add . && git commit -m 'levee new'   # then push: the pipeline runs every gate\n"
            ));
            ui.out(&text)?;
        }
    }
    Ok(ExitStatus::Success)
}

/// What was written, grouped for a person (`-v` lists every file).
fn summary(plan: &scaffold::Plan, m: &crate::manifest::Manifest) -> String {
    let count = |prefix: &str| {
        plan.managed
            .iter()
            .filter(|p| p.starts_with(prefix))
            .count()
    };
    let pipeline: Vec<&str> = plan
        .managed
        .iter()
        .map(String::as_str)
        .filter(|p| {
            p.ends_with("levee.yml") || p.ends_with(".gitlab-ci.yml") || p.ends_with("CODEOWNERS")
        })
        .collect();
    let mut rows = vec![
        (
            "app.yaml".to_string(),
            "the manifest: yours to edit; then run `levee sync`".to_string(),
        ),
        (
            "starter app".to_string(),
            format!(
                "{} files: the {} {} code, tests, Dockerfile, README",
                plan.starter.len(),
                m.kind.map_or("app".into(), |k| k.to_string()),
                m.stack.map_or(String::new(), |s| s.to_string())
            ),
        ),
        ("pipeline".to_string(), pipeline.join(", ")),
        (
            "policy/".to_string(),
            format!(
                "{} files: the policy bundle CI checks with OPA",
                count("policy/")
            ),
        ),
        (
            "deploy/".to_string(),
            format!(
                "{} files: the runtime sandbox (Kubernetes, Kyverno)",
                count("deploy/")
            ),
        ),
        (
            "catalog-info.yaml".to_string(),
            "the app's entry for the developer portal".to_string(),
        ),
        (
            ".levee/".to_string(),
            "levee's record, for upgrades and drift checks".to_string(),
        ),
    ];
    rows.retain(|(_, what)| !what.is_empty());
    rows.iter()
        .map(|(what, detail)| format!("  {what:<18} {detail}\n"))
        .collect()
}

/// Refuses a manifest the org's policy denies, listing every denial with the field and a hint.
fn policy_gate(manifest: &crate::manifest::Manifest, org: &crate::org::Org) -> anyhow::Result<()> {
    let mut evaluator =
        crate::policy::Evaluator::embedded(org, crate::policy::Clock::Fixed(scaffold::today()))?;
    let input = serde_json::to_value(manifest)?;
    let denials: Vec<_> = evaluator
        .evaluate(&input)?
        .into_iter()
        .filter(|f| f.level == crate::policy::Level::Deny)
        .collect();
    if denials.is_empty() {
        return Ok(());
    }
    let list = denials
        .iter()
        .map(|f| match flag_for(&f.field) {
            Some(flag) => format!("  {} {} (`{}`, {flag}): {}", f.id, f.msg, f.field, f.hint),
            None => format!("  {} {} (`{}`): {}", f.id, f.msg, f.field, f.hint),
        })
        .collect::<Vec<_>>()
        .join("\n");
    Err(UsageError::new(format!(
        "the org's policy would refuse this app; nothing was written:\n{list}"
    ))
    .hint("change the answers above (or ask the platform team about the org config), then run `levee new` again")
    .into())
}

/// The `levee new` flag that sets a manifest field (`team` -> `--team`), for refusals in
/// `--no-input` runs; `None` for fields only app.yaml sets.
fn flag_for(field: &str) -> Option<&'static str> {
    let head = field.split('[').next().unwrap_or(field);
    Some(match head {
        "name" => "--name",
        "description" => "--description",
        "owner" => "--owner",
        "team" => "--team",
        "kind" => "--kind",
        "stack" => "--stack",
        "classification" => "--classification",
        "ci" => "--ci",
        "sso" | "sso.groups" => "--sso-group",
        "sso.issuer" => "--sso-issuer",
        "lifecycle.tier" => "--tier",
        "lifecycle.expires" => "--expires",
        "cost" | "cost.center" => "--cost-center",
        "secrets" => "--secret",
        "data_access" => "--dataset",
        "runtime.egress" => "--egress",
        _ => return None,
    })
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

/// The terminal prompt (inquire).
#[derive(Debug)]
pub struct InquirePrompt;

fn inquire_err(e: inquire::InquireError) -> PromptError {
    match e {
        inquire::InquireError::OperationCanceled | inquire::InquireError::OperationInterrupted => {
            PromptError::Cancelled
        }
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
        let formatter = |o: inquire::list_option::ListOption<&String>| value_of(o.index);
        let mut p = inquire::Select::new(&q.message, labels)
            .with_starting_cursor(start)
            .with_formatter(&formatter);
        if let Some(h) = &q.help {
            p = p.with_help_message(h);
        }
        let picked = p.raw_prompt().map_err(inquire_err)?;
        Ok(value_of(picked.index))
    }

    fn refuse(&mut self, reason: &str) {
        eprintln!("  ✗ {reason}");
    }
}
