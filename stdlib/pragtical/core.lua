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

-- The shortest sleep between two resumes of a thread: a `coroutine.yield()` (no value, or
-- a negative one) means "the next loop turn", paced as the editor paces it (about 2 ms),
-- so a thread that polls that way never spins a core.
local NEXT_TURN = 0.002

-- A thread runs as a runtime task: each `coroutine.yield(secs)` of its body becomes a
-- sleep of `secs` (none, or negative: the next loop turn). Waits inside it (socket waits,
-- system.sleep) pass through to the loop. As in the editor, a thread whose entry leaves
-- `core.threads` (removed, or replaced by one added with the same weak_ref) is not
-- resumed again.
local function run_thread(key, thread, args)
  local co = thread.cr
  while core.threads[key] == thread do
    local ok, secs
    if args then
      ok, secs = coroutine.resume(co, table.unpack(args, 1, args.n))
      args = nil
    else
      ok, secs = coroutine.resume(co)
    end
    if not ok then
      -- As the editor's core.try logs a thread's error (the thread runs its function
      -- directly, so no protected call stays on every sleeping thread's stack).
      core.error("%s\n%s", tostring(secs), debug.traceback(co))
      break
    end
    if coroutine.status(co) == "dead" then
      break
    end
    rcore.sleep(type(secs) == "number" and secs > NEXT_TURN and secs or NEXT_TURN)
  end
  if core.threads[key] == thread then
    core.threads[key] = nil
  end
end

local next_key = 0

local function add(fname, fn, weak_ref, background, ...)
  if type(fn) ~= "function" then
    error(("bad argument #1 to '%s' (function expected, got %s)"):format(fname, type(fn)), 3)
  end
  local args = table.pack(...)
  local key = weak_ref
  if key == nil then
    next_key = next_key + 1
    key = next_key
  end
  local thread = { cr = coroutine.create(fn), wake = 0, background = background }
  core.threads[key] = thread
  rcore.spawn(run_thread, key, thread, args)
  return key
end

-- The calls to `add` below are not tail calls, so an argument error names the line of
-- the script that called add_thread.

--- `add_thread(fn, weak_ref, ...)` → key: runs `fn(...)` as a thread.
function core.add_thread(fn, weak_ref, ...)
  local key = add("add_thread", fn, weak_ref, false, ...)
  return key
end

function core.add_background_thread(fn, weak_ref, ...)
  local key = add("add_background_thread", fn, weak_ref, true, ...)
  return key
end

return core
