-- `net.msghdr` of the luanet dialect: lua-net v0.41's scatter/gather message header, what
-- sendmsg and recvmsg take.
--
--   local msghdr = require "net.msghdr"
--   local mh = msghdr.new()
--   mh:add("hello"); mh:add("world")     -- the iovec (mh.iov) is made on the first add/addn
--   sock:sendmsg(mh)                      -- sends it all and consumes it: mh:bytes() == 0
--   local rh = msghdr.new()
--   rh:addn(5)                            -- room for 5 bytes
--   local len, err, timeout = peer:recvmsg(rh)   -- fills the iovec in place
--   rh:concat()                           -- "hello"
--   rh:name()                             -- on datagram sockets: the sender's address
--
-- Descriptors go in the control messages (Unix sockets):
--
--   mh:control():push(msghdr.cmsghdr.rights(fd1, fd2))   -- sent with the next sendmsg
--   local cmsg = rh:control():shift()   -- after a recvmsg that got some:
--   cmsg:level() == net.SOL_SOCKET, cmsg:type() == net.SCM_RIGHTS, cmsg:data() -- fd1', fd2'
--
-- `msghdr.cmsghdr` (`new(level, type, data)`, `rights(fd, ...)`) and `msghdr.cmsghdrs`
-- (`new()`) stand in for llsocket's modules of those names. `mh.msg` is the underlying
-- header (`name`, `iov`, `control`, `flags`, as llsocket.msghdr); `mh:flags()` gives the
-- flags of the last recvmsg (net.MSG_TRUNC when a datagram was cut to fit).

local CANONICAL = "luanet.net.msghdr"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local class = require "luanet.net.class"
local addrinfo = require "luanet.net.addrinfo"
local iovec = require "luanet.iovec"

local type, error, select, tostring = type, error, select, tostring
local setmetatable, getmetatable = setmetatable, getmetatable
local format, match, rep = string.format, string.match, string.rep
local pack, unpack, packsize = string.pack, string.unpack, string.packsize
local floor, tointeger = math.floor, math.tointeger

local C = core.constants
local SOL_SOCKET, SCM_RIGHTS = C.SOL_SOCKET, C.SCM_RIGHTS
local INT_SIZE = packsize("i")

-- CMSG_LEN(0): the size of a control message header on this platform.
local CMSG_HDR
if tostring(core.platform) == "Linux" or tostring(core.platform) == "Android" then
  CMSG_HDR = packsize("T") + 2 * INT_SIZE -- cmsg_len is a size_t, aligned to it
  CMSG_HDR = (CMSG_HDR + packsize("T") - 1) // packsize("T") * packsize("T")
else
  CMSG_HDR = 3 * INT_SIZE -- socklen_t, int, int
end

local function argerror(n, fname, expected, got, level)
  error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, expected,
    got == nil and "no value" or type(got)), (level or 2) + 1)
end

local function address(t)
  return match(tostring(t), "0x%x+") or "0x0"
end

---------------------------------------------------------------------------------------------
-- llsocket.cmsghdr: one control message (level, type, data)

local CM = setmetatable({}, { __mode = "k" })
local Cmsghdr = {}
local CMSGHDR_MT = {
  __index = Cmsghdr,
  __name = "llsocket.cmsghdr",
  __len = function(self)
    return CMSG_HDR + #CM[self].data
  end,
  __tostring = function(self)
    return "llsocket.cmsghdr: " .. CM[self].where
  end,
}

local function new_cmsg(level, typ, data)
  local t = {}
  CM[t] = { level = level, type = typ, data = data, where = address(t) }
  return setmetatable(t, CMSGHDR_MT)
end

function Cmsghdr:level()
  return CM[self].level
end

function Cmsghdr:type()
  return CM[self].type
end

local function is_rights(c)
  return c.level == SOL_SOCKET and c.type == SCM_RIGHTS
end

-- The descriptors of an SCM_RIGHTS message (nothing when it has none).
local function fds_of(data)
  local n = #data // INT_SIZE
  if n == 0 then
    return nil
  end
  local fmt = "=" .. rep("i", n)
  local t = { unpack(fmt, data) }
  t[n + 1] = nil -- the position unpack returns last
  return t, n
end

