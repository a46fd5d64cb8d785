//! The Hammerspoon dialect's `hs.socket.udp`, run by the real binary on loopback against
//! other sockets of the same script or python3. Spec: /work/shared/specs/hammerspoon.md §1.2,
//! decisions 2, 3 and 5. Scripts end themselves; a hang is cut off by a generous limit, never
//! by a timing assert.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rlua-net");
const HANG_LIMIT: Duration = Duration::from_secs(60);

const PRELUDE: &str = r#"
function fail(msg)
  io.stdout:flush()
  io.stderr:write("FAIL: ", tostring(msg), "\n")
  os.exit(3)
end
function eq(got, want, what)
  if got ~= want then
    fail(("%s: got %q, want %q"):format(what or "eq", tostring(got), tostring(want)))
  end
end
function finish() io.stdout:flush() os.exit(0) end
hs.timer.doAfter(30, function() fail("timed out") end)
udp = hs.socket.udp
"#;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn describe(&self) -> String {
        format!("exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }

    fn ok(&self) -> &Self {
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.describe());
        assert_eq!(self.code, Some(0), "{}", self.describe());
        self
    }

    fn has(&self, line: &str) -> &Self {
        assert!(self.stdout.lines().any(|l| l == line), "no line {line:?}:\n{}", self.describe());
        self
    }

    /// A line containing `msg` (log lines start with a time stamp).
    fn logged(&self, msg: &str) -> &Self {
        assert!(self.stdout.lines().any(|l| l.contains(msg)), "nothing logged as {msg:?}:\n{}", self.describe());
        self
    }
}

fn wait(mut child: Child) -> Out {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut stdout).expect("stdout");
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).expect("stderr");
    }
    Out { code: status.code(), stdout, stderr }
}

fn run(body: &str, args: &[&str]) -> Out {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("rln-hsudp-{}-{n}.lua", std::process::id()));
    std::fs::write(&path, format!("{PRELUDE}\n{body}")).expect("write script");
    let child = Command::new(BIN)
        .args(["--dialect", "hammerspoon"])
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rlua-net");
    let out = wait(child);
    let _ = std::fs::remove_file(&path);
    out
}

/// A python3 peer; the first line it prints is returned (a port).
fn python(code: &str) -> (Child, String) {
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    if let Some(o) = child.stdout.as_mut() {
        BufReader::new(o).read_line(&mut line).expect("python port");
    }
    (child, line.trim().to_string())
}

