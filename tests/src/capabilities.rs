//! Support for the capability tests: a host whose every capability has a
//! backend (SQLite storage and timers in a given file, a channel outbox,
//! fixed contacts, HTTP), a local HTTP server, and log capture.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::mpsc;

use wasmqq::abi::HostError;
use wasmqq::abi::{Action, Chat, ChatKind, Segment};
use wasmqq::capabilities::contacts::contact;
use wasmqq::capabilities::{
    Contact, ContactDirectory, HttpFetcher, HttpLimits, Outbound, contacts::unknown_chat,
};
use wasmqq::capabilities::{Grants, Services};
use wasmqq::runtime::{Call, Limits, PluginHandle, Runtime, RuntimeConfig};
use wasmqq::store::Store;
use wasmqq::timers::{DueTimer, TimerLimits, TimerService};

use crate::{command, test_limits, wasm};

/// A host with every capability backed, its database in one file.
pub struct CapsHost {
    /// The runtime, its services wired to the backends below.
    pub runtime: Arc<Runtime>,
    /// The database.
    pub store: Store,
    /// The timer service (not started: see [`CapsHost::start_timers`]).
    pub timers: TimerService,
    /// Stops the timer task [`CapsHost::start_timers`] started, when the
    /// host is dropped.
    timer_stop: wasmqq_shutdown::Signal,
    /// Messages plugins sent through `messaging.send`.
    pub sent: mpsc::UnboundedReceiver<Sent>,
}

/// HTTP limits for tests: small bodies, 2 s.
pub fn http_limits() -> HttpLimits {
    HttpLimits {
        timeout_ms: 2_000,
        max_response_bytes: 64 << 10,
        max_request_bytes: 1 << 10,
        max_redirects: 3,
    }
}

/// The fixed contacts of [`CapsHost`]: friends 1 Alice and 2 Bob, group 100
/// "Rustaceans" with members 1 and 3.
pub fn contacts() -> StaticContacts {
    let mut c = StaticContacts {
        friends: vec![contact(1, "Alice"), contact(2, "Bob")],
        chats: vec![contact(100, "Rustaceans")],
        ..StaticContacts::default()
    };
    c.members.insert(
        Chat {
            kind: ChatKind::Group,
            id: 100,
        },
        vec![contact(1, "Alice"), contact(3, "Carol")],
    );
    c
}

impl CapsHost {
    /// Open (or create) the database at `db` and build the runtime.
    pub fn open(db: &Path) -> CapsHost {
        let timers = TimerLimits {
            retry_after_ms: 200,
            ..TimerLimits::default()
        };
        CapsHost::open_with(db, test_limits(), timers)
    }

    /// Like [`CapsHost::open`] with other plugin and timer limits.
    pub fn open_with(db: &Path, limits: Limits, timer_limits: TimerLimits) -> CapsHost {
        let store = Store::open(db).expect("open the database");
        let mut services = Services {
            kv: Some(Arc::new(
                wasmqq::capabilities::kv::SqliteKv::new(&store).expect("kv"),
            )),
            timers: Some(TimerService::open(&store, timer_limits).expect("timers")),
            ..Services::default()
        };
        let (outbound, sent) = ChannelOutbound::new();
        services.outbound = Some(Arc::new(outbound));
        services.contacts = Some(Arc::new(contacts()));
        services.http = Some(HttpFetcher::new(http_limits()).expect("http client"));
        let timers = services.timers.clone().expect("timer service");
        let runtime = Runtime::new(RuntimeConfig {
            limits,
            cache_dir: None,
            services,
        })
        .expect("runtime");
        CapsHost {
            runtime,
            store,
            timers,
            timer_stop: wasmqq_shutdown::Signal::new(),
            sent,
        }
    }

    /// Start a built plugin or fixture with `grants`.
    pub async fn start(&self, name: &str, grants: Grants) -> PluginHandle {
        self.runtime
            .start(wasm(name), grants, "{}")
            .await
            .expect("plugin starts")
    }

    /// Start firing timers; due ones arrive on the returned receiver.
    pub fn start_timers(&self) -> mpsc::Receiver<DueTimer> {
        let (tx, rx) = mpsc::channel(16);
        self.timers.start(tx, self.timer_stop.listener());
        rx
    }
}

