//! The capabilities: what a plugin can ask of the host, one module each.
//!
//! A module owns everything of its capability: the host side of its WIT
//! interface, implemented on [`Ctx`]`<its slice>`: the [`Caller`] and the
//! capability's own slice of the plugin's state, never another
//! capability's), its grant check (the only one: [`Caller::require`] at
//! the top of each call; refused calls get `not-granted` and a warning
//! within the plugin's log budget), its slice type (its backend and the
//! plugin's settings, such as the kv quota or the http allow list), its
//! backend trait, the limits its configuration section holds, and its
//! `link` function. [`link`] is the one place the interfaces are added to
//! the linker. Spin's factors (a per-instance state per factor) are the
//! model, without the generic machinery: one store type, one ABI world.
//!
//! | module | interface | grant | backend in [`Services`] |
//! | --- | --- | --- | --- |
//! | [`clock`] | `clock` | always | — |
//! | [`log`] | `log` (and WASI stdout/stderr) | always | — (the plugin's [`log_budget`]) |
//! | [`kv`] | `kv` | `kv` (quota per plugin) | [`KvStore`] |
//! | [`timers`] | `timers` | `timers` | [`crate::timers::TimerService`] |
//! | [`send`] | `messaging` | `send` | [`Outbound`] (the outbox) |
//! | [`contacts`] | `contacts` | `contacts` | [`ContactDirectory`] |
//! | [`http`] | `http` | `http` (allow list per plugin) | [`HttpFetcher`] |
//!
//! Adding a capability: a variant in the WIT `capability` enum and its name
//! in [`crate::abi`], one module here with its `Slice`, its `Host` impl on
//! `Ctx<Slice>` and `link`, one line in [`link`], the slice in
//! [`PluginState`] and its backend (if any) as a field of [`Services`]. A
//! granted capability whose backend is absent answers `unavailable`.

mod caller;
pub mod clock;
pub mod contacts;
pub mod grants;
pub mod http;
pub mod kv;
pub mod log;
pub mod log_budget;
pub mod send;
pub mod state;
pub mod timers;

use wasmtime::component::HasSelf;

use crate::abi::v0_1_0::wasmqq::plugin::types;

pub use caller::{Caller, Ctx};
pub use contacts::{Contact, ContactDirectory};
pub use grants::{GrantError, Grants};
pub use http::{HostPattern, HttpFetcher, HttpLimits, HttpSetupError};
pub use kv::{KvQuota, KvStore, MemoryKv, SqliteKv};
pub use log_budget::LogLimits;
pub use send::Outbound;
pub use state::{PluginState, Services};

/// The linker every plugin is linked with.
pub(crate) type Linker = wasmtime::component::Linker<PluginState>;

impl types::Host for PluginState {}

/// Add every wasmqq interface to `linker`: the shared `types`, then one
/// line per capability, each handed the view of the state it may see (the
/// caller and its own slice). WASI is linked by the runtime, with nothing
/// granted.
pub(crate) fn link(linker: &mut Linker) -> wasmtime::Result<()> {
    types::add_to_linker::<_, HasSelf<PluginState>>(linker, |s| s)?;
    clock::link(linker, |s| &s.caller)?;
    log::link(linker, |s| &s.caller)?;
    kv::link(linker, |s| Ctx {
        caller: &s.caller,
        own: &mut s.kv,
    })?;
    timers::link(linker, |s| Ctx {
        caller: &s.caller,
        own: &mut s.timers,
    })?;
    send::link(linker, |s| Ctx {
        caller: &s.caller,
        own: &mut s.send,
    })?;
    contacts::link(linker, |s| Ctx {
        caller: &s.caller,
        own: &mut s.contacts,
    })?;
    http::link(linker, |s| Ctx {
        caller: &s.caller,
        own: &mut s.http,
    })?;
    Ok(())
}
