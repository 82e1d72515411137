//! SBOMs from lock files: read what an app's lock files resolve to, write CycloneDX JSON.
//!
//! One reader per lock format turns a file into an [`Inventory`] (packages with purls, scopes,
//! hashes, licences and their dependency edges); [`bom`] turns inventories into a CycloneDX
//! document. No package manager runs, except `cargo metadata --locked --offline` for Rust, which
//! gives what only cargo knows (licences, dev and build edges); without it `Cargo.lock` is read by
//! itself (see [`cargo`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod bom;
pub mod cargo;
pub mod gosum;
mod js;
pub mod npm;
pub mod pipfile;
pub mod pnpm;
pub mod poetry;
pub mod pylock;
pub mod requirements;
pub mod uv;
pub mod yarn;

/// Lock files larger than this are refused before they are read (the largest real
/// `package-lock.json` files of big monorepos are tens of MB).
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// The package ecosystem of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Npm,
    Pypi,
    Cargo,
    #[serde(rename = "golang")]
    Go,
}

impl Ecosystem {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Go => "golang",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a package is needed at run time. Ordered: merging two views of one package keeps the
/// smaller (more required) one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Needed at run time.
    Required,
    /// Installed when possible (npm optional dependencies).
    Optional,
    /// Only for development: CycloneDX `scope: excluded`.
    Dev,
}

/// A hash algorithm, named as CycloneDX names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub(crate) fn cyclonedx(self) -> &'static str {
        match self {
            HashAlg::Sha1 => "SHA-1",
            HashAlg::Sha256 => "SHA-256",
            HashAlg::Sha384 => "SHA-384",
            HashAlg::Sha512 => "SHA-512",
        }
    }

    /// Parses the names lock files use (`sha256`, `sha512`, ...).
    pub(crate) fn parse(s: &str) -> Option<HashAlg> {
        match s.to_ascii_lowercase().as_str() {
            "sha1" => Some(HashAlg::Sha1),
            "sha256" => Some(HashAlg::Sha256),
            "sha384" => Some(HashAlg::Sha384),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }

    fn hex_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 40,
            HashAlg::Sha256 => 64,
            HashAlg::Sha384 => 96,
            HashAlg::Sha512 => 128,
        }
    }
}

/// A hash from a lock file, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    pub alg: HashAlg,
    pub hex: String,
}

impl Hash {
    /// A hex digest, checked for length and alphabet (a lock with garbage in it gives no hash
    /// rather than an SBOM that fails schema validation).
    pub(crate) fn hex(alg: HashAlg, hex: &str) -> Option<Hash> {
        let hex = hex.trim();
        (hex.len() == alg.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Hash {
            alg,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// A digest given as bytes (npm's base64 integrity), when its length fits the algorithm.
    pub(crate) fn digest(alg: HashAlg, bytes: &[u8]) -> Option<Hash> {
        (bytes.len() * 2 == alg.hex_len()).then(|| Hash {
            alg,
            hex: crate::support::hash::hex(bytes),
        })
    }

    /// `sha256:abcd...` (Python locks).
    pub(crate) fn prefixed(s: &str) -> Option<Hash> {
        let (alg, hex) = s.split_once(':')?;
        Hash::hex(HashAlg::parse(alg)?, hex)
    }
}

/// A downloadable artifact of a package (a wheel, an sdist) with its hashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Distribution {
    pub url: String,
    pub hashes: Vec<Hash>,
}

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The package's name as its ecosystem spells it (`@scope/name` for npm).
    pub name: String,
    pub version: String,
    /// The package URL; also the component's `bom-ref`.
    pub purl: String,
    pub scope: Scope,
    pub hashes: Vec<Hash>,
    /// The licence as the lock states it (an SPDX id or expression, or a name).
    pub license: Option<String>,
    pub distributions: Vec<Distribution>,
    /// purls of the packages this one depends on.
    pub dependencies: BTreeSet<String>,
}

impl Package {
    pub(crate) fn new(ecosystem: Ecosystem, name: &str, version: &str, purl: String) -> Package {
        Package {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
            purl,
            scope: Scope::Required,
            hashes: Vec::new(),
            license: None,
            distributions: Vec::new(),
            dependencies: BTreeSet::new(),
        }
    }
}

/// A requirement that does not pin one version: reported, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unpinned {
    pub file: String,
    pub line: usize,
    pub requirement: String,
}

