//! TLS through `rluanet.core` with a self-signed certificate made for each test by
//! `openssl req`: rlua-net talking to itself, to `openssl s_server` and to `openssl
//! s_client`, 16 MiB transfers checked byte for byte, and certificate verification.

mod common;

use std::process::Command;

use common::{TempDir, lib, run_cmd, run_lua_in, spawn, spawn_lua_in};

/// A temp dir holding `cert.pem` (CN and SAN localhost / 127.0.0.1), `key.pem` (PKCS#8)
/// and `cert.der`, all made now.
fn certs() -> TempDir {
    let dir = TempDir::new();
    let mut req = Command::new("openssl");
    req.args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"));
    let out = run_cmd(req, "openssl req", None);
    assert!(out.status.success(), "{}", out.describe());
    let mut der = Command::new("openssl");
    der.args(["x509", "-outform", "DER", "-in"]).arg(dir.join("cert.pem")).arg("-out").arg(dir.join("cert.der"));
    let out = run_cmd(der, "openssl x509", None);
    assert!(out.status.success(), "{}", out.describe());
    dir
}

/// The Lua side's common start: contexts from the files made by [`certs`].
const CONTEXTS: &str = r#"
CERT, KEY = slurp("cert.pem"), slurp("key.pem")
SERVER = assert(core.tls_server{cert = CERT, key = KEY})
CLIENT = assert(core.tls_client{ca = CERT})
"#;

fn tls_lib(src: &str) -> String {
    lib(&format!("{CONTEXTS}\n{src}"))
}

/// The lines `pattern(kib, seed)` in the Lua test library makes.
fn pattern_lines(kib: usize, seed: usize) -> Vec<String> {
    (1..=kib)
        .map(|i| {
            let head = format!("{i:08}:{seed:04}:");
            let c = char::from(b'A' + ((i + seed) % 26) as u8);
            format!("{head}{}", c.to_string().repeat(1024 - head.len() - 1))
        })
        .collect()
}

