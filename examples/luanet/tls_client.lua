-- rlua-net: dialect=luanet
--
-- An HTTPS request with lua-net: `net.stream.inet.client.new` with a `tlscfg` table gives
-- a net.tls.stream.inet.Client; the TLS handshake happens on the first write (or an
-- explicit handshake()), verifying the server's certificate and its name against HOST.
-- It sends an HTTP/1.0 GET, reads the response until the server ends it, and prints the
-- status line (and how many bytes came).
--
--   rlua-net examples/luanet/tls_client.lua HOST [PORT [CAFILE [PATH]]]
--   rlua-net examples/luanet/tls_client.lua example.com 443
--
-- Trust: the system's root certificates, or those of the bundle that SSL_CERT_FILE (and
-- the directory SSL_CERT_DIR) names. tlscfg has no CA option (upstream's has none either),
-- so to trust a private CA or a self-signed server, give its certificate as CAFILE: the
-- script then runs itself again with SSL_CERT_FILE set to it. The same for one run:
--
--   SSL_CERT_FILE=cert.pem rlua-net examples/luanet/tls_client.lua localhost 4433
--
-- A local server to try it on:
--   openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout key.pem -out cert.pem \
--     -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1
--   openssl s_server -accept 4433 -cert cert.pem -key key.pem -www
--   rlua-net examples/luanet/tls_client.lua localhost 4433 cert.pem

local inet = require('net.stream.inet')

local HOST = arg[1]
local PORT = math.tointeger(tonumber(arg[2] or 443))
local CAFILE = arg[3] ~= '' and arg[3] or nil
local PATH = arg[4] or '/'
if HOST == nil or PORT == nil then
    io.stderr:write('usage: tls_client.lua HOST [PORT [CAFILE [PATH]]]\n')
    os.exit(2)
end

-- Runs this script again with SSL_CERT_FILE=CAFILE (the same interpreter and options),
-- and exits with its status.
local function rerun_trusting(cafile)
    local function quote(s)
        return "'" .. s:gsub("'", "'\\''") .. "'"
    end
    local first = 0
    while arg[first - 1] ~= nil do
        first = first - 1
    end
    local words = { 'SSL_CERT_FILE=' .. quote(cafile) }
    for i = first, #arg do
        words[#words + 1] = quote(arg[i])
    end
    io.stdout:flush()
    local _, _, code = os.execute(table.concat(words, ' '))
    os.exit(code or 1)
end

if CAFILE and os.getenv('SSL_CERT_FILE') ~= CAFILE then
    local f = io.open(CAFILE, 'r')
    if not f then
        io.stderr:write('tls_client.lua: cannot read the CA file ' .. CAFILE .. '\n')
        os.exit(2)
    end
    f:close()
    rerun_trusting(CAFILE)
end

local sock, err, timeout = inet.client.new(HOST, PORT, {
    deadline = 10, -- for the name lookup and the TCP connection
    tlscfg = {
        protocol = 'default', -- TLS 1.2 or 1.3
        alpn = { 'http/1.1' },
    },
})
if not sock then
    print('connect failed: ' .. (err and tostring(err) or 'timed out'))
    os.exit(1)
end
sock:sndtimeo(10) -- the handshake (run by the first write) and the request
sock:rcvtimeo(10) -- each read of the response

local request = ('GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: rlua-net lua-net example\r\n' ..
    'Connection: close\r\n\r\n'):format(PATH, HOST)
local len
len, err, timeout = sock:write(request)
if not len or len < #request then
    -- A failed handshake is reported here: an error whose op is "handshake".
    print('request failed: ' .. (err and tostring(err) or 'timed out'))
    sock:close()
    os.exit(1)
end

-- HTTP/1.0: the response ends when the server closes the connection (read returns all
-- nil then).
local chunks = {}
while true do
    local s
    s, err, timeout = sock:read()
    if not s then
        break
    end
    chunks[#chunks + 1] = s
end
sock:close()

local response = table.concat(chunks)
local status = response:match('^([^\r\n]*)')
if err or timeout then
    print('reading the response failed: ' .. (err and tostring(err) or 'timed out'))
end
if status == nil or status == '' then
    print('no response')
    os.exit(1)
end
print(status)
print(('%d bytes'):format(#response))
