//! Helpers for the command-line and REPL tests: running the binary (or `lua5.4`) with a
//! clean environment and hang protection, scratch directories, and driving the REPL in a
//! pseudo-terminal through `pty_drive.py`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");

/// The pseudo-terminal driver (Python 3, standard library only).
pub const PTY_DRIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli_support/pty_drive.py");

/// Hang protection for one process. Never a speed requirement.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Environment variables that change how `lua` and rlua-net start; removed from every run.
const STARTUP_VARS: [&str; 7] =
    ["LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_PATH_5_4", "LUA_CPATH", "LUA_CPATH_5_4", "RLUA_NET_DIALECT"];

/// A directory removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("rlua-net-cli-{tag}-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` (relative to the directory) and returns its full path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path.join(name);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }

    /// Writes an executable script (mode 0755).
    pub fn write_executable(&self, name: &str, contents: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.write(name, contents);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a finished (or killed) process left behind.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status; `None` when killed by a signal or by the hang limit.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub command: String,
}

impl Outcome {
    /// A readable account for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit: {:?}{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code,
            if self.timed_out { " (killed: hang limit reached)" } else { "" },
            self.stdout,
            self.stderr
        )
    }

    /// Panics unless the process exited with `code`.
    pub fn assert_code(&self, code: i32) -> &Outcome {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{}", self.describe());
        self
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn stderr_first_line(&self) -> &str {
        self.stderr.lines().next().unwrap_or("")
    }
}

/// A process to run: a builder over `Command` with stdin bytes and a hang limit.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    limit: Duration,
    shown: Vec<String>,
}

impl Run {
    /// Any program, with the Lua start-up variables removed.
    pub fn program(program: impl AsRef<std::ffi::OsStr>) -> Run {
        let program = program.as_ref();
        let mut cmd = Command::new(program);
        for v in STARTUP_VARS {
            cmd.env_remove(v);
        }
        Run { cmd, stdin: None, limit: HANG_LIMIT, shown: vec![program.to_string_lossy().into_owned()] }
    }

    /// The binary under test.
    pub fn rlua() -> Run {
        Run::program(BIN)
    }

    /// The reference interpreter, when installed.
    pub fn lua() -> Option<Run> {
        lua54().map(Run::program)
    }

