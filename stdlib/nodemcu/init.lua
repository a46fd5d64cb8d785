-- The NodeMCU dialect: the firmware's `net`, `tls`, `tmr`, `node`, `sjson`, `bit` and a
-- `wifi` stub, plus the Lua 5.1 `unpack`. Under `--dialect nodemcu` they are the
-- script's globals; in the `all` mode NodeMCU's `net` functions join the shared `net`
-- table and the other modules are globals too (no other dialect uses those names).
-- Every module loads on first use.
local mode = ...
local dialects = require "rluanet.dialects"

if mode == "nodemcu" then
  dialects.lazy_global("net", "nodemcu.net")
else
  dialects.net_keys("nodemcu.net", {
    "TCP", "UDP", "createConnection", "createServer", "createUDPSocket",
    "multicastJoin", "multicastLeave", "ifinfo", "dns", "cert",
  })
end
for name, module in pairs {
  tls = "nodemcu.tls", tmr = "nodemcu.tmr", node = "nodemcu.node",
  sjson = "nodemcu.sjson", bit = "nodemcu.bit", wifi = "nodemcu.wifi",
} do
  dialects.lazy_global(name, module)
end
if rawget(_G, "unpack") == nil then
  rawset(_G, "unpack", table.unpack)
end
