//! `d1.web2.qq.com/channel/*` except poll2 and the sends: login2, the
//! activation call, recent list, discussion info, status (§2.7, §2.8,
//! §4.7, §4.8, §4.12, §4.14).

use std::sync::Arc;

use axum::response::Response;
use serde_json::{Value, json};
use wasmqq_wire::consts::CLIENT_ID;

use super::{bad_credentials, login_by_cookie, login_by_vfwebqq, malformed_request, no_referer};
use crate::http::{self, Req, as_string, as_u64, num};
use crate::model::ChatKind;
use crate::state::{Login, Session, Sim, State, hex};

/// `POST /channel/login2` `r={ptwebqq,clientid,psessionid,status}`.
///
/// Needs the login's `skey` cookie and its `ptwebqq`. An empty (or `null`)
/// `psessionid` opens a new session (not activated: poll2 answers 103 until
/// get_online_buddies2); the current `psessionid` relinks to the existing
/// session. `result.uin` is the bot's real QQ.
pub(crate) fn login2(sim: &Arc<Sim>, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let r = match req.r() {
        Ok(r) => r,
        Err(e) => return malformed_request("login2", &e),
    };
    let mut st = sim.state();
    let ok = login_by_cookie(&st, req)
        .is_some_and(|l| l.ptwebqq_is(&as_string(r.get("ptwebqq")), "login2"));
    if !ok {
        return bad_credentials();
    }
    let Some(login) = st.login.as_mut() else {
        return bad_credentials();
    };
    let asked = as_string(r.get("psessionid"));
    let status = Some(as_string(r.get("status")))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "online".into());
    let relink = login
        .session
        .as_ref()
        .is_some_and(|s| !asked.is_empty() && s.psessionid == asked);
    if !relink {
        let login2_vfwebqq = hex(80);
        let psessionid = format!(
            "8368046764001d636f6e6e7365727665725f77656271714031302e3133332e34312e383400001ad00000066b026e040015808a206d0000000a40{}6d00000028{}",
            hex(20),
            login2_vfwebqq
        );
        login.session = Some(Session {
            psessionid,
            clientid: as_u64(r.get("clientid")).unwrap_or(CLIENT_ID),
            login2_vfwebqq,
            activated: false,
            lost: false,
        });
        tracing::info!(login = login.serial, "sim: login2 opened a session");
    } else {
        if let Some(s) = login.session.as_mut() {
            s.lost = false;
        }
        tracing::info!(login = login.serial, "sim: login2 relinked the session");
    }
    let Some(s) = login.session.as_ref() else {
        return bad_credentials();
    };
    let body = json!({"result": {
        "cip": 23_600_812, "f": 0, "index": 1075, "port": 47450,
        "psessionid": s.psessionid, "status": status, "uin": sim.config.population.bot.qq,
        "user_state": 0, "vfwebqq": s.login2_vfwebqq,
    }, "retcode": 0});
    drop(st);
    // Polls of a replaced session end (with 103).
    sim.wake_polls();
    http::json(body)
}

/// Checks Referer, `vfwebqq`, `psessionid` (must be the live session) and
/// `clientid` (when given, must be login2's) from the query or `r`.
fn session_guard<'a>(
    st: &'a mut State,
    req: &Req,
    vfwebqq: &str,
    psessionid: &str,
    clientid: Option<u64>,
) -> Result<&'a mut Login, Response> {
    if !req.referer_ok() {
        return Err(no_referer());
    }
    if login_by_vfwebqq(st, vfwebqq).is_none() || !st.session_ok(psessionid) {
        return Err(bad_credentials());
    }
    let login = st.login.as_mut().ok_or_else(bad_credentials)?;
    let session = login.session.as_ref().ok_or_else(bad_credentials)?;
    if clientid.is_some_and(|c| c != session.clientid) {
        return Err(bad_credentials());
    }
    Ok(login)
}

