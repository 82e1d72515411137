//! `levee sbom` on real lock files made by the real package managers (tests/fixtures/sbom/),
//! checked against the reference tools' purl sets and the official CycloneDX JSON schemas.

mod common;

use common::TestContext;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sbom")
}

fn levee(cx: &TestContext) -> Command {
    let mut c = cx.levee_std();
    c.env_remove("SOURCE_DATE_EPOCH").env_remove("LEVEE_TODAY");
    c
}

fn sbom_json(cx: &TestContext, args: &[&str]) -> serde_json::Value {
    let out = levee(cx)
        .arg("sbom")
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("run levee");
    assert!(
        out.status.success(),
        "levee sbom {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("SBOM is JSON")
}

fn purls(bom: &serde_json::Value) -> BTreeSet<String> {
    bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["purl"].as_str().expect("purl").to_string())
        .collect()
}

fn anchor(name: &str, file: &str) -> BTreeSet<String> {
    std::fs::read_to_string(fixtures().join(name).join(file))
        .expect("anchor file")
        .lines()
        .map(str::to_string)
        .collect()
}

/// levee's purls equal the anchor's, after removing the differences the caller explains.
fn agree(
    cx: &TestContext,
    fixture: &str,
    anchor_file: &str,
    only_levee: &[&str],
    only_anchor: &[&str],
) {
    let dir = fixtures().join(fixture);
    let ours = purls(&sbom_json(cx, &[dir.to_str().expect("utf-8 path")]));
    let theirs = anchor(fixture, anchor_file);
    let extra: BTreeSet<String> = ours.difference(&theirs).cloned().collect();
    let missing: BTreeSet<String> = theirs.difference(&ours).cloned().collect();
    let want_extra: BTreeSet<String> = only_levee.iter().map(|s| s.to_string()).collect();
    let want_missing: BTreeSet<String> = only_anchor.iter().map(|s| s.to_string()).collect();
    assert_eq!(extra, want_extra, "{fixture}: purls only levee has");
    assert_eq!(
        missing, want_missing,
        "{fixture}: purls only the anchor has"
    );
    assert!(!ours.is_empty());
}

// cyclonedx-npm 6.0.1 --package-lock-only: identical purl sets on every npm fixture (v1, v2 with
// `resolved`, v3 without `resolved`, shrinkwrap, and the 505-package lock). Workspace packages
// (`@orders/shared-utils`) are components in both.
#[test]
fn npm_v1_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "npm-v1", "anchor-purls.txt", &[], &[]);
}
#[test]
fn npm_v2_with_resolved_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "npm-v2-resolved", "anchor-purls.txt", &[], &[]);
}
#[test]
fn npm_v3_without_resolved_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "npm-v3", "anchor-purls.txt", &[], &[]);
}
#[test]
fn npm_shrinkwrap_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "npm-shrinkwrap", "anchor-purls.txt", &[], &[]);
}
#[test]
fn npm_500_packages_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "npm-big", "anchor-purls.txt", &[], &[]);
}

// The package.json that the pnpm and yarn fixtures were locked from (scripts/js-lock-fixtures.sh),
// locked by npm: cyclonedx-npm agrees with levee on it (18 purls, including the alias
// `my-ms` -> ms@2.1.2 and the `file:` package local-lib@1.0.0).
#[test]
fn js_npm_matches_cyclonedx_npm() {
    let cx = TestContext::new();
    agree(&cx, "js-npm", "anchor-purls.txt", &[], &[]);
}

type Graph = std::collections::BTreeMap<String, BTreeSet<String>>;

fn graph(bom: &serde_json::Value) -> Graph {
    bom["dependencies"]
        .as_array()
        .expect("dependencies")
        .iter()
        .map(|d| {
            let on = d["dependsOn"].as_array().map_or_else(BTreeSet::new, |a| {
                a.iter()
                    .map(|x| x.as_str().expect("ref").to_string())
                    .collect()
            });
            (d["ref"].as_str().expect("ref").to_string(), on)
        })
        .collect()
}

fn by_purl(bom: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| (c["purl"].as_str().expect("purl").to_string(), c.clone()))
        .collect()
}

fn fixture_bom(cx: &TestContext, name: &str) -> serde_json::Value {
    sbom_json(cx, &[fixtures().join(name).to_str().expect("utf-8")])
}

// pnpm 9 and yarn 1 resolved the same package.json to exactly what npm resolved: the same 18
// purls, the same scopes, the same sha512 hashes, and the same dependency graph (root included:
// the root component is named from package.json in all three).
#[test]
fn pnpm_and_yarn_v1_match_the_npm_lock_of_the_same_package_json() {
    let cx = TestContext::new();
    let npm = fixture_bom(&cx, "js-npm");
    let npm_c = by_purl(&npm);
    assert_eq!(npm_c.len(), 18);
    for f in ["js-pnpm", "js-yarn-v1"] {
        let bom = fixture_bom(&cx, f);
        let c = by_purl(&bom);
        assert_eq!(
            c.keys().collect::<Vec<_>>(),
            npm_c.keys().collect::<Vec<_>>(),
            "{f}: purls"
        );
        for (purl, comp) in &c {
            assert_eq!(comp["scope"], npm_c[purl]["scope"], "{f}: scope of {purl}");
            assert_eq!(
                comp["hashes"], npm_c[purl]["hashes"],
                "{f}: hashes of {purl}"
            );
        }
        assert_eq!(graph(&bom), graph(&npm), "{f}: dependency graph");
    }
}

