//! Inventories -> a CycloneDX JSON document (spec 1.3, 1.4 or 1.5), serialized straight from
//! levee's own packages: borrowed views with the spec's field order, written by serde_json's
//! pretty printer. The bytes are those the `cyclonedx-bom` crate's model gave (a test holds the
//! two side by side: [`reference`]), without building that model first. Purls are built by
//! levee (see [`super::npm_purl`], [`super::pypi_purl`]); bom-refs are the purls, so they are
//! stable across runs and carry no local path.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::spdx::{SpdxExpression, SpdxIdentifier};
use cyclonedx_bom::external_models::uri::Purl;
use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};

use super::{Hash, Inventory, Package, ReadWith, Scope};
use crate::model::manifest::Manifest;

#[cfg(test)]
mod reference;

/// The CycloneDX versions levee writes: the ones `cyclonedx-bom` 0.8 serializes. 1.6 would need
/// a second, hand-written model of the spec; it is left to the crate's upstream support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Spec {
    #[value(name = "1.3")]
    V1_3,
    #[value(name = "1.4")]
    V1_4,
    #[default]
    #[value(name = "1.5")]
    V1_5,
}

impl Spec {
    pub fn as_str(self) -> &'static str {
        match self {
            Spec::V1_3 => "1.3",
            Spec::V1_4 => "1.4",
            Spec::V1_5 => "1.5",
        }
    }
}

/// How to write.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub spec: Spec,
    /// `SOURCE_DATE_EPOCH`: when set, the timestamp comes from it and the serial number is
    /// derived from the content, so two runs give the same bytes.
    pub source_date_epoch: Option<i64>,
}

/// Why writing failed (a bug or an impossible value, never user input that parsed).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the SBOM: {0}")]
pub struct WriteError(String);

/// Namespace for content-derived serial numbers (UUID v5 of the document without serial).
const SERIAL_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6c65_7665_655f_7362_6f6d_5f73_6572_6961);

