//! The contexts file: named clusters and data dirs with their client properties, as kubectl
//! and rpk keep them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::bail;

/// Environment variable naming the context to use.
pub const CONTEXT_ENV: &str = "STREAMLOG_CONTEXT";
/// Environment variable naming bootstrap servers (a remote cluster).
pub const BOOTSTRAP_ENV: &str = "STREAMLOG_BOOTSTRAP_SERVER";
/// Environment variable naming the contexts file (default `~/.config/streamlog/config.toml`).
pub const CONFIG_ENV: &str = "STREAMLOG_CONFIG";

/// The contexts file: named clusters (or data dirs) and their client properties.
///
/// ```toml
/// current-context = "prod"          # optional; without it the embedded data dir is the default
///
/// [contexts.prod]
/// bootstrap-servers = "kafka1:9093,kafka2:9093"
/// properties = { "security.protocol" = "SASL_SSL", "sasl.mechanism" = "PLAIN" }
///
/// [contexts.scratch]
/// data-dir = "/tmp/scratch"
/// ```
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ContextsFile {
    /// The context used when none is named.
    pub current_context: Option<String>,
    /// Contexts by name.
    #[serde(default)]
    pub contexts: BTreeMap<String, NamedContext>,
}

/// One named place to work: a cluster or a data dir, with client properties.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NamedContext {
    /// A Kafka cluster.
    pub bootstrap_servers: Option<String>,
    /// An embedded data dir.
    pub data_dir: Option<PathBuf>,
    /// Client properties (Kafka's Java names or librdkafka's).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// Where the contexts file is: `$STREAMLOG_CONFIG`, else `$XDG_CONFIG_HOME/streamlog/config.toml`,
/// else `~/.config/streamlog/config.toml`.
pub fn contexts_path() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(p) = env(CONFIG_ENV) {
        return Some(PathBuf::from(p));
    }
    if let Some(x) = env("XDG_CONFIG_HOME") {
        return Some(PathBuf::from(x).join("streamlog/config.toml"));
    }
    env("HOME").map(|h| PathBuf::from(h).join(".config/streamlog/config.toml"))
}

/// Reads the contexts file; a missing file is an empty one.
pub fn read_contexts(path: &Path) -> anyhow::Result<ContextsFile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ContextsFile::default()),
        Err(e) => bail!("cannot read contexts file {}: {e}", path.display()),
    };
    let file: ContextsFile = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "contexts file {}: {}",
            path.display(),
            e.to_string().lines().collect::<Vec<_>>().join(" ")
        )
    })?;
    for (name, c) in &file.contexts {
        if c.bootstrap_servers.is_some() && c.data_dir.is_some() {
            bail!(
                "contexts file {}: context '{name}' sets both bootstrap-servers and data-dir; keep one",
                path.display()
            );
        }
    }
    Ok(file)
}
