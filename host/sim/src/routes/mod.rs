//! Routing on (Host, path) for every host of §1.1, and the fault hook.
//!
//! Paths are unique across hosts, but a faithful server answers only on the
//! right host, so a request to a known path on the wrong `qq.com` host gets
//! nginx's 404. Requests whose Host is an IP literal or `localhost` (curl
//! while debugging) are routed on the path alone; cookies will not work for
//! them, since every cookie is set on a `qq.com` domain. `/_sim/...` is the
//! control API, on any host.
//!
//! While the OneBot face is on, every request whose Host is *not* a WebQQ
//! `*.qq.com` host (IP literals and `localhost` included) goes to the
//! OneBot face instead: forward WebSocket upgrades and HTTP API calls.

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::conn::ConnCtl;
use crate::control;
use crate::faults::{self, FaultAction};
use crate::http::{self, Req};
use crate::onebot::{http_api, ws_server};
use crate::poll;
use crate::state::{Sim, hex};

pub(crate) mod api;
pub(crate) mod channel;
pub(crate) mod pages;
pub(crate) mod ptlogin;
pub(crate) mod send;

/// Which server a host name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// `ui.ptlogin2.qq.com`, `xui.ptlogin2.qq.com`
    LoginPage,
    /// `ssl.ptlogin2.qq.com`
    PtloginSsl,
    /// `ptlogin2.qq.com`
    Ptlogin2,
    /// `ptlogin4.web2.qq.com`
    Ptlogin4,
    /// `w.qq.com`
    W,
    /// `s.web2.qq.com`
    S,
    /// `d1.web2.qq.com`, `d.web2.qq.com`
    D,
    /// `pinghot.qq.com`
    Pinghot,
    /// An IP literal or `localhost`: any of the above.
    Any,
}

fn server(host: &str) -> Option<Server> {
    Some(match host {
        "ui.ptlogin2.qq.com" | "xui.ptlogin2.qq.com" => Server::LoginPage,
        "ssl.ptlogin2.qq.com" => Server::PtloginSsl,
        "ptlogin2.qq.com" => Server::Ptlogin2,
        "ptlogin4.web2.qq.com" => Server::Ptlogin4,
        "w.qq.com" => Server::W,
        "s.web2.qq.com" => Server::S,
        "d1.web2.qq.com" | "d.web2.qq.com" => Server::D,
        "pinghot.qq.com" => Server::Pinghot,
        "localhost" | "" => Server::Any,
        h if h.parse::<std::net::IpAddr>().is_ok() => Server::Any,
        _ => return None,
    })
}

/// The endpoint a path names, and the server that serves it.
fn endpoint(path: &str) -> Option<(&'static str, Server)> {
    let (name, srv) = match path {
        "/cgi-bin/login" => ("login", Server::LoginPage),
        "/cgi-bin/xlogin" => ("xlogin", Server::LoginPage),
        "/ptqrshow" => ("ptqrshow", Server::PtloginSsl),
        "/ptqrlogin" => ("ptqrlogin", Server::PtloginSsl),
        "/logout" => ("logout", Server::Ptlogin2),
        "/check_sig" => ("check_sig", Server::Ptlogin4),
        "/pingd" => ("pingd", Server::Pinghot),
        "/proxy.html" | "/" => ("proxy.html", Server::W),
        p => {
            if let Some(name) = p.strip_prefix("/api/") {
                (lookup(name, S_API)?, Server::S)
            } else if let Some(name) = p.strip_prefix("/channel/") {
                (lookup(name, D_CHANNEL)?, Server::D)
            } else {
                return None;
            }
        }
    };
    Some((name, srv))
}

/// The `s.web2.qq.com/api/...` endpoints.
const S_API: &[&str] = &[
    "getvfwebqq",
    "get_user_friends2",
    "get_group_name_list_mask2",
    "get_discus_list",
    "get_self_info2",
    "get_friend_info2",
    "get_single_long_nick2",
    "get_group_info_ext2",
    "get_friend_uin2",
];

