//! What a nickname may be.
//!
//! Nicknames are ASCII only — letters, digits, `_` and `-`, 1 to
//! [`MAX_NICK_CHARS`] of them — so that "unique case-insensitively" has one
//! obvious meaning (ASCII case folding) and no two users can look alike
//! through Unicode homoglyphs or invisible characters.

use std::fmt;

/// Longest nickname, in characters (all ASCII, so also in bytes).
pub const MAX_NICK_CHARS: usize = 24;

/// Why a nickname is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    Empty,
    TooLong,
    BadChar(char),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Empty => write!(f, "it is empty"),
            Invalid::TooLong => write!(f, "it is longer than {MAX_NICK_CHARS} characters"),
            Invalid::BadChar(c) => {
                write!(f, "{c:?} is not allowed (use letters, digits, '_' and '-')")
            }
        }
    }
}

/// Checks `nick` against the rules above.
pub(crate) fn validate(nick: &str) -> Result<(), Invalid> {
    if nick.is_empty() {
        return Err(Invalid::Empty);
    }
    if let Some(c) = nick
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(Invalid::BadChar(c));
    }
    if nick.len() > MAX_NICK_CHARS {
        return Err(Invalid::TooLong);
    }
    Ok(())
}

/// The key under which a nickname is unique.
pub(crate) fn key(nick: &str) -> String {
    nick.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(validate("alice"), Ok(()));
        assert_eq!(validate("A_b-9"), Ok(()));
        assert_eq!(validate(&"x".repeat(24)), Ok(()));
        assert_eq!(validate(&"x".repeat(25)), Err(Invalid::TooLong));
        assert_eq!(validate(""), Err(Invalid::Empty));
        assert_eq!(validate("a b"), Err(Invalid::BadChar(' ')));
        assert_eq!(validate("é"), Err(Invalid::BadChar('é')));
        assert_eq!(validate("a*"), Err(Invalid::BadChar('*')));
        assert_eq!(key("AlIce"), "alice");
    }
}
