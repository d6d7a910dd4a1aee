//! The API (`api/public.md`): actions over the population, one answer
//! envelope for every transport.
//!
//! An answer is `{status, retcode, data}` (plus `message`/`wording` on a
//! failure, as go-cqhttp and NapCat add; the transport adds `echo`):
//! `ok`/0, `async`/1 for `*_async` and `*_rate_limited` calls, `failed`
//! with 1400 (bad or missing parameters), 1404 (no such action) or 100 (the
//! action could not be done: a send to someone who is not a friend, to a
//! group the bot is not in, an unknown user or group). Numbers are
//! accepted as JSON numbers or strings, booleans also as `"true"`/`1`/
//! `"yes"`, as the HTTP API's query and form parameters require.
//!
//! Every accepted send gets a fresh `message_id` and is recorded in the
//! simulator's `sent` list (`GET /_sim/sent`), text rendered as
//! [`render_sent`] does. Fault rules (`/_sim/faults` with an action name as
//! `endpoint`) are consumed here, before the action runs.

use std::sync::Arc;

use serde_json::{Value, json};

use super::events::{nickname, role, sex, status};
use super::message::{Seg, from_param, render_sent};
use crate::faults::{self, FaultAction};
use crate::model::{ChatKind, SentMessage};
use crate::state::{Event, Sim, unix_now};

use crate::names::ACTIONS;

/// Retcode of an action that could not be done.
const FAILED: i64 = 100;
/// `get_version_info`'s `app_name`.
const APP_NAME: &str = "wasmqq-sim";

/// An API answer, without the transport's `echo`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reply {
    pub status: &'static str,
    pub retcode: i64,
    pub data: Value,
    /// Why it failed ("" on success).
    pub message: String,
}

impl Reply {
    pub(crate) fn ok(data: Value) -> Reply {
        Reply {
            status: "ok",
            retcode: 0,
            data,
            message: String::new(),
        }
    }

    fn accepted() -> Reply {
        Reply {
            status: "async",
            retcode: 1,
            data: Value::Null,
            message: String::new(),
        }
    }

    pub(crate) fn failed(retcode: i64, message: impl Into<String>) -> Reply {
        Reply {
            status: "failed",
            retcode,
            data: Value::Null,
            message: message.into(),
        }
    }

    /// 1400: bad or missing parameters.
    pub(crate) fn bad_params(message: impl Into<String>) -> Reply {
        Reply::failed(1400, message)
    }

    /// 1404: no such action.
    pub(crate) fn unknown(action: &str) -> Reply {
        Reply::failed(1404, format!("no action {action:?}"))
    }

    /// The JSON envelope; `echo` is added when the request carried one.
    pub(crate) fn envelope(&self, echo: Option<&Value>) -> Value {
        let mut v = json!({"status": self.status, "retcode": self.retcode, "data": self.data});
        if !self.message.is_empty() {
            v["message"] = json!(self.message);
            v["wording"] = json!(self.message);
        }
        if let Some(e) = echo {
            v["echo"] = e.clone();
        }
        v
    }
}

/// How a call is answered.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    /// A normal answer.
    Reply(Reply),
    /// No answer at all (`no_answer` fault).
    NoAnswer,
    /// The connection carrying the call is dropped (`reset` fault).
    Reset,
    /// A truncated, invalid JSON answer (`malformed` fault).
    Malformed,
    /// An HTTP error status (`http_status` fault; a failed 1xxx-less
    /// answer with that retcode on WebSocket).
    HttpStatus(u16),
}

/// The action without its `_async` / `_rate_limited` suffix, and which.
fn split_suffix(action: &str) -> (&str, Option<&'static str>) {
    for s in ["_async", "_rate_limited"] {
        if let Some(base) = action.strip_suffix(s) {
            return (base, Some(s));
        }
    }
    (action, None)
}

