-- `net.addrinfo` of the luanet dialect: lua-net v0.41's address helpers, and the address
-- objects every `net.*` call returns or takes (in the shape of llsocket.addrinfo).
--
--   local addrinfo = require "net.addrinfo"
--   local ais, err = addrinfo.getaddrinfo_stream("localhost", "http")   -- AF_INET only
--   local ai = ais[1]
--   ai:addr(), ai:port(), ai:family(), ai:socktype(), ai:protocol(), ai:canonname()
--   tostring(ai)   --> "llsocket.addrinfo: 0x…"
--   addrinfo.new_inet_stream("127.0.0.1", 8080), addrinfo.new_unix_dgram("/tmp/x.sock")
--
-- Name lookups run on the runtime's resolver pool: inside a task the lookup yields, outside
-- one it runs the loop until the answer comes, so nothing else stops meanwhile. Failures are
-- `nil, err` with an `errno.eai` type (EAI_NONAME, EAI_SERVICE, ...).
--
-- Differences from llsocket: getnameinfo answers numerically (the runtime has no reverse
-- lookup): `{ host = "127.0.0.1", serv = "8080" }`; NI_NAMEREQD gives EAI_NONAME.

local CANONICAL = "luanet.net.addrinfo"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local errno = require "luanet.errno"
local eai = require "luanet.errno.eai"

local type, tostring, tonumber, select, error, ipairs = type, tostring, tonumber, select, error, ipairs
local setmetatable, getmetatable = setmetatable, getmetatable
local find, match, format = string.find, string.match, string.format
local floor, tointeger = math.floor, math.tointeger

local C = core.constants
local AF_INET, AF_UNIX = C.AF_INET, C.AF_UNIX
local SOCK_STREAM, SOCK_DGRAM = C.SOCK_STREAM, C.SOCK_DGRAM
local IPPROTO_TCP, IPPROTO_UDP = C.IPPROTO_TCP, C.IPPROTO_UDP
local AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST = C.AI_PASSIVE, C.AI_CANONNAME, C.AI_NUMERICHOST
local NI_NUMERICHOST, NI_NAMEREQD = C.NI_NUMERICHOST, C.NI_NAMEREQD

-- Longest Unix socket path (sun_path holds it with its terminating NUL).
local platform = tostring(core.platform)
local SUN_PATH_MAX = (platform == "Linux" or platform == "Android") and 107 or 103

---------------------------------------------------------------------------------------------
-- Address objects

local AI = {}
-- The fields of each address object (the objects themselves are empty tables).
local F = setmetatable({}, { __mode = "k" })
local AI_MT = {
  __index = AI,
  __name = "llsocket.addrinfo",
  __tostring = function(self)
    return "llsocket.addrinfo: " .. F[self].where
  end,
}

local function new_ai(family, socktype, protocol, addr, port, flags, canonname)
  local t = {}
  F[t] = {
    where = match(tostring(t), "0x%x+") or "0x0",
    family = family,
    socktype = socktype or 0,
    protocol = protocol or 0,
    addr = addr,
    port = port,
    flags = flags or 0,
    canonname = canonname,
  }
  return setmetatable(t, AI_MT)
end

function AI:family()
  return F[self].family
end

function AI:socktype()
  return F[self].socktype
end

function AI:protocol()
  return F[self].protocol
end

--- addr(): the IPv4 address, or the path of a Unix address.
function AI:addr()
  return F[self].addr
end

--- port(): the port of an inet address (nil for a Unix one).
function AI:port()
  return F[self].port
end

function AI:flags()
  return F[self].flags
end

function AI:canonname()
  return F[self].canonname
end

