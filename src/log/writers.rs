//! Who is writing a partition, across processes, with one descriptor per process.
//!
//! Several tool processes may append to one partition. Two facts must be shared between them:
//! whether any writer is alive (if none is and the log was not closed cleanly, the next opener
//! recovers it), and which writer is the last to close (it marks the log clean). Each live
//! writer holds a shared lock on the partition's byte of `<data-dir>/.streamlog-writers`, an
//! open-file-description lock (`F_OFD_SETLK`) at an offset hashed from the partition directory's
//! name. A lock held by a process that dies is released by the kernel, so a writer killed with
//! `kill -9` stops counting at once.
//!
//! Unlike one `flock`ed file per partition, this costs one descriptor per data dir per process,
//! however many partitions the process writes. Locks taken through one open file description do
//! not exclude each other, so within a process a count per partition says how many of its own
//! logs write it; the kernel lock speaks for the process as a whole.
//!
//! - probe: exclusive, non-blocking — succeeds only if no process (this one included) writes.
//! - register: shared, waiting while someone holds it exclusively (an opener recovering the log).
//! - release: the last local writer tries exclusive (non-blocking) to learn whether it was the
//!   last writer anywhere, then unlocks.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// Name of the lock file in a data dir.
pub const WRITERS_LOCK: &str = ".streamlog-writers";

struct DirLocks {
    file: File,
    /// Live writers in this process, by slot.
    writers: HashMap<u64, usize>,
    /// [`Alone`] guards alive in this process (each holds an exclusive lock on its slot).
    alone: usize,
}

static REGISTRY: OnceLock<Mutex<HashMap<PathBuf, DirLocks>>> = OnceLock::new();

fn registry() -> MutexGuard<'static, HashMap<PathBuf, DirLocks>> {
    REGISTRY
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The byte of the lock file that stands for a partition directory: FNV-1a of its name, kept
/// below 2^62 so it is a valid positive file offset.
fn slot(partition_dir: &Path) -> u64 {
    let name = partition_dir
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h & ((1 << 62) - 1)
}

fn locks_for<'a>(
    reg: &'a mut HashMap<PathBuf, DirLocks>,
    partition_dir: &Path,
) -> Result<&'a mut DirLocks> {
    let data_dir = partition_dir
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    if !reg.contains_key(&data_dir) {
        let path = data_dir.join(WRITERS_LOCK);
        let file = super::handles::open(&path, &super::handles::read_write())?;
        reg.insert(
            data_dir.clone(),
            DirLocks {
                file,
                writers: HashMap::new(),
                alone: 0,
            },
        );
    }
    reg.get_mut(&data_dir)
        .ok_or_else(|| Error::DataDir(format!("{} vanished", data_dir.display())))
}

/// F_RDLCK, F_WRLCK or F_UNLCK on one byte; `wait` blocks until granted. Returns false when a
/// non-blocking request conflicts with another process's lock.
fn ofd_lock(file: &File, at: u64, kind: libc::c_int, wait: bool) -> std::io::Result<bool> {
    // SAFETY: `flock` is a plain C struct for which all-zero bytes are a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = at as libc::off_t;
    fl.l_len = 1;
    fl.l_pid = 0; // required by OFD locks
    let cmd = if wait {
        libc::F_OFD_SETLKW
    } else {
        libc::F_OFD_SETLK
    };
    loop {
        // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`)
        // and `fl` is a valid flock struct that fcntl reads (and may write) only during it.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), cmd, &mut fl) };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) | Some(libc::EACCES) if !wait => return Ok(false),
            _ => return Err(e),
        }
    }
}

fn lock_error(partition_dir: &Path, e: std::io::Error) -> Error {
    Error::io(partition_dir.join(format!("../{WRITERS_LOCK}")), e)
}

/// Proof that no process writes a partition, held while an opener recovers it.
#[derive(Debug)]
pub struct Alone {
    dir: PathBuf,
    slot: u64,
    /// Still holds the exclusive lock (false once it became a writer's shared one).
    armed: bool,
}

/// Tries to be alone with a partition: no writer in any process, this one included.
pub fn probe_alone(partition_dir: &Path) -> Result<Option<Alone>> {
    let mut reg = registry();
    let locks = locks_for(&mut reg, partition_dir)?;
    let at = slot(partition_dir);
    if locks.writers.get(&at).copied().unwrap_or(0) > 0 {
        return Ok(None);
    }
    let alone = ofd_lock(&locks.file, at, libc::F_WRLCK, false)
        .map_err(|e| lock_error(partition_dir, e))?;
    if !alone {
        forget_idle(&mut reg, partition_dir);
        return Ok(None);
    }
    locks.alone += 1;
    Ok(Some(Alone {
        dir: partition_dir.to_path_buf(),
        slot: at,
        armed: true,
    }))
}

