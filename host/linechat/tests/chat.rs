//! The room as its users see it: joining, chatting, nicknames, private
//! lines, `/who`, and the bot's side of it.

use wasmqq_linechat::{Error, RoomEvent, User};
use wasmqq_tests::linechat::{Client, config, event, event_skipping_joins, start};

#[tokio::test]
async fn several_clients_chat_and_see_joins_and_leaves() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();

    let mut alice = Client::connect(addr).await;
    let welcome = alice.line().await.unwrap();
    assert!(welcome.starts_with("* Welcome to lobby!"), "{welcome}");
    for cmd in [
        "/msg NICK text",
        "/nick NEW",
        "/who",
        "/me action",
        "/auth PASSWORD",
        "/quit",
    ] {
        assert!(welcome.contains(cmd), "welcome names {cmd}: {welcome}");
    }
    alice.expect("Choose a nickname:").await;
    alice.send("alice").await;
    alice.expect("* alice joined").await;
    alice.nick = "alice".into();

    let mut bob = Client::join(addr, "bob").await;
    alice.expect("* bob joined").await;
    let mut carol = Client::join(addr, "carol").await;
    alice.expect("* carol joined").await;
    bob.expect("* carol joined").await;

    alice.send("hello everyone").await;
    bob.expect("<alice> hello everyone").await;
    carol.expect("<alice> hello everyone").await;
    bob.send("hi alice").await;
    alice.expect("<bob> hi alice").await; // no echo of her own line before it
    carol.expect("<bob> hi alice").await;
    bob.expect_quiet().await; // nor of his

    bob.send("/quit").await;
    assert_eq!(bob.expect_closed().await, vec!["* Bye."]);
    alice.expect("* bob left").await;
    carol.expect("* bob left").await;

    drop(carol); // hangs up without /quit
    alice.expect("* carol left").await;

    // The bot saw all of it, in order per user.
    let mut events = Vec::new();
    while events.len() < 7 {
        events.push(event(&mut bot).await);
    }
    let nicks_in = |f: &dyn Fn(&RoomEvent) -> Option<String>| -> Vec<String> {
        events.iter().filter_map(f).collect()
    };
    assert_eq!(
        nicks_in(&|e| match e {
            RoomEvent::Joined(u) => Some(u.nick.clone()),
            _ => None,
        }),
        ["alice", "bob", "carol"]
    );
    assert_eq!(
        nicks_in(&|e| match e {
            RoomEvent::Said { from, text } => Some(format!("{}: {text}", from.nick)),
            _ => None,
        }),
        ["alice: hello everyone", "bob: hi alice"]
    );
    assert_eq!(
        nicks_in(&|e| match e {
            RoomEvent::Left(u) => Some(u.nick.clone()),
            _ => None,
        }),
        ["bob", "carol"]
    );
    let users = room.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].nick, "alice");
}

#[tokio::test]
async fn ids_are_per_connection_and_never_reused() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();
    let a = Client::join(addr, "alice").await;
    let RoomEvent::Joined(first) = event(&mut bot).await else {
        panic!("join")
    };
    drop(a);
    let RoomEvent::Left(left) = event(&mut bot).await else {
        panic!("leave")
    };
    assert_eq!(left.id, first.id);
    let _a = Client::join(addr, "alice").await;
    let RoomEvent::Joined(again) = event(&mut bot).await else {
        panic!("join")
    };
    assert_ne!(again.id, first.id);
    assert_eq!(
        room.user(again.id).map(|u| u.nick),
        Some("alice".to_owned())
    );
    assert_eq!(room.user(first.id), None);
}

#[tokio::test]
async fn taken_and_invalid_nicknames_are_refused_and_asked_again() {
    let (room, _bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;

    let mut c = Client::connect(addr).await;
    c.expect_prefix("* Welcome").await;
    c.expect("Choose a nickname:").await;
    for (nick, answer) in [
        ("ALICE", "* Nickname \"ALICE\" is taken."),
        ("WasmQQ", "* Nickname \"WasmQQ\" is taken."),
        (
            "bad nick",
            "* Nickname \"bad nick\" is not valid: ' ' is not allowed (use letters, digits, '_' and '-'). \
             Use 1-24 letters, digits, '_' or '-'.",
        ),
        (
            "abcdefghijklmnopqrstuvwxy",
            "* Nickname \"abcdefghijklmnopqrstuvwxy\" is not valid: it is longer than 24 characters. \
             Use 1-24 letters, digits, '_' or '-'.",
        ),
    ] {
        c.send(nick).await;
        c.expect(answer).await;
        c.expect("Choose a nickname:").await;
    }
    c.send("").await;
    c.expect("Choose a nickname:").await;
    alice.expect_quiet().await; // nobody else hears about attempts
    c.send("Bob_2-x").await;
    c.expect("* Bob_2-x joined").await;
    alice.expect("* Bob_2-x joined").await;

    // /nick follows the same rules, and everyone sees a change.
    c.send("/nick Alice").await;
    c.expect("* Nickname \"Alice\" is taken.").await;
    c.send("/nick wasmqq").await;
    c.expect("* Nickname \"wasmqq\" is taken.").await;
    c.send("/nick no!").await;
    c.expect_prefix("* Nickname \"no!\" is not valid: '!' is not allowed")
        .await;
    c.send("/nick bob").await;
    c.expect("* Bob_2-x is now known as bob").await;
    alice.expect("* Bob_2-x is now known as bob").await;
    c.send("/nick bob").await;
    c.expect("* You are already bob.").await;
    c.send("/nick BOB").await; // changing one's own case is fine
    alice.expect("* bob is now known as BOB").await;
    assert_eq!(
        room.users()
            .iter()
            .map(|u| u.nick.as_str())
            .collect::<Vec<_>>(),
        ["alice", "BOB"]
    );
}

#[tokio::test]
async fn private_lines_between_users_and_to_the_bot() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    let mut carol = Client::join(addr, "carol").await;
    alice.until("* carol joined").await;
    bob.until("* carol joined").await;

    alice.send("/msg BOB meet at  noon").await;
    bob.expect("*alice* meet at  noon").await;
    alice.send("/msg nobody hello").await;
    alice.expect("* No such nick: nobody").await;
    alice.send("/msg bob").await;
    alice.expect("* Usage: /msg NICK text").await;

    carol.send("/msg wasmqq !roll 2d6").await;
    let from = match event_skipping_joins(&mut bot).await {
        RoomEvent::Private { from, text } => {
            assert_eq!(text, "!roll 2d6");
            from
        }
        other => panic!("expected Private, got {other:?}"),
    };
    assert_eq!(from.nick, "carol");

    // The bot answers privately: carol alone sees it.
    room.tell(from.id, "you rolled 7\n(3 + 4)").unwrap();
    carol.expect("*wasmqq* you rolled 7").await;
    carol.expect("*wasmqq* (3 + 4)").await;
    room.tell_nick("ALICE", "hi").unwrap();
    alice.expect("*wasmqq* hi").await;
    for c in [&mut alice, &mut bob, &mut carol] {
        c.expect_quiet().await;
    }
    // Nobody's private line was said in the room.
    bob.send("done").await;
    alice.expect("<bob> done").await;
    assert!(matches!(
        event(&mut bot).await,
        RoomEvent::Said { ref from, ref text } if from.nick == "bob" && text == "done"
    ));
}

