-- `net.socket` of the luanet dialect: lua-net v0.41's low-level socket helpers. The
-- sockets they return are the runtime's socket objects (`rluanet.core`: streams, listeners
-- and datagram sockets, always non-blocking), which the `net.*` classes wrap.
--
--   local socket = require "net.socket"
--   local sock, err, timeout, ai = socket.connect_inet_stream("127.0.0.1", 8080, 1.5)
--   local lsock, err, ai = socket.bind_inet_stream("127.0.0.1", 0, true)   -- bound only
--   local pair = socket.pair_stream()                                       -- { a, b }
--
-- Not available: an unconnected, unbound stream socket (new_inet_stream/new_unix_stream
-- give nil, EOPNOTSUPP: use connect or bind), and close/shutdown of a descriptor that a
-- socket object already owns (nil, EBUSY: close the object).

local CANONICAL = "luanet.net.socket"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local gpoll = require "luanet.gpoll"
local addrinfo = require "luanet.net.addrinfo"
local I = require "luanet.net.internal"

local type, error, pairs, ipairs = type, error, pairs, ipairs
local syserr, newerr, is_int, is_uint, is_finite = I.syserr, I.newerr, I.is_int, I.is_uint, I.is_finite

local C = core.constants
local AF_INET, AF_UNIX = C.AF_INET, C.AF_UNIX
local SOCK_STREAM, SOCK_DGRAM = C.SOCK_STREAM, C.SOCK_DGRAM
local IPPROTO_TCP = C.IPPROTO_TCP
local SHUT_RD, SHUT_WR = C.SHUT_RD, C.SHUT_WR

local M = {}

local function check_reuse(reuseaddr, reuseport)
  if reuseaddr ~= nil and type(reuseaddr) ~= "boolean" then
    error("reuseaddr must be boolean", 3)
  elseif reuseport ~= nil and type(reuseport) ~= "boolean" then
    error("reuseport must be boolean", 3)
  end
end

-- Applies reuseaddr/reuseport to a core object; nil, err on failure.
local function reuse(sock, reuseaddr, reuseport)
  for name, on in pairs({ reuseaddr = reuseaddr, reuseport = reuseport }) do
    if on then
      local ok, msg, code = sock:setopt(name, true)
      if not ok then
        return nil, syserr(msg, code, "setsockopt")
      end
    end
  end
  return true
end

--- new(family, socktype, protocol [, reuseaddr [, reuseport]]): a new non-blocking
--- socket. Datagram sockets only (a stream socket is made by connect or bind).
function M.new(family, socktype, protocol, reuseaddr, reuseport)
  if not is_int(family) then
    error("family must be int", 2)
  elseif not is_int(socktype) then
    error("socktype must be int", 2)
  elseif not is_int(protocol) then
    error("protocol must be int", 2)
  end
  check_reuse(reuseaddr, reuseport)
  if socktype ~= SOCK_DGRAM then
    return nil, newerr("EOPNOTSUPP", "an unconnected stream socket is not supported by rlua-net (use connect or bind)",
      "socket")
  end
  local sock, msg, code
  if family == AF_INET then
    sock, msg, code = core.udp("inet")
  elseif family == AF_UNIX then
    sock, msg, code = core.unix_dgram()
  else
    return nil, newerr("EAFNOSUPPORT", nil, "socket")
  end
  if not sock then
    return nil, syserr(msg, code, "socket")
  end
  local ok, err = reuse(sock, reuseaddr, reuseport)
  if not ok then
    sock:close()
    return nil, err
  end
  return sock
end

function M.new_inet(socktype, protocol, reuseaddr, reuseport)
  return M.new(AF_INET, socktype, protocol, reuseaddr, reuseport)
end

function M.new_inet_stream(reuseaddr, reuseport)
  return M.new(AF_INET, SOCK_STREAM, IPPROTO_TCP, reuseaddr, reuseport)
end

function M.new_inet_dgram(reuseaddr, reuseport)
  return M.new(AF_INET, SOCK_DGRAM, C.IPPROTO_UDP, reuseaddr, reuseport)
end

function M.new_unix(socktype, protocol, reuseaddr, reuseport)
  return M.new(AF_UNIX, socktype, protocol, reuseaddr, reuseport)
end

function M.new_unix_stream(reuseaddr, reuseport)
  return M.new(AF_UNIX, SOCK_STREAM, 0, reuseaddr, reuseport)
