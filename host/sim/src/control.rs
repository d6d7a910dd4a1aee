//! The control API: `/_sim/...`, JSON over the simulator's port (any Host),
//! and its typed in-process twin on [`crate::SimHandle`].
//!
//! | method & path | body | answer |
//! | --- | --- | --- |
//! | `POST /_sim/messages` | [`InjectMessage`] | `{"msg_id":N}` |
//! | `GET /_sim/sent` | | `[SentMessage, …]` in order |
//! | `DELETE /_sim/sent` | | `{"cleared":N}` |
//! | `GET /_sim/population` | | the [`Population`](crate::Population) |
//! | `GET /_sim/state` | | [`SimState`] |
//! | `POST /_sim/faults` | [`FaultSpec`] | `{"ok":true}` |
//! | `GET /_sim/faults` | | armed rules |
//! | `DELETE /_sim/faults` | | `{"cleared":N}` |
//! | `POST /_sim/qr/scan` | | `{"ok":true}` (latest QR shows 67) |
//! | `POST /_sim/qr/confirm` | | `{"ok":true}` (latest QR logs in) |
//!
//! Errors are 4xx with `{"error":"…"}` naming what was wrong.
//!
//! With the OneBot face ([`crate::OneBotFace`]), injected messages are
//! delivered as OneBot events (discussions are refused), `sent` also holds
//! the OneBot sends, and `/_sim/faults` takes OneBot action names and the
//! `onebot_drop` / `onebot_malformed_event` incidents (see
//! [`FaultSpec`]).

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wasmqq_wire::content::parse_text;

use crate::faults::{FaultAction, FaultCommand, FaultSpec};
use crate::http::{self, Req};
use crate::state::{Death, Event, QrStage, Sim, unix_now};

/// A conversation kind, as the control API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// A friend (buddy) chat.
    Friend,
    /// A group (群).
    Group,
    /// A discussion (讨论组).
    Discussion,
}

/// A message to inject (`POST /_sim/messages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectMessage {
    /// Which kind of conversation.
    pub chat: ChatKind,
    /// Sender's real QQ number: a friend, or a member of the group or
    /// discussion (the bot itself is allowed there, to emulate an echo).
    pub from: u64,
    /// Group number or discussion id; omitted for friends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// The text; `[face:N]` becomes a face segment.
    pub text: String,
}

/// One message the bot sent (`GET /_sim/sent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// Which kind of conversation.
    pub chat: ChatKind,
    /// Friend's QQ number, group number or discussion id.
    pub to: u64,
    /// Text segments concatenated, faces as `[face:N]`, other segments as
    /// `[kind]`; the font is dropped.
    pub text: String,
    /// Unix seconds when the simulator accepted it.
    pub time: u64,
    /// The client's `msg_id`, when it sent one.
    pub msg_id: Option<u64>,
}

/// Login and session state (`GET /_sim/state`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimState {
    /// Latest QR code: `none`, `waiting`, `scanned`, `confirmed` or `expired`.
    pub qr: String,
    /// Successful QR logins so far.
    pub logins: u64,
    /// A live login whose check_sig was visited.
    pub logged_in: bool,
    /// Why the current login ended: `kicked`, `expired`, `logged_out`.
    pub login_ended: Option<String>,
    /// The channel session, once login2 happened.
    pub session: Option<SessionState>,
    /// Injected events not yet delivered.
    pub queued_events: usize,
    /// Events delivered through poll2.
    pub delivered_events: u64,
    /// Messages the bot sent.
    pub sent: usize,
    /// Number of poll2 requests held right now.
    pub polls_held: u32,
    /// Armed fault rules.
    pub faults_armed: usize,
    /// Live OneBot WebSocket connections (forward and reverse).
    #[serde(default)]
    pub onebot_connections: usize,
}

/// The current channel session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// login2's psessionid.
    pub psessionid: String,
    /// The clientid given to login2.
    pub clientid: u64,
    /// get_online_buddies2 was called.
    pub activated: bool,
    /// The usable vfwebqq (getvfwebqq's).
    pub vfwebqq: String,
    /// The current ptwebqq cookie value.
    pub ptwebqq: String,
    /// Pseudonyms of this login, for tests that check mappings.
    pub ids: Pseudonyms,
}

