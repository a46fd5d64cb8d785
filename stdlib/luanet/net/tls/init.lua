-- `net.tls` of the luanet dialect (lua-net v0.41): defines `net.tls.Socket`, the TLS layer
-- every net.tls.* socket inherits (over net.Socket).
--
--   local c = assert(require("net.stream.inet").client.new("example.com", 443,
--                    { tlscfg = { alpn = { "h2", "http/1.1" } } }))
--   local ok, err, timeout = c:handshake()   -- optional: read/write start it when needed
--   c:get_alpn()                             -- "h2", or nothing
--   c:write("GET / HTTP/1.0\r\n\r\n")        -- len, err, timeout
--   local s, err, timeout = c:read()         -- all nil after the peer's close_notify
--   c:close()                                -- close_notify, then close
--
-- Visible fields, as upstream: `sock` (the runtime stream), `tls` (the net.tls.context
-- connection), `handshaked`, `use_bio`, `tls_bio`, `rcvdeadl`, `snddeadl`.
--
-- The handshake runs once (cached in self.handshaked): on handshake(), within the send
-- budget, or on the first read (within that read's receive budget) or write (send
-- budget); so a read's timeout covers the handshake too. recvmsg, readv, sendmsg, writev
-- and their *sync variants give nil, EOPNOTSUPP; closer and closew give false,
-- EOPNOTSUPP; recv/send flags other than MSG_NOSIGNAL/MSG_DONTWAIT give nil, EOPNOTSUPP.

local CANONICAL = "luanet.net.tls"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net"
local core = require "rluanet.core"
local class = require "luanet.net.class"
local context = require "luanet.net.tls.context"
local I = require "luanet.net.internal"

local type, error, pairs, setmetatable = type, error, pairs, setmetatable
local sub = string.sub
local is_int, argerror, newerr = I.is_int, I.argerror, I.newerr

local C = core.constants
local MSG_NOSIGNAL, MSG_DONTWAIT = C.MSG_NOSIGNAL or 0, C.MSG_DONTWAIT or 0
local WANT_READ, WANT_WRITE = context.WANT_READ, context.WANT_WRITE
local BUFSIZ = 8192

local Base = class.methods("net.Socket")

local Socket = {}

--- init(sock, tls [, use_bio]): `sock` a connected runtime stream, `tls` its
--- net.tls.context connection.
function Socket:init(sock, tls, use_bio)
  Base.init(self, sock)
  self.tls = tls
  self.use_bio = use_bio or false
  self.tls_bio = use_bio and tls:get_bio() or nil
  self.handshaked = false
  return self
end

--- poll_wait(want [, sec]): waits until the descriptor is readable (WANT_READ) or writable
--- (WANT_WRITE): true, or false, err, or false, nil, true on timeout. Any other want:
--- false, EINVAL.
function Socket:poll_wait(want, sec)
  local ok, err, timeout
  if want == WANT_READ then
    ok, err, timeout = self:wait_readable(sec)
  elseif want == WANT_WRITE then
    ok, err, timeout = self:wait_writable(sec)
  else
    return false, newerr("EINVAL", "want must be WANT_READ or WANT_WRITE", "poll_wait")
  end
  if ok then
    return true
  end
  return false, err, timeout
end

-- The handshake within `deadline`: true, or false, err, or false, nil, true (timeout), or
-- false (the peer closed the connection).
local function handshake(self, deadline)
  if self.handshaked then
    return true
  end
  local tls = self.tls
  while true do
    local ok, err, want = tls:handshake()
    if ok then
      self.handshaked = true
      return true
    elseif err then
      return false, err
    elseif want == nil then
      return false
    end
    local waited, werr, timeout = I.await(self, deadline, "poll_wait", want)
    if not waited then
      return false, werr, timeout
    end
  end
end

--- handshake(): ok, err, timeout, within the send budget (sndtimeo). Idempotent.
function Socket:handshake()
  if self.handshaked then
    return true
  end
  return handshake(self, self:get_send_deadline())
end

local function check_bufsize(fname, bufsize)
  if bufsize ~= nil and not is_int(bufsize) then
    argerror(1, fname, "integer", bufsize, 3)
  end
end

local function tls_read(self, fname, bufsize)
  if bufsize == nil then
    bufsize = BUFSIZ
  elseif bufsize <= 0 then
    return nil, newerr("EINVAL", "bufsize must be greater than 0", fname)
  end
  local deadline = self:get_recv_deadline()
  if not self.handshaked then
    local ok, err, timeout = handshake(self, deadline)
    if not ok then
      return nil, err, timeout
    end
  end
  local tls = self.tls
  while true do
    local s, err, want = tls:read(bufsize)
    if s then
      return s
    elseif err then
      return nil, err
    elseif want == nil then
      return nil, nil, nil -- close_notify from the peer
    end
    local ok, werr, timeout = I.await(self, deadline, "poll_wait", want)
    if not ok then
      return nil, werr, timeout
    end
  end
