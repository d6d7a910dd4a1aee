//! Who owns each command name, persisted so that an owner keeps its
//! commands and aliases across reloads and restarts.
//!
//! The rule, applied every time the registry publishes a snapshot:
//! 1. a built-in name (`help`, `plugins`, …) belongs to the host;
//! 2. a name pinned in `[bot.commands]` belongs to the pinned plugin, and
//!    only to it (while that plugin is not loaded nobody serves the name);
//! 3. otherwise the recorded owner keeps it, loaded or not;
//! 4. an unowned name goes to the first loaded plugin that declares it, in
//!    load order, and is recorded.
//!
//! Every other plugin declaring the name is refused that one name (the rest
//! of it loads). A claim is released only by a deliberate act: the owner's
//! file leaves the plugin folder ([`Owners::release_unfiled`]), or a loaded
//! owner no longer declares the name. Reloads, replacements, crashes,
//! quarantine, a failed load, `enabled = false` and restarts keep it. A pin
//! that takes effect is recorded too, so removing the pin later leaves the
//! name with the plugin it was pinned to.
//!
//! The table is `<data_dir>/commands.json` (name → plugin), rewritten
//! atomically (temporary file, then rename) whenever it changes; tests and
//! benches use [`Owners::in_memory`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::builtin::Builtin;
use crate::abi::PluginInfo;

/// The file name of the ownership table in the data folder.
pub const FILE_NAME: &str = "commands.json";

/// How many names a summary lists before "… and N more".
const SUMMARY_NAMES: usize = 8;

/// Why the ownership table could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum OwnersError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The ownership file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: invalid command ownership file: {source}")]
    Parse {
        /// The ownership file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

/// What `commands.json` holds.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct State {
    /// Command or alias name (lowercase) → the plugin that owns it.
    commands: BTreeMap<String, String>,
}

/// Who a command name belongs to, when it is not the plugin asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A built-in command of the host.
    Host,
    /// A plugin (loaded or not).
    Plugin {
        /// The owning plugin.
        name: String,
        /// Whether `[bot.commands]` pins the name to it.
        pinned: bool,
    },
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Host => f.write_str("the host"),
            Owner::Plugin { name, pinned: true } => write!(f, "{name} via [bot.commands]"),
            Owner::Plugin { name, .. } => f.write_str(name),
        }
    }
}

/// A name a plugin declared but may not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The command or alias name, lowercase.
    pub name: String,
    /// Whom it belongs to.
    pub owner: Owner,
}

/// The command names one loaded plugin declares, for [`Owners::assign`].
#[derive(Debug, Clone)]
pub struct Claim {
    /// The plugin.
    pub plugin: String,
    /// Its command names and aliases, lowercase, in declaration order.
    pub names: Vec<String>,
}

impl Claim {
    /// The names `info` declares (commands and their aliases).
    pub fn of(info: &PluginInfo) -> Claim {
        Claim {
            plugin: info.name.clone(),
            names: info
                .commands
                .iter()
                .flat_map(|c| std::iter::once(&c.name).chain(&c.aliases))
                .map(|n| n.to_lowercase())
                .collect(),
        }
    }
}

/// Who serves which name at one moment, and what each plugin was refused.
#[derive(Debug, Default)]
pub struct Assignment {
    /// Name → the loaded plugin serving it.
    granted: HashMap<String, String>,
    /// Plugin → its refused names, in declaration order.
    refused: HashMap<String, Vec<Refusal>>,
}

impl Assignment {
    /// The plugin serving `name` (lowercase), if any.
    pub fn serves(&self, name: &str) -> Option<&str> {
        self.granted.get(name).map(String::as_str)
    }

    /// The names `plugin` declared but may not serve.
    pub fn refused(&self, plugin: &str) -> &[Refusal] {
        self.refused.get(plugin).map_or(&[], Vec::as_slice)
    }

    /// Every plugin refused at least one name, with its refusals.
    pub fn all_refused(&self) -> impl Iterator<Item = (&str, &[Refusal])> {
        self.refused
            .iter()
            .map(|(plugin, r)| (plugin.as_str(), r.as_slice()))
    }
}

/// The command ownership table (see the module docs for the rule).
pub struct Owners {
    /// Where it is saved; `None` keeps it in memory.
    path: Option<PathBuf>,
    /// `[bot.commands]`: name (lowercase) → plugin.
    pins: BTreeMap<String, String>,
    state: Mutex<State>,
}

