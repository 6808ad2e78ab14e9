//! `silly.time.c`: clocks and timers for `stdlib/silly/time.lua`.
//!
//! Arguments arrive already checked and converted by the Lua wrapper (integer milliseconds,
//! clamped at 0).

use std::time::{SystemTime, UNIX_EPOCH};

use mlua::{Function, Lua, Table, Value};

use crate::runtime::{self, task};

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "now",
        lua.create_function(|_, ()| {
            let ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            Ok(ms as i64)
        })?,
    )?;
    m.set(
        "monotonic",
        lua.create_function(|_, ()| Ok(runtime::get().monotonic_ms()))?,
    )?;
    // sleep(ms) -> MARKER: the Lua wrapper yields it; the task resumes when the time is up.
    m.set(
        "sleep",
        lua.create_function(|_, ms: u64| task::suspend(runtime::get().timers.sleep(ms)))?,
    )?;
    m.set(
        "after",
        lua.create_function(|_, (ms, f, ud): (u64, Function, Value)| {
            Ok(runtime::get().timers.after(ms, f, ud) as i64)
        })?,
    )?;
    m.set(
        "cancel",
        lua.create_function(|_, id: i64| {
            runtime::get().timers.cancel(id as u64);
            Ok(())
        })?,
    )?;
    m.set(
        "pending",
        lua.create_function(|_, ()| Ok(runtime::get().timers.pending()))?,
    )?;
    Ok(m)
}
