//! The luanet dialect's plain-socket modules (`net`, `net.stream`, `net.stream.inet`,
//! `net.stream.unix`, `net.unix`, `net.dgram`, `net.dgram.inet`, `net.dgram.unix`,
//! `net.socket`, `net.addrinfo`), run through the real binary with `--dialect luanet` on
//! loopback, with python3 as a real peer where one fits.
//!
//! Timing: a timeout must come back, and not before about half its deadline; no test
//! asserts an upper bound on how long anything takes.

mod luanet_support;

use luanet_support::{TempDir, have_python, lua_ok, lua_ok_in, python, run};

#[test]
fn constants_classes_and_tostring() {
    lua_ok(
        "classes",
        r##"
local net = require "net"
local C = core.constants
eq(net.AF_INET, C.AF_INET, "AF_INET")
eq(net.AF_UNIX, C.AF_UNIX, "AF_UNIX")
eq(net.SOCK_STREAM, C.SOCK_STREAM, "SOCK_STREAM")
eq(net.IPPROTO_TCP, C.IPPROTO_TCP, "IPPROTO_TCP")
eq(net.MSG_PEEK, C.MSG_PEEK, "MSG_PEEK")
eq(net.SHUT_RDWR, C.SHUT_RDWR, "SHUT_RDWR")
eq(math.type(net.AI_PASSIVE), "integer", "AI_PASSIVE")
for k, v in pairs(net) do
  check(type(k) == "string" and k:match("^%u[%u%d_]*$") and math.type(v) == "integer", "constant " .. tostring(k))
end

local function prefix(obj, name)
  local s = tostring(obj)
  check(s:match("^" .. name:gsub("%.", "%%.") .. ": 0x%x+$"), "tostring " .. s .. " for " .. name)
end
local inet = require "net.stream.inet"
local unix = require "net.stream.unix"
local server = assert(inet.server.new("127.0.0.1", 0))
prefix(server, "net.stream.inet.Server")
assert(server:listen())
local port = server:getsockname():port()
local client, err, timeout, ai = inet.client.new("127.0.0.1", port)
check(client, tostring(err))
prefix(client, "net.stream.inet.Client")
prefix(ai, "llsocket.addrinfo")
local peer = assert(server:accept())
prefix(peer, "net.stream.inet.Socket")
check(tostring(peer) ~= tostring(client), "distinct addresses")
local pair = assert(unix.pair())
prefix(pair[1], "net.stream.unix.Socket")
prefix(pair[2], "net.stream.unix.Socket")
local userver = assert(unix.server.new("./u.sock"))
prefix(userver, "net.stream.unix.Server")
assert(userver:listen())
local uclient = assert(unix.client.new("./u.sock"))
prefix(uclient, "net.stream.unix.Client")
prefix(assert(userver:accept()), "net.stream.unix.Socket")
prefix(assert(require("net.dgram.inet").new()), "net.dgram.inet.Socket")
prefix(assert(require("net.dgram.unix").new()), "net.dgram.unix.Socket")
prefix(assert(require("net.dgram.unix").pair())[1], "net.dgram.unix.Socket")

-- visible fields, as upstream tests read them
check(client.sock ~= nil, "sock field")
eq(client.rcvdeadl, nil, "rcvdeadl unset")
eq(client.snddeadl, nil, "snddeadl unset")
client:rcvtimeo(0.25)
client:sndtimeo(0.5)
eq(client.rcvdeadl, 0.25, "rcvdeadl")
eq(client.snddeadl, 0.5, "snddeadl")

-- integers, as v0.41 returns them
eq(client:family(), net.AF_INET, "family")
eq(client:socktype(), net.SOCK_STREAM, "socktype")
eq(client:protocol(), net.IPPROTO_TCP, "protocol")
eq(uclient:family(), net.AF_UNIX, "unix family")
eq(uclient:protocol(), 0, "unix protocol")
local d = assert(require("net.dgram.inet").new())
eq(d:socktype(), net.SOCK_DGRAM, "dgram socktype")
eq(d:protocol(), net.IPPROTO_UDP, "dgram protocol")

-- the same module whatever name it is required by
eq(require("luanet.net.stream.inet"), inet, "one instance")
print("ok")
"##,
    );
}

