//! streamlog: Apache Kafka's quickstart tools over an embedded log engine that stores partitions
//! exactly as Kafka does.
//!
//! # Layout
//! - [`log`]: one partition's log — segments, indexes, recovery, retention (Kafka's storage).
//! - [`engine`]: a data dir — topics, partitions, consumer groups, cross-process locking.
//! - [`client`]: the one interface the tools use (admin, producer, consumer), embedded now.
//! - [`config`]: shared flags, environment and properties files.
//! - [`output`]: text (Kafka's layouts), table and JSON formatting.
//! - [`cli`]: the tools' argument definitions and their run functions; `src/bin/*` are thin.
//!
//! Arrows point one way: `cli` → `client` → `engine` → `log`.

pub mod error;
pub mod log;

pub use error::{Error, Result};
pub mod broker;
pub mod cli;
pub mod client;
pub mod config;
pub mod engine;
pub mod output;
