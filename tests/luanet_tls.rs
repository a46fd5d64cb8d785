//! The luanet dialect's TLS modules (`net.tls`, `net.tls.stream*`, `net.tls.unix`,
//! `net.tls.client`, `net.tls.server`, `net.tls.context`), run through the real binary with
//! `--dialect luanet` on loopback: rlua-net against itself, `openssl s_server` and
//! `openssl s_client`, with certificates made by `openssl req` for each test.
//! docs: /work/shared/specs/luanet.md, 1.9, 1.13, 1.14 and decisions 2, 3, 5.
//!
//! Trust: the client's roots come from `SSL_CERT_FILE`, set per script. No test asserts how
//! long anything takes; a wait that used the wrong budget hangs and is killed.

mod luanet_support;

use std::io::Write;
use std::process::{Command, Stdio};

use luanet_support::{Peer, TempDir, lua_ok_in, lua_ok_in_env, lua_peer};

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails.
fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(out.status.success(), "openssl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

fn read(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// A directory with:
/// - `cert.pem`/`key.pem`: self-signed for DNS:localhost and IP:127.0.0.1 (PKCS#8 key);
/// - `key1.pem`: the same key as PKCS#1 (`RSA PRIVATE KEY`);
/// - `a.pem`/`a.key`, `b.pem`/`b.key`: self-signed for DNS:a.example, DNS:b.example only;
/// - `cert.der`, `a.der`, `b.der`: the certificates in DER;
/// - `trust.pem`: cert.pem and a.pem (not b.pem), for `SSL_CERT_FILE`.
fn certs(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    for (name, cn, san) in [
        ("cert", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ("a", "a.example", "subjectAltName=DNS:a.example"),
        ("b", "b.example", "subjectAltName=DNS:b.example"),
    ] {
        let key = if name == "cert" { "key.pem".to_string() } else { format!("{name}.key") };
        let pem = format!("{name}.pem");
        let subj = format!("/CN={cn}");
        openssl(
            &dir,
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", &key, "-out", &pem, "-subj",
                &subj, "-addext", san,
            ],
        );
        openssl(&dir, &["x509", "-in", &pem, "-outform", "DER", "-out", &format!("{name}.der")]);
    }
    openssl(&dir, &["rsa", "-in", "key.pem", "-traditional", "-out", "key1.pem"]);
    assert!(read(&dir, "key.pem").starts_with("-----BEGIN PRIVATE KEY-----"), "key.pem is not PKCS#8");
    assert!(read(&dir, "key1.pem").starts_with("-----BEGIN RSA PRIVATE KEY-----"), "key1.pem is not PKCS#1");
    std::fs::write(dir.path().join("trust.pem"), read(&dir, "cert.pem") + &read(&dir, "a.pem")).expect("trust.pem");
    dir
}

/// Lua helpers for every script:
/// * `rd(name)`: a file's bytes;
/// * `listen(tlscfg)`: a listening TLS server on 127.0.0.1 (ephemeral port), and the port;
/// * `connect(server, host, opts)`: client.new to that server, then accept: client, peer;
/// * `both(fa, fb)`: runs fa and fb as concurrent act tasks until both end;
/// * `prefix(obj, class)`: tostring(obj) is "<class>: 0x...";
/// * `handshake_with(server, host, opts)`: the client's handshake() results while the
///   accepted peer handshakes too;
/// * `SCFG`: the server tlscfg of cert.pem/key.pem.
const COMMON: &str = r##"
inet = require "net.stream.inet"
unix = require "net.stream.unix"
act = require "act"
net = require "net"
class = require "net.class"
SCFG = { cert = "cert.pem", key = "key.pem" }
function rd(name) local f = assert(io.open(name, "rb")) local s = f:read("a") f:close() return s end
function listen(tlscfg)
  local server, err = inet.server.new("127.0.0.1", 0, { tlscfg = tlscfg })
  check(server, "server.new: " .. tostring(err))
  check(server:listen(), "listen")
  return server, server:getsockname():port()
end
function connect(server, host, opts)
  local c, err = inet.client.new(host or "127.0.0.1", server:getsockname():port(), opts)
  check(c, "client.new: " .. tostring(err))
  local p, perr = server:accept()
  check(p, "accept: " .. tostring(perr))
  return c, p
end
function both(fa, fb)
  local ok, err = act.run(function() act.spawn(fb) fa() end)
  check(ok, "act.run: " .. tostring(err))
end
function prefix(obj, name)
  local s = tostring(obj)
  check(s:match("^" .. name:gsub("%.", "%%.") .. ": 0x%x+$"), "tostring " .. s .. " for " .. name)
end
function handshake_with(server, host, opts)
  local c, p = connect(server, host, opts)
  local r
  both(function() r = table.pack(c:handshake()) c:close() end, function() p:handshake() p:close() end)
  return table.unpack(r, 1, r.n)
end
"##;

fn lua(body: &str) -> String {
    format!("{COMMON}\n{body}")
}

/// Both ends in one script: ALPN agreed on both sides, the handshake happening lazily on
/// the first write/read (neither client.new nor accept does it), handshake() idempotent,
/// a server key in PKCS#1 form, classes and visible fields.
#[test]
fn client_and_server_with_alpn_and_a_lazy_handshake() {
    let dir = certs("alpn");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server = listen({ cert = "cert.pem", key = "key1.pem", alpn = { "h2", "http/1.1" } })
prefix(server, "net.tls.stream.inet.Server")
check(class.instanceof(server, "net.stream.Server"), "a net.stream.Server")
local c, p = connect(server, "127.0.0.1", { tlscfg = { alpn = { "spdy/1", "http/1.1" }, noverify_cert = true } })
prefix(c, "net.tls.stream.inet.Client")
prefix(p, "net.tls.stream.inet.Socket")
check(class.instanceof(c, "net.tls.Socket") and class.instanceof(c, "net.stream.Socket"), "client classes")
check(class.instanceof(p, "net.tls.stream.Socket"), "peer classes")
eq(c:family(), net.AF_INET, "family")
check(c.sock ~= nil and c.tls ~= nil, "sock and tls fields")
-- accept and client.new did not handshake (both in the main chunk: a handshake would hang)
eq(c.handshaked, false, "client not handshaked")
eq(p.handshaked, false, "peer not handshaked")
eq(select("#", c:get_alpn()), 0, "no ALPN before the handshake")
both(function()
  eq(c:write("ping"), 4, "client write")
  eq(c.handshaked, true, "the write handshook")
  eq(c:get_alpn(), "http/1.1", "client ALPN")
  eq(c:read(), "pong", "client read")
  local ok, err, timeout = c:handshake()
  eq(ok, true, "handshake again") eq(err, nil, "no error") eq(timeout, nil, "no timeout")
  eq(c:handshake(), true, "and again")
  eq(c:close(), true, "close")
end, function()
  eq(p:read(), "ping", "server read")
  eq(p.handshaked, true, "the read handshook")
  eq(p:get_alpn(), "http/1.1", "server ALPN")
  eq(p:write("pong"), 4, "server write")
  nils(3, p:read())
  p:close()
end)

-- no protocol in common: no ALPN on either side
local c2, p2 = connect(server, "127.0.0.1", { tlscfg = { alpn = { "spdy/1" }, noverify_cert = true } })
both(function()
  eq(c2:handshake(), true, "handshake without ALPN overlap")
  eq(select("#", c2:get_alpn()), 0, "client: no ALPN")
  eq(c2:writesync("x"), 1, "writesync")
  c2:close()
end, function()
  eq(p2:readsync(), "x", "readsync")
  eq(select("#", p2:get_alpn()), 0, "server: no ALPN")
  p2:close()
end)
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// Decision 3: the handshake a read starts runs within the receive budget (rcvtimeo), the
/// one a write or handshake() starts within the send budget. The other budget is the
/// default 3600 s, so using the wrong one would hang (and the run be killed).
#[test]
fn the_lazy_handshake_uses_the_callers_budget() {
    let dir = certs("budget");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server = listen(SCFG)   -- accepted peers never speak
local tlscfg = { noverify_cert = true }
local c = connect(server, "127.0.0.1", { tlscfg = tlscfg })
c:rcvtimeo(0.2)
local s, err, timeout = c:read()
eq(s, nil, "read") eq(err, nil, "read err") eq(timeout, true, "read timed out")
eq(c.handshaked, false, "still not handshaked")

local c2 = connect(server, "127.0.0.1", { tlscfg = tlscfg })
c2:sndtimeo(0.2)
local n, werr, wtimeout = c2:write("x")
eq(n, 0, "write sent nothing") eq(werr, nil, "write err") eq(wtimeout, true, "write timed out")

local c3 = connect(server, "127.0.0.1", { tlscfg = tlscfg })
c3:sndtimeo(0.2)
local ok, herr, htimeout = c3:handshake()
eq(ok, false, "handshake") eq(herr, nil, "handshake err") eq(htimeout, true, "handshake timed out")

-- a budget of 0 tries once
local c4 = connect(server, "127.0.0.1", { tlscfg = tlscfg })
c4:rcvtimeo(0)
local s4, err4, timeout4 = c4:read()
eq(s4, nil, "read 0") eq(err4, nil, "read 0 err") eq(timeout4, true, "read 0 timed out")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// A certificate the client does not trust: handshake() returns false and an EPROTO error
/// (not a throw), the same error every time after; read gives nil, err and write 0, err.
/// The server sees the client's alert as its own handshake error.
#[test]
fn a_verification_failure_is_an_error_value() {
    let dir = certs("verify");
    let out = lua_ok_in_env(
        &dir,
        &lua(r##"
local server = listen(SCFG)
local c, p = connect(server, "127.0.0.1", { tlscfg = {} })
both(function()
  local ok, err, timeout = c:handshake()
  eq(ok, false, "handshake")
  is_err(err, errno.EPROTO, "handshake")
  check(tostring(err):find("certificate verify failed", 1, true), "message: " .. tostring(err))
  eq(timeout, nil, "no timeout")
  local ok2, err2 = c:handshake()
  eq(ok2, false, "handshake again")
  check(err2 == err, "the same error")
  local s, rerr, rtimeout = c:read()
  eq(s, nil, "read") is_err(rerr, errno.EPROTO) eq(rtimeout, nil, "read timeout")
  local n, werr = c:write("x")
  eq(n, 0, "write") is_err(werr, errno.EPROTO)
  eq(c.handshaked, false, "not handshaked")
  eq(c:close(), true, "close")
end, function()
  local s, err = p:read()
  eq(s, nil, "server read")
  is_err(err, errno.EPROTO, "handshake")
  p:close()
end)
print("done")
"##),
        // trusted, but not the server's certificate
        &[("SSL_CERT_FILE", "b.pem")],
    );
    assert_eq!(out, "done\n");
}

/// Decision 3: an IP-literal servername (the default: the host) is checked against the
/// certificate's IP addresses; a DNS name against its names.
#[test]
fn an_ip_servername_is_checked_against_ip_sans() {
    let dir = certs("ipsan");
    let out = lua_ok_in_env(
        &dir,
        &lua(r##"
local with_ip = listen(SCFG)                                  -- DNS:localhost, IP:127.0.0.1
local dns_only = listen({ cert = "a.pem", key = "a.key" })    -- DNS:a.example
eq(handshake_with(with_ip, "127.0.0.1", { tlscfg = {} }), true, "IP SAN matches")
eq(handshake_with(with_ip, "localhost", { tlscfg = {} }), true, "DNS SAN matches")
local ok, err = handshake_with(dns_only, "127.0.0.1", { tlscfg = {} })
eq(ok, false, "no IP SAN")
is_err(err, errno.EPROTO, "handshake")
check(tostring(err):find("IP address mismatch", 1, true), "message: " .. tostring(err))
local ok2, err2 = handshake_with(with_ip, "127.0.0.1", { servername = "127.0.0.2", tlscfg = {} })
eq(ok2, false, "another IP")
check(tostring(err2):find("IP address mismatch", 1, true), "message: " .. tostring(err2))
print("done")
"##),
        &[("SSL_CERT_FILE", "trust.pem")],
    );
    assert_eq!(out, "done\n");
}

/// noverify_name keeps the chain check and skips the name; noverify_cert skips both (and
/// subsumes noverify_time).
#[test]
fn noverify_cert_and_noverify_name() {
    let dir = certs("noverify");
    let out = lua_ok_in_env(
        &dir,
        &lua(r##"
local a = listen({ cert = "a.pem", key = "a.key" })       -- trusted, DNS:a.example
local b = listen({ cert = "b.pem", key = "b.key" })       -- not trusted
local function fails(what, text, ok, err)
  eq(ok, false, what)
  is_err(err, errno.EPROTO, "handshake", what)
  check(tostring(err):find(text, 1, true), what .. ": " .. tostring(err))
end
fails("name", "hostname mismatch", handshake_with(a, "127.0.0.1", { servername = "b.example", tlscfg = {} }))
eq(handshake_with(a, "127.0.0.1", { servername = "a.example", tlscfg = {} }), true, "name matches")
eq(handshake_with(a, "127.0.0.1", { servername = "b.example", tlscfg = { noverify_name = true } }), true,
  "noverify_name")
eq(handshake_with(a, "127.0.0.1", { tlscfg = { noverify_name = true } }), true, "noverify_name, IP")
fails("untrusted", "certificate verify failed",
  handshake_with(b, "127.0.0.1", { servername = "b.example", tlscfg = {} }))
fails("untrusted, noverify_name", "certificate verify failed",
  handshake_with(b, "127.0.0.1", { servername = "b.example", tlscfg = { noverify_name = true } }))
eq(handshake_with(b, "127.0.0.1", { tlscfg = { noverify_cert = true } }), true, "noverify_cert")
eq(handshake_with(b, "127.0.0.1", { tlscfg = { noverify_cert = true, noverify_time = true } }), true,
  "noverify_cert with noverify_time")
print("done")
"##),
        &[("SSL_CERT_FILE", "trust.pem")],
    );
    assert_eq!(out, "done\n");
}

/// The server's SNI callback picks the certificate by the client's server name
/// (checked through the peer certificate the client got); no name or an IP literal keeps
/// the server's own; a raising callback fails that handshake on both sides; a wrong
/// type throws; set_sni_callback(nil) removes it.
#[test]
fn the_sni_callback_chooses_the_certificate() {
    let dir = certs("sni");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local new_server_ctx = require "net.tls.server"
local actx = assert(new_server_ctx("a.pem", "a.key"))
local bctx = assert(new_server_ctx("b.pem", "b.key"))
prefix(actx, "net.tls.server")
local server = listen(SCFG)
local asked = {}
server:set_sni_callback(function(tag, name)
  eq(tag, "tag", "extra argument")
  asked[#asked + 1] = name
  if name == "a.example" then return actx
  elseif name == "b.example" then return bctx
  elseif name == "boom.example" then error("boom")
  elseif name == "bad.example" then return 42
  end
end, "tag")
local function peer_cert(servername)
  local c, p = connect(server, "127.0.0.1", { servername = servername, tlscfg = { noverify_cert = true } })
  local der
  both(function()
    eq(c:handshake(), true, "handshake " .. tostring(servername))
    der = c.sock:tls_info().peer_certificate
    c:close()
  end, function() p:read() p:close() end)
  return der
end
check(peer_cert("a.example") == rd("a.der"), "a.example got a.pem")
check(peer_cert("b.example") == rd("b.der"), "b.example got b.pem")
check(peer_cert("other.example") == rd("cert.der"), "nil from the callback: the server's own")
check(peer_cert(nil) == rd("cert.der"), "no SNI for an IP literal: the server's own")
eq(table.concat(asked, " "), "a.example b.example other.example", "names the callback saw")

for _, name in ipairs({ "boom.example", "bad.example" }) do
  local c, p = connect(server, "127.0.0.1", { servername = name, tlscfg = { noverify_cert = true } })
  both(function()
    local ok, err = c:handshake()
    eq(ok, false, name .. ": client handshake")
    is_err(err, errno.EPROTO, "handshake")
    c:close()
  end, function()
    local s, err = p:read()
    eq(s, nil, name .. ": server read")
    is_err(err, errno.EPROTO, "handshake")
    check(tostring(err):find(name == "boom.example" and "SNI callback failed" or "must return", 1, true),
      "message: " .. tostring(err))
    p:close()
  end)
end

-- a client that leaves before its hello: the peer reads the end of the stream
local before = #asked
local plain = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
local early = assert(server:accept())
plain:close()
nils(3, early:read())
early:close()
eq(#asked, before, "no callback without a hello")

local ok, msg = pcall(server.set_sni_callback, server, 42)
check(not ok and tostring(msg):find("function or nil expected, got number", 1, true), tostring(msg))
server:set_sni_callback(nil)
check(peer_cert("a.example") == rd("cert.der"), "callback removed")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// `openssl s_client -connect 127.0.0.1:port <args>` with `input` on its stdin; its
/// stdout (it waits for the server to close: -ign_eof).
fn s_client(dir: &TempDir, port: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-ign_eof"])
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write to s_client");
    let out = child.wait_with_output().expect("s_client output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subject line s_client printed for the server's certificate.
fn subject(out: &str) -> String {
    out.lines().find(|l| l.starts_with("subject=")).unwrap_or_default().to_string()
}

/// rlua-net as the server, `openssl s_client` as the client: the SNI callback picks the
/// certificate s_client sees, ALPN is agreed, data goes both ways, and the session ends
/// with s_client reading the reply.
#[test]
fn the_server_against_openssl_s_client() {
    let dir = certs("sclient");
    let peer: Peer = lua_peer(
        &dir,
        &lua(r##"
local new_server_ctx = require "net.tls.server"
local actx = assert(new_server_ctx("a.pem", "a.key", nil, nil, { "h2", "http/1.1" }))
local server = listen({ cert = "cert.pem", key = "key1.pem", alpn = { "h2", "http/1.1" } })
server:set_sni_callback(function(name) if name == "a.example" then return actx end end)
print("port " .. server:getsockname():port())
io.stdout:flush()
for i = 1, 3 do
  local p = assert(server:accept())
  local line, err = p:read()
  check(line, "read " .. i .. ": " .. tostring(err))
  print(i, line:gsub("\n", ""), p:get_alpn())
  io.stdout:flush()
  eq(p:write(line:upper()), #line, "reply")
  eq(p:close(), true, "close")
end
server:close()
print("done")
"##),
        &[],
    );
    let port = peer.line_starting("port ").trim_start_matches("port ").to_string();

    let a = s_client(&dir, &port, &["-servername", "a.example", "-alpn", "http/1.1"], "hello a\n");
    assert!(subject(&a).contains("a.example"), "a.example: {}\n{a}", subject(&a));
    assert!(a.contains("HELLO A"), "reply to a:\n{a}");
    assert!(a.contains("ALPN protocol: http/1.1"), "ALPN:\n{a}");
    assert_eq!(peer.line(), "1\thello a\thttp/1.1");

    let l = s_client(&dir, &port, &["-servername", "localhost", "-alpn", "h2"], "hello l\n");
    assert!(subject(&l).contains("localhost"), "localhost: {}\n{l}", subject(&l));
    assert!(l.contains("HELLO L"), "reply to localhost:\n{l}");
    assert_eq!(peer.line(), "2\thello l\th2");

    let n = s_client(&dir, &port, &["-noservername"], "hello n\n");
    assert!(subject(&n).contains("localhost"), "no SNI: {}\n{n}", subject(&n));
    assert!(n.contains("HELLO N"), "reply without SNI:\n{n}");
    assert_eq!(peer.line(), "3\thello n");
    assert_eq!(peer.line(), "done");
    let code = peer.wait();
    assert_eq!(code, Some(0), "server script failed: {}", read(&dir, "stderr.txt"));
}

/// `openssl s_server -rev` on a loopback port; returns it and the port.
fn s_server(dir: &TempDir, extra: &[&str]) -> (Peer, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "cert.pem", "-key", "key.pem", "-rev"])
        .args(extra)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let peer = Peer::spawn(cmd);
    let line = peer.line_starting("ACCEPT ");
    let port = line.rsplit(':').next().unwrap_or_default().trim().to_string();
    (peer, port)
}

/// rlua-net as the client, `openssl s_server -rev` as the server: verified against the
/// server's certificate (trusted through SSL_CERT_FILE), with ALPN; a protocol the server
/// does not speak fails the handshake.
#[test]
fn the_client_against_openssl_s_server() {
    let dir = certs("sserver");
    let (_server, port) = s_server(&dir, &["-alpn", "h2,http/1.1"]);
    let (_server13, port13) = s_server(&dir, &["-tls1_3"]);
    let out = lua_ok_in_env(
        &dir,
        &format!(
            "{}\nlocal PORT, PORT13 = {port}, {port13}\n{}",
            COMMON,
            r##"
local c = assert(inet.client.new("127.0.0.1", PORT, { tlscfg = { alpn = { "http/1.1" } } }))
c:rcvtimeo(10)
eq(c:write("hello tls\n"), 10, "write")
eq(c:get_alpn(), "http/1.1", "ALPN")
local got = ""
while not got:find("\n") do
  local s, err, timeout = c:read()
  check(s, "read: " .. tostring(err) .. " " .. tostring(timeout))
  got = got .. s
end
eq(got, "slt olleh\n", "reversed")
eq(c:close(), true, "close")

local v = assert(inet.client.new("localhost", PORT, { tlscfg = { protocol = "tlsv1.2" } }))
eq(v:handshake(), true, "TLS 1.2 with a name")
v:close()

local old = assert(inet.client.new("127.0.0.1", PORT13, { tlscfg = { protocol = "tlsv1.2" } }))
local ok, err = old:handshake()
eq(ok, false, "TLS 1.2 against a 1.3-only server")
is_err(err, errno.EPROTO, "handshake")
old:close()
local new = assert(inet.client.new("127.0.0.1", PORT13, { tlscfg = { protocol = "tlsv1.3" } }))
eq(new:handshake(), true, "TLS 1.3 against a 1.3-only server")
new:close()
print("done")
"##
        ),
        &[("SSL_CERT_FILE", "cert.pem")],
    );
    assert_eq!(out, "done\n");
}

/// Section 1.13: close() sends close_notify, so the peer reads EOF (all nil); double close
/// is true; reading a closed socket gives EBADF; tls_close ends this side (writes fail
/// with EPIPE) and close sends the alert. A peer that drops the TCP connection without
/// close_notify is also read as EOF (the runtime's TLS layer reports it so).
#[test]
fn eof_and_close_notify() {
    let dir = certs("eof");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server = listen(SCFG)
local tlscfg = { noverify_cert = true }
local c, p = connect(server, "127.0.0.1", { tlscfg = tlscfg })
both(function()
  eq(c:write("bye"), 3, "write")
  eq(c:close(), true, "close")
  eq(c:close(), true, "close again")
  eq(c:fd(), -1, "fd after close")
  local s, err = c:read()
  eq(s, nil, "read after close")
  is_err(err, errno.EBADF)
end, function()
  eq(p:read(), "bye", "read")
  nils(3, p:read())
  nils(3, p:read())
  eq(p:close(), true, "peer close")
end)

local c2, p2 = connect(server, "127.0.0.1", { tlscfg = tlscfg })
both(function()
  eq(c2:handshake(), true, "handshake")
  eq(c2:tls_close(), true, "tls_close")
  local n, err = c2:write("x")
  eq(n, nil, "write after tls_close")
  is_err(err, errno.EPIPE, "write")
  eq(c2:close(), true, "close")
end, function()
  nils(3, p2:read())
  p2:close()
end)

local c3, p3 = connect(server, "127.0.0.1", { tlscfg = tlscfg })
both(function()
  eq(c3:read(), "data", "read")
  nils(3, c3:read())
  c3:close()
end, function()
  eq(p3:write("data"), 4, "write")
  p3.sock:shutdown("rw")   -- no close_notify
  p3:close()
end)
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// Methods TLS cannot serve: nil, EOPNOTSUPP (closer/closew: false, EOPNOTSUPP), also on
/// Unix TLS sockets for descriptor passing; recv/send flags beyond MSG_NOSIGNAL and
/// MSG_DONTWAIT; poll_wait with an unknown want gives false, EINVAL.
#[test]
fn unsupported_methods_give_eopnotsupp() {
    let dir = certs("unsupported");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server = listen(SCFG)
local c, p = connect(server, "127.0.0.1", { tlscfg = { noverify_cert = true } })
for _, s in ipairs({ c, p }) do
  for _, m in ipairs({ "recvmsg", "recvmsgsync", "readv", "readvsync", "sendmsg", "sendmsgsync", "writev",
    "writevsync" }) do
    local v, err = s[m](s)
    eq(v, nil, m) is_err(err, errno.EOPNOTSUPP, nil, m)
  end
  for _, m in ipairs({ "closer", "closew" }) do
    local v, err = s[m](s)
    eq(v, false, m) is_err(err, errno.EOPNOTSUPP, nil, m)
  end
end
local v, err = c:recv(10, net.MSG_PEEK)
eq(v, nil, "recv MSG_PEEK") is_err(err, errno.EOPNOTSUPP)
local n, serr = c:send("x", net.MSG_OOB)
eq(n, nil, "send MSG_OOB") is_err(serr, errno.EOPNOTSUPP)
local ok, perr = c:poll_wait(99)
eq(ok, false, "poll_wait 99") is_err(perr, errno.EINVAL)
local context = require "net.tls.context"
local w, werr, wt = c:poll_wait(context.WANT_WRITE, 1)
eq(w, true, "poll_wait WANT_WRITE") eq(werr, nil, "no error") eq(wt, nil, "no timeout")
local s0, e0 = c:read(0)
eq(s0, nil, "read 0") is_err(e0, errno.EINVAL)
local w0, we0 = c:write("")
eq(w0, nil, "write ''") is_err(we0, errno.EINVAL)

local userver = assert(unix.server.new("./u.sock", SCFG))
assert(userver:listen())
local uc = assert(unix.client.new("./u.sock", { tlscfg = { noverify_cert = true } }))
local up = assert(userver:accept())
for _, s in ipairs({ uc, up }) do
  for _, m in ipairs({ "sendfd", "sendfdsync", "recvfd", "recvfdsync" }) do
    local v2, err2 = s[m](s, 0)
    eq(v2, nil, m) is_err(err2, errno.EOPNOTSUPP, nil, m)
  end
end
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// tlscfg problems: invalid protocol/ciphers strings and non-table alpn throw at the
/// script's line; what native-tls cannot do is nil, err (legacy/all ciphers, noverify_time
/// alone, a TLS 1.3-only server); bad ALPN elements, missing or invalid certificate files
/// are nil, err; the session and OCSP options are accepted.
#[test]
fn tlscfg_errors() {
    let dir = certs("tlscfg");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server, port = listen(SCFG)
local function client(tlscfg) return inet.client.new("127.0.0.1", port, { tlscfg = tlscfg }) end
throws("bad argument #1 to 'new_client_ctx' (invalid option 'tlsv9')", function() client({ protocol = "tlsv9" }) end)
throws("bad argument #1 to 'new_client_ctx' (string expected, got number)", function() client({ protocol = 1.2 }) end)
throws("bad argument #2 to 'new_client_ctx' (invalid option 'HIGH:!aNULL')",
  function() client({ ciphers = "HIGH:!aNULL" }) end)
throws("bad argument #3 to 'new_client_ctx' (table expected, got string)", function() client({ alpn = "h2" }) end)
throws("tlscfg.noverify_cert must be boolean", function() client({ noverify_cert = "yes" }) end)
throws("bad argument #1 to 'new_client_ctx' (invalid option 'x')", function() require("net.tls.client")("x") end)
eq(type(require "net.tls.client"), "function", "net.tls.client is a function")

for _, policy in ipairs({ "legacy", "all" }) do
  local c, err = client({ ciphers = policy })
  eq(c, nil, policy)
  is_err(err, errno.EOPNOTSUPP)
  check(tostring(err):find("cipher policy not supported by the platform TLS library", 1, true), tostring(err))
end
local c, err = client({ noverify_time = true })
eq(c, nil, "noverify_time alone")
is_err(err, errno.EOPNOTSUPP)
local a1, e1 = client({ alpn = { "h2", 5 } })
eq(a1, nil, "alpn number") is_err(e1, errno.EINVAL)
local a2, e2 = client({ alpn = { ("x"):rep(256) } })
eq(a2, nil, "alpn too long") is_err(e2, errno.EINVAL)
local called = false
for _, ok in ipairs({
  { ciphers = "default" }, { ciphers = "secure" }, { protocol = "tlsv1" }, { protocol = "tlsv1.3" },
  { alpn = { "", "h2" } }, { noverify_time = true, noverify_cert = true },
  { session_cache_timeout = 10, session_cache_size = 5, prefer_client_ciphers = true,
    ocsp_error_callback = function() called = true end, noverify_cert = true },
}) do
  local cl, cerr = client(ok)
  check(cl, tostring(cerr))
  local p = assert(server:accept())
  cl:close() p:close()
end

local ub = assert(client({ use_bio = true, bufcap = 1, noverify_cert = true }))
check(ub.use_bio == true and ub.tls_bio ~= nil, "use_bio accepted, tls_bio set")
ub:close()
assert(server:accept()):close()

local s1, se1 = inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "missing.pem", key = "key.pem" } })
eq(s1, nil, "missing cert") is_err(se1, errno.ENOENT)
local s2, se2 = inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "cert.pem", key = "missing.key" } })
eq(s2, nil, "missing key") is_err(se2, errno.ENOENT)
local s3, se3 = inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "t.lua", key = "key.pem" } })
eq(s3, nil, "not a certificate") check(se3 ~= nil, "an error")
local s4, se4 = inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "cert.pem", key = "key.pem", protocol = "tlsv1.3" } })
eq(s4, nil, "TLS 1.3-only server") check(se4 ~= nil, "an error")
local s5, se5 = inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "cert.pem", key = "key.pem", ciphers = "all" } })
eq(s5, nil, "server ciphers all") is_err(se5, errno.EOPNOTSUPP)
throws("tlscfg.cert must be string", function() inet.server.new("127.0.0.1", 0, { tlscfg = { key = "key.pem" } }) end)
throws("bad argument #3 to 'new_server_ctx' (invalid option 'ssl3')",
  function() unix.server.new("./x.sock", { cert = "cert.pem", key = "key.pem", protocol = "ssl3" }) end)
