//! The group state machine, transition by transition, on a clock the tests set.

use super::*;

/// The wall clock at the tests' time 0.
const EPOCH_MS: i64 = 1_700_000_000_000;

/// Time as the driver would pass it: `at(ms)` is `ms` after the test started.
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Clock(Instant::now())
    }

    fn at(&self, ms: u64) -> Now {
        Now {
            at: self.0 + Duration::from_millis(ms),
            ms: EPOCH_MS + ms as i64,
        }
    }
}

fn config(delay_ms: u64) -> GroupConfig {
    GroupConfig {
        initial_rebalance_delay: Duration::from_millis(delay_ms),
        min_session_timeout: Duration::from_millis(6_000),
        max_session_timeout: Duration::from_millis(1_800_000),
    }
}

/// A consumer subscription (version 0) to `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut b = vec![0u8, 0];
    b.extend((topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend((t.len() as i16).to_be_bytes());
        b.extend(t.as_bytes());
    }
    b.extend((-1i32).to_be_bytes());
    Bytes::from(b)
}

fn protocols(names: &[&str], topics: &[&str]) -> Vec<(String, Bytes)> {
    names
        .iter()
        .map(|n| (n.to_string(), subscription(topics)))
        .collect()
}

/// A JoinGroup of v4+ (a first join gets MEMBER_ID_REQUIRED): session 10 s, rebalance 30 s,
/// protocol `range` over topic `t`.
fn req(member_id: &str) -> JoinGroup {
    JoinGroup {
        group_id: "g".into(),
        member_id: member_id.into(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: CONSUMER_PROTOCOL.into(),
        protocols: protocols(&["range"], &["t"]),
        require_known_member_id: true,
        supports_skip_assignment: false,
    }
}

/// A first join that gets a member id at once (before v4).
fn new_member() -> JoinGroup {
    JoinGroup {
        require_known_member_id: false,
        ..req("")
    }
}

/// A first join of a static member.
fn static_member(instance: &str) -> JoinGroup {
    JoinGroup {
        group_instance_id: Some(instance.into()),
        ..req("")
    }
}

fn sync_req(member_id: &str, generation_id: i32, assignments: &[(&str, &str)]) -> SyncGroup {
    SyncGroup {
        group_id: "g".into(),
        generation_id,
        member_id: member_id.into(),
        group_instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, a)| (m.to_string(), Bytes::copy_from_slice(a.as_bytes())))
            .collect(),
    }
}

fn ms_after(clock: &Clock, at: Instant) -> u64 {
    (at - clock.0).as_millis() as u64
}

/// The JoinGroup answer `fx` sends to `member`.
fn join_answer<'a>(fx: &'a Effects, member: &str) -> &'a JoinResult {
    fx.joins
        .iter()
        .find(|(m, _)| m == member)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no JoinGroup answer for {member}: {fx:?}"))
}

/// The SyncGroup answer `fx` sends to `member`.
fn sync_answer<'a>(fx: &'a Effects, member: &str) -> &'a SyncResult {
    fx.syncs
        .iter()
        .find(|(m, _)| m == member)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no SyncGroup answer for {member}: {fx:?}"))
}

