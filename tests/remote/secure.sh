#!/usr/bin/env bash
# streamlog's tools against the reference Apache Kafka (tests/kafka-ref) over SASL_SSL: a
# throwaway CA and server certificate (openssl), a single-node KRaft broker whose SASL_SSL
# listener takes PLAIN and SCRAM-SHA-256, and client.properties files in Kafka's Java form given
# to our tools with --command-config (Kafka's TopicCommand reads the same files, which proves
# them right). Then the failures: a wrong password, a JKS trust store, no CA; each must be one
# line on stderr that says what is wrong, and exit code 1.
#
# Prints `PASS secure.<name>` / `FAIL secure.<name>: why`; exits 1 if anything failed (124 when
# the time limit ends it).
# Needs java 17+, openssl, keytool (comes with the JDK) and the Kafka jars kafka.sh fetches.
# Environment: STREAMLOG_TOOLS (dir of the built tools, default target/debug),
# SECURE_TIMEOUT (limit for the whole script, default 180 s), SECURE_VERBOSE=1 (print what the
# failure checks that pass said, and how long they took).
set -euo pipefail

script=secure
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
tools=${STREAMLOG_TOOLS:-${CARGO_TARGET_DIR:-$repo/target}/debug}
kafka=$repo/tests/kafka-ref/kafka.sh

# Bounded: re-run under timeout(1), which sends TERM to the whole process group (the broker
# too), then KILL 10 s later. The timeouts inside run with --foreground so that they stay in
# that group: the TERM reaches what they run, and the trap below gets to clean up.
limit=${SECURE_TIMEOUT:-180}
if [[ -z ${STREAMLOG_SECURE_TIMED:-} ]]; then
    STREAMLOG_SECURE_TIMED=1 exec timeout -k 10 "$limit" bash "$0" "$@"
fi

failed=0
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }
# Records a failure and carries on with the next check.
fail() {
    local why=${2//$'\n'/ | }
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "$why"
    failed=1
}
# A failure nothing after it can do without: the broker log's tail, then out.
die() {
    fail "$1" "$2"
    if [[ -n ${work:-} && -f $work/broker.log ]]; then
        echo "--- broker log (tail):"
        tail -20 "$work/broker.log"
    fi
    exit 1
}

work=$(mktemp -d -t streamlog-secure-XXXXXX)
bpid=
cleanup() {
    if [[ -n $bpid ]] && kill -0 "$bpid" 2>/dev/null; then
        kill -TERM "$bpid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$bpid" 2>/dev/null || true
        wait "$bpid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'trap - TERM; die timeout "timed out after $limit s"' TERM

for t in topics console-producer console-consumer consumer-groups; do
    [[ -x $tools/$t ]] || die setup "$tools/$t is not built (cargo build --bins), or set STREAMLOG_TOOLS"
done
for c in java openssl keytool; do
    command -v "$c" >/dev/null || die setup "$c is not on PATH"
done

# --- certificates: a CA, and a server certificate for 127.0.0.1 and localhost it signed.
cd "$work"
{
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=streamlog secure.sh CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout ca.key -out ca.pem &&
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr &&
        printf '%s\n' subjectAltName=IP:127.0.0.1,DNS:localhost basicConstraints=CA:FALSE \
            keyUsage=critical,digitalSignature,keyEncipherment extendedKeyUsage=serverAuth >server.ext &&
        openssl x509 -req -days 2 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -extfile server.ext -out server.crt
} >openssl.log 2>&1 || die setup "openssl: $(tail -3 openssl.log)"
# Kafka's PEM key store: the (unencrypted PKCS#8) key, then the certificate chain.
cat server.key server.crt ca.pem >server-keystore.pem
# A JKS trust store holding the CA, to check that our tools refuse it with a way out.
keytool -importcert -noprompt -alias ca -file ca.pem -keystore truststore.jks -storetype JKS \
    -storepass changeit >keytool.log 2>&1 || die setup "keytool: $(tail -3 keytool.log)"
pass certificates

# --- the broker: SASL_SSL (PLAIN for admin and alice, SCRAM-SHA-256 for alice) for clients and
# between brokers, PLAINTEXT only for the KRaft controller.
free_ports() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))'
    else
        local p q
        while :; do
            p=$((20000 + RANDOM % 30000)) q=$((p + 1))
            (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null ||
                break
        done
        echo "$p $q"
    fi
}
read -r port cport < <(free_ports)
b=127.0.0.1:$port
plain_jaas='org.apache.kafka.common.security.plain.PlainLoginModule required'
scram_jaas='org.apache.kafka.common.security.scram.ScramLoginModule required'
cat >server.properties <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=SASL_SSL://$b,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://$b
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain_jaas username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram_jaas;
ssl.keystore.type=PEM
ssl.keystore.location=$work/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$work/ca.pem
log.dirs=$work/logs
$("$kafka" single-node-properties)
EOF
# A cluster id is 16 random bytes in URL-safe base64 (what StorageTool random-uuid prints); one
# starting with '-' (1 in 64) would be read as an option by StorageTool's parser, so draw again.
cluster_id=-
while [[ $cluster_id == -* ]]; do
    cluster_id=$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')
