//! A small fake OneBot v11 implementation for the integration tests,
//! written from the standard: a forward WebSocket server (`/`, `/api`,
//! `/event`), a reverse WebSocket dialler, and an HTTP API server with an
//! HTTP POST event sender. Shared helpers (events with a timeout, the
//! standard's example events) live here too.

// tungstenite's handshake `Callback` fixes the (large) error type.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use wasmqq_onebot::{Event, Events};

use crate::wait::WAIT;

pub const TOKEN: &str = "kSLuTF2GC2Q4q4ugm3";

pub use crate::logs::to_test_output as init_tracing;

/// A port free a moment ago on 127.0.0.1.
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// The next event, failing the test after [`WAIT`].
pub async fn next_event(events: &mut Events) -> Event {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("events not ended")
}

/// The next event that is not a meta event.
pub async fn next_non_meta(events: &mut Events) -> Event {
    loop {
        match next_event(events).await {
            Event::Meta(_) => continue,
            e => return e,
        }
    }
}

/// The account the fake holds.
pub struct Account {
    pub self_id: u64,
    /// Every request: (action, params, path or peer it arrived on).
    pub requests: Mutex<Vec<(String, Value, String)>>,
    next_message_id: AtomicI64,
}

impl Account {
    pub fn new(self_id: u64) -> Arc<Account> {
        Arc::new(Account {
            self_id,
            requests: Mutex::new(Vec::new()),
            next_message_id: AtomicI64::new(1000),
        })
    }

    pub fn requests_of(&self, action: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _, _)| a == action)
            .map(|(_, p, _)| p.clone())
            .collect()
    }

    /// The response (without echo) to `action`, as an implementation
    /// would give it. `echo_test` returns its params after `delay_ms`.
    pub fn answer(&self, action: &str, params: &Value, via: &str) -> (Value, u64) {
        self.requests
            .lock()
            .unwrap()
            .push((action.to_string(), params.clone(), via.to_string()));
        let ok = |data: Value| json!({"status": "ok", "retcode": 0, "data": data});
        let r = match action {
            "get_login_info" => {
                ok(json!({"user_id": self.self_id, "nickname": format!("bot{}", self.self_id)}))
            }
            "get_friend_list" => ok(json!([
                {"user_id": 42, "nickname": "alice", "remark": "A"},
                {"user_id": 43, "nickname": "bob", "remark": ""}
            ])),
            "get_group_list" => ok(
                json!([{"group_id": 123456, "group_name": "test group", "member_count": 2, "max_member_count": 200}]),
            ),
            "get_group_member_list" => ok(json!([
                {"group_id": 123456, "user_id": 42, "nickname": "alice", "card": "Al", "role": "owner"},
                {"group_id": 123456, "user_id": self.self_id, "nickname": "bot", "card": "", "role": "member"}
            ])),
            "send_private_msg" | "send_group_msg" | "send_msg" => {
                ok(json!({"message_id": self.next_message_id.fetch_add(1, Ordering::Relaxed)}))
            }
            "echo_test" => ok(params.clone()),
            "fail_test" => {
                json!({"status": "failed", "retcode": 100, "data": null, "wording": "nope"})
            }
            _ => json!({"status": "failed", "retcode": 1404, "data": null}),
        };
        let delay = params.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
        (r, delay)
    }
}

/// A command to one fake connection.
pub enum Cmd {
    Frame(String),
    Close,
}

/// The handle of one fake WebSocket connection.
#[derive(Clone)]
pub struct Peer {
    pub path: String,
    tx: mpsc::UnboundedSender<Cmd>,
}

impl Peer {
    pub fn push(&self, event: &Value) {
        let _ = self.tx.send(Cmd::Frame(event.to_string()));
    }
    pub fn push_raw(&self, text: &str) {
        let _ = self.tx.send(Cmd::Frame(text.to_string()));
    }
    pub fn close(&self) {
        let _ = self.tx.send(Cmd::Close);
    }
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Serves one WebSocket as the implementation: answers requests (after
/// their `delay_ms`, so answers can come out of order) and writes pushed
/// frames.
async fn serve<S>(ws: S, account: Arc<Account>, via: String, mut cmds: mpsc::UnboundedReceiver<Cmd>)
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
        + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let (answers_tx, mut answers) = mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(t))) => {
                    let Ok(req) = serde_json::from_str::<Value>(t.as_str()) else { continue };
                    let action = req["action"].as_str().unwrap_or_default().to_string();
                    let params = req.get("params").cloned().unwrap_or(json!({}));
                    let (mut resp, delay) = account.answer(&action, &params, &via);
                    if let Some(echo) = req.get("echo") {
                        resp["echo"] = echo.clone();
                    }
                    let tx = answers_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                        let _ = tx.send(resp.to_string());
                    });
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            Some(answer) = answers.recv() => {
                if sink.send(Message::text(answer)).await.is_err() { return }
            }
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Frame(f)) => { if sink.send(Message::text(f)).await.is_err() { return } }
                Some(Cmd::Close) | None => { let _ = sink.close().await; return }
            },
        }
    }
}

