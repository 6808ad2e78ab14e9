//! Timers: one min-heap of deadlines for `time.sleep` and `time.after`, served by one executor
//! future (`drive`) that sleeps on a single `async_io::Timer` armed for the earliest deadline.
//!
//! Ordering: entries are keyed by (deadline, id) and ids grow monotonically, so timers due at the
//! same moment fire in the order they were created (DECISIONS.md C9).
//!
//! Cancellation is O(1): `cancel` removes the entry from `entries` and leaves its heap key behind;
//! `drive` skips keys without an entry. The heap is rebuilt when stale keys outnumber live ones,
//! so arming and cancelling forever cannot grow memory without bound.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use async_io::Timer;
use mlua::{Function, Value};

use crate::runtime::{self, task};

enum Action {
    /// A sleeping task: set `fired` and wake it.
    Wake(Rc<SleepSlot>),
    /// A `time.after` callback and its argument, run as a new task.
    Call(Function, Value),
}

#[derive(Default)]
struct SleepSlot {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

#[derive(Default)]
pub struct Timers {
    heap: RefCell<BinaryHeap<Reverse<(Instant, u64)>>>,
    /// Live timers by id. A heap key without an entry here was cancelled or has fired.
    entries: RefCell<HashMap<u64, Action>>,
    /// Timers that fired but whose callback task has not started yet (a cancel can still stop
    /// them, contract core.md §4.2).
    fired_calls: RefCell<HashMap<u64, (Function, Value)>>,
    next_id: Cell<u64>,
    /// The deadline `drive` sleeps until, if any.
    armed: Cell<Option<Instant>>,
    /// The waker of `drive`, woken when a timer earlier than `armed` is added.
    driver: RefCell<Option<Waker>>,
}

impl Timers {
    fn insert(&self, ms: u64, action: Action) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let deadline = Instant::now() + Duration::from_millis(ms);
        self.heap.borrow_mut().push(Reverse((deadline, id)));
        self.entries.borrow_mut().insert(id, action);
        if self.armed.get().is_none_or(|a| deadline < a)
            && let Some(w) = self.driver.borrow_mut().take()
        {
            w.wake();
        }
        id
    }

    /// Schedules `func(ud)` to run as a new task in `ms` milliseconds; returns the session id.
    pub fn after(&self, ms: u64, func: Function, ud: Value) -> u64 {
        runtime::get().hold_source();
        self.insert(ms, Action::Call(func, ud))
    }

    /// Cancels a pending `after`. Unknown or finished ids are ignored.
    pub fn cancel(&self, id: u64) {
        let removed = match self.entries.borrow_mut().remove(&id) {
            Some(Action::Call(..)) => true,
            Some(other) => {
                // Sleeps are not user-cancellable: put it back.
                self.entries.borrow_mut().insert(id, other);
                false
            }
            None => self.fired_calls.borrow_mut().remove(&id).is_some(),
        };
        if removed {
            self.compact();
            runtime::get().release_source();
        }
    }

    /// Called by a timer task when it starts: the callback, unless cancelled since it fired.
    pub fn take_callback(&self, id: u64) -> Option<(Function, Value)> {
        let call = self.fired_calls.borrow_mut().remove(&id);
        if call.is_some() {
            runtime::get().release_source();
        }
        call
    }

    /// A future that completes `ms` milliseconds from now.
    pub fn sleep(&self, ms: u64) -> task::Op {
        let slot = Rc::new(SleepSlot::default());
        self.insert(ms, Action::Wake(slot.clone()));
        Box::pin(Sleep { slot })
    }

    pub fn pending(&self) -> usize {
        self.entries.borrow().len() + self.fired_calls.borrow().len()
    }

    fn compact(&self) {
        let live = self.entries.borrow().len();
        let mut heap = self.heap.borrow_mut();
        if heap.len() > 1024 && heap.len() > 2 * live {
            let entries = self.entries.borrow();
            heap.retain(|Reverse((_, id))| entries.contains_key(id));
        }
    }

    /// Fires the earliest timer if it is due by `now`. Returns false when none is due.
    fn fire_next(&self, now: Instant) -> bool {
        let id = {
            let mut heap = self.heap.borrow_mut();
            match heap.peek() {
                Some(Reverse((deadline, id))) if *deadline <= now => {
                    let id = *id;
                    heap.pop();
                    id
                }
                _ => return false,
            }
        };
        let action = self.entries.borrow_mut().remove(&id);
        match action {
            None => {}
            Some(Action::Wake(slot)) => {
                slot.fired.set(true);
                if let Some(w) = slot.waker.borrow_mut().take() {
                    w.wake();
                }
            }
            Some(Action::Call(func, ud)) => {
                self.fired_calls.borrow_mut().insert(id, (func, ud));
                let rt = runtime::get();
                let spawned = rt
                    .tasks
                    .entry()
                    .ok_or_else(|| mlua::Error::runtime("no task entry"))
                    .and_then(|entry| task::spawn(&rt.lua, &entry, task::Start::Timer(id)));
                match spawned {
                    Ok((_, handle)) => handle.detach(),
                    Err(e) => {
                        self.take_callback(id);
                        crate::native::logger::write_rust(
                            crate::native::logger::Level::Error,
                            &format!("cannot start timer task: {e}"),
                        );
                    }
                }
            }
        }
        true
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.heap.borrow().peek().map(|Reverse((d, _))| *d)
    }
}

struct Sleep {
    slot: Rc<SleepSlot>,
}

impl Future for Sleep {
    type Output = mlua::Result<mlua::MultiValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.slot.fired.get() {
            Poll::Ready(Ok(mlua::MultiValue::new()))
        } else {
            *self.slot.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The timer driver: runs for the life of the process.
pub async fn drive() {
    let rt = runtime::get();
    let timers = &rt.timers;
    let mut timer = Timer::never();
    loop {
        // Each expiry is its own event (core.md §1.2, §4.5): after one timer fires, everything
        // it made ready runs before the next due timer fires, so a task it wakes can still
        // cancel that timer.
        let now = Instant::now();
        while timers.fire_next(now) {
            futures_lite::future::yield_now().await;
            let mut spins = 0;
            while rt.tasks.ready() > 0 && spins < 64 {
                futures_lite::future::yield_now().await;
                spins += 1;
            }
        }
        let next = timers.next_deadline();
        timers.armed.set(next);
        match next {
            Some(at) => timer.set_at(at),
            None => timer = Timer::never(),
        }
        std::future::poll_fn(|cx| {
            if timers.next_deadline() != timers.armed.get() {
                // A new timer sits before the one we are armed for.
                return Poll::Ready(());
            }
            *timers.driver.borrow_mut() = Some(cx.waker().clone());
            Pin::new(&mut timer).poll(cx).map(|_| ())
        })
        .await;
    }
}
