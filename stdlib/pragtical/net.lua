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

--- luaL_checkudata-style: `bad argument #n to 'fname' (NetAddress expected, got string)`.
local function check(v, mt, n, fname)
  if getmetatable(v) ~= mt then
    error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, mt.__name, typename(v)), 3)
  end
  return v
end

local function check_int(v, n, fname)
  local i = math.tointeger(v)
  if i == nil then
    local what = type(v) == "number" and "number has no integer representation"
      or ("number expected, got " .. (v == nil and "no value" or typename(v)))
    error(("bad argument #%d to '%s' (%s)"):format(n, fname, what), 3)
  end
  return i
end

local function check_string(v, n, fname)
  if type(v) == "number" then
    return tostring(v)
  end
  if type(v) ~= "string" then
    error(("bad argument #%d to '%s' (string expected, got %s)"):format(n, fname, v == nil and "no value" or typename(v)), 3)
  end
  return v
end

--- Milliseconds as Pragtical takes them: 0 polls, negative waits forever, else a bound.
--- Returns seconds for core.wait (nil: forever).
local function timeout_of(ms, n, fname)
  if ms == nil then
    return 0
  end
  ms = check_int(ms, n, fname)
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
  local secs = timeout_of(timeout, 2, "wait_until_resolved")
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
  local ok, msg = s:connected()
  if ok == false then
    return "waiting"
  elseif ok == nil then
    return "failure", "Socket failed to connect: " .. msg
  end
  if self.ssl then
    ok, msg = s:handshake()
    if ok == false then
      return "waiting"
    elseif ok == nil then
      return "failure", msg
    end
  end
  return "success"
end

function Tcp:wait_until_connected(timeout)
  check(self, tcp_mt, 1, "wait_until_connected")
  local secs = timeout_of(timeout, 2, "wait_until_connected")
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
  if s:connected() ~= true or (self.ssl and s:handshake() ~= true) then
    return ""
  end
  local data, msg = s:read(max_len)
  if data then
    return data
  elseif data == false then
    return ""
  elseif msg == nil then
    self.eof = "End of stream"
    return nil, self.eof
  end
  self.eof = "Failed to read from socket: " .. msg
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
  local queued, msg, errno = s:queue(data)
  if queued then
    return #data
  elseif errno == rcore.errno.ENOBUFS then
    return 0
  end
  return nil, "Failed to write to socket: " .. msg
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
  local secs = timeout_of(timeout, 2, "wait_until_drained")
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

tcp_mt.__gc = function(self)
  if self.stream then
    self.stream:close()
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
  if b == nil and (a == nil or type(a) ~= "table") then
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

server_mt.__gc = function(self)
  for _, l in ipairs(self.listeners or {}) do
    l:close()
  end
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
    return nil, msg
  end
  local ok
  ok, msg = d:bind(addr.ip, port)
  if not ok then
    d:close()
    return nil, msg
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
  if #data > 65535 then
    return false, "buffer is too large to send in a single datagram packet"
  end
  local n, msg = self.dgram:sendto(data, addr.ip, port)
  if not n then
    return false, msg
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

udp_mt.__gc = function(self)
  if self.dgram then
    self.dgram:close()
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
