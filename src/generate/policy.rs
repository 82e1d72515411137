//! Policy as code: the Rego bundle each app carries in `policy/`, and its in-process evaluation.
//!
//! The rules live in `policies/` (Rego v1, package `levee.policy`, `deny` and `warn` sets of
//! `{id, msg, hint, field}`), embedded at build time. Input is the manifest as JSON (exactly what
//! `conftest test app.yaml` sees); data is the org config rendered as `data.levee.org`.
//!
//! One bundle, two engines: `levee sync` writes [`bundle`] into the app and CI evaluates it with
//! the reference OPA; `levee check` compiles the same modules once with `regorus` and evaluates
//! every manifest against them ([`Evaluator`]). Rules guard their own applicability (a rule for
//! confidential apps tests the classification itself), so leaving a module out of a small
//! bundle never changes a result: the in-process check with every module and the whole org
//! config decides exactly what the app's tuned bundle decides (tested over the corpus).
//!
//! The clock: expiry rules compare against `time.now_ns()`, so CI judges them on the day it runs.
//! `data.levee.clock.now_ns`, when present, fixes it: levee sets it from `--today` /
//! `LEVEE_TODAY`, the Rego unit tests with `with data.levee.clock as ...`. It is never written
//! into a bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::manifest::{Classification, Manifest, Tier};
use crate::model::org::Org;

pub mod report;
pub mod runner;
pub use runner::{Coverage, TestOutcome, TestReport, run_tests};

/// The Rego modules and their unit tests.
pub static POLICIES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/policies");

/// Where the bundle goes in an app.
pub const BUNDLE_DIR: &str = "policy";
/// The package holding `deny` and `warn` (conftest's `--namespace`).
pub const PACKAGE: &str = "levee.policy";
/// Days before expiry when LIFE-003 starts warning.
pub const EXPIRY_WARNING_DAYS: u32 = 14;

/// Modules only confidential and restricted apps need: every rule in them tests the
/// classification first.
const SENSITIVE_MODULES: &[&str] = &["sensitive.rego"];

/// Why the policies could not be loaded or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot compile the policy bundle: {0}")]
    Compile(String),
    #[error("cannot evaluate the policies: {0}")]
    Eval(String),
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn compile_err(e: impl std::fmt::Display) -> PolicyError {
    PolicyError::Compile(e.to_string())
}

/// Blocking or advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Deny,
    Warn,
}

/// One policy result.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub level: Level,
    pub id: String,
    pub msg: String,
    pub hint: String,
    /// The manifest field, dotted (`data_access[0].dataset`).
    pub field: String,
}

impl Finding {
    /// The field as a JSON pointer (`/data_access/0/dataset`), for locating it in the file.
    pub fn pointer(&self) -> String {
        crate::load::field_path::pointer(&self.field)
    }
}

/// A rule as its `# METADATA` block describes it (the annotations OPA's parser attaches to the
/// rule, as `opa inspect -a` and Regal read them): `title`, `description`, and under `custom`,
/// the rule's `id` and `severity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub severity: Level,
    pub module: String,
}

/// Every rule of the embedded policies, from their `# METADATA` blocks, sorted by id.
pub fn rules() -> Vec<Rule> {
    let mut out: Vec<Rule> = modules()
        .into_iter()
        .flat_map(|(name, text)| module_rules(name, text).unwrap_or_default())
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The rules a module's `# METADATA` blocks describe. Each block must name the rule that follows
/// it: `custom.id` a rule id, `custom.severity` the set the rule adds to (`deny contains ...` /
/// `warn contains ...`), a `title`, and a finding with that id in the rule's body.
pub fn module_rules(module: &str, text: &str) -> Result<Vec<Rule>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "# METADATA" {
            i += 1;
            continue;
        }
        let at = format!("{module}:{}", i + 1);
        let mut yaml = String::new();
        i += 1;
        while let Some(comment) = lines.get(i).and_then(|l| l.strip_prefix('#')) {
            yaml.push_str(comment.strip_prefix(' ').unwrap_or(comment));
            yaml.push('\n');
            i += 1;
        }
        let doc = crate::load::yaml::parse(&yaml).map_err(|e| format!("{at}: METADATA: {e}"))?;
        let text_at = |pointer: &str| doc.value.pointer(pointer).and_then(|v| v.as_str());
        let id = text_at("/custom/id")
            .filter(|id| is_rule_id(id))
            .ok_or_else(|| format!("{at}: METADATA has no `custom.id` like DATA-001"))?;
        let severity = match text_at("/custom/severity") {
            Some("deny") => Level::Deny,
            Some("warn") => Level::Warn,
            _ => {
                return Err(format!(
                    "{at}: `custom.severity` of {id} is not deny or warn"
                ));
            }
        };
        let title = text_at("/title")
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| format!("{at}: {id} has no `title`"))?;
        let head = lines.get(i).copied().unwrap_or("");
        let set = match severity {
            Level::Deny => "deny",
            Level::Warn => "warn",
        };
        if !head.starts_with(&format!("{set} contains ")) {
            return Err(format!(
                "{at}: {id} is a {set} rule, but the METADATA block is followed by `{head}`"
            ));
        }
        let body: String = lines[i..]
            .iter()
            .take_while(|l| **l != "}")
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        if !body.contains(&format!("\"id\": \"{id}\"")) {
            return Err(format!(
                "{at}: the rule after {id}'s METADATA reports no finding {id}"
            ));
        }
        out.push(Rule {
            id: id.to_string(),
            title: title.to_string(),
            description: text_at("/description").map(str::to_string),
            severity,
            module: module.to_string(),
        });
    }
    Ok(out)
}

