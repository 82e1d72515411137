//! The line-based 3-way merge behind `levee upgrade`, and the file-level decision table.
//!
//! The merge is diff3: the base is the file as the app's recorded template version renders it,
//! "ours" is the file on disk, "theirs" is the new template version. Line matches come from the
//! `similar` crate (Myers diff); the walk over stable and unstable chunks is the classic diff3
//! algorithm (Khanna, Kuber and Pierce, "A Formal Investigation of Diff3"). A chunk changed on one
//! side only takes that side; a chunk changed identically on both takes it once; anything else is
//! a conflict written with git's markers, so IDEs and mergetools understand it:
//!
//! ```text
//! <<<<<<< ours
//! the user's lines
//! =======
//! the template's lines
//! >>>>>>> template v1.2.0
//! ```
//!
//! (`diffy` also merges three ways, but its conflict labels are fixed to `ours`/`theirs`; levee's
//! marker names the template version, so the user knows what the other side is.)

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// The result of merging one text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    /// How many conflict regions the text holds.
    pub conflicts: usize,
}

/// Merges `ours` and `theirs`, both derived from `base`. `theirs_label` ends the conflict marker
/// (`template v1.2.0`).
pub fn merge3(base: &str, ours: &str, theirs: &str, theirs_label: &str) -> Merged {
    let b = lines(base);
    let o = lines(ours);
    let t = lines(theirs);
    let mo = matches(&b, &o);
    let mt = matches(&b, &t);

    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    let mut conflicts = 0;
    // Markers end their lines the way the user's file does (a CRLF file stays CRLF).
    let nl = line_ending(ours);
    let (mut ib, mut io, mut it) = (0usize, 0usize, 0usize);
    loop {
        // A stable line: matched in both sides at the current positions.
        if ib < b.len() && mo[ib] == Some(io) && mt[ib] == Some(it) {
            out.push_str(b[ib]);
            ib += 1;
            io += 1;
            it += 1;
            continue;
        }
        // Find the next stable line after the current positions.
        let next = (ib..b.len())
            .find(|&i| matches!((mo[i], mt[i]), (Some(jo), Some(jt)) if jo >= io && jt >= it));
        let (eb, eo, et) = match next {
            Some(i) => (i, mo[i].unwrap_or(io), mt[i].unwrap_or(it)),
            None => (b.len(), o.len(), t.len()),
        };
        if (eb, eo, et) == (ib, io, it) {
            break;
        }
        let cb = &b[ib..eb];
        let co = &o[io..eo];
        let ct = &t[it..et];
        if co == cb {
            push_all(&mut out, ct);
        } else if ct == cb || co == ct {
            push_all(&mut out, co);
        } else {
            conflicts += 1;
            ensure_newline(&mut out, nl);
            out.push_str(&format!("<<<<<<< ours{nl}"));
            push_all(&mut out, co);
            ensure_newline(&mut out, nl);
            out.push_str(&format!("======={nl}"));
            push_all(&mut out, ct);
            ensure_newline(&mut out, nl);
            out.push_str(&format!(">>>>>>> {theirs_label}{nl}"));
        }
        ib = eb;
        io = eo;
        it = et;
        if next.is_none() {
            break;
        }
    }
    Merged {
        text: out,
        conflicts,
    }
}

/// Lines with their endings, so the merge reproduces the file byte for byte.
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

fn push_all(out: &mut String, lines: &[&str]) {
    for l in lines {
        out.push_str(l);
    }
}

fn ensure_newline(out: &mut String, nl: &str) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(nl);
    }
}

/// `"\r\n"` when most of `text`'s lines end that way, else `"\n"`.
fn line_ending(text: &str) -> &'static str {
    let lines = text.matches('\n').count();
    let crlf = text.matches("\r\n").count();
    if crlf > 0 && crlf * 2 >= lines {
        "\r\n"
    } else {
        "\n"
    }
}

/// For each base line, the index of the line it matches in `side`, if any.
fn matches(base: &[&str], side: &[&str]) -> Vec<Option<usize>> {
    let mut m = vec![None; base.len()];
    for op in capture_diff_slices(Algorithm::Myers, base, side) {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                m[old_index + k] = Some(new_index + k);
            }
        }
    }
    m
}

