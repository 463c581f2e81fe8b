fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::console_consumer::ConsoleConsumerArgs>(
        streamlog::cli::console_consumer::run,
    )
}