/// How a lock file was read, where levee has more than one way (`Cargo.lock`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "via")]
pub enum ReadWith {
    /// Through `cargo metadata`: licences and dev/build scopes from cargo itself.
    CargoMetadata,
    /// The lock file by itself (with the workspace's `Cargo.toml` files): the same components,
    /// hashes and graph, licences for local crates only.
    Lockfile {
        reason: Fallback,
        /// What cargo said, when it ran.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// Why a `Cargo.lock` was read by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    /// `--cargo-metadata never`.
    Requested,
    /// cargo is not installed (or not on `PATH`).
    CargoNotFound,
    /// `cargo metadata --offline` could not resolve: the crates are not in the local cache.
    CratesNotCached,
    /// cargo ran and failed for another reason.
    CargoFailed,
}

impl fmt::Display for ReadWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadWith::CargoMetadata => f.write_str("read with `cargo metadata`"),
            ReadWith::Lockfile { reason, detail } => {
                f.write_str("read by itself, with the workspace's Cargo.toml files (")?;
                match reason {
                    Fallback::Requested => f.write_str("--cargo-metadata never")?,
                    Fallback::CargoNotFound => f.write_str("cargo could not be started")?,
                    Fallback::CratesNotCached => f.write_str(
                        "`cargo metadata --offline` failed: the crates are not in the local cargo cache",
                    )?,
                    Fallback::CargoFailed => {
                        f.write_str("`cargo metadata` failed")?;
                        if let Some(d) = detail {
                            let d = d.strip_prefix("error: ").unwrap_or(d);
                            write!(f, ": {}", printable(d))?;
                        }
                    }
                }
                f.write_str("): no licences for registry and git crates")
            }
        }
    }
}

/// What one lock file resolves to.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The lock file, as the user named it (relative paths stay relative).
    pub lockfile: PathBuf,
    /// The project the lock belongs to (name, version), when the lock says.
    pub root: Option<(String, String)>,
    /// purls of the project's direct dependencies.
    pub direct: BTreeSet<String>,
    /// Packages keyed by purl (deduplicated by name + version, as the anchor tools do).
    pub packages: BTreeMap<String, Package>,
    pub unpinned: Vec<Unpinned>,
    /// How the lock was read, where there is a choice.
    pub read_with: Option<ReadWith>,
}

impl Inventory {
    pub(crate) fn new(lockfile: &Path) -> Inventory {
        Inventory {
            lockfile: lockfile.to_path_buf(),
            ..Inventory::default()
        }
    }

    /// Adds a package, merging with one of the same purl: the most required scope wins, edges
    /// and hashes are united.
    pub(crate) fn add(&mut self, p: Package) {
        match self.packages.entry(p.purl.clone()) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(p);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let q = slot.get_mut();
                q.scope = q.scope.min(p.scope);
                q.dependencies.extend(p.dependencies);
                for h in p.hashes {
                    if !q.hashes.contains(&h) {
                        q.hashes.push(h);
                    }
                }
                for d in p.distributions {
                    if !q.distributions.contains(&d) {
                        q.distributions.push(d);
                    }
                }
                if q.license.is_none() {
                    q.license = p.license;
                }
            }
        }
    }

    /// Drops edges to packages that are not in the inventory (a lock that names a dependency it
    /// does not resolve, for instance an optional one for another platform).
    pub(crate) fn prune_dangling(&mut self) {
        let packages = &self.packages;
        self.direct.retain(|d| packages.contains_key(d));
        // Most locks resolve every edge: look before copying the keys to prune.
        let dangling = packages
            .values()
            .any(|p| p.dependencies.iter().any(|d| !packages.contains_key(d)));
        if dangling {
            let known: BTreeSet<String> = self.packages.keys().cloned().collect();
            for p in self.packages.values_mut() {
                p.dependencies.retain(|d| known.contains(d));
            }
        }
    }

    /// Sets each package's scope from reachability: reachable from `required` roots through
    /// required edges -> Required; else reachable from `optional` roots -> Optional; else Dev.
    /// Cycles are fine (each package is visited once).
    pub(crate) fn scope_by_reachability(&mut self, required: &[String], optional: &[String]) {
        let reach = |roots: &[String]| {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&String> = roots.iter().collect();
            while let Some(p) = stack.pop() {
                if let Some(pkg) = self.packages.get(p)
                    && seen.insert(p.clone())
                {
                    stack.extend(pkg.dependencies.iter());
                }
            }
            seen
        };
        let req = reach(required);
        let opt = reach(optional);
        for (purl, p) in &mut self.packages {
            p.scope = if req.contains(purl) {
                Scope::Required
            } else if opt.contains(purl) {
                Scope::Optional
            } else {
                Scope::Dev
            };
        }
    }
}

