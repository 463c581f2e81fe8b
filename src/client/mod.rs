//! The one interface the tools use: admin operations, a producer and a consumer. The embedded
//! implementation works on a data dir directly; a remote one (a Kafka cluster) plugs in behind
//! the same traits.

pub mod backend;
pub mod context;
pub mod embedded;
pub mod partitioner;
pub mod remote;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use crate::error::Result;
pub use crate::log::codec::ProducerRecord;

/// A topic name and partition number.
pub type TopicPartition = (String, i32);

/// Per-partition outcomes of an operation on several partitions.
pub type PartitionResults = Vec<(TopicPartition, Result<()>)>;

/// Bytes each partition's log holds on disk, by topic and partition (Kafka's DescribeLogDirs
/// `partition_size`).
pub type PartitionSizes = BTreeMap<TopicPartition, u64>;

/// A topic as `topics --describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Kafka's textual topic id.
    pub topic_id: String,
    /// True for Kafka's internal topics.
    pub internal: bool,
    /// Replication factor (always 1 on one node).
    pub replication_factor: i32,
    /// Config overrides (non-default configs), sorted by name.
    pub configs: BTreeMap<String, String>,
    /// Partitions in order.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition of a described topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Partition number.
    pub partition: i32,
    /// Leader broker id, or -1 if none.
    pub leader: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

/// Which offset of a partition to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset.
    Latest,
    /// The first offset whose timestamp is at or after this (ms); the log end if none.
    Timestamp(i64),
}

/// A group's state and members as `consumer-groups --describe` needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group: String,
    /// Kafka's state name: Stable, Empty, Dead.
    pub state: String,
    /// Assignor name.
    pub assignment_strategy: String,
    /// Coordinator as `host:port (id)`.
    pub coordinator: String,
    /// Live members and what they are assigned.
    pub members: Vec<MemberDescription>,
}

/// One live member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Client id.
    pub client_id: String,
    /// Host as Kafka prints it (`/127.0.0.1`).
    pub host: String,
    /// Assigned partitions.
    pub assignment: Vec<(String, i32)>,
}

/// Admin operations on topics, offsets and groups.
pub trait Admin {
    /// Topic names, sorted.
    fn list_topics(&self) -> Result<Vec<String>>;
    /// Descriptions of the named topics.
    fn describe_topics(&self, names: &[String]) -> Result<Vec<TopicDescription>>;
    /// Creates a topic.
    fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        configs: BTreeMap<String, String>,
    ) -> Result<()>;
    /// Deletes a topic.
    fn delete_topic(&self, name: &str) -> Result<()>;
    /// Raises the partition count of a topic.
    fn create_partitions(&self, name: &str, count: i32) -> Result<()>;
    /// Sets config overrides of a topic and removes others (back to the default), leaving the
    /// rest as they are (Kafka's IncrementalAlterConfigs, not the AlterConfigs that replaces
    /// them all). Names and values are checked as at creation; nothing changes if one is bad.
    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<()>;
    /// The size of every partition of the named topics, from their segment files; `None` when
    /// the backend cannot tell (librdkafka has no DescribeLogDirs). A topic deleted meanwhile
    /// is left out.
    fn partition_sizes(&self, names: &[String]) -> Result<Option<PartitionSizes>>;
    /// Looks up an offset of a partition.
    fn list_offset(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64>;
    /// Group ids, sorted, with their states.
    fn list_groups(&self) -> Result<Vec<(String, String)>>;
    /// A group's state and members.
    fn describe_group(&self, group: &str) -> Result<GroupDescription>;
    /// A group's committed offsets.
    fn group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>>;
    /// Overwrites committed offsets of a group that has no live members.
    fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> Result<()>;
    /// Deletes a group that has no live members.
    fn delete_group(&self, group: &str) -> Result<()>;
    /// Deletes some committed offsets of a group; returns per-partition results.
    fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<PartitionResults>;
}

