//! The wizard through its `Prompt` seam: scripted answers, the real org policies (regorus), the
//! real template packs. What a person reads (refusals, notes, the recap, the choices offered) is
//! asserted as text.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use levee::model::manifest::{AccessLevel, Classification, Date, Tier};
use levee::model::org::Org;
use levee::scaffold::pack::{self, Pack};
use levee::scaffold::wizard::{
    self, Answers, Choice, Given, ProblemKind, Prompt, PromptError, Question, WizardError,
};

/// Esc at a prompt.
const ESC: &str = "<esc>";
/// Ctrl-C at a prompt.
const CTRL_C: &str = "<ctrl-c>";

/// Answers questions from a script, checking each is the expected one, and records what the
/// person would have read.
#[derive(Default)]
struct Scripted {
    script: VecDeque<(&'static str, &'static str)>,
    refusals: Vec<String>,
    notes: Vec<String>,
    asked: Vec<String>,
    /// For each question: its default as shown.
    defaults: Vec<(String, Option<String>)>,
    /// For each choice question: the values offered.
    offered: Vec<(String, Vec<String>)>,
    /// For each choice question: the labels shown.
    labels: Vec<(String, Vec<String>)>,
}

impl Scripted {
    fn new(script: &[(&'static str, &'static str)]) -> Self {
        Scripted {
            script: script.iter().copied().collect(),
            ..Scripted::default()
        }
    }

    fn next(&mut self, q: &Question) -> Result<String, PromptError> {
        self.asked.push(format!("{}: {}", q.key, q.message));
        self.defaults.push((q.key.to_string(), q.default.clone()));
        let Some((key, answer)) = self.script.pop_front() else {
            panic!(
                "unexpected question {} ({:?}); refusals so far: {:?}",
                q.key, q.message, self.refusals
            )
        };
        assert_eq!(
            key, q.key,
            "asked {:?}; refusals so far: {:?}",
            q.message, self.refusals
        );
        match answer {
            ESC => Err(PromptError::Back),
            CTRL_C => Err(PromptError::Interrupted),
            a => Ok(a.to_string()),
        }
    }

