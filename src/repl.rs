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
//!
//! Ctrl-C while an entry runs arrives as SIGINT (the terminal is not in raw mode then), which
//! the REPL takes over from the default exit: the entry's task is cancelled (`task::abandon`)
//! and the prompt comes back. An entry busy in Lua code never lets the loop see the signal, so
//! each entry also carries an instruction hook: once a SIGINT was counted, it tells the REPL and
//! yields the entry's coroutine, which gives the loop back, and the entry is cancelled the same
//! way.
//!
//! Tab completion needs the Lua state, which only the loop thread may touch: rustyline's
//! completer, on the reader thread, sends the line to a small server future on the loop and
//! waits (bounded) for the candidates.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Event, EventContext, EventHandler, ExternalPrinter, KeyEvent,
    RepeatCount,
};

use crate::native::signal;
use crate::runtime::{self, stdlib, task};

enum Input {
    Line(String),
    /// Ctrl-C; `typed`: the line had text on it.
    Interrupted {
        typed: bool,
    },
    /// Ctrl-D or a closed terminal.
    Eof,
}

/// What Ctrl-C at an empty prompt prints first; a second one in a row exits.
const EXIT_HINT: &str = "(To exit, press Ctrl+C again or Ctrl+D)";
/// How many VM instructions an entry runs between two looks at the SIGINT count.
const HOOK_EVERY: u32 = 1000;
/// How long Tab waits for the loop's answer: a busy loop must not freeze the line editor.
const COMPLETE_WAIT: Duration = Duration::from_millis(500);

/// One Tab press: the line up to the cursor, and where the answer goes (the length of the
/// partial word the candidates replace, then the candidates).
struct Completion {
    text: String,
    reply: mpsc::Sender<(usize, Vec<String>)>,
}

/// rustyline's helper: completion only, answered by the loop thread.
struct Helper {
    completions: async_channel::Sender<Completion>,
}

impl Completer for Helper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let (reply, answer) = mpsc::channel();
        let text = line[..pos].to_string();
        if self
            .completions
            .send_blocking(Completion { text, reply })
            .is_err()
        {
            return Ok((pos, Vec::new()));
        }
        match answer.recv_timeout(COMPLETE_WAIT) {
            Ok((len, candidates)) if len <= pos => Ok((pos - len, candidates)),
            _ => Ok((pos, Vec::new())),
        }
    }
}

impl Hinter for Helper {
    type Hint = String;
}
impl Highlighter for Helper {}
impl Validator for Helper {}
impl rustyline::Helper for Helper {}

/// Ctrl-C at the prompt: notes whether the line had text, then interrupts `readline` as usual.
struct CtrlC(Arc<AtomicBool>);

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.0.store(!ctx.line().is_empty(), Ordering::SeqCst);
        Some(Cmd::Interrupt)
    }
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
fn spawn_reader(completions: async_channel::Sender<Completion>) -> Reader {
    let (req_tx, req_rx) = mpsc::channel::<(String, Option<String>)>();
    let (resp_tx, resp_rx) = async_channel::bounded(1);
    let (printer_tx, printer_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut editor = match rustyline::Editor::<Helper, _>::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("silly: cannot start the line editor: {e}");
                let _ = printer_tx.send(None);
                let _ = resp_tx.send_blocking(Input::Eof);
                return;
            }
        };
        editor.set_helper(Some(Helper { completions }));
        let typed = Arc::new(AtomicBool::new(false));
        editor.bind_sequence(
            KeyEvent::ctrl('C'),
            EventHandler::Conditional(Box::new(CtrlC(typed.clone()))),
        );
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
                Err(ReadlineError::Interrupted) => Input::Interrupted {
                    typed: typed.swap(false, Ordering::SeqCst),
                },
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

/// Compiles an entry in the REPL's environment `env`: `Ok(None)` when it is incomplete and
/// more lines are needed.
///
/// A statement entry gets a capture call appended, run with the entry's top-level locals in
/// scope, so that they outlive it (docs/cli.md#repl). The call is `(...)(consts)`: the entry is
/// called with the capture function as its vararg, a name no entry can shadow. An entry the
/// appended call does not compile with (it ends with `return`) runs without it.
fn compile(lua: &Lua, env: &Table, code: &str) -> Result<Option<Function>, String> {
    let load = |text: &str| {
        lua.load(text)
            .set_name("=stdin")
            .set_environment(env.clone())
            .into_function()
    };
    if let Ok(f) = load(&format!("return {code}")) {
        return Ok(Some(f));
    }
    let plain = match load(code) {
        Ok(f) => f,
        Err(mlua::Error::SyntaxError {
            incomplete_input: true,
            ..
        }) => return Ok(None),
        Err(mlua::Error::SyntaxError { message, .. }) => return Err(message),
        Err(e) => return Err(e.to_string()),
    };
    let consts = constants(code, &load);
    let fields: Vec<String> = consts.iter().map(|n| format!("{n} = {n}")).collect();
    let captured = format!("{code}\n;(...)({{{}}})", fields.join(", "));
    Ok(Some(load(&captured).unwrap_or(plain)))
}

