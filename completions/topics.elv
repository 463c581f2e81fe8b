
use builtin;
use str;

set edit:completion:arg-completer[topics] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'topics'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'topics'= {
            cand --topic 'The topic to create, alter, describe or delete. Except with --create, a regular expression'
            cand --partitions 'The number of partitions for the topic being created or altered. Default: num.partitions (1)'
            cand --replication-factor 'The replication factor for each partition. Only 1 is possible on a single node'
            cand --config 'A topic configuration override, name=value, for the topic being created or altered; repeatable'
            cand --delete-config 'With --alter: a topic configuration override to remove (back to the default); repeatable. (Kafka 4''s tool ignores this flag.)'
            cand --data-dir 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]'
            cand --bootstrap-server 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]'
            cand --zookeeper 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection'
            cand --broker-list 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)'
            cand --context 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]'
            cand --command-config 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config'
            cand --command-property 'A client setting, KEY=VALUE, that beats --command-config; repeatable'
            cand --output 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]'
            cand --list 'List all available topics'
            cand --describe 'List details for the given topics (with --output table or json, also each partition''s size on disk)'
            cand --create 'Create a new topic'
            cand --alter 'Alter the number of partitions of a topic, or its configs (--config, --delete-config; Kafka''s tool leaves configs to kafka-configs)'
            cand --delete 'Delete a topic'
            cand --if-exists 'With --alter, --describe or --delete: only act if the topic exists'
            cand --if-not-exists 'With --create: only create the topic if it does not exist'
            cand --exclude-internal 'Exclude internal topics when listing or describing'
            cand --under-replicated-partitions 'With --describe: only show partitions whose ISR is smaller than their replicas'
            cand --unavailable-partitions 'With --describe: only show partitions whose leader is unavailable'
            cand --topics-with-overrides 'With --describe: only show topics that have config overrides'
            cand --yes 'With --delete: do not ask for confirmation (it is asked only when stdin and stderr are terminals)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
