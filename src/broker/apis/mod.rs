//! One module per Kafka API the broker serves, and the table of versions it advertises.
//! Nothing is advertised that is not served.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod configs;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_client_quotas;
pub mod describe_cluster;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod describe_user_scram_credentials;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod write_txn_markers;

use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

/// (API, lowest version, highest version) served.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    // Produce v0–2 are advertised so older librdkafka keeps compression on (KAFKA-18659), and
    // answered with UNSUPPORTED_VERSION.
    (ApiKey::Produce, 0, 11),
    (ApiKey::Fetch, 4, 16),
    (ApiKey::ListOffsets, 1, 8),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 1),
    // v0 left Kafka in 4.0 (KIP-896), as it left the codec.
    (ApiKey::DescribeLogDirs, 1, 4),
    // What the Java admin client's describeTopics uses since Kafka 3.8.
    (ApiKey::DescribeTopicPartitions, 0, 0),
    // The classic consumer group protocol (broker::coordinator).
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    // Transactions (broker::transaction_coordinator), protocol version 1: Produce ≤ v11 and
    // EndTxn ≤ v4; AddPartitionsToTxn v4+ is the brokers' verification form.
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 4),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    // SASL listeners (broker::security::sasl); elsewhere answered with ILLEGAL_SASL_STATE.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    // SCRAM users, as `kafka-configs --entity-type users` manages them.
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
];

/// The served version range of an API, if it is served.
pub fn supported(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// A topic name for a response.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// An optional error message for a response.
pub fn message(e: &crate::Error) -> Option<StrBytes> {
    Some(StrBytes::from_string(e.to_string()))
}

/// The code of a transaction error, with PRODUCER_FENCED sent as INVALID_PRODUCER_EPOCH to
/// clients of versions from before it existed (`old_version`), as Kafka does.
pub fn fenced_as(e: kafka_protocol::ResponseError, old_version: bool) -> i16 {
    use kafka_protocol::ResponseError;
    match e {
        ResponseError::ProducerFenced if old_version => ResponseError::InvalidProducerEpoch.code(),
        e => e.code(),
    }
}

/// The error code of success; every other code comes from `kafka_protocol::ResponseError`.
pub mod code {
    /// NONE.
    pub const NONE: i16 = 0;
}
