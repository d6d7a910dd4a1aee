//! Dispatch with real built plugins and a real drop-in folder, without the
//! network: commands, aliases, triggers, help, admin commands, toggles,
//! cooldowns, per-chat order and hot reload.

use std::time::Duration;

use wasmqq::dispatch::DispatchConfig;
use wasmqq_tests::dispatch::{ADMIN, TestBot, group};
use wasmqq_tests::wasm;

use wasmqq_sim::known::BOB;

#[tokio::test]
async fn commands_aliases_and_triggers_reach_their_plugins() {
    let mut bot = TestBot::new(&["echo", "dice", "react"], TestBot::config()).await;
    let g = group(1, "dev");
    bot.say(&g, BOB, "!echo hello there");
    assert_eq!(bot.reply_text().await, "hello there");
    bot.say(&g, BOB, "/echo \"quoted words\"");
    assert_eq!(bot.reply_text().await, "\"quoted words\"");
    bot.say(&g, BOB, "!r d20");
    assert!(bot.reply_text().await.starts_with("🎲 d20: "));
    bot.say(&g, BOB, "thanks, bot");
    assert_eq!(
        bot.reply_text().await,
        format!("You're welcome, user{BOB}!")
    );
    // Plain chatter reaches nobody.
    bot.say(&g, BOB, "just talking");
    bot.no_reply(Duration::from_millis(300)).await;
    bot.say(&g, BOB, "!nosuch");
    assert_eq!(
        bot.reply_text().await,
        "I don't know the command !nosuch. Try !help."
    );
}

/// A command typed with a Chinese IME: full-width `！` and `／`.
#[tokio::test]
async fn full_width_prefixes_run_commands() {
    let mut bot = TestBot::new(&["echo", "dice"], TestBot::config()).await;
    let g = group(1, "dev");
    bot.say(&g, BOB, "！echo 你好");
    assert_eq!(bot.reply_text().await, "你好");
    bot.say(&g, BOB, "／echo full width");
    assert_eq!(bot.reply_text().await, "full width");
    bot.say(&g, BOB, "！help ！roll");
    let help = bot.reply_text().await;
    assert!(help.starts_with("!roll"), "{help}");
    assert!(help.contains("from plugin dice"), "{help}");
}

#[tokio::test]
async fn help_is_generated_from_plugin_metadata() {
    let mut bot = TestBot::new(&["echo", "dice"], TestBot::config()).await;
    let g = group(1, "dev");
    bot.say(&g, BOB, "!help");
    let help = bot.reply_text().await;
    assert!(help.contains("!echo TEXT — say TEXT back"), "{help}");
    assert!(
        help.contains("!roll NdM[+K] — roll N dice with M sides"),
        "{help}"
    );
    bot.say(&g, BOB, "!help r");
    let one = bot.reply_text().await;
    assert!(one.starts_with("!roll NdM[+K] — roll"), "{one}");
    assert!(
        one.contains("aliases: r") && one.contains("from plugin dice 0.1.0"),
        "{one}"
    );
    bot.say(&g, BOB, "!help nope");
    assert_eq!(
        bot.reply_text().await,
        "There is no command !nope. Try !help."
    );
}

#[tokio::test]
async fn admin_commands_are_refused_to_others() {
    let mut bot = TestBot::new(&["echo"], TestBot::config()).await;
    let g = group(1, "dev");
    for cmd in ["!plugins", "!disable echo", "!reload echo", "!enable echo"] {
        bot.say(&g, BOB, cmd);
        let name = cmd[1..].split(' ').next().unwrap();
        assert_eq!(
            bot.reply_text().await,
            format!("Sorry, !{name} is only for bot admins.")
        );
    }
    bot.say(&g, ADMIN, "!plugins");
    assert_eq!(bot.reply_text().await, "echo 0.1.0 — ok, 0 calls, 0 faults");
}

#[tokio::test]
async fn disable_here_only_affects_that_chat_and_persists() {
    let mut bot = TestBot::new(&["echo"], TestBot::config()).await;
    let (dev, family) = (group(1, "dev"), group(2, "family"));
    bot.say(&dev, ADMIN, "!disable echo here");
    assert_eq!(bot.reply_text().await, "echo is now disabled in this chat.");
    bot.say(&dev, BOB, "!echo hi");
    bot.no_reply(Duration::from_millis(300)).await;
    bot.say(&family, BOB, "!echo hi");
    assert_eq!(bot.reply_text().await, "hi");
    bot.say(&dev, ADMIN, "!plugins");
    assert!(bot.reply_text().await.contains("disabled here"));

    let saved = std::fs::read_to_string(bot.data_dir().join("toggles.json")).unwrap();
    assert!(saved.contains("group:dev"), "{saved}");

    bot.say(&dev, ADMIN, "!disable echo everywhere");
    assert_eq!(bot.reply_text().await, "echo is now disabled everywhere.");
    bot.say(&family, BOB, "!echo hi");
    bot.no_reply(Duration::from_millis(300)).await;
    bot.say(&family, ADMIN, "!enable echo everywhere");
    assert_eq!(bot.reply_text().await, "echo is now enabled everywhere.");
    bot.say(&dev, BOB, "!echo back");
    assert_eq!(bot.reply_text().await, "back");
    bot.say(&dev, ADMIN, "!disable nope");
    assert_eq!(
        bot.reply_text().await,
        "No plugin named \"nope\" is loaded. See !plugins."
    );
}

