//! `poll2`: the long-poll (§4.1, §5.1, §6.2).
//!
//! One event per answer (QB, PSC and SQ only read `result[0]`), the rest
//! stay queued. An idle poll is held for `SimConfig::poll_hold` and then
//! answered with the configured idle answer; a newer poll completes the
//! held one at once with the idle answer. Before `get_online_buddies2`
//! (activation) the answer is `{"errmsg":"error","retcode":103}`, and so is
//! every poll of a dead or replaced session — except that a kicked session
//! first receives its `kick_message` event.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep_until};
use wasmqq_wire::content::{Font, encode_incoming};

use crate::answers::{error_103, malformed_request, no_referer};
use crate::config::IdleAnswer;
use crate::http::{self, Req, as_string, as_u64};
use crate::model::ChatKind;
use crate::state::{Death, Event, Login, Sim, State};

/// The reason of the kick event (the real text).
const KICK_REASON: &str =
    "您的帐号在另一地点登录，您已被迫下线。如有疑问，请登录 safe.qq.com 了解更多。";

enum Look {
    Event(Value),
    Dead,
    Nothing,
}

/// Handles `POST /channel/poll2` `r={ptwebqq,clientid,psessionid,key}`.
pub(crate) async fn poll2(sim: &Arc<Sim>, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let r = match req.r() {
        Ok(r) => r,
        Err(e) => return malformed_request("poll2", &e),
    };
    let psid = as_string(r.get("psessionid"));
    let clientid = as_u64(r.get("clientid"));
    let my_gen = {
        let mut st = sim.state();
        match look(sim, &mut st, &psid, clientid) {
            Look::Event(ev) => return event_answer(ev),
            Look::Dead => return error_103(),
            Look::Nothing => {}
        }
        let activated = st
            .live_login()
            .and_then(|l| l.session.as_ref())
            .is_some_and(|s| s.activated);
        if sim.config.require_activation && !activated {
            return error_103();
        }
        st.poll_gen += 1;
        st.polls_held += 1;
        st.poll_gen
    };
    // Complete any older held poll.
    sim.wake_polls();
    let _held = HeldGuard(sim.clone());
    let deadline = Instant::now() + sim.config.poll_hold;
    loop {
        let notified = sim.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = sim.state();
            if st.shutting_down || st.poll_gen != my_gen {
                return idle(sim);
            }
            match look(sim, &mut st, &psid, clientid) {
                Look::Event(ev) => return event_answer(ev),
                Look::Dead => return error_103(),
                Look::Nothing => {}
            }
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = sleep_until(deadline) => return idle(sim),
        }
    }
}

/// Decrements the held-poll count when a held poll ends (or is dropped
/// because the client went away).
struct HeldGuard(Arc<Sim>);

impl Drop for HeldGuard {
    fn drop(&mut self) {
        let mut st = self.0.state();
        st.polls_held = st.polls_held.saturating_sub(1);
    }
}

/// Examines the session: an event to deliver, a dead session, or nothing.
fn look(sim: &Sim, st: &mut State, psid: &str, clientid: Option<u64>) -> Look {
    let bot = sim.config.population.bot.qq;
    let Some(login) = st.login.as_mut() else {
        return Look::Dead;
    };
    let Some(session) = login
        .session
        .as_ref()
        .filter(|s| !psid.is_empty() && s.psessionid == psid && !s.lost)
    else {
        return Look::Dead;
    };
    if clientid.is_some_and(|c| c != session.clientid) {
        return Look::Dead;
    }
    match login.death {
        Some(Death::Kicked { delivered: false }) => {
            login.death = Some(Death::Kicked { delivered: true });
            tracing::info!("sim: delivering kick_message");
            return Look::Event(json!({"poll_type": "kick_message", "value": {
                "way": "poll", "show_reason": 1, "reason": KICK_REASON,
                "from_uin": 10000, "to_uin": bot, "msg_type": 48,
            }}));
        }
        Some(_) => return Look::Dead,
        None => {}
    }
    if !session.activated && sim.config.require_activation {
        return Look::Nothing;
    }
    if sim.config.onebot.is_some() {
        // The events belong to the OneBot face.
        return Look::Nothing;
    }
    let Some(ev) = st.events.pop_front() else {
        return Look::Nothing;
    };
    st.delivered += 1;
    st.last_delivered_at = Some(std::time::Instant::now());
    let Some(login) = st.login.as_ref() else {
        return Look::Dead;
    };
    tracing::info!(msg_id = ev.msg_id, chat = ?ev.chat, "sim: delivering event");
    Look::Event(render(&ev, login, bot))
}

/// Renders a queued event with the login's pseudonyms (late SmartQQ shape:
/// `group_code == from_uin == gid`, `from_uin == did` for discussions).
pub(crate) fn render(ev: &Event, login: &Login, bot: u64) -> Value {
    let content = encode_incoming(&ev.segments, &Font::incoming());
    let ids = &login.ids;
    match ev.chat {
        ChatKind::Friend => {
            // An echo of the bot's own send carries the friend in `to`.
            let to_uin = if ev.to != 0 { ids.uin(ev.to) } else { bot };
            json!({"poll_type": "message", "value": {
                "content": content, "from_uin": ids.uin(ev.from), "msg_id": ev.msg_id,
                "msg_type": 0, "time": ev.time, "to_uin": to_uin,
            }})
        }
        ChatKind::Group => {
            let gid = ids.gid(ev.to);
            json!({"poll_type": "group_message", "value": {
                "content": content, "from_uin": gid, "group_code": gid, "msg_id": ev.msg_id,
                "msg_type": 0, "send_uin": ids.uin(ev.from), "time": ev.time, "to_uin": bot,
            }})
        }
        ChatKind::Discussion => {
            let did = ids.did(ev.to);
            json!({"poll_type": "discu_message", "value": {
                "content": content, "did": did, "from_uin": did, "msg_id": ev.msg_id,
                "msg_type": 0, "send_uin": ids.uin(ev.from), "time": ev.time, "to_uin": bot,
            }})
        }
    }
}

fn event_answer(ev: Value) -> Response {
    http::json(json!({"result": [ev], "retcode": 0}))
}

fn idle(sim: &Sim) -> Response {
    match sim.config.idle_answer {
        IdleAnswer::Json => http::json(json!({"errmsg": "error!!!", "retcode": 0})),
        IdleAnswer::Retcode102 => http::json(json!({"retcode": 102, "errmsg": ""})),
        IdleAnswer::Http504 => http::status_page(StatusCode::GATEWAY_TIMEOUT),
    }
}
