-- Waiting that works everywhere. Inside a task (or any coroutine) a wait yields the
-- WAIT marker: the loop parks the task, or a script's coroutine.resume passes the
-- request up to its own context. On the main thread the wait runs the loop instead,
-- so other sockets and timers are served meanwhile.
local core = ...
local WAIT, block = core.WAIT, core.block
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_close, isyieldable = coroutine.status, coroutine.close, coroutine.isyieldable
local select, error = select, error

--- wait(target, dir, timeout): target is a socket, a signal or nil (a plain sleep);
--- dir "r" or "w"; timeout in seconds or nil for none.
--- Returns true when ready, false on timeout, nil, "closed" if the target was closed.
local is_waitable, type = core.is_waitable, type

local function check(target, dir, timeout)
  if target ~= nil and not is_waitable(target) then
    error("bad argument #1 to 'wait' (socket, descriptor, signal or nil expected, got " .. type(target) .. ")", 3)
  end
  if dir ~= nil and dir ~= "r" and dir ~= "w" and dir ~= "read" and dir ~= "write" then
    error("bad argument #2 to 'wait' ('r' or 'w' expected)", 3)
  end
  if timeout ~= nil and type(timeout) ~= "number" then
    error("bad argument #3 to 'wait' (number of seconds expected, got " .. type(timeout) .. ")", 3)
  end
end

local function wait(target, dir, timeout)
  check(target, dir, timeout)
  if isyieldable() then
    return co_yield(WAIT, target, dir, timeout)
  end
  return block(target, dir, timeout)
end
core.wait = wait

function core.sleep(seconds)
  if seconds ~= nil and type(seconds) ~= "number" then
    error("bad argument #1 to 'sleep' (number of seconds expected, got " .. type(seconds) .. ")", 2)
  end
  wait(nil, nil, seconds or 0)
end

-- A wait request that surfaces from a script's coroutine is served here and the
-- coroutine resumed with the outcome; anything else goes back to the caller unchanged.
local function pass(co, ok, ...)
  if ok and select("#", ...) > 0 and (...) == WAIT and co_status(co) == "suspended" then
    return pass(co, co_resume(co, wait(select(2, ...))))
  end
  return ok, ...
end

function coroutine.resume(co, ...)
  return pass(co, co_resume(co, ...))
end

local function unwrap(co, ok, ...)
  if ok then
    return ...
  end
  local err = ...
  if co_status(co) == "dead" then
    co_close(co)
  end
  if type(err) == "string" then
    error(err, 2)
  end
  error(err, 0)
end

function coroutine.wrap(f)
  local co = co_create(f)
  return function(...)
    return unwrap(co, pass(co, co_resume(co, ...)))
  end
end

return core
