-- `libtls.config` of the luanet dialect: lua-libtls's configuration objects (the seed-era
-- surface, ≤ 3.4.1-2: errors are strings), on the runtime's TLS (native-tls).
--
--   local config = require "libtls.config"
--   local cfg = config.new()                   -- cfg (tostring "libtls.config: 0x...")
--   cfg:set_ca_file("ca.pem")                  -- true | false, err
--   cfg:set_keypair_file("cert.pem", "key.pem")
--   cfg:set_protocols(libtls.TLS_v12, libtls.TLS_v13)
--   cfg:insecure_noverifycert()                -- returns nothing
--   config.parse_protocols("tlsv1.2,tlsv1.3")  -- 24 | -1, err
--   config.load_file("cert.pem")               -- data | nil, err
--   config.default_ca_cert_file()              -- a path
--
-- Setters keep what they are given; libtls.client(cfg)/libtls.server(cfg) check it all
-- (a bad PEM, a missing key) and take a copy, so later changes to cfg do not affect
-- contexts already made. What native-tls cannot do is refused with an error, never
-- ignored where ignoring would weaken or change the connection:
--
-- * set_ca_path, set_crl(_file), set_ocsp_staple(_file), a keypair's OCSP staple,
--   set_verify_depth: false, "<what> not supported by the platform TLS library";
-- * set_ciphers: "secure" and "default" (the platform's defaults); any other policy or
--   cipher string gives false, "cipher policy not supported by the platform TLS library
--   (<value>)";
-- * set_dheparams: "auto" accepted; "none" and "legacy" refused; anything else is
--   libtls's "invalid value for dheparams '<value>'";
-- * set_ecdhecurve(s): "default"/"auto"/"none" (the platform's curves) accepted; naming
--   curves is refused; an unknown name is libtls's "invalid ecdhe curve '<name>'";
-- * set_protocols: a contiguous range of versions (TLS 1.0 .. 1.3); a set with a gap is
--   refused;
-- * ocsp_require_stapling (client), verify_client(_optional) (server) and
--   insecure_noverifytime without insecure_noverifycert (client) make libtls.client /
--   libtls.server return nil, err.
--
-- Session options (set_session_fd, set_session_id, set_session_lifetime, add_ticket_key)
-- are checked as libtls checks them, then have no effect: sessions are never resumed.
-- prefer_ciphers_client/server have no effect (the platform decides).

local CANONICAL = "luanet.libtls.config"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local I = require "luanet.libtls.internal"

local type, select, setmetatable, tostring, ipairs = type, select, setmetatable, tostring, ipairs
local format, lower, find, gmatch, match, gsub = string.format, string.lower, string.find, string.gmatch,
  string.match, string.gsub
local tointeger = math.tointeger
local check, state = I.check, I.config_state

local M = {}

local Config = {}
local MT = {
  __index = Config,
  __name = "libtls.config",
}
MT.__tostring = function(self)
  local st = state[self]
  return "libtls.config: " .. (st and st.addr or "0x0")
end

M.MT = MT

-- A fresh state: what tls_config_new gives.
local function fresh()
  return {
    ca = nil, -- PEM of the trusted roots (nil: the system's)
    keypairs = { {} }, -- [1] the main { cert=, key= }, then add_keypair's alternates
    alpn = nil, -- list of protocol names
    protocols = I.TLS_DEFAULT,
    verify_cert = true,
    verify_name = true,
    verify_time = true,
    require_stapling = false,
    verify_client = nil, -- "required" | "optional"
    prefer = "server",
    session = {},
  }
end

--- new(): a configuration with libtls's defaults: cfg.
function M.new()
  local cfg = {}
  local st = fresh()
  st.addr = I.address(cfg)
  setmetatable(cfg, MT)
  state[cfg] = st
  return cfg
end

--- is_config(v)
function M.is_config(v)
  return getmetatable(v) == MT and state[v] ~= nil
end

--- snapshot(cfg): a copy of cfg's state for a context (internal).
function M.snapshot(cfg)
  local st = state[cfg]
  local copy = {}
  for k, v in pairs(st) do
    copy[k] = v
  end
  local kps = {}
  for i, kp in ipairs(st.keypairs) do
    kps[i] = { cert = kp.cert, key = kp.key }
  end
  copy.keypairs = kps
  return copy
end

-- def(name, spec, fn): a method that checks self and its arguments (see I.check), then
-- calls fn(state, ...).
local function def(name, spec, fn)
  Config[name] = function(self, ...)
    I.self_check(self, MT, name)
    check(name, spec, select("#", ...), ...)
    return fn(state[self], ...)
  end
end

---------------------------------------------------------------------------------------------
-- Module functions

--- parse_protocols(str): the TLS_* bits that str names ("tlsv1.0", "tlsv1.1", "tlsv1.2",
--- "tlsv1.3", "tlsv1", "all", "legacy", "default", "secure"; "!" removes; separated by
--- "," or ":"), or -1, err.
function M.parse_protocols(...)
  check("parse_protocols", { "string" }, select("#", ...), ...)
  local s = ...
  local protos = 0
  for token in gmatch(s .. ",", "([^,:]*)[,:]") do
    local p = lower(gsub(token, "^[ \t]*", ""))
    local negate = false
    if find(p, "^!") then
      negate = true
      p = p:sub(2)
      if protos == 0 then
        protos = I.TLS_v1x
      end
    end
    local proto = 0
    if p == "all" or p == "legacy" then
      proto = I.TLS_v1x
    elseif p == "default" or p == "secure" then
      proto = I.TLS_DEFAULT
    elseif p == "tlsv1" then
      proto = I.TLS_v1x
    elseif p == "tlsv1.0" then
      proto = I.TLS_v10
    elseif p == "tlsv1.1" then
      proto = I.TLS_v11
    elseif p == "tlsv1.2" then
      proto = I.TLS_v12
    elseif p == "tlsv1.3" then
      proto = I.TLS_v13
    end
    if proto == 0 then
      return -1, format("invalid protocol string '%s' (unknown protocol '%s')", s, token)
    end
    if negate then
      protos = protos & ~proto
    else
      protos = protos | proto
    end
  end
  return protos
end

--- load_file(path [, password]): the file's bytes, or nil, err. With a password, an
--- encrypted PEM private key cannot be decrypted here (nil, err); other files are
--- returned as they are.
function M.load_file(...)
  check("load_file", { "string", "?strnum" }, select("#", ...), ...)
  local path, password = ...
  local f, msg = io.open(path, "rb")
  if not f then
    return nil, match(tostring(msg), "^.-: (.*)$") or tostring(msg)
  end
  local data, rmsg = f:read("a")
  f:close()
  if data == nil then
    return nil, tostring(rmsg)
  end
  if password ~= nil and (find(data, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 1, true)
        or find(data, "Proc-Type: 4,ENCRYPTED", 1, true)) then
    return nil, I.unsupported("decrypting a private key with a password is")
  end
  return data
end

-- Where the platform's roots usually are, most common first.
local CA_FILES = {
  "/etc/ssl/certs/ca-certificates.crt", -- Debian, Ubuntu, Alpine, Arch
  "/etc/pki/tls/certs/ca-bundle.crt", -- Fedora, RHEL
  "/etc/ssl/ca-bundle.pem", -- openSUSE
  "/etc/ssl/cert.pem", -- macOS, the BSDs, LibreSSL's default
}

--- default_ca_cert_file(): the file of the roots a context trusts when no CA is set:
--- $SSL_CERT_FILE if set, else the platform's bundle.
function M.default_ca_cert_file()
  local env = os.getenv("SSL_CERT_FILE")
  if env and env ~= "" then
    return env
  end
  for _, path in ipairs(CA_FILES) do
    local f = io.open(path, "rb")
    if f then
      f:close()
      return path
    end
  end
  return "/etc/ssl/cert.pem"
end

---------------------------------------------------------------------------------------------
-- CA, certificates, keys

def("set_ca_file", { "string" }, function(st, path)
  local pem, err = I.load(path, "CA")
  if not pem then
    return false, err
  end
  st.ca = pem
  return true
end)

def("set_ca_path", { "string" }, function()
  return false, I.unsupported("a CA directory (set_ca_path) is")
end)

def("set_ca", { "string" }, function(st, pem)
  st.ca = pem
  return true
end)

def("set_cert_file", { "string" }, function(st, path)
  local pem, err = I.load(path, "certificate")
  if not pem then
    return false, err
  end
  st.keypairs[1].cert = pem
  return true
end)

def("set_cert", { "string" }, function(st, pem)
  st.keypairs[1].cert = pem
  return true
end)

def("set_key_file", { "string" }, function(st, path)
  local pem, err = I.load(path, "key")
  if not pem then
    return false, err
  end
  st.keypairs[1].key = pem
  return true
end)

def("set_key", { "string" }, function(st, pem)
  st.keypairs[1].key = pem
  return true
end)

-- Loads a keypair (files or memory): { cert=, key= }, or nil, err. A staple is refused
-- (after the files were found).
local function keypair(cert, key, staple, files)
  if files then
    local err
    cert, err = I.load(cert, "certificate")
    if not cert then
      return nil, err
    end
    key, err = I.load(key, "key")
    if not key then
      return nil, err
    end
    if staple ~= nil then
      local _, serr = I.load(staple, "OCSP")
      if serr then
        return nil, serr
      end
    end
  end
  if staple ~= nil then
    return nil, I.OCSP_UNSUPPORTED .. " (OCSP staple)"
  end
  return { cert = cert, key = key }
end

local function set_keypair(files)
  return function(st, cert, key, staple)
    local kp, err = keypair(cert, key, staple, files)
    if not kp then
      return false, err
    end
    st.keypairs[1] = kp
    return true
  end
end

local function add_keypair(files)
  return function(st, cert, key, staple)
    local kp, err = keypair(cert, key, staple, files)
    if not kp then
      return false, err
    end
    st.keypairs[#st.keypairs + 1] = kp
    return true
  end
end

def("set_keypair_file", { "string", "string", "?string" }, set_keypair(true))
def("set_keypair", { "string", "string", "?string" }, set_keypair(false))
def("add_keypair_file", { "string", "string", "?string" }, add_keypair(true))
def("add_keypair", { "string", "string", "?string" }, add_keypair(false))

---------------------------------------------------------------------------------------------
-- Revocation and OCSP

local CRL = I.unsupported("certificate revocation lists (CRL) are")

def("set_crl_file", { "string" }, function(_, path)
  local pem, err = I.load(path, "CRL")
  if not pem then
    return false, err
  end
  return false, CRL
end)

def("set_crl", { "string" }, function()
  return false, CRL
end)

def("set_ocsp_staple_file", { "string" }, function(_, path)
  local der, err = I.load(path, "OCSP")
  if not der then
    return false, err
  end
  return false, I.OCSP_UNSUPPORTED .. " (OCSP staple)"
end)

def("set_ocsp_staple", { "string" }, function()
  return false, I.OCSP_UNSUPPORTED .. " (OCSP staple)"
end)

---------------------------------------------------------------------------------------------
-- Handshake parameters

def("set_alpn", { "string" }, function(st, s)
  if #s + 1 > 65535 then
    return false, "alpn too large"
  end
  local list = {}
  for p in gmatch(s .. ",", "([^,]*),") do
    if #p == 0 then
      return false, "alpn protocol with zero length"
    elseif #p > 255 then
      return false, "alpn protocol too long"
    end
    list[#list + 1] = p
  end
  st.alpn = list
  return true
end)

def("set_ciphers", { "string" }, function(_, s)
  local name = lower(s)
  if name == "secure" or name == "default" then
    return true
  end
  return false, format("cipher policy not supported by the platform TLS library (%s)", s)
end)

def("set_dheparams", { "string" }, function(_, s)
  local name = lower(s)
  if name == "auto" then
    return true
  elseif name == "none" or name == "legacy" then
    return false, I.unsupported(format("dheparams '%s' is", s))
  end
  return false, format("invalid value for dheparams '%s'", s)
end)

local CURVES = {}
for _, name in ipairs({ "x25519", "x448", "p-224", "p-256", "p-384", "p-521", "prime256v1", "secp224r1",
  "secp256r1", "secp384r1", "secp521r1", "secp256k1" }) do
  CURVES[name] = true
end

local CHOOSE_CURVES = I.unsupported("choosing ECDHE curves is")

def("set_ecdhecurve", { "string" }, function(_, s)
  local name = lower(s)
  if name == "none" or name == "auto" or name == "default" then
    return true
  elseif find(s, "[,:]") or not CURVES[name] then
    return false, format("invalid ecdhe curve '%s'", s)
  end
  return false, CHOOSE_CURVES
end)

def("set_ecdhecurves", { "string" }, function(_, s)
  if lower(s) == "default" then
    return true
  end
  for name in gmatch(s .. ",", "([^,:]*)[,:]") do
    if not CURVES[lower(name)] then
      return false, format("invalid ecdhe curve '%s'", name)
    end
  end
  return false, CHOOSE_CURVES
end)

--- set_protocols(proto, ...): the OR of the TLS_* bits given.
Config.set_protocols = function(self, ...)
  I.self_check(self, MT, "set_protocols")
  local n = select("#", ...)
  check("set_protocols", { "integer" }, n, ...)
  local mask = 0
  for i = 1, n do
    local v = (select(i, ...))
    if type(v) ~= "number" then
      I.argerror("set_protocols", i, "number expected, got " .. I.typename(v), 2)
    elseif tointeger(v) == nil then
      I.argerror("set_protocols", i, "number has no integer representation", 2)
    end
    mask = mask | tointeger(v)
  end
  mask = mask & I.TLS_v1x
  if mask == 0 then
    return false, "no TLS protocol version selected"
  end
  -- the bits must be one run: lowest .. highest
  local low, high
  for _, v in ipairs(I.VERSIONS) do
    if mask & v[1] ~= 0 then
      low = low or v[1]
      high = v[1]
    end
  end
  if mask ~= ((high << 1) - low) then
    return false, I.unsupported("a protocol set with a gap between versions is")
  end
  state[self].protocols = mask
  return true
end

---------------------------------------------------------------------------------------------
-- Sessions and verification

def("set_session_fd", { "integer" }, function(st, fd)
  st.session.fd = fd
  return true
end)

def("set_session_id", { "string" }, function(st, sid)
  if #sid > 32 then
    return false, "session ID too large"
  end
  st.session.id = sid
  return true
end)

def("set_session_lifetime", { "integer" }, function(st, sec)
  if sec > 86400 then
    return false, "session lifetime too large"
  elseif sec ~= 0 and sec < 60 then
    return false, "session lifetime too small"
  end
  st.session.lifetime = sec
  return true
end)

def("add_ticket_key", { "integer", "string" }, function(st, keyrev, key)
  if #key ~= 48 then
    return false, "wrong amount of ticket key data"
  end
  st.session.ticket_keyrev = keyrev
  return true
end)

def("set_verify_depth", { "integer" }, function()
  return false, I.unsupported("setting the verification depth is")
end)

---------------------------------------------------------------------------------------------
-- Methods that return nothing

def("insecure_noverifycert", {}, function(st)
  st.verify_cert = false
end)

def("insecure_noverifyname", {}, function(st)
  st.verify_name = false
end)

def("insecure_noverifytime", {}, function(st)
  st.verify_time = false
end)

def("verify", {}, function(st)
  st.verify_cert, st.verify_name, st.verify_time = true, true, true
end)

def("ocsp_require_stapling", {}, function(st)
  st.require_stapling = true
end)

def("verify_client", {}, function(st)
  st.verify_client = "required"
end)

def("verify_client_optional", {}, function(st)
  st.verify_client = "optional"
end)

def("prefer_ciphers_client", {}, function(st)
  st.prefer = "client"
end)

def("prefer_ciphers_server", {}, function(st)
  st.prefer = "server"
end)

def("clear_keys", {}, function(st)
  for _, kp in ipairs(st.keypairs) do
    kp.key = nil
  end
end)

package.loaded[CANONICAL] = M
return M
