//! A consumer reading the data dir's partition logs, alone or as a member of a group shared
//! with other processes (see `engine::group` for how members coordinate through file locks).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::{Consumer, ConsumerConfig, ConsumerRecord, OffsetReset, StartOffset, Subscribe};
use super::admin::{EmbeddedAdmin, subscribes};
use crate::engine::Engine;
use crate::engine::group::{CommittedOffset, MemberInfo, Membership, Subscription, range_assign};
use crate::error::{Error, Result};
use crate::log::codec::{StoredRecord, decode_batches};
use crate::log::unified::now_ms;
use crate::log::{Mode, Position, UnifiedLog};

/// How often a group member checks for joined or departed members.
const GROUP_CHECK: Duration = Duration::from_millis(100);
/// How often a group-less subscription looks for new topics and partitions.
const METADATA_CHECK: Duration = Duration::from_millis(1000);
/// Longest sleep while waiting for new records (bounds how late a follower sees them).
const IDLE_SLEEP: Duration = Duration::from_millis(5);

type TopicPartition = (Arc<str>, i32);

struct Cursor {
    log: UnifiedLog,
    /// Where reading continues; None until the first read positions it.
    pos: Option<Position>,
    /// Next offset to return.
    next_offset: i64,
    /// Last offset committed for this partition.
    committed: Option<i64>,
}

/// Consumer over an embedded data dir.
pub struct EmbeddedConsumer {
    engine: Engine,
    config: ConsumerConfig,
    subscription: Option<Subscription>,
    member: Option<Membership>,
    cursors: BTreeMap<TopicPartition, Cursor>,
    last_check: Option<Instant>,
    round_robin: usize,
    /// Decoded records of one fetch; kept so its capacity is reused across fetches.
    scratch: Vec<StoredRecord>,
    /// How many records the last non-empty poll returned: the next poll's initial capacity.
    last_poll_len: usize,
    /// A damaged batch met after records were already taken in the same poll: those are
    /// returned first, and the next poll reports it.
    pending_error: Option<Error>,
}

impl EmbeddedConsumer {
    /// A consumer over `engine`.
    pub fn new(engine: Engine, config: ConsumerConfig) -> Self {
        EmbeddedConsumer {
            engine,
            config,
            subscription: None,
            member: None,
            cursors: BTreeMap::new(),
            last_check: None,
            round_robin: 0,
            scratch: Vec::new(),
            last_poll_len: 0,
            pending_error: None,
        }
    }

    /// The member id, when consuming in a group.
    pub fn member_id(&self) -> Option<&str> {
        self.member.as_ref().map(|m| m.info.member_id.as_str())
    }

    /// Partitions currently consumed.
    pub fn assignment(&self) -> Vec<(String, i32)> {
        self.cursors
            .keys()
            .map(|(t, p)| (t.to_string(), *p))
            .collect()
    }

    /// A cursor at `start`; `committed` is the group's commit for the partition, for
    /// [`StartOffset::Committed`] (read once for all partitions of a refresh).
    fn open(
        &self,
        topic: &str,
        partition: i32,
        start: StartOffset,
        committed: Option<&CommittedOffset>,
    ) -> Result<Cursor> {
        let meta = self.engine.topic(topic)?;
        let log = self.engine.open_partition(&meta, partition, Mode::Read)?;
        let state = log.state()?;
        let reset = |policy: OffsetReset| match policy {
            OffsetReset::Earliest => state.log_start_offset,
            OffsetReset::Latest => state.log_end_offset,
        };
        let mut last_commit = None;
        let offset = match start {
            StartOffset::Earliest => state.log_start_offset,
            StartOffset::Latest => state.log_end_offset,
            StartOffset::At(o) => o,
            StartOffset::Committed => match committed {
                Some(c) => {
                    last_commit = Some(c.offset);
                    c.offset
                }
                None => reset(self.config.offset_reset),
            },
        };
        let offset = if offset < state.log_start_offset || offset > state.log_end_offset {
            reset(self.config.offset_reset)
        } else {
            offset
        };
        Ok(Cursor {
            log,
            pos: None,
            next_offset: offset,
            committed: last_commit,
        })
    }

