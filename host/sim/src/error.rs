//! The simulator's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong when loading a population or running the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The population file could not be read.
    #[error("population file {}: cannot read: {source}", path.display())]
    PopulationRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The population file is not valid TOML for the expected schema; the
    /// message names the key and position (`toml`'s diagnostics).
    #[error("population file {}: {message}", path.display())]
    PopulationParse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The population parsed but is inconsistent (duplicate number, unknown
    /// member, …).
    #[error("population file {}: {key}: {message}", path.display())]
    PopulationInvalid {
        /// The file.
        path: PathBuf,
        /// The offending key, e.g. `groups[0].members[2].qq`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The listening socket could not be bound.
    #[error("simulator: cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP server stopped with an error.
    #[error("simulator: server error: {0}")]
    Serve(std::io::Error),
}
