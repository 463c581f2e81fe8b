//! Consumer groups without a coordinator process: committed offsets, live members and partition
//! ownership, all in the data dir so that separate tool processes can share a group.
//!
//! - `offsets.json`: every committed offset of the group, replaced atomically under
//!   `group.lock` (read, change, write a temp file, rename): a commit of any number of
//!   partitions is one write.
//! - `members/<member-id>.json`: a live member; its process holds an exclusive `flock` on the
//!   file for as long as it lives, so a member killed with `kill -9` is noticed at once.
//! - `owners.json`: which member consumes which partition, changed under `group.lock`. A member
//!   reads a partition only while it owns it and commits before letting go, so two members
//!   never deliver the same record and a successor starts from the committed offset. An owner
//!   whose member file is no longer locked is dead, and its partitions are free.
//!
//! A member thus costs two files and one descriptor however many partitions it owns. Groups
//! written by older versions kept one file per partition under `offsets/`; those are still
//! read, and folded into `offsets.json` by the next commit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil::{self, escape_name, unescape_name};
use crate::error::{Error, IoContext, Result};

/// A committed position of a group in one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// The next offset the group will consume.
    pub offset: i64,
    /// Free-form metadata the committer attached.
    #[serde(default)]
    pub metadata: String,
    /// When it was committed, ms since the epoch.
    #[serde(default)]
    pub commit_timestamp: i64,
    /// When it expires, if the committer said (OffsetCommit v2-v4 `retention_time_ms`); else
    /// the broker's `offsets.retention.minutes` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_timestamp: Option<i64>,
}

impl CommittedOffset {
    /// A commit of `offset` now, without metadata.
    pub fn now(offset: i64) -> Self {
        CommittedOffset {
            offset,
            metadata: String::new(),
            commit_timestamp: crate::log::unified::now_ms(),
            expire_timestamp: None,
        }
    }
}

/// What a member consumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    /// Named topics.
    Topics(Vec<String>),
    /// Every topic matching a regular expression (`--include`).
    Pattern(String),
}

/// A live member of a group, as it registered itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Unique member id, `<client-id>-<uuid>` as Kafka makes them.
    pub member_id: String,
    /// The client id the member gave.
    pub client_id: String,
    /// Where it runs, as Kafka shows it (`/127.0.0.1`).
    pub host: String,
    /// What it consumes.
    pub subscription: Subscription,
    /// When it joined, ms since the epoch.
    pub joined_ms: i64,
}

/// Kafka's group states as the tools print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// Members are consuming.
    Stable,
    /// No members, but committed offsets remain.
    Empty,
    /// The group does not exist.
    Dead,
}

impl GroupState {
    /// Kafka's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            GroupState::Stable => "Stable",
            GroupState::Empty => "Empty",
            GroupState::Dead => "Dead",
        }
    }
}

/// A (topic, partition) pair.
pub type TopicPartition = (String, i32);

/// The groups of one data dir.
#[derive(Debug, Clone)]
pub struct Groups {
    dir: PathBuf,
}

fn partition_key(topic: &str, partition: i32) -> String {
    format!("{topic}-{partition}")
}

fn parse_partition_key(key: &str) -> Option<TopicPartition> {
    let (topic, p) = key.rsplit_once('-')?;
    Some((topic.to_string(), p.parse().ok()?))
}

fn parse_partition_file(name: &str, suffix: &str) -> Option<TopicPartition> {
    parse_partition_key(name.strip_suffix(suffix)?.strip_suffix('.')?)
}

/// Holds a group's `group.lock`; released on drop.
struct GroupLock(File);

impl Drop for GroupLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Error::DataDir(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T, sync: bool) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::Codec(e.to_string()))?;
    crate::log::atomic_file::write(path, &bytes, sync)
}

