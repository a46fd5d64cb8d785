-- A TCP echo server on 127.0.0.1, written against the core module.
--
--   rlua-net examples/echo.lua [seconds [port]]
--
-- It prints the port it listens on (port 0, the default, lets the system pick one),
-- sends every line a client writes straight back, and stops by itself after `seconds`
-- (default 10) or as soon as any client sends the line "quit". Try it with
--
--   socat - TCP:127.0.0.1:PORT        (or: nc 127.0.0.1 PORT)

local core = require "rluanet.core"

local seconds = tonumber(arg[1]) or 10
local port = math.tointeger(tonumber(arg[2])) or 0

local server = assert(core.listen("127.0.0.1", port))
local _, bound = server:local_addr()
print(("echo: listening on 127.0.0.1:%d for %g s (a 'quit' line stops it)"):format(bound, seconds))
io.stdout:flush() -- a script reading our output learns the port at once

local clients = {} -- stream -> peer "ip:port"
local deadline = core.timer()
local stopping = false

-- Closes a client once whatever is still queued for it has gone out.
local function finish(c)
  clients[c] = nil
  if c:pending() == 0 then
    c:close()
  else
    c:watch("off") -- no more reading; the queued bytes keep it anchored until `drain`
  end
end

local function stop(why)
  if stopping then return end
  stopping = true
  print("echo: stopping (" .. why .. ")")
  deadline:stop()
  server:close()
  for c in pairs(clients) do
    finish(c)
  end
end

local function serve(c, peer)
  clients[c] = peer
  print("echo: client " .. peer .. " connected")
  c:on(function(event, ...)
    if event == "readable" then
      -- Read every complete line that is there; `false` means "nothing more for now".
      while clients[c] do
        local line, err = c:read_until("\n", 64 * 1024)
        if line then
          if line:match("^quit\r?\n$") then
            c:queue("bye\n")
            stop("client " .. peer .. " said quit")
            return
          end
          c:queue(line)
        elseif line == false then
          return
        else
          if err then
            print("echo: client " .. peer .. ": " .. err)
          else
            local rest = c:read() -- a last line without its newline
            if rest then c:queue(rest) end
            print("echo: client " .. peer .. " closed its side")
          end
          finish(c)
          return
        end
      end
    elseif event == "drain" then
      if not clients[c] then c:close() end
    elseif event == "error" then
      local msg = ...
      print("echo: client " .. peer .. ": " .. tostring(msg))
      clients[c] = nil
      c:close()
    end
  end)
  c:watch("readable")
end

server:on(function(event, a, b, c)
  if event == "accept" then
    -- a is the new stream, b and c the peer's address and port.
    if stopping then a:close() else serve(a, b .. ":" .. c) end
  elseif event == "error" then
    print("echo: accept failed: " .. tostring(a))
  end
end)
server:watch(true)

deadline:on(function() stop(("%g s are up"):format(seconds)) end)
deadline:start(seconds)

-- The main chunk ends here; the event loop serves clients until nothing is left
-- (no listener, no client, no armed timer), then the process exits with status 0.
