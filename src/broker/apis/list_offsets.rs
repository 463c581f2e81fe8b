//! ListOffsets (key 2): earliest (-2), latest (-1), max timestamp (-3) or the first offset at
//! or after a timestamp.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::super::state::BrokerState;
use crate::error::Error;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// (timestamp, offset) of one query; `committed` (isolation level 1) puts the latest offset at
/// the last stable offset, as Kafka does for `read_committed` consumers.
fn lookup(
    state: &BrokerState,
    topic: &str,
    partition: i32,
    ts: i64,
    committed: bool,
) -> Result<(i64, i64), Error> {
    let meta = state.engine().topic(topic)?;
    let log = state.log(&meta, partition)?;
    let st = log.state()?;
    Ok(match ts {
        LATEST if committed => (-1, st.last_stable_offset()),
        LATEST => (-1, st.log_end_offset),
        EARLIEST => (-1, st.log_start_offset),
        MAX_TIMESTAMP => {
            // The record holding the largest timestamp: found by scanning for it.
            match log.max_timestamp()? {
                Some((t, o)) => (t, o),
                None => (-1, -1),
            }
        }
        ts if ts >= 0 => match log.offset_for_timestamp(ts)? {
            Some(o) => (ts, o),
            None => (-1, -1),
        },
        _ => (-1, st.log_end_offset),
    })
}

/// The response.
pub fn handle(state: &BrokerState, req: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let mut r = ListOffsetsResponse::default();
    for t in req.topics {
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            match lookup(
                state,
                &t.name.0,
                p.partition_index,
                p.timestamp,
                req.isolation_level == 1,
            ) {
                Ok((ts, offset)) => {
                    pr.timestamp = ts;
                    pr.offset = offset;
                    if version >= 4 {
                        pr.leader_epoch = 0;
                    }
                }
                Err(e) => {
                    pr.error_code = e.code();
                    pr.timestamp = -1;
                    pr.offset = -1;
                }
            }
            tr.partitions.push(pr);
        }
        r.topics.push(tr);
    }
    r
}
