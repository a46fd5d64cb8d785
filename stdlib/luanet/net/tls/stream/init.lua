-- `net.tls.stream` of the luanet dialect (lua-net v0.41): defines the classes
-- `net.tls.stream.Socket` (net.tls.Socket over net.stream.Socket, with sendfile through
-- TLS) and `net.tls.stream.Server` (a listener whose accepted sockets speak TLS).
--
--   local server = assert(require("net.stream.inet").server.new("127.0.0.1", 0,
--                         { tlscfg = { cert = "cert.pem", key = "key.pem" } }))
--   assert(server:listen())
--   server:set_sni_callback(function(hostname) return contexts[hostname] end)
--   local peer = server:accept()          -- no handshake yet: it runs on the first I/O
--   peer:sendfile(io.open("big.bin"), nil, 0)   -- the whole file, through TLS
--
-- sendfile(f [, bytes [, offset]]): f is a file handle, a descriptor or a pathname; bytes
-- nil sends the rest of the file from offset; bytes <= 0 sends nothing (0); a non-integer
-- bytes or offset gives nil, EINVAL. The file is read in chunks of at most 16 KiB at
-- explicit offsets (a handle's position is put back) and each chunk is written through
-- TLS; the result is len, err, timeout (the bytes sent so far with a timeout; fewer than
-- asked, at once, when the file ends first).

local CANONICAL = "luanet.net.tls.stream"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.stream"
local tls = require "luanet.net.tls"
local class = require "luanet.net.class"
local context = require "luanet.net.tls.context"
local T = require "luanet.net.tls.internal"
local I = require "luanet.net.internal"

local type, error, ipairs, pcall, setmetatable = type, error, ipairs, pcall, setmetatable
local io_type, io_open = io.type, io.open
local min = math.min
local format = string.format
local is_int, is_uint, argerror, syserr, newerr = I.is_int, I.is_uint, I.argerror, I.syserr, I.newerr
local write_all, handshake = tls.__internal.write_all, tls.__internal.handshake

local CHUNK = 16384

local NetSocket = class.methods("net.Socket")
local TlsSocket = class.methods("net.tls.Socket")

---------------------------------------------------------------------------------------------
-- net.tls.stream.Socket

local Socket = {}

-- A handle reading the file open on descriptor fd from its own position (Linux), or
-- sharing it (elsewhere; pread below puts it back).
local function open_fd(fd)
  local f = io_open("/proc/self/fd/" .. fd, "rb")
  if f then
    return f
  end
  local msg, code
  f, msg, code = io_open("/dev/fd/" .. fd, "rb")
  if not f then
    return nil, syserr(msg, code, "sendfile")
  end
  return f
end

-- Up to n bytes of fh at offset, leaving its position as it was: data, or nil at the end
-- of the file, or nil, err.
local function pread(fh, n, offset)
  local pos, msg, code = fh:seek()
  if pos == nil then
    return nil, syserr(msg, code, "pread")
  end
  local ok, smsg, scode = fh:seek("set", offset)
  if not ok then
    return nil, syserr(smsg, scode, "pread")
  end
  local data, rmsg, rcode = fh:read(n)
  fh:seek("set", pos)
  if data == nil and rmsg ~= nil then
    return nil, syserr(rmsg, rcode, "pread")
  end
  return data
end

local function send_file(self, fh, bytes, offset, deadline)
  if bytes == nil then
    local pos = fh:seek()
    local size, msg, code = fh:seek("end")
    if pos then
      fh:seek("set", pos)
    end
    if size == nil then
      return nil, syserr(msg, code, "sendfile")
    end
    bytes = size - offset
    if bytes <= 0 then
      return 0
    end
  end
  local chunk = CHUNK
  local sndbuf = self.sock:getopt("sndbuf")
  if is_uint(sndbuf) and sndbuf > 0 then
    chunk = min(chunk, sndbuf)
  end
  local sent = 0
  while sent < bytes do
    local want = min(chunk, bytes - sent)
    local data, rerr = pread(fh, want, offset + sent)
    if rerr then
      return nil, rerr
    elseif data == nil or #data == 0 then
      break -- the file ended
    end
    local n, err, timeout = write_all(self, data, deadline)
    if n == nil then
      return nil, err
    end
    sent = sent + n
    if err or timeout then
      return sent, err, timeout
    elseif #data < want then
      break
    end
  end
  return sent
end

--- sendfile(f [, bytes [, offset]]): len, err, timeout.
function Socket:sendfile(f, bytes, offset)
  local kind = io_type(f)
  if kind ~= "file" and not is_uint(f) and type(f) ~= "string" then
    if kind == "closed file" then
      return nil, newerr("EBADF", "file is closed", "sendfile")
    end
    argerror(1, "sendfile", "file, descriptor or pathname", f)
  end
  if offset == nil then
    offset = 0
  elseif not is_uint(offset) then
    return nil, newerr("EINVAL", "offset must be unsigned integer", "sendfile")
  end
  if bytes ~= nil then
    if is_int(bytes) and bytes <= 0 then
      return 0
    elseif not is_uint(bytes) then
      return nil, newerr("EINVAL", "bytes must be unsigned integer", "sendfile")
    end
  end
  local deadline = self:get_send_deadline()
  if not self.handshaked then
    local ok, err, timeout = handshake(self, deadline)
    if not ok then
      return 0, err, timeout
    end
  end
  local fh, err
  if kind == "file" then
    fh = f
  elseif type(f) == "string" then
    local msg, code
    fh, msg, code = io_open(f, "rb")
    if not fh then
      return nil, syserr(msg, code, "sendfile")
    end
  else
    fh, err = open_fd(f)
    if not fh then
      return nil, err
    end
  end
  local ok, n, serr, timeout = pcall(send_file, self, fh, bytes, offset, deadline)
  if fh ~= f then
    fh:close()
  end
  if not ok then
    error(n, 0)
  end
  return n, serr, timeout
end

-- sendfilesync (net.stream.Socket's) runs this sendfile under the write lock.

class.new("net.tls.stream.Socket", Socket, "net.tls.Socket", "net.stream.Socket")

---------------------------------------------------------------------------------------------
-- net.tls.stream.Server

local Server = {}

--- init(sock, ctx [, tlscfg]): `sock` a bound runtime listener, `ctx` a net.tls.server
--- context.
function Server:init(sock, ctx, tlscfg)
  NetSocket.init(self, sock)
  self.tls = ctx
  self.use_bio = (tlscfg and tlscfg.use_bio) or false
  return self
end

-- Wraps an accepted stream in `cls` (a net.tls.stream.Socket class) with a server
-- connection context: no handshake here.
local function accept_with(self, sock, cls)
  local conn, err = context.accept(self.tls, sock, self.use_bio)
  if not conn then
    return nil, err
  end
  return cls(sock, conn, self.use_bio)
end

function Server:new_connection(sock)
  return accept_with(self, sock, class.get("net.tls.stream.Socket"))
end

--- set_sni_callback(fn, ...): fn(..., hostname) picks the server context (from
--- require("net.tls.server")(cert, key, ...)) for a client that names a host, or returns
--- nil to keep this server's; a raise fails that handshake. nil removes the callback.
function Server:set_sni_callback(fn, ...)
  if fn ~= nil and type(fn) ~= "function" then
    error(format("function or nil expected, got %s", type(fn)), 2)
  end
  self.tls:set_sni_callback(fn, ...)
end

--- close(): closes the listening socket (no TLS on it).
Server.close = NetSocket.close

-- The TLS I/O methods mean nothing on a listener.
for _, name in ipairs({ "handshake", "read", "recv", "write", "send", "sendfile", "tls_close", "get_alpn" }) do
  Server[name] = function()
    return nil, newerr("EOPNOTSUPP", name .. " is not supported on a listening socket", name)
  end
end

class.new("net.tls.stream.Server", Server, "net.tls.stream.Socket", "net.stream.Server")

---------------------------------------------------------------------------------------------
-- What net.tls.stream.inet / .unix share: the hooks of net.stream.inet / .unix.

local client_ctx = T.registry.client
local server_ctx = T.registry.server

local function check_bools(tlscfg, keys)
  for _, k in ipairs(keys) do
    local v = tlscfg[k]
    if v ~= nil and type(v) ~= "boolean" then
      T.throw(format("tlscfg.%s must be boolean", k))
    end
  end
end

local function client_context(tlscfg)
  check_bools(tlscfg, { "noverify_name", "noverify_time", "noverify_cert", "use_bio" })
  local ctx, err = client_ctx.build(tlscfg.protocol, tlscfg.ciphers, tlscfg.alpn, tlscfg.session_cache_timeout,
    tlscfg.session_cache_size, tlscfg.prefer_client_ciphers, tlscfg.ocsp_error_callback)
  if not ctx then
    return nil, err
  elseif tlscfg.noverify_time and not tlscfg.noverify_cert then
    return T.unsupported("noverify_time without noverify_cert is", "tlscfg")
  end
  return ctx
end

local function server_context(tlscfg)
  check_bools(tlscfg, { "use_bio", "prefer_client_ciphers" })
  for _, k in ipairs({ "cert", "key" }) do
    if type(tlscfg[k]) ~= "string" then
      T.throw(format("tlscfg.%s must be string", k))
    end
  end
  return server_ctx.build(tlscfg.cert, tlscfg.key, tlscfg.protocol, tlscfg.ciphers, tlscfg.alpn,
    tlscfg.session_timeout, tlscfg.session_cache_size)
end

local INTERNAL = {
  accept_with = accept_with,
}

--- new_client_context(tlscfg): for client.new (called by it; argument errors blame its
--- caller).
function INTERNAL.new_client_context(tlscfg)
  local ctx, err = T.call(3, client_context, tlscfg)
  return ctx, err
end

function INTERNAL.new_server_context(tlscfg)
  local ctx, err = T.call(3, server_context, tlscfg)
  return ctx, err
end

--- client_init(self, sock, ctx, servername, tlscfg): the init of the Client classes.
function INTERNAL.client_init(self, sock, ctx, servername, tlscfg)
  tlscfg = tlscfg or {}
  local conn, err = context.connect(ctx, sock, servername, tlscfg.noverify_name, tlscfg.noverify_time,
    tlscfg.noverify_cert, tlscfg.use_bio)
  if not conn then
    return nil, err
  end
  return TlsSocket.init(self, sock, conn, tlscfg.use_bio)
end

-- Nothing useful is returned (as upstream): the classes are what the module defines.
local M = setmetatable({}, {
  __index = function(_, k)
    if k == "__internal" then
      return INTERNAL
    end
  end,
})
package.loaded[CANONICAL] = M
return M
