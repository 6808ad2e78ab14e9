//! Tasks: Lua coroutines driven by futures on the executor, and the yield protocol.
//!
//! A task is one Lua coroutine plus one executor future (`drive`) that resumes it. The coroutine
//! suspends for the runtime only by yielding the private `MARKER` value, right after a native call
//! has told this module why through `Task::pending`:
//!
//! * `Pending::Op(future)`: a native operation (sleep, read, accept ...). `drive` awaits the
//!   future and resumes the coroutine with its results.
//! * `Pending::Wait`: `task.wait()`. `drive` parks until `task.wakeup` hands over a value.
//!
//! Any other yield reaching the task level (a bare `coroutine.yield()`) is treated as `sleep(0)`:
//! the task goes to the back of the run queue and the yield returns nothing. Yields of user
//! coroutines nested inside a task never get here: `stdlib/silly/internal/coroutine.lua` wraps
//! `coroutine.resume`/`wrap` so that a `MARKER` yield from inside them is passed up to the task and
//! the answer passed back down (docs/task.md#user-coroutines).
//!
//! mlua's async support is not used at all, so its poll marker cannot reach user code.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use mlua::{Function, IntoLuaMulti, LightUserData, Lua, MultiValue, Thread, Value};

use crate::runtime;

/// A native operation a task waits on; its output becomes the results of the Lua call.
pub type Op = Pin<Box<dyn Future<Output = mlua::Result<MultiValue>>>>;

static MARKER_BYTE: u8 = 0;

/// The private value a task yields to suspend for the runtime.
pub fn marker() -> LightUserData {
    LightUserData(&MARKER_BYTE as *const u8 as *mut c_void)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Queued to run (forked or woken, not yet resumed).
    Ready,
    /// Running, or suspended in a native operation (sleep, read ...), as the reference reports.
    Run,
    /// Suspended in `task.wait()`: the only state `wakeup` accepts.
    Wait,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ready => "READY",
            Status::Run => "RUN",
            Status::Wait => "WAIT",
        }
    }
}

/// Why the coroutine is about to yield `MARKER`. Set by a native right before the yield.
#[derive(Default)]
pub enum Pending {
    #[default]
    None,
    Wait,
    Op(Op),
}

pub struct Task {
    pub thread: Thread,
    /// Changed by `drive` (Run, Wait) and by `wakeup`/`fork` (Ready).
    status: Cell<Status>,
    /// The value `wakeup` hands to the task's `wait()`; taken when it resumes.
    wake_value: RefCell<Option<Value>>,
    /// The waker of `drive` while parked in `Wait`.
    waker: RefCell<Option<Waker>>,
    /// Set by a native right before the coroutine yields `MARKER`; taken by `drive`.
    pending: RefCell<Pending>,
    /// The coroutine goes back to the pool when the task ends normally (see `spawn_pooled`).
    pooled: bool,
}

impl Task {
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// Records what the next `MARKER` yield of this task waits for.
    pub fn set_pending(&self, p: Pending) {
        *self.pending.borrow_mut() = p;
    }
}

/// The set of live tasks and the counters the idle check reads.
#[derive(Default)]
pub struct Tasks {
    /// Live tasks by coroutine address; an entry is removed when its task ends.
    live: RefCell<HashMap<usize, Rc<Task>>>,
    /// The task whose coroutine is being resumed right now.
    current: RefCell<Option<Rc<Task>>>,
    /// How many tasks are in each state (the idle check and `task.readycount()` read them).
    counts: Cell<Counts>,
    /// Tasks ended since the process started (wrapping): the idle collection compares it with
    /// the figure at its last run, since an ended task leaves garbage without allocating.
    ended: Cell<usize>,
    /// The Lua function every ordinary task coroutine starts in (from `silly.task`): it runs the
    /// user function under `xpcall` and logs an escaping error.
    entry: RefCell<Option<Function>>,
    /// `task.hook`: called with each new task's coroutine, and with each task's coroutine when
    /// it ends. Set and cleared only by `set_hooks`.
    hooks: RefCell<Hooks>,
    /// A hook is running: tasks it creates or ends do not call hooks again (no recursion).
    in_hook: Cell<bool>,
    /// Finished coroutines of `spawn_pooled` tasks, ready for the next one (at most
    /// `POOL_MAX`; emptied when the process goes idle).
    pool: RefCell<Vec<Thread>>,
}

/// Coroutines kept for reuse at most: enough for the tasks a busy server starts and ends
/// between two idle moments (an HTTP/2 connection runs up to 128 streams at once).
const POOL_MAX: usize = 256;

/// The functions of `task.hook`.
#[derive(Default, Clone)]
pub struct Hooks {
    pub create: Option<Function>,
    pub term: Option<Function>,
}

