//! Consumer groups on `server-start`: the real binary on a free port, driven by kcat's balanced
//! consumer (librdkafka's group protocol) and by requests built with the `kafka-protocol` crate.
//! Committed offsets land in the data dir, where the embedded `consumer-groups` reads them.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
    CreateTopicsRequest, DeleteGroupsRequest, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, HeartbeatRequest, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    ListGroupsRequest, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest,
    SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tempfile::TempDir;

#[path = "support/broker.rs"]
mod support;
use support::{Broker, CLIENT_ID, Client, HANG_GUARD};

// Kafka error codes the tests expect.
const NONE: i16 = 0;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;
const FENCED_INSTANCE_ID: i16 = 82;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn group_id(v: &str) -> GroupId {
    GroupId(s(v))
}

/// Polls `check` until it gives a value, or fails with what `context` says.
#[track_caller]
fn wait_for<T>(
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}\n{}", context());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn signal(name: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{name} {pid} failed");
}

// ---------------------------------------------------------------------------------------------
// A protocol client.

impl Client {
    fn create_topic(&mut self, name: &str, partitions: i32) {
        let mut topic = CreatableTopic::default();
        topic.name = TopicName(s(name));
        topic.num_partitions = partitions;
        topic.replication_factor = 1;
        let mut req = CreateTopicsRequest::default();
        req.topics = vec![topic];
        req.timeout_ms = 5000;
        let resp = self.call(&req, 5);
        assert_eq!(resp.topics[0].error_code, NONE, "create {name}");
    }

    fn join(&mut self, req: &JoinGroupRequest, version: i16) -> JoinGroupResponse {
        self.call(req, version)
    }

    fn sync(
        &mut self,
        group: &str,
        generation: i32,
        member: &str,
        assignments: &[(&str, Bytes)],
    ) -> SyncGroupResponse {
        let mut req = SyncGroupRequest::default();
        req.group_id = group_id(group);
        req.generation_id = generation;
        req.member_id = s(member);
        req.assignments = assignments
            .iter()
            .map(|(m, a)| {
                let mut x = SyncGroupRequestAssignment::default();
                x.member_id = s(m);
                x.assignment = a.clone();
                x
            })
            .collect();
        self.call(&req, 5)
    }

    fn heartbeat(&mut self, group: &str, generation: i32, member: &str) -> i16 {
        let mut req = HeartbeatRequest::default();
        req.group_id = group_id(group);
        req.generation_id = generation;
        req.member_id = s(member);
        self.call(&req, 4).error_code
    }

    fn describe(&mut self, group: &str) -> DescribeGroupsResponse {
        let mut req = DescribeGroupsRequest::default();
        req.groups = vec![group_id(group)];
        self.call(&req, 5)
    }

    fn commit(
        &mut self,
        group: &str,
        generation: i32,
        member: &str,
        topic: &str,
        offset: i64,
    ) -> i16 {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = 0;
        p.committed_offset = offset;
        p.committed_metadata = Some(s("meta"));
        let mut t = OffsetCommitRequestTopic::default();
        t.name = TopicName(s(topic));
        t.partitions = vec![p];
        let mut req = OffsetCommitRequest::default();
        req.group_id = group_id(group);
        req.generation_id_or_member_epoch = generation;
        req.member_id = s(member);
        req.topics = vec![t];
        let resp = self.call(&req, 8);
        resp.topics[0].partitions[0].error_code
    }

    /// Every committed offset of `group` (OffsetFetch v8, topics null), by (topic, partition).
    fn committed(&mut self, group: &str) -> Vec<((String, i32), i64)> {
        let mut g = OffsetFetchRequestGroup::default();
        g.group_id = group_id(group);
        g.topics = None;
        let mut req = OffsetFetchRequest::default();
        req.groups = vec![g];
        let resp = self.call(&req, 8);
        assert_eq!(resp.groups[0].error_code, NONE);
        let mut out: Vec<((String, i32), i64)> = resp.groups[0]
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    (
                        (t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    )
                })
            })
            .collect();
        out.sort();
        out
    }

    fn list_groups(&mut self, states: &[&str]) -> Vec<(String, String)> {
        let mut req = ListGroupsRequest::default();
        req.states_filter = states.iter().map(|v| s(v)).collect();
        let resp = self.call(&req, 4);
        assert_eq!(resp.error_code, NONE);
        resp.groups
            .iter()
            .map(|g| (g.group_id.0.to_string(), g.group_state.to_string()))
            .collect()
    }

    fn delete_group(&mut self, group: &str) -> i16 {
        let mut req = DeleteGroupsRequest::default();
        req.groups_names = vec![group_id(group)];
        self.call(&req, 2).results[0].error_code
    }
}

