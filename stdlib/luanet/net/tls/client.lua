-- `net.tls.client` of the luanet dialect (lua-net v0.41): a function that makes a client
-- TLS context, which `net.tls.context.connect` (and `client.new` with a tlscfg) uses.
--
--   local new_client_ctx = require "net.tls.client"
--   local ctx, err = new_client_ctx(protocol, ciphers, alpn, session_cache_timeout,
--                                   session_cache_size, prefer_client_ciphers,
--                                   ocsp_error_callback)
--   ctx:load_verify_locations("ca.pem")     -- trust these roots too (true | false, err)
--
-- protocol: "default" (TLS 1.2-1.3), "tlsv1" (1.0-1.3), "tlsv1.0", "tlsv1.1", "tlsv1.2",
-- "tlsv1.3" (exactly); anything else throws. ciphers: "default" and "secure" are the
-- platform's defaults; "legacy" and "all" give nil, err (native-tls has no cipher API).
-- alpn: a list of protocol names (a non-string or >255-byte name gives nil, err).
-- The session cache options and prefer_client_ciphers are accepted and have no effect
-- (no session API: sessions are never resumed); ocsp_error_callback is accepted and never
-- called (no OCSP API). Trust: the system's roots (SSL_CERT_FILE / SSL_CERT_DIR are
-- honoured) plus what load_verify_locations added.
--
-- The context is built lazily: the core connector for each combination of verification
-- switches (set per connection by net.tls.context.connect) is made on first use.

local CANONICAL = "luanet.net.tls.client"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local T = require "luanet.net.tls.internal"

local type, setmetatable, getmetatable, tostring = type, setmetatable, getmetatable, tostring
local concat = table.concat
local find = string.find

local FNAME = "new_client_ctx"

local Ctx = {}
local MT = {
  __index = Ctx,
  __name = "net.tls.client",
  __tostring = function(self)
    return "net.tls.client: " .. self.addr
  end,
}

local function build(protocol, ciphers, alpn, session_cache_timeout, session_cache_size, prefer_client_ciphers,
                     ocsp_error_callback)
  local min, max = T.protocol(protocol, 1, FNAME)
  local ok, err = T.ciphers(ciphers, 2, FNAME)
  local list, aerr = T.alpn(alpn, 3, FNAME)
  T.opt_uint(session_cache_timeout, 4, FNAME)
  T.opt_uint(session_cache_size, 5, FNAME)
  T.opt_bool(prefer_client_ciphers, 6, FNAME)
  T.opt_func(ocsp_error_callback, 7, FNAME)
  if not ok then
    return nil, err
  elseif not list then
    return nil, aerr
  end
  local self = {
    min = min,
    max = max,
    alpn = list,
    cas = {},
    connectors = {},
    session_cache_timeout = session_cache_timeout or 0,
    session_cache_size = session_cache_size or 20480,
    prefer_client_ciphers = prefer_client_ciphers or false,
    ocsp_error_callback = ocsp_error_callback,
  }
  self.addr = T.address(self)
  return setmetatable(self, MT)
end

--- new_client_ctx(protocol, ciphers, alpn, session_cache_timeout, session_cache_size,
--- prefer_client_ciphers, ocsp_error_callback): ctx, or nil, err.
local function new_client_ctx(...)
  local ctx, err = T.call(2, build, ...)
  return ctx, err
end

--- is_ctx(v): whether v is a client context.
local function is_ctx(v)
  return type(v) == "table" and getmetatable(v) == MT
end

--- ctx:connector(verify, verify_name, sni): the core connector for these switches (made
--- once), or nil, err.
function Ctx:connector(verify, verify_name, sni)
  local key = (verify and "v" or "-") .. (verify_name and "n" or "-") .. (sni and "s" or "-")
  local c = self.connectors[key]
  if c then
    return c
  end
  local opts = {
    verify = verify,
    verify_name = verify_name,
    sni = sni,
    alpn = #self.alpn > 0 and self.alpn or nil,
    min = self.min,
    max = self.max,
  }
  if #self.cas > 0 then
    opts.ca = self.cas
    opts.ca_only = false
  end
  local msg, code
  c, msg, code = T.core_call(core.tls_client, opts)
  if not c then
    return nil, T.syserr(msg, code, "new_client_ctx")
  end
  self.connectors[key] = c
  return c
end

--- ctx:load_verify_locations([cafile [, capath]]): adds the certificates of PEM file cafile
--- to the trusted roots: true, or false, err. A capath (hashed directory) is not supported
--- (false, err).
function Ctx:load_verify_locations(cafile, capath)
  if cafile ~= nil and type(cafile) ~= "string" then
    error("bad argument #1 to 'load_verify_locations' (string expected, got " .. type(cafile) .. ")", 2)
  elseif capath ~= nil and type(capath) ~= "string" then
    error("bad argument #2 to 'load_verify_locations' (string expected, got " .. type(capath) .. ")", 2)
  end
  if capath ~= nil then
    local _, err = T.unsupported("a CA directory (capath) is", "load_verify_locations")
    return false, err
  elseif cafile == nil then
    return true
  end
  local pem, err = T.read_file(cafile, "load_verify_locations")
  if not pem then
    return false, err
  elseif not find(pem, "-----BEGIN CERTIFICATE-----", 1, true) then
    return false, T.newerr("EINVAL", "no certificate found in " .. cafile, "load_verify_locations")
  end
  -- Check it now, so that a bad file is reported here rather than at the first connect.
  local probe, msg = T.core_call(core.tls_client, { ca = pem, ca_only = true })
  if not probe then
    return false, T.newerr("EINVAL", tostring(msg), "load_verify_locations")
  end
  self.cas[#self.cas + 1] = pem
  self.connectors = {}
  return true
end

--- ctx:set_verify_depth(depth): not supported by native-tls (false, err).
function Ctx:set_verify_depth(depth)
  if type(depth) ~= "number" then
    error("bad argument #1 to 'set_verify_depth' (number expected, got " .. type(depth) .. ")", 2)
  end
  local _, err = T.unsupported("the verification depth is", "set_verify_depth")
  return false, err
end

--- ctx:set_crls(pem): not supported by native-tls (false, err).
function Ctx:set_crls(pem)
  if type(pem) ~= "string" then
    error("bad argument #1 to 'set_crls' (string expected, got " .. type(pem) .. ")", 2)
  end
  local _, err = T.unsupported("certificate revocation lists are", "set_crls")
  return false, err
end

--- ctx:get_alpn(): the protocol names this context offers, joined with ",".
function Ctx:get_alpn()
  if #self.alpn > 0 then
    return concat(self.alpn, ",")
  end
end

-- For net.tls.context and the socket classes.
T.registry.client = { is_ctx = is_ctx, build = build, new = new_client_ctx }

package.loaded[CANONICAL] = new_client_ctx
return new_client_ctx
