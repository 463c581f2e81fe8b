//! The remote backend: the client traits over any Kafka cluster (or `server-start`), through
//! librdkafka (the `rdkafka` crate). The librdkafka parts are the `remote` feature (on by
//! default); without it (the fuzz targets) the tools know only the embedded engine, and
//! `RemoteConfig` and the property translation remain.

#[cfg(feature = "remote")]
mod admin;
#[cfg(feature = "remote")]
mod consumer;
#[cfg(feature = "remote")]
mod fetch_queue;
#[cfg(feature = "remote")]
mod librdkafka;
#[cfg(feature = "remote")]
mod native;
#[cfg(feature = "remote")]
mod producer;
pub mod properties;

use std::collections::BTreeMap;

#[cfg(feature = "remote")]
pub use admin::RemoteAdmin;
#[cfg(feature = "remote")]
pub use consumer::RemoteConsumer;
#[cfg(feature = "remote")]
pub(crate) use librdkafka::{TIMEOUT, Watch, Watched, code_error, kafka_error, metadata_watched};
#[cfg(feature = "remote")]
pub use producer::RemoteProducer;

use crate::error::Error;

/// Where the cluster is and how to talk to it.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Further librdkafka properties (security, client.id, ...).
    pub properties: BTreeMap<String, String>,
}

impl RemoteConfig {
    /// A cluster at `bootstrap_servers`, with client properties in Kafka's Java names or
    /// librdkafka's (see [`properties`]).
    pub fn new(
        bootstrap_servers: String,
        properties: &BTreeMap<String, String>,
    ) -> Result<RemoteConfig, Error> {
        Ok(RemoteConfig {
            bootstrap_servers,
            properties: properties::to_librdkafka(properties)?,
        })
    }
}
