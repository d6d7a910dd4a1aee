//! Simulator settings.

use std::time::Duration;

use crate::Population;
use crate::onebot::OneBotFace;

/// How an idle `poll2` (nothing happened during the hold) is answered (§6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdleAnswer {
    /// `{"errmsg":"error!!!","retcode":0}` (SmartQQ 2016; every peer copes).
    #[default]
    Json,
    /// HTTP 504 from the "gateway" (2017–2018).
    Http504,
    /// `{"retcode":102,"errmsg":""}` (WebQQ 3.0).
    Retcode102,
}

/// Everything that shapes a simulator run. `SimConfig::default()` uses the
/// built-in population and the settings documented on each field.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The simulated world.
    pub population: Population,
    /// How long an idle `poll2` is held before the idle answer (default 30 s).
    pub poll_hold: Duration,
    /// `Some(d)`: a new QR code is "scanned" after `d/2` and "confirmed"
    /// after `d` (each state is still reported at least once, so a client
    /// always sees 66 → 67 → 0). `None`: only the control API
    /// (`POST /_sim/qr/scan`, `POST /_sim/qr/confirm`) moves it on.
    /// Default `Some(2 s)`.
    pub qr_auto_confirm: Option<Duration>,
    /// Age after which an unconfirmed QR code answers 65 (default 120 s).
    pub qr_expiry: Duration,
    /// The idle `poll2` answer (default [`IdleAnswer::Json`]).
    pub idle_answer: IdleAnswer,
    /// Answer `poll2` with 103 until `get_online_buddies2` was called once
    /// on the session (§2.8; default true).
    pub require_activation: bool,
    /// Issue an empty `ptwebqq` cookie (late 2017+ behaviour; default false:
    /// 64 hex characters).
    pub empty_ptwebqq: bool,
    /// Serve `get_friend_uin2` (removed in 2017; default false: HTTP 404).
    pub friend_uin_api: bool,
    /// Answer API calls made over plain http (no `X-Original-Scheme: https`)
    /// with `{"retcode":50}`, as after Dec 2018 (default false).
    pub retire_http: bool,
    /// Echo the bot's own sends back through `poll2` (default false).
    pub echo_own_sends: bool,
    /// `Some`: the simulator's face is OneBot v11 (see [`OneBotFace`]);
    /// injected messages become OneBot events instead of poll2 answers.
    /// Default `None`: the WebQQ face only.
    pub onebot: Option<OneBotFace>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            population: Population::builtin(),
            poll_hold: Duration::from_secs(30),
            qr_auto_confirm: Some(Duration::from_secs(2)),
            qr_expiry: Duration::from_secs(120),
            idle_answer: IdleAnswer::Json,
            require_activation: true,
            empty_ptwebqq: false,
            friend_uin_api: false,
            retire_http: false,
            echo_own_sends: false,
            onebot: None,
        }
    }
}
