//! Fault injection: scripted failures of one endpoint, and session-level
//! incidents (kick, expiry).
//!
//! With the OneBot face, an `endpoint` may also be a OneBot action
//! (`send_group_msg`, `get_login_info`, …; the `_async`/`_rate_limited`
//! forms count as their action): `retcode` answers `failed` with that
//! retcode, `no_answer` swallows the call (no answer frame; on HTTP the
//! connection is reset), `reset` drops the connection that carried it,
//! `malformed` answers invalid JSON, `http_status` answers that HTTP status
//! on the HTTP API (a `failed` answer with that retcode on WebSocket).
//! Two OneBot incidents stand alone: `{"onebot_drop":true}` drops every
//! OneBot WebSocket connection at once (forward ones are reset; the
//! reverse client reconnects after its interval), and
//! `{"onebot_malformed_event":"invalid_json"|"unknown_post_type"}` delivers
//! one broken event to every event consumer (kept until one is connected,
//! then sent before queued messages).
//!
//! A fault rule is consumed by the next `times` requests to its endpoint,
//! before the endpoint runs: a faulted `poll2` therefore leaves queued
//! events in the queue (nothing is lost), and a faulted send is not
//! delivered unless the rule says `"deliver": true` (the real 1202 "maybe
//! failed" that often got through anyway).

use serde::{Deserialize, Serialize};

use crate::names::{ACTIONS, ENDPOINTS};

/// A `POST /_sim/faults` body.
///
/// Exactly one of: an endpoint rule (`endpoint` plus one of `retcode`,
/// `http_status`, `malformed`, `reset`, `no_answer`; optional `times`,
/// default 1, and `deliver`), `kick`, `expire_session`, `onebot_drop`, or
/// `onebot_malformed_event`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Endpoint name: the last path segment, e.g. `poll2`, `send_qun_msg2`,
    /// or a OneBot action, e.g. `send_group_msg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Answer `{"retcode":N,...}`. On `poll2`, 116 carries a new ptwebqq in
    /// `p` and the old one is refused from then on; 120/121 lose the
    /// session: its psessionid is refused until a login2 relink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retcode: Option<i64>,
    /// Answer this HTTP status with an nginx error page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Answer 200 with truncated JSON.
    #[serde(default, skip_serializing_if = "is_false")]
    pub malformed: bool,
    /// Drop the connection without answering.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reset: bool,
    /// OneBot actions only: never answer the call (the connection stays).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_answer: bool,
    /// How many requests the rule affects (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// For sends: record the message as delivered despite the fault.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deliver: bool,
    /// Kick the session (a `kick_message` event, then 103).
    #[serde(default, skip_serializing_if = "is_false")]
    pub kick: bool,
    /// Expire the login and session at once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub expire_session: bool,
    /// Drop every OneBot WebSocket connection now.
    #[serde(default, skip_serializing_if = "is_false")]
    pub onebot_drop: bool,
    /// Deliver one malformed OneBot event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onebot_malformed_event: Option<MalformedEvent>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a fault rule does to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// A JSON error answer with this retcode.
    Retcode(i64),
    /// An HTTP error status.
    HttpStatus(u16),
    /// Truncated JSON.
    Malformed,
    /// Connection dropped.
    Reset,
    /// No answer (OneBot actions).
    NoAnswer,
}

/// An armed fault rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Endpoint name.
    pub endpoint: String,
    /// What happens.
    pub action: FaultAction,
    /// Requests still affected.
    pub remaining: u32,
    /// Sends: deliver anyway.
    pub deliver: bool,
}

/// A validated fault request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultCommand {
    /// Arm a rule.
    Rule(Fault),
    /// Kick the session.
    Kick,
    /// Expire the session.
    ExpireSession,
    /// Drop the OneBot connections.
    OneBotDrop,
    /// Deliver a malformed OneBot event.
    OneBotMalformed(MalformedEvent),
}

/// A deliberately broken event (`{"onebot_malformed_event": …}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedEvent {
    /// A frame / post body that is not JSON at all (truncated).
    InvalidJson,
    /// Well-formed JSON with `post_type` `"wasmqq_unknown"`.
    UnknownPostType,
}

/// Why a fault request is refused; the message names what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// An incident combined with anything else.
    #[error(
        "kick, expire_session, onebot_drop and onebot_malformed_event stand alone (no endpoint, no other field)"
    )]
    IncidentNotAlone,
    /// No endpoint and no incident.
    #[error("endpoint is required (or kick / expire_session)")]
    NoEndpoint,
    /// An endpoint neither face has.
    #[error("unknown endpoint {endpoint:?}; known: {}; OneBot actions: {}", ENDPOINTS.join(", "), ACTIONS.join(", "))]
    UnknownEndpoint {
        /// The endpoint asked for.
        endpoint: String,
    },
    /// Zero or several actions.
    #[error("give exactly one of retcode, http_status, malformed, reset, no_answer")]
    NotOneAction,
    /// `no_answer` on a WebQQ endpoint.
    #[error("no_answer is for OneBot actions; {0:?} is a WebQQ endpoint")]
    NoAnswerOnWebqq(String),
    /// An `http_status` outside 100–599.
    #[error("http_status {0} is not an HTTP status")]
    BadHttpStatus(u16),
    /// `times` = 0.
    #[error("times must be at least 1")]
    ZeroTimes,
}

