//! `wasmqq demo`: the whole bot against the embedded simulator, with a chat
//! prompt where you speak as a friend or group member.
//!
//! Interactive on a terminal; with stdin not a terminal it reads lines,
//! prints the bot's replies and exits at the end of input, so it can be
//! scripted: `printf '!help\n!roll 2d6\n' | wasmqq demo`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use wasmqq_sim::{ChatKind, InjectMessage, Population, SentMessage, SimConfig, SimHandle};
use wasmqq_webqq::Observer;

use crate::abi::Capability;
use crate::bot::Bot;
use crate::config::{AccountConfig, Config, OnebotAccountConfig};

use super::LogSink;

/// Options of `wasmqq demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Configuration file (its `[webqq] server` is replaced by the embedded
    /// simulator). Without it: the defaults, with admins = Alice (10001), no
    /// cooldown, 200 ms pacing, `kv` granted to counter and `timers` to
    /// remind.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Plugin folder to load and watch (overrides the configuration's).
    #[arg(long)]
    plugins: Option<PathBuf>,
    /// Where the bot keeps its state; a fresh temporary folder by default.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address of the embedded simulator.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The protocol between the bot and the simulator: `webqq` (SmartQQ,
    /// QR login) or `onebot` (OneBot v11 over a forward WebSocket, the
    /// simulator playing NapCat's part). Any `[[accounts]]` of the
    /// configuration are replaced by this one account.
    #[arg(long, value_enum, default_value_t = DemoPlatform::Webqq)]
    platform: DemoPlatform,
    /// Show the logs of the bot and the simulator on the terminal (stderr)
    /// too; they always go to `wasmqq.log` in the data folder.
    #[arg(short, long)]
    pub(super) verbose: bool,
    #[command(flatten)]
    pub(super) threads: super::Threads,
}

/// The platforms `wasmqq demo` can run over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoPlatform {
    /// The WebQQ face of the simulator.
    Webqq,
    /// The OneBot v11 face of the simulator.
    Onebot,
}

/// Who speaks where.
#[derive(Debug, Clone)]
struct Speaker {
    qq: u64,
    chat: ChatKind,
    to: Option<u64>,
}

pub(super) async fn run(args: DemoArgs, logs: LogSink) -> anyhow::Result<()> {
    let onebot = args.platform == DemoPlatform::Onebot;
    let sim = wasmqq_sim::start(
        SimConfig {
            qr_auto_confirm: Some(Duration::from_millis(500)),
            onebot: onebot.then(wasmqq_sim::OneBotFace::default),
            ..SimConfig::default()
        },
        args.listen,
    )
    .await?;
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => {
            let mut c = Config::default();
            c.bot.admins = vec![10001];
            c.rate_limit.user_cooldown_ms = 0;
            c.webqq.send_interval_ms = 200;
            for (plugin, cap) in [("counter", Capability::Kv), ("remind", Capability::Timers)] {
                c.plugins.entry(plugin.into()).or_default().grants.push(cap);
            }
            c
        }
    };
    let mut temp = None;
    let data = match args.data {
        Some(d) => d,
        None => {
            let t = tempfile::tempdir().context("creating a temporary data folder")?;
            let path = t.path().to_path_buf();
            temp = Some(t);
            path
        }
    };
    std::fs::create_dir_all(&data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    let log_path = data.join("wasmqq.log");
    logs.to_file(&log_path)
        .with_context(|| format!("opening the log file {}", log_path.display()))?;
    config.bot.data_dir = data;
    if let Some(p) = args.plugins {
        config.bot.plugin_dir = p;
    }
    config.webqq.server = Some(sim.addr());
    config.accounts = if onebot {
        vec![AccountConfig::Onebot(OnebotAccountConfig {
            url: Some(sim.onebot_ws_url()),
            send_interval_ms: 200,
            ..OnebotAccountConfig::default()
        })]
    } else {
        Vec::new()
    };
    eprintln!(
        "wasmqq demo: simulated {} at {}, plugins from {}",
        if onebot {
            "OneBot v11 implementation"
        } else {
            "WebQQ"
        },
        sim.addr(),
        config.bot.plugin_dir.display()
    );
    eprintln!(
        "wasmqq demo: logs in {}{}{}",
        log_path.display(),
        if temp.is_some() {
            " (removed at exit; --data DIR keeps them)"
        } else {
            ""
        },
        if args.verbose {
            ""
        } else {
            "; -v shows them here"
        }
    );
    // The login steps are in the log; on the terminal only with -v.
    let observer = if args.verbose {
        Observer::stderr()
    } else {
        Observer::new(|_| {})
    };
    let bot = Bot::start(config, observer).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot_task = tokio::spawn(bot.run(async {
        let _ = stopped.await;
    }));

    let interactive = std::io::stdin().is_terminal();
    let result = chat(&sim, interactive).await;

    let _ = stop.send(());
    let _ = bot_task.await;
    sim.shutdown().await;
    result
}

fn name_of(pop: &Population, qq: u64) -> String {
    pop.users
        .iter()
        .find(|u| u.qq == qq)
        .map(|u| u.nick.clone())
        .unwrap_or_else(|| qq.to_string())
}

fn place(pop: &Population, chat: ChatKind, to: Option<u64>) -> String {
    match (chat, to) {
        (ChatKind::Group, Some(n)) => pop
            .groups
            .iter()
            .find(|g| g.number == n)
            .map(|g| format!("group \"{}\"", g.name))
            .unwrap_or_else(|| format!("group {n}")),
        (ChatKind::Discussion, Some(n)) => pop
            .discussions
            .iter()
            .find(|d| d.id == n)
            .map(|d| format!("discussion \"{}\"", d.name))
            .unwrap_or_else(|| format!("discussion {n}")),
        _ => "a private chat".to_string(),
    }
}

