-- How the plain `net.stream.*` constructors hand over to the TLS classes (internal).
--
-- With a tlscfg, `net.stream.inet` and `net.stream.unix` load `net.tls.stream.inet` /
-- `net.tls.stream.unix` and use these functions of it:
--
--   new_client_context(tlscfg)             -> ctx | nil, err   (before connecting; it may
--                                             throw for invalid options, as upstream does)
--   Client(sock, ctx, servername, tlscfg)  -> client | nil, err   (sock: a connected core
--                                             stream; servername: nil for unix without one)
--   new_server_context(tlscfg)             -> ctx | nil, err   (before binding)
--   Server(sock, ctx, tlscfg)              -> server | nil, err   (sock: a bound core
--                                             listener)
--
-- While that module does not exist, the constructors return nil, EOPNOTSUPP
-- ("TLS is not available yet").

local CANONICAL = "luanet.net.tls_hook"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local errno = require "luanet.errno"

local pcall, require, type, error, tostring = pcall, require, type, error, tostring
local find = string.find

local M = {}

--- module(name): the TLS module `name` (e.g. "net.tls.stream.inet"), or nil, err when it
--- is not there. Errors inside an existing module are raised.
function M.module(name)
  local ok, mod = pcall(require, name)
  if ok then
    if type(mod) ~= "table" then
      return nil, errno.new("EOPNOTSUPP", "TLS is not available yet", "tls")
    end
    return mod
  end
  local msg = tostring(mod)
  if find(msg, "module '" .. name .. "' not found", 1, true) then
    return nil, errno.new("EOPNOTSUPP", "TLS is not available yet", "tls")
  end
  error(mod, 0)
end

package.loaded[CANONICAL] = M
return M