/// Whether the simulator implements `action` (suffixes allowed).
pub(crate) fn known(action: &str) -> bool {
    ACTIONS.contains(&split_suffix(action).0)
}

/// Runs one call. `params` is the JSON object of parameters (or null).
pub(crate) fn call(sim: &Arc<Sim>, action: &str, params: &Value) -> Outcome {
    let (base, suffix) = split_suffix(action);
    if !ACTIONS.contains(&base) {
        tracing::info!(action, "onebot: unknown action");
        return Outcome::Reply(Reply::unknown(action));
    }
    if !matches!(params, Value::Object(_) | Value::Null) {
        return Outcome::Reply(Reply::bad_params("params must be a JSON object"));
    }
    let fault = faults::take(&mut sim.state().faults, base);
    if let Some(f) = fault {
        tracing::info!(action = base, fault = ?f.action, "onebot: injecting fault");
        if f.deliver {
            let _ = run(sim, base, params);
        }
        return match f.action {
            FaultAction::Retcode(r) => Outcome::Reply(Reply::failed(r, "injected fault")),
            FaultAction::HttpStatus(s) => Outcome::HttpStatus(s),
            FaultAction::Malformed => Outcome::Malformed,
            FaultAction::Reset => Outcome::Reset,
            FaultAction::NoAnswer => Outcome::NoAnswer,
        };
    }
    match suffix {
        None => Outcome::Reply(run(sim, base, params)),
        Some("_async") => {
            let r = run(sim, base, params);
            tracing::debug!(action, status = r.status, "onebot: async call done");
            Outcome::Reply(Reply::accepted())
        }
        Some(_) => {
            let interval = sim
                .config
                .onebot
                .as_ref()
                .map(|f| f.rate_limit_interval)
                .unwrap_or_default();
            let at = {
                let mut st = sim.state();
                let now = tokio::time::Instant::now();
                let at = st.onebot.next_rate_slot.filter(|t| *t > now).unwrap_or(now);
                st.onebot.next_rate_slot = Some(at + interval);
                at
            };
            let (sim, base, params) = (sim.clone(), base.to_string(), params.clone());
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                let r = run(&sim, &base, &params);
                tracing::debug!(action = %base, status = r.status, "onebot: rate-limited call done");
            });
            Outcome::Reply(Reply::accepted())
        }
    }
}

/// A numeric parameter: `Ok(None)` when absent, an error when not a
/// non-negative integer (number or numeric string).
fn num(params: &Value, key: &str) -> Result<Option<u64>, Reply> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| Reply::bad_params(format!("{key}: {n} is not a non-negative integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Reply::bad_params(format!("{key}: {s:?} is not a number"))),
        Some(other) => Err(Reply::bad_params(format!("{key}: {other} is not a number"))),
    }
}

fn req_num(params: &Value, key: &str) -> Result<u64, Reply> {
    num(params, key)?.ok_or_else(|| Reply::bad_params(format!("missing parameter {key}")))
}

/// A boolean parameter (default false).
fn flag(params: &Value, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => matches!(s.trim(), "true" | "1" | "yes" | "True"),
        _ => false,
    }
}

fn run(sim: &Arc<Sim>, action: &str, p: &Value) -> Reply {
    match dispatch(sim, action, p) {
        Ok(r) | Err(r) => r,
    }
}