impl Tasks {
    /// For the idle collection: lets the pooled coroutines go (the collection frees them) and
    /// gives back the room a past peak of tasks left in the live map.
    pub fn trim(&self) {
        self.pool.borrow_mut().clear();
        self.live.borrow_mut().shrink_to_fit();
    }

    pub fn active(&self) -> usize {
        self.counts.get().active
    }

    pub fn waiting(&self) -> usize {
        self.counts.get().waiting
    }

    /// Applies one state change to the counts.
    fn count(&self, change: fn(&mut Counts)) {
        let mut c = self.counts.get();
        change(&mut c);
        self.counts.set(c);
    }

    /// How many tasks have ended so far, wrapping at `usize::MAX`.
    pub fn ended(&self) -> usize {
        self.ended.get()
    }

    pub fn ready(&self) -> usize {
        self.counts.get().ready
    }

    pub fn set_entry(&self, f: Function) {
        *self.entry.borrow_mut() = Some(f);
    }

    pub fn entry(&self) -> Option<Function> {
        self.entry.borrow().clone()
    }

    pub fn set_hooks(&self, hooks: Hooks) {
        *self.hooks.borrow_mut() = hooks;
    }

    /// Calls a hook of `task.hook` with `thread`. Its error is logged: a hook must not stop
    /// a task from being created or from ending.
    fn call_hook(&self, which: &str, thread: &Thread) {
        let hooks = self.hooks.borrow();
        let f = match which {
            "create" => hooks.create.clone(),
            _ => hooks.term.clone(),
        };
        drop(hooks);
        let Some(f) = f else { return };
        if self.in_hook.replace(true) {
            return;
        }
        let r = f.call::<()>(thread.clone());
        self.in_hook.set(false);
        if let Err(e) = r {
            crate::log::message(
                crate::log::Level::Error,
                &format!("task hook '{which}' failed: {e}"),
            );
        }
    }

    /// The task whose code is running now, if any.
    pub fn current(&self) -> Option<Rc<Task>> {
        self.current.borrow().clone()
    }

    pub fn find(&self, thread: &Thread) -> Option<Rc<Task>> {
        self.live
            .borrow()
            .get(&(thread.to_pointer() as usize))
            .cloned()
    }

    /// A snapshot of the live tasks, for `task.inspect()`.
    pub fn all(&self) -> Vec<Rc<Task>> {
        self.live.borrow().values().cloned().collect()
    }
}

/// How a new task's coroutine starts.
pub enum Start {
    /// Resume with these arguments.
    Args(MultiValue),
    /// A `time.after` timer: start only if the timer was not cancelled in the meantime,
    /// then call `entry(fn, ud)` with what the timer holds.
    Timer(u64),
}

/// Creates a task running `entry` and queues it. The returned handle may be awaited (the REPL
/// does) or detached.
pub fn spawn(
    lua: &Lua,
    entry: &Function,
    start: Start,
) -> mlua::Result<(Thread, async_executor::Task<()>)> {
    spawn_with(lua, entry, start, false)
}

/// `spawn` on a coroutine a finished task left, when there is one, and leaving this task's
/// coroutine for the next when it ends normally: a new coroutine costs a dozen allocations
/// (the thread, its stack, one call frame per level as it first goes deeper) and work for
/// the collector. Only for tasks whose coroutine no API hands out (connection and stream
/// handlers): a script that kept a finished task's coroutine could otherwise wake a stranger.
pub fn spawn_pooled(
    lua: &Lua,
    entry: &Function,
    start: Start,
) -> mlua::Result<(Thread, async_executor::Task<()>)> {
    spawn_with(lua, entry, start, true)
}

fn spawn_with(
    lua: &Lua,
    entry: &Function,
    start: Start,
    pooled: bool,
) -> mlua::Result<(Thread, async_executor::Task<()>)> {
    let rt = runtime::get();
    let reused = if pooled {
        let thread = rt.tasks.pool.borrow_mut().pop();
        // A pooled coroutine ended normally, so `reset` (clear the stack, push `entry`) holds.
        thread.filter(|t| t.reset(entry.clone()).is_ok())
    } else {
        None
    };
    let thread = match reused {
        Some(t) => t,
        None => lua.create_thread(entry.clone())?,
    };
    let task = Rc::new(Task {
        thread: thread.clone(),
        status: Cell::new(Status::Ready),
        wake_value: RefCell::new(None),
        waker: RefCell::new(None),
        pending: RefCell::new(Pending::None),
        pooled,
    });
    rt.tasks
        .live
        .borrow_mut()
        .insert(thread.to_pointer() as usize, task.clone());
    rt.tasks.count(Counts::spawned);
    let handle = rt.executor.spawn(drive(task, start));
    rt.tasks.call_hook("create", &thread);
    Ok((thread, handle))
}

