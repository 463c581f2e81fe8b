#!/usr/bin/env bash
# Reference Apache Kafka harness for streamlog tests.
#
# Fetches Apache Kafka jars from Maven Central (via mvn) into a cache outside
# the repo and runs Kafka's own tools, a single-node KRaft broker or a three-node KRaft
# cluster with them.
# See tests/kafka-ref/README.md for usage and the DumpLogSegments output format.
#
# Environment:
#   STREAMLOG_KAFKA_VERSION   Kafka version (default below)
#   STREAMLOG_KAFKA_CACHE     cache root (default ~/.cache/streamlog/kafka)
#   STREAMLOG_KAFKA_JAVA_OPTS extra JVM options (default: -Xmx512m)
#   STREAMLOG_KAFKA_CLUSTER_JAVA_OPTS JVM options of each cluster node (default:
#                             -Xms64m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
#   STREAMLOG_KAFKA_LOG_LEVEL log4j2 root level for tools/broker, and the slf4j-simple level
#                             of Connect (default: WARN)
#   STREAMLOG_KAFKA_CONNECT_VERSION   Kafka Connect version (default 4.2.0: connect-file, the
#                             quickstart's file connectors, is not published at 4.4.0)
#   STREAMLOG_KAFKA_CONNECT_JAVA_OPTS JVM options of connect-run (default:
#                             -Xms64m -Xmx256m -XX:+UseSerialGC)
#   STREAMLOG_KAFKA_STREAMS_VERSION   Kafka Streams version (default 4.2.0: kafka-streams-examples,
#                             the quickstart's WordCountDemo, is not published at 4.4.0)
#   STREAMLOG_KAFKA_STREAMS_JAVA_OPTS JVM options of streams-run (default:
#                             -Xms64m -Xmx256m -XX:+UseSerialGC)
set -euo pipefail

KAFKA_VERSION="${STREAMLOG_KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION="${STREAMLOG_KAFKA_LOG4J_VERSION:-2.25.5}" # matches log4j-core pulled by Kafka 4.4.0
CACHE_ROOT="${STREAMLOG_KAFKA_CACHE:-${HOME:-/tmp}/.cache/streamlog/kafka}"
VDIR="$CACHE_ROOT/$KAFKA_VERSION"
LIB="$VDIR/lib"
LOG4J_CONF="$VDIR/log4j2.properties"
read -r -a JAVA_OPTS <<<"${STREAMLOG_KAFKA_JAVA_OPTS:--Xmx512m}"
# Kafka Connect runs on its own classpath at its own version (runtime, json, file and clients
# all at CONNECT_VERSION): the 4.2.0 connect-file jar does not load in a 4.4.0 worker.
CONNECT_VERSION="${STREAMLOG_KAFKA_CONNECT_VERSION:-4.2.0}"
SLF4J_VERSION=1.7.36 # the slf4j-api that connect-runtime 4.2.0 depends on
CVDIR="$CACHE_ROOT/connect-$CONNECT_VERSION"
CLIB="$CVDIR/lib"
CPLUGINS="$CVDIR/plugins"
read -r -a CONNECT_JAVA_OPTS <<<"${STREAMLOG_KAFKA_CONNECT_JAVA_OPTS:--Xms64m -Xmx256m -XX:+UseSerialGC}"
# Kafka Streams likewise: kafka-streams-examples, kafka-streams and kafka-clients all at
# STREAMS_VERSION, on their own classpath.
STREAMS_VERSION="${STREAMLOG_KAFKA_STREAMS_VERSION:-4.2.0}"
SVDIR="$CACHE_ROOT/streams-$STREAMS_VERSION"
SLIB="$SVDIR/lib"
read -r -a STREAMS_JAVA_OPTS <<<"${STREAMLOG_KAFKA_STREAMS_JAVA_OPTS:--Xms64m -Xmx256m -XX:+UseSerialGC}"

