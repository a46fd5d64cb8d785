//! The luanet dialect's scatter/gather I/O: the `iovec` module (lua-iovec), `net.msghdr`
//! (with its `cmsghdr`/`cmsghdrs` control messages) and the socket methods `readv`,
//! `writev`, `sendmsg`, `recvmsg` and their `*sync` forms, run through the real binary with
//! `--dialect luanet` on loopback (Unix pairs, TCP, UDP, Unix datagrams), with python3 as a
//! real UDP peer and TLS sockets (certificates from `openssl req`) that refuse them.
//! docs: /work/shared/specs/luanet.md 1.1 (net.msghdr), 1.3, 1.7, 1.9, 1.10, decision 7.
//!
//! Timing: a timeout must come back, and not before half its deadline; no test asserts an
//! upper bound on how long anything takes.

mod luanet_support;

use std::process::Command;

use luanet_support::{TempDir, have_python, lua_ok, lua_ok_in, python};

/// Lua helpers for the socket tests:
/// * `tcp_pair()`: a connected TCP client and its accepted peer, `{ client, peer }`;
/// * `read_n(sock, n)`: exactly n bytes read with `sock:read()`;
/// * `recv_all(sock, n, room)`: the bytes of `recvmsg` calls (headers of `room` bytes) until
///   n came, and the control messages each call left (`{ { fd, ... }, ... }`).
const HELPERS: &str = r##"
iovec = require "iovec"
msghdr = require "net.msghdr"
net = require "net"
unix = require "net.stream.unix"
inet = require "net.stream.inet"
addrinfo = require "net.addrinfo"
function tcp_pair()
  local s = assert(inet.server.new("127.0.0.1", 0))
  assert(s:listen())
  local c = assert(inet.client.new("127.0.0.1", s:getsockname():port()))
  local p = assert(s:accept())
  s:close()
  return { c, p }
