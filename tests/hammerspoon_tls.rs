//! `hs.socket:startTLS` (spec decision 7) against real TLS peers: `openssl s_server` for the
//! three kinds of verification, and a python3 server that upgrades a plain connection, for
//! the "queued special packet" order. The "system roots" are a test CA named by
//! `SSL_CERT_FILE`, which OpenSSL reads in place of the system store.

mod common;

use std::process::Command;

use common::{Output, Running, TempDir, bin, spawn, spawn_python};

/// A CA, a certificate for `elsewhere.example` only (neither `localhost` nor 127.0.0.1)
/// signed by it, and an unrelated CA.
fn certs() -> TempDir {
    let dir = TempDir::new();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
    let ca = |key: &str, pem: &str, cn: &str| {
        let subj = format!("/CN={cn}");
        openssl(&dir, &[&["req", "-x509"][..], &ec, &["-keyout", key, "-out", pem, "-subj", &subj]].concat());
    };
    ca("ca.key", "ca.pem", "hs test CA");
    ca("other.key", "other.pem", "other CA");
    openssl(
        &dir,
        &[&["req"][..], &ec, &["-keyout", "key.pem", "-out", "cert.csr", "-subj", "/CN=elsewhere.example"]].concat(),
    );
    dir.write("cert.ext", b"subjectAltName=DNS:elsewhere.example\n");
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "cert.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "cert.pem",
            "-extfile",
            "cert.ext",
        ],
    );
    dir
}

fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `openssl s_server -www` for one connection on a free loopback port, printing the TLS
/// extensions the client sends (SNI among them).
fn s_server(dir: &TempDir) -> (Running, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert", "cert.pem", "-key", "key.pem"])
        .args(["-www", "-tlsextdebug"])
        .current_dir(dir.path());
    let mut server = spawn(cmd, "openssl s_server", None);
    let port = loop {
        let line = server.next_line();
        if let Some(addr) = line.strip_prefix("ACCEPT ") {
            break addr.rsplit(':').next().unwrap_or_default().to_string();
        }
    };
    (server, port)
}

/// Runs a Hammerspoon script in `dir` with `SSL_CERT_FILE=<roots>`.
fn run_hs(dir: &TempDir, roots: &str, src: &str, args: &[&str]) -> Output {
    let script = dir.write("t.lua", format!("-- rlua-net: dialect=hammerspoon\n{PRELUDE}\n{src}").as_bytes());
    let mut cmd = Command::new(bin());
    cmd.arg(script).args(args).current_dir(dir.path()).env("SSL_CERT_FILE", dir.join(roots));
    let out = spawn(cmd, "rlua-net", None).wait();
    out.assert_no_panic().assert_success();
    out
}

const PRELUDE: &str = r#"
function fail(msg) io.stdout:flush() io.stderr:write("FAIL: ", tostring(msg), "\n") os.exit(3) end
hs.timer.doAfter(20, function() fail("timed out") end)
"#;

/// GET / over TLS with `startTLS(<arg>)` queued right after connect, before the write.
/// Prints "status <line> <tag>" and "secure true" on success, "gone" when the socket
/// disconnected without any read callback.
const GET: &str = r#"
local port, how = tonumber(arg[1]), arg[2]
local s
s = hs.socket.new(function(data, tag)
  print("status " .. data:gsub("\r\n$", ""), tag)
  print("secure", s:info().isSecure)
  os.exit(0)
end)
hs.socket.setLogLevel("debug")
s:connect("127.0.0.1", port)
if how == "()" then s:startTLS()
elseif how == "true" then s:startTLS(true)
elseif how == "false" then s:startTLS(false)
else s:startTLS(how) end
print("before", s:info().isSecure)
s:write("GET / HTTP/1.0\r\n\r\n")
s:read("\r\n", 5)
hs.timer.waitUntil(function() return s:info().isDisconnected end, function()
  print("gone", s:connected())
  os.exit(0)
end, 0.02)
"#;

