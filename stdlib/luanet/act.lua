-- `act` for the luanet dialect: mah0x211's lua-act (coroutine tasks with synchronous-looking
-- waits) on rlua-net's event loop.
--
--   local act = require "act"                    -- (also `require "luanet.act"`)
--   require("gpoll").set_poller(act)             -- lua-net then waits through act
--   assert(act.run(function()
--     local cid = act.spawn(function(x) act.sleep(0.1); return x * 2 end, 21)
--     local stat = act.await()                   -- { cid = cid, status = "ok", result = { 42 } }
--   end))
--
-- Times are seconds, as in lua-act's current API (older releases took milliseconds).
-- Tasks are runtime tasks: they share the loop with everything else, so sockets, timers
-- and other dialects keep being served while act tasks wait. Differences from upstream:
--   * the runtime's scheduler is always there, so waits, locks, sleep, later, spawn,
--     resume and unwait work outside act.run too (a wait outside any task runs the loop
--     until done), and pollable() is always true;
--   * getcid, exit, await, awaitq_size and suspend need the calling coroutine to be an act
--     task (started by act.run or act.spawn);
--   * exit() ends the task by raising a marker that the task's own body catches; a pcall
--     of the task's code between them would catch it instead;
--   * an error in a task that no parent receives through await ends act.run, which returns
--     false and the error (other tasks of that run go on as plain runtime tasks); in a task
--     spawned outside act.run it is an uncaught error of the script;
--   * sigwait gives nil, ENOTSUP; fork, waitpid, atexit, yield and event_cache raise
--     "not supported".
-- The module is a single instance whatever name it is required by.

local CANONICAL = "luanet.act"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local S = require("luanet.gpoll").__scheduler

local type, error, pcall, xpcall, select, ipairs = type, error, pcall, xpcall, select, ipairs
local setmetatable, getmetatable = setmetatable, getmetatable
local pack, unpack, tremove = table.pack, table.unpack, table.remove
local format = string.format
local traceback = debug.traceback
local co_running = coroutine.running
local core_wait, core_signal, core_spawn, core_now = core.wait, core.signal, core.spawn, core.now
local is_uint, is_unsigned = S.is_uint, S.is_unsigned
local tointeger = math.tointeger

local M = {}

---------------------------------------------------------------------------------------------
-- Tasks

-- The act task of each coroutine.
local TASKS = setmetatable({}, { __mode = "k" })
-- Tasks in suspend() or sleep(), which resume(cid) wakes.
local SUSPENDED = {}
local NEXT_CID = 0
-- The act.run in progress, if any.
local RUN = nil

local EXIT = {}

local function current()
  return TASKS[co_running()]
end

local function end_run(run)
  if run ~= nil and not run.done then
    run.done = true
    run.sig:set()
  end
end

