-- Closed-loop echo clients written with Hammerspoon's hs.socket, for benches/hs_clients.sh:
--
--   rlua-net --dialect hammerspoon benches/hammerspoon_clients.lua PORT [CONNS [SIZE [SECS [WARMUP]]]]
--
-- The client-side counterpart of the load generator (benches/tools/src/bin/loadgen.rs).
-- An hs.socket server cannot answer one client apart from the others (its read fans in
-- from every client, its write goes to all of them), so this dialect is measured from the client side, against an echo server
-- that is not rlua-net (echo-ref, benches/tools/src/bin/echo-ref.rs).
--
-- It opens CONNS (default 50) hs.socket clients to 127.0.0.1:PORT. Each keeps exactly one
-- SIZE-byte line (default 64: SIZE - 1 bytes and "\n") in flight: write it, read("\n"),
-- check that the echoed line is the line sent, send the next. Every line is different (it
-- starts with the client's number and the line's sequence number), so a stale or misplaced
-- echo is caught. hs.timer.doAfter opens the measuring window after WARMUP seconds (default
-- 1) and closes it SECS seconds later (default 5); round trips that complete inside it are
-- counted, with their latency from the write call to the read callback, timed with
-- hs.timer.absoluteTime() (monotonic nanoseconds; os.clock would be CPU time). After the
-- window no new line is sent; once the lines in flight are back (or 0.2 s have passed, as
-- loadgen allows) every socket is disconnected, which lets the process end.
--
-- Output, as loadgen's: readable lines on stderr, then one line on stdout for scripts:
--   roundtrips=N secs=S rps=R p50_us=A p99_us=B mean_us=C max_us=D conns=N stalled=K errors=E
-- Percentiles come from loadgen's log-linear histogram (buckets at most 0.8% wide), so
-- the two are read the same way. `stalled` counts clients that completed no round trip
-- while measuring; `errors` counts clients that failed: a wrong echo, a connection that
-- never came up, or one that was lost. The exit status is 0 only if there was no error and
-- at least one round trip completed.

local function arg_number(i, name, default, lo, hi, integer)
  local s = arg[i]
  if s == nil then
    if default == nil then
      error(("usage: hammerspoon_clients.lua PORT [CONNS [SIZE [SECS [WARMUP]]]] (%s is missing)"):format(name), 0)
    end
    return default
  end
  local v = tonumber(s)
  if integer and v then
    v = math.tointeger(v)
  end
  if v == nil or v < lo or v > hi then
    error(("%s must be a %s from %s to %s (got '%s')"):format(name, integer and "whole number" or "number", lo, hi, s), 0)
  end
  return v
end

local PORT = arg_number(1, "PORT", nil, 1, 65535, true)
local CONNS = arg_number(2, "CONNS", 50, 1, 10000, true)
local SIZE = arg_number(3, "SIZE", 64, 1, 1 << 20, true)
local SECS = arg_number(4, "SECS", 5, 0.1, 600, false)
local WARMUP = arg_number(5, "WARMUP", 1, 0, 600, false)
local GRACE = 0.2 -- seconds the lines in flight get to come back after the window

local now = hs.timer.absoluteTime -- integer nanoseconds, monotonic

local function say(fmt, ...)
  io.stderr:write("hs clients: ", fmt:format(...), "\n")
end

-- ---------------------------------------------------------------- latency histogram
-- loadgen's: values below 2^SUB_BITS ns get a bucket each; above, every power of two
-- is split into 2^SUB_BITS buckets.

local SUB_BITS = 7
local SUB = 1 << SUB_BITS
local hist = {} -- bucket -> count (sparse)
local roundtrips, lat_sum, lat_max = 0, 0, 0

local function bucket_of(v)
  if v < SUB then
    return v
  end
  local msb = math.floor(math.log(v, 2))
  -- math.log is a float: put msb right at exact powers of two.
  if (1 << msb) > v then
    msb = msb - 1
  elseif (1 << (msb + 1)) <= v then
    msb = msb + 1
  end
  local shift = msb - SUB_BITS
  return (shift + 1) * SUB + ((v >> shift) - SUB)
end

-- The middle of a bucket's range.
local function bucket_value(b)
  if b < SUB then
    return b
  end
  local shift = b // SUB - 1
  local low = ((b % SUB) + SUB) << shift
  return low + ((1 << shift) - 1) / 2
end