/// Writes the SBOM of `inventories` as pretty JSON, with a trailing newline.
pub fn write(
    inventories: &[Inventory],
    app: Option<&Manifest>,
    opts: &Options,
) -> Result<Vec<u8>, WriteError> {
    let timestamp = match opts.source_date_epoch {
        Some(secs) => {
            let ts = jiff::Timestamp::from_second(secs)
                .map_err(|e| WriteError(format!("SOURCE_DATE_EPOCH {secs}: {e}")))?;
            ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        }
        None => jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    // The spec's date-time check, as the model applied it (a year before 0 fails it).
    DateTime::try_from(timestamp.clone()).map_err(|e| WriteError(e.to_string()))?;
    let packages = Merged::new(inventories);
    let mut doc = document(inventories, &packages, app, opts.spec, &timestamp);
    let serial = match opts.source_date_epoch {
        Some(_) => uuid::Uuid::new_v5(&SERIAL_NAMESPACE, &render(&doc)?),
        None => uuid::Uuid::new_v4(),
    };
    doc.serial_number = Some(format!("urn:uuid:{serial}"));
    render(&doc)
}

fn render(doc: &Document<'_>) -> Result<Vec<u8>, WriteError> {
    // Sized from the packages, so the buffer is not grown (and copied) several times.
    let mut out = Vec::with_capacity(doc.components.packages.bytes_estimate());
    serde_json::to_writer_pretty(&mut out, doc).map_err(|e| WriteError(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// The document, in the field order of the spec's JSON (the order `cyclonedx-bom` writes).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    metadata: Metadata<'a>,
    components: Components<'a>,
    dependencies: Dependencies<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: &'a str,
    tools: Tools,
    #[serde(skip_serializing_if = "Option::is_none")]
    authors: Option<[Contact<'a>; 1]>,
    component: Component<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Entity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Vec<Property<'a>>>,
}

/// levee as the tool that wrote the SBOM: a component from 1.5 on, a tool entry before.
#[derive(Serialize)]
#[serde(untagged)]
enum Tools {
    List([Tool; 1]),
    Object {
        components: [Box<Component<'static>>; 1],
    },
}

#[derive(Serialize)]
struct Tool {
    vendor: &'static str,
    name: &'static str,
    version: Cow<'static, str>,
}

/// A component (the app, levee as a tool, or a package), with the fields levee fills in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Component<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Entity<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Cow<'a, str>>,
    name: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashes: Option<Hashes<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    licenses: Option<[LicenseChoice<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_references: Option<ExternalReferences<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Vec<Property<'a>>>,
}

impl<'a> Component<'a> {
    fn new(kind: &'static str, name: &'a str, version: &'a str) -> Component<'a> {
        Component {
            kind,
            bom_ref: None,
            supplier: None,
            author: None,
            group: None,
            name: normalized(name),
            version: Some(normalized(version)),
            description: None,
            scope: None,
            hashes: None,
            licenses: None,
            purl: None,
            external_references: None,
            properties: None,
        }
    }
}

#[derive(Serialize)]
struct Entity<'a> {
    name: &'a str,
    contact: [Contact<'a>; 1],
}

#[derive(Serialize)]
struct Contact<'a> {
    name: Cow<'a, str>,
    email: Cow<'a, str>,
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'static str,
    value: Cow<'a, str>,
}

impl<'a> Property<'a> {
    fn new(name: &'static str, value: &'a str) -> Property<'a> {
        Property {
            name,
            value: normalized(value),
        }
    }
}

/// Hashes as `{alg, content}` objects.
struct Hashes<'a>(&'a [Hash]);

impl Serialize for Hashes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'a> {
            alg: &'static str,
            content: &'a str,
        }
        s.collect_seq(self.0.iter().map(|h| One {
            alg: h.alg.cyclonedx(),
            content: &h.hex,
        }))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum LicenseChoice<'a> {
    License(License<'a>),
    #[serde(untagged)]
    Expression {
        expression: &'a str,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum License<'a> {
    #[serde(untagged)]
    Id { id: &'a str },
    #[serde(untagged)]
    Name { name: Cow<'a, str> },
}

/// A package's distributions (spec 1.4 on: hashes on external references).
struct ExternalReferences<'a>(&'a [super::Distribution]);

impl Serialize for ExternalReferences<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            url: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            hashes: Option<Hashes<'a>>,
        }
        s.collect_seq(self.0.iter().map(|d| One {
            kind: "distribution",
            url: &d.url,
            hashes: (!d.hashes.is_empty()).then_some(Hashes(&d.hashes)),
        }))
    }
}

/// The packages, each written as it is serialized (no list of components is built).
struct Components<'a> {
    packages: &'a Merged<'a>,
    spec: Spec,
}

impl Serialize for Components<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.packages.len()))?;
        for p in self.packages.iter() {
            seq.serialize_element(&component(p, self.spec))?;
        }
        seq.end()
    }
}

/// The dependency graph: the app's direct dependencies first, then each component's, keeping
/// only edges to components in the SBOM.
struct Dependencies<'a> {
    root_ref: String,
    direct: BTreeSet<&'a str>,
    packages: &'a Merged<'a>,
}

impl Serialize for Dependencies<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct One<'a, 'b> {
            #[serde(rename = "ref")]
            dependency_ref: &'a str,
            #[serde(rename = "dependsOn", skip_serializing_if = "<[&str]>::is_empty")]
            depends_on: &'b [&'a str],
        }
        let packages = self.packages;
        let mut seq = s.serialize_seq(Some(packages.len() + 1))?;
        let mut edges: Vec<&str> = self
            .direct
            .iter()
            .copied()
            .filter(|d| packages.contains(d))
            .collect();
        seq.serialize_element(&One {
            dependency_ref: &self.root_ref,
            depends_on: &edges,
        })?;
        for p in packages.iter() {
            edges.clear();
            edges.extend(
                p.dependencies
                    .iter()
                    .map(String::as_str)
                    .filter(|d| packages.contains(d)),
            );
            seq.serialize_element(&One {
                dependency_ref: &p.purl,
                depends_on: &edges,
            })?;
        }
        seq.end()
    }
}

/// Every package of every inventory once, in purl order (the narrowest scope wins). One lock
/// file (the common case) is its own inventory's map: nothing to merge.
enum Merged<'a> {
    One(&'a BTreeMap<String, Package>),
    Many(BTreeMap<&'a str, &'a Package>),
}

