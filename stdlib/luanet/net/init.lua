-- `net` of the luanet dialect (mah0x211's lua-net v0.41): the table of integer socket
-- constants (AF_INET, SOCK_STREAM, IPPROTO_TCP, MSG_*, SHUT_*, AI_*, NI_*, SOL_*, SCM_*,
-- ...), and the root class `net.Socket` every socket of `net.*` inherits.
--
--   local net = require "net"
--   local inet = require "net.stream.inet"
--   local sock = assert(inet.client.new("127.0.0.1", 8080))
--   sock:family() == net.AF_INET
--   sock:rcvtimeo(1.5)                    -- a 1.5 s budget for each receiving call
--   local data, err, timeout = sock:read()     -- data | nil, err | nil, nil, true | EOF: all nil
--
-- Scatter/gather: sock:writev(iov)/sock:readv(iov) on an `iovec`, sock:sendmsg(mh)/
-- sock:recvmsg(mh) on a `net.msghdr` (descriptors in its control messages on Unix sockets).
--
-- `self.sock` of an instance is the runtime's socket object (`rluanet.core`), not an
-- llsocket userdata. The methods wait through `gpoll` (inside a task they yield, outside one
-- they run the event loop), within the budget rcvtimeo/sndtimeo set (3600 s by default).
--
-- For subclasses (net.tls.* among them): `require("net.class").methods("net.Socket")`
-- gives these methods; `init(self, sock)` must run on every new instance.

local CANONICAL = "luanet.net"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local gpoll = require "luanet.gpoll"
local errors = require "luanet.error"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local I = require "luanet.net.internal"

local type, pairs, ipairs, error, tostring = type, pairs, ipairs, error, tostring
local xpcall, setmetatable, getmetatable = xpcall, setmetatable, getmetatable
local pack, concat = table.pack, table.concat
local find, sub, byte = string.find, string.sub, string.byte
local tointeger = math.tointeger
local traceback = debug.traceback
local is_finite, is_uint, is_int = I.is_finite, I.is_uint, I.is_int
local argerror, syserr, newerr = I.argerror, I.syserr, I.newerr
local new_deadline = I.new_deadline
local DEFAULT_MAX_TIMEOUT = I.DEFAULT_MAX_TIMEOUT

local C = core.constants
local AF_UNIX = C.AF_UNIX
local SOCK_STREAM, SOCK_DGRAM = C.SOCK_STREAM, C.SOCK_DGRAM
local IPPROTO_TCP, IPPROTO_UDP = C.IPPROTO_TCP, C.IPPROTO_UDP
local MSG_NOSIGNAL, MSG_DONTWAIT = C.MSG_NOSIGNAL or 0, C.MSG_DONTWAIT or 0

local DEFAULT_RECVSIZE = 4096

-- The constants table lua-net's `net` module is.
local NET = {}
for k, v in pairs(C) do
  if type(k) == "string" and find(k, "^[%u][%u%d_]*$") and type(v) == "number" then
    NET[k] = v
  end
end

-- State of each instance that is not one of upstream's visible fields.
local PRIV = setmetatable({}, { __mode = "k" })

local function priv(self)
  local p = PRIV[self]
  if p == nil then
    p = { rcvtimeo = 0, sndtimeo = 0 }
    PRIV[self] = p
  end
  return p
end

---------------------------------------------------------------------------------------------
-- net.Socket

local Socket = {}

--- init(sock): `sock` is a core socket object (stream, listener or datagram).
function Socket:init(sock)
  self.sock = sock
  local p = priv(self)
  p.kind = I.kind(sock)
  local fam, st, proto = sock:socket_info()
  if fam ~= nil then
    if proto == 0 and fam ~= AF_UNIX then
      proto = st == SOCK_STREAM and IPPROTO_TCP or (st == SOCK_DGRAM and IPPROTO_UDP or 0)
    elseif fam == AF_UNIX then
      proto = 0
    end
    p.family, p.socktype, p.protocol = fam, st, proto
  end
  return self
end

--- sockkind(): "stream", "listener" or "datagram" (what kind of core object self.sock is).
function Socket:sockkind()
  return priv(self).kind
end

function Socket:fd()
  return self.sock:fd()
end

function Socket:family()
  return priv(self).family
end

function Socket:socktype()
  return priv(self).socktype
end

function Socket:protocol()
  return priv(self).protocol
end

local function address_of(self, a, b)
  local p = priv(self)
  if p.family == AF_UNIX then
    return addrinfo.from_unix(a, p.socktype)
  end
  return addrinfo.from_inet(a, b, p.socktype, p.protocol)
end

--- getsockname(): the local address as an address object, or nil, err.
function Socket:getsockname()
  local a, b, c = self.sock:local_addr()
  if a == nil then
    return nil, syserr(b, c, "getsockname")
  end
  return address_of(self, a, b)
end

--- getpeername(): the peer's address as an address object, or nil, err.
function Socket:getpeername()
  local sock = self.sock
  if priv(self).kind == "listener" then
    return nil, newerr("ENOTCONN", nil, "getpeername")
  end
  local a, b, c = sock:peer_addr()
  if a == nil then
    return nil, syserr(b, c, "getpeername")
  end
  return address_of(self, a, b)
end

local function shutdown(self, how, op)
  local sock = self.sock
  if priv(self).kind ~= "stream" then
    if sock:fd() == -1 then
      return false, newerr("EBADF", nil, op)
    end
    return false, newerr("EOPNOTSUPP", "shutdown is only supported on stream sockets", op)
  end
  local ok, msg, code = sock:shutdown(how)
  if not ok then
    return false, syserr(msg, code, op)
  end
  return true
end

--- closer(): shuts the receiving side down (after canceling the waits to read).
function Socket:closer()
  local fd = self:fd()
  if fd ~= -1 then
    gpoll.unwait_readable(fd)
  end
  return shutdown(self, "r", "shutdown")
end

--- closew(): shuts the sending side down (after canceling the waits to write).
function Socket:closew()
  local fd = self:fd()
  if fd ~= -1 then
    gpoll.unwait_writable(fd)
  end
  return shutdown(self, "w", "shutdown")
end

--- close([shutrd [, shutwr]]): cancels the waits, optionally shuts down, and closes.
--- Closing a closed socket returns true.
function Socket:close(shutrd, shutwr)
  if shutrd ~= nil and type(shutrd) ~= "boolean" then
    error("shutrd must be boolean", 2)
  elseif shutwr ~= nil and type(shutwr) ~= "boolean" then
    error("shutwr must be boolean", 2)
  end
  local sock = self.sock
  local fd = sock:fd()
  if fd == -1 then
    return true
  end
  gpoll.unwait(fd)
  if (shutrd or shutwr) and priv(self).kind == "stream" then
    sock:shutdown((shutrd and shutwr) and "rw" or (shutrd and "r" or "w"))
  end
  sock:close()
  return true
end

function Socket:atmark()
  return nil, newerr("EOPNOTSUPP", "atmark is not supported by rlua-net", "ioctl")
end

--- cloexec([enable]): the runtime's sockets are always close-on-exec.
function Socket:cloexec(enable)
  if enable ~= nil and type(enable) ~= "boolean" then
    argerror(1, "cloexec", "boolean", enable)
  elseif self:fd() == -1 then
    return nil, newerr("EBADF", nil, "fcntl")
  elseif enable == false then
    return nil, newerr("EOPNOTSUPP", "the runtime's sockets are always close-on-exec", "fcntl")
  end
  return true
end

--- isnonblock(): the runtime's sockets are always non-blocking.
function Socket:isnonblock()
  return true
end

--- error(): the pending socket error (SO_ERROR) as an error object, or nil.
function Socket:error()
  local code, msg, c = self.sock:getopt("error")
  if code == nil then
    return nil, syserr(msg, c, "getsockopt")
  elseif code ~= 0 then
    return syserr(nil, code, "getsockopt")
  end
end

-- Options. A getter-setter returns the value before the change (nil, err on failure).

local function getopt(self, name)
  local v, msg, code = self.sock:getopt(name)
  if v == nil and msg ~= nil then
    return nil, syserr(msg, code, "getsockopt")
  end
  return v
end

local function setopt(self, name, v)
  local ok, msg, code = self.sock:setopt(name, v)
  if not ok then
    return nil, syserr(msg, code, "setsockopt")
  end
  return true
end

local function boolopt(fname, name)
  return function(self, enable)
    if enable ~= nil and type(enable) ~= "boolean" then
      argerror(1, fname, "boolean", enable)
    end
    local old, err = getopt(self, name)
    if err then
      return nil, err
    elseif enable ~= nil then
      local _, serr = setopt(self, name, enable)
      if serr then
        return nil, serr
      end
    end
    return old
  end
end

local function intopt(fname, name)
  return function(self, n)
    if n ~= nil and not is_uint(n) then
      argerror(1, fname, "unsigned integer", n)
    end
    local old, err = getopt(self, name)
    if err then
      return nil, err
    elseif n ~= nil then
      local _, serr = setopt(self, name, n)
      if serr then
        return nil, serr
      end
    end
    return old
  end
end

Socket.reuseport = boolopt("reuseport", "reuseport")
Socket.reuseaddr = boolopt("reuseaddr", "reuseaddr")
Socket.debug = boolopt("debug", "debug")
Socket.dontroute = boolopt("dontroute", "dontroute")
Socket.timestamp = boolopt("timestamp", "timestamp")
Socket.rcvbuf = intopt("rcvbuf", "rcvbuf")
Socket.sndbuf = intopt("sndbuf", "sndbuf")
Socket.rcvlowat = intopt("rcvlowat", "rcvlowat")
Socket.sndlowat = intopt("sndlowat", "sndlowat")

--- linger([sec]): the linger time before the change (nil when it was off); a negative
--- `sec` turns lingering off.
function Socket:linger(sec)
  if sec ~= nil and not is_int(sec) then
    argerror(1, "linger", "integer", sec)
  end
  local old, err = getopt(self, "linger")
  if err then
    return nil, err
  elseif sec ~= nil then
    local _, serr = setopt(self, "linger", sec >= 0 and sec or false)
    if serr then
      return nil, serr
    end
  end
  return old
end

-- rcvtimeo/sndtimeo: the runtime's sockets are non-blocking, so the kernel value has no
-- effect of its own; it is kept here, and the deadline of the receiving/sending methods
-- becomes `sec` (or, when called as a getter, the current value, as in lua-net v0.41).
local function timeo(self, sec, key, field)
  local p = priv(self)
  if self:fd() == -1 then
    return nil, newerr("EBADF", nil, "getsockopt")
  elseif sec ~= nil and sec < 0 then
    return nil, newerr("EDOM", nil, "setsockopt")
  end
  local old = p[key]
  if sec ~= nil then
    p[key] = sec
  end
  self[field] = sec or old
  return old
end

function Socket:rcvtimeo(sec)
  if sec ~= nil and not is_finite(sec) then
    error("sec must be finite-number", 2)
  end
  return timeo(self, sec, "rcvtimeo", "rcvdeadl")
end

function Socket:sndtimeo(sec)
  if sec ~= nil and not is_finite(sec) then
    error("sec must be finite-number", 2)
  end
  return timeo(self, sec, "sndtimeo", "snddeadl")
end

-- Protected helpers (for subclasses).

--- get_recv_deadline(): a fresh deadline of the receive budget, and its seconds.
function Socket:get_recv_deadline()
  return new_deadline(self.rcvdeadl or DEFAULT_MAX_TIMEOUT)
end

function Socket:get_send_deadline()
  return new_deadline(self.snddeadl or DEFAULT_MAX_TIMEOUT)
end

--- wait_readable([sec]): fd once readable, nil, err, or nil, nil, true on timeout.
function Socket:wait_readable(sec)
  local fd = self:fd()
  if fd == -1 then
    return nil, newerr("EBADF", nil, "wait_readable")
  end
  return gpoll.wait_readable(fd, sec)
end

function Socket:wait_writable(sec)
  local fd = self:fd()
  if fd == -1 then
    return nil, newerr("EBADF", nil, "wait_writable")
  end
  return gpoll.wait_writable(fd, sec)
end

function Socket:unwait_readable()
  local fd = self:fd()
  return fd == -1 or gpoll.unwait_readable(fd)
end

function Socket:unwait_writable()
  local fd = self:fd()
  return fd == -1 or gpoll.unwait_writable(fd)
end

function Socket:unwait()
  local fd = self:fd()
  return fd == -1 or gpoll.unwait(fd)
end

-- Raw non-blocking I/O on the core object: data | false (would block) | nil (EOF) |
-- nil, msg, code.
local function raw_recv(self, bufsize, flags, lazy)
  local sock = self.sock
  local kind = priv(self).kind
  if kind == "stream" then
    -- A closed stream answers "socket is closed" (EBADF) itself.
    if flags ~= 0 then
      return sock:recv(bufsize, flags)
    end
    return sock:read(bufsize, lazy)
  elseif sock:fd() == -1 then
    return nil, "socket is closed", core.errno.EBADF
  elseif kind == "datagram" then
    -- As recvfrom(2): one datagram, cut to bufsize (the rest is lost).
    return sock:recv(bufsize, flags ~= 0 and flags or nil)
  end
  return nil, "not a connected socket", core.errno.ENOTCONN
end

-- Bytes sent now (0: would block) | nil, msg, code.
local function raw_send(self, str, flags)
  local sock = self.sock
  local kind = priv(self).kind
  -- MSG_NOSIGNAL and MSG_DONTWAIT are what the runtime always does; other flags (MSG_OOB,
  -- ...) go to send(2) on plain streams.
  flags = flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT)
  if kind == "stream" then -- a closed stream answers "socket is closed" (EBADF) itself
    return sock:send(str, flags ~= 0 and flags or nil)
  elseif sock:fd() == -1 then
    return nil, "socket is closed", core.errno.EBADF
  elseif kind == "datagram" then
    if flags ~= 0 then
      return nil, "send flags are not supported on datagram sockets by rlua-net", core.errno.EOPNOTSUPP
    end
    return sock:send(str)
  end
  return nil, "not a connected socket", core.errno.ENOTCONN
