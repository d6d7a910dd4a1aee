//! The HTTP transport: one reqwest client, one cookie jar, and the only
//! place that knows where the WebQQ hosts really are.
//!
//! Every request is built from its *logical* URL (`https://d1.web2.qq.com/…`).
//! With no server override it goes out as is. With
//! [`ClientConfig::server`](crate::ClientConfig::server) set, every host of
//! [`wasmqq_wire::consts::HOSTS`] is resolved to that address (reqwest's
//! `resolve`), and only the scheme and port of the URL are rewritten
//! (`http://d1.web2.qq.com:PORT/…`): the host name stays, so the `Host`
//! header still names the real host and the cookie jar keeps matching
//! cookies under the real `qq.com` domains. reqwest ignores the port of a
//! resolve override, which is why the port goes into the URL. Redirects are
//! followed by hand (only `check_sig` uses them) so their targets are
//! rewritten the same way.

use std::io::BufReader;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, LOCATION, ORIGIN, REFERER};
use reqwest_cookie_store::{CookieStore, CookieStoreMutex};
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result};

/// A browser-like User-Agent (§1.4: calls without one were refused).
pub(crate) const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.77 Safari/537.36";

/// The HTTP side of the client.
pub(crate) struct Transport {
    http: reqwest::Client,
    jar: Arc<CookieStoreMutex>,
    server: Option<SocketAddr>,
    timeout: Duration,
}

