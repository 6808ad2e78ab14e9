//! C modules and module search paths (docs/cli.md#c-modules): the binary exports exactly the Lua
//! C API; `silly --headers` writes the headers a C module is compiled against; a module built
//! with `cc` and no Lua library loads through `-C` and `LUA_CPATH_5_5`; `LUA_PATH_5_5`,
//! `LUA_PATH` and `;;` work as in `lua`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{Output, silly, temp_dir, wait_limited};

const LIMIT: Duration = Duration::from_secs(20);

/// The C module of the test: `add` checks two integers, the table is built with `luaL_newlib`
/// and a field set with `lua_setfield`.
const HELLO_C: &str = r#"#include "lua.h"
#include "lauxlib.h"

static int add(lua_State *L) {
	lua_Integer a = luaL_checkinteger(L, 1);
	lua_Integer b = luaL_checkinteger(L, 2);
	lua_pushinteger(L, a + b);
	return 1;
}

static const luaL_Reg funcs[] = {{"add", add}, {NULL, NULL}};

int luaopen_hello(lua_State *L) {
	luaL_newlib(L, funcs);
	lua_pushstring(L, LUA_RELEASE);
	lua_setfield(L, -2, "release");
	return 1;
}
"#;

/// Runs `silly args` with the variables `env` set (and the Lua search variables otherwise unset).
fn silly_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = silly();
    for var in ["LUA_PATH", "LUA_PATH_5_5", "LUA_CPATH", "LUA_CPATH_5_5"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = wait_limited(cmd.spawn().expect("spawn silly"), LIMIT);
    assert!(!out.timed_out, "silly {args:?} timed out\n{out:?}");
    out
}

/// The names build.rs put in the binary's dynamic list.
fn api_list() -> BTreeSet<String> {
    let list = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/lua_api.dynlist"))
        .expect("read the dynamic list");
    list.lines()
        .map(|l| l.trim().trim_end_matches(';'))
        .filter(|n| !n.is_empty() && *n != "{" && *n != "}")
        .map(str::to_string)
        .collect()
}

#[test]
fn binary_exports_exactly_the_lua_api() {
    let api = api_list();
    for name in [
        "lua_setfield",
        "luaL_checkinteger",
        "luaL_setfuncs",
        "luaopen_base",
    ] {
        assert!(api.contains(name), "{name} in the list: {api:?}");
    }
    let out = Command::new("nm")
        .args(["-D", "--defined-only", env!("CARGO_BIN_EXE_silly")])
        .output()
        .expect("run nm (binutils)");
    assert!(out.status.success(), "{out:?}");
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(str::to_string)
        .collect();
    assert_eq!(exported, api, "the dynamic symbols are the API, all of it");
}

/// Writes the headers into `dir/include` and builds `dir/hello.so` against them.
fn build_hello(dir: &Path) {
    let include = dir.join("include");
    let out = silly_env(&["--headers", include.to_str().unwrap()], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for h in ["lua.h", "luaconf.h", "lualib.h", "lauxlib.h"] {
        assert!(include.join(h).is_file(), "{h} written");
    }
    let lua_h = std::fs::read_to_string(include.join("lua.h")).unwrap();
    assert!(
        lua_h.contains("#define LUA_VERSION_MINOR_N\t5"),
        "Lua 5.5 headers"
    );
    std::fs::write(dir.join("hello.c"), HELLO_C).unwrap();
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-I"])
        .arg(&include)
        .arg("-o")
        .arg(dir.join("hello.so"))
        .arg(dir.join("hello.c"))
        .output()
        .expect("run cc");
    assert!(cc.status.success(), "cc: {cc:?}");
}

#[test]
fn c_module_built_against_the_headers_loads() {
    let dir = temp_dir("c-module");
    build_hello(&dir);
    let code = "local h = require 'hello' print(h.add(2, 40), h.release) \
                print(pcall(h.add, 'x', 1))";
    let pattern = format!("{}/?.so", dir.display());
    // The release the embedded lua.h names (build.rs), as the module compiled it in.
    let expected = format!(
        "42\t{}\nfalse\tbad argument #1 to 'hello.add' (number expected, got string)\n",
        env!("SILLY_LUA_RELEASE")
    );
    let out = silly_env(&["-C", &pattern, "-e", code], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, expected);
    let out = silly_env(&["-e", code], &[("LUA_CPATH_5_5", &format!("{pattern};;"))]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, expected);
}

#[test]
fn lua_path_variables_as_in_lua() {
    let dir = temp_dir("lua-path");
    std::fs::write(dir.join("mymod.lua"), "return { answer = 42 }\n").unwrap();
    let pattern = format!("{}/?.lua", dir.display());
    let code = "print(require('mymod').answer) print(package.path)";
    for var in ["LUA_PATH_5_5", "LUA_PATH"] {
        // `;;` stands for the default path, as in `lua`.
        let out = silly_env(&["-e", code], &[(var, &format!("{pattern};;"))]);
        assert_eq!(out.code, Some(0), "{var}: {out:?}");
        let mut lines = out.stdout.lines();
        assert_eq!(lines.next(), Some("42"), "{var}: {out:?}");
        let path = lines.next().unwrap();
        assert!(path.starts_with(&format!("{pattern};")), "{path}");
        assert!(path.contains(";./?.lua;"), "default path kept: {path}");
    }
    // LUA_PATH_5_5 wins over LUA_PATH; -L comes first of all.
    let out = silly_env(
        &["-L", "/from/L", "-e", "print(package.path)"],
        &[
            ("LUA_PATH_5_5", "/five/?.lua"),
            ("LUA_PATH", "/plain/?.lua"),
        ],
    );
    assert_eq!(
        out.stdout, "/from/L/?.lua;/from/L/?/init.lua;/five/?.lua\n",
        "{out:?}"
    );
}
