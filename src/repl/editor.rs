//! The line-editor thread: rustyline with history and completion. It never touches Lua;
//! completion asks the loop thread and waits briefly for the answer.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{Config, Context, Editor, Helper};

use crate::reactor::Waker;

/// Ask for one line with this prompt.
pub struct Prompt(pub String);

pub enum FromEditor {
    /// `None`: end of input (Ctrl-D). `Some(None)`: Ctrl-C. `Some(Some(line))`: a line.
    Line(Option<Option<String>>),
    /// Completion candidates for the word before the cursor.
    Complete(String, Sender<Vec<String>>),
}

struct LuaHelper {
    to_loop: Sender<FromEditor>,
    waker: Waker,
}

impl Completer for LuaHelper {
    type Candidate = String;
    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        let start = head
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.' || *c == ':'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = head[start..].to_string();
        let (tx, rx) = channel();
        if self.to_loop.send(FromEditor::Complete(word, tx)).is_err() {
            return Ok((pos, Vec::new()));
        }
        self.waker.wake();
        // The loop may be busy running a script; then there is nothing to offer.
        let found = rx.recv_timeout(Duration::from_millis(300)).unwrap_or_default();
        Ok((start, found))
    }
}

impl Hinter for LuaHelper {
    type Hint = String;
}
impl Highlighter for LuaHelper {}
impl Validator for LuaHelper {}
impl Helper for LuaHelper {}

/// A whole line typed while code was running. The terminal is in canonical mode between
/// prompts, so such lines wait in its buffer; rustyline would read them ahead and drop
/// all but the first, so they are taken here one at a time (the terminal echoed them).
fn typed_ahead() -> Option<String> {
    let mut pfd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, no timeout.
    if unsafe { libc::poll(&mut pfd, 1, 0) } != 1 || pfd.revents & libc::POLLIN == 0 {
        return None;
    }
    let mut buf = [0u8; 4096];
    // SAFETY: reading into a local buffer of the given length.
    let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return None;
    }
    let text = String::from_utf8_lossy(&buf[..n as usize]);
    Some(text.trim_end_matches(['\n', '\r']).to_string())
}

pub fn spawn(
    prompts: Receiver<Prompt>,
    to_loop: Sender<FromEditor>,
    waker: Waker,
    history: Option<PathBuf>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        crate::reactor::block_signals_here();
        let config = Config::builder().auto_add_history(false).max_history_size(1000).unwrap_or_default().build();
        let mut ed: Editor<LuaHelper, FileHistory> = match Editor::with_config(config) {
            Ok(ed) => ed,
            Err(e) => {
                eprintln!("rlua-net: cannot start the line editor: {e}");
                let _ = to_loop.send(FromEditor::Line(None));
                waker.wake();
                return;
            }
        };
        ed.set_helper(Some(LuaHelper { to_loop: to_loop.clone(), waker: waker.clone() }));
        if let Some(h) = &history {
            let _ = ed.load_history(h);
        }
        while let Ok(Prompt(p)) = prompts.recv() {
            let typed = typed_ahead();
            let line = match typed {
                Some(ahead) => Ok(ahead),
                None => ed.readline(&p),
            };
            let line = match line {
                Ok(l) => {
                    if !l.trim().is_empty() {
                        let _ = ed.add_history_entry(l.as_str());
                        if let Some(h) = &history {
                            if let Some(dir) = h.parent() {
                                let _ = std::fs::create_dir_all(dir);
                            }
                            let _ = ed.save_history(h);
                        }
                    }
                    Some(Some(l))
                }
                Err(ReadlineError::Interrupted) => {
                    super::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
                    Some(None)
                }
                Err(_) => None,
            };
            let eof = line.is_none();
            if to_loop.send(FromEditor::Line(line)).is_err() {
                return;
            }
            waker.wake();
            if eof {
                return;
            }
        }
    })
}
