//! Where each partition stops for `console-consumer --exit-at-end` and `--to-time`: the end a
//! partition had when the consumer first saw it (or the first offset after `--to-time`), and
//! whether the consumer has reached it.
//!
//! Ends are looked up lazily, as partitions are assigned, so the same rule serves `--topic`,
//! `--include` and a group's share of a topic. A partition counts as done when the consumer's
//! position is at its end, when a record at or past `end - 1` was returned, or when it could
//! not have anything to return (an empty range, or a group that starts at the end).

use std::collections::{BTreeMap, BTreeSet};

use crate::client::{Admin, Consumer, OffsetReset, OffsetSpec};

type Tp = (String, i32);

/// The per-partition ends and progress of one consumer.
pub struct PartitionEnds {
    /// `--to-time` in ms: the end is the first offset after it instead of the log end.
    to_time: Option<i64>,
    /// The group whose committed offsets say where a partition starts, if any.
    group: Option<String>,
    /// Where partitions without a committed offset start.
    reset: OffsetReset,
    /// Explicit start offsets (`--partition --offset`, `--from-time`, `--tail`).
    starts: BTreeMap<Tp, i64>,
    ends: BTreeMap<Tp, i64>,
    done: BTreeSet<Tp>,
    committed: Option<BTreeMap<(String, i32), i64>>,
}

impl PartitionEnds {
    /// Ends at the log end (`to_time` None) or at the first record after `to_time`.
    pub fn new(
        to_time: Option<i64>,
        group: Option<String>,
        reset: OffsetReset,
        starts: BTreeMap<Tp, i64>,
    ) -> Self {
        PartitionEnds {
            to_time,
            group,
            reset,
            starts,
            ends: BTreeMap::new(),
            done: BTreeSet::new(),
            committed: None,
        }
    }

    /// Notes a returned record; true if it lies before its partition's end (print it).
    pub fn admit(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        let tp = (topic.to_string(), partition);
        match self.ends.get(&tp) {
            Some(&end) => {
                if offset + 1 >= end {
                    self.done.insert(tp);
                }
                offset < end
            }
            // Not seen yet by update(): its end is looked up on the next round.
            None => true,
        }
    }

    /// Looks up ends of newly assigned partitions and marks the ones reached; true once every
    /// assigned partition is done (and at least one is assigned).
    pub fn update(&mut self, consumer: &dyn Consumer, admin: &dyn Admin) -> anyhow::Result<bool> {
        let positions = consumer.positions()?;
        if positions.is_empty() {
            return Ok(false);
        }
        for (topic, partition, at) in &positions {
            let tp = (topic.clone(), *partition);
            if !self.ends.contains_key(&tp) {
                let end = self.lookup_end(admin, topic, *partition)?;
                self.ends.insert(tp.clone(), end);
                if self.starts_at_or_after(admin, &tp, end)? {
                    self.done.insert(tp.clone());
                }
            }
            if let (Some(at), Some(&end)) = (at, self.ends.get(&tp))
                && *at >= end
            {
                self.done.insert(tp);
            }
        }
        Ok(positions
            .iter()
            .all(|(t, p, _)| self.done.contains(&(t.clone(), *p))))
    }

    fn lookup_end(&self, admin: &dyn Admin, topic: &str, partition: i32) -> anyhow::Result<i64> {
        let latest = admin.list_offset(topic, partition, OffsetSpec::Latest)?;
        Ok(match self.to_time {
            // The first offset after to_time, or the log end when none is.
            Some(t) => match admin.list_offset(topic, partition, OffsetSpec::Timestamp(t + 1))? {
                o if o < 0 => latest,
                o => o.min(latest),
            },
            None => latest,
        })
    }

    /// True when the partition has nothing before `end` for this consumer to return.
    fn starts_at_or_after(&mut self, admin: &dyn Admin, tp: &Tp, end: i64) -> anyhow::Result<bool> {
        let earliest = admin.list_offset(&tp.0, tp.1, OffsetSpec::Earliest)?;
        if earliest >= end {
            return Ok(true);
        }
        if let Some(&start) = self.starts.get(tp) {
            return Ok(start >= end);
        }
        let committed = match &self.group {
            Some(g) => {
                if self.committed.is_none() {
                    self.committed = Some(admin.group_offsets(g)?);
                }
                self.committed.as_ref().and_then(|c| c.get(tp).copied())
            }
            None => None,
        };
        Ok(match committed {
            Some(c) => c >= end,
            None => self.reset == OffsetReset::Latest,
        })
    }
}
