#!/usr/bin/env bash
# The tools on a real terminal, under tmux (a private tmux server, killed at the end):
#  - lines typed at console-producer's `>` prompt in one pane appear, one by one, in a
#    console-consumer following the topic in another pane; Ctrl-D ends the producer and Ctrl-C
#    the consumer, each back at the shell. Once on an embedded data dir shared by both panes,
#    once against a server-start.
#  - consumer-groups --describe --watch 1 on a group with lag: the table (group, LAG) is on the
#    screen, is redrawn in place with the new lag after more records arrive, and Ctrl-C returns
#    to the shell. SKIP (with the reason) while consumer-groups --help has no --watch.
# Needs: tmux; cargo build --bins.
set -uo pipefail
script=tmux
source "$(dirname "$0")/_lib.sh"

need_bins server-start topics console-producer console-consumer consumer-groups
if ! command -v tmux >/dev/null; then
    fail setup "tmux is not installed (apt-get install tmux; .ci/run installs it)"
    finish
fi

sock=streamlog-tty-$$
T() { tmux -L "$sock" -f /dev/null "$@"; }
# The panes' processes get SIGHUP; give them a moment to exit before the temp dir goes.
stop_tmux() {
    T kill-server 2>/dev/null
    sleep 0.5
}
cleanup_hooks+=(stop_tmux)

# Every pane runs a bare bash with the tools on PATH and a fixed prompt.
shell="env PATH=$bindir:$PATH PS1='tty\$ ' TERM=screen HOME=$work NO_COLOR=1 bash --norc --noprofile"
T new-session -d -s tty -x 200 -y 50 "$shell" || {
    fail setup "tmux new-session failed"
    finish
}

new_pane() { T split-window -t tty -v -P -F '#{pane_id}' "$shell" && T select-layout -t tty tiled >/dev/null; }
screen() { T capture-pane -p -J -t "$1"; }
# Types a line into a pane (literally) and presses Enter.
type_line() {
    T send-keys -t "$1" -l "$2"
    T send-keys -t "$1" Enter
}
# True if pane $1 shows the fixed string $2.
shows() { screen "$1" | grep -qF -- "$2"; }
# The last $2 (default 8) non-blank lines of pane $1, trailing blanks trimmed, for messages.
tail_of() { screen "$1" | sed 's/[[:space:]]*$//' | grep -v '^$' | tail -"${2:-8}"; }
# True if the last non-empty line of pane $1 is the shell prompt.
at_prompt() { [[ $(tail_of "$1" 1) == 'tty$' ]]; }
# True if the last non-empty line of pane $1 is the producer's `>` prompt.
at_gt() { [[ $(tail_of "$1" 1) == '>' ]]; }

# typed NAME TARGET-FLAGS...: a producer pane and a following consumer pane on one topic.
typed() {
    local name=$1
    shift
    local target="$*" topic=tty-$name
    local prod cons
    prod=$(new_pane) && cons=$(new_pane) || {
        fail "$name" "tmux split-window failed"
        return
    }
    if ! "$bindir/topics" "$@" --create --topic "$topic" >"$work/$name.create" 2>&1; then
        fail "$name" "topics --create failed: $(cat "$work/$name.create")"
        return
    fi
    type_line "$cons" "console-consumer $target --topic $topic --from-beginning; echo consumer-exit=\$?"
    type_line "$prod" "console-producer $target --topic $topic; echo producer-exit=\$?"
    if ! wait_for 15 at_gt "$prod"; then
        fail "$name" "no '>' prompt from console-producer; pane: $(tail_of "$prod")"
        return
    fi
    # Each line must show up in the consumer's pane before the next is typed: live, in order.
    local i line start now
    local -a delays=()
    for i in 1 2 3; do
        line="typed line $i of $name $RANDOM"
        start=$(date +%s%N)
        type_line "$prod" "$line"
        if ! wait_for 10 shows "$cons" "$line"; then
            fail "$name" "'$line' did not appear in the consumer's pane within 10 s; consumer pane: $(tail_of "$cons")"
            return
        fi
        now=$(date +%s%N)
        delays+=("$(((now - start) / 1000000)) ms")
    done
    # The producer prompts again after each line; Ctrl-D ends it with status 0.
    T send-keys -t "$prod" C-d
    if ! wait_for 10 shows "$prod" "producer-exit=0" || ! wait_for 5 at_prompt "$prod"; then
        fail "$name" "Ctrl-D did not end console-producer cleanly; pane: $(tail_of "$prod")"
        return
    fi
    # The consumer's lines are exactly the three typed ones, in order.
    local got
    got=$(screen "$cons" | grep -c "^typed line [123] of $name ")
    if [[ $got != 3 ]]; then
        fail "$name" "the consumer's pane has $got typed lines, not 3: $(screen "$cons")"
        return
    fi
    if ! screen "$cons" | grep "^typed line" | awk '{ print $3 }' | tr -d '\n' | grep -qx 123; then
        fail "$name" "typed lines out of order: $(screen "$cons" | grep '^typed line')"
        return
    fi
    T send-keys -t "$cons" C-c
    if ! wait_for 10 shows "$cons" "consumer-exit=" || ! wait_for 5 at_prompt "$cons"; then
        fail "$name" "Ctrl-C did not return console-consumer to the shell; pane: $(tail_of "$cons")"
        return
    fi
    local code
    code=$(screen "$cons" | grep -o 'consumer-exit=[0-9]*' | tail -1)
    pass "$name" "3 typed lines seen in the consumer's pane after ${delays[*]}; producer-exit=0 on Ctrl-D, $code on Ctrl-C"
    T kill-pane -t "$prod"
    T kill-pane -t "$cons"
}

