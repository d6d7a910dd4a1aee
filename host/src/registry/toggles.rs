//! Which plugins are enabled where: `enable`/`disable <plugin> [here|everywhere]`,
//! persisted to a JSON file so a restart keeps them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Where an enable/disable applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the chat the command was given in.
    Here,
    /// Every chat.
    Everywhere,
}

/// Why the toggles could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum TogglesError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The toggles file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: invalid toggles file: {source}")]
    Parse {
        /// The toggles file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct State {
    /// Plugins disabled in every chat (except `enabled_in`).
    disabled_everywhere: BTreeSet<String>,
    /// plugin → chats where it is disabled.
    disabled_in: BTreeMap<String, BTreeSet<String>>,
    /// plugin → chats where it is enabled although disabled everywhere.
    enabled_in: BTreeMap<String, BTreeSet<String>>,
}

/// The persisted enable/disable state. Chats are identified by a stable key
/// (see `Dispatcher` docs: kind and name), plugins by name.
pub struct Toggles {
    path: PathBuf,
    state: Mutex<State>,
}

impl Toggles {
    /// Load from `path` (a missing file means everything enabled).
    pub fn open(path: impl Into<PathBuf>) -> Result<Toggles, TogglesError> {
        let path = path.into();
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| TogglesError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(TogglesError::Io { path, source }),
        };
        Ok(Toggles {
            path,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `plugin` may answer in `chat`.
    pub fn is_enabled(&self, plugin: &str, chat: &str) -> bool {
        let state = self.lock();
        if state
            .disabled_in
            .get(plugin)
            .is_some_and(|c| c.contains(chat))
        {
            return false;
        }
        !state.disabled_everywhere.contains(plugin)
            || state
                .enabled_in
                .get(plugin)
                .is_some_and(|c| c.contains(chat))
    }

    /// Whether `plugin` is disabled everywhere.
    pub fn disabled_everywhere(&self, plugin: &str) -> bool {
        self.lock().disabled_everywhere.contains(plugin)
    }

    /// Enable or disable `plugin` in `chat` or everywhere, and save.
    pub fn set(
        &self,
        plugin: &str,
        enabled: bool,
        scope: Scope,
        chat: &str,
    ) -> Result<(), TogglesError> {
        let mut state = self.lock();
        let p = plugin.to_string();
        match (enabled, scope) {
            (true, Scope::Everywhere) => {
                state.disabled_everywhere.remove(plugin);
                state.disabled_in.remove(plugin);
                state.enabled_in.remove(plugin);
            }
            (false, Scope::Everywhere) => {
                state.disabled_everywhere.insert(p);
                state.disabled_in.remove(plugin);
                state.enabled_in.remove(plugin);
            }
            (true, Scope::Here) => {
                if let Some(chats) = state.disabled_in.get_mut(plugin) {
                    chats.remove(chat);
                }
                if state.disabled_everywhere.contains(plugin) {
                    state.enabled_in.entry(p).or_default().insert(chat.into());
                }
            }
            (false, Scope::Here) => {
                if let Some(chats) = state.enabled_in.get_mut(plugin) {
                    chats.remove(chat);
                }
                state.disabled_in.entry(p).or_default().insert(chat.into());
            }
        }
        state.disabled_in.retain(|_, c| !c.is_empty());
        state.enabled_in.retain(|_, c| !c.is_empty());
        save(&self.path, &state)
    }
}

fn save(path: &Path, state: &State) -> Result<(), TogglesError> {
    let io = |source| TogglesError::Io {
        path: path.into(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let json = serde_json::to_vec_pretty(state).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn here_and_everywhere_combine_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toggles.json");
        let t = Toggles::open(&path).unwrap();
        assert!(t.is_enabled("dice", "group:a"));
        t.set("dice", false, Scope::Here, "group:a").unwrap();
        assert!(!t.is_enabled("dice", "group:a"));
        assert!(t.is_enabled("dice", "group:b"));

        t.set("echo", false, Scope::Everywhere, "group:a").unwrap();
        t.set("echo", true, Scope::Here, "group:b").unwrap();
        assert!(!t.is_enabled("echo", "group:a"));
        assert!(t.is_enabled("echo", "group:b"));

        let reopened = Toggles::open(&path).unwrap();
        assert!(!reopened.is_enabled("dice", "group:a"));
        assert!(reopened.is_enabled("echo", "group:b"));
        assert!(!reopened.is_enabled("echo", "friend:x"));
        reopened.set("echo", true, Scope::Everywhere, "").unwrap();
        assert!(reopened.is_enabled("echo", "friend:x"));
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("toggles.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = Toggles::open(&path).err().unwrap().to_string();
        assert!(err.contains("toggles.json: invalid toggles file"), "{err}");
    }
}
