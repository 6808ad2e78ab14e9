//! Counts of what the network layer holds open and has done, for the runtime collector of
//! `silly.metrics` (docs/metrics.md). They are plain per-thread integers (the loop's thread
//! owns every connection): keeping one costs an increment where the event happens, and
//! `silly.metrics.c` reads them all at once when a scrape asks.

use std::cell::Cell;

/// A snapshot of the counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Plain TCP connections whose socket is open (`stream.rs` holds an `Open` guard).
    pub tcp_open: u64,
    /// TLS connections whose socket is open, after their handshake.
    pub tls_open: u64,
    /// TLS handshakes started, server and client side.
    pub handshakes: u64,
    /// TLS handshakes that failed, timed out or were abandoned before they ended.
    pub handshake_failures: u64,
}

thread_local! {
    static COUNTS: Cell<Counts> = const {
        Cell::new(Counts { tcp_open: 0, tls_open: 0, handshakes: 0, handshake_failures: 0 })
    };
}

/// The counts now.
pub fn snapshot() -> Counts {
    COUNTS.try_with(Cell::get).unwrap_or_default()
}

fn update(change: impl FnOnce(&mut Counts)) {
    // A guard dropped while the thread's locals are torn down at exit has nobody to tell.
    let _ = COUNTS.try_with(|c| {
        let mut n = c.get();
        change(&mut n);
        c.set(n);
    });
}

/// The transport of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Tls,
}

/// One open connection, counted while the guard lives: the stream drops it together with its
/// transport.
pub struct Open(Kind);

impl Open {
    pub fn new(kind: Kind) -> Open {
        update(|c| match kind {
            Kind::Tcp => c.tcp_open += 1,
            Kind::Tls => c.tls_open += 1,
        });
        Open(kind)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let kind = self.0;
        update(|c| match kind {
            Kind::Tcp => c.tcp_open = c.tcp_open.saturating_sub(1),
            Kind::Tls => c.tls_open = c.tls_open.saturating_sub(1),
        });
    }
}

/// One TLS handshake, counted when it starts. Dropped before `succeeded` (an error, a timeout
/// that dropped the handshake's future), it counts as a failure.
pub struct Handshake {
    ok: bool,
}

impl Handshake {
    pub fn start() -> Handshake {
        update(|c| c.handshakes += 1);
        Handshake { ok: false }
    }

    pub fn succeeded(mut self) {
        self.ok = true;
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        if !self.ok {
            update(|c| c.handshake_failures += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_open_connections_and_handshakes() {
        let before = snapshot();
        let tcp = Open::new(Kind::Tcp);
        let tls = Open::new(Kind::Tls);
        assert_eq!(snapshot().tcp_open, before.tcp_open + 1);
        assert_eq!(snapshot().tls_open, before.tls_open + 1);
        drop(tcp);
        drop(tls);
        Handshake::start().succeeded();
        drop(Handshake::start());
        let after = snapshot();
        assert_eq!(after.tcp_open, before.tcp_open);
        assert_eq!(after.tls_open, before.tls_open);
        assert_eq!(after.handshakes, before.handshakes + 2);
        assert_eq!(after.handshake_failures, before.handshake_failures + 1);
    }
}