end

-- bufsize: nil (the default size) or an integer; an argument error of the method.
local function check_bufsize(fname, bufsize)
  if bufsize ~= nil and not is_int(bufsize) then
    argerror(1, fname, "integer", bufsize, 3)
  end
end

local function recv_loop(self, fname, bufsize, flags)
  if bufsize == nil then
    bufsize = DEFAULT_RECVSIZE
  elseif bufsize <= 0 then
    return nil, newerr("EINVAL", "bufsize must be greater than 0", fname)
  end
  local deadline -- made at the first wait: most calls never wait
  while true do
    -- Lazy: right after a short read the core may say "nothing yet" without asking the
    -- kernel, as this loop then waits for the socket.
    local data, msg, code = raw_recv(self, bufsize, flags, true)
    if data then
      return data
    elseif data == nil then
      if msg ~= nil then
        return nil, syserr(msg, code, fname)
      end
      return nil, nil, nil -- closed by peer
    end
    deadline = deadline or self:get_recv_deadline()
    local ok, err, timeout = I.await(self, deadline, "wait_readable")
    if not ok then
      return nil, err, timeout
    end
  end
end

--- read([bufsize]): str, err, timeout; all nil when the peer closed.
function Socket:read(bufsize)
  check_bufsize("read", bufsize)
  return recv_loop(self, "read", bufsize, 0)
