//! Helpers for the Pragtical dialect tests: Lua scripts run by the real `rlua-net` binary
//! with `--dialect pragtical`, background peers (python3, `openssl s_server`, other scripts)
//! whose stdout is read line by line, and a small Lua prelude of assertions.
//!
//! Every process is killed once it has run for [`HANG_LIMIT`], which fails its test: the
//! limit only protects against hangs, no test measures how fast anything is.

// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any process started here may run before it is killed (and its test fails).
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");

/// Lua put in front of test scripts (see [`Script::raw`] for running without it).
/// `fail` ends the script with status 3; `raises` wants the exact message of an argument
/// error, reported at a line of the script itself.
pub const PRELUDE: &str = r##"
local SCRIPT = arg[0]:match("[^/]*$")
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
function raises(want, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then fail("no error, wanted: " .. want) end
  local where, msg = tostring(err):match("^([^\n]-):%d+: (.*)$")
  if where ~= SCRIPT or msg ~= want then
    fail(("error '%s', wanted '%s:<line>: %s'"):format(tostring(err), SCRIPT, want))
  end
end
-- Prints the number of values, then each one: nils and missing values stay visible.
function show(...)
  local out = { select("#", ...) }
  for i = 1, select("#", ...) do out[#out + 1] = tostring((select(i, ...))) end
  print(table.concat(out, " "))
end
-- Synchronous style: calls fn until it returns something other than nil or false,
-- sleeping (which runs the event loop) in between. Gives up after 20 s of tries.
function poll(fn, what)
  for _ = 1, 4000 do
    local v = fn()
    if v then return v end
    system.sleep(0.005)
  end
  fail("gave up waiting for " .. (what or "a condition"))
end
"##;

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rln-prag-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The path of `name` inside, as a string for command lines.
    pub fn arg(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A process that has ended, with all it printed.
pub struct Finished {
    pub name: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn describe(&self) -> String {
        format!(
            "{} ended with status {:?} (signal {:?})\n--- stdout ---\n{}--- stderr ---\n{}",
            self.name,
            self.status.code(),
            self.status.signal(),
            self.stdout,
            self.stderr
        )
    }

    /// Exit status `code`, no Rust panic and no signal.
    pub fn code(&self, code: i32) -> &Self {
        assert!(!self.stderr.contains("panicked"), "the runtime panicked:\n{}", self.describe());
        assert_eq!(self.status.code(), Some(code), "unexpected exit status:\n{}", self.describe());
        self
    }

    /// Exit status 0, no panic, nothing on stderr.
    pub fn ok(&self) -> &Self {
        self.code(0);
        assert_eq!(self.stderr, "", "unexpected stderr:\n{}", self.describe());
        self
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// stdout is exactly these lines.
    pub fn stdout_is(&self, want: &[&str]) -> &Self {
        assert_eq!(self.lines(), want, "unexpected stdout:\n{}", self.describe());
        self
    }

    /// The tab-separated fields after the first stdout line whose first field is `key`.
    pub fn fields(&self, key: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .map(|l| l.split('\t').collect::<Vec<_>>())
            .find(|f| f[0] == key)
            .map(|f| f[1..].to_vec())
            .unwrap_or_else(|| panic!("no stdout line starts with '{key}':\n{}", self.describe()))
    }
}

/// A process running in the background. Its stdout arrives line by line; it is killed
/// when dropped.
pub struct Background {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    deadline: Instant,
    /// Files the process needs for as long as it runs.
    _scratch: Option<Scratch>,
}

impl Background {
    /// Starts `cmd` with stdin from /dev/null and piped stdout/stderr.
    pub fn start(mut cmd: Command, name: &str) -> Background {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(bytes) = line else { return };
                if tx.send(String::from_utf8_lossy(&bytes).into_owned()).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        });
        Background {
            name: name.to_string(),
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
            deadline: Instant::now() + HANG_LIMIT,
            _scratch: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of stdout; fails the test if the process ends or stalls first.
    pub fn line(&mut self) -> String {
        let left = self.deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(l) => {
                self.seen.push(l.clone());
                l
            }
            Err(_) => {
                let out = self.kill();
                panic!("{} ended or stalled before printing an expected line:\n{}", self.name, out.describe());
            }
        }
    }

    /// Skips lines until one starts with `prefix`; returns the rest of it, trimmed.
    pub fn wait_for(&mut self, prefix: &str) -> String {
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }

    /// The port number printed after `prefix`.
    pub fn port(&mut self, prefix: &str) -> u16 {
        let rest = self.wait_for(prefix);
        rest.parse().unwrap_or_else(|_| panic!("{}: '{prefix}{rest}' is not a port number", self.name))
    }

    fn kill(&mut self) -> Finished {
        let _ = self.child.kill();
        let status = self.child.wait().expect("wait for a killed child");
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Finished {
        // The reader threads end with the process's pipes (or its children's, at worst
        // after this grace period).
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let mut stdout = self.seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        Finished { name: self.name.clone(), status, stdout, stderr }
    }

    /// Waits for the process to end by itself; at the hang limit it is killed and the
    /// test fails.
    pub fn finish(mut self) -> Finished {
        loop {
            if let Some(status) = self.child.try_wait().expect("poll a child") {
                return self.collect(status);
            }
            if Instant::now() >= self.deadline {
                let out = self.kill();
                panic!("{} did not end within {HANG_LIMIT:?} and was killed:\n{}", self.name, out.describe());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A Lua script for the binary: with [`PRELUDE`] (unless `raw`), under
/// `--dialect pragtical` (unless another dialect or none is chosen), run in its own
/// directory as `t.lua`.
pub struct Script {
    source: String,
    args: Vec<String>,
    dialect: Option<String>,
    env: Vec<(String, Option<String>)>,
    scratch: Scratch,
}

impl Script {
    pub fn new(source: &str) -> Script {
        Script {
            source: format!("{PRELUDE}\n{source}"),
            args: Vec::new(),
            dialect: Some("pragtical".to_string()),
            env: Vec::new(),
            scratch: Scratch::new(),
        }
    }

    /// Without the prelude: the script sees only what the dialect defines.
    pub fn raw(source: &str) -> Script {
        Script { source: source.to_string(), ..Script::new("") }
    }

    pub fn arg(mut self, a: impl ToString) -> Script {
        self.args.push(a.to_string());
        self
    }

    /// `Some(name)`: `--dialect name`; `None`: no dialect option (the default `all`).
    pub fn dialect(mut self, d: Option<&str>) -> Script {
        self.dialect = d.map(str::to_string);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Script {
        self.env.push((key.to_string(), Some(value.to_string())));
        self
    }

    pub fn env_remove(mut self, key: &str) -> Script {
        self.env.push((key.to_string(), None));
        self
    }

    /// The directory the script runs in (for files it uses).
    pub fn dir(&self) -> &Scratch {
        &self.scratch
    }

    fn command(&self) -> Command {
        self.scratch.write("t.lua", self.source.as_bytes());
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.scratch.path()).env_remove("RLUA_NET_DIALECT").env_remove("LUA_INIT");
        if let Some(d) = &self.dialect {
            cmd.arg("--dialect").arg(d);
        }
        cmd.arg("t.lua").args(&self.args);
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Starts the script in the background.
    pub fn start(self) -> Background {
        let mut bg = Background::start(self.command(), "script t.lua");
        bg._scratch = Some(self.scratch);
        bg
    }

    /// Runs the script to its end.
    pub fn run(self) -> Finished {
        self.start().finish()
    }
}

/// Runs `source` (with the prelude) under `--dialect pragtical` and returns its output.
pub fn run(source: &str) -> Finished {
    Script::new(source).run()
}

/// A python3 peer running `code` with `args`, unbuffered.
pub fn python(code: &str, args: &[&str]) -> Background {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(code).args(args);
    Background::start(cmd, "python3 peer")
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket");
    s.local_addr().expect("its address").port()
}

/// A TCP port on 127.0.0.1 with nothing listening on it (bound, then released).
pub fn closed_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a TCP listener");
    l.local_addr().expect("its address").port()
}

/// Whether this host has an IPv6 loopback to test with.
pub fn have_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// Self-signed certificates made with `openssl req`: `cert.pem`/`key.pem` for
/// `localhost` and 127.0.0.1, and an unrelated `other.pem`.
pub struct Certs {
    pub dir: Scratch,
}

impl Certs {
    pub fn new() -> Certs {
        let dir = Scratch::new();
        let make = |name: &str, subject: &str, san: Option<&str>| {
            let mut cmd = Command::new("openssl");
            cmd.current_dir(dir.path()).args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]);
            cmd.args(["-keyout", &format!("{name}-key.pem"), "-out", &format!("{name}.pem"), "-subj", subject]);
            if let Some(san) = san {
                cmd.args(["-addext", san]);
            }
            let out = cmd.output().expect("run openssl req");
            assert!(out.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&out.stderr));
        };
        make("cert", "/CN=localhost", Some("subjectAltName=DNS:localhost,IP:127.0.0.1"));
        make("other", "/CN=other", None);
        Certs { dir }
    }

    pub fn cert(&self) -> String {
        self.dir.arg("cert.pem")
    }

    pub fn key(&self) -> String {
        self.dir.arg("cert-key.pem")
    }

    pub fn other(&self) -> String {
        self.dir.arg("other.pem")
    }

    /// `openssl s_server -www` on 127.0.0.1 with the `localhost` certificate, and its port.
    pub fn s_server(&self) -> (Background, u16) {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert", &self.cert(), "-key", &self.key()]);
        let mut bg = Background::start(cmd, "openssl s_server");
        let addr = bg.wait_for("ACCEPT ");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
        (bg, port.unwrap_or_else(|| panic!("s_server printed 'ACCEPT {addr}'")))
    }
}

impl Default for Certs {
    fn default() -> Self {
        Certs::new()
    }
}
