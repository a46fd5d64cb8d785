-- What `libtls` and `libtls.config` of the luanet dialect share (internal: not part of
-- lua-libtls's surface): argument checks with lauxlib's messages, the protocol bits,
-- PEM blocks, certificate name matching as libtls does it, and the private state of
-- config objects.

local CANONICAL = "luanet.libtls.internal"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local errno = require "luanet.errno"

local type, error, select, setmetatable, tostring, tointeger = type, error, select, setmetatable, tostring,
  math.tointeger
local io_type = io.type
local format, gmatch, lower, byte, char, find, sub, gsub, match = string.format, string.gmatch, string.lower,
  string.byte, string.char, string.find, string.sub, string.gsub, string.match
local concat = table.concat

local M = {}

--- What the platform TLS library (native-tls) cannot do: "<what> not supported by the
--- platform TLS library".
function M.unsupported(what)
  return what .. " not supported by the platform TLS library"
end

M.OCSP_UNSUPPORTED = "OCSP is not supported by the platform TLS library"

--- strerror(name): the platform's text of errno `name` ("Invalid argument").
function M.strerror(name)
  local t = errno[name]
  return t and t.message or name
end

---------------------------------------------------------------------------------------------
-- Protocols (libretls 3.5 tls.h)

M.TLS_v10, M.TLS_v11, M.TLS_v12, M.TLS_v13 = 2, 4, 8, 16
M.TLS_v1x = 2 | 4 | 8 | 16
M.TLS_DEFAULT = 8 | 16

-- bit → the core's version name, lowest first.
M.VERSIONS = { { 2, "1.0" }, { 4, "1.1" }, { 8, "1.2" }, { 16, "1.3" } }

---------------------------------------------------------------------------------------------
-- Argument checks (lauxlib's messages; a method's self is argument 0 as luaL_argerror
-- counts it)

-- The type name lauxlib shows: __name of a metatable, else the Lua type.
local function typename(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and type(mt.__name) == "string" then
    return mt.__name
  end
  return type(v)
end
M.typename = typename

--- argerror(fname, n, msg, level): raises "bad argument #n to 'fname' (msg)" at `level`
--- (2: the caller of the function that called argerror).
function M.argerror(fname, n, msg, level)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), level + 1)
end

-- "<want> expected, got <what>" for argument i of `...` (count n).
local function got(i, n, v)
  if i > n then
    return "no value"
  end
  return typename(v)
end

--- check(fname, spec, n, ...): checks the arguments `...` (n of them) against `spec`, a
--- list of "string", "integer", "?string", "?integer" (? = may be nil or absent),
--- "strnum" (a string or a number, as luaL_checklstring takes), "?strnum". Raises at the
--- caller of the caller of check (the script calling the method).
function M.check(fname, spec, n, ...)
  for i = 1, #spec do
    local kind = spec[i]
    local v = (select(i, ...))
    local opt = sub(kind, 1, 1) == "?"
    if opt then
      kind = sub(kind, 2)
    end
    if not (opt and v == nil) then
      if kind == "string" then
        if type(v) ~= "string" then
          M.argerror(fname, i, "string expected, got " .. got(i, n, v), 3)
        end
      elseif kind == "strnum" then
        if type(v) ~= "string" and type(v) ~= "number" then
          M.argerror(fname, i, "string expected, got " .. got(i, n, v), 3)
        end
      elseif kind == "integer" then
        if type(v) ~= "number" then
          M.argerror(fname, i, "number expected, got " .. got(i, n, v), 3)
        elseif tointeger(v) == nil then
          M.argerror(fname, i, "number has no integer representation", 3)
        end
      end
    end
  end
end

--- self_check(obj, mt, fname): raises "calling 'fname' on bad self" unless obj has mt.
function M.self_check(obj, mt, fname)
  if getmetatable(obj) ~= mt then
    error(format("calling '%s' on bad self (%s expected, got %s)", fname, mt.__name, typename(obj)), 3)
  end
end

--- is_file(v): an open Lua file handle.
function M.is_file(v)
  return io_type(v) == "file"
end

---------------------------------------------------------------------------------------------
-- Files

--- load(path, what): the bytes of file `path`, or nil, libtls's message
--- "failed to open <what> file '<path>': <strerror>".
function M.load(path, what)
  local f, msg = io.open(path, "rb")
  if not f then
    local reason = match(tostring(msg), "^.-: (.*)$") or tostring(msg)
    return nil, format("failed to open %s file '%s': %s", what, path, reason)
  end
  local data, rmsg = f:read("a")
  f:close()
  if data == nil then
    return nil, format("failed to read %s file '%s': %s", what, path, tostring(rmsg))
  end
  return data
