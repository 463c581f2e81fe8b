#!/usr/bin/env bash
# franz-go's own transaction integration test (pkg/kgo TestTxn*, i.e. TestTxnEtl: a transactional
# producer committing every 10,000 records, then three chained read_committed transactional
# consumer groups copying topic1 -> 2 -> 3 -> 4 while members join, leave and abort; every key
# exactly once, in order) against server-start. Each `--- PASS/FAIL/SKIP: TestTxn...` line of
# `go test -v` becomes a PASS/FAIL line (SKIP as a comment). Starts its own broker.
#
# Needs go (1.26+, franz-go's go.mod) and the Go module proxy. The module is fetched with
# `go mod download` into the module cache and copied to a temp dir (the cache is read-only); the
# test binary is built with -trimpath, so later runs reuse Go's build cache.
#
#   KGO_TEST_RECORDS   records the producer writes (default below; franz-go's own default is 500000)
#   FRANZ_GO_VERSION   default v1.22.3
#   FRANZ_GO_TEST_TIMEOUT  go test -timeout in seconds (default 240, less if the limit is nearer)
#   FRANZ_GO_LOG       keep the go test log (client logs at KGO_LOG_LEVEL, default info) there
#   TXN_AGAINST=kafka  run against a Kafka 4.4 broker (kafka.sh broker-start) instead
# Binaries: $SERVER_START, else $STREAMLOG_BIN/server-start, else target/debug/server-start.
# Bounded by INTEROP_TIMEOUT (default here 420 s; run.sh's 240 s is enough: on 2 cores the first
# build takes about 55 s, later ones 2 s, and the tests 10-15 s against server-start, 40 s against
# Kafka 4.4).
set -euo pipefail

script=franz_go_txn
if [[ -n ${STREAMLOG_BIN:-} && -z ${SERVER_START:-} ]]; then
    export SERVER_START=$STREAMLOG_BIN/server-start
fi
export INTEROP_TIMEOUT=${INTEROP_TIMEOUT:-420}
. "$(dirname "$0")/_broker.sh"

version=${FRANZ_GO_VERSION:-v1.22.3}
# franz-go's default is 500,000 (Kafka 4.4 on 2 cores: 99 s of tests; server-start: 12 s);
# 100,000 is ten of the producer's transactions (Kafka 4.4: 38 s).
records=${KGO_TEST_RECORDS:-100000}
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
command -v go >/dev/null || fail setup "go is not installed"

gowork=$(mktemp -d -t "streamlog-$script-go-XXXXXX")
cleanup_go() { chmod -R u+w "$gowork" 2>/dev/null; rm -rf "$gowork"; }
trap cleanup_go EXIT

# --- fetch and build ---------------------------------------------------------------------------
t0=$SECONDS
mod=$(cd "$gowork" && go mod download -json "github.com/twmb/franz-go@$version" 2>&1) ||
    fail setup "go mod download github.com/twmb/franz-go@$version: $mod"
src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$mod")
[[ -d $src/pkg/kgo ]] || fail setup "no pkg/kgo in the downloaded module: $mod"
cp -r "$src" "$gowork/franz-go"
chmod -R u+w "$gowork/franz-go"
out=$(cd "$gowork/franz-go/pkg/kgo" && go test -c -trimpath -o "$gowork/kgo.test" . 2>&1) ||
    fail setup "building the kgo tests: $out"
echo "# franz-go $version ($(go version | awk '{ print $3 }')): fetched and built in $((SECONDS - t0)) s"

