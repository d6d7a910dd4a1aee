//! The `ptuiCB(...)` answer of `ssl.ptlogin2.qq.com/ptqrlogin` (§2.4).
//!
//! The body is one line of JavaScript with six single-quoted arguments, a
//! space after the fifth comma and a `\r\n` terminator:
//!
//! ```text
//! ptuiCB('<code>','0','<url>','0','<message>', '<nick>');\r\n
//! ```
//!
//! Real clients parse it in very different ways (split on `,`, slice fixed
//! offsets, regex the quoted groups, match the Chinese text), so the
//! formatter reproduces the layout byte for byte and the parser accepts
//! anything that has six quoted arguments. Neither the URL, the message nor
//! the nick may contain `'`; the formatter does not escape (the real server
//! did not either), so callers must not pass such values.

use std::fmt;

/// Message of code `66`, followed by `(N)` with 9–10 random digits.
pub const TEXT_WAITING: &str = "二维码未失效。";
/// Message of code `67`, followed by `(N)`.
pub const TEXT_SCANNED: &str = "二维码认证中。";
/// Message of code `65`, followed by `(N)`.
pub const TEXT_EXPIRED: &str = "二维码已失效。";
/// Message of code `0` (note the full-width `！`).
pub const TEXT_SUCCESS: &str = "登录成功！";

/// One `ptuiCB(...)` call: the four arguments that carry information.
///
/// The second and fourth arguments are always `'0'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtuiCb {
    /// Status code: `66`, `67`, `65`, `0`, or another ptlogin code.
    pub code: String,
    /// The `check_sig` URL on success, empty otherwise.
    pub url: String,
    /// Human-readable (Chinese) status text.
    pub message: String,
    /// The account's nickname on success, empty otherwise.
    pub nick: String,
}

/// What a `ptuiCB` answer means for the QR login loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QrStatus {
    /// `66`: the QR code is valid and not scanned yet.
    Waiting,
    /// `67`: scanned on the phone, waiting for the user to allow the login.
    Scanned,
    /// `65`: the QR code expired; fetch a new one.
    Expired,
    /// `0`: confirmed; follow `url` (check_sig).
    Success {
        /// The check_sig URL.
        url: String,
        /// The account's nickname.
        nick: String,
    },
    /// Any other code, with its message.
    Other {
        /// The raw code.
        code: String,
        /// The raw message.
        message: String,
    },
}

/// Why a `ptuiCB` body could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PtuiCbError {
    /// The body does not start with `ptuiCB(`.
    #[error("not a ptuiCB answer: {0:?}")]
    NotPtuiCb(String),
    /// Fewer than six quoted arguments.
    #[error("ptuiCB answer has {found} quoted arguments, expected 6: {body:?}")]
    Arity {
        /// How many quoted arguments were found.
        found: usize,
        /// The body, for the log.
        body: String,
    },
}

impl PtuiCb {
    /// Code `66` with the exact Chinese text and the random number `n`.
    pub fn waiting(n: u64) -> Self {
        Self::status("66", TEXT_WAITING, n)
    }

    /// Code `67` ("scanned, waiting for confirmation").
    pub fn scanned(n: u64) -> Self {
        Self::status("67", TEXT_SCANNED, n)
    }

    /// Code `65` ("expired").
    pub fn expired(n: u64) -> Self {
        Self::status("65", TEXT_EXPIRED, n)
    }

    /// Code `0` with the check_sig `url` and the account's `nick`.
    pub fn success(url: impl Into<String>, nick: impl Into<String>) -> Self {
        PtuiCb {
            code: "0".into(),
            url: url.into(),
            message: TEXT_SUCCESS.into(),
            nick: nick.into(),
        }
    }

    fn status(code: &str, text: &str, n: u64) -> Self {
        PtuiCb {
            code: code.into(),
            url: String::new(),
            message: format!("{text}({n})"),
            nick: String::new(),
        }
    }

    /// Parses a `ptuiCB(...)` body (tolerates surrounding whitespace and a
    /// missing `;`/`\r\n`).
    pub fn parse(body: &str) -> Result<Self, PtuiCbError> {
        let s = body.trim();
        let Some(rest) = s.strip_prefix("ptuiCB(") else {
            return Err(PtuiCbError::NotPtuiCb(s.chars().take(80).collect()));
        };
        let mut args = Vec::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            if c == '\'' {
                let arg: String = chars.by_ref().take_while(|&c| c != '\'').collect();
                args.push(arg);
            }
        }
        if args.len() < 6 {
            return Err(PtuiCbError::Arity {
                found: args.len(),
                body: s.to_string(),
            });
        }
        Ok(PtuiCb {
            code: args[0].clone(),
            url: args[2].clone(),
            message: args[4].clone(),
            nick: args[5].clone(),
        })
    }

    /// Interprets the answer: by code first, then by the Chinese text (the
    /// way QB, SJ and PSC do it) when the code is unusual.
    pub fn qr_status(&self) -> QrStatus {
        match self.code.as_str() {
            "66" => QrStatus::Waiting,
            "67" => QrStatus::Scanned,
            "65" => QrStatus::Expired,
            "0" => QrStatus::Success {
                url: self.url.clone(),
                nick: self.nick.clone(),
            },
            _ if self.message.contains("未失效") => QrStatus::Waiting,
            _ if self.message.contains("认证中") => QrStatus::Scanned,
            _ if self.message.contains("已失效") => QrStatus::Expired,
            _ if self.message.contains("成功") && self.url.starts_with("http") => {
                QrStatus::Success {
                    url: self.url.clone(),
                    nick: self.nick.clone(),
                }
            }
            _ => QrStatus::Other {
                code: self.code.clone(),
                message: self.message.clone(),
            },
        }
    }
}

