-- Local HTTPS for the TLS conformance cases: a throw-away CA and a leaf certificate for "localhost" (openssl CLI),
-- a self-signed "rogue" certificate, and spec/openresty/client/tls-server.mjs serving one of each.
--   local tls = require("openresty.tls").start()
--   tls.trusted_url ("https://localhost:<port>"), tls.untrusted_url, tls.ca (path of the CA certificate), tls:stop(),
--   tls.flaky_url (plain HTTP; a keep-alive connection dies on its second request)
-- Lua 5.1 syntax (the case list that uses the URLs runs inside nginx too); this module runs only in the test process.
local M = {}

local shell = require("helpers.shell")
local run, ok, q, read_file = shell.run, shell.exec_ok, shell.quote, shell.read_file

--- Create the certificates in dir (idempotent). Raises when openssl fails.
function M.certificates(dir)
  if read_file(dir .. "/leaf.pem") and read_file(dir .. "/rogue.pem") then return end
  assert(ok("mkdir -p " .. q(dir)))
  local d = q(dir)
  local cmds = {
    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=tanstack-ai-lua test CA' "
      .. "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
      .. "-keyout " .. d .. "/ca.key -out " .. d .. "/ca.pem",
    "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout " .. d .. "/leaf.key -out " .. d .. "/leaf.csr",
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > "
      .. d .. "/leaf.ext",
    "openssl x509 -req -in " .. d .. "/leaf.csr -CA " .. d .. "/ca.pem -CAkey " .. d .. "/ca.key -CAcreateserial "
      .. "-days 2 -extfile " .. d .. "/leaf.ext -out " .. d .. "/leaf.pem",
    "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=localhost' "
      .. "-addext subjectAltName=DNS:localhost -keyout " .. d .. "/rogue.key -out " .. d .. "/rogue.pem",
  }
  for _, c in ipairs(cmds) do
    assert(ok(c .. " >/dev/null 2>&1"), "openssl failed: " .. c)
  end
end

local Server = {}
Server.__index = Server

function M.start(opts)
  opts = opts or {}
  local root = opts.root or require("openresty.nginx").root
  local dir = root .. "/build/openresty-tls"
  M.certificates(dir)
  local out = os.tmpname()
  local pid = tonumber(run("cd " .. q(root .. "/spec/openresty/client") .. " && node tls-server.mjs " .. q(dir)
    .. " $PPID >" .. q(out) .. " 2>&1 </dev/null & echo $!"):match("%d+"))
  assert(pid, "could not start the TLS server")
  local p1, p2, p3
  for _ = 1, 200 do
    local text = read_file(out) or ""
    p1, p2, p3 = text:match("TLS LISTENING (%d+) (%d+) (%d+)")
    if p1 then break end
    os.execute("sleep 0.05")
  end
  if not p1 then
    local text = read_file(out) or ""
    ok("kill " .. pid .. " 2>/dev/null")
    os.remove(out)
    error("TLS server did not start: " .. text)
  end
  return setmetatable({ pid = pid, out = out, ca = dir .. "/ca.pem", dir = dir,
    trusted_url = "https://localhost:" .. p1, untrusted_url = "https://localhost:" .. p2,
    flaky_url = "http://127.0.0.1:" .. p3 }, Server)
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  ok("kill " .. self.pid .. " 2>/dev/null")
  for _ = 1, 40 do
    if not ok("kill -0 " .. self.pid .. " 2>/dev/null") then break end
    os.execute("sleep 0.05")
  end
  os.remove(self.out)
end

return M
