//! `silly.logger.c`: the log (src/log.rs) as `stdlib/silly/logger.lua` uses it.

use mlua::{Lua, Table};

use crate::log::{self, Level};

pub fn open(lua: &Lua) -> mlua::Result<Table> {
    let m = lua.create_table()?;
    m.set(
        "write",
        lua.create_function(|_, (level, body): (u8, mlua::LuaString)| {
            let level = Level::from_u8(level).unwrap_or(Level::Error);
            log::write(level, &body.as_bytes());
            Ok(())
        })?,
    )?;
    m.set(
        "getlevel",
        lua.create_function(|_, ()| Ok(log::level() as u8))?,
    )?;
    m.set(
        "setlevel",
        lua.create_function(|_, n: u8| {
            if let Some(l) = Level::from_u8(n) {
                log::set_level(l);
            }
            Ok(())
        })?,
    )?;
    m.set(
        "reopen",
        lua.create_function(|_, ()| match log::reopen() {
            Ok(b) => Ok((b, None)),
            Err(e) => Ok((false, Some(e.to_string()))),
        })?,
    )?;
    Ok(m)
}
