-- The `error` helper module of the luanet dialect: structured error objects in the shape of
-- mah0x211's lua-error, which lua-net returns from every failing call.
--
--   local error = require "error"            -- (also `require "luanet.error"`)
--   local err = error.new("boom")            -- untyped error, code -1
--   local T = error.type.new("my.error", 7, "Something failed")
--   local e2 = T:new("detail", err)          -- typed error wrapping err
--   tostring(e2)  --> "x.lua:3: in main chunk: [my.error:7] Something failed (detail)\n" ..
--                 --  "x.lua:2: in main chunk: boom"
--   error.is(e2, T), error.is(e2, err), error.is(e2, "boom")   -- all truthy
--
-- Error objects are tables with the fields `message` (an error.message), `type` (an
-- error.type or nil), `code` (the type's code, -1 without a type), `op` (the message's
-- op), `where`, `wrap` (the wrapped error) and `traceback`; and the methods `unwrap`,
-- `is`, `cause` and `typeof`. Raising one with Lua's `error(err)` keeps the object.
--
-- The module is a single instance whatever name it is required by: a second load under
-- another name hands back the first one.

local CANONICAL = "luanet.error"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local builtin_error = error
local type, tostring, select, rawequal = type, tostring, select, rawequal
local getmetatable, setmetatable = getmetatable, setmetatable
local format, find = string.format, string.find
local concat = table.concat
local tointeger = math.tointeger
local getinfo, traceback = debug.getinfo, debug.traceback

local M = {}

local ErrorMT, TypeMT, MessageMT = {}, {}, {}
local ErrorMethods, TypeMethods = {}, {}
ErrorMT.__index = ErrorMethods
TypeMT.__index = TypeMethods

-- error.type objects by name; weak, so a type nobody holds any more goes away.
local REGISTRY = setmetatable({}, { __mode = "v" })

local DEBUG = false

local function is_error(v)
  return getmetatable(v) == ErrorMT
end

local function is_type(v)
  return getmetatable(v) == TypeMT
end

local function is_message(v)
  return getmetatable(v) == MessageMT
end

-- Raises "bad argument #n to 'fname' (msg)" at the caller of the API function (`lv`
-- counts from argerror itself: 3 when the API function calls argerror directly).
local function argerror(n, fname, msg, lv)
  builtin_error(format("bad argument #%d to '%s' (%s)", n, fname, msg), lv or 3)
end

-- A stack level given by a script: nil, or a positive integer (as an integer).
local function check_level(level, n, fname)
  if level == nil then
    return 1
  end
  local lv = type(level) == "number" and tointeger(level) or nil
  if lv == nil or lv < 1 then
    argerror(n, fname, "positive integer expected, got " .. tostring(level), 4)
  end
  return lv
end

local function check_wrap(wrap, n, fname)
  if wrap ~= nil and not is_error(wrap) then
    argerror(n, fname, "error expected, got " .. type(wrap), 4)
  end
end

local function check_trace(trace, n, fname)
  if trace ~= nil and type(trace) ~= "boolean" then
    argerror(n, fname, "boolean expected, got " .. type(trace), 4)
  end
end