#[tokio::test]
async fn cooldown_answers_one_slow_down() {
    let config = DispatchConfig {
        rate_limit: wasmqq::dispatch::RateLimitConfig {
            user_cooldown_ms: 30_000,
            chat_cooldown_ms: 0,
        },
        ..TestBot::config()
    };
    let mut bot = TestBot::new(&["echo"], config).await;
    let g = group(1, "dev");
    bot.say(&g, BOB, "!echo 1");
    bot.say(&g, BOB, "!echo 2");
    bot.say(&g, BOB, "!echo 3");
    bot.say(&g, ADMIN, "!echo other user");
    assert_eq!(bot.reply_text().await, "1");
    assert!(bot.reply_text().await.starts_with("Slow down"));
    assert_eq!(bot.reply_text().await, "other user");
    bot.no_reply(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn replies_keep_per_chat_order_while_plugins_run_in_parallel() {
    let mut bot = TestBot::new(&["echo", "hostile"], TestBot::config()).await;
    let (slow, fast) = (group(1, "slow"), group(2, "fast"));
    // The hostile loop takes the whole 1 s deadline; echo in the same
    // chat must wait for it, echo in another chat must not.
    bot.say(&slow, BOB, "!loop");
    bot.say(&slow, BOB, "!echo after the loop");
    bot.say(&fast, BOB, "!echo meanwhile");
    let first = bot.reply().await;
    assert_eq!(wasmqq_tests::text(&first.segments), "meanwhile");
    let second = bot.reply_text().await;
    assert!(
        second.contains("hostile plugin could not answer: it took longer than 1000 ms"),
        "{second}"
    );
    assert_eq!(bot.reply_text().await, "after the loop");
}

#[tokio::test]
async fn faulting_plugin_is_quarantined_while_others_answer() {
    let mut bot = TestBot::new(&["echo", "hostile"], TestBot::config()).await;
    let g = group(1, "dev");
    for _ in 0..2 {
        bot.say(&g, BOB, "!panic");
        assert_eq!(
            bot.reply_text().await,
            "Sorry, the hostile plugin could not answer: it crashed."
        );
    }
    bot.say(&g, BOB, "!panic");
    let third = bot.reply_text().await;
    assert!(
        third.ends_with(
            "It is now quarantined after 3 failures in a row; an admin can !reload hostile."
        ),
        "{third}"
    );
    bot.say(&g, BOB, "!ok");
    assert!(
        bot.reply_text()
            .await
            .starts_with("The hostile plugin is quarantined")
    );
    bot.say(&g, BOB, "!echo still fine");
    assert_eq!(bot.reply_text().await, "still fine");
    bot.say(&g, ADMIN, "!plugins");
    let list = bot.reply_text().await;
    assert!(
        list.contains("hostile 0.1.0 — QUARANTINED, 0 calls, 3 faults"),
        "{list}"
    );
    bot.say(&g, ADMIN, "!reload hostile");
    assert_eq!(bot.reply_text().await, "Reloaded hostile 0.1.0.");
    bot.say(&g, BOB, "!ok");
    assert_eq!(bot.reply_text().await, "ok");
}

async fn eventually(bot: &mut TestBot, g: &wasmqq::dispatch::ChatAddress, text: &str, want: &str) {
    // The folder watcher needs a moment; the issue promises under a second.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        bot.say(g, ADMIN, text);
        let got = bot.reply_text().await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {got:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn drop_in_folder_loads_replaces_and_unloads_without_restart() {
    let mut bot = TestBot::new(&[], TestBot::config()).await;
    let g = group(1, "dev");
    let target = bot.plugin_dir().join("echo.wasm");
    bot.say(&g, BOB, "!echo hi");
    assert_eq!(
        bot.reply_text().await,
        "I don't know the command !echo. Try !help."
    );

    std::fs::copy(wasm("echo"), &target).unwrap();
    eventually(&mut bot, &g, "!echo hi", "hi").await;

    // Replace atomically with version 2.
    let tmp = bot.plugin_dir().join("echo.wasm.part");
    std::fs::copy(wasm("echo-v2"), &tmp).unwrap();
    std::fs::rename(&tmp, &target).unwrap();
    eventually(&mut bot, &g, "!echo hi", "v2: hi").await;

    // A broken replacement is refused and version 2 keeps serving.
    std::fs::write(&target, b"\0asm garbage").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    bot.say(&g, BOB, "!echo still");
    assert_eq!(bot.reply_text().await, "v2: still");

    std::fs::remove_file(&target).unwrap();
    eventually(
        &mut bot,
        &g,
        "!echo hi",
        "I don't know the command !echo. Try !help.",
    )
    .await;
}

/// A content refused once is not compiled and started again for every
/// event of its file: the next load of the same bytes answers at once
/// that it was refused; new content is tried again.
#[tokio::test]
async fn a_refused_content_is_not_tried_again_until_it_changes() {
    use wasmqq::runtime::LoadError;
    let bot = TestBot::new(&[], TestBot::config()).await;
    // Outside the watched folder, so only these calls load it.
    let file = bot.data_dir().join("broken.wasm");
    std::fs::write(&file, b"\0asm\x0d\0\x01\0garbage").unwrap();
    let first = bot.registry.load_file(&file).await.err().expect("refused");
    assert!(
        !matches!(first, LoadError::AlreadyRefused { .. }),
        "{first}"
    );
    let again = bot.registry.load_file(&file).await.err().expect("refused");
    assert!(matches!(again, LoadError::AlreadyRefused { .. }), "{again}");
    std::fs::write(&file, b"not wasm at all").unwrap();
    let changed = bot.registry.load_file(&file).await.err().expect("refused");
    assert!(
        !matches!(changed, LoadError::AlreadyRefused { .. }),
        "{changed}"
    );
    // A good plugin loads as ever.
    let echo = bot.data_dir().join("echo.wasm");
    std::fs::copy(wasm("echo"), &echo).unwrap();
    assert!(bot.registry.load_file(&echo).await.is_ok());
}

/// A registry over `plugins` whose runtime caches components in `cache`;
/// every plugin gets the default setup except those `setup` refuses.
fn cached_registry(
    plugins: &std::path::Path,
    cache: &std::path::Path,
    setup: wasmqq::registry::SetupFn,
) -> std::sync::Arc<wasmqq::registry::Registry> {
    use wasmqq::runtime::{Runtime, RuntimeConfig};
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.to_path_buf()),
        ..RuntimeConfig::default()
    })
    .unwrap();
    wasmqq::registry::Registry::new(
        runtime,
        plugins.to_path_buf(),
        setup,
        wasmqq::registry::Owners::in_memory(),
    )
}

/// A cold start compiles the folder's plugins into the cache (two files
/// with the same content share one entry) and loads them all; the next
/// start maps every one from the cache.
#[tokio::test]
async fn a_cold_start_fills_the_cache_and_the_next_start_maps_it() {
    use wasmqq::runtime::{Origin, PluginSetup};
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&plugins).unwrap();
    for name in ["echo", "dice", "counter", "react"] {
        std::fs::copy(wasm(name), plugins.join(format!("{name}.wasm"))).unwrap();
    }
    // Same bytes as echo.wasm: one entry, refused by name.
    std::fs::copy(wasm("echo"), plugins.join("echo-copy.wasm")).unwrap();
    let start = || async {
        let registry = cached_registry(
            &plugins,
            &cache,
            std::sync::Arc::new(|_| Some(PluginSetup::default())),
        );
        assert_eq!(registry.load_all().await.unwrap(), 4);
        registry
    };
    let first = start().await;
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(entries, 4, "one cache entry per distinct content");
    let second = start().await;
    let snapshot = second.snapshot();
    assert_eq!(snapshot.plugins.len(), 4);
    for plugin in &snapshot.plugins {
        assert_eq!(
            plugin.compiled().origin,
            Origin::Cached,
            "{}",
            plugin.name()
        );
    }
    drop(first);
}

