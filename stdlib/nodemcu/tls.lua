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
  cert = nil, -- client identity (PEM chain and key), from tls.cert.auth
  key = nil,
}
local context -- the core TLS context for the current settings, built on first connect

local function check_pem(pem, kind)
  if type(pem) ~= "string" then
    error("bad argument #1 to '" .. kind .. "' (string expected, got " .. type(pem) .. ")", 4)
  end
  local label = pem:match("%-%-%-%-%-BEGIN ([%w ]+)%-%-%-%-%-")
  if not label then
    error("No PEM header", 4)
  end
  return label
end

--- Collects the certificates a form gives: `(pem, pem, ...)` or `(fn)` with `fn(k)`
--- returning the k-th one (from `first`) until nil.
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
      out[#out + 1] = v
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

--- `auth(cert_pem, key_pem)`, `auth(fn)` (fn(0) the key, fn(1..) the chain) or
--- `auth(false)`: the client certificate presented to servers that ask for one.
function tls.cert.auth(...)
  local first = ...
  if first == false or first == nil then
    settings.cert, settings.key, context = nil, nil, nil
    return true
  end
  local cert, key
  if type(first) == "function" then
    key = first(0)
    cert = table.concat(collect(1, first), "\n")
  else
    cert, key = ...
  end
  check_pem(cert, "auth")
  if type(key) ~= "string" or not key:find("PRIVATE KEY", 1, true) then
    error("Wrong PEM type", 2)
  end
  local ok, ctx = pcall(core.tls_client, { cert = cert, key = key })
  if not ok or not ctx then
    error("Invalid PEM format data", 2)
  end
  settings.cert, settings.key, context = cert, key, nil
  return true
end

local function tls_context()
  if not context then
    local ctx, err = core.tls_client {
      verify = settings.verify,
      ca = settings.cas,
      cert = settings.cert,
      key = settings.key,
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
      io.stderr:write(("rlua-net: TLS handshake with %s:%d failed: %s\n"):format(self.host, self.port, a))
      io.stderr:write("rlua-net: (tls.cert.verify(false) turns certificate verification off)\n")
      lost(self, "SSL handshake failed")
    else
      lost(self, S.tls_reason(b))
    end
  end
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
  self.state, self.host, self.port = "dns", host, port
  S.resolve(host, function(ip)
    if self.state ~= "dns" then
      return
    end
    call(self.cb.dns, self, ip)
    if self.state ~= "dns" then
      return
    end
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
    stream:watch(self.held and "off" or "data")
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

function Socket:hold()
  S.check_self(self, socket_mt, "hold")
  self.held = true
  if self.stream then
    self.stream:watch("off")
  end
end

function Socket:unhold()
  S.check_self(self, socket_mt, "unhold")
  self.held = false
  if self.stream then
    self.stream:watch("data")
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

return tls
