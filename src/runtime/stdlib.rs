//! The embedded Lua standard library (`stdlib/`) and the `require` searcher that serves it.
//!
//! The searcher sits right after `package.preload`, so `require "silly.task"` finds the embedded
//! module before anything on disk. Chunk names are the files' real paths (`@stdlib/silly/task.lua`)
//! so tracebacks point at the source. Setting `SILLY_STDLIB_DIR` to a `stdlib/` directory loads
//! the modules from disk instead, so a developer can edit them without rebuilding.

use std::path::PathBuf;

use mlua::{Lua, Table, Value};

mod files {
    include!(concat!(env!("OUT_DIR"), "/stdlib_files.rs"));
}

/// Environment variable naming a `stdlib/` directory to load the Lua modules from.
pub const DIR_ENV: &str = "SILLY_STDLIB_DIR";

/// The source of an embedded (or, with `SILLY_STDLIB_DIR`, on-disk) module and its chunk name.
pub fn source(module: &str) -> Option<(Vec<u8>, String)> {
    let (_, rel, embedded) = files::FILES.iter().find(|(m, _, _)| *m == module)?;
    if let Some(dir) = std::env::var_os(DIR_ENV) {
        let path = PathBuf::from(dir).join(rel.trim_start_matches("stdlib/"));
        if let Ok(src) = std::fs::read(&path) {
            return Some((src, format!("@{}", path.display())));
        }
    }
    Some((embedded.to_vec(), format!("@{rel}")))
}

/// The names of the embedded modules (`silly`, `silly.net.tcp` ...).
pub fn modules() -> impl Iterator<Item = &'static str> {
    files::FILES.iter().map(|(module, _, _)| *module)
}

/// Loads an embedded module's chunk (without running it).
pub fn load(lua: &Lua, module: &str) -> mlua::Result<mlua::Function> {
    let (src, name) = source(module)
        .ok_or_else(|| mlua::Error::runtime(format!("no embedded module '{module}'")))?;
    lua.load(src).set_name(name).into_function()
}

/// Inserts the embedded-stdlib searcher as the second entry of `package.searchers`.
pub fn install_searcher(lua: &Lua) -> mlua::Result<()> {
    let searcher = lua.create_function(|lua, name: String| match source(&name) {
        Some((src, chunkname)) => {
            let f = lua.load(src).set_name(chunkname.clone()).into_function()?;
            Ok((
                Value::Function(f),
                Value::String(lua.create_string(&chunkname[1..])?),
            ))
        }
        None => Ok((
            Value::String(lua.create_string(format!("no embedded module '{name}'"))?),
            Value::Nil,
        )),
    })?;
    let package: Table = lua.globals().get("package")?;
    let searchers: Table = package.get("searchers")?;
    let table: Table = lua.globals().get("table")?;
    let insert: mlua::Function = table.get("insert")?;
    insert.call::<()>((searchers, 2, searcher))?;
    Ok(())
}