--- getnameinfo([flag, ...]): { host =, serv = } (numeric), or nil, err.
function AI:getnameinfo(...)
  local flags = 0
  for i = 1, select("#", ...) do
    local f = select(i, ...)
    if tointeger(f) == nil then
      error(format("bad argument #%d to 'getnameinfo' (integer expected, got %s)", i, type(f)), 2)
    end
    flags = flags | tointeger(f)
  end
  local f = F[self]
  if f.family ~= AF_INET then
    return nil, eai.new("EAI_FAMILY", nil, "getnameinfo")
  elseif flags & NI_NAMEREQD ~= 0 and flags & NI_NUMERICHOST == 0 then
    return nil, eai.new("EAI_NONAME", "reverse lookups are not supported", "getnameinfo")
  end
  return { host = f.addr, serv = tostring(f.port) }
end

local M = {}

--- is_addrinfo(v): whether v is an address object.
function M.is_addrinfo(v)
  return getmetatable(v) == AI_MT
end

--- SUN_PATH_MAX: the longest Unix socket path of this platform, in bytes.
M.SUN_PATH_MAX = SUN_PATH_MAX

-- The ENAMETOOLONG error for a Unix path longer than sun_path can hold.
function M.check_unix_path(pathname, op)
  if #pathname > SUN_PATH_MAX then
    return errno.new("ENAMETOOLONG", format("socket path longer than %d bytes", SUN_PATH_MAX), op)
  end
end

--- from_inet(ip, port, socktype, protocol): an address object (no checks).
function M.from_inet(ip, port, socktype, protocol)
  return new_ai(AF_INET, socktype, protocol, ip, port)
end

--- from_unix(path, socktype): an address object (no checks).
function M.from_unix(path, socktype)
  return new_ai(AF_UNIX, socktype, 0, path)
end

---------------------------------------------------------------------------------------------
-- Name resolution

local function is_ipv4(s)
  local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a == nil then
    return false
  end
  for _, x in ipairs({ a, b, c, d }) do
    if #x > 3 or tonumber(x) > 255 then
      return false
    end
  end
  return true
end

-- The port of `port` (nil, a number or a decimal or service-name string), or nil, err.
local function service(port, socktype)
  if port == nil then
    return 0
  end
  local n = tointeger(tonumber(port))
  if type(port) == "string" and not find(port, "^%d+$") then
    n = nil
  end
  if n ~= nil then
    if n < 0 or n > 65535 then
      return nil, eai.new("EAI_SERVICE", nil, "getaddrinfo")
    end
    return n
  end
  if type(port) == "string" and port ~= "" then
    local p = core.getservbyname(port, socktype == SOCK_DGRAM and "udp" or "tcp")
    if p ~= nil then
      return p
    end
  end
  return nil, eai.new("EAI_SERVICE", nil, "getaddrinfo")
end

--- resolve(host, sec): the IPv4 addresses of host, nil, err, or nil, nil, true when `sec`
--- seconds (nil: no limit) passed first. Internal: the other modules use it.
function M.resolve(host, sec)
  if is_ipv4(host) then
    return { host }
  elseif find(host, "^%d+%.%d+%.%d+%.%d+$") or core.is_ip(host) then
    -- numeric, but not an IPv4 address this family can use
    return nil, eai.new("EAI_NONAME", nil, "getaddrinfo")
  end
  local sig = core.signal()
  local ok, msg, code = core.resolve(host, function(ips, m, c)
    sig:set(ips, m, c)
  end, "inet")
  if not ok then
    return nil, errno.from_core(msg, code, "getaddrinfo")
  end
  if sec ~= nil and sec < 0 then
    sec = 0
  end
  if not sig:is_set() and not core.wait(sig, "r", sec) then
    return nil, nil, true
  end
  local ips, m, c = sig:get()
  if ips == nil then
    return nil, eai.from_core(m, c, "getaddrinfo")
  end
  return ips
end

