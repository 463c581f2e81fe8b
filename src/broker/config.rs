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

/// Keys that belong to ZooKeeper or the KRaft controller quorum: meaningless for one embedded
/// node, so they are reported and skipped.
fn is_ignored_key(key: &str) -> bool {
    key.starts_with("zookeeper.")
        || key.starts_with("controller.")
        || key.starts_with("process.roles")
        || key.starts_with("inter.broker.")
        || key.starts_with("offsets.topic.")
        || key.starts_with("transaction.state.log.")
        || key == "share.coordinator.state.topic.replication.factor"
        || key == "share.coordinator.state.topic.min.isr"
        || key == "num.network.threads"
        || key == "num.io.threads"
        || key == "num.recovery.threads.per.data.dir"
        || key == "socket.send.buffer.bytes"
        || key == "socket.receive.buffer.bytes"
        || key == "broker.id"
}

impl BrokerConfig {
    /// Builds the config from properties (file then overrides). Returns the ignored keys too.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let mut c = BrokerConfig::default();
        let mut ignored = Vec::new();
        let listeners = listener::from_properties(props)?;
        c.listeners = listeners.served;
        c.skipped_controller_listeners = listeners.skipped_controllers;
        let num = |k: &str, v: &str| -> anyhow::Result<i64> {
            v.trim()
                .parse()
                .with_context(|| format!("{k}={v}: expected a number"))
        };
        for (k, v) in props {
            let v = v.trim();
            match k.as_str() {
                "listeners"
                | "advertised.listeners"
                | "listener.security.protocol.map"
                | "controller.listener.names" => {}
                k if super::security::is_security_key(k) => {
                    c.security.insert(k.to_string(), v.to_string());
                }
                "connections.max.idle.ms" => {
                    c.connections_max_idle = Duration::from_millis(num(k, v)?.max(1) as u64)
                }
                "max.connections" => {
                    c.connection_limits.max_connections = num(k, v)?.max(0) as usize
                }
                "max.connections.per.ip" => {
                    c.connection_limits.max_per_ip = num(k, v)?.max(0) as usize
                }
                "max.connections.per.ip.overrides" => {
                    c.connection_limits.per_ip_overrides = connection_quotas::parse_overrides(v)?
                }
                "log.dirs" | "log.dir" => {
                    if k == "log.dirs" || c.data_dir.is_none() {
                        c.data_dir = v.split(',').next().map(|d| PathBuf::from(d.trim()));
                    }
                }
                "node.id" => c.node_id = num(k, v)? as i32,
                "num.partitions" => c.num_partitions = num(k, v)? as i32,
                "auto.create.topics.enable" => {
                    c.auto_create_topics = v
                        .parse()
                        .with_context(|| format!("{k}={v}: expected true or false"))?
                }
                "default.replication.factor" => c.default_replication_factor = num(k, v)? as i16,
                "log.segment.bytes" => {
                    c.log_defaults.insert("segment.bytes".into(), v.into());
                }
                "log.retention.ms" => {
                    c.log_defaults.insert("retention.ms".into(), v.into());
                }
                "log.retention.minutes" => {
                    c.log_defaults
                        .entry("retention.ms".into())
                        .or_insert((num(k, v)? * 60_000).to_string());
                }
                "log.retention.hours" => {
                    c.log_defaults
                        .entry("retention.ms".into())
                        .or_insert((num(k, v)? * 3_600_000).to_string());
                }
                "log.retention.bytes" => {
                    c.log_defaults.insert("retention.bytes".into(), v.into());
                }
                "log.flush.interval.messages" => {
                    c.log_defaults.insert("flush.messages".into(), v.into());
                }
                "log.flush.interval.ms" => {
                    c.log_defaults.insert("flush.ms".into(), v.into());
                }
                "message.max.bytes" => {
                    c.log_defaults.insert("max.message.bytes".into(), v.into());
                }
                "log.retention.check.interval.ms" => {
                    c.retention_check_interval = Duration::from_millis(num(k, v)?.max(1) as u64)
                }
                "socket.request.max.bytes" => {
                    c.socket_request_max_bytes = num(k, v)?.max(1) as usize
                }
                "group.initial.rebalance.delay.ms" => {
                    c.group_initial_rebalance_delay =
                        Duration::from_millis(num(k, v)?.max(0) as u64)
                }
                "group.min.session.timeout.ms" => {
                    c.group_min_session_timeout = Duration::from_millis(num(k, v)?.max(0) as u64)
                }
                "group.max.session.timeout.ms" => {
                    c.group_max_session_timeout = Duration::from_millis(num(k, v)?.max(0) as u64)
                }
                "offsets.retention.minutes" => {
                    c.offsets_retention = Duration::from_secs(num(k, v)?.max(1) as u64 * 60)
                }
                "max.partitions.per.request" => {
                    c.max_partitions_per_request = i32::try_from(num(k, v)?)
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("{k}={v}: expected a positive 32-bit integer"))?
                }
                "producer.id.expiration.ms" => {
                    let ms = num(k, v)?;
                    if ms < 1 {
                        bail!("{k}={v}: expected at least 1");
                    }
                    c.log_defaults.insert(k.clone(), ms.to_string());
                }
                "offsets.retention.check.interval.ms" => {
                    c.offsets_retention_check_interval =
                        Duration::from_millis(num(k, v)?.max(1) as u64)
                }
                k if is_ignored_key(k) => ignored.push(k.to_string()),
                other => ignored.push(other.to_string()),
            }
        }
        for (name, value) in &c.log_defaults {
            if name == crate::log::config::PRODUCER_ID_EXPIRATION_MS {
                continue;
            }
            crate::log::config::validate_entry(name, value)
                .with_context(|| format!("server property for {name}"))?;
        }
        if let Some(v) = c.security.get("sasl.server.max.receive.size") {
            c.sasl_server_max_receive_size =
                num("sasl.server.max.receive.size", v)?.max(1) as usize;
        }
        ignored.extend(super::security::unknown_security_keys(&c.security));
        if c.num_partitions < 1 {
            bail!("num.partitions must be at least 1");
        }
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
}
