//! OffsetFetch (key 9): a group's committed positions from the data dir's group store; no
//! topics (null) means every committed partition. v8+ asks for several groups at once.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;
use super::{code, topic_name};

/// One partition's answer: (offset, metadata, error).
type Fetched = (i64, String, i16);

/// The offsets of one group: by topic, by partition. `topics` None means all committed.
/// With `require_stable` (v7+, `read_committed` consumers), a partition an open transaction
/// holds offsets for answers UNSTABLE_OFFSET_COMMIT, and the consumer asks again once it ended.
fn fetch(
    state: &BrokerState,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<BTreeMap<String, Vec<(i32, Fetched)>>, i16> {
    let store = state.engine().groups();
    let unstable = if require_stable {
        state.transactions().pending_offsets(group)
    } else {
        Default::default()
    };
    let mut out: BTreeMap<String, Vec<(i32, Fetched)>> = BTreeMap::new();
    match topics {
        None => {
            let committed = store.committed(group).map_err(|e| e.code())?;
            for ((topic, p), c) in committed {
                out.entry(topic)
                    .or_default()
                    .push((p, (c.offset, c.metadata, code::NONE)));
            }
        }
        Some(topics) => {
            for (topic, partitions) in topics {
                let list = out.entry(topic.clone()).or_default();
                for p in partitions {
                    if unstable.contains(&(topic.clone(), p)) {
                        let unstable = kafka_protocol::ResponseError::UnstableOffsetCommit.code();
                        list.push((p, (-1, String::new(), unstable)));
                        continue;
                    }
                    let fetched = match store.committed_one(group, &topic, p) {
                        Ok(Some(c)) => (c.offset, c.metadata, code::NONE),
                        Ok(None) => (-1, String::new(), code::NONE),
                        Err(e) => (-1, String::new(), e.code()),
                    };
                    list.push((p, fetched));
                }
            }
        }
    }
    Ok(out)
}

/// The response.
pub fn handle(state: &BrokerState, req: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        resp.groups = req
            .groups
            .into_iter()
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes))
                        .collect()
                });
                let mut group = OffsetFetchResponseGroup::default();
                match fetch(state, &g.group_id.0, topics, req.require_stable) {
                    Ok(offsets) => {
                        group.topics = offsets
                            .into_iter()
                            .map(|(name, parts)| {
                                let mut t = OffsetFetchResponseTopics::default();
                                t.name = topic_name(&name);
                                t.partitions = parts
                                    .into_iter()
                                    .map(|(p, (offset, metadata, error))| {
                                        let mut part = OffsetFetchResponsePartitions::default();
                                        part.partition_index = p;
                                        part.committed_offset = offset;
                                        part.metadata = Some(StrBytes::from_string(metadata));
                                        part.error_code = error;
                                        part
                                    })
                                    .collect();
                                t
                            })
                            .collect();
                    }
                    Err(e) => group.error_code = e,
                }
                group.group_id = GroupId(g.group_id.0);
                group
            })
            .collect();
        return resp;
    }
    // v1 cannot ask for every topic: a null list there is taken as empty.
    let topics = match req.topics {
        Some(ts) => Some(
            ts.into_iter()
                .map(|t| (t.name.0.to_string(), t.partition_indexes))
                .collect(),
        ),
        None if version >= 2 => None,
        None => Some(Vec::new()),
    };
    match fetch(
        state,
        &req.group_id.0,
        topics,
        version >= 7 && req.require_stable,
    ) {
        Ok(offsets) => {
            resp.topics = offsets
                .into_iter()
                .map(|(name, parts)| {
                    let mut t = OffsetFetchResponseTopic::default();
                    t.name = topic_name(&name);
                    t.partitions = parts
                        .into_iter()
                        .map(|(p, (offset, metadata, error))| {
                            let mut part = OffsetFetchResponsePartition::default();
                            part.partition_index = p;
                            part.committed_offset = offset;
                            part.metadata = Some(StrBytes::from_string(metadata));
                            part.error_code = error;
                            part
                        })
                        .collect();
                    t
                })
                .collect();
        }
        Err(e) if version >= 2 => resp.error_code = e,
        Err(_) => {}
    }
    resp
}
