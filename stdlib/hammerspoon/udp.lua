-- hs.socket.udp: asynchronous UDP sockets (GCDAsyncUdpSocket's model) on the rlua-net core.
-- One IPv4 and one IPv6 OS socket per object, created on demand (listen, connect, send,
-- broadcast, reusePort). `receive` delivers every datagram to the read callback
-- `(data, sockaddr)`, `receiveOne` exactly one; `pause` leaves datagrams in the kernel buffer.
-- Decision 5: data is raw bytes, and `broadcast(true)` / `reusePort(true)` enable the option.
-- Callbacks always run from the loop; an error in one is logged as "<label>: <msg>".
local core = require "rluanet.core"
local S = require "hammerspoon.support"
local argerror, check_int, sockaddr = S.argerror, S.check_int, S.sockaddr

local type, error, setmetatable, tostring = type, error, setmetatable, tostring

local MAX4, MAX6 = 65535, 4294967295

local M = {
  timeout = -1,
}

local Udp, mt, check_self = S.class("hs.socket.udp")
local log = S.log

-- ---------------------------------------------------------------- argument checks (LuaSkin style)

local function check_fn(v, n)
  if v ~= nil and type(v) ~= "function" then
    argerror(n, v, "nil or function")
  end
end

-- ---------------------------------------------------------------- OS sockets

local function is_v6(ip)
  return ip:find(":", 1, true) ~= nil
end

-- The address to use among `ips`: one of the preferred IP version if any (IPv4 when
-- neutral, as GCDAsyncUdpSocket does), else the first usable one.
local function pick(self, ips, usable)
  local first
  for _, a in ipairs(ips) do
    if usable(a) then
      if is_v6(a) == (self.prefer == 6) then
        return a
      end
      first = first or a
    end
  end
  return first
end

-- Datagrams go to the read callback while `self.mode` is "many" or "one".
local function deliver(self, family, data, ip, port)
  if self.mode == nil then
    return
  end
  if family == "inet6" and not is_v6(ip) then
    ip = "::ffff:" .. ip -- an IPv4 sender seen by the IPv6 socket, as the kernel reports it
  end
  local size = family == "inet6" and self.buf6 or self.buf4
  if #data == 0 or size == 0 then
    return -- zero-length datagrams are never delivered; a zero buffer delivers nothing
  end
  if #data > size then
    data = data:sub(1, size)
  end
  if self.mode == "one" then
    self:pause()
  end
  local cb = self.cb
  if cb then
    S.call("hs.socket.udp:read callback", cb, data, sockaddr(ip, port))
  end
end

local function watch(self, on)
  for _, d in ipairs({ self.s4 or false, self.s6 or false }) do
    if d then
      d:watch(on)
    end
  end
end

local function make(self, family)
  local d, msg = core.udp(family)
  if not d then
    return nil, msg
  end
  if family == "inet6" and self.v4 then
    d:setopt("v6only", true) -- the IPv4 half has its own socket (spec 1.4)
  end
  if self.reuseport then
    d:setopt("reuseport", true)
  end
  if family == "inet" and self.broadcast_on then
    d:setopt("broadcast", true)
  end
  d:on(function(event, a, b, c)
    if event == "message" then
      deliver(self, family, a, b, c)
    end
  end)
  if self.mode then
    d:watch(true)
  end
  return d
end

-- Creates the OS sockets of the enabled families. Returns true, or nil and a message.
local function ensure(self)
  if not self.v4 and not self.v6 then
    return nil, "Both IPv4 and IPv6 have been disabled on this socket."
  end
  if self.v4 and not self.s4 then
    local d, msg = make(self, "inet")
    if not d then
      return nil, msg
    end
    self.s4 = d
  end
  if self.v6 and not self.s6 then
    self.s6 = make(self, "inet6") -- no IPv6 on this host: IPv4 only
  end
  self.families_fixed = true -- enableIPv is ineffective from here until close()
  return true
end

local function close_sockets(self)
  for _, k in ipairs({ "s4", "s6" }) do
    local d = self[k]
    if d then
      d:watch(false)
      d:close()
      self[k] = nil
    end
  end
  self.families_fixed = nil
end

-- ---------------------------------------------------------------- constructors

function M.new(fn, ...)
  if select("#", ...) > 0 then
    S.too_many(1, ...)
  end
  check_fn(fn, 1)
  return setmetatable({
    cb = fn,
    timeout = M.timeout,
    userData = "",
    v4 = true,
    v6 = true,
    prefer = nil, -- 4, 6 or nil (neutral)
    buf4 = MAX4,
    buf6 = MAX4,
    chost = "",
    cport = 0,
    caddr = "",
  }, mt)
end

function M.server(port, fn)
  local s = M.new(fn)
  s:listen(port)
  return s
end

function M.parseAddress(...)
  return require("hammerspoon.socket").parseAddress(...)
end

-- ---------------------------------------------------------------- methods

function Udp:listen(port, ...)
  check_self(self, 2, ...)
  if type(port) ~= "number" then
    argerror(2, port, "number or integer")
  end
  port = check_int(port, 2) & 0xffff
  if self.bound or self.isconn then
    log().e("Unable to bind port: Cannot bind a socket more than once.")
    return nil
  end
  local ok, msg = ensure(self)
  if ok and self.s4 then
    ok, msg = self.s4:bind("0.0.0.0", port)
  end
  if ok and self.s6 then
    ok, msg = self.s6:bind("::", port)
    if not ok and self.s4 then
      -- No IPv6 here (or the port is taken only for IPv6): keep serving IPv4.
      self.s6:close()
      self.s6, ok = nil, true
    end
  end
  if not ok then
    close_sockets(self)
    log().e("Unable to bind port: " .. tostring(msg))
    return nil
  end
  self.bound, self.userData = true, "SERVER"
  return self
end

function Udp:connect(host, port, fn, ...)
  check_self(self, 4, ...)
  if type(host) ~= "string" then
    argerror(2, host, "string")
  end
  if type(port) ~= "number" then
    argerror(3, port, "number or integer")
  end
  port = check_int(port, 3)
  check_fn(fn, 4)
  if self.isconn or self.connecting then
    log().e("Unable to connect: Cannot connect a socket more than once.")
    return nil
  end
  if not self.v4 and not self.v6 then
    log().e("Unable to connect: Both IPv4 and IPv6 have been disabled on this socket.")
    return nil
  end
  self.ccb = fn
  self.connecting = true
  local gen = {}
  self.gen = gen
  local function failed(msg)
    self.connecting, self.ccb = false, nil
    log().e("UDP socket did not connect: " .. tostring(msg))
  end
  local function go(ips, msg)
    if self.gen ~= gen then
      return
    end
    if not ips or not ips[1] then
      return failed(msg or "no address")
    end
    local ip = pick(self, ips, function(a)
      return is_v6(a) and self.v6 or (not is_v6(a) and self.v4)
    end)
    if not ip then
      return failed("no address of an enabled IP version")
    end
    if port <= 0 or port > 0xffff then
      return failed("Invalid port")
    end
    local ok, emsg = ensure(self)
    local d = ok and (is_v6(ip) and self.s6 or self.s4)
    if not d then
      return failed(emsg or "no socket for this IP version")
    end
    local cok, cmsg = d:connect(ip, port)
    if not cok then
      return failed(cmsg)
    end
    -- Connected on one family: the other socket goes, as GCDAsyncUdpSocket does.
    local other = d == self.s4 and "s6" or "s4"
    if self[other] then
      self[other]:close()
      self[other] = nil
    end
    self.connecting, self.isconn, self.userData = false, true, "DEFAULT"
    self.chost, self.cport, self.caddr = ip, port, sockaddr(ip, port)
    local cb = self.ccb
    self.ccb = nil
    if cb then
      S.call("hs.socket.udp:connect", cb)
    end
  end
  if core.is_ip(host) then
    core.defer(go, { host })
  else
    core.resolve(host, go, "any")
  end
  return self
end

function Udp:close(...)
  check_self(self, 1, ...)
  close_sockets(self)
  self.gen = nil
  self.bound, self.isconn, self.connecting, self.sent, self.mode = nil, nil, nil, nil, nil
  self.userData = ""
  return self -- upstream quirk kept: the cached connected host and port stay
end

function Udp:pause(...)
  check_self(self, 1, ...)
  self.mode = nil
  watch(self, false)
  return self
end

-- After check_self: receive and receiveOne check their receiver and argument count.
local function start_receive(self, fn, mode)
  check_fn(fn, 2)
  if fn then
    self.cb = fn
  end
  if self.cb == nil then
    log().e("No callback defined!")
    return nil
  end
  if not (self.bound or self.isconn or self.sent) or not (self.s4 or self.s6) then
    log().e("Unable to read from UDP socket: Must bind socket before you can receive data. "
      .. "You can do this explicitly via bind, or implicitly via connect or by sending data.")
    return nil
  end
  self.mode = mode
  watch(self, true)
  return self
end

function Udp:receive(fn, ...)
  check_self(self, 2, ...)
  return start_receive(self, fn, "many")
end

function Udp:receiveOne(fn, ...)
  check_self(self, 2, ...)
  return start_receive(self, fn, "one")
end

function Udp:send(msg, a, b, c, d, ...)
  check_self(self, 6, ...)
  if type(msg) ~= "string" then
    argerror(2, msg, "string")
  end
  local host, port, tag, fn
  if self.isconn then
    tag, fn = a, b
    if type(tag) == "function" and fn == nil then
      tag, fn = nil, tag
    end
    if tag ~= nil and type(tag) ~= "number" then
      argerror(3, tag, "nil or number or integer or function")
    end
    check_fn(fn, 4)
  else
    host, port, tag, fn = a, b, c, d
    if type(host) ~= "string" then
      argerror(3, host, "string")
    end
    if type(port) ~= "number" then
      argerror(4, port, "number or integer")
    end
    port = check_int(port, 4)
    if type(tag) == "function" and fn == nil then
      tag, fn = nil, tag
    end
    if tag ~= nil and type(tag) ~= "number" then
      argerror(5, tag, "nil or number or integer or function")
    end
    check_fn(fn, 6)
  end
  tag = tag == nil and -1 or check_int(tag, self.isconn and 3 or 5)
  if fn then
    self.wcb = fn
  end
  if msg == "" then
    return self
  end
  local function done(err)
    if err then
      self.wcb = nil
      log().e("Data not sent on UDP socket: " .. tostring(err))
      return
    end
    local cb = self.wcb
    if cb then
      self.wcb = nil
      S.call("hs.socket.udp:write callback", cb, tag)
    end
  end
  local ok, emsg = ensure(self)
  if not ok then
    core.defer(done, emsg)
    return self
  end
  self.sent = true
  if self.isconn then
    local sock = self.s4 or self.s6
    local n, err = sock:send(msg)
    core.defer(done, (not n and (err or "send failed")) or (n == 0 and "no buffer space") or nil)
    return self
  end
  local function to(ips, err)
    local done = function(e)
      core.defer(done, e) -- never inside the call that caused it (decision 3)
    end
    if not ips or not ips[1] then
      return done(err or "no address")
    end
    local ip = pick(self, ips, function(x)
      return (is_v6(x) and self.s6 or self.s4) ~= nil
    end)
    if not ip then
      return done("no socket for the address's IP version")
    end
    if port < 0 or port > 0xffff then
      return done("Invalid port")
    end
    local sock = is_v6(ip) and self.s6 or self.s4
    local n, serr = sock:sendto(msg, ip, port)
    if not n then
      return done(serr or "send failed")
    elseif n == 0 then
      return done("no buffer space")
    end
    return done()
  end
  if core.is_ip(host) then
    -- The send happens now (so the socket is bound at once); its outcome is reported later.
    to({ host })
  else
    core.resolve(host, to, "any")
  end
  return self
end

function Udp:broadcast(flag, ...)
  check_self(self, 2, ...)
  if flag ~= nil and type(flag) ~= "boolean" then
    argerror(2, flag, "nil or boolean")
  end
  local on = flag ~= false -- decision 5: true (or nothing) enables
  local ok, msg = ensure(self)
  if ok and self.s4 then
    ok, msg = self.s4:setopt("broadcast", on)
  end
  if not ok then
    log().e("Unable to enable broadcasting: " .. tostring(msg))
    return nil
  end
  self.broadcast_on = on
  return self
end

function Udp:reusePort(flag, ...)
  check_self(self, 2, ...)
  if flag ~= nil and type(flag) ~= "boolean" then
    argerror(2, flag, "nil or boolean")
  end
  local on = flag ~= false -- decision 5: true (or nothing) enables
  local ok, msg = ensure(self)
  for _, d in ipairs({ self.s4 or false, self.s6 or false }) do
    if ok and d then
      ok, msg = d:setopt("reuseport", on)
    end
  end
  if not ok then
    log().e("Unable to enable port reuse: " .. tostring(msg))
    return nil
  end
  self.reuseport = on
  return self
end

function Udp:enableIPv(version, flag, ...)
  check_self(self, 3, ...)
  if type(version) ~= "number" then
    argerror(2, version, "number or integer")
  end
  version = check_int(version, 2)
  if flag ~= nil and type(flag) ~= "boolean" then
    argerror(3, flag, "nil or boolean")
  end
  local on = flag ~= false
  if version ~= 4 and version ~= 6 then
    log().e("Invalid IP version: " .. tostring(version))
    return nil
  elseif self.families_fixed then
    return self -- after binding or connecting the change is silently ineffective, as upstream
  elseif version == 4 then
    self.v4 = on
  else
    self.v6 = on
  end
  return self
end

function Udp:preferIPv(version, ...)
  check_self(self, 2, ...)
  if version ~= nil and type(version) ~= "number" then
    argerror(2, version, "nil or number or integer")
  end
  self.prefer = (version == 4 or version == 6) and math.tointeger(version) or nil
  return self
end

function Udp:setBufferSize(size, version, ...)
  check_self(self, 3, ...)
  if type(size) ~= "number" then
    argerror(2, size, "number or integer")
  end
  size = check_int(size, 2)
  if version ~= nil and type(version) ~= "number" then
    argerror(3, version, "nil or number or integer")
  end
  local function clamp(max)
    if size < 0 or size > max then
      return max -- read as an unsigned integer upstream: -1 is the maximum
    end
    return size
  end
  if version ~= 6 then
    self.buf4 = clamp(MAX4)
  end
  if version ~= 4 then
    self.buf6 = clamp(MAX6)
  end
  return self
end

function Udp:setCallback(fn, ...)
  check_self(self, 2, ...)
  check_fn(fn, 2)
  self.cb = fn
  return self
end

function Udp:setTimeout(t, ...)
  check_self(self, 2, ...)
  if type(t) ~= "number" then
    argerror(2, t, "number")
  end
  self.timeout = t
  return self
end

function Udp:connected(...)
  check_self(self, 1, ...)
  return self.isconn == true
end

function Udp:closed(...)
  check_self(self, 1, ...)
  return self.s4 == nil and self.s6 == nil
end

local function local_of(d)
  if not d then
    return "", 0, ""
  end
  local ip, port = d:local_addr()
  if type(ip) ~= "string" or type(port) ~= "number" or port == 0 then
    return "", 0, ""
  end
  return ip, port, sockaddr(ip, port)
end

function Udp:info(...)
  check_self(self, 1, ...)
  local h4, p4, a4 = local_of(self.s4)
  local h6, p6, a6 = local_of(self.s6)
  local i = {
    connectedAddress = self.caddr,
    connectedHost = self.chost,
    connectedPort = self.cport,
    isClosed = self.s4 == nil and self.s6 == nil,
    isConnected = self.isconn == true,
    isIPv4 = self.s4 ~= nil,
    isIPv4Enabled = self.v4,
    isIPv4Preferred = self.prefer == 4,
    isIPv6 = self.s6 ~= nil,
    isIPv6Enabled = self.v6,
    isIPv6Preferred = self.prefer == 6,
    isIPVersionNeutral = self.prefer == nil,
    localAddress_IPv4 = a4,
    localHost_IPv4 = h4,
    localPort_IPv4 = p4,
    localAddress_IPv6 = a6,
    localHost_IPv6 = h6,
    localPort_IPv6 = p6,
    maxReceiveIPv4BufferSize = self.buf4,
    maxReceiveIPv6BufferSize = self.buf6,
    timeout = self.timeout + 0.0,
    userData = self.userData,
  }
  if self.s4 then
    i.localAddress, i.localHost, i.localPort = a4, h4, p4
  else
    i.localAddress, i.localHost, i.localPort = a6, h6, p6
  end
  return i
end

Udp.read = Udp.receive
Udp.readOne = Udp.receiveOne
Udp.write = Udp.send

mt.__tostring = function(self)
  local where = "(null):0"
  if self.isconn then
    where = self.chost .. ":" .. self.cport
  elseif self.bound then
    local i = self:info()
    where = i.localHost .. ":" .. i.localPort
  end
  return ("hs.socket.udp: %s (%p)"):format(where, self)
end

return M
