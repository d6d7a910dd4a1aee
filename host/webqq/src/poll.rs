//! The poll loop: one long-poll (`poll2`, §4.1) after another, turning
//! answers into [`Event`]s and keeping the session alive (§6).
//!
//! | answer | reaction |
//! | --- | --- |
//! | `retcode 0` + `result` | every element decoded; own echoes and duplicate `msg_id`s dropped |
//! | `retcode 0` without `result`, `102`, HTTP 502/504 | idle: poll again at once |
//! | `103` | probe with `get_online_buddies2`; a bounded number of fast re-tries, then full re-login (second table) |
//! | `116` | take the new `ptwebqq` from `p` (and the cookie), save the session |
//! | `120`, `121` | relink (login2 with the current psessionid); full re-login if that fails |
//! | `100`, `100000`, `100001`, `100012`, `kick_message` | full re-login (new QR code through the observer) |
//! | other retcodes, malformed answers, HTTP errors, timeouts | capped exponential backoff with jitter; after 5 failures in a row, probe as for `103` |
//!
//! A `103` is often a hiccup of a healthy session (right after login, or a
//! server that forgot the session for a moment, §2.8, §6.1), so it gets a
//! bounded number of fast re-tries before the QR code is shown again:
//!
//! | probe outcome | reaction |
//! | --- | --- |
//! | answered | poll again after a short pause (jittered, from a quarter of `backoff_base` doubling up to 4 × `backoff_base`); the 9th `103` of a run ([`FAST_103_RETRIES`] + 1) is a full re-login |
//! | refused with `100000`, `100001`, `100012` (the session is dead) | full re-login at once |
//! | refused otherwise (another retcode, a malformed answer) | a denial: back off as for failures; the 3rd denial of a run ([`MAX_DENIALS`]) is a full re-login |
//! | failed (network, timeout, HTTP error) | back off as for failures; not a denial |
//!
//! A run ends with the first poll2 that succeeds (messages or idle), a
//! relink or a re-login; `103`s and denials older than [`RUN_WINDOW`] (5
//! minutes) no longer count, so a session that trips now and then is never
//! logged out for it.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::Instrument;
use wasmqq_shutdown::Shutdown;
use wasmqq_wire::backoff::Backoff;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D};

use crate::error::{Error, Result};
use crate::events::{ChatKind, ChatRef, Event, Message, RawEvent, decode_poll_item};
use crate::login::LoginStatus;
use crate::session::Auth;
use crate::shared::Inner;
use crate::transport::{errmsg_of, retcode_of, truncate};

const ORIGIN_D: &str = "https://d1.web2.qq.com";
/// How many `103` answers of one run are re-tried; one more is a full
/// re-login.
pub(crate) const FAST_103_RETRIES: usize = 8;
/// Refused probes (other than "session dead" retcodes) of one run that make
/// a full re-login.
pub(crate) const MAX_DENIALS: usize = 3;
/// How long a `103` or a denial counts towards its run.
pub(crate) const RUN_WINDOW: Duration = Duration::from_secs(300);
/// Probe retcodes that mean the session is dead (as on poll2, §6.1).
const SESSION_DEAD: [i64; 3] = [100000, 100001, 100012];
/// Consecutive failures before the session is probed.
const FAILURES_BEFORE_PROBE: u32 = 5;
/// How many recent message keys are remembered for de-duplication.
const DEDUP_CAPACITY: usize = 4096;

/// What one poll2 answer asks the loop to do (the module's first table).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `retcode 0` with a `result` array: decode each element
    /// ([`decode_event`](crate::decode::decode_event)).
    Events(Vec<Value>),
    /// Nothing happened: poll again at once.
    Idle,
    /// `103`: probe the session.
    Probe,
    /// `116`: the new `ptwebqq`.
    NewPtwebqq(String),
    /// `120`/`121`: relink with this retcode.
    Relink(i64),
    /// The session is dead: full re-login, for this reason.
    Relogin(String),
    /// A failure: back off, for this reason.
    Backoff(String),
}

/// Classifies a poll2 answer *body* (the HTTP 200 text) the way the poll
/// loop does: the body that is not JSON is a malformed answer (backoff).
/// Public for the fuzz targets and property tests.
pub fn classify_body(body: &str) -> Action {
    classify(crate::transport::parse_json("poll2", body))
}

