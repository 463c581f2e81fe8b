//! The JSON envelope of one record: what `console-consumer --output json` prints and
//! `console-producer --input json` reads, so that piping one into the other copies a topic
//! exactly.
//!
//! ```json
//! {"topic":"t","partition":0,"offset":5,"timestamp":1764643200000,"timestamp_type":"CreateTime",
//!  "headers":[["h","v"]],"key":"k","value":"v"}
//! ```
//!
//! Keys, values and header values are text when every one of them is UTF-8. A record holding
//! any other bytes is written with `"encoding":"base64"`, and then all of them are base64:
//! one explicit rule, never a silently mangled byte. Null stays `null`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::Value;

use crate::client::ConsumerRecord;

/// The one binary-safe encoding.
pub const BASE64_ENCODING: &str = "base64";

/// One record read from an envelope: what a producer needs to send it again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// Key, or null.
    pub key: Option<Bytes>,
    /// Value, or null.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The partition to send to; None lets the partitioner choose.
    pub partition: Option<i32>,
    /// CreateTime in ms; None means now.
    pub timestamp: Option<i64>,
}

/// The record as one line of JSON, ended by `\n`.
pub fn to_json_line(r: &ConsumerRecord) -> String {
    let mut line = Vec::with_capacity(256);
    encode_json_line(&mut line, r);
    // Every piece is UTF-8: text checked as such, base64, digits and ASCII punctuation.
    String::from_utf8(line).unwrap_or_default()
}

/// Appends the record as one line of JSON, ended by `\n`, to `line`.
pub fn encode_json_line(line: &mut Vec<u8>, r: &ConsumerRecord) {
    let class = |b: &Option<Bytes>| b.as_deref().map_or(Class::Plain, classify);
    let (key, value) = (class(&r.key), class(&r.value));
    let all_text = key != Class::Binary
        && value != Class::Binary
        && r.headers.iter().all(|(_, v)| class(v) != Class::Binary);
    let field = |line: &mut Vec<u8>, b: &Option<Bytes>, c: Class| match b {
        None => line.extend_from_slice(b"null"),
        Some(b) if c == Class::Plain => {
            line.push(b'"');
            line.extend_from_slice(b);
            line.push(b'"');
        }
        Some(b) if all_text => json_string(line, b),
        Some(b) => {
            line.push(b'"');
            let start = line.len();
            line.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
            let n = BASE64.encode_slice(b, &mut line[start..]).unwrap_or(0);
            line.truncate(start + n);
            line.push(b'"');
        }
    };
    let mut num = itoa::Buffer::new();
    line.extend_from_slice(b"{\"topic\":");
    match classify(r.topic.as_bytes()) {
        // Kafka's topic names ([a-zA-Z0-9._-]) are always plain.
        Class::Plain => {
            line.push(b'"');
            line.extend_from_slice(r.topic.as_bytes());
            line.push(b'"');
        }
        _ => json_string(line, r.topic.as_bytes()),
    }
    line.extend_from_slice(b",\"partition\":");
    line.extend_from_slice(num.format(r.partition).as_bytes());
    line.extend_from_slice(b",\"offset\":");
    line.extend_from_slice(num.format(r.offset).as_bytes());
    line.extend_from_slice(b",\"timestamp\":");
    line.extend_from_slice(num.format(r.timestamp).as_bytes());
    line.extend_from_slice(if r.log_append_time {
        b",\"timestamp_type\":\"LogAppendTime\",\"headers\":["
    } else {
        b",\"timestamp_type\":\"CreateTime\",\"headers\":["
    });
    for (i, (k, v)) in r.headers.iter().enumerate() {
        line.extend_from_slice(if i == 0 { b"[" } else { b",[" });
        json_string(line, k.as_bytes());
        line.push(b',');
        field(line, v, class(v));
        line.push(b']');
    }
    line.extend_from_slice(b"],\"key\":");
    field(line, &r.key, key);
    line.extend_from_slice(b",\"value\":");
    field(line, &r.value, value);
    if !all_text {
        line.extend_from_slice(b",\"encoding\":\"base64\"");
    }
    line.extend_from_slice(b"}\n");
}

