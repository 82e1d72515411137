//! The wizard's questions, as data: one row per question, in the order they are asked.
//!
//! A row says what the question sets in the manifest (`field`, a JSON pointer; `{i}` is the
//! item of a list), how it is asked (free text, a comma-separated list, or a choice), what it
//! proposes, and which `levee new` flag answers it without a prompt. Nothing here decides what
//! the org allows: the engine asks the org's policies and the manifest's own checks about every
//! answer and every choice. Adding a question is adding a row.

use serde_json::Value;

use crate::model::manifest::{AccessLevel, Ci, Classification, Kind, SecretProvider, Stack, Tier};

use super::{Choice, Setup};

/// How an answer is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One line of text; empty means none.
    Text,
    /// Comma-separated values, set as a list.
    List,
    /// One of the question's choices.
    Select,
}

/// What the question reads, given what is answered so far.
#[derive(Debug, Clone, Copy)]
pub enum Words {
    Fixed(&'static str),
    /// Words that name an earlier answer (`Why does the app need expenses?`).
    From(fn(&Ctx<'_>) -> String),
}

impl Words {
    pub(crate) fn text(&self, cx: &Ctx<'_>) -> String {
        match self {
            Words::Fixed(s) => (*s).to_string(),
            Words::From(f) => f(cx),
        }
    }
}

/// One question.
#[derive(Debug)]
pub struct Spec {
    /// Its id (`name`, `dataset`); the prompt interface sees it as [`super::Question::key`].
    pub id: &'static str,
    /// The `levee new` flag that answers it without a prompt.
    pub flag: &'static str,
    /// Its name in the recap and in "change an answer".
    pub label: &'static str,
    pub prompt: Words,
    pub help: Words,
    /// The manifest field it sets, a JSON pointer; `{i}` is the list item.
    pub field: &'static str,
    pub input: Input,
    /// The proposed answer (a choice's value, or text), shown with the question.
    pub default: fn(&Ctx<'_>) -> Option<String>,
    /// What the recap says when there is no answer.
    pub unset: &'static str,
    /// The choices of an [`Input::Select`]; each is offered only when the policies accept it.
    pub choices: fn(&Ctx<'_>) -> Vec<Choice>,
    /// A choice that asks for free text instead (an unlisted dataset or host): its prompt.
    pub other: Option<&'static str>,
    /// Whether the question is asked at all.
    pub applies: fn(&Ctx<'_>) -> bool,
    /// The wizard cannot go on without an answer, though the manifest may leave the field out
    /// (kind and stack pick the template).
    pub needed: bool,
    /// The default is only proposed: a person confirms it at the prompt, and without a prompt
    /// the answer must be given (a script never classifies data by default).
    pub confirmed: bool,
    /// What the template pack offers (the one check that is not the manifest's or the org's).
    pub check: fn(&Ctx<'_>, &str) -> Result<(), String>,
}

impl Spec {
    /// The list a repeated question belongs to (`/data_access`), if any.
    pub(crate) fn list(&self) -> Option<&'static str> {
        self.field.find("/{i}").map(|at| &self.field[..at])
    }
}

/// What a question's functions see: the setup, the answers so far (a partial manifest) and,
/// for a list item, its index.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub setup: &'a Setup<'a>,
    pub answers: &'a Value,
    pub item: Option<usize>,
    /// The template given with `--template`, if any.
    pub template: Option<&'a crate::scaffold::pack::Template>,
}

impl Ctx<'_> {
    /// The answer at a pointer; `{i}` is this question's item.
    pub(crate) fn get(&self, pointer: &str) -> Option<&Value> {
        let p = pointer.replace("{i}", &self.item.unwrap_or(0).to_string());
        self.answers.pointer(&p).filter(|v| !v.is_null())
    }

    pub(crate) fn str(&self, pointer: &str) -> Option<&str> {
        self.get(pointer).and_then(Value::as_str)
    }

    fn parsed<T: std::str::FromStr>(&self, pointer: &str) -> Option<T> {
        self.str(pointer).and_then(|s| s.parse().ok())
    }

    pub(crate) fn kind(&self) -> Option<Kind> {
        self.template
            .map(|t| t.meta.kind.clone())
            .or_else(|| self.parsed("/kind"))
    }

    pub(crate) fn stack(&self) -> Option<Stack> {
        self.template
            .map(|t| t.meta.stack.clone())
            .or_else(|| self.parsed("/stack"))
    }

    pub(crate) fn tier(&self) -> Option<Tier> {
        self.parsed("/lifecycle/tier")
    }

    /// The template these answers pick (given, or the pack's for kind and stack).
    pub(crate) fn chosen_template(&self) -> Option<&crate::scaffold::pack::Template> {
        self.template.or_else(|| {
            let kind = self.kind()?;
            self.setup
                .pack
                .find(Some(&kind), self.stack().as_ref())
                .first()
                .copied()
        })
    }

    /// For a setting's question: the setting (its name and what the template says of it).
    pub(crate) fn setting(&self) -> Option<(&String, &crate::scaffold::pack::SettingSpec)> {
        self.chosen_template()?.meta.settings.get_index(self.item?)
    }

    /// The approved hosts the settings answered so far name in their URLs (a downstream, a
    /// data source), for the egress question to propose.
    fn setting_hosts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let values = self
            .get("/settings")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values());
        for host in values
            .filter_map(Value::as_str)
            .filter_map(crate::model::settings::url_host)
        {
            if self.setup.org.egress_approved(&host) && !out.contains(&host) {
                out.push(host);
            }
        }
        out
    }

    /// The stacks the pack offers for the chosen kind.
    pub(crate) fn stacks(&self) -> Vec<Stack> {
        let kind = self.kind();
        self.setup
            .pack
            .stacks_offered()
            .into_iter()
            .map(|(s, _)| Stack::from(s))
            .filter(|s| !self.setup.pack.find(kind.as_ref(), Some(s)).is_empty())
            .collect()
    }

    fn is_first_item(&self) -> bool {
        self.item.unwrap_or(0) == 0
    }

    /// The answers other items of a list give at `field` (`/data_access/{i}/dataset`), so a
    /// choice taken once is not offered again.
    fn taken(&self, field: &str) -> Vec<String> {
        let Some(at) = field.find("/{i}") else {
            return Vec::new();
        };
        let (list, rest) = (&field[..at], &field[at + 4..]);
        let items = self
            .answers
            .pointer(list)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        (0..items)
            .filter(|i| Some(*i) != self.item)
            .filter_map(|i| self.answers.pointer(&format!("{list}/{i}{rest}")))
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    }
}

fn always(_: &Ctx<'_>) -> bool {
    true
}

fn nothing(_: &Ctx<'_>) -> Option<String> {
    None
}

fn no_choices(_: &Ctx<'_>) -> Vec<Choice> {
    Vec::new()
}

fn any(_: &Ctx<'_>, _: &str) -> Result<(), String> {
    Ok(())
}

fn choice(value: impl Into<String>, label: impl Into<String>) -> Choice {
    Choice {
        value: value.into(),
        label: label.into(),
    }
}

/// The value of the choice that ends a list (`no more datasets`).
pub const NONE: &str = "(none)";
/// The value of the choice that asks for free text instead.
pub const OTHER: &str = "(other)";
/// The field of the settings' question: one step per setting the template declares, `{setting}`
/// standing for its name.
pub const SETTING_FIELD: &str = "/settings/{setting}";

/// Every question, in the order asked.
pub static QUESTIONS: &[Spec] = &[
    Spec {
        id: "name",
        flag: "--name",
        label: "App name",
        prompt: Words::Fixed("App name?"),
        help: Words::Fixed("lowercase letters, digits and dashes, like expense-form"),
        field: "/name",
        input: Input::Text,
        default: |cx| cx.setup.default_name.clone(),
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "description",
        flag: "--description",
        label: "What it does",
        prompt: Words::Fixed("What does the app do, and for whom?"),
        help: Words::Fixed("one sentence a colleague understands (Enter to skip)"),
        field: "/description",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "owner",
        flag: "--owner",
        label: "Owner",
        prompt: Words::Fixed("Your work e-mail? (you will own the app)"),
        help: Words::From(|cx| match cx.setup.org.owner_domains.first() {
            Some(d) => format!("the accountable person's e-mail, like jane.doe@{d}"),
            None => "the accountable person's e-mail, like jane.doe@acme.corp".into(),
        }),
        field: "/owner",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "kind",
        flag: "--kind",
        label: "Kind of app",
        prompt: Words::Fixed("What kind of app?"),
        help: Words::From(|cx| {
            let kinds: Vec<&str> = cx
                .setup
                .pack
                .kinds_offered()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            format!(
                "{}: each is a starter app you then make your own",
                kinds.join(", ")
            )
        }),
        field: "/kind",
        input: Input::Select,
        default: nothing,
        unset: "(none)",
        choices: |cx| {
            let offered = cx.setup.pack.kinds_offered();
            let width = offered
                .iter()
                .map(|(k, _)| k.len())
                .max()
                .unwrap_or(0)
                .max(10);
            offered
                .into_iter()
                .map(|(k, spec)| choice(k, format!("{k:<width$} {}", spec.description)))
                .collect()
        },
        other: None,
        applies: |cx| cx.template.is_none() || cx.get("/kind").is_some(),
        needed: true,
        confirmed: false,
        check: |cx, kind| match (cx.template, kind.parse::<Kind>()) {
            (Some(t), Ok(k)) if t.meta.kind != k => Err(format!(
                "the template `{}` is a {} template, not {k}",
                t.id, t.meta.kind
            )),
            (None, Ok(k)) if cx.setup.pack.find(Some(&k), None).is_empty() => Err(format!(
                "the template pack has no {k} template (`levee templates list` shows what it offers)"
            )),
            _ => Ok(()),
        },
    },
    Spec {
        id: "stack",
        flag: "--stack",
        label: "Language",
        prompt: Words::Fixed("Which language?"),
        help: Words::From(|cx| {
            let stacks: Vec<String> = cx.stacks().iter().map(|s| s.to_string()).collect();
            format!("{}: the starter app is written in it", stacks.join(", "))
        }),
        field: "/stack",
        input: Input::Select,
        default: nothing,
        unset: "(none)",
        choices: |cx| {
            cx.stacks()
                .into_iter()
                .map(|s| {
                    let what = cx
                        .setup
                        .pack
                        .declared
                        .stacks
                        .get(s.as_str())
                        .map_or("", |d| d.description.as_str());
                    choice(s.as_str(), format!("{:<10} {what}", s.as_str()))
                })
                .collect()
        },
        other: None,
        applies: |cx| {
            cx.get("/stack").is_some() || (cx.template.is_none() && cx.stacks().len() > 1)
        },
        needed: true,
        confirmed: false,
        check: |cx, stack| match (cx.template, stack.parse::<Stack>()) {
            (Some(t), Ok(s)) if t.meta.stack != s => Err(format!(
                "the template `{}` is a {} template, not {s}",
                t.id, t.meta.stack
            )),
            (None, Ok(s)) if cx.setup.pack.find(cx.kind().as_ref(), Some(&s)).is_empty() => {
                Err(format!(
                    "the template pack has no {} template for {s} (`levee templates list` shows what it offers)",
                    cx.kind().map_or("app".to_string(), |k| k.to_string())
                ))
            }
            _ => Ok(()),
        },
    },
    Spec {
        id: "dataset",
        flag: "--dataset",
        label: "Dataset",
        prompt: Words::From(|cx| {
            if cx.is_first_item() {
                "Does the app use data from the org's dataset registry?".into()
            } else {
                "Another dataset?".into()
            }
        }),
        help: Words::Fixed("each dataset with its classification and what it allows"),
        field: "/data_access/{i}/dataset",
        input: Input::Select,
        default: |_| Some(NONE.into()),
        unset: "(none)",
        choices: |cx| {
            let taken = cx.taken("/data_access/{i}/dataset");
            let mut out: Vec<Choice> = cx
                .setup
                .org
                .datasets
                .iter()
                .filter(|(name, _)| !taken.contains(name))
                .map(|(name, d)| {
                    let access: Vec<&str> = d.allowed_access.iter().map(|a| a.as_str()).collect();
                    choice(
                        name.as_str(),
                        format!(
                            "{name:<20} {} data; {}",
                            d.classification,
                            access.join(" or ")
                        ),
                    )
                })
                .collect();
            out.push(choice(OTHER, "another dataset (type its name)"));
            out.push(choice(
                NONE,
                if cx.is_first_item() {
                    "no dataset"
                } else {
                    "no more datasets"
                },
            ));
            out
        },
        other: Some("Dataset name?"),
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "access",
        flag: "--dataset",
        label: "access",
        prompt: Words::From(|cx| {
            format!(
                "What does the app do with {}?",
                cx.str("/data_access/{i}/dataset").unwrap_or("the dataset")
            )
        }),
        help: Words::Fixed("only what the dataset's owner allows is offered"),
        field: "/data_access/{i}/access_level",
        input: Input::Select,
        default: nothing,
        unset: "(none)",
        choices: |_| {
            AccessLevel::ALL
                .iter()
                .map(|a| {
                    let what = match a {
                        AccessLevel::Read => "reads it",
                        AccessLevel::Write => "reads and changes it",
                        AccessLevel::Admin => "manages it (schema, permissions)",
                    };
                    choice(a.as_str(), format!("{:<6} {what}", a.as_str()))
                })
                .collect()
        },
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "purpose",
        flag: "--dataset",
        label: "purpose",
        prompt: Words::From(|cx| {
            format!(
                "Why does the app need {}?",
                cx.str("/data_access/{i}/dataset").unwrap_or("it")
            )
        }),
        help: Words::Fixed("in plain words, like: record expense claims for approval"),
        field: "/data_access/{i}/purpose",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "classification",
        flag: "--classification",
        label: "Data classification",
        prompt: Words::Fixed("How sensitive is the most sensitive data the app handles?"),
        help: Words::Fixed(
            "public, internal, confidential or restricted: as sensitive as the most sensitive data it touches (proposed from its datasets)",
        ),
        field: "/classification",
        input: Input::Select,
        // The most sensitive of the datasets the app uses (the registry knows), else internal.
        // An unregistered dataset proposes restricted: the policy counts it as restricted for
        // confidential and restricted apps and as confidential below, so no lower class passes.
        default: |cx| {
            let items = cx
                .get("/data_access")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let most = items
                .iter()
                .filter_map(|d| d.get("dataset").and_then(Value::as_str))
                .map(|name| {
                    cx.setup
                        .org
                        .dataset_classification(name, Classification::Restricted)
                })
                .max()
                .unwrap_or(Classification::Internal);
            Some(most.max(Classification::Internal).to_string())
        },
        unset: "(none)",
        choices: |_| {
            Classification::ALL
                .iter()
                .map(|c| choice(c.as_str(), format!("{:<13} {}", c.as_str(), c.explain())))
                .collect()
        },
        other: None,
        applies: always,
        needed: false,
        confirmed: true,
        check: any,
    },
    Spec {
        id: "tier",
        flag: "--tier",
        label: "Tier",
        prompt: Words::Fixed("Which tier?"),
        help: Words::Fixed("how grown-up the app is; `levee promote` moves it up later"),
        field: "/lifecycle/tier",
        input: Input::Select,
        // The first tier the policies accept for the answers so far.
        default: nothing,
        unset: "(none)",
        choices: |cx| {
            Tier::ALL
                .iter()
                .map(|t| {
                    choice(
                        t.as_str(),
                        format!("{:<11} {}", t.as_str(), tier_explain(*t, cx)),
                    )
                })
                .collect()
        },
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "expires",
        flag: "--expires",
        label: "Expires",
        prompt: Words::Fixed("When should the app expire?"),
        help: Words::Fixed(
            "YYYY-MM-DD; it is retired then unless promoted (Enter: the date shown)",
        ),
        field: "/lifecycle/expires",
        input: Input::Text,
        default: |cx| {
            let days = cx.setup.org.tier(cx.tier()?).default_lifetime_days?;
            let d = cx
                .setup
                .today
                .0
                .checked_add(jiff::Span::new().days(i64::from(days)))
                .ok()?;
            Some(d.to_string())
        },
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "team",
        flag: "--team",
        label: "Team",
        prompt: Words::Fixed("Which team owns the app?"),
        help: Words::Fixed("as your catalog names it, like finance-ops (Enter to skip)"),
        field: "/team",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "cost-center",
        flag: "--cost-center",
        label: "Cost center",
        prompt: Words::Fixed("Which cost center pays for it?"),
        help: Words::Fixed("like CC-1234 (Enter to skip)"),
        field: "/cost/center",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "sso-issuer",
        flag: "--sso-issuer",
        label: "Sign-in provider",
        prompt: Words::Fixed("Your sign-in (identity) provider's address?"),
        help: Words::Fixed(
            "its https URL, like https://login.acme.corp; Enter to fill it in later (the platform team knows it)",
        ),
        field: "/sso/issuer",
        input: Input::Text,
        default: nothing,
        unset: "(not yet: set `sso.issuer` in app.yaml; the platform team knows it)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "sso-group",
        flag: "--sso-group",
        label: "Who may sign in",
        prompt: Words::Fixed("Which groups may use the app?"),
        help: Words::From(|cx| {
            let approvers = cx.chosen_template().is_some_and(|t| t.meta.approver_group);
            if approvers {
                "group names from your sign-in provider, comma-separated; a form needs one whose name says approvers (its members approve)".into()
            } else {
                "group names from your sign-in provider, comma-separated (Enter: anyone who signs in)".into()
            }
        }),
        field: "/sso/groups",
        input: Input::List,
        default: |cx| {
            let t = cx.chosen_template()?;
            let name = cx.str("/name")?;
            t.meta.approver_group.then(|| format!("{name}-approvers"))
        },
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "secret",
        flag: "--secret",
        label: "Secret",
        prompt: Words::From(|cx| {
            if cx.is_first_item() {
                "Does the app need a secret (an API key, a password)? Its name:".into()
            } else {
                "Another secret? Its name:".into()
            }
        }),
        help: Words::Fixed("a name like PAYMENT_API_KEY, never the value itself (Enter: none)"),
        field: "/secrets/{i}/name",
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "store",
        flag: "--secret",
        label: "stored in",
        prompt: Words::From(|cx| {
            format!(
                "Where is {} kept?",
                cx.str("/secrets/{i}/name").unwrap_or("the secret")
            )
        }),
        help: Words::Fixed("the secret stores your org allows for this app"),
        field: "/secrets/{i}/provider",
        input: Input::Select,
        default: nothing,
        unset: "(none)",
        choices: |_| {
            SecretProvider::ALL
                .iter()
                .map(|p| {
                    let what = match p {
                        SecretProvider::Vault => "HashiCorp Vault",
                        SecretProvider::AwsSecretsManager => "AWS Secrets Manager",
                        SecretProvider::Env => "an environment variable set where the app runs",
                    };
                    choice(p.as_str(), format!("{:<20} {what}", p.as_str()))
                })
                .collect()
        },
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "egress",
        flag: "--egress",
        label: "Calls out to",
        prompt: Words::From(|cx| {
            if cx.is_first_item() {
                "Does the app call other services (APIs)?".into()
            } else {
                "Another service?".into()
            }
        }),
        help: Words::Fixed(
            "the hosts your org has approved for apps to call; anything else is blocked",
        ),
        field: "/runtime/egress/{i}",
        input: Input::Select,
        // The approved hosts the given settings' URLs name, then none.
        default: |cx| {
            let taken = cx.taken("/runtime/egress/{i}");
            Some(
                cx.setting_hosts()
                    .into_iter()
                    .find(|h| !taken.contains(h))
                    .unwrap_or_else(|| NONE.into()),
            )
        },
        unset: "(none)",
        choices: |cx| {
            let taken = cx.taken("/runtime/egress/{i}");
            let mut out: Vec<Choice> = cx
                .setup
                .org
                .egress
                .approved
                .iter()
                .filter(|h| !taken.contains(h))
                .map(|h| choice(h.as_str(), h.as_str()))
                .collect();
            out.push(choice(OTHER, "another host (type it)"));
            out.push(choice(
                NONE,
                if cx.is_first_item() {
                    "no other service"
                } else {
                    "no more"
                },
            ));
            out
        },
        other: Some("Host name? (like api.example.com)"),
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    // One question per setting the template declares (`template.yaml` `settings:`), after the
    // hosts the app calls (a URL's host must be one of them: RUN-007).
    Spec {
        id: "setting",
        flag: "--setting",
        label: "Setting",
        prompt: Words::From(|cx| match cx.setting() {
            Some((name, _)) => format!("{name}?"),
            None => "Setting?".into(),
        }),
        help: Words::From(|cx| match cx.setting() {
            Some((_, s)) => match &s.example {
                Some(e) => format!("{} (for example {e})", s.description),
                None => s.description.clone(),
            },
            None => String::new(),
        }),
        field: SETTING_FIELD,
        input: Input::Text,
        default: nothing,
        unset: "(none)",
        choices: no_choices,
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
    Spec {
        id: "ci",
        flag: "--ci",
        label: "Repository",
        prompt: Words::Fixed("Where will the app's repository live?"),
        help: Words::Fixed("levee writes the checks (the pipeline) for it"),
        field: "/ci",
        input: Input::Select,
        default: |_| Some(Ci::Github.to_string()),
        unset: "(none)",
        choices: |_| {
            Ci::ALL
                .iter()
                .map(|c| {
                    let what = match c {
                        Ci::Github => "GitHub (GitHub Actions)",
                        Ci::Gitlab => "GitLab (GitLab CI)",
                    };
                    choice(c.as_str(), format!("{:<8} {what}", c.as_str()))
                })
                .collect()
        },
        other: None,
        applies: always,
        needed: false,
        confirmed: false,
        check: any,
    },
];

/// A tier in words, from the org config's caps for it.
fn tier_explain(t: Tier, cx: &Ctx<'_>) -> String {
    let caps = cx.setup.org.tier(t);
    let data = caps
        .max_classification
        .map_or(String::new(), |c| format!("; data up to {c}"));
    let what = match t {
        Tier::Prototype => match caps.max_lifetime_days {
            Some(days) => format!("a short-lived trial (up to {days} days)"),
            None => "a short-lived trial".to_string(),
        },
        Tier::Sandbox => "a shared pilot".to_string(),
        Tier::Production => "a supported service".to_string(),
    };
    format!("{what}{data}")
}