/// The compile-time constants (`local x <const> = 1`) in scope at the end of `code`: they have
/// no stack slot, so the capture cannot see them. Every word of the entry is a candidate; an
/// assignment to it appended at the end fails to compile exactly when it names a constant
/// (or a `<close>` variable, which the capture sees anyway).
fn constants(code: &str, load: &dyn Fn(&str) -> mlua::Result<Function>) -> Vec<String> {
    if !code.contains("const") {
        return Vec::new();
    }
    let mut found: Vec<String> = Vec::new();
    for word in code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let is_name = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if !is_name || KEYWORDS.contains(&word) || found.iter().any(|f| f == word) {
            continue;
        }
        if let Err(mlua::Error::SyntaxError { message, .. }) =
            load(&format!("{code}\n;{word} = nil"))
            && message.contains(&format!("assign to const variable '{word}'"))
        {
            found.push(word.to_string());
        }
    }
    found
}

/// Lua 5.5's reserved words: never a variable name.
const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "global", "goto",
    "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Answers Tab presses from the reader thread with the Lua `complete` function.
async fn serve_completions(complete: Function, requests: async_channel::Receiver<Completion>) {
    while let Ok(req) = requests.recv().await {
        let answer = complete
            .call::<(usize, Vec<String>)>(req.text)
            .unwrap_or_default();
        let _ = req.reply.send(answer);
    }
}

/// How an entry's run ended.
enum Ran {
    Finished,
    /// Ctrl-C cancelled it.
    Cancelled,
}

/// Runs one compiled entry as a task until it ends or a SIGINT counted after its start
/// cancels it.
async fn run_entry(
    lua: &Lua,
    run: &Function,
    f: Function,
    interrupts: &(async_channel::Sender<()>, async_channel::Receiver<()>),
) -> mlua::Result<Ran> {
    let start = signal::sigint_count();
    let args = MultiValue::from_vec(vec![Value::Function(f)]);
    let (thread, mut handle) = task::spawn(lua, run, task::Start::Args(args))?;
    // An entry busy in Lua code holds the loop, so the signal driver cannot tell the REPL: the
    // hook does, and yields (a plain yield: the task just takes its turn again later), which
    // lets the REPL run and cancel it. Where the entry cannot yield (inside a metamethod called
    // from C), mlua skips the yield and the entry goes on.
    let notify = interrupts.0.clone();
    thread.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_, _| {
            if signal::sigint_count() == start {
                return Ok(VmState::Continue);
            }
            let _ = notify.try_send(());
            Ok(VmState::Yield)
        },
    )?;
    let interrupts = &interrupts.1;
    loop {
        let interrupted = futures_lite::future::or(
            async {
                (&mut handle).await;
                false
            },
            async {
                let _ = interrupts.recv().await;
                true
            },
        )
        .await;
        if !interrupted {
            return Ok(Ran::Finished);
        }
        // A SIGINT that came before this entry (at the prompt, or one the hook already acted on).
        if signal::sigint_count() == start {
            continue;
        }
        if handle.cancel().await.is_some() {
            return Ok(Ran::Finished);
        }
        task::abandon(lua, &thread);
        return Ok(Ran::Cancelled);
    }
}

/// Runs the REPL until Ctrl-D, or Ctrl-C twice in a row at an empty prompt.
pub async fn run() {
    // The process can end while a line is being read (`silly.exit` from a timer, SIGTERM).
    runtime::hooks::on_exit(restore_terminal);
    let rt = runtime::get();
    let lua = rt.lua.clone();
    // The module returns a factory: {run = entry runner, env = entries' environment, complete}.
    let parts = stdlib::load(&lua, "silly.internal.repl")
        .and_then(|chunk| chunk.call::<Function>(()))
        .and_then(|factory| factory.call::<Table>(()))
        .and_then(|t| {
            Ok((
                t.get::<Function>("run")?,
                t.get::<Table>("env")?,
                t.get::<Function>("complete")?,
            ))
        });
    let (entry, env, complete) = match parts {
        Ok(p) => p,
        Err(e) => {
            eprintln!("silly: cannot start the REPL: {e}");
            return;
        }
    };
    // Bounded: the REPL only needs to know that some SIGINT came.
    let interrupts = async_channel::bounded(1);
    signal::take_sigint(interrupts.0.clone());
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
    let (completions, requests) = async_channel::unbounded();
    rt.executor
        .spawn(serve_completions(complete, requests))
        .detach();
    let reader = spawn_reader(completions);
    if let Some(printer) = reader.printer.clone()
        && let Err(e) = route_print(&lua, printer)
    {
        eprintln!("silly: cannot route print above the prompt: {e}");
    }
    let mut buffer = String::new();
    let mut history: Option<String> = None;
    // The last input was Ctrl-C at an empty prompt: one more exits.
    let mut exit_armed = false;
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
            Ok(Input::Interrupted { typed }) => {
                if typed || !buffer.is_empty() {
                    buffer.clear();
                    exit_armed = false;
                } else if exit_armed {
                    break;
                } else {
                    println!("{EXIT_HINT}");
                    exit_armed = true;
                }
                continue;
            }
            Ok(Input::Eof) | Err(_) => break,
        };
        exit_armed = false;
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        let code = std::mem::take(&mut buffer);
        let f = match compile(&lua, &env, &code) {
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
        match run_entry(&lua, &entry, f, &interrupts).await {
            Ok(Ran::Finished) => {}
            Ok(Ran::Cancelled) => println!("\nInterrupted"),
            Err(e) => println!("Error: {e}"),
        }
    }
    println!();
}
