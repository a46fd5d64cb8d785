-- `net.stream.unix` of the luanet dialect (lua-net v0.41): stream sockets over Unix
-- socket files.
--
--   local unix = require "net.stream.unix"
--   local server, err, ai = unix.server.new("./app.sock")     -- bound, not listening
--   assert(server:listen())
--   local sock, err, timeout, ai = unix.client.new("./app.sock", { deadline = 1 })
--   local pair = unix.pair()          -- { net.stream.unix.Socket, net.stream.unix.Socket }
--
-- server.new does not remove an existing file: a path that exists gives EADDRINUSE. A
-- missing file gives ENOENT, a path longer than sun_path ENAMETOOLONG, a file nobody
-- listens on ECONNREFUSED. Closing the server leaves its socket file, as upstream.

local CANONICAL = "luanet.net.stream.unix"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

require "luanet.net.stream"
require "luanet.net.unix"
local class = require "luanet.net.class"
local socket = require "luanet.net.socket"
local tls_hook = require "luanet.net.tls_hook"
local I = require "luanet.net.internal"

local type, error = type, error
local is_finite = I.is_finite

--- @class net.stream.unix.Socket : net.stream.Socket, net.unix.Socket
local Socket = class.new("net.stream.unix.Socket", {}, "net.stream.Socket", "net.unix.Socket")

--- @class net.stream.unix.Client : net.stream.unix.Socket
local Client = class.new("net.stream.unix.Client", {}, "net.stream.unix.Socket")

--- @class net.stream.unix.Server : net.stream.Server
local Server = class.new("net.stream.unix.Server", {
  new_connection = function(_, sock)
    return Socket(sock)
  end,
}, "net.stream.Server")

--- client.new(pathname [, opts]): sock, err, timeout, ai.
local function new_client(pathname, opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    error("opts must be table", 2)
  elseif opts.deadline ~= nil and not is_finite(opts.deadline) then
    error("opts.deadline must be finite number", 2)
  elseif opts.tlscfg ~= nil and type(opts.tlscfg) ~= "table" then
    error("opts.tlscfg must be table", 2)
  elseif opts.tlscfg ~= nil and opts.servername ~= nil and type(opts.servername) ~= "string" then
    error("opts.servername must be string", 2)
  end
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  end

  local tls, ctx
  if opts.tlscfg ~= nil then
    local err
    tls, err = tls_hook.module("luanet.net.tls.stream.unix")
    if not tls then
      return nil, err
    end
    ctx, err = tls.new_client_context(opts.tlscfg)
    if not ctx then
      return nil, err
    end
  end

  local sock, err, timeout, ai = socket.connect_unix_stream(pathname, opts.deadline)
  if not sock then
    return nil, err, timeout
  end
  if tls then
    local c, cerr = tls.Client(sock, ctx, opts.servername, opts.tlscfg)
    if not c then
      sock:close()
      return nil, cerr
    end
    return c, nil, nil, ai
  end
  return Client(sock), nil, nil, ai
end

--- server.new(pathname [, tlscfg]): server, err, ai (bound, not listening).
local function new_server(pathname, tlscfg)
  if type(pathname) ~= "string" then
    error("pathname must be string", 2)
  elseif tlscfg ~= nil and type(tlscfg) ~= "table" then
    error("tlscfg must be table", 2)
  end

  local tls, ctx
  if tlscfg ~= nil then
    local err
    tls, err = tls_hook.module("luanet.net.tls.stream.unix")
    if not tls then
      return nil, err
    end
    ctx, err = tls.new_server_context(tlscfg)
    if not ctx then
      return nil, err
    end
  end

  local sock, err, ai = socket.bind_unix_stream(pathname)
  if not sock then
    return nil, err
  end
  if tls then
    local s, serr = tls.Server(sock, ctx, tlscfg)
    if not s then
      sock:close()
      return nil, serr
    end
    return s, nil, ai
  end
  return Server(sock), nil, ai
end

--- pair(): { Socket, Socket }, two connected sockets, or nil, err.
local function pair()
  local sp, err = socket.pair_stream()
  if not sp then
    return nil, err
  end
  return { Socket(sp[1]), Socket(sp[2]) }
end

--- wrap(fd): a net.stream.unix.Socket owning descriptor fd, or nil, err.
local function wrap(fd)
  local sock, err = socket.wrap(fd)
  if not sock then
    return nil, err
  end
  return Socket(sock)
end

local M = {
  wrap = wrap,
  pair = pair,
  client = { new = new_client },
  server = { new = new_server },
}

package.loaded[CANONICAL] = M
return M