done
timeout --foreground 60 "$kafka" run kafka.tools.StorageTool format --standalone -t "$cluster_id" \
    -c server.properties --add-scram 'SCRAM-SHA-256=[name=alice,password=alice-secret]' \
    </dev/null >format.log 2>&1 || die setup "StorageTool format: $(tail -3 format.log)"
"$kafka" run kafka.Kafka server.properties </dev/null >broker.log 2>&1 &
bpid=$!
for ((i = 0; ; i++)); do
    kill -0 "$bpid" 2>/dev/null || { bpid=; die setup "the broker exited during startup"; }
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    ((i < 600)) || die setup "the broker did not open $b within 60 s"
    sleep 0.1
done
pass broker

# --- client.properties in Kafka's Java form: PLAIN on one line, SCRAM continued over lines.
cat >plain.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=$plain_jaas username="alice" password="alice-secret";
ssl.truststore.location=$work/ca.pem
ssl.truststore.type=PEM
EOF
cat >scram.properties <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=$scram_jaas \\
    username="alice" \\
    password="alice-secret";
ssl.truststore.location=$work/ca.pem
ssl.truststore.type=PEM
EOF

t() { timeout --foreground 30 "$tools/$1" --bootstrap-server "$b" "${@:2}"; }

# Our tools, one mechanism at a time: the topic, three records and a group that reads them.
tools_with() {
    local mech=$1 cfg=$work/$1.properties topic=sec-$1 group=sec-group-$1 out
    out=$(t topics --command-config "$cfg" --create --topic "$topic" --partitions 2 2>&1) ||
        { fail "$mech.topics" "create: $out"; return; }
    [[ $out == "Created topic $topic." ]] || { fail "$mech.topics" "create: $out"; return; }
    out=$(t topics --command-config "$cfg" --list 2>&1) || { fail "$mech.topics" "list: $out"; return; }
    grep -qx "$topic" <<<"$out" || { fail "$mech.topics" "list: $out"; return; }
    out=$(t topics --command-config "$cfg" --describe --topic "$topic" 2>&1) ||
        { fail "$mech.topics" "describe: $out"; return; }
    [[ $out == *$'PartitionCount: 2\tReplicationFactor: 1'* ]] || { fail "$mech.topics" "describe: $out"; return; }
    pass "$mech.topics"

    out=$(printf 'k1\tone\nk2\ttwo\nk3\tthree\n' |
        t console-producer --command-config "$cfg" --topic "$topic" --property parse.key=true 2>&1) ||
        { fail "$mech.produce" "$out"; return; }
    pass "$mech.produce"

    out=$(t console-consumer --command-config "$cfg" --topic "$topic" --from-beginning --max-messages 3 \
        --property print.key=true 2>"$work/err" | sort) || { fail "$mech.consume" "$(cat "$work/err")"; return; }
    [[ $out == $'k1\tone\nk2\ttwo\nk3\tthree' ]] || { fail "$mech.consume" "read: $out"; return; }
    pass "$mech.consume"

    out=$(t console-consumer --command-config "$cfg" --topic "$topic" --from-beginning --group "$group" \
        --max-messages 3 2>"$work/err" | wc -l) || { fail "$mech.group" "$(cat "$work/err")"; return; }
    [[ $out == 3 ]] || { fail "$mech.group" "consumed $out records in the group"; return; }
    out=$(t consumer-groups --command-config "$cfg" --list 2>&1) || { fail "$mech.group" "list: $out"; return; }
    grep -qx "$group" <<<"$out" || { fail "$mech.group" "list: $out"; return; }
    out=$(t consumer-groups --command-config "$cfg" --describe --group "$group" --output json 2>&1) ||
        { fail "$mech.group" "describe: $out"; return; }
    local committed
    committed=$(python3 -c 'import json,sys; print(sum(json.loads(l)["current_offset"] for l in sys.stdin))' \
        <<<"$out" 2>&1) || { fail "$mech.group" "describe: $out"; return; }
    [[ $committed == 3 ]] || { fail "$mech.group" "describe (3 committed expected): $out"; return; }
    pass "$mech.group"
}
tools_with plain
tools_with scram

