//! Surgical edits of a user's YAML file: change, add or remove one scalar and keep every other
//! byte (comments, key order, quoting, blank lines) as it was.
//!
//! Positions come from levee's own loader ([`crate::load::yaml`]), which records where every value
//! starts. An edit replaces exactly the bytes of one scalar, or inserts one `key: value` line with
//! the indentation of its siblings (or `, key: value` inside a flow mapping), or removes one line.
//! After editing, the caller re-parses the result and checks it means what was intended.

use crate::load::yaml::{self, Document, Pos};

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("`{0}` is not in the file")]
    Missing(String),
    #[error("`{0}` is not a plain value levee can edit in place")]
    NotScalar(String),
    #[error("the mapping holding `{0}` is not in the file")]
    NoParent(String),
    #[error("the file does not parse: {0}")]
    Parse(String),
}

/// One change to a scalar at a JSON pointer (`/lifecycle/tier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set the value (added if absent). The value is written as YAML: pass a plain scalar
    /// (`production`, `2026-05-01`); it is quoted if it would not read back as the same text.
    Set(String, String),
    /// Remove the key and its value, if present.
    Remove(String),
}

/// Applies changes one at a time, re-reading positions after each.
#[cfg(test)]
pub(crate) fn apply(text: &str, changes: &[Change]) -> Result<String, EditError> {
    let doc = yaml::parse(text).map_err(|e| EditError::Parse(e.message))?;
    apply_parsed(text, &doc, changes)
}

/// [`apply`] to `text` whose parse, `doc`, the caller already has. Changes that each replace a
/// scalar already in the file are made in one pass over `doc`'s positions (they cannot touch
/// each other's bytes); any other change is made one at a time, re-reading positions after
/// each.
pub(crate) fn apply_parsed(
    text: &str,
    doc: &Document,
    changes: &[Change],
) -> Result<String, EditError> {
    let mut in_place = Vec::with_capacity(changes.len());
    for change in changes {
        match change {
            Change::Set(pointer, value) => match replacement(text, doc, pointer, value)? {
                Some(r) => in_place.push(r),
                None => break,
            },
            Change::Remove(_) => break,
        }
    }
    in_place.sort_by_key(|r| r.start);
    let disjoint = in_place
        .windows(2)
        .all(|w| w[0].start < w[1].start && w[0].end <= w[1].start);
    if in_place.len() == changes.len() && disjoint {
        return Ok(splice(text, &in_place));
    }
    let mut text = text.to_string();
    for (i, change) in changes.iter().enumerate() {
        let reparsed;
        let doc = if i == 0 {
            doc
        } else {
            reparsed = yaml::parse(&text).map_err(|e| EditError::Parse(e.message))?;
            &reparsed
        };
        text = match change {
            Change::Set(pointer, value) => set(&text, doc, pointer, value)?,
            Change::Remove(pointer) => remove(&text, doc, pointer)?,
        };
    }
    Ok(text)
}

/// The bytes `text[start..end]` replaced `with` new ones.
struct Replacement {
    start: usize,
    end: usize,
    with: String,
}

