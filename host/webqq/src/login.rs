//! Logging in: the QR flow (§2.1–2.8), the cookie re-login used to restore
//! a saved session (§2.9), the relink used on poll2 `120`/`121`, and the
//! activation call (`get_online_buddies2`) that cures poll2's `103`.
//!
//! Progress is reported through an [`Observer`] (and `tracing`), so the CLI
//! can print "scan the code", "scanned", "expired" lines without this crate
//! owning the terminal.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wasmqq_wire::consts::{APP_ID, CLIENT_ID, DAID, REFERER_D, REFERER_S};

use crate::error::{Error, Result};
use crate::session::Auth;
use crate::transport::{Transport, cache_buster, enc, id_field, result_of, truncate};

/// The login page (step 0); also the Referer of `ptqrlogin`.
const LOGIN_PAGE: &str = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001";
const ORIGIN_D: &str = "https://d1.web2.qq.com";

/// A step of the login, as reported to an [`Observer`]. `Display` gives the
/// status line meant for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginStatus {
    /// A saved session is being tried (cookie re-login).
    RestoringSession {
        /// The session file.
        path: PathBuf,
    },
    /// The server refused the saved session; a QR login follows.
    SessionRefused {
        /// Why (the error).
        reason: String,
    },
    /// A new QR code is ready: show `terminal` or open `png_path`.
    QrCode {
        /// Where the PNG was saved.
        png_path: PathBuf,
        /// The code drawn with Unicode half blocks.
        terminal: String,
        /// 1 for the first code, 2 after the first expired, …
        attempt: u32,
    },
    /// The code is valid and waits to be scanned (ptuiCB 66).
    QrWaiting,
    /// The code was scanned; waiting for "允许登录" on the phone (67).
    QrScanned,
    /// The code expired (65); a new one is fetched.
    QrExpired,
    /// The login was confirmed on the phone (0).
    QrConfirmed {
        /// The account's nickname from `ptuiCB`.
        nick: String,
    },
    /// The session is up (after QR login, restore, relink or re-login).
    LoggedIn {
        /// The account's QQ number.
        uin: u64,
        /// Whether a saved session was reused (no QR code needed).
        restored: bool,
    },
    /// The session dropped (poll2 120/121); relinking with login2.
    Relinking {
        /// The retcode that triggered it.
        retcode: i64,
    },
    /// The session is lost; a full re-login starts.
    Relogin {
        /// Why (retcode, kick reason, failed probe).
        reason: String,
    },
}

impl fmt::Display for LoginStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginStatus::RestoringSession { path } => {
                write!(f, "restoring the saved session from {}", path.display())
            }
            LoginStatus::SessionRefused { reason } => {
                write!(f, "saved session refused ({reason}); a QR code follows")
            }
            LoginStatus::QrCode {
                png_path, attempt, ..
            } => write!(
                f,
                "scan this QR code with the QQ app (code #{attempt}, also saved as {})",
                png_path.display()
            ),
            LoginStatus::QrWaiting => write!(f, "waiting for the QR code to be scanned"),
            LoginStatus::QrScanned => write!(f, "QR code scanned; confirm the login on the phone"),
            LoginStatus::QrExpired => write!(f, "QR code expired; fetching a new one"),
            LoginStatus::QrConfirmed { nick } => write!(f, "login confirmed for {nick:?}"),
            LoginStatus::LoggedIn { uin, restored } => write!(
                f,
                "logged in as {uin}{}",
                if *restored { " (saved session)" } else { "" }
            ),
            LoginStatus::Relinking { retcode } => {
                write!(f, "connection lost (retcode {retcode}); relinking")
            }
            LoginStatus::Relogin { reason } => {
                write!(f, "session lost ({reason}); logging in again")
            }
        }
    }
}

/// Receives [`LoginStatus`] updates. Cheap to clone; called from the task
/// doing the login, so it should return quickly.
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(&LoginStatus) + Send + Sync>);

impl Observer {
    /// An observer calling `f` for each status.
    pub fn new(f: impl Fn(&LoginStatus) + Send + Sync + 'static) -> Observer {
        Observer(Arc::new(f))
    }

