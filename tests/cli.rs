//! The command-line surface: definition, help, exit codes and global flags.

mod common;

use clap::CommandFactory;
use common::TestContext;

#[test]
fn cli_definition_is_consistent() {
    levee::cli::Cli::command().debug_assert();
}

/// Parsing adds a command's arguments only when that command runs (`cli::Deferred`), and the
/// definition is otherwise the same: every command and subcommand prints the same help from the
/// deferred definition as from the whole one that completions and man pages use.
#[test]
fn deferred_commands_are_the_whole_definition() {
    let deferred = levee::cli::Cli::command();
    let whole = levee::cli::Cli::whole();
    let new_args = |c: &clap::Command| c.find_subcommand("new").map(|n| n.get_arguments().count());
    assert_eq!(new_args(&deferred), Some(0), "`new` is deferred");
    assert!(
        new_args(&whole) > Some(20),
        "`new` is whole: {:?}",
        new_args(&whole)
    );
    let help = |mut c: clap::Command, words: &[&str]| {
        let mut argv = vec!["levee"];
        argv.extend(words);
        argv.push("--help");
        match c.try_get_matches_from_mut(argv) {
            Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.render().to_string(),
            other => panic!("{words:?} --help: {other:?}"),
        }
    };
    let mut checked = 0;
    for sub in whole.get_subcommands() {
        let mut paths = vec![vec![sub.get_name()]];
        paths.extend(
            sub.get_subcommands()
                .map(|s| vec![sub.get_name(), s.get_name()]),
        );
        for words in paths {
            assert_eq!(
                help(levee::cli::Cli::command(), &words),
                help(levee::cli::Cli::whole(), &words),
                "{words:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked} commands");
    // clap mirrors the commands under `levee help` when the top is built: the whole definition
    // (completions, man pages) has `levee help catalog register`, the deferred one could not.
    let mut built = levee::cli::Cli::whole();
    built.build();
    let nested = |c: &clap::Command, path: &[&str]| {
        path.iter()
            .try_fold(c, |c, name| c.find_subcommand(name))
            .map(|c| c.get_subcommands().count())
    };
    assert_eq!(
        nested(&built, &["help", "catalog"]),
        nested(&whole, &["catalog"]),
        "`levee help catalog` mirrors `levee catalog`"
    );
    assert!(nested(&whole, &["catalog"]) >= Some(9));
}

#[test]
fn help_text() {
    let cx = TestContext::new();
    let out = cx.levee().arg("--help").output().expect("runs");
    assert!(out.status.success());
    snap!("help", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn missing_path_is_exit_2() {
    let cx = TestContext::new();
    cx.levee()
        .args(["validate", "no/such/dir"])
        .assert()
        .code(2)
        .stdout(predicates::str::contains("error: cannot read no/such/dir"));
}

#[test]
fn directory_without_manifest_is_exit_2() {
    let dir = TestContext::new();
    dir.levee()
        .arg("validate")
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout(predicates::str::contains("has no app.yaml"));
}

#[test]
fn directory_with_manifest_is_validated() {
    let dir = TestContext::new();
    std::fs::copy(
        common::root().join("tests/manifests/valid/playbook-example.yaml"),
        dir.path().join("app.yaml"),
    )
    .expect("copy");
    dir.levee().arg("validate").arg(dir.path()).assert().code(0);
}

#[test]
fn usage_error_is_exit_2() {
    let cx = TestContext::new();
    cx.levee()
        .args(["validate", "--format", "xml"])
        .assert()
        .code(2);
    cx.levee().arg("no-such-command").assert().code(2);
}

#[test]
fn quiet_prints_nothing_for_valid_files() {
    let cx = TestContext::new();
    cx.levee()
        .args(["validate", "-q", "tests/manifests/valid/minimal.yaml"])
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn color_always_colours_and_never_does_not() {
    let cx = TestContext::new();
    let coloured = cx
        .levee()
        .args([
            "--color",
            "always",
            "validate",
            "tests/manifests/invalid/memory-mb.yaml",
        ])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&coloured.stdout).contains('\u{1b}'));
    let plain = cx
        .levee()
        .args([
            "--color",
            "never",
            "validate",
            "tests/manifests/invalid/memory-mb.yaml",
        ])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));
}

#[test]
fn schemas_are_draft_2020_12() {
    let cx = TestContext::new();
    for which in ["manifest", "org"] {
        let out = cx.levee().args(["schema", which]).output().expect("runs");
        assert!(out.status.success());
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{which}"
        );
    }
}

