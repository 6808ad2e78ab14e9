//! One test per `tests/lua/*.lua` script: each runs through the built binary with the helper
//! `tests/lua/testaux.lua` on its path and must end with status 0 and "N passed, 0 failed".

use crate::common::run_lua_test;

include!(concat!(env!("OUT_DIR"), "/lua_tests.rs"));
