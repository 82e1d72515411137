//! `Cargo.lock` read by itself, in every format cargo has written: v1 (checksums in a
//! `[metadata]` table, every dependency written `name version (source)`), v2 (no `version` key,
//! checksums inline, dependencies written as briefly as they stay unambiguous: `name`,
//! `name version`, `name version (source)`), v3 (`version = 3`) and v4 (`version = 4`, git
//! sources with URL-encoded references).
//!
//! A dependency string is resolved as cargo resolves it: by name alone when one package has that
//! name, by name and version otherwise, and when the source is left out among several packages of
//! one name and version, the path package (cargo never writes a path source). One that names no
//! package in the lock, or more than one, is an error at its position: a lock that says less than
//! cargo would read is not guessed at.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::sbom::{Hash, HashAlg, SbomError, line_col, printable};

/// The lock versions cargo has written (v1 and v2 have no `version` key).
const VERSIONS: std::ops::RangeInclusive<i64> = 1..=4;

/// One `[[package]]` of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LockedPackage {
    pub name: String,
    pub version: String,
    /// `registry+...`, `sparse+...`, `git+...`; `None` for path packages (workspace members and
    /// path dependencies).
    pub source: Option<String>,
    /// The SHA-256 of the `.crate` file, for registry packages.
    pub checksum: Option<Hash>,
    /// Indices into [`Lock::packages`], in the lock's order.
    pub dependencies: Vec<usize>,
}

/// A parsed and resolved `Cargo.lock`.
#[derive(Debug, Clone, Default)]
pub(super) struct Lock {
    pub packages: Vec<LockedPackage>,
}

impl Lock {
    /// The package of this name, version and source.
    pub(super) fn find(&self, name: &str, version: &str, source: Option<&str>) -> Option<usize> {
        self.packages
            .iter()
            .position(|p| p.name == name && p.version == version && p.source.as_deref() == source)
    }
}

#[derive(Debug, Deserialize)]
struct RawLock {
    version: Option<Spanned<i64>>,
    #[serde(default)]
    package: Vec<Spanned<RawPackage>>,
    /// Locks from before 2017 put the root package in its own table.
    root: Option<Spanned<RawPackage>>,
    /// v1: `"checksum NAME VERSION (SOURCE)" = "<hex>"` (or `"<none>"`).
    #[serde(default)]
    metadata: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    source: Option<Spanned<String>>,
    checksum: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
}

/// Parses and resolves `text`, the content of the lock at `path`.
pub(super) fn parse(path: &Path, text: &str) -> Result<Lock, SbomError> {
    let at = At { path, text };
    let raw: RawLock = crate::sbom::parse_toml(path, text)?;
    if let Some(v) = &raw.version
        && !VERSIONS.contains(v.get_ref())
    {
        return Err(at.error(
            v.span(),
            format!(
                "lock file version {}: levee reads Cargo.lock versions 1 to 4 (cargo 1.83+ writes 4)",
                v.get_ref()
            ),
        ));
    }
    let raws: Vec<Spanned<RawPackage>> = raw.root.into_iter().chain(raw.package).collect();
    let mut packages = locked_packages(&at, &raws)?;
    metadata_checksums(&at, &raw.metadata, &mut packages)?;
    let edges = resolve_edges(&at, &raws, &packages)?;
    for (p, deps) in packages.iter_mut().zip(edges) {
        p.dependencies = deps;
    }
    Ok(Lock { packages })
}

/// The lock file being parsed, for located errors.
struct At<'a> {
    path: &'a Path,
    text: &'a str,
}

impl At<'_> {
    /// A parse error at the start of `span`.
    fn error(&self, span: Range<usize>, message: String) -> SbomError {
        let (line, column) = line_col(self.text, span.start);
        SbomError::Parse {
            path: self.path.display().to_string(),
            line,
            column,
            message: printable(&message),
        }
    }
}

