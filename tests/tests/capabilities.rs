//! Host capabilities with real built plugins: each used, each denied when
//! not granted, quotas, durable timers across a restart, the HTTP allow list.
//!
//! Needs `make plugins` first (the `caps` fixture and the `counter`,
//! `remind` and `title` examples).

use std::time::Duration;

use wasmqq::abi::{Capability, Chat, ChatKind, Segment};
use wasmqq::capabilities::Grants;
use wasmqq::capabilities::KvQuota;
use wasmqq::runtime::Call;
use wasmqq_tests::capabilities::{
    CapsHost, PAGE_TITLE, capture_logs, http_server, next_timer, say, text_of,
};

fn grant(caps: &[Capability]) -> Grants {
    caps.iter().copied().collect()
}

#[tokio::test]
async fn kv_data_is_namespaced_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wasmqq.db");
    {
        let host = CapsHost::open(&db);
        let caps = host.start("caps", grant(&[Capability::Kv])).await;
        assert_eq!(say(&caps, "kv-set", "a/1 one").await, "ok");
        assert_eq!(say(&caps, "kv-set", "a/2 two").await, "ok");
        assert_eq!(say(&caps, "kv-set", "b three").await, "ok");
        assert_eq!(say(&caps, "kv-keys", "a/").await, "keys [a/1,a/2]");
        // Another plugin has its own namespace.
        let counter = host.start("counter", grant(&[Capability::Kv])).await;
        assert!(
            say(&counter, "count", "")
                .await
                .contains("Count for this chat: 1")
        );
        assert_eq!(say(&caps, "kv-keys", "").await, "keys [a/1,a/2,b]");
    }
    let host = CapsHost::open(&db);
    let caps = host.start("caps", grant(&[Capability::Kv])).await;
    assert_eq!(say(&caps, "kv-get", "a/2").await, "value two");
    assert_eq!(say(&caps, "kv-del", "a/2").await, "deleted true");
    assert_eq!(say(&caps, "kv-del", "a/2").await, "deleted false");
    assert_eq!(say(&caps, "kv-get", "a/2").await, "none");
    assert_eq!(
        say(&caps, "kv-get", "").await,
        "ERR HostError::Invalid(\"key must be 1 to 256 bytes, got 0\")"
    );
}

#[tokio::test]
async fn kv_quota_limits_keys_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let keys = grant(&[Capability::Kv]).with_kv_quota(KvQuota {
        max_keys: 3,
        max_bytes: 10_000,
    });
    let caps = host.start("caps", keys).await;
    let (logs, _guard) = capture_logs();
    let answer = say(&caps, "kv-fill", "5 10").await;
    assert!(
        answer.starts_with("stored 3; ERR HostError::QuotaExceeded("),
        "{answer}"
    );
    assert!(answer.contains("at most 3 keys"), "{answer}");
    assert!(
        logs.text().contains("key-value write refused"),
        "{}",
        logs.text()
    );
    // Replacing a key does not count twice.
    assert_eq!(say(&caps, "kv-set", "fill/00000 y").await, "ok");
    drop(caps);

    let bytes = grant(&[Capability::Kv]).with_kv_quota(KvQuota {
        max_keys: 100,
        max_bytes: 1_000,
    });
    let host = CapsHost::open(&dir.path().join("other.db"));
    let caps = host.start("caps", bytes).await;
    let answer = say(&caps, "kv-fill", "5 300").await;
    assert!(
        answer.starts_with("stored 3; ERR HostError::QuotaExceeded("),
        "{answer}"
    );
    assert!(answer.contains("at most 1000 bytes"), "{answer}");
}

#[tokio::test]
async fn every_capability_is_refused_without_its_grant() {
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let (logs, _guard) = capture_logs();
    // Granted everything but the one under test, so the refusal is the grant's.
    for (cap, cmd, args, variant) in [
        (Capability::Kv, "kv-set", "k v", "Kv"),
        (Capability::Kv, "kv-keys", "", "Kv"),
        (Capability::Timers, "timer", "10 x", "Timers"),
        (Capability::Timers, "cancel", "1", "Timers"),
        (Capability::Send, "send", "friend 1 hi", "Send"),
        (Capability::Contacts, "friends", "", "Contacts"),
        (Capability::Contacts, "members", "group 100", "Contacts"),
        (Capability::Http, "fetch", "http://127.0.0.1:9/", "Http"),
    ] {
        let grants: Grants = Capability::ALL.into_iter().filter(|c| *c != cap).collect();
        let grants = grants.with_http_allow(["127.0.0.1"]).unwrap();
        let caps = host.start("caps", grants).await;
        let answer = say(&caps, cmd, args).await;
        assert_eq!(
            answer,
            format!("ERR HostError::NotGranted(Capability::{variant})"),
            "{cmd}"
        );
        let line = format!("plugin used capability \"{cap}\" which it was not granted; refused");
        assert!(
            logs.text().contains(&line),
            "no log line for {cap}: {}",
            logs.text()
        );
        // A refusal is a value, not a fault.
        assert_eq!(caps.status().faults, 0);
    }
    assert!(host.sent.is_empty());
    assert!(host.timers.pending(None).is_empty());
}

