//! Build script: embeds every Lua file under `stdlib/` into the binary.
//!
//! It writes `$OUT_DIR/stdlib_files.rs`, a table of (module name, path relative to the
//! project root, source) that `src/runtime/stdlib.rs` serves to `require`; and
//! `$OUT_DIR/lua_headers.rs`, the C headers of the Lua compiled into the binary, with the list
//! of its C API functions that the binary exports for C modules (docs/cli.md#c-modules).

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, String, PathBuf)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "lua") {
            let rel = path.strip_prefix(root).expect("path under root");
            let rel_str = rel.to_string_lossy().replace('\\', "/");
            // stdlib/silly/net/tcp.lua -> silly.net.tcp
            let module = rel_str
                .trim_start_matches("stdlib/")
                .trim_end_matches(".lua")
                .replace('/', ".");
            out.push((module, rel_str, path.clone()));
        }
    }
}

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let stdlib = root.join("stdlib");
    println!("cargo:rerun-if-changed=stdlib");
    let mut files = Vec::new();
    collect(&stdlib, &root, &mut files);
    let mut code = String::from("pub static FILES: &[(&str, &str, &[u8])] = &[\n");
    for (module, rel, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    ({module:?}, {rel:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("stdlib_files.rs"), code).expect("write stdlib_files.rs");
    write_lua_tests(&root, &out_dir);
    rustls_version(&root);
    lua_api(&out_dir);
}

/// The headers installed by `silly --headers` are the very files the vendored Lua was compiled
/// with: mlua-sys copies them into its include directory and announces it (DEP_LUA_INCLUDE).
const LUA_HEADERS: [&str; 5] = ["lua.h", "luaconf.h", "lualib.h", "lauxlib.h", "lua.hpp"];

/// Embeds the Lua headers, exports the Lua C API from the binary, and sets `SILLY_LUA_RELEASE`.
///
/// C modules loaded with `require` (`package.cpath`) are linked against no Lua library: their
/// `lua_*`/`luaL_*` references resolve to the binary's own. So the binary must put exactly the
/// API functions in its dynamic symbol table (a dynamic list, not `--export-dynamic`, which
/// would export every Rust symbol too), and must contain all of them: `--undefined` pulls each
/// one out of the static Lua library and keeps it from `--gc-sections`, even when nothing in
/// silly calls it.
fn lua_api(out_dir: &Path) {
    let include = PathBuf::from(
        env::var("DEP_LUA_INCLUDE").expect("mlua-sys (vendored) sets DEP_LUA_INCLUDE"),
    );
    let mut code = String::from("pub static HEADERS: &[(&str, &[u8])] = &[\n");
    let mut names = BTreeSet::new();
    let mut lua_h = String::new();
    for file in LUA_HEADERS {
        let path = include.join(file);
        let Ok(text) = fs::read_to_string(&path) else {
            continue; // lua.hpp is not shipped by every Lua release
        };
        println!("cargo:rerun-if-changed={}", path.display());
        code.push_str(&format!(
            "    ({file:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
        api_names(&text, &mut names);
        if file == "lua.h" {
            lua_h = text;
        }
    }
    code.push_str("];\n");
    fs::write(out_dir.join("lua_headers.rs"), code).expect("write lua_headers.rs");

    let dynlist = out_dir.join("lua_api.dynlist");
    let mut text = String::from("{\n");
    for n in &names {
        text.push_str(&format!("  {n};\n"));
    }
    text.push_str("};\n");
    fs::write(&dynlist, text).expect("write lua_api.dynlist");
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--dynamic-list={}",
        dynlist.display()
    );
    let undefined: Vec<String> = names.iter().map(|n| format!("--undefined={n}")).collect();
    println!("cargo:rustc-link-arg-bins=-Wl,{}", undefined.join(","));

    let number = |key: &str| -> String {
        lua_h
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix("#define")?.trim().strip_prefix(key)?;
                rest.starts_with(char::is_whitespace).then_some(rest)
            })
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("lua.h defines no {key}"))
    };
    println!(
        "cargo:rustc-env=SILLY_LUA_RELEASE=Lua {}.{}.{}",
        number("LUA_VERSION_MAJOR_N"),
        number("LUA_VERSION_MINOR_N"),
        number("LUA_VERSION_RELEASE_N")
    );
}

/// The functions a Lua header declares for C code: `LUA_API int (lua_gettop) (lua_State *L);`
/// and the likes with `LUALIB_API`/`LUAMOD_API`, each name in parentheses; and the one data
/// symbol, `extern const char lua_ident[];`.
fn api_names(header: &str, names: &mut BTreeSet<String>) {
    for line in header.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("extern const char ") {
            names.insert(rest.trim_end_matches("[];").to_string());
            continue;
        }
        if !["LUA_API ", "LUALIB_API ", "LUAMOD_API "]
            .iter()
            .any(|m| line.starts_with(m))
        {
            continue;
        }
        let name = line
            .split('(')
            .nth(1)
            .and_then(|s| s.split(')').next())
            .map(str::trim)
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if let Some(n) = name.filter(|n| n.starts_with("lua")) {
            names.insert(n.to_string());
        }
    }
}

/// The rustls version Cargo.lock pins, as `SILLY_RUSTLS_VERSION` for `silly -v` (docs/cli.md).
fn rustls_version(root: &Path) {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find_map(|entry| {
            let mut lines = entry.lines().map(str::trim);
            lines.find(|l| *l == "name = \"rustls\"")?;
            let v = lines.find(|l| l.starts_with("version = "))?;
            Some(
                v.trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SILLY_RUSTLS_VERSION={version}");
}

/// One `#[test]` per `tests/lua/*.lua` script (except the `testaux*.lua` helpers), for `tests/it/lua_scripts.rs`.
fn write_lua_tests(root: &Path, out_dir: &Path) {
    let dir = root.join("tests/lua");
    println!("cargo:rerun-if-changed=tests/lua");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".lua") && !n.starts_with("testaux"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::new();
    for n in names {
        let ident: String = n
            .trim_end_matches(".lua")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        code.push_str(&format!(
            "#[test]\nfn lua_{ident}() {{\n    run_lua_test({n:?});\n}}\n"
        ));
    }
    fs::write(out_dir.join("lua_tests.rs"), code).expect("write lua_tests.rs");
}
