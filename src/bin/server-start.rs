fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::server_start::ServerStartArgs>(
        streamlog::cli::server_start::run,
    )
}