end

--- recv([bufsize [, flag, ...]]): as read, with MSG_* flags.
function Socket:recv(bufsize, ...)
  check_bufsize("recv", bufsize)
  local flags = I.flags("recv", 2, ...)
  return recv_loop(self, "recv", bufsize, flags)
end

local function check_str(fname, str)
  if type(str) ~= "string" then
    argerror(1, fname, "string", str, 3)
  end
end

local function send_loop(self, fname, str, flags)
  if #str == 0 then
    return nil, newerr("EINVAL", "empty string", fname)
  end
  local deadline -- made at the first wait: most calls never wait
  local total, sent = #str, 0
  while true do
    local n, msg, code = raw_send(self, str, flags)
    if n == nil then
      return nil, syserr(msg, code, fname)
    end
    sent = sent + n
    if sent >= total or (n > 0 and priv(self).kind == "datagram") then
      return sent
    elseif n > 0 then
      str = sub(str, n + 1)
    end
    deadline = deadline or self:get_send_deadline()
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return sent, err, timeout
    end
  end
end

--- write(str): len, err, timeout (sent so far, nil, true on timeout).
function Socket:write(str)
  check_str("write", str)
  return send_loop(self, "write", str, 0)
end

--- send(str [, flag, ...]): as write; MSG_NOSIGNAL and MSG_DONTWAIT are accepted (the
--- runtime never raises SIGPIPE and its sockets never block), others give EOPNOTSUPP.
function Socket:send(str, ...)
  check_str("send", str)
  local flags = I.flags("send", 2, ...)
  return send_loop(self, "send", str, flags)