fn dynamic(ids: &[&'static str]) -> Vec<(&'static str, JoinGroup)> {
    ids.iter().map(|id| (*id, new_member())).collect()
}

/// First joins at 0 into an empty group (initial delay 3 s), each member getting the id given
/// with it, then the timers the group asks for until the join completes: generation 1,
/// CompletingRebalance, the first member leads. Returns the group and when the join completed.
fn joined(members: &[(&str, JoinGroup)], clock: &Clock) -> (Group, u64) {
    let mut g = Group::new("g", &config(3_000), clock.at(0).ms);
    let mut timers = Vec::new();
    for (id, r) in members {
        let (step, fx) = g.join(r, id.to_string(), clock.at(0));
        assert_eq!(step, JoinStep::Waiting(id.to_string()));
        timers.extend(fx.timers);
    }
    loop {
        let t = ms_after(clock, timers.pop().expect("a timer to wait for"));
        let fx = g.rebalance_timer(clock.at(t));
        if g.state() == ClassicGroupState::CompletingRebalance {
            assert_eq!(fx.joins.len(), members.len(), "every join answered");
            assert_eq!(g.generation(), 1);
            return (g, t);
        }
        timers.extend(fx.timers);
    }
}

/// [`joined`], then every member syncs, the leader last, assigning each member
/// `assigned-<id>`: Stable at generation 1.
fn stable(members: &[(&str, JoinGroup)], clock: &Clock) -> (Group, u64) {
    let (mut g, t) = joined(members, clock);
    for (id, _) in &members[1..] {
        let (step, fx) = g.sync(sync_req(id, 1, &[]), clock.at(t));
        assert_eq!(step, SyncStep::Waiting(id.to_string()));
        assert!(fx.syncs.is_empty(), "followers wait for the leader");
    }
    let assignments: Vec<(String, String)> = members
        .iter()
        .map(|(id, _)| (id.to_string(), format!("assigned-{id}")))
        .collect();
    let assignments: Vec<(&str, &str)> = assignments
        .iter()
        .map(|(m, a)| (m.as_str(), a.as_str()))
        .collect();
    let (_, fx) = g.sync(sync_req(members[0].0, 1, &assignments), clock.at(t));
    assert_eq!(fx.syncs.len(), members.len(), "every sync answered");
    assert_eq!(g.state(), ClassicGroupState::Stable);
    (g, t)
}

#[test]
fn a_first_join_is_told_to_come_back_with_a_member_id_then_waits_out_the_initial_delay() {
    let clock = Clock::new();
    let mut g = Group::new("g", &config(3_000), EPOCH_MS);
    let (step, fx) = g.join(&req(""), "c-1".into(), clock.at(0));
    assert_eq!(
        step,
        JoinStep::Now(JoinResult::error(ResponseError::MemberIdRequired, "c-1"))
    );
    assert_eq!(fx, Effects::default());
    assert_eq!(g.state(), ClassicGroupState::Empty);
    assert!(g.member_ids().is_empty());
    assert_eq!(
        g.delete(),
        GroupDeletion::NonEmpty,
        "a member id handed out holds the group"
    );

    // An id the group never handed out is refused.
    let (step, _) = g.join(&req("c-9"), String::new(), clock.at(50));
    assert_eq!(
        step,
        JoinStep::Now(JoinResult::error(ResponseError::UnknownMemberId, "c-9"))
    );

    // Back with its id: a member, waiting for the initial delay.
    let (step, fx) = g.join(&req("c-1"), String::new(), clock.at(100));
    assert_eq!(step, JoinStep::Waiting("c-1".into()));
    assert!(fx.joins.is_empty());
    assert_eq!(fx.timers, [clock.at(3_100).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(g.member_ids(), ["c-1"]);

    assert_eq!(g.rebalance_timer(clock.at(3_099)), Effects::default());
    let fx = g.rebalance_timer(clock.at(3_100));
    assert_eq!(
        fx.joins,
        [(
            "c-1".to_string(),
            JoinResult {
                error: 0,
                generation_id: 1,
                protocol_type: Some(CONSUMER_PROTOCOL.into()),
                protocol_name: Some("range".into()),
                leader: "c-1".into(),
                member_id: "c-1".into(),
                skip_assignment: false,
                members: vec![JoinedMember {
                    member_id: "c-1".into(),
                    group_instance_id: None,
                    metadata: subscription(&["t"]),
                }],
            }
        )]
    );
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
    assert_eq!(g.generation(), 1);
}

#[test]
fn without_an_initial_delay_a_lone_first_join_completes_at_once() {
    let clock = Clock::new();
    let mut g = Group::new("g", &config(0), EPOCH_MS);
    let (step, fx) = g.join(&new_member(), "a".into(), clock.at(0));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    assert_eq!(join_answer(&fx, "a").generation_id, 1);
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
}

#[test]
fn members_joining_during_the_initial_delay_extend_it_up_to_the_rebalance_timeout() {
    let clock = Clock::new();
    let mut g = Group::new("g", &config(3_000), EPOCH_MS);
    let member = |names: &[&str]| JoinGroup {
        rebalance_timeout_ms: 5_000,
        protocols: protocols(names, &["t"]),
        ..new_member()
    };
    let (_, fx) = g.join(&member(&["roundrobin", "range"]), "a".into(), clock.at(0));
    assert_eq!(fx.timers, [clock.at(3_000).at]);
    let (_, fx) = g.join(
        &member(&["range", "roundrobin"]),
        "b".into(),
        clock.at(1_000),
    );
    assert_eq!(fx, Effects::default(), "already preparing");

    // b arrived during the delay: it is extended, by what is left of the rebalance timeout.
    let fx = g.rebalance_timer(clock.at(3_000));
    assert!(fx.joins.is_empty());
    assert_eq!(fx.timers, [clock.at(5_000).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);

    // c arrives too, but the rebalance timeout is used up: no further extension.
    let (_, fx) = g.join(&member(&["range"]), "c".into(), clock.at(4_000));
    assert_eq!(fx, Effects::default());
    let fx = g.rebalance_timer(clock.at(5_000));
    assert!(fx.timers.is_empty());
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
    let a = join_answer(&fx, "a");
    assert_eq!((a.generation_id, a.leader.as_str()), (1, "a"));
    // The leader's first choice that every member supports (c has no roundrobin).
    assert_eq!(a.protocol_name.as_deref(), Some("range"));
    let seen: Vec<&str> = a.members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(seen, ["a", "b", "c"], "the leader sees every member");
    for follower in ["b", "c"] {
        let r = join_answer(&fx, follower);
        assert_eq!((r.generation_id, r.leader.as_str()), (1, "a"));
        assert!(r.members.is_empty(), "followers see no members");
    }
}

#[test]
fn the_leaders_sync_makes_the_group_stable_and_answers_every_waiting_sync() {
    let clock = Clock::new();
    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    assert_eq!(t, 6_000, "b extended the initial delay once");

    let (step, fx) = g.sync(sync_req("b", 1, &[]), clock.at(t + 10));
    assert_eq!(step, SyncStep::Waiting("b".into()));
    assert_eq!(fx, Effects::default());
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);

    let (step, fx) = g.sync(
        sync_req("a", 1, &[("a", "A"), ("b", "B"), ("gone", "X")]),
        clock.at(t + 20),
    );
    assert_eq!(step, SyncStep::Waiting("a".into()));
    assert_eq!(g.state(), ClassicGroupState::Stable);
    let expect = |assignment: &'static [u8]| SyncResult {
        error: 0,
        protocol_type: Some(CONSUMER_PROTOCOL.into()),
        protocol_name: Some("range".into()),
        assignment: Bytes::from_static(assignment),
    };
    assert_eq!(sync_answer(&fx, "a"), &expect(b"A"));
    assert_eq!(sync_answer(&fx, "b"), &expect(b"B"));
    assert_eq!(fx.syncs.len(), 2);

    // A sync in Stable (a lost answer) is answered at once with the same assignment.
    let (step, fx) = g.sync(sync_req("b", 1, &[]), clock.at(t + 30));
    assert_eq!(step, SyncStep::Now(expect(b"B")));
    assert_eq!(fx, Effects::default());
}

#[test]
fn a_sync_is_refused_for_an_unknown_member_a_stale_generation_another_protocol_or_mid_rebalance() {
    let clock = Clock::new();
    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let refused = |e: ResponseError| SyncStep::Now(SyncResult::error(e));
    let now = clock.at(t);
    assert_eq!(
        g.sync(sync_req("x", 1, &[]), now).0,
        refused(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        g.sync(sync_req("b", 2, &[]), now).0,
        refused(ResponseError::IllegalGeneration)
    );
    let other_protocol = SyncGroup {
        protocol_name: Some("roundrobin".into()),
        ..sync_req("b", 1, &[])
    };
    assert_eq!(
        g.sync(other_protocol, now).0,
        refused(ResponseError::InconsistentGroupProtocol)
    );
    let (_, _) = g.join(&new_member(), "c".into(), now);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(
        g.sync(sync_req("b", 1, &[]), now).0,
        refused(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn a_rebalance_before_the_leaders_sync_fails_the_waiting_syncs() {
    let clock = Clock::new();
    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let (_, _) = g.sync(sync_req("b", 1, &[]), clock.at(t));
    let (step, fx) = g.join(&new_member(), "c".into(), clock.at(t + 1));
    assert_eq!(step, JoinStep::Waiting("c".into()));
    assert_eq!(
        fx.syncs,
        [(
            "b".to_string(),
            SyncResult::error(ResponseError::RebalanceInProgress)
        )]
    );
    assert_eq!(fx.timers, [clock.at(t + 1 + 30_000).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
}

#[test]
fn a_second_member_joining_a_stable_group_starts_a_rebalance_the_first_rejoins() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a"]), &clock);
    assert_eq!(t, 3_000);

    // A member id handed out does not disturb the group.
    let (step, _) = g.join(&req(""), "b".into(), clock.at(t + 10));
    assert_eq!(
        step,
        JoinStep::Now(JoinResult::error(ResponseError::MemberIdRequired, "b"))
    );
    assert_eq!(g.state(), ClassicGroupState::Stable);

    let (step, fx) = g.join(&req("b"), String::new(), clock.at(t + 20));
    assert_eq!(step, JoinStep::Waiting("b".into()));
    assert!(fx.joins.is_empty(), "a has not rejoined");
    assert_eq!(fx.timers, [clock.at(t + 20 + 30_000).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(1, "a", None, clock.at(t + 30)),
        Err(ResponseError::RebalanceInProgress)
    );

    let (step, fx) = g.join(&req("a"), String::new(), clock.at(t + 40));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
    assert_eq!(g.generation(), 2);
    let a = join_answer(&fx, "a");
    assert_eq!(
        (a.generation_id, a.leader.as_str(), a.members.len()),
        (2, "a", 2)
    );
    let b = join_answer(&fx, "b");
    assert_eq!(
        (b.generation_id, b.leader.as_str(), b.members.len()),
        (2, "a", 0)
    );
}

#[test]
fn a_member_that_lost_its_join_answer_gets_it_again_and_a_follower_rejoining_stable_changes_nothing()
 {
    let clock = Clock::new();
    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let (step, fx) = g.join(&req("a"), String::new(), clock.at(t + 1));
    let JoinStep::Now(r) = step else {
        panic!("answered at once: {step:?}")
    };
    assert_eq!(
        (r.generation_id, r.leader.as_str(), r.members.len()),
        (1, "a", 2)
    );
    assert_eq!(fx, Effects::default());
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);

    let (mut g, t) = stable(&dynamic(&["a", "b"]), &clock);
    let (step, fx) = g.join(&req("b"), String::new(), clock.at(t + 1));
    let JoinStep::Now(r) = step else {
        panic!("answered at once: {step:?}")
    };
    assert_eq!((r.generation_id, r.members.len()), (1, 0));
    assert_eq!(fx, Effects::default());
    assert_eq!(g.state(), ClassicGroupState::Stable);
    // The leader rejoining asks for a new assignment: a rebalance.
    let (step, _) = g.join(&req("a"), String::new(), clock.at(t + 2));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
}

#[test]
fn a_member_without_a_protocol_in_common_is_refused() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a"]), &clock);
    let other = JoinGroup {
        protocols: protocols(&["roundrobin"], &["t"]),
        ..new_member()
    };
    let refused = JoinStep::Now(JoinResult::error(
        ResponseError::InconsistentGroupProtocol,
        "",
    ));
    assert_eq!(g.join(&other, "b".into(), clock.at(t)).0, refused);
    let connect = JoinGroup {
        protocol_type: "connect".into(),
        ..new_member()
    };
    assert_eq!(g.join(&connect, "b".into(), clock.at(t)).0, refused);
    assert_eq!(g.state(), ClassicGroupState::Stable);
    assert_eq!(g.member_ids(), ["a"]);

    // Only the other members count: a alone may change protocols (and rebalances at once).
    let changed = JoinGroup {
        member_id: "a".into(),
        ..other
    };
    let (step, fx) = g.join(&changed, String::new(), clock.at(t + 1));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    let a = join_answer(&fx, "a");
    assert_eq!(a.generation_id, 2);
    assert_eq!(a.protocol_name.as_deref(), Some("roundrobin"));
}

#[test]
fn a_silent_member_is_expelled_when_its_session_times_out_and_the_rest_rebalance() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a", "b"]), &clock);
    assert_eq!(g.heartbeat(1, "a", None, clock.at(t + 5_000)), Ok(()));
    assert_eq!(g.tick(clock.at(t + 9_999)), Effects::default());
    assert_eq!(g.member_ids(), ["a", "b"]);

    let fx = g.tick(clock.at(t + 10_000));
    assert_eq!(
        fx,
        Effects {
            joins: vec![],
            syncs: vec![],
            timers: vec![clock.at(t + 10_000 + 30_000).at],
        }
    );
    assert_eq!(g.member_ids(), ["a"]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(1, "b", None, clock.at(t + 10_001)),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        g.heartbeat(1, "a", None, clock.at(t + 10_001)),
        Err(ResponseError::RebalanceInProgress)
    );
    let (_, fx) = g.join(&req("a"), String::new(), clock.at(t + 10_002));
    let a = join_answer(&fx, "a");
    assert_eq!((a.generation_id, a.members.len()), (2, 1));
}

#[test]
fn the_last_member_expiring_leaves_the_group_empty_since_then() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a"]), &clock);
    let fx = g.tick(clock.at(t + 10_000));
    assert!(fx.joins.is_empty() && fx.syncs.is_empty());
    assert_eq!(g.state(), ClassicGroupState::Empty);
    assert_eq!(g.generation(), 2);
    assert_eq!(g.leader(), None);
    assert_eq!(
        g.retention_view(),
        RetentionView::Empty {
            since_ms: clock.at(t + 10_000).ms
        }
    );
    // The rebalance that emptied it is over: its timer finds nothing to do.
    let deadline = ms_after(&clock, fx.timers[0]);
    assert_eq!(g.rebalance_timer(clock.at(deadline)), Effects::default());
    assert_eq!(g.state(), ClassicGroupState::Empty);
}

#[test]
fn the_rebalance_timeout_drops_members_that_did_not_rejoin() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a", "b"]), &clock);
    let (step, fx) = g.join(&new_member(), "c".into(), clock.at(t + 1_000));
    assert_eq!(step, JoinStep::Waiting("c".into()));
    let deadline = clock.at(t + 31_000).at;
    assert_eq!(fx.timers, [deadline]);
    let (step, fx) = g.join(&req("a"), String::new(), clock.at(t + 2_000));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    assert!(fx.joins.is_empty(), "b has not rejoined");
    // Heartbeats keep b's session, not its place in the next generation.
    assert_eq!(
        g.heartbeat(1, "b", None, clock.at(t + 9_000)),
        Err(ResponseError::RebalanceInProgress)
    );

    // A timer before the deadline (an earlier rebalance's) does nothing.
    assert_eq!(g.rebalance_timer(clock.at(t + 30_999)), Effects::default());
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);

    let fx = g.rebalance_timer(clock.at(t + 31_000));
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
    assert_eq!(g.generation(), 2);
    assert_eq!(g.member_ids(), ["a", "c"]);
    assert_eq!(fx.joins.len(), 2, "b had no JoinGroup waiting: {fx:?}");
    let a = join_answer(&fx, "a");
    let seen: Vec<&str> = a.members.iter().map(|m| m.member_id.as_str()).collect();
    assert_eq!(seen, ["a", "c"]);
    assert_eq!(join_answer(&fx, "c").generation_id, 2);
    assert_eq!(
        g.heartbeat(2, "b", None, clock.at(t + 31_001)),
        Err(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_new_member_waiting_in_a_rebalance_outlives_its_session_but_not_the_new_member_join_timeout() {
    let clock = Clock::new();
    let patient = JoinGroup {
        session_timeout_ms: 600_000,
        ..new_member()
    };
    let (mut g, t) = stable(&[("a", patient)], &clock);
    let slow = JoinGroup {
        rebalance_timeout_ms: 600_000,
        ..new_member()
    };
    let (step, _) = g.join(&slow, "c".into(), clock.at(t));
    assert_eq!(step, JoinStep::Waiting("c".into()));

    // Past c's 10 s session, but it is waiting in a join: kept.
    assert_eq!(g.tick(clock.at(t + 20_000)), Effects::default());
    assert_eq!(g.member_ids(), ["a", "c"]);

    let left = ms_after(&clock, clock.at(t).at + NEW_MEMBER_JOIN_TIMEOUT);
    let fx = g.tick(clock.at(left));
    assert_eq!(
        fx.joins,
        [(
            "c".to_string(),
            JoinResult::error(ResponseError::UnknownMemberId, "c")
        )]
    );
    assert_eq!(g.member_ids(), ["a"]);
    assert_eq!(
        g.state(),
        ClassicGroupState::PreparingRebalance,
        "still waiting for a"
    );
}

#[test]
fn a_member_that_never_syncs_is_removed_when_the_rebalance_timeout_passes() {
    let clock = Clock::new();
    let long_session = JoinGroup {
        session_timeout_ms: 60_000,
        ..new_member()
    };
    let (mut g, t) = joined(&[("a", long_session.clone()), ("b", long_session)], &clock);
    let (_, fx) = g.sync(sync_req("a", 1, &[("a", "A"), ("b", "B")]), clock.at(t));
    assert_eq!(fx.syncs.len(), 1, "only the leader had a sync waiting");
    assert_eq!(g.state(), ClassicGroupState::Stable);

    assert_eq!(g.tick(clock.at(t + 29_999)), Effects::default());
    let fx = g.tick(clock.at(t + 30_000));
    assert_eq!(fx.timers, [clock.at(t + 60_000).at]);
    assert_eq!(g.member_ids(), ["a"]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
}

#[test]
fn an_unused_member_id_expires_and_stops_holding_the_rebalance() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a"]), &clock);
    let (step, _) = g.join(&req(""), "p".into(), clock.at(t));
    assert_eq!(
        step,
        JoinStep::Now(JoinResult::error(ResponseError::MemberIdRequired, "p"))
    );
    // a rejoins with another subscription: a rebalance, which waits for p too.
    let changed = JoinGroup {
        protocols: protocols(&["range"], &["t", "u"]),
        ..req("a")
    };
    let (step, fx) = g.join(&changed, String::new(), clock.at(t + 1));
    assert_eq!(step, JoinStep::Waiting("a".into()));
    assert!(fx.joins.is_empty());
    assert_eq!(g.tick(clock.at(t + 9_999)), Effects::default());

    // p's session timeout passes without its join.
    let fx = g.tick(clock.at(t + 10_000));
    let a = join_answer(&fx, "a");
    assert_eq!((a.generation_id, a.members.len()), (2, 1));
    assert_eq!(g.state(), ClassicGroupState::CompletingRebalance);
}

#[test]
fn leaving_rebalances_the_rest_and_unknown_members_are_told_so() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a", "b"]), &clock);
    let (outcomes, fx) = g.leave(&[("b".into(), None), ("x".into(), None)], clock.at(t + 1));
    assert_eq!(outcomes, [Ok(()), Err(ResponseError::UnknownMemberId)]);
    assert_eq!(fx.timers, [clock.at(t + 1 + 30_000).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(g.member_ids(), ["a"]);
    let (_, fx) = g.join(&req("a"), String::new(), clock.at(t + 2));
    let a = join_answer(&fx, "a");
    assert_eq!((a.generation_id, a.members.len()), (2, 1));

    // An id handed out but never used may leave too.
    let (_, _) = g.join(&req(""), "p".into(), clock.at(t + 3));
    let (outcomes, _) = g.leave(&[("p".into(), None)], clock.at(t + 4));
    assert_eq!(outcomes, [Ok(())]);
    let (step, _) = g.join(&req("p"), String::new(), clock.at(t + 5));
    assert_eq!(
        step,
        JoinStep::Now(JoinResult::error(ResponseError::UnknownMemberId, "p"))
    );
}

#[test]
fn an_empty_group_goes_dead_when_deleted_and_a_group_with_members_is_kept() {
    let clock = Clock::new();
    let (mut g, t) = stable(&dynamic(&["a"]), &clock);
    assert_eq!(g.delete(), GroupDeletion::NonEmpty);
    assert!(!g.dead_if_empty());
    assert_eq!(g.state(), ClassicGroupState::Stable);

    let (outcomes, _) = g.leave(&[("a".into(), None)], clock.at(t + 1));
    assert_eq!(outcomes, [Ok(())]);
    assert_eq!(g.state(), ClassicGroupState::Empty);
    assert_eq!(g.generation(), 2);
    assert_eq!(g.delete(), GroupDeletion::Removed);
    assert_eq!(g.state(), ClassicGroupState::Dead);

    // Offset expiration's way: an Empty group with nothing pending goes Dead.
    let mut g = Group::new("h", &config(0), EPOCH_MS);
    assert_eq!(g.retention_view(), RetentionView::Standalone);
    let (_, _) = g.join(&req(""), "p".into(), clock.at(0));
    assert!(!g.dead_if_empty(), "a member id handed out holds it");
    let (_, _) = g.leave(&[("p".into(), None)], clock.at(1));
    assert!(g.dead_if_empty());
    assert_eq!(g.state(), ClassicGroupState::Dead);
}

#[test]
fn a_static_member_coming_back_to_a_stable_group_takes_over_its_place_and_fences_the_old_id() {
    let clock = Clock::new();
    let (mut g, t) = stable(&[("a1", static_member("ia")), ("b", new_member())], &clock);

    // a's client restarts: no member id, same instance, same protocols.
    let (step, fx) = g.join(&static_member("ia"), "a2".into(), clock.at(t + 100));
    let JoinStep::Now(r) = step else {
        panic!("answered at once: {step:?}")
    };
    assert_eq!(r.member_id, "a2");
    assert_eq!(r.generation_id, 1);
    assert_eq!(
        r.leader, "a1",
        "the old leader id: a returning leader must not assign again"
    );
    assert!(r.members.is_empty() && !r.skip_assignment);
    assert_eq!(fx, Effects::default());
    assert_eq!(g.state(), ClassicGroupState::Stable, "no rebalance");
    assert_eq!(g.member_ids(), ["a2", "b"]);
    assert_eq!(g.leader(), Some("a2"));
    let d = g.describe();
    assert_eq!(d.members[0].member_id, "a2");
    assert_eq!(d.members[0].assignment, Bytes::from_static(b"assigned-a1"));

    // The zombie is fenced everywhere; the new id is the member.
    let now = clock.at(t + 200);
    assert_eq!(
        g.heartbeat(1, "a1", Some("ia"), now),
        Err(ResponseError::FencedInstanceId)
    );
    // Fenced comes before the other checks.
    assert_eq!(
        g.heartbeat(7, "a1", Some("ia"), now),
        Err(ResponseError::FencedInstanceId)
    );
    assert_eq!(g.heartbeat(1, "a2", Some("ia"), now), Ok(()));
    let zombie = JoinGroup {
        member_id: "a1".into(),
        ..static_member("ia")
    };
    assert_eq!(
        g.join(&zombie, String::new(), now).0,
        JoinStep::Now(JoinResult::error(ResponseError::FencedInstanceId, "a1"))
    );
    let zombie_sync = SyncGroup {
        group_instance_id: Some("ia".into()),
        ..sync_req("a1", 1, &[])
    };
    assert_eq!(
        g.sync(zombie_sync, now).0,
        SyncStep::Now(SyncResult::error(ResponseError::FencedInstanceId))
    );
    assert_eq!(
        validate_offset_commit(Some(&mut g), 1, "a1", Some("ia"), now),
        Err(ResponseError::FencedInstanceId)
    );

    // A v9 client is told it leads but must not assign.
    let v9 = JoinGroup {
        supports_skip_assignment: true,
        ..static_member("ia")
    };
    let (step, _) = g.join(&v9, "a3".into(), clock.at(t + 300));
    let JoinStep::Now(r) = step else {
        panic!("answered at once: {step:?}")
    };
    assert_eq!((r.leader.as_str(), r.skip_assignment), ("a3", true));
    assert_eq!(r.members.len(), 2);
    assert_eq!(g.state(), ClassicGroupState::Stable);

    // Leaving: by an old id it is fenced; by the instance id alone it works.
    let (outcomes, _) = g.leave(&[("a2".into(), Some("ia".into()))], clock.at(t + 400));
    assert_eq!(outcomes, [Err(ResponseError::FencedInstanceId)]);
    let (outcomes, _) = g.leave(&[(String::new(), Some("ia".into()))], clock.at(t + 500));
    assert_eq!(outcomes, [Ok(())]);
    assert_eq!(g.member_ids(), ["b"]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    let (outcomes, _) = g.leave(&[(String::new(), Some("ia".into()))], clock.at(t + 600));
    assert_eq!(outcomes, [Err(ResponseError::UnknownMemberId)]);
}

#[test]
fn a_static_member_coming_back_mid_rebalance_or_changed_rebalances_and_its_old_sync_is_fenced() {
    let clock = Clock::new();
    let (mut g, t) = joined(&[("a", new_member()), ("b1", static_member("ib"))], &clock);
    let (step, _) = g.sync(sync_req("b1", 1, &[]), clock.at(t));
    assert_eq!(step, SyncStep::Waiting("b1".into()));

    let changed = JoinGroup {
        protocols: protocols(&["roundrobin", "range"], &["t"]),
        ..static_member("ib")
    };
    let (step, fx) = g.join(&changed, "b2".into(), clock.at(t + 1));
    assert_eq!(step, JoinStep::Waiting("b2".into()));
    assert_eq!(
        fx.syncs,
        [(
            "b1".to_string(),
            SyncResult::error(ResponseError::FencedInstanceId)
        )]
    );
    assert!(fx.joins.is_empty());
    assert_eq!(fx.timers, [clock.at(t + 1 + 30_000).at]);
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(g.member_ids(), ["a", "b2"]);

    let (_, fx) = g.join(&req("a"), String::new(), clock.at(t + 2));
    assert_eq!(g.generation(), 2);
    let a = join_answer(&fx, "a");
    let seen: Vec<(&str, Option<&str>)> = a
        .members
        .iter()
        .map(|m| (m.member_id.as_str(), m.group_instance_id.as_deref()))
        .collect();
    assert_eq!(seen, [("a", None), ("b2", Some("ib"))]);
    assert_eq!(a.protocol_name.as_deref(), Some("range"));
    assert_eq!(join_answer(&fx, "b2").generation_id, 2);

    // Stable now; b comes back with other protocols again: a Stable group rebalances too.
    let (_, _) = g.sync(sync_req("b2", 2, &[]), clock.at(t + 3));
    let (_, _) = g.sync(
        sync_req("a", 2, &[("a", "A"), ("b2", "B")]),
        clock.at(t + 3),
    );
    assert_eq!(g.state(), ClassicGroupState::Stable);
    let (step, fx) = g.join(&static_member("ib"), "b3".into(), clock.at(t + 4));
    assert_eq!(step, JoinStep::Waiting("b3".into()));
    assert!(fx.joins.is_empty() && fx.syncs.is_empty());
    assert_eq!(g.state(), ClassicGroupState::PreparingRebalance);
    assert_eq!(g.member_ids(), ["a", "b3"]);
    assert_eq!(
        g.heartbeat(2, "a", None, clock.at(t + 5)),
        Err(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn heartbeats_are_answered_by_the_members_standing_and_the_groups_state() {
    let clock = Clock::new();
    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let now = clock.at(t + 1);
    assert_eq!(
        g.heartbeat(1, "a", None, now),
        Ok(()),
        "CompletingRebalance"
    );
    assert_eq!(
        g.heartbeat(1, "x", None, now),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        g.heartbeat(0, "a", None, now),
        Err(ResponseError::IllegalGeneration)
    );
    let (_, _) = g.sync(sync_req("a", 1, &[]), now);
    assert_eq!(g.state(), ClassicGroupState::Stable);
    assert_eq!(g.heartbeat(1, "b", None, now), Ok(()));

    // A heartbeat keeps the session: b heartbeats, a does not.
    assert_eq!(g.heartbeat(1, "b", None, clock.at(t + 8_000)), Ok(()));
    // a's last sign of life was its sync at t + 1.
    let _ = g.tick(clock.at(t + 10_001));
    assert_eq!(g.member_ids(), ["b"]);
    assert_eq!(
        g.heartbeat(1, "b", None, clock.at(t + 10_002)),
        Err(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn offset_commits_are_checked_against_the_member_and_its_generation() {
    let clock = Clock::new();
    let now = clock.at(0);
    // A group the coordinator does not know takes simple commits only.
    assert_eq!(validate_offset_commit(None, -1, "", None, now), Ok(()));
    assert_eq!(
        validate_offset_commit(None, 1, "m", None, now),
        Err(ResponseError::IllegalGeneration)
    );

    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let now = clock.at(t);
    let mut check = |generation, member: &str, now| {
        validate_offset_commit(Some(&mut g), generation, member, None, now)
    };
    assert_eq!(check(1, "a", now), Err(ResponseError::RebalanceInProgress));
    assert_eq!(check(2, "a", now), Err(ResponseError::IllegalGeneration));
    assert_eq!(check(1, "x", now), Err(ResponseError::UnknownMemberId));
    assert_eq!(
        check(-1, "", now),
        Err(ResponseError::UnknownMemberId),
        "a simple commit would race the members"
    );

    let (_, _) = g.sync(sync_req("a", 1, &[]), now);
    let (_, _) = g.sync(sync_req("b", 1, &[]), now);
    let mut check = |generation, member: &str, now| {
        validate_offset_commit(Some(&mut g), generation, member, None, now)
    };
    assert_eq!(check(1, "a", now), Ok(()));
    assert_eq!(check(0, "a", now), Err(ResponseError::IllegalGeneration));
    // A commit is a sign of life: a commits, b is silent.
    assert_eq!(check(1, "a", clock.at(t + 9_000)), Ok(()));
    let _ = g.tick(clock.at(t + 10_000));
    assert_eq!(g.member_ids(), ["a"]);

    let (_, _) = g.leave(&[("a".into(), None)], clock.at(t + 10_001));
    assert_eq!(g.state(), ClassicGroupState::Empty);
    let now = clock.at(t + 10_002);
    assert_eq!(
        validate_offset_commit(Some(&mut g), -1, "", None, now),
        Ok(())
    );
    assert_eq!(
        validate_offset_commit(Some(&mut g), 2, "a", None, now),
        Err(ResponseError::UnknownMemberId)
    );
}

#[test]
fn shutdown_answers_every_waiting_request_with_not_coordinator() {
    let clock = Clock::new();
    let mut g = Group::new("g", &config(3_000), EPOCH_MS);
    let (_, _) = g.join(&new_member(), "a".into(), clock.at(0));
    assert_eq!(
        g.shutdown().joins,
        [(
            "a".to_string(),
            JoinResult::error(ResponseError::NotCoordinator, "a")
        )]
    );
    assert_eq!(g.shutdown(), Effects::default(), "nothing waits any more");

    let (mut g, t) = joined(&dynamic(&["a", "b"]), &clock);
    let (_, _) = g.sync(sync_req("b", 1, &[]), clock.at(t));
    let fx = g.shutdown();
    assert!(fx.joins.is_empty());
    assert_eq!(
        fx.syncs,
        [(
            "b".to_string(),
            SyncResult::error(ResponseError::NotCoordinator)
        )]
    );
}

#[test]
fn joins_are_checked_against_the_brokers_bounds_before_any_group() {
    let c = config(0);
    assert_eq!(check_join(&c, &req("")), Ok(()));
    let no_group = JoinGroup {
        group_id: String::new(),
        ..req("")
    };
    assert_eq!(
        check_join(&c, &no_group),
        Err(ResponseError::InvalidGroupId)
    );
    for session_timeout_ms in [-1, 5_999, 1_800_001] {
        let r = JoinGroup {
            session_timeout_ms,
            ..req("")
        };
        assert_eq!(
            check_join(&c, &r),
            Err(ResponseError::InvalidSessionTimeout),
            "{session_timeout_ms}"
        );
    }
    let no_protocols = JoinGroup {
        protocols: Vec::new(),
        ..req("")
    };
    assert_eq!(
        check_join(&c, &no_protocols),
        Err(ResponseError::InconsistentGroupProtocol)
    );
    let no_type = JoinGroup {
        protocol_type: String::new(),
        ..req("")
    };
    assert_eq!(
        check_join(&c, &no_type),
        Err(ResponseError::InconsistentGroupProtocol)
    );
}

#[test]
fn describe_retention_and_offset_deletion_follow_the_state_and_the_subscriptions() {
    let clock = Clock::new();
    let member = |topics: &[&str]| JoinGroup {
        protocols: protocols(&["range"], topics),
        ..new_member()
    };
    let (mut g, t) = joined(&[("a", member(&["t"])), ("b", member(&["u", "t"]))], &clock);
    let d = g.describe();
    assert_eq!(d.state, ClassicGroupState::CompletingRebalance);
    assert_eq!(d.protocol_type, CONSUMER_PROTOCOL);
    assert_eq!(d.protocol_name, "", "only while Stable");
    assert!(d.members.iter().all(|m| m.metadata.is_empty()));
    assert_eq!(g.retention_view(), RetentionView::Active);
    let topics: HashSet<String> = ["t".to_string(), "u".to_string()].into();
    assert_eq!(
        g.offset_delete_check(),
        OffsetDeleteCheck::Subscribed(Some(topics.clone()))
    );

    let (_, _) = g.sync(sync_req("a", 1, &[("a", "A"), ("b", "B")]), clock.at(t));
    let d = g.describe();
    assert_eq!(d.protocol_name, "range");
    assert_eq!(d.members[1].metadata, subscription(&["u", "t"]));
    assert_eq!(d.members[1].assignment, Bytes::from_static(b"B"));
    assert_eq!(d.members[1].client_host, "/127.0.0.1");
    assert_eq!(g.retention_view(), RetentionView::Subscribed(topics));
    let l = g.listing();
    assert_eq!(
        (l.group_id.as_str(), l.protocol_type.as_str(), l.state),
        ("g", CONSUMER_PROTOCOL, ClassicGroupState::Stable)
    );

    // Metadata that is not a subscription: nothing can be told, so nothing may go.
    let mut odd = Group::new("o", &config(0), EPOCH_MS);
    let garbage = JoinGroup {
        protocols: vec![("range".into(), Bytes::from_static(b"x"))],
        ..new_member()
    };
    let (_, _) = odd.join(&garbage, "z".into(), clock.at(0));
    assert_eq!(
        odd.offset_delete_check(),
        OffsetDeleteCheck::Subscribed(None)
    );
    let mut connect = Group::new("k", &config(0), EPOCH_MS);
    let worker = JoinGroup {
        protocol_type: "connect".into(),
        ..new_member()
    };
    let (_, _) = connect.join(&worker, "w".into(), clock.at(0));
    assert_eq!(connect.offset_delete_check(), OffsetDeleteCheck::NonEmpty);
    assert_eq!(
        Group::new("e", &config(0), EPOCH_MS).offset_delete_check(),
        OffsetDeleteCheck::Empty
    );
}

#[test]
fn subscriptions_parse_from_consumer_metadata() {
    // version 1, topics ["a", "bc"], user data null, owned partitions [].
    let bytes = [
        0u8, 1, 0, 0, 0, 2, 0, 1, b'a', 0, 2, b'b', b'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
    ];
    assert_eq!(parse_subscription(&bytes).unwrap(), ["a", "bc"]);
    assert_eq!(
        parse_subscription(&subscription(&["t", "u"])).unwrap(),
        ["t", "u"]
    );
    assert_eq!(parse_subscription(b"x"), None);
}
