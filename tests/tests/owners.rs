//! Command ownership through the whole bot on the simulator: a newcomer
//! (`aaa-dup`, which sorts first and declares `roll`, `r` and `echo`) never
//! takes commands from `dice` and `echo`, across reloads, replacements and
//! restarts; `[bot.commands]` hands a command over. A test binary of its own
//! because it captures the process-wide log.

use std::time::Duration;

use wasmqq_tests::e2e::{ALICE, BOB, DEV, World};
use wasmqq_tests::logs::Captured;

/// The start of what dice answers to `1d2`.
const DICE: &str = "🎲 1d2: ";

/// What the admin is told about aaa-dup's refused commands.
const REFUSED: &str = "roll, r, echo (owned by dice, echo)";

async fn ask(world: &World, text: &str) -> String {
    world.ask(DEV, BOB, text).await
}

/// `!roll`, `!r` and `!echo` answer from dice and echo, `!dup` from aaa-dup.
async fn owners_answer(world: &World, when: &str) {
    let roll = ask(world, "!roll 1d2").await;
    assert!(roll.starts_with(DICE), "!roll {when}: {roll}");
    let r = ask(world, "!r 1d2").await;
    assert!(r.starts_with(DICE), "!r {when}: {r}");
    assert_eq!(ask(world, "!echo x").await, "x", "!echo {when}");
    assert_eq!(ask(world, "!dup").await, "dup here", "!dup {when}");
}

