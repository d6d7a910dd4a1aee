//! The `wasmqq` command line.

mod demo;
mod plugin;
mod run;
mod sim;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// wasmqq: a WebQQ chat bot whose features are sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "wasmqq", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole bot against the embedded WebQQ simulator, with a chat
    /// prompt where you speak as a friend or group member.
    Demo(demo::DemoArgs),
    /// Run the bot for real: log in to WebQQ (QR code), load the plugin
    /// folder and answer until ctrl-c.
    Run {
        /// The configuration file (see config/wasmqq.toml).
        #[arg(long, default_value = "wasmqq.toml")]
        config: PathBuf,
    },
    /// Work with plugin files: inspect one, or try a command against it.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run the WebQQ server simulator on its own (for tools and real clients).
    Sim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8480")]
        listen: SocketAddr,
        /// Population TOML file (accounts, friends, groups); the built-in one
        /// from config/population.toml when omitted.
        #[arg(long)]
        population: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Print a plugin's metadata (name, version, commands, capabilities, ABI
    /// version) or say clearly why it cannot be loaded.
    Check {
        /// The plugin's `.wasm` file.
        file: PathBuf,
    },
    /// Send one message to a plugin, without any network, and print the
    /// actions it answers with.
    ///
    /// Example: wasmqq plugin try dice.wasm "!roll 2d6"
    Try {
        /// The plugin's `.wasm` file.
        file: PathBuf,
        /// The message text, e.g. "!roll 2d6".
        message: String,
        /// Capabilities to grant (kv is backed by memory here), e.g. --grant kv.
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Speak in a group with this id instead of a friend chat.
        #[arg(long)]
        group: Option<u64>,
    },
}

impl Cli {
    /// Run the chosen subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Plugin(PluginCommand::Check { file }) => plugin::check(&file).await,
            Command::Plugin(PluginCommand::Try {
                file,
                message,
                grant,
                group,
            }) => plugin::try_message(&file, &message, &grant, group).await,
            Command::Sim { listen, population } => sim::run(listen, population).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Run { config } => run::run(&config).await,
        }
    }
}
