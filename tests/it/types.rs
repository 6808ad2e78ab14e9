//! `silly --types DIR` (docs/cli.md#editor-support): a definition file for every public module,
//! each one valid Lua that declares every function and field the real module has, and a
//! `.luarc.json` naming the runtime version and the directory.

use std::path::Path;
use std::time::Duration;

use crate::common::{root, run, temp_dir};

const LIMIT: Duration = Duration::from_secs(30);

/// The public modules of the repository's stdlib/ (no `internal` part in the name).
fn public_modules(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read stdlib") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "internal" {
                public_modules(&path, &format!("{prefix}{name}."), out);
            }
        } else if let Some(stem) = name.strip_suffix(".lua") {
            out.push(format!("{prefix}{stem}"));
        }
    }
}

/// Run by silly for each module: the definition file must compile, and each key of the real
/// module must be declared in it (a function, method or field of the module table, a `---@field`
/// of its class, or a map type for a table of values); `_private` keys are not.
const CHECK: &str = r#"
local dir, module = ...
local path = dir .. "/" .. module:gsub("%.", "/") .. ".lua"
local f, err = loadfile(path)
if not f then
	print("does not compile: " .. err)
	return
end
local text = io.open(path):read("a")
local t = text:match("\nreturn (%w+)\n$")
local map = text:find("---@type table<string, ", 1, true)
local missing = {}
local real = require(module)
if type(real) ~= "table" then
	print(text:find("\nreturn function(", 1, true) and "ok" or "not declared as a function")
	return
end
for k in pairs(real) do
	if type(k) == "string" and k:match("^[%a][%w_]*$") and not map then
		local declared = text:find("function " .. t .. "." .. k .. "(", 1, true)
			or text:find("function " .. t .. ":" .. k .. "(", 1, true)
			or text:find("\n" .. t .. "." .. k .. " = ", 1, true)
			or text:find("\n\t" .. k .. " = ", 1, true)
			or text:find("---@field " .. k .. " ", 1, true)
		if not declared then
			missing[#missing + 1] = k
		end
	end
end
table.sort(missing)
print(#missing == 0 and "ok" or "missing: " .. table.concat(missing, " "))
"#;

#[test]
fn types_cover_every_public_module() {
    let dir = temp_dir("types");
    let out = run(&["--types", dir.to_str().unwrap()], "", LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut modules = Vec::new();
    public_modules(&root().join("stdlib"), "", &mut modules);
    assert!(modules.len() > 15, "{modules:?}");
    for module in &modules {
        let file = dir.join(format!("{}.lua", module.replace('.', "/")));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("{module}: no file"));
        assert!(text.starts_with("---@meta\n"), "{module}: {text}");
        let out = run(
            &["-e", CHECK, "-", dir.to_str().unwrap(), module],
            "",
            LIMIT,
        );
        assert_eq!(out.stdout, "ok\n", "{module}: {out:?}");
    }
    assert!(!dir.join("silly/internal").exists(), "no silly.internal.*");
    let luarc = std::fs::read_to_string(dir.join(".luarc.json")).expect(".luarc.json");
    assert!(
        luarc.contains("\"runtime.version\": \"Lua 5.5\""),
        "{luarc}"
    );
    assert!(
        luarc.contains(&format!("\"workspace.library\": [\"{}\"]", dir.display())),
        "{luarc}"
    );
}

#[test]
fn types_into_an_unwritable_place_fails() {
    let out = run(&["--types", "/proc/silly-types"], "", LIMIT);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .starts_with("silly: cannot create /proc/silly-types"),
        "{out:?}"
    );
}
