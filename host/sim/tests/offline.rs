//! `Offline`: the simulator's router without a socket, as the
//! `sim_requests` fuzz target drives it — cookies kept by hand, the QR login
//! walked to the check_sig redirect.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use wasmqq_sim::{Offline, SimConfig};
use wasmqq_wire::hash::hash33;
use wasmqq_wire::ptuicb::PtuiCb;

async fn get(sim: &Offline, host: &str, path: &str, cookie: &str) -> (u16, Vec<String>, String) {
    let mut req = Request::builder().uri(path).header(header::HOST, host);
    if !cookie.is_empty() {
        req = req.header(header::COOKIE, cookie);
    }
    let resp = sim.handle(req.body(Body::empty()).unwrap()).await;
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, cookies, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn offline_serves_the_qr_login_to_check_sig() {
    let sim = Offline::new(SimConfig {
        qr_auto_confirm: Some(Duration::ZERO),
        ..SimConfig::default()
    });
    let (status, cookies, _) = get(&sim, "ssl.ptlogin2.qq.com", "/ptqrshow", "").await;
    assert_eq!(status, 200);
    let qrsig = cookies
        .iter()
        .find_map(|c| c.strip_prefix("qrsig="))
        .expect("qrsig cookie")
        .to_string();
    let path = format!("/ptqrlogin?ptqrtoken={}", hash33(&qrsig));
    let cookie = format!("qrsig={qrsig}");
    let mut codes = Vec::new();
    let mut url = String::new();
    for _ in 0..3 {
        let (_, _, body) = get(&sim, "ssl.ptlogin2.qq.com", &path, &cookie).await;
        let cb = PtuiCb::parse(&body).unwrap();
        assert_eq!(cb.to_string(), body);
        codes.push(cb.code.clone());
        url = cb.url;
    }
    assert_eq!(codes, ["66", "67", "0"]);
    let rest = url.split_once("://").unwrap().1;
    let check_sig = &rest[rest.find('/').unwrap()..];
    let (status, cookies, _) = get(&sim, "ptlogin4.web2.qq.com", check_sig, "").await;
    assert_eq!(status, 302);
    assert!(
        cookies.iter().any(|c| c.starts_with("ptwebqq=")),
        "{cookies:?}"
    );
    // A path the simulator does not serve is nginx's 404.
    assert_eq!(get(&sim, "w.qq.com", "/nope", "").await.0, 404);
}