/// A consumer's JoinGroup with the consumer protocol, subscribing to `topics`.
fn join_request(group: &str, member: &str, topics: &[&str]) -> JoinGroupRequest {
    let mut p = JoinGroupRequestProtocol::default();
    p.name = s("range");
    p.metadata = subscription(topics);
    let mut req = JoinGroupRequest::default();
    req.group_id = group_id(group);
    req.session_timeout_ms = 10_000;
    req.rebalance_timeout_ms = 10_000;
    req.member_id = s(member);
    req.protocol_type = s("consumer");
    req.protocols = vec![p];
    req
}

/// Consumer protocol metadata: a version, then the subscription.
fn subscription(topics: &[&str]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    let mut sub = ConsumerProtocolSubscription::default();
    sub.topics = topics.iter().map(|t| s(t)).collect();
    sub.encode(&mut buf, 0).unwrap();
    buf.freeze()
}

/// The partitions in a consumer protocol assignment.
fn assigned(bytes: &Bytes) -> BTreeSet<(String, i32)> {
    if bytes.is_empty() {
        return BTreeSet::new();
    }
    let mut b = bytes.clone();
    let version = b.get_i16().min(3);
    let a = ConsumerProtocolAssignment::decode(&mut b, version).expect("assignment");
    a.assigned_partitions
        .iter()
        .flat_map(|tp| tp.partitions.iter().map(|p| (tp.topic.0.to_string(), *p)))
        .collect()
}

fn assignment(partitions: &[(&str, i32)]) -> Bytes {
    let mut a = ConsumerProtocolAssignment::default();
    for (topic, p) in partitions {
        let mut tp =
            kafka_protocol::messages::consumer_protocol_assignment::TopicPartition::default();
        tp.topic = TopicName(s(topic));
        tp.partitions = vec![*p];
        a.assigned_partitions.push(tp);
    }
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    a.encode(&mut buf, 0).unwrap();
    buf.freeze()
}

/// Joins as a new v5 member: MEMBER_ID_REQUIRED, then again with the id it gave.
fn join_new(c: &mut Client, group: &str, topics: &[&str]) -> JoinGroupResponse {
    let first = c.join(&join_request(group, "", topics), 5);
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    c.join(&join_request(group, &first.member_id, topics), 5)
}

// ---------------------------------------------------------------------------------------------
// kcat.

/// kcat, or a failure that says how to get it.
fn kcat() -> &'static str {
    match Command::new("kcat").arg("-V").output() {
        Ok(o) if o.status.success() => "kcat",
        _ => panic!(
            "these tests drive kcat's balanced consumer (librdkafka); install it: apt-get install kcat"
        ),
    }
}

/// A `kcat -G` balanced consumer printing `partition:value` lines.
struct KcatConsumer {
    child: Option<Child>,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
}

