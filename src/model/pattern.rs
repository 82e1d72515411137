//! The patterns of levee's schemas, matched without a regex engine, for the structural checks
//! compiled into levee ([`crate::model::shape`]).
//!
//! A `pattern` that is more than a literal prefix makes jsonschema's generated check build a
//! regex the first time a value reaches it: building the seventeen that levee's schemas use
//! cost a `levee new` about a tenth of its time (0.45 of 4.8 ms, most of it the Unicode classes
//! of `\S` and the control-character patterns) and a `levee check` of one manifest more. The
//! checks compiled into levee read `verdict` copies of the committed schemas in which each such
//! `pattern` is the custom keyword `levee-pattern` with the same pattern, matched here by a plain
//! function of the characters.
//!
//! The published schemas keep `pattern` (editors and the run-time validator, which explains a
//! refusal, use it). Tests hold the two to the same verdicts: each matcher against the regex
//! jsonschema builds from its pattern, on generated strings, and the compiled checks against the
//! run-time validator on every fixture and thousands of mutations of them.

use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

use crate::load::schema::{MULTI_LINE, ONE_LINE};
use crate::model::settings::{CREDENTIAL_WORDS, KEY_COMPOUNDS};

/// The keyword standing for `pattern` in the verdict schemas.
#[cfg(test)]
pub(crate) const KEYWORD: &str = "levee-pattern";

/// Whether a pattern's value matches `s`, in the semantics of the schema's ECMA regex.
pub(crate) type Matcher = fn(&str) -> bool;

