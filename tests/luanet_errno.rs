//! The luanet dialect's `errno`, `errno.eai` and `error` helper modules
//! (stdlib/luanet/errno.lua, errno/eai.lua, error.lua), run through the real binary:
//! type identities and fields, lookups by name and number, tostring formats, `error.is`
//! on direct and wrapped errors, new/wrap/unwrap, `op`, type creation, turning core
//! failures into errors, raising error objects, and loading under a second name.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Helpers every script gets. `eq` fails the script (exit 1, message on stderr) when two
/// values differ; `throws` returns the message of the error a call raises.
const PRELUDE: &str = r##"local errno = require "luanet.errno"
local lerr = require "luanet.error"
local eai = require "luanet.errno.eai"
local core = require "rluanet.core"
local function eq(got, want, what)
  if got ~= want then
    io.stderr:write(("MISMATCH %s\n  got:  %s\n  want: %s\n"):format(what or "?", tostring(got), tostring(want)))
    os.exit(1)
  end
end
local function throws(f, ...)
  local ok, e = pcall(f, ...)
  eq(ok, false, "expected an error")
  return tostring(e)
end
local function line() return debug.getinfo(2, "l").currentline end
"##;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn describe(&self) -> String {
        format!("exit: {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rluanet-errno-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `body` (after the prelude, or alone when `prelude` is false) as `t.lua` in a
/// temp directory. A run that has not finished after a minute is killed (hang guard).
fn run_with(tag: &str, body: &str, prelude: bool) -> Outcome {
    let dir = TempDir::new(tag);
    let src = if prelude { format!("{PRELUDE}{body}") } else { body.to_string() };
    std::fs::write(dir.0.join("t.lua"), src).expect("write script");
    let child = Command::new(env!("CARGO_BIN_EXE_rlua-net"))
        .arg("t.lua")
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rlua-net");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("wait for rlua-net"),
        Err(_) => {
            // SAFETY: kill(2) on the child we spawned; it has not been reaped yet.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("script {tag} did not finish");
        }
    };
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `body` after the prelude and returns its stdout, failing unless it exits 0 with
/// nothing on stderr.
fn lua_ok(tag: &str, body: &str) -> String {
    let out = run_with(tag, body, true);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "script {tag} failed\n{}", out.describe());
    out.stdout
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

/// The `EAI_NONAME` code and text of this platform's resolver.
fn eai_noname() -> (i32, &'static str) {
    if cfg!(any(target_os = "macos", target_os = "ios", target_os = "freebsd")) {
        (8, "nodename nor servname provided, or not known")
    } else {
        (-2, "Name or service not known")
    }
}

#[test]
fn errno_types_have_names_codes_and_messages() {
    let out = lua_ok(
        "fields",
        r##"
local t = errno.ECONNREFUSED
eq(t.name, "ECONNREFUSED", "name")
eq(t.code, core.errno.ECONNREFUSED, "code")
eq(t.errno, t.code, "errno field")
eq(math.type(t.code), "integer", "integer code")
eq(t.message, "Connection refused", "message")
eq(errno[t.code], t, "lookup by number")
eq(errno.ECONNREFUSED, t, "same object twice")
eq(lerr.typeof(t), t, "an error.type")
eq(lerr.type.get("ECONNREFUSED"), t, "registered by name")
eq(tostring(t):match("^ECONNREFUSED: 0x%x+$") ~= nil, true, "tostring " .. tostring(t))
eq(errno.EINVAL.message, "Invalid argument", "EINVAL text")
eq(errno.ENOENT.message, "No such file or directory", "ENOENT text")
-- every name the core knows, with the core's code
local n = 0
for name, code in pairs(core.errno) do
  eq(errno[name] ~= nil, true, "defined " .. name)
  eq(errno[name].code, code, "code of " .. name)
  n = n + 1
end
eq(n > 40, true, "core names")
-- pairs yields only types, consistent both ways
local names, codes = 0, 0
for k, v in pairs(errno) do
  if type(k) == "string" then
    eq(v.name, k, "name key " .. k)
    eq(errno[v.code].code, v.code, "code of " .. k)
    names = names + 1
  else
    eq(math.type(k), "integer", "integer key")
    eq(v.code, k, "code key " .. k)
    eq(errno[v.name], v, "name of code " .. k)
    codes = codes + 1
  end
end
eq(errno.nosuchname, nil, "unknown name")
eq(errno[123456], nil, "unknown code")
print(names >= n, codes > 0, errno.ECONNREFUSED.code, errno.EINVAL.code)
"##,
    );
    assert_eq!(lines(&out), [format!("true\ttrue\t{}\t{}", libc::ECONNREFUSED, libc::EINVAL)]);
}

#[test]
fn names_sharing_a_code_are_distinct_types_and_the_number_finds_the_first() {
    let out = lua_ok(
        "aliases",
        r##"
eq(errno.EAGAIN.code, errno.EWOULDBLOCK.code, "same code")
eq(errno.EAGAIN ~= errno.EWOULDBLOCK, true, "distinct types")
eq(errno.EWOULDBLOCK.name, "EWOULDBLOCK", "alias name")
eq(errno[errno.EAGAIN.code], errno.EAGAIN, "number finds EAGAIN")
if errno.EOPNOTSUPP.code == errno.ENOTSUP.code then
  eq(errno[errno.ENOTSUP.code], errno.EOPNOTSUPP, "number finds EOPNOTSUPP")
else
  eq(errno[errno.ENOTSUP.code], errno.ENOTSUP, "own code")
  eq(errno[errno.EOPNOTSUPP.code], errno.EOPNOTSUPP, "own code")
end
print(errno[errno.EWOULDBLOCK.code].name)
"##,
    );
    assert_eq!(lines(&out), ["EAGAIN"]);
}

#[cfg(target_os = "linux")]
#[test]
fn linux_defines_names_beyond_the_core_with_their_strerror_texts() {
    let out = lua_ok(
        "linux",
        r##"
eq(core.errno.EXDEV, nil, "not a core name")
print(errno.EXDEV.code, errno.EXDEV.message)
print(errno.EHWPOISON.code, errno.ENOTSUP == errno[95], errno[95].name)
"##,
    );
    assert_eq!(lines(&out), ["18\tInvalid cross-device link", "133\tfalse\tEOPNOTSUPP"]);
}

#[test]
fn errno_new_by_name_or_number_with_message_and_op() {
    lua_ok(
        "new",
        r##"
local T = errno.EINVAL
for _, id in ipairs({ "EINVAL", T.code }) do
  local err = errno.new(id)
  eq(err.type, T, "type")
  eq(err.code, T.code, "code")
  eq(err.op, nil, "no op")
  eq(err.message.message, nil, "no message")
  eq(lerr.is(err, T), err, "is")

  err = errno.new(id, "hello")
  eq(err.message.message, "hello", "message")
  eq(err.op, nil, "no op")

  err = errno.new(id, "hello", "bind")
  eq(err.op, "bind", "op")
  eq(err.message.op, "bind", "message op")
  eq(err.message.code, T.code, "message code")
  eq(err.message.message, "hello", "message")

  err = errno.new(id, nil, "bind")
  eq(err.op, "bind", "op only")
  eq(err.message.message, nil, "op only message")
end
eq(throws(errno.new, "foo"):find('"foo" is not defined', 1, true) ~= nil, true, "unknown name")
eq(throws(errno.new, 987654):find('"987654" is not defined', 1, true) ~= nil, true, "unknown code")
eq(throws(errno.new, "new"):find('"new" is not defined', 1, true) ~= nil, true, "function name")
eq(throws(errno.new, "EINVAL", nil, 5):find("bad argument #3", 1, true) ~= nil, true, "op type")
eq(throws(errno.new, "EINVAL", nil, nil, "x"):find("bad argument #4", 1, true) ~= nil, true, "wrap type")
-- a wrapped error and a structured message
local inner = errno.new("ENOENT")
local err = errno.new("EINVAL", lerr.message.new("detail"), "open", inner)
eq(err:unwrap(), inner, "wrap")
eq(err.message.message, "detail", "structured message text kept")
eq(err.op, "open", "op")
"##,
    );
}

#[test]
fn tostring_shows_where_type_op_message_and_wrapped_errors() {
    let out = lua_ok(
        "tostring",
        r##"
local a, la = errno.new("ECONNREFUSED", nil, "connect"), line()
print(a, la)
local b, lb = errno.new("EINVAL", "bad port", "bind"), line()
print(b, lb)
local c, lc = errno.new("ENOENT", "x.sock"), line()
print(c, lc)
local d, ld = lerr.new("plain"), line()
print(d, ld)
local e, le = lerr.new(lerr.message.new("with op", "read")), line()
print(e, le)
local f, lf = lerr.new("outer", a), line()
print(f)
print(lf)
local function g() local x = lerr.new("deep") return x end
local gerr, lg = g(), line()
print(gerr, lg)
local obj = {}
function obj:m() local x = errno.new("EINVAL") return x end
local merr = obj:m()
print(merr)
local n = lerr.new(nil)
print(n)
local T = lerr.type.new("no.text")
print(T:new("just this"))
print(T:new())
print(lerr.message.new("text", "op"), lerr.message.new("text"))
"##,
    );
    let got = lines(&out);
    let field = |i: usize| got[i].rsplit('\t').next().unwrap_or("").to_string();
    let head = |i: usize| got[i].split('\t').next().unwrap_or("").to_string();
    let (refused, inval, noent) = (libc::ECONNREFUSED, libc::EINVAL, libc::ENOENT);
    assert_eq!(
        head(0),
        format!("t.lua:{}: in main chunk: [ECONNREFUSED:{refused}][connect] Connection refused", field(0))
    );
    assert_eq!(
        head(1),
        format!("t.lua:{}: in main chunk: [EINVAL:{inval}][bind] Invalid argument (bad port)", field(1))
    );
    assert_eq!(
        head(2),
        format!("t.lua:{}: in main chunk: [ENOENT:{noent}] No such file or directory (x.sock)", field(2))
    );
    assert_eq!(head(3), format!("t.lua:{}: in main chunk: plain", field(3)));
    assert_eq!(head(4), format!("t.lua:{}: in main chunk: [read] with op", field(4)));
    // the wrapping error, then the wrapped one on the next line
    assert_eq!(got[5], format!("t.lua:{}: in main chunk: outer", got[7]));
    assert_eq!(got[6], head(0));
    let gline = field(8).parse::<i64>().expect("line number") - 1;
    assert_eq!(head(8), format!("t.lua:{gline}: in local 'g': deep"));
    assert!(
        got[9].starts_with("t.lua:")
            && got[9].ends_with(&format!(": in method 'm': [EINVAL:{inval}] Invalid argument")),
        "{}",
        got[9]
    );
    assert!(got[10].ends_with(": in main chunk: (no message)"), "{}", got[10]);
    assert!(got[11].ends_with(": in main chunk: [no.text:-1] just this"), "{}", got[11]);
    assert!(got[12].ends_with(": in main chunk: [no.text:-1] (no message)"), "{}", got[12]);
    assert_eq!(got[13], "[op:op] text\ttext");
    assert_eq!(got.len(), 14, "{out}");
}

#[test]
fn error_is_finds_direct_and_wrapped_errors() {
    lua_ok(
        "is",
        r##"
local T = lerr.type.new("is.test", 3, "Test failure")
local msg = lerr.message.new("root cause")
local root = lerr.new(msg)
local typed = T:new("typed", root)
local refused = errno.new("ECONNREFUSED", nil, "connect", typed)
local top = lerr.new("top", refused)

-- direct
eq(lerr.is(refused, errno.ECONNREFUSED), refused, "direct type")
eq(lerr.is(top, top), top, "itself")
eq(lerr.is(top, "top"), top, "own message")
-- wrapped, at every depth
eq(lerr.is(top, errno.ECONNREFUSED), refused, "type one down")
eq(lerr.is(top, T), typed, "type two down")
eq(lerr.is(top, root), root, "error object at the bottom")
eq(lerr.is(top, msg), root, "message object")
eq(lerr.is(top, "root cause"), root, "message text")
eq(lerr.is(top, "typed"), typed, "message text of a typed error")
eq(lerr.is(top, "ECONNREFUSED"), refused, "registered type name")
eq(lerr.is(top, "is.test"), typed, "own type name")
-- several targets: the first that matches
eq(lerr.is(top, errno.ETIMEDOUT, T), typed, "second target")
eq(lerr.is(top, nil, errno.ECONNREFUSED), refused, "nil target skipped")
-- no match
eq(lerr.is(top, errno.ETIMEDOUT), nil, "other type")
eq(lerr.is(refused, "top"), nil, "only downwards")
eq(lerr.is(top, lerr.new("top")), nil, "another error with the same text")
eq(lerr.is(top), nil, "no target")
eq(lerr.is("not an error", "not an error"), nil, "not an error")
eq(lerr.is(nil, errno.EINVAL), nil, "nil")
-- the method form and the comparison lua-net v0.41 tests use
eq(top:is(T), typed, "method")
eq(refused.type == errno.ECONNREFUSED, true, "type identity")
eq(refused.code, errno.ECONNREFUSED.code, "code")
eq(lerr.typeof(refused), errno.ECONNREFUSED, "typeof")
eq(lerr.typeof(root), nil, "untyped")
eq(lerr.typeof("x"), nil, "not an error")
"##,
    );
}

#[test]
fn new_wrap_unwrap_cause_and_toerror() {
    lua_ok(
        "wrap",
        r##"
local a = lerr.new("first")
local b = lerr.new("second", a)
local c = errno.new("EIO", nil, nil, b)
eq(lerr.unwrap(c), b, "unwrap")
eq(c:unwrap(), b, "method")
eq(lerr.unwrap(b), a, "unwrap again")
eq(lerr.unwrap(a), nil, "bottom")
eq(b.wrap, a, "wrap field")
eq(a.code, -1, "untyped code")
eq(a.type, nil, "untyped type")
eq(throws(lerr.unwrap, "x"):find("bad argument #1 to 'unwrap'", 1, true) ~= nil, true, "unwrap a string")
eq(throws(lerr.new, "x", "not an error"):find("bad argument #2 to 'new' (error expected", 1, true) ~= nil, true, "wrap check")
eq(throws(lerr.new, "x", nil, 0):find("bad argument #3 to 'new'", 1, true) ~= nil, true, "level check")
eq(throws(lerr.new, "x", nil, nil, 1):find("bad argument #4 to 'new'", 1, true) ~= nil, true, "traceback check")
-- argument errors point at the script line that made the call
local ok, e = pcall(function() lerr.new("x", 5) end)
eq(e:find("^t%.lua:%d+: bad argument #2 to 'new'") ~= nil, true, "position " .. tostring(e))
-- cause
local m, is = lerr.cause(a)
eq(m, a.message, "cause of error")
eq(is, true, "is message")
eq(m.message, "first", "text")
m, is = lerr.cause("plain")
eq(m, "plain", "cause of string")
eq(is, false, "not a message")
local msg = lerr.message.new("x")
m, is = lerr.cause(msg)
eq(m, msg, "cause of message")
eq(is, true, "message")
eq(select("#", lerr.cause(nil)), 2, "two results")
-- toerror
eq(lerr.toerror(a), a, "an error stays")
local t = lerr.toerror("made", a)
eq(t.message.message, "made", "made")
eq(t.wrap, a, "with wrap")
-- any value as message
local tbl = setmetatable({}, { __tostring = function() return "from __tostring" end })
eq(tostring(lerr.new(tbl)):find("in main chunk: from __tostring", 1, true) ~= nil, true, "__tostring message")
eq(lerr.new(42).message.message, 42, "number message")
"##,
    );
}

#[test]
fn level_traceback_debug_and_format() {
    let out = lua_ok(
        "level",
        r##"
local function make(level) local x = lerr.new("here", nil, level) return x end
local a, la = make(2), line()
print(a, la)
local b = make(1)
eq(tostring(b):find("in local 'make': here", 1, true) ~= nil, true, "level 1 is make " .. tostring(b))
local function make_typed() local x = errno.new("EINVAL") return x end
local c, lc = make_typed(), line()
eq(tostring(c):find(":" .. (lc - 1) .. ": in local 'make_typed': ", 1, true) ~= nil, true, "errno.new names its caller " .. tostring(c))
local t = lerr.new("traced", nil, nil, true)
eq(t.traceback:find("^stack traceback:\n") ~= nil, true, "traceback kept")
eq(tostring(t):find("traced\nstack traceback:\n", 1, true) ~= nil, true, "traceback shown")
eq(lerr.new("plain").traceback, nil, "no traceback")
lerr.debug(true)
eq(lerr.new("debug").traceback ~= nil, true, "debug mode keeps tracebacks")
eq(errno.new("EINVAL").traceback ~= nil, true, "for errno errors too")
lerr.debug(false)
eq(lerr.new("again").traceback, nil, "debug off")
eq(throws(lerr.debug, "yes"):find("bad argument #1 to 'debug'", 1, true) ~= nil, true, "debug check")
-- format
local f, lf = lerr.format("%s is %d%%", "x", 5), line()
print(f, lf)
local g = lerr.format("failed %q", "y", "extra cause")
eq(g.message.message, 'failed "y": extra cause', "non-error appended")
eq(g.wrap, nil, "not wrapped")
local h = lerr.format("wrapping %s", "z", f)
eq(h.wrap, f, "error wrapped")
eq(h.message.message, "wrapping z", "text")
"##,
    );
    let got = lines(&out);
    let (text, line) = got[0].split_once('\t').expect("two fields");
    assert_eq!(text, format!("t.lua:{line}: in main chunk: here"));
    let (text, line) = got[1].split_once('\t').expect("two fields");
    assert_eq!(text, format!("t.lua:{line}: in main chunk: x is 5%"));
    assert_eq!(got.len(), 2, "{out}");
}

#[test]
fn error_types_are_created_registered_and_used() {
    lua_ok(
        "types",
        r##"
local T = lerr.type.new("my.error_1", 42, "My failure")
eq(T.name, "my.error_1", "name")
eq(T.code, 42, "code")
eq(T.message, "My failure", "message")
eq(lerr.type.get("my.error_1"), T, "registered")
eq(lerr.typeof(T), T, "typeof a type")
local e = T:new("detail")
eq(e.type, T, "typed")
eq(e.code, 42, "code copied")
eq(tostring(e):find("in main chunk: [my.error_1:42] My failure (detail)", 1, true) ~= nil, true, tostring(e))
local called = T("by call")
eq(called.type, T, "calling the type")
eq(called.message.message, "by call", "message")
eq(tostring(called):find("in main chunk: [my.error_1:42]", 1, true) ~= nil, true, "call position " .. tostring(called))
-- defaults
local D = lerr.type.new("Plain")
eq(D.code, -1, "default code")
eq(D.message, nil, "no message")
-- names are checked and unique
eq(throws(lerr.type.new, "my.error_1"):find("already used", 1, true) ~= nil, true, "duplicate")
eq(throws(lerr.type.new, "ECONNREFUSED"):find("already used", 1, true) ~= nil, true, "errno names taken")
eq(throws(lerr.type.new, 12):find("bad argument #1", 1, true) ~= nil, true, "not a string")
eq(throws(lerr.type.new, ""):find("bad argument #1", 1, true) ~= nil, true, "empty")
eq(throws(lerr.type.new, "1abc"):find("bad argument #1", 1, true) ~= nil, true, "leading digit")
eq(throws(lerr.type.new, "a b"):find("bad argument #1", 1, true) ~= nil, true, "space")
eq(throws(lerr.type.new, ("x"):rep(128)):find("bad argument #1", 1, true) ~= nil, true, "too long")
eq(lerr.type.new(("y"):rep(127)).name, ("y"):rep(127), "longest")
eq(throws(lerr.type.new, "ok.name", 1.5):find("bad argument #2", 1, true) ~= nil, true, "code")
eq(throws(lerr.type.new, "ok.name", 1, {}):find("bad argument #3", 1, true) ~= nil, true, "message")
-- del
eq(lerr.type.del("Plain"), true, "deleted")
eq(lerr.type.del("Plain"), false, "gone")
eq(lerr.type.get("Plain"), nil, "not found")
local D2 = lerr.type.new("Plain")
eq(D2 ~= D, true, "name reusable")
-- the registry does not keep types alive
do lerr.type.new("short.lived") end
collectgarbage("collect")
collectgarbage("collect")
eq(lerr.type.get("short.lived"), nil, "collected")
"##,
    );
}

#[test]
fn raising_error_objects_keeps_them() {
    lua_ok(
        "raise",
        r##"
local err = errno.new("ECONNRESET", nil, "recv")
local ok, got = pcall(error, err)
eq(ok, false, "raised")
eq(got, err, "same object")
ok, got = pcall(function() error(err, 2) end)
eq(got, err, "level ignored for objects")
ok, got = pcall(function() error(lerr.new("wrapped", err)) end)
eq(lerr.is(got, errno.ECONNRESET), err, "is after pcall")
-- the global error is still Lua's, the module is a callable table
eq(type(error), "function", "global error")
eq(type(lerr), "table", "module")
eq(rawget(_G, "errno"), nil, "no errno global")
local ok2, builtin
ok, got = pcall(function() lerr("called", 1) end); ok2, builtin = pcall(function() error("called", 1) end)
eq(ok, false, "module call raises")
eq(got:find("^t%.lua:%d+: called$") ~= nil, true, "module call adds the position " .. got)
eq(got, builtin, "as Lua's error does")
ok, got = pcall(function() lerr("up", 2) end); ok2, builtin = pcall(function() error("up", 2) end)
eq(got, builtin, "level 2 as Lua's error")
ok, got = pcall(lerr, "bare", 0)
eq(got, "bare", "level 0")
ok, got = pcall(lerr, err)
eq(got, err, "module call with an object")
print("done")
"##,
    );
    // uncaught: reported through __tostring, exit status 1
    let out = run_with(
        "uncaught",
        "local errno = require 'luanet.errno'\nlocal err = errno.new('EPIPE', nil, 'write')\nerror(err)\n",
        false,
    );
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let want = format!("t.lua:2: in main chunk: [EPIPE:{}][write] Broken pipe", libc::EPIPE);
    assert!(out.stderr.contains(&want), "wanted {want:?}\n{}", out.describe());
}

#[test]
fn core_failures_become_errno_errors() {
    let out = lua_ok(
        "from_core",
        r##"
-- a known code whose text is the type's: no sub-message
local a, la = errno.from_core(errno.ECONNREFUSED.message, errno.ECONNREFUSED.code, "connect"), line()
print(a, la)
eq(a.type, errno.ECONNREFUSED, "type")
eq(a.op, "connect", "op")
eq(a.message.message, nil, "no repeated text")
-- a known code with words of the core's own
local b = errno.from_core("read buffer limit reached", errno.ENOBUFS.code, "read")
eq(b.type, errno.ENOBUFS, "ENOBUFS")
eq(b.message.message, "read buffer limit reached", "kept")
eq(tostring(b):find("[ENOBUFS:" .. errno.ENOBUFS.code .. "][read] " .. errno.ENOBUFS.message .. " (read buffer limit reached)", 1, true) ~= nil, true, tostring(b))
-- an unknown code, or none: untyped
local c = errno.from_core("strange", 987654, "x")
eq(c.type, nil, "untyped")
eq(c.code, -1, "generic code")
eq(c.message.code, 987654, "code kept in the message")
eq(tostring(c):find("in main chunk: [x] strange", 1, true) ~= nil, true, tostring(c))
local d = errno.from_core("handshake failed", nil, "handshake")
eq(d.type, nil, "no code")
eq(d.op, "handshake", "op")
-- level: 2 names the caller of the function that called from_core
local function fail() local e = errno.from_core("Connection refused", errno.ECONNREFUSED.code, "connect", 2) return e end
local e, le = fail(), line()
eq(tostring(e):find("t.lua:" .. le .. ": in main chunk:", 1, true) ~= nil, true, "level 2 " .. tostring(e))
eq(throws(errno.from_core, "m", 1, "op", 0):find("bad argument #4", 1, true) ~= nil, true, "level check")
eq(throws(errno.from_core, "m", 1, 7):find("bad argument #3", 1, true) ~= nil, true, "op check")

-- a real refused connection through the core
local l = assert(core.listen("127.0.0.1", 0))
local _, port = l:local_addr()
l:close()
local s = assert(core.connect("127.0.0.1", port))
local ok, msg, code
for _ = 1, 100 do
  ok, msg, code = s:connected()
  if ok ~= false then break end
  core.wait(s, "w", 1)
end
eq(ok, nil, "connection refused")
local err = errno.from_core(msg, code, "connect")
eq(err.type, errno.ECONNREFUSED, "real failure " .. tostring(msg))
eq(lerr.is(err, errno.ECONNREFUSED), err, "error.is")
print(err:is(errno.ECONNREFUSED) == err, err.message.message)
"##,
    );
    let got = lines(&out);
    let (text, line) = got[0].split_once('\t').expect("two fields");
    assert_eq!(
        text,
        format!("t.lua:{line}: in main chunk: [ECONNREFUSED:{}][connect] Connection refused", libc::ECONNREFUSED)
    );
    assert_eq!(got[1], "true\tnil");
    assert_eq!(got.len(), 2, "{out}");
}

#[test]
fn eai_types_follow_the_platform() {
    let (code, text) = eai_noname();
    let out = lua_ok(
        "eai",
        r##"
local t = eai.EAI_NONAME
eq(t.name, "EAI_NONAME", "name")
eq(eai[t.code], t, "by number")
eq(errno.eai, eai, "errno.eai")
eq(errno.EAI_NONAME, nil, "not an errno name")
for _, name in ipairs({ "EAI_AGAIN", "EAI_BADFLAGS", "EAI_FAIL", "EAI_FAMILY", "EAI_MEMORY",
                        "EAI_NONAME", "EAI_SERVICE", "EAI_SOCKTYPE", "EAI_SYSTEM", "EAI_OVERFLOW" }) do
  eq(eai[name] ~= nil, true, name)
  eq(type(eai[name].message), "string", name .. " text")
end
local n = 0
for k, v in pairs(eai) do
  if type(k) == "string" then
    eq(v.name, k, "name key")
    eq(eai[v.code].message, v.message, "code key")
  else
    eq(v.code, k, "code")
    eq(eai[v.name], v, "name")
  end
  n = n + 1
end
eq(n >= 20, true, "entries")
-- new, as in lua-errno's eai test
local err = eai.new(eai.EAI_BADFLAGS.code)
eq(err.type, eai.EAI_BADFLAGS, "by code")
eq(err.code, eai.EAI_BADFLAGS.code, "code")
eq(err.op, nil, "no op")
eq(err.message.message, nil, "no message")
err = eai.new("EAI_BADFLAGS", "hello", "world")
eq(err.op, "world", "op")
eq(err.message.message, "hello", "message")
eq(throws(eai.new, "foo"):find('"foo" is not defined', 1, true) ~= nil, true, "unknown")
-- resolver failures
local r = eai.from_core(t.message, t.code, "getaddrinfo")
eq(lerr.is(r, eai.EAI_NONAME), r, "is")
eq(r.message.message, nil, "text not repeated")
local r2 = eai.from_core("no address found", t.code, "getaddrinfo")
eq(r2.message.message, "no address found", "own words kept")
print(t.code, t.message)
"##,
    );
    assert_eq!(lines(&out), [format!("{code}\t{text}")]);
}

#[test]
fn modules_are_single_instances_under_any_name() {
    // Load each embedded chunk again, as a searcher would for a bare name like "errno".
    let body = r##"
local function fresh(name, as)
  for _, searcher in ipairs(package.searchers) do
    local loader, data = searcher(name)
    if type(loader) == "function" then return loader(as, data) end
  end
  error("no loader for " .. name)
end
-- the bare names first, then the canonical ones
local e1 = fresh("luanet.error", "error")
local n1 = fresh("luanet.errno", "errno")
local a1 = fresh("luanet.errno.eai", "errno.eai")
local lerr = require "luanet.error"
local errno = require "luanet.errno"
local eai = require "luanet.errno.eai"
assert(e1 == lerr and n1 == errno and a1 == eai, "bare-name loads first")
-- and again once the canonical ones are loaded
assert(fresh("luanet.error", "error") == lerr, "error again")
assert(fresh("luanet.errno", "errno") == errno, "errno again")
assert(fresh("luanet.errno.eai", "errno.eai") == eai, "eai again")
-- one registry and one set of types: errors from either name are the same kind
local err = errno.new("EINVAL")
assert(fresh("luanet.error", "error").is(err, errno.EINVAL) == err, "shared error.is")
assert(lerr.type.get("EINVAL") == errno.EINVAL, "shared registry")
print("single")
"##;
    let out = run_with("single", body, false);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "{}", out.describe());
    assert_eq!(lines(&out.stdout), ["single"]);
}
