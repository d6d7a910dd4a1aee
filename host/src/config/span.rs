//! Key paths (`plugins.title.grants[1]`) and where they are in the file.
//!
//! Errors found after deserializing (validation) know the key path but not
//! the position; [`find`] re-parses the text into toml's spanned document
//! and walks it along the path to the value's byte range.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A dotted key path into the configuration, like `plugins.title.grants[1]`;
/// empty for the document itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key(Vec<Step>);

impl Key {
    /// The whole document.
    pub fn root() -> Key {
        Key(Vec::new())
    }

    /// A path of table keys (`Key::of(&["bot", "prefixes"])`).
    pub(crate) fn of(keys: &[&str]) -> Key {
        Key(keys.iter().map(|k| Step::Key(k.to_string())).collect())
    }

    /// The path `serde_path_to_error` tracked.
    pub(crate) fn from_path(path: &serde_path_to_error::Path) -> Key {
        use serde_path_to_error::Segment;
        Key(path
            .iter()
            .map(|segment| match segment {
                Segment::Seq { index } => Step::Index(*index),
                Segment::Map { key } => Step::Key(key.clone()),
                Segment::Enum { variant } => Step::Key(variant.clone()),
                Segment::Unknown => Step::Key("?".into()),
            })
            .collect())
    }

    /// This path followed by table key `key`.
    pub(crate) fn key(mut self, key: &str) -> Key {
        self.push_key(key);
        self
    }

    /// This path followed by array index `index`.
    pub(crate) fn index(mut self, index: usize) -> Key {
        self.0.push(Step::Index(index));
        self
    }

    /// Append table key `key`.
    pub(crate) fn push_key(&mut self, key: &str) {
        self.0.push(Step::Key(key.to_string()));
    }

    /// Whether this is the document itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if bare {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The byte range of the value at `key` in `text`, or of the closest
/// enclosing value that exists (so a key that is absent from the file, and
/// so took its default, points at its table). `None` if the text does not
/// parse or the path names nothing written.
pub(crate) fn find(text: &str, key: &Key) -> Option<Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table: &DeTable<'_> = doc.get_ref();
    let mut found: Option<Range<usize>> = None;
    let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
    for step in &key.0 {
        let next = match (step, value) {
            (Step::Key(k), None) => lookup(table, k),
            (Step::Key(k), Some(v)) => match v.get_ref() {
                DeValue::Table(t) => {
                    table = t;
                    lookup(table, k)
                }
                _ => None,
            },
            (Step::Index(i), Some(v)) => match v.get_ref() {
                DeValue::Array(a) => a.get(*i),
                _ => None,
            },
            (Step::Index(_), None) => None,
        };
        match next {
            Some(v) => {
                // Implicit tables (`[plugins.title]` creates `plugins`)
                // have empty spans; keep the enclosing position then.
                if !v.span().is_empty() {
                    found = Some(v.span());
                }
                value = Some(v);
            }
            None => break,
        }
    }
    found
}

fn lookup<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a toml::Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}
