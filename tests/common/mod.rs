//! The hermetic test harness: the real binary, no colour, no user config, a fixed clock, and the
//! external validators from the venv that scripts/test.sh creates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `levee` binary with a clean environment: no colour, no prompts, no org config or template
/// source from the developer's shell, a fixed "today", and a time limit so a hang fails the test.
pub fn levee() -> Command {
    let mut cmd = Command::cargo_bin("levee").expect("the levee binary is built");
    for var in [
        "LEVEE_ORG",
        "LEVEE_TEMPLATES",
        "LEVEE_COLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1")
        .env("LEVEE_NO_INPUT", "1")
        .env("LEVEE_TODAY", "2026-03-01")
        .env("COLUMNS", "100")
        .current_dir(root())
        .timeout(Duration::from_secs(60));
    cmd
}

/// [`levee`] run from `cwd`.
pub fn levee_in(cwd: &Path) -> Command {
    let mut cmd = levee();
    cmd.current_dir(cwd);
    cmd
}

/// What a command printed and how it exited.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to completion and captures its output (for tests that assert on all three).
pub fn run(cmd: &mut Command) -> Out {
    let o = cmd.output().expect("the command runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// An external validator from the venv. A missing validator fails the test: run
/// `scripts/test.sh` (or set LEVEE_VALIDATORS_BIN) to install them.
pub fn validator(name: &str) -> PathBuf {
    let dir = std::env::var_os("LEVEE_VALIDATORS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin"));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "validator `{name}` is missing at {}: run scripts/test.sh, which installs it",
        path.display()
    );
    path
}

/// Runs insta assertions with snapshots in the top-level `snapshots/` folder.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

/// The files of a corpus directory, sorted.
pub fn corpus(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("corpus dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// A path relative to the crate root, for stable snapshots.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}
