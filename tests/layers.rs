//! The layout is the flow: each top-level module of `src/` is a layer, and a layer uses only the
//! layers below it. Reading every `crate::…` path in `src/` (code and doc links alike), this test
//! fails on any use of a higher layer, so an import cycle between top-level modules cannot come
//! back. A new top-level module fails it too, until it is given its place in [`LAYERS`].

use std::path::{Path, PathBuf};

/// Bottom to top. A module may use its own layer and the ones before it.
const LAYERS: &[&str] = &[
    "support",   // bounded input, atomic writes, the app directory, clock, text, ui, exit codes
    "load",      // YAML with positions, schemas, diagnostics, surgical edits, field paths
    "model",     // manifest, org config (with its ci and sandbox settings), app settings
    "generate",  // gate plan, pipeline, policy bundle, sandbox, backstage, managed files
    "scaffold",  // packs, render, the `.levee/` record, wizard, new apps
    "check",     // the policy gate over many manifests (`levee check`), on every core
    "change",    // promote, upgrade, merge
    "sbom",      // lock files -> CycloneDX
    "catalog",   // the app catalog: entries, store, stats, rollout
    "lifecycle", // deprovision / expiry / tier decisions over catalog entries
    "cli",       // arguments and printing
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a line names through `crate::`: `crate::a::…` and `crate::{a, b::c}`.
fn crate_uses(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | ':')) {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let first = rel.components().next().expect("a component");
        let first = first.as_os_str().to_str().expect("UTF-8 path");
        if rel.components().count() == 1 && (first == "lib.rs" || first == "main.rs") {
            continue;
        }
        let module = first.strip_suffix(".rs").unwrap_or(first);
        let Some(own) = rank(module) else {
            problems.push(format!(
                "src/{module}: a top-level module that is in no layer; add it to LAYERS in tests/layers.rs"
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read a source file");
        checked += 1;
        for (n, line) in text.lines().enumerate() {
            if line.contains("super::super") {
                problems.push(format!(
                    "src/{}:{}: `super::super` (name the module through `crate::` so this test sees it)",
                    rel.display(),
                    n + 1
                ));
            }
            for used in crate_uses(line) {
                match rank(&used) {
                    Some(r) if r > own => problems.push(format!(
                        "src/{}:{}: `{module}` uses `crate::{used}`, a higher layer",
                        rel.display(),
                        n + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} source files were read");
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_lib_declares_exactly_the_layers() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read src/lib.rs");
    let mut declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .collect();
    declared.sort_unstable();
    let mut layers = LAYERS.to_vec();
    layers.sort_unstable();
    assert_eq!(declared, layers);
}

#[test]
fn the_scanner_sees_every_form_of_crate_path() {
    assert_eq!(crate_uses("use crate::model::manifest::Date;"), ["model"]);
    assert_eq!(
        crate_uses("use crate::{cli, support::ui};"),
        ["cli", "support"]
    );
    assert_eq!(crate_uses("/// see [`crate::cli`]"), ["cli"]);
    assert_eq!(
        crate_uses("let x = a::crate::b; $crate::c"),
        Vec::<String>::new()
    );
}
