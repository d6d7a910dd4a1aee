//! `s.web2.qq.com/api/*`: vfwebqq, contact lists and profiles (§2.6,
//! §4.3–§4.6, §4.9–§4.11, §4.13).
//!
//! Every call needs a Referer containing `qq.com` (`{"retcode":100000}`
//! otherwise). Lists check `vfwebqq` (100001) and the list `hash` (100003);
//! ids in and out are the current login's pseudonyms.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use wasmqq_wire::hash::list_hash;

use super::{
    bad_credentials, login_by_cookie, login_by_vfwebqq, malformed_request, no_referer, retcode,
};
use crate::http::{self, Req, as_string, num};
use crate::population::Person;
use crate::state::{Login, Sim};

/// `{"retcode":6}`: unknown or wrong kind of id (a gid where a code is due).
fn unknown_id() -> Response {
    http::json(json!({"retcode": 6}))
}

/// `GET /api/getvfwebqq?ptwebqq=…&clientid=…&psessionid=&t=…` (§2.6).
pub(crate) fn getvfwebqq(sim: &Arc<Sim>, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let st = sim.state();
    let Some(login) = login_by_cookie(&st, req) else {
        return bad_credentials();
    };
    let ptwebqq = req.param("ptwebqq").unwrap_or_default();
    if !login.ptwebqq_is(ptwebqq, "getvfwebqq") {
        return bad_credentials();
    }
    http::json(json!({"retcode": 0, "result": {"vfwebqq": login.vfwebqq}}))
}

/// The list hash of the current ptwebqq only (not of one a 116 replaced).
fn hash_ok(login: &Login, qq: u64, given: &str) -> bool {
    let ok = |p: &str| list_hash(qq, p).eq_ignore_ascii_case(given);
    if login.old_ptwebqq.as_deref().is_some_and(ok) && !ok(&login.ptwebqq) {
        tracing::info!("sim: list hash of a stale ptwebqq (replaced by poll2 116) refused");
    }
    ok(&login.ptwebqq)
}

/// Checks Referer, `r.vfwebqq` and `r.hash` of a list call.
fn list_guard<'a>(
    sim: &Sim,
    st: &'a crate::state::State,
    req: &Req,
    endpoint: &str,
) -> Result<&'a Login, Response> {
    if !req.referer_ok() {
        return Err(no_referer());
    }
    let r = req.r().map_err(|e| malformed_request(endpoint, &e))?;
    let login = login_by_vfwebqq(st, &as_string(r.get("vfwebqq"))).ok_or_else(bad_credentials)?;
    if !hash_ok(
        login,
        sim.config.population.bot.qq,
        &as_string(r.get("hash")),
    ) {
        tracing::info!(endpoint, "sim: wrong list hash");
        return Err(retcode(100003));
    }
    Ok(login)
}

/// `POST /api/get_user_friends2` `r={vfwebqq,hash}` (§4.3).
pub(crate) fn get_user_friends2(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match list_guard(sim, &st, req, "get_user_friends2") {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let pop = &sim.config.population;
    let (mut friends, mut marknames, mut vipinfo, mut info) = (vec![], vec![], vec![], vec![]);
    for f in pop.friends() {
        let uin = login.ids.uin(f.qq);
        friends.push(json!({"flag": f.category * 4, "uin": uin, "categories": f.category}));
        if let Some(m) = &f.remark {
            marknames.push(json!({"uin": uin, "markname": m, "type": 0}));
        }
        vipinfo.push(json!({"vip_level": 0, "u": uin, "is_vip": 0}));
        info.push(json!({"face": f.face, "flag": 8_388_608, "nick": f.nick, "uin": uin}));
    }
    let categories: Vec<Value> = pop
        .categories
        .iter()
        .map(|c| json!({"index": c.index, "sort": c.index, "name": c.name}))
        .collect();
    http::json(json!({"retcode": 0, "result": {
        "friends": friends, "marknames": marknames, "categories": categories,
        "vipinfo": vipinfo, "info": info,
    }}))
}

/// `POST /api/get_group_name_list_mask2` `r={vfwebqq,hash}` (also GET
/// with `r` in the query, like MW) (§4.4).
pub(crate) fn get_group_name_list_mask2(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match list_guard(sim, &st, req, "get_group_name_list_mask2") {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let pop = &sim.config.population;
    let mut names = vec![];
    let mut marks = vec![];
    for g in &pop.groups {
        let gid = login.ids.gid(g.number);
        names.push(json!({"flag": 167_864_331, "name": g.name, "gid": gid, "code": login.ids.code(g.number)}));
        if let Some(m) = &g.remark {
            marks.push(json!({"uin": gid, "markname": m}));
        }
    }
    http::json(json!({"retcode": 0, "result": {
        "gmasklist": [], "gnamelist": names, "gmarklist": marks,
    }}))
}

/// Checks Referer, `vfwebqq` (query) and, when given, `psessionid`.
fn query_guard<'a>(st: &'a crate::state::State, req: &Req) -> Result<&'a Login, Response> {
    if !req.referer_ok() {
        return Err(no_referer());
    }
    let login = login_by_vfwebqq(st, req.param("vfwebqq").unwrap_or_default())
        .ok_or_else(bad_credentials)?;
    match req.param("psessionid") {
        Some(p) if !p.is_empty() && !st.session_ok(p) => Err(bad_credentials()),
        _ => Ok(login),
    }
}