#[test]
fn argument_errors_are_thrown_with_upstream_messages() {
    lua_ok(
        "argerrors",
        r##"
local inet = require "net.stream.inet"
local unix = require "net.stream.unix"
local dinet = require "net.dgram.inet"
throws("opts must be table", function() inet.client.new("127.0.0.1", 80, 1) end)
throws("opts.deadline must be finite number", function() inet.client.new("127.0.0.1", 80, { deadline = "x" }) end)
throws("opts.deadline must be finite number", function() inet.client.new("127.0.0.1", 80, { deadline = 1/0 }) end)
throws("opts.tlscfg must be table", function() inet.client.new("127.0.0.1", 80, { tlscfg = true }) end)
throws("opts.servername must be string", function()
  inet.client.new("127.0.0.1", 80, { tlscfg = {}, servername = 1 })
end)
throws("opts must be table", function() inet.server.new("127.0.0.1", 0, "x") end)
throws("opts.reuseaddr must be boolean", function() inet.server.new("127.0.0.1", 0, { reuseaddr = 1 }) end)
throws("opts.reuseport must be boolean", function() inet.server.new("127.0.0.1", 0, { reuseport = "yes" }) end)
throws("opts.tlscfg must be table", function() inet.server.new("127.0.0.1", 0, { tlscfg = 1 }) end)
throws("opts must be table", function() unix.client.new("./x.sock", 1) end)
throws("opts.deadline must be finite number", function() unix.client.new("./x.sock", { deadline = 0/0 }) end)
throws("pathname must be string", function() unix.server.new(1) end)
throws("tlscfg must be table", function() unix.server.new("./x.sock", 1) end)

local pair = assert(unix.pair())
local s = pair[1]
throws("shutrd must be boolean", function() s:close(1) end)
throws("shutwr must be boolean", function() s:close(true, "x") end)
throws("sec must be finite-number", function() s:rcvtimeo(0/0) end)
throws("sec must be finite-number", function() s:sndtimeo(math.huge) end)
throws("sec must be finite-number", function() s:rcvtimeo("1") end)
throws("bad argument #1 to 'read' (integer expected, got string)", function() s:read("x") end)
throws("bad argument #1 to 'write' (string expected, got number)", function() s:write(1) end)
throws("bad argument #2 to 'recv' (integer expected, got string)", function() s:recv(10, "peek") end)
throws("bad argument #1 to 'reuseaddr' (boolean expected, got number)", function() s:reuseaddr(1) end)
throws("bad argument #1 to 'sendfile' (file or descriptor expected, got string)", function()
  s:sendfile("nofile", 10)
end)

-- dgram.inet bind checks with assert: the bare message
local d = assert(dinet.new())
throws_plain("opts.reuseaddr must be boolean", function() d:bind("127.0.0.1", 0, { reuseaddr = 1 }) end)
throws_plain("opts.reuseport must be boolean", function() d:bind("127.0.0.1", 0, { reuseport = 1 }) end)

-- not errors: bad values of the right type are returned
local str, err = s:read(0)
eq(str, nil, "read(0)")
is_err(err, errno.EINVAL, "read")
local len, err2 = s:write("")
eq(len, nil, "write('')")
is_err(err2, errno.EINVAL, "write")

-- msghdr and iovec arguments are checked like the rest
throws("bad argument #1 to 'sendmsg' (net.msghdr.MsgHdr expected, got table)", function() s:sendmsg({}) end)
throws("bad argument #1 to 'readv' (iovec expected, got table)", function() s:readv({}) end)
check(tostring(require("net.msghdr").new()):match("^net%.msghdr%.MsgHdr: "), "msghdr.new")
print("ok")
"##,
    );
}

#[test]
fn stream_echo_eof_and_double_close() {
    lua_ok(
        "eof",
        r##"
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local client = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
local peer = assert(server:accept())
eq(client:write("hello"), 5, "write")
eq(peer:read(), "hello", "read")
eq(peer:send("world"), 5, "send")
eq(client:recv(2), "wo", "recv bufsize")
eq(client:recv(10, require("net").MSG_PEEK), "rld", "peek")
eq(client:recv(), "rld", "recv after peek")
local fd = client:fd()
check(math.type(fd) == "integer" and fd >= 0, "fd")

-- EOF: every return value nil
client:close()
nils(nil, peer:read())
local a, b, c = peer:recv()
nils(3, a, b, c)

-- double close returns true; fd -1 afterwards
eq(client:close(), true, "second close")
eq(client:close(true, true), true, "third close")
eq(client:fd(), -1, "fd after close")
local str, err = client:read()
eq(str, nil, "read after close")
is_err(err, errno.EBADF, "read")
eq(peer:close(true, true), true, "close with shutdown")
eq(server:close(), true, "server close")
eq(server:close(), true, "server second close")

-- closew: the peer sees EOF, the other direction still works
local s2 = assert(inet.server.new("127.0.0.1", 0))
assert(s2:listen())
local c2 = assert(inet.client.new("127.0.0.1", s2:getsockname():port()))
local p2 = assert(s2:accept())
eq(c2:closew(), true, "closew")
nils(nil, p2:read())
eq(p2:write("late"), 4, "write to half-closed")
eq(c2:read(), "late", "read after closew")

-- the protected helpers subclasses use
local deadline, sec = c2:get_recv_deadline()
eq(sec, 3600, "default receive budget")
check(deadline:remain() > 3590, "a fresh deadline")
c2:sndtimeo(0.5)
local _, ssec = c2:get_send_deadline()
eq(ssec, 0.5, "send budget")
eq(c2:wait_writable(1), c2:fd(), "wait_writable")
local idle = assert(require("net.stream.unix").pair())[1]
local _, _, wto = idle:wait_readable(0.05)
eq(wto, true, "wait_readable timeout")
eq(c2:unwait(), true, "unwait")
-- closer: reads end at once
eq(p2:closer(), true, "closer")
nils(nil, p2:read())
print("ok")
"##,
    );
}

