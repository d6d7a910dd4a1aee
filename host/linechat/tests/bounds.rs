//! Each bound of the room, held against a hostile client: over-long lines,
//! too many connections, a reader that never reads, a nickname never
//! chosen, invalid UTF-8 and terminal escapes, password guessing.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use wasmqq_linechat::{LineRate, RoomConfig, RoomEvent};
use wasmqq_tests::linechat::{Client, WAIT, config, event, event_skipping_joins, start};

#[tokio::test]
async fn an_over_long_line_is_refused_and_the_connection_keeps_working() {
    let (room, mut bot) = start(RoomConfig {
        max_line_bytes: 64,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    alice.until("* bob joined").await;

    // Exactly the limit passes.
    let max = "m".repeat(64);
    bob.send(&max).await;
    alice.expect(&format!("<bob> {max}")).await;

    bob.send(&"x".repeat(65)).await;
    bob.expect("* Line too long (over 64 bytes), not sent.")
        .await;

    // A 4 MiB line without a newline, sent in pieces: refused once, the rest
    // read and thrown away, and the room goes on.
    let chunk = vec![b'y'; 64 * 1024];
    for _ in 0..64 {
        bob.send_raw(&chunk).await;
    }
    bob.expect("* Line too long (over 64 bytes), not sent.")
        .await;
    bob.send_raw(b"yyy tail of the long line\nstill here\n")
        .await;
    alice.expect("<bob> still here").await;
    bob.expect_quiet().await; // refused once only
    alice.expect_quiet().await; // no part of the long lines was relayed

    // The bot saw the good lines only.
    let said: Vec<String> = [event_skipping_joins(&mut bot).await, event(&mut bot).await]
        .into_iter()
        .map(|e| match e {
            RoomEvent::Said { text, .. } => text,
            other => panic!("expected Said, got {other:?}"),
        })
        .collect();
    assert_eq!(said, [max, "still here".to_owned()]);
    assert_eq!(bot.try_recv(), None);

    // Before choosing a nickname too.
    let mut c = Client::connect(addr).await;
    c.expect_prefix("* Welcome").await;
    c.expect("Choose a nickname:").await;
    c.send(&"n".repeat(1000)).await;
    c.expect("* Line too long (over 64 bytes), not sent.").await;
    c.expect("Choose a nickname:").await;
    c.send("carol").await;
    c.expect("* carol joined").await;
}

#[tokio::test]
async fn max_clients_turns_the_next_connection_away() {
    let (room, _bot) = start(RoomConfig {
        max_clients: 3,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let _bob = Client::join(addr, "bob").await;
    let mut pending = Client::connect(addr).await; // counts without a nickname
    pending.expect_prefix("* Welcome").await;
    pending.expect("Choose a nickname:").await;

    let mut late = Client::connect(addr).await;
    assert_eq!(
        late.expect_closed().await,
        ["* Sorry, room full (3 connections). Try again later."]
    );
    alice.until("* bob joined").await;
    alice.expect_quiet().await; // the room never heard of it

    // A freed place can be taken again.
    drop(pending);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut c = Client::connect(addr).await;
        let first = c.line().await;
        if first.as_deref().is_some_and(|l| l.starts_with("* Welcome")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_the_others_keep_up() {
    const LINES: usize = 3200;
    // Small kernel buffers on both sides of the silent client's socket, so
    // that it is the queue of 64 lines that fills, after a few hundred lines.
    let (room, mut bot) = start(RoomConfig {
        client_queue: 64,
        socket_send_buffer: Some(8 * 1024),
        line_rate: None, // a flood as fast as the machine goes
        ..config()
    })
    .await;
    let addr = room.local_addr();

    let mut reader = Client::join(addr, "reader").await;
    // The silent one: a tiny receive window, and it never reads a byte.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut silent = socket.connect(addr).await.unwrap();
    silent.write_all(b"silent\r\n").await.unwrap();
    reader.expect("* silent joined").await;
    let mut flooder = Client::join(addr, "flooder").await;
    reader.expect("* flooder joined").await;

    // The bot reads its inbox, and must get every line: none dropped.
    let bot_task = tokio::spawn(async move {
        let mut said = 0;
        let mut left = Vec::new();
        while said < LINES || left.is_empty() {
            match tokio::time::timeout(WAIT, bot.recv()).await {
                Ok(Some(RoomEvent::Said { .. })) => said += 1,
                Ok(Some(RoomEvent::Left(u))) => left.push(u.nick),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        (said, left)
    });

    // The flooder sends bursts of 32 lines in one write; the reader reads
    // each burst before the next (it is a client that keeps up, as fast as
    // this machine lets it). The silent one never reads a byte.
    const BURST: usize = 32;
    let pad = "z".repeat(180);
    let mut got = Vec::new();
    let mut silent_left = false;
    let flood = async {
        for burst in 0..LINES / BURST {
            let lines: String = (burst * BURST..(burst + 1) * BURST)
                .map(|i| format!("{i:05} {pad}\n"))
                .collect();
            flooder.send_raw(lines.as_bytes()).await;
            let want = (burst + 1) * BURST;
            while got.len() < want {
                match reader.line().await {
                    Some(l) if l == "* silent left (too slow)" => silent_left = true,
                    Some(l) => got.push(l),
                    None => panic!("the reader was disconnected after {} lines", got.len()),
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), flood)
        .await
        .expect("the flood and the reader are never held up by the silent client");

    assert!(
        silent_left,
        "the silent client was disconnected as too slow"
    );
    assert_eq!(
        got.len(),
        LINES / BURST * BURST,
        "the reader got every line"
    );
    for (i, line) in got.iter().enumerate() {
        assert_eq!(line, &format!("<flooder> {i:05} {pad}"));
    }
    let (said, left) = bot_task.await.unwrap();
    assert_eq!(said, LINES, "the bot got every line");
    assert_eq!(left, ["silent"]);
    assert_eq!(
        room.users()
            .iter()
            .map(|u| u.nick.as_str())
            .collect::<Vec<_>>(),
        ["reader", "flooder"]
    );

    // The silent client's socket is closed: reading it ends.
    let drained = tokio::time::timeout(WAIT, async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        loop {
            match tokio::io::AsyncReadExt::read(&mut silent, &mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the silent client's connection is closed");
    // All it ever got is what the kernel buffers held (its queue was
    // abandoned): a few KiB of the 600 KiB flooded.
    eprintln!("silent client could still read {drained} bytes");
    assert!(
        drained < 64 * 1024,
        "silent client received {drained} bytes"
    );

    // And the room works as before.
    flooder.send("after").await;
    reader.expect("<flooder> after").await;
}

#[tokio::test]
async fn a_client_that_never_chooses_a_nickname_is_closed_after_the_timeout() {
    let (room, _bot) = start(RoomConfig {
        nick_timeout: Duration::from_millis(400),
        max_clients: 1,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let started = tokio::time::Instant::now();
    let mut c = Client::connect(addr).await;
    let lines = c.expect_closed().await;
    let took = started.elapsed();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[1], "Choose a nickname:");
    assert_eq!(lines[2], "* No nickname chosen in 400ms. Bye.");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // Trying nicknames does not extend the deadline.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut c = loop {
        let mut c = Client::connect(addr).await;
        if c.line().await.is_some_and(|l| l.starts_with("* Welcome")) {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
    };
    c.expect("Choose a nickname:").await;
    let started = tokio::time::Instant::now();
    for _ in 0..3 {
        c.send("wasmqq").await;
        c.expect("* Nickname \"wasmqq\" is taken.").await;
        c.expect("Choose a nickname:").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.expect_closed().await,
        ["* No nickname chosen in 400ms. Bye."]
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn invalid_utf8_and_escape_sequences_are_never_relayed() {
    let (room, mut bot) = start(RoomConfig {
        line_rate: None,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;

    let mut mallory = Client::connect(addr).await;
    mallory.expect_prefix("* Welcome").await;
    mallory.expect("Choose a nickname:").await;
    mallory.send_raw(b"\xff\xfe\r\n").await; // not fatal, just not a nickname
    mallory
        .expect_prefix("* Nickname \"\u{fffd}\u{fffd}\" is not valid")
        .await;
    mallory.expect("Choose a nickname:").await;
    mallory.send_raw(b"mal\x1b[2Jlory\r\n").await; // the escape is stripped first
    mallory
        .expect_prefix("* Nickname \"mal[2Jlory\" is not valid: '[' is not allowed")
        .await;
    mallory.expect("Choose a nickname:").await;
    mallory.send("mallory").await;
    mallory.expect("* mallory joined").await;
    alice.expect("* mallory joined").await;

    // ESC, BEL, a lone 0x9B byte (invalid UTF-8) and U+009B (C1 CSI) in UTF-8.
    let evil = b"\xff\xfehi \x1b[31mred\x1b[0m \x07bell \x9b \xc2\x9b csi\tok\x00\x7f\r\n";
    let clean = "\u{fffd}\u{fffd}hi [31mred[0m bell \u{fffd}  csi\tok";
    mallory.send_raw(evil).await;
    let raw = alice.raw_line().await.expect("a line");
    assert_eq!(
        String::from_utf8(raw.clone()).unwrap(),
        format!("<mallory> {clean}")
    );
    assert!(
        !raw.iter().any(|&b| b < 0x20 && b != b'\t' || b == 0x7f)
            && !raw.windows(2).any(|w| w == [0xc2, 0x9b]),
        "no control bytes reach a terminal: {raw:?}"
    );
    match event_skipping_joins(&mut bot).await {
        RoomEvent::Said { text, .. } => assert_eq!(text, clean),
        other => panic!("expected Said, got {other:?}"),
    }

    // Private lines and /me are cleaned the same way, and so is the bot.
    mallory
        .send_raw(b"/msg alice \x1b]0;pwned\x07title\r\n")
        .await;
    alice.expect("*mallory* ]0;pwnedtitle").await;
    mallory.send_raw(b"/me \x1b[1mshouts\r\n").await;
    alice.expect("* mallory [1mshouts").await;
    room.say("\x1b[5mblink\u{202e}desrever").unwrap();
    alice.expect("<wasmqq> [5mblinkdesrever").await;

    // Arbitrary binary noise does not end the connection.
    let noise: Vec<u8> = (0..=255u8)
        .cycle()
        .take(8 * 1024)
        .filter(|&b| b != b'\n')
        .collect();
    for piece in noise.chunks(200) {
        mallory.send_raw(piece).await;
        mallory.send_raw(b"\n").await;
    }
    mallory.send("still here").await;
    let lines = alice.until("<mallory> still here").await;
    assert!(!lines.is_empty());
    for line in lines {
        assert!(line.starts_with("<mallory> "), "{line:?}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
    }
}

#[tokio::test]
async fn wrong_passwords_are_counted_and_the_right_one_makes_an_admin() {
    let (room, mut bot) = start(RoomConfig {
        admin_password: Some("open sesame".into()),
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    alice.until("* bob joined").await;

    alice.send("/auth guess").await;
    alice.expect("* Wrong password (2 attempts left).").await;
    alice.send("/auth open sesame").await;
    alice.expect("* You are now an admin.").await;
    alice.send("/auth open sesame").await;
    alice.expect("* You are already an admin.").await;
    alice.send("!reload").await;
    bob.expect("<alice> !reload").await; // the passwords never were
    match event_skipping_joins(&mut bot).await {
        RoomEvent::Said { from, text } => {
            assert!(from.admin);
            assert_eq!((from.nick.as_str(), text.as_str()), ("alice", "!reload"));
        }
        other => panic!("expected Said, got {other:?}"),
    }
    assert_eq!(
        room.users().iter().map(|u| u.admin).collect::<Vec<_>>(),
        [true, false]
    );

    for left in [2, 1] {
        bob.send("/auth nope").await;
        let s = if left == 1 { "" } else { "s" };
        bob.expect(&format!("* Wrong password ({left} attempt{s} left)."))
            .await;
    }
    bob.send("/auth still nope").await;
    assert_eq!(
        bob.expect_closed().await,
        ["* Too many wrong passwords. Bye."]
    );
    alice.expect("* bob left (too many wrong passwords)").await;
    alice.expect_quiet().await;
}

#[tokio::test]
async fn auth_without_a_configured_password_is_refused_and_not_counted() {
    let (room, _bot) = start(config()).await;
    let mut alice = Client::join(room.local_addr(), "alice").await;
    for _ in 0..5 {
        alice.send("/auth anything").await;
        alice.expect("* /auth is not enabled in this room.").await;
    }
    alice.send("/who").await;
    alice.expect("* In lobby (2): wasmqq, alice").await;
    assert!(!room.users()[0].admin);
}

#[tokio::test]
async fn a_bot_that_falls_behind_holds_up_only_the_speakers_and_loses_nothing() {
    let (room, mut bot) = start(RoomConfig {
        bot_queue: 2,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    let mut carol = Client::join(addr, "carol").await;
    alice.until("* carol joined").await;
    bob.until("* carol joined").await;
    // The inbox (2) now holds alice's and bob's joins; carol's reader waits
    // to hand over hers (she is in the room all the same).

    for i in 0..5 {
        alice.send(&format!("line {i}")).await;
    }
    // Each line is shown to the room first, then handed to the bot: line 0
    // is shown, and alice's reader waits to hand it over; lines 1-4 wait
    // unread in her socket. Nothing is dropped.
    alice.expect_quiet().await;
    let mut shown = Vec::new();
    while let Ok(Some(l)) = tokio::time::timeout(Duration::from_millis(300), bob.raw_line()).await {
        shown.push(String::from_utf8(l).unwrap());
    }
    assert_eq!(shown, ["<alice> line 0"]);

    // The room itself is not held up: the bot's lines and /who still flow.
    room.say("the room is alive").unwrap();
    assert_eq!(
        carol.until("<wasmqq> the room is alive").await,
        ["<alice> line 0"]
    );
    bob.send("/who").await;
    assert_eq!(
        bob.until("* In lobby (4): wasmqq, alice, bob, carol").await,
        ["<wasmqq> the room is alive"]
    );

    // The bot catches up and gets everything, in order; the room the rest.
    let mut said = Vec::new();
    while said.len() < 5 {
        if let RoomEvent::Said { from, text } = event(&mut bot).await {
            assert_eq!(from.nick, "alice");
            said.push(text);
        }
    }
    assert_eq!(
        said,
        (0..5).map(|i| format!("line {i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        carol.until("<alice> line 4").await,
        ["<alice> line 1", "<alice> line 2", "<alice> line 3"]
    );
}

#[tokio::test]
async fn a_flood_is_slowed_to_the_line_rate_and_nothing_is_lost() {
    let rate = LineRate {
        burst: 10,
        per_second: 40,
    };
    let (room, mut bot) = start(RoomConfig {
        line_rate: Some(rate),
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut reader = Client::join(addr, "reader").await;
    let mut flooder = Client::join(addr, "flooder").await;
    reader.expect("* flooder joined").await;

    // 60 lines in one write: 10 at once, the other 50 at 40 a second.
    let started = tokio::time::Instant::now();
    let flood: String = (0..60).map(|i| format!("flood {i}\n")).collect();
    flooder.send_raw(flood.as_bytes()).await;
    for i in 0..60 {
        reader.expect(&format!("<flooder> flood {i}")).await;
        if i == 9 {
            assert!(
                started.elapsed() < Duration::from_millis(500),
                "the burst is not delayed"
            );
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1200),
        "50 lines at 40/s take 1.25 s, not {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Nothing was dropped on the way to the bot either.
    let mut said = 0;
    while said < 60 {
        if let RoomEvent::Said { .. } = event(&mut bot).await {
            said += 1;
        }
    }
    // Another member is not slowed by the flooder's bucket.
    let mut other = Client::join(addr, "other").await;
    reader.expect("* other joined").await;
    other.send("quick").await;
    reader.expect("<other> quick").await;
}

#[tokio::test]
async fn with_a_stuck_bot_connections_that_left_keep_their_place_until_it_catches_up() {
    let (room, mut bot) = start(RoomConfig {
        bot_queue: 1,
        max_clients: 2,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await; // her Joined fills the inbox
    let mut bob = Client::join(addr, "bob").await; // his Joined waits
    alice.expect("* bob joined").await;
    alice.send("/quit").await; // her Left waits too
    assert_eq!(
        alice.expect_closed().await,
        ["* Bye."],
        "she is closed at once"
    );
    bob.expect("* alice left").await;

    // Her task is still handing over `Left`: her place is not free yet, so
    // churn against a stuck bot cannot pile up tasks.
    let mut late = Client::connect(addr).await;
    assert_eq!(
        late.expect_closed().await,
        ["* Sorry, room full (2 connections). Try again later."]
    );

    // The bot catches up: everything arrives, in order, and the place frees.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(match event(&mut bot).await {
            RoomEvent::Joined(u) => format!("joined {}", u.nick),
            RoomEvent::Left(u) => format!("left {}", u.nick),
            other => format!("{other:?}"),
        });
    }
    seen.sort();
    assert_eq!(seen, ["joined alice", "joined bob", "left alice"]);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let mut c = Client::connect(addr).await;
        if c.line().await.is_some_and(|l| l.starts_with("* Welcome")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
