//! The NodeMCU `tls` module (`--dialect nodemcu`) against `openssl s_server` and a
//! python3 `ssl` server on the loopback: certificate verification (on by default, off,
//! given roots), client certificates, the socket's events and errors.
//! docs: /work/shared/specs/nodemcu.md, B.3 and decisions 3, 4, 10, 11.

mod nodemcu_support;

use std::process::Command;

use nodemcu_support::{Proc, Script, TempDir, closed_port, python};

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails.
fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(out.status.success(), "openssl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// A directory of PEM files:
/// - `server.pem`/`server.key`: self-signed, for localhost and 127.0.0.1;
/// - `other.pem`: an unrelated self-signed certificate;
/// - `client8.pem`/`client8.key`: a client identity with a PKCS#8 key;
/// - `client1.pem`/`client1.key`: one with an `RSA PRIVATE KEY` (PKCS#1) key;
/// - `clients.pem`: both client certificates (the server's trusted client CAs);
/// - `*.der`: DER forms of the certificates, `client8.key.der` (PKCS#8) and
///   `client1.key.der` (PKCS#1) of the keys.
fn certificates() -> TempDir {
    let dir = TempDir::new("tls");
    let self_signed = |key: &str, cert: &str, cn: &str, san: Option<&str>| {
        let subj = format!("/CN={cn}");
        let mut args =
            vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2"];
        args.extend(["-subj", &subj]);
        if let Some(san) = san {
            args.extend(["-addext", san]);
        }
        openssl(&dir, &args);
    };
    self_signed("server.key", "server.pem", "localhost", Some("subjectAltName=DNS:localhost,IP:127.0.0.1"));
    self_signed("other.key", "other.pem", "other", None);
    self_signed("client8.key", "client8.pem", "client8", None);
    openssl(&dir, &["genrsa", "-traditional", "-out", "client1.key", "2048"]);
    openssl(
        &dir,
        &["req", "-x509", "-new", "-key", "client1.key", "-out", "client1.pem", "-days", "2", "-subj", "/CN=client1"],
    );
    // DER forms, for the callback forms of tls.cert.verify/auth.
    openssl(&dir, &["x509", "-in", "server.pem", "-outform", "DER", "-out", "server.der"]);
    openssl(&dir, &["x509", "-in", "client8.pem", "-outform", "DER", "-out", "client8.der"]);
    openssl(&dir, &["x509", "-in", "client1.pem", "-outform", "DER", "-out", "client1.der"]);
    openssl(&dir, &["pkcs8", "-topk8", "-nocrypt", "-in", "client8.key", "-outform", "DER", "-out", "client8.key.der"]);
    openssl(&dir, &["rsa", "-in", "client1.key", "-traditional", "-outform", "DER", "-out", "client1.key.der"]);
    assert!(dir.read("client8.key").starts_with("-----BEGIN PRIVATE KEY-----"), "client8.key is not PKCS#8");
    assert!(dir.read("client1.key").starts_with("-----BEGIN RSA PRIVATE KEY-----"), "client1.key is not PKCS#1");
    dir.write("clients.pem", &(dir.read("client8.pem") + &dir.read("client1.pem")));
    dir
}

/// `openssl s_server -rev` (answers each line reversed) on a loopback port; returns it
/// and the port. `extra` adds options (client certificate checks).
fn s_server(dir: &TempDir, extra: &[&str]) -> (Proc, u16) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "server.pem", "-key", "server.key", "-rev"])
        .args(extra)
        .current_dir(dir.path());
    let mut p = Proc::spawn(cmd, "openssl s_server");
    let addr = p.expect("ACCEPT ");
    let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("ACCEPT {addr}?"));
    (p, port)
}

/// Lua: `rd(name)` reads a file of the certificates' directory.
const READ: &str = r##"
function rd(name) local f = assert(io.open(name, "rb")) local s = f:read("a") f:close() return s end
"##;

fn script(src: &str) -> Script<'static> {
    Script::new(&format!("{READ}\n{src}"))
}

