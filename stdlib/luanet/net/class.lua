-- A small class helper for the luanet dialect's `net.*` modules, in the manner of the
-- metamodule library lua-net is built with (internal: not part of lua-net's surface).
--
--   local class = require "net.class"
--   local Socket = class.new("net.stream.unix.Socket", {
--     init = function(self, sock) self.sock = sock; return self end,
--     hello = function(self) return "hi" end,
--   }, "net.stream.Socket", "net.unix.Socket")
--   local s = Socket(sock)          -- calls init(self, ...) and returns what it returns
--   tostring(s)                     --> "net.stream.unix.Socket: 0x55d0c8a4e2b0"
--   class.instanceof(s, "net.Socket")  --> true
--   class.methods("net.stream.Socket").read(s, ...)   -- a base class's method
--
-- Inheritance: a class gets every method of its bases; with several bases the first one
-- that has a method wins, and the class's own methods override them all. Instances are
-- plain tables (their fields are visible, as upstream's are) whose metatable gives the
-- methods and the `tostring`. A class is registered by its full name, and `new` throws if
-- a base is not registered yet (require the module that defines it first).
--
-- The module is a single instance whatever name it is required by.

local CANONICAL = "luanet.net.class"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local type, pairs, select, error, rawget = type, pairs, select, error, rawget
local setmetatable, getmetatable, tostring = setmetatable, getmetatable, tostring
local format, match = string.format, string.match

-- Registered classes by name: { name =, methods =, mt =, bases = { name = true, ... } }
local CLASSES = {}
-- Class of each metatable, to answer instanceof / classof.
local BY_MT = setmetatable({}, { __mode = "k" })
-- The "0x…" address each instance was created with (tostring shows it).
local ADDR = setmetatable({}, { __mode = "k" })

local M = {}

local function address(t)
  return match(tostring(t), "0x%x+") or tostring(t)
end

--- new(name, decl [, base, ...]): defines class `name` with the methods of table `decl`
--- over those of the named bases; returns its constructor (callable: Class(...)).
function M.new(name, decl, ...)
  if type(name) ~= "string" then
    error("class name must be string", 2)
  elseif decl ~= nil and type(decl) ~= "table" then
    error("class declaration must be table", 2)
  end
  local methods, ancestors = {}, { [name] = true }
  for i = 1, select("#", ...) do
    local bname = select(i, ...)
    local base = CLASSES[bname]
    if base == nil then
      error(format("base class %q of %q is not defined", tostring(bname), name), 2)
    end
    for k, v in pairs(base.methods) do
      if methods[k] == nil then
        methods[k] = v
      end
    end
    for a in pairs(base.ancestors) do
      ancestors[a] = true
    end
  end
  for k, v in pairs(decl or {}) do
    methods[k] = v
  end

  local mt = {
    __index = methods,
    __name = name,
    __tostring = function(self)
      return name .. ": " .. (ADDR[self] or "0x0")
    end,
  }
  local cls = { name = name, methods = methods, mt = mt, ancestors = ancestors }
  CLASSES[name] = cls
  BY_MT[mt] = cls

  local ctor = setmetatable({ name = name, methods = methods }, {
    __call = function(_, ...)
      local self = {}
      ADDR[self] = address(self)
      setmetatable(self, mt)
      local init = methods.init
      if init == nil then
        return self
      end
      return init(self, ...)
    end,
    __tostring = function()
      return "class " .. name
    end,
  })
  cls.ctor = ctor
  return ctor
end

--- methods(name): the method table of class `name` (to call a base's method), or nil.
function M.methods(name)
  local cls = CLASSES[name]
  return cls and cls.methods
end

--- get(name): the constructor of class `name`, or nil.
function M.get(name)
  local cls = CLASSES[name]
  return cls and cls.ctor
end

--- classof(obj): the class name of an instance, or nil.
function M.classof(obj)
  local cls = type(obj) == "table" and BY_MT[getmetatable(obj)] or nil
  return cls and cls.name
end

--- instanceof(obj, name): whether obj is an instance of class `name` or of a subclass.
function M.instanceof(obj, name)
  local cls = type(obj) == "table" and BY_MT[getmetatable(obj)] or nil
  return cls ~= nil and rawget(cls.ancestors, name) == true
end

package.loaded[CANONICAL] = M
return M
