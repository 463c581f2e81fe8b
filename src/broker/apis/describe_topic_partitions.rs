//! DescribeTopicPartitions (key 75): topics and their partitions, a page at a time. The Java
//! admin client's `describeTopics` uses it since Kafka 3.8 (and falls back to Metadata only on
//! brokers that do not advertise it).
//!
//! Paging follows Kafka's broker: topics are answered in name order, starting at the cursor's
//! topic (and, for that topic, at the cursor's partition); once `response_partition_limit`
//! partitions are in the answer, `next_cursor` names the first partition left out. A topic that
//! does not fit at all is left out and the cursor points at its partition 0.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse};

use super::super::state::BrokerState;
use super::metadata::placement;
use super::topic_name;
use crate::engine::TopicMetadata;

/// The most partitions one answer holds whatever the request asks: Kafka's default of
/// `max.request.partition.size.limit`.
pub const MAX_REQUEST_PARTITION_SIZE_LIMIT: i32 = 2000;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DescribeTopicPartitionsRequest,
    _version: i16,
) -> DescribeTopicPartitionsResponse {
    let mut r = DescribeTopicPartitionsResponse::default();
    // An empty list asks for every topic; then topics that vanish meanwhile are left out
    // instead of reported.
    let all = req.topics.is_empty();
    let cursor = req
        .cursor
        .as_ref()
        .map(|c| (c.topic_name.0.to_string(), c.partition_index));
    let from = cursor.as_ref().map_or("", |(t, _)| t.as_str());
    let requested: BTreeSet<String> = if all {
        state
            .engine()
            .list_topics()
            .unwrap_or_default()
            .into_iter()
            .collect()
    } else {
        req.topics.iter().map(|t| t.name.0.to_string()).collect()
    };
    let names: Vec<&String> = requested.iter().filter(|n| n.as_str() >= from).collect();
    if !all && cursor.is_some() && !requested.contains(from) {
        // Kafka refuses the request, and answers each requested topic with the error.
        r.topics = req
            .topics
            .iter()
            .map(|t| failed(&t.name.0, ResponseError::InvalidRequest.code()))
            .collect();
        return r;
    }
    let mut remaining = MAX_REQUEST_PARTITION_SIZE_LIMIT.min(req.response_partition_limit);
    for name in names {
        if remaining == 0 {
            r.next_cursor = Some(next(name, 0));
            break;
        }
        if remaining < 0 {
            break;
        }
        let start = match &cursor {
            Some((t, p)) if t == name => (*p).max(0),
            _ => 0,
        };
        let meta = match state.engine().topic(name) {
            Ok(meta) => meta,
            Err(_) if all => continue,
            Err(e) => {
                r.topics.push(failed(name, e.code()));
                continue;
            }
        };
        let end = meta.partitions.min(start.saturating_add(remaining));
        r.topics.push(described(state, &meta, start..end));
        if end < meta.partitions {
            r.next_cursor = Some(next(name, end));
            break;
        }
        remaining -= (end - start).max(0);
    }
    r
}

/// A topic with the partitions in `range`.
fn described(
    state: &BrokerState,
    meta: &TopicMetadata,
    range: std::ops::Range<i32>,
) -> DescribeTopicPartitionsResponseTopic {
    let mut topic = DescribeTopicPartitionsResponseTopic::default();
    topic.name = Some(topic_name(&meta.name));
    topic.topic_id = meta.topic_id;
    topic.is_internal = meta.is_internal();
    topic.partitions = range
        .map(|p| {
            let at = placement(state);
            let mut part = DescribeTopicPartitionsResponsePartition::default();
            part.partition_index = p;
            part.leader_id = at.leader;
            part.leader_epoch = at.leader_epoch;
            part.replica_nodes = at.replicas;
            part.isr_nodes = at.isr;
            // Empty, not null: Kafka's tool prints `Elr: ` for an empty list and `Elr: N/A`
            // for a missing one, and a KRaft broker sends empty lists.
            part.eligible_leader_replicas = Some(Vec::new());
            part.last_known_elr = Some(Vec::new());
            part
        })
        .collect();
    topic
}

/// A topic answered with an error only.
fn failed(name: &str, error: i16) -> DescribeTopicPartitionsResponseTopic {
    let mut topic = DescribeTopicPartitionsResponseTopic::default();
    topic.name = Some(topic_name(name));
    topic.error_code = error;
    topic.is_internal = crate::engine::topic::is_internal(name);
    topic
}

fn next(topic: &str, partition: i32) -> Cursor {
    let mut c = Cursor::default();
    c.topic_name = topic_name(topic);
    c.partition_index = partition;
    c
}