/// Producer settings, named after Kafka's producer configs.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// `compression.type`.
    pub compression: kafka_protocol::records::Compression,
    /// `batch.size`: bytes of records per partition batch before it is sent.
    pub batch_size: usize,
    /// `linger.ms`: how long a partial batch may wait.
    pub linger: Duration,
    /// Send each record on its own and wait for it (`--sync`).
    pub sync: bool,
    /// `client.id`.
    pub client_id: String,
    /// The user chose `batch_size` and `linger` (flags or properties). When not, a remote
    /// producer keeps librdkafka's own defaults (1 MB batches, 5 ms linger), which move records
    /// 3× faster than Kafka's console-producer defaults do through librdkafka.
    pub batching_chosen: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            compression: kafka_protocol::records::Compression::None,
            batch_size: 16384,
            linger: Duration::from_millis(1000),
            sync: false,
            client_id: "console-producer".to_string(),
            batching_chosen: false,
        }
    }
}

/// Appends records to topics.
pub trait Producer {
    /// Number of partitions of `topic` (creating it if the backend auto-creates).
    fn partition_count(&mut self, topic: &str) -> Result<i32>;
    /// Queues a record; `partition` None lets the partitioner choose. Returns the partition.
    fn send(&mut self, topic: &str, partition: Option<i32>, record: ProducerRecord) -> Result<i32>;
    /// Sends batches that waited longer than `linger.ms`.
    fn flush_expired(&mut self) -> Result<()>;
    /// Sends everything queued and waits for it.
    fn flush(&mut self) -> Result<()>;
    /// Records acknowledged so far.
    fn acknowledged(&self) -> u64;
}

/// Where a consumer starts when it has no committed offset (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The log start.
    Earliest,
    /// The log end.
    Latest,
}

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// `group.id`; None consumes without a group and commits nothing.
    pub group: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// `auto.offset.reset`.
    pub offset_reset: OffsetReset,
    /// `max.poll.records`.
    pub max_poll_records: usize,
    /// `max.partition.fetch.bytes`.
    pub max_partition_fetch_bytes: usize,
    /// Skip a damaged (corrupt) record batch, with a line on stderr, and go on after it
    /// (`console-consumer --skip-message-on-error`); when false, the records before it are
    /// returned and then the poll fails naming the topic, partition, offset and file.
    pub skip_corrupt: bool,
    /// `isolation.level=read_committed`: records of aborted transactions are dropped and
    /// reading stops at the last stable offset (the first record of a transaction still open).
    pub read_committed: bool,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group: None,
            client_id: "console-consumer".to_string(),
            offset_reset: OffsetReset::Latest,
            max_poll_records: usize::MAX,
            max_partition_fetch_bytes: 1 << 20,
            skip_corrupt: false,
            read_committed: false,
        }
    }
}

/// Where a consumer's partitions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribe {
    /// Named topics, all partitions, shared with the group.
    Topics(Vec<String>),
    /// Topics matching a regex.
    Pattern(String),
    /// Fixed partitions with start offsets (no group rebalancing).
    Assign(Vec<(String, i32, StartOffset)>),
}

/// Where an assigned partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// The log start.
    Earliest,
    /// The log end.
    Latest,
    /// A given offset.
    At(i64),
    /// The group's committed offset, else the reset policy.
    Committed,
}

/// A record as the consumer returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Topic name.
    pub topic: std::sync::Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp in ms.
    pub timestamp: i64,
    /// True for LogAppendTime, false for CreateTime.
    pub log_append_time: bool,
    /// Key.
    pub key: Option<Bytes>,
    /// Value.
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Reads records.
pub trait Consumer {
    /// Sets what to consume.
    fn subscribe(&mut self, what: Subscribe) -> Result<()>;
    /// Returns the next records, waiting up to `timeout` for some.
    fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>>;
    /// Caps how many records one poll returns (`max.poll.records`).
    fn set_max_poll_records(&mut self, n: usize);
    /// Commits the positions of everything returned so far (no-op without a group).
    fn commit(&mut self) -> Result<()>;
    /// Commits and leaves the group.
    fn close(&mut self) -> Result<()>;
    /// The partitions this consumer reads now, each with the next offset it will return when
    /// known (`--exit-at-end` stops once every one has reached its end).
    fn positions(&self) -> Result<Vec<(String, i32, Option<i64>)>>;
}
