//! Property: any manifest the library serializes parses back equal (through levee's own loader,
//! with every check), and no input makes the loader panic.

use std::path::Path;

use levee::load::document;
use levee::model::manifest::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{1,40}"
}

/// A dataset name: lowercase words joined by single hyphens.
fn slug() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}"
}

fn text() -> impl Strategy<Value = String> {
    // Free text with the characters that trouble YAML writers: quotes, colons, hashes, leading
    // dashes and spaces, unicode. (A line break is refused: see `refused_characters_never_load`.)
    "[ -~\u{e9}\u{4e2d}\u{feff}]{0,40}"
}

/// One character levee refuses in user text (`levee::support::text::forbidden`).
fn refused() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('\u{0}', '\u{1f}'),
        Just('\u{7f}'),
        proptest::char::range('\u{80}', '\u{9f}'),
        Just('\u{2028}'),
        Just('\u{2029}'),
        proptest::char::range('\u{202a}', '\u{202e}'),
        proptest::char::range('\u{2066}', '\u{2069}'),
    ]
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn date() -> impl Strategy<Value = Date> {
    (2000i16..2100, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date(jiff::civil::date(y, m, d)))
}

fn sso() -> impl Strategy<Value = Sso> {
    (
        option::of("https://[a-z]{1,10}\\.example\\.com"),
        vec(name(), 0..3),
        vec("[a-z]{1,8}", 0..3),
    )
        .prop_map(|(issuer, groups, scopes)| Sso {
            provider: SsoProvider::Oidc,
            issuer,
            groups,
            scopes,
        })
}

fn runtime() -> impl Strategy<Value = Runtime> {
    (
        option::of(pick(RuntimeType::ALL)),
        option::of((1u32..8000).prop_map(Cpu)),
        option::of((1u64..64, pick(&[1u64 << 20, 1 << 30])).prop_map(|(n, u)| Memory(n * u))),
        option::of(1u32..1000),
        vec("(\\*\\.)?[a-z]{1,10}\\.(corp|com)", 0..3),
    )
        .prop_map(
            |(kind, cpu_limit, mem_limit, max_runtime_minutes, egress)| Runtime {
                kind,
                cpu_limit,
                mem_limit,
                max_runtime_minutes,
                egress,
            },
        )
}

