-- `net.stream.inet` of the luanet dialect (lua-net v0.41): TCP over IPv4.
--
--   local inet = require "net.stream.inet"
--   local sock, err, timeout, ai = inet.client.new("127.0.0.1", 8080, { deadline = 2 })
--   local server, err, ai = inet.server.new("127.0.0.1", 0, { reuseaddr = true })
--   assert(server:listen())                -- server.new binds without listening
--   print(server:getsockname():port())     -- the ephemeral port
--   local peer = server:accept()           -- a net.stream.inet.Socket
--   local sock = inet.wrap(fd)             -- adopts a connected descriptor
--
-- client.new resolves host to IPv4 addresses and tries each in turn; opts.deadline
-- (seconds) bounds the lookup and the connects (none: no limit), a timeout is nil, nil,
-- true, and the last address's error wins. With opts.tlscfg the result is a
-- net.tls.stream.inet.Client (see net/tls_hook.lua).

local CANONICAL = "luanet.net.stream.inet"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.stream"
local class = require "luanet.net.class"
local socket = require "luanet.net.socket"
local tls_hook = require "luanet.net.tls_hook"
local I = require "luanet.net.internal"

local type, error = type, error
local is_finite, is_uint = I.is_finite, I.is_uint

--- @class net.stream.inet.Socket : net.stream.Socket
local Socket = class.new("net.stream.inet.Socket", {}, "net.stream.Socket")

--- @class net.stream.inet.Client : net.stream.inet.Socket
local Client = class.new("net.stream.inet.Client", {}, "net.stream.inet.Socket")

--- @class net.stream.inet.Server : net.stream.Server
local Server = class.new("net.stream.inet.Server", {
  new_connection = function(_, sock)
    return Socket(sock)
  end,
}, "net.stream.Server")

--- client.new(host, port [, opts]): sock, err, timeout, ai.
local function new_client(host, port, opts)
  local servername
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    error("opts must be table", 2)
  elseif opts.deadline ~= nil and not is_finite(opts.deadline) then
    error("opts.deadline must be finite number", 2)
  elseif opts.tlscfg ~= nil and type(opts.tlscfg) ~= "table" then
    error("opts.tlscfg must be table", 2)
  elseif opts.tlscfg ~= nil then
    if opts.servername == nil then
      servername = host
    elseif type(opts.servername) ~= "string" then
      error("opts.servername must be string", 2)
    else
      servername = opts.servername
    end
  end
  if host ~= nil and type(host) ~= "string" then
    error("host must be string", 2)
  elseif type(port) ~= "string" and not is_uint(port) then
    error("port must be string or uint", 2)
  end

  local tls, ctx
  if opts.tlscfg ~= nil then
    local err
    tls, err = tls_hook.module("luanet.net.tls.stream.inet")
    if not tls then
      return nil, err
    end
    ctx, err = tls.new_client_context(opts.tlscfg)
    if not ctx then
      return nil, err
    end
  end

  local sock, err, timeout, ai = socket.connect_inet_stream(host, port, opts.deadline)
  if not sock then
    return nil, err, timeout
  end
  if tls then
    local c, cerr = tls.Client(sock, ctx, servername, opts.tlscfg)
    if not c then
      sock:close()
      return nil, cerr
    end
    return c, nil, nil, ai
  end
  return Client(sock), nil, nil, ai
end

--- server.new(host, port [, opts]): server, err, ai: bound (not listening) to the first
--- address of host that works. opts: reuseaddr, reuseport (booleans), tlscfg.
local function new_server(host, port, opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    error("opts must be table", 2)
  elseif opts.reuseaddr ~= nil and type(opts.reuseaddr) ~= "boolean" then
    error("opts.reuseaddr must be boolean", 2)
  elseif opts.reuseport ~= nil and type(opts.reuseport) ~= "boolean" then
    error("opts.reuseport must be boolean", 2)
  elseif opts.tlscfg ~= nil and type(opts.tlscfg) ~= "table" then
    error("opts.tlscfg must be table", 2)
  end
  if host ~= nil and type(host) ~= "string" then
    error("host must be string", 2)
  elseif port ~= nil and type(port) ~= "string" and not is_uint(port) then
    error("port must be string or uint", 2)
  end

  local tls, ctx
  if opts.tlscfg ~= nil then
    local err
    tls, err = tls_hook.module("luanet.net.tls.stream.inet")
    if not tls then
      return nil, err
    end
    ctx, err = tls.new_server_context(opts.tlscfg)
    if not ctx then
      return nil, err
    end
  end

  local sock, err, ai = socket.bind_inet_stream(host, port, opts.reuseaddr, opts.reuseport)
  if not sock then
    return nil, err
  end
  if tls then
    local s, serr = tls.Server(sock, ctx, opts.tlscfg)
    if not s then
      sock:close()
      return nil, serr
    end
    return s, nil, ai
  end
  return Server(sock), nil, ai
end

--- wrap(fd): a net.stream.inet.Socket owning descriptor fd, or nil, err.
local function wrap(fd)
  local sock, err = socket.wrap(fd)
  if not sock then
    return nil, err
  end
  return Socket(sock)
end

local M = {
  wrap = wrap,
  client = { new = new_client },
  server = { new = new_server },
}

package.loaded[CANONICAL] = M
return M
