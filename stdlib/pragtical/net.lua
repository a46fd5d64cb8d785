-- Pragtical's `net` (src/api/net.c, SDL3_net) on the rlua-net core: polling with status
-- strings. Operational errors come back as values (`nil, msg`, `false, msg`,
-- `"failure", msg`); only wrong argument types raise. docs/pragtical.md lists where it
-- deliberately differs from the editor.
local rcore = require "rluanet.core"

local error, type, setmetatable, getmetatable = error, type, setmetatable, getmetatable

local net = {}

local CLOSED = "connection closed"

local function typename(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name or type(v)
end

--- Raises luaL_argerror's message at the caller of the API function that checks its
--- arguments: `bad argument #n to 'fname' (msg)`, where a method call (`obj:fname(...)`)
--- does not count `self`.
local function argerror(n, fname, msg)
  -- Levels: 1 argerror, 2 the check_* helper, 3 the API function, 4 its caller.
  local ar = debug.getinfo(3, "n")
  if ar and ar.namewhat == "method" then
    n = n - 1
    if n == 0 then
      error(("calling '%s' on bad self (%s)"):format(fname, msg), 4)
    end
  end
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), 4)
end

-- Lua tells a missing argument ("no value") from an explicit nil; a Lua function cannot.
-- A nil object is most often a failed constructor's result ("nil"), a nil number or
-- string most often a missing argument ("no value").
local function got(v, missing)
  return v == nil and missing or typename(v)
end

--- luaL_checkudata-style: `bad argument #1 to 'open_tcp' (NetAddress expected, got string)`.
local function check(v, mt, n, fname)
  if getmetatable(v) ~= mt then
    argerror(n, fname, mt.__name .. " expected, got " .. got(v, "nil"))
  end
  return v
end

--- An integer argument; `default` when it is nil and a default is given (luaL_optint).
local function check_int(v, n, fname, default)
  if v == nil and default ~= nil then
    return default
  end
  local i = math.tointeger(v)
  if i == nil then
    argerror(n, fname, type(v) == "number" and "number has no integer representation"
      or "number expected, got " .. got(v, "no value"))
  end
  return i
end

local function check_string(v, n, fname)
  if type(v) == "number" then
    return tostring(v)
  end
  if type(v) ~= "string" then
    argerror(n, fname, "string expected, got " .. got(v, "no value"))
  end
  return v
end

--- Milliseconds as Pragtical takes them (0 polls, negative waits forever, else a bound)
--- as seconds for core.wait (nil: forever).
local function seconds(ms)
  if ms < 0 then
    return nil
  end
  return ms / 1000
end

-- Waits (yielding inside a thread, running the loop elsewhere) until `ready()` or the
-- deadline; `step()` picks what to wait on next: a target and a direction.
local function wait_for(ready, step, secs)
  local deadline = secs and rcore.now() + secs
  while not ready() do
    local left = deadline and deadline - rcore.now()
    if left and left <= 0 then
      return
    end
    local target, dir = step()
    if rcore.wait(target, dir, left) == nil then
      return -- the target was closed
    end
  end
end

-- ---------------------------------------------------------------- net.address

local Address = {}
local address_mt = { __index = Address, __name = "NetAddress" }
address_mt.__tostring = function(self)
  return self:get_hostname()
end

local function new_address(hostname, ip)
  local a = setmetatable({ hostname = hostname, ip = ip, status = ip and "success" or "waiting" }, address_mt)
  return a
end

--- Resolves on the DNS pool; the address starts `"waiting"` (an IP literal is resolved at
--- once).
function net.resolve_address(host)
  host = check_string(host, 1, "resolve_address"):match("^%s*(.-)%s*$")
  if rcore.is_ip(host) then
    return new_address(host, host)
  end
  local a = new_address(host, nil)
  a.signal = rcore.signal()
  local ok, msg = rcore.resolve(host, function(ips, err)
    if ips then
      a.ip, a.status = ips[1], "success"
    else
      a.status, a.err = "failure", err
    end
    a.signal:set()
  end)
  if not ok then
    return nil, msg
  end
  return a
end

function Address:get_status()
  check(self, address_mt, 1, "get_status")
  if self.status == "failure" then
    return "failure", self.err
  end
  return self.status
end

