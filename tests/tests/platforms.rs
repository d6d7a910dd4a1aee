//! The bot on every platform, driven as a user would: the OneBot v11
//! adapter against the simulator's OneBot face in each of the standard's
//! four communication modes, two accounts in one process, and the line
//! chat room with real TCP clients.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wasmqq::bot::Bot;
use wasmqq::config::{AccountConfig, LinechatAccountConfig, OnebotAccountConfig, OnebotMode};
use wasmqq_sim::{HttpPost, OneBotFace, ReverseWs, SimConfig};
use wasmqq_tests::e2e::{ALICE, BOB, DEV, World};
use wasmqq_webqq::Observer;

const TOKEN: &str = "s3cret-token";

/// A free loopback port for wasmqq to listen on.
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// A world whose simulator shows its OneBot face `face` (with the token).
async fn onebot_world(face: OneBotFace) -> World {
    let world = World::with(SimConfig {
        onebot: Some(OneBotFace {
            access_token: Some(TOKEN.into()),
            heartbeat: Some(Duration::from_secs(1)),
            ..face
        }),
        ..SimConfig::default()
    })
    .await;
    world.drop_plugin("echo", "echo.wasm");
    world
}

fn onebot_account(account: OnebotAccountConfig) -> AccountConfig {
    AccountConfig::Onebot(OnebotAccountConfig {
        access_token: Some(TOKEN.into()),
        send_interval_ms: 0,
        ..account
    })
}

