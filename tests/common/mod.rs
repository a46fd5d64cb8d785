//! Helpers shared by the integration tests: temporary directories, running the real
//! `rlua-net` binary on a Lua script with a hard timeout, and background peers (other
//! `rlua-net` processes, python3, openssl) whose output is read line by line.
//!
//! Every process is killed after [`HARD_TIMEOUT`], so a hang fails its test instead of
//! hanging the run. The limit is only hang protection: no test asserts how fast anything is.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any one process may run before it is killed and its test fails.
pub const HARD_TIMEOUT: Duration = Duration::from_secs(30);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rlua-net")
}

/// A fresh directory under the system temp dir, removed again on drop. Names stay short
/// so Unix socket paths inside fit `sun_path`.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rln-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The path of `name` in this directory as a string (for script arguments).
    pub fn arg(&self, name: &str) -> String {
        self.join(name).to_string_lossy().into_owned()
    }

    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished process left behind.
pub struct Output {
    pub name: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "{} exited with {:?} (signal {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.status.code(),
            self.status.signal(),
            self.stdout,
            self.stderr
        )
    }

    /// Neither a Rust panic nor a fatal signal (abort, SIGPIPE, SIGSEGV...) ended the run.
    pub fn assert_no_panic(&self) -> &Self {
        assert!(!self.stderr.contains("panicked"), "the runtime panicked:\n{}", self.describe());
        assert!(self.status.signal().is_none(), "killed by a signal:\n{}", self.describe());
        self
    }

    /// Exit status 0 and no panic.
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        self.assert_no_panic();
        assert_eq!(self.status.code(), Some(code), "unexpected exit status:\n{}", self.describe());
        self
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// The tab-separated fields after the first stdout line whose first field is `key`
    /// (what `print(key, ...)` wrote). Panics if there is no such line.
    pub fn field(&self, key: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| f[0] == key)
            .map(|f| f[1..].to_vec())
            .unwrap_or_else(|| panic!("no line starting with '{key}':\n{}", self.describe()))
    }

    /// The first field after `key`, parsed as an integer.
    pub fn int(&self, key: &str) -> i64 {
        let f = self.field(key);
        let v = f.first().unwrap_or_else(|| panic!("line '{key}' has no value:\n{}", self.describe()));
        v.parse().unwrap_or_else(|_| panic!("line '{key}': '{v}' is not an integer:\n{}", self.describe()))
    }
}

/// A process running in the background; its stdout arrives line by line.
pub struct Running {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    deadline: Instant,
}

fn read_lines(out: ChildStdout, tx: mpsc::Sender<String>) {
    let mut r = BufReader::new(out);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Starts `cmd` with piped output; `stdin` is written (then closed) by a helper thread,
/// or stdin is `/dev/null` when `None`.
pub fn spawn(mut cmd: Command, name: &str, stdin: Option<Vec<u8>>) -> Running {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    if let (Some(data), Some(mut input)) = (stdin, child.stdin.take()) {
        std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
    }
    let (tx, lines) = mpsc::channel();
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || read_lines(out, tx));
    let mut err = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    Running {
        name: name.to_string(),
        child,
        lines,
        seen: Vec::new(),
        stderr: Some(stderr),
        deadline: Instant::now() + HARD_TIMEOUT,
    }
}

