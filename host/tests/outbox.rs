//! The outbox: ordering, retries, give-up and restart with a scripted fake
//! deliverer, then the same promises through a real logged-in WebQQ client
//! against the in-process simulator (transient 502s, a restart after a full
//! re-login that changed every chat id).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmqq::outbox::{Deliver, Delivery, OutMessage, Outbox, OutboxConfig, OutboxError};
use wasmqq_sim::{FaultSpec, SimConfig, SimHandle};
use wasmqq_webqq::{ChatRef, Client, ClientConfig, Observer, Segment};

/// How long any wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

fn fast() -> OutboxConfig {
    OutboxConfig {
        max_attempts: 5,
        retry_base: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
        shutdown_grace: Duration::from_millis(200),
    }
}

fn text(msg: &OutMessage) -> String {
    wasmqq_webqq::content::plain_text(&msg.segments)
}

fn out(chat: ChatRef, s: &str) -> OutMessage {
    OutMessage::new(chat, vec![Segment::text(s)], "test")
}

/// A deliverer that records every attempt and answers from a per-text
/// script (default: delivered). With `hang`, texts starting with `hang`
/// never finish.
#[derive(Default)]
struct Fake {
    attempts: Mutex<Vec<(ChatRef, String, Instant)>>,
    delivered: Mutex<Vec<(ChatRef, String)>>,
    script: Mutex<HashMap<String, VecDeque<Delivery>>>,
    /// Answer every attempt with this instead (e.g. "the link is down").
    always: Mutex<Option<Delivery>>,
    jitter: bool,
    hang: bool,
}

impl Fake {
    fn script(&self, text: &str, verdicts: impl IntoIterator<Item = Delivery>) {
        self.script
            .lock()
            .unwrap()
            .insert(text.into(), verdicts.into_iter().collect());
    }

    fn delivered(&self) -> Vec<(ChatRef, String)> {
        self.delivered.lock().unwrap().clone()
    }