#[test]
fn tls_16mib_both_ways_between_rlua_net_ends() {
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        local N = 16 * 1024
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        -- Server: callback-mode accept, task-mode I/O.
        l:on(function(ev, s)
          l:close()
          assert(s:starttls(SERVER))
          core.spawn(function()
            print("server handshake", handshake(s))
            local got = assert(read_count(s, N * 1024))
            print("server got", #got, got == pattern(N, 1))
            s:queue(pattern(N, 2))
            flush(s)
            s:close()
          end)
        end)
        l:watch(true)
        core.spawn(function()
          local c = core.connect("127.0.0.1", port)
          assert(c:starttls(CLIENT, "localhost"))
          print("client handshake", handshake(c), c:is_tls())
          c:queue(pattern(N, 1))
          local back = assert(read_count(c, N * 1024))
          print("client got", #back, back == pattern(N, 2))
          local rest, err = read_all(c)
          print("client end", #rest, err)
          c:close()
        end)
    "#,
        ),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("server handshake"), ["true"]);
    assert_eq!(out.field("client handshake"), ["true", "true"]);
    assert_eq!(out.field("server got"), ["16777216", "true"]);
    assert_eq!(out.field("client got"), ["16777216", "true"]);
    assert_eq!(out.field("client end"), ["0", "nil"]);
}

#[test]
fn tls_16mib_callback_mode_echo() {
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        local server_events = {}
        l:on(function(ev, s)
          l:close()
          s:starttls(SERVER)
          s:on(function(ev, data, errno)
            if ev == "data" then s:queue(data)
            elseif ev == "handshake" then server_events[#server_events + 1] = ev
            elseif ev == "eof" then server_events[#server_events + 1] = ev; s:close()
            elseif ev == "error" then print("server error", data, errno); s:close() end
          end)
          s:watch("data")
        end)
        l:watch(true)
        local blob = pattern(16 * 1024, 5)
        local c = core.connect("127.0.0.1", port)
        c:starttls(CLIENT, "localhost")
        -- Queued while connecting: it goes out once the handshake is done.
        c:queue(blob)
        local parts, n, client_events = {}, 0, {}
        c:on(function(ev, data, errno)
          if ev == "data" then
            parts[#parts + 1] = data
            n = n + #data
            if n >= #blob then c:close() end
          elseif ev == "error" then print("client error", data, errno); c:close()
          else client_events[#client_events + 1] = ev end
        end)
        c:watch("data")
        core.run()
        local back = table.concat(parts)
        print("echo", #back, back == blob)
        print("client events", table.concat(client_events, ","))
        print("server events", table.concat(server_events, ","))
    "#,
        ),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("echo"), ["16777216", "true"]);
    assert_eq!(out.field("client events"), ["connect,handshake,drain"]);
    assert_eq!(out.field("server events"), ["handshake,eof"]);
}

#[test]
fn tls_server_sends_16mib_to_openssl_s_client() {
    let dir = certs();
    let mut server = spawn_lua_in(
        &dir,
        &tls_lib(
            r#"
        io.stdout:setvbuf("line")
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        print(port)
        await(l, "r", "a client")
        local s = assert(l:accept())
        l:close()
        assert(s:starttls(SERVER))
        assert(handshake(s))
        s:queue(pattern(16 * 1024, 9))
        flush(s)
        s:close()
        io.stderr:write("server done\n")
    "#,
        ),
        &[],
    );
    let port = server.next_line();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .args(["-verify_return_error", "-verify_hostname", "localhost", "-quiet", "-CAfile"])
        .arg(dir.join("cert.pem"));
    let client = run_cmd(cmd, "openssl s_client", None);
    assert!(client.status.success(), "{}", client.describe());
    let got = client.lines();
    let want = pattern_lines(16 * 1024, 9);
    assert_eq!(got.len(), want.len(), "line count differs; stderr:\n{}", client.stderr);
    if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
        panic!("line {} differs:\n got  {}\n want {}", i + 1, got[i], want[i]);
    }
    assert_eq!(client.stdout.len(), 16 * 1024 * 1024);
    let out = server.wait();
    out.assert_success();
    assert!(out.stderr.contains("server done"), "{}", out.describe());
}

#[test]
fn tls_client_against_openssl_s_server() {
    let dir = certs();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev", "-cert"])
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"));
    let mut server = spawn(cmd, "openssl s_server", None);
    let port = loop {
        let line = server.next_line();
        if let Some(addr) = line.strip_prefix("ACCEPT ") {
            break addr.rsplit(':').next().expect("port").to_string();
        }
    };
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        local c = core.connect("127.0.0.1", tonumber(arg[1]))
        assert(c:starttls(CLIENT, "localhost"))
        print("handshake", handshake(c))
        local info = c:tls_info()
        print("peer certificate", info.peer_certificate == slurp("cert.der"))
        c:queue("hello from rlua-net\n")
        print("reply", (read_line(c)))
        c:close()
    "#,
        ),
        &[&port],
    );
    out.assert_success();
    assert_eq!(out.field("handshake"), ["true"]);
    assert_eq!(out.field("peer certificate"), ["true"]);
    assert_eq!(out.field("reply"), ["ten-aulr morf olleh"]);
}

/// Runs one client configuration against an rlua-net TLS server in the same process and
/// prints `result <label> <client outcome> <server outcome>`.
const VERIFY_CASES: &str = r#"
local l = assert(core.listen("127.0.0.1", 0))
local _, port = l:local_addr()
local server_result, server_done = nil, core.signal()
l:on(function(ev, s)
  s:starttls(SERVER)
  s:on(function(ev, data, errno)
    if ev == "handshake" then server_result = "ok"; server_done:set()
    elseif ev == "data" then s:queue(data:upper())
    elseif ev == "error" then server_result = "error"; server_done:set(); s:close()
    else s:close() end
  end)
  s:watch("data")
end)
l:watch(true)

local function try(label, opts, name)
  local c = core.connect("127.0.0.1", port)
  c:starttls(assert(core.tls_client(opts)), name)
  local ok, msg = handshake(c)
  local outcome
  if ok then
    c:queue("ping\n")
    outcome = "ok:" .. (read_line(c) or "?"):gsub("\n", "")
  else
    outcome = "failed:" .. tostring(msg)
  end
  c:close()
  core.wait(server_done, "r", WAIT)
  print("result", label, outcome, server_result)
  server_result = nil
  server_done:reset()
end

core.spawn(function()
  try("system roots only", {}, "localhost")
  try("with ca", {ca = CERT}, "localhost")
  try("ca list", {ca = {CERT}}, "localhost")
  try("wrong name", {ca = CERT}, "wrong.example")
  try("ip name", {ca = CERT}, "127.0.0.1")
  try("wrong name unchecked", {ca = CERT, verify_name = false}, "wrong.example")
  try("verify off", {verify = false}, "localhost")
  try("verify off wrong name", {verify = false}, "wrong.example")
  l:close()
end)
"#;

#[test]
fn tls_certificate_verification() {
    let dir = certs();
    let out = run_lua_in(&dir, &tls_lib(VERIFY_CASES), &[]);
    out.assert_success();
    let results: Vec<Vec<&str>> =
        out.lines().iter().filter(|l| l.starts_with("result\t")).map(|l| l.split('\t').skip(1).collect()).collect();
    let find = |label: &str| -> (String, String) {
        let r =
            results.iter().find(|r| r[0] == label).unwrap_or_else(|| panic!("no case '{label}':\n{}", out.describe()));
        (r[1].to_string(), r.get(2).copied().unwrap_or("").to_string())
    };
    for label in ["with ca", "ca list", "ip name", "wrong name unchecked", "verify off", "verify off wrong name"] {
        let (client, server) = find(label);
        assert_eq!((client.as_str(), server.as_str()), ("ok:PING", "ok"), "case '{label}':\n{}", out.describe());
    }
    for (label, reason) in [("system roots only", "self-signed"), ("wrong name", "hostname mismatch")] {
        let (client, server) = find(label);
        assert!(
            client.starts_with("failed:") && client.contains("certificate verify failed"),
            "case '{label}': {client}"
        );
        assert!(client.contains(reason), "case '{label}' should name '{reason}': {client}");
        assert_eq!(server, "error", "case '{label}': the server should see the failed handshake");
    }
}

#[test]
fn tls_alpn_is_negotiated() {
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        local sctx = assert(core.tls_server{cert = CERT, key = KEY, alpn = {"h2", "http/1.1"}})
        local a, b = core.socketpair()
        b:starttls(sctx)
        core.spawn(function() assert(handshake(b)); print("server alpn", b:tls_info().alpn) end)
        core.spawn(function()
          a:starttls(assert(core.tls_client{ca = CERT, alpn = {"http/1.1"}}), "localhost")
          assert(handshake(a))
          print("client alpn", a:tls_info().alpn)
        end)
    "#,
        ),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("client alpn"), ["http/1.1"]);
    assert_eq!(out.field("server alpn"), ["http/1.1"]);
}

