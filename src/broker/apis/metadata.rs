//! Metadata (key 3): the one broker, and topics with their partitions led by it. Requested
//! topics that do not exist are created when auto-creation is on, as Kafka does.

use std::collections::BTreeMap;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::listener::Endpoint;
use super::super::state::BrokerState;
use super::topic_name;
use crate::engine::TopicMetadata;

/// Who holds a partition, as Metadata and DescribeTopicPartitions both report it.
pub struct Placement {
    /// The leader: this node.
    pub leader: BrokerId,
    /// The leader epoch: 0, as a single node never hands leadership on.
    pub leader_epoch: i32,
    /// Replicas: this node alone.
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas: this node, always in sync with itself.
    pub isr: Vec<BrokerId>,
}

/// Where every partition of this one-node broker lives (the same for each partition; one
/// function so the two APIs that describe partitions cannot disagree).
pub fn placement(state: &BrokerState) -> Placement {
    let node = BrokerId(state.config().node_id);
    Placement {
        leader: node,
        leader_epoch: 0,
        replicas: vec![node],
        isr: vec![node],
    }
}

fn described(state: &BrokerState, t: &TopicMetadata, version: i16) -> MetadataResponseTopic {
    let mut topic = MetadataResponseTopic::default();
    topic.name = Some(topic_name(&t.name));
    if version >= 10 {
        topic.topic_id = t.topic_id;
    }
    topic.is_internal = version >= 1 && t.is_internal();
    topic.partitions = (0..t.partitions)
        .map(|p| {
            let at = placement(state);
            let mut part = MetadataResponsePartition::default();
            part.partition_index = p;
            part.leader_id = at.leader;
            if version >= 7 {
                part.leader_epoch = at.leader_epoch;
            }
            part.replica_nodes = at.replicas;
            part.isr_nodes = at.isr;
            part
        })
        .collect();
    topic
}

fn failed(name: Option<&str>, id: uuid::Uuid, error: i16) -> MetadataResponseTopic {
    let mut topic = MetadataResponseTopic::default();
    topic.name = name.map(topic_name);
    topic.topic_id = id;
    topic.error_code = error;
    topic
}

/// Looks a requested topic up, creating it if allowed and the request's partition `budget`
/// (`max.partitions.per.request`) covers it: one request naming a million missing topics must
/// not make a million topics.
fn lookup(
    state: &BrokerState,
    name: &str,
    auto_create: bool,
    budget: &mut i64,
    version: i16,
) -> MetadataResponseTopic {
    let engine = state.engine();
    let result = match engine.topic(name) {
        Err(crate::Error::UnknownTopic(_)) if auto_create => {
            let partitions = state.config().num_partitions as i64;
            if *budget < partitions {
                tracing::warn!(
                    topic = name,
                    "not auto-creating: the request already created max.partitions.per.request partitions"
                );
                return failed(
                    Some(name),
                    uuid::Uuid::nil(),
                    kafka_protocol::ResponseError::UnknownTopicOrPartition.code(),
                );
            }
            *budget -= partitions;
            engine.topic_or_create(name)
        }
        other => other,
    };
    match result {
        Ok(t) => described(state, &t, version),
        Err(e) => failed(Some(name), uuid::Uuid::nil(), e.code()),
    }
}

/// The response.
/// The broker is described by `endpoint`, the advertised endpoint of the listener the request
/// arrived on, as Kafka answers per listener name.
pub fn handle(
    state: &BrokerState,
    endpoint: &Endpoint,
    req: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let c = state.config();
    let mut r = MetadataResponse::default();
    let mut broker = MetadataResponseBroker::default();
    broker.node_id = BrokerId(c.node_id);
    broker.host = StrBytes::from_string(endpoint.host.clone());
    broker.port = endpoint.port as i32;
    r.brokers = vec![broker];
    if version >= 2 {
        r.cluster_id = Some(StrBytes::from_string(state.cluster_id().to_string()));
    }
    if version >= 1 {
        r.controller_id = BrokerId(c.node_id);
    }
    // v0 has no null: an empty list means every topic.
    let all = match &req.topics {
        None => true,
        Some(list) => version == 0 && list.is_empty(),
    };
    // Before v4 the request could not say no, so clients always allowed creation.
    let auto_create = c.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let engine = state.engine();
    if all {
        let names = engine.list_topics().unwrap_or_default();
        r.topics = names
            .iter()
            .filter_map(|n| engine.topic(n).ok())
            .map(|t| described(state, &t, version))
            .collect();
        return r;
    }
    let mut seen = BTreeMap::new();
    let mut budget = c.max_partitions_per_request as i64;
    for t in req.topics.unwrap_or_default() {
        let topic = match (&t.name, t.topic_id.is_nil()) {
            (Some(name), _) => lookup(state, name, auto_create, &mut budget, version),
            (None, false) => match state.topic_by_id(t.topic_id) {
                Ok(Some(meta)) => described(state, &meta, version),
                _ => failed(
                    None,
                    t.topic_id,
                    kafka_protocol::ResponseError::UnknownTopicId.code(),
                ),
            },
            (None, true) => failed(
                None,
                t.topic_id,
                kafka_protocol::ResponseError::InvalidRequest.code(),
            ),
        };
        let key = topic
            .name
            .as_ref()
            .map(|n| n.0.to_string())
            .unwrap_or_default();
        seen.entry(key).or_insert(topic);
    }
    r.topics = seen.into_values().collect();
    r
}