    fn delivered_to(&self, chat: ChatRef) -> Vec<String> {
        self.delivered()
            .into_iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t)
            .collect()
    }

    fn attempts_of(&self, t: &str) -> Vec<Instant> {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, x, _)| x == t)
            .map(|(_, _, at)| *at)
            .collect()
    }

    async fn wait_delivered(&self, n: usize) -> Vec<(ChatRef, String)> {
        let deadline = Instant::now() + WAIT;
        loop {
            let d = self.delivered();
            if d.len() >= n {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "only {} delivered: {d:?}",
                d.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn wait_attempts(&self, t: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.attempts_of(t).len() < n {
            assert!(Instant::now() < deadline, "{t}: fewer than {n} attempts");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Deliver for Fake {
    async fn deliver(&self, msg: &OutMessage) -> Delivery {
        let t = text(msg);
        self.attempts
            .lock()
            .unwrap()
            .push((msg.chat, t.clone(), Instant::now()));
        if self.jitter {
            let ms = rand_ms(&t);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.hang && t.starts_with("hang") {
            std::future::pending::<()>().await;
        }
        let always = self.always.lock().unwrap().clone();
        let verdict = always.unwrap_or_else(|| {
            self.script
                .lock()
                .unwrap()
                .get_mut(&t)
                .and_then(VecDeque::pop_front)
                .unwrap_or(Delivery::Delivered)
        });
        if verdict == Delivery::Delivered {
            self.delivered.lock().unwrap().push((msg.chat, t));
        }
        verdict
    }
}

/// Waits until `n` messages are pending (a row is deleted just after the
/// deliverer returns, so right after a delivery it may still count).
async fn wait_pending(outbox: &Outbox, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let pending = outbox.pending().unwrap();
        if pending == n {
            return;
        }
        assert!(Instant::now() < deadline, "{pending} pending, not {n}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A small deterministic per-text delay (0–4 ms) so chats interleave.
fn rand_ms(t: &str) -> u64 {
    t.bytes().map(u64::from).sum::<u64>() % 5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_chat_order_is_kept_across_interleaved_chats() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake {
        jitter: true,
        ..Fake::default()
    });
    let chats = [
        ChatRef::group(1),
        ChatRef::friend(2),
        ChatRef::discussion(3),
    ];
    // Some messages fail transiently first: order must hold across retries.
    fake.script("group:1 #3", [Delivery::Retry("502".into())]);
    fake.script(
        "friend:2 #0",
        [Delivery::Retry("502".into()), Delivery::Retry("502".into())],
    );
    let outbox = Outbox::open(&dir.path().join("outbox.db"), fake.clone(), fast()).unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        for chat in chats {
            ids.push(outbox.enqueue(out(chat, &format!("{chat} #{i}"))).unwrap());
        }
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "row ids grow: {ids:?}");
    fake.wait_delivered(30).await;
    for chat in chats {
        let expected: Vec<String> = (0..10).map(|i| format!("{chat} #{i}")).collect();
        assert_eq!(fake.delivered_to(chat), expected);
    }
    assert_eq!(fake.attempts_of("friend:2 #0").len(), 3);
    wait_pending(&outbox, 0).await;
    outbox.shutdown().await;
}

#[tokio::test]
async fn a_slow_chat_does_not_hold_up_others() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake {
        hang: true,
        ..Fake::default()
    });
    let outbox = Outbox::open(&dir.path().join("outbox.db"), fake.clone(), fast()).unwrap();
    let (slow, quick) = (ChatRef::group(1), ChatRef::group(2));
    outbox.enqueue(out(slow, "hang forever")).unwrap();
    outbox.enqueue(out(slow, "after the hang")).unwrap();
    for i in 0..3 {
        outbox.enqueue(out(quick, &format!("quick {i}"))).unwrap();
    }
    fake.wait_delivered(3).await;
    assert_eq!(fake.delivered_to(quick), ["quick 0", "quick 1", "quick 2"]);
    assert!(fake.delivered_to(slow).is_empty());
    assert_eq!(
        fake.attempts_of("after the hang").len(),
        0,
        "a chat's next message waits for the one before"
    );
    wait_pending(&outbox, 2).await;
    outbox.shutdown().await;
}

#[tokio::test]
async fn retries_back_off_then_give_up_and_the_chat_goes_on() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    let config = OutboxConfig {
        max_attempts: 4,
        retry_base: Duration::from_millis(40),
        retry_max: Duration::from_millis(100),
        ..fast()
    };
    let outbox = Outbox::open(&dir.path().join("outbox.db"), fake.clone(), config).unwrap();
    let chat = ChatRef::group(1);
    fake.script(
        "doomed",
        (0..10).map(|_| Delivery::Retry("HTTP 502".into())),
    );
    let doomed = outbox.enqueue(out(chat, "doomed")).unwrap();
    outbox.enqueue(out(chat, "next")).unwrap();
    fake.wait_delivered(1).await;
    assert_eq!(fake.delivered_to(chat), ["next"]);
    let at = fake.attempts_of("doomed");
    assert_eq!(at.len(), 4, "max_attempts");
    // Backoff after attempt n: 40·2^(n−1) ms capped at 100, times [0.5, 1].
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([20, 40, 50]) {
        assert!(*gap >= Duration::from_millis(min), "gaps {gaps:?}");
    }
    assert!(gaps[2] < Duration::from_millis(1000), "capped: {gaps:?}");
    let failed = outbox.failed(10).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, doomed);
    assert_eq!(failed[0].attempts, 4);
    assert_eq!(text(&failed[0].msg), "doomed");
    assert!(
        failed[0].reason.contains("HTTP 502") && failed[0].reason.contains("4 attempts"),
        "{}",
        failed[0].reason
    );
    wait_pending(&outbox, 0).await;
    outbox.shutdown().await;
}

#[tokio::test]
async fn a_permanent_failure_is_not_retried() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    let outbox = Outbox::open(&dir.path().join("outbox.db"), fake.clone(), fast()).unwrap();
    let chat = ChatRef::friend(1);
    fake.script("bad", [Delivery::Failed("no such endpoint".into())]);
    outbox.enqueue(out(chat, "bad")).unwrap();
    outbox.enqueue(out(chat, "good")).unwrap();
    fake.wait_delivered(1).await;
    assert_eq!(fake.attempts_of("bad").len(), 1);
    let failed = outbox.failed(10).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].reason, "no such endpoint");
    outbox.shutdown().await;
}

#[tokio::test]
async fn a_partial_delivery_resends_only_the_rest() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::default());
    let outbox = Outbox::open(&dir.path().join("outbox.db"), fake.clone(), fast()).unwrap();
    let chat = ChatRef::group(1);
    fake.script(
        "part one part two",
        [Delivery::Partial {
            remaining: vec![Segment::text("part two")],
            reason: "HTTP 502".into(),
        }],
    );
    outbox
        .enqueue(OutMessage::new(
            chat,
            vec![Segment::text("part one "), Segment::text("part two")],
            "test",
        ))
        .unwrap();
    fake.wait_delivered(1).await;
    assert_eq!(fake.delivered_to(chat), ["part two"]);
    wait_pending(&outbox, 0).await;
    outbox.shutdown().await;
}

