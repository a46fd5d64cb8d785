-- What the Hammerspoon modules share: running script callbacks from the loop, with an
-- error logged as "<label>: <msg>" (decision 3) and the loop going on; LuaSkin-style
-- argument errors; sockaddr strings in the macOS layout.
local M = {}

local log
function M.log()
  if log == nil then
    log = hs.luaSkinLog
  end
  return log
end

--- Calls `fn(...)`; an error is logged as "<label>: <msg>". Returns whether it succeeded.
function M.call(label, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    M.log().e(label .. ": " .. tostring(err))
  end
  return ok
end

-- ---------------------------------------------------------------- argument checks (LuaSkin style)

-- Raised at level 3: the caller of the API function that called this.
function M.argerror(n, v, expected)
  error(
    ("ERROR: incorrect type '%s' for argument %d (expected %s)"):format(type(v) == "nil" and "no value" or type(v), n, expected),
    3
  )
end

-- LuaSkin's argument count check; `self` counts as an argument. `...` are the arguments past
-- the `max` the function takes. Raised at `level` (3: the caller of the API function).
local function too_many(max, level, ...)
  error(("ERROR: incorrect number of arguments. Expected %d, got %d"):format(max, max + select("#", ...)), level)
end

--- For module functions: `M.too_many(max, ...)` with the arguments past `max`.
function M.too_many(max, ...)
  too_many(max, 4, ...)
end

--- A LuaSkin object type `name`: its method table, its metatable (registered for
--- hs.getObjectMetatable) and `check_self(self [, max, ...])`, which raises LuaSkin's
--- errors for a wrong receiver and, given `max` (self included) and the arguments past it,
--- for too many arguments.
function M.class(name)
  local methods = {}
  local mt = { __index = methods, __type = name, __name = name }
  if rawget(_G, "hs") and hs._registerMetatable then
    hs._registerMetatable(name, mt)
  end
  local wrong = "ERROR: incorrect userdata type for argument 1 (expected " .. name .. ")"
  local function check_self(self, max, ...)
    if getmetatable(self) ~= mt then
      error(wrong, 3)
    end
    if max and select("#", ...) > 0 then
      too_many(max, 4, ...)
    end
  end
  return methods, mt, check_self
end

-- An integral float becomes an integer; a fractional one raises as LuaSkin does.
function M.check_int(v, n)
  if math.type(v) == "float" then
    if v ~= math.floor(v) then
      error(("ERROR: number must be an integer for argument %d"):format(n), 3)
    end
    return math.tointeger(v)
  end
  return v
end

-- ---------------------------------------------------------------- sockaddr (BSD layout, decision 4)

local function ipv6_bytes(ip)
  ip = ip:gsub("%%.*$", "")
  local v4 = ip:match(":(%d+%.%d+%.%d+%.%d+)$")
  local tail = {}
  if v4 then
    ip = ip:sub(1, #ip - #v4 - 1) .. ":0:0"
    for o in v4:gmatch("%d+") do
      tail[#tail + 1] = tonumber(o)
    end
  end
  local head, rest = ip:match("^(.-)::(.*)$")
  local groups = {}
  local function split(s, out)
    for g in s:gmatch("[^:]+") do
      out[#out + 1] = tonumber(g, 16) or 0
    end
  end
  if head then
    local a, b = {}, {}
    split(head, a)
    split(rest, b)
    for _, g in ipairs(a) do
      groups[#groups + 1] = g
    end
    for _ = 1, 8 - #a - #b do
      groups[#groups + 1] = 0
    end
    for _, g in ipairs(b) do
      groups[#groups + 1] = g
    end
  else
    split(ip, groups)
  end
  local out = {}
  for i = 1, 8 do
    local g = groups[i] or 0
    out[#out + 1] = string.char(g >> 8, g & 255)
  end
  local s = table.concat(out)
  if v4 then
    s = s:sub(1, 12) .. string.char(tail[1], tail[2], tail[3], tail[4])
  end
  return s
end

function M.sockaddr(ip, port)
  if type(ip) ~= "string" or type(port) ~= "number" then
    return ""
  end
  if ip:find(":", 1, true) then
    return string.char(28, 30, port >> 8, port & 255) .. ("\0"):rep(4) .. ipv6_bytes(ip) .. ("\0"):rep(4)
  end
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then
    return ""
  end
  return string.char(16, 2, port >> 8, port & 255, tonumber(a), tonumber(b), tonumber(c), tonumber(d))
    .. ("\0"):rep(8)
end

-- The IPv6 text inet_ntop gives on BSD: lowercase hex, the longest run of two or more zero
-- groups (the first of equals) as "::", an embedded IPv4 address for mapped/compatible ones.
local function ipv6_text(b)
  local w = {}
  for i = 1, 8 do
    w[i] = (b:byte(2 * i - 1) << 8) | b:byte(2 * i)
  end
  local best, best_len, cur, cur_len = nil, 0, nil, 0
  for i = 1, 8 do
    if w[i] == 0 then
      cur, cur_len = cur or i, cur_len + 1
      if cur_len > best_len then
        best, best_len = cur, cur_len
      end
    else
      cur, cur_len = nil, 0
    end
  end
  if best_len < 2 then
    best = nil
  end
  local out, i = {}, 1
  while i <= 8 do
    if i == best then
      out[#out + 1] = i == 1 and "::" or ":"
      i = i + best_len
    else
      local embedded = best == 1 and i == 7
        and (best_len == 6 or (best_len == 7 and w[8] ~= 1) or (best_len == 5 and w[6] == 0xffff))
      if best == 1 and best_len == 5 and w[6] == 0xffff and i == 6 then
        out[#out + 1] = "ffff:"
      elseif embedded then
        out[#out + 1] = ("%d.%d.%d.%d"):format(b:byte(13, 16))
        break
      else
        out[#out + 1] = ("%x"):format(w[i]) .. (i < 8 and ":" or "")
      end
      i = i + 1
    end
  end
  return (table.concat(out):gsub(":$", function()
    return best and best + best_len - 1 == 8 and ":" or ""
  end))
end

-- `hs.socket.parseAddress`: a sockaddr string in the macOS layout -> {host, port,
-- addressFamily}, or nil for anything else (short strings, other families).
function M.parse_sockaddr(sa)
  if type(sa) ~= "string" then
    error(("ERROR: incorrect type '%s' for argument 1 (expected string)"):format(type(sa) == "nil" and "no value" or type(sa)), 3)
  end
  if #sa < 16 then
    return nil
  end
  local family, port = sa:byte(2), (sa:byte(3) << 8) | sa:byte(4)
  if family == 2 then
    return { host = ("%d.%d.%d.%d"):format(sa:byte(5, 8)), port = port, addressFamily = 2 }
  elseif family == 30 and #sa >= 28 then
    return { host = ipv6_text(sa:sub(9, 24)), port = port, addressFamily = 30 }
  end
  return nil
end

return M
