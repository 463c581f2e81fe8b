#!/usr/bin/env bash
# Runs the terminal checks — examples.sh (the live /proc producers of examples/ followed by a
# console-consumer), tmux.sh (typing at the producer's prompt under tmux, consumer-groups
# --watch) and pipe_vs_pty.py (tables on a terminal, Kafka's layout in a pipe, JSON, NO_COLOR) —
# then prints one summary line, "tty: N passed, M failed", counting PASS/FAIL lines (a script
# that dies without a FAIL line counts as one failure; SKIP lines are counted apart). Exits
# non-zero if anything failed. Each script starts its own server-start and temp dirs.
# Needs: cargo build --bins --examples; tmux; python3 (kafka-python is pip-installed if missing).
#
#   tests/tty/run.sh                       # all three
#   tests/tty/run.sh tests/tty/tmux.sh     # some of them
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=${TTY_TIMEOUT:-150}
export TTY_TIMEOUT=$limit
passed=0
failed=0
skipped=0

scripts=("$@")
if [[ ${#scripts[@]} == 0 ]]; then
    scripts=("$here/examples.sh" "$here/tmux.sh" "$here/pipe_vs_pty.py")
fi
for script in "${scripts[@]}"; do
    printf '\n--- %s\n' "$(basename "$script")"
    log=$(mktemp)
    case $script in
        *.py) cmd=(python3 "$script") ;;
        *) cmd=(bash "$script") ;;
    esac
    # Each script bounds itself; this is the backstop.
    timeout -k 5 $((limit + 10)) "${cmd[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    s=$(grep -c '^SKIP ' "$log")
    if [[ $code != 0 && $f == 0 ]]; then
        echo "FAIL $(basename "$script"): exited $code"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    rm -f "$log"
done

((skipped == 0)) || printf '\n(%d skipped, see the SKIP lines)' "$skipped"
printf '\ntty: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
