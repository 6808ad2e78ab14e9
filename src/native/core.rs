//! `silly.c`: process facts and process exit for `stdlib/silly.lua`.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{Lua, Table};

/// Every argument of the command line, for `silly.env` seeding.
pub static ARGV: OnceLock<Vec<String>> = OnceLock::new();
/// Set when Lua's `warn()` printed something; `silly.exit(0)` then reports 1 (docs/silly.md#exit).
pub static WARNED: AtomicBool = AtomicBool::new(false);

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set("pid", std::process::id())?;
    m.set("version", env!("CARGO_PKG_VERSION"))?;
    m.set("gitsha1", option_env!("SILLY_GIT_SHA1").unwrap_or(""))?;
    m.set(
        "argv",
        lua.create_function(|lua, ()| {
            lua.create_sequence_from(ARGV.get().cloned().unwrap_or_default())
        })?,
    )?;
    m.set(
        "exit",
        lua.create_function(|_, code: i64| -> mlua::Result<()> {
            let mut code = (code & 0xFF) as i32;
            if code == 0 && WARNED.load(Ordering::Relaxed) {
                code = 1;
            }
            crate::runtime::exit(code)
        })?,
    )?;
    Ok(m)
}
