//! Cookies: reading the `Cookie` header and writing `Set-Cookie` with the
//! real `Domain=` attributes (§1.7).
//!
//! Clients must run a real cookie jar with domain matching, so the
//! simulator sets each cookie on the domain the real service used
//! (`ptlogin2.qq.com`, `qq.com`, `web2.qq.com`, `w.qq.com`) and never on
//! the exact host only.

/// Parses a `Cookie:` header value into name/value pairs, in order (names
/// may repeat when several domains match).
pub(crate) fn parse(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|kv| {
            let kv = kv.trim();
            if kv.is_empty() {
                return None;
            }
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// A `Set-Cookie` value: `name=value; Path=/; Domain=domain`.
pub(crate) fn set(name: &str, value: &str, domain: &str) -> String {
    format!("{name}={value}; Path=/; Domain={domain}")
}

/// The `o`-prefixed, zero-padded QQ cookie value (`uin`, `superuin`).
pub(crate) fn o_uin(qq: u64) -> String {
    format!("o{qq:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        assert_eq!(
            parse("a=1; qrsig=x*y-z; empty=; flag"),
            vec![
                ("a".into(), "1".into()),
                ("qrsig".into(), "x*y-z".into()),
                ("empty".into(), "".into()),
                ("flag".into(), "".into())
            ]
        );
        assert_eq!(
            set("skey", "@a", "qq.com"),
            "skey=@a; Path=/; Domain=qq.com"
        );
        assert_eq!(o_uin(12345), "o0000012345");
    }
}
