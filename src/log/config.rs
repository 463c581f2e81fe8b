//! Per-topic log configuration: Kafka's topic config names, types and defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// Kafka's `message.max.bytes` default: 1 MiB plus the 12-byte log overhead.
pub const DEFAULT_MAX_MESSAGE_BYTES: i64 = 1_048_588;

/// The broker setting for how long an idle producer id is remembered; passed to the log with
/// the broker's log defaults although it is not a topic config.
pub const PRODUCER_ID_EXPIRATION_MS: &str = "producer.id.expiration.ms";

/// A topic config Kafka knows, with its default as Kafka prints it.
struct ConfigDef {
    name: &'static str,
    default: &'static str,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    /// Integer with an inclusive minimum.
    Long(i64),
    /// One of a set of strings.
    Choice(&'static [&'static str]),
    /// true / false.
    Bool,
    /// A number between 0 and 1.
    Ratio,
}

const DEFS: &[ConfigDef] = &[
    ConfigDef {
        name: "cleanup.policy",
        default: "delete",
        kind: Kind::Choice(&["delete", "compact", "compact,delete", "delete,compact"]),
    },
    ConfigDef {
        name: "compression.type",
        default: "producer",
        kind: Kind::Choice(&["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"]),
    },
    ConfigDef {
        name: "delete.retention.ms",
        default: "86400000",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "file.delete.delay.ms",
        default: "60000",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "flush.messages",
        default: "9223372036854775807",
        kind: Kind::Long(1),
    },
    ConfigDef {
        name: "flush.ms",
        default: "9223372036854775807",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "index.interval.bytes",
        default: "4096",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "max.compaction.lag.ms",
        default: "9223372036854775807",
        kind: Kind::Long(1),
    },
    ConfigDef {
        name: "max.message.bytes",
        default: "1048588",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "message.timestamp.after.max.ms",
        default: "3600000",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "message.timestamp.before.max.ms",
        default: "9223372036854775807",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "message.timestamp.type",
        default: "CreateTime",
        kind: Kind::Choice(&["CreateTime", "LogAppendTime"]),
    },
    ConfigDef {
        name: "min.cleanable.dirty.ratio",
        default: "0.5",
        kind: Kind::Ratio,
    },
    ConfigDef {
        name: "min.compaction.lag.ms",
        default: "0",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "min.insync.replicas",
        default: "1",
        kind: Kind::Long(1),
    },
    ConfigDef {
        name: "preallocate",
        default: "false",
        kind: Kind::Bool,
    },
    ConfigDef {
        name: "retention.bytes",
        default: "-1",
        kind: Kind::Long(i64::MIN),
    },
    ConfigDef {
        name: "retention.ms",
        default: "604800000",
        kind: Kind::Long(-1),
    },
    ConfigDef {
        name: "segment.bytes",
        default: "1073741824",
        kind: Kind::Long(14),
    },
    ConfigDef {
        name: "segment.index.bytes",
        default: "10485760",
        kind: Kind::Long(4),
    },
    ConfigDef {
        name: "segment.jitter.ms",
        default: "0",
        kind: Kind::Long(0),
    },
    ConfigDef {
        name: "segment.ms",
        default: "604800000",
        kind: Kind::Long(1),
    },
    ConfigDef {
        name: "unclean.leader.election.enable",
        default: "false",
        kind: Kind::Bool,
    },
];

/// Checks that `name` is a topic config Kafka knows (one to remove, say), in Kafka's words.
pub fn validate_name(name: &str) -> Result<()> {
    find(name).map(|_| ())
}

fn find(name: &str) -> Result<&'static ConfigDef> {
    DEFS.iter()
        .find(|d| d.name == name)
        .ok_or_else(|| Error::InvalidConfig(format!("Unknown topic config name: {name}")))
}

/// Checks one `name=value` topic config against Kafka's rules.
pub fn validate_entry(name: &str, value: &str) -> Result<()> {
    let def = find(name)?;
    let bad = |why: &str| {
        Error::InvalidConfig(format!(
            "Invalid value {value} for configuration {name}: {why}"
        ))
    };
    match def.kind {
        Kind::Long(min) => {
            let v: i64 = value
                .trim()
                .parse()
                .map_err(|_| bad("Not a number of type LONG"))?;
            if v < min {
                return Err(bad(&format!("Value must be at least {min}")));
            }
        }
        Kind::Choice(options) => {
            if !options.contains(&value.trim()) {
                return Err(bad(&format!(
                    "String must be one of: {}",
                    options.join(", ")
                )));
            }
        }
        Kind::Bool => {
            if !matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "false") {
                return Err(bad("Expected value to be either true or false"));
            }
        }
        Kind::Ratio => {
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| bad("Not a number of type DOUBLE"))?;
            if !(0.0..=1.0).contains(&v) {
                return Err(bad("Value must be between 0 and 1"));
            }
        }
    }
    Ok(())
}