/// Each `[[package]]` checked (crate name, semver version, listed once, SHA-256 checksum), in
/// order and without its edges yet.
fn locked_packages(
    at: &At<'_>,
    raws: &[Spanned<RawPackage>],
) -> Result<Vec<LockedPackage>, SbomError> {
    let mut packages = Vec::with_capacity(raws.len());
    let mut seen: HashSet<(&str, &str, Option<&str>)> = HashSet::with_capacity(raws.len());
    for r in raws {
        let p = r.get_ref();
        let key = (
            p.name.get_ref().as_str(),
            p.version.get_ref().as_str(),
            p.source.as_ref().map(|s| s.get_ref().as_str()),
        );
        if !is_crate_name(key.0) {
            return Err(at.error(
                p.name.span(),
                format!(
                    "package name `{}` is not a crate name (letters, digits, `-` and `_`)",
                    key.0
                ),
            ));
        }
        if semver::Version::parse(key.1).is_err() {
            return Err(at.error(
                p.version.span(),
                format!("version `{}` of `{}` is not a semver version", key.1, key.0),
            ));
        }
        if !seen.insert(key) {
            return Err(at.error(
                r.span(),
                format!(
                    "`{} {}` is listed twice{}",
                    key.0,
                    key.1,
                    key.2.map(|s| format!(" from {s}")).unwrap_or_default()
                ),
            ));
        }
        let checksum = match &p.checksum {
            Some(c) => Some(sha256(c.get_ref()).ok_or_else(|| {
                at.error(
                    c.span(),
                    format!(
                        "checksum `{}` of `{} {}` is not a SHA-256 digest (64 hex digits)",
                        c.get_ref(),
                        key.0,
                        key.1
                    ),
                )
            })?),
            None => None,
        };
        packages.push(LockedPackage {
            name: key.0.to_string(),
            version: key.1.to_string(),
            source: key.2.map(str::to_string),
            checksum,
            dependencies: Vec::new(),
        });
    }
    Ok(packages)
}

/// v1: checksums in `[metadata]`, set on the packages they name.
fn metadata_checksums(
    at: &At<'_>,
    metadata: &BTreeMap<String, Spanned<toml::Value>>,
    packages: &mut [LockedPackage],
) -> Result<(), SbomError> {
    for (key, value) in metadata {
        let Some(id) = key.strip_prefix("checksum ") else {
            continue;
        };
        let Some(hex) = value.get_ref().as_str() else {
            return Err(at.error(
                value.span(),
                format!("`{key}` must be a string (the package's SHA-256)"),
            ));
        };
        if hex == "<none>" {
            continue;
        }
        let dep = parse_dep(id).ok_or_else(|| {
            at.error(
                value.span(),
                format!("`{key}` does not name a package as `checksum NAME VERSION (SOURCE)`"),
            )
        })?;
        let hash = sha256(hex).ok_or_else(|| {
            at.error(
                value.span(),
                format!("checksum `{hex}` of `{id}` is not a SHA-256 digest (64 hex digits)"),
            )
        })?;
        // A checksum for a package the lock does not list is stale, not wrong: cargo ignores it.
        if let Some(version) = dep.version
            && let Some(i) = packages.iter().position(|p| {
                p.name == dep.name && p.version == version && p.source.as_deref() == dep.source
            })
        {
            packages[i].checksum = Some(hash);
        }
    }
    Ok(())
}

/// Each package's `dependencies`, resolved to indices into `packages` (each once).
fn resolve_edges(
    at: &At<'_>,
    raws: &[Spanned<RawPackage>],
    packages: &[LockedPackage],
) -> Result<Vec<Vec<usize>>, SbomError> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::with_capacity(packages.len());
    for (i, p) in raws.iter().enumerate() {
        by_name
            .entry(p.get_ref().name.get_ref().as_str())
            .or_default()
            .push(i);
    }
    let mut edges = Vec::with_capacity(raws.len());
    for r in raws {
        let p = r.get_ref();
        let mut deps = Vec::with_capacity(p.dependencies.len());
        for d in &p.dependencies {
            let s = d.get_ref();
            let dep = parse_dep(s).ok_or_else(|| {
                at.error(
                    d.span(),
                    format!(
                        "dependency `{s}` of `{} {}` is not `name`, `name version` or `name version (source)`",
                        p.name.get_ref(),
                        p.version.get_ref()
                    ),
                )
            })?;
            let i = resolve(packages, &by_name, &dep).map_err(|why| {
                at.error(
                    d.span(),
                    format!(
                        "dependency `{s}` of `{} {}` {why}",
                        p.name.get_ref(),
                        p.version.get_ref()
                    ),
                )
            })?;
            if !deps.contains(&i) {
                deps.push(i);
            }
        }
        edges.push(deps);
    }
    Ok(edges)
}

/// What cargo accepts as a package name: letters and digits (Unicode ones too), `-` and `_`.
fn is_crate_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

fn sha256(hex: &str) -> Option<Hash> {
    Hash::hex(HashAlg::Sha256, hex)
}

/// A dependency as the lock writes it.
#[derive(Debug, PartialEq, Eq)]
struct DepRef<'a> {
    name: &'a str,
    version: Option<&'a str>,
    source: Option<&'a str>,
}

/// `name`, `name version` or `name version (source)`.
fn parse_dep(s: &str) -> Option<DepRef<'_>> {
    let (head, source) = match s.find(" (") {
        Some(open) => {
            let inner = s[open + 2..].strip_suffix(')')?;
            if inner.is_empty() || inner.contains([' ', '(', ')']) {
                return None;
            }
            (&s[..open], Some(inner))
        }
        None => (s, None),
    };
    let mut parts = head.split(' ');
    let name = parts.next().filter(|n| !n.is_empty())?;
    let version = parts.next();
    if parts.next().is_some() || version.is_some_and(str::is_empty) || name.contains(['(', ')']) {
        return None;
    }
    if source.is_some() && version.is_none() {
        return None;
    }
    Some(DepRef {
        name,
        version,
        source,
    })
}

