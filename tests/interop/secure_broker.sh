#!/usr/bin/env bash
# Real clients over TLS and SASL against server-start (tests/remote/secure.sh does the same
# against Apache Kafka 4.4): a throwaway CA and server certificate (openssl); an SSL, a SASL_SSL
# and a SASL_PLAINTEXT listener taking PLAIN (users from the JAAS config) and SCRAM-SHA-256/512 (users made
# with Kafka's own ConfigCommand, kafka-configs.sh). Then kcat, confluent-kafka, Kafka's Java
# tools and our tools (--bootstrap-server with --command-config) produce and consume with each
# mechanism. Failures: a wrong password, a plaintext client on a TLS port and a TLS client
# without the CA each fail fast with a clear reason, while the good clients keep working.
#
# Prints `PASS secure_broker.<name>` / `FAIL secure_broker.<name>: why` (tests/interop/run.sh
# counts them). Needs java 17+ and mvn (Kafka's jars, tests/kafka-ref/kafka.sh fetch), openssl,
# kcat and python3 (installs kcat and confluent-kafka when missing and root).
set -euo pipefail

script=secure_broker
. "$(dirname "$0")/_broker.sh"
kafka=$repo/tests/kafka-ref/kafka.sh
tools=$(dirname "$bin")

failed=0
# Records a failure and carries on (fail from _broker.sh stops the script).
soft_fail() {
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "${2//$'\n'/ | }"
    failed=1
}

for c in java openssl python3; do
    command -v "$c" >/dev/null || fail setup "$c is not on PATH"
done
if ! command -v kcat >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi
command -v kcat >/dev/null || fail setup "kcat is not installed (apt-get install kcat)"
python3 -c 'import confluent_kafka' 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check confluent-kafka >/dev/null 2>&1 ||
    fail setup "cannot install confluent-kafka (pip)"
"$kafka" fetch >/dev/null || fail setup "cannot fetch Kafka's jars (needs java and mvn)"
for t in topics console-producer console-consumer; do
    [[ -x $tools/$t ]] || fail setup "$tools/$t is not built (cargo build --bins)"
done

# --- certificates: a CA and a server certificate for 127.0.0.1 and localhost it signed.
certs=$(mktemp -d -t streamlog-secure-broker-XXXXXX)
trap 'stop_now; rm -rf "$certs"' EXIT
(
    cd "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=streamlog secure_broker CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        -keyout ca.key -out ca.pem &&
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr &&
        printf '%s\n' subjectAltName=IP:127.0.0.1,DNS:localhost basicConstraints=CA:FALSE \
            keyUsage=critical,digitalSignature,keyEncipherment extendedKeyUsage=serverAuth >server.ext &&
        openssl x509 -req -days 2 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -extfile server.ext -out server.crt &&
        cat server.key server.crt ca.pem >server-keystore.pem
) >"$certs/openssl.log" 2>&1 || fail setup "openssl: $(tail -3 "$certs/openssl.log")"
pass certificates

plain_jaas='org.apache.kafka.common.security.plain.PlainLoginModule required'
scram_jaas='org.apache.kafka.common.security.scram.ScramLoginModule required'
BROKER_LISTENERS=3 start_broker \
    "listeners=SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0" \
    "listener.name.sasl_plaintext.plain.sasl.jaas.config=$plain_jaas user_alice=\"alice-secret\";" \
    "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512" \
    "listener.name.sasl_ssl.plain.sasl.jaas.config=$plain_jaas username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";" \
    "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram_jaas;" \
    ssl.keystore.type=PEM "ssl.keystore.location=$certs/server-keystore.pem"
trap 'stop_now; rm -rf "$certs"' EXIT
ssl=127.0.0.1:${port_of[SSL]}
sasl=127.0.0.1:${port_of[SASL_SSL]}
sasl_plain=127.0.0.1:${port_of[SASL_PLAINTEXT]}
pass broker

# --- client.properties in Kafka's Java form (our tools read the same files).
props() { # props FILE MECHANISM USER PASSWORD
    local module=$scram_jaas
    [[ $2 == PLAIN ]] && module=$plain_jaas
    cat >"$1" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=$2
sasl.jaas.config=$module username="$3" password="$4";
ssl.truststore.type=PEM
ssl.truststore.location=$certs/ca.pem
EOF
}
props "$work/admin.properties" PLAIN admin admin-secret
props "$work/plain.properties" PLAIN alice alice-secret
props "$work/scram256.properties" SCRAM-SHA-256 bob bob-256
props "$work/scram512.properties" SCRAM-SHA-512 bob bob-512
printf 'security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$certs/ca.pem" >"$work/ssl.properties"

