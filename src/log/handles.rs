//! Open file descriptors as a budget.
//!
//! Kafka keeps about one descriptor per partition (the active segment; its indexes are mapped
//! and closed). A process here may touch thousands of partitions under a soft limit of 1,024, so
//! every long-lived handle the log keeps goes through one process-wide LRU cache of at most
//! [`capacity`] files: a segment read or written again soon finds its handle open, and one not
//! used for a while is closed and reopened by path when needed (reads and writes are positional,
//! so a reopened handle behaves the same). Index files and the state file are opened for the
//! moment they are used and closed again.
//!
//! Handles are cached per owner (one [`super::UnifiedLog`] instance): a topic deleted and created
//! again under the same name gets new files, and a new log never inherits the old one's handles.
//! A handle taken from the cache stays open for as long as the caller holds it (a `sendfile` in
//! progress), so eviction never pulls a file from under a reader.
//!
//! When the limit is hit anyway (`EMFILE`), half the cache is closed and the open retried once;
//! if that fails too, the error goes back to the caller (a Kafka client sees
//! KAFKA_STORAGE_ERROR) and is logged at error level, at most once a minute.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// What a cached handle is, within its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A segment's `.log`, by base offset; opened read-write when the owner writes.
    Segment(i64),
    /// The partition's state file.
    State,
}

type Key = (u64, Kind);

struct Cache {
    files: HashMap<Key, (Arc<File>, u64)>,
    /// Last use tick → key, oldest first.
    order: BTreeMap<u64, Key>,
    tick: u64,
}

static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);
static CAPACITY: AtomicUsize = AtomicUsize::new(0);

