//! Loading, replacing and unloading plugins by file, keyed by plugin name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::snapshot::Snapshot;
use crate::runtime::abi::PluginInfo;
use crate::runtime::{LoadError, PluginHandle, PluginSetup, Runtime};

/// Gives a plugin's grants and configuration once its metadata is known;
/// `None` means the configuration disables it (`enabled = false`).
pub type SetupFn = Arc<dyn Fn(&PluginInfo) -> Option<PluginSetup> + Send + Sync>;

struct Entry {
    handle: PluginHandle,
    file: PathBuf,
}

/// The set of running plugins, fed from the drop-in folder.
pub struct Registry {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    setup: SetupFn,
    /// Serialises loads so two events for one file cannot interleave.
    loading: tokio::sync::Mutex<()>,
    entries: Mutex<BTreeMap<String, Entry>>,
    snapshot: watch::Sender<Arc<Snapshot>>,
}

/// Whether `path` looks like a plugin file.
pub(crate) fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

impl Registry {
    /// An empty registry over the folder `dir`.
    pub fn new(runtime: Arc<Runtime>, dir: impl Into<PathBuf>, setup: SetupFn) -> Arc<Registry> {
        let (snapshot, _) = watch::channel(Arc::new(Snapshot::default()));
        Arc::new(Registry {
            runtime,
            dir: dir.into(),
            setup,
            loading: tokio::sync::Mutex::new(()),
            entries: Mutex::new(BTreeMap::new()),
            snapshot,
        })
    }

    /// The drop-in folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current view for dispatch.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.borrow().clone()
    }

    /// Notified after every change of the loaded set.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshot.subscribe()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, entries: &BTreeMap<String, Entry>) {
        let handles = entries.values().map(|e| e.handle.clone()).collect();
        self.snapshot
            .send_replace(Arc::new(Snapshot::build(handles)));
    }

    /// Load every `*.wasm` in the folder (creating it if missing). Files that
    /// fail are logged and skipped; the count of loaded plugins is returned.
    pub async fn load_all(&self) -> std::io::Result<usize> {
        std::fs::create_dir_all(&self.dir)?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_plugin_file(p) && p.is_file())
            .collect();
        files.sort();
        let mut loaded = 0;
        for file in files {
            if self.load_file(&file).await.is_ok() {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Load or replace the plugin in `file`. On failure the error is logged
    /// naming the file, and any version already loaded keeps serving.
    pub async fn load_file(&self, file: &Path) -> Result<PluginHandle, LoadError> {
        let _guard = self.loading.lock().await;
        let result = self.load_file_inner(file).await;
        if let Err(e) = &result {
            let previous = self
                .entries()
                .values()
                .find(|e| e.file == file)
                .map(|e| format!("; version {} keeps serving", e.handle.info().version));
            tracing::error!(
                file = %file.display(),
                "cannot load plugin: {e}{}",
                previous.unwrap_or_default()
            );
        }
        result
    }

    async fn load_file_inner(&self, file: &Path) -> Result<PluginHandle, LoadError> {
        let runtime = self.runtime.clone();
        let path = file.to_path_buf();
        let compiled = tokio::task::spawn_blocking(move || runtime.compile(&path))
            .await
            .map_err(|e| LoadError::Start {
                path: file.into(),
                stage: "compile",
                message: e.to_string(),
            })??;
        let disabled = Arc::new(Mutex::new(false));
        let flag = disabled.clone();
        let setup = self.setup.clone();
        let handle = self
            .runtime
            .start_compiled(compiled, &move |info| {
                setup(info).unwrap_or_else(|| {
                    *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
                    PluginSetup::default()
                })
            })
            .await?;
        let name = handle.name().to_string();
        let mut entries = self.entries();
        if *disabled.lock().unwrap_or_else(|e| e.into_inner()) {
            tracing::info!(plugin = %name, file = %file.display(), "plugin is disabled in the configuration; not loaded");
            if entries.get(&name).is_some_and(|e| e.file == file) {
                entries.remove(&name);
                self.publish(&entries);
            }
            return Err(LoadError::Start {
                path: file.into(),
                stage: "configuration",
                message: format!("plugin \"{name}\" is disabled (enabled = false)"),
            });
        }
        if let Some(other) = entries.get(&name).filter(|e| e.file != file) {
            return Err(LoadError::Metadata {
                path: file.into(),
                message: format!(
                    "plugin name \"{name}\" is already provided by {}",
                    other.file.display()
                ),
            });
        }
        // The same file may have declared another name before.
        let stale: Vec<String> = entries
            .iter()
            .filter(|(n, e)| e.file == file && **n != name)
            .map(|(n, _)| n.clone())
            .collect();
        for n in stale {
            entries.remove(&n);
        }
        let previous = entries.insert(
            name.clone(),
            Entry {
                handle: handle.clone(),
                file: file.to_path_buf(),
            },
        );
        self.publish(&entries);
        match previous {
            Some(p) => tracing::info!(
                plugin = %name,
                "plugin replaced: {} → {} from {}",
                p.handle.info().version,
                handle.info().version,
                file.display()
            ),
            None => tracing::info!(
                plugin = %name,
                version = %handle.info().version,
                "plugin loaded from {}",
                file.display()
            ),
        }
        Ok(handle)
    }

    /// Unload whatever plugin came from `file`; returns its name.
    pub fn unload_file(&self, file: &Path) -> Option<String> {
        let mut entries = self.entries();
        let name = entries
            .iter()
            .find(|(_, e)| e.file == file)
            .map(|(n, _)| n.clone())?;
        entries.remove(&name);
        self.publish(&entries);
        tracing::info!(plugin = %name, "plugin unloaded: {} was removed", file.display());
        Some(name)
    }

    /// Reload a plugin from its file (also lifts a quarantine).
    pub async fn reload(&self, name: &str) -> Result<PluginHandle, String> {
        let file = self
            .entries()
            .get(name)
            .map(|e| e.file.clone())
            .ok_or_else(|| format!("no plugin named \"{name}\" is loaded"))?;
        self.load_file(&file).await.map_err(|e| e.to_string())
    }
}
