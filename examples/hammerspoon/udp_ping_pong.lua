-- rlua-net: dialect=hammerspoon
-- UDP ping-pong with hs.socket.udp, both ends in one script. The server listens and
-- answers each "ping N" with "pong N", sent back to the address its read callback was
-- given (a binary sockaddr, read with hs.socket.parseAddress). The client is a plain
-- hs.socket.udp.new(): its first send binds it to a free port, so it can receive() the
-- answers. After COUNT round trips both sockets are closed and, with nothing left alive,
-- the script ends by itself.
--
--   rlua-net examples/hammerspoon/udp_ping_pong.lua [COUNT [PORT]]
--
-- COUNT defaults to 3; PORT (default 0: any free one) is where the server listens. If an
-- answer does not come within 10 seconds the script gives up with status 1.
local count = math.tointeger(tonumber(arg[1])) or 3
local port = math.tointeger(tonumber(arg[2])) or 0

local server, client, watchdog

server = hs.socket.udp.server(port, function(data, addr)
  local from = hs.socket.parseAddress(addr)
  print(("server: got '%s' from %s:%d"):format(data, from.host, from.port))
  local n = data:match("^ping (%d+)$")
  if n then
    server:send("pong " .. n, from.host, from.port)
  end
end)
if server:info().userData ~= "SERVER" then
  io.stderr:write("udp_ping_pong: cannot listen on port " .. port .. "\n")
  os.exit(1)
end
port = server:info().localPort
print("server: listening on port " .. port)
server:receive()

local sent = 0
local function ping()
  sent = sent + 1
  client:send("ping " .. sent, "127.0.0.1", port)
end

client = hs.socket.udp.new(function(data)
  print("client: got '" .. data .. "'")
  if data ~= "pong " .. sent then
    return -- not the answer to the last ping: keep waiting for it
  elseif sent < count then
    ping()
  else
    print(("client: %d round trips, done"):format(sent))
    watchdog:stop()
    client:close()
    server:close()
  end
end)

watchdog = hs.timer.doAfter(10, function()
  io.stderr:write(("udp_ping_pong: no answer to ping %d\n"):format(sent))
  os.exit(1)
end)

ping()
client:receive()
