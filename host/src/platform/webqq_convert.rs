//! Between the WebQQ client's types and the plugin ABI's.

use wasmqq_webqq as webqq;

use crate::abi::{self, Chat, Segment};
use crate::dispatch::{ChatAddress, Incoming};

/// The ABI chat of a client chat (the conversion is `From`, owned by the
/// types).
pub fn chat(c: webqq::ChatRef) -> Chat {
    c.into()
}

/// The client chat of an ABI chat.
pub fn chat_ref(c: Chat) -> webqq::ChatRef {
    c.into()
}

/// ABI segments as client segments: mentions become `@name` text.
pub fn segments_out(
    segments: &[Segment],
    book: &webqq::ContactBook,
    chat: webqq::ChatRef,
) -> Vec<webqq::Segment> {
    segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => webqq::Segment::Text(t.clone()),
            Segment::Face(id) => webqq::Segment::Face(*id),
            Segment::Mention(uin) => {
                let name = book
                    .sender_name(chat, *uin)
                    .unwrap_or_else(|| uin.to_string());
                webqq::Segment::Text(format!("@{name} "))
            }
        })
        .collect()
}

/// The real QQ number behind a session uin, where SmartQQ reveals it: the
/// account itself, and discussion members (`ruin`).
pub fn real_qq(book: &webqq::ContactBook, own_uin: u64, uin: u64) -> Option<u64> {
    if uin == own_uin || uin == book.me.uin {
        return Some(book.me.uin);
    }
    book.discussions
        .values()
        .flat_map(|d| d.members.values())
        .find(|m| m.uin == uin)
        .and_then(|m| m.qq)
}

/// The session uin of the person with QQ number `qq`, where SmartQQ reveals
/// it (see [`real_qq`]).
pub fn uin_of(book: &webqq::ContactBook, qq: u64) -> Option<u64> {
    book.discussions
        .values()
        .flat_map(|d| d.members.values())
        .find(|m| m.qq == Some(qq))
        .map(|m| m.uin)
}

/// A received client message of `account`, ready for dispatch.
pub fn incoming(
    account: &std::sync::Arc<str>,
    m: &webqq::Message,
    book: &webqq::ContactBook,
    own_uin: u64,
) -> Incoming {
    let chat_abi = chat(m.chat);
    let segments = m
        .segments
        .iter()
        .map(|s| match s {
            webqq::Segment::Text(t) => Segment::Text(t.clone()),
            webqq::Segment::Face(id) => Segment::Face(*id),
        })
        .collect();
    let sender_name = m
        .sender_name
        .clone()
        .or_else(|| book.sender_name(m.chat, m.sender))
        .unwrap_or_else(|| m.sender.to_string());
    Incoming {
        message: abi::Message {
            id: m.msg_id,
            chat: chat_abi,
            sender: m.sender,
            sender_name,
            segments,
            time: m.time,
        },
        chat: ChatAddress::on(account.clone(), chat_abi, book.chat_name(m.chat)),
        sender_qq: real_qq(book, own_uin, m.sender),
        sender_admin: false,
    }
}