/// `GET /channel/get_online_buddies2?vfwebqq&clientid&psessionid&t`:
/// online friends; the first success activates the session (§2.8).
pub(crate) fn get_online_buddies2(sim: &Arc<Sim>, req: &Req) -> Response {
    let mut st = sim.state();
    let login = match session_guard(
        &mut st,
        req,
        req.param("vfwebqq").unwrap_or_default(),
        req.param("psessionid").unwrap_or_default(),
        num(req.param("clientid")),
    ) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    if let Some(s) = login.session.as_mut()
        && !s.activated
    {
        s.activated = true;
        tracing::info!("sim: session activated");
    }
    let list: Vec<Value> = sim
        .config
        .population
        .friends()
        .filter(|f| f.status != "offline")
        .map(|f| json!({"client_type": f.client_type, "status": f.status, "uin": login.ids.uin(f.qq)}))
        .collect();
    http::json(json!({"result": list, "retcode": 0}))
}

/// `POST /channel/get_recent_list2` `r={vfwebqq,clientid,psessionid}`:
/// conversations touched during this run, newest first (§4.8). An empty
/// `psessionid` is accepted (SJ).
pub(crate) fn get_recent_list2(sim: &Arc<Sim>, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let r = match req.r() {
        Ok(r) => r,
        Err(e) => return malformed_request("get_recent_list2", &e),
    };
    let st = sim.state();
    let Some(login) = login_by_vfwebqq(&st, &as_string(r.get("vfwebqq"))) else {
        return bad_credentials();
    };
    let psid = as_string(r.get("psessionid"));
    if !psid.is_empty() && !st.session_ok(&psid) {
        return bad_credentials();
    }
    let list: Vec<Value> = st
        .recent
        .iter()
        .rev()
        .map(|(kind, id)| match kind {
            ChatKind::Friend => json!({"type": 0, "uin": login.ids.uin(*id)}),
            ChatKind::Group => json!({"type": 1, "uin": login.ids.gid(*id)}),
            ChatKind::Discussion => json!({"type": 2, "uin": login.ids.did(*id)}),
        })
        .collect();
    http::json(json!({"result": list, "retcode": 0}))
}

/// `GET /channel/get_discu_info?did&vfwebqq&clientid&psessionid&t`
/// (§4.12): `mem_list[].ruin` is the member's real QQ.
pub(crate) fn get_discu_info(sim: &Arc<Sim>, req: &Req) -> Response {
    let mut st = sim.state();
    let login = match session_guard(
        &mut st,
        req,
        req.param("vfwebqq").unwrap_or_default(),
        req.param("psessionid").unwrap_or_default(),
        num(req.param("clientid")),
    ) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let pop = &sim.config.population;
    let Some(disc) = num(req.param("did"))
        .and_then(|d| login.ids.disc_of_did(d))
        .and_then(|id| pop.discussion(id))
    else {
        return http::json(json!({"retcode": 6}));
    };
    let (mut list, mut info, mut status) = (vec![], vec![], vec![]);
    for qq in &disc.members {
        let Some(person) = pop.person(*qq) else {
            continue;
        };
        let uin = login.ids.uin(*qq);
        list.push(json!({"mem_uin": uin, "ruin": qq}));
        info.push(json!({"nick": person.nick(), "uin": uin}));
        let (st_, ct) = match person {
            crate::population::Person::Bot(_) => ("online", 41),
            crate::population::Person::User(u) => (u.status.as_str(), u.client_type),
        };
        if st_ != "offline" {
            status.push(json!({"client_type": ct, "status": st_, "uin": uin}));
        }
    }
    http::json(json!({"result": {
        "info": {"did": login.ids.did(disc.id), "discu_name": disc.name, "mem_list": list},
        "mem_info": info,
        "mem_status": status,
    }, "retcode": 0}))
}

/// `GET /channel/change_status2?newstatus&clientid&psessionid&t` (§4.14).
pub(crate) fn change_status2(sim: &Arc<Sim>, req: &Req) -> Response {
    const STATUSES: &[&str] = &[
        "online", "away", "busy", "silent", "hidden", "callme", "offline",
    ];
    if !req.referer_ok() {
        return no_referer();
    }
    let mut st = sim.state();
    let psid = req.param("psessionid").unwrap_or_default().to_string();
    if !st.session_ok(&psid) {
        return bad_credentials();
    }
    let new = req.param("newstatus").unwrap_or_default();
    if !STATUSES.contains(&new) {
        return malformed_request("change_status2", "unknown newstatus");
    }
    if let Some(l) = st.login.as_mut() {
        l.status = new.to_string();
    }
    http::json(json!({"retcode": 0, "result": "ok"}))
}