end

-- syncread/syncwrite: the calling coroutine holds the fd's read (write) lock while fn runs.

local ERROR_MT = getmetatable(errors.new(""))

local function on_error(e)
  if getmetatable(e) == ERROR_MT then
    return e
  end
  return errors.new(traceback(tostring(e), 2), nil, 2)
end

local function locked(lock, unlock, fd, sec, fn, self, ...)
  local ok, err, timeout = lock(fd, sec)
  if not ok then
    return false, err, timeout
  end
  local res = pack(xpcall(fn, on_error, self, ...))
  unlock(fd)
  return true, res
end

--- syncread(fn, ...): fn(self, ...) while holding the read lock: v, err, timeout, extra.
--- A Lua error in fn releases the lock and returns nil, err.
function Socket:syncread(fn, ...)
  if type(fn) ~= "function" then
    argerror(1, "syncread", "function", fn)
  end
  local fd = self:fd()
  if fd == -1 then
    return nil, newerr("EBADF", nil, "read_lock")
  end
  local ok, res, timeout = locked(gpoll.read_lock, gpoll.read_unlock, fd, self.rcvdeadl, fn, self, ...)
  if not ok then
    return nil, res, timeout
  elseif not res[1] then
    return nil, res[2]
  end
  return res[2], res[3], res[4], res[5]
