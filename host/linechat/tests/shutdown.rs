//! Shutdown: every client is told and closed, the inbox ends, the port is
//! released, and the bot's calls fail cleanly afterwards.

use std::time::Duration;

use tokio::net::TcpStream;
use wasmqq_linechat::{Error, RoomConfig, RoomEvent};
use wasmqq_tests::linechat::{Client, WAIT, config, event, start};

#[tokio::test]
async fn shutdown_tells_and_closes_every_client_and_ends_the_inbox() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    alice.until("* bob joined").await;
    let mut pending = Client::connect(addr).await;
    pending.expect_prefix("* Welcome").await;
    pending.expect("Choose a nickname:").await;
    let RoomEvent::Joined(_) = event(&mut bot).await else {
        panic!("join")
    };

    tokio::time::timeout(WAIT, room.shutdown())
        .await
        .expect("shutdown completes");

    for c in [&mut alice, &mut bob, &mut pending] {
        // No "bob left" noise: just the goodbye, then the end of the stream.
        assert_eq!(
            c.expect_closed().await,
            ["* The room is shutting down. Bye."]
        );
    }
    // The inbox gives what was queued, then ends.
    let rest = tokio::time::timeout(WAIT, async {
        let mut rest = Vec::new();
        while let Some(e) = bot.recv().await {
            rest.push(e);
        }
        rest
    })
    .await
    .expect("the inbox ends");
    assert!(
        rest.iter().all(|e| matches!(e, RoomEvent::Joined(_))),
        "{rest:?}"
    );

    assert!(matches!(room.say("anyone?"), Err(Error::Closed { .. })));
    assert!(matches!(
        room.tell_nick("alice", "x"),
        Err(Error::Closed { .. })
    ));
    assert!(room.users().is_empty());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
    room.shutdown().await; // idempotent
}

#[tokio::test]
async fn shutdown_is_not_held_up_by_a_client_that_never_reads_or_a_bot_that_never_reads() {
    let (room, _bot) = start(RoomConfig {
        bot_queue: 1,
        ..config()
    })
    .await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    // alice fills the bot's inbox (nobody reads it) and her reader waits.
    for i in 0..10 {
        alice.send(&format!("line {i}")).await;
    }
    // bob stops reading.
    let _bob = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), room.shutdown())
        .await
        .expect("shutdown completes within the linger time");
    let lines = alice.expect_closed().await;
    assert_eq!(
        lines.last().map(String::as_str),
        Some("* The room is shutting down. Bye.")
    );
}

#[tokio::test]
async fn the_port_can_be_bound_again_after_shutdown() {
    let (room, _bot) = start(config()).await;
    let addr = room.local_addr();
    let _alice = Client::join(addr, "alice").await;
    room.shutdown().await;
    let (again, _bot) = start(RoomConfig {
        listen: addr,
        ..config()
    })
    .await;
    assert_eq!(again.local_addr(), addr);
    let _alice = Client::join(addr, "alice").await;
    again.shutdown().await;
}

#[tokio::test]
async fn a_bad_config_or_a_taken_port_is_an_error() {
    let (room, _bot) = start(config()).await;
    match wasmqq_linechat::Room::start(RoomConfig {
        listen: room.local_addr(),
        ..config()
    })
    .await
    {
        Err(Error::Bind { addr, .. }) => assert_eq!(addr, room.local_addr()),
        other => panic!("expected a bind error, got {:?}", other.map(|_| ())),
    }
    match wasmqq_linechat::Room::start(RoomConfig {
        client_queue: 0,
        ..config()
    })
    .await
    {
        Err(e @ Error::Config { .. }) => assert!(e.to_string().contains("client_queue"), "{e}"),
        other => panic!("expected a config error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn shutdown_gives_a_member_whose_socket_is_full_only_the_linger_time() {
    let (room, mut bot) = start(RoomConfig {
        client_queue: 10_000,
        socket_send_buffer: Some(4096),
        line_rate: None,
        ..config()
    })
    .await;
    tokio::spawn(async move { while bot.recv().await.is_some() {} });
    let addr = room.local_addr();
    let mut reader = Client::join(addr, "reader").await;
    // A member that never reads, with a tiny window: its kernel buffers
    // fill and its writer blocks, while its queue (10 000) never overflows.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(1024).unwrap();
    let mut silent = socket.connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut silent, b"silent\n")
        .await
        .unwrap();
    reader.expect("* silent joined").await;
    let mut flooder = Client::join(addr, "flooder").await;
    reader.expect("* flooder joined").await;
    let pad = "p".repeat(200);
    let flood: String = (0..500).map(|i| format!("{i} {pad}\n")).collect();
    flooder.send_raw(flood.as_bytes()).await;
    reader.until(&format!("<flooder> 499 {pad}")).await;
    assert_eq!(
        room.users().len(),
        3,
        "the silent one is still in (its queue is not full)"
    );

    let started = tokio::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), room.shutdown())
        .await
        .expect("shutdown completes");
    let took = started.elapsed();
    // It did wait for the silent one (its writer was blocked), but only the
    // 2 s linger.
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "bounded by the 2 s linger: {took:?}"
    );
    assert_eq!(
        reader.expect_closed().await,
        ["* The room is shutting down. Bye."]
    );
}
