//! The one field path: a place in a user's file, written as a JSON pointer
//! (`/runtime/egress/0`, RFC 6901: `~0` is `~`, `~1` is `/`) where levee locates it, and dotted
//! (`runtime.egress[0]`) where a person reads it (diagnostics, policy findings, the wizard).

/// A field path, as its unescaped segments (`["runtime", "egress", "0"]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// `/a~1b/0` -> `["a/b", "0"]`; `""` is the whole document.
    pub(crate) fn from_pointer(pointer: &str) -> FieldPath {
        FieldPath(pointer.split('/').skip(1).map(unescape).collect())
    }

    /// `secrets[0].name` -> `["secrets", "0", "name"]`.
    pub(crate) fn from_dotted(dotted: &str) -> FieldPath {
        let mut segments = Vec::new();
        for part in dotted.split('.').filter(|p| !p.is_empty()) {
            let (key, rest) = part.split_once('[').unwrap_or((part, ""));
            if !key.is_empty() {
                segments.push(key.to_string());
            }
            for idx in rest.split('[') {
                let idx = idx.trim_end_matches(']');
                if !idx.is_empty() {
                    segments.push(idx.to_string());
                }
            }
        }
        FieldPath(segments)
    }

    /// The unescaped segments.
    pub(crate) fn segments(&self) -> &[String] {
        &self.0
    }

    /// `/secrets/0/name`, each key escaped ([`escape`]).
    pub(crate) fn pointer(&self) -> String {
        self.0.iter().map(|s| format!("/{}", escape(s))).collect()
    }

    /// `secrets[0].name`: an all-digit segment is an index.
    pub(crate) fn dotted(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                out.push_str(&format!("[{seg}]"));
            } else {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(seg);
            }
        }
        out
    }
}

/// A key as one JSON pointer segment (RFC 6901): `~` -> `~0`, `/` -> `~1`.
pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One JSON pointer segment as the key it names: `~1` -> `/`, then `~0` -> `~` (in that order,
/// so `~01` stays `~1`).
pub(crate) fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// `/secrets/0/name` -> `secrets[0].name`.
pub(crate) fn dotted(pointer: &str) -> String {
    FieldPath::from_pointer(pointer).dotted()
}

/// `secrets[0].name` -> `/secrets/0/name` (the inverse of [`dotted`]).
pub(crate) fn pointer(dotted: &str) -> String {
    FieldPath::from_dotted(dotted).pointer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths() {
        assert_eq!(dotted("/secrets/0/name"), "secrets[0].name");
        assert_eq!(dotted("/runtime/cpu_limit"), "runtime.cpu_limit");
        assert_eq!(dotted(""), "");
        for p in [
            "/secrets/0/name",
            "/runtime/cpu_limit",
            "/data_access/12",
            "",
        ] {
            assert_eq!(pointer(&dotted(p)), p);
        }
    }

    #[test]
    fn pointer_escapes_round_trip() {
        let p = FieldPath::from_pointer("/settings/A~1B~0C/0");
        assert_eq!(p.segments(), ["settings", "A/B~C", "0"]);
        assert_eq!(p.pointer(), "/settings/A~1B~0C/0");
        assert_eq!(p.dotted(), "settings.A/B~C[0]");
        assert_eq!(pointer("settings.A/B~C[0]"), "/settings/A~1B~0C/0");
        // `~01` is `~1` as text, never `/`: `~1` is unescaped first.
        assert_eq!(FieldPath::from_pointer("/~01").segments(), ["~1"]);
    }
}
