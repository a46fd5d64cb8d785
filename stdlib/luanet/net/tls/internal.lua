-- What the luanet dialect's `net.tls*` modules share (internal: not part of lua-net's
-- surface): tlscfg option checks, argument errors raised at the script's line, errors for
-- what the platform TLS library cannot do, and PEM files.
--
-- Argument errors inside a builder are thrown as markers (`throw`) and re-raised by the
-- public function with `call(level, fn, ...)`, so that every path (a tlscfg given to
-- client.new, or a direct call of `net.tls.client(...)`) blames the script's line.

local CANONICAL = "luanet.net.tls.internal"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local errno = require "luanet.errno"
local I = require "luanet.net.internal"

local type, error, pcall, tostring, setmetatable, getmetatable = type, error, pcall, tostring, setmetatable,
  getmetatable
local format, match = string.format, string.match
local pack, unpack = table.pack, table.unpack
local io_open = io.open
local is_uint = I.is_uint

local M = {}

--- What the context modules share with each other: registry.client, registry.server
--- (is_ctx, build, new), set when those modules load.
M.registry = {}

--- The message of what the platform TLS library (native-tls) cannot express.
M.UNSUPPORTED = "not supported by the platform TLS library"

---------------------------------------------------------------------------------------------
-- Argument errors

local ARGERR = {}

--- throw(msg): an argument error, re-raised by `call` at the blamed level.
function M.throw(msg)
  error(setmetatable({ msg = msg }, ARGERR), 0)
end

--- argerror(n, fname, msg): throws lauxlib's "bad argument #n to 'fname' (msg)".
function M.argerror(n, fname, msg)
  M.throw(format("bad argument #%d to '%s' (%s)", n, fname, msg))
end

--- typeerror(n, fname, expected, got): "... (<expected> expected, got <type>)".
function M.typeerror(n, fname, expected, got)
  M.argerror(n, fname, format("%s expected, got %s", expected, got == nil and "nil" or type(got)))
end

--- call(level, fn, ...): fn(...)'s results; an argument error `throw`n inside is raised at
--- `level` counted from the caller of `call` (1: that caller, 2: its caller, ...). Call it
--- as a statement (not a tail call), or the levels shift.
function M.call(level, fn, ...)
  local r = pack(pcall(fn, ...))
  if r[1] then
    return unpack(r, 2, r.n)
  end
  local e = r[2]
  if getmetatable(e) == ARGERR then
    error(e.msg, level + 1)
  end
  error(e, 0)
end

---------------------------------------------------------------------------------------------
-- Errors returned (not thrown)

--- unsupported(what, op): nil, an EOPNOTSUPP error "<what> not supported by the platform
--- TLS library".
function M.unsupported(what, op)
  return nil, errno.new("EOPNOTSUPP", what .. " " .. M.UNSUPPORTED, op or "tls")
end

--- syserr(msg, code, op): the error of a core failure.
function M.syserr(msg, code, op)
  return errno.from_core(msg, code, op, 2)
end

--- newerr(name, msg, op)
function M.newerr(name, msg, op)
  return errno.new(name, msg, op)
end

---------------------------------------------------------------------------------------------
-- tlscfg values

-- protocol → { min, max } for the core (nil: no bound).
local PROTOCOLS = {
  default = { "1.2", nil },
  tlsv1 = { "1.0", nil },
  ["tlsv1.0"] = { "1.0", "1.0" },
  ["tlsv1.1"] = { "1.1", "1.1" },
  ["tlsv1.2"] = { "1.2", "1.2" },
  ["tlsv1.3"] = { "1.3", "1.3" },
}

-- encrypted_length values of lua-net v0.41 (the largest record of each protocol).
M.ENCRYPTED_LENGTH = {
  default = 17749,
  tlsv1 = 17749,
  ["tlsv1.0"] = 17689,
  ["tlsv1.1"] = 17705,
  ["tlsv1.2"] = 17749,
  ["tlsv1.3"] = 16645,
}

