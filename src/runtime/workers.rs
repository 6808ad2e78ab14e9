//! A small pool of worker threads for CPU-heavy work that must not stall the event loop (TLS
//! handshake cryptography). Lua never runs here: a job is a plain `Send` closure, its result
//! comes back to the awaiting task through a channel, which wakes the loop like any I/O.
//!
//! One thread per available core (at least one), started on first use. Jobs queue without
//! bound; each is small (one handshake step, about a millisecond).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::thread;

type Job = Box<dyn FnOnce() + Send>;

/// The job queue; None when not a single worker thread could be started.
fn queue() -> Option<&'static async_channel::Sender<Job>> {
    static QUEUE: OnceLock<Option<async_channel::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = async_channel::unbounded::<Job>();
            let n = thread::available_parallelism().map_or(1, |n| n.get());
            let started = (0..n)
                .filter(|i| {
                    let rx = rx.clone();
                    thread::Builder::new()
                        .name(format!("silly-worker-{i}"))
                        .spawn(move || {
                            while let Ok(job) = rx.recv_blocking() {
                                // A failing job loses its own result only (see `run`).
                                let _ = catch_unwind(AssertUnwindSafe(job));
                            }
                        })
                        .is_ok()
                })
                .count();
            (started > 0).then_some(tx)
        })
        .as_ref()
}

/// Runs `f` on a worker thread and waits, without blocking the loop, for its result; on the
/// calling thread if no worker thread could be started. None if `f` panicked.
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let Some(queue) = queue() else {
        return catch_unwind(AssertUnwindSafe(f)).ok();
    };
    let (tx, rx) = async_channel::bounded(1);
    let job: Job = Box::new(move || {
        let _ = tx.send_blocking(f());
    });
    queue.send(job).await.ok()?;
    rx.recv().await.ok()
}
