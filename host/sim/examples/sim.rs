//! Runs the simulator standalone until ctrl-c, like `wasmqq sim`:
//!
//! ```text
//! cargo run -p wasmqq-sim --example sim -- [LISTEN_ADDR] [POPULATION_FILE]
//! ```
//!
//! Defaults: `127.0.0.1:8080`, the built-in population. `RUST_LOG` filters
//! the logs (default `info`).

use std::net::SocketAddr;
use std::path::PathBuf;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = match args.next().as_deref().unwrap_or("127.0.0.1:8080").parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("invalid listen address: {e}");
            std::process::exit(2);
        }
    };
    let population = match args.next().map(PathBuf::from) {
        Some(p) => match wasmqq_sim::Population::load(&p) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        None => wasmqq_sim::Population::builtin(),
    };
    let config = wasmqq_sim::SimConfig {
        population,
        ..wasmqq_sim::SimConfig::default()
    };
    if let Err(e) = wasmqq_sim::serve(config, listen).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
