//! Admin calls that rdkafka 0.39 does not wrap, or wraps without the broker's error message,
//! made through librdkafka's C API (`rdkafka::bindings`) on the admin client's handle:
//! DescribeTopics (topic ids), DescribeConsumerGroups (coordinator, members and their
//! assignments), ListConsumerGroupOffsets, DeleteConsumerGroupOffsets, and CreateTopics,
//! CreatePartitions and DeleteTopics with the broker's error text ("Topic already has 3
//! partition(s)."), and IncrementalAlterConfigs (rdkafka has only the legacy AlterConfigs).
//!
//! Each call runs synchronously on a queue of its own. Every librdkafka object made here is
//! owned by a guard that frees it, and everything read from a result is copied into owned Rust
//! values before the result event is freed.

use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;
use std::time::Duration;

use rdkafka::TopicPartitionList;
use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use super::code_error;
use crate::error::{Error, Result};

/// A Kafka error code with the broker's (or librdkafka's) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error code.
    pub code: RDKafkaErrorCode,
    /// Its message; the code's description when the broker sent none.
    pub message: String,
}

impl Failure {
    fn new(code: rd::rd_kafka_resp_err_t, message: String) -> Failure {
        let code = RDKafkaErrorCode::from(code);
        let message = if !message.is_empty() {
            message
        } else if let Some(m) = kafka_message(code) {
            m.to_string()
        } else {
            code.to_string()
        };
        Failure { code, message }
    }

    /// As the library's error, for `what` (a topic or group name).
    pub fn into_error(self, what: &str) -> Error {
        match self.code {
            // The broker's text already says what is wrong with the name.
            RDKafkaErrorCode::InvalidTopic => Error::InvalidTopic(self.message),
            code => code_error(what, code, &self.message),
        }
    }
}

/// Kafka's own text for the error codes a broker sends without a message (per-partition
/// errors), as its tools print them.
fn kafka_message(code: RDKafkaErrorCode) -> Option<&'static str> {
    use RDKafkaErrorCode as C;
    Some(match code {
        C::UnknownTopicOrPartition => "This server does not host this topic-partition.",
        C::GroupSubscribedToTopic => {
            "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."
        }
        C::GroupIdNotFound => "The group id does not exist.",
        C::NonEmptyGroup => "The group is not empty.",
        C::GroupAuthorizationFailed => "Group authorization failed.",
        C::TopicAuthorizationFailed => "Topic authorization failed.",
        _ => return None,
    })
}

/// One topic as DescribeTopics returns it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Topic id in Kafka's base64 form.
    pub id: String,
    /// True for Kafka's internal topics.
    pub internal: bool,
    /// (partition, leader or -1, replicas, in-sync replicas), as the broker lists them.
    pub partitions: Vec<(i32, i32, Vec<i32>, Vec<i32>)>,
}

/// One member of a described group.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    /// Member (consumer) id.
    pub consumer_id: String,
    /// Client id.
    pub client_id: String,
    /// Host as the broker reports it (`/127.0.0.1`).
    pub host: String,
    /// Assigned partitions.
    pub assignment: Vec<(String, i32)>,
}

/// A group as DescribeConsumerGroups returns it.
#[derive(Debug, Clone)]
pub struct GroupInfo {
    /// State name: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown.
    pub state: String,
    /// Partition assignor (empty without members).
    pub assignor: String,
    /// Coordinator (host, port, id), if known.
    pub coordinator: Option<(String, u16, i32)>,
    /// Members.
    pub members: Vec<MemberInfo>,
}

/// Per-partition results of DeleteConsumerGroupOffsets.
pub type OffsetDeletions = Vec<((String, i32), Option<Failure>)>;

/// The result event of one admin request; freed on drop.
struct Event(*mut rd::rd_kafka_event_t);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: the event came from rd_kafka_queue_poll, is non-null and is freed only here.
        unsafe { rd::rd_kafka_event_destroy(self.0) }
    }
}

struct Queue(*mut rd::rd_kafka_queue_t);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new, non-null, freed only here. librdkafka keeps
        // its own reference while a request is still in flight.
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

struct Options(*mut rd::rd_kafka_AdminOptions_t);

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new, non-null, freed only here.
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

