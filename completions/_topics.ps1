
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'topics' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'topics'
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
        'topics' {
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'The topic to create, alter, describe or delete. Except with --create, a regular expression')
            [CompletionResult]::new('--partitions', '--partitions', [CompletionResultType]::ParameterName, 'The number of partitions for the topic being created or altered. Default: num.partitions (1)')
            [CompletionResult]::new('--replication-factor', '--replication-factor', [CompletionResultType]::ParameterName, 'The replication factor for each partition. Only 1 is possible on a single node')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'A topic configuration override, name=value, for the topic being created or altered; repeatable')
            [CompletionResult]::new('--delete-config', '--delete-config', [CompletionResultType]::ParameterName, 'With --alter: a topic configuration override to remove (back to the default); repeatable. (Kafka 4''s tool ignores this flag.)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]')
            [CompletionResult]::new('--bootstrap-server', '--bootstrap-server', [CompletionResultType]::ParameterName, 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]')
            [CompletionResult]::new('--zookeeper', '--zookeeper', [CompletionResultType]::ParameterName, 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection')
            [CompletionResult]::new('--broker-list', '--broker-list', [CompletionResultType]::ParameterName, 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]')
            [CompletionResult]::new('--command-config', '--command-config', [CompletionResultType]::ParameterName, 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config')
            [CompletionResult]::new('--command-property', '--command-property', [CompletionResultType]::ParameterName, 'A client setting, KEY=VALUE, that beats --command-config; repeatable')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List all available topics')
            [CompletionResult]::new('--describe', '--describe', [CompletionResultType]::ParameterName, 'List details for the given topics (with --output table or json, also each partition''s size on disk)')
            [CompletionResult]::new('--create', '--create', [CompletionResultType]::ParameterName, 'Create a new topic')
            [CompletionResult]::new('--alter', '--alter', [CompletionResultType]::ParameterName, 'Alter the number of partitions of a topic, or its configs (--config, --delete-config; Kafka''s tool leaves configs to kafka-configs)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete a topic')
            [CompletionResult]::new('--if-exists', '--if-exists', [CompletionResultType]::ParameterName, 'With --alter, --describe or --delete: only act if the topic exists')
            [CompletionResult]::new('--if-not-exists', '--if-not-exists', [CompletionResultType]::ParameterName, 'With --create: only create the topic if it does not exist')
            [CompletionResult]::new('--exclude-internal', '--exclude-internal', [CompletionResultType]::ParameterName, 'Exclude internal topics when listing or describing')
            [CompletionResult]::new('--under-replicated-partitions', '--under-replicated-partitions', [CompletionResultType]::ParameterName, 'With --describe: only show partitions whose ISR is smaller than their replicas')
            [CompletionResult]::new('--unavailable-partitions', '--unavailable-partitions', [CompletionResultType]::ParameterName, 'With --describe: only show partitions whose leader is unavailable')
            [CompletionResult]::new('--topics-with-overrides', '--topics-with-overrides', [CompletionResultType]::ParameterName, 'With --describe: only show topics that have config overrides')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With --delete: do not ask for confirmation (it is asked only when stdin and stderr are terminals)')
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
