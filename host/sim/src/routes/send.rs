//! `send_buddy_msg2`, `send_qun_msg2`, `send_discu_msg2` (§4.2, §5.3).
//!
//! The target is the session pseudonym (`to` = friend uin, `group_uin` =
//! gid, `did`); `content` is a JSON string holding the message array with
//! the font last, decoded tolerantly (font anywhere or missing, size as a
//! string). Every accepted send is recorded for `GET /_sim/sent` in public
//! terms and answered `{"errCode":0,"msg":"send ok"}`.
//!
//! Errors: Referer → 100000; unparsable `r` or `content` → 100006; no such
//! session → 100001; expired session → 100012; a target that is not a
//! pseudonym of this login (wrong id kind, stale id) → `{"retcode":6}`.

use std::sync::Arc;

use axum::response::Response;
use serde_json::json;
use wasmqq_wire::content::{decode_outgoing, render_text};

use super::{bad_credentials, malformed_request, no_referer, retcode};
use crate::http::{self, Req, as_string, as_u64};
use crate::model::{ChatKind, SentMessage};
use crate::state::{Death, Event, Sim, unix_now};

/// Handles the three send endpoints.
pub(crate) fn send(sim: &Arc<Sim>, endpoint: &str, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let r = match req.r() {
        Ok(r) => r,
        Err(e) => return malformed_request(endpoint, &e),
    };
    let (chat, target_key) = match endpoint {
        "send_buddy_msg2" => (ChatKind::Friend, "to"),
        "send_qun_msg2" => (ChatKind::Group, "group_uin"),
        _ => (ChatKind::Discussion, "did"),
    };
    let psid = as_string(r.get("psessionid"));
    let pop = &sim.config.population;
    let mut st = sim.state();
    let Some(login) = st.login.as_ref().filter(|l| {
        l.session
            .as_ref()
            .is_some_and(|s| !psid.is_empty() && s.psessionid == psid && !s.lost)
    }) else {
        return bad_credentials();
    };
    match login.death {
        Some(Death::Expired) => return retcode(100012),
        Some(_) => return bad_credentials(),
        None => {}
    }
    if let (Some(c), Some(s)) = (as_u64(r.get("clientid")), login.session.as_ref())
        && c != s.clientid
    {
        return bad_credentials();
    }
    let Some(target) = as_u64(r.get(target_key)) else {
        return malformed_request(endpoint, "missing or non-numeric target");
    };
    let public = match chat {
        ChatKind::Friend => login.ids.qq(target).filter(|qq| pop.friend(*qq).is_some()),
        ChatKind::Group => login.ids.group_of_gid(target),
        ChatKind::Discussion => login.ids.disc_of_did(target),
    };
    let Some(to) = public else {
        tracing::info!(endpoint, target, "sim: send to an unknown target");
        return http::json(json!({"retcode": 6, "errmsg": "error!!!"}));
    };
    let content = match r.get("content").map(decode_outgoing) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return malformed_request(endpoint, &e.to_string()),
        None => return malformed_request(endpoint, "missing content"),
    };
    let text = render_text(&content.segments);
    let time = unix_now();
    tracing::info!(endpoint, to, %text, "sim: bot sent a message");
    st.sent.push(SentMessage {
        chat,
        to,
        text,
        time,
        msg_id: as_u64(r.get("msg_id")),
    });
    st.touch_recent(chat, to);
    st.last_sent_at = Some(std::time::Instant::now());
    if sim.config.echo_own_sends {
        let msg_id = st.msg_id();
        st.events.push_back(Event {
            msg_id,
            time,
            chat,
            from: pop.bot.qq,
            to,
            segments: content.segments,
        });
    }
    drop(st);
    sim.sent_notify.notify_waiters();
    if sim.config.echo_own_sends {
        sim.wake_polls();
    }
    http::json(json!({"errCode": 0, "msg": "send ok"}))
}