fn dispatch(sim: &Arc<Sim>, action: &str, p: &Value) -> Result<Reply, Reply> {
    let pop = &sim.config.population;
    Ok(match action {
        "send_private_msg" => send(sim, ChatKind::Friend, req_num(p, "user_id")?, p)?,
        "send_group_msg" => send(sim, ChatKind::Group, req_num(p, "group_id")?, p)?,
        "send_msg" => {
            let kind = match p.get("message_type").and_then(Value::as_str) {
                Some("private") => ChatKind::Friend,
                Some("group") => ChatKind::Group,
                Some(other) => {
                    return Err(Reply::bad_params(format!(
                        "message_type {other:?} is not private or group"
                    )));
                }
                None if num(p, "group_id")?.is_some() => ChatKind::Group,
                None if num(p, "user_id")?.is_some() => ChatKind::Friend,
                None => {
                    return Err(Reply::bad_params(
                        "missing parameter message_type (or user_id / group_id)",
                    ));
                }
            };
            let key = if kind == ChatKind::Group {
                "group_id"
            } else {
                "user_id"
            };
            send(sim, kind, req_num(p, key)?, p)?
        }
        "delete_msg" => {
            req_num(p, "message_id")?;
            Reply::ok(Value::Null)
        }
        "get_login_info" => Reply::ok(json!({"user_id": pop.bot.qq, "nickname": pop.bot.nick})),
        "get_stranger_info" => {
            let qq = req_num(p, "user_id")?;
            if pop.person(qq).is_none() {
                return Err(Reply::failed(FAILED, format!("no user {qq}")));
            }
            Reply::ok(json!({"user_id": qq, "nickname": nickname(pop, qq), "sex": sex(pop, qq), "age": 0}))
        }
        "get_friend_list" => Reply::ok(Value::Array(
            pop.friends()
                .map(|u| json!({"user_id": u.qq, "nickname": u.nick, "remark": u.remark.clone().unwrap_or_default()}))
                .collect(),
        )),
        "get_group_list" => Reply::ok(Value::Array(
            pop.groups.iter().map(group_info).collect(),
        )),
        "get_group_info" => {
            let n = req_num(p, "group_id")?;
            let g = pop
                .group(n)
                .ok_or_else(|| Reply::failed(FAILED, format!("the bot is not in group {n}")))?;
            Reply::ok(group_info(g))
        }
        "get_group_member_list" => {
            let n = req_num(p, "group_id")?;
            let g = pop
                .group(n)
                .ok_or_else(|| Reply::failed(FAILED, format!("the bot is not in group {n}")))?;
            Reply::ok(Value::Array(
                g.members.iter().map(|m| member_info(sim, n, m)).collect(),
            ))
        }
        "get_group_member_info" => {
            let n = req_num(p, "group_id")?;
            let qq = req_num(p, "user_id")?;
            let g = pop
                .group(n)
                .ok_or_else(|| Reply::failed(FAILED, format!("the bot is not in group {n}")))?;
            let m = g
                .members
                .iter()
                .find(|m| m.qq == qq)
                .ok_or_else(|| Reply::failed(FAILED, format!("{qq} is not a member of group {n}")))?;
            Reply::ok(member_info(sim, n, m))
        }
        "get_status" => Reply::ok(status()),
        "get_version_info" => Reply::ok(json!({
            "app_name": APP_NAME, "app_version": env!("CARGO_PKG_VERSION"), "protocol_version": "v11",
        })),
        // The simulated world (like WebQQ) carries text, faces and mentions.
        "can_send_image" | "can_send_record" => Reply::ok(json!({"yes": false})),
        other => Reply::unknown(other),
    })
}

fn group_info(g: &crate::Group) -> Value {
    json!({"group_id": g.number, "group_name": g.name, "member_count": g.members.len(), "max_member_count": 200})
}

fn member_info(sim: &Sim, group: u64, m: &crate::Member) -> Value {
    let pop = &sim.config.population;
    json!({
        "group_id": group, "user_id": m.qq, "nickname": nickname(pop, m.qq),
        "card": m.card.clone().unwrap_or_default(), "sex": sex(pop, m.qq), "age": 0,
        "area": "", "join_time": 0, "last_sent_time": 0, "level": "",
        "role": role(pop, group, m.qq), "unfriendly": false, "title": "",
        "title_expire_time": 0, "card_changeable": false,
    })
}