/// The text of a call's actions, segments joined (`@id` for mentions).
pub fn text_of(actions: &[Action]) -> String {
    let segs = |s: &[Segment]| {
        s.iter()
            .map(|s| match s {
                Segment::Text(t) => t.clone(),
                Segment::Face(f) => format!("[face {f}]"),
                Segment::Mention(id) => format!("@{id}"),
            })
            .collect::<String>()
    };
    actions
        .iter()
        .map(|a| match a {
            Action::Reply(s) => segs(s),
            Action::Send(o) => segs(&o.segments),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run a command on a plugin and return its reply text.
pub async fn say(plugin: &PluginHandle, name: &str, args: &str) -> String {
    let actions = plugin
        .call(Call::Command(command(name, args)))
        .await
        .unwrap_or_else(|e| panic!("{name} {args}: {e}"));
    text_of(&actions)
}

/// Wait up to `secs` for the next due timer.
pub async fn next_timer(rx: &mut mpsc::Receiver<DueTimer>, secs: u64) -> DueTimer {
    tokio::time::timeout(Duration::from_secs(secs), rx.recv())
        .await
        .expect("a timer fires in time")
        .expect("timer channel open")
}

/// The pages of the test HTTP server.
pub const PAGE_TITLE: &str = "Hello &amp; welcome to the test server";

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html")],
        format!("<html><head><title>{PAGE_TITLE}</title></head><body>hi</body></html>"),
    )
}

/// Serve on `127.0.0.1`, an ephemeral port: `/page` (HTML with a title),
/// `/big` (200 KiB), `/to-page` (302 to `/page`), `/to-localhost` (302 to
/// the same server as `localhost`), `/to-elsewhere` (302 to
/// `http://elsewhere.invalid/`), `/loop` (302 to itself), `/slow` (answers
/// after 5 s). The server stops with the test's runtime.
pub async fn http_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let port = addr.port();
    let redirect =
        |to: String| move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) };
    let app = Router::new()
        .route("/page", get(page))
        .route("/big", get(|| async { "x".repeat(200 << 10) }))
        .route("/to-page", get(redirect("/page".into())))
        .route(
            "/to-localhost",
            get(redirect(format!("http://localhost:{port}/page"))),
        )
        .route(
            "/to-elsewhere",
            get(redirect("http://elsewhere.invalid/page".into())),
        )
        .route("/loop", get(redirect("/loop".into())))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub use crate::logs::{Captured as Logs, capture_logs, capture_logs_at};

/// A message queued by [`ChannelOutbound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The plugin that sent it.
    pub plugin: String,
    /// Where it goes.
    pub chat: Chat,
    /// What it says.
    pub segments: Vec<Segment>,
}

/// An [`Outbound`] that puts every message on an unbounded channel. Sending
/// fails with `unavailable` once the receiver is gone.
#[derive(Debug, Clone)]
pub struct ChannelOutbound {
    tx: mpsc::UnboundedSender<Sent>,
}

impl ChannelOutbound {
    /// The outbound and the receiving end of its channel.
    pub fn new() -> (ChannelOutbound, mpsc::UnboundedReceiver<Sent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelOutbound { tx }, rx)
    }
}

impl Outbound for ChannelOutbound {
    fn send(&self, plugin: &str, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError> {
        self.tx
            .send(Sent {
                plugin: plugin.to_string(),
                chat,
                segments,
            })
            .map_err(|_| HostError::Unavailable("the outbox is stopped".into()))
    }
}

/// A [`ContactDirectory`] with fixed contents.
#[derive(Debug, Clone, Default)]
pub struct StaticContacts {
    /// Answer of `friends`.
    pub friends: Vec<Contact>,
    /// Answer of `chats`.
    pub chats: Vec<Contact>,
    /// Answer of `members`, per group or discussion.
    pub members: std::collections::HashMap<Chat, Vec<Contact>>,
}

impl ContactDirectory for StaticContacts {
    fn friends(&self) -> Result<Vec<Contact>, HostError> {
        Ok(self.friends.clone())
    }

    fn chats(&self) -> Result<Vec<Contact>, HostError> {
        Ok(self.chats.clone())
    }

    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        self.members
            .get(&chat)
            .cloned()
            .ok_or_else(|| unknown_chat(chat))
    }
}
