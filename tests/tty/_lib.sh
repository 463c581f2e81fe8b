# Sourced by the tests/tty scripts after they set $script: PASS/FAIL/SKIP reporting (a failed
# check does not stop the script), a time limit for the whole script, a temp dir and background
# processes cleaned up on exit, and a throwaway server-start on a free port.

here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bindir=${STREAMLOG_BIN_DIR:-${CARGO_TARGET_DIR:-$repo/target}/debug}

failures=0
pass() { printf 'PASS %s.%s%s\n' "$script" "$1" "${2:+ ($2)}"; }
fail() {
    printf 'FAIL %s.%s: %s\n' "$script" "$1" "$2"
    failures=$((failures + 1))
}
skip() { printf 'SKIP %s.%s: %s\n' "$script" "$1" "$2"; }
# Ends the script: non-zero if any check failed.
finish() { exit $((failures > 0)); }

# Bounded: the script re-runs itself under timeout(1), which sends TERM (then KILL) if it hangs.
# Every wait in these scripts polls in short steps, so the TERM trap runs (and cleans up) promptly.
limit=${TTY_TIMEOUT:-150}
if [[ -z ${STREAMLOG_TTY_TIMED:-} ]]; then
    STREAMLOG_TTY_TIMED=1 exec timeout -k 5 "$limit" bash "$0" "$@"
fi

work=$(mktemp -d -t "streamlog-tty-$script-XXXXXX")
bg_pids=()
server_pid=
cleanup_hooks=()
cleanup() {
    local h p
    for h in "${cleanup_hooks[@]}"; do $h || true; done
    for p in "${bg_pids[@]}" $server_pid; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'printf "FAIL %s: timed out after %s s\n" "$script" "$limit"; exit 1' TERM

# Polls `cmd...` every 0.2 s for up to $1 seconds; true as soon as it succeeds.
wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    "$@"
}

# Waits (bounded, $2 seconds) for background process $1 to exit; sets $rc (124 on time-out,
# after which the process is killed).
wait_pid() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=124
        return
    fi
    rc=0
    wait "$pid" || rc=$?
}

need_bins() {
    local b
    for b in "$@"; do
        [[ -x $bindir/$b ]] || {
            fail setup "$bindir/$b is not built (cargo build --bins --examples)"
            finish
        }
    done
}

# Starts server-start on 127.0.0.1, a free port, its own data dir under $work; sets $b
# (host:port), $server_pid, $server_err.
start_server() {
    local name=${1:-server} line
    server_err=$work/$name.stderr
    mkfifo "$work/$name.out"
    "$bindir/server-start" --override "log.dirs=$work/$name-data" \
        --override listeners=PLAINTEXT://127.0.0.1:0 \
        --override group.initial.rebalance.delay.ms=0 \
        >"$work/$name.out" 2>"$server_err" </dev/null &
    server_pid=$!
    exec 7<"$work/$name.out"
    if ! read -r -t 30 line <&7 ||
        ! [[ $line =~ ^streamlog\ broker\ listening\ on\ 127\.0\.0\.1:([0-9]+)\  ]]; then
        fail setup "server-start did not start: ${line:-no line}; $(tail -5 "$server_err")"
        finish
    fi
    b=127.0.0.1:${BASH_REMATCH[1]}
}

# SIGTERM; the broker must exit 0 within 10 s and say it stopped cleanly.
stop_server() {
    local name=$1
    kill -TERM "$server_pid"
    wait_pid "$server_pid" 10
    server_pid=
    exec 7<&-
    if [[ $rc == 0 ]] && grep -q 'stopped cleanly' "$server_err"; then
        pass "$name"
    else
        fail "$name" "server-start exited $rc; $(tail -5 "$server_err")"
    fi
}
