//! `server-start`'s settings: Kafka's `server.properties` keys that apply to one node, with
//! `--override key=value` on top. ZooKeeper and KRaft controller keys are named in a warning and
//! otherwise ignored, so Kafka's own `config/server.properties` starts the broker. Listeners are
//! read by [`super::listener`]; their `ssl.*`/`sasl.*` settings are kept for
//! [`super::security`], which checks them when the broker starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use super::connection_quotas::{self, ConnectionLimits};
use super::listener::{self, ListenerConfig};

/// `sasl.server.max.receive.size`'s default: the largest frame before authentication.
pub const SASL_SERVER_MAX_RECEIVE_SIZE: usize = 524_288;

/// What the broker needs to know.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The listeners to serve (`listeners`, `advertised.listeners`,
    /// `listener.security.protocol.map`, less `controller.listener.names`).
    pub listeners: Vec<ListenerConfig>,
    /// Controller listeners found in `listeners` and not served.
    pub skipped_controller_listeners: Vec<String>,
    /// `ssl.*`, `sasl.*` and `listener.name.*` settings, checked per listener at start.
    pub security: BTreeMap<String, String>,
    /// `connections.max.idle.ms`: a connection with no request for this long is closed.
    pub connections_max_idle: Duration,
    /// `max.connections`, `max.connections.per.ip`, `max.connections.per.ip.overrides`.
    pub connection_limits: ConnectionLimits,
    /// `sasl.server.max.receive.size`: the largest frame before SASL authentication.
    pub sasl_server_max_receive_size: usize,
    /// The data dir (`log.dirs`, first entry; else `log.dir`; else the tools' default).
    pub data_dir: Option<PathBuf>,
    /// `node.id`.
    pub node_id: i32,
    /// `num.partitions`.
    pub num_partitions: i32,
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// `default.replication.factor` (only 1 can be satisfied).
    pub default_replication_factor: i16,
    /// Broker-level log config defaults, as topic config names (`segment.bytes`, ...).
    pub log_defaults: BTreeMap<String, String>,
    /// `log.retention.check.interval.ms`.
    pub retention_check_interval: Duration,
    /// `log.cleaner.enable`: compacted topics are cleaned in the background.
    pub cleaner_enable: bool,
    /// `log.cleaner.threads`.
    pub cleaner_threads: usize,
    /// `log.cleaner.backoff.ms`: how long a cleaner thread sleeps when no log needs cleaning.
    pub cleaner_backoff: Duration,
    /// `log.cleaner.dedupe.buffer.size`: the memory of all cleaner threads' offset maps.
    pub cleaner_dedupe_buffer_size: usize,
    /// `transaction.max.timeout.ms`: the longest `transaction.timeout.ms` a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`.
    pub transaction_abort_interval: Duration,
    /// `transactional.id.expiration.ms`: idle transactional ids are forgotten after this.
    pub transactional_id_expiration_ms: i64,
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: usize,
    /// `group.initial.rebalance.delay.ms`.
    pub group_initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms`: JoinGroup with a shorter session timeout is refused.
    pub group_min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`: JoinGroup with a longer session timeout is refused.
    pub group_max_session_timeout: Duration,
    /// `offsets.retention.minutes`.
    pub offsets_retention: Duration,
    /// `offsets.retention.check.interval.ms`.
    pub offsets_retention_check_interval: Duration,
    /// `max.partitions.per.request`: most partitions one CreateTopics or CreatePartitions
    /// request (or an auto-creation) may make, refused with POLICY_VIOLATION beyond (a
    /// streamlog setting; Kafka's controller has the same bound, 10,000 records, built in).
    pub max_partitions_per_request: i32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listeners: vec![ListenerConfig {
                name: "PLAINTEXT".into(),
                protocol: listener::SecurityProtocol::Plaintext,
                bind: SocketAddr::from(([127, 0, 0, 1], 9092)),
                advertised: listener::Endpoint {
                    host: "127.0.0.1".into(),
                    port: 9092,
                },
            }],
            skipped_controller_listeners: Vec::new(),
            security: BTreeMap::new(),
            connections_max_idle: Duration::from_millis(600_000),
            connection_limits: ConnectionLimits::default(),
            sasl_server_max_receive_size: SASL_SERVER_MAX_RECEIVE_SIZE,
            data_dir: None,
            node_id: 1,
            num_partitions: 1,
            auto_create_topics: true,
            default_replication_factor: 1,
            log_defaults: BTreeMap::new(),
            retention_check_interval: Duration::from_millis(300_000),
            cleaner_enable: true,
            cleaner_threads: 1,
            cleaner_backoff: Duration::from_millis(15_000),
            cleaner_dedupe_buffer_size: crate::log::cleaner::DEFAULT_DEDUPE_BUFFER,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_interval: Duration::from_secs(10),
            transactional_id_expiration_ms: 604_800_000,
            socket_request_max_bytes: 104_857_600,
            group_initial_rebalance_delay: Duration::from_millis(3000),
            group_min_session_timeout: Duration::from_millis(6000),
            group_max_session_timeout: Duration::from_millis(1_800_000),
            offsets_retention: Duration::from_secs(7 * 24 * 3600),
            offsets_retention_check_interval: Duration::from_millis(600_000),
            max_partitions_per_request: crate::engine::DEFAULT_MAX_PARTITIONS_PER_REQUEST,
        }
    }
}

