//! Properties of the 3-way merge (`levee upgrade`'s core).

use levee::change::merge::merge3;
use proptest::prelude::*;

const LABEL: &str = "template v2.0.0";

/// A base of unique lines and two edit regions that do not touch: `(start, len, replacement)`.
fn disjoint_edits() -> impl Strategy<Value = (usize, (usize, usize, usize), (usize, usize, usize))>
{
    (8usize..40).prop_flat_map(|n| {
        (Just(n), 0..n - 5).prop_flat_map(move |(n, a_start)| {
            let a_len = 1..=2usize;
            (Just(n), Just(a_start), a_len, 0..=3usize).prop_flat_map(
                move |(n, a_start, a_len, a_new)| {
                    // Leave at least one untouched line between the regions.
                    let b_from = a_start + a_len + 1;
                    (
                        Just(n),
                        Just((a_start, a_len, a_new)),
                        b_from..n,
                        0..=3usize,
                    )
                        .prop_flat_map(move |(n, a, b_start, b_new)| {
                            let max_len = (n - b_start).min(2);
                            (
                                Just(n),
                                Just(a),
                                (1..=max_len).prop_map(move |l| (b_start, l, b_new)),
                            )
                        })
                },
            )
        })
    })
}

fn apply(base: &[String], edits: &[(usize, usize, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut edits = edits.to_vec();
    edits.sort_by_key(|e| e.0);
    for (start, len, repl) in edits {
        out.extend_from_slice(&base[i..start]);
        out.extend(repl);
        i = start + len;
    }
    out.extend_from_slice(&base[i..]);
    out
}

fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random non-overlapping edits on both sides: the result holds both, with no conflict.
    #[test]
    fn non_overlapping_edits_are_both_kept((n, a, b) in disjoint_edits(), swap in any::<bool>()) {
        let base: Vec<String> = (0..n).map(|i| format!("base line {i}")).collect();
        let ours_edit = (a.0, a.1, (0..a.2).map(|k| format!("ours {k}")).collect::<Vec<_>>());
        let theirs_edit = (b.0, b.1, (0..b.2).map(|k| format!("theirs {k}")).collect::<Vec<_>>());
        let (ours_edit, theirs_edit) = if swap { (theirs_edit, ours_edit) } else { (ours_edit, theirs_edit) };
        let ours = apply(&base, std::slice::from_ref(&ours_edit));
        let theirs = apply(&base, std::slice::from_ref(&theirs_edit));
        let expected = apply(&base, &[ours_edit, theirs_edit]);
        let m = merge3(&text(&base), &text(&ours), &text(&theirs), LABEL);
        prop_assert_eq!(m.conflicts, 0, "{}", m.text);
        prop_assert_eq!(m.text, text(&expected));
    }

    /// The same lines edited differently on both sides: a conflict holding both sides' lines.
    #[test]
    fn overlapping_edits_keep_both_sides_inside_markers(
        n in 3usize..30, start_frac in 0.0f64..1.0, ours_new in 1usize..4, theirs_new in 1usize..4,
    ) {
        let base: Vec<String> = (0..n).map(|i| format!("base line {i}")).collect();
        let start = ((n - 1) as f64 * start_frac) as usize;
        let ours_lines: Vec<String> = (0..ours_new).map(|k| format!("ours {k}")).collect();
        let theirs_lines: Vec<String> = (0..theirs_new).map(|k| format!("theirs {k}")).collect();
        let ours = apply(&base, &[(start, 1, ours_lines.clone())]);
        let theirs = apply(&base, &[(start, 1, theirs_lines.clone())]);
        let m = merge3(&text(&base), &text(&ours), &text(&theirs), LABEL);
        prop_assert!(m.conflicts >= 1);
        let open = m.text.find("<<<<<<< ours\n").expect("opening marker");
        let mid = m.text.find("\n=======\n").expect("middle marker");
        let close = m.text.find(">>>>>>> template v2.0.0\n").expect("closing marker");
        prop_assert!(open < mid && mid < close);
        for l in &ours_lines {
            let at = m.text.find(&format!("{l}\n")).expect("ours line present");
            prop_assert!(open < at && at < mid, "{} outside the ours side", l);
        }
        for l in &theirs_lines {
            let at = m.text.find(&format!("{l}\n")).expect("theirs line present");
            prop_assert!(mid < at && at < close, "{} outside the theirs side", l);
        }
    }

    /// Whatever the inputs, every line the user wrote (a line of ours not in the base) survives,
    /// in order: in the merged text or inside a conflict region.
    #[test]
    fn no_line_of_ours_is_lost(
        base in prop::collection::vec("[a-d]", 0..12),
        ours in prop::collection::vec("[a-f]", 0..12),
        theirs in prop::collection::vec("[a-d]|t", 0..12),
    ) {
        let m = merge3(&text(&base), &text(&ours), &text(&theirs), LABEL);
        let out: Vec<&str> = m.text.lines().collect();
        let mut pos = 0;
        for l in ours.iter().filter(|l| !base.contains(l)) {
            match out[pos..].iter().position(|o| o == l) {
                Some(p) => pos += p + 1,
                None => prop_assert!(false, "lost {:?}\nbase {:?}\nours {:?}\ntheirs {:?}\nout:\n{}", l, base, ours, theirs, m.text),
            }
        }
    }

    /// Merging with no change on the template side gives ours back, byte for byte.
    #[test]
    fn unchanged_template_gives_ours(base in "[a-c\n]{0,40}", ours in "[a-e\n]{0,40}") {
        let m = merge3(&base, &ours, &base, LABEL);
        prop_assert_eq!(m.conflicts, 0);
        prop_assert_eq!(m.text, ours);
    }
}