/// Why an SBOM could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is larger than the {max} bytes levee reads from a lock file",
        max = MAX_LOCKFILE_BYTES
    )]
    TooLarge { path: String },
    #[error("{path}:{line}:{column}: not UTF-8 (byte offset {offset})")]
    NotUtf8 {
        path: String,
        line: usize,
        column: usize,
        offset: usize,
    },
    #[error("no lock file in {dir}")]
    NoLockfile { dir: String },
    #[error("{path}: cargo metadata failed: {message}")]
    Cargo {
        path: String,
        message: String,
        offline: bool,
    },
    #[error(
        "{path}: not a lock file levee knows (expected package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock, uv.lock, poetry.lock, Pipfile.lock, pylock.toml, requirements*.txt or Cargo.lock)"
    )]
    UnknownKind { path: String },
}

impl SbomError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        match self {
            SbomError::NoLockfile { .. } => Some(
                "create one with `npm install --package-lock-only`, `pnpm install --lockfile-only`, `yarn install`, `uv lock`, `poetry lock`, \
                 `pipenv lock`, `cargo generate-lockfile` or `go mod tidy`, or pass --lockfile FILE"
                    .into(),
            ),
            SbomError::Cargo { offline: true, .. } => Some(
                "`--cargo-metadata always` needs the crates in the local cargo cache: run \
                 `cargo fetch --locked` once (that needs the network), or leave the option out to \
                 read Cargo.lock by itself"
                    .into(),
            ),
            SbomError::Cargo { .. } => Some(
                "run `cargo metadata --locked` in the project to see cargo's own message; if \
                 Cargo.lock is out of date, run `cargo update --workspace`"
                    .into(),
            ),
            SbomError::TooLarge { .. } => {
                Some("check that the file really is a lock file (not a bundle or a log)".into())
            }
            _ => None,
        }
    }
}

/// Line and column (1-based, column in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut end = offset;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Reads a lock file as text: refuses huge files before reading, and names the position of the
/// first byte that is not UTF-8.
pub(crate) fn read_text(path: &Path) -> Result<String, SbomError> {
    let p = path.display().to_string();
    let io = |source| SbomError::Io {
        path: p.clone(),
        source,
    };
    let bytes = match crate::support::input::read(path, MAX_LOCKFILE_BYTES) {
        Ok(b) => b,
        Err(e) if crate::support::input::is_too_large(&e) => {
            return Err(SbomError::TooLarge { path: p });
        }
        Err(e) => return Err(io(e)),
    };
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let (line, column) = line_col(&valid, offset);
        SbomError::NotUtf8 {
            path: p.clone(),
            line,
            column,
            offset,
        }
    })
}

/// Parses JSON into `T`; a syntax or type error names the line and column.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SbomError> {
    parse_json_borrowed(path, text)
}

/// [`parse_json`] for a `T` that borrows strings from `text`.
pub(crate) fn parse_json_borrowed<'t, T: serde::Deserialize<'t>>(
    path: &Path,
    text: &'t str,
) -> Result<T, SbomError> {
    serde_json::from_str(text).map_err(|e| SbomError::Parse {
        path: path.display().to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

/// Parses TOML into `T`; a syntax or type error names the line and column.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SbomError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        SbomError::Parse {
            path: path.display().to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })
}

/// Parses YAML into `T`; a syntax or type error names the line and column.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SbomError> {
    if let Some(offset) = too_deep(text) {
        let (line, column) = line_col(text, offset);
        return Err(SbomError::Parse {
            path: path.display().to_string(),
            line,
            column,
            message: format!(
                "brackets nested more than {MAX_FLOW_DEPTH} levels deep; a lock file is never \
                 this deep"
            ),
        });
    }
    serde_norway::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or_else(|| line_col(text, text.len()), |l| (l.line(), l.column()));
        // libyaml adds " at line L column C" (the position above), sometimes followed by the
        // enclosing node ("while scanning a quoted scalar at line 6 column 18"): drop the first.
        let message = drop_first_position(&e.to_string());
        SbomError::Parse {
            path: path.display().to_string(),
            line,
            column,
            message,
        }
    })
}

