fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::console_producer::ConsoleProducerArgs>(
        streamlog::cli::console_producer::run,
    )
}