/// The matcher of `pattern`, if levee has one. A pattern without one keeps the `pattern`
/// keyword (a literal prefix such as `^OTEL_` is checked without a regex anyway).
pub(crate) fn matcher(pattern: &str) -> Option<Matcher> {
    let m: Matcher = match pattern {
        ONE_LINE => |s| s.chars().all(|c| !one_line_refuses(c)),
        MULTI_LINE => |s| {
            s.chars()
                .all(|c| matches!(c, '\t' | '\n') || !one_line_refuses(c))
        },
        // A setting's value: some character other than white space ...
        r"\S" => |s| s.chars().any(|c| !ecma_white_space(c)),
        // ... and (under `not`) none of these.
        r"[\u0000-\u001F\u007F-\u009F\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]" => {
            |s| {
                s.chars().any(|c| {
                    one_line_refuses(c) || matches!(c, '\u{200e}' | '\u{200f}' | '\u{feff}')
                })
            }
        }
        "^[a-z][a-z0-9-]{1,62}$" => |s| {
            let n = s.chars().count();
            (2..=63).contains(&n)
                && s.as_bytes()[0].is_ascii_lowercase()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        },
        "^[a-z0-9]+(-[a-z0-9]+)*$" => {
            |s| words(s, b"-", |b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
        "^[a-z]([a-z0-9]|-[a-z0-9])*$" => |s| {
            s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && words(s, b"-", |b| b.is_ascii_lowercase() || b.is_ascii_digit())
        },
        "^[A-Za-z0-9]+([-_.][A-Za-z0-9]+)*$" => |s| words(s, b"-_.", |b| b.is_ascii_alphanumeric()),
        "^[A-Z][A-Z0-9_]*$" => {
            |s| s.bytes().next().is_some_and(|b| b.is_ascii_uppercase()) && upper_snake_tail(s)
        }
        "^[A-Z_][A-Z0-9_]*$" => |s| {
            s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase() || b == b'_')
                && upper_snake_tail(s)
        },
        "^[0-9a-f]{40}$" => |s| {
            s.len() == 40
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        },
        "^([1-9][0-9]*m|[0-9]+(\\.[0-9]+)?)$" => |s| match s.strip_suffix('m') {
            Some(n) if n.bytes().next().is_some_and(|b| b != b'0') && all_digits(n) => true,
            _ => match s.split_once('.') {
                Some((whole, part)) => all_digits(whole) && all_digits(part),
                None => all_digits(s),
            },
        },
        "^[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)$" => |s| {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0
                && !s.starts_with('0')
                && matches!(
                    &s[digits..],
                    "Ki" | "Mi" | "Gi" | "Ti" | "k" | "M" | "G" | "T"
                )
        },
        "^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$" => {
            |s| {
                s.strip_prefix("*.").unwrap_or(s).split('.').all(|label| {
                    let b = label.as_bytes();
                    !b.is_empty()
                        && b[0].is_ascii_alphanumeric()
                        && b[b.len() - 1].is_ascii_alphanumeric()
                        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                })
            }
        }
        "^(https://|http://localhost[:/]|http://127\\.0\\.0\\.1[:/])" => |s| {
            s.starts_with("https://")
                || ["http://localhost", "http://127.0.0.1"]
                    .iter()
                    .any(|h| s.strip_prefix(h).is_some_and(|r| r.starts_with([':', '/'])))
        },
        "_PROXY$" => |s| s.ends_with("_PROXY"),
        p if p == crate::model::settings::credential_pattern() => credential,
        _ => return None,
    };
    Some(m)
}

/// A character [`ONE_LINE`] refuses.
fn one_line_refuses(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// ECMAScript's `\s`: white space and line terminators.
fn ecma_white_space(c: char) -> bool {
    matches!(c,
        '\t'..='\r'
        | ' '
        | '\u{a0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200a}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202f}'
        | '\u{205f}'
        | '\u{3000}'
        | '\u{feff}')
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// After the first byte, only `A-Z`, `0-9` and `_`.
fn upper_snake_tail(s: &str) -> bool {
    s.bytes()
        .skip(1)
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// `s` is words of `word` bytes joined by single `separators`: `x(-x)*` in a pattern.
fn words(s: &str, separators: &[u8], word: fn(&u8) -> bool) -> bool {
    s.as_bytes()
        .split(|b| separators.contains(b))
        .all(|w| !w.is_empty() && w.iter().all(word))
}

/// The credential pattern of a setting's name ([`crate::model::settings::credential_pattern`]):
/// a `_`-separated segment of `A-Z0-9` ending with one of [`CREDENTIAL_WORDS`], or a segment
/// that is one of [`KEY_COMPOUNDS`] followed (past any further `_`) by a segment `KEY` or
/// `KEYS`.
fn credential(s: &str) -> bool {
    let segments: Vec<&str> = s.split('_').collect();
    segments.iter().enumerate().any(|(i, seg)| {
        (seg.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && CREDENTIAL_WORDS.iter().any(|w| seg.ends_with(w)))
            || (KEY_COMPOUNDS.contains(seg)
                && segments[i + 1..]
                    .iter()
                    .find(|next| !next.is_empty())
                    .is_some_and(|next| matches!(*next, "KEY" | "KEYS")))
    })
}

/// The `levee-pattern` keyword's check: a string matches the pattern (other values pass, as with
/// `pattern`).
enum Pattern {
    Matched(Matcher),
    /// A pattern without a matcher, checked by a validator of `{"pattern": …}` compiled at run
    /// time. A verdict schema holds the keyword only where [`matcher`] has one (a test keeps it
    /// so), but a stale verdict file then stays correct, only slower, instead of panicking.
    Compiled(jsonschema::Validator),
}

impl<'i> Keyword<'i> for Pattern {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom("does not match the pattern"))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        match self {
            Pattern::Matched(m) => instance.as_str().is_none_or(m),
            Pattern::Compiled(v) => v.is_valid(instance),
        }
    }
}

/// The factory of the `levee-pattern` keyword (jsonschema's custom keyword signature); it never
/// fails (jsonschema's generated check panics on a factory's error).
pub(crate) fn keyword<'a>(
    _parent: &'a Map<String, Value>,
    value: &'a Value,
    _location: jsonschema::paths::Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    Ok(Box::new(match value.as_str().and_then(matcher) {
        Some(m) => Pattern::Matched(m),
        None => Pattern::Compiled(crate::load::schema::compile(
            &serde_json::json!({ "pattern": value }),
        )),
    }))
}

/// `schema` as the compiled checks read it: each `pattern` that [`matcher`] covers written as the
/// [`KEYWORD`] keyword, and without annotations (descriptions, titles, examples, defaults),
/// which decide nothing. It is also the schema's structure the wizard asks which answers are
/// required ([`crate::model::shape::manifest_structure`]), read in a third of the time.
#[cfg(test)]
pub(crate) fn verdict_schema(schema: &Value) -> Value {
    /// Keywords whose value is a map of names to schemas.
    const SCHEMA_MAPS: &[&str] = &[
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "dependentSchemas",
    ];
    /// Keywords whose value is a schema, or a list of schemas.
    const SCHEMAS: &[&str] = &[
        "items",
        "additionalProperties",
        "not",
        "propertyNames",
        "contains",
        "if",
        "then",
        "else",
        "unevaluatedProperties",
        "unevaluatedItems",
        "anyOf",
        "allOf",
        "oneOf",
        "prefixItems",
    ];
    const ANNOTATIONS: &[&str] = &["description", "title", "examples", "default", "$comment"];
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in map {
        let k = k.as_str();
        if ANNOTATIONS.contains(&k) {
            continue;
        }
        let v = match v {
            Value::String(p) if k == "pattern" && matcher(p).is_some() => {
                out.insert(KEYWORD.to_string(), v.clone());
                continue;
            }
            Value::Object(m) if SCHEMA_MAPS.contains(&k) => Value::Object(
                m.iter()
                    .map(|(name, s)| (name.clone(), verdict_schema(s)))
                    .collect(),
            ),
            Value::Array(items) if SCHEMAS.contains(&k) => {
                Value::Array(items.iter().map(verdict_schema).collect())
            }
            _ if SCHEMAS.contains(&k) => verdict_schema(v),
            _ => v.clone(),
        };
        out.insert(k.to_string(), v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::matcher;

    /// Every `pattern` string in `v`.
    pub(crate) fn patterns(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    match c {
                        Value::String(p) if k == "pattern" => out.push(p.clone()),
                        _ => patterns(c, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| patterns(c, out)),
            _ => {}
        }
    }

    /// The distinct patterns of the committed schemas.
    pub(crate) fn committed_patterns() -> Vec<String> {
        let mut out = Vec::new();
        patterns(
            <crate::model::manifest::Manifest as crate::load::document::Checked>::schema(),
            &mut out,
        );
        patterns(
            <crate::model::org::Org as crate::load::document::Checked>::schema(),
            &mut out,
        );
        out.sort();
        out.dedup();
        out
    }

    /// Strings around the patterns' edges: examples each pattern accepts or nearly accepts, each
    /// with single characters inserted, replaced and removed at its start, middle and end, and
    /// pseudo-random strings of the same pieces.
    fn corpus() -> Vec<String> {
        let chars: Vec<char> = "abzmkiAKMGTZ09-_.*:/ \t\n\r\u{0}\u{1f}\u{7f}\u{80}\u{85}\u{9f}\u{a0}\u{1680}\u{2000}\u{200a}\u{200b}\u{200e}\u{200f}\u{2028}\u{2029}\u{202a}\u{202e}\u{202f}\u{205f}\u{2066}\u{2069}\u{3000}\u{feff}é😀"
            .chars()
            .collect();
        let words = [
            "SECRET",
            "TOKEN",
            "PASSWORDS",
            "KEY",
            "KEYS",
            "API",
            "PRIVATE",
            "CLIENT",
            "_PROXY",
            "Ki",
            "Mi",
            "https://",
            "http://",
            "localhost",
            "127.0.0.1",
            "acme",
            "0",
            "1",
        ];
        let seeds: Vec<String> = [
            "",
            " ",
            "\t",
            "x y",
            "a",
            "ab",
            "app-name",
            "a-b-c",
            "finance-ops",
            "a_b.c-d",
            "UPPER_CASE",
            "_UNDER",
            "API_KEY",
            "API__KEYS",
            "MY_API_KEY_X",
            "DB_PASSWORD",
            "GITHUBTOKEN",
            "MAX_TOKENS",
            "SORT_KEY",
            "API_KEYX",
            "X_SECRET_",
            "HTTP_PROXY",
            "500m",
            "0m",
            "0.5",
            "10",
            "1.",
            ".5",
            "512Mi",
            "1G",
            "0Mi",
            "12k",
            "*.acme.corp",
            "a-b.c",
            "acme.",
            "https://x",
            "http://localhost:8080",
            "http://localhost/x",
            "http://127.0.0.1/x",
            "http://example.com",
            "0123456789abcdef0123456789abcdef01234567",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .chain((61..=64).map(|n| "a".repeat(n)))
        .collect();
        let mut out = seeds.clone();
        for seed in &seeds {
            let cs: Vec<char> = seed.chars().collect();
            for at in [0, cs.len() / 2, cs.len()] {
                for &c in &chars {
                    let mut ins = cs.clone();
                    ins.insert(at, c);
                    out.push(ins.into_iter().collect());
                    if at < cs.len() {
                        let mut rep = cs.clone();
                        rep[at] = c;
                        out.push(rep.into_iter().collect());
                    }
                }
                if at < cs.len() {
                    let mut del = cs.clone();
                    del.remove(at);
                    out.push(del.into_iter().collect());
                }
            }
        }
        // xorshift: the same strings on every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for _ in 0..3_000 {
            let mut s = String::new();
            for _ in 0..next(9) {
                if next(3) == 0 {
                    s.push_str(words[next(words.len())]);
                } else {
                    s.push(chars[next(chars.len())]);
                }
            }
            out.push(s);
        }
        out
    }

    /// Each matcher decides as the regex jsonschema builds from its pattern (the run-time
    /// validator's), on every string of [`corpus`].
    #[test]
    fn each_matcher_decides_as_its_pattern_does() {
        let corpus = corpus();
        let mut checked = 0;
        for p in committed_patterns() {
            let Some(m) = matcher(&p) else { continue };
            let regex = crate::load::schema::compile(&json!({"pattern": p}));
            let (mut matched, mut refused) = (0, 0);
            for s in &corpus {
                let want = regex.is_valid(&json!(s));
                assert_eq!(m(s), want, "pattern {p} on {s:?}");
                if want {
                    matched += 1;
                } else {
                    refused += 1;
                }
            }
            // Both outcomes are exercised for every pattern.
            assert!(
                matched >= 5 && refused >= 5,
                "{p}: {matched} matched, {refused} refused"
            );
            checked += 1;
        }
        assert!(checked >= 15, "{checked} patterns checked");
    }

    /// A pattern without a matcher is still checked, by a regex compiled for it, not refused
    /// with an error (the generated check would panic on one).
    #[test]
    fn a_pattern_without_a_matcher_is_checked_by_a_regex() {
        let schema = serde_json::Map::new();
        let value = json!("^ab+c$");
        let location = jsonschema::paths::Location::new();
        assert!(matcher("^ab+c$").is_none());
        let k = super::keyword(&schema, &value, location).expect("a keyword");
        assert!(k.is_valid(&json!("abbc")));
        assert!(!k.is_valid(&json!("ac")));
        assert!(k.is_valid(&json!(3)));
    }

    /// Every pattern of the committed schemas has a matcher, except literal prefixes (`^OTEL_`),
    /// which jsonschema's generated check already tests without a regex.
    #[test]
    fn every_regex_pattern_of_the_schemas_has_a_matcher() {
        let literal_prefix = |p: &str| {
            p.strip_prefix('^').is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
        };
        for p in committed_patterns() {
            assert!(
                matcher(&p).is_some() || literal_prefix(&p),
                "the schema pattern {p} has no matcher in model::pattern: a regex would be built \
                 for it at run time"
            );
        }
    }
}
