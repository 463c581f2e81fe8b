
use builtin;
use str;

set edit:completion:arg-completer[console-producer] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'console-producer'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'console-producer'= {
            cand --topic 'The topic to produce to'
            cand --compression-codec 'Compression: none, gzip, snappy, lz4 or zstd. Without a value, gzip'
            cand --batch-size 'Bytes of records per batch when not sending synchronously [default: 16384; against a cluster, librdkafka''s 1000000]'
            cand --timeout 'Milliseconds a partial batch may wait for more lines (linger.ms) [default: 1000; against a cluster, librdkafka''s 5]'
            cand --request-required-acks 'Acknowledgements required (-1/all, 0, 1). Embedded appends are complete when they return, so every value behaves like all'
            cand --property 'A line reader property, key=value: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error'
            cand --reader-property 'A line reader property, key=value: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error'
            cand --producer-property 'A producer config, key=value (batch.size, linger.ms, compression.type, client.id, acks, ...); the same as --command-property, Kafka''s newer name'
            cand --input 'How each input line reads: text (Kafka''s line reader and its --property settings) or json, the envelope `console-consumer --output json` prints: {"key", "value", "headers", "partition", "timestamp", "encoding"}'
            cand --file 'Read lines from this file instead of standard input'
            cand --data-dir 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]'
            cand --bootstrap-server 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]'
            cand --zookeeper 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection'
            cand --broker-list 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)'
            cand --context 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]'
            cand --command-config 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config'
            cand --command-property 'A client setting, KEY=VALUE, that beats --command-config; repeatable'
            cand --output 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]'
            cand --sync 'Send each line as its own request and wait for it'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
