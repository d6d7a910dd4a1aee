//! The `wasmqq` command line.

mod demo;
mod log_sink;
mod plugin;
mod plugin_build;
mod run;
mod scaffold;
mod sim;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use log_sink::LogSink;

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
        #[command(flatten)]
        threads: Threads,
    },
    /// Write plugins: create a project, build it, inspect a plugin file or
    /// try commands against it.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run the simulator on its own (for tools and real clients): the WebQQ
    /// face by default, or the OneBot v11 face (--face onebot) for bots
    /// such as NoneBot2 or Koishi.
    Sim(sim::SimArgs),
    /// Internal: compile one component read from stdin into `--out` (the
    /// bot runs this in a child process; see `runtime::compiler`).
    #[command(name = "compile-component", hide = true)]
    CompileComponent {
        /// Where to write the precompiled component.
        #[arg(long)]
        out: PathBuf,
    },
}

/// How many threads the bot's async work runs on.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Threads {
    /// Threads for the bot's async work: 1 (the default) runs it as one
    /// event loop, the cheapest per message; more let CPU-heavy plugins of
    /// different chats use several cores (see docs/bot.md).
    #[arg(
        long,
        env = "WASMQQ_WORKER_THREADS",
        default_value_t = crate::bot::threads::DEFAULT_WORKER_THREADS,
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    pub worker_threads: u16,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Print a plugin's metadata (name, version, commands, capabilities, ABI
    /// version) or say clearly why it cannot be loaded.
    Check {
        /// The plugin's `.wasm` file.
        file: PathBuf,
        #[command(flatten)]
        cache: plugin::CacheArgs,
    },
    /// Send messages to a plugin, without any network, and print the
    /// actions it answers with. Commands go to `on-command` (aliases
    /// resolved), text matching a trigger to `on-message`, as in the bot.
    ///
    /// Example: wasmqq plugin try dice.wasm "!roll 2d6" "!r 1d20"
    Try {
        /// The plugin's `.wasm` file.
        file: PathBuf,
        /// The message texts, sent in order to the same instance, e.g. "!roll 2d6".
        #[arg(required = true)]
        messages: Vec<String>,
        /// Capabilities to grant (kv is backed by memory here), e.g. --grant kv.
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Speak in a group with this id instead of a friend chat.
        #[arg(long)]
        group: Option<u64>,
        /// The JSON configuration object passed to the plugin's `init`.
        #[arg(long, default_value = "{}")]
        config: String,
        /// Fail (exit status 1) unless some reply contains this text.
        #[arg(long)]
        expect: Option<String>,
        #[command(flatten)]
        cache: plugin::CacheArgs,
    },
    /// Create a plugin project with one command and a test.
    ///
    /// Example: wasmqq plugin new weather && cd weather && wasmqq plugin build
    New {
        /// The plugin's name: lowercase letters, digits and '-'; also its
        /// crate name, its file name and its command.
        name: String,
        /// The language of the plugin.
        #[arg(long, value_enum, default_value = "rust")]
        lang: scaffold::Lang,
        /// Where to create the project (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A wasmqq checkout (or its plugin-api/ folder) for the SDK path
        /// dependency; found automatically when run inside one.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build a plugin project (cargo for Rust, componentize-py for Python)
    /// and copy the `.wasm` into the bot's plugin folder; prints its path.
    Build {
        /// The project folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to put the `.wasm` (default: the configuration's plugin_dir,
        /// `plugins.d`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The configuration whose plugin_dir is the default --out.
        #[arg(long, default_value = "wasmqq.toml")]
        config: PathBuf,
    },
}

impl Cli {
    /// For the internal `compile-component` subcommand: where to write the
    /// component (the caller runs [`crate::runtime::compiler::child_main`]
    /// and nothing else).
    pub fn compile_component_out(&self) -> Option<&std::path::Path> {
        match &self.command {
            Command::CompileComponent { out } => Some(out),
            _ => None,
        }
    }

    /// The threads the subcommand's async runtime should have: the bot's
    /// setting for `run` and `demo` (see [`crate::bot::threads`]), `None`
    /// (tokio's default, a worker per core) for the others.
    pub fn worker_threads(&self) -> Option<usize> {
        match &self.command {
            Command::Run { threads, .. } => Some(threads.worker_threads.into()),
            Command::Demo(args) => Some(args.threads.worker_threads.into()),
            _ => None,
        }
    }

    /// The log filter when `RUST_LOG` is not set: `info`.
    pub fn default_log_filter(&self) -> &'static str {
        "info"
    }

    /// Where the log lines go: stderr, except for `wasmqq demo`, whose
    /// terminal is the chat: its lines go to `wasmqq.log` in its data
    /// folder (and to stderr as well with `demo -v`).
    pub fn log_sink(&self) -> LogSink {
        match &self.command {
            Command::Demo(args) => LogSink::deferred_file(args.verbose),
            _ => LogSink::stderr(),
        }
    }

    /// Run the chosen subcommand; `logs` is the sink from [`Cli::log_sink`]
    /// the subscriber writes to.
    pub async fn run(self, logs: LogSink) -> anyhow::Result<()> {
        match self.command {
            Command::Plugin(PluginCommand::Check { file, cache }) => {
                plugin::check(&file, cache.dir()).await
            }
            Command::Plugin(PluginCommand::Try {
                file,
                messages,
                grant,
                group,
                config,
                expect,
                cache,
            }) => {
                plugin::try_message(plugin::TryArgs {
                    file: &file,
                    messages: &messages,
                    grant: &grant,
                    group,
                    config: &config,
                    expect: expect.as_deref(),
                    cache: cache.dir(),
                })
                .await
            }
            Command::Plugin(PluginCommand::New {
                name,
                lang,
                dir,
                sdk,
            }) => scaffold::new(scaffold::NewArgs {
                name,
                lang,
                dir,
                sdk,
            }),
            Command::Plugin(PluginCommand::Build { dir, out, config }) => {
                plugin_build::build(plugin_build::BuildArgs { dir, out, config })
            }
            Command::Sim(args) => sim::run(args).await,
            Command::Demo(args) => demo::run(args, logs).await,
            Command::Run { config, .. } => run::run(&config).await,
            Command::CompileComponent { out } => match crate::runtime::compiler::child_main(&out) {
                0 => Ok(()),
                status => std::process::exit(status),
            },
        }
    }
}
