//! `wasmqq:plugin/timers`, granted by `timers`: plugins schedule and
//! cancel durable timers; the scheduler behind it is
//! [`crate::timers::TimerService`], which fires them as `on-timer` calls.

use super::caller::{Ctx, Uses, blocking, not_available};
use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::timers::Host;
use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::clock::unix_ms;
use crate::timers::TimerService;

/// The `timers` capability's part of a plugin's state.
pub struct Slice {
    /// The scheduler; `None`: `unavailable`.
    pub(crate) service: Option<TimerService>,
}

/// Link `wasmqq:plugin/timers`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Ctx<'_, Slice>,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::timers::add_to_linker::<T, Uses<Slice>>(linker, get)
}

impl Ctx<'_, Slice> {
    fn timer_service(&self) -> Result<TimerService, HostError> {
        self.require(Capability::Timers)?;
        self.own
            .service
            .clone()
            .ok_or_else(|| not_available("timers"))
    }

    /// Schedule through the service; a refusal over the quota is logged
    /// within the plugin's log budget.
    async fn schedule_timer(&mut self, due_ms: u64, payload: String) -> Result<u64, HostError> {
        let service = self.timer_service()?;
        let plugin = self.plugin.clone();
        let chat = self.chat;
        let account = crate::account::current();
        let result =
            blocking(move || service.schedule(&plugin, due_ms, &payload, chat, &account)).await;
        if let Err(HostError::QuotaExceeded(why)) = &result
            && self.may_warn()
        {
            tracing::warn!(plugin = %self.plugin, "timer refused: {why}");
        }
        result
    }
}

impl Host for Ctx<'_, Slice> {
    async fn schedule(&mut self, delay_ms: u64, payload: String) -> Result<u64, HostError> {
        self.schedule_timer(unix_ms().saturating_add(delay_ms), payload)
            .await
    }

    async fn schedule_at(&mut self, at_ms: u64, payload: String) -> Result<u64, HostError> {
        self.schedule_timer(at_ms, payload).await
    }

    async fn cancel(&mut self, id: u64) -> Result<bool, HostError> {
        let service = self.timer_service()?;
        let plugin = self.plugin.clone();
        blocking(move || service.cancel(&plugin, id)).await
    }
}
