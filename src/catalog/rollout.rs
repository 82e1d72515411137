//! `levee catalog rollout`: how far each template pack's newest version has reached: every
//! entry's template version against the newest version its pack offers, so the platform team
//! sees which apps still lag after tagging a release (the apps' scheduled upgrade jobs close the
//! gap; docs/fleet-upgrades.md).
//!
//! The decision is a plain function over the entries and what each pack's newest version is;
//! opening the packs (git, the built-in pack, a directory) is the caller's.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Entry;

/// Where an app stands against its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// On the pack's newest version.
    Current,
    /// On an older version: its upgrade pull request is open or due.
    Behind,
    /// On a version newer than the pack's newest release (a pre-release, or a tag since removed).
    Ahead,
    /// The pack could not be read, or a version is not semver.
    Unknown,
    /// The app records no template (not made by `levee new`).
    NoTemplate,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Behind => "behind",
            Status::Ahead => "ahead",
            Status::Unknown => "unknown",
            Status::NoTemplate => "no template",
        }
    }
}

/// One entry's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The pack the newest version was read from (the entry's recorded source, or `--templates`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One pack's rollout: its newest version and how many apps are on each version.
#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub pack: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub apps: usize,
    pub on_latest: usize,
    /// Apps per template version, newest first.
    pub versions: Vec<VersionCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionCount {
    pub version: String,
    pub apps: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub apps: usize,
    pub current: usize,
    pub behind: usize,
    pub ahead: usize,
    pub unknown: usize,
    pub no_template: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Rollout {
    pub summary: Summary,
    pub packs: Vec<Pack>,
    pub apps: Vec<Row>,
}

/// What the caller found for a pack: the name to show it under and its newest version.
#[derive(Debug, Clone)]
pub struct PackLatest {
    /// One name per pack however apps recorded it (`REPO@v1.0.0` and `REPO@v1.1.0` are one).
    pub pack: String,
    pub latest: Result<String, String>,
}

fn semver(v: &str) -> Option<semver::Version> {
    semver::Version::parse(v.trim_start_matches('v')).ok()
}

/// Every entry against its pack's newest version. `pack_of` gets the source the entry records
/// (`builtin` when it records none) and answers for its pack; it is asked once per entry, so it
/// should cache.
pub(crate) fn compute(entries: &[Entry], pack_of: &dyn Fn(&str) -> PackLatest) -> Rollout {
    let mut rows = Vec::new();
    let mut packs: BTreeMap<String, Pack> = BTreeMap::new();
    for e in entries {
        let Some(t) = &e.template else {
            rows.push(Row {
                id: e.id.clone(),
                template: None,
                version: None,
                pack: None,
                latest: None,
                status: Status::NoTemplate,
                error: None,
            });
            continue;
        };
        let source = t
            .source
            .clone()
            .unwrap_or_else(|| crate::scaffold::pack::BUILTIN_SOURCE.to_string());
        let found = pack_of(&source);
        let (latest, error) = match &found.latest {
            Ok(l) => (Some(l.clone()), None),
            Err(e) => (None, Some(e.clone())),
        };
        let status = match (&latest, semver(&t.version)) {
            (None, _) => Status::Unknown,
            (Some(_), None) => Status::Unknown,
            (Some(l), Some(have)) => match semver(l) {
                None => Status::Unknown,
                Some(newest) if have == newest => Status::Current,
                Some(newest) if have < newest => Status::Behind,
                Some(_) => Status::Ahead,
            },
        };
        let error = error.or_else(|| {
            (status == Status::Unknown).then(|| format!("`{}` is not a semver version", t.version))
        });
        let pack = packs.entry(found.pack.clone()).or_insert_with(|| Pack {
            pack: found.pack.clone(),
            latest: latest.clone(),
            error: found.latest.clone().err(),
            apps: 0,
            on_latest: 0,
            versions: Vec::new(),
        });
        pack.apps += 1;
        if status == Status::Current {
            pack.on_latest += 1;
        }
        match pack.versions.iter_mut().find(|v| v.version == t.version) {
            Some(v) => v.apps += 1,
            None => pack.versions.push(VersionCount {
                version: t.version.clone(),
                apps: 1,
            }),
        }
        rows.push(Row {
            id: e.id.clone(),
            template: Some(t.id.clone()),
            version: Some(t.version.clone()),
            pack: Some(found.pack),
            latest,
            status,
            error,
        });
    }
    let mut packs: Vec<Pack> = packs.into_values().collect();
    for p in &mut packs {
        p.versions.sort_by(|a, b| {
            semver(&b.version)
                .cmp(&semver(&a.version))
                .then(a.version.cmp(&b.version))
        });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    let summary = Summary {
        apps: rows.len(),
        current: count(Status::Current),
        behind: count(Status::Behind),
        ahead: count(Status::Ahead),
        unknown: count(Status::Unknown),
        no_template: count(Status::NoTemplate),
    };
    Rollout {
        summary,
        packs,
        apps: rows,
    }
}

/// The text report: a table of the rows, a line per pack, the totals.
pub(crate) fn render(r: &Rollout, rows: &[&Row]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no apps to show\n");
    } else {
        let mut t = crate::support::ui::table(&["ID", "TEMPLATE", "VERSION", "LATEST", "STATUS"]);
        for row in rows {
            t.add_row(vec![
                row.id.clone(),
                row.template.clone().unwrap_or_else(|| "-".into()),
                row.version.clone().unwrap_or_else(|| "-".into()),
                row.latest.clone().unwrap_or_else(|| "-".into()),
                row.status.as_str().to_string(),
            ]);
        }
        out.push_str(&format!("{t}\n"));
    }
    for p in &r.packs {
        let versions = p
            .versions
            .iter()
            .map(|v| format!("{}: {}", v.version, v.apps))
            .collect::<Vec<_>>()
            .join(", ");
        match (&p.latest, &p.error) {
            (Some(latest), _) => out.push_str(&format!(
                "pack {}: newest {latest}; {} of {} app(s) on it ({versions})\n",
                p.pack, p.on_latest, p.apps
            )),
            (None, error) => out.push_str(&format!(
                "pack {}: cannot read its versions ({}); {} app(s) ({versions})\n",
                p.pack,
                error.as_deref().unwrap_or("unknown error"),
                p.apps
            )),
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "{} app(s): {} on their pack's newest template version, {} behind, {} ahead, {} unknown, \
         {} without a template\n",
        s.apps, s.current, s.behind, s.ahead, s.unknown, s.no_template
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, version: Option<&str>, source: Option<&str>) -> Entry {
        let mut text = format!(
            "name: {id}\nowner: a@acme.corp\nclassification: internal\nlifecycle: {{tier: sandbox}}\n"
        );
        if let Some(v) = version {
            text.push_str(&format!("template: {{id: form-node, version: \"{v}\""));
            if let Some(s) = source {
                text.push_str(&format!(", source: \"{s}\""));
            }
            text.push_str("}\n");
        }
        let m: crate::model::manifest::Manifest = serde_norway::from_str(&text).expect("manifest");
        Entry::from_manifest(
            &m,
            &crate::model::org::Org::default(),
            std::path::Path::new(id),
            "2026-03-01T00:00:00Z",
        )
    }

    #[test]
    fn the_table() {
        let entries = vec![
            entry(
                "a",
                Some("1.1.0"),
                Some("https://git.acme.corp/pack@v1.1.0"),
            ),
            entry(
                "b",
                Some("1.0.0"),
                Some("https://git.acme.corp/pack@v1.0.0"),
            ),
            entry("c", Some("1.2.0-rc.1"), Some("https://git.acme.corp/pack")),
            entry("d", Some("1.0.0"), None),
            entry("e", None, None),
            entry("f", Some("2.0.0"), Some("/gone/pack")),
            entry("g", Some("one"), Some("https://git.acme.corp/pack")),
        ];
        let r = compute(&entries, &|source| {
            if source.starts_with("https://git.acme.corp/pack") {
                PackLatest {
                    pack: "https://git.acme.corp/pack".into(),
                    latest: Ok("1.1.0".into()),
                }
            } else if source == "builtin" {
                PackLatest {
                    pack: "builtin".into(),
                    latest: Ok("1.0.0".into()),
                }
            } else {
                PackLatest {
                    pack: source.into(),
                    latest: Err("no such directory".into()),
                }
            }
        });
        let statuses: Vec<(&str, Status)> =
            r.apps.iter().map(|a| (a.id.as_str(), a.status)).collect();
        assert_eq!(
            statuses,
            [
                ("a", Status::Current),
                ("b", Status::Behind),
                ("c", Status::Ahead),
                ("d", Status::Current),
                ("e", Status::NoTemplate),
                ("f", Status::Unknown),
                ("g", Status::Unknown),
            ]
        );
        let git = &r
            .packs
            .iter()
            .find(|p| p.pack.starts_with("https"))
            .expect("git")
            .clone();
        assert_eq!((git.apps, git.on_latest), (4, 1));
        let versions: Vec<(&str, usize)> = git
            .versions
            .iter()
            .map(|v| (v.version.as_str(), v.apps))
            .collect();
        assert_eq!(
            versions,
            [("1.2.0-rc.1", 1), ("1.1.0", 1), ("1.0.0", 1), ("one", 1)]
        );
        assert_eq!(
            (
                r.summary.current,
                r.summary.behind,
                r.summary.ahead,
                r.summary.unknown,
                r.summary.no_template
            ),
            (2, 1, 1, 2, 1)
        );
        assert_eq!(r.apps[5].error.as_deref(), Some("no such directory"));
        assert_eq!(
            r.apps[6].error.as_deref(),
            Some("`one` is not a semver version")
        );
    }
}
