//! The new-app wizard: from answers (flags > answers file > org defaults) and, on a terminal,
//! prompts, to a checked manifest.
//!
//! One resolution runs with or without a terminal: each question takes the given answer, else
//! asks through [`Prompt`] when there is one, else takes the org default, else (when required)
//! fails naming the flag to pass. Every answer is checked as it comes (so a prompt can ask again)
//! against the manifest rules and the org policy, and the finished manifest goes through the same
//! checks as `levee validate` before anything is written.

use std::str::FromStr;

use serde::Deserialize;

use crate::manifest::{
    self, AccessLevel, Ci, Classification, Cost, DataAccess, Date, Kind, Manifest, Runtime, Secret,
    SecretProvider, Sso, SsoProvider, Stack, Tier,
};
use crate::org::Org;
use crate::pack::Pack;

/// A question, as the prompt shows it.
#[derive(Debug, Clone)]
pub struct Question {
    /// The flag that answers it without a prompt (`name` for `--name`).
    pub key: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// The proposed answer (taken when the user just presses enter).
    pub default: Option<String>,
}

/// One option of a choice.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    /// What the user reads: the value and a one-line explanation.
    pub label: String,
}

/// The user stopped the wizard, or the terminal failed.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cancelled; nothing was written")]
    Cancelled,
    #[error("the prompt failed: {0}")]
    Failed(String),
}

/// How the wizard asks. The terminal implementation is [`crate::cli`]'s inquire prompt; tests
/// pass a scripted one.
pub trait Prompt {
    /// Free text. An empty answer means "the default" (or "none" for optional questions).
    fn text(&mut self, q: &Question) -> Result<String, PromptError>;
    /// One of `choices`; returns the chosen `value`.
    fn select(&mut self, q: &Question, choices: &[Choice]) -> Result<String, PromptError>;
    /// Shows why an answer was refused, before the question is asked again.
    fn refuse(&mut self, reason: &str);
}

/// The answers given up front (flags, or an answers file), every one optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub kind: Option<Kind>,
    pub stack: Option<Stack>,
    pub classification: Option<Classification>,
    pub tier: Option<Tier>,
    pub ci: Option<Ci>,
    pub sso_issuer: Option<String>,
    pub sso_groups: Option<Vec<String>>,
    pub sso_scopes: Option<Vec<String>>,
    pub datasets: Option<Vec<DataAccess>>,
    pub secrets: Option<Vec<Secret>>,
    pub egress: Option<Vec<String>>,
    pub expires: Option<Date>,
    pub cost_center: Option<String>,
    pub cost_estimate: Option<f64>,
    /// Runtime settings from an answers file (type and caps); egress comes from `egress`.
    pub runtime: Option<Runtime>,
    pub template: Option<String>,
}

impl Answers {
    /// These answers, with each missing one taken from `lower` (flags over the answers file).
    pub fn or(self, lower: Answers) -> Answers {
        Answers {
            name: self.name.or(lower.name),
            description: self.description.or(lower.description),
            owner: self.owner.or(lower.owner),
            team: self.team.or(lower.team),
            kind: self.kind.or(lower.kind),
            stack: self.stack.or(lower.stack),
            classification: self.classification.or(lower.classification),
            tier: self.tier.or(lower.tier),
            ci: self.ci.or(lower.ci),
            sso_issuer: self.sso_issuer.or(lower.sso_issuer),
            sso_groups: self.sso_groups.or(lower.sso_groups),
            sso_scopes: self.sso_scopes.or(lower.sso_scopes),
            datasets: self.datasets.or(lower.datasets),
            secrets: self.secrets.or(lower.secrets),
            egress: self.egress.or(lower.egress),
            expires: self.expires.or(lower.expires),
            cost_center: self.cost_center.or(lower.cost_center),
            cost_estimate: self.cost_estimate.or(lower.cost_estimate),
            runtime: self.runtime.or(lower.runtime),
            template: self.template.or(lower.template),
        }
    }
}

