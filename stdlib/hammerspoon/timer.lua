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

-- Time strings, as upstream reads them: a time of day ("HH:MM:SS", "HH:MM") or a duration
-- ("DDdHHh", "HHhMMm", "MMmSSs", "DDd", "HHh", "MMm", "SSs", "NNNNms"). Each field has one or
-- two digits (milliseconds up to four); hours must be below 24, minutes and seconds below 60.
local FORMS = {
  { "^(%d%d?):(%d%d?):(%d%d?)$", "h", "m", "s" },
  { "^(%d%d?):(%d%d?)$", "h", "m" },
  { "^(%d%d?)d(%d%d?)h$", "d", "h" },
  { "^(%d%d?)h(%d%d?)m$", "h", "m" },
  { "^(%d%d?)m(%d%d?)s$", "m", "s" },
  { "^(%d%d?)d$", "d" },
  { "^(%d%d?)h$", "h" },
  { "^(%d%d?)m$", "m" },
  { "^(%d%d?)s$", "s" },
  { "^(%d%d?%d?%d?)ms$", "ms" },
}
local UNIT = { d = 86400, h = 3600, m = 60, s = 1, ms = 0.001 }

-- Seconds from a number (kept as is unless negative) or a time string; anything else raises,
-- blamed on the caller of the public function.
local function to_seconds(v)
  if type(v) == "string" then
    for _, form in ipairs(FORMS) do
      local caps = { v:match(form[1]) }
      if caps[1] then
        local f, total = {}, 0
        for i = 2, #form do
          local n = tonumber(caps[i - 1])
          f[form[i]] = n
          total = total + n * UNIT[form[i]]
        end
        if (f.h or 0) >= 24 or (f.m or 0) >= 60 or (f.s or 0) >= 60 then
          break
        end
        return total
      end
    end
    error("invalid time string " .. v, 3)
  end
  if type(v) ~= "number" or v < 0 then
    error("invalid time", 3)
  end
  return v
end

--- hs.timer.seconds(n | "HH:MM[:SS]" | duration string) -> seconds.
function M.seconds(v)
  return to_seconds(v)
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

--- Whole seconds since local midnight (os.date's fields, as upstream).
function M.localTime()
  local t = os.date("*t")
  return t.hour * 3600 + t.min * 60 + t.sec
end

-- hs.timer's own logger ("timer", level info), as upstream; doAt reports at debug level.
local tlog
local function timer_log()
  tlog = tlog or require("hammerspoon.logger").new("timer", "info")
  return tlog
end

function M.setLogLevel(lvl)
  timer_log().setLogLevel(lvl)
end

--- hs.timer.doAt(time, [repeatInterval,] fn [, continueOnError]) -> a started timer.
--- `time` is seconds after local midnight or a time string; `repeatInterval` seconds or a
--- duration string, 0 or absent for a single trigger (other values under a minute raise).
--- The first trigger is the earliest of time, time + repeatInterval, ... still ahead of now;
--- without an interval, a time already past today (or exactly now) means tomorrow.
function M.doAt(time, interval, fn, continueOnError)
  if type(interval) == "function" then
    interval, fn, continueOnError = 0, interval, fn
  end
  interval = to_seconds(interval)
  if interval ~= 0 and interval < 60 then
    error("invalid interval", 2)
  end
  time = to_seconds(time)
  if type(fn) ~= "function" then
    error("bad argument #3 to 'doAt' (function expected, got " .. type(fn) .. ")", 2)
  end
  local now = M.localTime()
  if time <= now then
    local step = interval == 0 and 86400 or interval
    time = time + (math.floor((now - time) / step) + 1) * step
  end
  local delta = time - now
  local at = math.floor(time) % 86400
  timer_log().df(
    "timer set for %02d:%02d:%02d, %dh%dm%ds from now",
    at // 3600,
    at // 60 % 60,
    at % 60,
    math.floor(delta / 3600),
    math.floor(delta / 60) % 60,
    math.floor(delta % 60)
  )
  local self = M.new(interval, fn, continueOnError)
  arm(self, delta)
  return self
end

return M
