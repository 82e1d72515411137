//! The content hash: SHA-256, written as lowercase hex. Every record of what levee wrote (the
//! `.levee/` record, `managed.json` as `sha256:<hex>`, a catalog entry's SBOM summary) uses it.

use sha2::{Digest, Sha256};

/// Bytes as lowercase hex, two digits each.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// The SHA-256 of `bytes`, as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Are `a` and `b` the same content? Equal lengths, then the very same buffer (a pack's file
/// shared by every app's render) without reading it, else the bytes compared.
pub(crate) fn same_content(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// The most of one content [`sha256_hex_seen`] remembers: larger files (a lock file naming the
/// app) differ from app to app, so remembering them would only cost a copy.
const SEEN_MAX_BYTES: usize = 32 << 10;
/// How many contents [`sha256_hex_seen`] remembers per key: a fleet mixes templates, and a path
/// two templates share (`README.md`, `Dockerfile`) holds another content in each.
const SEEN_PER_KEY: usize = 4;

/// [`sha256_hex`], remembered per `key` (a file's path) for the rest of the process: a fleet run
/// hashes the same starter and policy files for every app, and comparing the bytes with the ones
/// last hashed under that key is many times cheaper than hashing them again. The answer is
/// always the SHA-256 of `bytes` (a remembered digest is used only for equal bytes).
pub(crate) fn sha256_hex_seen(key: &str, bytes: &[u8]) -> String {
    seen(key, bytes, || bytes::Bytes::copy_from_slice(bytes))
}

/// [`sha256_hex_seen`] for shared bytes (a template's file rendered for many apps is one
/// buffer): remembering them costs no copy, and the same buffer is known without comparing it.
pub(crate) fn sha256_hex_seen_shared(key: &str, bytes: &bytes::Bytes) -> String {
    seen(key, bytes, || bytes.clone())
}

fn seen(key: &str, bytes: &[u8], keep: impl FnOnce() -> bytes::Bytes) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Seen = Mutex<HashMap<String, Vec<(bytes::Bytes, String)>>>;
    static SEEN: OnceLock<Seen> = OnceLock::new();
    if bytes.len() > SEEN_MAX_BYTES {
        return sha256_hex(bytes);
    }
    let seen = SEEN.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = seen.lock()
        && let Some((_, digest)) = map
            .get(key)
            .and_then(|v| v.iter().find(|(k, _)| same_content(k, bytes)))
    {
        return digest.clone();
    }
    let digest = sha256_hex(bytes);
    if let Ok(mut map) = seen.lock() {
        let kept = map.entry(key.to_string()).or_default();
        if kept.len() == SEEN_PER_KEY {
            kept.remove(0);
        }
        kept.push((keep(), digest.clone()));
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), want);
    }

    #[test]
    fn a_remembered_digest_is_the_digest_of_the_bytes_given() {
        let key = "tests/remembered.txt";
        assert_eq!(sha256_hex_seen(key, b"one"), sha256_hex(b"one"));
        assert_eq!(sha256_hex_seen(key, b"one"), sha256_hex(b"one"));
        // Other bytes under the same key, of the same length and of another.
        assert_eq!(sha256_hex_seen(key, b"two"), sha256_hex(b"two"));
        assert_eq!(sha256_hex_seen(key, b"three"), sha256_hex(b"three"));
        assert_eq!(sha256_hex_seen(key, b"one"), sha256_hex(b"one"));
        let large = vec![b'x'; SEEN_MAX_BYTES + 1];
        assert_eq!(sha256_hex_seen(key, &large), sha256_hex(&large));
        assert_eq!(sha256_hex_seen(key, b""), sha256_hex(b""));
        // More contents under one key than it remembers, in turn, shared and copied.
        let many: Vec<bytes::Bytes> = (0..SEEN_PER_KEY * 2)
            .map(|i| bytes::Bytes::from(format!("content {i}")))
            .collect();
        for _ in 0..3 {
            for b in &many {
                assert_eq!(sha256_hex_seen_shared(key, b), sha256_hex(b));
                assert_eq!(sha256_hex_seen(key, b), sha256_hex(b));
            }
        }
    }

    #[test]
    fn sha256_of_the_empty_input_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
