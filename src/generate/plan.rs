//! The gate plan: which CI gates an app gets, decided by one table in one place.
//!
//! [`plan`] is a pure function of the app's classification, tier, stack and data access (read
//! through the org's dataset registry). The CI renderers (`pipeline`) only lay the plan out as
//! GitHub Actions or GitLab CI; they decide nothing.
//!
//! | profile | when | jobs | SCA blocks on | SBOM | deploy | after deploy |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | preflight | prototype with public/internal data | `preflight` (validate, drift, upgrade conflicts, policy, secrets, SCA) and `build` in parallel | CRITICAL | no | sandbox, default branch | smoke test |
//! | full gate | sandbox or production tier, or confidential/restricted data | validate (with drift and upgrade conflicts), policy, secrets, SCA, SBOM and build in parallel, then deploy | CRITICAL, HIGH | kept as artifact | tier's environment, default branch, protected | smoke test, telemetry check |
//! | + restricted | restricted data | as full gate | CRITICAL, HIGH | kept 90 days | manual approval first | as full gate |

use serde::Serialize;

use crate::model::manifest::{Classification, Manifest, Stack, Tier};
use crate::model::org::Org;

/// How much of the gate an app gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A prototype touching nothing sensitive: a fast preflight in one job, plus build/test.
    Preflight,
    /// Independent scans in parallel, SBOM, protected deploy, smoke and telemetry checks.
    FullGate,
}

/// One check or action in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gate {
    /// `levee validate`: the manifest's schema and meaning.
    Validate,
    /// `levee sync --check`: managed files match `app.yaml`.
    Drift,
    /// `levee upgrade --check-conflicts`: no conflict markers left by a template upgrade.
    Conflicts,
    /// `levee check`: the policy gate, in-process.
    Policy,
    /// `opa test policy/` and the `deny` query with the reference OPA.
    Opa,
    /// gitleaks over the full history.
    Secrets,
    /// trivy over the repository's dependencies.
    Sca,
    /// `levee sbom`, kept as an artifact.
    Sbom,
    /// Install from the lock file, run the app's tests.
    Build,
    /// A reviewer approves before deploy (restricted apps).
    Approval,
    /// Deploy into the tier's environment.
    Deploy,
    /// Smoke test the deployed app.
    Smoke,
    /// Check the deployed app's telemetry arrives.
    Telemetry,
}

/// The program that runs a gate. A GitLab job has one image, so a job holding gates of several
/// tools is split per tool there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    Levee,
    Opa,
    Gitleaks,
    Trivy,
    Stack,
    Deploy,
}

impl Gate {
    pub(crate) fn tool(self) -> Tool {
        match self {
            Gate::Validate | Gate::Drift | Gate::Conflicts | Gate::Policy | Gate::Sbom => {
                Tool::Levee
            }
            Gate::Opa => Tool::Opa,
            Gate::Secrets => Tool::Gitleaks,
            Gate::Sca => Tool::Trivy,
            Gate::Build => Tool::Stack,
            Gate::Approval | Gate::Deploy | Gate::Smoke | Gate::Telemetry => Tool::Deploy,
        }
    }
}

/// Pipeline stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Preflight,
    Scan,
    Build,
    Deploy,
    Verify,
}

/// A vulnerability severity, as trivy spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrivySeverity {
    Critical,
    High,
}

impl TrivySeverity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TrivySeverity::Critical => "CRITICAL",
            TrivySeverity::High => "HIGH",
        }
    }
}

/// A job: gates that run together, on one runner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: &'static str,
    pub name: &'static str,
    pub stage: Stage,
    pub gates: Vec<Gate>,
    /// Jobs that must succeed first.
    pub needs: Vec<&'static str>,
    pub timeout_minutes: u32,
    /// A failure fails the pipeline (otherwise it is reported and the pipeline goes on).
    pub blocking: bool,
    /// Runs only on the default branch (deploy and what follows it).
    pub default_branch_only: bool,
}

/// Where and how the app is deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deploy {
    /// The protected environment (`sandbox`, `production`).
    pub environment: &'static str,
    /// A reviewer must approve each deploy.
    pub approval: bool,
}

