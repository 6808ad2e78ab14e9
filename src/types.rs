//! `silly --types DIR` (docs/cli.md#editor-support): LuaLS definition files of the public
//! `silly.*` modules, made from the annotations the embedded sources carry, and a `.luarc.json`
//! that points the language server at them.
//!
//! A definition file (`---@meta`) keeps what an editor needs of a module and no code: its
//! annotation blocks, the tables they describe (`local conn = {}`), every function declared on
//! the module table or on such a table, with its annotations and an empty body, the module
//! table's fields whose values are literals, and the aliases of declared functions
//! (`M.read = conn.read`). It is cut line by line from the source, which the stdlib's layout
//! (one statement per line, `local M = {}` ... `return M`) makes exact enough; the test
//! `tests/it/types.rs` checks that every public function of every public module is declared.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{Error, create_dir, write_file};
use crate::runtime::stdlib;

/// The `runtime.version` LuaLS knows the language of this runtime by.
const LUALS_VERSION: &str = "Lua 5.5";

/// Private modules: `silly.internal.*` and the `internal` parts of an area
/// (`silly.net.internal.stream`).
fn is_internal(module: &str) -> bool {
    module.split('.').any(|part| part == "internal")
}

/// Writes one definition file per public module under `dir` (`silly/net/tcp.lua` for
/// `silly.net.tcp`, where `require` finds it) and `dir/.luarc.json`; returns the number of files.
pub fn write(dir: &Path) -> Result<usize, Error> {
    let mut public = Vec::new();
    let mut internal = Vec::new();
    for module in stdlib::modules() {
        let Some((src, _)) = stdlib::source(module) else {
            continue;
        };
        let text = definitions(&String::from_utf8_lossy(&src));
        if is_internal(module) {
            internal.push((module, text));
        } else {
            public.push((module, text));
        }
    }
    // An internal module is written too when a public class derives from one of its classes:
    // the methods of TCP and TLS connections are declared in silly.net.internal.stream.
    let mut files = public.clone();
    for (module, text) in internal {
        let used = class_names(&text)
            .iter()
            .any(|class| public.iter().any(|(_, t)| mentions(t, class)));
        if used {
            files.push((module, text));
        }
    }
    create_dir(dir)?;
    for (module, text) in &files {
        let path = dir.join(format!("{}.lua", module.replace('.', "/")));
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        write_file(&path, text.as_bytes())?;
    }
    let library = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    write_file(&dir.join(".luarc.json"), luarc(&library).as_bytes())?;
    Ok(files.len() + 1)
}

