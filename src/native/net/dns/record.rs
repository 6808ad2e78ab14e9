//! The vocabulary every part of the resolver shares: the record types it understands, the
//! (owner, type) key that hosts table, cache and answers are indexed by, and the CNAME hop
//! limit that bounds both the answer collection and the lookup's chase.
//!
//! It sits at the bottom of the module graph (it uses nothing of the resolver's) so that
//! config, cache, flight and wire can all speak it without depending on one another.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const A: u16 = 1;
pub const CNAME: u16 = 5;
pub const AAAA: u16 = 28;
pub const SRV: u16 = 33;

/// CNAME hops one lookup follows before it gives up.
pub const MAX_HOPS: usize = 100;

/// One record of a type this resolver understands.
#[derive(Debug, Clone, PartialEq)]
pub enum Rec {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
}

/// (owner name, type): the owner normalised (lowercase, no trailing dot) so that every
/// spelling of a name meets the same entry.
pub type Key = (String, u16);

/// Records by (owner, type) from one response; an empty list is a negative answer.
pub type Groups = HashMap<Key, Vec<Rec>>;

/// The smallest TTL the response gave each group of `Groups`.
pub type Ttls = HashMap<Key, u32>;

pub fn ip_rec(ip: IpAddr) -> Rec {
    match ip {
        IpAddr::V4(v4) => Rec::A(v4),
        IpAddr::V6(v6) => Rec::Aaaa(v6),
    }
}
