//! OffsetDelete (key 47): drops a group's committed offsets for some partitions, except those
//! of topics its live members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC).

use std::collections::HashSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::super::coordinator::OffsetDeleteCheck;
use super::super::state::BrokerState;
use crate::engine::group::{GroupState, Subscription};

/// Which topics are off limits: `None` for all of them.
enum Guard {
    /// Nothing is consumed.
    Free,
    /// These topics are (or, with `None`, any may be).
    Subscribed(Option<HashSet<String>>),
    /// Embedded consumers' subscriptions.
    Embedded(Vec<Subscription>),
}

impl Guard {
    fn protects(&self, topic: &str) -> bool {
        match self {
            Guard::Free => false,
            Guard::Subscribed(None) => true,
            Guard::Subscribed(Some(topics)) => topics.contains(topic),
            Guard::Embedded(subs) => subs.iter().any(|s| match s {
                Subscription::Topics(ts) => ts.iter().any(|t| t == topic),
                Subscription::Pattern(p) => regex::Regex::new(&format!("^(?:{p})$"))
                    .map(|r| r.is_match(topic))
                    .unwrap_or(true),
            }),
        }
    }
}

/// What guards the group's offsets, or the group-level error.
fn guard(state: &BrokerState, group: &str) -> Result<Guard, i16> {
    let store = state.engine().groups();
    let embedded = || -> Result<Guard, i16> {
        let members = store.live_members(group).map_err(|e| e.code())?;
        Ok(Guard::Embedded(
            members.into_iter().map(|m| m.subscription).collect(),
        ))
    };
    match state.coordinator().offset_delete_check(group) {
        OffsetDeleteCheck::NonEmpty => Err(ResponseError::NonEmptyGroup.code()),
        OffsetDeleteCheck::Subscribed(topics) => Ok(Guard::Subscribed(topics)),
        OffsetDeleteCheck::Empty => embedded(),
        OffsetDeleteCheck::Unknown => match store.state(group).map_err(|e| e.code())? {
            GroupState::Dead => Err(ResponseError::GroupIdNotFound.code()),
            GroupState::Empty => Ok(Guard::Free),
            GroupState::Stable => embedded(),
        },
    }
}

/// The response.
pub fn handle(
    state: &BrokerState,
    req: OffsetDeleteRequest,
    _version: i16,
) -> OffsetDeleteResponse {
    let mut resp = OffsetDeleteResponse::default();
    let group = req.group_id.0.to_string();
    let guard = match guard(state, &group) {
        Ok(g) => g,
        Err(e) => {
            resp.error_code = e;
            return resp;
        }
    };
    let engine = state.engine();
    resp.topics = req
        .topics
        .into_iter()
        .map(|t| {
            let meta = engine.topic(&t.name.0).ok();
            let mut topic = OffsetDeleteResponseTopic::default();
            topic.partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let index = p.partition_index;
                    let error = if !meta
                        .as_ref()
                        .is_some_and(|m| (0..m.partitions).contains(&index))
                    {
                        ResponseError::UnknownTopicOrPartition.code()
                    } else if guard.protects(&t.name.0) {
                        ResponseError::GroupSubscribedToTopic.code()
                    } else {
                        match engine.groups().delete_offset(&group, &t.name.0, index) {
                            Ok(_) => 0,
                            Err(e) => e.code(),
                        }
                    };
                    let mut part = OffsetDeleteResponsePartition::default();
                    part.partition_index = index;
                    part.error_code = error;
                    part
                })
                .collect();
            topic.name = t.name;
            topic
        })
        .collect();
    resp
}
