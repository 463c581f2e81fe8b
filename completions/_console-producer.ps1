
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'console-producer' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'console-producer'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'console-producer' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'The topic to produce to')
            [CompletionResult]::new('--compression-codec', '--compression-codec', [CompletionResultType]::ParameterName, 'Compression: none, gzip, snappy, lz4 or zstd. Without a value, gzip')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Bytes of records per batch when not sending synchronously [default: 16384; against a cluster, librdkafka''s 1000000]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Milliseconds a partial batch may wait for more lines (linger.ms) [default: 1000; against a cluster, librdkafka''s 5]')
            [CompletionResult]::new('--request-required-acks', '--request-required-acks', [CompletionResultType]::ParameterName, 'Acknowledgements required (-1/all, 0, 1). Embedded appends are complete when they return, so every value behaves like all')
            [CompletionResult]::new('--property', '--property', [CompletionResultType]::ParameterName, 'A line reader property, key=value: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error')
            [CompletionResult]::new('--reader-property', '--reader-property', [CompletionResultType]::ParameterName, 'A line reader property, key=value: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error')
            [CompletionResult]::new('--producer-property', '--producer-property', [CompletionResultType]::ParameterName, 'A producer config, key=value (batch.size, linger.ms, compression.type, client.id, acks, ...); the same as --command-property, Kafka''s newer name')
            [CompletionResult]::new('--input', '--input', [CompletionResultType]::ParameterName, 'How each input line reads: text (Kafka''s line reader and its --property settings) or json, the envelope `console-consumer --output json` prints: {"key", "value", "headers", "partition", "timestamp", "encoding"}')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read lines from this file instead of standard input')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]')
            [CompletionResult]::new('--bootstrap-server', '--bootstrap-server', [CompletionResultType]::ParameterName, 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]')
            [CompletionResult]::new('--zookeeper', '--zookeeper', [CompletionResultType]::ParameterName, 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection')
            [CompletionResult]::new('--broker-list', '--broker-list', [CompletionResultType]::ParameterName, 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]')
            [CompletionResult]::new('--command-config', '--command-config', [CompletionResultType]::ParameterName, 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config')
            [CompletionResult]::new('--command-property', '--command-property', [CompletionResultType]::ParameterName, 'A client setting, KEY=VALUE, that beats --command-config; repeatable')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]')
            [CompletionResult]::new('--sync', '--sync', [CompletionResultType]::ParameterName, 'Send each line as its own request and wait for it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
