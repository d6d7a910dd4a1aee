//! The WebQQ (SmartQQ) account: [`wasmqq_webqq::Client`] behind the
//! [`Platform`] seam.
//!
//! Admins are QQ numbers, which SmartQQ reveals only for the account itself
//! and discussion members (`ruin`): an admin is recognised, and can be told
//! things privately, once they share a discussion with the bot (and, for a
//! private notice, are its friend).

use std::sync::Arc;

use tokio::sync::mpsc;
use wasmqq_webqq::{Client, ClientConfig, Event, Observer};

use super::webqq_contacts::ClientContacts;
use super::webqq_convert as convert;
use super::{BoxFuture, Platform, PlatformEvent};
use crate::abi::{Chat, ChatKind, Segment};
use crate::capabilities::ContactDirectory;
use crate::outbox::{Deliver, Delivery, OutMessage};

/// A logged-in WebQQ account.
pub struct WebqqAccount {
    client: Client,
}

impl WebqqAccount {
    /// Logs in (restoring the saved session when the server accepts it)
    /// and starts forwarding the client's messages of `account` to
    /// `events`.
    pub async fn connect(
        account: Arc<str>,
        config: ClientConfig,
        observer: Observer,
        events: mpsc::Sender<PlatformEvent>,
    ) -> Result<WebqqAccount, wasmqq_webqq::Error> {
        let client = Client::connect(config, observer).await?;
        let mut stream = client
            .events()
            .expect("a freshly connected client hands out its events");
        let pump = client.clone();
        tokio::spawn(async move {
            loop {
                let event = match stream.recv().await {
                    Some(Event::Message(m)) => {
                        let own = pump.uin();
                        if m.sender == own {
                            continue;
                        }
                        let book = pump.contacts();
                        PlatformEvent::Message(convert::incoming(&account, &m, &book, own))
                    }
                    Some(Event::Stopped { reason }) => PlatformEvent::Stopped {
                        account: account.clone(),
                        reason: format!("WebQQ client stopped: {reason}"),
                    },
                    Some(other) => {
                        tracing::info!(account = %account, event = ?other, "WebQQ event");
                        continue;
                    }
                    // Shut down: the bot is stopping.
                    None => break,
                };
                let stopped = matches!(event, PlatformEvent::Stopped { .. });
                if events.send(event).await.is_err() || stopped {
                    break;
                }
            }
        });
        Ok(WebqqAccount { client })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Platform for WebqqAccount {
    fn kind(&self) -> &'static str {
        "webqq"
    }

    fn self_id(&self) -> u64 {
        self.client.uin()
    }

    fn outgoing(&self, chat: Chat, segments: &[Segment], origin: &str) -> OutMessage {
        let book = self.client.contacts();
        let target = convert::chat_ref(chat);
        OutMessage::new(
            target,
            convert::segments_out(segments, &book, target),
            origin,
        )
        .named(&book)
    }

    /// The friends among the admins whose QQ numbers SmartQQ revealed (see
    /// the module docs).
    fn admin_chats(&self, admins: &[u64]) -> Vec<Chat> {
        let book = self.client.contacts();
        admins
            .iter()
            .filter_map(|qq| convert::uin_of(&book, *qq))
            .filter(|uin| book.friends.contains_key(uin))
            .map(|uin| Chat {
                kind: ChatKind::Friend,
                id: uin,
            })
            .collect()
    }

    fn contacts(&self) -> Arc<dyn ContactDirectory> {
        Arc::new(ClientContacts(self.client.clone()))
    }

    fn deliver<'a>(&'a self, msg: &'a OutMessage) -> BoxFuture<'a, Delivery> {
        Box::pin(Deliver::deliver(&self.client, msg))
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.client.shutdown())
    }
}