impl Alone {
    /// Becomes a registered writer without letting anyone in between (exclusive → shared).
    pub fn into_writer(mut self) -> Result<WriterLock> {
        let mut reg = registry();
        let locks = locks_for(&mut reg, &self.dir)?;
        ofd_lock(&locks.file, self.slot, libc::F_RDLCK, true)
            .map_err(|e| lock_error(&self.dir, e))?;
        *locks.writers.entry(self.slot).or_insert(0) += 1;
        locks.alone = locks.alone.saturating_sub(1);
        self.armed = false;
        Ok(WriterLock {
            dir: self.dir.clone(),
            slot: self.slot,
            released: false,
        })
    }
}

impl Drop for Alone {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut reg = registry();
        if let Ok(locks) = locks_for(&mut reg, &self.dir) {
            locks.alone = locks.alone.saturating_sub(1);
            if locks.writers.get(&self.slot).copied().unwrap_or(0) == 0 {
                let _ = ofd_lock(&locks.file, self.slot, libc::F_UNLCK, false);
            }
        }
        forget_idle(&mut reg, &self.dir);
    }
}

/// Closes a data dir's lock file once this process holds no lock in it, so a process that
/// touches many data dirs does not keep a descriptor for each.
fn forget_idle(reg: &mut HashMap<PathBuf, DirLocks>, partition_dir: &Path) {
    let data_dir = partition_dir.parent().unwrap_or(Path::new("."));
    if reg
        .get(data_dir)
        .is_some_and(|l| l.writers.is_empty() && l.alone == 0)
    {
        reg.remove(data_dir);
    }
}

/// A live writer of a partition; unregisters on [`WriterLock::release`] or drop.
#[derive(Debug)]
pub struct WriterLock {
    dir: PathBuf,
    slot: u64,
    released: bool,
}

/// Registers a writer, waiting while another process recovers the partition.
pub fn register(partition_dir: &Path) -> Result<WriterLock> {
    let mut reg = registry();
    let locks = locks_for(&mut reg, partition_dir)?;
    let at = slot(partition_dir);
    let count = locks.writers.entry(at).or_insert(0);
    if *count == 0 {
        ofd_lock(&locks.file, at, libc::F_RDLCK, true).map_err(|e| lock_error(partition_dir, e))?;
    }
    *count += 1;
    Ok(WriterLock {
        dir: partition_dir.to_path_buf(),
        slot: at,
        released: false,
    })
}

impl WriterLock {
    /// Stops writing. Returns true if this was the last writer in every process (the caller,
    /// holding the partition's append lock, may then mark the log clean).
    pub fn release(mut self) -> Result<bool> {
        self.released = true;
        let mut reg = registry();
        let locks = locks_for(&mut reg, &self.dir)?;
        let count = locks.writers.entry(self.slot).or_insert(1);
        *count = count.saturating_sub(1);
        if *count > 0 {
            return Ok(false);
        }
        locks.writers.remove(&self.slot);
        let last = ofd_lock(&locks.file, self.slot, libc::F_WRLCK, false)
            .map_err(|e| lock_error(&self.dir, e))?;
        ofd_lock(&locks.file, self.slot, libc::F_UNLCK, false)
            .map_err(|e| lock_error(&self.dir, e))?;
        forget_idle(&mut reg, &self.dir);
        Ok(last)
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let mut reg = registry();
        if let Ok(locks) = locks_for(&mut reg, &self.dir) {
            let count = locks.writers.entry(self.slot).or_insert(1);
            *count = count.saturating_sub(1);
            if *count == 0 {
                locks.writers.remove(&self.slot);
                let _ = ofd_lock(&locks.file, self.slot, libc::F_UNLCK, false);
            }
        }
        forget_idle(&mut reg, &self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_in_one_process_count_and_the_last_one_knows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t-0");
        std::fs::create_dir_all(&p).unwrap();
        let alone = probe_alone(&p).unwrap().expect("nobody writes yet");
        let w1 = alone.into_writer().unwrap();
        assert!(probe_alone(&p).unwrap().is_none(), "a writer lives");
        let w2 = register(&p).unwrap();
        assert!(!w1.release().unwrap(), "another writer remains");
        assert!(probe_alone(&p).unwrap().is_none());
        assert!(w2.release().unwrap(), "the last writer");
        assert!(probe_alone(&p).unwrap().is_some(), "nobody writes any more");
        // Another partition of the same data dir is independent.
        let q = dir.path().join("t-1");
        std::fs::create_dir_all(&q).unwrap();
        let wq = register(&q).unwrap();
        assert!(probe_alone(&p).unwrap().is_some());
        drop(wq);
        assert!(probe_alone(&q).unwrap().is_some());
    }
}
