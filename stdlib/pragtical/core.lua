-- The parts of Pragtical's `core` that network code uses: threads (coroutines the loop
-- resumes, where `coroutine.yield(secs)` sleeps), `core.try` and the log functions.
local rcore = require "rluanet.core"

local core = { threads = setmetatable({}, { __mode = "k" }) }

local function format(fmt, ...)
  if select("#", ...) == 0 then
    return tostring(fmt)
  end
  return string.format(fmt, ...)
end

function core.log(fmt, ...)
  io.stdout:write(format(fmt, ...), "\n")
end

function core.log_quiet(fmt, ...)
  io.stdout:write(format(fmt, ...), "\n")
end

function core.warn(fmt, ...)
  io.stderr:write("WARN: ", format(fmt, ...), "\n")
end

function core.error(fmt, ...)
  io.stderr:write("ERROR: ", format(fmt, ...), "\n")
end

--- Calls `fn(...)`: `true, result`, or, when it raises, the error is logged (with its
--- traceback) and `false, err` returned.
function core.try(fn, ...)
  local err
  local ok, res = xpcall(fn, function(msg)
    err = msg
    core.error("%s\n%s", tostring(msg), debug.traceback("", 2):gsub("^\n", ""))
  end, ...)
  if ok then
    return true, res
  end
  return false, err
end

-- A thread runs as a runtime task: each `coroutine.yield(secs)` of its body becomes a
-- sleep of `secs` (none, or negative: the next loop turn). Waits inside it (socket waits,
-- system.sleep) pass through to the loop.
local function run_thread(key, co)
  while true do
    local ok, secs = coroutine.resume(co)
    if not ok then
      core.error("%s", debug.traceback(co, tostring(secs)))
      break
    end
    if coroutine.status(co) == "dead" then
      break
    end
    rcore.sleep(type(secs) == "number" and secs > 0 and secs or 0)
  end
  core.threads[key] = nil
end

local next_key = 0

local function add(fn, weak_ref, background, ...)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'add_thread' (function expected, got " .. type(fn) .. ")", 3)
  end
  local args = table.pack(...)
  local key = weak_ref
  if key == nil then
    next_key = next_key + 1
    key = next_key
  end
  local co = coroutine.create(function()
    return core.try(fn, table.unpack(args, 1, args.n))
  end)
  core.threads[key] = { cr = co, wake = 0, background = background }
  rcore.spawn(run_thread, key, co)
  return key
end

--- `add_thread(fn, weak_ref, ...)` → key: runs `fn(...)` as a thread.
function core.add_thread(fn, weak_ref, ...)
  return add(fn, weak_ref, false, ...)
end

function core.add_background_thread(fn, weak_ref, ...)
  return add(fn, weak_ref, true, ...)
end

return core
