//! `levee catalog pipeline`: the nightly pipeline of the catalog repository, rendered from the
//! templates in `pipelines/catalog/` (GitHub Actions and GitLab CI).

use include_dir::{Dir, include_dir};
use serde::Serialize;

use crate::model::manifest::Ci;

static PIPELINES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/pipelines/catalog");

/// A GitHub action pinned by full commit SHA, with its version for the comment.
#[derive(Debug, Clone, Serialize)]
pub struct PinnedAction {
    pub sha: &'static str,
    pub version: &'static str,
}

/// The actions the catalog workflow uses.
#[derive(Debug, Clone, Serialize)]
pub struct Actions {
    pub checkout: PinnedAction,
    pub cache: PinnedAction,
    pub upload_artifact: PinnedAction,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            checkout: PinnedAction {
                sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
                version: "v7.0.1",
            },
            cache: PinnedAction {
                sha: "27d5ce7f107fe9357f9df03efb73ab90386fccae",
                version: "v5.0.5",
            },
            upload_artifact: PinnedAction {
                sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
                version: "v7.0.0",
            },
        }
    }
}

/// What the pipeline runs.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// levee's version to install (`cargo install --locked levee-cli@VERSION`).
    pub version: String,
    /// The catalog directory in the catalog repository.
    pub catalog_dir: String,
    /// Directories `levee catalog scan` walks.
    pub scan_roots: Vec<String>,
    /// A metrics file in the repository, if any.
    pub metrics: Option<String>,
    /// When to run (cron, UTC).
    pub cron: String,
    /// The GitLab job image.
    pub rust_image: String,
    pub actions: Actions,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            version: crate::VERSION.to_string(),
            catalog_dir: super::DEFAULT_DIR.into(),
            scan_roots: vec!["apps".into()],
            metrics: None,
            cron: "17 3 * * *".into(),
            rust_image: "rust:1.95-slim-bookworm".into(),
            actions: Actions::default(),
        }
    }
}

/// The file a CI system reads, relative to the repository root.
pub(crate) fn file_name(ci: Ci) -> &'static str {
    match ci {
        Ci::Github => ".github/workflows/levee-catalog.yml",
        Ci::Gitlab => ".gitlab-ci.yml",
    }
}

/// Renders the pipeline.
pub(crate) fn render(ci: Ci, settings: &Settings) -> Result<String, String> {
    let name = match ci {
        Ci::Github => "github.yml.jinja",
        Ci::Gitlab => "gitlab-ci.yml.jinja",
    };
    let source = PIPELINES
        .get_file(name)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| format!("levee is missing its pipeline template {name}"))?;
    for s in settings
        .scan_roots
        .iter()
        .chain([&settings.catalog_dir])
        .chain(&settings.metrics)
    {
        if !is_safe_path(s) {
            return Err(format!(
                "`{s}` is not a plain relative path (letters, digits, `._-/`, no `..`)"
            ));
        }
    }
    // The values are checked above (safe paths) or levee's own.
    let mut env =
        crate::generate::templates::environment(crate::generate::templates::Dialect::Catalog)
            .map_err(|e| e.to_string())?;
    env.add_template(name, source).map_err(|e| e.to_string())?;
    env.get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(settings)))
        .map(|mut text| {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        })
        .map_err(|e| format!("cannot render {name}: {e}"))
}

/// Paths go into shell commands: keep them to a safe alphabet.
fn is_safe_path(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.starts_with('-')
        && s.split('/').all(|seg| seg != "..")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_renders() {
        for ci in Ci::ALL {
            let text = render(*ci, &Settings::default()).expect("renders");
            assert!(text.contains(crate::VERSION));
            assert!(text.contains("levee lifecycle"));
        }
        let bad = Settings {
            scan_roots: vec!["apps; rm -rf /".into()],
            ..Settings::default()
        };
        assert!(render(Ci::Github, &bad).is_err());
    }
}
