//! The lua-net examples in `examples/luanet/`, run unchanged by the real binary (each names
//! its dialect on its first line, so no `--dialect` is given) against real peers on
//! loopback: python3 clients for the echo server, the example clients against it,
//! `openssl s_server -www` with a certificate made by `openssl req` for the TLS client, and
//! the descriptor-passing example on its own.
//!
//! Every process is killed after `HANG_LIMIT`: a hang fails its test. No test asserts how
//! long anything takes.

mod luanet_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use luanet_support::{BIN, HANG_LIMIT, Outcome, Peer, TempDir, have_python, python};

/// The path of `examples/luanet/<name>`.
fn example(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "examples", "luanet", name].iter().collect();
    path.to_string_lossy().into_owned()
}

/// Runs `rlua-net examples/luanet/<name> args...` in `dir` with extra environment
/// variables, to its end (killed after `HANG_LIMIT`).
fn run_example(dir: &TempDir, name: &str, args: &[&str], envs: &[(&str, &str)]) -> Outcome {
    let child = Command::new(BIN)
        .arg(example(name))
        .args(args)
        .envs(envs.iter().copied())
        .env_remove("RLUA_NET_DIALECT")
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
            panic!("{name} {args:?} did not finish within {HANG_LIMIT:?}");
        }
    };
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// As [`run_example`], failing the test unless it exits 0 with nothing on stderr; its stdout.
fn example_ok(dir: &TempDir, name: &str, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = run_example(dir, name, args, envs);
    assert!(out.code == Some(0) && out.stderr.is_empty(), "{name} {args:?} failed\n{}", out.describe());
    out.stdout
}

/// Starts `echo_server.lua PORT SECONDS` in the background (stderr to `server.err` in
/// `dir`); returns it and the port from its first line.
fn echo_server(dir: &TempDir, seconds: &str) -> (Peer, String) {
    let err = std::fs::File::create(dir.path().join("server.err")).expect("create server.err");
    let mut cmd = Command::new(BIN);
    cmd.arg(example("echo_server.lua"))
        .args(["0", seconds])
        .env_remove("RLUA_NET_DIALECT")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::from(err));
    let server = Peer::spawn(cmd);
    let first = server.line();
    let port = first
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("echo_server.lua printed {first:?} first"))
        .to_string();
    assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "bad port in {first:?}");
    (server, port)
}

/// The rest of the echo server's output, after checking that it exited 0 with nothing on
/// stderr.
fn echo_server_end(dir: &TempDir, server: Peer) -> Vec<String> {
    let rest = server.rest();
    let code = server.wait();
    let err = std::fs::read_to_string(dir.path().join("server.err")).unwrap_or_default();
    assert!(code == Some(0) && err.is_empty(), "echo_server.lua: exit {code:?}, output {rest:?}, stderr:\n{err}");
    rest
}

/// 25 python clients, all connected at once (a barrier holds them until every one has had
/// its first echo), each sending 20 messages of its own and checking every echo; then one
/// sends "quit", which stops the server: it answers "bye", closes and prints a summary.
#[test]
fn echo_server_serves_concurrent_python_clients_until_quit() {
    if !have_python() {
        eprintln!("python3 not available: skipped");
        return;
    }
    let dir = TempDir::new("ex-echo");
    let (server, port) = echo_server(&dir, "60");
    let clients = python(
        dir.path(),
        &r##"
import socket, threading, sys
PORT, N, ROUNDS = PORT_HERE, 25, 20
barrier = threading.Barrier(N)
results = [None] * N
total = [0] * N

def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data

def client(i):
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        for r in range(ROUNDS):
            msg = ("client %d round %d " % (i, r)).encode() + b"y" * (i * 37) + b"\n"
            s.sendall(msg)
            got = recv_exactly(s, len(msg))
            if got != msg:
                raise ValueError("round %d: sent %r, got %r" % (r, msg, got))
            total[i] += len(msg)
            if r == 0:
                barrier.wait(timeout=20)
        s.close()
        results[i] = "ok"
    except Exception as e:
        results[i] = repr(e)
        barrier.abort()

threads = [threading.Thread(target=client, args=(i,)) for i in range(N)]
for t in threads: t.start()
for t in threads: t.join()
bad = [(i, r) for i, r in enumerate(results) if r != "ok"]
print("failed %r" % bad if bad else "all ok")
print("bytes %d" % sum(total))
q = socket.create_connection(("127.0.0.1", PORT), timeout=20)
q.sendall(b"quit\n")
reply = b""
while True:
    chunk = q.recv(100)
    if not chunk: break
    reply += chunk
print("quit reply %r" % reply)
"##
        .replace("PORT_HERE", &port),
    );
    assert_eq!(clients.line(), "all ok");
    let bytes = clients.line();
    assert_eq!(clients.line(), "quit reply b'bye\\n'");
    assert_eq!(clients.wait(), Some(0));

    let bytes = bytes.strip_prefix("bytes ").expect("byte count");
    let rest = echo_server_end(&dir, server);
    assert_eq!(
        rest,
        ["stopping: a client sent quit".to_string(), format!("served 26 clients, echoed {bytes} bytes")],
        "server output"
    );
}