/// The deepest `[`/`{` nesting a YAML lock file may have (serde_norway refuses anything
/// deeper than 128 levels anyway, but only after libyaml scanned it: its scanner revisits every
/// open level at each token, which is quadratic in the depth; 100,000 levels took minutes).
const MAX_FLOW_DEPTH: usize = 128;

/// The byte offset where YAML flow collections nest deeper than [`MAX_FLOW_DEPTH`], if they do.
/// A linear scan that skips quoted scalars and comments.
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let mut prev = b'\n';
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' if prev.is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                prev = b'\n';
                continue;
            }
            b'"' | b'\'' if depth > 0 || matches!(prev, b' ' | b':' | b'-' | b'\n') => {
                // A quoted scalar: skip to its end (`\"` in double quotes, `''` in single).
                let quote = b;
                i += 1;
                while i < bytes.len() {
                    if quote == b'"' && bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if bytes[i] == quote {
                        if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            _ => {}
        }
        prev = b;
        i += 1;
    }
    None
}

fn drop_first_position(msg: &str) -> String {
    let Some(start) = msg.find(" at line ") else {
        return msg.trim().to_string();
    };
    let after = &msg[start..];
    let end = after
        .find(" column ")
        .map(|c| c + " column ".len())
        .map_or(after.len(), |c| {
            c + after[c..]
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(after.len() - c)
        });
    format!("{}{}", &msg[..start], &after[end..])
        .trim()
        .to_string()
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub(crate) fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `pkg:pypi/<normalized name>@<version>`.
pub(crate) fn pypi_purl(name: &str, version: &str) -> Result<String, packageurl::Error> {
    let name = pep503(name);
    let mut purl = packageurl::PackageUrl::new("pypi", name.as_str())?;
    purl.with_version(version)?;
    Ok(purl.to_string())
}

/// `pkg:npm/%40scope/name@<version>`.
pub(crate) fn npm_purl(name: &str, version: &str) -> Result<String, packageurl::Error> {
    let (ns, base) = match name.split_once('/') {
        Some((ns, base)) if ns.starts_with('@') => (Some(ns), base),
        _ => (None, name),
    };
    let mut purl = packageurl::PackageUrl::new("npm", base)?;
    if let Some(ns) = ns {
        purl.with_namespace(ns)?;
    }
    purl.with_version(version)?;
    Ok(purl.to_string())
}

/// `s` with control characters other than line breaks and tabs written as `\u{1b}`: text from a
/// hostile file never reaches the terminal as escape sequences.
pub(crate) fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn purl_error(path: &Path, name: &str, e: packageurl::Error) -> SbomError {
    SbomError::Invalid {
        path: path.display().to_string(),
        message: format!("cannot build a package URL for `{name}`: {e}"),
    }
}

/// The lock formats levee reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockKind {
    NpmLock,
    NpmShrinkwrap,
    PnpmLock,
    YarnLock,
    UvLock,
    PoetryLock,
    PipfileLock,
    Pylock,
    Requirements,
    CargoLock,
    GoSum,
}

impl LockKind {
    /// Recognizes a lock file by its name.
    pub(crate) fn of(path: &Path) -> Option<LockKind> {
        let name = path.file_name()?.to_str()?;
        Some(match name {
            "package-lock.json" => LockKind::NpmLock,
            "npm-shrinkwrap.json" => LockKind::NpmShrinkwrap,
            "pnpm-lock.yaml" => LockKind::PnpmLock,
            "yarn.lock" => LockKind::YarnLock,
            "uv.lock" => LockKind::UvLock,
            "poetry.lock" => LockKind::PoetryLock,
            "Pipfile.lock" => LockKind::PipfileLock,
            "Cargo.lock" | "Cargo.toml" => LockKind::CargoLock,
            "go.sum" => LockKind::GoSum,
            n if n == "pylock.toml" || (n.starts_with("pylock.") && n.ends_with(".toml")) => {
                LockKind::Pylock
            }
            n if n.ends_with(".txt") && n.contains("requirements") => LockKind::Requirements,
            _ => return None,
        })
    }
}