    fn offered(&self, key: &str) -> Vec<String> {
        self.offered
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn first_offered(&self, key: &str) -> Vec<String> {
        self.offered
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn all_notes(&self) -> String {
        self.notes.join("\n")
    }
}

impl Prompt for Scripted {
    fn text(&mut self, q: &Question) -> Result<String, PromptError> {
        self.next(q)
    }

    fn select(&mut self, q: &Question, choices: &[Choice]) -> Result<String, PromptError> {
        self.offered.push((
            q.key.to_string(),
            choices.iter().map(|c| c.value.clone()).collect(),
        ));
        self.labels.push((
            q.key.to_string(),
            choices.iter().map(|c| c.label.clone()).collect(),
        ));
        let a = self.next(q)?;
        if a.is_empty() {
            return Ok(q
                .default
                .clone()
                .unwrap_or_else(|| choices[0].value.clone()));
        }
        // `label:Team` picks the choice whose label starts with `Team`.
        if let Some(prefix) = a.strip_prefix("label:") {
            return Ok(choices
                .iter()
                .find(|c| c.label.starts_with(prefix))
                .unwrap_or_else(|| panic!("no choice labelled {prefix}: {choices:?}"))
                .value
                .clone());
        }
        assert!(
            choices.iter().any(|c| c.value == a),
            "{a} not offered for {}: {choices:?}",
            q.message
        );
        Ok(a)
    }

    fn refuse(&mut self, reason: &str) {
        self.refusals.push(reason.to_string());
    }

    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packs")
}

fn basic() -> Pack {
    pack::load(Some(fixtures().join("basic").to_str().expect("utf8"))).expect("pack")
}

/// An org with a registry: expenses (internal, read/write), payroll (confidential, read);
/// two approved hosts, one a wildcard, reached through the org's egress proxy.
fn acme() -> Org {
    let text = "org: acme
owner_domains: [acme.corp]
datasets:
  expenses: {classification: internal, allowed_access: [read, write]}
  payroll: {classification: confidential, allowed_access: [read]}
egress:
  approved: [api.acme.corp, '*.internal.acme.corp']
sandbox:
  egress_proxy: {host: proxy.acme.corp, port: 3128, namespace: egress, pod_labels: {app: proxy}}
";
    levee::load::document::parse_str::<Org>(Path::new("levee.org.yaml"), text)
        .expect("a valid org config")
        .value
}

fn today() -> Date {
    Date::parse("2026-03-01").expect("date")
}

fn setup<'a>(org: &'a Org, pack: &'a Pack) -> wizard::Setup<'a> {
    wizard::Setup {
        org,
        pack,
        today: today(),
        default_name: None,
        target: None,
    }
}

/// The answers up to the classification, for tests about what comes after.
const START: &[(&str, &str)] = &[
    ("name", "expense-form"),
    (
        "description",
        "Staff submit expense claims; finance approves them",
    ),
    ("owner", "jane@acme.corp"),
    ("kind", "form"),
];

fn script(parts: &[&[(&'static str, &'static str)]]) -> Vec<(&'static str, &'static str)> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

#[test]
fn an_analyst_builds_an_expense_form_and_each_refusal_comes_at_its_question() {
    let (org, pack) = (acme(), basic());
    let mut p = Scripted::new(&[
        ("name", "Expense Form"),
        ("name", "expense-form"),
        ("description", ""),
        ("owner", "jane@gmail.com"),
        ("owner", "jane@acme.corp"),
        ("kind", "form"),
        ("dataset", "expenses"),
        ("access", "write"),
        // The issue: an empty purpose was accepted, and refused fifteen questions later.
        ("purpose", ""),
        ("purpose", "record expense claims"),
        ("dataset", ""),
        ("classification", ""),
        ("tier", ""),
        ("expires", "2026-12-31"),
        ("expires", ""),
        ("team", "Finance Ops"),
        ("team", "finance-ops"),
        ("cost-center", "CC-1234"),
        ("sso-issuer", "https://login.acme.corp"),
        ("sso-group", "finance-approvers"),
        ("secret", "payment key"),
        ("secret", "PAYMENT_API_KEY"),
        ("store", "vault"),
        ("secret", ""),
        ("egress", "api.acme.corp"),
        ("egress", ""),
        ("ci", ""),
        ("confirm", ""),
    ]);
    let r =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    assert_eq!(
        p.refusals,
        [
            "`Expense Form` is not a valid app name\nuse 2 to 63 lowercase letters, digits and dashes, starting with a letter: `expense-form`",
            "the owner `jane@gmail.com` is not in one of the org's e-mail domains (acme.corp) (org policy OWN-001)",
            "the access to `expenses` gives no purpose (org policy DATA-003)",
            "the app would live 305 days, longer than the prototype maximum of 90 (org policy LIFE-002)",
            "`Finance Ops` is not a team name levee can use as written\nwrite it like `finance-ops`: letters and digits, words joined by single dashes, dots or underscores, at most 63 characters (the catalog and Kubernetes labels take it as is)",
            "`payment key` does not look like an environment variable name\nuse capital letters, digits and underscores: `PAYMENT_KEY`",
        ]
    );
    // No flag names anywhere the person reads.
    for text in p.refusals.iter().chain(&p.notes) {
        assert!(!text.contains("--"), "a flag name in the wizard: {text}");
    }
    // The defaults shown: classification starts on internal, the tier on the first the policy
    // accepts, the expiry on the org's default lifetime.
    let default_of = |key: &str| {
        p.defaults
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, d)| d.clone())
    };
    assert_eq!(default_of("classification").as_deref(), Some("internal"));
    assert_eq!(default_of("tier").as_deref(), Some("prototype"));
    assert_eq!(default_of("expires").as_deref(), Some("2026-03-31"));
    // Registry choices: every dataset (asked before the classification, which they then
    // propose), the approved hosts. Below the data's own classification is not offered, and the
    // person is told why.
    assert_eq!(
        p.first_offered("dataset"),
        ["expenses", "payroll", "(other)", "(none)"]
    );
    assert_eq!(
        p.offered("dataset"),
        ["payroll", "(other)", "(none)"],
        "expenses is taken"
    );
    assert_eq!(
        p.offered("classification"),
        ["internal", "confidential", "restricted"]
    );
    assert!(
        p.all_notes().contains(
            "not offered: public (the app is classified public but uses the internal dataset `expenses` (org policy DATA-002))"
        ),
        "{}",
        p.all_notes()
    );
    assert_eq!(
        p.offered("access"),
        ["read", "write"],
        "admin is not allowed on expenses"
    );
    assert_eq!(
        p.offered("store"),
        ["vault", "aws-secrets-manager", "env"],
        "env: this org lets a prototype read secrets from the environment"
    );
    assert_eq!(
        p.offered("egress"),
        ["*.internal.acme.corp", "(other)", "(none)"],
        "api.acme.corp is taken already"
    );
    // The recap: the answers in the questions' words, then the files, managed ones included.
    let recap = p
        .notes
        .iter()
        .find(|n| n.starts_with("Here is the app."))
        .expect("a recap");
    for line in [
        "App name             expense-form",
        "What it does         (none)",
        "Data classification  internal: staff only, harmless if leaked",
        "Tier                 prototype",
        "Expires              2026-03-31",
        "Team                 finance-ops",
        "Dataset 1            expenses · write · record expense claims",
        "Sign-in provider     https://login.acme.corp",
        "Secret 1             PAYMENT_API_KEY · vault",
        "Calls out to 1       api.acme.corp",
        "Runs in              a sandboxed-container, with the org's limits for a prototype",
        "levee will write ./expense-form/ from the template form-node (fixture-basic 1.0.0):",
        "policy/",
        "deploy/",
        "catalog-info.yaml  the app's entry for the developer portal",
        ".github/workflows/levee.yml",
    ] {
        assert!(recap.contains(line), "{line:?} not in the recap:\n{recap}");
    }
    let m = &r.manifest;
    assert_eq!(m.name, "expense-form");
    assert_eq!(m.team.as_deref(), Some("finance-ops"));
    assert_eq!(
        m.data_access[0].purpose.as_deref(),
        Some("record expense claims")
    );
    assert_eq!(m.runtime().egress, ["api.acme.corp"]);
    assert_eq!(r.template_id, "form-node");
    // What the wizard accepted, the policy gate accepts.
    let mut ev = levee::generate::policy::Evaluator::embedded(
        &org,
        levee::generate::policy::Clock::Fixed(today()),
    )
    .expect("policies");
    let findings = ev
        .evaluate(&serde_json::to_value(&r.plan.manifest).expect("json"))
        .expect("evaluates");
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn esc_goes_back_one_question_and_keeps_the_answer_as_the_default() {
    let (org, pack) = (acme(), basic());
    let mut p = Scripted::new(&script(&[
        START,
        &[
            ("dataset", ""),
            ("classification", "confidential"),
            // Esc at the tier: back to the classification, which shows the answer given.
            ("tier", ESC),
            ("classification", "internal"),
            ("tier", ""),
            ("expires", ESC),
            ("tier", ESC),
            ("classification", ESC),
            ("dataset", ESC),
            ("kind", ESC),
            ("owner", ESC),
            ("description", ESC),
            ("name", ESC),
            // Esc at the first question stays there.
            ("name", ""),
            ("description", ""),
            ("owner", ""),
            ("kind", ""),
            ("dataset", ""),
            ("classification", ""),
            ("tier", ""),
            ("expires", ""),
            ("team", ""),
            ("cost-center", ""),
            ("sso-issuer", ""),
            ("sso-group", ""),
            ("secret", ""),
            ("egress", ""),
            ("ci", ""),
            // Esc at the confirmation: back to the last question.
            ("confirm", ESC),
            ("ci", "gitlab"),
            ("confirm", "create"),
        ],
    ]));
    let r =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    let shown: Vec<(String, Option<String>)> = p.defaults.clone();
    // The second time the classification is asked, it shows the answer given (confidential);
    // the tier that then fits it (sandbox) is the default; internal brings back prototype.
    let classification: Vec<&Option<String>> = shown
        .iter()
        .filter(|(k, _)| k == "classification")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(classification[0].as_deref(), Some("internal"));
    assert_eq!(classification[1].as_deref(), Some("confidential"));
    let tiers: Vec<&Option<String>> = shown
        .iter()
        .filter(|(k, _)| k == "tier")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(tiers[0].as_deref(), Some("sandbox"));
    assert_eq!(tiers[1].as_deref(), Some("prototype"));
    // Going back to the name keeps every answer: Enter walks forward through them.
    let names: Vec<&Option<String>> = shown
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(
        names.last().and_then(|d| d.as_deref()),
        Some("expense-form")
    );
    assert!(p.all_notes().contains("This is the first question"));
    assert_eq!(r.manifest.classification, Classification::Internal);
    assert_eq!(r.manifest.owner, "jane@acme.corp");
    assert_eq!(r.manifest.ci, Some(levee::model::manifest::Ci::Gitlab));
}

#[test]
fn ctrl_c_stops_with_the_answers_kept_and_nothing_made() {
    let (org, pack) = (acme(), basic());
    let mut p = Scripted::new(&[
        ("name", "expense-form"),
        ("description", "Half done"),
        ("owner", CTRL_C),
    ]);
    let e =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect_err("stopped");
    let WizardError::Interrupted { kept } = e else {
        panic!("not an interruption: {e}")
    };
    assert_eq!(kept.asked, 2);
    assert_eq!(
        kept.answers.doc,
        serde_json::json!({"name": "expense-form", "description": "Half done"})
    );
    // The kept answers read back as an answers file, and say how to finish.
    let text = wizard::answers::to_yaml(&kept.answers, "levee new expense-form --answers X", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("kept.yaml");
    std::fs::write(&file, &text).expect("write");
    let again = wizard::answers::load(&file).expect("loads");
    assert_eq!(again, kept.answers, "{text}");
    assert!(
        text.contains("#   levee new expense-form --answers X\n"),
        "{text}"
    );
}

#[test]
fn the_recap_changes_an_answer_and_rechecks_the_answers_after_it() {
    let (org, pack) = (acme(), basic());
    let mut p = Scripted::new(&script(&[
        START,
        &[
            ("dataset", "expenses"),
            ("access", "read"),
            ("purpose", "monthly totals"),
            ("dataset", ""),
            ("classification", ""),
            ("tier", ""),
            ("expires", ""),
            ("team", "finance-ops"),
            ("cost-center", ""),
            ("sso-issuer", ""),
            ("sso-group", "finance-approvers"),
            ("secret", ""),
            ("egress", ""),
            ("ci", ""),
            ("confirm", "change"),
            ("change", "label:Data classification"),
            // Confidential data does not fit a prototype: the tier is asked again, with the
            // reason, and offers only what fits; the later answers still fit and are kept.
            ("classification", "confidential"),
            ("tier", ""),
            ("confirm", "create"),
        ],
    ]));
    let r =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    assert_eq!(
        p.refusals,
        [
            "a prototype app may handle internal data at most, and this app is classified confidential (org policy DATA-006)"
        ]
    );
    assert_eq!(p.offered("tier"), ["sandbox", "production"]);
    assert_eq!(
        p.notes
            .iter()
            .filter(|n| n.starts_with("Here is the app."))
            .count(),
        2,
        "a recap before each confirmation"
    );
    let m = r.manifest;
    assert_eq!(m.classification, Classification::Confidential);
    assert_eq!(m.lifecycle.tier, Tier::Sandbox);
    assert_eq!(m.data_access[0].dataset, "expenses");
    assert_eq!(
        m.runtime().kind,
        Some(levee::model::manifest::RuntimeType::HardenedContainer)
    );
}

#[test]
fn the_org_config_decides_the_choices_not_the_wizard() {
    // env_secret_tiers is the org's: an org that lets a sandbox read secrets from the
    // environment gets `env` offered there (levee new and levee check agree), one that does
    // not, does not.
    let pack = basic();
    let stores = |org: &Org| {
        let mut p = Scripted::new(&[
            ("description", ""),
            ("dataset", ""),
            ("tier", "sandbox"),
            ("expires", ""),
            ("team", ""),
            ("cost-center", ""),
            ("sso-issuer", ""),
            ("sso-group", ""),
            ("secret", "API_TOKEN"),
            ("store", "label:env"),
            ("secret", ""),
            ("egress", ""),
            ("ci", ""),
            ("confirm", "create"),
        ]);
        let given = Given::from(&Answers {
            name: Some("x-app".into()),
            owner: Some("a@acme.corp".into()),
            kind: Some(levee::model::manifest::Kind::from("form")),
            classification: Some(Classification::Internal),
            ..Answers::default()
        });
        let r = wizard::resolve(&given, &setup(org, &pack), Some(&mut p));
        (p, r)
    };
    let mut lenient = acme();
    lenient.env_secret_tiers = vec![Tier::Prototype, Tier::Sandbox];
    let (p, r) = stores(&lenient);
    assert_eq!(p.offered("store"), ["vault", "aws-secrets-manager", "env"]);
    let r = r.expect("resolves");
    assert_eq!(
        r.manifest.secrets[0].provider,
        levee::model::manifest::SecretProvider::Env
    );
    // The default org: env only in prototypes. The scripted `label:env` finds no such choice.
    let strict = acme();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stores(&strict)));
    let message = outcome
        .err()
        .and_then(|e| e.downcast_ref::<String>().cloned())
        .expect("env is not offered");
    assert!(message.contains("no choice labelled env"), "{message}");