/// The stderr lines rlua-net wrote about failed handshakes.
fn hints(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("handshake")).collect()
}

/// Decision 10: verification is on by default against the system roots, so a
/// self-signed server is refused: `reconnection(sock, "SSL handshake failed")`, or
/// `disconnection(sock)` without a reconnection handler, and one stderr line each.
#[test]
fn default_verification_rejects_a_self_signed_server() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
local port = tonumber(arg[1])
local a = tls.createConnection()
a:on("connection", function() print("a connected") end)
a:on("reconnection", function(s, reason, ...)
  show("a reconnection", s == a, reason, ...)
  local b = tls.createConnection()
  b:on("connection", function() print("b connected") end)
  b:on("disconnection", function(s, ...) show("b disconnection", s == b, ...) end)
  b:connect(port, "127.0.0.1")
end)
a:on("disconnection", function() print("a disconnection") end)
a:connect(port, "127.0.0.1")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["3 a reconnection true SSL handshake failed", "2 b disconnection true"]);
    let hints = hints(&out.stderr);
    assert_eq!(hints.len(), 2, "one stderr line per failed handshake:\n{}", out.describe());
    for h in hints {
        assert!(
            h.starts_with(&format!("rlua-net: TLS handshake with 127.0.0.1:{port} failed"))
                && h.contains("tls.cert.verify(false)"),
            "hint: {h}"
        );
    }
}

/// `tls.cert.verify(false)` accepts any server. The socket then works: `getpeer` is
/// `ip, port` (decision 11), `sent` fires, `receive` gets the answer, `close()` fires
/// `disconnection(sock)` later (decision 10: with the socket). A connecting socket the
/// script dropped is anchored.
#[test]
fn verify_false_accepts_and_the_socket_works() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
local port = tonumber(arg[1])
show("verify", tls.cert.verify(false))
do
  local sk = tls.createConnection()
  sk:on("connection", function(s)
    local ip, p = s:getpeer()
    show("peer", ip, p == port, math.type(p))
    s:send("hello tls\n")
  end)
  sk:on("sent", function(s) show("sent", s == sk) end)
  sk:on("receive", function(s, d)
    show("receive", s == sk, (d:gsub("\n", "")))
    s:close()
    print("closed")
    show("peer after close", s:getpeer())
  end)
  sk:on("disconnection", function(s, ...) show("disconnection", s == sk, ...) end)
  sk:on("reconnection", function(s, ...) show("reconnection", ...) end)
  sk:connect(port, "127.0.0.1")
end
collectgarbage() collectgarbage()
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&[
        "2 verify true",
        "4 peer 127.0.0.1 true integer",
        "2 sent true",
        "3 receive true slt olleh",
        "closed",
        "3 peer after close nil nil",
        "2 disconnection true",
    ]);
    assert!(hints(&out.stderr).is_empty(), "{}", out.describe());
}

/// `tls.cert.verify(pem)` and `tls.cert.verify(fn)` (PEM or DER answers) trust exactly
/// the roots given: the server's own certificate is accepted, an unrelated one is not.
#[test]
fn verify_with_given_certificates() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
local port = tonumber(arg[1])
local steps
local function try(name)
  local sk = tls.createConnection()
  sk:on("connection", function(s) s:send(name .. "\n") end)
  sk:on("receive", function(s, d) show(name, "accepted", (d:gsub("\n", ""))) s:close() end)
  sk:on("disconnection", function() table.remove(steps, 1)() end)
  sk:on("reconnection", function(s, reason) show(name, reason) table.remove(steps, 1)() end)
  sk:connect(port, "127.0.0.1")