/// `DATA-001`: capitals, a dash, three digits.
pub fn is_rule_id(s: &str) -> bool {
    let Some((prefix, num)) = s.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && num.len() == 3
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// The embedded policy modules (not tests), by file name.
pub fn modules() -> Vec<(&'static str, &'static str)> {
    embedded(|n| !n.ends_with("_test.rego"))
}

/// The embedded unit tests, by file name.
pub fn test_modules() -> Vec<(&'static str, &'static str)> {
    embedded(|n| n.ends_with("_test.rego"))
}

fn embedded(keep: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = POLICIES
        .files()
        .filter_map(|f| Some((f.path().to_str()?, f.contents_utf8()?)))
        .filter(|(n, _)| n.ends_with(".rego") && keep(n))
        .collect();
    out.sort();
    out
}

/// Which embedded modules (policies and their tests) a bundle for `c` carries: every module,
/// less those only sensitive apps need.
pub fn module_names_for(c: Classification) -> Vec<&'static str> {
    let sensitive = c >= Classification::Confidential;
    POLICIES
        .files()
        .filter_map(|f| f.path().to_str())
        .filter(|n| n.ends_with(".rego"))
        .filter(|n| {
            let base = n.replace("_test.rego", ".rego");
            sensitive || !SENSITIVE_MODULES.contains(&base.as_str())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Where the fold table goes in a bundle: `data.levee.fold` (OPA merges a `data.json` at its
/// directory's path, in a bundle and in a directory passed to `opa eval --data` alike).
pub(crate) const FOLD_DATA_FILE: &str = "levee/fold/data.json";

/// The character folding of dataset names (`fold_table` in lib.rego), `policies/fold.json`: each
/// character that folds to something else under case, spacing and Unicode compatibility (NFKC),
/// and what it folds to. Data, not Rego: the 1,278 entries as a Rego object were a quarter of a
/// one-manifest `levee check` (regorus parsing them on every run); as JSON they cost a tenth of
/// a millisecond. Parsed once per process.
pub(crate) fn fold_table() -> &'static Value {
    static TABLE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        POLICIES
            .get_file("fold.json")
            .and_then(|f| serde_json::from_slice(f.contents()).ok())
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()))
    })
}

/// `{"levee": {"fold": {"table": ...}}}` as a policy value, parsed once per process: the part
/// of [`data`] that never changes.
fn fold_data() -> &'static regorus::Value {
    static DATA: std::sync::OnceLock<regorus::Value> = std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let table = POLICIES
            .get_file("fold.json")
            .and_then(|f| f.contents_utf8())
            .unwrap_or("{}");
        regorus::Value::from_json_str(&format!(r#"{{"levee": {{"fold": {{"table": {table}}}}}}}"#))
            .unwrap_or_else(|_| regorus::Value::new_object())
    })
}

/// The data the embedded policies are evaluated with in-process: `data.levee.fold` (the fold
/// table) and, with `org`, `data.levee.org` (the whole org config, untuned). Without an org, the
/// data of the Rego unit tests, which set `data.levee.org` themselves.
pub fn data(org: Option<&Org>) -> Value {
    let mut levee = serde_json::Map::new();
    if let Some(org) = org {
        levee.insert("org".into(), org_data(org, None));
    }
    levee.insert("fold".into(), json!({"table": fold_table()}));
    json!({ "levee": levee })
}

/// The org config as policy data (`data.levee.org`), in comparable units: CPU in millicores,
/// memory in bytes, durations in minutes and days. With `app`, tuned to it: only the datasets
/// it names (all of them when it names an unregistered one) and its own classification's lists
/// (the rules look nothing else up for it).
pub fn org_data(org: &Org, app: Option<&Manifest>) -> Value {
    let classifications: Vec<Classification> = match app {
        Some(m) => vec![m.classification],
        None => Classification::ALL.to_vec(),
    };
    // An app that names a dataset the registry lacks gets the whole registry: the policy then
    // names the registered dataset it looks like (`lookalikes`), as it would with every dataset.
    let whole_registry = app.is_none_or(|m| {
        m.data_access
            .iter()
            .any(|a| !org.datasets.contains_key(&a.dataset))
    });
    let datasets: serde_json::Map<String, Value> = org
        .datasets
        .iter()
        .filter(|(name, _)| {
            whole_registry || app.is_some_and(|m| m.data_access.iter().any(|a| &a.dataset == *name))
        })
        .map(|(name, d)| {
            (
                name.clone(),
                json!({"classification": d.classification, "allowed_access": d.allowed_access}),
            )
        })
        .collect();
    let tiers: serde_json::Map<String, Value> = Tier::ALL
        .iter()
        .map(|t| {
            let caps = org.tier(*t);
            let mut o = serde_json::Map::new();
            if let Some(c) = caps.max_cpu {
                o.insert("max_cpu_millicores".into(), json!(c.0));
            }
            if let Some(m) = caps.max_memory {
                o.insert("max_memory_bytes".into(), json!(m.0));
            }
            if let Some(r) = caps.max_runtime_minutes {
                o.insert("max_runtime_minutes".into(), json!(r));
            }
            if let Some(d) = caps.max_lifetime_days {
                o.insert("max_lifetime_days".into(), json!(d));
            }
            if let Some(c) = caps.max_classification {
                o.insert("max_classification".into(), json!(c));
            }
            (t.as_str().to_string(), Value::Object(o))
        })
        .collect();
    let per = |f: &dyn Fn(Classification) -> Value| -> Value {
        Value::Object(
            classifications
                .iter()
                .map(|c| (c.as_str().to_string(), f(*c)))
                .collect(),
        )
    };
    json!({
        "name": org.org,
        "owner_domains": org.owner_domains,
        "datasets": datasets,
        "egress_approved": org.egress.approved,
        "tiers": tiers,
        "secret_providers": per(&|c| json!(org.secret_providers(c))),
        "allowed_runtimes": per(&|c| json!(org.allowed_runtimes(c))),
        "env_secret_tiers": org.env_secret_tiers,
        "expiry_warning_days": EXPIRY_WARNING_DAYS,
    })
}

fn provenance() -> String {
    format!(
        "Generated by levee {} from app.yaml and the org config; regenerate with `levee sync`. Do not edit.",
        crate::VERSION
    )
}

/// The app's policy bundle: relative path (under the app directory) -> content. The Rego modules
/// and tests its classification needs, `data.json` (the tuned org config), the fold table
/// ([`FOLD_DATA_FILE`]) and `.manifest`
/// (roots, `rego_version: 1`, revision = levee's version + a hash of the content).
pub fn bundle(manifest: &Manifest, org: &Org) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let names = module_names_for(manifest.classification);
    let modules = modules_with_header(&names);
    for (path, content) in modules.iter() {
        files.insert(path.clone(), content.clone());
    }
    let data = json!({"levee": {"generated": provenance(), "org": org_data(org, Some(manifest))}});
    let data = pretty(&data);
    files.insert(format!("{BUNDLE_DIR}/data.json"), data.clone());
    files.insert(
        format!("{BUNDLE_DIR}/{FOLD_DATA_FILE}"),
        fold_file().clone(),
    );
    // The bundle's content is the modules (chosen by `names`), data.json and the fold table (the
    // same for every app): its hash is computed once per distinct pair, not once per app.
    let hash = remembered(&REVISIONS, (names, data), || {
        let mut hash = Fnv::new();
        for (path, content) in &files {
            hash.write(path.as_bytes());
            hash.write(&[0]);
            hash.write(content.as_bytes());
            hash.write(&[0]);
        }
        hash.0
    });
    let manifest_json = json!({
        "revision": format!("levee-{}+{:016x}", crate::VERSION, hash),
        "roots": ["levee"],
        "rego_version": 1,
        "metadata": {"generated": provenance(), "app": manifest.name, "classification": manifest.classification},
    });
    files.insert(format!("{BUNDLE_DIR}/.manifest"), pretty(&manifest_json));
    files
}

