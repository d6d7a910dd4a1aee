//! ptlogin: the login page, `ptqrshow`, `ptqrlogin`, `check_sig`, logout
//! (§2.1–§2.5).
//!
//! A QR code moves 66 → 67 → 0 one step per `ptqrlogin` poll at most, so a
//! client always sees every state once, whatever the auto-confirm delay.
//! The check_sig URL and its redirect keep the scheme and port the client
//! used, so a client that reaches the simulator as
//! `http://ssl.ptlogin2.qq.com:PORT` is sent to
//! `http://ptlogin4.web2.qq.com:PORT/check_sig?...`, and one behind a TLS
//! proxy (`X-Original-Scheme: https`) to `https://ptlogin4.web2.qq.com/...`.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use wasmqq_wire::consts::{APP_ID, DAID};
use wasmqq_wire::hash::hash33;
use wasmqq_wire::ptuicb::PtuiCb;

use crate::cookies::{self, o_uin};
use crate::http::{self, Req, num};
use crate::ids::Ids;
use crate::qr;
use crate::state::{Login, Qr, QrStage, Sim, alnum, hex, ptui_number, qrsig_token};

/// The default `s_url` (where check_sig redirects).
const DEFAULT_S_URL: &str = "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10";

/// `GET ui.ptlogin2.qq.com/cgi-bin/login` and `xui…/cgi-bin/xlogin`: the
/// login iframe page, with the values YZ scrapes and the `pt_login_sig`
/// cookie MW reads.
pub(crate) fn login_page(_sim: &Arc<Sim>, _req: &Req) -> Response {
    let sig = format!("{}-{}", alnum(32), alnum(31));
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>QQ帐号安全登录</title>\n\
         <script>var g_login_sig=encodeURIComponent(\"{sig}\");\n\
         var g_pt_version=encodeURIComponent(\"10233\");\n\
         var g_mibao_css=encodeURIComponent(\"m_webqq\");</script></head>\n\
         <body><form><input type=\"hidden\" name=\"aid\" value=\"{APP_ID}\" />\n\
         <input type=\"hidden\" name=\"daid\" value=\"{DAID}\" /></form></body></html>\n"
    );
    let cookies = [
        cookies::set("pt_login_sig", &sig, "ptlogin2.qq.com"),
        cookies::set("pt_clientip", &alnum(12), "ptlogin2.qq.com"),
        cookies::set("pt_serverip", &alnum(16), "ptlogin2.qq.com"),
        cookies::set("pt_local_token", &num_token(), "ptlogin2.qq.com"),
    ];
    http::with_cookies(http::html(body), &cookies)
}

fn num_token() -> String {
    ptui_number().to_string()
}

/// `GET ssl.ptlogin2.qq.com/ptqrshow`: a new QR code (PNG) and its `qrsig`
/// cookie. Every call issues a new code; the decoration parameters are
/// ignored.
pub(crate) fn ptqrshow(sim: &Arc<Sim>, _req: &Req) -> Response {
    let qrsig = qrsig_token();
    let data = format!(
        "http://txz.qq.com/p?k={}&f={APP_ID}",
        &qrsig[..32].replace(['*', '-'], "x")
    );
    let Some(png) = qr::png(&data) else {
        return http::status_page(StatusCode::INTERNAL_SERVER_ERROR);
    };
    {
        let mut st = sim.state();
        let keep = sim.config.qr_expiry * 2;
        st.qrs.retain(|_, q| q.created.elapsed() < keep);
        st.qrs.insert(
            qrsig.clone(),
            Qr {
                created: Instant::now(),
                stage: QrStage::Waiting,
                reported_waiting: false,
                scan: false,
                confirm: false,
                polls: 0,
            },
        );
        st.last_qr = Some(qrsig.clone());
    }
    tracing::info!("sim: QR code issued");
    http::with_cookies(
        http::png(png),
        &[cookies::set("qrsig", &qrsig, "ptlogin2.qq.com")],
    )
}