impl FaultSpec {
    /// Validates the request; the error names what is wrong.
    pub fn command(&self) -> Result<FaultCommand, FaultSpecError> {
        let actions = [
            self.retcode.is_some(),
            self.http_status.is_some(),
            self.malformed,
            self.reset,
            self.no_answer,
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let incidents = usize::from(self.kick)
            + usize::from(self.expire_session)
            + usize::from(self.onebot_drop)
            + usize::from(self.onebot_malformed_event.is_some());
        if incidents > 0 {
            if incidents > 1 || actions > 0 || self.endpoint.is_some() {
                return Err(FaultSpecError::IncidentNotAlone);
            }
            return Ok(if self.kick {
                FaultCommand::Kick
            } else if self.expire_session {
                FaultCommand::ExpireSession
            } else if let Some(k) = self.onebot_malformed_event {
                FaultCommand::OneBotMalformed(k)
            } else {
                FaultCommand::OneBotDrop
            });
        }
        let Some(endpoint) = &self.endpoint else {
            return Err(FaultSpecError::NoEndpoint);
        };
        let onebot = ACTIONS.contains(&endpoint.as_str());
        if !onebot && !ENDPOINTS.contains(&endpoint.as_str()) {
            return Err(FaultSpecError::UnknownEndpoint {
                endpoint: endpoint.clone(),
            });
        }
        if actions != 1 {
            return Err(FaultSpecError::NotOneAction);
        }
        if self.no_answer && !onebot {
            return Err(FaultSpecError::NoAnswerOnWebqq(endpoint.clone()));
        }
        let action = if let Some(r) = self.retcode {
            FaultAction::Retcode(r)
        } else if let Some(s) = self.http_status {
            if !(100..=599).contains(&s) {
                return Err(FaultSpecError::BadHttpStatus(s));
            }
            FaultAction::HttpStatus(s)
        } else if self.malformed {
            FaultAction::Malformed
        } else if self.no_answer {
            FaultAction::NoAnswer
        } else {
            FaultAction::Reset
        };
        let times = self.times.unwrap_or(1);
        if times == 0 {
            return Err(FaultSpecError::ZeroTimes);
        }
        Ok(FaultCommand::Rule(Fault {
            endpoint: endpoint.clone(),
            action,
            remaining: times,
            deliver: self.deliver,
        }))
    }
}

/// Takes one use of the first rule armed for `endpoint`.
pub(crate) fn take(faults: &mut Vec<Fault>, endpoint: &str) -> Option<Fault> {
    let i = faults.iter().position(|f| f.endpoint == endpoint)?;
    let f = faults[i].clone();
    faults[i].remaining -= 1;
    if faults[i].remaining == 0 {
        faults.remove(i);
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<FaultCommand, String> {
        serde_json::from_str::<FaultSpec>(json)
            .map_err(|e| e.to_string())?
            .command()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn validates_the_documented_forms() {
        assert_eq!(
            spec(r#"{"endpoint":"poll2","retcode":103,"times":1}"#),
            Ok(FaultCommand::Rule(Fault {
                endpoint: "poll2".into(),
                action: FaultAction::Retcode(103),
                remaining: 1,
                deliver: false
            }))
        );
        assert!(matches!(
            spec(r#"{"endpoint":"send_qun_msg2","http_status":502,"times":2}"#),
            Ok(FaultCommand::Rule(Fault { remaining: 2, .. }))
        ));
        assert!(spec(r#"{"endpoint":"poll2","malformed":true}"#).is_ok());
        assert!(spec(r#"{"endpoint":"poll2","reset":true}"#).is_ok());
        assert_eq!(spec(r#"{"kick":true}"#), Ok(FaultCommand::Kick));
        assert_eq!(
            spec(r#"{"expire_session":true}"#),
            Ok(FaultCommand::ExpireSession)
        );
        assert!(
            spec(r#"{"endpoint":"pol2","reset":true}"#)
                .unwrap_err()
                .contains("pol2")
        );
        assert!(spec(r#"{"endpoint":"poll2"}"#).is_err());
        assert!(spec(r#"{"endpoint":"poll2","reset":true,"malformed":true}"#).is_err());
        assert!(spec(r#"{"kick":true,"endpoint":"poll2"}"#).is_err());
        assert!(spec(r#"{"endpoint":"poll2","reset":true,"times":0}"#).is_err());
        assert!(spec(r#"{"endpoint":"send_group_msg","no_answer":true,"times":3}"#).is_ok());
        assert!(spec(r#"{"endpoint":"get_login_info","retcode":1,"times":1}"#).is_ok());
        assert!(spec(r#"{"endpoint":"poll2","no_answer":true}"#).is_err());
        assert_eq!(
            spec(r#"{"onebot_drop":true}"#),
            Ok(FaultCommand::OneBotDrop)
        );
        assert_eq!(
            spec(r#"{"onebot_malformed_event":"unknown_post_type"}"#),
            Ok(FaultCommand::OneBotMalformed(
                MalformedEvent::UnknownPostType
            ))
        );
        assert!(spec(r#"{"onebot_malformed_event":"nope"}"#).is_err());
        assert!(spec(r#"{"onebot_drop":true,"kick":true}"#).is_err());
        assert!(
            spec(r#"{"endpiont":"poll2"}"#)
                .unwrap_err()
                .contains("endpiont")
        );
    }

    #[test]
    fn take_counts_down() {
        let mut v = vec![Fault {
            endpoint: "poll2".into(),
            action: FaultAction::Reset,
            remaining: 2,
            deliver: false,
        }];
        assert!(take(&mut v, "send_buddy_msg2").is_none());
        assert!(take(&mut v, "poll2").is_some());
        assert!(take(&mut v, "poll2").is_some());
        assert!(take(&mut v, "poll2").is_none());
    }
}
