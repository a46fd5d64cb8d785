//! The Pragtical `net` module (`--dialect pragtical`): addresses, TCP clients and servers,
//! UDP, TLS, closed objects and argument errors, against real peers on the loopback
//! (python3, `openssl s_server`, and sockets of the same script). Contract:
//! /work/shared/specs/pragtical.md ("Decisions for rlua-net" and A.2-A.5).

mod pragtical_support;

use pragtical_support::{Certs, Script, closed_tcp_port, free_udp_port, have_ipv6_loopback, python, run};

/// A peer that echoes what it receives until it has `argv[1]` bytes, then closes.
const ECHO_THEN_CLOSE: &str = r##"
import socket, sys
want = int(sys.argv[1])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
seen = 0
while seen < want:
    d = c.recv(65536)
    if not d: break
    seen += len(d)
    c.sendall(d)
c.close()
print("echoed", seen)
"##;

// ---------------------------------------------------------------- addresses

/// An IP literal resolves (decision 5 allows "success" straight away); surrounding
/// whitespace is trimmed as SDL does; hostname and `tostring` are the (trimmed) string given.
#[test]
fn an_ip_literal_resolves() {
    run(r##"
local a = net.resolve_address("127.0.0.1")
eq(getmetatable(a).__name, "NetAddress")
show(a:wait_until_resolved(-1))
show(a:get_status())
show(a:wait_until_resolved())
show(a:get_ip(), a:get_hostname(), tostring(a))
local t = net.resolve_address("  ::1 ")
show(t:wait_until_resolved(1000), t:get_ip(), t:get_hostname())
"##)
    .ok()
    .stdout_is(&["1 success", "1 success", "1 success", "3 127.0.0.1 127.0.0.1 127.0.0.1", "3 success ::1 ::1"]);
}

/// A name starts "waiting" (the lookup runs on the DNS pool), then resolves; the
/// hostname stays the name, the IP is a loopback address.
#[test]
fn localhost_resolves_after_waiting() {
    run(r##"
local a = net.resolve_address("localhost")
show(a:get_status())
show(a:get_ip())
show(a:wait_until_resolved(-1))
local ip = a:get_ip()
check(ip == "127.0.0.1" or ip == "::1", "a loopback address: " .. tostring(ip))
show(a:get_hostname(), tostring(a))
show(a:get_status())
"##)
    .ok()
    .stdout_is(&["1 waiting", "1 nil", "1 success", "2 localhost localhost", "1 success"]);
}

/// A name that cannot exist: "failure" with the resolver's message, no IP, and the
/// address cannot be used.
#[test]
fn a_name_under_invalid_fails_to_resolve() {
    run(r##"
local a = net.resolve_address("no-such-host.invalid")
show(a:get_status())
local st, err = a:wait_until_resolved(-1)
show(st, type(err))
check(#err > 0, "an error message")
show(a:get_status() == "failure", select(2, a:get_status()) == err)
show(a:get_ip())
show(a:get_hostname())
show(net.open_tcp(a, 80))
show(net.open_udp(a, 0))
"##)
    .ok()
    .stdout_is(&[
        "1 waiting",
        "2 failure string",
        "2 true true",
        "1 nil",
        "1 no-such-host.invalid",
        "2 nil Address is not resolved",
        "2 nil Address is not resolved",
    ]);
}

/// Constructors given an address still resolving return `nil, "Address is not resolved"`
/// (A.3 item 5), and so does `udp:send` (as `false, msg`).
#[test]
fn an_unresolved_address_is_refused_by_every_constructor() {
    run(r##"
local a = net.resolve_address("localhost")
eq(a:get_status(), "waiting")
show(net.open_tcp(a, 80))
show(net.open_tcp(a, 80, true))
show(net.open_udp(a, 0))
show(net.create_server(a, 0))
local u = net.open_udp(net.resolve_address("127.0.0.1"), 0)
show(u:send(a, 9, "x"))
"##)
    .ok()
    .stdout_is(&[
        "2 nil Address is not resolved",
        "2 nil Address is not resolved",
        "2 nil Address is not resolved",
        "2 nil Address is not resolved",
        "2 false Address is not resolved",
    ]);
}

/// `wait_until_resolved(0)` polls: called in a loop with `coroutine.yield` from a thread,
/// a name reaches "success" (plugin style).
#[test]
fn resolving_by_polling_from_a_thread() {
    run(r##"
core.add_thread(function()
  local a = net.resolve_address("localhost")
  -- The answer may already be there at the first poll (the lookup runs on another
  -- thread), so the number of polls is not checked: only that polling ends with it.
  while true do
    local st, err = a:wait_until_resolved(0)
    if st ~= "waiting" then show(st, err) break end
    coroutine.yield(0.01)
  end
  local ip = a:get_ip()
  show("ip", ip == "127.0.0.1" or ip == "::1")
end)
"##)
    .ok()
    .stdout_is(&["2 success nil", "2 ip true"]);
}

/// `get_local_addresses()`: an array of resolved `NetAddress`es whose hostname is the IP,
/// including 127.0.0.1.
#[test]
fn local_addresses_are_resolved_addresses() {
    run(r##"
local list = net.get_local_addresses()
check(type(list) == "table" and #list > 0, "a non-empty array")
local lo = false
for i, a in ipairs(list) do
  eq(getmetatable(a).__name, "NetAddress", "element " .. i)
  eq(a:get_status(), "success")
  eq(a:get_hostname(), a:get_ip())
  eq(tostring(a), a:get_ip())
  lo = lo or a:get_ip() == "127.0.0.1"
end
show(lo)
"##)
    .ok()
    .stdout_is(&["1 true"]);
}

// ---------------------------------------------------------------- TCP clients

/// A refused connect, seen by a thread polling `get_status()` (plugin style): "waiting"
/// until "failure" with the reason; after that `read` and `write` report errors too.
#[test]
fn a_refused_connect_is_reported_by_get_status() {
    Script::new(
        r##"
core.add_thread(function()
  local addr = net.resolve_address("127.0.0.1")
  local c = check(net.open_tcp(addr, tonumber(arg[1])))
  local st, err
  repeat
    st, err = c:get_status()
    if st == "waiting" then coroutine.yield(0.01) end
  until st ~= "waiting"
  show(st, err)
  show(c:wait_until_connected(0))
  local data, rerr = c:read(10)
  show(data, rerr)
  show(c:write("x"))
end)
"##,
    )
    .arg(closed_tcp_port())
    .run()
    .ok()
    .stdout_is(&[
        "2 failure Socket failed to connect: Connection refused",
        "2 failure Socket failed to connect: Connection refused",
        "2 nil Failed to read from socket: Connection refused",
        "2 nil Failed to write to socket: Connection refused",
    ]);
}

/// The data path in the synchronous (`pragtical run`) style: `write` returns byte counts,
/// `read` gives `""` when idle, all 256 byte values survive, the queue drains to 0, the end
/// of the stream is `nil, "End of stream"` and `get_status()` says so from then on.
#[test]
fn tcp_data_counts_binary_drain_and_end_of_stream() {
    let mut peer = python(ECHO_THEN_CLOSE, &["256"]);
    let port = peer.port("port ");
    Script::new(
        r##"
local c = check(net.open_tcp(net.resolve_address("127.0.0.1"), tonumber(arg[1])))
eq(getmetatable(c).__name, "NetTCP")
show(c:wait_until_connected(-1))
show(c:get_status())
show(c:read(100))
local bytes = {}
for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
local data = table.concat(bytes)
show(c:write(data:sub(1, 100)))
show(c:write(data:sub(101)))
show(c:write(""))
show(c:wait_until_drained(-1))
show(c:get_pending_writes())
local got = ""
while #got < 256 do
  local d, err = c:read(1000)
  if d == nil then fail(err) end
  if d == "" then system.sleep(0.005) end
  got = got .. d
end
show(got == data)
-- The peer closes after echoing 256 bytes.
local r = poll(function()
  local d, err = c:read(1000)
  if d ~= "" then return { d, err } end
end, "the end of the stream")
show(r[1], r[2])
show(c:read(1000))
show(c:get_status())
show(c:wait_until_connected(1000))
show(c:get_address():get_ip())
c:close()
"##,
    )
    .arg(port)
    .run()
    .ok()
    .stdout_is(&[
        "1 success",
        "1 success",
        "1 ",
        "1 100",
        "1 156",
        "1 0",
        "1 0",
        "1 0",
        "1 true",
        "2 nil End of stream",
        "2 nil End of stream",
        "2 failure End of stream",
        "2 failure End of stream",
        "1 127.0.0.1",
    ]);
    assert!(peer.finish().stdout.contains("echoed 256"));
}

/// Bytes written while the connect is still "waiting" are queued and sent once connected.
#[test]
fn data_written_while_connecting_is_sent_once_connected() {
    let mut peer = python(ECHO_THEN_CLOSE, &["5"]);
    let port = peer.port("port ");
    Script::new(
        r##"
local c = check(net.open_tcp(net.resolve_address("127.0.0.1"), tonumber(arg[1])))
show(c:get_status())
show(c:write("early"))
show(c:wait_until_drained(-1))
local got = poll(function() local d = c:read(100); return d ~= "" and d end, "the echo")
show(got)
"##,
    )
    .arg(port)
    .run()
    .ok()
    .stdout_is(&["1 waiting", "1 5", "1 0", "1 early"]);
    assert!(peer.finish().stdout.contains("echoed 5"));
}

/// `write` takes everything while the socket's queue has room and returns 0 ("retry
/// later") once it is full; the queue then drains to 0 as the peer reads.
#[test]
fn write_returns_zero_when_the_queue_is_full_and_the_queue_drains() {
    run(r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port())
show(c:wait_until_connected(-1))
local peer = poll(function() return server:accept() end, "the connection")
-- Nobody reads yet: the kernel's buffers and then the queue fill up.
local chunk = ("z"):rep(4 * 1024 * 1024)
local total, n = 0, nil
for _ = 1, 64 do
  n = c:write(chunk)
  if n == 0 then break end
  eq(n, #chunk, "write count")
  total = total + n
end
show("full", n)
check(c:get_pending_writes() > 0, "bytes queued")
check(c:wait_until_drained(0) > 0, "not drained yet")
check(c:wait_until_drained(20) > 0, "a bounded wait ends with bytes still queued")
local got = 0
core.add_thread(function()
  while got < total do
    local d = check(peer:read(1 << 20))
    got = got + #d
    if d == "" then coroutine.yield() end
  end
end)
show(c:wait_until_drained(-1))
show(c:get_pending_writes())
poll(function() return got == total end, "the peer to read everything")
show("received all", got == total)
"##)
    .ok()
    .stdout_is(&["1 success", "2 full 0", "1 0", "1 0", "2 received all true"]);
}

/// A connection the peer resets: `read` reports the error as `nil, msg` (never `""`
/// forever) and `get_status()` then says "failure" with the same message.
#[test]
fn a_reset_connection_is_reported_by_read_and_get_status() {
    run(r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port())
eq(c:wait_until_connected(-1), "success")
local peer = poll(function() return server:accept() end, "the connection")
local size = 8 * 1024 * 1024
eq(c:write(("r"):rep(size)), size)
-- Once the peer's kernel holds unread bytes, closing it answers with a reset.
poll(function() return c:get_pending_writes() < size end, "the kernel to take some bytes")
peer:close()
local r = poll(function()
  local d, err = c:read(100)
  if d ~= "" then return { d, err } end
end, "the reset")
show(r[1], r[2]:match("^Failed to read from socket: ") ~= nil)
local st, err = c:get_status()
show(st, err == r[2])
show(c:read(100) == nil)
"##)
    .ok()
    .stdout_is(&["2 nil true", "2 failure true", "1 true"]);
}

/// The plugin style of A.5 end to end: one `core.add_thread` thread resolves, connects,
/// writes, drains and reads with 0 timeouts, yielding between polls.
#[test]
fn a_plugin_style_thread_polls_everything_with_zero_timeouts() {
    let mut peer = python(ECHO_THEN_CLOSE, &["11"]);
    let port = peer.port("port ");
    Script::new(
        r##"
local port = tonumber(arg[1])
local polls = 0
local function wait(fn)
  while true do
    local st, err = fn()
    if st ~= "waiting" then return st, err end
    polls = polls + 1
    coroutine.yield(0.01)
  end
end
core.add_thread(function()
  local addr = net.resolve_address("localhost")
  show("resolved", wait(function() return addr:get_status() end))
  addr = net.resolve_address(addr:get_ip())
  local conn = check(net.open_tcp(addr, port))
  show("connected", wait(function() return conn:wait_until_connected(0) end))
  local data, sent = "hello world", 0
  while sent < #data do
    local n, err = conn:write(data:sub(sent + 1))
    if not n then fail(err) end
    if n == 0 then coroutine.yield(0.01) end
    sent = sent + n
  end
  show("sent", sent)
  while conn:wait_until_drained(0) ~= 0 do coroutine.yield(0.01) end
  local got = {}
  while true do
    local chunk, err = conn:read(4096)
    if chunk == nil then show("end", err) break end
    if #chunk > 0 then got[#got + 1] = chunk else coroutine.yield(0.01) end
  end
  show("got", table.concat(got))
  show("status", conn:get_status())
end)
"##,
    )
    .arg(port)
    .run()
    .ok()
    .stdout_is(&[
        "3 resolved success nil",
        "3 connected success nil",
        "2 sent 11",
        "2 end End of stream",
        "2 got hello world",
        "3 status failure End of stream",
    ]);
    assert!(peer.finish().stdout.contains("echoed 11"));
}

/// Decision 3: a thread blocked in `wait_until_connected(-1)` does not stop another
/// thread. The handshake cannot finish (the script's own server never answers), so the
/// wait ends only when the second thread, after ticking, drops the connection.
#[test]
fn a_thread_waiting_to_connect_does_not_stop_other_threads() {
    run(r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port(), true)
local ticks = 0
core.add_thread(function()
  show("A waits")
  local st, err = c:wait_until_connected(-1)
  show("A", st, ticks)
  check(type(err) == "string" and #err > 0, "a reason")
end)
core.add_thread(function()
  local peer
  repeat peer = server:accept(); coroutine.yield(0.01) until peer
  for i = 1, 5 do
    ticks = i
    show("B", i, c:get_status())
    coroutine.yield(0.01)
  end
  peer:close()
end)
"##)
    .ok()
    .stdout_is(&[
        "1 A waits",
        "3 B 1 waiting",
        "3 B 2 waiting",
        "3 B 3 waiting",
        "3 B 4 waiting",
        "3 B 5 waiting",
        "3 A failure 5",
    ]);
}

/// Decision 3, synchronous style: `wait_until_connected(-1)` on the main thread runs the
/// loop, so threads keep going; closing the connection from a thread ends the wait with
/// "failure", "connection closed". A bounded wait that runs out returns "waiting".
#[test]
fn waiting_on_the_main_thread_keeps_threads_running() {
    run(r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port(), true)
show(c:wait_until_connected(50))
local ticks = 0
core.add_thread(function()
  while not server:accept() do coroutine.yield(0.01) end
  for i = 1, 5 do ticks = i; coroutine.yield(0.01) end
  c:close()
end)
show(c:wait_until_connected(-1))
show("ticks", ticks)
"##)
    .ok()
    .stdout_is(&["1 waiting", "2 failure connection closed", "2 ticks 5"]);
}

/// `tcp:get_address()` is the remote address, with no hostname (so it is the IP), on
/// both ends of a connection.
#[test]
fn tcp_get_address_is_the_remote_ip() {
    run(r##"
local lo = net.resolve_address("localhost")
lo:wait_until_resolved(-1)
local server = net.create_server(net.resolve_address(lo:get_ip()), 0)
local c = net.open_tcp(lo, server:get_port())
eq(c:wait_until_connected(-1), "success")
local peer = poll(function() return server:accept() end, "the connection")
for _, conn in ipairs { c, peer } do
  local a = conn:get_address()
  eq(getmetatable(a).__name, "NetAddress")
  eq(a:get_status(), "success")
  eq(a:get_ip(), lo:get_ip())
  eq(a:get_hostname(), lo:get_ip())
  eq(tostring(a), lo:get_ip())
end
show("ok")
"##)
    .ok()
    .stdout_is(&["1 ok"]);
}

// ---------------------------------------------------------------- closed objects, errors

/// Decision 4: every method of a closed TCP connection, server or UDP socket answers
/// `nil, "connection closed"` (`udp:send`, whose failures are `false, msg`, answers
/// `false, "connection closed"`; status functions `"failure", "connection closed"`).
/// `close()` stays idempotent and returns nothing.
#[test]
fn every_method_of_a_closed_object_says_connection_closed() {
    run(r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port())
eq(c:wait_until_connected(-1), "success")
local u = net.open_udp(lo, 0)
show(c:close())
show(c:close())
show(c:get_status())
show(c:wait_until_connected(-1))
show(c:read(10))
show(c:write("x"))
show(c:get_pending_writes())
show(c:wait_until_drained(-1))
show(c:get_address())
show(server:close())
show(server:close())
show(server:accept())
show(server:get_port())
show(u:close())
show(u:close())
show(u:receive())
show(u:send(lo, 9, "x"))
"##)
    .ok()
    .stdout_is(&[
        "0",
        "0",
        "2 failure connection closed",
        "2 failure connection closed",
        "2 nil connection closed",
        "2 nil connection closed",
        "2 nil connection closed",
        "2 nil connection closed",
        "2 nil connection closed",
        "0",
        "0",
        "2 nil connection closed",
        "2 nil connection closed",
        "0",
        "0",
        "2 nil connection closed",
        "2 false connection closed",
    ]);
}

/// Decision 8: wrong argument types raise `luaL_checkudata`-style errors naming the
/// userdata types, at the caller's line; a method call does not count `self` (as
/// `luaL_argerror` does).
#[test]
fn wrong_argument_types_raise_with_the_userdata_type_names() {
    Script::new(
        r##"
local lo = net.resolve_address("127.0.0.1")
local server = net.create_server(lo, 0)
local c = net.open_tcp(lo, server:get_port())
local u = net.open_udp(lo, 0)
raises("bad argument #1 to 'open_tcp' (NetAddress expected, got string)", function() net.open_tcp("127.0.0.1", 80) end)
raises("bad argument #1 to 'open_tcp' (NetAddress expected, got NetTCP)", function() net.open_tcp(c, 80) end)
raises("bad argument #2 to 'open_tcp' (number expected, got no value)", function() net.open_tcp(lo) end)
raises("bad argument #2 to 'open_tcp' (number has no integer representation)", function() net.open_tcp(lo, 1.5) end)
raises("bad argument #1 to 'open_udp' (NetAddress expected, got NetServer)", function() net.open_udp(server, 0) end)
raises("bad argument #1 to 'create_server' (NetAddress expected, got nil)", function() net.create_server(nil, 0) end)
raises("bad argument #1 to 'create_server' (number expected, got NetAddress)", function() net.create_server(lo) end)
raises("bad argument #1 to 'resolve_address' (string expected, got table)", function() net.resolve_address({}) end)
raises("bad argument #1 to 'set_cacert_path' (string expected, got boolean)", function() net.set_cacert_path(true) end)
raises("bad argument #1 to 'send' (NetAddress expected, got NetUDP)", function() u:send(u, 1, "x") end)
raises("bad argument #2 to 'send' (number expected, got string)", function() u:send(lo, "x", "x") end)
raises("bad argument #1 to 'read' (number expected, got string)", function() c:read("x") end)
raises("bad argument #1 to 'wait_until_connected' (number expected, got string)", function() c:wait_until_connected("x") end)
raises("bad argument #1 to 'wait_until_resolved' (number expected, got table)", function() lo:wait_until_resolved({}) end)
raises("bad argument #1 to 'read' (NetTCP expected, got NetUDP)", function() c.read(u, 1) end)
local r = check(net.open_udp(lo, tonumber(arg[1])))
check(u:send(lo, tonumber(arg[1]), "x"))
local dgram = poll(function() return r:receive() end, "a datagram")
dgram.port_of = server.get_port
raises("calling 'get_port' on bad self (NetServer expected, got NetDataGram)", function() dgram:port_of() end)
show("ok")
"##,
    )
    .arg(free_udp_port())
    .run()
    .ok()
    .stdout_is(&["1 ok"]);
}

// ---------------------------------------------------------------- servers

/// Decision 7 and 4: `create_server(port)` listens on IPv4 and (where there is an IPv6
/// loopback) IPv6; `get_port()` is the bound port, also for port 0; `accept()` is `nil`
/// when nobody is waiting and a plain, connected `NetTCP` otherwise.
#[test]
fn create_server_port_accepts_ipv4_and_ipv6_clients() {
    let hosts = if have_ipv6_loopback() { "127.0.0.1 ::1" } else { "127.0.0.1" };
    Script::new(
        r##"
local server = check(net.create_server(0))
eq(getmetatable(server).__name, "NetServer")
local port = server:get_port()
check(math.type(port) == "integer" and port > 0, "a real port: " .. tostring(port))
show(server:accept())
for host in arg[1]:gmatch("%S+") do
  local c = net.open_tcp(net.resolve_address(host), port)
  eq(c:wait_until_connected(-1), "success", host)
  local peer = poll(function() return server:accept() end, "a client from " .. host)
  eq(getmetatable(peer).__name, "NetTCP")
  eq(peer:get_status(), "success")
  eq(peer:get_address():get_ip(), host)
  eq(peer:write("hi " .. host), #host + 3)
  local got = poll(function() local d = c:read(100); return d ~= "" and d end, "the greeting")
  show(got)
end
show(server:accept())
show(net.create_server(port))
"##,
    )
    .arg(hosts)
    .run()
    .ok()
    .stdout_is(&if have_ipv6_loopback() {
        vec![
            "1 nil",
            "1 hi 127.0.0.1",
            "1 hi ::1",
            "1 nil",
            "2 nil Failed to bind listen socket: Address already in use",
        ]
    } else {
        vec!["1 nil", "1 hi 127.0.0.1", "1 nil", "2 nil Failed to bind listen socket: Address already in use"]
    });
}

/// `create_server(addr, port)` listens on that address only; a taken port is reported as
/// `nil, "Failed to bind listen socket: ..."`.
#[test]
fn create_server_addr_port_listens_on_one_address() {
    Script::new(
        r##"
local lo = net.resolve_address("127.0.0.1")
local server = check(net.create_server(lo, 0))
local port = server:get_port()
check(port > 0, "a real port")
local c = net.open_tcp(lo, port)
show(c:wait_until_connected(-1))
local peer = poll(function() return server:accept() end, "the client")
show(getmetatable(peer).__name, peer:get_status())
show(net.create_server(lo, port))
if arg[1] == "v6" then
  -- Nothing listens on ::1 at that port.
  local six = net.open_tcp(net.resolve_address("::1"), port)
  show(six:wait_until_connected(-1))
end
"##,
    )
    .arg(if have_ipv6_loopback() { "v6" } else { "" })
    .run()
    .ok()
    .stdout_is(&if have_ipv6_loopback() {
        vec![
            "1 success",
            "2 NetTCP success",
            "2 nil Failed to bind listen socket: Address already in use",
            "2 failure Socket failed to connect: Connection refused",
        ]
    } else {
        vec!["1 success", "2 NetTCP success", "2 nil Failed to bind listen socket: Address already in use"]
    });
}

// ---------------------------------------------------------------- UDP

/// `open_udp` binds; datagrams go from one socket to another and back; `receive()`
/// returns no values at all when idle; a datagram knows its data, sender IP and port.
#[test]
fn udp_sockets_exchange_datagrams() {
    Script::new(
        r##"
local lo = net.resolve_address("127.0.0.1")
local port = tonumber(arg[1])
local a = check(net.open_udp(lo, port))
local b = check(net.open_udp(lo, 0))
eq(getmetatable(a).__name, "NetUDP")
show(select("#", a:receive()))
show(b:send(lo, port, "ping"))
local d = poll(function() return a:receive() end, "the ping")
eq(getmetatable(d).__name, "NetDataGram")
show(d:get_data())
local from = d:get_address()
show(getmetatable(from).__name, from:get_ip(), from:get_hostname(), tostring(from))
check(d:get_port() > 0 and d:get_port() ~= port, "the sender's port")
show(select("#", a:receive()))
show(a:send(from, d:get_port(), "pong"))
local r = poll(function() return b:receive() end, "the pong")
show(r:get_data(), r:get_port() == port)
show(net.open_udp(lo, port))
"##,
    )
    .arg(free_udp_port())
    .run()
    .ok()
    .stdout_is(&[
        "1 0",
        "1 true",
        "1 ping",
        "4 NetAddress 127.0.0.1 127.0.0.1 127.0.0.1",
        "1 0",
        "1 true",
        "2 pong true",
        "2 nil Failed to bind socket: Address already in use",
    ]);
}

/// Datagram sizes: all 256 byte values arrive intact; an empty send is `true` and sends
/// nothing; more than 64 KiB is `false` with SDL_net's message.
#[test]
fn udp_binary_empty_and_oversized_datagrams() {
    Script::new(
        r##"
local lo = net.resolve_address("127.0.0.1")
local port = tonumber(arg[1])
local a = check(net.open_udp(lo, port))
local b = check(net.open_udp(lo, 0))
local bytes = {}
for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
show(b:send(lo, port, ""))
show(b:send(lo, port, ("x"):rep(64 * 1024 + 1)))
show(b:send(lo, port, table.concat(bytes)))
local d = poll(function() return a:receive() end, "the datagram")
show(#d:get_data(), d:get_data() == table.concat(bytes))
show(select("#", a:receive()))
"##,
    )
    .arg(free_udp_port())
    .run()
    .ok()
    .stdout_is(&[
        "1 true",
        "2 false buffer is too large to send in a single datagram packet",
        "1 true",
        "2 256 true",
        "1 0",
    ]);
}

/// UDP over IPv6 (where there is an IPv6 loopback).
#[test]
fn udp_over_ipv6() {
    if !have_ipv6_loopback() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let port = std::net::UdpSocket::bind("[::1]:0").and_then(|s| s.local_addr()).expect("a UDP port on ::1").port();
    Script::new(
        r##"
local six = net.resolve_address("::1")
local port = tonumber(arg[1])
local r = check(net.open_udp(six, port))
local b = check(net.open_udp(six, 0))
show(b:send(six, port, "v6"))
local d = poll(function() return r:receive() end, "the datagram")
show(d:get_data(), d:get_address():get_ip())
"##,
    )
    .arg(port)
    .run()
    .ok()
    .stdout_is(&["1 true", "2 v6 ::1"]);
}

// ---------------------------------------------------------------- TLS

/// Decision 6: with no bundle set, TLS verifies against the system roots, so a
/// self-signed server is rejected through the status functions (and `read` reports it).
#[test]
fn tls_rejects_a_self_signed_certificate_by_default() {
    let certs = Certs::new();
    let (_server, port) = certs.s_server();
    let out = Script::new(
        r##"
local c = check(net.open_tcp(net.resolve_address("127.0.0.1"), tonumber(arg[1]), true))
local st, err = c:wait_until_connected(-1)
show(st, err:find("certificate verify failed", 1, true) ~= nil)
print(err)
-- The TLS library's words, not dressed up as a connect failure.
check(not err:find("Socket failed to connect", 1, true), "a TLS message")
show(c:get_status() == "failure")
local data, rerr = c:read(10)
show(data, rerr == err)
"##,
    )
    .arg(port)
    .run();
    out.ok();
    let lines = out.lines();
    assert_eq!([lines[0], lines[2], lines[3]], ["2 failure true", "1 true", "2 nil true"], "{}", out.describe());
}

/// Decision 6: `set_cacert_path` makes that bundle the trust roots: the same server is
/// accepted (by IP, and by name where localhost is 127.0.0.1), data flows both ways and
/// the end of the stream is "End of stream".
#[test]
fn tls_accepts_the_server_with_set_cacert_path() {
    let certs = Certs::new();
    let (_server, port) = certs.s_server();
    Script::new(
        r##"
net.set_cacert_path(arg[2])
show(net.get_cacert_path() == arg[2])
local function get(host)
  local addr = net.resolve_address(host)
  eq(addr:wait_until_resolved(-1), "success")
  if addr:get_ip() ~= "127.0.0.1" then
    -- s_server listens on 127.0.0.1 only; nothing to learn here.
    return show(host, "success", "HTTP/1.0 200 ok", "End of stream")
  end
  local c = check(net.open_tcp(addr, tonumber(arg[1]), true))
  local st
  if host == "localhost" then
    -- Plugin style: polling get_status() drives the handshake.
    st = poll(function() local s = c:get_status(); return s ~= "waiting" and s end, "the handshake")
  else
    st = c:wait_until_connected(-1)
  end
  eq(c:write("GET / HTTP/1.0\r\n\r\n"), 18)
  eq(c:wait_until_drained(-1), 0)
  local got, err = {}, nil
  while true do
    local d, e = c:read(4096)
    if d == nil then err = e break end
    if d == "" then system.sleep(0.005) else got[#got + 1] = d end
  end
  show(host, st, table.concat(got):match("^[^\r\n]*"), err)
  c:close()
end
get("127.0.0.1")
get("localhost")
"##,
    )
    .arg(port)
    .arg(certs.cert())
    .run()
    .ok()
    .stdout_is(&[
        "1 true",
        "4 127.0.0.1 success HTTP/1.0 200 ok End of stream",
        "4 localhost success HTTP/1.0 200 ok End of stream",
    ]);
}

/// Decision 6, failing closed: with an unrelated certificate as the only root the server
/// is rejected; a bundle that is missing or not PEM makes `open_tcp(..., true)` fail at
/// once instead of connecting unverified, while plain TCP is unaffected.
#[test]
fn tls_fails_closed_with_a_wrong_missing_or_garbage_bundle() {
    let certs = Certs::new();
    let (_server, port) = certs.s_server();
    let script = Script::new(
        r##"
local lo = net.resolve_address("127.0.0.1")
local port = tonumber(arg[1])
net.set_cacert_path(arg[2])
local c = check(net.open_tcp(lo, port, true))
local st, err = c:wait_until_connected(-1)
show(st, err:find("certificate verify failed", 1, true) ~= nil)
c:close()
for _, path in ipairs { "missing.pem", "garbage.pem" } do
  net.set_cacert_path(path)
  show(net.get_cacert_path())
  local conn, msg = net.open_tcp(lo, port, true)
  show(conn, type(msg))
  print(msg)
end
local plain = check(net.open_tcp(lo, port))
show(plain:wait_until_connected(-1))
"##,
    )
    .arg(port)
    .arg(certs.other());
    script.dir().write("garbage.pem", b"this is not a certificate\n");
    let out = script.run();
    out.ok();
    let lines = out.lines();
    assert_eq!(lines[0], "2 failure true", "{}", out.describe());
    assert_eq!(lines[1], "1 missing.pem", "{}", out.describe());
    assert_eq!(lines[2], "2 nil string", "{}", out.describe());
    assert!(lines[3].contains("missing.pem"), "the message names the file:\n{}", out.describe());
    assert_eq!(lines[4], "1 garbage.pem", "{}", out.describe());
    assert_eq!(lines[5], "2 nil string", "{}", out.describe());
    assert!(lines[6].contains("garbage.pem"), "the message names the file:\n{}", out.describe());
    assert_eq!(lines[7], "1 success", "{}", out.describe());
}

/// Decision 6: `get_cacert_path()` without a set path is the first system bundle of
/// Pragtical's list that exists on this machine and holds a certificate (nil if none).
#[test]
fn get_cacert_path_defaults_to_the_system_bundle() {
    const BUNDLES: [&str; 6] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/usr/local/share/certs/ca-root-nss.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    let want = BUNDLES
        .iter()
        .find(|p| std::fs::read_to_string(p).is_ok_and(|s| s.contains("-----BEGIN CERTIFICATE-----")))
        .map_or("nil", |p| p);
    run("show(net.get_cacert_path())").ok().stdout_is(&[&format!("1 {want}")]);
}

// ---------------------------------------------------------------- lifetime

/// Decision 1: the process stays alive while a socket still has data queued: the main
/// chunk writes 8 MiB to a peer that starts reading late and ends; every byte arrives.
#[test]
fn the_process_waits_for_queued_data_before_exiting() {
    let mut peer = python(
        r##"
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
print("port", l.getsockname()[1])
c, _ = l.accept()
time.sleep(0.5)
n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    n += len(d)
print("received", n)
"##,
        &[],
    );
    let port = peer.port("port ");
    Script::new(
        r##"
local c = check(net.open_tcp(net.resolve_address("127.0.0.1"), tonumber(arg[1])))
show(c:write(("q"):rep(8 * 1024 * 1024)))
"##,
    )
    .arg(port)
    .run()
    .ok()
    .stdout_is(&["1 8388608"]);
    assert_eq!(peer.wait_for("received "), "8388608");
}