type Memo<K, V> = std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<K, V>>>;

/// The bundle hashes computed so far in this process, by module names and data.json.
static REVISIONS: Memo<(Vec<&'static str>, String), u64> = Memo::new();

/// The value `memo` holds for `key`, computed with `make` the first time (a fleet run builds the
/// bundles of a thousand apps from a handful of distinct inputs).
fn remembered<K, V>(memo: &Memo<K, V>, key: K, make: impl FnOnce() -> V) -> V
where
    K: std::hash::Hash + Eq,
    V: Clone,
{
    let memo = memo.get_or_init(Default::default);
    if let Some(v) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return v;
    }
    let v = make();
    if let Ok(mut m) = memo.lock() {
        m.insert(key, v.clone());
    }
    v
}

/// Rego modules as a bundle holds them: path, content.
type Modules = std::sync::Arc<Vec<(String, String)>>;

/// The Rego modules `names` (bundle path, content with the provenance header), built once per
/// process for each set of names.
fn modules_with_header(names: &[&'static str]) -> Modules {
    static MODULES: Memo<Vec<&'static str>, Modules> = Memo::new();
    remembered(&MODULES, names.to_vec(), || {
        let header = format!("# {}\n", provenance());
        std::sync::Arc::new(
            names
                .iter()
                .filter_map(|name| {
                    let f = POLICIES.get_file(name).and_then(|f| f.contents_utf8())?;
                    Some((format!("{BUNDLE_DIR}/{name}"), format!("{header}{f}")))
                })
                .collect(),
        )
    })
}

/// The fold table as the bundle ships it ([`FOLD_DATA_FILE`]), built once per process: the
/// provenance line, then the table as `compiled/fold-table.json` holds it printed. Printing it
/// from `policies/fold.json` took a tenth of a millisecond per `levee new` (parsing 1,278
/// entries into a map, then printing them); a test keeps the committed text equal to that.
fn fold_file() -> &'static String {
    static FILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let generated = serde_json::to_string(&provenance()).unwrap_or_default();
        visible(format!(
            "{{\n  \"generated\": {generated},\n  \"table\": {}\n}}\n",
            FOLD_TABLE_TEXT.trim_end()
        ))
    })
}

/// `policies/fold.json`'s table as the bundle's fold file prints it (indented as its `table`
/// member, invisible characters escaped). `LEVEE_UPDATE_PROGRAM=1 cargo test --lib
/// committed_fold` rewrites it.
static FOLD_TABLE_TEXT: &str = include_str!("../../compiled/fold-table.json");

/// The fold file printed from `policies/fold.json` itself: what [`fold_file`] must equal.
#[cfg(test)]
fn fold_file_printed() -> String {
    #[derive(Serialize)]
    struct FoldFile {
        generated: String,
        table: indexmap::IndexMap<String, String>,
    }
    let table = POLICIES
        .get_file("fold.json")
        .and_then(|f| serde_json::from_slice(f.contents()).ok())
        .unwrap_or_default();
    let fold = FoldFile {
        generated: provenance(),
        table,
    };
    let mut text = serde_json::to_string_pretty(&fold).unwrap_or_default();
    text.push('\n');
    visible(text)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// JSON text with every non-ASCII whitespace or control character written as a `\uXXXX` escape
/// (serde_json writes them raw): the fold table maps such characters, and none should be
/// invisible, or break a line, in an editor or a diff. They occur only inside strings, and all
/// of them are in the Basic Multilingual Plane, so one escape each is the same JSON value.
fn visible(json: String) -> String {
    if json
        .chars()
        .all(|c| c.is_ascii() || !(c.is_whitespace() || c.is_control()))
    {
        return json;
    }
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if !c.is_ascii() && (c.is_whitespace() || c.is_control()) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// FNV-1a, 64 bits: a content fingerprint for the bundle revision (not a security hash).
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Writes bundle files under `root`, each atomically (see [`crate::support::fsio`]).
pub fn write_files(root: &Path, files: &BTreeMap<String, String>) -> std::io::Result<()> {
    for (rel, content) in files {
        crate::support::fsio::write_atomic(&root.join(rel), content.as_bytes())?;
    }
    Ok(())
}

/// The clock the expiry rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock (what CI's OPA uses).
    #[default]
    System,
    /// Midnight UTC of a fixed day (`--today`, tests).
    Fixed(crate::model::manifest::Date),
}

impl Clock {
    /// `LEVEE_TODAY` when it holds a date (as `levee check --today` reads it), else the system
    /// clock.
    pub fn from_env() -> Clock {
        std::env::var("LEVEE_TODAY")
            .ok()
            .and_then(|s| crate::model::manifest::Date::parse(&s).ok())
            .map_or(Clock::System, Clock::Fixed)
    }

    /// Today's date as the policies see it: the fixed day, or today in UTC (`time.now_ns()`).
    pub fn today(self) -> crate::model::manifest::Date {
        match self {
            Clock::Fixed(d) => d,
            Clock::System => crate::model::manifest::Date(
                jiff::Timestamp::now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date(),
            ),
        }
    }

    /// Nanoseconds since 1970-01-01 UTC for a fixed clock (what `data.levee.clock.now_ns` holds);
    /// `None` for the system clock.
    pub fn now_ns(self) -> Option<i128> {
        match self {
            Clock::System => None,
            Clock::Fixed(d) => {
                let days = d.0.since(jiff::civil::date(1970, 1, 1)).ok()?.get_days();
                Some(i128::from(days) * 86_400_000_000_000)
            }
        }
    }
}

/// A compiled policy set, evaluated against many manifests.
///
/// `deny` and `warn` run on regorus's bytecode VM (about 4x less CPU per manifest than its
/// tree-walking interpreter on levee's policies), for levee's own policies on the program
/// compiled when levee was built (`compiled/policies.rvm`); the interpreter stays for
/// `lookalikes`, for a policy set the VM's compiler does not take (one without both sets, say),
/// and for a manifest the VM fails on, so that an evaluation error reads as the interpreter
/// words it.
pub struct Evaluator {
    /// The interpreter. `None` until first needed when the VM's program came precompiled
    /// (`deferred` then holds the org data and the clock to compile it with).
    engine: Option<regorus::Engine>,
    deferred: Option<(Value, Clock)>,
    vm: Option<regorus::rvm::RegoVM>,
    /// For the precompiled program: its data without the fold table, which it is given only
    /// for a manifest that needs it ([`needs_fold_table`]; building the table's 1,278 entries
    /// as a policy value was a tenth of `levee new`), and whether the VM holds the table now.
    vm_plain: Option<regorus::Value>,
    vm_folded: bool,
    /// For a policy set the VM is to run: how many more manifests the interpreter evaluates
    /// before the VM is compiled. `None`: no VM to compile (compiled already, or not ours).
    vm_after: Option<usize>,
}

/// Manifests an evaluator interprets before it compiles the VM, when the VM's program was not
/// compiled with levee (a bundle levee wrote, or levee's own policies edited since the program
/// was built). Compiling the VM costs about as much as interpreting a dozen manifests, so a run
/// that evaluates a few never compiles it.
const VM_AFTER: usize = 16;

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Evaluator")
    }
}

