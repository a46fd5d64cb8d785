-- The Hammerspoon dialect: the global `hs`, whose fields load `hs.<name>` on first use
-- (`hs.socket`, `hs.timer`, `hs.logger`, ...). `require "hs.socket"` works too. Modules
-- that only make sense on a Mac (hs.window, hs.alert, ...) are absent: asking for one
-- raises an error that names it. The `all` mode sets up the same `hs` global.
local _ = ...

-- hs.<name> -> embedded module, for the modules this dialect carries.
local PROVIDED = {
  socket = "hammerspoon.socket",
  timer = "hammerspoon.timer",
  logger = "hammerspoon.logger",
  inspect = "hammerspoon.inspect",
  fnutils = "hammerspoon.fnutils",
  json = "hammerspoon.json",
  ["socket.udp"] = "hammerspoon.udp",
}

-- Portable modules this dialect does not carry yet (they are planned, not macOS-only).
local NOT_YET = {}

local function missing(name)
  if NOT_YET[name] then
    return ("hs.%s is not available yet in rlua-net"):format(name)
  end
  return ("hs.%s is not available in rlua-net (it is a macOS-only Hammerspoon module)"):format(name)
end

-- `require "hs.<name>"`: the dialect's module, or the clear error for a macOS-only one.
local function searcher(modname)
  local name = type(modname) == "string" and modname:match("^hs%.(.+)$")
  if not name then
    return nil
  end
  local target = PROVIDED[name]
  if target == nil then
    local sub = name:match("^socket%.(.+)$")
    if sub == nil or NOT_YET[name] then
      error(missing(name), 3)
    end
    return "\n\tno module '" .. modname .. "' in rlua-net's Hammerspoon dialect"
  end
  return function()
    return require(target)
  end, "stdlib:" .. target
end
table.insert(package.searchers, 2, searcher)

if rawget(_G, "hs") == nil then
  local hs = {}
  setmetatable(hs, {
    __index = function(t, k)
      if type(k) ~= "string" then
        return nil
      end
      if k == "luaSkinLog" then
        local log = require("hammerspoon.logger").new("LuaSkin", "info")
        rawset(t, k, log)
        return log
      end
      local target = PROVIDED[k]
      if target == nil then
        error(missing(k), 2)
      end
      local mod = require(target)
      rawset(t, k, mod)
      return mod
    end,
  })
  -- The few helpers that live on `hs` itself.
  function hs.printf(fmt, ...)
    print(string.format(fmt, ...))
  end
  local metatables = {}
  function hs.getObjectMetatable(name)
    return metatables[name]
  end
  -- Internal: modules register their object metatables here.
  rawset(hs, "_registerMetatable", function(name, mt)
    metatables[name] = mt
  end)
  rawset(_G, "hs", hs)
end
