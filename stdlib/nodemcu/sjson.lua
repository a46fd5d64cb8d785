-- NodeMCU `sjson`: JSON encoding and decoding, including the firmware's streaming
-- decoder (`sjson.decoder()` + `:write()`) and lazy encoder (`sjson.encoder()` + `:read()`).
--
-- Behaviour follows the firmware module (app/modules/sjson.c on top of jsonsl):
--   * the top-level JSON value must be an object or an array (a bare scalar never
--     completes; a bare string is STRING_OUTSIDE_CONTAINER);
--   * parse errors are raised as "JSON parse error: <JSONSL_ERROR_NAME>", a decoder that
--     failed answers every later write with "JSON parse error: previous call";
--   * once the top-level value is complete, the rest of the input is ignored and every
--     later `write` returns the same result;
--   * JSON null decodes to `sjson.NULL`, or to `opts.null` whenever an options table is
--     given (so an options table without `null` makes nulls decode to nil, as upstream);
--   * `opts.metatable` is set on every decoded table, values are stored with ordinary
--     (non-raw) assignment so `__newindex` sees them, and `metatable.checkpath(t, path)`
--     decides whether each new table is attached to its parent;
--   * the encoder accepts a table only, encodes the empty table and tables whose keys
--     are all positive integers as arrays (holes become null), calls functions (up to
--     ten times) and encodes what they return, encodes nil, `sjson.NULL`, any userdata
--     and `opts.null` as null, and raises "encoder stack overflow" past `opts.depth`.
-- Deliberate differences (documented in docs/nodemcu.md): `depth` is honoured (the
-- firmware reads the wrong stack slot and always uses 20), backslashes are escaped
-- on output, NaN and infinities raise instead of producing invalid JSON, floats use the
-- shortest form that reads back exactly, surrogate pairs in \u escapes combine into one
-- UTF-8 character, and the grammar is strict (no control bytes inside strings, no
-- missing commas between array strings, bad \u hex digits raise).
local M = {}

local byte, find, sub, format, match, gsub = string.byte, string.find, string.sub, string.format, string.match,
  string.gsub
local concat = table.concat
local type, next, rawget, rawequal, tostring, tonumber = type, next, rawget, rawequal, tostring, tonumber
local setmetatable, getmetatable, error, pcall, select = setmetatable, getmetatable, error, pcall, select
local mtype, mtointeger, huge = math.type, math.tointeger, math.huge
local utf8char = utf8.char

-- The JSON null of decoded documents. The firmware uses a NULL light userdata, which pure
-- Lua cannot make: this is a unique read-only table instead (compare with `==`).
local NULL = setmetatable({}, {
  __name = "sjson.NULL",
  __tostring = function()
    return "sjson.NULL"
  end,
  __newindex = function()
    error("sjson.NULL is read-only", 2)
  end,
  __metatable = "sjson.NULL",
})
M.NULL = NULL

local DEFAULT_DEPTH = 20

-- Errors raised by this module (as opposed to errors from the script's own functions and
-- metamethods, which pass through untouched). The public functions re-raise the message
-- at the script's call site, as the firmware's luaL_error does.
local Internal = {}

local function fail(msg)
  error(setmetatable({ msg = msg }, Internal), 0)
end

local function perr(name)
  fail("JSON parse error: " .. name)
end

-- Called directly from a public function: level 3 is that function's caller.
local function rethrow(e)
  if getmetatable(e) == Internal then
    error(e.msg, 3)
  end
  error(e, 0)
end

local function typename(v, present)
  if not present then
    return "no value"
  end
  local mt = getmetatable(v)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then
    return mt.__name
  end
  return type(v)
end

local function argerror(n, fname, msg)
  error(format("bad argument #%d to '%s' (%s)", n, fname, msg), 3)
end