impl KcatConsumer {
    fn start(bootstrap: &str, group: &str, topic: &str) -> KcatConsumer {
        let mut child = Command::new(kcat())
            .args(["-u", "-b", bootstrap, "-G", group, "-f", "%p:%s\n"])
            .args(["-X", "auto.offset.reset=earliest"])
            .args(["-X", "heartbeat.interval.ms=300"])
            .args(["-X", "session.timeout.ms=6000"])
            .args(["-X", "auto.commit.interval.ms=100"])
            .args(["-X", "fetch.wait.max.ms=100"])
            .arg(topic)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kcat");
        let lines = |pipe: Box<dyn Read + Send>| {
            let sink = Arc::new(Mutex::new(Vec::new()));
            let s2 = sink.clone();
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    s2.lock().unwrap().push(line);
                }
            });
            sink
        };
        let out = lines(Box::new(child.stdout.take().unwrap()));
        let err = lines(Box::new(child.stderr.take().unwrap()));
        KcatConsumer {
            child: Some(child),
            out,
            err,
        }
    }

    /// Its partitions after its latest rebalance ("% Group g rebalanced (...): assigned: t [0]").
    fn assignment(&self) -> Option<BTreeSet<i32>> {
        let err = self.err.lock().unwrap();
        let last = err.iter().rev().find(|l| l.contains("rebalanced"))?;
        if !last.contains("assigned:") {
            return Some(BTreeSet::new());
        }
        let list = last.split("assigned:").nth(1).unwrap_or("");
        Some(
            list.split('[')
                .skip(1)
                .filter_map(|p| p.split(']').next()?.trim().parse().ok())
                .collect(),
        )
    }

    fn records(&self) -> Vec<String> {
        self.out.lock().unwrap().clone()
    }

    fn dump(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.out.lock().unwrap().join("\n"),
            self.err.lock().unwrap().join("\n")
        )
    }

    /// SIGTERM: kcat closes its consumer, which leaves the group.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        signal("TERM", child.id());
        let deadline = Instant::now() + HANG_GUARD;
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("kcat did not stop\n{}", self.dump());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for KcatConsumer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Produces `values` to one partition with kcat.
fn kcat_produce(bootstrap: &str, topic: &str, partition: i32, values: &[String]) {
    let mut child = Command::new(kcat())
        .args([
            "-P",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-p",
            &partition.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kcat -P");
    let mut stdin = child.stdin.take().unwrap();
    for v in values {
        writeln!(stdin, "{v}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kcat -P failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn kcat_members_split_partitions_and_the_survivor_takes_all_when_one_leaves() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let bootstrap = broker.bootstrap();
    let mut admin = broker.connect();
    admin.create_topic("events", 4);
    for p in 0..4 {
        let values: Vec<String> = (0..5).map(|i| format!("old-{p}-{i}")).collect();
        kcat_produce(&bootstrap, "events", p, &values);
    }

    // One member: it gets all four partitions and reads everything.
    let mut a = KcatConsumer::start(&bootstrap, "g", "events");
    let all: BTreeSet<i32> = (0..4).collect();
    wait_for(
        "the first member to get all partitions",
        || (a.assignment()? == all).then_some(()),
        || format!("{}\nbroker:\n{}", a.dump(), broker.log()),
    );
    wait_for(
        "the first member to read all 20 records",
        || (a.records().len() >= 20).then_some(()),
        || a.dump(),
    );

    // A second member: the two split the partitions, two each, without overlap.
    let mut b = KcatConsumer::start(&bootstrap, "g", "events");
    let (pa, pb) = wait_for(
        "the two members to split the partitions",
        || {
            let (pa, pb) = (a.assignment()?, b.assignment()?);
            (pa.len() == 2 && pb.len() == 2 && pa.union(&pb).count() == 4).then_some((pa, pb))
        },
        || format!("A {}\nB {}\nbroker:\n{}", a.dump(), b.dump(), broker.log()),
    );
    let described = wait_for(
        "DescribeGroups to show a stable group of two",
        || {
            let d = admin.describe("g");
            let g = &d.groups[0];
            (g.group_state.as_str() == "Stable" && g.members.len() == 2).then(|| g.clone())
        },
        || broker.log(),
    );
    assert_eq!(described.protocol_type.as_str(), "consumer");
    assert!(!described.protocol_data.is_empty(), "the chosen assignor");
    let mut from_broker: Vec<BTreeSet<i32>> = described
        .members
        .iter()
        .map(|m| {
            assert!(!m.member_metadata.is_empty());
            assert_eq!(m.client_host.as_str(), "/127.0.0.1");
            assigned(&m.member_assignment)
                .into_iter()
                .map(|(t, p)| {
                    assert_eq!(t, "events");
                    p
                })
                .collect()
        })
        .collect();
    from_broker.sort();
    let mut from_kcat = vec![pa.clone(), pb.clone()];
    from_kcat.sort();
    assert_eq!(
        from_broker, from_kcat,
        "the broker hands out what the leader assigned"
    );

    // New records go to whichever member owns their partition.
    for p in 0..4 {
        kcat_produce(&bootstrap, "events", p, &[format!("new-{p}")]);
    }
    wait_for(
        "each new record to reach its partition's owner",
        || {
            let ok = (0..4).all(|p| {
                let owner = if pa.contains(&p) { &a } else { &b };
                owner.records().contains(&format!("{p}:new-{p}"))
            });
            ok.then_some(())
        },
        || format!("A {}\nB {}", a.dump(), b.dump()),
    );

    // B leaves: A takes everything again.
    b.stop();
    wait_for(
        "the survivor to get all partitions",
        || (a.assignment()? == all).then_some(()),
        || format!("{}\nbroker:\n{}", a.dump(), broker.log()),
    );
    wait_for(
        "DescribeGroups to show one member",
        || (admin.describe("g").groups[0].members.len() == 1).then_some(()),
        || broker.log(),
    );

    // Auto-commits reach the store: 6 records read in each partition.
    let expected: Vec<((String, i32), i64)> = (0..4).map(|p| (("events".into(), p), 6)).collect();
    wait_for(
        "committed offsets at the end of every partition",
        || (admin.committed("g") == expected).then_some(()),
        || a.dump(),
    );

    a.stop();
    wait_for(
        "the group to be empty once its last member left",
        || {
            admin
                .list_groups(&["Empty"])
                .contains(&("g".to_string(), "Empty".to_string()))
                .then_some(())
        },
        || broker.log(),
    );
    broker.stop();

    // The embedded tool reads the same files.
    let out = Command::new(assert_cmd::cargo::cargo_bin("consumer-groups"))
        .args(["--describe", "--group", "g", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in 0..4 {
        let row = stdout
            .lines()
            .find(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[0] == "g" && f[1] == "events" && f[2] == p.to_string()
            })
            .unwrap_or_else(|| panic!("no row for partition {p}:\n{stdout}"));
        let f: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&f[3..6], ["6", "6", "0"], "offset, end, lag: {row}");
    }
}

#[test]
fn kcat_member_killed_without_leaving_is_dropped_after_its_session_timeout() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let bootstrap = broker.bootstrap();
    broker.connect().create_topic("t", 2);
    let a = KcatConsumer::start(&bootstrap, "g", "t");
    wait_for(
        "the first member's assignment",
        || (a.assignment()?.len() == 2).then_some(()),
        || a.dump(),
    );
    let mut b = KcatConsumer::start(&bootstrap, "g", "t");
    wait_for(
        "one partition each",
        || (a.assignment()?.len() == 1 && b.assignment()?.len() == 1).then_some(()),
        || format!("A {}\nB {}", a.dump(), b.dump()),
    );
    // SIGKILL: no LeaveGroup; the 6 s session timeout must notice.
    let killed = Instant::now();
    let mut child = b.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_for(
        "the survivor to get both partitions",
        || (a.assignment()?.len() == 2).then_some(()),
        || format!("{}\nbroker:\n{}", a.dump(), broker.log()),
    );
    let took = killed.elapsed();
    assert!(
        took >= Duration::from_secs(5),
        "the dead member went too early ({took:?})"
    );
    broker.stop();
}

#[test]
fn join_sync_heartbeat_commit_and_leave_follow_kafkas_rules() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c1 = broker.connect();
    c1.create_topic("t", 1);
    c1.create_topic("other", 1);

    // A first join without a member id is sent back for one.
    let first = c1.join(&join_request("g", "", &["t"]), 5);
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    assert!(
        first.member_id.starts_with(&format!("{CLIENT_ID}-")),
        "member id is <client.id>-<uuid>: {}",
        first.member_id
    );
    let m1 = first.member_id.to_string();
    let j1 = c1.join(&join_request("g", &m1, &["t"]), 5);
    assert_eq!(j1.error_code, NONE);
    assert_eq!(j1.generation_id, 1);
    assert_eq!(j1.leader.as_str(), m1);
    assert_eq!(j1.members.len(), 1);

    // SyncGroup: wrong generation, unknown member, then the leader's assignment comes back.
    assert_eq!(c1.sync("g", 7, &m1, &[]).error_code, ILLEGAL_GENERATION);
    assert_eq!(c1.sync("g", 1, "nobody", &[]).error_code, UNKNOWN_MEMBER_ID);
    let a1 = assignment(&[("t", 0)]);
    let s1 = c1.sync("g", 1, &m1, &[(m1.as_str(), a1.clone())]);
    assert_eq!(s1.error_code, NONE);
    assert_eq!(s1.assignment, a1);
    assert_eq!(c1.heartbeat("g", 1, &m1), NONE);
    assert_eq!(c1.heartbeat("g", 0, &m1), ILLEGAL_GENERATION);
    assert_eq!(c1.heartbeat("g", 1, "nobody"), UNKNOWN_MEMBER_ID);

    // Members commit with their generation; outsiders may not while the group has members.
    assert_eq!(c1.commit("g", 1, &m1, "t", 3), NONE);
    assert_eq!(c1.commit("g", 0, &m1, "t", 3), ILLEGAL_GENERATION);
    assert_eq!(c1.commit("g", -1, "", "t", 3), UNKNOWN_MEMBER_ID);
    assert_eq!(c1.committed("g"), [(("t".to_string(), 0), 3)]);

    // A second member joins: the first is told to rejoin.
    let port = broker.port;
    let joiner = thread::spawn(move || {
        let mut c2 = Client::connect(port);
        let j2 = join_new(&mut c2, "g", &["t"]);
        (c2, j2)
    });
    wait_for(
        "the first member to be told to rejoin",
        || (c1.heartbeat("g", 1, &m1) == REBALANCE_IN_PROGRESS).then_some(()),
        || broker.log(),
    );
    assert_eq!(c1.sync("g", 1, &m1, &[]).error_code, REBALANCE_IN_PROGRESS);
    let j1 = c1.join(&join_request("g", &m1, &["t"]), 5);
    let (mut c2, j2) = joiner.join().unwrap();
    let m2 = j2.member_id.to_string();
    assert_eq!((j1.error_code, j2.error_code), (NONE, NONE));
    assert_eq!((j1.generation_id, j2.generation_id), (2, 2));
    assert_eq!(j1.leader.as_str(), m1, "the leader stays the leader");
    assert_eq!(j2.leader.as_str(), m1);
    assert_eq!(j1.members.len(), 2, "the leader gets every member");
    assert!(j2.members.is_empty(), "a follower gets none");
    assert_eq!(
        j1.members
            .iter()
            .map(|m| m.metadata.clone())
            .collect::<Vec<_>>(),
        [subscription(&["t"]), subscription(&["t"])]
    );

    // The follower's SyncGroup waits for the leader's.
    let follower = thread::spawn(move || {
        let r = c2.sync("g", 2, &m2, &[]);
        (c2, m2, r)
    });
    thread::sleep(Duration::from_millis(200));
    assert!(!follower.is_finished(), "the follower waits for the leader");
    let a2 = assignment(&[("t", 0)]);
    let s1 = c1.sync(
        "g",
        2,
        &m1,
        &[
            (m1.as_str(), Bytes::new()),
            (j2.member_id.as_str(), a2.clone()),
        ],
    );
    assert_eq!(s1.error_code, NONE);
    let (mut c2, m2, s2) = follower.join().unwrap();
    assert_eq!(s2.error_code, NONE);
    assert_eq!(s2.assignment, a2);

    let d = c1.describe("g");
    let g = &d.groups[0];
    assert_eq!(g.group_state.as_str(), "Stable");
    assert_eq!(g.protocol_type.as_str(), "consumer");
    assert_eq!(g.protocol_data.as_str(), "range");
    assert_eq!(g.members.len(), 2);
    let member2 = g
        .members
        .iter()
        .find(|m| m.member_id.as_str() == m2)
        .unwrap();
    assert_eq!(member2.client_id.as_str(), CLIENT_ID);
    assert_eq!(member2.member_assignment, a2);
    assert_eq!(member2.member_metadata, subscription(&["t"]));
    assert_eq!(
        c1.list_groups(&["stable"]),
        [("g".to_string(), "Stable".to_string())]
    );
    assert!(c1.list_groups(&["Empty"]).is_empty());

    // Deleting offsets of a subscribed topic, or the group itself, is refused while it has
    // members; unknown groups are not found.
    c1.commit("g", 2, &m1, "other", 9);
    let offset_delete = |c: &mut Client, topic: &str| {
        let mut req = OffsetDeleteRequest::default();
        req.group_id = group_id("g");
        let mut t = OffsetDeleteRequestTopic::default();
        t.name = TopicName(s(topic));
        t.partitions = vec![OffsetDeleteRequestPartition::default()];
        req.topics = vec![t];
        let r = c.call(&req, 0);
        (r.error_code, r.topics[0].partitions[0].error_code)
    };
    assert_eq!(
        offset_delete(&mut c1, "t"),
        (NONE, GROUP_SUBSCRIBED_TO_TOPIC)
    );
    assert_eq!(offset_delete(&mut c1, "other"), (NONE, NONE));
    assert_eq!(c1.committed("g"), [(("t".to_string(), 0), 3)]);
    assert_eq!(c1.delete_group("g"), NON_EMPTY_GROUP);
    assert_eq!(c1.delete_group("no-such-group"), GROUP_ID_NOT_FOUND);

    // Both leave in one batched LeaveGroup (v3+): the group is empty and can be deleted.
    let mut leave = LeaveGroupRequest::default();
    leave.group_id = group_id("g");
    leave.members = [&m1, &m2]
        .iter()
        .map(|m| {
            let mut x = MemberIdentity::default();
            x.member_id = s(m);
            x
        })
        .collect();
    let left = c2.call(&leave, 5);
    assert_eq!(left.error_code, NONE);
    assert_eq!(
        left.members
            .iter()
            .map(|m| m.error_code)
            .collect::<Vec<_>>(),
        [NONE, NONE]
    );
    assert_eq!(c1.describe("g").groups[0].group_state.as_str(), "Empty");
    assert_eq!(c1.heartbeat("g", 2, &m1), UNKNOWN_MEMBER_ID);
    // A simple commit is fine once the group is empty.
    assert_eq!(c1.commit("g", -1, "", "t", 4), NONE);
    assert_eq!(c1.delete_group("g"), NONE);
    assert!(c1.committed("g").is_empty());
    assert_eq!(c1.describe("g").groups[0].group_state.as_str(), "Dead");
    broker.stop();
}

#[test]
fn silent_members_expire_after_their_session_timeout() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &["group.min.session.timeout.ms=100"]);
    let mut c = broker.connect();
    let mut too_short = join_request("g", "", &["t"]);
    too_short.session_timeout_ms = 50;
    assert_eq!(c.join(&too_short, 5).error_code, INVALID_SESSION_TIMEOUT);

    let mut req = join_request("g", "", &["t"]);
    req.session_timeout_ms = 500;
    let first = c.join(&req, 5);
    req.member_id = first.member_id.clone();
    let j = c.join(&req, 5);
    let m = j.member_id.to_string();
    assert_eq!(c.sync("g", 1, &m, &[]).error_code, NONE);
    let joined = Instant::now();
    wait_for(
        "the silent member to be removed",
        || (c.describe("g").groups[0].group_state.as_str() == "Empty").then_some(()),
        || broker.log(),
    );
    assert!(joined.elapsed() >= Duration::from_millis(400));
    assert_eq!(c.heartbeat("g", 1, &m), UNKNOWN_MEMBER_ID);
    broker.stop();
}

