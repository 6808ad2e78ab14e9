//! A small pool of worker threads for CPU-heavy work that must not stall the event loop (TLS
//! handshake cryptography). Lua never runs here: a job is a plain `Send` closure, its result
//! comes back to the awaiting task through a channel, which wakes the loop like any I/O.
//!
//! At most one thread per available core. A thread is started when a job finds no idle one,
//! and ends after `IDLE_EXIT` without a job: a thread's malloc cache (glibc's tcache) holds
//! freed chunks scattered over its arena, which `malloc_trim` cannot give back, and only the
//! thread's exit returns them. After a burst of handshakes that was most of what the
//! threads' arenas kept resident (docs/benchmarks.md, the night run of 2026-11-29); an ending
//! thread wakes the loop, whose next idle collection gives those pages back (`ended`). Jobs
//! queue without bound; each is small (one handshake step, about a millisecond).

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::thread;
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send>;

/// How long a thread waits for a job before it ends. Starting one again costs tens of
/// microseconds, against about a millisecond of work per handshake step.
const IDLE_EXIT: Duration = Duration::from_secs(1);

struct Pool {
    state: Mutex<State>,
    job_ready: Condvar,
    max: usize,
    /// Wakes the event loop (the pool is made on its thread, by the first job).
    event_loop: Waker,
}

/// Threads ended so far.
static ENDED: AtomicUsize = AtomicUsize::new(0);

/// How many worker threads have ended so far (wrapping): the loop owes an idle collection
/// when this moved, since the ended threads' freed chunks are now back in their arenas.
pub fn ended() -> usize {
    ENDED.load(Ordering::SeqCst)
}

#[derive(Default)]
struct State {
    jobs: VecDeque<Job>,
    /// Threads started and not yet ended.
    live: usize,
    /// Threads waiting for a job.
    idle: usize,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught: a poisoned lock still holds
        // consistent counts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State::default()),
        job_ready: Condvar::new(),
        max: thread::available_parallelism().map_or(1, |n| n.get()),
        event_loop: Waker::from(super::reactor::notifier()),
    })
}

fn work(pool: &'static Pool) {
    let mut st = pool.lock();
    loop {
        if let Some(job) = st.jobs.pop_front() {
            drop(st);
            // A failing job loses its own result only (see `run`).
            let _ = catch_unwind(AssertUnwindSafe(job));
            st = pool.lock();
            continue;
        }
        st.idle += 1;
        let (guard, waited) = pool
            .job_ready
            .wait_timeout(st, IDLE_EXIT)
            .unwrap_or_else(|e| e.into_inner());
        st = guard;
        st.idle -= 1;
        if waited.timed_out() && st.jobs.is_empty() {
            st.live -= 1;
            drop(st);
            ENDED.fetch_add(1, Ordering::SeqCst);
            pool.event_loop.wake_by_ref();
            return;
        }
    }
}

/// Queues a job and makes sure a thread will take it; gives the job back when no thread runs
/// and none could be started.
fn submit(job: Job) -> Option<Job> {
    let pool = pool();
    let mut st = pool.lock();
    st.jobs.push_back(job);
    if st.jobs.len() <= st.idle {
        pool.job_ready.notify_one();
        return None;
    }
    if st.live >= pool.max {
        return None;
    }
    st.live += 1;
    drop(st);
    let started = thread::Builder::new()
        .name("silly-worker".into())
        .spawn(move || work(pool))
        .is_ok();
    if started {
        return None;
    }
    let mut st = pool.lock();
    st.live -= 1;
    if st.live == 0 {
        // Nobody is left to take it: the newest job is ours.
        return st.jobs.pop_back();
    }
    None
}

/// Runs `f` on a worker thread and waits, without blocking the loop, for its result; on the
/// calling thread if no worker thread runs or could be started. None if `f` panicked.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = async_channel::bounded(1);
    let job: Job = Box::new(move || {
        let _ = tx.send_blocking(f());
    });
    if let Some(job) = submit(job) {
        // The result is in the channel before `recv` is polled.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
    rx.recv().await.ok()
}
