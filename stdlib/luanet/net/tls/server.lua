-- `net.tls.server` of the luanet dialect (lua-net v0.41): a function that makes a server
-- TLS context, which `net.tls.context.accept` (and server.new with a tlscfg) uses, and
-- which an SNI callback returns to pick the certificate of a connection.
--
--   local new_server_ctx = require "net.tls.server"
--   local ctx, err = new_server_ctx("cert.pem", "key.pem", protocol, ciphers, alpn,
--                                   session_timeout, session_cache_size)
--
-- cert and key are PEM file paths (a certificate chain may follow the leaf; the key may
-- be PKCS#8, PKCS#1 or SEC1). A missing or unusable file gives nil, err. protocol,
-- ciphers and alpn are as for net.tls.client, except that "tlsv1.3" gives nil, err
-- (native-tls's OpenSSL acceptor profile cannot be limited to TLS 1.3). The server picks the ALPN protocol by its own order of preference; with no overlap it
-- sends none. session_timeout and session_cache_size are accepted and have no effect.

local CANONICAL = "luanet.net.tls.server"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local T = require "luanet.net.tls.internal"

local type, setmetatable, getmetatable, pcall, tostring = type, setmetatable, getmetatable, pcall, tostring
local pack, unpack = table.pack, table.unpack

local FNAME = "new_server_ctx"

local Ctx = {}
local MT = {
  __index = Ctx,
  __name = "net.tls.server",
  __tostring = function(self)
    return "net.tls.server: " .. self.addr
  end,
}

local function build(cert, key, protocol, ciphers, alpn, session_timeout, session_cache_size)
  if type(cert) ~= "string" then
    T.typeerror(1, FNAME, "string", cert)
  elseif type(key) ~= "string" then
    T.typeerror(2, FNAME, "string", key)
  end
  local min, max = T.protocol(protocol, 3, FNAME)
  local ok, err = T.ciphers(ciphers, 4, FNAME)
  local list, aerr = T.alpn(alpn, 5, FNAME)
  T.opt_uint(session_timeout, 6, FNAME)
  T.opt_uint(session_cache_size, 7, FNAME)
  if not ok then
    return nil, err
  elseif not list then
    return nil, aerr
  end

  local cert_pem, cerr = T.read_file(cert, "SSL_CTX_use_certificate_file")
  if not cert_pem then
    return nil, cerr
  end
  local key_pem, kerr = T.read_file(key, "SSL_CTX_use_PrivateKey_file")
  if not key_pem then
    return nil, kerr
  end
  local acceptor, msg, code = T.core_call(core.tls_server, {
    cert = cert_pem,
    key = key_pem,
    alpn = #list > 0 and list or nil,
    min = min,
    max = max,
  })
  if not acceptor then
    if code == nil then
      -- The core refused the certificate or key (not PEM, not matching, ...).
      return nil, T.newerr("EINVAL", msg, "SSL_CTX_use_certificate_file")
    end
    return nil, T.syserr(msg, code, FNAME)
  end
  local self = {
    acceptor = acceptor,
    alpn = list,
    min = min,
    max = max,
    session_timeout = session_timeout or 300,
    session_cache_size = session_cache_size or 20480,
  }
  self.addr = T.address(self)
  return setmetatable(self, MT)
end

--- new_server_ctx(cert, key, protocol, ciphers, alpn, session_timeout, session_cache_size):
--- ctx, or nil, err.
local function new_server_ctx(...)
  local ctx, err = T.call(2, build, ...)
  return ctx, err
end

local function is_ctx(v)
  return type(v) == "table" and getmetatable(v) == MT
end

--- ctx:set_sni_callback(fn, ...): fn(..., hostname) is called when a connection's client
--- names a host (not an IP address); it returns the server context to use, or nil for
--- this one. nil removes the callback; anything else throws.
function Ctx:set_sni_callback(fn, ...)
  if fn ~= nil and type(fn) ~= "function" then
    error("function or nil expected, got " .. type(fn), 2)
  end
  self.sni_callback = fn
  self.sni_args = fn and pack(...) or nil
end

--- ctx:sni_acceptor(hostname): the core acceptor for a client that asked for hostname:
--- the callback's choice, or this context's; nil, message when the callback raised or
--- returned something else.
function Ctx:sni_acceptor(hostname)
  local fn = self.sni_callback
  if fn == nil or hostname == nil or T.is_ip(hostname) then
    return self.acceptor
  end
  local args = self.sni_args
  local n = args.n
  args[n + 1] = hostname
  local r = pack(pcall(fn, unpack(args, 1, n + 1)))
  args[n + 1] = nil
  if not r[1] then
    return nil, "SNI callback failed: " .. tostring(r[2])
  end
  local chosen = r[2]
  if chosen == nil then
    return self.acceptor
  elseif not is_ctx(chosen) then
    return nil, "SNI callback must return a net.tls.server context or nil, got " .. type(chosen)
  end
  return chosen.acceptor
end

--- ctx:has_sni_callback()
function Ctx:has_sni_callback()
  return self.sni_callback ~= nil
end

T.registry.server = { is_ctx = is_ctx, build = build, new = new_server_ctx }

package.loaded[CANONICAL] = new_server_ctx
return new_server_ctx