/// A regorus engine in Rego v1 mode with levee's `time.now_ns` (regorus's `time` builtins are
/// left out to keep the build small; the policies need only the clock).
pub(crate) fn new_engine() -> Result<regorus::Engine, PolicyError> {
    let mut engine = regorus::Engine::new();
    engine.set_rego_v0(false);
    engine
        .add_extension("time.now_ns".into(), 0, Box::new(|_| Ok(system_now_ns())))
        .map_err(compile_err)?;
    Ok(engine)
}

/// `time.now_ns()` from the system clock (through an f64, as the interpreter's extension has
/// always returned it).
fn system_now_ns() -> regorus::Value {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    regorus::Value::from(ns as i128 as f64 as i64)
}

// The VM judges levee's policies as OPA does only with the four fixes of the vendored regorus
// (vendor/regorus/LEVEE-PATCHES.md): levee does not build against a regorus without them.
const _: () = assert!(regorus::LEVEE_PATCHES.len() == 4);

/// levee's policies compiled to the VM's program when levee was built, `compiled/policies.rvm`:
/// the key of the modules and regorus it was compiled from ([`program_key`], 8 bytes, little
/// endian), then the program as regorus serialises it. A test keeps it equal to what the
/// embedded modules compile to (`LEVEE_UPDATE_PROGRAM=1 cargo test --lib committed_program`
/// rewrites it); a levee whose modules no longer match it (a policy edited since) ignores it.
static PROGRAM: &[u8] = include_bytes!("../../compiled/policies.rvm");

/// What the precompiled program depends on: the embedded modules, the vendored regorus's
/// patches and the entry points.
fn program_key(modules: &[(&str, &str)]) -> u64 {
    let mut h = Fnv::new();
    for (name, text) in modules {
        for part in [name.as_bytes(), b"\0", text.as_bytes(), b"\0"] {
            h.write(part);
        }
    }
    h.write(&regorus::LEVEE_PATCHES);
    for e in VM_ENTRY_POINTS {
        h.write(e.as_bytes());
    }
    h.0
}

/// The program of [`PROGRAM`]; `None` when it is not for these modules (checked once per
/// process). Reading it takes about a tenth of a millisecond, where parsing and compiling the
/// modules took one and a half (most of a one-manifest `levee check`). Each evaluator reads its
/// own copy: the VM clones the program's constants as it runs, and evaluators on two cores
/// sharing one program made `check` of 1,000 manifests 18% slower (their reference counts).
fn precompiled() -> Option<regorus::rvm::program::Program> {
    static CURRENT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let (key, bytes) = PROGRAM.split_first_chunk::<8>()?;
    if !*CURRENT.get_or_init(|| u64::from_le_bytes(*key) == program_key(&modules())) {
        return None;
    }
    match regorus::rvm::program::Program::deserialize_binary(bytes).ok()? {
        regorus::rvm::program::DeserializationResult::Complete(p) => Some(p),
        regorus::rvm::program::DeserializationResult::Partial(_) => None,
    }
}

/// The program levee's embedded modules compile to, with its key: what [`PROGRAM`] holds.
#[cfg(test)]
fn compile_program() -> Vec<u8> {
    let mut engine = Evaluator::compile_engine(&modules(), json!({}), Clock::System)
        .expect("the embedded modules compile");
    let policy = engine
        .compile_with_entrypoint(&VM_ENTRY_POINTS[0].into())
        .expect("compiles for the VM");
    let program =
        regorus::languages::rego::compiler::Compiler::compile_from_policy_with_host_await(
            &policy,
            &VM_ENTRY_POINTS,
            &[("time.now_ns", 0)],
        )
        .expect("compiles to a program");
    let mut out = program_key(&modules()).to_le_bytes().to_vec();
    out.extend(program.serialize_binary().expect("serialises"));
    out
}

/// Data documents merged as the interpreter merges what it is given (`Engine::add_data`).
fn merged_data(
    parts: impl IntoIterator<Item = regorus::Value>,
) -> Result<regorus::Value, PolicyError> {
    let mut merged = regorus::Engine::new();
    for part in parts {
        merged.add_data(part).map_err(compile_err)?;
    }
    Ok(merged.get_data())
}

/// Whether evaluating `input` may read the fold table (`data.levee.fold.table`). lib.rego reads
/// it only in `fold(name)`, for a dataset name of `data_access` that is a string and not a slug;
/// a name of only `a-z`, `0-9` and `-` folds to itself with or without the table (no such
/// character is in it: a unit test checks). Anything but a list of entries whose `dataset` is
/// absent, not a string, or such a name needs the table.
fn needs_fold_table(input: &regorus::Value) -> bool {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    match &input["data_access"] {
        regorus::Value::Undefined | regorus::Value::Null => false,
        regorus::Value::Array(entries) => entries.iter().any(|entry| match entry {
            regorus::Value::Object(_) => match &entry["dataset"] {
                regorus::Value::String(name) => !name.chars().all(plain),
                _ => false,
            },
            _ => true,
        }),
        _ => true,
    }
}

/// The rules the VM runs: the two sets, in the order of their [`Level`]s.
const VM_ENTRY_POINTS: [&str; 2] = ["data.levee.policy.deny", "data.levee.policy.warn"];

/// How many `time.now_ns()` calls one VM run may make before it gives way to the interpreter
/// (levee's policies make at most one: `now_ns` is a rule, computed once).
const VM_CLOCK_CALLS: usize = 8;

/// The bytecode VM for `deny` and `warn`, with `time.now_ns` answered by the host; `None` when
/// regorus's compiler does not take the policy set (the interpreter then does it all).
fn compile_vm(engine: &mut regorus::Engine, data: regorus::Value) -> Option<regorus::rvm::RegoVM> {
    let policy = engine
        .compile_with_entrypoint(&VM_ENTRY_POINTS[0].into())
        .ok()?;
    let program =
        regorus::languages::rego::compiler::Compiler::compile_from_policy_with_host_await(
            &policy,
            &VM_ENTRY_POINTS,
            &[("time.now_ns", 0)],
        )
        .ok()?;
    let mut vm = regorus::rvm::RegoVM::new();
    vm.set_strict_builtin_errors(true);
    vm.load_program(program);
    vm.set_data(data).ok()?;
    Some(vm)
}

