//! The cleaner's map from record key to the offset of its latest record (Kafka's
//! `SkimpyOffsetMap`): a fixed block of memory sized by `log.cleaner.dedupe.buffer.size`,
//! allocated once, so cleaning any log never takes more.
//!
//! Each slot holds a 128-bit hash of a key (16 bytes) and an offset (8 bytes), 24 bytes like
//! Kafka's MD5-keyed map; slots are probed linearly. The map is "full" at the load factor
//! (Kafka's `log.cleaner.io.buffer.load.factor`, 0.9): the cleaner then stops mapping and
//! cleans up to where the map reaches.

use xxhash_rust::xxh3::xxh3_128;

/// Bytes one slot takes.
pub const BYTES_PER_ENTRY: usize = 24;
/// Kafka's default `log.cleaner.io.buffer.load.factor`.
pub const LOAD_FACTOR: f64 = 0.9;
/// An empty slot: offsets are stored plus one, so a new map is all zeros (pages the kernel
/// hands out lazily: an idle cleaner's map costs no memory until it is used).
const EMPTY: i64 = 0;

/// Key hash → latest offset.
pub struct OffsetMap {
    hashes: Vec<u128>,
    offsets: Vec<i64>,
    entries: usize,
    /// The largest offset put (or declared mapped), -1 when empty.
    latest_offset: i64,
}

impl OffsetMap {
    /// A map in `memory` bytes (at least one slot).
    pub fn new(memory: usize) -> Self {
        let slots = (memory / BYTES_PER_ENTRY).max(2);
        OffsetMap {
            hashes: vec![0; slots],
            offsets: vec![EMPTY; slots],
            entries: 0,
            latest_offset: -1,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.offsets.len()
    }

    /// Number of distinct keys held.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// True once the map holds as many keys as the load factor allows.
    pub fn is_full(&self) -> bool {
        self.entries as f64 >= self.slots() as f64 * LOAD_FACTOR
    }

    /// Empties the map for the next log.
    pub fn clear(&mut self) {
        if self.entries > 0 {
            self.offsets.fill(EMPTY);
        }
        self.entries = 0;
        self.latest_offset = -1;
    }

    /// The largest offset mapped so far (-1 for none).
    pub fn latest_offset(&self) -> i64 {
        self.latest_offset
    }

    /// Declares everything up to `offset` mapped (a stretch with no keyed records).
    pub fn update_latest_offset(&mut self, offset: i64) {
        self.latest_offset = self.latest_offset.max(offset);
    }

    fn slot_of(&self, hash: u128) -> usize {
        ((hash as u64) % self.slots() as u64) as usize
    }

    /// Records `offset` as the latest for `key`.
    pub fn put(&mut self, key: &[u8], offset: i64) {
        let hash = xxh3_128(key);
        let mut i = self.slot_of(hash);
        loop {
            if self.offsets[i] == EMPTY {
                self.hashes[i] = hash;
                self.offsets[i] = offset + 1;
                self.entries += 1;
                break;
            }
            if self.hashes[i] == hash {
                self.offsets[i] = offset + 1;
                break;
            }
            i = if i + 1 == self.slots() { 0 } else { i + 1 };
        }
        self.latest_offset = self.latest_offset.max(offset);
    }

    /// The latest offset of `key`, or -1 when it is not in the map.
    pub fn get(&self, key: &[u8]) -> i64 {
        let hash = xxh3_128(key);
        let mut i = self.slot_of(hash);
        for _ in 0..self.slots() {
            let o = self.offsets[i];
            if o == EMPTY {
                return -1;
            }
            if self.hashes[i] == hash {
                return o - 1;
            }
            i = if i + 1 == self.slots() { 0 } else { i + 1 };
        }
        -1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_offset_per_key_and_fills_at_the_load_factor() {
        let mut m = OffsetMap::new(24 * 10);
        assert_eq!(m.slots(), 10);
        for (i, k) in ["a", "b", "a", "c", "b", "a"].iter().enumerate() {
            m.put(k.as_bytes(), i as i64);
        }
        assert_eq!(
            (m.get(b"a"), m.get(b"b"), m.get(b"c"), m.get(b"z")),
            (5, 4, 3, -1)
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m.latest_offset(), 5);
        for i in 0..6 {
            m.put(format!("k{i}").as_bytes(), 10 + i);
        }
        assert!(m.is_full(), "9 of 10 slots is the load factor");
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.get(b"a"), -1);
    }
}
