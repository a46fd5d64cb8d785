//! Helpers for the NodeMCU dialect tests: scripts run by the real `rlua-net` binary with
//! `--dialect nodemcu`, background peers (python3, openssl) read line by line, and a Lua
//! prelude with assertions that end the script with status 3 and a `FAIL:` line.
//!
//! Every process is killed after [`HANG_LIMIT`], so a hang fails its test instead of
//! hanging the run. The limit is hang protection only: no test asserts how fast anything is.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any one process may run before it is killed and its test fails.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");

/// Lua helpers put in front of every test script (unless run with [`Script::raw`]).
/// `raises` wants the exact message, reported at a line of the script itself, as the
/// firmware's `luaL_error` reports it.
pub const PRELUDE: &str = r##"
SCRIPT = arg[0]:match("[^/]*$")
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
function raises(want, fn)
  local ok, err = pcall(fn)
  if ok then fail("no error; wanted '" .. want .. "'") end
  local where, msg = tostring(err):match("^([^\n]-):%d+: (.*)$")
  if msg ~= want or where ~= SCRIPT then
    fail(("error '%s'; wanted '%s: <line>: %s'"):format(tostring(err), SCRIPT, want))
  end
end
-- print with the arguments' count first: shows nils and missing values exactly.
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
        let path = std::env::temp_dir().join(format!("rln-nodemcu-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The full path of `name` in the directory, as a string (for arguments).
    pub fn arg(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }

    pub fn read(&self, name: &str) -> String {
        let p = self.0.join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
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

    /// Exit status `code`, no Rust panic and no fatal signal.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(!self.stderr.contains("panicked"), "the runtime panicked:\n{}", self.describe());
        assert_eq!(self.status.code(), Some(code), "unexpected exit status:\n{}", self.describe());
        self
    }

    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stdout is exactly these lines.
    pub fn assert_lines(&self, want: &[&str]) -> &Self {
        assert_eq!(self.lines(), want, "unexpected output:\n{}", self.describe());
        self
    }

    /// The fields after the first stdout line whose first space-separated word is `key`.
    pub fn field(&self, key: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .find(|f| f[0] == key)
            .map(|f| f[1..].to_vec())
            .unwrap_or_else(|| panic!("no line starting with '{key}':\n{}", self.describe()))
    }
}

/// A process running in the background; its stdout arrives line by line and it is
/// killed when dropped.
pub struct Proc {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    deadline: Instant,
    /// A directory that lives as long as the process (its script's, when it has none given).
    _dir: Option<TempDir>,
}

impl Proc {
    /// Starts `cmd` with piped stdout/stderr and stdin from /dev/null.
    pub fn spawn(mut cmd: Command, name: &str) -> Proc {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).split(b'\n') {
                let Ok(l) = line else { return };
                if tx.send(String::from_utf8_lossy(&l).into_owned()).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        });
        Proc {
            name: name.to_string(),
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            deadline: Instant::now() + HANG_LIMIT,
            _dir: None,
        }
    }

    /// The next stdout line; fails the test if the process ends or stalls first.
    pub fn next_line(&mut self) -> String {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(l) => {
                self.seen.push(l.clone());
                l
            }
            Err(_) => {
                let out = self.kill();
                panic!("{} ended or stalled before printing the expected line:\n{}", self.name, out.describe());
            }
        }
    }

    /// Skips lines until one starts with `prefix` and returns the rest of it.
    pub fn expect(&mut self, prefix: &str) -> String {
        loop {
            let l = self.next_line();
            if let Some(rest) = l.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }

    /// The number after `prefix` on the first line that starts with it.
    pub fn expect_num(&mut self, prefix: &str) -> u16 {
        let rest = self.expect(prefix);
        let word = rest.split_whitespace().next().unwrap_or("");
        word.parse().unwrap_or_else(|_| panic!("{}: '{prefix} {rest}' has no number", self.name))
    }

    fn kill(&mut self) -> Output {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait for child");
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Output {
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let mut stdout = self.seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Output { name: self.name.clone(), status, stdout, stderr }
    }

    /// Waits for the process to exit by itself (killing it at the hang limit, which
    /// fails the test) and returns everything it printed.
    pub fn wait(mut self) -> Output {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return self.collect(status),
                Ok(None) if Instant::now() >= self.deadline => {
                    let out = self.kill();
                    panic!("{} hung: killed after {HANG_LIMIT:?}\n{}", self.name, out.describe());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("cannot wait for {}: {e}", self.name),
            }
        }
    }

    /// Kills the process now and returns what it printed (for peers that run forever).
    pub fn stop(mut self) -> Output {
        self.kill()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A NodeMCU script: its source, extra arguments, the dialect and its directory.
pub struct Script<'a> {
    src: String,
    args: Vec<String>,
    dialect: &'a str,
    dir: Option<&'a TempDir>,
    nofile: Option<u32>,
}

impl<'a> Script<'a> {
    /// `src` after [`PRELUDE`], run with `--dialect nodemcu`.
    pub fn new(src: &str) -> Script<'a> {
        Script { src: format!("{PRELUDE}\n{src}"), args: Vec::new(), dialect: "nodemcu", dir: None, nofile: None }
    }

    /// `src` exactly as given (no prelude).
    pub fn raw(src: &str) -> Script<'a> {
        Script { src: src.to_string(), args: Vec::new(), dialect: "nodemcu", dir: None, nofile: None }
    }

    pub fn arg(mut self, a: impl ToString) -> Self {
        self.args.push(a.to_string());
        self
    }

    pub fn dialect(mut self, d: &'a str) -> Self {
        self.dialect = d;
        self
    }

    /// Starts the binary with this soft `RLIMIT_NOFILE` (it is expected to raise it).
    pub fn soft_nofile(mut self, n: u32) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Runs in `dir` (files the script reads live there); else in a directory of its own.
    pub fn in_dir(mut self, dir: &'a TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Starts the script in the background. The script is `script<N>.lua` in the working
    /// directory, so its chunk name (and error positions) are `script<N>.lua:<line>:`.
    pub fn spawn(self) -> Proc {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let own = if self.dir.is_none() { Some(TempDir::new("script")) } else { None };
        let dir = self.dir.or(own.as_ref()).expect("a directory");
        let name = format!("script{}.lua", NEXT.fetch_add(1, Ordering::Relaxed));
        dir.write(&name, &self.src);
        let mut cmd = match self.nofile {
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("ulimit -Sn {n} && exec \"$0\" \"$@\"")).arg(BIN);
                sh
            }
            None => Command::new(BIN),
        };
        cmd.arg("--dialect").arg(self.dialect).arg(&name).args(&self.args).current_dir(dir.path());
        for var in ["LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_CPATH", "RLUA_NET_DIALECT"] {
            cmd.env_remove(var);
        }
        let mut p = Proc::spawn(cmd, &format!("rlua-net {name}"));
        p._dir = own;
        p
    }

    /// Runs the script to completion.
    pub fn run(self) -> Output {
        self.spawn().wait()
    }
}

/// Starts `python3 -u -c code args...`.
pub fn python(code: &str, args: &[String]) -> Proc {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(code).args(args);
    Proc::spawn(cmd, "python3 peer")
}

/// A loopback TCP port that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().expect("local addr").port()
}

/// The loopback IPv6 address is usable (some containers have no `::1`).
pub fn have_ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}