const SECURED: [&str; 3] = ["before\tfalse", "status HTTP/1.0 200 ok\t5", "secure\ttrue"];
const FAILED: [&str; 2] = ["before\tfalse", "gone\tfalse"];

/// Runs [`GET`] against a fresh `s_server`; returns the script's output and the server's.
fn get(dir: &TempDir, roots: &str, how: &str) -> (Output, Output) {
    let (server, port) = s_server(dir);
    let out = run_hs(dir, roots, GET, &[&port, how]);
    (out, server.wait())
}

/// The script's own lines (the LuaSkin log also goes to stdout, as to Hammerspoon's console).
fn lines(out: &Output) -> Vec<&str> {
    out.stdout.lines().filter(|l| !l.contains("LuaSkin: ")).collect()
}

fn logged(out: &Output, what: &str) -> bool {
    out.stdout.lines().chain(out.stderr.lines()).any(|l| l.contains("LuaSkin: ") && l.contains(what))
}

fn sent_sni(server: &Output) -> bool {
    server.stdout.contains("TLS client extension \"server name\"")
}

/// `startTLS()` and `startTLS(true)` verify the chain against the roots but not the name (the
/// certificate names neither 127.0.0.1 nor localhost) and send no SNI; `startTLS("name")`
/// verifies both and sends the name. `isSecure` turns true only after the handshake; "TCP
/// socket secured" is logged at debug level.
#[test]
fn verified_handshakes_complete_and_the_socket_is_secure() {
    let dir = certs();
    for (how, sni) in [("()", false), ("true", false), ("elsewhere.example", true)] {
        let (out, server) = get(&dir, "ca.pem", how);
        assert_eq!(lines(&out), SECURED, "startTLS{how}: {}", out.describe());
        assert!(logged(&out, "TCP socket secured"), "startTLS{how}: {}", out.describe());
        assert_eq!(sent_sni(&server), sni, "startTLS{how} SNI: {}", server.describe());
    }
}

/// Without the right roots, `startTLS()` fails: the socket disconnects, the failure is
/// logged, no read callback runs. `startTLS(false)` checks nothing and completes.
#[test]
fn an_untrusted_chain_fails_unless_verification_is_off() {
    let dir = certs();
    let (out, _) = get(&dir, "other.pem", "()");
    assert_eq!(lines(&out), FAILED, "{}", out.describe());
    assert!(logged(&out, "TLS handshake failed"), "{}", out.describe());
    assert!(logged(&out, "certificate verify failed"), "{}", out.describe());

    let (out, server) = get(&dir, "other.pem", "false");
    assert_eq!(lines(&out), SECURED, "{}", out.describe());
    assert!(!sent_sni(&server), "{}", server.describe());
}

/// `startTLS("wrong.example")` checks the name: a trusted certificate for another name fails.
#[test]
fn a_wrong_peer_name_fails_the_handshake() {
    let dir = certs();
    let (out, _) = get(&dir, "ca.pem", "wrong.example");
    assert_eq!(lines(&out), FAILED, "{}", out.describe());
    assert!(logged(&out, "TLS handshake failed"), "{}", out.describe());
    assert!(!logged(&out, "TCP socket secured"), "{}", out.describe());
}

/// A python3 server that speaks plain text first, then upgrades: it greets, reads one plain
/// line, runs the TLS handshake and answers one encrypted line.
const UPGRADING_SERVER: &str = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.sendall(b"hello in plain\n")
line = b""
while not line.endswith(b"\n"):  # byte by byte: the ClientHello must stay in the socket
    line += c.recv(1)
print("plain", line.decode().strip(), flush=True)
t = ctx.wrap_socket(c, server_side=True)
data = b""
while not data.endswith(b"\n"):
    data += t.recv(100)
print("tls", data.decode().strip(), flush=True)
t.sendall(b"hello in TLS\n")
t.recv(1)
"#;

