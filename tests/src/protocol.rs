//! For the simulator's tests: start a simulator with test timings, a
//! reqwest client that resolves every WebQQ host to it (with a cookie jar),
//! and the full login flow, step by step as a SmartQQ client makes it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, HeaderValue, REFERER};
use serde_json::{Value, json};
use wasmqq_sim::{SimConfig, SimHandle};
use wasmqq_wire::consts::{CLIENT_ID, HOSTS, REFERER_D, REFERER_S};
use wasmqq_wire::hash::{hash33, list_hash};

pub use crate::population::*;

/// Test timings: 200 ms poll hold, instant QR confirmation.
pub fn config() -> SimConfig {
    SimConfig {
        poll_hold: Duration::from_millis(200),
        qr_auto_confirm: Some(Duration::ZERO),
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> SimHandle {
    wasmqq_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// A client of the simulator, like a real SmartQQ client would be.
pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub port: u16,
}

impl Client {
    pub fn new(sim: &SimHandle) -> Client {
        let jar = Arc::new(Jar::default());
        let mut b = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent("Mozilla/5.0 (test)");
        for host in HOSTS {
            b = b.resolve(host, sim.addr());
        }
        Client {
            http: b.build().unwrap(),
            jar,
            port: sim.addr().port(),
        }
    }

    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// The value of cookie `name` as sent to `host`.
    pub fn cookie(&self, host: &str, name: &str) -> Option<String> {
        let url = self.url(host, "/").parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    /// GET with a Referer, answer as (status, text).
    pub async fn get(&self, host: &str, path: &str, referer: Option<&str>) -> (u16, String) {
        let mut rb = self.http.get(self.url(host, path));
        if let Some(r) = referer {
            rb = rb.header(REFERER, r);
        }
        let resp = rb.send().await.expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// GET expecting JSON.
    pub async fn get_json(&self, host: &str, path: &str, referer: &str) -> Value {
        let (status, text) = self.get(host, path, Some(referer)).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// POST `r=<json>` as a form, answer as (status, text).
    pub async fn post_r_raw(
        &self,
        host: &str,
        path: &str,
        r: &Value,
        referer: &str,
    ) -> (u16, String) {
        let mut headers = HeaderMap::new();
        headers.insert(REFERER, HeaderValue::from_str(referer).unwrap());
        let resp = self
            .http
            .post(self.url(host, path))
            .headers(headers)
            .form(&[("r", r.to_string())])
            .send()
            .await
            .expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// POST `r=<json>` expecting JSON.
    pub async fn post_r(&self, host: &str, path: &str, r: &Value, referer: &str) -> Value {
        let (status, text) = self.post_r_raw(host, path, r, referer).await;
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
    }

    /// Control API POST (any host).
    pub async fn control(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url("127.0.0.1", path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Control API GET.
    pub async fn control_get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(self.url("127.0.0.1", path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.unwrap()
    }
}

/// What a client holds after a full login.
#[derive(Debug, Clone)]
pub struct Session {
    pub ptwebqq: String,
    pub vfwebqq: String,
    pub psessionid: String,
    pub uin: u64,
    pub hash: String,
}

/// ptqrlogin with the right ptqrtoken; returns the body.
pub async fn ptqrlogin(c: &Client) -> String {
    let qrsig = c
        .cookie("ssl.ptlogin2.qq.com", "qrsig")
        .expect("qrsig cookie");
    let path = format!(
        "/ptqrlogin?ptqrtoken={}&webqq_type=10&remember_uin=1&login2qq=1&aid=501004106&u1=http%3A%2F%2Fw.qq.com%2Fproxy.html%3Flogin2qq%3D1%26webqq_type%3D10&ptredirect=0&ptlang=2052&daid=164&from_ui=1&pttype=1&dumy=&fp=loginerroralert&action=0-0-1234&mibao_css=m_webqq&t=undefined&g=1&js_type=0&js_ver=10141&login_sig=&pt_randsalt=0",
        hash33(&qrsig)
    );
    let (status, body) = c
        .get(
            "ssl.ptlogin2.qq.com",
            &path,
            Some("https://ui.ptlogin2.qq.com/cgi-bin/login"),
        )
        .await;
    assert_eq!(status, 200);
    body
}

/// Steps 1–3: QR code until ptuiCB 0, then check_sig. Returns the check_sig
/// URL.
pub async fn qr_login(c: &Client) -> String {
    let (status, _) = c
        .get(
            "ssl.ptlogin2.qq.com",
            "/ptqrshow?appid=501004106&e=0&l=M&s=5&d=72&v=4&t=0.5",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut url = None;
    for _ in 0..20 {
        let body = ptqrlogin(c).await;
        let cb = wasmqq_wire::ptuicb::PtuiCb::parse(&body).unwrap();
        if cb.code == "0" {
            url = Some(cb.url);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = url.expect("QR login confirmed");
    let resp = c.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "check_sig redirects");
    url
}

/// Steps 4–6: getvfwebqq, login2, get_online_buddies2 (activation).
pub async fn open_session(c: &Client) -> Session {
    let ptwebqq = c
        .cookie("s.web2.qq.com", "ptwebqq")
        .expect("ptwebqq cookie");
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!("/api/getvfwebqq?ptwebqq={ptwebqq}&clientid={CLIENT_ID}&psessionid=&t=0.1"),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 0, "{v}");
    let vfwebqq = v["result"]["vfwebqq"].as_str().unwrap().to_string();
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/login2",
            &json!({"ptwebqq": ptwebqq, "clientid": CLIENT_ID, "psessionid": "", "status": "online"}),
            REFERER_D,
        )
        .await;
    assert_eq!(v["retcode"], 0, "{v}");
    let psessionid = v["result"]["psessionid"].as_str().unwrap().to_string();
    let uin = v["result"]["uin"].as_u64().unwrap();
    let v = c
        .get_json(
            "d1.web2.qq.com",
            &format!("/channel/get_online_buddies2?vfwebqq={vfwebqq}&clientid={CLIENT_ID}&psessionid={psessionid}&t=1"),
            REFERER_D,
        )
        .await;
    assert_eq!(v["retcode"], 0, "{v}");
    Session {
        hash: list_hash(uin, &ptwebqq),
        ptwebqq,
        vfwebqq,
        psessionid,
        uin,
    }
}

/// The whole login: QR, check_sig, vfwebqq, login2, activation.
pub async fn login(c: &Client) -> Session {
    qr_login(c).await;
    open_session(c).await
}

/// One poll2 request, answer as JSON (panics on non-JSON).
pub async fn poll(c: &Client, s: &Session) -> Value {
    c.post_r(
        "d1.web2.qq.com",
        "/channel/poll2",
        &json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "key": ""}),
        REFERER_D,
    )
    .await
}

/// The group list of the session: (gid, code, name).
pub async fn groups(c: &Client, s: &Session) -> Vec<(u64, u64, String)> {
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_group_name_list_mask2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            REFERER_D,
        )
        .await;
    v["result"]["gnamelist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["gid"].as_u64().unwrap(),
                g["code"].as_u64().unwrap(),
                g["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Friend uin by nick.
pub async fn friend_uin(c: &Client, s: &Session, nick: &str) -> u64 {
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            REFERER_S,
        )
        .await;
    v["result"]["info"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["nick"] == nick)
        .and_then(|i| i["uin"].as_u64())
        .unwrap_or_else(|| panic!("no friend {nick}: {v}"))
}

/// Inject a message through the control API.
pub async fn inject(c: &Client, body: Value) -> u64 {
    let (status, v) = c.control("/_sim/messages", &body).await;
    assert_eq!(status, 200, "{v}");
    v["msg_id"].as_u64().unwrap()
}
