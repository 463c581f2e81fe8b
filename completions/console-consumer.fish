complete -c console-consumer -l topic -d 'The topic to consume' -r
complete -c console-consumer -l include -d 'A regular expression of topics to consume (instead of --topic)' -r
complete -c console-consumer -l partition -d 'Consume only this partition (starting at --offset, default latest)' -r
complete -c console-consumer -l offset -d 'With --partition: earliest, latest, or an offset' -r
complete -c console-consumer -l group -d 'The consumer group; offsets are committed only with a group' -r
complete -c console-consumer -l max-messages -d 'Exit after this many records' -r
complete -c console-consumer -l timeout-ms -d 'Exit if no record arrives for this many milliseconds' -r
complete -c console-consumer -l isolation-level -d 'read_uncommitted or read_committed (no transactions exist in the embedded engine)' -r
complete -c console-consumer -l property -l formatter-property -d 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal' -r
complete -c console-consumer -l consumer-property -d 'A consumer config, key=value: group.id, client.id, auto.offset.reset. The same as --command-property, Kafka\'s newer name' -r
complete -c console-consumer -l data-dir -d 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]' -r -F
complete -c console-consumer -l bootstrap-server -d 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]' -r
complete -c console-consumer -l context -d 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]' -r
complete -c console-consumer -l command-config -d 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine)' -r -F
complete -c console-consumer -l command-property -d 'A client setting, KEY=VALUE, that beats --command-config; repeatable' -r
complete -c console-consumer -l output -d 'Output format: text (Kafka\'s layout), table, or json (one object per line)' -r -f -a "text\t'Exactly what Apache Kafka\'s tool prints'
table\t'A boxed table, for people'
json\t'One JSON object per line, for scripts'"
complete -c console-consumer -l from-beginning -d 'Start with the earliest record when there is no committed offset'
complete -c console-consumer -l skip-message-on-error -d 'Skip records that cannot be processed instead of stopping'
complete -c console-consumer -s h -l help -d 'Print help (see more with \'--help\')'
complete -c console-consumer -s V -l version -d 'Print version'
