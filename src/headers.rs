//! `silly --headers DIR` (docs/cli.md#c-modules): writes the C headers of the Lua built into
//! the binary, unchanged, so that a C module compiles against the very ABI it will be loaded
//! into (the binary exports the functions they declare; build.rs).

use std::path::Path;

use crate::error::Error;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/lua_headers.rs"));
}

/// Writes every header into `dir` (created if missing); returns how many.
pub fn write(dir: &Path) -> Result<usize, Error> {
    crate::error::create_dir(dir)?;
    for (name, text) in embedded::HEADERS {
        crate::error::write_file(&dir.join(name), text)?;
    }
    Ok(embedded::HEADERS.len())
}
