#!/usr/bin/env bash
# Runs every interop script (each starts its own server-start), then prints one summary line:
# "interop: N passed, N failed", counting PASS/FAIL lines (a script that dies without a FAIL
# line counts as one failure). Exits non-zero if anything failed.
# Needs the binaries built: cargo build --bins (or SERVER_START=path/to/server-start).
#
#   tests/interop/run.sh                           # the client interop scripts below
#   SUITE=remote tests/interop/run.sh DIR/a.sh ...  # other scripts, summarised as "remote: ..."
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=${SUITE:-interop}
limit=${INTEROP_TIMEOUT:-240}
export INTEROP_TIMEOUT=$limit
passed=0
failed=0

scripts=("$@")
if [[ ${#scripts[@]} == 0 ]]; then
    for s in kcat.sh kafka_python.py confluent_kafka.py java_tools.sh kafkajs.sh streamlog_tools.sh secure_broker.sh \
        connect_standalone.sh connect_distributed.sh streams_wordcount.sh transactions_confluent.py \
        transactions_tools.sh franz_go_txn.sh; do
        scripts+=("$here/$s")
    done
fi
for script in "${scripts[@]}"; do
    printf '\n--- %s\n' "$(basename "$script")"
    log=$(mktemp)
    case $script in
        *.py) cmd=(python3 "$script") ;;
        *) cmd=(bash "$script") ;;
    esac
    # Each script bounds itself; this is the backstop.
    timeout -k 10 $((limit + 30)) "${cmd[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    p=$(grep -c '^PASS ' "$log")
    f=$(grep -c '^FAIL ' "$log")
    if [[ $code != 0 && $f == 0 ]]; then
        echo "FAIL $(basename "$script"): exited $code"
        f=1
    elif [[ $code == 0 && $f != 0 ]]; then
        code=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    rm -f "$log"
done

printf '\n%s: %d passed, %d failed\n' "$suite" "$passed" "$failed"
[[ $failed == 0 ]]
