-- `iovec` of the luanet dialect: mah0x211's lua-iovec, the buffer list that lua-net's
-- readv/writev and net.msghdr work with.
--
--   local iovec = require "iovec"
--   local iov = iovec.new()
--   iov:add("hello")              -- 1 (the index of the new element)
--   iov:addn(5)                   -- 2: a 5-byte element (spaces), room for readv to fill
--   iov:bytes(), #iov             -- 10, 2
--   iov:get(1), iov:set("HELLO", 1), iov:del(2)
--   iov:concat([offset [, nbyte]])   -- the bytes as one string
--   iov:consume(3)                -- drops 3 bytes from the front: the bytes left (2)
--   sock:writev(iov), sock:readv(iov [, offset [, nbyte]])
--
-- Elements hold any bytes (upstream's C buffers end at the first NUL byte). At most
-- iovec.IOV_MAX elements: past it add/addn return -1, ENOBUFS; adding "" returns -3, EINVAL.
-- iov:writev(fd)/iov:readv(fd) work on the descriptors of the runtime's sockets only.
--
-- The module is a single instance whatever name it is required by.

local CANONICAL = "luanet.iovec"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local errno = require "luanet.errno"

local type, error, tostring = type, error, tostring
local setmetatable, getmetatable = setmetatable, getmetatable
local concat, remove = table.concat, table.remove
local sub, rep, format, match = string.sub, string.rep, string.format, string.match
local tointeger, min = math.tointeger, math.min

local IOV_MAX = 1024

-- The state of each iovec: { n = elements, nbyte = bytes, where = "0x…", [i] = string }.
local S = setmetatable({}, { __mode = "k" })

local Iovec = {}
local MT = {
  __index = Iovec,
  __name = "iovec",
  __len = function(self)
    return S[self].n
  end,
  __tostring = function(self)
    return "iovec: " .. S[self].where
  end,
}

-- argerror(n, fname, expected, got, level): lauxlib's "bad argument" message; level 2 is
-- the caller of the function that calls argerror.
local function argerror(n, fname, expected, got, level)
  error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, expected,
    got == nil and "no value" or type(got)), level + 1)
end

-- Checks for argument n of method fname (they must be called by the method itself).
local function checkint(n, fname, v)
  local i = tointeger(v)
  if i == nil then
    argerror(n, fname, "integer", v, 3)
  end
  return i
end

local function optint(n, fname, v, default)
  if v == nil then
    return default
  end
  local i = tointeger(v)
  if i == nil then
    argerror(n, fname, "integer", v, 3)
  end
  return i
end

local function optuint(n, fname, v)
  if v == nil then
    return 0
  end
  local i = tointeger(v)
  if i == nil or i < 0 then
    argerror(n, fname, "uint64_t", v, 3)
  end
  return i
end

local function state(self)
  local st = S[self]
  if st == nil then
    error(format("bad argument #1 (iovec expected, got %s)", type(self)), 3)
  end
  return st
end

--- bytes(): the number of bytes held.
function Iovec:bytes()
  return state(self).nbyte
end

local function push(st, fname, str)
  if st.n >= IOV_MAX then
    return -1, errno.new("ENOBUFS", nil, fname)
  end
  st.n = st.n + 1
  st[st.n] = str
  st.nbyte = st.nbyte + #str
  return st.n
end

--- add(str): the index of the new element, or -1 (full), -3 (empty string), err.
function Iovec:add(str)
  local st = state(self)
  if type(str) ~= "string" then
    argerror(1, "add", "string", str, 2)
  elseif #str == 0 then
    return -3, errno.new("EINVAL", "empty string cannot be added", "add")
  end
  return push(st, "add", str)
end

--- addn(nbyte): the index of a new element of nbyte bytes (spaces), or -1, err when full.
function Iovec:addn(nbyte)
  local st = state(self)
  local n = checkint(1, "addn", nbyte)
  if n < 1 then
    error("bad argument #1 to 'addn' (1 or more integer expected, got less than 1)", 2)
  end
  return push(st, "addn", rep(" ", n))
end

--- set(str, idx): replaces element idx; false when there is no such element.
function Iovec:set(str, idx)
  local st = state(self)
  if type(str) ~= "string" then
    argerror(1, "set", "string", str, 2)
  end
  local i = checkint(2, "set", idx)
  if i < 1 or i > st.n then
    return false
  end
  st.nbyte = st.nbyte - #st[i] + #str
  st[i] = str
  return true
end

--- get(idx): the bytes of element idx, or nil.
function Iovec:get(idx)
  local st = state(self)
  local i = checkint(1, "get", idx)
  if i < 1 or i > st.n then
    return nil
  end
  return st[i]
end

--- del(idx): removes element idx and returns its bytes (nil: no such element); the
--- elements after it move down one index.
function Iovec:del(idx)
  local st = state(self)
  local i = checkint(1, "del", idx)
  if i < 1 or i > st.n then
    return nil
  end
  local s = remove(st, i)
  st.n = st.n - 1
  st.nbyte = st.nbyte - #s
  return s
end

-- The bytes from offset (0-based) on, at most nb of them.
local function slice(st, offset, nb)
  if st.n == 0 or nb <= 0 or offset >= st.nbyte then
    return ""
  end
  local all = st.n == 1 and st[1] or concat(st, "", 1, st.n)
  if offset == 0 and nb >= st.nbyte then
    return all
  end
  return sub(all, offset + 1, offset + nb)
