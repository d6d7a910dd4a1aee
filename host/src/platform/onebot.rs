//! A OneBot v11 account: [`wasmqq_onebot::Client`] (wasmqq in the framework
//! role, talking to NapCat, Lagrange.OneBot or any implementation) behind
//! the [`Platform`] seam.
//!
//! OneBot speaks in QQ numbers and group numbers, stable across logins, so
//! chats are keyed by id (`group#123456`), not by name, and renaming a
//! group keeps its settings. Admins are recognised by QQ number directly.
//! Discussions do not exist in OneBot v11. Received images, replies and
//! other segments plugins have no type for are dropped from the text;
//! mentions arrive as ABI mentions and leave as `@name` text.

use std::sync::Arc;

use tokio::sync::mpsc;
use wasmqq_onebot as onebot;
use wasmqq_onebot::{AtTarget, Client, Event, MessageType};
use wasmqq_webqq as webqq;

use super::{BoxFuture, Platform, PlatformEvent};
use crate::abi::{self, Chat, ChatKind, HostError, Segment};
use crate::capabilities::{Contact, ContactDirectory};
use crate::dispatch::{ChatAddress, Incoming};
use crate::outbox::{Delivery, OutMessage};

/// A connected OneBot v11 account.
pub struct OnebotAccount {
    client: Client,
}

impl OnebotAccount {
    /// Connects (see [`Client::connect`] for what each mode waits for)
    /// and starts forwarding the messages of `account` to `events`.
    pub async fn connect(
        account: Arc<str>,
        config: onebot::Config,
        events: mpsc::Sender<PlatformEvent>,
    ) -> Result<OnebotAccount, onebot::Error> {
        let (client, mut stream) = Client::connect(config).await?;
        let pump = client.clone();
        tokio::spawn(async move {
            while let Some(event) = stream.recv().await {
                match event {
                    Event::Message(m) => {
                        if m.user_id == pump.self_id() {
                            continue;
                        }
                        let Some(incoming) = incoming(&account, &m, &pump) else {
                            tracing::warn!(account = %account, message_id = m.message_id, "a group message without group_id; skipped");
                            continue;
                        };
                        if events.send(PlatformEvent::Message(incoming)).await.is_err() {
                            break;
                        }
                    }
                    Event::Connected => tracing::info!(account = %account, "OneBot connected"),
                    Event::Disconnected { reason } => {
                        tracing::warn!(account = %account, reason, "OneBot connection lost; reconnecting")
                    }
                    Event::Meta(_) => {}
                    other => tracing::debug!(account = %account, event = ?other, "OneBot event"),
                }
            }
        });
        Ok(OnebotAccount { client })
    }
}

/// A received OneBot message as the dispatcher's [`Incoming`].
fn incoming(account: &Arc<str>, m: &onebot::MessageEvent, client: &Client) -> Option<Incoming> {
    let chat = match m.message_type {
        MessageType::Private => Chat {
            kind: ChatKind::Friend,
            id: m.user_id,
        },
        MessageType::Group => Chat {
            kind: ChatKind::Group,
            id: m.group_id?,
        },
    };
    let segments = m
        .message
        .iter()
        .filter_map(|s| match s {
            onebot::Segment::Text(t) => Some(Segment::Text(t.clone())),
            onebot::Segment::Face(id) => Some(Segment::Face(*id)),
            onebot::Segment::At(AtTarget::Qq(qq)) => Some(Segment::Mention(*qq)),
            onebot::Segment::At(AtTarget::All) => Some(Segment::Text("@all ".into())),
            _ => None,
        })
        .collect();
    let sender_name = [&m.sender.card, &m.sender.nickname]
        .into_iter()
        .find(|n| !n.is_empty())
        .cloned()
        .or_else(|| name_in(&client.contacts(), chat, m.user_id))
        .unwrap_or_else(|| m.user_id.to_string());
    Some(Incoming {
        message: abi::Message {
            id: m.message_id as u64,
            chat,
            sender: m.user_id,
            sender_name,
            segments,
            time: m.time.max(0) as u64,
        },
        chat: ChatAddress::on(account.clone(), chat, None),
        sender_qq: Some(m.user_id),
        sender_admin: false,
    })
}