impl Owners {
    /// Load the table from `path` (a missing file is an empty table).
    ///
    /// Fails naming the file when it cannot be read or is not a valid
    /// ownership file.
    pub fn open(path: impl Into<PathBuf>) -> Result<Owners, OwnersError> {
        let path = path.into();
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| OwnersError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(source) => return Err(OwnersError::Io { path, source }),
        };
        Ok(Owners {
            path: Some(path),
            pins: BTreeMap::new(),
            state: Mutex::new(state),
        })
    }

    /// An empty table that is never saved (tests, benches).
    pub fn in_memory() -> Owners {
        Owners {
            path: None,
            pins: BTreeMap::new(),
            state: Mutex::new(State::default()),
        }
    }

    /// This table with `[bot.commands]` pins (command name → plugin), which
    /// win over recorded ownership. Names are case-insensitive.
    pub fn with_pins(mut self, pins: &BTreeMap<String, String>) -> Owners {
        self.pins = pins
            .iter()
            .map(|(name, plugin)| (name.to_lowercase(), plugin.clone()))
            .collect();
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The recorded or pinned owner of `name`, if any.
    pub fn owner(&self, name: &str) -> Option<String> {
        let name = name.to_lowercase();
        self.pins
            .get(&name)
            .cloned()
            .or_else(|| self.lock().commands.get(&name).cloned())
    }

    /// Decide who serves each name the loaded plugins declare; `claims` come
    /// in load order (the first claim of an unowned name wins). New claims
    /// and releases are recorded and saved; a failed save is logged and the
    /// table kept in memory.
    pub fn assign(&self, claims: &[Claim]) -> Assignment {
        let mut state = self.lock();
        let mut changes = Changes::default();
        let assignment = decide(&mut state.commands, &self.pins, claims, &mut changes);
        if !changes.is_empty() {
            changes.log();
            self.save_logged(&state);
        }
        assignment
    }

    /// Release every name owned by a plugin for which `has_file` is false:
    /// its file has left the plugin folder. Returns the released names.
    pub fn release_unfiled(&self, has_file: &dyn Fn(&str) -> bool) -> Vec<String> {
        let mut state = self.lock();
        let mut released = Vec::new();
        let mut by_plugin: BTreeMap<String, Vec<String>> = BTreeMap::new();
        state.commands.retain(|name, plugin| {
            let keep = has_file(plugin);
            if !keep {
                released.push(name.clone());
                by_plugin
                    .entry(plugin.clone())
                    .or_default()
                    .push(name.clone());
            }
            keep
        });
        if !released.is_empty() {
            for (plugin, names) in &by_plugin {
                tracing::info!(
                    plugin = %plugin,
                    "plugin file removed; its commands are free again: {}",
                    list(names, SUMMARY_NAMES)
                );
            }
            self.save_logged(&state);
        }
        released
    }

    fn save_logged(&self, state: &State) {
        if let Some(path) = &self.path
            && let Err(e) = save(path, state)
        {
            tracing::error!("cannot save command ownership (kept in memory): {e}");
        }
    }
}

/// What one assignment changed in the table, for one log line per plugin.
#[derive(Default)]
struct Changes {
    claimed: BTreeMap<String, Vec<String>>,
    dropped: BTreeMap<String, Vec<String>>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.claimed.is_empty() && self.dropped.is_empty()
    }

    fn log(&self) {
        for (plugin, names) in &self.dropped {
            tracing::info!(
                plugin = %plugin,
                "plugin no longer declares, and so no longer owns, commands {}",
                list(names, SUMMARY_NAMES)
            );
        }
        for (plugin, names) in &self.claimed {
            tracing::info!(
                plugin = %plugin,
                "plugin now owns commands {}",
                list(names, SUMMARY_NAMES)
            );
        }
    }
}