--- data(): the descriptors of an SCM_RIGHTS message, else the data string.
function Cmsghdr:data()
  local c = CM[self]
  if is_rights(c) then
    if #c.data == 0 then
      return nil
    elseif #c.data % INT_SIZE ~= 0 then
      error(format("SCM_RIGHTS protocol violation: data length is not a multiple of %d", INT_SIZE), 2)
    end
    local t, n = fds_of(c.data)
    return table.unpack(t, 1, n)
  end
  return c.data
end

local cmsghdr = {}

--- cmsghdr.new(level, type [, data]): a control message.
function cmsghdr.new(level, typ, data)
  if tointeger(level) == nil then
    argerror(1, "new", "integer", level)
  elseif tointeger(typ) == nil then
    argerror(2, "new", "integer", typ)
  elseif data ~= nil and type(data) ~= "string" then
    argerror(3, "new", "string", data)
  end
  return new_cmsg(tointeger(level), tointeger(typ), data or "")
end

--- cmsghdr.rights(fd [, ...]): an SCM_RIGHTS message carrying the descriptors (nil
--- without any).
function cmsghdr.rights(...)
  local n = select("#", ...)
  if n == 0 then
    return nil
  end
  for i = 1, n do
    local fd = tointeger((select(i, ...)))
    if fd == nil or fd < -0x80000000 or fd > 0x7fffffff then
      argerror(i, "rights", "int32", (select(i, ...)))
    end
  end
  return new_cmsg(SOL_SOCKET, SCM_RIGHTS, pack("=" .. rep("i", n), ...))
end

---------------------------------------------------------------------------------------------
-- llsocket.cmsghdrs: a list of control messages

local CL = setmetatable({}, { __mode = "k" })
local Cmsghdrs = {}
local CMSGHDRS_MT = {
  __index = Cmsghdrs,
  __name = "llsocket.cmsghdrs",
  __tostring = function(self)
    return "llsocket.cmsghdrs: " .. CL[self].where
  end,
}

local cmsghdrs = {}

--- cmsghdrs.new(): an empty list.
function cmsghdrs.new()
  local t = {}
  CL[t] = { where = address(t) }
  return setmetatable(t, CMSGHDRS_MT)
end

