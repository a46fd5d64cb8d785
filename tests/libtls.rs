//! lua-libtls of the luanet dialect (`require "libtls"`, `require "libtls.config"`), run
//! through the real binary with `--dialect luanet` on loopback: every function's return
//! shapes and errors, a client against `openssl s_server`, a libtls server against
//! `openssl s_client` and against a libtls client, non-blocking read/write with `want`,
//! sendfile of 1 MiB, peer certificate fields against `openssl x509`, sockets of other
//! dialects wrapped by descriptor, and examples/libtls/https_get.lua.
//! docs: /work/shared/seeds/luanet-libtls-client-context.md, /work/shared/specs/luanet.md
//! (decisions 5 and 6, section 2, section 4).
//!
//! Certificates are made for each test by `openssl req`/`openssl x509`. Trust: a script
//! trusts what its config sets; the system roots are replaced by an unrelated certificate
//! (`SSL_CERT_FILE=other.pem`), so "no CA set" really trusts none of the test's
//! certificates. No test asserts how long anything takes; a hang is killed and fails.

mod luanet_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use luanet_support::{BIN, HANG_LIMIT, Outcome, PRELUDE, Peer, TempDir, lua_ok_in_env, lua_peer};

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails. Its stdout.
fn openssl(dir: &TempDir, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(out.status.success(), "openssl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// A directory with:
/// - `ca.pem`/`ca.key`: a CA ("/C=US/O=rlua-net tests/CN=rlua-net test CA");
/// - `cert.pem`/`key.pem`: "/C=JP/O=rlua-net/CN=localhost" for DNS:localhost and
///   IP:127.0.0.1, signed by the CA;
/// - `a.pem`/`a.key`: "/CN=a.example" for DNS:a.example, signed by the CA;
/// - `other.pem`: an unrelated self-signed certificate (the scripts' system roots);
/// - `enc.key`: key.pem encrypted with the password "secret".
fn certs(tag: &str) -> TempDir {
    let dir = TempDir::new(&format!("libtls-{tag}"));
    let mut ca = vec!["req", "-x509"];
    ca.extend(EC);
    ca.extend(["-nodes", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem"]);
    ca.extend(["-subj", "/C=US/O=rlua-net tests/CN=rlua-net test CA"]);
    openssl(&dir, &ca);
    for (name, key, subj, san) in [
        ("cert", "key.pem", "/C=JP/O=rlua-net/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ("a", "a.key", "/CN=a.example", "subjectAltName=DNS:a.example"),
    ] {
        let csr = format!("{name}.csr");
        let ext = format!("{name}.ext");
        std::fs::write(dir.path().join(&ext), format!("{san}\n")).expect("write ext");
        let mut req = vec!["req"];
        req.extend(EC);
        req.extend(["-nodes", "-keyout", key, "-out", &csr, "-subj", subj]);
        openssl(&dir, &req);
        let pem = format!("{name}.pem");
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ],
        );
    }
    let mut other = vec!["req", "-x509"];
    other.extend(EC);
    other.extend(["-nodes", "-days", "2", "-keyout", "other.key", "-out", "other.pem", "-subj", "/CN=other"]);
    openssl(&dir, &other);
    openssl(&dir, &["pkey", "-in", "key.pem", "-aes256", "-passout", "pass:secret", "-out", "enc.key"]);
    dir
}

/// The environment of every script: the system roots are `other.pem` only.
const ENV: &[(&str, &str)] = &[("SSL_CERT_FILE", "other.pem")];

/// Lua helpers for every script (after the support prelude's `check`, `eq`, `fail`,
/// `nils`, `throws`):
/// * `R(...)`: table.pack; `same(what, R(...), v1, v2, ...)`: exactly those values;
/// * `errs(what, R(...), first, needle)`: exactly `first, <string containing needle>`;
/// * `none(what, R(...))`: no values at all;
/// * `prefix(obj, name)`: tostring(obj) is "<name>: 0x...";
/// * `pair([small])`: a connected lua-net client socket and the server's accepted socket
///   (`small`: with small socket buffers, so that writes fill them soon);
/// * `handshakes(a, b)`: drives two non-blocking contexts' handshake() in turn until both
///   are done, checking every intermediate result is `false, nil, want`;
/// * `rd(name)`: a file's bytes.
const COMMON: &str = r##"
libtls = require "libtls"
config = require "libtls.config"
inet = require "net.stream.inet"
act = require "act"
IN, OUT = libtls.WANT_POLLIN, libtls.WANT_POLLOUT
function rd(name) local f = assert(io.open(name, "rb")) local s = f:read("a") f:close() return s end
R = table.pack
local function list(t)
  local out = {}
  for i = 1, t.n do out[i] = tostring(t[i]) end
  return "(" .. table.concat(out, ", ") .. ")"
end
function same(what, got, ...)
  local want = table.pack(...)
  local ok = got.n == want.n
  for i = 1, want.n do ok = ok and got[i] == want[i] end
  if not ok then fail(("%s: got %s, want %s"):format(what, list(got), list(want))) end
end
function errs(what, got, first, needle)
  if got.n ~= 2 or got[1] ~= first or type(got[2]) ~= "string" or not got[2]:find(needle, 1, true) then
    fail(("%s: got %s, want (%s, <...%s...>)"):format(what, list(got), tostring(first), needle))
  end
end
function none(what, got) same(what, got) end
function raises(want, fn, ...)
  local args = table.pack(...)
  throws(want, function() fn(table.unpack(args, 1, args.n)) end)
end
function prefix(obj, name)
  local s = tostring(obj)
  check(s:match("^" .. name:gsub("%.", "%%.") .. ": 0x%x+$"), "tostring " .. s .. " for " .. name)
end
function pair(small)
  local server = assert(inet.server.new("127.0.0.1", 0))
  -- (accepted sockets inherit the listener's receive buffer, set before any connection)
  if small then core.object(server:fd()):setopt("rcvbuf", 4096) end
  assert(server:listen())
  local c = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
  local p = assert(server:accept())
  server:close()
  return c, p
end
function handshakes(a, b)
  local da, db = false, false
  for _ = 1, 20000 do
    for _, x in ipairs({ { a, "a" }, { b, "b" } }) do
      local ctx, name = x[1], x[2]
      if (name == "a" and not da) or (name == "b" and not db) then
        local r = R(ctx:handshake())
        if r[1] == true then
          same(name .. " handshake done", r, true)
          if name == "a" then da = true else db = true end
        else
          if r.n ~= 3 or r[1] ~= false or r[2] ~= nil or (r[3] ~= IN and r[3] ~= OUT) then
            fail(name .. " handshake: " .. list(r))
          end
        end
      end
    end
    if da and db then return end
    core.sleep(0.001)
  end
  fail("the handshakes did not finish")
end
"##;

fn lua(body: &str) -> String {
    format!("{COMMON}\n{body}")
}

/// Runs `body` (with COMMON) in `dir` with [`ENV`]; it must print "done" and nothing else.
fn script_done(dir: &TempDir, head: &str, body: &str) {
    let out = lua_ok_in_env(dir, &format!("{COMMON}\n{head}\n{body}"), ENV);
    assert_eq!(out, "done\n");
}

/// `openssl s_server -accept 127.0.0.1:0 -cert cert.pem -key key.pem <extra>` in the
/// background; returns it and its port.
fn s_server(dir: &TempDir, extra: &[&str]) -> (Peer, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-cert", "cert.pem", "-key", "key.pem"])
        .args(extra)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let peer = Peer::spawn(cmd);
    let line = peer.line_starting("ACCEPT ");
    let port = line.rsplit(':').next().unwrap_or_default().trim().to_string();
    (peer, port)
}

/// `openssl s_client -connect 127.0.0.1:port <args>` with `input` on its stdin; its stdout
/// (it waits for the server to close: -ign_eof).
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

// ------------------------------------------------------------------------------------------
// The module surface

/// Constants, tostring, every method's presence, parse_protocols' values and its
/// `-1, err`, load_file and default_ca_cert_file.
#[test]
fn constants_parse_protocols_and_module_functions() {
    let dir = certs("surface");
    openssl(&dir, &["x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der"]);
    script_done(
        &dir,
        "",
        r##"
eq(libtls.WANT_POLLIN, -2, "WANT_POLLIN") eq(libtls.WANT_POLLOUT, -3, "WANT_POLLOUT")
eq(libtls.TLS_v10, 2, "v10") eq(libtls.TLS_v11, 4, "v11") eq(libtls.TLS_v12, 8, "v12")
eq(libtls.TLS_v13, 16, "v13") eq(libtls.TLS_v1x, 30, "v1x") eq(libtls.TLS_DEFAULT, 24, "default")
eq(libtls.OCSP_CERT_GOOD, 0, "good") eq(libtls.OCSP_CERT_REVOKED, 1, "revoked") eq(libtls.OCSP_CERT_UNKNOWN, 2, "unknown")
eq(libtls.OCSP_RESPONSE_SUCCESSFUL, 0, "successful") eq(libtls.OCSP_RESPONSE_UNAUTHORIZED, 5, "unauthorized")
eq(libtls.CRL_REASON_UNSPECIFIED, 0, "unspecified") eq(libtls.CRL_REASON_CERTIFICATE_HOLD, 6, "hold")
eq(libtls.CRL_REASON_REMOVE_FROM_CRL, 8, "remove") eq(libtls.CRL_REASON_AA_COMPROMISE, 10, "aa")
eq(libtls.MAX_SESSION_ID_LENGTH, 32, "sid") eq(libtls.TICKET_KEY_SIZE, 48, "ticket")
check(math.type(libtls.TLS_API) == "integer", "TLS_API")
check(require("libtls") == libtls and require("luanet.libtls") == libtls, "one module")
check(require("luanet.libtls.config") == config, "one config module")

local cfg = config.new()
prefix(cfg, "libtls.config")
local ctx = assert(libtls.client(cfg))
prefix(ctx, "libtls")
for name in ([[accept_fds accept_socket connect connect_fds connect_servername connect_socket
  handshake read write sendfile close reset peer_cert_provided peer_cert_contains_name
  peer_cert_hash peer_cert_issuer peer_cert_subject peer_cert_notbefore peer_cert_notafter
  peer_cert_chain_pem conn_version conn_cipher conn_cipher_strength conn_alpn_selected
  conn_servername conn_session_resumed ocsp_process_response peer_ocsp_cert_status
  peer_ocsp_crl_reason peer_ocsp_next_update peer_ocsp_response_status peer_ocsp_result
  peer_ocsp_revocation_time peer_ocsp_this_update peer_ocsp_url]]):gmatch("%S+") do
  check(type(ctx[name]) == "function", "context method " .. name)
end
for name in ([[add_keypair_file add_keypair set_alpn set_ca_file set_ca_path set_ca
  set_cert_file set_cert set_ciphers set_crl_file set_crl set_dheparams set_ecdhecurve
  set_ecdhecurves set_key_file set_key set_keypair_file set_keypair set_ocsp_staple_file
  set_ocsp_staple set_protocols set_session_fd set_session_id set_session_lifetime
  add_ticket_key set_verify_depth insecure_noverifycert insecure_noverifyname
  insecure_noverifytime verify ocsp_require_stapling verify_client verify_client_optional
  prefer_ciphers_client prefer_ciphers_server clear_keys]]):gmatch("%S+") do
  check(type(cfg[name]) == "function", "config method " .. name)
end

-- parse_protocols: bits, or -1, err
local P = config.parse_protocols
for s, v in pairs({ ["tlsv1.0"] = 2, ["tlsv1.1"] = 4, ["tlsv1.2"] = 8, ["tlsv1.3"] = 16, tlsv1 = 30,
  all = 30, legacy = 30, default = 24, secure = 24, ["tlsv1.2,tlsv1.3"] = 24, ["tlsv1.0:tlsv1.2"] = 10,
  ["all,!tlsv1.0"] = 28, ["!tlsv1.0"] = 28, ["!tlsv1.0,!tlsv1.1"] = 24, [" TLSv1.2"] = 8,
  ["secure:tlsv1.1"] = 28 }) do
  same("parse_protocols " .. s, R(P(s)), v)
end
for _, s in ipairs({ "tlsv1.4", "sslv3", "", "tlsv1.2,", "tlsv1.2;tlsv1.3" }) do
  errs("parse_protocols '" .. s .. "'", R(P(s)), -1, "invalid protocol string")
end
raises("bad argument #1 to 'parse_protocols' (string expected, got no value)", P)
raises("bad argument #1 to 'parse_protocols' (string expected, got table)", P, {})

-- load_file
same("load_file", R(config.load_file("cert.pem")), rd("cert.pem"))
same("load_file DER", R(config.load_file("cert.der")), rd("cert.der"))
same("load_file missing", R(config.load_file("missing.pem")), nil, "No such file or directory")
same("load_file key with a password (not encrypted)", R(config.load_file("key.pem", "secret")), rd("key.pem"))
errs("load_file encrypted key", R(config.load_file("enc.key", "secret")), nil,
  "not supported by the platform TLS library")
raises("bad argument #1 to 'load_file' (string expected, got no value)", config.load_file)

-- default_ca_cert_file: SSL_CERT_FILE (set for these scripts)
same("default_ca_cert_file", R(config.default_ca_cert_file()), "other.pem")
print("done")
"##,
    );
}

/// Every config setter: `true` alone on success, `false, err` (a string) on failure, the
/// no-value methods return nothing, and argument errors throw lauxlib's messages.
#[test]
fn config_setters_return_shapes_and_errors() {
    let dir = certs("setters");
    script_done(
        &dir,
        "",
        r##"
local cfg = config.new()
local UNSUP = "not supported by the platform TLS library"
local OCSP = "OCSP is not supported by the platform TLS library"
-- CA
same("set_ca_file", R(cfg:set_ca_file("ca.pem")), true)
same("set_ca_file missing", R(cfg:set_ca_file("missing.pem")), false,
  "failed to open CA file 'missing.pem': No such file or directory")
same("set_ca", R(cfg:set_ca(rd("ca.pem"))), true)
errs("set_ca_path", R(cfg:set_ca_path(".")), false, UNSUP)
-- certificate and key
same("set_cert_file", R(cfg:set_cert_file("cert.pem")), true)
same("set_cert_file missing", R(cfg:set_cert_file("nope.pem")), false,
  "failed to open certificate file 'nope.pem': No such file or directory")
same("set_cert", R(cfg:set_cert(rd("cert.pem"))), true)
same("set_key_file", R(cfg:set_key_file("key.pem")), true)
same("set_key_file missing", R(cfg:set_key_file("nope.key")), false,
  "failed to open key file 'nope.key': No such file or directory")
same("set_key", R(cfg:set_key(rd("key.pem"))), true)
same("set_keypair_file", R(cfg:set_keypair_file("cert.pem", "key.pem")), true)
same("set_keypair_file missing key", R(cfg:set_keypair_file("cert.pem", "nope.key")), false,
  "failed to open key file 'nope.key': No such file or directory")
same("set_keypair_file with a missing staple", R(cfg:set_keypair_file("cert.pem", "key.pem", "staple.der")), false,
  "failed to open OCSP file 'staple.der': No such file or directory")
errs("set_keypair_file with a staple", R(cfg:set_keypair_file("cert.pem", "key.pem", "ca.pem")), false, OCSP)
same("set_keypair", R(cfg:set_keypair(rd("cert.pem"), rd("key.pem"))), true)
errs("set_keypair with a staple", R(cfg:set_keypair(rd("cert.pem"), rd("key.pem"), "x")), false, OCSP)
same("add_keypair_file", R(cfg:add_keypair_file("a.pem", "a.key")), true)
same("add_keypair_file missing", R(cfg:add_keypair_file("nope.pem", "a.key")), false,
  "failed to open certificate file 'nope.pem': No such file or directory")
same("add_keypair", R(cfg:add_keypair(rd("a.pem"), rd("a.key"))), true)
errs("add_keypair with a staple", R(cfg:add_keypair(rd("a.pem"), rd("a.key"), "x")), false, OCSP)
-- revocation and OCSP
same("set_crl_file missing", R(cfg:set_crl_file("nope.crl")), false,
  "failed to open CRL file 'nope.crl': No such file or directory")
errs("set_crl_file", R(cfg:set_crl_file("ca.pem")), false, "certificate revocation lists (CRL) are " .. UNSUP)
errs("set_crl", R(cfg:set_crl("pem")), false, "(CRL) are " .. UNSUP)
same("set_ocsp_staple_file missing", R(cfg:set_ocsp_staple_file("nope.der")), false,
  "failed to open OCSP file 'nope.der': No such file or directory")
errs("set_ocsp_staple_file", R(cfg:set_ocsp_staple_file("ca.pem")), false, OCSP)
errs("set_ocsp_staple", R(cfg:set_ocsp_staple("der")), false, OCSP)
-- ALPN
same("set_alpn", R(cfg:set_alpn("h2,http/1.1")), true)
same("set_alpn one", R(cfg:set_alpn("http/1.1")), true)
same("set_alpn empty", R(cfg:set_alpn("")), false, "alpn protocol with zero length")
same("set_alpn empty element", R(cfg:set_alpn("h2,,http/1.1")), false, "alpn protocol with zero length")
same("set_alpn long", R(cfg:set_alpn(("x"):rep(256))), false, "alpn protocol too long")
same("set_alpn 255", R(cfg:set_alpn(("x"):rep(255))), true)
-- ciphers, DHE, ECDHE
same("set_ciphers secure", R(cfg:set_ciphers("secure")), true)
same("set_ciphers default", R(cfg:set_ciphers("default")), true)
for _, c in ipairs({ "legacy", "all", "compat", "insecure", "HIGH:!aNULL" }) do
  same("set_ciphers " .. c, R(cfg:set_ciphers(c)), false,
    "cipher policy not supported by the platform TLS library (" .. c .. ")")
end
same("set_dheparams auto", R(cfg:set_dheparams("auto")), true)
errs("set_dheparams none", R(cfg:set_dheparams("none")), false, UNSUP)
errs("set_dheparams legacy", R(cfg:set_dheparams("legacy")), false, UNSUP)
same("set_dheparams bogus", R(cfg:set_dheparams("bogus")), false, "invalid value for dheparams 'bogus'")
same("set_ecdhecurve auto", R(cfg:set_ecdhecurve("auto")), true)
same("set_ecdhecurve none", R(cfg:set_ecdhecurve("none")), true)
errs("set_ecdhecurve P-384", R(cfg:set_ecdhecurve("P-384")), false, UNSUP)
same("set_ecdhecurve bogus", R(cfg:set_ecdhecurve("bogus")), false, "invalid ecdhe curve 'bogus'")
same("set_ecdhecurve list", R(cfg:set_ecdhecurve("P-256,P-384")), false, "invalid ecdhe curve 'P-256,P-384'")
same("set_ecdhecurves default", R(cfg:set_ecdhecurves("default")), true)
errs("set_ecdhecurves", R(cfg:set_ecdhecurves("X25519,P-256")), false, UNSUP)
same("set_ecdhecurves bogus", R(cfg:set_ecdhecurves("X25519:bogus")), false, "invalid ecdhe curve 'bogus'")
-- protocols
same("set_protocols v12", R(cfg:set_protocols(libtls.TLS_v12)), true)
same("set_protocols v12, v13", R(cfg:set_protocols(libtls.TLS_v12, libtls.TLS_v13)), true)
same("set_protocols v1x", R(cfg:set_protocols(libtls.TLS_v1x)), true)
same("set_protocols parsed", R(cfg:set_protocols(config.parse_protocols("tlsv1.1,tlsv1.2"))), true)
errs("set_protocols gap", R(cfg:set_protocols(libtls.TLS_v10, libtls.TLS_v12)), false, UNSUP)
same("set_protocols 0", R(cfg:set_protocols(0)), false, "no TLS protocol version selected")
raises("bad argument #1 to 'set_protocols' (number expected, got string)", cfg.set_protocols, cfg, "tlsv1.2")
raises("bad argument #2 to 'set_protocols' (number has no integer representation)", cfg.set_protocols, cfg, 8, 1.5)
raises("bad argument #1 to 'set_protocols' (number expected, got no value)", cfg.set_protocols, cfg)
-- sessions and verification
same("set_session_fd", R(cfg:set_session_fd(-1)), true)
same("set_session_id", R(cfg:set_session_id(("i"):rep(32))), true)
same("set_session_id long", R(cfg:set_session_id(("i"):rep(33))), false, "session ID too large")
same("set_session_lifetime 0", R(cfg:set_session_lifetime(0)), true)
same("set_session_lifetime 300", R(cfg:set_session_lifetime(300)), true)
same("set_session_lifetime small", R(cfg:set_session_lifetime(30)), false, "session lifetime too small")
same("set_session_lifetime large", R(cfg:set_session_lifetime(86401)), false, "session lifetime too large")
same("add_ticket_key", R(cfg:add_ticket_key(1, ("k"):rep(48))), true)
same("add_ticket_key short", R(cfg:add_ticket_key(2, "short")), false, "wrong amount of ticket key data")
errs("set_verify_depth", R(cfg:set_verify_depth(3)), false, UNSUP)
-- the methods that return nothing
for _, m in ipairs({ "insecure_noverifycert", "insecure_noverifyname", "insecure_noverifytime", "verify",
  "ocsp_require_stapling", "verify_client", "verify_client_optional", "prefer_ciphers_client",
  "prefer_ciphers_server", "clear_keys" }) do
  none(m, R(cfg[m](cfg)))
end
-- argument errors
raises("bad argument #1 to 'set_ca_file' (string expected, got no value)", cfg.set_ca_file, cfg)
raises("bad argument #1 to 'set_ca_file' (string expected, got table)", cfg.set_ca_file, cfg, {})
raises("bad argument #2 to 'set_keypair_file' (string expected, got no value)", cfg.set_keypair_file, cfg, "cert.pem")
raises("bad argument #3 to 'add_keypair' (string expected, got boolean)", cfg.add_keypair, cfg, "c", "k", true)
raises("bad argument #1 to 'set_session_lifetime' (number expected, got string)", cfg.set_session_lifetime, cfg, "x")
raises("bad argument #1 to 'add_ticket_key' (number has no integer representation)", cfg.add_ticket_key, cfg, 0.5, "k")
raises("calling 'set_alpn' on bad self (libtls.config expected, got table)", cfg.set_alpn, {}, "h2")
raises("calling 'verify' on bad self (libtls.config expected, got table)", cfg.verify, {})
print("done")
"##,
    );
}

/// libtls.client/libtls.server refuse what cannot be honoured (and bad certificates), and
/// a context that is not connected answers every method with its documented shape.
#[test]
fn contexts_refuse_what_native_tls_cannot_do_and_unconnected_shapes() {
    let dir = certs("refuse");
    script_done(
        &dir,
        "",
        r##"
local UNSUP = "not supported by the platform TLS library"
local OCSP = "OCSP is not supported by the platform TLS library"
raises("bad argument #1 to 'client' (libtls.config expected, got no value)", libtls.client)
raises("bad argument #1 to 'server' (libtls.config expected, got table)", libtls.server, {})

local function client_with(fn) local c = config.new() fn(c) return R(libtls.client(c)) end
local function server_with(fn)
  local c = config.new() assert(c:set_keypair_file("cert.pem", "key.pem")) fn(c) return R(libtls.server(c))
end
errs("ocsp_require_stapling", client_with(function(c) c:ocsp_require_stapling() end), nil, OCSP)
errs("noverifytime alone", client_with(function(c) c:insecure_noverifytime() end), nil, "insecure_noverifytime")
local r = client_with(function(c) c:insecure_noverifytime() c:insecure_noverifycert() end)
check(r.n == 1 and getmetatable(r[1]) == getmetatable(libtls.client(config.new())), "noverifytime with noverifycert")
r = client_with(function(c) c:insecure_noverifytime() c:verify() end)
eq(r.n, 1, "verify() undoes noverifytime")
errs("a bad CA", client_with(function(c) c:set_ca("not a certificate") end), nil, "ca")
errs("client cert without key", client_with(function(c) c:set_cert_file("cert.pem") end), nil, "without a private key")
eq(client_with(function(c) c:set_keypair_file("cert.pem", "key.pem") end).n, 1, "client certificate")
errs("no server keypair", R(libtls.server(config.new())), nil, "no server certificate")
errs("verify_client", server_with(function(c) c:verify_client() end), nil, "verify_client) is " .. UNSUP)
errs("verify_client_optional", server_with(function(c) c:verify_client_optional() end), nil, UNSUP)
errs("TLS 1.3-only server", server_with(function(c) c:set_protocols(libtls.TLS_v13) end), nil, UNSUP)
errs("cleared keys", server_with(function(c) c:clear_keys() end), nil, "no private key")
errs("mismatched key", server_with(function(c) c:set_key_file("a.key") end), nil, "private/public key mismatch")
errs("not a certificate", server_with(function(c) c:set_cert("junk") end), nil, "")
eq(server_with(function(c) c:ocsp_require_stapling() c:insecure_noverifytime() end).n, 1,
  "client-only options on a server")
-- a context made from a config does not see the config's later changes
local cfg = config.new()
local snap = assert(libtls.client(cfg))
cfg:ocsp_require_stapling()
eq(libtls.client(cfg), nil, "the config changed")
prefix(snap, "libtls")

-- an unconnected client context
local ctx = snap
same("read", R(ctx:read()), nil, "context is not connected")
same("write", R(ctx:write("x")), nil, "context is not connected")
same("sendfile", R(ctx:sendfile(io.open("cert.pem"), 10)), nil, "context is not connected")
same("handshake", R(ctx:handshake()), false, "context is not connected")
same("close", R(ctx:close()), true)
none("reset", R(ctx:reset()))
same("peer_cert_provided", R(ctx:peer_cert_provided()), false)
same("peer_cert_contains_name", R(ctx:peer_cert_contains_name("localhost")), false)
none("peer_cert_hash", R(ctx:peer_cert_hash()))
none("peer_cert_issuer", R(ctx:peer_cert_issuer()))
none("peer_cert_subject", R(ctx:peer_cert_subject()))
same("peer_cert_notbefore", R(ctx:peer_cert_notbefore()), -1)
same("peer_cert_notafter", R(ctx:peer_cert_notafter()), -1)
same("peer_cert_chain_pem", R(ctx:peer_cert_chain_pem()), nil, "no peer certificate")
none("conn_version", R(ctx:conn_version()))
none("conn_cipher", R(ctx:conn_cipher()))
same("conn_cipher_strength", R(ctx:conn_cipher_strength()), -1)
none("conn_alpn_selected", R(ctx:conn_alpn_selected()))
none("conn_servername", R(ctx:conn_servername()))
same("conn_session_resumed", R(ctx:conn_session_resumed()), false)
same("ocsp_process_response", R(ctx:ocsp_process_response("der")), false, OCSP)
for _, m in ipairs({ "peer_ocsp_cert_status", "peer_ocsp_crl_reason", "peer_ocsp_next_update",
  "peer_ocsp_response_status", "peer_ocsp_result", "peer_ocsp_revocation_time", "peer_ocsp_this_update",
  "peer_ocsp_url" }) do
  same(m, R(ctx[m](ctx)), nil, OCSP)
end
same("accept_socket on a client", R(ctx:accept_socket(0)), nil, "not a server context")
same("accept_fds on a client", R(ctx:accept_fds(0, 0)), nil, "not a server context")

-- connect errors
local l = assert(inet.server.new("127.0.0.1", 0))
assert(l:listen())
local closed_port = l:getsockname():port()
l:close()
same("connect without a port", R(ctx:connect("127.0.0.1")), false, "no port provided")
errs("connect refused", R(ctx:connect("127.0.0.1", closed_port)), false, "connect: ")
same("connect to a bad service", R(ctx:connect("127.0.0.1", "no-such-service")), false,
  "Servname not supported for ai_socktype")
same("connect_fds with two descriptors", R(ctx:connect_fds(3, 4)), false,
  "separate read and write descriptors are " .. UNSUP)
errs("connect_socket on no descriptor", R(ctx:connect_socket(987654)), false, "descriptor 987654")
local lst = assert(inet.server.new("127.0.0.1", 0))
assert(lst:listen())
same("connect_socket on a listener", R(ctx:connect_socket(lst:fd())), false,
  ("descriptor %d is not a connected stream socket"):format(lst:fd()))
raises("bad argument #1 to 'connect_socket' (number expected, got no value)", ctx.connect_socket, ctx)
raises("bad argument #2 to 'connect_socket' (string expected, got boolean)", ctx.connect_socket, ctx, 3, true)
raises("bad argument #1 to 'read' (positive integer expected, got 0)", ctx.read, ctx, 0)
raises("bad argument #1 to 'write' (string expected, got no value)", ctx.write, ctx)
raises("bad argument #1 to 'sendfile' (integer or file expected, got string)", ctx.sendfile, ctx, "f", 1)
raises("calling 'read' on bad self (libtls expected, got table)", ctx.read, {})

-- a server context: no connection operations
local srv = assert(libtls.server((function() local c = config.new() c:set_keypair_file("cert.pem", "key.pem") return c end)()))
same("connect on a server", R(srv:connect("127.0.0.1", "1")), false, "not a client context")
same("connect_socket on a server", R(srv:connect_socket(1)), false, "not a client context")
same("handshake on a server", R(srv:handshake()), false, "invalid operation for context")
same("read on a server", R(srv:read()), nil, "invalid operation for context")
same("accept_fds with two descriptors", R(srv:accept_fds(3, 4)), nil, "separate read and write descriptors are " .. UNSUP)
same("close on a server", R(srv:close()), true)
print("done")
"##,
    );
}

// ------------------------------------------------------------------------------------------
// Against openssl

/// The client against `openssl s_server -rev`: verified with the CA set by set_ca_file
/// (by name and by IP address), refused without it, accepted with the insecure flags;
/// noverifycert alone still checks the name, noverifyname alone still checks the chain;
/// ALPN, servername, protocols, and blocking use on the main chunk.
#[test]
fn the_client_against_openssl_s_server() {
    let dir = certs("sserver");
    let (_rev, port) = s_server(&dir, &["-rev", "-alpn", "h2,http/1.1"]);
    let (_rev13, port13) = s_server(&dir, &["-rev", "-tls1_3"]);
    script_done(
        &dir,
        &format!("PORT, PORT13 = {port}, {port13}"),
        r##"
local function client(setup)
  local cfg = config.new()
  if setup then setup(cfg) end
  return assert(libtls.client(cfg))
end
-- reads until a newline (the context made its own socket: read waits)
local function line(ctx)
  local got = ""
  while not got:find("\n") do
    local r = R(ctx:read())
    check(r.n == 1 and type(r[1]) == "string", "read: " .. tostring(r[1]) .. " " .. tostring(r[2]))
    got = got .. r[1]
  end
  return got
end
local function ca(c) same("set_ca_file", R(c:set_ca_file("ca.pem")), true) end

-- verified with the CA (by name), ALPN, blocking read/write
local ctx = client(function(c) ca(c) assert(c:set_alpn("http/1.1")) end)
same("connect", R(ctx:connect("localhost", PORT)), true)
same("conn_servername", R(ctx:conn_servername()), "localhost")
same("write (handshake inside)", R(ctx:write("hello libtls\n")), 13)
eq(line(ctx), "sltbil olleh\n", "reversed")
same("handshake after it was done", R(ctx:handshake()), false, "handshake already completed")
same("conn_alpn_selected", R(ctx:conn_alpn_selected()), "http/1.1")
same("peer_cert_provided", R(ctx:peer_cert_provided()), true)
same("contains localhost", R(ctx:peer_cert_contains_name("localhost")), true)
same("contains 127.0.0.1", R(ctx:peer_cert_contains_name("127.0.0.1")), true)
same("contains other", R(ctx:peer_cert_contains_name("other.example")), false)
same("conn_session_resumed", R(ctx:conn_session_resumed()), false)
same("close", R(ctx:close()), true)
same("read after close", R(ctx:read()), nil, "the TLS connection is closed")
same("close again", R(ctx:close()), true)

-- the same context again after reset(), "host:port" form, by IP address
none("reset", R(ctx:reset()))
same("connect host:port", R(ctx:connect("127.0.0.1:" .. PORT)), true)
same("conn_servername", R(ctx:conn_servername()), "127.0.0.1")
same("handshake by IP", R(ctx:handshake()), true)
ctx:write("ip\n") eq(line(ctx), "pi\n", "by IP")
ctx:close()

-- refused without the CA (the system roots are other.pem)
local bad = client()
same("connect", R(bad:connect("localhost", PORT)), true)
local r = R(bad:handshake())
errs("not trusted", r, false, "certificate verify failed")
same("the same error from read", R(bad:read()), nil, r[2])
same("and write", R(bad:write("x")), nil, r[2])
bad:close()

-- accepted with the insecure flags, even for a name the certificate lacks
local ins = client(function(c) c:insecure_noverifycert() c:insecure_noverifyname() end)
same("connect_servername", R(ins:connect_servername("127.0.0.1", PORT, "wrong.example")), true)
same("insecure handshake", R(ins:handshake()), true)
same("conn_servername", R(ins:conn_servername()), "wrong.example")
ins:write("x\n") eq(line(ins), "x\n", "insecure data")
ins:close()

-- noverifycert alone: the chain is not checked, the name still is (as libtls)
local nc = client(function(c) c:insecure_noverifycert() end)
nc:connect_servername("127.0.0.1", PORT, "wrong.example")
same("noverifycert, wrong name", R(nc:handshake()), false, "name `wrong.example' not present in server certificate")
nc:close()
nc = client(function(c) c:insecure_noverifycert() end)
nc:connect("localhost", PORT)
same("noverifycert, right name", R(nc:handshake()), true)
nc:close()

-- noverifyname alone: the chain is checked, not the name
local nn = client(function(c) ca(c) c:insecure_noverifyname() end)
nn:connect_servername("127.0.0.1", PORT, "wrong.example")
same("noverifyname with the CA", R(nn:handshake()), true)
nn:close()
nn = client(function(c) c:insecure_noverifyname() end)
nn:connect("localhost", PORT)
errs("noverifyname without the CA", R(nn:handshake()), false, "certificate verify failed")
nn:close()

-- connect_socket without a servername: libtls needs one to check the name
local plain = assert(inet.client.new("127.0.0.1", PORT))
local ns = client(ca)
same("connect_socket", R(ns:connect_socket(plain:fd())), true)
same("no servername", R(ns:handshake()), false, "server name not specified")
plain:close()

-- connect_fds with one socket for both directions (non-blocking: the script made it)
local sock2 = assert(inet.client.new("127.0.0.1", PORT))
local fds = client(ca)
same("connect_fds", R(fds:connect_fds(sock2:fd(), sock2:fd(), "localhost")), true)
while true do
  local r = R(fds:handshake())
  if r[1] then same("handshake done", r, true) break end
  check(r.n == 3 and r[2] == nil and (r[3] == IN or r[3] == OUT), "non-blocking handshake " .. tostring(r[2]))
  core.wait(sock2:fd(), r[3] == IN and "r" or "w")
end
same("write over connect_fds", R(fds:write("fds\n")), 4)
local back = ""
while not back:find("\n") do
  local d, err, again, want = fds:read()
  if d then back = back .. d else check(again and want == IN, tostring(err)) core.wait(sock2:fd(), "r") end
end
eq(back, "sdf\n", "reversed over connect_fds")
fds:close()
check(sock2:fd() ~= -1, "close left the script's socket open")
sock2:close()

-- protocols against a TLS 1.3-only server
local v12 = client(function(c) ca(c) c:set_protocols(libtls.TLS_v12) end)
v12:connect("localhost", PORT13)
errs("TLS 1.2 only against TLS 1.3 only", R(v12:handshake()), false, "")
v12:close()
local v13 = client(function(c) ca(c) c:set_protocols(libtls.TLS_v13) end)
v13:connect("localhost", PORT13)
same("TLS 1.3", R(v13:handshake()), true)
same("conn_version", R(v13:conn_version()), "TLSv1.3")
v13:close()
print("done")
"##,
    );
}

/// Seconds since the epoch of an `openssl x509 -startdate` value ("Nov 21 17:30:06 2026 GMT").
fn openssl_time(s: &str) -> i64 {
    let parts: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "date {s}");
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = months.iter().position(|m| *m == parts[0]).expect("month") as i64 + 1;
    let day: i64 = parts[1].parse().expect("day");
    let year: i64 = parts[3].parse().expect("year");
    let hms: Vec<i64> = parts[2].split(':').map(|x| x.parse().expect("time")).collect();
    // days from civil (proleptic Gregorian), 1970-01-01 = 0
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

/// The peer certificate's fields, read by a client of `openssl s_server`, are what
/// `openssl x509 -noout -subject -issuer -fingerprint -sha256 -startdate -enddate` says
/// of the server's certificate.
#[test]
fn peer_certificate_fields_match_openssl_x509() {
    let dir = certs("x509");
    let (_server, port) = s_server(&dir, &["-www"]);
    let x509 = openssl(
        &dir,
        &[
            "x509",
            "-in",
            "cert.pem",
            "-noout",
            "-nameopt",
            "compat",
            "-subject",
            "-issuer",
            "-fingerprint",
            "-sha256",
            "-startdate",
            "-enddate",
        ],
    );
    let field = |prefix: &str| -> String {
        x509.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {x509}"))
            .trim()
            .to_string()
    };
    let out = lua_ok_in_env(
        &dir,
        &lua(&format!(
            "PORT = {port}\n{}",
            r##"
local cfg = config.new()
assert(cfg:set_ca_file("ca.pem"))
local ctx = assert(libtls.client(cfg))
assert(ctx:connect("localhost", PORT))
assert(ctx:handshake())
print("subject=" .. ctx:peer_cert_subject())
print("issuer=" .. ctx:peer_cert_issuer())
print("hash=" .. ctx:peer_cert_hash())
print("notbefore=" .. ctx:peer_cert_notbefore())
print("notafter=" .. ctx:peer_cert_notafter())
check(math.type(ctx:peer_cert_notbefore()) == "integer", "an integer epoch")
eq(ctx:peer_cert_chain_pem(), rd("cert.pem"), "the peer's certificate as PEM")
ctx:close()
"##
        )),
        ENV,
    );
    let got = |prefix: &str| -> String {
        out.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no {prefix} in {out}")).to_string()
    };
    assert_eq!(got("subject="), field("subject="));
    assert_eq!(got("subject="), "/C=JP/O=rlua-net/CN=localhost");
    assert_eq!(got("issuer="), field("issuer="));
    assert_eq!(got("issuer="), "/C=US/O=rlua-net tests/CN=rlua-net test CA");
    let fingerprint = field("sha256 Fingerprint=").replace(':', "").to_lowercase();
    assert_eq!(got("hash="), format!("SHA256:{fingerprint}"));
    assert_eq!(got("notbefore=").parse::<i64>().expect("notbefore"), openssl_time(&field("notBefore=")));
    assert_eq!(got("notafter=").parse::<i64>().expect("notafter"), openssl_time(&field("notAfter=")));
}

/// The libtls server against `openssl s_client`: the keypair picked by the client's SNI
/// (add_keypair_file alternates), ALPN, conn_servername, the chain verifying against the
/// CA, data both ways and close_notify at the end.
#[test]
fn the_server_against_openssl_s_client() {
    let dir = certs("sclient");
    let peer = lua_peer(
        &dir,
        &lua(r##"
local cfg = config.new()
assert(cfg:set_keypair_file("cert.pem", "key.pem"))
assert(cfg:add_keypair_file("a.pem", "a.key"))
assert(cfg:set_alpn("h2,http/1.1"))
local srv = assert(libtls.server(cfg))
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
print("port " .. server:getsockname():port())
io.stdout:flush()
for i = 1, 3 do
  local p = assert(server:accept())
  local cctx = assert(srv:accept_socket(p:fd()))
  prefix(cctx, "libtls")
  -- non-blocking: wait in the direction it asks for
  while true do
    local ok, err, want = cctx:handshake()
    if ok then break end
    check(err == nil, "handshake " .. i .. ": " .. tostring(err))
    core.wait(p:fd(), want == IN and "r" or "w")
  end
  local line = ""
  while not line:find("\n") do
    local s, err, again, want = cctx:read()
    if s then line = line .. s
    else check(again and want == IN, "read " .. tostring(err)) core.wait(p:fd(), "r") end
  end
  print(i, line:gsub("\n", ""), tostring((cctx:conn_servername())), tostring((cctx:conn_alpn_selected())),
    tostring((cctx:peer_cert_provided())))
  io.stdout:flush()
  local reply = line:upper()
  local off = 0
  while off < #reply do
    local n, err, again, want = cctx:write(reply:sub(off + 1))
    check(n, "write " .. tostring(err))
    off = off + n
    if off < #reply then core.wait(p:fd(), want == IN and "r" or "w") end
  end
  while true do
    local ok, err, want = cctx:close()
    if ok then break end
    check(err == nil, "close " .. tostring(err))
    core.wait(p:fd(), "w")
  end
  p:close()
end
server:close()
print("done")
"##),
        ENV,
    );
    let port = peer.line_starting("port ").trim_start_matches("port ").to_string();
    let verify = ["-CAfile", "ca.pem", "-verify_return_error"];

    let a =
        s_client(&dir, &port, &[&verify[..], &["-servername", "a.example", "-alpn", "http/1.1"]].concat(), "hello a\n");
    assert!(a.contains("subject=CN = a.example") || a.contains("subject=/CN=a.example"), "a.example:\n{a}");
    assert!(a.contains("Verify return code: 0 (ok)"), "verified:\n{a}");
    assert!(a.contains("HELLO A"), "reply to a:\n{a}");
    assert!(a.contains("ALPN protocol: http/1.1"), "ALPN:\n{a}");
    assert_eq!(peer.line(), "1\thello a\ta.example\thttp/1.1\tfalse");

    let l = s_client(&dir, &port, &[&verify[..], &["-servername", "localhost", "-alpn", "h2"]].concat(), "hello l\n");
    assert!(l.contains("CN = localhost") || l.contains("CN=localhost"), "localhost:\n{l}");
    assert!(l.contains("Verify return code: 0 (ok)"), "verified:\n{l}");
    assert!(l.contains("HELLO L"), "reply to localhost:\n{l}");
    assert_eq!(peer.line(), "2\thello l\tlocalhost\th2\tfalse");

    let n = s_client(&dir, &port, &["-noservername"], "hello n\n");
    assert!(n.contains("CN = localhost") || n.contains("CN=localhost"), "no SNI:\n{n}");
    assert!(n.contains("HELLO N"), "reply without SNI:\n{n}");
    assert_eq!(peer.line(), "3\thello n\tnil\tnil\tfalse");
    assert_eq!(peer.line(), "done");
    let code = peer.wait();
    assert_eq!(code, Some(0), "server script failed: {}", read(&dir, "stderr.txt"));
}

// ------------------------------------------------------------------------------------------
// libtls against libtls

/// Both ends non-blocking on lua-net sockets (connect_socket / accept_socket on their
/// descriptors): `want` from handshake, read and write; a write that fills the socket
/// gives `n, nil, true, WANT_POLLOUT` and continues once the peer reads; EOF is nothing.
#[test]
fn non_blocking_read_write_cycles_with_want() {
    let dir = certs("nonblock");
    script_done(
        &dir,
        "",
        r##"
local ccfg = config.new()
assert(ccfg:set_ca_file("ca.pem"))
assert(ccfg:set_alpn("h2"))
local scfg = config.new()
assert(scfg:set_keypair_file("cert.pem", "key.pem"))
assert(scfg:set_alpn("h2,http/1.1"))
local cctx, srv = assert(libtls.client(ccfg)), assert(libtls.server(scfg))
local c, p = pair(true)
same("connect_socket", R(cctx:connect_socket(c:fd(), "localhost")), true)
local sctx = assert(srv:accept_fds(p:fd(), p:fd()))
prefix(sctx, "libtls")
same("accept_socket on a connection", R(sctx:accept_socket(p:fd())), nil, "not a server context")

-- nothing sent yet: the server's read wants to read
same("server read before any hello", R(sctx:read()), nil, nil, true, IN)
local first = R(cctx:handshake())
same("client's first handshake step", first, false, nil, IN)
handshakes(cctx, sctx)
same("client alpn", R(cctx:conn_alpn_selected()), "h2")
same("server alpn", R(sctx:conn_alpn_selected()), "h2")
same("server servername", R(sctx:conn_servername()), "localhost")
same("client sees a certificate", R(cctx:peer_cert_provided()), true)
same("server sees none", R(sctx:peer_cert_provided()), false)
none("server: no peer subject", R(sctx:peer_cert_subject()))

-- reads with nothing to read
same("server read, nothing there", R(sctx:read()), nil, nil, true, IN)
same("client read, nothing there", R(cctx:read(100)), nil, nil, true, IN)

-- small messages
same("write", R(cctx:write("abc")), 3)
same("write empty", R(cctx:write("")), 0)
local got = ""
for _ = 1, 20000 do
  local r = R(sctx:read(2))
  if r[1] then
    check(#r[1] <= 2, "bufsize respected")
    got = got .. r[1]
    if got == "abc" then break end
  else
    same("waiting read", r, nil, nil, true, IN)
    core.wait(p:fd(), "r", 1)
  end
end
eq(got, "abc", "server got it")

-- a write that fills the socket: small buffers, and nobody reading for a while
core.object(c:fd()):setopt("sndbuf", 4096)
local chunk = ("0123456789abcdef"):rep(4096)   -- 64 KiB
local data = {}
for i = 1, 64 do data[i] = chunk:gsub("0", string.char(65 + i % 26)) end
data = table.concat(data)                       -- 4 MiB
local off, again_seen = 0, false
while off < #data do
  local piece = data:sub(off + 1, off + 65536)
  local r = R(cctx:write(piece))
  if r.n == 1 then
    eq(r[1], #piece, "a whole write")
  else
    check(r.n == 4 and r[2] == nil and r[3] == true and r[4] == OUT and r[1] < #piece,
      "a partial write: " .. tostring(r[1]) .. " " .. tostring(r[2]) .. " " .. tostring(r[4]))
    again_seen = true
  end
  off = off + r[1]
  if r.n == 4 then break end
end
check(again_seen, "the socket filled up")
-- now both: the server reads, the client writes the rest
local parts, have = {}, 0
while have < #data do
  if off < #data then
    local piece = data:sub(off + 1, off + 65536)
    local n, err, again, want = cctx:write(piece)
    check(n, "write: " .. tostring(err))
    if again then eq(want, OUT, "want to write") end
    off = off + n
  end
  local s, err, again, want = sctx:read(16384)
  if s then
    parts[#parts + 1] = s
    have = have + #s
  else
    check(again and want == IN, "read: " .. tostring(err))
    if off >= #data then core.wait(p:fd(), "r", 1) end
  end
end
eq(have, #data, "all bytes")
check(table.concat(parts) == data, "the bytes arrived intact")

-- the server answers, the client closes: the server reads EOF (nothing)
same("server write", R(sctx:write("bye")), 3)
local reply
for _ = 1, 20000 do
  local s, err, again = cctx:read()
  if s then reply = s break end
  check(again, tostring(err))
  core.wait(c:fd(), "r", 1)
end
eq(reply, "bye", "client read")
same("client close", R(cctx:close()), true)
same("client write after close", R(cctx:write("x")), nil, "the TLS connection is closed")
local eof
for _ = 1, 20000 do
  local r = R(sctx:read())
  if r.n == 0 then eof = true break end
  same("before EOF", r, nil, nil, true, IN)
  core.wait(p:fd(), "r", 1)
end
check(eof, "EOF is nothing at all")
same("server close", R(sctx:close()), true)
-- close does not close sockets the script made
check(c:fd() ~= -1 and p:fd() ~= -1, "the sockets are still open")
c:close() p:close()
print("done")
"##,
    );
}

/// A blocking-style client (connect() in an act task) against a libtls server in another
/// task: the client waits without loops of its own; SNI picks the add_keypair alternate;
/// the second connection is a raw descriptor (acceptfd) that accept_socket adopts.
#[test]
fn the_server_against_a_blocking_libtls_client() {
    let dir = certs("blocking");
    script_done(
        &dir,
        "",
        r##"
local scfg = config.new()
assert(scfg:set_keypair_file("cert.pem", "key.pem"))
assert(scfg:add_keypair(rd("a.pem"), rd("a.key")))
local srv = assert(libtls.server(scfg))
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local port = server:getsockname():port()
local seen = {}
local ok, err = act.run(function()
  act.spawn(function()
    for _, name in ipairs({ "localhost", "a.example" }) do
      local cfg = config.new()
      assert(cfg:set_ca_file("ca.pem"))
      local ctx = assert(libtls.client(cfg))
      same("connect_servername", R(ctx:connect_servername("127.0.0.1", port, name)), true)
      same("write", R(ctx:write("hi " .. name)), 3 + #name)
      same("read", R(ctx:read()), "HI " .. name:upper())
      seen[#seen + 1] = ctx:peer_cert_subject()
      same("close", R(ctx:close()), true)
    end
  end)
  for i = 1, 2 do
    local p, fd
    if i == 1 then
      p = assert(server:accept())
      fd = p:fd()
    else
      -- a raw descriptor that no runtime object owns: libtls adopts it
      local l = core.object(server:fd())
      fd = l:acceptfd()
      while fd == false do
        act.wait_readable(server:fd())
        fd = l:acceptfd()
      end
      check(math.type(fd) == "integer" and core.object(fd) == nil, "a raw descriptor: " .. tostring(fd))
    end
    local cctx = assert(srv:accept_socket(fd))
    check(core.object(fd) ~= nil, "the descriptor is a runtime stream now")
    local msg
    while true do
      local s, rerr, again, want = cctx:read()
      if s then msg = s break end
      check(again, tostring(rerr))
      act[want == IN and "wait_readable" or "wait_writable"](fd)
    end
    eq(msg, "hi " .. cctx:conn_servername(), "message and servername")
    local n = cctx:write(msg:upper())
    eq(n, #msg, "reply")
    while true do
      local r = R(cctx:read())
      if r.n == 0 then break end
      check(r[3], tostring(r[2]))
      act.wait_readable(fd)
    end
    cctx:close()
    if p then p:close() else core.object(fd):close() end
  end
end)
check(ok, tostring(err))
eq(seen[1], "/C=JP/O=rlua-net/CN=localhost", "default keypair")
eq(seen[2], "/CN=a.example", "the alternate for a.example")
print("done")
"##,
    );
}

/// sendfile of a 1 MiB file arrives intact: non-blocking (a Lua file, looping on
/// `again` from offset + len, the file's position untouched) and blocking-style (a
/// descriptor, one call); its argument and end-of-file shapes.
#[test]
fn sendfile_of_a_1mib_file() {
    let dir = certs("sendfile");
    // 1 MiB of pseudo-random bytes
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(dir.path().join("big.bin"), &bytes).expect("write big.bin");
    script_done(
        &dir,
        "",
        r##"
local SIZE = 1024 * 1024
local want_data = rd("big.bin")
eq(#want_data, SIZE, "file size")
local ccfg = config.new()
assert(ccfg:set_ca_file("ca.pem"))
local scfg = config.new()
assert(scfg:set_keypair_file("cert.pem", "key.pem"))
local srv = assert(libtls.server(scfg))

-- non-blocking, a Lua file handle
local c, p = pair(true)
core.object(c:fd()):setopt("sndbuf", 8192)
local cctx = assert(libtls.client(ccfg))
assert(cctx:connect_socket(c:fd(), "localhost"))
local sctx = assert(srv:accept_socket(p:fd()))
handshakes(cctx, sctx)
local f = assert(io.open("big.bin", "rb"))
f:seek("set", 100)
same("sendfile 0 bytes", R(cctx:sendfile(f, 0)), nil, "Invalid argument")
same("sendfile negative offset", R(cctx:sendfile(f, 10, -1)), nil, "Invalid argument")
local offset, again_seen, parts, have = 0, false, {}, 0
while have < SIZE do
  if offset < SIZE then
    local r = R(cctx:sendfile(f, SIZE - offset, offset))
    if r.n == 4 then
      check(r[2] == nil and r[3] == true and (r[4] == OUT or r[4] == IN), "again: " .. tostring(r[2]))
      again_seen = true
    else
      same("sendfile all", r, SIZE - offset)
    end
    offset = offset + r[1]
  end
  local s, err, again = sctx:read(65536)
  if s then parts[#parts + 1] = s have = have + #s
  else check(again, tostring(err)) if offset >= SIZE then core.wait(p:fd(), "r", 1) end end
end
check(again_seen, "the socket filled up at least once")
check(table.concat(parts) == want_data, "1 MiB arrived intact (file handle)")
eq(f:seek(), 100, "the file's position did not move")
same("sendfile at the end of the file", R(cctx:sendfile(f, 10, SIZE)), 0)
cctx:close() c:close() sctx:close() p:close()

-- blocking-style client (connect() in a task), a descriptor, one call
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local port = server:getsockname():port()
local g = assert(io.open("big.bin", "rb"))
local fd = core.file_fd(g)
local got = {}
local ok, err = act.run(function()
  act.spawn(function()
    local ctx = assert(libtls.client(ccfg))
    assert(ctx:connect("localhost", port))
    same("one blocking sendfile", R(ctx:sendfile(fd, SIZE)), SIZE)
    same("past the end: what there is", R(ctx:sendfile(fd, 4096, SIZE - 10)), 10)
    same("close", R(ctx:close()), true)
  end)
  local q = assert(server:accept())
  local conn = assert(srv:accept_socket(q:fd()))
  while true do
    local r = R(conn:read(65536))
    if r.n == 0 then break end
    if r[1] then got[#got + 1] = r[1]
    else check(r[3], tostring(r[2])) act[r[4] == IN and "wait_readable" or "wait_writable"](q:fd()) end
  end
  conn:close()
  q:close()
end)
check(ok, tostring(err))
local all = table.concat(got)
eq(#all, SIZE + 10, "bytes received")
check(all:sub(1, SIZE) == want_data, "1 MiB arrived intact (descriptor)")
eq(all:sub(SIZE + 1), want_data:sub(-10), "the tail")
print("done")
"##,
    );
}

// ------------------------------------------------------------------------------------------
// Sockets of other dialects

/// Runs `body` (support prelude + COMMON) in the default `all` mode (no --dialect), with
/// [`ENV`]; killed after HANG_LIMIT.
fn run_all_mode(dir: &TempDir, body: &str) -> Outcome {
    std::fs::write(dir.path().join("t.lua"), format!("{PRELUDE}{COMMON}\n{body}")).expect("write script");
    let child = Command::new(BIN)
        .arg("t.lua")
        .env_remove("RLUA_NET_DIALECT")
        .envs(ENV.iter().copied())
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
            panic!("script in {} did not finish within {HANG_LIMIT:?}", dir.path().display());
        }
    };
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A NodeMCU socket (in the `all` mode) handed to libtls by its descriptor: the libtls
/// client runs TLS on it against `openssl s_server -rev`, and NodeMCU's `receive`
/// callback never sees the encrypted bytes.
#[test]
fn a_nodemcu_socket_wrapped_by_descriptor() {
    let dir = certs("nodemcu");
    let (_server, port) = s_server(&dir, &["-rev"]);
    let out = run_all_mode(
        &dir,
        &format!(
            "PORT = {port}\n{}",
            r##"
local cfg = config.new()
assert(cfg:set_ca_file("ca.pem"))
local ctx = assert(libtls.client(cfg))
local received = 0
local sock = net.createConnection(net.TCP, 0)
sock:on("receive", function(_, d) received = received + #d end)
sock:on("connection", function(s)
  -- NodeMCU has no descriptor getter: the runtime stream is the socket's `stream`
  local fd = s.stream:fd()
  check(core.object(fd) == s.stream, "core.object finds the NodeMCU stream")
  same("connect_socket", R(ctx:connect_socket(fd, "localhost")), true)
  core.spawn(function()
    while true do
      local ok, err, want = ctx:handshake()
      if ok then break end
      check(err == nil, tostring(err))
      core.wait(fd, want == IN and "r" or "w")
    end
    eq(ctx:peer_cert_subject(), "/C=JP/O=rlua-net/CN=localhost", "subject")
    eq(ctx:write("over nodemcu\n"), 13, "write")
    local got = ""
    while not got:find("\n") do
      local d, err, again = ctx:read()
      if d then got = got .. d else check(again, tostring(err)) core.wait(fd, "r") end
    end
    eq(got, "ucmedon revo\n", "reversed")
    eq(ctx:close(), true, "close")
    s:close()
    eq(received, 0, "NodeMCU's receive callback got nothing")
    print("done")
  end)
end)
sock:connect(PORT, "127.0.0.1")
"##
        ),
    );
    assert!(out.code == Some(0) && out.stderr.is_empty(), "script failed\n{}", out.describe());
    assert_eq!(out.stdout, "done\n");
}

// ------------------------------------------------------------------------------------------
// The example

fn example(name: &str) -> String {
    let path: std::path::PathBuf = [env!("CARGO_MANIFEST_DIR"), "examples", "libtls", name].iter().collect();
    path.to_string_lossy().into_owned()
}

/// Runs `rlua-net examples/libtls/https_get.lua args...` in `dir` (its own dialect line).
fn run_example(dir: &TempDir, args: &[&str]) -> Outcome {
    let out = Command::new(BIN)
        .arg(example("https_get.lua"))
        .args(args)
        .env_remove("RLUA_NET_DIALECT")
        .envs(ENV.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run the example");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// examples/libtls/https_get.lua against `openssl s_server -www`: a 200 response with
/// the CA as CAFILE; a verification failure (status 1) without it.
#[test]
fn the_https_get_example_against_openssl_s_server_www() {
    let dir = certs("example");
    let (_server, port) = s_server(&dir, &["-www"]);
    let ok = run_example(&dir, &["localhost", &port, "ca.pem"]);
    assert_eq!(ok.code, Some(0), "{}", ok.describe());
    assert!(ok.stdout.contains("subject: /C=JP/O=rlua-net/CN=localhost"), "{}", ok.describe());
    assert!(ok.stdout.contains("status: HTTP/1.0 200 ok"), "{}", ok.describe());
    let bytes: usize = ok
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("bytes: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no byte count\n{}", ok.describe()));
    assert!(bytes > 100, "a whole page: {bytes}");

    let refused = run_example(&dir, &["localhost", &port]);
    assert_eq!(refused.code, Some(1), "{}", refused.describe());
    assert!(
        refused.stderr.contains("handshake: ") && refused.stderr.contains("certificate verify failed"),
        "{}",
        refused.describe()
    );

    let usage = run_example(&dir, &[]);
    assert_eq!(usage.code, Some(2), "{}", usage.describe());
}
