//! Untrusted text: which characters levee refuses in the files people write, and how text that
//! came from a user (a manifest, an answers file, the org config, a catalog entry, a metrics
//! file, a path, a pack) is shown on a terminal or in a CI log.
//!
//! Refused ([`forbidden`]): the C0 controls (NUL to US, line breaks and tabs included), DEL, the
//! C1 controls (U+0080 to U+009F, where U+009B is a CSI on some terminals), the line and
//! paragraph separators U+2028/U+2029, and the bidirectional overrides and isolates
//! (U+202A to U+202E, U+2066 to U+2069) that make a terminal show text in another order than it
//! is read ("Trojan Source"). A value with one of them would end a YAML line in a generated
//! file, start a GitHub workflow command (`\n::error ...`) or an ANSI/OSC escape in a log, or be
//! rejected by kubectl.
//!
//! Shown: user text levee quotes in a message goes through [`escape`] where it is inserted
//! (`\n`, `\t`, `\u001b`), so it stays on its line; everything levee prints goes through
//! [`terminal`] as a last line of defence (levee's own colours and line breaks are kept).

use std::borrow::Cow;
use std::fmt;

/// Why `c` is refused in user text, or `None` when it is allowed.
pub fn forbidden(c: char) -> Option<&'static str> {
    match c {
        '\n' | '\r' => Some("a line break"),
        '\t' => Some("a tab"),
        '\u{0}'..='\u{1f}' => Some("a control character"),
        '\u{7f}' => Some("the control character DEL"),
        '\u{80}'..='\u{9f}' => Some("a C1 control character"),
        '\u{2028}' | '\u{2029}' => Some("a Unicode line or paragraph separator"),
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            Some("a Unicode bidirectional override")
        }
        _ => None,
    }
}

/// The first refused character of `s`: its index in characters, the character and why.
pub(crate) fn find_forbidden(s: &str) -> Option<(usize, char, &'static str)> {
    s.chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c).map(|why| (i, c, why)))
}

/// How a refused character is written in a message: `U+0007`.
pub(crate) fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// `s` with every refused character replaced by a visible escape (`\n`, `\r`, `\t`, and
/// `\u001b` for the others, as JSON writes them). Borrowed when there is nothing to escape (the
/// common case).
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| forbidden(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if forbidden(c).is_some() => push_u(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn push_u(out: &mut String, c: char) {
    out.push_str(&format!("\\u{:04x}", c as u32));
}

/// [`escape`] for a path (shown lossily when it is not UTF-8).
pub(crate) fn escape_path(p: &std::path::Path) -> String {
    escape(&p.to_string_lossy()).into_owned()
}

/// Displays a value through [`escape`]: `format!("{}", Shown(&name))`.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

/// Escapes every line of a multi-line text (an error chain, a diff) while keeping its line
/// breaks and tabs: the layout stays, nothing in it can act on the terminal. ANSI colour that
/// levee itself adds must be applied after this.
pub(crate) fn escape_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (j, part) in line.split('\t').enumerate() {
            if j > 0 {
                out.push('\t');
            }
            out.push_str(&escape(part));
        }
    }
    out
}

/// The last line of defence for everything levee prints (applied by [`crate::support::ui::Ui`]): keeps
/// line breaks, tabs and levee's own colours (SGR sequences, `ESC [ … m`), and escapes every
/// other refused character as `\uXXXX` (inside a JSON string that is the same value), so no
/// text can move the cursor, set a window title or a hyperlink (OSC), or hide what follows.
pub(crate) fn terminal(s: &str) -> Cow<'_, str> {
    let clean = |c: char| c == '\n' || c == '\t' || forbidden(c).is_none();
    let escapes_ok = !s
        .match_indices('\u{1b}')
        .any(|(i, _)| sgr_len(&s[i..]).is_none());
    if escapes_ok && s.chars().all(|c| clean(c) || c == '\u{1b}') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if clean(c) {
            out.push(c);
        } else {
            push_u(&mut out, c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the SGR sequence (`ESC [ digits/semicolons m`) that `s` starts with.
fn sgr_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("\u{1b}[")?;
    let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (body.as_bytes()[end] == b'm').then_some(2 + end + 1)
}

/// Pretty JSON for output, with the characters JSON allows raw but a terminal may act on (DEL,
/// the C1 controls, U+2028/U+2029, bidirectional overrides) written as `\uXXXX`: the same
/// document, safe to print.
#[cfg(test)]
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let s = serde_json::to_string_pretty(value)?;
    Ok(match terminal(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    })
}

/// `source` with each refused character (line breaks and tabs aside) replaced by one of the same
/// length in bytes, so byte offsets into it stay valid: for showing a user's file under a
/// caret. One byte becomes `?`, two `¿`, three or four `\u{fffd}` (padded).
pub(crate) fn same_length(source: &str) -> Cow<'_, str> {
    let keep = |c: char| matches!(c, '\n' | '\r' | '\t') || forbidden(c).is_none();
    if source.chars().all(keep) {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        if keep(c) {
            out.push(c);
            continue;
        }
        match c.len_utf8() {
            1 => out.push('?'),
            2 => out.push('¿'),
            n => {
                out.push('\u{fffd}');
                out.push_str(&"?".repeat(n - 3));
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_characters() {
        for c in [
            '\0', '\u{7}', '\n', '\r', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}',
            '\u{202e}', '\u{2066}',
        ] {
            assert!(forbidden(c).is_some(), "{c:?}");
        }
        for c in ['a', ' ', 'é', '€', '\u{200e}', '中', '\u{1f600}'] {
            assert!(forbidden(c).is_none(), "{c:?}");
        }
    }

    #[test]
    fn escapes_are_one_line_and_visible() {
        assert_eq!(escape("plain"), Cow::Borrowed("plain"));
        assert_eq!(
            escape("x\n::error::pwned\u{1b}[31m\u{7f}"),
            "x\\n::error::pwned\\u001b[31m\\u007f"
        );
        assert_eq!(
            escape_lines("a\n\tb\u{1b}]8;;x\u{7}"),
            "a\n\tb\\u001b]8;;x\\u0007"
        );
        assert_eq!(
            find_forbidden("ab\u{7f}"),
            Some((2, '\u{7f}', "the control character DEL"))
        );
    }

    #[test]
    fn the_backstop_keeps_levees_colours_and_layout_only() {
        let ours = "\u{1b}[31;1mred\u{1b}[0m\n\tok";
        assert_eq!(terminal(ours), Cow::Borrowed(ours));
        assert_eq!(
            terminal("a\u{1b}]0;title\u{7}b\u{1b}[2Jc\u{9b}d\re"),
            "a\\u001b]0;title\\u0007b\\u001b[2Jc\\u009bd\\u000de"
        );
        let j = json(&serde_json::json!({"k": "a\u{7f}\u{85}\u{202e}"})).expect("json");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&j).expect("still JSON")["k"],
            "a\u{7f}\u{85}\u{202e}"
        );
        assert!(j.contains("a\\u007f\\u0085\\u202e"), "{j}");
        let src = "a: \u{7f}\u{85}\u{2028}\n";
        assert_eq!(same_length(src).len(), src.len());
        assert_eq!(same_length(src), "a: ?¿\u{fffd}\n");
    }
}
