//! Flights: one query on the wire per (server, name, type), however many lookups ask for it
//! at once (singleflight). A burst of tasks resolving the same name then costs one socket
//! and one exchange, and they all get the same answer.
//!
//! A flight ends in one of three ways: its exchange finishes (`finish`), `dns.conf` ends it
//! (`cancel`), or the last lookup waiting for it gives up (dropping its `FlightWait`) and the
//! query is stopped, since an answer nobody reads is not worth a socket. That last case must
//! also take the flight out of the resolver's table and may charge its server; the resolver
//! lives above this module, so it hands each flight the function to call (`Abandon`) rather
//! than this module reaching up for it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::record::Groups;
use crate::native::net::error::DnsError;

/// (index of the server in the configuration, name, type).
pub type FlightKey = (usize, String, u16);

/// What a flight hands its waiters: the groups of the answer, or the error.
pub type Outcome = Result<Groups, DnsError>;

/// Called when the last waiter leaves an unfinished flight, with whether an attempt went
/// unanswered meanwhile (the flight outlived one per-attempt timeout).
pub type Abandon = fn(&Rc<Flight>, bool);

/// A query on the wire and the lookups waiting for it.
pub struct Flight {
    st: RefCell<FlightState>,
    pub key: FlightKey,
    started: Instant,
    per_try: Duration,
    abandon: Abandon,
}

struct FlightState {
    /// Set once the flight ends, by `finish` or `cancel`; from then on every poll answers it.
    done: Option<Outcome>,
    wakers: Vec<Waker>,
    /// Lookups waiting: `wait` adds one, dropping a `FlightWait` takes it away; the last one
    /// to leave an unfinished flight cancels it.
    waiters: usize,
    /// The exchange; dropping it cancels the query (and closes its socket). Set by the
    /// resolver right after spawning, taken by `cancel` or the last waiter.
    task: Option<async_executor::Task<()>>,
}

impl Flight {
    pub fn new(key: FlightKey, per_try: Duration, abandon: Abandon) -> Rc<Flight> {
        Rc::new(Flight {
            st: RefCell::new(FlightState {
                done: None,
                wakers: Vec::new(),
                waiters: 0,
                task: None,
            }),
            key,
            started: Instant::now(),
            per_try,
            abandon,
        })
    }

    /// Hands the flight the task running its exchange, so that it can stop it.
    pub fn set_task(&self, task: async_executor::Task<()>) {
        self.st.borrow_mut().task = Some(task);
    }

    /// One more lookup waiting for this flight.
    pub fn wait(self: &Rc<Self>) -> FlightWait {
        self.st.borrow_mut().waiters += 1;
        FlightWait {
            flight: self.clone(),
        }
    }

    /// The exchange's outcome, for every waiter.
    pub fn finish(&self, out: Outcome) {
        let mut st = self.st.borrow_mut();
        st.done = Some(out);
        for w in st.wakers.drain(..) {
            w.wake();
        }
    }

    /// Ends the flight with `err` and stops its exchange.
    pub fn cancel(&self, err: DnsError) {
        let mut st = self.st.borrow_mut();
        st.done = Some(Err(err));
        st.task = None;
        for w in st.wakers.drain(..) {
            w.wake();
        }
    }
}

/// The flights on the wire. A flight leaves when it ends or is abandoned; `cancel_all` ends
/// them all at once.
#[derive(Default)]
pub struct Flights {
    map: HashMap<FlightKey, Rc<Flight>>,
}

impl Flights {
    pub fn get(&self, key: &FlightKey) -> Option<&Rc<Flight>> {
        self.map.get(key)
    }

    pub fn insert(&mut self, flight: Rc<Flight>) {
        self.map.insert(flight.key.clone(), flight);
    }

    /// Removes `flight` if it is still the one under its key (after `cancel_all` a new flight
    /// may have taken the key, and that one must stay); returns whether it did.
    pub fn remove(&mut self, flight: &Rc<Flight>) -> bool {
        if self
            .map
            .get(&flight.key)
            .is_some_and(|f| Rc::ptr_eq(f, flight))
        {
            self.map.remove(&flight.key);
            return true;
        }
        false
    }