// yarn 4 resolved the same packages, plus one thing npm and pnpm do not do: it gives fsevents
// (a package with a native build) an implicit dependency on `node-gyp@npm:latest`, so node-gyp
// 13.1.0 and its 19 dependencies are in the berry lock and nowhere else. They are all reachable
// only through the optional fsevents, so they are optional. Apart from them the purls, scopes and
// graph equal npm's. Hashes differ on purpose: berry's `checksum` is the hash of yarn's cache zip,
// not of the package tarball, so levee reports none (see src/sbom/yarn.rs).
#[test]
fn yarn_berry_matches_the_npm_lock_but_for_node_gyp_under_fsevents() {
    let cx = TestContext::new();
    let npm = fixture_bom(&cx, "js-npm");
    let berry = fixture_bom(&cx, "js-yarn-berry");
    let (n, b) = (by_purl(&npm), by_purl(&berry));
    let g = graph(&berry);
    let mut closure = BTreeSet::new();
    let mut stack = vec!["pkg:npm/node-gyp@13.1.0".to_string()];
    while let Some(p) = stack.pop() {
        if closure.insert(p.clone()) {
            stack.extend(g.get(&p).cloned().unwrap_or_default());
        }
    }
    assert_eq!(closure.len(), 20, "{closure:?}");
    let extra: BTreeSet<String> = b.keys().filter(|k| !n.contains_key(*k)).cloned().collect();
    let missing: Vec<&String> = n.keys().filter(|k| !b.contains_key(*k)).collect();
    assert_eq!(extra, closure, "purls only the berry lock has");
    assert!(
        missing.is_empty(),
        "purls the berry lock lacks: {missing:?}"
    );
    assert!(g["pkg:npm/fsevents@2.3.3"].contains("pkg:npm/node-gyp@13.1.0"));
    for p in &closure {
        assert_eq!(b[p]["scope"], "optional", "{p}");
    }
    for (purl, comp) in &n {
        assert_eq!(b[purl]["scope"], comp["scope"], "scope of {purl}");
        assert!(b[purl].get("hashes").is_none(), "{purl} has a hash");
    }
    let mut without: Graph = g
        .into_iter()
        .filter(|(k, _)| !closure.contains(k))
        .collect();
    without
        .get_mut("pkg:npm/fsevents@2.3.3")
        .expect("fsevents")
        .remove("pkg:npm/node-gyp@13.1.0");
    assert_eq!(without, graph(&npm), "dependency graph");
}

