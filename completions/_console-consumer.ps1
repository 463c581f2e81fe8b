
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'console-consumer' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'console-consumer'
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
        'console-consumer' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'The topic to consume')
            [CompletionResult]::new('--include', '--include', [CompletionResultType]::ParameterName, 'A regular expression of topics to consume (instead of --topic)')
            [CompletionResult]::new('--partition', '--partition', [CompletionResultType]::ParameterName, 'Consume only this partition (starting at --offset, default latest)')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'With --partition: earliest, latest, or an offset')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The consumer group; offsets are committed only with a group')
            [CompletionResult]::new('--max-messages', '--max-messages', [CompletionResultType]::ParameterName, 'Exit after this many records (a negative number, Kafka''s default -1, means no limit)')
            [CompletionResult]::new('--timeout-ms', '--timeout-ms', [CompletionResultType]::ParameterName, 'Exit if no record arrives for this many milliseconds (negative: wait for ever)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print each record through a format string, as kcat does: %t topic, %p partition, %o offset, %k key, %v (or %s) value, %K / %S key / value length, %T timestamp in ms, %D timestamp as RFC 3339 (UTC), %h headers as k=v,...; escapes \n \t \r \0')
            [CompletionResult]::new('--from-time', '--from-time', [CompletionResultType]::ParameterName, 'Start each partition at its first record at or after this time: RFC 3339 (2026-12-01T10:00:00Z), a date (2026-12-01, local midnight), or relative to now (-15m, -2h, -1d)')
            [CompletionResult]::new('--to-time', '--to-time', [CompletionResultType]::ParameterName, 'Stop each partition before its first record after this time (same forms as --from-time), then exit')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Start at the last N records of each partition (add --exit-at-end to stop there)')
            [CompletionResult]::new('--isolation-level', '--isolation-level', [CompletionResultType]::ParameterName, 'read_uncommitted, or read_committed: only records of committed transactions, up to the last stable offset')
            [CompletionResult]::new('--property', '--property', [CompletionResultType]::ParameterName, 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID)')
            [CompletionResult]::new('--formatter-property', '--formatter-property', [CompletionResultType]::ParameterName, 'A formatter property, key=value: print.timestamp, print.key, print.offset, print.partition, print.delivery, print.epoch, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal, key.deserializer, value.deserializer (String, ByteArray, Long, Integer, Short, Double, Float, Boolean, UUID)')
            [CompletionResult]::new('--consumer-property', '--consumer-property', [CompletionResultType]::ParameterName, 'A consumer config, key=value: group.id, client.id, auto.offset.reset. The same as --command-property, Kafka''s newer name')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]')
            [CompletionResult]::new('--bootstrap-server', '--bootstrap-server', [CompletionResultType]::ParameterName, 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]')
            [CompletionResult]::new('--zookeeper', '--zookeeper', [CompletionResultType]::ParameterName, 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection')
            [CompletionResult]::new('--broker-list', '--broker-list', [CompletionResultType]::ParameterName, 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]')
            [CompletionResult]::new('--command-config', '--command-config', [CompletionResultType]::ParameterName, 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config')
            [CompletionResult]::new('--command-property', '--command-property', [CompletionResultType]::ParameterName, 'A client setting, KEY=VALUE, that beats --command-config; repeatable')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]')
            [CompletionResult]::new('--from-beginning', '--from-beginning', [CompletionResultType]::ParameterName, 'Start with the earliest record when there is no committed offset')
            [CompletionResult]::new('--exit-at-end', '--exit-at-end', [CompletionResultType]::ParameterName, 'Exit once every partition has been read up to the end it had when the consumer first got it (also with --group)')
            [CompletionResult]::new('--skip-message-on-error', '--skip-message-on-error', [CompletionResultType]::ParameterName, 'Skip records that cannot be processed instead of stopping')
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