    /// An observer that ignores everything (statuses still go to `tracing`).
    pub fn silent() -> Observer {
        Observer::new(|_| {})
    }

    /// An observer printing status lines, and the QR code, to stderr.
    pub fn stderr() -> Observer {
        Observer::new(|s| {
            if let LoginStatus::QrCode { terminal, .. } = s {
                eprintln!("{terminal}");
            }
            eprintln!("[webqq] {s}");
        })
    }

    /// Reports `status` to tracing and to the callback.
    pub(crate) fn report(&self, status: LoginStatus) {
        tracing::info!(status = %status, "login");
        (self.0)(&status);
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer(..)")
    }
}

/// The QR login settings taken from the client configuration.
#[derive(Debug, Clone)]
pub(crate) struct QrSettings {
    pub png_path: PathBuf,
    pub poll_interval: Duration,
    pub max_codes: Option<u32>,
}

/// One parsed `ptuiCB(...)` answer (§2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PtuiCb {
    pub code: String,
    pub url: String,
    pub message: String,
    pub nick: String,
}

/// The state a `ptuiCB` answer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QrState {
    Waiting,
    Scanned,
    Expired,
    Confirmed,
    Other,
}

/// Parses `ptuiCB('66','0','','0','二维码未失效。(…)', '');`: every
/// single-quoted argument, in order. `None` when it is not a ptuiCB call
/// with at least five arguments.
pub(crate) fn parse_ptuicb(body: &str) -> Option<PtuiCb> {
    let start = body.find("ptuiCB(")? + "ptuiCB(".len();
    let mut args = Vec::new();
    let mut cur: Option<String> = None;
    for c in body[start..].chars() {
        match (&mut cur, c) {
            (None, '\'') => cur = Some(String::new()),
            (Some(s), '\'') => {
                args.push(std::mem::take(s));
                cur = None;
            }
            (Some(s), c) => s.push(c),
            (None, ')') => break,
            (None, _) => {}
        }
    }
    if args.len() < 5 {
        return None;
    }
    Some(PtuiCb {
        code: args[0].clone(),
        url: args[2].clone(),
        message: args[4].clone(),
        nick: args.get(5).cloned().unwrap_or_default(),
    })
}

impl PtuiCb {
    /// The state, by code first and by the Chinese text as a fallback
    /// (§2.4, §10: QB/SJ/PSC detect by text).
    pub(crate) fn state(&self) -> QrState {
        match self.code.as_str() {
            "66" => return QrState::Waiting,
            "67" => return QrState::Scanned,
            "65" => return QrState::Expired,
            "0" if self.url.starts_with("http") => return QrState::Confirmed,
            _ => {}
        }
        let m = &self.message;
        if m.contains("二维码未失效") {
            QrState::Waiting
        } else if m.contains("二维码认证中") {
            QrState::Scanned
        } else if m.contains("已失效") {
            QrState::Expired
        } else if m.contains("登录成功") && self.url.starts_with("http") {
            QrState::Confirmed
        } else {
            QrState::Other
        }
    }
}

