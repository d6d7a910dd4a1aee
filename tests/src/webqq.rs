//! Shared helpers for the client's tests against the in-process simulator:
//! start a simulator with fast timings, drive its control API, build a
//! client configuration pointing at it, and wait for events.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmqq_sim::{SimConfig, SimHandle};
use wasmqq_webqq::{ChatRef, Client, ClientConfig, Event, Events, LoginStatus, Message, Observer};

pub use crate::control::SimControl;
pub use crate::population::*;
pub use crate::wait::WAIT;

/// A running simulator plus a scratch directory; its control API's
/// methods (`say`, `fault`, `sent_values`, …) are the simulator's.
pub struct Sim {
    pub handle: SimHandle,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    control: SimControl,
}

impl std::ops::Deref for Sim {
    type Target = SimControl;

    fn deref(&self) -> &SimControl {
        &self.control
    }
}

/// Simulator settings for fast tests: short poll hold, quick QR confirm.
pub fn fast_sim_config() -> SimConfig {
    SimConfig {
        poll_hold: Duration::from_millis(500),
        qr_auto_confirm: Some(Duration::from_millis(200)),
        ..SimConfig::default()
    }
}

impl Sim {
    /// Starts a simulator with [`fast_sim_config`].
    pub async fn start() -> Sim {
        Sim::with(fast_sim_config()).await
    }

    /// Starts a simulator with `config` on an ephemeral loopback port.
    pub async fn with(config: SimConfig) -> Sim {
        crate::logs::to_test_output();
        let handle = wasmqq_sim::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let addr = handle.addr();
        Sim {
            handle,
            addr,
            dir: tempfile::tempdir().unwrap(),
            control: SimControl::new(addr),
        }
    }

    /// A client configuration pointing at this simulator, with fast timings
    /// and the session file and QR PNG in the scratch directory.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            server: Some(self.addr),
            session_file: Some(self.dir.path().join("session.json")),
            qr_png_path: self.dir.path().join("qr.png"),
            qr_poll_interval: Duration::from_millis(50),
            qr_max_codes: Some(5),
            send_interval: Duration::from_millis(100),
            send_retries: 3,
            poll_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(3),
            backoff_base: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            contacts_refresh_interval: Duration::ZERO,
            ..ClientConfig::default()
        }
    }
}

/// An observer that records every status, for assertions.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<LoginStatus>>>);

impl Recorder {
    pub fn observer(&self) -> Observer {
        let log = self.0.clone();
        Observer::new(move |s| log.lock().unwrap().push(s.clone()))
    }

    pub fn statuses(&self) -> Vec<LoginStatus> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, f: impl Fn(&LoginStatus) -> bool) -> usize {
        self.statuses().iter().filter(|s| f(s)).count()
    }

    pub fn qr_codes(&self) -> usize {
        self.count(|s| matches!(s, LoginStatus::QrCode { .. }))
    }
}

/// A connected client with its events and status recorder.
pub struct Bot {
    pub client: Client,
    pub events: Events,
    pub recorder: Recorder,
}

/// Connects a client to `sim` with `config`.
pub async fn connect_with(config: ClientConfig) -> Bot {
    let recorder = Recorder::default();
    let client = tokio::time::timeout(WAIT, Client::connect(config, recorder.observer()))
        .await
        .expect("connect in time")
        .expect("connect");
    let events = client.events().expect("events taken once");
    Bot {
        client,
        events,
        recorder,
    }
}

/// Connects a client to `sim` with its default test configuration.
pub async fn connect(sim: &Sim) -> Bot {
    connect_with(sim.client_config()).await
}

impl Bot {
    /// The next event, failing the test after [`WAIT`].
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("an event in time")
            .expect("event stream open")
    }

    /// The next chat message, skipping other events (returned too).
    pub async fn next_message(&mut self) -> (Message, Vec<Event>) {
        let mut others = Vec::new();
        loop {
            match self.next_event().await {
                Event::Message(m) => return (m, others),
                e => others.push(e),
            }
        }
    }

    /// The session-local chat of a friend (by nick), group or discussion
    /// (by name), from the contacts.
    pub fn friend(&self, nick: &str) -> ChatRef {
        let book = self.client.contacts();
        let f = book
            .friends
            .values()
            .find(|f| f.nick == nick)
            .unwrap_or_else(|| panic!("no friend {nick}: {book:?}"));
        ChatRef::friend(f.uin)
    }

    pub fn group(&self, name: &str) -> ChatRef {
        let book = self.client.contacts();
        let g = book
            .groups
            .values()
            .find(|g| g.name == name)
            .unwrap_or_else(|| panic!("no group {name}: {book:?}"));
        ChatRef::group(g.gid)
    }

    pub fn discussion(&self, name: &str) -> ChatRef {
        let book = self.client.contacts();
        let d = book
            .discussions
            .values()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no discussion {name}: {book:?}"));
        ChatRef::discussion(d.did)
    }
}
