//! The one error type of the Rust side. Errors reach the user only through `main.rs`.

use std::fmt;
use std::path::Path;

#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A script or `-e` chunk could not be read or compiled: one line for the user.
    Load(String),
    /// The Lua state refused an operation during boot.
    Lua(mlua::Error),
    /// Anything else the runtime could not do (signal set-up, a second runtime ...).
    Internal(String),
    /// A file of `--types` or `--headers` could not be written: "cannot write <path>: <reason>".
    Write(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(msg) => write!(f, "{msg}"),
            Error::Lua(e) => write!(f, "{e}"),
            Error::Internal(msg) => write!(f, "{msg}"),
            Error::Write(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error::Lua(e)
    }
}

/// The OS's text for an I/O error, without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Creates `dir` and its parents, as `Error::Write` on failure.
pub fn create_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::Write(format!(
            "cannot create {}: {}",
            dir.display(),
            io_reason(&e)
        ))
    })
}

/// Writes a whole file, as `Error::Write` on failure.
pub fn write_file(path: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(path, data).map_err(|e| {
        Error::Write(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })
}
