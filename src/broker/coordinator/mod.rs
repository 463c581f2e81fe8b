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
//! A waiting request holds a [`oneshot`] receiver; whoever completes the step (the last member to
//! rejoin, the leader's SyncGroup, a timer) sends every answer. One lock guards all groups and is
//! never held across an await. Committed offsets are not kept here: the API modules write them to
//! the data dir's group store, where the embedded tools read them too.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::{Decodable, Message};
use tokio::sync::oneshot;

use super::apis::code;
use super::config::BrokerConfig;

/// How long a new member may wait in a rebalance before it is dropped (Kafka's
/// `NewMemberJoinTimeoutMs`): a client that vanished mid-join does not hold a group forever.
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often session timeouts and deadlines are checked.
const TICK: Duration = Duration::from_millis(100);
/// The protocol type of Kafka consumers, whose member metadata is a consumer subscription.
pub const CONSUMER_PROTOCOL: &str = "consumer";

/// A classic group's state, spelled as Kafka spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicGroupState {
    /// No members (committed offsets may remain).
    Empty,
    /// Waiting for every member to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Members have their assignments.
    Stable,
    /// The group does not exist.
    Dead,
}

impl ClassicGroupState {
    /// Kafka's name, as DescribeGroups and ListGroups report it.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClassicGroupState::Empty => "Empty",
            ClassicGroupState::PreparingRebalance => "PreparingRebalance",
            ClassicGroupState::CompletingRebalance => "CompletingRebalance",
            ClassicGroupState::Stable => "Stable",
            ClassicGroupState::Dead => "Dead",
        }
    }
}

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

/// A JoinGroup request, as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct JoinGroup {
    /// The group.
    pub group_id: String,
    /// Empty on a member's first join.
    pub member_id: String,
    /// Static membership (v5+).
    pub group_instance_id: Option<String>,
    /// The request header's client id (member ids start with it).
    pub client_id: String,
    /// The client's address, as Kafka shows it (`/127.0.0.1`).
    pub client_host: String,
    /// Without a heartbeat for this long the member is removed.
    pub session_timeout_ms: i32,
    /// How long a rebalance waits for this member to rejoin (v0: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// `consumer` for consumers.
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// v4+: a first join gets MEMBER_ID_REQUIRED and a member id to come back with.
    pub require_known_member_id: bool,
    /// v9+: a static leader rejoining is told to skip the assignment rather than being
    /// told another member leads.
    pub supports_skip_assignment: bool,
}

/// A member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone)]
pub struct JoinedMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id, if any.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// A JoinGroup answer.
#[derive(Debug, Clone)]
pub struct JoinResult {
    /// Error code.
    pub error: i16,
    /// The new generation (-1 on error).
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The chosen protocol.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// The member's id (new on a first join).
    pub member_id: String,
    /// The leader must not reassign (static leader rejoining a stable group, v9+).
    pub skip_assignment: bool,
    /// Every member, for the leader only.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// A failed join.
    pub fn error(error: i16, member_id: &str) -> Self {
        JoinResult {
            error,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members: Vec::new(),
        }
    }
}

/// A SyncGroup request, as the coordinator needs it.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    /// The group.
    pub group_id: String,
    /// The generation the member joined.
    pub generation_id: i32,
    /// The member.
    pub member_id: String,
    /// Static instance id (v3+).
    pub group_instance_id: Option<String>,
    /// v5: must match the group's.
    pub protocol_type: Option<String>,
    /// v5: must match the group's.
    pub protocol_name: Option<String>,
    /// The leader's assignment, by member id.
    pub assignments: Vec<(String, Bytes)>,
}

/// A SyncGroup answer.
#[derive(Debug, Clone)]
pub struct SyncResult {
    /// Error code.
    pub error: i16,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The group's protocol.
    pub protocol_name: Option<String>,
    /// This member's assignment.
    pub assignment: Bytes,
}

impl SyncResult {
    /// A failed sync.
    pub fn error(error: i16) -> Self {
        SyncResult {
            error,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupListing {
    /// The group.
    pub group_id: String,
    /// Its protocol type (`consumer`), empty if never joined.
    pub protocol_type: String,
    /// Its state.
    pub state: ClassicGroupState,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub group_instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host (`/127.0.0.1`).
    pub client_host: String,
    /// Metadata for the chosen protocol (only while Stable).
    pub metadata: Bytes,
    /// Current assignment (only while Stable).
    pub assignment: Bytes,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// Its state.
    pub state: ClassicGroupState,
    /// Its protocol type.
    pub protocol_type: String,
    /// The chosen protocol (only while Stable).
    pub protocol_name: String,
    /// Its members.
    pub members: Vec<MemberDescription>,
}

/// Whether a group's committed offsets may be deleted (OffsetDelete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetDeleteCheck {
    /// The coordinator does not know the group (it may still have offsets on disk).
    Unknown,
    /// Known, no members: anything may go.
    Empty,
    /// A consumer group with members: not the topics they subscribe to (`None`: cannot tell
    /// which, so none).
    Subscribed(Option<HashSet<String>>),
    /// Members of some other protocol type: nothing may go.
    NonEmpty,
}

/// Why DeleteGroups may or may not drop a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupDeletion {
    /// Dropped from the coordinator (it was known and empty).
    Removed,
    /// The coordinator does not know it.
    Unknown,
    /// It has members.
    NonEmpty,
}

/// One member of a group.
struct Member {
    /// Static instance id, if any.
    group_instance_id: Option<String>,
    /// The client id it gave.
    client_id: String,
    /// Where it connects from.
    client_host: String,
    /// Removed after this long without a heartbeat.
    session_timeout: Duration,
    /// A rebalance waits this long for it.
    rebalance_timeout: Duration,
    /// Its protocol type.
    protocol_type: String,
    /// (name, metadata), in its order of preference.
    protocols: Vec<(String, Bytes)>,
    /// What the leader assigned it in the current generation.
    assignment: Bytes,
    /// Its pending JoinGroup.
    awaiting_join: Option<oneshot::Sender<JoinResult>>,
    /// Its pending SyncGroup.
    awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// Last sign of life (heartbeat, join, sync, commit).
    last_heartbeat: Instant,
    /// Has not yet been through a completed join.
    is_new: bool,
}

impl Member {
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn supports(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|(n, _)| n == protocol)
    }

