
use builtin;
use str;

set edit:completion:arg-completer[console-consumer] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'console-consumer'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'console-consumer'= {
            cand --topic 'The topic to consume'
            cand --include 'A regular expression of topics to consume (instead of --topic)'
            cand --partition 'Consume only this partition (starting at --offset, default latest)'
            cand --offset 'With --partition: earliest, latest, or an offset'
            cand --group 'The consumer group; offsets are committed only with a group'
            cand --max-messages 'Exit after this many records (a negative number, Kafka''s default -1, means no limit)'
            cand --timeout-ms 'Exit if no record arrives for this many milliseconds (negative: wait for ever)'
            cand --format 'Print each record through a format string, as kcat does: %t topic, %p partition, %o offset, %k key, %v (or %s) value, %K / %S key / value length, %T timestamp in ms, %D timestamp as RFC 3339 (UTC), %h headers as k=v,...; escapes \n \t \r \0'
            cand --from-time 'Start each partition at its first record at or after this time: RFC 3339 (2026-12-01T10:00:00Z), a date (2026-12-01, local midnight), or relative to now (-15m, -2h, -1d)'
            cand --to-time 'Stop each partition before its first record after this time (same forms as --from-time), then exit'
            cand --tail 'Start at the last N records of each partition (add --exit-at-end to stop there)'
            cand --isolation-level 'read_uncommitted, or read_committed: only records of committed transactions, up to the last stable offset'
            cand --property 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID)'
            cand --formatter-property 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID)'
            cand --consumer-property 'A consumer config, key=value: group.id, client.id, auto.offset.reset. The same as --command-property, Kafka''s newer name'
            cand --data-dir 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]'
            cand --bootstrap-server 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]'
            cand --zookeeper 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection'
            cand --broker-list 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)'
            cand --context 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]'
            cand --command-config 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config'
            cand --command-property 'A client setting, KEY=VALUE, that beats --command-config; repeatable'
            cand --output 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]'
            cand --from-beginning 'Start with the earliest record when there is no committed offset'
            cand --exit-at-end 'Exit once every partition has been read up to the end it had when the consumer first got it (also with --group)'
            cand --skip-message-on-error 'Skip records that cannot be processed instead of stopping'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