/// The `d1.web2.qq.com/channel/...` endpoints.
const D_CHANNEL: &[&str] = &[
    "login2",
    "poll2",
    "get_online_buddies2",
    "get_recent_list2",
    "get_discu_info",
    "change_status2",
    "send_buddy_msg2",
    "send_qun_msg2",
    "send_discu_msg2",
];

fn lookup(name: &str, set: &[&'static str]) -> Option<&'static str> {
    set.iter().copied().find(|e| *e == name)
}

fn served_by(name: &str, wanted: Server, host: Server) -> bool {
    if host == Server::Any || host == wanted {
        return true;
    }
    // The cross-domain proxy page exists on the API hosts too.
    name == "proxy.html" && matches!(host, Server::S | Server::D)
}

/// The single entry point: every request of every host lands here.
pub(crate) async fn dispatch(
    State(sim): State<Arc<Sim>>,
    ConnectInfo(conn): ConnectInfo<ConnCtl>,
    request: Request,
) -> Response {
    route(&sim, request, Some(conn)).await
}

/// Answers one request; `conn` is the connection's kill switch (`None`
/// without a socket, as for [`crate::Offline`]).
pub(crate) async fn route(sim: &Arc<Sim>, request: Request, conn: Option<ConnCtl>) -> Response {
    if sim.config.onebot.is_some() {
        let path = request.uri().path();
        let control = path == "/_sim" || path.starts_with("/_sim/");
        let webqq = server(&http::host_of(&request)).is_some_and(|s| s != Server::Any);
        if !control && !webqq {
            if ws_server::is_upgrade(&request) {
                return ws_server::upgrade(sim, request, conn).await;
            }
            return match Req::read(request, conn).await {
                Ok(req) => http_api::handle(sim, &req),
                Err(resp) => resp,
            };
        }
    }
    let req = match Req::read(request, conn).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if req.path == "/_sim" || req.path.starts_with("/_sim/") {
        return control::handle(sim, &req);
    }
    let found = server(&req.host).and_then(|host| {
        let (name, wanted) = endpoint(&req.path)?;
        served_by(name, wanted, host).then_some((name, wanted))
    });
    let Some((name, srv)) = found else {
        tracing::debug!(host = %req.host, path = %req.path, "sim: 404");
        return http::status_page(StatusCode::NOT_FOUND);
    };
    tracing::debug!(host = %req.host, endpoint = name, method = %req.method, "sim: request");
    if sim.config.retire_http && matches!(srv, Server::S | Server::D) && req.scheme == "http" {
        return http::json(json!({"retcode": 50}));
    }
    let fault = faults::take(&mut sim.state().faults, name);
    if let Some(f) = fault {
        tracing::info!(endpoint = name, action = ?f.action, "sim: injecting fault");
        if f.deliver {
            // Run the endpoint for its effect (e.g. the message is
            // delivered), then answer with the fault anyway.
            let _ = handle(sim, name, &req).await;
        }
        return fault_response(sim, name, &f.action, &req);
    }
    handle(sim, name, &req).await
}

async fn handle(sim: &Arc<Sim>, name: &str, req: &Req) -> Response {
    match name {
        "login" | "xlogin" => ptlogin::login_page(sim, req),
        "ptqrshow" => ptlogin::ptqrshow(sim, req),
        "ptqrlogin" => ptlogin::ptqrlogin(sim, req),
        "check_sig" => ptlogin::check_sig(sim, req),
        "logout" => ptlogin::logout(sim, req),
        "proxy.html" => pages::proxy(req),
        "pingd" => pages::pingd(),
        "getvfwebqq" => api::getvfwebqq(sim, req),
        "get_user_friends2" => api::get_user_friends2(sim, req),
        "get_group_name_list_mask2" => api::get_group_name_list_mask2(sim, req),
        "get_discus_list" => api::get_discus_list(sim, req),
        "get_self_info2" => api::get_self_info2(sim, req),
        "get_friend_info2" => api::get_friend_info2(sim, req),
        "get_single_long_nick2" => api::get_single_long_nick2(sim, req),
        "get_group_info_ext2" => api::get_group_info_ext2(sim, req),
        "get_friend_uin2" => api::get_friend_uin2(sim, req),
        "login2" => channel::login2(sim, req),
        "poll2" => poll::poll2(sim, req).await,
        "get_online_buddies2" => channel::get_online_buddies2(sim, req),
        "get_recent_list2" => channel::get_recent_list2(sim, req),
        "get_discu_info" => channel::get_discu_info(sim, req),
        "change_status2" => channel::change_status2(sim, req),
        "send_buddy_msg2" | "send_qun_msg2" | "send_discu_msg2" => send::send(sim, name, req),
        _ => http::status_page(StatusCode::NOT_FOUND),
    }
}

fn fault_response(sim: &Sim, name: &str, action: &FaultAction, req: &Req) -> Response {
    match action {
        FaultAction::Reset | FaultAction::NoAnswer => {
            if let Some(c) = &req.conn {
                c.kill();
            }
            http::status_page(StatusCode::INTERNAL_SERVER_ERROR)
        }
        FaultAction::HttpStatus(s) => {
            http::status_page(StatusCode::from_u16(*s).unwrap_or(StatusCode::BAD_GATEWAY))
        }
        FaultAction::Malformed => {
            let body = if name == "poll2" {
                r#"{"result":[{"poll_type":"message","value":{"content":[["font",{"#
            } else {
                r#"{"retcode":0,"result":{"#
            };
            let mut resp = http::json(Value::Null);
            *resp.body_mut() = body.into();
            resp
        }
        FaultAction::Retcode(116) if name == "poll2" => {
            let p = hex(64);
            if let Some(l) = sim.state().login.as_mut() {
                l.old_ptwebqq = Some(std::mem::replace(&mut l.ptwebqq, p.clone()));
            }
            http::json(json!({"retcode": 116, "p": p}))
        }
        FaultAction::Retcode(code @ (120 | 121)) if name == "poll2" => {
            // The channel connection is gone: the session stays refused
            // until login2 relinks it (or a new login replaces it).
            if let Some(s) = sim.state().login.as_mut().and_then(|l| l.session.as_mut()) {
                s.lost = true;
            }
            sim.wake_polls();
            if *code == 121 {
                http::json(json!({"retcode": 121, "t": "0"}))
            } else {
                retcode(120)
            }
        }
        FaultAction::Retcode(121) => http::json(json!({"retcode": 121, "t": "0"})),
        FaultAction::Retcode(103) => error_103(),
        FaultAction::Retcode(r) => retcode(*r),
    }
}

pub(crate) use crate::answers::{
    bad_credentials, error_103, malformed_request, no_referer, retcode,
};

/// The live, check_sig-ed login whose getvfwebqq value is `vfwebqq`.
pub(crate) fn login_by_vfwebqq<'a>(
    st: &'a crate::state::State,
    vfwebqq: &str,
) -> Option<&'a crate::state::Login> {
    st.live_login()
        .filter(|l| l.checked && !vfwebqq.is_empty() && l.vfwebqq == vfwebqq)
}

/// The live, check_sig-ed login whose `skey` the request carries.
pub(crate) fn login_by_cookie<'a>(
    st: &'a crate::state::State,
    req: &Req,
) -> Option<&'a crate::state::Login> {
    st.live_login()
        .filter(|l| l.checked && req.cookies("skey").any(|s| s == l.skey))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::ENDPOINTS;

    #[test]
    fn routing_table() {
        assert_eq!(endpoint("/channel/poll2"), Some(("poll2", Server::D)));
        assert_eq!(endpoint("/api/getvfwebqq"), Some(("getvfwebqq", Server::S)));
        assert_eq!(endpoint("/api/nope"), None);
        assert_eq!(endpoint("/api/poll2"), None);
        for e in S_API.iter().chain(D_CHANNEL) {
            assert!(ENDPOINTS.contains(e), "{e}");
        }
        assert_eq!(server("d.web2.qq.com"), Some(Server::D));
        assert_eq!(server("127.0.0.1"), Some(Server::Any));
        assert_eq!(server("example.com"), None);
        assert!(served_by("proxy.html", Server::W, Server::D));
        assert!(!served_by("poll2", Server::D, Server::S));
    }
}