end

--- syncwrite(fn, ...): fn(self, ...) while holding the write lock: len, err, timeout.
--- A lock that times out gives 0, nil, true.
function Socket:syncwrite(fn, ...)
  if type(fn) ~= "function" then
    argerror(1, "syncwrite", "function", fn)
  end
  local fd = self:fd()
  if fd == -1 then
    return nil, newerr("EBADF", nil, "write_lock")
  end
  local ok, res, timeout = locked(gpoll.write_lock, gpoll.write_unlock, fd, self.snddeadl, fn, self, ...)
  if not ok then
    if res == nil and timeout then
      return 0, nil, true
    end
    return nil, res, timeout
  elseif not res[1] then
    return nil, res[2]
  end
  return res[2], res[3], res[4]
end

function Socket:readsync(bufsize)
  return self:syncread(self.read, bufsize)
end

function Socket:recvsync(bufsize, ...)
  return self:syncread(self.recv, bufsize, ...)
end

function Socket:writesync(str)
  return self:syncwrite(self.write, str)
end

function Socket:sendsync(str, ...)
  return self:syncwrite(self.send, str, ...)
end

---------------------------------------------------------------------------------------------
-- Scatter/gather I/O: readv/writev on a lua-iovec, sendmsg/recvmsg on a net.msghdr.
--
-- Emulated over the runtime's reads and sends: writev and sendmsg send the gathered bytes
-- (all of them, within the send budget); readv and recvmsg read once (what is there, at
-- most the room left in the iovec) and scatter it over the elements in place. Descriptors
-- (SCM_RIGHTS control messages) travel on Unix sockets as sendfd sends them: one byte each,
-- ahead of the data; recvmsg recognises them and gives them back in mh:control().

local MSG_PEEK, MSG_TRUNC = C.MSG_PEEK or 0, C.MSG_TRUNC or 0

-- The internals of `iovec` and `net.msghdr`, loaded on first use.
local IOV, MH

local function iov_internal()
  if IOV == nil then
    IOV = require("luanet.iovec").__internal
  end
  return IOV
end

local function mh_internal()
  if MH == nil then
    MH = require("luanet.net.msghdr").__internal
  end
  return MH
end

-- Argument checks: errors of the method that called them (which must call them directly).
local function check_iovec(fname, iov)
  if not iov_internal().is_iovec(iov) then
    argerror(1, fname, "iovec", iov, 3)
  end
end

local function check_count(fname, n, v)
  if v ~= nil and not is_uint(v) then
    argerror(n, fname, "unsigned integer", v, 3)
  end
end

local function check_msghdr(fname, mh)
  if not mh_internal().is_msghdr(mh) then
    argerror(1, fname, "net.msghdr.MsgHdr", mh, 3)
  end
end