die() { echo "kafka.sh: $*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $0 fetch                      ensure jars are cached, print lib dir
       $0 classpath                  print the classpath
       $0 run CLASS [ARGS...]        run a Kafka main class
       $0 dump-log FILE.log...       DumpLogSegments --deep-iteration --print-data-log
       $0 broker-start PORT DATADIR  start a single-node KRaft broker on 127.0.0.1:PORT
                                     (controller on 127.0.0.1:\${CONTROLLER_PORT:-PORT+1})
       $0 broker-stop DATADIR        stop the broker started in DATADIR
       $0 single-node-properties     print the server.properties lines a one-node broker
                                     needs (for scripts writing their own listeners)
       $0 cluster-start BASEPORT DATADIR
                                     start a three-node KRaft cluster (nodes 1-3, each
                                     broker+controller) on 127.0.0.1: clients on BASEPORT..+2,
                                     controllers on BASEPORT+3..+5; waits for 3 live brokers
       $0 cluster-stop DATADIR [--kill]
                                     stop every node of the cluster in DATADIR (SIGTERM, or
                                     SIGKILL with --kill)
       $0 node-stop DATADIR ID [--kill]
                                     stop node ID (1-3) of the cluster in DATADIR: SIGTERM and
                                     wait (controlled shutdown), or SIGKILL at once with --kill
       $0 node-start DATADIR ID      start node ID of the cluster in DATADIR again (same
                                     ports and data); returns once its client port is open
       $0 connect-fetch              ensure Kafka Connect \$STREAMLOG_KAFKA_CONNECT_VERSION (4.2.0)
                                     is cached, print its lib dir
       $0 connect-classpath          print Connect's classpath (without connect-file)
       $0 connect-plugin-path        print the connect-file jar (the quickstart's plugin.path)
       $0 connect-run CLASS [ARGS...]
                                     run a Connect main class, e.g.
                                     org.apache.kafka.connect.cli.ConnectStandalone
       $0 streams-fetch              ensure Kafka Streams \$STREAMLOG_KAFKA_STREAMS_VERSION (4.2.0)
                                     with its examples is cached, print its lib dir
       $0 streams-classpath          print the Streams classpath
       $0 streams-run CLASS [ARGS...]
                                     run a class on it, e.g.
                                     org.apache.kafka.streams.examples.wordcount.WordCountDemo
EOF
  exit 2
}

write_log4j_conf() {
  cat >"$1" <<'EOF'
# Quiet log4j2 config for streamlog's Kafka reference harness: everything to stderr.
status = error
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:streamlog.kafka.log.level:-WARN}
rootLogger.appenderRef.stderr.ref = STDERR
EOF
}