-- Hands a finished child's stat to its parent: to an await in progress, else into the
-- parent's await queue if it has room. False when nobody takes it.
local function deliver(parent, stat)
  if parent == nil or parent.finished then
    return false
  end
  parent.children = parent.children - 1
  local sig = parent.awaiting
  if sig ~= nil then
    parent.awaiting = nil
    parent.got = stat
    sig:set()
    return true
  end
  local q = parent.queue
  if parent.qsize < 0 or #q < parent.qsize then
    q[#q + 1] = stat
    return true
  end
  return false
end

local function finish(t, res)
  t.finished = true
  SUSPENDED[t.cid] = nil
  S.release_all(t.co)
  local stat
  if res[1] then
    stat = { cid = t.cid, status = "ok", result = { unpack(res, 2, res.n) } }
  elseif getmetatable(res[2]) == EXIT then
    local v = res[2].values
    stat = { cid = t.cid, status = "ok", result = { unpack(v, 1, v.n) } }
  else
    stat = { cid = t.cid, status = "errrun", error = res[2] }
  end
  local taken = deliver(t.parent, stat)
  local run = t.run
  if stat.status == "errrun" and not taken then
    if run == nil then
      error(stat.error, 0)
    elseif run.err == nil and not run.done then
      run.err = stat.error
      end_run(run)
    end
  end
  if run ~= nil then
    run.live = run.live - 1
    if run.live == 0 then
      end_run(run)
    end
  end
end

local function on_error(e)
  if getmetatable(e) == EXIT or type(e) ~= "string" then
    return e
  end
  return traceback(e, 2)
end

local function body(t, fn, ...)
  t.co = co_running()
  TASKS[t.co] = t
  finish(t, pack(xpcall(fn, on_error, ...)))
end

local function spawn_task(parent, run, fn, ...)
  NEXT_CID = NEXT_CID + 1
  local t = {
    cid = NEXT_CID,
    parent = parent,
    run = run,
    children = 0,
    queue = {},
    qsize = 0,
    finished = false,
  }
  if parent ~= nil then
    parent.children = parent.children + 1
  end
  if run ~= nil then
    run.live = run.live + 1
  end
  core_spawn(body, t, fn, ...)
  return t.cid
end

--- run(mainfn, ...): runs mainfn(...) as a task and returns once it and every task it
--- spawned (transitively) ended: true, or false and the error that ended the run.
function M.run(mainfn, ...)
  if type(mainfn) ~= "function" then
    error("mainfn must be function", 2)
  elseif RUN ~= nil then
    return false, "act run already"
  end
  local run = { live = 0, sig = core_signal(), done = false }
  RUN = run
  spawn_task(nil, run, mainfn, ...)
  local ok, err = pcall(core_wait, run.sig, "r", nil)
  RUN = nil
  if not ok then
    run.done = true
    error(err, 0)
  elseif run.err ~= nil then
    return false, run.err
  end
  return true
end

--- spawn(fn, ...): starts fn(...) as a task; returns its cid.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then
    error("fn must be function", 2)
  end
  local parent = current()
  local run = RUN
  if parent ~= nil then
    run = parent.run
  end
  return spawn_task(parent, run, fn, ...)
end

--- getcid(): the calling task's id.
function M.getcid()
  local t = current()
  if t == nil then
    error("cannot call getcid() at outside of execution context", 2)
  end
  return t.cid
end

--- pollable(): true (the runtime's scheduler is always there).
function M.pollable()
  return true
end

--- exit(...): ends the calling task; its parent's await sees `...` as the result.
function M.exit(...)
  if current() == nil then
    error("cannot call exit() at outside of execution context", 2)
  end
  error(setmetatable({ values = pack(...) }, EXIT), 0)
end

--- later(): lets every other ready task run once, then goes on; returns true.
function M.later()
  return S.later()
end

--- awaitq_size([qsize]): how many finished children's stats are kept for a later await
--- (0 by default: only an await in progress receives one; negative: no limit).
function M.awaitq_size(qsize)
  local t = current()
  if t == nil then
    error("cannot call awaitq_size() at outside of execution context", 2)
  elseif qsize ~= nil and (type(qsize) ~= "number" or tointeger(qsize) == nil) then
    error("qsize must be integer", 2)
  end
  if qsize ~= nil then
    t.qsize = tointeger(qsize)
  end
  return t.qsize
end

--- await([sec]): the stat of a child that ended ({ cid, status = "ok", result = {...} } or
--- { cid, status = "errrun", error = msg }); nil when no child is left; nil, true on timeout.
function M.await(sec)
  local t = current()
  if t == nil then
    error("cannot call await() at outside of execution context", 2)
  elseif sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number or nil", 2)
  end
  if #t.queue > 0 then
    return tremove(t.queue, 1)
  elseif t.children == 0 then
    return nil
  end
  local sig = core_signal()
  t.awaiting, t.got = sig, nil
  local ok, err = pcall(core_wait, sig, "r", sec)
  t.awaiting = nil
  local got = t.got
  t.got = nil
  if got ~= nil then
    return got
  elseif not ok then
    error(err, 0)
  end
  return nil, true
end

-- Waits for resume(cid, ...) at most `sec` seconds; the resume's values, or nil.
local function wait_resume(t, sec)
  local sig = core_signal()
  t.resume_sig, t.resumed = sig, nil
  SUSPENDED[t.cid] = t
  local ok, err = pcall(core_wait, sig, "r", sec)
  SUSPENDED[t.cid] = nil
  t.resume_sig = nil
  local resumed = t.resumed
  t.resumed = nil
  if resumed == nil and not ok then
    error(err, 0)
  end
  return resumed
end

--- suspend([sec]): waits until resume(cid, ...): true, ...; false, nil, true on timeout.
function M.suspend(sec)
  local t = current()
  if t == nil then
    error("cannot call suspend() at outside of execution context", 2)
  elseif sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number or nil", 2)
  end
  local v = wait_resume(t, sec)
  if v ~= nil then
    return true, unpack(v, 1, v.n)
  end
  return false, nil, true
end

--- resume(cid, ...): wakes a task in suspend() (which returns true, ...) or sleep(); true
--- if there was one.
function M.resume(cid, ...)
  local t = SUSPENDED[cid]
  if t == nil then
    return false
  end
  SUSPENDED[cid] = nil
  t.resumed = pack(...)
  t.resume_sig:set()
  return true
end

--- sleep(sec): waits `sec` seconds; returns the seconds left, 0 unless resume() woke it.
function M.sleep(sec)
  if not is_unsigned(sec) then
    error("sec must be unsigned number", 2)
  end
  local t = current()
  if t == nil then
    core.sleep(sec)
    return 0
  end
  local deadline = core_now() + sec
  if wait_resume(t, sec) ~= nil then
    local rem = deadline - core_now()
    return rem > 0 and rem or 0
  end
  return 0
end

--- sigwait(sec, sig...): not supported by rlua-net: nil, ENOTSUP (nothing without signals).
function M.sigwait(sec, ...)
  if sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number or nil", 2)
  elseif select("#", ...) == 0 then
    return
  end
  return nil, S.new_error("ENOTSUP", "waiting for signals is not supported by rlua-net", "sigwait")
end

---------------------------------------------------------------------------------------------
-- Descriptors: the functions gpoll needs when act is its poller.

-- Argument checks; `lv` is the level of the script's call (3: the API function called us).
local function check_fd(fd, lv)
  if not is_uint(fd) then
    error("fd must be unsigned integer", lv or 3)
  end
end

local function check_fd_sec(fd, sec, lv)
  lv = lv or 3
  check_fd(fd, lv + 1)
  if sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number or nil", lv)
  end
end

--- wait_readable(fd [, sec]): fd once readable; nil, err (EALREADY when another task
--- waits for it, ECANCELED after unwait, EBADF for an unknown fd); nil, nil, true on timeout.
function M.wait_readable(fd, sec)
  check_fd_sec(fd, sec)
  return S.wait("r", fd, sec, "wait_readable")
end

function M.wait_writable(fd, sec)
  check_fd_sec(fd, sec)
  return S.wait("w", fd, sec, "wait_writable")
end

--- unwait(fd), unwait_readable(fd), unwait_writable(fd): wake the waiters with ECANCELED.
function M.unwait(fd)
  check_fd(fd)
  return S.unwait(fd)
end

function M.unwait_readable(fd)
  check_fd(fd)
  return S.unwait(fd, "r")
end

function M.unwait_writable(fd)
  check_fd(fd)
  return S.unwait(fd, "w")
end

local function lock(dir, fd, sec)
  check_fd_sec(fd, sec)
  if S.lock(dir, fd, sec) then
    return true
  end
  return false, nil, true
end

--- read_lock(fd [, sec]) / write_lock(fd [, sec]): true once the caller holds the lock
--- (waiters get it in the order they asked); false, nil, true on timeout.
function M.read_lock(fd, sec)
  return lock("r", fd, sec)
end

function M.write_lock(fd, sec)
  return lock("w", fd, sec)
end

--- read_unlock(fd) / write_unlock(fd): true if the caller held the lock.
function M.read_unlock(fd)
  check_fd(fd)
  return S.unlock("r", fd)
end

function M.write_unlock(fd)
  check_fd(fd)
  return S.unlock("w", fd)
end

-- Parts of lua-act this runtime does not provide.
for _, name in ipairs({ "fork", "waitpid", "atexit", "yield", "event_cache" }) do
  M[name] = function()
    error(format("act.%s is not supported by rlua-net", name), 2)
  end
end

package.loaded[CANONICAL] = M
return M