impl Running {
    /// The next stdout line; fails the test if the process ends or stalls first.
    pub fn next_line(&mut self) -> String {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(l) => {
                self.seen.push(l.clone());
                l
            }
            Err(e) => {
                let what = match e {
                    RecvTimeoutError::Timeout => "stalled",
                    RecvTimeoutError::Disconnected => "closed its output",
                };
                let out = self.stop();
                panic!("{} {what} before printing the expected line:\n{}", self.name, out.describe());
            }
        }
    }

    /// Kills the process (if it still runs) and returns what it printed.
    fn stop(&mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait for child");
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => break,
            }
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let mut stdout = self.seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Output { name: self.name.clone(), status, stdout, stderr }
    }

    /// Waits for the process to exit by itself; fails the test (after killing it) if it
    /// is still running at the hard timeout.
    pub fn wait(mut self) -> Output {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return self.collect(status),
                Ok(None) if Instant::now() >= self.deadline => {
                    let out = self.stop();
                    panic!("{} hung: killed after {HARD_TIMEOUT:?}\n{}", self.name, out.describe());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half-way must not leave its peers running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Helpers prepended to scripts by [`lib`]: every wait gives up (with an error) after
/// `WAIT` seconds, so a stuck script reports where it was stuck.
pub const LUA_LIB: &str = r#"
core = require "rluanet.core"
WAIT = 10

function await(s, dir, what)
  local r, m = core.wait(s, dir, WAIT)
  if r == false then error("timed out waiting for " .. (what or dir), 2) end
  return r, m
end

-- Repeats `s:method(...)` while it answers false (would block), waiting in direction
-- `dir` in between; returns exactly what the last call returned.
local function retry(s, method, dir, what, ...)
  while true do
    local r = table.pack(s[method](s, ...))
    if r[1] ~= false then return table.unpack(r, 1, r.n) end
    await(s, dir, what)
  end
end

function connected(s) return retry(s, "connected", "w", "connect") end
function handshake(s) return retry(s, "handshake", "r", "TLS handshake") end
function read_line(s) return retry(s, "read_until", "r", "a line", "\n") end
function read_exact(s, n) return retry(s, "read_exact", "r", n .. " bytes", n) end
function recv(d) return retry(d, "recv", "r", "a datagram") end
function accept(l) return retry(l, "accept", "r", "a connection") end

-- n bytes gathered with plain reads (bulk transfers): data, or what stopped it.
function read_count(s, n)
  local parts, got = {}, 0
  while got < n do
    local d, m, e = s:read(n - got)
    if d then
      parts[#parts + 1] = d
      got = got + #d
    elseif d == false then
      await(s, "r", "data")
    else
      return nil, m or "end of stream after " .. got .. " bytes", e
    end
  end
  return table.concat(parts)
end

-- Everything up to end of stream: data, then nil or the error's message and errno.
function read_all(s)
  local parts = {}
  while true do
    local d, m, e = s:read()
    if d then
      parts[#parts + 1] = d
    elseif d == false then
      await(s, "r", "data")
    else
      return table.concat(parts), m, e
    end
  end
end

function flush(s)
  while s:pending() > 0 do await(s, "w", "the write queue to drain") end
end

-- Whether a file (a socket file too, which io.open cannot open) exists.
function exists(path)
  local f, _, code = io.open(path)
  if f then f:close() end
  return f ~= nil or code ~= 2
end

function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- n KiB of printable bytes in 1 KiB lines, each numbered, so a lost, repeated or
-- reordered piece changes the result.
function pattern(kib, seed)
  local lines = {}
  for i = 1, kib do
    local head = string.format("%08d:%04d:", i, seed or 0)
    local c = string.char(65 + (i + (seed or 0)) % 26)
    lines[i] = head .. string.rep(c, 1024 - #head - 1) .. "\n"
  end
  return table.concat(lines)
end
"#;

/// `src` with [`LUA_LIB`] in front of it.
pub fn lib(src: &str) -> String {
    format!("{LUA_LIB}\n{src}")
}

static SCRIPTS: AtomicUsize = AtomicUsize::new(0);

/// Writes `src` into `dir` and starts `rlua-net` on it (working directory `dir`).
pub fn spawn_lua_in(dir: &TempDir, src: &str, args: &[&str]) -> Running {
    let n = SCRIPTS.fetch_add(1, Ordering::Relaxed);
    let script = dir.write(&format!("script{n}.lua"), src.as_bytes());
    let mut cmd = Command::new(bin());
    cmd.arg(&script).args(args).current_dir(dir.path()).env_remove("LUA_INIT").env_remove("LUA_INIT_5_4");
    spawn(cmd, &format!("rlua-net {}", script.display()), None)
}

/// Runs `src` to completion in `dir` with `args`.
pub fn run_lua_in(dir: &TempDir, src: &str, args: &[&str]) -> Output {
    spawn_lua_in(dir, src, args).wait()
}

/// Runs `src` to completion in a directory of its own.
pub fn run_lua(src: &str) -> Output {
    let dir = TempDir::new();
    run_lua_in(&dir, src, &[])
}

/// Runs a helper program to completion (hard timeout applies).
pub fn run_cmd(cmd: Command, name: &str, stdin: Option<Vec<u8>>) -> Output {
    spawn(cmd, name, stdin).wait()
}

/// Starts `python3 -c code args...`.
pub fn spawn_python(code: &str, args: &[&str]) -> Running {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(code).args(args);
    spawn(cmd, "python3 peer", None)
}

/// The loopback IPv6 address is usable (some containers have no `::1`).
pub fn have_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}
