//! Timers: `time.sleep` and `time.after` on one `TimerHeap` (timer_heap.rs), served by one
//! executor future (`drive`) that fires what is due and parks until the earliest deadline;
//! the loop (`Runtime::block_on`) uses that deadline as its epoll timeout and wakes `drive`
//! when it has passed.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mlua::{Function, Value};

use crate::runtime::timer_heap::TimerHeap;
use crate::runtime::{self, SourceGuard, task};

enum Action {
    /// A sleeping task: set `fired` and wake it.
    Wake(Rc<SleepSlot>),
    /// A `time.after` callback and its argument, run as a new task; pending, it keeps the
    /// process alive.
    Call(Function, Value, SourceGuard),
}

#[derive(Default)]
struct SleepSlot {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

#[derive(Default)]
pub struct Timers {
    heap: RefCell<TimerHeap<Action>>,
    /// Timers that fired but whose callback task has not started yet: a cancel can still stop
    /// them (docs/time.md, "cancel").
    fired_calls: RefCell<HashMap<u64, (Function, Value, SourceGuard)>>,
    /// The deadline `drive` sleeps until, if any.
    armed: Cell<Option<Instant>>,
    /// The waker of `drive`, woken when a timer earlier than `armed` is added.
    driver: RefCell<Option<Waker>>,
}

impl Timers {
    fn insert(&self, ms: u64, action: Action) -> u64 {
        let deadline = Instant::now() + Duration::from_millis(ms);
        let id = self.heap.borrow_mut().insert(deadline, action);
        if self.armed.get().is_none_or(|a| deadline < a)
            && let Some(w) = self.driver.borrow_mut().take()
        {
            w.wake();
        }
        id
    }

    /// Schedules `func(ud)` to run as a new task in `ms` milliseconds; returns the session id.
    pub fn after(&self, ms: u64, func: Function, ud: Value) -> u64 {
        let source = runtime::get().hold_source();
        self.insert(ms, Action::Call(func, ud, source))
    }

    /// Cancels a pending `after`. Unknown or finished ids, and sleeps, are ignored. The
    /// removed entry (and with it its hold on the process) is dropped outside the borrows.
    pub fn cancel(&self, id: u64) {
        let is_call = matches!(self.heap.borrow().get(id), Some(Action::Call(..)));
        if is_call {
            let entry = self.heap.borrow_mut().remove(id);
            drop(entry);
        } else {
            let fired = self.fired_calls.borrow_mut().remove(&id);
            drop(fired);
        }
    }

    /// Called by a timer task when it starts: the callback, unless cancelled since it fired.
    pub fn take_callback(&self, id: u64) -> Option<(Function, Value)> {
        let call = self.fired_calls.borrow_mut().remove(&id);
        call.map(|(func, ud, _source)| (func, ud))
    }

    /// A future that completes `ms` milliseconds from now.
    pub fn sleep(&self, ms: u64) -> task::Op {
        let slot = Rc::new(SleepSlot::default());
        self.insert(ms, Action::Wake(slot.clone()));
        Box::pin(Sleep { slot })
    }

    pub fn pending(&self) -> usize {
        self.heap.borrow().len() + self.fired_calls.borrow().len()
    }

    /// Fires the earliest timer if it is due by `now`. Returns false when none is due.
    fn fire_next(&self, now: Instant) -> bool {
        let Some((id, action)) = self.heap.borrow_mut().pop_due(now) else {
            return false;
        };
        match action {
            Action::Wake(slot) => {
                slot.fired.set(true);
                if let Some(w) = slot.waker.borrow_mut().take() {
                    w.wake();
                }
            }
            Action::Call(func, ud, source) => {
                self.fired_calls.borrow_mut().insert(id, (func, ud, source));
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
                        crate::log::message(
                            crate::log::Level::Error,
                            &format!("cannot start timer task: {e}"),
                        );
                    }
                }
            }
        }
        true
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.heap.borrow_mut().next_deadline()
    }

    /// Gives back the room a past peak of timers left (the idle collection).
    pub fn shrink(&self) {
        self.heap.borrow_mut().shrink();
        self.fired_calls.borrow_mut().shrink_to_fit();
    }

    /// How long the loop may sleep before the earliest timer is due; None: no timer.
    pub fn time_to_next(&self, now: Instant) -> Option<Duration> {
        self.armed.get().map(|at| at.saturating_duration_since(now))
    }

    /// Wakes the driver if the deadline it parked for has passed.
    pub fn wake_if_due(&self, now: Instant) {
        if self.armed.get().is_some_and(|at| at <= now) {
            let driver = self.driver.borrow_mut().take();
            if let Some(w) = driver {
                w.wake();
            }
        }
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

/// The time limit of one operation (a read, a connect, a flush ...): the one rule for every
/// timeout. The operation is always polled before the limit is looked at, so a limit of 0
/// means "only if it can be done at once"; None is no limit.
///
/// It lives on the runtime's own timer heap (no lock, no syscall), and leaves it when
/// dropped: an operation that finishes in time costs an insert and a removal.
pub struct Deadline(Limit);

enum Limit {
    None,
    Expired,
    Armed(u64, Rc<SleepSlot>),
}

impl Deadline {
    pub fn after_ms(ms: Option<u64>) -> Deadline {
        Deadline(match ms {
            None => Limit::None,
            Some(0) => Limit::Expired,
            Some(ms) => {
                let slot = Rc::new(SleepSlot::default());
                let id = runtime::get().timers.insert(ms, Action::Wake(slot.clone()));
                Limit::Armed(id, slot)
            }
        })
    }

    /// True once the limit has passed; otherwise the task is woken when it does.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        match &self.0 {
            Limit::None => false,
            Limit::Expired => true,
            Limit::Armed(_, slot) => {
                if slot.fired.get() {
                    return true;
                }
                let mut w = slot.waker.borrow_mut();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                false
            }
        }
    }
}

impl Drop for Deadline {
    /// Takes the entry off the heap. Should that not be possible (the runtime being torn down,
    /// or the heap busy firing), the entry stays until its time and then wakes nobody.
    fn drop(&mut self) {
        if let Limit::Armed(id, slot) = &self.0
            && !slot.fired.get()
            && let Some(rt) = runtime::try_get()
            && let Ok(mut heap) = rt.timers.heap.try_borrow_mut()
        {
            let entry = heap.remove(*id);
            drop(heap);
            drop(entry);
        }
    }
}

/// Completes `ms` milliseconds from now (for native code; scripts use `Timers::sleep`).
pub async fn sleep_ms(ms: u64) {
    let mut deadline = Deadline::after_ms(Some(ms));
    std::future::poll_fn(|cx| {
        if deadline.poll_expired(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// Runs `fut` under a `Deadline` of `ms`; None when the limit passed first.
pub async fn with_timeout<T>(ms: Option<u64>, fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = std::pin::pin!(fut);
    let mut deadline = Deadline::after_ms(ms);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if deadline.poll_expired(cx) {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// The timer driver: runs for the life of the process.
pub async fn drive() {
    let rt = runtime::get();
    let timers = &rt.timers;
    loop {
        // Each expiry is its own event (docs/task.md#scheduling, docs/time.md#order): after one timer fires, everything
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
        timers.armed.set(timers.next_deadline());
        std::future::poll_fn(|cx| {
            let armed = timers.armed.get();
            if timers.next_deadline() != armed {
                // A new timer sits before the one we are armed for.
                return Poll::Ready(());
            }
            if armed.is_some_and(|at| at <= Instant::now()) {
                return Poll::Ready(());
            }
            *timers.driver.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}