/// An answers file: the manifest's keys, every one optional (`template` may be the id alone).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswersFile {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    team: Option<String>,
    kind: Option<Kind>,
    stack: Option<Stack>,
    classification: Option<Classification>,
    sso: Option<Sso>,
    runtime: Option<Runtime>,
    secrets: Option<Vec<Secret>>,
    data_access: Option<Vec<DataAccess>>,
    lifecycle: Option<LifecycleAnswers>,
    cost: Option<Cost>,
    ci: Option<Ci>,
    template: Option<TemplateAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LifecycleAnswers {
    tier: Option<Tier>,
    expires: Option<Date>,
    #[allow(dead_code)]
    created: Option<Date>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TemplateAnswer {
    Id(String),
    Ref { id: String },
}

/// Reads an answers file (YAML with the manifest's keys).
pub fn answers_from_yaml(text: &str) -> Result<Answers, String> {
    let f: AnswersFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let mut runtime = f.runtime;
    let egress = runtime
        .as_mut()
        .map(|r| std::mem::take(&mut r.egress))
        .filter(|e| !e.is_empty());
    let (sso_issuer, sso_groups, sso_scopes) = match f.sso {
        Some(s) => (
            s.issuer,
            Some(s.groups).filter(|g| !g.is_empty()),
            Some(s.scopes).filter(|g| !g.is_empty()),
        ),
        None => (None, None, None),
    };
    Ok(Answers {
        name: f.name,
        description: f.description,
        owner: f.owner,
        team: f.team,
        kind: f.kind,
        stack: f.stack,
        classification: f.classification,
        tier: f.lifecycle.as_ref().and_then(|l| l.tier),
        ci: f.ci,
        sso_issuer,
        sso_groups,
        sso_scopes,
        datasets: f.data_access,
        secrets: f.secrets,
        egress,
        expires: f.lifecycle.as_ref().and_then(|l| l.expires),
        cost_center: f.cost.as_ref().and_then(|c| c.center.clone()),
        cost_estimate: f.cost.as_ref().and_then(|c| c.estimated_monthly_usd),
        runtime,
        template: f.template.map(|t| match t {
            TemplateAnswer::Id(id) | TemplateAnswer::Ref { id } => id,
        }),
    })
}

/// `--dataset NAME:ACCESS[:PURPOSE]`.
pub fn parse_dataset(s: &str) -> Result<DataAccess, String> {
    let mut parts = s.splitn(3, ':');
    let dataset = parts.next().unwrap_or_default().trim().to_string();
    let access = parts.next().ok_or_else(|| {
        format!("`{s}` needs an access level: NAME:ACCESS[:PURPOSE], like `expenses:read:monthly report`")
    })?;
    let access_level = AccessLevel::from_str(access.trim())?;
    let purpose = parts
        .next()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    if dataset.is_empty() {
        return Err(format!("`{s}` has no dataset name"));
    }
    Ok(DataAccess {
        dataset,
        access_level,
        purpose,
    })
}

/// `--secret NAME:PROVIDER`.
pub fn parse_secret(s: &str) -> Result<Secret, String> {
    let (name, provider) = s.split_once(':').ok_or_else(|| {
        format!("`{s}` needs a provider: NAME:PROVIDER, like `PAYMENT_API_KEY:vault`")
    })?;
    Ok(Secret {
        name: name.trim().to_string(),
        provider: SecretProvider::from_str(provider.trim())?,
        path: None,
    })
}

/// Why the wizard stopped. Each names the flag that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    /// A required answer is missing and there is no terminal to ask.
    #[error("missing {what}: pass --{flag}")]
    Missing {
        flag: &'static str,
        what: String,
        hint: String,
    },
    /// An answer is invalid or the org policy forbids it.
    #[error("--{flag}: {message}")]
    Refused {
        flag: &'static str,
        message: String,
        hint: String,
    },
    /// The assembled manifest fails `levee validate` (a levee bug or an unusual answers file).
    #[error("the answers do not make a valid app.yaml:\n{0}")]
    Manifest(String),
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

impl WizardError {
    /// The hint to print under the error.
    pub fn hint(&self) -> Option<&str> {
        match self {
            WizardError::Missing { hint, .. } | WizardError::Refused { hint, .. } => Some(hint),
            _ => None,
        }
    }
}

/// A refused answer: what is wrong and what to do.
#[derive(Debug)]
struct Problem {
    message: String,
    hint: String,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        hint: hint.into(),
    }
}

/// What the wizard decided.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The manifest, without `template` (the scaffolder fills it in from the pack).
    pub manifest: Manifest,
    pub template_id: String,
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
}

/// Resolves the answers into a manifest, asking through `prompt` when given.
pub fn resolve(
    answers: &Answers,
    setup: &Setup<'_>,
    prompt: Option<&mut dyn Prompt>,
) -> Result<Resolved, WizardError> {
    Wizard { setup, prompt }.run(answers)
}

