-- `gpoll` for the luanet dialect: the interface of mah0x211's lua-gpoll, through which
-- lua-net waits for its descriptors, with rlua-net's event loop as the default poller.
--
--   local gpoll = require "gpoll"                -- (also `require "luanet.gpoll"`)
--   local fd, err, timeout = gpoll.wait_readable(sock:fd(), 1.5)
--   gpoll.read_lock(fd, 2); ...; gpoll.read_unlock(fd)
--   gpoll.set_poller({ later = function() ... end })   -- any missing function: default
--
-- Upstream's default poller blocks the whole process in poll(2) and has no locks. Here the
-- runtime's scheduler is always present, so the default poller is that scheduler:
--   * inside a task (act.spawn, act.run, core.spawn or any coroutine the runtime drives) a
--     wait yields to the loop; outside one it runs the loop until ready or the deadline, so
--     other sockets, timers and tasks keep being served;
--   * only one waiter per descriptor and direction: a second one gets `nil, EALREADY`;
--     `unwait*` wakes the waiter with `nil, ECANCELED`; a timeout is `nil, nil, true`;
--   * read_lock/write_lock are per-descriptor FIFO mutexes; `pollable()` is true;
--   * descriptors are those of sockets the runtime owns (any other gives EBADF);
--   * sigwait is not supported (`nil, ENOTSUP`), and `hup` is never reported.
-- Times are seconds. The module is a single instance whatever name it is required by.

local CANONICAL = "luanet.gpoll"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"

local type, pairs, select, error, pcall, tostring = type, pairs, select, error, pcall, tostring
local setmetatable = setmetatable
local format, find = string.format, string.find
local pack, unpack = table.pack, table.unpack
local floor, huge, tointeger = math.floor, math.huge, math.tointeger
local co_running, co_status, isyieldable = coroutine.running, coroutine.status, coroutine.isyieldable
local core_wait, core_unwait, core_signal, is_waitable = core.wait, core.unwait, core.signal, core.is_waitable
local core_now = core.now

---------------------------------------------------------------------------------------------
-- Argument checks (the definitions upstream uses: finite, non-negative)

local function is_int(x)
  return type(x) == "number" and x < huge and x > -huge and floor(x) == x
end

local function is_uint(x)
  return type(x) == "number" and x < huge and x >= 0 and floor(x) == x
end

local function is_unsigned(x)
  return type(x) == "number" and x < huge and x >= 0
end

---------------------------------------------------------------------------------------------
-- Error objects: errno types from the dialect's `errno` module when it is there.

local errno_mod, error_mod

local function module_of(name)
  local ok, m = pcall(require, name)
  if ok and type(m) == "table" then
    return m
  end
  return nil
end

local function new_error(name, msg, op)
  errno_mod = errno_mod or module_of("luanet.errno")
  local errno = errno_mod
  if errno ~= nil then
    if type(errno.new) == "function" then
      return errno.new(name, msg, op)
    end
    local t = errno[name]
    if t ~= nil and type(t.new) == "function" then
      return t:new(msg)
    end
  end
  error_mod = error_mod or module_of("luanet.error")
  if error_mod ~= nil then
    return error_mod.new(error_mod.message.new(format("[%s] %s", name, msg), op))
  end
  return format("[%s][%s] %s", name, op, msg)
end

-- What a poller gave as an error, as an error object (upstream: error.toerror).
local function toerror(err)
  error_mod = error_mod or module_of("luanet.error")
  if error_mod ~= nil and type(error_mod.toerror) == "function" then
    return error_mod.toerror(err)
  end
  return err
end

---------------------------------------------------------------------------------------------
-- The scheduler: waits with one waiter per descriptor and direction, and FIFO locks.
-- act uses the same state (through `__scheduler`), so both see each other's waiters.

local S = {
  is_uint = is_uint,
  is_unsigned = is_unsigned,
  new_error = new_error,
}

local DIRNAME = { r = "readable", w = "writable" }

-- Who waits on each descriptor: the waiting coroutine (a dead one no longer counts).
local waiting = { r = {}, w = {} }
-- How many times each descriptor's waits were canceled, per direction.
local cancels = { r = {}, w = {} }

local function busy(dir, fd)
  local who = waiting[dir][fd]
  return who ~= nil and co_status(who) ~= "dead"
end

-- What one core.wait outcome means to a gpoll caller.
local function outcome(fd, op, ok, r, why)
  if not ok then
    error(r, 0)
  elseif r == true then
    return fd
  elseif r == false then
    return nil, nil, true
  elseif why == "closed" then
    return nil, new_error("ECANCELED", "the socket was closed while waiting", op)
  end
  return nil, new_error("ECANCELED", "the wait was canceled", op)
end

