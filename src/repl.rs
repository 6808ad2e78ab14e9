//! The REPL (DECISIONS.md C6): rustyline on its own thread, entries run as tasks on the loop.
//!
//! rustyline blocks, so it lives on a helper thread that reads one line per request. The loop
//! side awaits the answer, so timers, servers and other tasks keep running while the user types.
//! Each complete entry is compiled (first as `return <entry>`, as `lua` does, to print an
//! expression's value), run as a new task, and awaited before the next prompt.

use std::path::PathBuf;
use std::sync::mpsc;

use mlua::{Function, MultiValue, Value};
use rustyline::error::ReadlineError;

use crate::runtime::{self, stdlib, task};

enum Input {
    Line(String),
    /// Ctrl-C: drop what was typed so far.
    Interrupted,
    /// Ctrl-D or a closed terminal.
    Eof,
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".silly_history"))
}

/// Starts the line-reader thread: it answers each prompt sent to it with one `Input`.
fn spawn_reader() -> (mpsc::Sender<(String, Option<String>)>, async_channel::Receiver<Input>) {
    let (req_tx, req_rx) = mpsc::channel::<(String, Option<String>)>();
    let (resp_tx, resp_rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("silly: cannot start the line editor: {e}");
                let _ = resp_tx.send_blocking(Input::Eof);
                return;
            }
        };
        let history = history_path();
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        // Each request: (prompt, an entry to add to the history first).
        while let Ok((prompt, entry)) = req_rx.recv() {
            if let Some(entry) = entry {
                let _ = editor.add_history_entry(entry.as_str());
                if let Some(h) = &history {
                    let _ = editor.save_history(h);
                }
            }
            let input = match editor.readline(&prompt) {
                Ok(line) => Input::Line(line),
                Err(ReadlineError::Interrupted) => Input::Interrupted,
                Err(_) => Input::Eof,
            };
            if resp_tx.send_blocking(input).is_err() {
                return;
            }
        }
    });
    (req_tx, resp_rx)
}

/// Compiles an entry: `Ok(None)` when it is incomplete and more lines are needed.
fn compile(lua: &mlua::Lua, code: &str) -> Result<Option<Function>, String> {
    if let Ok(f) = lua.load(format!("return {code}")).set_name("=stdin").into_function() {
        return Ok(Some(f));
    }
    match lua.load(code).set_name("=stdin").into_function() {
        Ok(f) => Ok(Some(f)),
        Err(mlua::Error::SyntaxError { incomplete_input: true, .. }) => Ok(None),
        Err(mlua::Error::SyntaxError { message, .. }) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the REPL until Ctrl-D.
pub async fn run() {
    let rt = runtime::get();
    let lua = rt.lua.clone();
    // The module returns a factory of the entry function, not the entry itself.
    let entry: Function = match stdlib::load(&lua, "silly.internal.repl")
        .and_then(|chunk| chunk.call::<Function>(()))
        .and_then(|factory| factory.call(()))
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("silly: cannot start the REPL: {e}");
            return;
        }
    };
    let version: String = lua.globals().get("_VERSION").unwrap_or_default();
    println!("silly {} ({version}); Ctrl-D exits", env!("CARGO_PKG_VERSION"));
    let (requests, answers) = spawn_reader();
    let mut buffer = String::new();
    let mut history: Option<String> = None;
    loop {
        let prompt = if buffer.is_empty() { "> " } else { ">> " };
        if requests.send((prompt.to_string(), history.take())).is_err() {
            break;
        }
        let line = match answers.recv().await {
            Ok(Input::Line(l)) => l,
            Ok(Input::Interrupted) => {
                buffer.clear();
                continue;
            }
            Ok(Input::Eof) | Err(_) => break,
        };
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        let code = std::mem::take(&mut buffer);
        let f = match compile(&lua, &code) {
            Ok(Some(f)) => f,
            Ok(None) => {
                buffer = code;
                continue;
            }
            Err(msg) => {
                println!("Syntax error: {msg}");
                history = Some(code);
                continue;
            }
        };
        history = Some(code);
        let args = MultiValue::from_vec(vec![Value::Function(f)]);
        match task::spawn(&lua, &entry, task::Start::Args(args)) {
            Ok((_, handle)) => handle.await,
            Err(e) => println!("Error: {e}"),
        }
    }
    println!();
}
