//! Admin operations on a remote cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, OwnedResourceSpecifier, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};

use super::super::{
    Admin, GroupDescription, MemberDescription, OffsetSpec, PartitionDescription, PartitionResults,
    PartitionSizes, TopicDescription,
};
use super::{RemoteConfig, TIMEOUT, Watched, code_error, kafka_error, metadata_watched, native};
use crate::error::{Error, Result};

/// Admin client over a remote cluster.
pub struct RemoteAdmin {
    config: RemoteConfig,
    /// Made on first use: listing topics or groups needs only the probe, and an admin client
    /// costs a thread and a connection of its own.
    admin: std::sync::OnceLock<AdminClient<DefaultClientContext>>,
    /// For metadata, watermarks and group listings, which librdkafka serves on any client.
    probe: BaseConsumer<Watched>,
    /// The cluster-wide metadata fetched to check the connection, for the first call that
    /// wants it (a second request would wait on a new connection to the broker it names).
    first_metadata: std::sync::Mutex<Option<rdkafka::metadata::Metadata>>,
    runtime: tokio::runtime::Runtime,
}

impl RemoteAdmin {
    /// Connects to the cluster (lazily: the first call reaches it).
    pub fn new(config: RemoteConfig) -> Result<Self> {
        let probe = config
            .client_config()
            .create_with_context(Watched::default())
            .map_err(|e| kafka_error("client", e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Remote(format!("cannot start a runtime: {e}")))?;
        let admin = RemoteAdmin {
            config,
            admin: std::sync::OnceLock::new(),
            probe,
            first_metadata: std::sync::Mutex::new(None),
            runtime,
        };
        // librdkafka's admin client never tells why it cannot reach a cluster (it waits out
        // the timeout); the probe's metadata does, within seconds.
        let md = admin.metadata(None)?;
        *admin
            .first_metadata
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(md);
        Ok(admin)
    }

    fn admin(&self) -> Result<&AdminClient<DefaultClientContext>> {
        if let Some(a) = self.admin.get() {
            return Ok(a);
        }
        let made = self
            .config
            .client_config()
            .create()
            .map_err(|e| kafka_error("admin client", e))?;
        Ok(self.admin.get_or_init(|| made))
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
        if topic.is_none()
            && let Some(md) = self
                .first_metadata
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
        {
            return Ok(md);
        }
        metadata_watched(
            self.probe.client(),
            &self.probe.context().watch,
            topic,
            &self.config.bootstrap_servers,
            || {
                // The probe never subscribes: polling only serves its callbacks.
                let _ = self.probe.poll(Duration::ZERO);
            },
        )
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
        let described = native::describe_topics(self.admin()?, TIMEOUT, names)?;
        let specifiers: Vec<ResourceSpecifier<'_>> = names
            .iter()
            .map(|n| ResourceSpecifier::Topic(n.as_str()))
            .collect();
        let mut configs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        if !specifiers.is_empty() {
            let results = self
                .runtime
                .block_on(self.admin()?.describe_configs(&specifiers, &self.options()))
                .map_err(|e| kafka_error(&names.join(", "), e))?;
            for r in results.into_iter().filter_map(|r| r.ok()) {
                let OwnedResourceSpecifier::Topic(name) = r.specifier else {
                    continue;
                };
                // Kafka's tool shows every entry that is not the default: topic overrides and
                // cluster-level settings (a KRaft broker reports min.insync.replicas so).
                configs.entry(name).or_default().extend(
                    r.entries
                        .into_iter()
                        .filter(|e| !e.is_default)
                        .filter_map(|e| e.value.map(|v| (e.name, v))),
                );
            }
        }
        let mut out = Vec::new();
        for name in names {
            let t = described
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| Error::UnknownTopic(name.clone()))?;
            let mut partitions: Vec<PartitionDescription> = t
                .partitions
                .iter()
                .map(|(partition, leader, replicas, isr)| PartitionDescription {
                    partition: *partition,
                    leader: *leader,
                    replicas: replicas.clone(),
                    isr: isr.clone(),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            out.push(TopicDescription {
                name: name.clone(),
                topic_id: t.id.clone(),
                internal: t.internal || crate::engine::topic::is_internal(name),
                replication_factor: partitions.first().map_or(0, |p| p.replicas.len() as i32),
                configs: configs.remove(name).unwrap_or_default(),
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
        let configs: Vec<(String, String)> = configs.into_iter().collect();
        native::create_topic(
            self.admin()?,
            TIMEOUT,
            name,
            partitions.unwrap_or(-1),
            replication_factor.map_or(-1, i32::from),
            &configs,
        )
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        native::delete_topic(self.admin()?, TIMEOUT, name)
    }

    fn create_partitions(&self, name: &str, count: i32) -> Result<()> {
        native::create_partitions(self.admin()?, TIMEOUT, name, count.max(0) as usize)
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<()> {
        let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        native::alter_topic_configs(self.admin()?, TIMEOUT, name, &set, delete)
    }

    /// librdkafka (2.12) has no DescribeLogDirs, so a remote cluster's sizes are unknown.
    fn partition_sizes(&self, _names: &[String]) -> Result<Option<PartitionSizes>> {
        Ok(None)
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
        let g = native::describe_group(self.admin()?, TIMEOUT, group)?;
        Ok(GroupDescription {
            group: group.to_string(),
            state: g.state,
            assignment_strategy: g.assignor,
            // Kafka's layout: `host:port  (id)`, two spaces.
            coordinator: g
                .coordinator
                .map(|(host, port, id)| format!("{host}:{port}  ({id})"))
                .unwrap_or_default(),
            members: g
                .members
                .into_iter()
                .map(|m| MemberDescription {
                    member_id: m.consumer_id,
                    client_id: m.client_id,
                    host: m.host,
                    assignment: m.assignment,
                })
                .collect(),
        })
    }

    fn group_offsets(&self, group: &str) -> Result<BTreeMap<(String, i32), i64>> {
        Ok(native::group_offsets(self.admin()?, TIMEOUT, group)?
            .into_iter()
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
            .block_on(self.admin()?.delete_groups(&[group], &self.options()))
            .map_err(|e| kafka_error(group, e))?;
        first_failure(results)
    }

    fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<PartitionResults> {
        Ok(
            native::delete_group_offsets(self.admin()?, TIMEOUT, group, partitions)?
                .into_iter()
                .map(|((t, p), failure)| {
                    let r = match failure {
                        None => Ok(()),
                        // The row names the partition; the status is the broker's word.
                        Some(f) => Err(Error::Remote(f.message)),
                    };
                    ((t, p), r)
                })
                .collect(),
        )
    }
}