/// With nobody sending "quit", the server stops after its time: it closes the client that
/// is still connected (which sees the end of the stream) and exits.
#[test]
fn echo_server_stops_after_its_time() {
    if !have_python() {
        eprintln!("python3 not available: skipped");
        return;
    }
    let dir = TempDir::new("ex-echo-time");
    let (server, port) = echo_server(&dir, "1");
    let idle = python(
        dir.path(),
        &r##"
import socket
s = socket.create_connection(("127.0.0.1", PORT_HERE), timeout=30)
s.sendall(b"ping\n")
print("echo %r" % s.recv(100))
print("then %r" % s.recv(100))
"##
        .replace("PORT_HERE", &port),
    );
    assert_eq!(idle.line(), "echo b'ping\\n'");
    assert_eq!(idle.line(), "then b''", "the server closes the idle client when it stops");
    assert_eq!(idle.wait(), Some(0));
    let rest = echo_server_end(&dir, server);
    assert_eq!(rest, ["stopping: 1 seconds passed", "served 1 clients, echoed 5 bytes"], "server output");
}

/// echo_clients.lua's 30 act tasks against echo_server.lua, then its "quit".
#[test]
fn echo_clients_against_echo_server() {
    let dir = TempDir::new("ex-echo-clients");
    let (server, port) = echo_server(&dir, "60");
    let out = example_ok(&dir, "echo_clients.lua", &[&port, "30", "15", "quit"], &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 32, "echo_clients.lua output:\n{out}");
    for (i, line) in lines[..30].iter().enumerate() {
        assert_eq!(*line, format!("client {}: ok", i + 1));
    }
    assert_eq!(lines[30], "30 of 30 clients got all 15 echoes back");
    assert_eq!(lines[31], "sent quit, server said: bye");

    // Each message is "client I round R " plus I x's and a newline.
    let bytes: usize =
        (1..=30).flat_map(|i| (1..=15).map(move |r| format!("client {i} round {r} ").len() + i + 1)).sum();
    let rest = echo_server_end(&dir, server);
    assert_eq!(
        rest,
        ["stopping: a client sent quit".to_string(), format!("served 31 clients, echoed {bytes} bytes")],
        "server output"
    );
}

/// Whether the openssl command can be run.
fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// tls_client.lua against `openssl s_server -www` with a self-signed certificate for
/// localhost and 127.0.0.1: trusted through the CAFILE argument (by name and by IP
/// address) or SSL_CERT_FILE it prints the status line; without trusting it the handshake
/// fails verification and the script exits 1.
#[test]
fn tls_client_against_openssl_s_server() {
    if !have_openssl() {
        eprintln!("openssl not available: skipped");
        return;
    }
    let dir = TempDir::new("ex-tls");
    let req = "req -x509 -newkey rsa:2048 -nodes -days 1 -keyout key.pem -out cert.pem -subj /CN=localhost \
               -addext subjectAltName=DNS:localhost,IP:127.0.0.1";
    let made =
        Command::new("openssl").args(req.split_whitespace()).current_dir(dir.path()).output().expect("run openssl req");
    assert!(made.status.success(), "openssl req failed:\n{}", String::from_utf8_lossy(&made.stderr));

    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "cert.pem", "-key", "key.pem", "-www"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let server = Peer::spawn(cmd);
    let accept = server.line_starting("ACCEPT ");
    let port = accept.rsplit(':').next().unwrap_or_default().trim().to_string();

    let cert = dir.path().join("cert.pem").to_string_lossy().into_owned();
    // SSL_CERT_FILE is cleared so that the CAFILE argument is what the script has to use.
    let none = [("SSL_CERT_FILE", ""), ("SSL_CERT_DIR", "/nonexistent")];
    for host in ["localhost", "127.0.0.1"] {
        let out = example_ok(&dir, "tls_client.lua", &[host, &port, &cert], &none);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.first(), Some(&"HTTP/1.0 200 ok"), "{host}: {out}");
        assert!(lines.len() == 2 && lines[1].ends_with(" bytes"), "{host}: {out}");
    }
    let out = example_ok(&dir, "tls_client.lua", &["localhost", &port], &[("SSL_CERT_FILE", &cert)]);
    assert!(out.starts_with("HTTP/1.0 200 ok\n"), "through SSL_CERT_FILE: {out}");

    let out = run_example(&dir, "tls_client.lua", &["localhost", &port], &none);
    assert_eq!(out.code, Some(1), "untrusted: {}", out.describe());
    assert!(
        out.stdout.starts_with("request failed: ")
            && out.stdout.contains("[EPROTO:")
            && out.stdout.contains("[handshake]")
            && out.stdout.contains("certificate verify failed"),
        "untrusted: {}",
        out.describe()
    );
}

/// fd_passing.lua: every connection the front end accepts is served by the worker on the
/// descriptor it received, and the script ends by itself.
#[test]
fn fd_passing_hands_connections_to_the_worker() {
    let dir = TempDir::new("ex-fd");
    let out = example_ok(&dir, "fd_passing.lua", &["5"], &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 12, "fd_passing.lua output:\n{out}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("front: accepted a connection on descriptor ")).count(), 5);
    assert!(lines.contains(&"worker: served 5 connections"), "{out}");
    for id in 1..=5 {
        let prefix = format!("client {id}: worker (descriptor ");
        let suffix = format!(") got: hello from client {id}");
        assert!(lines.iter().any(|l| l.starts_with(&prefix) && l.ends_with(&suffix)), "client {id}:\n{out}");
    }
    assert_eq!(lines.last(), Some(&"done"));
}
