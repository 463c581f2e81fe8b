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

pub mod data_dir;
pub mod fsutil;
pub mod group;
pub mod server_lock;
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
    /// Most partitions one creation may make (`max.partitions.per.request`): a bound on the
    /// work and disk one request can cause.
    pub max_partitions_per_request: i32,
}

/// Default of [`EngineConfig::max_partitions_per_request`]: Kafka's controller refuses an
/// operation of more than 10,000 metadata records the same way.
pub const DEFAULT_MAX_PARTITIONS_PER_REQUEST: i32 = 10_000;

/// Kafka's refusal of an oversized controller operation, with our reason after it.
pub fn too_many_partitions(requested: i64, max: i32) -> Error {
    Error::PolicyViolation(format!(
        "Unable to perform excessively large batch operation. The request would create {requested} partitions; max.partitions.per.request is {max}."
    ))
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            auto_create_topics: true,
            num_partitions: 1,
            log_defaults: BTreeMap::new(),
            max_partitions_per_request: DEFAULT_MAX_PARTITIONS_PER_REQUEST,
        }
    }
}

/// A topic to create (see [`Engine::create_topics`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Its name.
    pub name: String,
    /// Partitions; the engine's `num.partitions` if None.
    pub partitions: Option<i32>,
    /// Replication factor, if given (only 1 can be satisfied).
    pub replication_factor: Option<i16>,
    /// Config overrides.
    pub configs: BTreeMap<String, String>,
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
        self.list_topics_from_files()
    }

    fn list_topics_from_files(&self) -> Result<Vec<String>> {
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
        self.read_topic_file(name)
    }

    fn read_topic_file(&self, name: &str) -> Result<TopicMetadata> {
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
    /// appearance is the moment the topic exists. A creation that fails or is killed halfway
    /// leaves no directory behind: what it made is removed on failure, and on the next start
    /// (see [`Engine::remove_orphans`]) after a crash.
    ///
    /// # Errors
    /// `InvalidTopic`, `TopicExists`, `InvalidPartitions`, `InvalidReplicationFactor`,
    /// `InvalidConfig`, `PolicyViolation` past `max.partitions.per.request`.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: Option<i32>,
        replication_factor: Option<i16>,
        configs: BTreeMap<String, String>,
    ) -> Result<TopicMetadata> {
        let spec = NewTopic {
            name: name.to_string(),
            partitions,
            replication_factor,
            configs,
        };
        self.create_topics(std::slice::from_ref(&spec))
            .pop()
            .unwrap_or_else(|| Err(Error::InvalidRequest("nothing to create".into())))
    }

    /// Creates several topics, each as [`Engine::create_topic`] does, with one sync of the file
    /// system for all of them instead of two fsyncs each (a CreateTopics request of thousands of
    /// topics). Returns one result per spec, in order.
    pub fn create_topics(&self, specs: &[NewTopic]) -> Vec<Result<TopicMetadata>> {
        let mut results: Vec<Result<TopicMetadata>> =
            specs.iter().map(|s| self.check_new_topic(s)).collect();
        if results.iter().all(|r| r.is_err()) {
            return results;
        }
        let _lock = match self.metadata_lock() {
            Ok(l) => l,
            Err(e) => {
                let msg = e.to_string();
                return specs
                    .iter()
                    .map(|_| Err(Error::DataDir(msg.clone())))
                    .collect();
            }
        };
        // Every partition directory of the request first, then one sync of the file system, so
        // no topic's metadata can survive a crash without its partitions.
        let mut made: Vec<usize> = Vec::new();
        for (i, (spec, result)) in specs.iter().zip(results.iter_mut()).enumerate() {
            let Ok(meta) = result.as_ref() else { continue };
            let meta = meta.clone();
            if self.topic_file(&spec.name).exists() {
                *result = Err(Error::TopicExists(spec.name.clone()));
                continue;
            }
            if let Err(e) = self.create_partition_dirs(&meta, 0..meta.partitions) {
                *result = Err(e);
                continue;
            }
            made.push(i);
        }
        if made.is_empty() {
            return results;
        }
        let undo = |results: &mut Vec<Result<TopicMetadata>>, i: usize, e: Error| {
            if let Ok(meta) = &results[i] {
                self.remove_partition_dirs(&meta.name, 0..meta.partitions);
            }
            results[i] = Err(e);
        };
        if let Err(e) = crate::log::atomic_file::sync_file_system(&self.data_dir) {
            for &i in &made {
                undo(&mut results, i, Error::DataDir(e.to_string()));
            }
            return results;
        }
        if made.len() == 1 {
            let i = made[0];
            if let Ok(meta) = results[i].as_ref().map(Clone::clone)
                && let Err(e) = self.write_topic(&meta)
            {
                undo(&mut results, i, e);
            }
            return results;
        }
        // Many topics: stage every metadata file, sync once, rename them all, sync once more.
        let mut staged = Vec::new();
        for &i in &made {
            let Ok(meta) = results[i].as_ref().map(Clone::clone) else {
                continue;
            };
            match self.stage_topic(&meta) {
                Ok(s) => staged.push((i, meta, s)),
                Err(e) => undo(&mut results, i, e),
            }
        }
        let synced = crate::log::atomic_file::sync_file_system(&self.data_dir);
        for (i, meta, s) in staged {
            let committed = synced
                .as_ref()
                .map_err(|e| Error::DataDir(e.to_string()))
                .and_then(|_| s.commit());
            match committed {
                Ok(()) => self.update_cache(|m| {
                    m.insert(meta.name.clone(), meta.clone());
                }),
                Err(e) => undo(&mut results, i, e),
            }
        }
        if let Err(e) = crate::log::atomic_file::sync_dir(&self.meta.join("topics")) {
            tracing::error!(error = %e, "syncing new topics' metadata failed");
        }
        results
    }

    /// The metadata a new topic will get, after the checks that need no lock.
    fn check_new_topic(&self, spec: &NewTopic) -> Result<TopicMetadata> {
        topic::validate_name(&spec.name)?;
        let partitions = spec.partitions.unwrap_or(self.config.num_partitions);
        if partitions <= 0 {
            return Err(Error::InvalidPartitions(
                "The partitions must be greater than 0".to_string(),
            ));
        }
        if partitions > self.config.max_partitions_per_request {
            return Err(too_many_partitions(
                partitions as i64,
                self.config.max_partitions_per_request,
            ));
        }
        match spec.replication_factor {
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
        for (k, v) in &spec.configs {
            crate::log::config::validate_entry(k, v)?;
        }
        Ok(TopicMetadata {
            name: spec.name.clone(),
            topic_id: uuid::Uuid::new_v4(),
            partitions,
            configs: spec.configs.clone(),
            created_ms: now_ms(),
        })
    }

    /// Creates partition directories `range` of a topic, all or none. Nothing is fsynced per
    /// partition (a thousand partitions would cost seconds): the topic metadata written after
    /// them is the commit point, and a partition directory that did not survive a crash is made
    /// again, empty, when its partition is opened.
    fn create_partition_dirs(
        &self,
        meta: &TopicMetadata,
        range: std::ops::Range<i32>,
    ) -> Result<()> {
        for p in range.clone() {
            if let Err(e) = self.create_partition_dir(meta, p) {
                self.remove_partition_dirs(&meta.name, range.start..p + 1);
                return Err(e);
            }
        }
        Ok(())
    }

    fn remove_partition_dirs(&self, topic: &str, range: std::ops::Range<i32>) {
        for p in range {
            let dir = self.partition_dir(topic, p);
            if let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a partition directory of a failed creation");
            }
        }
    }

    fn create_partition_dir(&self, meta: &TopicMetadata, p: i32) -> Result<()> {
        let dir = self.partition_dir(&meta.name, p);
        if dir.exists() {
            // Left over from a topic of the same name whose deletion was interrupted.
            std::fs::remove_dir_all(&dir).at(&dir)?;
        }
        UnifiedLog::create(&dir)?;
        let text = format!("version: 0\ntopic_id: {}\n", meta.topic_id_string());
        // Written once, in a new directory; durable with the sync that follows the creation of
        // all partitions, before the topic's metadata makes them part of a topic.
        let path = dir.join("partition.metadata");
        std::fs::write(&path, text.as_bytes()).at(&path)
    }

    /// Removes what interrupted creations and deletions left in the data dir: partition
    /// directories of no topic (or past its partition count), and Kafka-style `-delete`
    /// directories. Run by the data dir's owner at start, under the metadata lock, so no
    /// creation is under way. Returns how many directories went.
    pub fn remove_orphans(&self) -> Result<usize> {
        let _lock = self.metadata_lock()?;
        let mut counts: BTreeMap<String, i32> = BTreeMap::new();
        for name in self.list_topics_from_files()? {
            if let Ok(meta) = self.read_topic_file(&name) {
                counts.insert(name, meta.partitions);
            }
        }
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.data_dir).at(&self.data_dir)? {
            let entry = entry.at(&self.data_dir)?;
            if !entry.file_type().at(entry.path())?.is_dir() {
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let orphan = if name.ends_with("-delete") {
                true
            } else if let Some((topic, p)) = name.rsplit_once('-')
                && let Ok(p) = p.parse::<i32>()
                && entry.path().join(crate::log::unified::STATE_FILE).exists()
            {
                counts.get(topic).is_none_or(|&n| p >= n)
            } else {
                false
            };
            if orphan {
                tracing::warn!(dir = %entry.path().display(), "removing a partition directory no topic owns (an interrupted creation or deletion)");
                std::fs::remove_dir_all(entry.path()).at(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn write_topic(&self, meta: &TopicMetadata) -> Result<()> {
        self.write_topic_with(meta, true)
    }

    /// Stages a topic's metadata file (see [`crate::log::atomic_file::stage`]).
    fn stage_topic(&self, meta: &TopicMetadata) -> Result<crate::log::atomic_file::Staged> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(|e| Error::Codec(e.to_string()))?;
        crate::log::atomic_file::stage(&self.topic_file(&meta.name), &bytes)
    }

    /// Writes a topic's metadata file atomically and durably.
    fn write_topic_with(&self, meta: &TopicMetadata, sync: bool) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(meta).map_err(|e| Error::Codec(e.to_string()))?;
        crate::log::atomic_file::write(&self.topic_file(&meta.name), &bytes, sync)?;
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
    /// `InvalidPartitions` unless `count` is larger than the current count; `PolicyViolation`
    /// when it would add more than `max.partitions.per.request`.
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
        let added = count as i64 - meta.partitions as i64;
        if added > self.config.max_partitions_per_request as i64 {
            return Err(too_many_partitions(
                added,
                self.config.max_partitions_per_request,
            ));
        }
        let old = meta.partitions;
        self.create_partition_dirs(&meta, old..count)?;
        if let Err(e) = crate::log::atomic_file::sync_file_system(&self.data_dir) {
            self.remove_partition_dirs(name, old..count);
            return Err(e);
        }
        meta.partitions = count;
        if let Err(e) = self.write_topic(&meta) {
            self.remove_partition_dirs(name, old..count);
            return Err(e);
        }
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

    /// Bytes of one partition's segment (`.log`) files, as Kafka counts a log's size, read from
    /// the directory without opening the log: measuring never recovers, locks or marks it. A
    /// missing directory (a crash took it; the next open makes it again) or a segment deleted
    /// while it is counted adds nothing.
    ///
    /// # Errors
    /// `UnknownPartition` for a partition the topic does not have; `Io` when the directory
    /// cannot be read.
    pub fn partition_size(&self, meta: &TopicMetadata, partition: i32) -> Result<u64> {
        use crate::log::segment;
        if partition < 0 || partition >= meta.partitions {
            return Err(Error::UnknownPartition {
                topic: meta.name.clone(),
                partition,
            });
        }
        let dir = self.partition_dir(&meta.name, partition);
        if !dir.exists() {
            return Ok(0);
        }
        let mut total = 0;
        for base in segment::list_segments(&dir)? {
            let path = dir.join(segment::file_name(base, "log"));
            match std::fs::metadata(&path) {
                Ok(m) => total += m.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Ok(total)
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
        let dir = self.partition_dir(&meta.name, partition);
        if !dir.exists() && self.topic_file(&meta.name).exists() {
            // The topic exists but a crash took the directory made for it (directories are not
            // fsynced one by one at creation): make it again, empty.
            tracing::warn!(dir = %dir.display(), "recreating a missing partition directory");
            let _lock = self.metadata_lock()?;
            if !dir.exists() {
                self.create_partition_dir(meta, partition)?;
            }
        }
        // The data dir's only user (the broker) needs no cross-process locking.
        let mode = if mode == Mode::Write && self.topics.is_some() {
            Mode::Exclusive
        } else {
            mode
        };
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
