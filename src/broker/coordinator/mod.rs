//! The group coordinator: Kafka's classic consumer group protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), one in-memory state machine per group, as Kafka's GroupCoordinator
//! runs it.
//!
//! A rebalance: a member joins or leaves, the group goes `PreparingRebalance`, and every known
//! member must send JoinGroup again; when all have (or the rebalance timeout passes, dropping
//! those that did not), the generation goes up, a protocol and a leader are chosen and every
//! waiting JoinGroup is answered, the leader's with the members and their metadata
//! (`CompletingRebalance`). The leader computes the assignment and sends it in its SyncGroup,
//! which answers every member's waiting SyncGroup (`Stable`). Heartbeats keep members alive and
//! tell them when to rejoin. An empty group's first rebalance waits
//! `group.initial.rebalance.delay.ms` so that consumers started together land in one generation.
//!
//! The rules live in [`state`] (one group's pure state machine); this is its driver. It holds
//! every group behind one lock (never held across an await), reads the clocks, runs each
//! request through the group, keeps the [`oneshot`] sender of every request the group left
//! waiting, sends the answers the group hands back — whoever completes the step (the last member
//! to rejoin, the leader's SyncGroup, a timer) answers everyone — and arms the timers it asks
//! for; a ticker expires sessions. Committed offsets are not kept here: the API modules write
//! them to the data dir's group store, where the embedded tools read them too.

pub mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

pub use self::state::{
    CONSUMER_PROTOCOL, ClassicGroupState, GroupDeletion, GroupDescription, GroupListing, JoinGroup,
    JoinResult, JoinedMember, MemberDescription, OffsetDeleteCheck, RetentionView, SyncGroup,
    SyncResult, parse_subscription,
};
use self::state::{Effects, Group, GroupConfig, JoinStep, Now, SyncStep};
use super::config::BrokerConfig;

/// How often session timeouts and deadlines are checked.
const TICK: Duration = Duration::from_millis(100);

/// An answer now, or one that comes when the group moves on.
pub enum Reply<T> {
    /// Answered at once.
    Now(T),
    /// Answered when the rebalance step completes.
    Later(oneshot::Receiver<T>),
}

impl<T> Reply<T> {
    /// The answer; `gone` makes one if the coordinator dropped the request (shutdown, or the
    /// member sent the same request again meanwhile).
    pub async fn wait(self, gone: impl FnOnce() -> T) -> T {
        match self {
            Reply::Now(t) => t,
            Reply::Later(rx) => rx.await.unwrap_or_else(|_| gone()),
        }
    }
}

/// A group and the reply channels of its waiting requests, by member id.
struct Held {
    group: Group,
    joins: HashMap<String, oneshot::Sender<JoinResult>>,
    syncs: HashMap<String, oneshot::Sender<SyncResult>>,
    /// The generation kept on disk, if any.
    kept: Option<i32>,
}

impl Held {
    fn new(group: Group) -> Self {
        Held {
            group,
            joins: HashMap::new(),
            syncs: HashMap::new(),
            kept: None,
        }
    }
}

