#!/usr/bin/env -S rlua-net --dialect nodemcu
-- An HTTPS request with NodeMCU's tls module:
--   rlua-net examples/nodemcu/tls_client.lua example.com 443
-- Certificates are checked against the system roots; tls.cert.verify(false) would skip
-- that (only for testing against your own self-signed server).
local host = arg and arg[1] or "example.com"
local port = tonumber(arg and arg[2]) or 443

local sock = tls.createConnection()
local response = {}
sock:on("connection", function(s)
  s:send("GET / HTTP/1.0\r\nHost: " .. host .. "\r\nConnection: close\r\n\r\n")
end)
sock:on("receive", function(_, chunk)
  response[#response + 1] = chunk
end)
sock:on("reconnection", function(_, reason)
  print("connection failed: " .. tostring(reason))
end)
sock:on("disconnection", function()
  local text = table.concat(response)
  print(text:match("^[^\r\n]*") or "(no response)")
  print(("%d bytes received"):format(#text))
end)
sock:connect(port, host)
