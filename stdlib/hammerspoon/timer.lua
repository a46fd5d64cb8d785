-- hs.timer on the rlua-net core's timers. Callbacks run from the loop with no arguments;
-- an error in one is logged ("hs.timer callback: <msg>") and stops the timer unless it was
-- created with continueOnError.
local core = require "rluanet.core"
local S = require "hammerspoon.support"

local M = {}
local Timer = {}
local mt = { __index = Timer, __type = "hs.timer", __name = "hs.timer" }
mt.__tostring = function(self)
  return ("hs.timer: %s (%p)"):format(self.interval, self)
end
if rawget(_G, "hs") and hs._registerMetatable then
  hs._registerMetatable("hs.timer", mt)
end

local function check_number(v, n, name)
  if type(v) ~= "number" then
    error(("bad argument #%d to '%s' (number expected, got %s)"):format(n, name, type(v)), 3)
  end
  return v
end

local function run(self)
  if self.interval <= 0 then
    self.due = nil -- a one-shot timer is no longer running once it fires
  else
    self.due = core.now() + self.interval
  end
  local ok = S.call("hs.timer callback", self.fn)
  if not ok and not self.continueOnError then
    self:stop()
  end
end

function M.new(interval, fn, continueOnError)
  check_number(interval, 1, "new")
  if type(fn) ~= "function" then
    error("bad argument #2 to 'new' (function expected, got " .. type(fn) .. ")", 2)
  end
  local self = setmetatable({ interval = interval, fn = fn, continueOnError = not not continueOnError }, mt)
  self.t = core.timer()
  self.t:on(function()
    run(self)
  end)
  return self
end

local function arm(self, delay)
  self.t:stop()
  if delay < 0 then
    delay = 0
  end
  if self.interval > 0 then
    self.t:start(delay, self.interval)
  else
    self.t:start(delay)
  end
  self.due = core.now() + delay
end

function Timer:start()
  if not self:running() then
    arm(self, self.interval)
  end
  return self
end

function Timer:stop()
  self.t:stop()
  self.due = nil
  return self
end

function Timer:running()
  return self.due ~= nil and self.t:is_armed()
end

function Timer:fire()
  S.call("hs.timer callback", self.fn)
  return self
end

function Timer:nextTrigger()
  if self.due == nil then
    return -1
  end
  return self.due - core.now()
end

function Timer:setNextTrigger(seconds)
  check_number(seconds, 1, "setNextTrigger")
  arm(self, seconds)
  return self
end

function M.doAfter(sec, fn)
  check_number(sec, 1, "doAfter")
  local self = M.new(0, fn)
  arm(self, sec)
  return self
end

function M.doEvery(interval, fn)
  check_number(interval, 1, "doEvery")
  return M.new(interval, fn):start()
end

function M.waitUntil(predicate, action, interval)
  local t
  t = M.new(interval or 1, function()
    if predicate() then
      t:stop()
      action(t)
    end
  end)
  return t:start()
end

function M.waitWhile(predicate, action, interval)
  return M.waitUntil(function()
    return not predicate()
  end, action, interval)
end

function M.doUntil(predicate, action, interval)
  local t
  t = M.new(interval or 1, function()
    if predicate() then
      t:stop()
    else
      action(t)
    end
  end)
  return t:start()
end

function M.doWhile(predicate, action, interval)
  return M.doUntil(function()
    return not predicate()
  end, action, interval)
end

function M.usleep(us)
  check_number(us, 1, "usleep")
  core.delay(us / 1e6)
end

-- Wall-clock seconds: the epoch second at load plus monotonic time since.
local epoch_base = os.time() - core.now()
function M.secondsSinceEpoch()
  return epoch_base + core.now()
end

function M.absoluteTime()
  return math.floor(core.now() * 1e9)
end

function M.seconds(s)
  return s
end
function M.minutes(n)
  return n * 60
end
function M.hours(n)
  return n * 3600
end
function M.days(n)
  return n * 86400
end
function M.weeks(n)
  return n * 604800
end

return M