    /// Kafka's `shouldKeepAlive`, negated: members in the middle of a join or sync are kept.
    fn expired(&self, now: Instant) -> bool {
        if self.awaiting_join.is_some() {
            self.is_new && now >= self.last_heartbeat + NEW_MEMBER_JOIN_TIMEOUT
        } else if self.awaiting_sync.is_some() {
            false
        } else {
            now >= self.last_heartbeat + self.session_timeout
        }
    }
}

/// The first-rebalance delay of an empty group (Kafka's `InitialDelayedJoin`).
struct InitialDelay {
    /// `group.initial.rebalance.delay.ms`.
    delay: Duration,
    /// How much more the delay may be extended by new members (up to the rebalance timeout).
    remaining: Duration,
}

/// A rebalance in progress.
struct Rebalance {
    /// Tells a timer whether it still belongs to this rebalance.
    id: u64,
    /// When the join completes whoever has rejoined.
    deadline: Instant,
    /// Set while an empty group's first join is being delayed.
    initial: Option<InitialDelay>,
}

/// One group.
struct Group {
    /// Its id.
    id: String,
    /// Its state.
    state: ClassicGroupState,
    /// Bumped on every completed join.
    generation: i32,
    /// The protocol type of its members.
    protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    protocol_name: Option<String>,
    /// The leader's member id.
    leader: Option<String>,
    /// Members in the order they joined (the first is the leader when one is needed).
    members: IndexMap<String, Member>,
    /// Static members: instance id → member id.
    static_members: HashMap<String, String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with when they expire if not used.
    pending_members: HashMap<String, Instant>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pending_sync: HashSet<String>,
    /// When members still in `pending_sync` are removed.
    sync_deadline: Option<Instant>,
    /// The rebalance in progress (PreparingRebalance).
    rebalance: Option<Rebalance>,
    /// A member joined during the initial delay, which extends it.
    new_member_added: bool,
    /// When the group last became Empty (ms since the epoch): its offsets expire
    /// `offsets.retention.minutes` after that.
    empty_since_ms: i64,
}

