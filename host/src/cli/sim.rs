//! `wasmqq sim`: the simulator on its own.

use std::net::SocketAddr;
use std::path::PathBuf;

pub(super) async fn run(listen: SocketAddr, population: Option<PathBuf>) -> anyhow::Result<()> {
    wasmqq_sim::serve(listen, population).await?;
    Ok(())
}