/// Settings levee accepts: UPPER_SNAKE names that are neither credentials nor reserved, one-line
/// values with the characters that trouble YAML writers (quotes, colons, hashes, `$(...)`).
fn settings() -> impl Strategy<Value = indexmap::IndexMap<String, String>> {
    proptest::collection::btree_map(
        "[A-Z][A-Z0-9_]{0,12}".prop_filter("a valid setting name", |n| {
            levee::model::settings::name_problem(n).is_none()
        }),
        "[ -~\u{e9}\u{4e2d}]{1,40}".prop_filter("a valid value", |v| {
            levee::model::settings::value_problem(v).is_none()
        }),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn manifest() -> impl Strategy<Value = Manifest> {
    (
        (
            name(),
            option::of(text()),
            "[a-z]{1,10}\\.[a-z]{1,10}@[a-z]{1,10}\\.corp",
            // A team is written as the catalog and Kubernetes labels take it.
            option::of("[A-Za-z0-9]{1,10}([-_.][A-Za-z0-9]{1,10}){0,3}"),
            option::of(
                proptest::sample::select(vec!["dashboard", "form", "webhook"]).prop_map(Kind::from),
            ),
            option::of(proptest::sample::select(vec!["node", "python"]).prop_map(Stack::from)),
            pick(Classification::ALL),
            option::of(sso()),
        ),
        (
            option::of(runtime()),
            proptest::sample::subsequence(vec!["API_KEY", "TOKEN", "DB_PASSWORD"], 0..3),
            vec((slug(), pick(AccessLevel::ALL), option::of(text())), 0..3),
            pick(Tier::ALL),
            option::of(date()),
            1u32..400,
            option::of((option::of("CC-[0-9]{1,5}"), option::of(0u32..100_000))),
            option::of(pick(Ci::ALL)),
            option::of((name(), "[0-9]\\.[0-9]\\.[0-9]", option::of(text()))),
            settings(),
        ),
    )
        .prop_flat_map(
            |((name, description, owner, team, kind, stack, classification, sso), rest)| {
                let (
                    runtime,
                    secret_names,
                    data,
                    tier,
                    created,
                    days,
                    cost,
                    ci,
                    template,
                    settings,
                ) = rest;
                pick(SecretProvider::ALL).prop_map(move |provider| Manifest {
                    name: name.clone(),
                    description: description.clone(),
                    owner: owner.clone(),
                    team: team.clone(),
                    kind: kind.clone(),
                    stack: stack.clone(),
                    classification,
                    sso: sso.clone(),
                    runtime: runtime.clone(),
                    secrets: secret_names
                        .iter()
                        .map(|n| Secret {
                            name: (*n).to_string(),
                            provider,
                            path: None,
                        })
                        .collect(),
                    settings: settings.clone(),
                    data_access: data
                        .iter()
                        .map(|(dataset, access_level, purpose)| DataAccess {
                            dataset: dataset.clone(),
                            access_level: *access_level,
                            purpose: purpose.clone(),
                        })
                        .collect(),
                    lifecycle: Lifecycle {
                        tier,
                        created,
                        expires: created.map(|c| {
                            Date(
                                c.0.checked_add(jiff::Span::new().days(i64::from(days)))
                                    .unwrap_or(c.0),
                            )
                        }),
                    },
                    cost: cost.clone().map(|(center, usd)| Cost {
                        center: center.clone(),
                        estimated_monthly_usd: usd.map(|u| f64::from(u) / 4.0),
                    }),
                    ci,
                    template: template.clone().map(|(id, version, source)| TemplateRef {
                        id,
                        version,
                        source,
                    }),
                    declared: Default::default(),
                })
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialized_manifests_parse_back_equal(m in manifest()) {
        let yaml = m.to_yaml();
        let loaded = document::parse_str::<Manifest>(Path::new("app.yaml"), &yaml);
        match loaded {
            Ok(l) => prop_assert_eq!(l.value, m, "yaml:\n{}", yaml),
            Err(e) => {
                let detail = match &e {
                    document::LoadError::Invalid { diags, .. } => format!("{diags:#?}"),
                    other => other.to_string(),
                };
                prop_assert!(false, "did not parse back:\n{}\n{}", yaml, detail);
            }
        }
    }

    /// A manifest that serializes fine but holds a refused character in any free-text field
    /// never loads: the error names the field.
    #[test]
    fn refused_characters_never_load(
        m in manifest(),
        c in refused(),
        field in 0usize..3,
        at in 0usize..40,
    ) {
        let mut m = m;
        let slot = match field {
            0 => &mut m.description,
            1 => &mut m.team,
            _ => &mut m.cost.get_or_insert(Cost { center: None, estimated_monthly_usd: None }).center,
        };
        let mut s = slot.clone().unwrap_or_default();
        let i = s.char_indices().nth(at).map_or(s.len(), |(i, _)| i);
        s.insert(i, c);
        *slot = Some(s);
        let yaml = m.to_yaml();
        match document::parse_str::<Manifest>(Path::new("app.yaml"), &yaml) {
            Ok(_) => prop_assert!(false, "accepted {:?}:\n{}", c, yaml),
            Err(document::LoadError::Invalid { diags, .. }) => {
                let want = ["description", "team", "cost.center"][field];
                prop_assert!(
                    diags.iter().any(|d| d.field.as_deref() == Some(want) && d.line.is_some()),
                    "{:?} not located at {}: {:#?}", c, want, diags
                );
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = document::parse_str::<Manifest>(Path::new("app.yaml"), &s);
    }

    #[test]
    fn arbitrary_yaml_like_text_never_panics(
        s in "([a-z_]{1,12}: ?(\\[|\\{|&a |\\*a|'|\"|-|[0-9.]{1,5}|[a-z]{1,6})?\n {0,4}){0,20}"
    ) {
        let _ = document::parse_str::<Manifest>(Path::new("app.yaml"), &s);
    }
}
