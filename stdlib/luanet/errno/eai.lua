-- The `errno.eai` helper module of the luanet dialect, in the shape of lua-errno's
-- errno.eai: one error type per getaddrinfo EAI_* code of this platform.
--
--   local eai = require "errno.eai"        -- (also `require "luanet.errno.eai"`)
--   eai.EAI_NONAME                          -- the type: .name, .code, .message
--   eai[eai.EAI_NONAME.code]                -- the same type, by number
--   local err = eai.new("EAI_NONAME", nil, "getaddrinfo")
--   err.type == eai.EAI_NONAME
--
-- The codes differ between C libraries: glibc and musl number them from -1 down, Darwin
-- and the BSDs from 1 up. The table is picked by `require("rluanet.core").platform`.
-- Messages are the platform's gai_strerror texts, except EAI_OVERFLOW on Linux, which
-- glibc leaves as "Unknown error".
--
-- The module is a single instance whatever name it is required by.

local CANONICAL = "luanet.errno.eai"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local errors = require "luanet.error"
local core = require "rluanet.core"

local type, tostring, rawget = type, tostring, rawget
local format = string.format
local tointeger = math.tointeger

-- glibc / musl (<netdb.h> with _GNU_SOURCE)
local LINUX = [[
EAI_BADFLAGS -1 Bad value for ai_flags
EAI_NONAME -2 Name or service not known
EAI_AGAIN -3 Temporary failure in name resolution
EAI_FAIL -4 Non-recoverable failure in name resolution
EAI_NODATA -5 No address associated with hostname
EAI_FAMILY -6 ai_family not supported
EAI_SOCKTYPE -7 ai_socktype not supported
EAI_SERVICE -8 Servname not supported for ai_socktype
EAI_ADDRFAMILY -9 Address family for hostname not supported
EAI_MEMORY -10 Memory allocation failure
EAI_SYSTEM -11 System error
EAI_OVERFLOW -12 Argument buffer overflow
]]

-- Darwin (macOS, iOS); FreeBSD, NetBSD and Android's bionic use the same numbers.
local DARWIN = [[
EAI_ADDRFAMILY 1 Address family for nodename not supported
EAI_AGAIN 2 Temporary failure in name resolution
EAI_BADFLAGS 3 Invalid value for ai_flags
EAI_FAIL 4 Non-recoverable failure in name resolution
EAI_FAMILY 5 ai_family not supported
EAI_MEMORY 6 Memory allocation failure
EAI_NODATA 7 No address associated with nodename
EAI_NONAME 8 nodename nor servname provided, or not known
EAI_SERVICE 9 servname not supported for ai_socktype
EAI_SOCKTYPE 10 ai_socktype not supported
EAI_SYSTEM 11 System error
EAI_BADHINTS 12 Invalid value for hints
EAI_PROTOCOL 13 Resolved protocol is unknown
EAI_OVERFLOW 14 Argument buffer overflow
]]

local function table_for(platform)
  if platform == "Mac OS X" or platform == "iOS" or platform == "FreeBSD" or platform == "NetBSD"
    or platform == "Android"
  then
    return DARWIN
  end
  -- Linux, and the negative numbering as the guess for anything else
  return LINUX
end

local M = {}

for name, code, message in table_for(tostring(core.platform)):gmatch("(EAI_[%w_]+) (%-?%d+) ([^\n]+)") do
  local c = tointeger(tonumber(code))
  local t = errors.type.new(name, c, message)
  M[name] = t
  if rawget(M, c) == nil then
    M[c] = t
  end
end

local ERROR_MT = getmetatable(errors.new(""))

local function argerror(n, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

local API = {}

--- eai.new(name_or_code [, message [, op [, wrap [, traceback]]]]): a new error of type
--- eai[name_or_code]; as errno.new. Throws '"X" is not defined' for an unknown one.
function API.new(id, message, op, wrap, traceback)
  local t = (type(id) == "string" or type(id) == "number") and rawget(M, id) or nil
  if t == nil then
    error(format("%q is not defined", tostring(id)), 2)
  end
  if op ~= nil and type(op) ~= "string" then
    argerror(3, "new", "string expected, got " .. type(op))
  end
  if wrap ~= nil and getmetatable(wrap) ~= ERROR_MT then
    argerror(4, "new", "error expected, got " .. type(wrap))
  end
  if traceback ~= nil and type(traceback) ~= "boolean" then
    argerror(5, "new", "boolean expected, got " .. type(traceback))
  end
  if op ~= nil then
    local text, is_message = errors.cause(message)
    if not is_message then
      text = message
    elseif text ~= nil then
      text = text.message
    end
    message = errors.message.new(text, op, t.code)
  end
  local err = t:new(message, wrap, 2, traceback)
  return err
end

--- eai.from_core(message, code [, op [, level]]): the error for a failed `core.resolve`
--- (`fn(nil, message, code)`): type eai[code], the resolver's message kept only when it
--- differs from the type's text (e.g. "no address found"); an untyped error for an
--- unknown code. `op` becomes err.op; `level` as for errno.from_core.
function API.from_core(message, code, op, level)
  if op ~= nil and type(op) ~= "string" then
    argerror(3, "from_core", "string expected, got " .. type(op))
  end
  local lv = level == nil and 1 or (type(level) == "number" and tointeger(level) or nil)
  if lv == nil or lv < 1 then
    argerror(4, "from_core", "positive integer expected, got " .. tostring(level))
  end
  local t = type(code) == "number" and rawget(M, code) or nil
  if t ~= nil then
    local text = message
    if text == t.message then
      text = nil
    end
    local err = t:new(errors.message.new(text, op, t.code), nil, lv + 1)
    return err
  end
  local c = type(code) == "number" and tointeger(code) or nil
  local err = errors.new(errors.message.new(message, op, c), nil, lv + 1)
  return err
end

setmetatable(M, { __index = API })

package.loaded[CANONICAL] = M
return M
