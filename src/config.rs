//! Settings shared by every tool: where the data lives, extra client properties, and how to
//! print. A flag beats an environment variable beats a properties file beats the default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::client::embedded::{EmbeddedAdmin, EmbeddedConsumer, EmbeddedProducer};
use crate::client::remote::RemoteConfig;
#[cfg(feature = "remote")]
use crate::client::remote::{RemoteAdmin, RemoteConsumer, RemoteProducer};
use crate::client::{Admin, Consumer, ConsumerConfig, Producer, ProducerConfig};
use crate::engine::{Engine, EngineConfig};
use crate::output::Format;

/// Environment variable naming the data dir.
pub const DATA_DIR_ENV: &str = "STREAMLOG_DATA_DIR";
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
    parse_properties(std::io::BufReader::new(file))
        .with_context(|| format!("cannot parse properties file {}", path.display()))
}

/// Parses Java properties text (`key=value`, `key: value`, `\` continuations and escapes).
/// The part of [`read_properties`] after the file is open; also the properties fuzzing entry
/// point (`fuzz/fuzz_targets/properties.rs`).
///
/// The bytes are decoded here, as java-properties would (windows-1252, or the encoding a
/// byte-order mark names), and handed to its parser as UTF-8: its own streaming decoder
/// panics when a file with a UTF-8 or UTF-16 byte-order mark ends inside a character (found
/// by fuzzing; `fuzz/regressions/properties/`).
pub fn parse_properties(
    mut reader: impl std::io::Read,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
    let mut map = BTreeMap::new();
    java_properties::PropertiesIter::new_with_encoding(text.as_bytes(), encoding_rs::UTF_8)
        .read_into(|k, v| {
            map.insert(k, v);
        })?;
    Ok(map)
}

/// Where the flags, environment and contexts file point, with the client properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// `Some`: a cluster's bootstrap servers; `None`: the data dir.
    pub bootstrap_servers: Option<String>,
    /// The data dir (when not remote).
    pub data_dir: PathBuf,
    /// Client properties: the context's, then `--command-config`, then `--command-property`.
    pub properties: BTreeMap<String, String>,
}

