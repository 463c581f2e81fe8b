fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::consumer_groups::ConsumerGroupsArgs>(
        streamlog::cli::consumer_groups::run,
    )
}
