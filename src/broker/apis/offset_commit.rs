//! OffsetCommit (key 8): a group's positions, written to the data dir's group store, where the
//! embedded tools (`consumer-groups --describe`) read them too. Members must name their
//! generation; a group without members takes simple commits (generation -1).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::super::state::BrokerState;
use crate::engine::group::CommittedOffset;

/// Kafka's `offset.metadata.max.bytes` default.
const MAX_METADATA_BYTES: usize = 4096;

/// The checks of one committed partition, shared with TxnOffsetCommit: it exists, and its
/// metadata string fits `offset.metadata.max.bytes`.
pub fn check_partition(
    meta: Option<&crate::engine::TopicMetadata>,
    partition: i32,
    metadata: &str,
) -> Result<(), ResponseError> {
    if !meta.is_some_and(|m| (0..m.partitions).contains(&partition)) {
        Err(ResponseError::UnknownTopicOrPartition)
    } else if metadata.len() > MAX_METADATA_BYTES {
        Err(ResponseError::OffsetMetadataTooLarge)
    } else {
        Ok(())
    }
}

/// The response.
pub fn handle(state: &BrokerState, req: OffsetCommitRequest, version: i16) -> OffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let instance = if version >= 7 {
        req.group_instance_id.as_deref()
    } else {
        None
    };
    let group_error = state.coordinator().validate_offset_commit(
        &group,
        req.generation_id_or_member_epoch,
        &req.member_id,
        instance,
    );
    let engine = state.engine();
    let now = crate::log::unified::now_ms();
    // v2-v4 let the committer set the retention; -1 (and later versions) leave it to the
    // broker's offsets.retention.minutes.
    let expire_timestamp = (version <= 4 && req.retention_time_ms >= 0)
        .then(|| now.saturating_add(req.retention_time_ms));
    let mut resp = OffsetCommitResponse::default();
    // Every valid commit of the request goes to disk as one durable write.
    let mut commits = Vec::new();
    for t in &req.topics {
        let meta = engine.topic(&t.name.0).ok();
        let mut topic = OffsetCommitResponseTopic::default();
        topic.name = t.name.clone();
        for p in &t.partitions {
            let metadata = p.committed_metadata.as_deref().unwrap_or("");
            let error = if group_error != 0 {
                group_error
            } else if let Err(e) = check_partition(meta.as_ref(), p.partition_index, metadata) {
                e.code()
            } else {
                commits.push((
                    (t.name.0.to_string(), p.partition_index),
                    CommittedOffset {
                        offset: p.committed_offset,
                        metadata: metadata.to_string(),
                        commit_timestamp: now,
                        expire_timestamp,
                    },
                ));
                0
            };
            let mut part = OffsetCommitResponsePartition::default();
            part.partition_index = p.partition_index;
            part.error_code = error;
            topic.partitions.push(part);
        }
        resp.topics.push(topic);
    }
    if let Err(e) = engine.groups().commit_many(&group, &commits, true) {
        tracing::error!(%group, error = %e, "commit failed");
        for topic in &mut resp.topics {
            for part in &mut topic.partitions {
                if part.error_code == 0 {
                    part.error_code = e.code();
                }
            }
        }
    }
    resp
}
