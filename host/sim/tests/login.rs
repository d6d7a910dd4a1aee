//! Login flow (§2): ptlogin page, ptqrshow, ptqrlogin, check_sig,
//! getvfwebqq, login2 — through real HTTP on loopback.

use std::time::Duration;

use serde_json::json;
use wasmqq_sim::SimConfig;
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D, REFERER_S};

#[tokio::test]
async fn ptqrshow_serves_a_png_and_the_qrsig_cookie_on_ptlogin2() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let resp = c
        .http
        .get(c.url(
            "ssl.ptlogin2.qq.com",
            "/ptqrshow?appid=501004106&e=2&l=M&s=3&d=72&v=4&t=0.1&daid=164&pt_3rd_aid=0",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("qrsig="), "{set_cookie}");
    assert!(
        set_cookie.contains("Domain=ptlogin2.qq.com"),
        "{set_cookie}"
    );
    let png = resp.bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let qrsig = c.cookie("ssl.ptlogin2.qq.com", "qrsig").unwrap();
    assert_eq!(qrsig.len(), 64);
    assert!(
        qrsig
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '*' || ch == '-')
    );
    // A second ptqrshow issues a new qrsig.
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    assert_ne!(c.cookie("ssl.ptlogin2.qq.com", "qrsig").unwrap(), qrsig);
    sim.shutdown().await;
}