/// Classifies a poll2 answer (or failure) per §6.1/§6.2.
pub(crate) fn classify(answer: Result<Value>) -> Action {
    let v = match answer {
        Ok(v) => v,
        Err(Error::Status {
            status: 502 | 504, ..
        }) => return Action::Idle,
        Err(e) => return Action::Backoff(e.to_string()),
    };
    let Some(retcode) = retcode_of(&v) else {
        return Action::Backoff(format!(
            "poll2: malformed answer: no retcode in {}",
            truncate(&v.to_string(), 200)
        ));
    };
    match retcode {
        0 => match v.get("result") {
            Some(Value::Array(items)) => Action::Events(items.clone()),
            None | Some(Value::Null) => Action::Idle,
            Some(other) => Action::Backoff(format!(
                "poll2: malformed answer: result is not an array: {}",
                truncate(&other.to_string(), 200)
            )),
        },
        102 => Action::Idle,
        103 => Action::Probe,
        116 => match v.get("p").and_then(Value::as_str) {
            Some(p) => Action::NewPtwebqq(p.to_owned()),
            None => Action::Backoff("poll2: retcode 116 without p".into()),
        },
        120 | 121 => Action::Relink(retcode),
        100 | 100000 | 100001 | 100012 => {
            Action::Relogin(format!("poll2: retcode {retcode} ({:?})", errmsg_of(&v)))
        }
        other => Action::Backoff(format!("poll2: retcode {other} ({:?})", errmsg_of(&v))),
    }
}

/// A run of bad signs (`103` answers, refused probes): how many happened
/// within [`RUN_WINDOW`] since the run was last cleared.
#[derive(Debug, Default)]
struct Run {
    at: VecDeque<Instant>,
}

impl Run {
    /// Records one more at `now`; returns how many count now.
    fn push(&mut self, now: Instant) -> usize {
        while self
            .at
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RUN_WINDOW)
        {
            self.at.pop_front();
        }
        self.at.push_back(now);
        self.at.len()
    }

    fn clear(&mut self) {
        self.at.clear();
    }
}

/// What a session probe found.
enum Probe {
    /// `get_online_buddies2` answered: the session is alive.
    Answered,
    /// Refused or failed, and handled (backed off, or logged in again).
    Handled,
}

/// Remembers recently seen messages by (chat, msg_id).
struct Dedup {
    seen: HashSet<(ChatRef, u64)>,
    order: VecDeque<(ChatRef, u64)>,
}

impl Dedup {
    fn new() -> Dedup {
        Dedup {
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// True if the key is new.
    fn insert(&mut self, key: (ChatRef, u64)) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > DEDUP_CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    fn clear(&mut self) {
        self.seen.clear();
        self.order.clear();
    }
}

/// One poll2 request.
async fn poll_once(inner: &Inner, auth: &Auth) -> Result<Value> {
    let r = json!({
        "ptwebqq": auth.ptwebqq,
        "clientid": CLIENT_ID,
        "psessionid": auth.psessionid,
        "key": "",
    });
    inner
        .transport
        .post_r(
            "poll2",
            "https://d1.web2.qq.com/channel/poll2",
            REFERER_D,
            ORIGIN_D,
            &r,
            Some(inner.config.poll_timeout),
        )
        .await
}

/// Why the loop must stop.
struct Stop;

/// The loop state.
struct Poller {
    inner: Arc<Inner>,
    tx: mpsc::Sender<Event>,
    shutdown: Shutdown,
    backoff: Backoff,
    /// The pause before polling again after a `103` cured by a probe.
    fast: Backoff,
    dedup: Dedup,
    /// The current run of `103` answers.
    answers_103: Run,
    /// The current run of refused probes.
    denials: Run,
    failures: u32,
}

/// Runs the poll loop until shutdown (or until a re-login fails for good).
pub(crate) async fn run(inner: Arc<Inner>, tx: mpsc::Sender<Event>) {
    let shutdown = inner.shutdown.listener();
    let base = inner.config.backoff_base;
    let backoff = Backoff::new(base, inner.config.backoff_max);
    let fast = Backoff::new(base / 4, base.saturating_mul(4));
    let mut p = Poller {
        inner,
        tx,
        shutdown,
        backoff,
        fast,
        dedup: Dedup::new(),
        answers_103: Run::default(),
        denials: Run::default(),
        failures: 0,
    };
    let _ = p.run().await;
    tracing::debug!("poll loop stopped");
}

impl Poller {
    async fn run(&mut self) -> Result<(), Stop> {
        loop {
            if self.inner.is_shut_down() {
                return Err(Stop);
            }
            let auth = self.inner.auth.read().await.clone();
            let answer = tokio::select! {
                a = poll_once(&self.inner, &auth) => a,
                () = self.shutdown.recv() => return Err(Stop),
            };
            match classify(answer) {
                Action::Idle => self.polled(),
                Action::Events(items) => {
                    self.polled();
                    self.handle_items(&auth, items).await?;
                }
                Action::Probe => {
                    let run = self.answers_103.push(Instant::now());
                    if run > FAST_103_RETRIES {
                        self.relogin(format!("poll2 answered 103 {run} times in a row"))
                            .await?;
                        continue;
                    }
                    tracing::warn!(run, "poll2 answered 103; probing the session");
                    if let Probe::Answered = self.probe(&auth).await? {
                        let delay = self.fast.next_delay();
                        tracing::info!(?delay, "session probe answered; polling again");
                        self.sleep(delay).await?;
                    }
                }
                Action::NewPtwebqq(p) => {
                    tracing::info!("poll2 answered 116: new ptwebqq");
                    self.inner.transport.set_qq_cookie("ptwebqq", &p);
                    let auth = {
                        let mut a = self.inner.auth.write().await;
                        a.ptwebqq = p;
                        a.clone()
                    };
                    if let Err(e) = self.inner.save_session(&auth) {
                        tracing::warn!(error = %e, "could not save the session");
                    }
                }
                Action::Relink(code) => self.relink(code).await?,
                Action::Relogin(reason) => self.relogin(reason).await?,
                Action::Backoff(reason) => {
                    self.failures += 1;
                    let delay = self.backoff.next_delay();
                    tracing::warn!(
                        reason,
                        failures = self.failures,
                        ?delay,
                        "poll2 failed; backing off"
                    );
                    self.sleep(delay).await?;
                    if self.failures >= FAILURES_BEFORE_PROBE {
                        self.failures = 0;
                        self.probe(&auth).await?;
                    }
                }
            }
        }
    }

    async fn sleep(&mut self, d: std::time::Duration) -> Result<(), Stop> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            () = self.shutdown.recv() => Err(Stop),
        }
    }