pub(crate) fn clock_data(clock: Clock) -> Option<regorus::Value> {
    clock
        .now_ns()
        .map(|ns| regorus::Value::from(json!({"levee": {"clock": {"now_ns": ns as i64}}})))
}

impl Evaluator {
    /// Every embedded module, with the whole org config as data.
    ///
    /// `deny` and `warn` run on the program compiled when levee was built
    /// (`compiled/policies.rvm`); the interpreter is compiled only if needed (`lookalikes`, a
    /// manifest the VM fails on).
    /// Without a current program, the interpreter evaluates the first manifests and the VM is
    /// compiled after `VM_AFTER` (16) of them.
    pub fn embedded(org: &Org, clock: Clock) -> Result<Self, PolicyError> {
        // The data as `data(Some(org))` gives it, with the fold table added as a value parsed
        // once per process (converting it from JSON was a tenth of a one-manifest check).
        let org = json!({ "levee": { "org": org_data(org, None) } });
        if let Some(program) = precompiled() {
            let mut vm = regorus::rvm::RegoVM::new();
            vm.set_strict_builtin_errors(true);
            vm.load_program(std::sync::Arc::new(program));
            let plain = Self::vm_data(org.clone(), clock, false)?;
            vm.set_data(plain.clone()).map_err(compile_err)?;
            return Ok(Evaluator {
                engine: None,
                deferred: Some((org, clock)),
                vm: Some(vm),
                vm_plain: Some(plain),
                vm_folded: false,
                vm_after: None,
            });
        }
        let built = Evaluator {
            engine: Some(Self::embedded_engine(org, clock)?),
            deferred: None,
            vm: None,
            vm_plain: None,
            vm_folded: false,
            vm_after: Some(VM_AFTER),
        };
        Ok(built)
    }

    /// The interpreter for levee's own modules, with `org` (`{"levee": {"org": ...}}`), the
    /// fold table and the clock as data.
    fn embedded_engine(org: Value, clock: Clock) -> Result<regorus::Engine, PolicyError> {
        let mut engine = Self::compile_engine(&modules(), org, clock)?;
        engine.add_data(fold_data().clone()).map_err(compile_err)?;
        Ok(engine)
    }

    /// The data document the interpreter of [`Evaluator::embedded_engine`] holds, for the VM
    /// (without the fold table unless `fold`).
    fn vm_data(org: Value, clock: Clock, fold: bool) -> Result<regorus::Value, PolicyError> {
        let fold = fold.then(|| fold_data().clone());
        merged_data(
            [Some(regorus::Value::from(org)), fold, clock_data(clock)]
                .into_iter()
                .flatten(),
        )
    }

    /// The interpreter, compiled now if it was deferred.
    fn engine(&mut self) -> Result<&mut regorus::Engine, PolicyError> {
        if self.engine.is_none()
            && let Some((org, clock)) = self.deferred.take()
        {
            self.engine = Some(Self::embedded_engine(org, clock)?);
        }
        self.engine
            .as_mut()
            .ok_or_else(|| PolicyError::Compile("the policy engine is missing".into()))
    }

