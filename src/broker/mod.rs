//! `server-start`: the embedded engine served on the Kafka wire protocol.
//!
//! Layout, after mini-redis and Kafka's `SocketServer`: [`server`] (one acceptor per listener,
//! connection limits in [`connection_quotas`], bounded shutdown) → [`processor`] (one
//! connection's life: TLS handshake, SASL authentication from [`security`], requests in order,
//! idle and peer-closed detection) → [`connection`] (frames over the socket) → [`handler`]
//! (header, version check, dispatch) → [`apis`] (one module per API) over [`state`] (the engine
//! and open logs). [`config`] reads `server.properties`, [`listener`] its listener settings;
//! [`log_limiter`] keeps refusal logging useful under a flood; [`log_cleaner`] compacts
//! `cleanup.policy=compact` topics in the background. Transactions: [`transaction_state`] (one
//! transactional id's pure state machine) driven by [`transaction_coordinator`] (locks, markers,
//! durable state, timeouts).

pub mod alloc;
pub mod apis;
pub mod config;
pub mod connection;
pub mod connection_quotas;
pub mod coordinator;
pub mod handler;
pub mod listener;
pub mod log_cleaner;
pub mod log_limiter;
pub mod offset_expiry;
pub mod processor;
pub mod producers;
pub mod security;
pub mod server;
pub mod state;
pub mod transaction_coordinator;
pub mod transaction_state;

use std::path::PathBuf;

pub use config::BrokerConfig;
pub use state::BrokerState;

pub use crate::engine::server_lock::{
    SERVER_LOCK, ServingListener, claim_data_dir, serving_listeners,
};

/// Where the broker keeps its data: `log.dirs`, else the tools' default data dir.
pub fn data_dir(config: &BrokerConfig) -> anyhow::Result<PathBuf> {
    match &config.data_dir {
        Some(d) => Ok(d.clone()),
        None => match std::env::var_os(crate::engine::data_dir::DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
        {
            Some(d) => Ok(PathBuf::from(d)),
            None => crate::engine::data_dir::default_data_dir(),
        },
    }
}