-- getaddrinfo with a time limit (internal: client.new bounds the lookup by its deadline).
function M.lookup(host, port, socktype, protocol, passive, canonname, sec)
  local pnum, perr = service(port, socktype)
  if pnum == nil then
    return nil, perr
  end
  local flags = passive and AI_PASSIVE or 0
  if canonname then
    flags = flags | AI_CANONNAME
  end
  if host == nil then
    local ip = passive and "0.0.0.0" or "127.0.0.1"
    return { new_ai(AF_INET, socktype, protocol, ip, pnum, flags) }
  end
  if is_ipv4(host) then
    flags = flags | AI_NUMERICHOST
  end
  local ips, err, timeout = M.resolve(host, sec)
  if ips == nil then
    return nil, err, timeout
  end
  local ais = {}
  for i, ip in ipairs(ips) do
    ais[i] = new_ai(AF_INET, socktype, protocol, ip, pnum, flags, canonname and host or nil)
  end
  return ais
end

local function check_host_port(host, port)
  if host ~= nil and type(host) ~= "string" then
    error("host must be string", 3)
  elseif port ~= nil and type(port) ~= "string" and (type(port) ~= "number" or floor(port) ~= port) then
    error("port must be string or integer", 3)
  end
end

--- getaddrinfo(host, port, socktype, protocol [, passive [, canonname]]): a list of
--- AF_INET address objects, or nil, err.
function M.getaddrinfo(host, port, socktype, protocol, passive, canonname)
  if passive ~= nil and type(passive) ~= "boolean" then
    error("passive must be boolean", 2)
  elseif canonname ~= nil and type(canonname) ~= "boolean" then
    error("canonname must be boolean", 2)
  end
  check_host_port(host, port)
  local ais, err = M.lookup(host, port, socktype, protocol, passive, canonname)
  return ais, err
end

function M.getaddrinfo_stream(host, port, passive, canonname)
  return M.getaddrinfo(host, port, SOCK_STREAM, IPPROTO_TCP, passive, canonname)
end

function M.getaddrinfo_dgram(host, port, passive, canonname)
  return M.getaddrinfo(host, port, SOCK_DGRAM, IPPROTO_UDP, passive, canonname)
end

--- new_inet([host [, port [, socktype [, protocol [, passive]]]]]): an AF_INET address
--- object of an IPv4 literal (nil: any address when passive, loopback otherwise).
function M.new_inet(host, port, socktype, protocol, passive)
  if passive ~= nil and type(passive) ~= "boolean" then
    error("passive must be boolean", 2)
  end
  check_host_port(host, port)
  local pnum, perr = service(port, socktype)
  if pnum == nil then
    return nil, perr
  end
  if host == nil then
    host = passive and "0.0.0.0" or "127.0.0.1"
  elseif not is_ipv4(host) then
    return nil, eai.new("EAI_NONAME", nil, "getaddrinfo")
  end
  return new_ai(AF_INET, socktype, protocol, host, pnum, passive and AI_PASSIVE or 0)
end

function M.new_inet_stream(host, port, passive)
  return M.new_inet(host, port, SOCK_STREAM, IPPROTO_TCP, passive)
end

function M.new_inet_dgram(host, port, passive)
  return M.new_inet(host, port, SOCK_DGRAM, IPPROTO_UDP, passive)
end

--- new_unix(pathname [, socktype [, protocol [, passive]]]): an AF_UNIX address object,
--- or nil, ENAMETOOLONG.
function M.new_unix(pathname, socktype, protocol, passive)
  if passive ~= nil and type(passive) ~= "boolean" then
    error("passive must be boolean", 2)
  elseif type(pathname) ~= "string" then
    error("pathname must be string", 2)
  end
  local err = M.check_unix_path(pathname, "addrinfo")
  if err then
    return nil, err
  end
  return new_ai(AF_UNIX, socktype, protocol, pathname, nil, passive and AI_PASSIVE or 0)
end

function M.new_unix_stream(pathname, passive)
  return M.new_unix(pathname, SOCK_STREAM, 0, passive)
end

function M.new_unix_dgram(pathname, passive)
  return M.new_unix(pathname, SOCK_DGRAM, 0, passive)
end

package.loaded[CANONICAL] = M
return M
