-- `net.unix` of the luanet dialect (lua-net v0.41): defines `net.unix.Socket`, the
-- descriptor passing that Unix stream and datagram sockets inherit.
--
--   local pair = require("net.stream.unix").pair()
--   pair[1]:sendfd(io_fd)               -- 0, err, timeout (one data byte carries it)
--   local fd, err, timeout = pair[2]:recvfd()   -- all nil at the end of the stream
--
-- A data byte that arrives without a descriptor is dropped and recvfd waits for the next.
-- sendfd to an address (its `ai` argument) is not supported: the socket must be connected.

local CANONICAL = "luanet.net.unix"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local I = require "luanet.net.internal"

local is_uint, argerror, syserr, newerr = I.is_uint, I.argerror, I.syserr, I.newerr

local Socket = {}

--- sendfd(fd [, ai [, flag, ...]]): len, err, timeout (len is 0 once sent).
function Socket:sendfd(fd, ai, ...)
  if not is_uint(fd) then
    argerror(1, "sendfd", "unsigned integer", fd)
  elseif ai ~= nil and not addrinfo.is_addrinfo(ai) then
    argerror(2, "sendfd", "addrinfo", ai)
  end
  I.flags("sendfd", 3, ...)
  if ai ~= nil then
    return nil, newerr("EOPNOTSUPP", "sendfd to an address is not supported by rlua-net", "sendmsg")
  end
  local sock = self.sock
  local deadline = self:get_send_deadline()
  while true do
    local n, msg, code = sock:sendfd(fd)
    if n then
      return 0
    elseif n == nil then
      return nil, syserr(msg, code, "sendmsg")
    end
    local ok, err, timeout = I.await(self, deadline, "wait_writable")
    if not ok then
      return 0, err, timeout
    end
  end
end

function Socket:sendfdsync(fd, ai, ...)
  return self:syncwrite(self.sendfd, fd, ai, ...)
end

--- recvfd([flag, ...]): fd, err, timeout; nothing at the end of the stream.
function Socket:recvfd(...)
  I.flags("recvfd", 1, ...)
  local sock = self.sock
  local deadline = self:get_recv_deadline()
  while true do
    local fd, msg, code = sock:recvfd()
    if fd then
      return fd
    elseif fd == nil then
      if msg ~= nil then
        return nil, syserr(msg, code, "recvmsg")
      end
      return -- closed by peer
    end
    -- nothing yet, or a byte without a descriptor: again
    local ok, err, timeout = I.await(self, deadline, "wait_readable")
    if not ok then
      return nil, err, timeout
    end
  end
end

function Socket:recvfdsync(...)
  return self:syncread(self.recvfd, ...)
end

class.new("net.unix.Socket", Socket, "net.Socket")

local M = {}
package.loaded[CANONICAL] = M
return M