-- Sends all of str within the deadline (one datagram on datagram sockets): sent, or
-- sent, nil, true (timeout), sent, err, timeout (the wait failed), or nil, err, nil, sent
-- when a send failed after `sent` bytes.
local function send_all(self, fname, str, flags, deadline)
  local total, sent = #str, 0
  while true do
    local n, msg, code = raw_send(self, str, flags)
    if n == nil then
      return nil, syserr(msg, code, fname), nil, sent
    end
    sent = sent + n
    if sent >= total or (n > 0 and priv(self).kind == "datagram") then
      return sent
    elseif n > 0 then
      str = sub(str, n + 1)
    end
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return sent, err, timeout
    end
  end
end

-- One datagram to address `ai`: as send_all.
local function sendto_all(self, str, ai, flags, deadline)
  local p = priv(self)
  if flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT) ~= 0 then
    return nil, newerr("EOPNOTSUPP", "send flags are not supported on datagram sockets by rlua-net", "sendmsg")
  elseif ai:family() ~= p.family then
    return nil, newerr("EAFNOSUPPORT", nil, "sendmsg")
  end
  local unix = ai:family() == AF_UNIX
  if unix then
    local perr = addrinfo.check_unix_path(ai:addr(), "sendmsg")
    if perr then
      return nil, perr
    end
  end
  local sock = self.sock
  while true do
    local n, msg, code
    if unix then
      n, msg, code = sock:sendto(str, ai:addr())
    else
      n, msg, code = sock:sendto(str, ai:addr(), ai:port())
    end
    if n == nil then
      return nil, syserr(msg, code, "sendmsg")
    elseif n > 0 or #str == 0 then
      return n
    end
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return 0, err, timeout
    end
  end
end

-- Sends descriptors as sendfd does (one byte each): true, nil, err, or false, err, timeout.
local function send_fds(self, fds, deadline)
  local sock = self.sock
  for _, fd in ipairs(fds) do
    while true do
      local n, msg, code = sock:sendfd(fd)
      if n then
        break
      elseif n == nil then
        return nil, syserr(msg, code, "sendmsg")
      end
      local ok, err, timeout = I.await(self, deadline, "wait_writable")
      if not ok then
        return false, err, timeout
      end
    end
  end
  return true
end

--- readv(iov [, offset [, nbyte]]): len, err, timeout. Reads into the iovec's elements in
--- place, from byte `offset` on and at most `nbyte` bytes (nil or 0: up to the end); the
--- elements keep their sizes. All nil when the peer closed.
function Socket:readv(iov, offset, nbyte)
  check_iovec("readv", iov)
  check_count("readv", 2, offset)
  check_count("readv", 3, nbyte)
  local off = tointeger(offset or 0)
  local max = iov_internal().room(iov, off, tointeger(nbyte or 0))
  if max == 0 then
    return nil, newerr("EINVAL", "no room in the iovec to read into", "readv")
  end
  local deadline = self:get_recv_deadline()
  while true do
    local data, msg, code = raw_recv(self, max, 0)
    if data then
      iov_internal().scatter(iov, off, data)
      return #data
    elseif data == nil then
      if msg ~= nil then
        return nil, syserr(msg, code, "readv")
      end
      return nil, nil, nil -- closed by peer
    end
    local ok, err, timeout = I.await(self, deadline, "wait_readable")
    if not ok then
      return nil, err, timeout
    end
  end
end

function Socket:readvsync(iov, offset, nbyte)
  return self:syncread(self.readv, iov, offset, nbyte)
end

--- writev(iov [, offset [, nbyte]]): len, err, timeout. Sends the iovec's bytes from
--- `offset` on (at most `nbyte`; nil or 0: all) without consuming them; on a timeout
--- `sent, nil, true`.
function Socket:writev(iov, offset, nbyte)
  check_iovec("writev", iov)
  check_count("writev", 2, offset)
  check_count("writev", 3, nbyte)
  local off = tointeger(offset or 0)
  local nb = iov_internal().room(iov, off, tointeger(nbyte or 0))
  if nb == 0 and priv(self).kind ~= "datagram" then
    return 0
  end
  local sent, err, timeout = send_all(self, "writev", iov:concat(off, nb), 0, self:get_send_deadline())
  return sent, err, timeout
end

function Socket:writevsync(iov, offset, nbyte)
  return self:syncwrite(self.writev, iov, offset, nbyte)
end

