//! Where the tools' operations go: a Kafka cluster (librdkafka), the `server-start` serving the
//! data dir, or the data dir itself. [`Target`] is what the user pointed at, as plain data (the
//! CLI's flags fill it); [`Target::backend`] resolves it — flags beat environment variables beat
//! the contexts file beat the default data dir — and opens the backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::context::{BOOTSTRAP_ENV, CONTEXT_ENV, NamedContext, contexts_path, read_contexts};
use super::embedded::{EmbeddedAdmin, EmbeddedConsumer, EmbeddedProducer};
use super::remote::RemoteConfig;
#[cfg(feature = "remote")]
use super::remote::{RemoteAdmin, RemoteConsumer, RemoteProducer};
use super::{Admin, Consumer, ConsumerConfig, Producer, ProducerConfig};
use crate::engine::data_dir::{DATA_DIR_ENV, default_data_dir};
use crate::engine::server_lock::{SecurityProtocol, ServingListener};
use crate::engine::{Engine, EngineConfig};
use crate::properties::read_properties;

/// What the user pointed the tools at; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// A cluster's bootstrap servers (`host:port,...`).
    pub bootstrap_server: Option<String>,
    /// An embedded data dir.
    pub data_dir: Option<PathBuf>,
    /// A named context of the contexts file.
    pub context: Option<String>,
    /// A Java properties file of client settings.
    pub command_config: Option<PathBuf>,
    /// Client settings that beat the file.
    pub command_property: Vec<(String, String)>,
    /// The local default (`--data-dir`, else `$STREAMLOG_DATA_DIR`, else the default data
    /// dir), ignoring contexts and `$STREAMLOG_BOOTSTRAP_SERVER`: the classic quickstart's
    /// `--zookeeper`.
    pub local_default: bool,
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

impl Target {
    /// The data dir this target uses: `--data-dir`, else `$STREAMLOG_DATA_DIR`, else the default.
    pub fn local_data_dir(&self) -> anyhow::Result<PathBuf> {
        match self
            .data_dir
            .clone()
            .or_else(|| env_var(DATA_DIR_ENV).map(PathBuf::from))
        {
            Some(d) => Ok(d),
            None => default_data_dir(),
        }
    }

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
        let flag_context = self.context.as_deref().map(named).transpose()?;
        let env_bootstrap = env_var(BOOTSTRAP_ENV);
        let env_data_dir = env_var(DATA_DIR_ENV).map(PathBuf::from);
        let flag_target =
            self.bootstrap_server.is_some() || self.data_dir.is_some() || self.local_default;
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
        let (bootstrap, data_dir) = if self.local_default {
            (None, Some(self.local_data_dir()?))
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
        use super::remote::properties::to_librdkafka;
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

    /// Client properties: the context's, `--command-config`, `--command-property`.
    pub fn properties(&self) -> anyhow::Result<BTreeMap<String, String>> {
        Ok(self.selection()?.properties)
    }

    /// The backend this target selects: a cluster (`--bootstrap-server` or a context); the
    /// `server-start` that owns the data dir, if one runs; else the embedded data dir itself.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        self.backend_with(&[])
    }

    /// [`backend`](Self::backend) with a tool's own client properties on top
    /// (`--producer-property`, `--consumer-property`).
    pub fn backend_with(&self, extra: &[(String, String)]) -> anyhow::Result<Backend> {
        self.backend_for(self.selection()?, extra)
    }

    /// [`backend_with`](Self::backend_with) for a selection already resolved (the contexts
    /// file and `--command-config` are read once).
    pub fn backend_for(
        &self,
        mut sel: Selection,
        extra: &[(String, String)],
    ) -> anyhow::Result<Backend> {
        sel.properties.extend(extra.iter().cloned());
        let client_props: BTreeMap<String, String> = sel
            .properties
            .iter()
            .filter(|(k, _)| !ENGINE_PROPERTIES.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(b) = sel.bootstrap_servers {
            return Ok(Backend::Remote(RemoteConfig::new(b, &client_props)?));
        }
        if let Some(listeners) = crate::engine::server_lock::serving_listeners(&sel.data_dir) {
            let address = served_listener(&sel.data_dir, &listeners, &client_props)?;
            return Ok(Backend::Remote(RemoteConfig::new(address, &client_props)?));
        }
        Ok(Backend::Embedded(self.engine_with(&sel)?))
    }

    /// Opens the embedded engine this target selects.
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
    listeners: &[ServingListener],
    props: &BTreeMap<String, String>,
) -> anyhow::Result<String> {
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
pub fn nothing_serves_quickstart_address(servers: &str) -> bool {
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