#[test]
fn offsets_committed_with_a_retention_expire_and_others_stay() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &["offsets.retention.check.interval.ms=100"]);
    let mut c = broker.connect();
    c.create_topic("t", 1);
    // OffsetCommit v2-v4 carry retention_time_ms; -1 means the broker's default (7 days).
    let commit_v2 = |c: &mut Client, group: &str, offset: i64, retention_ms: i64| {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = 0;
        p.committed_offset = offset;
        let mut t = OffsetCommitRequestTopic::default();
        t.name = TopicName(s("t"));
        t.partitions = vec![p];
        let mut req = OffsetCommitRequest::default();
        req.group_id = group_id(group);
        req.generation_id_or_member_epoch = -1;
        req.retention_time_ms = retention_ms;
        req.topics = vec![t];
        let resp = c.call(&req, 2);
        assert_eq!(resp.topics[0].partitions[0].error_code, NONE);
    };
    commit_v2(&mut c, "short", 3, 300);
    commit_v2(&mut c, "default", 4, -1);
    assert_eq!(c.commit("latest", -1, "", "t", 5), NONE);
    assert_eq!(c.committed("short"), vec![(("t".to_string(), 0), 3)]);
    let committed = Instant::now();
    wait_for(
        "the short-lived offset to expire",
        || c.committed("short").is_empty().then_some(()),
        || broker.log(),
    );
    assert!(committed.elapsed() >= Duration::from_millis(250));
    assert_eq!(c.committed("default"), vec![(("t".to_string(), 0), 4)]);
    assert_eq!(c.committed("latest"), vec![(("t".to_string(), 0), 5)]);
    broker.stop();
}