struct Wizard<'a, 'p> {
    setup: &'a Setup<'a>,
    prompt: Option<&'p mut dyn Prompt>,
}

const MAX_DESCRIPTION: usize = 500;
const MAX_SHORT: usize = 100;

fn check_free_text(s: &str, max: usize, one_line: bool) -> Result<(), Problem> {
    let n = s.chars().count();
    if n > max {
        return Err(problem(
            format!("the answer is {n} characters long; the most is {max}"),
            "keep it short: one sentence",
        ));
    }
    if s.chars().any(|c| c.is_control() && (one_line || c != '\n')) {
        return Err(problem(
            "the answer contains a line break or control character",
            "write it on one line",
        ));
    }
    Ok(())
}

impl Wizard<'_, '_> {
    fn org(&self) -> &Org {
        self.setup.org
    }

    /// The generic question: given answer, else prompt (re-asking on a refused answer), else
    /// default, else missing (when required).
    // One place decides given > prompt > default > missing; its inputs are the question's parts.
    #[allow(clippy::too_many_arguments)]
    fn ask<T: Clone>(
        &mut self,
        q: Question,
        given: Option<T>,
        default: Option<T>,
        required: bool,
        choices: Option<&[Choice]>,
        parse: &dyn Fn(&str) -> Result<T, String>,
        check: &dyn Fn(&T) -> Result<(), Problem>,
        missing_hint: &str,
    ) -> Result<Option<T>, WizardError> {
        let refused = |p: Problem| WizardError::Refused {
            flag: q.key,
            message: p.message,
            hint: p.hint,
        };
        if let Some(v) = given {
            check(&v).map_err(refused)?;
            return Ok(Some(v));
        }
        if let Some(prompt) = self.prompt.as_deref_mut() {
            loop {
                let raw = match choices {
                    Some(c) => prompt.select(&q, c)?,
                    None => prompt.text(&q)?,
                };
                let raw = raw.trim();
                if raw.is_empty() {
                    match &default {
                        Some(d) => return Ok(Some(d.clone())),
                        None if !required => return Ok(None),
                        None => {
                            // The question's own reason (why it is required) beats a generic one.
                            let why = missing_hint.split(": --").next().unwrap_or_default();
                            prompt.refuse(if why.is_empty() {
                                "an answer is required"
                            } else {
                                why
                            });
                            continue;
                        }
                    }
                }
                match parse(raw) {
                    Err(e) => prompt.refuse(&e),
                    Ok(v) => match check(&v) {
                        Ok(()) => return Ok(Some(v)),
                        Err(p) => prompt.refuse(&format!("{} ({})", p.message, p.hint)),
                    },
                }
            }
        }
        match default {
            Some(d) => {
                check(&d).map_err(refused)?;
                Ok(Some(d))
            }
            None if required => Err(WizardError::Missing {
                flag: q.key,
                what: q.message.trim_end_matches('?').to_lowercase(),
                hint: missing_hint.to_string(),
            }),
            None => Ok(None),
        }
    }