end

--- concat([offset [, nbyte]]): the bytes held as one string (from offset, at most nbyte).
function Iovec:concat(offset, nbyte)
  local st = state(self)
  local off = optint(1, "concat", offset, 0)
  local nb = optint(2, "concat", nbyte, st.nbyte)
  if off < 0 then
    off = 0
  end
  return slice(st, off, nb)
end

--- consume(nbyte): drops nbyte bytes from the front; returns the bytes left.
function Iovec:consume(nbyte)
  local st = state(self)
  local nb = checkint(1, "consume", nbyte)
  if nb <= 0 then
    return st.nbyte
  elseif nb >= st.nbyte then
    for i = st.n, 1, -1 do
      st[i] = nil
    end
    st.n, st.nbyte = 0, 0
    return 0
  end
  while nb > 0 and st.n > 0 do
    local first = st[1]
    if nb < #first then
      st[1] = sub(first, nb + 1)
      st.nbyte = st.nbyte - nb
      break
    end
    remove(st, 1)
    st.n = st.n - 1
    st.nbyte = st.nbyte - #first
    nb = nb - #first
  end
  return st.nbyte
end

-- scatter(st, offset, data): writes data over the held bytes from offset on, in place (the
-- elements keep their sizes); data must fit.
local function scatter(st, offset, data)
  local len, di, pos = #data, 1, 0
  for i = 1, st.n do
    if di > len then
      break
    end
    local b = st[i]
    local blen = #b
    if pos + blen > offset then
      local from = offset > pos and offset - pos or 0
      local take = min(blen - from, len - di + 1)
      st[i] = sub(b, 1, from) .. sub(data, di, di + take - 1) .. sub(b, from + take + 1)
      di = di + take
      offset = pos + from + take
    end
    pos = pos + blen
  end
end

-- The room for readv/writev from offset: bytes (0 when offset is past the end).
local function room(st, offset, nbyte)
  local left = st.nbyte - offset
  if left <= 0 then
    return 0
  elseif nbyte > 0 and nbyte < left then
    return nbyte
  end
  return left
end

-- The runtime's socket object that owns fd, or nil, err.
local function owner(fd, op)
  local obj = core.object(fd)
  if obj == nil then
    return nil, errno.new("EBADF", "not a descriptor of the runtime's sockets", op)
  end
  local kind = match(tostring(obj), "^rluanet%.(%a+)")
  if kind ~= "stream" and kind ~= "datagram" then
    return nil, errno.new("ENOTCONN", nil, op)
  end
  return obj
end

--- writev(fd [, offset [, nbyte]]): n, nil, again (n < the bytes asked for); 0, nil, true
--- when it would block; nothing when the peer is gone; nil, err.
function Iovec:writev(fd, offset, nbyte)
  local st = state(self)
  checkint(1, "writev", fd)
  local off = optuint(2, "writev", offset)
  local nb = room(st, off, optuint(3, "writev", nbyte))
  local obj, err = owner(fd, "writev")
  if not obj then
    return nil, err
  end
  local n, msg, code = obj:send(slice(st, off, nb))
  if n == nil then
    if code == core.errno.EPIPE or code == core.errno.ECONNRESET then
      return
    end
    return nil, errno.from_core(msg, code, "writev")
  elseif n == 0 and nb > 0 then
    return 0, nil, true
  end
  return n, nil, n < nb
end

--- readv(fd [, offset [, nbyte]]): n (the bytes read into the elements from offset on);
--- nil, nil, true when nothing is there yet; nothing at the end of the stream; nil, err.
function Iovec:readv(fd, offset, nbyte)
  local st = state(self)
  checkint(1, "readv", fd)
  local off = optuint(2, "readv", offset)
  local nb = room(st, off, optuint(3, "readv", nbyte))
  local obj, err = owner(fd, "readv")
  if not obj then
    return nil, err
  elseif nb == 0 then
    return nil, errno.new("EINVAL", "no room in the iovec", "readv")
  end
  local data, msg, code
  if match(tostring(obj), "^rluanet%.datagram") then
    data, msg, code = obj:recv(nb)
  else
    data, msg, code = obj:read(nb)
  end
  if data then
    scatter(st, off, data)
    return #data
  elseif data == false then
    return nil, nil, true
  elseif msg ~= nil then
    return nil, errno.from_core(msg, code, "readv")
  end
end

local M = {
  IOV_MAX = IOV_MAX,
}

--- new(): an empty iovec.
function M.new()
  local t = {}
  S[t] = { n = 0, nbyte = 0, where = match(tostring(t), "0x%x+") or "0x0" }
  return setmetatable(t, MT)
end

-- Internal access for net.* (not part of lua-iovec's surface).
local INTERNAL = {
  is_iovec = function(v)
    return getmetatable(v) == MT
  end,
  --- scatter(iov, offset, data): writes data over the bytes from offset on.
  scatter = function(iov, offset, data)
    scatter(S[iov], offset, data)
  end,
  --- room(iov, offset, nbyte): the bytes readv/writev use from offset (nbyte 0: all).
  room = function(iov, offset, nbyte)
    return room(S[iov], offset, nbyte)
  end,
}
setmetatable(M, {
  __index = function(_, k)
    if k == "__internal" then
      return INTERNAL
    end
  end,
})

package.loaded[CANONICAL] = M
return M