    // A confidential app: only exact approved hosts (no wildcard), and the lowest tier that
    // may hold its data is proposed.
    let org = acme();
    let mut p = Scripted::new(&script(&[
        START,
        &[
            ("dataset", "payroll"),
            ("access", ""),
            ("purpose", "pay slips"),
            ("dataset", ""),
            // Proposed from the dataset: confidential.
            ("classification", ""),
            ("tier", ""),
            ("expires", ""),
            ("team", ""),
            ("cost-center", ""),
            ("sso-issuer", ""),
            // A confidential app must name who may sign in (the org's policy says so).
            ("sso-group", ""),
            ("sso-group", "finance"),
            ("secret", ""),
            ("egress", ""),
            ("ci", ""),
            ("confirm", "create"),
        ],
    ]));
    let r =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert_eq!(r.manifest.classification, Classification::Confidential);
    assert_eq!(r.manifest.lifecycle.tier, Tier::Sandbox);
    assert_eq!(p.offered("tier"), ["sandbox", "production"]);
    assert_eq!(p.offered("access"), ["read"]);
    assert_eq!(p.offered("egress"), ["api.acme.corp", "(other)", "(none)"]);
    assert_eq!(
        p.refusals,
        ["a confidential app must limit sign-in to named groups (org policy AUTH-002)"]
    );
    assert!(
        p.all_notes()
            .contains("not offered: *.internal.acme.corp ("),
        "{}",
        p.all_notes()
    );
}