/// The package a dependency string means, as cargo's lock decoder picks it.
fn resolve(
    packages: &[LockedPackage],
    by_name: &HashMap<&str, Vec<usize>>,
    dep: &DepRef<'_>,
) -> Result<usize, String> {
    let named = by_name.get(dep.name).map_or(&[][..], Vec::as_slice);
    if named.is_empty() {
        return Err(format!(
            "names `{}`, which the lock does not list",
            dep.name
        ));
    }
    let candidates: Vec<usize> = match dep.version {
        Some(v) => named
            .iter()
            .copied()
            .filter(|&i| packages[i].version == v)
            .collect(),
        None => {
            let versions: std::collections::BTreeSet<&str> = named
                .iter()
                .map(|&i| packages[i].version.as_str())
                .collect();
            if versions.len() > 1 {
                return Err(format!(
                    "is ambiguous: the lock lists `{}` in versions {} (cargo writes `{} VERSION` then)",
                    dep.name,
                    versions.into_iter().collect::<Vec<_>>().join(", "),
                    dep.name
                ));
            }
            named.to_vec()
        }
    };
    if candidates.is_empty() {
        return Err(format!(
            "names `{} {}`, which the lock does not list",
            dep.name,
            dep.version.unwrap_or_default()
        ));
    }
    match dep.source {
        Some(source) => candidates
            .iter()
            .copied()
            .find(|&i| packages[i].source.as_deref() == Some(source))
            .ok_or_else(|| format!("names a source the lock does not list for `{}`", dep.name)),
        None => {
            let paths: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| packages[i].source.is_none())
                .collect();
            match (paths.as_slice(), candidates.as_slice()) {
                ([only], _) | ([], [only]) => Ok(*only),
                _ => Err(format!(
                    "is ambiguous: the lock lists `{}` from {} sources (cargo writes `name version (source)` then)",
                    dep.name,
                    candidates.len()
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn dependency_strings() {
        assert_eq!(
            parse_dep("serde"),
            Some(DepRef {
                name: "serde",
                version: None,
                source: None
            })
        );
        assert_eq!(
            parse_dep("itoa 1.0.19 (registry+https://github.com/rust-lang/crates.io-index)"),
            Some(DepRef {
                name: "itoa",
                version: Some("1.0.19"),
                source: Some(CRATES_IO)
            })
        );
        for bad in [
            "",
            " serde",
            "a b c",
            "a (x)",
            "a 1 (x",
            "a 1 ()",
            "a  1",
            "a 1 (x y)",
        ] {
            assert_eq!(parse_dep(bad), None, "{bad:?}");
        }
    }

    fn lock(text: &str) -> Result<Lock, SbomError> {
        parse(Path::new("Cargo.lock"), text)
    }

    #[test]
    fn path_package_wins_when_the_source_is_left_out() {
        let l = lock(&format!(
            r#"version = 4
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa 1.0.19", "itoa 1.0.19 ({CRATES_IO})"]

[[package]]
name = "itoa"
version = "1.0.19"
source = "{CRATES_IO}"
checksum = "3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4"

[[package]]
name = "itoa"
version = "1.0.19"
"#
        ))
        .expect("parses");
        assert_eq!(l.packages[0].dependencies, vec![2, 1]);
        assert!(l.packages[1].checksum.is_some());
    }

    #[test]
    fn located_errors() {
        let err = |t: &str| lock(t).expect_err("error").to_string();
        assert_eq!(
            err("version = 5\n"),
            "Cargo.lock:1:11: lock file version 5: levee reads Cargo.lock versions 1 to 4 (cargo 1.83+ writes 4)"
        );
        assert_eq!(
            err("[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n"),
            "Cargo.lock:4:17: dependency `b` of `a 1.0.0` names `b`, which the lock does not list"
        );
        assert_eq!(
            err(
                "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n"
            ),
            "Cargo.lock:4:17: dependency `b` of `a 1.0.0` is ambiguous: the lock lists `b` in versions 1.0.0, 2.0.0 (cargo writes `b VERSION` then)"
        );
        assert!(
            err("[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nchecksum = \"abc\"\n")
                .starts_with(
                    "Cargo.lock:4:12: checksum `abc` of `a 1.0.0` is not a SHA-256 digest"
                )
        );
        assert!(
            err("[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n")
                .starts_with("Cargo.lock:4:1: `a 1.0.0` is listed twice"),
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = lock(&deep).expect_err("error").to_string();
        assert!(e.starts_with("Cargo.lock:1:"), "{e}");
    }
}
