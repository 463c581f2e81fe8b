//! CreateTopics (key 19).

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};

use super::super::state::BrokerState;
use super::message;
use crate::engine::{NewTopic, TopicMetadata};
use crate::error::Error;

/// The response; with `validate_only` nothing is created.
pub fn handle(state: &BrokerState, req: CreateTopicsRequest, version: i16) -> CreateTopicsResponse {
    let mut r = CreateTopicsResponse::default();
    // Kafka's controller refuses a request that would make too many records at once, whole:
    // so do we, before anything touches the disk.
    let max = state.config().max_partitions_per_request;
    let requested: i64 = req
        .topics
        .iter()
        .map(|t| {
            if t.num_partitions == -1 {
                state.config().num_partitions as i64
            } else {
                (t.num_partitions as i64).max(0)
            }
        })
        .sum();
    let refused =
        (requested > max as i64).then(|| crate::engine::too_many_partitions(requested, max));
    if refused.is_some() {
        tracing::warn!(
            requested,
            max,
            "refused a CreateTopics request over max.partitions.per.request"
        );
    }
    // Checked one by one; created together (one sync of the disk for the whole request).
    let mut outcomes: Vec<Result<Option<TopicMetadata>, Error>> = Vec::new();
    let mut to_create: Vec<(usize, NewTopic)> = Vec::new();
    for t in &req.topics {
        let configs: BTreeMap<String, String> = t
            .configs
            .iter()
            .filter_map(|c| {
                c.value
                    .as_ref()
                    .map(|v| (c.name.to_string(), v.to_string()))
            })
            .collect();
        let partitions = (t.num_partitions > 0).then_some(t.num_partitions);
        let rf = (t.replication_factor > 0).then_some(t.replication_factor);
        let outcome = if let Some(e) = &refused {
            Err(Error::PolicyViolation(e.to_string()))
        } else if !t.assignments.is_empty() {
            Err(Error::InvalidRequest(
                "replica assignments are not supported on a single node".into(),
            ))
        } else if t.num_partitions == 0 || t.num_partitions < -1 {
            Err(Error::InvalidPartitions(
                "Number of partitions was set to an invalid non-positive value.".into(),
            ))
        } else if req.validate_only {
            crate::engine::topic::validate_name(&t.name.0)
                .and_then(|_| {
                    configs
                        .iter()
                        .try_for_each(|(k, v)| crate::log::config::validate_entry(k, v))
                })
                .map(|_| None)
        } else {
            to_create.push((
                outcomes.len(),
                NewTopic {
                    name: t.name.0.to_string(),
                    partitions,
                    replication_factor: rf,
                    configs,
                },
            ));
            Ok(None)
        };
        outcomes.push(outcome);
    }
    let specs: Vec<NewTopic> = to_create.iter().map(|(_, s)| s.clone()).collect();
    for ((i, _), created) in to_create.iter().zip(state.engine().create_topics(&specs)) {
        outcomes[*i] = created.map(Some);
    }
    for (t, outcome) in req.topics.iter().zip(outcomes) {
        let mut res = CreatableTopicResult::default();
        res.name = t.name.clone();
        match outcome {
            Ok(meta) => {
                let partitions = (t.num_partitions > 0).then_some(t.num_partitions);
                let n = meta
                    .as_ref()
                    .map_or(partitions.unwrap_or(state.config().num_partitions), |m| {
                        m.partitions
                    });
                if version >= 5 {
                    res.num_partitions = n;
                    res.replication_factor = 1;
                }
                if let Some(m) = meta.filter(|_| version >= 7) {
                    res.topic_id = m.topic_id;
                }
            }
            Err(e) => {
                res.error_code = e.code();
                res.error_message = message(&e);
            }
        }
        r.topics.push(res);
    }
    r
}