/// Suspends the calling task on `op`: the one way a native waits. It returns the value the
/// native hands back to its Lua wrapper, which yields it (the private marker); the task is
/// resumed with the op's results. Outside a task this is an error.
pub fn suspend(op: Op) -> mlua::Result<Value> {
    current()?.set_pending(Pending::Op(op));
    Ok(Value::LightUserData(marker()))
}

/// The task running the calling Lua code, or the error a suspending call raises outside one.
pub fn current() -> mlua::Result<Rc<Task>> {
    runtime::get()
        .tasks
        .current()
        .ok_or_else(|| mlua::Error::runtime("attempt to suspend outside a task"))
}

/// `task.wait()`'s native half: checks the state and records the wait.
pub fn prepare_wait(task: &Task) -> Result<(), String> {
    match task.status.get() {
        Status::Run => {
            task.set_pending(Pending::Wait);
            Ok(())
        }
        s => Err(format!("BUG: wait on task stat:{}", s.name())),
    }
}

/// `task.wakeup(t, v)`: makes a task parked in `wait()` ready, to receive `v`.
pub fn wakeup(thread: &Thread, value: Value) -> Result<(), String> {
    let rt = runtime::get();
    let Some(task) = rt.tasks.find(thread) else {
        return Err("BUG: wakeup on task stat:nil".to_string());
    };
    if task.status.get() != Status::Wait {
        return Err(format!(
            "BUG: wakeup on task stat:{}",
            task.status.get().name()
        ));
    }
    task.status.set(Status::Ready);
    *task.wake_value.borrow_mut() = Some(value);
    let t = &rt.tasks;
    t.count(Counts::woken);
    if let Some(w) = task.waker.borrow_mut().take() {
        w.wake();
    }
    Ok(())
}

/// Parks until `wakeup` makes the task ready; yields the handed-over value.
fn woken(task: &Task) -> impl Future<Output = Value> + '_ {
    std::future::poll_fn(move |cx| {
        if task.status.get() == Status::Wait {
            *task.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(task.wake_value.borrow_mut().take().unwrap_or(Value::Nil))
        }
    })
}

/// Drives one task's coroutine to its end.
async fn drive(task: Rc<Task>, start: Start) {
    let rt = runtime::get();
    let mut args = match start {
        Start::Args(args) => args,
        Start::Timer(id) => match rt.timers.take_callback(id) {
            Some((func, ud)) => {
                // The callback gets its `ud`, or the session id when `ud` is falsy.
                let ud = match ud {
                    Value::Nil | Value::Boolean(false) => Value::Integer(id as i64),
                    v => v,
                };
                MultiValue::from_vec(vec![Value::Function(func), ud])
            }
            None => {
                // Cancelled after it was due but before it ran.
                rt.tasks.count(Counts::run);
                finish(&rt, &task);
                return;
            }
        },
    };
    loop {
        if task.status.get() == Status::Ready {
            rt.tasks.count(Counts::run);
        }
        task.status.set(Status::Run);
        *rt.tasks.current.borrow_mut() = Some(task.clone());
        let result = task.thread.resume::<MultiValue>(args);
        *rt.tasks.current.borrow_mut() = None;
        // What the task wrote in this run leaves now, together (see `Stream::write`).
        super::hooks::task_run_ended();
        let yielded = match result {
            Ok(values) => values,
            Err(e) => {
                // The entry function catches every error of user code; what arrives here is a
                // failure of the entry itself (out of memory, error in the error handler).
                crate::log::message(
                    crate::log::Level::Error,
                    &format!("task failed outside its error handler: {e}"),
                );
                break;
            }
        };
        if !task.thread.is_resumable() {
            finish(&rt, &task);
            if task.pooled {
                let mut pool = rt.tasks.pool.borrow_mut();
                if pool.len() < POOL_MAX {
                    pool.push(task.thread.clone());
                }
            }
            return;
        }
        let pending = std::mem::take(&mut *task.pending.borrow_mut());
        let is_marker = matches!(yielded.front(), Some(Value::LightUserData(p)) if *p == marker());
        args = match (is_marker, pending) {
            (true, Pending::Op(op)) => match op.await {
                Ok(values) => values,
                // An operation's own failures are values; an Err is a failure to build them.
                Err(e) => (Value::Nil, e.to_string())
                    .into_lua_multi(&rt.lua)
                    .unwrap_or_default(),
            },
            (true, Pending::Wait) => {
                task.status.set(Status::Wait);
                let t = &rt.tasks;
                t.count(Counts::parked);
                rt.check_idle();
                let v = woken(&task).await;
                MultiValue::from_vec(vec![v])
            }
            // A bare `coroutine.yield()` at task level: give others a turn, then go on.
            _ => {
                futures_lite::future::yield_now().await;
                MultiValue::new()
            }
        };
    }
    finish(&rt, &task);
}

