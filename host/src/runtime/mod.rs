//! The plugin runtime: wasmtime with the component model, async calls and
//! epoch deadlines; one long-lived instance per plugin behind a fair lock,
//! called in the caller's task.
//!
//! Loading a plugin: [`Runtime::compile`] reads the file, compiles it (or
//! loads it from the on-disk [`ComponentCache`]), checks the ABI version and
//! links it; [`Runtime::start`] instantiates it, calls `describe` and `init`
//! and hands back a [`PluginHandle`] whose calls run one at a time under the
//! [`Limits`].
//!
//! Containment: each call has a wall-clock deadline enforced by epoch
//! interruption (the plugin also yields to tokio every tick, so a busy
//! plugin never blocks other tasks); memory, tables and instances are capped
//! by a store limiter; WASI is linked with nothing granted. A trap or a blown
//! limit fails only that call; the instance is rebuilt from its
//! `InstancePre`, and consecutive faults quarantine the plugin.

mod cache;
pub mod compiler;
mod engine;
mod error;
mod handle;
mod info;
mod instance;
mod limits;
mod load;
mod residency;

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::capabilities::{Grants, PluginState, Services};

pub use cache::{ComponentCache, Origin, content_hash};
pub use error::{CallError, LoadError};
pub use handle::{PluginHandle, PluginStatus};
pub use info::{InfoError, valid_command_name, validate as validate_info};
pub use instance::{Call, ChooseSetup, Instance, PluginSetup};
pub use limits::Limits;
pub use load::Compiled;

/// How to build a [`Runtime`].
#[derive(Clone, Default)]
pub struct RuntimeConfig {
    /// Limits applied to every plugin.
    pub limits: Limits,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Backends of the capability interfaces.
    pub services: Services,
}

/// Why the runtime could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the configuration or the linker setup failed.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// The epoch thread could not be started.
    #[error("cannot start the epoch thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The shared engine, linker and cache every plugin is loaded with.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache: Option<ComponentCache>,
    limits: Limits,
    services: Services,
    ticker: engine::EpochTicker,
}

impl Runtime {
    /// Build the engine, link WASI (nothing granted) and the wasmqq host
    /// interfaces, and start the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Arc<Runtime>, RuntimeError> {
        let engine_err = |e: wasmtime::Error| RuntimeError::Engine(format!("{e:#}"));
        let engine = engine::new_engine().map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(engine_err)?;
        crate::capabilities::link(&mut linker).map_err(engine_err)?;
        let cache = config
            .cache_dir
            .map(|dir| ComponentCache::new(dir, &engine));
        let ticker = engine::EpochTicker::start(engine.clone())?;
        Ok(Arc::new(Runtime {
            engine,
            linker,
            cache,
            limits: config.limits,
            services: config.services,
            ticker,
        }))
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every plugin runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Keeps the epoch ticking while wasm runs (see [`engine`]).
    pub(crate) fn ticker(&self) -> engine::TickerHandle {
        self.ticker.handle()
    }

    /// Whether the component `bytes` is compiled in the cache already (it
    /// then loads in milliseconds).
    pub fn is_cached(&self, bytes: &[u8]) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|cache| cache.contains(&content_hash(bytes)))
    }

    /// The capability backends.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Compile (off the async threads), instantiate and start a plugin with
    /// its grants and configuration (a JSON object, `{}` if none).
    pub async fn start(
        self: &Arc<Self>,
        path: impl Into<PathBuf>,
        grants: Grants,
        config: &str,
    ) -> Result<PluginHandle, LoadError> {
        let path = path.into();
        let path_for_error = path.clone();
        let rt = self.clone();
        let compiled = tokio::task::spawn_blocking(move || rt.compile(&path))
            .await
            .map_err(|e| LoadError::Start {
                path: path_for_error.clone(),
                stage: "compile",
                message: e.to_string(),
            })??;
        let setup = PluginSetup {
            grants,
            config: config.to_string(),
        };
        self.start_compiled(compiled, &move |_| Ok(setup.clone()))
            .await
    }

    /// Start a plugin that is already compiled; `setup` gives its grants and
    /// configuration once its metadata is known.
    pub async fn start_compiled(
        self: &Arc<Self>,
        compiled: Compiled,
        setup: &ChooseSetup<'_>,
    ) -> Result<PluginHandle, LoadError> {
        let (instance, info, setup) = Instance::start(self, &compiled, setup).await?;
        if compiled.mapped {
            residency::release_image(compiled.pre.instance_pre().component());
        }
        tracing::debug!(
            plugin = %info.name,
            version = %info.version,
            abi = %compiled.abi_version,
            origin = ?compiled.origin,
            "plugin started from {}",
            compiled.path().display()
        );
        Ok(PluginHandle::spawn(
            self.clone(),
            compiled,
            setup,
            instance,
            info,
        ))
    }
}