/// Ask `!dup` until aaa-dup answers (the watcher takes a moment).
async fn until_dup_loaded(world: &World) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = ask(world, "!dup").await;
        if got == "dup here" {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "!dup: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The admin notices about aaa-dup's refused commands, waiting (up to
/// 10 s) until there are at least `n`.
async fn dup_notices(world: &World, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let notices: Vec<String> = world
            .admin_notices()
            .await
            .into_iter()
            .filter(|t| t.starts_with("Plugin aaa-dup "))
            .collect();
        if notices.len() >= n {
            return notices;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} notices about aaa-dup, waited for {n}: {:?}",
            notices.len(),
            world.admin_notices().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_newcomer_never_takes_commands_from_their_owners() {
    let logs = Captured::global();
    let world = World::new().await;
    world.drop_plugin("dice", "dice.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;
    assert!(ask(&world, "!roll 1d2").await.starts_with(DICE));

    world.drop_plugin("aaa-dup", "aaa_dup.wasm");
    until_dup_loaded(&world).await;
    owners_answer(&world, "after aaa-dup was dropped in").await;
    let notice = dup_notices(&world, 1).await.remove(0);
    assert!(notice.contains(REFUSED), "{notice}");
    assert!(
        notice.contains("[bot.commands] roll = \"aaa-dup\""),
        "{notice}"
    );

    // The conflict is shown by !plugins and !help.
    let plugins = world.ask(DEV, ALICE, "!plugins").await;
    let line = plugins
        .lines()
        .find(|l| l.starts_with("aaa-dup 0.1.0 — ok,"))
        .unwrap_or_else(|| panic!("{plugins}"));
    assert!(
        line.ends_with(&format!("; refused commands: {REFUSED}")),
        "{line}"
    );
    assert!(
        plugins
            .lines()
            .all(|l| l.starts_with("aaa-dup") || !l.contains("refused")),
        "{plugins}"
    );
    let help = ask(&world, "!help").await;
    assert!(help.contains("!dup — answers dup here"), "{help}");
    assert!(
        help.contains(&format!("aaa-dup: refused {REFUSED}")),
        "{help}"
    );
    assert!(!help.contains("not dice"), "{help}");
    let roll = ask(&world, "!help roll").await;
    assert!(roll.contains("from plugin dice"), "{roll}");
    assert!(
        roll.contains("also declared by aaa-dup (refused)"),
        "{roll}"
    );

    assert_eq!(
        world.ask(DEV, ALICE, "!reload dice").await,
        "Reloaded dice 0.1.0."
    );
    owners_answer(&world, "after !reload dice").await;

    let file = world.plugin_dir().join("dice.wasm").display().to_string();
    world.drop_plugin_variant("dice", "dice.wasm", "v2");
    logs.wait_for(&["plugin replaced", &file]).await;
    owners_answer(&world, "after dice.wasm was replaced").await;
    // Told once per load of aaa-dup, not again when dice changes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dup_notices(&world, 1).await.len(), 1);
    bot.stop().await;

    // A restart: aaa_dup.wasm sorts first and loads first.
    let bot = world.start_bot(world.config()).await;
    owners_answer(&world, "after a restart").await;
    let notices = dup_notices(&world, 2).await;
    assert!(notices[1].contains(REFUSED), "{}", notices[1]);
    bot.stop().await;
}

#[tokio::test]
async fn ownership_from_a_previous_run_wins_over_file_order() {
    let world = World::new().await;
    world.drop_plugin("dice", "dice.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;
    assert!(ask(&world, "!roll 1d2").await.starts_with(DICE));
    bot.stop().await;

    // Present at start and first by name: it still takes nothing.
    world.drop_plugin("aaa-dup", "aaa_dup.wasm");
    let bot = world.start_bot(world.config()).await;
    owners_answer(&world, "at the next start").await;
    let notice = dup_notices(&world, 1).await.remove(0);
    assert!(notice.contains(REFUSED), "{notice}");
    bot.stop().await;
}

#[tokio::test]
async fn a_pin_in_bot_commands_hands_a_command_over() {
    let world = World::new().await;
    world.drop_plugin("dice", "dice.wasm");
    world.drop_plugin("echo", "echo.wasm");
    world.drop_plugin("aaa-dup", "aaa_dup.wasm");
    // dice owns roll from a previous run.
    std::fs::create_dir_all(world.data_dir().join("data")).unwrap();
    std::fs::write(
        world.data_dir().join("data/commands.json"),
        r#"{"commands": {"roll": "dice", "r": "dice", "echo": "echo"}}"#,
    )
    .unwrap();
    let mut config = world.config();
    config.bot.commands.insert("roll".into(), "aaa-dup".into());
    let bot = world.start_bot(config).await;

    assert_eq!(ask(&world, "!roll 1d2").await, "aaa-dup took roll");
    assert!(ask(&world, "!r 1d2").await.starts_with(DICE));
    assert_eq!(ask(&world, "!echo x").await, "x");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let notice = loop {
        let notices = world.admin_notices().await;
        if let Some(n) = notices.iter().find(|t| t.starts_with("Plugin dice ")) {
            break n.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{notices:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        notice.contains("roll (owned by aaa-dup via [bot.commands])"),
        "{notice}"
    );

    // A pin holds while its plugin is away: dice does not get roll back.
    std::fs::remove_file(world.plugin_dir().join("aaa_dup.wasm")).unwrap();
    world
        .until_group_answer(
            DEV,
            BOB,
            "!roll 1d2",
            "The command !roll belongs to the aaa-dup plugin, which is not loaded right now.",
        )
        .await;
    assert!(ask(&world, "!r 1d2").await.starts_with(DICE));
    bot.stop().await;
}

#[tokio::test]
async fn removing_the_owners_file_frees_its_commands() {
    let world = World::new().await;
    world.drop_plugin("dice", "dice.wasm");
    world.drop_plugin("echo", "echo.wasm");
    let bot = world.start_bot(world.config()).await;
    world.drop_plugin("aaa-dup", "aaa_dup.wasm");
    until_dup_loaded(&world).await;
    assert!(ask(&world, "!roll 1d2").await.starts_with(DICE));

    std::fs::remove_file(world.plugin_dir().join("dice.wasm")).unwrap();
    world
        .until_group_answer(DEV, BOB, "!roll 1d2", "aaa-dup took roll")
        .await;
    assert_eq!(ask(&world, "!r").await, "aaa-dup took roll");
    assert_eq!(ask(&world, "!echo x").await, "x");

    // Back again, dice is the newcomer now.
    world.drop_plugin("dice", "dice.wasm");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !world
        .admin_notices()
        .await
        .iter()
        .any(|t| t.starts_with("Plugin dice "))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dice was not refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ask(&world, "!roll 1d2").await, "aaa-dup took roll");
    bot.stop().await;
}