end

function M.new_unix_dgram(reuseaddr, reuseport)
  return M.new(AF_UNIX, SOCK_DGRAM, 0, reuseaddr, reuseport)
end

--- pair(socktype): { sock, sock }, two connected Unix sockets, or nil, err.
function M.pair(socktype)
  local a, b, code
  if socktype == SOCK_STREAM then
    a, b, code = core.socketpair()
  elseif socktype == SOCK_DGRAM then
    a, b, code = core.dgram_pair()
  else
    return nil, newerr("EOPNOTSUPP", nil, "socketpair")
  end
  if not a then
    return nil, syserr(b, code, "socketpair")
  end
  return { a, b }
end

function M.pair_stream()
  return M.pair(SOCK_STREAM)
end

function M.pair_dgram()
  return M.pair(SOCK_DGRAM)
end

--- bind(ai [, reuseaddr [, reuseport]]): a socket bound to address object `ai` (a stream
--- socket is bound without listening), or nil, err.
function M.bind(ai, reuseaddr, reuseport)
  if not addrinfo.is_addrinfo(ai) then
    error("ai must be addrinfo", 2)
  end
  check_reuse(reuseaddr, reuseport)
  local family, socktype = ai:family(), ai:socktype()
  if socktype == SOCK_STREAM then
    local sock, msg, code
    if family == AF_UNIX then
      local perr = addrinfo.check_unix_path(ai:addr(), "bind")
      if perr then
        return nil, perr
      end
      sock, msg, code = core.listen_unix(ai:addr(), { listen = false, unlink = false })
    else
      sock, msg, code = core.listen(ai:addr(), ai:port() or 0,
        { listen = false, reuseaddr = reuseaddr == true, reuseport = reuseport or nil })
    end
    if not sock then
      return nil, syserr(msg, code, "bind")
    end
    return sock
  end
  local sock, err = M.new(family, socktype, ai:protocol(), reuseaddr, reuseport)
  if not sock then
    return nil, err
  end
  local ok, msg, code
  if family == AF_UNIX then
    local perr = addrinfo.check_unix_path(ai:addr(), "bind")
    if perr then
      sock:close()
      return nil, perr
    end
    ok, msg, code = sock:bind(ai:addr())
  else
    ok, msg, code = sock:bind(ai:addr(), ai:port() or 0)
  end
  if not ok then
    sock:close()
    return nil, syserr(msg, code, "bind")
  end
  return sock
end

--- bind_inet_stream(host, port [, reuseaddr [, reuseport]]): sock, err, ai: bound to the
--- first address of host that works.
function M.bind_inet_stream(host, port, reuseaddr, reuseport)
  check_reuse(reuseaddr, reuseport)
  local ais, err = addrinfo.getaddrinfo_stream(host, port, true)
  if not ais then
    return nil, err
  end
  for _, ai in ipairs(ais) do
    local sock
    sock, err = M.bind(ai, reuseaddr, reuseport)
    if sock then
      return sock, nil, ai
    end
  end
  return nil, err
end

--- bind_unix_stream(pathname): sock, err, ai. The path must not exist (EADDRINUSE).
function M.bind_unix_stream(pathname)
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  end
  local perr = addrinfo.check_unix_path(pathname, "bind")
  if perr then
    return nil, perr
  end
  local ai, err = addrinfo.new_unix_stream(pathname, true)
  if not ai then
    return nil, err
  end
  local sock
  sock, err = M.bind(ai)
  if not sock then
    return nil, err
  end
  return sock, nil, ai
end

-- Waits for a connecting stream within `deadline` (nil: no limit).
local function finish_connect(sock, deadline)
  while true do
    local ok, msg, code = sock:connected()
    if ok then
      return sock
    elseif ok == nil then
      sock:close()
      return nil, syserr(msg, code, "connect")
    end
    local sec
    if deadline ~= nil then
      sec = deadline:remain()
      if sec <= 0 then
        sock:close()
        return nil, nil, true
      end
    end
    local fd, err, timeout = gpoll.wait_writable(sock:fd(), sec)
    if not fd then
      sock:close()
      return nil, err, timeout
    end
  end
end

