//! `silly.signal.c`: OS signals delivered to Lua handlers (docs/signal.md).
//!
//! A signal, once watched, stays caught for the life of the process (signal-hook cannot give the
//! OS default back). What happens on delivery is decided here: with a Lua handler registered
//! (`sethandled`), the Lua dispatcher runs in a new task, once per delivery; without one, the
//! default is emulated: terminating signals exit with 128+signo, SIGUSR1 re-opens the log file,
//! the rest are ignored.
//!
//! SIGINT and SIGTERM are watched from the start so that the default exit goes through the loop
//! (flushing what the process holds). If the loop is stuck in a Lua busy loop, a second one of
//! them ends the process from the signal handler itself.
//!
//! The REPL takes SIGINT over (`take_sigint`): a delivery then interrupts the running entry
//! instead of exiting. Deliveries are also counted in the handler itself (`sigint_count`), so the
//! REPL's instruction hook can see one while an entry holds the loop in a busy loop.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use async_signal::{Signal, Signals};
use futures_lite::StreamExt;
use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::log;
use crate::runtime::{self, task};

/// Every signal name scripts may use, with its number and its watchable form (None: the OS
/// does not let it be caught, or catching it would hide a crash).
const SIGNALS: &[(&str, i32, Option<Signal>)] = &[
    ("SIGHUP", libc::SIGHUP, Some(Signal::Hup)),
    ("SIGINT", libc::SIGINT, Some(Signal::Int)),
    ("SIGQUIT", libc::SIGQUIT, Some(Signal::Quit)),
    ("SIGILL", libc::SIGILL, None),
    ("SIGTRAP", libc::SIGTRAP, Some(Signal::Trap)),
    ("SIGABRT", libc::SIGABRT, Some(Signal::Abort)),
    ("SIGBUS", libc::SIGBUS, None),
    ("SIGFPE", libc::SIGFPE, None),
    ("SIGKILL", libc::SIGKILL, None),
    ("SIGUSR1", libc::SIGUSR1, Some(Signal::Usr1)),
    ("SIGSEGV", libc::SIGSEGV, None),
    ("SIGUSR2", libc::SIGUSR2, Some(Signal::Usr2)),
    ("SIGPIPE", libc::SIGPIPE, Some(Signal::Pipe)),
    ("SIGALRM", libc::SIGALRM, Some(Signal::Alarm)),
    ("SIGTERM", libc::SIGTERM, Some(Signal::Term)),
    ("SIGCHLD", libc::SIGCHLD, Some(Signal::Child)),
    ("SIGCONT", libc::SIGCONT, Some(Signal::Cont)),
    ("SIGSTOP", libc::SIGSTOP, None),
    ("SIGTSTP", libc::SIGTSTP, Some(Signal::Tstp)),
    ("SIGTTIN", libc::SIGTTIN, Some(Signal::Ttin)),
    ("SIGTTOU", libc::SIGTTOU, Some(Signal::Ttou)),
    ("SIGURG", libc::SIGURG, Some(Signal::Urg)),
    ("SIGXCPU", libc::SIGXCPU, Some(Signal::Xcpu)),
    ("SIGXFSZ", libc::SIGXFSZ, Some(Signal::Xfsz)),
    ("SIGVTALRM", libc::SIGVTALRM, Some(Signal::Vtalarm)),
    ("SIGPROF", libc::SIGPROF, Some(Signal::Prof)),
    ("SIGWINCH", libc::SIGWINCH, Some(Signal::Winch)),
    ("SIGPOLL", libc::SIGIO, Some(Signal::Io)),
    ("SIGSYS", libc::SIGSYS, Some(Signal::Sys)),
];

/// Whether a Lua handler is registered, by signal number.
static HANDLED: [AtomicBool; 32] = [const { AtomicBool::new(false) }; 32];
/// Deliveries of SIGINT/SIGTERM not yet acted on without a handler (for the forced exit).
static UNHANDLED_SEEN: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];
/// SIGINTs delivered since the start, counted in the signal handler (see `sigint_count`).
static SIGINTS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The watched set, shared between `watch` (adds) and `drive` (reads).
    static SET: RefCell<Option<Signals>> = const { RefCell::new(None) };
    /// The Lua function that runs the registered handler: dispatch(name).
    static DISPATCH: RefCell<Option<Function>> = const { RefCell::new(None) };
    /// Set by `take_sigint`: SIGINT is told to the REPL instead of ending the process.
    static REPL_SIGINT: RefCell<Option<async_channel::Sender<()>>> = const { RefCell::new(None) };
}

/// How many SIGINTs were delivered so far. Counted in the signal handler, so it moves even
/// while a busy task holds the loop.
pub fn sigint_count() -> u64 {
    SIGINTS.load(Ordering::SeqCst)
}

/// Makes SIGINT the REPL's: a delivery no longer ends the process; `to` gets a message for it
/// (deliveries close together may share one when `to` is bounded), and a Lua handler, if one
/// is set, runs too.
pub fn take_sigint(to: async_channel::Sender<()>) {
    REPL_SIGINT.with(|r| *r.borrow_mut() = Some(to));
}

fn by_name(name: &str) -> Option<&'static (&'static str, i32, Option<Signal>)> {
    SIGNALS.iter().find(|(n, _, _)| *n == name)
}

