//! The broker's allocator: the system allocator, except that very large allocations are mapped
//! with `MAP_NORESERVE`.
//!
//! Why: kafka-protocol 0.18 sizes a decoded array by the length the request *claims*
//! (`Vec::with_capacity(n)`) before reading its elements. A 27-byte request claiming 2^31
//! elements asks for ~150 GB; the kernel refuses that mapping and the process aborts, dropping
//! every client. Mapped without reserving swap, the allocation succeeds as untouched address
//! space, decoding then fails on the missing bytes (the connection is closed as for any bad
//! request), and the mapping is returned unused. Real requests are bounded by
//! `socket.request.max.bytes`, far below the threshold.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::null_mut;

/// Allocations from this size up are mapped lazily.
const LARGE: usize = 1 << 30;
/// mmap hands out page-aligned memory; larger alignments go to the system allocator.
const PAGE: usize = 4096;

/// See the module docs.
pub struct BrokerAlloc;

fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE
}

// SAFETY: every pointer is either from `System` (and returned to it) or from `mmap` of exactly
// `layout.size()` bytes (and unmapped with the same size); `is_large` decides which, from the
// layout the caller passes back, so the two never mix.
unsafe impl GlobalAlloc for BrokerAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_large(&layout) {
            // SAFETY: forwarded unchanged.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: an anonymous private mapping; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                null_mut(),
                layout.size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            null_mut()
        } else {
            p.cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            // SAFETY: anonymous mappings are zero-filled.
            unsafe { self.alloc(layout) }
        } else {
            // SAFETY: forwarded unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            // SAFETY: `ptr` came from the mmap above with this size.
            unsafe {
                libc::munmap(ptr.cast(), layout.size());
            }
        } else {
            // SAFETY: `ptr` came from `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_large(&layout) && !is_large(&new_layout) {
            // SAFETY: both sides are the system allocator's.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: a fresh allocation, a copy of the bytes both hold, and the old one freed
        // by the path that allocated it.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}
