-- NodeMCU's `node` (app/modules/node.c): what scripts next to net use: task.post with
-- priorities, setonerror, heap, restart, chipid, info.
local core = require "rluanet.core"
local S = require "nodemcu.support"

local node = {}

-- ---------------------------------------------------------------- task.post

local task = { LOW_PRIORITY = 0, MEDIUM_PRIORITY = 1, HIGH_PRIORITY = 2 }
node.task = task

local queues = { [0] = {}, {}, {} }
local scheduled = false

-- One posted task per loop turn, highest priority first, so I/O is served in between.
local function run_one()
  scheduled = false
  for prio = 2, 0, -1 do
    local q = queues[prio]
    if #q > 0 then
      local fn = table.remove(q, 1)
      if #queues[0] + #queues[1] + #queues[2] > 0 then
        scheduled = true
        core.defer(run_one)
      end
      S.call(fn, prio) -- the firmware passes the task its priority
      return
    end
  end
end

--- `post([prio], fn)`: as node_task_post, a number first is the priority (luaL_argcheck
--- messages, the firmware's double space included).
function task.post(prio, fn)
  local n = 1
  if type(prio) == "number" then
    prio, n = math.tointeger(prio), 2
    if prio == nil or prio < 0 or prio > 2 then
      error("bad argument #1 to 'post' (invalid  priority)", 2)
    end
  else
    prio, fn = task.MEDIUM_PRIORITY, prio
  end
  if type(fn) ~= "function" then
    error(("bad argument #%d to 'post' (invalid function)"):format(n), 2)
  end
  local q = queues[prio]
  q[#q + 1] = fn
  if not scheduled then
    scheduled = true
    core.defer(run_one)
  end
end

-- ---------------------------------------------------------------- the rest

--- `setonerror(fn)`: `fn(message_with_traceback)` gets every callback error; anything
--- but a function (no argument, say) brings the default back: print the traceback and
--- exit with status 1.
function node.setonerror(fn)
  S.set_onerror(type(fn) == "function" and fn or nil)
end

--- Bytes of Lua memory in use.
function node.heap()
  return math.floor(collectgarbage("count") * 1024)
end

--- The device restarts; here the process exits with status 0 after flushing output.
function node.restart()
  io.stdout:flush()
  io.stderr:flush()
  os.exit(0)
end

-- A stable per-machine number in the range of an ESP8266 chip id (24 bits).
local chip
function node.chipid()
  if not chip then
    local seed = ""
    local f = io.open("/etc/machine-id") or io.open("/etc/hostname")
    if f then
      seed = f:read("l") or ""
      f:close()
    end
    local h = 5381
    for i = 1, #seed do
      h = (h * 33 + seed:byte(i)) & 0xFFFFFF
    end
    chip = h
  end
  return chip
end

--- Without a group (or "legacy"): majorVer, minorVer, devVer, chipid, flashid, flashsize,
--- flashmode, flashspeed (as firmware 3.0 reports). Groups "hw", "sw_version", "build_config".
function node.info(group)
  if group == nil or group == "legacy" then
    return 3, 0, 0, node.chipid(), 0, 4096, 0, 40000000
  elseif group == "hw" then
    return { chip_id = node.chipid(), flash_id = 0, flash_size = 4096, flash_mode = 0, flash_speed = 40000000 }
  elseif group == "sw_version" then
    return { node_version_major = 3, node_version_minor = 0, node_version_revision = 0,
             git_branch = "rlua-net", git_commit_id = "", git_release = "", git_commit_dts = "" }
  elseif group == "build_config" then
    return { ssl = true, lfs_size = 0, modules = "net,tls,tmr,node,sjson,bit,wifi", number_type = "float" }
  end
  error(("bad argument #1 to 'info' (invalid option '%s')"):format(tostring(group)), 2)
end

-- The device's console redirection and garbage-collector modes.
node.output = S.unsupported("node.output")
node.input = S.unsupported("node.input")
node.egc = { setmode = S.unsupported("node.egc.setmode"), meminfo = S.unsupported("node.egc.meminfo") }

return node