/// A fake implementation offering forward WebSocket (`ws.md`): `/`
/// (Universal), `/api`, `/event`.
pub struct ForwardServer {
    pub addr: SocketAddr,
    pub account: Arc<Account>,
    peers: Arc<Mutex<Vec<Peer>>>,
    pub accepted: Arc<AtomicUsize>,
    pub refused: Arc<Mutex<Vec<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ForwardServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ForwardServer {
    pub async fn start(self_id: u64, token: Option<&str>) -> ForwardServer {
        Self::start_with(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            self_id,
            token,
        )
    }

    /// A server without token on a chosen address.
    pub async fn start_on(addr: SocketAddr, self_id: u64) -> ForwardServer {
        Self::start_with(TcpListener::bind(addr).await.unwrap(), self_id, None)
    }

    fn start_with(tcp: TcpListener, self_id: u64, token: Option<&str>) -> ForwardServer {
        let addr = tcp.local_addr().unwrap();
        let account = Account::new(self_id);
        let peers: Arc<Mutex<Vec<Peer>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let refused: Arc<Mutex<Vec<u16>>> = Arc::default();
        let token = token.map(str::to_string);
        let (acc, p, a, r) = (
            account.clone(),
            peers.clone(),
            accepted.clone(),
            refused.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else {
                    continue;
                };
                let (acc, p, a, r, token) =
                    (acc.clone(), p.clone(), a.clone(), r.clone(), token.clone());
                tokio::spawn(async move {
                    let mut path = String::new();
                    let cb = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                        path = req.uri().path().to_string();
                        // authorization.md: no token → 401, wrong → 403.
                        if let Some(t) = &token {
                            let given = req
                                .headers()
                                .get("authorization")
                                .and_then(|v| v.to_str().ok());
                            let status = match given {
                                None => Some(401),
                                Some(g) if g != format!("Bearer {t}") => Some(403),
                                Some(_) => None,
                            };
                            if let Some(s) = status {
                                r.lock().unwrap().push(s);
                                let mut e = ErrorResponse::new(None);
                                *e.status_mut() = axum::http::StatusCode::from_u16(s).unwrap();
                                return Err(e);
                            }
                        }
                        Ok(resp)
                    };
                    let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, cb).await else {
                        return;
                    };
                    a.fetch_add(1, Ordering::SeqCst);
                    let (tx, rx) = mpsc::unbounded_channel();
                    p.lock().unwrap().push(Peer {
                        path: path.clone(),
                        tx,
                    });
                    serve(ws, acc, path, rx).await;
                });
            }
        });
        ForwardServer {
            addr,
            account,
            peers,
            accepted,
            refused,
            task,
        }
    }

    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("ws://{}{path}", self.addr)).unwrap()
    }

    /// Live connections on `path`.
    pub fn peers(&self, path: &str) -> Vec<Peer> {
        self.peers
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path == path && !p.is_closed())
            .cloned()
            .collect()
    }

    /// Pushes an event to every live connection serving events.
    pub fn push(&self, event: &Value) {
        for p in self
            .peers
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path != "/api")
        {
            p.push(event);
        }
    }

    pub fn push_raw(&self, text: &str) {
        for p in self
            .peers
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path != "/api")
        {
            p.push_raw(text);
        }
    }

    /// Closes every connection.
    pub fn drop_all(&self) {
        for p in self.peers.lock().unwrap().drain(..) {
            p.close();
        }
    }

    /// Waits until `n` connections have been accepted in all.
    pub async fn wait_accepted(&self, n: usize) {
        for _ in 0..500 {
            if self.accepted.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} connections not accepted within 5 s");
    }
}