#[test]
fn given_answers_are_not_asked_unless_the_policy_refuses_them() {
    let (org, pack) = (acme(), basic());
    let given = Given::from(&Answers {
        name: Some("expense-form".into()),
        owner: Some("jane@gmail.com".into()),
        kind: Some(levee::model::manifest::Kind::from("form")),
        classification: Some(Classification::Internal),
        ..Answers::default()
    });
    let mut p = Scripted::new(&[
        ("description", ""),
        // Refused though given: asked, with the reason first.
        ("owner", "jane@acme.corp"),
        ("dataset", ""),
        ("tier", ""),
        ("expires", ""),
        ("team", ""),
        ("cost-center", ""),
        ("sso-issuer", ""),
        ("sso-group", ""),
        ("secret", ""),
        ("egress", ""),
        ("ci", ""),
        ("confirm", "create"),
    ]);
    let r = wizard::resolve(&given, &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert_eq!(
        p.refusals,
        [
            "the owner `jane@gmail.com` is not in one of the org's e-mail domains (acme.corp) (org policy OWN-001)"
        ]
    );
    assert_eq!(r.manifest.owner, "jane@acme.corp");
}

#[test]
fn without_a_prompt_every_problem_is_reported_at_once() {
    let (org, pack) = (acme(), basic());
    let given = Given::from(&Answers {
        name: Some("prod-app".into()),
        kind: Some(levee::model::manifest::Kind::from("form")),
        tier: Some(Tier::Production),
        classification: Some(Classification::Internal),
        datasets: Some(vec![levee::model::manifest::DataAccess {
            dataset: "expenses".into(),
            access_level: AccessLevel::Admin,
            purpose: None,
        }]),
        ..Answers::default()
    });
    let e = wizard::resolve(&given, &setup(&org, &pack), None).expect_err("refused");
    let WizardError::Refused { problems, kept } = e else {
        panic!("{e}")
    };
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        listed,
        [
            "missing --owner (Owner): the accountable person's e-mail, like jane.doe@acme.corp",
            "--dataset: `expenses` allows read, write access only, not admin (DATA-004)",
            "--dataset: the access to `expenses` gives no purpose (DATA-003)",
            "--team: a production app needs an owning team (OWN-002)",
            "--cost-center: a production app needs a cost center (OWN-003)",
            "--sso-group: a production app must limit sign-in to named groups (AUTH-006)",
        ]
    );
    assert_eq!(problems[0].kind, ProblemKind::Missing);
    assert!(problems[1..].iter().all(|p| p.kind == ProblemKind::Policy));
    // Defaults nobody confirmed are not kept; the given answers are.
    assert_eq!(kept.answers.doc["name"], "prod-app");
    assert!(kept.answers.doc.get("ci").is_none(), "{}", kept.answers.doc);
}