/// Is this content binary (never merged line by line)?
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes.contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// What to do with one path during an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeAction {
    /// Leave the file as it is on disk (or absent, if it is absent).
    Keep,
    /// Write these bytes: a template change the user never touched, or a clean merge.
    Write(Vec<u8>),
    /// Delete the file: the template dropped it and the user never changed it.
    Delete,
    /// Leave the user's file and report why it needs a person.
    Conflict(Conflict),
    /// Write a merged text that holds conflict markers.
    WriteConflicted { text: String, conflicts: usize },
}

/// Why a path needs a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The new template adds a file where the user already has one of their own.
    AddedOverUserFile,
    /// The template dropped a file the user changed; the user's file is kept.
    DroppedButEdited,
    /// The user deleted a file the template changed; it stays deleted.
    DeletedButChanged,
    /// A binary file changed on both sides; the user's bytes are kept.
    BinaryEdited,
}

impl Conflict {
    pub(crate) fn explain(self) -> &'static str {
        match self {
            Conflict::AddedOverUserFile => {
                "the new template version adds this file, but you already have one here; yours is kept"
            }
            Conflict::DroppedButEdited => {
                "the new template version drops this file, but you changed it; yours is kept"
            }
            Conflict::DeletedButChanged => {
                "you deleted this file and the new template version changes it; it stays deleted"
            }
            Conflict::BinaryEdited => {
                "a binary file changed both in your app and in the template; yours is kept"
            }
        }
    }
}

/// The decision table, in one place. `base` is the file rendered from the recorded template
/// version, `ours` the file on disk, `theirs` the new version; `None` means absent.
pub(crate) fn decide(
    base: Option<&[u8]>,
    ours: Option<&[u8]>,
    theirs: Option<&[u8]>,
    theirs_label: &str,
) -> MergeAction {
    match (base, ours, theirs) {
        (_, None, None) => MergeAction::Keep,
        // New in the template.
        (None, None, Some(t)) => MergeAction::Write(t.to_vec()),
        // The user's own file, unknown to either version.
        (None, Some(_), None) => MergeAction::Keep,
        // Both added the same path.
        (None, Some(o), Some(t)) if o == t => MergeAction::Keep,
        (None, Some(o), Some(t)) => {
            if is_binary(o) || is_binary(t) {
                MergeAction::Conflict(Conflict::AddedOverUserFile)
            } else {
                text_merge(b"", o, t, theirs_label)
            }
        }
        // The user deleted it.
        (Some(b), None, Some(t)) if b == t => MergeAction::Keep,
        (Some(_), None, Some(_)) => MergeAction::Conflict(Conflict::DeletedButChanged),
        // The template dropped it.
        (Some(b), Some(o), None) if b == o => MergeAction::Delete,
        (Some(_), Some(_), None) => MergeAction::Conflict(Conflict::DroppedButEdited),
        // All three present.
        (Some(b), Some(o), Some(t)) => {
            if o == t || b == t {
                MergeAction::Keep
            } else if b == o {
                MergeAction::Write(t.to_vec())
            } else if is_binary(b) || is_binary(o) || is_binary(t) {
                MergeAction::Conflict(Conflict::BinaryEdited)
            } else {
                text_merge(b, o, t, theirs_label)
            }
        }
    }
}