local s6 = assert(inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "cert.pem", key = "key.pem",
  protocol = "tlsv1.2", session_timeout = 10, session_cache_size = 10, alpn = { "h2" } } }))
s6:close()
throws("function or nil expected, got number", function() server:set_sni_callback(1) end)

local context = require "net.tls.context"
eq(context.WANT_READ, 2, "WANT_READ") eq(context.WANT_WRITE, 3, "WANT_WRITE")
for name, len in pairs({ default = 17749, tlsv1 = 17749, ["tlsv1.0"] = 17689, ["tlsv1.1"] = 17705,
  ["tlsv1.2"] = 17749, ["tlsv1.3"] = 16645 }) do
  eq(context.encrypted_length(name), len, name)
end
throws("bad argument #1 to 'encrypted_length' (invalid option 'x')", function() context.encrypted_length("x") end)
eq(called, false, "ocsp_error_callback never called")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// Section 1.14: sendfile through TLS from a file handle (its position kept), a pathname
/// and a descriptor, the whole file or a slice from an offset, past the end (what there
/// is), 0 bytes, invalid numbers (EINVAL), and sendfilesync.
#[test]
fn sendfile_over_tls() {
    let dir = certs("sendfile");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local parts = {}
for i = 1, 6400 do parts[i] = ("%015d\n"):format(i) end
local data = table.concat(parts)   -- 100 KiB
local f = assert(io.open("data.bin", "wb")) f:write(data) f:close()
local server = listen(SCFG)
local c, p = connect(server, "127.0.0.1", { tlscfg = { noverify_cert = true } })
local got = {}
both(function()
  local fh = assert(io.open("data.bin", "rb"))
  fh:seek("set", 7)
  eq(c:sendfile(fh), #data, "the whole file")
  eq(c.handshaked, true, "sendfile handshook")
  eq(fh:seek(), 7, "position kept")
  eq(c:sendfile(fh, 1000, 500), 1000, "a slice")
  eq(c:sendfile("data.bin", nil, #data - 10), 10, "pathname: the rest from an offset")
  eq(c:sendfile(fh, 50, #data - 20), 20, "past the end: what there is")
  eq(c:sendfile(fh, 0), 0, "0 bytes")
  eq(c:sendfile(fh, nil, #data + 5), 0, "offset past the end")
  local n, err = c:sendfile(fh, 1.5)
  eq(n, nil, "bytes 1.5") is_err(err, errno.EINVAL)
  local n2, err2 = c:sendfile(fh, 10, -1)
  eq(n2, nil, "offset -1") is_err(err2, errno.EINVAL)
  eq(c:sendfile(core.file_fd(fh), 16, 16), 16, "descriptor")
  eq(c:sendfilesync(fh, 16, 32), 16, "sendfilesync")
  eq(fh:seek(), 7, "position still kept")
  local n3, err3 = c:sendfile("missing.bin", 10)
  eq(n3, nil, "missing file") is_err(err3, errno.ENOENT)
  fh:close()
  eq(c:write("END"), 3, "write")
  c:close()
end, function()
  while true do
    local s, err, timeout = p:read()
    if not s then
      eq(err, nil, "read error") eq(timeout, nil, "read timeout")
      break
    end
    got[#got + 1] = s
  end
  p:close()
end)
local all = table.concat(got)
local want = data .. data:sub(501, 1500) .. data:sub(#data - 9) .. data:sub(#data - 19) .. data:sub(17, 32)
  .. data:sub(33, 48) .. "END"
eq(#all, #want, "bytes received")
check(all == want, "the bytes are the file's")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// TLS over Unix sockets: no servername means no SNI and only the chain is verified; a
/// servername is checked.
#[test]
fn tls_over_unix_sockets() {
    let dir = certs("unix");
    let out = lua_ok_in_env(
        &dir,
        &lua(r##"
local server = assert(unix.server.new("./tls.sock", SCFG))
prefix(server, "net.tls.stream.unix.Server")
assert(server:listen())
local function pair(opts)
  local c, err = unix.client.new("./tls.sock", opts)
  check(c, tostring(err))
  return c, assert(server:accept())
end
local c, p = pair({ tlscfg = {} })
prefix(c, "net.tls.stream.unix.Client")
prefix(p, "net.tls.stream.unix.Socket")
check(class.instanceof(c, "net.tls.unix.Socket"), "a net.tls.unix.Socket")
eq(c:family(), net.AF_UNIX, "family")
both(function()
  eq(c:write("over unix"), 9, "write")
  eq(c:read(), "ack", "read")
  c:close()
end, function()
  eq(p:read(), "over unix", "read")
  eq(p:write("ack"), 3, "write")
  nils(3, p:read())
  p:close()
end)
local c2, p2 = pair({ servername = "localhost", tlscfg = {} })
both(function() eq(c2:handshake(), true, "servername localhost") c2:close() end, function() p2:read() p2:close() end)
local c3, p3 = pair({ servername = "nomatch.example", tlscfg = {} })
both(function()
  local ok, err = c3:handshake()
  eq(ok, false, "servername mismatch") is_err(err, errno.EPROTO, "handshake")
  c3:close()
end, function() p3:read() p3:close() end)
print("done")
"##),
        &[("SSL_CERT_FILE", "cert.pem")],
    );
    assert_eq!(out, "done\n");
}

/// net.tls.context by hand: connect/accept on the socket objects of plain streams (a
/// net.* socket, its `sock`, or a descriptor net.tls already knows), non-blocking
/// handshake/read/write shapes, close.
#[test]
fn the_low_level_context() {
    let dir = certs("context");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local context = require "net.tls.context"
local new_client_ctx = require "net.tls.client"
local new_server_ctx = require "net.tls.server"
local plain = assert(inet.server.new("127.0.0.1", 0))
assert(plain:listen())
local pc = assert(inet.client.new("127.0.0.1", plain:getsockname():port()))
local pp = assert(plain:accept())
local cctx = assert(new_client_ctx("default", "default", { "h2" }))
prefix(cctx, "net.tls.client")
local sctx = assert(new_server_ctx("cert.pem", "key.pem", nil, nil, { "h2" }))
local x, xerr = context.connect(cctx, 12345, "localhost")
eq(x, nil, "unknown descriptor") is_err(xerr, errno.EBADF)
local n1, nerr = context.connect(cctx, pc.sock, "localhost", false, true, false)
eq(n1, nil, "noverify_time alone") is_err(nerr, errno.EOPNOTSUPP)
local cc = assert(context.connect(cctx, pc.sock, "localhost", false, false, true))
prefix(cc, "net.tls.context")
local sc = assert(context.accept(sctx, pp))
local again = assert(context.accept(sctx, pp:fd()))   -- a descriptor net.tls knows now
check(again.sock == pp.sock, "found by descriptor")
local cdone, sdone = false, false
for _ = 1, 5000 do
  if not cdone then
    local ok, err, want = cc:handshake()
    check(err == nil, tostring(err))
    cdone = ok
    check(ok or want == context.WANT_READ or want == context.WANT_WRITE, "want " .. tostring(want))
  end
  if not sdone then
    local ok, err, want = sc:handshake()
    check(err == nil, tostring(err))
    sdone = ok
    check(ok or want == context.WANT_READ or want == context.WANT_WRITE, "want " .. tostring(want))
  end
  if cdone and sdone then break end
  core.sleep(0.002)
end
check(cdone and sdone, "both handshakes done")
eq(cc:handshake(), true, "done stays done")
eq(cc:get_alpn(), "h2", "client ALPN") eq(sc:get_alpn(), "h2", "server ALPN")
local s, err, want = sc:read()
eq(s, nil, "nothing yet") eq(err, nil, "no error") eq(want, context.WANT_READ, "WANT_READ")
eq(cc:write("abc"), 3, "write")
local got
for _ = 1, 5000 do
  local d, rerr, rwant = sc:read(2)
  check(rerr == nil, tostring(rerr))
  if d then got = (got or "") .. d end
  if got == "abc" then break end
  if not d then eq(rwant, context.WANT_READ, "want read") core.sleep(0.002) end
end
eq(got, "abc", "read")
eq(cc:close(), true, "close")
local n, werr = cc:write("x")
eq(n, nil, "write after close") is_err(werr, errno.EPIPE)
pc:close()    -- close_notify
local eof
for _ = 1, 5000 do
  local r = table.pack(sc:read())
  if r.n == 0 then eof = true break end
  check(r[2] == nil, tostring(r[2]))
  core.sleep(0.002)
end
eq(eof, true, "read: nothing at the end")

-- roots added to a client context
local vctx = assert(new_client_ctx())
local lok, lerr = vctx:load_verify_locations("missing.pem")
eq(lok, false, "missing CA file") is_err(lerr, errno.ENOENT)
local pok, perr = vctx:load_verify_locations(nil, ".")
eq(pok, false, "capath") is_err(perr, errno.EOPNOTSUPP)
local dok, derr = vctx:set_verify_depth(3)
eq(dok, false, "set_verify_depth") is_err(derr, errno.EOPNOTSUPP)
local function drive(cname, trust)
  local c2 = assert(inet.client.new("127.0.0.1", plain:getsockname():port()))
  local p2 = assert(plain:accept())
  local ctx = assert(new_client_ctx())
  if trust then eq(ctx:load_verify_locations(trust), true, "load_verify_locations") end
  local cc2 = assert(context.connect(ctx, c2, cname))
  local sc2 = assert(context.accept(sctx, p2.sock))
  local cok, cerr, sok
  for _ = 1, 5000 do
    if cok == nil then
      local ok, err = cc2:handshake()
      if ok or err then cok, cerr = ok, err end
    end
    if not sok then sok = sc2:handshake() end
    if cok ~= nil and (sok or not cok) then break end
    core.sleep(0.002)
  end
  c2:close() p2:close()
  return cok, cerr
end
eq(drive("localhost", "cert.pem"), true, "trusted through load_verify_locations")
local nok, nerr = drive("localhost", nil)
eq(nok, false, "not trusted without it") is_err(nerr, errno.EPROTO, "handshake")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}

/// 100 act tasks, each with its own TLS connection to a server task that echoes.
#[test]
fn a_hundred_concurrent_tasks_over_tls() {
    let dir = certs("many");
    let out = lua_ok_in(
        &dir,
        &lua(r##"
local server, port = listen(SCFG)
local N, done, served = 100, 0, 0
local ok, err = act.run(function()
  act.spawn(function()
    for _ = 1, N do
      local p = assert(server:accept())
      act.spawn(function()
        local s, rerr = p:read()
        check(s, "server read: " .. tostring(rerr))
        eq(p:write("echo:" .. s), 5 + #s, "server write")
        p:close()
        served = served + 1
      end)
    end
  end)
  for i = 1, N do
    act.spawn(function()
      local c, cerr = inet.client.new("127.0.0.1", port, { tlscfg = { noverify_cert = true } })
      check(c, "client.new: " .. tostring(cerr))
      eq(c:write("n" .. i), #("n" .. i), "client write")
      eq(c:read(), "echo:n" .. i, "client read")
      c:close()
      done = done + 1
    end)
  end
end)
check(ok, tostring(err))
eq(done, N, "clients done")
eq(served, N, "connections served")
print("done")
"##),
    );
    assert_eq!(out, "done\n");
}
