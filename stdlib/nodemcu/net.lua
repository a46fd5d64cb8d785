-- NodeMCU's `net` (firmware 3.0, app/modules/net.c) on the rlua-net core.
-- Objects: net.tcpsocket (createConnection / accepted), net.tcpserver, net.udpsocket.
-- Where behaviour differs from the firmware, docs/nodemcu.md says so and why.
local core = require "rluanet.core"
local S = require "nodemcu.support"
local tls = require "nodemcu.tls"

local E = core.errno
local call, error, type, setmetatable = S.call, error, type, setmetatable

local net = { TCP = 1, UDP = 2, cert = tls.cert }

-- net.c answers any receiver that is not the method's own kind of object (a `.` call
-- instead of `:`, say) with "invalid user data".
local function check(self, mt)
  if getmetatable(self) ~= mt then
    error("invalid user data", 3)
  end
end

-- ---------------------------------------------------------------- net.socket (TCP)

local Socket = {}
local socket_mt = { __index = Socket, __name = "net.tcpsocket" }
socket_mt.__tostring = function(self)
  return ("net.tcpsocket: %p"):format(self)
end

local SOCKET_EVENTS = {
  connection = true, reconnection = true, disconnection = true, receive = true, sent = true, dns = true,
}

local function new_socket()
  -- state: "idle" (no connection), "dns", "connecting", "connected"
  return setmetatable({ cb = {}, state = "idle" }, socket_mt)
end

-- Drops the connection and reports why: `code` 0 is a remote close, anything else an error
-- (to `reconnection` when there is a handler for it, as the firmware does).
local function lost(self, code)
  local stream = self.stream
  self.stream, self.state, self.pending = nil, "idle", nil
  if stream then
    stream:close(code == 0)
  end
  if code ~= 0 and self.cb.reconnection then
    call(self.cb.reconnection, self, code)
  else
    call(self.cb.disconnection, self, code)
  end
end

-- The stream's handler: one closure per connection, the hot events first.
local function handler(self, stream)
  return function(event, a, b)
    if self.stream ~= stream then
      return -- an event from a connection this socket has already let go of
    end
    local cb = self.cb
    if event == "data" then
      local fn = cb.receive
      if fn then
        call(fn, self, a)
      end
    elseif event == "sent" then
      local fn = cb.sent
      if fn then
        call(fn, self)
      end
    elseif event == "connect" then
      self.state = "connected"
      call(cb.connection, self)
    elseif event == "eof" then
      lost(self, 0)
    elseif event == "error" then
      lost(self, S.lwip_code(b))
    end
  end
end

-- Sets a callback; for `sent` the stream is told too. The core drops a chunk's `sent` when
-- no sent callback is set as it falls due, which is when the firmware looks it up too.
local function set_callback(self, event, fn)
  self.cb[event] = fn
  if event == "sent" and self.stream then
    self.stream:want_sent(fn ~= nil)
  end
end

-- Reading on, or off while held. A held stream is not watched, so core's hold keeps it
-- anchored: the firmware keeps a connected socket whether or not it is reading.
local function set_reading(stream, held)
  stream:watch(held and "off" or "data")
  stream:hold(held)
end

local function attach(self, stream, connected)
  self.stream = stream
  self.state = connected and "connected" or "connecting"
  if self.ttl_value then
    stream:setopt("ttl", self.ttl_value)
  end
  stream:on(handler(self, stream))
  stream:want_sent(self.cb.sent ~= nil) -- see set_callback
  set_reading(stream, false) -- a new connection is never held
  -- Sends made while the name was being resolved go out now, in order.
  local pending = self.pending
  self.pending = nil
  for _, data in ipairs(pending or {}) do
    stream:queue(data, true)
  end
end

local function start_connect(self, ip, port)
  local stream, _, errno = core.connect(ip, port)
  if not stream then
    -- Reported from the loop, as lwIP would report a failed connect.
    self.state = "connecting"
    core.defer(function()
      if self.state == "connecting" and not self.stream then
        self.state = "idle"
        lost(self, S.lwip_code(errno))
      end
    end)
    return
  end
  attach(self, stream, false)
end