impl Transport {
    /// Builds the transport; `timeout` is the default per-request timeout.
    pub(crate) fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Transport> {
        let jar = Arc::new(CookieStoreMutex::new(CookieStore::default()));
        let mut headers = HeaderMap::new();
        if server.is_some() {
            // The logical scheme is https; tell a proxy-aware server (§8.7).
            headers.insert("X-Original-Scheme", HeaderValue::from_static("https"));
        }
        let mut builder = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10));
        if let Some(addr) = server {
            for host in wasmqq_wire::consts::HOSTS {
                builder = builder.resolve(host, addr);
            }
        }
        let http = builder.build().map_err(Error::Build)?;
        Ok(Transport {
            http,
            jar,
            server,
            timeout,
        })
    }

    /// Turns a logical URL into the one actually requested (see the module
    /// docs). Fails only on a URL that does not parse.
    pub(crate) fn url(&self, endpoint: &'static str, logical: &str) -> Result<Url> {
        let mut url = Url::parse(logical).map_err(|e| Error::Malformed {
            endpoint,
            detail: format!("bad URL {logical:?}: {e}"),
        })?;
        if let Some(addr) = self.server {
            let known = url
                .host_str()
                .is_some_and(|h| wasmqq_wire::consts::HOSTS.contains(&h));
            if known {
                // Both are "special" schemes, so these cannot fail; ignore the
                // unit errors rather than unwrap.
                let _ = url.set_scheme("http");
                let _ = url.set_port(Some(addr.port()));
            } else {
                tracing::warn!(%url, "URL outside the WebQQ hosts is not redirected to the server override");
            }
        }
        Ok(url)
    }

    /// GET `logical`, returning the raw response after checking for a
    /// success (2xx) or redirect (3xx) status.
    pub(crate) async fn get_raw(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: Option<&str>,
    ) -> Result<reqwest::Response> {
        let url = self.url(endpoint, logical)?;
        let mut req = self.http.get(url).timeout(self.timeout);
        if let Some(r) = referer {
            req = req.header(REFERER, r);
        }
        let resp = req.send().await.map_err(|e| net_error(endpoint, e))?;
        let status = resp.status();
        if !(status.is_success() || status.is_redirection()) {
            return Err(Error::Status {
                endpoint,
                status: status.as_u16(),
            });
        }
        Ok(resp)
    }

    /// GET `logical` and return the body bytes.
    pub(crate) async fn get_bytes(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: Option<&str>,
    ) -> Result<Vec<u8>> {
        let resp = self.get_raw(endpoint, logical, referer).await?;
        let bytes = resp.bytes().await.map_err(|e| net_error(endpoint, e))?;
        Ok(bytes.to_vec())
    }

    /// GET `logical` and return the body as text.
    pub(crate) async fn get_text(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: Option<&str>,
    ) -> Result<String> {
        let resp = self.get_raw(endpoint, logical, referer).await?;
        resp.text().await.map_err(|e| net_error(endpoint, e))
    }

    /// GET `logical`, following up to five redirects by hand (each target
    /// rewritten like any logical URL). Returns the final URL.
    pub(crate) async fn get_following(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: Option<&str>,
    ) -> Result<String> {
        let mut current = logical.to_owned();
        for _ in 0..5 {
            let resp = self.get_raw(endpoint, &current, referer).await?;
            if !resp.status().is_redirection() {
                return Ok(current);
            }
            let location = resp
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Malformed {
                    endpoint,
                    detail: format!("HTTP {} without a Location header", resp.status()),
                })?;
            // Relative locations resolve against the logical URL.
            let base = Url::parse(&current).map_err(|e| Error::Malformed {
                endpoint,
                detail: format!("bad URL {current:?}: {e}"),
            })?;
            let next = base.join(location).map_err(|e| Error::Malformed {
                endpoint,
                detail: format!("bad Location {location:?}: {e}"),
            })?;
            tracing::debug!(endpoint, location = %next, "following redirect");
            current = next.to_string();
        }
        Err(Error::Malformed {
            endpoint,
            detail: "too many redirects".into(),
        })
    }

    /// GET `logical` and parse the body as JSON, with an optional custom
    /// timeout.
    pub(crate) async fn get_json(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: &str,
    ) -> Result<Value> {
        let text = self.get_text(endpoint, logical, Some(referer)).await?;
        parse_json(endpoint, &text)
    }

    /// POST the form field `r=<json>` (§1.2) and parse the JSON answer.
    /// `timeout` overrides the default (poll2 needs a long one).
    pub(crate) async fn post_r(
        &self,
        endpoint: &'static str,
        logical: &str,
        referer: &str,
        origin: &str,
        r: &Value,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let url = self.url(endpoint, logical)?;
        let body = r.to_string();
        let resp = self
            .http
            .post(url)
            .timeout(timeout.unwrap_or(self.timeout))
            .header(REFERER, referer)
            .header(ORIGIN, origin)
            .form(&[("r", body.as_str())])
            .send()
            .await
            .map_err(|e| net_error(endpoint, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::Status {
                endpoint,
                status: status.as_u16(),
            });
        }
        let text = resp.text().await.map_err(|e| net_error(endpoint, e))?;
        parse_json(endpoint, &text)
    }

    /// The value of the first unexpired cookie called `name`, preferring the
    /// most specific (longest) domain.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        let store = self.jar.lock().ok()?;
        store
            .iter_unexpired()
            .filter(|c| c.name() == name)
            .max_by_key(|c| c.domain.as_cow().map_or(0, |d| d.len()))
            .map(|c| c.value().to_owned())
    }

    /// Sets (or replaces) cookie `name` on `.qq.com` (used when poll2's
    /// `116` hands out a new `ptwebqq`).
    pub(crate) fn set_qq_cookie(&self, name: &str, value: &str) {
        let Ok(url) = Url::parse("https://w.qq.com/") else {
            return;
        };
        if let Ok(mut store) = self.jar.lock() {
            let _ = store.parse(&format!("{name}={value}; Domain=qq.com; Path=/"), &url);
        }
    }

    /// Serialises every cookie (session cookies included) for the session
    /// file.
    pub(crate) fn export_cookies(&self) -> Result<String, String> {
        let store = self
            .jar
            .lock()
            .map_err(|_| "cookie jar poisoned".to_owned())?;
        let mut buf = Vec::new();
        cookie_store::serde::json::save_incl_expired_and_nonpersistent(&store, &mut buf)
            .map_err(|e| e.to_string())?;
        String::from_utf8(buf).map_err(|e| e.to_string())
    }

    /// Replaces the jar's content with cookies saved by
    /// [`export_cookies`](Self::export_cookies); expired ones are dropped.
    pub(crate) fn import_cookies(&self, saved: &str) -> Result<(), String> {
        let loaded = cookie_store::serde::json::load_all(BufReader::new(saved.as_bytes()))
            .map_err(|e| e.to_string())?;
        let mut store = self
            .jar
            .lock()
            .map_err(|_| "cookie jar poisoned".to_owned())?;
        *store = loaded;
        Ok(())
    }

    /// Forgets every cookie (before a fresh QR login).
    pub(crate) fn clear_cookies(&self) {
        if let Ok(mut store) = self.jar.lock() {
            store.clear();
        }
    }
}