fn cache() -> MutexGuard<'static, Cache> {
    CACHE
        .get_or_init(|| {
            Mutex::new(Cache {
                files: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
            })
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// A fresh owner id for a log instance.
pub(crate) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// The soft `RLIMIT_NOFILE` of this process (1,024 if it cannot be read).
pub fn open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct for the duration of the call.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    if rc == 0 { lim.rlim_cur } else { 1024 }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as the tools and the broker do at start
/// (the soft limit is often 1,024 while the hard one is far higher). Returns the soft limit
/// now in force.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit struct; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

/// How many handles the cache keeps open: half the soft limit (the rest is for sockets,
/// directories and files opened for a moment), at least 16, at most 16,384.
pub fn capacity() -> usize {
    let c = CAPACITY.load(Ordering::Relaxed);
    if c != 0 {
        return c;
    }
    let c = ((open_files_limit() / 2) as usize).clamp(16, 16_384);
    CAPACITY.store(c, Ordering::Relaxed);
    c
}

/// Overrides the capacity (tests, and a broker that knows better).
pub fn set_capacity(c: usize) {
    CAPACITY.store(c.max(1), Ordering::Relaxed);
}

/// Number of handles the cache holds now.
pub fn cached() -> usize {
    cache().files.len()
}

fn touch(c: &mut Cache, key: Key) -> u64 {
    c.tick += 1;
    let t = c.tick;
    c.order.insert(t, key);
    t
}

fn evict_to(c: &mut Cache, keep: usize) {
    while c.files.len() > keep {
        let Some((_, key)) = c.order.pop_first() else {
            break;
        };
        c.files.remove(&key);
    }
}

/// The cached handle of `(owner, kind)`, opening it with `open` on a miss.
pub(crate) fn get(owner: u64, kind: Kind, open: impl Fn() -> Result<File>) -> Result<Arc<File>> {
    let key = (owner, kind);
    let mut c = cache();
    if let Some((file, used)) = c.files.get(&key).map(|(f, u)| (f.clone(), *u)) {
        c.order.remove(&used);
        let t = touch(&mut c, key);
        if let Some(entry) = c.files.get_mut(&key) {
            entry.1 = t;
        }
        return Ok(file);
    }
    let cap = capacity();
    evict_to(&mut c, cap.saturating_sub(1));
    let file = match open() {
        Err(e) if is_fd_exhaustion(&e) => {
            // Give back half of what we hold and try once more.
            let half = c.files.len() / 2;
            evict_to(&mut c, half);
            open()?
        }
        other => other?,
    };
    let file = Arc::new(file);
    let t = touch(&mut c, key);
    c.files.insert(key, (file.clone(), t));
    Ok(file)
}

/// Closes one cached handle (a segment deleted or truncated away).
pub(crate) fn forget(owner: u64, kind: Kind) {
    let mut c = cache();
    if let Some((_, used)) = c.files.remove(&(owner, kind)) {
        c.order.remove(&used);
    }
}

/// Closes every handle of an owner (its log was closed).
pub(crate) fn forget_owner(owner: u64) {
    let mut c = cache();
    let ticks: Vec<u64> = c
        .files
        .iter()
        .filter(|((o, _), _)| *o == owner)
        .map(|(_, (_, t))| *t)
        .collect();
    for t in ticks {
        if let Some(key) = c.order.remove(&t) {
            c.files.remove(&key);
        }
    }
}

/// True for "too many open files" (per process or system-wide).
pub fn is_fd_exhaustion(e: &Error) -> bool {
    matches!(e, Error::Io { error: source, .. }
        if matches!(source.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)))
}

/// Opens a file the log needs for a moment, giving back cached handles first if the process is
/// out of descriptors.
pub(crate) fn open(path: &Path, options: &OpenOptions) -> Result<File> {
    match options.open(path) {
        Ok(f) => Ok(f),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) => {
            {
                let mut c = cache();
                let half = c.files.len() / 2;
                evict_to(&mut c, half);
            }
            options.open(path).map_err(|e| {
                let err = Error::io(path, e);
                report_exhaustion(&err);
                err
            })
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

static LAST_REPORT: AtomicI64 = AtomicI64::new(0);
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Logs running out of descriptors at error level: once, then at most once a minute with a
/// count of what happened in between.
pub fn report_exhaustion(e: &Error) {
    let now = super::unified::now_ms();
    let last = LAST_REPORT.load(Ordering::Relaxed);
    if now - last < 60_000 {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if LAST_REPORT
        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    let more = SUPPRESSED.swap(0, Ordering::Relaxed);
    tracing::error!(
        limit = open_files_limit(),
        cached = cached(),
        "out of file descriptors: {e}; requests touching files fail with KAFKA_STORAGE_ERROR \
         until descriptors are free (raise `ulimit -n`){}",
        if more > 0 {
            format!(" ({more} more since the last report)")
        } else {
            String::new()
        }
    );
}

/// Options for a file opened read-write, created if missing, never truncated.
pub(crate) fn read_write() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    o
}

/// Options for a file opened read-only.
pub(crate) fn read_only() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_closes_the_least_recently_used_handle_beyond_its_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let owner = new_owner();
        let path = |i: i64| dir.path().join(format!("{i}.log"));
        let open = |i: i64| {
            let p = path(i);
            move || open(&p, &read_write())
        };
        // Other tests share the cache: count only this owner's handles.
        let mine = || cache().files.keys().filter(|(o, _)| *o == owner).count();
        set_capacity(16_384);
        let first = get(owner, Kind::Segment(0), open(0)).unwrap();
        let again = get(owner, Kind::Segment(0), open(0)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "a hit returns the same handle");
        for i in 1..5 {
            get(owner, Kind::Segment(i), open(i)).unwrap();
        }
        assert_eq!(mine(), 5);
        forget(owner, Kind::Segment(3));
        assert_eq!(mine(), 4);
        forget_owner(owner);
        assert_eq!(mine(), 0);
        // The handle a caller holds stays usable after the cache lets go of it.
        use std::os::unix::fs::FileExt;
        first.write_all_at(b"x", 0).unwrap();
    }
}
