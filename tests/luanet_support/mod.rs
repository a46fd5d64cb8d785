//! Helpers for the luanet dialect tests: scripts run by the real `rlua-net` binary with
//! `--dialect luanet` in a temp directory, background peers (python3) that report their
//! port on the first line, and a Lua prelude with assertions that end the script with
//! status 3 and a `FAIL:` line.
//!
//! Every process is killed after [`HANG_LIMIT`], so a hang fails its test instead of
//! hanging the run. The limit is hang protection only: no test asserts an upper bound on
//! how long anything takes.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long any one process may run before it is killed and its test fails.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");

/// Lua helpers put in front of every test script.
///
/// * `eq(got, want, what)`, `check(cond, what)`: fail the script when not met.
/// * `throws(want, fn, ...)`: `fn(...)` must raise exactly `t.lua:<line>: want` (the
///   message reported at a line of the script, as `error(msg, 2)` does).
/// * `throws_plain(want, fn, ...)`: the message must be exactly `want` (no position).
/// * `is_err(err, T, op)`: `err` is an error object of type `T` (and `op`, if given).
/// * `nils(n, ...)`: every value is nil, and there are exactly `n` of them (`n = nil`: any
///   count).
/// * `show(...)`: prints the count and every value.
pub const PRELUDE: &str = r##"
core = require "rluanet.core"
errno = require "errno"
eai = require "errno.eai"
function fail(msg)
  io.stdout:flush()
  io.stderr:write("FAIL: ", tostring(msg), "\n", debug.traceback(), "\n")
  os.exit(3)
end
function check(cond, what)
  if not cond then fail(what or "check failed") end
  return cond
end
function eq(got, want, what)
  if got ~= want then
    fail(("%s: got %s (%s), want %s (%s)"):format(what or "eq", tostring(got), type(got), tostring(want), type(want)))
  end