    async fn emit(&mut self, event: Event) -> Result<(), Stop> {
        tokio::select! {
            r = self.tx.send(event) => {
                if r.is_err() {
                    tracing::debug!("event receiver dropped; event discarded");
                }
                Ok(())
            }
            () = self.shutdown.recv() => Err(Stop),
        }
    }

    /// A poll2 answer that shows the session works: every run ends.
    fn polled(&mut self) {
        self.backoff.reset();
        self.fast.reset();
        self.failures = 0;
        self.answers_103.clear();
        self.denials.clear();
    }

    /// The session probe: get_online_buddies2 (§2.8, §6.1), with the
    /// reactions of the module's second table.
    async fn probe(&mut self, auth: &Auth) -> Result<Probe, Stop> {
        let e = match crate::login::activate(&self.inner.transport, auth).await {
            Ok(_) => return Ok(Probe::Answered),
            Err(e) => e,
        };
        match e.retcode() {
            Some(code) if SESSION_DEAD.contains(&code) => {
                self.relogin(format!("session probe refused: {e}")).await?;
                return Ok(Probe::Handled);
            }
            _ if matches!(e, Error::Retcode { .. } | Error::Malformed { .. }) => {
                let denials = self.denials.push(Instant::now());
                if denials >= MAX_DENIALS {
                    self.relogin(format!(
                        "session probe refused {denials} times in a row, last: {e}"
                    ))
                    .await?;
                    return Ok(Probe::Handled);
                }
                let delay = self.backoff.next_delay();
                tracing::warn!(error = %e, denials, ?delay, "session probe refused; backing off");
                self.sleep(delay).await?;
            }
            _ => {
                let delay = self.backoff.next_delay();
                tracing::warn!(error = %e, ?delay, "session probe failed; backing off");
                self.sleep(delay).await?;
            }
        }
        Ok(Probe::Handled)
    }

    async fn relink(&mut self, code: i64) -> Result<(), Stop> {
        self.inner
            .observer
            .report(LoginStatus::Relinking { retcode: code });
        let result = {
            let mut guard = self.inner.auth.write().await;
            let current = guard.clone();
            let r = tokio::select! {
                r = self.inner.relink(&current) => r,
                () = self.shutdown.recv() => return Err(Stop),
            };
            if let Ok(auth) = &r {
                *guard = auth.clone();
            }
            r
        };
        match result {
            Ok(_) => {
                self.answers_103.clear();
                self.denials.clear();
                self.emit(Event::Reconnected { new_session: false }).await
            }
            Err(e) => self.relogin(format!("relink failed: {e}")).await,
        }
    }

