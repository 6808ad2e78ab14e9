//! The runtime: one Lua state, one single-threaded smol executor, and the bookkeeping that
//! decides when the process is done.
//!
//! Every Lua task is a coroutine driven by one future on the `LocalExecutor` (see `task.rs`).
//! Timers (`timer.rs`), sockets and signals are further futures on the same executor; they wake
//! task futures through ordinary `Waker`s, so the executor's FIFO run queue is the ready queue.
//!
//! The process ends by itself when nothing can happen any more (docs/cli.md#process-lifetime): no task is
//! ready, running or blocked in an operation (`Tasks::active`), and no handle that could wake one
//! is open (`sources`). Tasks still parked in `task.wait()` at that point are a deadlock.

pub mod hooks;
pub mod reactor;
pub mod stdlib;
pub mod task;
pub mod timer;
pub mod timer_heap;
pub mod workers;

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use async_executor::LocalExecutor;
use mlua::Lua;

use crate::error::Error;

/// Ends the process at once with `code`, after the exit hooks (staged output, the terminal):
/// `silly.exit`, a fatal signal, the end of the main script (docs/silly.md, "exit").
pub fn exit(code: i32) -> ! {
    hooks::exiting();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // std::process::exit calls libc's exit, which also flushes C stdio (Lua's io.write).
    std::process::exit(code)
}

/// How the event loop ended when it ran out of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Nothing left at all: exit 0.
    Done,
    /// This many tasks wait in `task.wait()` and nothing can wake them.
    Deadlock(usize),
}

pub struct Runtime {
    pub lua: Lua,
    pub executor: LocalExecutor<'static>,
    pub tasks: task::Tasks,
    pub timers: timer::Timers,
    /// When the process started; `time.monotonic()` counts from here.
    pub start: Instant,
    /// Open handles that can still wake a task: pending `time.after` timers, sockets,
    /// listeners, a pending REPL line. Incremented when one opens, decremented (through
    /// `release_source`) when it closes.
    sources: Cell<usize>,
    /// Things that can wake a task parked in `task.wait()` but keep no process alive on their
    /// own (registered signal handlers): with one of them, parked tasks are not a deadlock,
    /// the process waits. Changed by `set_waker`.
    wakers: Cell<usize>,
    /// The future waiting for the loop to become idle, woken whenever a counter reaches zero.
    idle_waker: RefCell<Option<Waker>>,
    /// The Lua heap's size after the last idle collection (`collect_idle`).
    idle_gc_mark: Cell<usize>,
    /// `tasks.ended()` at the last idle collection.
    idle_gc_ended: Cell<usize>,
    /// `workers::ended()` at the last idle collection.
    idle_gc_workers: Cell<usize>,
}

/// How long the loop must have had nothing to do before it collects (`collect_idle`).
const IDLE_GC_AFTER: std::time::Duration = std::time::Duration::from_millis(250);
/// How much the Lua heap must have grown since the last idle collection for another.
const IDLE_GC_GROWTH: usize = 1 << 20;
/// How many tasks must have ended since the last idle collection for another, whether or not
/// the heap grew: a collection made while connections were held found their memory live, and
/// when they close it becomes garbage without a byte allocated. A connection's task leaves
/// about 1 to 3 KiB of Lua garbage, so this is of the order of `IDLE_GC_GROWTH`.
const IDLE_GC_TASKS: usize = 256;

/// One open handle that keeps the process alive (a socket, a listener, a pending timer, a
/// handshake in flight). Dropping it releases the handle, on every path out of its owner.
#[must_use = "the handle is released as soon as the guard is dropped"]
pub struct SourceGuard(());

impl Drop for SourceGuard {
    fn drop(&mut self) {
        // Guards live in futures and objects the runtime owns; when the runtime itself goes
        // (the thread's locals being destroyed at exit) there is nothing left to tell.
        let _ = RUNTIME.try_with(|r| {
            if let Some(rt) = r.get() {
                rt.release_source();
            }
        });
    }
}

thread_local! {
    static RUNTIME: OnceCell<Rc<Runtime>> = const { OnceCell::new() };
}

/// The runtime of this thread. Natives call this; it exists from `Runtime::install` on.
pub fn get() -> Rc<Runtime> {
    RUNTIME.with(|r| {
        // Natives are only reachable from Lua code, which only runs after `install`.
        r.get()
            .cloned()
            .expect("runtime used before it was installed")
    })
}

/// The runtime of this thread, if it is installed and not being torn down (for destructors,
/// which can run while the thread's locals are destroyed at exit).
pub fn try_get() -> Option<Rc<Runtime>> {
    RUNTIME.try_with(|r| r.get().cloned()).ok().flatten()
}

