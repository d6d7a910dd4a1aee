//! The HTTP API (`communication/http.md`): `GET` or `POST /<action>` (or
//! `/<action>/`), parameters from the query, an urlencoded form or a JSON
//! body (query parameters first, then the body's).
//!
//! HTTP statuses follow the standard: 401/403 for a missing/wrong token,
//! 406 for a POST whose Content-Type is neither JSON nor a form, 400 for
//! a body that does not parse, 404 for an unknown action (these carry the
//! envelope with 1401/1403/1400/1404 too); every other answer is 200 with
//! the envelope, a refused call included (`failed`, e.g. 1400 for missing
//! parameters).

use std::sync::Arc;

use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};

use super::actions::{self, Outcome, Reply};
use super::auth;
use crate::http::{self, Req};
use crate::state::Sim;

fn answer(status: StatusCode, reply: &Reply) -> Response {
    http::json_status(status, reply.envelope(None))
}

/// Serves one HTTP API request.
pub(crate) fn handle(sim: &Arc<Sim>, req: &Req) -> Response {
    let Some(face) = sim.config.onebot.as_ref().filter(|f| f.http_api) else {
        return http::status_page(StatusCode::NOT_FOUND);
    };
    if let Err(e) = auth::check(face.access_token.as_deref(), &req.headers, &req.query) {
        tracing::info!(path = %req.path, error = %e, "onebot: HTTP call refused");
        return answer(e.status(), &Reply::failed(e.retcode(), e.to_string()));
    }
    let action = req.path.trim_matches('/');
    if action.is_empty() || action.contains('/') || !actions::known(action) {
        tracing::info!(path = %req.path, "onebot: HTTP call of an unknown action");
        return answer(StatusCode::NOT_FOUND, &Reply::unknown(action));
    }
    if req.method != Method::GET && req.method != Method::POST {
        return http::status_page(StatusCode::METHOD_NOT_ALLOWED);
    }
    let params = match params(req) {
        Ok(p) => p,
        Err((status, why)) => {
            tracing::info!(action, %why, "onebot: HTTP call with a bad body");
            return answer(status, &Reply::bad_params(why));
        }
    };
    match actions::call(sim, action, &Value::Object(params)) {
        Outcome::Reply(r) => answer(StatusCode::OK, &r),
        Outcome::HttpStatus(s) => {
            http::status_page(StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY))
        }
        Outcome::Malformed => {
            let mut resp = http::json(Value::Null);
            *resp.body_mut() = r#"{"status":"ok","retcode":0,"data":{"#.into();
            resp
        }
        Outcome::NoAnswer | Outcome::Reset => {
            // No answer on HTTP: the connection is reset without a byte.
            if let Some(c) = &req.conn {
                c.kill();
            }
            http::status_page(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn pairs(map: &mut Map<String, Value>, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        map.insert(k.clone(), Value::String(v.clone()));
    }
}

/// The call's parameters; the error is the HTTP status and why.
fn params(req: &Req) -> Result<Map<String, Value>, (StatusCode, String)> {
    let mut map = Map::new();
    pairs(
        &mut map,
        &req.query
            .iter()
            .filter(|(k, _)| k != "access_token")
            .cloned()
            .collect::<Vec<_>>(),
    );
    if req.method != Method::POST || req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(map);
    }
    let ct = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ct.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(o)) => map.extend(o),
            Ok(other) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("the JSON body must be an object, not {other}"),
                ));
            }
            Err(e) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("the body is not JSON: {e}"),
                ));
            }
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
        pairs(&mut map, &req.form);
    } else {
        return Err((
            StatusCode::NOT_ACCEPTABLE,
            format!("Content-Type {ct:?} is neither application/json nor a form"),
        ));
    }
    Ok(map)
}
