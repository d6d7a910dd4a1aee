//! Host-side pacing of sends, per chat: OneBot has no server-side pacing
//! except the `_rate_limited` actions (whose answer is `async`, without a
//! message id), so two sends to one chat are spaced by
//! [`Config::send_interval`](crate::Config::send_interval) here.
//! Sends to different chats do not wait for each other.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A chat that sends are paced for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Chat {
    Private(u64),
    Group(u64),
}

/// The next free send slot of each chat.
pub(crate) struct Pacer {
    interval: Duration,
    next: Mutex<HashMap<Chat, Instant>>,
}

impl Pacer {
    pub(crate) fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Takes the chat's next slot and waits for it. Slots are handed out
    /// in call order, `interval` apart.
    pub(crate) async fn wait(&self, chat: Chat) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if next.len() > 4096 {
                next.retain(|_, t| *t > now);
            }
            let at = next.get(&chat).map_or(now, |t| (*t).max(now));
            next.insert(chat, at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaces_sends_per_chat() {
        let interval = Duration::from_millis(250);
        let p = Pacer::new(interval);
        let t0 = Instant::now();
        p.wait(Chat::Group(1)).await;
        p.wait(Chat::Private(1)).await;
        p.wait(Chat::Group(2)).await;
        // Different chats do not wait for each other.
        assert!(t0.elapsed() < interval, "{:?}", t0.elapsed());
        p.wait(Chat::Group(1)).await;
        assert!(t0.elapsed() >= interval);
        p.wait(Chat::Group(1)).await;
        assert!(t0.elapsed() >= interval * 2);
        // After a pause the next send goes at once.
        tokio::time::sleep(interval * 2).await;
        let t1 = Instant::now();
        p.wait(Chat::Group(1)).await;
        assert!(t1.elapsed() < interval, "{:?}", t1.elapsed());
    }
}
