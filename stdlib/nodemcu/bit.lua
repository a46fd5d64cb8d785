-- NodeMCU `bit`: bitwise operations on 32-bit integers, as on the device.
--
-- The firmware (app/modules/bit.c) works on its Lua integer, 32 bits by default, and
-- pushes every result back as a signed integer: bit.bnot(0) is -1, bit.bit(31) is
-- -2147483648, bit.rshift(-1, 0) is -1. Here arguments are integers of any size (or
-- strings or floats with an exact integer value, like luaL_checkinteger accepts); they
-- are taken modulo 2^32 and results come back in the signed range -2^31..2^31-1.
-- Shift counts and bit positions use their low five bits, which is what the device's
-- shift instructions do with C's out-of-range shifts (so a shift by 32 leaves the value
-- unchanged and bit.bit(32) is 1).
local M = {}

local type, select, error, tonumber, format = type, select, error, tonumber, string.format
local tointeger = math.tointeger

local function bad(i, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", i, fname, msg), 4)
end

-- luaL_checkinteger for argument `i` of `fname`; `n` is how many arguments were given.
local function int(v, i, fname, n)
  local x = tointeger(v)
  if x then
    return x
  end
  if i > n then
    bad(i, fname, "number expected, got no value")
  elseif type(v) == "number" or (type(v) == "string" and tonumber(v)) then
    bad(i, fname, "number has no integer representation")
  end
  bad(i, fname, "number expected, got " .. type(v))
end

local function s32(x)
  x = x & 0xFFFFFFFF
  if x >= 0x80000000 then
    return x - 0x100000000
  end
  return x
end

--- bit.bnot(value) -> ~value
function M.bnot(...)
  return s32(~int(..., 1, "bnot", select("#", ...)))
end

--- bit.band(val1, val2 [, ...]) -> val1 & val2 & ...
function M.band(...)
  local n = select("#", ...)
  local w = int(..., 1, "band", n)
  for i = 2, n do
    w = w & int((select(i, ...)), i, "band", n)
  end
  return s32(w)
end

--- bit.bor(val1, val2 [, ...]) -> val1 | val2 | ...
function M.bor(...)
  local n = select("#", ...)
  local w = int(..., 1, "bor", n)
  for i = 2, n do
    w = w | int((select(i, ...)), i, "bor", n)
  end
  return s32(w)
end

--- bit.bxor(val1, val2 [, ...]) -> val1 ~ val2 ~ ...
function M.bxor(...)
  local n = select("#", ...)
  local w = int(..., 1, "bxor", n)
  for i = 2, n do
    w = w ~ int((select(i, ...)), i, "bxor", n)
  end
  return s32(w)
end

--- bit.lshift(value, shift) -> value << shift
function M.lshift(...)
  local n = select("#", ...)
  local v, s = ...
  v, s = int(v, 1, "lshift", n), int(s, 2, "lshift", n)
  return s32(v << (s & 31))
end

--- bit.rshift(value, shift) -> (unsigned) value >> shift, logical
function M.rshift(...)
  local n = select("#", ...)
  local v, s = ...
  v, s = int(v, 1, "rshift", n), int(s, 2, "rshift", n)
  return s32((v & 0xFFFFFFFF) >> (s & 31))
end

--- bit.arshift(value, shift) -> value >> shift, arithmetic (the sign bit is copied)
function M.arshift(...)
  local n = select("#", ...)
  local v, s = ...
  v, s = int(v, 1, "arshift", n), int(s, 2, "arshift", n)
  -- s32(v) is sign-extended to 64 bits, so a logical shift of it brings copies of the
  -- sign bit into the low 32 bits.
  return s32(s32(v) >> (s & 31))
end

--- bit.bit(position) -> 1 << position
function M.bit(...)
  return s32(1 << (int(..., 1, "bit", select("#", ...)) & 31))
end

--- bit.isset(value, position) -> true if that bit is 1
function M.isset(...)
  local n = select("#", ...)
  local v, p = ...
  v, p = int(v, 1, "isset", n), int(p, 2, "isset", n)
  return v & (1 << (p & 31)) ~= 0
end

--- bit.isclear(value, position) -> true if that bit is 0
function M.isclear(...)
  local n = select("#", ...)
  local v, p = ...
  v, p = int(v, 1, "isclear", n), int(p, 2, "isclear", n)
  return v & (1 << (p & 31)) == 0
end

--- bit.set(value, pos1 [, ...]) -> value with those bits set
function M.set(...)
  local n = select("#", ...)
  local w = int(..., 1, "set", n)
  for i = 2, n do
    w = w | (1 << (int((select(i, ...)), i, "set", n) & 31))
  end
  return s32(w)
end

--- bit.clear(value, pos1 [, ...]) -> value with those bits cleared
function M.clear(...)
  local n = select("#", ...)
  local w = int(..., 1, "clear", n)
  for i = 2, n do
    w = w & ~(1 << (int((select(i, ...)), i, "clear", n) & 31))
  end
  return s32(w)
end

return M