-- The depth option as the firmware means it: 0/absent is 20, clamped to 4..1000.
local function depth_of(opts)
  local d = 0
  if type(opts) == "table" then
    d = mtointeger(opts.depth) or 0
  end
  if d == 0 then
    d = DEFAULT_DEPTH
  end
  if d < 4 then
    d = 4
  elseif d > 1000 then
    d = 1000
  end
  return d
end

---------------------------------------------------------------------------- decoding

-- Parser modes.
local M_TOP, M_VFIRST, M_VALUE = 1, 2, 3 -- a value is expected (M_VFIRST: or `]`)
local M_KFIRST, M_KEY = 4, 5 -- an object key is expected (M_KFIRST: or `}`)
local M_COLON, M_AFTER = 6, 7 -- `:` expected / `,` or a closing bracket expected
local M_STR, M_SCALAR, M_DONE = 8, 9, 10 -- inside a string / after a top-level scalar / complete

-- Bytes that may follow a number or a literal (jsonsl's "special endings").
local SPECIAL_END = {}
for _, c in ipairs { 9, 10, 13, 32, 34, 44, 58, 91, 92, 93, 123, 125 } do
  SPECIAL_END[c] = true
end

-- Bytes that start a value other than a string.
local VALSTART = { [45] = true, [91] = true, [123] = true, [116] = true, [102] = true, [110] = true }
for c = 48, 57 do
  VALSTART[c] = true
end

-- Escapes allowed after a backslash, and what the simple ones stand for.
local UNESC = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t" }
local ESCOK = { [117] = true }
for c in pairs(UNESC) do
  ESCOK[c] = true
end

local function junk(c)
  if c == 0 then
    return "FOUND_NULL_BYTE"
  elseif c < 32 then
    return "WEIRD_WHITESPACE"
  elseif c == 92 then
    return "ESCAPE_OUTSIDE_STRING"
  end
  return "SPECIAL_EXPECTED"
end

-- Anything but a plain integer: the JSON grammar for fractions and exponents.
local function valid_number(ns)
  local int, frac, exp = match(ns, "^(-?%d+)(%.?%d*)([eE]?[-+]?%d*)$")
  if not int or find(int, "^-?0%d") then
    return false
  end
  if frac ~= "" and #frac < 2 then
    return false
  end
  if exp ~= "" and not find(exp, "^[eE][-+]?%d+$") then
    return false
  end
  return true
end

-- Scans a string body from `q`. Returns the position of the closing quote; or nil when
-- `s` ends first, plus true when it ended right after a backslash.
local function scan_str(s, q)
  while true do
    local e = find(s, '["\\\0-\31]', q)
    if not e then
      return nil, false
    end
    local ch = byte(s, e)
    if ch == 34 then
      return e
    elseif ch ~= 92 then
      perr("WEIRD_WHITESPACE")
    end
    local nx = byte(s, e + 1)
    if not nx then
      return nil, true
    elseif not ESCOK[nx] then
      perr("ESCAPE_INVALID")
    end
    q = e + 2
  end
end

-- Decodes the escapes of a raw string body (already checked by scan_str).
local function unescape(raw)
  local out, n, i = {}, 0, 1
  while true do
    local b = find(raw, "\\", i, true)
    if not b then
      break
    end
    if b > i then
      n = n + 1
      out[n] = sub(raw, i, b - 1)
    end
    local c = byte(raw, b + 1)
    n = n + 1
    if c == 117 then
      local hex = match(raw, "^%x%x%x%x", b + 2)
      if not hex then
        perr("UESCAPE_TOOSHORT")
      end
      local cp = tonumber(hex, 16)
      i = b + 6
      if cp >= 0xD800 and cp <= 0xDFFF then
        -- A high surrogate followed by a low one is one character; any other surrogate
        -- becomes "?", as the firmware writes every surrogate.
        local lo = cp <= 0xDBFF and match(raw, "^\\u([dD][c-fC-F]%x%x)", i)
        if lo then
          out[n] = utf8char(0x10000 + ((cp - 0xD800) << 10) + (tonumber(lo, 16) - 0xDC00))
          i = i + 6
        else
          out[n] = "?"
        end
      else
        out[n] = utf8char(cp)
      end
    else
      out[n] = UNESC[c]
      i = b + 2
    end
  end
  n = n + 1
  out[n] = sub(raw, i)
  return concat(out, "", 1, n)
end

-- Feeds `s` to the parser state `st`. Incomplete tokens at the end wait in `st.pend`
-- (numbers, literals) or `st.sparts` (strings) for the next chunk.
local function feed(st, s)
  local pos = 1
  local lv, mode = st.lv, st.mode
  local tabs, isarr, cnt, keys = st.tabs, st.isarr, st.cnt, st.keys
  local maxlv, nullv, mt, path = st.maxlv, st.null, st.mt, st.path
  local cur, curarr = tabs[lv], isarr[lv]

  if mode == M_STR then
    local q = 1
    if st.sesc then
      if not ESCOK[byte(s, 1)] then
        perr("ESCAPE_INVALID")
      end
      st.sesc = false
      q = 2
    end
    local e, esc = scan_str(s, q)
    local parts = st.sparts
    if not e then
      parts[#parts + 1] = s
      st.sesc = esc
      return
    end
    parts[#parts + 1] = sub(s, 1, e - 1)
    local v = concat(parts)
    st.sparts = nil
    if find(v, "\\", 1, true) then
      v = unescape(v)
    end
    pos = e + 1
    if st.skey then
      keys[lv] = v
      mode = M_COLON
    else
      if curarr then
        local k = cnt[lv] + 1
        cnt[lv] = k
        cur[k] = v
      else
        cur[keys[lv]] = v
      end
      mode = M_AFTER
    end
  end

  while true do
    local c = byte(s, pos)
    if c == 32 or c == 9 or c == 10 or c == 13 then
      pos = find(s, "[^ \t\n\r]", pos + 1)
      if not pos then
        break
      end
      c = byte(s, pos)
    elseif not c then
      break
    end

    local put, close, v = false, false, nil
    if mode == M_AFTER then
      if c == 44 then
        pos = pos + 1
        mode = curarr and M_VALUE or M_KEY
      elseif c == 93 or c == 125 then
        if (c == 93) ~= curarr then
          perr("BRACKET_MISMATCH")
        end
        close = true
      elseif c == 34 then
        perr(curarr and "CANT_INSERT" or "STRAY_TOKEN")
      elseif c == 58 then
        perr("STRAY_TOKEN")
      elseif VALSTART[c] then
        perr("CANT_INSERT")
      else
        perr(junk(c))
      end
    elseif mode <= M_VALUE then
      if c == 34 then
        if lv == 0 then
          perr("STRING_OUTSIDE_CONTAINER")
        elseif lv >= maxlv then
          perr("LEVELS_EXCEEDED")
        end
        local e, esc = scan_str(s, pos + 1)
        if not e then
          st.sparts, st.sesc, st.skey = { sub(s, pos + 1) }, esc, false
          mode = M_STR
          break
        end
        v = sub(s, pos + 1, e - 1)
        if find(v, "\\", 1, true) then
          v = unescape(v)
        end
        pos = e + 1
        put = true
      elseif c == 45 or (c >= 48 and c <= 57) then
        if lv >= maxlv then
          perr("LEVELS_EXCEEDED")
        end
        -- Plain integers take one match; anything else goes through valid_number.
        local ns, e = match(s, "^(-?[1-9]%d*)()", pos)
        local nx = e and byte(s, e)
        if not (nx and SPECIAL_END[nx]) then
          e = find(s, "[^%d.eE+-]", pos + 1)
          if not e then
            st.pend = sub(s, pos)
            break
          end
          ns = sub(s, pos, e - 1)
          if not (find(ns, "^-?0$") or valid_number(ns)) or not SPECIAL_END[byte(s, e)] then
            perr("INVALID_NUMBER")
          end
        end
        v = tonumber(ns)
        pos = e
        put = true
      elseif c == 116 or c == 102 or c == 110 then
        if lv >= maxlv then
          perr("LEVELS_EXCEEDED")
        end
        local lit = c == 116 and "true" or (c == 102 and "false" or "null")
        local n = #lit
        local got = sub(s, pos, pos + n - 1)
        if got ~= lit then
          local k = 1
          while byte(got, k) == byte(lit, k) do
            k = k + 1
          end
          if k > #got then
            st.pend = sub(s, pos)
            break
          end
          perr(SPECIAL_END[byte(got, k)] and "SPECIAL_INCOMPLETE" or "SPECIAL_EXPECTED")
        end
        local nx = byte(s, pos + n)
        if nx and not SPECIAL_END[nx] then
          perr("SPECIAL_EXPECTED")
        end
        if c == 116 then
          v = true
        elseif c == 102 then
          v = false
        else
          v = nullv
        end
        pos = pos + n
        put = true
      elseif c == 91 or c == 123 then
        if lv >= maxlv then
          perr("LEVELS_EXCEEDED")
        end
        local t = {}
        if mt then
          setmetatable(t, mt)
        end
        local key
        if lv > 0 then
          if curarr then
            key = cnt[lv] + 1
            cnt[lv] = key
          else
            key = keys[lv]
          end
        end
        local want = true
        if path then
          if lv > 0 then
            path[lv] = key
          end
          local checkpath = mt.checkpath
          if checkpath ~= nil then
            want = checkpath(t, path)
          end
        end
        if want then
          if lv == 0 then
            st.result = t
          else
            cur[key] = t
          end
        end
        lv = lv + 1
        curarr = c == 91
        cur, tabs[lv], isarr[lv], cnt[lv] = t, t, curarr, 0
        mode = curarr and M_VFIRST or M_KFIRST
        pos = pos + 1
      elseif c == 93 and mode == M_VFIRST then
        close = true
      elseif c == 93 or c == 125 then
        if mode == M_VALUE and curarr then
          perr("TRAILING_COMMA")
        elseif mode == M_VALUE and c == 125 then
          perr("VALUE_EXPECTED")
        end
        perr("BRACKET_MISMATCH")
      elseif c == 44 or c == 58 then
        perr("STRAY_TOKEN")
      else
        perr(junk(c))
      end
    elseif mode <= M_KEY then
      if c == 34 then
        if lv >= maxlv then
          perr("LEVELS_EXCEEDED")
        end
        -- Fast path: a plain key and its colon in one match.
        local key, np = match(s, '^"([^"\\\0-\31]*)"[ \t\n\r]*:()', pos)
        if key then
          keys[lv] = key
          pos = np
          mode = M_VALUE
          goto continue
        end
        local e, esc = scan_str(s, pos + 1)
        if not e then
          st.sparts, st.sesc, st.skey = { sub(s, pos + 1) }, esc, true
          mode = M_STR
          break
        end
        local key = sub(s, pos + 1, e - 1)
        if find(key, "\\", 1, true) then
          key = unescape(key)
        end
        keys[lv] = key
        pos = e + 1
        mode = M_COLON
      elseif c == 125 then
        if mode == M_KEY then
          perr("TRAILING_COMMA")
        end
        close = true
      elseif c == 93 then
        perr(mode == M_KEY and "TRAILING_COMMA" or "BRACKET_MISMATCH")
      elseif c == 44 or c == 58 then
        perr("STRAY_TOKEN")
      elseif VALSTART[c] then
        perr("HKEY_EXPECTED")
      else
        perr(junk(c))
      end
    elseif mode == M_COLON then
      if c == 58 then
        pos = pos + 1
        mode = M_VALUE
      elseif c == 125 then
        perr("VALUE_EXPECTED")
      elseif c == 93 then
        perr("BRACKET_MISMATCH")
      elseif c == 34 or VALSTART[c] then
        perr("MISSING_TOKEN")
      elseif c == 44 then
        perr("STRAY_TOKEN")
      else
        perr(junk(c))
      end
    elseif mode == M_SCALAR then
      perr("CANT_INSERT")
    else
      break
    end

    if put then
      if lv == 0 then
        mode = M_SCALAR
      else
        if curarr then
          local k = cnt[lv] + 1
          cnt[lv] = k
          cur[k] = v
        else
          cur[keys[lv]] = v
        end
        mode = M_AFTER
      end
    elseif close then
      if path then
        path[lv] = nil
      end
      tabs[lv], keys[lv] = nil, nil
      lv = lv - 1
      pos = pos + 1
      if lv == 0 then
        mode = M_DONE
        st.done = true
        break
      end
      cur, curarr = tabs[lv], isarr[lv]
      mode = M_AFTER
    end
    ::continue::
  end
  st.lv, st.mode = lv, mode
end

local function dec_new(opts)
  local st = { lv = 0, mode = M_TOP, tabs = {}, isarr = {}, cnt = {}, keys = {}, pend = "", null = NULL }
  st.maxlv = depth_of(opts) - 1
  if type(opts) == "table" then
    st.null = opts.null
    local mt = opts.metatable
    if mt ~= nil then
      if type(mt) ~= "table" then
        error("sjson: the metatable option must be a table", 3)
      end
      st.mt = mt
      if mt.checkpath ~= nil then
        st.path = {}
      end
    end
  end
  return st
end

-- Feeds one chunk; returns true once the top-level value is complete.
local function dec_write(st, chunk)
  if st.done then
    return true
  end
  if chunk == "" then
    return false
  end
  local s = chunk
  if st.pend ~= "" then
    s = st.pend .. chunk
    st.pend = ""
  end
  local ok, e = pcall(feed, st, s)
  if not ok then
    st.failed = true
    return nil, e
  end
  if st.done then
    st.tabs, st.isarr, st.cnt, st.keys, st.path, st.pend = nil, nil, nil, nil, nil, ""
    return true
  end
  return false
end

local Decoder = { __name = "sjson.decoder" }
Decoder.__index = Decoder
local decoders = setmetatable({}, { __mode = "k" })

local function check_decoder(self, fname)
  local st = decoders[self]
  if not st then
    error(format("calling '%s' on bad self (sjson.decoder expected, got %s)", fname, typename(self, true)), 3)
  end
  return st
end

--- decoder:write(str): feeds more JSON text; returns the decoded value once the
--- top-level object or array is complete (and on every later call), else nothing.
function Decoder.write(self, ...)
  local st = check_decoder(self, "write")
  local chunk = ...
  local tc = type(chunk)
  if tc == "number" then
    chunk = tostring(chunk)
  elseif tc ~= "string" then
    argerror(1, "write", "string expected, got " .. typename(chunk, select("#", ...) > 0))
  end
  if st.failed then
    error("JSON parse error: previous call", 2)
  end
  local done, e = dec_write(st, chunk)
  if done then
    return st.result
  elseif done == nil then
    rethrow(e)
  end
end

--- decoder:result(): the decoded value; raises "decode not complete" before that.
function Decoder.result(self)
  local st = check_decoder(self, "result")
  if not st.done then
    error("decode not complete", 2)
  end
  return st.result
end

--- sjson.decoder([opts]) -> a streaming decoder (opts: depth, null, metatable).
function M.decoder(opts)
  local self = setmetatable({}, Decoder)
  decoders[self] = dec_new(opts)
  return self
end

--- sjson.decode(str [, opts]) -> the decoded object or array.
function M.decode(...)
  local str, opts = ...
  local ts = type(str)
  if ts == "number" then
    str = tostring(str)
  elseif ts ~= "string" then
    argerror(1, "decode", "string expected, got " .. typename(str, select("#", ...) > 0))
  end
  local st = dec_new(opts)
  local done, e = dec_write(st, str)
  if done == nil then
    rethrow(e)
  elseif not done then
    error("Incomplete JSON object passed to sjson.decode", 2)
  end
  return st.result
end

---------------------------------------------------------------------------- encoding

-- Lua 5.3's type numbers, for the firmware's "Cannot encode type %d".
local TYPENUM = { ["nil"] = 0, boolean = 1, number = 3, string = 4, table = 5, ["function"] = 6, userdata = 7, thread = 8 }

local ESC = {}
for i = 0, 31 do
  ESC[string.char(i)] = format("\\u%04x", i)
end
ESC["\b"], ESC["\f"], ESC["\n"], ESC["\r"], ESC["\t"] = "\\b", "\\f", "\\n", "\\r", "\\t"
ESC['"'], ESC["\\"] = '\\"', "\\\\"

-- Bytes of 0x80 and above pass through unchanged (no UTF-8 check), as upstream.
local function quote(s)
  if not find(s, '["\\\0-\31]') then
    return '"' .. s .. '"'
  end
  return '"' .. gsub(s, '["\\\0-\31]', ESC) .. '"'
end

local function fmtnum(v)
  if mtype(v) == "integer" then
    return format("%d", v)
  end
  if v ~= v or v == huge or v == -huge then
    fail("Cannot encode non-finite number " .. tostring(v))
  end
  -- The shortest of 14..17 significant digits that reads back as the same number.
  local s = format("%.14g", v)
  if tonumber(s) ~= v then
    s = format("%.15g", v)
    if tonumber(s) ~= v then
      s = format("%.16g", v)
      if tonumber(s) ~= v then
        s = format("%.17g", v)
      end
    end
  end
  if not find(s, "[.eE]") then
    s = s .. ".0"
  end
  return s
end

local function scalar(v, nullv)
  if v == nil or (nullv ~= nil and rawequal(v, nullv)) then
    return "null"
  end
  local tv = type(v)
  if tv == "string" then
    return quote(v)
  elseif tv == "number" then
    return fmtnum(v)
  elseif tv == "boolean" then
    return v and "true" or "false"
  elseif tv == "userdata" or rawequal(v, NULL) then
    return "null"
  end
  fail(format("Cannot encode type %d", TYPENUM[tv]))
end

local MAX_SPARSE = 1 << 24

-- -1 for an object; else the largest key (0 for the empty table, which is an array).
local function table_size(t)
  local maxk, count = 0, 0
  for k in next, t do
    if mtype(k) ~= "integer" or k <= 0 then
      return -1
    end
    if k > maxk then
      maxk = k
    end
    count = count + 1
  end
  if maxk > MAX_SPARSE and maxk > 2 * count then
    fail("Cannot encode excessively sparse array")
  end
  return maxk
end

local OPENED = {} -- an object frame whose "{" is out but no key yet

local function enc_push(st, t)
  local top = st.top + 1
  if top > st.depth then
    fail("encoder stack overflow")
  end
  st.ft[top], st.fn[top], st.fk[top] = t, table_size(t), nil
  st.top = top
end

local function enc_new(tbl, opts)
  local st = { ft = {}, fn = {}, fk = {}, top = 0, depth = depth_of(opts) }
  if type(opts) == "table" then
    st.null = opts.null
  end
  enc_push(st, tbl)
  return st
end

-- Appends output pieces to out[on+1...] until `have` reaches `need` bytes or the value
-- is finished; returns the new `on` and `have`.
local function produce(st, out, on, have, need)
  local ft, fn, fk, nullv = st.ft, st.fn, st.fk, st.null
  while st.top > 0 and have < need do
    local top = st.top
    local t, n, k = ft[top], fn[top], fk[top]
    local piece, v, value
    if n >= 0 then
      if k == nil then
        fk[top] = 0
        piece = "["
      elseif k >= n then
        piece = "]"
        st.top, ft[top] = top - 1, nil
      else
        k = k + 1
        fk[top] = k
        v = rawget(t, k)
        value = true
        if k > 1 then
          piece = ","
        end
      end
    elseif k == nil then
      fk[top] = OPENED
      piece = "{"
    else
      local nk, nv = next(t, k ~= OPENED and k or nil)
      if nk == nil then
        piece = "}"
        st.top, ft[top] = top - 1, nil
      else
        fk[top] = nk
        local tk, ks = type(nk), nil
        if tk == "string" then
          ks = quote(nk)
        elseif tk == "number" then
          ks = '"' .. tostring(nk) .. '"'
        else
          fail(format("Cannot encode type %d", TYPENUM[tk]))
        end
        piece = (k == OPENED and "" or ",") .. ks .. ":"
        v = nv
        value = true
      end
    end
    if piece then
      on = on + 1
      out[on] = piece
      have = have + #piece
    end
    if value then
      local tries = 10
      while type(v) == "function" and tries > 0 do
        v = v()
        tries = tries - 1
      end
      if type(v) == "table" and not rawequal(v, NULL) and not (nullv ~= nil and rawequal(v, nullv)) then
        enc_push(st, v)
      else
        local sv = scalar(v, nullv)
        on = on + 1
        out[on] = sv
        have = have + #sv
      end
    end
  end
  return on, have
end

local function encode_all(tbl, opts)
  local st = enc_new(tbl, opts)
  local out = {}
  local on = produce(st, out, 0, 0, huge)
  return concat(out, "", 1, on)
end

--- sjson.encode(table [, opts]) -> JSON text (opts: depth, null).
function M.encode(...)
  local tbl, opts = ...
  if type(tbl) ~= "table" then
    argerror(1, "encode", "table expected, got " .. typename(tbl, select("#", ...) > 0))
  end
  local ok, r = pcall(encode_all, tbl, opts)
  if not ok then
    rethrow(r)
  end
  return r
end

local Encoder = { __name = "sjson.encoder" }
Encoder.__index = Encoder
local encoders = setmetatable({}, { __mode = "k" })

-- Reads up to `size` bytes: first what is left of the last generated text, then more.
local function enc_read(st, size)
  local out, on, have = {}, 0, 0
  local rest = st.rest
  if rest then
    local off = st.roff
    local avail = #rest - off + 1
    if avail > size then
      st.roff = off + size
      return sub(rest, off, off + size - 1)
    end
    st.rest = nil
    on, have = 1, avail
    out[1] = off == 1 and rest or sub(rest, off)
    if avail == size then
      return out[1]
    end
  end
  on, have = produce(st, out, on, have, size)
  if have == 0 then
    return nil
  end
  local s = concat(out, "", 1, on)
  if have > size then
    st.rest, st.roff = s, size + 1
    return sub(s, 1, size)
  end
  return s
end

--- encoder:read([size=1024]) -> the next chunk of at most `size` bytes, or nothing at the end.
function Encoder.read(self, size)
  local st = encoders[self]
  if not st then
    error(format("calling 'read' on bad self (sjson.encoder expected, got %s)", typename(self, true)), 2)
  end
  if type(size) == "number" then
    size = mtointeger(size) or 0
    if size < 1 then
      size = 1
    end
  else
    size = 1024
  end
  local ok, r = pcall(enc_read, st, size)
  if not ok then
    rethrow(r)
  end
  if r ~= nil then
    return r
  end
end

--- sjson.encoder(table [, opts]) -> an encoder whose :read() yields the JSON text in
--- chunks, walking the table (and calling its functions) only as far as each read needs.
function M.encoder(...)
  local tbl, opts = ...
  if type(tbl) ~= "table" then
    argerror(1, "encoder", "table expected, got " .. typename(tbl, select("#", ...) > 0))
  end
  local ok, st = pcall(enc_new, tbl, opts)
  if not ok then
    rethrow(st)
  end
  local self = setmetatable({}, Encoder)
  encoders[self] = st
  return self
end

return M