/// File name of a group's kept generation: hex, since group ids are arbitrary strings.
fn generation_file(dir: &Path, group_id: &str) -> PathBuf {
    let mut name = String::with_capacity(group_id.len() * 2 + 5);
    for b in group_id.bytes() {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(".json");
    dir.join(name)
}

/// The code of an outcome, for a response.
fn code(outcome: Result<(), ResponseError>) -> i16 {
    outcome.err().map_or(0, |e| e.code())
}

/// Both clocks, read once per operation.
fn now() -> Now {
    Now {
        at: Instant::now(),
        ms: crate::log::unified::now_ms(),
    }
}

/// Every group, shared by all connections.
pub struct GroupCoordinator {
    /// For timers, which must not keep the coordinator alive.
    me: Weak<GroupCoordinator>,
    /// Groups by id.
    groups: Mutex<HashMap<String, Held>>,
    /// The settings every group follows.
    config: GroupConfig,
    /// The session-expiry ticker has been started (on the first request, in the runtime).
    ticking: AtomicBool,
    /// The broker is stopping: waiting requests were answered, new ones are refused.
    closed: AtomicBool,
    /// Where stable generations are kept across restarts (`.streamlog/group-generations`);
    /// None keeps nothing.
    store: Option<PathBuf>,
}

impl GroupCoordinator {
    /// A coordinator with no groups, keeping nothing on disk.
    pub fn new(config: &BrokerConfig) -> Arc<Self> {
        Self::with_store(config, None)
    }

    /// A coordinator keeping each group's stable generation in `store`, with the generations
    /// kept there loaded (Kafka loads its groups from `__consumer_offsets` the same way): the
    /// members of a group carry on across a restart. A damaged file is logged and skipped.
    pub fn with_store(config: &BrokerConfig, store: Option<PathBuf>) -> Arc<Self> {
        let c = Self::empty(config, store.clone());
        let Some(dir) = store else { return c };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot keep group generations");
            return c;
        }
        let now = now();
        let mut groups = c.lock();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Some(id) = path.file_stem().and_then(|s| s.to_str()).and_then(unhex) else {
                continue;
            };
            let snap = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    serde_json::from_slice::<state::GroupSnapshot>(&b).map_err(|e| e.to_string())
                });
            match snap {
                Ok(snap) => {
                    let generation = snap.generation;
                    let mut held = Held::new(Group::restore(&id, &c.config, snap, now));
                    held.kept = Some(generation);
                    groups.insert(id, held);
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipping a damaged group generation file")
                }
            }
        }
        drop(groups);
        c
    }

    fn empty(config: &BrokerConfig, store: Option<PathBuf>) -> Arc<Self> {
        Arc::new_cyclic(|me| GroupCoordinator {
            me: me.clone(),
            groups: Mutex::new(HashMap::new()),
            config: GroupConfig {
                initial_rebalance_delay: config.group_initial_rebalance_delay,
                min_session_timeout: config.group_min_session_timeout,
                max_session_timeout: config.group_max_session_timeout,
            },
            ticking: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            store,
        })
    }

    /// Keeps the group's generation on disk when it became Stable at a new one, and forgets it
    /// when the group emptied; a failure is logged (the group goes on, only a restart would
    /// lose it).
    fn keep(&self, group_id: &str, held: &mut Held) {
        let Some(dir) = &self.store else { return };
        if self.closed() {
            return;
        }
        let path = generation_file(dir, group_id);
        if let Some(snap) = held.group.snapshot() {
            if held.kept == Some(snap.generation) {
                return;
            }
            let written = serde_json::to_vec(&snap)
                .map_err(|e| crate::error::Error::DataDir(e.to_string()))
                .and_then(|b| crate::log::atomic_file::write(&path, &b, false));
            match written {
                Ok(()) => held.kept = Some(snap.generation),
                Err(e) => {
                    tracing::warn!(group = %group_id, error = %e, "cannot keep the group's generation")
                }
            }
        } else if held.group.state() == ClassicGroupState::Empty && held.kept.is_some() {
            forget_file(&path);
            held.kept = None;
        }
    }

    /// Forgets a dropped group's kept generation.
    fn forget_kept(&self, group_id: &str) {
        if let Some(dir) = &self.store {
            forget_file(&generation_file(dir, group_id));
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Starts the ticker that expires sessions, once, from inside the runtime.
    fn start_ticker(&self) {
        if self.ticking.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.ticking.store(false, Ordering::Release);
            return;
        };
        let me = self.me.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(c) = me.upgrade() else { break };
                if c.closed() {
                    break;
                }
                c.tick(now());
            }
        });
    }

    /// Expires sessions, unused member ids, late syncs and overdue rebalances.
    fn tick(&self, now: Now) {
        let mut groups = self.lock();
        for (id, held) in groups.iter_mut() {
            let fx = held.group.tick(now);
            self.carry_out(id, held, fx);
        }
    }

    /// Sends the answers a group handed back and arms the timers it asked for.
    fn carry_out(&self, group_id: &str, held: &mut Held, fx: Effects) {
        for (member_id, result) in fx.joins {
            if let Some(tx) = held.joins.remove(&member_id) {
                let _ = tx.send(result);
            }
        }
        for (member_id, result) in fx.syncs {
            if let Some(tx) = held.syncs.remove(&member_id) {
                let _ = tx.send(result);
            }
        }
        for deadline in fx.timers {
            self.schedule(group_id, deadline);
        }
        self.keep(group_id, held);
    }

    /// Arms a timer that runs the group's rebalance deadline check at `deadline`.
    fn schedule(&self, group_id: &str, deadline: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = self.me.clone();
        let group_id = group_id.to_string();
        runtime.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
            if let Some(c) = me.upgrade() {
                let mut groups = c.lock();
                if let Some(held) = groups.get_mut(&group_id) {
                    let fx = held.group.rebalance_timer(now());
                    c.carry_out(&group_id, held, fx);
                }
            }
        });
    }

    /// JoinGroup.
    pub fn join(&self, req: JoinGroup) -> Reply<JoinResult> {
        self.start_ticker();
        let fail = |error| Reply::Now(JoinResult::error(error, &req.member_id));
        if self.closed() {
            return fail(ResponseError::NotCoordinator);
        }
        if let Err(e) = state::check_join(&self.config, &req) {
            return fail(e);
        }
        let now = now();
        let mut groups = self.lock();
        let held = match groups.entry(req.group_id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                if !req.member_id.is_empty() {
                    return fail(ResponseError::UnknownMemberId);
                }
                e.insert(Held::new(Group::new(&req.group_id, &self.config, now.ms)))
            }
        };
        let new_member_id = if req.member_id.is_empty() {
            format!("{}-{}", req.client_id, uuid::Uuid::new_v4())
        } else {
            String::new()
        };
        let (step, fx) = held.group.join(&req, new_member_id, now);
        let reply = match step {
            JoinStep::Now(r) => Reply::Now(r),
            JoinStep::Waiting(member_id) => {
                let (tx, rx) = oneshot::channel();
                // A JoinGroup of this member still waiting is dropped (answered by `gone`).
                held.joins.insert(member_id, tx);
                Reply::Later(rx)
            }
        };
        self.carry_out(&req.group_id, held, fx);
        reply
    }

    /// SyncGroup.
    pub fn sync(&self, req: SyncGroup) -> Reply<SyncResult> {
        self.start_ticker();
        let fail = |error| Reply::Now(SyncResult::error(error));
        if self.closed() {
            return fail(ResponseError::NotCoordinator);
        }
        let now = now();
        let mut groups = self.lock();
        let Some(held) = groups.get_mut(&req.group_id) else {
            return fail(ResponseError::UnknownMemberId);
        };
        let group_id = req.group_id.clone();
        let (step, fx) = held.group.sync(req, now);
        let reply = match step {
            SyncStep::Now(r) => Reply::Now(r),
            SyncStep::Waiting(member_id) => {
                let (tx, rx) = oneshot::channel();
                held.syncs.insert(member_id, tx);
                Reply::Later(rx)
            }
        };
        self.carry_out(&group_id, held, fx);
        reply
    }

    /// Heartbeat: the error code.
    pub fn heartbeat(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> i16 {
        self.start_ticker();
        if self.closed() {
            return ResponseError::NotCoordinator.code();
        }
        let now = now();
        let mut groups = self.lock();
        let Some(held) = groups.get_mut(group_id) else {
            return ResponseError::UnknownMemberId.code();
        };
        code(
            held.group
                .heartbeat(generation_id, member_id, group_instance_id, now),
        )
    }

    /// LeaveGroup for (member id, instance id) pairs: the group's error and each member's.
    /// A member may be named by its instance id alone (empty member id).
    pub fn leave(&self, group_id: &str, members: &[(String, Option<String>)]) -> (i16, Vec<i16>) {
        self.start_ticker();
        if self.closed() {
            return (ResponseError::NotCoordinator.code(), Vec::new());
        }
        let now = now();
        let mut groups = self.lock();
        let Some(held) = groups.get_mut(group_id) else {
            let unknown = ResponseError::UnknownMemberId.code();
            return (0, vec![unknown; members.len()]);
        };
        let (outcomes, fx) = held.group.leave(members, now);
        self.carry_out(group_id, held, fx);
        (0, outcomes.into_iter().map(code).collect())
    }

    /// Checks an OffsetCommit against the group: the error code (0: may commit). A group the
    /// coordinator does not know takes simple commits (generation -1) only.
    pub fn validate_offset_commit(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> i16 {
        self.start_ticker();
        if self.closed() {
            return ResponseError::NotCoordinator.code();
        }
        if group_id.is_empty() {
            return ResponseError::InvalidGroupId.code();
        }
        let now = now();
        let mut groups = self.lock();
        code(state::validate_offset_commit(
            groups.get_mut(group_id).map(|held| &mut held.group),
            generation_id,
            member_id,
            group_instance_id,
            now,
        ))
    }

    /// The groups the coordinator knows.
    pub fn list(&self) -> Vec<GroupListing> {
        let groups = self.lock();
        let mut out: Vec<GroupListing> = groups.values().map(|h| h.group.listing()).collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// One group, if the coordinator knows it. Metadata and assignments are shown only while
    /// Stable, as Kafka does.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        self.lock().get(group_id).map(|h| h.group.describe())
    }

    /// Drops a group without members (DeleteGroups); its offsets are the caller's to delete.
    pub fn delete(&self, group_id: &str) -> GroupDeletion {
        let mut groups = self.lock();
        let Some(held) = groups.get_mut(group_id) else {
            return GroupDeletion::Unknown;
        };
        let outcome = held.group.delete();
        if outcome == GroupDeletion::Removed {
            groups.remove(group_id);
            self.forget_kept(group_id);
        }
        outcome
    }

    /// What offset expiration needs to know of a group.
    pub fn retention_view(&self, group_id: &str) -> RetentionView {
        self.lock()
            .get(group_id)
            .map_or(RetentionView::Unknown, |h| h.group.retention_view())
    }

    /// Forgets a group that is Empty with nothing pending (Kafka's move to Dead once its
    /// offsets are gone); true if it was forgotten.
    pub fn forget_if_empty(&self, group_id: &str) -> bool {
        let mut groups = self.lock();
        let dead = groups
            .get_mut(group_id)
            .is_some_and(|h| h.group.dead_if_empty());
        if dead {
            groups.remove(group_id);
            self.forget_kept(group_id);
        }
        dead
    }

    /// Whether the group's offsets may be deleted, and which not.
    pub fn offset_delete_check(&self, group_id: &str) -> OffsetDeleteCheck {
        self.lock()
            .get(group_id)
            .map_or(OffsetDeleteCheck::Unknown, |h| {
                h.group.offset_delete_check()
            })
    }

    /// The broker is stopping: answers every waiting JoinGroup and SyncGroup with
    /// NOT_COORDINATOR (clients look for the coordinator again) and refuses new requests.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let mut groups = self.lock();
        for (id, held) in groups.iter_mut() {
            let fx = held.group.shutdown();
            self.carry_out(id, held, fx);
            // Nothing else should be waiting; whatever is gets NOT_COORDINATOR from `gone`.
            held.joins.clear();
            held.syncs.clear();
        }
    }
}