/// An array of librdkafka request objects, each freed with `destroy` on drop.
struct Objects<T> {
    items: Vec<*mut T>,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Drop for Objects<T> {
    fn drop(&mut self) {
        for &p in &self.items {
            // SAFETY: every pointer was returned non-null by the matching `_new` function and
            // is freed once, here (librdkafka copies what it needs from them).
            unsafe { (self.destroy)(p) }
        }
    }
}

/// Copies a C string; null is the empty string.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that lives for the call.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-null and NUL-terminated, per the caller.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The pointers of a librdkafka result array.
///
/// # Safety
/// `p` is null or points to `n` pointers that live as long as `'a`.
unsafe fn array<'a, T>(p: *mut *const T, n: usize) -> &'a [*const T] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: `n` initialised pointers, per the caller.
        unsafe { std::slice::from_raw_parts(p as *const *const T, n) }
    }
}

/// `(topic, partition, offset, error)` of every element of a partition list.
///
/// # Safety
/// `list` is null or a valid partition list that lives for the call.
unsafe fn partitions(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> Vec<(String, i32, i64, rd::rd_kafka_resp_err_t)> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: a valid list, per the caller; `elems` holds `cnt` initialised elements.
    let elems = unsafe {
        let l = &*list;
        if l.elems.is_null() || l.cnt <= 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts(l.elems, l.cnt as usize)
    };
    elems
        .iter()
        // SAFETY: each element's topic is a NUL-terminated string owned by the list.
        .map(|e| (unsafe { text(e.topic) }, e.partition, e.offset, e.err))
        .collect()
}

/// A C string for librdkafka; names with a NUL byte are refused.
fn c_string(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidRequest(format!("'{s}' contains a NUL byte")))
}

/// Runs one admin request: `call` issues it with the options and a fresh queue, and the result
/// event is awaited on that queue. A request-level error becomes an `Err` for `what`.
fn request(
    admin: &AdminClient<DefaultClientContext>,
    op: rd::rd_kafka_admin_op_t,
    timeout: Duration,
    what: &str,
    call: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
) -> Result<Event> {
    let rk = admin.inner().native_ptr();
    let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
    // SAFETY: `rk` is the live handle of `admin`, borrowed for this whole call.
    let queue = Queue(unsafe { rd::rd_kafka_queue_new(rk) });
    if queue.0.is_null() {
        return Err(Error::Remote(format!(
            "{what}: cannot create a librdkafka queue"
        )));
    }
    // SAFETY: as above; the options are freed by their guard.
    let options = Options(unsafe { rd::rd_kafka_AdminOptions_new(rk, op) });
    if options.0.is_null() {
        return Err(Error::Remote(format!(
            "{what}: cannot create admin options"
        )));
    }
    let mut errstr = [0 as c_char; 512];
    // SAFETY: valid options; `errstr` is a writable buffer of the size given.
    let err = unsafe {
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options.0,
            ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
        let msg = unsafe { text(errstr.as_ptr()) };
        return Err(Error::Remote(format!("{what}: {msg}")));
    }
    call(rk, options.0, queue.0);
    // The request times out on its own after `timeout`; wait a little longer for that answer.
    let wait = ms.saturating_add(5000);
    // SAFETY: a valid queue; the event returned (if any) is owned by the guard.
    let event = unsafe { rd::rd_kafka_queue_poll(queue.0, wait) };
    if event.is_null() {
        return Err(Error::Remote(format!(
            "{what}: no answer from the cluster within {} ms",
            wait
        )));
    }
    let event = Event(event);
    // SAFETY: a valid event.
    let code = unsafe { rd::rd_kafka_event_error(event.0) };
    if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        // SAFETY: a valid event; the string lives as long as it.
        let message = unsafe { text(rd::rd_kafka_event_error_string(event.0)) };
        return Err(Failure::new(code, message).into_error(what));
    }
    Ok(event)
}

