-- Test harness: a real nginx (Debian's nginx + libnginx-mod-http-lua) on 127.0.0.1, started from the example
-- configuration (examples/openresty/nginx.conf) with:
--   * its own prefix build/openresty-test-<id>/ (two levels below the repository root, as the example expects),
--   * the example's listen port replaced by a free one,
--   * spec/ on lua_package_path and a second, test-only server block (the conformance cases) on another port,
--   * `user root;` when run as root (workers read the repository), worker_processes 1 (the example's).
-- nginx runs under `timeout` (a hard bound if the test process dies) and is stopped by :stop().
--
--   local nginx = require("openresty.nginx")
--   local srv = nginx.start({ env = { CLOUDFLARE_API_BASE_URL = ... } })
--   srv.url, srv.test_url, srv:stop(), srv:error_log()
local M = {}

local shell = require("helpers.shell")
local run, exec_ok, q = shell.run, shell.exec_ok, shell.quote
local read_file, write_file, sleep = shell.read_file, shell.write_file, shell.sleep

local function repo_root()
  local src = debug.getinfo(1, "S").source:sub(2)
  local dir = src:match("^(.*)/spec/openresty/[^/]*$")
  if not dir or dir == "" then dir = "." end
  if dir:sub(1, 1) ~= "/" then dir = run("pwd"):gsub("%s+$", "") .. "/" .. dir end
  return dir
end
M.root = repo_root()

local function free_port()
  -- ask the kernel for one (node is required by these tests anyway); a taken port is retried by M.start
  local p = run("node -e \"const s=require('net').createServer().listen(0,'127.0.0.1',()=>{"
    .. "console.log(s.address().port);s.close()})\" 2>/dev/null")
  local n = tonumber(p:match("%d+") or "")
  if n then return n end
  return math.random(20000, 60000)
end

local function http_ok(url)
  return exec_ok("curl -s -o /dev/null --max-time 2 -w '' " .. q(url))
end

--- The example config (or opts.base, another config text, e.g. the minimal one of docs/openresty.md) with the test
--- changes applied (pure text transformation, asserted by the spec).
function M.config(opts)
  local conf = opts.base or assert(read_file(M.root .. "/examples/openresty/nginx.conf"),
    "examples/openresty/nginx.conf missing")
  -- the harness runs nginx in the foreground under `timeout` and finds its master through the prefix's pid file:
  -- a config without them (docs/openresty.md's minimal block) would daemonize with Debian's /run/nginx.pid and
  -- outlive the test
  if not conf:find("daemon%s+off;") then conf = "daemon off;\n" .. conf end
  if not conf:find("\npid%s") and not conf:find("^pid%s") then conf = "pid logs/nginx.pid;\n" .. conf end
  local n
  conf, n = conf:gsub("listen%s+127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. opts.port .. ";")
  assert(n == 1, "the example must listen on 127.0.0.1:8080 exactly once")
  conf, n = conf:gsub('lua_package_path "', 'lua_package_path "$prefix/../../spec/?.lua;', 1)
  assert(n == 1, "the example must set lua_package_path")
  conf, n = conf:gsub("access_log logs/access.log;", "access_log off;", 1)
  local test_server = table.concat({
    "    # ---- test-only server (spec/openresty/nginx.lua) ----",
    "    lua_shared_dict tanstack_test 1m;",
    "    server {",
    "        listen 127.0.0.1:" .. opts.test_port .. ";",
    "        location = /__conformance {",
    opts.tls_ca and ("            lua_ssl_trusted_certificate " .. opts.tls_ca .. ";") or "",
    "            content_by_lua_block { require(\"openresty.conformance_ngx\").handle() }",
    "        }",
    "        location = /__wire {",
    "            lua_check_client_abort on;",
    "            content_by_lua_block { require(\"openresty.conformance_ngx\").wire() }",
    "        }",
    "        location = /__blocking {",
    "            content_by_lua_block { require(\"openresty.conformance_ngx\").blocking() }",
    "        }",
    "        location = /__wire_noabort {",
    "            lua_check_client_abort off;",
    "            content_by_lua_block { require(\"openresty.conformance_ngx\").wire() }",
    "        }",
    "    }",
    "}",
  }, "\n")
  local last = conf:match("^.*()}")
  conf = conf:sub(1, last - 1) .. test_server .. conf:sub(last + 1)
  return conf
end

local Server = {}
Server.__index = Server

--- Start nginx. opts.env: environment for nginx (names must be listed with `env` in the config to reach workers);
--- opts.tls_ca: a CA file the conformance location trusts (lua_ssl_trusted_certificate); opts.base: a config
--- text to start from instead of the example's.
function M.start(opts)
  opts = opts or {}
  local id = string.format("%d%04d", os.time() % 100000, math.random(0, 9999))
  local prefix = M.root .. "/build/openresty-test-" .. id
  assert(exec_ok("mkdir -p " .. q(prefix .. "/logs") .. " " .. q(prefix .. "/tmp")))
  local last_err
  for _ = 1, 5 do
    local port, test_port = free_port(), free_port()
    if port ~= test_port then
      local conf = M.config({ port = port, test_port = test_port, tls_ca = opts.tls_ca, base = opts.base })
      local conf_path = prefix .. "/nginx.conf"
      write_file(conf_path, conf)
      local env = ""
      for k, v in pairs(opts.env or {}) do env = env .. k .. "=" .. q(v) .. " " end
      local user = run("id -u"):match("^0%s*$") and "-g 'user root;' " or ""
      local err_file = prefix .. "/logs/stderr.log"
      local cmd = "cd " .. q(prefix) .. " && env " .. env .. "timeout -s TERM " .. (opts.max_seconds or 600)
        .. " nginx -p " .. q(prefix .. "/") .. " -c " .. q(conf_path) .. " " .. user
        .. ">" .. q(err_file) .. " 2>&1 </dev/null & echo $!"
      local pid = tonumber(run(cmd):match("(%d+)"))
      assert(pid, "could not start nginx")
      local self = setmetatable({ pid = pid, port = port, test_port = test_port, prefix = prefix,
        url = "http://127.0.0.1:" .. port, test_url = "http://127.0.0.1:" .. test_port, err_file = err_file },
        Server)
      for _ = 1, 100 do
        if http_ok(self.url .. "/healthz") and http_ok(self.test_url .. "/__wire?report=ready") then return self end
        if not exec_ok("kill -0 " .. pid .. " 2>/dev/null") then break end
        sleep(0.05)
      end
      last_err = read_file(err_file) or ""
      self:stop()
      if not last_err:find("Address already in use", 1, true) then break end
    end
  end
  error("nginx did not start: " .. tostring(last_err))
end

function Server:error_log()
  return read_file(self.err_file) or ""
end

--- Stop nginx (TERM through `timeout`, which forwards it; KILL if it lingers) and remove the prefix. Idempotent.
function Server:stop(keep)
  if self.stopped then return end
  self.stopped = true
  local pid = tostring(self.pid)
  exec_ok("kill -TERM " .. pid .. " 2>/dev/null")
  local gone = false
  for _ = 1, 100 do
    if not exec_ok("kill -0 " .. pid .. " 2>/dev/null") then gone = true break end
    sleep(0.05)
  end
  local master = read_file(self.prefix .. "/logs/nginx.pid")
  master = master and master:match("%d+")
  if master and exec_ok("kill -0 " .. master .. " 2>/dev/null") then
    exec_ok("kill -TERM " .. master .. " 2>/dev/null")
    for _ = 1, 40 do
      if not exec_ok("kill -0 " .. master .. " 2>/dev/null") then break end
      sleep(0.05)
    end
    exec_ok("kill -KILL " .. master .. " 2>/dev/null")
  end
  if not gone then exec_ok("kill -KILL " .. pid .. " 2>/dev/null") end
  -- `timeout` runs nginx in its own process group (pgid = its pid): whatever is left of it (a master that
  -- outlived a killed `timeout`, workers of a killed master) goes with the group
  exec_ok("kill -KILL -- -" .. pid .. " 2>/dev/null")
  if not keep and self.prefix:find("/build/openresty%-test%-") then exec_ok("rm -rf " .. q(self.prefix)) end
end

--- curl: status, headers (lower-case names), body. opts: headers (a map), max_time (s, default 30).
function M.http(method, url, body, opts)
  opts = opts or {}
  local hdr_file = os.tmpname()
  local cmd = "curl -s --max-time " .. (opts.max_time or 30) .. " -X " .. method .. " -D " .. q(hdr_file)
  for k, v in pairs(opts.headers or {}) do cmd = cmd .. " -H " .. q(k .. ": " .. v) end
  local body_file
  if body then
    body_file = os.tmpname()
    write_file(body_file, body)
    cmd = cmd .. " -H 'content-type: application/json' --data-binary @" .. q(body_file)
  end
  local out = run(cmd .. " " .. q(url))
  local raw = read_file(hdr_file) or ""
  os.remove(hdr_file)
  if body_file then os.remove(body_file) end
  local status = tonumber(raw:match("^HTTP/%S+ (%d+)"))
  local headers = {}
  for line in raw:gmatch("[^\r\n]+") do
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  return status, headers, out
end

--- node <script> <args...> in spec/openresty/client (stdin_text on its standard input): the last stdout line,
--- decoded as JSON.
function M.node(script, args, stdin_text)
  local err_file = os.tmpname()
  local cmd = "cd " .. q(M.root .. "/spec/openresty/client") .. " && timeout 120 node " .. q(script)
  for _, a in ipairs(args or {}) do cmd = cmd .. " " .. q(a) end
  local in_file
  if stdin_text then
    in_file = os.tmpname()
    write_file(in_file, stdin_text)
    cmd = cmd .. " <" .. q(in_file)
  end
  local out = run(cmd .. " 2>" .. q(err_file))
  local err = read_file(err_file) or ""
  os.remove(err_file)
  if in_file then os.remove(in_file) end
  local last = out:match("([^\n]+)\n*$")
  local v = last and require("tanstack.ai.json").decode(last)
  assert(type(v) == "table", "node " .. script .. " printed no JSON.\nstdout: " .. out .. "\nstderr: " .. err)
  return v
end

M._internal = { q = q, run = run, exec_ok = exec_ok, read_file = read_file, sleep = sleep }

return M
