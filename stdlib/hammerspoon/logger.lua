-- hs.logger: named loggers with levels, printed to the console (stdout) as Hammerspoon does.
local M = {}

local LEVELS = { nothing = 0, error = 1, warning = 2, info = 3, debug = 4, verbose = 5 }
local NAMES = { [0] = "nothing", "error", "warning", "info", "debug", "verbose" }
local PREFIX = { "ERROR:   ", "** Warning: ", "", "", "" }

M.defaultLogLevel = "warning"

local function level_of(lvl)
  if type(lvl) == "number" then
    if lvl ~= lvl or lvl < 0 or lvl > 5 then
      error("invalid log level", 3)
    end
    return math.floor(lvl)
  elseif type(lvl) == "string" then
    local n = LEVELS[lvl:lower()]
    if n == nil then
      error("invalid log level", 3)
    end
    return n
  end
  error("loglevel must be a string or a number", 3)
end

local function emit(id, lvl, msg)
  print(("%s %s%s: %s"):format(os.date("%H:%M:%S"), PREFIX[lvl], id, msg))
end

function M.new(id, loglevel)
  if type(id) ~= "string" then
    error("id must be a string", 2)
  end
  local log = {}
  local level = level_of(loglevel or M.defaultLogLevel)
  log.level = level
  function log.setLogLevel(lvl)
    level = level_of(lvl)
    log.level = level
  end
  function log.getLogLevel()
    return level
  end
  local function maker(lvl, formatted)
    return function(fmt, ...)
      if level < lvl then
        return
      end
      local msg
      if formatted then
        msg = string.format(fmt, ...)
      else
        local parts = { tostring(fmt) }
        for i = 1, select("#", ...) do
          parts[#parts + 1] = tostring((select(i, ...)))
        end
        msg = table.concat(parts, " ")
      end
      emit(id, lvl, msg)
    end
  end
  log.e, log.ef = maker(1, false), maker(1, true)
  log.w, log.wf = maker(2, false), maker(2, true)
  log.i, log.f = maker(3, false), maker(3, true)
  log.d, log.df = maker(4, false), maker(4, true)
  log.v, log.vf = maker(5, false), maker(5, true)
  return log
end

return M
