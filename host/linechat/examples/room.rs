//! A chat room with a toy bot, to try the room by hand:
//!
//! ```text
//! cargo run -p wasmqq-linechat --example room -- 127.0.0.1:7777 [ADMIN_PASSWORD]
//! nc 127.0.0.1 7777
//! ```
//!
//! The bot answers `!help`, `!roll` and `!users` in the room and privately;
//! the real bot's commands come from wasmqq's plugins. Ctrl-C shuts the room
//! down cleanly.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use wasmqq_linechat::{Room, RoomConfig, RoomEvent, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:7777").parse()?;
    let config = RoomConfig {
        listen,
        admin_password: args.next(),
        ..RoomConfig::default()
    };
    let (room, mut inbox) = Room::start(config).await?;
    println!(
        "chat room on {} — try: nc {} {}",
        room.local_addr(),
        room.local_addr().ip(),
        room.local_addr().port()
    );

    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64 | 1;
    loop {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = inbox.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        println!("{event:?}");
        let (from, text, private) = match event {
            RoomEvent::Said { from, text } => (from, text, false),
            RoomEvent::Private { from, text } => (from, text, true),
            _ => continue,
        };
        let Some(answer) = answer(&room, &from, &text, &mut seed) else {
            continue;
        };
        let sent = if private {
            room.tell(from.id, &answer)
        } else {
            room.say(&answer)
        };
        if let Err(e) = sent {
            eprintln!("{e}");
        }
    }
    room.shutdown().await;
    Ok(())
}

fn answer(room: &Room, from: &User, text: &str, seed: &mut u64) -> Option<String> {
    let mut words = text.split_whitespace();
    match words.next()? {
        "!help" => {
            Some("Commands: !help, !roll [SIDES], !users\n(/msg wasmqq !roll works too)".into())
        }
        "!roll" => {
            let sides: u64 = words
                .next()
                .and_then(|w| w.parse().ok())
                .filter(|&n| n > 0)
                .unwrap_or(6);
            // xorshift: a toy bot needs no better dice.
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            Some(format!(
                "{} rolled {} (1-{sides})",
                from.nick,
                *seed % sides + 1
            ))
        }
        "!users" => {
            let users: Vec<String> = room
                .users()
                .into_iter()
                .map(|u| {
                    if u.admin {
                        format!("{} (admin)", u.nick)
                    } else {
                        u.nick
                    }
                })
                .collect();
            Some(format!("{} here: {}", users.len(), users.join(", ")))
        }
        _ => None,
    }
}
