//! Integer ids for live connections, as the raw fast paths (conn_fast.rs) name them: a plain
//! type, tested below.
//!
//! An id is a slot index in the low 32 bits and the slot's generation in the high 32 bits, so
//! a reused slot never answers to an old id, and an id a script forges or keeps after the
//! connection was collected finds nothing. Ids are Lua integers (i64): a generation of 2^31 or
//! more makes the id negative, which is fine as long as both halves are read back unsigned.

/// Live entries by id.
pub struct Registry<T> {
    /// (generation, entry); the generation counts the slot's uses and wraps at 2^32.
    slots: Vec<(u32, Option<T>)>,
    /// Indexes of empty slots, reused before the vector grows.
    free: Vec<u32>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

fn split(id: i64) -> (u32, u32) {
    let bits = id as u64;
    ((bits & 0xffff_ffff) as u32, (bits >> 32) as u32)
}

impl<T> Registry<T> {
    /// Stores `entry`; its id is valid until `remove`.
    pub fn insert(&mut self, entry: T) -> i64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push((0, None));
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.0 = slot.0.wrapping_add(1);
        slot.1 = Some(entry);
        ((u64::from(slot.0) << 32) | u64::from(index)) as i64
    }

    /// Takes the entry out and frees its slot; a stale or forged id finds nothing.
    pub fn remove(&mut self, id: i64) -> Option<T> {
        let (index, generation) = split(id);
        let slot = self.slots.get_mut(index as usize)?;
        if slot.0 != generation {
            return None;
        }
        let entry = slot.1.take()?;
        self.free.push(index);
        Some(entry)
    }

    pub fn get(&self, id: i64) -> Option<&T> {
        let (index, generation) = split(id);
        let slot = self.slots.get(index as usize)?;
        if slot.0 != generation {
            return None;
        }
        slot.1.as_ref()
    }

    /// Slots in use or free: what the registry holds on to.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// A registry whose first slot starts at `generation`, to test the wrap.
    #[cfg(test)]
    fn starting_at(generation: u32) -> Self {
        Registry {
            slots: vec![(generation, None)],
            free: vec![0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_find_their_entry_until_removed() {
        let mut r = Registry::default();
        let a = r.insert("a");
        let b = r.insert("b");
        assert_eq!(r.get(a), Some(&"a"));
        assert_eq!(r.get(b), Some(&"b"));
        assert_eq!(r.remove(a), Some("a"));
        assert_eq!(r.get(a), None);
        assert_eq!(r.remove(a), None, "a second remove finds nothing");
    }

    #[test]
    fn a_reused_slot_does_not_answer_to_an_old_id() {
        let mut r = Registry::default();
        let old = r.insert(1);
        r.remove(old);
        let new = r.insert(2);
        assert_ne!(old, new);
        assert_eq!(r.capacity(), 1, "the slot was reused");
        assert_eq!(r.get(old), None);
        assert_eq!(r.remove(old), None);
        assert_eq!(r.get(new), Some(&2));
    }

    #[test]
    fn forged_ids_find_nothing() {
        let mut r = Registry::default();
        let id = r.insert(());
        for forged in [0, -1, i64::MIN, i64::MAX, id + 1, id ^ (1 << 40)] {
            assert_eq!(r.get(forged), None, "{forged:#x}");
        }
    }

    #[test]
    fn generations_past_2_pow_31_still_free_their_slot() {
        // The generation makes the id negative from 2^31 on; before the fix the comparison
        // read it back signed, never matched, and the slot (and its entry) leaked.
        let mut r = Registry::starting_at(i32::MAX as u32 - 1);
        for _ in 0..4 {
            let id = r.insert(());
            assert_eq!(r.get(id), Some(&()), "{id:#x}");
            assert_eq!(r.remove(id), Some(()), "{id:#x}");
        }
        assert_eq!(r.capacity(), 1, "one slot, reused each time");
    }

    #[test]
    fn the_generation_wraps_at_2_pow_32() {
        let mut r = Registry::starting_at(u32::MAX - 1);
        let a = r.insert('a');
        r.remove(a);
        let b = r.insert('b');
        assert_eq!(split(b).1, 0, "wrapped");
        assert_eq!(r.get(a), None);
        assert_eq!(r.remove(b), Some('b'));
    }
}