/// The gate plan for one app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatePlan {
    pub profile: Profile,
    /// The classification the plan was decided on: the app's, raised by the datasets it reads.
    pub classification: Classification,
    pub tier: Tier,
    pub stack: Stack,
    /// Why the plan is what it is, one line each.
    pub reasons: Vec<String>,
    pub jobs: Vec<Job>,
    /// Severities the SCA scan blocks on.
    pub sca_severities: Vec<TrivySeverity>,
    /// Days CI keeps artifacts (SBOM, reports).
    pub retention_days: u32,
    pub deploy: Deploy,
    /// Most jobs that run at once.
    pub parallelism: usize,
}

impl GatePlan {
    #[cfg(test)]
    pub(crate) fn has(&self, gate: Gate) -> bool {
        self.jobs.iter().any(|j| j.gates.contains(&gate))
    }

    pub(crate) fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// Stages that have a job, in order.
    pub(crate) fn stages(&self) -> Vec<Stage> {
        let mut s: Vec<Stage> = self.jobs.iter().map(|j| j.stage).collect();
        s.sort();
        s.dedup();
        s
    }
}

/// The classification an app is gated at: its own, raised to that of any dataset it touches.
pub(crate) fn effective_classification(
    manifest: &Manifest,
    org: &Org,
) -> (Classification, Vec<String>) {
    let mut c = manifest.classification;
    let mut reasons = Vec::new();
    for access in &manifest.data_access {
        let dc = org.dataset_classification(&access.dataset, manifest.classification);
        if dc > c {
            reasons.push(format!(
                "dataset `{}` is {dc}, above the app's `{}`",
                access.dataset, manifest.classification
            ));
            c = dc;
        }
    }
    (c, reasons)
}

/// The plan for a manifest under an org config.
pub fn for_manifest(manifest: &Manifest, org: &Org) -> GatePlan {
    let (classification, mut reasons) = effective_classification(manifest, org);
    let stack = manifest
        .stack
        .clone()
        .unwrap_or_else(|| Stack::from("node"));
    let mut p = plan(classification, manifest.lifecycle.tier, stack);
    reasons.append(&mut p.reasons);
    p.reasons = reasons;
    p
}

/// The table: (classification, tier, stack) -> plan.
pub(crate) fn plan(classification: Classification, tier: Tier, stack: Stack) -> GatePlan {
    use Classification as C;
    let sensitive = classification >= C::Confidential;
    let profile = if tier == Tier::Prototype && !sensitive {
        Profile::Preflight
    } else {
        Profile::FullGate
    };
    let mut reasons = vec![match (profile, sensitive) {
        (Profile::Preflight, _) => "prototype with non-sensitive data: fast preflight".to_string(),
        (Profile::FullGate, true) => format!("{classification} data: full gate"),
        (Profile::FullGate, false) => format!("{tier} tier: full gate"),
    }];
    let environment = environment(tier);
    let approval = classification == C::Restricted;
    if approval {
        reasons.push("restricted data: a reviewer approves every deploy".to_string());
    }
    let jobs = match profile {
        Profile::Preflight => preflight_jobs(),
        // A sandbox app whose telemetry is not wired yet is told so, not blocked.
        Profile::FullGate => full_gate_jobs(approval, tier == Tier::Production || sensitive),
    };
    let parallelism = jobs.iter().filter(|j| j.needs.is_empty()).count();
    GatePlan {
        profile,
        classification,
        tier,
        stack,
        reasons,
        jobs,
        sca_severities: match profile {
            Profile::Preflight => vec![TrivySeverity::Critical],
            Profile::FullGate => vec![TrivySeverity::Critical, TrivySeverity::High],
        },
        retention_days: if approval { 90 } else { 30 },
        deploy: Deploy {
            environment,
            approval,
        },
        parallelism,
    }
}