impl<'a> Merged<'a> {
    fn new(inventories: &'a [Inventory]) -> Merged<'a> {
        if let [only] = inventories {
            return Merged::One(&only.packages);
        }
        let mut packages: BTreeMap<&str, &Package> = BTreeMap::new();
        for inv in inventories {
            for (purl, p) in &inv.packages {
                let keep = packages
                    .get(purl.as_str())
                    .is_none_or(|q| p.scope < q.scope);
                if keep {
                    packages.insert(purl, p);
                }
            }
        }
        Merged::Many(packages)
    }

    /// More than the pretty JSON of the packages takes (indentation included).
    fn bytes_estimate(&self) -> usize {
        let hashes = |hs: &[Hash]| hs.iter().map(|h| h.hex.len() + 96).sum::<usize>();
        8192 + self
            .iter()
            .map(|p| {
                768 + 4 * p.purl.len()
                    + p.name.len()
                    + p.version.len()
                    + p.license.as_ref().map_or(0, |l| l.len() + 64)
                    + hashes(&p.hashes)
                    + p.distributions
                        .iter()
                        .map(|d| d.url.len() + 128 + hashes(&d.hashes))
                        .sum::<usize>()
                    + p.dependencies.iter().map(|d| d.len() + 16).sum::<usize>()
            })
            .sum::<usize>()
    }

    fn len(&self) -> usize {
        match self {
            Merged::One(m) => m.len(),
            Merged::Many(m) => m.len(),
        }
    }

    fn contains(&self, purl: &str) -> bool {
        match self {
            Merged::One(m) => m.contains_key(purl),
            Merged::Many(m) => m.contains_key(purl),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &'a Package> + '_> {
        match self {
            Merged::One(m) => Box::new(m.values()),
            Merged::Many(m) => Box::new(m.values().copied()),
        }
    }
}

fn document<'a>(
    inventories: &'a [Inventory],
    packages: &'a Merged<'a>,
    app: Option<&'a Manifest>,
    spec: Spec,
    timestamp: &'a str,
) -> Document<'a> {
    let root_info = inventories.iter().find_map(|i| i.root.as_ref());
    let name: &str = app
        .map(|m| m.name.as_str())
        .or_else(|| root_info.map(|r| r.0.as_str()))
        .unwrap_or("app");
    let version: &str = root_info.map_or("", |r| r.1.as_str());
    let root_ref = format!("app:{name}");

    let mut root = Component::new("application", name, version);
    root.bom_ref = Some(Cow::Owned(root_ref.clone()));
    if version.is_empty() && spec != Spec::V1_3 {
        // 1.3 requires a component version (an empty one is allowed); 1.4+ make it optional.
        root.version = None;
    }
    let mut metadata = Metadata {
        timestamp,
        tools: tools(spec),
        authors: None,
        component: root,
        supplier: None,
        properties: None,
    };
    if let Some(m) = app {
        describe_app(&mut metadata, m);
    }
    let lockfiles = lockfile_properties(inventories);
    metadata.properties = (!lockfiles.is_empty()).then_some(lockfiles);

    let direct = inventories
        .iter()
        .flat_map(|i| i.direct.iter().map(String::as_str))
        .collect();
    Document {
        bom_format: "CycloneDX",
        spec_version: spec.as_str(),
        version: 1,
        serial_number: None,
        metadata,
        components: Components { packages, spec },
        dependencies: Dependencies {
            root_ref,
            direct,
            packages,
        },
    }
}

/// The app's manifest on the root component and the metadata: description, the team as
/// supplier and author, levee's properties (classification, tier, kind, team).
fn describe_app<'a>(metadata: &mut Metadata<'a>, m: &'a Manifest) {
    let root = &mut metadata.component;
    root.description = m.description.as_deref().map(normalized);
    let team = m.team.as_deref().unwrap_or(&m.owner);
    let contact = || Contact {
        name: normalized(team),
        email: normalized(&m.owner),
    };
    // The supplier's name is written as it is (the model did not normalize it).
    let supplier = || Entity {
        name: team,
        contact: [contact()],
    };
    root.supplier = Some(supplier());
    root.author = Some(normalized(&m.owner));
    let mut props = vec![
        Property::new("levee:classification", m.classification.as_str()),
        Property::new("levee:tier", m.lifecycle.tier.as_str()),
    ];
    if let Some(k) = &m.kind {
        props.push(Property::new("levee:kind", k.as_str()));
    }
    if let Some(t) = &m.team {
        props.push(Property::new("levee:team", t));
    }
    root.properties = Some(props);
    metadata.authors = Some([contact()]);
    metadata.supplier = Some(supplier());
}

