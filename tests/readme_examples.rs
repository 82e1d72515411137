//! The README's deterministic console examples, read out of README.md and run: each case finds
//! its `$ command` in a ```console block and compares what levee prints with the output the
//! README shows under it, so an edit to either that makes them disagree fails here. (The first
//! ten minutes are tests/golden_path.rs's.)

mod common;

use std::path::{Path, PathBuf};

/// A `$ command` of a README console block (continuation lines joined) and the output under it.
struct Shown {
    command: String,
    output: String,
}

/// Every `$ command` of every console block of the README, in order.
fn readme_commands() -> Vec<Shown> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).expect("README.md");
    let mut shown: Vec<Shown> = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if line != "```console" {
            continue;
        }
        let mut pending: Option<String> = None;
        for line in lines.by_ref() {
            if line == "```" {
                break;
            }
            let cmd = match (&mut pending, line.strip_prefix("$ ")) {
                (Some(p), _) => {
                    p.push_str(line.trim_start());
                    None
                }
                (None, Some(cmd)) => Some(cmd),
                (None, None) => {
                    if let Some(last) = shown.last_mut() {
                        last.output.push_str(line);
                        last.output.push('\n');
                    }
                    continue;
                }
            };
            if let Some(cmd) = cmd {
                pending = Some(cmd.to_string());
            }
            if let Some(p) = pending.as_mut() {
                if p.ends_with('\\') {
                    p.pop();
                    continue;
                }
                shown.push(Shown {
                    command: p.trim_end().to_string(),
                    output: String::new(),
                });
                pending = None;
            }
        }
    }
    shown
}

/// The output the README shows for `command` (exactly that command line; trailing blank lines,
/// which separate commands, left off).
fn readme_output(command: &str) -> String {
    let all = readme_commands();
    let found: Vec<&Shown> = all.iter().filter(|s| s.command == command).collect();
    assert_eq!(
        found.len(),
        1,
        "the README should show `$ {command}` once in a console block"
    );
    found[0].output.trim_end_matches('\n').to_string() + "\n"
}

/// Runs levee with `args` in `dir` and returns what it printed (stdout, then stderr) and its
/// exit code.
fn levee(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = common::run(common::levee_in(dir).args(args));
    (format!("{}{}", out.stdout, out.stderr), out.code)
}

fn words(command: &str) -> Vec<&str> {
    let rest = command.strip_prefix("levee ").expect("a levee command");
    rest.split_whitespace().collect()
}

/// Splits a command line as sh does for what the README uses: words, `"..."` and `'...'`, and a
/// trailing `# comment` (as tests/golden_path.rs does).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, '#') if word.is_none() => break,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line:?}");
    words.extend(word);
    words
}

/// The README's first `levee new` (the expense form, exactly as the README writes it), on the
/// built-in org, in `parent`.
fn expense_form(parent: &Path) -> PathBuf {
    let all = readme_commands();
    let new = all
        .iter()
        .find(|s| s.command.starts_with("levee new expense-form "))
        .expect("the README's `levee new expense-form`");
    let words = shell_words(&new.command);
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let (out, code) = levee(parent, &args);
    assert_eq!(code, 0, "{}: {out}", new.command);
    parent.join("expense-form")
}

#[test]
fn templates_list_prints_what_the_readme_shows() {
    let cmd = "levee templates list";
    let tmp = tempfile::tempdir().expect("tmp");
    let (out, code) = levee(tmp.path(), &words(cmd));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, readme_output(cmd));
}

#[test]
fn validate_examples_print_what_the_readme_shows() {
    for (cmd, exit) in [
        (
            "levee validate tests/manifests/valid/playbook-example.yaml",
            0,
        ),
        (
            "levee --org tests/policy/levee.org.yaml validate tests/policy/corpus/data-dataset-wrong-case.yaml",
            1,
        ),
    ] {
        let (out, code) = levee(&common::root(), &words(cmd));
        assert_eq!(code, exit, "{cmd}: {out}");
        assert_eq!(out, readme_output(cmd), "{cmd}");
    }
}

#[test]
fn policy_test_and_a_refused_sync_check_print_what_the_readme_shows() {
    let tmp = tempfile::tempdir().expect("tmp");
    let app = expense_form(tmp.path());

    let cmd = "levee policy test policy | tail -1";
    let (out, code) = levee(&app, &words(cmd.trim_end_matches(" | tail -1")));
    assert_eq!(code, 0, "{out}");
    let last = out.lines().last().unwrap_or_default().to_string() + "\n";
    assert_eq!(last, readme_output(cmd));

    // The README's hand edit: the pipeline's vulnerability scan lowered to LOW.
    let workflow = app.join(".github/workflows/levee.yml");
    let text = std::fs::read_to_string(&workflow).expect("workflow");
    assert_eq!(text.matches("severity: CRITICAL\n").count(), 1, "{text}");
    std::fs::write(
        &workflow,
        text.replace("severity: CRITICAL\n", "severity: LOW\n"),
    )
    .expect("edit");
    let cmd = "levee sync --check";
    let (out, code) = levee(&app, &words(cmd));
    assert_eq!(code, 1, "{out}");
    assert_eq!(out, readme_output(cmd));
}