# --- the broker --------------------------------------------------------------------------------
if [[ ${TXN_AGAINST:-} == kafka ]]; then
    kafka=$repo/tests/kafka-ref/kafka.sh
    work=$gowork/kafka
    trap '"$kafka" broker-stop "$work" >/dev/null 2>&1; cleanup_go' EXIT
    port=$(python3 -c '
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    try:
        t = socket.socket(); t.bind(("127.0.0.1", p + 1)); t.close(); print(p); break
    except OSError:
        pass')
    "$kafka" broker-start "$port" "$work" >/dev/null 2>"$gowork/start.err" ||
        fail setup "kafka.sh broker-start: $(cat "$gowork/start.err")"
    b=127.0.0.1:$port
    stderr_file=$work/broker.log
    echo "# against Kafka 4.4 at $b"
else
    start_broker group.initial.rebalance.delay.ms=0
    trap 'stop_now; cleanup_go' EXIT
fi

# --- the tests ---------------------------------------------------------------------------------
# What is left of the time limit, less a margin to report and stop the broker.
left=$((limit - SECONDS - 30))
((left > 60)) || fail setup "only $left s left for the tests"
((left < ${FRANZ_GO_TEST_TIMEOUT:-240})) || left=${FRANZ_GO_TEST_TIMEOUT:-240}
echo "# KGO_TEST_RECORDS=$records KGO_TEST_RF=1 KGO_SEEDS=$b; go test -run '^TestTxn' -timeout ${left}s"
log=$gowork/go-test.log
t0=$SECONDS
code=0
(cd "$gowork/franz-go/pkg/kgo" &&
    KGO_SEEDS=$b KGO_TEST_RF=1 KGO_TEST_RECORDS=$records \
        timeout -k 5 $((left + 10)) "$gowork/kgo.test" -test.run '^TestTxn' -test.count=1 -test.v \
        -test.timeout "${left}s" >"$log" 2>&1) || code=$?
echo "# go test exited $code after $((SECONDS - t0)) s"
[[ -z ${FRANZ_GO_LOG:-} ]] || cp "$log" "$FRANZ_GO_LOG"

# `--- PASS: TestTxnEtl/range (12.34s)` (indented for subtests) -> PASS franz_go_txn.TestTxnEtl/range (12.34s)
results=$(grep -E '^[[:space:]]*--- (PASS|FAIL|SKIP): TestTxn' "$log" || true)
failed=0
while read -r _ verdict name rest; do
    [[ -n ${verdict:-} ]] || continue
    verdict=${verdict%:}
    case $verdict in
        PASS) echo "PASS $script.$name $rest" ;;
        SKIP) echo "# SKIP $script.$name $rest" ;;
        FAIL)
            failed=1
            echo "FAIL $script.$name: $rest"
            ;;
    esac
done <<<"$results"
# go test's own timeout panics before any result line: each test still running fails.
if grep -q '^panic: test timed out after' "$log"; then
    failed=1
    while read -r name took; do
        echo "FAIL $script.$name: still running when go test timed out ($(grep -m1 '^panic: test timed out' "$log"), ran ${took})"
    done < <(sed -n '/^[[:space:]]*running tests:/,/^$/ s/^[[:space:]]\{2,\}\(TestTxn[^ ]*\) (\(.*\))$/\1 \2/p' "$log")
fi
if [[ $failed == 1 || $code != 0 || -z $results ]]; then
    # The tests' own lines (t.Errorf / t.Fatal / t.Skip: file_test.go:NN:), the clients' errors
    # and warnings (kgo's logger), then the end of the log.
    echo "--- test messages:"
    grep -E '^[[:space:]]+[a-z_0-9]+_test\.go:[0-9]+: ' "$log" | grep -v 'completed in' | sort | uniq -c | head -30 || true
    echo "--- client errors and warnings (kgo log), most frequent first:"
    grep -oE '\[(ERROR|WARN)\] .*' "$log" | sed -E 's/[0-9a-f]{40,}/<id>/g; s/[0-9]+(\.[0-9]+)?(ms|s|µs)/<t>/g' |
        cut -c1-300 | sort | uniq -c | sort -rn | head -15 || true
    echo "--- end of the go test log ($(wc -l <"$log") lines), without client logs and goroutine dumps:"
    awk '/^goroutine [0-9]+ \[/ { exit } { print }' "$log" |
        grep -v -E '^\[(INFO|DEBUG|WARN|ERROR)\]|^\[?[0-9]+:[0-9]+:' | tail -25 || true
    if [[ -n ${pid:-} && -n ${stderr_file:-} ]]; then
        echo "--- server-start stderr, errors and warnings, most frequent first:"
        grep -E ' (ERROR|WARN) ' "$stderr_file" | sed -E 's/^[^ ]+ +//' | sort | uniq -c | sort -rn | head -10 || true
        stderr_file=
    fi
    [[ $failed == 1 ]] || fail "$script.go-test" "go test exited $code$([[ -z $results ]] && echo ', no TestTxn result')"
    exit 1
fi
if [[ ${TXN_AGAINST:-} != kafka ]]; then
    stop_broker shutdown
fi