/// `text` with each replacement made (in order, none overlapping).
fn splice(text: &str, replacements: &[Replacement]) -> String {
    let added: usize = replacements.iter().map(|r| r.with.len()).sum();
    let mut out = String::with_capacity(text.len() + added);
    let mut at = 0;
    for r in replacements {
        out.push_str(&text[at..r.start]);
        out.push_str(&r.with);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// YAML for a scalar: plain when it reads back as the same string, else double-quoted.
pub(crate) fn scalar(value: &str) -> String {
    let plain_ok = !value.is_empty()
        && yaml::parse(&format!("k: {value}\n"))
            .ok()
            .and_then(|d| {
                d.value
                    .get("k")
                    .and_then(|v| v.as_str())
                    .map(|s| s == value)
            })
            .unwrap_or(false);
    if plain_ok || crate::support::clock::Date::parse(value).is_ok() {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_default()
    }
}

fn set(text: &str, doc: &Document, pointer: &str, value: &str) -> Result<String, EditError> {
    match replacement(text, doc, pointer, value)? {
        Some(r) => Ok(splice(text, std::slice::from_ref(&r))),
        None => insert(text, doc, pointer, &scalar(value)),
    }
}

/// Setting the scalar at `pointer` in place, when the file has it (`None`: it is to be added).
fn replacement(
    text: &str,
    doc: &Document,
    pointer: &str,
    value: &str,
) -> Result<Option<Replacement>, EditError> {
    let Some(existing) = doc.value.pointer(pointer) else {
        return Ok(None);
    };
    if existing.is_object() || existing.is_array() {
        return Err(EditError::NotScalar(pointer.into()));
    }
    let pos = doc
        .spans
        .find(pointer)
        .filter(|(p, _)| p == pointer)
        .ok_or_else(|| EditError::Missing(pointer.into()))?
        .1
        .value;
    let end = scalar_end(text, pos);
    // Keep the user's quoting: a value written `"prototype"` stays double-quoted.
    let mut with = match text[pos.offset..end].chars().next() {
        Some('"') => serde_json::to_string(value).unwrap_or_else(|_| scalar(value)),
        Some('\'') => format!("'{}'", value.replace('\'', "''")),
        _ => scalar(value),
    };
    // An empty value (`expires:`) has no token: keep one space after the colon.
    if pos.offset == end && !text[..pos.offset].ends_with(' ') {
        with.insert(0, ' ');
    }
    Ok(Some(Replacement {
        start: pos.offset,
        end,
        with,
    }))
}

fn remove(text: &str, doc: &Document, pointer: &str) -> Result<String, EditError> {
    let Some((found, span)) = doc.spans.find(pointer) else {
        return Ok(text.to_string());
    };
    if found != pointer {
        return Ok(text.to_string());
    }
    let key = span
        .key
        .ok_or_else(|| EditError::NotScalar(pointer.into()))?;
    if doc
        .value
        .pointer(pointer)
        .is_some_and(|v| v.is_object() || v.is_array())
    {
        return Err(EditError::NotScalar(pointer.into()));
    }
    let end = scalar_end(text, span.value);
    if in_flow(text, key.offset) {
        // `{tier: prototype, expires: 2026-04-01}`: drop the entry and one separating comma.
        let after = &text[end..];
        let trimmed_after = after.trim_start_matches([' ', '\t']);
        if let Some(rest) = trimmed_after.strip_prefix(',') {
            let skip = after.len() - rest.len();
            let rest_trim = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            return Ok(format!(
                "{}{}",
                &text[..key.offset],
                &text[end + skip + rest_trim..]
            ));
        }
        let before = &text[..key.offset];
        let comma = before.trim_end_matches([' ', '\t']);
        if let Some(stripped) = comma.strip_suffix(',') {
            return Ok(format!(
                "{}{}",
                stripped.trim_end_matches([' ', '\t']),
                &text[end..]
            ));
        }
        return Ok(format!("{}{}", before, &text[end..]));
    }
    // Block mapping: remove the whole line.
    let line_start = text[..key.offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    Ok(format!("{}{}", &text[..line_start], &text[line_end..]))
}

fn insert(text: &str, doc: &Document, pointer: &str, rendered: &str) -> Result<String, EditError> {
    let (parent, key) = pointer
        .rsplit_once('/')
        .ok_or_else(|| EditError::NoParent(pointer.into()))?;
    let parent_value = doc
        .value
        .pointer(parent)
        .and_then(|v| v.as_object())
        .ok_or_else(|| EditError::NoParent(pointer.into()))?;
    let siblings: Vec<Pos> = parent_value
        .keys()
        .filter_map(|k| {
            doc.spans
                .find(&format!("{parent}/{}", crate::load::field_path::escape(k)))
        })
        .filter_map(|(_, s)| s.key)
        .collect();
    let Some(last) = siblings.iter().max_by_key(|p| p.offset).copied() else {
        return Err(EditError::NoParent(pointer.into()));
    };
    if in_flow(text, last.offset) {
        // Insert before the closing brace of the flow mapping.
        let parent_pos = doc
            .spans
            .find(parent)
            .map(|(_, s)| s.value)
            .ok_or_else(|| EditError::NoParent(pointer.into()))?;
        let close = matching_brace(text, parent_pos.offset)
            .ok_or_else(|| EditError::NoParent(pointer.into()))?;
        let before = text[..close].trim_end_matches([' ', '\t']);
        return Ok(format!(
            "{before}, {key}: {rendered}{}",
            &text[before.len()..]
        ));
    }
    // Block mapping: a new line after the last entry (and its nested lines), same indentation.
    let indent = last.col - 1;
    let mut line_end = text[last.offset..]
        .find('\n')
        .map_or(text.len(), |i| last.offset + i + 1);
    while line_end < text.len() {
        let next_end = text[line_end..]
            .find('\n')
            .map_or(text.len(), |i| line_end + i + 1);
        let line = &text[line_end..next_end];
        let content = line.trim_start_matches(' ');
        let deeper = line.len() - content.len() > indent && !content.trim().is_empty();
        if !deeper {
            break;
        }
        line_end = next_end;
    }
    let mut out = String::with_capacity(text.len() + rendered.len() + 16);
    out.push_str(&text[..line_end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&" ".repeat(indent));
    out.push_str(&format!("{key}: {rendered}\n"));
    out.push_str(&text[line_end..]);
    Ok(out)
}

/// Is the byte at `offset` inside a flow collection (`{...}` or `[...]`) on its line or above?
fn in_flow(text: &str, offset: usize) -> bool {
    let mut depth: i32 = 0;
    for (_, c) in tokens(&text[..offset]) {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    depth > 0
}

/// The offset of the `}` closing the flow mapping that starts at `open`.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in tokens(&text[open..]) {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The characters of `text` outside comments and quoted scalars, with their offsets. A quote
/// opens a quoted scalar only where a token starts (`app's` in a comment or a plain scalar is
/// no quote), and `#` starts a comment only after whitespace or at a line's start.
fn tokens(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    text.char_indices().filter(move |&(_, c)| {
        let at_token_start = prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':');
        let keep = match (quote, comment) {
            (_, true) => {
                comment = c != '\n';
                false
            }
            (Some(q), _) => {
                if c == q {
                    quote = None;
                }
                false
            }
            (None, false) => match c {
                '#' if prev.is_whitespace() => {
                    comment = true;
                    false
                }
                '"' | '\'' if at_token_start => {
                    quote = Some(c);
                    false
                }
                _ => true,
            },
        };
        prev = c;
        keep
    })
}

/// The end offset of the scalar token starting at `pos`.
fn scalar_end(text: &str, pos: Pos) -> usize {
    let rest = &text[pos.offset..];
    let chars = rest.char_indices();
    match rest.chars().next() {
        Some('"') => {
            let mut escaped = false;
            for (i, c) in chars.skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    return pos.offset + i + 1;
                }
            }
            text.len()
        }
        Some('\'') => {
            let mut iter = rest.char_indices().skip(1).peekable();
            while let Some((i, c)) = iter.next() {
                if c == '\'' {
                    if iter.peek().is_some_and(|(_, n)| *n == '\'') {
                        iter.next();
                    } else {
                        return pos.offset + i + 1;
                    }
                }
            }
            text.len()
        }
        _ => {
            let flow = in_flow(text, pos.offset);
            let mut end = 0;
            let mut prev = ' ';
            for (i, c) in chars {
                if c == '\n' || (c == '#' && prev.is_whitespace()) {
                    break;
                }
                if flow && matches!(c, ',' | '}' | ']') {
                    break;
                }
                if !c.is_whitespace() {
                    end = i + c.len_utf8();
                }
                prev = c;
            }
            pos.offset + end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(p: &str, v: &str) -> Change {
        Change::Set(p.into(), v.into())
    }

    #[test]
    fn replaces_a_value_and_keeps_the_comment() {
        let text =
            "name: a\nlifecycle:\n  tier: prototype   # short-lived\n  expires: 2026-04-01\n";
        let out = apply(text, &[set("/lifecycle/tier", "sandbox")]).expect("edit");
        assert_eq!(
            out,
            "name: a\nlifecycle:\n  tier: sandbox   # short-lived\n  expires: 2026-04-01\n"
        );
    }

    #[test]
    fn removes_a_block_line() {
        let text = "lifecycle:\n  tier: prototype\n  expires: 2026-04-01 # soon\ncost: {}\n";
        let out = apply(text, &[Change::Remove("/lifecycle/expires".into())]).expect("edit");
        assert_eq!(out, "lifecycle:\n  tier: prototype\ncost: {}\n");
    }

    #[test]
    fn inserts_with_sibling_indentation() {
        let text = "lifecycle:\n    tier: prototype\n# trailing comment\nname: a\n";
        let out = apply(text, &[set("/lifecycle/expires", "2026-05-01")]).expect("edit");
        assert_eq!(
            out,
            "lifecycle:\n    tier: prototype\n    expires: 2026-05-01\n# trailing comment\nname: a\n"
        );
    }

    #[test]
    fn flow_mappings() {
        let text = "lifecycle: {tier: prototype, expires: 2026-04-01}  # note\n";
        let out = apply(
            text,
            &[
                set("/lifecycle/tier", "production"),
                Change::Remove("/lifecycle/expires".into()),
            ],
        )
        .expect("edit");
        assert_eq!(out, "lifecycle: {tier: production}  # note\n");
        let out = apply(&out, &[set("/lifecycle/expires", "2027-01-01")]).expect("edit");
        assert_eq!(
            out,
            "lifecycle: {tier: production, expires: 2027-01-01}  # note\n"
        );
    }

    #[test]
    fn quoted_values_are_replaced_whole_and_keep_their_quotes() {
        let text = "classification: \"internal\" # was public\n";
        let out = apply(text, &[set("/classification", "confidential")]).expect("edit");
        assert_eq!(out, "classification: \"confidential\" # was public\n");
        let text = "lifecycle: {tier: 'prototype', expires: \"2026-04-01\"}\n";
        let out = apply(
            text,
            &[
                set("/lifecycle/tier", "it's"),
                set("/lifecycle/expires", "2026-05-01"),
            ],
        )
        .expect("edit");
        assert_eq!(out, "lifecycle: {tier: 'it''s', expires: \"2026-05-01\"}\n");
    }

    /// The changes made one at a time, each on a fresh parse: what `apply` must equal.
    fn one_by_one(text: &str, changes: &[Change]) -> Result<String, EditError> {
        let mut text = text.to_string();
        for c in changes {
            text = apply(&text, std::slice::from_ref(c))?;
        }
        Ok(text)
    }

    #[test]
    fn changes_made_together_are_the_changes_made_one_by_one() {
        let texts = [
            "name: a\ntemplate:\n  id: form-python\n  version: \"1.0.0\"  # pinned\n  source: 'pack@v1.0.0'\nlifecycle:\n  tier: prototype\n  expires:\n",
            "template: {id: x, version: 1.0.0, source: builtin}\nlifecycle: {tier: 'prototype', expires: 2026-04-01}\n",
            "\u{feff}name: a\r\ntemplate:\r\n  version: 1.0.0\r\n  source: \"it's\"\r\n",
        ];
        let values = [
            "1.1.0",
            "it's",
            "a: b",
            "",
            "123",
            "/tmp/pack@v2",
            "prototype",
        ];
        let pointers = [
            "/template/version",
            "/template/source",
            "/template/id",
            "/lifecycle/tier",
            "/lifecycle/expires",
            "/name",
        ];
        let mut compared = 0;
        for text in texts {
            let text = text.trim_start_matches('\u{feff}');
            for (i, p) in pointers.iter().enumerate() {
                for (j, q) in pointers.iter().enumerate() {
                    let v = values[(i + j) % values.len()];
                    let w = values[(i * 3 + j + 1) % values.len()];
                    let mut changes = vec![set(p, v), set(q, w)];
                    if i % 2 == 0 {
                        changes.push(Change::Remove("/lifecycle/expires".into()));
                    }
                    assert_eq!(
                        apply(text, &changes),
                        one_by_one(text, &changes),
                        "{text:?} {changes:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 3 * 36);
    }

    #[test]
    fn values_that_need_quotes_get_them() {
        assert_eq!(scalar("production"), "production");
        assert_eq!(scalar("2026-05-01"), "2026-05-01");
        assert_eq!(scalar("yes: no"), "\"yes: no\"");
        assert_eq!(scalar("123"), "\"123\"");
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::*;

    #[test]
    fn apostrophes_and_braces_in_comments_are_no_yaml() {
        let text = "# the app's id {\nsecrets:\n  - {name: B, provider: env}  # it's [\nx: 1\n";
        let out = apply(
            text,
            &[Change::Set("/secrets/0/provider".into(), "vault".into())],
        )
        .expect("edit");
        assert_eq!(
            out,
            "# the app's id {\nsecrets:\n  - {name: B, provider: vault}  # it's [\nx: 1\n"
        );
    }

    #[test]
    fn values_inside_sequence_items() {
        let text = "secrets:\n  - name: \"A\"\n    provider: \"env\"   # for now\n  - {name: B, provider: env}\nlifecycle:\n  tier: prototype\n";
        let out = apply(
            text,
            &[
                Change::Set("/secrets/0/provider".into(), "vault".into()),
                Change::Set("/secrets/1/provider".into(), "vault".into()),
            ],
        )
        .expect("edit");
        assert_eq!(
            out,
            "secrets:\n  - name: \"A\"\n    provider: \"vault\"   # for now\n  - {name: B, provider: vault}\nlifecycle:\n  tier: prototype\n"
        );
    }
}
