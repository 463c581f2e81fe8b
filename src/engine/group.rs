//! Consumer groups without a coordinator process: committed offsets, live members and partition
//! ownership, all in the data dir so that separate tool processes can share a group.
//!
//! - `offsets/<topic>-<partition>.json`: one committed offset, replaced atomically.
//! - `members/<member-id>.json`: a live member; its process holds an exclusive `flock` on the
//!   file for as long as it lives, so a member killed with `kill -9` is noticed at once.
//! - `owners/<topic>-<partition>.lock`: held by the member consuming that partition. A member
//!   reads a partition only while it holds this lock and commits before letting go, so two
//!   members never deliver the same record and a successor starts from the committed offset.

use std::collections::BTreeMap;
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

/// The groups of one data dir.
#[derive(Debug, Clone)]
pub struct Groups {
    dir: PathBuf,
}

fn partition_file(topic: &str, partition: i32, suffix: &str) -> String {
    format!("{topic}-{partition}.{suffix}")
}

fn parse_partition_file(name: &str, suffix: &str) -> Option<(String, i32)> {
    let stem = name.strip_suffix(suffix)?.strip_suffix('.')?;
    let (topic, p) = stem.rsplit_once('-')?;
    Some((topic.to_string(), p.parse().ok()?))
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
        for sub in ["offsets", "members", "owners"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).at(&d)?;
        }
        Ok(dir)
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
            if let Some(name) = entry.file_name().to_str().and_then(unescape_name)
                && self.state(&name)? != GroupState::Dead
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
    pub fn committed(&self, group: &str) -> Result<BTreeMap<(String, i32), CommittedOffset>> {
        let dir = self.group_dir(group).join("offsets");
        let mut out = BTreeMap::new();
        for entry in read_dir_if_exists(&dir)? {
            let name = entry.file_name();
            let Some((topic, p)) = name.to_str().and_then(|n| parse_partition_file(n, "json"))
            else {
                continue;
            };
            if let Some(c) = read_offset(&entry.path())? {
                out.insert((topic, p), c);
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
        read_offset(
            &self
                .group_dir(group)
                .join("offsets")
                .join(partition_file(topic, partition, "json")),
        )
    }

    /// Commits `offset` for one partition (atomically replacing the previous commit).
    pub fn commit(&self, group: &str, topic: &str, partition: i32, offset: i64) -> Result<()> {
        self.commit_with_metadata(group, topic, partition, offset, "")
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
            offset,
            metadata: metadata.to_string(),
            commit_timestamp: crate::log::unified::now_ms(),
            expire_timestamp: None,
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
        let dir = self.ensure(group)?;
        let bytes = serde_json::to_vec(c).map_err(|e| Error::Codec(e.to_string()))?;
        fsutil::write_atomic(
            &dir.join("offsets")
                .join(partition_file(topic, partition, "json")),
            &bytes,
        )
    }

    /// Removes one partition's committed offset; true if there was one.
    pub fn delete_offset(&self, group: &str, topic: &str, partition: i32) -> Result<bool> {
        let p = self
            .group_dir(group)
            .join("offsets")
            .join(partition_file(topic, partition, "json"));
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(p, e)),
        }
    }

    /// Removes the offsets every group committed for a deleted topic.
    pub fn forget_topic(&self, topic: &str) -> Result<()> {
        for group in self.list()? {
            for (t, p) in self.committed(&group)?.into_keys() {
                if t == topic {
                    self.delete_offset(&group, &t, p)?;
                }
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
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if file.try_lock().is_ok() {
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
        let tmp = members.join(format!(".{}.joining", info.member_id));
        let path = members.join(format!("{}.json", escape_name(&info.member_id)));
        let file = fsutil::lock_file(&tmp)?;
        file.lock().at(&tmp)?;
        let bytes = serde_json::to_vec(&info).map_err(|e| Error::Codec(e.to_string()))?;
        std::fs::write(&tmp, bytes).at(&tmp)?;
        std::fs::rename(&tmp, &path).at(&path)?;
        Ok(Membership {
            owners: dir.join("owners"),
            info,
            path,
            _file: file,
        })
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

fn read_offset(path: &Path) -> Result<Option<CommittedOffset>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::DataDir(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// This process's membership in a group.
#[derive(Debug)]
pub struct Membership {
    owners: PathBuf,
    /// How the member registered.
    pub info: MemberInfo,
    path: PathBuf,
    /// Locked for the membership's lifetime: the liveness signal.
    _file: File,
}

impl Membership {
    /// Takes ownership of a partition if no other member holds it.
    pub fn try_own(&self, topic: &str, partition: i32) -> Result<Option<Ownership>> {
        let path = self.owners.join(partition_file(topic, partition, "lock"));
        let file = fsutil::lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Ownership { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Exclusive right to consume one partition for the group; released on drop.
#[derive(Debug)]
pub struct Ownership {
    _file: File,
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
    fn members_and_ownership_follow_the_locks() {
        let dir = tempfile::tempdir().unwrap();
        let groups = Groups::new(dir.path().to_path_buf());
        assert_eq!(groups.state("g").unwrap(), GroupState::Dead);
        let m1 = groups.join("g", member("m1")).unwrap();
        let m2 = groups.join("g", member("m2")).unwrap();
        assert_eq!(groups.live_members("g").unwrap().len(), 2);
        let own = m1.try_own("t", 0).unwrap();
        assert!(own.is_some());
        assert!(m2.try_own("t", 0).unwrap().is_none());
        drop(own);
        assert!(m2.try_own("t", 0).unwrap().is_some());
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
        groups.delete("g").unwrap();
        assert_eq!(groups.list().unwrap(), Vec::<String>::new());
    }
}
