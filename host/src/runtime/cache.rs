//! On-disk cache of compiled components, keyed by the component's content
//! hash and the engine's compatibility hash, so a plugin compiles once per
//! host version and loads in milliseconds afterwards.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of precompiled components (`<sha256>-<engine>.cwasm`).
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

/// Where a component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and written to the cache if there is one).
    Compiled,
    /// Loaded precompiled from the cache.
    Cached,
}

impl ComponentCache {
    /// A cache in `dir` for `engine` (the directory is created on first write).
    pub fn new(dir: impl Into<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        ComponentCache {
            dir: dir.into(),
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, content_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{content_hash}-{}.cwasm", self.engine_key))
    }

    /// Load `bytes` as a component: from the cache when present and valid,
    /// otherwise compiled and then stored. Cache I/O problems are logged and
    /// never fail the load.
    pub fn load(
        &self,
        engine: &Engine,
        content_hash: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Origin)> {
        let path = self.path_for(content_hash);
        if let Ok(cached) = std::fs::read(&path) {
            // Read into memory rather than mapping the file, so a cache file
            // changed by someone else can never fault the host.
            // SAFETY: files in the cache directory are only written by
            // `Component::serialize` below, keyed by the engine's
            // compatibility hash; wasmtime also validates the header.
            match unsafe { Component::deserialize(engine, &cached) } {
                Ok(component) => return Ok((component, Origin::Cached)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "discarding unusable cached component: {e}"
                ),
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), "cannot write component cache: {e}");
        }
        Ok((component, Origin::Compiled))
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// Hex SHA-256 of a component's bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
