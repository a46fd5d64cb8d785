-- `net.tls.stream.unix` of the luanet dialect (lua-net v0.41): TLS over Unix stream
-- sockets. The classes `Client` (net.tls.stream.unix.Client) and `Server`
-- (net.tls.stream.unix.Server, whose accepted sockets are net.tls.stream.unix.Socket);
-- net.stream.unix's client.new and server.new make them when given a tlscfg.
--
--   local unix = require "net.stream.unix"
--   local s = assert(unix.server.new("./tls.sock", { cert = "cert.pem", key = "key.pem" }))
--   local c = assert(unix.client.new("./tls.sock", { tlscfg = { noverify_cert = true } }))
--
-- Without opts.servername a unix client sends no SNI and checks only the certificate
-- chain, not a name (as lua-net v0.41). sendfd/recvfd give nil, EOPNOTSUPP.

local CANONICAL = "luanet.net.tls.stream.unix"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local stream = require "luanet.net.tls.stream"
require "luanet.net.tls.unix"
local class = require "luanet.net.class"

local X = stream.__internal

local Socket = class.new("net.tls.stream.unix.Socket", {}, "net.tls.stream.Socket", "net.tls.unix.Socket")

local Client = class.new("net.tls.stream.unix.Client", {
  init = X.client_init,
}, "net.tls.stream.unix.Socket")

local Server = class.new("net.tls.stream.unix.Server", {
  new_connection = function(self, sock)
    return X.accept_with(self, sock, Socket)
  end,
}, "net.tls.stream.Server")

local M = {
  Client = Client,
  Server = Server,
  new_client_context = X.new_client_context,
  new_server_context = X.new_server_context,
}

package.loaded[CANONICAL] = M
return M