/// The name of `user` as the chat knows them: a group card or nickname, a
/// friend's remark or nickname.
fn name_in(book: &onebot::Contacts, chat: Chat, user: u64) -> Option<String> {
    let name = match chat.kind {
        ChatKind::Group => book
            .groups
            .get(&chat.id)
            .and_then(|g| g.members.get(&user))
            .map(|m| m.display_name().to_string()),
        _ => book
            .friends
            .get(&user)
            .map(|f| f.display_name().to_string()),
    };
    name.filter(|n| !n.is_empty())
}

impl Platform for OnebotAccount {
    fn kind(&self) -> &'static str {
        "onebot"
    }

    fn self_id(&self) -> u64 {
        self.client.self_id()
    }

    fn outgoing(&self, chat: Chat, segments: &[Segment], origin: &str) -> OutMessage {
        let book = self.client.contacts();
        let segments = segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => webqq::Segment::Text(t.clone()),
                Segment::Face(id) => webqq::Segment::Face(*id),
                Segment::Mention(qq) => {
                    let name = name_in(&book, chat, *qq).unwrap_or_else(|| qq.to_string());
                    webqq::Segment::Text(format!("@{name} "))
                }
            })
            .collect();
        OutMessage::new(chat.into(), segments, origin)
    }

    fn admin_chats(&self, admins: &[u64]) -> Vec<Chat> {
        let book = self.client.contacts();
        admins
            .iter()
            .filter(|qq| book.friends.contains_key(qq))
            .map(|qq| Chat {
                kind: ChatKind::Friend,
                id: *qq,
            })
            .collect()
    }

    fn contacts(&self) -> Arc<dyn ContactDirectory> {
        Arc::new(OnebotContacts(self.client.clone()))
    }

    /// `send_private_msg` / `send_group_msg`. Failures the implementation
    /// or the network may get over (a lost connection, a timeout, a failed
    /// action other than a bad request) are retried by the outbox; a bad
    /// request (1400), an unsupported action (1404) or a discussion are
    /// not.
    fn deliver<'a>(&'a self, msg: &'a OutMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let segments: Vec<onebot::Segment> = msg
                .segments
                .iter()
                .map(|s| match s {
                    webqq::Segment::Text(t) => onebot::Segment::Text(t.clone()),
                    webqq::Segment::Face(id) => onebot::Segment::Face(*id),
                })
                .collect();
            let result = match msg.chat.kind {
                webqq::ChatKind::Friend => {
                    self.client.send_private_msg(msg.chat.id, &segments).await
                }
                webqq::ChatKind::Group => self.client.send_group_msg(msg.chat.id, &segments).await,
                other => {
                    return Delivery::Failed(format!("OneBot v11 cannot send to a {other:?} chat"));
                }
            };
            match result {
                Ok(_) => Delivery::Delivered,
                Err(onebot::Error::Shutdown) => Delivery::Stopped,
                Err(e) if e.is_transient() => Delivery::Retry(e.to_string()),
                Err(e @ onebot::Error::EmptyMessage { .. }) => Delivery::Failed(e.to_string()),
                Err(e) if matches!(e.retcode(), Some(1400 | 1404)) => {
                    Delivery::Failed(e.to_string())
                }
                Err(e) => Delivery::Retry(e.to_string()),
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.client.shutdown())
    }
}

/// The `contacts` capability over the adapter's contact cache.
struct OnebotContacts(Client);

impl ContactDirectory for OnebotContacts {
    fn friends(&self) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        Ok(book
            .friends
            .values()
            .map(|f| Contact {
                id: f.user_id,
                name: f.display_name().to_string(),
            })
            .collect())
    }

    fn chats(&self) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        Ok(book
            .groups
            .values()
            .map(|g| Contact {
                id: g.group_id,
                name: g.name.clone(),
            })
            .collect())
    }

    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        match (chat.kind, book.groups.get(&chat.id)) {
            (ChatKind::Group, Some(g)) => Ok(g
                .members
                .values()
                .map(|m| Contact {
                    id: m.user_id,
                    name: m.display_name().to_string(),
                })
                .collect()),
            _ => Err(HostError::Invalid(format!(
                "{} {} is not a group the bot is in",
                chat.kind, chat.id
            ))),
        }
    }
}
