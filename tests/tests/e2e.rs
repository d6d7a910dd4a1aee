//! The bot end to end: the simulator's control API in, a plugin folder,
//! and what the simulator saw the bot send out.

use std::time::Duration;

use serde_json::json;
use wasmqq_tests::e2e::{ALICE, BOB, DEV, FAMILY, World};

#[tokio::test]
async fn dropped_plugin_answers_in_a_group_and_can_be_replaced() {
    let world = World::new().await;
    let bot = world.start_bot(world.config()).await;

    world.say_in_group(DEV, BOB, "!echo hi").await;
    assert_eq!(
        world.nth_sent(1).await,
        (
            "group".into(),
            DEV,
            "I don't know the command !echo. Try !help.".into()
        )
    );

    world.drop_plugin("echo", "echo.wasm");
    world
        .until_group_answer(DEV, BOB, "!echo hello group", "hello group")
        .await;

    world.drop_plugin("echo-v2", "echo.wasm");
    world
        .until_group_answer(DEV, BOB, "!echo hello group", "v2: hello group")
        .await;

    std::fs::remove_file(world.plugin_dir().join("echo.wasm")).unwrap();
    world
        .until_group_answer(
            DEV,
            BOB,
            "!echo gone",
            "I don't know the command !echo. Try !help.",
        )
        .await;
    bot.stop().await;
}

#[tokio::test]
async fn disable_in_one_group_only_and_non_admins_are_refused() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;

    world.say_in_group(DEV, BOB, "!disable echo here").await;
    assert_eq!(
        world.nth_sent(1).await.2,
        "Sorry, !disable is only for bot admins."
    );

    // Alice's QQ number is known to the bot from the discussion she shares
    // with it (SmartQQ hides QQ numbers elsewhere).
    world.say_in_group(DEV, ALICE, "!disable echo here").await;
    assert_eq!(
        world.nth_sent(2).await.2,
        "echo is now disabled in this chat."
    );

    world.say_in_group(DEV, BOB, "!echo in dev").await;
    world.say_in_group(FAMILY, BOB, "!echo in family").await;
    assert_eq!(
        world.nth_sent(3).await,
        ("group".into(), FAMILY, "in family".into())
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        world.sent().await.len(),
        3,
        "echo answered in the disabled group"
    );

    world.say_as_friend(ALICE, "!plugins").await;
    assert_eq!(
        world.nth_sent(4).await.2,
        "echo 0.1.0 — ok, 1 calls, 0 faults"
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_faulting_plugin_is_quarantined_while_others_answer() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    world.drop_plugin("hostile", "hostile.wasm");
    let bot = world.start_bot(world.config()).await;

    for i in 1..=2 {
        world.say_in_group(DEV, BOB, "!panic").await;
        let (_, _, text) = world.nth_sent(i).await;
        assert_eq!(
            text,
            "Sorry, the hostile plugin could not answer: it crashed."
        );
    }
    // The third fault quarantines it: the group is told, and so is Alice,
    // the admin, privately (the two chats' order is not fixed).
    world.say_in_group(DEV, BOB, "!panic").await;
    world.nth_sent(4).await;
    let sent = world.sent().await;
    let in_group = &sent.iter().filter(|m| m.0 == "group").nth(2).unwrap().2;
    assert!(
        in_group.ends_with("quarantined after 3 failures in a row; an admin can !reload hostile."),
        "{in_group}"
    );
    let notice = sent
        .iter()
        .find(|m| m.0 == "friend")
        .expect("the admin is told");
    assert_eq!(notice.1, ALICE);
    assert!(
        notice
            .2
            .starts_with("Plugin hostile was quarantined after 3 failures in a row"),
        "{}",
        notice.2
    );
    assert!(notice.2.ends_with("then !reload hostile."), "{}", notice.2);
    world.say_in_group(DEV, BOB, "!ok").await;
    assert!(
        world
            .nth_sent(5)
            .await
            .2
            .starts_with("The hostile plugin is quarantined")
    );
    world.say_in_group(DEV, BOB, "!echo alive").await;
    assert_eq!(world.nth_sent(6).await.2, "alive");
    bot.stop().await;
}