/// A group and a private command answered through the OneBot face.
async fn answers_in_group_and_private(world: &World) {
    assert_eq!(
        world.ask(DEV, BOB, "!echo hello onebot").await,
        "hello onebot"
    );
    let n = world.sent().await.len();
    world.say_as_friend(ALICE, "!echo just us").await;
    assert_eq!(world.next_in(n, "friend", ALICE).await, "just us");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_websocket_answers_and_survives_a_dropped_connection() {
    let world = onebot_world(OneBotFace::default()).await;
    let mut config = world.config();
    config.accounts = vec![onebot_account(OnebotAccountConfig {
        mode: OnebotMode::Ws,
        url: Some(world.sim.onebot_ws_url()),
        ..OnebotAccountConfig::default()
    })];
    let bot = world.start_bot(config).await;
    answers_in_group_and_private(&world).await;

    // The connection drops; a message said meanwhile is answered after the
    // adapter reconnects.
    world.sim.onebot_drop().unwrap();
    let n = world.sent().await.len();
    world.say_in_group(DEV, BOB, "!echo still here").await;
    assert_eq!(world.next_in(n, "group", DEV).await, "still here");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_websocket_split_into_api_and_event_answers() {
    let world = onebot_world(OneBotFace::default()).await;
    let base = world.sim.onebot_ws_url();
    let base = base.trim_end_matches('/');
    let mut config = world.config();
    config.accounts = vec![onebot_account(OnebotAccountConfig {
        mode: OnebotMode::Ws,
        api_url: Some(format!("{base}/api")),
        event_url: Some(format!("{base}/event")),
        ..OnebotAccountConfig::default()
    })];
    let bot = world.start_bot(config).await;
    answers_in_group_and_private(&world).await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_websocket_answers_and_survives_a_dropped_connection() {
    let listen = free_addr();
    let world = onebot_world(OneBotFace {
        forward_ws: false,
        reverse_ws: Some(ReverseWs {
            reconnect_interval: Duration::from_millis(200),
            ..ReverseWs::universal(format!("ws://{listen}/onebot/v11/ws"))
        }),
        ..OneBotFace::default()
    })
    .await;
    let mut config = world.config();
    config.accounts = vec![onebot_account(OnebotAccountConfig {
        mode: OnebotMode::WsReverse,
        listen: Some(listen),
        ..OnebotAccountConfig::default()
    })];
    let bot = world.start_bot(config).await;
    answers_in_group_and_private(&world).await;
    world.sim.onebot_drop().unwrap();
    let n = world.sent().await.len();
    world.say_in_group(DEV, BOB, "!echo back again").await;
    assert_eq!(world.next_in(n, "group", DEV).await, "back again");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_with_signed_http_post_events_answers() {
    let listen = free_addr();
    let world = onebot_world(OneBotFace {
        forward_ws: false,
        http_api: true,
        http_post: Some(HttpPost {
            retry_interval: Duration::from_millis(200),
            ..HttpPost::new(format!("http://{listen}/onebot/v11/http"))
        }),
        secret: Some("hmac-secret".into()),
        ..OneBotFace::default()
    })
    .await;
    let mut config = world.config();
    config.accounts = vec![onebot_account(OnebotAccountConfig {
        mode: OnebotMode::Http,
        url: Some(world.sim.onebot_http_url()),
        listen: Some(listen),
        secret: Some("hmac-secret".into()),
        ..OnebotAccountConfig::default()
    })];
    let bot = world.start_bot(config).await;
    answers_in_group_and_private(&world).await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_access_token_is_refused_at_start() {
    let world = onebot_world(OneBotFace::default()).await;
    let mut config = world.config();
    config.accounts = vec![AccountConfig::Onebot(OnebotAccountConfig {
        url: Some(world.sim.onebot_ws_url()),
        access_token: Some("not-the-token".into()),
        ..OnebotAccountConfig::default()
    })];
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        Bot::start(config, Observer::silent()),
    )
    .await
    .expect("a refused token ends the start")
    .err()
    .expect("refused");
    let text = err.to_string();
    assert!(
        text.contains("main") && text.contains("onebot") && text.contains("403"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_in_one_process_answer_each_in_its_own_chats() {
    let webqq = World::new().await;
    webqq.drop_plugin("echo", "echo.wasm");
    let onebot = onebot_world(OneBotFace::default()).await;
    let mut config = webqq.config();
    config.accounts = vec![
        AccountConfig::Webqq(Default::default()),
        AccountConfig::Onebot(OnebotAccountConfig {
            name: Some("qq".into()),
            url: Some(onebot.sim.onebot_ws_url()),
            access_token: Some(TOKEN.into()),
            send_interval_ms: 0,
            ..OnebotAccountConfig::default()
        }),
    ];
    let bot = webqq.start_bot(config).await;
    assert_eq!(webqq.ask(DEV, BOB, "!echo via webqq").await, "via webqq");
    assert_eq!(onebot.ask(DEV, BOB, "!echo via onebot").await, "via onebot");
    // Interleaved, each answer stays on its own account.
    for i in 0..3 {
        webqq.say_in_group(DEV, BOB, &format!("!echo w{i}")).await;
        onebot.say_in_group(DEV, BOB, &format!("!echo o{i}")).await;
    }
    for i in 0..3 {
        assert_eq!(webqq.nth_sent(2 + i).await.2, format!("w{i}"));
        assert_eq!(onebot.nth_sent(2 + i).await.2, format!("o{i}"));
    }
    let webqq_texts: Vec<String> = webqq.sent().await.into_iter().map(|m| m.2).collect();
    assert!(
        !webqq_texts
            .iter()
            .any(|t| t.starts_with('o') || t.contains("onebot")),
        "{webqq_texts:?}"
    );
    // Each account has its own outbox file.
    assert!(webqq.data_dir().join("data/outbox.db").exists());
    assert!(webqq.data_dir().join("data/accounts/qq/outbox.db").exists());
    bot.stop().await;
}

/// One line chat user: a TCP connection that chose `nick`.
struct Person {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Person {
    async fn join(addr: SocketAddr, nick: &str) -> Person {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        let mut p = Person {
            lines: BufReader::new(read).lines(),
            write,
        };
        p.until(|l| l.contains("Choose a nickname")).await;
        p.say(nick).await;
        p.until(|l| l.contains(&format!("{nick} joined"))).await;
        p
    }

    async fn say(&mut self, line: &str) {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    /// Lines up to and including the first that `want` accepts (10 s).
    async fn until(&mut self, want: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line())
                .await
                .unwrap_or_else(|_| panic!("timed out; saw {seen:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("closed; saw {seen:?}"));
            let done = want(&line);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_chat_room_answers_commands_in_the_room_and_privately() {
    let world = World::new().await;
    world.drop_plugin("echo", "echo.wasm");
    let listen = free_addr();
    let mut config = world.config();
    config.accounts = vec![AccountConfig::Linechat(LinechatAccountConfig {
        listen,
        admin_password: Some("letmein".into()),
        ..LinechatAccountConfig::default()
    })];
    let bot = world.start_bot(config).await;
    let mut alice = Person::join(listen, "alice").await;
    let mut bob = Person::join(listen, "bob").await;
    alice.until(|l| l.contains("bob joined")).await;

    alice.say("!echo hello room").await;
    bob.until(|l| l == "<alice> !echo hello room").await;
    bob.until(|l| l == "<wasmqq> hello room").await;
    alice.until(|l| l == "<wasmqq> hello room").await;

    // A private command is answered privately.
    alice.say("/msg wasmqq !echo only for alice").await;
    alice.until(|l| l == "*wasmqq* only for alice").await;
    // Admin commands: refused, then allowed after /auth.
    bob.say("!plugins").await;
    let seen = bob.until(|l| l.starts_with("<wasmqq>")).await;
    assert!(
        seen.last().unwrap().contains("only for bot admins"),
        "{seen:?}"
    );
    bob.say("/auth letmein").await;
    bob.until(|l| l.contains("now an admin")).await;
    bob.say("!plugins").await;
    bob.until(|l| l.starts_with("<wasmqq>") && l.contains("echo"))
        .await;
    // Bob never saw Alice's private exchange.
    bob.say("marker").await;
    let seen = alice.until(|l| l == "<bob> marker").await;
    assert!(
        !seen.iter().any(|l| l.contains("only for alice")),
        "{seen:?}"
    );
    bot.stop().await;
}
