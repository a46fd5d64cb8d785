-- `net.stream` of the luanet dialect (lua-net v0.41): defines the classes
-- `net.stream.Socket` (TCP options, sendfile) and `net.stream.Server` (listen, accept).
--
--   local server = assert(require("net.stream.inet").server.new("127.0.0.1", 0))
--   assert(server:listen())
--   local peer, err = server:accept()            -- waits (yields in a task) with no limit
--   peer:sendfile(io.open("index.html"), 1024)   -- len, err, timeout
--
-- Servers call two hooks that subclasses override: `new_connection(sock)` wraps an accepted
-- core stream in the subclass's socket class (`nil, err` refuses it), and
-- `accepted(sock, ai)` returns `sock, nil, ai`.

local CANONICAL = "luanet.net.stream"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local net = require "luanet.net"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local I = require "luanet.net.internal"

local type = type
local io_type = io.type
local is_uint, argerror, syserr, newerr = I.is_uint, I.argerror, I.syserr, I.newerr

local C = core.constants
local AF_UNIX, SOCK_STREAM, IPPROTO_TCP, SOMAXCONN = C.AF_UNIX, C.SOCK_STREAM, C.IPPROTO_TCP, C.SOMAXCONN
local priv = net.__internal.priv

local function boolopt(fname, name)
  return function(self, enable)
    if enable ~= nil and type(enable) ~= "boolean" then
      argerror(1, fname, "boolean", enable)
    end
    local sock = self.sock
    local old, msg, code = sock:getopt(name)
    if old == nil then
      return nil, syserr(msg, code, "getsockopt")
    elseif enable ~= nil then
      local ok, m, c = sock:setopt(name, enable)
      if not ok then
        return nil, syserr(m, c, "setsockopt")
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
    local sock = self.sock
    local old, msg, code = sock:getopt(name)
    if old == nil and msg ~= nil then
      return nil, syserr(msg, code, "getsockopt")
    elseif n ~= nil then
      local ok, m, c = sock:setopt(name, n)
      if not ok then
        return nil, syserr(m, c, "setsockopt")
      end
    end
    return old
  end
end

---------------------------------------------------------------------------------------------
-- net.stream.Socket

local Socket = {}

--- acceptconn(): whether the socket listens.
function Socket:acceptconn()
  if self:fd() == -1 then
    return nil, newerr("EBADF", nil, "getsockopt")
  end
  return priv(self).kind == "listener"
end

Socket.oobinline = boolopt("oobinline", "oobinline")
Socket.tcpcork = boolopt("tcpcork", "cork")
Socket.keepalive = boolopt("keepalive", "keepalive")
Socket.tcpnodelay = boolopt("tcpnodelay", "nodelay")
Socket.tcpkeepalive = intopt("tcpkeepalive", "keepidle")
Socket.tcpkeepintvl = intopt("tcpkeepintvl", "keepintvl")
Socket.tcpkeepcnt = intopt("tcpkeepcnt", "keepcnt")

--- sendfile(f, bytes [, offset]): sends `bytes` bytes of file `f` (a file handle or a
--- descriptor) from `offset` (0) without moving its position. len, err, timeout: the bytes
--- sent, fewer than asked at once when the file ends first.
function Socket:sendfile(f, bytes, offset)
  local fd
  if io_type(f) == "file" then
    fd = core.file_fd(f)
    if fd == nil then
      return nil, newerr("EBADF", "file has no descriptor", "sendfile")
    end
  elseif is_uint(f) then
    fd = f
  else
    argerror(1, "sendfile", "file or descriptor", f)
  end
  if not is_uint(bytes) then
    argerror(2, "sendfile", "unsigned integer", bytes)
  elseif offset == nil then
    offset = 0
  elseif not is_uint(offset) then
    argerror(3, "sendfile", "unsigned integer", offset)
  end
  if bytes == 0 then
    return nil, newerr("EINVAL", "bytes must be greater than 0", "sendfile")
  end
  local sock = self.sock
  if priv(self).kind ~= "stream" then
    if sock:fd() == -1 then
      return nil, newerr("EBADF", nil, "sendfile")
    end
    return nil, newerr("ENOTCONN", nil, "sendfile")
  end
  local deadline = self:get_send_deadline()
  local sent = 0
  while true do
    local n, msg, code = sock:sendfile(fd, offset, bytes - sent)
    if n == nil then
      return nil, syserr(msg, code, "sendfile")
    elseif n == 0 then
      return sent -- the file ended
    elseif n then
      sent = sent + n
      offset = offset + n
      if sent >= bytes then
        return sent
      end
    end
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return sent, err, timeout
    end
  end
end

function Socket:sendfilesync(f, bytes, offset)
  return self:syncwrite(self.sendfile, f, bytes, offset)
end

class.new("net.stream.Socket", Socket, "net.Socket")

---------------------------------------------------------------------------------------------
-- net.stream.Server

local Server = {}

--- listen([backlog]): starts listening (server.new only binds). ok, err.
function Server:listen(backlog)
  if backlog == nil then
    backlog = SOMAXCONN
  elseif not is_uint(backlog) then
    argerror(1, "listen", "unsigned integer", backlog)
  end
  local sock = self.sock
  if priv(self).kind ~= "listener" then
    return false, newerr("EOPNOTSUPP", nil, "listen")
  end
  local ok, msg, code = sock:listen(backlog > 0 and backlog or 1)
  if not ok then
    return false, syserr(msg, code, "listen")
  end
  return true
end

--- new_connection(sock): wraps an accepted core stream (subclasses override it).
function Server:new_connection(sock)
  return class.get("net.stream.Socket")(sock)
end

--- accepted(sock, ai): what accept returns for a new connection.
function Server:accepted(sock, ai)
  return sock, nil, ai
end

-- Accepts once the listener is readable (no time limit): calls op(listener) until it gives
-- something other than `false`.
local function accept_loop(self, fname, op)
  local lsock = self.sock
  if priv(self).kind ~= "listener" then
    if lsock:fd() == -1 then
      return nil, newerr("EBADF", nil, fname)
    end
    return nil, newerr("EINVAL", "not a listening socket", fname)
  end
  while true do
    local a, b, c = op(lsock)
    if a then
      return a, b, c
    elseif a == nil then
      return nil, syserr(b, c, fname)
    end
    local ok, err, timeout = self:wait_readable()
    if not ok then
      return nil, err, timeout
    end
  end
end

--- accept([with_ai]): sock, err [, ai]: the next connection, through the hooks.
function Server:accept(with_ai)
  local s, a, b = accept_loop(self, "accept", function(l)
    return l:accept()
  end)
  if not s then
    return nil, a, b
  end
  local ai
  if with_ai then
    if priv(self).family == AF_UNIX then
      ai = addrinfo.from_unix(a, SOCK_STREAM)
    else
      ai = addrinfo.from_inet(a, b, SOCK_STREAM, IPPROTO_TCP)
    end
  end
  local sock, err = self:new_connection(s)
  if not sock then
    s:close()
    return nil, err
  end
  return self:accepted(sock, ai)
end

--- acceptfd(): the descriptor of the next connection (non-blocking), or nil, err.
function Server:acceptfd()
  local fd, err, timeout = accept_loop(self, "accept", function(l)
    return l:acceptfd()
  end)
  return fd, err, timeout
end

class.new("net.stream.Server", Server, "net.stream.Socket")

-- Nothing useful is returned (as upstream): the classes are what the module defines.
local M = {}
package.loaded[CANONICAL] = M
return M
