//! The one error type of the Rust side. Errors reach the user only through `main.rs`.

use std::fmt;

#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A script or `-e` chunk could not be read or compiled: one line for the user.
    Load(String),
    /// The Lua state refused an operation during boot.
    Lua(mlua::Error),
    /// Anything else the runtime could not do (signal set-up, a second runtime ...).
    Internal(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(msg) => write!(f, "{msg}"),
            Error::Lua(e) => write!(f, "{e}"),
            Error::Internal(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error::Lua(e)
    }
}