end

---------------------------------------------------------------------------------------------
-- PEM

local B64 = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, #alphabet do
    B64[byte(alphabet, i)] = i - 1
  end
end

--- unbase64(s): the bytes of base64 text s (whitespace ignored), or nil if malformed.
function M.unbase64(s)
  s = gsub(s, "%s", "")
  s = gsub(s, "=+$", "")
  local out, acc, bits = {}, 0, 0
  for i = 1, #s do
    local v = B64[byte(s, i)]
    if v == nil then
      return nil
    end
    acc = (acc << 6) | v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      out[#out + 1] = char((acc >> bits) & 0xff)
    end
  end
  return concat(out)
end

--- certificates(pem): the DER of every CERTIFICATE block of pem, in order.
function M.certificates(pem)
  local list = {}
  for body in gmatch(pem, "%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-(.-)%-%-%-%-%-END CERTIFICATE%-%-%-%-%-") do
    local der = M.unbase64(body)
    if der then
      list[#list + 1] = der
    end
  end
  return list
end

--- has_private_key(pem): whether pem holds a PEM private key block.
function M.has_private_key(pem)
  return find(pem, "-----BEGIN [%u ]*PRIVATE KEY-----") ~= nil
end

---------------------------------------------------------------------------------------------
-- Certificate names, matched as libtls's tls_check_name does: the subjectAltName DNS and
-- IP entries if there are any (RFC 6125 6.4.4), else the subject's common name; a
-- leftmost "*" label matches one label of a name with at least three labels.

-- info.names of core.x509_info is the CN (when the subject has one) and then the SANs.
local function split_names(info)
  local names = info.names or {}
  local cn, first = nil, 1
  if find(info.subject or "", "/CN=", 1, true) and names[1] ~= nil then
    cn, first = names[1], 2
  end
  local sans = {}
  for i = first, #names do
    sans[#sans + 1] = names[i]
  end
  return cn, sans
end

local function match_dns(pattern, name)
  pattern, name = lower(pattern), lower(name)
  if pattern == name then
    return true
  end
  if sub(pattern, 1, 2) ~= "*." then
    return false
  end
  local domain = sub(pattern, 2) -- ".example.com"
  -- at least two labels after the wildcard, and the wildcard covers exactly one label
  if not find(domain, "%.[^.]+%.[^.]+") then
    return false
  end
  local head = match(name, "^([^.]+)%.")
  return head ~= nil and sub(name, #head + 1) == domain
end

-- A normal form of an IP literal, so that "::1" and "0:0::1" compare equal.
local function ip_form(s)
  if find(s, ":", 1, true) then
    local head, tail = match(s, "^(.-)::(.*)$")
    local groups = {}
    local function add(part, list)
      for g in gmatch(part, "[^:]+") do
        list[#list + 1] = tonumber(g, 16) or -1
      end
    end
    if head then
      local a, b = {}, {}
      add(head, a)
      add(tail, b)
      for _, g in ipairs(a) do
        groups[#groups + 1] = g
      end
      for _ = 1, 8 - #a - #b do
        groups[#groups + 1] = 0
      end
      for _, g in ipairs(b) do
        groups[#groups + 1] = g
      end
    else
      add(s, groups)
    end
    local out = {}
    for i, g in ipairs(groups) do
      out[i] = format("%x", g)
    end
    return concat(out, ":")
  end
  return s
end

--- cert_has_name(info, name): whether the certificate (core.x509_info table) is valid for
--- name.
function M.cert_has_name(info, name)
  local cn, sans = split_names(info)
  local is_ip = core.is_ip(name)
  for _, san in ipairs(sans) do
    if is_ip then
      if core.is_ip(san) and ip_form(san) == ip_form(name) then
        return true
      end
    elseif not core.is_ip(san) and match_dns(san, name) then
      return true
    end
  end
  if #sans > 0 then
    return false
  end
  if cn == nil then
    return false
  end
  if is_ip then
    return cn == name
  end
  return match_dns(cn, name)
end

---------------------------------------------------------------------------------------------
-- Config objects: their state lives here, out of the script's reach.

M.config_state = setmetatable({}, { __mode = "k" })

--- Object addresses for tostring.
function M.address(t)
  return match(tostring(t), "0x%x+") or "0x0"
end

package.loaded[CANONICAL] = M
return M
