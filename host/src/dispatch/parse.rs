//! Parsing bot commands out of message text.
//!
//! A prefix matches in its ASCII form and in the full-width form a Chinese
//! IME types (`！help`, `／help`): each printable ASCII character of a
//! configured prefix (0x21..=0x7E) may also be written as its full-width
//! twin (U+FF01..=U+FF5E), see [`full_width`].

/// A command found in a message: `!roll 2d6` → name `roll`, raw args `2d6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// The command name, lowercased.
    pub name: String,
    /// Arguments split on whitespace, double quotes grouping words.
    pub args: Vec<String>,
    /// Everything after the name, leading whitespace trimmed.
    pub raw_args: String,
}

/// Parse `text` as a command if it starts with one of `prefixes` (or its
/// full-width form).
pub fn parse_command(text: &str, prefixes: &[String]) -> Option<ParsedCommand> {
    let text = text.trim_start();
    let rest = prefixes
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| strip_prefix(text, p))?;
    let name_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let name = &rest[..name_end];
    if name.is_empty() {
        return None;
    }
    let raw_args = rest[name_end..].trim_start().to_string();
    Some(ParsedCommand {
        name: name.to_lowercase(),
        args: split_args(&raw_args),
        raw_args,
    })
}

/// The full-width form of a printable ASCII character other than space
/// (`!` → `！`, `/` → `／`, `a` → `ａ`); `None` for anything else.
pub fn full_width(c: char) -> Option<char> {
    match c {
        '!'..='~' => char::from_u32(u32::from(c) - 0x21 + 0xFF01),
        _ => None,
    }
}

/// Whether `typed` is the prefix character `p`, in ASCII or full width.
pub fn is_prefix_char(typed: char, p: char) -> bool {
    typed == p || full_width(p) == Some(typed)
}

/// `text` after `prefix`, each character of which may be typed in full
/// width; `None` if `text` does not start with it.
fn strip_prefix<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = text;
    for p in prefix.chars() {
        let typed = rest.chars().next()?;
        if !is_prefix_char(typed, p) {
            return None;
        }
        rest = &rest[typed.len_utf8()..];
    }
    Some(rest)
}

/// Split arguments on whitespace; `"two words"` is one argument, `\"` a
/// literal quote. An unclosed quote runs to the end.
pub fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('"')) => {
                current.push('"');
                chars.next();
                in_arg = true;
            }
            '"' => {
                quoted = !quoted;
                in_arg = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            c => {
                current.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(current);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        crate::dispatch::default_prefixes()
    }

    #[test]
    fn parses_name_and_arguments() {
        let c = parse_command("!Roll 2d6  \"big dice\"", &prefixes()).unwrap();
        assert_eq!(c.name, "roll");
        assert_eq!(c.args, vec!["2d6", "big dice"]);
        assert_eq!(c.raw_args, "2d6  \"big dice\"");
        assert_eq!(
            parse_command("/help", &prefixes()).unwrap().args,
            Vec::<String>::new()
        );
    }

    /// What a Chinese IME types: the full-width forms of the prefixes.
    #[test]
    fn full_width_prefixes_are_accepted() {
        let c = parse_command("！roll 2d6", &prefixes()).unwrap();
        assert_eq!((c.name.as_str(), c.raw_args.as_str()), ("roll", "2d6"));
        let c = parse_command("／help", &prefixes()).unwrap();
        assert_eq!(c.name, "help");
        // The ideographic space separates arguments too.
        let c = parse_command("！echo　你好", &prefixes()).unwrap();
        assert_eq!(
            (c.name.as_str(), c.args.clone()),
            ("echo", vec!["你好".to_string()])
        );
        // Any ASCII prefix, and each character of a longer one.
        let custom = vec!["#".to_string(), ">>".to_string()];
        assert_eq!(parse_command("＃roll", &custom).unwrap().name, "roll");
        assert_eq!(parse_command("＞>roll", &custom).unwrap().name, "roll");
        assert_eq!(parse_command("＞＞roll", &custom).unwrap().name, "roll");
        // Only the configured prefixes, not every full-width character.
        assert_eq!(parse_command("＃roll", &prefixes()), None);
        assert_eq!(parse_command("！ roll", &prefixes()), None);
        assert_eq!(parse_command("！", &prefixes()), None);
    }

    #[test]
    fn full_width_forms_of_ascii() {
        assert_eq!(full_width('!'), Some('！'));
        assert_eq!(full_width('/'), Some('／'));
        assert_eq!(full_width('~'), Some('～'));
        assert_eq!(full_width('#'), Some('＃'));
        assert_eq!(full_width(' '), None);
        assert_eq!(full_width('！'), None);
        assert_eq!(full_width('é'), None);
    }

    #[test]
    fn ignores_text_without_prefix_or_name() {
        assert_eq!(parse_command("hello !roll", &prefixes()), None);
        assert_eq!(parse_command("! roll", &prefixes()), None);
        assert_eq!(parse_command("", &prefixes()), None);
    }

    #[test]
    fn splits_quotes_and_escapes() {
        assert_eq!(split_args(r#"a "b c" d\"e "#), vec!["a", "b c", "d\"e"]);
        assert_eq!(split_args(r#""" x"#), vec!["", "x"]);
        assert_eq!(split_args(r#""unclosed quote"#), vec!["unclosed quote"]);
    }
}
