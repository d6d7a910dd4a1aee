//! The line chat room (`platform = "linechat"`): a [`wasmqq_linechat::Room`]
//! people join with `nc`/telnet, the bot a member, behind the [`Platform`]
//! seam.
//!
//! The room is one group chat, id [`ROOM_ID`], named after the room; a
//! private line (`/msg wasmqq …`) is a friend chat whose id is the
//! connection's and whose name is the sender's nickname (a message queued
//! for someone who reconnected finds them by nickname). Room users have no
//! QQ numbers: admins are the connections that gave the room's
//! `admin_password` with `/auth`. `/me` lines are not commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use wasmqq_linechat::{Room, RoomConfig, RoomEvent, User};
use wasmqq_webqq as webqq;

use super::{BoxFuture, Platform, PlatformEvent};
use crate::abi::{self, Chat, ChatKind, HostError, Segment};
use crate::capabilities::{Contact, ContactDirectory};
use crate::dispatch::{ChatAddress, Incoming};
use crate::outbox::{Delivery, OutMessage};

/// The group id of the room.
pub const ROOM_ID: u64 = 1;

/// A running room with the bot in it.
pub struct LinechatAccount {
    room: Room,
}

impl LinechatAccount {
    /// Opens the room and starts forwarding what is said to the bot (the
    /// room and private lines) as messages of `account`.
    pub async fn start(
        account: Arc<str>,
        config: RoomConfig,
        events: mpsc::Sender<PlatformEvent>,
    ) -> Result<LinechatAccount, wasmqq_linechat::Error> {
        let (room, mut inbox) = Room::start(config).await?;
        tracing::info!(account = %account, addr = %room.local_addr(), "line chat room listening");
        let room_name = room.config().room_name.clone();
        tokio::spawn(async move {
            let ids = AtomicU64::new(1);
            while let Some(event) = inbox.recv().await {
                let (from, text, chat, name) = match event {
                    RoomEvent::Said { from, text } => {
                        let chat = Chat {
                            kind: ChatKind::Group,
                            id: ROOM_ID,
                        };
                        (from, text, chat, room_name.clone())
                    }
                    RoomEvent::Private { from, text } => {
                        let chat = Chat {
                            kind: ChatKind::Friend,
                            id: from.id,
                        };
                        let nick = from.nick.clone();
                        (from, text, chat, nick)
                    }
                    _ => continue,
                };
                let incoming = incoming(
                    &account,
                    ids.fetch_add(1, Ordering::Relaxed),
                    from,
                    text,
                    chat,
                    name,
                );
                if events.send(PlatformEvent::Message(incoming)).await.is_err() {
                    break;
                }
            }
        });
        Ok(LinechatAccount { room })
    }

    /// The room.
    pub fn room(&self) -> &Room {
        &self.room
    }
}

fn incoming(
    account: &Arc<str>,
    id: u64,
    from: User,
    text: String,
    chat: Chat,
    name: String,
) -> Incoming {
    Incoming {
        message: abi::Message {
            id,
            chat,
            sender: from.id,
            sender_name: from.nick,
            segments: vec![Segment::Text(text)],
            time: crate::clock::unix_ms() / 1000,
        },
        chat: ChatAddress::on(account.clone(), chat, Some(name)),
        sender_qq: None,
        sender_admin: from.admin,
    }
}

impl Platform for LinechatAccount {
    fn kind(&self) -> &'static str {
        "linechat"
    }

    fn self_id(&self) -> u64 {
        0
    }

    /// Plain text: faces as `[face:N]`, mentions as `@nick`.
    fn outgoing(&self, chat: Chat, segments: &[Segment], origin: &str) -> OutMessage {
        let mut text = String::new();
        for s in segments {
            match s {
                Segment::Text(t) => text.push_str(t),
                Segment::Face(id) => text.push_str(&format!("[face:{id}]")),
                Segment::Mention(id) => match self.room.user(*id) {
                    Some(u) => text.push_str(&format!("@{} ", u.nick)),
                    None => text.push_str(&format!("@{id} ")),
                },
            }
        }
        let mut msg = OutMessage::new(chat.into(), vec![webqq::Segment::Text(text)], origin);
        msg.chat_name = match chat.kind {
            ChatKind::Group => Some(self.room.config().room_name.clone()),
            _ => self.room.user(chat.id).map(|u| u.nick),
        };
        msg
    }

    /// The connections that are admins (`/auth`); QQ numbers mean nothing
    /// here.
    fn admin_chats(&self, _admins: &[u64]) -> Vec<Chat> {
        self.room
            .users()
            .into_iter()
            .filter(|u| u.admin)
            .map(|u| Chat {
                kind: ChatKind::Friend,
                id: u.id,
            })
            .collect()
    }

    fn contacts(&self) -> Arc<dyn ContactDirectory> {
        Arc::new(RoomContacts(self.room.clone()))
    }

    /// Said in the room, or told privately: to the connection, else to
    /// whoever has the nickname now. Someone gone is retried (they may
    /// come back) within the outbox's attempts.
    fn deliver<'a>(&'a self, msg: &'a OutMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let text: String = msg
                .segments
                .iter()
                .map(|s| match s {
                    webqq::Segment::Text(t) => t.clone(),
                    webqq::Segment::Face(id) => format!("[face:{id}]"),
                })
                .collect();
            let result = match msg.chat.kind {
                webqq::ChatKind::Group if msg.chat.id == ROOM_ID => self.room.say(&text),
                webqq::ChatKind::Friend => match self.room.tell(msg.chat.id, &text) {
                    Err(wasmqq_linechat::Error::NoSuchUser { .. }) => match &msg.chat_name {
                        Some(nick) => self.room.tell_nick(nick, &text),
                        None => {
                            return Delivery::Retry(format!(
                                "user {} is not connected",
                                msg.chat.id
                            ));
                        }
                    },
                    other => other,
                },
                _ => return Delivery::Failed(format!("no such chat in the room: {}", msg.chat)),
            };
            match result {
                Ok(()) => Delivery::Delivered,
                Err(wasmqq_linechat::Error::Closed { .. }) => Delivery::Stopped,
                Err(e) => Delivery::Retry(e.to_string()),
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.room.shutdown())
    }
}

/// The room's people as contacts: every connected user a "friend", the
/// room the one chat.
struct RoomContacts(Room);

impl ContactDirectory for RoomContacts {
    fn friends(&self) -> Result<Vec<Contact>, HostError> {
        Ok(self
            .0
            .users()
            .into_iter()
            .map(|u| Contact {
                id: u.id,
                name: u.nick,
            })
            .collect())
    }

    fn chats(&self) -> Result<Vec<Contact>, HostError> {
        Ok(vec![Contact {
            id: ROOM_ID,
            name: self.0.config().room_name.clone(),
        }])
    }

    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        if chat.kind != ChatKind::Group || chat.id != ROOM_ID {
            return Err(HostError::Invalid(format!(
                "{} {} is not the room",
                chat.kind, chat.id
            )));
        }
        self.friends()
    }
}