/// `GET /api/get_discus_list?clientid&psessionid&vfwebqq&t` (§4.5).
pub(crate) fn get_discus_list(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match query_guard(&st, req) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let list: Vec<Value> = sim
        .config
        .population
        .discussions
        .iter()
        .map(|d| json!({"name": d.name, "did": login.ids.did(d.id)}))
        .collect();
    http::json(json!({"retcode": 0, "result": {"dnamelist": list}}))
}

/// Profile fields shared by self and friend info.
fn profile(person: Person<'_>, uin: u64) -> serde_json::Map<String, Value> {
    let (face, gender, country, province, city) = match person {
        Person::Bot(b) => (b.face, &b.gender, &b.country, &b.province, &b.city),
        Person::User(u) => (u.face, &u.gender, &u.country, &u.province, &u.city),
    };
    let v = json!({
        "birthday": {"month": 1, "year": 1990, "day": 1},
        "face": face, "phone": "", "occupation": "", "allow": 1, "college": "",
        "uin": uin, "blood": 0, "constel": 0, "homepage": "", "vip_info": 0,
        "city": city, "country": country, "province": province, "personal": "",
        "shengxiao": 0, "nick": person.nick(), "email": "", "gender": gender, "mobile": "",
    });
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// `GET /api/get_self_info2?t=…`: authenticated by cookies only (§4.6).
pub(crate) fn get_self_info2(sim: &Arc<Sim>, req: &Req) -> Response {
    if !req.referer_ok() {
        return no_referer();
    }
    let st = sim.state();
    let Some(login) = login_by_cookie(&st, req) else {
        return bad_credentials();
    };
    let pop = &sim.config.population;
    let mut m = profile(Person::Bot(&pop.bot), pop.bot.qq);
    m.insert("account".into(), json!(pop.bot.qq));
    m.insert("lnick".into(), json!(pop.bot.lnick));
    m.insert("vfwebqq".into(), json!(login.vfwebqq));
    http::json(json!({"retcode": 0, "result": m}))
}

/// `GET /api/get_friend_info2?tuin&vfwebqq&clientid&psessionid&t` (§4.9):
/// any person of the session (friend or fellow member).
pub(crate) fn get_friend_info2(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match query_guard(&st, req) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let pop = &sim.config.population;
    let Some(uin) = num(req.param("tuin")) else {
        return malformed_request("get_friend_info2", "tuin is not a number");
    };
    let Some(person) = login.ids.qq(uin).and_then(|qq| pop.person(qq)) else {
        return unknown_id();
    };
    let mut m = profile(person, uin);
    let (status, client_type) = match person {
        Person::Bot(_) => ("online", 41),
        Person::User(u) => (u.status.as_str(), u.client_type),
    };
    m.insert("stat".into(), json!(stat_code(status)));
    m.insert("client_type".into(), json!(client_type));
    http::json(json!({"retcode": 0, "result": m}))
}

/// MW's `code2state`.
fn stat_code(status: &str) -> u32 {
    match status {
        "online" => 10,
        "away" => 30,
        "hidden" => 40,
        "busy" => 50,
        "callme" => 60,
        "silent" => 70,
        _ => 20,
    }
}

/// `GET /api/get_single_long_nick2?tuin&vfwebqq&t` (§4.10): `result` is an
/// array.
pub(crate) fn get_single_long_nick2(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match query_guard(&st, req) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let Some(uin) = num(req.param("tuin")) else {
        return malformed_request("get_single_long_nick2", "tuin is not a number");
    };
    let pop = &sim.config.population;
    let lnick = match login.ids.qq(uin).and_then(|qq| pop.person(qq)) {
        Some(Person::Bot(b)) => b.lnick.clone(),
        Some(Person::User(u)) => u.lnick.clone(),
        None => return unknown_id(),
    };
    http::json(json!({"retcode": 0, "result": [{"uin": uin, "lnick": lnick}]}))
}

/// `GET /api/get_group_info_ext2?gcode=<code>&vfwebqq&t` (§4.11).
///
/// `gcode` must be the group's `code`; a gid answers `{"retcode":6}`.
/// `ginfo.members` and `minfo` are in the same order; the bot appears under
/// its real QQ.
pub(crate) fn get_group_info_ext2(sim: &Arc<Sim>, req: &Req) -> Response {
    let st = sim.state();
    let login = match query_guard(&st, req) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let pop = &sim.config.population;
    let Some(group) = num(req.param("gcode"))
        .and_then(|c| login.ids.group_of_code(c))
        .and_then(|n| pop.group(n))
    else {
        return unknown_id();
    };
    let (mut members, mut minfo, mut cards, mut stats, mut vip) =
        (vec![], vec![], vec![], vec![], vec![]);
    for m in &group.members {
        let uin = login.ids.uin(m.qq);
        let Some(person) = pop.person(m.qq) else {
            continue;
        };
        members.push(json!({"muin": uin, "mflag": u8::from(m.admin)}));
        let (gender, country, province, city) = match person {
            Person::Bot(b) => (&b.gender, &b.country, &b.province, &b.city),
            Person::User(u) => (&u.gender, &u.country, &u.province, &u.city),
        };
        minfo.push(
            json!({"nick": person.nick(), "province": province, "gender": gender,
                          "uin": uin, "country": country, "city": city}),
        );
        if let Some(c) = &m.card {
            cards.push(json!({"muin": uin, "card": c}));
        }
        let (status, client_type) = match person {
            Person::Bot(_) => ("online", 41),
            Person::User(u) => (u.status.as_str(), u.client_type),
        };
        if status != "offline" {
            stats.push(json!({"client_type": client_type, "uin": uin, "stat": stat_code(status)}));
        }
        vip.push(json!({"vip_level": 0, "u": uin, "is_vip": 0}));
    }
    let owner = group.owner.map(|o| login.ids.uin(o)).unwrap_or_default();
    http::json(json!({"retcode": 0, "result": {
        "stats": stats,
        "minfo": minfo,
        "ginfo": {
            "face": 0, "memo": group.memo, "class": 10011, "fingermemo": "",
            "code": login.ids.code(group.number), "createtime": 1_513_196_534u64,
            "flag": 1_090_520_065u64, "level": 0, "name": group.name,
            "gid": login.ids.gid(group.number), "owner": owner,
            "members": members, "option": 2,
        },
        "cards": cards,
        "vipinfo": vip,
    }}))
}

/// `GET /api/get_friend_uin2?tuin&type&vfwebqq&t` (§4.13): removed in 2017,
/// so HTTP 404 unless `SimConfig::friend_uin_api`.
pub(crate) fn get_friend_uin2(sim: &Arc<Sim>, req: &Req) -> Response {
    if !sim.config.friend_uin_api {
        return http::status_page(StatusCode::NOT_FOUND);
    }
    let st = sim.state();
    let login = match query_guard(&st, req) {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let Some(tuin) = num(req.param("tuin")) else {
        return malformed_request("get_friend_uin2", "tuin is not a number");
    };
    let account = if req.param("type") == Some("4") {
        login.ids.group_of_gid(tuin)
    } else {
        login.ids.qq(tuin)
    };
    match account {
        Some(a) => {
            http::json(json!({"retcode": 0, "result": {"uiuin": "", "account": a, "uin": tuin}}))
        }
        None => unknown_id(),
    }
}
