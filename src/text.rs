//! Untrusted text: which characters levee refuses in the files people write, and how text that
//! came from a user (a manifest, an answers file, the org config, a catalog entry, a metrics
//! file, a path) is shown on a terminal or in a CI log.
//!
//! Refused ([`forbidden`]): the C0 controls (NUL to US, line breaks and tabs included), DEL, the
//! C1 controls (U+0080 to U+009F, where U+009B is a CSI on some terminals), the line and
//! paragraph separators U+2028/U+2029, and the bidirectional overrides and isolates
//! (U+202A to U+202E, U+2066 to U+2069) that make a terminal show text in another order than it
//! is read ("Trojan Source"). A value with one of them would end a YAML line in a generated
//! file, start a GitHub workflow command (`\n::error ...`) or an ANSI/OSC escape in a log, or be
//! rejected by kubectl.
//!
//! Shown ([`escape`]): every such character becomes a visible escape (`\n`, `\u{1b}`), so
//! user text printed by levee is always one line of plain characters.

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
pub fn find_forbidden(s: &str) -> Option<(usize, char, &'static str)> {
    s.chars()
        .enumerate()
        .find_map(|(i, c)| forbidden(c).map(|why| (i, c, why)))
}

/// How a refused character is written in a message: `U+0007`.
pub fn code_point(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// `s` with every refused character replaced by a visible escape (`\n`, `\t`, `\u{1b}`).
/// Borrowed when there is nothing to escape (the common case).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| forbidden(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if forbidden(c).is_some() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for a path (shown lossily when it is not UTF-8).
pub fn escape_path(p: &std::path::Path) -> String {
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

/// Escapes every line of a multi-line message (an error chain, a rendered diagnostic) while
/// keeping its own line breaks: levee's messages keep their layout, text they quote cannot add
/// lines or escapes of its own. ANSI colour that levee itself adds must be applied after this.
pub fn escape_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&escape(line));
    }
    out
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
            "x\\n::error::pwned\\u{1b}[31m\\u{7f}"
        );
        assert_eq!(
            escape_lines("a\nb\u{1b}]8;;x\u{7}"),
            "a\nb\\u{1b}]8;;x\\u{7}"
        );
        assert_eq!(
            find_forbidden("ab\u{7f}"),
            Some((2, '\u{7f}', "the control character DEL"))
        );
    }
}
