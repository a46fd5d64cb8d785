-- `net.tls.context` of the luanet dialect (lua-net v0.41): TLS on one connected stream,
-- non-blocking, as the net.tls socket classes drive it.
--
--   local context = require "net.tls.context"
--   local ctx, err = context.connect(client_ctx, sock, "www.example.com",
--                                    noverify_name, noverify_time, noverify_cert)
--   local ctx, err = context.accept(server_ctx, sock)
--   ok, err, want = ctx:handshake()   -- true | false, nil, want | false, err | false
--                                     -- (false alone: the peer left before its hello)
--   s, err, want = ctx:read([n])      -- str | nil, nil, want | nil, err | nothing (EOF)
--   n, err, want = ctx:write(s)       -- n [, nil, WANT_WRITE] | 0, nil, want | nil, err |
--                                     -- nothing (the peer left before the handshake)
--   ok, err, want = ctx:close()       -- true
--   ctx:get_alpn()                    -- the negotiated protocol, or nothing
--   context.encrypted_length("tlsv1.2")    -- 17749
--   context.WANT_READ, context.WANT_WRITE  -- 2, 3
--
-- `sock` is the stream's socket object: the `sock` field of a net.* socket (a runtime
-- stream), the net.* socket itself, or the descriptor of a stream that a net.tls socket
-- already uses. Upstream takes any descriptor; here the runtime owns every descriptor, so
-- a descriptor nobody handed to net.tls gives nil, EBADF (pass the object instead).
--
-- The TLS session starts on the first handshake() (or read/write), not in connect/accept.
-- A server context with an SNI callback first peeks at the client's hello for the host
-- name, then starts with the context the callback chose. If the callback raises (or
-- returns something else than a server context or nil), the handshake fails and the
-- connection is shut down, so the client sees it end.
-- use_bio and bufcap are accepted: the runtime's TLS streams need no memory BIOs; get_bio()
-- returns a placeholder object when use_bio was asked.

local CANONICAL = "luanet.net.tls.context"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local T = require "luanet.net.tls.internal"
local I = require "luanet.net.internal"
require "luanet.net.tls.client"
require "luanet.net.tls.server"

local type, error, setmetatable, tostring, rawget = type, error, setmetatable, tostring, rawget
local format = string.format
local is_uint = I.is_uint

local WANT_READ, WANT_WRITE = 2, 3
local BUFSIZ = 8192
local MSG_PEEK = core.constants.MSG_PEEK
-- Enough for any ClientHello the core's server-name peek reads.
local PEEK_SIZE = 16384

local M = { WANT_READ = WANT_READ, WANT_WRITE = WANT_WRITE }

-- Streams that a net.tls connection uses, by descriptor (for connect/accept on an fd).
local BY_FD = setmetatable({}, { __mode = "v" })

--- remember(sock): lets connect/accept find a stream by its descriptor.
function M.remember(sock)
  local fd = sock:fd()
  if fd ~= -1 then
    BY_FD[fd] = sock
  end
end

-- The runtime stream that `v` names (a stream, a net.* socket, or a known descriptor);
-- nil, err if none.
local function stream_of(v, fname)
  if I.kind(v) == "stream" then
    return v
  elseif type(v) == "table" and I.kind(rawget(v, "sock")) == "stream" then
    return rawget(v, "sock")
  elseif is_uint(v) then
    local s = BY_FD[v]
    if s ~= nil and s:fd() == v then
      return s
    end
    -- Any stream the runtime owns, found by its descriptor.
    s = require("rluanet.core").object(v)
    if I.kind(s) == "stream" then
      return s
    end
    return nil, T.newerr("EBADF", format("descriptor %d is not a stream known to net.tls.context " ..
      "(pass the socket object, e.g. sock.sock)", v), fname)
  end
  error(format("bad argument #2 to '%s' (socket or descriptor expected, got %s)", fname, type(v)), 3)
end

-- Argument checks of connect/accept: `level` 1 blames the caller of connect/accept.
local function opt_bool(v, n, fname, level)
  if v ~= nil and type(v) ~= "boolean" then
    error(format("bad argument #%d to '%s' (boolean expected, got %s)", n, fname, type(v)), level + 2)
  end
  return v
end

---------------------------------------------------------------------------------------------
-- Connection contexts

local Conn = {}
local MT = {
  __index = Conn,
  __name = "net.tls.context",
  __tostring = function(self)
    return "net.tls.context: " .. self.addr
  end,
}

local BIO_MT = {
  __name = "net.tls.bio",
  __tostring = function(self)
    return "net.tls.bio: " .. self.addr
  end,
}

local function new_conn(fields)
  fields.addr = T.address(fields)
  local self = setmetatable(fields, MT)
  if self.use_bio then
    local bio = { bufcap = self.bufcap }
    bio.addr = T.address(bio)
    self.bio = setmetatable(bio, BIO_MT)
  end
  M.remember(self.sock)
  return self
