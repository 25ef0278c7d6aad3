//! The data directory (`state.data_dir`): where what must survive a restart lives. Opened once by
//! `Server::start`, before any store: created with mode 0700 when missing, refused when other
//! users may write to it, and locked (an exclusive `flock` on [`files::LOCK`]) so that two servers
//! never share one — the second is refused with the first one's pid. The lock goes with the
//! process, even on SIGKILL, so a crash never leaves it stale.
//!
//! Every file riskgate keeps in it is named in [`files`], so that no two stores pick one name.

use std::{
    fs::{DirBuilder, File, OpenOptions},
    io::{Read, Seek, Write},
    os::{
        fd::AsRawFd,
        unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    },
    path::{Path, PathBuf},
};

use super::StoreError;

/// The names of the files in the data directory, in one place.
pub mod files {
    /// The lock file; holds the pid of the server that has the directory.
    pub const LOCK: &str = "riskgate.lock";
    /// The value lists journal, when `lists.path` is unset.
    pub const LISTS_JOURNAL: &str = "lists.journal";
    /// The admin token generated on first run when none is configured (mode 0600).
    pub const ADMIN_TOKEN: &str = "admin-token";
    /// Idempotent answers (so a replay after a restart answers as before): a directory of
    /// journal segments.
    pub const IDEMPOTENCY: &str = "idempotency";
    /// Outcome memory (labels learned from outcomes and webhooks), when `enrichment.outcomes_path`
    /// is unset and there is no Redis.
    pub const OUTCOMES_JOURNAL: &str = "outcomes.journal";
    /// The Stripe webhook deliveries ledger (accepted event ids, events not yet applied), when
    /// `webhooks.journal_path` and `enrichment.outcomes_path` are unset.
    pub const WEBHOOKS_JOURNAL: &str = "webhooks.journal";
    /// The analyst review queue, when `reviews.path` is unset and there is no Redis.
    pub const REVIEWS_JOURNAL: &str = "reviews.journal";
}

/// An open, locked data directory. The lock is held until this is dropped (or the process ends).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    /// Holds the `flock`.
    _lock: File,
}

impl DataDir {
    /// Creates `path` (mode 0700, parents included) when missing, checks it, and locks it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let fail = |message: String| StoreError::DataDir {
            path: path.to_owned(),
            message,
        };
        match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(path)
                    .map_err(|e| fail(format!("cannot create it: {e}")))?;
                tracing::info!(path = %path.display(), "data directory created");
            }
            Err(e) => return Err(fail(e.to_string())),
            Ok(_) => {}
        }
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if !meta.is_dir() {
            return Err(fail("not a directory".into()));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            // Another user could replace the journals or the token file.
            return Err(fail(format!(
                "other users may write to it (mode {mode:03o}); `chmod 700` it, or point \
                 state.data_dir at a directory of its own (riskgate creates a missing one 0700)"
            )));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if meta.uid() != euid {
            return Err(fail(format!(
                "owned by uid {}, not by this process (uid {euid})",
                meta.uid()
            )));
        }
        if mode & 0o044 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:03o}"),
                "the data directory is readable by other users; `chmod 700` it"
            );
        }
        let lock = match lock(&path.join(files::LOCK)) {
            Ok(lock) => lock,
            Err(Lock::Held(holder)) => {
                return Err(StoreError::DataDirInUse {
                    path: path.to_owned(),
                    holder,
                });
            }
            Err(Lock::Failed(message)) => return Err(fail(message)),
        };
        Ok(Self {
            path: path.to_owned(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of one of its [`files`].
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The admin token kept in [`files::ADMIN_TOKEN`], generated on first call: 32 bytes from the
    /// operating system's CSPRNG, hex, written 0600 (to a temporary file, fsynced, then renamed,
    /// so a crash never leaves half a token). Returns the token and whether it was generated now.
    pub fn admin_token(&self) -> Result<(crate::config::Secret, bool), StoreError> {
        let path = self.file(files::ADMIN_TOKEN);
        let fail = |message: String| StoreError::DataDir {
            path: path.clone(),
            message,
        };
        match crate::config::Secret::from_file(&path) {
            Ok(token) => return Ok((token, false)),
            Err(crate::config::ConfigError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        let token = random_hex(32).map_err(fail)?;
        let tmp = self.file(&format!("{}.tmp", files::ADMIN_TOKEN));
        let _ = std::fs::remove_file(&tmp);
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(token.as_bytes())?;
                f.write_all(b"\n")?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &path))
            .and_then(|()| File::open(&self.path)?.sync_all());
        written.map_err(|e| fail(format!("cannot write it: {e}")))?;
        Ok((crate::config::Secret::new(token), true))
    }
}

/// `bytes` random bytes from the operating system's CSPRNG, as lower-case hex.
pub fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Why [`lock`] failed.
enum Lock {
    /// Another process holds it; its pid when the file names one.
    Held(Option<String>),
    Failed(String),
}

/// Opens and `flock`s the lock file, then writes this process' pid into it.
fn lock(path: &Path) -> Result<File, Lock> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Lock::Failed(format!("cannot open the lock file {}: {e}", path.display())))?;
    // SAFETY: the descriptor is valid for the life of `file`; flock has no other precondition.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::WouldBlock {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(Lock::Held((!holder.is_empty()).then(|| holder.to_owned())));
        }
        return Err(Lock::Failed(format!(
            "cannot lock {}: {err}",
            path.display()
        )));
    }
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()))
        .map_err(|e| Lock::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-datadir-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn created_0700_and_locked_once() {
        let root = scratch("create");
        let path = root.join("nested/riskgate");
        let dir = DataDir::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(
            std::fs::read_to_string(dir.file(files::LOCK)).unwrap(),
            std::process::id().to_string()
        );
        // A second opener (flock locks belong to the open file description, so this conflicts
        // even within one process) is refused with the holder's pid.
        let err = DataDir::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("in use by another riskgate (pid") && err.contains("--data-dir"),
            "{err}"
        );
        drop(dir);
        let again = DataDir::open(&path).unwrap();
        assert_eq!(again.path(), path);
        drop(again);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_admin_token_is_generated_once_0600() {
        let path = scratch("token");
        let dir = DataDir::open(&path).unwrap();
        let (first, generated) = dir.admin_token().unwrap();
        assert!(generated);
        assert_eq!(first.expose().len(), 64);
        assert!(first.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        let file = dir.file(files::ADMIN_TOKEN);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, generated) = dir.admin_token().unwrap();
        assert!(!generated);
        assert_eq!(again.expose(), first.expose());
        assert_ne!(random_hex(32).unwrap(), random_hex(32).unwrap());
        drop(dir);
        std::fs::remove_dir_all(path).unwrap();
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        let path = scratch("open");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = DataDir::open(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 777") && err.contains("chmod 700"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(DataDir::open(&path).is_ok());
        let file = path.join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let err = DataDir::open(&file).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        std::fs::remove_dir_all(path).unwrap();
    }
}
