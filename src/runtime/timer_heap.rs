//! The timer heap: deadlines in firing order with O(1) cancellation. A plain type (no clock,
//! no executor, no Lua), so its rules are tested below; `timer.rs` puts it to work.
//!
//! Entries are keyed by (deadline, id), and ids grow monotonically, so entries due at the same
//! moment come out in the order they were inserted (docs/time.md, "Order").
//!
//! Cancelling removes the entry and leaves its key in the heap: a key without an entry is
//! stale and skipped when it comes up. The heap is rebuilt when stale keys outnumber live
//! entries, so arming and cancelling forever cannot grow memory without bound.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// Below this many keys the heap is never rebuilt (a rebuild is not worth it).
const REBUILD_MIN: usize = 1024;

pub struct TimerHeap<A> {
    /// Every live entry's key, plus stale keys of removed entries (at most about twice the
    /// live count once past `REBUILD_MIN`, see `remove`).
    keys: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Live entries by id. Changed by `insert`, `remove` and `pop_due` only.
    entries: HashMap<u64, A>,
    /// The last id handed out; ids start at 1 and never repeat.
    last_id: u64,
}

impl<A> Default for TimerHeap<A> {
    fn default() -> Self {
        TimerHeap {
            keys: BinaryHeap::new(),
            entries: HashMap::new(),
            last_id: 0,
        }
    }
}

impl<A> TimerHeap<A> {
    /// Adds an entry due at `deadline`; returns its id.
    pub fn insert(&mut self, deadline: Instant, entry: A) -> u64 {
        self.last_id += 1;
        let id = self.last_id;
        self.keys.push(Reverse((deadline, id)));
        self.entries.insert(id, entry);
        id
    }

    pub fn get(&self, id: u64) -> Option<&A> {
        self.entries.get(&id)
    }

    /// Drops the stale keys and gives back the room a past peak left (the idle collection
    /// calls it: at 10,000 connections the two tables are mmapped blocks of their own).
    pub fn shrink(&mut self) {
        let entries = &self.entries;
        self.keys
            .retain(|Reverse((_, id))| entries.contains_key(id));
        self.keys.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    /// Removes a live entry (cancellation); unknown or fired ids give None.
    pub fn remove(&mut self, id: u64) -> Option<A> {
        let entry = self.entries.remove(&id)?;
        if self.keys.len() > REBUILD_MIN && self.keys.len() > 2 * self.entries.len() {
            let entries = &self.entries;
            self.keys
                .retain(|Reverse((_, id))| entries.contains_key(id));
        }
        Some(entry)
    }

    /// The earliest live entry if it is due by `now`, taken out with its id.
    pub fn pop_due(&mut self, now: Instant) -> Option<(u64, A)> {
        while let Some(&Reverse((deadline, id))) = self.keys.peek() {
            if deadline > now {
                return None;
            }
            self.keys.pop();
            if let Some(entry) = self.entries.remove(&id) {
                return Some((id, entry));
            }
        }
        None
    }

    /// When the earliest live entry is due (stale keys on top are dropped on the way).
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((deadline, id))) = self.keys.peek() {
            if self.entries.contains_key(&id) {
                return Some(deadline);
            }
            self.keys.pop();
        }
        None
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn fires_in_deadline_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        h.insert(at(t0, 30), "c");
        h.insert(at(t0, 10), "a1");
        h.insert(at(t0, 20), "b");
        h.insert(at(t0, 10), "a2");
        let mut out = Vec::new();
        while let Some((_, e)) = h.pop_due(at(t0, 100)) {
            out.push(e);
        }
        assert_eq!(out, ["a1", "a2", "b", "c"]);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn nothing_fires_before_its_deadline() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        h.insert(at(t0, 10), 1);
        assert!(h.pop_due(at(t0, 9)).is_none());
        assert_eq!(h.next_deadline(), Some(at(t0, 10)));
        assert_eq!(h.pop_due(at(t0, 10)).map(|(_, e)| e), Some(1));
    }

    #[test]
    fn removed_entries_never_fire_and_ids_never_repeat() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        let a = h.insert(at(t0, 1), "a");
        let b = h.insert(at(t0, 2), "b");
        assert_eq!(h.remove(a), Some("a"));
        assert_eq!(h.remove(a), None, "a second removal finds nothing");
        assert_eq!(
            h.next_deadline(),
            Some(at(t0, 2)),
            "the stale key is skipped"
        );
        assert_eq!(h.pop_due(at(t0, 5)), Some((b, "b")));
        assert_eq!(h.remove(b), None, "a fired entry cannot be removed");
        let c = h.insert(at(t0, 3), "c");
        assert!(c > b && b > a);
    }

    #[test]
    fn stale_keys_are_bounded() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        let keep = h.insert(at(t0, 1_000_000), ());
        for i in 0..100_000 {
            let id = h.insert(at(t0, i), ());
            h.remove(id);
        }
        assert_eq!(h.len(), 1);
        assert!(h.keys() <= REBUILD_MIN + 1, "{} keys for 1 entry", h.keys());
        assert_eq!(h.pop_due(at(t0, 2_000_000)).map(|(id, _)| id), Some(keep));
    }

    #[test]
    fn shrink_keeps_what_is_live_in_order() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        let ids: Vec<u64> = (0..5000).map(|i| h.insert(at(t0, 10 + i % 7), i)).collect();
        for id in &ids[2..] {
            h.remove(*id);
        }
        h.shrink();
        assert_eq!(h.keys(), 2, "only the live entries' keys are left");
        assert!(h.keys.capacity() < 5000 && h.entries.capacity() < 5000);
        // ids[0] is due at 10 ms, ids[1] at 11 ms: they still fire in deadline order.
        assert_eq!(h.pop_due(at(t0, 100)), Some((ids[0], 0)));
        assert_eq!(h.pop_due(at(t0, 100)), Some((ids[1], 1)));
        assert_eq!(h.pop_due(at(t0, 100)), None);
    }
}