/// A plugin switched off in the configuration is never compiled nor
/// instantiated (nothing reaches the cache), and one already serving is
/// unloaded.
#[tokio::test]
async fn a_disabled_plugin_is_never_compiled_nor_instantiated() {
    use wasmqq::runtime::{LoadError, PluginSetup};
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(wasm("echo"), plugins.join("echo.wasm")).unwrap();
    // Plugin "bench-echo" lives in bench_echo.wasm (`_` for `-`).
    std::fs::copy(wasm("bench-echo"), plugins.join("bench_echo.wasm")).unwrap();
    let registry = cached_registry(
        &plugins,
        &cache,
        std::sync::Arc::new(|info| {
            (info.name != "echo" && info.name != "bench-echo").then(PluginSetup::default)
        }),
    );
    registry.disable("echo");
    registry.disable("bench-echo");
    assert_eq!(registry.load_all().await.unwrap(), 0);
    let err = registry
        .load_file(&plugins.join("echo.wasm"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, LoadError::Disabled { ref plugin, .. } if plugin == "echo"),
        "{err}"
    );
    let compiled = std::fs::read_dir(&cache).map_or(0, |d| d.count());
    assert_eq!(compiled, 0, "a disabled plugin was compiled");
    // Another plugin in the same folder loads as ever.
    std::fs::copy(wasm("dice"), plugins.join("dice.wasm")).unwrap();
    assert!(registry.load_file(&plugins.join("dice.wasm")).await.is_ok());
    assert!(registry.snapshot().plugin("echo").is_none());
}

