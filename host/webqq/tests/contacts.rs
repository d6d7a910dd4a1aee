//! Contacts against the simulator: friends with remarks, groups with
//! members and cards, discussions with members.

use serde_json::json;
use wasmqq_tests::webqq::*;
use wasmqq_webqq::ClientConfig;

#[tokio::test]
async fn friends_groups_and_discussions_are_loaded_at_login() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    let book = bot.client.contacts();
    assert_eq!(book.me.uin, BOT);
    assert_eq!(book.me.nick, "wasmqq");
    assert_eq!(book.me.face, 555);

    let mut nicks: Vec<_> = book.friends.values().map(|f| f.nick.as_str()).collect();
    nicks.sort();
    assert_eq!(nicks, ["Alice", "Bob", "Carol"]);
    let alice = book.friends.values().find(|f| f.nick == "Alice").unwrap();
    assert_eq!(alice.remark.as_deref(), Some("Alice (work)"));
    assert_eq!(alice.category, 1);
    assert_eq!(alice.display_name(), "Alice (work)");
    let bob = book.friends.values().find(|f| f.nick == "Bob").unwrap();
    assert_eq!(bob.remark, None);
    assert!(alice.uin != ALICE, "uins are session-local pseudonyms");

    let dev = book
        .groups
        .values()
        .find(|g| g.name == "wasmqq dev")
        .unwrap();
    assert_eq!(dev.remark.as_deref(), Some("dev"));
    assert_ne!(dev.gid, dev.code);
    assert!(dev.members_loaded);
    assert_eq!(dev.members.len(), 4, "{dev:?}");
    let mut cards: Vec<_> = dev
        .members
        .values()
        .filter_map(|m| m.card.clone())
        .collect();
    cards.sort();
    assert_eq!(cards, ["Alice (owner)", "Dave D.", "bot"]);
    assert!(dev.members.contains_key(&BOT), "own QQ in member lists");
    let family = book.groups.values().find(|g| g.name == "Family").unwrap();
    assert_eq!(family.members.len(), 3, "the bot is a member too");

    let weekend = book.discussions.values().next().unwrap();
    assert_eq!(weekend.name, "weekend plans");
    assert!(weekend.members_loaded);
    let mut qqs: Vec<_> = weekend.members.values().filter_map(|m| m.qq).collect();
    qqs.sort();
    assert!(qqs.contains(&ALICE) && qqs.contains(&DAVE), "{qqs:?}");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn members_load_on_demand_when_not_eager() {
    let sim = Sim::start().await;
    let config = ClientConfig {
        load_members: false,
        ..sim.client_config()
    };
    let mut bot = connect_with(config).await;
    let dev = bot.group("wasmqq dev");
    assert!(!bot.client.contacts().groups[&dev.id].members_loaded);
    // An unknown member speaks: the group's members are fetched.
    sim.say("group", DAVE, Some(DEV_GROUP), "who am I").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.sender_name.as_deref(), Some("Dave D."));
    assert!(bot.client.contacts().groups[&dev.id].members_loaded);
    // Explicit loading of a discussion.
    let weekend = bot.discussion("weekend plans");
    let book = bot.client.load_members(weekend).await.unwrap();
    assert_eq!(book.discussions[&weekend.id].members.len(), 3);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn refresh_on_demand_and_after_failed_lists() {
    let sim = Sim::start().await;
    // The friend list fails at login: contacts are empty but login succeeds.
    sim.fault(json!({"endpoint":"get_user_friends2","http_status":500}))
        .await;
    let mut bot = connect(&sim).await;
    assert!(bot.client.contacts().friends.is_empty());
    // An unknown friend writes: the list is reloaded and the name resolved.
    sim.say("friend", BOB, None, "it's me").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.sender_name.as_deref(), Some("Bob"));
    assert_eq!(bot.client.contacts().friends.len(), 3);
    let book = bot.client.refresh_contacts().await.unwrap();
    assert_eq!(book.groups.len(), 2);
    bot.client.shutdown().await;
}
