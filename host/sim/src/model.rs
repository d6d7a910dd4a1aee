//! The simulator's public vocabulary: what the control API (`/_sim/*`)
//! and [`crate::SimHandle`] speak. Plain data, so the simulator's state
//! and its control handlers can both use it without importing each other.

use serde::{Deserialize, Serialize};

/// A conversation kind, as the control API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// A friend (buddy) chat.
    Friend,
    /// A group (群).
    Group,
    /// A discussion (讨论组).
    Discussion,
}

/// A message to inject (`POST /_sim/messages`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectMessage {
    /// Which kind of conversation.
    pub chat: ChatKind,
    /// Sender's real QQ number: a friend, or a member of the group or
    /// discussion (the bot itself is allowed there, to emulate an echo).
    pub from: u64,
    /// Group number or discussion id; omitted for friends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// The text; `[face:N]` becomes a face segment.
    pub text: String,
}

/// One message the bot sent (`GET /_sim/sent`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessage {
    /// Which kind of conversation.
    pub chat: ChatKind,
    /// Friend's QQ number, group number or discussion id.
    pub to: u64,
    /// Text segments concatenated, faces as `[face:N]`, other segments as
    /// `[kind]`; the font is dropped.
    pub text: String,
    /// Unix seconds when the simulator accepted it.
    pub time: u64,
    /// The client's `msg_id`, when it sent one.
    pub msg_id: Option<u64>,
}

/// Login and session state (`GET /_sim/state`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimState {
    /// Latest QR code: `none`, `waiting`, `scanned`, `confirmed` or `expired`.
    pub qr: String,
    /// Successful QR logins so far.
    pub logins: u64,
    /// A live login whose check_sig was visited.
    pub logged_in: bool,
    /// Why the current login ended: `kicked`, `expired`, `logged_out`.
    pub login_ended: Option<String>,
    /// The channel session, once login2 happened.
    pub session: Option<SessionState>,
    /// Injected events not yet delivered.
    pub queued_events: usize,
    /// Events delivered through poll2.
    pub delivered_events: u64,
    /// Messages the bot sent.
    pub sent: usize,
    /// Number of poll2 requests held right now.
    pub polls_held: u32,
    /// Armed fault rules.
    pub faults_armed: usize,
    /// Live OneBot WebSocket connections (forward and reverse).
    #[serde(default)]
    pub onebot_connections: usize,
}

/// The current channel session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// login2's psessionid.
    pub psessionid: String,
    /// The clientid given to login2.
    pub clientid: u64,
    /// get_online_buddies2 was called.
    pub activated: bool,
    /// The usable vfwebqq (getvfwebqq's).
    pub vfwebqq: String,
    /// The current ptwebqq cookie value.
    pub ptwebqq: String,
    /// Pseudonyms of this login, for tests that check mappings.
    pub ids: Pseudonyms,
}

/// Public number → session pseudonym of the current login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pseudonyms {
    /// `[qq, uin]` for every user.
    pub users: Vec<[u64; 2]>,
    /// `[number, gid, code]` for every group.
    pub groups: Vec<[u64; 3]>,
    /// `[id, did]` for every discussion.
    pub discussions: Vec<[u64; 2]>,
}

/// A refused control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The sender is not a friend of the bot.
    #[error("from: {0} is not a friend of the bot")]
    NotAFriend(u64),
    /// No such group number.
    #[error("to: no group with number {0}")]
    UnknownGroup(u64),
    /// No such discussion id.
    #[error("to: no discussion with id {0}")]
    UnknownDiscussion(u64),
    /// The sender is not a member.
    #[error("from: {qq} is not a member of {chat} {to}")]
    NotAMember {
        /// Sender.
        qq: u64,
        /// `group` or `discussion`.
        chat: &'static str,
        /// Group number or discussion id.
        to: u64,
    },
    /// `to` missing for a group/discussion message.
    #[error("to: required for {0} messages (group number or discussion id)")]
    MissingTo(&'static str),
    /// `to` given for a friend message.
    #[error("to: not allowed for friend messages (the recipient is the bot)")]
    UnexpectedTo,
    /// A kick or expiry without a session.
    #[error("no live session to {0}")]
    NoSession(&'static str),
    /// QR scan/confirm without a pending QR code.
    #[error("no QR code is waiting (fetch ptqrshow first, or it expired or was used)")]
    NoQrWaiting,
    /// A bad fault request.
    #[error("fault: {0}")]
    BadFault(#[from] crate::faults::FaultSpecError),
    /// A discussion message while the face is OneBot v11 (which has no
    /// discussions).
    #[error(
        "chat: discussions do not exist in OneBot v11 (the simulator's face is onebot); use a friend or a group"
    )]
    NoDiscussionsInOneBot,
    /// A OneBot incident while the face is WebQQ.
    #[error("fault: {0} needs the OneBot face (SimConfig::onebot / --face onebot)")]
    NotOneBot(&'static str),
}
