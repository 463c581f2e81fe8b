/// Oversized array claims in requests must not abort the broker (see `broker::alloc`).
#[global_allocator]
static ALLOC: streamlog::broker::alloc::BrokerAlloc = streamlog::broker::alloc::BrokerAlloc;

fn main() -> std::process::ExitCode {
    streamlog::cli::main::<streamlog::cli::server_start::ServerStartArgs>(
        streamlog::cli::server_start::run,
    )
}
