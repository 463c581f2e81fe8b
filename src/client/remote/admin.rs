//! Admin operations on a remote cluster.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};

use super::super::{
    Admin, GroupDescription, MemberDescription, OffsetSpec, PartitionDescription, PartitionResults,
    TopicDescription,
};
use super::{RemoteConfig, TIMEOUT, code_error, kafka_error};
use crate::error::{Error, Result};

/// Admin client over a remote cluster.
pub struct RemoteAdmin {
    config: RemoteConfig,
    admin: AdminClient<DefaultClientContext>,
    /// For metadata, watermarks and group listings, which librdkafka serves on any client.
    probe: BaseConsumer,
    runtime: tokio::runtime::Runtime,
}

impl RemoteAdmin {
    /// Connects to the cluster (lazily: the first call reaches it).
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let admin = config
            .client_config()
            .create()
            .map_err(|e| kafka_error("admin client", e))?;
        let probe = config
            .client_config()
            .create()
            .map_err(|e| kafka_error("client", e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Remote(format!("cannot start a runtime: {e}")))?;
        Ok(RemoteAdmin {
            config,
            admin,
            probe,
            runtime,
        })
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(TIMEOUT))
    }

    /// A consumer in `group` for reading and committing its offsets (never subscribes).
    fn group_client(&self, group: &str) -> Result<BaseConsumer> {
        let mut c = self.config.client_config();
        c.set("group.id", group).set("enable.auto.commit", "false");
        c.create().map_err(|e| kafka_error(group, e))
    }

    fn metadata(&self, topic: Option<&str>) -> Result<rdkafka::metadata::Metadata> {
        self.probe
            .fetch_metadata(topic, TIMEOUT)
            .map_err(|e| kafka_error(topic.unwrap_or("metadata"), e))
    }

    fn all_partitions(&self) -> Result<TopicPartitionList> {
        let md = self.metadata(None)?;
        let mut tpl = TopicPartitionList::new();
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
        Ok(tpl)
    }
}

/// The first per-name failure of an admin call (topics, partitions, groups), as our error.
fn first_failure(
    results: Vec<std::result::Result<String, (String, rdkafka::types::RDKafkaErrorCode)>>,
) -> Result<()> {
    match results.into_iter().find_map(|r| r.err()) {
        Some((name, code)) => Err(code_error(&name, code, &code.to_string())),
        None => Ok(()),
    }
}

