-- NodeMCU's `tls` (app/modules/tls.c) on the rlua-net core: TLS client sockets and the
-- `tls.cert` settings. Unlike the device, certificates are verified by default against
-- the system roots, and SNI is sent (docs/nodemcu.md).
local core = require "rluanet.core"
local S = require "nodemcu.support"

local call, error, type, setmetatable = S.call, error, type, setmetatable

local tls = { cert = {} }

-- ---------------------------------------------------------------- tls.cert

local settings = {
  verify = true, -- decision 10: on by default
  cas = nil, -- nil: the system roots; else a list of PEM certificates
  auth = false, -- whether the identity below is presented (tls.cert.auth(true/false))
  cert = nil, -- client identity (PEM chain and key), from tls.cert.auth
  key = nil,
}
local context -- the core TLS context for the current settings, built on first connect

local function check_pem(pem, kind)
  if type(pem) ~= "string" then
    error("bad argument #1 to '" .. kind .. "' (string expected, got " .. type(pem) .. ")", 3)
  end
  local label = pem:match("%-%-%-%-%-BEGIN ([%w ]+)%-%-%-%-%-")
  if not label then
    error("No PEM header", 3) -- check_pem <- verify/auth <- the script
  end
  return label
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- PEM text for DER bytes, in 64-character lines.
local function pem_wrap(der, label)
  local lines = {}
  for i = 1, #der, 48 do
    local chars = {}
    for j = i, math.min(i + 47, #der), 3 do
      local a, b, c = der:byte(j, j + 2)
      local n = a << 16 | (b or 0) << 8 | (c or 0)
      for k = 18, 0, -6 do
        chars[#chars + 1] = B64:sub((n >> k & 63) + 1, (n >> k & 63) + 1)
      end
      if not b then
        chars[#chars - 1], chars[#chars] = "=", "="
      elseif not c then
        chars[#chars] = "="
      end
    end
    lines[#lines + 1] = table.concat(chars)
  end
  return ("-----BEGIN %s-----\n%s\n-----END %s-----\n"):format(label, table.concat(lines, "\n"), label)
end

--- The callback forms may answer with DER (an ASN.1 SEQUENCE, first byte 0x30) instead
--- of PEM; core takes PEM. A DER key is PKCS#1 when an INTEGER follows its version,
--- else PKCS#8.
local function from_der(v, is_key)
  if type(v) ~= "string" or v:byte(1) ~= 0x30 then
    return v
  end
  if not is_key then
    return pem_wrap(v, "CERTIFICATE")
  end
  local len = v:byte(2) or 0
  local after_version = 3 + (len >= 0x80 and len - 0x80 or 0) + 3
  return pem_wrap(v, v:byte(after_version) == 0x02 and "RSA PRIVATE KEY" or "PRIVATE KEY")
end

--- Collects the certificates a form gives: `(pem, pem, ...)` or `(fn)` with `fn(k)`
--- returning the k-th one (PEM or DER, from `first`) until nil.
local function collect(first_index, ...)
  local n = select("#", ...)
  local first = ...
  local out = {}
  if type(first) == "function" then
    local k = first_index
    while true do
      local v = first(k)
      if v == nil then
        break
      end
      out[#out + 1] = from_der(v)
      k = k + 1
    end
  else
    for i = 1, n do
      out[#out + 1] = (select(i, ...))
    end
  end
  return out
end

--- `verify(true|false)`, `verify(pem, ...)` or `verify(fn)`: `true` uses the system
--- roots (or the certificates given before), certificates replace them.
function tls.cert.verify(...)
  local first = ...
  if select("#", ...) == 0 or type(first) == "boolean" then
    settings.verify = first ~= false
    context = nil
    return true
  end
  local cas = collect(1, ...)
  if #cas == 0 then
    error("no certificates found", 2)
  end
  for _, pem in ipairs(cas) do
    if check_pem(pem, "verify") ~= "CERTIFICATE" then
      error("Wrong PEM type", 2)
    end
  end
  local ok, ctx = pcall(core.tls_client, { ca = cas })
  if not ok or not ctx then
    error("Invalid PEM format data", 2)
  end
  settings.verify, settings.cas, context = true, cas, nil
  return true
end

--- `auth(cert_pem, key_pem)`, `auth(fn)` (fn(0) the key, fn(1..) the chain, PEM or DER),
--- `auth(false)` (off) or `auth(true)` (on again with the identity given before): the
--- client certificate presented to servers that ask for one.
function tls.cert.auth(...)
  local first = ...
  if type(first) ~= "function" and type(first) ~= "string" then
    if first and not settings.cert then
      error("no certificates found", 2)
    end
    settings.auth, context = first and true or false, nil
    return true
  end
  local cert, key
  if type(first) == "function" then
    key = from_der(first(0), true)
    cert = table.concat(collect(1, first), "\n")
  else
    cert, key = ...
  end
  if check_pem(cert, "auth") ~= "CERTIFICATE" or not check_pem(key, "auth"):find("PRIVATE KEY$") then
    error("Wrong PEM type", 2)
  end
  local ok, ctx = pcall(core.tls_client, { cert = cert, key = key })
  if not ok or not ctx then
    error("Invalid PEM format data", 2)
  end
  settings.auth, settings.cert, settings.key, context = true, cert, key, nil
  return true
end

local function tls_context()
  if not context then
    local ctx, err = core.tls_client {
      verify = settings.verify,
      ca = settings.cas,
      cert = settings.auth and settings.cert or nil,
      key = settings.auth and settings.key or nil,
    }
    if not ctx then
      return nil, err
    end
    context = ctx
  end
  return context
end

-- ---------------------------------------------------------------- tls.socket

local Socket = {}
local socket_mt = { __index = Socket, __name = "tls.socket" }
socket_mt.__tostring = function(self)
  return ("tls.socket: %p"):format(self)
end

local EVENTS = { dns = true, connection = true, reconnection = true, disconnection = true, receive = true, sent = true }

-- `reconnection(sock, reason)` when there is a handler for it, else `disconnection(sock)`.
local function lost(self, reason)
  local stream = self.stream
  self.stream, self.state = nil, "idle"
  if stream then
    stream:close(reason == nil)
  end
  if reason and self.cb.reconnection then
    call(self.cb.reconnection, self, reason)
  else
    call(self.cb.disconnection, self)
  end
end

local function on_stream(self, stream, event, a, b)
  if self.stream ~= stream then
    return
  end
  if event == "handshake" then
    self.state = "connected"
    call(self.cb.connection, self)
  elseif event == "data" then
    call(self.cb.receive, self, a)
  elseif event == "sent" then
    call(self.cb.sent, self)
  elseif event == "eof" then
    lost(self, nil)
  elseif event == "error" then
    if self.state ~= "connected" and b == core.errno.EPROTO then
      -- The script only gets "SSL handshake failed"; one stderr line says why.
      local why = tostring(a):gsub("%s*\n%s*", " ")
      io.stderr:write(("rlua-net: TLS handshake with %s:%d failed: %s"
        .. " (tls.cert.verify(false) turns certificate verification off)\n"):format(self.host, self.port, why))
      lost(self, "SSL handshake failed")
    else
      lost(self, S.tls_reason(b))
    end
  end
end

-- Reading on, or off while held; core's hold keeps a held (unwatched) stream anchored.
local function set_reading(stream, held)
  stream:watch(held and "off" or "data")
  stream:hold(held)
end

function tls.createConnection()
  return setmetatable({ cb = {}, state = "idle" }, socket_mt)
end

function Socket:connect(port, host)
  S.check_self(self, socket_mt, "connect")
  port = S.check_int(port, 1, "connect")
  if self.state ~= "idle" then
    error("already connected", 2)
  end
  if port == 0 then
    error("invalid port", 2)
  end
  host = host == nil and "127.0.0.1" or S.check_string(host, 2, "connect")
  self.host, self.port = host, port
  S.connect_lookup(self, host, function(ip)
    if ip == nil then
      self.state = "idle"
      lost(self, "Routing problem")
      return
    end
    local ctx, err = tls_context()
    local stream, _, errno = core.connect(ip, port)
    if not ctx or not stream then
      if stream then
        stream:close()
      end
      self.state = "connecting"
      local reason = ctx and S.tls_reason(errno) or "SSL application invalid"
      core.defer(function()
        if self.state == "connecting" and not self.stream then
          if not ctx then
            io.stderr:write("rlua-net: TLS settings unusable: ", tostring(err), "\n")
          end
          lost(self, reason)
        end
      end)
      return
    end
    self.stream, self.state = stream, "connecting"
    -- The host name is both the SNI name and the name verified (an IP literal is checked
    -- against the certificate's IP addresses).
    stream:starttls(ctx, host)
    stream:on(function(event, a, b)
      on_stream(self, stream, event, a, b)
    end)
    set_reading(stream, false) -- a new connection is never held
  end)
end

function Socket:on(event, fn)
  S.check_self(self, socket_mt, "on")
  if type(event) ~= "string" or not EVENTS[event] then
    error("invalid method", 2)
  end
  if fn ~= nil and type(fn) ~= "function" then
    error("invalid callback function", 2)
  end
  self.cb[event] = fn
end

function Socket:send(data)
  S.check_self(self, socket_mt, "send")
  data = S.check_string(data, 1, "send")
  if self.state ~= "connected" or not self.stream then
    return -- silently, as the firmware does
  end
  local ok, _, errno = self.stream:queue(data, true)
  if not ok and errno == core.errno.ENOBUFS then
    error("out of memory", 2)
  end
end

function Socket:close()
  S.check_self(self, socket_mt, "close")
  if self.state == "idle" then
    return
  end
  local stream = self.stream
  self.stream, self.state = nil, "idle"
  if stream then
    stream:close(true)
  end
  -- The TLS socket reports its own close, later, with the socket (the firmware passes nil).
  core.defer(call, self.cb.disconnection, self)
end

-- Both are no-ops without a connection, as in the firmware (the hold is the pcb's).
function Socket:hold()
  S.check_self(self, socket_mt, "hold")
  if self.stream then
    set_reading(self.stream, true)
  end
end

function Socket:unhold()
  S.check_self(self, socket_mt, "unhold")
  if self.stream then
    set_reading(self.stream, false)
  end
end

--- `ip, port`: the reverse of net.socket:getpeer(), as documented.
function Socket:getpeer()
  S.check_self(self, socket_mt, "getpeer")
  if self.state ~= "connected" or not self.stream then
    return nil, nil
  end
  local ip, port = self.stream:peer_addr()
  if not ip then
    return nil, nil
  end
  return ip, port
end

-- mbedTLS debug output has no OpenSSL counterpart worth mapping.
tls.setDebug = S.unsupported("tls.setDebug")

return tls