/// What a field's bytes are, for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// ASCII that needs no escaping: copied as it is.
    Plain,
    /// Other UTF-8 text: escaped where JSON requires.
    Text,
    /// Not UTF-8: the record goes out in base64.
    Binary,
}

/// Classifies a field in one pass, eight bytes at a time, without an early exit (so it
/// vectorizes); only text that is not plain ASCII is checked for UTF-8 again.
fn classify(s: &[u8]) -> Class {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Among ASCII bytes, a byte of `w` below `n` (n ≤ 0x80) sets its high bit here.
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    let (mut high, mut escape) = (0u64, 0u64);
    let mut words = s.chunks_exact(8);
    for chunk in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        let w = u64::from_le_bytes(b);
        high |= w & HIGH;
        escape |= below(w, 0x20)
            | below(w ^ (ONES * b'"' as u64), 1)
            | below(w ^ (ONES * b'\\' as u64), 1);
    }
    for &b in words.remainder() {
        high |= (b & 0x80) as u64;
        escape |= (b < 0x20 || b == b'"' || b == b'\\') as u64;
    }
    if high == 0 && escape == 0 {
        Class::Plain
    } else if std::str::from_utf8(s).is_ok() {
        Class::Text
    } else {
        Class::Binary
    }
}

/// A JSON string literal of UTF-8 text, escaped as JSON requires.
fn json_string(line: &mut Vec<u8>, s: &[u8]) {
    line.push(b'"');
    for &b in s {
        match b {
            b'"' => line.extend_from_slice(b"\\\""),
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            b if b < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                line.extend_from_slice(b"\\u00");
                line.push(HEX[(b >> 4) as usize]);
                line.push(HEX[(b & 0xf) as usize]);
            }
            b => line.push(b),
        }
    }
    line.push(b'"');
}

/// Fields an envelope may carry that a producer ignores (the consumer prints them).
const PASSED_OVER: [&str; 3] = ["topic", "offset", "timestamp_type"];