#[test]
fn the_final_gate_reads_the_manifest_with_what_the_template_adds() {
    // The template's starter code needs SESSION_SECRET; this org lets internal apps keep
    // secrets only in the environment, and no tier read them from it. No question sets that
    // secret, so the refusal stops the run with the answers kept.
    let dir = tempfile::tempdir().expect("tmp");
    let pack_dir = dir.path().join("pack");
    std::fs::create_dir_all(pack_dir.join("t/files")).expect("mkdir");
    std::fs::write(
        pack_dir.join("pack.yaml"),
        "name: scratch\nversion: 1.0.0\n",
    )
    .expect("w");
    std::fs::write(
        pack_dir.join("t/template.yaml"),
        "kind: form\nstack: node\nsecrets: [SESSION_SECRET]\n",
    )
    .expect("w");
    std::fs::write(pack_dir.join("t/files/a.txt"), "a").expect("w");
    let pack = pack::load(Some(pack_dir.to_str().expect("utf8"))).expect("pack");
    let mut org = acme();
    org.env_secret_tiers = Vec::new();
    org.secret_providers.internal = Some(vec![levee::model::manifest::SecretProvider::Env]);
    let given = Given::from(&Answers {
        name: Some("gated".into()),
        owner: Some("a@acme.corp".into()),
        kind: Some(levee::model::manifest::Kind::from("form")),
        classification: Some(Classification::Internal),
        ..Answers::default()
    });
    let e = wizard::resolve(&given, &setup(&org, &pack), None).expect_err("refused");
    let WizardError::Refused { problems, kept } = e else {
        panic!("{e}")
    };
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "`secrets[0].provider`: a prototype app may not read `SESSION_SECRET` from the environment (SEC-002)"
        ]
    );
    assert!(problems[0].question.is_none());
    assert_eq!(kept.answers.doc["name"], "gated");
}

