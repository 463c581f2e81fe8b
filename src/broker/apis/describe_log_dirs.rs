//! DescribeLogDirs (key 35): the one log dir (the data dir) with the size of every partition
//! in it and, from v4, the disk's total and usable bytes. Kafka's `kafka-log-dirs` tool and the
//! Admin client's `describeLogDirs` read it.
//!
//! Sizes come from the segment files, so a partition no client has touched since the broker
//! started is counted too (see [`BrokerState::partition_size`]). As in Kafka, a requested topic
//! or partition that does not exist is left out rather than reported, and a topic none of whose
//! partitions is answered is left out.

use std::collections::BTreeMap;
use std::path::Path;

use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse};
use kafka_protocol::protocol::StrBytes;

use super::super::state::BrokerState;
use super::topic_name;
use crate::error::Result;

/// The response.
pub fn handle(
    state: &BrokerState,
    req: DescribeLogDirsRequest,
    _version: i16,
) -> DescribeLogDirsResponse {
    let data_dir = state.engine().data_dir();
    // Kafka names the dir by its absolute path (without resolving links).
    let log_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let mut dir = DescribeLogDirsResult::default();
    dir.log_dir = StrBytes::from_string(log_dir.display().to_string());
    if let Some((total, usable)) = disk_space(&log_dir) {
        dir.total_bytes = total;
        dir.usable_bytes = usable;
    }
    match topics(state, req.topics.as_deref()) {
        Ok(topics) => dir.topics = topics,
        Err(e) => {
            tracing::warn!(error = %e, "cannot describe the log dir");
            dir.error_code = e.code();
        }
    }
    let mut r = DescribeLogDirsResponse::default();
    r.results = vec![dir];
    r
}

/// The partitions asked for (`None`: every partition of every topic), with their sizes.
fn topics(
    state: &BrokerState,
    asked: Option<&[DescribableLogDirTopic]>,
) -> Result<Vec<DescribeLogDirsTopic>> {
    let engine = state.engine();
    // topic -> the partitions asked for (None: all of them).
    let wanted: BTreeMap<String, Option<Vec<i32>>> = match asked {
        None => engine
            .list_topics()?
            .into_iter()
            .map(|t| (t, None))
            .collect(),
        Some(list) => {
            let mut wanted: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for t in list {
                wanted
                    .entry(t.topic.0.to_string())
                    .or_default()
                    .extend(&t.partitions);
            }
            wanted.into_iter().map(|(t, ps)| (t, Some(ps))).collect()
        }
    };
    let mut out = Vec::new();
    for (name, partitions) in wanted {
        // Deleted meanwhile, or never there: left out, as Kafka leaves out logs it lacks.
        let Ok(meta) = engine.topic(&name) else {
            continue;
        };
        let mut indexes: Vec<i32> = match partitions {
            None => (0..meta.partitions).collect(),
            Some(list) => list
                .into_iter()
                .filter(|p| (0..meta.partitions).contains(p))
                .collect(),
        };
        indexes.sort_unstable();
        indexes.dedup();
        if indexes.is_empty() {
            continue;
        }
        let mut topic = DescribeLogDirsTopic::default();
        topic.name = topic_name(&name);
        for p in indexes {
            let mut part = DescribeLogDirsPartition::default();
            part.partition_index = p;
            part.partition_size =
                i64::try_from(state.partition_size(&meta, p)?).unwrap_or(i64::MAX);
            // The leader's log end is its high watermark: no lag, and no future log
            // (AlterReplicaLogDirs moves nothing between dirs on one dir).
            part.offset_lag = 0;
            part.is_future_key = false;
            topic.partitions.push(part);
        }
        out.push(topic);
    }
    Ok(out)
}

/// The file system's (total, usable) bytes under `path`, as Java's `FileStore` reports them
/// (usable: what an unprivileged process may still write), or None if it cannot be asked.
fn disk_space(path: &Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a NUL-terminated path that lives for the call, and `stat` is
    // writable memory of the struct's size, which statvfs fills when it returns 0.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised the struct.
    let stat = unsafe { stat.assume_init() };
    let unit = stat.f_frsize as u128;
    let clamp = |blocks: u128| i64::try_from(blocks * unit).unwrap_or(i64::MAX);
    Some((clamp(stat.f_blocks as u128), clamp(stat.f_bavail as u128)))
}