write_pom() {
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom generated by streamlog tests/kafka-ref/kafka.sh; only used to fetch jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.streamlog</groupId>
  <artifactId>kafka-ref</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka 4.x uses slf4j 1.7 + log4j2; this is the binding its distribution ships. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

is_cached() { [[ -f "$VDIR/.complete" && -f "$LIB/kafka_2.13-$KAFKA_VERSION.jar" && -f "$LOG4J_CONF" ]]; }

fetch() {
  is_cached && return 0
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka $KAFKA_VERSION)"
  mkdir -p "$VDIR"
  # Serialise concurrent fetches (parallel tests).
  exec 9>"$VDIR/.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if ! is_cached; then
    write_pom "$VDIR/pom.xml"
    rm -rf "$LIB.tmp"
    if ! mvn -B -q -f "$VDIR/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" </dev/null >"$VDIR/fetch.log" 2>&1; then
      cat "$VDIR/fetch.log" >&2
      die "fetching Kafka $KAFKA_VERSION with Maven failed (log: $VDIR/fetch.log)"
    fi
    [[ -f "$LIB.tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
    rm -rf "$LIB"
    mv "$LIB.tmp" "$LIB"
    write_log4j_conf "$LOG4J_CONF"
    touch "$VDIR/.complete"
  fi
  exec 9>&-
}

classpath() { printf '%s/*' "$LIB"; }

# java invocation with cached jars and quiet logging; used via exec or in background.
java_cmd() {
  JAVA_CMD=(java "${JAVA_OPTS[@]}"
    -Dlog4j2.configurationFile="$LOG4J_CONF"
    -Dlog4j.configuration="file:$LOG4J_CONF"
    -Dstreamlog.kafka.log.level="${STREAMLOG_KAFKA_LOG_LEVEL:-WARN}"
    -cp "$(classpath)" "$@")
}

run() {
  [[ $# -ge 1 ]] || usage
  fetch
  java_cmd "$@"
  exec "${JAVA_CMD[@]}"
}

# DumpLogSegments moved from core (kafka.tools) to kafka-tools (org.apache.kafka.tools) in 4.x.
dump_log_class() {
  if grep -q -a 'org/apache/kafka/tools/DumpLogSegments.class' "$LIB/kafka-tools-$KAFKA_VERSION.jar" 2>/dev/null; then
    echo org.apache.kafka.tools.DumpLogSegments
  else
    echo kafka.tools.DumpLogSegments
  fi
}

dump_log() {
  [[ $# -ge 1 ]] || usage
  fetch
  local files
  files="$(IFS=,; echo "$*")"
  run "$(dump_log_class)" --deep-iteration --print-data-log --files "$files"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Settings every single-node broker needs: internal topics of one replica, no join delay.
single_node_properties() {
  cat <<'EOF'
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

broker_start() {
  [[ $# -eq 2 ]] || usage
  local port="$1" data="$2" cport="${CONTROLLER_PORT:-$(($1 + 1))}"
  fetch
  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  if [[ -f "$data/broker.pid" ]] && kill -0 "$(cat "$data/broker.pid")" 2>/dev/null; then
    die "broker already running (pid $(cat "$data/broker.pid"))"
  fi
  port_open "$port" && die "port 127.0.0.1:$port already in use"
  port_open "$cport" && die "controller port 127.0.0.1:$cport already in use"
  cat >"$data/server.properties" <<EOF
# Single-node KRaft reference broker (streamlog tests). Loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data/logs
$(single_node_properties)
auto.create.topics.enable=true
EOF
  if [[ ! -f "$data/logs/meta.properties" ]]; then
    local id
    java_cmd kafka.tools.StorageTool random-uuid
    id="$("${JAVA_CMD[@]}" </dev/null)"
    java_cmd kafka.tools.StorageTool format --standalone -t "$id" -c "$data/server.properties"
    "${JAVA_CMD[@]}" </dev/null >"$data/format.log" 2>&1 || { cat "$data/format.log" >&2; die "storage format failed"; }
  fi
  java_cmd kafka.Kafka "$data/server.properties"
  spawn_broker "$data" broker
  wait_broker_port "$data" "$port" broker 60
}

# Starts "${JAVA_CMD[@]}" detached from our stdio (so callers capturing output don't hang)
# and, where setsid exists, in its own session, with DIR/broker.pid and DIR/broker.log.
# The child writes its own pid, then execs java.
spawn_broker() {
  local dir="$1" what="$2" setsid=() pid="" i
  command -v setsid >/dev/null && setsid=(setsid)
  rm -f "$dir/broker.pid"
  "${setsid[@]}" bash -c 'echo $$ >"$0"; exec "$@"' "$dir/broker.pid" "${JAVA_CMD[@]}" \
    </dev/null >"$dir/broker.log" 2>&1 &
  for ((i = 0; i < 100; i++)); do
    [[ -s "$dir/broker.pid" ]] && pid="$(cat "$dir/broker.pid")" && break
    sleep 0.05
  done
  [[ -n "$pid" ]] || die "$what process did not start"
}

# Waits up to SECS for the process spawn_broker started in DIR to accept connections on
# 127.0.0.1:PORT; dies with the tail of its log if it exits first.
wait_broker_port() {
  local dir="$1" port="$2" what="$3" secs="$4" pid i
  pid="$(cat "$dir/broker.pid")"
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 50 "$dir/broker.log" >&2
      rm -f "$dir/broker.pid"
      die "$what exited during startup (log: $dir/broker.log)"
    fi
    port_open "$port" && return 0
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$dir/broker.pid"
  die "$what did not open 127.0.0.1:$port within ${secs}s (log: $dir/broker.log)"
}

broker_stop() {
  [[ $# -eq 1 ]] || usage
  stop_pid_dir "$1" TERM
}

# Stops the process whose pid is in DIR/broker.pid: SIGTERM, up to 30 s for a clean shutdown,
# then SIGKILL; or SIGKILL at once when SIG is KILL. A no-op if it is not running.
stop_pid_dir() {
  local pidf="$1/broker.pid" sig="$2" pid i
  [[ -f "$pidf" ]] || return 0
  pid="$(cat "$pidf")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do # up to 30 s for a clean shutdown
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

# --- three-node cluster ----------------------------------------------------------------------
#
# DATADIR/cluster.env   BASEPORT and CLUSTER_ID
# DATADIR/node-N/       server.properties, logs/, format.log, broker.log, broker.pid
# Node N (1-3): client listener 127.0.0.1:BASEPORT+N-1, controller 127.0.0.1:BASEPORT+N+2.

read -r -a CLUSTER_JAVA_OPTS <<<"${STREAMLOG_KAFKA_CLUSTER_JAVA_OPTS:--Xms64m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"

cluster_load() { # DATADIR: sets CDATA, BASEPORT, CLUSTER_ID
  [[ -f "$1/cluster.env" ]] || die "no cluster in $1 (no cluster.env; see cluster-start)"
  CDATA="$(cd "$1" && pwd)"
  BASEPORT="$(sed -n 's/^BASEPORT=//p' "$CDATA/cluster.env")"
  CLUSTER_ID="$(sed -n 's/^CLUSTER_ID=//p' "$CDATA/cluster.env")"
  [[ "$BASEPORT" =~ ^[0-9]+$ ]] || die "bad $CDATA/cluster.env"
}

node_id_ok() { [[ "$1" =~ ^[123]$ ]] || die "node id must be 1, 2 or 3, not '$1'"; }
node_running() { [[ -f "$1/broker.pid" ]] && kill -0 "$(cat "$1/broker.pid")" 2>/dev/null; }

# How many brokers the cluster's Metadata lists (KRaft leaves fenced brokers out), as
# BrokerApiVersionsCommand prints them: one "host:port (id: N rack: ... ) -> (" line each.
live_brokers() {
  local saved=("${JAVA_OPTS[@]}") out
  JAVA_OPTS=(-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
  java_cmd org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$1"
  JAVA_OPTS=("${saved[@]}")
  out="$(timeout 30 "${JAVA_CMD[@]}" </dev/null 2>/dev/null)" || true
  grep -c '(id: [0-9]* rack: .*) -> (' <<<"$out" || true
}

write_node_properties() { # NODEDIR ID BASEPORT
  local dir="$1" id="$2" base="$3"
  local port=$((base + id - 1)) cport=$((base + id + 2))
  cat >"$dir/server.properties" <<EOF
# Node $id of a three-node KRaft reference cluster (streamlog tests). Loopback only.
process.roles=broker,controller
node.id=$id
controller.quorum.bootstrap.servers=127.0.0.1:$((base + 3)),127.0.0.1:$((base + 4)),127.0.0.1:$((base + 5))
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
default.replication.factor=3
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
share.coordinator.state.topic.num.partitions=3
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# Fewer threads: three JVMs share a small machine.
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
EOF
}

# Starts node ID's JVM (its storage already formatted); does not wait.
node_launch() {
  local id="$1" dir="$CDATA/node-$1" port=$((BASEPORT + $1 - 1)) saved=("${JAVA_OPTS[@]}")
  node_running "$dir" && die "node $id already running (pid $(cat "$dir/broker.pid"))"
  port_open "$port" && die "port 127.0.0.1:$port (node $id) already in use"
  JAVA_OPTS=("${CLUSTER_JAVA_OPTS[@]}")
  java_cmd kafka.Kafka "$dir/server.properties"
  JAVA_OPTS=("${saved[@]}")
  spawn_broker "$dir" "node $id"
}

cluster_start() {
  [[ $# -eq 2 ]] || usage
  local base="$1" data="$2" id p i n=0 bs
  [[ "$base" =~ ^[0-9]+$ ]] && ((base > 0 && base + 5 <= 65535)) || die "bad BASEPORT '$base'"
  fetch
  mkdir -p "$data"
  data="$(cd "$data" && pwd)"
  for id in 1 2 3; do
    node_running "$data/node-$id" && die "node $id already running (pid $(cat "$data/node-$id/broker.pid"))"
  done
  for ((p = base; p <= base + 5; p++)); do
    port_open "$p" && die "port 127.0.0.1:$p already in use"
  done
  if [[ -f "$data/cluster.env" ]]; then
    cluster_load "$data"
    [[ "$BASEPORT" == "$base" ]] || die "the cluster in $data was made with BASEPORT $BASEPORT"
  else
    # The cluster id and one metadata directory id per controller, all from StorageTool
    # random-uuid (four JVMs at once); all three nodes are formatted with the same
    # --initial-controllers (a dynamic quorum of the three).
    local uuids=() voters=""
    for i in 0 1 2 3; do
      java_cmd kafka.tools.StorageTool random-uuid
      "${JAVA_CMD[@]}" </dev/null >"$data/.uuid-$i" 2>&1 &
    done
    wait
    for i in 0 1 2 3; do
      uuids+=("$(tr -d '[:space:]' <"$data/.uuid-$i")")
      [[ "${uuids[$i]}" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid printed: ${uuids[$i]}"
      rm -f "$data/.uuid-$i"
    done
    for id in 1 2 3; do
      voters+="${voters:+,}$id@127.0.0.1:$((base + id + 2)):${uuids[$id]}"
    done
    for id in 1 2 3; do
      mkdir -p "$data/node-$id"
      write_node_properties "$data/node-$id" "$id" "$base"
      java_cmd kafka.tools.StorageTool format -t "${uuids[0]}" \
        -c "$data/node-$id/server.properties" --initial-controllers "$voters"
      "${JAVA_CMD[@]}" </dev/null >"$data/node-$id/format.log" 2>&1 &
    done
    wait
    for id in 1 2 3; do
      [[ -f "$data/node-$id/logs/meta.properties" ]] ||
        { cat "$data/node-$id/format.log" >&2; die "storage format of node $id failed"; }
    done
    printf 'BASEPORT=%s\nCLUSTER_ID=%s\n' "$base" "${uuids[0]}" >"$data/cluster.env"
    cluster_load "$data"
  fi
  # Whatever fails from here on, no node is left running.
  trap 'cluster_stop "$CDATA" --kill >/dev/null 2>&1' EXIT
  for id in 1 2 3; do node_launch "$id"; done
  for id in 1 2 3; do
    wait_broker_port "$CDATA/node-$id" $((BASEPORT + id - 1)) "node $id" 90
  done
  # The client ports open before the brokers have registered and been unfenced.
  bs="127.0.0.1:$BASEPORT,127.0.0.1:$((BASEPORT + 1)),127.0.0.1:$((BASEPORT + 2))"
  for ((i = 0; i < 30; i++)); do
    n="$(live_brokers "$bs")"
    [[ "$n" == 3 ]] && { trap - EXIT; return 0; }
    for id in 1 2 3; do
      node_running "$CDATA/node-$id" ||
        { tail -n 50 "$CDATA/node-$id/broker.log" >&2; die "node $id exited during startup"; }
    done
    sleep 1
  done
  die "the cluster in $CDATA did not reach 3 live brokers (last count: $n; logs: $CDATA/node-*/broker.log)"
}

# Parses [--kill|-9] anywhere among the arguments: sets STOP_SIG and STOP_ARGS.
stop_args() {
  STOP_SIG=TERM STOP_ARGS=()
  local a
  for a in "$@"; do
    case "$a" in --kill|-9) STOP_SIG=KILL ;; *) STOP_ARGS+=("$a") ;; esac
  done
}

cluster_stop() {
  stop_args "$@"
  [[ ${#STOP_ARGS[@]} -eq 1 ]] || usage
  local data="${STOP_ARGS[0]}" id
  # All three at once: stopped one by one, the last would wait for a controller quorum
  # that is already gone.
  for id in 1 2 3; do
    [[ -d "$data/node-$id" ]] && stop_pid_dir "$data/node-$id" "$STOP_SIG" &
  done
  wait
}

node_stop() {
  stop_args "$@"
  [[ ${#STOP_ARGS[@]} -eq 2 ]] || usage
  cluster_load "${STOP_ARGS[0]}"
  node_id_ok "${STOP_ARGS[1]}"
  stop_pid_dir "$CDATA/node-${STOP_ARGS[1]}" "$STOP_SIG"
}

node_start() {
  [[ $# -eq 2 ]] || usage
  cluster_load "$1"
  node_id_ok "$2"
  fetch
  node_launch "$2"
  wait_broker_port "$CDATA/node-$2" $((BASEPORT + $2 - 1)) "node $2" 90
}

# --- Kafka Connect ---------------------------------------------------------------------------
#
# CVDIR/lib/       connect-runtime, connect-json, kafka-clients (all CONNECT_VERSION), their
#                  dependencies, slf4j-simple (the log binding)
# CVDIR/plugins/   connect-file-CONNECT_VERSION.jar, off the classpath as in Kafka's distribution
#                  (kafka-run-class.sh leaves it out since 3.1.1/3.2.0, KAFKA-13748): the file
#                  connectors are found only through plugin.path, which the quickstart points at
#                  this jar.

write_connect_pom() {
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom generated by streamlog tests/kafka-ref/kafka.sh; only used to fetch jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.streamlog</groupId>
  <artifactId>kafka-connect-ref</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>$CONNECT_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>$CONNECT_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-file</artifactId><version>$CONNECT_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>$CONNECT_VERSION</version></dependency>
    <!-- connect-runtime logs through slf4j 1.7 and brings no binding; this one logs to stderr. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

connect_plugin_jar() { printf '%s/connect-file-%s.jar' "$CPLUGINS" "$CONNECT_VERSION"; }

connect_is_cached() {
  [[ -f "$CVDIR/.complete" && -f "$CLIB/connect-runtime-$CONNECT_VERSION.jar" && -f "$(connect_plugin_jar)" ]]
}

connect_fetch() {
  connect_is_cached && return 0
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka Connect $CONNECT_VERSION)"
  mkdir -p "$CVDIR"
  exec 9>"$CVDIR/.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if ! connect_is_cached; then
    write_connect_pom "$CVDIR/pom.xml"
    rm -rf "$CLIB.tmp" "$CPLUGINS.tmp"
    if ! mvn -B -q -f "$CVDIR/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$CLIB.tmp" </dev/null >"$CVDIR/fetch.log" 2>&1; then
      cat "$CVDIR/fetch.log" >&2
      die "fetching Kafka Connect $CONNECT_VERSION with Maven failed (log: $CVDIR/fetch.log)"
    fi
    local j
    for j in connect-runtime connect-json connect-file kafka-clients; do
      [[ -f "$CLIB.tmp/$j-$CONNECT_VERSION.jar" ]] || die "$j-$CONNECT_VERSION.jar missing after fetch"
    done
    mkdir -p "$CPLUGINS.tmp"
    mv "$CLIB.tmp/connect-file-$CONNECT_VERSION.jar" "$CPLUGINS.tmp/"
    rm -rf "$CLIB" "$CPLUGINS"
    mv "$CLIB.tmp" "$CLIB"
    mv "$CPLUGINS.tmp" "$CPLUGINS"
    touch "$CVDIR/.complete"
  fi
  exec 9>&-
}

connect_classpath() { printf '%s/*' "$CLIB"; }

connect_run() {
  [[ $# -ge 1 ]] || usage
  connect_fetch
  local level="${STREAMLOG_KAFKA_LOG_LEVEL:-WARN}"
  exec java "${CONNECT_JAVA_OPTS[@]}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${level,,}" \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd HH:mm:ss,SSS" \
    -Dorg.slf4j.simpleLogger.showShortLogName=true \
    -cp "$(connect_classpath)" "$@"
}

# --- Kafka Streams ---------------------------------------------------------------------------
#
# SVDIR/lib/   kafka-streams-examples, kafka-streams, kafka-clients (all STREAMS_VERSION), their
#              runtime dependencies (rocksdbjni among them: its jar carries the native library,
#              unpacked to java.io.tmpdir at the first RocksDB store), slf4j-simple (the binding)

write_streams_pom() {
  cat >"$1" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom generated by streamlog tests/kafka-ref/kafka.sh; only used to fetch jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.streamlog</groupId>
  <artifactId>kafka-streams-ref</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-streams-examples</artifactId><version>$STREAMS_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-streams</artifactId><version>$STREAMS_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>$STREAMS_VERSION</version></dependency>
    <!-- kafka-streams logs through slf4j 1.7 and brings no binding; this one logs to stderr. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

streams_is_cached() {
  [[ -f "$SVDIR/.complete" && -f "$SLIB/kafka-streams-examples-$STREAMS_VERSION.jar" ]]
}

streams_fetch() {
  streams_is_cached && return 0
  command -v mvn >/dev/null || die "mvn not found (needed to fetch Kafka Streams $STREAMS_VERSION)"
  mkdir -p "$SVDIR"
  exec 9>"$SVDIR/.lock"
  if command -v flock >/dev/null; then flock 9; fi
  if ! streams_is_cached; then
    write_streams_pom "$SVDIR/pom.xml"
    rm -rf "$SLIB.tmp"
    if ! mvn -B -q -f "$SVDIR/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$SLIB.tmp" </dev/null >"$SVDIR/fetch.log" 2>&1; then
      cat "$SVDIR/fetch.log" >&2
      die "fetching Kafka Streams $STREAMS_VERSION with Maven failed (log: $SVDIR/fetch.log)"
    fi
    local j
    for j in kafka-streams-examples kafka-streams kafka-clients; do
      [[ -f "$SLIB.tmp/$j-$STREAMS_VERSION.jar" ]] || die "$j-$STREAMS_VERSION.jar missing after fetch"
    done
    compgen -G "$SLIB.tmp/rocksdbjni-*.jar" >/dev/null || die "rocksdbjni missing after fetch"
    rm -rf "$SLIB"
    mv "$SLIB.tmp" "$SLIB"
    touch "$SVDIR/.complete"
  fi
  exec 9>&-
}

streams_classpath() { printf '%s/*' "$SLIB"; }

streams_run() {
  [[ $# -ge 1 ]] || usage
  streams_fetch
  local level="${STREAMLOG_KAFKA_LOG_LEVEL:-WARN}"
  exec java "${STREAMS_JAVA_OPTS[@]}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="${level,,}" \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd HH:mm:ss,SSS" \
    -Dorg.slf4j.simpleLogger.showShortLogName=true \
    -cp "$(streams_classpath)" "$@"
}

[[ $# -ge 1 ]] || usage
cmd="$1"; shift
case "$cmd" in
  fetch) [[ $# -eq 0 ]] || usage; fetch; echo "$LIB" ;;
  classpath) [[ $# -eq 0 ]] || usage; fetch; classpath; echo ;;
  run) run "$@" ;;
  dump-log) dump_log "$@" ;;
  broker-start) broker_start "$@" ;;
  broker-stop) broker_stop "$@" ;;
  single-node-properties) [[ $# -eq 0 ]] || usage; single_node_properties ;;
  cluster-start) cluster_start "$@" ;;
  cluster-stop) cluster_stop "$@" ;;
  node-stop) node_stop "$@" ;;
  node-start) node_start "$@" ;;
  connect-fetch) [[ $# -eq 0 ]] || usage; connect_fetch; echo "$CLIB" ;;
  connect-classpath) [[ $# -eq 0 ]] || usage; connect_fetch; connect_classpath; echo ;;
  connect-plugin-path) [[ $# -eq 0 ]] || usage; connect_fetch; connect_plugin_jar; echo ;;
  connect-run) connect_run "$@" ;;
  streams-fetch) [[ $# -eq 0 ]] || usage; streams_fetch; echo "$SLIB" ;;
  streams-classpath) [[ $# -eq 0 ]] || usage; streams_fetch; streams_classpath; echo ;;
  streams-run) streams_run "$@" ;;
  -h|--help|help) usage ;;
  *) echo "kafka.sh: unknown command: $cmd" >&2; usage ;;
esac