/// levee as the tool that wrote the SBOM: a component from 1.5 on, a tool entry before.
fn tools(spec: Spec) -> Tools {
    match spec {
        Spec::V1_5 => {
            let mut levee = Component::new("application", "levee", crate::VERSION);
            levee.purl = Purl::new("cargo", "levee-cli", crate::VERSION)
                .ok()
                .map(|p| Cow::Owned(p.to_string()));
            Tools::Object {
                components: [Box::new(levee)],
            }
        }
        _ => Tools::List([Tool {
            vendor: "levee",
            name: "levee",
            version: normalized(crate::VERSION),
        }]),
    }
}

/// One `levee:lockfile` property per lock file read, each followed by how it was read when that
/// is worth saying (`levee:read-with`).
fn lockfile_properties(inventories: &[Inventory]) -> Vec<Property<'static>> {
    let owned = |name, value: String| Property {
        name,
        value: Cow::Owned(normalized(&value).into_owned()),
    };
    let mut lockfiles = Vec::with_capacity(inventories.len());
    for i in inventories {
        let file = i.lockfile.display().to_string().replace('\\', "/");
        // `Cargo.lock: cargo-metadata`, or `Cargo.lock: lockfile (crates-not-cached)` when the
        // lock was read by itself (its registry crates then carry no licence).
        let read_with = match &i.read_with {
            Some(ReadWith::CargoMetadata) => Some(format!("{file}: cargo-metadata")),
            Some(ReadWith::Lockfile { reason, .. }) => {
                let reason = serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                Some(format!("{file}: lockfile ({reason})"))
            }
            None => None,
        };
        lockfiles.push(owned("levee:lockfile", file));
        if let Some(r) = read_with {
            lockfiles.push(owned("levee:read-with", r));
        }
    }
    lockfiles
}

fn component(p: &Package, spec: Spec) -> Component<'_> {
    let (group, name) = match p.name.split_once('/') {
        Some((g, n)) if g.starts_with('@') => (Some(g), n),
        _ => (None, p.name.as_str()),
    };
    let mut c = Component::new("library", name, &p.version);
    c.bom_ref = Some(Cow::Borrowed(&p.purl));
    c.group = group.map(normalized);
    c.purl = Some(Cow::Borrowed(&p.purl));
    c.scope = Some(match p.scope {
        Scope::Required => "required",
        Scope::Optional => "optional",
        Scope::Dev => "excluded",
    });
    if !p.hashes.is_empty() {
        c.hashes = Some(Hashes(&p.hashes));
    }
    c.licenses = p.license.as_deref().and_then(licenses);
    // Hashes on external references exist from spec 1.4 on.
    if spec != Spec::V1_3 && !p.distributions.is_empty() {
        c.external_references = Some(ExternalReferences(&p.distributions));
    }
    c
}

/// An SPDX id as `license.id`, an SPDX expression as `expression`, anything else as a named
/// licence.
fn licenses(s: &str) -> Option<[LicenseChoice<'_>; 1]> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let choice = if SpdxIdentifier::try_from(s.to_string()).is_ok() {
        LicenseChoice::License(License::Id { id: s })
    } else if s.contains(' ') && SpdxExpression::try_from(s.to_string()).is_ok() {
        LicenseChoice::Expression { expression: s }
    } else if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return licenses(inner);
    } else {
        LicenseChoice::License(License::Name {
            name: normalized(s),
        })
    };
    Some([choice])
}

/// A CycloneDX normalized string: line breaks and tabs become spaces (`\r\n` one space).
fn normalized(s: &str) -> Cow<'_, str> {
    if !s.contains(['\r', '\n', '\t']) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.replace("\r\n", " ").replace(['\r', '\n', '\t'], " "))
}