/// The lock files of the app in `dir`, one per ecosystem, in order of preference: JavaScript reads
/// `npm-shrinkwrap.json` before `package-lock.json` (as npm does), then `pnpm-lock.yaml`, then
/// `yarn.lock` (an app has one package manager; npm's lock wins if several are present); Python prefers the richest
/// lock (uv.lock, poetry.lock, pylock.toml, Pipfile.lock, then requirements.txt).
pub(crate) fn discover(dir: &Path) -> Result<Vec<PathBuf>, SbomError> {
    let pick = |names: &[&str]| names.iter().map(|n| dir.join(n)).find(|p| p.is_file());
    let mut found = Vec::new();
    if let Some(p) = pick(&[
        "npm-shrinkwrap.json",
        "package-lock.json",
        "pnpm-lock.yaml",
        "yarn.lock",
    ]) {
        found.push(p);
    }
    if let Some(p) = pick(&[
        "uv.lock",
        "poetry.lock",
        "pylock.toml",
        "Pipfile.lock",
        "requirements.txt",
    ]) {
        found.push(p);
    }
    if let Some(p) = pick(&["Cargo.lock"]) {
        found.push(p);
    }
    if let Some(p) = pick(&["go.sum"]) {
        found.push(p);
    }
    if found.is_empty() {
        return Err(SbomError::NoLockfile {
            dir: dir.display().to_string(),
        });
    }
    Ok(found)
}

/// How to read lock files.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Whether `Cargo.lock` is read through `cargo metadata`.
    pub cargo_metadata: cargo::CargoMetadata,
}

/// Reads one lock file.
pub fn read_lockfile(path: &Path) -> Result<Inventory, SbomError> {
    read_lockfile_with(path, ReadOptions::default())
}

/// Reads one lock file with `opts`.
pub(crate) fn read_lockfile_with(path: &Path, opts: ReadOptions) -> Result<Inventory, SbomError> {
    let kind = LockKind::of(path).ok_or_else(|| SbomError::UnknownKind {
        path: path.display().to_string(),
    })?;
    let mut inv = match kind {
        LockKind::NpmLock | LockKind::NpmShrinkwrap => npm::read(path)?,
        LockKind::PnpmLock => pnpm::read(path)?,
        LockKind::YarnLock => yarn::read(path)?,
        LockKind::UvLock => uv::read(path)?,
        LockKind::PoetryLock => poetry::read(path)?,
        LockKind::PipfileLock => pipfile::read(path)?,
        LockKind::Pylock => pylock::read(path)?,
        LockKind::Requirements => requirements::read(path)?,
        LockKind::CargoLock => cargo::read(path, opts.cargo_metadata)?,
        LockKind::GoSum => gosum::read(path)?,
    };
    inv.prune_dangling();
    Ok(inv)
}

/// Counts by ecosystem and scope: what `levee sbom --summary` prints and the catalog records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub components: usize,
    /// ecosystem -> scope -> count.
    pub by_ecosystem: BTreeMap<Ecosystem, BTreeMap<Scope, usize>>,
    pub lockfiles: Vec<String>,
    pub unpinned: Vec<Unpinned>,
    /// lock file -> how it was read, where there is a choice (`Cargo.lock`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub read_with: BTreeMap<String, ReadWith>,
}

/// Summarizes inventories (after `--omit dev`, if the caller applied it).
pub fn summarize(inventories: &[Inventory]) -> Summary {
    let mut s = Summary::default();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for inv in inventories {
        s.lockfiles.push(inv.lockfile.display().to_string());
        if let Some(r) = &inv.read_with {
            s.read_with
                .insert(inv.lockfile.display().to_string(), r.clone());
        }
        s.unpinned.extend(inv.unpinned.iter().cloned());
        for p in inv.packages.values() {
            if seen.insert(&p.purl) {
                s.components += 1;
                *s.by_ecosystem
                    .entry(p.ecosystem)
                    .or_default()
                    .entry(p.scope)
                    .or_default() += 1;
            }
        }
    }
    s
}

/// Removes dev-only packages and the edges to them.
pub(crate) fn omit_dev(inv: &mut Inventory) {
    inv.packages.retain(|_, p| p.scope != Scope::Dev);
    inv.prune_dangling();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_found_in_linear_time() {
        let n = 1_000_000;
        let deep = format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        let started = std::time::Instant::now();
        assert_eq!(too_deep(&deep), Some(3 + MAX_FLOW_DEPTH));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Brackets in quotes and comments do not count; nesting up to the limit is fine.
        let quoted = format!(
            "a: '{}'\nb: \"{}\" # {}\n",
            "[".repeat(500),
            "{".repeat(500),
            "[".repeat(500)
        );
        assert_eq!(too_deep(&quoted), None);
        let ok = format!(
            "a: {}{}\n",
            "[".repeat(MAX_FLOW_DEPTH),
            "]".repeat(MAX_FLOW_DEPTH)
        );
        assert_eq!(too_deep(&ok), None);
    }
}
