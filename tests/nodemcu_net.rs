//! The NodeMCU `net` module (`--dialect nodemcu`): TCP sockets, servers, UDP sockets,
//! DNS, interfaces and multicast, against real peers on the loopback (python3 and other
//! sockets of the same script). docs: /work/shared/specs/nodemcu.md, B.2 and decisions 2-9, 11, 13.

mod nodemcu_support;

use nodemcu_support::{Script, closed_port, have_ipv6_loopback, python};

// ---------------------------------------------------------------- sending

/// Decision 4: 200 consecutive `send()` calls (2 MB, more than the kernel takes at once)
/// all arrive, in order, and `sent` fires exactly once per call.
#[test]
fn two_hundred_sends_arrive_in_order_with_one_sent_event_each() {
    let mut peer = python(
        r##"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
data = bytearray()
while True:
    d = c.recv(65536)
    if not d: break
    data += d
want = b"".join(b"%03d:" % i + bytes([65 + i % 26]) * (i * 97 % 20000) + b"\n" for i in range(1, 201))
print("bytes", len(data), len(want))
print("match", data == want)
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local function chunk(i) return ("%03d:"):format(i) .. string.char(65 + i % 26):rep(i * 97 % 20000) .. "\n" end
local sk = net.createConnection()
local sent = 0
sk:on("sent", function(s)
  check(s == sk, "sent gets the socket")
  sent = sent + 1
  if sent == 200 then
    -- A 201st event would be counted before this fires.
    tmr.create():alarm(200, tmr.ALARM_SINGLE, function() show("sent", sent) sk:close() end)
  end
end)
sk:on("connection", function(s)
  for i = 1, 200 do s:send(chunk(i)) end
  show("queued", sent)
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 queued 0", "2 sent 200"]);
    let peer = peer.wait();
    assert!(peer.stdout.contains("match True"), "the peer got other bytes:\n{}", peer.describe());
}

/// Decision 4: `sent` fires once the chunk is handed to the kernel, so it comes before
/// the peer's reply to that chunk (lwIP, too, handles the ACK before the data). 200
/// rounds against a python3 echo server; the script closes in `receive`, as the docs'
/// examples do, so a late `sent` would be lost altogether.
#[test]
fn sent_comes_before_the_reply_it_caused() {
    let mut peer = python(
        r##"
import socket, threading
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
print("port", l.getsockname()[1])
def serve(c):
    while True:
        d = c.recv(4096)
        if not d: break
        c.sendall(d)
    c.close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local port = tonumber(arg[1])
local rounds, early = 0, 0
local function round()
  rounds = rounds + 1
  if rounds > 200 then show("replies before their sent", early) return end
  local sent = 0
  local sk = net.createConnection()
  sk:on("connection", function(s) s:send("ping") end)
  sk:on("sent", function() sent = sent + 1 end)
  sk:on("receive", function(s, d)
    if sent == 0 then early = early + 1 end
    s:close()
    node.task.post(round)
  end)
  sk:connect(port)
end
round()
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 replies before their sent 0"]);
    peer.stop();
}

/// The `sent` callback is looked up when the chunk is written, as the firmware looks it up
/// when lwIP reports it: one set right after `send()` (in the same callback) fires, one
/// removed right after `send()` does not, and a socket without one never hears of it.
#[test]
fn sent_callback_is_the_one_set_when_the_chunk_goes_out() {
    let mut peer = python(
        r##"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
while c.recv(4096): pass
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local sk = net.createConnection()
local step = 0
sk:on("connection", function(s)
  s:send("one")                        -- no sent callback yet: set right after
  s:on("sent", function()
    step = step + 1
    show("sent", step)
    if step == 1 then
      s:send("two")
      s:on("sent", nil)                -- removed right after: "two" goes unheard
      tmr.create():alarm(100, tmr.ALARM_SINGLE, function()
        s:send("three", function() show("three sent") s:close() end)
      end)
    end
  end)
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 sent 1", "1 three sent"]);
    peer.stop();
}

/// Sends made before the connection is up (host name still resolving, or connect in
/// progress) are kept and go out first, in order, each with its `sent` event.
#[test]
fn sends_before_the_connection_is_up_are_kept_in_order() {
    let out = Script::new(
        r##"
local function chunk(tag, i) return ("%s%02d."):format(tag, i) end
local function want(tag) local t = {} for i = 1, 50 do t[i] = chunk(tag, i) end return table.concat(t) .. "end" end
local srv = net.createServer()
local done = 0
srv:listen(0, "127.0.0.1", function(c)
  local buf = {}
  c:on("receive", function(s, d) buf[#buf + 1] = d end)
  c:on("disconnection", function(s, code)
    local got = table.concat(buf)
    local tag = got:sub(1, 1)
    show("server got", tag, got == want(tag), code)
    done = done + 1
    if done == 2 then srv:close() end
  end)
end)
local port = srv:getaddr()
local function client(tag, host)
  local sk = net.createConnection()
  local sent = 0
  sk:on("sent", function(s)
    sent = sent + 1
    if sent == 51 then s:close() end
  end)
  sk:on("connection", function(s) s:send("end") end)
  sk:connect(port, host)
  for i = 1, 50 do sk:send(chunk(tag, i)) end
end
client("n", "localhost") -- resolving: no connection attempt yet
client("i", "127.0.0.1") -- connecting
"##,
    )
    .run();
    out.assert_success();
    let mut lines = out.lines();
    lines.sort();
    assert_eq!(lines, ["4 server got i true 0", "4 server got n true 0"], "{}", out.describe());
}

/// Decision 4: queued sends are bounded; past the high-water mark `send` raises
/// "out of memory" (the peer never reads, so everything stays queued).
#[test]
fn send_past_the_queue_limit_raises_out_of_memory() {
    let mut peer = python(
        r##"
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
time.sleep(120)
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local mib = ("x"):rep(1 << 20)
local sk = net.createConnection()
sk:on("connection", function(s)
  for i = 1, 256 do
    local ok, err = pcall(function() s:send(mib) end)
    if not ok then
      raises("out of memory", function() s:send(mib) end)
      show("failed at", i > 8)
      os.exit(0)
    end
  end
  print("never failed")
  os.exit(0)
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 failed at true"]);
}

// ---------------------------------------------------------------- closing and errors

/// Decision 6: a remote FIN is `disconnection(sock, 0)`, even with a `reconnection`
/// handler; afterwards the socket has no peer and `send` raises "not connected".
#[test]
fn remote_close_is_disconnection_zero() {
    let mut peer = python(
        r##"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
c.sendall(b"bye")
c.close()
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local sk = net.createConnection()
sk:on("receive", function(s, d) show("receive", s == sk, d) end)
sk:on("reconnection", function(s, e) show("reconnection", e) end)
sk:on("disconnection", function(s, e)
  show("disconnection", s == sk, e)
  show("peer", s:getpeer())
  raises("not connected", function() s:send("more") end)
  raises("not connected", function() s:close() end)
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["3 receive true bye", "3 disconnection true 0", "3 peer nil nil"]);
    peer.wait();
}

/// A read stops at TCP's urgent mark, short, with data behind it and no new edge to
/// come: the loop must read on (the poller's urgent report makes it probe), or the rest
/// would wait for more data that the peer never sends. The urgent byte itself is not part
/// of the stream (no SO_OOBINLINE).
#[test]
fn data_behind_an_urgent_mark_is_read() {
    let mut peer = python(
        r##"
import socket
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1], flush=True)
c, _ = l.accept()
c.send(b"hello"); c.send(b"!", socket.MSG_OOB); c.send(b"world")
c.settimeout(10)
print("echo", c.recv(100).decode(), flush=True)
"##,
        &[],
    );
    let port = peer.expect_num("port");
    let out = Script::new(
        r##"
local sk = net.createConnection()
local got = ""
sk:on("receive", function(s, d)
  got = got .. d
  if #got >= 10 then show("got", got) s:send(got, function() s:close() end) end
end)
-- Held until everything is there, so the first read meets the mark.
sk:on("connection", function(s)
  s:hold()
  tmr.create():alarm(300, tmr.ALARM_SINGLE, function() s:unhold() end)
end)
sk:connect(tonumber(arg[1]), "127.0.0.1")
"##,
    )
    .arg(port)
    .run();
    out.assert_success().assert_lines(&["2 got helloworld"]);
    assert_eq!(peer.expect("echo"), "helloworld");
    peer.wait();
}

/// Decision 6: a connection the peer resets is `reconnection(sock, -9)`.
#[test]
fn remote_reset_reports_minus_nine() {
    let mut peer = python(
        r##"
import socket, struct
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
c.recv(10)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
"##,
        &[],
    );
    let port = peer.expect_num("port");
    Script::new(
        r##"
local sk = net.createConnection()
sk:on("connection", function(s) s:send("x") end)
sk:on("reconnection", function(s, e) show("reconnection", s == sk, e, s:getpeer()) end)
sk:on("disconnection", function(s, e) show("disconnection", e) end)
sk:connect(tonumber(arg[1]))
"##,
    )
    .arg(port)
    .run()
    .assert_success()
    .assert_lines(&["5 reconnection true -9 nil nil"]);
    peer.wait();
}

/// #1801: one socket object connecting, talking and being closed by the server 500 times
/// in a row keeps working.
#[test]
fn five_hundred_reconnects_in_a_row() {
    Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) c:on("receive", function(x) x:close() end) end)
local port = srv:getaddr()
local n = 0
local sk = net.createConnection()
sk:on("connection", function(s) s:send("hi") end)
sk:on("disconnection", function(s, e)
  check(e == 0, "disconnection code " .. tostring(e))
  n = n + 1
  if n < 500 then s:connect(port) else show("rounds", n) srv:close() end
end)
sk:connect(port)
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["2 rounds 500"]);
}

/// Decision 6: a refused connect is -9, to `reconnection` when there is a handler for
/// it, else to `disconnection`.
#[test]
fn refused_connect_reports_minus_nine() {
    let out = Script::new(
        r##"
local port = tonumber(arg[1])
local a = net.createConnection()
a:on("disconnection", function(s, e) show("a disconnection", s == a, e) end)
a:connect(port, "127.0.0.1")
local b = net.createConnection()
b:on("reconnection", function(s, e) show("b reconnection", s == b, e) end)
b:on("disconnection", function(s, e) show("b disconnection", e) end)
b:connect(port, "127.0.0.1")
"##,
    )
    .arg(closed_port())
    .run();
    out.assert_success();
    let mut lines = out.lines();
    lines.sort();
    assert_eq!(lines, ["3 a disconnection true -9", "3 b reconnection true -9"], "{}", out.describe());
}

/// Decision 6 / #1716: a local `close()` fires nothing on the side that closed; the
/// other side sees a remote close. Both directions: client closes, then server closes.
#[test]
fn local_close_fires_nothing() {
    let out = Script::new(
        r##"
local function quiet(sock, who)
  sock:on("disconnection", function() print(who .. " disconnection") end)
  sock:on("reconnection", function() print(who .. " reconnection") end)
end
local function second()
  local srv = net.createServer()
  srv:listen(0, "127.0.0.1", function(c)
    quiet(c, "server")
    c:on("receive", function(s) s:close() print("server closed") end)
  end)
  local sk = net.createConnection()
  sk:on("connection", function(s) s:send("x") end)
  sk:on("disconnection", function(s, e) show("client sees", e) srv:close() end)
  sk:connect((srv:getaddr()), "127.0.0.1")
end
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c)
  c:on("disconnection", function(s, e) show("server sees", e) srv:close() second() end)
end)
local sk = net.createConnection()
quiet(sk, "client")
sk:on("connection", function(s) s:close() print("client closed") end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
    )
    .run();
    out.assert_success().assert_lines(&["client closed", "2 server sees 0", "server closed", "2 client sees 0"]);
}

/// Every raised error of `net.socket`, with the exact upstream string, reported at the
/// script's line ("invalid user data" for a `.` call instead of `:`); `send(data, fn)`
/// replaces the `sent` handler for good.
#[test]
fn socket_argument_errors() {
    let out = Script::new(
        r##"
local sk = net.createConnection()
raises("invalid user data", function() sk.send("x") end) -- `.` for `:`
raises("invalid user data", function() sk.connect(80) end)
raises("invalid user data", function() net.createServer().listen(sk, print) end)
raises("invalid user data", function() net.createUDPSocket().send(5, "127.0.0.1", "x") end)
raises("specify port", function() sk:connect(0) end)
raises("bad argument #3 to 'connect' (not a function)", function() sk:connect(80, "127.0.0.1", 5) end)
raises("no data to send", function() sk:send("") end)
raises("not connected", function() sk:send("x") end)
raises("not connected", function() sk:close() end)
raises("invalid callback name", function() sk:on("bogus", print) end)
raises("invalid callback name", function() sk:on("accept", print) end)
raises("invalid callback function", function() sk:on("receive", "not a function") end)
raises("no callback specified", function() sk:dns("localhost") end)
raises("socket is not open/bound yet", function() sk:ttl() end)
raises("socket is not open/bound yet", function() sk:ttl(5) end)
show("peer", sk:getpeer())
show("addr", sk:getaddr())
sk:hold() sk:unhold() -- no-ops while not connected
for _, ev in ipairs { "connection", "reconnection", "disconnection", "receive", "sent", "dns" } do
  sk:on(ev, print)
  sk:on(ev, nil)
end
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) end)
local port = srv:getaddr()
sk:on("connection", function(s)
  raises("already connected", function() s:connect(port) end)
  raises("no data to send", function() s:send("") end)
  local n = 0
  s:send("a", function(x)
    n = n + 1
    show("sent handler", x == sk, n)
    if n == 1 then s:send("b") else s:close() srv:close() end
  end)
end)
sk:connect(port, "127.0.0.1")
raises("already connected", function() sk:connect(port) end)
"##,
    )
    .run();
    out.assert_success().assert_lines(&[
        "3 peer nil nil",
        "3 addr nil nil",
        "3 sent handler true 1",
        "3 sent handler true 2",
    ]);
}

/// Decision 11: `getpeer` is `port, ip` (port first); `getaddr` too; both are
/// `nil, nil` after a disconnection (#601). The server's view matches the client's.
#[test]
fn getpeer_is_port_then_ip_and_getaddr_matches() {
    let out = Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c)
  c:on("receive", function(s, d)
    local pport, pip = s:getpeer()
    show("server peer", pport == tonumber(d), math.type(pport), pip)
    local lport, lip = s:getaddr()
    show("server addr", lport == (srv:getaddr()), lip)
    s:close()
  end)
end)
local sport, sip = srv:getaddr()
show("listening", math.type(sport), sip)
local sk = net.createConnection()
sk:on("connection", function(s)
  local pport, pip = s:getpeer()
  show("client peer", pport == sport, pip)
  local lport, lip = s:getaddr()
  show("client addr", math.type(lport), lip)
  s:send(tostring(lport))
end)
sk:on("disconnection", function(s, e)
  show("after", e, s:getpeer())
  show("after addr", s:getaddr())
  srv:close()
end)
sk:connect(sport, "127.0.0.1")
"##,
    )
    .run();
    out.assert_success().assert_lines(&[
        "3 listening integer 127.0.0.1",
        "3 client peer true 127.0.0.1",
        "3 client addr integer 127.0.0.1",
        "4 server peer true integer 127.0.0.1",
        "3 server addr true 127.0.0.1",
        "4 after 0 nil nil",
        "3 after addr nil nil",
    ]);
}