end
steps = {
  function() show("set", tls.cert.verify(rd("other.pem"))) try("other") end,
  function()
    local certs = { rd("server.pem") }
    show("set", tls.cert.verify(function(k) return certs[k] end))
    try("function")
  end,
  function()
    local certs = { rd("other.pem"), rd("server.der") }
    show("set", tls.cert.verify(function(k) return certs[k] end))
    try("der")
  end,
  function() print("done") end,
}
show("set", tls.cert.verify(rd("server.pem")))
try("pem")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&[
        "2 set true",
        "3 pem accepted mep",
        "2 set true",
        "2 other SSL handshake failed",
        "2 set true",
        "3 function accepted noitcnuf",
        "2 set true",
        "3 der accepted red",
        "done",
    ]);
    assert_eq!(hints(&out.stderr).len(), 1, "{}", out.describe());
}

/// `tls.cert.verify` forms and their errors.
#[test]
fn cert_verify_argument_errors() {
    let dir = certificates();
    script(
        r##"
raises("No PEM header", function() tls.cert.verify("not a certificate") end)
raises("Wrong PEM type", function() tls.cert.verify(rd("server.key")) end)
raises("Invalid PEM format data", function()
  tls.cert.verify("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
end)
raises("no certificates found", function() tls.cert.verify(function() return nil end) end)
raises("Wrong PEM type", function() tls.cert.verify(rd("server.pem"), rd("server.key")) end)
eq(tls.cert.verify(true), true, "verify(true)")
eq(tls.cert.verify(false), true, "verify(false)")
eq(tls.cert.verify(rd("server.pem")), true, "verify(pem)")
eq(tls.cert.verify(rd("server.pem"), rd("other.pem")), true, "verify(pem, pem)")
eq(tls.cert.verify(function(k) if k == 1 then return rd("other.pem") end end), true, "verify(fn)")
eq(net.cert, tls.cert, "net.cert")
print("ok")
"##,
    )
    .in_dir(&dir)
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// `tls.cert.auth` presents a client certificate to a server that demands one
/// (`s_server -Verify 1`): with a PKCS#8 key, an `RSA PRIVATE KEY` (PKCS#1) key, and
/// the function form (PEM, or DER of either key kind). Without one (at first, and after
/// `auth(false)`) the server ends the connection and nothing echoes; `auth(true)`
/// presents the last identity again.
#[test]
fn client_certificate_with_cert_auth() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &["-Verify", "1", "-CAfile", "clients.pem"]);
    let out = script(
        r##"
local port = tonumber(arg[1])
tls.cert.verify(rd("server.pem"))
local steps
local function next_step() table.remove(steps, 1)() end
local function try(name)
  local sk = tls.createConnection()
  sk:on("connection", function(s) s:send(name .. "\n") end)
  sk:on("receive", function(s, d) show(name, "echoed", (d:gsub("\n", ""))) s:close() end)
  sk:on("disconnection", function() print(name .. " ended") next_step() end)
  sk:on("reconnection", function(s, reason) print(name .. " ended") next_step() end)
  sk:connect(port, "127.0.0.1")
end
steps = {
  function() show("auth", tls.cert.auth(rd("client8.pem"), rd("client8.key"))) try("pkcs8") end,
  function() show("auth", tls.cert.auth(rd("client1.pem"), rd("client1.key"))) try("pkcs1") end,
  function()
    local parts = { [0] = rd("client1.key"), rd("client1.pem") }
    show("auth", tls.cert.auth(function(k) return parts[k] end))
    try("function")
  end,
  function()
    local parts = { [0] = rd("client8.key.der"), rd("client8.der") }
    show("auth", tls.cert.auth(function(k) return parts[k] end))
    try("der8")
  end,
  function()
    local parts = { [0] = rd("client1.key.der"), rd("client1.der") }
    show("auth", tls.cert.auth(function(k) return parts[k] end))
    try("der1")
  end,
  function() show("auth", tls.cert.auth(false)) try("off") end,
  function() show("auth", tls.cert.auth(true)) try("again") end,
  function() print("done") end,
}
try("none")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&[
        "none ended",
        "2 auth true",
        "3 pkcs8 echoed 8sckp",
        "pkcs8 ended",
        "2 auth true",
        "3 pkcs1 echoed 1sckp",
        "pkcs1 ended",
        "2 auth true",
        "3 function echoed noitcnuf",
        "function ended",
        "2 auth true",
        "3 der8 echoed 8red",
        "der8 ended",
        "2 auth true",
        "3 der1 echoed 1red",
        "der1 ended",
        "2 auth true",
        "off ended",
        "2 auth true",
        "3 again echoed niaga",
        "again ended",
        "done",
    ]);
}