fn forget_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot remove a kept group generation");
    }
}

/// The group id of a generation file's stem.
fn unhex(stem: &str) -> Option<String> {
    if !stem.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..stem.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(stem.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn config(delay_ms: u64) -> BrokerConfig {
        BrokerConfig {
            group_initial_rebalance_delay: Duration::from_millis(delay_ms),
            ..BrokerConfig::default()
        }
    }

    #[tokio::test]
    async fn a_stable_generation_survives_a_restart_and_an_emptied_group_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Some(dir.path().join("group-generations"));
        let c = GroupCoordinator::with_store(&config(0), store.clone());
        let mut a = join("g", "", &["range"]);
        a.require_known_member_id = false;
        let ra = joined(&c, a).await;
        let synced = c.sync(SyncGroup {
            group_id: "g".into(),
            generation_id: ra.generation_id,
            member_id: ra.member_id.clone(),
            group_instance_id: None,
            protocol_type: None,
            protocol_name: None,
            assignments: vec![(ra.member_id.clone(), Bytes::from_static(b"A"))],
        });
        let gone = || SyncResult::error(ResponseError::NotCoordinator);
        assert_eq!(synced.wait(gone).await.assignment, Bytes::from_static(b"A"));
        drop(c);

        // A new coordinator over the same store: the member carries on in its generation.
        let c = GroupCoordinator::with_store(&config(0), store.clone());
        let described = c.describe("g").expect("the group is back");
        assert_eq!(described.state, ClassicGroupState::Stable);
        assert_eq!(c.heartbeat("g", ra.generation_id, &ra.member_id, None), 0);
        assert_eq!(
            c.validate_offset_commit("g", ra.generation_id, &ra.member_id, None),
            0
        );
        assert_eq!(
            c.heartbeat("g", ra.generation_id + 1, &ra.member_id, None),
            ResponseError::IllegalGeneration.code()
        );
        // The member leaves: the group is empty and nothing is kept any more.
        let (error, members) = c.leave("g", &[(ra.member_id.clone(), None)]);
        assert_eq!((error, members), (0, vec![0]));
        drop(c);
        let c = GroupCoordinator::with_store(&config(0), store);
        assert!(c.describe("g").is_none());
    }

    fn join(group: &str, member: &str, protocols: &[&str]) -> JoinGroup {
        JoinGroup {
            group_id: group.into(),
            member_id: member.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: CONSUMER_PROTOCOL.into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from_static(b"m")))
                .collect(),
            require_known_member_id: true,
            supports_skip_assignment: false,
        }
    }

    fn not_coordinator() -> JoinResult {
        JoinResult::error(ResponseError::NotCoordinator, "")
    }

    async fn joined(c: &GroupCoordinator, req: JoinGroup) -> JoinResult {
        c.join(req).wait(not_coordinator).await
    }

    #[tokio::test]
    async fn a_first_join_needs_a_member_id_then_leads_an_empty_group() {
        let c = GroupCoordinator::new(&config(0));
        let first = joined(&c, join("g", "", &["range"])).await;
        assert_eq!(first.error, ResponseError::MemberIdRequired.code());
        assert!(first.member_id.starts_with("c-"));
        let r = joined(&c, join("g", &first.member_id, &["range"])).await;
        assert_eq!(r.error, 0);
        assert_eq!(r.generation_id, 1);
        assert_eq!(r.leader, first.member_id);
        assert_eq!(r.members.len(), 1);
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
    }

    #[tokio::test]
    async fn the_protocol_is_the_leaders_first_choice_that_all_support() {
        let c = GroupCoordinator::new(&config(0));
        let mut a = join("g", "", &["roundrobin", "range"]);
        a.require_known_member_id = false;
        let ra = joined(&c, a.clone()).await;
        assert_eq!(ra.protocol_name.as_deref(), Some("roundrobin"));
        let mut b = join("g", "", &["range", "roundrobin"]);
        b.require_known_member_id = false;
        // b waits for a to rejoin.
        let pending = c.join(b);
        let mut again = a.clone();
        again.member_id = ra.member_id.clone();
        let ra2 = joined(&c, again).await;
        let rb = pending.wait(not_coordinator).await;
        assert_eq!(ra2.generation_id, 2);
        assert_eq!(rb.generation_id, 2);
        assert_eq!(ra2.protocol_name.as_deref(), Some("roundrobin"));
        assert_eq!(ra2.members.len(), 2, "the leader sees every member");
        assert!(rb.members.is_empty(), "followers see none");
        assert_eq!(rb.leader, ra.member_id);
    }

    #[tokio::test]
    async fn the_leaders_sync_answers_a_follower_waiting_on_its_channel() {
        let c = GroupCoordinator::new(&config(0));
        let mut a = join("g", "", &["range"]);
        a.require_known_member_id = false;
        let ra = joined(&c, a.clone()).await;
        let mut b = join("g", "", &["range"]);
        b.require_known_member_id = false;
        let pending_b = c.join(b);
        a.member_id = ra.member_id.clone();
        let ra2 = joined(&c, a).await;
        let rb = pending_b.wait(not_coordinator).await;
        let sync = |member: &str, assignments: Vec<(String, Bytes)>| SyncGroup {
            group_id: "g".into(),
            generation_id: 2,
            member_id: member.into(),
            group_instance_id: None,
            protocol_type: None,
            protocol_name: None,
            assignments,
        };
        let follower = c.sync(sync(&rb.member_id, Vec::new()));
        assert!(matches!(follower, Reply::Later(_)), "waits for the leader");
        let leader = c.sync(sync(
            &ra2.member_id,
            vec![
                (ra2.member_id.clone(), Bytes::from_static(b"A")),
                (rb.member_id.clone(), Bytes::from_static(b"B")),
            ],
        ));
        let gone = || SyncResult::error(ResponseError::NotCoordinator);
        assert_eq!(leader.wait(gone).await.assignment, Bytes::from_static(b"A"));
        let fb = follower.wait(gone).await;
        assert_eq!((fb.error, fb.assignment), (0, Bytes::from_static(b"B")));
        assert_eq!(c.describe("g").unwrap().state, ClassicGroupState::Stable);
    }

    #[tokio::test]
    async fn shutdown_answers_a_waiting_join_with_not_coordinator_and_refuses_new_ones() {
        let c = GroupCoordinator::new(&config(60_000));
        let mut a = join("g", "", &["range"]);
        a.require_known_member_id = false;
        // The initial delay holds the first join.
        let pending = c.join(a.clone());
        assert!(matches!(pending, Reply::Later(_)));
        c.shutdown();
        let r = pending.wait(|| panic!("answered, not dropped")).await;
        assert_eq!(r.error, ResponseError::NotCoordinator.code());
        assert_eq!(
            joined(&c, a).await.error,
            ResponseError::NotCoordinator.code()
        );
        assert_eq!(
            c.heartbeat("g", 0, "x", None),
            ResponseError::NotCoordinator.code()
        );
    }

    #[test]
    fn delete_and_forget_drop_only_empty_groups() {
        let c = GroupCoordinator::new(&config(0));
        assert_eq!(c.delete("g"), GroupDeletion::Unknown);
        // A simple commit against an unknown group is accepted; one naming a generation is not.
        assert_eq!(c.validate_offset_commit("g", -1, "", None), 0);
        assert_eq!(
            c.validate_offset_commit("g", 3, "m", None),
            ResponseError::IllegalGeneration.code()
        );
        assert_eq!(
            c.validate_offset_commit("", -1, "", None),
            ResponseError::InvalidGroupId.code()
        );
        // Outside a runtime a join waits (no timer), but it does make a member.
        let mut a = join("g", "", &["range"]);
        a.require_known_member_id = false;
        let _pending = c.join(a);
        assert_eq!(c.delete("g"), GroupDeletion::NonEmpty);
        assert!(!c.forget_if_empty("g"));
        assert_eq!(c.list().len(), 1);
    }
}