/// `ttl([n])` sets and reads the IP TTL of a connected socket.
#[test]
fn ttl_get_and_set() {
    Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) end)
local sk = net.createConnection()
sk:on("connection", function(s)
  local default = s:ttl()
  check(math.type(default) == "integer" and default > 0 and default <= 255, "default ttl " .. tostring(default))
  eq(s:ttl(7), 7, "ttl(7)")
  eq(s:ttl(), 7, "ttl() after ttl(7)")
  eq(s:ttl(200), 200, "ttl(200)")
  eq(s:ttl(), 200, "ttl() after ttl(200)")
  s:close() srv:close()
  print("ok")
end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// `hold()` stops `receive`; `unhold()` resumes it and nothing sent meanwhile is lost.
#[test]
fn hold_stops_receiving_and_unhold_resumes_without_loss() {
    let out = Script::new(
        r##"
local parts = {}
for i = 1, 512 do parts[i] = ("%07d:"):format(i) .. ("abcdefgh"):rep(255) end
local payload = table.concat(parts) -- about 1 MiB
local srv = net.createServer()
local client
srv:listen(0, "127.0.0.1", function(c)
  c:on("receive", function(s, d)
    check(d == "go", "server got " .. d)
    for _, p in ipairs(parts) do s:send(p) end
    tmr.create():alarm(300, tmr.ALARM_SINGLE, function()
      show("received while held", #table.concat(client.got))
      client.sock:unhold()
    end)
  end)
end)
local sk = net.createConnection()
client = { sock = sk, got = {} }
sk:on("connection", function(s)
  s:hold()
  s:send("go")
end)
sk:on("receive", function(s, d)
  client.got[#client.got + 1] = d
  local all = table.concat(client.got)
  if #all >= #payload then
    show("intact", all == payload)
    s:close()
    srv:close()
  end
end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
    )
    .run();
    out.assert_success().assert_lines(&["2 received while held 0", "2 intact true"]);
}

/// `close()` during a name lookup, then `connect()` elsewhere: the first lookup's answer
/// must not connect the socket (to the first port).
#[test]
fn a_superseded_lookup_does_not_connect() {
    Script::new(
        r##"
local function server(name)
  local srv = net.createServer()
  srv:listen(0, "127.0.0.1", function(c) print(name .. " server got the connection") c:close() end)
  return srv, (srv:getaddr())
end
local s1, p1 = server("first")
local s2, p2 = server("second")
local sk = net.createConnection()
sk:on("disconnection", function() s1:close() s2:close() end)
sk:connect(p1, "localhost")
sk:close()
sk:connect(p2, "localhost")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["second server got the connection"]);
}

/// `hold()` without a connection does nothing (the hold belongs to a connection), so
/// the next connection reads normally.
#[test]
fn hold_before_connect_is_a_no_op() {
    Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c) c:send("welcome") end)
local sk = net.createConnection()
sk:hold()
sk:on("receive", function(s, d) print(d) s:close() srv:close() end)
sk:connect((srv:getaddr()), "127.0.0.1")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["welcome"]);
}

/// The same socket object connects again after being refused and after a disconnection
/// (not possible in the espconn era, #1308).
#[test]
fn the_same_socket_reconnects() {
    let out = Script::new(
        r##"
local port = tonumber(arg[1])
local srv = net.createServer()
local round = 0
local sk = net.createConnection()
sk:on("reconnection", function(s, e)
  show("refused", e)
  srv:listen(port, "127.0.0.1", function(c)
    c:on("receive", function(x, d) print("server got " .. d) x:close() end)
  end)
  s:connect(port, "127.0.0.1")
end)
sk:on("connection", function(s)
  round = round + 1
  s:send("round " .. round)
end)
sk:on("disconnection", function(s, e)
  show("disconnection", round, e)
  if round < 3 then s:connect(port) else srv:close() end -- the host defaults to 127.0.0.1
end)
sk:connect(port, "127.0.0.1")
"##,
    )
    .arg(closed_port())
    .run();
    out.assert_success().assert_lines(&[
        "2 refused -9",
        "server got round 1",
        "3 disconnection 1 0",
        "server got round 2",
        "3 disconnection 2 0",
        "server got round 3",
        "3 disconnection 3 0",
    ]);
}

/// Decision 2: a connecting socket, a listening server, a bound UDP socket and an armed
/// timer all survive the script dropping them and collecting garbage.
#[test]
fn pending_objects_are_anchored() {
    let out = Script::new(
        r##"
do
  local srv = net.createServer()
  srv:listen(0, "127.0.0.1", function(c) c:on("receive", function(s, d) s:send("pong " .. d) end) end)
  PORT = srv:getaddr()
  local u = net.createUDPSocket()
  u:listen(0, "127.0.0.1")
  u:on("receive", function(s, d) print("udp got " .. d) os.exit(0) end)
  UPORT = u:getaddr()
end
collectgarbage() collectgarbage()
local function udp()
  local v = net.createUDPSocket()
  v:send(UPORT, "127.0.0.1", "still here")
end
local function timer()
  do
    local t = tmr.create()
    t:alarm(50, tmr.ALARM_SINGLE, function() print("timer fired") udp() end)
  end
  collectgarbage() collectgarbage()
end
do
  local sk = net.createConnection()
  sk:on("connection", function(s) s:send("1") end)
  sk:on("receive", function(s, d) print("client got " .. d) timer() end)
  sk:connect(PORT, "127.0.0.1")
end
collectgarbage() collectgarbage()
"##,
    )
    .run();
    out.assert_success().assert_lines(&["client got pong 1", "timer fired", "udp got still here"]);
}

/// Decision 2: a held socket is still a connected socket: dropping it does not close it.
#[test]
fn a_held_socket_stays_anchored() {
    let out = Script::new(
        r##"
local srv = net.createServer()
local first
srv:listen(0, "127.0.0.1", function(c)
  if not first then
    first = c
    c:on("disconnection", function(s, e) show("held client went away", e) end)
  else
    c:on("receive", function(s, d)
      -- The held client's FIN, had it been collected, arrived long before this probe.
      tmr.create():alarm(300, tmr.ALARM_SINGLE, function() print("probe " .. d) os.exit(0) end)
    end)
  end
end)
local port = srv:getaddr()
do
  local sk = net.createConnection()
  sk:on("connection", function(s)
    s:hold()
    tmr.create():alarm(20, tmr.ALARM_SINGLE, function()
      collectgarbage() collectgarbage()
      local p = net.createConnection()
      p:on("connection", function(q) q:send("sent") end)
      p:connect(port, "127.0.0.1")
    end)
  end)
  sk:connect(port, "127.0.0.1")
end
"##,
    )
    .run();
    out.assert_success().assert_lines(&["probe sent"]);
}

// ---------------------------------------------------------------- servers

/// `listen([port], [ip], cb)`: positional arguments, defaults (random port, 0.0.0.0),
/// a numeric string as the port; `getaddr` is `port, ip`, `nil, nil` when not listening.
#[test]
fn server_listen_argument_forms() {
    let out = Script::new(
        r##"
local fixed = tonumber(arg[1])
local function addr(...)
  local srv = net.createServer()
  show("before", srv:getaddr())
  srv:listen(...)
  local port, ip = srv:getaddr()
  srv:close()
  show("after close", srv:getaddr())
  return port, ip
end
local cb = function() end
local p, ip = addr(cb)
show("cb only", math.type(p), p > 0, ip)
p, ip = addr(fixed, cb)
show("port", p == fixed, ip)
p, ip = addr(tostring(fixed), cb)
show("port string", p == fixed, ip)
p, ip = addr(fixed, "127.0.0.1", cb)
show("port ip", p == fixed, ip)
p, ip = addr("127.0.0.1", cb)
show("ip only", p > 0, ip)
p, ip = addr(0, "127.0.0.1", cb)
show("port 0", p > 0 and p ~= fixed, ip)
"##,
    )
    .arg(closed_port())
    .run();
    let mut want = Vec::new();
    for l in [
        "4 cb only integer true 0.0.0.0",
        "3 port true 0.0.0.0",
        "3 port string true 0.0.0.0",
        "3 port ip true 127.0.0.1",
        "3 ip only true 127.0.0.1",
        "3 port 0 true 127.0.0.1",
    ] {
        want.extend(["3 before nil nil", "3 after close nil nil", l]);
    }
    out.assert_success().assert_lines(&want);
}

/// The server's raised errors: "need callback", "invalid IP address", "already
/// listening", "address in use", and `close()` on a server not listening.
#[test]
fn server_errors() {
    Script::new(
        r##"
local srv = net.createServer()
raises("not connected", function() srv:close() end)
raises("need callback", function() srv:listen(0, "127.0.0.1") end)
raises("need callback", function() srv:listen() end)
raises("invalid IP address", function() srv:listen(0, "not-an-ip", print) end)
raises("invalid IP address", function() srv:listen(0, "300.1.1.1", print) end)
srv:listen(0, "127.0.0.1", print)
raises("already listening", function() srv:listen(0, "127.0.0.1", print) end)
local port = srv:getaddr()
local other = net.createServer()
raises("address in use", function() other:listen(port, "127.0.0.1", print) end)
srv:close()
raises("not connected", function() srv:close() end)
-- The port is free again: the same object and another both listen.
other:listen(port, "127.0.0.1", print)
other:close()
srv:listen(port, "127.0.0.1", print)
srv:close()
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// An accepted socket's "connection" event fires right after the listen callback that
/// registered it; a client's "connection" never fires inside `connect`, and
/// `connect(port, ip, fn)` registers `fn` for it. Closing the server leaves accepted
/// sockets open.
#[test]
fn connection_events_and_server_close_keeps_accepted_sockets() {
    let out = Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "127.0.0.1", function(c)
  print("listen callback")
  c:on("connection", function(s)
    show("accepted connection event", s == c)
    srv:close()
    show("server closed", srv:getaddr())
  end)
  c:on("receive", function(s, d) s:send("echo " .. d) end)
end)
local port = srv:getaddr()
local sk = net.createConnection()
sk:on("receive", function(s, d)
  print("client got " .. d)
  s:close()
  local late = net.createConnection()
  late:on("reconnection", function(x, e) show("new client after server close", e) end)
  late:connect(port, "127.0.0.1")
end)
sk:connect(port, "127.0.0.1", function(s)
  show("connect callback", s == sk)
  s:send("hi")
end)
print("connect returned")
"##,
    )
    .run();
    out.assert_success();
    // The client's connection and the server's accept are ready at the same time and may
    // be served in either order; the server's three lines stay together.
    let mut lines = out.lines();
    let at = lines.iter().position(|l| *l == "2 connect callback true");
    assert!(matches!(at, Some(1 | 4)), "{}", out.describe());
    lines.remove(at.unwrap_or(0));
    assert_eq!(
        lines,
        [
            "connect returned",
            "listen callback",
            "2 accepted connection event true",
            "3 server closed nil nil",
            "client got echo hi",
            "2 new client after server close -9",
        ],
        "{}",
        out.describe()
    );
}

/// Reads the kernel's timer for the server end of a loopback connection from
/// /proc/net/tcp: (timer kind, clock ticks until it fires). Kind 2 is the keepalive timer.
fn tcp_timer(server_port: u16, client_port: u16) -> Option<(u32, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{server_port:04X}");
    let remote = format!(":{client_port:04X}");
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 5 && f[1].ends_with(&local) && f[2].ends_with(&remote) {
            let (kind, when) = f[5].split_once(':')?;
            Some((kind.parse().ok()?, u64::from_str_radix(when, 16).ok()?))
        } else {
            None
        }
    })
}