#[tokio::test]
async fn bad_messages_are_refused_at_enqueue() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(
        &dir.path().join("outbox.db"),
        Arc::new(Fake::default()),
        fast(),
    )
    .unwrap();
    let e = outbox
        .enqueue(out(ChatRef::group(1), ""))
        .expect_err("empty");
    assert!(matches!(e, OutboxError::Empty { .. }), "{e}");
    let session = ChatRef {
        kind: wasmqq_webqq::ChatKind::Session,
        id: 5,
    };
    let e = outbox.enqueue(out(session, "hi")).expect_err("session");
    assert!(e.to_string().contains("session"), "{e}");
    wait_pending(&outbox, 0).await;
    outbox.shutdown().await;
}

/// Restart: messages queued while delivery fails, hangs, or the deliverer
/// is gone all go out once after a reopen with a working deliverer.
#[tokio::test]
async fn restart_delivers_each_undelivered_message_once() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let (failing, hanging, stopped) = (ChatRef::group(1), ChatRef::group(2), ChatRef::friend(3));
    let first = Arc::new(Fake {
        hang: true,
        ..Fake::default()
    });
    first.script("f0", (0..3).map(|_| Delivery::Retry("down".into())));
    first.script("s0", [Delivery::Stopped]);
    let config = OutboxConfig {
        retry_base: Duration::from_secs(30),
        retry_max: Duration::from_secs(30),
        ..fast()
    };
    let outbox = Outbox::open(&path, first.clone(), config).unwrap();
    for i in 0..3 {
        outbox.enqueue(out(failing, &format!("f{i}"))).unwrap();
        outbox.enqueue(out(hanging, &format!("hang{i}"))).unwrap();
        outbox.enqueue(out(stopped, &format!("s{i}"))).unwrap();
    }
    first.wait_attempts("f0", 1).await;
    first.wait_attempts("hang0", 1).await;
    first.wait_attempts("s0", 1).await;
    assert!(first.delivered().is_empty());
    let started = Instant::now();
    outbox.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a backing-off task stops at once, a hanging one after the grace"
    );
    // Enqueued after shutdown: stored, delivered at the next start.
    outbox.enqueue(out(stopped, "s3")).unwrap();
    assert_eq!(outbox.pending().unwrap(), 10);
    drop(outbox);

    let second = Arc::new(Fake::default());
    let outbox = Outbox::open(&path, second.clone(), fast()).unwrap();
    second.wait_delivered(10).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(second.delivered().len(), 10, "each once");
    assert_eq!(second.delivered_to(hanging), ["hang0", "hang1", "hang2"]);
    assert_eq!(second.delivered_to(failing), ["f0", "f1", "f2"]);
    assert_eq!(second.delivered_to(stopped), ["s0", "s1", "s2", "s3"]);
    wait_pending(&outbox, 0).await;
    outbox.shutdown().await;
}

/// Panics on its first attempt at each text starting with `boom`.
#[derive(Default)]
struct PanicsOnce {
    tried: Mutex<Vec<String>>,
    delivered: Mutex<Vec<String>>,
}

impl Deliver for PanicsOnce {
    async fn deliver(&self, msg: &OutMessage) -> Delivery {
        let t = text(msg);
        let first = {
            let mut tried = self.tried.lock().unwrap();
            let first = !tried.contains(&t);
            tried.push(t.clone());
            first
        };
        if first && t.starts_with("boom") {
            panic!("a bug in the deliverer");
        }
        self.delivered.lock().unwrap().push(t);
        Delivery::Delivered
    }
}

#[tokio::test]
async fn a_panicking_deliverer_costs_one_attempt_not_the_chat() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let deliver = Arc::new(PanicsOnce::default());
    let outbox = Outbox::open(&dir.path().join("outbox.db"), deliver.clone(), fast()).unwrap();
    let chat = ChatRef::group(1);
    for t in ["boom 1", "after", "boom 2"] {
        outbox.enqueue(out(chat, t)).unwrap();
    }
    wait_pending(&outbox, 0).await;
    assert_eq!(
        *deliver.delivered.lock().unwrap(),
        ["boom 1", "after", "boom 2"]
    );
    assert_eq!(
        *deliver.tried.lock().unwrap(),
        ["boom 1", "boom 1", "after", "boom 2", "boom 2"]
    );
    outbox.shutdown().await;
}

