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

pub use crate::model::{
    ChatKind, ControlError, InjectMessage, Pseudonyms, SentMessage, SessionState, SimState,
};

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
