-- Run inside `nvim --headless`: stream a chat through tanstack.ai.async driven by Neovim's libuv loop while a
-- second timer keeps ticking, proving the editor's loop is never blocked. Writes a JSON report and quits.
local out_path, base_url = _G.arg_out, _G.arg_url
local uv = vim.loop
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local async = require("tanstack.ai.async")
local cjson = require("cjson")

local adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", { accountId = "0123456789abcdef0123456789abcdef", apiKey = "k", apiBaseUrl = base_url })
local ticks, ticks_during_stream, text = 0, 0, {}
local streaming = false
local tick_timer = uv.new_timer()
tick_timer:start(0, 20, function()
  ticks = ticks + 1
  if streaming then ticks_during_stream = ticks_during_stream + 1 end
end)

local stop = async.attach_uv(uv, 5)
local task = async.spawn(function()
  streaming = true
  for ev in ai.chat({ adapter = adapter, messages = { { role = "user", content = "from nvim" } } }) do
    if ev.type == "TEXT_MESSAGE_CONTENT" then text[#text + 1] = ev.delta end
  end
  streaming = false
end)

local deadline = uv.now() + 15000
local function finish()
  stop()
  tick_timer:stop()
  local f = io.open(out_path, "w")
  f:write(cjson.encode({ ok = task.ok, err = task.err and tostring(task.err) or nil, text = table.concat(text),
    ticks_during_stream = ticks_during_stream }))
  f:close()
  vim.cmd("qall!")
end
local waiter = uv.new_timer()
waiter:start(50, 50, vim.schedule_wrap(function()
  if task.done or uv.now() > deadline then
    waiter:stop()
    finish()
  end
end))