#[test]
fn a_late_refusal_resumes_at_the_refused_questions_only() {
    // A run without a prompt ends with the org's policy refusing a production app without a team
    // or cost center; its kept answers, read back as an answers file, resume at a terminal: only
    // those two questions (and what nobody answered yet) are asked, every other answer is kept.
    let (org, pack) = (acme(), basic());
    let given = Given::from(&Answers {
        name: Some("prod-app".into()),
        description: Some("Payroll questions, answered".into()),
        owner: Some("jane@acme.corp".into()),
        kind: Some(levee::model::manifest::Kind::from("form")),
        classification: Some(Classification::Internal),
        tier: Some(Tier::Production),
        sso_groups: Some(vec!["payroll-approvers".into()]),
        ..Answers::default()
    });
    let e = wizard::resolve(&given, &setup(&org, &pack), None).expect_err("refused");
    let WizardError::Refused { kept, .. } = e else {
        panic!("{e}")
    };
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("prod-app.yaml");
    std::fs::write(
        &file,
        wizard::answers::to_yaml(
            &kept.answers,
            "levee new prod-app --answers FILE",
            &["--team: a production app needs an owning team (OWN-002)".into()],
        ),
    )
    .expect("write");
    let resumed = wizard::answers::load(&file).expect("the kept answers load");
    let mut p = Scripted::new(&[
        ("dataset", ""),
        ("expires", ""),
        // Still refused empty, at its own question now.
        ("team", ""),
        ("team", "payroll"),
        ("cost-center", ""),
        ("cost-center", "CC-7"),
        ("sso-issuer", ""),
        ("secret", ""),
        ("egress", ""),
        ("ci", ""),
        ("confirm", "create"),
    ]);
    let r = wizard::resolve(&resumed, &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    assert_eq!(
        p.refusals,
        [
            "a production app needs an owning team (org policy OWN-002)",
            "a production app needs a cost center (org policy OWN-003)"
        ]
    );
    let m = r.manifest;
    assert_eq!(
        m.description.as_deref(),
        Some("Payroll questions, answered")
    );
    assert_eq!(m.lifecycle.tier, Tier::Production);
    assert_eq!(m.sso_groups(), ["payroll-approvers"]);
    assert_eq!(m.team.as_deref(), Some("payroll"));
}

/// A pack whose one template (`t`, a webhook) declares a required and an optional setting.
fn settings_pack(root: &Path) -> Pack {
    let dir = root.join("pack");
    std::fs::create_dir_all(dir.join("t/files")).expect("mkdir");
    std::fs::write(dir.join("pack.yaml"), "name: scratch\nversion: 1.0.0\n").expect("w");
    std::fs::write(
        dir.join("t/template.yaml"),
        "kind: webhook\nstack: node\ndescription: A webhook\nsettings:\n  \
         DOWNSTREAM_URL:\n    description: Where verified events are forwarded\n    required: true\n    \
         example: https://api.acme.corp/events\n  RETRIES:\n    description: How often a failed forward is retried\n",
    )
    .expect("w");
    std::fs::write(dir.join("t/files/a.txt"), "a").expect("w");
    pack::load(Some(dir.to_str().expect("utf8"))).expect("pack")
}

fn settings_given(settings: Option<Vec<(String, String)>>) -> Given {
    Given::from(&Answers {
        name: Some("hooks".into()),
        description: Some("Forwards payment events".into()),
        owner: Some("a@acme.corp".into()),
        team: Some("payments".into()),
        classification: Some(Classification::Internal),
        tier: Some(Tier::Prototype),
        expires: Date::parse("2026-03-31").ok(),
        cost_center: Some("CC-1".into()),
        sso_issuer: Some("https://login.acme.corp".into()),
        sso_groups: Some(vec!["payments".into()]),
        ci: Some(levee::model::manifest::Ci::Github),
        template: Some("t".into()),
        settings,
        ..Answers::default()
    })
}

#[test]
fn each_declared_setting_is_a_question_after_the_hosts_the_app_calls() {
    let dir = tempfile::tempdir().expect("tmp");
    let (org, pack) = (acme(), settings_pack(dir.path()));
    let mut p = Scripted::new(&[
        ("dataset", ""),
        ("secret", ""),
        ("egress", "api.acme.corp"),
        ("egress", ""),
        // Required: an empty answer is refused; so is a host the app may not call.
        ("setting", ""),
        ("setting", "https://ledger.example.com/events"),
        ("setting", "https://api.acme.corp/events"),
        // Optional: empty is fine.
        ("setting", ""),
        ("confirm", ""),
    ]);
    let r = wizard::resolve(&settings_given(None), &setup(&org, &pack), Some(&mut p))
        .expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    let settings_asked: Vec<&String> = p
        .asked
        .iter()
        .filter(|q| q.starts_with("setting:"))
        .collect();
    assert_eq!(
        settings_asked,
        [
            "setting: DOWNSTREAM_URL?",
            "setting: DOWNSTREAM_URL?",
            "setting: DOWNSTREAM_URL?",
            "setting: RETRIES?"
        ]
    );
    assert_eq!(
        p.refusals,
        [
            "an answer is needed here: Where verified events are forwarded (for example https://api.acme.corp/events)",
            "the setting DOWNSTREAM_URL points at `ledger.example.com`, a host the app may not reach (it is not in `runtime.egress`) (org policy RUN-007)",
        ]
    );
    for text in p.refusals.iter().chain(&p.notes) {
        assert!(!text.contains("--"), "a flag name in the wizard: {text}");
    }
    let recap = p
        .notes
        .iter()
        .find(|n| n.starts_with("Here is the app."))
        .expect("a recap");
    for line in [
        "Calls out to 1       api.acme.corp",
        "DOWNSTREAM_URL       https://api.acme.corp/events",
        "RETRIES              (none)",
    ] {
        assert!(recap.contains(line), "{line:?} not in the recap:\n{recap}");
    }
    assert_eq!(
        r.manifest.settings.into_iter().collect::<Vec<_>>(),
        [(
            "DOWNSTREAM_URL".to_string(),
            "https://api.acme.corp/events".to_string()
        )]
    );
}

#[test]
fn without_a_prompt_a_missing_setting_names_its_flag_and_a_given_one_proposes_its_host() {
    let dir = tempfile::tempdir().expect("tmp");
    let (org, pack) = (acme(), settings_pack(dir.path()));
    let e = wizard::resolve(&settings_given(None), &setup(&org, &pack), None).expect_err("missing");
    let WizardError::Refused { problems, .. } = e else {
        panic!("{e}")
    };
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "missing --setting DOWNSTREAM_URL=...: Where verified events are forwarded (for example https://api.acme.corp/events)"
        ]
    );
    assert_eq!(problems[0].kind, ProblemKind::Missing);
    assert_eq!(
        problems[0].hint.as_deref(),
        Some("pass --setting DOWNSTREAM_URL=https://api.acme.corp/events")
    );
    // Given: the approved host its URL names is the app's egress; the declared setting comes
    // first in app.yaml, the others as given.
    let given = settings_given(Some(vec![
        ("REGION".into(), "eu-west-1".into()),
        (
            "DOWNSTREAM_URL".into(),
            "https://api.acme.corp/events".into(),
        ),
    ]));
    let r = wizard::resolve(&given, &setup(&org, &pack), None).expect("resolves");
    assert_eq!(r.manifest.runtime().egress, ["api.acme.corp"]);
    assert_eq!(
        r.manifest.settings.keys().collect::<Vec<_>>(),
        ["DOWNSTREAM_URL", "REGION"]
    );
    // A host the org has not approved is not proposed; the policy refuses the setting, naming
    // the flag that sets it.
    let given = settings_given(Some(vec![(
        "DOWNSTREAM_URL".into(),
        "https://ledger.example.com/events".into(),
    )]));
    let e = wizard::resolve(&given, &setup(&org, &pack), None).expect_err("refused");
    let WizardError::Refused { problems, .. } = e else {
        panic!("{e}")
    };
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "--setting: the setting DOWNSTREAM_URL points at `ledger.example.com`, a host the app may not reach (it is not in `runtime.egress`) (RUN-007)"
        ]
    );
}

