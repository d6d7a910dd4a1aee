//! Access-token checks for the HTTP API and the forward WebSocket
//! (`communication/authorization.md`): the token comes in
//! `Authorization: Bearer <token>` (the older `Token <token>` is accepted
//! too) or in the `access_token` query parameter. No token → 401, a wrong
//! one → 403.

use axum::http::{HeaderMap, StatusCode, header};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    /// No token given while one is configured.
    #[error("access token missing (send Authorization: Bearer <token> or ?access_token=)")]
    Missing,
    /// A token that is not the configured one.
    #[error("access token does not match")]
    Wrong,
}

impl AuthError {
    /// The HTTP status of the refusal.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            AuthError::Missing => StatusCode::UNAUTHORIZED,
            AuthError::Wrong => StatusCode::FORBIDDEN,
        }
    }

    /// The OneBot retcode of the refusal (1401 / 1403).
    pub(crate) fn retcode(self) -> i64 {
        match self {
            AuthError::Missing => 1401,
            AuthError::Wrong => 1403,
        }
    }
}

/// The token a request carries, header first.
fn given<'a>(headers: &'a HeaderMap, query: &'a [(String, String)]) -> Option<&'a str> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let v = v.trim();
            ["Bearer ", "bearer ", "Token ", "token "]
                .iter()
                .find_map(|p| v.strip_prefix(p))
                .unwrap_or(v)
                .trim()
        });
    from_header.or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.as_str())
    })
}

/// Checks a request against the configured token (`None`: anything goes).
pub(crate) fn check(
    token: Option<&str>,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<(), AuthError> {
    let Some(want) = token.filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    match given(headers, query) {
        None => Err(AuthError::Missing),
        Some("") => Err(AuthError::Missing),
        Some(t) if t == want => Ok(()),
        Some(_) => Err(AuthError::Wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn header_or_query() {
        let mut h = HeaderMap::new();
        assert_eq!(check(None, &h, &[]), Ok(()));
        assert_eq!(check(Some("t"), &h, &[]), Err(AuthError::Missing));
        let q = vec![("access_token".to_string(), "t".to_string())];
        assert_eq!(check(Some("t"), &h, &q), Ok(()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(check(Some("t"), &h, &[]), Err(AuthError::Wrong));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert_eq!(check(Some("t"), &h, &[]), Ok(()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Token t"));
        assert_eq!(check(Some("t"), &h, &[]), Ok(()));
    }
}
