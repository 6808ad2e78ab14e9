//! `silly.task.c`: task creation, wait/wakeup and introspection for `stdlib/silly/task.lua`.

use mlua::{Function, Lua, MultiValue, Table, Thread, Value};

use crate::runtime::{self, task};

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("marker", Value::LightUserData(task::marker()))?;
    // Sets the function every task coroutine starts in: entry(fn, ud).
    m.set(
        "setentry",
        lua.create_function(|_, f: Function| {
            runtime::get().tasks.set_entry(f);
            Ok(())
        })?,
    )?;
    // Sets (or, with nils, clears) the create/term hooks of `task.hook`.
    m.set(
        "sethooks",
        lua.create_function(|_, (create, term): (Option<Function>, Option<Function>)| {
            runtime::get().tasks.set_hooks(task::Hooks { create, term });
            Ok(())
        })?,
    )?;
    m.set(
        "fork",
        lua.create_function(|lua, (f, ud): (Value, Value)| {
            let rt = runtime::get();
            let entry = rt
                .tasks
                .entry()
                .ok_or_else(|| mlua::Error::runtime("silly.task is not loaded"))?;
            let (thread, handle) = task::spawn(
                lua,
                &entry,
                task::Start::Args(MultiValue::from_vec(vec![f, ud])),
            )?;
            handle.detach();
            Ok(thread)
        })?,
    )?;
    m.set(
        "wait",
        // Returns an error message instead of raising, so the Lua wrapper raises a plain string.
        lua.create_function(|_, ()| {
            let t = task::current()?;
            Ok(task::prepare_wait(&t).err())
        })?,
    )?;
    m.set(
        "wakeup",
        lua.create_function(|_, (t, v): (Value, Value)| {
            let Value::Thread(t) = t else {
                return Ok(Some("BUG: wakeup on task stat:nil".to_string()));
            };
            Ok(task::wakeup(&t, v).err())
        })?,
    )?;
    m.set(
        "running",
        lua.create_function(|_, ()| Ok(runtime::get().tasks.current().map(|t| t.thread.clone())))?,
    )?;
    m.set(
        "status",
        lua.create_function(|_, t: Value| {
            let Value::Thread(t) = t else { return Ok(None) };
            Ok(runtime::get().tasks.find(&t).map(|t| t.status().name()))
        })?,
    )?;
    m.set(
        "readycount",
        lua.create_function(|_, ()| Ok(runtime::get().tasks.ready()))?,
    )?;
    // { [thread] = status } of every live task.
    m.set(
        "list",
        lua.create_function(|lua, ()| {
            let out = lua.create_table()?;
            for t in runtime::get().tasks.all() {
                out.set(t.thread.clone(), t.status().name())?;
            }
            Ok(out)
        })?,
    )?;
    // Whether a coroutine is a task (tasks must only be resumed by the runtime).
    m.set(
        "istask",
        lua.create_function(|_, t: Thread| Ok(runtime::get().tasks.find(&t).is_some()))?,
    )?;
    Ok(m)
}
