-- `net.tls.stream.inet` of the luanet dialect (lua-net v0.41): TLS over TCP/IPv4. The
-- classes `Client` (net.tls.stream.inet.Client) and `Server` (net.tls.stream.inet.Server,
-- whose accepted sockets are net.tls.stream.inet.Socket); net.stream.inet's client.new
-- and server.new make them when given a tlscfg.
--
--   local inet = require "net.stream.inet"
--   local c = assert(inet.client.new("127.0.0.1", 8443, {
--     servername = "www.example.com",           -- SNI and the name checked (default: host)
--     tlscfg = { protocol = "default", alpn = { "http/1.1" }, noverify_cert = true },
--   }))
--   local s = assert(inet.server.new("127.0.0.1", 0, {
--     tlscfg = { cert = "cert.pem", key = "key.pem", alpn = { "http/1.1" } },
--   }))

local CANONICAL = "luanet.net.tls.stream.inet"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local stream = require "luanet.net.tls.stream"
local class = require "luanet.net.class"

local X = stream.__internal

local Socket = class.new("net.tls.stream.inet.Socket", {}, "net.tls.stream.Socket")

local Client = class.new("net.tls.stream.inet.Client", {
  init = X.client_init,
}, "net.tls.stream.inet.Socket")

local Server = class.new("net.tls.stream.inet.Server", {
  new_connection = function(self, sock)
    return X.accept_with(self, sock, Socket)
  end,
}, "net.tls.stream.Server")

local M = {
  Client = Client,
  Server = Server,
  -- the hooks of net.stream.inet (see net/tls_hook.lua)
  new_client_context = X.new_client_context,
  new_server_context = X.new_server_context,
}

package.loaded[CANONICAL] = M
return M
