-- The lua-net dialect: mah0x211's lua-net, lua-libtls and the helpers they use. These are
-- `require`-only modules (no globals): `require "net.stream.inet"` finds
-- stdlib/luanet/net/stream/inet.lua, `require "errno"` stdlib/luanet/errno.lua.
local mode, roots = ...
roots[#roots + 1] = "luanet"
if mode == "all" then
  -- `require "net"` is the shared `net`; lua-net's constants answer what no dialect claims.
  require("rluanet.dialects").net_fallback("luanet.net")
end