--- option(v, n, fname, list): a string option (nil: "default"); any other value throws as
--- luaL_checkoption does.
function M.option(v, n, fname, list)
  if v == nil then
    return "default"
  elseif type(v) ~= "string" then
    M.typeerror(n, fname, "string", v)
  elseif list[v] == nil then
    M.argerror(n, fname, format("invalid option '%s'", v))
  end
  return v
end

--- protocol(v, n, fname): min, max for the core.
function M.protocol(v, n, fname)
  local p = PROTOCOLS[M.option(v, n, fname, PROTOCOLS)]
  return p[1], p[2]
end

M.PROTOCOLS = PROTOCOLS

local CIPHERS = { default = true, secure = true, legacy = false, all = false }

--- ciphers(v, n, fname): true, or nil, err for a policy native-tls cannot apply.
function M.ciphers(v, n, fname)
  local name = M.option(v, n, fname, CIPHERS)
  if not CIPHERS[name] then
    return nil, errno.new("EOPNOTSUPP", format("cipher policy not supported by the platform TLS library (%s)",
      name), "ciphers")
  end
  return true
end

--- alpn(v, n, fname): a list of protocol names (empty ones dropped), or nil, err for a
--- non-string or too long element; a non-table throws.
function M.alpn(v, n, fname)
  local list = {}
  if v == nil then
    return list
  elseif type(v) ~= "table" then
    M.typeerror(n, fname, "table", v)
  end
  for i = 1, #v do
    local p = v[i]
    if type(p) ~= "string" then
      return nil, errno.new("EINVAL", format("alpn[%d] must be string, got %s", i, type(p)), "alpn")
    elseif #p > 255 then
      return nil, errno.new("EINVAL", format("alpn[%d] must be at most 255 bytes", i), "alpn")
    elseif #p > 0 then
      list[#list + 1] = p
    end
  end
  return list
end

--- opt_uint(v, n, fname), opt_bool, opt_func: an optional value of that kind, or throws.
function M.opt_uint(v, n, fname)
  if v ~= nil and not is_uint(v) then
    M.typeerror(n, fname, "unsigned integer", v)
  end
  return v
end

function M.opt_bool(v, n, fname)
  if v ~= nil and type(v) ~= "boolean" then
    M.typeerror(n, fname, "boolean", v)
  end
  return v
end

function M.opt_func(v, n, fname)
  if v ~= nil and type(v) ~= "function" then
    M.typeerror(n, fname, "function", v)
  end
  return v
end

---------------------------------------------------------------------------------------------
-- Files

--- read_file(path, op): the file's bytes, or nil, err (ENOENT and the like, with op).
function M.read_file(path, op)
  local f, msg, code = io_open(path, "rb")
  if not f then
    return nil, errno.from_core(msg, code, op, 2)
  end
  local data, rmsg, rcode = f:read("a")
  f:close()
  if data == nil then
    return nil, errno.from_core(rmsg or "cannot read " .. path, rcode, op, 2)
  end
  return data
end

--- core_call(fn, ...): fn(...) of a core constructor that may raise for bad input (an
--- invalid PEM, say): its results, or nil, message.
function M.core_call(fn, ...)
  local r = pack(pcall(fn, ...))
  if r[1] then
    return unpack(r, 2, r.n)
  end
  -- The core's raised errors print as their message first, a traceback after.
  local msg = match(tostring(r[2]), "^[^\n]*")
  return nil, msg
end

--- is_ip(s): whether s is an IP literal (no SNI is sent for those, and the certificate's
--- IP addresses are checked instead of names).
function M.is_ip(s)
  return type(s) == "string" and core.is_ip(s)
end

--- Object addresses for tostring, as the socket classes show theirs.
function M.address(t)
  return match(tostring(t), "0x%x+") or "0x0"
end

package.loaded[CANONICAL] = M
return M
