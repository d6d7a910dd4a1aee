//! `wasmqq run --config FILE`: the bot for a real deployment.

use std::path::Path;

use wasmqq_webqq::Observer;

use crate::bot::Bot;
use crate::config::Config;

pub(super) async fn run(path: &Path) -> anyhow::Result<()> {
    let config = Config::load(path)?;
    let bot = Bot::start(config, Observer::stderr()).await?;
    bot.run(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
