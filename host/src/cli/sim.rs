//! `wasmqq sim`: the simulator on its own, wearing its WebQQ face (the
//! default) or its OneBot v11 face.
//!
//! ```text
//! wasmqq sim                                   # WebQQ on 127.0.0.1:8480
//! wasmqq sim --face onebot                     # forward WS ws://127.0.0.1:8480/ + HTTP API
//! wasmqq sim --face onebot --onebot-mode reverse --onebot-url ws://127.0.0.1:8080/onebot/v11/ws
//! wasmqq sim --face onebot --onebot-mode http-post --onebot-url http://127.0.0.1:8080/onebot/v11/http --secret s
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use wasmqq_sim::{
    HttpPost, IdleAnswer, MessageFormat, OneBotFace, Population, ReverseTarget, ReverseWs,
    SimConfig,
};

/// Which protocol the simulator speaks to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Face {
    /// WebQQ (SmartQQ): QR login, poll2, the `*.qq.com` hosts.
    Webqq,
    /// OneBot v11: the simulator plays the implementation (like NapCat).
    Onebot,
}

/// A OneBot communication mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OneBotMode {
    /// Forward WebSocket server on the listen address (`/`, `/api`, `/event`).
    Forward,
    /// Reverse WebSocket client to --onebot-url (or --onebot-api-url and
    /// --onebot-event-url).
    Reverse,
    /// HTTP API server on the listen address (`/<action>`).
    Http,
    /// HTTP POST of events to --onebot-url, plus the HTTP API for calls.
    HttpPost,
}

/// The event message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CQ-code strings.
    String,
    /// Message segment arrays.
    Array,
}

/// The idle poll2 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Idle {
    /// `{"errmsg":"error!!!","retcode":0}` (SmartQQ 2016).
    Json,
    /// HTTP 504 (2017–2018).
    #[value(name = "504")]
    Http504,
    /// `{"retcode":102}` (WebQQ 3.0).
    #[value(name = "102")]
    Retcode102,
}

/// Options of `wasmqq sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on (WebQQ hosts, the OneBot forward WebSocket and
    /// HTTP API, and the control API /_sim/... all share it).
    #[arg(long, default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// Population TOML file (accounts, friends, groups); the built-in one
    /// from config/population.toml when omitted.
    #[arg(long)]
    population: Option<PathBuf>,
    /// The protocol spoken to the bot. With `onebot`, requests whose Host
    /// is not a WebQQ `*.qq.com` host (e.g. 127.0.0.1) are OneBot, and
    /// injected messages become OneBot events.
    #[arg(long, value_enum, default_value = "webqq")]
    face: Face,
    /// OneBot modes, comma-separated (default: forward,http). `reverse` and
    /// `http-post` connect out to --onebot-url.
    #[arg(long, value_enum, value_delimiter = ',')]
    onebot_mode: Vec<OneBotMode>,
    /// Target of the reverse WebSocket (ws://…, Universal client) or of the
    /// HTTP POST (http://…).
    #[arg(long)]
    onebot_url: Option<String>,
    /// Reverse WebSocket split in two connections: the API client's URL
    /// (with --onebot-event-url).
    #[arg(long, requires = "onebot_event_url")]
    onebot_api_url: Option<String>,
    /// Reverse WebSocket split in two connections: the Event client's URL
    /// (with --onebot-api-url).
    #[arg(long, requires = "onebot_api_url")]
    onebot_event_url: Option<String>,
    /// Reverse WebSocket reconnect interval, milliseconds.
    #[arg(long, default_value_t = 3000)]
    reconnect_interval: u64,
    /// Access token bots must send (Authorization: Bearer …) and the
    /// reverse client sends.
    #[arg(long, env = "WASMQQ_SIM_ACCESS_TOKEN")]
    access_token: Option<String>,
    /// HTTP POST signing secret (X-Signature: sha1=…).
    #[arg(long, env = "WASMQQ_SIM_SECRET")]
    secret: Option<String>,
    /// Message format of OneBot events.
    #[arg(long, value_enum, default_value = "string")]
    message_format: Format,
    /// OneBot heartbeat interval, milliseconds (0: no heartbeats).
    #[arg(long, default_value_t = 15000)]
    heartbeat: u64,
    /// WebQQ: seconds an idle poll2 is held (the real service held ≈60 s).
    #[arg(long, default_value_t = 30)]
    poll_hold: u64,
    /// WebQQ: the idle poll2 answer.
    #[arg(long, value_enum, default_value = "json")]
    idle_answer: Idle,
    /// WebQQ: issue an empty ptwebqq cookie (late 2017+ behaviour).
    #[arg(long)]
    empty_ptwebqq: bool,
    /// WebQQ: seconds after which a new QR code is confirmed (scanned at half).
    #[arg(long, default_value_t = 2, conflicts_with = "qr_manual")]
    qr_confirm_after: u64,
    /// WebQQ: QR codes are only scanned/confirmed through the control API
    /// (POST /_sim/qr/scan, /_sim/qr/confirm).
    #[arg(long)]
    qr_manual: bool,
}