--- connect(ai [, conndeadl]): a socket connected to address object `ai`: sock, err,
--- timeout. `conndeadl` (seconds) bounds the wait for a stream connection.
function M.connect(ai, conndeadl)
  if not addrinfo.is_addrinfo(ai) then
    error("ai must be addrinfo", 2)
  elseif conndeadl ~= nil and not is_finite(conndeadl) then
    error("conndeadl must be finite number", 2)
  end
  return M.connect_deadline(ai, conndeadl and I.new_deadline(conndeadl))
end

-- connect with a deadline object (internal: client.new shares one deadline between the
-- name lookup and the connects).
function M.connect_deadline(ai, deadline)
  local family, socktype = ai:family(), ai:socktype()
  if family == AF_UNIX then
    local perr = addrinfo.check_unix_path(ai:addr(), "connect")
    if perr then
      return nil, perr
    end
  end
  if socktype == SOCK_STREAM then
    local sock, msg, code
    if family == AF_UNIX then
      sock, msg, code = core.connect_unix(ai:addr())
    else
      sock, msg, code = core.connect(ai:addr(), ai:port() or 0)
    end
    if not sock then
      return nil, syserr(msg, code, "connect")
    end
    return finish_connect(sock, deadline)
  end
  local sock, err = M.new(family, socktype, ai:protocol())
  if not sock then
    return nil, err
  end
  local ok, msg, code
  if family == AF_UNIX then
    ok, msg, code = sock:connect(ai:addr())
  else
    ok, msg, code = sock:connect(ai:addr(), ai:port() or 0)
  end
  if not ok then
    sock:close()
    return nil, syserr(msg, code, "connect")
  end
  return sock
end

--- connect_inet_stream(host, port [, deadline]): sock, err, timeout, ai: connected to the
--- first address of host that accepts; `deadline` seconds bound the lookup and connects.
function M.connect_inet_stream(host, port, deadline)
  if deadline ~= nil and not is_finite(deadline) then
    error("deadline must be finite number", 2)
  end
  local dl = deadline and I.new_deadline(deadline) or nil
  local ais, err, timeout = addrinfo.lookup(host, port, SOCK_STREAM, IPPROTO_TCP, false, false,
    dl and dl:remain())
  if not ais then
    return nil, err, timeout
  end
  for _, ai in ipairs(ais) do
    local sock
    sock, err, timeout = M.connect_deadline(ai, dl)
    if sock then
      return sock, nil, nil, ai
    elseif timeout then
      return nil, nil, true
    end
  end
  return nil, err
end

--- connect_unix_stream(pathname [, deadline]): sock, err, timeout, ai.
function M.connect_unix_stream(pathname, deadline)
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  elseif deadline ~= nil and not is_finite(deadline) then
    error("deadline must be finite number", 2)
  end
  local perr = addrinfo.check_unix_path(pathname, "connect")
  if perr then
    return nil, perr
  end
  local ai, err = addrinfo.new_unix_stream(pathname)
  if not ai then
    return nil, err
  end
  local sock, timeout
  sock, err, timeout = M.connect_deadline(ai, deadline and I.new_deadline(deadline) or nil)
  if not sock then
    return nil, err, timeout
  end
  return sock, nil, nil, ai
end

--- wrap(fd): a socket object owning descriptor fd (made non-blocking), or nil, err.
function M.wrap(fd)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  end
  local sock, msg, code = core.wrap(fd)
  if not sock then
    return nil, syserr(msg, code, "wrap")
  end
  return sock
end

local function owned(fd, op)
  if core.is_waitable(fd) then
    return newerr("EBUSY", "the descriptor belongs to a socket object: close that object", op)
  end
end

--- shutdown(fd, how): not available for a bare descriptor (nil, EOPNOTSUPP; shut the
--- socket object down instead).
function M.shutdown(fd, how)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  end
  local _ = how
  return false, owned(fd, "shutdown")
    or newerr("EOPNOTSUPP", "shutdown of a bare descriptor is not supported by rlua-net", "shutdown")
end

--- close(fd [, how]): closes a descriptor no socket object owns (shut down first if `how`).
function M.close(fd, how)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  end
  local err = owned(fd, "close")
  if err then
    return false, err
  end
  local sock, msg, code = core.wrap(fd)
  if not sock then
    return false, syserr(msg, code, "close")
  end
  if how ~= nil and I.kind(sock) == "stream" then
    sock:shutdown(how == SHUT_RD and "r" or (how == SHUT_WR and "w" or "rw"))
  end
  sock:close()
  return true
end

package.loaded[CANONICAL] = M
return M