-- `fd` as an integer when it can be waited for in `dir`; else nil and the error.
local function claimable(dir, fd, op)
  local ifd = tointeger(fd)
  if ifd == nil or not is_waitable(ifd) then
    return nil, new_error("EBADF", format("descriptor %s is not a socket of this runtime", tostring(fd)), op)
  elseif busy(dir, ifd) then
    return nil, new_error("EALREADY", format("another coroutine waits for descriptor %d to be %s", ifd,
      DIRNAME[dir]), op)
  end
  return ifd
end

--- S.wait(dir, fd, sec, op): waits until `fd` is ready in `dir` ("r"/"w"), at most `sec`
--- seconds (nil: forever). Returns fd | nil, err | nil, nil, true.
function S.wait(dir, fd, sec, op)
  local ifd, err = claimable(dir, fd, op)
  if ifd == nil then
    return nil, err
  end
  local reg, count = waiting[dir], cancels[dir]
  reg[ifd] = co_running()
  if isyieldable() then
    -- Inside a task the wait only yields: nothing can raise, and no pcall frame stays on
    -- the suspended task's stack (an idle connection's task costs less memory).
    local r, why = core_wait(ifd, dir, sec)
    reg[ifd] = nil
    return outcome(ifd, op, true, r, why)
  end
  local mark = count[ifd]
  local deadline = sec and core_now() + sec
  local ok, r, why = pcall(core_wait, ifd, dir, sec)
  -- Outside a task the core cannot tell which direction an unwait canceled: a cancel
  -- that was not for this direction goes back to waiting for what is left of the time.
  while ok and r == nil and why == "canceled" and count[ifd] == mark do
    local left = deadline and deadline - core_now()
    if left ~= nil and left <= 0 then
      ok, r = true, false
      break
    end
    ok, r, why = pcall(core_wait, ifd, dir, left)
  end
  reg[ifd] = nil
  return outcome(ifd, op, ok, r, why)
end

-- Waits for the first of several descriptors: one helper task per descriptor reports to
-- a signal the caller waits on; the helpers still waiting are canceled afterwards.
local function wait_many(dir, fds, sec, op)
  local reg = waiting[dir]
  for i = 1, #fds do
    local ifd, err = claimable(dir, fds[i], op)
    if ifd == nil then
      return nil, err
    end
    fds[i] = ifd
  end
  local done = core_signal()
  local helpers, started = {}, {}
  for i = 1, #fds do
    local fd = fds[i]
    helpers[i] = core.spawn(function()
      if done:is_set() then
        return -- the caller was done before this helper started
      end
      started[i] = true
      local r, why = core_wait(fd, dir, sec)
      if not done:is_set() and r ~= false then
        done:set(fd, r, why)
      end
    end)
    reg[fd] = helpers[i]
  end
  local ok, r = pcall(core_wait, done, "r", sec)
  local fd, res, why = done:get()
  if not done:is_set() then
    done:set()
  end
  for i = 1, #fds do
    reg[fds[i]] = nil
    if started[i] and co_status(helpers[i]) ~= "dead" then
      core_unwait(fds[i], dir)
    end
  end
  if not ok then
    error(r, 0)
  elseif fd == nil then
    return nil, nil, true
  end
  return outcome(fd, op, true, res, why)
end

--- S.unwait(fd [, dir]): cancels the waits on fd (both directions without dir).
function S.unwait(fd, dir)
  local ifd = tointeger(fd)
  if ifd ~= nil then
    for d, count in pairs(cancels) do
      if dir == nil or dir == d then
        count[ifd] = (count[ifd] or 0) + 1
      end
    end
    core_unwait(ifd, dir)
  end
  return true
end

-- Locks: locks[dir][fd] = { owner = coroutine, queue = { entry... }, head = n }, where an
-- entry is { co = coroutine, sig = signal, gone = bool }. Unlocking hands the lock to the
-- first entry still waiting, so nobody can jump the queue.
local locks = { r = {}, w = {} }

local function handoff(dir, fd, l)
  local q = l.queue
  while l.head <= #q do
    local e = q[l.head]
    q[l.head] = false
    l.head = l.head + 1
    if not e.gone and co_status(e.co) ~= "dead" then
      l.owner = e.co
      e.sig:set()
      return
    end
  end
  locks[dir][fd] = nil
end