#[test]
fn openssl_s_client_against_rlua_net_server() {
    let dir = certs();
    let mut server = spawn_lua_in(
        &dir,
        &tls_lib(
            r#"
        io.stdout:setvbuf("line")
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        print(port)
        l:on(function(ev, s)
          l:close()
          s:starttls(SERVER)
          core.spawn(function()
            assert(handshake(s))
            local line = assert(read_line(s))
            s:queue("ECHO " .. line:upper())
            flush(s)
            s:close()
          end)
        end)
        l:watch(true)
    "#,
        ),
        &[],
    );
    let port = server.next_line();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost"])
        .args(["-verify_return_error", "-verify_hostname", "localhost", "-quiet", "-CAfile"])
        .arg(dir.join("cert.pem"));
    let client = run_cmd(cmd, "openssl s_client", Some(b"hello over tls\n".to_vec()));
    assert!(client.status.success(), "{}", client.describe());
    assert_eq!(client.lines(), ["ECHO HELLO OVER TLS"]);
    server.wait().assert_success();
}

#[test]
fn tls_server_refuses_tls13_only_and_serves_tls12() {
    // native-tls's OpenSSL acceptor stops at TLS 1.2 (documented limit): a 1.3-only server
    // is refused with a clear message instead of failing every handshake later, and the
    // default server still serves a real client.
    let dir = certs();
    let mut server = spawn_lua_in(
        &dir,
        &tls_lib(
            r#"
        io.stdout:setvbuf("line")
        local ctx, err = core.tls_server{cert = CERT, key = KEY, min = "1.3"}
        print("min13", tostring(ctx), err)
        ctx = assert(core.tls_server{cert = CERT, key = KEY})
        local l = assert(core.listen("127.0.0.1", 0))
        local _, port = l:local_addr()
        print(port)
        await(l, "r", "a client")
        local s = assert(l:accept())
        l:close()
        print("starttls", s:starttls(ctx))
        print("handshake", handshake(s))
        s:close()
    "#,
        ),
        &[],
    );
    let first = server.next_line();
    assert!(
        first.starts_with("min13\tnil\t") && first.contains("TLS 1.3-only server is not supported"),
        "unexpected: {first}"
    );
    let port = server.next_line();
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-servername", "localhost", "-brief", "-CAfile"])
        .arg(dir.join("cert.pem"));
    let client = run_cmd(cmd, "openssl s_client", Some(Vec::new()));
    let out = server.wait();
    out.assert_success();
    assert_eq!(out.field("handshake"), ["true"], "server side failed; s_client said:\n{}", client.stderr);
    assert!(client.stderr.contains("Protocol version: TLSv1.2"), "{}", client.describe());
}

