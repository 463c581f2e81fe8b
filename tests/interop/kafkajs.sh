#!/usr/bin/env bash
# kafkajs (from npm, cached outside the repo) against server-start; see kafkajs.mjs.
set -euo pipefail

script=kafkajs
. "$(dirname "$0")/_broker.sh"
prefix=${STREAMLOG_NODE_CACHE:-${HOME:-/tmp}/.cache/streamlog/node}
command -v node >/dev/null || fail setup "node is not installed"
if [[ ! -d $prefix/node_modules/kafkajs ]]; then
    mkdir -p "$prefix"
    [[ -f $prefix/package.json ]] || echo '{"private": true}' >"$prefix/package.json"
    npm install --silent --no-audit --no-fund --prefix "$prefix" kafkajs@2.2.4 >/dev/null ||
        fail setup "npm install kafkajs failed"
fi
start_broker group.initial.rebalance.delay.ms=0

BROKER=$b KAFKAJS_PREFIX=$prefix node "$here/kafkajs.mjs" || fail "$script" "node exited $?"

stop_broker shutdown
