-- `net.dgram.inet` of the luanet dialect (lua-net v0.41): UDP over IPv4.
--
--   local dinet = require "net.dgram.inet"
--   local sock = assert(dinet.new())
--   local ok, err, ai = sock:bind("127.0.0.1", 0, { reuseaddr = true })
--   local ok, err, ai = sock:connect("127.0.0.1", 9000)   -- then send/recv
--   local sock = dinet.wrap(fd)

local CANONICAL = "luanet.net.dgram.inet"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.dgram"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local socket = require "luanet.net.socket"
local I = require "luanet.net.internal"

local type, error, pairs, ipairs = type, error, pairs, ipairs
local syserr = I.syserr

local Socket = {}

--- bind(host, port [, opts]): true, nil, ai, or false, err. opts: reuseaddr, reuseport.
function Socket:bind(host, port, opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    error("opts must be table", 0)
  elseif opts.reuseaddr ~= nil and type(opts.reuseaddr) ~= "boolean" then
    error("opts.reuseaddr must be boolean", 0)
  elseif opts.reuseport ~= nil and type(opts.reuseport) ~= "boolean" then
    error("opts.reuseport must be boolean", 0)
  end
  local ais, err = addrinfo.getaddrinfo_dgram(host, port, true)
  if not ais then
    return false, err
  end
  local sock = self.sock
  for name, on in pairs({ reuseaddr = opts.reuseaddr, reuseport = opts.reuseport }) do
    if on ~= nil then
      local ok, msg, code = sock:setopt(name, on)
      if not ok then
        return false, syserr(msg, code, "setsockopt")
      end
    end
  end
  for _, ai in ipairs(ais) do
    local ok, msg, code = sock:bind(ai:addr(), ai:port())
    if ok then
      return true, nil, ai
    end
    err = syserr(msg, code, "bind")
  end
  return false, err
end

--- connect(host, port): true, nil, ai, or false, err.
function Socket:connect(host, port)
  local ais, err = addrinfo.getaddrinfo_dgram(host, port)
  if not ais then
    return false, err
  end
  local sock = self.sock
  for _, ai in ipairs(ais) do
    local ok, msg, code = sock:connect(ai:addr(), ai:port())
    if ok then
      return true, nil, ai
    end
    err = syserr(msg, code, "connect")
  end
  return false, err
end

local DSocket = class.new("net.dgram.inet.Socket", Socket, "net.dgram.Socket")

--- new(): a new unbound UDP socket, or nil, err.
local function new()
  local sock, err = socket.new_inet_dgram()
  if not sock then
    return nil, err
  end
  return DSocket(sock)
end

--- wrap(fd): a net.dgram.inet.Socket owning descriptor fd, or nil, err.
local function wrap(fd)
  local sock, err = socket.wrap(fd)
  if not sock then
    return nil, err
  end
  return DSocket(sock)
end

local M = { new = new, wrap = wrap }
package.loaded[CANONICAL] = M
return M