/// Decision 8: `createServer([type,] timeout)` sets TCP keepalive on accepted sockets
/// with `TCP_KEEPIDLE = timeout`; two arguments are (type, timeout), one is the timeout,
/// none is 30 s. Checked from outside via the kernel's keepalive timer (scripts cannot
/// read socket options).
#[test]
fn create_server_forms_set_the_keepalive_timeout() {
    if std::fs::read_to_string("/proc/net/tcp").is_err() {
        eprintln!("skipped: no /proc/net/tcp to read keepalive timers from");
        return;
    }
    let mut script = Script::new(
        r##"
local servers = { net.createServer(), net.createServer(600), net.createServer(net.TCP, 300) }
local accepted = 0
for i, srv in ipairs(servers) do
  srv:listen(0, "127.0.0.1", function(c)
    accepted = accepted + 1
    if accepted == #servers then print("accepted all") end
    c:on("disconnection", function()
      srv:close()
      accepted = accepted - 1
      if accepted == 0 then print("done") end
    end)
  end)
  print("port " .. srv:getaddr())
end
"##,
    )
    .spawn();
    // Per server: its timeout, and the kernel's keepalive countdown (USER_HZ ticks) it must
    // show: at most the full idle time, and more than any wrong reading of the arguments
    // would give (1 s for net.TCP taken as the timeout, 30 s for the default, 300 s).
    let expected = [(30u64, 100u64), (600, 30000), (300, 3000)];
    let ports: Vec<u16> = expected.iter().map(|_| script.expect_num("port")).collect();
    let clients: Vec<std::net::TcpStream> =
        ports.iter().map(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).expect("connect")).collect();
    script.expect("accepted all");
    for ((port, client), (timeout, above)) in ports.iter().zip(&clients).zip(expected) {
        let cport = client.local_addr().expect("local addr").port();
        let (kind, when) = tcp_timer(*port, cport).expect("the accepted socket in /proc/net/tcp");
        assert_eq!(kind, 2, "server with timeout {timeout}: no keepalive timer armed");
        assert!(
            when <= timeout * 100 && when > above,
            "server with timeout {timeout}: keepalive fires in {when} ticks"
        );
    }
    drop(clients);
    script.expect("done");
    script.wait().assert_success();
}

