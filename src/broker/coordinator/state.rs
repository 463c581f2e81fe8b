//! One classic consumer group's state machine (Kafka's `ClassicGroup` and the checks of its
//! `GroupCoordinator`), pure: no locks, no I/O, no clock. Each operation checks the request
//! against the group, moves the group, and says what the driver ([`super`]) must do next in
//! [`Effects`]: which waiting JoinGroup and SyncGroup requests to answer, with what, and when to
//! call [`Group::rebalance_timer`]. The driver reads the clocks and passes them in as [`Now`].
//!
//! ```text
//! Empty               ──first join───────────────────────────────────────────▶ PreparingRebalance
//! PreparingRebalance  ──every member rejoined, or the rebalance timeout──────▶ CompletingRebalance
//!                     ──the same, with no member left────────────────────────▶ Empty
//! CompletingRebalance ──the leader's SyncGroup───────────────────────────────▶ Stable
//! CompletingRebalance,
//! Stable              ──join, leave, session or sync timeout, new protocols──▶ PreparingRebalance
//! Empty               ──DeleteGroups, or its offsets expired─────────────────▶ Dead
//! ```
//!
//! The first join of an empty group waits `group.initial.rebalance.delay.ms` (extended while
//! new members keep coming, up to the rebalance timeout).
//!
//! A waiting request is a member flagged `awaiting_join`/`awaiting_sync`; the driver holds its
//! reply channel under the member id the operation returned ([`JoinStep::Waiting`],
//! [`SyncStep::Waiting`]) and sends what [`Effects`] lists for that id. A member sending the same
//! request again while one waits replaces it (the driver drops the older one).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::ConsumerProtocolSubscription;
use kafka_protocol::protocol::{Decodable, Message};

/// How long a new member may wait in a rebalance before it is dropped (Kafka's
/// `NewMemberJoinTimeoutMs`): a client that vanished mid-join does not hold a group forever.
pub const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The protocol type of Kafka consumers, whose member metadata is a consumer subscription.
pub const CONSUMER_PROTOCOL: &str = "consumer";

type Checked<T> = Result<T, ResponseError>;

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

/// The broker settings a group follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay: Duration,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout: Duration,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout: Duration,
}

/// When an operation happens, as the driver read its clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// The monotonic clock: sessions, rebalance and sync deadlines.
    pub at: Instant,
    /// The wall clock, ms since the epoch: when a group became empty, which offset expiration
    /// compares with commit timestamps.
    pub ms: i64,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// Member id.
    pub member_id: String,
    /// Static instance id, if any.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// A JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn error(error: ResponseError, member_id: &str) -> Self {
        JoinResult {
            error: error.code(),
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn error(error: ResponseError) -> Self {
        SyncResult {
            error: error.code(),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// What JoinGroup gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinStep {
    /// Answered at once.
    Now(JoinResult),
    /// This member id's JoinGroup waits: it is answered through [`Effects::joins`] when the
    /// join completes (possibly by the same operation).
    Waiting(String),
}

/// What SyncGroup gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStep {
    /// Answered at once.
    Now(SyncResult),
    /// This member id's SyncGroup waits for the leader's, and is answered through
    /// [`Effects::syncs`] (possibly by the same operation).
    Waiting(String),
}

/// What the driver must do after an operation, in this order: hold the reply channel of a
/// request the operation left waiting, send these answers, arm these timers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Effects {
    /// Answers to waiting JoinGroup requests, by the member id they wait under.
    pub joins: Vec<(String, JoinResult)>,
    /// Answers to waiting SyncGroup requests, by member id.
    pub syncs: Vec<(String, SyncResult)>,
    /// Call [`Group::rebalance_timer`] at each of these.
    pub timers: Vec<Instant>,
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

/// One member of a group.
#[derive(Debug, Clone)]
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
    /// It has a JoinGroup waiting.
    awaiting_join: bool,
    /// It has a SyncGroup waiting.
    awaiting_sync: bool,
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
        if self.awaiting_join {
            self.is_new && now >= self.last_heartbeat + NEW_MEMBER_JOIN_TIMEOUT
        } else if self.awaiting_sync {
            false
        } else {
            now >= self.last_heartbeat + self.session_timeout
        }
    }

    /// Takes what a (re)join says about the member.
    fn update(&mut self, req: &JoinGroup, now: Instant) {
        self.protocols = req.protocols.clone();
        self.protocol_type = req.protocol_type.clone();
        self.session_timeout = ms(req.session_timeout_ms);
        self.rebalance_timeout = rebalance_timeout(req);
        self.client_id = req.client_id.clone();
        self.client_host = req.client_host.clone();
        self.last_heartbeat = now;
    }

    /// Whether a rejoin asks for what the member already has.
    fn unchanged(&self, req: &JoinGroup) -> bool {
        self.protocols == req.protocols && self.protocol_type == req.protocol_type
    }
}