function Socket:connect(port, host, cb)
  check(self, socket_mt)
  port = S.check_int(port, 1, "connect")
  if self.state ~= "idle" then
    error("already connected", 2)
  end
  if port == 0 then
    error("specify port", 2)
  end
  host = host == nil and "127.0.0.1" or S.check_string(host, 2, "connect")
  if cb ~= nil then
    if type(cb) ~= "function" then
      error("bad argument #3 to 'connect' (not a function)", 2)
    end
    self.cb.connection = cb
  end
  S.connect_lookup(self, host, function(ip)
    if ip == nil then
      -- The firmware stays silent here (#234, #1926); rlua-net reports a routing error.
      self.state = "idle"
      self.pending = nil
      if self.cb.reconnection then
        call(self.cb.reconnection, self, S.ERR_RTE)
      else
        call(self.cb.disconnection, self, S.ERR_RTE)
      end
      return
    end
    start_connect(self, ip, port)
  end)
end

function Socket:on(event, fn)
  check(self, socket_mt)
  if type(event) ~= "string" or not SOCKET_EVENTS[event] then
    error("invalid callback name", 2)
  end
  if fn ~= nil and type(fn) ~= "function" then
    error("invalid callback function", 2)
  end
  set_callback(self, event, fn)
end

function Socket:send(data, fn)
  check(self, socket_mt)
  if type(data) ~= "string" then
    data = S.check_string(data, 1, "send")
  end
  if #data == 0 then
    error("no data to send", 2)
  end
  -- As in net_send: the handler is taken before the connection is checked.
  if type(fn) == "function" then
    set_callback(self, "sent", fn)
  end
  if self.state == "idle" then
    error("not connected", 2)
  end
  if self.stream == nil then
    -- Still resolving the host: keep the data, in order, for the connection.
    self.pending = self.pending or {}
    self.pending[#self.pending + 1] = data
    return
  end
  local ok, _, errno = self.stream:queue(data, true)
  if not ok and errno == E.ENOBUFS then
    error("out of memory", 2) -- past the write-queue limit (docs/nodemcu.md)
  end
  -- Any other failure means the connection is going: its `reconnection`/`disconnection`
  -- event follows from the loop, as on the device, where send() never raises for it.
end

function Socket:close()
  check(self, socket_mt)
  if self.state == "idle" then
    error("not connected", 2)
  end
  local stream = self.stream
  self.stream, self.state, self.pending = nil, "idle", nil
  if stream then
    -- Graceful, like tcp_close: what was sent still goes out; no callback fires.
    stream:close(true)
  end
end

-- Both are no-ops without a connection, as in the firmware (the hold is the pcb's).
function Socket:hold()
  check(self, socket_mt)
  if self.stream then
    set_reading(self.stream, true)
  end
end

function Socket:unhold()
  check(self, socket_mt)
  if self.stream then
    set_reading(self.stream, false)
  end
end

function Socket:dns(domain, cb)
  check(self, socket_mt)
  domain = S.check_string(domain, 1, "dns")
  if cb ~= nil then
    if type(cb) ~= "function" then
      error("invalid callback function", 2)
    end
    self.cb.dns = cb
  end
  if self.cb.dns == nil then
    error("no callback specified", 2)
  end
  S.resolve(domain, function(ip)
    call(self.cb.dns, self, ip)
  end)
end

function Socket:ttl(n)
  check(self, socket_mt)
  if self.stream == nil then
    error("socket is not open/bound yet", 2)
  end
  if n ~= nil then
    self.ttl_value = S.check_int(n, 1, "ttl")
    self.stream:setopt("ttl", self.ttl_value)
  end
  return self.stream:getopt("ttl")
end

-- Note the order: port first (the TLS socket's getpeer is the other way round).
function Socket:getpeer()
  check(self, socket_mt)
  if self.state ~= "connected" or not self.stream then
    return nil, nil
  end
  local ip, port = self.stream:peer_addr()
  if not ip then
    return nil, nil
  end
  return port, ip
end

-- `port, ip` of a core socket's local address, in NodeMCU's order (nil, nil without one).
local function local_port_ip(obj)
  local ip, port
  if obj then
    ip, port = obj:local_addr()
  end
  if not ip then
    return nil, nil
  end
  return port, ip
end

function Socket:getaddr()
  check(self, socket_mt)
  return local_port_ip(self.stream)
end

function net.createConnection()
  -- Arguments are ignored, as in the firmware since 2020: always a plain TCP socket.
  return new_socket()
end

-- ---------------------------------------------------------------- net.server

local Server = {}
local server_mt = { __index = Server, __name = "net.tcpserver" }
server_mt.__tostring = function(self)
  return ("net.tcpserver: %p"):format(self)
end

--- `createServer([type,] timeout)`: with two arguments the first is the (ignored) type,
--- with one it is the timeout; the default is 30 s. The timeout is TCP keepalive.
function net.createServer(a, b)
  local timeout
  if b ~= nil then
    timeout = S.check_int(b, 2, "createServer")
  elseif a ~= nil then
    timeout = S.check_int(a, 1, "createServer")
  else
    timeout = 30
  end
  return setmetatable({ timeout = timeout }, server_mt)
end

function Server:listen(...)
  check(self, server_mt)
  local port, ip, cb
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "function" then
      cb = v
    elseif port == nil and ip == nil and math.tointeger(tonumber(v)) then
      port = math.tointeger(tonumber(v))
    elseif ip == nil and type(v) == "string" then
      ip = v
    end
  end
  if cb == nil then
    error("need callback", 2)
  end
  if self.listener then
    error("already listening", 2)
  end
  ip = ip or "0.0.0.0"
  if not core.is_ip(ip) then
    error("invalid IP address", 2)
  end
  local listener, _, errno = core.listen(ip, port or 0)
  if not listener then
    S.raise(errno)
  end
  self.listener = listener
  local timeout = self.timeout
  listener:on(function(event, stream)
    if event ~= "accept" then
      return -- accept errors (descriptor limits): the next connection tries again
    end
    -- Dead-peer detection, as the firmware's "timeout": one keepalive probe after `timeout` s.
    if timeout > 0 then
      stream:setopt("keepalive", true)
      stream:setopt("keepidle", timeout)
      stream:setopt("keepintvl", timeout)
      stream:setopt("keepcnt", 1)
    end
    local sock = new_socket()
    attach(sock, stream, true)
    call(cb, sock)
    if sock.state == "connected" and sock.cb.connection then
      call(sock.cb.connection, sock)
    end
  end)
  listener:watch(true)
end

function Server:getaddr()
  check(self, server_mt)
  return local_port_ip(self.listener)
end

function Server:close()
  check(self, server_mt)
  if not self.listener then
    error("not connected", 2)
  end
  self.listener:close()
  self.listener = nil
end

-- ---------------------------------------------------------------- net.udpsocket

local Udp = {}
local udp_mt = { __index = Udp, __name = "net.udpsocket" }
udp_mt.__tostring = function(self)
  return ("net.udpsocket: %p"):format(self)
end

local UDP_EVENTS = { receive = true, sent = true, dns = true }

-- Multicast groups joined with net.multicastJoin apply to every UDP socket, as on the
-- device (one interface, one membership).
local groups = {}
local live_udp = setmetatable({}, { __mode = "k" })

--- Binds the socket; returns the errno when that fails (the caller raises, so the error
--- names the script's line).
local function bind(self, ip, port)
  local family = ip:find(":", 1, true) and "inet6" or "inet"
  local d, _, errno = core.udp(family)
  if not d then
    return errno
  end
  local ok
  ok, _, errno = d:bind(ip, port)
  if not ok then
    d:close()
    return errno
  end
  -- lwIP sends to broadcast addresses without asking; scripts do (discovery, #2566).
  if family == "inet" then
    d:setopt("broadcast", true)
  end
  self.dgram = d
  live_udp[self] = true
  for _, g in pairs(groups) do
    d:join(g.group, g.iface)
  end
  d:on(function(event, data, from_ip, from_port)
    if event == "message" then
      call(self.cb.receive, self, data, from_port, from_ip)
    end
  end)
  d:watch(true)
end

function net.createUDPSocket()
  return setmetatable({ cb = {} }, udp_mt)
end

function Udp:listen(...)
  check(self, udp_mt)
  local port, ip
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if port == nil and ip == nil and math.tointeger(tonumber(v)) then
      port = math.tointeger(tonumber(v))
    elseif ip == nil and type(v) == "string" then
      ip = v
    end
  end
  if self.dgram then
    error("already listening", 2)
  end
  ip = ip or "0.0.0.0"
  if not core.is_ip(ip) then
    error("invalid IP address", 2)
  end
  local errno = bind(self, ip, port or 0)
  if errno then
    S.raise(errno)
  end
end

function Udp:on(event, fn)
  check(self, udp_mt)
  if type(event) ~= "string" or not UDP_EVENTS[event] then
    error("invalid callback name", 2)
  end
  if fn ~= nil and type(fn) ~= "function" then
    error("invalid callback function", 2)
  end
  self.cb[event] = fn
end

function Udp:send(port, ip, data, fn)
  check(self, udp_mt)
  port = S.check_int(port, 1, "send")
  ip = S.check_string(ip, 2, "send")
  data = S.check_string(data, 3, "send")
  if port == 0 then
    error("need port", 2)
  end
  if not core.is_ip(ip) then
    error("invalid IP address", 2)
  end
  if #data == 0 then
    error("no data to send", 2)
  end
  if type(fn) == "function" then
    self.cb.sent = fn
  end
  if not self.dgram then
    local errno = bind(self, ip:find(":", 1, true) and "::" or "0.0.0.0", 0)
    if errno then
      S.raise(errno)
    end
  end
  local n, _, errno = self.dgram:sendto(data, ip, port)
  if not n then
    S.raise(errno)
  end
  -- The firmware calls `sent` before send() returns; so does rlua-net.
  call(self.cb.sent, self)
end

function Udp:dns(domain, cb)
  check(self, udp_mt)
  domain = S.check_string(domain, 1, "dns")
  if cb ~= nil then
    self.cb.dns = cb
  end
  if self.cb.dns == nil then
    error("no callback specified", 2)
  end
  S.resolve(domain, function(ip)
    call(self.cb.dns, self, ip)
  end)
end

function Udp:ttl(n)
  check(self, udp_mt)
  if not self.dgram then
    error("socket is not open/bound yet", 2)
  end
  if n ~= nil then
    self.dgram:setopt("ttl", S.check_int(n, 1, "ttl"))
  end
  return self.dgram:getopt("ttl")
end

function Udp:getaddr()
  check(self, udp_mt)
  return local_port_ip(self.dgram)
end

function Udp:close()
  check(self, udp_mt)
  if not self.dgram then
    error("not connected", 2)
  end
  self.dgram:close()
  self.dgram = nil
  live_udp[self] = nil
end

-- ---------------------------------------------------------------- multicast

-- Raised at level 4: check_ip_arg <- membership <- multicastJoin/Leave <- the script.
-- A number passes as a string, as lua_isstring lets it (and then fails the IP check).
local function check_ip_arg(v, what)
  if type(v) == "number" then
    v = tostring(v)
  elseif type(v) ~= "string" then
    error("wrong arg type", 4)
  end
  if v == "" or v:lower() == "any" then
    return "0.0.0.0"
  end
  if #v < 7 or #v > 15 or not core.is_ip(v) then
    error("invalid " .. what .. " ip", 4)
  end
  return v
end

local function membership(if_ip, mc_ip, join)
  local iface = check_ip_arg(if_ip, "if")
  local group = check_ip_arg(mc_ip, "multicast")
  local key = iface .. "/" .. group
  groups[key] = join and { group = group, iface = iface } or nil
  for sock in pairs(live_udp) do
    if sock.dgram then
      if join then
        sock.dgram:join(group, iface)
      else
        sock.dgram:leave(group, iface)
      end
    end
  end
end

function net.multicastJoin(if_ip, mc_ip)
  membership(if_ip, mc_ip, true)
end

function net.multicastLeave(if_ip, mc_ip)
  membership(if_ip, mc_ip, false)
end

-- ---------------------------------------------------------------- net.dns

local dns = {}
net.dns = dns

--- `cb(nil, ip_or_nil)`: the first argument is always nil, as in the firmware.
function dns.resolve(host, cb)
  host = S.check_string(host, 1, "resolve")
  if type(cb) ~= "function" then
    error(("bad argument #2 to 'resolve' (function expected, got %s)"):format(cb == nil and "no value" or type(cb)), 2)
  end
  S.resolve(host, function(ip)
    call(cb, nil, ip)
  end)
end

-- DNS servers: reported from /etc/resolv.conf; a server set here is remembered and
-- reported, but lookups keep using the system resolver (docs/nodemcu.md).
local dns_override = {}

local function system_dns_servers()
  local out = {}
  local f = io.open("/etc/resolv.conf")
  if f then
    for line in f:lines() do
      local ip = line:match("^%s*nameserver%s+(%S+)")
      if ip then
        out[#out + 1] = ip
      end
    end
    f:close()
  end
  return out
end

local function dns_index(idx)
  idx = S.opt_int(idx, 2, "dnsserver", 0)
  if idx < 0 or idx >= 2 then
    error("server index out of range [0-1]", 3)
  end
  return idx
end

function dns.getdnsserver(idx)
  idx = dns_index(idx)
  return dns_override[idx] or system_dns_servers()[idx + 1]
end

function dns.setdnsserver(ip, idx)
  if type(ip) ~= "string" or #ip > 16 or not ip:find("^%d+%.%d+%.%d+%.%d+$") or not core.is_ip(ip) or ip == "0.0.0.0" then
    error("invalid dns server ip", 2)
  end
  dns_override[dns_index(idx)] = ip
end

-- ---------------------------------------------------------------- net.ifinfo

--- Interface 0 (the station) is the host's first non-loopback IPv4 interface, else the
--- loopback; interface 1 (the access point) is the loopback. Others: no values.
function net.ifinfo(idx)
  idx = S.opt_int(idx, 1, "ifinfo", 0)
  if idx ~= 0 and idx ~= 1 then
    return
  end
  local chosen, loopback
  for _, i in ipairs(core.interfaces()) do
    if i.family == "inet" then
      if i.loopback then
        loopback = loopback or i
      elseif not chosen then
        chosen = i
      end
    end
  end
  local i = (idx == 0 and chosen) or loopback or chosen
  if not i then
    return
  end
  return { hwaddr = i.hwaddr or string.rep("\0", 6), ip = i.ip, netmask = i.netmask }
end

-- Optional in the firmware (NET_PING_ENABLE) and needing raw ICMP sockets here.
net.ping = S.unsupported("net.ping")

return net