/// A server holds 1,000 concurrent clients (python3 raises its own descriptor limit;
/// rlua-net, started with a soft limit of 256, raises its own): every client is answered
/// while all are connected.
#[test]
fn a_server_holds_a_thousand_concurrent_clients() {
    let mut server = Script::new(
        r##"
local srv = net.createServer(net.TCP, 60)
local live, peak, served = 0, 0, 0
srv:listen(0, "127.0.0.1", function(c)
  live = live + 1
  if live > peak then peak = live end
  local buf = ""
  c:on("receive", function(s, d)
    buf = buf .. d
    if buf:sub(-1) == "\n" then
      served = served + 1
      s:send("ok " .. buf)
    end
  end)
  c:on("disconnection", function(s, e)
    live = live - 1
    if live == 0 then
      show("peak", peak, served)
      srv:close()
    end
  end)
end)
print("port " .. srv:getaddr())
"##,
    )
    .soft_nofile(256)
    .spawn();
    let port = server.expect_num("port");
    let clients = python(
        r##"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 1000 + 64
if soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want if hard == resource.RLIM_INFINITY else min(want, hard), hard))
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
for i, s in enumerate(socks):
    s.sendall(b"%d\n" % i)
bad = 0
for i, s in enumerate(socks):
    want = b"ok %d\n" % i
    got = b""
    while len(got) < len(want):
        d = s.recv(100)
        if not d:
            break
        got += d
    bad += got != want
