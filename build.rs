//! Build script: embeds every Lua file under `stdlib/` into the binary.
//!
//! It writes `$OUT_DIR/stdlib_files.rs`, a table of (module name, path relative to the
//! project root, source) that `src/runtime/stdlib.rs` serves to `require`.

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
