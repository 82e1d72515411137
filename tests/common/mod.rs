//! The hermetic test harness: the real binary, no colour, no user config, a fixed clock, and the
//! external validators from the venv that scripts/test.sh creates.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The one environment every levee process of the tests runs in (the binary, the
/// `levee_paused` example, and what [`TestContext::command`] starts): nothing from the developer's shell that changes levee's behaviour,
/// and the upward search for `levee.org.yaml` stopped below the temporary directory and below
/// the checkout, so a stray `/tmp/levee.org.yaml` or `~/levee.org.yaml` cannot leak in.
pub fn hermetic(cmd: &mut std::process::Command) {
    for var in [
        "LEVEE_ORG",
        "LEVEE_TEMPLATES",
        "LEVEE_COLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
        "CI",
    ] {
        cmd.env_remove(var);
    }
    let ceilings = std::env::join_paths([
        std::env::temp_dir(),
        root().parent().map(Path::to_path_buf).unwrap_or_default(),
    ])
    .expect("ceiling paths");
    cmd.env("NO_COLOR", "1")
        .env("LEVEE_NO_INPUT", "1")
        .env("LEVEE_TODAY", "2026-03-01")
        .env("COLUMNS", "100")
        .env("LEVEE_ORG_CEILING_DIRECTORIES", ceilings)
        .current_dir(root());
}

/// One test's world: a temporary directory it owns (removed when the context is dropped) and
/// the hermetic environment of [`hermetic`] for every process it starts, levee or not (a CI
/// script that runs levee, a child test process, `unshare`).
pub struct TestContext {
    temp: tempfile::TempDir,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    /// A fresh temporary directory.
    pub fn new() -> Self {
        TestContext {
            temp: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    /// `rel` under the temporary directory.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.temp.path().join(rel)
    }

    /// The `levee` binary, run from the crate root (where the fixtures' relative paths point),
    /// with a time limit.
    pub fn levee(&self) -> Command {
        let mut cmd = Command::from_std(self.levee_std());
        cmd.timeout(Duration::from_secs(60));
        cmd
    }

    /// [`TestContext::levee`] run from `cwd`.
    pub fn levee_in(&self, cwd: &Path) -> Command {
        let mut cmd = self.levee();
        cmd.current_dir(cwd);
        cmd
    }

    /// The `levee` binary as a `std::process::Command` (to spawn, signal or kill it), run from
    /// the crate root.
    pub fn levee_std(&self) -> std::process::Command {
        self.command(assert_cmd::cargo::cargo_bin("levee"))
    }

    /// Any program, in the hermetic environment (from the crate root).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        hermetic(&mut cmd);
        cmd
    }

    /// [`levee_paused`]: levee with every catalog write held `pause_ms` before its rename.
    pub fn levee_paused(&self, pause_ms: u64) -> std::process::Command {
        levee_paused(pause_ms)
    }

    /// [`new_app`] under the temporary directory.
    pub fn new_app(&self, target: &str, name: &str, kind: &str, pack: Option<&Path>) -> PathBuf {
        new_app(
            self,
            self.path(),
            std::ffi::OsStr::new(target),
            name,
            kind,
            pack,
        )
    }
}

/// `levee new TARGET --no-input` in `dir`: an internal node app of `kind` named `name`, owned by
/// the shop team, from the built-in pack or from `pack` at v1.0.0; fails the test when refused.
pub fn new_app(
    cx: &TestContext,
    dir: &Path,
    target: &std::ffi::OsStr,
    name: &str,
    kind: &str,
    pack: Option<&Path>,
) -> PathBuf {
    let mut cmd = cx.levee_in(dir);
    cmd.arg("new")
        .arg(target)
        .args(["--no-input", "--name", name])
        .args(["--owner", "jane.doe@acme.corp", "--team", "shop-team"])
        .args([
            "--kind",
            kind,
            "--stack",
            "node",
            "--classification",
            "internal",
        ]);
    if let Some(pack) = pack {
        cmd.arg("--templates")
            .arg(format!("{}@v1.0.0", pack.display()));
    }
    let o = run(&mut cmd);
    assert_eq!(o.code, 0, "levee new: {}", o.stderr);
    dir.join(target)
}

/// Commits everything in the git repository `dir` and tags the commit `tag` (a pack release).
pub fn release(dir: &Path, tag: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", tag]);
    git(dir, &["tag", tag]);
}