/// The second pack of tests/fixtures/packs: it declares the `scheduled-job` kind and `go` stack.
fn acme_jobs() -> Pack {
    pack::load(Some(
        fixtures().join("acme-jobs/v1.1.0").to_str().expect("utf8"),
    ))
    .expect("pack")
}

#[test]
fn the_wizard_offers_the_kinds_a_pack_declares_with_their_descriptions() {
    let (org, pack) = (acme(), acme_jobs());
    let mut p = Scripted::new(&[
        ("name", "nightly-report"),
        ("description", ""),
        ("owner", "jane@acme.corp"),
        ("kind", "scheduled-job"),
        ("dataset", ""),
        ("classification", ""),
        ("tier", ""),
        ("expires", ""),
        ("team", ""),
        ("cost-center", ""),
        ("sso-issuer", ""),
        ("sso-group", ""),
        ("secret", ""),
        ("egress", ""),
        ("setting", "15m"),
        ("ci", ""),
        ("confirm", ""),
    ]);
    let r =
        wizard::resolve(&Given::default(), &setup(&org, &pack), Some(&mut p)).expect("resolves");
    assert!(p.script.is_empty(), "left: {:?}", p.script);
    assert_eq!(p.offered("kind"), ["scheduled-job"]);
    let labels = p
        .labels
        .iter()
        .find(|(k, _)| k == "kind")
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    assert_eq!(
        labels,
        ["scheduled-job A job that runs on a schedule and reports what it did"]
    );
    assert!(
        p.asked.iter().any(|a| a.starts_with("kind: ")),
        "{:?}",
        p.asked
    );
    assert_eq!(r.template_id, "scheduled-job-go");
    let m = &r.manifest;
    assert_eq!(m.kind.as_ref().map(|k| k.as_str()), Some("scheduled-job"));
    assert_eq!(m.stack.as_ref().map(|s| s.as_str()), Some("go"));
    assert_eq!(
        m.settings.get("JOB_INTERVAL").map(String::as_str),
        Some("15m")
    );
}
