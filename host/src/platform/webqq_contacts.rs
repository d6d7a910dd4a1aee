//! The `contacts` capability over the WebQQ client's contact cache.

use wasmqq_webqq::Client;

use super::webqq_convert as convert;
use crate::abi::{Chat, ChatKind, HostError};
use crate::capabilities::{Contact, ContactDirectory};

/// Contact look-up answered from the client's cache.
pub struct ClientContacts(pub Client);

impl ContactDirectory for ClientContacts {
    fn friends(&self) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        Ok(book
            .friends
            .values()
            .map(|f| Contact {
                id: f.uin,
                name: f.display_name().to_string(),
            })
            .collect())
    }

    fn chats(&self) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        let groups = book.groups.values().map(|g| Contact {
            id: g.gid,
            name: g.remark.clone().unwrap_or_else(|| g.name.clone()),
        });
        let discussions = book.discussions.values().map(|d| Contact {
            id: d.did,
            name: d.name.clone(),
        });
        Ok(groups.chain(discussions).collect())
    }

    fn members(&self, chat: Chat) -> Result<Vec<Contact>, HostError> {
        let book = self.0.contacts();
        let target = convert::chat_ref(chat);
        let members = match chat.kind {
            ChatKind::Group => book.groups.get(&chat.id).map(|g| {
                g.members
                    .values()
                    .map(|m| Contact {
                        id: m.uin,
                        name: m.display_name().to_string(),
                    })
                    .collect()
            }),
            ChatKind::Discussion => book.discussions.get(&chat.id).map(|d| {
                d.members
                    .values()
                    .map(|m| Contact {
                        id: m.uin,
                        name: m.nick.clone(),
                    })
                    .collect()
            }),
            _ => None,
        };
        members.ok_or_else(|| {
            HostError::Invalid(format!(
                "{:?} {} is not a group or discussion the bot is in",
                target.kind, chat.id
            ))
        })
    }
}