/// Module shape, metatable, `require`, server `info()` keys, `tostring` formats, a failed
/// double bind, argument errors and nil-returning runtime failures.
#[test]
fn server_info_tostring_and_errors() {
    let out = run(
        r#"
eq(getmetatable(udp.new()).__type, "hs.socket.udp", "__type")
eq(getmetatable(udp.new()).__name, "hs.socket.udp", "__name")
eq(hs.getObjectMetatable("hs.socket.udp"), getmetatable(udp.new()), "getObjectMetatable")
eq(udp.timeout, -1, "module timeout")
local fresh = udp.new()
eq(fresh:closed(), true, "new is closed")
eq(fresh:connected(), false, "new not connected")
print(tostring(fresh):match("^hs%.socket%.udp: %(null%):0 %(0x%x+%)$") ~= nil)
local i = fresh:info()
eq(i.isIPVersionNeutral, true, "neutral")
eq(i.maxReceiveIPv4BufferSize, 65535, "v4 buf")
eq(i.maxReceiveIPv6BufferSize, 65535, "v6 buf")
eq(i.timeout, -1, "timeout")

local srv = udp.server(0)
eq(srv:closed(), false, "server open")
i = srv:info()
eq(i.localHost, "0.0.0.0", "localHost")
eq(i.connectedHost, "", "connectedHost")
eq(i.connectedPort, 0, "connectedPort")
eq(i.userData, "SERVER", "userData")
eq(i.isConnected, false, "isConnected")
eq(#i.localAddress, 16, "sockaddr length")
eq(i.localAddress:byte(2), 2, "AF_INET is 2")
eq((i.localAddress:byte(3) << 8) | i.localAddress:byte(4), i.localPort, "sockaddr port")
for _, k in ipairs({"connectedAddress", "isClosed", "isIPv4", "isIPv4Enabled", "isIPv4Preferred",
  "isIPv6", "isIPv6Enabled", "isIPv6Preferred", "localAddress_IPv4", "localAddress_IPv6",
  "localHost_IPv4", "localHost_IPv6", "localPort_IPv4", "localPort_IPv6"}) do
  if i[k] == nil then fail("info key " .. k) end
end
eq(tostring(srv):match("^hs%.socket%.udp: 0%.0%.0%.0:(%d+) %(0x%x+%)$"), tostring(i.localPort), "server tostring")

-- double bind: on the same object and on another one
eq(srv:listen(0), nil, "bind twice")
eq(udp.new():listen(i.localPort), nil, "port in use")
local other = udp.server(i.localPort)
eq(other:closed(), true, "server() never nil, but not bound")

-- argument errors raise; runtime failures log and return nil
local ok, err = pcall(function() return udp.new():send(123) end)
print(ok, (tostring(err):find("incorrect type", 1, true)) ~= nil)
ok, err = pcall(function() return udp.new():send("x") end)
print(ok, (tostring(err):find("for argument 3", 1, true)) ~= nil)
ok, err = pcall(function() return udp.new():listen(1.5) end)
print(ok, (tostring(err):find("number must be an integer for argument 2", 1, true)) ~= nil)
eq(udp.new():enableIPv(0), nil, "bad IP version")
eq(udp.new(print):receive(), nil, "receive before bind")
eq(udp.server(0):receive(), nil, "receive without callback")
eq(udp.new():enableIPv(4, false):enableIPv(6, false):connect("127.0.0.1", 9), nil, "no IP versions")
local s = udp.new():setBufferSize(-1)
eq(s:info().maxReceiveIPv4BufferSize, 65535, "clamp v4")
eq(s:info().maxReceiveIPv6BufferSize, 4294967295, "clamp v6")
s:setBufferSize(100, 6)
eq(s:info().maxReceiveIPv4BufferSize, 65535, "v6 only")
eq(s:info().maxReceiveIPv6BufferSize, 100, "v6 set")
eq(s:preferIPv(6):info().isIPv6Preferred, true, "prefer 6")
eq(s:setTimeout(2):info().timeout, 2, "setTimeout")
finish()
"#,
        &[],
    );
    out.ok();
    out.has("true").has("false\ttrue");
    out.logged("Unable to bind port: Cannot bind a socket more than once.");
    out.logged("Invalid IP version: 0");
    out.logged("No callback defined!");
    out.logged("Unable to connect: Both IPv4 and IPv6 have been disabled on this socket.");
    assert!(out.stdout.contains("Unable to read from UDP socket: Must bind socket"), "{}", out.describe());
    assert!(!out.stdout.contains("false\tfalse"), "{}", out.describe());
}

/// send(msg, host, port, tag, fn) with the write callback (deferred, once, with the tag);
/// raw binary data and a sender sockaddr in the read callback; sending binds, so receive
/// works afterwards; an error in a callback is logged with its label.
#[test]
fn send_receive_binary_and_write_callback() {
    let out = run(
        r#"
local payload = "\0\255\1bin\0"
local srv
local step = 0
srv = udp.server(0, function(data, addr)
  step = step + 1
  if step == 1 then
    eq(data, payload, "raw bytes")
    eq(#addr, 16, "sockaddr length")
    eq(addr:byte(2), 2, "family")
    eq(addr:sub(5, 8), "\127\0\0\1", "sender ip")
    local port = (addr:byte(3) << 8) | addr:byte(4)
    srv:send("pong", "127.0.0.1", port)
  elseif step == 2 then
    error("boom")
  end
end)
eq(srv:receive(), srv, "receive chains")
local port = srv:info().localPort
local inside = true
local writes = 0
local c
c = udp.new(function(data, addr)
  eq(data, "pong", "reply")
  c:send("again", "127.0.0.1", port)
  hs.timer.doAfter(0.2, finish)
end)
eq(c:send(payload, "127.0.0.1", port, 42, function(tag)
  if inside then fail("write callback inside send") end
  writes = writes + 1
  eq(tag, 42, "tag")
  eq(writes, 1, "write callback once")
  print("written")
end), c, "send chains")
inside = false
eq(c:closed(), false, "sending opened the socket")
eq(c:receive(), c, "receive after send")
"#,
        &[],
    );
    out.ok().has("written").logged("hs.socket.udp:read callback: ");
    assert!(out.stdout.contains("boom"), "{}", out.describe());
}

/// receiveOne delivers one datagram and stops; pause keeps the rest in the kernel buffer,
/// delivered in order later; setBufferSize truncates and 0 delivers nothing.
#[test]
fn receive_one_pause_and_buffer_size() {
    let out = run(
        r#"
local got = {}
local srv = udp.server(0)
local port = srv:info().localPort
local c = udp.new()
local function phase2()
  -- the rest, continuous, truncated to 3 bytes
  srv:setBufferSize(3)
  srv:receive(function(data)
    got[#got + 1] = data
    if #got == 4 then
      eq(table.concat(got, ","), "one,two,thr,fou", "order and truncation")
      srv:setBufferSize(0):pause()
      c:send("zero", "127.0.0.1", port, function()
        srv:receive(function() fail("buffer size 0 delivered") end)
        hs.timer.doAfter(0.3, finish)
      end)
    end
  end)
end
srv:receiveOne(function(data)
  got[#got + 1] = data
  eq(#got, 1, "receiveOne delivers once")
  hs.timer.doAfter(0.3, function()
    eq(#got, 1, "still one after a while")
    srv:receiveOne(function(d2)
      got[#got + 1] = d2
      srv:pause()
      hs.timer.doAfter(0.3, phase2)
    end)
  end)
end)
for _, m in ipairs({"one", "two", "three", "four"}) do
  c:send(m, "127.0.0.1", port)
end
"#,
        &[],
    );
    out.ok();
}

/// connect is asynchronous: not connected right after the call, the callback fires once,
/// then send takes no destination (giving one raises); a second connect fails; a connect to
/// port 0 never connects; close reopens the object and keeps the cached peer (upstream quirk).
#[test]
fn connect_then_send_against_python() {
    let (mut peer, port) = python(
        r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1]); sys.stdout.flush()
data, addr = s.recvfrom(100)
s.sendto(b"echo:" + data, addr)
"#,
    );
    let out = run(
        r#"
local port = tonumber(arg[1])
local c
c = udp.new(function(data, addr)
  eq(data, "echo:hi", "echo")
  eq((addr:byte(3) << 8) | addr:byte(4), port, "peer port")
  c:close()
  eq(c:closed(), true, "closed")
  eq(c:connected(), false, "not connected after close")
  eq(c:info().connectedPort, port, "stale cached port")
  eq(tostring(c):match("%(null%):0") ~= nil, true, "tostring after close")
  local z = udp.new()
  z:connect("127.0.0.1", 0, function() fail("port 0 connected") end)
  hs.timer.doAfter(0.3, function()
    eq(z:connected(), false, "port 0")
    finish()
  end)
end)
local calls = 0
eq(c:connect("127.0.0.1", port, function()
  calls = calls + 1
  eq(calls, 1, "connect callback once")
  eq(c:connected(), true, "connected")
  eq(c:info().userData, "DEFAULT", "userData")
  eq(tostring(c):match(": 127%.0%.0%.1:(%d+) "), tostring(port), "tostring peer")
  local ok = pcall(c.send, c, "x", "127.0.0.1", port)
  eq(ok, false, "destination on a connected socket raises")
  eq(c:connect("127.0.0.1", port), nil, "connect twice")
  c:send("hi", function(tag) eq(tag, -1, "default tag") end):receive()
end), c, "connect chains")
eq(c:connected(), false, "connect is asynchronous")
"#,
        &[&port],
    );
    let _ = peer.kill();
    let _ = peer.wait();
    out.ok().logged("Unable to connect: Cannot connect a socket more than once.");
    assert!(out.stdout.contains("UDP socket did not connect: "), "{}", out.describe());
}

/// Decision 5: broadcast(true) and reusePort(true) enable the options (upstream inverts
/// them); two sockets that both set reusePort share a port; false disables again.
#[test]
fn broadcast_and_reuse_port_enable() {
    let out = run(
        r#"
local b = udp.new()
eq(b:broadcast(true), b, "broadcast chains")
eq(b:closed(), false, "broadcast opens the socket")
eq(b.s4:getopt("broadcast"), true, "broadcast(true) enables")
b:broadcast(false)
eq(b.s4:getopt("broadcast"), false, "broadcast(false) disables")
b:broadcast()
eq(b.s4:getopt("broadcast"), true, "broadcast() enables")
local a = udp.new():reusePort(true):listen(0)
if not a then fail("first reusePort bind") end
local port = a:info().localPort
local a2 = udp.new():reusePort(true):listen(port)
if not a2 then fail("reusePort(true) should allow a shared port") end
local a3 = udp.new():reusePort(false):listen(port)
eq(a3, nil, "reusePort(false) does not share")
-- IPv4 disabled: the IPv6 socket alone, dual-stack, still receives IPv4
local v6 = udp.new():enableIPv(4, false):listen(0)
eq(v6:info().isIPv4, false, "no IPv4 socket")
eq(v6:info().isIPv6Enabled, true, "v6 enabled")
v6:receive(function(data, addr)
  eq(data, "via v4", "dual stack")
  eq(#addr, 28, "IPv6 sockaddr")
  eq(addr:byte(2), 30, "AF_INET6 is 30")
  finish()
end)
udp.new():send("via v4", "127.0.0.1", v6:info().localPort)
"#,
        &[],
    );
    out.ok();
}
