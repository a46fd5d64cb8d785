-- What the Hammerspoon modules share: running script callbacks from the loop, with an
-- error logged as "<label>: <msg>" (decision 3) and the loop going on.
local M = {}

local log
function M.log()
  if log == nil then
    log = hs.luaSkinLog
  end
  return log
end

--- Calls `fn(...)`; an error is logged as "<label>: <msg>". Returns whether it succeeded.
function M.call(label, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    M.log().e(label .. ": " .. tostring(err))
  end
  return ok
end

return M
