//! The `wasmqq` binary.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = wasmqq::cli::Cli::parse();
    if let Some(out) = cli.compile_component_out() {
        // A compiler child process (see `runtime::compiler`): no runtime,
        // no logging, just the compile.
        let status = wasmqq::runtime::compiler::child_main(out);
        return std::process::ExitCode::from(u8::try_from(status).unwrap_or(1));
    }
    // Plugins are compiled by children running this same binary.
    match std::env::current_exe() {
        Ok(exe) => wasmqq::runtime::compiler::compile_in_child_processes(exe),
        Err(e) => eprintln!("warning: plugins compile in this process: {e}"),
    }
    let logs = cli.log_sink();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(cli.default_log_filter())),
        )
        .with_writer(logs.clone())
        .with_ansi(logs.wants_ansi())
        .init();
    let runtime = match cli.worker_threads() {
        Some(threads) => wasmqq::bot::threads::runtime(threads),
        None => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run(logs)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
