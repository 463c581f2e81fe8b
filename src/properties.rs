//! Java properties files (`server.properties`, `--command-config`), read as Kafka's tools read
//! them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

/// Reads a Java properties file.
pub fn read_properties(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read --command-config file {}", path.display()))?;
    parse_properties(std::io::BufReader::new(file))
        .with_context(|| format!("cannot parse properties file {}", path.display()))
}

/// Parses Java properties text (`key=value`, `key: value`, `\` continuations and escapes).
/// The part of [`read_properties`] after the file is open; also the properties fuzzing entry
/// point (`fuzz/fuzz_targets/properties.rs`).
///
/// The bytes are decoded here, as java-properties would (windows-1252, or the encoding a
/// byte-order mark names), and handed to its parser as UTF-8: its own streaming decoder
/// panics when a file with a UTF-8 or UTF-16 byte-order mark ends inside a character (found
/// by fuzzing; `fuzz/regressions/properties/`).
pub fn parse_properties(
    mut reader: impl std::io::Read,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    let mut map = BTreeMap::new();
    java_properties::PropertiesIter::new_with_encoding(text.as_bytes(), encoding_rs::UTF_8)
        .read_into(|k, v| {
            map.insert(k, v);
        })?;
    Ok(map)
}

/// A properties map from literal pairs, for tests.
#[cfg(test)]
pub(crate) fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: java-properties' own decoder panicked on the last two.
    #[test]
    fn properties_files_decode_as_java_properties_would_and_never_panic() {
        // A UTF-8 byte-order mark: UTF-8. Without one: windows-1252, as before.
        let map = parse_properties(&b"\xef\xbb\xbfname=caf\xc3\xa9\n"[..]).unwrap();
        assert_eq!(map["name"], "café");
        let map = parse_properties(&b"name=caf\xe9"[..]).unwrap();
        assert_eq!(map["name"], "café");
        // A UTF-16 mark and an odd length, and a UTF-8 mark with a cut character: both end
        // inside a character.
        let _ = parse_properties(&b"\xfe\xff\xff\xff:\0\0\0\0"[..]);
        let map = parse_properties(&b"\xef\xbb\xbfa=\xc3"[..]).unwrap();
        assert_eq!(map["a"], "\u{fffd}");
    }
}
