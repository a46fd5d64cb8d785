//! The interactive prompt, driven through a pseudo-terminal (`cli_support/pty_drive.py`):
//! printing values, multi-line input, the event loop running while the prompt waits,
//! persistent history, Ctrl-C and Ctrl-D, tab completion.
//!
//! Output is matched with Python regexes on the terminal text with escape sequences and
//! carriage returns removed. Lines that print something build the text from pieces
//! (`'TI'..'CK'`) so the echo of the typed line cannot satisfy the match. Keys are only
//! sent once the prompt is up, as a person would type.

mod cli_support;

use cli_support::{CONT_PROMPT, PtySession, TempDir, line_re};

fn session(dir: &TempDir) -> PtySession {
    PtySession::new(dir.path())
}

#[test]
fn banner_then_prompt() {
    let dir = TempDir::new("repl-banner");
    session(&dir)
        .expect(r"rlua-net[^\n]*Lua 5\.4[^\n]*\n")
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("the banner names rlua-net and Lua 5.4, then the prompt");
}

#[test]
fn expression_prints_its_value() {
    let dir = TempDir::new("repl-expr");
    session(&dir)
        .prompt()
        .line("1+1")
        .expect(&line_re("2"))
        .prompt()
        .line("'x' .. 'y', 10 // 3, nil")
        .expect(&line_re("xy\t3\tnil"))
        .prompt()
        .line("answer = 6 * 7")
        .prompt()
        .line("answer")
        .expect(&line_re("42"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("expressions print their values, statements run");
}

#[test]
fn multi_line_function_definition() {
    let dir = TempDir::new("repl-multiline");
    session(&dir)
        .prompt()
        .line("function f(x)")
        .expect(CONT_PROMPT)
        .line("return x*2")
        .expect(CONT_PROMPT)
        .line("end")
        .prompt()
        .line("f(21)")
        .expect(&line_re("42"))
        .prompt()
        .line("local t = {")
        .expect(CONT_PROMPT)
        .line("'a', 'b'")
        .expect(CONT_PROMPT)
        .line("} print(#t .. 'items')")
        .expect(&line_re("2items"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("an unfinished chunk asks for more with '>>'");
}

#[test]
fn timer_fires_while_the_prompt_waits() {
    let dir = TempDir::new("repl-timer");
    session(&dir)
        .prompt()
        .line("core=require'rluanet.core'; t=core.timer(); t:on(function() print('TI'..'CK') end); t:start(0.2)")
        .expect("TICK")
        .alive()
        .send("print('after' .. 'tick')\r")
        .expect(&line_re("aftertick"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("the event loop serves a timer without any key pressed");
}

#[test]
fn repeating_timer_keeps_firing_between_keystrokes() {
    let dir = TempDir::new("repl-timer-repeat");
    session(&dir)
        .prompt()
        .line("n=0; core=require'rluanet.core'; t=core.timer(); t:on(function() n=n+1; print('BEAT'..n) end); t:start(0.1, 0.1)")
        .expect("BEAT1")
        .expect("BEAT2")
        .expect("BEAT3")
        .send("t:stop()\r")
        .sleep(0.3)
        .send("print('stopped' .. 'ok')\r")
        .expect(&line_re("stoppedok"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("a repeating timer fires again and again while the prompt waits");
}

#[test]
fn history_is_saved_and_recalled() {
    let dir = TempDir::new("repl-history");
    session(&dir)
        .prompt()
        .line("print('HIST' .. 'ORY')")
        .expect(&line_re("HISTORY"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("first run: type a line, leave with Ctrl-D");

    let file = dir.path().join("rlua-net").join("history");
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("history file {} not written: {e}", file.display()));
    assert!(text.contains("print('HIST' .. 'ORY')"), "history file lacks the line:\n{text}");

    session(&dir)
        .prompt()
        .send("\u{1b}[A")
        .expect(r"print\('HIST' \.\. 'ORY'\)")
        .send("\r")
        .expect(&line_re("HISTORY"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("second run: Up arrow recalls the line from the first run");
}

#[test]
fn history_falls_back_to_home_without_xdg_state_home() {
    let dir = TempDir::new("repl-history-home");
    session(&dir)
        .env_remove("XDG_STATE_HOME")
        .prompt()
        .line("x_home = 1")
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("type a line with only HOME set");
    let file = dir.path().join(".local").join("state").join("rlua-net").join("history");
    let text =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("history file {} not written: {e}", file.display()));
    assert!(text.contains("x_home = 1"), "history file lacks the line:\n{text}");
}

#[test]
fn ctrl_d_exits_with_status_0() {
    let dir = TempDir::new("repl-ctrl-d");
    session(&dir).prompt().send("\u{4}").exit(0).run("Ctrl-D at an empty prompt exits 0");
}

#[test]
fn ctrl_d_exits_0_even_after_an_error() {
    let dir = TempDir::new("repl-ctrl-d-error");
    session(&dir)
        .prompt()
        .line("error('bo' .. 'om')")
        .expect("stdin:1: boom")
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("an error at the prompt does not change the exit status");
}

#[test]
fn ctrl_c_at_the_prompt_does_not_exit() {
    let dir = TempDir::new("repl-ctrl-c");
    session(&dir)
        .prompt()
        .send("print('half")
        .sleep(0.2)
        .send("\u{3}")
        .prompt()
        .alive()
        .line("print('still' .. 'here')")
        .expect(&line_re("stillhere"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("Ctrl-C drops the typed text and keeps the REPL");
}

#[test]
fn ctrl_c_drops_pending_multi_line_input() {
    let dir = TempDir::new("repl-ctrl-c-multi");
    session(&dir)
        .prompt()
        .line("function g()")
        .expect(CONT_PROMPT)
        .send("\u{3}")
        .prompt()
        .alive()
        .line("print(type(g) .. 'g')")
        .expect(&line_re("nilg"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("Ctrl-C at '>>' abandons the unfinished chunk");
}

#[test]
fn ctrl_c_interrupts_running_code() {
    let dir = TempDir::new("repl-interrupt");
    session(&dir)
        .prompt()
        .line("while true do end")
        .sleep(0.5)
        .send("\u{3}")
        .expect("interrupted")
        .prompt()
        .alive()
        .line("print('after' .. 'loop')")
        .expect(&line_re("afterloop"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("Ctrl-C stops a busy loop without leaving the REPL");
}

#[test]
fn ctrl_c_interrupts_a_blocking_wait() {
    // A wait on the main thread runs the loop inside the poller; Ctrl-C must end it long
    // before its 60 s deadline (the session's own timeout would fail the test otherwise).
    let dir = TempDir::new("repl-interrupt-wait");
    session(&dir)
        .prompt()
        .line("core = require 'rluanet.core'; core.sleep(60); print('slept' .. 'through')")
        .sleep(0.5)
        .send("\u{3}")
        .expect("interrupted")
        .prompt()
        .line("print('after' .. 'wait')")
        .expect(&line_re("afterwait"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("Ctrl-C ends a blocking wait without leaving the REPL");
}

#[test]
fn runtime_error_is_reported_and_the_repl_goes_on() {
    let dir = TempDir::new("repl-error");
    session(&dir)
        .prompt()
        .line("local t = nil; return t.x")
        .expect(r"attempt to index a nil value")
        .prompt()
        .line("x = = 1")
        .expect(r"unexpected symbol near '='")
        .prompt()
        .line("print('go' .. 'on')")
        .expect(&line_re("goon"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("errors are printed and the prompt comes back");
}

#[test]
fn tab_completes_a_global() {
    let dir = TempDir::new("repl-tab");
    session(&dir)
        .prompt()
        .send("strin\t")
        .expect("string")
        .send(".len('abcd')\r")
        .expect(&line_re("4"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("strin<TAB> completes to string");
}

#[test]
fn tab_completes_a_table_field() {
    let dir = TempDir::new("repl-tab-field");
    session(&dir)
        .prompt()
        .send("string.for\t")
        .expect("string.format")
        .send("('%03d', 7)\r")
        .expect(&line_re("007"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("string.for<TAB> completes to string.format");
}

#[test]
fn interactive_flag_enters_the_repl_after_the_script() {
    let dir = TempDir::new("repl-i");
    dir.write("setup.lua", "greeting = 'hel' .. 'lo'\nprint('setup' .. 'done')\n");
    session(&dir)
        .arg("-i")
        .arg("setup.lua")
        .expect(&line_re("setupdone"))
        .prompt()
        .line("greeting")
        .expect(&line_re("hello"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("-i script: the script's globals are there at the prompt");
}

#[test]
fn interactive_flag_with_exec_chunk() {
    let dir = TempDir::new("repl-i-e");
    session(&dir)
        .arg("-i")
        .arg("-e")
        .arg("v = 40 + 2")
        .prompt()
        .line("v")
        .expect(&line_re("42"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("-i -e: the chunk runs first, then the prompt");
}

#[test]
fn pasted_multi_line_chunk_runs() {
    // A terminal wraps pasted text in bracketed-paste markers.
    let dir = TempDir::new("repl-paste");
    session(&dir)
        .prompt()
        .send("\u{1b}[200~function g(x)\nreturn x + 1\nend\nprint('P' .. g(1))\n\u{1b}[201~")
        .sleep(0.3)
        .send("\r")
        .expect(&line_re("P2"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("a pasted chunk of several lines runs as a whole");
}

#[test]
fn lines_typed_ahead_while_code_runs_are_not_lost() {
    // Two lines typed while a command is still running: lua5.4 runs both afterwards.
    let dir = TempDir::new("repl-typeahead");
    session(&dir)
        .prompt()
        .line("require('rluanet.core').sleep(1)")
        .sleep(0.3)
        .send("print('A' .. '1')\rprint('B' .. '2')\r")
        .expect(&line_re("A1"))
        .expect(&line_re("B2"))
        .prompt()
        .send("\u{4}")
        .exit(0)
        .run("both typed-ahead lines run");
}
