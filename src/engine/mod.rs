//! A data dir: topics and their partition logs, and consumer groups.
//!
//! ```text
//! <data-dir>/
//!   meta.properties                  cluster.id, node.id (as Kafka writes them)
//!   <topic>-<partition>/             a partition log, in Kafka's format (see `log`)
//!   .streamlog/metadata.lock         serializes topic creation, deletion and changes
//!   .streamlog/topics/<topic>.json   topic id, partition count, config overrides
//!   .streamlog/groups/<group>/       committed offsets and live members (see `group`)
//! ```
//!
//! Every tool process opens the data dir directly; file locks make that safe.

pub mod fsutil;
pub mod group;
pub mod topic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::{Error, IoContext, Result};
use crate::log::unified::now_ms;
use crate::log::{LogConfig, Mode, UnifiedLog};
pub use group::{CommittedOffset, GroupState, Groups, MemberInfo, Membership, Subscription};
pub use topic::TopicMetadata;

/// Broker-level defaults that apply to the embedded engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Create a topic on first produce or subscribe (`auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Partitions of an auto-created or unspecified topic (`num.partitions`).
    pub num_partitions: i32,
    /// Broker-wide log settings under the topics' own overrides (`log.segment.bytes` as
    /// `segment.bytes`, ...).
    pub log_defaults: BTreeMap<String, String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            auto_create_topics: true,
            num_partitions: 1,
            log_defaults: BTreeMap::new(),
        }
    }
}

/// Every topic's metadata, held in memory by the data dir's single owner.
type TopicCache = Arc<RwLock<BTreeMap<String, TopicMetadata>>>;

/// An open data dir.
#[derive(Debug, Clone)]
pub struct Engine {
    data_dir: PathBuf,
    meta: PathBuf,
    config: EngineConfig,
    groups: Groups,
    /// Set once the engine owns the data dir alone (see [`Engine::into_exclusive`]).
    topics: Option<TopicCache>,
}

fn data_dir_error(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::DataDir(format!(
        "Cannot use data dir {}: {e}. Pass a writable directory with --data-dir or STREAMLOG_DATA_DIR.",
        dir.display()
    ))
}

