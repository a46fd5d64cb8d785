-- What the NodeMCU modules share: callback error routing (node.setonerror), lwIP error
-- codes and messages for system errors, and the firmware's argument checks.
local core = require "rluanet.core"

local M = {}
local E = core.errno
local traceback, xpcall, error, type, tostring = debug.traceback, xpcall, error, type, tostring

-- On the device an error in a callback restarts it after printing the traceback; here
-- the default handler prints it and ends the process with status 1.
local function default_onerror(msg)
  io.stdout:flush()
  io.stderr:write(tostring(msg), "\n")
  os.exit(1)
end
local onerror = default_onerror

function M.set_onerror(fn)
  onerror = fn or default_onerror
end

--- Calls a script callback from the loop; an error goes to the node.setonerror handler.
function M.call(fn, ...)
  if fn == nil then
    return
  end
  local ok, err = xpcall(fn, traceback, ...)
  if not ok then
    onerror(err)
  end
end

-- lwIP err_t codes (app/include/lwip/err.h).
M.ERR_MEM, M.ERR_TIMEOUT, M.ERR_RTE, M.ERR_ABRT, M.ERR_RST = -1, -3, -4, -8, -9
M.ERR_CLSD, M.ERR_CONN, M.ERR_USE = -10, -11, -13

--- The lwIP code a connection error reports in `reconnection`/`disconnection`.
function M.lwip_code(errno)
  if errno == E.ECONNREFUSED or errno == E.ECONNRESET or errno == E.EPIPE then
    return M.ERR_RST
  elseif errno == E.EHOSTUNREACH or errno == E.ENETUNREACH or errno == E.ENETDOWN then
    return M.ERR_RTE
  elseif errno == E.ENOMEM or errno == E.ENOBUFS then
    return M.ERR_MEM
  end
  -- Timeouts (connect or keepalive) and everything else: the connection was aborted.
  return M.ERR_ABRT
end

-- The firmware's wording for errors it raises (lwip_lua_checkerr).
local messages = {
  [E.ENOMEM] = "out of memory", [E.ENOBUFS] = "out of memory", [E.ETIMEDOUT] = "timeout",
  [E.EHOSTUNREACH] = "routing problem", [E.ENETUNREACH] = "routing problem",
  [E.EADDRNOTAVAIL] = "routing problem", [E.EINPROGRESS] = "in progress",
  [E.EAGAIN] = "would block", [E.ECONNABORTED] = "connection aborted",
  [E.ECONNRESET] = "connection reset", [E.EPIPE] = "connection closed",
  [E.ENOTCONN] = "not connected", [E.EINVAL] = "illegal argument",
  [E.EADDRINUSE] = "address in use", [E.EACCES] = "address in use",
  [E.EISCONN] = "already connected", [E.ENETDOWN] = "netif error",
}

function M.lwip_message(errno)
  return messages[errno] or "unknown error"
end

--- Raises the firmware's message for a failed system call.
function M.raise(errno)
  error(M.lwip_message(errno), 3)
end

--- The TLS module's reason strings for `reconnection`.
function M.tls_reason(errno)
  if errno == E.ENOMEM or errno == E.ENOBUFS then
    return "Out of memory"
  elseif errno == E.ETIMEDOUT then
    return "Timeout"
  elseif errno == E.EHOSTUNREACH or errno == E.ENETUNREACH then
    return "Routing problem"
  elseif errno == E.ECONNABORTED then
    return "Connection aborted"
  elseif errno == E.ECONNRESET or errno == E.ECONNREFUSED then
    return "Connection reset"
  elseif errno == E.EPROTO then
    return "SSL handshake failed"
  end
  return "Connection closed"
end

--- luaL_checkinteger-style: numbers and numeric strings, else a bad-argument error.
function M.check_int(v, n, fname)
  local i = math.tointeger(tonumber(v))
  if i == nil then
    error(("bad argument #%d to '%s' (number expected, got %s)"):format(n, fname, v == nil and "no value" or type(v)), 3)
  end
  return i
end

function M.opt_int(v, n, fname, default)
  if v == nil then
    return default
  end
  return M.check_int(v, n, fname)
end

--- luaL_checklstring-style: strings and numbers.
function M.check_string(v, n, fname)
  if type(v) == "number" then
    return tostring(v)
  elseif type(v) ~= "string" then
    error(("bad argument #%d to '%s' (string expected, got %s)"):format(n, fname, v == nil and "no value" or type(v)), 3)
  end
  return v
end

--- The receiver of a method, checked like luaL_checkudata.
function M.check_self(self, mt, fname)
  if getmetatable(self) ~= mt then
    error(("bad argument #1 to '%s' (%s expected, got %s)"):format(fname, mt.__name, type(self)), 3)
  end
  return self
end

--- The name lookup of a socket's `connect`: the socket's `dns` callback sees the answer,
--- then `go(ip_or_nil)` runs, unless close() or a later connect() came first (either
--- ends the socket's "dns" state or starts a new attempt).
function M.connect_lookup(sock, host, go)
  local attempt = {}
  sock.state, sock.attempt = "dns", attempt
  local function current()
    return sock.state == "dns" and sock.attempt == attempt
  end
  M.resolve(host, function(ip)
    if not current() then
      return
    end
    M.call(sock.cb.dns, sock, ip)
    if current() then
      go(ip)
    end
  end)
end

--- A firmware function rlua-net does not provide: calling it raises a clear error.
function M.unsupported(name)
  return function()
    error(name .. " is not supported by rlua-net (see docs/nodemcu.md)", 2)
  end
end

--- The first IPv4 address of a lookup (devices speak IPv4), else the first address.
function M.pick(ips)
  if not ips then
    return nil
  end
  for _, ip in ipairs(ips) do
    if ip:find("^%d+%.%d+%.%d+%.%d+$") then
      return ip
    end
  end
  return ips[1]
end

--- Resolves `host` (an IP literal at once, as the firmware does; a name on the DNS pool)
--- and calls `done(ip_or_nil)`.
function M.resolve(host, done)
  if core.is_ip(host) then
    done(host)
    return
  end
  local ok, msg = core.resolve(host, function(ips)
    done(M.pick(ips))
  end)
  if not ok then
    core.defer(done, nil)
  end
end

return M
