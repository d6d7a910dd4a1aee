//! The configuration's one error type.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::span::Key;

/// Why a configuration file was refused. The message names the file and,
/// for bad content, the line, column and key:
///
/// ```text
/// config/wasmqq.toml:12:12: plugins.title.grants[1]: unknown capability "htp" (known: kv, timers, send, contacts, http)
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, a folder, no permission).
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file as given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration: a TOML syntax
    /// error, an unknown key, a value of the wrong type, or a value out of
    /// range.
    #[error("{}", Located { file, line: *line, column: *column, key, message })]
    Invalid {
        /// The file as given.
        file: PathBuf,
        /// 1-based line of the offending key or value (`None` when it could
        /// not be located).
        line: Option<usize>,
        /// 1-based column, in characters.
        column: Option<usize>,
        /// The key path (`plugins.title.grants[1]`); empty for a syntax
        /// error.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// An [`Invalid`](Self::Invalid) error at byte range `span` of `text`.
    pub(crate) fn invalid(
        file: &Path,
        text: &str,
        span: Option<Range<usize>>,
        key: Key,
        message: String,
    ) -> ConfigError {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Invalid {
            file: file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `file:line:column: key: message`, leaving out what is unknown.
struct Located<'a> {
    file: &'a Path,
    line: Option<usize>,
    column: Option<usize>,
    key: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(self.message)
    }
}
