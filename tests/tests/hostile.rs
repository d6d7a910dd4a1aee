//! Hostile plugins and careless operators against the whole bot, through
//! the simulator: reload storms, impostors, pinned binaries. A test binary of
//! its own because it captures the process-wide log.

use std::time::Duration;

use wasmqq::abi::Capability;
use wasmqq::config::PluginConfig;
use wasmqq_tests::e2e::{ALICE, BOB, DEV, World};
use wasmqq_tests::logs::Captured;

/// Say `text` in the dev group and return the bot's next answer there.
async fn ask(world: &World, text: &str) -> String {
    ask_as(world, BOB, text).await
}

async fn ask_as(world: &World, from: u64, text: &str) -> String {
    world.ask(DEV, from, text).await
}

fn count_answer(n: u32) -> String {
    format!("Count for this chat: {n} ")
}

#[tokio::test]
async fn a_dropped_plugin_keeps_its_memory_and_is_loaded_once_per_change() {
    let logs = Captured::global();
    let world = World::new().await;
    let bot = world.start_bot(world.config()).await;
    let file = world.plugin_dir().join("counter.wasm");
    let file = file.display().to_string();

    world.drop_plugin("counter", "counter.wasm");
    logs.wait_for(&["plugin loaded from", &file]).await;
    for i in 1..=25 {
        let got = ask(&world, "!count").await;
        assert!(got.starts_with(&count_answer(i)), "answer {i}: {got}");
    }
    // Touching the file (opened for writing, same content) is no change.
    std::fs::OpenOptions::new()
        .append(true)
        .open(world.plugin_dir().join("counter.wasm"))
        .unwrap();
    for i in 26..=50 {
        let got = ask(&world, "!count").await;
        assert!(got.starts_with(&count_answer(i)), "answer {i}: {got}");
    }

    assert_eq!(
        ask_as(&world, ALICE, "!reload counter").await,
        "Reloaded counter 0.1.0."
    );
    for i in 1..=50 {
        let got = ask(&world, "!count").await;
        assert!(
            got.starts_with(&count_answer(i)),
            "after !reload, answer {i}: {got}"
        );
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(logs.lines_with(&["plugin loaded from", &file]).len(), 1);
    let replaced = logs.lines_with(&["plugin replaced", &file]);
    assert_eq!(replaced.len(), 1, "one load for one !reload: {replaced:#?}");
    bot.stop().await;
}

#[tokio::test]
async fn a_corrupt_file_is_reported_once_per_content() {
    let logs = Captured::global();
    let world = World::new().await;
    let bot = world.start_bot(world.config()).await;
    let file = world.plugin_dir().join("broken.wasm");
    std::fs::write(&file, b"\0asm\x0d\0\x01\0garbage").unwrap();
    let file_name = file.display().to_string();
    logs.wait_for(&["cannot load plugin", &file_name]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        logs.lines_with(&["cannot load plugin", &file_name]).len(),
        1
    );
    // New (still bad) content is reported again, once.
    std::fs::write(&file, b"not wasm at all").unwrap();
    logs.wait_for(&["not a WebAssembly file", &file_name]).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        logs.lines_with(&["cannot load plugin", &file_name]).len(),
        2
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_impostor_file_cannot_take_a_plugins_name_grants_or_data() {
    let logs = Captured::global();
    let world = World::new().await;
    let mut config = world.config();
    config.plugins.insert(
        "counter".into(),
        PluginConfig {
            grants: vec![Capability::Kv],
            ..PluginConfig::default()
        },
    );
    // `aaa.wasm` sorts before `counter.wasm` and declares "counter".
    world.drop_plugin("impostor", "aaa.wasm");
    world.drop_plugin("counter", "counter.wasm");
    let bot = world.start_bot(config).await;

    assert_eq!(ask(&world, "!count").await, "Count for this chat: 1");
    assert_eq!(
        ask(&world, "!snoop").await,
        "I don't know the command !snoop. Try !help."
    );
    let aaa = world.plugin_dir().join("aaa.wasm").display().to_string();
    let refusal = logs.wait_for(&["cannot load plugin", &aaa]).await;
    assert!(
        refusal.contains("declares the name \"counter\" but its file is aaa.wasm"),
        "{refusal}"
    );

    // Dropped in while running, under yet another name: refused too.
    world.drop_plugin("impostor", "snoop.wasm");
    let snoop = world.plugin_dir().join("snoop.wasm").display().to_string();
    logs.wait_for(&["cannot load plugin", &snoop, "declares the name"])
        .await;
    assert_eq!(
        ask(&world, "!snoop").await,
        "I don't know the command !snoop. Try !help."
    );
    assert_eq!(ask(&world, "!count").await, "Count for this chat: 2");
    bot.stop().await;

    // Not even across a restart with the real file gone.
    std::fs::remove_file(world.plugin_dir().join("counter.wasm")).unwrap();
    let bot = world
        .start_bot({
            let mut c = world.config();
            c.plugins.insert(
                "counter".into(),
                PluginConfig {
                    grants: vec![Capability::Kv],
                    ..PluginConfig::default()
                },
            );
            c
        })
        .await;
    assert_eq!(
        ask(&world, "!snoop").await,
        "I don't know the command !snoop. Try !help."
    );
    bot.stop().await;
}

#[tokio::test]
async fn a_pinned_plugin_refuses_another_binary_and_keeps_serving() {
    let logs = Captured::global();
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    let hash = wasmqq::runtime::content_hash(&std::fs::read(wasmqq_tests::wasm("echo")).unwrap());
    let mut config = world.config();
    config.plugins.insert(
        "echo".into(),
        PluginConfig {
            sha256: Some(hash.clone()),
            ..PluginConfig::default()
        },
    );
    let bot = world.start_bot(config).await;
    assert_eq!(ask(&world, "!echo one").await, "one");

    world.drop_plugin("echo-v2", "echo.wasm");
    let file = world.plugin_dir().join("echo.wasm").display().to_string();
    let line = logs
        .wait_for(&["cannot load plugin", &file, "pinned"])
        .await;
    assert!(line.contains(&hash), "{line}");
    assert!(line.contains("keeps serving"), "{line}");
    assert_eq!(ask(&world, "!echo two").await, "two");
    let notice = world
        .sent()
        .await
        .into_iter()
        .find(|m| m.0 == "friend" && m.1 == ALICE)
        .expect("the admin is told");
    assert!(
        notice.2.starts_with("Plugin echo:") && notice.2.contains(&hash),
        "{}",
        notice.2
    );
    bot.stop().await;
}

#[tokio::test]
async fn help_stays_one_short_part_per_call_whatever_plugins_declare() {
    let world = World::new().await;
    world.drop_plugin("sprawl", "sprawl.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;

    let first = ask(&world, "!help").await;
    assert!(first.starts_with("Commands (page 1/"), "{first}");
    assert!(first.len() <= 600, "{} bytes: {first}", first.len());
    assert!(first.contains("!help 2 for more"), "{first}");
    let pages: usize = first["Commands (page 1/".len()..]
        .split(')')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pages > 100, "{pages} pages");

    let n = world.sent().await.len();
    let second = ask(&world, "!help 2").await;
    assert!(
        second.starts_with(&format!("Commands (page 2/{pages}):")),
        "{second}"
    );
    assert!(second.len() <= 600, "{} bytes", second.len());
    // One message part per call, nothing more behind it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(world.sent().await.len(), n + 1);

    let last = ask(&world, &format!("!help {pages}")).await;
    assert!(last.contains("admins: !plugins"), "{last}");
    assert_eq!(
        ask(&world, "!help 999999").await,
        format!("There are {pages} pages of commands; try !help 1 to !help {pages}.")
    );
    let one = ask(&world, "!help cmd7").await;
    assert!(one.len() <= 600, "{} bytes: {one}", one.len());
    assert!(one.contains("from plugin sprawl"), "{one}");
    bot.stop().await;
}

#[tokio::test]
async fn one_plugins_huge_triggers_never_switch_off_anothers() {
    let logs = Captured::global();
    let world = World::new().await;
    world.drop_plugin("greedy-triggers", "greedy_triggers.wasm");
    world.drop_plugin("react", "react.wasm");
    let bot = world.start_bot(world.config()).await;

    let file = world.plugin_dir().join("greedy_triggers.wasm");
    let refused = logs
        .wait_for(&["cannot load plugin", &file.display().to_string()])
        .await;
    assert!(refused.contains("trigger"), "{refused}");
    assert_eq!(ask(&world, "thanks bot").await, "You're welcome, Bob!");
    bot.stop().await;
}

#[tokio::test]
async fn a_quarantined_plugin_is_quiet_for_triggers_and_tells_a_chat_once() {
    let world = World::new().await;
    world.drop_plugin("fragile", "fragile.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;

    for _ in 0..3 {
        let got = ask(&world, "!fragile").await;
        assert!(
            got.starts_with("Sorry, the fragile plugin could not answer"),
            "{got}"
        );
    }
    // Quarantined now: a trigger match is not answered at all.
    for _ in 0..3 {
        world.say_in_group(DEV, BOB, "boom").await;
    }
    // The command is answered once per chat, then silently skipped.
    let notice = ask(&world, "!fragile").await;
    assert!(notice.contains("is quarantined"), "{notice}");
    let n = world.sent().await.len();
    for _ in 0..3 {
        world.say_in_group(DEV, BOB, "!fragile").await;
        world.say_in_group(DEV, BOB, "boom").await;
    }
    assert_eq!(ask(&world, "!echo still here").await, "still here");
    let after: Vec<_> = world.sent().await[n..]
        .iter()
        .filter(|m| m.1 == DEV)
        .cloned()
        .collect();
    assert_eq!(after.len(), 1, "only the echo after the notice: {after:?}");
    bot.stop().await;
}

/// Wait (up to 10 s) for a sent message starting with `prefix`.
async fn sent_starting(world: &World, prefix: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(m) = world
            .sent()
            .await
            .into_iter()
            .find(|m| m.2.starts_with(prefix))
        {
            return m.2;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing starting with {prefix:?} was sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_flooding_plugin_leaves_the_chat_answering() {
    let logs = Captured::global();
    let world = World::new().await;
    world.drop_plugin("flood", "flood.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let mut config = world.config();
    config.plugins.insert(
        "flood".into(),
        PluginConfig {
            grants: vec![Capability::Send, Capability::Timers],
            ..PluginConfig::default()
        },
    );
    // Slow pacing, so the flood is still queued while the test goes on.
    config.webqq.send_interval_ms = 250;
    let bot = world.start_bot(config).await;

    world.say_in_group(DEV, BOB, "!flood").await;
    let summary = sent_starting(&world, "flood: ").await;
    let sent: u32 = summary["flood: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sent <= 20, "{summary}");
    assert!(summary.contains("QuotaExceeded"), "{summary}");

    // A user's command is answered before the queued flood (at most the
    // flood message being sent goes out first).
    let n = world.sent().await.len();
    let asked = tokio::time::Instant::now();
    world.say_in_group(DEV, BOB, "!echo still usable").await;
    sent_starting(&world, "still usable").await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let between: Vec<_> = world.sent().await[n..]
        .iter()
        .take_while(|m| m.2 != "still usable")
        .cloned()
        .collect();
    assert!(between.len() <= 1, "the flood went first: {between:?}");

    // Timers draw on the same budget: 200 timers do not become 200 messages.
    world.say_in_group(DEV, BOB, "!timers 200").await;
    sent_starting(&world, "timers: ").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let timer_answers = world
        .sent()
        .await
        .iter()
        .filter(|m| m.2.starts_with("timer t"))
        .count();
    assert!(timer_answers <= 20, "{timer_answers} timer answers");

    // Disabling it drops what it still has queued.
    world
        .say_in_group(DEV, ALICE, "!disable flood everywhere")
        .await;
    let reply = sent_starting(&world, "flood is now disabled everywhere").await;
    assert!(
        reply.contains("of its queued messages were dropped"),
        "{reply}"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = world.sent().await.len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after: Vec<_> = world.sent().await[before..].to_vec();
    assert!(
        after.iter().all(|m| !m.2.starts_with("flood ")),
        "the flood goes on after the disable: {after:?}"
    );
    let budget_lines = logs.lines_with(&["flood", "over its output budget"]).len();
    assert!(
        (1..=10).contains(&budget_lines),
        "{budget_lines} budget lines"
    );
    bot.stop().await;
}