--- sendmsg(mh [, flag, ...]): len, err, timeout. Sends the descriptors of the SCM_RIGHTS
--- control messages (Unix sockets), then the iovec's bytes (one datagram, to mh:name()
--- when it is set, on datagram sockets), and consumes what was sent from the iovec.
function Socket:sendmsg(mh, ...)
  check_msghdr("sendmsg", mh)
  local flags = I.flags("sendmsg", 2, ...)
  local X = mh_internal()
  local p = priv(self)
  local fds, what = X.rights(mh)
  if what then
    return nil, newerr("EOPNOTSUPP", what .. " is not supported by rlua-net (only SCM_RIGHTS)", "sendmsg")
  elseif self.sock:fd() == -1 then
    return nil, newerr("EBADF", nil, "sendmsg")
  elseif p.kind ~= "stream" and p.kind ~= "datagram" then
    return nil, newerr("ENOTCONN", nil, "sendmsg")
  end
  local name, iov = X.name(mh), X.iov(mh)
  if name ~= nil and p.kind == "stream" and p.family == AF_UNIX then
    return nil, newerr("EISCONN", nil, "sendmsg")
  end
  local deadline = self:get_send_deadline()
  if fds then
    if p.family ~= AF_UNIX then
      return nil, newerr("EINVAL", "descriptors can only be passed over Unix sockets", "sendmsg")
    elseif name ~= nil and p.kind == "datagram" then
      return nil, newerr("EOPNOTSUPP", "passing descriptors to an address is not supported by rlua-net", "sendmsg")
    end
    local ok, err, timeout = send_fds(self, fds, deadline)
    if ok == nil then
      return nil, err
    elseif not ok then
      return 0, err, timeout
    end
  end
  local str = iov and iov:concat() or ""
  if #str == 0 and p.kind == "stream" then
    return 0
  end
  local sent, err, timeout, partial
  if name ~= nil and p.kind == "datagram" then
    sent, err, timeout = sendto_all(self, str, name, flags, deadline)
  else
    sent, err, timeout, partial = send_all(self, "sendmsg", str, flags, deadline)
  end
  local done = sent or partial or 0
  if iov and done > 0 then
    iov:consume(done)
  end
  return sent, err, timeout
end

function Socket:sendmsgsync(mh, ...)
  return self:syncwrite(self.sendmsg, mh, ...)
end

-- A datagram's sender as an address object (nil when it has no address).
local function sender(self, a, b)
  local p = priv(self)
  if p.family == AF_UNIX then
    if a ~= nil and a ~= "" then
      return addrinfo.from_unix(a, p.socktype)
    end
    return nil
  elseif a ~= nil then
    return addrinfo.from_inet(a, b, p.socktype, p.protocol)
  end
end