impl Group {
    fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: ClassicGroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            static_members: HashMap::new(),
            pending_members: HashMap::new(),
            pending_sync: HashSet::new(),
            sync_deadline: None,
            rebalance: None,
            new_member_added: false,
            empty_since_ms: crate::log::unified::now_ms(),
        }
    }

    fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// The longest rebalance timeout of any member.
    fn rebalance_timeout(&self) -> Duration {
        self.members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default()
    }

    /// A static member whose instance id now belongs to another member id is a zombie.
    fn is_fenced(&self, instance: Option<&str>, member_id: &str) -> bool {
        instance
            .and_then(|i| self.static_members.get(i))
            .is_some_and(|m| m != member_id)
    }

    /// The checks SyncGroup, Heartbeat and OffsetCommit share, in Kafka's order: a fenced
    /// static member, an unknown member, a stale generation.
    fn check_member(
        &self,
        instance: Option<&str>,
        member_id: &str,
        generation: i32,
    ) -> Result<(), i16> {
        if self.is_fenced(instance, member_id) {
            Err(code::FENCED_INSTANCE_ID)
        } else if !self.members.contains_key(member_id) {
            Err(code::UNKNOWN_MEMBER_ID)
        } else if generation != self.generation {
            Err(code::ILLEGAL_GENERATION)
        } else {
            Ok(())
        }
    }

    /// Whether a (re)joining member's protocols fit the other members'.
    fn accepts(&self, member_id: &str, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        let others: Vec<&Member> = self
            .members
            .iter()
            .filter(|(id, _)| *id != member_id)
            .map(|(_, m)| m)
            .collect();
        if others.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| others.iter().all(|m| m.supports(name)))
    }

    /// Every known member has rejoined and no member id handed out is still unused.
    fn all_joined(&self) -> bool {
        self.members.values().all(|m| m.awaiting_join.is_some()) && self.pending_members.is_empty()
    }

    /// The first protocol, in the leader's order of preference, that every member supports.
    fn select_protocol(&self) -> Option<String> {
        let leader = self
            .leader
            .as_ref()
            .and_then(|l| self.members.get(l))
            .or_else(|| self.members.values().next())?;
        leader
            .protocols
            .iter()
            .map(|(n, _)| n)
            .find(|n| self.members.values().all(|m| m.supports(n)))
            .cloned()
    }

    /// The JoinGroup answer of the current generation for one member.
    fn join_result(&self, member_id: &str, with_members: bool) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        JoinResult {
            error: code::NONE,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members: if with_members {
                self.members
                    .iter()
                    .map(|(id, m)| JoinedMember {
                        member_id: id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        metadata: m.metadata(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    fn sync_result(&self, assignment: Bytes) -> SyncResult {
        SyncResult {
            error: code::NONE,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        }
    }

    /// Answers every waiting SyncGroup with `error` and forgets the assignments (a rebalance
    /// started before the leader's assignment went out).
    fn fail_pending_syncs(&mut self, error: i16) {
        for m in self.members.values_mut() {
            m.assignment = Bytes::new();
            if let Some(tx) = m.awaiting_sync.take() {
                let _ = tx.send(SyncResult::error(error));
            }
        }
    }

    /// Takes a member out of the group, answering its waiting requests with `error`.
    fn detach(&mut self, member_id: &str, error: i16) -> Option<Member> {
        let mut m = self.members.shift_remove(member_id)?;
        if let Some(tx) = m.awaiting_join.take() {
            let _ = tx.send(JoinResult::error(error, member_id));
        }
        if let Some(tx) = m.awaiting_sync.take() {
            let _ = tx.send(SyncResult::error(error));
        }
        if let Some(instance) = &m.group_instance_id
            && self.static_members.get(instance).map(String::as_str) == Some(member_id)
        {
            self.static_members.remove(instance);
        }
        self.pending_sync.remove(member_id);
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        Some(m)
    }

    /// The topics a consumer group's members subscribe to, from their metadata; `None` if it
    /// cannot be told (not the consumer protocol, or metadata that does not parse).
    fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL) {
            return None;
        }
        let mut topics = HashSet::new();
        for m in self.members.values() {
            let metadata = match &self.protocol_name {
                Some(p) => m.metadata(p),
                None => m.protocols.first().map(|(_, b)| b.clone())?,
            };
            topics.extend(parse_subscription(&metadata)?);
        }
        Some(topics)
    }
}

/// The topics of a consumer protocol subscription (`ConsumerProtocolSubscription`: a version,
/// then the topics). Versions newer than the crate knows only add fields at the end.
pub fn parse_subscription(metadata: &[u8]) -> Option<Vec<String>> {
    if metadata.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([metadata[0], metadata[1]]);
    if version < 0 {
        return None;
    }
    let version = version.min(ConsumerProtocolSubscription::VERSIONS.max);
    let mut buf = Bytes::copy_from_slice(&metadata[2..]);
    ConsumerProtocolSubscription::decode(&mut buf, version)
        .ok()
        .map(|s| s.topics.iter().map(|t| t.to_string()).collect())
}

/// Every group, shared by all connections.
pub struct GroupCoordinator {
    /// For timers, which must not keep the coordinator alive.
    me: Weak<GroupCoordinator>,
    /// Groups by id.
    groups: Mutex<HashMap<String, Group>>,
    /// `group.initial.rebalance.delay.ms`.
    initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms`.
    min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`.
    max_session_timeout: Duration,
    /// Rebalance ids, so a timer can tell whether its rebalance is still the current one.
    next_rebalance: AtomicU64,
    /// The session-expiry ticker has been started (on the first request, in the runtime).
    ticking: AtomicBool,
    /// The broker is stopping: waiting requests were answered, new ones are refused.
    closed: AtomicBool,
}

impl GroupCoordinator {
    /// A coordinator with no groups.
    pub fn new(config: &BrokerConfig) -> Arc<Self> {
        Arc::new_cyclic(|me| GroupCoordinator {
            me: me.clone(),
            groups: Mutex::new(HashMap::new()),
            initial_rebalance_delay: config.group_initial_rebalance_delay,
            min_session_timeout: config.group_min_session_timeout,
            max_session_timeout: config.group_max_session_timeout,
            next_rebalance: AtomicU64::new(1),
            ticking: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
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
                c.tick(Instant::now());
            }
        });
    }

    /// Expires sessions, unused member ids, late syncs and overdue rebalances.
    fn tick(&self, now: Instant) {
        let mut groups = self.lock();
        for g in groups.values_mut() {
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| m.expired(now))
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                self.remove_member(g, &id, now, "session timeout expired");
            }
            let pending = g.pending_members.len();
            g.pending_members.retain(|_, deadline| *deadline > now);
            if g.pending_members.len() != pending {
                self.maybe_complete_join(g, now);
            }
            // The rebalance's own timer normally gets there first.
            if g.rebalance.as_ref().is_some_and(|r| r.deadline <= now) {
                self.rebalance_expired(g, now);
            }
            if g.sync_deadline.is_some_and(|d| d <= now) {
                g.sync_deadline = None;
                let late: Vec<String> = g.pending_sync.drain().collect();
                for id in late {
                    self.remove_member(g, &id, now, "did not send SyncGroup in time");
                }
            }
        }
    }

    /// Arms a timer for the current rebalance's deadline.
    fn schedule(&self, group_id: &str, id: u64, deadline: Instant) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let me = self.me.clone();
        let group_id = group_id.to_string();
        runtime.spawn(async move {
            tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
            if let Some(c) = me.upgrade() {
                let mut groups = c.lock();
                if let Some(g) = groups.get_mut(&group_id)
                    && g.rebalance.as_ref().is_some_and(|r| r.id == id)
                {
                    c.rebalance_expired(g, Instant::now());
                }
            }
        });
    }

    /// Moves a group to PreparingRebalance: every member must rejoin.
    fn prepare_rebalance(&self, g: &mut Group, now: Instant, reason: &str) {
        if g.state == ClassicGroupState::CompletingRebalance {
            g.fail_pending_syncs(code::REBALANCE_IN_PROGRESS);
        }
        g.pending_sync.clear();
        g.sync_deadline = None;
        let timeout = g.rebalance_timeout();
        let id = self.next_rebalance.fetch_add(1, Ordering::Relaxed);
        let rebalance = if g.state == ClassicGroupState::Empty {
            let delay = self.initial_rebalance_delay;
            Rebalance {
                id,
                deadline: now + delay,
                initial: Some(InitialDelay {
                    delay,
                    remaining: timeout.saturating_sub(delay),
                }),
            }
        } else {
            Rebalance {
                id,
                deadline: now + timeout,
                initial: None,
            }
        };
        tracing::info!(
            group = %g.id,
            generation = g.generation,
            reason,
            "preparing to rebalance"
        );
        g.state = ClassicGroupState::PreparingRebalance;
        self.schedule(&g.id, id, rebalance.deadline);
        g.rebalance = Some(rebalance);
    }

    fn maybe_prepare_rebalance(&self, g: &mut Group, now: Instant, reason: &str) {
        if matches!(
            g.state,
            ClassicGroupState::Stable
                | ClassicGroupState::CompletingRebalance
                | ClassicGroupState::Empty
        ) {
            self.prepare_rebalance(g, now, reason);
        }
    }

    /// Completes the join if it can be: everyone rejoined (the initial delay only ends on its
    /// deadline).
    fn maybe_complete_join(&self, g: &mut Group, now: Instant) {
        let Some(r) = &g.rebalance else { return };
        match r.initial {
            Some(_) if r.deadline <= now => self.rebalance_expired(g, now),
            Some(_) => {}
            None if g.all_joined() => self.complete_join(g, now),
            None => {}
        }
    }

    /// The rebalance's deadline passed: extend an initial delay that saw new members, else
    /// complete the join with whoever rejoined.
    fn rebalance_expired(&self, g: &mut Group, now: Instant) {
        let new_member_added = g.new_member_added;
        let Some(r) = g.rebalance.as_mut() else {
            return;
        };
        if let Some(initial) = r.initial.as_mut()
            && new_member_added
            && !initial.remaining.is_zero()
        {
            let delay = initial.delay.min(initial.remaining);
            initial.remaining -= delay;
            r.deadline = now + delay;
            r.id = self.next_rebalance.fetch_add(1, Ordering::Relaxed);
            let (id, deadline) = (r.id, r.deadline);
            g.new_member_added = false;
            self.schedule(&g.id, id, deadline);
            return;
        }
        self.complete_join(g, now);
    }

    /// Ends the join phase: drops members that did not rejoin, starts the next generation and
    /// answers every waiting JoinGroup.
    fn complete_join(&self, g: &mut Group, now: Instant) {
        let gone: Vec<String> = g
            .members
            .iter()
            .filter(|(_, m)| m.awaiting_join.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            tracing::info!(group = %g.id, member = %id, "member did not rejoin in time");
            g.detach(&id, code::UNKNOWN_MEMBER_ID);
        }
        g.rebalance = None;
        g.new_member_added = false;
        g.generation += 1;
        if g.members.is_empty() {
            g.state = ClassicGroupState::Empty;
            g.empty_since_ms = crate::log::unified::now_ms();
            g.protocol_name = None;
            g.leader = None;
            tracing::info!(group = %g.id, generation = g.generation, "group is empty");
            return;
        }
        if g.leader.as_ref().is_none_or(|l| !g.members.contains_key(l)) {
            g.leader = g.members.keys().next().cloned();
        }
        g.protocol_name = g.select_protocol();
        g.state = ClassicGroupState::CompletingRebalance;
        let results: Vec<(String, JoinResult)> = g
            .members
            .keys()
            .map(|id| (id.clone(), g.join_result(id, g.is_leader(id))))
            .collect();
        for (id, result) in results {
            if let Some(m) = g.members.get_mut(&id) {
                m.is_new = false;
                m.last_heartbeat = now;
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(result);
                }
            }
        }
        g.pending_sync = g.members.keys().cloned().collect();
        g.sync_deadline = Some(now + g.rebalance_timeout());
        tracing::info!(
            group = %g.id,
            generation = g.generation,
            members = g.members.len(),
            protocol = g.protocol_name.as_deref().unwrap_or(""),
            "rebalance: joined"
        );
    }

    /// Removes a member and rebalances the rest.
    fn remove_member(&self, g: &mut Group, member_id: &str, now: Instant, reason: &str) {
        if g.detach(member_id, code::UNKNOWN_MEMBER_ID).is_none() {
            return;
        }
        tracing::info!(group = %g.id, member = member_id, reason, "member removed");
        match g.state {
            ClassicGroupState::Stable | ClassicGroupState::CompletingRebalance => {
                self.prepare_rebalance(g, now, reason);
                self.maybe_complete_join(g, now);
            }
            ClassicGroupState::PreparingRebalance => self.maybe_complete_join(g, now),
            ClassicGroupState::Empty | ClassicGroupState::Dead => {}
        }
    }

    fn add_member_and_rebalance(
        &self,
        g: &mut Group,
        member_id: String,
        req: &JoinGroup,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if g.members.is_empty() {
            g.protocol_type = Some(req.protocol_type.clone());
        }
        if g.leader.is_none() {
            g.leader = Some(member_id.clone());
        }
        if let Some(instance) = &req.group_instance_id {
            g.static_members.insert(instance.clone(), member_id.clone());
        }
        g.members.insert(
            member_id.clone(),
            Member {
                group_instance_id: req.group_instance_id.clone(),
                client_id: req.client_id.clone(),
                client_host: req.client_host.clone(),
                session_timeout: ms(req.session_timeout_ms),
                rebalance_timeout: rebalance_timeout(req),
                protocol_type: req.protocol_type.clone(),
                protocols: req.protocols.clone(),
                assignment: Bytes::new(),
                awaiting_join: Some(tx),
                awaiting_sync: None,
                last_heartbeat: now,
                is_new: true,
            },
        );
        if g.state == ClassicGroupState::PreparingRebalance && g.generation == 0 {
            g.new_member_added = true;
        }
        self.maybe_prepare_rebalance(g, now, &format!("adding new member {member_id}"));
    }

    fn update_member_and_rebalance(
        &self,
        g: &mut Group,
        member_id: &str,
        req: &JoinGroup,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) {
        if let Some(m) = g.members.get_mut(member_id) {
            m.protocols = req.protocols.clone();
            m.protocol_type = req.protocol_type.clone();
            m.session_timeout = ms(req.session_timeout_ms);
            m.rebalance_timeout = rebalance_timeout(req);
            m.client_id = req.client_id.clone();
            m.client_host = req.client_host.clone();
            m.last_heartbeat = now;
            m.awaiting_join = Some(tx);
        }
        self.maybe_prepare_rebalance(g, now, &format!("member {member_id} rejoined"));
    }

    /// A static member came back under a new member id: the old id is fenced. A stable group
    /// whose member's protocols did not change keeps its assignment, without a rebalance.
    fn replace_static_member(
        &self,
        g: &mut Group,
        old_id: &str,
        new_id: String,
        req: &JoinGroup,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) -> Option<JoinResult> {
        let current_leader = g.leader.clone().unwrap_or_default();
        let Some((index, _, mut member)) = g.members.shift_remove_full(old_id) else {
            self.add_member_and_rebalance(g, new_id, req, tx, now);
            return None;
        };
        if let Some(old) = member.awaiting_join.take() {
            let _ = old.send(JoinResult::error(code::FENCED_INSTANCE_ID, old_id));
        }
        if let Some(old) = member.awaiting_sync.take() {
            let _ = old.send(SyncResult::error(code::FENCED_INSTANCE_ID));
        }
        let unchanged =
            member.protocols == req.protocols && member.protocol_type == req.protocol_type;
        member.protocols = req.protocols.clone();
        member.protocol_type = req.protocol_type.clone();
        member.session_timeout = ms(req.session_timeout_ms);
        member.rebalance_timeout = rebalance_timeout(req);
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.last_heartbeat = now;
        let stay_stable = g.state == ClassicGroupState::Stable && unchanged;
        if !stay_stable {
            member.awaiting_join = Some(tx);
        }
        g.members.shift_insert(index, new_id.clone(), member);
        if let Some(instance) = &req.group_instance_id {
            g.static_members.insert(instance.clone(), new_id.clone());
        }
        if g.is_leader(old_id) {
            g.leader = Some(new_id.clone());
        }
        if g.pending_sync.remove(old_id) {
            g.pending_sync.insert(new_id.clone());
        }
        tracing::info!(group = %g.id, old = old_id, new = %new_id, "static member replaced");
        if stay_stable {
            let is_leader = g.is_leader(&new_id);
            return Some(if req.supports_skip_assignment {
                let mut r = g.join_result(&new_id, is_leader);
                r.skip_assignment = is_leader;
                r
            } else {
                // The old leader id, so that a returning leader does not assign again: a stable
                // group would not pass a new assignment on.
                let mut r = g.join_result(&new_id, false);
                r.leader = current_leader;
                r
            });
        }
        if g.state != ClassicGroupState::PreparingRebalance {
            self.prepare_rebalance(
                g,
                now,
                &format!("static member {new_id} joined with changed protocols or mid-rebalance"),
            );
        }
        None
    }

    fn join_new_member(
        &self,
        g: &mut Group,
        req: &JoinGroup,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) -> Option<JoinResult> {
        let new_id = format!("{}-{}", req.client_id, uuid::Uuid::new_v4());
        if let Some(instance) = &req.group_instance_id {
            if let Some(old) = g.static_members.get(instance).cloned() {
                return self.replace_static_member(g, &old, new_id, req, tx, now);
            }
        } else if req.require_known_member_id {
            g.pending_members
                .insert(new_id.clone(), now + ms(req.session_timeout_ms));
            return Some(JoinResult::error(code::MEMBER_ID_REQUIRED, &new_id));
        }
        self.add_member_and_rebalance(g, new_id, req, tx, now);
        None
    }

    fn join_known_member(
        &self,
        g: &mut Group,
        req: &JoinGroup,
        tx: oneshot::Sender<JoinResult>,
        now: Instant,
    ) -> Option<JoinResult> {
        let id = req.member_id.as_str();
        if g.pending_members.remove(id).is_some() {
            self.add_member_and_rebalance(g, id.to_string(), req, tx, now);
            return None;
        }
        if g.is_fenced(req.group_instance_id.as_deref(), id) {
            return Some(JoinResult::error(code::FENCED_INSTANCE_ID, id));
        }
        let Some(m) = g.members.get(id) else {
            return Some(JoinResult::error(code::UNKNOWN_MEMBER_ID, id));
        };
        let unchanged = m.protocols == req.protocols && m.protocol_type == req.protocol_type;
        let is_leader = g.is_leader(id);
        match g.state {
            ClassicGroupState::PreparingRebalance => {
                self.update_member_and_rebalance(g, id, req, tx, now);
                None
            }
            // It lost its JoinGroup answer: the same one again.
            ClassicGroupState::CompletingRebalance if unchanged => {
                touch(g, id, now);
                Some(g.join_result(id, is_leader))
            }
            ClassicGroupState::Stable if unchanged && !is_leader => {
                touch(g, id, now);
                Some(g.join_result(id, false))
            }
            ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => {
                self.update_member_and_rebalance(g, id, req, tx, now);
                None
            }
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                Some(JoinResult::error(code::UNKNOWN_MEMBER_ID, id))
            }
        }
    }

    /// JoinGroup.
    pub fn join(&self, req: JoinGroup) -> Reply<JoinResult> {
        self.start_ticker();
        let fail = |error| Reply::Now(JoinResult::error(error, &req.member_id));
        if self.closed() {
            return fail(code::NOT_COORDINATOR);
        }
        if req.group_id.is_empty() {
            return fail(code::INVALID_GROUP_ID);
        }
        let session = req.session_timeout_ms;
        if session < 0
            || ms(session) < self.min_session_timeout
            || ms(session) > self.max_session_timeout
        {
            return fail(code::INVALID_SESSION_TIMEOUT);
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return fail(code::INCONSISTENT_GROUP_PROTOCOL);
        }
        let now = Instant::now();
        let mut groups = self.lock();
        let g = match groups.entry(req.group_id.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                if !req.member_id.is_empty() {
                    return fail(code::UNKNOWN_MEMBER_ID);
                }
                e.insert(Group::new(&req.group_id))
            }
        };
        if !g.accepts(&req.member_id, &req.protocol_type, &req.protocols) {
            return fail(code::INCONSISTENT_GROUP_PROTOCOL);
        }
        let (tx, rx) = oneshot::channel();
        let now_result = if req.member_id.is_empty() {
            self.join_new_member(g, &req, tx, now)
        } else {
            self.join_known_member(g, &req, tx, now)
        };
        if g.state == ClassicGroupState::PreparingRebalance {
            self.maybe_complete_join(g, now);
        }
        match now_result {
            Some(r) => Reply::Now(r),
            None => Reply::Later(rx),
        }
    }

    /// SyncGroup.
    pub fn sync(&self, req: SyncGroup) -> Reply<SyncResult> {
        self.start_ticker();
        let fail = |error| Reply::Now(SyncResult::error(error));
        if self.closed() {
            return fail(code::NOT_COORDINATOR);
        }
        let now = Instant::now();
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(&req.group_id) else {
            return fail(code::UNKNOWN_MEMBER_ID);
        };
        if let Err(e) = g.check_member(
            req.group_instance_id.as_deref(),
            &req.member_id,
            req.generation_id,
        ) {
            return fail(e);
        }
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| g.protocol_type.as_ref() != Some(t))
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| g.protocol_name.as_ref() != Some(n))
        {
            return fail(code::INCONSISTENT_GROUP_PROTOCOL);
        }
        match g.state {
            ClassicGroupState::Empty | ClassicGroupState::Dead => fail(code::UNKNOWN_MEMBER_ID),
            ClassicGroupState::PreparingRebalance => fail(code::REBALANCE_IN_PROGRESS),
            ClassicGroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                g.pending_sync.remove(&req.member_id);
                if let Some(m) = g.members.get_mut(&req.member_id) {
                    m.last_heartbeat = now;
                    m.awaiting_sync = Some(tx);
                }
                if g.is_leader(&req.member_id) {
                    let mut assignments: HashMap<String, Bytes> =
                        req.assignments.into_iter().collect();
                    for (id, m) in g.members.iter_mut() {
                        m.assignment = assignments.remove(id).unwrap_or_default();
                    }
                    g.state = ClassicGroupState::Stable;
                    let results: Vec<(String, SyncResult)> = g
                        .members
                        .iter()
                        .map(|(id, m)| (id.clone(), g.sync_result(m.assignment.clone())))
                        .collect();
                    for (id, result) in results {
                        if let Some(tx) =
                            g.members.get_mut(&id).and_then(|m| m.awaiting_sync.take())
                        {
                            let _ = tx.send(result);
                        }
                    }
                    tracing::info!(
                        group = %g.id,
                        generation = g.generation,
                        "rebalance: assignment received, group stable"
                    );
                }
                Reply::Later(rx)
            }
            ClassicGroupState::Stable => {
                g.pending_sync.remove(&req.member_id);
                let assignment = match g.members.get_mut(&req.member_id) {
                    Some(m) => {
                        m.last_heartbeat = now;
                        m.assignment.clone()
                    }
                    None => Bytes::new(),
                };
                Reply::Now(g.sync_result(assignment))
            }
        }
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
            return code::NOT_COORDINATOR;
        }
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group_id) else {
            return code::UNKNOWN_MEMBER_ID;
        };
        if let Err(e) = g.check_member(group_instance_id, member_id, generation_id) {
            return e;
        }
        let state = g.state;
        let Some(m) = g.members.get_mut(member_id) else {
            return code::UNKNOWN_MEMBER_ID;
        };
        match state {
            ClassicGroupState::Empty | ClassicGroupState::Dead => code::UNKNOWN_MEMBER_ID,
            ClassicGroupState::PreparingRebalance => {
                m.last_heartbeat = Instant::now();
                code::REBALANCE_IN_PROGRESS
            }
            ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => {
                m.last_heartbeat = Instant::now();
                code::NONE
            }
        }
    }

    /// LeaveGroup for (member id, instance id) pairs: the group's error and each member's.
    /// A member may be named by its instance id alone (empty member id).
    pub fn leave(&self, group_id: &str, members: &[(String, Option<String>)]) -> (i16, Vec<i16>) {
        self.start_ticker();
        if self.closed() {
            return (code::NOT_COORDINATOR, Vec::new());
        }
        let now = Instant::now();
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group_id) else {
            return (code::NONE, vec![code::UNKNOWN_MEMBER_ID; members.len()]);
        };
        let errors = members
            .iter()
            .map(|(member_id, instance)| {
                let id = match (member_id.is_empty(), instance) {
                    (true, Some(i)) => match g.static_members.get(i) {
                        Some(id) => id.clone(),
                        None => return code::UNKNOWN_MEMBER_ID,
                    },
                    _ => member_id.clone(),
                };
                if g.is_fenced(instance.as_deref(), &id) {
                    return code::FENCED_INSTANCE_ID;
                }
                if g.pending_members.remove(&id).is_some() {
                    self.maybe_complete_join(g, now);
                    return code::NONE;
                }
                if !g.members.contains_key(&id) {
                    return code::UNKNOWN_MEMBER_ID;
                }
                self.remove_member(g, &id, now, "member left the group");
                code::NONE
            })
            .collect();
        (code::NONE, errors)
    }

    /// Checks an OffsetCommit against the group: the error code (NONE: may commit). A group the
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
            return code::NOT_COORDINATOR;
        }
        if group_id.is_empty() {
            return code::INVALID_GROUP_ID;
        }
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group_id) else {
            return if generation_id < 0 {
                code::NONE
            } else {
                code::ILLEGAL_GENERATION
            };
        };
        if generation_id >= 0 || !member_id.is_empty() || group_instance_id.is_some() {
            if let Err(e) = g.check_member(group_instance_id, member_id, generation_id) {
                return e;
            }
            let state = g.state;
            let Some(m) = g.members.get_mut(member_id) else {
                return code::UNKNOWN_MEMBER_ID;
            };
            if state == ClassicGroupState::CompletingRebalance {
                return code::REBALANCE_IN_PROGRESS;
            }
            m.last_heartbeat = Instant::now();
            code::NONE
        } else if g.state != ClassicGroupState::Empty {
            // Offsets committed from outside would race the members' own.
            code::UNKNOWN_MEMBER_ID
        } else {
            code::NONE
        }
    }

    /// The groups the coordinator knows.
    pub fn list(&self) -> Vec<GroupListing> {
        let groups = self.lock();
        let mut out: Vec<GroupListing> = groups
            .values()
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state,
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// One group, if the coordinator knows it. Metadata and assignments are shown only while
    /// Stable, as Kafka does.
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = self.lock();
        let g = groups.get(group_id)?;
        let stable = g.state == ClassicGroupState::Stable;
        let protocol = g.protocol_name.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol_name: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .iter()
                .map(|(id, m)| MemberDescription {
                    member_id: id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        })
    }

    /// Drops a group without members (DeleteGroups); its offsets are the caller's to delete.
    pub fn delete(&self, group_id: &str) -> GroupDeletion {
        let mut groups = self.lock();
        match groups.get(group_id) {
            None => GroupDeletion::Unknown,
            Some(g) if !g.members.is_empty() || !g.pending_members.is_empty() => {
                GroupDeletion::NonEmpty
            }
            Some(_) => {
                groups.remove(group_id);
                GroupDeletion::Removed
            }
        }
    }

    /// What offset expiration needs to know of a group.
    pub fn retention_view(&self, group_id: &str) -> RetentionView {
        let groups = self.lock();
        let Some(g) = groups.get(group_id) else {
            return RetentionView::Unknown;
        };
        if g.state == ClassicGroupState::Empty && g.pending_members.is_empty() {
            return match g.protocol_type {
                Some(_) => RetentionView::Empty {
                    since_ms: g.empty_since_ms,
                },
                None => RetentionView::Standalone,
            };
        }
        if g.state == ClassicGroupState::Stable
            && g.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL)
            && let Some(topics) = g.subscribed_topics()
        {
            return RetentionView::Subscribed(topics);
        }
        RetentionView::Active
    }

    /// Forgets a group that is Empty with nothing pending (Kafka's move to Dead once its
    /// offsets are gone); true if it was forgotten.
    pub fn forget_if_empty(&self, group_id: &str) -> bool {
        let mut groups = self.lock();
        let empty = groups.get(group_id).is_some_and(|g| {
            g.state == ClassicGroupState::Empty
                && g.members.is_empty()
                && g.pending_members.is_empty()
        });
        if empty {
            groups.remove(group_id);
        }
        empty
    }

    /// Whether the group's offsets may be deleted, and which not.
    pub fn offset_delete_check(&self, group_id: &str) -> OffsetDeleteCheck {
        let groups = self.lock();
        match groups.get(group_id) {
            None => OffsetDeleteCheck::Unknown,
            Some(g) if g.members.is_empty() => OffsetDeleteCheck::Empty,
            Some(g) if g.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL) => {
                OffsetDeleteCheck::Subscribed(g.subscribed_topics())
            }
            Some(_) => OffsetDeleteCheck::NonEmpty,
        }
    }

    /// The broker is stopping: answers every waiting JoinGroup and SyncGroup with
    /// NOT_COORDINATOR (clients look for the coordinator again) and refuses new requests.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let mut groups = self.lock();
        for g in groups.values_mut() {
            for (id, m) in g.members.iter_mut() {
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(JoinResult::error(code::NOT_COORDINATOR, id));
                }
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncResult::error(code::NOT_COORDINATOR));
                }
            }
        }
    }
}