fn env_var(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

impl CommonArgs {
    /// The data dir: `--data-dir`, else `$STREAMLOG_DATA_DIR`, else the default.
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self.selection()?.data_dir)
    }

    /// Resolves the target and properties. A flag beats an environment variable beats the
    /// contexts file: `--bootstrap-server`, `--data-dir`, `--context`, then
    /// `$STREAMLOG_BOOTSTRAP_SERVER`, `$STREAMLOG_DATA_DIR`, `$STREAMLOG_CONTEXT`, then the file's
    /// `current-context`, then the default data dir.
    pub fn selection(&self) -> anyhow::Result<Selection> {
        let named = |name: &str| -> anyhow::Result<NamedContext> {
            let path = contexts_path().context("no contexts file: HOME is not set")?;
            let file = read_contexts(&path)?;
            file.contexts.get(name).cloned().with_context(|| {
                let known: Vec<&str> = file.contexts.keys().map(String::as_str).collect();
                format!(
                    "context '{name}' is not in {} (contexts: {})",
                    path.display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })
        };
        let legacy = self.legacy_target()?;
        let flag_context = self.context.as_deref().map(named).transpose()?;
        let env_bootstrap = env_var(BOOTSTRAP_ENV);
        let env_data_dir = env_var(DATA_DIR_ENV).map(PathBuf::from);
        let flag_target = self.bootstrap_server.is_some() || self.data_dir.is_some();
        let env_target = env_bootstrap.is_some() || env_data_dir.is_some();
        // A context from the environment or the file only counts when nothing more explicit
        // names a target.
        let context = match flag_context {
            Some(c) => Some(c),
            None if flag_target || env_target => None,
            None => match env_var(CONTEXT_ENV) {
                Some(name) => Some(named(&name)?),
                None => match contexts_path() {
                    Some(path) => {
                        let file = read_contexts(&path)?;
                        match file.current_context {
                            Some(name) => {
                                Some(file.contexts.get(&name).cloned().with_context(|| {
                                    format!(
                                        "current-context '{name}' is not a context in {}",
                                        path.display()
                                    )
                                })?)
                            }
                            None => None,
                        }
                    }
                    None => None,
                },
            },
        };
        let ctx = context.unwrap_or_default();
        let (bootstrap, data_dir) = if let Some(t) = legacy {
            t
        } else if let Some(b) = &self.bootstrap_server {
            (Some(b.clone()), None)
        } else if let Some(d) = &self.data_dir {
            (None, Some(d.clone()))
        } else if self.context.is_some() {
            (ctx.bootstrap_servers.clone(), ctx.data_dir.clone())
        } else if let Some(b) = env_bootstrap {
            (Some(b), None)
        } else if let Some(d) = env_data_dir {
            (None, Some(d))
        } else {
            (ctx.bootstrap_servers.clone(), ctx.data_dir.clone())
        };
        let data_dir = match data_dir {
            Some(d) => d,
            None => default_data_dir()?,
        };
        // Each layer is put in librdkafka's terms before the next overrides it, so a
        // sasl.jaas.config on the command line beats a context's sasl.username.
        use crate::client::remote::properties::to_librdkafka;
        let mut properties = to_librdkafka(&ctx.properties)?;
        if let Some(p) = &self.command_config {
            properties.extend(to_librdkafka(&read_properties(p)?)?);
        }
        let flags: BTreeMap<String, String> = self.command_property.iter().cloned().collect();
        properties.extend(to_librdkafka(&flags)?);
        if let Some(b) = &bootstrap
            && (b.trim().is_empty() || !b.split(',').all(|s| s.trim().rsplit_once(':').is_some()))
        {
            bail!("bootstrap servers '{b}': expected host:port[,host:port...]");
        }
        Ok(Selection {
            bootstrap_servers: bootstrap,
            data_dir,
            properties,
        })
    }

    /// What the classic quickstart's flags select, with one note on stderr naming today's flag:
    /// `--broker-list` is `--bootstrap-server`; `--zookeeper` is the local default (`--data-dir`,
    /// else `$STREAMLOG_DATA_DIR`, else the default data dir), served or not.
    #[allow(clippy::type_complexity)]
    fn legacy_target(&self) -> anyhow::Result<Option<(Option<String>, Option<PathBuf>)>> {
        match (&self.zookeeper, &self.broker_list, &self.bootstrap_server) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(crate::cli::UsageError(
                "--zookeeper cannot be combined with --bootstrap-server or --broker-list; keep one"
                    .into(),
            )
            .into()),
            (None, Some(b), Some(s)) if b != s => Err(crate::cli::UsageError(format!(
                "--broker-list {b} and --bootstrap-server {s} disagree; keep --bootstrap-server"
            ))
            .into()),
            (None, Some(b), _) => {
                note_once(
                    "Note: --broker-list was removed in Kafka 4.0; read here as --bootstrap-server.",
                );
                Ok(Some((Some(b.clone()), None)))
            }
            (Some(_), None, None) => {
                let dir = match self
                    .data_dir
                    .clone()
                    .or_else(|| env_var(DATA_DIR_ENV).map(PathBuf::from))
                {
                    Some(d) => d,
                    None => default_data_dir()?,
                };
                note_once(&format!(
                    "Note: --zookeeper was removed in Kafka 3.0; read here as the local data dir {}. Use --bootstrap-server.",
                    dir.display()
                ));
                Ok(Some((None, Some(dir))))
            }
            (None, None, _) => Ok(None),
        }
    }

    /// Client properties: the context's, `--command-config`, `--command-property`.
    pub fn properties(&self) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(self.selection()?.properties)
    }

    /// The backend these flags select: a cluster (`--bootstrap-server` or a context); the
    /// `server-start` that owns the data dir, if one runs; else the embedded data dir itself.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        self.backend_with(&[])
    }

    /// [`backend`](Self::backend) with a tool's own client properties on top
    /// (`--producer-property`, `--consumer-property`).
    pub fn backend_with(&self, extra: &[(String, String)]) -> anyhow::Result<Backend> {
        let mut sel = self.selection()?;
        sel.properties.extend(extra.iter().cloned());
        let client_props: BTreeMap<String, String> = sel
            .properties
            .iter()
            .filter(|(k, _)| !ENGINE_PROPERTIES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(b) = &sel.bootstrap_servers
            && nothing_serves_quickstart_address(b)
        {
            let dir = match self
                .data_dir
                .clone()
                .or_else(|| env_var(DATA_DIR_ENV).map(PathBuf::from))
            {
                Some(d) => d,
                None => default_data_dir()?,
            };
            note_once(&format!(
                "Note: nothing listens on {b}; using the local data dir {} (run server-start to serve it there).",
                dir.display()
            ));
            sel.bootstrap_servers = None;
            sel.data_dir = dir;
        }
        if let Some(b) = sel.bootstrap_servers {
            return Ok(Backend::Remote(RemoteConfig::new(b, &client_props)?));
        }
        if let Some(listeners) = crate::broker::serving_listeners(&sel.data_dir) {
            let address = served_listener(&sel.data_dir, &listeners, &client_props)?;
            return Ok(Backend::Remote(RemoteConfig::new(address, &client_props)?));
        }
        Ok(Backend::Embedded(self.engine_with(&sel)?))
    }

    /// Opens the embedded engine these flags select.
    pub fn engine(&self) -> anyhow::Result<Engine> {
        self.engine_with(&self.selection()?)
    }

    fn engine_with(&self, sel: &Selection) -> anyhow::Result<Engine> {
        let props = &sel.properties;
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
        if let Some(v) = props.get("max.partitions.per.request") {
            config.max_partitions_per_request = v
                .trim()
                .parse()
                .ok()
                .filter(|n: &i32| *n > 0)
                .with_context(|| {
                    format!("max.partitions.per.request={v}: expected a positive integer")
                })?;
        }
        Ok(Engine::open(&sel.data_dir, config)?)
    }
}

