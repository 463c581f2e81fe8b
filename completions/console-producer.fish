complete -c console-producer -l topic -d 'The topic to produce to' -r
complete -c console-producer -l compression-codec -d 'Compression: none, gzip, snappy, lz4 or zstd. Without a value, gzip' -r
complete -c console-producer -l batch-size -d 'Bytes of records per batch when not sending synchronously [default: 16384; against a cluster, librdkafka\'s 1000000]' -r
complete -c console-producer -l timeout -d 'Milliseconds a partial batch may wait for more lines (linger.ms) [default: 1000; against a cluster, librdkafka\'s 5]' -r
complete -c console-producer -l request-required-acks -d 'Acknowledgements required (-1/all, 0, 1). Embedded appends are complete when they return, so every value behaves like all' -r
complete -c console-producer -l property -l reader-property -d 'A line reader property, key=value: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error' -r
complete -c console-producer -l producer-property -d 'A producer config, key=value (batch.size, linger.ms, compression.type, client.id, acks, ...); the same as --command-property, Kafka\'s newer name' -r
complete -c console-producer -l input -d 'How each input line reads: text (Kafka\'s line reader and its --property settings) or json, the envelope `console-consumer --output json` prints: {"key", "value", "headers", "partition", "timestamp", "encoding"}' -r -f -a "text\t'Kafka\'s LineMessageReader: the line is the value (keys and headers with --property)'
json\t'One JSON envelope per line, as `console-consumer --output json` prints'"
complete -c console-producer -l file -d 'Read lines from this file instead of standard input' -r -F
complete -c console-producer -l data-dir -d 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]' -r -F
complete -c console-producer -l bootstrap-server -d 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]' -r
complete -c console-producer -l zookeeper -d 'The classic quickstart\'s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection' -r
complete -c console-producer -l broker-list -d 'The classic quickstart\'s name for --bootstrap-server (removed in Kafka 4.0)' -r
complete -c console-producer -l context -d 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]' -r
complete -c console-producer -l command-config -d 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka\'s --producer.config / --consumer.config' -r -F
complete -c console-producer -l command-property -d 'A client setting, KEY=VALUE, that beats --command-config; repeatable' -r
complete -c console-producer -l output -d 'Output format: text (Kafka\'s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]' -r -f -a "text\t'Exactly what Apache Kafka\'s tool prints'
table\t'A boxed table, for people'
json\t'One JSON object per line, for scripts'"
complete -c console-producer -l sync -d 'Send each line as its own request and wait for it'
complete -c console-producer -s h -l help -d 'Print help (see more with \'--help\')'
complete -c console-producer -s V -l version -d 'Print version'
