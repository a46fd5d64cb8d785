//! The Pragtical dialect's globals and the `core`/`system` pieces network code uses:
//! threads (`core.add_thread`, `coroutine.yield(secs)`, `core.threads`), `core.try`, the
//! log functions, `system.*`, `PLATFORM`/`PATHSEP`/`USERDIR`, the `all`-mode `net` union
//! and when the process exits. Contract: /work/shared/specs/pragtical.md, decisions 1-3
//! and section 3A.

mod pragtical_support;

use pragtical_support::{Script, run};

/// The globals of stock Lua 5.4 (and the `arg` table of the standalone interpreter).
const LUA_GLOBALS: &str = "_G _VERSION arg assert collectgarbage coroutine debug dofile error getmetatable io \
     ipairs load loadfile math next os package pairs pcall print rawequal rawget rawlen rawset require select \
     setmetatable string table tonumber tostring type utf8 warn xpcall";

/// Lua that prints the globals a script sees beyond stock Lua's, sorted.
fn extra_globals() -> String {
    format!(
        r##"
local stock = {{}}
for name in ("{LUA_GLOBALS}"):gmatch("%S+") do stock[name] = true end
local extra = {{}}
for name in pairs(_G) do
  if not stock[name] then extra[#extra + 1] = name end
end
table.sort(extra)
print(table.concat(extra, " "))
"##
    )
}

// ---------------------------------------------------------------- globals

/// Decision 1: under `--dialect pragtical` the script gets exactly `net`, `core`,
/// `system`, `PLATFORM`, `PATHSEP` and `USERDIR` (no NodeMCU `tmr`/`node`), and
/// `require "net"` is the `net` global.
#[test]
fn pragtical_mode_defines_exactly_its_globals() {
    Script::raw(&format!(
        "{}\nprint(require 'net' == net, package.loaded.net == net, type(net.open_tcp), type(core.add_thread), \
         type(system.get_time))",
        extra_globals()
    ))
    .run()
    .ok()
    .stdout_is(&["PATHSEP PLATFORM USERDIR core net system", "true\ttrue\tfunction\tfunction\tfunction"]);
}

/// A `-- rlua-net: dialect=pragtical` first line selects the dialect without the option.
#[test]
fn the_dialect_line_selects_pragtical() {
    Script::raw(&format!("-- rlua-net: dialect=pragtical\n{}", extra_globals()))
        .dialect(None)
        .run()
        .ok()
        .stdout_is(&["PATHSEP PLATFORM USERDIR core net system"]);
}

/// In the default `all` mode the shared `net` table holds Pragtical's functions next to
/// NodeMCU's, they work, and `core`/`system` are globals too.
#[test]
fn the_all_mode_net_union_has_pragtical_functions() {
    Script::raw(
        r##"
for _, name in ipairs { "resolve_address", "get_local_addresses", "open_tcp", "open_udp", "create_server",
                        "set_cacert_path", "get_cacert_path", "createConnection", "createServer", "createUDPSocket" } do
  print(name, type(net[name]))
end
print(type(core.add_thread), type(system.sleep), PLATFORM ~= nil, type(tmr))
local a = net.resolve_address("127.0.0.1")
print(a:get_status(), getmetatable(a).__name)
"##,
    )
    .dialect(None)
    .run()
    .ok()
    .stdout_is(&[
        "resolve_address\tfunction",
        "get_local_addresses\tfunction",
        "open_tcp\tfunction",
        "open_udp\tfunction",
        "create_server\tfunction",
        "set_cacert_path\tfunction",
        "get_cacert_path\tfunction",
        "createConnection\tfunction",
        "createServer\tfunction",
        "createUDPSocket\tfunction",
        "function\tfunction\ttrue\ttable",
        "success\tNetAddress",
    ]);
}

/// `PLATFORM` and `PATHSEP` as in the editor on Linux; `USERDIR` is
/// `$PRAGTICAL_USERDIR`, else `$XDG_CONFIG_HOME/pragtical`, else `~/.config/pragtical`.
#[test]
fn platform_pathsep_and_userdir() {
    let show = "print(PLATFORM, PATHSEP, USERDIR)";
    Script::new(show).env("PRAGTICAL_USERDIR", "/srv/prag").run().ok().stdout_is(&["Linux\t/\t/srv/prag"]);
    Script::new(show)
        .env("XDG_CONFIG_HOME", "/xdg")
        .env_remove("PRAGTICAL_USERDIR")
        .run()
        .ok()
        .stdout_is(&["Linux\t/\t/xdg/pragtical"]);
    Script::new(show)
        .env("HOME", "/home/someone")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PRAGTICAL_USERDIR")
        .run()
        .ok()
        .stdout_is(&["Linux\t/\t/home/someone/.config/pragtical"]);
}

// ---------------------------------------------------------------- core.try and logging

/// `core.try(fn, ...)`: `true, result` when `fn` returns, `false, err` when it raises, and
/// then the error is logged (with a traceback) on stderr.
#[test]
fn core_try_returns_results_and_logs_errors() {
    let out = run(r##"
show(core.try(function(a, b) return a + b end, 2, 3))
local ok, err = core.try(function() error("boom", 0) end)
show(ok, err)
local ok2, err2 = core.try(function() error({ code = 7 }) end)
show(ok2, type(err2), err2.code)
"##);
    out.code(0).stdout_is(&["2 true 5", "2 false boom", "3 false table 7"]);
    assert!(out.stderr.starts_with("ERROR: boom\n"), "the error is logged:\n{}", out.describe());
    assert!(out.stderr.contains("stack traceback:"), "with a traceback:\n{}", out.describe());
    assert_eq!(out.stderr.matches("ERROR: ").count(), 2, "both errors are logged:\n{}", out.describe());
}

/// The log functions format printf-style: `log`/`log_quiet` on stdout, `warn` and
/// `error` on stderr with a prefix.
#[test]
fn log_functions_format_printf_style() {
    let out = run(r##"
core.log("log %d %s", 5, "x")
core.log_quiet("quiet %q", "y")
core.warn("warn %5.2f", 1.5)
core.error("error %s/%s", "a", "b")
core.log("plain text")
"##);
    out.code(0).stdout_is(&["log 5 x", "quiet \"y\"", "plain text"]);
    assert_eq!(out.stderr, "WARN: warn  1.50\nERROR: error a/b\n", "{}", out.describe());
}

// ---------------------------------------------------------------- threads

/// `core.add_thread(fn, weak_ref, ...)` passes the arguments, returns the key (a fresh
/// number, or the weak_ref), keeps an entry `{cr = coroutine}` in `core.threads` while the
/// thread lives and removes it when the thread ends.
#[test]
fn threads_are_listed_in_core_threads_while_they_run() {
    run(r##"
local ref = {}
local k1 = core.add_thread(function(a, b) show("t1", a, b); coroutine.yield(0.01) end, nil, "x", 2)
local k2 = core.add_thread(function() coroutine.yield(0.05) end, ref)
show(math.type(k1), k2 == ref)
show(type(core.threads[k1]), type(core.threads[k1].cr), type(core.threads[ref].cr))
core.add_thread(function()
  coroutine.yield(0.02)
  show("later", core.threads[k1], core.threads[ref] ~= nil)
  coroutine.yield(0.1)
  show("end", core.threads[k1], core.threads[ref])
end)
"##)
    .ok()
    .stdout_is(&["2 integer true", "3 table thread thread", "3 t1 x 2", "3 later nil true", "3 end nil nil"]);
}

/// `coroutine.yield(secs)` in a thread sleeps `secs` while other threads run: the thread
/// that sleeps longest wakes last, though it was added first.
#[test]
fn yield_with_seconds_sleeps_in_a_thread() {
    run(r##"
core.add_thread(function()
  local t0 = system.get_time()
  coroutine.yield(0.3)
  show("slow woke", system.get_time() - t0 >= 0.3)
end)
core.add_thread(function()
  for i = 1, 3 do coroutine.yield(0.01) show("fast", i) end
end)
"##)
    .ok()
    .stdout_is(&["2 fast 1", "2 fast 2", "2 fast 3", "2 slow woke true"]);
}

/// `coroutine.yield()` with no value or a negative one waits only for the next turn of the
/// loop: two such threads take turns.
#[test]
fn yield_without_seconds_takes_turns() {
    run(r##"
core.add_thread(function() for i = 1, 3 do show("a", i); coroutine.yield() end end)
core.add_thread(function() for i = 1, 3 do show("b", i); coroutine.yield(-1) end end)
"##)
    .ok()
    .stdout_is(&["2 a 1", "2 b 1", "2 a 2", "2 b 2", "2 a 3", "2 b 3"]);
}

/// A thread that raises is logged through `core.error` with a traceback and ends; the
/// other threads and the process carry on, and the exit status stays 0.
#[test]
fn a_failing_thread_is_logged_and_the_rest_goes_on() {
    let out = run(r##"
local k = core.add_thread(function() coroutine.yield(0.01); error("thread boom") end)
core.add_thread(function()
  for i = 1, 3 do coroutine.yield(0.02) show("alive", i) end
  show("entry", core.threads[k])
end)
"##);
    out.code(0).stdout_is(&["2 alive 1", "2 alive 2", "2 alive 3", "2 entry nil"]);
    assert!(out.stderr.starts_with("ERROR: t.lua:"), "logged as an error:\n{}", out.describe());
    assert!(out.stderr.contains("thread boom"), "{}", out.describe());
    assert!(out.stderr.contains("stack traceback:"), "{}", out.describe());
}

/// `core.add_background_thread` runs a thread like `add_thread` does, marked background.
#[test]
fn background_threads_run_too() {
    run(r##"
local k = core.add_background_thread(function(x)
  coroutine.yield(0.01)
  show("bg", x)
end, nil, "arg")
show(core.threads[k].background)
"##)
    .ok()
    .stdout_is(&["1 true", "2 bg arg"]);
}

/// As in the editor, a thread whose `core.threads` entry is removed, or replaced by one
/// added with the same weak_ref, is not resumed again.
#[test]
fn removing_or_replacing_the_entry_stops_a_thread() {
    run(r##"
local ref = {}
core.add_thread(function() for i = 1, 3 do show("old", i) coroutine.yield(0.01) end end, ref)
core.add_thread(function() for i = 1, 3 do show("new", i) coroutine.yield(0.01) end end, ref)
local k = core.add_thread(function()
  for i = 1, 100 do show("victim", i) coroutine.yield(0.05) end
end)
core.add_thread(function()
  coroutine.yield(0.02)
  core.threads[k] = nil
  show("removed")
end)
"##)
    .ok()
    .stdout_is(&["2 new 1", "2 victim 1", "2 new 2", "1 removed", "2 new 3"]);
}

/// Argument errors of the thread functions name the function and the caller's line.
#[test]
fn thread_argument_errors() {
    run(r##"
raises("bad argument #1 to 'add_thread' (function expected, got number)", function() core.add_thread(1) end)
raises("bad argument #1 to 'add_background_thread' (function expected, got nil)", function()
  core.add_background_thread()
end)
raises("bad argument #1 to 'sleep' (number expected, got string)", function() system.sleep("1") end)
show("ok")
"##)
    .ok()
    .stdout_is(&["1 ok"]);
}

// ---------------------------------------------------------------- system

/// `system.get_time()` is a float clock that never goes back.
#[test]
fn get_time_is_monotonic() {
    run(r##"
local last = system.get_time()
eq(math.type(last), "float")
for _ = 1, 2000 do
  local now = system.get_time()
  check(now >= last, "time went back")
  last = now
end
system.sleep(0.01)
show(system.get_time() > last)
"##)
    .ok()
    .stdout_is(&["1 true"]);
}

/// Decision 3: `system.sleep` on the main thread runs the loop (threads progress during
/// it); inside a thread it sleeps that thread only.
#[test]
fn system_sleep_inside_and_outside_threads() {
    run(r##"
local ticks = 0
core.add_thread(function()
  while ticks < 3 do ticks = ticks + 1; coroutine.yield(0.01) end
  system.sleep(0.2)
  show("sleeper woke", ticks)
end)
core.add_thread(function()
  coroutine.yield(0.05)
  show("other thread ran")
end)
local t0 = system.get_time()
system.sleep(0.1)
show("main slept", ticks, system.get_time() - t0 >= 0.1)
"##)
    .ok()
    .stdout_is(&["1 other thread ran", "3 main slept 3 true", "2 sleeper woke 3"]);
}

/// `system.get_process_id()` is this process's id.
#[test]
fn get_process_id_is_the_pid() {
    let mut bg = Script::new("show(system.get_process_id())").start();
    let pid = bg.pid();
    assert_eq!(bg.line(), format!("1 {pid}"));
    bg.finish().ok();
}

/// `system.get_file_info(path)`: `{type=, size=, modified=}` or `nil, message`.
#[test]
fn get_file_info_describes_files_and_directories() {
    let script = Script::new(
        r##"
local f = system.get_file_info("data.txt")
show(f.type, f.size, type(f.modified))
show(system.get_file_info(".").type)
local none, err = system.get_file_info("missing.txt")
show(none, err:find("No such file or directory", 1, true) ~= nil)
"##,
    );
    script.dir().write("data.txt", b"12345");
    script.run().ok().stdout_is(&["3 file 5 number", "1 dir", "2 nil true"]);
}

// ---------------------------------------------------------------- process lifetime

/// Decision 1: with no thread left and nothing pending the process ends after the main
/// chunk, even with an idle server and UDP socket still open; with threads it ends when
/// the last one does.
#[test]
fn the_process_exits_when_nothing_is_alive() {
    run(r##"
SERVER = net.create_server(0)
UDP = net.open_udp(net.resolve_address("127.0.0.1"), 0)
show("main done")
"##)
    .ok()
    .stdout_is(&["1 main done"]);
    run(r##"
core.add_thread(function()
  coroutine.yield(0.2)
  core.add_thread(function() coroutine.yield(0.1) show("second thread done") end)
  show("first thread done")
end)
show("main done")
"##)
    .ok()
    .stdout_is(&["1 main done", "1 first thread done", "1 second thread done"]);
}
