//! streamlog: Apache Kafka's quickstart tools over an embedded log engine that stores partitions
//! exactly as Kafka does.
//!
//! # Layout
//! - [`log`]: one partition's log — segments, indexes, recovery, retention, producer state
//!   (Kafka's storage).
//! - [`engine`]: a data dir — topics, partitions, consumer groups, cross-process locking, the
//!   default data dir and the lock through which a running `server-start` is found.
//! - [`broker`]: `server-start`, the engine served on the Kafka wire protocol.
//! - [`client`]: the one interface the tools use (admin, producer, consumer) over the embedded
//!   engine or a remote cluster (librdkafka), the contexts file, and the backend a target
//!   selects.
//! - [`cli`]: the tools' flags, their run functions and what they print; `src/bin/*` are thin.
//! - [`output`]: text (Kafka's layouts), table and JSON formatting for the tools.
//! - [`properties`], [`error`]: Java properties files and the library's error type, used by
//!   every layer.
//!
//! Arrows point down only: `cli` → `broker` | `client` → `engine` → `log`. `broker` and
//! `client` never import each other, and nothing below `cli` imports it.

pub mod error;
pub mod log;

pub use error::{Error, Result};
pub mod broker;
pub mod cli;
pub mod client;
pub mod engine;
pub mod output;
pub mod properties;