#[tokio::test]
async fn timers_fire_in_the_scheduling_chat_and_go_once_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let caps = host.start("caps", grant(&[Capability::Timers])).await;
    let mut due = host.start_timers();
    let id: u64 = say(&caps, "timer", "50 hello there")
        .await
        .strip_prefix("timer ")
        .and_then(|s| s.parse().ok())
        .expect("a timer id");
    let far = say(&caps, "timer", "600000 never").await;
    let far_id: u64 = far.strip_prefix("timer ").unwrap().parse().unwrap();
    assert_eq!(
        say(&caps, "cancel", &far_id.to_string()).await,
        "cancelled true"
    );
    assert_eq!(
        say(&caps, "cancel", &far_id.to_string()).await,
        "cancelled false"
    );

    let timer = next_timer(&mut due, 5).await;
    assert_eq!(timer.plugin, "caps");
    assert_eq!(timer.event.id, id);
    assert_eq!(timer.event.payload, "hello there");
    assert_eq!(
        timer.event.chat,
        Some(Chat {
            kind: ChatKind::Friend,
            id: 10001
        })
    );
    let actions = caps.call(Call::Timer(timer.event.clone())).await.unwrap();
    assert!(text_of(&actions).starts_with(&format!("fired {id} hello there due ")));
    timer.delivered().await;
    assert!(host.timers.pending(None).is_empty());
    assert!(
        tokio::time::timeout(Duration::from_millis(400), due.recv())
            .await
            .is_err(),
        "a delivered timer fires once"
    );
}

#[tokio::test]
async fn timer_limits_are_values() {
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let caps = host.start("caps", grant(&[Capability::Timers])).await;
    let long = "x".repeat(5000);
    let answer = say(&caps, "timer", &format!("10 {long}")).await;
    assert!(
        answer.starts_with("ERR HostError::Invalid(\"timer payload is 5000 bytes"),
        "{answer}"
    );
    // Someone else's timer cannot be cancelled.
    let other = host.start("remind", grant(&[Capability::Timers])).await;
    let set = say(&other, "remind", "1h tea").await;
    let id = set.split('#').nth(1).unwrap().split(';').next().unwrap();
    assert_eq!(say(&caps, "cancel", id).await, "cancelled false");
    assert_eq!(host.timers.pending(Some("remind")).len(), 1);
}

#[tokio::test]
async fn a_late_timer_fires_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wasmqq.db");
    let (id, undelivered) = {
        let host = CapsHost::open(&db);
        let caps = host.start("caps", grant(&[Capability::Timers])).await;
        let id: u64 = say(&caps, "timer", "100 while down")
            .await
            .strip_prefix("timer ")
            .unwrap()
            .parse()
            .unwrap();
        let at = wasmqq::clock::unix_ms() + 150;
        let other = say(&caps, "timer-at", &format!("{at} dropped once")).await;
        (
            id,
            other
                .strip_prefix("timer ")
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        )
        // Runtime, plugin, timer service and database all dropped here,
        // before either timer is due.
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // First restart: both are late and fire at start. One is delivered; the
    // other is dropped undelivered (as if its plugin were missing).
    {
        let host = CapsHost::open(&db);
        let caps = host.start("caps", grant(&[Capability::Timers])).await;
        let mut due = host.start_timers();
        let mut seen = Vec::new();
        for _ in 0..2 {
            let t = next_timer(&mut due, 5).await;
            assert!(t.event.due < wasmqq::clock::unix_ms());
            seen.push(t.event.id);
            if t.event.id == id {
                let actions = caps.call(Call::Timer(t.event.clone())).await.unwrap();
                assert!(text_of(&actions).starts_with(&format!("fired {id} while down")));
                t.delivered().await;
            } else {
                drop(t);
            }
        }
        seen.sort();
        assert_eq!(seen, vec![id, undelivered]);
        // The undelivered one is offered again (retry_after_ms is 200 here);
        // the delivered one never is.
        let again = next_timer(&mut due, 5).await;
        assert_eq!(again.event.id, undelivered);
        drop(again);
    }

    // Second restart: only the undelivered timer is still stored.
    let host = CapsHost::open(&db);
    let pending: Vec<u64> = host.timers.pending(None).iter().map(|t| t.id).collect();
    assert_eq!(pending, vec![undelivered]);
    let mut due = host.start_timers();
    let t = next_timer(&mut due, 5).await;
    assert_eq!(
        (t.event.id, t.event.payload.as_str()),
        (undelivered, "dropped once")
    );
    t.delivered().await;
    assert!(host.timers.pending(None).is_empty());
}

