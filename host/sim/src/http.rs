//! The request view every route works on, and response builders.
//!
//! Routes need the original host (from the absolute URI or the `Host`
//! header, port stripped), query and form fields as raw pairs (peers send
//! malformed queries that a strict deserializer would refuse), cookies by
//! name, and the leniency rules of §1: `r` from body or query, numbers as
//! numbers or strings.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::conn::ConnCtl;
use crate::cookies;

/// Largest request body read (form posts are small).
const BODY_LIMIT: usize = 1 << 20;

/// A parsed request.
pub(crate) struct Req {
    pub method: Method,
    /// Lower-case host without port.
    pub host: String,
    /// Port from the Host header / URI, if any.
    pub port: Option<u16>,
    /// `https` when `X-Original-Scheme`/`X-Forwarded-Proto` says so.
    pub scheme: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub body: Bytes,
    pub headers: HeaderMap,
    pub cookies: Vec<(String, String)>,
    pub conn: Option<ConnCtl>,
}

fn split_host(authority: &str) -> (String, Option<u16>) {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        // [v6]:port
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        let port = p.strip_prefix(':').and_then(|p| p.parse().ok());
        return (h.to_ascii_lowercase(), port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            (h.to_ascii_lowercase(), p.parse().ok())
        }
        _ => (authority.to_ascii_lowercase(), None),
    }
}

/// The lower-case host (port stripped) a request is for, from the
/// absolute URI or the `Host` header.
pub(crate) fn host_of(req: &axum::extract::Request) -> String {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    split_host(&authority).0
}

impl Req {
    /// Reads the request (body included).
    pub(crate) async fn read(
        req: axum::extract::Request,
        conn: Option<ConnCtl>,
    ) -> Result<Req, Response> {
        let (parts, body) = req.into_parts();
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str().to_string())
            .or_else(|| {
                parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let (host, port) = split_host(&authority);
        let https = ["x-original-scheme", "x-forwarded-proto"].iter().any(|h| {
            parts
                .headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("https"))
        }) || parts.uri.scheme_str() == Some("https");
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| status_page(StatusCode::PAYLOAD_TOO_LARGE))?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let form = if is_form && !body.is_empty() {
            url::form_urlencoded::parse(&body).into_owned().collect()
        } else {
            Vec::new()
        };
        let cookies = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookies::parse)
            .collect();
        Ok(Req {
            method: parts.method,
            host,
            port,
            scheme: if https { "https" } else { "http" },
            path: parts.uri.path().to_string(),
            query,
            form,
            body,
            headers: parts.headers,
            cookies,
            conn,
        })
    }

    /// A query parameter.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query or form parameter (query first).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query(name).or_else(|| {
            self.form
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        })
    }

    /// Every value of a cookie name (several domains may send one each).
    pub(crate) fn cookies(&self, name: &str) -> impl Iterator<Item = &str> {
        self.cookies
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `r` JSON object, from the form body or else the query (§1.2).
    pub(crate) fn r(&self) -> Result<Value, String> {
        let raw = self
            .form
            .iter()
            .find(|(k, _)| k == "r")
            .map(|(_, v)| v.as_str())
            .or_else(|| self.query("r"))
            .ok_or_else(|| "missing form field r".to_string())?;
        match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err("r is not a JSON object".into()),
            Err(e) => Err(format!("r is not JSON: {e}")),
        }
    }

    /// §1.4: a Referer containing `qq.com` is required on the API hosts;
    /// its exact value (and Origin) is never checked.
    pub(crate) fn referer_ok(&self) -> bool {
        self.headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|r| r.contains("qq.com"))
    }

    /// `scheme://host[:port]` for a URL on `host` that this client can
    /// reach: same scheme and same port as the current request.
    pub(crate) fn origin_for(&self, host: &str) -> String {
        match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }
}

/// Reads a JSON value as an integer, accepting numeric strings (§1.2).
pub(crate) fn as_u64(v: Option<&Value>) -> Option<u64> {
    let v = v?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .or_else(|| {
            v.as_f64()
                .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        })
}

/// Reads a JSON value as a string; `null`/absent give `""`, numbers their text.
pub(crate) fn as_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Parses a decimal integer parameter.
pub(crate) fn num(s: Option<&str>) -> Option<u64> {
    s.and_then(|s| s.trim().parse().ok())
}

fn build(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `200 application/json` with a compact body (keys sorted, like the late
/// service).
pub(crate) fn json(v: Value) -> Response {
    build(
        StatusCode::OK,
        "application/json;charset=utf-8",
        v.to_string(),
    )
}

/// A JSON body with another status (control API errors).
pub(crate) fn json_status(status: StatusCode, v: Value) -> Response {
    build(status, "application/json;charset=utf-8", v.to_string())
}

/// `200` JavaScript (ptlogin answers).
pub(crate) fn javascript(body: String) -> Response {
    build(StatusCode::OK, "application/javascript;charset=utf-8", body)
}

/// `200` HTML.
pub(crate) fn html(body: String) -> Response {
    build(StatusCode::OK, "text/html;charset=utf-8", body)
}

/// `200 image/png`.
pub(crate) fn png(bytes: Vec<u8>) -> Response {
    build(StatusCode::OK, "image/png", bytes)
}

/// An nginx-style error page (404, 502, 504, …).
pub(crate) fn status_page(status: StatusCode) -> Response {
    let line = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    build(
        status,
        "text/html",
        format!(
            "<html>\r\n<head><title>{line}</title></head>\r\n<body>\r\n<center><h1>{line}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// Adds `Set-Cookie` headers.
pub(crate) fn with_cookies(mut resp: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_splitting() {
        assert_eq!(
            split_host("D1.web2.qq.com:8080"),
            ("d1.web2.qq.com".into(), Some(8080))
        );
        assert_eq!(split_host("w.qq.com"), ("w.qq.com".into(), None));
        assert_eq!(split_host("[::1]:99"), ("::1".into(), Some(99)));
    }

    #[test]
    fn lenient_numbers() {
        use serde_json::json;
        assert_eq!(as_u64(Some(&json!(5))), Some(5));
        assert_eq!(as_u64(Some(&json!("53999199"))), Some(53999199));
        assert_eq!(as_u64(Some(&json!("x"))), None);
        assert_eq!(as_string(Some(&json!(null))), "");
    }
}
