//! `title`: `title https://example.com/` fetches the page and replies with
//! its `<title>`. Only hosts in the plugin's `http_allow` list can be
//! fetched; anything else is refused by the host and said so.
use wasmqq_plugin_api::http;
use wasmqq_plugin_api::prelude::*;

/// Longest title replied, in characters.
const MAX_TITLE: usize = 200;

#[derive(Default)]
struct Title;

/// The text of the first `<title>` element, entities decoded and white
/// space collapsed.
fn extract_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    let open = loop {
        let i = from + lower[from..].find("<title")?;
        // `<title>` or `<title lang=…>`, not `<titles>`.
        match lower.as_bytes().get(i + 6) {
            Some(b'>') | Some(b' ') | Some(b'\t') | Some(b'\n') | Some(b'\r') => break i,
            _ => from = i + 6,
        }
    };
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let text = decode_entities(&html[start..end]);
    let title: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return None;
    }
    Some(if title.chars().count() > MAX_TITLE {
        let cut: String = title.chars().take(MAX_TITLE).collect();
        format!("{cut}…")
    } else {
        title
    })
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let ch = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some(' '),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn fetch_title(url: &str) -> String {
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    let req = http::Request {
        method: "GET".into(),
        url: url.clone(),
        headers: vec![("accept".into(), "text/html".into())],
        body: Vec::new(),
    };
    match http::fetch(&req) {
        Ok(resp) if (200..300).contains(&resp.status) => {
            match extract_title(&String::from_utf8_lossy(&resp.body)) {
                Some(title) => format!("Title: {title}"),
                None => format!("{url} has no title"),
            }
        }
        Ok(resp) => format!("{url} answered HTTP {}", resp.status),
        Err(HostError::NotGranted(_)) => {
            "HTTP is not granted to me in the bot's configuration".into()
        }
        Err(HostError::Invalid(why)) => format!("I may not fetch that: {why}"),
        Err(HostError::QuotaExceeded(why)) => format!("That page is too big for me: {why}"),
        Err(HostError::Unavailable(why)) => format!("Cannot fetch it right now: {why}"),
    }
}

impl Plugin for Title {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("title", env!("CARGO_PKG_VERSION"))
            .description("Replies with the title of a web page")
            .command(
                CommandSpec::new("title")
                    .usage("URL")
                    .help("fetch URL (from an allowed host) and say its title"),
            )
            .capability(Capability::Http)
    }

    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        vec![reply(match call.arg(0) {
            Some(url) => fetch_title(url),
            None => "Usage: title URL".into(),
        })]
    }
}

export_plugin!(Title);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(
            extract_title("<html><head><TITLE lang=en>\n  Tom &amp; Jerry&#33; </title>")
                .as_deref(),
            Some("Tom & Jerry!")
        );
        assert_eq!(extract_title("<titles>x</titles>"), None);
        assert_eq!(extract_title("<title></title>"), None);
        assert_eq!(extract_title("no title"), None);
        assert_eq!(decode_entities("a &bogus; &#x4e2d;"), "a &bogus; 中");
    }
}