--- push(cmsg): appends a control message.
function Cmsghdrs:push(cmsg)
  if getmetatable(cmsg) ~= CMSGHDR_MT then
    argerror(1, "push", "llsocket.cmsghdr", cmsg)
  end
  local l = CL[self]
  l[#l + 1] = cmsg
end

--- shift(): removes the first control message and returns it (nil: none left).
function Cmsghdrs:shift()
  return table.remove(CL[self], 1)
end

---------------------------------------------------------------------------------------------
-- llsocket.msghdr: the header (name, iov, control, flags)

local MH = setmetatable({}, { __mode = "k" })
local Msg = {}
local MSG_MT = {
  __index = Msg,
  __name = "llsocket.msghdr",
  __tostring = function(self)
    return "llsocket.msghdr: " .. MH[self].where
  end,
}

local function new_msg()
  local t = {}
  MH[t] = { where = address(t), flags = 0 }
  return setmetatable(t, MSG_MT)
end

-- A getter-setter of field `key`: without an argument the current value; with one (nil
-- removes it) the previous value.
local function field(key, fname, expected, valid)
  return function(self, ...)
    local h = MH[self]
    if select("#", ...) == 0 then
      return h[key]
    end
    local v = ...
    if v ~= nil and not valid(v) then
      argerror(1, fname, expected, v)
    end
    local old = h[key]
    h[key] = v
    return old
  end
end

Msg.name = field("name", "name", "llsocket.addrinfo", addrinfo.is_addrinfo)
Msg.iov = field("iov", "iov", "iovec", iovec.__internal.is_iovec)
Msg.control = field("control", "control", "llsocket.cmsghdrs", function(v)
  return getmetatable(v) == CMSGHDRS_MT
end)

--- flags(): the MSG_* flags of the last recvmsg.
function Msg:flags()
  return MH[self].flags
end

---------------------------------------------------------------------------------------------
-- net.msghdr.MsgHdr

local function is_int(v)
  return type(v) == "number" and floor(v) == v and v > -math.huge and v < math.huge
end

local MsgHdr = {}

function MsgHdr:init()
  self.msg = new_msg()
  return self
end

--- name([ai]): the address (datagram destination or sender); with an argument (nil
--- removes it) the previous one.
function MsgHdr:name(...)
  local h = MH[self.msg]
  if select("#", ...) == 0 then
    return h.name
  end
  local ai = ...
  if ai ~= nil and not addrinfo.is_addrinfo(ai) then
    argerror(1, "name", "llsocket.addrinfo", ai)
  end
  local old = h.name
  h.name = ai
  return old
end

--- control(): the control messages (made on the first call).
function MsgHdr:control()
  local h = MH[self.msg]
  if h.control == nil then
    h.control = cmsghdrs.new()
  end
  return h.control
end

--- flags(): the MSG_* flags of the last recvmsg (an addition: llsocket's mh.msg:flags()).
function MsgHdr:flags()
  return MH[self.msg].flags
end

function MsgHdr:bytes()
  local iov = self.iov
  if iov then
    return iov:bytes()
  end
  return 0
end

function MsgHdr:consume(bytes)
  if not is_int(bytes) then
    error("bytes must be int", 2)
  end
  local iov = self.iov
  if iov then
    return iov:consume(bytes)
  end
  return 0
end

function MsgHdr:concat()
  local iov = self.iov
  if iov then
    return iov:concat()
  end
  return ""
end

local function ensure_iov(self)
  if not self.iov then
    self.iov = iovec.new()
    self.msg:iov(self.iov)
  end
  return self.iov
end

function MsgHdr:add(str)
  return ensure_iov(self):add(str)
end

function MsgHdr:addn(bytes)
  return ensure_iov(self):addn(bytes)
end

function MsgHdr:get(idx)
  if not is_int(idx) then
    error("idx must be int", 2)
  elseif self.iov then
    return self.iov:get(idx)
  end
  return nil
end

function MsgHdr:del(idx)
  if not is_int(idx) then
    error("idx must be int", 2)
  elseif self.iov then
    return self.iov:del(idx)
  end
  return nil
end

local New = class.new("net.msghdr.MsgHdr", MsgHdr)

local M = {
  new = function()
    return New()
  end,
  cmsghdr = cmsghdr,
  cmsghdrs = cmsghdrs,
}

---------------------------------------------------------------------------------------------
-- Internal access for net.* (not part of lua-net's surface)

local INTERNAL = {}

function INTERNAL.is_msghdr(v)
  return class.instanceof(v, "net.msghdr.MsgHdr") and MH[v.msg] ~= nil
end

--- iov(mh): the iovec sendmsg/recvmsg use (the header's), or nil.
function INTERNAL.iov(mh)
  return MH[mh.msg].iov or mh.iov
end

function INTERNAL.name(mh)
  return MH[mh.msg].name
end

--- rights(mh): the descriptors of the SCM_RIGHTS control messages to send (nil: none),
--- or nil, name of an unsupported message kind.
function INTERNAL.rights(mh)
  local list = MH[mh.msg].control
  local fds
  for _, cmsg in ipairs(list and CL[list] or {}) do
    local c = CM[cmsg]
    if not is_rights(c) then
      return nil, format("control message level %d type %d", c.level, c.type)
    end
    local t, n = fds_of(c.data)
    for i = 1, n or 0 do
      fds = fds or {}
      fds[#fds + 1] = t[i]
    end
  end
  return fds
end

--- received(mh, flags, fds, set_name, ai): what a recvmsg got: the flags, the descriptors
--- (they replace the control messages; the list is made if there were none), and, when
--- set_name, the sender's address.
function INTERNAL.received(mh, flags, fds, set_name, ai)
  local h = MH[mh.msg]
  h.flags = flags
  if h.control ~= nil then
    local l = CL[h.control]
    for i = #l, 1, -1 do
      l[i] = nil
    end
  end
  if fds and #fds > 0 then
    if h.control == nil then
      h.control = cmsghdrs.new()
    end
    local l = CL[h.control]
    l[#l + 1] = cmsghdr.rights(table.unpack(fds))
  end
  if set_name then
    h.name = ai
  end
end

setmetatable(M, {
  __index = function(_, k)
    if k == "__internal" then
      return INTERNAL
    end
  end,
})

package.loaded[CANONICAL] = M
return M