/// Ends a task whose `drive` future was dropped before its coroutine finished (the REPL cancels
/// an entry on Ctrl-C this way). The operation it waited on (a timer, a socket read) went with
/// the future; this does the bookkeeping `drive` would have done at the end, then closes the
/// coroutine, which runs its pending to-be-closed variables. A task that has ended is left alone.
pub fn abandon(lua: &Lua, thread: &Thread) {
    let rt = runtime::get();
    let Some(task) = rt.tasks.find(thread) else {
        return;
    };
    match task.status.get() {
        Status::Ready => rt.tasks.count(Counts::run),
        Status::Run => {}
        Status::Wait => rt.tasks.count(Counts::unparked),
    }
    task.waker.borrow_mut().take();
    finish(&rt, &task);
    let closed = lua
        .create_function(|_, ()| Ok(()))
        .and_then(|noop| thread.reset(noop));
    if let Err(e) = closed {
        crate::log::message(
            crate::log::Level::Error,
            &format!("closing a cancelled task failed: {e}"),
        );
    }
}

fn finish(rt: &runtime::Runtime, task: &Task) {
    rt.tasks.call_hook("term", &task.thread);
    rt.tasks
        .live
        .borrow_mut()
        .remove(&(task.thread.to_pointer() as usize));
    rt.tasks.count(Counts::ended);
    rt.tasks.ended.set(rt.tasks.ended.get().wrapping_add(1));
    rt.check_idle();
}

/// The task counts as a plain value: each method is one state change of one task.
/// Invariants: `ready <= active` (a ready task is active), and every count stays >= 0 as
/// long as the changes follow a task's life: spawned, then (run, parked, woken)*, ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Tasks not parked in `wait()`: ready, running or blocked in a native operation.
    pub active: usize,
    /// Tasks parked in `wait()`.
    pub waiting: usize,
    /// Tasks forked or woken and not yet resumed (`task.readycount()`).
    pub ready: usize,
}

impl Counts {
    /// A new task, queued to run.
    pub fn spawned(&mut self) {
        self.active += 1;
        self.ready += 1;
    }

    /// A ready task starts running (or is dropped before it could, a cancelled timer task).
    pub fn run(&mut self) {
        self.ready -= 1;
    }

    /// A running task parks in `wait()`.
    pub fn parked(&mut self) {
        self.active -= 1;
        self.waiting += 1;
    }

    /// A parked task is abandoned (it is active again only to end at once).
    pub fn unparked(&mut self) {
        self.waiting -= 1;
        self.active += 1;
    }

    /// `wakeup` makes a parked task ready.
    pub fn woken(&mut self) {
        self.waiting -= 1;
        self.active += 1;
        self.ready += 1;
    }

    /// A task ended (it was active: running, or dropped while still ready).
    pub fn ended(&mut self) {
        self.active -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    fn apply(changes: &[fn(&mut Counts)]) -> Counts {
        let mut c = Counts::default();
        for change in changes {
            change(&mut c);
            assert!(c.ready <= c.active, "{c:?}");
        }
        c
    }

    #[test]
    fn a_task_that_runs_to_its_end_leaves_nothing() {
        let c = apply(&[Counts::spawned, Counts::run, Counts::ended]);
        assert_eq!(c, Counts::default());
    }

    #[test]
    fn a_parked_task_is_waiting_not_active() {
        let c = apply(&[Counts::spawned, Counts::run, Counts::parked]);
        assert_eq!((c.active, c.waiting, c.ready), (0, 1, 0));
        let c = apply(&[Counts::spawned, Counts::run, Counts::parked, Counts::woken]);
        assert_eq!((c.active, c.waiting, c.ready), (1, 0, 1));
    }

    #[test]
    fn an_abandoned_task_leaves_nothing_in_any_state() {
        // As `abandon` applies them: from READY, RUN and WAIT.
        // READY (not yet resumed) and RUN end the same way: `run` is applied for READY.
        let ready = apply(&[Counts::spawned, Counts::run, Counts::ended]);
        let parked = &[Counts::spawned, Counts::run, Counts::parked];
        let waiting = apply(&[parked as &[_], &[Counts::unparked, Counts::ended]].concat());
        let woken = &[Counts::spawned, Counts::run, Counts::parked, Counts::woken];
        let rewoken = apply(&[woken as &[_], &[Counts::run, Counts::ended]].concat());
        for c in [ready, waiting, rewoken] {
            assert_eq!(c, Counts::default());
        }
    }
}
