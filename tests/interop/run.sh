#!/usr/bin/env bash
# Runs every interop script (each starts its own server-start), then prints one summary line:
# "interop: N passed, N failed", counting PASS/FAIL lines (a script that dies without a FAIL
# line counts as one failure). Exits non-zero if anything failed.
# Needs the binaries built: cargo build --bins (or SERVER_START=path/to/server-start).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
limit=${INTEROP_TIMEOUT:-240}
export INTEROP_TIMEOUT=$limit
passed=0
failed=0

for script in kcat.sh kafka_python.py confluent_kafka.py java_tools.sh kafkajs.sh streamlog_tools.sh; do
    printf '\n--- %s\n' "$script"
    log=$(mktemp)
    case $script in
        *.py) cmd=(python3 "$here/$script") ;;
        *) cmd=(bash "$here/$script") ;;
    esac
    # Each script bounds itself; this is the backstop.
    timeout -k 10 $((limit + 30)) "${cmd[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [[ $code != 0 && $f == 0 ]]; then
        echo "FAIL $script: exited $code"
        f=1
    elif [[ $code == 0 && $f != 0 ]]; then
        code=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    rm -f "$log"
done

printf '\ninterop: %d passed, %d failed\n' "$passed" "$failed"
[[ $failed == 0 ]]
