//! Per-user and per-chat cooldowns between commands, with at most one
//! "slow down" notice per user until they wait.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// `[rate_limit]`: cooldowns between commands. A command arriving during a
/// cooldown is dropped, with at most one short "slow down" reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Minimum time between two commands of one user (in any chat), in
    /// milliseconds; 0 disables. Default: 1000.
    pub user_cooldown_ms: u64,
    /// Minimum time between two commands in one chat (from anyone), in
    /// milliseconds; 0 disables. Default: 0.
    pub chat_cooldown_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            user_cooldown_ms: 1000,
            chat_cooldown_ms: 0,
        }
    }
}

impl RateLimitConfig {
    /// [`user_cooldown_ms`](Self::user_cooldown_ms) as a [`Duration`].
    pub fn user_cooldown(&self) -> Duration {
        Duration::from_millis(self.user_cooldown_ms)
    }

    /// [`chat_cooldown_ms`](Self::chat_cooldown_ms) as a [`Duration`].
    pub fn chat_cooldown(&self) -> Duration {
        Duration::from_millis(self.chat_cooldown_ms)
    }
}

/// The verdict for one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Too soon: answer once with a notice.
    Warn,
    /// Too soon again: stay silent.
    Drop,
}

/// Cooldown bookkeeping.
#[derive(Debug)]
pub struct RateLimiter {
    user_cooldown: Duration,
    chat_cooldown: Duration,
    users: HashMap<u64, Instant>,
    chats: HashMap<String, Instant>,
    warned: HashMap<u64, bool>,
}

impl RateLimiter {
    /// The cooldowns of `config` (zero disables one).
    pub fn new(config: &RateLimitConfig) -> Self {
        RateLimiter {
            user_cooldown: config.user_cooldown(),
            chat_cooldown: config.chat_cooldown(),
            users: HashMap::new(),
            chats: HashMap::new(),
            warned: HashMap::new(),
        }
    }

    /// Check and record a command from `user` in `chat` at `now`.
    pub fn check(&mut self, user: u64, chat: &str, now: Instant) -> Verdict {
        let too_soon = |last: Option<&Instant>, cooldown: Duration| {
            !cooldown.is_zero() && last.is_some_and(|t| now.duration_since(*t) < cooldown)
        };
        if too_soon(self.users.get(&user), self.user_cooldown)
            || too_soon(self.chats.get(chat), self.chat_cooldown)
        {
            let warned = self.warned.entry(user).or_insert(false);
            return if std::mem::replace(warned, true) {
                Verdict::Drop
            } else {
                Verdict::Warn
            };
        }
        self.users.insert(user, now);
        self.chats.insert(chat.to_string(), now);
        self.warned.insert(user, false);
        if self.users.len() > 10_000 {
            let horizon = self.user_cooldown.max(self.chat_cooldown);
            self.users.retain(|_, t| now.duration_since(*t) < horizon);
            self.chats.retain(|_, t| now.duration_since(*t) < horizon);
        }
        Verdict::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_then_drops_until_the_cooldown_passes() {
        let mut rl = RateLimiter::new(&RateLimitConfig {
            user_cooldown_ms: 2000,
            chat_cooldown_ms: 0,
        });
        let t0 = Instant::now();
        assert_eq!(rl.check(1, "g", t0), Verdict::Allow);
        assert_eq!(
            rl.check(1, "g", t0 + Duration::from_millis(100)),
            Verdict::Warn
        );
        assert_eq!(
            rl.check(1, "g", t0 + Duration::from_millis(200)),
            Verdict::Drop
        );
        assert_eq!(
            rl.check(2, "g", t0 + Duration::from_millis(300)),
            Verdict::Allow
        );
        assert_eq!(
            rl.check(1, "g", t0 + Duration::from_secs(3)),
            Verdict::Allow
        );
        assert_eq!(
            rl.check(1, "g", t0 + Duration::from_millis(3100)),
            Verdict::Warn
        );
    }

    #[test]
    fn chat_cooldown_applies_across_users() {
        let mut rl = RateLimiter::new(&RateLimitConfig {
            user_cooldown_ms: 0,
            chat_cooldown_ms: 1000,
        });
        let t0 = Instant::now();
        assert_eq!(rl.check(1, "g", t0), Verdict::Allow);
        assert_eq!(rl.check(2, "g", t0), Verdict::Warn);
        assert_eq!(rl.check(2, "h", t0), Verdict::Allow);
    }
}