#[cfg(test)]
mod tests {
    //! The direct writer against the `cyclonedx-bom` model it replaced ([`reference`]): the same
    //! bytes for every spec version, over every lock fixture, several at once, with and without
    //! an app.yaml, and over hostile strings.

    use std::path::{Path, PathBuf};

    use super::*;
    use crate::sbom::cargo::CargoMetadata;
    use crate::sbom::{
        Distribution, Ecosystem, Fallback, HashAlg, ReadOptions, discover, omit_dev,
        read_lockfile_with,
    };

    const SPECS: [Spec; 3] = [Spec::V1_3, Spec::V1_4, Spec::V1_5];

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sbom")
    }

    /// Every fixture directory's lock files (Cargo.lock read by itself: the same on every
    /// machine).
    fn every_fixture() -> Vec<(String, Vec<Inventory>)> {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
            .expect("fixtures")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let opts = ReadOptions {
            cargo_metadata: CargoMetadata::Never,
        };
        let mut out = Vec::new();
        for dir in dirs {
            let Ok(locks) = discover(&dir) else { continue };
            let invs: Vec<Inventory> = locks
                .iter()
                .map(|l| read_lockfile_with(l, opts).expect("fixture reads"))
                .collect();
            out.push((dir.display().to_string(), invs));
        }
        out
    }

    /// Both writers, every spec, a fixed epoch: the same bytes (or the same error).
    fn same(invs: &[Inventory], app: Option<&Manifest>, what: &str) {
        for spec in SPECS {
            for epoch in [1_700_000_000, 0] {
                let opts = Options {
                    spec,
                    source_date_epoch: Some(epoch),
                };
                let ours = write(invs, app, &opts).map_err(|e| e.to_string());
                let theirs = reference::write(invs, app, &opts).map_err(|e| e.to_string());
                match (&ours, &theirs) {
                    (Ok(a), Ok(b)) if a != b => {
                        let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
                        let line = a
                            .lines()
                            .zip(b.lines())
                            // The serial is derived from the rest: name what made it differ.
                            .position(|(x, y)| x != y && !x.contains("\"serialNumber\""))
                            .unwrap_or(a.lines().count().min(b.lines().count()));
                        panic!(
                            "{what}, CycloneDX {}: differs at line {}:\n ours:   {:?}\n theirs: {:?}",
                            spec.as_str(),
                            line + 1,
                            a.lines().nth(line),
                            b.lines().nth(line)
                        );
                    }
                    _ => assert_eq!(ours.is_ok(), theirs.is_ok(), "{what}: {ours:?}"),
                }
                if let (Err(a), Err(b)) = (&ours, &theirs) {
                    assert_eq!(a, b, "{what}");
                }
            }
        }
    }

    #[test]
    fn every_fixture_gives_the_models_bytes_for_every_spec() {
        let all = every_fixture();
        assert!(all.len() >= 20, "fixtures: {}", all.len());
        let mut kinds = std::collections::BTreeSet::new();
        for (name, invs) in &all {
            for i in invs {
                kinds.insert(
                    i.lockfile
                        .file_name()
                        .and_then(|n| n.to_str())
                        .map(|n| n.to_string()),
                );
            }
            same(invs, None, name);
            let mut no_dev = invs.clone();
            no_dev.iter_mut().for_each(omit_dev);
            same(&no_dev, None, &format!("{name} --omit dev"));
        }
        // npm, pnpm, yarn, uv, poetry, Pipfile, pylock, requirements, Cargo and go locks.
        assert!(kinds.len() >= 9, "{kinds:?}");
        // Several lock files at once (one package in two of them keeps its narrowest scope).
        let every: Vec<Inventory> = all.into_iter().flat_map(|(_, i)| i).collect();
        same(&every, None, "every fixture at once");
        same(&[], None, "no lock file");
    }

    #[test]
    fn the_app_and_hostile_strings_give_the_models_bytes() {
        let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/valid");
        let npm = read_lockfile_with(
            &fixtures().join("npm-v3/package-lock.json"),
            ReadOptions::default(),
        )
        .expect("npm-v3");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&manifests)
            .expect("manifests")
            .map(|e| e.expect("entry").path())
            .collect();
        names.sort();
        let mut apps = Vec::new();
        for path in names {
            let app = crate::model::manifest::load(&path)
                .expect("valid manifest")
                .value;
            same(
                std::slice::from_ref(&npm),
                Some(&app),
                &path.display().to_string(),
            );
            apps.push(app);
        }
        assert!(apps.len() >= 5);

        // Line breaks, tabs, quotes, escapes and non-ASCII wherever text reaches the document.
        let nasty = "a\r\nb\rc\nd\te \"q\" \\ \u{1b}[31m \u{7f} é 雪 \u{2028}";
        let mut app = apps[0].clone();
        app.description = Some(nasty.into());
        app.owner = format!("{nasty}@example.com");
        app.team = Some(nasty.into());
        same(std::slice::from_ref(&npm), Some(&app), "hostile app.yaml");
        app.team = None;
        same(std::slice::from_ref(&npm), Some(&app), "no team");

        let mut inv = Inventory::new(Path::new("weird\\dir/\tlock\nfile.json"));
        inv.root = Some((nasty.into(), String::new()));
        inv.read_with = Some(ReadWith::Lockfile {
            reason: Fallback::CratesNotCached,
            detail: Some(nasty.into()),
        });
        let licences = [
            "MIT",
            "  Apache-2.0 ",
            "MIT OR Apache-2.0",
            "(MIT OR Apache-2.0)",
            "(MIT)",
            "((ISC))",
            "GPL-2.0+",
            "MIT OR",
            "SEE LICENSE IN LICENSE.md",
            "Custom\tLicence\r\nv2",
            "",
            "   ",
            nasty,
        ];
        for (i, lic) in licences.iter().enumerate() {
            let name = match i % 3 {
                0 => format!("@scope{i}/{nasty}"),
                1 => format!("plain-{i}"),
                _ => format!("{nasty}/{i}"),
            };
            let version = if i == 4 {
                String::new()
            } else {
                format!("{i}.0.{nasty}")
            };
            let mut p = Package::new(
                Ecosystem::Npm,
                &name,
                &version,
                format!("pkg:npm/p{i}@{nasty}"),
            );
            p.scope = [Scope::Required, Scope::Optional, Scope::Dev][i % 3];
            p.license = Some((*lic).into());
            if i % 2 == 0 {
                p.hashes = vec![
                    Hash::hex(HashAlg::Sha512, &"ab".repeat(64)).expect("hash"),
                    Hash::hex(HashAlg::Sha1, &"0f".repeat(20)).expect("hash"),
                ];
            }
            if i % 4 == 1 {
                p.distributions = vec![
                    Distribution {
                        url: format!("https://example.com/{nasty}.whl"),
                        hashes: vec![Hash::hex(HashAlg::Sha256, &"c".repeat(64)).expect("hash")],
                    },
                    Distribution {
                        url: "file:///x".into(),
                        hashes: Vec::new(),
                    },
                ];
            }
            p.dependencies = (0..i)
                .map(|j| format!("pkg:npm/p{j}@{nasty}"))
                .chain([format!("pkg:npm/missing@{i}")])
                .collect();
            inv.direct.insert(p.purl.clone());
            inv.add(p);
        }
        inv.direct.insert("pkg:npm/not-in-the-sbom@1".into());
        let mut cargo = Inventory::new(Path::new("Cargo.lock"));
        cargo.read_with = Some(ReadWith::CargoMetadata);
        let mut other = Inventory::new(Path::new("rust/Cargo.lock"));
        other.read_with = Some(ReadWith::Lockfile {
            reason: Fallback::Requested,
            detail: None,
        });
        let invs = [inv, cargo, other, npm];
        same(&invs[..1], None, "hostile packages");
        same(&invs, None, "hostile packages beside other locks");
        same(&invs, Some(&app), "hostile packages with an app");
    }

    #[test]
    fn out_of_range_epochs_fail_with_the_models_messages() {
        let none: &[Inventory] = &[];
        for epoch in [-62_135_596_801, -100_000_000_000, 253_402_300_800, i64::MIN] {
            for spec in SPECS {
                let opts = Options {
                    spec,
                    source_date_epoch: Some(epoch),
                };
                let ours = write(none, None, &opts)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                let theirs = reference::write(none, None, &opts)
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                assert_eq!(ours, theirs, "SOURCE_DATE_EPOCH={epoch}");
            }
        }
    }
}
