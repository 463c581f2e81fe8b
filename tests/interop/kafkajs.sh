#!/usr/bin/env bash
# kafkajs (from npm, cached outside the repo) against server-start; see kafkajs.mjs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${SERVER_START:-${CARGO_TARGET_DIR:-$repo/target}/debug/server-start}
prefix=${STREAMLOG_NODE_CACHE:-${HOME:-/tmp}/.cache/streamlog/node}
script=kafkajs

fail() {
    printf 'FAIL %s: %s\n' "$1" "$2"
    [[ -n ${stderr_file:-} && -f $stderr_file ]] && { echo "--- server-start stderr:"; tail -20 "$stderr_file"; }
    exit 1
}

limit=${INTEROP_TIMEOUT:-240}
if [[ -z ${STREAMLOG_KAFKAJS_TIMED:-} ]]; then
    STREAMLOG_KAFKAJS_TIMED=1 exec timeout -k 10 "$limit" "$0" "$@"
fi
trap 'fail "$script" "timed out after $limit s"' TERM

command -v node >/dev/null || fail setup "node is not installed"
[[ -x $bin ]] || fail setup "$bin is not built (cargo build --bins), or set SERVER_START"
if [[ ! -d $prefix/node_modules/kafkajs ]]; then
    mkdir -p "$prefix"
    [[ -f $prefix/package.json ]] || echo '{"private": true}' >"$prefix/package.json"
    npm install --silent --no-audit --no-fund --prefix "$prefix" kafkajs@2.2.4 >/dev/null ||
        fail setup "npm install kafkajs failed"
fi

work=$(mktemp -d -t streamlog-kafkajs-XXXXXX)
stderr_file=$work/server-start.stderr
pid=
cleanup() {
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
"$bin" --override "log.dirs=$work/data" --override listeners=PLAINTEXT://127.0.0.1:0 \
    --override group.initial.rebalance.delay.ms=0 \
    >"$work/out" 2>"$stderr_file" </dev/null &
pid=$!
exec 3<"$work/out"
read -r -t 30 first <&3 || fail setup "server-start printed no first line"
[[ $first =~ ^streamlog\ broker\ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]] ||
    fail setup "unexpected first line: $first"

BROKER=127.0.0.1:${BASH_REMATCH[1]} KAFKAJS_PREFIX=$prefix node "$here/kafkajs.mjs" ||
    fail "$script" "node exited $?"

kill -TERM "$pid"
wait "$pid" || fail "$script.shutdown" "server-start exited $?"
pid=
grep -q 'stopped cleanly' "$stderr_file" || fail "$script.shutdown" "no clean stop"
printf 'PASS %s.shutdown\n' "$script"
