//! pip requirements files: `name==1.2.3` pins (with `--hash`, environment markers, extras), `-r`
//! includes (relative to the including file, cycles refused), line continuations and comments.
//! A requirement that does not pin exactly one version (`>=`, `~=`, a bare name, `==1.*`, a URL
//! or a local path) is reported in [`Inventory::unpinned`], never guessed. Requirements files
//! have no edges and no dev split: every pin is direct and required.
//!
//! An include must stay inside the project (the directory of the requirements file levee was
//! given): `-r ../../etc/passwd` or `-r /dev/zero` is refused. A line that is not a requirement
//! at all (pip would refuse it too) is an error that names the file and line but never repeats
//! the line: an include of a file that is not a requirements file (a `.env`) must not print its
//! content.

use std::path::{Path, PathBuf};

use super::{Ecosystem, Hash, Inventory, Package, SbomError, Unpinned, purl_error, pypi_purl};

/// How deep `-r` includes may nest (a cycle is caught before this).
const MAX_INCLUDE_DEPTH: usize = 32;

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let mut inv = Inventory::new(path);
    let mut stack = Vec::new();
    let project = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .map_err(|source| SbomError::Io {
            path: path.display().to_string(),
            source,
        })?;
    read_into(path, &project, &mut inv, &mut stack)?;
    inv.direct = inv.packages.keys().cloned().collect();
    Ok(inv)
}

fn read_into(
    path: &Path,
    project: &Path,
    inv: &mut Inventory,
    stack: &mut Vec<PathBuf>,
) -> Result<(), SbomError> {
    let canonical = path.canonicalize().map_err(|source| SbomError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !canonical.starts_with(project) {
        return Err(SbomError::Invalid {
            path: stack
                .last()
                .map_or_else(|| path.display().to_string(), |p| p.display().to_string()),
            message: format!(
                "`-r {}` includes a file outside the project ({}); levee reads includes only \
                 from inside it",
                crate::support::text::escape_path(path),
                project.display()
            ),
        });
    }
    if stack.contains(&canonical) || stack.len() > MAX_INCLUDE_DEPTH {
        return Err(SbomError::Invalid {
            path: path.display().to_string(),
            message: "requirements files include each other in a cycle (`-r`)".into(),
        });
    }
    stack.push(canonical);
    let text = super::read_text(path)?;
    let file = path.display().to_string();
    for (line_no, line) in logical_lines(&text) {
        let (req, opts) = split_options(&line);
        // Options lines: includes, constraints, index settings.
        if req.is_empty() {
            let mut words = opts.iter();
            while let Some(w) = words.next() {
                let (flag, inline) = match w.split_once('=') {
                    Some((f, v)) => (f, Some(v.to_string())),
                    None => (w.as_str(), None),
                };
                if matches!(flag, "-r" | "--requirement") {
                    let target = inline.or_else(|| words.next().cloned()).unwrap_or_default();
                    let target = path.parent().unwrap_or(Path::new(".")).join(target);
                    read_into(&target, project, inv, stack)?;
                } else if let Some(rest) = flag.strip_prefix("-r").filter(|r| !r.is_empty()) {
                    let target = path.parent().unwrap_or(Path::new(".")).join(rest);
                    read_into(&target, project, inv, stack)?;
                } else if matches!(flag, "-e" | "--editable") {
                    let target = inline.or_else(|| words.next().cloned()).unwrap_or_default();
                    inv.unpinned.push(Unpinned {
                        file: file.clone(),
                        line: line_no,
                        requirement: format!("-e {target}"),
                    });
                }
                // -c constraints, --index-url, --extra-index-url, --find-links, --no-binary,
                // ...: they change where pip looks, not what the app depends on.
            }
            continue;
        }
        let hashes: Vec<Hash> = opts
            .iter()
            .filter_map(|o| {
                o.strip_prefix("--hash=")
                    .or_else(|| o.strip_prefix("--hash "))
            })
            .filter_map(Hash::prefixed)
            .collect();
        let spec = req.split(';').next().unwrap_or("").trim();
        if !is_requirement(spec) {
            return Err(SbomError::Invalid {
                path: format!("{file}:{line_no}"),
                message: "this line is not a pip requirement (pip would refuse it too); is \
                          this a requirements file? (the line is not shown)"
                    .into(),
            });
        }
        let name = super::poetry::requirement_name(spec);
        let rest = spec[name.len()..].trim_start();
        // Drop extras: `name[a,b]==1`.
        let rest = match rest.strip_prefix('[') {
            Some(r) => r
                .split_once(']')
                .map_or("", |(_, after)| after)
                .trim_start(),
            None => rest,
        };
        let version = rest
            .strip_prefix("===")
            .or_else(|| rest.strip_prefix("=="))
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains([',', '*', ' ', '<', '>', '!', '~']));
        match (name.is_empty(), version) {
            (false, Some(v)) => {
                let purl = pypi_purl(name, v).map_err(|e| purl_error(path, name, e))?;
                let mut p = Package::new(Ecosystem::Pypi, name, v, purl);
                p.hashes = hashes;
                inv.add(p);
            }
            _ => inv.unpinned.push(Unpinned {
                file: file.clone(),
                line: line_no,
                requirement: req.trim().to_string(),
            }),
        }
    }
    stack.pop();
    Ok(())
}

/// Has `spec` (a requirement without its markers and options) the shape pip accepts: a name
/// (PEP 508) with optional extras, then nothing, a version specifier or `@ URL`; or a URL or a
/// local path?
fn is_requirement(spec: &str) -> bool {
    let url_or_path = spec.contains("://")
        || spec.starts_with(['.', '/', '~'])
        || spec.starts_with("file:")
        || spec.starts_with("git+");
    if url_or_path {
        return !spec.chars().any(char::is_whitespace);
    }
    let name = super::poetry::requirement_name(spec);
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        return false;
    }
    let mut rest = spec[name.len()..].trim_start();
    if let Some(r) = rest.strip_prefix('[') {
        match r.split_once(']') {
            Some((extras, after))
                if extras.split(',').all(|e| {
                    let e = e.trim();
                    !e.is_empty() && super::poetry::requirement_name(e) == e
                }) =>
            {
                rest = after.trim_start();
            }
            _ => return false,
        }
    }
    rest.is_empty()
        || rest.starts_with('@')
        || rest.starts_with('(')
        || ["===", "==", "!=", "~=", "<=", ">=", "<", ">"]
            .iter()
            .any(|op| rest.starts_with(op))
}

/// Joins `\` continuations and drops comments; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if cur.is_empty() {
            start = i + 1;
        }
        // A comment starts at `#` at the line start or after whitespace (URLs keep `#egg=`).
        let line = match raw
            .match_indices('#')
            .find(|(j, _)| *j == 0 || raw[..*j].ends_with(char::is_whitespace))
        {
            Some((j, _)) => &raw[..j],
            None => raw,
        };
        match line.trim_end().strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(line);
                if !cur.trim().is_empty() {
                    out.push((start, cur.trim().to_string()));
                }
                cur.clear();
            }
        }
    }
    if !cur.trim().is_empty() {
        out.push((start, cur.trim().to_string()));
    }
    out
}

/// Splits a line into its requirement and its options (`--hash=...`, `-r file`).
fn split_options(line: &str) -> (String, Vec<String>) {
    let mut req = Vec::new();
    let mut opts = Vec::new();
    let mut in_opts = false;
    for w in line.split_whitespace() {
        if w.starts_with('-') {
            in_opts = true;
        }
        if in_opts {
            opts.push(w.to_string())
        } else {
            req.push(w)
        }
    }
    (req.join(" "), opts)
}
