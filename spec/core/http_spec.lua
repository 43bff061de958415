-- libcurl transport of the C core against the local emulator's /__test/* routes.
-- Every request carries a timeout so no test can hang. Lua 5.1 syntax.
local core = require("tanstack.ai.core")
local cjson = require("cjson")
local emulator = require("helpers.emulator")

local ok_socket, socket = pcall(require, "socket")
local function now()
  if ok_socket then return socket.gettime() end
  return os.time()
end

local SECRET = "sk-test-very-secret-0123456789"

local function pattern(n, offset)
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = string.char((i + (offset or 0)) % 256) end
  return table.concat(t)
end

local function all_bytes()
  return pattern(256)
end

-- Reads to the end with a blocking read(); returns body, err, kind, chunks.
local function drain(req)
  local parts = {}
  for _ = 1, 100000 do
    local chunk, err, kind = req:read()
    if chunk == nil then return table.concat(parts), err, kind, parts end
    assert.is_string(chunk)
    assert.is_true(#chunk > 0)
    parts[#parts + 1] = chunk
  end
  error("drain: too many chunks")
end

describe("core.http_request", function()
  local emu, base

  lazy_setup(function()
    emu = emulator.start()
    base = emu.url
  end)

  lazy_teardown(function()
    if emu then emu:stop() end
    collectgarbage("collect")
  end)

  local function get(path, opts)
    opts = opts or {}
    opts.url = base .. path
    if opts.timeout == nil then opts.timeout = 10000 end
    return core.http_request(opts)
  end

  describe("response()", function()
    it("returns the status and lower-cased headers", function()
      local req = get("/__test/status/418")
      local status, headers = req:response()
      assert.equal(418, status)
      assert.equal("application/json", headers["content-type"])
      for name in pairs(headers) do assert.equal(name:lower(), name) end
      assert.equal(418, cjson.decode(req:read_all()).status)
      req:close()
    end)

    it("sends method, headers (map and array form) and body", function()
      local req = core.http_request({
        method = "PUT",
        url = base .. "/__test/echo?x=1",
        headers = { ["X-Map"] = "m", ["X-Num"] = 42, "X-Array: a", "X-Array2:b" },
        body = "payload",
        timeout = 10000,
      })
      assert.equal(200, (req:response()))
      local echo = cjson.decode(req:read_all())
      assert.equal("PUT", echo.method)
      assert.equal("/__test/echo", echo.path)
      assert.equal("1", echo.query.x)
      assert.equal("m", echo.headers["x-map"])
      assert.equal("42", echo.headers["x-num"])
      assert.equal("a", echo.headers["x-array"])
      assert.equal("b", echo.headers["x-array2"])
      assert.equal("payload", core.base64_decode(echo.body_base64))
      req:close()
    end)

    it("reads options through __index and keeps the strings alive while it uses them", function()
      -- Fresh strings that only the C function holds; a full GC in a later lookup must not free them.
      local fields = {
        method = function() return ("PAT" .. "CH"):sub(1) end,
        url = function() return base .. "/__test/echo?n=" .. tostring(12345 + 1) end,
        body = function() return string.rep("b", 300) .. "!" end,
        ca_file = function() return nil end,
        max_buffer = function()
          collectgarbage("collect")
          collectgarbage("collect")
          return nil
        end,
        timeout = function() return 10000 end,
      }
      local opts = setmetatable({}, { __index = function(_, k)
        local f = fields[k]
        if f then return f() end
      end })
      local req = core.http_request(opts)
      assert.equal(200, (req:response()))
      local echo = cjson.decode(req:read_all())
      assert.equal("PATCH", echo.method)
      assert.equal("12346", echo.query.n)
      assert.equal(string.rep("b", 300) .. "!", core.base64_decode(echo.body_base64))
      assert.matches("PATCH http://127%.0%.0%.1:%d+/__test/echo%)$", tostring(req))
      req:close()
    end)

    it("adds no Expect, Accept-Encoding or made-up Content-Type", function()
      local req = core.http_request({
        method = "POST", url = base .. "/__test/echo", body = string.rep("x", 100000),
        timeout = 10000,
      })
      local echo = cjson.decode(req:read_all())
      assert.is_nil(echo.headers.expect)
      assert.is_nil(echo.headers["accept-encoding"])
      assert.is_nil(echo.headers["content-type"])
      assert.equal("100000", echo.headers["content-length"])
      req:close()
    end)

    it("sends Content-Length: 0 for a POST without body", function()
      local req = core.http_request({ method = "POST", url = base .. "/__test/echo", timeout = 10000 })
      local echo = cjson.decode(req:read_all())
      assert.equal("POST", echo.method)
      assert.equal("0", echo.headers["content-length"])
      assert.equal("", core.base64_decode(echo.body_base64))
      req:close()
    end)

    it("keeps a caller's Content-Type", function()
      local req = core.http_request({
        method = "POST", url = base .. "/__test/echo", body = "{}",
        headers = { ["Content-Type"] = "application/json" }, timeout = 10000,
      })
      assert.equal("application/json", cjson.decode(req:read_all()).headers["content-type"])
      req:close()
    end)

    it("returns false with wait == false until the head is there", function()
      local req = get("/__test/head_delay?ms=300")
      assert.is_false(req:response(false))
      local status = req:response()
      assert.equal(200, status)
      assert.equal(200, (req:response(false)))
      req:close()
    end)

    it("does not follow redirects", function()
      local req = get("/__test/status/302")
      assert.equal(302, (req:response()))
      req:close()
    end)

    it("supports HEAD", function()
      local req = core.http_request({ method = "HEAD", url = base .. "/__test/bytes?n=100", timeout = 10000 })
      local status, headers = req:response()
      assert.equal(200, status)
      assert.equal("100", headers["content-length"])
      assert.is_nil(req:read())
      req:close()
    end)
  end)

  describe("bodies", function()
    it("sends all 256 byte values", function()
      local body = all_bytes() .. "\0" .. all_bytes()
      local req = core.http_request({ method = "POST", url = base .. "/__test/echo", body = body, timeout = 10000 })
      local echo = cjson.decode(req:read_all())
      assert.equal(body, core.base64_decode(echo.body_base64))
      req:close()
    end)

    it("receives all 256 byte values", function()
      local req = get("/__test/bytes?n=256")
      assert.equal(all_bytes(), req:read_all())
      req:close()
    end)

    it("receives a large binary body through read()", function()
      local n = 3 * 1024 * 1024 + 7
      local req = get("/__test/bytes?n=" .. n)
      assert.equal(200, (req:response()))
      local body, err = drain(req)
      assert.is_nil(err)
      assert.equal(n, #body)
      assert.equal(pattern(n), body)
      assert.equal(n, req:info().bytes_received)
      req:close()
    end)

    it("hands a body already buffered to read() in pieces of at most 64 KiB, every byte once", function()
      local n = 1000 * 1000 + 3
      local req = get("/__test/bytes?n=" .. n)
      assert.equal(200, (req:response()))
      -- let the whole body arrive before reading (the default max_buffer is 1 MiB)
      local deadline = now() + 10
      while core.http_wait(20) > 0 and now() < deadline do end
      local parts, biggest = {}, 0
      while true do
        local chunk, err = req:read()
        assert.is_nil(err)
        if chunk == nil then break end
        if #chunk > biggest then biggest = #chunk end
        parts[#parts + 1] = chunk
      end
      assert.equal(pattern(n), table.concat(parts))
      assert.equal(65536, biggest)
      assert.is_true(#parts >= 16, #parts .. " pieces")
      req:close()
    end)

    it("read_all() returns an empty string for an empty body and read() nil at the end", function()
      local req = get("/__test/bytes?n=0")
      assert.equal("", req:read_all())
      assert.is_nil(req:read())
      assert.is_nil(req:read())
      req:close()
    end)
  end)

  describe("streaming", function()
    it("returns the first piece while the server is still sending", function()
      local t0 = now()
      local req = get("/__test/drip?n=5&delay_ms=150")
      assert.equal(200, (req:response()))
      local first = req:read()
      local t_first = now() - t0
      assert.equal("chunk-0\n", first)
      local rest, err = drain(req)
      local t_all = now() - t0
      assert.is_nil(err)
      assert.equal("chunk-1\nchunk-2\nchunk-3\nchunk-4\n", rest)
      if ok_socket then
        assert.is_true(t_first < t_all - 0.3, ("first %.3f all %.3f"):format(t_first, t_all))
      end
      req:close()
    end)

    it("a blocking read sleeps while it waits (no busy polling, whatever core.http_ready holds)", function()
      -- a finished request leaves its id in the ready list (nobody drains it outside tanstack.ai.async)
      local done = get("/__test/bytes?n=10")
      assert.equal(pattern(10), done:read_all())
      local req = get("/__test/drip?n=2&delay_ms=400")
      assert.equal(200, (req:response()))
      local c0 = os.clock()
      local body = drain(req)
      local cpu = os.clock() - c0
      assert.equal("chunk-0\nchunk-1\n", body)
      -- about 0.4 s of waiting: a spinning wait would burn about that much CPU
      assert.is_true(cpu < 0.1, ("%.3f s of CPU while waiting"):format(cpu))
      req:close()
      done:close()
    end)

    it("keeps the list of requests that moved bounded when nobody reads it (core.http_ready)", function()
      core.http_ready() -- start empty
      local ids = {}
      for i = 1, 5000 do
        local req = core.http_request({ url = "http://127.0.0.1:1/", connect_timeout = 2000, timeout = 5000 })
        ids[i] = req:id()
        req:close()
      end
      -- past its bound the list became "every request moved", then it starts afresh
      assert.is_true(core.http_ready())
      assert.same({}, core.http_ready())
      local req = get("/__test/bytes?n=10")
      assert.equal(pattern(10), req:read_all())
      local ready = core.http_ready()
      assert.equal(1, #ready)
      assert.equal(req:id(), ready[1])
      req:close()
      assert.same({ req:id() }, core.http_ready()) -- closing wakes whoever waits on it
      assert.is_true(ids[5000] > ids[1])
    end)

    it("read(false) returns false when nothing is buffered yet", function()
      local req = get("/__test/drip?n=2&delay_ms=300")
      assert.equal(200, (req:response()))
      local got, saw_false = {}, false
      local deadline = now() + 5
      while now() < deadline do
        local chunk, err = req:read(false)
        if chunk == false then
          saw_false = true
          core.http_wait(50)
        elseif chunk == nil then
          assert.is_nil(err)
          break
        else
          got[#got + 1] = chunk
        end
      end
      assert.is_true(saw_false)
      assert.equal("chunk-0\nchunk-1\n", table.concat(got))
      req:close()
    end)

    it("interleaves two concurrent requests with read(false) and http_wait", function()
      local a = get("/__test/drip?n=4&delay_ms=100")
      local b = get("/__test/drip?n=4&delay_ms=100")
      local reqs = { a = a, b = b }
      local bodies, finished, order = { a = {}, b = {} }, {}, {}
      local deadline = now() + 10
      local running_seen = 0
      while (not finished.a or not finished.b) and now() < deadline do
        for name, req in pairs(reqs) do
          if not finished[name] then
            local chunk, err = req:read(false)
            if chunk == nil then
              assert.is_nil(err)
              finished[name] = true
              order[#order + 1] = name .. ":end"
            elseif chunk then
              bodies[name][#bodies[name] + 1] = chunk
              order[#order + 1] = name
            end
          end
        end
        local running = core.http_wait(50)
        if running > running_seen then running_seen = running end
      end
      assert.is_true(finished.a and finished.b)
      local want = "chunk-0\nchunk-1\nchunk-2\nchunk-3\n"
      assert.equal(want, table.concat(bodies.a))
      assert.equal(want, table.concat(bodies.b))
      assert.equal(2, running_seen)
      -- both made progress before either ended
      local first_end
      for i, ev in ipairs(order) do
        if ev:match(":end$") then first_end = i break end
      end
      local seen = {}
      for i = 1, first_end - 1 do seen[order[i]] = true end
      assert.is_true(seen.a and seen.b, table.concat(order, " "))
      assert.equal(0, core.http_wait(0))
      a:close()
      b:close()
    end)

    it("a blocking read on one request drives the others", function()
      local slow = get("/__test/drip?n=3&delay_ms=200")
      local fast = get("/__test/bytes?n=1000")
      assert.equal(200, (slow:response()))
      drain(slow)
      -- fast completed in the background meanwhile
      assert.equal(pattern(1000), fast:read(false))
      assert.is_nil(fast:read(false))
      slow:close()
      fast:close()
    end)
  end)

  describe("backpressure", function()
    it("pauses at max_buffer and still delivers every byte to a slow reader", function()
      local n = 1024 * 1024
      local req = get("/__test/bytes?n=" .. n, { max_buffer = 4096 })
      assert.equal(200, (req:response()))
      local parts, biggest = {}, 0
      local deadline = now() + 20
      while now() < deadline do
        -- a slow consumer: let the transfer run for a while before each read
        core.http_wait(1)
        core.http_wait(1)
        local chunk, err = req:read()
        if chunk == nil then
          assert.is_nil(err)
          break
        end
        if #chunk > biggest then biggest = #chunk end
        parts[#parts + 1] = chunk
      end
      local body = table.concat(parts)
      assert.equal(n, #body)
      assert.equal(pattern(n), body)
      -- unread data stays near max_buffer (+ one libcurl delivery)
      assert.is_true(biggest <= 4096 + 64 * 1024, "biggest chunk " .. biggest)
      req:close()
    end)
  end)

  describe("failures", function()
    it("reports a refused connection as kind 'connect'", function()
      local req = core.http_request({ url = "http://127.0.0.1:1/", connect_timeout = 2000, timeout = 5000 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.is_string(err)
      assert.equal("connect", kind)
      local chunk, err2, kind2 = req:read()
      assert.is_nil(chunk)
      assert.equal(err, err2)
      assert.equal("connect", kind2)
      req:close()
    end)

    if ok_socket then
      it("names the connect timeout", function()
        -- a loopback listener whose accept queue is full drops further SYNs
        local srv = assert(socket.bind("127.0.0.1", 0, 0))
        local _, port = srv:getsockname()
        local fillers = {}
        for i = 1, 4 do
          local c = socket.tcp()
          c:settimeout(0)
          c:connect("127.0.0.1", port)
          fillers[i] = c
        end
        local t0 = now()
        local req = core.http_request({
          url = "http://127.0.0.1:" .. port .. "/", connect_timeout = 300, timeout = 5000,
        })
        local status, err, kind = req:response()
        req:close()
        for _, c in ipairs(fillers) do c:close() end
        srv:close()
        assert.is_nil(status)
        assert.equal("connect timeout after 300 ms", err)
        assert.equal("timeout", kind)
        assert.is_true(now() - t0 < 3)
      end)
    end

    it("reports a failed TLS handshake as kind 'tls'", function()
      -- https:// to the plain-HTTP emulator: the handshake cannot succeed
      local req = core.http_request({ url = base:gsub("^http:", "https:") .. "/", timeout = 5000 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.is_string(err)
      assert.equal("tls", kind)
      req:close()
      req = core.http_request({
        url = base:gsub("^http:", "https:") .. "/", ca_file = "/nonexistent/ca.pem", timeout = 5000,
      })
      status, err, kind = req:response()
      assert.is_nil(status)
      assert.equal("tls", kind)
      req:close()
    end)

    it("aborts after idle_timeout ms without a byte", function()
      local t0 = now()
      local req = get("/__test/stall?after_bytes=10&ms=5000", { idle_timeout = 200 })
      assert.equal(200, (req:response()))
      assert.equal(pattern(10), req:read())
      local chunk, err, kind = req:read()
      assert.is_nil(chunk)
      assert.equal("idle timeout: no data for 200 ms", err)
      assert.equal("timeout", kind)
      assert.is_true(now() - t0 < 3)
      req:close()
    end)

    it("applies idle_timeout while waiting for the head", function()
      local req = get("/__test/head_delay?ms=5000", { idle_timeout = 200 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.equal("idle timeout: no data for 200 ms", err)
      assert.equal("timeout", kind)
      req:close()
    end)

    it("aborts after the total timeout, naming it", function()
      local req = get("/__test/head_delay?ms=5000", { timeout = 300 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.equal("request timed out after 300 ms", err)
      assert.equal("timeout", kind)
      req:close()

      req = get("/__test/drip?n=50&delay_ms=100", { timeout = 400 })
      assert.equal(200, (req:response()))
      local body, err2, kind2 = drain(req)
      assert.matches("^chunk%-0\n", body)
      assert.equal("request timed out after 400 ms", err2)
      assert.equal("timeout", kind2)
      req:close()
    end)

    it("reports a mid-stream drop as kind 'network' after the data", function()
      local req = get("/__test/drop?after_bytes=1000", { idle_timeout = 3000 })
      assert.equal(200, (req:response()))
      local body, err, kind = drain(req)
      assert.equal(pattern(1000), body)
      assert.is_string(err)
      assert.equal("network", kind)
      req:close()
    end)

    it("read_all() fails with message and kind", function()
      local req = get("/__test/stall?after_bytes=10&ms=5000", { idle_timeout = 200 })
      local body, err, kind = req:read_all()
      assert.is_nil(body)
      assert.equal("idle timeout: no data for 200 ms", err)
      assert.equal("timeout", kind)
      req:close()
    end)
  end)

  describe("max_response_bytes", function()
    it("refuses an announced Content-Length over the limit before reading the body", function()
      local t0 = now()
      local req = get("/__test/bytes?n=20000000", { max_response_bytes = 1000 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.equal("too_large", kind)
      assert.equal("response body of 20000000 bytes (Content-Length) exceeds the limit of 1000 bytes"
        .. " (max_response_bytes)", err)
      -- what libcurl read with the head, not the 20 MB
      assert.is_true(req:info().bytes_received < 1000000)
      assert.is_true(now() - t0 < 5)
      local chunk, rerr, rkind = req:read()
      assert.is_nil(chunk)
      assert.equal(err, rerr)
      assert.equal("too_large", rkind)
      req:close()
    end)

    it("refuses a 10 GiB Content-Length at once", function()
      local req = get("/__test/drop?after_bytes=10&content_length=10737418240", { max_response_bytes = 64 * 1024 * 1024 })
      local status, err, kind = req:response()
      assert.is_nil(status)
      assert.equal("too_large", kind)
      assert.matches("10737418240", err)
      req:close()
    end)

    it("accepts a body of exactly the limit, and a HEAD announcing more", function()
      local req = get("/__test/bytes?n=1000", { max_response_bytes = 1000 })
      assert.equal(200, (req:response()))
      assert.equal(pattern(1000), req:read_all())
      req:close()
      req = get("/__test/bytes?n=5000", { method = "HEAD", max_response_bytes = 10 })
      local status, headers = req:response()
      assert.equal(200, status)
      assert.equal("5000", headers["content-length"])
      assert.equal("", req:read_all())
      req:close()
    end)

    it("refuses a chunked body as it grows past the limit; no byte past it is handed out", function()
      local req = get("/__test/sse?n=200", { max_response_bytes = 500 })
      local status, headers = req:response()
      assert.equal(200, status)
      assert.is_nil(headers["content-length"])
      local body, err, kind = drain(req)
      assert.equal("too_large", kind)
      assert.equal("response body exceeds the limit of 500 bytes (max_response_bytes)", err)
      assert.is_true(#body <= 500)
      local stream = {}
      for i = 0, 199 do stream[#stream + 1] = 'data: {"i":' .. i .. '}\n\n' end
      assert.equal(table.concat(stream):sub(1, #body), body) -- a prefix of the stream, intact
      req:close()
      -- read_all fails the same way
      req = get("/__test/sse?n=200", { max_response_bytes = 500 })
      local all, err2, kind2 = req:read_all()
      assert.is_nil(all)
      assert.equal("too_large", kind2)
      assert.is_string(err2)
      req:close()
    end)

    it("is no limit when absent (or math.huge), and must be a number >= 0", function()
      for _, limit in ipairs({ false, math.huge, 2 ^ 70 }) do
        local req = get("/__test/sse?n=200", { max_response_bytes = limit or nil })
        local body, err = drain(req)
        assert.is_nil(err)
        assert.is_true(#body > 2000)
        req:close()
      end
      assert.has_error(function() get("/", { max_response_bytes = -1 }) end)
      assert.has_error(function() get("/", { max_response_bytes = "1000" }) end)
      assert.has_error(function() get("/", { max_response_bytes = 0 / 0 }) end)
    end)
  end)

  describe("close()", function()
    it("is idempotent and makes later calls fail with kind 'canceled'", function()
      local req = get("/__test/drip?n=20&delay_ms=100")
      assert.equal(200, (req:response()))
      assert.equal("chunk-0\n", req:read())
      assert.is_true(req:close())
      assert.is_true(req:close())
      for _, method in ipairs({ "response", "read", "read_all", "info" }) do
        local v, err, kind = req[method](req)
        assert.is_nil(v)
        assert.equal("request is closed", err)
        assert.equal("canceled", kind)
      end
    end)

    it("frees unfinished requests that are garbage collected", function()
      for _ = 1, 20 do
        local req = get("/__test/drip?n=20&delay_ms=100")
        req:response()
      end
      local req = get("/__test/drip?n=20&delay_ms=100")
      req:response()
      req:read()
      req = nil -- luacheck: ignore
      collectgarbage("collect")
      collectgarbage("collect")
      assert.equal(0, core.http_wait(0))
      -- the engine still works afterwards
      local again = get("/__test/bytes?n=10")
      assert.equal(pattern(10), again:read_all())
      again:close()
    end)

    if _VERSION == "Lua 5.4" then
      it("closes on leaving a <close> scope (5.4)", function()
        local chunk = assert(load([[
          local core, url = ...
          local keep
          do
            local req <close> = core.http_request({ url = url, timeout = 5000 })
            keep = req
            req:response()
          end
          return keep
        ]]))
        local req = chunk(core, base .. "/__test/drip?n=20&delay_ms=100")
        local v, err, kind = req:read()
        assert.is_nil(v)
        assert.equal("request is closed", err)
        assert.equal("canceled", kind)
      end)
    end
  end)

  describe("core.http_wait", function()
    it("waits up to timeout_ms and returns 0 when nothing is in flight", function()
      local t0 = now()
      assert.equal(0, core.http_wait(200))
      if ok_socket then
        local dt = now() - t0
        assert.is_true(dt >= 0.15 and dt < 2, "waited " .. dt)
      end
      assert.equal(0, core.http_wait(0))
    end)

    it("returns early when a transfer makes progress", function()
      local req = get("/__test/drip?n=2&delay_ms=100")
      local t0 = now()
      for _ = 1, 50 do
        local chunk = req:read(false)
        if chunk == nil then break end
        if chunk == false then core.http_wait(5000) end
      end
      assert.is_true(now() - t0 < 4)
      req:close()
    end)

    it("counts requests in flight", function()
      local req = get("/__test/drip?n=3&delay_ms=100")
      assert.equal(1, core.http_wait(0))
      req:close()
      assert.equal(0, core.http_wait(0))
    end)
  end)

  describe("keep-alive", function()
    it("reuses the connection for sequential requests", function()
      local r1 = get("/__test/conn")
      local c1 = cjson.decode(r1:read_all()).conn_id
      r1:close()
      local r2 = get("/__test/conn")
      local c2 = cjson.decode(r2:read_all()).conn_id
      local info = r2:info()
      r2:close()
      assert.equal(c1, c2)
      assert.is_true(info.reused)
      assert.equal(200, info.status)
      assert.equal("127.0.0.1", info.primary_ip)
      assert.equal(emu.port, info.primary_port)
      assert.is_number(info.total_time)
      assert.is_number(info.connect_time)
    end)
  end)

  describe("secrets", function()
    it("never shows headers or the query in tostring()", function()
      local req = core.http_request({
        method = "POST",
        url = base .. "/__test/echo?key=" .. SECRET,
        headers = { Authorization = "Bearer " .. SECRET },
        body = SECRET,
        timeout = 10000,
      })
      local s = tostring(req)
      assert.equal("tanstack.ai.http_request (POST " .. base .. "/__test/echo)", s)
      assert.is_nil(s:find(SECRET, 1, true))
      req:read_all()
      req:close()
      assert.is_nil(tostring(req):find(SECRET, 1, true))
    end)

    it("refuses a control character other than HTAB in a header, naming the header, never the value", function()
      for _, c in ipairs({ "\1", "\127", "\11", "\12", "\0", "\r", "\n", "\27", "\31" }) do
        local ok, err = pcall(core.http_request, {
          url = base .. "/", headers = { ["X-Api-Key"] = SECRET .. c .. "tail" },
        })
        assert.is_false(ok)
        assert.matches("header 'X%-Api%-Key' has a control character in its value", tostring(err))
        assert.is_nil(tostring(err):find(SECRET, 1, true))
        ok, err = pcall(core.http_request, { url = base .. "/", headers = { "X-Array: " .. SECRET .. c } })
        assert.is_false(ok)
        assert.matches("header 'X%-Array'", tostring(err))
        assert.is_nil(tostring(err):find(SECRET, 1, true))
        ok, err = pcall(core.http_request, { url = base .. "/", headers = { ["X" .. c .. "Y"] = "v" } })
        assert.is_false(ok)
        assert.matches("invalid header name 'X\\x%x%xY'", tostring(err))
      end
    end)

    it("sends HTAB and obs-text in a header value", function()
      local req = get("/__test/echo", { headers = { ["X-Tab"] = "a\tb", ["X-Obs"] = "caf\195\169" } })
      local echo = cjson.decode(req:read_all())
      assert.equal("a\tb", echo.headers["x-tab"])
      req:close()
    end)

    it("does not echo a bad header value in the error", function()
      local ok, err = pcall(core.http_request, {
        url = base .. "/", headers = { Authorization = "Bearer " .. SECRET .. "\r\nX: y" },
      })
      assert.is_false(ok)
      assert.is_nil(tostring(err):find(SECRET, 1, true))
      assert.matches("Authorization", tostring(err))
    end)
  end)

  describe("programmer mistakes raise", function()
    local bad = {
      { name = "no url", opts = {} },
      { name = "ftp url", opts = { url = "ftp://127.0.0.1/" } },
      { name = "file url", opts = { url = "file:///etc/passwd" } },
      { name = "bad method", opts = { url = "http://127.0.0.1/", method = "GET X" } },
      { name = "CR in header name", opts = { url = "http://127.0.0.1/", headers = { ["X\rY"] = "v" } } },
      { name = "LF in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\nb" } } },
      { name = "NUL in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\0b" } } },
      { name = "\\x01 in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\1b" } } },
      { name = "\\x7f in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\127b" } } },
      { name = "\\x0b in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\11b" } } },
      { name = "\\x0c in header value", opts = { url = "http://127.0.0.1/", headers = { X = "a\12b" } } },
      { name = "\\x01 in header name", opts = { url = "http://127.0.0.1/", headers = { ["X\1"] = "v" } } },
      { name = "\\x7f in header name", opts = { url = "http://127.0.0.1/", headers = { ["X\127"] = "v" } } },
      { name = "array header without colon", opts = { url = "http://127.0.0.1/", headers = { "X" } } },
      { name = "table header value", opts = { url = "http://127.0.0.1/", headers = { X = {} } } },
      { name = "negative timeout", opts = { url = "http://127.0.0.1/", timeout = -1 } },
      { name = "string timeout", opts = { url = "http://127.0.0.1/", timeout = "5" } },
      { name = "zero max_buffer", opts = { url = "http://127.0.0.1/", max_buffer = 0 } },
    }
    for _, case in ipairs(bad) do
      it(case.name, function()
        assert.has_error(function() core.http_request(case.opts) end)
      end)
    end

    it("non-table options", function()
      assert.has_error(function() core.http_request("http://127.0.0.1/") end)
    end)
  end)
end)

-- A real TLS server (openssl s_server, a self-signed certificate for 127.0.0.1): bytes that OpenSSL decrypts ahead of
-- the socket (records it holds after a read) must reach the reader although the socket itself is not readable again.
describe("core.http_request over TLS", function()
  local shell = require("helpers.shell")
  local dir, pid, url, body
  local have_openssl = shell.exec_ok("command -v openssl >/dev/null 2>&1")

  lazy_setup(function()
    if not have_openssl then return end
    -- (make asan preloads libasan: the tools run without it)
    dir = shell.run("unset LD_PRELOAD; mktemp -d"):gsub("%s+$", "")
    local q = shell.quote
    assert(shell.exec_ok("unset LD_PRELOAD; cd " .. q(dir) .. " && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
      .. "-out cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1"))
    local lines = {}
    for i = 1, 20000 do lines[i] = "line " .. i .. " " .. string.rep("x", i % 200) .. "\n" end
    body = table.concat(lines) -- about 2.2 MB: many TLS records
    shell.write_file(dir .. "/big.txt", body)
    pid = shell.run("unset LD_PRELOAD; cd " .. q(dir) .. " && (timeout 120 openssl s_server -accept 127.0.0.1:0 -cert cert.pem "
      .. "-key key.pem -WWW > server.log 2>&1 & echo $!)"):match("%d+")
    for _ = 1, 50 do
      local port = (shell.read_file(dir .. "/server.log") or ""):match("ACCEPT 127%.0%.0%.1:(%d+)")
      if port then url = "https://127.0.0.1:" .. port .. "/big.txt" break end
      shell.sleep(0.1)
    end
    assert(url, "openssl s_server did not start")
  end)

  lazy_teardown(function()
    -- timeout(1) passes the TERM on to openssl
    if pid then shell.run("unset LD_PRELOAD; kill " .. pid .. " 2>/dev/null; true") end
    if dir then shell.run("unset LD_PRELOAD; rm -rf " .. shell.quote(dir)) end
  end)

  it("reads a large body with blocking reads, verifying the server with ca_file", function()
    if not have_openssl then return pending("openssl is not installed") end
    local req = core.http_request({ url = url, ca_file = dir .. "/cert.pem", timeout = 20000 })
    assert.equal(200, (req:response()))
    local got, err = drain(req)
    assert.is_nil(err)
    assert.equal(#body, #got)
    assert.is_true(got == body)
    req:close()
  end)

  it("reads two large bodies at once through tanstack.ai.async", function()
    if not have_openssl then return pending("openssl is not installed") end
    local async = require("tanstack.ai.async")
    local tasks = {}
    for i = 1, 2 do
      tasks[i] = async.spawn(function()
        local req = core.http_request({ url = url, ca_file = dir .. "/cert.pem", timeout = 20000 })
        local status = async.await(function() return req:response(false) end, req)
        local parts = {}
        while true do
          local chunk, err = async.await(function() return req:read(false) end, req)
          if chunk == nil then
            assert(err == nil, err)
            break
          end
          parts[#parts + 1] = chunk
        end
        req:close()
        return status == 200 and table.concat(parts) == body
      end)
    end
    async.run()
    for i = 1, 2 do
      assert.is_true(tasks[i].ok, tostring(tasks[i].err))
      assert.is_true(tasks[i].result)
    end
  end)

  it("refuses a server its ca_file does not vouch for", function()
    if not have_openssl then return pending("openssl is not installed") end
    local req = core.http_request({ url = url, timeout = 20000 }) -- the system's CAs: a self-signed certificate fails
    local status, _, kind = req:response()
    assert.is_nil(status)
    assert.equal("tls", kind)
    req:close()
  end)
end)