/// Public number → session pseudonym of the current login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pseudonyms {
    /// `[qq, uin]` for every user.
    pub users: Vec<[u64; 2]>,
    /// `[number, gid, code]` for every group.
    pub groups: Vec<[u64; 3]>,
    /// `[id, did]` for every discussion.
    pub discussions: Vec<[u64; 2]>,
}

/// A refused control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The sender is not a friend of the bot.
    #[error("from: {0} is not a friend of the bot")]
    NotAFriend(u64),
    /// No such group number.
    #[error("to: no group with number {0}")]
    UnknownGroup(u64),
    /// No such discussion id.
    #[error("to: no discussion with id {0}")]
    UnknownDiscussion(u64),
    /// The sender is not a member.
    #[error("from: {qq} is not a member of {chat} {to}")]
    NotAMember {
        /// Sender.
        qq: u64,
        /// `group` or `discussion`.
        chat: &'static str,
        /// Group number or discussion id.
        to: u64,
    },
    /// `to` missing for a group/discussion message.
    #[error("to: required for {0} messages (group number or discussion id)")]
    MissingTo(&'static str),
    /// `to` given for a friend message.
    #[error("to: not allowed for friend messages (the recipient is the bot)")]
    UnexpectedTo,
    /// A kick or expiry without a session.
    #[error("no live session to {0}")]
    NoSession(&'static str),
    /// QR scan/confirm without a pending QR code.
    #[error("no QR code is waiting (fetch ptqrshow first, or it expired or was used)")]
    NoQrWaiting,
    /// A bad fault request.
    #[error("fault: {0}")]
    BadFault(String),
    /// A discussion message while the face is OneBot v11 (which has no
    /// discussions).
    #[error(
        "chat: discussions do not exist in OneBot v11 (the simulator's face is onebot); use a friend or a group"
    )]
    NoDiscussionsInOneBot,
    /// A OneBot incident while the face is WebQQ.
    #[error("fault: {0} needs the OneBot face (SimConfig::onebot / --face onebot)")]
    NotOneBot(&'static str),
}

impl Sim {
    /// Queues an incoming message for the bot's poll2; returns its msg_id.
    pub(crate) fn inject(&self, m: &InjectMessage) -> Result<u64, ControlError> {
        let pop = &self.config.population;
        let to = match m.chat {
            ChatKind::Friend => {
                if m.to.is_some_and(|t| t != pop.bot.qq) {
                    return Err(ControlError::UnexpectedTo);
                }
                if pop.friend(m.from).is_none() {
                    return Err(ControlError::NotAFriend(m.from));
                }
                0
            }
            ChatKind::Group => {
                let to = m.to.ok_or(ControlError::MissingTo("group"))?;
                let g = pop.group(to).ok_or(ControlError::UnknownGroup(to))?;
                if !g.members.iter().any(|x| x.qq == m.from) {
                    return Err(ControlError::NotAMember {
                        qq: m.from,
                        chat: "group",
                        to,
                    });
                }
                to
            }
            ChatKind::Discussion if self.config.onebot.is_some() => {
                return Err(ControlError::NoDiscussionsInOneBot);
            }
            ChatKind::Discussion => {
                let to = m.to.ok_or(ControlError::MissingTo("discussion"))?;
                let d = pop
                    .discussion(to)
                    .ok_or(ControlError::UnknownDiscussion(to))?;
                if !d.members.contains(&m.from) {
                    return Err(ControlError::NotAMember {
                        qq: m.from,
                        chat: "discussion",
                        to,
                    });
                }
                to
            }
        };
        let mut st = self.state();
        let msg_id = st.msg_id();
        st.events.push_back(Event {
            msg_id,
            time: unix_now(),
            chat: m.chat,
            from: m.from,
            to,
            segments: parse_text(&m.text),
        });
        st.touch_recent(m.chat, if to == 0 { m.from } else { to });
        crate::onebot::hub::pump(self, &mut st);
        drop(st);
        tracing::info!(msg_id, chat = ?m.chat, from = m.from, "sim: message queued");
        self.wake_polls();
        Ok(msg_id)
    }

