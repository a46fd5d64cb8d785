-- The parts of Pragtical's `system` that network code uses.
local rcore = require "rluanet.core"

local system = {}

--- Monotonic seconds (a float).
function system.get_time()
  return rcore.now()
end

--- Sleeps `secs` seconds without stopping the rest of the program: inside a thread it
--- yields to the loop, elsewhere it runs the loop meanwhile.
function system.sleep(secs)
  if type(secs) ~= "number" then
    error("bad argument #1 to 'sleep' (number expected, got " .. type(secs) .. ")", 2)
  end
  rcore.sleep(secs)
end

function system.get_process_id()
  return rcore.pid()
end

--- `{type="file"|"dir", size=, modified=}` or `nil, message`.
function system.get_file_info(path)
  if type(path) ~= "string" then
    error("bad argument #1 to 'get_file_info' (string expected, got " .. type(path) .. ")", 2)
  end
  return rcore.file_info(path)
end

return system
