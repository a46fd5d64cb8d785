-- rlua-net: dialect=pragtical
-- An HTTP/1.0 GET written the way a Pragtical plugin does network I/O: one thread
-- (core.add_thread) that only ever polls with a timeout of 0 and yields between polls,
-- so the editor -- here, the event loop -- never waits on the network.
--
--   rlua-net examples/pragtical/http_get.lua HOST [PORT [PATH]]
--
-- It prints the status line and the length of the body.
local host = arg[1]
local port = math.tointeger(tonumber(arg[2])) or 80
local path = arg[3] or "/"
if not host then
  io.stderr:write("usage: http_get.lua HOST [PORT [PATH]]\n")
  os.exit(2)
end

local function fail(fmt, ...)
  core.error(fmt, ...)
  os.exit(1)
end

-- Polls `status()` until it leaves "waiting"; a plugin yields so the editor stays live.
local function wait(what, status)
  while true do
    local st, err = status()
    if st == "success" then
      return
    elseif st == "failure" then
      fail("%s: %s", what, err)
    end
    coroutine.yield(0.01)
  end
end

core.add_thread(function()
  local addr, err = net.resolve_address(host)
  if not addr then
    fail("resolving %s: %s", host, err)
  end
  wait("resolving " .. host, function() return addr:get_status() end)

  local conn
  conn, err = net.open_tcp(addr, port)
  if not conn then
    fail("connecting: %s", err)
  end
  wait("connecting to " .. host, function() return conn:get_status() end)

  -- write() may take only part of the data (0: not now); the rest is written later.
  local request = ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n"):format(path, host)
  local sent = 0
  while sent < #request do
    local n, werr = conn:write(request:sub(sent + 1))
    if not n then
      fail("sending: %s", werr)
    end
    sent = sent + n
    if n == 0 then
      coroutine.yield(0.01)
    end
  end
  while conn:wait_until_drained(0) ~= 0 do
    coroutine.yield(0.01)
  end

  -- HTTP/1.0: the server closes the connection after the body; read() is "" while
  -- nothing has arrived and nil at the end.
  local chunks = {}
  while true do
    local chunk, rerr = conn:read(4096)
    if chunk == nil then
      if rerr ~= "End of stream" then
        fail("receiving: %s", rerr)
      end
      break
    end
    if chunk == "" then
      coroutine.yield(0.01)
    else
      chunks[#chunks + 1] = chunk
    end
  end
  conn:close()

  local response = table.concat(chunks)
  local head_end = response:find("\r\n\r\n", 1, true)
  if not head_end then
    fail("not an HTTP response (%d bytes)", #response)
  end
  print(response:match("^[^\r\n]*"))
  print(("body: %d bytes"):format(#response - head_end - 3))
end)
