//! On-disk cache of compiled components, keyed by the component's content
//! hash and the engine's compatibility hash, so a plugin compiles once per
//! host version and loads in milliseconds afterwards.
//!
//! # Mapped, not read
//!
//! A cached component is mapped from its file (`Component::deserialize_file`)
//! rather than read into memory: its machine code is then clean, file-backed
//! pages the kernel shares and can drop and re-read, not a private copy per
//! plugin (with 100 small plugins that copy was about half of the bot's
//! RSS). A freshly compiled component is written to the cache and mapped
//! back from it for the same reason.
//!
//! Mapping relies on the file not changing while it is mapped: truncating
//! it would fault the host (SIGBUS) and writing into it would change code
//! that runs. The host itself never writes a cache file in place: entries
//! are written to a temporary file and renamed over, so a replaced entry is
//! a new inode and the mapped one stays intact. What remains is someone
//! else writing into a cache file in place, and whoever can write the cache
//! folder can already make the host run any code (an entry *is* native
//! code, trusted as such: wasmtime checks only its header and engine
//! settings). The cache folder must therefore be as trusted as the binary;
//! it is `<data_dir>/cache`, which the host owns.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::compiler::ChildError;

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

    /// Whether an entry for the content `content_hash` is present.
    pub fn contains(&self, content_hash: &str) -> bool {
        self.path_for(content_hash).is_file()
    }

    /// Load `bytes` as a component: from the cache when present and valid,
    /// otherwise compiled and then stored. Cache I/O problems are logged and
    /// never fail the load. The flag says whether the component's image is
    /// mapped from its cache file (else it is in anonymous memory).
    pub fn load(
        &self,
        engine: &Engine,
        content_hash: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<(Component, Origin, bool)> {
        let path = self.path_for(content_hash);
        if path.exists() {
            match map(engine, &path) {
                Ok(component) => return Ok((component, Origin::Cached, true)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "discarding unusable cached component: {e:#}"
                ),
            }
        }
        if let Some(program) = super::compiler::child_program() {
            match self.compile_in_child(engine, program, &path, bytes) {
                Ok(mapped) => return Ok((mapped, Origin::Compiled, true)),
                Err(e @ (ChildError::Spawn { .. } | ChildError::Unusable(_))) => {
                    tracing::warn!("{e}; compiling in this process")
                }
                Err(e) => return Err(wasmtime::Error::msg(e.to_string())),
            }
        }
        let component = super::compiler::compile_in_process(engine, bytes)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(path = %path.display(), "cannot write component cache: {e}");
            return Ok((component, Origin::Compiled, false));
        }
        // Use the mapped copy, so the compiled code is not kept in memory.
        match map(engine, &path) {
            Ok(mapped) => Ok((mapped, Origin::Compiled, true)),
            Err(_) => Ok((component, Origin::Compiled, false)),
        }
    }

    fn store(&self, path: &Path, component: &Component) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e}"))?;
        let tmp = tmp_path(path);
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Compile `bytes` in a child process into the entry `path` and map it
    /// (see [`super::compiler`]).
    fn compile_in_child(
        &self,
        engine: &Engine,
        program: &Path,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Component, ChildError> {
        let io = |source| ChildError::Spawn {
            program: program.into(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let tmp = tmp_path(path);
        let started = std::time::Instant::now();
        super::compiler::compile_in_child(
            program,
            bytes,
            &tmp,
            super::compiler::ChildLimits::DEFAULT,
        )?;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            bytes = bytes.len(),
            "component compiled in a child process"
        );
        std::fs::rename(&tmp, path).map_err(io)?;
        map(engine, path).map_err(|e| {
            let _ = std::fs::remove_file(path);
            ChildError::Unusable(format!("{e:#}"))
        })
    }
}

/// A fresh temporary name beside the entry `path`: unique per process and
/// per write, as several threads may write the same entry at once (two
/// files with the same content compiled in parallel), and each must rename
/// a whole file of its own.
fn tmp_path(path: &Path) -> PathBuf {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_extension(format!("tmp{}-{n}", std::process::id()))
}

/// Map a cache entry (see the module docs for why that is safe here).
fn map(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: files in the cache directory are only written by
    // `ComponentCache::store` (a whole `Component::serialize` output) or by
    // a compiler child process running this same binary (a whole
    // `Engine::precompile_component` output, the same format), renamed into
    // place, never modified afterwards, keyed by the engine's
    // compatibility hash; wasmtime also validates the header and the
    // engine's settings. The folder is trusted like the binary (module docs).
    unsafe { Component::deserialize_file(engine, path) }
}

/// Hex SHA-256 of a component's bytes.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