/// The first-rebalance delay of an empty group (Kafka's `InitialDelayedJoin`).
#[derive(Debug, Clone)]
struct InitialDelay {
    /// `group.initial.rebalance.delay.ms`.
    delay: Duration,
    /// How much more the delay may be extended by new members (up to the rebalance timeout).
    remaining: Duration,
}

/// A rebalance in progress.
#[derive(Debug, Clone)]
struct Rebalance {
    /// When the join completes whoever has rejoined.
    deadline: Instant,
    /// Set while an empty group's first join is being delayed.
    initial: Option<InitialDelay>,
}

/// One group.
#[derive(Debug, Clone)]
pub struct Group {
    /// Its id.
    id: String,
    /// Its state.
    state: ClassicGroupState,
    /// `group.initial.rebalance.delay.ms`.
    initial_rebalance_delay: Duration,
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

/// A stable generation of a group as it is kept on disk (Kafka keeps it in
/// `__consumer_offsets`), so that members carry on with it across a broker restart instead of
/// being told their generation is unknown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupSnapshot {
    /// The generation.
    pub generation: i32,
    /// Its members' protocol type.
    pub protocol_type: String,
    /// The protocol chosen.
    pub protocol_name: String,
    /// The leader's member id.
    pub leader: String,
    /// The members, in join order.
    pub members: Vec<MemberSnapshot>,
}

/// One member of a [`GroupSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberSnapshot {
    /// Its member id.
    pub member_id: String,
    /// Its static instance id.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its host.
    pub client_host: String,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// The rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// (protocol, metadata), in its order of preference.
    pub protocols: Vec<(String, Vec<u8>)>,
    /// Its assignment in the generation.
    pub assignment: Vec<u8>,
}

/// The checks of a JoinGroup that need no group, in Kafka's order: the group id, the session
/// timeout against the broker's bounds, a protocol type and protocols.
pub fn check_join(config: &GroupConfig, req: &JoinGroup) -> Checked<()> {
    if req.group_id.is_empty() {
        return Err(ResponseError::InvalidGroupId);
    }
    let session = req.session_timeout_ms;
    if session < 0
        || ms(session) < config.min_session_timeout
        || ms(session) > config.max_session_timeout
    {
        return Err(ResponseError::InvalidSessionTimeout);
    }
    if req.protocol_type.is_empty() || req.protocols.is_empty() {
        return Err(ResponseError::InconsistentGroupProtocol);
    }
    Ok(())
}