/// Which listener of the `server-start` serving `data_dir` the tools use: the one whose
/// protocol the client properties name (`security.protocol`), else a PLAINTEXT one. Without
/// either, one line saying where the data dir is served and how to reach it.
fn served_listener(
    data_dir: &Path,
    listeners: &[crate::broker::ServingListener],
    props: &BTreeMap<String, String>,
) -> anyhow::Result<String> {
    use crate::broker::listener::SecurityProtocol;
    let wanted = match props.get("security.protocol") {
        Some(p) => SecurityProtocol::parse(p).ok_or_else(|| {
            anyhow::anyhow!(
                "security.protocol={p}: expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
            )
        })?,
        None => SecurityProtocol::Plaintext,
    };
    if let Some(l) = listeners.iter().find(|l| l.protocol == wanted) {
        return Ok(l.address.clone());
    }
    let served: Vec<String> = listeners.iter().map(|l| l.to_string()).collect();
    let example = listeners
        .first()
        .map(|l| l.address.clone())
        .unwrap_or_else(|| "HOST:PORT".into());
    if wanted == SecurityProtocol::Plaintext {
        bail!(
            "data dir {} is served by server-start on {} only; pass --bootstrap-server {example} with --command-config holding its security.protocol and credentials",
            data_dir.display(),
            served.join(", ")
        );
    }
    bail!(
        "data dir {} is served by server-start on {}, not on {wanted}; fix security.protocol in --command-config or pass --bootstrap-server",
        data_dir.display(),
        served.join(", ")
    );
}

/// `--command-config` keys the embedded engine reads (not passed to a remote client).
const ENGINE_PROPERTIES: [&str; 3] = [
    "auto.create.topics.enable",
    "num.partitions",
    "max.partitions.per.request",
];

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
            #[cfg(feature = "remote")]
            Backend::Remote(r) => Box::new(RemoteAdmin::new(r.clone())?),
            #[cfg(not(feature = "remote"))]
            Backend::Remote(_) => return Err(no_remote()),
        })
    }

    /// A producer.
    pub fn producer(&self, config: &ProducerConfig) -> anyhow::Result<Box<dyn Producer>> {
        Ok(match self {
            Backend::Embedded(e) => Box::new(EmbeddedProducer::new(e.clone(), config.clone())),
            #[cfg(feature = "remote")]
            Backend::Remote(r) => Box::new(RemoteProducer::new(r, config)?),
            #[cfg(not(feature = "remote"))]
            Backend::Remote(_) => return Err(no_remote()),
        })
    }

    /// A consumer.
    pub fn consumer(&self, config: &ConsumerConfig) -> anyhow::Result<Box<dyn Consumer>> {
        Ok(match self {
            Backend::Embedded(e) => Box::new(EmbeddedConsumer::new(e.clone(), config.clone())),
            #[cfg(feature = "remote")]
            Backend::Remote(r) => Box::new(RemoteConsumer::new(r, config)?),
            #[cfg(not(feature = "remote"))]
            Backend::Remote(_) => return Err(no_remote()),
        })
    }
}

/// The error of a build without the `remote` feature asked to reach a cluster.
#[cfg(not(feature = "remote"))]
fn no_remote() -> anyhow::Error {
    anyhow::anyhow!(
        "this build of streamlog has no remote mode (built without the `remote` feature); rebuild with default features to use --bootstrap-server"
    )
}

/// True if `servers` is the quickstart's own address (port 9092 on this machine) and nothing
/// accepts connections there: the tutorials' `--bootstrap-server localhost:9092` then means the
/// local data dir, as `--zookeeper` does. Any other address stays a cluster, reachable or not.
fn nothing_serves_quickstart_address(servers: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let mut addrs = Vec::new();
    for server in servers.split(',').map(str::trim) {
        let Some((host, port)) = server.rsplit_once(':') else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if port != "9092" || !matches!(host, "localhost" | "127.0.0.1" | "::1") {
            return false;
        }
        match (host, 9092u16).to_socket_addrs() {
            Ok(a) => addrs.extend(a),
            Err(_) => return false,
        }
    }
    !addrs.is_empty()
        && addrs.iter().all(|a| {
            matches!(
                TcpStream::connect_timeout(a, std::time::Duration::from_millis(500)),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
            )
        })
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

/// A properties map from literal pairs, for tests.
#[cfg(test)]
pub(crate) fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: java-properties' own decoder panicked on the last two.
    #[test]
    fn properties_files_decode_as_java_properties_would_and_never_panic() {
        // A UTF-8 byte-order mark: UTF-8. Without one: windows-1252, as before.
        let map = parse_properties(&b"\xef\xbb\xbfname=caf\xc3\xa9\n"[..]).unwrap();
        assert_eq!(map["name"], "café");
        let map = parse_properties(&b"name=caf\xe9"[..]).unwrap();
        assert_eq!(map["name"], "café");
        // A UTF-16 mark and an odd length, and a UTF-8 mark with a cut character: both end
        // inside a character.
        let _ = parse_properties(&b"\xfe\xff\xff\xff:\0\0\0\0"[..]);
        let map = parse_properties(&b"\xef\xbb\xbfa=\xc3"[..]).unwrap();
        assert_eq!(map["a"], "\u{fffd}");
    }
}
