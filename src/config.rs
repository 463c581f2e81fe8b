//! Settings shared by every tool: where the data lives, extra client properties, and how to
//! print. A flag beats an environment variable beats a properties file beats the default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

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

    /// Kafka bootstrap servers. Remote clusters are not supported yet; without this flag the
    /// tools use the embedded data dir.
    #[arg(long, value_name = "HOST:PORT", global = true, hide = true)]
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

    /// Opens the embedded engine these flags select.
    pub fn engine(&self) -> anyhow::Result<Engine> {
        if let Some(b) = &self.bootstrap_server {
            bail!(
                "--bootstrap-server {b}: remote Kafka clusters are not supported yet; drop the flag to use the embedded data dir"
            );
        }
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

/// Parses `key=value`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not of the form key=value")),
    }
}
