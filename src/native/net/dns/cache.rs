//! The answer cache: records by (owner, type) for as long as their TTL says, negative
//! answers included, so that a name asked again, or a CNAME chain crossing a name already
//! seen, costs no query.
//!
//! A plain map with the clock passed in: it knows nothing of Lua, executors or sockets, which
//! keeps expiry testable without waiting. It never grows without bound for long: entries are
//! not removed when they expire (a lookup simply ignores them), but once the map is past
//! `CACHE_SWEEP` entries the next response sweeps the expired ones out first.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::record::{Groups, Key, Rec, Ttls};

/// No answer is kept longer than this, whatever its TTL says.
pub const MAX_TTL: u32 = 7 * 24 * 3600;
/// Above this many entries, storing a response first sweeps out the expired ones.
pub const CACHE_SWEEP: usize = 4096;

struct Entry {
    /// Empty for a negative answer (NXDOMAIN, or NODATA with an SOA).
    recs: Vec<Rec>,
    /// Set once when stored; a later answer for the key replaces the entry whole.
    expires: Instant,
}

#[derive(Default)]
pub struct Cache {
    entries: HashMap<Key, Entry>,
}

impl Cache {
    /// The records under `key` if they are still valid at `now`; `Some(&[])` is a cached
    /// negative answer, `None` means the cache knows nothing.
    pub fn get(&self, key: &Key, now: Instant) -> Option<&[Rec]> {
        self.entries
            .get(key)
            .filter(|e| e.expires > now)
            .map(|e| e.recs.as_slice())
    }

    /// Stores the groups of one response, each for its TTL (capped at `MAX_TTL`). A group
    /// with TTL 0, or none, is not stored: it answers the lookups waiting for this response
    /// and nobody else.
    pub fn store(&mut self, groups: &Groups, ttls: &Ttls, now: Instant) {
        self.sweep(now);
        for (key, recs) in groups {
            let ttl = ttls.get(key).copied().unwrap_or(0).min(MAX_TTL);
            if ttl > 0 {
                let expires = now + Duration::from_secs(ttl as u64);
                self.entries.insert(
                    key.clone(),
                    Entry {
                        recs: recs.clone(),
                        expires,
                    },
                );
            }
        }
    }

    /// Drops the entries expired at `now`, but only past `CACHE_SWEEP` entries: below that
    /// the memory is not worth a walk over the map on every response.
    fn sweep(&mut self, now: Instant) {
        if self.entries.len() > CACHE_SWEEP {
            self.entries.retain(|_, e| e.expires > now);
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::native::net::dns::record::{A, AAAA, CNAME};

    fn key(name: &str, t: u16) -> Key {
        (name.to_string(), t)
    }

    /// `store` for a single group.
    fn put(c: &mut Cache, k: Key, recs: Vec<Rec>, ttl: u32, now: Instant) {
        let groups = Groups::from([(k.clone(), recs)]);
        let ttls = Ttls::from([(k, ttl)]);
        c.store(&groups, &ttls, now);
    }

    fn a(last: u8) -> Rec {
        Rec::A(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn insert_and_hit() {
        let t0 = Instant::now();
        let mut c = Cache::default();
        assert_eq!(c.get(&key("a.test", A), t0), None);
        put(&mut c, key("a.test", A), vec![a(1), a(2)], 60, t0);
        assert_eq!(c.get(&key("a.test", A), t0), Some(&[a(1), a(2)][..]));
        // Keyed by type too.
        assert_eq!(c.get(&key("a.test", AAAA), t0), None);
        // A later answer for the key replaces the entry.
        put(&mut c, key("a.test", A), vec![a(3)], 60, t0);
        assert_eq!(c.get(&key("a.test", A), t0), Some(&[a(3)][..]));
        c.clear();
        assert_eq!(c.get(&key("a.test", A), t0), None);
    }

    #[test]
    fn ttl_expiry() {
        let t0 = Instant::now();
        let mut c = Cache::default();
        put(&mut c, key("a.test", A), vec![a(1)], 30, t0);
        let k = key("a.test", A);
        assert!(c.get(&k, t0 + Duration::from_secs(29)).is_some());
        // Expired at exactly the TTL, not a moment after.
        assert_eq!(c.get(&k, t0 + Duration::from_secs(30)), None);
        assert_eq!(c.get(&k, t0 + Duration::from_secs(31)), None);
    }

    #[test]
    fn ttl_zero_or_missing_is_not_stored() {
        let t0 = Instant::now();
        let mut c = Cache::default();
        put(&mut c, key("a.test", A), vec![a(1)], 0, t0);
        assert_eq!(c.get(&key("a.test", A), t0), None);
        let groups = Groups::from([(key("b.test", A), vec![a(2)])]);
        c.store(&groups, &Ttls::new(), t0);
        assert_eq!(c.get(&key("b.test", A), t0), None);
    }

    #[test]
    fn negative_entry_expiry() {
        let t0 = Instant::now();
        let mut c = Cache::default();
        put(&mut c, key("nx.test", A), Vec::new(), 5, t0);
        assert_eq!(c.get(&key("nx.test", A), t0), Some(&[][..]));
        assert_eq!(
            c.get(&key("nx.test", A), t0 + Duration::from_secs(4)),
            Some(&[][..])
        );
        assert_eq!(c.get(&key("nx.test", A), t0 + Duration::from_secs(5)), None);
        // A negative answer for one type says nothing about the others.
        assert_eq!(c.get(&key("nx.test", CNAME), t0), None);
    }

    #[test]
    fn max_ttl_cap() {
        let t0 = Instant::now();
        let mut c = Cache::default();
        put(&mut c, key("a.test", A), vec![a(1)], u32::MAX, t0);
        let cap = Duration::from_secs(MAX_TTL as u64);
        assert!(
            c.get(&key("a.test", A), t0 + cap - Duration::from_secs(1))
                .is_some()
        );
        assert_eq!(c.get(&key("a.test", A), t0 + cap), None);
    }

    #[test]
    fn sweep_only_past_the_bound() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(2);
        let fill = |c: &mut Cache, n: usize| {
            let groups: Groups = (0..n)
                .map(|i| (key(&format!("h{i}"), A), vec![a(1)]))
                .collect();
            let ttls: Ttls = groups.keys().map(|k| (k.clone(), 1)).collect();
            c.store(&groups, &ttls, t0);
        };

        // At the bound, expired entries stay until something pushes the map past it.
        let mut c = Cache::default();
        fill(&mut c, CACHE_SWEEP);
        put(&mut c, key("new.test", A), vec![a(2)], 60, later);
        assert_eq!(c.entries.len(), CACHE_SWEEP + 1);

        // Past it, the next store drops every expired entry and keeps the live ones.
        put(&mut c, key("newer.test", A), vec![a(3)], 60, later);
        assert_eq!(c.entries.len(), 2);
        assert!(c.get(&key("new.test", A), later).is_some());
        assert!(c.get(&key("newer.test", A), later).is_some());
    }
}