impl Groups {
    /// The groups under `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Groups { dir }
    }

    fn group_dir(&self, group: &str) -> PathBuf {
        self.dir.join(escape_name(group))
    }

    fn ensure(&self, group: &str) -> Result<PathBuf> {
        let dir = self.group_dir(group);
        let members = dir.join("members");
        if !members.exists() {
            std::fs::create_dir_all(&members).at(&members)?;
            // A new group's directory must survive a crash as surely as its first commit.
            crate::log::atomic_file::sync_dir(&self.dir)?;
        }
        Ok(dir)
    }

    fn lock(&self, group: &str) -> Result<GroupLock> {
        let path = self.ensure(group)?.join("group.lock");
        let file = fsutil::lock_file(&path)?;
        file.lock().at(&path)?;
        Ok(GroupLock(file))
    }

    /// Every group that has members or committed offsets.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        for entry in entries {
            let entry = entry.at(&self.dir)?;
            // A group whose files cannot be read (a damaged offsets.json) is still listed:
            // callers ask for its state and report the damage without hiding every other group.
            if let Some(name) = entry.file_name().to_str().and_then(unescape_name)
                && !matches!(self.state(&name), Ok(GroupState::Dead))
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Stable with live members, Empty with only offsets, Dead when unknown.
    pub fn state(&self, group: &str) -> Result<GroupState> {
        if !self.live_members(group)?.is_empty() {
            return Ok(GroupState::Stable);
        }
        if !self.committed(group)?.is_empty() {
            return Ok(GroupState::Empty);
        }
        Ok(GroupState::Dead)
    }

    /// Every committed offset of the group, by (topic, partition).
    pub fn committed(&self, group: &str) -> Result<BTreeMap<TopicPartition, CommittedOffset>> {
        let dir = self.group_dir(group);
        let mut out = BTreeMap::new();
        // Commits from before offsets.json; offsets.json wins where both have a partition.
        let legacy = dir.join("offsets");
        for entry in read_dir_if_exists(&legacy)? {
            let name = entry.file_name();
            let Some(tp) = name.to_str().and_then(|n| parse_partition_file(n, "json")) else {
                continue;
            };
            let c: Option<CommittedOffset> = read_json(&entry.path())?;
            if let Some(c) = c {
                out.insert(tp, c);
            }
        }
        let current: BTreeMap<String, CommittedOffset> = read_json(&dir.join("offsets.json"))?;
        for (key, c) in current {
            if let Some(tp) = parse_partition_key(&key) {
                out.insert(tp, c);
            }
        }
        Ok(out)
    }

    /// The committed offset of one partition.
    pub fn committed_one(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<CommittedOffset>> {
        Ok(self
            .committed(group)?
            .remove(&(topic.to_string(), partition)))
    }

    /// Changes the group's offsets in one atomic write: `change` edits the whole map.
    fn update_offsets<T>(
        &self,
        group: &str,
        sync: bool,
        change: impl FnOnce(&mut BTreeMap<TopicPartition, CommittedOffset>) -> T,
    ) -> Result<T> {
        let _lock = self.lock(group)?;
        let dir = self.group_dir(group);
        let mut all = self.committed(group)?;
        let out = change(&mut all);
        let keyed: BTreeMap<String, &CommittedOffset> = all
            .iter()
            .map(|((t, p), c)| (partition_key(t, *p), c))
            .collect();
        write_json(&dir.join("offsets.json"), &keyed, sync)?;
        let legacy = dir.join("offsets");
        if legacy.exists() {
            std::fs::remove_dir_all(&legacy).at(&legacy)?;
        }
        Ok(out)
    }

    /// Commits offsets of any number of partitions as one write. `sync` makes it durable
    /// before returning (the broker's OffsetCommit); without it a crash of the machine may lose
    /// it, a crash of the process not (an embedded consumer's commit after every poll).
    pub fn commit_many(
        &self,
        group: &str,
        commits: &[(TopicPartition, CommittedOffset)],
        sync: bool,
    ) -> Result<()> {
        if commits.is_empty() {
            return Ok(());
        }
        self.update_offsets(group, sync, |all| {
            for (tp, c) in commits {
                all.insert(tp.clone(), c.clone());
            }
        })
    }

    /// Commits `offset` for one partition.
    pub fn commit(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        self.commit_many(
            group,
            &[((topic.to_string(), partition), CommittedOffset::now(offset))],
            true,
        )
    }

    /// Commits `offset` with the committer's metadata string (Kafka's OffsetCommit carries
    /// one, and OffsetFetch gives it back).
    pub fn commit_with_metadata(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: i64,
        metadata: &str,
    ) -> Result<()> {
        let c = CommittedOffset {
            metadata: metadata.to_string(),
            ..CommittedOffset::now(offset)
        };
        self.commit_entry(group, topic, partition, &c)
    }

    /// Writes one partition's commit as given.
    pub fn commit_entry(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        c: &CommittedOffset,
    ) -> Result<()> {
        self.commit_many(group, &[((topic.to_string(), partition), c.clone())], true)
    }

    /// Removes committed offsets; for each partition, true if there was one.
    pub fn delete_offsets(&self, group: &str, partitions: &[TopicPartition]) -> Result<Vec<bool>> {
        if !self.group_dir(group).exists() {
            return Ok(vec![false; partitions.len()]);
        }
        self.update_offsets(group, true, |all| {
            partitions
                .iter()
                .map(|tp| all.remove(tp).is_some())
                .collect()
        })
    }

    /// Removes the given commits in one write, each only if it is still the partition's commit
    /// (one made since is kept); the number removed. Offset expiration uses it.
    pub fn remove_if_unchanged(
        &self,
        group: &str,
        expired: &[(TopicPartition, CommittedOffset)],
    ) -> Result<usize> {
        if expired.is_empty() || !self.group_dir(group).exists() {
            return Ok(0);
        }
        self.update_offsets(group, true, |all| {
            let mut removed = 0;
            for (tp, c) in expired {
                if all.get(tp) == Some(c) {
                    all.remove(tp);
                    removed += 1;
                }
            }
            removed
        })
    }

    /// Removes one partition's committed offset; true if there was one.
    pub fn delete_offset(&self, group: &str, topic: &str, partition: i32) -> Result<bool> {
        Ok(self
            .delete_offsets(group, &[(topic.to_string(), partition)])?
            .first()
            .copied()
            .unwrap_or(false))
    }

    /// Removes the offsets every group committed for a deleted topic.
    pub fn forget_topic(&self, topic: &str) -> Result<()> {
        for group in self.list()? {
            let committed = match self.committed(&group) {
                Ok(c) => c,
                // One damaged group must not stop a topic's deletion; its offsets for the topic
                // stay, as harmless as the rest of the damaged file.
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "cannot read a group's offsets");
                    continue;
                }
            };
            if committed.keys().any(|(t, _)| t == topic) {
                self.update_offsets(&group, true, |all| all.retain(|(t, _), _| t != topic))?;
            }
        }
        Ok(())
    }

    /// Deletes a group with no live members.
    ///
    /// # Errors
    /// `GroupNotFound`, or `NonEmptyGroup` while members are alive.
    pub fn delete(&self, group: &str) -> Result<()> {
        match self.state(group)? {
            GroupState::Dead => Err(Error::GroupNotFound(group.to_string())),
            GroupState::Stable => Err(Error::NonEmptyGroup(format!(
                "The group '{group}' is not empty."
            ))),
            GroupState::Empty => {
                let dir = self.group_dir(group);
                std::fs::remove_dir_all(&dir).at(&dir)
            }
        }
    }

    /// The group's live members, sorted by member id. Members whose process died are removed.
    pub fn live_members(&self, group: &str) -> Result<Vec<MemberInfo>> {
        let dir = self.group_dir(group).join("members");
        let mut out = Vec::new();
        for entry in read_dir_if_exists(&dir)? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let path = entry.path();
            if !member_alive(&path) {
                // Nobody holds it: the member's process is gone.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if let Ok(bytes) = std::fs::read(&path)
                && let Ok(info) = serde_json::from_slice::<MemberInfo>(&bytes)
            {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        Ok(out)
    }

    /// Registers a live member; it stays a member until the returned handle drops or its
    /// process dies.
    pub fn join(&self, group: &str, info: MemberInfo) -> Result<Membership> {
        let dir = self.ensure(group)?;
        let members = dir.join("members");
        let tmp = members.join(format!(".{}.joining", escape_name(&info.member_id)));
        let path = members.join(format!("{}.json", escape_name(&info.member_id)));
        let file = fsutil::lock_file(&tmp)?;
        file.lock().at(&tmp)?;
        let bytes = serde_json::to_vec(&info).map_err(|e| Error::Codec(e.to_string()))?;
        std::fs::write(&tmp, bytes).at(&tmp)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        Ok(Membership {
            groups: self.clone(),
            group: group.to_string(),
            info,
            path,
            owned: BTreeSet::new(),
            _file: file,
        })
    }

    fn member_path(&self, group: &str, member_id: &str) -> PathBuf {
        self.group_dir(group)
            .join("members")
            .join(format!("{}.json", escape_name(member_id)))
    }
}

/// True while the member file's process holds its lock.
fn member_alive(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}

/// The entries of a directory that is created lazily: none if it does not exist yet.
fn read_dir_if_exists(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.at(dir)).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// This process's membership in a group, and the partitions it owns.
#[derive(Debug)]
pub struct Membership {
    groups: Groups,
    group: String,
    /// How the member registered.
    pub info: MemberInfo,
    path: PathBuf,
    owned: BTreeSet<TopicPartition>,
    /// Locked for the membership's lifetime: the liveness signal.
    _file: File,
}

impl Membership {
    /// Takes ownership of those of `wanted` that no live member owns, in one write; returns
    /// the ones now owned (including any owned already).
    pub fn claim(&mut self, wanted: &[TopicPartition]) -> Result<Vec<TopicPartition>> {
        let _lock = self.groups.lock(&self.group)?;
        let path = self.groups.group_dir(&self.group).join("owners.json");
        let mut owners: BTreeMap<String, String> = read_json(&path)?;
        let mut alive: BTreeMap<String, bool> = BTreeMap::new();
        let me = self.info.member_id.clone();
        let mut got = Vec::new();
        let mut changed = false;
        for (t, p) in wanted {
            let key = partition_key(t, *p);
            let free = match owners.get(&key) {
                None => true,
                Some(owner) if *owner == me => true,
                Some(owner) => !*alive
                    .entry(owner.clone())
                    .or_insert_with(|| member_alive(&self.groups.member_path(&self.group, owner))),
            };
            if free {
                if owners.get(&key) != Some(&me) {
                    owners.insert(key, me.clone());
                    changed = true;
                }
                got.push((t.clone(), *p));
            }
        }
        if changed {
            write_json(&path, &owners, false)?;
        }
        self.owned.extend(got.iter().cloned());
        Ok(got)
    }

    /// Gives up partitions (after committing what was consumed), in one write.
    pub fn release(&mut self, parts: &[TopicPartition]) -> Result<()> {
        let mine: Vec<&TopicPartition> =
            parts.iter().filter(|tp| self.owned.contains(*tp)).collect();
        if mine.is_empty() {
            return Ok(());
        }
        let _lock = self.groups.lock(&self.group)?;
        let path = self.groups.group_dir(&self.group).join("owners.json");
        let mut owners: BTreeMap<String, String> = read_json(&path)?;
        for (t, p) in &mine {
            let key = partition_key(t, *p);
            if owners.get(&key) == Some(&self.info.member_id) {
                owners.remove(&key);
            }
        }
        write_json(&path, &owners, false)?;
        for tp in mine.into_iter().cloned().collect::<Vec<_>>() {
            self.owned.remove(&tp);
        }
        Ok(())
    }

    /// The partitions this member owns.
    pub fn owned(&self) -> &BTreeSet<TopicPartition> {
        &self.owned
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let all: Vec<TopicPartition> = self.owned.iter().cloned().collect();
        let _ = self.release(&all);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Kafka's RangeAssignor: for each topic, members subscribed to it (by member id) get
/// contiguous ranges of its partitions, the first ones one extra when it does not divide.
pub fn range_assign(
    members: &[MemberInfo],
    topics: &BTreeMap<String, i32>,
    subscribed: impl Fn(&MemberInfo, &str) -> bool,
) -> BTreeMap<String, Vec<(String, i32)>> {
    let mut out: BTreeMap<String, Vec<(String, i32)>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    for (topic, &count) in topics {
        let subs: Vec<&MemberInfo> = members.iter().filter(|m| subscribed(m, topic)).collect();
        if subs.is_empty() {
            continue;
        }
        let n = subs.len() as i32;
        let per = count / n;
        let extra = count % n;
        for (i, m) in subs.iter().enumerate() {
            let i = i as i32;
            let start = per * i + i.min(extra);
            let len = per + if i < extra { 1 } else { 0 };
            if let Some(list) = out.get_mut(&m.member_id) {
                list.extend((start..start + len).map(|p| (topic.clone(), p)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> MemberInfo {
        MemberInfo {
            member_id: id.to_string(),
            client_id: "c".into(),
            host: "/127.0.0.1".into(),
            subscription: Subscription::Topics(vec!["t".into()]),
            joined_ms: 0,
        }
    }

    #[test]
    fn range_assignor_splits_like_kafka() {
        let topics = BTreeMap::from([("t".to_string(), 5)]);
        let a = range_assign(&[member("a"), member("b")], &topics, |_, _| true);
        let parts = |id: &str| a[id].iter().map(|(_, p)| *p).collect::<Vec<_>>();
        assert_eq!(parts("a"), [0, 1, 2]);
        assert_eq!(parts("b"), [3, 4]);
    }

    #[test]
    fn commits_of_many_partitions_are_one_file_and_old_per_partition_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let groups = Groups::new(dir.path().to_path_buf());
        let legacy = dir.path().join("g").join("offsets");
        std::fs::create_dir_all(&legacy).unwrap();
        std::fs::write(
            legacy.join("t-9.json"),
            serde_json::to_vec(&CommittedOffset::now(90)).unwrap(),
        )
        .unwrap();
        let commits: Vec<(TopicPartition, CommittedOffset)> = (0..1000)
            .map(|p| (("t".to_string(), p), CommittedOffset::now(p as i64 * 2)))
            .collect();
        assert_eq!(
            groups.committed_one("g", "t", 9).unwrap().unwrap().offset,
            90
        );
        groups.commit_many("g", &commits[..5], false).unwrap();
        assert!(!legacy.exists(), "folded into offsets.json");
        assert_eq!(
            groups.committed_one("g", "t", 3).unwrap().unwrap().offset,
            6
        );
        groups.commit_many("g", &commits, true).unwrap();
        let all = groups.committed("g").unwrap();
        assert_eq!(all.len(), 1000);
        assert_eq!(all[&("t".to_string(), 999)].offset, 1998);
        let files: Vec<_> = std::fs::read_dir(dir.path().join("g")).unwrap().collect();
        assert!(
            files.len() <= 4,
            "a handful of files, not one per partition"
        );
        assert_eq!(
            groups
                .delete_offsets("g", &[("t".into(), 1), ("t".into(), 5000)])
                .unwrap(),
            [true, false]
        );
        groups.forget_topic("t").unwrap();
        assert!(groups.committed("g").unwrap().is_empty());
    }

    #[test]
    fn members_and_ownership_follow_the_locks() {
        let dir = tempfile::tempdir().unwrap();
        let groups = Groups::new(dir.path().to_path_buf());
        assert_eq!(groups.state("g").unwrap(), GroupState::Dead);
        let mut m1 = groups.join("g", member("m1")).unwrap();
        let mut m2 = groups.join("g", member("m2")).unwrap();
        assert_eq!(groups.live_members("g").unwrap().len(), 2);
        let t = |p: i32| ("t".to_string(), p);
        assert_eq!(m1.claim(&[t(0), t(1)]).unwrap(), [t(0), t(1)]);
        assert_eq!(m2.claim(&[t(0), t(2)]).unwrap(), [t(2)], "t-0 is m1's");
        m1.release(&[t(0)]).unwrap();
        assert_eq!(m2.claim(&[t(0)]).unwrap(), [t(0)]);
        groups.commit("g", "t", 0, 7).unwrap();
        assert!(matches!(groups.delete("g"), Err(Error::NonEmptyGroup(_))));
        drop(m1);
        drop(m2);
        assert_eq!(groups.state("g").unwrap(), GroupState::Empty);
        assert_eq!(
            groups.committed_one("g", "t", 0).unwrap().unwrap().offset,
            7
        );
        assert_eq!(groups.list().unwrap(), ["g"]);
        // A member that is gone no longer holds its partitions.
        let mut m3 = groups.join("g", member("m3")).unwrap();
        assert_eq!(m3.claim(&[t(0), t(1), t(2)]).unwrap().len(), 3);
        drop(m3);
        groups.delete("g").unwrap();
        assert_eq!(groups.list().unwrap(), Vec::<String>::new());
    }
}
