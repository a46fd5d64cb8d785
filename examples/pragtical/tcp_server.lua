-- rlua-net: dialect=pragtical
-- A small line server in the style of a Pragtical plugin: one thread polls the server
-- for new clients, one thread per client polls its connection, and every thread yields
-- between polls. Each line a client sends is answered with "you said: <line>"; a "quit"
-- line, or the end of the given time, stops the server.
--
--   rlua-net examples/pragtical/tcp_server.lua [PORT [SECONDS]]
--
-- PORT 0 (the default) lets the system pick one; SECONDS defaults to 30. Try it with
-- `nc 127.0.0.1 PORT`.
local port = math.tointeger(tonumber(arg[1])) or 0
local seconds = tonumber(arg[2]) or 30

local server, err = net.create_server(port)
if not server then
  core.error("cannot listen: %s", err)
  os.exit(1)
end
print(("listening on port %d for %g s (a 'quit' line stops it)"):format(server:get_port(), seconds))
io.stdout:flush()

local running = true

local function serve(conn)
  local who = conn:get_address():get_ip()
  local buffer = ""
  while running do
    local data, rerr = conn:read(4096)
    if data == nil then
      print(("%s left (%s)"):format(who, rerr))
      break
    end
    buffer = buffer .. data
    for line in buffer:gmatch("([^\n]*)\n") do
      line = line:gsub("\r$", "")
      if line == "quit" then
        running = false
      end
      conn:write("you said: " .. line .. "\n")
    end
    buffer = buffer:match("[^\n]*$")
    if data == "" then
      coroutine.yield(0.01)
    end
  end
  -- Let the answers out before closing.
  while conn:wait_until_drained(0) ~= 0 do
    coroutine.yield(0.01)
  end
  conn:close()
end

core.add_thread(function()
  local deadline = system.get_time() + seconds
  while running and system.get_time() < deadline do
    local conn = server:accept() -- nil while nobody is waiting
    if conn then
      print("client from " .. conn:get_address():get_ip())
      core.add_thread(serve, nil, conn)
    else
      coroutine.yield(0.05)
    end
  end
  running = false
  server:close()
  print("stopped")
end)
