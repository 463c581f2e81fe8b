//! The consumer's record path, many records per call.
//!
//! rdkafka's `BaseConsumer::poll` hands out one record per call through librdkafka's event
//! API: a queue lock, an event, an `Arc` and a clock read for every record, which made our
//! console consumer spend twice kcat's CPU. Here every assigned partition's fetch queue is
//! forwarded to one queue of our own (librdkafka keeps an application's forwarding across
//! fetch restarts), drained with `rd_kafka_consume_batch_queue`. That call stores offsets and
//! positions like `poll` does and drops records made stale by a seek or a revoke. The
//! consumer's own queue then carries only rebalances and errors, still served by `poll`.

use std::ffi::{CStr, CString, c_int};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::time::Duration;

use rdkafka::bindings as rd;

/// The most records one call takes: enough to make the per-call cost vanish, few enough
/// that the batch's buffers stay in the allocator's reused memory.
const MAX_BATCH: usize = 2048;

/// Our handle on one of librdkafka's queues, released when dropped.
#[derive(Debug)]
pub(crate) struct Queue(NonNull<rd::rd_kafka_queue_t>);

// librdkafka's queues are locked internally; the handle is only a pointer to one.
unsafe impl Send for Queue {}
unsafe impl Sync for Queue {}

impl Queue {
    /// The consumer queue of `rk` (rebalances, errors, logs), if it has a group.
    ///
    /// # Safety
    /// `rk` is a live consumer handle that outlives the handle.
    pub(crate) unsafe fn consumer(rk: *mut rd::rd_kafka_t) -> Option<Queue> {
        // SAFETY: rk is live (the caller's contract).
        NonNull::new(unsafe { rd::rd_kafka_queue_get_consumer(rk) }).map(Queue)
    }

    /// How many events wait in the queue.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: self.0 is a live queue handle.
        unsafe { rd::rd_kafka_queue_length(self.0.as_ptr()) }
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // Partitions still forwarded to a queue keep it alive inside librdkafka until it stops
        // fetching them; this drops our handle only.
        // SAFETY: self.0 came from librdkafka and is destroyed once, here.
        unsafe { rd::rd_kafka_queue_destroy(self.0.as_ptr()) };
    }
}

/// A queue of our own on a librdkafka consumer, fed by the partitions attached to it.
#[derive(Debug)]
pub(crate) struct FetchQueue {
    queue: Queue,
}

impl FetchQueue {
    /// A new, empty queue on client `rk`.
    ///
    /// # Safety
    /// `rk` is a live consumer handle that outlives the queue.
    pub(crate) unsafe fn new(rk: *mut rd::rd_kafka_t) -> Option<FetchQueue> {
        // SAFETY: rk is live (the caller's contract).
        NonNull::new(unsafe { rd::rd_kafka_queue_new(rk) }).map(|q| FetchQueue { queue: Queue(q) })
    }

    /// Sends `topic`/`partition`'s records here from now on. False when librdkafka has no
    /// such partition (its records then keep going to the consumer queue).
    ///
    /// # Safety
    /// `rk` is the handle this queue was made on.
    pub(crate) unsafe fn attach(
        &self,
        rk: *mut rd::rd_kafka_t,
        topic: &str,
        partition: i32,
    ) -> bool {
        let Ok(name) = CString::new(topic) else {
            return false;
        };
        // SAFETY: rk is live (the caller's contract) and name a NUL-terminated string.
        let pq = unsafe { rd::rd_kafka_queue_get_partition(rk, name.as_ptr(), partition) };
        if pq.is_null() {
            return false;
        }
        // SAFETY: pq is the partition queue just returned, ours to destroy; our queue is live.
        unsafe {
            rd::rd_kafka_queue_forward(pq, self.queue.0.as_ptr());
            rd::rd_kafka_queue_destroy(pq);
        }
        true
    }

    /// Up to `max` records: what is queued now, else waits up to `wait` for the first and takes
    /// what arrived with it. librdkafka's batch call waits until the batch is full, so a
    /// following consumer asks for one record when the queue is empty.
    pub(crate) fn next_batch(&self, wait: Duration, max: usize) -> Batch {
        let max = max.clamp(1, MAX_BATCH);
        let mut batch = Batch(Vec::with_capacity(max));
        self.fill(&mut batch, 0, max);
        if batch.0.is_empty() && !wait.is_zero() {
            let ms = c_int::try_from(wait.as_millis())
                .unwrap_or(c_int::MAX)
                .max(1);
            self.fill(&mut batch, ms, 1);
            if !batch.0.is_empty() {
                self.fill(&mut batch, 0, max - 1);
            }
        }
        batch
    }

    fn fill(&self, batch: &mut Batch, timeout_ms: c_int, n: usize) {
        let v = &mut batch.0;
        v.reserve(n);
        let start = v.len();
        // SAFETY: librdkafka writes at most `n` message pointers into the spare capacity.
        let got = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue.0.as_ptr(),
                timeout_ms,
                v.as_mut_ptr().add(start),
                n,
            )
        };
        if got > 0 {
            // SAFETY: the first `got` slots were just written.
            unsafe { v.set_len(start + got as usize) };
        }
    }
}

/// Messages taken from librdkafka, destroyed when dropped.
pub(crate) struct Batch(Vec<*mut rd::rd_kafka_message_t>);

impl Batch {
    /// The messages, each valid while the batch lives.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &rd::rd_kafka_message_t> + Clone {
        // SAFETY: librdkafka returned these non-null pointers; they live until Drop.
        self.0.iter().map(|&m| unsafe { &*m })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        for &m in &self.0 {
            // SAFETY: each m came from rd_kafka_consume_batch_queue and is destroyed once, here.
            unsafe { rd::rd_kafka_message_destroy(m) };
        }
    }
}

/// Where a rebalance callback finds the queue to attach newly assigned partitions to: set
/// while the consumer owns a [`FetchQueue`], cleared before that queue goes.
#[derive(Debug, Default)]
pub(crate) struct Attach(Mutex<Option<std::sync::Arc<FetchQueue>>>);

impl Attach {
    pub(crate) fn set(&self, queue: Option<std::sync::Arc<FetchQueue>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = queue;
    }

    /// Attaches every partition of `list`.
    ///
    /// # Safety
    /// `rk` is the handle the queue was made on.
    pub(crate) unsafe fn attach_all(
        &self,
        rk: *mut rd::rd_kafka_t,
        list: &rdkafka::TopicPartitionList,
    ) {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(q) = guard.as_ref() {
            for e in list.elements() {
                // SAFETY: rk is the handle the queue was made on (the caller's contract).
                unsafe { q.attach(rk, e.topic(), e.partition()) };
            }
        }
    }
}

/// A message's topic name, as librdkafka keeps it.
///
/// # Safety
/// `m` is a live message.
pub(crate) unsafe fn topic_name(m: &rd::rd_kafka_message_t) -> &[u8] {
    if m.rkt.is_null() {
        return b"";
    }
    // SAFETY: m.rkt is non-null and live with m; librdkafka's names are NUL-terminated.
    unsafe { CStr::from_ptr(rd::rd_kafka_topic_name(m.rkt)) }.to_bytes()
}