-- recvmsg on a Unix stream: data (possibly "" when only descriptors came), false, nil or
-- nil, msg, code. A byte 1 that arrives alone may carry descriptors: it is taken with
-- recvfd (given back as data when it carries none); descriptors go with the data after
-- them, so reading stops before one once data was read.
local function try_unix_stream(self, st, max)
  local sock = self.sock
  local fds = st.fds
  if max == 0 then
    -- no room for data: as recvfd, a byte without a descriptor is dropped
    local fd, msg, code = sock:recvfd()
    if fd then
      fds[#fds + 1] = fd
      return ""
    end
    return fd, msg, code
  elseif sock:buffered() > 0 then
    return sock:read(max)
  end
  local parts, got = {}, 0
  while got < max do
    local peek, msg, code = sock:recv(max - got, MSG_PEEK)
    if not peek then
      if got > 0 or #fds > 0 then
        break
      end
      return peek, msg, code
    end
    local n = #peek
    if byte(peek, n) ~= 1 or n > 1 then
      -- A peek stops after the first bytes that carry descriptors, so only its last byte
      -- may: read up to it (all of it when it is not a 1).
      local take = byte(peek, n) == 1 and n - 1 or n
      local data, m, c = sock:read(take)
      if not data then
        if got > 0 or #fds > 0 then
          break
        end
        return data, m, c
      end
      parts[#parts + 1] = data
      got = got + #data
      break
    elseif got > 0 then
      break
    end
    local fd, m, c = sock:recvfd()
    if fd then
      fds[#fds + 1] = fd
    elseif fd == false then
      parts[#parts + 1] = "\1"
      got = got + 1
    elseif got > 0 or #fds > 0 then
      break
    else
      return nil, m, c
    end
  end
  return concat(parts)
end

-- recvmsg on a datagram socket: the datagram (cut to max, with MSG_TRUNC), false, or nil,
-- msg, code; the sender goes to st.from. On a Unix socket, 1-byte datagrams that carry
-- descriptors are taken first; the data is the datagram after them.
local function try_dgram(self, st, max, flags)
  local sock = self.sock
  local data, a, b
  while true do
    if priv(self).family ~= AF_UNIX or flags ~= 0 then
      data, a, b = sock:recv(nil, flags ~= 0 and flags or nil)
      break
    end
    local peek, pa, pb = sock:recv(nil, MSG_PEEK)
    if not peek then
      return peek, pa, pb
    elseif peek ~= "\1" then
      data, a, b = sock:recv()
      break
    end
    local fd, msg, code = sock:recvfd()
    if fd == false then
      data, a, b = "\1", pa, pb
      break
    elseif fd == nil then
      return nil, msg or "socket is closed", code or core.errno.EBADF
    end
    st.fds[#st.fds + 1] = fd
  end
  if not data then
    return data, a, b
  end
  st.from, st.has_from = sender(self, a, b), true
  if #data > max then
    data = sub(data, 1, max)
    st.flags = st.flags | MSG_TRUNC
  end
  return data
end

-- One try of recvmsg without waiting: data, false (nothing yet), nil (end of stream) or
-- nil, msg, code.
local function try_recvmsg(self, st, max, flags)
  local p = priv(self)
  if self.sock:fd() == -1 then
    return nil, "socket is closed", core.errno.EBADF
  elseif p.kind == "datagram" then
    return try_dgram(self, st, max, flags)
  elseif p.kind ~= "stream" then
    return nil, "not a connected socket", core.errno.ENOTCONN
  elseif p.family == AF_UNIX and flags == 0 then
    return try_unix_stream(self, st, max)
  end
  return raw_recv(self, max, flags)
end

--- recvmsg(mh [, flag, ...]): len, err, timeout. Fills the iovec's elements in place (at
--- most mh:bytes() bytes); on datagram sockets mh:name() becomes the sender's address;
--- descriptors that came (Unix sockets) replace mh:control()'s messages with one
--- SCM_RIGHTS message. All nil when the peer closed.
function Socket:recvmsg(mh, ...)
  check_msghdr("recvmsg", mh)
  local flags = I.flags("recvmsg", 2, ...)
  local X = mh_internal()
  local iov = X.iov(mh)
  local max = iov and iov:bytes() or 0
  if max == 0 and priv(self).family ~= AF_UNIX then
    return nil, newerr("EINVAL", "no room in the msghdr to receive into", "recvmsg")
  end
  local st = { fds = {}, flags = 0 }
  local deadline = self:get_recv_deadline()
  while true do
    local data, msg, code = try_recvmsg(self, st, max, flags)
    if data then
      if #data > 0 then
        iov_internal().scatter(iov, 0, data)
      end
      X.received(mh, st.flags, st.fds, st.has_from, st.from)
      return #data
    elseif #st.fds > 0 and (data == nil or priv(self).kind ~= "datagram") then
      -- descriptors came: they are returned now, what stopped the data shows next time
      X.received(mh, st.flags, st.fds, false)
      return 0
    elseif data == nil then
      if msg ~= nil then
        return nil, syserr(msg, code, "recvmsg")
      end
      return nil, nil, nil -- closed by peer
    end
    -- nothing yet (on a datagram socket that got descriptors: the datagram after them)
    local sec = deadline:remain()
    local ok, err, timeout = nil, nil, true
    if sec > 0 then
      ok, err, timeout = self:wait_readable(sec)
    end
    if not ok then
      if #st.fds > 0 then
        X.received(mh, st.flags, st.fds, false)
        return 0
      end
      return nil, err, timeout
    end
  end
end

function Socket:recvmsgsync(mh, ...)
  return self:syncread(self.recvmsg, mh, ...)
end

class.new("net.Socket", Socket)

-- Internal access for the other net.* modules.
local INTERNAL = { priv = priv, raw_recv = raw_recv, raw_send = raw_send, address_of = address_of }
setmetatable(NET, { __index = function(_, k)
  if k == "__internal" then
    return INTERNAL
  end
end })

package.loaded[CANONICAL] = NET
return NET
