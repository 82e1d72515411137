//! The SBOM as levee wrote it before [`super::write`] serialized straight from its own packages:
//! through the `cyclonedx-bom` crate's model. Kept for the tests only, as the oracle the direct
//! writer must match byte for byte (every spec version, every lock format).

use std::collections::{BTreeMap, BTreeSet};

use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::external_models::spdx::{SpdxExpression, SpdxIdentifier};
use cyclonedx_bom::external_models::uri::{Purl, Uri};
use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components, Scope as CdxScope};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::external_reference::{
    ExternalReference, ExternalReferenceType, ExternalReferences, Uri as RefUri,
};
use cyclonedx_bom::models::hash::{Hash as CdxHash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::organization::{OrganizationalContact, OrganizationalEntity};
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::{Tool, Tools};

use super::{Options, SERIAL_NAMESPACE, Spec, WriteError};
use crate::model::manifest::Manifest;
use crate::sbom::{Hash, Inventory, Package, ReadWith, Scope};

fn cdx(spec: Spec) -> SpecVersion {
    match spec {
        Spec::V1_3 => SpecVersion::V1_3,
        Spec::V1_4 => SpecVersion::V1_4,
        Spec::V1_5 => SpecVersion::V1_5,
    }
}

/// Writes the SBOM of `inventories` as pretty JSON, with a trailing newline.
pub(super) fn write(
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
    let bom = build(inventories, app, opts.spec, &timestamp)?;
    let serial = match opts.source_date_epoch {
        Some(_) => {
            let unserialed = render(bom.clone(), opts.spec)?;
            uuid::Uuid::new_v5(&SERIAL_NAMESPACE, &unserialed)
        }
        None => uuid::Uuid::new_v4(),
    };
    let mut bom = bom;
    bom.serial_number = Some(UrnUuid::from(serial));
    render(bom, opts.spec)
}

fn render(bom: Bom, spec: Spec) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::with_capacity(64 * 1024);
    bom.output_as_json(&mut out, cdx(spec))
        .map_err(|e| WriteError(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn build(
    inventories: &[Inventory],
    app: Option<&Manifest>,
    spec: Spec,
    timestamp: &str,
) -> Result<Bom, WriteError> {
    let (packages, direct) = merged_packages(inventories);
    let root_info = inventories.iter().find_map(|i| i.root.clone());
    let name = app
        .map(|m| m.name.clone())
        .or_else(|| root_info.as_ref().map(|r| r.0.clone()))
        .unwrap_or_else(|| "app".into());
    let version = root_info.map(|r| r.1).unwrap_or_default();
    let root_ref = format!("app:{name}");

    let mut root = Component::new(
        Classification::Application,
        &name,
        &version,
        Some(root_ref.clone()),
    );
    if version.is_empty() && spec != Spec::V1_3 {
        // 1.3 requires a component version (an empty one is allowed); 1.4+ make it optional.
        root.version = None;
    }
    let mut metadata = Metadata {
        timestamp: Some(
            DateTime::try_from(timestamp.to_string()).map_err(|e| WriteError(e.to_string()))?,
        ),
        tools: None,
        authors: None,
        component: None,
        manufacture: None,
        supplier: None,
        licenses: None,
        properties: None,
        lifecycles: None,
    };
    if let Some(m) = app {
        describe_app(&mut root, &mut metadata, m);
    }
    metadata.tools = Some(tools(spec));
    let lockfiles = lockfile_properties(inventories);
    metadata.properties = (!lockfiles.is_empty()).then_some(Properties(lockfiles));
    metadata.component = Some(root);

    let (components, deps) = components_and_dependencies(&packages, &direct, root_ref, spec);
    Ok(Bom {
        version: 1,
        serial_number: None,
        metadata: Some(metadata),
        components: Some(Components(components)),
        services: None,
        external_references: None,
        dependencies: Some(Dependencies(deps)),
        compositions: None,
        properties: None,
        vulnerabilities: None,
        signature: None,
        annotations: None,
        formulation: None,
        spec_version: cdx(spec),
    })
}

/// Every package of every inventory once, by purl (the narrowest scope wins), and the purls
/// any inventory depends on directly.
fn merged_packages(inventories: &[Inventory]) -> (BTreeMap<&str, &Package>, BTreeSet<&str>) {
    let mut packages: BTreeMap<&str, &Package> = BTreeMap::new();
    let mut direct: BTreeSet<&str> = BTreeSet::new();
    for inv in inventories {
        for (purl, p) in &inv.packages {
            let keep = packages
                .get(purl.as_str())
                .is_none_or(|q| p.scope < q.scope);
            if keep {
                packages.insert(purl, p);
            }
        }
        direct.extend(inv.direct.iter().map(String::as_str));
    }
    (packages, direct)
}

/// The app's manifest on the root component and the metadata: description, the team as
/// supplier and author, levee's properties (classification, tier, kind, team).
fn describe_app(root: &mut Component, metadata: &mut Metadata, m: &Manifest) {
    root.description = m.description.as_deref().map(NormalizedString::new);
    let team = m.team.clone().unwrap_or_else(|| m.owner.clone());
    let contact = OrganizationalContact::new(&team, Some(&m.owner));
    let mut supplier = OrganizationalEntity::new(&team);
    supplier.contact = Some(vec![contact.clone()]);
    root.supplier = Some(supplier.clone());
    root.author = Some(NormalizedString::new(&m.owner));
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
    root.properties = Some(Properties(props));
    metadata.authors = Some(vec![contact]);
    metadata.supplier = Some(supplier);
}

/// levee as the tool that wrote the SBOM: a component from 1.5 on, a tool entry before.
fn tools(spec: Spec) -> Tools {
    match spec {
        Spec::V1_5 => {
            let mut levee =
                Component::new(Classification::Application, "levee", crate::VERSION, None);
            levee.group = None;
            levee.purl = Purl::new("cargo", "levee-cli", crate::VERSION).ok();
            Tools::Object {
                services: None,
                components: Some(Components(vec![levee])),
            }
        }
        _ => Tools::List(vec![Tool::new("levee", "levee", crate::VERSION)]),
    }
}

/// One `levee:lockfile` property per lock file read, each followed by how it was read when that
/// is worth saying (`levee:read-with`).
fn lockfile_properties(inventories: &[Inventory]) -> Vec<Property> {
    let mut lockfiles: Vec<Property> = Vec::with_capacity(inventories.len());
    for i in inventories {
        let file = i.lockfile.display().to_string().replace('\\', "/");
        lockfiles.push(Property::new("levee:lockfile", &file));
        // `Cargo.lock: cargo-metadata`, or `Cargo.lock: lockfile (crates-not-cached)` when the
        // lock was read by itself (its registry crates then carry no licence).
        match &i.read_with {
            Some(ReadWith::CargoMetadata) => {
                lockfiles.push(Property::new(
                    "levee:read-with",
                    &format!("{file}: cargo-metadata"),
                ));
            }
            Some(ReadWith::Lockfile { reason, .. }) => {
                let reason = serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                lockfiles.push(Property::new(
                    "levee:read-with",
                    &format!("{file}: lockfile ({reason})"),
                ));
            }
            None => {}
        }
    }
    lockfiles
}

/// The components in purl order, and the dependency graph: the app's direct dependencies first,
/// then each component's, keeping only edges to components in the SBOM.
fn components_and_dependencies(
    packages: &BTreeMap<&str, &Package>,
    direct: &BTreeSet<&str>,
    root_ref: String,
    spec: Spec,
) -> (Vec<Component>, Vec<Dependency>) {
    let mut components = Vec::with_capacity(packages.len());
    let mut deps = vec![Dependency {
        dependency_ref: root_ref,
        dependencies: direct
            .iter()
            .filter(|d| packages.contains_key(*d))
            .map(|d| d.to_string())
            .collect(),
    }];
    for (purl, p) in packages {
        components.push(component(p, spec));
        deps.push(Dependency {
            dependency_ref: purl.to_string(),
            dependencies: p
                .dependencies
                .iter()
                .filter(|d| packages.contains_key(d.as_str()))
                .cloned()
                .collect(),
        });
    }
    (components, deps)
}

fn component(p: &Package, spec: Spec) -> Component {
    let (group, name) = match p.name.split_once('/') {
        Some((g, n)) if g.starts_with('@') => (Some(g), n),
        _ => (None, p.name.as_str()),
    };
    let mut c = Component::new(
        Classification::Library,
        name,
        &p.version,
        Some(p.purl.clone()),
    );
    c.group = group.map(NormalizedString::new);
    c.purl = Some(p.purl.parse().unwrap_or_else(|()| {
        Purl::new("generic", name, &p.version).unwrap_or_else(|_| unreachable_purl())
    }));
    c.scope = Some(match p.scope {
        Scope::Required => CdxScope::Required,
        Scope::Optional => CdxScope::Optional,
        Scope::Dev => CdxScope::Excluded,
    });
    if !p.hashes.is_empty() {
        c.hashes = Some(hashes(&p.hashes));
    }
    c.licenses = p.license.as_deref().and_then(licenses);
    // Hashes on external references exist from spec 1.4 on.
    if spec != Spec::V1_3 && !p.distributions.is_empty() {
        c.external_references = Some(ExternalReferences(
            p.distributions
                .iter()
                .map(|d| ExternalReference {
                    external_reference_type: ExternalReferenceType::Distribution,
                    url: RefUri::Url(Uri::new(&d.url)),
                    comment: None,
                    hashes: (!d.hashes.is_empty()).then(|| hashes(&d.hashes)),
                })
                .collect(),
        ));
    }
    c
}

/// `FromStr for Purl` cannot fail in cyclonedx-bom 0.8; this keeps the code total anyway.
fn unreachable_purl() -> Purl {
    Purl::new("generic", "unknown", "0").unwrap_or_else(|_| {
        "pkg:generic/unknown"
            .parse()
            .unwrap_or_else(|()| unreachable_purl())
    })
}

fn hashes(hs: &[Hash]) -> Hashes {
    Hashes(
        hs.iter()
            .map(|h| CdxHash {
                alg: HashAlgorithm::new_unchecked(h.alg.cyclonedx()),
                content: HashValue(h.hex.clone()),
            })
            .collect(),
    )
}

/// An SPDX id as `license.id`, an SPDX expression as `expression`, anything else as a named
/// licence.
fn licenses(s: &str) -> Option<Licenses> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let choice = if let Ok(id) = SpdxIdentifier::try_from(s.to_string()) {
        LicenseChoice::License(License::license_id(&id.to_string()))
    } else if s.contains(' ')
        && let Ok(expr) = SpdxExpression::try_from(s.to_string())
    {
        LicenseChoice::Expression(expr)
    } else if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return licenses(inner);
    } else {
        LicenseChoice::License(License::named_license(s))
    };
    Some(Licenses(vec![choice]))
}