/// A group as committed-offset expiration sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionView {
    /// Not in memory (never joined since the broker started).
    Unknown,
    /// Empty, with a protocol type: everything expires a retention after it became empty.
    Empty {
        /// When it became empty, ms since the epoch.
        since_ms: i64,
    },
    /// Known but never joined by members (only commits): each offset expires on its own.
    Standalone,
    /// A stable consumer group subscribed to these topics: offsets of other topics expire.
    Subscribed(HashSet<String>),
    /// Members are active: nothing expires.
    Active,
}

/// A sign of life from a member.
fn touch(g: &mut Group, member_id: &str, now: Instant) {
    if let Some(m) = g.members.get_mut(member_id) {
        m.last_heartbeat = now;
    }
}

fn ms(v: i32) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}

/// JoinGroup v0 has no rebalance timeout: the session timeout serves.
fn rebalance_timeout(req: &JoinGroup) -> Duration {
    if req.rebalance_timeout_ms > 0 {
        ms(req.rebalance_timeout_ms)
    } else {
        ms(req.session_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(delay_ms: u64) -> BrokerConfig {
        BrokerConfig {
            group_initial_rebalance_delay: Duration::from_millis(delay_ms),
            ..BrokerConfig::default()
        }
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

    async fn joined(c: &GroupCoordinator, req: JoinGroup) -> JoinResult {
        c.join(req)
            .wait(|| JoinResult::error(code::NOT_COORDINATOR, ""))
            .await
    }

    #[tokio::test]
    async fn a_first_join_needs_a_member_id_then_leads_an_empty_group() {
        let c = GroupCoordinator::new(&config(0));
        let first = joined(&c, join("g", "", &["range"])).await;
        assert_eq!(first.error, code::MEMBER_ID_REQUIRED);
        assert!(first.member_id.starts_with("c-"));
        let r = joined(&c, join("g", &first.member_id, &["range"])).await;
        assert_eq!(r.error, code::NONE);
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
        let rb = pending
            .wait(|| JoinResult::error(code::NOT_COORDINATOR, ""))
            .await;
        assert_eq!(ra2.generation_id, 2);
        assert_eq!(rb.generation_id, 2);
        assert_eq!(ra2.protocol_name.as_deref(), Some("roundrobin"));
        assert_eq!(ra2.members.len(), 2, "the leader sees every member");
        assert!(rb.members.is_empty(), "followers see none");
        assert_eq!(rb.leader, ra.member_id);
    }

    #[test]
    fn subscriptions_parse_from_consumer_metadata() {
        // version 1, topics ["a", "bc"], user data null, owned partitions [].
        let bytes = [
            0u8, 1, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
        ];
        assert_eq!(parse_subscription(&bytes).unwrap(), ["a", "bc"]);
        assert_eq!(parse_subscription(b"x"), None);
    }
}