/// The LuaLS configuration: the runtime's language version and the definitions as a library.
fn luarc(library: &Path) -> String {
    format!(
        "{{\n  \"$schema\": \"https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json\",\n  \"runtime.version\": {},\n  \"workspace.library\": [{}]\n}}\n",
        json_string(LUALS_VERSION),
        json_string(&library.to_string_lossy())
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The classes a definition text declares (`---@class silly.net.tcp.conn: base`).
fn class_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("---@class "))
        .filter_map(|rest| rest.split([':', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// Whether `text` names `class` as a whole word (not as the prefix of a longer name).
fn mentions(text: &str, class: &str) -> bool {
    text.match_indices(class).any(|(i, _)| {
        let next = text[i + class.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    })
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value copied as it is: a number, a boolean or a one-line string.
fn is_literal(v: &str) -> bool {
    let v = v.trim_end_matches(',').trim();
    v == "true"
        || v == "false"
        || v.parse::<f64>().is_ok()
        || (v.len() >= 2
            && (v.starts_with('"') && v.ends_with('"') || v.starts_with('\'') && v.ends_with('\'')))
}

/// The name of the module table: the top-level `return M` (or `return setmetatable(M, ...)`).
fn module_table(lines: &[&str]) -> Option<String> {
    let expr = lines.iter().rev().find_map(|l| l.strip_prefix("return "))?;
    let expr = expr.trim();
    let name = expr
        .strip_prefix("setmetatable(")
        .map(|rest| rest.split(',').next().unwrap_or("").trim())
        .unwrap_or(expr);
    is_ident(name).then(|| name.to_string())
}

/// The definition file of one module's source.
pub(crate) fn definitions(src: &str) -> String {
    let lines: Vec<&str> = src.lines().collect();
    let table = module_table(&lines);
    let mut out = String::from("---@meta\n");
    // The file's opening comment says what the module is.
    for l in lines.iter().take_while(|l| l.starts_with("--")) {
        if !l.starts_with("---") {
            out.push_str(l);
            out.push('\n');
        }
    }
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let line = raw.trim();
        i += 1;
        if line.starts_with("---") {
            doc.push(line);
            continue;
        }
        let block = std::mem::take(&mut doc);
        let decl = declaration(raw, &lines, &mut i, &block, &mut declared, table.as_deref());
        let annotates_type = block
            .iter()
            .any(|l| l.starts_with("---@class") || l.starts_with("---@alias"));
        let opens_table = decl.as_ref().is_some_and(|d| d.starts_with("local "));
        if opens_table || !block.is_empty() && (decl.is_some() || annotates_type) {
            out.push('\n');
        }
        if decl.is_some() || annotates_type {
            for d in &block {
                out.push_str(&class_for_type(d, &out));
                out.push('\n');
            }
        }
        if let Some(d) = decl {
            out.push_str(&d);
            out.push('\n');
        }
    }
    if let Some(t) = table {
        out.push_str(&format!("\nreturn {t}\n"));
    }
    out
}

/// `---@type T` over a table that gets methods becomes `---@class T` when `T` is a class of this
/// file: LuaLS adds methods to a class only through a `@class` declaration (a `@type` reference
/// reports them as injected fields).
fn class_for_type(doc: &str, out: &str) -> String {
    match doc.strip_prefix("---@type ") {
        Some(t) if class_names(out).iter().any(|c| c == t.trim()) => {
            format!("---@class {}", t.trim())
        }
        _ => doc.to_string(),
    }
}

/// The definition of the statement starting at `raw` (the line before `*i`), if it declares
/// something an editor needs; `*i` moves past the lines it takes.
fn declaration(
    raw: &str,
    lines: &[&str],
    i: &mut usize,
    doc: &[&str],
    declared: &mut BTreeSet<String>,
    table: Option<&str>,
) -> Option<String> {
    let line = raw.trim();
    let typed = doc
        .iter()
        .any(|l| l.starts_with("---@class") || l.starts_with("---@type"));
    // local NAME = ...: the module table, or a table an annotation gives a type.
    if let Some(rest) = line.strip_prefix("local ")
        && let Some((name, value)) = rest.split_once('=')
    {
        let name = name.trim();
        let top_level_table = Some(name) == table && !raw.starts_with(char::is_whitespace);
        if !is_ident(name) || !(top_level_table || typed) {
            return None;
        }
        declared.insert(name.to_string());
        let value = value.trim();
        if value.starts_with('{') && !value.ends_with('}') {
            return Some(constructor(name, lines, i));
        }
        return Some(format!("local {name} = {{}}"));
    }
    // A module that is a function: `return function(...)` at the top level.
    if raw.starts_with("return function") {
        let end = line.find(')')?;
        return Some(format!("{} end", &line[..=end]));
    }
    // function A.b(...) / function A:b(...), A declared.
    if let Some(rest) = line.strip_prefix("function ") {
        let receiver = rest.split(['.', ':']).next().unwrap_or("");
        if !declared.contains(receiver) {
            return None;
        }
        let mut sig = line.to_string();
        while !sig.contains(')') && *i < lines.len() {
            sig.push(' ');
            sig.push_str(lines[*i].trim());
            *i += 1;
        }
        let end = sig.find(')')?;
        return Some(format!("{} end", &sig[..=end]));
    }
    // A.b = value, A declared, at the top level (not a field update inside a function).
    if raw.starts_with(char::is_whitespace) {
        return None;
    }
    let (target, value) = line.split_once(" = ")?;
    let (receiver, field) = target.split_once('.')?;
    if !declared.contains(receiver) || !is_ident(field) || field.starts_with('_') {
        return None;
    }
    let value = value.trim();
    if let Some(params) = value.strip_prefix("function") {
        let params = &params[..params.find(')')? + 1];
        return Some(format!("function {target}{} end", params.trim()));
    }
    if doc
        .iter()
        .any(|l| l.starts_with("---@param") || l.starts_with("---@return"))
    {
        return Some(format!(
            "function {target}({}) end",
            doc_params(doc).join(", ")
        ));
    }
    if is_literal(value) {
        return Some(format!("{target} = {value}"));
    }
    if value.starts_with('{') {
        skip_constructor(value, lines, i);
        return Some(format!("{target} = {{}}"));
    }
    // `conn.read`, or a wrapper of it (`conn_only("read", conn.read)`): the function it names.
    let named = value
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|w| w.split_once('.'))
        .rfind(|(t, f)| declared.contains(*t) && is_ident(f))?;
    Some(format!("{target} = {}.{}", named.0, named.1))
}

/// The parameter names of `---@param name type` lines.
fn doc_params(doc: &[&str]) -> Vec<String> {
    doc.iter()
        .filter_map(|l| l.strip_prefix("---@param "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|n| n.trim_end_matches('?').to_string())
        .collect()
}

/// Moves `*i` past the lines of a table constructor that starts with `value`.
fn skip_constructor(value: &str, lines: &[&str], i: &mut usize) {
    let depth = |s: &str| s.matches('{').count() as i64 - s.matches('}').count() as i64;
    let mut open = depth(value);
    while open > 0 && *i < lines.len() {
        open += depth(lines[*i]);
        *i += 1;
    }
}

/// A multi-line table constructor `local NAME = {`: the fields whose values are literals are
/// kept; `*i` moves past its closing brace.
fn constructor(name: &str, lines: &[&str], i: &mut usize) -> String {
    let mut out = format!("local {name} = {{\n");
    while *i < lines.len() {
        let line = lines[*i].trim();
        *i += 1;
        if line.starts_with('}') {
            break;
        }
        if let Some((key, value)) = line.split_once('=')
            && is_ident(key.trim())
            && is_literal(value)
        {
            out.push_str(&format!(
                "\t{} = {},\n",
                key.trim(),
                value.trim().trim_end_matches(',')
            ));
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"-- demo: a module for the test.
local c = require "demo.c"

local M = {
	LEVEL = 1,
	pid = c.pid,
	name = "demo",
}

---A thing.
---@class demo.thing
local thing = {}

local function helper(x)
	---@type demo.thing
	local t = thing
	function t:grow() end

	return x
end

---Doubles `n`.
---@param n integer
---@return integer
function M.double(n)
	return helper(n) * 2
end

---Now.
---@return integer
M.now = c.now

---@param self demo.thing
function thing:size()
	return 0
end

M.size = c.wrap("size", thing.size)
M.KEYS = { "a",
	"b" }
M._private = c.x
c.other = 1

---Facts.
---@class demo.facts
---@field a integer

return setmetatable(M, {})
"#;

    #[test]
    fn bodies_go_and_annotations_stay() {
        let d = definitions(SRC);
        let expected = "---@meta
-- demo: a module for the test.

local M = {
\tLEVEL = 1,
\tname = \"demo\",
}

---A thing.
---@class demo.thing
local thing = {}

---@class demo.thing
local t = {}
function t:grow() end

---Doubles `n`.
---@param n integer
---@return integer
function M.double(n) end

---Now.
---@return integer
function M.now() end

---@param self demo.thing
function thing:size() end
M.size = thing.size
M.KEYS = {}

---Facts.
---@class demo.facts
---@field a integer

return M
";
        assert_eq!(d, expected);
    }

    #[test]
    fn a_module_that_is_a_function() {
        let src = "local c = require 'x.c'\n\n---Makes a thing.\n---@param name string\n\
                   ---@return table\nreturn function(name)\n\treturn c.new(name)\nend\n";
        assert_eq!(
            definitions(src),
            "---@meta\n\n---Makes a thing.\n---@param name string\n---@return table\n\
             return function(name) end\n"
        );
    }

    #[test]
    fn internal_modules_and_class_mentions() {
        assert!(is_internal("silly.internal.boot"));
        assert!(is_internal("silly.net.internal.stream"));
        assert!(!is_internal("silly.net.tcp"));
        assert!(mentions("---@class a: silly.s.conn\n", "silly.s.conn"));
        assert!(!mentions("---@class a: silly.s.conn2\n", "silly.s.conn"));
        assert_eq!(class_names("---@class x.y: z\n---@class w\n"), ["x.y", "w"]);
    }

    #[test]
    fn luarc_is_json_with_the_library() {
        let text = luarc(Path::new("/tmp/a \"b\""));
        assert!(text.contains("\"runtime.version\": \"Lua 5.5\""), "{text}");
        assert!(
            text.contains("\"workspace.library\": [\"/tmp/a \\\"b\\\"\"]"),
            "{text}"
        );
    }
}
