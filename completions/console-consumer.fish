complete -c console-consumer -l topic -d 'The topic to consume' -r
complete -c console-consumer -l include -d 'A regular expression of topics to consume (instead of --topic)' -r
complete -c console-consumer -l partition -d 'Consume only this partition (starting at --offset, default latest)' -r
complete -c console-consumer -l offset -d 'With --partition: earliest, latest, or an offset' -r
complete -c console-consumer -l group -d 'The consumer group; offsets are committed only with a group' -r
complete -c console-consumer -l max-messages -d 'Exit after this many records (a negative number, Kafka\'s default -1, means no limit)' -r
complete -c console-consumer -l timeout-ms -d 'Exit if no record arrives for this many milliseconds (negative: wait for ever)' -r
complete -c console-consumer -l format -d 'Print each record through a format string, as kcat does: %t topic, %p partition, %o offset, %k key, %v (or %s) value, %K / %S key / value length, %T timestamp in ms, %D timestamp as RFC 3339 (UTC), %h headers as k=v,...; escapes \\n \\t \\r \\0' -r
complete -c console-consumer -l from-time -d 'Start each partition at its first record at or after this time: RFC 3339 (2026-12-01T10:00:00Z), a date (2026-12-01, local midnight), or relative to now (-15m, -2h, -1d)' -r
complete -c console-consumer -l to-time -d 'Stop each partition before its first record after this time (same forms as --from-time), then exit' -r
complete -c console-consumer -l tail -d 'Start at the last N records of each partition (add --exit-at-end to stop there)' -r
complete -c console-consumer -l isolation-level -d 'read_uncommitted, or read_committed: only records of committed transactions, up to the last stable offset' -r
complete -c console-consumer -l property -l formatter-property -d 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID)' -r
complete -c console-consumer -l consumer-property -d 'A consumer config, key=value: group.id, client.id, auto.offset.reset. The same as --command-property, Kafka\'s newer name' -r
complete -c console-consumer -l data-dir -d 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]' -r -F
complete -c console-consumer -l bootstrap-server -d 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]' -r
complete -c console-consumer -l zookeeper -d 'The classic quickstart\'s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection' -r
complete -c console-consumer -l broker-list -d 'The classic quickstart\'s name for --bootstrap-server (removed in Kafka 4.0)' -r
complete -c console-consumer -l context -d 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]' -r
complete -c console-consumer -l command-config -d 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka\'s --producer.config / --consumer.config' -r -F
complete -c console-consumer -l command-property -d 'A client setting, KEY=VALUE, that beats --command-config; repeatable' -r
complete -c console-consumer -l output -d 'Output format: text (Kafka\'s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]' -r -f -a "text\t'Exactly what Apache Kafka\'s tool prints'
table\t'A boxed table, for people'
json\t'One JSON object per line, for scripts'"
complete -c console-consumer -l from-beginning -d 'Start with the earliest record when there is no committed offset'
complete -c console-consumer -l exit-at-end -d 'Exit once every partition has been read up to the end it had when the consumer first got it (also with --group)'
complete -c console-consumer -l skip-message-on-error -d 'Skip records that cannot be processed instead of stopping'
complete -c console-consumer -s h -l help -d 'Print help (see more with \'--help\')'
complete -c console-consumer -s V -l version -d 'Print version'
