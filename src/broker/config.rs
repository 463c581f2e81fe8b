//! `server-start`'s settings: Kafka's `server.properties` keys that apply to one node, with
//! `--override key=value` on top. ZooKeeper and KRaft controller keys are named in a warning and
//! otherwise ignored, so Kafka's own `config/server.properties` starts the broker.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

/// What the broker needs to know.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Where to listen (`listeners`, PLAINTEXT only).
    pub listen: SocketAddr,
    /// Host and port clients are told to connect to (`advertised.listeners`).
    pub advertised_host: String,
    /// Port in `advertised.listeners`.
    pub advertised_port: u16,
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
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised_host: "127.0.0.1".to_string(),
            advertised_port: 9092,
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
        || key.starts_with("listener.security.protocol.map")
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

/// Parses `PLAINTEXT://host:port` (the first listener) into host and port.
fn parse_listener(value: &str) -> anyhow::Result<(String, u16)> {
    let first = value.split(',').next().unwrap_or_default().trim();
    let (_, addr) = first
        .split_once("://")
        .with_context(|| format!("listener '{first}' is not of the form PLAINTEXT://host:port"))?;
    let (host, port) = addr
        .rsplit_once(':')
        .with_context(|| format!("listener '{first}' has no port"))?;
    let port = port
        .parse()
        .with_context(|| format!("listener '{first}': bad port '{port}'"))?;
    Ok((host.trim_matches(['[', ']']).to_string(), port))
}

impl BrokerConfig {
    /// Builds the config from properties (file then overrides). Returns the ignored keys too.
    pub fn from_properties(
        props: &BTreeMap<String, String>,
    ) -> anyhow::Result<(Self, Vec<String>)> {
        let mut c = BrokerConfig::default();
        let mut ignored = Vec::new();
        let mut advertised = None;
        let num = |k: &str, v: &str| -> anyhow::Result<i64> {
            v.trim()
                .parse()
                .with_context(|| format!("{k}={v}: expected a number"))
        };
        for (k, v) in props {
            let v = v.trim();
            match k.as_str() {
                "listeners" => {
                    let (host, port) = parse_listener(v)?;
                    let host = if host.is_empty() {
                        "0.0.0.0".to_string()
                    } else {
                        host
                    };
                    let ip = if host == "localhost" {
                        "127.0.0.1".to_string()
                    } else {
                        host.clone()
                    };
                    c.listen = format!("{ip}:{port}")
                        .parse()
                        .or_else(|_| format!("[{ip}]:{port}").parse())
                        .with_context(|| format!("listeners={v}: cannot listen on '{host}'"))?;
                    c.advertised_host = if host == "0.0.0.0" {
                        "127.0.0.1".to_string()
                    } else {
                        host
                    };
                    c.advertised_port = port;
                }
                "advertised.listeners" => advertised = Some(parse_listener(v)?),
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
        if let Some((host, port)) = advertised {
            c.advertised_host = host;
            c.advertised_port = port;
        }
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
        assert_eq!(c.listen, "0.0.0.0:9092".parse().unwrap());
        assert_eq!(
            (c.advertised_host.as_str(), c.advertised_port),
            ("localhost", 9092)
        );
        assert_eq!(c.data_dir, Some(PathBuf::from("/tmp/kraft-combined-logs")));
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.log_defaults["retention.ms"], "604800000");
        assert!(ignored.contains(&"process.roles".to_string()));
        assert!(ignored.contains(&"controller.quorum.bootstrap.servers".to_string()));
    }
}
