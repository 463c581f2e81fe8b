//! The cleaner's map from record key to the offset of its latest record (Kafka's
//! `SkimpyOffsetMap`): a fixed block of memory sized by `log.cleaner.dedupe.buffer.size`,
//! allocated once, so cleaning any log never takes more.
//!
//! Each slot holds a 128-bit hash of a key (16 bytes) and an offset (8 bytes) side by side, 24
//! bytes like Kafka's MD5-keyed map, so a lookup costs one cache miss; slots are probed
//! linearly. The map is "full" at the load factor
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
    /// [hash low, hash high, offset + 1] per slot.
    slots: Vec<[u64; 3]>,
    entries: usize,
    /// Keys it takes before it is full (the load factor of the slots).
    capacity: usize,
    /// The largest offset put (or declared mapped), -1 when empty.
    latest_offset: i64,
}

impl OffsetMap {
    /// A map in `memory` bytes (at least one slot).
    pub fn new(memory: usize) -> Self {
        let slots = (memory / BYTES_PER_ENTRY).max(2);
        OffsetMap {
            slots: vec![[0; 3]; slots],
            entries: 0,
            capacity: ((slots as f64 * LOAD_FACTOR) as usize).max(1),
            latest_offset: -1,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
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
        self.entries >= self.capacity
    }

    /// Empties the map for the next log.
    pub fn clear(&mut self) {
        if self.entries > 0 {
            self.slots.fill([0; 3]);
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
        let (lo, hi) = (hash as u64, (hash >> 64) as u64);
        let stored = (offset + 1) as u64;
        let mut i = self.slot_of(hash);
        loop {
            let slot = &mut self.slots[i];
            if slot[2] == EMPTY as u64 {
                *slot = [lo, hi, stored];
                self.entries += 1;
                break;
            }
            if slot[0] == lo && slot[1] == hi {
                slot[2] = stored;
                break;
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
        }
        self.latest_offset = self.latest_offset.max(offset);
    }

    /// The latest offset of `key`, or -1 when it is not in the map.
    pub fn get(&self, key: &[u8]) -> i64 {
        let hash = xxh3_128(key);
        let (lo, hi) = (hash as u64, (hash >> 64) as u64);
        let mut i = self.slot_of(hash);
        for _ in 0..self.slots.len() {
            let slot = &self.slots[i];
            if slot[2] == EMPTY as u64 {
                return -1;
            }
            if slot[0] == lo && slot[1] == hi {
                return slot[2] as i64 - 1;
            }
            i = if i + 1 == self.slots.len() { 0 } else { i + 1 };
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
