-- hs.socket: asynchronous TCP and Unix-domain stream sockets (CocoaAsyncSocket's model) on
-- the rlua-net core. Reads are explicit, queued FIFO and tagged; each completed read calls
-- the read callback `(data, tag)` once. Writes complete when handed to the kernel; the one
-- write-callback slot fires `(tag)` once. A server's read and write fan out to every client
-- connected at the time of the call. Callbacks always run from the loop; an error in one is
-- logged as "<label>: <msg>" and the loop goes on. startTLS is a queued special packet, as in
-- GCDAsyncSocket: it sits in the read queue, starts once the reads before it completed and the
-- writes before it went out, and holds later writes until the handshake is over.
local core = require "rluanet.core"
local S = require "hammerspoon.support"
local argerror, check_int, sockaddr = S.argerror, S.check_int, S.sockaddr

local ENOBUFS = core.errno.ENOBUFS
local type, error, setmetatable, tostring = type, error, setmetatable, tostring
local math_type = math.type

local M = {
  timeout = -1,
  -- Decision 6: the most a peer may send without completing the pending read.
  readBufferLimit = 16 * 1024 * 1024,
}

local Socket, mt, check_self = S.class("hs.socket")
local log = S.log

-- ---------------------------------------------------------------- connections

-- A connection: a client socket's one stream, or one accepted client of a server. Its
-- `owner` is the hs.socket object whose callbacks, timeout and limit apply.
-- state: "resolving" | "connecting" | "connected" | "closed"

local pump, start_tls

local function stop_timer(rec)
  if rec and rec.timer then
    rec.timer:stop()
    rec.timer = nil
  end
end

local function close_conn(conn, why)
  if conn.state == "closed" then
    return
  end
  -- A connect that never completed forgets its callback (decision 5: upstream keeps it and
  -- would call it on a later, unrelated connect).
  local never_connected = conn.state ~= "connected"
  conn.state = "closed"
  for _, r in ipairs(conn.reads) do
    stop_timer(r)
  end
  for _, w in ipairs(conn.wq) do
    stop_timer(w)
  end
  stop_timer(conn)
  conn.reads, conn.wq, conn.pending, conn.held = {}, {}, {}, nil
  local stream = conn.stream
  if stream then
    stream:hold(false)
    stream:close()
  end
  local owner = conn.owner
  if owner.conn == conn then
    owner.conn, owner.mode, owner.userData = nil, nil, ""
    if never_connected then
      owner.ccb = nil
    end
  elseif owner.clients then
    for i, c in ipairs(owner.clients) do
      if c == conn then
        table.remove(owner.clients, i)
        break
      end
    end
  end
  if why then
    log().d("TCP socket disconnected: " .. tostring(why))
  end
end

local function after(conn, seconds, why)
  local t = core.timer()
  t:on(function()
    close_conn(conn, why)
  end)
  t:start(seconds)
  return t
end

-- Starts the timeout of the read at the head of the queue (each read's timer starts when it
-- becomes the current one).
local function arm_head(conn)
  local r = conn.reads[1]
  if r and not r.timer and r.timeout >= 0 and conn.state == "connected" then
    r.timer = after(conn, r.timeout, r.tls and "TLS handshake timeout" or "read timeout")
  end
end

-- The stream's watch, changed only when it differs (each change is a call into the core).
local function watch(conn, mode)
  if conn.watching ~= mode then
    conn.watching = mode
    conn.stream:watch(mode)
  end
end

local function schedule(conn)
  if conn.state ~= "connected" then
    return
  end
  watch(conn, "readable")
  arm_head(conn)
  if not conn.deferred then
    conn.deferred = true
    local run = conn.run
    if not run then
      run = function()
        conn.deferred = false
        pump(conn)
      end
      conn.run = run
    end
    core.defer(run)
  end
end

function pump(conn)
  local stream = conn.stream
  while conn.state == "connected" do
    local r = conn.reads[1]
    if r and r.tls then
      start_tls(conn)
      return
    elseif r == nil then
      -- No read pending: an EOF with nothing unread closes at once; unread data waits
      -- (reading is suspended) until a read asks for it.
      if stream:buffered() > 0 then
        watch(conn, "off")
        return
      end
      local d, msg = stream:fill(1)
      if d == nil then
        close_conn(conn, msg or "Socket closed by remote peer")
      elseif d then
        watch(conn, "off")
      end
      return
    end
    -- Lazy reads: a `false` sends the pump back to the loop until the socket is readable.
    local data, msg, errno
    if r.delim then
      data, msg, errno = stream:read_until(r.delim, conn.owner.limit, true)
    else
      data, msg, errno = stream:read_exact(r.n, true)
    end
    if data then
      table.remove(conn.reads, 1)
      stop_timer(r)
      arm_head(conn)
      local cb = conn.owner.cb
      if cb then
        S.call("hs.socket:read callback", cb, data, r.tag)
      end
      if stream:buffered() == 0 then
        -- The next read waits for a later turn, so one quick peer cannot keep the loop.
        schedule(conn)
        return
      end
    elseif data == false then
      return
    elseif errno == ENOBUFS then
      log().e(
        ("hs.socket: read buffer limit (%d bytes) reached without completing the pending read; disconnecting"):format(
          conn.owner.limit
        )
      )
      close_conn(conn, msg)
      return
    else
      close_conn(conn, msg or "Socket closed by remote peer")
      return
    end
  end
end

local function send_now(conn, w)
  local ok, msg = conn.stream:queue(w.data, w.tag)
  if not ok then
    log().e("hs.socket: write failed: " .. tostring(msg))
    close_conn(conn, msg)
    return
  end
  w.data = nil
  conn.wq[#conn.wq + 1] = w
  if w.timeout >= 0 then
    w.timer = after(conn, w.timeout, "write timeout")
  end
end

local function queue_write(conn, data, tag, timeout)
  local w = { data = data, tag = tag, timeout = timeout }
  if conn.held then
    conn.held[#conn.held + 1] = w -- queued after startTLS: goes out encrypted
  elseif conn.state == "connected" then
    send_now(conn, w)
  elseif conn.state ~= "closed" then
    conn.pending[#conn.pending + 1] = w
  end
end

-- Starts the queued handshake once it heads the read queue and no earlier write is unsent.
function start_tls(conn)
  local r = conn.reads[1]
  if conn.state ~= "connected" or conn.handshaking or not (r and r.tls) or #conn.wq > 0 then
    return
  end
  conn.handshaking = true
  local ok, msg = conn.stream:starttls(r.ctx, r.name)
  if not ok then
    log().e("hs.socket:startTLS: " .. tostring(msg))
    close_conn(conn, msg)
  end
end

-- Sends writes that were held back (until the connect, or during a TLS handshake) in
-- order while the connection stays up, then lets the reads go on.
local function release(conn, writes)
  for _, w in ipairs(writes) do
    if conn.state == "connected" then
      send_now(conn, w)
    end
  end
  schedule(conn)
end

local function on_secured(conn)
  conn.handshaking, conn.secure = false, true
  stop_timer(table.remove(conn.reads, 1))
  log().d("TCP socket secured")
  local held = conn.held or {}
  conn.held = nil
  release(conn, held)
end

local function on_sent(conn, tag)
  local w = table.remove(conn.wq, 1)
  stop_timer(w)
  if conn.held and #conn.wq == 0 then
    start_tls(conn)
  end
  local owner = conn.owner
  local fn = owner.wcb
  if fn then
    owner.wcb = nil
    S.call("hs.socket:write callback", fn, tag)
  end
end

local function on_connected(conn)
  conn.state = "connected"
  stop_timer(conn)
  local pending = conn.pending
  conn.pending = {}
  release(conn, pending)
end

local function attach(conn, stream)
  conn.stream = stream
  stream:hold(true)
  stream:on(function(event, a)
    if conn.state == "closed" then
      return
    end
    if event == "connect" then
      local owner = conn.owner
      owner.userData = "DEFAULT"
      log().d("TCP socket connected")
      on_connected(conn)
      local fn = owner.ccb
      if fn and conn.state == "connected" then
        owner.ccb = nil
        S.call("hs.socket:connect callback", fn)
      end
    elseif event == "readable" then
      pump(conn)
    elseif event == "handshake" then
      on_secured(conn)
    elseif event == "sent" then
      on_sent(conn, a)
    elseif event == "eof" then
      pump(conn)
      close_conn(conn, "Socket closed by remote peer")
    elseif event == "error" then
      if conn.handshaking then
        -- Upstream only logs this; the socket disconnects and no read callback runs.
        log().e("hs.socket:startTLS: TLS handshake failed: " .. tostring(a))
      end
      close_conn(conn, a)
    end
  end)
end

local function new_conn(owner)
  return { owner = owner, reads = {}, wq = {}, pending = {}, state = "resolving" }
end

-- ---------------------------------------------------------------- constructors

function M.new(fn, ...)
  if select("#", ...) > 0 then
    S.too_many(1, ...)
  end
  if fn ~= nil and type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn) and getmetatable(fn).__call) then
    argerror(1, fn, "nil or function")
  end
  return setmetatable({
    cb = type(fn) == "function" and fn or nil,
    timeout = M.timeout,
    limit = M.readBufferLimit,
    userData = "",
  }, mt)
end

function M.server(where, fn)
  local s = M.new(fn)
  s:listen(where)
  return s
end

local function expand(path)
  if path:sub(1, 1) == "~" then
    return (os.getenv("HOME") or "") .. path:sub(2)
  end
  return path
end

-- ---------------------------------------------------------------- methods

function Socket:connect(host, port, fn, ...)
  check_self(self, 4, ...)
  local path
  if type(port) == "number" then
    port = check_int(port, 3)
    if fn ~= nil and type(fn) ~= "function" then
      argerror(4, fn, "nil or function")
    end
    if type(host) ~= "string" then
      argerror(2, host, "string")
    end
  else
    if port ~= nil and type(port) ~= "function" then
      argerror(3, port, "function")
    end
    if type(host) ~= "string" then
      argerror(2, host, "string")
    end
    path, fn = expand(host), port
  end
  if self.mode ~= nil then
    log().e(
      (path and "Unable to connect to Unix domain socket: " or "Unable to connect to host/port: ")
        .. "Attempting to connect while connected or accepting connections. Disconnect first."
    )
    return nil
  end
  if host == "" then
    log().e((path and "Unable to connect to Unix domain socket: " or "Unable to connect to host/port: ") .. "Invalid host parameter")
    return nil
  end
  if fn then
    self.ccb = fn
  end
  local conn = new_conn(self)
  self.conn, self.mode = conn, "client"
  if self.timeout >= 0 then
    conn.timer = after(conn, self.timeout, "connect timeout")
  end
  local function start(stream, msg)
    if conn.state == "closed" then
      if stream then
        stream:close()
      end
      return
    end
    if not stream then
      core.defer(close_conn, conn, msg)
      return
    end
    conn.state = "connecting"
    attach(conn, stream)
  end
  if path then
    conn.path = path
    start(core.connect_unix(path))
    return self
  end
  conn.port = port & 0xffff
  if core.is_ip(host) then
    start(core.connect(host, conn.port))
  else
    core.resolve(host, function(ips, msg)
      if conn.state == "closed" then
        return
      end
      if not ips or not ips[1] then
        close_conn(conn, msg or "no address")
        return
      end
      local ip = ips[1]
      for _, a in ipairs(ips) do
        if not a:find(":", 1, true) then
          ip = a -- IPv4 is preferred, as GCDAsyncSocket does
          break
        end
      end
      start(core.connect(ip, conn.port))
    end, "any")
  end
  return self
end

local function accept(self, stream)
  local conn = new_conn(self)
  self.clients[#self.clients + 1] = conn
  attach(conn, stream)
  on_connected(conn)
end

function Socket:listen(where, ...)
  check_self(self, 2, ...)
  if type(where) ~= "number" and type(where) ~= "string" then
    argerror(2, where, "number or integer or string")
  end
  if self.mode ~= nil then
    log().e(
      (type(where) == "string" and "Unable to bind Unix domain path: " or "Unable to bind port: ")
        .. "Attempting to accept while connected or accepting connections. Disconnect first."
    )
    return nil
  end
  local listeners = {}
  if type(where) == "string" then
    local path = expand(where)
    if core.file_info(path) then
      log().e("Unable to bind Unix domain path: Could not remove previous unix domain socket at given url.")
      return nil
    end
    local l, msg = core.listen_unix(path, { backlog = 1024 })
    if not l then
      log().e("Unable to bind Unix domain path: " .. tostring(msg))
      return nil
    end
    listeners[1] = l
    self.path = path
  else
    local port = check_int(where, 2)
    local l4, msg = core.listen("0.0.0.0", port & 0xffff, { backlog = 1024, reuseaddr = true })
    if not l4 then
      log().e("Unable to bind port: " .. tostring(msg))
      return nil
    end
    local _, bound = l4:local_addr()
    listeners[1] = l4
    local l6 = core.listen("::", bound, { backlog = 1024, reuseaddr = true, v6only = true })
    if l6 then
      listeners[2] = l6
    end
    self.port = bound
  end
  self.mode, self.userData, self.listeners, self.clients = "server", "SERVER", listeners, {}
  for _, l in ipairs(listeners) do
    l:on(function(event, stream)
      if event == "accept" and self.listeners == listeners then
        accept(self, stream)
      end
    end)
    l:watch(true)
  end
  return self
end

function Socket:disconnect(...)
  check_self(self, 1, ...)
  if self.mode == "client" then
    close_conn(self.conn, "disconnected by the script")
  elseif self.mode == "server" then
    for _, l in ipairs(self.listeners) do
      l:close()
    end
    local clients = self.clients
    self.listeners, self.clients = nil, nil
    for _, c in ipairs(clients) do
      close_conn(c, "server disconnected")
    end
  end
  self.mode, self.conn, self.userData, self.path, self.port = nil, nil, "", nil, nil
  return self
end

-- The connections a read or write applies to: the client's one, or every server client.
local NONE = {}
local function targets(self)
  if self.mode == "client" then
    local one = self.one -- reused: a client reads and writes far more often than it connects
    if not one or one[1] ~= self.conn then
      one = { self.conn }
      self.one = one
    end
    return one
  elseif self.mode == "server" then
    local t = {}
    for i, c in ipairs(self.clients) do
      t[i] = c
    end
    return t
  end
  return NONE
end

function Socket:read(what, tag, ...)
  check_self(self, 3, ...)
  local n, delim
  if type(what) == "number" then
    what = check_int(what, 2)
    n = what
  elseif type(what) == "string" then
    delim = what
  else
    argerror(2, what, "number or integer or string")
  end
  if tag ~= nil and type(tag) ~= "number" then
    argerror(3, tag, "nil or number or integer")
  end
  tag = tag == nil and -1 or check_int(tag, 3)
  if self.cb == nil then
    log().e("No callback defined!")
    return nil
  end
  if what == 0 or what == "" then
    return self
  end
  if n and n < 0 then
    n = math.maxinteger -- as upstream: a huge length that never completes
  end
  local conns = targets(self)
  for i = 1, #conns do
    local conn = conns[i]
    local reads = conn.reads
    reads[#reads + 1] = { n = n, delim = delim, tag = tag, timeout = self.timeout }
    schedule(conn)
  end
  return self
end
Socket.receive = Socket.read

function Socket:write(data, tag, fn, ...)
  check_self(self, 4, ...)
  if type(data) ~= "string" then
    argerror(2, data, "string")
  end
  if type(tag) == "function" and fn == nil then
    tag, fn = nil, tag
  end
  if tag ~= nil and type(tag) ~= "number" then
    argerror(3, tag, "nil or number or integer or function")
  end
  if fn ~= nil and type(fn) ~= "function" then
    argerror(4, fn, "nil or function")
  end
  tag = tag == nil and -1 or check_int(tag, 3)
  if fn then
    self.wcb = fn
  end
  if data == "" then
    return self
  end
  local conns = targets(self)
  for i = 1, #conns do
    queue_write(conns[i], data, tag, self.timeout)
  end
  return self
end
Socket.send = Socket.write

function Socket:setCallback(fn, ...)
  check_self(self, 2, ...)
  if fn ~= nil and type(fn) ~= "function" then
    argerror(2, fn, "nil or function")
  end
  self.cb = fn
  return self
end

function Socket:setTimeout(t, ...)
  check_self(self, 2, ...)
  if type(t) ~= "number" then
    argerror(2, t, "number")
  end
  self.timeout = t
  return self
end

--- rlua-net: the read buffer limit of this socket (decision 6).
function Socket:setReadBufferLimit(bytes, ...)
  check_self(self, 2, ...)
  if math_type(bytes) ~= "integer" or bytes < 1 then
    error("ERROR: the read buffer limit must be a positive integer", 2)
  end
  self.limit = bytes
  return self
end

function Socket:connected(...)
  check_self(self, 1, ...)
  if self.mode == "server" then
    return #self.clients > 0
  end
  return self.mode == "client" and self.conn.state == "connected"
end

function Socket:connections(...)
  check_self(self, 1, ...)
  if self.mode == "server" then
    return #self.clients
  end
  return self:connected() and 1 or 0
end

-- One client context per kind of verification, built on first use (decision 7).
local contexts = {}
local CONTEXT_OPTIONS = {
  chain = { verify = true, verify_name = false, sni = false },
  name = { verify = true, verify_name = true },
  none = { verify = false, verify_name = false, sni = false },
}
local function tls_context(kind)
  local ctx = contexts[kind]
  if ctx == nil then
    local msg
    ctx, msg = core.tls_client(CONTEXT_OPTIONS[kind])
    if not ctx then
      return nil, msg
    end
    contexts[kind] = ctx
  end
  return ctx
end

--- startTLS() checks the chain, startTLS("name") the chain and the name (also sent as SNI),
--- startTLS(false) nothing; startTLS(true) is the default.
function Socket:startTLS(...)
  check_self(self, 2, select(2, ...))
  local how = ...
  local kind = "chain"
  if how == false then
    kind = "none"
  elseif type(how) == "string" then
    kind = "name"
  elseif how ~= nil and how ~= true then
    argerror(2, how, "nil or string or boolean")
  end
  local conn = self.conn
  if self.mode == "server" then
    log().e("Unable to start TLS: only client sockets can start TLS")
    return self
  elseif self.mode ~= "client" or conn.state == "closed" then
    log().e("Unable to start TLS: the socket is not connected")
    return self
  elseif conn.held or conn.secure then
    return self -- already queued or done: ignored, as upstream
  end
  local ctx, msg = tls_context(kind)
  if not ctx then
    log().e("Unable to start TLS: " .. tostring(msg))
    return self
  end
  conn.held = {}
  conn.reads[#conn.reads + 1] = { tls = true, ctx = ctx, name = kind == "name" and how or nil, timeout = self.timeout }
  schedule(conn)
  return self
end

function Socket:info(...)
  check_self(self, 1, ...)
  local i = {
    connectedAddress = "", connectedHost = "", connectedPort = 0, connectedURL = "",
    connections = self:connections(), isConnected = false, isDisconnected = self.mode == nil,
    isIPv4 = false, isIPv4Enabled = true, isIPv4PreferredOverIPv6 = true, isIPv6 = false,
    isIPv6Enabled = true, isSecure = false, localAddress = "", localHost = "", localPort = 0,
    timeout = self.timeout + 0.0, unixSocketPath = "", userData = self.userData,
  }
  if self.mode == "server" then
    if self.path then
      i.unixSocketPath = self.path
    else
      i.localHost, i.localPort = "0.0.0.0", self.port
      i.localAddress = sockaddr("0.0.0.0", self.port)
      i.isIPv4, i.isIPv6 = true, self.listeners[2] ~= nil
    end
  elseif self.mode == "client" then
    local conn = self.conn
    if conn.path then
      i.unixSocketPath, i.connectedURL = conn.path, conn.path
    end
    if conn.state == "connected" then
      i.isConnected, i.isSecure = true, conn.secure == true
      if not conn.path then
        local ip, port = conn.stream:peer_addr()
        local lip, lport = conn.stream:local_addr()
        i.connectedHost, i.connectedPort = ip or "", port or 0
        i.connectedAddress = sockaddr(ip, port)
        i.localHost, i.localPort = lip or "", lport or 0
        i.localAddress = sockaddr(lip, lport)
        local v6 = type(ip) == "string" and ip:find(":", 1, true) ~= nil
        i.isIPv4, i.isIPv6 = not v6, v6
      end
    end
  end
  return i
end

mt.__tostring = function(self)
  local i = self:info()
  local where
  if i.unixSocketPath ~= "" then
    where = i.unixSocketPath
  elseif self.mode == "server" then
    where = i.localHost .. ":" .. i.localPort
  elseif i.connectedHost ~= "" then
    where = i.connectedHost .. ":" .. i.connectedPort
  else
    where = "(null):0"
  end
  return ("%s: %s (%p)"):format(self.mode == "server" and "hs.socket(server)" or "hs.socket", where, self)
end

function M.parseAddress(sa, ...)
  if select("#", ...) > 0 then
    S.too_many(1, ...)
  end
  return S.parse_sockaddr(sa)
end
-- hs.socket.udp loads on first use.
setmetatable(M, {
  __index = function(t, k)
    if k == "udp" then
      local udp = require "hammerspoon.udp"
      rawset(t, "udp", udp)
      return udp
    end
  end,
})

function M.setLogLevel(lvl)
  log().setLogLevel(lvl)
end

function M.getLogLevel()
  return log().getLogLevel()
end

return M
