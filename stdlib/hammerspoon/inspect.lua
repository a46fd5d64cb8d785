-- hs.inspect: a human-readable rendering of any Lua value, in the format of kikito's
-- inspect.lua that Hammerspoon ships (sequences inline, other keys one per line, tables
-- seen twice tagged `<N>` and referenced as `<table N>`, metatables as `<metatable>`).
-- Options: depth, newline, indent, process(item, path).
local M = {}

local TYPE_ORDER = { number = 1, boolean = 2, string = 3, table = 4, ["function"] = 5, userdata = 6, thread = 7 }

local function quote(s)
  local q = (s:find('"', 1, true) and not s:find("'", 1, true)) and "'" or '"'
  s = s:gsub("\\", "\\\\"):gsub(q, "\\" .. q)
  s = s:gsub("[%c\127]", function(c)
    local named = { ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\v"] = "\\v" }
    return named[c] or ("\\%d"):format(c:byte())
  end)
  return q .. s .. q
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "number" or ta == "string") then
    return a < b
  end
  local oa, ob = TYPE_ORDER[ta] or 8, TYPE_ORDER[tb] or 8
  if oa == ob then
    return tostring(a) < tostring(b)
  end
  return oa < ob
end

-- Counts how often each table is reachable, to tag the shared ones.
local function count(v, seen)
  if type(v) ~= "table" then
    return
  end
  seen[v] = (seen[v] or 0) + 1
  if seen[v] == 1 then
    for k, x in pairs(v) do
      count(k, seen)
      count(x, seen)
    end
    count(getmetatable(v), seen)
  end
end

-- Applies `process` to every item (keys, values, metatables); nil drops it.
local function processed(v, process, path, visited)
  v = process(v, path)
  if type(v) ~= "table" or visited[v] then
    return v
  end
  local out = {}
  visited[v] = out
  for k, x in pairs(v) do
    local kp = { table.unpack(path) }
    kp[#kp + 1] = k
    kp[#kp + 1] = M.KEY
    local nk = processed(k, process, kp, visited)
    if nk ~= nil then
      local vp = { table.unpack(path) }
      vp[#vp + 1] = nk
      local nx = processed(x, process, vp, visited)
      if nx ~= nil then
        out[nk] = nx
      end
    end
  end
  local mt = getmetatable(v)
  if type(mt) == "table" then
    local mp = { table.unpack(path) }
    mp[#mp + 1] = M.METATABLE
    local nmt = processed(mt, process, mp, visited)
    if type(nmt) == "table" then
      setmetatable(out, nmt)
    end
  end
  return out
end

function M.inspect(root, options)
  options = options or {}
  local depth = options.depth or math.huge
  local newline, indent = options.newline or "\n", options.indent or "  "
  if options.process then
    root = processed(root, options.process, {}, {})
  end
  local seen, ids, counters, buf = {}, {}, {}, {}
  count(root, seen)
  local function id(v)
    if not ids[v] then
      local t = type(v)
      counters[t] = (counters[t] or 0) + 1
      ids[v] = counters[t]
    end
    return ids[v]
  end
  local function put(s)
    buf[#buf + 1] = s
  end
  local emit
  local function tabify(level)
    put(newline .. indent:rep(level))
  end
  local function emit_table(t, level, done)
    if done[t] then
      put(("<table %d>"):format(id(t)))
      return
    end
    if (seen[t] or 0) > 1 then
      put(("<%d>"):format(id(t)))
    end
    if level >= depth then
      put("{...}")
      return
    end
    done[t] = true
    local n = #t
    local keys = {}
    for k in pairs(t) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then
        keys[#keys + 1] = k
      end
    end
    table.sort(keys, key_less)
    local mt = getmetatable(t)
    put("{")
    local items = 0
    for i = 1, n do
      put(items > 0 and ", " or " ")
      emit(t[i], level + 1, done)
      items = items + 1
    end
    for _, k in ipairs(keys) do
      if items > 0 then
        put(",")
      end
      tabify(level + 1)
      if type(k) == "string" and k:match("^[_%a][_%w]*$") then
        put(k)
      else
        put("[")
        emit(k, level + 1, done)
        put("]")
      end
      put(" = ")
      emit(t[k], level + 1, done)
      items = items + 1
    end
    if type(mt) == "table" then
      if items > 0 then
        put(",")
      end
      tabify(level + 1)
      put("<metatable> = ")
      emit(mt, level + 1, done)
    end
    if #keys > 0 or type(mt) == "table" then
      tabify(level)
    elseif n > 0 then
      put(" ")
    end
    put("}")
  end
  emit = function(v, level, done)
    local t = type(v)
    if t == "string" then
      put(quote(v))
    elseif t == "number" or t == "boolean" or t == "nil" then
      put(tostring(v))
    elseif t == "table" then
      emit_table(v, level, done)
    else
      put(("<%s %d>"):format(t, id(v)))
    end
  end
  emit(root, 0, {})
  return table.concat(buf)
end

M.KEY = setmetatable({}, { __tostring = function() return "inspect.KEY" end })
M.METATABLE = setmetatable({}, { __tostring = function() return "inspect.METATABLE" end })

return setmetatable(M, {
  __call = function(_, root, options)
    return M.inspect(root, options)
  end,
})