#[tokio::test]
async fn the_journal_knows_a_message_seen_before_across_restarts_until_pruned() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let fake = Arc::new(Fake::default());
    let outbox = Outbox::open(&path, fake.clone(), fast()).unwrap();
    let first = outbox.journal("main/group:dev|1|100", "{}").unwrap();
    assert!(first.is_some());
    assert_eq!(outbox.journal("main/group:dev|1|100", "{}").unwrap(), None);
    let pending = outbox
        .journal("main/group:dev|2|100", "{\"n\":2}")
        .unwrap()
        .unwrap();
    outbox.journal_done(first.unwrap()).unwrap();
    outbox.shutdown().await;
    drop(outbox);

    let outbox = Outbox::open(&path, fake.clone(), fast()).unwrap();
    assert!(outbox.journaled("main/group:dev|1|100").unwrap());
    assert!(!outbox.journaled("main/group:dev|1|101").unwrap());
    assert_eq!(outbox.journal("main/group:dev|1|100", "{}").unwrap(), None);
    assert_eq!(outbox.journal("main/group:dev|2|100", "{}").unwrap(), None);
    let unfinished = outbox.unfinished().unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(
        (unfinished[0].seq, unfinished[0].payload.as_str()),
        (pending, "{\"n\":2}")
    );
    // The newest KEEP_DONE done entries are kept; older ones are pruned
    // (every 1024th entry), and then a message is new again. The
    // unfinished one is never pruned.
    let mut last = 0;
    for n in 0..(wasmqq::outbox::journal::KEEP_DONE as usize + 2048) {
        let seq = outbox
            .journal(&format!("main/friend:alice|{n}|200"), "{}")
            .unwrap()
            .unwrap();
        outbox.journal_done(seq).unwrap();
        last = seq;
    }
    assert!(last > pending);
    assert!(!outbox.journaled("main/group:dev|1|100").unwrap());
    assert!(
        outbox
            .journal("main/group:dev|1|100", "{}")
            .unwrap()
            .is_some()
    );
    assert!(outbox.journaled("main/group:dev|2|100").unwrap());
    assert!(outbox.journaled("main/friend:alice|11000|200").unwrap());
    assert_eq!(outbox.unfinished().unwrap().len(), 2);
    outbox.shutdown().await;
}

// ---------------------------------------------------------------------
// Through a real WebQQ client against the in-process simulator.
// ---------------------------------------------------------------------

use wasmqq_sim::known::{ALICE, BOB, DEV_GROUP, WEEKEND};