#[tokio::test]
async fn ptqrlogin_goes_66_67_0_with_exact_text_and_cookies() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    let first = ptqrlogin(&c).await;
    assert!(
        first.starts_with("ptuiCB('66','0','','0','二维码未失效。("),
        "{first}"
    );
    assert!(first.ends_with(")', '');\r\n"), "{first:?}");
    let second = ptqrlogin(&c).await;
    assert!(
        second.starts_with("ptuiCB('67','0','','0','二维码认证中。("),
        "{second}"
    );
    let resp = c
        .http
        .get(c.url("ssl.ptlogin2.qq.com", &format!("/ptqrlogin?ptqrtoken={}&u1=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10", wasmqq_wire::hash::hash33(&c.cookie("ssl.ptlogin2.qq.com", "qrsig").unwrap()))))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let third = resp.text().await.unwrap();
    let port = c.port;
    assert!(
        third.starts_with(&format!("ptuiCB('0','0','http://ptlogin4.web2.qq.com:{port}/check_sig?pttype=1&uin={BOT}&service=ptqrlogin&nodirect=0&ptsigx=")),
        "{third}"
    );
    assert!(
        third.ends_with("','0','登录成功！', 'wasmqq');\r\n"),
        "{third:?}"
    );
    assert!(
        third.contains(
            "&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&"
        )
    );
    for (name, domain) in [
        ("uin", "qq.com"),
        ("skey", "qq.com"),
        ("superuin", "ptlogin2.qq.com"),
        ("superkey", "ptlogin2.qq.com"),
        ("supertoken", "ptlogin2.qq.com"),
        ("pt2gguin", "qq.com"),
    ] {
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(&format!("{name}="))
                    && c.ends_with(&format!("Domain={domain}"))),
            "{name} on {domain}: {cookies:?}"
        );
    }
    assert_eq!(c.cookie("w.qq.com", "uin").unwrap(), format!("o{BOT:010}"));
    assert_eq!(
        c.cookie("ssl.ptlogin2.qq.com", "superuin").unwrap(),
        format!("o{BOT:010}")
    );
    let skey = c.cookie("d1.web2.qq.com", "skey").unwrap();
    assert!(skey.starts_with('@') && skey.len() == 10, "{skey}");
    // superuin is not sent outside ptlogin2.qq.com.
    assert_eq!(c.cookie("d1.web2.qq.com", "superuin"), None);
    // The code is used up.
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('65',"));
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_token_and_qb_fake_qrsig_answer_65() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    // QB's first call: a fake qrsig nobody issued.
    let fake = "hJ9GvNx*oIvLjP5I5dQ19KPa3zwxNI62eALLO*g2JLbKPYsZIRsnbJIxNe74NzQQ";
    let resp = c
        .http
        .get(c.url(
            "ssl.ptlogin2.qq.com",
            "/ptqrlogin?ptqrtoken=1178303247&webqq_type=10",
        ))
        .header("Cookie", format!("qrsig={fake}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    assert!(
        body.starts_with("ptuiCB('65','0','','0','二维码已失效。("),
        "{body}"
    );
    // A real qrsig with the wrong token.
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    let (_, body) = c
        .get("ssl.ptlogin2.qq.com", "/ptqrlogin?ptqrtoken=12345", None)
        .await;
    assert!(body.starts_with("ptuiCB('65',"), "{body}");
    // No ptqrtoken at all (SJ's malformed query still carries it; this does not).
    let (_, body) = c
        .get("ssl.ptlogin2.qq.com", "/ptqrlogin?&0-0-157510&", None)
        .await;
    assert!(body.starts_with("ptuiCB('65',"), "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn qr_code_expires_with_65() {
    let sim = start(SimConfig {
        qr_auto_confirm: None,
        qr_expiry: Duration::from_millis(300),
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('66',"));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        ptqrlogin(&c)
            .await
            .starts_with("ptuiCB('65','0','','0','二维码已失效。(")
    );
    assert_eq!(sim.state().qr, "expired");
    // Confirming an expired code is refused.
    let (status, v) = c.control("/_sim/qr/confirm", &json!({})).await;
    assert_eq!(status, 409, "{v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn manual_confirmation_through_the_control_api() {
    let sim = start(SimConfig {
        qr_auto_confirm: None,
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let (status, v) = c.control("/_sim/qr/confirm", &json!({})).await;
    assert_eq!(status, 409, "no QR yet: {v}");
    assert!(v["error"].as_str().unwrap().contains("QR"));
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    for _ in 0..3 {
        assert!(
            ptqrlogin(&c).await.starts_with("ptuiCB('66',"),
            "held without confirmation"
        );
    }
    assert_eq!(c.control("/_sim/qr/scan", &json!({})).await.0, 200);
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('67',"));
    assert!(
        ptqrlogin(&c).await.starts_with("ptuiCB('67',"),
        "scanned, not confirmed"
    );
    assert_eq!(sim.state().qr, "scanned");
    assert_eq!(c.control("/_sim/qr/confirm", &json!({})).await.0, 200);
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('0',"));
    assert_eq!(sim.state().qr, "confirmed");
    assert_eq!(sim.state().logins, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn auto_confirm_delay_is_respected() {
    let sim = start(SimConfig {
        qr_auto_confirm: Some(Duration::from_millis(400)),
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('66',"));
    assert!(
        ptqrlogin(&c).await.starts_with("ptuiCB('66',"),
        "not scanned before d/2"
    );
    tokio::time::sleep(Duration::from_millis(220)).await;
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('67',"));
    tokio::time::sleep(Duration::from_millis(220)).await;
    assert!(ptqrlogin(&c).await.starts_with("ptuiCB('0',"));
    sim.shutdown().await;
}

#[tokio::test]
async fn check_sig_redirects_and_sets_session_cookies() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    ptqrlogin(&c).await;
    ptqrlogin(&c).await;
    let cb = wasmqq_wire::ptuicb::PtuiCb::parse(&ptqrlogin(&c).await).unwrap();
    assert_eq!(cb.code, "0");
    assert_eq!(cb.nick, "wasmqq");
    let resp = c.http.get(&cb.url).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(
        resp.headers()["location"],
        format!(
            "http://w.qq.com:{}/proxy.html?login2qq=1&webqq_type=10",
            c.port
        )
        .as_str()
    );
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    for (name, domain) in [
        ("ptwebqq", "qq.com"),
        ("p_skey", "web2.qq.com"),
        ("p_uin", "web2.qq.com"),
        ("pt4_token", "web2.qq.com"),
        ("p_skey", "w.qq.com"),
    ] {
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(&format!("{name}="))
                    && c.ends_with(&format!("Domain={domain}"))),
            "{name} on {domain}: {cookies:?}"
        );
    }
    let ptwebqq = c.cookie("s.web2.qq.com", "ptwebqq").unwrap();
    assert_eq!(ptwebqq.len(), 64);
    assert!(ptwebqq.chars().all(|ch| ch.is_ascii_hexdigit()));
    // Following the redirect lands on the proxy page.
    let (status, body) = c
        .get("w.qq.com", "/proxy.html?login2qq=1&webqq_type=10", None)
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("document.domain"));
    // A forged ptsigx is refused.
    let (status, _) = c
        .get("ptlogin4.web2.qq.com", "/check_sig?ptsigx=00", None)
        .await;
    assert_eq!(status, 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn https_behind_a_proxy_gets_https_urls_and_empty_ptwebqq_mode() {
    let sim = start(SimConfig {
        empty_ptwebqq: true,
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await;
    ptqrlogin(&c).await;
    ptqrlogin(&c).await;
    let qrsig = c.cookie("ssl.ptlogin2.qq.com", "qrsig").unwrap();
    // A TLS-terminating proxy forwards with X-Original-Scheme and no port.
    let body = c
        .http
        .get(c.url(
            "ssl.ptlogin2.qq.com",
            &format!("/ptqrlogin?ptqrtoken={}", wasmqq_wire::hash::hash33(&qrsig)),
        ))
        .header("X-Original-Scheme", "https")
        .header("Host", "ssl.ptlogin2.qq.com")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.starts_with("ptuiCB('0','0','https://ptlogin4.web2.qq.com/check_sig?"),
        "{body}"
    );
    let url = wasmqq_wire::ptuicb::PtuiCb::parse(&body).unwrap().url;
    let local = url.replace(
        "https://ptlogin4.web2.qq.com",
        &c.url("ptlogin4.web2.qq.com", ""),
    );
    let resp = c.http.get(&local).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    // The cookie exists but is empty (late 2017 behaviour); login continues with "".
    assert!(
        resp.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap() == "ptwebqq=; Path=/; Domain=qq.com")
    );
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!("/api/getvfwebqq?ptwebqq=&clientid={CLIENT_ID}psessionid=&t=0.1"),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 0, "PSC's malformed query works: {v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn getvfwebqq_needs_referer_cookies_and_ptwebqq() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    qr_login(&c).await;
    let ptwebqq = c.cookie("s.web2.qq.com", "ptwebqq").unwrap();
    let path = format!("/api/getvfwebqq?ptwebqq={ptwebqq}&clientid=53999199&psessionid=&t=0.1");
    let (status, body) = c.get("s.web2.qq.com", &path, None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"retcode":100000}"#));
    let (_, body) = c
        .get("s.web2.qq.com", &path, Some("http://example.com/"))
        .await;
    assert_eq!(body, r#"{"retcode":100000}"#);
    // Sticky QB-style Referer (the d1 one) is fine.
    let v = c.get_json("s.web2.qq.com", &path, REFERER_D).await;
    let vf = v["result"]["vfwebqq"].as_str().unwrap();
    assert_eq!(vf.len(), 80);
    assert_eq!(v["retcode"], 0);
    let v = c
        .get_json(
            "s.web2.qq.com",
            "/api/getvfwebqq?ptwebqq=wrong&clientid=53999199&psessionid=&t=1",
            REFERER_S,
        )
        .await;
    assert_eq!(v, json!({"retcode": 100001, "errmsg": "error!!!"}));
    // Without cookies (a fresh client) the same ptwebqq is refused.
    let stranger = Client::new(&sim);
    let v = stranger.get_json("s.web2.qq.com", &path, REFERER_S).await;
    assert_eq!(v["retcode"], 100001);
    sim.shutdown().await;
}

#[tokio::test]
async fn login2_answers_the_real_shape_and_relinks() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    qr_login(&c).await;
    let ptwebqq = c.cookie("d1.web2.qq.com", "ptwebqq").unwrap();
    let r = json!({"ptwebqq": ptwebqq, "clientid": 53999199, "psessionid": "", "status": "online"});
    let v = c
        .post_r("d1.web2.qq.com", "/channel/login2", &r, REFERER_D)
        .await;
    assert_eq!(v["retcode"], 0);
    let res = &v["result"];
    assert_eq!(res["uin"], BOT, "login2 uin is the real QQ");
    assert_eq!(res["status"], "online");
    for k in ["cip", "f", "index", "port", "user_state"] {
        assert!(res[k].is_u64(), "{k}: {v}");
    }
    let psid = res["psessionid"].as_str().unwrap().to_string();
    assert!(psid.starts_with("8368046764") && psid.ends_with(res["vfwebqq"].as_str().unwrap()));
    // Relink with the current psessionid keeps the session.
    let r2 = json!({"ptwebqq": ptwebqq, "clientid": "53999199", "psessionid": psid, "status": "online", "key": ""});
    let v2 = c
        .post_r("d1.web2.qq.com", "/channel/login2", &r2, REFERER_D)
        .await;
    assert_eq!(v2["result"]["psessionid"], psid.as_str());
    // Wrong ptwebqq, no Referer, garbage r.
    let bad =
        json!({"ptwebqq": "nope", "clientid": 53999199, "psessionid": "", "status": "online"});
    let v = c
        .post_r("d1.web2.qq.com", "/channel/login2", &bad, REFERER_D)
        .await;
    assert_eq!(v["retcode"], 100001);
    let (_, body) = c
        .post_r_raw("d1.web2.qq.com", "/channel/login2", &r, "")
        .await;
    assert_eq!(body, r#"{"retcode":100000}"#);
    let resp = c
        .http
        .post(c.url("d1.web2.qq.com", "/channel/login2"))
        .header("Referer", REFERER_D)
        .form(&[("r", "{not json")])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["retcode"], 100006);
    // A new login2 (empty psessionid) opens a new, non-activated session.
    let v3 = c
        .post_r("d1.web2.qq.com", "/channel/login2", &r, REFERER_D)
        .await;
    assert_ne!(v3["result"]["psessionid"], psid.as_str());
    assert!(!sim.state().session.unwrap().activated);
    sim.shutdown().await;
}

#[tokio::test]
async fn login_page_proxy_pages_pingd_and_host_routing() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let resp = c
        .http
        .get(c.url(
            "xui.ptlogin2.qq.com",
            "/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&appid=501004106",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    assert!(body.contains(r#"<input type="hidden" name="aid" value="501004106" />"#));
    assert!(body.contains("g_login_sig=encodeURIComponent(\""));
    assert!(c.cookie("ssl.ptlogin2.qq.com", "pt_login_sig").is_some());
    assert_eq!(
        c.get("ui.ptlogin2.qq.com", "/cgi-bin/login?appid=501004106", None)
            .await
            .0,
        200
    );
    for host in ["w.qq.com", "s.web2.qq.com", "d1.web2.qq.com"] {
        assert_eq!(
            c.get(host, "/proxy.html?v=20151105001&callback=1&id=2", None)
                .await
                .0,
            200,
            "{host}"
        );
    }
    assert_eq!(
        c.get("pinghot.qq.com", "/pingd?dm=w.qq.com.hot&url=/", None)
            .await
            .0,
        200
    );
    // Right path, wrong host: nginx 404.
    let (status, body) = c.get("s.web2.qq.com", "/channel/poll2", None).await;
    assert_eq!(status, 404);
    assert!(body.contains("404 Not Found"));
    assert_eq!(c.get("d1.web2.qq.com", "/ptqrshow", None).await.0, 404);
    assert_eq!(
        c.get("d1.web2.qq.com", "/api/getvfwebqq", None).await.0,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_new_login_gets_new_pseudonyms_and_ends_the_old_session() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s1 = login(&c).await;
    let alice1 = friend_uin(&c, &s1, "Alice").await;
    let g1 = groups(&c, &s1).await;
    let s2 = login(&c).await;
    assert_eq!(sim.state().logins, 2);
    let alice2 = friend_uin(&c, &s2, "Alice").await;
    assert_ne!(alice1, alice2);
    assert_ne!(g1, groups(&c, &s2).await);
    // The old session's vfwebqq and psessionid are dead.
    let v = poll(&c, &s1).await;
    assert_eq!(v["retcode"], 103);
    assert_ne!(s1.vfwebqq, s2.vfwebqq);
    sim.shutdown().await;
}