impl SimArgs {
    /// The simulator configuration these options describe.
    fn config(&self) -> anyhow::Result<SimConfig> {
        let population = match &self.population {
            Some(p) => Population::load(p)?,
            None => Population::builtin(),
        };
        let onebot = match self.face {
            Face::Webqq => {
                if !self.onebot_mode.is_empty() || self.onebot_url.is_some() {
                    bail!("--onebot-mode and --onebot-url need --face onebot");
                }
                None
            }
            Face::Onebot => Some(self.onebot()?),
        };
        Ok(SimConfig {
            population,
            poll_hold: Duration::from_secs(self.poll_hold),
            qr_auto_confirm: (!self.qr_manual).then(|| Duration::from_secs(self.qr_confirm_after)),
            idle_answer: match self.idle_answer {
                Idle::Json => IdleAnswer::Json,
                Idle::Http504 => IdleAnswer::Http504,
                Idle::Retcode102 => IdleAnswer::Retcode102,
            },
            empty_ptwebqq: self.empty_ptwebqq,
            onebot,
            ..SimConfig::default()
        })
    }

    fn onebot(&self) -> anyhow::Result<OneBotFace> {
        let modes = if self.onebot_mode.is_empty() {
            vec![OneBotMode::Forward, OneBotMode::Http]
        } else {
            self.onebot_mode.clone()
        };
        let has = |m| modes.contains(&m);
        if has(OneBotMode::Reverse) && has(OneBotMode::HttpPost) && self.onebot_api_url.is_none() {
            bail!(
                "--onebot-mode reverse,http-post would share --onebot-url; use --onebot-api-url/--onebot-event-url for the reverse client"
            );
        }
        let reverse_ws = if has(OneBotMode::Reverse) {
            let target = match (
                &self.onebot_api_url,
                &self.onebot_event_url,
                &self.onebot_url,
            ) {
                (Some(api), Some(event), _) => ReverseTarget::Split {
                    api: api.clone(),
                    event: event.clone(),
                },
                (_, _, Some(url)) => ReverseTarget::Universal(url.clone()),
                _ => bail!(
                    "--onebot-mode reverse needs --onebot-url (or --onebot-api-url and --onebot-event-url)"
                ),
            };
            Some(ReverseWs {
                target,
                reconnect_interval: Duration::from_millis(self.reconnect_interval),
            })
        } else {
            None
        };
        let http_post = if has(OneBotMode::HttpPost) {
            let url = self
                .onebot_url
                .clone()
                .context("--onebot-mode http-post needs --onebot-url")?;
            Some(HttpPost::new(url))
        } else {
            None
        };
        Ok(OneBotFace {
            forward_ws: has(OneBotMode::Forward),
            http_api: has(OneBotMode::Http) || has(OneBotMode::HttpPost),
            reverse_ws,
            http_post,
            access_token: self.access_token.clone().filter(|t| !t.is_empty()),
            secret: self.secret.clone().filter(|s| !s.is_empty()),
            message_format: match self.message_format {
                Format::String => MessageFormat::String,
                Format::Array => MessageFormat::Array,
            },
            heartbeat: (self.heartbeat > 0).then(|| Duration::from_millis(self.heartbeat)),
            ..OneBotFace::default()
        })
    }
}

pub(super) async fn run(args: SimArgs) -> anyhow::Result<()> {
    let config = args.config()?;
    wasmqq_sim::serve(config, args.listen).await?;
    Ok(())
}
