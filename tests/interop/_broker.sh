# Sourced by the shell interop scripts after they set $script: PASS/FAIL reporting, a time
# limit for the whole script, and a throwaway server-start on a free port.

here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${SERVER_START:-${CARGO_TARGET_DIR:-$repo/target}/debug/server-start}

fail() {
    printf 'FAIL %s: %s\n' "$1" "$2"
    if [[ -n ${stderr_file:-} && -f $stderr_file ]]; then
        echo "--- server-start stderr:"
        tail -20 "$stderr_file"
    fi
    exit 1
}
pass() { printf 'PASS %s.%s\n' "$script" "$1"; }

# Bounded: the script re-runs itself under timeout(1), which sends TERM (then KILL) if it hangs.
limit=${INTEROP_TIMEOUT:-240}
if [[ -z ${STREAMLOG_INTEROP_TIMED:-} ]]; then
    STREAMLOG_INTEROP_TIMED=1 exec timeout -k 10 "$limit" "$0" "$@"
fi
trap 'fail "$script" "timed out after $limit s"' TERM

# Starts server-start on a free port with a temp data dir and any extra overrides; sets $b
# (host:port of the first listener), $pid, $work and $stderr_file. Killed on exit if still
# running. With BROKER_LISTENERS=N (overrides naming N listeners) it reads one startup line per
# listener and sets port_of[PROTOCOL] for each.
start_broker() {
    [[ -x $bin ]] || fail setup "$bin is not built (cargo build --bins), or set SERVER_START"
    work=$(mktemp -d -t "streamlog-$script-XXXXXX")
    stderr_file=$work/server-start.stderr
    pid=
    trap 'stop_now' EXIT
    local overrides=()
    for o in "$@"; do overrides+=(--override "$o"); done
    mkfifo "$work/out"
    "$bin" --override "log.dirs=$work/data" --override listeners=PLAINTEXT://127.0.0.1:0 \
        "${overrides[@]}" >"$work/out" 2>"$stderr_file" </dev/null &
    pid=$!
    exec 3<"$work/out"
    local first
    read -r -t 30 first <&3 || fail setup "server-start printed no first line"
    [[ $first =~ ^streamlog\ broker\ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]] ||
        fail setup "unexpected first line: $first"
    b=127.0.0.1:${BASH_REMATCH[1]}
    declare -gA port_of=()
    local line=$first i
    for ((i = 1; ; i++)); do
        [[ $line =~ 127\.0\.0\.1:([0-9]+)\ \(([A-Z_]+)[,\ ] ]] || fail setup "unexpected listener line: $line"
        port_of[${BASH_REMATCH[2]}]=${BASH_REMATCH[1]}
        ((i < ${BROKER_LISTENERS:-1})) || break
        read -r -t 30 line <&3 || fail setup "server-start printed $i of ${BROKER_LISTENERS} listener lines"
    done
}

stop_now() {
    [[ -n ${pid:-} ]] && kill -KILL "$pid" 2>/dev/null || true
    [[ -n ${work:-} ]] && rm -rf "$work"
}

# SIGTERM; the broker must exit 0 and say it stopped cleanly. Reports PASS `name`.
stop_broker() {
    local name=$1 code=0
    kill -TERM "$pid"
    wait "$pid" || code=$?
    pid=
    [[ $code == 0 ]] || fail "$script.$name" "server-start exited $code"
    grep -q 'stopped cleanly' "$stderr_file" || fail "$script.$name" "no 'stopped cleanly' on stderr"
    pass "$name"
}
