complete -c topics -l topic -d 'The topic to create, alter, describe or delete. Except with --create, a regular expression' -r
complete -c topics -l partitions -d 'The number of partitions for the topic being created or altered. Default: num.partitions (1)' -r
complete -c topics -l replication-factor -d 'The replication factor for each partition. Only 1 is possible on a single node' -r
complete -c topics -l config -d 'A topic configuration override, name=value, for the topic being created or altered; repeatable' -r
complete -c topics -l delete-config -d 'With --alter: a topic configuration override to remove (back to the default); repeatable. (Kafka 4\'s tool ignores this flag.)' -r
complete -c topics -l data-dir -d 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]' -r -F
complete -c topics -l bootstrap-server -d 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]' -r
complete -c topics -l zookeeper -d 'The classic quickstart\'s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection' -r
complete -c topics -l broker-list -d 'The classic quickstart\'s name for --bootstrap-server (removed in Kafka 4.0)' -r
complete -c topics -l context -d 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]' -r
complete -c topics -l command-config -d 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka\'s --producer.config / --consumer.config' -r -F
complete -c topics -l command-property -d 'A client setting, KEY=VALUE, that beats --command-config; repeatable' -r
complete -c topics -l output -d 'Output format: text (Kafka\'s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]' -r -f -a "text\t'Exactly what Apache Kafka\'s tool prints'
table\t'A boxed table, for people'
json\t'One JSON object per line, for scripts'"
complete -c topics -l list -d 'List all available topics'
complete -c topics -l describe -d 'List details for the given topics (with --output table or json, also each partition\'s size on disk)'
complete -c topics -l create -d 'Create a new topic'
complete -c topics -l alter -d 'Alter the number of partitions of a topic, or its configs (--config, --delete-config; Kafka\'s tool leaves configs to kafka-configs)'
complete -c topics -l delete -d 'Delete a topic'
complete -c topics -l if-exists -d 'With --alter, --describe or --delete: only act if the topic exists'
complete -c topics -l if-not-exists -d 'With --create: only create the topic if it does not exist'
complete -c topics -l exclude-internal -d 'Exclude internal topics when listing or describing'
complete -c topics -l under-replicated-partitions -d 'With --describe: only show partitions whose ISR is smaller than their replicas'
complete -c topics -l unavailable-partitions -d 'With --describe: only show partitions whose leader is unavailable'
complete -c topics -l topics-with-overrides -d 'With --describe: only show topics that have config overrides'
complete -c topics -l yes -d 'With --delete: do not ask for confirmation (it is asked only when stdin and stderr are terminals)'
complete -c topics -s h -l help -d 'Print help (see more with \'--help\')'
complete -c topics -s V -l version -d 'Print version'