    /// Applies a fault request.
    pub(crate) fn fault(&self, spec: &FaultSpec) -> Result<(), ControlError> {
        let cmd = spec.command().map_err(ControlError::BadFault)?;
        let mut st = self.state();
        match cmd {
            FaultCommand::Rule(f) => {
                tracing::info!(endpoint = %f.endpoint, action = ?f.action, times = f.remaining, "sim: fault armed");
                st.faults.push(f);
                return Ok(());
            }
            FaultCommand::Kick => {
                let l = st
                    .login
                    .as_mut()
                    .filter(|l| l.death.is_none() && l.session.is_some())
                    .ok_or(ControlError::NoSession("kick"))?;
                l.death = Some(Death::Kicked { delivered: false });
                tracing::info!("sim: session kicked");
            }
            FaultCommand::ExpireSession => {
                let l = st
                    .login
                    .as_mut()
                    .filter(|l| l.death.is_none())
                    .ok_or(ControlError::NoSession("expire"))?;
                l.death = Some(Death::Expired);
                tracing::info!("sim: session expired");
            }
            FaultCommand::OneBotDrop => {
                if self.config.onebot.is_none() {
                    return Err(ControlError::NotOneBot("onebot_drop"));
                }
                crate::onebot::hub::drop_all(&mut st);
            }
            FaultCommand::OneBotMalformed(kind) => {
                if self.config.onebot.is_none() {
                    return Err(ControlError::NotOneBot("onebot_malformed_event"));
                }
                st.onebot.malformed.push_back(kind);
                crate::onebot::hub::pump(self, &mut st);
            }
        }
        drop(st);
        self.wake_polls();
        Ok(())
    }

    /// Marks the latest QR code scanned (and confirmed when `confirm`).
    pub(crate) fn qr_action(&self, confirm: bool) -> Result<(), ControlError> {
        let mut st = self.state();
        let expiry = self.config.qr_expiry;
        let key = st.last_qr.clone().ok_or(ControlError::NoQrWaiting)?;
        let qr = st
            .qrs
            .get_mut(&key)
            .filter(|q| q.stage != QrStage::Done && q.created.elapsed() < expiry)
            .ok_or(ControlError::NoQrWaiting)?;
        qr.scan = true;
        qr.confirm |= confirm;
        Ok(())
    }

    /// A snapshot of the state.
    pub(crate) fn snapshot(&self) -> SimState {
        let st = self.state();
        let qr = match st.last_qr.as_ref().and_then(|k| st.qrs.get(k)) {
            None => "none",
            Some(q) if q.stage == QrStage::Done => "confirmed",
            Some(q) if q.created.elapsed() >= self.config.qr_expiry => "expired",
            Some(q) if q.stage == QrStage::Scanned => "scanned",
            Some(_) => "waiting",
        };
        let pop = &self.config.population;
        let login = st.login.as_ref();
        SimState {
            qr: qr.into(),
            logins: st.logins,
            logged_in: login.is_some_and(|l| l.death.is_none() && l.checked),
            login_ended: login.and_then(|l| l.death).map(|d| {
                match d {
                    Death::Kicked { .. } => "kicked",
                    Death::Expired => "expired",
                    Death::LoggedOut => "logged_out",
                }
                .to_string()
            }),
            session: login.and_then(|l| {
                l.session.as_ref().map(|s| SessionState {
                    psessionid: s.psessionid.clone(),
                    clientid: s.clientid,
                    activated: s.activated,
                    vfwebqq: l.vfwebqq.clone(),
                    ptwebqq: l.ptwebqq.clone(),
                    ids: Pseudonyms {
                        users: pop.users.iter().map(|u| [u.qq, l.ids.uin(u.qq)]).collect(),
                        groups: pop
                            .groups
                            .iter()
                            .map(|g| [g.number, l.ids.gid(g.number), l.ids.code(g.number)])
                            .collect(),
                        discussions: pop
                            .discussions
                            .iter()
                            .map(|d| [d.id, l.ids.did(d.id)])
                            .collect(),
                    },
                })
            }),
            queued_events: st.events.len(),
            delivered_events: st.delivered,
            sent: st.sent.len(),
            polls_held: st.polls_held,
            faults_armed: st.faults.len(),
            onebot_connections: st.onebot.connections(),
        }
    }
}

