//! CreatePartitions (key 37): raise a topic's partition count.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::super::state::BrokerState;
use super::message;
use crate::error::Error;

/// The response; with `validate_only` nothing changes.
pub fn handle(
    state: &BrokerState,
    req: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let mut r = CreatePartitionsResponse::default();
    // The whole request is refused when it would add more than max.partitions.per.request.
    let max = state.config().max_partitions_per_request;
    let added: i64 = req
        .topics
        .iter()
        .filter_map(|t| {
            let meta = state.engine().topic(&t.name.0).ok()?;
            Some((t.count as i64 - meta.partitions as i64).max(0))
        })
        .sum();
    let refused = (added > max as i64).then(|| crate::engine::too_many_partitions(added, max));
    for t in req.topics {
        let mut res = CreatePartitionsTopicResult::default();
        res.name = t.name.clone();
        let outcome = match state.engine().topic(&t.name.0) {
            Ok(_) if refused.is_some() => Err(Error::PolicyViolation(
                refused.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            )),
            Ok(meta) if t.count <= meta.partitions => {
                Err(Error::InvalidPartitions(if t.count == meta.partitions {
                    format!("Topic already has {} partition(s).", meta.partitions)
                } else {
                    format!(
                        "The topic {} currently has {} partition(s); {} would not be an increase.",
                        meta.name, meta.partitions, t.count
                    )
                }))
            }
            Ok(_) if req.validate_only => Ok(()),
            Ok(_) => state
                .engine()
                .create_partitions(&t.name.0, t.count)
                .map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            res.error_code = e.code();
            res.error_message = message(&e);
        }
        r.results.push(res);
    }
    r
}
