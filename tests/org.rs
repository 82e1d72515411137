//! The org config: the example is valid, defaults fill in, errors are located.

mod common;

use std::path::Path;

use common::levee;
use levee::document;
use levee::manifest::{Classification, Cpu, Tier};
use levee::org::{self, Org};

fn org_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join(org::FILE_NAME);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn the_documented_example_is_valid_and_means_what_it_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text =
        std::fs::read_to_string(common::root().join("tests/org/issue-example.levee.org.yaml"))
            .expect("read");
    let path = org_file(dir.path(), &text);
    let org = document::load::<Org>(&path).expect("valid").value;
    assert_eq!(org.org, "acme");
    assert!(org.owner_domain_allowed("jane@acme.corp"));
    assert!(!org.owner_domain_allowed("jane@gmail.com"));
    assert_eq!(
        org.dataset_classification("expenses"),
        Classification::Confidential
    );
    assert_eq!(
        org.dataset_classification("office-locations"),
        Classification::Public
    );
    assert_eq!(
        org.dataset_classification("unknown"),
        Classification::Confidential
    );
    assert!(org.egress_approved("hr.internal.acme.corp"));
    assert_eq!(org.tier(Tier::Sandbox).max_cpu, Some(Cpu(1000)));
    levee().arg("validate").arg(&path).assert().code(0);
}

#[test]
fn missing_keys_take_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = org_file(
        dir.path(),
        "org: tiny\ntiers:\n  prototype: {max_cpu: 250m}\n",
    );
    let org = document::load::<Org>(&path).expect("valid").value;
    let proto = org.tier(Tier::Prototype);
    assert_eq!(proto.max_cpu, Some(Cpu(250)));
    assert_eq!(proto.max_lifetime_days, Some(90));
    assert_eq!(proto.default_lifetime_days, Some(30));
    assert_eq!(org.escalation.active_users_month, 1000);
    assert!(org.owner_domains.is_empty());
}

#[test]
fn unknown_keys_and_bad_values_are_located() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = org_file(
        dir.path(),
        "org: acme\nowner_domain: [acme.corp]\ntiers:\n  prototype: {max_memory: 512MB, default_lifetime_days: 120}\n",
    );
    let out = levee().arg("validate").arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).replace(&path.display().to_string(), "levee.org.yaml");
    snap!("org-invalid", text);
}

#[test]
fn resolution_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("apps/one");
    std::fs::create_dir_all(&app).expect("mkdir");
    // Nothing found: the embedded default.
    let r = org::resolve(None, &app).expect("default");
    assert_eq!(r.source, org::OrgSource::Default);
    // Found walking up.
    let found = org_file(dir.path(), "org: walked\n");
    let r = org::resolve(None, &app).expect("walked");
    assert_eq!(r.org.org, "walked");
    assert_eq!(
        r.source,
        org::OrgSource::File(std::path::absolute(&found).expect("abs"))
    );
    // Explicit wins.
    let explicit = dir.path().join("other.yaml");
    std::fs::write(&explicit, "org: explicit\n").expect("write");
    let r = org::resolve(Some(&explicit), &app).expect("explicit");
    assert_eq!(r.org.org, "explicit");
}