/// Sends a message from the parameters `message` / `auto_escape`.
fn send(sim: &Arc<Sim>, chat: ChatKind, to: u64, p: &Value) -> Result<Reply, Reply> {
    let message = p
        .get("message")
        .filter(|m| !m.is_null())
        .ok_or_else(|| Reply::bad_params("missing parameter message"))?;
    let segs = from_param(message, flag(p, "auto_escape")).map_err(Reply::bad_params)?;
    deliver(sim, chat, to, &segs)
}

/// Records a send to `to` (a friend's QQ or a group number).
pub(crate) fn deliver(
    sim: &Arc<Sim>,
    chat: ChatKind,
    to: u64,
    segs: &[Seg],
) -> Result<Reply, Reply> {
    let pop = &sim.config.population;
    if segs.is_empty() {
        return Err(Reply::bad_params("message is empty"));
    }
    match chat {
        ChatKind::Friend if pop.friend(to).is_none() => {
            return Err(Reply::failed(
                FAILED,
                format!("{to} is not a friend of the bot"),
            ));
        }
        ChatKind::Group if pop.group(to).is_none() => {
            return Err(Reply::failed(
                FAILED,
                format!("the bot is not in group {to}"),
            ));
        }
        _ => {}
    }
    let text = render_sent(segs);
    let mut st = sim.state();
    let message_id = st.msg_id();
    tracing::info!(chat = ?chat, to, message_id, %text, "onebot: bot sent a message");
    st.sent.push(SentMessage {
        chat,
        to,
        text,
        time: unix_now(),
        msg_id: Some(message_id),
    });
    st.touch_recent(chat, to);
    drop(st);
    sim.sent_notify.notify_waiters();
    Ok(Reply::ok(json!({"message_id": message_id})))
}

/// Applies an HTTP POST quick operation (`{"reply": …}`) to the message
/// event it answered; other fields (`delete`, `kick`, `ban`) are accepted
/// and ignored. In groups the reply mentions the sender unless
/// `at_sender` is false.
pub(crate) fn quick_operation(sim: &Arc<Sim>, ev: &Event, op: &Value) {
    let Some(reply) = op.get("reply").filter(|r| !r.is_null()) else {
        return;
    };
    let mut segs = match from_param(reply, flag(op, "auto_escape")) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "onebot: quick operation reply refused");
            return;
        }
    };
    let to = match ev.chat {
        ChatKind::Group => {
            if op.get("at_sender") != Some(&Value::Bool(false)) {
                segs.insert(
                    0,
                    Seg {
                        kind: "at".into(),
                        data: vec![("qq".into(), ev.from.to_string())],
                    },
                );
                segs.insert(1, Seg::text(" "));
            }
            ev.to
        }
        _ => ev.from,
    };
    if let Err(r) = deliver(sim, ev.chat, to, &segs) {
        tracing::warn!(reason = %r.message, "onebot: quick operation reply refused");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_params() {
        assert_eq!(split_suffix("send_msg_async"), ("send_msg", Some("_async")));
        assert_eq!(
            split_suffix("send_msg_rate_limited"),
            ("send_msg", Some("_rate_limited"))
        );
        assert!(known("get_status_async"));
        assert!(!known("get_cookies"));
        let p = json!({"a": "12", "b": 3, "c": "x", "d": -1, "t": "yes", "f": 0});
        assert_eq!(num(&p, "a"), Ok(Some(12)));
        assert_eq!(num(&p, "b"), Ok(Some(3)));
        assert!(num(&p, "c").is_err());
        assert!(num(&p, "d").is_err());
        assert_eq!(num(&p, "z"), Ok(None));
        assert!(flag(&p, "t"));
        assert!(!flag(&p, "f"));
        assert_eq!(
            Reply::unknown("x").envelope(Some(&json!(1))),
            json!({"status": "failed", "retcode": 1404, "data": null, "message": "no action \"x\"", "wording": "no action \"x\"", "echo": 1})
        );
    }
}
