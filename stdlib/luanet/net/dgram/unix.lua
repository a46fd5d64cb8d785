-- `net.dgram.unix` of the luanet dialect (lua-net v0.41): datagrams over Unix socket
-- files, with descriptor passing (net.unix.Socket).
--
--   local dunix = require "net.dgram.unix"
--   local server = assert(dunix.new())
--   assert(server:bind("./srv.sock"))                      -- true, nil, ai
--   local client = assert(dunix.new())
--   local ok, err, timeout, ai = client:connect("./srv.sock")   -- four values: ai fourth
--   local pair = dunix.pair()                              -- { Socket, Socket }
--
-- The socket file stays after close (as upstream); remove it before binding again.

local CANONICAL = "luanet.net.dgram.unix"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.dgram"
require "luanet.net.unix"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local socket = require "luanet.net.socket"
local I = require "luanet.net.internal"

local type, error = type, error
local syserr = I.syserr

local Socket = {}

--- bind(pathname): true, nil, ai, or false, err.
function Socket:bind(pathname)
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  end
  local perr = addrinfo.check_unix_path(pathname, "bind")
  if perr then
    return false, perr
  end
  local ai, err = addrinfo.new_unix_dgram(pathname, true)
  if not ai then
    return false, err
  end
  local ok, msg, code = self.sock:bind(pathname)
  if not ok then
    return false, syserr(msg, code, "bind")
  end
  return true, nil, ai
end

--- connect(pathname): true, nil, nil, ai, or false, err.
function Socket:connect(pathname)
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  end
  local perr = addrinfo.check_unix_path(pathname, "connect")
  if perr then
    return false, perr
  end
  local ai, err = addrinfo.new_unix_dgram(pathname)
  if not ai then
    return false, err
  end
  local ok, msg, code = self.sock:connect(pathname)
  if not ok then
    return false, syserr(msg, code, "connect")
  end
  return true, nil, nil, ai
end

local DSocket = class.new("net.dgram.unix.Socket", Socket, "net.dgram.Socket", "net.unix.Socket")

--- new(): a new unbound Unix datagram socket, or nil, err.
local function new()
  local sock, err = socket.new_unix_dgram()
  if not sock then
    return nil, err
  end
  return DSocket(sock)
end

--- pair(): { Socket, Socket }, two connected sockets, or nil, err.
local function pair()
  local sp, err = socket.pair_dgram()
  if not sp then
    return nil, err
  end
  return { DSocket(sp[1]), DSocket(sp[2]) }
end

--- wrap(fd): a net.dgram.unix.Socket owning descriptor fd, or nil, err.
local function wrap(fd)
  local sock, err = socket.wrap(fd)
  if not sock then
    return nil, err
  end
  return DSocket(sock)
end

local M = { new = new, pair = pair, wrap = wrap }
package.loaded[CANONICAL] = M
return M
