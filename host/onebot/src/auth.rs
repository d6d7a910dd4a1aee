//! Authentication (`communication/authorization.md`, `http-post.md`).
//!
//! As a client (forward WebSocket, HTTP API) we send
//! `Authorization: Bearer <token>`. As a server (reverse WebSocket
//! listener, HTTP POST webhook) we accept the token in that header or in
//! an `access_token` query parameter, and answer as the standard's own
//! servers do: no token → 401, a wrong one → 403. Tokens and signatures
//! are compared in constant time.
//!
//! HTTP POST bodies may be signed: `X-Signature: sha1=<hex>` where the
//! hex is HMAC-SHA1 of the raw body keyed with the `secret`.

use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use sha1::Sha1;

/// The `Authorization` header value for `token`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The token a request presents: the `Authorization` header (`Bearer x`,
/// or `Token x` as some implementations send), else the `access_token`
/// query parameter of `query` (the URI's query string, without `?`).
pub fn presented_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(h) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let h = h.trim();
        let token = h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .or_else(|| h.strip_prefix("Token "))
            .unwrap_or(h);
        return Some(token.trim().to_string());
    }
    query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    })
}

/// Checks a request against the configured token: `Ok` when none is
/// configured or the right one is presented; 401 when none is presented,
/// 403 when a wrong one is.
pub fn check_token(
    expected: Option<&str>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), StatusCode> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match presented_token(headers, query) {
        None => Err(StatusCode::UNAUTHORIZED),
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(StatusCode::FORBIDDEN),
    }
}

/// The `X-Signature` value of `body` under `secret`: `sha1=<hex>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks the `X-Signature` header of an HTTP POST body: 401 when it is
/// absent, 403 when it does not match.
pub fn check_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), StatusCode> {
    let Some(given) = headers.get("x-signature").and_then(|v| v.to_str().ok()) else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    let expected = signature(secret, body);
    if constant_time_eq(
        given.trim().to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(StatusCode::FORBIDDEN)
    }
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn hmac_sha1_vectors() {
        // RFC 2202 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // The well-known "quick brown fox" vector.
        assert_eq!(
            signature("key", b"The quick brown fox jumps over the lazy dog"),
            "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
    }

    #[test]
    fn signature_check() {
        let body = br#"{"post_type":"message"}"#;
        let mut h = HeaderMap::new();
        assert_eq!(
            check_signature("s", &h, body),
            Err(StatusCode::UNAUTHORIZED)
        );
        h.insert(
            "x-signature",
            HeaderValue::from_str(&signature("s", body)).unwrap(),
        );
        assert_eq!(check_signature("s", &h, body), Ok(()));
        assert_eq!(
            check_signature("other", &h, body),
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            check_signature("s", &h, b"tampered"),
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn token_check() {
        let mut h = HeaderMap::new();
        assert_eq!(check_token(None, &h, None), Ok(()));
        assert_eq!(
            check_token(Some("kSLuTF2GC2Q4q4ugm3"), &h, None),
            Err(StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            check_token(
                Some("kSLuTF2GC2Q4q4ugm3"),
                &h,
                Some("access_token=kSLuTF2GC2Q4q4ugm3")
            ),
            Ok(())
        );
        assert_eq!(
            check_token(Some("kSLuTF2GC2Q4q4ugm3"), &h, Some("a=1&access_token=x")),
            Err(StatusCode::FORBIDDEN)
        );
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer kSLuTF2GC2Q4q4ugm3"),
        );
        assert_eq!(check_token(Some("kSLuTF2GC2Q4q4ugm3"), &h, None), Ok(()));
        assert_eq!(
            check_token(Some("other"), &h, None),
            Err(StatusCode::FORBIDDEN)
        );
    }
}
