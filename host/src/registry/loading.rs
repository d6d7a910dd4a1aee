//! Loading, replacing and unloading plugins by file.
//!
//! A plugin's identity is its file: `counter.wasm` is plugin `counter` (a
//! `_` in the file name also stands for a `-` in the declared name, the way
//! cargo names its outputs). A file whose plugin declares another name is
//! refused naming both, so a file can never pose as another plugin and take
//! its grants, data, timers or toggles. A file is (re)loaded once per change
//! of its content: an unchanged hash is skipped, and a bad file is reported
//! once per content.
//!
//! Every publication of a snapshot asks the [`Owners`] table who serves
//! each declared command name, plugins claiming in load order; a plugin just
//! loaded that was refused some names is reported to the admins once per
//! load. Removing a plugin's file releases its names.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::owners::{Claim, Owner, Owners, Refusal, summary};
use super::snapshot::Snapshot;
use crate::abi::PluginInfo;
use crate::runtime::{LoadError, PluginHandle, PluginSetup, Runtime, content_hash};

/// Gives a plugin's grants and configuration once its metadata is known;
/// `None` means the configuration disables it (`enabled = false`).
pub type SetupFn = Arc<dyn Fn(&PluginInfo) -> Option<PluginSetup> + Send + Sync>;

/// Receives what the admins should be told (a pinned plugin's file was
/// replaced by another binary).
pub type NoticeFn = Arc<dyn Fn(&str) + Send + Sync>;

struct Entry {
    handle: PluginHandle,
    file: PathBuf,
    /// When the plugin was first loaded (kept across replacements): the
    /// order in which plugins claim command names.
    seq: u64,
}

/// What a load did.
#[derive(Clone)]
pub enum LoadOutcome {
    /// The plugin was loaded or replaced from new content.
    Loaded(PluginHandle),
    /// The file's content is the one already running; nothing was done.
    Unchanged(PluginHandle),
}

impl LoadOutcome {
    /// The running plugin.
    pub fn handle(&self) -> &PluginHandle {
        match self {
            LoadOutcome::Loaded(h) | LoadOutcome::Unchanged(h) => h,
        }
    }
}

/// The set of running plugins, fed from the drop-in folder.
pub struct Registry {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    setup: SetupFn,
    /// Pinned SHA-256 per plugin name (`[plugins.<name>] sha256`).
    pins: Mutex<HashMap<String, String>>,
    /// Plugins switched off in the configuration: their files are never
    /// compiled nor instantiated.
    disabled: Mutex<std::collections::HashSet<String>>,
    notice: Mutex<Option<NoticeFn>>,
    on_unload: Mutex<Option<NoticeFn>>,
    /// Serialises loads so two events for one file cannot interleave.
    loading: tokio::sync::Mutex<()>,
    entries: Mutex<BTreeMap<String, Entry>>,
    /// The next [`Entry::seq`].
    next_seq: std::sync::atomic::AtomicU64,
    /// Who owns which command name.
    owners: Owners,
    /// The content hash last refused per file, so a bad file is reported
    /// once per content and not once per event.
    refused: Mutex<HashMap<PathBuf, String>>,
    snapshot: watch::Sender<Arc<Snapshot>>,
    /// True while the folder's loading at start (see
    /// [`Registry::load_in_background`]) is under way.
    folder_loading: watch::Sender<bool>,
}

/// Whether `path` looks like a plugin file.
pub(crate) fn is_plugin_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

/// Whether the plugin in `file` may declare `name`: the file stem, where a
/// `_` of the stem may stand for a `-` of the name.
pub fn name_matches_file(name: &str, file: &Path) -> bool {
    let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
        return false;
    };
    stem.len() == name.len()
        && stem
            .bytes()
            .zip(name.bytes())
            .all(|(s, n)| s == n || (s == b'_' && n == b'-'))
}

