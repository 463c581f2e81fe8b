//! Small filesystem helpers the engine needs: atomic replacement and name escaping.

use std::fs::File;
use std::path::Path;

use crate::error::Result;

/// Replaces `path` with `bytes` atomically: a reader sees the old or the new content, never a
/// half-written file, even after a crash (write temp, fsync, rename, fsync the directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::log::atomic_file::write(path, bytes, true)
}

/// Opens (creating) a file used only for `flock`.
pub fn lock_file(path: &Path) -> Result<File> {
    crate::log::unified::open_rw(path)
}

/// Makes an arbitrary name (a group id) safe as one path component: bytes outside
/// `[A-Za-z0-9._-]` become `%XX`, and a leading `.` is escaped so nothing is hidden or special.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('%');
    }
    out
}

/// Inverse of [`escape_name`].
pub fn unescape_name(escaped: &str) -> Option<String> {
    if escaped == "%" {
        return Some(String::new());
    }
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Kafka's textual form of a UUID (topic ids, cluster ids): URL-safe base64 without padding.
pub fn kafka_uuid_string(id: &uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_yields_one_safe_component() {
        for name in ["g", "my group/ä", ".hidden", "..", "", "a.b-c_d", "%"] {
            let e = escape_name(name);
            assert!(
                !e.contains('/') && !e.starts_with('.') && !e.is_empty(),
                "{e}"
            );
            assert_eq!(unescape_name(&e).as_deref(), Some(name));
        }
    }

    #[test]
    fn kafka_uuid_matches_java_base64_url_without_padding() {
        // Uuid.toString() of 00000000-0000-0001-0000-000000000001 in Kafka is AAAAAAAAAAEAAAAAAAAAAQ.
        let id = uuid::Uuid::from_u64_pair(1, 1);
        assert_eq!(kafka_uuid_string(&id), "AAAAAAAAAAEAAAAAAAAAAQ");
    }
}