#[test]
fn an_empty_groups_first_join_waits_the_initial_delay_not_the_session_timeout() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &["group.initial.rebalance.delay.ms=700"]);
    let mut c = broker.connect();
    // kafka-python's default session timeout; Kafka would never hold the join for half of it.
    let mut req = join_request("g", "", &["t"]);
    req.session_timeout_ms = 45_000;
    req.rebalance_timeout_ms = 300_000;
    let first = c.join(&req, 5);
    req.member_id = first.member_id.clone();
    let started = Instant::now();
    let j = c.join(&req, 5);
    let took = started.elapsed();
    assert_eq!((j.error_code, j.generation_id), (NONE, 1));
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_millis(1200),
        "the join took {took:?}, expected the 700 ms initial delay"
    );

    // Two consumers starting together land in one generation.
    let port = broker.port;
    let spawn = move || {
        thread::spawn(move || {
            let mut c = Client::connect(port);
            join_new(&mut c, "g2", &["t"]).generation_id
        })
    };
    let (x, y) = (spawn(), spawn());
    assert_eq!((x.join().unwrap(), y.join().unwrap()), (1, 1));
    broker.stop();
}

#[test]
fn a_static_member_rejoining_with_the_same_protocols_keeps_its_assignment_without_a_rebalance() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    let mut req = join_request("g", "", &["t"]);
    req.group_instance_id = Some(s("instance-1"));
    // Static members are not sent back for a member id.
    let j = c.join(&req, 5);
    assert_eq!((j.error_code, j.generation_id), (NONE, 1));
    let old = j.member_id.to_string();
    let a = assignment(&[("t", 0)]);
    assert_eq!(
        c.sync("g", 1, &old, &[(old.as_str(), a.clone())])
            .error_code,
        NONE
    );

    // Restarted: same instance id, no member id.
    let mut c2 = broker.connect();
    let again = c2.join(&req, 5);
    assert_eq!(again.error_code, NONE);
    assert_eq!(again.generation_id, 1, "no rebalance");
    assert_ne!(again.member_id.as_str(), old, "a new member id");
    assert_eq!(
        again.leader.as_str(),
        old,
        "the old leader id, so that the member does not assign again"
    );
    let new = again.member_id.to_string();
    let s2 = c2.sync("g", 1, &new, &[]);
    assert_eq!(s2.error_code, NONE);
    assert_eq!(s2.assignment, a, "the assignment it had");
    // The old incarnation is fenced.
    let mut hb = HeartbeatRequest::default();
    hb.group_id = group_id("g");
    hb.generation_id = 1;
    hb.member_id = s(&old);
    hb.group_instance_id = Some(s("instance-1"));
    assert_eq!(c.call(&hb, 4).error_code, FENCED_INSTANCE_ID);
    let d = c.describe("g");
    assert_eq!(d.groups[0].group_state.as_str(), "Stable");
    assert_eq!(d.groups[0].members.len(), 1);
    assert_eq!(d.groups[0].members[0].member_id.as_str(), new);
    assert_eq!(
        d.groups[0].members[0].group_instance_id.as_deref(),
        Some("instance-1")
    );
    broker.stop();
}

