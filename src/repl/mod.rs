//! The interactive prompt. Line editing runs on its own thread so the event loop keeps
//! serving sockets and timers while the prompt waits; lines, completion requests and
//! Ctrl-C reach the loop thread through a channel that wakes the poller.

mod complete;
mod editor;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use mlua::{Function, HookTriggers, Lua, MultiValue, VmState};

use crate::runtime::{Runtime, error_text};
use editor::{FromEditor, Prompt};

/// Set by SIGINT (or Ctrl-C at the prompt) to stop running Lua code.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Wakes the loop from the signal handler: the poller retries interrupted waits itself, so
/// a blocking wait would otherwise sleep on until its deadline.
static SIGNAL_WAKER: std::sync::OnceLock<crate::reactor::Waker> = std::sync::OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // An atomic swap and an eventfd write: both safe in a signal handler.
    if let Some(w) = SIGNAL_WAKER.get() {
        w.wake();
    }
}

fn install_interrupt(lua: &Lua) {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
    let _ = lua.set_global_hook(HookTriggers::new().every_nth_instruction(4096), |_, _| {
        if INTERRUPTED.swap(false, Ordering::SeqCst) {
            return Err(mlua::Error::RuntimeError("interrupted!".into()));
        }
        Ok(VmState::Continue)
    });
}

/// Where history lives: `$XDG_STATE_HOME/rlua-net/history`, else `~/.local/state/...`.
pub fn history_path() -> Option<std::path::PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(std::env::var_os("HOME")?).join(".local").join("state"),
    };
    Some(base.join("rlua-net").join("history"))
}

/// Runs the prompt until Ctrl-D; returns the exit status.
pub fn run(rt: &Runtime) -> i32 {
    let lua = rt.lua();
    install_interrupt(lua);
    let reactor = match crate::net::reactor_of(lua) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rlua-net: {e}");
            return 1;
        }
    };
    reactor.set_interrupt(&INTERRUPTED);
    let _ = SIGNAL_WAKER.set(reactor.waker());
    let (to_editor, from_loop) = mpsc::channel::<Prompt>();
    let (to_loop, from_editor) = mpsc::channel::<FromEditor>();
    let waker = reactor.waker();
    let editor = editor::spawn(from_loop, to_loop, waker, history_path());

    let mut pending = String::new();
    let status = 'repl: loop {
        let prompt = if pending.is_empty() { "> " } else { ">> " };
        if to_editor.send(Prompt(prompt.to_string())).is_err() {
            break 0;
        }
        // Serve the loop until the editor has something for us.
        let line = loop {
            match from_editor.try_recv() {
                Ok(FromEditor::Line(l)) => break l,
                Ok(FromEditor::Complete(word, reply)) => {
                    let _ = reply.send(complete::candidates(lua, &word));
                }
                Err(mpsc::TryRecvError::Disconnected) => break 'repl 0,
                Err(mpsc::TryRecvError::Empty) => {
                    if let Err(e) = reactor.turn(lua, Some(std::time::Instant::now() + Duration::from_millis(500))) {
                        print_error(&error_text(&e));
                    }
                }
            }
        };
        match line {
            None => break 0, // Ctrl-D
            Some(None) => {
                // Ctrl-C at the prompt: drop the pending input.
                INTERRUPTED.store(false, Ordering::SeqCst);
                pending.clear();
            }
            Some(Some(text)) => {
                if !pending.is_empty() {
                    pending.push('\n');
                }
                pending.push_str(&text);
                match evaluate(rt, &pending) {
                    Eval::Incomplete => continue,
                    Eval::Done => {}
                    Eval::Failed(msg) => print_error(&msg),
                }
                pending.clear();
                INTERRUPTED.store(false, Ordering::SeqCst);
            }
        }
    };
    drop(to_editor);
    let _ = editor.join();
    status
}

fn print_error(msg: &str) {
    eprintln!("{msg}");
}

enum Eval {
    Done,
    Incomplete,
    Failed(String),
}

/// Runs one REPL entry: as an expression whose values are printed if it is one,
/// else as statements; an unfinished chunk asks for more lines.
fn evaluate(rt: &Runtime, src: &str) -> Eval {
    let lua = rt.lua();
    let as_expr = lua.load(format!("return {src}")).set_name("=stdin").into_function();
    let f = match as_expr {
        Ok(f) => f,
        Err(_) => match lua.load(src).set_name("=stdin").into_function() {
            Ok(f) => f,
            Err(mlua::Error::SyntaxError { incomplete_input: true, .. }) => return Eval::Incomplete,
            Err(e) => return Eval::Failed(error_text(&e)),
        },
    };
    match rt.call_values(&f, MultiValue::new()) {
        Ok(values) if !values.is_empty() => {
            // Printed with the global `print`, as `lua` does.
            match lua.globals().get::<Function>("print") {
                Ok(print) => match rt.call(&print, values) {
                    Ok(()) => Eval::Done,
                    Err(e) => Eval::Failed(e),
                },
                Err(e) => Eval::Failed(format!("error calling 'print' ({e})")),
            }
        }
        Ok(_) => Eval::Done,
        Err(e) => Eval::Failed(e),
    }
}