/// startTLS is a queued special packet: the read and the write queued before it complete in
/// plain text first; the write queued after it waits and goes out encrypted; the read queued
/// after it gets decrypted data. The callbacks keep their tags.
#[test]
fn start_tls_waits_for_earlier_reads_and_writes_and_holds_later_ones() {
    let dir = certs();
    let mut server = spawn_python(UPGRADING_SERVER, &[&dir.arg("cert.pem"), &dir.arg("key.pem")]);
    let port = server.next_line();
    let out = run_hs(
        &dir,
        "ca.pem",
        r#"
local s
s = hs.socket.new(function(data, tag)
  print("read", tag, (data:gsub("\n$", "")), s:info().isSecure)
  if tag == 2 then os.exit(0) end
end)
s:connect("127.0.0.1", tonumber(arg[1]))
s:read("\n", 1)
s:write("hello back in plain\n", 10)
s:startTLS(false)
print("queued", s:info().isSecure)
s:write("a secret\n", 11)
s:read("\n", 2)
"#,
        &[&port],
    );
    assert_eq!(
        lines(&out),
        ["queued\tfalse", "read\t1\thello in plain\tfalse", "read\t2\thello in TLS\ttrue"],
        "{}",
        out.describe()
    );
    assert_eq!(server.next_line(), "plain hello back in plain");
    assert_eq!(server.next_line(), "tls a secret");
}

/// A handshake the peer never answers is bounded by the socket's timeout (upstream waits
/// forever); the socket disconnects without a read callback.
#[test]
fn a_stalled_handshake_times_out_with_the_socket_timeout() {
    let dir = certs();
    let mut server = spawn_python(
        "import socket\nl = socket.socket()\nl.bind(('127.0.0.1', 0))\nl.listen()\nprint(l.getsockname()[1], flush=True)\nc, _ = l.accept()\nc.recv(1)\nc.recv(1 << 16)\nimport time\ntime.sleep(30)\n",
        &[],
    );
    let port = server.next_line();
    let out = run_hs(
        &dir,
        "ca.pem",
        r#"
hs.socket.setLogLevel("debug")
local s = hs.socket.new(function() print("read callback") end)
s:setTimeout(0.3)
s:connect("127.0.0.1", tonumber(arg[1]))
s:startTLS()
s:read("\n")
hs.timer.waitUntil(function() return s:info().isDisconnected end, function()
  print("gone", s:connected())
  os.exit(0)
end, 0.02)
"#,
        &[&port],
    );
    assert_eq!(lines(&out), ["gone\tfalse"], "{}", out.describe());
    assert!(logged(&out, "TCP socket disconnected: TLS handshake timeout"), "{}", out.describe());
}

/// Argument checks as LuaSkin's (at most one argument, a boolean or a string); a server, an
/// unconnected socket and a second startTLS get a logged error or nothing, never a raise.
#[test]
fn start_tls_arguments_and_misuse() {
    let dir = certs();
    let out = run_hs(
        &dir,
        "ca.pem",
        r#"
local c = hs.socket.new()
print(select(2, pcall(c.startTLS, c, true, "name")))
print(select(2, pcall(c.startTLS, c, 5)))
print(select(2, pcall(c.startTLS, {}, true)))
print(c:startTLS() == c)
local srv = hs.socket.server(0)
print(srv:startTLS("x") == srv)
srv:disconnect()
print("done")
os.exit(0)
"#,
        &[],
    );
    assert_eq!(
        lines(&out),
        [
            "ERROR: incorrect number of arguments. Expected 2, got 3",
            "ERROR: incorrect type 'number' for argument 2 (expected nil or string or boolean)",
            "ERROR: incorrect userdata type for argument 1 (expected hs.socket)",
            "true",
            "true",
            "done"
        ],
        "{}",
        out.describe()
    );
    assert!(logged(&out, "Unable to start TLS: the socket is not connected"), "{}", out.describe());
    assert!(logged(&out, "Unable to start TLS: only client sockets can start TLS"), "{}", out.describe());
}
