//! `wasmqq:plugin/messaging`, granted by `send`: proactive messages.
//!
//! The host hands each message to an [`Outbound`] — the outbox, which paces,
//! orders and retries delivery. `send` returns once the message is queued,
//! not delivered.

use std::sync::Arc;

use super::caller::{Ctx, Uses, not_available};
use crate::abi::v0_1_0::wasmqq::plugin::messaging::Host;
use crate::abi::v0_1_0::wasmqq::plugin::types::{Chat, HostError, Segment};
use crate::abi::{Capability, CapabilitySet};

/// The `send` capability's part of a plugin's state.
pub struct Slice {
    /// Where proactive messages go; `None`: `unavailable`.
    pub(crate) outbound: Option<Arc<dyn Outbound>>,
}

/// Link `wasmqq:plugin/messaging`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Ctx<'_, Slice>,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::messaging::add_to_linker::<T, Uses<Slice>>(linker, get)
}

/// Whether `plugin` may return a `send` action (a message to another chat
/// than the one it answers): the same grant as the interface, checked here
/// so the `send` capability stays the one place that decides. A refused
/// action is logged when `may_warn` says the plugin's log budget for host
/// warnings allows it (a plugin returning refused actions on every message
/// logs a bounded number of lines); the dispatcher drops it.
pub fn permits_action(
    plugin: &str,
    granted: CapabilitySet,
    may_warn: impl FnOnce() -> bool,
) -> bool {
    let ok = granted.contains(Capability::Send);
    if !ok && may_warn() {
        tracing::warn!(
            plugin,
            "plugin returned a send action without the \"send\" capability; dropped"
        );
    }
    ok
}

/// Largest proactive message, in bytes of text (as for replies).
pub const MAX_SEND_BYTES: usize = 64 << 10;

/// Where proactive messages go: the outbox in the host. Implementations
/// must not block (queue and return).
///
/// Errors are the values the plugin receives: `quota-exceeded` for a rate
/// limit (name it: "at most 20 messages per minute"), `invalid` for a chat
/// the bot cannot reach, `unavailable` when the outbox is stopped or full.
pub trait Outbound: Send + Sync {
    /// Queue `segments` to `chat` on behalf of `plugin`.
    fn send(&self, plugin: &str, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError>;
}

impl Host for Ctx<'_, Slice> {
    async fn send(&mut self, chat: Chat, segments: Vec<Segment>) -> Result<(), HostError> {
        self.require(Capability::Send)?;
        let outbound = self
            .own
            .outbound
            .clone()
            .ok_or_else(|| not_available("proactive sending"))?;
        let empty = |s: &Segment| matches!(s, Segment::Text(t) if t.trim().is_empty());
        if segments.iter().all(empty) {
            return Err(HostError::Invalid("a message must not be empty".into()));
        }
        let size: usize = segments.iter().map(Segment::size).sum();
        let max = MAX_SEND_BYTES;
        if size > max {
            return Err(HostError::Invalid(format!(
                "message is {size} bytes, at most {max} allowed"
            )));
        }
        outbound
            .send(&self.plugin, chat, segments)
            .inspect_err(|e| {
                if self.may_warn() {
                    tracing::warn!(plugin = %self.plugin, ?chat, "proactive send refused: {e:?}");
                }
            })
    }
}