end

-- The direction the stream last blocked on, as WANT_READ/WANT_WRITE.
local function want_of(sock, default)
  local w = sock:tls_want()
  if w == "w" then
    return WANT_WRITE
  elseif w == "r" then
    return WANT_READ
  end
  return default or WANT_READ
end

-- Starts TLS on the stream: "started", "wait" (the server still waits for the client's
-- hello), "closed" (the client left before sending one), or nil, err.
local function start(self)
  local sock = self.sock
  if sock:fd() == -1 then
    return nil, T.newerr("EBADF", "socket is closed", "handshake")
  end
  local ctx, name
  if self.client then
    ctx, name = self.connector, self.servername
  else
    local server = self.server
    ctx = server.acceptor
    if server:has_sni_callback() then
      -- The stream is still plain: look at what arrived without consuming it.
      local data, msg, code = sock:recv(PEEK_SIZE, MSG_PEEK)
      if data == false then
        return "wait"
      elseif data == nil then
        if msg ~= nil then
          self.err = T.syserr(msg, code, "handshake")
          return nil, self.err
        end
        return "closed"
      end
      local sn
      sn, msg, code = sock:peek_servername()
      if sn == false then
        -- Only part of the hello: the descriptor stays readable, so pause (a little
        -- longer each time nothing more came) rather than spin.
        if #data <= (self.peeked or 0) then
          self.pause = self.pause and self.pause * 2 or 0.002
          core.sleep(self.pause < 0.05 and self.pause or 0.05)
        else
          self.pause = nil
        end
        self.peeked = #data
        return "wait"
      elseif sn == nil and msg ~= nil then
        self.err = T.syserr(msg, code, "handshake")
        return nil, self.err
      end
      local chosen, why = server:sni_acceptor(sn)
      if not chosen then
        -- No handshake can follow: end the connection so that the client sees it fail.
        sock:shutdown("rw")
        self.err = T.newerr("EPROTO", why, "handshake")
        return nil, self.err
      end
      ctx = chosen
    end
  end
  local ok, msg, code = sock:starttls(ctx, name)
  if not ok then
    self.err = T.syserr(msg, code, "handshake")
    return nil, self.err
  end
  self.started = true
  return "started"
end

--- ctx:handshake(): true once done; false, nil, want while it needs the network; false,
--- err when it failed (the same error every later call).
function Conn:handshake()
  if self.done then
    return true
  elseif self.err then
    return false, self.err
  end
  if not self.started then
    local state, err = start(self)
    if state == nil then
      return false, err
    elseif state == "wait" then
      return false, nil, WANT_READ
    elseif state == "closed" then
      return false -- the peer closed the connection
    end
  end
  local sock = self.sock
  local r, msg, code = sock:handshake()
  if r then
    self.done = true
    return true
  elseif r == false then
    return false, nil, want_of(sock)
  end
  self.err = T.syserr(msg, code, "handshake")
  return false, self.err
end

--- ctx:read([n]): up to n bytes (8192): str, or nil, nil, want, or nil, err, or nothing
--- once the peer closed (close_notify).
function Conn:read(n)
  if n == nil then
    n = BUFSIZ
  elseif not is_uint(n) or n == 0 then
    error(format("bad argument #1 to 'read' (positive integer expected, got %s)", tostring(n)), 2)
  end
  if not self.done then
    local ok, err, want = self:handshake()
    if not ok then
      if err then
        return nil, err
      elseif want == nil then
        return -- closed by the peer
      end
      return nil, nil, want
    end
  end
  local sock = self.sock
  local s, msg, code = sock:read(n)
  if s then
    return s
  elseif s == false then
    return nil, nil, want_of(sock)
  elseif msg == nil then
    return -- closed by the peer
  end
  return nil, T.syserr(msg, code, "read")
end

--- ctx:write(s): the bytes written: all of s, or n, nil, WANT_WRITE for a part, or 0, nil,
--- want when nothing could go, or nil, err.
function Conn:write(s)
  if type(s) ~= "string" then
    error(format("bad argument #1 to 'write' (string expected, got %s)", type(s)), 2)
  end
  if not self.done then
    local ok, err, want = self:handshake()
    if not ok then
      if err then
        return nil, err
      elseif want == nil then
        return -- closed by the peer
      end
      return 0, nil, want
    end
  end
  if self.shut then
    return nil, T.newerr("EPIPE", "the TLS connection was shut down (tls_close)", "write")
  elseif #s == 0 then
    return 0
  end
  local sock = self.sock
  local n, msg, code = sock:send(s)
  if n == nil then
    return nil, T.syserr(msg, code, "write")
  elseif n < #s then
    return n, nil, want_of(sock, WANT_WRITE)
  end
  return n
end

