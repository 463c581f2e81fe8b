//! Replacing a small file atomically: a reader (or a process after a crash) sees the old or the
//! new content, never a mix — write a temp file beside it, fsync it, rename it over, fsync the
//! directory. Producer snapshots, topic metadata, group offsets and checkpoints go through here.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};

/// A new content written beside its file and not yet renamed over it (see [`stage`]).
#[derive(Debug)]
#[must_use = "a staged file replaces nothing until committed"]
pub struct Staged {
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
}

/// The temp file name for `path`, unique to this process and call.
fn temp_name(path: &Path) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    // The name is cut short so the temp name fits even when `path`'s name is near the 255-byte
    // limit (a 249-character topic's metadata file).
    let name: String = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .chars()
        .take(64)
        .collect();
    dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Writes `bytes` to a temp file beside `path`, without fsync: the first half of a
/// replacement done for many files at once — stage them all, sync the file system once
/// ([`sync_file_system`]), commit them all, sync once more.
pub fn stage(path: &Path, bytes: &[u8]) -> Result<Staged> {
    let tmp = temp_name(path);
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        let mut f = super::handles::open(&tmp, &options)?;
        f.write_all(bytes).at(&tmp)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

impl Staged {
    /// Renames the staged content over its file.
    pub fn commit(self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.path).at(&self.path)
    }
}

/// Replaces `path` with `bytes`. With `sync` the new content and the rename are durable when
/// this returns; without it they are ordered (rename after write) but left to the page cache.
pub fn write(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_name(path);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        let mut f = super::handles::open(&tmp, &options)?;
        f.write_all(bytes).at(&tmp)?;
        if sync {
            f.sync_data().at(&tmp)?;
        }
        drop(f);
        std::fs::rename(&tmp, path).at(path)?;
        if sync {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// fsyncs a directory, making the names created, renamed or removed in it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).at(dir)?.sync_all().at(dir)
}

/// Flushes every dirty page of the file system holding `path` (`syncfs(2)`): one call where
/// fsyncing thousands of files one by one would take seconds.
pub fn sync_file_system(path: &Path) -> Result<()> {
    let f = File::open(path).at(path)?;
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call (borrowed from `f`).
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc != 0 {
        return Err(crate::error::Error::io(
            path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
