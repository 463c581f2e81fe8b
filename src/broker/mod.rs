//! `server-start`: the embedded engine served on the Kafka wire protocol.
//!
//! Layout, after mini-redis and Kafka's `SocketServer`: [`server`] (one acceptor per listener,
//! connection limits in [`connection_quotas`], bounded shutdown) → [`processor`] (one
//! connection's life: TLS handshake, SASL authentication from [`security`], requests in order,
//! idle and peer-closed detection) → [`connection`] (frames over the socket) → [`handler`]
//! (header, version check, dispatch) → [`apis`] (one module per API) over [`state`] (the engine
//! and open logs). [`config`] reads `server.properties`, [`listener`] its listener settings;
//! [`log_limiter`] keeps refusal logging useful under a flood.

pub mod alloc;
pub mod apis;
pub mod config;
pub mod connection;
pub mod connection_quotas;
pub mod coordinator;
pub mod handler;
pub mod listener;
pub mod log_limiter;
pub mod offset_expiry;
pub mod processor;
pub mod producers;
pub mod security;
pub mod server;
pub mod state;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

pub use config::BrokerConfig;
pub use state::BrokerState;

/// Name of the file a running broker holds locked in the data dir's `.streamlog/`.
pub const SERVER_LOCK: &str = "server.lock";

/// A listener of a running `server-start`, as its lock file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingListener {
    /// Listener name.
    pub name: String,
    /// Its security protocol.
    pub protocol: listener::SecurityProtocol,
    /// Its advertised `host:port`.
    pub address: String,
}

impl std::fmt::Display for ServingListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.protocol, self.address)
    }
}

/// Claims the data dir for this broker: an exclusive lock held for its lifetime, with the
/// listeners it serves written inside (`listener NAME PROTOCOL host:port` lines, then
/// `pid N`) so the tools can find it.
pub fn claim_data_dir(data_dir: &Path, listeners: &[ServingListener]) -> anyhow::Result<File> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let mut file = crate::engine::fsutil::lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "data dir {} is already served by another server-start ({}); stop it or use another log.dirs",
                data_dir.display(),
                owner.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    let mut text = String::new();
    for l in listeners {
        text.push_str(&format!(
            "listener {} {} {}\n",
            l.name, l.protocol, l.address
        ));
    }
    text.push_str(&format!("pid {}\n", std::process::id()));
    file.write_all(text.as_bytes())?;
    Ok(file)
}

/// The listeners of the `server-start` serving `data_dir`, if one is running: its lock file is
/// held, and names them.
pub fn serving_listeners(data_dir: &Path) -> Option<Vec<ServingListener>> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let file = File::open(&path).ok()?;
    if file.try_lock_shared().is_ok() {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let listeners = text
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "listener" {
                return None;
            }
            let name = words.next()?.to_string();
            let protocol = listener::SecurityProtocol::parse(words.next()?)?;
            let address = words.next()?.to_string();
            Some(ServingListener {
                name,
                protocol,
                address,
            })
        })
        .collect();
    Some(listeners)
}

/// Where the broker keeps its data: `log.dirs`, else the tools' default data dir.
pub fn data_dir(config: &BrokerConfig) -> anyhow::Result<PathBuf> {
    match &config.data_dir {
        Some(d) => Ok(d.clone()),
        None => match std::env::var_os(crate::config::DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            Some(d) => Ok(PathBuf::from(d)),
            None => crate::config::default_data_dir(),
        },
    }
}
