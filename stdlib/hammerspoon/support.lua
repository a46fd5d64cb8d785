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

return M