/// Names and failures of a CreateTopics/CreatePartitions/DeleteTopics result.
///
/// # Safety
/// `results` is null or points to `n` topic results that live for the call.
unsafe fn topic_results(
    results: *mut *const rd::rd_kafka_topic_result_t,
    n: usize,
) -> Vec<(String, Option<Failure>)> {
    // SAFETY: per the caller.
    let results = unsafe { array(results, n) };
    results
        .iter()
        .map(|&r| {
            // SAFETY: each result is valid for the call; strings are copied.
            unsafe {
                let name = text(rd::rd_kafka_topic_result_name(r));
                let code = rd::rd_kafka_topic_result_error(r);
                let failure = (code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                    .then(|| Failure::new(code, text(rd::rd_kafka_topic_result_error_string(r))));
                (name, failure)
            }
        })
        .collect()
}

/// The first failure among per-topic results, as our error.
fn first_failure(results: Vec<(String, Option<Failure>)>) -> Result<()> {
    match results
        .into_iter()
        .find_map(|(name, f)| f.map(|f| (name, f)))
    {
        Some((name, f)) => Err(f.into_error(&name)),
        None => Ok(()),
    }
}

/// How one of the topic admin calls is made and read back.
struct TopicOp<T> {
    op: rd::rd_kafka_admin_op_t,
    /// Issues the request for the objects (librdkafka copies them).
    call: unsafe extern "C" fn(
        *mut rd::rd_kafka_t,
        *mut *mut T,
        usize,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
    /// The typed result of the event, or null for another kind of event.
    result: unsafe extern "C" fn(*mut rd::rd_kafka_event_t) -> *const rd::rd_kafka_event_t,
    /// The per-topic results of that result.
    topics: unsafe extern "C" fn(
        *const rd::rd_kafka_event_t,
        *mut usize,
    ) -> *mut *const rd::rd_kafka_topic_result_t,
}

/// Runs a CreateTopics/CreatePartitions/DeleteTopics request for `objects` and returns the
/// first per-topic failure as our error.
fn topic_request<T>(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    name: &str,
    op: TopicOp<T>,
    objects: &mut Objects<T>,
) -> Result<()> {
    let event = request(admin, op.op, timeout, name, |rk, options, queue| {
        // SAFETY: valid handle, objects, options and queue; the objects are copied.
        unsafe {
            (op.call)(
                rk,
                objects.items.as_mut_ptr(),
                objects.items.len(),
                options,
                queue,
            )
        }
    })?;
    let mut n = 0;
    // SAFETY: the result event of `op`; the results live as long as the event.
    let results = unsafe {
        let res = (op.result)(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{name}: unexpected admin result")));
        }
        topic_results((op.topics)(res, &mut n), n)
    };
    first_failure(results)
}

/// Creates one topic; `-1` partitions or replication factor means the broker's default.
pub fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    name: &str,
    partitions: i32,
    replication_factor: i32,
    configs: &[(String, String)],
) -> Result<()> {
    let cname = c_string(name)?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: a valid name and a writable buffer of the size given.
    let topic = unsafe {
        rd::rd_kafka_NewTopic_new(
            cname.as_ptr(),
            partitions,
            replication_factor,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if topic.is_null() {
        // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
        let msg = unsafe { text(errstr.as_ptr()) };
        return Err(Error::InvalidRequest(msg));
    }
    let mut topics = Objects {
        items: vec![topic],
        destroy: rd::rd_kafka_NewTopic_destroy,
    };
    for (k, v) in configs {
        let (ck, cv) = (c_string(k)?, c_string(v)?);
        // SAFETY: a valid NewTopic and strings that librdkafka copies.
        let err = unsafe { rd::rd_kafka_NewTopic_set_config(topic, ck.as_ptr(), cv.as_ptr()) };
        if err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(Error::InvalidConfig(format!(
                "Invalid topic config {k}={v}: {}",
                RDKafkaErrorCode::from(err)
            )));
        }
    }
    topic_request(
        admin,
        timeout,
        name,
        TopicOp {
            op: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATETOPICS,
            call: rd::rd_kafka_CreateTopics,
            result: rd::rd_kafka_event_CreateTopics_result,
            topics: rd::rd_kafka_CreateTopics_result_topics,
        },
        &mut topics,
    )
}

/// Raises a topic's partition count to `count`.
pub fn create_partitions(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    name: &str,
    count: usize,
) -> Result<()> {
    let cname = c_string(name)?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: a valid name and a writable buffer of the size given.
    let parts = unsafe {
        rd::rd_kafka_NewPartitions_new(cname.as_ptr(), count, errstr.as_mut_ptr(), errstr.len())
    };
    if parts.is_null() {
        // SAFETY: librdkafka wrote a NUL-terminated message into the zeroed buffer.
        let msg = unsafe { text(errstr.as_ptr()) };
        return Err(Error::InvalidPartitions(msg));
    }
    let mut objects = Objects {
        items: vec![parts],
        destroy: rd::rd_kafka_NewPartitions_destroy,
    };
    topic_request(
        admin,
        timeout,
        name,
        TopicOp {
            op: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
            call: rd::rd_kafka_CreatePartitions,
            result: rd::rd_kafka_event_CreatePartitions_result,
            topics: rd::rd_kafka_CreatePartitions_result_topics,
        },
        &mut objects,
    )
}

/// Deletes one topic.
pub fn delete_topic(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    name: &str,
) -> Result<()> {
    let cname = c_string(name)?;
    // SAFETY: a valid name, copied by librdkafka.
    let topic = unsafe { rd::rd_kafka_DeleteTopic_new(cname.as_ptr()) };
    if topic.is_null() {
        return Err(Error::InvalidRequest(format!(
            "cannot delete topic '{name}'"
        )));
    }
    let mut objects = Objects {
        items: vec![topic],
        destroy: rd::rd_kafka_DeleteTopic_destroy,
    };
    topic_request(
        admin,
        timeout,
        name,
        TopicOp {
            op: rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETETOPICS,
            call: rd::rd_kafka_DeleteTopics,
            result: rd::rd_kafka_event_DeleteTopics_result,
            topics: rd::rd_kafka_DeleteTopics_result_topics,
        },
        &mut objects,
    )
}

/// An error object librdkafka hands over to the caller; freed on drop.
struct OwnedError(*mut rd::rd_kafka_error_t);

impl Drop for OwnedError {
    fn drop(&mut self) {
        // SAFETY: returned non-null by librdkafka as the caller's to free, freed only here.
        unsafe { rd::rd_kafka_error_destroy(self.0) }
    }
}

/// Sets (`set`) and removes (`delete`) config overrides of one topic with
/// IncrementalAlterConfigs: rdkafka wraps only the legacy AlterConfigs, which replaces every
/// override the topic has with the ones sent. The broker checks names and values; its message
/// is the error's.
pub fn alter_topic_configs(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    name: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<()> {
    use rd::rd_kafka_AlterConfigOpType_t as Op;
    let cname = c_string(name)?;
    // SAFETY: a valid name, which librdkafka copies.
    let resource = unsafe {
        rd::rd_kafka_ConfigResource_new(
            rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
            cname.as_ptr(),
        )
    };
    if resource.is_null() {
        return Err(Error::Remote(format!("{name}: cannot alter configs")));
    }
    let mut resources = Objects {
        items: vec![resource],
        destroy: rd::rd_kafka_ConfigResource_destroy,
    };
    let ops = set
        .iter()
        .map(|(k, v)| (k, Some(v), Op::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET))
        .chain(
            delete
                .iter()
                .map(|k| (k, None, Op::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE)),
        );
    for (k, v, op) in ops {
        let ck = c_string(k)?;
        let cv = v.map(|v| c_string(v)).transpose()?;
        let value = cv.as_ref().map_or(ptr::null(), |c| c.as_ptr());
        // SAFETY: a valid resource and strings (or null for a deletion) that librdkafka copies.
        let err = unsafe {
            rd::rd_kafka_ConfigResource_add_incremental_config(resource, ck.as_ptr(), op, value)
        };
        if !err.is_null() {
            let err = OwnedError(err);
            // SAFETY: a valid error; its string lives as long as it and is copied.
            let msg = unsafe { text(rd::rd_kafka_error_string(err.0)) };
            return Err(Error::InvalidConfig(msg));
        }
    }
    let event = request(
        admin,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        timeout,
        name,
        |rk, options, queue| {
            // SAFETY: valid handle, resources, options and queue; the resources are copied.
            unsafe {
                rd::rd_kafka_IncrementalAlterConfigs(
                    rk,
                    resources.items.as_mut_ptr(),
                    resources.items.len(),
                    options,
                    queue,
                )
            }
        },
    )?;
    // SAFETY: an IncrementalAlterConfigs result event; the resources and their strings live
    // as long as it and are copied before it is freed.
    unsafe {
        let res = rd::rd_kafka_event_IncrementalAlterConfigs_result(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{name}: unexpected admin result")));
        }
        let mut n = 0;
        let results = rd::rd_kafka_IncrementalAlterConfigs_result_resources(res, &mut n);
        for &r in array(results, n) {
            let code = rd::rd_kafka_ConfigResource_error(r);
            if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let f = Failure::new(code, text(rd::rd_kafka_ConfigResource_error_string(r)));
                return Err(f.into_error(name));
            }
        }
    }
    Ok(())
}

/// A topic id as Kafka prints it (URL-safe base64 without padding) from librdkafka's form
/// (standard base64).
fn kafka_uuid(standard: &str) -> String {
    // The zero id: a broker too old to have topic ids. Kafka's tool then prints none.
    if standard.trim_end_matches('=').chars().all(|c| c == 'A') {
        return String::new();
    }
    standard
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// Node ids of a node array.
///
/// # Safety
/// As for [`array`]; every node is valid for the call.
unsafe fn node_ids(nodes: *mut *const rd::rd_kafka_Node_t, n: usize) -> Vec<i32> {
    // SAFETY: per the caller.
    unsafe { array(nodes, n) }
        .iter()
        // SAFETY: valid nodes.
        .map(|&node| unsafe { rd::rd_kafka_Node_id(node) })
        .collect()
}

/// Describes topics by name: ids, partitions, leaders, replicas and ISRs. A topic the broker
/// reports an error for fails the call (unknown topic → [`Error::UnknownTopic`]).
pub fn describe_topics(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    names: &[String],
) -> Result<Vec<TopicInfo>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let cnames = names
        .iter()
        .map(|n| c_string(n))
        .collect::<Result<Vec<_>>>()?;
    let mut ptrs: Vec<*const c_char> = cnames.iter().map(|c| c.as_ptr()).collect();
    let collection =
        // SAFETY: `ptrs` holds valid strings, which the collection copies.
        unsafe { rd::rd_kafka_TopicCollection_of_topic_names(ptrs.as_mut_ptr(), ptrs.len()) };
    if collection.is_null() {
        return Err(Error::Remote("cannot describe topics".to_string()));
    }
    let collection = Objects {
        items: vec![collection],
        destroy: rd::rd_kafka_TopicCollection_destroy,
    };
    let what = names.join(", ");
    let event = request(
        admin,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
        timeout,
        &what,
        |rk, options, queue| {
            // SAFETY: valid handle, collection, options and queue; names are copied.
            unsafe { rd::rd_kafka_DescribeTopics(rk, collection.items[0], options, queue) }
        },
    )?;
    let mut out = Vec::new();
    // SAFETY: a DescribeTopics result event; all descriptions, partitions and nodes live as
    // long as the event, and everything is copied out before it is freed.
    unsafe {
        let res = rd::rd_kafka_event_DescribeTopics_result(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{what}: unexpected admin result")));
        }
        let mut n = 0;
        let topics = rd::rd_kafka_DescribeTopics_result_topics(res, &mut n);
        for &t in array(topics, n) {
            let name = text(rd::rd_kafka_TopicDescription_name(t));
            let err = rd::rd_kafka_TopicDescription_error(t);
            if !err.is_null() {
                let code = rd::rd_kafka_error_code(err);
                if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    let f = Failure::new(code, text(rd::rd_kafka_error_string(err)));
                    return Err(f.into_error(&name));
                }
            }
            let id_ptr = rd::rd_kafka_TopicDescription_topic_id(t);
            let id = if id_ptr.is_null() {
                String::new()
            } else {
                kafka_uuid(&text(rd::rd_kafka_Uuid_base64str(id_ptr)))
            };
            let mut pn = 0;
            let parts = rd::rd_kafka_TopicDescription_partitions(t, &mut pn);
            let mut partitions = Vec::new();
            for &p in array(parts, pn) {
                let leader = rd::rd_kafka_TopicPartitionInfo_leader(p);
                let (mut rn, mut inn) = (0, 0);
                let replicas = rd::rd_kafka_TopicPartitionInfo_replicas(p, &mut rn);
                let isr = rd::rd_kafka_TopicPartitionInfo_isr(p, &mut inn);
                partitions.push((
                    rd::rd_kafka_TopicPartitionInfo_partition(p),
                    if leader.is_null() {
                        -1
                    } else {
                        rd::rd_kafka_Node_id(leader)
                    },
                    node_ids(replicas, rn),
                    node_ids(isr, inn),
                ));
            }
            out.push(TopicInfo {
                name,
                id,
                internal: rd::rd_kafka_TopicDescription_is_internal(t) != 0,
                partitions,
            });
        }
    }
    Ok(out)
}

/// Describes one consumer group. A group the broker does not know is reported as `Dead` with
/// no members, as Kafka's tools treat it.
pub fn describe_group(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    group: &str,
) -> Result<GroupInfo> {
    let cgroup = c_string(group)?;
    let mut groups = [cgroup.as_ptr()];
    let event = request(
        admin,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        timeout,
        group,
        |rk, options, queue| {
            // SAFETY: valid handle, options and queue; the group names are copied.
            unsafe {
                rd::rd_kafka_DescribeConsumerGroups(
                    rk,
                    groups.as_mut_ptr(),
                    groups.len(),
                    options,
                    queue,
                )
            }
        },
    );
    let event = match event {
        Ok(e) => e,
        Err(Error::GroupNotFound(_)) => return Ok(dead()),
        Err(e) => return Err(e),
    };
    // SAFETY: a DescribeConsumerGroups result event; descriptions, members, nodes and
    // assignments live as long as the event and are copied out before it is freed.
    unsafe {
        let res = rd::rd_kafka_event_DescribeConsumerGroups_result(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{group}: unexpected admin result")));
        }
        let mut n = 0;
        let descs = rd::rd_kafka_DescribeConsumerGroups_result_groups(res, &mut n);
        let Some(&g) = array(descs, n).first() else {
            return Ok(dead());
        };
        let err = rd::rd_kafka_ConsumerGroupDescription_error(g);
        if !err.is_null() {
            let code = rd::rd_kafka_error_code(err);
            if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND {
                return Ok(dead());
            }
            if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                let f = Failure::new(code, text(rd::rd_kafka_error_string(err)));
                return Err(f.into_error(group));
            }
        }
        let state = text(rd::rd_kafka_consumer_group_state_name(
            rd::rd_kafka_ConsumerGroupDescription_state(g),
        ));
        let node = rd::rd_kafka_ConsumerGroupDescription_coordinator(g);
        let coordinator = (!node.is_null()).then(|| {
            (
                text(rd::rd_kafka_Node_host(node)),
                rd::rd_kafka_Node_port(node),
                rd::rd_kafka_Node_id(node),
            )
        });
        let mut members = Vec::new();
        for i in 0..rd::rd_kafka_ConsumerGroupDescription_member_count(g) {
            let m = rd::rd_kafka_ConsumerGroupDescription_member(g, i);
            if m.is_null() {
                continue;
            }
            let a = rd::rd_kafka_MemberDescription_assignment(m);
            let assignment = if a.is_null() {
                Vec::new()
            } else {
                partitions(rd::rd_kafka_MemberAssignment_partitions(a))
                    .into_iter()
                    .map(|(t, p, _, _)| (t, p))
                    .collect()
            };
            members.push(MemberInfo {
                consumer_id: text(rd::rd_kafka_MemberDescription_consumer_id(m)),
                client_id: text(rd::rd_kafka_MemberDescription_client_id(m)),
                host: text(rd::rd_kafka_MemberDescription_host(m)),
                assignment,
            });
        }
        Ok(GroupInfo {
            state,
            assignor: text(rd::rd_kafka_ConsumerGroupDescription_partition_assignor(g)),
            coordinator,
            members,
        })
    }
}

