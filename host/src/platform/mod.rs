//! The seam between the bot and a chat protocol.
//!
//! The bot needs five things from a protocol, whatever it is: a stream of
//! received messages ([`PlatformEvent`]), a way to deliver an outgoing
//! message ([`Platform::deliver`], one attempt, classified for the outbox's
//! retries), the chat's stable name so a message can find its chat again
//! after ids change ([`Platform::outgoing`]), the contacts plugins may look
//! up ([`Platform::contacts`]), and how to reach the admins privately
//! ([`Platform::admin_chats`]). Admins themselves are recognised by the
//! adapter when it builds an [`Incoming`]: a QQ number where the protocol
//! reveals one (`sender_qq`), or the platform's own word (`sender_admin`).
//!
//! Each `[[accounts]]` entry of the configuration is one [`Platform`]
//! object, made by the adapter of its `platform`: [`webqq`], [`onebot`]
//! (OneBot v11, for NapCat, Lagrange and other implementations) and
//! [`linechat`] (a line-based chat room). Adapters push their events into one channel the bot reads;
//! every [`Incoming`] carries its account in
//! [`ChatAddress::account`](crate::dispatch::ChatAddress::account), and
//! each account has its own outbox and inbound journal.

pub mod linechat;
pub mod onebot;
pub mod webqq;
mod webqq_contacts;
pub mod webqq_convert;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::abi::{Chat, HostError, Segment};
use crate::capabilities::{Contact, ContactDirectory};
use crate::dispatch::Incoming;
use crate::outbox::{Deliver, Delivery, OutMessage};

/// A boxed future of a [`Platform`] method.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an account's adapter tells the bot.
#[derive(Debug)]
pub enum PlatformEvent {
    /// A message for the plugins (never the account's own).
    Message(Incoming),
    /// The account stopped for good (a refused login, a closed
    /// connection that will not come back): the bot stops.
    Stopped {
        /// The account.
        account: Arc<str>,
        /// Why.
        reason: String,
    },
}

/// One account on one protocol, as the bot uses it.
pub trait Platform: Send + Sync + 'static {
    /// The protocol's name as `[[accounts]] platform` spells it.
    fn kind(&self) -> &'static str;

    /// The account's own id on its protocol (a QQ number; for logs).
    fn self_id(&self) -> u64;

    /// `segments` for `chat`, in the outbox's terms: the chat's stable
    /// name filled in (so it is found again after a re-login), mentions
    /// rendered the way the protocol can carry them.
    fn outgoing(&self, chat: Chat, segments: &[Segment], origin: &str) -> OutMessage;

    /// The private chats through which the admins with these QQ numbers
    /// can be reached (those the protocol can address; possibly none).
    fn admin_chats(&self, admins: &[u64]) -> Vec<Chat>;

    /// The `contacts` capability's view of this account.
    fn contacts(&self) -> Arc<dyn ContactDirectory>;

    /// One delivery attempt of `msg` (see [`Deliver`]).
    fn deliver<'a>(&'a self, msg: &'a OutMessage) -> BoxFuture<'a, Delivery>;

    /// Stops the account: ends its event stream, closes connections,
    /// saves what it resumes from.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

/// A [`Platform`] as the outbox's [`Deliver`].
pub struct PlatformDeliver(pub Arc<dyn Platform>);

impl Deliver for PlatformDeliver {
    async fn deliver(&self, msg: &OutMessage) -> Delivery {
        self.0.deliver(msg).await
    }
}

/// The `contacts` capability over every account: each look-up answers
/// from the account of the message or timer being handled.
pub struct AccountContacts(pub HashMap<Arc<str>, Arc<dyn ContactDirectory>>);

impl AccountContacts {
    fn current(&self) -> Result<&Arc<dyn ContactDirectory>, HostError> {
        let account = crate::account::current();
        self.0.get(&account).ok_or_else(|| {
            HostError::Unavailable(format!("no contacts for the account \"{account}\""))
        })
    }
}

impl ContactDirectory for AccountContacts {
    fn friends(&self) -> Result<Vec<Contact>, HostError> {
        self.current()?.friends()
    }

    fn chats(&self) -> Result<Vec<Contact>, HostError> {
        self.current()?.chats()
    }

    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        self.current()?.members(chat)
    }
}