    pub fn arg(mut self, a: impl AsRef<str>) -> Run {
        self.shown.push(a.as_ref().to_string());
        self.cmd.arg(a.as_ref());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Run {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Run {
        self.shown.insert(0, format!("{k}={}", v.as_ref().to_string_lossy()));
        self.cmd.env(k, v);
        self
    }

    pub fn env_remove(mut self, k: &str) -> Run {
        self.cmd.env_remove(k);
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Run {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn limit(mut self, limit: Duration) -> Run {
        self.limit = limit;
        self
    }

    /// Runs to completion (or kills the process at the hang limit).
    pub fn run(mut self) -> Outcome {
        let command = self.shown.join(" ");
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = spawn_retrying(&mut self.cmd).unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        let feeder = child.stdin.take().map(|mut pipe| {
            let bytes = self.stdin.take().unwrap_or_default();
            std::thread::spawn(move || {
                // The program may exit without reading everything; that is fine.
                let _ = pipe.write_all(&bytes);
            })
        });
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let deadline = Instant::now() + self.limit;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("waiting for {command}: {e}"),
            }
        };
        if let Some(f) = feeder {
            let _ = f.join();
        }
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        Outcome {
            code: if timed_out { None } else { status.and_then(|s| s.code()) },
            stdout,
            stderr,
            timed_out,
            command,
        }
    }
}

/// Starting a script that was just written can fail with ETXTBSY while another test
/// thread's fork still holds the file open for a moment; try again briefly.
fn spawn_retrying(cmd: &mut Command) -> std::io::Result<std::process::Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc_etxtbsy()) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// `ETXTBSY` on Linux and the BSDs (the tests run on Unix only).
const fn libc_etxtbsy() -> i32 {
    26
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// The path of the reference `lua5.4`, if installed.
pub fn lua54() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["lua5.4", "lua54"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Replaces the interpreter's own path (argv[0]) by `PROG` wherever it is a whole
/// tab-separated field, so outputs of rlua-net and lua5.4 compare equal.
pub fn normalize_prog(text: &str, prog: &str) -> String {
    text.lines()
        .map(|line| line.split('\t').map(|f| if f == prog { "PROG" } else { f }).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Lua script that prints the whole `arg` table (from its lowest index) and `...`.
pub const SHOW_ARGS: &str = "local lo = 0
while arg[lo - 1] ~= nil do lo = lo - 1 end
for i = lo, #arg do print('arg', i, arg[i]) end
print('n', select('#', ...))
for i = 1, select('#', ...) do print('va', i, (select(i, ...))) end
";

/// The named dialects (canonical name, aliases) the contract lists.
pub const NAMED_DIALECTS: [(&str, &[&str]); 4] =
    [("luanet", &["lua-net"]), ("hammerspoon", &["hs"]), ("pragtical", &[]), ("nodemcu", &[])];

/// Whether this source tree carries dialect `name` (its `stdlib/<name>/` folder).
pub fn dialect_available(name: &str) -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib").join(name).is_dir()
}

/// Encodes `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Regex (Python syntax) for the primary prompt at the start of a line.
pub const PROMPT: &str = r"(?m)^> ";
/// Regex for the continuation prompt.
pub const CONT_PROMPT: &str = r"(?m)^>> ";
/// Hang protection for one `expect` step.
pub const EXPECT_LIMIT: f64 = 30.0;

/// Escapes `text` so it matches literally in a Python regex.
pub fn re_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == ' ' || c == '_' || !c.is_ascii() {
            out.push(c);
        } else if c == '\n' {
            out.push_str("\\n");
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    out
}

/// Regex for `text` printed as a whole line of output.
pub fn line_re(text: &str) -> String {
    format!(r"(?m)^{}\n", re_escape(text))
}

/// A REPL session in a pseudo-terminal: a list of steps run by `pty_drive.py`.
/// HOME and XDG_STATE_HOME point at `state`, TERM is a plain xterm.
pub struct PtySession {
    steps: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    env_removed: Vec<String>,
    cwd: PathBuf,
    state: PathBuf,
}

/// What a session showed: the cleaned terminal text and the exit status line.
#[derive(Debug)]
pub struct PtyResult {
    pub ok: bool,
    pub report: String,
    pub transcript: String,
}

impl PtySession {
    pub fn new(state: &Path) -> PtySession {
        PtySession {
            steps: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            env_removed: Vec::new(),
            cwd: state.to_path_buf(),
            state: state.to_path_buf(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<str>) -> PtySession {
        self.args.push(a.as_ref().to_string());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> PtySession {
        self.env.push((k.to_string(), v.to_string()));
        self
    }

    pub fn env_remove(mut self, k: &str) -> PtySession {
        self.env_removed.push(k.to_string());
        self
    }

    pub fn cwd(mut self, dir: &Path) -> PtySession {
        self.cwd = dir.to_path_buf();
        self
    }

    fn step(mut self, parts: &[String]) -> PtySession {
        self.steps.push(format!("[{}]", parts.join(", ")));
        self
    }

    /// Types `text` (use "\r" for Enter, "\u{3}" for Ctrl-C, "\u{4}" for Ctrl-D).
    pub fn send(self, text: &str) -> PtySession {
        self.step(&[json_str("send"), json_str(text)])
    }

    /// Waits until the Python regex `re` matches output after the previous match.
    pub fn expect(self, re: &str) -> PtySession {
        self.step(&[json_str("expect"), json_str(re), EXPECT_LIMIT.to_string()])
    }

    /// Waits for the primary prompt.
    pub fn prompt(self) -> PtySession {
        self.expect(PROMPT)
    }

    /// Types a line once the prompt is up.
    pub fn line(self, text: &str) -> PtySession {
        self.send(&format!("{text}\r"))
    }

    /// Watches the output for `seconds`; fails if `re` appears after the previous match.
    pub fn absent(self, re: &str, seconds: f64) -> PtySession {
        self.step(&[json_str("absent"), json_str(re), seconds.to_string()])
    }

    pub fn alive(self) -> PtySession {
        self.step(&[json_str("alive")])
    }

    pub fn sleep(self, seconds: f64) -> PtySession {
        self.step(&[json_str("sleep"), seconds.to_string()])
    }

    /// Waits for the program to exit with `code`.
    pub fn exit(self, code: i32) -> PtySession {
        self.step(&[json_str("exit"), code.to_string(), EXPECT_LIMIT.to_string()])
    }

    /// Runs the session and returns its result without judging it.
    pub fn run_raw(self) -> PtyResult {
        let dir = TempDir::new("pty-steps");
        let steps = dir.write("steps.jsonl", &(self.steps.join("\n") + "\n"));
        let mut run = Run::program("python3")
            .arg(PTY_DRIVER)
            .arg(steps.to_string_lossy())
            .arg(BIN)
            .args(&self.args)
            .env("HOME", &self.state)
            .env("XDG_STATE_HOME", &self.state)
            .env("TERM", "xterm")
            .cwd(&self.cwd)
            .limit(Duration::from_secs(400));
        for (k, v) in &self.env {
            run = run.env(k, v);
        }
        for k in &self.env_removed {
            run = run.env_remove(k);
        }
        let out = run.run();
        assert!(
            out.code == Some(0) || out.code == Some(1),
            "the pty driver itself failed (is python3 installed?)\n{}",
            out.describe()
        );
        let transcript = out.stdout.split_once("TRANSCRIPT:\n").map_or("", |(_, t)| t).to_string();
        let report = format!("{}\n--- driver stderr ---\n{}", out.stdout, out.stderr);
        PtyResult { ok: out.stdout.starts_with("OK\n"), report, transcript }
    }

    /// Runs the session; panics with the transcript unless every step passed.
    pub fn run(self, what: &str) -> PtyResult {
        let r = self.run_raw();
        assert!(r.ok, "REPL session failed: {what}\n{}", r.report);
        r
    }
}