fn dead() -> GroupInfo {
    GroupInfo {
        state: "Dead".to_string(),
        assignor: String::new(),
        coordinator: None,
        members: Vec::new(),
    }
}

/// The group result of a ListConsumerGroupOffsets/DeleteConsumerGroupOffsets answer: its
/// top-level failure and its partitions `(topic, partition, offset, error)`.
///
/// # Safety
/// `results` is null or points to `n` group results that live for the call.
#[allow(clippy::type_complexity)]
unsafe fn group_result(
    results: *mut *const rd::rd_kafka_group_result_t,
    n: usize,
) -> Option<(
    Option<Failure>,
    Vec<(String, i32, i64, rd::rd_kafka_resp_err_t)>,
)> {
    // SAFETY: per the caller; the error and the list live as long as the result.
    unsafe {
        let &r = array(results, n).first()?;
        let err = rd::rd_kafka_group_result_error(r);
        let failure = if err.is_null() {
            None
        } else {
            let code = rd::rd_kafka_error_code(err);
            (code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                .then(|| Failure::new(code, text(rd::rd_kafka_error_string(err))))
        };
        Some((failure, partitions(rd::rd_kafka_group_result_partitions(r))))
    }
}

/// Every committed offset of a group (an unknown group has none).
pub fn group_offsets(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    group: &str,
) -> Result<Vec<((String, i32), i64)>> {
    let cgroup = c_string(group)?;
    // SAFETY: a valid group name; a null partition list asks for every committed offset.
    let req = unsafe { rd::rd_kafka_ListConsumerGroupOffsets_new(cgroup.as_ptr(), ptr::null()) };
    if req.is_null() {
        return Err(Error::Remote(format!("{group}: cannot list offsets")));
    }
    let mut objects = Objects {
        items: vec![req],
        destroy: rd::rd_kafka_ListConsumerGroupOffsets_destroy,
    };
    let event = request(
        admin,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
        timeout,
        group,
        |rk, options, queue| {
            // SAFETY: valid handle, request, options and queue; the request is copied.
            unsafe {
                rd::rd_kafka_ListConsumerGroupOffsets(
                    rk,
                    objects.items.as_mut_ptr(),
                    objects.items.len(),
                    options,
                    queue,
                )
            }
        },
    );
    let event = match event {
        Ok(e) => e,
        Err(Error::GroupNotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    // SAFETY: a ListConsumerGroupOffsets result event; the results live as long as it.
    let result = unsafe {
        let res = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{group}: unexpected admin result")));
        }
        group_result(
            rd::rd_kafka_ListConsumerGroupOffsets_result_groups(res, &mut n),
            n,
        )
    };
    let Some((failure, parts)) = result else {
        return Ok(Vec::new());
    };
    if let Some(f) = failure {
        return match f.into_error(group) {
            Error::GroupNotFound(_) => Ok(Vec::new()),
            e => Err(e),
        };
    }
    Ok(parts
        .into_iter()
        .filter(|&(_, _, offset, err)| {
            offset >= 0 && err == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
        })
        .map(|(t, p, offset, _)| ((t, p), offset))
        .collect())
}

/// Deletes a group's committed offsets of `parts`. A group-level failure (unknown group,
/// group not empty) is an `Err`; partition-level ones are returned per partition.
pub fn delete_group_offsets(
    admin: &AdminClient<DefaultClientContext>,
    timeout: Duration,
    group: &str,
    parts: &[(String, i32)],
) -> Result<OffsetDeletions> {
    let cgroup = c_string(group)?;
    let mut tpl = TopicPartitionList::new();
    for (t, p) in parts {
        tpl.add_partition(t, *p);
    }
    // SAFETY: a valid group name and partition list, both copied by librdkafka.
    let req = unsafe { rd::rd_kafka_DeleteConsumerGroupOffsets_new(cgroup.as_ptr(), tpl.ptr()) };
    if req.is_null() {
        return Err(Error::Remote(format!("{group}: cannot delete offsets")));
    }
    let mut objects = Objects {
        items: vec![req],
        destroy: rd::rd_kafka_DeleteConsumerGroupOffsets_destroy,
    };
    let event = request(
        admin,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS,
        timeout,
        group,
        |rk, options, queue| {
            // SAFETY: valid handle, request, options and queue; the request is copied.
            unsafe {
                rd::rd_kafka_DeleteConsumerGroupOffsets(
                    rk,
                    objects.items.as_mut_ptr(),
                    objects.items.len(),
                    options,
                    queue,
                )
            }
        },
    );
    let event = event?;
    let mut n = 0;
    // SAFETY: a DeleteConsumerGroupOffsets result event; the results live as long as it.
    let result = unsafe {
        let res = rd::rd_kafka_event_DeleteConsumerGroupOffsets_result(event.0);
        if res.is_null() {
            return Err(Error::Remote(format!("{group}: unexpected admin result")));
        }
        group_result(
            rd::rd_kafka_DeleteConsumerGroupOffsets_result_groups(res, &mut n),
            n,
        )
    };
    let Some((failure, results)) = result else {
        return Err(Error::Remote(format!("{group}: no result for the group")));
    };
    if let Some(f) = failure {
        return Err(f.into_error(group));
    }
    Ok(results
        .into_iter()
        .map(|(t, p, _, err)| {
            let failure = (err != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                .then(|| Failure::new(err, String::new()));
            ((t, p), failure)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_in_kafkas_url_safe_base64() {
        assert_eq!(
            kafka_uuid("Mjhl0J3FRYmPkXelTj3/Pg=="),
            "Mjhl0J3FRYmPkXelTj3_Pg"
        );
        assert_eq!(kafka_uuid("a+b/c"), "a-b_c");
        assert_eq!(kafka_uuid("AAAAAAAAAAAAAAAAAAAAAA=="), "");
    }
}