    /// Given modules (name, text) and data. The bytecode VM runs them only when every module is
    /// one of levee's own, as embedded or as this levee writes it into a bundle (`levee sync`):
    /// those are the modules whose verdicts are tested against OPA on both engines; any other
    /// Rego (an edited bundle, one from another levee version) is interpreted.
    pub fn new<'a>(
        modules: impl IntoIterator<Item = (&'a str, &'a str)>,
        data: Value,
        clock: Clock,
    ) -> Result<Self, PolicyError> {
        let given: Vec<(&str, &str)> = modules.into_iter().collect();
        let ours = self::modules();
        // A bundle's module is the embedded one under this levee's provenance line.
        let header = format!("# {}\n", provenance());
        let vm = given.iter().all(|(_, text)| {
            let text = text.strip_prefix(header.as_str()).unwrap_or(text);
            ours.iter().any(|(_, t)| *t == text)
        });
        let mut built = Self::build(&given, data, clock, false)?;
        built.vm_after = vm.then_some(VM_AFTER);
        Ok(built)
    }

    /// [`Evaluator::new`], with the VM or without.
    fn build(
        modules: &[(&str, &str)],
        data: Value,
        clock: Clock,
        vm: bool,
    ) -> Result<Self, PolicyError> {
        let mut engine = Self::compile_engine(modules, data, clock)?;
        let vm = if vm {
            let data = engine.get_data();
            compile_vm(&mut engine, data)
        } else {
            None
        };
        Ok(Evaluator {
            engine: Some(engine),
            deferred: None,
            vm,
            vm_plain: None,
            vm_folded: false,
            vm_after: None,
        })
    }

    /// An interpreter for `modules` with `data` and the clock.
    fn compile_engine(
        modules: &[(&str, &str)],
        data: Value,
        clock: Clock,
    ) -> Result<regorus::Engine, PolicyError> {
        let mut engine = new_engine()?;
        for (name, text) in modules {
            engine
                .add_policy(name.to_string(), text.to_string())
                .map_err(compile_err)?;
        }
        engine
            .add_data(regorus::Value::from(data))
            .map_err(compile_err)?;
        if let Some(c) = clock_data(clock) {
            engine.add_data(c).map_err(compile_err)?;
        }
        Ok(engine)
    }

    /// Compiles the VM now, for a policy set it is to run.
    fn compile_vm_now(&mut self) {
        if self.vm_after.take().is_some()
            && let Ok(engine) = self.engine()
        {
            let data = engine.get_data();
            self.vm = compile_vm(engine, data);
        }
    }

    /// The bundle in a directory (an app's `policy/`): its modules (not tests) and data files.
    pub fn from_dir(dir: &Path, clock: Clock) -> Result<Self, PolicyError> {
        let loaded = runner::load_dir(dir)?;
        let modules: Vec<(&str, &str)> = loaded
            .modules
            .iter()
            .filter(|(n, _)| !n.ends_with("_test.rego"))
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        Self::new(modules, loaded.data, clock)
    }

    /// The registered datasets an unregistered dataset name looks like, as this policy set judges
    /// it with its data (`lookalikes` in lib.rego: the same once case, spacing and Unicode
    /// compatibility forms are folded, or one edit away), sorted. For "did you mean" hints;
    /// empty for a registered name.
    pub fn lookalikes(&mut self, name: &str) -> Result<Vec<String>, PolicyError> {
        let eval = |e: anyhow::Error| PolicyError::Eval(e.to_string());
        let engine = self.engine()?;
        engine.set_input(regorus::Value::from(json!({"name": name})));
        let results = engine
            .eval_query(format!("x := data.{PACKAGE}.lookalikes(input.name)"), false)
            .map_err(eval)?;
        let mut out = Vec::new();
        if let Some(set) = results
            .result
            .first()
            .and_then(|r| r.bindings.as_object().ok())
            .and_then(|b| b.get(&regorus::Value::from("x")))
            && let Ok(set) = set.as_set()
        {
            out.extend(
                set.iter()
                    .filter_map(|v| v.as_string().ok().map(|s| s.to_string())),
            );
        }
        out.sort();
        Ok(out)
    }

    /// Evaluates one manifest (as JSON): the denials and warnings, sorted.
    pub fn evaluate(&mut self, input: &Value) -> Result<Vec<Finding>, PolicyError> {
        let eval = |e: anyhow::Error| PolicyError::Eval(e.to_string());
        let input = regorus::Value::from(input.clone());
        match self.vm_after {
            Some(0) => self.compile_vm_now(),
            Some(n) => self.vm_after = Some(n - 1),
            None => {}
        }
        let sets = match self.run_vm(&input) {
            Some(sets) => sets,
            None => self.interpret(input)?,
        };
        let mut out = Vec::new();
        for ((level, rule), v) in [(Level::Deny, "deny"), (Level::Warn, "warn")]
            .into_iter()
            .zip(sets)
        {
            if v == regorus::Value::Undefined {
                continue;
            }
            let json: Value = serde_json::from_str(&v.to_json_str().map_err(eval)?)
                .map_err(|e| PolicyError::Eval(e.to_string()))?;
            let items = match json {
                Value::Array(a) => a,
                Value::Null => Vec::new(),
                other => return Err(PolicyError::Eval(format!("`{rule}` is not a set: {other}"))),
            };
            for item in items {
                let text = |k: &str| {
                    item.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                out.push(Finding {
                    level,
                    id: text("id"),
                    msg: text("msg"),
                    hint: text("hint"),
                    field: text("field"),
                });
            }
        }
        out.sort();
        Ok(out)
    }

    /// `deny` and `warn` on the bytecode VM; `None` without a VM or when it fails (the
    /// interpreter then evaluates the manifest, and words any error).
    fn run_vm(&mut self, input: &regorus::Value) -> Option<[regorus::Value; 2]> {
        let vm = self.vm.as_mut()?;
        if let Some(plain) = &self.vm_plain {
            let fold = needs_fold_table(input);
            if fold != self.vm_folded {
                let data = if fold {
                    merged_data([plain.clone(), fold_data().clone()]).ok()?
                } else {
                    plain.clone()
                };
                vm.set_data(data).ok()?;
                self.vm_folded = fold;
            }
        }
        vm.set_input(input.clone());
        let now = system_now_ns();
        let mut sets = [regorus::Value::Undefined, regorus::Value::Undefined];
        for (set, entry) in sets.iter_mut().zip(VM_ENTRY_POINTS) {
            vm.set_host_await_responses([(
                regorus::Value::from("time.now_ns"),
                std::iter::repeat_n(now.clone(), VM_CLOCK_CALLS),
            )]);
            *set = vm.execute_entry_point_by_name(entry).ok()?;
        }
        Some(sets)
    }

    /// `deny` and `warn` on the interpreter.
    fn interpret(&mut self, input: regorus::Value) -> Result<[regorus::Value; 2], PolicyError> {
        let eval = |e: anyhow::Error| PolicyError::Eval(e.to_string());
        let engine = self.engine()?;
        engine.set_input(input);
        // Both sets in one query, so the helper rules they share are evaluated once.
        let results = engine
            .eval_query(
                format!("deny := data.{PACKAGE}.deny; warn := data.{PACKAGE}.warn"),
                false,
            )
            .map_err(eval)?;
        let bindings = results
            .result
            .first()
            .and_then(|r| r.bindings.as_object().ok().cloned());
        let mut sets = [regorus::Value::Undefined, regorus::Value::Undefined];
        for (set, rule) in sets.iter_mut().zip(["deny", "warn"]) {
            // A bundle that defines only one of the sets leaves the query without a result:
            // then each set on its own (an undefined one holds nothing).
            *set = match &bindings {
                Some(b) => b
                    .get(&regorus::Value::from(rule))
                    .cloned()
                    .unwrap_or(regorus::Value::Undefined),
                None => engine
                    .eval_rule(format!("data.{PACKAGE}.{rule}"))
                    .map_err(eval)?,
            };
        }
        Ok(sets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    /// The org config the policy corpus is judged with.
    fn corpus_org() -> Org {
        crate::load::document::load(&root().join("tests/policy/levee.org.yaml"))
            .expect("corpus org config")
            .value
    }

    /// The policy corpus's manifests, sorted.
    fn corpus_files() -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(root().join("tests/policy/corpus"))
            .expect("corpus")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn pointers_from_fields() {
        let f = |field: &str| Finding {
            level: Level::Deny,
            id: String::new(),
            msg: String::new(),
            hint: String::new(),
            field: field.into(),
        };
        assert_eq!(
            f("data_access[0].dataset").pointer(),
            "/data_access/0/dataset"
        );
        assert_eq!(f("runtime.egress[2]").pointer(), "/runtime/egress/2");
        assert_eq!(f("owner").pointer(), "/owner");
    }

    /// Both engines of an [`Evaluator`] on one manifest: the VM's sets and the interpreter's.
    fn both_engines(eval: &mut Evaluator, input: &Value) -> [[regorus::Value; 2]; 2] {
        let input = regorus::Value::from(input.clone());
        let vm = eval.run_vm(&input).expect("the VM evaluates the manifest");
        let interpreted = eval.interpret(input).expect("the interpreter evaluates it");
        [vm, interpreted]
    }

    #[test]
    fn the_vm_and_the_interpreter_agree_on_the_policy_corpus() {
        let root = root();
        let org = corpus_org();
        let today = crate::model::manifest::Date::parse("2026-03-01").expect("date");
        let files = corpus_files();
        assert!(files.len() > 50, "{} corpus manifests", files.len());
        for clock in [Clock::Fixed(today), Clock::System] {
            let mut eval = Evaluator::embedded(&org, clock).expect("compiles");
            assert!(
                eval.vm.is_some(),
                "levee's policies run on the precompiled program"
            );
            assert!(
                eval.engine.is_none(),
                "the interpreter is compiled when needed"
            );
            assert!(eval.vm.is_some(), "levee's policies compile to the VM");
            let mut findings = 0;
            for file in &files {
                let text = std::fs::read_to_string(file).expect("read");
                let doc = crate::load::yaml::parse(&text).expect("YAML").value;
                let [vm, interpreted] = both_engines(&mut eval, &doc);
                assert_eq!(vm, interpreted, "{} ({clock:?})", file.display());
                findings += eval.evaluate(&doc).expect("evaluates").len();
            }
            assert!(findings > 50, "{findings} findings over the corpus");
        }
        // A bundle levee writes runs on the VM too; an edited one is interpreted.
        let manifest: Manifest = crate::load::document::load(
            &root.join("tests/policy/corpus/clean-confidential-sandbox.yaml"),
        )
        .expect("valid")
        .value;
        let dir = tempfile::tempdir().expect("tempdir");
        write_files(dir.path(), &bundle(&manifest, &org)).expect("bundle written");
        let policy = dir.path().join(BUNDLE_DIR);
        assert!(
            Evaluator::from_dir(&policy, Clock::Fixed(today))
                .expect("loads")
                .vm_after
                .is_some()
        );
        let lib = policy.join("lib.rego");
        let text = std::fs::read_to_string(&lib).expect("read") + "\n# edited\n";
        std::fs::write(&lib, text).expect("write");
        let edited = Evaluator::from_dir(&policy, Clock::Fixed(today)).expect("loads");
        assert!(edited.vm.is_none() && edited.vm_after.is_none());
    }

    /// The bundle's fold data file is the fold table as JSON values would print, and
    /// `compiled/fold-table.json` is its table as printed from `policies/fold.json` now.
    /// `LEVEE_UPDATE_PROGRAM=1` rewrites the committed text.
    #[test]
    fn committed_fold_table_is_the_fold_table_printed() {
        let printed = fold_file_printed();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("compiled/fold-table.json");
        if std::env::var_os("LEVEE_UPDATE_PROGRAM").is_some() {
            let start = printed.find("\"table\": ").expect("a table") + "\"table\": ".len();
            let end = printed.rfind("\n}").expect("the end");
            std::fs::write(&path, format!("{}\n", &printed[start..end])).expect("write");
            return;
        }
        assert!(
            fold_file() == &printed,
            "{} is stale: run `LEVEE_UPDATE_PROGRAM=1 cargo test --lib committed_fold` and commit it",
            path.display()
        );
        let fold = json!({"generated": provenance(), "table": fold_table()});
        assert!(fold_table().as_object().is_some_and(|t| t.len() > 1000));
        assert_eq!(fold_file(), &visible(pretty(&fold)));
    }

    /// The embedded evaluator's data (the fold table added as a value parsed once) is the
    /// document `data(Some(org))` describes, which `levee sync` writes into bundles.
    #[test]
    fn embedded_data_is_the_data_document() {
        let org = corpus_org();
        let today = crate::model::manifest::Date::parse("2026-03-01").expect("date");
        for clock in [Clock::System, Clock::Fixed(today)] {
            let described =
                Evaluator::build(&modules(), data(Some(&org)), clock, false).expect("compiles");
            let described = described.engine.as_ref().expect("interpreter").get_data();
            let org = json!({ "levee": { "org": org_data(&org, None) } });
            let vm = Evaluator::vm_data(org.clone(), clock, true).expect("data");
            assert!(
                vm["levee"]["fold"]["table"]
                    .as_object()
                    .is_ok_and(|t| t.len() > 1000),
                "the fold table is there"
            );
            assert_eq!(vm, described);
            let interpreter = Evaluator::embedded_engine(org, clock).expect("compiles");
            assert_eq!(interpreter.get_data(), described);
        }
    }

    /// The VM is given the fold table only for a manifest whose dataset names need folding; the
    /// names that do not fold to themselves without it. Judged as the interpreter (which always
    /// has it) judges, back and forth between the two.
    #[test]
    fn the_fold_table_is_given_to_the_vm_when_a_name_needs_it() {
        let table = fold_table().as_object().expect("the fold table");
        assert!(table.len() > 1000);
        for key in table.keys() {
            assert!(
                !key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{key:?} folds: a name made of such characters would need the table"
            );
        }
        let root = root();
        let org = corpus_org();
        let mut eval = Evaluator::embedded(&org, Clock::System).expect("compiles");
        assert!(eval.vm_plain.is_some(), "the precompiled program is in use");
        let base = crate::load::yaml::parse(
            &std::fs::read_to_string(root.join("tests/policy/corpus/data-dataset-wrong-case.yaml"))
                .expect("read"),
        )
        .expect("YAML")
        .value;
        let with = |names: &[&str]| {
            let entries: Vec<Value> = names
                .iter()
                .map(|n| json!({"dataset": n, "access_level": "read", "purpose": "reporting"}))
                .collect();
            let mut m = base.clone();
            m["data_access"] = Value::Array(entries);
            m
        };
        let cases = [
            (with(&["payroll"]), false),
            (with(&["Payroll"]), true),
            (with(&["payrol"]), false),
            (with(&["ｐａｙｒｏｌｌ", "payroll"]), true),
            (with(&["pay roll"]), true),
            (with(&["-payroll--"]), false),
            (with(&[]), false),
            (json!({"data_access": {"a": {"dataset": "Payroll"}}}), true),
        ];
        // Entries that are not objects: the table, to be safe (the policies error on these).
        assert!(needs_fold_table(&regorus::Value::from(
            json!({"data_access": ["payroll"]})
        )));
        let mut denials = 0;
        for (input, needs) in cases.iter().chain(cases.iter().rev()) {
            let value = regorus::Value::from(input.clone());
            assert_eq!(needs_fold_table(&value), *needs, "{input}");
            let [vm, interpreted] = both_engines(&mut eval, input);
            assert_eq!(vm, interpreted, "{input}");
            assert_eq!(eval.vm_folded, *needs);
            denials += eval.evaluate(input).expect("evaluates").len();
        }
        assert!(denials > 0);
    }

    /// `compiled/policies.rvm` is what the embedded modules compile to now, so that levee runs
    /// them on it. `LEVEE_UPDATE_PROGRAM=1` rewrites it.
    #[test]
    fn committed_program_is_what_the_modules_compile_to() {
        let fresh = compile_program();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("compiled/policies.rvm");
        if std::env::var_os("LEVEE_UPDATE_PROGRAM").is_some() {
            std::fs::write(&path, &fresh).expect("write the program");
            return;
        }
        assert!(
            PROGRAM == fresh.as_slice(),
            "{} is stale: run `LEVEE_UPDATE_PROGRAM=1 cargo test --lib committed_program` and commit it",
            path.display()
        );
        assert!(precompiled().is_some(), "the committed program is read");
        // A module edited since the program was compiled: the program is not for it.
        let mut edited = modules();
        edited[0].1 = "package levee.policy\n";
        assert_ne!(program_key(&edited), program_key(&modules()));
    }

    /// An evaluator interprets its first manifests, then compiles the VM and runs the rest on
    /// it: the findings are those of the interpreter throughout.
    #[test]
    fn the_vm_takes_over_after_the_first_manifests_with_the_same_findings() {
        let org = corpus_org();
        let clock = Clock::Fixed(crate::model::manifest::Date::parse("2026-03-01").expect("date"));
        // An evaluator without the precompiled program (as for a bundle levee wrote).
        let mut lazy = Evaluator::new(modules(), data(Some(&org)), clock).expect("compiles");
        assert_eq!(lazy.vm_after, Some(VM_AFTER));
        let mut interpreter =
            Evaluator::build(&modules(), data(Some(&org)), clock, false).expect("compiles");
        let files = corpus_files();
        assert!(
            files.len() > VM_AFTER * 2,
            "{} corpus manifests",
            files.len()
        );
        for (i, file) in files.iter().enumerate() {
            let text = std::fs::read_to_string(file).expect("read");
            let doc = crate::load::yaml::parse(&text).expect("YAML").value;
            assert_eq!(
                lazy.evaluate(&doc).expect("evaluates"),
                interpreter.evaluate(&doc).expect("evaluates"),
                "{}",
                file.display()
            );
            assert_eq!(
                lazy.vm.is_some(),
                i >= VM_AFTER,
                "after {} manifests",
                i + 1
            );
        }
        assert!(interpreter.vm.is_none());
    }

    /// regorus 0.14.1's VM differed from OPA (and from its own interpreter) here; the vendored
    /// copy (vendor/regorus, LEVEE-PATCHES.md) fixes each. A regorus without the fixes fails.
    #[test]
    fn the_vm_evaluates_undefined_values_as_opa_does() {
        let module = r#"package levee.policy

# An `else` after a body whose value is undefined.
first := t if {
	t := data.nothing.here
} else := "else"

pick(xs) := t if {
	t := xs[0]
} else := "none"

# A binding of an undefined value fails the body, even before a `not`.
negated if {
	x := input.absent
	not startswith(x, "a")
}

# A partial object skips an undefined value.
names[i] := name if {
	some i, item in input.items
	name := item.name
}

deny contains ["first", first]
deny contains ["pick", pick([])]
deny contains ["negated"] if negated
deny contains ["names", names]
deny contains ["clock", time.now_ns() > 0]

warn contains "none" if false
"#;
        let mut eval = Evaluator::build(&[("t.rego", module)], json!({}), Clock::System, true)
            .expect("compiles");
        assert!(eval.vm.is_some(), "the module compiles to the VM");
        let input = json!({"items": [{"name": "a"}, {"other": 1}]});
        let [vm, interpreted] = both_engines(&mut eval, &input);
        assert_eq!(vm, interpreted);
        let deny: Value = serde_json::from_str(&vm[0].to_json_str().expect("json")).expect("json");
        assert_eq!(
            deny,
            json!([
                ["clock", true],
                ["first", "else"],
                ["names", {"0": "a"}],
                ["pick", "none"],
            ])
        );
    }

    #[test]
    fn a_vm_error_is_worded_by_the_interpreter() {
        let module =
            "package levee.policy\n\ndeny contains lower(input.x)\n\nwarn contains 1 if false\n";
        let mut eval = Evaluator::build(&[("t.rego", module)], json!({}), Clock::System, true)
            .expect("compiles");
        assert!(eval.vm.is_some());
        let other =
            Evaluator::new([("t.rego", module)], json!({}), Clock::System).expect("compiles");
        assert!(
            other.vm.is_none(),
            "Rego that is not levee's is interpreted"
        );
        let input = json!({"x": null});
        assert!(eval.run_vm(&regorus::Value::from(input.clone())).is_none());
        let err = eval.evaluate(&input).expect_err("lower(null) is an error");
        assert!(err.to_string().contains("lower"), "{err}");
    }

    #[test]
    fn lookalikes_come_from_the_policy() {
        let mut org = Org::default();
        for name in ["payroll", "expenses"] {
            org.datasets.insert(
                name.into(),
                crate::model::org::Dataset {
                    classification: Classification::Confidential,
                    allowed_access: vec![crate::model::manifest::AccessLevel::Read],
                },
            );
        }
        let mut eval = Evaluator::embedded(&org, Clock::System).expect("compiles");
        for (name, want) in [
            ("Payroll", vec!["payroll"]),
            ("payroll ", vec!["payroll"]),
            ("ｐａｙｒｏｌｌ", vec!["payroll"]),
            ("expense", vec!["expenses"]),
            ("payroll", vec![]),
            ("weather", vec![]),
        ] {
            assert_eq!(eval.lookalikes(name).expect("evaluates"), want, "{name}");
        }
    }

    #[test]
    fn rule_catalog_has_ids() {
        let rules = rules();
        assert!(rules.len() >= 20, "{rules:?}");
        assert!(
            rules
                .iter()
                .any(|r| r.id == "DATA-001" && r.severity == Level::Deny)
        );
        assert!(
            rules
                .iter()
                .any(|r| r.id == "DATA-005" && r.severity == Level::Warn)
        );
    }

    #[test]
    fn every_metadata_block_describes_its_rule() {
        for (name, text) in modules() {
            module_rules(name, text).unwrap_or_else(|e| panic!("{e}"));
        }
        let block = |meta: &str, head: &str| {
            format!("# METADATA\n{meta}\n{head}\n\tfinding := {{\"id\": \"X-001\"}}\n}}\n")
        };
        let ok = block(
            "# title: t\n# custom:\n#   id: X-001\n#   severity: deny",
            "deny contains finding if {",
        );
        assert_eq!(module_rules("m", &ok).map(|r| r.len()), Ok(1));
        for (meta, head, why) in [
            (
                "# title: t\n# custom:\n#   id: X-001\n#   severity: warn",
                "deny contains finding if {",
                "is a warn rule",
            ),
            (
                "# title: t\n# custom:\n#   severity: deny",
                "deny contains finding if {",
                "no `custom.id`",
            ),
            (
                "# custom:\n#   id: X-001\n#   severity: deny",
                "deny contains finding if {",
                "no `title`",
            ),
            (
                "# title: [t\n# custom: {id: X-001, severity: deny}",
                "deny contains finding if {",
                "METADATA",
            ),
            (
                "# title: t\n# custom:\n#   id: X-002\n#   severity: deny",
                "deny contains finding if {",
                "no finding X-002",
            ),
        ] {
            let err = module_rules("m", &block(meta, head)).expect_err(why);
            assert!(err.contains(why), "{err}");
        }
    }
}
