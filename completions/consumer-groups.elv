
use builtin;
use str;

set edit:completion:arg-completer[consumer-groups] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'consumer-groups'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'consumer-groups'= {
            cand --group 'The group; repeatable'
            cand --topic 'A topic, optionally with partitions (`t:0,1`); repeatable'
            cand --state 'With --describe: show the group state. With --list: show states, optionally only these (comma-separated)'
            cand --to-offset 'Reset to this offset (clamped to the log)'
            cand --shift-by 'Move the committed offset by N (may be negative; clamped to the log)'
            cand --to-datetime 'Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z, ±hh:mm, ±hhmm or ±hh; without a zone the time is UTC, as in Kafka'
            cand --by-duration 'Reset to the first offset at or after now minus this ISO-8601 duration (PnDTnHnMn.nS, e.g. PT1H30M or P1DT12H; PT alone is not a duration)'
            cand --watch 'With --describe: redraw the offsets and lag every SECS seconds (default 2) with each partition''s consume rate and time to catch up, until Ctrl-C'
            cand --watch-count 'With --watch: stop after this many refreshes (for scripts and tests)'
            cand --data-dir 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]'
            cand --bootstrap-server 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]'
            cand --zookeeper 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection'
            cand --broker-list 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)'
            cand --context 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]'
            cand --command-config 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config'
            cand --command-property 'A client setting, KEY=VALUE, that beats --command-config; repeatable'
            cand --output 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]'
            cand --list 'List all consumer groups'
            cand --describe 'Describe groups: their offsets and lag (default), members (--members) or state (--state)'
            cand --delete 'Delete groups that have no active members'
            cand --delete-offsets 'Delete committed offsets of a group for --topic'
            cand --reset-offsets 'Reset a group''s committed offsets (a dry run unless --execute)'
            cand --all-groups 'Act on every group'
            cand --all-topics 'With --reset-offsets: every topic the group has offsets for'
            cand --members 'With --describe: show members'
            cand --verbose 'With --describe: show the members'' assignments too'
            cand --offsets 'With --describe: show offsets (the default view)'
            cand --to-earliest 'Reset to the earliest offset'
            cand --to-latest 'Reset to the latest offset'
            cand --to-current 'Reset to the current committed offset'
            cand --dry-run 'Show what a reset would do (the default)'
            cand --execute 'Apply the reset'
            cand --yes 'With --delete or --delete-offsets: do not ask for confirmation (it is asked only when stdin and stderr are terminals)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