function Address:wait_until_resolved(timeout)
  check(self, address_mt, 1, "wait_until_resolved")
  local secs = seconds(check_int(timeout, 2, "wait_until_resolved", 0))
  if self.status == "waiting" then
    rcore.wait(self.signal, nil, secs)
  end
  return self:get_status()
end

function Address:get_ip()
  check(self, address_mt, 1, "get_ip")
  return self.ip
end

--- The name given to resolve_address; addresses of peers have none, so their IP.
function Address:get_hostname()
  check(self, address_mt, 1, "get_hostname")
  if self.hostname == nil or self.hostname == "" then
    return self.ip
  end
  return self.hostname
end

function net.get_local_addresses()
  local out = {}
  for _, i in ipairs(rcore.interfaces()) do
    out[#out + 1] = new_address(i.ip, i.ip)
  end
  if #out == 0 then
    return nil, "no local address found"
  end
  return out
end

-- ---------------------------------------------------------------- TLS settings

local cacert_path -- set_cacert_path: these roots only; otherwise the system's

local BUNDLES = {
  "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
  "/usr/local/share/certs/ca-root-nss.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
}

function net.set_cacert_path(path)
  cacert_path = check_string(path, 1, "set_cacert_path")
end

--- The set path, else the first system bundle found on this machine (or nil).
function net.get_cacert_path()
  if cacert_path then
    return cacert_path
  end
  for _, p in ipairs(BUNDLES) do
    local f = io.open(p)
    if f then
      local head = f:read(4096) or ""
      f:close()
      if head:find("-----BEGIN CERTIFICATE-----", 1, true) then
        return p
      end
    end
  end
  return nil
end

-- Fails closed: with a set path, only that bundle; otherwise the system roots. A bundle
-- that cannot be read makes the connection fail rather than skip verification.
local function tls_context()
  if cacert_path == nil then
    return rcore.tls_client {}
  end
  local f, err = io.open(cacert_path)
  if not f then
    return nil, "cannot read CA bundle: " .. tostring(err)
  end
  local pem = f:read("a")
  f:close()
  local ok, ctx, msg = pcall(rcore.tls_client, { ca = pem })
  if not ok then
    return nil, "invalid CA bundle " .. cacert_path .. ": " .. tostring(ctx):match("^[^\n]*")
  end
  return ctx, msg
end

-- ---------------------------------------------------------------- net.tcp

local Tcp = {}
local tcp_mt = { __index = Tcp, __name = "NetTCP" }
tcp_mt.__tostring = function(self)
  return ("NetTCP: %p"):format(self)
end

-- The objects here have no __gc: the core's sockets inside close themselves when
-- collected (a stream only once its queued data is out), and a finalizer calling into
-- the core could run after the runtime has shut down.
local function new_tcp(stream, address, ssl)
  return setmetatable({ stream = stream, address = address, ssl = ssl }, tcp_mt)
end

function net.open_tcp(addr, port, ssl)
  check(addr, address_mt, 1, "open_tcp")
  port = check_int(port, 2, "open_tcp")
  if addr.status ~= "success" then
    return nil, "Address is not resolved"
  end
  local ctx, err
  if ssl then
    ctx, err = tls_context()
    if not ctx then
      return nil, err
    end
  end
  local stream, msg = rcore.connect(addr.ip, port)
  if not stream then
    return nil, "Connection failed at startup: " .. msg
  end
  if ctx then
    -- SNI and the name verified are the string given to resolve_address.
    stream:starttls(ctx, addr.hostname)
  end
  return new_tcp(stream, addr, ssl and true or false)
end

-- The core reports TLS failures as EPROTO; their text already says what failed.
local EPROTO = rcore.errno.EPROTO

local function failure_text(prefix, msg, code)
  if code == EPROTO then
    return msg
  end
  return prefix .. msg
end

--- The connect status (and, with TLS, the handshake's): "waiting", "success" or
--- "failure", msg. After `read` has seen the end of the stream: "failure", "End of stream".
function Tcp:get_status()
  check(self, tcp_mt, 1, "get_status")
  local s = self.stream
  if s == nil then
    return "failure", CLOSED
  end
  if self.eof then
    return "failure", self.eof
  end
  -- connected() reports the stream's first failure, also one after the connect: once
  -- "success" has been seen (self.up) a failure is not the connect's.
  local ok, msg, code = s:connected()
  if ok == false then
    return "waiting"
  elseif ok == nil then
    return "failure", self.up and msg or failure_text("Socket failed to connect: ", msg, code)
  end
  if self.ssl then
    ok, msg = s:handshake()
    if ok == false then
      return "waiting"
    elseif ok == nil then
      return "failure", msg
    end
  end
  self.up = true
  return "success"
end

function Tcp:wait_until_connected(timeout)
  check(self, tcp_mt, 1, "wait_until_connected")
  local secs = seconds(check_int(timeout, 2, "wait_until_connected", 0))
  local s = self.stream
  if s then
    wait_for(function()
      return self.stream == nil or self:get_status() ~= "waiting"
    end, function()
      -- A connect finishes on writability, a handshake on data from the peer.
      return s, s:connected() == false and "w" or "r"
    end, secs)
  end
  return self:get_status()
end

--- Up to `max_len` bytes, `""` when nothing has arrived yet, `nil, msg` at the end.
function Tcp:read(max_len)
  check(self, tcp_mt, 1, "read")
  max_len = check_int(max_len, 2, "read")
  local s = self.stream
  if s == nil then
    return nil, CLOSED
  end
  if self.eof then
    return nil, self.eof
  end
  if max_len <= 0 then
    return ""
  end
  -- Nothing to read while connecting; a failed stream's read reports the failure.
  local ok = s:connected()
  if ok and self.ssl then
    ok = s:handshake()
  end
  if ok == false then
    return ""
  end
  local data, msg, code = s:read(max_len)
  if data then
    return data
  elseif data == false then
    return ""
  elseif msg == nil then
    self.eof = "End of stream"
    return nil, self.eof
  end
  self.eof = failure_text("Failed to read from socket: ", msg, code)
  return nil, self.eof
end

--- The number of bytes taken: all of them (what the kernel cannot take yet waits in the
--- socket's queue, see get_pending_writes), or 0 when the queue is full: retry later.
function Tcp:write(data)
  check(self, tcp_mt, 1, "write")
  data = check_string(data, 2, "write")
  local s = self.stream
  if s == nil then
    return nil, CLOSED
  end
  local queued, msg, code = s:queue(data)
  if queued then
    return #data
  elseif code == rcore.errno.ENOBUFS then
    return 0
  end
  return nil, failure_text("Failed to write to socket: ", msg, code)
end

function Tcp:get_pending_writes()
  check(self, tcp_mt, 1, "get_pending_writes")
  if self.stream == nil then
    return nil, CLOSED
  end
  return self.stream:pending()
end

--- Bytes still queued after waiting (0: all handed to the kernel).
function Tcp:wait_until_drained(timeout)
  check(self, tcp_mt, 1, "wait_until_drained")
  local secs = seconds(check_int(timeout, 2, "wait_until_drained", 0))
  local s = self.stream
  if s == nil then
    return nil, CLOSED
  end
  wait_for(function()
    return self.stream == nil or s:pending() == 0 or s:is_closed()
  end, function()
    return s, "w"
  end, secs)
  if self.stream == nil then
    return nil, CLOSED
  end
  return s:pending()
end

function Tcp:get_address()
  check(self, tcp_mt, 1, "get_address")
  local s = self.stream
  if s == nil then
    return nil, CLOSED
  end
  local ip, msg = s:peer_addr()
  if not ip then
    return self.address or nil, self.address == nil and msg or nil
  end
  return new_address("", ip)
end

function Tcp:close()
  check(self, tcp_mt, 1, "close")
  if self.stream then
    self.stream:close()
    self.stream = nil
  end
end

-- ---------------------------------------------------------------- net.server

local Server = {}
local server_mt = { __index = Server, __name = "NetServer" }
server_mt.__tostring = function(self)
  return ("NetServer: %p"):format(self)
end

--- `create_server(port)` listens on every IPv4 and IPv6 address (two sockets);
--- `create_server(addr, port)` on one address.
function net.create_server(a, b)
  local listeners = {}
  local port
  if b == nil then
    port = check_int(a, 1, "create_server")
    local v4, msg = rcore.listen("0.0.0.0", port, { backlog = 16 })
    if not v4 then
      return nil, "Failed to bind listen socket: " .. msg
    end
    listeners[1] = v4
    local _, bound = v4:local_addr()
    -- IPv6 on the same port, v6-only; a host without IPv6 just has the IPv4 socket.
    local v6 = rcore.listen("::", bound, { backlog = 16, v6only = true })
    listeners[2] = v6 or nil
  else
    check(a, address_mt, 1, "create_server")
    port = check_int(b, 2, "create_server")
    if a.status ~= "success" then
      return nil, "Address is not resolved"
    end
    local l, msg = rcore.listen(a.ip, port, { backlog = 16 })
    if not l then
      return nil, "Failed to bind listen socket: " .. msg
    end
    listeners[1] = l
  end
  return setmetatable({ listeners = listeners }, server_mt)
end

--- A new connection (a plain net.tcp), `nil` when none is waiting, or `nil, msg`.
function Server:accept()
  check(self, server_mt, 1, "accept")
  if self.listeners == nil then
    return nil, CLOSED
  end
  for _, l in ipairs(self.listeners) do
    local stream, msg = l:accept()
    if stream then
      return new_tcp(stream, nil, false)
    elseif stream == nil then
      return nil, "Failed to accept new connection: " .. tostring(msg)
    end
  end
  return nil
end

--- The port actually bound (also after create_server(0)).
function Server:get_port()
  check(self, server_mt, 1, "get_port")
  if self.listeners == nil then
    return nil, CLOSED
  end
  local _, port = self.listeners[1]:local_addr()
  return port
end

function Server:close()
  check(self, server_mt, 1, "close")
  for _, l in ipairs(self.listeners or {}) do
    l:close()
  end
  self.listeners = nil
end

-- ---------------------------------------------------------------- net.udp

local Udp = {}
local udp_mt = { __index = Udp, __name = "NetUDP" }
udp_mt.__tostring = function(self)
  return ("NetUDP: %p"):format(self)
end

local Datagram = {}
local datagram_mt = { __index = Datagram, __name = "NetDataGram" }

--- A UDP socket bound to `addr:port` (port 0: any); the destination goes with each send.
function net.open_udp(addr, port)
  check(addr, address_mt, 1, "open_udp")
  port = check_int(port, 2, "open_udp")
  if addr.status ~= "success" then
    return nil, "Address is not resolved"
  end
  local d, msg = rcore.udp(addr.ip:find(":", 1, true) and "inet6" or "inet")
  if not d then
    return nil, "Failed to create socket: " .. msg
  end
  local ok
  ok, msg = d:bind(addr.ip, port)
  if not ok then
    d:close()
    return nil, "Failed to bind socket: " .. msg
  end
  return setmetatable({ dgram = d }, udp_mt)
end

--- `true`, or `false, msg`.
function Udp:send(addr, port, data)
  check(self, udp_mt, 1, "send")
  check(addr, address_mt, 2, "send")
  port = check_int(port, 3, "send")
  data = check_string(data, 4, "send")
  if self.dgram == nil then
    return false, CLOSED
  end
  if addr.status ~= "success" then
    return false, "Address is not resolved"
  end
  if #data == 0 then
    return true
  end
  if #data > 64 * 1024 then
    return false, "buffer is too large to send in a single datagram packet"
  end
  local n, msg = self.dgram:sendto(data, addr.ip, port)
  if not n then
    return false, "Failed to send from socket: " .. msg
  end
  return true
end

--- A net.datagram, nothing at all when none is waiting, or `nil, msg`.
function Udp:receive()
  check(self, udp_mt, 1, "receive")
  if self.dgram == nil then
    return nil, CLOSED
  end
  local data, ip, port = self.dgram:recv()
  if data then
    return setmetatable({ data = data, ip = ip, port = port }, datagram_mt)
  elseif data == false then
    return
  end
  return nil, "Failed to receive datagrams: " .. tostring(ip)
end

function Udp:close()
  check(self, udp_mt, 1, "close")
  if self.dgram then
    self.dgram:close()
    self.dgram = nil
  end
end

function Datagram:get_data()
  check(self, datagram_mt, 1, "get_data")
  return self.data
end

function Datagram:get_address()
  check(self, datagram_mt, 1, "get_address")
  return new_address("", self.ip)
end

function Datagram:get_port()
  check(self, datagram_mt, 1, "get_port")
  return self.port
end

return net