/// Why [`Registry::reload`] did not reload a plugin.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// No plugin of that name is loaded.
    #[error("no plugin named \"{name}\" is loaded")]
    NotLoaded {
        /// The name asked for.
        name: String,
    },
    /// Its file could not be loaded (the running version keeps serving).
    #[error(transparent)]
    Load(#[from] LoadError),
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// An empty registry over the folder `dir`; command names are assigned
    /// by `owners`.
    pub fn new(
        runtime: Arc<Runtime>,
        dir: impl Into<PathBuf>,
        setup: SetupFn,
        owners: Owners,
    ) -> Arc<Registry> {
        let (snapshot, _) = watch::channel(Arc::new(Snapshot::default()));
        Arc::new(Registry {
            runtime,
            dir: dir.into(),
            setup,
            pins: Mutex::new(HashMap::new()),
            disabled: Mutex::default(),
            notice: Mutex::new(None),
            on_unload: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
            entries: Mutex::new(BTreeMap::new()),
            next_seq: std::sync::atomic::AtomicU64::new(0),
            owners,
            refused: Mutex::new(HashMap::new()),
            snapshot,
            folder_loading: watch::channel(false).0,
        })
    }

    /// Pin plugin `name` to the binary with SHA-256 `hash` (hex): a file of
    /// another content is refused and the running version keeps serving.
    pub fn pin(&self, name: &str, hash: &str) {
        lock(&self.pins).insert(name.to_string(), hash.to_ascii_lowercase());
    }

    /// Switch plugin `name` off: its file (`name.wasm`, a plugin being its
    /// file; see [`name_matches_file`]) is refused with [`LoadError::Disabled`] before it is read,
    /// compiled or instantiated, and a loaded version is unloaded.
    pub fn disable(&self, name: &str) {
        lock(&self.disabled).insert(name.to_string());
    }

    /// Where admin notices go (by default they are only logged).
    pub fn set_notice(&self, notice: NoticeFn) {
        *lock(&self.notice) = Some(notice);
    }

    /// Called with a plugin's name when its file was removed and it is
    /// unloaded (the bot drops its queued messages).
    pub fn set_on_unload(&self, on_unload: NoticeFn) {
        *lock(&self.on_unload) = Some(on_unload);
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
        lock(&self.entries)
    }

    /// Assign command names (plugins claim in load order) and publish the
    /// new snapshot.
    fn publish(&self, entries: &BTreeMap<String, Entry>) -> Arc<Snapshot> {
        let mut ordered: Vec<&Entry> = entries.values().collect();
        ordered.sort_by_key(|e| e.seq);
        let claims: Vec<Claim> = ordered.iter().map(|e| Claim::of(e.handle.info())).collect();
        let assignment = self.owners.assign(&claims);
        let handles = entries.values().map(|e| e.handle.clone()).collect();
        let snapshot = Arc::new(Snapshot::build(handles, assignment));
        self.snapshot.send_replace(snapshot.clone());
        snapshot
    }

    /// Release the command names of plugins with no file left in the
    /// folder (`files` is its current listing); true if any was released.
    fn release_unfiled(&self, files: &[PathBuf]) -> bool {
        let has_file = |plugin: &str| files.iter().any(|f| name_matches_file(plugin, f));
        !self.owners.release_unfiled(&has_file).is_empty()
    }

    /// The plugin files in the folder now.
    fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_plugin_file(p) && p.is_file())
            .collect();
        files.sort();
        Ok(files)
    }

    fn tell_admins(&self, text: &str) {
        let notice = lock(&self.notice).clone();
        match notice {
            Some(notice) => notice(text),
            None => tracing::warn!("for the admins: {text}"),
        }
    }

    /// Load every `*.wasm` in the folder (creating it if missing). Files that
    /// fail are logged and skipped; the count of loaded plugins is returned.
    /// Plugins whose compiled code is in the cache load first (see
    /// [`Registry::load_in_background`]).
    pub async fn load_all(&self) -> std::io::Result<usize> {
        let files = self.folder_files()?;
        Ok(self.load_files(files).await)
    }

    /// Start loading the folder's plugins in a task and return at once:
    /// each plugin serves from the moment it is loaded, those already
    /// compiled in the cache first, while the others compile. Until the
    /// task ends [`Registry::is_loading`] is true (the dispatcher holds a
    /// command no loaded plugin serves until then, rather than calling it
    /// unknown); the task yields the count of plugins loaded. An
    /// unreadable folder is an error now.
    pub fn load_in_background(self: &Arc<Self>) -> std::io::Result<JoinHandle<usize>> {
        let files = self.folder_files()?;
        self.folder_loading.send_replace(true);
        let this = self.clone();
        Ok(tokio::spawn(async move {
            let loaded = this.load_files(files).await;
            this.folder_loading.send_replace(false);
            tracing::info!(loaded, dir = %this.dir.display(), "plugin folder loaded");
            loaded
        }))
    }

    /// Whether the folder's first loading (started by
    /// [`Registry::load_in_background`]) is still under way.
    pub fn is_loading(&self) -> bool {
        *self.folder_loading.borrow()
    }

    /// Wait until the folder's first loading is over (at once if it is).
    pub async fn loaded(&self) {
        let mut rx = self.folder_loading.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|loading| !loading).await;
    }

    /// The folder's plugin files (creating the folder if missing), the
    /// names of plugins whose files are gone released; those compiled in
    /// the cache come first.
    fn folder_files(&self) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(&self.dir)?;
        let files = self.files()?;
        // Files removed while the bot was down release their names first.
        self.release_unfiled(&files);
        // A disabled plugin's file is not even read (it is refused by name).
        let (mut ready, compile): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|f| {
            !self.is_disabled(f) && std::fs::read(f).is_ok_and(|b| self.runtime.is_cached(&b))
        });
        ready.extend(compile);
        Ok(ready)
    }

    async fn load_files(&self, files: Vec<PathBuf>) -> usize {
        let mut loaded = 0;
        for file in files {
            if self.load_file(&file).await.is_ok() {
                loaded += 1;
            }
        }
        loaded
    }

    /// Load or replace the plugin in `file` if its content changed since it
    /// was last loaded or refused. On failure the error is logged naming the
    /// file (once per content), and any version already loaded keeps
    /// serving.
    pub async fn load_file(&self, file: &Path) -> Result<LoadOutcome, LoadError> {
        self.load(file, false).await
    }

    /// The plugin switched off in the configuration whose file `file` is.
    fn disabled_for(&self, file: &Path) -> Option<String> {
        lock(&self.disabled)
            .iter()
            .find(|name| name_matches_file(name, file))
            .cloned()
    }

    fn is_disabled(&self, file: &Path) -> bool {
        self.disabled_for(file).is_some()
    }

    async fn load(&self, file: &Path, force: bool) -> Result<LoadOutcome, LoadError> {
        let _guard = self.loading.lock().await;
        if let Some(plugin) = self.disabled_for(file) {
            let e = LoadError::Disabled {
                path: file.into(),
                plugin,
            };
            self.stop_serving(file);
            self.report(file, &e);
            return Err(e);
        }
        // Read and hashed off the async thread: a plugin file can be tens
        // of megabytes (a Python plugin's ≈ 18 MB take ≈ 80 ms), and the
        // bot's async work is one thread by default.
        let path = file.to_path_buf();
        let (bytes, hash) = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path)?;
            let hash = content_hash(&bytes);
            Ok::<_, std::io::Error>((bytes, hash))
        })
        .await
        .map_err(|e| LoadError::Start {
            path: file.into(),
            stage: "read",
            message: e.to_string(),
        })?
        .map_err(|source| LoadError::Read {
            path: file.into(),
            source,
        })?;
        if !force {
            let running = self
                .entries()
                .values()
                .find(|e| e.file == file && e.handle.compiled().hash == hash)
                .map(|e| e.handle.clone());
            if let Some(handle) = running {
                tracing::debug!(file = %file.display(), "plugin file unchanged; not reloaded");
                return Ok(LoadOutcome::Unchanged(handle));
            }
            // A content refused before is not compiled and started again
            // on every event of the file (only `!reload` retries it).
            if lock(&self.refused).get(file) == Some(&hash) {
                tracing::debug!(file = %file.display(), "refused content unchanged; not retried");
                return Err(LoadError::AlreadyRefused { path: file.into() });
            }
        }
        let result = self.load_bytes(file, bytes, &hash).await;
        match &result {
            Ok(_) => {
                lock(&self.refused).remove(file);
            }
            Err(e) => {
                let again = lock(&self.refused).insert(file.to_path_buf(), hash.clone());
                if force || again.as_deref() != Some(hash.as_str()) {
                    self.report(file, e);
                }
            }
        }
        result.map(LoadOutcome::Loaded)
    }

    /// Stop serving whatever plugin was loaded from `file` (still there).
    fn stop_serving(&self, file: &Path) {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, e| e.file != file);
        if entries.len() != before {
            self.publish(&entries);
        }
    }

    fn report(&self, file: &Path, e: &LoadError) {
        let previous = self
            .entries()
            .values()
            .find(|e| e.file == file)
            .map(|e| format!("; version {} keeps serving", e.handle.info().version));
        if let LoadError::Disabled { .. } = e {
            tracing::info!(file = %file.display(), "plugin not loaded: {e}");
            return;
        }
        tracing::error!(
            file = %file.display(),
            "cannot load plugin: {e}{}",
            previous.unwrap_or_default()
        );
    }

    async fn load_bytes(
        &self,
        file: &Path,
        bytes: Vec<u8>,
        hash: &str,
    ) -> Result<PluginHandle, LoadError> {
        let runtime = self.runtime.clone();
        let path = file.to_path_buf();
        let compiled = tokio::task::spawn_blocking(move || runtime.compile_bytes(&path, &bytes))
            .await
            .map_err(|e| LoadError::Start {
                path: file.into(),
                stage: "compile",
                message: e.to_string(),
            })??;
        let disabled: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let flag = disabled.clone();
        let setup = self.setup.clone();
        let handle = self
            .runtime
            .start_compiled(compiled, &|info| {
                self.admit(file, hash, info)?;
                setup(info).ok_or_else(|| {
                    *lock(&flag) = Some(info.name.clone());
                    format!("plugin \"{}\" is disabled (enabled = false)", info.name)
                })
            })
            .await;
        let disabled = lock(&disabled).take();
        let handle = match (handle, disabled.clone()) {
            (Err(_), Some(plugin)) => Err(LoadError::Disabled {
                path: file.into(),
                plugin,
            }),
            (handle, _) => handle,
        };
        if disabled.is_some() {
            // A plugin switched off in the configuration stops serving.
            self.stop_serving(file);
        }
        let handle = handle?;
        let name = handle.name().to_string();
        let mut entries = self.entries();
        if let Some(other) = entries.get(&name).filter(|e| e.file != file) {
            // Another file took the name while this one started.
            return Err(LoadError::Refused {
                path: file.into(),
                message: format!(
                    "plugin name \"{name}\" is already provided by {}",
                    other.file.display()
                ),
            });
        }
        let seq = entries.get(&name).map_or_else(
            || {
                self.next_seq
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
            |e| e.seq,
        );
        let previous = entries.insert(
            name.clone(),
            Entry {
                handle: handle.clone(),
                file: file.to_path_buf(),
                seq,
            },
        );
        let snapshot = self.publish(&entries);
        drop(entries);
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
        let refused = snapshot.refused(&name);
        if !refused.is_empty() {
            self.tell_admins(&refusal_notice(&name, &handle.info().version, refused));
        }
        Ok(handle)
    }

    /// Whether `file` (content `hash`) may run as the plugin `info`
    /// declares; called after `describe`, before `init`.
    fn admit(&self, file: &Path, hash: &str, info: &PluginInfo) -> Result<(), String> {
        let name = &info.name;
        if !name_matches_file(name, file) {
            let stem = file.file_stem().unwrap_or_default().to_string_lossy();
            return Err(format!(
                "the plugin declares the name \"{name}\" but its file is {stem}.wasm; \
                 a plugin's name is its file name (rename the file to {name}.wasm)"
            ));
        }
        if let Some(other) = self.entries().get(name).filter(|e| e.file != file) {
            return Err(format!(
                "plugin name \"{name}\" is already provided by {}",
                other.file.display()
            ));
        }
        let pinned = lock(&self.pins).get(name).cloned();
        if let Some(pinned) = pinned
            && pinned != hash
        {
            let serving = self
                .entries()
                .get(name)
                .map(|e| format!("; version {} keeps serving", e.handle.info().version))
                .unwrap_or_default();
            self.tell_admins(&format!(
                "Plugin {name}: {} has SHA-256 {hash}, but the configuration pins {pinned}; \
                 the file was refused{serving}.",
                file.display()
            ));
            return Err(format!(
                "SHA-256 {hash} differs from the pinned {pinned} ([plugins.{name}] sha256)"
            ));
        }
        Ok(())
    }

    /// Unload whatever plugin came from `file`, which was removed, and
    /// release the command names its plugin owned (also when it was not
    /// loaded); returns the name of the plugin unloaded.
    pub fn unload_file(&self, file: &Path) -> Option<String> {
        lock(&self.refused).remove(file);
        let released = match self.files() {
            Ok(files) => self.release_unfiled(&files),
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), "cannot list the plugin folder: {e}");
                false
            }
        };
        let mut entries = self.entries();
        let Some(name) = entries
            .iter()
            .find(|(_, e)| e.file == file)
            .map(|(n, _)| n.clone())
        else {
            if released {
                // Names freed for plugins that were waiting for them.
                self.publish(&entries);
            }
            return None;
        };
        entries.remove(&name);
        self.publish(&entries);
        drop(entries);
        tracing::info!(plugin = %name, "plugin unloaded: {} was removed", file.display());
        if let Some(f) = lock(&self.on_unload).clone() {
            f(&name);
        }
        Some(name)
    }

    /// Reload a plugin from its file, once, even when the content is
    /// unchanged (this also lifts a quarantine).
    pub async fn reload(&self, name: &str) -> Result<PluginHandle, ReloadError> {
        let file = self
            .entries()
            .get(name)
            .map(|e| e.file.clone())
            .ok_or_else(|| ReloadError::NotLoaded { name: name.into() })?;
        let outcome = self.load(&file, true).await?;
        Ok(outcome.handle().clone())
    }
}

/// What the admins are told when plugin `name` was loaded without some of
/// its commands.
fn refusal_notice(name: &str, version: &str, refused: &[Refusal]) -> String {
    let mut text = format!(
        "Plugin {name} {version} was loaded without the commands {}: they belong to \
         another plugin or the host. Its other commands work.",
        summary(refused)
    );
    if let Some(r) = refused.iter().find(|r| r.owner != Owner::Host) {
        text.push_str(&format!(
            " To hand a command over, pin it in the configuration: [bot.commands] {} = \"{name}\".",
            r.name
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_its_file_stem_with_underscores_for_dashes() {
        let f = |s: &str| PathBuf::from(format!("/p/{s}"));
        assert!(name_matches_file("counter", &f("counter.wasm")));
        assert!(name_matches_file("hello-py", &f("hello_py.wasm")));
        assert!(name_matches_file("a_b", &f("a_b.wasm")));
        assert!(!name_matches_file("a_b", &f("a-b.wasm")));
        assert!(!name_matches_file("echo", &f("aaa-dup.wasm")));
        assert!(!name_matches_file("count", &f("counter.wasm")));
        assert!(!name_matches_file("counter", &f("Counter.wasm")));
    }
}