    /// Full re-login with the QR flow, retried with backoff for as long
    /// as the server is what fails ([`Error::is_login_retryable`]: a bot
    /// keeps trying through an outage); only a refused or abandoned QR
    /// login or a local failure stops the client.
    async fn relogin(&mut self, reason: String) -> Result<(), Stop> {
        tracing::warn!(reason, "session lost; logging in again");
        self.emit(Event::SessionLost {
            reason: reason.clone(),
        })
        .await?;
        self.inner.observer.report(LoginStatus::Relogin { reason });
        let mut backoff = Backoff::new(
            self.inner.config.backoff_base,
            self.inner.config.backoff_max,
        );
        {
            let mut guard = self.inner.auth.write().await;
            loop {
                let r = tokio::select! {
                    r = self.inner.login(false) => r,
                    () = self.shutdown.recv() => return Err(Stop),
                };
                match r {
                    Ok(auth) => {
                        *guard = auth;
                        break;
                    }
                    Err(e) if e.is_login_retryable() => {
                        let delay = backoff.next_delay();
                        tracing::warn!(error = %e, ?delay, "re-login failed; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            () = self.shutdown.recv() => return Err(Stop),
                        }
                    }
                    Err(e) => {
                        drop(guard);
                        tracing::error!(error = %e, "re-login failed; stopping");
                        let _ = self
                            .emit(Event::Stopped {
                                reason: e.to_string(),
                            })
                            .await;
                        return Err(Stop);
                    }
                }
            }
        }
        self.dedup.clear();
        self.answers_103.clear();
        self.denials.clear();
        self.failures = 0;
        self.backoff.reset();
        self.fast.reset();
        self.emit(Event::Reconnected { new_session: true }).await
    }

    async fn handle_items(&mut self, auth: &Auth, items: Vec<Value>) -> Result<(), Stop> {
        for item in items {
            match decode_poll_item(&item) {
                Ok(RawEvent::Message(m)) => self.handle_message(auth, m).await?,
                Ok(RawEvent::StatusChange {
                    uin,
                    status,
                    client_type,
                }) => {
                    self.emit(Event::StatusChange {
                        uin,
                        status,
                        client_type,
                    })
                    .await?
                }
                Ok(RawEvent::Kick { reason }) => {
                    tracing::warn!(reason, "kicked off");
                    self.emit(Event::Kicked {
                        reason: reason.clone(),
                    })
                    .await?;
                    // The session is dead; the rest of this answer with it.
                    return self.relogin(format!("kicked: {reason}")).await;
                }
                Ok(RawEvent::Ignored(t)) => tracing::debug!(poll_type = t, "ignoring poll event"),
                Err(e) => {
                    tracing::warn!(error = e, element = %truncate(&item.to_string(), 300), "poll2: malformed event skipped")
                }
            }
        }
        Ok(())
    }

    async fn handle_message(&mut self, auth: &Auth, mut m: Message) -> Result<(), Stop> {
        let span = tracing::info_span!("message", msg_id = m.msg_id, chat = %m.chat);
        if m.sender == auth.uin {
            span.in_scope(|| tracing::debug!("dropping own echo"));
            return Ok(());
        }
        if !self.dedup.insert((m.chat, m.msg_id)) {
            span.in_scope(|| tracing::debug!("dropping duplicate"));
            return Ok(());
        }
        m.sender_name = self
            .resolve_sender(auth, m.chat, m.sender)
            .instrument(span.clone())
            .await;
        span.in_scope(
            || tracing::debug!(sender = m.sender, name = ?m.sender_name, "message received"),
        );
        self.emit(Event::Message(m)).instrument(span).await
    }