#[tokio::test]
async fn the_bot_says_to_everyone_with_a_nickname_and_tells_one() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    alice.until("* bob joined").await;
    let mut newcomer = Client::connect(addr).await; // no nickname yet
    newcomer.expect_prefix("* Welcome").await;
    newcomer.expect("Choose a nickname:").await;

    room.say("Commands: !help, !roll\r\nHave fun\n").unwrap();
    for c in [&mut alice, &mut bob] {
        c.expect("<wasmqq> Commands: !help, !roll").await;
        c.expect("<wasmqq> Have fun").await;
    }
    newcomer.expect_quiet().await;

    let bob_id = loop {
        if let RoomEvent::Joined(User { id, nick, .. }) = event(&mut bot).await
            && nick == "bob"
        {
            break id;
        }
    };
    room.tell(bob_id, "psst").unwrap();
    bob.expect("*wasmqq* psst").await;
    alice.expect_quiet().await;

    assert!(matches!(
        room.tell(u64::MAX, "x"),
        Err(Error::NoSuchUser { id: u64::MAX })
    ));
    assert!(matches!(
        room.tell_nick("zed", "x"),
        Err(Error::NoSuchNick { .. })
    ));
    drop(bob);
    alice.expect("* bob left").await;
    assert!(matches!(
        room.tell(bob_id, "x"),
        Err(Error::NoSuchUser { .. })
    ));
}

#[tokio::test]
async fn who_lists_the_bot_and_everyone_with_a_nickname() {
    let (room, _bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let _bob = Client::join(addr, "bob").await;
    let _pending = Client::connect(addr).await; // not listed: no nickname
    alice.until("* bob joined").await;
    alice.send("/who").await;
    alice.expect("* In lobby (3): wasmqq, alice, bob").await;
    alice.send("/WHO").await;
    alice.expect("* In lobby (3): wasmqq, alice, bob").await;
}

#[tokio::test]
async fn me_is_an_action_and_other_slash_lines_are_said_for_the_bot() {
    let (room, mut bot) = start(config()).await;
    let addr = room.local_addr();
    let mut alice = Client::join(addr, "alice").await;
    let mut bob = Client::join(addr, "bob").await;
    alice.until("* bob joined").await;

    bob.send("/me rolls the dice").await;
    alice.expect("* bob rolls the dice").await;
    for line in ["/help", "/roll 2d6", "!roll", "/whois alice"] {
        bob.send(line).await;
        alice.expect(&format!("<bob> {line}")).await;
    }
    bob.send("   ").await; // blank: ignored
    bob.expect_quiet().await;
    alice.expect_quiet().await;

    match event_skipping_joins(&mut bot).await {
        RoomEvent::Action { from, text } => assert_eq!(
            (from.nick.as_str(), text.as_str()),
            ("bob", "rolls the dice")
        ),
        other => panic!("expected Action, got {other:?}"),
    }
    for line in ["/help", "/roll 2d6", "!roll", "/whois alice"] {
        match event(&mut bot).await {
            RoomEvent::Said { from, text } => {
                assert_eq!((from.nick.as_str(), text.as_str()), ("bob", line))
            }
            other => panic!("expected Said, got {other:?}"),
        }
    }
    assert_eq!(bot.try_recv(), None);
}

#[tokio::test]
async fn renames_reach_the_bot() {
    let (room, mut bot) = start(config()).await;
    let mut alice = Client::join(room.local_addr(), "alice").await;
    alice.send("/nick alicia").await;
    alice.expect("* alice is now known as alicia").await;
    let RoomEvent::Joined(joined) = event(&mut bot).await else {
        panic!("join")
    };
    match event(&mut bot).await {
        RoomEvent::Renamed { user, old } => {
            assert_eq!(
                (user.id, user.nick.as_str(), old.as_str()),
                (joined.id, "alicia", "alice")
            );
        }
        other => panic!("expected Renamed, got {other:?}"),
    }
    // The old nickname is free again.
    let _other = Client::join(room.local_addr(), "alice").await;
}