end

--- read([bufsize]): str, err, timeout; all nil once the peer closed the session.
function Socket:read(bufsize)
  check_bufsize("read", bufsize)
  return tls_read(self, "read", bufsize)
end

-- Flags of recv/send: MSG_NOSIGNAL and MSG_DONTWAIT mean nothing here (no SIGPIPE, never
-- blocking); any other is not supported through TLS.
local function tls_flags(fname, flags)
  if flags & ~(MSG_NOSIGNAL | MSG_DONTWAIT) ~= 0 then
    return newerr("EOPNOTSUPP", fname .. " flags are not supported on TLS sockets", fname)
  end
end

--- recv([bufsize [, flag, ...]]): as read.
function Socket:recv(bufsize, ...)
  check_bufsize("recv", bufsize)
  local flags = I.flags("recv", 2, ...)
  local ferr = tls_flags("recv", flags)
  if ferr then
    return nil, ferr
  end
  return tls_read(self, "recv", bufsize)
end

-- Writes all of str within `deadline` (the handshake done): sent, err, timeout.
local function write_all(self, str, deadline)
  local tls = self.tls
  local total, sent = #str, 0
  while true do
    local n, err, want = tls:write(str)
    if n == nil then
      if err then
        return nil, err
      end
      return sent > 0 and sent or nil
    end
    sent = sent + n
    if sent >= total then
      return sent
    elseif n > 0 then
      str = sub(str, n + 1)
    end
    local ok, werr, timeout = I.await(self, deadline, "poll_wait", want or WANT_WRITE)
    if not ok then
      return sent, werr, timeout
    end
  end
end

-- The handshake (if still needed) and write_all within one send budget.
local function tls_write(self, fname, str)
  if #str == 0 then
    return nil, newerr("EINVAL", "empty string", fname)
  end
  local deadline = self:get_send_deadline()
  if not self.handshaked then
    local ok, err, timeout = handshake(self, deadline)
    if not ok then
      return 0, err, timeout
    end
  end
  return write_all(self, str, deadline)
end

local function check_str(fname, str)
  if type(str) ~= "string" then
    argerror(1, fname, "string", str, 3)
  end
end

--- write(str): len, err, timeout (sent so far, nil, true on timeout).
function Socket:write(str)
  check_str("write", str)
  return tls_write(self, "write", str)
end

--- send(str [, flag, ...]): as write.
function Socket:send(str, ...)
  check_str("send", str)
  local flags = I.flags("send", 2, ...)
  local ferr = tls_flags("send", flags)
  if ferr then
    return nil, ferr
  end
  return tls_write(self, "send", str)
end

--- tls_close(): sends our close_notify (not waiting for the peer's) within the send
--- deadline: ok, err, timeout. Later writes fail.
function Socket:tls_close()
  local deadline = self:get_send_deadline()
  while true do
    local ok, err, want = self.tls:close()
    if ok then
      return true
    elseif err then
      return false, err
    end
    local waited, werr, timeout = I.await(self, deadline, "poll_wait", want)
    if not waited then
      return false, werr, timeout
    end
  end
end

--- close(): tls_close, then closes the descriptor (the runtime sends the close_notify
--- first, without waiting). Closing a closed socket returns true.
function Socket:close(shutrd, shutwr)
  if shutrd ~= nil and type(shutrd) ~= "boolean" then
    error("shutrd must be boolean", 2)
  elseif shutwr ~= nil and type(shutwr) ~= "boolean" then
    error("shutwr must be boolean", 2)
  end
  if self:fd() == -1 then
    return true
  end
  self:tls_close()
  -- No shutdown first: the close_notify must still go out.
  return Base.close(self)
end

--- get_alpn(): the protocol the handshake agreed on (ALPN), or nothing.
function Socket:get_alpn()
  return self.tls:get_alpn()
end

local function eopnotsupp(fname, first)
  return function()
    return first, newerr("EOPNOTSUPP", fname .. " is not supported on TLS sockets", fname)
  end
end

Socket.closer = eopnotsupp("closer", false)
Socket.closew = eopnotsupp("closew", false)
for _, name in pairs({ "recvmsg", "recvmsgsync", "readv", "readvsync", "sendmsg", "sendmsgsync", "writev",
  "writevsync" }) do
  Socket[name] = eopnotsupp(name, nil)
end

class.new("net.tls.Socket", Socket, "net.Socket")

-- Nothing useful is returned (as upstream: the class is what the module defines); the
-- other net.tls modules reach a few helpers through `__internal`.
local INTERNAL = { write_all = write_all, handshake = handshake, eopnotsupp = eopnotsupp }
local M = setmetatable({}, {
  __index = function(_, k)
    if k == "__internal" then
      return INTERNAL
    end
  end,
})
package.loaded[CANONICAL] = M
return M