#[test]
fn connection_refused_and_resolver_errors_are_error_objects() {
    lua_ok(
        "refused",
        r##"
local inet = require "net.stream.inet"
-- a port nobody listens on: bind one, then close it
local s = assert(inet.server.new("127.0.0.1", 0))
local port = s:getsockname():port()
s:close()
local sock, err, timeout = inet.client.new("127.0.0.1", port)
eq(sock, nil, "sock")
eq(timeout, nil, "timeout")
is_err(err, errno.ECONNREFUSED, "connect")
eq(err.code, errno.ECONNREFUSED.code, "code")
check(tostring(err):find("[ECONNREFUSED:" .. errno.ECONNREFUSED.code .. "][connect]", 1, true), tostring(err))

-- an unknown service name
local sock2, err2 = inet.client.new("127.0.0.1", "no-such-service-xyz")
eq(sock2, nil, "sock2")
is_err(err2, eai.EAI_SERVICE, "getaddrinfo")

-- an unknown host: an EAI_* type (which one depends on the resolver)
local sock3, err3 = inet.client.new("no-such-host.invalid", 80)
eq(sock3, nil, "sock3")
check(type(err3) == "table" and err3.type ~= nil and err3.type.name:match("^EAI_"), tostring(err3))
eq(err3.op, "getaddrinfo", "op")

-- numeric but not IPv4 (the inet modules are IPv4 only)
local sock4, err4 = inet.client.new("::1", 80)
eq(sock4, nil, "sock4")
check(err4.type.name:match("^EAI_"), tostring(err4))

-- servers and datagram sockets report them the same way
local srv, serr = inet.server.new("no-such-host.invalid", 0)
eq(srv, nil, "srv")
check(serr.type.name:match("^EAI_"), tostring(serr))
local d = assert(require("net.dgram.inet").new())
local ok, derr = d:bind("127.0.0.1", "no-such-service-xyz")
eq(ok, false, "bind")
is_err(derr, eai.EAI_SERVICE)
print("ok")
"##,
    );
}

#[test]
fn read_timeout_is_nil_nil_true_within_the_budget() {
    lua_ok(
        "rtimeout",
        r##"
local unix = require "net.stream.unix"
local pair = assert(unix.pair())
local s = pair[1]
eq(s:rcvtimeo(0.4), 0, "previous rcvtimeo")
local t0 = core.now()
local str, err, timeout = s:read()
local took = core.now() - t0
eq(str, nil, "str")
eq(err, nil, "err")
eq(timeout, true, "timeout")
check(took >= 0.2, "returned too early: " .. took)
-- recv and recvfd use the same budget
t0 = core.now()
nils(nil, (s:recv()))
local _, _, to2 = s:recv()
eq(to2, true, "recv timeout")
check(core.now() - t0 >= 0.4, "two recv timeouts")
local fd, ferr, fto = s:recvfd()
eq(fd, nil, "fd")
eq(ferr, nil, "ferr")
eq(fto, true, "recvfd timeout")
-- data that arrives within the budget is returned
pair[2]:write("x")
eq(s:read(), "x", "data")
-- rcvtimeo(0): poll once
s:rcvtimeo(0)
local _, _, to3 = s:read()
eq(to3, true, "poll once")
print("ok")
"##,
    );
}

// A listener with a full backlog that never accepts: on Linux further connects hang in
// SYN-SENT (other systems may refuse them instead).
#[cfg(target_os = "linux")]
#[test]
fn connect_timeout_with_opts_deadline() {
    lua_ok(
        "ctimeout",
        r##"
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen(1))
local port = server:getsockname():port()
local held, got = {}, nil
for i = 1, 16 do
  local t0 = core.now()
  local sock, err, timeout = inet.client.new("127.0.0.1", port, { deadline = 0.4 })
  if sock then
    held[#held + 1] = sock
  else
    eq(err, nil, "err")
    eq(timeout, true, "timeout")
    local took = core.now() - t0
    check(took >= 0.2, "returned too early: " .. took)
    got = true
    break
  end
end
check(got, "no connect timed out")
print("ok")
"##,
    );
}

