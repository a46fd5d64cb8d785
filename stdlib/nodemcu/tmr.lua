-- NodeMCU's `tmr` (app/modules/tmr.c) on core timers: dynamic timers with the three
-- alarm modes, plus the clock and watchdog functions.
local core = require "rluanet.core"
local S = require "nodemcu.support"

local error, type, setmetatable, floor = error, type, setmetatable, math.floor

local tmr = { ALARM_SINGLE = 0, ALARM_AUTO = 1, ALARM_SEMI = 2 }

local MAX_MS = 0x68D7A3 -- 6870947 ms, the firmware's limit

local Timer = {}
local timer_mt = { __index = Timer, __name = "tmr.timer" }
timer_mt.__tostring = function(self)
  return ("tmr.timer: %p"):format(self)
end

-- `level` as for error(): 3 when a method checks, 4 through `register` below.
local function check_ms(ms, fname, level)
  ms = math.tointeger(tonumber(ms))
  if ms == nil or ms < 1 or ms > MAX_MS then
    error(("bad argument #1 to '%s' (Range: 1-0x68D7A3)"):format(fname), level)
  end
  return ms
end

local function arm(self)
  local secs = self.ms / 1000
  if self.mode == tmr.ALARM_AUTO then
    self.t:start(secs, secs)
  else
    self.t:start(secs)
  end
  self.running = true
end

local function fire(self)
  local mode, fn = self.mode, self.fn
  if mode == tmr.ALARM_SINGLE then
    -- A single alarm unregisters itself before its callback runs: state() is nil inside.
    self.mode, self.fn, self.running = nil, nil, false
  elseif mode == tmr.ALARM_SEMI then
    self.running = false
  end
  S.call(fn, self)
end

function tmr.create()
  local self = setmetatable({ running = false }, timer_mt)
  local t = core.timer()
  t:on(function()
    fire(self)
  end)
  self.t = t
  return self
end

-- register and alarm share it; errors name the method the script called and its line.
local function register(self, ms, mode, fn, fname)
  ms = check_ms(ms, fname, 4)
  mode = math.tointeger(tonumber(mode))
  if mode ~= tmr.ALARM_SINGLE and mode ~= tmr.ALARM_AUTO and mode ~= tmr.ALARM_SEMI then
    error(("bad argument #2 to '%s' (Invalid mode)"):format(fname), 3)
  end
  if type(fn) ~= "function" then
    error(("bad argument #3 to '%s' (Must be function)"):format(fname), 3)
  end
  self.t:stop()
  self.ms, self.mode, self.fn, self.running = ms, mode, fn, false
end

function Timer:register(ms, mode, fn)
  S.check_self(self, timer_mt, "register")
  register(self, ms, mode, fn, "register")
end

function Timer:start(restart)
  S.check_self(self, timer_mt, "start")
  if restart ~= nil and type(restart) ~= "boolean" then
    error("bad argument #1 to 'start' (boolean expected)", 2)
  end
  if self.mode == nil then
    return false
  end
  if self.running and not restart then
    return false
  end
  arm(self)
  return true
end

function Timer:alarm(ms, mode, fn)
  S.check_self(self, timer_mt, "alarm")
  register(self, ms, mode, fn, "alarm")
  arm(self)
  return true
end

function Timer:stop()
  S.check_self(self, timer_mt, "stop")
  local was = self.running
  self.t:stop()
  self.running = false
  return was
end

function Timer:unregister()
  S.check_self(self, timer_mt, "unregister")
  self.t:stop()
  self.mode, self.fn, self.running = nil, nil, false
end

function Timer:interval(ms)
  S.check_self(self, timer_mt, "interval")
  ms = check_ms(ms, "interval", 3)
  if self.mode == nil then
    return
  end
  self.ms = ms
  if self.running then
    arm(self)
  end
end

function Timer:state()
  S.check_self(self, timer_mt, "state")
  if self.mode == nil then
    return nil
  end
  return self.running, self.mode
end

-- ---------------------------------------------------------------- clocks

--- Microseconds since start, wrapping at 31 bits like the device's counter.
function tmr.now()
  return floor(core.now() * 1e6) & 0x7FFFFFFF
end

function tmr.time()
  return floor(core.now())
end

--- Blocks everything for `us` microseconds, as the firmware's busy wait does.
function tmr.delay(us)
  us = S.check_int(us, 1, "delay")
  if us <= 0 then
    error("bad argument #1 to 'delay' (wrong arg range)", 2)
  end
  core.delay(us / 1e6)
end

--- The CPU cycle counter of an 80 MHz device, derived from the clock.
function tmr.ccount()
  return floor(core.now() * 80e6) & 0xFFFFFFFF
end

-- The software watchdog: when it expires the device restarts; here the process ends.
local watchdog

function tmr.softwd(s)
  s = S.check_int(s, 1, "softwd")
  if watchdog then
    watchdog:stop()
  end
  if s < 0 then
    return
  end
  watchdog = watchdog or core.timer()
  watchdog:on(function()
    io.stdout:flush()
    io.stderr:write("rlua-net: tmr.softwd watchdog expired (the device would restart)\n")
    os.exit(1)
  end)
  watchdog:start(s)
end

function tmr.wdclr() end

return tmr
