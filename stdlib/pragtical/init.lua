-- The Pragtical dialect: the editor's `net` module with the pieces of `core` and `system`
-- that network code uses, so plugins' network code runs headless. Under
-- `--dialect pragtical` the globals are `net` (also `require "net"`), `core`, `system`,
-- `PLATFORM`, `PATHSEP` and `USERDIR`; in the `all` mode Pragtical's `net` functions join
-- the shared `net` table and `core`/`system` are globals too. Modules load on first use.
local mode, _, platform = ...
local dialects = require "rluanet.dialects"

if mode == "pragtical" then
  dialects.lazy_global("net", "pragtical.net")
  package.loaded.net = net
else
  dialects.net_keys("pragtical.net", {
    "resolve_address", "get_local_addresses", "open_tcp", "open_udp", "create_server",
    "set_cacert_path", "get_cacert_path",
  })
end
dialects.lazy_global("core", "pragtical.core")
dialects.lazy_global("system", "pragtical.system")

local function userdir()
  local config = os.getenv("XDG_CONFIG_HOME")
  if config == nil or config == "" then
    config = (os.getenv("HOME") or ".") .. "/.config"
  end
  return config .. "/pragtical"
end

if rawget(_G, "PLATFORM") == nil then
  rawset(_G, "PLATFORM", platform)
  rawset(_G, "PATHSEP", package.config:sub(1, 1))
  rawset(_G, "USERDIR", os.getenv("PRAGTICAL_USERDIR") or userdir())
end