local function percentile(p)
  if roundtrips == 0 then
    return 0
  end
  local rank = math.max(1, math.ceil(p * roundtrips))
  local keys = {}
  for b in pairs(hist) do
    keys[#keys + 1] = b
  end
  table.sort(keys)
  local seen = 0
  for _, b in ipairs(keys) do
    seen = seen + hist[b]
    if seen >= rank then
      return bucket_value(b)
    end
  end
  return 0
end

-- ---------------------------------------------------------------- the clients

local measuring, stopping, finished = false, false, false
local t_measure, t_end -- when the window really opened and closed (ns)
local errors = 0
local in_flight = 0
local clients = {}
local finish -- defined below

-- SIZE - 1 bytes of filler that never contain "\n"; each line starts with "id:seq:".
local filler = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"):rep(SIZE // 64 + 1)

local function fail(c, why)
  if c.failed then
    return
  end
  if errors < 10 then -- say what happened for the first few; count the rest
    say("client %d (line %d): %s", c.id, c.seq, why)
  end
  errors = errors + 1
  c.failed = true
  if c.busy then
    c.busy = false
    in_flight = in_flight - 1
  end
  c.sock:disconnect()
end

local function send_next(c)
  if stopping or c.failed then
    return
  end
  local seq = c.seq + 1
  c.seq = seq
  local head = c.id .. ":" .. seq .. ":"
  local line
  if #head >= SIZE - 1 then
    line = head:sub(1, SIZE - 1) .. "\n"
  else
    line = head .. filler:sub(1, SIZE - 1 - #head) .. "\n"
  end
  c.line = line
  c.busy = true
  in_flight = in_flight + 1
  c.t_start = now()
  c.sock:write(line)
  c.sock:read("\n")
end

local function on_line(c, data)
  if not c.busy then
    return fail(c, "a line came back with none in flight")
  end
  local t = now() - c.t_start
  c.busy = false
  in_flight = in_flight - 1
  if data ~= c.line then
    return fail(c, ("echoed line differs from the line sent (%d bytes back, %d sent)"):format(#data, #c.line))
  end
  if measuring then
    roundtrips = roundtrips + 1
    c.measured = c.measured + 1
    lat_sum = lat_sum + t
    if t > lat_max then
      lat_max = t
    end
    local b = bucket_of(t)
    hist[b] = (hist[b] or 0) + 1
  end
  if stopping then
    if in_flight == 0 then
      finish()
    end
  else
    send_next(c)
  end
end

for id = 0, CONNS - 1 do
  local c = { id = id, seq = 0, measured = 0, busy = false, failed = false }
  c.sock = hs.socket.new(function(data)
    on_line(c, data)
  end)
  clients[#clients + 1] = c
  local ok = c.sock:connect("127.0.0.1", PORT, function()
    c.connected = true
    send_next(c)
  end)
  if not ok then
    fail(c, "connect refused to start")
  end
end

local timers = {}

function finish()
  if finished then
    return
  end
  finished = true
  for _, t in ipairs(timers) do
    t:stop()
  end
  local stalled = 0
  for _, c in ipairs(clients) do
    if not c.failed then
      if not c.connected then
        fail(c, "never connected")
      elseif not c.sock:connected() then
        fail(c, "connection lost")
      end
    end
    if c.measured == 0 then
      stalled = stalled + 1
    end
    c.sock:disconnect()
  end
  local span = (t_end - t_measure) / 1e9
  local rps = span > 0 and roundtrips / span or 0
  local p50 = percentile(0.50) / 1000
  local p99 = percentile(0.99) / 1000
  local mean = roundtrips > 0 and lat_sum / roundtrips / 1000 or 0
  local max = lat_max / 1000
  say("127.0.0.1:%d, %d connections, %d-byte lines, %.1f s warm-up, %.2f s measured", PORT, CONNS, SIZE, WARMUP, span)
  say("%d round trips, %.0f/s; latency p50 %.1f us, p99 %.1f us, mean %.1f us, max %.1f us", roundtrips, rps, p50, p99, mean, max)
  -- How evenly the round trips spread over the connections (loadgen's run is even).
  local per = {}
  for i, c in ipairs(clients) do
    per[i] = c.measured
  end
  table.sort(per)
  say("round trips per connection: min %d, median %d, max %d", per[1], per[(#per + 1) // 2], per[#per])
  if stalled > 0 then
    say("%d connection(s) completed no round trip while measuring", stalled)
  end
  if errors > 0 then
    say("%d connection(s) failed", errors)
  end
  io.stdout:write(
    ("roundtrips=%d secs=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f mean_us=%.1f max_us=%.1f conns=%d stalled=%d errors=%d\n"):format(
      roundtrips, span, rps, p50, p99, mean, max, CONNS, stalled, errors
    )
  )
  io.stdout:flush()
  io.stderr:flush()
  if errors > 0 or roundtrips == 0 then
    os.exit(1)
  end
end

-- The windows, timed from the start (connecting is part of the warm-up, as in loadgen).
timers[#timers + 1] = hs.timer.doAfter(WARMUP, function()
  measuring = true
  t_measure = now()
end)
timers[#timers + 1] = hs.timer.doAfter(WARMUP + SECS, function()
  t_end = now()
  if not measuring then -- cannot happen with SECS > 0, but never divide by a missing start
    t_measure = t_end
  end
  measuring = false
  stopping = true
  if in_flight == 0 then
    finish()
  else
    timers[#timers + 1] = hs.timer.doAfter(GRACE, finish)
  end
end)
