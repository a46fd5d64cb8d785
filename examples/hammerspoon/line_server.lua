-- rlua-net: dialect=hammerspoon
-- A line-based chat room on hs.socket.server. An hs.socket server is one object for all
-- of its clients: server:read("\n") queues a read on every client connected at that
-- moment and all their lines come to the one read callback, which cannot tell who sent
-- them; server:write() goes to every client. So this server is a broadcast room: each
-- line any client sends is numbered and sent to everybody ("#3 hello"), the sender too.
--
-- There is no accept callback either, so a timer watches server:connections() and
-- queues a read for the clients when one arrives. Each line received queues the next
-- read the same way, so every client always has a read waiting. The price of fan-in
-- reads: the clients already there get one more each time, so a quiet client collects
-- waiting reads (one per line the others send); they wait in order and do no harm.
--
--   rlua-net examples/hammerspoon/line_server.lua [PORT [SECONDS]]
--
-- PORT 0 (the default) lets the system pick one. A "shutdown" line, or the end of SECONDS
-- (default 60), closes the server and every client, and the script ends. Try it with two
-- or more `socat - TCP:127.0.0.1:PORT`.
local port = math.tointeger(tonumber(arg[1])) or 0
local seconds = tonumber(arg[2]) or 60

local server, watcher, lifetime
local count, clients = 0, 0

local function stop(why)
  watcher:stop()
  lifetime:stop()
  server:disconnect()
  print("stopped: " .. why)
end

local function onLine(line)
  line = line:gsub("\r?\n$", "")
  if line == "shutdown" then
    stop("shutdown requested")
    return
  end
  count = count + 1
  print(("line #%d: %s"):format(count, line))
  server:write(("#%d %s\n"):format(count, line))
  server:read("\n")
end

server = hs.socket.server(port, onLine)
if server:info().userData ~= "SERVER" then
  io.stderr:write("line_server: cannot listen on port " .. port .. "\n")
  os.exit(1)
end
print("listening on port " .. server:info().localPort)
io.stdout:flush()

watcher = hs.timer.doEvery(0.05, function()
  local now = server:connections()
  if now ~= clients then
    if now > clients then
      server:read("\n")
    end
    clients = now
    print("clients: " .. now)
    io.stdout:flush()
  end
end)

lifetime = hs.timer.doAfter(seconds, function()
  stop("time is up")
end)
