//! Which account the work at hand belongs to.
//!
//! A bot may serve several accounts (`[[accounts]]`, see
//! [`crate::platform`]), while the plugin ABI speaks of chats only: a
//! plugin's `send`, `contacts` and `timers` calls carry no account. The
//! dispatcher runs each message's and timer's work inside [`scope`] with the
//! account it came from, and the capabilities read [`current`], so a plugin
//! answering on one account sends, looks up and schedules on that account.
//! (A plugin call runs in its caller's task, so the task-local value is the
//! caller's.) Outside any scope the account is
//! [`DEFAULT_ACCOUNT`].

use std::future::Future;
use std::sync::Arc;

/// The account a chat belongs to when the configuration names none (one
/// account from `[webqq]`, or a single unnamed `[[accounts]]` entry). Its
/// chat keys and its outbox file are those of a one-account bot.
pub const DEFAULT_ACCOUNT: &str = "main";

tokio::task_local! {
    static CURRENT: Arc<str>;
}

/// The account of the running message or timer; the default account
/// outside one.
pub fn current() -> Arc<str> {
    CURRENT
        .try_with(Arc::clone)
        .unwrap_or_else(|_| DEFAULT_ACCOUNT.into())
}

/// Runs `work` as work of `account`.
pub async fn scope<F: Future>(account: Arc<str>, work: F) -> F::Output {
    CURRENT.scope(account, work).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scope_names_the_account_and_the_default_is_outside() {
        assert_eq!(&*current(), DEFAULT_ACCOUNT);
        let inner = scope("second".into(), async { current() }).await;
        assert_eq!(&*inner, "second");
        assert_eq!(&*current(), DEFAULT_ACCOUNT);
    }
}