#[test]
fn every_served_version_encodes_and_apiversions_advertises_exactly_those() {
    let dir = TempDir::new().unwrap();
    let broker = Broker::start(dir.path(), &[]);
    let mut c = broker.connect();
    c.create_topic("t", 1);
    let served = [
        (ApiKey::JoinGroup, 0, 9),
        (ApiKey::SyncGroup, 0, 5),
        (ApiKey::Heartbeat, 0, 4),
        (ApiKey::LeaveGroup, 0, 5),
        (ApiKey::OffsetCommit, 2, 9),
        (ApiKey::OffsetFetch, 1, 9),
        (ApiKey::ListGroups, 0, 5),
        (ApiKey::DescribeGroups, 0, 5),
        (ApiKey::DeleteGroups, 0, 2),
        (ApiKey::OffsetDelete, 0, 0),
    ];
    let versions = c.call(&ApiVersionsRequest::default(), 3);
    for (key, lo, hi) in served {
        let k = versions
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .unwrap_or_else(|| panic!("{key:?} not advertised"));
        assert_eq!((k.min_version, k.max_version), (lo, hi), "{key:?}");
    }

    for v in 0..=9i16 {
        let group = format!("v{v}");
        let mut req = join_request(&group, "", &["t"]);
        if v >= 5 {
            // Static: joins at once, and the response carries instance ids.
            req.group_instance_id = Some(s(&format!("i{v}")));
        }
        if v == 0 {
            req.rebalance_timeout_ms = -1;
        }
        let mut j = c.join(&req, v);
        if v == 4 {
            assert_eq!(j.error_code, MEMBER_ID_REQUIRED, "JoinGroup v4");
            req.member_id = j.member_id.clone();
            j = c.join(&req, v);
        }
        assert_eq!(j.error_code, NONE, "JoinGroup v{v}");
        assert_eq!(j.members.len(), 1, "JoinGroup v{v}");
        let m = j.member_id.to_string();
        let sync_v = v.min(5);
        let mut sync = SyncGroupRequest::default();
        sync.group_id = group_id(&group);
        sync.generation_id = j.generation_id;
        sync.member_id = s(&m);
        if sync_v >= 3 {
            sync.group_instance_id = req.group_instance_id.clone();
        }
        if sync_v >= 5 {
            sync.protocol_type = Some(s("consumer"));
            sync.protocol_name = Some(s("range"));
        }
        let mut x = SyncGroupRequestAssignment::default();
        x.member_id = s(&m);
        x.assignment = assignment(&[("t", 0)]);
        sync.assignments = vec![x];
        assert_eq!(
            c.call(&sync, sync_v).error_code,
            NONE,
            "SyncGroup v{sync_v}"
        );
        let hb_v = v.min(4);
        let mut hb = HeartbeatRequest::default();
        hb.group_id = group_id(&group);
        hb.generation_id = j.generation_id;
        hb.member_id = s(&m);
        if hb_v >= 3 {
            hb.group_instance_id = req.group_instance_id.clone();
        }
        assert_eq!(c.call(&hb, hb_v).error_code, NONE, "Heartbeat v{hb_v}");
        for dv in 0..=5 {
            let mut d = DescribeGroupsRequest::default();
            d.groups = vec![group_id(&group)];
            d.include_authorized_operations = dv >= 3;
            let r = c.call(&d, dv);
            assert_eq!(r.groups[0].members.len(), 1, "DescribeGroups v{dv}");
        }
        if (2..=9).contains(&v) {
            let mut p = OffsetCommitRequestPartition::default();
            p.committed_offset = 1;
            let mut t = OffsetCommitRequestTopic::default();
            t.name = TopicName(s("t"));
            t.partitions = vec![p];
            let mut oc = OffsetCommitRequest::default();
            oc.group_id = group_id(&group);
            oc.generation_id_or_member_epoch = j.generation_id;
            oc.member_id = s(&m);
            if v >= 7 {
                oc.group_instance_id = req.group_instance_id.clone();
            }
            oc.topics = vec![t];
            let r = c.call(&oc, v);
            assert_eq!(
                r.topics[0].partitions[0].error_code, NONE,
                "OffsetCommit v{v}"
            );
        }
        if v >= 1 {
            let mut of = OffsetFetchRequest::default();
            if v >= 8 {
                let mut g = OffsetFetchRequestGroup::default();
                g.group_id = group_id(&group);
                let mut t = OffsetFetchRequestTopics::default();
                t.name = TopicName(s("t"));
                t.partition_indexes = vec![0];
                g.topics = Some(vec![t]);
                of.groups = vec![g];
                let r = c.call(&of, v);
                assert_eq!(r.groups[0].topics[0].partitions[0].committed_offset, 1);
            } else {
                of.group_id = group_id(&group);
                let mut t = OffsetFetchRequestTopic::default();
                t.name = TopicName(s("t"));
                t.partition_indexes = vec![0];
                of.topics = Some(vec![t]);
                let r = c.call(&of, v);
                let expected = if v >= 2 { 1 } else { -1 };
                assert_eq!(
                    r.topics[0].partitions[0].committed_offset, expected,
                    "OffsetFetch v{v}"
                );
            }
        }
        let leave_v = v.min(5);
        let mut leave = LeaveGroupRequest::default();
        leave.group_id = group_id(&group);
        if leave_v >= 3 {
            let mut x = MemberIdentity::default();
            x.member_id = s(&m);
            x.group_instance_id = req.group_instance_id.clone();
            leave.members = vec![x];
        } else {
            leave.member_id = s(&m);
        }
        assert_eq!(
            c.call(&leave, leave_v).error_code,
            NONE,
            "LeaveGroup v{leave_v}"
        );
    }
    for v in 0..=5 {
        let r = c.call(&ListGroupsRequest::default(), v);
        assert_eq!(r.groups.len(), 10, "ListGroups v{v}");
    }
    for v in 0..=2 {
        let mut d = DeleteGroupsRequest::default();
        d.groups_names = vec![group_id(&format!("v{v}"))];
        assert_eq!(
            c.call(&d, v).results[0].error_code,
            NONE,
            "DeleteGroups v{v}"
        );
    }
    broker.stop();
}

#[test]
fn stopping_the_broker_answers_a_join_waiting_for_its_group() {
    let dir = TempDir::new().unwrap();
    // A minute of initial delay: without an answer at shutdown the broker would hang on it.
    let broker = Broker::start(dir.path(), &["group.initial.rebalance.delay.ms=60000"]);
    let port = broker.port;
    let waiting = thread::spawn(move || join_new(&mut Client::connect(port), "g", &["t"]));
    thread::sleep(Duration::from_millis(300));
    assert!(
        !waiting.is_finished(),
        "the join waits for the initial delay"
    );
    let stopping = Instant::now();
    broker.stop();
    assert!(stopping.elapsed() < Duration::from_secs(10));
    const NOT_COORDINATOR: i16 = 16;
    assert_eq!(waiting.join().unwrap().error_code, NOT_COORDINATOR);
}
