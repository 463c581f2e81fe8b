#!/usr/bin/env bash
# kcat (librdkafka) against server-start: -L, -P with every codec and keys, -C -e reading back
# exactly what was produced, -o -2 for the last two. Starts its own broker on a free port.
set -euo pipefail

script=kcat
. "$(dirname "$0")/_broker.sh"
if ! command -v kcat >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
    fi
    command -v kcat >/dev/null 2>&1 || fail setup "kcat is not installed (apt-get install kcat)"
fi
start_broker

k() { timeout 30 kcat -b "$b" "$@"; }

# -L: the one broker, at the advertised address.
out=$(k -L) || fail "$script.metadata" "kcat -L failed: $out"
grep -q '^ 1 brokers:' <<<"$out" || fail "$script.metadata" "no broker list in: $out"
grep -q "broker 1 at $b" <<<"$out" || fail "$script.metadata" "broker not at $b in: $out"
pass metadata

# -P with keys (-K:) under each codec, then -C -e reads back exactly that, with keys, offsets
# and a header.
for codec in none gzip snappy lz4 zstd; do
    topic=kcat-$codec
    input=$work/$codec.in
    expected=$work/$codec.expected
    : >"$input"
    : >"$expected"
    for i in $(seq 0 39); do
        value="$codec value $i $(printf 'x%.0s' $(seq 1 $((i % 9 + 1))))"
        printf 'key-%d:%s\n' "$((i % 5))" "$value" >>"$input"
        printf '%d key-%d=%s\n' "$i" "$((i % 5))" "$value" >>"$expected"
    done
    # A record without a key, and one with an empty value.
    printf ':no key\n' >>"$input"
    printf '40 =no key\n' >>"$expected"
    printf 'key-empty:\n' >>"$input"
    printf '41 key-empty=\n' >>"$expected"
    k -P -t "$topic" -p 0 -z "$codec" -K: -H origin=kcat <"$input" ||
        fail "$script.produce_$codec" "kcat -P -z $codec failed"
    got=$(k -C -t "$topic" -p 0 -e -q -f '%o %k=%s\n') ||
        fail "$script.consume_$codec" "kcat -C -e failed"
    diff <(printf '%s\n' "$got") "$expected" >"$work/diff" ||
        fail "$script.roundtrip_$codec" "read back differs from what was produced: $(cat "$work/diff")"
    headers=$(k -C -t "$topic" -p 0 -e -q -f '%h\n' | sort -u)
    [[ $headers == "origin=kcat" ]] || fail "$script.headers_$codec" "headers read back: $headers"
    pass "produce_consume_$codec"
done

# -o -2: the last two records only.
got=$(k -C -t kcat-zstd -p 0 -o -2 -e -q -f '%o %k=%s\n')
want=$(tail -n 2 "$work/zstd.expected")
[[ $got == "$want" ]] || fail "$script.offset_from_end" "kcat -o -2 gave: $got (want: $want)"
pass offset_from_end

# -o <offset> and -c <count>: a window in the middle.
got=$(k -C -t kcat-gzip -p 0 -o 10 -c 3 -q -f '%o\n' | tr '\n' ' ')
[[ $got == "10 11 12 " ]] || fail "$script.offset_window" "kcat -o 10 -c 3 gave: $got"
pass offset_window

# The new topics are in the metadata now, one partition each.
out=$(k -L)
for codec in none gzip snappy lz4 zstd; do
    grep -q "topic \"kcat-$codec\" with 1 partitions" <<<"$out" ||
        fail "$script.metadata_topics" "kcat-$codec missing from: $out"
done
pass metadata_topics

stop_broker clean_stop
