//! QR login, session restore and the server override, against the
//! in-process simulator.

use std::time::Duration;

use wasmqq_sim::SimConfig;
use wasmqq_tests::webqq::*;
use wasmqq_webqq::{Client, Error, LoginStatus};

#[tokio::test]
async fn qr_login_reports_every_state_and_saves_the_png() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    assert_eq!(bot.client.uin(), BOT);
    let statuses = bot.recorder.statuses();
    let pos = |f: &dyn Fn(&LoginStatus) -> bool| statuses.iter().position(f);
    let qr = pos(&|s| matches!(s, LoginStatus::QrCode { .. })).expect("QR code shown");
    let waiting = pos(&|s| *s == LoginStatus::QrWaiting).expect("waiting");
    let scanned = pos(&|s| *s == LoginStatus::QrScanned).expect("scanned");
    let confirmed = pos(&|s| matches!(s, LoginStatus::QrConfirmed { .. })).expect("confirmed");
    let logged = pos(&|s| {
        matches!(
            s,
            LoginStatus::LoggedIn {
                restored: false,
                ..
            }
        )
    })
    .expect("logged in");
    assert!(qr < waiting && waiting < scanned && scanned < confirmed && confirmed < logged);
    let LoginStatus::QrCode {
        png_path, terminal, ..
    } = &statuses[qr]
    else {
        unreachable!()
    };
    let png = std::fs::read(png_path).expect("PNG saved");
    assert!(png.starts_with(b"\x89PNG"), "a PNG file");
    assert!(terminal.lines().count() > 5, "code drawn: {terminal}");
    assert!(
        statuses[confirmed]
            == LoginStatus::QrConfirmed {
                nick: "wasmqq".into()
            }
    );
    // The session file exists with mode 0600.
    let path = sim.dir.path().join("session.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    bot.client.shutdown().await;
}

#[tokio::test]
async fn manual_confirm_through_the_control_api() {
    let sim = Sim::with(SimConfig {
        qr_auto_confirm: None,
        ..fast_sim_config()
    })
    .await;
    let config = sim.client_config();
    let connecting = tokio::spawn(async move { connect_with(config).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!connecting.is_finished(), "waits for the scan");
    sim.post("/_sim/qr/scan", serde_json::json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!connecting.is_finished(), "waits for the confirmation");
    sim.post("/_sim/qr/confirm", serde_json::json!({})).await;
    let bot = connecting.await.unwrap();
    assert_eq!(bot.recorder.count(|s| *s == LoginStatus::QrScanned), 1);
    assert_eq!(bot.client.uin(), BOT);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn expired_codes_are_replaced_until_confirmed() {
    let sim = Sim::with(SimConfig {
        qr_auto_confirm: None,
        qr_expiry: Duration::from_millis(300),
        ..fast_sim_config()
    })
    .await;
    // Codes expire every 300 ms: on a loaded machine several may go by
    // before the confirmation lands, so allow many and confirm until the
    // login is through.
    let config = wasmqq_webqq::ClientConfig {
        qr_max_codes: Some(1000),
        ..sim.client_config()
    };
    let connecting = tokio::spawn(async move { connect_with(config).await });
    // Let at least one code expire, then confirm the current one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while !connecting.is_finished() {
        // Refused when no code is waiting (between codes, or once used).
        let _ = sim.handle.confirm_qr();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bot = connecting.await.unwrap();
    assert!(bot.recorder.count(|s| *s == LoginStatus::QrExpired) >= 1);
    assert!(bot.recorder.qr_codes() >= 2, "a new code after expiry");
    let attempts: Vec<u32> = bot
        .recorder
        .statuses()
        .iter()
        .filter_map(|s| match s {
            LoginStatus::QrCode { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts[..2], [1, 2]);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn gives_up_after_qr_max_codes() {
    let sim = Sim::with(SimConfig {
        qr_auto_confirm: None,
        qr_expiry: Duration::from_millis(100),
        ..fast_sim_config()
    })
    .await;
    let config = wasmqq_webqq::ClientConfig {
        qr_max_codes: Some(2),
        ..sim.client_config()
    };
    let recorder = Recorder::default();
    let err = Client::connect(config, recorder.observer())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QrLogin(_)), "{err}");
    assert_eq!(recorder.qr_codes(), 2);
}

#[tokio::test]
async fn restart_restores_the_saved_session_without_a_qr_code() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    bot.client.shutdown().await;
    drop(bot);

    let mut bot = connect(&sim).await;
    assert_eq!(bot.recorder.qr_codes(), 0, "{:?}", bot.recorder.statuses());
    assert!(matches!(
        bot.recorder.statuses().first(),
        Some(LoginStatus::RestoringSession { .. })
    ));
    assert!(
        bot.recorder
            .count(|s| matches!(s, LoginStatus::LoggedIn { restored: true, .. }))
            == 1
    );
    // And the restored session works: contacts and messages.
    assert!(!bot.client.contacts().friends.is_empty());
    sim.say("friend", ALICE, None, "after restart").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.text(), "after restart");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn refused_session_falls_back_to_qr() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    bot.client.shutdown().await;
    drop(bot);
    // The server forgets the login: the saved cookies are now stale.
    sim.fault(serde_json::json!({"expire_session": true})).await;

    let mut bot = connect(&sim).await;
    let statuses = bot.recorder.statuses();
    assert!(
        statuses
            .iter()
            .any(|s| matches!(s, LoginStatus::SessionRefused { .. })),
        "{statuses:?}"
    );
    assert_eq!(bot.recorder.qr_codes(), 1);
    sim.say("friend", BOB, None, "hi again").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.text(), "hi again");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn corrupt_session_file_is_ignored() {
    let sim = Sim::start().await;
    std::fs::write(sim.dir.path().join("session.json"), "{ not json").unwrap();
    let bot = connect(&sim).await;
    assert_eq!(bot.recorder.qr_codes(), 1);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn late_2018_server_modes_work() {
    // https-only API (answered 50 over plain http) and an empty ptwebqq:
    // the override still says the logical scheme is https, and "" is used.
    let sim = Sim::with(SimConfig {
        retire_http: true,
        empty_ptwebqq: true,
        ..fast_sim_config()
    })
    .await;
    let mut bot = connect(&sim).await;
    assert!(
        !bot.client.contacts().friends.is_empty(),
        "list hash with empty ptwebqq"
    );
    sim.say("friend", ALICE, None, "late").await;
    assert_eq!(bot.next_message().await.0.text(), "late");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_events_and_refuses_sends() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    let alice = bot.friend("Alice");
    tokio::time::timeout(Duration::from_secs(3), bot.client.shutdown())
        .await
        .expect("shutdown interrupts the long-poll");
    assert!(bot.events.recv().await.is_none(), "stream closed");
    let err = bot
        .client
        .send(alice, &[wasmqq_webqq::Segment::text("x")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Shutdown));
    bot.client.shutdown().await; // idempotent
}