-- "<file>:<line>: in <what>: " for the function `lv` levels above where's caller
-- (1 = the caller itself), in the form lua-error uses; "" past the top of the stack.
local function where(lv)
  local info = getinfo(lv + 1, "Sln")
  if info == nil then
    return ""
  end
  local parts = {}
  if info.currentline and info.currentline > 0 then
    parts[#parts + 1] = info.short_src .. ":" .. info.currentline .. ": "
  end
  if info.namewhat ~= nil and info.namewhat ~= "" then
    parts[#parts + 1] = "in " .. info.namewhat .. " '" .. tostring(info.name) .. "'"
  elseif info.what == "main" then
    parts[#parts + 1] = "in main chunk"
  elseif info.what == "C" then
    parts[#parts + 1] = "?"
  else
    parts[#parts + 1] = "in function <" .. info.short_src .. ":" .. tostring(info.linedefined) .. ">"
  end
  parts[#parts + 1] = ": "
  return concat(parts)
end

---------------------------------------------------------------------------------------------
-- error.message

local function new_message(message, op, code)
  return setmetatable({ message = message, op = op, code = code }, MessageMT)
end

function MessageMT.__tostring(self)
  if self.op ~= nil then
    return "[op:" .. tostring(self.op) .. "] " .. tostring(self.message)
  end
  return tostring(self.message)
end

M.message = {}

--- error.message.new(message [, op [, code]]): a structured message; `op` names the
--- failing operation (shown as "[op]" by an error holding the message).
function M.message.new(message, op, code)
  if op ~= nil and type(op) ~= "string" then
    argerror(2, "new", "string expected, got " .. type(op))
  end
  if code ~= nil and (type(code) ~= "number" or tointeger(code) == nil) then
    argerror(3, "new", "integer expected, got " .. type(code))
  end
  return new_message(message, op, code and tointeger(code))
end

---------------------------------------------------------------------------------------------
-- error objects

-- Builds an error; `at` is a stack level counted from new_error's caller (1 = that caller).
local function new_error(message, wrap, at, trace)
  if not is_message(message) then
    message = new_message(message)
  end
  local err = {
    message = message,
    code = -1,
    op = message.op,
    wrap = wrap,
    where = where(at + 1),
  }
  if DEBUG or trace then
    -- the traceback text without its leading empty line
    local tb = traceback("", at + 1)
    err.traceback = (tb:gsub("^%s+", ""))
  end
  return setmetatable(err, ErrorMT)
end

function ErrorMT.__tostring(self)
  local out = { self.where or "" }
  local t = self.type
  if t ~= nil then
    out[#out + 1] = "[" .. tostring(t.name) .. ":" .. tostring(t.code) .. "]"
  end
  if self.op ~= nil then
    out[#out + 1] = "[" .. tostring(self.op) .. "]"
  end
  if #out > 1 then
    out[#out + 1] = " "
  end
  local msg = self.message
  local text = msg and msg.message
  if t ~= nil and t.message ~= nil then
    out[#out + 1] = tostring(t.message)
    if text ~= nil then
      out[#out + 1] = " (" .. tostring(text) .. ")"
    end
  elseif text ~= nil then
    out[#out + 1] = tostring(text)
  else
    out[#out + 1] = "(no message)"
  end
  if self.traceback ~= nil then
    out[#out + 1] = "\n" .. self.traceback
  end
  if self.wrap ~= nil then
    out[#out + 1] = "\n" .. tostring(self.wrap)
  end
  return concat(out)
end

--- error.new(message [, wrap [, level [, traceback]]]): a new error. `message` is any
--- value or an error.message; `wrap` an error this one wraps; `level` which caller the
--- position names (1 = the caller of new); `traceback` keeps a stack traceback.
function M.new(message, wrap, level, trace)
  check_wrap(wrap, 2, "new")
  local lv = check_level(level, 3, "new")
  check_trace(trace, 4, "new")
  local err = new_error(message, wrap, lv + 1, trace)
  return err
end

--- error.toerror(v [, wrap [, level [, traceback]]]): `v` itself when it is an error,
--- else error.new(v, ...).
function M.toerror(v, wrap, level, trace)
  if is_error(v) then
    return v
  end
  check_wrap(wrap, 2, "toerror")
  local lv = check_level(level, 3, "toerror")
  check_trace(trace, 4, "toerror")
  local err = new_error(v, wrap, lv + 1, trace)
  return err
end

-- How many arguments a string.format pattern consumes.
local function count_conversions(fmt)
  local n, i = 0, 1
  while true do
    local s = find(fmt, "%", i, true)
    if s == nil then
      return n
    end
    if fmt:sub(s + 1, s + 1) == "%" then
      i = s + 2
    else
      local _, e = find(fmt, "^[-+ #0]*%d*%.?%d*%a", s + 1)
      n = n + 1
      i = (e or s) + 1
    end
  end
end

--- error.format(fmt, ... [, wrap [, level [, traceback]]]): error.new with a message made
--- by string.format. A value after the format arguments that is not an error is appended
--- to the message as ": <value>" instead of being wrapped.
function M.format(fmt, ...)
  if type(fmt) ~= "string" then
    argerror(1, "format", "string expected, got " .. type(fmt))
  end
  local n = count_conversions(fmt)
  local args = table.pack(...)
  local text = format(fmt, table.unpack(args, 1, n))
  local wrap, level, trace = args[n + 1], args[n + 2], args[n + 3]
  if wrap ~= nil and not is_error(wrap) then
    text = text .. ": " .. tostring(wrap)
    wrap = nil
  end
  local lv = check_level(level, n + 3, "format")
  check_trace(trace, n + 4, "format")
  local err = new_error(text, wrap, lv + 1, trace)
  return err
end

--- error.unwrap(err): the error `err` wraps, or nil.
function M.unwrap(err)
  if not is_error(err) then
    argerror(1, "unwrap", "error expected, got " .. type(err))
  end
  return err.wrap
end

--- error.cause(v): the error.message of an error and true; otherwise `v` itself and
--- whether it is an error.message.
function M.cause(v)
  if v == nil then
    return nil, false
  elseif is_error(v) then
    return v.message, true
  end
  return v, is_message(v)
end

--- error.typeof(v): the error.type of an error, the type itself for a type, else nil.
function M.typeof(v)
  if is_error(v) then
    return v.type
  elseif is_type(v) then
    return v
  end
  return nil
end

-- A predicate telling whether one error (not its chain) matches `target`.
local function matcher(target)
  if type(target) == "string" then
    local t = REGISTRY[target]
    if t ~= nil then
      target = t
    end
  end
  if is_error(target) then
    return function(e)
      return rawequal(e, target)
    end
  elseif is_type(target) then
    return function(e)
      return rawequal(e.type, target)
    end
  elseif is_message(target) then
    return function(e)
      return rawequal(e.message, target)
    end
  end
  return function(e)
    return e.message.message == target
  end
end

--- error.is(err, target, ...): the first error in err's chain (err, then what it wraps,
--- and so on) that matches a target: the same error object, an error of that error.type
--- (a string naming a registered type counts as the type), the same error.message, or
--- an error whose message value equals the target. nil when nothing matches or `err`
--- is not an error.
function M.is(err, ...)
  if not is_error(err) then
    return nil
  end
  for i = 1, select("#", ...) do
    local target = select(i, ...)
    if target ~= nil and target ~= false then
      local match = matcher(target)
      local e = err
      while e ~= nil do
        if match(e) then
          return e
        end
        e = e.wrap
      end
    end
  end
  return nil
end

--- error.debug(enabled): when on, every new error keeps a stack traceback.
function M.debug(enabled)
  if type(enabled) ~= "boolean" then
    argerror(1, "debug", "boolean expected, got " .. type(enabled))
  end
  DEBUG = enabled
end

function ErrorMethods.unwrap(self)
  return self.wrap
end

function ErrorMethods.is(self, ...)
  return M.is(self, ...)
end

function ErrorMethods.cause(self)
  return self.message, true
end

function ErrorMethods.typeof(self)
  return self.type
end

---------------------------------------------------------------------------------------------
-- error.type

M.type = {}

-- A typed error; `at` as for new_error.
local function new_typed(t, message, wrap, at, trace)
  local err = new_error(message, wrap, at + 1, trace)
  err.type = t
  err.code = t.code
  return err
end

--- error.type.new(name [, code [, message]]): a new error type, registered by name.
--- `name` is 1-127 characters: a letter, then letters, digits, '_' or '.'.
function M.type.new(name, code, message)
  if type(name) ~= "string" then
    argerror(1, "new", "string expected, got " .. type(name))
  end
  if #name < 1 or #name > 127 then
    argerror(1, "new", "string length between 1-127 expected, got " .. #name)
  end
  if not find(name, "^%a[%w_.]*$") then
    argerror(1, "new", format("name of letters, digits, '_' or '.' starting with a letter expected, got %q", name))
  end
  if code ~= nil and (type(code) ~= "number" or tointeger(code) == nil) then
    argerror(2, "new", "integer expected, got " .. tostring(code))
  end
  if message ~= nil and type(message) ~= "string" then
    argerror(3, "new", "string expected, got " .. type(message))
  end
  if REGISTRY[name] ~= nil then
    builtin_error(format("error.type %q is already used by another error type", name), 2)
  end
  local t = setmetatable({ name = name, code = code and tointeger(code) or -1, message = message }, TypeMT)
  REGISTRY[name] = t
  return t
end

--- error.type.get(name): the registered error type of that name, or nil.
function M.type.get(name)
  if type(name) ~= "string" then
    argerror(1, "get", "string expected, got " .. type(name))
  end
  return REGISTRY[name]
end

--- error.type.del(name): unregisters a type name; true if it was registered.
function M.type.del(name)
  if type(name) ~= "string" then
    argerror(1, "del", "string expected, got " .. type(name))
  end
  if REGISTRY[name] ~= nil then
    REGISTRY[name] = nil
    return true
  end
  return false
end

--- errt:new([message [, wrap [, level [, traceback]]]]): an error of this type; as
--- error.new, except that the message may be nil (the type's message then stands alone).
function TypeMethods.new(self, message, wrap, level, trace)
  if not is_type(self) then
    argerror(1, "new", "error.type expected, got " .. type(self))
  end
  check_wrap(wrap, 2, "new")
  local lv = check_level(level, 3, "new")
  check_trace(trace, 4, "new")
  local err = new_typed(self, message, wrap, lv + 1, trace)
  return err
end

-- errt(...) is errt:new(...).
function TypeMT.__call(self, message, wrap, level, trace)
  check_wrap(wrap, 2, "new")
  local lv = check_level(level, 3, "new")
  check_trace(trace, 4, "new")
  local err = new_typed(self, message, wrap, lv + 1, trace)
  return err
end

function TypeMT.__tostring(self)
  return format("%s: %p", self.name, self)
end

---------------------------------------------------------------------------------------------

-- Calling the module is Lua's own error(): error(message [, level]).
setmetatable(M, {
  __call = function(_, message, level)
    if level == nil then
      level = 1
    end
    if type(level) == "number" and level > 0 then
      level = level + 1
    end
    builtin_error(message, level)
  end,
})

package.loaded[CANONICAL] = M
return M
