//! Turning a `.wasm` file into a linked, ready-to-instantiate plugin.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use wasmtime::component::Component;

use super::Runtime;
use super::cache::{Origin, content_hash};
use super::error::LoadError;
use crate::abi::{self, PluginInfo, v0_1_0::PluginPre};
use crate::capabilities::PluginState;

/// A component's metadata as validated once, with its triggers compiled:
/// every later instance that describes itself the same way reuses them.
pub(crate) struct Validated {
    pub(crate) info: PluginInfo,
    pub(crate) triggers: Option<regex::RegexSet>,
}

/// A compiled and linked plugin component, from which instances are made.
#[derive(Clone)]
pub struct Compiled {
    pub(crate) path: Arc<Path>,
    pub(crate) pre: PluginPre<PluginState>,
    /// The WIT package version the plugin was built against.
    pub abi_version: String,
    /// SHA-256 of the file.
    pub hash: String,
    /// Whether it was compiled now or loaded from the cache.
    pub origin: Origin,
    /// Whether its compiled image is mapped from a cache file (see
    /// [`super::residency`]).
    pub(crate) mapped: bool,
    /// The metadata the first instance described, validated (shared by
    /// clones).
    pub(crate) validated: Arc<OnceLock<Validated>>,
}

impl Compiled {
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Validate the metadata an instance described and compile its
    /// triggers, once per component: an instance describing itself as the
    /// first one did gets the first one's triggers back.
    pub(crate) fn validate(
        &self,
        info: &PluginInfo,
    ) -> Result<Option<regex::RegexSet>, super::info::InfoError> {
        if let Some(done) = self.validated.get()
            && done.info == *info
        {
            return Ok(done.triggers.clone());
        }
        let triggers = super::info::validate_and_compile(info)?;
        let _ = self.validated.set(Validated {
            info: info.clone(),
            triggers: triggers.clone(),
        });
        Ok(triggers)
    }
}

/// Check the header: WebAssembly at all, and a component rather than a core
/// module.
pub(crate) fn check_header(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { path: path.into() });
    }
    // Core modules carry version 1 (01 00 00 00); components carry a
    // version with layer 1 (xx xx 01 00).
    if bytes[6..8] != [0x01, 0x00] {
        return Err(LoadError::NotComponent { path: path.into() });
    }
    Ok(())
}

/// Find the version of the `wasmqq:plugin/guest` export.
fn abi_version(runtime: &Runtime, path: &Path, component: &Component) -> Result<String, LoadError> {
    let ty = component.component_type();
    let names: Vec<String> = ty
        .exports(runtime.engine())
        .map(|(name, _)| name.to_string())
        .collect();
    let prefix = format!("{}/guest@", abi::PACKAGE);
    let Some(found) = names.iter().find_map(|n| n.strip_prefix(&prefix)) else {
        let exports = if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        };
        return Err(LoadError::MissingExport {
            path: path.into(),
            message: format!(
                "it does not export {}/guest (it exports: {exports})",
                abi::PACKAGE
            ),
        });
    };
    if !abi::SUPPORTED.contains(&found) {
        return Err(LoadError::UnsupportedAbi {
            path: path.into(),
            found: found.to_string(),
            supported: abi::SUPPORTED.join(", "),
        });
    }
    Ok(found.to_string())
}

impl Runtime {
    /// Read, compile (or load from the cache), check and link a plugin file.
    pub fn compile(&self, path: impl AsRef<Path>) -> Result<Compiled, LoadError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.into(),
            source,
        })?;
        self.compile_bytes(path, &bytes)
    }

    /// Like [`Runtime::compile`] for bytes already in memory; `path` names
    /// them in errors.
    pub fn compile_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Compiled, LoadError> {
        check_header(path, bytes)?;
        let hash = content_hash(bytes);
        let compiled = match &self.cache {
            Some(cache) => cache.load(&self.engine, &hash, bytes),
            None => super::compiler::compile_in_process(&self.engine, bytes)
                .map(|c| (c, Origin::Compiled, false)),
        };
        let (component, origin, mapped) = compiled.map_err(|e| LoadError::Compile {
            path: path.into(),
            message: format!("{e:#}"),
        })?;
        let abi_version = abi_version(self, path, &component)?;
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::Link {
                    path: path.into(),
                    message: format!("{e:#}"),
                })?;
        let pre = PluginPre::new(instance_pre).map_err(|e| LoadError::MissingExport {
            path: path.into(),
            message: format!("{e:#}"),
        })?;
        Ok(Compiled {
            path: Arc::from(PathBuf::from(path)),
            pre,
            abi_version,
            hash,
            origin,
            mapped,
            validated: Arc::default(),
        })
    }
}