#[tokio::test]
async fn proactive_send_goes_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let caps = host.start("caps", grant(&[Capability::Send])).await;
    assert_eq!(say(&caps, "send", "group 100 hello group").await, "queued");
    let sent = host.sent.try_recv().expect("a message was queued");
    assert_eq!(sent.plugin, "caps");
    assert_eq!(
        sent.chat,
        Chat {
            kind: ChatKind::Group,
            id: 100
        }
    );
    assert_eq!(sent.segments, vec![Segment::Text("hello group".into())]);
    assert_eq!(
        say(&caps, "send", "friend 1").await,
        "ERR HostError::Invalid(\"a message must not be empty\")"
    );
    assert!(host.sent.try_recv().is_err());
}

#[tokio::test]
async fn contacts_come_from_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let caps = host.start("caps", grant(&[Capability::Contacts])).await;
    assert_eq!(say(&caps, "friends", "").await, "1=Alice,2=Bob");
    assert_eq!(say(&caps, "chats", "").await, "100=Rustaceans");
    assert_eq!(say(&caps, "members", "group 100").await, "1=Alice,3=Carol");
    let answer = say(&caps, "members", "group 999").await;
    assert!(
        answer.starts_with("ERR HostError::Invalid(\"no members for group 999"),
        "{answer}"
    );
    let answer = say(&caps, "members", "friend 1").await;
    assert!(answer.starts_with("ERR HostError::Invalid("), "{answer}");
}

#[tokio::test]
async fn http_reaches_only_allow_listed_hosts() {
    let addr = http_server().await;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let allowed = grant(&[Capability::Http])
        .with_http_allow(["127.0.0.1"])
        .unwrap();
    let caps = host.start("caps", allowed).await;

    let answer = say(&caps, "fetch", &format!("{base}/page")).await;
    assert!(answer.starts_with("status 200 bytes "), "{answer}");
    assert!(answer.contains(PAGE_TITLE), "{answer}");
    // A redirect within the allowed host is followed.
    let answer = say(&caps, "fetch", &format!("{base}/to-page")).await;
    assert!(answer.starts_with("status 200"), "{answer}");
    // A redirect to a host not on the list is refused, before connecting.
    for path in ["to-elsewhere", "to-localhost"] {
        let answer = say(&caps, "fetch", &format!("{base}/{path}")).await;
        assert!(
            answer.starts_with("ERR HostError::Invalid(\"redirect from "),
            "{answer}"
        );
        assert!(
            answer.contains("not in the plugin's http_allow list"),
            "{answer}"
        );
    }
    let answer = say(&caps, "fetch", &format!("{base}/loop")).await;
    assert!(answer.contains("too many redirects"), "{answer}");
    // A host not on the list.
    let answer = say(
        &caps,
        "fetch",
        &format!("http://localhost:{}/page", addr.port()),
    )
    .await;
    assert!(
        answer.contains("is not in the plugin's http_allow list"),
        "{answer}"
    );
    // The size limit (64 KiB in these tests).
    let answer = say(&caps, "fetch", &format!("{base}/big")).await;
    assert!(
        answer.starts_with("ERR HostError::QuotaExceeded(\"HTTP response body is 204800 bytes"),
        "{answer}"
    );
    // The time limit: cut to fit the 300 ms call deadline, not a trap.
    let answer = say(&caps, "fetch", &format!("{base}/slow")).await;
    assert!(
        answer.starts_with("ERR HostError::Unavailable("),
        "{answer}"
    );
    assert!(answer.contains("timed out"), "{answer}");
    assert_eq!(caps.status().faults, 0);
    // Not http(s).
    let answer = say(&caps, "fetch", "file:///etc/passwd").await;
    assert!(answer.contains("only http and https"), "{answer}");
}