/// A blocking job; deploy and verify jobs run only on the default branch.
fn job(
    id: &'static str,
    name: &'static str,
    stage: Stage,
    gates: &[Gate],
    needs: &[&'static str],
    timeout: u32,
) -> Job {
    Job {
        id,
        name,
        stage,
        gates: gates.to_vec(),
        needs: needs.to_vec(),
        timeout_minutes: timeout,
        blocking: true,
        default_branch_only: matches!(stage, Stage::Deploy | Stage::Verify),
    }
}

/// The fast preflight: every check in one job, then build, then deploy to the sandbox.
fn preflight_jobs() -> Vec<Job> {
    vec![
        job(
            "preflight",
            "Preflight",
            Stage::Preflight,
            &[
                Gate::Validate,
                Gate::Drift,
                Gate::Conflicts,
                Gate::Policy,
                Gate::Opa,
                Gate::Secrets,
                Gate::Sca,
            ],
            &[],
            10,
        ),
        job(
            "build",
            "Build and test",
            Stage::Build,
            &[Gate::Build],
            &[],
            15,
        ),
        job(
            "deploy",
            "Deploy to sandbox",
            Stage::Deploy,
            &[Gate::Deploy, Gate::Smoke],
            &["preflight", "build"],
            15,
        ),
    ]
}

/// The full gate: each check its own job, an approval job when `approval`, deploy, and a verify
/// job (smoke test and telemetry) that blocks when `verify_blocking`.
fn full_gate_jobs(approval: bool, verify_blocking: bool) -> Vec<Job> {
    let gates = ["validate", "policy", "secrets", "sca", "sbom", "build"];
    let mut jobs = vec![
        job(
            "validate",
            "Manifest and drift",
            Stage::Preflight,
            &[Gate::Validate, Gate::Drift, Gate::Conflicts],
            &[],
            10,
        ),
        job(
            "policy",
            "Policy",
            Stage::Preflight,
            &[Gate::Policy, Gate::Opa],
            &[],
            10,
        ),
        job(
            "secrets",
            "Secrets scan",
            Stage::Scan,
            &[Gate::Secrets],
            &[],
            15,
        ),
        job(
            "sca",
            "Vulnerability scan",
            Stage::Scan,
            &[Gate::Sca],
            &[],
            15,
        ),
        job("sbom", "SBOM", Stage::Scan, &[Gate::Sbom], &[], 10),
        job(
            "build",
            "Build and test",
            Stage::Build,
            &[Gate::Build],
            &[],
            20,
        ),
    ];
    let mut deploy_needs = gates.to_vec();
    if approval {
        jobs.push(job(
            "approval",
            "Approval",
            Stage::Deploy,
            &[Gate::Approval],
            &gates,
            60,
        ));
        deploy_needs = vec!["approval"];
    }
    jobs.push(job(
        "deploy",
        "Deploy",
        Stage::Deploy,
        &[Gate::Deploy],
        &deploy_needs,
        30,
    ));
    let mut verify = job(
        "verify",
        "Smoke test and telemetry",
        Stage::Verify,
        &[Gate::Smoke, Gate::Telemetry],
        &["deploy"],
        15,
    );
    verify.blocking = verify_blocking;
    jobs.push(verify);
    jobs
}

/// The deploy environment of a tier: prototypes and sandbox apps share `sandbox`. The pipeline's
/// `LEVEE_APP_URL` and the sandbox's `APP_BASE_URL` both fill `{environment}` with it.
pub(crate) fn environment(tier: Tier) -> &'static str {
    match tier {
        Tier::Prototype | Tier::Sandbox => "sandbox",
        Tier::Production => "production",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Classification::*;
    use Tier::*;

    fn row(c: Classification, t: Tier) -> (Profile, Vec<&'static str>, &'static str, bool, u32) {
        let p = plan(c, t, Stack::from("node"));
        let sev = p.sca_severities.iter().map(|s| s.as_str()).collect();
        (
            p.profile,
            sev,
            p.deploy.environment,
            p.deploy.approval,
            p.retention_days,
        )
    }

    #[test]
    fn the_table() {
        use Profile::*;
        let crit = vec!["CRITICAL"];
        let high = vec!["CRITICAL", "HIGH"];
        // classification, tier          profile    SCA blocks on  environment   approval  days
        assert_eq!(
            row(Public, Prototype),
            (Preflight, crit.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Internal, Prototype),
            (Preflight, crit.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Confidential, Prototype),
            (FullGate, high.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Restricted, Prototype),
            (FullGate, high.clone(), "sandbox", true, 90)
        );
        assert_eq!(
            row(Public, Sandbox),
            (FullGate, high.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Internal, Sandbox),
            (FullGate, high.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Confidential, Sandbox),
            (FullGate, high.clone(), "sandbox", false, 30)
        );
        assert_eq!(
            row(Restricted, Sandbox),
            (FullGate, high.clone(), "sandbox", true, 90)
        );
        assert_eq!(
            row(Public, Production),
            (FullGate, high.clone(), "production", false, 30)
        );
        assert_eq!(
            row(Internal, Production),
            (FullGate, high.clone(), "production", false, 30)
        );
        assert_eq!(
            row(Confidential, Production),
            (FullGate, high.clone(), "production", false, 30)
        );
        assert_eq!(
            row(Restricted, Production),
            (FullGate, high, "production", true, 90)
        );
    }

    #[test]
    fn prototype_is_two_jobs_before_deploy() {
        let p = plan(Internal, Prototype, Stack::from("python"));
        let ids: Vec<_> = p.jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids, ["preflight", "build", "deploy"]);
        assert_eq!(p.parallelism, 2);
        assert!(!p.has(Gate::Sbom), "prototype SBOM stage is absent");
        assert!(!p.has(Gate::Telemetry));
        assert!(p.jobs.iter().all(|j| j.timeout_minutes <= 15));
        assert!(p.job("deploy").is_some_and(|j| j.default_branch_only));
    }

    #[test]
    fn full_gate_runs_scans_in_parallel_then_deploys() {
        let p = plan(Confidential, Production, Stack::from("node"));
        assert_eq!(p.parallelism, 6);
        for gate in [
            Gate::Validate,
            Gate::Drift,
            Gate::Conflicts,
            Gate::Policy,
            Gate::Opa,
            Gate::Secrets,
        ] {
            assert!(p.has(gate), "{gate:?}");
        }
        assert!(p.has(Gate::Sbom) && p.has(Gate::Smoke) && p.has(Gate::Telemetry));
        let deploy = p.job("deploy").expect("deploy");
        assert_eq!(
            deploy.needs,
            ["validate", "policy", "secrets", "sca", "sbom", "build"]
        );
        assert!(!p.has(Gate::Approval));
        assert!(p.job("verify").is_some_and(|j| j.blocking));
    }

    #[test]
    fn restricted_waits_for_approval() {
        let p = plan(Restricted, Production, Stack::from("node"));
        assert_eq!(
            p.job("deploy").map(|j| j.needs.clone()),
            Some(vec!["approval"])
        );
        assert!(p.job("approval").is_some_and(|j| j.needs.len() == 6));
    }

    #[test]
    fn sandbox_telemetry_warns_production_blocks() {
        assert!(
            !plan(Internal, Sandbox, Stack::from("node"))
                .job("verify")
                .is_some_and(|j| j.blocking)
        );
        assert!(
            plan(Internal, Production, Stack::from("node"))
                .job("verify")
                .is_some_and(|j| j.blocking)
        );
    }

    #[test]
    fn every_need_names_an_earlier_job() {
        for c in Classification::ALL {
            for t in Tier::ALL {
                let p = plan(*c, *t, Stack::from("node"));
                for (i, j) in p.jobs.iter().enumerate() {
                    for n in &j.needs {
                        assert!(p.jobs[..i].iter().any(|e| e.id == *n), "{c} {t}: {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn datasets_raise_the_classification() {
        let mut org = Org::default();
        org.datasets.insert(
            "payroll".into(),
            crate::model::org::Dataset {
                classification: Restricted,
                allowed_access: vec![],
            },
        );
        let text = "name: pay\nowner: a@b.co\nclassification: internal\nlifecycle: {tier: prototype}\ndata_access: [{dataset: payroll, access_level: read}]\n";
        let m: Manifest = serde_norway::from_str(text).expect("manifest");
        let p = for_manifest(&m, &org);
        assert_eq!(p.classification, Restricted);
        assert_eq!(p.profile, Profile::FullGate);
        assert!(p.reasons[0].contains("payroll"), "{:?}", p.reasons);
    }
}