/// Checks an OffsetCommit against the group (`None`: a group the coordinator does not know,
/// which takes simple commits, generation -1, only). A member's commit is a sign of life.
pub fn validate_offset_commit(
    group: Option<&mut Group>,
    generation_id: i32,
    member_id: &str,
    group_instance_id: Option<&str>,
    now: Now,
) -> Checked<()> {
    let Some(g) = group else {
        return if generation_id < 0 {
            Ok(())
        } else {
            Err(ResponseError::IllegalGeneration)
        };
    };
    if generation_id >= 0 || !member_id.is_empty() || group_instance_id.is_some() {
        g.check_member(group_instance_id, member_id, generation_id)?;
        let state = g.state;
        let Some(m) = g.members.get_mut(member_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        if state == ClassicGroupState::CompletingRebalance {
            return Err(ResponseError::RebalanceInProgress);
        }
        m.last_heartbeat = now.at;
        Ok(())
    } else if g.state != ClassicGroupState::Empty {
        // Offsets committed from outside would race the members' own.
        Err(ResponseError::UnknownMemberId)
    } else {
        Ok(())
    }
}

impl Group {
    /// A new group, Empty since `now_ms`.
    pub fn new(id: &str, config: &GroupConfig, now_ms: i64) -> Self {
        Group {
            id: id.to_string(),
            state: ClassicGroupState::Empty,
            initial_rebalance_delay: config.initial_rebalance_delay,
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
            empty_since_ms: now_ms,
        }
    }

    /// The stable generation to keep on disk; None unless the group is Stable.
    pub fn snapshot(&self) -> Option<GroupSnapshot> {
        if self.state != ClassicGroupState::Stable {
            return None;
        }
        Some(GroupSnapshot {
            generation: self.generation,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: self.protocol_name.clone().unwrap_or_default(),
            leader: self.leader.clone().unwrap_or_default(),
            members: self
                .members
                .iter()
                .map(|(id, m)| MemberSnapshot {
                    member_id: id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: m.session_timeout.as_millis() as u64,
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis() as u64,
                    protocols: m
                        .protocols
                        .iter()
                        .map(|(n, md)| (n.clone(), md.to_vec()))
                        .collect(),
                    assignment: m.assignment.to_vec(),
                })
                .collect(),
        })
    }

    /// A group brought back Stable at a kept generation, as Kafka loads one after a restart:
    /// each member's session counts from `now`, so members that do not come back expire and
    /// the rest rebalance without them.
    pub fn restore(id: &str, config: &GroupConfig, snap: GroupSnapshot, now: Now) -> Self {
        let mut g = Group::new(id, config, now.ms);
        if snap.members.is_empty() {
            return g;
        }
        g.state = ClassicGroupState::Stable;
        g.generation = snap.generation;
        g.protocol_type = Some(snap.protocol_type.clone());
        g.protocol_name = Some(snap.protocol_name);
        g.leader = Some(snap.leader);
        for m in snap.members {
            if let Some(instance) = &m.group_instance_id {
                g.static_members
                    .insert(instance.clone(), m.member_id.clone());
            }
            g.members.insert(
                m.member_id,
                Member {
                    group_instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout: Duration::from_millis(m.session_timeout_ms),
                    rebalance_timeout: Duration::from_millis(m.rebalance_timeout_ms),
                    protocol_type: snap.protocol_type.clone(),
                    protocols: m
                        .protocols
                        .into_iter()
                        .map(|(n, md)| (n, Bytes::from(md)))
                        .collect(),
                    assignment: Bytes::from(m.assignment),
                    awaiting_join: false,
                    awaiting_sync: false,
                    last_heartbeat: now.at,
                    is_new: false,
                },
            );
        }
        g
    }

    /// Its state.
    pub fn state(&self) -> ClassicGroupState {
        self.state
    }

    /// Its generation (0 before the first completed join).
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// Its members' ids, in the order they joined.
    pub fn member_ids(&self) -> Vec<String> {
        self.members.keys().cloned().collect()
    }

    /// The leader's member id.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// JoinGroup, after [`check_join`]. `new_member_id` is the id a member joining without one
    /// gets (the driver makes it from the client id and a UUID; unused otherwise).
    pub fn join(
        &mut self,
        req: &JoinGroup,
        new_member_id: String,
        now: Now,
    ) -> (JoinStep, Effects) {
        let mut fx = Effects::default();
        if !self.accepts(&req.member_id, &req.protocol_type, &req.protocols) {
            let r = JoinResult::error(ResponseError::InconsistentGroupProtocol, &req.member_id);
            return (JoinStep::Now(r), fx);
        }
        let step = if req.member_id.is_empty() {
            self.join_new_member(req, new_member_id, now, &mut fx)
        } else {
            self.join_known_member(req, now, &mut fx)
        };
        if self.state == ClassicGroupState::PreparingRebalance {
            self.maybe_complete_join(now, &mut fx);
        }
        (step, fx)
    }

    /// SyncGroup: the leader's hands out the assignment and answers every member's.
    pub fn sync(&mut self, req: SyncGroup, now: Now) -> (SyncStep, Effects) {
        let mut fx = Effects::default();
        let fail = |e| SyncStep::Now(SyncResult::error(e));
        if let Err(e) = self.check_member(
            req.group_instance_id.as_deref(),
            &req.member_id,
            req.generation_id,
        ) {
            return (fail(e), fx);
        }
        if req
            .protocol_type
            .as_ref()
            .is_some_and(|t| self.protocol_type.as_ref() != Some(t))
            || req
                .protocol_name
                .as_ref()
                .is_some_and(|n| self.protocol_name.as_ref() != Some(n))
        {
            return (fail(ResponseError::InconsistentGroupProtocol), fx);
        }
        let step = match self.state {
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                fail(ResponseError::UnknownMemberId)
            }
            ClassicGroupState::PreparingRebalance => fail(ResponseError::RebalanceInProgress),
            ClassicGroupState::CompletingRebalance => {
                self.pending_sync.remove(&req.member_id);
                if let Some(m) = self.members.get_mut(&req.member_id) {
                    m.last_heartbeat = now.at;
                    m.awaiting_sync = true;
                }
                if self.is_leader(&req.member_id) {
                    let mut assignments: HashMap<String, Bytes> =
                        req.assignments.into_iter().collect();
                    for (id, m) in self.members.iter_mut() {
                        m.assignment = assignments.remove(id).unwrap_or_default();
                    }
                    self.state = ClassicGroupState::Stable;
                    for (id, m) in self.members.iter_mut() {
                        if std::mem::take(&mut m.awaiting_sync) {
                            let result = SyncResult {
                                error: 0,
                                protocol_type: self.protocol_type.clone(),
                                protocol_name: self.protocol_name.clone(),
                                assignment: m.assignment.clone(),
                            };
                            fx.syncs.push((id.clone(), result));
                        }
                    }
                    tracing::info!(
                        group = %self.id,
                        generation = self.generation,
                        "rebalance: assignment received, group stable"
                    );
                }
                SyncStep::Waiting(req.member_id)
            }
            ClassicGroupState::Stable => {
                self.pending_sync.remove(&req.member_id);
                let assignment = match self.members.get_mut(&req.member_id) {
                    Some(m) => {
                        m.last_heartbeat = now.at;
                        m.assignment.clone()
                    }
                    None => Bytes::new(),
                };
                SyncStep::Now(self.sync_result(assignment))
            }
        };
        (step, fx)
    }

    /// Heartbeat: keeps the member alive; REBALANCE_IN_PROGRESS tells it to rejoin.
    pub fn heartbeat(
        &mut self,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
        now: Now,
    ) -> Checked<()> {
        self.check_member(group_instance_id, member_id, generation_id)?;
        let state = self.state;
        let Some(m) = self.members.get_mut(member_id) else {
            return Err(ResponseError::UnknownMemberId);
        };
        match state {
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                Err(ResponseError::UnknownMemberId)
            }
            ClassicGroupState::PreparingRebalance => {
                m.last_heartbeat = now.at;
                Err(ResponseError::RebalanceInProgress)
            }
            ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => {
                m.last_heartbeat = now.at;
                Ok(())
            }
        }
    }

    /// LeaveGroup for (member id, instance id) pairs: each member's outcome. A member may be
    /// named by its instance id alone (empty member id).
    pub fn leave(
        &mut self,
        members: &[(String, Option<String>)],
        now: Now,
    ) -> (Vec<Checked<()>>, Effects) {
        let mut fx = Effects::default();
        let outcomes = members
            .iter()
            .map(|(member_id, instance)| {
                let id = match (member_id.is_empty(), instance) {
                    (true, Some(i)) => match self.static_members.get(i) {
                        Some(id) => id.clone(),
                        None => return Err(ResponseError::UnknownMemberId),
                    },
                    _ => member_id.clone(),
                };
                if self.is_fenced(instance.as_deref(), &id) {
                    return Err(ResponseError::FencedInstanceId);
                }
                if self.pending_members.remove(&id).is_some() {
                    self.maybe_complete_join(now, &mut fx);
                    return Ok(());
                }
                if !self.members.contains_key(&id) {
                    return Err(ResponseError::UnknownMemberId);
                }
                self.remove_member(&id, now, "member left the group", &mut fx);
                Ok(())
            })
            .collect();
        (outcomes, fx)
    }

    /// The periodic check: expires sessions, unused member ids, late syncs and an overdue
    /// rebalance.
    pub fn tick(&mut self, now: Now) -> Effects {
        let mut fx = Effects::default();
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.expired(now.at))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.remove_member(&id, now, "session timeout expired", &mut fx);
        }
        let pending = self.pending_members.len();
        self.pending_members
            .retain(|_, deadline| *deadline > now.at);
        if self.pending_members.len() != pending {
            self.maybe_complete_join(now, &mut fx);
        }
        // The rebalance's own timer normally gets there first.
        self.expire_due_rebalance(now, &mut fx);
        if self.sync_deadline.is_some_and(|d| d <= now.at) {
            self.sync_deadline = None;
            let late: Vec<String> = self.pending_sync.drain().collect();
            for id in late {
                self.remove_member(&id, now, "did not send SyncGroup in time", &mut fx);
            }
        }
        fx
    }

    /// A timer armed through [`Effects::timers`] went off: if the rebalance in progress is due,
    /// an initial delay that saw new members is extended, else the join completes with
    /// whoever rejoined. A timer of an earlier rebalance finds nothing due and does nothing.
    pub fn rebalance_timer(&mut self, now: Now) -> Effects {
        let mut fx = Effects::default();
        self.expire_due_rebalance(now, &mut fx);
        fx
    }

    /// The group as ListGroups shows it.
    pub fn listing(&self) -> GroupListing {
        GroupListing {
            group_id: self.id.clone(),
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            state: self.state,
        }
    }

    /// The group as DescribeGroups shows it. Metadata and assignments are shown only while
    /// Stable, as Kafka does.
    pub fn describe(&self) -> GroupDescription {
        let stable = self.state == ClassicGroupState::Stable;
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupDescription {
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            protocol_name: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: self
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
        }
    }

    /// What offset expiration needs to know of the group.
    pub fn retention_view(&self) -> RetentionView {
        if self.state == ClassicGroupState::Empty && self.pending_members.is_empty() {
            return match self.protocol_type {
                Some(_) => RetentionView::Empty {
                    since_ms: self.empty_since_ms,
                },
                None => RetentionView::Standalone,
            };
        }
        if self.state == ClassicGroupState::Stable
            && self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL)
            && let Some(topics) = self.subscribed_topics()
        {
            return RetentionView::Subscribed(topics);
        }
        RetentionView::Active
    }

    /// Whether the group's offsets may be deleted, and which not.
    pub fn offset_delete_check(&self) -> OffsetDeleteCheck {
        if self.members.is_empty() {
            OffsetDeleteCheck::Empty
        } else if self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL) {
            OffsetDeleteCheck::Subscribed(self.subscribed_topics())
        } else {
            OffsetDeleteCheck::NonEmpty
        }
    }

    /// DeleteGroups: a group without members (nor member ids handed out) goes Dead, and the
    /// driver drops it; its offsets are the caller's to delete.
    pub fn delete(&mut self) -> GroupDeletion {
        if !self.members.is_empty() || !self.pending_members.is_empty() {
            return GroupDeletion::NonEmpty;
        }
        self.state = ClassicGroupState::Dead;
        GroupDeletion::Removed
    }

    /// Its offsets are gone: an Empty group with nothing pending goes Dead (true), and the
    /// driver forgets it.
    pub fn dead_if_empty(&mut self) -> bool {
        let empty = self.state == ClassicGroupState::Empty
            && self.members.is_empty()
            && self.pending_members.is_empty();
        if empty {
            self.state = ClassicGroupState::Dead;
        }
        empty
    }

    /// The broker is stopping: every waiting JoinGroup and SyncGroup is answered with
    /// NOT_COORDINATOR (clients look for the coordinator again).
    pub fn shutdown(&mut self) -> Effects {
        let mut fx = Effects::default();
        for (id, m) in self.members.iter_mut() {
            if std::mem::take(&mut m.awaiting_join) {
                let r = JoinResult::error(ResponseError::NotCoordinator, id);
                fx.joins.push((id.clone(), r));
            }
            if std::mem::take(&mut m.awaiting_sync) {
                let r = SyncResult::error(ResponseError::NotCoordinator);
                fx.syncs.push((id.clone(), r));
            }
        }
        fx
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
    ) -> Checked<()> {
        if self.is_fenced(instance, member_id) {
            Err(ResponseError::FencedInstanceId)
        } else if !self.members.contains_key(member_id) {
            Err(ResponseError::UnknownMemberId)
        } else if generation != self.generation {
            Err(ResponseError::IllegalGeneration)
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
        self.members.values().all(|m| m.awaiting_join) && self.pending_members.is_empty()
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
            error: 0,
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
            error: 0,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        }
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

    /// Answers every waiting SyncGroup with `error` and forgets the assignments (a rebalance
    /// started before the leader's assignment went out).
    fn fail_pending_syncs(&mut self, error: ResponseError, fx: &mut Effects) {
        for (id, m) in self.members.iter_mut() {
            m.assignment = Bytes::new();
            if std::mem::take(&mut m.awaiting_sync) {
                fx.syncs.push((id.clone(), SyncResult::error(error)));
            }
        }
    }

    /// Takes a member out of the group, answering its waiting requests with `error`.
    fn detach(&mut self, member_id: &str, error: ResponseError, fx: &mut Effects) -> bool {
        let Some(m) = self.members.shift_remove(member_id) else {
            return false;
        };
        if m.awaiting_join {
            fx.joins
                .push((member_id.to_string(), JoinResult::error(error, member_id)));
        }
        if m.awaiting_sync {
            fx.syncs
                .push((member_id.to_string(), SyncResult::error(error)));
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
        true
    }

    /// Moves the group to PreparingRebalance: every member must rejoin.
    fn prepare_rebalance(&mut self, now: Now, reason: &str, fx: &mut Effects) {
        if self.state == ClassicGroupState::CompletingRebalance {
            self.fail_pending_syncs(ResponseError::RebalanceInProgress, fx);
        }
        self.pending_sync.clear();
        self.sync_deadline = None;
        let timeout = self.rebalance_timeout();
        let rebalance = if self.state == ClassicGroupState::Empty {
            let delay = self.initial_rebalance_delay;
            Rebalance {
                deadline: now.at + delay,
                initial: Some(InitialDelay {
                    delay,
                    remaining: timeout.saturating_sub(delay),
                }),
            }
        } else {
            Rebalance {
                deadline: now.at + timeout,
                initial: None,
            }
        };
        tracing::info!(
            group = %self.id,
            generation = self.generation,
            reason,
            "preparing to rebalance"
        );
        self.state = ClassicGroupState::PreparingRebalance;
        fx.timers.push(rebalance.deadline);
        self.rebalance = Some(rebalance);
    }

    fn maybe_prepare_rebalance(&mut self, now: Now, reason: &str, fx: &mut Effects) {
        if matches!(
            self.state,
            ClassicGroupState::Stable
                | ClassicGroupState::CompletingRebalance
                | ClassicGroupState::Empty
        ) {
            self.prepare_rebalance(now, reason, fx);
        }
    }

    /// Completes the join if it can be: everyone rejoined (the initial delay only ends on its
    /// deadline).
    fn maybe_complete_join(&mut self, now: Now, fx: &mut Effects) {
        let Some(r) = &self.rebalance else { return };
        match r.initial {
            Some(_) if r.deadline <= now.at => self.rebalance_expired(now, fx),
            Some(_) => {}
            None if self.all_joined() => self.complete_join(now, fx),
            None => {}
        }
    }

    fn expire_due_rebalance(&mut self, now: Now, fx: &mut Effects) {
        if self
            .rebalance
            .as_ref()
            .is_some_and(|r| r.deadline <= now.at)
        {
            self.rebalance_expired(now, fx);
        }
    }

    /// The rebalance's deadline passed: extend an initial delay that saw new members, else
    /// complete the join with whoever rejoined.
    fn rebalance_expired(&mut self, now: Now, fx: &mut Effects) {
        let new_member_added = self.new_member_added;
        let Some(r) = self.rebalance.as_mut() else {
            return;
        };
        if let Some(initial) = r.initial.as_mut()
            && new_member_added
            && !initial.remaining.is_zero()
        {
            let delay = initial.delay.min(initial.remaining);
            initial.remaining -= delay;
            r.deadline = now.at + delay;
            fx.timers.push(r.deadline);
            self.new_member_added = false;
            return;
        }
        self.complete_join(now, fx);
    }

    /// Ends the join phase: drops members that did not rejoin, starts the next generation and
    /// answers every waiting JoinGroup.
    fn complete_join(&mut self, now: Now, fx: &mut Effects) {
        let gone: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| !m.awaiting_join)
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time");
            self.detach(&id, ResponseError::UnknownMemberId, fx);
        }
        self.rebalance = None;
        self.new_member_added = false;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = ClassicGroupState::Empty;
            self.empty_since_ms = now.ms;
            self.protocol_name = None;
            self.leader = None;
            tracing::info!(group = %self.id, generation = self.generation, "group is empty");
            return;
        }
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.protocol_name = self.select_protocol();
        self.state = ClassicGroupState::CompletingRebalance;
        let results: Vec<(String, JoinResult)> = self
            .members
            .keys()
            .map(|id| (id.clone(), self.join_result(id, self.is_leader(id))))
            .collect();
        for (id, result) in results {
            if let Some(m) = self.members.get_mut(&id) {
                m.is_new = false;
                m.last_heartbeat = now.at;
                if std::mem::take(&mut m.awaiting_join) {
                    fx.joins.push((id, result));
                }
            }
        }
        self.pending_sync = self.members.keys().cloned().collect();
        self.sync_deadline = Some(now.at + self.rebalance_timeout());
        tracing::info!(
            group = %self.id,
            generation = self.generation,
            members = self.members.len(),
            protocol = self.protocol_name.as_deref().unwrap_or(""),
            "rebalance: joined"
        );
    }

    /// Removes a member and rebalances the rest.
    fn remove_member(&mut self, member_id: &str, now: Now, reason: &str, fx: &mut Effects) {
        if !self.detach(member_id, ResponseError::UnknownMemberId, fx) {
            return;
        }
        tracing::info!(group = %self.id, member = member_id, reason, "member removed");
        match self.state {
            ClassicGroupState::Stable | ClassicGroupState::CompletingRebalance => {
                self.prepare_rebalance(now, reason, fx);
                self.maybe_complete_join(now, fx);
            }
            ClassicGroupState::PreparingRebalance => self.maybe_complete_join(now, fx),
            ClassicGroupState::Empty | ClassicGroupState::Dead => {}
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        req: &JoinGroup,
        now: Now,
        fx: &mut Effects,
    ) -> JoinStep {
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member_id.clone());
        }
        if let Some(instance) = &req.group_instance_id {
            self.static_members
                .insert(instance.clone(), member_id.clone());
        }
        self.members.insert(
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
                awaiting_join: true,
                awaiting_sync: false,
                last_heartbeat: now.at,
                is_new: true,
            },
        );
        if self.state == ClassicGroupState::PreparingRebalance && self.generation == 0 {
            self.new_member_added = true;
        }
        self.maybe_prepare_rebalance(now, &format!("adding new member {member_id}"), fx);
        JoinStep::Waiting(member_id)
    }

    fn update_member_and_rebalance(
        &mut self,
        member_id: &str,
        req: &JoinGroup,
        now: Now,
        fx: &mut Effects,
    ) -> JoinStep {
        if let Some(m) = self.members.get_mut(member_id) {
            m.update(req, now.at);
            m.awaiting_join = true;
        }
        self.maybe_prepare_rebalance(now, &format!("member {member_id} rejoined"), fx);
        JoinStep::Waiting(member_id.to_string())
    }

    /// A static member came back under a new member id: the old id is fenced. A stable group
    /// whose member's protocols did not change keeps its assignment, without a rebalance.
    fn replace_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        req: &JoinGroup,
        now: Now,
        fx: &mut Effects,
    ) -> JoinStep {
        let current_leader = self.leader.clone().unwrap_or_default();
        let Some((index, _, mut member)) = self.members.shift_remove_full(old_id) else {
            return self.add_member_and_rebalance(new_id, req, now, fx);
        };
        if std::mem::take(&mut member.awaiting_join) {
            let r = JoinResult::error(ResponseError::FencedInstanceId, old_id);
            fx.joins.push((old_id.to_string(), r));
        }
        if std::mem::take(&mut member.awaiting_sync) {
            let r = SyncResult::error(ResponseError::FencedInstanceId);
            fx.syncs.push((old_id.to_string(), r));
        }
        let unchanged = member.unchanged(req);
        member.update(req, now.at);
        let stay_stable = self.state == ClassicGroupState::Stable && unchanged;
        member.awaiting_join = !stay_stable;
        self.members.shift_insert(index, new_id.clone(), member);
        if let Some(instance) = &req.group_instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        if self.is_leader(old_id) {
            self.leader = Some(new_id.clone());
        }
        if self.pending_sync.remove(old_id) {
            self.pending_sync.insert(new_id.clone());
        }
        tracing::info!(group = %self.id, old = old_id, new = %new_id, "static member replaced");
        if stay_stable {
            let is_leader = self.is_leader(&new_id);
            return JoinStep::Now(if req.supports_skip_assignment {
                let mut r = self.join_result(&new_id, is_leader);
                r.skip_assignment = is_leader;
                r
            } else {
                // The old leader id, so that a returning leader does not assign again: a stable
                // group would not pass a new assignment on.
                let mut r = self.join_result(&new_id, false);
                r.leader = current_leader;
                r
            });
        }
        if self.state != ClassicGroupState::PreparingRebalance {
            self.prepare_rebalance(
                now,
                &format!("static member {new_id} joined with changed protocols or mid-rebalance"),
                fx,
            );
        }
        JoinStep::Waiting(new_id)
    }

    fn join_new_member(
        &mut self,
        req: &JoinGroup,
        new_id: String,
        now: Now,
        fx: &mut Effects,
    ) -> JoinStep {
        if let Some(instance) = &req.group_instance_id {
            if let Some(old) = self.static_members.get(instance).cloned() {
                return self.replace_static_member(&old, new_id, req, now, fx);
            }
        } else if req.require_known_member_id {
            self.pending_members
                .insert(new_id.clone(), now.at + ms(req.session_timeout_ms));
            return JoinStep::Now(JoinResult::error(ResponseError::MemberIdRequired, &new_id));
        }
        self.add_member_and_rebalance(new_id, req, now, fx)
    }

    fn join_known_member(&mut self, req: &JoinGroup, now: Now, fx: &mut Effects) -> JoinStep {
        let id = req.member_id.as_str();
        if self.pending_members.remove(id).is_some() {
            return self.add_member_and_rebalance(id.to_string(), req, now, fx);
        }
        if self.is_fenced(req.group_instance_id.as_deref(), id) {
            return JoinStep::Now(JoinResult::error(ResponseError::FencedInstanceId, id));
        }
        let Some(m) = self.members.get(id) else {
            return JoinStep::Now(JoinResult::error(ResponseError::UnknownMemberId, id));
        };
        let unchanged = m.unchanged(req);
        let is_leader = self.is_leader(id);
        match self.state {
            ClassicGroupState::PreparingRebalance => {
                self.update_member_and_rebalance(id, req, now, fx)
            }
            // It lost its JoinGroup answer: the same one again.
            ClassicGroupState::CompletingRebalance if unchanged => {
                self.touch(id, now);
                JoinStep::Now(self.join_result(id, is_leader))
            }
            ClassicGroupState::Stable if unchanged && !is_leader => {
                self.touch(id, now);
                JoinStep::Now(self.join_result(id, false))
            }
            ClassicGroupState::CompletingRebalance | ClassicGroupState::Stable => {
                self.update_member_and_rebalance(id, req, now, fx)
            }
            ClassicGroupState::Empty | ClassicGroupState::Dead => {
                JoinStep::Now(JoinResult::error(ResponseError::UnknownMemberId, id))
            }
        }
    }

    /// A sign of life from a member.
    fn touch(&mut self, member_id: &str, now: Now) {
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_heartbeat = now.at;
        }
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
mod tests;
