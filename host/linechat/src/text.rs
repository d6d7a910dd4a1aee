//! Every line the room writes to a client, in one place.
//!
//! Conventions: chat is `<nick> text`, private lines are `*nick* text`, and
//! everything the room itself says (joins, leaves, answers to commands,
//! refusals) starts with `* `, as `/me` actions do — the IRC client look. The
//! two exceptions are the nickname prompt, `Choose a nickname:`, which a
//! script can wait for, and the line of a refused connection.
//!
//! [`sanitize`] is applied to everything relayed from a user or the bot.

use crate::nick::MAX_NICK_CHARS;

/// The nickname prompt, sent after the welcome and after each refusal.
pub(crate) const PROMPT: &str = "Choose a nickname:";

/// Removes what could drive a terminal: control characters other than tab
/// (C0 incl. ESC, DEL, C1 incl. the 8-bit CSI U+009B) and the Unicode
/// bidirectional embeddings, overrides and isolates, which can make a line
/// display differently from what it says.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// First line on connect.
pub(crate) fn welcome(room: &str, bot: &str) -> String {
    format!(
        "* Welcome to {room}! Room commands: /msg NICK text, /nick NEW, /who, /me action, \
         /auth PASSWORD, /quit. Any other line is said in the room; {bot} is the bot here (try !help)."
    )
}

/// The reason a nickname was refused.
pub(crate) fn nick_invalid(nick: &str, reason: impl std::fmt::Display) -> String {
    format!(
        "* Nickname {nick:?} is not valid: {reason}. Use 1-{MAX_NICK_CHARS} letters, digits, '_' or '-'."
    )
}

/// A nickname someone else (or the bot) has.
pub(crate) fn nick_taken(nick: &str) -> String {
    format!("* Nickname {nick:?} is taken.")
}

/// `/nick` to the nickname one already has.
pub(crate) fn nick_unchanged(nick: &str) -> String {
    format!("* You are already {nick}.")
}

/// Broadcast when a user has chosen their nickname.
pub(crate) fn joined(nick: &str) -> String {
    format!("* {nick} joined")
}

/// Broadcast when a user leaves; `why` is empty for a plain quit or hang-up.
pub(crate) fn left(nick: &str, why: &str) -> String {
    if why.is_empty() {
        format!("* {nick} left")
    } else {
        format!("* {nick} left ({why})")
    }
}

/// Broadcast on `/nick`.
pub(crate) fn renamed(old: &str, new: &str) -> String {
    format!("* {old} is now known as {new}")
}

/// A room line.
pub(crate) fn said(nick: &str, text: &str) -> String {
    format!("<{nick}> {text}")
}

/// A private line, as its recipient sees it.
pub(crate) fn private(from: &str, text: &str) -> String {
    format!("*{from}* {text}")
}

/// A `/me` action.
pub(crate) fn action(nick: &str, text: &str) -> String {
    format!("* {nick} {text}")
}

/// The answer to `/who`: the bot first, then users in the order they came.
pub(crate) fn who<'a>(
    room: &str,
    bot: &'a str,
    users: impl ExactSizeIterator<Item = &'a str>,
) -> String {
    let n = users.len() + 1;
    let names: Vec<&str> = std::iter::once(bot).chain(users).collect();
    format!("* In {room} ({n}): {}", names.join(", "))
}

/// An over-long line was refused.
pub(crate) fn too_long(max: usize) -> String {
    format!("* Line too long (over {max} bytes), not sent.")
}

/// The only line a connection over `max_clients` gets.
pub(crate) fn room_full(max: usize) -> String {
    format!("* Sorry, room full ({max} connections). Try again later.\r\n")
}

/// `/msg` to a nickname nobody has.
pub(crate) fn no_such_nick(nick: &str) -> String {
    format!("* No such nick: {nick}")
}

/// The usage line of a room command given without its arguments.
pub(crate) fn usage(command: &str) -> String {
    let args = match command {
        "msg" => "NICK text",
        "nick" => "NEW",
        "me" => "action",
        "auth" => "PASSWORD",
        _ => "",
    };
    format!("* Usage: /{command} {args}")
}

/// `/auth` without an admin password configured.
pub(crate) const AUTH_DISABLED: &str = "* /auth is not enabled in this room.";
/// `/auth` with the right password.
pub(crate) const AUTH_OK: &str = "* You are now an admin.";
/// `/auth` when already admin.
pub(crate) const AUTH_ALREADY: &str = "* You are already an admin.";

/// `/auth` with a wrong password that is not yet the last allowed.
pub(crate) fn auth_wrong(left: u32) -> String {
    let s = if left == 1 { "" } else { "s" };
    format!("* Wrong password ({left} attempt{s} left).")
}

/// The last line before the room closes a connection, by reason.
pub(crate) const BYE_QUIT: &str = "* Bye.";
/// Closed for too many wrong `/auth` passwords.
pub(crate) const BYE_AUTH: &str = "* Too many wrong passwords. Bye.";
/// Closed because the room shuts down.
pub(crate) const BYE_SHUTDOWN: &str = "* The room is shutting down. Bye.";

/// Closed for not choosing a nickname in time.
pub(crate) fn bye_nick_timeout(limit: std::time::Duration) -> String {
    format!("* No nickname chosen in {limit:?}. Bye.")
}

/// Written (best effort, without waiting) to a client dropped as too slow.
pub(crate) fn bye_too_slow(queue: usize) -> String {
    format!("\r\n* Disconnected: too slow ({queue} lines waiting).\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_terminal_controls_but_keeps_tab_and_text() {
        assert_eq!(sanitize("a\x1b[31mred\x1b[0m"), "a[31mred[0m");
        assert_eq!(sanitize("bell\x07 del\x7f csi\u{9b}2J"), "bell del csi2J");
        assert_eq!(sanitize("tab\there"), "tab\there");
        assert_eq!(sanitize("evil\u{202e}txt.exe"), "eviltxt.exe");
        assert_eq!(sanitize("héllo 你好 🎲"), "héllo 你好 🎲");
    }

    #[test]
    fn who_lists_the_bot_first() {
        assert_eq!(
            who("lobby", "wasmqq", ["alice", "bob"].into_iter()),
            "* In lobby (3): wasmqq, alice, bob"
        );
    }
}
