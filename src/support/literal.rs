//! String literals levee writes into generated files: one double-quoted form that is valid in
//! YAML, JSON, JavaScript, TypeScript, TOML and Python, used by every template environment
//! (`scaffold::render`'s `yaml_str`/`json_str`/`ts_str`/`toml_str` filters, the sandbox's
//! `yaml_str`).

use minijinja::Value;

/// Escapes `s` for the inside of a double-quoted string literal in JSON, YAML, JavaScript,
/// TypeScript, TOML and Python: `"` and `\` get a backslash, control characters and the
/// characters YAML or JavaScript treat specially (U+0085, U+2028, U+2029, U+FEFF, U+FFFE,
/// U+FFFF) become `\uXXXX`. The result contains no raw line break and no unescaped quote.
pub(crate) fn escape_dq(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20
                || (0x7f..=0x9f).contains(&(c as u32))
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A complete double-quoted literal for a string; numbers, booleans and null as JSON (which is
/// also valid YAML, JavaScript and TOML for those); sequences and maps as JSON.
/// A value as a double-quoted literal, valid in YAML, JSON, TypeScript and TOML.
pub(crate) fn quoted(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        format!("\"{}\"", escape_dq(s))
    } else {
        json_literal(v)
    }
}

pub(crate) fn json_literal(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return format!("\"{}\"", escape_dq(s));
    }
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}
