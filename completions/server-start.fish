complete -c server-start -l override -d 'A property that beats the file, key=value; repeatable' -r
complete -c server-start -s h -l help -d 'Print help'
complete -c server-start -s V -l version -d 'Print version'
