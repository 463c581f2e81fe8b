//! The storage layer: one partition's log in Apache Kafka's on-disk format.
//!
//! - [`batch`]: the RecordBatch v2 header (framing, CRC-32C, offset rewriting).
//! - [`handles`]: open file descriptors as a budget (a process-wide cache of segment handles).
//! - [`writers`]: which processes write a partition (one lock file per data dir).
//! - [`atomic_file`]: replacing small files atomically.
//! - [`producer_state`]: idempotent producers' state and its `.snapshot` files.
//! - [`codec`]: records ↔ batches through the `kafka-protocol` crate.
//! - [`index`]: the sparse `.index` and `.timeindex` files.
//! - [`segment`]: one `<base>.log` with its indexes; scanning.
//! - [`state`]: the shared state file that publishes the log end across processes.
//! - [`unified`]: a partition's log — append, read, roll, flush, close.
//! - [`recovery`]: checking and truncating after an unclean shutdown.
//! - [`retention`]: deleting old segments.
//! - [`cleaner`]: log compaction (keeping the last record of each key), with
//!   [`offset_map`] (its key → offset map), [`records`] (records read and rewritten in place)
//!   [`cleaner_checkpoint`] (how far each partition is cleaned) and [`cleaner_txn`] (aborted
//!   data and transaction markers).
//! - [`control`]: transaction markers; [`txn_index`]: the aborted-transaction index.
//! - [`config`]: topic-level log settings.

pub mod atomic_file;
pub mod batch;
pub mod cleaner;
pub mod cleaner_checkpoint;
pub mod cleaner_txn;
pub mod codec;
pub mod config;
pub mod control;
pub mod handles;
pub mod index;
pub mod offset_map;
pub mod producer_state;
pub mod records;
pub mod recovery;
pub mod retention;
pub mod segment;
pub mod state;
pub mod txn_index;
pub mod unified;
pub mod writers;

pub use codec::{ProducerRecord, StoredRecord};
pub use config::LogConfig;
pub use unified::{AppendInfo, FetchData, FileRegion, Mode, Position, Records, UnifiedLog};
