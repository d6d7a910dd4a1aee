//! The session: the live credentials of a logged-in client and their
//! persisted form.
//!
//! The session file holds everything a restart needs to skip the QR code
//! (§2.9 "cookie re-login"): the cookie jar (session cookies included),
//! `ptwebqq`, `vfwebqq`, `psessionid` and the account's QQ number. It is
//! written atomically (temporary file + rename) with mode 0600, because
//! the cookies are as good as the account's password while they last.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The credentials of the current WebQQ session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Auth {
    /// The account's real QQ number (`login2.result.uin`).
    pub uin: u64,
    /// The `ptwebqq` token; may be empty (late SmartQQ) and is replaced by
    /// poll2's `116`.
    pub ptwebqq: String,
    /// The `vfwebqq` token from `getvfwebqq`.
    pub vfwebqq: String,
    /// The `psessionid` from `login2`.
    pub psessionid: String,
}

/// The on-disk form of a session (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SavedSession {
    /// Format version; files of another version are ignored.
    pub version: u32,
    /// The account's QQ number.
    pub uin: u64,
    /// `ptwebqq` as last known.
    pub ptwebqq: String,
    /// `vfwebqq` as last known.
    pub vfwebqq: String,
    /// `psessionid` as last known.
    pub psessionid: String,
    /// Unix seconds when the file was written.
    pub saved_at: u64,
    /// The cookie jar, as serialised by `cookie_store`.
    pub cookies: String,
}

/// The current session file format.
pub(crate) const VERSION: u32 = 1;

impl SavedSession {
    /// Builds the saved form of `auth` with the exported `cookies`.
    pub(crate) fn new(auth: &Auth, cookies: String) -> SavedSession {
        SavedSession {
            version: VERSION,
            uin: auth.uin,
            ptwebqq: auth.ptwebqq.clone(),
            vfwebqq: auth.vfwebqq.clone(),
            psessionid: auth.psessionid.clone(),
            saved_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            cookies,
        }
    }
}

/// Reads the session file. A missing file is `Ok(None)`; an unreadable one
/// an error; a file that does not parse or has another version is logged
/// and treated as missing (it is overwritten after the next login).
pub(crate) fn load(path: &Path) -> Result<Option<SavedSession>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::SessionFile {
                path: path.to_owned(),
                source,
            });
        }
    };
    match serde_json::from_str::<SavedSession>(&text) {
        Ok(s) if s.version == VERSION => Ok(Some(s)),
        Ok(s) => {
            tracing::warn!(path = %path.display(), version = s.version, "ignoring session file of another version");
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable session file");
            Ok(None)
        }
    }
}

/// Writes the session file atomically with mode 0600.
pub(crate) fn save(path: &Path, session: &SavedSession) -> Result<()> {
    let io = |source| Error::SessionFile {
        path: path.to_owned(),
        source,
    };
    let json = serde_json::to_vec_pretty(session)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = tmp_path(path);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    #[cfg(unix)]
    {
        // An existing temporary file keeps its old mode: force it.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    f.write_all(&json).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/session.json");
        assert_eq!(load(&path).unwrap(), None);
        let auth = Auth {
            uin: 42,
            ptwebqq: "p".into(),
            vfwebqq: "v".into(),
            psessionid: "s".into(),
        };
        let saved = SavedSession::new(&auth, "[]".into());
        save(&path, &saved).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, saved);
        assert_eq!(back.psessionid, auth.psessionid);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(load(&path).unwrap(), None);
    }
}
