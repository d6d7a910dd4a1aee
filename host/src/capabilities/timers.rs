//! `wasmqq:plugin/timers`, granted by `timers`: plugins schedule and
//! cancel durable timers; the scheduler behind it is
//! [`crate::timers::TimerService`], which fires them as `on-timer` calls.

use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::timers::{self, Host};
use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::clock::unix_ms;
use crate::timers::TimerService;

use super::PluginState;

/// Link `wasmqq:plugin/timers`.
pub(crate) fn link(linker: &mut super::Linker) -> wasmtime::Result<()> {
    timers::add_to_linker::<_, super::Own>(linker, |s| s)
}

impl PluginState {
    fn timer_service(&self) -> Result<TimerService, HostError> {
        self.require(Capability::Timers)?;
        self.services
            .timers
            .clone()
            .ok_or_else(|| super::not_available("timers"))
    }

    /// Schedule through the service; a refusal over the quota is logged
    /// within the plugin's log budget.
    async fn schedule_timer(&mut self, due_ms: u64, payload: String) -> Result<u64, HostError> {
        let service = self.timer_service()?;
        let plugin = self.plugin.clone();
        let chat = self.chat;
        let account = crate::account::current();
        let result =
            super::blocking(move || service.schedule(&plugin, due_ms, &payload, chat, &account))
                .await;
        if let Err(HostError::QuotaExceeded(why)) = &result
            && self.may_warn()
        {
            tracing::warn!(plugin = %self.plugin, "timer refused: {why}");
        }
        result
    }
}

impl Host for PluginState {
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
        super::blocking(move || service.cancel(&plugin, id)).await
    }
}
