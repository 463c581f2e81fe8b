//! `server-start`: the embedded engine served on the Kafka wire protocol.
//!
//! Layout, after mini-redis: [`connection`] (frames over TCP) → [`handler`] (header, version
//! check, dispatch) → [`apis`] (one module per API) over [`state`] (the engine and open logs);
//! [`server`] accepts connections and shuts down in order; [`config`] reads `server.properties`.

pub mod alloc;
pub mod apis;
pub mod config;
pub mod connection;
pub mod coordinator;
pub mod handler;
pub mod offset_expiry;
pub mod producers;
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

/// Claims the data dir for this broker: an exclusive lock held for its lifetime, with the
/// address it serves written inside so tools can find it.
pub fn claim_data_dir(data_dir: &Path, advertised: &str) -> anyhow::Result<File> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let mut file = crate::engine::fsutil::lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "data dir {} is already served by another server-start ({}); stop it or use another log.dirs",
                data_dir.display(),
                owner.trim()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    file.set_len(0)?;
    writeln!(file, "{advertised} pid {}", std::process::id())?;
    Ok(file)
}

/// The address of the `server-start` serving `data_dir`, if one is running: its lock file is
/// held, and names the address.
pub fn serving_address(data_dir: &Path) -> Option<String> {
    let path = data_dir.join(".streamlog").join(SERVER_LOCK);
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(_) => std::fs::read_to_string(&path)
            .ok()?
            .split_whitespace()
            .next()
            .map(str::to_string),
    }
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