#[tokio::test]
async fn undelivered_replies_survive_a_restart_and_are_delivered_once() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;
    world.say_in_group(DEV, BOB, "!echo warm up").await;
    assert_eq!(world.nth_sent(1).await.2, "warm up");

    // Every group send fails from now on: the reply stays in the outbox.
    world
        .fault(json!({"endpoint": "send_qun_msg2", "http_status": 502, "times": 1000}))
        .await;
    world
        .say_in_group(DEV, BOB, "!echo survive the restart")
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bot.outbox.pending().unwrap() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reply never reached the outbox"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.stop().await;
    assert_eq!(world.sent().await.len(), 1);

    world.clear_faults().await;
    let bot = world.start_bot(world.config()).await;
    assert_eq!(
        world.nth_sent(2).await,
        ("group".into(), DEV, "survive the restart".into())
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(world.sent().await.len(), 2, "delivered more than once");
    assert_eq!(bot.outbox.pending().unwrap(), 0);
    bot.stop().await;
}

#[tokio::test]
async fn a_reminder_fires_in_the_group_it_was_asked_in_even_across_a_restart() {
    let world = World::new().await;
    world.drop_plugin("remind", "remind.wasm");
    let mut config = world.config();
    config
        .plugins
        .entry("remind".into())
        .or_default()
        .grants
        .push(wasmqq::abi::Capability::Timers);

    let bot = world.start_bot(config.clone()).await;
    world.say_in_group(DEV, BOB, "!remind 1s stretch").await;
    let (_, to, ack) = world.nth_sent(1).await;
    assert_eq!(to, DEV);
    assert!(ack.contains("stretch"), "{ack}");
    let (_, to, fired) = world.nth_sent(2).await;
    assert_eq!(to, DEV);
    assert!(fired.ends_with("Reminder: stretch"), "{fired}");
    assert!(fired.starts_with("@Bob"), "mentions who asked: {fired}");

    // A reminder due while the bot is down fires once when it is back.
    world
        .say_in_group(FAMILY, BOB, "!remind 2s call home")
        .await;
    assert_eq!(world.nth_sent(3).await.1, FAMILY);
    bot.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(world.sent().await.len(), 3);
    let bot = world.start_bot(config).await;
    let (_, to, fired) = world.nth_sent(4).await;
    assert_eq!(to, FAMILY);
    assert!(fired.contains("Reminder: call home"), "{fired}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(world.sent().await.len(), 4, "the late reminder fired twice");
    bot.stop().await;
}

#[tokio::test]
async fn the_bot_ignores_its_own_messages_coming_back() {
    // The real service echoed the account's own sends through poll2.
    let world = World::with(wasmqq_sim::SimConfig {
        echo_own_sends: true,
        ..Default::default()
    })
    .await;
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;
    // The reply is itself a command: answering it would loop.
    world.say_in_group(DEV, BOB, "!echo !echo again").await;
    assert_eq!(world.nth_sent(1).await.2, "!echo again");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(world.sent().await.len(), 1, "the bot answered itself");
    bot.stop().await;
}

#[tokio::test]
async fn reply_order_per_chat_survives_a_full_relogin() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    let mut config = world.config();
    config.webqq.send_interval_ms = 40;
    let bot = world.start_bot(config).await;
    world
        .until_group_answer(DEV, BOB, "!echo ready", "ready")
        .await;

    // Replies are still queued (40 ms apart) when the session is kicked;
    // the re-login gives every chat a new id.
    for i in 1..=30 {
        world.say_in_group(DEV, BOB, &format!("!echo n{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    world.fault(json!({"kick": true})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 31..=60 {
        world.say_in_group(DEV, BOB, &format!("!echo n{i}")).await;
    }
    let numbers = |sent: Vec<(String, u64, String)>| -> Vec<u32> {
        sent.into_iter()
            .filter_map(|(_, _, t)| t.strip_prefix('n').and_then(|n| n.parse().ok()))
            .collect()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = numbers(world.sent().await);
        if got.len() >= 60 {
            assert_eq!(got, (1..=60).collect::<Vec<u32>>(), "in order, each once");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 60 replies: {got:?}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bot.stop().await;
}

/// Messages the client has taken from the server but the bot has not read
/// yet when ctrl-c comes are journaled, not dropped with the channel: the
/// server will not hand them over again. Each is answered once, in this
/// run's drain or at the next start.
#[tokio::test]
async fn messages_received_but_unread_at_ctrl_c_are_answered_after_the_restart() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    // Started but not run: the poll loop takes messages from the server,
    // nothing reads them yet.
    let bot = wasmqq::bot::Bot::start(world.config(), wasmqq_webqq::Observer::silent())
        .await
        .expect("bot starts");
    bot.registry().loaded().await;
    for i in 0..3 {
        world
            .say_in_group(DEV, BOB, &format!("!echo unread {i}"))
            .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.sim.state().delivered_events < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulator never handed the messages over: {:?}",
            world.sim.state()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ctrl-c before the bot read a single event.
    bot.run(std::future::ready(())).await;

    let bot = world.start_bot(world.config()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while world.sent().await.len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut texts: Vec<String> = world.sent().await.into_iter().map(|m| m.2).collect();
    texts.sort();
    assert_eq!(texts, ["unread 0", "unread 1", "unread 2"]);
    bot.stop().await;
}

/// A message the client takes from the server while the bot is stopping
/// (here: while the dispatcher waits for a slow plugin call) is journaled
/// before the bot exits and answered after the restart.
#[tokio::test]
async fn a_message_taken_while_stopping_is_answered_after_the_restart() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    world.drop_plugin("hostile", "hostile.wasm");
    let mut config = world.config();
    config.limits.call_timeout_ms = 2_500;
    let bot = wasmqq::bot::Bot::start(config.clone(), wasmqq_webqq::Observer::silent())
        .await
        .expect("bot starts");
    bot.registry().loaded().await;
    world.say_in_group(DEV, BOB, "!loop").await;
    let world = &world;
    let delivered = |n| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while world.sim.state().delivered_events < n {
            assert!(tokio::time::Instant::now() < deadline, "not delivered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    delivered(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // ctrl-c: the loop is dispatched and drained for up to its deadline,
    // while the poll loop still runs.
    let stopping = tokio::spawn(bot.run(std::future::ready(())));
    tokio::time::sleep(Duration::from_millis(500)).await;
    world
        .say_in_group(DEV, BOB, "!echo said while stopping")
        .await;
    delivered(2).await;
    stopping.await.unwrap();

    let bot = world.start_bot(config).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !world
        .sent()
        .await
        .iter()
        .any(|m| m.2 == "said while stopping")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message said while stopping was never answered: {:?}",
            world.sent().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bot.stop().await;
}

/// At start the bot serves from the first plugin loaded: `!echo` is
/// answered while `slow` is still starting, and `!slow` sent meanwhile
/// waits for its plugin instead of being called an unknown command.
#[tokio::test]
async fn the_bot_serves_while_other_plugins_are_still_loading() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    world.drop_plugin("slow", "slow.wasm");
    let mut config = world.config();
    config.limits.call_timeout_ms = 10_000;
    let slow = "[plugins.slow]\nconfig = { start_ms = 3000 }\n";
    let slow = wasmqq::config::Config::parse(slow, std::path::Path::new("slow.toml"))
        .expect("config parses")
        .plugin("slow");
    config.plugins.insert("slow".into(), slow);
    let bot = world.start_bot_loading(config).await;
    let registry = bot.registry.clone();
    assert!(registry.is_loading(), "Bot::start waited for the plugins");

    world.say_in_group(FAMILY, BOB, "!slow 1").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while registry.snapshot().plugin("echo").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "echo never loaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(world.ask(DEV, BOB, "!echo early").await, "early");
    assert!(
        registry.snapshot().plugin("slow").is_none(),
        "slow had started before echo answered"
    );
    assert!(registry.is_loading());
    let help = world.ask(DEV, BOB, "!help").await;
    assert!(help.contains("still loading"), "{help}");

    assert_eq!(world.next_in(0, "group", FAMILY).await, "slow 1");
    assert!(!registry.is_loading());
    let sent = world.sent().await;
    assert!(
        !sent.iter().any(|m| m.2.contains("don't know")),
        "a command was called unknown: {sent:?}"
    );
    bot.stop().await;
}

/// The bot's async work runs on one thread by default (`wasmqq run`'s
/// event loop, like this test's current-thread runtime): a plugin spinning
/// until its deadline must hand the thread back between epoch ticks, so
/// another chat is answered while it spins, not after.
#[tokio::test]
async fn a_plugin_spinning_to_its_deadline_leaves_other_chats_answering() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    world.drop_plugin("hostile", "hostile.wasm");
    let bot = world.start_bot(world.config()).await;

    world.say_in_group(DEV, BOB, "!loop").await;
    // Time for the loop's call to start (it then spins for its whole 1 s
    // deadline).
    tokio::time::sleep(Duration::from_millis(200)).await;
    world
        .say_in_group(FAMILY, wasmqq_tests::population::CAROL, "!echo still here")
        .await;
    let first = world.nth_sent(1).await;
    assert_eq!(
        first,
        ("group".to_string(), FAMILY, "still here".to_string()),
        "the other chat waited for the spinning plugin"
    );
    let (_, to, text) = world.nth_sent(2).await;
    assert_eq!(to, DEV);
    assert_eq!(
        text,
        "Sorry, the hostile plugin could not answer: it took longer than 1000 ms."
    );
    bot.stop().await;
}