    /// The sender's name from the contacts, refreshing the relevant list
    /// once (rate-limited) when the sender or chat is unknown.
    async fn resolve_sender(&self, auth: &Auth, chat: ChatRef, sender: u64) -> Option<String> {
        let inner = &self.inner;
        if let Some(name) = inner.contacts.snapshot().sender_name(chat, sender) {
            return Some(name);
        }
        let every = inner.config.contacts_refresh_interval;
        let book = inner.contacts.snapshot();
        let chat_known = match chat.kind {
            ChatKind::Group => book.groups.contains_key(&chat.id),
            ChatKind::Discussion => book.discussions.contains_key(&chat.id),
            ChatKind::Friend | ChatKind::Session => true,
        };
        match chat.kind {
            ChatKind::Friend | ChatKind::Session => {
                if inner.contacts.may_refresh("friends", every) {
                    tracing::info!(uin = sender, "unknown sender; reloading friends");
                    match crate::contacts::fetch_friends(&inner.transport, auth).await {
                        Ok(f) => inner.contacts.update(|b| b.friends = f),
                        Err(e) => tracing::warn!(error = %e, "could not reload friends"),
                    }
                }
            }
            ChatKind::Group | ChatKind::Discussion => {
                if !chat_known && inner.contacts.may_refresh("lists", every) {
                    tracing::info!(%chat, "unknown chat; reloading contacts");
                    if let Err(e) = inner.refresh_contacts(auth, false).await {
                        tracing::warn!(error = %e, "could not reload contacts");
                    }
                }
                if inner.contacts.may_refresh(&chat.to_string(), every) {
                    tracing::info!(%chat, uin = sender, "unknown member; reloading members");
                    if let Err(e) = inner.load_members(auth, chat).await {
                        tracing::warn!(error = %e, "could not load members");
                    }
                }
            }
        }
        inner.contacts.snapshot().sender_name(chat, sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_retcode_of_section_6() {
        assert_eq!(
            classify(Ok(json!({"retcode":0,"errmsg":"error!!!"}))),
            Action::Idle
        );
        assert_eq!(
            classify(Ok(json!({"retcode":102,"errmsg":""}))),
            Action::Idle
        );
        assert_eq!(
            classify(Err(Error::Status {
                endpoint: "poll2",
                status: 504
            })),
            Action::Idle
        );
        assert_eq!(
            classify(Err(Error::Status {
                endpoint: "poll2",
                status: 502
            })),
            Action::Idle
        );
        assert!(matches!(
            classify(Err(Error::Status {
                endpoint: "poll2",
                status: 500
            })),
            Action::Backoff(_)
        ));
        assert!(matches!(
            classify(Err(Error::Timeout { endpoint: "poll2" })),
            Action::Backoff(_)
        ));
        assert_eq!(
            classify(Ok(json!({"retcode":0,"result":[{"poll_type":"x"}]}))),
            Action::Events(vec![json!({"poll_type":"x"})])
        );
        assert_eq!(
            classify(Ok(json!({"retcode":103,"errmsg":"error"}))),
            Action::Probe
        );
        assert_eq!(
            classify(Ok(json!({"retcode":116,"p":"newp"}))),
            Action::NewPtwebqq("newp".into())
        );
        assert_eq!(
            classify(Ok(json!({"retcode":121,"t":"0"}))),
            Action::Relink(121)
        );
        assert_eq!(classify(Ok(json!({"retcode":120}))), Action::Relink(120));
        for code in [100, 100000, 100001, 100012] {
            assert!(matches!(
                classify(Ok(json!({"retcode":code,"errmsg":"error!!!"}))),
                Action::Relogin(_)
            ));
        }
        for code in [1202, 109, 110, 100003, 100006, 50] {
            assert!(matches!(
                classify(Ok(json!({"retcode":code}))),
                Action::Backoff(_)
            ));
        }
        assert!(matches!(classify(Ok(json!({"x":1}))), Action::Backoff(_)));
        assert!(matches!(
            classify(Ok(json!({"retcode":0,"result":{}}))),
            Action::Backoff(_)
        ));
    }

    #[test]
    fn runs_forget_what_is_older_than_the_window() {
        let mut run = Run::default();
        let t0 = Instant::now();
        assert_eq!(run.push(t0), 1);
        assert_eq!(run.push(t0 + Duration::from_secs(1)), 2);
        assert_eq!(run.push(t0 + RUN_WINDOW - Duration::from_secs(1)), 3);
        // The first two fall out of the window.
        assert_eq!(run.push(t0 + RUN_WINDOW + Duration::from_secs(1)), 2);
        run.clear();
        assert_eq!(run.push(t0 + RUN_WINDOW * 2), 1);
    }

    #[test]
    fn dedup_forgets_oldest() {
        let mut d = Dedup::new();
        let c = ChatRef::friend(1);
        assert!(d.insert((c, 1)));
        assert!(!d.insert((c, 1)));
        assert!(d.insert((ChatRef::group(1), 1)));
        for i in 2..(DEDUP_CAPACITY as u64 + 10) {
            d.insert((c, i));
        }
        assert!(d.insert((c, 1)), "evicted keys are new again");
    }
}
