//! The simulator's request parsing and routing (host/sim/src: `http::Req`,
//! `routes`, `control`), through `wasmqq_sim::Offline` — the same router
//! the listening simulator serves, without a socket.
//!
//! One input is a short session of requests. The harness plays a minimal
//! client so the fuzzer gets past the login: it keeps the cookies the
//! simulator sets, can add `ptqrtoken = hash33(qrsig)`, follow the last
//! check_sig URL, and substitutes `$vf`, `$ps`, `$pt` in queries and bodies
//! with the last `vfwebqq`, `psessionid` and `ptwebqq` seen.
//!
//! Beyond "no panic": a JSON answer is JSON (unless a `malformed` fault
//! was armed through the control API), a JavaScript answer is a `ptuiCB`
//! the client's parser accepts, and every answer is final within the
//! simulated poll hold (tokio's clock is paused, so a held poll2 costs no
//! real time).
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{Request, header};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wasmqq_sim::{Offline, SimConfig};
use wasmqq_wire::ptuicb::PtuiCb;

const HOSTS: &[&str] = &[
    "ui.ptlogin2.qq.com",
    "xui.ptlogin2.qq.com",
    "ssl.ptlogin2.qq.com",
    "ptlogin2.qq.com",
    "ptlogin4.web2.qq.com",
    "w.qq.com",
    "s.web2.qq.com",
    "d1.web2.qq.com",
    "pinghot.qq.com",
    "127.0.0.1:8080",
];

const PATHS: &[&str] = &[
    "/cgi-bin/login",
    "/cgi-bin/xlogin",
    "/ptqrshow",
    "/ptqrlogin",
    "/check_sig",
    "/logout",
    "/proxy.html",
    "/pingd",
    "/api/getvfwebqq",
    "/api/get_user_friends2",
    "/api/get_group_name_list_mask2",
    "/api/get_discus_list",
    "/api/get_self_info2",
    "/api/get_friend_info2",
    "/api/get_single_long_nick2",
    "/api/get_group_info_ext2",
    "/api/get_friend_uin2",
    "/channel/login2",
    "/channel/poll2",
    "/channel/get_online_buddies2",
    "/channel/get_recent_list2",
    "/channel/get_discu_info",
    "/channel/change_status2",
    "/channel/send_buddy_msg2",
    "/channel/send_qun_msg2",
    "/channel/send_discu_msg2",
    "/_sim/messages",
    "/_sim/sent",
    "/_sim/population",
    "/_sim/state",
    "/_sim/faults",
    "/_sim/qr/confirm",
    "/_sim/qr/scan",
];

#[derive(Arbitrary, Debug)]
enum Host {
    Known(u8),
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Path {
    Known(u8),
    /// The path and query of the last check_sig URL.
    FollowCheckSig,
    Other(String),
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: u8,
    host: Host,
    path: Path,
    query: String,
    add_ptqrtoken: bool,
    send_cookies: bool,
    extra_cookie: Option<String>,
    form: bool,
    referer: bool,
    https: bool,
    body: String,
}

/// What the harness remembers between requests, as a client would.
#[derive(Default)]
struct Client {
    cookies: BTreeMap<String, String>,
    check_sig: Option<String>,
    vfwebqq: String,
    psessionid: String,
    malformed_armed: bool,
}

impl Client {
    fn fill(&self, s: &str) -> String {
        s.replace("$vf", &self.vfwebqq)
            .replace("$ps", &self.psessionid)
            .replace(
                "$pt",
                self.cookies.get("ptwebqq").map_or("", String::as_str),
            )
    }

    fn learn(&mut self, v: &Value) {
        if let Some(r) = v.get("result") {
            if let Some(s) = r.get("vfwebqq").and_then(Value::as_str) {
                self.vfwebqq = s.to_string();
            }
            if let Some(s) = r.get("psessionid").and_then(Value::as_str) {
                self.psessionid = s.to_string();
            }
        }
    }
}

fn config() -> &'static SimConfig {
    static CONFIG: OnceLock<SimConfig> = OnceLock::new();
    CONFIG.get_or_init(|| SimConfig {
        poll_hold: Duration::from_secs(1),
        qr_auto_confirm: Some(Duration::ZERO),
        ..SimConfig::default()
    })
}

async fn session(reqs: Vec<Req>) {
    let sim = Offline::new(config().clone());
    let mut client = Client::default();
    for r in reqs.into_iter().take(8) {
        let host = match &r.host {
            Host::Known(i) => HOSTS[usize::from(*i) % HOSTS.len()].to_string(),
            Host::Other(h) => h.clone(),
        };
        let mut target = match &r.path {
            Path::Known(i) => PATHS[usize::from(*i) % PATHS.len()].to_string(),
            Path::FollowCheckSig => match &client.check_sig {
                Some(u) => u.clone(),
                None => "/check_sig".into(),
            },
            Path::Other(p) => p.clone(),
        };
        let mut query = client.fill(&r.query);
        if r.add_ptqrtoken
            && let Some(sig) = client.cookies.get("qrsig")
        {
            let t = wasmqq_wire::hash::hash33(sig);
            query = format!("ptqrtoken={t}&{query}");
        }
        if !query.is_empty() {
            target.push(if target.contains('?') { '&' } else { '?' });
            target.push_str(&query);
        }
        let method = match r.method % 4 {
            0 => "GET",
            1 => "POST",
            2 => "DELETE",
            _ => "PUT",
        };
        let mut b = Request::builder().method(method).uri(target.as_str());
        b = b.header(header::HOST, host.as_str());
        if r.referer {
            b = b.header(
                header::REFERER,
                "https://d1.web2.qq.com/cfproxy.html?v=20151105001&callback=1",
            );
        }
        if r.https {
            b = b.header("x-original-scheme", "https");
        }
        if r.form {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        } else {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        let mut cookie: Vec<String> = Vec::new();
        if r.send_cookies {
            cookie.extend(client.cookies.iter().map(|(k, v)| format!("{k}={v}")));
        }
        if let Some(c) = &r.extra_cookie {
            cookie.push(c.clone());
        }
        if !cookie.is_empty() {
            b = b.header(header::COOKIE, cookie.join("; "));
        }
        let body = client.fill(&r.body);
        if target.starts_with("/_sim/faults") && body.contains("malformed") {
            client.malformed_armed = true;
        }
        // Requests the http crate itself refuses never reach the simulator.
        let Ok(request) = b.body(Body::from(body)) else {
            continue;
        };
        let response = tokio::time::timeout(Duration::from_secs(120), sim.handle(request))
            .await
            .expect("every answer comes within the poll hold");
        let (parts, body) = response.into_parts();
        for v in parts.headers.get_all(header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                client
                    .cookies
                    .insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("in-memory body");
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => client.learn(&v),
                Err(e) => assert!(client.malformed_armed, "JSON answer is not JSON: {e}"),
            }
        }
        if content_type.starts_with("application/javascript") {
            let text = std::str::from_utf8(&bytes).expect("ptuiCB is UTF-8");
            let cb = PtuiCb::parse(text).expect("the simulator's ptuiCB parses");
            assert_eq!(
                cb.to_string(),
                text,
                "the simulator writes the exact layout"
            );
            if cb.code == "0" {
                // Keep only the path and query: the host goes in Host.
                let rest = cb.url.split_once("://").map_or("", |(_, r)| r);
                client.check_sig = rest.find('/').map(|i| rest[i..].to_string());
            }
        }
    }
}

fuzz_target!(|reqs: Vec<Req>| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    rt.block_on(session(reqs));
});