impl fmt::Display for PtuiCb {
    /// Formats the exact wire layout, including the trailing `\r\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ptuiCB('{}','0','{}','0','{}', '{}');\r\n",
            self.code, self.url, self.message, self.nick
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_exact_layout() {
        assert_eq!(
            PtuiCb::waiting(3814721644).to_string(),
            "ptuiCB('66','0','','0','二维码未失效。(3814721644)', '');\r\n"
        );
        assert_eq!(
            PtuiCb::scanned(691021781).to_string(),
            "ptuiCB('67','0','','0','二维码认证中。(691021781)', '');\r\n"
        );
        assert_eq!(
            PtuiCb::expired(1234567890).to_string(),
            "ptuiCB('65','0','','0','二维码已失效。(1234567890)', '');\r\n"
        );
        assert_eq!(
            PtuiCb::success("https://ptlogin4.web2.qq.com/check_sig?a=1&b=2", "椰子").to_string(),
            "ptuiCB('0','0','https://ptlogin4.web2.qq.com/check_sig?a=1&b=2','0','登录成功！', '椰子');\r\n"
        );
    }

    /// The ad-hoc parsers of the peers (§2.4) must all work on our output.
    #[test]
    fn peer_parsers_work_on_the_output() {
        let body = PtuiCb::success("https://x.qq.com/check_sig?u=1", "nick").to_string();
        // QB: split on ',' -> item 2 is the quoted URL, the last item holds the nick.
        let items: Vec<&str> = body.split(',').collect();
        assert_eq!(items.len(), 6);
        assert_eq!(items[2], "'https://x.qq.com/check_sig?u=1'");
        // PSC: split(",")[-1][2:-5] is the nick (relies on " '" and "');\r\n").
        let last = items[5];
        assert_eq!(&last[2..last.len() - 5], "nick");
        // SJ: split on "','" and pick the element starting with http.
        assert!(
            body.split("','")
                .any(|p| p == "https://x.qq.com/check_sig?u=1")
        );
        // QB detects states by text.
        assert!(PtuiCb::waiting(1).to_string().contains("二维码未失效"));
        assert!(PtuiCb::scanned(1).to_string().contains("二维码认证中"));
        assert!(PtuiCb::expired(1).to_string().contains("已失效"));
        assert!(body.contains("登录成功"));
    }

    #[test]
    fn parses_round_trip_and_real_samples() {
        for cb in [
            PtuiCb::waiting(42),
            PtuiCb::scanned(43),
            PtuiCb::expired(44),
            PtuiCb::success("http://a.qq.com/x?y=1", "n"),
        ] {
            assert_eq!(PtuiCb::parse(&cb.to_string()).unwrap(), cb);
        }
        let real = "ptuiCB('0','0','https://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=957019238&service=ptqrlogin','0','登录成功！', '椰子');\r\n";
        let cb = PtuiCb::parse(real).unwrap();
        assert_eq!(
            cb.qr_status(),
            QrStatus::Success {
                url: "https://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=957019238&service=ptqrlogin".into(),
                nick: "椰子".into()
            }
        );
        assert_eq!(PtuiCb::waiting(1).qr_status(), QrStatus::Waiting);
        assert_eq!(PtuiCb::scanned(1).qr_status(), QrStatus::Scanned);
        assert_eq!(PtuiCb::expired(1).qr_status(), QrStatus::Expired);
        // ScienJus' blog variant: code 66 with the "scanned" text -> code wins.
        let odd = PtuiCb::parse("ptuiCB('66','0','','0','二维码认证中。(1)', '');").unwrap();
        assert_eq!(odd.qr_status(), QrStatus::Waiting);
        // Unknown code, known text -> text wins.
        let text = PtuiCb::parse("ptuiCB('10005','0','','0','二维码已失效。(1)', '');").unwrap();
        assert_eq!(text.qr_status(), QrStatus::Expired);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            PtuiCb::parse("<html>"),
            Err(PtuiCbError::NotPtuiCb(_))
        ));
        assert!(matches!(
            PtuiCb::parse("ptuiCB('66','0');"),
            Err(PtuiCbError::Arity { found: 2, .. })
        ));
    }
}