/// The default of a topic config, as Kafka prints it.
pub fn default_of(name: &str) -> Option<&'static str> {
    DEFS.iter().find(|d| d.name == name).map(|d| d.default)
}

/// Names of every topic config this engine knows.
pub fn known_names() -> impl Iterator<Item = &'static str> {
    DEFS.iter().map(|d| d.name)
}

/// The settings a partition's log acts on, resolved from topic overrides over defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Roll the active segment when it would grow past this many bytes.
    pub segment_bytes: u64,
    /// Roll the active segment when its first record is this old.
    pub segment_ms: i64,
    /// Delete closed segments whose newest record is older than this; -1 keeps forever.
    pub retention_ms: i64,
    /// Delete oldest closed segments while the log is larger than this; -1 disables.
    pub retention_bytes: i64,
    /// fsync after this many appended records (Long.MAX: leave it to the page cache).
    pub flush_messages: i64,
    /// fsync when the last flush is this old (Long.MAX: leave it to the page cache).
    pub flush_ms: i64,
    /// Largest batch accepted, in bytes.
    pub max_message_bytes: usize,
    /// Bytes of log between offset index entries.
    pub index_interval_bytes: u64,
    /// Largest index file; the cleaner merges segments only while their indexes fit.
    pub segment_index_bytes: u64,
    /// Stamp LogAppendTime instead of keeping the producer's CreateTime.
    pub log_append_time: bool,
    /// Forget an idle producer id after this long (the broker's `producer.id.expiration.ms`;
    /// not a topic config).
    pub producer_id_expiration_ms: i64,
    /// `cleanup.policy` includes `compact`: the cleaner keeps the last record of each key, and
    /// records without a key are refused.
    pub compact: bool,
    /// `cleanup.policy` includes `delete`: retention deletes old segments.
    pub delete: bool,
    /// Clean when dirty bytes are at least this share of the log.
    pub min_cleanable_dirty_ratio: f64,
    /// Records younger than this are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// Records older than this are cleaned whatever the dirty ratio.
    pub max_compaction_lag_ms: i64,
    /// How long a tombstone outlives its first cleaning.
    pub delete_retention_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig::from_overrides(&BTreeMap::new())
    }
}

impl LogConfig {
    /// Resolves the configuration from a topic's overrides (assumed validated).
    pub fn from_overrides(overrides: &BTreeMap<String, String>) -> Self {
        let long = |name: &str| -> i64 {
            overrides
                .get(name)
                .map(String::as_str)
                .or_else(|| default_of(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(i64::MAX)
        };
        let policy = overrides
            .get("cleanup.policy")
            .map(String::as_str)
            .unwrap_or("delete");
        LogConfig {
            segment_bytes: long("segment.bytes").max(14) as u64,
            segment_ms: long("segment.ms"),
            retention_ms: long("retention.ms"),
            retention_bytes: long("retention.bytes"),
            flush_messages: long("flush.messages"),
            flush_ms: long("flush.ms"),
            max_message_bytes: long("max.message.bytes").clamp(0, i32::MAX as i64) as usize,
            index_interval_bytes: long("index.interval.bytes").max(0) as u64,
            segment_index_bytes: long("segment.index.bytes").max(4) as u64,
            log_append_time: overrides
                .get("message.timestamp.type")
                .is_some_and(|v| v == "LogAppendTime"),
            producer_id_expiration_ms: overrides
                .get(PRODUCER_ID_EXPIRATION_MS)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(super::producer_state::DEFAULT_EXPIRATION_MS),
            compact: policy.contains("compact"),
            delete: policy.contains("delete"),
            min_cleanable_dirty_ratio: overrides
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|r| (0.0..=1.0).contains(r))
                .unwrap_or(0.5),
            min_compaction_lag_ms: long("min.compaction.lag.ms"),
            max_compaction_lag_ms: long("max.compaction.lag.ms"),
            delete_retention_ms: long("delete.retention.ms"),
        }
    }

    /// How old the active segment may get before it rolls: `segment.ms`, or sooner on a
    /// compacted topic with a `max.compaction.lag.ms` (as Kafka's `maxSegmentMs`), so that no
    /// record waits in the uncleanable active segment past its maximum lag.
    pub fn max_segment_ms(&self) -> i64 {
        if self.compact && self.max_compaction_lag_ms > 0 {
            self.segment_ms.min(self.max_compaction_lag_ms)
        } else {
            self.segment_ms
        }
    }

    /// The flush interval as a duration, if one is set.
    pub fn flush_interval(&self) -> Option<Duration> {
        (self.flush_ms != i64::MAX).then(|| Duration::from_millis(self.flush_ms.max(0) as u64))
    }
}
