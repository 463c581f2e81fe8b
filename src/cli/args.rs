//! Flags every tool takes, and how they become a [`Target`]: the target flags, the classic
//! quickstart's `--zookeeper` / `--broker-list`, client properties and the output format.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::UsageError;
use crate::client::backend::{Backend, Selection, Target, nothing_serves_quickstart_address};
use crate::engine::Engine;
use crate::output::Format;

/// Flags every tool takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default:
    /// ~/.local/share/streamlog].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data
    /// dir [env: STREAMLOG_BOOTSTRAP_SERVER].
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub bootstrap_server: Option<String>,

    /// The classic quickstart's `--zookeeper HOST:PORT`: read as the local default (the data dir,
    /// or the server-start that owns it), never a ZooKeeper connection.
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub zookeeper: Option<String>,

    /// The classic quickstart's name for --bootstrap-server (removed in Kafka 4.0).
    #[arg(long, value_name = "HOST:PORT", global = true)]
    pub broker_list: Option<String>,

    /// A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT].
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id;
    /// auto.create.topics.enable and num.partitions for the embedded engine).
    /// Also accepted as Kafka's --producer.config / --consumer.config.
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        alias = "producer.config",
        alias = "consumer.config"
    )]
    pub command_config: Option<PathBuf>,

    /// A client setting, KEY=VALUE, that beats --command-config; repeatable.
    #[arg(long = "command-property", value_name = "KEY=VALUE", value_parser = parse_key_value, global = true)]
    pub command_property: Vec<(String, String)>,

    /// Output format: text (Kafka's layout), table, or json (one object per line) [default:
    /// table on a terminal, text in a pipe].
    #[arg(long, value_name = "FORMAT", default_value_t = Format::for_stdout(), hide_default_value = true, global = true)]
    pub output: Format,
}

impl CommonArgs {
    /// The target these flags name, after the classic quickstart's flags are read (each with
    /// one note on stderr naming today's flag).
    pub fn target(&self) -> anyhow::Result<Target> {
        let mut target = Target {
            bootstrap_server: self.bootstrap_server.clone(),
            data_dir: self.data_dir.clone(),
            context: self.context.clone(),
            command_config: self.command_config.clone(),
            command_property: self.command_property.clone(),
            local_default: false,
        };
        match (&self.zookeeper, &self.broker_list, &self.bootstrap_server) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(UsageError(
                    "--zookeeper cannot be combined with --bootstrap-server or --broker-list; keep one"
                        .into(),
                )
                .into());
            }
            (None, Some(b), Some(s)) if b != s => {
                return Err(UsageError(format!(
                    "--broker-list {b} and --bootstrap-server {s} disagree; keep --bootstrap-server"
                ))
                .into());
            }
            (None, Some(b), _) => {
                note_once(
                    "Note: --broker-list was removed in Kafka 4.0; read here as --bootstrap-server.",
                );
                target.bootstrap_server = Some(b.clone());
            }
            (Some(_), None, None) => {
                target.local_default = true;
                note_once(&format!(
                    "Note: --zookeeper was removed in Kafka 3.0; read here as the local data dir {}. Use --bootstrap-server.",
                    target.local_data_dir()?.display()
                ));
            }
            (None, None, _) => {}
        }
        Ok(target)
    }

    /// Where the flags, environment and contexts file point; see [`Target::selection`].
    pub fn selection(&self) -> anyhow::Result<Selection> {
        self.target()?.selection()
    }

    /// The data dir: `--data-dir`, else `$STREAMLOG_DATA_DIR`, else the default.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        self.target()?.data_dir()
    }

    /// Client properties: the context's, `--command-config`, `--command-property`.
    pub fn properties(&self) -> anyhow::Result<BTreeMap<String, String>> {
        self.target()?.properties()
    }

    /// The backend these flags select: a cluster; the `server-start` that owns the data dir, if
    /// one runs; else the embedded data dir itself.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        self.backend_with(&[])
    }

    /// [`backend`](Self::backend) with a tool's own client properties on top
    /// (`--producer-property`, `--consumer-property`). The tutorials' `localhost:9092` with
    /// nothing listening there means the local data dir, as `--zookeeper` does.
    pub fn backend_with(&self, extra: &[(String, String)]) -> anyhow::Result<Backend> {
        let mut target = self.target()?;
        let mut selection = target.selection()?;
        if let Some(b) = selection.bootstrap_servers.clone()
            && nothing_serves_quickstart_address(&b)
        {
            target.local_default = true;
            note_once(&format!(
                "Note: nothing listens on {b}; using the local data dir {} (run server-start to serve it there).",
                target.local_data_dir()?.display()
            ));
            selection = target.selection()?;
        }
        target.backend_for(selection, extra)
    }

    /// Opens the embedded engine these flags select.
    pub fn engine(&self) -> anyhow::Result<Engine> {
        self.target()?.engine()
    }
}

/// Prints a note on stderr once per process (the selection is resolved more than once).
fn note_once(note: &str) {
    static NOTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if let Ok(mut noted) = NOTED.lock()
        && !noted.iter().any(|n| n == note)
    {
        eprintln!("{note}");
        noted.push(note.to_string());
    }
}

/// Parses `key=value`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not of the form key=value")),
    }
}
