#!/usr/bin/env bash
# The fault campaigns of docs/reliability.md against server-start, through tests/interop/run.sh:
# each script starts its own brokers and bounds itself; one closing line
# "faults: N passed, N failed" counts their PASS/FAIL lines (SKIP lines are not counted).
# Exits non-zero if anything failed. About 2.5 minutes with debug binaries.
#
# Needs the binaries built (cargo build --bins, or SERVER_START=path/to/server-start), python3
# (confluent-kafka is pip-installed if missing), root for disk_full.py's tmpfs mounts (it prints
# SKIP otherwise), and strace for fsync_order.py (apt-get installed if missing).
#
#   tests/faults/run.sh                      # every campaign
#   tests/faults/run.sh tests/faults/kill9.py  # one of them
# The idempotent-replay campaign is a cargo test: cargo test --test broker_replay.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export SUITE=faults
export INTEROP_TIMEOUT=${INTEROP_TIMEOUT:-300}
scripts=("$@")
if [[ ${#scripts[@]} == 0 ]]; then
    scripts=("$here/kill9.py" "$here/disk_full.py" "$here/connections.py" "$here/fsync_order.py")
fi
exec "$here/../interop/run.sh" "${scripts[@]}"