java_tool() { timeout 90 "$kafka" run "$@" </dev/null; }

# --- Kafka's ConfigCommand (kafka-configs.sh) makes the SCRAM user bob, as admin over PLAIN.
# One mechanism per command: like KRaft's ScramControlManager, the broker refuses to alter one
# user twice in a request (DUPLICATE_RESOURCE).
for cred in 'SCRAM-SHA-256=[password=bob-256]' 'SCRAM-SHA-512=[iterations=8192,password=bob-512]'; do
    out=$(java_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$sasl" --command-config "$work/admin.properties" \
        --alter --add-config "$cred" --entity-type users --entity-name bob 2>&1) || fail "$script.kafka-configs-alter" "$out"
    [[ $out == *"Completed updating config for user bob."* ]] || fail "$script.kafka-configs-alter" "$out"
done
pass kafka-configs-alter
out=$(java_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$sasl" --command-config "$work/admin.properties" \
    --describe --entity-type users 2>&1) || fail "$script.kafka-configs-describe" "$out"
[[ $out == *"SCRAM credential configs for user-principal 'bob' are SCRAM-SHA-256=iterations=4096, SCRAM-SHA-512=iterations=8192"* ]] ||
    fail "$script.kafka-configs-describe" "$out"
pass kafka-configs-describe

# --- kcat: SSL, then SASL_SSL with each mechanism: three records in, the same three out.
kc() { # kc NAME BOOTSTRAP ARGS...: produce three lines to topic kcat-NAME and read them back
    local name=$1 broker=$2 topic=kcat-$1 out
    shift 2
    out=$(printf 'a\nb\nc\n' | timeout 30 kcat -b "$broker" "$@" -X ssl.ca.location="$certs/ca.pem" -P -t "$topic" 2>&1) ||
        { soft_fail "kcat.$name" "produce: $out"; return; }
    out=$(timeout 30 kcat -b "$broker" "$@" -X ssl.ca.location="$certs/ca.pem" -C -t "$topic" -o beginning -e -q 2>&1) ||
        { soft_fail "kcat.$name" "consume: $out"; return; }
    [[ $out == $'a\nb\nc' ]] || { soft_fail "kcat.$name" "read back: $out"; return; }
    pass "kcat.$name"
}
kc ssl "$ssl" -X security.protocol=SSL
kc plain "$sasl" -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret
kc sasl-plaintext "$sasl_plain" -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret
# librdkafka 2.0.x (Debian's kcat) sends the client nonce twice in its final SCRAM message;
# Kafka's ScramSaslServer refuses that, and so do we.
kcat_lib=$(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | cut -d' ' -f2)
if [[ $kcat_lib == 2.0.* ]]; then
    echo "SKIP kcat.scram: kcat's librdkafka $kcat_lib has the 2.0.x SCRAM nonce bug (Kafka refuses it too)"
else
    kc scram-sha-256 "$sasl" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-256 -X sasl.username=bob -X sasl.password=bob-256
    kc scram-sha-512 "$sasl" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=bob -X sasl.password=bob-512
fi

# --- confluent-kafka (librdkafka from PyPI): produce and consume in a group, each mechanism.
ck() { # ck NAME MECHANISM USER PASSWORD
    local out
    out=$(timeout 60 python3 - "$sasl" "$certs/ca.pem" "$2" "$3" "$4" "ck-$1" <<'EOF' 2>&1
import sys
from confluent_kafka import Consumer, Producer
broker, ca, mech, user, password, topic = sys.argv[1:]
conf = {"bootstrap.servers": broker, "security.protocol": "SASL_SSL", "sasl.mechanisms": mech,
        "sasl.username": user, "sasl.password": password, "ssl.ca.location": ca}
p = Producer(conf)
for i in range(5):
    p.produce(topic, value=f"v{i}".encode())
assert p.flush(20) == 0, "undelivered records"
c = Consumer({**conf, "group.id": topic + "-g", "auto.offset.reset": "earliest"})
c.subscribe([topic])
got = []
for _ in range(100):
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
    if len(got) == 5:
        break
c.close()
assert got == [f"v{i}" for i in range(5)], got
EOF
) || { soft_fail "confluent-kafka.$1" "$out"; return; }
    pass "confluent-kafka.$1"
}
ck plain PLAIN alice alice-secret
ck scram-sha-256 SCRAM-SHA-256 bob bob-256
ck scram-sha-512 SCRAM-SHA-512 bob bob-512

# --- Kafka's Java tools with the client.properties files.
out=$(java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$sasl" --command-config "$work/plain.properties" \
    --create --topic java-sec --partitions 2 2>&1) || soft_fail java.topics "$out"
[[ $out == *"Created topic java-sec."* ]] && pass java.topics-plain || soft_fail java.topics-plain "$out"
seq 1 20 | sed 's/^/j-/' >"$work/java.in"
out=$(timeout 90 "$kafka" run org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$sasl" \
    --command-config "$work/scram256.properties" --topic java-sec <"$work/java.in" 2>&1) ||
    soft_fail java.console-producer-scram "$out"
out=$(java_tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$sasl" \
    --command-config "$work/scram256.properties" --topic java-sec --from-beginning --group java-g \
    --max-messages 20 2>"$work/java.err") || true
if [[ $(sort <<<"$out") == $(sort "$work/java.in") ]]; then
    pass java.produce-consume-scram-sha-256
else
    soft_fail java.produce-consume-scram-sha-256 "read: $out $(tail -3 "$work/java.err")"
fi

# --- our tools with --bootstrap-server and --command-config.
ours() { # ours NAME CONFIG
    local cfg=$1 topic=ours-$2 out
    out=$(timeout 30 "$tools/topics" --bootstrap-server "$sasl" --command-config "$cfg" --create --topic "$topic" 2>&1) ||
        { soft_fail "tools.$2" "create: $out"; return; }
    out=$(printf 'x\ny\n' | timeout 30 "$tools/console-producer" --bootstrap-server "$sasl" --command-config "$cfg" --topic "$topic" 2>&1) ||
        { soft_fail "tools.$2" "produce: $out"; return; }
    out=$(timeout 30 "$tools/console-consumer" --bootstrap-server "$sasl" --command-config "$cfg" --topic "$topic" \
        --from-beginning --max-messages 2 2>/dev/null) || { soft_fail "tools.$2" "consume failed"; return; }
    [[ $out == $'x\ny' ]] || { soft_fail "tools.$2" "read back: $out"; return; }
    pass "tools.$2"
}
ours "$work/plain.properties" plain
ours "$work/scram256.properties" scram-sha-256

# --- failures: each fails within 12 s with a clear reason; the broker says why too.
sed 's/password="bob-256"/password="wrong"/' "$work/scram256.properties" >"$work/wrong.properties"
grep -v '^ssl.truststore' "$work/plain.properties" >"$work/notrust.properties"
printf 'security.protocol=PLAINTEXT\n' >"$work/plaintext.properties"
refusal() { # refusal NAME BOOTSTRAP CONFIG PATTERN
    local s=$SECONDS code=0 out
    out=$(timeout 30 "$tools/topics" --bootstrap-server "$2" --command-config "$3" --list 2>&1) || code=$?
    local took=$((SECONDS - s))
    if [[ $code == 1 && $took -le 12 && $(wc -l <<<"$out") == 1 ]] && grep -qiE "$4" <<<"$out"; then
        pass "refused.$1"
    else
        soft_fail "refused.$1" "exit $code after ${took} s: $out"
    fi
}
refusal wrong-password "$sasl" "$work/wrong.properties" 'authenticat'
refusal no-ca "$sasl" "$work/notrust.properties" 'certificate|ssl|tls'
refusal plaintext-on-tls "$ssl" "$work/plaintext.properties" 'disconnect|connect|broker|transport|reach'
out=$(timeout 20 kcat -b "$sasl" -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=alice \
    -X sasl.password=wrong -X ssl.ca.location="$certs/ca.pem" -L -m 10 2>&1) && soft_fail refused.kcat-wrong-password "$out" ||
    { grep -qi 'authentication failed' <<<"$out" && pass refused.kcat-wrong-password ||
        soft_fail refused.kcat-wrong-password "$out"; }
sleep 0.5
missing=
for pattern in 'user bob with SCRAM-SHA-256: wrong password' 'user alice with PLAIN: wrong password' 'peer sent a plaintext request to an SSL listener' \
    'TLS handshake failed'; do
    grep -q "$pattern" "$stderr_file" || missing+=" '$pattern'"
done
[[ -z $missing ]] && pass broker-log-names-refusals || soft_fail broker-log-names-refusals "not in the broker's log:$missing"
# The good clients were served all along.
kc after-refusals "$sasl" -X security.protocol=SASL_SSL -X sasl.mechanisms=PLAIN -X sasl.username=alice -X sasl.password=alice-secret
ck after-refusals SCRAM-SHA-512 bob bob-512

((failed == 0)) || fail "$script" "some checks failed"
stop_broker shutdown