#[test]
fn js_locks_scopes_hashes_aliases_and_local_packages() {
    let cx = TestContext::new();
    for f in ["js-pnpm", "js-yarn-v1", "js-yarn-berry"] {
        let bom = fixture_bom(&cx, f);
        let c = by_purl(&bom);
        let g = graph(&bom);
        // devDependencies only: excluded; a devDependency that chalk also needs: required.
        assert_eq!(
            c["pkg:npm/%40types/node@20.14.10"]["scope"], "excluded",
            "{f}"
        );
        assert_eq!(c["pkg:npm/undici-types@5.26.5"]["scope"], "excluded", "{f}");
        assert_eq!(c["pkg:npm/typescript@5.6.3"]["scope"], "excluded", "{f}");
        assert_eq!(c["pkg:npm/has-flag@4.0.0"]["scope"], "required", "{f}");
        assert_eq!(c["pkg:npm/fsevents@2.3.3"]["scope"], "optional", "{f}");
        let scoped = &c["pkg:npm/%40sindresorhus/is@4.6.0"];
        assert_eq!(scoped["group"], "@sindresorhus", "{f}");
        assert_eq!(scoped["name"], "is", "{f}");
        if f != "js-yarn-berry" {
            assert_eq!(scoped["hashes"][0]["alg"], "SHA-512", "{f}");
            assert_eq!(
                scoped["hashes"][0]["content"],
                "b74f6f48ddcc75fb32087a057134421ff894b46ece2740ac8f307c72302629cfef6bf90881e0c8fd3c6c8a0767704ff86deef7e26d1cbc863035a5788b65ea03",
                "{f}"
            );
        }
        // The alias `my-ms` is ms@2.1.2; `file:./local-lib` is local-lib@1.0.0 without a hash;
        // berry's patched typescript and fsevents are the same packages, not second copies.
        let root = &g[bom["metadata"]["component"]["bom-ref"]
            .as_str()
            .expect("root ref")];
        for d in [
            "pkg:npm/ms@2.1.2",
            "pkg:npm/local-lib@1.0.0",
            "pkg:npm/typescript@5.6.3",
        ] {
            assert!(root.contains(d), "{f}: root -> {d}: {root:?}");
        }
        assert!(!root.contains("pkg:npm/ansi-styles@4.3.0"), "{f}");
        assert!(c["pkg:npm/local-lib@1.0.0"].get("hashes").is_none(), "{f}");
        assert_eq!(
            c.keys()
                .filter(|k| k.starts_with("pkg:npm/typescript@"))
                .count(),
            1,
            "{f}"
        );
        assert!(
            g["pkg:npm/local-lib@1.0.0"].contains("pkg:npm/ms@2.1.3"),
            "{f}"
        );
        assert!(g["pkg:npm/debug@2.6.9"].contains("pkg:npm/ms@2.0.0"), "{f}");
        assert_eq!(
            g["pkg:npm/chalk@4.1.2"],
            ["pkg:npm/ansi-styles@4.3.0", "pkg:npm/supports-color@7.2.0"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "{f}"
        );
        // --omit dev drops the three dev-only packages.
        let prod = sbom_json(
            &cx,
            &[fixtures().join(f).to_str().expect("utf-8"), "--omit", "dev"],
        );
        assert_eq!(purls(&prod).len(), c.len() - 3, "{f}");
    }
}

// The monorepo (scripts/js-lock-fixtures.sh): a private root with the dev dependency semver,
// packages/app (@ws/app 1.2.0: @ws/lib through `workspace:*` in pnpm and berry, `*` in npm and
// yarn 1, plus picocolors) and packages/lib (@ws/lib 0.3.0: debug, which needs ms; dev: is-number).
// cyclonedx-npm 6.0.1 on the npm lock gives the same 7 purls and the same graph as levee
// (anchor-purls.txt and anchor-graph.txt, from scripts/sbom-anchors.sh).
//
// How levee treats workspace members, in all four formats alike: each member is a component,
// named and versioned from its own package.json, with a purl, as cyclonedx-npm makes them (they
// are code the app ships; an SBOM that left them out would also lose their edges); the root depends
// on every member (npm links each from the root's node_modules and cyclonedx-npm has these edges);
// a member's production dependencies are edges and make what they reach required; its
// devDependencies are edges too but make nothing required, so what only they reach is excluded.
// pnpm's and berry's `link:../../tools/local-tool` (a symlink to a folder; npm has no `link:`) is
// not a component: a link has no package identity in the lock.
#[test]
fn js_ws_npm_matches_cyclonedx_npm_purls_and_graph() {
    let cx = TestContext::new();
    agree(&cx, "js-ws-npm", "anchor-purls.txt", &[], &[]);
    let bom = fixture_bom(&cx, "js-ws-npm");
    let root = bom["metadata"]["component"]["bom-ref"]
        .as_str()
        .expect("root ref")
        .to_string();
    let ours: BTreeSet<String> = graph(&bom)
        .into_iter()
        .flat_map(|(from, to)| {
            let from = if from == root { "root".into() } else { from };
            to.into_iter().map(move |t| format!("{from} -> {t}"))
        })
        .collect();
    assert_eq!(ours, anchor("js-ws-npm", "anchor-graph.txt"));
}

#[test]
fn workspace_locks_agree_across_npm_pnpm_yarn_and_berry() {
    let cx = TestContext::new();
    let npm = fixture_bom(&cx, "js-ws-npm");
    let npm_c = by_purl(&npm);
    let npm_g = graph(&npm);
    assert_eq!(npm_c.len(), 7);
    let (app, lib) = ("pkg:npm/%40ws/app@1.2.0", "pkg:npm/%40ws/lib@0.3.0");
    for f in [
        "js-ws-npm",
        "js-ws-pnpm",
        "js-ws-yarn-v1",
        "js-ws-yarn-berry",
    ] {
        let bom = fixture_bom(&cx, f);
        let c = by_purl(&bom);
        let g = graph(&bom);
        assert_eq!(
            c.keys().collect::<Vec<_>>(),
            npm_c.keys().collect::<Vec<_>>(),
            "{f}: purls"
        );
        assert!(!c.keys().any(|k| k.contains("local-tool")), "{f}");
        // Members: components, required, without hashes (they are folders, not tarballs).
        for m in [app, lib] {
            assert_eq!(c[m]["scope"], "required", "{f}: {m}");
            assert!(c[m].get("hashes").is_none(), "{f}: {m}");
        }
        assert_eq!(c[app]["group"], "@ws", "{f}");
        assert_eq!(c[app]["name"], "app", "{f}");
        // Needed by a member's dependencies: required; only by devDependencies: excluded.
        for p in ["debug@4.3.7", "ms@2.1.3", "picocolors@1.1.1"] {
            assert_eq!(c[&format!("pkg:npm/{p}")]["scope"], "required", "{f}: {p}");
        }
        for p in ["is-number@7.0.0", "semver@7.6.3"] {
            assert_eq!(c[&format!("pkg:npm/{p}")]["scope"], "excluded", "{f}: {p}");
        }
        // member -> member, member -> registry, root -> members.
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(g[app], set(&[lib, "pkg:npm/picocolors@1.1.1"]), "{f}");
        assert_eq!(
            g[lib],
            set(&["pkg:npm/debug@4.3.7", "pkg:npm/is-number@7.0.0"]),
            "{f}"
        );
        assert_eq!(
            g["app:ws-root"],
            set(&[app, lib, "pkg:npm/semver@7.6.3"]),
            "{f}"
        );
        assert_eq!(g, npm_g, "{f}: dependency graph");
        for (purl, comp) in &npm_c {
            if f == "js-ws-yarn-berry" {
                // berry's checksum is not a tarball hash (see src/sbom/yarn.rs): none reported.
                assert!(c[purl].get("hashes").is_none(), "{f}: {purl}");
            } else {
                assert_eq!(c[purl]["hashes"], comp["hashes"], "{f}: hashes of {purl}");
            }
        }
        // --omit dev keeps the members and drops is-number and semver.
        let prod = sbom_json(
            &cx,
            &[fixtures().join(f).to_str().expect("utf-8"), "--omit", "dev"],
        );
        assert_eq!(
            purls(&prod),
            npm_c
                .keys()
                .filter(|k| !k.contains("is-number") && !k.contains("semver"))
                .cloned()
                .collect(),
            "{f}"
        );
    }
}

// yarn 1 does not lock its workspaces: levee finds them with the root's `workspaces` globs. The
// same lock with other spellings of the same members gives the same SBOM; a negation that drops
// packages/lib drops it (and debug and ms, then reachable from no member, become dev).
#[test]
fn yarn_v1_workspace_globs_with_stars_braces_and_negations() {
    let cx = TestContext::new();
    let src = fixtures().join("js-ws-yarn-v1");
    let want = fixture_bom(&cx, "js-ws-yarn-v1");
    let run = |patterns: serde_json::Value| -> serde_json::Value {
        let tmp = TestContext::new();
        for f in [
            "yarn.lock",
            "packages/app/package.json",
            "packages/lib/package.json",
        ] {
            let to = tmp.path().join(f);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::copy(src.join(f), &to).expect("copy");
        }
        // A folder the patterns must not take: it would be a component.
        let legacy = tmp.path().join("packages/legacy");
        std::fs::create_dir_all(&legacy).expect("mkdir");
        std::fs::write(
            legacy.join("package.json"),
            r#"{"name": "legacy", "version": "9.9.9"}"#,
        )
        .expect("write");
        let mut pj: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(src.join("package.json")).expect("read"))
                .expect("json");
        pj["workspaces"] = patterns;
        std::fs::write(tmp.path().join("package.json"), pj.to_string()).expect("write");
        sbom_json(&cx, &[tmp.path().to_str().expect("utf-8")])
    };
    for patterns in [
        serde_json::json!(["packages/{app,lib}"]),
        serde_json::json!(["packages/**", "!packages/legacy"]),
        serde_json::json!({"packages": ["./packages/*/", "!**/legacy"]}),
    ] {
        let bom = run(patterns.clone());
        assert_eq!(by_purl(&bom), by_purl(&want), "{patterns}");
        assert_eq!(graph(&bom), graph(&want), "{patterns}");
    }
    let bom = run(serde_json::json!(["packages/*", "!packages/{lib,legacy}"]));
    let c = by_purl(&bom);
    assert!(!c.contains_key("pkg:npm/%40ws/lib@0.3.0"));
    assert!(c.contains_key("pkg:npm/%40ws/app@1.2.0"));
    assert_eq!(c["pkg:npm/debug@4.3.7"]["scope"], "excluded");
    // A pattern globset cannot read is an error naming package.json, not a silent miss.
    let tmp = TestContext::new();
    std::fs::copy(src.join("yarn.lock"), tmp.path().join("yarn.lock")).expect("copy");
    std::fs::write(
        tmp.path().join("package.json"),
        r#"{"name": "x", "private": true, "workspaces": ["packages/{app"]}"#,
    )
    .expect("write");
    let out = levee(&cx)
        .args(["sbom", tmp.path().to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("package.json") && err.contains("packages/{app"),
        "{err}"
    );
}

#[test]
fn js_locks_are_found_by_name_and_taken_with_lockfile() {
    let cx = TestContext::new();
    for (f, lock) in [("js-pnpm", "pnpm-lock.yaml"), ("js-yarn-v1", "yarn.lock")] {
        let dir = fixture_bom(&cx, f);
        let file = sbom_json(
            &cx,
            &[
                "--lockfile",
                fixtures().join(f).join(lock).to_str().expect("utf-8"),
            ],
        );
        assert_eq!(purls(&dir), purls(&file), "{f}");
    }
    // npm's lock wins when an app has several (as it did before pnpm and yarn were read).
    let tmp = TestContext::new();
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(fixtures().join("js-npm").join(file), tmp.path().join(file)).expect("copy");
    }
    std::fs::copy(
        fixtures().join("js-yarn-berry/yarn.lock"),
        tmp.path().join("yarn.lock"),
    )
    .expect("copy");
    let out = levee(&cx)
        .args(["sbom", tmp.path().to_str().expect("utf-8"), "--summary"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("from package-lock.json"), "{text}");
    // A yarn 1 lock without package.json: nothing says what is dev, so everything is required.
    let bare = TestContext::new();
    std::fs::copy(
        fixtures().join("js-yarn-v1/yarn.lock"),
        bare.path().join("yarn.lock"),
    )
    .expect("copy");
    let inv = levee::sbom::read_lockfile(&bare.path().join("yarn.lock")).expect("read");
    assert_eq!(inv.packages.len(), 18);
    assert!(
        inv.packages
            .values()
            .all(|p| p.scope == levee::sbom::Scope::Required)
    );
}

// cyclonedx-py 7.5.0 `poetry --with dev` (on a copy of the pyproject in Poetry-1 tables, because
// cyclonedx-py cannot read PEP 621 [project]; see scripts/sbom-anchors.sh): identical.
#[test]
fn poetry_matches_cyclonedx_py() {
    let cx = TestContext::new();
    agree(&cx, "poetry", "anchor-purls-with-dev.txt", &[], &[]);
}

// cyclonedx-py `pipenv --dev`: identical.
#[test]
fn pipenv_matches_cyclonedx_py() {
    let cx = TestContext::new();
    agree(&cx, "pipenv", "anchor-purls.txt", &[], &[]);
}

// cyclonedx-py `requirements` on `uv export` output (hashes, markers): identical.
#[test]
fn requirements_matches_cyclonedx_py() {
    let cx = TestContext::new();
    agree(&cx, "requirements-uv", "anchor-purls.txt", &[], &[]);
}

// cargo-cyclonedx 0.5.9 (default options) differs twice, both deliberate:
// - it leaves dev-dependencies out; levee lists them with scope "excluded" (use --omit dev to drop
//   them), so `strsim`, the root's dev-dependency, is only in levee's set;
// - it gives the path crate `ledger-core` a `download_url=file://crates/ledger-core` qualifier
//   (older versions put the absolute local path there); levee keeps purls free of local paths.
#[test]
fn cargo_matches_cargo_cyclonedx_but_for_dev_and_path_qualifiers() {
    let cx = TestContext::new();
    agree(
        &cx,
        "cargo",
        "anchor-purls.txt",
        &["pkg:cargo/strsim@0.11.1", "pkg:cargo/ledger-core@0.1.0"],
        &["pkg:cargo/ledger-core@0.1.0?download_url=file://crates/ledger-core"],
    );
    let bom = sbom_json(&cx, &[fixtures().join("cargo").to_str().expect("utf-8")]);
    let text = bom.to_string();
    assert!(
        !text.contains(env!("CARGO_MANIFEST_DIR")),
        "an absolute path leaked into the SBOM"
    );
    let strsim = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "strsim")
        .expect("strsim");
    assert_eq!(strsim["scope"], "excluded");
    let serde = bom["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "serde")
        .expect("serde");
    assert_eq!(serde["hashes"][0]["alg"], "SHA-256");
    assert_eq!(serde["licenses"][0]["expression"], "MIT OR Apache-2.0");
}

// No anchor reads uv.lock or pylock.toml (cyclonedx-py has no uv or PEP 751 reader); they are
// checked against the requirements export of the same lock, which cyclonedx-py agrees with.
#[test]
fn uv_lock_and_pylock_match_the_exported_requirements() {
    let cx = TestContext::new();
    let req = anchor("requirements-uv", "anchor-purls.txt");
    for f in ["uv", "pylock"] {
        let ours = purls(&sbom_json(
            &cx,
            &[fixtures().join(f).to_str().expect("utf-8")],
        ));
        assert_eq!(ours, req, "{f}");
    }
    let bom = sbom_json(&cx, &[fixtures().join("uv").to_str().expect("utf-8")]);
    let p = purls(&bom);
    assert!(
        p.contains("pkg:pypi/ruamel-yaml@0.18.6"),
        "PEP 503 normalization: {p:?}"
    );
    let c = bom["components"].as_array().expect("components");
    let pytest = c.iter().find(|c| c["name"] == "pytest").expect("pytest");
    assert_eq!(pytest["scope"], "excluded", "dev group");
    let fastapi = c.iter().find(|c| c["name"] == "fastapi").expect("fastapi");
    assert_eq!(fastapi["scope"], "required");
    // The root component depends on the project's direct dependencies, not on everything.
    let root = &bom["dependencies"][0];
    assert_eq!(root["ref"], bom["metadata"]["component"]["bom-ref"]);
    assert!(
        root["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .any(|d| d == "pkg:pypi/fastapi@0.115.0")
    );
    assert!(
        !root["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .any(|d| d == "pkg:pypi/starlette@0.38.6")
    );
}

#[test]
fn npm_purls_hashes_scopes_and_graph() {
    let cx = TestContext::new();
    let bom = sbom_json(&cx, &[fixtures().join("npm-v3").to_str().expect("utf-8")]);
    let c = bom["components"].as_array().expect("components");
    let find = |purl: &str| {
        c.iter()
            .find(|x| x["purl"] == purl)
            .unwrap_or_else(|| panic!("{purl} missing"))
    };
    let scoped = find("pkg:npm/%40sindresorhus/is@4.6.0");
    assert_eq!(scoped["group"], "@sindresorhus");
    assert_eq!(scoped["name"], "is");
    assert_eq!(scoped["hashes"][0]["alg"], "SHA-512");
    assert_eq!(
        scoped["hashes"][0]["content"].as_str().expect("hex").len(),
        128
    );
    assert_eq!(scoped["licenses"][0]["license"]["id"], "MIT");
    assert_eq!(find("pkg:npm/mocha@10.7.3")["scope"], "excluded");
    assert_eq!(find("pkg:npm/fsevents@2.3.3")["scope"], "optional");
    assert_eq!(
        find("pkg:npm/%40orders/shared-utils@0.2.0")["scope"],
        "required"
    );
    // Nested copies resolve to the nearest node_modules: express -> debug 2.6.9 -> ms 2.0.0.
    let deps = bom["dependencies"].as_array().expect("dependencies");
    let of = |r: &str| {
        deps.iter()
            .find(|d| d["ref"] == r)
            .expect("dependency entry")["dependsOn"]
            .clone()
    };
    assert!(
        of("pkg:npm/debug@2.6.9")
            .as_array()
            .expect("edges")
            .iter()
            .any(|d| d == "pkg:npm/ms@2.0.0")
    );
    assert!(
        of("pkg:npm/%40orders/shared-utils@0.2.0")
            .as_array()
            .expect("edges")
            .iter()
            .any(|d| d == "pkg:npm/ms@2.1.3")
    );
    // --omit dev drops dev-only packages and edges to them.
    let prod = sbom_json(
        &cx,
        &[
            fixtures().join("npm-v3").to_str().expect("utf-8"),
            "--omit",
            "dev",
        ],
    );
    assert!(!purls(&prod).contains("pkg:npm/mocha@10.7.3"));
    assert_eq!(purls(&prod).len(), 78);
}

#[test]
fn deterministic_with_source_date_epoch_and_fresh_without() {
    let cx = TestContext::new();
    let dir = fixtures().join("npm-v3");
    let run = |epoch: Option<&str>| {
        let mut c = levee(&cx);
        c.args(["sbom", dir.to_str().expect("utf-8")]);
        if let Some(e) = epoch {
            c.env("SOURCE_DATE_EPOCH", e);
        }
        let out = c.output().expect("run");
        assert!(out.status.success());
        out.stdout
    };
    let (a, b) = (run(Some("1700000000")), run(Some("1700000000")));
    assert_eq!(a, b, "two runs with SOURCE_DATE_EPOCH differ");
    let v: serde_json::Value = serde_json::from_slice(&a).expect("json");
    assert_eq!(v["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    assert!(
        v["serialNumber"]
            .as_str()
            .expect("serial")
            .starts_with("urn:uuid:")
    );
    let (c, d) = (run(None), run(None));
    let sc: serde_json::Value = serde_json::from_slice(&c).expect("json");
    let sd: serde_json::Value = serde_json::from_slice(&d).expect("json");
    assert_ne!(sc["serialNumber"], sd["serialNumber"]);
}

#[test]
fn metadata_component_from_app_yaml() {
    let tmp = TestContext::new();
    std::fs::copy(
        fixtures().join("npm-v1/package-lock.json"),
        tmp.path().join("package-lock.json"),
    )
    .expect("copy");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/valid/playbook-example.yaml"),
        tmp.path().join("app.yaml"),
    )
    .expect("copy");
    let bom = sbom_json(&tmp, &[tmp.path().to_str().expect("utf-8")]);
    let m = &bom["metadata"];
    let app: serde_norway::Value = serde_norway::from_str(
        &std::fs::read_to_string(tmp.path().join("app.yaml")).expect("read"),
    )
    .expect("yaml");
    assert_eq!(m["component"]["name"], app["name"].as_str().expect("name"));
    assert_eq!(
        m["component"]["version"], "0.9.0",
        "version from the lock's root package"
    );
    assert_eq!(
        m["authors"][0]["email"],
        app["owner"].as_str().expect("owner")
    );
    let props = m["component"]["properties"].as_array().expect("properties");
    assert!(props.iter().any(|p| p["name"] == "levee:classification"
        && p["value"] == app["classification"].as_str().expect("c")));
    assert!(props.iter().any(|p| p["name"] == "levee:tier"));
    assert_eq!(m["tools"]["components"][0]["name"], "levee");
    assert_eq!(
        m["tools"]["components"][0]["version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn requirements_includes_extras_markers_and_unpinned() {
    let tmp = TestContext::new();
    std::fs::write(tmp.path().join("base.txt"), "Requests[socks]==2.32.3 ; python_version >= \"3.8\" \\\n    --hash=sha256:70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6\nzope.interface===7.0.3\n").expect("write");
    std::fs::write(
        tmp.path().join("requirements.txt"),
        "# app\n-r base.txt\n--index-url https://pypi.org/simple\nflask>=3\nclick\nrich==13.*\n",
    )
    .expect("write");
    let out = levee(&tmp)
        .args(["sbom", tmp.path().to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bom: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        purls(&bom),
        ["pkg:pypi/requests@2.32.3", "pkg:pypi/zope-interface@7.0.3"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for unpinned in ["flask>=3", "`click`", "rich==13.*"] {
        assert!(
            stderr.contains(unpinned),
            "{unpinned} not reported: {stderr}"
        );
    }
    assert!(stderr.contains("requirements.txt:4"), "{stderr}");
}

#[test]
fn summary_counts_by_ecosystem_and_scope() {
    let cx = TestContext::new();
    let out = levee(&cx)
        .args([
            "sbom",
            fixtures().join("npm-v3").to_str().expect("utf-8"),
            "--summary",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("npm: 148 (required 77, optional 1, dev 70)\n"),
        "{text}"
    );
    let inv = levee::sbom::read_lockfile(&fixtures().join("uv/uv.lock")).expect("read");
    let s = levee::sbom::summarize(&[inv]);
    assert_eq!(s.components, 78);
    let json = levee(&cx)
        .args([
            "sbom",
            fixtures().join("uv").to_str().expect("utf-8"),
            "--summary",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["by_ecosystem"]["pypi"]["dev"], 6);
}

/// Runs levee on a hostile lock: exit 2, an `error:` naming the file (and position when given),
/// never a panic.
fn hostile(cx: &TestContext, name: &str, content: &[u8], expect: &str) {
    let tmp = TestContext::new();
    let f = tmp.path().join(name);
    std::fs::write(&f, content).expect("write");
    let out = levee(cx)
        .args(["sbom", "--lockfile", f.to_str().expect("utf-8")])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}{expect}", f.display())),
        "{name}: expected `{expect}` in {stderr}"
    );
}

#[test]
fn hostile_lock_files_give_located_errors() {
    let cx = TestContext::new();
    hostile(
        &cx,
        "package-lock.json",
        b"{\"lockfileVersion\": 3, \"packages\": {\"\": {",
        ":1:",
    );
    hostile(
        &cx,
        "package-lock.json",
        b"{\n  \"packages\": {\n    \"node_modules/a\": {\"version\": 5}\n  }\n}",
        ":3:",
    );
    hostile(
        &cx,
        "package-lock.json",
        b"{\"name\": \"x\", \"lockfileVersion\": 3}",
        ": neither `packages`",
    );
    hostile(
        &cx,
        "uv.lock",
        b"version = 1\n[[package]]\nname = \"a\"\nversion = \"1\nx",
        ":5:",
    );
    hostile(&cx, "poetry.lock", b"[[package]]\nname = 3\n", ":2:");
    hostile(
        &cx,
        "Pipfile.lock",
        b"{\"default\": {\"a\": {\"version\": \"==1\"}},\n\"develop\": [] }",
        ":2:",
    );
    hostile(
        &cx,
        "package-lock.json",
        b"{\n\"name\": \"caf\xe9\"}",
        ":2:13: not UTF-8",
    );
    hostile(
        &cx,
        "Cargo.lock",
        b"[[package]]\nname = \"a\"\n",
        ":1:1: missing field `version`",
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    hostile(&cx, "package-lock.json", deep.as_bytes(), ":1:");

    // pnpm-lock.yaml: truncated, wrong types, an older lock version, not UTF-8.
    hostile(&cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      ms:\n        version: \"2.1.3\n",
        ":7:1: found unexpected end of stream, while scanning a quoted scalar at line 6 column 18",
    );
    hostile(
        &cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\npackages:\n  ms@2.1.3:\n    resolution: 5\n",
        ":4:",
    );
    hostile(
        &cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\nsnapshots:\n  ms@2.1.3:\n    dependencies: [a]\n",
        ":4:",
    );
    hostile(
        &cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '6.0'\n",
        ": lockfileVersion 6.0: levee reads pnpm 9 locks",
    );
    hostile(
        &cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\npackages:\n  nameless:\n    resolution: {}\n",
        ": package `nameless` is not `name@version`",
    );
    hostile(
        &cx,
        "pnpm-lock.yaml",
        b"lockfileVersion: '9.0'\n# caf\xe9\n",
        ":2:6: not UTF-8",
    );
    // yarn.lock v1: an unterminated string, an entry without version, bad indentation, a key
    // without value, nesting far deeper than a lock has (no stack overflow), not UTF-8.
    hostile(
        &cx,
        "yarn.lock",
        b"# yarn lockfile v1\n\n\"ms@^2\":\n  version \"2.1",
        ":4:11: unterminated string",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"ms@^2:\n  resolved \"https://x/ms.tgz\"\n",
        ":1:1: entry `ms@^2` has no `version`",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"ms@^2:\n  version \"2.1.3\"\n      integrity x\n",
        ":3:1: unexpected indentation",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"ms@^2:\n  version\n",
        ":2:10: `version` has no value",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"ms@^2:\n  version \"2\"\n  dependencies \"x\"\n",
        ":3:1: `dependencies` must be a block",
    );
    let nested: String = (0..1_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    hostile(
        &cx,
        "yarn.lock",
        nested.as_bytes(),
        ":34:1: nested deeper than 32 levels",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"ms@^2:\n  version \"\xff\"\n",
        ":2:12: not UTF-8",
    );
    // yarn.lock berry: YAML type errors and missing fields.
    hostile(&cx,
        "yarn.lock",
        b"__metadata:\n  version: 8\n\n\"ms@npm:^2\":\n  version: 2.1.3\n  resolution: \"ms@npm:2.1.3\"\n  dependencies: [1]\n",
        ":7:",
    );
    hostile(
        &cx,
        "yarn.lock",
        b"__metadata:\n  version: 8\n\n\"ms@npm:^2\":\n  version: 2.1.3\n",
        ": entry `ms@npm:^2` has no `resolution`",
    );
    hostile(&cx,
        "yarn.lock",
        b"__metadata:\n  version: 8\n\n\"ms@npm:^2\":\n  version: 2.1.3\n  resolution: \"ms@npm:2.1.3",
        ":6:",
    );
}

#[test]
fn cycles_are_fine_and_huge_files_are_refused() {
    let tmp = TestContext::new();
    let lock = r#"{"name": "c", "version": "1.0.0", "lockfileVersion": 3, "packages": {
      "": {"name": "c", "version": "1.0.0", "dependencies": {"a": "1"}},
      "node_modules/a": {"version": "1.0.0", "dependencies": {"b": "1"}},
      "node_modules/b": {"version": "1.0.0", "dependencies": {"a": "1"}}}}"#;
    std::fs::write(tmp.path().join("package-lock.json"), lock).expect("write");
    let bom = sbom_json(&tmp, &[tmp.path().to_str().expect("utf-8")]);
    assert_eq!(purls(&bom).len(), 2);
    let big = tmp.path().join("big").join("package-lock.json");
    std::fs::create_dir(big.parent().expect("parent")).expect("mkdir");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(100 * 1024 * 1024).expect("sparse 100 MB");
    let out = levee(&tmp)
        .args(["sbom", "--lockfile", big.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    // The cap is on the bytes read, so the message names the cap, not the size on disk.
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("larger than the 67108864 bytes"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn no_lock_file_says_how_to_make_one() {
    let tmp = TestContext::new();
    let out = levee(&tmp)
        .args(["sbom", tmp.path().to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no lock file in") && stderr.contains("npm install --package-lock-only"),
        "{stderr}"
    );
}

/// The validators' bin dir: `LEVEE_VALIDATORS_BIN`, else the repo's `.venv/bin`. Missing tools fail.
fn validators_bin() -> PathBuf {
    std::env::var_os("LEVEE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin"))
}

/// The official CycloneDX schemas shipped in cyclonedx-python-lib (its `_res` folder, where the
/// `spdx` and `jsf` references resolve locally).
fn schema_dir() -> PathBuf {
    let py = validators_bin().join("python");
    let out = Command::new(&py)
        .args(["-c", "import cyclonedx.schema, os; print(os.path.join(os.path.dirname(cyclonedx.schema.__file__), '_res'))"])
        .output()
        .unwrap_or_else(|e| panic!("{} not runnable ({e}); install cyclonedx-python-lib into the validators venv", py.display()));
    assert!(
        out.status.success(),
        "cyclonedx-python-lib is missing from {}: {}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn every_sbom_validates_against_the_official_schema() {
    let schemas = schema_dir();
    let checker = validators_bin().join("check-jsonschema");
    assert!(
        checker.is_file(),
        "check-jsonschema missing at {}",
        checker.display()
    );
    let tmp = TestContext::new();
    let mut by_spec: std::collections::BTreeMap<&str, Vec<PathBuf>> = Default::default();
    let fixtures_list = [
        "npm-v1",
        "npm-v2-resolved",
        "npm-v3",
        "npm-shrinkwrap",
        "npm-big",
        "uv",
        "poetry",
        "pipenv",
        "pylock",
        "requirements-uv",
        "cargo",
        "js-npm",
        "js-pnpm",
        "js-yarn-v1",
        "js-yarn-berry",
        "js-ws-npm",
        "js-ws-pnpm",
        "js-ws-yarn-v1",
        "js-ws-yarn-berry",
    ];
    for spec in ["1.3", "1.4", "1.5"] {
        for f in fixtures_list {
            let out = tmp.path().join(format!("{f}-{spec}.cdx.json"));
            let st = levee(&tmp)
                .args([
                    "sbom",
                    fixtures().join(f).to_str().expect("utf-8"),
                    "--spec-version",
                    spec,
                    "-o",
                    out.to_str().expect("utf-8"),
                ])
                .status()
                .expect("run");
            assert!(st.success(), "{f} {spec}");
            by_spec.entry(spec).or_default().push(out);
        }
    }
    // One with app.yaml metadata and --omit dev.
    let app = tmp.path().join("app");
    std::fs::create_dir(&app).expect("mkdir");
    std::fs::copy(
        fixtures().join("npm-v3/package-lock.json"),
        app.join("package-lock.json"),
    )
    .expect("copy");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/valid/playbook-example.yaml"),
        app.join("app.yaml"),
    )
    .expect("copy");
    let out = tmp.path().join("app-1.5.cdx.json");
    assert!(
        levee(&tmp)
            .args([
                "sbom",
                app.to_str().expect("utf-8"),
                "--omit",
                "dev",
                "-o",
                out.to_str().expect("utf-8")
            ])
            .status()
            .expect("run")
            .success()
    );
    by_spec.entry("1.5").or_default().push(out);

    for (spec, files) in by_spec {
        let schema = schemas.join(format!("bom-{spec}.SNAPSHOT.schema.json"));
        let out = Command::new(&checker)
            .arg("--schemafile")
            .arg(&schema)
            .arg("--base-uri")
            .arg(format!("file://{}/", schemas.display()))
            .args(["--disable-formats", "iri-reference"])
            .args(&files)
            .output()
            .expect("run check-jsonschema");
        assert!(
            out.status.success(),
            "CycloneDX {spec} schema: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `-o -` is stdout, as in most tools: the same SBOM as without `-o`, and no file named `-`.
/// With --summary (which prints to stdout too) it is a usage error.
#[test]
fn output_dash_is_stdout() {
    let tmp = TestContext::new();
    let lock = fixtures().join("npm-v3");
    let run = |extra: &[&str]| {
        levee(&tmp)
            .current_dir(tmp.path())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("sbom")
            .arg(&lock)
            .args(extra)
            .output()
            .expect("run")
    };
    let plain = run(&[]);
    let dash = run(&["-o", "-"]);
    assert!(plain.status.success() && dash.status.success());
    assert!(!dash.stdout.is_empty());
    assert_eq!(dash.stdout, plain.stdout);
    assert!(
        !tmp.path().join("-").exists(),
        "no file named `-` is written"
    );
    let both = run(&["-o", "-", "--summary"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("`-o -` and --summary both print to stdout"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    assert!(!tmp.path().join("-").exists());
}
