-- One measured step for bench/callgrind.sh: base (start + requires), floor, e2e, or fetch (save the bytes).
local mode, N, url, body_path = arg[1], tonumber(arg[2]), arg[3], arg[4]
local core = require("tanstack.ai.core")
local cjson = require("cjson")
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
require("tanstack.ai.chat")
require("cloudflare.tanstack_ai.workers_ai.chat")

local function next_scenario()
  local req = core.http_request({ method = "POST", url = url .. "/__emulator/next",
    body = '{"events":' .. N .. '}', headers = { ["content-type"] = "application/json" } })
  assert(req:response())
  req:read_all()
  req:close()
end

if mode == "fetch" then
  next_scenario()
  local req = core.http_request({ method = "POST", url = url .. "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/v1/chat/completions",
    headers = { ["content-type"] = "application/json", authorization = "Bearer x" },
    body = '{"model":"m","stream":true,"messages":[{"role":"user","content":"bench"}]}' })
  assert(req:response())
  local f = assert(io.open(body_path, "wb"))
  f:write(assert(req:read_all()))
  f:close()
  req:close()
elseif mode == "floor" then
  local f = assert(io.open(body_path, "rb"))
  local body = f:read("*a")
  f:close()
  -- the floor of bench/stream_bench.lua: SSE parser + cjson.decode + one event table per text delta
  local p = core.sse_parser()
  local sink
  for i = 1, #body, 65536 do
    local evs = p:feed(body:sub(i, i + 65535))
    for j = 1, #evs do
      local d = evs[j].data
      if d ~= "[DONE]" then
        local c = cjson.decode(d).choices[1]
        local delta = c and c.delta and c.delta.content
        if delta and delta ~= "" then
          sink = { type = "TEXT_MESSAGE_CONTENT", messageId = "msg-0123456789abcdef", model = "m",
            timestamp = core.now_ms(), delta = delta }
        end
      end
    end
  end
  assert(sink)
elseif mode == "e2e" then
  next_scenario()
  local adapter = cf.create_workers_ai_chat("m", { accountId = "0123456789abcdef0123456789abcdef", apiKey = "x", apiBaseUrl = url .. "/client/v4" })
  for _ in ai.chat({ adapter = adapter, messages = { { role = "user", content = "bench" } } }) do end
elseif mode == "base" then
  next_scenario() -- the e2e run pays for one control request too
end