#[test]
fn broken_pipe_is_not_an_error() {
    let cx = TestContext::new();
    // `levee schema | head -c1`: the reader goes away; levee exits quietly.
    let mut child = cx
        .levee_std()
        .args(["schema"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{:?}", out);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn global_options_are_listed_apart_in_every_commands_help() {
    let cx = TestContext::new();
    for args in [&["--help"][..], &["new", "--help"], &["check", "--help"]] {
        let out = cx.levee().args(args).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (own, global) = text
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("{args:?}: no Global options heading:\n{text}"));
        for flag in ["--color", "--quiet", "--verbose", "--no-input", "--org"] {
            assert!(
                global.contains(flag),
                "{args:?}: {flag} not global:\n{text}"
            );
            assert!(
                !own.contains(flag),
                "{args:?}: {flag} among the command's own:\n{text}"
            );
        }
    }
}

#[test]
fn completions_for_every_shell() {
    let cx = TestContext::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = cx
            .levee()
            .args(["completions", shell])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout).into_owned();
        for word in [
            "new",
            "validate",
            "completions",
            "no-input",
            "classification",
        ] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    // The bash script is valid bash, and completes `levee va` to `validate` in a real shell.
    let dir = TestContext::new();
    let file = dir.path().join("levee.bash");
    let out = cx
        .levee()
        .args(["completions", "bash"])
        .output()
        .expect("runs");
    std::fs::write(&file, &out.stdout).expect("write");
    let check = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -e; source {f}; COMP_WORDS=(levee va); COMP_CWORD=1; COMP_LINE='levee va'; COMP_POINT=8; _levee levee va levee; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            f = file.display()
        ))
        .output()
        .expect("bash runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&check.stdout), "validate\n");
    cx.levee()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("possible values: bash"));
}

#[test]
fn man_pages_render_without_warnings() {
    let dir = TestContext::new();
    for args in [&["man"][..], &["man", "new"]] {
        let out = dir.levee().args(args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        let page = dir.path().join("page.1");
        std::fs::write(&page, &out.stdout).expect("write");
        // groff with every warning on, as `man` would format it.
        let fmt = std::process::Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&page)
            .output()
            .expect("groff is installed");
        assert!(
            fmt.status.success() && fmt.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&fmt.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains(".TH levee"), "{args:?}");
    }
    let new = String::from_utf8_lossy(
        &dir.levee()
            .args(["man", "new"])
            .output()
            .expect("runs")
            .stdout,
    )
    .into_owned();
    assert!(
        new.contains(".TH levee-new 1") && new.contains("\\-\\-answers"),
        "{new}"
    );
    // Every page into a directory.
    let out = dir.path().join("man1");
    dir.levee()
        .args(["man", "--dir"])
        .arg(&out)
        .assert()
        .code(0);
    for page in [
        "levee.1",
        "levee-new.1",
        "levee-check.1",
        "levee-completions.1",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
    dir.levee()
        .args(["man", "nope"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("levee has no command `nope`"));
}

/// A tree of apps: two valid, one invalid in a nested folder, one in node_modules and one in a
/// .gitignored folder (both skipped), and an org config.
fn app_tree() -> TestContext {
    let dir = TestContext::new();
    let valid = std::fs::read_to_string(common::root().join("tests/manifests/valid/minimal.yaml"))
        .expect("minimal");
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    write("apps/a/app.yaml", &valid);
    write(
        "apps/finance/b/app.yaml",
        &valid.replace("name: ", "name: b"),
    );
    write("apps/finance/broken/app.yaml", "name: Bad Name\nowner: x\n");
    write("apps/a/node_modules/dep/app.yaml", "not: an app\n");
    write("scratch/app.yaml", "not: an app\n");
    write(".gitignore", "scratch/\n");
    write("levee.org.yaml", "org: acme\n");
    dir
}

#[test]
fn validate_and_check_walk_a_tree_of_apps() {
    let cx = TestContext::new();
    let tree = app_tree();
    let out = cx
        .levee()
        .args(["validate", "--format", "json"])
        .arg(tree.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "the broken app");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let files: Vec<String> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let p = f["path"].as_str().expect("path");
            p.strip_prefix(&tree.path().display().to_string())
                .unwrap_or(p)
                .to_string()
        })
        .collect();
    assert_eq!(
        files,
        [
            "/apps/a/app.yaml",
            "/apps/finance/b/app.yaml",
            "/apps/finance/broken/app.yaml",
            "/levee.org.yaml"
        ]
    );
    // check: the app manifests only, the invalid one reported as such.
    let out = cx
        .levee_in(tree.path())
        .args(["check", "--format", "json", "apps"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["summary"]["apps"], 3, "{v}");
    assert_eq!(v["summary"]["invalid"], 1, "{v}");
    // A folder with no app at all is still an error naming it.
    let empty = TestContext::new();
    cx.levee()
        .arg("check")
        .arg(empty.path())
        .assert()
        .code(2)
        .stdout(predicates::str::contains(
            "has no app.yaml, nor any app below it",
        ));
}

#[test]
fn verbose_says_which_org_config_is_in_force() {
    let cx = TestContext::new();
    let tree = app_tree();
    let out = cx
        .levee_in(&tree.path().join("apps/a"))
        .args(["-v", "check"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let org = tree.path().join("levee.org.yaml");
    assert!(
        err.contains(&format!(
            "Using the org config {} (the nearest levee.org.yaml at or above {}).",
            org.display(),
            tree.path().join("apps/a").display()
        )),
        "{err}"
    );
    let bare = TestContext::new();
    std::fs::copy(
        common::root().join("tests/manifests/valid/minimal.yaml"),
        bare.path().join("app.yaml"),
    )
    .expect("copy");
    let out = cx
        .levee_in(bare.path())
        .args(["-v", "sync", "--check"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("Using levee's built-in org config: there is no levee.org.yaml at or above"),
        "{err}"
    );
    let out = cx
        .levee_in(bare.path())
        .args(["-v", "--org"])
        .arg(&org)
        .args(["check"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains(&format!(
            "Using the org config {} (given by --org or LEVEE_ORG).",
            org.display()
        )),
        "{err}"
    );
}
