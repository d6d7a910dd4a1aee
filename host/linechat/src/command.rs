//! A line from a user with a nickname → what the room does with it.
//!
//! Only the room's own commands are consumed: `/msg`, `/nick`, `/who`,
//! `/me`, `/auth` and `/quit` (command words are case-insensitive). Every
//! other line — `/help`, `/roll`, `!roll`, plain text — is speech, said in
//! the room, so the bot can answer whatever command syntax its plugins use.
//! A blank line is ignored.

/// What a line asks the room to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// Say the line in the room.
    Say(&'a str),
    /// `/me action`.
    Me(&'a str),
    /// `/msg NICK text`.
    Msg {
        /// The nickname (non-empty, no whitespace).
        to: &'a str,
        /// The text (not blank, no leading whitespace).
        text: &'a str,
    },
    /// `/nick NEW`.
    Nick(&'a str),
    /// `/who`.
    Who,
    /// `/auth PASSWORD` (everything after the word, trimmed).
    Auth(&'a str),
    /// `/quit` (anything after it is ignored).
    Quit,
    /// A room command without the arguments it needs; names the command.
    Usage(&'static str),
    /// A blank line.
    Nothing,
}

impl<'a> Command<'a> {
    /// Parses one (already sanitised) line.
    pub fn parse(line: &'a str) -> Command<'a> {
        if line.trim().is_empty() {
            return Command::Nothing;
        }
        let Some(rest) = line.strip_prefix('/') else {
            return Command::Say(line);
        };
        let (word, args) = match rest.split_once([' ', '\t']) {
            Some((word, args)) => (word, args),
            None => (rest, ""),
        };
        let word = word.to_ascii_lowercase();
        let trimmed = args.trim();
        match word.as_str() {
            "msg" => {
                // The nick ends at the first whitespace of any kind, the
                // same notion of whitespace `trim` uses: splitting on ASCII
                // space and tab only gave `/msg bob\u{3000}hi` (a full-width
                // space, as an IME types it) the nick "bob\u{3000}hi".
                let (to, text) = match trimmed.split_once(char::is_whitespace) {
                    Some((to, text)) => (to, text.trim_start()),
                    None => (trimmed, ""),
                };
                if to.is_empty() || text.trim().is_empty() {
                    Command::Usage("msg")
                } else {
                    Command::Msg { to, text }
                }
            }
            "nick" if trimmed.is_empty() => Command::Usage("nick"),
            "nick" => Command::Nick(trimmed),
            "who" => Command::Who,
            "me" if trimmed.is_empty() => Command::Usage("me"),
            "me" => Command::Me(trimmed),
            // Inner spaces belong to the password; outer ones are typing.
            "auth" if trimmed.is_empty() => Command::Usage("auth"),
            "auth" => Command::Auth(trimmed),
            "quit" => Command::Quit,
            _ => Command::Say(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_commands_are_consumed() {
        assert_eq!(
            Command::parse("/msg bob hi there"),
            Command::Msg {
                to: "bob",
                text: "hi there"
            }
        );
        assert_eq!(
            Command::parse("/MSG bob  hi"),
            Command::Msg {
                to: "bob",
                text: "hi"
            }
        );
        assert_eq!(Command::parse("/nick  carol "), Command::Nick("carol"));
        assert_eq!(Command::parse("/who"), Command::Who);
        assert_eq!(Command::parse("/me waves"), Command::Me("waves"));
        assert_eq!(Command::parse("/auth s3 cret"), Command::Auth("s3 cret"));
        assert_eq!(Command::parse("/quit bye all"), Command::Quit);
    }

    #[test]
    fn a_msg_nick_ends_at_any_whitespace() {
        // Regression (found while writing the linechat_input fuzz target):
        // the nick was split off on ' ' and '\t' only, so a full-width or
        // no-break space stayed inside it.
        assert_eq!(
            Command::parse("/msg bob\u{3000}hi there"),
            Command::Msg {
                to: "bob",
                text: "hi there"
            }
        );
        assert_eq!(
            Command::parse("/msg bob\u{a0}\u{2003} hi"),
            Command::Msg {
                to: "bob",
                text: "hi"
            }
        );
        assert_eq!(Command::parse("/msg bob\u{3000}"), Command::Usage("msg"));
    }

    #[test]
    fn missing_arguments_give_usage() {
        assert_eq!(Command::parse("/msg"), Command::Usage("msg"));
        assert_eq!(Command::parse("/msg bob"), Command::Usage("msg"));
        assert_eq!(Command::parse("/msg bob   "), Command::Usage("msg"));
        assert_eq!(Command::parse("/nick"), Command::Usage("nick"));
        assert_eq!(Command::parse("/me"), Command::Usage("me"));
        assert_eq!(Command::parse("/auth"), Command::Usage("auth"));
    }

    #[test]
    fn everything_else_is_speech() {
        assert_eq!(Command::parse("hello"), Command::Say("hello"));
        assert_eq!(Command::parse("/help"), Command::Say("/help"));
        assert_eq!(Command::parse("/roll 2d6"), Command::Say("/roll 2d6"));
        assert_eq!(Command::parse("/whois bob"), Command::Say("/whois bob"));
        assert_eq!(Command::parse("!roll"), Command::Say("!roll"));
        assert_eq!(Command::parse("/"), Command::Say("/"));
        assert_eq!(Command::parse("   "), Command::Nothing);
        assert_eq!(Command::parse(""), Command::Nothing);
    }
}
