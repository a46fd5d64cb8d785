-- A TCP echo server written the way a Pragtical plugin author writes one, for
-- benches/echo.sh:
--
--   rlua-net --dialect pragtical benches/pragtical_echo.lua [PORT [POLL]]
--
-- PORT 0 (the default) lets the system pick a port. The bound port (server:get_port()) is
-- printed on its own line once the server listens; then the threads serve connections
-- until the process is killed. It listens on 127.0.0.1 only (a benchmark has no business
-- on other interfaces).
--
-- Everything runs in core threads that poll with zero timeouts and sleep between polls
-- with `coroutine.yield(secs)`, the idiom of Pragtical's data/core/http.lua:
--   * resolving, and retrying a write that took 0 bytes: coroutine.yield(0.05), as
--     http.lua's resolve_host and write_all do;
--   * nothing to read (read returned ""): coroutine.yield(POLL), POLL = 0.01 by default,
--     as http.lua's read loops (read_n, read_line, the body loop) do. The accept loop uses
--     the same interval: Pragtical itself has no server code to copy.
-- POLL (seconds, > 0) can be given as the second argument to see how the interval trades
-- latency for idle CPU.

local port = math.tointeger(tonumber(arg[1] or "0")) or 0
local POLL = arg[2] == nil and 0.01 or tonumber(arg[2])
local RETRY = 0.05
if not (POLL and POLL > 0) then
  error("POLL must be a number of seconds above 0 (got " .. tostring(arg[2]) .. ")")
end

-- One thread per client: read what has arrived, write it all back, and sleep when there
-- is nothing to read. A nil from read is the end of the stream (or an error): done.
local function serve(conn)
  while true do
    local data = conn:read(65536)
    if data == nil then
      break
    end
    if #data == 0 then
      coroutine.yield(POLL)
    else
      -- write returns how many bytes it took: all of them, part of them, or 0 when the
      -- connection cannot take more yet (retry later).
      local sent = 0
      while sent < #data do
        local n = conn:write(sent == 0 and data or data:sub(sent + 1))
        if n == nil then
          conn:close()
          return
        end
        if n == 0 then
          coroutine.yield(RETRY)
        else
          sent = sent + n
        end
      end
    end
  end
  conn:close()
end

core.add_thread(function()
  local addr = assert(net.resolve_address("127.0.0.1"))
  while true do
    local status, err = addr:get_status()
    if status == "success" then
      break
    elseif status == "failure" then
      error("cannot resolve 127.0.0.1: " .. tostring(err))
    end
    coroutine.yield(0.05)
  end

  local server = assert(net.create_server(addr, port))
  print(server:get_port())
  io.stdout:flush()

  while true do
    local conn, err = server:accept()
    if conn then
      core.add_thread(serve, nil, conn)
    else
      -- nil: nobody is waiting; nil, msg: accept failed (out of descriptors, say), which
      -- a later try may get past. Either way, look again after a pause.
      if err then
        core.warn("accept: %s", err)
      end
      coroutine.yield(POLL)
    end
  end
end)