fn error(status: StatusCode, msg: impl std::fmt::Display) -> Response {
    http::json_status(status, json!({"error": msg.to_string()}))
}

fn control_error(e: &ControlError) -> Response {
    let status = match e {
        ControlError::NoSession(_) | ControlError::NoQrWaiting | ControlError::NotOneBot(_) => {
            StatusCode::CONFLICT
        }
        ControlError::UnknownGroup(_) | ControlError::UnknownDiscussion(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, e)
}

fn body<T: for<'de> Deserialize<'de>>(req: &Req) -> Result<T, Response> {
    serde_json::from_slice(&req.body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> Response {
    match serde_json::to_value(v) {
        Ok(v) => http::json(v),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Serves `/_sim/...`.
pub(crate) fn handle(sim: &Sim, req: &Req) -> Response {
    let path = req.path.trim_end_matches('/');
    let m = &req.method;
    match (path, m) {
        ("/_sim/messages", &Method::POST) => match body::<InjectMessage>(req) {
            Ok(msg) => match sim.inject(&msg) {
                Ok(id) => http::json(json!({"msg_id": id})),
                Err(e) => control_error(&e),
            },
            Err(r) => r,
        },
        ("/_sim/sent", &Method::GET) => to_json(&sim.state().sent),
        ("/_sim/sent", &Method::DELETE) => {
            let n = std::mem::take(&mut sim.state().sent).len();
            http::json(json!({"cleared": n}))
        }
        ("/_sim/population", &Method::GET) => to_json(&sim.config.population),
        ("/_sim/state", &Method::GET) => to_json(&sim.snapshot()),
        ("/_sim/faults", &Method::POST) => match body::<FaultSpec>(req) {
            Ok(spec) => match sim.fault(&spec) {
                Ok(()) => http::json(json!({"ok": true})),
                Err(e) => control_error(&e),
            },
            Err(r) => r,
        },
        ("/_sim/faults", &Method::GET) => {
            let list: Vec<_> = sim
                .state()
                .faults
                .iter()
                .map(|f| {
                    let action = match &f.action {
                        FaultAction::Retcode(r) => json!({"retcode": r}),
                        FaultAction::HttpStatus(s) => json!({"http_status": s}),
                        FaultAction::Malformed => json!({"malformed": true}),
                        FaultAction::Reset => json!({"reset": true}),
                        FaultAction::NoAnswer => json!({"no_answer": true}),
                    };
                    json!({"endpoint": f.endpoint, "action": action, "remaining": f.remaining, "deliver": f.deliver})
                })
                .collect();
            http::json(json!(list))
        }
        ("/_sim/faults", &Method::DELETE) => {
            let n = std::mem::take(&mut sim.state().faults).len();
            http::json(json!({"cleared": n}))
        }
        ("/_sim/qr/confirm", &Method::POST) | ("/_sim/qr/scan", &Method::POST) => {
            match sim.qr_action(path.ends_with("confirm")) {
                Ok(()) => http::json(json!({"ok": true})),
                Err(e) => control_error(&e),
            }
        }
        (
            "/_sim/messages" | "/_sim/sent" | "/_sim/population" | "/_sim/state" | "/_sim/faults"
            | "/_sim/qr/confirm" | "/_sim/qr/scan",
            _,
        ) => error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{m} is not allowed on {path}"),
        ),
        _ => error(StatusCode::NOT_FOUND, format!("no control endpoint {path}")),
    }
}
