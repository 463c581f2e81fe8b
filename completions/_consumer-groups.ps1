
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'consumer-groups' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'consumer-groups'
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
        'consumer-groups' {
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'The group; repeatable')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'A topic, optionally with partitions (`t:0,1`); repeatable')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'With --describe: show the group state. With --list: show states, optionally only these (comma-separated)')
            [CompletionResult]::new('--to-offset', '--to-offset', [CompletionResultType]::ParameterName, 'Reset to this offset (clamped to the log)')
            [CompletionResult]::new('--shift-by', '--shift-by', [CompletionResultType]::ParameterName, 'Move the committed offset by N (may be negative; clamped to the log)')
            [CompletionResult]::new('--to-datetime', '--to-datetime', [CompletionResultType]::ParameterName, 'Reset to the first offset at or after this time: YYYY-MM-DDTHH:mm:SS.sss, optionally followed by Z, ±hh:mm, ±hhmm or ±hh; without a zone the time is UTC, as in Kafka')
            [CompletionResult]::new('--by-duration', '--by-duration', [CompletionResultType]::ParameterName, 'Reset to the first offset at or after now minus this ISO-8601 duration (PnDTnHnMn.nS, e.g. PT1H30M or P1DT12H; PT alone is not a duration)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'With --describe: redraw the offsets and lag every SECS seconds (default 2) with each partition''s consume rate and time to catch up, until Ctrl-C')
            [CompletionResult]::new('--watch-count', '--watch-count', [CompletionResultType]::ParameterName, 'With --watch: stop after this many refreshes (for scripts and tests)')
            [CompletionResult]::new('--data-dir', '--data-dir', [CompletionResultType]::ParameterName, 'Data directory of the embedded log engine [env: STREAMLOG_DATA_DIR; default: ~/.local/share/streamlog]')
            [CompletionResult]::new('--bootstrap-server', '--bootstrap-server', [CompletionResultType]::ParameterName, 'Kafka bootstrap servers (host:port,...): talk to a cluster instead of the embedded data dir [env: STREAMLOG_BOOTSTRAP_SERVER]')
            [CompletionResult]::new('--zookeeper', '--zookeeper', [CompletionResultType]::ParameterName, 'The classic quickstart''s `--zookeeper HOST:PORT`: read as the local default (the data dir, or the server-start that owns it), never a ZooKeeper connection')
            [CompletionResult]::new('--broker-list', '--broker-list', [CompletionResultType]::ParameterName, 'The classic quickstart''s name for --bootstrap-server (removed in Kafka 4.0)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'A named cluster or data dir from ~/.config/streamlog/config.toml [env: STREAMLOG_CONTEXT]')
            [CompletionResult]::new('--command-config', '--command-config', [CompletionResultType]::ParameterName, 'A Java properties file of client settings (security.protocol, sasl.*, ssl.*, client.id; auto.create.topics.enable and num.partitions for the embedded engine). Also accepted as Kafka''s --producer.config / --consumer.config')
            [CompletionResult]::new('--command-property', '--command-property', [CompletionResultType]::ParameterName, 'A client setting, KEY=VALUE, that beats --command-config; repeatable')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: text (Kafka''s layout), table, or json (one object per line) [default: table on a terminal, text in a pipe]')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List all consumer groups')
            [CompletionResult]::new('--describe', '--describe', [CompletionResultType]::ParameterName, 'Describe groups: their offsets and lag (default), members (--members) or state (--state)')
            [CompletionResult]::new('--delete', '--delete', [CompletionResultType]::ParameterName, 'Delete groups that have no active members')
            [CompletionResult]::new('--delete-offsets', '--delete-offsets', [CompletionResultType]::ParameterName, 'Delete committed offsets of a group for --topic')
            [CompletionResult]::new('--reset-offsets', '--reset-offsets', [CompletionResultType]::ParameterName, 'Reset a group''s committed offsets (a dry run unless --execute)')
            [CompletionResult]::new('--all-groups', '--all-groups', [CompletionResultType]::ParameterName, 'Act on every group')
            [CompletionResult]::new('--all-topics', '--all-topics', [CompletionResultType]::ParameterName, 'With --reset-offsets: every topic the group has offsets for')
            [CompletionResult]::new('--members', '--members', [CompletionResultType]::ParameterName, 'With --describe: show members')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'With --describe: show the members'' assignments too')
            [CompletionResult]::new('--offsets', '--offsets', [CompletionResultType]::ParameterName, 'With --describe: show offsets (the default view)')
            [CompletionResult]::new('--to-earliest', '--to-earliest', [CompletionResultType]::ParameterName, 'Reset to the earliest offset')
            [CompletionResult]::new('--to-latest', '--to-latest', [CompletionResultType]::ParameterName, 'Reset to the latest offset')
            [CompletionResult]::new('--to-current', '--to-current', [CompletionResultType]::ParameterName, 'Reset to the current committed offset')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what a reset would do (the default)')
            [CompletionResult]::new('--execute', '--execute', [CompletionResultType]::ParameterName, 'Apply the reset')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'With --delete or --delete-offsets: do not ask for confirmation (it is asked only when stdin and stderr are terminals)')
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
