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
use std::io::{self, Write};

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
    let mut out = Vec::with_capacity(256);
    // Writing to a Vec cannot fail.
    let _ = write_json_line(&mut out, r);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the record as one line of JSON, ended by `\n`, straight to `out`: no JSON tree is
/// built per record (the consumer prints millions a second).
pub fn write_json_line(out: &mut impl Write, r: &ConsumerRecord) -> io::Result<()> {
    let all_text = [&r.key, &r.value]
        .into_iter()
        .chain(r.headers.iter().map(|(_, v)| v))
        .all(|b| b.as_ref().is_none_or(|b| std::str::from_utf8(b).is_ok()));
    let field = |out: &mut dyn Write, b: &Option<Bytes>| -> io::Result<()> {
        match b {
            None => out.write_all(b"null"),
            // Checked above: every field is UTF-8.
            Some(b) if all_text => json_string(out, std::str::from_utf8(b).unwrap_or_default()),
            Some(b) => {
                out.write_all(b"\"")?;
                out.write_all(BASE64.encode(b).as_bytes())?;
                out.write_all(b"\"")
            }
        }
    };
    out.write_all(b"{\"topic\":")?;
    json_string(out, &r.topic)?;
    write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp\":{},\"timestamp_type\":\"{}\",\"headers\":[",
        r.partition,
        r.offset,
        r.timestamp,
        if r.log_append_time {
            "LogAppendTime"
        } else {
            "CreateTime"
        }
    )?;
    for (i, (k, v)) in r.headers.iter().enumerate() {
        out.write_all(if i == 0 { b"[" } else { b",[" })?;
        json_string(out, k)?;
        out.write_all(b",")?;
        field(out, v)?;
        out.write_all(b"]")?;
    }
    out.write_all(b"],\"key\":")?;
    field(out, &r.key)?;
    out.write_all(b",\"value\":")?;
    field(out, &r.value)?;
    if !all_text {
        out.write_all(b",\"encoding\":\"base64\"")?;
    }
    out.write_all(b"}\n")
}

/// A JSON string literal, escaped as JSON requires.
fn json_string(out: &mut dyn Write, s: &str) -> io::Result<()> {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        return out.write_all(b"\"");
    }
    serde_json::to_writer(out, s).map_err(io::Error::other)
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
    fn quotes_and_control_characters_are_escaped() {
        let r = record(b"a\"b", b"line\nnext\t\\ \x01 \xe2\x82\xac", b"\"");
        let line = to_json_line(&r);
        let v: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["value"], "line\nnext\t\\ \u{1} \u{20ac}");
        assert_eq!(v["key"], "a\"b");
        let back = parse(line.trim_end()).unwrap();
        assert_eq!((back.key, back.value, back.headers), (r.key, r.value, r.headers));
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