/// Decodes a consumer-protocol assignment (what a classic group member was given).
fn decode_assignment(bytes: &[u8]) -> Vec<(String, i32)> {
    if bytes.len() < 2 {
        return Vec::new();
    }
    let mut buf = Bytes::copy_from_slice(&bytes[2..]);
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    match ConsumerProtocolAssignment::decode(&mut buf, version.clamp(0, 3)) {
        Ok(a) => a
            .assigned_partitions
            .iter()
            .flat_map(|tp| {
                tp.partitions
                    .iter()
                    .map(move |p| (tp.topic.0.to_string(), *p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl Admin for RemoteAdmin {
    fn list_topics(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .metadata(None)?
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .collect();
        names.sort();
        Ok(names)
    }

    fn describe_topics(&self, names: &[String]) -> Result<Vec<TopicDescription>> {
        let md = self.metadata(None)?;
        let mut out = Vec::new();
        for name in names {
            let t = md
                .topics()
                .iter()
                .find(|t| t.name() == name)
                .ok_or_else(|| Error::UnknownTopic(name.clone()))?;
            let configs = self
                .runtime
                .block_on(
                    self.admin
                        .describe_configs([&ResourceSpecifier::Topic(name)], &self.options()),
                )
                .map_err(|e| kafka_error(name, e))?
                .into_iter()
                .filter_map(|r| r.ok())
                .flat_map(|r| r.entries)
                .filter(|e| matches!(e.source, ConfigSource::DynamicTopic))
                .filter_map(|e| e.value.map(|v| (e.name, v)))
                .collect();
            let mut partitions: Vec<PartitionDescription> = t
                .partitions()
                .iter()
                .map(|p| PartitionDescription {
                    partition: p.id(),
                    leader: p.leader(),
                    replicas: p.replicas().to_vec(),
                    isr: p.isr().to_vec(),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            out.push(TopicDescription {
                name: name.clone(),
                // librdkafka's metadata does not carry topic ids.
                topic_id: String::new(),
                internal: crate::engine::topic::is_internal(name),
                replication_factor: partitions.first().map_or(0, |p| p.replicas.len() as i32),
                configs,
                partitions,
            });
        }
        Ok(out)
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        configs: BTreeMap<String, String>,
    ) -> Result<()> {
        let mut topic = NewTopic::new(
            name,
            partitions.unwrap_or(-1),
            TopicReplication::Fixed(replication_factor.map_or(-1, i32::from)),
        );
        for (k, v) in &configs {
            topic = topic.set(k, v);
        }
        let results = self
            .runtime
            .block_on(self.admin.create_topics([&topic], &self.options()))
            .map_err(|e| kafka_error(name, e))?;
        first_failure(results)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let results = self
            .runtime
            .block_on(self.admin.delete_topics(&[name], &self.options()))
            .map_err(|e| kafka_error(name, e))?;
        first_failure(results)
    }

    fn create_partitions(&self, name: &str, count: i32) -> Result<()> {
        let np = NewPartitions::new(name, count.max(0) as usize);
        let results = self
            .runtime
            .block_on(self.admin.create_partitions([&np], &self.options()))
            .map_err(|e| kafka_error(name, e))?;
        first_failure(results)
    }

    fn list_offset(&self, topic: &str, partition: i32, spec: OffsetSpec) -> Result<i64> {
        match spec {
            OffsetSpec::Earliest | OffsetSpec::Latest => {
                let (low, high) = self
                    .probe
                    .fetch_watermarks(topic, partition, TIMEOUT)
                    .map_err(|e| kafka_error(topic, e))?;
                Ok(if spec == OffsetSpec::Earliest {
                    low
                } else {
                    high
                })
            }
            OffsetSpec::Timestamp(ts) => {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(topic, partition, Offset::Offset(ts))
                    .map_err(|e| kafka_error(topic, e))?;
                let found = self
                    .probe
                    .offsets_for_times(tpl, TIMEOUT)
                    .map_err(|e| kafka_error(topic, e))?;
                match found.find_partition(topic, partition).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => Ok(o),
                    _ => self.list_offset(topic, partition, OffsetSpec::Latest),
                }
            }
        }
    }

    fn list_groups(&self) -> Result<Vec<(String, String)>> {
        let list = self
            .probe
            .fetch_group_list(None, TIMEOUT)
            .map_err(|e| kafka_error("groups", e))?;
        let mut out: Vec<(String, String)> = list
            .groups()
            .iter()
            .map(|g| (g.name().to_string(), g.state().to_string()))
            .collect();
        out.sort();
        Ok(out)
    }

    fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let list = self
            .probe
            .fetch_group_list(Some(group), TIMEOUT)
            .map_err(|e| kafka_error(group, e))?;
        let g = list
            .groups()
            .first()
            .ok_or_else(|| Error::GroupNotFound(group.to_string()))?;
        let members = g
            .members()
            .iter()
            .map(|m| MemberDescription {
                member_id: m.id().to_string(),
                client_id: m.client_id().to_string(),
                host: m.client_host().to_string(),
                assignment: m.assignment().map(decode_assignment).unwrap_or_default(),
            })
            .collect();
        Ok(GroupDescription {
            group: group.to_string(),
            state: g.state().to_string(),
            assignment_strategy: g.protocol().to_string(),
            coordinator: String::new(),
            members,
        })
    }

    fn group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>> {
        let client = self.group_client(group)?;
        let committed = client
            .committed_offsets(self.all_partitions()?, TIMEOUT)
            .map_err(|e| kafka_error(group, e))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<(String, i32), i64>,
    ) -> Result<()> {
        let desc = self.describe_group(group)?;
        if !desc.members.is_empty() {
            return Err(Error::group_not_inactive(group, &desc.state));
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in offsets {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o))
                .map_err(|e| kafka_error(t, e))?;
        }
        let client = self.group_client(group)?;
        client
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| kafka_error(group, e))
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        let results = self
            .runtime
            .block_on(self.admin.delete_groups(&[group], &self.options()))
            .map_err(|e| kafka_error(group, e))?;
        first_failure(results)
    }

    fn delete_group_offsets(
        &self,
        group: &str,
        _partitions: &[(String, i32)],
    ) -> Result<PartitionResults> {
        Err(Error::Remote(format!(
            "deleting offsets of group '{group}' is not supported against a remote cluster yet"
        )))
    }
}
