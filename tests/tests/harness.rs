//! The author's test harness (`wasmqq::harness`) against the example
//! plugins: commands and aliases, trigger routing, grants, state, chats and
//! clear errors.

use wasmqq::abi::Capability;
use wasmqq::harness::{HarnessError, PluginHarness, render, reply_text};
use wasmqq_tests::wasm;

#[test]
fn commands_are_parsed_and_routed_as_in_the_bot() {
    let mut dice = PluginHarness::load(wasm("dice")).expect("load dice");
    assert_eq!(dice.info().name, "dice");

    let rolled = reply_text(&dice.command("!roll 2d6").unwrap());
    let total: u32 = rolled.rsplit("= ").next().unwrap().parse().unwrap();
    assert!((2..=12).contains(&total), "{rolled}");
    // Alias, other prefix, any case.
    let rolled = reply_text(&dice.command("/R 1d4").unwrap());
    assert!(rolled.contains("1d4"), "{rolled}");

    let err = dice.command("!nope").unwrap_err();
    assert!(matches!(err, HarnessError::UnknownCommand { .. }));
    assert_eq!(
        err.to_string(),
        "plugin \"dice\" has no command \"nope\" (its commands: roll)"
    );
    // The bot's own commands never reach a plugin, in the harness as in
    // the bot (one router).
    let err = dice.command("!HELP").unwrap_err();
    assert!(matches!(err, HarnessError::Builtin { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "!help is a built-in command of the bot; it never reaches a plugin"
    );
    assert!(dice.message("!reload dice").is_err());
    let err = dice.command("roll 2d6").unwrap_err();
    assert!(err.to_string().contains("is not a command"), "{err}");
    // Plain chat reaches neither on-command nor on-message.
    assert!(dice.message("hello there").unwrap().is_empty());
}

#[test]
fn triggers_reach_on_message_with_the_sender() {
    let mut react = PluginHarness::load(wasm("react")).expect("load react");
    assert!(react.message("good morning").unwrap().is_empty());
    react.from_user(20002, "Bob").in_group(42);
    let actions = react.message("thanks a lot").unwrap();
    assert_eq!(
        actions.iter().map(render).collect::<Vec<_>>(),
        ["reply: You're welcome, Bob!"]
    );
}

#[test]
fn grants_and_in_memory_kv() {
    let mut ungranted = PluginHarness::load(wasm("counter")).expect("load counter");
    let text = reply_text(&ungranted.command("!count").unwrap());
    assert!(text.contains("storage is not granted to me"), "{text}");

    let mut counter = PluginHarness::builder(wasm("counter"))
        .grant(Capability::Kv)
        .load()
        .expect("load counter");
    assert_eq!(
        reply_text(&counter.command("!count").unwrap()),
        "Count for this chat: 1"
    );
    assert_eq!(
        reply_text(&counter.command("!count").unwrap()),
        "Count for this chat: 2"
    );
    // Another chat has its own counter.
    counter.in_group(7);
    assert_eq!(
        reply_text(&counter.command("!count").unwrap()),
        "Count for this chat: 1"
    );
}

#[test]
fn a_bad_file_is_a_clear_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "hello").unwrap();
    let err = PluginHarness::load(&path).err().expect("refused");
    assert!(matches!(err, HarnessError::Load(_)));
    assert!(err.to_string().contains("notes.wasm"), "{err}");
    assert!(err.to_string().contains("not a WebAssembly file"), "{err}");
}

#[tokio::test]
async fn the_async_session_works_inside_tokio() {
    let mut echo = PluginHarness::builder(wasm("echo"))
        .start()
        .await
        .expect("start echo");
    let actions = echo.command("!echo hi  there").await.unwrap();
    assert_eq!(reply_text(&actions), "hi  there");
}