/// How a server key's value is checked: Kafka's type and validator.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer within an inclusive range (Kafka's INT is `i32`, LONG is `i64`, narrowed by
    /// the key's validator).
    Int { min: i64, max: i64 },
    /// `true` or `false`.
    Bool,
    /// Any text (checked where it is used).
    Text,
}

const INT: i64 = i32::MAX as i64;
const LONG: i64 = i64::MAX;

/// A checked value.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Int(i64),
    Bool(bool),
    Text(&'a str),
}

impl Value<'_> {
    fn int(self) -> i64 {
        match self {
            Value::Int(n) => n,
            Value::Bool(_) | Value::Text(_) => 0,
        }
    }

    fn ms(self) -> Duration {
        Duration::from_millis(self.int().max(0) as u64)
    }

    fn count(self) -> usize {
        usize::try_from(self.int().max(0)).unwrap_or(usize::MAX)
    }
}

/// What a key's value sets.
#[derive(Clone, Copy)]
enum Target {
    /// A field of [`BrokerConfig`].
    Field(fn(&mut BrokerConfig, Value<'_>) -> anyhow::Result<()>),
    /// A broker-wide topic config default: the value times `scale` (a negative time means
    /// "no limit", -1). Several keys may set one default (`log.retention.ms`, `.minutes`,
    /// `.hours`): the highest `rank` given wins, as in Kafka, whatever the order of the file.
    LogDefault {
        topic_key: &'static str,
        scale: i64,
        rank: u8,
    },
    /// Read by [`super::listener`].
    Listeners,
}

/// A `server.properties` key this broker acts on.
struct ServerKey {
    name: &'static str,
    kind: Kind,
    /// Kafka's default, as Kafka prints it.
    default: &'static str,
    doc: &'static str,
    target: Target,
}

const fn key(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    doc: &'static str,
    target: Target,
) -> ServerKey {
    ServerKey {
        name,
        kind,
        default,
        doc,
        target,
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const fn log_default(topic_key: &'static str, scale: i64, rank: u8) -> Target {
    Target::LogDefault {
        topic_key,
        scale,
        rank,
    }
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// The server keys that apply to one node, with Kafka's types, defaults and ranges.
const SERVER_KEYS: &[ServerKey] = &[
    key(
        "listeners",
        Kind::Text,
        "PLAINTEXT://:9092",
        "Listeners to serve, NAME://host:port.",
        Target::Listeners,
    ),
    key(
        "advertised.listeners",
        Kind::Text,
        "",
        "Addresses clients are told to use.",
        Target::Listeners,
    ),
    key(
        "listener.security.protocol.map",
        Kind::Text,
        "",
        "Security protocol of each listener name.",
        Target::Listeners,
    ),
    key(
        "controller.listener.names",
        Kind::Text,
        "",
        "Controller listeners, not served by a single node.",
        Target::Listeners,
    ),
    key(
        "log.dirs",
        Kind::Text,
        "",
        "The data dir (first entry).",
        Target::Field(|c, v| {
            if let Value::Text(v) = v {
                c.data_dir = v.split(',').next().map(|d| PathBuf::from(d.trim()));
            }
            Ok(())
        }),
    ),
    key(
        "log.dir",
        Kind::Text,
        "/tmp/kafka-logs",
        "The data dir when log.dirs is not set.",
        Target::Field(|c, v| {
            if let (None, Value::Text(v)) = (&c.data_dir, v) {
                c.data_dir = Some(PathBuf::from(v.trim()));
            }
            Ok(())
        }),
    ),
    key(
        "node.id",
        int(0, INT),
        "1",
        "This node's id.",
        Target::Field(|c, v| {
            c.node_id = v.int() as i32;
            Ok(())
        }),
    ),
    key(
        "num.partitions",
        int(1, INT),
        "1",
        "Partitions of an auto-created topic.",
        Target::Field(|c, v| {
            c.num_partitions = v.int() as i32;
            Ok(())
        }),
    ),
    key(
        "auto.create.topics.enable",
        Kind::Bool,
        "true",
        "Create a topic on first use.",
        Target::Field(|c, v| {
            c.auto_create_topics = matches!(v, Value::Bool(true));
            Ok(())
        }),
    ),
    key(
        "default.replication.factor",
        int(1, i16::MAX as i64),
        "1",
        "Replication factor of an auto-created topic (only 1 can be satisfied).",
        Target::Field(|c, v| {
            c.default_replication_factor = v.int() as i16;
            Ok(())
        }),
    ),
    key(
        "connections.max.idle.ms",
        int(1, LONG),
        "600000",
        "Close a connection idle this long.",
        Target::Field(|c, v| {
            c.connections_max_idle = v.ms();
            Ok(())
        }),
    ),
    key(
        "max.connections",
        int(0, INT),
        "2147483647",
        "Most connections over every listener.",
        Target::Field(|c, v| {
            c.connection_limits.max_connections = v.count();
            Ok(())
        }),
    ),
    key(
        "max.connections.per.ip",
        int(0, INT),
        "2147483647",
        "Most connections from one address.",
        Target::Field(|c, v| {
            c.connection_limits.max_per_ip = v.count();
            Ok(())
        }),
    ),
    key(
        "max.connections.per.ip.overrides",
        Kind::Text,
        "",
        "Per-address limits, host:count,...",
        Target::Field(|c, v| {
            if let Value::Text(v) = v {
                c.connection_limits.per_ip_overrides = connection_quotas::parse_overrides(v)?;
            }
            Ok(())
        }),
    ),
    key(
        "log.segment.bytes",
        int(14, INT),
        "1073741824",
        "Roll a segment at this size (segment.bytes).",
        log_default("segment.bytes", 1, 0),
    ),
    key(
        "log.roll.ms",
        int(1, LONG),
        "",
        "Roll a segment this old (segment.ms); wins over log.roll.hours.",
        log_default("segment.ms", 1, 1),
    ),
    key(
        "log.roll.hours",
        int(1, INT),
        "168",
        "Roll a segment this old, in hours (segment.ms).",
        log_default("segment.ms", HOUR_MS, 0),
    ),
    key(
        "log.roll.jitter.ms",
        int(0, LONG),
        "",
        "Random jitter subtracted from the roll time (segment.jitter.ms); wins over log.roll.jitter.hours.",
        log_default("segment.jitter.ms", 1, 1),
    ),
    key(
        "log.roll.jitter.hours",
        int(0, INT),
        "0",
        "Roll jitter in hours (segment.jitter.ms).",
        log_default("segment.jitter.ms", HOUR_MS, 0),
    ),
    key(
        "log.retention.ms",
        int(i64::MIN, LONG),
        "",
        "Delete segments older than this (retention.ms, -1: never); wins over minutes and hours.",
        log_default("retention.ms", 1, 2),
    ),
    key(
        "log.retention.minutes",
        int(i32::MIN as i64, INT),
        "",
        "Retention in minutes; wins over log.retention.hours.",
        log_default("retention.ms", MINUTE_MS, 1),
    ),
    key(
        "log.retention.hours",
        int(i32::MIN as i64, INT),
        "168",
        "Retention in hours.",
        log_default("retention.ms", HOUR_MS, 0),
    ),
    key(
        "log.retention.bytes",
        int(i64::MIN, LONG),
        "-1",
        "Delete the oldest segments past this size (retention.bytes, -1: never).",
        log_default("retention.bytes", 1, 0),
    ),
    key(
        "log.flush.interval.messages",
        int(1, LONG),
        "9223372036854775807",
        "fsync after this many records (flush.messages).",
        log_default("flush.messages", 1, 0),
    ),
    key(
        "log.flush.interval.ms",
        int(0, LONG),
        "",
        "fsync when the last flush is this old (flush.ms).",
        log_default("flush.ms", 1, 0),
    ),
    key(
        "message.max.bytes",
        int(0, INT),
        "1048588",
        "Largest record batch (max.message.bytes).",
        log_default("max.message.bytes", 1, 0),
    ),
    key(
        "log.retention.check.interval.ms",
        int(1, LONG),
        "300000",
        "How often retention runs.",
        Target::Field(|c, v| {
            c.retention_check_interval = v.ms();
            Ok(())
        }),
    ),
    key(
        "log.cleaner.enable",
        Kind::Bool,
        "true",
        "Clean compacted topics in the background.",
        Target::Field(|c, v| {
            c.cleaner_enable = matches!(v, Value::Bool(true));
            Ok(())
        }),
    ),
    key(
        "log.cleaner.threads",
        int(1, INT),
        "1",
        "Background threads cleaning compacted topics.",
        Target::Field(|c, v| {
            c.cleaner_threads = v.count().max(1);
            Ok(())
        }),
    ),
    key(
        "log.cleaner.backoff.ms",
        int(0, LONG),
        "15000",
        "How long a cleaner thread sleeps when no log needs cleaning.",
        Target::Field(|c, v| {
            c.cleaner_backoff = v.ms();
            Ok(())
        }),
    ),
    key(
        "log.cleaner.dedupe.buffer.size",
        int(0, LONG),
        "134217728",
        "Memory for the cleaner threads' key maps, shared among them.",
        Target::Field(|c, v| {
            c.cleaner_dedupe_buffer_size = v.count();
            Ok(())
        }),
    ),
    key(
        "transaction.max.timeout.ms",
        int(1, INT),
        "900000",
        "The longest transaction timeout a producer may ask for.",
        Target::Field(|c, v| {
            c.transaction_max_timeout_ms = v.count().min(i32::MAX as usize) as i32;
            Ok(())
        }),
    ),
    key(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        int(1, INT),
        "10000",
        "How often transactions past their timeout are looked for and aborted.",
        Target::Field(|c, v| {
            c.transaction_abort_interval = v.ms();
            Ok(())
        }),
    ),
    key(
        "transactional.id.expiration.ms",
        int(1, INT),
        "604800000",
        "How long an idle transactional id is remembered.",
        Target::Field(|c, v| {
            c.transactional_id_expiration_ms = v.count() as i64;
            Ok(())
        }),
    ),
    key(
        "log.cleaner.delete.retention.ms",
        int(0, LONG),
        "86400000",
        "How long tombstones outlive their first cleaning (delete.retention.ms).",
        log_default("delete.retention.ms", 1, 0),
    ),
    key(
        "log.cleaner.min.compaction.lag.ms",
        int(0, LONG),
        "0",
        "Records younger than this are not cleaned (min.compaction.lag.ms).",
        log_default("min.compaction.lag.ms", 1, 0),
    ),
    key(
        "log.cleaner.max.compaction.lag.ms",
        int(1, LONG),
        "9223372036854775807",
        "Records older than this are cleaned whatever the ratio (max.compaction.lag.ms).",
        log_default("max.compaction.lag.ms", 1, 0),
    ),
    key(
        "log.cleanup.policy",
        Kind::Text,
        "delete",
        "Default cleanup.policy of topics: delete, compact or compact,delete.",
        Target::Field(|c, v| {
            if let Value::Text(v) = v {
                crate::log::config::validate_entry("cleanup.policy", v)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                c.log_defaults
                    .insert("cleanup.policy".to_string(), v.trim().to_string());
            }
            Ok(())
        }),
    ),
    key(
        "log.cleaner.min.cleanable.ratio",
        Kind::Text,
        "0.5",
        "Clean when dirty bytes reach this share of the log (min.cleanable.dirty.ratio).",
        Target::Field(|c, v| {
            if let Value::Text(v) = v {
                crate::log::config::validate_entry("min.cleanable.dirty.ratio", v)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                c.log_defaults.insert(
                    "min.cleanable.dirty.ratio".to_string(),
                    v.trim().to_string(),
                );
            }
            Ok(())
        }),
    ),
    key(
        "socket.request.max.bytes",
        int(1, INT),
        "104857600",
        "Largest request.",
        Target::Field(|c, v| {
            c.socket_request_max_bytes = v.count();
            Ok(())
        }),
    ),
    key(
        "group.initial.rebalance.delay.ms",
        int(0, INT),
        "3000",
        "Wait for more members before the first rebalance.",
        Target::Field(|c, v| {
            c.group_initial_rebalance_delay = v.ms();
            Ok(())
        }),
    ),
    key(
        "group.min.session.timeout.ms",
        int(0, INT),
        "6000",
        "Shortest session timeout a member may ask for.",
        Target::Field(|c, v| {
            c.group_min_session_timeout = v.ms();
            Ok(())
        }),
    ),
    key(
        "group.max.session.timeout.ms",
        int(0, INT),
        "1800000",
        "Longest session timeout a member may ask for.",
        Target::Field(|c, v| {
            c.group_max_session_timeout = v.ms();
            Ok(())
        }),
    ),
    key(
        "offsets.retention.minutes",
        int(1, INT),
        "10080",
        "Expire the offsets of a group empty this long.",
        Target::Field(|c, v| {
            c.offsets_retention = Duration::from_secs(v.int() as u64 * 60);
            Ok(())
        }),
    ),
    key(
        "offsets.retention.check.interval.ms",
        int(1, LONG),
        "600000",
        "How often offsets expire.",
        Target::Field(|c, v| {
            c.offsets_retention_check_interval = v.ms();
            Ok(())
        }),
    ),
    key(
        "max.partitions.per.request",
        int(1, INT),
        "10000",
        "Most partitions one request may create (a streamlog setting).",
        Target::Field(|c, v| {
            c.max_partitions_per_request = v.int() as i32;
            Ok(())
        }),
    ),
    key(
        "producer.id.expiration.ms",
        int(1, INT),
        "86400000",
        "Forget an idle producer id after this long.",
        log_default(crate::log::config::PRODUCER_ID_EXPIRATION_MS, 1, 0),
    ),
];

/// `sasl.server.max.receive.size` (kept with the security settings, checked here).
const SASL_MAX_RECEIVE: ServerKey = key(
    "sasl.server.max.receive.size",
    int(1, INT),
    "524288",
    "Largest frame before SASL authentication.",
    Target::Listeners,
);

/// Which keys an ignored-key pattern matches.
#[derive(Clone, Copy)]
enum Pattern {
    Exact(&'static str),
    Prefix(&'static str),
}

/// Keys of Kafka's that mean nothing to one embedded node (ZooKeeper, the KRaft controller
/// quorum, replication, thread pools): named in the warning as ignored, not as unknown.
const IGNORED_KEYS: &[(Pattern, &str)] = &[
    (Pattern::Prefix("zookeeper."), "ZooKeeper"),
    (
        Pattern::Prefix("controller."),
        "the KRaft controller quorum",
    ),
    (Pattern::Exact("process.roles"), "the KRaft roles"),
    (Pattern::Exact("broker.id"), "ZooKeeper-era broker id"),
    (
        Pattern::Prefix("inter.broker."),
        "replication between brokers",
    ),
    (
        Pattern::Prefix("offsets.topic."),
        "the offsets topic's replication",
    ),
    (
        Pattern::Prefix("transaction.state.log."),
        "the transaction log's replication",
    ),
    (
        Pattern::Exact("share.coordinator.state.topic.replication.factor"),
        "share groups' topic",
    ),
    (
        Pattern::Exact("share.coordinator.state.topic.min.isr"),
        "share groups' topic",
    ),
    (Pattern::Exact("num.network.threads"), "thread pools"),
    (Pattern::Exact("num.io.threads"), "thread pools"),
    (
        Pattern::Exact("num.recovery.threads.per.data.dir"),
        "thread pools",
    ),
    (Pattern::Exact("socket.send.buffer.bytes"), "socket buffers"),
    (
        Pattern::Exact("socket.receive.buffer.bytes"),
        "socket buffers",
    ),
];

/// True for a key of Kafka's that one embedded node ignores (see [`IGNORED_KEYS`]).
fn is_ignored_key(key: &str) -> bool {
    IGNORED_KEYS.iter().any(|(p, _)| match p {
        Pattern::Exact(k) => key == *k,
        Pattern::Prefix(prefix) => key.starts_with(prefix),
    })
}

/// The server keys this broker acts on: name, Kafka's default and what the key does.
pub fn server_keys() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    SERVER_KEYS
        .iter()
        .chain(std::iter::once(&SASL_MAX_RECEIVE))
        .map(|k| (k.name, k.default, k.doc))
}

/// Checks `value` against the key's type and range; the error names the key, the value and
/// what is accepted.
fn check<'a>(def: &ServerKey, value: &'a str) -> anyhow::Result<Value<'a>> {
    let name = def.name;
    match def.kind {
        Kind::Int { min, max } => {
            let range = if (min, max) == (i64::MIN, LONG) {
                "a 64-bit integer".to_string()
            } else if max == LONG {
                format!("an integer of at least {min}")
            } else {
                format!("an integer from {min} to {max}")
            };
            // Parsed wide, so a value past i64 is "out of range" rather than "not a number".
            let n: i128 = value
                .parse()
                .with_context(|| format!("{name}={value}: not an integer; expected {range}"))?;
            if n < i128::from(min) || n > i128::from(max) {
                bail!("{name}={value}: out of range; expected {range}");
            }
            Ok(Value::Int(n as i64))
        }
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => bail!("{name}={value}: expected true or false"),
        },
        Kind::Text => Ok(Value::Text(value)),
    }
}

impl BrokerConfig {
    /// Builds the config from properties (file then overrides). Returns the keys it does not
    /// act on too: Kafka's keys that do not apply to one node by name, and keys it does not
    /// know with `(unknown)` after them (a misspelt key is not silently dropped).
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let mut c = BrokerConfig::default();
        let mut ignored = Vec::new();
        let mut unknown = Vec::new();
        let listeners = listener::from_properties(props)?;
        c.listeners = listeners.served;
        c.skipped_controller_listeners = listeners.skipped_controllers;
        // Topic default -> (rank, value) of the highest-ranked key that set it.
        let mut log_defaults: BTreeMap<&'static str, (u8, String)> = BTreeMap::new();
        for (k, v) in props {
            let v = v.trim();
            if let Some(def) = SERVER_KEYS.iter().find(|d| d.name == k) {
                let value = check(def, v)?;
                match def.target {
                    Target::Field(set) => set(&mut c, value)?,
                    Target::LogDefault {
                        topic_key,
                        scale,
                        rank,
                    } => {
                        let n = value.int();
                        let scaled = if scale == 1 {
                            n
                        } else if n < 0 {
                            -1
                        } else {
                            n.saturating_mul(scale)
                        };
                        if log_defaults.get(topic_key).is_none_or(|(r, _)| rank > *r) {
                            log_defaults.insert(topic_key, (rank, scaled.to_string()));
                        }
                    }
                    Target::Listeners => {}
                }
            } else if super::security::is_security_key(k) {
                c.security.insert(k.to_string(), v.to_string());
            } else if is_ignored_key(k) {
                ignored.push(k.to_string());
            } else {
                unknown.push(format!("{k} (unknown)"));
            }
        }
        c.log_defaults = log_defaults
            .into_iter()
            .map(|(k, (_, v))| (k.to_string(), v))
            .collect();
        for (name, value) in &c.log_defaults {
            if name == crate::log::config::PRODUCER_ID_EXPIRATION_MS {
                continue;
            }
            crate::log::config::validate_entry(name, value)
                .with_context(|| format!("server property for {name}"))?;
        }
        if let Some(v) = c.security.get(SASL_MAX_RECEIVE.name) {
            c.sasl_server_max_receive_size = check(&SASL_MAX_RECEIVE, v.trim())?.count();
        }
        ignored.extend(unknown);
        ignored.extend(super::security::unknown_security_keys(&c.security));
        if c.num_partitions > c.max_partitions_per_request {
            bail!(
                "num.partitions={} is above max.partitions.per.request={}: auto-created topics could never be made",
                c.num_partitions,
                c.max_partitions_per_request
            );
        }
        Ok((c, ignored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_quickstart_properties_start_a_broker_and_name_what_is_ignored() {
        let props: BTreeMap<String, String> = [
            ("process.roles", "broker,controller"),
            ("node.id", "1"),
            ("controller.quorum.bootstrap.servers", "localhost:9093"),
            ("listeners", "PLAINTEXT://:9092,CONTROLLER://:9093"),
            ("controller.listener.names", "CONTROLLER"),
            ("advertised.listeners", "PLAINTEXT://localhost:9092"),
            ("log.dirs", "/tmp/kraft-combined-logs"),
            ("num.partitions", "3"),
            ("log.retention.hours", "168"),
            ("log.segment.bytes", "1073741824"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (c, ignored) = BrokerConfig::from_properties(&props).unwrap();
        assert_eq!(c.listeners.len(), 1);
        assert_eq!(c.listeners[0].bind, "0.0.0.0:9092".parse().unwrap());
        assert_eq!(c.listeners[0].advertised.to_string(), "localhost:9092");
        assert_eq!(
            c.skipped_controller_listeners,
            vec!["CONTROLLER".to_string()]
        );
        assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/kraft-combined-logs")));
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.log_defaults["retention.ms"], "604800000");
        assert!(ignored.contains(&"process.roles".to_string()));
        assert!(ignored.contains(&"controller.quorum.bootstrap.servers".to_string()));
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn log_default(pairs: &[(&str, &str)], name: &str) -> Option<String> {
        let (c, _) = BrokerConfig::from_properties(&props(pairs)).unwrap();
        c.log_defaults.get(name).cloned()
    }

    /// Kafka: log.retention.ms over .minutes over .hours, log.roll.ms over log.roll.hours,
    /// whatever order the keys come in (hours sorted first and won before).
    #[test]
    fn the_finer_retention_and_roll_keys_win_as_in_kafka() {
        let retention = |pairs: &[(&str, &str)]| log_default(pairs, "retention.ms");
        assert_eq!(
            retention(&[("log.retention.hours", "1"), ("log.retention.minutes", "2")]),
            Some("120000".into())
        );
        assert_eq!(
            retention(&[
                ("log.retention.hours", "1"),
                ("log.retention.minutes", "2"),
                ("log.retention.ms", "5"),
            ]),
            Some("5".into())
        );
        assert_eq!(
            retention(&[("log.retention.hours", "3")]),
            Some("10800000".into())
        );
        assert_eq!(
            retention(&[("log.retention.hours", "-1")]),
            Some("-1".into())
        );
        assert_eq!(retention(&[]), None);
        let roll = |pairs: &[(&str, &str)]| log_default(pairs, "segment.ms");
        assert_eq!(
            roll(&[("log.roll.hours", "2"), ("log.roll.ms", "7000")]),
            Some("7000".into())
        );
        assert_eq!(roll(&[("log.roll.hours", "2")]), Some("7200000".into()));
        assert_eq!(
            log_default(
                &[("log.roll.jitter.hours", "1"), ("log.roll.jitter.ms", "10")],
                "segment.jitter.ms"
            ),
            Some("10".into())
        );
    }

    /// Kafka's keys for ZooKeeper or the controller are named as ignored; keys nobody knows
    /// are marked unknown (both were reported alike).
    #[test]
    fn ignored_keys_and_unknown_keys_are_told_apart() {
        let (_, ignored) = BrokerConfig::from_properties(&props(&[
            ("process.roles", "broker,controller"),
            ("zookeeper.connect", "localhost:2181"),
            ("num.io.threads", "8"),
            ("log.retention.hour", "1"),
            ("ssl.provider", "SunJSSE"),
        ]))
        .unwrap();
        assert_eq!(
            ignored,
            [
                "num.io.threads",
                "process.roles",
                "zookeeper.connect",
                "log.retention.hour (unknown)",
                "ssl.provider",
            ]
        );
        assert!(is_ignored_key("controller.quorum.voters"));
        assert!(!is_ignored_key("log.retention.hour"));
    }

    /// Values past a key's type were cut to 32 bits (node.id=4294967297 became 1); now every
    /// out-of-range value is an error naming the key, the value and the range.
    #[test]
    fn out_of_range_values_are_errors_naming_key_value_and_range() {
        for (k, v, range) in [
            ("node.id", "4294967297", "an integer from 0 to 2147483647"),
            ("node.id", "-1", "an integer from 0 to 2147483647"),
            (
                "num.partitions",
                "2147483648",
                "an integer from 1 to 2147483647",
            ),
            ("num.partitions", "0", "an integer from 1 to 2147483647"),
            (
                "default.replication.factor",
                "65537",
                "an integer from 1 to 32767",
            ),
            (
                "log.retention.hours",
                "3000000000",
                "an integer from -2147483648 to 2147483647",
            ),
            (
                "log.retention.minutes",
                "3000000000",
                "an integer from -2147483648 to 2147483647",
            ),
            (
                "log.retention.ms",
                "99999999999999999999",
                "a 64-bit integer",
            ),
            (
                "log.segment.bytes",
                "4294967296",
                "an integer from 14 to 2147483647",
            ),
            (
                "message.max.bytes",
                "4294967296",
                "an integer from 0 to 2147483647",
            ),
            (
                "max.connections",
                "99999999999",
                "an integer from 0 to 2147483647",
            ),
            (
                "socket.request.max.bytes",
                "0",
                "an integer from 1 to 2147483647",
            ),
            ("connections.max.idle.ms", "0", "an integer of at least 1"),
            (
                "offsets.retention.minutes",
                "4294967296",
                "an integer from 1 to 2147483647",
            ),
            (
                "max.partitions.per.request",
                "0",
                "an integer from 1 to 2147483647",
            ),
            (
                "producer.id.expiration.ms",
                "0",
                "an integer from 1 to 2147483647",
            ),
            (
                "sasl.server.max.receive.size",
                "4294967296",
                "an integer from 1 to 2147483647",
            ),
        ] {
            let e = BrokerConfig::from_properties(&props(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert_eq!(e, format!("{k}={v}: out of range; expected {range}"));
        }
        let e = BrokerConfig::from_properties(&props(&[("node.id", "one")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "node.id=one: not an integer; expected an integer from 0 to 2147483647"
        );
        let e = BrokerConfig::from_properties(&props(&[("auto.create.topics.enable", "yes")]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "auto.create.topics.enable=yes: expected true or false");
        // In range, the values arrive whole.
        let (c, _) = BrokerConfig::from_properties(&props(&[
            ("node.id", "2147483647"),
            ("connections.max.idle.ms", "9999999999"),
            ("log.retention.bytes", "9999999999999"),
        ]))
        .unwrap();
        assert_eq!(c.node_id, i32::MAX);
        assert_eq!(c.connections_max_idle, Duration::from_millis(9_999_999_999));
        assert_eq!(c.log_defaults["retention.bytes"], "9999999999999");
    }

    #[test]
    fn every_server_key_has_a_doc_and_a_default_that_passes_its_own_check() {
        for def in SERVER_KEYS.iter().chain(std::iter::once(&SASL_MAX_RECEIVE)) {
            assert!(!def.doc.is_empty(), "{}", def.name);
            if !def.default.is_empty() {
                check(def, def.default).unwrap();
            }
        }
        assert_eq!(server_keys().count(), SERVER_KEYS.len() + 1);
    }
}
