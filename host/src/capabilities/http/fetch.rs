//! The fetcher: one reqwest client (no proxies, the guard's resolver, no
//! redirect policy of its own), each hop checked against the allow list,
//! bodies and time bounded by [`HttpLimits`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};

use super::HttpLimits;
use super::allow::{HostPattern, canonical_host, refusal};
use super::guard::PublicResolver;
use crate::abi::v0_1_0::wasmqq::plugin::http::{Request, Response};
use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the plugin HTTP client: {0}")]
pub struct HttpSetupError(#[from] reqwest::Error);

/// Performs plugin HTTP requests under [`HttpLimits`]; cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    client: reqwest::Client,
    limits: HttpLimits,
}

fn unavailable(what: String) -> HostError {
    HostError::Unavailable(what)
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

impl HttpFetcher {
    /// Build the client: no proxy, no cookies, no automatic redirects, a
    /// resolver that drops internal addresses.
    pub fn new(limits: HttpLimits) -> Result<HttpFetcher, HttpSetupError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicResolver))
            .user_agent(concat!(
                "wasmqq/",
                env!("CARGO_PKG_VERSION"),
                " (plugin fetch)"
            ))
            .build()?;
        Ok(HttpFetcher { client, limits })
    }

    /// The limits in force.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// Perform `req` for `plugin` within `allow`, finishing before
    /// `deadline` if given. Errors, as the plugin receives them: `invalid`
    /// for a malformed request or a host (or redirect target) not allowed,
    /// `quota-exceeded` for a body over the size limits, `unavailable` for
    /// network failures, timeouts and too many redirects. Failures are not
    /// logged here (the host interface logs them within the plugin's log
    /// budget).
    pub async fn fetch(
        &self,
        plugin: &str,
        allow: &[HostPattern],
        req: Request,
        deadline: Option<Instant>,
    ) -> Result<Response, HostError> {
        let mut limit = Duration::from_millis(self.limits.timeout_ms);
        if let Some(deadline) = deadline {
            // Leave the plugin a tenth of its remaining time to use the answer.
            let left = deadline.saturating_duration_since(Instant::now());
            limit = limit.min(left - left / 10);
        }
        let url_text = req.url.clone();
        let result = match tokio::time::timeout(limit, self.run(allow, req)).await {
            Ok(r) => r,
            Err(_) => Err(unavailable(format!(
                "HTTP request to {url_text} timed out after {} ms",
                limit.as_millis()
            ))),
        };
        // A failure is logged by the caller, within the plugin's log budget.
        if let Ok(resp) = &result {
            tracing::debug!(
                plugin,
                url = %url_text,
                status = resp.status,
                bytes = resp.body.len(),
                "plugin HTTP fetch"
            );
        }
        result
    }

    async fn run(&self, allow: &[HostPattern], req: Request) -> Result<Response, HostError> {
        let mut method = Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HostError::Invalid(format!("bad HTTP method {:?}", req.method)))?;
        let mut url = Url::parse(&req.url)
            .map_err(|e| HostError::Invalid(format!("bad URL {:?}: {e}", req.url)))?;
        if let Some(why) = refusal(&url, allow) {
            return Err(HostError::Invalid(why));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HostError::Invalid(format!("bad header name {name:?}")))?;
            if name == reqwest::header::HOST {
                return Err(HostError::Invalid(
                    "the Host header is set by the host".into(),
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| HostError::Invalid(format!("bad value for header {name}")))?;
            headers.append(name, value);
        }
        if req.body.len() > self.limits.max_request_bytes {
            return Err(HostError::QuotaExceeded(format!(
                "HTTP request body is {} bytes, at most {} allowed",
                req.body.len(),
                self.limits.max_request_bytes
            )));
        }
        let mut body = req.body;
        let mut hops = 0;
        loop {
            let mut builder = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if !body.is_empty() {
                builder = builder.body(body.clone());
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| unavailable(format!("HTTP request to {url} failed: {}", chain(&e))))?;
            let status = resp.status();
            if let Some(location) = redirect_target(&resp) {
                hops += 1;
                if hops > self.limits.max_redirects {
                    return Err(unavailable(format!(
                        "too many redirects (more than {}) from {}",
                        self.limits.max_redirects, req.url
                    )));
                }
                let next = url.join(&location).map_err(|e| {
                    unavailable(format!("{url} redirects to a bad URL {location:?}: {e}"))
                })?;
                if let Some(why) = refusal(&next, allow) {
                    return Err(HostError::Invalid(format!(
                        "redirect from {url} to {next} refused: {why}"
                    )));
                }
                if status == StatusCode::SEE_OTHER && method != Method::HEAD
                    || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && method == Method::POST
                {
                    method = Method::GET;
                    body.clear();
                    headers.remove(reqwest::header::CONTENT_TYPE);
                    headers.remove(reqwest::header::CONTENT_LENGTH);
                }
                if canonical_host(&next) != canonical_host(&url) {
                    headers.remove(reqwest::header::AUTHORIZATION);
                    headers.remove(reqwest::header::COOKIE);
                }
                url = next;
                continue;
            }
            return self.read(resp).await;
        }
    }

    async fn read(&self, mut resp: reqwest::Response) -> Result<Response, HostError> {
        let max = self.limits.max_response_bytes;
        let too_big = |n: String| {
            HostError::QuotaExceeded(format!(
                "HTTP response body is {n} bytes, at most {max} allowed"
            ))
        };
        if let Some(len) = resp.content_length()
            && len > max as u64
        {
            return Err(too_big(len.to_string()));
        }
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            unavailable(format!(
                "reading the response of {} failed: {}",
                resp.url(),
                chain(&e)
            ))
        })? {
            if body.len() + chunk.len() > max {
                return Err(too_big(format!("more than {max}")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The `Location` of a redirect response, if it is one.
fn redirect_target(resp: &reqwest::Response) -> Option<String> {
    if !matches!(
        resp.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    resp.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