print("answered", 1000 - bad)
for s in socks:
    s.close()
"##,
        &[port.to_string()],
    )
    .wait();
    clients.assert_success();
    assert!(clients.stdout.contains("answered 1000"), "{}", clients.describe());
    let out = server.wait();
    out.assert_success();
    assert_eq!(out.lines().last(), Some(&"3 peak 1000 1000"), "{}", out.describe());
}

// ---------------------------------------------------------------- UDP

/// Decision 11: UDP `receive` is `(sock, data, port, ip)`; `send(port, ip, data)`
/// answers the peer, and `sent` fires before `send` returns.
#[test]
fn udp_receive_argument_order_and_synchronous_sent() {
    let mut lua = Script::new(
        r##"
local u = net.createUDPSocket()
u:listen(0, "127.0.0.1")
show("udp", u:getaddr())
u:on("receive", function(s, data, port, ip)
  show("receive", s == u, data, math.type(port), ip)
  print("from " .. port)
  s:on("sent", function(x) show("sent", x == u) end)
  print("before send")
  s:send(port, ip, "echo " .. data)
  print("after send")
  s:close()
end)
"##,
    )
    .spawn();
    let port = lua.expect_num("3 udp");
    let peer = python(
        r##"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(50)
s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
print("me", s.getsockname()[1])
print("got", s.recvfrom(100)[0].decode())
"##,
        &[port.to_string()],
    )
    .wait();
    let me = peer.field("me")[0].to_string();
    assert_eq!(peer.field("got"), ["echo", "ping"], "{}", peer.describe());
    let out = lua.wait();
    out.assert_success();
    assert_eq!(
        out.lines()[1..],
        ["5 receive true ping integer 127.0.0.1", &format!("from {me}"), "before send", "2 sent true", "after send"],
        "{}",
        out.describe()
    );
}

