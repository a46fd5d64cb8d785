-- The lua-net dialect: mah0x211's lua-net, lua-libtls and the helpers they use. These are
-- `require`-only modules (no globals): `require "net.stream.inet"` finds
-- stdlib/luanet/net/stream/inet.lua, `require "errno"` stdlib/luanet/errno.lua.
local _, roots = ...
roots[#roots + 1] = "luanet"
