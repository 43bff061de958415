-- Response heads as a raw TCP server sends them (repeated fields, obs-fold, 1xx interim heads,
-- odd spacing), read through core.http_request: the header table libcurl's lines become.
-- The server is a few lines of node. Lua 5.1 syntax.
local core = require("tanstack.ai.core")
local cjson = require("cjson")
local shell = require("helpers.shell")

local SERVER_JS = [==[
const net = require('net');
const fs = require('fs');
const responses = JSON.parse(fs.readFileSync(process.argv[2], 'latin1'));
const server = net.createServer((sock) => {
  let got = '';
  sock.setEncoding('latin1');
  sock.on('error', () => {});
  sock.on('data', (d) => {
    got += d;
    if (got.indexOf('\r\n\r\n') < 0) return;
    const raw = responses[got.split(' ')[1]];
    sock.end(Buffer.from(raw === undefined ? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' : raw, 'latin1'));
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('LISTENING ' + server.address().port + '\n'));
const parent = Number(process.argv[3]);
setInterval(() => { try { process.kill(parent, 0); } catch (e) { process.exit(0); } }, 500).unref();
setTimeout(() => process.exit(0), 300000).unref();
]==]

local RESPONSES = {
  ["/repeated"] = "HTTP/1.1 200 OK\r\nX-Multi: a\r\nx-multi: b\r\nX-MULTI:  c \t\r\nContent-Length: 2\r\n\r\nok",
  ["/case"] = "HTTP/1.1 200 OK\r\nCONTENT-TYPE: Text/Plain\r\nX-Url: http://h:1/P\r\nContent-Length: 2\r\n\r\nok",
  ["/fold"] = "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nX-E:\r\n x\r\nX-T: a \r\n b\r\nContent-Length: 2\r\n\r\nok",
  ["/interim"] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    .. "HTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 2\r\n\r\nok",
  ["/empty"] = "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Sp:   v  \r\nX-Colon: a:b: c\r\nX-Empty: z\r\n"
    .. "X-Name : v\r\nContent-Length: 2\r\n\r\nok",
  ["/lf"] = "HTTP/1.1 200 OK\nX-Lf: 1\nContent-Length: 2\n\nok",
  ["/cr"] = "HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 2\r\n\r\nok",
  ["/http10"] = "HTTP/1.0 299 Whatever\r\nX: y\r\n\r\nbody",
  ["/trailers"] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: t\r\n\r\n",
}

describe("core.http_request response heads", function()
  local pid, base, files

  lazy_setup(function()
    files = { js = os.tmpname(), json = os.tmpname(), out = os.tmpname() }
    shell.write_file(files.js, SERVER_JS)
    shell.write_file(files.json, cjson.encode(RESPONSES))
    pid = shell.run("node " .. shell.quote(files.js) .. " " .. shell.quote(files.json) .. " $PPID >"
      .. shell.quote(files.out) .. " 2>&1 </dev/null & echo $!"):match("%d+")
    assert.truthy(pid, "node did not start")
    for _ = 1, 200 do
      local port = (shell.read_file(files.out) or ""):match("LISTENING (%d+)")
      if port then
        base = "http://127.0.0.1:" .. port
        break
      end
      shell.sleep(0.05)
    end
    assert.truthy(base, "raw server did not start: " .. (shell.read_file(files.out) or ""))
  end)

  lazy_teardown(function()
    if pid then shell.exec_ok("kill " .. pid .. " 2>/dev/null") end
    for _, f in pairs(files or {}) do os.remove(f) end
  end)

  local function head(path)
    local req = core.http_request({ url = base .. path, timeout = 5000 })
    local status, headers, kind = req:response()
    assert.is_number(status, tostring(headers) .. " " .. tostring(kind))
    local body = req:read_all()
    req:close()
    return status, headers, body
  end

  it("joins repeated fields with ', ' in arrival order", function()
    local _, h = head("/repeated")
    assert.equal("a, b, c", h["x-multi"])
  end)

  it("lower-cases names only", function()
    local _, h = head("/case")
    assert.equal("Text/Plain", h["content-type"])
    assert.equal("http://h:1/P", h["x-url"])
    assert.is_nil(h["CONTENT-TYPE"])
  end)

  it("joins obs-fold lines with one space", function()
    local _, h = head("/fold")
    assert.equal("a b c", h["x-fold"])
    assert.equal("x", h["x-e"])
    assert.equal("a  b", h["x-t"]) -- the first line's trailing blank stays
  end)

  it("returns the final head after 1xx interim heads", function()
    local status, h, body = head("/interim")
    assert.equal(201, status)
    assert.equal("yes", h["x-final"])
    assert.is_nil(h["link"])
    assert.equal("ok", body)
  end)

  it("trims values, keeps empty ones and the name as sent", function()
    local _, h = head("/empty")
    assert.equal(", z", h["x-empty"]) -- "" joined with "z"
    assert.equal("v", h["x-sp"])
    assert.equal("a:b: c", h["x-colon"])
    assert.equal("v", h["x-name "])
  end)

  it("accepts bare LF line ends and keeps a lone CR in a value", function()
    local _, h = head("/lf")
    assert.equal("1", h["x-lf"])
    local _, h2 = head("/cr")
    assert.equal("a\rb", h2["x-cr"])
  end)

  it("reads an HTTP/1.0 head with any 3-digit status", function()
    local status, h, body = head("/http10")
    assert.equal(299, status)
    assert.equal("y", h["x"])
    assert.equal("body", body)
  end)

  it("does not expose chunked trailers", function()
    local status, h, body = head("/trailers")
    assert.equal(200, status)
    assert.equal("chunked", h["transfer-encoding"])
    assert.is_nil(h["x-trailer"])
    assert.equal("ok", body)
  end)
end)
