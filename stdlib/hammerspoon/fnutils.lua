-- hs.fnutils: the table helpers Hammerspoon scripts lean on. Lists (keys 1..n) stay lists:
-- map and filter pack their results in order; other tables keep their keys.
local M = {}

local function is_list(t)
  local n = #t
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then
      return false
    end
  end
  return true
end

function M.map(t, fn)
  local out, list = {}, is_list(t)
  if list then
    for _, v in ipairs(t) do
      local nv = fn(v)
      if nv ~= nil then
        out[#out + 1] = nv
      end
    end
  else
    for k, v in pairs(t) do
      out[k] = fn(v)
    end
  end
  return out
end

function M.each(t, fn)
  for _, v in pairs(t) do
    fn(v)
  end
end

function M.filter(t, fn)
  local out = {}
  if is_list(t) then
    for _, v in ipairs(t) do
      if fn(v) then
        out[#out + 1] = v
      end
    end
  else
    for k, v in pairs(t) do
      if fn(v) then
        out[k] = v
      end
    end
  end
  return out
end

function M.copy(t)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  return out
end

function M.indexOf(t, el)
  for k, v in pairs(t) do
    if v == el then
      return k
    end
  end
  return nil
end

function M.contains(t, el)
  return M.indexOf(t, el) ~= nil
end

function M.concat(a, b)
  for _, v in ipairs(b) do
    a[#a + 1] = v
  end
  return a
end

function M.mapCat(t, fn)
  local out = {}
  for _, v in pairs(t) do
    M.concat(out, fn(v))
  end
  return out
end

function M.reduce(t, fn, init)
  local acc, first = init, 1
  if acc == nil then
    acc, first = t[1], 2
  end
  for i = first, #t do
    acc = fn(acc, t[i])
  end
  return acc
end

function M.find(t, fn)
  for _, v in pairs(t) do
    if fn(v) then
      return v
    end
  end
  return nil
end

function M.partial(fn, ...)
  local bound = table.pack(...)
  return function(...)
    local args = table.pack(table.unpack(bound, 1, bound.n))
    local more = table.pack(...)
    for i = 1, more.n do
      args[bound.n + i] = more[i]
    end
    return fn(table.unpack(args, 1, bound.n + more.n))
  end
end

function M.cycle(t)
  local i = 0
  return function()
    i = i % #t + 1
    return t[i]
  end
end

function M.sortByKeys(t, cmp)
  local keys = {}
  for k in pairs(t) do
    keys[#keys + 1] = k
  end
  table.sort(keys, cmp)
  local i = 0
  return function()
    i = i + 1
    if keys[i] ~= nil then
      return keys[i], t[keys[i]]
    end
  end
end

-- split(s, sep [, max] [, plain]): the pieces of `s` between matches of `sep` (a Lua
-- pattern unless `plain`), at most `max` splits; an empty separator splits nothing.
function M.split(s, sep, max, plain)
  if type(max) == "boolean" then
    max, plain = nil, max
  end
  s = tostring(s)
  sep = tostring(sep or " ")
  local out, pos, splits = {}, 1, 0
  if sep == "" then
    return { s }
  end
  while not max or splits < max do
    local a, b = s:find(sep, pos, plain)
    if not a or b < a then
      break
    end
    out[#out + 1] = s:sub(pos, a - 1)
    pos, splits = b + 1, splits + 1
  end
  out[#out + 1] = s:sub(pos)
  return out
end

return M
