-- A TCP echo server written the way a cqueues user writes one: a peer of the rlua-net echo
-- servers for benches/run.sh. It runs on the stock interpreter, not on rlua-net (Debian:
-- apt-get install lua5.4 lua-cqueues):
--
--   lua5.4 benches/cqueues_echo.lua [PORT]
--
-- PORT 0 (the default) lets the system pick a port. The bound port is printed on its own
-- line once the server listens; then cq:loop() serves connections until the process is
-- killed. It listens on 127.0.0.1 only (a benchmark has no business on other interfaces).
--
-- The usual shape of a cqueues server: socket.listen, an accept loop in one coroutine of the
-- controller, one coroutine per client. A client coroutine reads with "-65536" (whatever
-- has arrived, up to 64 KiB; it yields to the controller until something has) and writes it
-- back; the socket is in binary mode with no output buffering, so each write goes out
-- at once (yielding while the socket cannot take it all). cqueues sockets throw on most
-- I/O errors by default; here they return them instead, so a client that resets its
-- connection ends its own coroutine (which closes the socket) and nothing else.

local cqueues = require('cqueues')
local socket = require('cqueues.socket')
local errno = require('cqueues.errno')

local port = math.tointeger(tonumber(arg[1] or '0')) or 0
local BUF = '-65536' -- read mode: what is there, at most 64 KiB

local function log(...)
  io.stderr:write('cqueues_echo: ', table.concat({ ... }, ' '), '\n')
end

-- An error handler that hands the error back as a return value instead of throwing.
local function return_error(_, _, why)
  return why
end

local function serve(con)
  con:setmode('b', 'bn')
  con:onerror(return_error)
  while true do
    local data = con:read(BUF)
    if not data then -- end of stream or error
      break
    end
    if not con:write(data) then
      break
    end
  end
  con:close()
end

-- socket.listen binds now and listens on the first accept; listen() here makes it listen
-- at once (the backlog is cqueues' own, SOMAXCONN), so that the port can be printed.
local srv = assert(socket.listen({ host = '127.0.0.1', port = port, reuseaddr = true }))
srv:onerror(return_error)
local ok, why = srv:listen()
if not ok then
  error('listen: ' .. errno.strerror(why))
end
local _, _, bound = srv:localname()
print(bound)
io.stdout:flush()

local cq = cqueues.new()

cq:wrap(function()
  while true do
    local con, err = srv:accept()
    if con then
      cq:wrap(serve, con)
    else -- out of descriptors, say: say so, give the clients a moment, try again
      log('accept:', errno.strerror(err))
      cqueues.sleep(0.1)
    end
  end
end)

-- cq:loop() returns on the first error a coroutine raises (it ends that coroutine only);
-- log it and go on serving.
while true do
  local lok, err = cq:loop()
  if lok then
    break
  end
  log(tostring(err))
end