--- S.lock(dir, fd, sec): true once the calling coroutine holds the lock (at once if it
--- already does); false when `sec` seconds (nil: forever) passed first.
function S.lock(dir, fd, sec)
  local me = co_running()
  local l = locks[dir][fd]
  if l ~= nil and l.owner ~= me and co_status(l.owner) == "dead" then
    -- The holder ended without unlocking: the lock moves on.
    handoff(dir, fd, l)
    l = locks[dir][fd]
  end
  if l == nil then
    locks[dir][fd] = { owner = me, queue = {}, head = 1 }
    return true
  elseif l.owner == me then
    return true
  end
  local e = { co = me, sig = core_signal(), gone = false }
  l.queue[#l.queue + 1] = e
  local ok, r = pcall(core_wait, e.sig, "r", sec)
  e.gone = true
  if l.owner == me then
    if ok then
      return true
    end
    handoff(dir, fd, l)
  end
  if not ok then
    error(r, 0)
  end
  return false
end

--- S.unlock(dir, fd): releases a lock the calling coroutine holds; false if it holds none.
function S.unlock(dir, fd)
  local l = locks[dir][fd]
  if l == nil or l.owner ~= co_running() then
    return false
  end
  handoff(dir, fd, l)
  return true
end

--- S.release_all(co): what an ending task held is released, and it leaves every queue.
function S.release_all(co)
  for dir, byfd in pairs(locks) do
    local held = {}
    for fd, l in pairs(byfd) do
      if l.owner == co then
        held[#held + 1] = fd
      end
      for i = l.head, #l.queue do
        local e = l.queue[i]
        if e and e.co == co then
          e.gone = true
        end
      end
    end
    for _, fd in pairs(held) do
      local l = byfd[fd]
      if l ~= nil and l.owner == co then
        handoff(dir, fd, l)
      end
    end
  end
end

--- S.later(): lets everything else that is ready run once, then returns true.
function S.later()
  if isyieldable() then
    core.sleep(0)
  else
    local sig = core_signal()
    core.defer(function()
      sig:set()
    end)
    core_wait(sig, "r", nil)
  end
  return true
end

---------------------------------------------------------------------------------------------
-- The default poller: the runtime's scheduler.

local DEFAULT_POLLER = {}

local function default_wait(dir, op, fd, sec, ...)
  local n = select("#", ...)
  if fd == nil and n == 0 then
    return -- no descriptor: nothing to wait for
  end
  if not is_uint(fd) then
    error("fd must be uint", 3)
  end
  if n == 0 then
    return S.wait(dir, fd, sec, op)
  end
  local fds = { fd, ... }
  for i = 2, n + 1 do
    if not is_uint(fds[i]) then
      error("fd must be uint", 3)
    end
  end
  return wait_many(dir, fds, sec, op)
end

function DEFAULT_POLLER.wait_readable(fd, sec, ...)
  return default_wait("r", "wait_readable", fd, sec, ...)
end

function DEFAULT_POLLER.wait_writable(fd, sec, ...)
  return default_wait("w", "wait_writable", fd, sec, ...)
end

function DEFAULT_POLLER.unwait(fd)
  return S.unwait(fd)
end

function DEFAULT_POLLER.unwait_readable(fd)
  return S.unwait(fd, "r")
end

function DEFAULT_POLLER.unwait_writable(fd)
  return S.unwait(fd, "w")
end

local function default_lock(dir, fd, sec)
  if S.lock(dir, fd, sec) then
    return true
  end
  return false, nil, true
end

local function default_unlock(dir, fd, op)
  if S.unlock(dir, fd) then
    return true
  end
  return false, new_error("EPERM", format("the calling coroutine does not hold the %s lock of descriptor %s",
    dir == "r" and "read" or "write", tostring(fd)), op)
end

function DEFAULT_POLLER.read_lock(fd, sec)
  return default_lock("r", fd, sec)
end

function DEFAULT_POLLER.write_lock(fd, sec)
  return default_lock("w", fd, sec)
end

function DEFAULT_POLLER.read_unlock(fd)
  return default_unlock("r", fd, "read_unlock")
end

function DEFAULT_POLLER.write_unlock(fd)
  return default_unlock("w", fd, "write_unlock")
end

function DEFAULT_POLLER.sleep(sec)
  core.sleep(sec)
  return 0
end

function DEFAULT_POLLER.sigwait(_, ...)
  if select("#", ...) == 0 then
    return -- no signal: nothing to wait for
  end
  return nil, new_error("ENOTSUP", "waiting for signals is not supported by rlua-net", "sigwait")
end

function DEFAULT_POLLER.later()
  return S.later()
end

function DEFAULT_POLLER.pollable()
  return true
end

S.DEFAULT_POLLER = DEFAULT_POLLER

---------------------------------------------------------------------------------------------
-- The interface (upstream lua-gpoll)

local Poller = DEFAULT_POLLER

--- set_poller([poller [, ctx]]): replaces the polling functions; a function the poller
--- lacks stays the default one. A non-nil `ctx` is passed first to the poller's functions.
local function set_poller(poller, ctx)
  if poller == nil then
    Poller = DEFAULT_POLLER
    return
  elseif type(poller) ~= "table" then
    error(format("poller must be table, got %s", type(poller)), 2)
  end
  local newpoller = {}
  for fname, default_func in pairs(DEFAULT_POLLER) do
    local func = poller[fname]
    if func == nil then
      newpoller[fname] = default_func
    elseif type(func) ~= "function" then
      error(format("%q is not function: %q", fname, type(func)), 2)
    elseif ctx == nil then
      newpoller[fname] = func
    else
      newpoller[fname] = function(...)
        return func(ctx, ...)
      end
    end
  end
  Poller = newpoller
end

--- use(modname): set_poller(require(modname)).
local function use(modname)
  local mod = require(modname)
  if type(mod) ~= "table" then
    error(format("module %q must return table", tostring(modname)), 2)
  end
  set_poller(mod)
end

local function pollable()
  return Poller.pollable()
end

local function later()
  return Poller.later()
end

local function do_wait(fname, fd, sec, ...)
  if sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number", 2)
  end
  local evfd, err, timeout, hup = Poller[fname](fd, sec, ...)
  if evfd then
    if not is_uint(evfd) then
      error(fname .. " returned non-uint fd", 2)
    end
    return evfd, nil, nil, hup and true or nil
  elseif err then
    return nil, toerror(err), timeout
  elseif timeout then
    return nil, nil, true
  end
  -- no descriptor was given: nothing is returned
end

local function do_unwait(fname, fd)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  end
  local ok, err = Poller[fname](fd)
  if ok then
    return true
  elseif err then
    return false, toerror(err)
  end
  return false
end

local function do_lock(fname, fd, sec)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  elseif sec ~= nil and not is_unsigned(sec) then
    error("sec must be unsigned number", 2)
  end
  local ok, err, timeout = Poller[fname](fd, sec)
  if ok then
    return true
  elseif err then
    return false, toerror(err), timeout
  elseif timeout then
    return false, nil, true
  end
  error(fname .. " returned false|nil with neither error nor timeout", 2)
end

local function do_unlock(fname, fd)
  if not is_uint(fd) then
    error("fd must be uint", 2)
  end
  local ok, err = Poller[fname](fd)
  if ok then
    return true
  elseif err == nil then
    error(fname .. " returned false|nil without an error", 2)
  end
  return false, toerror(err)
end

local M = {}

M.use = use
M.set_poller = set_poller
M.pollable = pollable
M.later = later

--- wait_readable([fd [, sec [, ...]]]): fd once readable (or the first of several fds),
--- nil, err | nil, nil, true on timeout; nothing when no fd is given.
function M.wait_readable(fd, sec, ...)
  return do_wait("wait_readable", fd, sec, ...)
end

function M.wait_writable(fd, sec, ...)
  return do_wait("wait_writable", fd, sec, ...)
end

function M.unwait(fd)
  return do_unwait("unwait", fd)
end

function M.unwait_readable(fd)
  return do_unwait("unwait_readable", fd)
end

function M.unwait_writable(fd)
  return do_unwait("unwait_writable", fd)
end

function M.read_lock(fd, sec)
  return do_lock("read_lock", fd, sec)
end

function M.write_lock(fd, sec)
  return do_lock("write_lock", fd, sec)
end

function M.read_unlock(fd)
  return do_unlock("read_unlock", fd)
end

function M.write_unlock(fd)
  return do_unlock("write_unlock", fd)
end

--- sleep(sec): waits `sec` seconds; returns the seconds left (0 unless woken early).
function M.sleep(sec)
  if not is_unsigned(sec) then
    error("sec must be unsigned number", 2)
  end
  local rem, err = Poller.sleep(sec)
  if rem then
    if not is_unsigned(rem) then
      error("sleep returned non-unsigned value", 2)
    end
    return rem
  elseif err then
    return nil, toerror(err)
  end
  error("sleep returned nil without an error", 2)
end

--- sigwait(sec, sig...): a signal number or name ("SIGINT") that arrived, nil, err, or
--- nil, nil, true on timeout. The default poller cannot wait for signals (ENOTSUP).
function M.sigwait(sec, ...)
  if not is_unsigned(sec) then
    error("sec must be unsigned number", 2)
  end
  local args = pack(...)
  for i = 1, args.n do
    local sig = args[i]
    if type(sig) == "string" then
      if not find(sig, "^SIG%u+%d*$") then
        error(format("unsupported signal name: %q", sig), 2)
      end
    elseif not is_uint(sig) then
      error(format("signal number must be uint: %q", tostring(sig)), 2)
    end
  end
  local signo, err, timeout = Poller.sigwait(sec, unpack(args, 1, args.n))
  if signo then
    if not is_int(signo) and type(signo) ~= "string" then
      error("sigwait returned non-int value", 2)
    end
    return signo
  elseif err then
    return nil, toerror(err), timeout
  elseif timeout then
    return nil, nil, true
  end
  -- no signal was given: nothing is returned
end

-- The scheduler's internals, for the act module (not part of the gpoll interface).
setmetatable(M, { __index = { __scheduler = S } })

package.loaded[CANONICAL] = M
return M
