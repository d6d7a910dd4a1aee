//! Watching the drop-in folder: debounced file events become loads and
//! unloads.
//!
//! Only events that can change a file's content count: creation, a close
//! after writing, a rename into or out of the folder, removal. Opening or
//! reading a file (the loader itself does both) is ignored, and the
//! registry skips a file whose content hash is unchanged, so a file is
//! loaded once per change of its content.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use super::loading::{Registry, is_plugin_file};

/// Quiet time after the last event for a file before it is (re)loaded, so a
/// file still being copied is read once, complete.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Whether an event of this kind may have changed what a file holds.
fn changes_content(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    ) || matches!(kind, EventKind::Modify(ModifyKind::Any | ModifyKind::Other))
}

/// Keeps the folder watched; dropping it stops watching.
pub struct Watcher {
    _watcher: RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// Watch `registry`'s folder and keep the registry in step with it.
    pub fn start(registry: Arc<Registry>) -> notify::Result<Watcher> {
        let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
                Ok(event) if changes_content(&event.kind) => {
                    for path in event.paths {
                        if is_plugin_file(&path) {
                            let _ = tx.send(path);
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("plugin folder watch error: {e}"),
            })?;
        watcher.watch(registry.dir(), RecursiveMode::NonRecursive)?;
        tracing::info!(dir = %registry.dir().display(), "watching the plugin folder");
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut pending = BTreeSet::from([first]);
                // Collect until the folder has been quiet for DEBOUNCE.
                while let Ok(Some(path)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    pending.insert(path);
                }
                for path in pending {
                    if path.is_file() {
                        let _ = registry.load_file(&path).await;
                    } else {
                        registry.unload_file(&path);
                    }
                }
            }
        });
        Ok(Watcher {
            _watcher: watcher,
            task,
        })
    }
}
