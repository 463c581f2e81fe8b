//! Settings shared by every tool: where the data lives, extra client properties, and how to
//! print. A flag beats an environment variable beats a properties file beats the default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::client::embedded::{EmbeddedAdmin, EmbeddedConsumer, EmbeddedProducer};
use crate::client::remote::{RemoteAdmin, RemoteConfig, RemoteConsumer, RemoteProducer};
use crate::client::{Admin, Consumer, ConsumerConfig, Producer, ProducerConfig};
use crate::engine::{Engine, EngineConfig};
use crate::output::Format;

/// Environment variable naming the data dir.
pub const DATA_DIR_ENV: &str = "STREAMLOG_DATA_DIR";

/// Flags every tool takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default:
    /// ~/.local/share/streamlog].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data
    /// dir.
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub bootstrap_server: Option<String>,

    /// A Java properties file of client settings (e.g. auto.create.topics.enable,
    /// num.partitions for the embedded engine).
    #[arg(long, value_name = "FILE", global = true)]
    pub command_config: Option<PathBuf>,

    /// Output format: text (Kafka's layout), table, or json (one object per line).
    #[arg(long, value_name = "FORMAT", default_value = "text", global = true)]
    pub output: Format,
}

/// The user's default data dir: `$XDG_DATA_HOME/streamlog`, else `~/.local/share/streamlog`.
pub fn default_data_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("streamlog"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("no data dir: set --data-dir or STREAMLOG_DATA_DIR (HOME is not set)")?;
    Ok(PathBuf::from(home).join(".local/share/streamlog"))
}

/// Reads a Java properties file.
pub fn read_properties(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read --command-config file {}", path.display()))?;
    let map = java_properties::read(std::io::BufReader::new(file))
        .with_context(|| format!("cannot parse properties file {}", path.display()))?;
    Ok(map.into_iter().collect())
}

impl CommonArgs {
    /// The data dir: `--data-dir`, else `$STREAMLOG_DATA_DIR`, else the default.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data_dir {
            return Ok(d.clone());
        }
        if let Some(d) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(d));
        }
        default_data_dir()
    }

    /// Client properties from `--command-config`.
    pub fn properties(&self) -> anyhow::Result<BTreeMap<String, String>> {
        match &self.command_config {
            Some(p) => read_properties(p),
            None => Ok(BTreeMap::new()),
        }
    }

    /// The backend these flags select: a cluster with `--bootstrap-server`; the `server-start`
    /// that owns the data dir, if one runs; else the embedded data dir itself.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        let props = self.properties()?;
        let client_props: BTreeMap<String, String> = props
            .iter()
            .filter(|(k, _)| !ENGINE_PROPERTIES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(b) = &self.bootstrap_server {
            if b.trim().is_empty() || !b.split(',').all(|s| s.trim().rsplit_once(':').is_some()) {
                bail!("--bootstrap-server '{b}': expected host:port[,host:port...]");
            }
            return Ok(Backend::Remote(RemoteConfig {
                bootstrap_servers: b.clone(),
                properties: client_props,
            }));
        }
        let dir = self.data_dir()?;
        if let Some(address) = crate::broker::serving_address(&dir) {
            return Ok(Backend::Remote(RemoteConfig {
                bootstrap_servers: address,
                properties: client_props,
            }));
        }
        Ok(Backend::Embedded(self.engine()?))
    }

    /// Opens the embedded engine these flags select.
    pub fn engine(&self) -> anyhow::Result<Engine> {
        let props = self.properties()?;
        let mut config = EngineConfig::default();
        if let Some(v) = props.get("auto.create.topics.enable") {
            config.auto_create_topics = v.trim().parse().with_context(|| {
                format!("auto.create.topics.enable={v}: expected true or false")
            })?;
        }
        if let Some(v) = props.get("num.partitions") {
            config.num_partitions = v
                .trim()
                .parse()
                .ok()
                .filter(|n: &i32| *n > 0)
                .with_context(|| format!("num.partitions={v}: expected a positive integer"))?;
        }
        Ok(Engine::open(&self.data_dir()?, config)?)
    }
}

/// `--command-config` keys the embedded engine reads (not passed to a remote client).
const ENGINE_PROPERTIES: [&str; 2] = ["auto.create.topics.enable", "num.partitions"];

/// Where the tools' operations go.
pub enum Backend {
    /// The data dir, opened directly.
    Embedded(Engine),
    /// A Kafka cluster or a running `server-start`.
    Remote(RemoteConfig),
}

impl Backend {
    /// Admin operations.
    pub fn admin(&self) -> anyhow::Result<Box<dyn Admin>> {
        Ok(match self {
            Backend::Embedded(e) => Box::new(EmbeddedAdmin::new(e.clone())),
            Backend::Remote(r) => Box::new(RemoteAdmin::new(r.clone())?),
        })
    }

    /// A producer.
    pub fn producer(&self, config: &ProducerConfig) -> anyhow::Result<Box<dyn Producer>> {
        Ok(match self {
            Backend::Embedded(e) => Box::new(EmbeddedProducer::new(e.clone(), config.clone())),
            Backend::Remote(r) => Box::new(RemoteProducer::new(r, config)?),
        })
    }

    /// A consumer.
    pub fn consumer(&self, config: &ConsumerConfig) -> anyhow::Result<Box<dyn Consumer>> {
        Ok(match self {
            Backend::Embedded(e) => Box::new(EmbeddedConsumer::new(e.clone(), config.clone())),
            Backend::Remote(r) => Box::new(RemoteConsumer::new(r, config)?),
        })
    }
}

/// Parses `key=value`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not of the form key=value")),
    }
}