/// `GET ssl.ptlogin2.qq.com/ptqrlogin`: the QR state as `ptuiCB(...)`.
///
/// The `qrsig` cookie must hash (hash33) to `ptqrtoken`; anything else,
/// including QB's fake first call, answers 65 like an expired code.
pub(crate) fn ptqrlogin(sim: &Arc<Sim>, req: &Req) -> Response {
    let token = num(req.query("ptqrtoken"));
    let mut st = sim.state();
    let qrsig = req
        .cookies("qrsig")
        .find(|c| token == Some(u64::from(hash33(c))) && st.qrs.contains_key(*c))
        .map(str::to_string);
    let expired = || http::javascript(PtuiCb::expired(ptui_number()).to_string());
    let Some(qrsig) = qrsig else {
        return expired();
    };
    let Some(qr) = st.qrs.get_mut(&qrsig) else {
        return expired();
    };
    qr.polls += 1;
    let age = qr.created.elapsed();
    if qr.stage == QrStage::Done || age >= sim.config.qr_expiry {
        return expired();
    }
    let auto = sim.config.qr_auto_confirm;
    match qr.stage {
        QrStage::Waiting => {
            let scanned = qr.scan || qr.confirm || auto.is_some_and(|d| age >= d / 2);
            if qr.reported_waiting && scanned {
                qr.stage = QrStage::Scanned;
                tracing::info!("sim: QR code scanned");
                http::javascript(PtuiCb::scanned(ptui_number()).to_string())
            } else {
                qr.reported_waiting = true;
                http::javascript(PtuiCb::waiting(ptui_number()).to_string())
            }
        }
        QrStage::Scanned if !(qr.confirm || auto.is_some_and(|d| age >= d)) => {
            http::javascript(PtuiCb::scanned(ptui_number()).to_string())
        }
        _ => {
            qr.stage = QrStage::Done;
            let pop = &sim.config.population;
            let qq = pop.bot.qq;
            let s_url = req
                .query("u1")
                .filter(|u| u.starts_with("http"))
                .unwrap_or(DEFAULT_S_URL)
                .to_string();
            let ptsigx = hex(128);
            let skey = format!("@{}", alnum(9));
            st.logins += 1;
            let login = Login {
                serial: st.logins,
                skey: skey.clone(),
                ptsigx: ptsigx.clone(),
                s_url: s_url.clone(),
                checked: false,
                ptwebqq: if sim.config.empty_ptwebqq {
                    String::new()
                } else {
                    hex(64)
                },
                old_ptwebqq: None,
                vfwebqq: hex(80),
                ids: Ids::allocate(pop),
                session: None,
                death: None,
                status: "online".into(),
            };
            // A new login replaces the old one (and its session).
            st.login = Some(login);
            drop(st);
            sim.wake_polls();
            tracing::info!(qq, "sim: QR login confirmed");
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let url = format!(
                "{}/check_sig?pttype=1&uin={qq}&service=ptqrlogin&nodirect=0&ptsigx={ptsigx}\
                 &s_url={}&f_url=&ptlang=2052&ptredirect=100&aid={APP_ID}&daid={DAID}&j_later=0\
                 &low_login_hour=0&regmaster=0&pt_login_type=3&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=0",
                req.origin_for("ptlogin4.web2.qq.com"),
                enc(&s_url),
            );
            let nick = &pop.bot.nick;
            let nick_hex: String = nick.bytes().map(|b| format!("{b:02x}")).collect();
            let cookies = [
                cookies::set("uin", &o_uin(qq), "qq.com"),
                cookies::set("skey", &skey, "qq.com"),
                cookies::set("pt2gguin", &o_uin(qq), "qq.com"),
                cookies::set("RK", &alnum(10), "qq.com"),
                cookies::set("ptcz", &hex(64), "qq.com"),
                cookies::set("ptisp", "ctc", "qq.com"),
                cookies::set("superuin", &o_uin(qq), "ptlogin2.qq.com"),
                cookies::set("superkey", &alnum(43), "ptlogin2.qq.com"),
                cookies::set("supertoken", &ptui_number().to_string(), "ptlogin2.qq.com"),
                cookies::set("pt_recent_uins", &hex(96), "ptlogin2.qq.com"),
                cookies::set(&format!("ptnick_{qq}"), &nick_hex, "ptlogin2.qq.com"),
            ];
            http::with_cookies(
                http::javascript(PtuiCb::success(url, nick.clone()).to_string()),
                &cookies,
            )
        }
    }
}

/// `GET ptlogin4.web2.qq.com/check_sig`: sets `ptwebqq`, `p_skey`,
/// `p_uin`, `pt4_token` and redirects (302) to `s_url`.
pub(crate) fn check_sig(sim: &Arc<Sim>, req: &Req) -> Response {
    let ptsigx = req.query("ptsigx").unwrap_or_default();
    let mut st = sim.state();
    let Some(login) = st
        .login
        .as_mut()
        .filter(|l| l.death.is_none() && !ptsigx.is_empty() && l.ptsigx == ptsigx)
    else {
        tracing::info!("sim: check_sig with an unknown ptsigx");
        return http::status_page(StatusCode::FORBIDDEN);
    };
    login.checked = true;
    let qq = sim.config.population.bot.qq;
    let (ptwebqq, s_url) = (login.ptwebqq.clone(), login.s_url.clone());
    drop(st);
    let (p_skey, pt4) = (format!("{}_", alnum(43)), alnum(43));
    let mut cookies = vec![cookies::set("ptwebqq", &ptwebqq, "qq.com")];
    for domain in ["web2.qq.com", "w.qq.com"] {
        cookies.push(cookies::set("p_skey", &p_skey, domain));
        cookies.push(cookies::set("p_uin", &o_uin(qq), domain));
        cookies.push(cookies::set("pt4_token", &pt4, domain));
    }
    let location = keep_port(&s_url, req);
    let mut resp = http::with_cookies(http::html(String::new()), &cookies);
    *resp.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    tracing::info!(qq, "sim: check_sig done");
    resp
}

/// Adds the client's port to a `qq.com` URL without one, so the redirect
/// stays on the simulator.
fn keep_port(s_url: &str, req: &Req) -> String {
    let Some(port) = req.port else {
        return s_url.to_string();
    };
    match url::Url::parse(s_url) {
        Ok(mut u)
            if u.port().is_none()
                && u.host_str()
                    .is_some_and(|h| h == "qq.com" || h.ends_with(".qq.com")) =>
        {
            let _ = u.set_port(Some(port));
            u.to_string()
        }
        _ => s_url.to_string(),
    }
}

/// `GET ptlogin2.qq.com/logout`: ends the login (MW's logout).
pub(crate) fn logout(sim: &Arc<Sim>, _req: &Req) -> Response {
    if let Some(l) = sim.state().login.as_mut()
        && l.death.is_none()
    {
        l.death = Some(crate::state::Death::LoggedOut);
        tracing::info!("sim: logged out");
    }
    sim.wake_polls();
    http::javascript("ptuiCB('0','0','','0','', '');\r\n".into())
}
