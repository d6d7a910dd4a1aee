//! The simulator's mutable state, behind one mutex.
//!
//! There is one bot account, so there is at most one live login and one
//! session at a time; a new QR login replaces both. Incoming events are
//! queued in *public* terms (QQ numbers, group numbers) and rendered with
//! the current login's pseudonyms when a `poll2` takes them, so events
//! injected before any session exist survive and are delivered to the
//! first one. Locks are never held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::{Notify, watch};

use crate::SimConfig;
pub(crate) use crate::event::{Event, unix_now};
use crate::faults::Fault;
use crate::ids::Ids;
use crate::model::{ChatKind, SentMessage};

/// Shared simulator: configuration, state and wake-ups.
pub(crate) struct Sim {
    pub config: SimConfig,
    state: Mutex<State>,
    /// Woken whenever a held `poll2` may have something to do (event
    /// queued, newer poll, session change, shutdown).
    pub wake: Notify,
    /// Woken whenever the bot sends something.
    pub sent_notify: Notify,
    /// Turns true when the simulator stops (OneBot connections and clients
    /// end on it).
    pub stop: watch::Sender<bool>,
}

impl Sim {
    pub(crate) fn new(config: SimConfig) -> Sim {
        Sim {
            config,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            sent_notify: Notify::new(),
            stop: watch::Sender::new(false),
        }
    }

    /// Locks the state (a poisoned lock is recovered: the state stays
    /// consistent between statements).
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every held poll so it re-examines the state.
    pub(crate) fn wake_polls(&self) {
        self.wake.notify_waiters();
    }
}

/// Where a QR code is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QrStage {
    /// 66 not scanned.
    Waiting,
    /// 67 scanned, not confirmed.
    Scanned,
    /// 0 answered; the code is used up.
    Done,
}

/// One QR code handed out by `ptqrshow`.
#[derive(Debug)]
pub(crate) struct Qr {
    pub created: Instant,
    pub stage: QrStage,
    /// 66 was reported at least once.
    pub reported_waiting: bool,
    /// Manual "scan" from the control API.
    pub scan: bool,
    /// Manual "confirm" from the control API.
    pub confirm: bool,
    /// ptqrlogin polls so far.
    pub polls: u32,
}

/// Why a login stopped working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Death {
    /// Kicked ("logged in elsewhere"); the kick event may still be pending.
    Kicked { delivered: bool },
    /// Expired by the control API.
    Expired,
    /// Logged out through ptlogin2 `/logout`.
    LoggedOut,
}

/// A QR login (cookies issued), and the WebQQ session on top of it.
#[derive(Debug)]
pub(crate) struct Login {
    /// Number of this login (1, 2, …).
    pub serial: u64,
    pub skey: String,
    pub ptsigx: String,
    /// `s_url` of the ptqrlogin request (where check_sig redirects).
    pub s_url: String,
    /// check_sig was visited (ptwebqq issued).
    pub checked: bool,
    pub ptwebqq: String,
    /// The ptwebqq a poll2 `116` rotated out. Refused like any wrong value
    /// (login2, getvfwebqq, list hashes); kept to log its use as stale.
    pub old_ptwebqq: Option<String>,
    /// The getvfwebqq value: the only usable vfwebqq.
    pub vfwebqq: String,
    pub ids: Ids,
    pub session: Option<Session>,
    pub death: Option<Death>,
    pub status: String,
}

impl Login {
    /// Whether `given` is the current ptwebqq; the one a `116` replaced is
    /// refused (and logged as stale).
    pub(crate) fn ptwebqq_is(&self, given: &str, endpoint: &str) -> bool {
        if given == self.ptwebqq {
            return true;
        }
        if self.old_ptwebqq.as_deref() == Some(given) {
            tracing::info!(
                endpoint,
                "sim: stale ptwebqq (replaced by poll2 116) refused"
            );
        }
        false
    }
}

/// A channel session created by `login2`.
#[derive(Debug)]
pub(crate) struct Session {
    pub psessionid: String,
    pub clientid: u64,
    /// login2's own vfwebqq (useless in SmartQQ, like on the real service).
    pub login2_vfwebqq: String,
    pub activated: bool,
    /// A poll2 answered `120`/`121` (connection lost): every call with this
    /// psessionid is refused until login2 relinks it.
    pub lost: bool,
}

/// Everything that changes.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub qrs: HashMap<String, Qr>,
    /// The most recent qrsig (the one the control API confirms).
    pub last_qr: Option<String>,
    pub login: Option<Login>,
    pub logins: u64,
    pub events: VecDeque<Event>,
    pub sent: Vec<SentMessage>,
    pub faults: Vec<Fault>,
    pub next_msg_id: u64,
    /// Incremented by every poll2; a held poll whose number is no longer
    /// the latest completes with the idle answer.
    pub poll_gen: u64,
    /// A poll is being held right now.
    pub polls_held: u32,
    /// Recent conversations, newest last: (kind, public id).
    pub recent: Vec<(ChatKind, u64)>,
    pub shutting_down: bool,
    pub delivered: u64,
    /// When the last poll2 answer carrying an event was made, and when
    /// the last send was accepted (see `SimHandle::last_turnaround`).
    pub last_delivered_at: Option<Instant>,
    pub last_sent_at: Option<Instant>,
    /// OneBot connections and what waits for them.
    pub onebot: crate::onebot::conns::Hub,
}

impl State {
    /// The login if it is alive (checked or not).
    pub(crate) fn live_login(&self) -> Option<&Login> {
        self.login.as_ref().filter(|l| l.death.is_none())
    }

    /// The alive session with this psessionid (not lost to a 120/121).
    pub(crate) fn session_ok(&self, psessionid: &str) -> bool {
        self.live_login()
            .and_then(|l| l.session.as_ref())
            .is_some_and(|s| s.psessionid == psessionid && !s.lost)
    }

    /// A fresh server-side message id.
    pub(crate) fn msg_id(&mut self) -> u64 {
        if self.next_msg_id == 0 {
            self.next_msg_id = rand::rng().random_range(10_000..20_000);
        }
        self.next_msg_id += 1;
        self.next_msg_id
    }

    /// Moves a conversation to the top of the recent list.
    pub(crate) fn touch_recent(&mut self, kind: ChatKind, id: u64) {
        self.recent.retain(|r| *r != (kind, id));
        self.recent.push((kind, id));
    }
}

/// `n` random lowercase hex characters.
pub(crate) fn hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// `n` random letters and digits.
pub(crate) fn alnum(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), n)
}

/// A `qrsig`-like token: 64 characters of letters, digits, `*` and `-`.
pub(crate) fn qrsig_token() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

/// The 9–10 random digits of the ptuiCB status texts.
pub(crate) fn ptui_number() -> u64 {
    rand::rng().random_range(100_000_000..10_000_000_000)
}