impl Runtime {
    /// Creates the runtime for this thread and makes it reachable through `get()`.
    pub fn install(lua: Lua) -> Result<Rc<Runtime>, Error> {
        let rt = Rc::new(Runtime {
            lua,
            executor: LocalExecutor::new(),
            tasks: task::Tasks::default(),
            timers: timer::Timers::default(),
            start: Instant::now(),
            sources: Cell::new(0),
            wakers: Cell::new(0),
            idle_waker: RefCell::new(None),
            idle_gc_mark: Cell::new(0),
            idle_gc_ended: Cell::new(0),
            idle_gc_workers: Cell::new(0),
        });
        RUNTIME
            .with(|r| r.set(rt.clone()))
            .map_err(|_| Error::Internal("runtime installed twice".into()))?;
        Ok(rt)
    }

    /// Counts a new handle that keeps the process alive until the guard is dropped.
    pub fn hold_source(&self) -> SourceGuard {
        self.sources.set(self.sources.get() + 1);
        SourceGuard(())
    }

    /// Forgets a handle counted by `hold_source`.
    fn release_source(&self) {
        self.sources.set(self.sources.get().saturating_sub(1));
        self.check_idle();
    }

    /// Counts one more (`on`) or one fewer thing that can wake a parked task (see `wakers`).
    pub fn set_waker(&self, on: bool) {
        let n = self.wakers.get();
        self.wakers
            .set(if on { n + 1 } else { n.saturating_sub(1) });
        self.check_idle();
    }

    /// Wakes the idle watcher if nothing can make progress any more.
    pub fn check_idle(&self) {
        if self.is_idle()
            && let Some(w) = self.idle_waker.borrow_mut().take()
        {
            w.wake();
        }
    }

    fn is_idle(&self) -> bool {
        self.tasks.active() == 0 && self.sources.get() == 0
    }

    /// Resolves once the loop has nothing left to do.
    pub fn idle(&self) -> impl Future<Output = Idle> + '_ {
        std::future::poll_fn(move |cx| {
            let waiting = self.tasks.waiting();
            // Parked tasks with something that can still wake them (a signal handler): the
            // process waits for it, and `set_waker` or the woken task checks again.
            if self.is_idle() && (waiting == 0 || self.wakers.get() == 0) {
                Poll::Ready(if waiting == 0 {
                    Idle::Done
                } else {
                    Idle::Deadlock(waiting)
                })
            } else {
                *self.idle_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    /// Runs the executor on this thread until `until` resolves: run what is ready, then sleep
    /// in the reactor's epoll until a socket edge, the earliest timer or a wake from another
    /// thread (reactor.rs explains why the loop owns its one level of waiting).
    pub fn block_on<T>(&self, until: impl Future<Output = T>) -> T {
        let notifier = reactor::notifier();
        let waker = Waker::from(notifier.clone());
        let mut cx = Context::from_waker(&waker);
        let mut run = std::pin::pin!(self.executor.run(until));
        loop {
            notifier.reset();
            if let Poll::Ready(v) = run.as_mut().poll(&mut cx) {
                return v;
            }
            let asleep = Instant::now();
            let mut timeout = self.timers.time_to_next(asleep);
            let owed = self.lua.used_memory() > self.idle_gc_mark.get() + IDLE_GC_GROWTH
                || self.tasks.ended().wrapping_sub(self.idle_gc_ended.get()) >= IDLE_GC_TASKS
                || workers::ended() != self.idle_gc_workers.get();
            if owed {
                timeout = Some(timeout.map_or(IDLE_GC_AFTER, |t| t.min(IDLE_GC_AFTER)));
            }
            reactor::wait(timeout);
            if owed && !notifier.is_notified() && asleep.elapsed() >= IDLE_GC_AFTER {
                self.collect_idle();
            }
            self.timers.wake_if_due(Instant::now());
        }
    }

    /// A full collection while nothing happens, and the C heap's free memory given back:
    /// Lua collects only as allocation paces it, so the garbage of connections that closed
    /// stays (and keeps its memory) while a server waits for new ones.
    fn collect_idle(&self) {
        self.tasks.trim();
        self.timers.shrink();
        reactor::shrink();
        let _ = self.lua.gc_collect();
        // A dead object with a finalizer (every connection's userdata) is kept through the
        // cycle that runs its `__gc`, and so is all it references: the second cycle frees them.
        let _ = self.lua.gc_collect();
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only gives free pages of the C heap back to the system.
        unsafe {
            libc::malloc_trim(0);
        }
        self.idle_gc_mark.set(self.lua.used_memory());
        self.idle_gc_ended.set(self.tasks.ended());
        self.idle_gc_workers.set(workers::ended());
    }

    /// Milliseconds since the process started.
    pub fn monotonic_ms(&self) -> i64 {
        self.start.elapsed().as_millis() as i64
    }
}