/// Dials a reverse WebSocket listener as the implementation would
/// (`ws-reverse.md`). Returns the peer handle, or the HTTP status the
/// handshake was refused with.
pub async fn dial_reverse(
    url: &str,
    account: Arc<Account>,
    role: Option<&str>,
    token: Option<&str>,
) -> Result<Peer, u16> {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("x-self-id", account.self_id.to_string().parse().unwrap());
    if let Some(role) = role {
        req.headers_mut()
            .insert("x-client-role", role.parse().unwrap());
    }
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            return Err(resp.status().as_u16());
        }
        Err(e) => panic!("dial {url}: {e}"),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let path = url.to_string();
    tokio::spawn(serve(ws, account, path.clone(), rx));
    Ok(Peer { path, tx })
}

/// Dials until the listener is up (the client binds it inside `connect`).
pub async fn dial_reverse_retry(
    url: &str,
    account: Arc<Account>,
    role: Option<&str>,
    token: Option<&str>,
) -> Result<Peer, u16> {
    let host = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(&host).await.is_ok() {
            return dial_reverse(url, account, role, token).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("listener {host} not up within 5 s");
}

/// A fake HTTP API (`http.md`): `POST /:action` with JSON params; 401/403
/// for a missing/wrong token, 404 for an unknown action.
pub struct HttpServer {
    pub addr: SocketAddr,
    pub account: Arc<Account>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    pub async fn start(self_id: u64, token: Option<&str>) -> HttpServer {
        use axum::extract::{Path, State};
        use axum::http::{HeaderMap, StatusCode};
        use axum::response::IntoResponse;
        type St = (Arc<Account>, Option<String>);
        async fn handle(
            State((acc, token)): State<St>,
            Path(action): Path<String>,
            headers: HeaderMap,
            body: String,
        ) -> axum::response::Response {
            if let Some(t) = &token {
                match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                    None => return StatusCode::UNAUTHORIZED.into_response(),
                    Some(g) if g != format!("Bearer {t}") => {
                        return StatusCode::FORBIDDEN.into_response();
                    }
                    Some(_) => {}
                }
            }
            let Ok(params) = serde_json::from_str::<Value>(&body) else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let (resp, delay) = acc.answer(&action, &params, "http");
            tokio::time::sleep(Duration::from_millis(delay)).await;
            if resp["retcode"] == 1404 {
                return StatusCode::NOT_FOUND.into_response();
            }
            ([("content-type", "application/json")], resp.to_string()).into_response()
        }
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let account = Account::new(self_id);
        let router = axum::Router::new()
            .route("/{action}", axum::routing::post(handle))
            .with_state((account.clone(), token.map(str::to_string)));
        let task = tokio::spawn(async move {
            let _ = axum::serve(tcp, router).await;
        });
        HttpServer {
            addr,
            account,
            task,
        }
    }

    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr)).unwrap()
    }
}

/// Posts an event to a webhook as the implementation would
/// (`http-post.md`), signed with `secret` if given; the HTTP status.
pub async fn post_event(
    url: &str,
    self_id: u64,
    body: &str,
    secret: Option<&str>,
    token: Option<&str>,
) -> u16 {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("x-self-id", self_id.to_string())
        .body(body.to_string());
    if let Some(s) = secret {
        req = req.header(
            "x-signature",
            wasmqq_onebot::auth::signature(s, body.as_bytes()),
        );
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

/// The standard's private message example (`http-post.md`).
pub fn private_event(self_id: u64, text: &str) -> Value {
    json!({
        "time": 1515204254, "self_id": self_id, "post_type": "message",
        "message_type": "private", "sub_type": "friend", "message_id": 12,
        "user_id": 12345678, "message": text, "raw_message": text,
        "font": 456, "sender": {"nickname": "小不点", "sex": "male", "age": 18}
    })
}

/// A group message in array form.
pub fn group_event(self_id: u64, text: &str) -> Value {
    json!({
        "time": 1515204300, "self_id": self_id, "post_type": "message",
        "message_type": "group", "sub_type": "normal", "message_id": 34,
        "group_id": 123456, "user_id": 42, "anonymous": null,
        "message": [{"type": "at", "data": {"qq": self_id.to_string()}}, {"type": "text", "data": {"text": text}}],
        "raw_message": format!("[CQ:at,qq={self_id}]{text}"), "font": 0,
        "sender": {"user_id": 42, "nickname": "alice", "card": "Al", "role": "owner"}
    })
}

pub fn heartbeat(self_id: u64, interval_ms: u64) -> Value {
    json!({"time": 1, "self_id": self_id, "post_type": "meta_event", "meta_event_type": "heartbeat",
           "status": {"online": true, "good": true}, "interval": interval_ms})
}