#[tokio::test]
async fn loopback_needs_an_exact_allow_list_entry() {
    let addr = http_server().await;
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let any = grant(&[Capability::Http]).with_http_allow(["*"]).unwrap();
    let caps = host.start("caps", any).await;
    for url in [
        format!("http://127.0.0.1:{}/page", addr.port()),
        format!("http://localhost:{}/page", addr.port()),
        format!("http://[::1]:{}/page", addr.port()),
    ] {
        let answer = say(&caps, "fetch", &url).await;
        assert!(answer.contains("internal address"), "{url}: {answer}");
    }
    let none = grant(&[Capability::Http]);
    let caps = host.start("caps", none).await;
    let answer = say(
        &caps,
        "fetch",
        &format!("http://127.0.0.1:{}/page", addr.port()),
    )
    .await;
    assert!(
        answer.contains("no host is in the plugin's http_allow list"),
        "{answer}"
    );
}

#[tokio::test]
async fn title_replies_with_the_page_title() {
    let addr = http_server().await;
    let dir = tempfile::tempdir().unwrap();
    let host = CapsHost::open(&dir.path().join("wasmqq.db"));
    let allowed = grant(&[Capability::Http])
        .with_http_allow([format!("127.0.0.1:{}", addr.port())])
        .unwrap();
    let title = host.start("title", allowed).await;
    let answer = say(
        &title,
        "title",
        &format!("http://127.0.0.1:{}/page", addr.port()),
    )
    .await;
    assert_eq!(answer, "Title: Hello & welcome to the test server");
    let answer = say(
        &title,
        "title",
        &format!("http://127.0.0.1:{}/to-elsewhere", addr.port()),
    )
    .await;
    assert!(
        answer.starts_with("I may not fetch that: redirect from"),
        "{answer}"
    );
    let denied = host.start("title", Grants::NONE).await;
    let answer = say(
        &denied,
        "title",
        &format!("http://127.0.0.1:{}/page", addr.port()),
    )
    .await;
    assert_eq!(
        answer,
        "HTTP is not granted to me in the bot's configuration"
    );
}

#[tokio::test]
async fn counter_keeps_counting_across_restarts_and_falls_back_without_kv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wasmqq.db");
    {
        let host = CapsHost::open(&db);
        let counter = host.start("counter", grant(&[Capability::Kv])).await;
        assert_eq!(say(&counter, "count", "").await, "Count for this chat: 1");
        assert_eq!(say(&counter, "count", "").await, "Count for this chat: 2");
    }
    let host = CapsHost::open(&db);
    let counter = host.start("counter", grant(&[Capability::Kv])).await;
    assert_eq!(say(&counter, "count", "").await, "Count for this chat: 3");
    let denied = host.start("counter", Grants::NONE).await;
    let answer = say(&denied, "count", "").await;
    assert!(
        answer.starts_with(
            "Count for this chat: 1 (kept in memory only, storage is not granted to me"
        ),
        "{answer}"
    );
}

#[tokio::test]
async fn remind_answers_in_the_same_chat_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wasmqq.db");
    {
        let host = CapsHost::open(&db);
        let remind = host.start("remind", grant(&[Capability::Timers])).await;
        let answer = say(&remind, "remind", "1s stand up").await;
        assert!(
            answer.starts_with("OK, I'll remind you in 1s: stand up (reminder #"),
            "{answer}"
        );
        assert!(
            say(&remind, "remind", "soon stand up")
                .await
                .starts_with("Cannot read the delay")
        );
        let denied = host.start("remind", Grants::NONE).await;
        assert_eq!(
            say(&denied, "remind", "1s x").await,
            "Cannot set the reminder: timers are not granted to me in the bot's configuration"
        );
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let host = CapsHost::open(&db);
    let remind = host.start("remind", grant(&[Capability::Timers])).await;
    let mut due = host.start_timers();
    let timer = next_timer(&mut due, 5).await;
    assert_eq!(timer.plugin, "remind");
    let chat = timer.event.chat.expect("the chat of the command");
    assert_eq!((chat.kind, chat.id), (ChatKind::Friend, 10001));
    let actions = remind.call(Call::Timer(timer.event.clone())).await.unwrap();
    assert_eq!(text_of(&actions), "@10001 Reminder: stand up");
    timer.delivered().await;
    assert!(host.timers.pending(None).is_empty());
}