    fn run(&mut self, a: &Answers) -> Result<Resolved, WizardError> {
        let org = self.org().clone();
        let today = self.setup.today;

        let name = self
            .ask(
                question("name", "App name?", "lowercase letters, digits and dashes, like `expense-tracker`"),
                a.name.clone(),
                self.setup.default_name.clone(),
                true,
                None,
                &|s| Ok(s.to_string()),
                &|s: &String| {
                    if manifest::is_valid_name(s) {
                        Ok(())
                    } else {
                        Err(problem(
                            format!("`{}` is not a valid app name", one_line(s)),
                            format!(
                                "use 2 to 63 lowercase letters, digits and dashes, starting with a letter: `{}`",
                                manifest::slugify(s)
                            ),
                        ))
                    }
                },
                "the app's name, like `--name expense-tracker`",
            )?
            .unwrap_or_default();

        let description = self.ask(
            question(
                "description",
                "Description?",
                "one sentence: what the app does and for whom",
            ),
            a.description.clone(),
            None,
            false,
            None,
            &|s| Ok(s.to_string()),
            &|s: &String| check_free_text(s, MAX_DESCRIPTION, false),
            "",
        )?;

        let domain_hint = org
            .owner_domains
            .first()
            .map(|d| format!("your work e-mail, like `jane.doe@{d}`"))
            .unwrap_or_else(|| "your work e-mail, like `jane.doe@acme.corp`".into());
        let mut owner_q = question("owner", "Owner e-mail?", &domain_hint);
        owner_q.help = Some(domain_hint.clone());
        let org_for_owner = org.clone();
        let owner = self
            .ask(
                owner_q,
                a.owner.clone(),
                None,
                true,
                None,
                &|s| Ok(s.to_string()),
                &move |s: &String| {
                    if !manifest::is_email(s) {
                        return Err(problem(
                            format!("`{}` is not an e-mail address", one_line(s)),
                            "the owner is the accountable person's work e-mail",
                        ));
                    }
                    if !org_for_owner.owner_domain_allowed(s) {
                        return Err(problem(
                            format!("`{s}` is not an address of the organisation"),
                            format!(
                                "use an address at {} (levee.org.yaml `owner_domains`)",
                                org_for_owner.owner_domains.join(", ")
                            ),
                        ));
                    }
                    Ok(())
                },
                &domain_hint,
            )?
            .unwrap_or_default();

        let team = self.ask(
            question(
                "team",
                "Team?",
                "the team that owns the app, like `finance`",
            ),
            a.team.clone(),
            None,
            false,
            None,
            &|s| Ok(s.to_string()),
            &|s: &String| check_free_text(s, MAX_SHORT, true),
            "",
        )?;

        let (template_id, kind, stack) = self.choose_template(a)?;

        let class_choices: Vec<Choice> = Classification::ALL
            .iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: format!("{:<13} {}", c.as_str(), c.explain()),
            })
            .collect();
        let classification = self
            .ask(
                question(
                    "classification",
                    "Data classification?",
                    "the most sensitive data the app handles",
                ),
                a.classification,
                None,
                true,
                Some(&class_choices),
                &|s| Classification::from_str(s),
                &|_| Ok(()),
                "the most sensitive data the app handles: --classification public|internal|confidential|restricted",
            )?
            .unwrap_or(Classification::Internal);

        // The default tier is prototype, or the lowest tier allowed to touch the data.
        let default_tier = Tier::ALL
            .iter()
            .copied()
            .find(|t| {
                org.tier(*t)
                    .max_classification
                    .is_none_or(|m| classification <= m)
            })
            .unwrap_or(Tier::Production);
        let tier_choices: Vec<Choice> = Tier::ALL
            .iter()
            .map(|t| Choice {
                value: t.to_string(),
                label: format!("{:<11} {}", t.as_str(), tier_explain(*t, &org)),
            })
            .collect();
        let org_t = org.clone();
        let tier = self
            .ask(
                Question {
                    default: Some(default_tier.to_string()),
                    ..question("tier", "Tier?", "how grown-up the app is")
                },
                a.tier,
                Some(default_tier),
                true,
                Some(&tier_choices),
                &|s| Tier::from_str(s),
                &move |t: &Tier| tier_allows(&org_t, *t, classification),
                "",
            )?
            .unwrap_or(default_tier);

        let caps = org.tier(tier);
        let default_expiry = caps.default_lifetime_days.map(|d| add_days(today, d));
        let max_life = caps.max_lifetime_days;
        let expires = self.ask(
            Question {
                default: default_expiry.map(|d| d.to_string()),
                ..question(
                    "expires",
                    "Expiry date?",
                    "YYYY-MM-DD; the app is retired then unless promoted",
                )
            },
            a.expires,
            default_expiry,
            tier == Tier::Prototype,
            None,
            &|s| Date::parse(s),
            &move |d: &Date| {
                if *d <= today {
                    return Err(problem(
                        format!("{d} is not in the future"),
                        "pick a later date",
                    ));
                }
                if let Some(max) = max_life {
                    let last = add_days(today, max);
                    if *d > last {
                        return Err(problem(
                            format!("a {tier} may live at most {max} days, until {last}"),
                            format!("pick a date up to {last}, or a higher --tier"),
                        ));
                    }
                }
                Ok(())
            },
            "a prototype needs an expiry date: --expires YYYY-MM-DD",
        )?;

        let ci_choices: Vec<Choice> = Ci::ALL
            .iter()
            .map(|c| Choice {
                value: c.to_string(),
                label: c.to_string(),
            })
            .collect();
        let ci = self
            .ask(
                Question {
                    default: Some(Ci::Github.to_string()),
                    ..question(
                        "ci",
                        "CI system?",
                        "where the app's repository runs its checks",
                    )
                },
                a.ci,
                Some(Ci::Github),
                true,
                Some(&ci_choices),
                &|s| Ci::from_str(s),
                &|_| Ok(()),
                "",
            )?
            .unwrap_or(Ci::Github);

        let sso_issuer = self.ask(
            question("sso-issuer", "SSO issuer URL?", "your identity provider, like https://login.acme.corp (empty: set it later)"),
            a.sso_issuer.clone(),
            None,
            false,
            None,
            &|s| Ok(s.to_string()),
            &|s: &String| {
                let local = s.starts_with("http://localhost") || s.starts_with("http://127.0.0.1");
                if (s.starts_with("https://") || local) && !s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Ok(())
                } else {
                    Err(problem(
                        format!("`{}` is not an https URL", one_line(s)),
                        "use the https URL of your identity provider, like `https://login.acme.corp`",
                    ))
                }
            },
            "",
        )?;

        let needs_groups = classification >= Classification::Confidential;
        let groups = self
            .ask(
                question("sso-group", "SSO groups allowed to use the app?", "comma-separated, like `finance-approvers`"),
                a.sso_groups.clone(),
                None,
                needs_groups,
                None,
                &|s| Ok(split_list(s)),
                &move |g: &Vec<String>| {
                    for x in g {
                        check_free_text(x, MAX_SHORT, true)?;
                        if x.is_empty() || x.contains(char::is_whitespace) {
                            return Err(problem(format!("`{x}` is not a group name"), "group names have no spaces"));
                        }
                    }
                    if needs_groups && g.is_empty() {
                        return Err(problem(
                            format!("a {classification} app must name the groups allowed to use it"),
                            "pass --sso-group GROUP (repeatable)",
                        ));
                    }
                    Ok(())
                },
                &format!("a {classification} app must name the groups allowed to use it: --sso-group GROUP (repeatable)"),
            )?
            .unwrap_or_default();

        let data_access = self.datasets(a, classification, tier)?;
        let secrets = self.secrets(a, classification, tier)?;

        let org_e = org.clone();
        let egress = self
            .ask(
                question("egress", "Outside hosts the app calls?", "comma-separated hostnames (empty: none)"),
                a.egress.clone(),
                None,
                false,
                None,
                &|s| Ok(split_list(s)),
                &move |hosts: &Vec<String>| {
                    for h in hosts {
                        if !manifest::is_hostname(h.strip_prefix("*.").unwrap_or(h)) {
                            return Err(problem(
                                format!("`{}` is not a hostname", one_line(h)),
                                "list hostnames only, without scheme, port or path",
                            ));
                        }
                        if !org_e.egress_approved(h) {
                            return Err(problem(
                                format!("`{h}` is not an approved egress destination"),
                                if org_e.egress.approved.is_empty() {
                                    "the org config approves no destinations yet; ask the platform team to add it to `egress.approved` in levee.org.yaml".to_string()
                                } else {
                                    format!("approved: {}; ask the platform team to add others to levee.org.yaml", org_e.egress.approved.join(", "))
                                },
                            ));
                        }
                    }
                    Ok(())
                },
                "",
            )?
            .unwrap_or_default();

        let cost_center = self.ask(
            question(
                "cost-center",
                "Cost center?",
                "who pays, like `CC-1234` (empty: none)",
            ),
            a.cost_center.clone(),
            None,
            false,
            None,
            &|s| Ok(s.to_string()),
            &|s: &String| check_free_text(s, 64, true),
            "",
        )?;

        let base_runtime = a.runtime.clone().unwrap_or(Runtime {
            kind: None,
            cpu_limit: None,
            mem_limit: None,
            max_runtime_minutes: None,
            egress: Vec::new(),
        });
        let runtime = Runtime {
            kind: base_runtime
                .kind
                .or_else(|| org.allowed_runtimes(classification).first().copied()),
            egress,
            ..base_runtime
        };
        let cost = (cost_center.is_some() || a.cost_estimate.is_some()).then_some(Cost {
            center: cost_center,
            estimated_monthly_usd: a.cost_estimate,
        });
        let manifest = Manifest {
            name,
            description: description.filter(|d| !d.is_empty()),
            owner,
            team: team.filter(|t| !t.is_empty()),
            kind: Some(kind),
            stack: Some(stack),
            classification,
            sso: Some(Sso {
                provider: SsoProvider::Oidc,
                issuer: sso_issuer,
                groups,
                scopes: a.sso_scopes.clone().unwrap_or_default(),
            }),
            runtime: Some(runtime),
            secrets,
            data_access,
            lifecycle: manifest::Lifecycle {
                tier,
                created: Some(today),
                expires,
            },
            cost,
            ci: Some(ci),
            template: None,
        };
        Ok(Resolved {
            manifest,
            template_id,
        })
    }

    fn choose_template(&mut self, a: &Answers) -> Result<(String, Kind, Stack), WizardError> {
        let pack = self.setup.pack;
        if pack.templates.is_empty() {
            return Err(WizardError::Refused {
                flag: "templates",
                message: format!("the template pack `{}` offers no templates", pack.meta.name),
                hint: "point --templates at a pack with templates".into(),
            });
        }
        if let Some(id) = &a.template {
            let t = pack.template(id).map_err(|e| WizardError::Refused {
                flag: "template",
                message: e.to_string(),
                hint: "`levee templates list` shows the templates".into(),
            })?;
            for (flag, given, has) in [
                (
                    "kind",
                    a.kind.map(|k| k.to_string()),
                    t.meta.kind.to_string(),
                ),
                (
                    "stack",
                    a.stack.map(|s| s.to_string()),
                    t.meta.stack.to_string(),
                ),
            ] {
                if let Some(g) = given.filter(|g| *g != has) {
                    return Err(WizardError::Refused {
                        flag,
                        message: format!("the template `{id}` is a {has} template, not {g}"),
                        hint: format!("drop --{flag}, or pick another --template"),
                    });
                }
            }
            return Ok((t.id.clone(), t.meta.kind, t.meta.stack));
        }
        let kinds: Vec<Kind> = Kind::ALL
            .iter()
            .copied()
            .filter(|k| !pack.find(Some(*k), a.stack).is_empty())
            .collect();
        let kind_choices: Vec<Choice> = kinds
            .iter()
            .map(|k| Choice {
                value: k.to_string(),
                label: format!(
                    "{:<10} {}",
                    k.as_str(),
                    pack.find(Some(*k), a.stack)
                        .first()
                        .map_or("", |t| t.meta.description.as_str())
                ),
            })
            .collect();
        let offered = kinds
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join("|");
        let kinds_c = kinds.clone();
        let only_kind = (kinds.len() == 1 && a.kind.is_none()).then(|| kinds[0]);
        let kind = self
            .ask(
                question("kind", "What kind of app?", "dashboard, form or webhook"),
                a.kind.or(only_kind),
                None,
                true,
                Some(&kind_choices),
                &|s| Kind::from_str(s),
                &move |k: &Kind| {
                    if kinds_c.contains(k) {
                        Ok(())
                    } else {
                        Err(problem(
                            format!("the template pack has no {k} template"),
                            "`levee templates list` shows what it offers",
                        ))
                    }
                },
                &format!("--kind {offered} (or --template ID)"),
            )?
            .unwrap_or(Kind::Dashboard);
        let stacks: Vec<Stack> = Stack::ALL
            .iter()
            .copied()
            .filter(|s| !pack.find(Some(kind), Some(*s)).is_empty())
            .collect();
        let stack_choices: Vec<Choice> = stacks
            .iter()
            .map(|s| Choice {
                value: s.to_string(),
                label: s.to_string(),
            })
            .collect();
        let stacks_c = stacks.clone();
        let offered = stacks
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join("|");
        let only_stack = (stacks.len() == 1 && a.stack.is_none()).then(|| stacks[0]);
        let stack = self
            .ask(
                question("stack", "Language stack?", "node (TypeScript) or python"),
                a.stack.or(only_stack),
                None,
                true,
                Some(&stack_choices),
                &|s| Stack::from_str(s),
                &move |s: &Stack| {
                    if stacks_c.contains(s) {
                        Ok(())
                    } else {
                        Err(problem(
                            format!("the template pack has no {kind} template for {s}"),
                            "`levee templates list` shows what it offers",
                        ))
                    }
                },
                &format!("--stack {offered}"),
            )?
            .unwrap_or(Stack::Node);
        let id = pack
            .find(Some(kind), Some(stack))
            .first()
            .map(|t| t.id.clone())
            .unwrap_or_default();
        Ok((id, kind, stack))
    }

    fn datasets(
        &mut self,
        a: &Answers,
        classification: Classification,
        tier: Tier,
    ) -> Result<Vec<DataAccess>, WizardError> {
        let org = self.org().clone();
        let check = move |d: &DataAccess| dataset_allowed(&org, d, classification, tier);
        if let Some(given) = &a.datasets {
            for d in given {
                check(d).map_err(|p| WizardError::Refused {
                    flag: "dataset",
                    message: p.message,
                    hint: p.hint,
                })?;
            }
            return Ok(given.clone());
        }
        let mut out = Vec::new();
        let Some(prompt) = self.prompt.as_deref_mut() else {
            return Ok(out);
        };
        let access_choices: Vec<Choice> = AccessLevel::ALL
            .iter()
            .map(|l| Choice {
                value: l.to_string(),
                label: l.to_string(),
            })
            .collect();
        loop {
            let name = prompt
                .text(&question(
                    "dataset",
                    "Dataset the app uses? (empty: no more)",
                    "its name in the org's dataset registry",
                ))?
                .trim()
                .to_string();
            if name.is_empty() {
                return Ok(out);
            }
            let access = prompt.select(
                &question(
                    "dataset",
                    &format!("Access to {name}?"),
                    "read, write or admin",
                ),
                &access_choices,
            )?;
            let Ok(access_level) = AccessLevel::from_str(&access) else {
                prompt.refuse(&format!("`{access}` is not an access level"));
                continue;
            };
            let mut d = DataAccess {
                dataset: name,
                access_level,
                purpose: None,
            };
            // Refused before the purpose is asked: the org's rules do not depend on it.
            if let Err(p) = check(&d) {
                prompt.refuse(&format!("{} ({})", p.message, p.hint));
                continue;
            }
            let purpose = prompt
                .text(&question(
                    "dataset",
                    "Why does the app need it?",
                    "in plain words",
                ))?
                .trim()
                .to_string();
            if let Err(p) = check_free_text(&purpose, 200, true) {
                prompt.refuse(&p.message);
                continue;
            }
            d.purpose = Some(purpose).filter(|p| !p.is_empty());
            out.push(d);
        }
    }

    fn secrets(
        &mut self,
        a: &Answers,
        classification: Classification,
        tier: Tier,
    ) -> Result<Vec<Secret>, WizardError> {
        let org = self.org().clone();
        let check =
            move |s: &Secret, seen: &[Secret]| secret_allowed(&org, s, seen, classification, tier);
        if let Some(given) = &a.secrets {
            for (i, s) in given.iter().enumerate() {
                check(s, &given[..i]).map_err(|p| WizardError::Refused {
                    flag: "secret",
                    message: p.message,
                    hint: p.hint,
                })?;
            }
            return Ok(given.clone());
        }
        let mut out: Vec<Secret> = Vec::new();
        let providers: Vec<Choice> = self
            .org()
            .secret_providers(classification)
            .into_iter()
            .filter(|p| *p != SecretProvider::Env || tier == Tier::Prototype)
            .map(|p| Choice {
                value: p.to_string(),
                label: p.to_string(),
            })
            .collect();
        let Some(prompt) = self.prompt.as_deref_mut() else {
            return Ok(out);
        };
        loop {
            let name = prompt
                .text(&question(
                    "secret",
                    "Secret the app needs? (empty: no more)",
                    "a name like PAYMENT_API_KEY; never the value",
                ))?
                .trim()
                .to_string();
            if name.is_empty() {
                return Ok(out);
            }
            let provider = prompt.select(
                &question(
                    "secret",
                    &format!("Where is {name} stored?"),
                    "the secret store",
                ),
                &providers,
            )?;
            let Ok(provider) = SecretProvider::from_str(&provider) else {
                prompt.refuse(&format!("`{provider}` is not a secret store"));
                continue;
            };
            let s = Secret {
                name,
                provider,
                path: None,
            };
            match check(&s, &out) {
                Ok(()) => out.push(s),
                Err(p) => prompt.refuse(&format!("{} ({})", p.message, p.hint)),
            }
        }
    }
}

