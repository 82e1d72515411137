//! Build script: the SHA-256 of every file of the built-in pack (`templates/`), which levee
//! embeds. `levee new` records the digest of each file it writes (`.levee/render.json`); for a
//! file written as the pack holds it, the digest computed here is the one recorded, instead of
//! hashing the same embedded bytes again in every run (half of the 450 KB a webhook app hashes).
//! Computed from the same files the binary embeds, in the same build.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

fn main() {
    println!("cargo:rerun-if-changed=templates");
    let root = Path::new("templates");
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// `(path under templates/, SHA-256 hex)` of every file of the built-in pack, by path.\n\
         pub(crate) static BUILTIN_DIGESTS: &[(&str, &str)] = &[\n",
    );
    for (rel, digest) in &files {
        writeln!(out, "    ({rel:?}, {digest:?}),").expect("write to a string");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("builtin_digests.rs");
    std::fs::write(dest, out).expect("write builtin_digests.rs");
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).expect("read templates/");
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).expect("read a template file");
            let rel = path.strip_prefix(root).expect("under templates/");
            let rel = rel.to_str().expect("a UTF-8 path").replace('\\', "/");
            let digest = Sha256::digest(&bytes)
                .iter()
                .fold(String::new(), |mut s, b| {
                    let _ = write!(s, "{b:02x}");
                    s
                });
            out.push((rel, digest));
        }
    }
}