end
function read_n(sock, n)
  local got = ""
  while #got < n do
    local s, err, timeout = sock:read(n - #got)
    check(s, "read_n: " .. tostring(err) .. " " .. tostring(timeout))
    got = got .. s
  end
  return got
end
function recv_all(sock, n, room)
  local got, controls = "", {}
  while #got < n do
    local mh = msghdr.new()
    mh:addn(room)
    local len, err, timeout = sock:recvmsg(mh)
    check(len, "recv_all: " .. tostring(err) .. " " .. tostring(timeout))
    got = got .. mh:concat():sub(1, len)
    local c = mh:control():shift()
    controls[#controls + 1] = c and { c:data() } or {}
  end
  return got, controls
end
"##;

fn script(body: &str) -> String {
    format!("{HELPERS}\n{body}")
}

/// lua-iovec's API: add/addn/set/get/del/concat/consume, `#`, bytes, tostring, IOV_MAX,
/// the -1 (full) and -3 (empty string) results, any bytes, argument errors at the script's line.
#[test]
fn iovec_module_api() {
    let out = lua_ok(
        "iovec",
        &script(
            r##"
eq(require("luanet.iovec"), iovec, "one module")
eq(iovec.IOV_MAX, 1024, "IOV_MAX")
local v = iovec.new()
check(tostring(v):match("^iovec: 0x%x+$"), tostring(v))
eq(#v, 0, "empty") eq(v:bytes(), 0, "no bytes") eq(v:concat(), "", "concat of nothing")
eq(v:add("foo"), 1, "add foo") eq(v:add("bar"), 2, "add bar") eq(v:add("baz"), 3, "add baz")
eq(#v, 3, "#v") eq(v:bytes(), 9, "bytes")
local idx, err = v:add("")
eq(idx, -3, "add ''") is_err(err, errno.EINVAL, "add")
eq(#v, 3, "nothing added")

eq(v:concat(), "foobarbaz", "concat")
eq(v:concat(0, 4), "foob", "concat 0 4")
eq(v:concat(4), "arbaz", "concat 4")
eq(v:concat(5, 3), "rba", "concat 5 3")
eq(v:concat(-1, 2), "fo", "a negative offset is 0")
eq(v:concat(0, -1), "", "a negative nbyte is 0")
eq(v:concat(9), "", "offset at the end")

eq(v:set("replace", 2), true, "set") eq(v:get(2), "replace", "get after set") eq(v:bytes(), 13, "bytes after set")
for _, i in ipairs({ -1, 0, 4 }) do
  eq(v:set("x", i), false, "set out of range " .. i)
  eq(v:get(i), nil, "get out of range " .. i)
  eq(v:del(i), nil, "del out of range " .. i)
end
eq(v:bytes(), 13, "out of range changes nothing")
eq(v:del(2), "replace", "del") eq(#v, 2, "#v after del") eq(v:bytes(), 6, "bytes after del")
eq(v:get(2), "baz", "the next element moved down")

eq(v:addn(4), 3, "addn") eq(v:get(3), "    ", "addn makes spaces") eq(v:bytes(), 10, "bytes after addn")

eq(v:consume(0), 10, "consume 0") eq(v:consume(-1), 10, "consume -1")
eq(v:consume(5), 5, "consume 5") eq(#v, 2, "#v after consume") eq(v:get(1), "z", "cut element")
eq(v:get(2), "    ", "untouched element")
eq(v:consume(100), 0, "consume all") eq(#v, 0, "nothing left") eq(v:get(1), nil, "no element")

local bin = "a\0b\255"
eq(v:add(bin), 1, "binary add") eq(v:get(1), bin, "binary get") eq(v:bytes(), 4, "binary bytes")
eq(v:concat(1, 2), "\0b", "binary concat")

local full = iovec.new()
for i = 1, iovec.IOV_MAX do
  if full:add("a") ~= i then fail("add " .. i) end
end
local n, ferr = full:add("a")
eq(n, -1, "add past IOV_MAX") is_err(ferr, errno.ENOBUFS, "add")
n, ferr = full:addn(1)
eq(n, -1, "addn past IOV_MAX") is_err(ferr, errno.ENOBUFS, "addn")
eq(#full, iovec.IOV_MAX, "#full") eq(full:bytes(), iovec.IOV_MAX, "full bytes")

throws("bad argument #1 to 'add' (string expected, got number)", function() v:add(1) end)
throws("bad argument #1 to 'addn' (1 or more integer expected, got less than 1)", function() v:addn(0) end)
throws("bad argument #1 to 'addn' (integer expected, got string)", function() v:addn("foo") end)
throws("bad argument #1 to 'set' (string expected, got number)", function() v:set(1, 1) end)
throws("bad argument #2 to 'set' (integer expected, got string)", function() v:set("x", "y") end)
throws("bad argument #1 to 'get' (integer expected, got string)", function() v:get("foo") end)
throws("bad argument #1 to 'del' (integer expected, got string)", function() v:del("foo") end)
throws("bad argument #1 to 'consume' (integer expected, got string)", function() v:consume("foo") end)
throws("bad argument #1 to 'concat' (integer expected, got string)", function() v:concat("x") end)
throws("bad argument #2 to 'writev' (uint64_t expected, got number)", function() v:writev(0, -1) end)
throws("bad argument #3 to 'readv' (uint64_t expected, got string)", function() v:readv(0, 0, "x") end)
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// iov:writev(fd)/iov:readv(fd) on the runtime's sockets, with upstream's return shapes:
/// `n, nil, again`; `0, nil, true` when full; nothing when the peer is gone or at the end;
/// `nil, nil, true` when nothing is there yet; EBADF for a descriptor that is not a socket's.
#[test]
fn iovec_readv_writev_on_socket_descriptors() {
    let out = lua_ok(
        "iovec-fd",
        &script(
            r##"
local p = assert(unix.pair())
local v = iovec.new()
v:add("foo") v:add("bar") v:add("baz")
local n, err, again = v:writev(p[1]:fd())
eq(n, 9, "writev") eq(err, nil, "no error") eq(again, false, "all of it")
eq(p[2]:read(), "foobarbaz", "read")
n, err, again = v:writev(p[1]:fd(), 5)
eq(n, 4, "writev from 5") eq(again, false, "again from 5")
eq(p[2]:read(), "rbaz", "read from 5")
eq(v:writev(p[1]:fd(), 5, 1), 1, "writev 5 1") eq(p[2]:read(), "r", "read 5 1")
eq(v:writev(p[1]:fd(), nil, 4), 4, "writev nil 4") eq(p[2]:read(), "foob", "read nil 4")

local r = iovec.new()
for _ = 1, 4 do r:addn(3) end
local a, b, c = r:readv(p[2]:fd())
eq(a, nil, "nothing yet") eq(b, nil, "no error") eq(c, true, "again")
p[1]:write("hello world!")
eq(r:readv(p[2]:fd()), 12, "readv") eq(r:concat(), "hello world!", "filled")
eq(#r, 4, "elements kept") eq(r:get(2), "lo ", "in place")
p[1]:write("HELLO")
eq(r:readv(p[2]:fd(), 7), 5, "readv at 7") eq(r:concat(), "hello wHELLO", "filled from 7")
p[1]:write("xyz")
eq(r:readv(p[2]:fd(), 1, 2), 2, "readv 1 2") eq(r:concat(), "hxylo wHELLO", "two bytes at 1")
eq(p[2]:read(), "z", "the rest stays")

-- a full socket: part of it, then 0, nil, true
local big = iovec.new()
big:add(string.rep("x", 4 * 1024 * 1024))
n, err, again = big:writev(p[1]:fd())
check(math.type(n) == "integer" and n > 0 and n < big:bytes(), "partial writev " .. tostring(n))
eq(err, nil, "partial no error") eq(again, true, "partial again")
n, err, again = big:writev(p[1]:fd())
eq(n, 0, "full") eq(err, nil, "full no error") eq(again, true, "full again")

local f = assert(io.open("x.txt", "w"))
local n2, e2 = v:writev(core.file_fd(f))
eq(n2, nil, "file descriptor") is_err(e2, errno.EBADF, "writev")
f:close()

local q = assert(unix.pair())
q[2]:close()
nils(0, v:writev(q[1]:fd()))
local e = assert(unix.pair())
e[1]:close()
nils(0, r:readv(e[2]:fd()))
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// net.msghdr as upstream's test/msghdr_test.lua checks it, plus the llsocket-shaped parts:
/// mh.msg, mh.iov, name getter/setter, control() cached, cmsghdr.rights/new/data,
/// cmsghdrs push/shift, and the argument errors.
#[test]
fn msghdr_module_api() {
    let out = lua_ok(
        "msghdr",
        &script(
            r##"
eq(require("luanet.net.msghdr"), msghdr, "one module")
local mh = msghdr.new()
check(tostring(mh):match("^net%.msghdr%.MsgHdr: 0x%x+$"), tostring(mh))
check(tostring(mh.msg):match("^llsocket%.msghdr: 0x%x+$"), tostring(mh.msg))
check(tostring(msghdr.new()) ~= tostring(mh), "distinct addresses")
eq(mh:name(), nil, "no name") eq(mh:bytes(), 0, "no bytes") eq(mh:consume(1), 0, "consume nothing")
eq(mh:concat(), "", "concat nothing") eq(mh:get(1), nil, "get nothing") eq(mh:del(1), nil, "del nothing")
eq(mh.iov, nil, "no iovec yet") eq(mh:flags(), 0, "flags")

local ai = addrinfo.new_inet_stream("127.0.0.1", 8080)
eq(mh:name(ai), nil, "name(ai) gives the previous") eq(mh:name(), ai, "name()") eq(mh.msg:name(), ai, "msg:name()")
eq(mh:name(nil), ai, "name(nil) gives the previous") eq(mh:name(), nil, "removed")
throws("bad argument #1 to 'name' (llsocket.addrinfo expected, got table)", function() mh:name({}) end)
throws("bad argument #1 to 'iov' (iovec expected, got string)", function() mh.msg:iov("x") end)

local cm = mh:control()
check(tostring(cm):match("^llsocket%.cmsghdrs: 0x%x+$"), tostring(cm))
eq(mh:control(), cm, "cached") eq(mh.msg:control(), cm, "msg:control()") eq(cm:shift(), nil, "empty")

eq(mh:add("foo/bar"), 1, "add") eq(mh:bytes(), 7, "bytes")
check(tostring(mh.iov):match("^iovec: "), "mh.iov is an iovec: " .. tostring(mh.iov))
eq(mh.msg:iov(), mh.iov, "msg:iov()")
eq(mh:addn(125), 2, "addn") eq(mh:get(2), string.rep(" ", 125), "spaces")
eq(mh:add("qux/quux"), 3, "add 3")
eq(mh:concat(), "foo/bar" .. string.rep(" ", 125) .. "qux/quux", "concat")
eq(mh:del(1), "foo/bar", "del") eq(mh:bytes(), 133, "bytes after del")
eq(mh:get(2), "qux/quux", "moved down") eq(mh:get(3), nil, "gone")
eq(mh:consume(25), 108, "consume") eq(mh:consume(200), 0, "consume all")
throws("idx must be int", function() mh:get("1") end)
throws("idx must be int", function() mh:del(1.5) end)
throws("bytes must be int", function() mh:consume("x") end)
throws("bad argument #1 to 'add' (string expected, got number)", function() mh:add(1) end)

local r = msghdr.cmsghdr.rights(3, 4, 5)
check(tostring(r):match("^llsocket%.cmsghdr: 0x%x+$"), tostring(r))
eq(r:level(), net.SOL_SOCKET, "level") eq(r:type(), net.SCM_RIGHTS, "type")
local a, b, c, d = r:data()
eq(a, 3, "fd 1") eq(b, 4, "fd 2") eq(c, 5, "fd 3") eq(d, nil, "three")
eq(#r - #msghdr.cmsghdr.rights(1), 8, "#cmsg grows 4 bytes a descriptor")
eq(msghdr.cmsghdr.rights(), nil, "rights()")
local o = msghdr.cmsghdr.new(net.SOL_SOCKET, 99, "blob")
eq(o:level(), net.SOL_SOCKET, "new level") eq(o:type(), 99, "new type") eq(o:data(), "blob", "new data")
eq(msghdr.cmsghdr.new(net.SOL_SOCKET, net.SCM_RIGHTS, string.pack("=i", 7)):data(), 7, "packed rights")
local l = msghdr.cmsghdrs.new()
check(tostring(l):match("^llsocket%.cmsghdrs: 0x%x+$"), tostring(l))
l:push(r) l:push(o)
eq(l:shift(), r, "first") eq(l:shift(), o, "second") eq(l:shift(), nil, "none left")
throws("bad argument #1 to 'push' (llsocket.cmsghdr expected, got table)", function() l:push({}) end)
throws("bad argument #1 to 'rights' (int32 expected, got string)", function() msghdr.cmsghdr.rights("x") end)
throws("bad argument #2 to 'new' (integer expected, got no value)", function() msghdr.cmsghdr.new(1) end)
throws("bad argument #3 to 'new' (string expected, got number)", function() msghdr.cmsghdr.new(1, 2, 3) end)
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// writev/readv on a Unix pair and over TCP: upstream's round trip (writev does not
/// consume, readv fills in place), offset and nbyte on both sides, binary bytes, no room
/// (EINVAL), nothing to write (0), the locked forms, and all nil at the end of the stream.
#[test]
fn writev_and_readv_round_trips() {
    let out = lua_ok(
        "writev",
        &script(
            r##"
for i, pair in ipairs({ assert(unix.pair()), tcp_pair() }) do
  local c, peer = pair[1], pair[2]
  local w = iovec.new()
  w:add("hello") w:add("world")
  local r = iovec.new()
  r:addn(5)
  eq(c:writev(w), 10, "writev " .. i)
  eq(w:bytes(), 10, "writev does not consume")
  eq(peer:readv(r), 5, "readv 1") eq(r:concat(), "hello", "first half")
  eq(peer:readv(r), 5, "readv 2") eq(r:concat(), "world", "second half")

  eq(c:writev(w, 3), 7, "writev from 3")
  eq(c:writev(w, 3, 4), 4, "writev 3 4")
  eq(c:writev(w, nil, 2), 2, "writev nil 2")
  eq(c:writev(w, 0, 0), 10, "nbyte 0 is all")
  eq(c:writev(w, 10), 0, "nothing past the end")
  eq(read_n(peer, 23), "loworld" .. "lowo" .. "he" .. "helloworld", "what writev sent")

  local big = iovec.new()
  big:addn(4) big:addn(4) big:addn(4)
  c:write("abcdefghijkl")
  local got = 0
  while got < 12 do got = got + assert(peer:readv(big, got)) end
  eq(big:concat(), "abcdefghijkl", "readv filled the elements") eq(big:get(2), "efgh", "element 2")
  c:write("XY")
  got = 0
  while got < 2 do got = got + assert(peer:readv(big, 5 + got, 2 - got)) end
  eq(big:concat(), "abcdeXYhijkl", "readv at 5, 2 bytes")
  c:write("1234567")
  got = 0
  while got < 5 do got = got + assert(peer:readv(big, 2 + got, 5 - got)) end
  eq(big:concat(), "ab12345hijkl", "readv across elements") eq(#big, 3, "elements kept")
  eq(big:get(1), "ab12", "element 1") eq(big:get(2), "345h", "element 2 after")
  eq(read_n(peer, 2), "67", "the rest stays")
  local n0, e0 = peer:readv(big, 12)
  eq(n0, nil, "no room") is_err(e0, errno.EINVAL, "readv")

  eq(c:writev(iovec.new()), 0, "an empty iovec")
  local bw = iovec.new()
  bw:add("a\0b") bw:add("\0\255")
  eq(c:writev(bw), 5, "binary writev")
  eq(read_n(peer, 5), "a\0b\0\255", "binary bytes")

  eq(c:writevsync(w), 10, "writevsync")
  local sr = iovec.new()
  sr:addn(10)
  got = 0
  while got < 10 do got = got + assert(peer:readvsync(sr, got)) end
  eq(sr:concat(), "helloworld", "readvsync")

  c:close()
  nils(nil, peer:readv(r))
end
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// sendmsg/recvmsg on a Unix pair and over TCP: upstream's round trip (sendmsg consumes,
/// recvmsg fills the iovec in place and leaves the rest of it), MSG_PEEK, an empty header,
/// the locked forms, no room on TCP (EINVAL), and all nil at the end of the stream.
#[test]
fn sendmsg_consumes_and_recvmsg_fills() {
    let out = lua_ok(
        "sendmsg",
        &script(
            r##"
for i, pair in ipairs({ assert(unix.pair()), tcp_pair() }) do
  local c, peer = pair[1], pair[2]
  local mhw = msghdr.new()
  mhw:add("hello") mhw:add("world")
  local mhr = msghdr.new()
  mhr:addn(5)
  eq(c:sendmsg(mhw), 10, "sendmsg " .. i)
  eq(mhw:bytes(), 0, "sendmsg consumed the message") eq(#mhw.iov, 0, "no elements left")
  eq(peer:recvmsg(mhr), 5, "recvmsg 1") eq(mhr:concat(), "hello", "first")
  eq(peer:recvmsg(mhr), 5, "recvmsg 2") eq(mhr:concat(), "world", "second")
  eq(mhr:bytes(), 5, "recvmsg keeps the room")

  local wide = msghdr.new()
  wide:addn(3) wide:addn(5)
  mhw:add("abc")
  eq(c:sendmsg(mhw), 3, "short message")
  eq(peer:recvmsg(wide), 3, "recvmsg short") eq(wide:concat(), "abc     ", "the rest of the room unchanged")

  mhw:add("peek")
  eq(c:sendmsg(mhw), 4, "sendmsg peek")
  local pk = msghdr.new()
  pk:addn(4)
  eq(peer:recvmsg(pk, net.MSG_PEEK), 4, "MSG_PEEK") eq(pk:concat(), "peek", "peeked")
  local again = msghdr.new()
  again:addn(4)
  eq(peer:recvmsg(again), 4, "still there") eq(again:concat(), "peek", "received")

  eq(c:sendmsg(msghdr.new()), 0, "an empty header sends nothing")
  mhw:add("sync")
  eq(c:sendmsgsync(mhw), 4, "sendmsgsync") eq(mhw:bytes(), 0, "sendmsgsync consumed")
  local sr = msghdr.new()
  sr:addn(4)
  eq(peer:recvmsgsync(sr), 4, "recvmsgsync") eq(sr:concat(), "sync", "recvmsgsync data")
  eq(sr:name(), nil, "streams leave the name")
  if i == 2 then
    local n0, e0 = peer:recvmsg(msghdr.new())
    eq(n0, nil, "no room") is_err(e0, errno.EINVAL, "recvmsg")
  end
  c:close()
  nils(3, peer:recvmsg(sr))
end
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// Datagrams: sendmsg to mh:name() on an unbound-destination UDP socket, recvmsg sets the
/// sender's address as the name, a datagram longer than the room is cut (MSG_TRUNC, the
/// rest lost), empty datagrams, writev/readv one datagram each, connected sockets,
/// EAFNOSUPPORT for a name of the wrong family, and Unix datagram sockets (a bound
/// sender's path; an unnamed sender gives no name).
#[test]
fn datagrams_use_and_set_the_name() {
    let out = lua_ok(
        "dgram",
        &script(
            r##"
local dinet = require "net.dgram.inet"
local dunix = require "net.dgram.unix"
local a = assert(dinet.new())
assert(a:bind("127.0.0.1", 0))
local b = assert(dinet.new())
assert(b:bind("127.0.0.1", 0))
local to = b:getsockname()
local mh = msghdr.new()
mh:add("udp ") mh:add("message")
mh:name(to)
eq(a:sendmsg(mh), 11, "sendmsg to the name") eq(mh:bytes(), 0, "consumed") eq(mh:name(), to, "name kept")
local r = msghdr.new()
r:addn(6) r:addn(6)
eq(b:recvmsg(r), 11, "recvmsg") eq(r:concat(), "udp message ", "filled")
local from = r:name()
check(from, "the sender's address")
eq(from:addr(), "127.0.0.1", "sender ip") eq(from:port(), a:getsockname():port(), "sender port")
eq(from:family(), net.AF_INET, "sender family") eq(r:flags(), 0, "not cut")

mh:add("0123456789abcdef")
eq(a:sendmsg(mh), 16, "a long datagram")
local small = msghdr.new()
small:addn(4)
eq(b:recvmsg(small), 4, "cut to the room") eq(small:concat(), "0123", "its start")
eq(small:flags() & net.MSG_TRUNC, net.MSG_TRUNC, "MSG_TRUNC")
mh:add("next")
a:sendmsg(mh)
eq(b:recvmsg(small), 4, "the next datagram") eq(small:concat(), "next", "the rest was dropped")
eq(small:flags(), 0, "flags reset")

local empty = msghdr.new()
empty:name(to)
eq(a:sendmsg(empty), 0, "an empty datagram")
eq(b:recvmsg(small), 0, "received empty") eq(small:concat(), "next", "nothing written")

local n, err = a:sendmsg(msghdr.new())
eq(n, nil, "no destination") check(err ~= nil, "an error without a destination")

local wrong = msghdr.new()
wrong:add("x")
wrong:name(addrinfo.new_unix_dgram("./nowhere.sock"))
n, err = a:sendmsg(wrong)
eq(n, nil, "wrong family") is_err(err, errno.EAFNOSUPPORT, "sendmsg")

assert(a:connect("127.0.0.1", to:port()))
local iov = iovec.new()
iov:add("da") iov:add("ta")
eq(a:writev(iov), 4, "writev one datagram")
local ri = iovec.new()
ri:addn(3) ri:addn(3)
eq(b:readv(ri), 4, "readv one datagram") eq(ri:concat(), "data  ", "in place")
mh:add("conn")
eq(a:sendmsg(mh), 4, "connected sendmsg")
r:name(nil)
eq(b:recvmsg(r), 4, "recvmsg connected") eq(r:name():port(), a:getsockname():port(), "name set again")

local us = assert(dunix.new())
assert(us:bind("./srv.sock"))
local uc = assert(dunix.new())
assert(uc:bind("./cli.sock"))
local um = msghdr.new()
um:add("over unix")
um:name(addrinfo.new_unix_dgram("./srv.sock"))
eq(uc:sendmsg(um), 9, "unix sendmsg to a path")
local ur = msghdr.new()
ur:addn(16)
eq(us:recvmsg(ur), 9, "unix recvmsg") eq(ur:concat():sub(1, 9), "over unix", "unix data")
eq(ur:name():addr(), "./cli.sock", "the sender's path") eq(ur:name():family(), net.AF_UNIX, "unix family")

local dp = assert(dunix.pair())
local pm = msghdr.new()
pm:add("pair")
eq(dp[1]:sendmsg(pm), 4, "pair sendmsg")
eq(dp[2]:recvmsg(ur), 4, "pair recvmsg") eq(ur:name(), nil, "an unnamed sender")
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// A real UDP peer (python3): sendmsg to its address, and recvmsg reports its address.
#[test]
fn datagrams_with_a_python_peer() {
    if !have_python() {
        eprintln!("python3 not available; skipped");
        return;
    }
    let dir = TempDir::new("dgram-py");
    let peer = python(
        dir.path(),
        r#"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
data, addr = s.recvfrom(100)
s.sendto(data.upper(), addr)
print("done")
"#,
    );
    let port = peer.line();
    let out = lua_ok_in(
        &dir,
        &script(&format!(
            r##"
local dinet = require "net.dgram.inet"
local d = assert(dinet.new())
assert(d:bind("127.0.0.1", 0))
local mh = msghdr.new()
mh:add("ping ") mh:add("python")
mh:name(assert(addrinfo.new_inet_dgram("127.0.0.1", {port})))
eq(d:sendmsg(mh), 11, "sendmsg") eq(mh:bytes(), 0, "consumed")
local r = msghdr.new()
r:addn(32)
eq(d:recvmsg(r), 11, "recvmsg") eq(r:concat():sub(1, 11), "PING PYTHON", "the echo")
eq(r:name():addr(), "127.0.0.1", "peer ip") eq(r:name():port(), {port}, "peer port")
print("ok")
"##
        )),
    );
    assert_eq!(out, "ok\n");
    assert_eq!(peer.line(), "done");
}

/// Descriptors through the control messages: sendmsg with cmsghdr.rights, recvmsg puts
/// them in mh:control() as one SCM_RIGHTS message (and they work); several at once;
/// descriptors without data; bytes 1 sent as data stay data; descriptors arrive with the
/// data after them; a header without room takes descriptors as recvfd does; sendfd/recvfd
/// interwork; Unix datagram pairs; EINVAL over TCP; other control messages EOPNOTSUPP.
#[test]
fn descriptors_pass_through_control_messages() {
    let out = lua_ok(
        "rights",
        &script(
            r##"
local dunix = require "net.dgram.unix"
local function talk(fd, other, msg)
  local w = assert(unix.wrap(fd))
  eq(w:write(msg), #msg, "write through the received descriptor")
  eq(other:read(), msg, "read on the other end")
end
local p = assert(unix.pair())
local other = assert(unix.pair())
local mh = msghdr.new()
mh:add("with a descriptor")
mh:control():push(msghdr.cmsghdr.rights(other[1]:fd()))
eq(p[1]:sendmsg(mh), 17, "sendmsg with rights") eq(mh:bytes(), 0, "consumed")
local r = msghdr.new()
r:addn(32)
eq(p[2]:recvmsg(r), 17, "recvmsg with rights") eq(r:concat():sub(1, 17), "with a descriptor", "its data")
local cm = r:control():shift()
check(cm, "a control message")
eq(cm:level(), net.SOL_SOCKET, "SOL_SOCKET") eq(cm:type(), net.SCM_RIGHTS, "SCM_RIGHTS")
local fd, extra = cm:data()
check(math.type(fd) == "integer" and fd >= 0 and fd ~= other[1]:fd(), "a new descriptor: " .. tostring(fd))
eq(extra, nil, "one descriptor") eq(r:control():shift(), nil, "one message")
talk(fd, other[2], "via fd")

local two = assert(unix.pair())
local fm = msghdr.new()
fm:control():push(msghdr.cmsghdr.rights(two[1]:fd(), two[2]:fd()))
eq(p[1]:sendmsg(fm), 0, "descriptors without data")
local fr = msghdr.new()
fr:addn(8)
eq(p[2]:recvmsg(fr), 0, "received without data")
local fa, fb = fr:control():shift():data()
check(math.type(fa) == "integer" and math.type(fb) == "integer", "two descriptors")
local wa, wb = assert(unix.wrap(fa)), assert(unix.wrap(fb))
eq(wa:write("pair"), 4, "write on the first") eq(wb:read(), "pair", "read on the second")

eq(p[1]:write("\1"), 1, "a plain 1")
eq(p[2]:recvmsg(r), 1, "a plain 1 is data") eq(r:concat():sub(1, 1), "\1", "the 1")
eq(r:control():shift(), nil, "no descriptor with the plain 1")
eq(p[1]:write("a\1"), 2, "a 1 at the end")
local got, controls = recv_all(p[2], 2, 16)
eq(got, "a\1", "a 1 at the end stays data")
eq(p[1]:write("\1"), 1, "a 1 alone") eq(p[1]:write("\1\1b"), 3, "two 1s")
got, controls = recv_all(p[2], 4, 16)
eq(got, "\1\1\1b", "bytes 1 stay data")
for _, c in ipairs(controls) do eq(#c, 0, "no descriptors") end

eq(p[1]:write("x\1"), 2, "data ending in 1")
mh:add("after")
eq(p[1]:sendmsg(mh), 5, "the rights again, with data")
r:control():push(msghdr.cmsghdr.rights(0))
eq(p[2]:recvmsg(r), 2, "reading stops before the descriptors") eq(r:concat():sub(1, 2), "x\1", "the data before")
eq(r:control():shift(), nil, "recvmsg replaced the old control messages")
eq(p[2]:recvmsg(r), 5, "then the descriptors with their data") eq(r:concat():sub(1, 5), "after", "their data")
talk(assert(r:control():shift()):data(), other[2], "again")

eq(p[1]:sendfd(other[1]:fd()), 0, "sendfd")
local none = msghdr.new()
eq(p[2]:recvmsg(none), 0, "a header without room") talk(none:control():shift():data(), other[2], "recvfd-like")
mh:add("z")
eq(p[1]:sendmsg(mh), 1, "sendmsg for recvfd")
local rfd = p[2]:recvfd()
check(math.type(rfd) == "integer", "recvfd takes sendmsg's descriptor")
eq(p[2]:read(), "z", "then the data")
talk(rfd, other[2], "recvfd")

local dp = assert(dunix.pair())
local dm = msghdr.new()
dm:add("dgram")
dm:control():push(msghdr.cmsghdr.rights(other[1]:fd()))
eq(dp[1]:sendmsg(dm), 5, "datagram with rights")
local dr = msghdr.new()
dr:addn(16)
eq(dp[2]:recvmsg(dr), 5, "datagram received") eq(dr:concat():sub(1, 5), "dgram", "datagram data")
talk(dr:control():shift():data(), other[2], "via datagram")
eq(dp[1]:send("\1"), 1, "a datagram of one 1")
eq(dp[2]:recvmsg(dr), 1, "is data") eq(dr:concat():sub(1, 1), "\1", "the 1") eq(dr:control():shift(), nil, "no rights")
local fdm = msghdr.new()
fdm:control():push(msghdr.cmsghdr.rights(other[1]:fd()))
eq(dp[1]:sendmsg(fdm), 0, "datagram rights only")
eq(dp[2]:recvmsg(dr), 0, "an empty datagram with rights") talk(dr:control():shift():data(), other[2], "dgram only")

local tp = tcp_pair()
local tm = msghdr.new()
tm:add("x")
tm:control():push(msghdr.cmsghdr.rights(0))
local n, err = tp[1]:sendmsg(tm)
eq(n, nil, "rights over TCP") is_err(err, errno.EINVAL, "sendmsg") eq(tm:bytes(), 1, "nothing consumed")
local om = msghdr.new()
om:add("x")
om:control():push(msghdr.cmsghdr.new(net.SOL_SOCKET, 2, "creds"))
n, err = p[1]:sendmsg(om)
eq(n, nil, "other control messages") is_err(err, errno.EOPNOTSUPP, "sendmsg")
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// Timeouts: readv/recvmsg (streams and datagrams) give nil, nil, true; writev and
/// sendmsg give sent, nil, true, and sendmsg consumed exactly what went (the peer then
/// reads exactly those bytes). None comes back before half its deadline.
#[test]
fn timeouts_keep_upstreams_shapes() {
    let out = lua_ok(
        "timeouts",
        &script(
            r##"
local dinet = require "net.dgram.inet"
local function timed(what, fn, ...)
  local t0 = core.now()
  local r = table.pack(fn(...))
  check(core.now() - t0 >= 0.15, what .. " returned too early")
  return table.unpack(r, 1, r.n)
end
local p = assert(unix.pair())
p[2]:rcvtimeo(0.3)
local iov = iovec.new()
iov:addn(8)
local a, b, c = timed("readv", p[2].readv, p[2], iov)
eq(a, nil, "readv") eq(b, nil, "readv err") eq(c, true, "readv timeout")
local mh = msghdr.new()
mh:addn(8)
a, b, c = timed("recvmsg", p[2].recvmsg, p[2], mh)
eq(a, nil, "recvmsg") eq(b, nil, "recvmsg err") eq(c, true, "recvmsg timeout")
a, b, c = timed("recvmsgsync", p[2].recvmsgsync, p[2], mh)
eq(a, nil, "recvmsgsync") eq(b, nil, "recvmsgsync err") eq(c, true, "recvmsgsync timeout")
local d = assert(dinet.new())
assert(d:bind("127.0.0.1", 0))
d:rcvtimeo(0.3)
a, b, c = timed("dgram recvmsg", d.recvmsg, d, mh)
eq(a, nil, "dgram recvmsg") eq(b, nil, "dgram err") eq(c, true, "dgram timeout")

local chunk = 65536
local big = iovec.new()
for i = 1, 64 do big:add(string.rep(string.char(65 + i % 26), chunk)) end
local total = big:bytes()
p[1]:sndtimeo(0.3)
local sent, err, timeout = timed("writev", p[1].writev, p[1], big)
check(math.type(sent) == "integer" and sent < total, "writev sent " .. tostring(sent))
eq(err, nil, "writev err") eq(timeout, true, "writev timeout") eq(big:bytes(), total, "writev consumed nothing")

local q = assert(unix.pair())
q[1]:sndtimeo(0.3)
local m = msghdr.new()
for i = 1, 64 do m:add(string.rep(string.char(97 + i % 26), chunk)) end
local want = m:concat()
sent, err, timeout = timed("sendmsg", q[1].sendmsg, q[1], m)
check(math.type(sent) == "integer" and sent < total, "sendmsg sent " .. tostring(sent))
eq(err, nil, "sendmsg err") eq(timeout, true, "sendmsg timeout")
eq(m:bytes(), total - sent, "sendmsg consumed what went")
eq(m:concat(), want:sub(sent + 1), "what is left is the rest")
q[2]:rcvtimeo(0.2)
eq(read_n(q[2], sent), want:sub(1, sent), "the peer got exactly the bytes sent")
a, b, c = q[2]:read()
eq(a, nil, "nothing more") eq(c, true, "nothing more: timeout")
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// Argument errors are thrown at the script's line; values of the right type that cannot
/// work are returned (EINVAL, EBADF on a closed socket, ENOTCONN on a listener); the
/// locked forms return argument errors as nil, err.
#[test]
fn argument_errors_and_bad_values() {
    let out = lua_ok(
        "args",
        &script(
            r##"
local pair = assert(unix.pair())
local s = pair[1]
local iov = iovec.new()
iov:add("x")
local mh = msghdr.new()
mh:add("kept")
throws("bad argument #1 to 'readv' (iovec expected, got table)", function() s:readv({}) end)
throws("bad argument #1 to 'readv' (iovec expected, got no value)", function() s:readv() end)
throws("bad argument #2 to 'readv' (unsigned integer expected, got number)", function() s:readv(iov, -1) end)
throws("bad argument #3 to 'readv' (unsigned integer expected, got string)", function() s:readv(iov, 0, "x") end)
throws("bad argument #1 to 'writev' (iovec expected, got table)", function() s:writev(mh) end)
throws("bad argument #2 to 'writev' (unsigned integer expected, got number)", function() s:writev(iov, 1.5) end)
throws("bad argument #1 to 'sendmsg' (net.msghdr.MsgHdr expected, got table)", function() s:sendmsg(iov) end)
throws("bad argument #1 to 'sendmsg' (net.msghdr.MsgHdr expected, got table)", function() s:sendmsg({}) end)
throws("bad argument #3 to 'sendmsg' (integer expected, got string)", function() s:sendmsg(mh, 0, "x") end)
throws("bad argument #1 to 'recvmsg' (net.msghdr.MsgHdr expected, got no value)", function() s:recvmsg() end)
throws("bad argument #2 to 'recvmsg' (integer expected, got string)", function() s:recvmsg(mh, "peek") end)
eq(mh:bytes(), 4, "nothing consumed")

local v, e = s:readvsync({})
eq(v, nil, "readvsync argument error") check(tostring(e):find("iovec expected", 1, true), tostring(e))
v, e = s:sendmsgsync(42)
eq(v, nil, "sendmsgsync argument error") check(tostring(e):find("MsgHdr expected", 1, true), tostring(e))

local tp = tcp_pair()
local n, err = tp[2]:recvmsg(msghdr.new())
eq(n, nil, "recvmsg without room") is_err(err, errno.EINVAL, "recvmsg")

local server = assert(inet.server.new("127.0.0.1", 0))
assert(server:listen())
n, err = server:recvmsg(mh)
eq(n, nil, "listener recvmsg") is_err(err, errno.ENOTCONN, "recvmsg")
n, err = server:sendmsg(mh)
eq(n, nil, "listener sendmsg") is_err(err, errno.ENOTCONN, "sendmsg")

s:close()
n, err = s:readv(iov)
eq(n, nil, "readv closed") is_err(err, errno.EBADF, "readv")
n, err = s:writev(iov)
eq(n, nil, "writev closed") is_err(err, errno.EBADF, "writev")
n, err = s:sendmsg(mh)
eq(n, nil, "sendmsg closed") is_err(err, errno.EBADF, "sendmsg") eq(mh:bytes(), 4, "still nothing consumed")
n, err = s:recvmsg(mh)
eq(n, nil, "recvmsg closed") is_err(err, errno.EBADF, "recvmsg")
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails.
fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(out.status.success(), "openssl {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// TLS sockets (client and accepted peer, before any handshake) refuse every scatter/gather
/// method with nil, EOPNOTSUPP even when given real arguments, and touch nothing.
#[test]
fn tls_sockets_refuse_scatter_gather() {
    let dir = TempDir::new("msghdr-tls");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
    );
    let out = lua_ok_in(
        &dir,
        &script(
            r##"
local server = assert(inet.server.new("127.0.0.1", 0, { tlscfg = { cert = "cert.pem", key = "key.pem" } }))
assert(server:listen())
local c = assert(inet.client.new("127.0.0.1", server:getsockname():port(), { tlscfg = { noverify_cert = true } }))
local p = assert(server:accept())
local mh = msghdr.new()
mh:add("kept")
local rmh = msghdr.new()
rmh:addn(4)
local iov = iovec.new()
iov:add("kept")
for _, s in ipairs({ c, p }) do
  check(tostring(s):match("^net%.tls%.stream%.inet%."), tostring(s))
  for _, call in ipairs({ { "sendmsg", mh }, { "sendmsgsync", mh }, { "recvmsg", rmh }, { "recvmsgsync", rmh },
    { "writev", iov }, { "writevsync", iov }, { "readv", iov }, { "readvsync", iov } }) do
    local m = call[1]
    local v, err = s[m](s, call[2])
    eq(v, nil, m) is_err(err, errno.EOPNOTSUPP, nil, m)
  end
end
eq(mh:bytes(), 4, "sendmsg consumed nothing") eq(iov:concat(), "kept", "iovec untouched")
eq(rmh:concat(), "    ", "nothing received")
print("ok")
"##,
        ),
    );
    assert_eq!(out, "ok\n");
}
