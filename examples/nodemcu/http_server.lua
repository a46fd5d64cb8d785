#!/usr/bin/env -S rlua-net --dialect nodemcu
-- A small web server in the NodeMCU style: answer each request with a page, one chunk per
-- `sent` callback, then close. Try it: rlua-net examples/nodemcu/http_server.lua 8080
-- and open http://127.0.0.1:8080/ (or `curl -s http://127.0.0.1:8080/hello`).
local port = tonumber(arg and arg[1]) or 8080
local hits = 0

local srv = net.createServer(net.TCP, 30)
srv:listen(port, function(conn)
  conn:on("receive", function(sck, request)
    local method, path = request:match("^(%u+) (%S+) HTTP")
    hits = hits + 1
    local body = ("<h1>Hello from NodeMCU-style Lua</h1><p>%s %s, request #%d, heap %d bytes</p>\n")
      :format(method or "?", path or "?", hits, node.heap())
    local parts = {
      "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: " .. #body .. "\r\n\r\n",
      body,
    }
    -- Send the parts one after the other, then close.
    local function send_next(s)
      if #parts > 0 then
        s:send(table.remove(parts, 1))
      else
        s:close()
      end
    end
    sck:on("sent", send_next)
    send_next(sck)
  end)
end)

local p, ip = srv:getaddr()
print(("serving on http://%s:%d/"):format(ip == "0.0.0.0" and "127.0.0.1" or ip, p))
