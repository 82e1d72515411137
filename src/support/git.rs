//! The one way levee calls git: no terminal prompt, only the transports in [`GIT_PROTOCOLS`],
//! a time limit, and the answer read from git itself (so `include`, `includeIf` and `insteadOf`
//! in any config file apply, as they do for the user's own git).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Runs git without a terminal prompt; stdout on success, stderr as the error.
pub(crate) fn git(args: &[&str], cwd: Option<&Path>) -> Result<String, String> {
    let out = run(args, cwd, None)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// The transports levee lets git use: `ext::` (runs a command), `fd::` (talks over a file
/// descriptor, and hangs) and any other helper are refused by git itself.
const GIT_PROTOCOLS: &str = "file:git:http:https:ssh";

/// How long one git command may run: `LEVEE_GIT_TIMEOUT_SECS`, default 300 (a clone of a pack
/// takes seconds; a transport that never answers must not hang a fleet upgrade).
pub(crate) fn git_timeout() -> std::time::Duration {
    let secs = std::env::var("LEVEE_GIT_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(300);
    std::time::Duration::from_secs(secs)
}

/// The one way levee runs git: no terminal prompt, only [`GIT_PROTOCOLS`], `input` written to
/// its stdin (else none), and killed (with the helpers it started) after [`git_timeout`].
pub(crate) fn run(
    args: &[&str],
    cwd: Option<&Path>,
    input: Option<Vec<u8>>,
) -> Result<std::process::Output, String> {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", GIT_PROTOCOLS)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    // Its own process group, so a timeout also stops the transport helpers git started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run `git` ({e}); install git to use a git template pack"))?;
    // Written and read from threads: git answers while it reads, and a full pipe blocks both.
    let writer = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut stdin)) => Some(std::thread::spawn(move || stdin.write_all(&bytes))),
        _ => None,
    };
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // A thread waits for git; this one waits for it at most the timeout (no polling, so a
    // quick git command costs no more than it takes).
    let timeout = git_timeout();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send(());
        status
    });
    if finished.recv_timeout(timeout).is_err() {
        kill_group(pid);
        let _ = waiter.join();
        return Err(format!(
            "`git {}` did not finish within {} s and was stopped (set \
             LEVEE_GIT_TIMEOUT_SECS to allow longer)",
            args.first().copied().unwrap_or(""),
            timeout.as_secs()
        ));
    }
    let status = waiter
        .join()
        .map_err(|_| "waiting for git failed".to_string())?
        .map_err(|e| e.to_string())?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Kills git and every process of its group (the reader threads end when the pipes close, the
/// waiting thread when git is gone).
fn kill_group(pid: u32) {
    #[cfg(unix)]
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    {
        let _ = std::process::Command::new("taskkill")
            .args(["/F", "/T", "/PID", &pid.to_string()])
            .status();
    }
}

/// The `origin` remote's URL of the repository at `root`, as git resolves it (`git remote
/// get-url`: `insteadOf` rewriting and included config files applied); `None` without one.
/// Asked once per repository in a run, so registering a monorepo of many apps runs git once.
pub(crate) fn origin_url(root: &Path) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Option<String>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(root).cloned()) {
        return hit;
    }
    // A `.git/config` that is not a regular file (a named pipe in a hostile tree) would hold git
    // until its time limit: such a checkout has no URL.
    let config = root.join(".git").join("config");
    if std::fs::symlink_metadata(&config).is_ok_and(|m| !m.is_file()) {
        return None;
    }
    let url = git(&["remote", "get-url", "origin"], Some(root))
        .ok()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    if let Ok(mut c) = cache.lock() {
        c.insert(root.to_path_buf(), url.clone());
    }
    url
}