/// Reads one envelope. The error says what is wrong, for the caller to put after the line
/// number.
pub fn parse(line: &str) -> Result<Envelope, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(o) = v else {
        return Err("expected a JSON object like {\"key\":\"k\",\"value\":\"v\"}".into());
    };
    let base64 = match o.get("encoding") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == BASE64_ENCODING => true,
        Some(Value::String(s))
            if s.eq_ignore_ascii_case("utf8") || s.eq_ignore_ascii_case("utf-8") =>
        {
            false
        }
        Some(other) => {
            return Err(format!(
                "\"encoding\": {other} is not supported; use \"base64\" or leave it out for UTF-8 text"
            ));
        }
    };
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "key" | "value" | "headers" | "partition" | "timestamp" | "encoding"
        ) && !PASSED_OVER.contains(&k.as_str())
        {
            return Err(format!(
                "unknown field \"{k}\"; expected key, value, headers, partition, timestamp, encoding"
            ));
        }
    }
    let bytes = |field: &str, v: Option<&Value>| -> Result<Option<Bytes>, String> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if base64 => BASE64
                .decode(s)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("\"{field}\" is not valid base64: {e}")),
            Some(Value::String(s)) => Ok(Some(Bytes::copy_from_slice(s.as_bytes()))),
            Some(_) if base64 => Err(format!(
                "\"{field}\" must be a base64 string or null with \"encoding\":\"base64\""
            )),
            // A JSON value that is not a string is sent as its JSON text.
            Some(other) => Ok(Some(Bytes::from(other.to_string()))),
        }
    };
    let mut env = Envelope {
        key: bytes("key", o.get("key"))?,
        value: bytes("value", o.get("value"))?,
        ..Envelope::default()
    };
    match o.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for h in list {
                match h.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), v]) => {
                        env.headers.push((k.clone(), bytes("headers", Some(v))?))
                    }
                    _ => {
                        return Err(format!("\"headers\": {h} is not a [\"key\", value] pair"));
                    }
                }
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                env.headers.push((k.clone(), bytes("headers", Some(v))?));
            }
        }
        Some(other) => {
            return Err(format!(
                "\"headers\": {other} is neither a list of [\"key\", value] pairs nor an object"
            ));
        }
    }
    env.partition = match o.get("partition") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|p| (0..=i32::MAX as i64).contains(p))
                .ok_or_else(|| {
                    format!("\"partition\": {v} is not a partition number (0 or more)")
                })? as i32,
        ),
    };
    env.timestamp = match o.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().filter(|t| *t >= 0).ok_or_else(|| {
            format!("\"timestamp\": {v} is not a time in ms since the epoch (0 or more)")
        })?),
    };
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &[u8], value: &[u8], header: &[u8]) -> ConsumerRecord {
        ConsumerRecord {
            topic: "t".into(),
            partition: 2,
            offset: 7,
            timestamp: 1_700_000_000_123,
            log_append_time: false,
            key: Some(Bytes::copy_from_slice(key)),
            value: Some(Bytes::copy_from_slice(value)),
            headers: vec![
                ("h".into(), Some(Bytes::copy_from_slice(header))),
                ("n".into(), None),
            ],
        }
    }

    #[test]
    fn text_records_stay_readable_and_binary_ones_round_trip_as_base64() {
        let text = record(b"k", b"caf\xc3\xa9", b"v");
        let line = to_json_line(&text);
        assert!(line.contains("\"value\":\"café\""), "{line}");
        assert!(!line.contains("encoding"), "{line}");
        let back = parse(line.trim_end()).unwrap();
        assert_eq!(back.value, text.value);
        assert_eq!(back.headers, text.headers);
        assert_eq!(back.partition, Some(2));
        assert_eq!(back.timestamp, Some(1_700_000_000_123));

        let binary = record(b"\xff\x00", b"\x80\x81", b"\xfe");
        let line = to_json_line(&binary);
        assert!(line.contains("\"encoding\":\"base64\""), "{line}");
        assert!(!line.contains('\u{fffd}'), "{line}");
        let back = parse(line.trim_end()).unwrap();
        assert_eq!(back.key, binary.key);
        assert_eq!(back.value, binary.value);
        assert_eq!(back.headers, binary.headers);
    }

    #[test]
    fn the_escape_scan_finds_every_byte_json_escapes_wherever_it_is() {
        for len in 0..20 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    let mut s = vec![b'a'; len];
                    s[at] = bad;
                    assert_eq!(classify(&s), Class::Text, "{s:?}");
                }
                let mut s = vec![b'a'; len];
                s[at] = 0xff;
                assert_eq!(classify(&s), Class::Binary, "{s:?}");
            }
            assert_eq!(classify(&vec![b'a'; len]), Class::Plain);
            assert_eq!(classify(" ~\u{7f}".repeat(len).as_bytes()), Class::Plain);
            if len > 0 {
                assert_eq!(classify("é€".repeat(len).as_bytes()), Class::Text);
            }
        }
    }

    #[test]
    fn quotes_and_control_characters_are_escaped() {
        let r = record(b"a\"b", b"line\nnext\t\\ \x01 \xe2\x82\xac", b"\"");
        let line = to_json_line(&r);
        let v: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["value"], "line\nnext\t\\ \u{1} \u{20ac}");
        assert_eq!(v["key"], "a\"b");
        let back = parse(line.trim_end()).unwrap();
        assert_eq!(
            (back.key, back.value, back.headers),
            (r.key, r.value, r.headers)
        );
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        for (line, says) in [
            ("{\"value\": \"x\"", "not JSON"),
            ("[1]", "JSON object"),
            ("{\"vaule\": \"x\"}", "unknown field \"vaule\""),
            ("{\"partition\": -1}", "\"partition\""),
            ("{\"timestamp\": \"now\"}", "\"timestamp\""),
            ("{\"encoding\": \"hex\"}", "\"encoding\""),
            ("{\"encoding\": \"base64\", \"value\": \"!!\"}", "base64"),
            ("{\"headers\": [[1, 2]]}", "\"headers\""),
        ] {
            let err = parse(line).unwrap_err();
            assert!(err.contains(says), "{line}: {err}");
        }
        // Objects as values are sent as their JSON text; headers may be an object.
        let env = parse("{\"value\": {\"a\": 1}, \"headers\": {\"h\": \"v\"}}").unwrap();
        assert_eq!(env.value.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(
            env.headers,
            vec![("h".into(), Some(Bytes::from_static(b"v")))]
        );
    }
}