    pub fn cancel_all(&mut self, err: DnsError) {
        for (_, f) in self.map.drain() {
            f.cancel(err.clone());
        }
    }
}

/// A lookup waiting for a flight.
pub struct FlightWait {
    flight: Rc<Flight>,
}

impl Future for FlightWait {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.flight.st.borrow_mut();
        if let Some(r) = &st.done {
            return Poll::Ready(r.clone());
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for FlightWait {
    fn drop(&mut self) {
        let f = &self.flight;
        let task = {
            let Ok(mut st) = f.st.try_borrow_mut() else {
                return;
            };
            st.waiters -= 1;
            if st.waiters > 0 || st.done.is_some() {
                return;
            }
            st.task.take()
        };
        // Nobody waits any more: stop asking. An attempt that went unanswered counts against
        // the server, as a finished timeout would, so that later queries fail over.
        let unanswered = f.started.elapsed() >= f.per_try;
        (f.abandon)(f, unanswered);
        // Only now: the exchange is cancelled outside every borrow above.
        drop(task);
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use futures_lite::future;

    use super::*;

    thread_local! {
        /// What the abandon hook saw: calls, and the last `unanswered`.
        static ABANDONED: Cell<(usize, bool)> = const { Cell::new((0, false)) };
    }

    fn hook(_: &Rc<Flight>, unanswered: bool) {
        ABANDONED.with(|a| a.set((a.get().0 + 1, unanswered)));
    }

    /// A flight whose hook starts counting from zero (tests may share a thread).
    fn flight(per_try: Duration) -> Rc<Flight> {
        ABANDONED.with(|a| a.set((0, false)));
        Flight::new((0, "a.test".into(), 1), per_try, hook)
    }

    #[test]
    fn every_waiter_gets_the_outcome() {
        let f = flight(Duration::from_secs(5));
        let mut w1 = f.wait();
        let mut w2 = f.wait();
        assert!(future::block_on(future::poll_once(&mut w1)).is_none());
        f.finish(Err(DnsError::ServerFailure));
        assert_eq!(future::block_on(&mut w1), Err(DnsError::ServerFailure));
        assert_eq!(future::block_on(&mut w2), Err(DnsError::ServerFailure));
        // Leaving a finished flight abandons nothing.
        drop((w1, w2));
        assert_eq!(ABANDONED.with(Cell::get).0, 0);
    }

    #[test]
    fn the_last_waiter_to_leave_abandons() {
        let f = flight(Duration::from_secs(5));
        let w1 = f.wait();
        let w2 = f.wait();
        drop(w1);
        assert_eq!(ABANDONED.with(Cell::get), (0, false));
        drop(w2);
        assert_eq!(ABANDONED.with(Cell::get), (1, false));

        // Past one per-attempt timeout, leaving says an attempt went unanswered.
        let f = flight(Duration::ZERO);
        drop(f.wait());
        assert_eq!(ABANDONED.with(Cell::get), (1, true));
    }

    #[test]
    fn cancel_all_ends_every_flight() {
        let mut fl = Flights::default();
        let f = flight(Duration::from_secs(5));
        fl.insert(f.clone());
        let w = f.wait();
        fl.cancel_all(DnsError::Reconfigured);
        assert!(fl.get(&f.key).is_none());
        assert_eq!(future::block_on(w), Err(DnsError::Reconfigured));
        assert_eq!(ABANDONED.with(Cell::get).0, 0);
    }

    #[test]
    fn remove_spares_a_newer_flight_under_the_key() {
        let mut fl = Flights::default();
        let old = flight(Duration::from_secs(5));
        let new = flight(Duration::from_secs(5));
        fl.insert(new.clone());
        assert!(!fl.remove(&old));
        assert!(fl.get(&new.key).is_some_and(|f| Rc::ptr_eq(f, &new)));
        assert!(fl.remove(&new));
        assert!(fl.get(&new.key).is_none());
    }
}
