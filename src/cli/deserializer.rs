//! The console consumer's `key.deserializer` / `value.deserializer` formatter properties:
//! Kafka's common serializations turned back into text, as Kafka's console consumer prints
//! them (the Streams word-count demo writes its counts as 8-byte Longs).

use bytes::Bytes;

/// One of Kafka's built-in deserializers (`org.apache.kafka.common.serialization.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deserializer {
    /// The bytes as they are (StringDeserializer's UTF-8, ByteArrayDeserializer, the default).
    #[default]
    Bytes,
    /// 8-byte big-endian signed integer.
    Long,
    /// 4-byte big-endian signed integer.
    Integer,
    /// 2-byte big-endian signed integer.
    Short,
    /// 8-byte big-endian IEEE 754.
    Double,
    /// 4-byte big-endian IEEE 754.
    Float,
    /// One byte, 0 or 1.
    Boolean,
    /// A UUID in its text form (Kafka's UUIDSerializer writes the string).
    Uuid,
    /// Always null.
    Void,
}

impl Deserializer {
    /// Reads `LongDeserializer`, `org.apache.kafka.common.serialization.LongDeserializer` or
    /// `Long` (any case).
    pub fn from_name(name: &str) -> Result<Deserializer, String> {
        let short = name.trim().rsplit('.').next().unwrap_or_default();
        let short = short.strip_suffix("Deserializer").unwrap_or(short);
        Ok(match short.to_ascii_lowercase().as_str() {
            "string" | "bytearray" | "bytes" | "bytebuffer" => Deserializer::Bytes,
            "long" => Deserializer::Long,
            "integer" | "int" => Deserializer::Integer,
            "short" => Deserializer::Short,
            "double" => Deserializer::Double,
            "float" => Deserializer::Float,
            "boolean" => Deserializer::Boolean,
            "uuid" => Deserializer::Uuid,
            "void" => Deserializer::Void,
            _ => {
                return Err(format!(
                    "deserializer '{name}' is not one of Kafka's common types: String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID, Void"
                ));
            }
        })
    }

    /// True when records pass through untouched.
    pub fn is_identity(self) -> bool {
        self == Deserializer::Bytes
    }

    /// The field as text; an error in Kafka's words when the bytes do not fit the type.
    pub fn apply(self, data: Option<Bytes>) -> Result<Option<Bytes>, String> {
        let Some(b) = data else { return Ok(None) };
        let sized = |n: usize, name: &str| -> Result<(), String> {
            if b.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "Size of data received by {name}Deserializer is not {n}"
                ))
            }
        };
        let text = match self {
            Deserializer::Bytes => return Ok(Some(b)),
            Deserializer::Void => return Ok(None),
            Deserializer::Long => {
                sized(8, "Long")?;
                i64::from_be_bytes(b[..8].try_into().unwrap_or_default()).to_string()
            }
            Deserializer::Integer => {
                sized(4, "Integer")?;
                i32::from_be_bytes(b[..4].try_into().unwrap_or_default()).to_string()
            }
            Deserializer::Short => {
                sized(2, "Short")?;
                i16::from_be_bytes(b[..2].try_into().unwrap_or_default()).to_string()
            }
            Deserializer::Double => {
                sized(8, "Double")?;
                java_double(f64::from_be_bytes(b[..8].try_into().unwrap_or_default()))
            }
            Deserializer::Float => {
                sized(4, "Float")?;
                java_double(f32::from_be_bytes(b[..4].try_into().unwrap_or_default()) as f64)
            }
            Deserializer::Boolean => {
                sized(1, "Boolean")?;
                match b[0] {
                    0 => "false".into(),
                    1 => "true".into(),
                    _ => return Err("Unexpected byte received by BooleanDeserializer".into()),
                }
            }
            Deserializer::Uuid => {
                let s = std::str::from_utf8(&b)
                    .ok()
                    .and_then(|s| uuid::Uuid::try_parse(s).ok())
                    .ok_or("Error deserializing UUID: the data is not a UUID in text form")?;
                s.hyphenated().to_string()
            }
        };
        Ok(Some(Bytes::from(text)))
    }
}

/// Java's `Double.toString`: `3.0`, `0.25`, `1.0E7`, `1.0E-4`, `NaN`, `Infinity`.
fn java_double(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = v.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = v.to_string();
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:E}");
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(d: &str, b: &[u8]) -> Result<String, String> {
        Deserializer::from_name(d)?
            .apply(Some(Bytes::copy_from_slice(b)))
            .map(|o| String::from_utf8(o.unwrap_or_default().to_vec()).unwrap())
    }

    #[test]
    fn kafka_types_print_as_kafka_prints_them() {
        assert_eq!(
            apply(
                "org.apache.kafka.common.serialization.LongDeserializer",
                &3i64.to_be_bytes()
            ),
            Ok("3".into())
        );
        assert_eq!(apply("Integer", &(-7i32).to_be_bytes()), Ok("-7".into()));
        assert_eq!(
            apply("DoubleDeserializer", &3.0f64.to_be_bytes()),
            Ok("3.0".into())
        );
        assert_eq!(apply("Double", &1e7f64.to_be_bytes()), Ok("1.0E7".into()));
        assert_eq!(apply("Double", &0.25f64.to_be_bytes()), Ok("0.25".into()));
        assert_eq!(apply("ByteArray", b"raw"), Ok("raw".into()));
        assert_eq!(
            apply("UUID", b"6F1C3B6A-1D3E-4A5B-8C7D-9E0F1A2B3C4D"),
            Ok("6f1c3b6a-1d3e-4a5b-8c7d-9e0f1a2b3c4d".into())
        );
        assert_eq!(
            apply("Long", b"abc"),
            Err("Size of data received by LongDeserializer is not 8".into())
        );
        assert!(
            Deserializer::from_name("Avro")
                .unwrap_err()
                .contains("Long")
        );
        assert_eq!(Deserializer::Long.apply(None), Ok(None));
    }
}