end
function throws(want, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail("no error; wanted '" .. want .. "'") end
  local where, msg = tostring(err):match("^([^\n]-):%d+: (.*)$")
  if msg ~= want or where ~= "t.lua" then
    fail(("error '%s'; wanted 't.lua:<line>: %s'"):format(tostring(err), want))
  end
end
function throws_plain(want, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail("no error; wanted '" .. want .. "'") end
  if tostring(err) ~= want then
    fail(("error '%s'; wanted '%s'"):format(tostring(err), want))
  end
end
function is_err(err, T, op, what)
  if type(err) ~= "table" or err.type ~= T then
    fail(("%s: got error %s, wanted type %s"):format(what or "is_err", tostring(err), T and T.name or "?"))
  end
  if op ~= nil and err.op ~= op then
    fail(("%s: error op %s, wanted %s"):format(what or "is_err", tostring(err.op), op))
  end
  return err
end
function nils(n, ...)
  if n ~= nil and select("#", ...) ~= n then
    fail(("wanted %d values, got %d"):format(n, select("#", ...)))
  end
  for i = 1, select("#", ...) do
    if (select(i, ...)) ~= nil then fail(("value %d is %s, wanted nil"):format(i, tostring((select(i, ...))))) end
  end
end
function show(...)
  local t = { select("#", ...) }
  for i = 1, select("#", ...) do t[#t + 1] = tostring((select(i, ...))) end
  print(table.concat(t, " "))
end
"##;

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rln-luanet-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a script run ended.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn describe(&self) -> String {
        format!("exit: {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `body` after the prelude as `t.lua` in a fresh temp directory (its working
/// directory), with `--dialect luanet`. The process is killed after [`HANG_LIMIT`].
pub fn run(tag: &str, body: &str) -> Outcome {
    let dir = TempDir::new(tag);
    run_in(&dir, body)
}

/// As [`run`], in an existing directory.
pub fn run_in(dir: &TempDir, body: &str) -> Outcome {
    run_in_env(dir, body, &[])
}

/// As [`run_in`], with extra environment variables (e.g. `SSL_CERT_FILE`).
pub fn run_in_env(dir: &TempDir, body: &str, envs: &[(&str, &str)]) -> Outcome {
    std::fs::write(dir.path().join("t.lua"), format!("{PRELUDE}{body}")).expect("write script");
    let child = Command::new(BIN)
        .args(["--dialect", "luanet", "t.lua"])
        .envs(envs.iter().copied())
        .current_dir(dir.path())
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
    let out = match rx.recv_timeout(HANG_LIMIT) {
        Ok(out) => out.expect("wait for rlua-net"),
        Err(_) => {
            // SAFETY: kill(2) on the child we spawned; it has not been reaped yet.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("script {} did not finish within {HANG_LIMIT:?}", dir.path().display());
        }
    };
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `body` and returns its stdout, failing the test unless it exits 0 with nothing on
/// stderr.
pub fn lua_ok(tag: &str, body: &str) -> String {
    let out = run(tag, body);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "script {tag} failed\n{}", out.describe());
    out.stdout
}

/// As [`lua_ok`], in an existing directory.
pub fn lua_ok_in(dir: &TempDir, body: &str) -> String {
    let out = run_in(dir, body);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "script failed\n{}", out.describe());
    out.stdout
}

/// As [`lua_ok_in`], with extra environment variables.
pub fn lua_ok_in_env(dir: &TempDir, body: &str, envs: &[(&str, &str)]) -> String {
    let out = run_in_env(dir, body, envs);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "script failed\n{}", out.describe());
    out.stdout
}

/// A background process whose stdout lines arrive on a channel; killed when dropped.
pub struct Peer {
    child: Child,
    lines: Receiver<String>,
}

impl Peer {
    /// Starts `cmd` (its stdin and stderr as the caller set them) with stdout piped.
    pub fn spawn(mut cmd: Command) -> Peer {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out = child.stdout.take().expect("peer stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    /// The next line that starts with `prefix` (earlier lines are skipped), within
    /// [`HANG_LIMIT`] for each line.
    pub fn line_starting(&self, prefix: &str) -> String {
        loop {
            let line = self.line();
            if line.starts_with(prefix) {
                return line;
            }
        }
    }

    /// The lines printed until the peer closes its stdout (at most [`HANG_LIMIT`] for each).
    pub fn rest(&self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(HANG_LIMIT) {
            out.push(line);
        }
        out
    }

    /// The next line the peer printed, within [`HANG_LIMIT`].
    pub fn line(&self) -> String {
        self.lines.recv_timeout(HANG_LIMIT).expect("a line from the peer")
    }

    /// Waits for the peer to exit (killing it after [`HANG_LIMIT`]); its exit code.
    pub fn wait(mut self) -> Option<i32> {
        let start = std::time::Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            if start.elapsed() > HANG_LIMIT {
                let _ = self.child.kill();
                panic!("peer did not finish");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `body` (after the prelude) as `t.lua` in `dir` with `--dialect luanet` in the
/// background, with extra environment variables; its stderr goes to `stderr.txt` in `dir`.
pub fn lua_peer(dir: &TempDir, body: &str, envs: &[(&str, &str)]) -> Peer {
    std::fs::write(dir.path().join("t.lua"), format!("{PRELUDE}{body}")).expect("write script");
    let err = std::fs::File::create(dir.path().join("stderr.txt")).expect("create stderr.txt");
    let mut cmd = Command::new(BIN);
    cmd.args(["--dialect", "luanet", "t.lua"])
        .envs(envs.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::from(err));
    Peer::spawn(cmd)
}

/// Whether python3 can be run (tests with python peers are skipped without it).
pub fn have_python() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("pass")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts `python3 -u -c code` in `dir`.
pub fn python(dir: &Path, code: &str) -> Peer {
    let mut child = Command::new("python3")
        .arg("-u")
        .arg("-c")
        .arg(code)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn python3");
    let out = child.stdout.take().expect("peer stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Peer { child, lines }
}
