fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::topics::TopicsArgs>(streamlog::cli::topics::run)
}
