-- `net.dgram` of the luanet dialect (lua-net v0.41): defines `net.dgram.Socket`, what
-- UDP and Unix datagram sockets share: sendto/recvfrom with address objects, broadcast
-- and multicast options. send/recv/read/write (inherited) work on connected sockets.
--
--   local sock = require("net.dgram.inet").new()
--   local ai = require("net.addrinfo").new_inet_dgram("127.0.0.1", 9000)
--   sock:sendto("ping", ai)                          -- len, err, timeout
--   local msg, err, timeout, from = sock:recvfrom()  -- from: an address object
--
-- A zero-length datagram is received as "" (not end of stream). Not supported by the
-- runtime: mcastif and the source-specific multicast calls (nil, err).

local CANONICAL = "luanet.net.dgram"
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

local type, ipairs = type, ipairs
local sub = string.sub
local is_int, is_uint, argerror, syserr, newerr = I.is_int, I.is_uint, I.argerror, I.syserr, I.newerr
local AF_UNIX = core.constants.AF_UNIX
local priv = net.__internal.priv

local DEFAULT_RECVSIZE = 4096

local Socket = {}

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

Socket.broadcast = boolopt("broadcast", "broadcast")
Socket.mcastloop = boolopt("mcastloop", "multicast_loop")

--- mcastttl([ttl]): the multicast TTL before the change.
function Socket:mcastttl(ttl)
  if ttl ~= nil and not is_uint(ttl) then
    argerror(1, "mcastttl", "unsigned integer", ttl)
  end
  local sock = self.sock
  local old, msg, code = sock:getopt("multicast_ttl")
  if old == nil then
    return nil, syserr(msg, code, "getsockopt")
  elseif ttl ~= nil then
    local ok, m, c = sock:setopt("multicast_ttl", ttl)
    if not ok then
      return nil, syserr(m, c, "setsockopt")
    end
  end
  return old
end

function Socket:mcastif(ifname)
  if ifname ~= nil and type(ifname) ~= "string" then
    argerror(1, "mcastif", "string", ifname)
  end
  return nil, newerr("ENOPROTOOPT", "mcastif is not supported by rlua-net", "setsockopt")
end

-- The IPv4 address of interface `ifname` (nil: any interface), or nil, err.
local function iface_ip(ifname)
  if ifname == nil then
    return nil
  end
  for _, it in ipairs(core.interfaces()) do
    if it.name == ifname and it.family == "inet" then
      return it.ip
    end
  end
  return nil, newerr("ENXIO", "no IPv4 interface named " .. ifname, "setsockopt")
end

local function membership(self, fname, join, grp, ifname)
  if not addrinfo.is_addrinfo(grp) then
    argerror(1, fname, "addrinfo", grp)
  elseif ifname ~= nil and type(ifname) ~= "string" then
    argerror(2, fname, "string", ifname)
  end
  local ip, err = iface_ip(ifname)
  if err then
    return false, err
  end
  local sock = self.sock
  local ok, msg, code
  if join then
    ok, msg, code = sock:join(grp:addr(), ip)
  else
    ok, msg, code = sock:leave(grp:addr(), ip)
  end
  if not ok then
    return false, syserr(msg, code, "setsockopt")
  end
  return true
end

--- mcastjoin(grp [, ifname]): joins multicast group `grp` (an address object).
function Socket:mcastjoin(grp, ifname)
  return membership(self, "mcastjoin", true, grp, ifname)
end

function Socket:mcastleave(grp, ifname)
  return membership(self, "mcastleave", false, grp, ifname)
end

local function nosrc(fname)
  return function()
    return false, newerr("EOPNOTSUPP", fname .. " is not supported by rlua-net", "setsockopt")
  end
end

Socket.mcastjoinsrc = nosrc("mcastjoinsrc")
Socket.mcastleavesrc = nosrc("mcastleavesrc")
Socket.mcastblocksrc = nosrc("mcastblocksrc")
Socket.mcastunblocksrc = nosrc("mcastunblocksrc")

--- recvfrom([bufsize]): str, err, timeout, ai (the sender, nil when it has no address).
function Socket:recvfrom(bufsize)
  if bufsize == nil then
    bufsize = DEFAULT_RECVSIZE
  elseif not is_int(bufsize) then
    argerror(1, "recvfrom", "integer", bufsize)
  elseif bufsize <= 0 then
    return nil, newerr("EINVAL", "bufsize must be greater than 0", "recvfrom")
  end
  local sock = self.sock
  local p = priv(self)
  local deadline = self:get_recv_deadline()
  while true do
    local data, a, b = sock:recv()
    if data then
      if #data > bufsize then
        data = sub(data, 1, bufsize)
      end
      local ai
      if p.family == AF_UNIX then
        if a ~= nil and a ~= "" then
          ai = addrinfo.from_unix(a, p.socktype)
        end
      elseif a ~= nil then
        ai = addrinfo.from_inet(a, b, p.socktype, p.protocol)
      end
      return data, nil, nil, ai
    elseif data == nil then
      return nil, syserr(a, b, "recvfrom")
    end
    local ok, err, timeout = I.await(self, deadline, "wait_readable")
    if not ok then
      return nil, err, timeout
    end
  end
end

function Socket:recvfromsync(...)
  return self:syncread(self.recvfrom, ...)
end

--- sendto(str, ai [, flag, ...]): len, err, timeout.
function Socket:sendto(str, ai, ...)
  if type(str) ~= "string" then
    argerror(1, "sendto", "string", str)
  elseif not addrinfo.is_addrinfo(ai) then
    argerror(2, "sendto", "addrinfo", ai)
  end
  I.flags("sendto", 3, ...)
  local sock = self.sock
  local unix = ai:family() == AF_UNIX
  if ai:family() ~= priv(self).family then
    return nil, newerr("EAFNOSUPPORT", nil, "sendto")
  elseif unix then
    local perr = addrinfo.check_unix_path(ai:addr(), "sendto")
    if perr then
      return nil, perr
    end
  end
  local deadline = self:get_send_deadline()
  while true do
    local n, msg, code
    if unix then
      n, msg, code = sock:sendto(str, ai:addr())
    else
      n, msg, code = sock:sendto(str, ai:addr(), ai:port())
    end
    if n == nil then
      return nil, syserr(msg, code, "sendto")
    elseif n > 0 or #str == 0 then
      return n
    end
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return 0, err, timeout
    end
  end
end

function Socket:sendtosync(str, ai, ...)
  return self:syncwrite(self.sendto, str, ai, ...)
end

class.new("net.dgram.Socket", Socket, "net.Socket")

local M = {}
package.loaded[CANONICAL] = M
return M
