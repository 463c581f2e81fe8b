//! TxnOffsetCommit (key 28): offsets a transaction commits for a group when it commits
//! (consume–transform–produce). With KIP-447 (v3+) the member names its generation, checked
//! like an OffsetCommit's, so a member a rebalance replaced cannot commit.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::super::state::BrokerState;
use super::super::transaction_state::PendingOffset;
use super::{code, fenced_as};

/// The response.
pub fn handle(
    state: &BrokerState,
    req: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let group = req.group_id.0.to_string();
    let mut group_error = code::NONE;
    if version >= 3 && (req.generation_id >= 0 || !req.member_id.is_empty()) {
        group_error = state.coordinator().validate_offset_commit(
            &group,
            req.generation_id,
            &req.member_id,
            req.group_instance_id.as_deref(),
        );
    }
    let mut per_partition = Vec::new();
    let mut offsets = Vec::new();
    for t in &req.topics {
        let meta = state.engine().topic(&t.name.0).ok();
        for p in &t.partitions {
            let metadata = p.committed_metadata.as_deref().unwrap_or("");
            let error = if let Err(e) =
                super::offset_commit::check_partition(meta.as_ref(), p.partition_index, metadata)
            {
                e.code()
            } else {
                offsets.push((
                    (t.name.0.to_string(), p.partition_index),
                    PendingOffset {
                        offset: p.committed_offset,
                        metadata: metadata.to_string(),
                    },
                ));
                code::NONE
            };
            per_partition.push(error);
        }
    }
    if group_error == code::NONE
        && !offsets.is_empty()
        && let Err(e) = state.transactions().txn_offset_commit(
            &req.transactional_id.0,
            req.producer_id.0,
            req.producer_epoch,
            &group,
            offsets,
        )
    {
        // Before v3 clients knew no PRODUCER_FENCED.
        group_error = match e {
            ResponseError::InvalidProducerIdMapping | ResponseError::ProducerFenced
                if version < 3 =>
            {
                ResponseError::InvalidProducerEpoch.code()
            }
            e => fenced_as(e, version < 3),
        };
    }
    let mut r = TxnOffsetCommitResponse::default();
    let mut errors = per_partition.into_iter();
    for t in &req.topics {
        let mut tr = TxnOffsetCommitResponseTopic::default();
        tr.name = t.name.clone();
        for p in &t.partitions {
            let mut pr = TxnOffsetCommitResponsePartition::default();
            pr.partition_index = p.partition_index;
            let own = errors.next().unwrap_or(code::NONE);
            pr.error_code = if own != code::NONE { own } else { group_error };
            tr.partitions.push(pr);
        }
        r.topics.push(tr);
    }
    r
}