/// Makes the git checkout `repo` hold exactly the fixture pack acme-jobs at `version`
/// (tests/fixtures/packs/acme-jobs/<version>), then commits and tags it as a release.
pub fn release_fixture_pack(repo: &Path, version: &str) {
    for entry in std::fs::read_dir(repo).expect("ls") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).expect("rm");
        } else {
            std::fs::remove_file(&path).expect("rm");
        }
    }
    copy_tree(
        &root().join("tests/fixtures/packs/acme-jobs").join(version),
        repo,
    );
    release(repo, version);
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

/// Runs git with a fixed identity and no signing; panics with git's stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@acme.corp",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Writes a file, creating its directories.
pub fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

/// Every file under `dir` (not following symlinks; `.git` skipped): relative path -> bytes, and
/// `-> target` for a symlink.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, base: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            let rel = p
                .strip_prefix(base)
                .expect("rel")
                .to_string_lossy()
                .replace('\\', "/");
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("readlink");
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if meta.is_dir() {
                walk(&p, base, out);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The names in a directory, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Copies a directory tree (files, directories, symlinks as links, modes kept).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let meta = std::fs::symlink_metadata(&src).expect("lstat");
        if meta.file_type().is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&src).expect("readlink"), &dst)
                .expect("symlink");
        } else if meta.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// A container's environment as the kubelet makes it from a Deployment's `env` list: in order,
/// each value with `$(NAME)` replaced by an earlier entry's value (left as written when there is
/// none), `$$` read as `$`, any other `$` kept (Kubernetes' `third_party/forked/golang/expansion`).
pub fn kubelet_env(entries: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in entries {
        let expanded = kubelet_expand(value, |n| {
            out.iter()
                .rev()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        });
        out.push((name.clone(), expanded));
    }
    out
}

/// One value, expanded as the kubelet expands it (see [`kubelet_env`]).
pub fn kubelet_expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance = match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    1
                }
                b'(' => match rest.find(')') {
                    Some(end) => {
                        let name = &rest[1..end];
                        out.push_str(&lookup(name).unwrap_or_else(|| format!("$({name})")));
                        end + 1
                    }
                    None => {
                        out.push_str("$(");
                        1
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or_default();
                    out.push('$');
                    out.push(c);
                    c.len_utf8()
                }
            };
            cursor += 1 + advance;
            checkpoint = cursor;
        } else {
            cursor += 1;
        }
    }
    out.push_str(&input[checkpoint..]);
    out
}

/// What each starter kind needs besides the answers every app gets (tests/golden_path.rs,
/// tests/as_deployed.rs): the settings its template declares, given with `--setting` as a user
/// gives them, and the egress host their URLs name (approved in tests/fixtures/apps.levee.org.yaml).
pub fn kind_answers(kind: &str) -> Vec<&'static str> {
    match kind {
        "dashboard" => vec![
            "--setting",
            "DASHBOARD_DATA_SOURCE=https://data.example.com/sales.json",
            "--egress",
            "data.example.com",
        ],
        "webhook" => vec![
            "--setting",
            "DOWNSTREAM_URL=https://api.payments.example.com/events",
            "--egress",
            "api.payments.example.com",
        ],
        _ => Vec::new(),
    }
}

/// `tests/levee_paused.rs`: `levee` with every catalog write held `pause_ms` between writing its
/// temporary file and renaming it into place (the shipped binary has no such setting). Cargo
/// builds it with every test target, as `target/<profile>/deps/levee_paused-<hash>`: the newest
/// is this build's.
pub fn levee_paused(pause_ms: u64) -> std::process::Command {
    let exe = std::env::current_exe().expect("the test's own path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let bin = std::fs::read_dir(deps)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let stem = name
                .strip_suffix(std::env::consts::EXE_SUFFIX)
                .unwrap_or(name);
            stem.strip_prefix("levee_paused-")
                .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
                && p.is_file()
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| {
            panic!(
                "tests/levee_paused.rs is not built in {}: run `cargo test --all-targets`",
                deps.display()
            )
        });
    let mut cmd = std::process::Command::new(bin);
    hermetic(&mut cmd);
    cmd.arg(pause_ms.to_string());
    cmd
}

/// Splits a command line as sh does for what the README uses: words, `"..."` and `'...'`, and a
/// trailing `# comment` (tests/golden_path.rs and tests/readme_examples.rs run README commands).
pub fn shell_words(line: &str) -> Vec<String> {
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
