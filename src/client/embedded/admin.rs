//! Admin operations on a data dir.

use std::collections::BTreeMap;

use super::super::{
    Admin, GroupDescription, MemberDescription, OffsetSpec, PartitionDescription, PartitionResults,
    PartitionSizes, TopicDescription,
};
use crate::engine::group::range_assign;
use crate::engine::{Engine, GroupState, Subscription};
use crate::error::{Error, Result};
use crate::log::Mode;

/// The embedded node's broker id in descriptions.
pub const NODE_ID: i32 = 1;

/// The state listed for a group whose files cannot be read (Kafka's `GroupState.UNKNOWN`).
pub const UNKNOWN_STATE: &str = "Unknown";

/// Admin client over an embedded data dir.
#[derive(Debug, Clone)]
pub struct EmbeddedAdmin {
    engine: Engine,
}

impl EmbeddedAdmin {
    /// Admin over `engine`.
    pub fn new(engine: Engine) -> Self {
        EmbeddedAdmin { engine }
    }

    /// Partition counts of the topics a subscription covers.
    pub(crate) fn subscribed_topics(
        engine: &Engine,
        sub: &Subscription,
    ) -> Result<BTreeMap<String, i32>> {
        let mut out = BTreeMap::new();
        match sub {
            Subscription::Topics(names) => {
                for name in names {
                    if let Ok(t) = engine.topic(name) {
                        out.insert(t.name, t.partitions);
                    }
                }
            }
            Subscription::Pattern(p) => {
                let re = regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    Error::InvalidRequest(format!("invalid --include pattern '{p}': {e}"))
                })?;
                for name in engine.list_topics()? {
                    if re.is_match(&name)
                        && !crate::engine::topic::is_internal(&name)
                        && let Ok(t) = engine.topic(&name)
                    {
                        out.insert(t.name, t.partitions);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Whether a member's subscription covers a topic.
pub(crate) fn subscribes(sub: &Subscription, topic: &str) -> bool {
    match sub {
        Subscription::Topics(names) => names.iter().any(|n| n == topic),
        Subscription::Pattern(p) => regex::Regex::new(&format!("^(?:{p})$"))
            .map(|re| re.is_match(topic))
            .unwrap_or(false),
    }
}

impl Admin for EmbeddedAdmin {
    fn list_topics(&self) -> Result<Vec<String>> {
        self.engine.list_topics()
    }

    fn describe_topics(&self, names: &[String]) -> Result<Vec<TopicDescription>> {
        names
            .iter()
            .map(|name| {
                let t = self.engine.topic(name)?;
                Ok(TopicDescription {
                    internal: t.is_internal(),
                    topic_id: t.topic_id_string(),
                    replication_factor: 1,
                    configs: t.configs.clone(),
                    partitions: (0..t.partitions)
                        .map(|p| PartitionDescription {
                            partition: p,
                            leader: NODE_ID,
                            replicas: vec![NODE_ID],
                            isr: vec![NODE_ID],
                        })
                        .collect(),
                    name: t.name,
                })
            })
            .collect()
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        configs: BTreeMap<String, String>,
    ) -> Result<()> {
        // What an interrupted creation (Ctrl-C, kill, a crash) left behind goes first, so no
        // half-made topic's directories outlive it; a failed one removes its own.
        if let Err(e) = self.engine.remove_orphans() {
            tracing::warn!(error = %e, "cannot remove what an interrupted creation left");
        }
        self.engine
            .create_topic(name, partitions, replication_factor, configs)
            .map(|_| ())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        self.engine.delete_topic(name)
    }

    fn create_partitions(&self, name: &str, count: i32) -> Result<()> {
        self.engine.create_partitions(name, count).map(|_| ())
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<()> {
        // Every name checked before anything is written (the engine checks only the values
        // it sets), so a bad --delete-config leaves the --config ones undone too.
        for k in delete {
            crate::log::config::validate_name(k)?;
        }
        for (k, v) in set {
            crate::log::config::validate_entry(k, v)?;
        }
        self.engine
            .alter_topic_configs(name, set, delete)
            .map(|_| ())
    }

    fn partition_sizes(&self, names: &[String]) -> Result<Option<PartitionSizes>> {
        let mut sizes = PartitionSizes::new();
        for name in names {
            let meta = match self.engine.topic(name) {
                Ok(meta) => meta,
                Err(Error::UnknownTopic(_)) => continue,
                Err(e) => return Err(e),
            };
            for p in 0..meta.partitions {
                sizes.insert(
                    (meta.name.clone(), p),
                    self.engine.partition_size(&meta, p)?,
                );
            }
        }
        Ok(Some(sizes))
    }

    fn list_offset(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64> {
        let meta = self.engine.topic(topic)?;
        let log = self.engine.open_partition(&meta, partition, Mode::Read)?;
        let state = log.state()?;
        Ok(match spec {
            OffsetSpec::Earliest => state.log_start_offset,
            OffsetSpec::Latest => state.log_end_offset,
            OffsetSpec::Timestamp(ts) => log
                .offset_for_timestamp(ts)?
                .unwrap_or(state.log_end_offset),
        })
    }

    fn list_groups(&self) -> Result<Vec<(String, String)>> {
        let groups = self.engine.groups();
        groups
            .list()?
            .into_iter()
            .map(|g| {
                // Kafka's `Unknown` for a group whose files cannot be read: the others are
                // still listed, and describing this one names the damage.
                let state = groups
                    .state(&g)
                    .map_or(UNKNOWN_STATE, |s| s.as_str())
                    .to_string();
                Ok((g, state))
            })
            .collect()
    }

    fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let groups = self.engine.groups();
        let members = groups.live_members(group)?;
        let state = groups.state(group)?;
        let mut topics = BTreeMap::new();
        for m in &members {
            topics.extend(Self::subscribed_topics(&self.engine, &m.subscription)?);
        }
        let mut assignment = range_assign(&members, &topics, |m, t| subscribes(&m.subscription, t));
        Ok(GroupDescription {
            group: group.to_string(),
            state: state.as_str().to_string(),
            assignment_strategy: if state == GroupState::Stable {
                "range"
            } else {
                ""
            }
            .to_string(),
            coordinator: format!("embedded  ({NODE_ID})"),
            members: members
                .into_iter()
                .map(|m| MemberDescription {
                    assignment: assignment.remove(&m.member_id).unwrap_or_default(),
                    member_id: m.member_id,
                    client_id: m.client_id,
                    host: m.host,
                })
                .collect(),
        })
    }

    fn group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>> {
        Ok(self
            .engine
            .groups()
            .committed(group)?
            .into_iter()
            .map(|(k, v)| (k, v.offset))
            .collect())
    }

    fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> Result<()> {
        let groups = self.engine.groups();
        let state = groups.state(group)?;
        if state == GroupState::Stable {
            return Err(Error::group_not_inactive(group, state.as_str()));
        }
        // One atomic write for the whole reset: all of it happens or none (and thousands of
        // partitions cost one write, not one each).
        let commits: Vec<_> = offsets
            .iter()
            .map(|(tp, o)| (tp.clone(), crate::engine::group::CommittedOffset::now(*o)))
            .collect();
        groups.commit_many(group, &commits, true)
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        self.engine.groups().delete(group)
    }

    fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<PartitionResults> {
        let groups = self.engine.groups();
        match groups.state(group)? {
            GroupState::Dead => return Err(Error::GroupNotFound(group.to_string())),
            GroupState::Stable => {
                let members = groups.live_members(group)?;
                let busy = |t: &str| members.iter().any(|m| subscribes(&m.subscription, t));
                if let Some((t, _)) = partitions.iter().find(|(t, _)| busy(t)) {
                    return Err(Error::NonEmptyGroup(format!(
                        "The group is actively subscribed to topic '{t}': offsets cannot be deleted while it is consumed."
                    )));
                }
            }
            GroupState::Empty => {}
        }
        Ok(partitions
            .iter()
            .map(|(t, p)| {
                let r = match self.engine.topic(t) {
                    Ok(meta) if *p < meta.partitions && *p >= 0 => {
                        groups.delete_offset(group, t, *p).map(|_| ())
                    }
                    Ok(_) => Err(Error::UnknownPartition {
                        topic: t.clone(),
                        partition: *p,
                    }),
                    Err(e) => Err(e),
                };
                ((t.clone(), *p), r)
            })
            .collect())
    }
}