#[test]
fn tls_handshake_wait_on_main_thread_completes() {
    // Both ends in one process over a socketpair: the server side is driven by a task,
    // the client side by `handshake()` + `core.wait` on the main thread. The wait must
    // come back once the loop has finished the client's handshake.
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        WAIT = 5 -- enough for a loopback handshake; fail sooner than the default
        local a, b = core.socketpair()
        assert(a:starttls(CLIENT, "localhost"))
        assert(b:starttls(SERVER))
        core.spawn(function()
          print("server", handshake(b))
          -- Nothing is sent to the client before it has finished its handshake.
          local q = read_line(b)
          b:queue("re: " .. q)
        end)
        print("client", handshake(a))
        a:queue("after handshake\n")
        print("line", (read_line(a)))
    "#,
        ),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("server"), ["true"]);
    assert_eq!(out.field("client"), ["true"]);
    assert_eq!(out.field("line"), ["re: after handshake"]);
}

#[test]
fn tls_shutdown_sends_close_notify_and_keeps_reading() {
    // `tls_shutdown` ends our side cleanly (the peer reads end of stream), while data the
    // peer still sends arrives; the descriptor stays open until `close`.
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &tls_lib(
            r#"
        WAIT = 5
        local a, b = core.socketpair()
        assert(a:starttls(CLIENT, "localhost"))
        assert(b:starttls(SERVER))
        core.spawn(function()
          handshake(b)
          local got
          repeat got = b:read() if got == false then await(b, "r", "close_notify") end until got ~= false
          print("server reads", tostring(got))
          b:queue("late reply\n")
        end)
        print("client", handshake(a))
        local r
        repeat r = a:tls_shutdown() if r == false then await(a, "w", "room") end until r ~= false
        print("shutdown", r, a:fd() >= 0)
        print("reply", (read_line(a)))
        print("plain", a:is_tls(), select(2, core.socketpair():tls_shutdown()))
        a:close(); b:close()
    "#,
        ),
        &[],
    );
    out.assert_success();
    assert_eq!(out.field("client"), ["true"]);
    assert_eq!(out.field("shutdown"), ["true", "true"]);
    assert_eq!(out.field("server reads"), ["nil"]);
    assert_eq!(out.field("reply"), ["late reply"]);
    assert_eq!(out.field("plain"), ["true", "not a TLS stream (or its handshake is not done)", "22"]);
}

#[test]
fn certificate_fields_match_openssl_x509() {
    let dir = certs();
    let out = run_lua_in(
        &dir,
        &lib(r#"
        local info = assert(core.x509_info(slurp("cert.der")))
        print("subject", info.subject)
        print("issuer", info.issuer)
        print("hash", info.hash)
        print("notafter", info.notafter - info.notbefore)
        print("names", table.concat(info.names, ","))
        print("pem", info.pem == slurp("cert.pem"))
        print("junk", (core.x509_info("junk")))
    "#),
        &[],
    );
    out.assert_success();
    let mut x509 = Command::new("openssl");
    x509.args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(dir.join("cert.pem"));
    let fp = run_cmd(x509, "openssl x509", None);
    let want = fp.stdout.trim().rsplit('=').next().unwrap_or_default().replace(':', "").to_lowercase();
    assert_eq!(out.field("hash"), [format!("SHA256:{want}").as_str()]);
    assert_eq!(out.field("subject"), ["/CN=localhost"]);
    assert_eq!(out.field("issuer"), ["/CN=localhost"]);
    assert_eq!(out.field("notafter"), [(2 * 86_400).to_string().as_str()]);
    assert_eq!(out.field("names"), ["localhost,localhost,127.0.0.1"]);
    assert_eq!(out.field("pem"), ["true"]);
    assert_eq!(out.field("junk"), ["nil"]);
}
