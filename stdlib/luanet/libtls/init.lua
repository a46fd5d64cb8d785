-- `libtls` of the luanet dialect: mah0x211's lua-libtls contexts (the seed-era surface,
-- ≤ 3.4.1-2: errors are strings, `sendfile` is present) on the runtime's TLS (native-tls).
--
--   local libtls = require "libtls"
--   local config = require "libtls.config"
--   local cfg = config.new()
--   cfg:set_ca_file("ca.pem")
--   local ctx = assert(libtls.client(cfg))
--   assert(ctx:connect("example.com", "443"))   -- or "example.com:443"
--   ctx:write("GET / HTTP/1.0\r\n\r\n")
--   local body = ctx:read()                    -- str | nothing (EOF) | nil, err
--   ctx:close()
--
-- Blocking and non-blocking use. Every socket of the runtime is non-blocking, so what a
-- context does when the network is not ready depends on who made its socket:
--
-- * connect(host [, port]) and connect_servername(...) make the socket themselves, as
--   libtls does (a blocking socket there): handshake/read/write/sendfile/close wait until
--   they are done. On the main chunk the wait runs the event loop (timers and other
--   sockets keep going); inside a task or coroutine it yields to the loop.
-- * connect_socket(fd), connect_fds(fd, fd), accept_socket(fd) and accept_fds(fd, fd)
--   use a socket the script made (a lua-net socket's fd(), a NodeMCU socket's
--   descriptor, any runtime stream): like libtls on a non-blocking descriptor they never
--   wait, and report `again` with the direction to wait for: read gives
--   `nil, nil, true, want`, write/sendfile `n, nil, true, want`, handshake
--   `false, nil, want`, close `false, nil, want` (want: libtls.WANT_POLLIN = -2 or
--   libtls.WANT_POLLOUT = -3).
--
-- A descriptor is looked up among the runtime's sockets (core.object); the context then
-- reads and writes that stream itself (a NodeMCU socket stops getting `receive` events).
-- A socket descriptor the runtime did not make is adopted (core.wrap: made non-blocking,
-- closed when the context is collected). close() on such a context sends close_notify
-- but leaves the socket open, as libtls does; on a context that connect() made, it also
-- closes the socket.
--
-- What native-tls cannot report: conn_version() (only when the protocols allow a single
-- version), conn_cipher() (nothing), conn_cipher_strength() (-1), peer_cert_chain_pem()
-- (the peer's certificate only, not the chain), conn_session_resumed() (always false),
-- OCSP (every ocsp function gives its error value with "OCSP is not supported by the
-- platform TLS library"). A server cannot request client certificates. See docs/luanet.md.

local CANONICAL = "luanet.libtls"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local I = require "luanet.libtls.internal"
local config = require "luanet.libtls.config"
local T = require "luanet.net.tls.internal"

local type, select, setmetatable, tostring, ipairs, tointeger = type, select, setmetatable, tostring, ipairs,
  math.tointeger
local format, sub, match, find = string.format, string.sub, string.match, string.find
local min = math.min

local WANT_POLLIN, WANT_POLLOUT = -2, -3
local BUFSIZ = 8192
-- sendfile reads the file in pieces of at most this many bytes.
local CHUNK = 65536
-- Enough for any ClientHello the core's server-name peek reads.
local PEEK_SIZE = 16384
local MSG_PEEK = core.constants.MSG_PEEK

local CLOSED = "the TLS connection is closed"
local NOT_CONNECTED = "context is not connected"

local M = {
  WANT_POLLIN = WANT_POLLIN,
  WANT_POLLOUT = WANT_POLLOUT,
  TLS_v10 = I.TLS_v10,
  TLS_v11 = I.TLS_v11,
  TLS_v12 = I.TLS_v12,
  TLS_v13 = I.TLS_v13,
  TLS_v1x = I.TLS_v1x,
  TLS_DEFAULT = I.TLS_DEFAULT,
  TLS_API = 20200120,
  MAX_SESSION_ID_LENGTH = 32,
  TICKET_KEY_SIZE = 48,
  -- RFC 6960 2.2
  OCSP_CERT_GOOD = 0,
  OCSP_CERT_REVOKED = 1,
  OCSP_CERT_UNKNOWN = 2,
  -- RFC 6960 2.3
  OCSP_RESPONSE_SUCCESSFUL = 0,
  OCSP_RESPONSE_MALFORMED = 1,
  OCSP_RESPONSE_INTERNALERROR = 2,
  OCSP_RESPONSE_TRYLATER = 3,
  OCSP_RESPONSE_SIGREQUIRED = 4,
  OCSP_RESPONSE_UNAUTHORIZED = 5,
  -- RFC 5280 5.3.1
  CRL_REASON_UNSPECIFIED = 0,
  CRL_REASON_KEY_COMPROMISE = 1,
  CRL_REASON_CA_COMPROMISE = 2,
  CRL_REASON_AFFILIATION_CHANGED = 3,
  CRL_REASON_SUPERSEDED = 4,
  CRL_REASON_CESSATION_OF_OPERATION = 5,
  CRL_REASON_CERTIFICATE_HOLD = 6,
  CRL_REASON_REMOVE_FROM_CRL = 8,
  CRL_REASON_PRIVILEGE_WITHDRAWN = 9,
  CRL_REASON_AA_COMPROMISE = 10,
}

-- Context state, by context object.
local S = setmetatable({}, { __mode = "k" })

local Ctx = {}
local MT = { __index = Ctx, __name = "libtls" }
MT.__tostring = function(self)
  local st = S[self]
  return "libtls: " .. (st and st.addr or "0x0")
end

-- Methods check self and their arguments (I.check specs, plus "posint" and "fdfile"
-- here), then run fn(state, ...).
local function check_extra(fname, spec, n, ...)
  for i = 1, #spec do
    local kind, v = spec[i], (select(i, ...))
    if kind == "?posint" and v ~= nil then
      if type(v) ~= "number" or tointeger(v) == nil or v < 1 then
        I.argerror(fname, i, "positive integer expected, got " .. (i > n and "no value" or
          (type(v) == "number" and tostring(v) or I.typename(v))), 3)
      end
    elseif kind == "fdfile" then
      if not I.is_file(v) and not (type(v) == "number" and tointeger(v) ~= nil) then
        I.argerror(fname, i, "integer or file expected, got " .. (i > n and "no value" or I.typename(v)), 3)
      end
    end
  end
end

local function def(name, spec, fn)
  Ctx[name] = function(self, ...)
    I.self_check(self, MT, name)
    local n = select("#", ...)
    I.check(name, spec, n, ...)
    check_extra(name, spec, n, ...)
    return fn(S[self], ...)
  end
end

local function new_ctx(st)
  local ctx = {}
  st.addr = I.address(ctx)
  setmetatable(ctx, MT)
  S[ctx] = st
  return ctx
end

---------------------------------------------------------------------------------------------
-- Building the core contexts from a config

-- protocols → min, max version names for the core.
local function versions(mask)
  local lo, hi
  for _, v in ipairs(I.VERSIONS) do
    if mask & v[1] ~= 0 then
      lo = lo or v[2]
      hi = v[2]
    end
  end
  return lo, hi
end

-- The core connector of a client context for one combination of switches (made once).
local function connector(st, verify, verify_name, sni)
  local key = (verify and "v" or "-") .. (verify_name and "n" or "-") .. (sni and "s" or "-")
  local c = st.connectors[key]
  if c then
    return c
  end
  local opts = {
    verify = verify,
    verify_name = verify_name,
    sni = sni,
    alpn = st.cfg.alpn,
    min = st.min,
    max = st.max ~= "1.3" and st.max or nil,
    cert = st.cfg.keypairs[1].cert,
    key = st.cfg.keypairs[1].key,
  }
  if st.cfg.ca then
    opts.ca = st.cfg.ca
    opts.ca_only = true
  end
  local msg
  c, msg = T.core_call(core.tls_client, opts)
  if not c then
    return nil, tostring(msg)
  end
  st.connectors[key] = c
  return c
end

local function make_client(cfg)
  if cfg.require_stapling then
    return nil, I.OCSP_UNSUPPORTED .. " (ocsp_require_stapling)"
  elseif cfg.verify_cert and not cfg.verify_time then
    return nil, I.unsupported("skipping only the validity dates (insecure_noverifytime without " ..
      "insecure_noverifycert) is")
  end
  local kp = cfg.keypairs[1]
  if (kp.cert == nil) ~= (kp.key == nil) then
    return nil, kp.cert and "client certificate without a private key" or "private key without a certificate"
  end
  local st = { kind = "client", cfg = cfg, connectors = {} }
  st.min, st.max = versions(cfg.protocols)
  -- Build one now, so that a bad CA or keypair is reported here.
  local c, err = connector(st, cfg.verify_cert, cfg.verify_cert and cfg.verify_name, true)
  if not c then
    return nil, err
  end
  return st
end

-- native-tls accepts a certificate whose key does not match it (OpenSSL then drops the
-- key, and every handshake fails later). libtls refuses such a keypair when configuring,
-- so check it here: one handshake with the acceptor over a socket pair, in memory.
-- true, or nil, err.
local function probe(acceptor, lo, hi)
  local cli, msg = T.core_call(core.tls_client, { verify = false, sni = false, min = lo, max = hi })
  if not cli then
    return nil, tostring(msg)
  end
  local a, b = core.socketpair()
  local ok, err = a:starttls(cli, "")
  if ok then
    ok, err = b:starttls(acceptor)
  end
  local result
  for _ = 1, 100 do
    if not ok then
      break
    end
    local ra, ma = a:handshake()
    local rb, mb = b:handshake()
    if rb == nil or ra == nil then
      ok, err = nil, rb == nil and mb or ma
    elseif ra and rb then
      result = true
      break
    end
  end
  a:close()
  b:close()
  if result or ok then
    return true -- done, or no verdict (which is not a failure)
  end
  return nil, "the server certificate and private key do not work together (private/public key mismatch?): " ..
    tostring(err)
end

local function make_server(cfg)
  if cfg.verify_client then
    return nil, I.unsupported("verifying client certificates (verify_client" ..
      (cfg.verify_client == "optional" and "_optional" or "") .. ") is")
  end
  local lo, hi = versions(cfg.protocols)
  local acceptors = {}
  for i, kp in ipairs(cfg.keypairs) do
    if kp.cert == nil then
      return nil, i == 1 and "no server certificate (set_keypair_file, or set_cert_file and set_key_file)"
        or "keypair without a certificate"
    elseif kp.key == nil then
      return nil, "no private key for the server certificate"
    end
    local a, msg = T.core_call(core.tls_server, {
      cert = kp.cert,
      key = kp.key,
      alpn = cfg.alpn,
      min = lo,
      max = hi ~= "1.3" and hi or nil,
    })
    if not a then
      return nil, tostring(msg)
    end
    local pok, perr = probe(a, lo, hi ~= "1.3" and hi or nil)
    if not pok then
      return nil, perr
    end
    local der = I.certificates(kp.cert)[1]
    local info = der and core.x509_info(der)
    acceptors[i] = { acceptor = a, info = info }
  end
  return { kind = "server", cfg = cfg, acceptors = acceptors, min = lo, max = hi }
end

local function new_lua(fname, make, ...)
  local n = select("#", ...)
  local cfg = ...
  if not config.is_config(cfg) then
    I.argerror(fname, 1, "libtls.config expected, got " .. (n == 0 and "no value" or I.typename(cfg)), 3)
  end
  local st, err = make(config.snapshot(cfg))
  if not st then
    return nil, err
  end
  return new_ctx(st)
end

--- client(cfg): a client context, or nil, err.
function M.client(...)
  local ctx, err = new_lua("client", make_client, ...)
  if not ctx then
    return nil, err
  end
  return ctx
end

--- server(cfg): a server context, or nil, err.
function M.server(...)
  local ctx, err = new_lua("server", make_server, ...)
  if not ctx then
    return nil, err
  end
  return ctx
end

---------------------------------------------------------------------------------------------
-- Sockets

-- The runtime stream behind descriptor fd: the socket of another dialect (core.object),
-- or a socket descriptor adopted now. nil, err if there is none.
local function stream_of(fd)
  local obj = core.object(fd)
  if obj == nil then
    local msg
    obj, msg = core.wrap(fd)
    if obj == nil then
      return nil, format("descriptor %d: %s", fd, tostring(msg))
    end
  end
  local kind = match(tostring(obj), "^rluanet%.(%a+)")
  if kind ~= "stream" then
    return nil, format("descriptor %d is not a connected stream socket", fd)
  elseif obj:fd() == -1 then
    return nil, format("descriptor %d: socket is closed", fd)
  end
  -- From now on this context reads the stream, not whoever watched it before.
  obj:watch("off")
  return obj
end

-- The port of `port` (a decimal string or a service name), or nil, err.
local function service(port)
  if find(port, "^%d+$") then
    local n = tointeger(tonumber(port))
    if n and n <= 65535 then
      return n
    end
  elseif port ~= "" then
    local n = core.getservbyname(port, "tcp")
    if n then
      return n
    end
  end
  return nil, "Servname not supported for ai_socktype"
end

-- Connects to host:port (every address of host in turn), waiting: stream, or nil, err.
local function dial(host, port)
  local ips
  if core.is_ip(host) then
    ips = { host }
  else
    local sig = core.signal()
    local ok, msg = core.resolve(host, function(list, m)
      sig:set(list, m)
    end, "any")
    if not ok then
      return nil, tostring(msg)
    end
    if not sig:is_set() then
      core.wait(sig, "r")
    end
    local list, m = sig:get()
    if not list or #list == 0 then
      return nil, tostring(m or "no address for " .. host)
    end
    ips = list
  end
  local last
  for _, ip in ipairs(ips) do
    local s, msg = core.connect(ip, port)
    if s then
      local r, cmsg = s:connected()
      while r == false do
        if core.wait(s, "w") == nil then
          break
        end
        r, cmsg = s:connected()
      end
      if r then
        return s
      end
      s:close()
      msg = cmsg
    end
    last = msg
  end
  return nil, "connect: " .. tostring(last or "no address")
end

-- The direction TLS last blocked on, as WANT_POLLIN/WANT_POLLOUT.
local function want_of(sock, default)
  local w = sock:tls_want()
  if w == "w" then
    return WANT_POLLOUT
  elseif w == "r" then
    return WANT_POLLIN
  end
  return default
end

-- Waits (a context that made its own socket) until the socket is ready for `want`.
local function await(st, want)
  local ok, msg = core.wait(st.sock, want == WANT_POLLOUT and "w" or "r")
  if ok then
    return true
  end
  return nil, msg == "closed" and "socket is closed" or tostring(msg or "wait failed")
end

---------------------------------------------------------------------------------------------
-- Handshake

-- Starts TLS on the socket: "started", "wait" (the server still waits for the client's
-- hello), or nil, err.
local function start(st)
  local sock = st.sock
  if sock:fd() == -1 then
    return nil, "socket is closed"
  elseif sock:is_tls() then
    return nil, "TLS is already running on this socket"
  end
  if st.kind == "client" then
    local cfg, name = st.cfg, st.servername
    if name == nil and cfg.verify_name then
      return nil, "server name not specified"
    end
    local verify = cfg.verify_cert
    local c, err = connector(st, verify, verify and cfg.verify_name and name ~= nil, name ~= nil)
    if not c then
      return nil, err
    end
    local ok, msg = sock:starttls(c, name)
    if not ok then
      return nil, tostring(msg)
    end
    st.started = true
    return "started"
  end
  -- A server connection: look at the client's hello (not consuming it) for the server
  -- name, which picks the keypair and is conn_servername().
  local acceptors = st.server.acceptors
  local chosen = acceptors[1].acceptor
  local data, rmsg = sock:recv(PEEK_SIZE, MSG_PEEK)
  if data == false then
    return "wait"
  elseif data == nil and rmsg ~= nil then
    return nil, tostring(rmsg)
  elseif data ~= nil then
    local sn, msg = sock:peek_servername()
    if sn == false then
      -- Only part of the hello: the socket stays readable, so pause (a little longer
      -- each time nothing more came) rather than spin.
      if #data <= (st.peeked or 0) then
        st.pause = st.pause and st.pause * 2 or 0.002
        core.sleep(st.pause < 0.05 and st.pause or 0.05)
      else
        st.pause = nil
      end
      st.peeked = #data
      return "wait"
    elseif sn == nil and msg ~= nil then
      return nil, tostring(msg)
    elseif type(sn) == "string" and not core.is_ip(sn) then
      st.sni = sn
      for i = 2, #acceptors do
        local info = acceptors[i].info
        if info and I.cert_has_name(info, sn) then
          chosen = acceptors[i].acceptor
          break
        end
      end
    end
  end
  local ok, msg = sock:starttls(chosen)
  if not ok then
    return nil, tostring(msg)
  end
  st.started = true
  return "started"
end

-- What a finished handshake tells: ALPN, the peer's certificate. A client that skipped
-- the certificate check still checks the name (as libtls does): nil, err if it fails.
local function finish(st)
  local info = st.sock:tls_info() or {}
  st.alpn = info.alpn
  st.peer_der = info.peer_certificate
  if st.peer_der then
    st.peer = core.x509_info(st.peer_der)
  end
  local cfg, name = st.cfg, st.servername
  if st.kind == "client" and not cfg.verify_cert and cfg.verify_name and name ~= nil then
    if not (st.peer and I.cert_has_name(st.peer, name)) then
      return nil, format("name `%s' not present in server certificate", name)
    end
  end
  return true
end

-- One step: true, or false, err, or false, nil, want.
local function step(st)
  if st.done then
    return true
  elseif st.err then
    return false, st.err
  elseif st.kind == "server" then
    return false, "invalid operation for context"
  elseif not st.sock then
    return false, NOT_CONNECTED
  elseif st.closed then
    return false, CLOSED
  end
  local sock = st.sock
  if not st.started then
    local state, err = start(st)
    if state == nil then
      st.err = err
      return false, err
    elseif state == "wait" then
      return false, nil, WANT_POLLIN
    end
  end
  local r, msg = sock:handshake()
  if r == false then
    return false, nil, want_of(sock, st.kind == "client" and WANT_POLLOUT or WANT_POLLIN)
  elseif r == nil then
    st.err = tostring(msg)
    return false, st.err
  end
  local ok, err = finish(st)
  if not ok then
    st.err = err
    return false, err
  end
  st.done = true
  return true
end

-- The handshake, waiting for the network on a context that made its own socket.
local function handshake(st)
  while true do
    local ok, err, want = step(st)
    if ok then
      return true
    elseif err then
      return false, err
    elseif not st.blocking then
      return false, nil, want
    end
    local w, werr = await(st, want)
    if not w then
      st.err = werr
      return false, werr
    end
  end
end

---------------------------------------------------------------------------------------------
-- Connecting and accepting

local function connected_already(st)
  if st.kind ~= "client" then
    return "not a client context"
  elseif st.sock then
    return "context already connected (reset() it first)"
  end
end

local function attach(st, sock, servername, own)
  st.sock, st.servername, st.own, st.blocking = sock, servername, own, own
  st.started, st.done, st.err, st.closed, st.shut = nil, nil, nil, nil, nil
end

-- connect_servername's work: host (with ":port" when port is nil), servername (nil: the
-- host).
local function connect(st, host, port, servername)
  local bad = connected_already(st)
  if bad then
    return false, bad
  end
  local h = host
  if port == nil then
    local v6, p6 = match(host, "^%[([^%]]*)%]:?(.*)$")
    if v6 then
      h, port = v6, p6 ~= "" and p6 or nil
    else
      local hh, pp = match(host, "^(.*):([^:]*)$")
      if hh then
        h, port = hh, pp
      end
    end
    if port == nil then
      return false, "no port provided"
    end
  else
    port = tostring(port)
  end
  local pnum, perr = service(port)
  if not pnum then
    return false, perr
  end
  local sock, err = dial(h, pnum)
  if not sock then
    return false, err
  end
  attach(st, sock, servername or h, true)
  return true
end

--- ctx:connect(host [, port]): connects and prepares TLS (the handshake happens on
--- handshake() or the first read/write): true, or false, err.
def("connect", { "string", "?strnum" }, function(st, host, port)
  return connect(st, host, port, nil)
end)

--- ctx:connect_servername(host [, port [, servername]])
def("connect_servername", { "string", "?strnum", "?string" }, function(st, host, port, servername)
  return connect(st, host, port, servername)
end)

--- ctx:connect_socket(fd [, servername]): TLS on an existing connection.
def("connect_socket", { "integer", "?string" }, function(st, fd, servername)
  local bad = connected_already(st)
  if bad then
    return false, bad
  end
  local sock, err = stream_of(fd)
  if not sock then
    return false, err
  end
  attach(st, sock, servername, false)
  return true
end)

local SPLIT_FDS = I.unsupported("separate read and write descriptors are")

--- ctx:connect_fds(fdr, fdw [, servername]): both must be the same socket.
def("connect_fds", { "integer", "integer", "?string" }, function(st, fdr, fdw, servername)
  local bad = connected_already(st)
  if bad then
    return false, bad
  elseif fdr ~= fdw then
    return false, SPLIT_FDS
  end
  local sock, err = stream_of(fdr)
  if not sock then
    return false, err
  end
  attach(st, sock, servername, false)
  return true
end)

local function accept(st, fd)
  if st.kind ~= "server" then
    return nil, "not a server context"
  end
  local sock, err = stream_of(fd)
  if not sock then
    return nil, err
  end
  local cst = { kind = "conn", cfg = st.cfg, server = st, min = st.min, max = st.max }
  attach(cst, sock, nil, false)
  return new_ctx(cst)
end

--- ctx:accept_socket(fd): a connection context for the client on socket fd, or nil, err.
def("accept_socket", { "integer" }, function(st, fd)
  return accept(st, fd)
end)

--- ctx:accept_fds(fdr, fdw): both must be the same socket.
def("accept_fds", { "integer", "integer" }, function(st, fdr, fdw)
  if st.kind ~= "server" then
    return nil, "not a server context"
  elseif fdr ~= fdw then
    return nil, SPLIT_FDS
  end
  return accept(st, fdr)
end)

---------------------------------------------------------------------------------------------
-- I/O

--- ctx:handshake(): true, or false, err, or false, nil, want. Once done, libtls answers
--- false, "handshake already completed".
def("handshake", {}, function(st)
  if st.done then
    return false, "handshake already completed"
  end
  return handshake(st)
end)

-- The handshake before I/O: true, or nil, err, or nil, nil, want.
local function ready(st)
  if st.done then
    if st.closed or st.shut then
      return nil, CLOSED
    end
    return true
  end
  local ok, err, want = handshake(st)
  if ok then
    return true
  end
  return nil, err, want
end

--- ctx:read([bufsize]): up to bufsize (BUFSIZ) bytes: str, or nothing once the peer
--- closed, or nil, err, or nil, nil, true, want.
def("read", { "?posint" }, function(st, n)
  n = n or BUFSIZ
  local ok, err, want = ready(st)
  if not ok then
    if err then
      return nil, err
    end
    return nil, nil, true, want
  end
  local sock = st.sock
  while true do
    local s, msg = sock:read(n)
    if s then
      return s
    elseif s == nil then
      if msg == nil then
        return -- closed by the peer
      end
      return nil, tostring(msg)
    end
    want = want_of(sock, WANT_POLLIN)
    if not st.blocking then
      return nil, nil, true, want
    end
    local w, werr = await(st, want)
    if not w then
      return nil, werr
    end
  end
end)

-- Sends data: the bytes sent, [err], [want when it stopped short]. A context that made
-- its own socket sends it all (or fails).
local function send_data(st, data)
  local sock, total = st.sock, 0
  while true do
    local n, msg = sock:send(total == 0 and data or sub(data, total + 1))
    if n == nil then
      return total, tostring(msg)
    end
    total = total + n
    if total >= #data then
      return total
    end
    local want = want_of(sock, WANT_POLLOUT)
    if not st.blocking then
      return total, nil, want
    end
    local ok, werr = await(st, want)
    if not ok then
      return total, werr
    end
  end
end

--- ctx:write(msg): the bytes written (all of msg), or n, nil, true, want when only n
--- (maybe 0) could go now, or nil, err.
def("write", { "string" }, function(st, msg)
  local ok, err, want = ready(st)
  if not ok then
    if err then
      return nil, err
    end
    return 0, nil, true, want
  end
  if #msg == 0 then
    return 0
  end
  local n, werr, wwant = send_data(st, msg)
  if werr then
    if n > 0 then
      return n, nil, true, WANT_POLLOUT -- the error comes with the next call
    end
    return nil, werr
  elseif n < #msg then
    return n, nil, true, wwant
  end
  return n
end)

-- pread: n bytes of f (an fd or a file handle) at offset, without moving its position:
-- data ("" at the end of the file), or nil, err.
local function pread(f, n, offset)
  local h, opened = f, false
  if type(f) == "number" then
    local msg
    h, msg = io.open("/dev/fd/" .. tointeger(f), "rb")
    if not h then
      return nil, match(tostring(msg), "^.-: (.*)$") or tostring(msg)
    end
    opened = true
  end
  local pos, perr = h:seek()
  if pos == nil then
    if opened then
      h:close()
    end
    return nil, tostring(perr)
  end
  local data, rerr
  local ok, serr = h:seek("set", offset)
  if ok then
    data, rerr = h:read(n)
  else
    rerr = serr
  end
  h:seek("set", pos)
  if opened then
    h:close()
  end
  if data == nil then
    if rerr ~= nil then
      return nil, tostring(rerr)
    end
    return ""
  end
  return data
end

--- ctx:sendfile(f, bytes [, offset]): sends `bytes` bytes of file f (a descriptor or a
--- Lua file) from offset (0), leaving the file's position alone: len, or len, nil, true,
--- want when the socket took less than what was read (call again from offset + len), or
--- fewer bytes at the end of the file; 0 at the end; nil, err.
def("sendfile", { "fdfile", "integer", "?integer" }, function(st, f, bytes, offset)
  offset = offset or 0
  if bytes < 1 or offset < 0 then
    return nil, I.strerror("EINVAL")
  end
  local ok, err, want = ready(st)
  if not ok then
    if err then
      return nil, err
    end
    return 0, nil, true, want
  end
  local sent = 0
  while sent < bytes do
    local data, rerr = pread(f, min(CHUNK, bytes - sent), offset + sent)
    if data == nil then
      if sent > 0 then
        return sent, nil, true, WANT_POLLOUT -- the error comes with the next call
      end
      return nil, rerr
    elseif #data == 0 then
      break -- the end of the file
    end
    local n, werr, wwant = send_data(st, data)
    sent = sent + n
    if werr then
      if sent > 0 then
        return sent, nil, true, WANT_POLLOUT
      end
      return nil, werr
    elseif n < #data then
      return sent, nil, true, wwant
    end
  end
  return sent
end)

--- ctx:close(): sends close_notify (once the handshake was done) and, on a context
--- that made its own socket, closes it: true, or false, err, or false, nil, want.
def("close", {}, function(st)
  local sock = st.sock
  if st.kind == "server" or not sock then
    return true
  end
  local err
  if st.done and not st.shut and sock:fd() ~= -1 then
    local r, msg = sock:tls_shutdown()
    while r == false do
      if not st.blocking then
        return false, nil, want_of(sock, WANT_POLLOUT)
      end
      local ok, werr = await(st, WANT_POLLOUT)
      if not ok then
        r, msg = nil, werr
        break
      end
      r, msg = sock:tls_shutdown()
    end
    if r == nil then
      err = tostring(msg)
    end
    st.shut = true
  end
  st.closed = true
  if st.own then
    sock:close()
  end
  if err then
    return false, err
  end
  return true
end)

--- ctx:reset(): forgets the connection (closing a socket connect() made, without
--- close_notify); the context keeps its configuration and can connect again.
def("reset", {}, function(st)
  if st.own and st.sock then
    st.sock:close()
  end
  st.sock, st.servername, st.own, st.blocking = nil, nil, nil, nil
  st.started, st.done, st.err, st.closed, st.shut = nil, nil, nil, nil, nil
  st.alpn, st.peer_der, st.peer, st.sni, st.peeked, st.pause = nil, nil, nil, nil, nil, nil
end)

---------------------------------------------------------------------------------------------
-- Connection and peer information

local function peer(st)
  return st.done and st.peer or nil
end

def("peer_cert_provided", {}, function(st)
  return st.done == true and st.peer_der ~= nil
end)

def("peer_cert_contains_name", { "string" }, function(st, name)
  local p = peer(st)
  return p ~= nil and I.cert_has_name(p, name)
end)

local function field(name)
  return function(st)
    local p = peer(st)
    if p and p[name] then
      return p[name]
    end
  end
end

def("peer_cert_hash", {}, field("hash"))
def("peer_cert_issuer", {}, field("issuer"))
def("peer_cert_subject", {}, field("subject"))

def("peer_cert_notbefore", {}, function(st)
  local p = peer(st)
  return p and p.notbefore or -1
end)

def("peer_cert_notafter", {}, function(st)
  local p = peer(st)
  return p and p.notafter or -1
end)

def("peer_cert_chain_pem", {}, function(st)
  local p = peer(st)
  if p and p.pem then
    return p.pem
  end
  return nil, "no peer certificate"
end)

local VERSION_NAMES = { ["1.0"] = "TLSv1", ["1.1"] = "TLSv1.1", ["1.2"] = "TLSv1.2", ["1.3"] = "TLSv1.3" }

def("conn_version", {}, function(st)
  -- native-tls does not say; only a single allowed version is certain.
  if st.done and st.min ~= nil and st.min == st.max then
    return VERSION_NAMES[st.min]
  end
end)

def("conn_cipher", {}, function() end)

def("conn_cipher_strength", {}, function()
  return -1
end)

def("conn_alpn_selected", {}, function(st)
  if st.done and st.alpn then
    return st.alpn
  end
end)

def("conn_servername", {}, function(st)
  if st.kind == "client" and st.sock then
    return st.servername
  elseif st.kind == "conn" and st.sni then
    return st.sni
  end
end)

def("conn_session_resumed", {}, function()
  return false
end)

---------------------------------------------------------------------------------------------
-- OCSP: not available with native-tls

local OCSP = I.OCSP_UNSUPPORTED

def("ocsp_process_response", { "string" }, function()
  return false, OCSP
end)

for _, name in ipairs({ "peer_ocsp_cert_status", "peer_ocsp_crl_reason", "peer_ocsp_next_update",
  "peer_ocsp_response_status", "peer_ocsp_result", "peer_ocsp_revocation_time", "peer_ocsp_this_update",
  "peer_ocsp_url" }) do
  def(name, {}, function()
    return nil, OCSP
  end)
end

package.loaded[CANONICAL] = M
return M