impl Engine {
    /// Opens `data_dir`, creating it on first use.
    ///
    /// # Errors
    /// `DataDir` when it is not a usable directory.
    pub fn open(data_dir: &Path, config: EngineConfig) -> Result<Engine> {
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(data_dir_error(data_dir, "it is not a directory"));
        }
        let meta = data_dir.join(".streamlog");
        for d in [meta.join("topics"), meta.join("groups")] {
            std::fs::create_dir_all(&d).map_err(|e| data_dir_error(data_dir, e))?;
        }
        std::fs::read_dir(data_dir).map_err(|e| data_dir_error(data_dir, e))?;
        let props = data_dir.join("meta.properties");
        if !props.exists() {
            let cluster = fsutil::kafka_uuid_string(&uuid::Uuid::new_v4());
            let dir_id = fsutil::kafka_uuid_string(&uuid::Uuid::new_v4());
            let text = format!(
                "#Written by streamlog\nversion=1\ncluster.id={cluster}\nnode.id=0\ndirectory.id={dir_id}\n"
            );
            fsutil::write_atomic(&props, text.as_bytes())
                .map_err(|e| data_dir_error(data_dir, e))?;
        }
        Ok(Engine {
            data_dir: data_dir.to_path_buf(),
            groups: Groups::new(meta.join("groups")),
            meta,
            config,
            topics: None,
        })
    }

    /// This engine is the data dir's only user from now on (`server-start` holds the server
    /// lock, so the tools go through it): topic metadata is read once and then served from
    /// memory, kept current by this engine's own changes. Produce and Fetch would otherwise
    /// read a topic file per request.
    pub fn into_exclusive(mut self) -> Result<Engine> {
        let mut all = BTreeMap::new();
        for name in self.list_topics()? {
            match self.topic(&name) {
                Ok(meta) => {
                    all.insert(name, meta);
                }
                Err(e) => tracing::warn!(topic = %name, error = %e, "skipping unreadable topic"),
            }
        }
        self.topics = Some(Arc::new(RwLock::new(all)));
        Ok(self)
    }

    fn cached<T>(&self, f: impl FnOnce(&BTreeMap<String, TopicMetadata>) -> T) -> Option<T> {
        let cache = self.topics.as_ref()?;
        let map = cache.read().unwrap_or_else(|e| e.into_inner());
        Some(f(&map))
    }

    fn update_cache(&self, f: impl FnOnce(&mut BTreeMap<String, TopicMetadata>)) {
        if let Some(cache) = &self.topics {
            f(&mut cache.write().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// A topic by its id.
    pub fn topic_by_id(&self, id: uuid::Uuid) -> Result<Option<TopicMetadata>> {
        if let Some(found) = self.cached(|m| m.values().find(|t| t.topic_id == id).cloned()) {
            return Ok(found);
        }
        for name in self.list_topics()? {
            if let Ok(t) = self.topic(&name)
                && t.topic_id == id
            {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The data dir's path.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Engine-wide settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The consumer groups of this data dir.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }

    /// The cluster id from `meta.properties`.
    pub fn cluster_id(&self) -> Result<String> {
        let props = self.data_dir.join("meta.properties");
        let text = std::fs::read_to_string(&props).at(&props)?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("cluster.id="))
            .unwrap_or("")
            .trim()
            .to_string())
    }

    fn topic_file(&self, name: &str) -> PathBuf {
        self.meta.join("topics").join(format!("{name}.json"))
    }

    fn partition_dir(&self, topic: &str, partition: i32) -> PathBuf {
        self.data_dir.join(format!("{topic}-{partition}"))
    }

    fn metadata_lock(&self) -> Result<std::fs::File> {
        let path = self.meta.join("metadata.lock");
        let f = fsutil::lock_file(&path)?;
        f.lock().at(&path)?;
        Ok(f)
    }

    /// Names of every topic, sorted.
    pub fn list_topics(&self) -> Result<Vec<String>> {
        if let Some(names) = self.cached(|m| m.keys().cloned().collect()) {
            return Ok(names);
        }
        let dir = self.meta.join("topics");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).at(&dir)? {
            let entry = entry.at(&dir)?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                && !name.starts_with('.')
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// A topic's metadata.
    ///
    /// # Errors
    /// `UnknownTopic` if it does not exist.
    pub fn topic(&self, name: &str) -> Result<TopicMetadata> {
        topic::validate_name(name)?;
        if let Some(found) = self.cached(|m| m.get(name).cloned()) {
            return found.ok_or_else(|| Error::UnknownTopic(name.to_string()));
        }
        let path = self.topic_file(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::DataDir(format!("{} is damaged: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::UnknownTopic(name.to_string()))
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// A topic's metadata, creating the topic with default settings if it does not exist and
    /// `auto.create.topics.enable` is on.
    pub fn topic_or_create(&self, name: &str) -> Result<TopicMetadata> {
        match self.topic(name) {
            Err(Error::UnknownTopic(_)) if self.config.auto_create_topics => {
                match self.create_topic(name, None, None, BTreeMap::new()) {
                    Ok(t) => Ok(t),
                    Err(Error::TopicExists(_)) => self.topic(name),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// Creates a topic: its partition directories first, then the metadata file, whose atomic
    /// appearance is the moment the topic exists.
    ///
    /// # Errors
    /// `InvalidTopic`, `TopicExists`, `InvalidPartitions`, `InvalidReplicationFactor`,
    /// `InvalidConfig`.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        configs: BTreeMap<String, String>,
    ) -> Result<TopicMetadata> {
        topic::validate_name(name)?;
        let partitions = partitions.unwrap_or(self.config.num_partitions);
        if partitions <= 0 {
            return Err(Error::InvalidPartitions(
                "The partitions must be greater than 0".to_string(),
            ));
        }
        match replication_factor {
            Some(rf) if rf < 1 => {
                return Err(Error::InvalidReplicationFactor(
                    "The replication factor must be between 1 and 32767 inclusive".to_string(),
                ));
            }
            Some(rf) if rf > 1 => {
                return Err(Error::InvalidReplicationFactor(format!(
                    "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only 1 broker(s) are registered or some brokers have all their log directories cordoned."
                )));
            }
            _ => {}
        }
        for (k, v) in &configs {
            crate::log::config::validate_entry(k, v)?;
        }
        let _lock = self.metadata_lock()?;
        if self.topic_file(name).exists() {
            return Err(Error::TopicExists(name.to_string()));
        }
        let meta = TopicMetadata {
            name: name.to_string(),
            topic_id: uuid::Uuid::new_v4(),
            partitions,
            configs,
            created_ms: now_ms(),
        };
        for p in 0..partitions {
            self.create_partition_dir(&meta, p)?;
        }
        self.write_topic(&meta)?;
        Ok(meta)
    }

    fn create_partition_dir(&self, meta: &TopicMetadata, p: i32) -> Result<()> {
        let dir = self.partition_dir(&meta.name, p);
        if dir.exists() {
            // Left over from a topic of the same name whose deletion was interrupted.
            std::fs::remove_dir_all(&dir).at(&dir)?;
        }
        UnifiedLog::create(&dir)?;
        let text = format!("version: 0\ntopic_id: {}\n", meta.topic_id_string());
        fsutil::write_atomic(&dir.join("partition.metadata"), text.as_bytes())
    }

    fn write_topic(&self, meta: &TopicMetadata) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(|e| Error::Codec(e.to_string()))?;
        fsutil::write_atomic(&self.topic_file(&meta.name), &bytes)?;
        self.update_cache(|m| {
            m.insert(meta.name.clone(), meta.clone());
        });
        Ok(())
    }

    /// Deletes a topic: the metadata file goes first (atomically), then the partition data and
    /// the offsets groups committed for it.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let _lock = self.metadata_lock()?;
        let meta = self.topic(name)?;
        let path = self.topic_file(name);
        std::fs::remove_file(&path).at(&path)?;
        self.update_cache(|m| {
            m.remove(name);
        });
        for p in 0..meta.partitions {
            let dir = self.partition_dir(name, p);
            // Kafka's delete-dir name, with the topic cut short so it fits in 255 bytes.
            let suffix = format!("-{p}.{}-delete", uuid::Uuid::new_v4().simple());
            let keep = name.len().min(255 - suffix.len());
            let doomed = self.data_dir.join(format!("{}{suffix}", &name[..keep]));
            if std::fs::rename(&dir, &doomed).is_ok() {
                std::fs::remove_dir_all(&doomed).at(&doomed)?;
            }
        }
        self.groups.forget_topic(name)
    }

    /// Raises a topic's partition count to `count`.
    ///
    /// # Errors
    /// `InvalidPartitions` unless `count` is larger than the current count.
    pub fn create_partitions(&self, name: &str, count: i32) -> Result<TopicMetadata> {
        let _lock = self.metadata_lock()?;
        let mut meta = self.topic(name)?;
        if count == meta.partitions {
            return Err(Error::InvalidPartitions(format!(
                "Topic already has {count} partition(s)."
            )));
        }
        if count < meta.partitions {
            return Err(Error::InvalidPartitions(format!(
                "The topic {name} currently has {} partition(s); {count} would not be an increase.",
                meta.partitions
            )));
        }
        for p in meta.partitions..count {
            self.create_partition_dir(&meta, p)?;
        }
        meta.partitions = count;
        self.write_topic(&meta)?;
        Ok(meta)
    }

    /// Sets and removes config overrides of a topic.
    pub fn alter_topic_configs(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        delete: &[String],
    ) -> Result<TopicMetadata> {
        for (k, v) in set {
            crate::log::config::validate_entry(k, v)?;
        }
        let _lock = self.metadata_lock()?;
        let mut meta = self.topic(name)?;
        for k in delete {
            meta.configs.remove(k);
        }
        meta.configs
            .extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.write_topic(&meta)?;
        Ok(meta)
    }

    /// The config a topic's partitions act on: its overrides over the engine's defaults.
    pub fn log_config(&self, meta: &TopicMetadata) -> LogConfig {
        if self.config.log_defaults.is_empty() {
            return LogConfig::from_overrides(&meta.configs);
        }
        let mut merged = self.config.log_defaults.clone();
        merged.extend(meta.configs.iter().map(|(k, v)| (k.clone(), v.clone())));
        LogConfig::from_overrides(&merged)
    }

    /// Opens one partition's log with the topic's config.
    pub fn open_partition(
        &self,
        meta: &TopicMetadata,
        partition: i32,
        mode: Mode,
    ) -> Result<UnifiedLog> {
        if partition < 0 || partition >= meta.partitions {
            return Err(Error::UnknownPartition {
                topic: meta.name.clone(),
                partition,
            });
        }
        UnifiedLog::open(
            self.partition_dir(&meta.name, partition),
            &meta.name,
            partition,
            self.log_config(meta),
            mode,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exclusive_engine_serves_its_own_topic_changes_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let before = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        before
            .create_topic("old", Some(1), None, BTreeMap::new())
            .unwrap();
        let e = Engine::open(dir.path(), EngineConfig::default())
            .unwrap()
            .into_exclusive()
            .unwrap();
        assert_eq!(e.list_topics().unwrap(), vec!["old".to_string()]);
        let t = e.create_topic("t", Some(2), None, BTreeMap::new()).unwrap();
        assert_eq!(e.topic_by_id(t.topic_id).unwrap(), Some(t.clone()));
        assert_eq!(e.create_partitions("t", 3).unwrap().partitions, 3);
        let set = BTreeMap::from([("retention.ms".to_string(), "1000".to_string())]);
        e.alter_topic_configs("t", &set, &[]).unwrap();
        let now = e.topic("t").unwrap();
        assert_eq!((now.partitions, now.configs.clone()), (3, set));
        // The memory agrees with the files a fresh reader sees.
        let fresh = Engine::open(dir.path(), EngineConfig::default()).unwrap();
        assert_eq!(fresh.topic("t").unwrap(), now);
        e.delete_topic("old").unwrap();
        assert!(matches!(e.topic("old"), Err(Error::UnknownTopic(_))));
        assert_eq!(e.list_topics().unwrap(), fresh.list_topics().unwrap());
        assert_eq!(
            e.topic_by_id(t.topic_id).unwrap().map(|t| t.partitions),
            Some(3)
        );
    }
}