    fn refresh(&mut self) -> Result<()> {
        let Some(sub) = self.subscription.clone() else {
            return Ok(());
        };
        let every = if self.member.is_some() {
            GROUP_CHECK
        } else {
            METADATA_CHECK
        };
        if self.last_check.is_some_and(|t| t.elapsed() < every) {
            return Ok(());
        }
        self.last_check = Some(Instant::now());
        if let Subscription::Topics(names) = &sub {
            for name in names {
                // A subscribed topic is auto-created, as the Java consumer's metadata request does.
                self.engine.topic_or_create(name)?;
            }
        }
        let topics = EmbeddedAdmin::subscribed_topics(&self.engine, &sub)?;
        let Some(member) = self.member.as_ref() else {
            let start = match self.config.offset_reset {
                OffsetReset::Earliest => StartOffset::Earliest,
                OffsetReset::Latest => StartOffset::Latest,
            };
            for (topic, &count) in &topics {
                for p in 0..count {
                    let key: TopicPartition = (Arc::from(topic.as_str()), p);
                    if !self.cursors.contains_key(&key) {
                        let c = self.open(topic, p, start, None)?;
                        self.cursors.insert(key, c);
                    }
                }
            }
            return Ok(());
        };
        let group = self.config.group.clone().unwrap_or_default();
        let mut members = self.engine.groups().live_members(&group)?;
        if !members.iter().any(|m| m.member_id == member.info.member_id) {
            members.push(member.info.clone());
            members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        }
        let assignment = range_assign(&members, &topics, |m, t| subscribes(&m.subscription, t));
        let mine: Vec<(String, i32)> = assignment
            .get(&member.info.member_id)
            .cloned()
            .unwrap_or_default();
        // Revoke first: commit, then let go, so the next owner starts where we stopped.
        let revoked: Vec<TopicPartition> = self
            .cursors
            .keys()
            .filter(|(t, p)| !mine.iter().any(|(mt, mp)| mt == &**t && mp == p))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.commit_partitions(&revoked, false)?;
            let released: Vec<(String, i32)> =
                revoked.iter().map(|(t, p)| (t.to_string(), *p)).collect();
            if let Some(member) = self.member.as_mut() {
                member.release(&released)?;
            }
            for tp in &revoked {
                self.cursors.remove(tp);
            }
        }
        let wanted: Vec<(String, i32)> = mine
            .into_iter()
            .filter(|(t, p)| !self.cursors.contains_key(&(Arc::from(t.as_str()), *p)))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let Some(member) = self.member.as_mut() else {
            return Ok(());
        };
        // Those a departing member has not let go of yet are tried again at the next check.
        let got = member.claim(&wanted)?;
        if got.is_empty() {
            return Ok(());
        }
        let committed = self.engine.groups().committed(&group)?;
        for (topic, p) in got {
            let c = self.open(
                &topic,
                p,
                StartOffset::Committed,
                committed.get(&(topic.clone(), p)),
            )?;
            self.cursors.insert((Arc::from(topic.as_str()), p), c);
        }
        Ok(())
    }

    /// Commits the positions of `partitions` that moved since their last commit (all of them
    /// with `sync`, which makes the commit durable), in one write.
    fn commit_partitions(&mut self, partitions: &[TopicPartition], sync: bool) -> Result<()> {
        let Some(group) = self.config.group.clone() else {
            return Ok(());
        };
        let mut commits = Vec::new();
        for tp in partitions {
            if let Some(c) = self.cursors.get(tp)
                && (sync || c.committed != Some(c.next_offset))
            {
                commits.push((
                    (tp.0.to_string(), tp.1),
                    CommittedOffset::now(c.next_offset),
                ));
            }
        }
        if commits.is_empty() {
            return Ok(());
        }
        self.engine.groups().commit_many(&group, &commits, sync)?;
        for ((t, p), c) in commits {
            if let Some(cursor) = self.cursors.get_mut(&(Arc::from(t.as_str()), p)) {
                cursor.committed = Some(c.offset);
            }
        }
        Ok(())
    }

    fn fetch_once(&mut self, out: &mut Vec<ConsumerRecord>) -> Result<()> {
        let keys: Vec<TopicPartition> = self.cursors.keys().cloned().collect();
        if keys.is_empty() {
            return Ok(());
        }
        let n = keys.len();
        let start = self.round_robin % n;
        self.round_robin = self.round_robin.wrapping_add(1);
        let mut stored = std::mem::take(&mut self.scratch);
        for i in 0..n {
            if out.len() >= self.config.max_poll_records {
                break;
            }
            let key = &keys[(start + i) % n];
            let reset = self.config.offset_reset;
            let max_bytes = self.config.max_partition_fetch_bytes;
            let Some(c) = self.cursors.get_mut(key) else {
                continue;
            };
            let at = match c.pos {
                Some(p) => Ok(p),
                None => c.log.locate(c.next_offset),
            };
            let committed = self.config.read_committed;
            let fetched = at.and_then(|pos| {
                Ok((
                    pos,
                    c.log.read_isolated(pos, max_bytes, usize::MAX, committed)?,
                ))
            });
            // Retention may have removed the position: start again per auto.offset.reset.
            let data = match fetched {
                Ok((_, d)) => d,
                Err(Error::CorruptRecord {
                    path,
                    position,
                    reason,
                }) => {
                    let what = format!(
                        "corrupt record batch in {} at byte {position}: {reason} (topic {}, partition {}, offset {})",
                        path.display(),
                        key.0,
                        key.1,
                        c.next_offset
                    );
                    let skipped = if self.config.skip_corrupt {
                        c.pos
                            .map_or_else(|| c.log.locate(c.next_offset), Ok)
                            .and_then(|pos| c.log.skip_batch(pos))
                    } else {
                        Err(Error::CorruptRecord {
                            path,
                            position,
                            reason: format!(
                                "{reason} (topic {}, partition {}, offset {}); --skip-message-on-error skips the damaged batch",
                                key.0, key.1, c.next_offset
                            ),
                        })
                    };
                    match skipped {
                        Ok(after) => {
                            // As Kafka's console consumer reports a record it skips.
                            eprintln!(
                                "Error processing message, skipping this message: {what}; skipped offsets {} to {}",
                                c.next_offset,
                                after.offset - 1
                            );
                            c.next_offset = after.offset;
                            c.pos = Some(after);
                            continue;
                        }
                        Err(e) if out.is_empty() => {
                            self.scratch = stored;
                            return Err(e);
                        }
                        Err(e) => {
                            // Hand out what this poll already has; the next poll reports it.
                            self.pending_error = Some(e);
                            break;
                        }
                    }
                }
                Err(Error::OffsetOutOfRange {
                    log_start_offset,
                    log_end_offset,
                    ..
                }) => {
                    c.next_offset = match reset {
                        OffsetReset::Earliest => log_start_offset,
                        OffsetReset::Latest => log_end_offset,
                    };
                    c.pos = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if data.records.is_empty() {
                c.pos = Some(data.next);
                continue;
            }
            stored.clear();
            let mut bytes = data.records.into_bytes()?;
            if committed {
                let aborted = c
                    .log
                    .aborted_transactions(c.next_offset, data.next.offset)?;
                bytes = crate::log::txn_index::drop_aborted(bytes, &aborted);
            }
            decode_batches(bytes, &mut stored)?;
            let room = self.config.max_poll_records - out.len();
            let mut taken = 0;
            let mut last = None;
            for r in stored.drain(..) {
                if r.offset < c.next_offset {
                    continue;
                }
                if taken == room {
                    break;
                }
                taken += 1;
                last = Some(r.offset);
                out.push(ConsumerRecord {
                    topic: key.0.clone(),
                    partition: key.1,
                    offset: r.offset,
                    timestamp: r.timestamp,
                    log_append_time: r.log_append_time,
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                });
            }
            if taken == room && last.is_some_and(|o| o + 1 < data.next.offset) {
                // Stopped inside the read: find the batch of the next record again later.
                c.next_offset = last.map_or(c.next_offset, |o| o + 1);
                c.pos = None;
            } else {
                c.next_offset = data.next.offset;
                c.pos = Some(data.next);
            }
        }
        self.scratch = stored;
        Ok(())
    }
}

impl Consumer for EmbeddedConsumer {
    fn subscribe(&mut self, what: Subscribe) -> Result<()> {
        self.cursors.clear();
        self.member = None;
        match what {
            Subscribe::Assign(list) => {
                self.subscription = None;
                let committed = match self.config.group.as_deref() {
                    Some(g) if list.iter().any(|(_, _, s)| *s == StartOffset::Committed) => {
                        self.engine.groups().committed(g)?
                    }
                    _ => BTreeMap::new(),
                };
                for (topic, p, start) in list {
                    let c = self.open(&topic, p, start, committed.get(&(topic.clone(), p)))?;
                    self.cursors.insert((Arc::from(topic.as_str()), p), c);
                }
            }
            Subscribe::Topics(names) => {
                for n in &names {
                    crate::engine::topic::validate_name(n)?;
                }
                self.subscription = Some(Subscription::Topics(names));
            }
            Subscribe::Pattern(p) => {
                regex::Regex::new(&p).map_err(|e| {
                    Error::InvalidRequest(format!("invalid --include pattern '{p}': {e}"))
                })?;
                self.subscription = Some(Subscription::Pattern(p));
            }
        }
        if let (Some(group), Some(sub)) = (self.config.group.clone(), self.subscription.clone()) {
            let info = MemberInfo {
                member_id: format!("{}-{}", self.config.client_id, uuid::Uuid::new_v4()),
                client_id: self.config.client_id.clone(),
                host: "/127.0.0.1".to_string(),
                subscription: sub,
                joined_ms: now_ms(),
            };
            self.member = Some(self.engine.groups().join(&group, info)?);
        }
        self.last_check = None;
        self.refresh()
    }

    fn positions(&self) -> Result<Vec<(String, i32, Option<i64>)>> {
        Ok(self
            .cursors
            .iter()
            .map(|((t, p), c)| (t.to_string(), *p, Some(c.next_offset)))
            .collect())
    }

    fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(self.last_poll_len.min(self.config.max_poll_records));
        // Auto-commit: what the previous poll returned has been processed by now.
        self.commit()?;
        if let Some(e) = self.pending_error.take() {
            return Err(e);
        }
        loop {
            self.refresh()?;
            self.fetch_once(&mut out)?;
            if !out.is_empty() {
                self.last_poll_len = out.len();
                return Ok(out);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(out);
            }
            std::thread::sleep(IDLE_SLEEP.min(deadline - now));
        }
    }

    fn set_max_poll_records(&mut self, n: usize) {
        self.config.max_poll_records = n.max(1);
    }

    fn commit(&mut self) -> Result<()> {
        // After every poll: one write, left to the page cache (a killed process loses nothing;
        // a crashed machine may redeliver a little, as Kafka's own commits allow).
        let keys: Vec<TopicPartition> = self.cursors.keys().cloned().collect();
        self.commit_partitions(&keys, false)
    }

    fn close(&mut self) -> Result<()> {
        let keys: Vec<TopicPartition> = self.cursors.keys().cloned().collect();
        let result = self.commit_partitions(&keys, true);
        self.cursors.clear();
        self.member = None;
        result
    }
}

impl Drop for EmbeddedConsumer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