/// UDP argument forms and errors: "need port", "invalid IP address", "no data to send",
/// "already listening" (also after a `send` auto-bound it), "not connected", ttl.
#[test]
fn udp_listen_send_and_errors() {
    let out = Script::new(
        r##"
local u = net.createUDPSocket()
show("unbound", u:getaddr())
raises("not connected", function() u:close() end)
raises("socket is not open/bound yet", function() u:ttl() end)
raises("need port", function() u:send(0, "127.0.0.1", "x") end)
raises("invalid IP address", function() u:send(9, "localhost", "x") end)
raises("invalid IP address", function() u:send(9, "1.2.3", "x") end)
raises("no data to send", function() u:send(9, "127.0.0.1", "") end)
raises("invalid callback name", function() u:on("connection", print) end)
raises("invalid callback name", function() u:on("disconnection", print) end)
raises("invalid callback function", function() u:on("receive", 5) end)
raises("no callback specified", function() u:dns("localhost") end)
local events = {}
u:on("sent", function(s) events[#events + 1] = "sent" end)
u:send(9, "127.0.0.1", "x")
events[#events + 1] = "returned"
print(table.concat(events, " "))
local p, ip = u:getaddr()
show("auto-bound", math.type(p), p > 0, ip)
raises("already listening", function() u:listen(0, "127.0.0.1") end)
raises("already listening", function() u:listen() end)
local default = u:ttl()
check(math.type(default) == "integer" and default > 0, "default ttl")
eq(u:ttl(9), 9, "ttl(9)")
eq(u:ttl(), 9, "ttl()")
u:close()
raises("not connected", function() u:close() end)
-- listen forms: no arguments, a port, an address, both; a bad address.
local fixed = tonumber(arg[1])
local function bound(...)
  local s = net.createUDPSocket()
  s:listen(...)
  local port, addr = s:getaddr()
  s:close()
  return port, addr
end
p, ip = bound()
show("none", p > 0, ip)
p, ip = bound(fixed)
show("port", p == fixed, ip)
p, ip = bound(tostring(fixed))
show("port string", p == fixed, ip)
p, ip = bound("127.0.0.1")
show("ip", p > 0, ip)
p, ip = bound(fixed, "127.0.0.1")
show("both", p == fixed, ip)
local bad = net.createUDPSocket()
raises("invalid IP address", function() bad:listen(0, "nope") end)
"##,
    )
    .arg(closed_port())
    .run();
    out.assert_success().assert_lines(&[
        "3 unbound nil nil",
        "sent returned",
        "4 auto-bound integer true 0.0.0.0",
        "3 none true 0.0.0.0",
        "3 port true 0.0.0.0",
        "3 port string true 0.0.0.0",
        "3 ip true 127.0.0.1",
        "3 both true 127.0.0.1",
    ]);
}

/// Binding to an address this machine does not have raises lwIP's "routing problem"
/// (a documentation address, unless the kernel allows non-local binds).
#[test]
fn listen_on_a_foreign_address_is_a_routing_problem() {
    if std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind").is_ok_and(|v| v.trim() != "0") {
        eprintln!("skipped: this kernel allows binding to non-local addresses");
        return;
    }
    Script::new(
        r##"
local srv = net.createServer()
raises("routing problem", function() srv:listen(0, "203.0.113.77", print) end)
show("server", srv:getaddr())
local u = net.createUDPSocket()
raises("routing problem", function() u:listen(0, "203.0.113.77") end)
show("udp", u:getaddr())
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["3 server nil nil", "3 udp nil nil"]);
}

/// A datagram arrives whole, in one `receive`, however large.
#[test]
fn udp_datagram_arrives_whole() {
    Script::new(
        r##"
local u = net.createUDPSocket()
u:listen(0, "127.0.0.1")
local want = ("0123456789"):rep(6000)
u:on("receive", function(s, d) show("receive", #d, d == want) s:close() end)
local v = net.createUDPSocket()
v:send((u:getaddr()), "127.0.0.1", want)
v:close()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["3 receive 60000 true"]);
}

/// A bind that fails is raised with the firmware's wording, at the script's line.
#[test]
fn udp_bind_failure_is_address_in_use() {
    Script::new(
        r##"
local u = net.createUDPSocket()
u:listen(0, "127.0.0.1")
local v = net.createUDPSocket()
raises("address in use", function() v:listen((u:getaddr()), "127.0.0.1") end)
show("unbound after failure", v:getaddr())
u:close()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["3 unbound after failure nil nil"]);
}

/// UDP sockets may send to a broadcast address without asking (lwIP does not need
/// SO_BROADCAST; discovery scripts rely on it). The loopback's broadcast address keeps
/// the datagram on this machine.
#[test]
fn udp_broadcast_send_is_allowed() {
    Script::new(
        r##"
local u = net.createUDPSocket()
u:listen(0, "0.0.0.0")
u:on("receive", function(s, d, port, ip) show("receive", d, ip) s:close() end)
local v = net.createUDPSocket()
v:send((u:getaddr()), "127.255.255.255", "to everyone")
v:close()
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["3 receive to everyone 127.0.0.1"]);
}

/// A TCP connect the kernel cannot route (the broadcast address) reports -4.
#[test]
fn unroutable_connect_reports_minus_four() {
    Script::new(
        r##"
local sk = net.createConnection()
sk:on("disconnection", function(s, e) show("disconnection", s == sk, e) end)
sk:connect(80, "255.255.255.255")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["3 disconnection true -4"]);
}

// ---------------------------------------------------------------- DNS

/// `net.dns.resolve` calls `cb(nil, ip)` (the first argument is always nil), at once for
/// an IP literal, later for a name, with `nil` for a name that does not resolve.
/// `sock:dns` calls `cb(sock, ip)`; its handler is kept as the `dns` event. Decision 7:
/// `connect` to a name that fails fires `dns(sock, nil)`, then -4.
#[test]
fn dns_callback_shapes() {
    let out = Script::new(
        r##"
local function connect_failing()
  local a = net.createConnection()
  a:on("dns", function(s, ip) show("a dns", s == a, ip) end)
  a:on("disconnection", function(s, e) show("a disconnection", s == a, e) end)
  a:connect(80, "nosuchhost.invalid")
  local b = net.createConnection()
  b:on("reconnection", function(s, e) show("b reconnection", s == b, e) end)
  b:connect(80, "nosuchhost.invalid")
end
local function connect_literal()
  local srv = net.createServer()
  srv:listen(0, "127.0.0.1", function() end)
  local sk = net.createConnection()
  sk:on("dns", function(s, ip) show("connect dns", s == sk, ip) end)
  sk:on("connection", function(s) print("connected") s:close() srv:close() connect_failing() end)
  sk:connect((srv:getaddr()), "127.0.0.1")
  print("connect returned")
end
local function udp()
  local u = net.createUDPSocket()
  u:dns("localhost", function(s, ip) show("udp dns", s == u, ip) connect_literal() end)
end
local function sock()
  local sk = net.createConnection()
  sk:dns("127.0.0.1", function(s, ip) show("sock dns literal", s == sk, ip) end)
  print("sock dns returned")
  local again = false
  sk:dns("nosuchhost.invalid", function(s, ip)
    show("sock dns", s == sk, ip)
    if again then
      udp()
    else
      again = true
      sk:dns("localhost") -- the handler given last is kept
    end
  end)
end
raises("bad argument #2 to 'resolve' (function expected, got no value)", function() net.dns.resolve("localhost") end)
show("literal returned", net.dns.resolve("127.0.0.1", function(...) show("literal", ...) end))
net.dns.resolve("localhost", function(...)
  show("localhost", ...)
  net.dns.resolve("nosuchhost.invalid", function(...)
    show("failing", ...)
    sock()
  end)
end)
print("localhost returned")
"##,
    )
    .run();
    out.assert_success();
    let lines = out.lines();
    let (head, tail) = lines.split_at(lines.len().min(13));
    assert_eq!(
        head,
        [
            "3 literal nil 127.0.0.1",
            "1 literal returned",
            "localhost returned",
            "3 localhost nil 127.0.0.1",
            "3 failing nil nil",
            "3 sock dns literal true 127.0.0.1",
            "sock dns returned",
            "3 sock dns true nil",
            "3 sock dns true 127.0.0.1",
            "3 udp dns true 127.0.0.1",
            "3 connect dns true 127.0.0.1",
            "connect returned",
            "connected",
        ],
        "{}",
        out.describe()
    );
    // The two failing connects end in either order; for each, `dns` comes first.
    let pos = |l: &str| tail.iter().position(|t| *t == l);
    let (a_dns, a_end, b_end) =
        (pos("3 a dns true nil"), pos("3 a disconnection true -4"), pos("3 b reconnection true -4"));
    assert!(tail.len() == 3 && a_dns < a_end && a_dns.is_some() && b_end.is_some(), "{}", out.describe());
}

/// `getdnsserver([i])` reports the system's servers (nil when unset);
/// `setdnsserver(ip, [i])` stores one; both check the index and the address.
#[test]
fn dns_servers_get_and_set() {
    let system: Vec<String> = std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver").map(|r| r.trim().to_string()))
        .collect();
    let first = system.first().cloned().unwrap_or_else(|| "none".into());
    let second = system.get(1).cloned().unwrap_or_else(|| "none".into());
    Script::new(
        r##"
local function want(s) if s ~= "none" then return s end end
eq(net.dns.getdnsserver(), want(arg[1]), "getdnsserver()")
eq(net.dns.getdnsserver(0), want(arg[1]), "getdnsserver(0)")
eq(net.dns.getdnsserver(1), want(arg[2]), "getdnsserver(1)")
raises("server index out of range [0-1]", function() net.dns.getdnsserver(2) end)
raises("server index out of range [0-1]", function() net.dns.getdnsserver(-1) end)
raises("invalid dns server ip", function() net.dns.setdnsserver("0.0.0.0") end)
raises("invalid dns server ip", function() net.dns.setdnsserver("dns.example") end)
raises("invalid dns server ip", function() net.dns.setdnsserver("1.2.3.4.5.6.7.8.9") end)
raises("invalid dns server ip", function() net.dns.setdnsserver("300.1.1.1") end)
raises("server index out of range [0-1]", function() net.dns.setdnsserver("8.8.8.8", 2) end)
show("set", net.dns.setdnsserver("192.0.2.53", 1))
eq(net.dns.getdnsserver(1), "192.0.2.53", "after setdnsserver(ip, 1)")
net.dns.setdnsserver("192.0.2.54")
eq(net.dns.getdnsserver(0), "192.0.2.54", "after setdnsserver(ip)")
eq(net.dns.getdnsserver(1), "192.0.2.53", "index 1 kept")
"##,
    )
    .arg(first)
    .arg(second)
    .run()
    .assert_success()
    .assert_lines(&["1 set"]);
}

// ---------------------------------------------------------------- interfaces, multicast

/// `net.ifinfo([i])`: a table with `ip`, `netmask` and a 6-byte `hwaddr` for 0 (the
/// station) and 1 (the access point); no values for any other index.
#[test]
fn ifinfo_shapes() {
    Script::new(
        r##"
local function dotted(s) return type(s) == "string" and s:match("^%d+%.%d+%.%d+%.%d+$") ~= nil end
for _, t in ipairs { { net.ifinfo() }, { net.ifinfo(0) }, { net.ifinfo(1) } } do
  eq(#t, 1, "one value")
  local i = t[1]
  eq(type(i), "table", "ifinfo type")
  check(dotted(i.ip), "ip " .. tostring(i.ip))
  check(dotted(i.netmask), "netmask " .. tostring(i.netmask))
  check(type(i.hwaddr) == "string" and #i.hwaddr == 6, "hwaddr of 6 raw bytes")
  check(i.gateway == nil or dotted(i.gateway), "gateway")
end
eq(net.ifinfo().ip, net.ifinfo(0).ip, "default index is 0")
eq(select("#", net.ifinfo(2)), 0, "ifinfo(2) values")
eq(select("#", net.ifinfo(-1)), 0, "ifinfo(-1) values")
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// `multicastJoin/Leave(if_ip, mc_ip)`: "" and "any" mean every interface; other
/// arguments are checked with the firmware's messages.
#[test]
fn multicast_argument_errors() {
    Script::new(
        r##"
local u = net.createUDPSocket()
u:listen(0, "0.0.0.0")
for _, f in ipairs { net.multicastJoin, net.multicastLeave } do
  raises("wrong arg type", function() f(nil, "239.1.2.3") end)
  raises("wrong arg type", function() f(true, "239.1.2.3") end)
  raises("wrong arg type", function() f("any", {}) end)
  raises("wrong arg type", function() f("any") end)
  -- Numbers pass as strings (lua_isstring), then fail the address check.
  raises("invalid if ip", function() f(5, "239.1.2.3") end)
  raises("invalid multicast ip", function() f("any", 239) end)
  raises("invalid if ip", function() f("1.2.3", "239.1.2.3") end)
  raises("invalid if ip", function() f("192.168.100.100.1", "239.1.2.3") end)
  raises("invalid if ip", function() f("eth0-addr", "239.1.2.3") end)
  raises("invalid multicast ip", function() f("any", "239.1") end)
  raises("invalid multicast ip", function() f("", "239.255.255.255.1") end)
end
eq(select("#", net.multicastJoin("any", "239.1.2.3")), 0, "join returns nothing")
eq(select("#", net.multicastJoin("", "239.1.2.4")), 0, "join '' returns nothing")
eq(select("#", net.multicastLeave("ANY", "239.1.2.3")), 0, "leave returns nothing")
eq(select("#", net.multicastLeave("", "239.1.2.4")), 0, "leave '' returns nothing")
u:close()
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

// ---------------------------------------------------------------- module shape, IPv6

/// Constants, object kinds, and decision 9: `createConnection` ignores its arguments.
#[test]
fn module_constants_and_object_kinds() {
    Script::new(
        r##"
eq(net.TCP, 1, "net.TCP")
eq(net.UDP, 2, "net.UDP")
eq(net.cert, tls.cert, "net.cert is tls.cert")
local function kind(o) return tostring(o):match("^(.-):") end
eq(kind(net.createConnection()), "net.tcpsocket", "createConnection()")
eq(kind(net.createConnection(net.UDP)), "net.tcpsocket", "createConnection(net.UDP)")
eq(kind(net.createConnection(net.TCP, 1)), "net.tcpsocket", "createConnection(net.TCP, 1)")
eq(kind(net.createServer()), "net.tcpserver", "createServer()")
eq(kind(net.createServer(net.TCP, 30)), "net.tcpserver", "createServer(net.TCP, 30)")
eq(kind(net.createUDPSocket()), "net.udpsocket", "createUDPSocket()")
local sk = net.createConnection(net.TCP, 1)
for _, m in ipairs { "connect", "close", "on", "send", "hold", "unhold", "dns", "ttl", "getpeer", "getaddr" } do
  eq(type(sk[m]), "function", "net.socket:" .. m)
end
local u = net.createUDPSocket()
for _, m in ipairs { "listen", "close", "on", "send", "dns", "ttl", "getaddr" } do
  eq(type(u[m]), "function", "net.udpsocket:" .. m)
end
local srv = net.createServer()
for _, m in ipairs { "listen", "getaddr", "close" } do
  eq(type(srv[m]), "function", "net.server:" .. m)
end
print("ok")
"##,
    )
    .run()
    .assert_success()
    .assert_lines(&["ok"]);
}

/// Decision 13: IPv6 host strings work for TCP listen/connect and UDP.
#[test]
fn ipv6_loopback_for_tcp_and_udp() {
    if !have_ipv6_loopback() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let out = Script::new(
        r##"
local srv = net.createServer()
srv:listen(0, "::1", function(c)
  show("accepted from", c:getpeer() ~= nil, select(2, c:getpeer()))
  c:on("receive", function(s, d) s:send("echo " .. d) end)
end)
local port, ip = srv:getaddr()
show("listening", ip)
local sk = net.createConnection()
sk:on("connection", function(s)
  show("peer", s:getpeer() == port, select(2, s:getpeer()))
  show("addr", select(2, s:getaddr()))
  s:send("six")
end)
sk:on("receive", function(s, d)
  print("got " .. d)
  s:close()
  srv:close()
  local u = net.createUDPSocket()
  u:listen(0, "::1")
  u:on("receive", function(x, data, p, from) show("udp", data, from) x:close() end)
  local v = net.createUDPSocket()
  v:send((u:getaddr()), "::1", "datagram")
  v:close()
end)
sk:connect(port, "::1")
"##,
    )
    .run();
    out.assert_success();
    let mut lines = out.lines();
    // The server's accept and the client's connection event may come in either order.
    lines[1..4].sort();
    assert_eq!(
        lines,
        [
            "2 listening ::1",
            "2 addr ::1",
            "3 accepted from true ::1",
            "3 peer true ::1",
            "got echo six",
            "3 udp datagram ::1"
        ],
        "{}",
        out.describe()
    );
}