fn question(key: &'static str, message: &str, help: &str) -> Question {
    Question {
        key,
        message: message.to_string(),
        help: Some(help.to_string()).filter(|h| !h.is_empty()),
        default: None,
    }
}

fn one_line(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(60)
        .collect();
    if s.chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

fn add_days(d: Date, days: u32) -> Date {
    d.0.checked_add(jiff::Span::new().days(i64::from(days)))
        .map(Date)
        .unwrap_or(d)
}

fn tier_explain(t: Tier, org: &Org) -> String {
    let caps = org.tier(t);
    let max = caps
        .max_classification
        .map_or(String::new(), |c| format!("data up to {c}"));
    match (t, caps.max_lifetime_days) {
        (Tier::Prototype, Some(days)) => format!("short-lived (at most {days} days), {max}"),
        (Tier::Sandbox, _) => format!("a shared pilot, {max}"),
        _ => format!("a supported service, {max}"),
    }
}

/// Does the org let an app of `tier` handle `classification` data?
fn tier_allows(org: &Org, tier: Tier, classification: Classification) -> Result<(), Problem> {
    match org.tier(tier).max_classification {
        Some(max) if classification > max => Err(problem(
            format!("a {tier} may handle at most {max} data, and this app is {classification}"),
            format!(
                "choose a higher --tier ({}), or a lower --classification (levee.org.yaml `tiers.{tier}.max_classification`)",
                Tier::ALL
                    .iter()
                    .filter(|t| org
                        .tier(**t)
                        .max_classification
                        .is_none_or(|m| classification <= m))
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        )),
        _ => Ok(()),
    }
}

/// Does the org let this app use this dataset?
fn dataset_allowed(
    org: &Org,
    d: &DataAccess,
    classification: Classification,
    tier: Tier,
) -> Result<(), Problem> {
    if let Some(p) = &d.purpose {
        check_free_text(p, 200, true)?;
    }
    check_free_text(&d.dataset, MAX_SHORT, true)?;
    let registered = org.datasets.get(&d.dataset);
    let dc = org.dataset_classification(&d.dataset);
    let why = if registered.is_some() {
        format!("the dataset `{}` is {dc} (org dataset registry)", d.dataset)
    } else {
        format!(
            "the dataset `{}` is not in the org's dataset registry, so levee treats it as {dc}",
            d.dataset
        )
    };
    if let Some(max) = org.tier(tier).max_classification
        && dc > max
    {
        return Err(problem(
            format!("{why}, and a {tier} may touch at most {max} data"),
            "use a higher --tier, or a less sensitive dataset",
        ));
    }
    if dc > classification {
        return Err(problem(
            format!("{why}, above the app's classification ({classification})"),
            format!("raise --classification to {dc}"),
        ));
    }
    // An unregistered dataset is read-only, as the org's policy treats it.
    let allowed = registered.map_or_else(|| vec![AccessLevel::Read], |r| r.allowed_access.clone());
    if !allowed.contains(&d.access_level) {
        return Err(problem(
            format!(
                "the dataset `{}` allows {} access, not {}",
                d.dataset,
                allowed
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                d.access_level
            ),
            if registered.is_some() {
                "ask for an allowed access level".to_string()
            } else {
                "use read access, or ask the platform team to register the dataset (with write) in levee.org.yaml".to_string()
            },
        ));
    }
    Ok(())
}

/// Does the org let this app keep this secret in this store?
fn secret_allowed(
    org: &Org,
    s: &Secret,
    seen: &[Secret],
    classification: Classification,
    tier: Tier,
) -> Result<(), Problem> {
    let env_like = !s.name.is_empty()
        && s.name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !s.name.as_bytes()[0].is_ascii_digit();
    if !env_like {
        return Err(problem(
            format!("`{}` is not a secret name", one_line(&s.name)),
            "use capital letters, digits and underscores, like PAYMENT_API_KEY",
        ));
    }
    if seen.iter().any(|x| x.name == s.name) {
        return Err(problem(
            format!("the secret `{}` is listed twice", s.name),
            "list each secret once",
        ));
    }
    let allowed = org.secret_providers(classification);
    if !allowed.contains(&s.provider) {
        return Err(problem(
            format!(
                "a {classification} app may not keep secrets in {} (org policy)",
                s.provider
            ),
            format!(
                "use {} (levee.org.yaml `secret_providers.{classification}`)",
                allowed
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    if s.provider == SecretProvider::Env && tier != Tier::Prototype {
        return Err(problem(
            format!("`env` secrets are for prototypes; this app is a {tier}"),
            "use vault or aws-secrets-manager",
        ));
    }
    Ok(())
}