/// Runs the whole QR login up to (and including) login2; the caller then
/// loads contacts and activates. Clears the cookie jar first.
pub(crate) async fn qr_login(t: &Transport, qr: &QrSettings, observer: &Observer) -> Result<Auth> {
    t.clear_cookies();
    // Step 0 is optional (only sets pt_login_sig); a failure is not fatal.
    if let Err(e) = t.get_bytes("xlogin", LOGIN_PAGE, None).await {
        tracing::debug!(error = %e, "login page not available; continuing");
    }
    let mut attempt = 0u32;
    let check_sig_url = 'codes: loop {
        attempt += 1;
        if let Some(max) = qr.max_codes
            && attempt > max
        {
            return Err(Error::QrLogin(format!(
                "{max} QR codes expired without a login"
            )));
        }
        let png = t
            .get_bytes(
                "ptqrshow",
                &format!(
                    "https://ssl.ptlogin2.qq.com/ptqrshow?appid={APP_ID}&e=2&l=M&s=3&d=72&v=4&t={}&daid={DAID}&pt_3rd_aid=0",
                    rand::random::<f64>()
                ),
                Some(LOGIN_PAGE),
            )
            .await?;
        let qrsig = t.cookie("qrsig").ok_or_else(|| Error::Malformed {
            endpoint: "ptqrshow",
            detail: "no qrsig cookie was set".into(),
        })?;
        crate::qr::save_png(&qr.png_path, &png)?;
        observer.report(LoginStatus::QrCode {
            png_path: qr.png_path.clone(),
            terminal: crate::qr::render_terminal(&png),
            attempt,
        });
        let token = wasmqq_wire::hash::hash33(&qrsig);
        let mut last = None;
        loop {
            let url = format!(
                "https://ssl.ptlogin2.qq.com/ptqrlogin?u1=http%3A%2F%2Fw.qq.com%2Fproxy.html&ptqrtoken={token}&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=0-0-{}&js_ver=10233&js_type=1&login_sig={}&pt_uistyle=40&aid={APP_ID}&daid={DAID}&mibao_css=m_webqq&",
                cache_buster(),
                enc(&t.cookie("pt_login_sig").unwrap_or_default()),
            );
            let body = t.get_text("ptqrlogin", &url, Some(LOGIN_PAGE)).await?;
            let cb = parse_ptuicb(&body).ok_or_else(|| Error::Malformed {
                endpoint: "ptqrlogin",
                detail: format!("not a ptuiCB answer: {}", truncate(&body, 200)),
            })?;
            let state = cb.state();
            if last != Some(state) {
                match state {
                    QrState::Waiting => observer.report(LoginStatus::QrWaiting),
                    QrState::Scanned => observer.report(LoginStatus::QrScanned),
                    QrState::Expired => observer.report(LoginStatus::QrExpired),
                    QrState::Confirmed => observer.report(LoginStatus::QrConfirmed {
                        nick: cb.nick.clone(),
                    }),
                    QrState::Other => {
                        return Err(Error::QrLogin(format!(
                            "ptqrlogin answered code {} ({})",
                            cb.code, cb.message
                        )));
                    }
                }
            }
            last = Some(state);
            match state {
                QrState::Confirmed => break 'codes cb.url,
                QrState::Expired => continue 'codes,
                _ => tokio::time::sleep(qr.poll_interval).await,
            }
        }
    };
    // Step 3: check_sig, following the 302 to w.qq.com by hand so the
    // redirect target is rewritten like every other URL.
    t.get_following("check_sig", &check_sig_url, Some(LOGIN_PAGE))
        .await?;
    let ptwebqq = t.cookie("ptwebqq").unwrap_or_default();
    finish_login(t, ptwebqq, "").await
}

/// Steps 4–5: getvfwebqq then login2 with `psessionid` (empty for a fresh
/// login or cookie re-login, the current one for a relink).
pub(crate) async fn finish_login(t: &Transport, ptwebqq: String, psessionid: &str) -> Result<Auth> {
    let vfwebqq = getvfwebqq(t, &ptwebqq).await?;
    let r = json!({
        "ptwebqq": ptwebqq,
        "clientid": CLIENT_ID,
        "psessionid": psessionid,
        "status": "online",
    });
    let v = t
        .post_r(
            "login2",
            "https://d1.web2.qq.com/channel/login2",
            REFERER_D,
            ORIGIN_D,
            &r,
            None,
        )
        .await?;
    let result = result_of("login2", v)?;
    let uin = id_field(result.get("uin")).ok_or_else(|| Error::Malformed {
        endpoint: "login2",
        detail: "result has no uin".into(),
    })?;
    let psessionid = result
        .get("psessionid")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Malformed {
            endpoint: "login2",
            detail: "result has no psessionid".into(),
        })?
        .to_owned();
    if let Some(cookie_uin) = t
        .cookie("uin")
        .and_then(|c| c.trim_start_matches('o').parse::<u64>().ok())
        && cookie_uin != uin
    {
        tracing::warn!(
            login2_uin = uin,
            cookie_uin,
            "login2 uin differs from the uin cookie"
        );
    }
    Ok(Auth {
        uin,
        ptwebqq,
        vfwebqq,
        psessionid,
    })
}