fn render(pop: &Population, m: &SentMessage) -> String {
    let to = match m.chat {
        ChatKind::Friend => format!("to {}", name_of(pop, m.to)),
        kind => format!("in {}", place(pop, kind, Some(m.to))),
    };
    format!("bot ({to}): {}", m.text)
}

const HELP: &str = "Type a message to send it to the bot, e.g. !help or !roll 2d6.\n\
  :as NAME|QQ        speak as another person (:who lists them)\n\
  :group NAME|NUMBER speak in a group      :discussion  speak in the discussion\n\
  :friend            speak in a private chat with the bot\n\
  :who               list people, groups and discussions\n\
  :quit              leave";

fn who(pop: &Population) -> String {
    let mut out = String::from("people:");
    for u in &pop.users {
        out.push_str(&format!(
            "\n  {} ({}){}",
            u.nick,
            u.qq,
            if u.friend { ", friend of the bot" } else { "" }
        ));
    }
    for g in &pop.groups {
        out.push_str(&format!("\ngroup {} \"{}\"", g.number, g.name));
    }
    for d in &pop.discussions {
        out.push_str(&format!("\ndiscussion {} \"{}\"", d.id, d.name));
    }
    out
}

/// Apply a `:` command to the speaker; the text to print.
fn control(pop: &Population, speaker: &mut Speaker, line: &str) -> anyhow::Result<String> {
    let mut words = line[1..].splitn(2, ' ');
    let cmd = words.next().unwrap_or("");
    let arg = words.next().unwrap_or("").trim();
    let find_user = |arg: &str| {
        pop.users
            .iter()
            .find(|u| u.qq.to_string() == arg || u.nick.eq_ignore_ascii_case(arg))
    };
    match cmd {
        "help" => return Ok(HELP.into()),
        "who" => return Ok(who(pop)),
        "as" => {
            let Some(u) = find_user(arg) else {
                bail!("no person {arg:?}; :who lists them");
            };
            speaker.qq = u.qq;
        }
        "friend" => {
            speaker.chat = ChatKind::Friend;
            speaker.to = None;
        }
        "group" => {
            let g = pop
                .groups
                .iter()
                .find(|g| {
                    arg.is_empty()
                        || g.number.to_string() == arg
                        || g.name.eq_ignore_ascii_case(arg)
                })
                .with_context(|| format!("no group {arg:?}; :who lists them"))?;
            speaker.chat = ChatKind::Group;
            speaker.to = Some(g.number);
        }
        "discussion" | "discuss" => {
            let d = pop
                .discussions
                .first()
                .context("the population has no discussion")?;
            speaker.chat = ChatKind::Discussion;
            speaker.to = Some(d.id);
        }
        other => bail!("unknown :{other}; :help lists the demo commands"),
    }
    Ok(format!(
        "you are {} ({}) in {}",
        name_of(pop, speaker.qq),
        speaker.qq,
        place(pop, speaker.chat, speaker.to)
    ))
}

/// Wait for the bot's answers to settle: the first within `first`, then
/// until `quiet` passes without more.
async fn settle(sim: &SimHandle, seen: &mut usize, first: Duration, quiet: Duration) {
    let pop = sim.population().clone();
    let mut wait = first;
    loop {
        let sent = sim.wait_sent(*seen + 1, wait).await;
        if sent.len() <= *seen {
            return;
        }
        for m in &sent[*seen..] {
            // Start a fresh line in case a prompt is showing.
            println!("\r{}", render(&pop, m));
        }
        *seen = sent.len();
        wait = quiet;
    }
}

/// The interactive prompt: who speaks where.
fn prompt(pop: &Population, speaker: &Speaker) {
    use std::io::Write;
    print!(
        "{} in {} › ",
        name_of(pop, speaker.qq),
        place(pop, speaker.chat, speaker.to)
    );
    let _ = std::io::stdout().flush();
}

async fn chat(sim: &SimHandle, interactive: bool) -> anyhow::Result<()> {
    let pop = sim.population().clone();
    let mut speaker = Speaker {
        qq: 10001,
        chat: ChatKind::Friend,
        to: None,
    };
    let mut seen = sim.sent().len();
    if interactive {
        println!("{HELP}");
        println!("{}", control(&pop, &mut speaker, ":friend")?);
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = if interactive {
            prompt(&pop, &speaker);
            tokio::select! {
                line = lines.next_line() => line?,
                _ = settle(sim, &mut seen, Duration::from_secs(3600), Duration::from_millis(50)) => continue,
            }
        } else {
            lines.next_line().await?
        };
        let Some(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == ":quit" {
            break;
        }
        if line.starts_with(':') {
            match control(&pop, &mut speaker, line) {
                Ok(text) => println!("{text}"),
                Err(e) => println!("{e}"),
            }
            continue;
        }
        if !interactive {
            println!(
                "{} ({}): {line}",
                name_of(&pop, speaker.qq),
                place(&pop, speaker.chat, speaker.to)
            );
        }
        let msg = InjectMessage {
            chat: speaker.chat,
            from: speaker.qq,
            to: speaker.to,
            text: line.to_string(),
        };
        if let Err(e) = sim.inject(&msg) {
            println!("(not sent: {e})");
            continue;
        }
        if !interactive {
            settle(
                sim,
                &mut seen,
                Duration::from_secs(3),
                Duration::from_millis(600),
            )
            .await;
        }
    }
    settle(
        sim,
        &mut seen,
        Duration::from_millis(1500),
        Duration::from_millis(600),
    )
    .await;
    Ok(())
}