--- ctx:close(): ends this side of the TLS session: true. Writes fail afterwards; the
--- close_notify alert goes out when the socket is closed (the runtime sends it then).
function Conn:close()
  self.shut = true
  if not self.done then
    return true -- no session yet: nothing to notify
  end
  -- Sends our close_notify now (not waiting for the peer's): true, or false, nil, want
  -- when the socket is full, or false, err.
  local r, msg, code = self.sock:tls_shutdown()
  if r then
    return true
  elseif r == false then
    return false, nil, WANT_WRITE
  end
  return false, T.syserr(msg, code, "close")
end

--- ctx:get_alpn(): the protocol the handshake agreed on, or nothing.
function Conn:get_alpn()
  if not self.done then
    return
  end
  local info = self.sock:tls_info()
  if info and info.alpn then
    return info.alpn
  end
end

--- ctx:get_bio(): a placeholder when use_bio was asked (no memory BIOs here), or nothing.
function Conn:get_bio()
  return self.bio
end

--- ctx:get_peer_certificate(): the peer's certificate (DER), or nothing (rlua-net).
function Conn:get_peer_certificate()
  if not self.done then
    return
  end
  local info = self.sock:tls_info()
  if info and info.peer_certificate then
    return info.peer_certificate
  end
end

---------------------------------------------------------------------------------------------
-- connect / accept

local function check_bio(use_bio, bufcap, n, fname)
  opt_bool(use_bio, n, fname, 2)
  if bufcap ~= nil and not is_uint(bufcap) then
    error(format("bad argument #%d to '%s' (unsigned integer expected, got %s)", n + 1, fname, type(bufcap)), 3)
  end
end

--- connect(client_ctx, sock, servername, noverify_name, noverify_time, noverify_cert
--- [, use_bio [, bufcap]]): a client connection context, or nil, err.
---
--- The peer's certificate is verified against the trusted roots and its name against
--- servername (an IP literal: the certificate's IP addresses, and no SNI is sent).
--- Without a servername no SNI is sent and only the certificate chain is checked.
--- noverify_cert turns verification off; noverify_name keeps the chain check only;
--- noverify_time alone gives nil, err (native-tls cannot skip only the validity dates).
function M.connect(client_ctx, sock, servername, noverify_name, noverify_time, noverify_cert, use_bio, bufcap)
  local client = T.registry.client
  if not client.is_ctx(client_ctx) then
    error(format("bad argument #1 to 'connect' (net.tls.client expected, got %s)", type(client_ctx)), 2)
  elseif servername ~= nil and type(servername) ~= "string" then
    error(format("bad argument #3 to 'connect' (string expected, got %s)", type(servername)), 2)
  end
  opt_bool(noverify_name, 4, "connect", 1)
  opt_bool(noverify_time, 5, "connect", 1)
  opt_bool(noverify_cert, 6, "connect", 1)
  check_bio(use_bio, bufcap, 7, "connect")
  local stream, serr = stream_of(sock, "connect")
  if not stream then
    return nil, serr
  end
  if noverify_time and not noverify_cert then
    return T.unsupported("noverify_time without noverify_cert is", "connect")
  end
  local verify = not noverify_cert
  local verify_name = verify and not noverify_name and servername ~= nil
  local connector, err = client_ctx:connector(verify, verify_name, servername ~= nil)
  if not connector then
    return nil, err
  end
  return new_conn({
    client = true,
    sock = stream,
    connector = connector,
    servername = servername,
    use_bio = use_bio or false,
    bufcap = bufcap,
  })
end

--- accept(server_ctx, sock [, use_bio [, bufcap]]): a server connection context, or
--- nil, err. No handshake happens here.
function M.accept(server_ctx, sock, use_bio, bufcap)
  local server = T.registry.server
  if not server.is_ctx(server_ctx) then
    error(format("bad argument #1 to 'accept' (net.tls.server expected, got %s)", type(server_ctx)), 2)
  end
  check_bio(use_bio, bufcap, 3, "accept")
  local stream, serr = stream_of(sock, "accept")
  if not stream then
    return nil, serr
  end
  return new_conn({
    client = false,
    sock = stream,
    server = server_ctx,
    use_bio = use_bio or false,
    bufcap = bufcap,
  })
end

--- encrypted_length([protocol]): the largest TLS record of that protocol, in bytes.
function M.encrypted_length(protocol)
  local name, msg = protocol, nil
  if name == nil then
    name = "default"
  elseif type(name) ~= "string" then
    msg = "string expected, got " .. type(name)
  elseif T.ENCRYPTED_LENGTH[name] == nil then
    msg = format("invalid option '%s'", name)
  end
  if msg then
    error(format("bad argument #1 to 'encrypted_length' (%s)", msg), 2)
  end
  return T.ENCRYPTED_LENGTH[name]
end

package.loaded[CANONICAL] = M
return M
