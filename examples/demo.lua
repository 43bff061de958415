-- make demo: stream a Workers AI chat to the terminal, token by token.
--   make demo PROMPT="Why is the sky blue?"
-- The prompt is the first argument, else $PROMPT, else a greeting; DEMO_MODEL picks the model.
-- With CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_KEY set it talks to Cloudflare; otherwise it starts the
-- project's local emulator on 127.0.0.1 and says so.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")

local model = os.getenv("DEMO_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct"
local function given(v) return v ~= nil and v ~= "" and v or nil end
local prompt = given(arg and arg[1]) or given(os.getenv("PROMPT")) or "Hello! Tell me what you are in one sentence."

local config, emu
if os.getenv("CLOUDFLARE_ACCOUNT_ID") and (os.getenv("CLOUDFLARE_API_KEY") or os.getenv("CLOUDFLARE_API_TOKEN")) then
  config = {} -- read from the environment
  io.stderr:write("demo: using Workers AI at " .. (os.getenv("CLOUDFLARE_API_BASE_URL") or "api.cloudflare.com")
    .. " (account from CLOUDFLARE_ACCOUNT_ID)\n")
else
  emu = require("helpers.emulator").start()
  config = { accountId = "0123456789abcdef0123456789abcdef", apiKey = "demo-token", apiBaseUrl = emu.url .. "/client/v4" }
  io.stderr:write("demo: no CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_KEY set: talking to the local emulator at "
    .. emu.url .. "\n")
end

local adapter = cf.create_workers_ai_chat(model, config)
local stream = ai.chat({
  adapter = adapter,
  stream = true,
  messages = { { role = "user", content = prompt } },
})

local status = 0
for chunk in stream do
  if chunk.type == "TEXT_MESSAGE_CONTENT" then
    io.write(chunk.delta)
    io.flush()
  elseif chunk.type == "RUN_FINISHED" then
    local u = chunk.usage
    io.write("\n")
    io.flush()
    io.stderr:write(string.format("demo: finished (%s)%s\n", tostring(chunk.finishReason),
      u and string.format(", %d prompt + %d completion tokens", u.promptTokens, u.completionTokens) or ""))
  elseif chunk.type == "RUN_ERROR" then
    io.stderr:write("\ndemo: error: " .. tostring(chunk.message) .. "\n")
    status = 1
  end
end
if emu then emu:stop() end
os.exit(status)
