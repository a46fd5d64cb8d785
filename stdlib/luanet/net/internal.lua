-- What the luanet dialect's `net.*` modules share (internal: not part of lua-net's
-- surface): argument checks, errors from core failures, deadlines, and what kind of core
-- object a socket is.

local CANONICAL = "luanet.net.internal"
do
  local loaded = package.loaded[CANONICAL]
  if loaded ~= nil then
    return loaded
  end
end

local core = require "rluanet.core"
local errno = require "luanet.errno"

local type, tostring, error, select, setmetatable = type, tostring, error, select, setmetatable
local format, match = string.format, string.match
local floor, huge, tointeger = math.floor, math.huge, math.tointeger
local now = core.now

local M = {}

--- The longest wait when no timeout was set (lua-net's DEFAULT_MAX_TIMEOUT).
M.DEFAULT_MAX_TIMEOUT = 3600

function M.is_finite(x)
  return type(x) == "number" and x < huge and x > -huge
end

function M.is_int(x)
  return type(x) == "number" and x < huge and x > -huge and floor(x) == x
end

function M.is_uint(x)
  return type(x) == "number" and x < huge and x >= 0 and floor(x) == x
end

--- argerror(n, fname, expected, got [, level]): throws lauxlib's "bad argument" message.
function M.argerror(n, fname, expected, got, level)
  error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, expected,
    got == nil and "no value" or type(got)), (level or 2) + 1)
end

--- syserr(message, code, op): the error object of a core failure `nil, message, code`.
function M.syserr(message, code, op)
  return errno.from_core(message, code, op, 2)
end

--- newerr(name, message, op): an errno error of type `name`.
function M.newerr(name, message, op)
  return errno.new(name, message, op)
end

--- flags(fname, first, ...): the MSG_* flags OR-ed together; a non-integer is an argument
--- error of the method that called flags (which must call it directly, not as a tail call).
function M.flags(fname, first, ...)
  local n = select("#", ...)
  local v = 0
  for i = 1, n do
    local f = tointeger((select(i, ...)))
    if f == nil then
      M.argerror(first + i - 1, fname, "integer", (select(i, ...)), 3)
    end
    v = v | f
  end
  return v
end

---------------------------------------------------------------------------------------------
-- Deadlines (time.clock.deadline): a budget of seconds from now.

local Deadline = {}
Deadline.__index = Deadline
Deadline.__name = "time.clock.deadline"

function Deadline.__tostring(self)
  return ("time.clock.deadline: %p"):format(self)
end

--- new_deadline(sec): a deadline `sec` seconds from now (<= 0: already expired).
function M.new_deadline(sec)
  -- Made on every read and write: cheap (its printable address is computed only when printed).
  return setmetatable({ at = now() + sec, sec = sec }, Deadline), sec
end

--- remain(): the seconds left (0 once it passed).
function Deadline:remain()
  local left = self.at - now()
  if left <= 0 then
    return 0
  end
  return left
end

function Deadline:is_done()
  return now() >= self.at
end

--- time(): the duration the deadline was made with.
function Deadline:time()
  return self.sec
end

--- await(sock, deadline, wait [, want]): one wait of a retry loop, `sock:<wait>(seconds
--- left)` with wait = "wait_readable" or "wait_writable", or `sock:poll_wait(want, seconds
--- left)` for a TLS socket: true when ready, else false, err, timeout (timeout = true when
--- the deadline had already passed).
function M.await(sock, deadline, wait, want)
  local sec = deadline:remain()
  if sec <= 0 then
    return false, nil, true
  end
  local ok, err, timeout
  if want == nil then
    ok, err, timeout = sock[wait](sock, sec)
  else
    ok, err, timeout = sock[wait](sock, want, sec)
  end
  if not ok then
    return false, err, timeout
  end
  return true
end

---------------------------------------------------------------------------------------------
-- Core objects

--- kind(obj): "stream", "listener" or "datagram" for a core socket object, else nil.
function M.kind(obj)
  if type(obj) ~= "userdata" then
    return nil
  end
  return match(tostring(obj), "^rluanet%.(%a+)")
end

package.loaded[CANONICAL] = M
return M
