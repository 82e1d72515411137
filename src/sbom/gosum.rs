//! Go modules: `go.sum` (every module version the build may use, with its checksum) and, beside
//! it, `go.mod` (the module's own path, and which requirements are direct).
//!
//! A component is a module version that `go.sum` holds a content line for (`<module> <version>
//! h1:…`); a version listed only for its `go.mod` (`<version>/go.mod`) was read while resolving
//! versions, not built, and is left out (as `go mod download` and syft do). The `h1:` checksum
//! is a hash of Go's own file listing, not of any artifact a CycloneDX consumer could check, so
//! it is not recorded as a component hash. `go.sum` has no edges; every module is `required`.

use std::path::Path;

use super::{Ecosystem, Inventory, Package, SbomError, purl_error};

/// The largest `go.sum` or `go.mod` levee reads.
const MAX_BYTES: u64 = 16 << 20;

pub(crate) fn read(path: &Path) -> Result<Inventory, SbomError> {
    let text = read_text(path)?;
    let mut inv = Inventory::new(path);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = fields[..] else {
            return Err(invalid(
                path,
                i + 1,
                "expected `<module> <version> h1:<hash>`",
            ));
        };
        if !hash.starts_with("h1:") && !hash.contains(':') {
            return Err(invalid(path, i + 1, "the checksum is not `h1:<hash>`"));
        }
        if version.ends_with("/go.mod") {
            continue;
        }
        if !version.starts_with('v') || !is_module_path(module) {
            return Err(invalid(
                path,
                i + 1,
                "expected a module path and a `v` version",
            ));
        }
        let purl = golang_purl(module, version).map_err(|e| purl_error(path, module, e))?;
        inv.add(Package::new(Ecosystem::Go, module, version, purl));
    }
    // go.mod beside it: the module itself, and the requirements not marked `// indirect`.
    let gomod = path.with_file_name("go.mod");
    if gomod.is_file() {
        let text = read_text(&gomod)?;
        let mut in_require = false;
        for line in text.lines() {
            let line = line.trim();
            if let Some(m) = line.strip_prefix("module ") {
                inv.root = Some((m.trim().trim_matches('"').to_string(), String::new()));
                continue;
            }
            let req = if in_require {
                if line == ")" {
                    in_require = false;
                    continue;
                }
                Some(line)
            } else if line == "require (" {
                in_require = true;
                None
            } else {
                line.strip_prefix("require ")
            };
            let Some(req) = req else { continue };
            if req.contains("// indirect") {
                continue;
            }
            let mut parts = req.split_whitespace();
            if let (Some(module), Some(version)) = (parts.next(), parts.next())
                && let Ok(purl) = golang_purl(module, version)
                && inv.packages.contains_key(&purl)
            {
                inv.direct.insert(purl);
            }
        }
    }
    Ok(inv)
}

fn read_text(path: &Path) -> Result<String, SbomError> {
    use std::io::Read;
    let io = |source| SbomError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(SbomError::Invalid {
            path: path.display().to_string(),
            message: format!(
                "it is over {} MiB; a go.sum is far smaller",
                MAX_BYTES >> 20
            ),
        });
    }
    String::from_utf8(bytes).map_err(|_| SbomError::Invalid {
        path: path.display().to_string(),
        message: "it is not UTF-8 text".into(),
    })
}

fn invalid(path: &Path, line: usize, what: &str) -> SbomError {
    SbomError::Invalid {
        path: format!("{}:{line}", path.display()),
        message: what.to_string(),
    }
}

/// A module path as Go writes it: letters, digits and `-._~/+!`, no empty segment.
fn is_module_path(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 500
        && m.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/+!".contains(c))
}

/// `pkg:golang/<namespace>/<name>@<version>`.
pub(crate) fn golang_purl(module: &str, version: &str) -> Result<String, packageurl::Error> {
    let (ns, name) = match module.rsplit_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, module),
    };
    let mut purl = packageurl::PackageUrl::new("golang", name)?;
    if let Some(ns) = ns {
        purl.with_namespace(ns)?;
    }
    purl.with_version(version)?;
    Ok(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_lines_and_direct_requirements() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("go.mod"),
            "module example.com/job\n\ngo 1.25\n\nrequire (\n\tgithub.com/google/uuid v1.6.0\n\tgolang.org/x/text v0.14.0 // indirect\n)\n",
        )
        .expect("write");
        let sum = dir.path().join("go.sum");
        std::fs::write(
            &sum,
            "github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n\
             github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=\n\
             golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=\n\
             golang.org/x/mod v0.8.0/go.mod h1:iBbtSCu2XBx23ZKBPSOrRkjjQPZFPuis4dIYUhu/chs=\n",
        )
        .expect("write");
        let inv = read(&sum).expect("reads");
        let purls: Vec<&String> = inv.packages.keys().collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/google/uuid@v1.6.0",
                "pkg:golang/golang.org/x/text@v0.14.0"
            ]
        );
        assert_eq!(
            inv.direct.iter().collect::<Vec<_>>(),
            ["pkg:golang/github.com/google/uuid@v1.6.0"]
        );
        assert_eq!(
            inv.root.as_ref().map(|r| r.0.as_str()),
            Some("example.com/job")
        );
    }

    #[test]
    fn a_broken_line_is_located() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sum = dir.path().join("go.sum");
        std::fs::write(
            &sum,
            "github.com/a/b v1.0.0 h1:x=\nnot a go.sum line at all\n",
        )
        .expect("write");
        let e = read(&sum).expect_err("refused").to_string();
        assert!(e.contains("go.sum:2"), "{e}");
    }

    #[test]
    fn an_empty_go_sum_is_an_app_without_modules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sum = dir.path().join("go.sum");
        std::fs::write(&sum, "").expect("write");
        assert!(read(&sum).expect("reads").packages.is_empty());
    }
}