/// The rule of the module docs over `table` (updated in place).
fn decide(
    table: &mut BTreeMap<String, String>,
    pins: &BTreeMap<String, String>,
    claims: &[Claim],
    changes: &mut Changes,
) -> Assignment {
    let declared: HashMap<&str, HashSet<&str>> = claims
        .iter()
        .map(|c| {
            (
                c.plugin.as_str(),
                c.names.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    // A loaded owner that no longer declares a name gives it up.
    table.retain(|name, owner| {
        let keep = declared
            .get(owner.as_str())
            .is_none_or(|names| names.contains(name.as_str()));
        if !keep {
            changes
                .dropped
                .entry(owner.clone())
                .or_default()
                .push(name.clone());
        }
        keep
    });
    let mut assignment = Assignment::default();
    for claim in claims {
        let plugin = claim.plugin.as_str();
        for name in &claim.names {
            let owner = if Builtin::from_name(name).is_some() {
                Some(Owner::Host)
            } else if let Some(pinned) = pins.get(name) {
                (pinned != plugin).then(|| Owner::Plugin {
                    name: pinned.clone(),
                    pinned: true,
                })
            } else {
                table
                    .get(name)
                    .filter(|owner| *owner != plugin)
                    .map(|owner| Owner::Plugin {
                        name: owner.clone(),
                        pinned: false,
                    })
            };
            match owner {
                Some(owner) => assignment
                    .refused
                    .entry(plugin.to_string())
                    .or_default()
                    .push(Refusal {
                        name: name.clone(),
                        owner,
                    }),
                None => {
                    if table.get(name).is_none_or(|owner| owner != plugin) {
                        table.insert(name.clone(), plugin.to_string());
                        changes
                            .claimed
                            .entry(plugin.to_string())
                            .or_default()
                            .push(name.clone());
                    }
                    assignment.granted.insert(name.clone(), plugin.to_string());
                }
            }
        }
    }
    assignment
}

fn save(path: &Path, state: &State) -> Result<(), OwnersError> {
    let io = |source| OwnersError::Io {
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

/// `a, b, c`, at most `max` items, then `… and N more`.
fn list(items: &[String], max: usize) -> String {
    let mut text = items
        .iter()
        .take(max)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        text.push_str(&format!(" … and {} more", items.len() - max));
    }
    text
}

/// `roll, r, echo (owned by dice, echo)`: the refused names and their
/// owners, each list cut after a few items.
pub fn summary(refused: &[Refusal]) -> String {
    let names: Vec<String> = refused.iter().map(|r| r.name.clone()).collect();
    let mut owners: Vec<String> = Vec::new();
    for r in refused {
        let owner = r.owner.to_string();
        if !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    format!(
        "{} (owned by {})",
        list(&names, SUMMARY_NAMES),
        list(&owners, SUMMARY_NAMES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(plugin: &str, names: &[&str]) -> Claim {
        Claim {
            plugin: plugin.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn dice() -> Claim {
        claim("dice", &["roll", "r"])
    }

    fn dup() -> Claim {
        claim("aaa-dup", &["roll", "r", "echo", "dup"])
    }

    fn refused_names(a: &Assignment, plugin: &str) -> Vec<String> {
        a.refused(plugin).iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn the_first_claim_wins_and_a_newcomer_is_refused_only_the_taken_names() {
        let owners = Owners::in_memory();
        let a = owners.assign(&[dice(), claim("echo", &["echo"]), dup()]);
        assert_eq!(a.serves("roll"), Some("dice"));
        assert_eq!(a.serves("r"), Some("dice"));
        assert_eq!(a.serves("echo"), Some("echo"));
        assert_eq!(a.serves("dup"), Some("aaa-dup"));
        assert_eq!(refused_names(&a, "aaa-dup"), ["roll", "r", "echo"]);
        assert!(a.refused("dice").is_empty());
        assert_eq!(
            summary(a.refused("aaa-dup")),
            "roll, r, echo (owned by dice, echo)"
        );
    }

    #[test]
    fn a_recorded_owner_wins_over_load_order_even_when_not_loaded() {
        let owners = Owners::in_memory();
        owners.assign(&[dice()]);
        // Next start: the newcomer loads first, dice is not loaded yet.
        let a = owners.assign(&[dup()]);
        assert_eq!(a.serves("roll"), None);
        assert_eq!(refused_names(&a, "aaa-dup"), ["roll", "r"]);
        assert_eq!(a.serves("echo"), Some("aaa-dup"));
        let a = owners.assign(&[dup(), dice()]);
        assert_eq!(a.serves("roll"), Some("dice"));
        assert_eq!(owners.owner("ROLL").as_deref(), Some("dice"));
    }

    #[test]
    fn ownership_survives_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        Owners::open(&path).unwrap().assign(&[dice()]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"roll\": \"dice\""), "{text}");
        assert!(!dir.path().join("commands.json.tmp").exists());
        let reopened = Owners::open(&path).unwrap();
        let a = reopened.assign(&[dup(), dice()]);
        assert_eq!(a.serves("roll"), Some("dice"));
        assert_eq!(refused_names(&a, "aaa-dup"), ["roll", "r"]);
    }

    #[test]
    fn removing_the_owners_file_releases_its_names_to_the_next_claimant() {
        let owners = Owners::in_memory();
        owners.assign(&[dice(), dup()]);
        let released = owners.release_unfiled(&|plugin| plugin != "dice");
        assert_eq!(released.len(), 2);
        let a = owners.assign(&[dup()]);
        assert_eq!(a.serves("roll"), Some("aaa-dup"));
        assert!(a.refused("aaa-dup").is_empty());
        // dice coming back is now the newcomer.
        let a = owners.assign(&[dup(), dice()]);
        assert_eq!(refused_names(&a, "dice"), ["roll", "r"]);
    }

    #[test]
    fn an_owner_that_stops_declaring_a_name_gives_it_up() {
        let owners = Owners::in_memory();
        owners.assign(&[dice(), dup()]);
        let a = owners.assign(&[claim("dice", &["roll"]), dup()]);
        assert_eq!(a.serves("r"), Some("aaa-dup"));
        assert_eq!(a.serves("roll"), Some("dice"));
    }

    #[test]
    fn a_pin_wins_over_the_record_and_is_recorded() {
        let owners = Owners::in_memory();
        owners.assign(&[dice()]);
        let pins = BTreeMap::from([("Roll".to_string(), "aaa-dup".to_string())]);
        let owners = owners.with_pins(&pins);
        let a = owners.assign(&[dice(), dup()]);
        assert_eq!(a.serves("roll"), Some("aaa-dup"));
        assert_eq!(a.serves("r"), Some("dice"));
        assert_eq!(
            a.refused("dice"),
            [Refusal {
                name: "roll".into(),
                owner: Owner::Plugin {
                    name: "aaa-dup".into(),
                    pinned: true
                }
            }]
        );
        assert_eq!(
            summary(a.refused("dice")),
            "roll (owned by aaa-dup via [bot.commands])"
        );
        assert_eq!(owners.lock().commands["roll"], "aaa-dup");
    }

    #[test]
    fn a_pinned_name_waits_for_its_plugin() {
        let pins = BTreeMap::from([("roll".to_string(), "dice".to_string())]);
        let owners = Owners::in_memory().with_pins(&pins);
        let a = owners.assign(&[dup()]);
        assert_eq!(a.serves("roll"), None);
        assert_eq!(a.serves("r"), Some("aaa-dup"));
    }

    #[test]
    fn built_in_names_can_never_be_taken() {
        let pins = BTreeMap::from([("help".to_string(), "evil".to_string())]);
        let owners = Owners::in_memory().with_pins(&pins);
        let a = owners.assign(&[claim("evil", &["help", "plugins", "reload", "evil"])]);
        for builtin in ["help", "plugins", "reload"] {
            assert_eq!(a.serves(builtin), None);
        }
        assert_eq!(a.serves("evil"), Some("evil"));
        assert!(a.refused("evil").iter().all(|r| r.owner == Owner::Host));
        assert_eq!(
            summary(a.refused("evil")),
            "help, plugins, reload (owned by the host)"
        );
        assert!(owners.owner("plugins").is_none());
    }

    #[test]
    fn long_summaries_are_cut() {
        let names: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let owners = Owners::in_memory();
        owners.assign(&[Claim {
            plugin: "first".into(),
            names: names.clone(),
        }]);
        let a = owners.assign(&[
            Claim {
                plugin: "first".into(),
                names: names.clone(),
            },
            Claim {
                plugin: "second".into(),
                names,
            },
        ]);
        assert_eq!(
            summary(a.refused("second")),
            "c0, c1, c2, c3, c4, c5, c6, c7 … and 12 more (owned by first)"
        );
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, "{not json").unwrap();
        let err = Owners::open(&path).err().unwrap().to_string();
        assert!(
            err.contains("commands.json: invalid command ownership file"),
            "{err}"
        );
    }
}