fn by_number(n: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|(_, m, _)| *m == n)
        .map(|(name, _, _)| *name)
}

/// Starts catching a signal. Called at boot for SIGINT/SIGTERM/SIGUSR1 and by `signal()`.
fn watch(sig: Signal) -> std::io::Result<()> {
    SET.with(|s| {
        let mut s = s.borrow_mut();
        match s.as_mut() {
            Some(set) => set.add_signals([sig]),
            None => {
                *s = Some(Signals::new([sig])?);
                Ok(())
            }
        }
    })
}

/// Installs the built-in defaults. Must run before any Lua code.
pub fn init() -> std::io::Result<()> {
    for sig in [Signal::Int, Signal::Term, Signal::Usr1] {
        watch(sig)?;
    }
    for signo in [libc::SIGINT, libc::SIGTERM] {
        let action = move || {
            if signo == libc::SIGINT {
                SIGINTS.fetch_add(1, Ordering::SeqCst);
            }
            let i = signo as usize;
            if !HANDLED[i].load(Ordering::Relaxed)
                && UNHANDLED_SEEN[i].fetch_add(1, Ordering::Relaxed) >= 1
            {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(128 + signo) };
            }
        };
        // SAFETY: the action only touches atomics and calls _exit, both async-signal-safe.
        unsafe { signal_hook_registry::register(signo, action) }?;
    }
    Ok(())
}

/// What a delivered signal does when no Lua handler is registered.
fn default_action(signo: i32) {
    match signo {
        libc::SIGUSR1 => {
            if let Err(e) = log::reopen() {
                log::message(
                    log::Level::Error,
                    &format!("[signal] cannot reopen log file: {e}"),
                );
            }
        }
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT | libc::SIGPIPE => {}
        libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
            // SAFETY: raising SIGSTOP on ourselves stops the process as the default would.
            unsafe { libc::raise(libc::SIGSTOP) };
        }
        _ => crate::runtime::exit(128 + signo),
    }
}

/// The signal driver: runs for the life of the process.
pub async fn drive() {
    loop {
        let next = std::future::poll_fn(|cx| {
            SET.with(|s| match s.borrow_mut().as_mut() {
                Some(set) => set.poll_next(cx),
                None => std::task::Poll::Pending,
            })
        })
        .await;
        let signo = match next {
            Some(Ok(sig)) => sig as i32,
            Some(Err(e)) => {
                log::message(log::Level::Error, &format!("[signal] read failed: {e}"));
                continue;
            }
            None => return,
        };
        let i = signo as usize;
        let repl = if signo == libc::SIGINT {
            REPL_SIGINT.with(|r| r.borrow().clone())
        } else {
            None
        };
        if let Some(repl) = repl {
            UNHANDLED_SEEN[i].store(0, Ordering::Relaxed);
            // Full: the REPL has not taken the previous one yet, which stands for both.
            let _ = repl.try_send(());
            if !HANDLED[i].load(Ordering::Relaxed) {
                continue;
            }
        } else if !HANDLED[i].load(Ordering::Relaxed) {
            UNHANDLED_SEEN[i].store(0, Ordering::Relaxed);
            default_action(signo);
            continue;
        }
        let rt = runtime::get();
        let dispatch = DISPATCH.with(|d| d.borrow().clone());
        let (Some(dispatch), Some(name)) = (dispatch, by_number(signo)) else {
            continue;
        };
        let args = match rt.lua.create_string(name) {
            Ok(n) => MultiValue::from_vec(vec![Value::Function(dispatch), Value::String(n)]),
            Err(_) => continue,
        };
        let spawned = rt
            .tasks
            .entry()
            .ok_or_else(|| mlua::Error::runtime("silly.task is not loaded"))
            .and_then(|entry| task::spawn(&rt.lua, &entry, task::Start::Args(args)));
        match spawned {
            Ok((_, h)) => h.detach(),
            Err(e) => log::message(
                log::Level::Error,
                &format!("[signal] cannot start handler: {e}"),
            ),
        }
    }
}

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    // watch(name) -> signo | nil (unknown name) | nil, err (cannot be caught).
    m.set(
        "watch",
        lua.create_function(|_, name: String| {
            let Some((_, signo, sig)) = by_name(&name) else {
                return Ok((None, None));
            };
            let Some(sig) = sig else {
                return Ok((None, Some(crate::native::errno::text(libc::EINVAL))));
            };
            match watch(*sig) {
                Ok(()) => Ok((Some(*signo), None)),
                Err(e) => Ok((None, Some(crate::native::errno::from_io(&e)))),
            }
        })?,
    )?;
    m.set(
        "sethandled",
        lua.create_function(|_, (signo, on): (i32, bool)| {
            if let Some(flag) = HANDLED.get(signo as usize)
                && flag.swap(on, Ordering::Relaxed) != on
            {
                // A handler can wake a task parked in task.wait(): no deadlock while one is
                // registered (docs/signal.md).
                runtime::get().set_waker(on);
            }
            Ok(())
        })?,
    )?;
    m.set(
        "setdispatch",
        lua.create_function(|_, f: Function| {
            DISPATCH.with(|d| *d.borrow_mut() = Some(f));
            Ok(())
        })?,
    )?;
    m.set(
        "isname",
        lua.create_function(|_, name: String| Ok(by_name(&name).is_some()))?,
    )?;
    Ok(m)
}
