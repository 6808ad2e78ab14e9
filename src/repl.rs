//! The REPL (docs/cli.md#repl): rustyline on its own thread, entries run as tasks on the loop.
//!
//! rustyline blocks, so it lives on a helper thread that reads one line per request. The loop
//! side awaits the answer, so timers, servers and other tasks keep running while the user types.
//! Each complete entry is compiled (first as `return <entry>`, as `lua` does, to print an
//! expression's value), run as a new task, and awaited before the next prompt.
//!
//! Output of tasks that run while the prompt is shown (a timer's `print`) would land after the
//! prompt and leave the typed text without one. While a line is being read, the global `print`
//! goes through rustyline's external printer, which prints above the prompt and redraws it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, mpsc};

use mlua::{Function, Lua, MultiValue, Value};
use rustyline::ExternalPrinter;
use rustyline::error::ReadlineError;

use crate::runtime::{self, stdlib, task};

enum Input {
    Line(String),
    /// Ctrl-C: drop what was typed so far.
    Interrupted,
    /// Ctrl-D or a closed terminal.
    Eof,
}

/// Set from a prompt request to its answer: the reader thread may be in readline, with the
/// terminal in raw mode.
static READING: AtomicBool = AtomicBool::new(false);
/// The terminal's mode when the REPL started, before rustyline switched it to raw mode.
static SAVED_MODE: OnceLock<libc::termios> = OnceLock::new();

/// Gives the terminal back as the REPL found it, if the process ends while a line is being
/// read (`silly.exit` from a timer, SIGTERM): rustyline's own restore never runs then, and the
/// shell would be left without echo or line editing.
fn restore_terminal() {
    if !READING.load(Ordering::SeqCst) {
        return;
    }
    if let Some(mode) = SAVED_MODE.get() {
        // SAFETY: fd 0 is the terminal the mode was read from; tcsetattr only reads `mode`.
        unsafe { libc::tcsetattr(0, libc::TCSADRAIN, mode) };
        // Bracketed paste goes off with raw mode, and the shell's prompt gets a line of its own.
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?2004l\r\n");
        let _ = out.flush();
    }
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".silly_history"))
}

/// The line-reader thread's two ends, as the loop side holds them.
struct Reader {
    /// Each request: (prompt, an entry to add to the history first).
    requests: mpsc::Sender<(String, Option<String>)>,
    answers: async_channel::Receiver<Input>,
    /// Text to print above the prompt; None when stdin or stdout is not a terminal.
    printer: Option<mpsc::Sender<String>>,
}

/// Starts the line-reader thread: it answers each prompt sent to it with one `Input`.
fn spawn_reader() -> Reader {
    let (req_tx, req_rx) = mpsc::channel::<(String, Option<String>)>();
    let (resp_tx, resp_rx) = async_channel::bounded(1);
    let (printer_tx, printer_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("silly: cannot start the line editor: {e}");
                let _ = printer_tx.send(None);
                let _ = resp_tx.send_blocking(Input::Eof);
                return;
            }
        };
        let _ = printer_tx.send(editor.create_external_printer().ok().map(spawn_printer));
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
    Reader {
        requests: req_tx,
        answers: resp_rx,
        printer: printer_rx.recv().ok().flatten(),
    }
}

/// Runs the external printer on its own thread. Its `print` can block until the reader thread
/// takes the text, which only happens inside `readline`; the loop thread must never wait on that.
fn spawn_printer(mut printer: impl ExternalPrinter + Send + 'static) -> mpsc::Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        while let Ok(text) = rx.recv() {
            if printer.print(text).is_err() {
                return;
            }
        }
    });
    tx
}

/// Replaces the global `print`: while `READING`, its text goes to `printer`; otherwise the
/// original `print` runs, keeping its order with `io.write`.
fn route_print(lua: &Lua, printer: mpsc::Sender<String>) -> mlua::Result<()> {
    let globals = lua.globals();
    let original: Function = globals.get("print")?;
    let tostring: Function = globals.get("tostring")?;
    let print = lua.create_function(move |_, args: MultiValue| {
        if !READING.load(Ordering::Relaxed) {
            return original.call::<()>(args);
        }
        let mut text = String::new();
        for (i, v) in args.into_iter().enumerate() {
            if i > 0 {
                text.push('\t');
            }
            text.push_str(&tostring.call::<mlua::LuaString>(v)?.to_string_lossy());
        }
        text.push('\n');
        // The printer thread only stops when the terminal is gone; then the text has nowhere to go.
        let _ = printer.send(text);
        Ok(())
    })?;
    globals.set("print", print)
}

/// Compiles an entry: `Ok(None)` when it is incomplete and more lines are needed.
fn compile(lua: &mlua::Lua, code: &str) -> Result<Option<Function>, String> {
    if let Ok(f) = lua
        .load(format!("return {code}"))
        .set_name("=stdin")
        .into_function()
    {
        return Ok(Some(f));
    }
    match lua.load(code).set_name("=stdin").into_function() {
        Ok(f) => Ok(Some(f)),
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        }) => Ok(None),
        Err(mlua::Error::SyntaxError { message, .. }) => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the REPL until Ctrl-D.
pub async fn run() {
    // The process can end while a line is being read (`silly.exit` from a timer, SIGTERM).
    runtime::hooks::on_exit(restore_terminal);
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
    println!(
        "silly {} ({version}); Ctrl-D exits",
        env!("CARGO_PKG_VERSION")
    );
    if std::io::stdin().is_terminal() {
        // SAFETY: termios is plain data (all-zero is a valid value), and tcgetattr only fills
        // it in from fd 0, which is open: it is our terminal.
        let mut mode: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::tcgetattr(0, &mut mode) } == 0 {
            let _ = SAVED_MODE.set(mode);
        }
    }
    let reader = spawn_reader();
    if let Some(printer) = reader.printer.clone()
        && let Err(e) = route_print(&lua, printer)
    {
        eprintln!("silly: cannot route print above the prompt: {e}");
    }
    let mut buffer = String::new();
    let mut history: Option<String> = None;
    loop {
        let prompt = if buffer.is_empty() { "> " } else { ">> " };
        if reader
            .requests
            .send((prompt.to_string(), history.take()))
            .is_err()
        {
            break;
        }
        READING.store(true, Ordering::SeqCst);
        let answer = reader.answers.recv().await;
        READING.store(false, Ordering::SeqCst);
        let line = match answer {
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