/// At start, while the folder still loads, a text for the triggers waits
/// for the whole folder, live or replayed from the journal, so a trigger
/// plugin still starting sees it too; each is answered once, in its chat.
#[tokio::test]
async fn texts_received_while_the_folder_loads_reach_a_trigger_plugin_loaded_later() {
    use std::sync::Arc;
    use wasmqq::abi::{Message, Segment};
    use wasmqq::dispatch::{Dispatcher, Incoming, Reply, ReplySink};
    use wasmqq::registry::{Owners, Registry, Toggles};
    use wasmqq::runtime::{Limits, PluginSetup};

    struct Collector(tokio::sync::mpsc::UnboundedSender<Reply>);
    impl ReplySink for Collector {
        fn send(&self, reply: Reply) {
            let _ = self.0.send(reply);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    // `slow` takes 1.5 s to start; `zzzzzzzzzzzzz` (a renamed bench-plug:
    // it answers text starting with its name) loads after it.
    std::fs::copy(wasm("slow"), plugins.join("slow.wasm")).unwrap();
    let trigger = "zzzzzzzzzzzzz";
    let mut bytes = std::fs::read(wasm("bench-plug")).unwrap();
    let marker = b"benchplug-000";
    let at: Vec<usize> = (0..bytes.len() - marker.len())
        .filter(|&i| &bytes[i..i + marker.len()] == marker)
        .collect();
    assert!(!at.is_empty());
    for i in at {
        bytes[i..i + marker.len()].copy_from_slice(trigger.as_bytes());
    }
    std::fs::write(plugins.join(format!("{trigger}.wasm")), bytes).unwrap();

    let runtime = wasmqq_tests::runtime_with(Limits {
        call_timeout_ms: 10_000,
        ..Limits::default()
    });
    let registry = Registry::new(
        runtime,
        plugins,
        Arc::new(|info| {
            Some(PluginSetup {
                config: if info.name == "slow" {
                    r#"{"start_ms":1500}"#.into()
                } else {
                    "{}".into()
                },
                ..PluginSetup::default()
            })
        }),
        Owners::in_memory(),
    );
    let (tx, mut replies) = tokio::sync::mpsc::unbounded_channel();
    let toggles = Arc::new(Toggles::open(dir.path().join("toggles.json")).unwrap());
    let dispatcher = Dispatcher::new(
        TestBot::config(),
        registry.clone(),
        toggles,
        Arc::new(Collector(tx)),
    );
    let incoming = |id: u64, chat: &wasmqq::dispatch::ChatAddress, text: &str| Incoming {
        message: Message {
            id,
            chat: chat.chat,
            sender: BOB,
            sender_name: "bob".into(),
            segments: vec![Segment::Text(text.into())],
            time: 0,
        },
        chat: chat.clone(),
        sender_qq: Some(BOB),
        sender_admin: false,
    };
    let loading = registry.load_in_background().unwrap();
    assert!(registry.is_loading());
    let (before, now) = (group(1, "before the stop"), group(2, "live"));
    dispatcher.handle_replayed(incoming(1, &before, &format!("{trigger} replayed")), 1);
    dispatcher.handle(incoming(2, &now, &format!("{trigger} live")));

    let mut answered = Vec::new();
    for _ in 0..2 {
        let reply = tokio::time::timeout(Duration::from_secs(30), replies.recv())
            .await
            .expect("both texts were answered")
            .unwrap();
        assert!(!registry.is_loading(), "answered before the folder loaded");
        answered.push((reply.to.chat.id, wasmqq_tests::text(&reply.segments)));
    }
    answered.sort();
    assert_eq!(
        answered,
        [
            (1, format!("{trigger}: {trigger} replayed")),
            (2, format!("{trigger}: {trigger} live")),
        ]
    );
    assert_eq!(loading.await.unwrap(), 2);
    if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(300), replies.recv()).await {
        panic!("answered twice: {r:?}");
    }
}