# Kafka's own TopicCommand with the same files: it sees the topics our tools made.
for mech in plain scram; do
    out=$(timeout --foreground 60 "$kafka" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$b" \
        --command-config "$work/$mech.properties" --describe --topic "sec-$mech" </dev/null 2>&1) ||
        { fail "kafka-topics.$mech" "$out"; continue; }
    [[ $out == *$'Topic: sec-'"$mech"$'\t'*$'PartitionCount: 2\tReplicationFactor: 1'* ]] ||
        { fail "kafka-topics.$mech" "$out"; continue; }
    pass "kafka-topics.$mech"
done

# --- failures. Each tool runs in the background (all at once, so the slow ones cost one wait);
# each must exit 1 within 12 s with one line on stderr that matches a pattern.
sed 's/password="alice-secret"/password="wrong"/' plain.properties >badpass.properties
sed 's/password="alice-secret"/password="wrong"/' scram.properties >badscram.properties
grep -v '^ssl.truststore' plain.properties >notrust.properties
declare -a started=() pids=()
# start NAME CONFIG TOOL ARGS...
start() {
    local name=$1 cfg=$2
    mkdir -p "$work/neg/$name"
    (
        s=$(date +%s%N)
        code=0
        echo x | timeout --foreground 30 "$tools/$3" --bootstrap-server "$b" --command-config "$cfg" "${@:4}" \
            >"$work/neg/$name/out" 2>"$work/neg/$name/err" || code=$?
        echo "$code $((($(date +%s%N) - s) / 1000000))" >"$work/neg/$name/rc"
    ) &
    pids+=($!)
    started+=("$name")
}
every_tool() { # every_tool PREFIX CONFIG
    start "$1.topics" "$2" topics --list
    start "$1.console-producer" "$2" console-producer --topic sec-plain
    start "$1.console-consumer" "$2" console-consumer --topic sec-plain --from-beginning --max-messages 1
    start "$1.console-consumer-group" "$2" console-consumer --topic sec-plain --group sec-bad --max-messages 1
    start "$1.consumer-groups" "$2" consumer-groups --list
}
every_tool badpass "$work/badpass.properties"
every_tool notrust "$work/notrust.properties"
start badpass-scram.topics "$work/badscram.properties" topics --list
start badpass.topics-create "$work/badpass.properties" topics --create --topic sec-never
wait "${pids[@]}"

# check NAME PATTERN: exit 1, within 12 s, stderr one line (besides console-consumer's
# "Processed a total of N messages", which Kafka's prints too) matching PATTERN.
check() {
    local name=$1 pattern=$2 code ms err lines
    read -r code ms <"$work/neg/$name/rc"
    err=$(grep -v '^Processed a total of [0-9]* messages$' "$work/neg/$name/err" || true)
    lines=$(grep -c . <<<"$err" || true)
    local why=()
    [[ $code == 1 ]] || why+=("exit $code, not 1")
    ((ms <= 12000)) || why+=("took ${ms} ms")
    [[ $lines == 1 ]] || why+=("$lines lines on stderr")
    shopt -s nocasematch
    [[ $err =~ $pattern ]] || why+=("stderr does not match /$pattern/")
    shopt -u nocasematch
    if ((${#why[@]})); then
        fail "$name" "$(IFS=';'; echo "${why[*]}"): $err"
    else
        pass "$name"
        [[ -z ${SECURE_VERBOSE:-} ]] || printf '    (%s ms) %s\n' "$ms" "$err"
    fi
}
for name in "${started[@]}"; do
    case $name in
        badpass*) check "$name" 'authenticat' ;;
        notrust*) check "$name" 'certificate|ssl|tls' ;;
    esac
done

# A JKS trust store: refused at once with the keytool command that converts it; that command,
# run as told, gives a PEM file that works.
sed -e "s|^ssl.truststore.location=.*|ssl.truststore.location=$work/truststore.jks|" \
    -e 's|^ssl.truststore.type=.*|ssl.truststore.type=JKS\nssl.truststore.password=changeit|' \
    plain.properties >jks.properties
jks_check() {
    local out code=0 cmd
    out=$(t topics --command-config "$work/jks.properties" --list 2>&1) || code=$?
    [[ $code == 1 && $(wc -l <<<"$out") == 1 && $out == *"keytool -exportcert -rfc -keystore $work/truststore.jks"* ]] ||
        { fail jks "exit $code: $out"; return; }
    pass jks
    cmd=${out#*(}
    cmd=${cmd%%)*}
    [[ $cmd == "keytool -exportcert"*" > ca.pem" ]] || { fail jks.convert "no command in: $out"; return; }
    cmd=${cmd/ALIAS/ca}
    # As a user would run it (keytool asks for the store password; without one it still exports).
    (cd "$work" && eval "${cmd% > ca.pem} </dev/null >converted.pem 2>keytool.log") ||
        { fail jks.convert "$cmd: $(cat keytool.log)"; return; }
    sed "s|^ssl.truststore.location=.*|ssl.truststore.location=$work/converted.pem|" plain.properties >converted.properties
    out=$(t topics --command-config "$work/converted.properties" --list 2>&1) || { fail jks.convert "$out"; return; }
    grep -qx sec-plain <<<"$out" || { fail jks.convert "list: $out"; return; }
    pass jks.convert
}
jks_check

exit "$failed"