#[test]
fn write_timeout_returns_the_bytes_sent() {
    lua_ok(
        "wtimeout",
        r##"
local pair = assert(require("net.stream.unix").pair())
local s = pair[1]
eq(s:sndtimeo(0.4), 0, "previous sndtimeo")
local big = string.rep("x", 16 * 1024 * 1024)
local t0 = core.now()
local len, err, timeout = s:write(big)
local took = core.now() - t0
check(math.type(len) == "integer" and len > 0 and len < #big, "partial length " .. tostring(len))
eq(err, nil, "err")
eq(timeout, true, "timeout")
check(took >= 0.2, "returned too early: " .. took)
-- writing to a closed peer: EPIPE (and the process lives on)
pair[2]:close()
local n, err2
repeat
  n, err2 = s:write("more")
until n == nil
is_err(err2, errno.EPIPE, "write")
print("ok")
"##,
    );
}

#[test]
fn sendfile_from_a_file_handle_and_past_eof() {
    let dir = TempDir::new("sendfile");
    lua_ok_in(
        &dir,
        r##"
local f = assert(io.open("data.bin", "wb"))
local data = {}
for i = 0, 1023 do data[#data + 1] = string.char(i % 256) end
data = table.concat(data)
f:write(data)
f:close()
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local client = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
local peer = assert(server:accept())

local fh = assert(io.open("data.bin", "rb"))
eq(client:sendfile(fh, 100), 100, "first 100 bytes")
eq(peer:read(100), data:sub(1, 100), "content")
eq(client:sendfile(fh, 24, 1000), 24, "from an offset")
eq(peer:read(100), data:sub(1001, 1024), "offset content")
eq(fh:seek(), 0, "the file position does not move")

-- past EOF: the bytes there are, at once, with no error and no timeout
client:sndtimeo(1)
local len, err, timeout = client:sendfile(fh, 2048, 0)
eq(len, 1024, "len past EOF")
eq(err, nil, "err")
eq(timeout, nil, "timeout")
local got = {}
local n = 0
while n < 1024 do
  local s = assert(peer:read())
  got[#got + 1] = s
  n = n + #s
end
eq(table.concat(got), data, "all of the file")

-- a descriptor works too
eq(client:sendfile(core.file_fd(fh), 4, 10), 4, "by descriptor")
eq(peer:read(), data:sub(11, 14), "descriptor content")
-- bytes 0: EINVAL
local l0, e0 = client:sendfile(fh, 0)
eq(l0, nil, "zero bytes")
is_err(e0, errno.EINVAL)
fh:close()
print("ok")
"##,
    );
}

#[test]
fn unix_errors_are_errno_objects() {
    lua_ok(
        "unixerr",
        r##"
local unix = require "net.stream.unix"
local long = "./" .. string.rep("a", 200) .. ".sock"

local sock, err = unix.client.new("./missing.sock")
eq(sock, nil, "missing")
is_err(err, errno.ENOENT, "connect")

sock, err = unix.client.new(long)
eq(sock, nil, "long client")
is_err(err, errno.ENAMETOOLONG)

local srv, serr = unix.server.new(long)
eq(srv, nil, "long server")
is_err(serr, errno.ENAMETOOLONG)

-- server.new does not remove what is there: EADDRINUSE
local s1, e1, ai = unix.server.new("./busy.sock")
check(s1, tostring(e1))
eq(ai:addr(), "./busy.sock", "ai path")
local s2, e2 = unix.server.new("./busy.sock")
eq(s2, nil, "second server")
is_err(e2, errno.EADDRINUSE, "bind")
local f = assert(io.open("./plain-file", "w"))
f:close()
local s3, e3 = unix.server.new("./plain-file")
eq(s3, nil, "over a plain file")
is_err(e3, errno.EADDRINUSE)

-- a socket file nobody listens on (a datagram socket bound and closed leaves it)
local d = assert(require("net.dgram.unix").new())
assert(d:bind("./stale.sock"))
d:close()
sock, err = unix.client.new("./stale.sock")
eq(sock, nil, "stale")
check(err.type == errno.ECONNREFUSED or err.type == errno.EPROTOTYPE, tostring(err))
os.remove("./stale.sock")

-- bound but not listening yet: refused too
local s4 = assert(unix.server.new("./later.sock"))
sock, err = unix.client.new("./later.sock")
eq(sock, nil, "not listening")
is_err(err, errno.ECONNREFUSED)
assert(s4:listen())
sock, err = unix.client.new("./later.sock")
check(sock, tostring(err))
print("ok")
"##,
    );
}

#[test]
fn unix_pair_and_descriptor_passing() {
    lua_ok(
        "sendfd",
        r##"
local unix = require "net.stream.unix"
local pair = assert(unix.pair())
local a, b = pair[1], pair[2]
eq(#pair, 2, "pair size")
eq(a:write("ping"), 4, "write")
eq(b:read(), "ping", "read")

-- pass one end of another pair; talk through the received descriptor
local other = assert(unix.pair())
eq(a:sendfd(other[1]:fd()), 0, "sendfd")
local fd, err, timeout = b:recvfd()
check(math.type(fd) == "integer" and fd >= 0, "recvfd " .. tostring(fd) .. " " .. tostring(err))
check(fd ~= other[1]:fd(), "a new descriptor")
local w = assert(unix.wrap(fd))
eq(w:write("via fd"), 6, "write through the received fd")
eq(other[2]:read(), "via fd", "read on the other end")

-- a byte without a descriptor is dropped: recvfd waits for the next one
eq(a:write("z"), 1, "plain byte")
eq(a:sendfd(other[2]:fd()), 0, "sendfd after a plain byte")
local fd2 = b:recvfd()
check(math.type(fd2) == "integer", "recvfd after the plain byte")
-- only a plain byte: again, then the timeout
a:write("z")
b:rcvtimeo(0.3)
local t0 = core.now()
local f3, e3, to3 = b:recvfd()
eq(f3, nil, "fd")
eq(e3, nil, "err")
eq(to3, true, "timeout")
check(core.now() - t0 >= 0.15, "returned too early")
-- the peer closes: nothing
a:close()
nils(0, b:recvfd())

-- the locked variants
local p2 = assert(unix.pair())
eq(p2[1]:sendfdsync(other[1]:fd()), 0, "sendfdsync")
check(math.type(p2[2]:recvfdsync()) == "integer", "recvfdsync")
-- datagram pairs pass descriptors as well
local dp = assert(require("net.dgram.unix").pair())
eq(dp[1]:sendfd(other[1]:fd()), 0, "dgram sendfd")
check(math.type(dp[2]:recvfd()) == "integer", "dgram recvfd")
print("ok")
"##,
    );
}

#[test]
fn datagram_inet_bind_connect_sendto_recvfrom() {
    lua_ok(
        "dgram_inet",
        r##"
local dinet = require "net.dgram.inet"
local addrinfo = require "net.addrinfo"
local net = require "net"
local a = assert(dinet.new())
local ok, err, ai = a:bind("127.0.0.1", 0)
eq(ok, true, "bind")
eq(err, nil, "bind err")
eq(ai:addr(), "127.0.0.1", "bind ai")
local port = a:getsockname():port()
check(port > 0, "ephemeral port")

local b = assert(dinet.new())
local dest = assert(addrinfo.new_inet_dgram("127.0.0.1", port))
eq(b:sendto("ping", dest), 4, "sendto")
local msg, rerr, timeout, from = a:recvfrom()
eq(msg, "ping", "recvfrom")
eq(rerr, nil, "rerr")
eq(timeout, nil, "timeout")
eq(from:addr(), "127.0.0.1", "from addr")
eq(from:port(), b:getsockname():port(), "from port")
eq(from:family(), net.AF_INET, "from family")
eq(a:sendto("pong", from), 4, "reply")
eq(b:recvfrom(), "pong", "reply received")
-- bufsize truncates; an empty datagram is "" (not EOF)
b:sendto("0123456789", dest)
eq(a:recvfrom(4), "0123", "truncated")
b:sendto("", dest)
eq(a:recvfrom(), "", "empty datagram")

-- connect: true, nil, ai, then send/recv
local cok, cerr, cai = b:connect("127.0.0.1", port)
eq(cok, true, "connect")
eq(cerr, nil, "connect err")
eq(cai:port(), port, "connect ai")
eq(b:getpeername():port(), port, "peer")
eq(b:send("hi"), 2, "send")
eq(a:read(), "hi", "read")

-- rebinding a used port
local c = assert(dinet.new())
local rok, rerr2 = c:bind("127.0.0.1", port)
eq(rok, false, "rebind")
is_err(rerr2, errno.EADDRINUSE, "bind")

-- timeouts
a:rcvtimeo(0.3)
local t0 = core.now()
local m2, e2, to2 = a:recvfrom()
eq(m2, nil, "m2")
eq(e2, nil, "e2")
eq(to2, true, "recvfrom timeout")
check(core.now() - t0 >= 0.15, "returned too early")

-- options give the value before the change
eq(a:broadcast(), false, "broadcast")
eq(a:broadcast(true), false, "broadcast set")
eq(a:broadcast(), true, "broadcast now")
-- sync variants
eq(b:sendtosync("sync", dest), 4, "sendtosync")
eq(a:recvfromsync(), "sync", "recvfromsync")
print("ok")
"##,
    );
}

#[test]
fn datagram_unix_bind_connect_and_pair() {
    lua_ok(
        "dgram_unix",
        r##"
local dunix = require "net.dgram.unix"
local addrinfo = require "net.addrinfo"
local net = require "net"
local server = assert(dunix.new())
local ok, err, ai = server:bind("./srv.sock")
eq(ok, true, "bind")
eq(err, nil, "err")
eq(ai:addr(), "./srv.sock", "bind ai")
eq(ai:family(), net.AF_UNIX, "family")

local client = assert(dunix.new())
assert(client:bind("./cli.sock"))
-- connect returns four values, the address fourth
local n = select("#", client:connect("./srv.sock"))
eq(n, 4, "connect value count")
local cok, cerr, ctimeout, cai = client:connect("./srv.sock")
eq(cok, true, "connect")
eq(cerr, nil, "cerr")
eq(ctimeout, nil, "ctimeout")
eq(cai:addr(), "./srv.sock", "connect ai")

eq(client:send("hello"), 5, "send")
local msg, rerr, rtimeout, from = server:recvfrom()
eq(msg, "hello", "recvfrom")
eq(from:addr(), "./cli.sock", "sender path")
eq(server:sendto("back", from), 4, "sendto")
eq(client:recv(), "back", "recv")
local dest = assert(addrinfo.new_unix_dgram("./srv.sock"))
eq(client:sendto("again", dest), 5, "sendto path")
eq(server:read(), "again", "read")

-- the server is gone: refused (its file stays)
server:close()
local other = assert(dunix.new())
local rok, rerr2 = other:connect("./srv.sock")
eq(rok, false, "connect to closed")
is_err(rerr2, errno.ECONNREFUSED, "connect")
local long = "./" .. string.rep("b", 200)
local lok, lerr = other:connect(long)
eq(lok, false, "long connect")
is_err(lerr, errno.ENAMETOOLONG)
lok, lerr = other:bind(long)
eq(lok, false, "long bind")
is_err(lerr, errno.ENAMETOOLONG)
-- binding an existing path
local bok, berr = other:bind("./srv.sock")
eq(bok, false, "bind existing")
is_err(berr, errno.EADDRINUSE)

-- pairs
local pair = assert(dunix.pair())
eq(pair[1]:write("x"), 1, "pair write")
eq(pair[2]:read(), "x", "pair read")
os.remove("./srv.sock")
os.remove("./cli.sock")
print("ok")
"##,
    );
}

#[test]
fn blocking_style_outside_tasks_keeps_timers_firing() {
    lua_ok(
        "timer",
        r##"
local inet = require "net.stream.inet"
local ticks = 0
local t = core.timer()
t:on(function() ticks = ticks + 1 end)
t:start(0.02, 0.02)
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local client = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
local peer = assert(server:accept())
peer:rcvtimeo(0.5)
local _, _, timeout = peer:read()
eq(timeout, true, "timeout")
check(ticks >= 5, "the timer fired only " .. ticks .. " times during the read")
-- a timer callback can make the blocked read return
local w = core.timer()
w:on(function() client:write("from timer") end)
w:start(0.1)
peer:rcvtimeo(5)
eq(peer:read(), "from timer", "read woken by the timer's write")
t:stop()
print("ok")
"##,
    );
}

#[test]
fn getsockname_and_getpeername_are_addrinfo_objects() {
    lua_ok(
        "names",
        r##"
local net = require "net"
local inet = require "net.stream.inet"
local unix = require "net.stream.unix"
local server, err, sai = inet.server.new("127.0.0.1", 0)
assert(server:listen())
local name = server:getsockname()
eq(name:family(), net.AF_INET, "family")
eq(name:socktype(), net.SOCK_STREAM, "socktype")
eq(name:protocol(), net.IPPROTO_TCP, "protocol")
eq(name:addr(), "127.0.0.1", "addr")
check(math.type(name:port()) == "integer" and name:port() > 0, "port")
eq(sai:addr(), "127.0.0.1", "server.new ai")
local client, _, _, cai = inet.client.new("127.0.0.1", name:port())
eq(cai:port(), name:port(), "client ai port")
local peer, aerr, pai = server:accept(true)
check(peer, tostring(aerr))
local cname = client:getsockname()
local pname = peer:getpeername()
eq(pname:addr(), cname:addr(), "peer addr")
eq(pname:port(), cname:port(), "peer port")
eq(pai:port(), cname:port(), "accept ai")
eq(client:getpeername():port(), name:port(), "client peer")
local ni = name:getnameinfo(net.NI_NUMERICHOST, net.NI_NUMERICSERV)
eq(ni.host, "127.0.0.1", "nameinfo host")
eq(ni.serv, tostring(name:port()), "nameinfo serv")
-- a listener has no peer
local _, perr = server:getpeername()
is_err(perr, errno.ENOTCONN)
-- unix
local us = assert(unix.server.new("./n.sock"))
assert(us:listen())
local un = us:getsockname()
eq(un:family(), net.AF_UNIX, "unix family")
eq(un:addr(), "./n.sock", "unix path")
eq(un:port(), nil, "no port")
local uc = assert(unix.client.new("./n.sock"))
eq(uc:getpeername():addr(), "./n.sock", "unix peer")
-- after close
client:close()
local gone, gerr = client:getsockname()
eq(gone, nil, "closed")
is_err(gerr, errno.EBADF)
print("ok")
"##,
    );
}

#[test]
fn options_return_their_previous_values() {
    lua_ok(
        "options",
        r##"
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0, { reuseaddr = true }))
eq(server:reuseaddr(), true, "opts.reuseaddr")
eq(server:reuseaddr(false), true, "reuseaddr before")
eq(server:reuseaddr(), false, "reuseaddr after")
local plain = assert(inet.server.new("127.0.0.1", 0))
eq(plain:reuseaddr(), false, "reuseaddr off by default")
assert(server:listen())
eq(server:acceptconn(), true, "acceptconn")
local c = assert(inet.client.new("127.0.0.1", server:getsockname():port()))
eq(c:acceptconn(), false, "client acceptconn")
eq(c:tcpnodelay(), false, "nodelay")
eq(c:tcpnodelay(true), false, "nodelay before")
eq(c:tcpnodelay(), true, "nodelay after")
eq(c:keepalive(true), false, "keepalive before")
eq(c:keepalive(false), true, "keepalive was on")
eq(c:linger(), nil, "linger off")
eq(c:linger(3), nil, "linger before")
eq(c:linger(-1), 3, "linger was 3")
eq(c:linger(), nil, "linger off again")
local rb = c:rcvbuf()
check(math.type(rb) == "integer" and rb > 0, "rcvbuf")
eq(c:rcvbuf(65536), rb, "rcvbuf before")
check(c:rcvbuf() >= 65536, "rcvbuf after")
check(math.type(c:sndbuf()) == "integer", "sndbuf")
local idle = c:tcpkeepalive()
check(math.type(idle) == "integer", "tcpkeepalive")
eq(c:tcpkeepalive(30), idle, "tcpkeepalive before")
eq(c:tcpkeepalive(), 30, "tcpkeepalive set")
eq(c:rcvtimeo(1.5), 0, "rcvtimeo before")
eq(c:rcvtimeo(0.25), 1.5, "rcvtimeo previous")
eq(c:sndtimeo(2), 0, "sndtimeo before")
eq(c:sndtimeo(), 2, "sndtimeo getter")
eq(c.snddeadl, 2, "the getter keeps the deadline")
eq(c:isnonblock(), true, "non-blocking")
eq(c:cloexec(), true, "close-on-exec")
eq(c:error(), nil, "no pending error")
eq(c:oobinline(true), false, "oobinline before")
eq(c:oobinline(), true, "oobinline set")
eq(c:tcpcork(), false, "tcpcork")
eq(c:dontroute(true), false, "dontroute before")
eq(c:dontroute(), true, "dontroute set")
check(math.type(c:rcvlowat()) == "integer", "rcvlowat")
eq(c:rcvlowat(8), 1, "rcvlowat before")
eq(c:rcvlowat(), 8, "rcvlowat set")
print("ok")
"##,
    );
}

#[test]
fn hundred_concurrent_act_tasks() {
    lua_ok(
        "act100",
        r##"
local act = require "act"
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local port = server:getsockname():port()
local N, done = 100, 0
local ok, err = act.run(function()
  act.spawn(function()
    for _ = 1, N do
      local peer = assert(server:accept())
      act.spawn(function()
        while true do
          local data = peer:read()
          if not data then break end
          assert(peer:write(data))
        end
        peer:close()
      end)
    end
  end)
  for i = 1, N do
    act.spawn(function()
      local c = assert(inet.client.new("127.0.0.1", port, { deadline = 10 }))
      c:rcvtimeo(10)
      local msg = "hello " .. i
      eq(c:write(msg), #msg, "write")
      act.sleep(0.01 * (i % 5))
      eq(c:read(), msg, "echo")
      c:close()
      done = done + 1
    end)
  end
end)
check(ok, tostring(err))
eq(done, N, "tasks done")
print("ok")
"##,
    );
}

#[test]
fn syncread_and_syncwrite_lock_and_release_on_error() {
    lua_ok(
        "sync",
        r##"
local act = require "act"
local pair = assert(require("net.stream.unix").pair())
local order = {}
assert(act.run(function()
  for i = 1, 3 do
    act.spawn(function()
      local v = pair[2]:readsync(1)
      order[#order + 1] = i .. v
    end)
  end
  act.spawn(function()
    act.sleep(0.05)
    eq(pair[1]:writesync("abc"), 3, "writesync")
  end)
end))
eq(table.concat(order, ","), "1a,2b,3c", "one reader at a time, in order")

-- syncread passes the arguments and the four results through
local v, e, t, x = pair[2]:syncread(function(self, a, b) return a, nil, nil, b end, "A", "B")
eq(v, "A", "v")
eq(x, "B", "extra")
-- a Lua error in fn releases the lock and is returned
local r, err = pair[2]:syncread(function() error("boom") end)
eq(r, nil, "r")
check(tostring(err):find("boom", 1, true), tostring(err))
local w, werr = pair[1]:syncwrite(function() error({}) end)
eq(w, nil, "w")
check(err ~= nil and werr ~= nil, "errors returned")
-- the locks are free again
eq(pair[1]:sendsync("q"), 1, "sendsync")
eq(pair[2]:recvsync(), "q", "recvsync")
-- outside tasks too
eq(pair[1]:writesync("m"), 1, "writesync on the main thread")
eq(pair[2]:readsync(), "m", "readsync on the main thread")
print("ok")
"##,
    );
}

#[test]
fn accept_acceptfd_wrap_and_hooks() {
    lua_ok(
        "accept",
        r##"
local class = require "net.class"
local inet = require "net.stream.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local port = server:getsockname():port()
-- acceptfd + wrap
local c1 = assert(inet.client.new("127.0.0.1", port))
local fd = server:acceptfd()
check(math.type(fd) == "integer" and fd >= 0, "acceptfd")
local w = assert(inet.wrap(fd))
check(tostring(w):match("^net%.stream%.inet%.Socket: "), tostring(w))
eq(w:write("wrapped"), 7, "write through the wrapped fd")
eq(c1:read(), "wrapped", "read")
local bad, berr = inet.wrap(99999)
eq(bad, nil, "wrap of a bad fd")
is_err(berr, errno.EBADF)

-- the hooks: new_connection then accepted
local seen = {}
function server:new_connection(sock)
  seen[#seen + 1] = "new_connection"
  return class.get("net.stream.inet.Socket")(sock)
end
function server:accepted(sock, ai)
  seen[#seen + 1] = "accepted"
  return sock, nil, ai
end
local c2 = assert(inet.client.new("127.0.0.1", port))
local p2 = assert(server:accept())
eq(table.concat(seen, ","), "new_connection,accepted", "hooks")
check(class.instanceof(p2, "net.stream.Socket"), "instanceof")
check(class.instanceof(p2, "net.Socket"), "instanceof root")
check(not class.instanceof(p2, "net.stream.Server"), "not a server")
-- refusing in new_connection
function server:new_connection(sock)
  return nil, "refused by hook"
end
local c3 = assert(inet.client.new("127.0.0.1", port))
local p3, e3 = server:accept()
eq(p3, nil, "refused")
eq(e3, "refused by hook", "hook error")

-- accept in a task wakes when a client comes; close() cancels a waiting accept
local act = require "act"
local s2 = assert(inet.server.new("127.0.0.1", 0))
assert(s2:listen())
local res = {}
assert(act.run(function()
  act.spawn(function()
    local p, err = s2:accept()
    res[1] = p and "accepted" or tostring(err)
    local p2, err2 = s2:accept()
    res[2] = err2
  end)
  act.sleep(0.05)
  local c = assert(inet.client.new("127.0.0.1", s2:getsockname():port()))
  act.sleep(0.05)
  s2:close()
end))
eq(res[1], "accepted", "first accept")
is_err(res[2], errno.ECANCELED)
print("ok")
"##,
    );
}

#[test]
fn low_level_socket_and_addrinfo_helpers() {
    lua_ok(
        "lowlevel",
        r##"
local socket = require "net.socket"
local addrinfo = require "net.addrinfo"
local net = require "net"
local lsock, err, ai = socket.bind_inet_stream("127.0.0.1", 0, true)
check(lsock, tostring(err))
eq(ai:addr(), "127.0.0.1", "bind ai")
local port = lsock:local_addr()
assert(lsock:listen())
local _, lport = lsock:local_addr()
local sock, cerr, timeout, cai = socket.connect_inet_stream("127.0.0.1", lport, 1)
check(sock, tostring(cerr))
eq(cai:port(), lport, "connect ai")
local ais = assert(addrinfo.getaddrinfo_stream("localhost", "80"))
check(#ais >= 1, "localhost")
eq(ais[1]:family(), net.AF_INET, "inet only")
eq(ais[1]:port(), 80, "port")
eq(ais[1]:socktype(), net.SOCK_STREAM, "socktype")
local dais = assert(addrinfo.getaddrinfo_dgram(nil, 53, true))
eq(dais[1]:addr(), "0.0.0.0", "passive any")
eq(dais[1]:protocol(), net.IPPROTO_UDP, "udp")
local u = assert(addrinfo.new_unix_stream("./x.sock"))
eq(u:addr(), "./x.sock", "unix addr")
eq(u:socktype(), net.SOCK_STREAM, "unix socktype")
local bad, berr = addrinfo.new_unix_dgram("./" .. string.rep("c", 300))
eq(bad, nil, "too long")
is_err(berr, errno.ENAMETOOLONG)
throws("passive must be boolean", function() addrinfo.getaddrinfo_stream("localhost", 80, 1) end)
local pair = assert(socket.pair_stream())
eq(#pair, 2, "pair")
local dp = assert(socket.pair_dgram())
eq(#dp, 2, "dgram pair")
local none, nerr = socket.new_inet_stream()
eq(none, nil, "no bare stream socket")
is_err(nerr, errno.EOPNOTSUPP)
local d = assert(socket.new_inet_dgram())
check(d, "dgram socket")
print("ok")
"##,
    );
}

#[test]
fn tls_configuration_without_the_tls_modules() {
    lua_ok(
        "tlshook",
        r##"
local inet = require "net.stream.inet"
local unix = require "net.stream.unix"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local have_tls = pcall(require, "net.tls.stream.inet")
if not have_tls then
  local sock, err = inet.client.new("127.0.0.1", server:getsockname():port(), { tlscfg = {} })
  eq(sock, nil, "no TLS client yet")
  is_err(err, errno.EOPNOTSUPP)
  local srv, serr = inet.server.new("127.0.0.1", 0, { tlscfg = {} })
  eq(srv, nil, "no TLS server yet")
  is_err(serr, errno.EOPNOTSUPP)
  local us, uerr = unix.server.new("./t.sock", {})
  eq(us, nil, "no TLS unix server yet")
  is_err(uerr, errno.EOPNOTSUPP)
end
print("ok")
"##,
    );
}

#[test]
fn python_peers_tcp_and_udp() {
    if !have_python() {
        eprintln!("python3 not available: skipped");
        return;
    }
    let dir = TempDir::new("python");
    // A TCP echo server that closes after one exchange.
    let echo = python(
        dir.path(),
        r##"
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1])
c, _ = s.accept()
data = c.recv(100)
c.sendall(b"echo:" + data)
c.close()
"##,
    );
    let port = echo.line();
    lua_ok_in(
        &dir,
        &r##"
local inet = require "net.stream.inet"
local sock, err = inet.client.new("127.0.0.1", "PORT", { deadline = 5 })
check(sock, tostring(err))
eq(sock:write("hi"), 2, "write")
local got = {}
while true do
  local s = sock:read()
  if not s then break end
  got[#got + 1] = s
end
eq(table.concat(got), "echo:hi", "echo then EOF")
print("ok")
"##
        .replace("PORT", &port),
    );
    assert_eq!(echo.wait(), Some(0));

    // A python client against a Lua server, and a UDP exchange.
    let out = run(
        "python-client",
        r##"
local inet = require "net.stream.inet"
local dinet = require "net.dgram.inet"
local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
local d = assert(dinet.new())
assert(d:bind("127.0.0.1", 0))
local code = ([[
import socket
c = socket.create_connection(("127.0.0.1", %d))
c.sendall(b"from python")
c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"udp from python", ("127.0.0.1", %d))
print(u.recv(100).decode())
]]):format(server:getsockname():port(), d:getsockname():port())
local f = assert(io.open("peer.py", "w"))
f:write(code)
f:close()
local proc = assert(io.popen("python3 peer.py", "r"))
local peer = assert(server:accept())
peer:rcvtimeo(10)
local got = {}
while true do
  local s, err, timeout = peer:read()
  check(not timeout and not err, "read")
  if not s then break end
  got[#got + 1] = s
end
eq(table.concat(got), "from python", "stream data then EOF")
d:rcvtimeo(10)
local msg, err, timeout, from = d:recvfrom()
eq(msg, "udp from python", "datagram")
eq(d:sendto("udp reply", from), 9, "reply")
eq(proc:read("l"), "udp reply", "python got the reply")
proc:close()
print("ok")
"##,
    );
    assert!(out.code == Some(0) && out.stderr.is_empty(), "{}", out.describe());
}