fn text_merge(b: &[u8], o: &[u8], t: &[u8], label: &str) -> MergeAction {
    // All three are UTF-8 here (binary was ruled out by the caller).
    let s = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
    let m = merge3(&s(b), &s(o), &s(t), label);
    if m.conflicts == 0 {
        if m.text.as_bytes() == o {
            MergeAction::Keep
        } else {
            MergeAction::Write(m.text.into_bytes())
        }
    } else {
        MergeAction::WriteConflicted {
            text: m.text,
            conflicts: m.conflicts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: &str = "template v2.0.0";

    #[test]
    fn non_overlapping_edits_are_both_kept() {
        let base = "a\nb\nc\nd\ne\n";
        let ours = "a\nB\nc\nd\ne\n";
        let theirs = "a\nb\nc\nD\ne\n";
        assert_eq!(
            merge3(base, ours, theirs, L),
            Merged {
                text: "a\nB\nc\nD\ne\n".into(),
                conflicts: 0
            }
        );
    }

    #[test]
    fn overlapping_edits_conflict_with_git_markers() {
        let m = merge3("a\nb\nc\n", "a\nours\nc\n", "a\ntheirs\nc\n", L);
        assert_eq!(m.conflicts, 1);
        assert_eq!(
            m.text,
            "a\n<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> template v2.0.0\nc\n"
        );
    }

    #[test]
    fn conflict_markers_in_a_crlf_file_end_their_lines_with_crlf() {
        let m = merge3(
            "a\r\nb\r\nc\r\n",
            "a\r\nours\r\nc\r\n",
            "a\r\ntheirs\r\nc\r\n",
            L,
        );
        assert_eq!(m.conflicts, 1);
        assert_eq!(
            m.text,
            "a\r\n<<<<<<< ours\r\nours\r\n=======\r\ntheirs\r\n>>>>>>> template v2.0.0\r\nc\r\n"
        );
        // Every line of the result ends the same way, so editors keep seeing a CRLF file.
        assert_eq!(m.text.matches('\n').count(), m.text.matches("\r\n").count());
        // Without a final line break, the marker still gets the file's own.
        let m = merge3("a\r\nb", "a\r\nours", "a\r\ntheirs", L);
        assert_eq!(
            m.text,
            "a\r\n<<<<<<< ours\r\nours\r\n=======\r\ntheirs\r\n>>>>>>> template v2.0.0\r\n"
        );
    }

    #[test]
    fn same_change_on_both_sides_is_taken_once() {
        let m = merge3("a\nb\n", "a\nx\n", "a\nx\n", L);
        assert_eq!(
            m,
            Merged {
                text: "a\nx\n".into(),
                conflicts: 0
            }
        );
    }

    #[test]
    fn missing_final_newline_stays_well_formed() {
        let m = merge3("a\nb", "a\nours", "a\ntheirs", L);
        assert_eq!(
            m.text,
            "a\n<<<<<<< ours\nours\n=======\ntheirs\n>>>>>>> template v2.0.0\n"
        );
    }

    #[test]
    fn decision_table() {
        let (b, o, t): (&[u8], &[u8], &[u8]) = (b"base\n", b"ours\n", b"theirs\n");
        assert_eq!(
            decide(None, None, Some(t), L),
            MergeAction::Write(t.to_vec())
        );
        assert_eq!(decide(None, Some(o), None, L), MergeAction::Keep);
        assert_eq!(decide(None, Some(t), Some(t), L), MergeAction::Keep);
        assert!(matches!(
            decide(None, Some(o), Some(t), L),
            MergeAction::WriteConflicted { conflicts: 1, .. }
        ));
        assert_eq!(
            decide(None, Some(b"\0"), Some(t), L),
            MergeAction::Conflict(Conflict::AddedOverUserFile)
        );
        assert_eq!(decide(Some(b), None, Some(b), L), MergeAction::Keep);
        assert_eq!(
            decide(Some(b), None, Some(t), L),
            MergeAction::Conflict(Conflict::DeletedButChanged)
        );
        assert_eq!(decide(Some(b), Some(b), None, L), MergeAction::Delete);
        assert_eq!(
            decide(Some(b), Some(o), None, L),
            MergeAction::Conflict(Conflict::DroppedButEdited)
        );
        assert_eq!(
            decide(Some(b), Some(b), Some(t), L),
            MergeAction::Write(t.to_vec())
        );
        assert_eq!(decide(Some(b), Some(o), Some(b), L), MergeAction::Keep);
        assert_eq!(decide(Some(b), Some(t), Some(t), L), MergeAction::Keep);
        assert_eq!(
            decide(Some(b"\0a"), Some(b"\0b"), Some(b"\0c"), L),
            MergeAction::Conflict(Conflict::BinaryEdited)
        );
        assert_eq!(
            decide(Some(b"\0a"), Some(b"\0a"), Some(b"\0c"), L),
            MergeAction::Write(b"\0c".to_vec())
        );
        assert_eq!(decide(Some(b), None, None, L), MergeAction::Keep);
    }

    /// `upgrade::plan` does not read a file both versions render alike: whatever the app holds
    /// there (nothing, the same bytes, an edit, a binary) is kept.
    #[test]
    fn when_base_and_theirs_agree_ours_is_kept_whatever_it_is() {
        for same in [&b"same\n"[..], b"", b"\0binary"] {
            for ours in [
                None,
                Some(same),
                Some(&b"edited\n"[..]),
                Some(b"\0other"),
                Some(b""),
            ] {
                assert_eq!(
                    decide(Some(same), ours, Some(same), L),
                    MergeAction::Keep,
                    "ours {ours:?}"
                );
            }
        }
    }
}
