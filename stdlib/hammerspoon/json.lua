-- hs.json: JSON text <-> Lua tables, as NSJSONSerialization does it for Hammerspoon:
-- a top-level table only; a table whose keys are exactly 1..n (or an empty one) is an array,
-- any other an object with string keys (sorted, so output is stable); "/" is written "\/";
-- pretty output indents by two spaces with " : " between key and value. JSON null decodes
-- to nil (the key is absent).
local M = {}

local type, pairs, error, tostring = type, pairs, error, tostring
local mtype = math.type

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["/"] = "\\/", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function quote(s)
  return '"' .. s:gsub('[%c"\\/]', function(c)
    return ESC[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function number(n)
  if mtype(n) == "integer" then
    return tostring(n)
  end
  if n ~= n or n == math.huge or n == -math.huge then
    error("hs.json.encode: " .. tostring(n) .. " cannot be written as JSON", 0)
  end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then
    return ("%d"):format(n)
  end
  for digits = 15, 17 do
    local s = ("%." .. digits .. "g"):format(n)
    if tonumber(s) == n then
      return s
    end
  end
  return ("%.17g"):format(n)
end

local function is_array(t)
  local n = #t
  for k in pairs(t) do
    if mtype(k) ~= "integer" or k < 1 or k > n then
      return false
    end
  end
  return true
end

local function encode(v, pretty, depth, seen, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "number" then
    out[#out + 1] = number(v)
  elseif tv == "boolean" then
    out[#out + 1] = tostring(v)
  elseif tv == "table" then
    if seen[v] then
      error("hs.json.encode: a table contains itself", 0)
    end
    seen[v] = true
    local pad = pretty and "\n" .. ("  "):rep(depth + 1) or ""
    local close = pretty and "\n" .. ("  "):rep(depth) or ""
    if is_array(v) then
      if #v == 0 then
        out[#out + 1] = "[]"
      else
        out[#out + 1] = "["
        for i = 1, #v do
          out[#out + 1] = (i > 1 and "," or "") .. pad
          encode(v[i], pretty, depth + 1, seen, out)
        end
        out[#out + 1] = close .. "]"
      end
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then
          error(("hs.json.encode: object keys must be strings (got a %s key)"):format(type(k)), 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        out[#out + 1] = (i > 1 and "," or "") .. pad .. quote(k) .. (pretty and " : " or ":")
        encode(v[k], pretty, depth + 1, seen, out)
      end
      out[#out + 1] = close .. "}"
    end
    seen[v] = nil
  else
    error(("hs.json.encode: a %s cannot be written as JSON"):format(tv), 0)
  end
end

function M.encode(val, pretty)
  if type(val) ~= "table" then
    error("non-table object given to json encoder", 2)
  end
  local out = {}
  local ok, err = pcall(encode, val, pretty == true, 0, {}, out)
  if not ok then
    error(err, 2)
  end
  return table.concat(out)
end

-- ---------------------------------------------------------------- decoding

local function decode_error(s, pos, what)
  error(("hs.json.decode: %s at character %d"):format(what, pos), 0)
end

local function skip(s, pos)
  return s:find("[^ \t\r\n]", pos) or #s + 1
end

local value

local function str(s, pos)
  local out, i = {}, pos + 1
  while true do
    local a, b, chunk, c = s:find('^([^"\\%c]*)([%c"\\])', i)
    if not a then
      decode_error(s, i, "unterminated string")
    end
    out[#out + 1] = chunk
    i = b + 1
    if c == '"' then
      return table.concat(out), i
    elseif c == "\\" then
      local e = s:sub(i, i)
      local simple = ({ b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" })[e]
      if simple then
        out[#out + 1], i = simple, i + 1
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", i + 1)
        if not hex then
          decode_error(s, i, "bad \\u escape")
        end
        local cp = tonumber(hex, 16)
        i = i + 5
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = s:match("^\\u(%x%x%x%x)", i)
          lo = lo and tonumber(lo, 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp, i = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00), i + 6
          end
        end
        out[#out + 1] = utf8.char(cp)
      else
        decode_error(s, i, "bad escape")
      end
    else
      decode_error(s, i - 1, "control character in string")
    end
  end
end

value = function(s, pos, depth)
  if depth > 512 then
    decode_error(s, pos, "nesting too deep")
  end
  pos = skip(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then
    local t = {}
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "}" then
      return t, pos + 1
    end
    while true do
      if s:sub(pos, pos) ~= '"' then
        decode_error(s, pos, "expected a string key")
      end
      local k
      k, pos = str(s, pos)
      pos = skip(s, pos)
      if s:sub(pos, pos) ~= ":" then
        decode_error(s, pos, "expected ':'")
      end
      t[k], pos = value(s, pos + 1, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "}" then
        return t, pos + 1
      elseif d ~= "," then
        decode_error(s, pos, "expected ',' or '}'")
      end
      pos = skip(s, pos + 1)
    end
  elseif c == "[" then
    local t, n = {}, 0
    pos = skip(s, pos + 1)
    if s:sub(pos, pos) == "]" then
      return t, pos + 1
    end
    while true do
      n = n + 1
      t[n], pos = value(s, pos, depth + 1)
      pos = skip(s, pos)
      local d = s:sub(pos, pos)
      if d == "]" then
        return t, pos + 1
      elseif d ~= "," then
        decode_error(s, pos, "expected ',' or ']'")
      end
      pos = pos + 1
    end
  elseif c == '"' then
    return str(s, pos)
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if num and num ~= "" and num ~= "-" then
    local v = math.tointeger(tonumber(num)) or tonumber(num)
    if v == nil then
      decode_error(s, pos, "bad number")
    end
    return v, pos + #num
  end
  for word, v in pairs({ ["true"] = true, ["false"] = false, ["null"] = M }) do
    if s:sub(pos, pos + #word - 1) == word then
      if v == M then
        v = nil
      end
      return v, pos + #word
    end
  end
  decode_error(s, pos, pos > #s and "unexpected end of input" or "unexpected character")
end

function M.decode(s)
  if type(s) ~= "string" then
    error(("ERROR: incorrect type '%s' for argument 1 (expected string)"):format(type(s) == "nil" and "no value" or type(s)), 2)
  end
  local ok, v, pos = pcall(value, s, 1, 0)
  if ok and skip(s, pos) <= #s then
    ok, v = false, ("hs.json.decode: unexpected text after the value at character %d"):format(skip(s, pos))
  end
  if not ok then
    error(v, 2)
  end
  return v
end

return M