/// `tls.cert.auth` errors: `auth(true)` with no identity given yet, a certificate or key
/// without a PEM header, a certificate that is not one, a key that is not a private key,
/// a key that does not parse.
#[test]
fn cert_auth_argument_errors() {
    let dir = certificates();
    script(
        r##"
raises("no certificates found", function() tls.cert.auth(true) end)
raises("No PEM header", function() tls.cert.auth("garbage", rd("client8.key")) end)
raises("No PEM header", function() tls.cert.auth(rd("client8.pem"), "garbage") end)
raises("Wrong PEM type", function() tls.cert.auth(rd("client8.pem"), rd("client8.pem")) end)
raises("Wrong PEM type", function() tls.cert.auth(rd("client8.key"), rd("client8.key")) end)
raises("Invalid PEM format data", function()
  tls.cert.auth(rd("client8.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
end)
eq(tls.cert.auth(rd("client8.pem"), rd("client8.key")), true, "auth(cert, key)")
eq(tls.cert.auth(false), true, "auth(false)")
eq(tls.cert.auth(true), true, "auth(true) with an identity given before")
print("ok")
"##,
    )
    .in_dir(&dir)
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// The TLS socket's own errors ("invalid method", not the net module's "invalid
/// callback name"), "invalid port", "already connected"; `send` before the connection
/// is silently ignored; there is no `dns`, `ttl` or `getaddr`.
#[test]
fn tls_socket_errors_and_early_sends() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
local port = tonumber(arg[1])
tls.cert.verify(false)
local sk = tls.createConnection()
eq(tostring(sk):match("^(.-):"), "tls.socket", "kind")
for _, m in ipairs { "dns", "ttl", "getaddr" } do eq(sk[m], nil, "tls.socket:" .. m) end
for _, m in ipairs { "connect", "close", "on", "send", "hold", "unhold", "getpeer" } do
  eq(type(sk[m]), "function", "tls.socket:" .. m)
end
raises("invalid method", function() sk:on("bogus", print) end)
raises("invalid method", function() sk:on("accept", print) end)
raises("invalid callback function", function() sk:on("receive", 42) end)
raises("invalid port", function() sk:connect(0) end)
show("peer", sk:getpeer())
show("early send", sk:send("early\n"))
for _, ev in ipairs { "dns", "connection", "reconnection", "disconnection", "receive", "sent" } do
  sk:on(ev, print)
  sk:on(ev, nil)
end
sk:on("connection", function(s)
  raises("already connected", function() s:connect(port) end)
  s:send("late\n")
end)
sk:on("receive", function(s, d) show("receive", (d:gsub("\n", ""))) s:close() end)
sk:connect(port, "127.0.0.1")
raises("already connected", function() sk:connect(port) end)
sk:send("while connecting\n")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["3 peer nil nil", "1 early send", "2 receive etal"]);
}

/// `hold()` stops `receive` on a TLS socket and `unhold()` resumes it; before a
/// connection both do nothing.
#[test]
fn tls_hold_and_unhold() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
tls.cert.verify(false)
local got = {}
local sk = tls.createConnection()
sk:hold()
sk:on("connection", function(s)
  s:hold()
  s:send("held back\n")
  tmr.create():alarm(300, tmr.ALARM_SINGLE, function()
    show("while held", #got)
    s:unhold()
  end)
end)
sk:on("receive", function(s, d)
  got[#got + 1] = d
  if table.concat(got):find("\n") then show("receive", (table.concat(got):gsub("\n", ""))) s:close() end
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 while held 0", "2 receive kcab dleh"]);
}

/// `close()` during a name lookup, then `connect()` elsewhere: the first lookup's answer
/// must not connect the socket (to the first, refusing, port). The close is reported.
#[test]
fn tls_superseded_lookup_does_not_connect() {
    let dir = certificates();
    let (_server, port) = s_server(&dir, &[]);
    let out = script(
        r##"
tls.cert.verify(false)
local sk = tls.createConnection()
sk:on("disconnection", function() print("disconnection") end)
sk:on("reconnection", function(s, reason) print("reconnection " .. reason) end)
sk:on("connection", function(s) s:send("second\n") end)
sk:on("receive", function(s, d) print((d:gsub("\n", ""))) sk:on("disconnection", nil) s:close() end)
sk:connect(tonumber(arg[2]), "localhost")
sk:close()
sk:connect(tonumber(arg[1]), "localhost")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .arg(closed_port())
    .run();
    out.assert_success().assert_lines(&["disconnection", "dnoces"]);
}

/// A refused connect is `reconnection(sock, "Connection reset")` (or `disconnection(sock)`
/// without a handler); a name that does not resolve fires `dns(sock, nil)` and then
/// `reconnection(sock, "Routing problem")` (decision 7's TLS counterpart).
#[test]
fn tls_connect_failures() {
    let out = script(
        r##"
local port = tonumber(arg[1])
local a = tls.createConnection()
a:on("reconnection", function(s, reason)
  show("a reconnection", s == a, reason)
  local b = tls.createConnection()
  b:on("disconnection", function(s, ...)
    show("b disconnection", s == b, ...)
    local c = tls.createConnection()
    c:on("dns", function(s, ip) show("c dns", s == c, ip) end)
    c:on("reconnection", function(s, reason) show("c reconnection", s == c, reason) end)
    c:connect(443, "nosuchhost.invalid")
  end)
  b:connect(port, "127.0.0.1")
end)
a:connect(port, "127.0.0.1")
"##,
    )
    .arg(closed_port())
    .run();
    out.assert_success().assert_lines(&[
        "3 a reconnection true Connection reset",
        "2 b disconnection true",
        "3 c dns true nil",
        "3 c reconnection true Routing problem",
    ]);
}

/// Against a python3 TLS server: the host name is sent as SNI (decision 10), 100
/// consecutive sends all arrive with 100 `sent` events (decision 4), and the server's
/// close is `disconnection(sock)`.
#[test]
fn sni_consecutive_sends_and_remote_close() {
    let dir = certificates();
    let mut peer = python(
        r##"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
names = []
ctx.sni_callback = lambda sock, name, c: names.append(name)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
raw, _ = l.accept()
c = ctx.wrap_socket(raw, server_side=True)
want = b"".join(b"%06d\n" % i for i in range(1, 101))
data = b""
while len(data) < len(want):
    d = c.recv(65536)
    if not d: break
    data += d
print("sni", names)
print("match", data == want)
c.sendall(b"bye")
c.unwrap().close()
"##,
        &[dir.arg("server.pem"), dir.arg("server.key")],
    );
    let port = peer.expect_num("port");
    let out = script(
        r##"
tls.cert.verify(rd("server.pem"))
local sk = tls.createConnection()
local sent = 0
sk:on("sent", function() sent = sent + 1 end)
sk:on("connection", function(s) for i = 1, 100 do s:send(("%06d\n"):format(i)) end end)
sk:on("receive", function(s, d) show("receive", d, sent) end)
sk:on("reconnection", function(s, reason) show("reconnection", reason) end)
sk:on("disconnection", function(s, ...) show("disconnection", s == sk, ...) end)
sk:connect(tonumber(arg[1]), "localhost")
"##,
    )
    .in_dir(&dir)
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["3 receive bye 100", "2 disconnection true"]);
    let peer = peer.wait();
    assert!(peer.stdout.contains("sni ['localhost']"), "{}", peer.describe());
    assert!(peer.stdout.contains("match True"), "{}", peer.describe());
}