fn net_error(endpoint: &'static str, e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout { endpoint }
    } else {
        Error::Http {
            endpoint,
            source: e,
        }
    }
}

/// Parses a JSON body, naming the endpoint on failure.
pub(crate) fn parse_json(endpoint: &'static str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Malformed {
        endpoint,
        detail: format!("{e}: {}", truncate(text, 200)),
    })
}

/// The first `max` bytes of `s` (on a character boundary), for error texts.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Checks the `{"retcode":…,"result":…}` envelope (§1.3) and returns
/// `result`; a missing `retcode`, a non-zero one, or a missing `result` is an
/// error naming `endpoint`.
pub(crate) fn result_of(endpoint: &'static str, v: Value) -> Result<Value> {
    let retcode = retcode_of(&v).ok_or_else(|| Error::Malformed {
        endpoint,
        detail: format!("no retcode in {}", truncate(&v.to_string(), 200)),
    })?;
    if retcode != 0 {
        return Err(Error::Retcode {
            endpoint,
            retcode,
            errmsg: errmsg_of(&v),
        });
    }
    match v {
        Value::Object(mut m) => m.remove("result").ok_or_else(|| Error::Malformed {
            endpoint,
            detail: "retcode 0 without result".into(),
        }),
        _ => Err(Error::Malformed {
            endpoint,
            detail: "answer is not an object".into(),
        }),
    }
}

/// The `retcode` of an answer, tolerating a string-typed number.
pub(crate) fn retcode_of(v: &Value) -> Option<i64> {
    int_field(v.get("retcode")?)
}

/// The `errmsg` (or `errMsg`) of an answer, or "".
pub(crate) fn errmsg_of(v: &Value) -> String {
    v.get("errmsg")
        .or_else(|| v.get("errMsg"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// An integer from a JSON number or numeric string.
pub(crate) fn int_field(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_u64().and_then(|n| i64::try_from(n).ok()))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A `u64` id from a JSON number or numeric string.
pub(crate) fn id_field(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A cache-busting `t` value (§1.5).
pub(crate) fn cache_buster() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_rewrites_scheme_and_port_only() {
        let addr: SocketAddr = "127.0.0.1:18080".parse().unwrap();
        let t = Transport::new(Some(addr), Duration::from_secs(1)).unwrap();
        let u = t
            .url("poll2", "https://d1.web2.qq.com/channel/poll2?x=1")
            .unwrap();
        assert_eq!(u.as_str(), "http://d1.web2.qq.com:18080/channel/poll2?x=1");
        let real = Transport::new(None, Duration::from_secs(1)).unwrap();
        let u = real
            .url("poll2", "https://d1.web2.qq.com/channel/poll2")
            .unwrap();
        assert_eq!(u.as_str(), "https://d1.web2.qq.com/channel/poll2");
    }

    #[test]
    fn envelope_checks() {
        let ok = result_of("x", serde_json::json!({"retcode":0,"result":[1]})).unwrap();
        assert_eq!(ok, serde_json::json!([1]));
        let err = result_of("x", serde_json::json!({"retcode":"103","errmsg":"error"}));
        assert_eq!(err.unwrap_err().retcode(), Some(103));
        assert!(matches!(
            result_of("x", serde_json::json!({"a":1})),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn cookies_survive_export_and_import() {
        let t = Transport::new(None, Duration::from_secs(1)).unwrap();
        t.set_qq_cookie("ptwebqq", "abc");
        assert_eq!(t.cookie("ptwebqq").as_deref(), Some("abc"));
        let saved = t.export_cookies().unwrap();
        let t2 = Transport::new(None, Duration::from_secs(1)).unwrap();
        t2.import_cookies(&saved).unwrap();
        assert_eq!(t2.cookie("ptwebqq").as_deref(), Some("abc"));
        t2.clear_cookies();
        assert_eq!(t2.cookie("ptwebqq"), None);
    }
}
