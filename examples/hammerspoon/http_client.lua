-- rlua-net: dialect=hammerspoon
-- The HTTP client from the hs.socket documentation: tagged reads drive a small state
-- machine. The first read asks for everything up to the blank line that ends the headers
-- (tag 1); the callback finds Content-Length and queues a read of exactly that many bytes
-- (tag 2). The write and the first read are issued right after connect(), before the
-- connection exists: hs.socket keeps them and runs them once it is up.
--
--   rlua-net examples/hammerspoon/http_client.lua HOST [PORT [PATH]]
--
-- It prints the status line, the headers and then the body. Failures (refused, unknown
-- host, a stalled server) are logged by hs.socket and the script exits with status 1.
local host = arg[1]
local port = math.tointeger(tonumber(arg[2])) or 80
local path = arg[3] or "/"
if not host then
  io.stderr:write("usage: http_client.lua HOST [PORT [PATH]]\n")
  os.exit(2)
end

-- Asynchronous failures are only logged at debug level, as in Hammerspoon's console.
hs.socket.setLogLevel("debug")

local HEADER, CONTENT = 1, 2
local finished = false
local client

local function onRead(data, tag)
  if tag == HEADER then
    local status = data:match("^([^\r\n]*)")
    print("status: " .. status)
    for name, value in data:gmatch("\r\n([^:\r\n]+): ([^\r\n]*)") do
      print("header: " .. name .. ": " .. value)
    end
    local length = tonumber(data:match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)\r\n"))
    if length == nil then
      print("no Content-Length: cannot tell where the body ends")
      finished = true
      client:disconnect()
    elseif length == 0 then
      print("body: (empty)")
      finished = true
      client:disconnect()
    else
      client:read(length, CONTENT)
    end
  elseif tag == CONTENT then
    print(("body: %d bytes"):format(#data))
    io.write(data)
    if data:sub(-1) ~= "\n" then
      io.write("\n")
    end
    finished = true
    client:disconnect()
  end
end

client = hs.socket.new(onRead):setTimeout(10):connect(host, port)
if client == nil then
  os.exit(1)
end
client:write(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"):format(path, host))
client:read("\r\n\r\n", HEADER)

-- hs.socket has no error callback: watch for the socket to be disconnected, and tell
-- a finished exchange from a failure.
hs.timer.waitUntil(function()
  return not client:connected() and client:info().isDisconnected
end, function()
  if not finished then
    io.stderr:write(("http_client: no complete response from %s:%d\n"):format(host, port))
    os.exit(1)
  end
end, 0.05)