async fn start_sim() -> SimHandle {
    init_tracing();
    let config = SimConfig {
        poll_hold: Duration::from_millis(300),
        qr_auto_confirm: Some(Duration::from_millis(100)),
        ..SimConfig::default()
    };
    wasmqq_sim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// A fresh QR login to `sim` (new session, so new chat ids). The client
/// itself does not retry sends (`send_retries: 0`): retries are the
/// outbox's.
async fn login(sim: &SimHandle, dir: &std::path::Path) -> Client {
    let config = ClientConfig {
        server: Some(sim.addr()),
        session_file: None,
        qr_png_path: dir.join("qr.png"),
        qr_poll_interval: Duration::from_millis(30),
        qr_max_codes: Some(5),
        send_interval: Duration::from_millis(20),
        send_retries: 0,
        poll_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(3),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..ClientConfig::default()
    };
    tokio::time::timeout(WAIT, Client::connect(config, Observer::new(|_| {})))
        .await
        .expect("login in time")
        .expect("login")
}

/// The chat named `name` in the client's contacts.
fn chat_named(client: &Client, name: &str) -> ChatRef {
    let book = client.contacts();
    let groups = book.groups.keys().map(|&id| ChatRef::group(id));
    let friends = book.friends.keys().map(|&id| ChatRef::friend(id));
    let discussions = book.discussions.keys().map(|&id| ChatRef::discussion(id));
    groups
        .chain(friends)
        .chain(discussions)
        .find(|c| book.chat_name(*c).as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no chat {name:?} in {book:?}"))
}

fn sent_to(sim: &SimHandle, to: u64) -> Vec<String> {
    sim.sent()
        .into_iter()
        .filter(|s| s.to == to)
        .map(|s| s.text)
        .collect()
}

#[tokio::test]
async fn client_keeps_per_chat_order_across_chats() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(login(&sim, dir.path()).await);
    let outbox = Outbox::open(&dir.path().join("outbox.db"), client.clone(), fast()).unwrap();
    let book = client.contacts();
    let chats = [
        (chat_named(&client, "dev"), DEV_GROUP),
        (chat_named(&client, "Bob"), BOB),
        (chat_named(&client, "weekend plans"), WEEKEND),
    ];
    for i in 0..4 {
        for (chat, _) in chats {
            let msg = OutMessage::new(chat, vec![Segment::text(format!("{chat} #{i}"))], "test");
            outbox.enqueue(msg.named(&book)).unwrap();
        }
    }
    sim.wait_sent(12, WAIT).await;
    wait_pending(&outbox, 0).await;
    for (chat, to) in chats {
        let expected: Vec<String> = (0..4).map(|i| format!("{chat} #{i}")).collect();
        assert_eq!(sent_to(&sim, to), expected);
    }
    outbox.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn client_transient_failures_are_retried_and_delivered_once() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let client = Arc::new(login(&sim, dir.path()).await);
    let outbox = Outbox::open(&dir.path().join("outbox.db"), client.clone(), fast()).unwrap();
    sim.fault(&FaultSpec {
        endpoint: Some("send_qun_msg2".into()),
        http_status: Some(502),
        times: Some(2),
        ..FaultSpec::default()
    })
    .unwrap();
    let dev = chat_named(&client, "dev");
    let row = outbox
        .enqueue(
            OutMessage::new(dev, vec![Segment::text("through 502s")], "test")
                .named(&client.contacts()),
        )
        .unwrap();
    assert!(row > 0);
    sim.wait_sent(1, WAIT).await;
    wait_pending(&outbox, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent_to(&sim, DEV_GROUP), ["through 502s"], "exactly once");
    assert!(outbox.failed(10).unwrap().is_empty());
    outbox.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
}

/// The e2e promise: replies left undelivered when the host stops (here the
/// client went away first, so every attempt reports `Stopped`; one chat is
/// also mid-backoff after a 502) are delivered once after a restart — even
/// though the new login gave every chat a new id.
#[tokio::test]
async fn client_restart_with_undelivered_replies_delivers_them_once() {
    let sim = start_sim().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let config = OutboxConfig {
        retry_base: Duration::from_secs(20),
        retry_max: Duration::from_secs(20),
        ..fast()
    };

    let client = Arc::new(login(&sim, dir.path()).await);
    let book = client.contacts();
    let (dev, alice) = (
        chat_named(&client, "dev"),
        chat_named(&client, "Alice (work)"),
    );
    let outbox = Outbox::open(&path, client.clone(), config).unwrap();
    // The group's first reply hits a 502 and backs off for ~10–20 s.
    sim.fault(&FaultSpec {
        endpoint: Some("send_qun_msg2".into()),
        http_status: Some(502),
        times: Some(1),
        ..FaultSpec::default()
    })
    .unwrap();
    let msg = |chat, t: &str| OutMessage::new(chat, vec![Segment::text(t)], "test").named(&book);
    outbox.enqueue(msg(dev, "dev 1")).unwrap();
    outbox.enqueue(msg(dev, "dev 2")).unwrap();
    let deadline = Instant::now() + WAIT;
    while sim.state().faults_armed > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The client goes away: Alice's replies cannot leave.
    client.shutdown().await;
    outbox.enqueue(msg(alice, "alice 1")).unwrap();
    outbox.enqueue(msg(alice, "alice 2")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    outbox.shutdown().await;
    assert_eq!(outbox.pending().unwrap(), 4);
    assert!(sim.sent().is_empty(), "{:?}", sim.sent());
    drop(outbox);

    // Restart: a full QR login (new ids), then the same outbox file.
    let client = Arc::new(login(&sim, dir.path()).await);
    assert_ne!(
        chat_named(&client, "dev"),
        dev,
        "the new session has new ids"
    );
    let outbox = Outbox::open(&path, client.clone(), fast()).unwrap();
    sim.wait_sent(4, WAIT).await;
    wait_pending(&outbox, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent_to(&sim, DEV_GROUP), ["dev 1", "dev 2"]);
    assert_eq!(sent_to(&sim, ALICE), ["alice 1", "alice 2"]);
    assert_eq!(sim.sent().len(), 4, "each once");
    assert!(outbox.failed(10).unwrap().is_empty());
    outbox.shutdown().await;
    client.shutdown().await;
    sim.shutdown().await;
}
