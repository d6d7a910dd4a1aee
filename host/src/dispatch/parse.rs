//! Parsing bot commands out of message text.

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

/// Parse `text` as a command if it starts with one of `prefixes`.
pub fn parse_command(text: &str, prefixes: &[String]) -> Option<ParsedCommand> {
    let text = text.trim_start();
    let rest = prefixes
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| text.strip_prefix(p.as_str()))?;
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
        vec!["!".into(), "/".into()]
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
