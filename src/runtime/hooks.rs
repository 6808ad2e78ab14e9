//! Hooks: how modules above the runtime take part in its events without the runtime naming
//! them (the runtime is the lower layer; it knows no network module and no REPL).
//!
//! Each hook is a plain `fn()`, registered once at start-up by the module that needs it (see
//! `native::register` and `repl::run`), and called in registration order. A hook must not
//! register hooks itself.

use std::cell::RefCell;

thread_local! {
    /// Called each time a task's coroutine yields or ends: output staged during the run goes
    /// out together (docs/connections.md, "write").
    static TASK_RUN_END: RefCell<Vec<fn()>> = const { RefCell::new(Vec::new()) };
    /// Called by `runtime::exit` before the process ends: nothing a script wrote is lost, and
    /// the terminal is given back as it was found.
    static BEFORE_EXIT: RefCell<Vec<fn()>> = const { RefCell::new(Vec::new()) };
}

/// One list of hooks, as a thread-local.
type HookList = std::thread::LocalKey<RefCell<Vec<fn()>>>;

fn add(list: &'static HookList, f: fn()) {
    list.with(|l| {
        let mut l = l.borrow_mut();
        if !l.iter().any(|g| std::ptr::fn_addr_eq(*g, f)) {
            l.push(f);
        }
    });
}

fn call(list: &'static HookList) {
    list.with(|l| {
        for f in l.borrow().iter() {
            f();
        }
    });
}

/// Registers `f` to run at the end of every task run (once, however often it is registered).
pub fn on_task_run_end(f: fn()) {
    add(&TASK_RUN_END, f);
}

/// Registers `f` to run before the process exits through `runtime::exit`.
pub fn on_exit(f: fn()) {
    add(&BEFORE_EXIT, f);
}

pub(super) fn task_run_ended() {
    call(&TASK_RUN_END);
}

pub(super) fn exiting() {
    call(&BEFORE_EXIT);
}
