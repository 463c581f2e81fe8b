complete -c consumer-groups -l group -d 'The group; repeatable' -r
complete -c consumer-groups -l topic -d 'A topic, optionally with partitions (`t:0,1`); repeatable' -r
complete -c consumer-groups -l state -d 'With --describe: show the group state. With --list: show states, optionally only these (comma-separated)' -r
complete -c consumer-groups -l to-offset -d 'Reset to this offset (clamped to the log)' -r
complete -c consumer-groups -l shift-by -d 'Move the committed offset by N (may be negative; clamped to the log)' -r
complete -c consumer-groups -l to-datetime -d 'Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z, ±hh:mm, ±hhmm or ±hh; without a zone the time is UTC, as in Kafka' -r
complete -c consumer-groups -l by-duration -d 'Reset to the first offset at or after now minus this ISO-8601 duration (PnDTnHnMn.nS, e.g. PT1H30M or P1DT12H; PT alone is not a duration)' -r
complete -c consumer-groups -l watch -d 'With --describe: redraw the offsets and lag every SECS seconds (default 2) with each partition\'s consume rate and time to catch up, until Ctrl-C' -r
complete -c consumer-groups -l watch-count -d 'With --watch: stop after this many refreshes (for scripts and tests)' -r
complete -c consumer-groups -l data-dir -d 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]' -r -F
complete -c consumer-groups -l bootstrap-server -d 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]' -r
complete -c consumer-groups -l zookeeper -d 'The classic quickstart\'s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection' -r
complete -c consumer-groups -l broker-list -d 'The classic quickstart\'s name for --bootstrap-server (removed in Kafka 4.0)' -r
complete -c consumer-groups -l context -d 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]' -r
complete -c consumer-groups -l command-config -d 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka\'s --producer.config / --consumer.config' -r -F
complete -c consumer-groups -l command-property -d 'A client setting, KEY=VALUE, that beats --command-config; repeatable' -r
complete -c consumer-groups -l output -d 'Output format: text (Kafka\'s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]' -r -f -a "text\t'Exactly what Apache Kafka\'s tool prints'
table\t'A boxed table, for people'
json\t'One JSON object per line, for scripts'"
complete -c consumer-groups -l list -d 'List all consumer groups'
complete -c consumer-groups -l describe -d 'Describe groups: their offsets and lag (default), members (--members) or state (--state)'
complete -c consumer-groups -l delete -d 'Delete groups that have no active members'
complete -c consumer-groups -l delete-offsets -d 'Delete committed offsets of a group for --topic'
complete -c consumer-groups -l reset-offsets -d 'Reset a group\'s committed offsets (a dry run unless --execute)'
complete -c consumer-groups -l all-groups -d 'Act on every group'
complete -c consumer-groups -l all-topics -d 'With --reset-offsets: every topic the group has offsets for'
complete -c consumer-groups -l members -d 'With --describe: show members'
complete -c consumer-groups -l verbose -d 'With --describe: show the members\' assignments too'
complete -c consumer-groups -l offsets -d 'With --describe: show offsets (the default view)'
complete -c consumer-groups -l to-earliest -d 'Reset to the earliest offset'
complete -c consumer-groups -l to-latest -d 'Reset to the latest offset'
complete -c consumer-groups -l to-current -d 'Reset to the current committed offset'
complete -c consumer-groups -l dry-run -d 'Show what a reset would do (the default)'
complete -c consumer-groups -l execute -d 'Apply the reset'
complete -c consumer-groups -l yes -d 'With --delete or --delete-offsets: do not ask for confirmation (it is asked only when stdin and stderr are terminals)'
complete -c consumer-groups -s h -l help -d 'Print help (see more with \'--help\')'
complete -c consumer-groups -s V -l version -d 'Print version'
