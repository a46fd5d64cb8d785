-- `net.msghdr` of the luanet dialect: lua-net v0.41's scatter/gather message header.
-- Not supported yet (it comes last, with readv/writev/sendmsg/recvmsg): `new()` raises.

local CANONICAL = "luanet.net.msghdr"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local error = error

local M = {}

function M.new()
  error("net.msghdr is not supported yet by rlua-net's lua-net dialect", 2)
end

package.loaded[CANONICAL] = M
return M