/// Step 4: `getvfwebqq` (§2.6).
pub(crate) async fn getvfwebqq(t: &Transport, ptwebqq: &str) -> Result<String> {
    let url = format!(
        "https://s.web2.qq.com/api/getvfwebqq?ptwebqq={}&clientid={CLIENT_ID}&psessionid=&t={}",
        enc(ptwebqq),
        cache_buster()
    );
    let v = t.get_json("getvfwebqq", &url, REFERER_S).await?;
    let result = result_of("getvfwebqq", v)?;
    result
        .get("vfwebqq")
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::Malformed {
            endpoint: "getvfwebqq",
            detail: "result has no vfwebqq".into(),
        })
}

/// Step 6: `get_online_buddies2` (§2.8), which activates the session for
/// poll2 and doubles as the liveness probe on poll2 `103`. Returns the
/// online friends as (uin, status).
pub(crate) async fn activate(t: &Transport, auth: &Auth) -> Result<Vec<(u64, String)>> {
    let url = format!(
        "https://d1.web2.qq.com/channel/get_online_buddies2?vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t={}",
        enc(&auth.vfwebqq),
        enc(&auth.psessionid),
        cache_buster()
    );
    let v = t.get_json("get_online_buddies2", &url, REFERER_D).await?;
    let result = result_of("get_online_buddies2", v)?;
    Ok(result
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    Some((
                        id_field(e.get("uin"))?,
                        e.get("status")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_ptuicb_shape() {
        let cb =
            parse_ptuicb("ptuiCB('66','0','','0','二维码未失效。(3814721644)', '');\r\n").unwrap();
        assert_eq!(cb.code, "66");
        assert_eq!(cb.state(), QrState::Waiting);
        let cb =
            parse_ptuicb("ptuiCB('67','0','','0','二维码认证中。(691021781)', '');\r\n").unwrap();
        assert_eq!(cb.state(), QrState::Scanned);
        let cb = parse_ptuicb("ptuiCB('65','0','','0','二维码已失效。(1)', '');\r\n").unwrap();
        assert_eq!(cb.state(), QrState::Expired);
        let ok = "ptuiCB('0','0','https://ptlogin4.web2.qq.com/check_sig?pttype=1&uin=957019238&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html','0','登录成功！', '椰子');\r\n";
        let cb = parse_ptuicb(ok).unwrap();
        assert_eq!(cb.state(), QrState::Confirmed);
        assert_eq!(cb.nick, "椰子");
        assert!(
            cb.url
                .starts_with("https://ptlogin4.web2.qq.com/check_sig?")
        );
        assert!(parse_ptuicb("garbage").is_none());
        assert!(parse_ptuicb("ptuiCB('1','2');").is_none());
    }

    #[test]
    fn falls_back_to_the_chinese_text() {
        let by_text = |code: &str, msg: &str, url: &str| PtuiCb {
            code: code.into(),
            url: url.into(),
            message: msg.into(),
            nick: String::new(),
        };
        // SJ's blog: code 66 with the "scanned" text -> code wins
        assert_eq!(
            by_text("66", "二维码认证中。(1)", "").state(),
            QrState::Waiting
        );
        assert_eq!(
            by_text("x", "二维码认证中。(1)", "").state(),
            QrState::Scanned
        );
        assert_eq!(
            by_text("x", "二维码未失效。(1)", "").state(),
            QrState::Waiting
        );
        assert_eq!(
            by_text("x", "二维码已失效。(1)", "").state(),
            QrState::Expired
        );
        assert_eq!(
            by_text("x", "登录成功！", "https://a/check_sig").state(),
            QrState::Confirmed
        );
        assert_eq!(by_text("7", "提交参数错误", "").state(), QrState::Other);
    }

    #[test]
    fn status_lines_read_well() {
        assert_eq!(
            LoginStatus::LoggedIn {
                uin: 5,
                restored: true
            }
            .to_string(),
            "logged in as 5 (saved session)"
        );
        assert!(LoginStatus::QrExpired.to_string().contains("new one"));
    }
}
