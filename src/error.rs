//! The library's error type. Variants follow Kafka's error codes so the broker can answer with
//! the right code and the tools can print one clear line.

use std::io;
use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the engine and clients can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed; `path` names the file or directory. The OS error is part
    /// of the message and deliberately not a `source`, or error chains would print it twice.
    #[error("{path}: {error}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The OS error.
        error: io::Error,
    },
    /// Kafka's UNKNOWN_TOPIC_OR_PARTITION for a topic.
    #[error("Topic '{0}' does not exist")]
    UnknownTopic(String),
    /// Kafka's UNKNOWN_TOPIC_OR_PARTITION for a partition of an existing topic.
    #[error("Partition {partition} of topic '{topic}' does not exist")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The missing partition.
        partition: i32,
    },
    /// Kafka's TOPIC_ALREADY_EXISTS.
    #[error("Topic '{0}' already exists.")]
    TopicExists(String),
    /// Kafka's INVALID_TOPIC_EXCEPTION: the message says what is wrong with the name.
    #[error("{0}")]
    InvalidTopic(String),
    /// Kafka's INVALID_PARTITIONS.
    #[error("{0}")]
    InvalidPartitions(String),
    /// Kafka's INVALID_REPLICATION_FACTOR.
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// Kafka's INVALID_CONFIG.
    #[error("{0}")]
    InvalidConfig(String),
    /// Kafka's CORRUPT_MESSAGE: a batch failed its CRC or structure check.
    #[error("corrupt record batch in {path} at byte {position}: {reason}")]
    CorruptRecord {
        /// The segment file.
        path: PathBuf,
        /// Byte position of the batch in the segment.
        position: u64,
        /// What check failed.
        reason: String,
    },
    /// Kafka's MESSAGE_TOO_LARGE / RECORD_TOO_LARGE.
    #[error(
        "The record batch is {size} bytes, larger than {max}, the max.message.bytes of topic '{topic}'"
    )]
    RecordTooLarge {
        /// The topic written to.
        topic: String,
        /// Size of the batch in bytes.
        size: usize,
        /// The topic's limit.
        max: usize,
    },
    /// Kafka's OFFSET_OUT_OF_RANGE.
    #[error(
        "Offset {offset} is out of range for {topic}-{partition} (log start offset {log_start_offset}, log end offset {log_end_offset})"
    )]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The requested offset.
        offset: i64,
        /// First offset still in the log.
        log_start_offset: i64,
        /// Next offset to be written.
        log_end_offset: i64,
    },
    /// Kafka's GROUP_ID_NOT_FOUND.
    #[error("Consumer group '{0}' does not exist.")]
    GroupNotFound(String),
    /// Kafka's NON_EMPTY_GROUP: an operation needs the group to have no live members.
    #[error("{0}")]
    NonEmptyGroup(String),
    /// Kafka's INVALID_REQUEST: a request that makes no sense.
    #[error("{0}")]
    InvalidRequest(String),
    /// Encoding or decoding a record batch failed.
    #[error("{0}")]
    Codec(String),
    /// A remote cluster refused or could not be reached; the message says which and why.
    #[error("{0}")]
    Remote(String),
    /// The data dir was written by something else or a newer version.
    #[error("{0}")]
    DataDir(String),
    /// Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER: an idempotent producer skipped sequence numbers.
    #[error("{0}")]
    OutOfOrderSequence(String),
    /// Kafka's INVALID_PRODUCER_EPOCH: a batch from an older epoch of its producer.
    #[error("{0}")]
    InvalidProducerEpoch(String),
    /// Kafka's NOT_LEADER_OR_FOLLOWER: the partition's log was closed under the request (it is
    /// being reopened); clients refresh metadata and retry.
    #[error("{0}")]
    NotLeaderOrFollower(String),
    /// Kafka's POLICY_VIOLATION: a request the broker's limits refuse.
    #[error("{0}")]
    PolicyViolation(String),
    /// Kafka's INVALID_RECORD: a record the topic cannot take (a keyless record sent to a
    /// compacted topic).
    #[error("{0}")]
    InvalidRecord(String),
    /// A transaction error with Kafka's code (INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH, ...).
    #[error("{1}")]
    Transaction(i16, String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, error: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }

    /// Kafka's refusal to move the offsets of a group that still has live members.
    pub fn group_not_inactive(group: &str, state: &str) -> Self {
        Error::NonEmptyGroup(format!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        ))
    }

    /// Kafka's numeric error code for this error, as the broker puts it on the wire.
    pub fn code(&self) -> i16 {
        match self {
            Error::Io { .. } => 56,      // KAFKA_STORAGE_ERROR
            Error::UnknownTopic(_) => 3, // UNKNOWN_TOPIC_OR_PARTITION
            Error::UnknownPartition { .. } => 3,
            Error::TopicExists(_) => 36,       // TOPIC_ALREADY_EXISTS
            Error::InvalidTopic(_) => 17,      // INVALID_TOPIC_EXCEPTION
            Error::InvalidPartitions(_) => 37, // INVALID_PARTITIONS
            Error::InvalidReplicationFactor(_) => 38,
            Error::InvalidConfig(_) => 40,
            Error::CorruptRecord { .. } => 2,   // CORRUPT_MESSAGE
            Error::RecordTooLarge { .. } => 10, // MESSAGE_TOO_LARGE
            Error::OffsetOutOfRange { .. } => 1,
            Error::GroupNotFound(_) => 69,
            Error::NonEmptyGroup(_) => 68,
            Error::InvalidRequest(_) => 42,
            Error::Codec(_) => 2,
            Error::DataDir(_) => 56,
            Error::Remote(_) => -1, // UNKNOWN_SERVER_ERROR
            Error::OutOfOrderSequence(_) => 45,
            Error::InvalidProducerEpoch(_) => 47,
            Error::PolicyViolation(_) => 44,
            Error::NotLeaderOrFollower(_) => 6,
            Error::InvalidRecord(_) => 87,
            Error::Transaction(code, _) => *code,
        }
    }
}

/// Adds the path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
