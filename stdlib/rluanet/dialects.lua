-- Plumbing the dialects share: globals that load their module on first use, and the
-- `net` global of the `all` mode, the union of several dialects' `net` tables.
local M = {}

local function fill(proxy, modname)
  local mod = require(modname)
  setmetatable(proxy, nil)
  for k, v in pairs(mod) do
    rawset(proxy, k, v)
  end
  return mod
end

--- Defines global `name` as a table that becomes a copy of module `modname` the first
--- time it is touched, so start-up pays nothing for globals a script never uses.
function M.lazy_global(name, modname)
  if rawget(_G, name) ~= nil then
    return
  end
  local proxy = {}
  setmetatable(proxy, {
    __index = function(t, k)
      return fill(t, modname)[k]
    end,
    __newindex = function(t, k, v)
      fill(t, modname)
      rawset(t, k, v)
    end,
    __pairs = function(t)
      fill(t, modname)
      return next, t, nil
    end,
  })
  rawset(_G, name, proxy)
end

--- Makes module `modname` answer the names of the `all`-mode `net` that no dialect claimed.
function M.net_fallback(modname)
  M.net_keys(modname, {})
  getmetatable(rawget(_G, "net")).fallback = modname
end

--- Makes the `all`-mode `net` global know that `keys` belong to module `modname`.
function M.net_keys(modname, keys)
  local union = rawget(_G, "net")
  if union == nil then
    local owners = {}
    union = setmetatable({}, {
      __index = function(t, k)
        local owner = owners[k]
        if owner == nil then
          -- Names no dialect claimed: lua-net's `net` table (its constants), if present.
          local fallback = getmetatable(t).fallback
          return fallback and require(fallback)[k]
        end
        local mod = require(owner)
        for key, o in pairs(owners) do
          if o == owner then
            owners[key] = nil
            rawset(t, key, mod[key])
          end
        end
        return mod[k]
      end,
      owners = owners,
    })
    rawset(_G, "net", union)
    -- `require "net"` gives the same table (Pragtical code requires it).
    package.preload.net = function()
      return union
    end
  end
  local owners = getmetatable(union).owners
  for _, k in ipairs(keys) do
    owners[k] = modname
  end
end

return M
