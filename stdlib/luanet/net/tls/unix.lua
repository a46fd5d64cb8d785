-- `net.tls.unix` of the luanet dialect (lua-net v0.41): defines `net.tls.unix.Socket`,
-- TLS over Unix stream sockets. It inherits net.unix.Socket as upstream does, but passing
-- descriptors cannot go through TLS: sendfd, recvfd and their *sync variants give
-- nil, EOPNOTSUPP.

local CANONICAL = "luanet.net.tls.unix"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.unix"
local tls = require "luanet.net.tls"
local class = require "luanet.net.class"

local eopnotsupp = tls.__internal.eopnotsupp

class.new("net.tls.unix.Socket", {
  sendfd = eopnotsupp("sendfd", nil),
  sendfdsync = eopnotsupp("sendfdsync", nil),
  recvfd = eopnotsupp("recvfd", nil),
  recvfdsync = eopnotsupp("recvfdsync", nil),
}, "net.tls.Socket", "net.unix.Socket")

local M = {}
package.loaded[CANONICAL] = M
return M