typed embedded --data-dir "$work/data"
start_server
typed server --bootstrap-server "$b"
stop_server server_clean_stop

# --- consumer-groups --describe --watch 1 ------------------------------------------------------
# The total LAG of group $2 in pane $1's table (box or plain columns); empty if no table or the
# table appears more than once (then it was not redrawn in place).
lag_on_screen() {
    screen "$1" | python3 -c '
import re, sys
group = sys.argv[1]
lines = sys.stdin.read().splitlines()
def cells(l):
    if "│" in l or "┆" in l or "|" in l:
        return [c.strip() for c in re.split(r"[│┆|]", l)[1:-1]]
    return l.split()
headers = [i for i, l in enumerate(lines) if {"GROUP", "LAG"} <= set(cells(l))]
if len(headers) != 1:
    sys.exit(f"{len(headers)} table headers on the screen")
head = cells(lines[headers[0]])
col = head.index("LAG")
total = 0
rows = 0
for l in lines[headers[0] + 1:]:
    c = cells(l)
    if len(c) == len(head) and c[0] == group:
        total += int(c[col])
        rows += 1
if not rows:
    sys.exit("no row of the group")
print(total)
' "$2"
}

watch_check() {
    if ! "$bindir/consumer-groups" --help 2>&1 | grep -q -- '--watch'; then
        skip watch "consumer-groups --help has no --watch yet (the option is being added)"
        return
    fi
    local d=$work/watch-data topic=tty-watch group=tty-watchers
    "$bindir/topics" --data-dir "$d" --create --topic "$topic" >/dev/null 2>&1
    seq 1 10 | sed 's/^/record /' | "$bindir/console-producer" --data-dir "$d" --topic "$topic" >/dev/null 2>&1
    if ! timeout 20 "$bindir/console-consumer" --data-dir "$d" --topic "$topic" --group "$group" \
        --from-beginning --max-messages 3 >/dev/null 2>"$work/watch.consume.err"; then
        fail watch "consuming 3 records with --group failed: $(tail -3 "$work/watch.consume.err")"
        return
    fi
    local pane
    pane=$(new_pane)
    type_line "$pane" "consumer-groups --data-dir $d --describe --group $group --watch 1; echo watch-exit=\$?"
    local lag1=
    wait_for 10 eval 'lag1=$(lag_on_screen "$pane" "$group" 2>/dev/null) && [[ -n $lag1 ]]'
    if [[ $lag1 != 7 ]]; then
        fail watch "expected one table with group $group and LAG 7 on the screen; got '${lag1}'; pane: $(tail_of "$pane")"
        T send-keys -t "$pane" C-c
        return
    fi
    screen "$pane" >"$work/watch.1"
    # Five more records: the next redraw must show LAG 12, still as one table on the screen.
    seq 11 15 | sed 's/^/record /' | "$bindir/console-producer" --data-dir "$d" --topic "$topic" >/dev/null 2>&1
    sleep 2.5
    screen "$pane" >"$work/watch.2"
    local lag2=
    wait_for 5 eval 'lag2=$(lag_on_screen "$pane" "$group" 2>/dev/null) && [[ $lag2 == 12 ]]'
    if [[ $lag2 != 12 ]]; then
        fail watch "after 5 more records the table was not redrawn in place with LAG 12 (got '${lag2}', $(lag_on_screen "$pane" "$group" 2>&1)); pane: $(tail_of "$pane")"
        T send-keys -t "$pane" C-c
        return
    fi
    if cmp -s "$work/watch.1" "$work/watch.2"; then
        fail watch "the two captures 2.5 s apart are identical"
        T send-keys -t "$pane" C-c
        return
    fi
    T send-keys -t "$pane" C-c
    if ! wait_for 10 shows "$pane" "watch-exit=" || ! wait_for 5 at_prompt "$pane"; then
        fail watch "Ctrl-C did not return --watch to the shell; pane: $(tail_of "$pane")"
        return
    fi
    pass watch "table of $group with LAG 7, redrawn in place with LAG 12 after 5 more records; $(screen "$pane" | grep -o 'watch-exit=[0-9]*' | tail -1) on Ctrl-C"
}
watch_check
finish
