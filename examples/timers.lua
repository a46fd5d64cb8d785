-- Timers, a task and a DNS lookup of "localhost" on the core module.
--
--   rlua-net examples/timers.lua
--
-- Everything here is asynchronous; the script ends by itself, about half a second in,
-- once no timer is armed, no task is left and no lookup is pending.

local core = require "rluanet.core"

local t0 = core.now()
local function say(fmt, ...)
  print(("[%.3f] " .. fmt):format(core.now() - t0, ...))
end

-- A one-shot timer.
local once = core.timer()
once:on(function() say("one-shot timer (0.30 s)") end)
once:start(0.3)

-- A repeating timer that stops itself after three ticks.
local ticks = 0
local every = core.timer()
every:on(function()
  ticks = ticks + 1
  say("repeating timer, tick %d", ticks)
  if ticks == 3 then
    every:stop()
  end
end)
every:start(0.1, 0.1)

-- DNS in callback style: the lookup runs on a worker thread, the answer comes from the loop.
core.resolve("localhost", function(ips, msg, code)
  if ips then
    say("callback: localhost is %s", table.concat(ips, ", "))
  else
    say("callback: lookup failed: %s (%d)", msg, code)
  end
end)

-- A task: straight-line code whose waits yield to the loop, so the timers above keep firing.
core.spawn(function(name)
  say("%s: started", name)
  core.sleep(0.25)
  say("%s: slept 0.25 s", name)

  -- Turn a callback into a wait with a signal.
  local answer = core.signal()
  core.resolve("localhost", function(...) answer:set(...) end, "inet")
  if core.wait(answer, "r", 5) then
    local ips, msg = answer:get()
    say("%s: IPv4 for localhost: %s", name, ips and table.concat(ips, ", ") or msg)
  else
    say("%s: no DNS answer within 5 s", name)
  end
end, "task")

-- Waiting on the main thread runs the loop meanwhile: the first tick fires in here.
core.sleep(0.15)
say("main chunk: slept 0.15 s, now returning to the loop")
