-- Anthropic extended thinking with tools: the signed thinking block of a tool-calling turn is sent back, first,
-- in the next turn's assistant message (Anthropic rejects the turn otherwise).
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local emulator = require("helpers.emulator")

local function sse(events)
  local out = {}
  for _, e in ipairs(events) do out[#out + 1] = "event: " .. e[1] .. "\ndata: " .. e[2] .. "\n\n" end
  return table.concat(out)
end

describe("Anthropic signed thinking in the agent loop", function()
  it("streams the reasoning and replays the signed block before the tool_use", function()
    local emu = emulator.shared()
    emu:reset()
    emu:next({ match = "anthropic", sse_raw = sse({
      { "message_start", '{"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":5,"output_tokens":0}}}' },
      { "content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}' },
      { "content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Need the weather."}}' },
      { "content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig-abc123"}}' },
      { "content_block_stop", '{"type":"content_block_stop","index":0}' },
      { "content_block_start", '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}' },
      { "content_block_delta", '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\":\\"Oslo\\"}"}}' },
      { "content_block_stop", '{"type":"content_block_stop","index":1}' },
      { "message_delta", '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}' },
      { "message_stop", '{"type":"message_stop"}' },
    }) })
    local adapter = cf.create_anthropic_chat("claude-sonnet-4-5", { accountId = "acct", gatewayId = "gw",
      apiKey = "sk-ant-test", gatewayBaseUrl = emu.url .. "/v1" })
    local tool = ai.tool_definition({ name = "get_weather", description = "weather",
      inputSchema = { type = "object", properties = { city = { type = "string" } } } }):server(function(input)
        return { city = input.city, temp = 3 }
      end)
    local signed
    local evs = ai.chat({ adapter = adapter, tools = { tool }, messages = { { role = "user", content = "Oslo?" } },
      modelOptions = { thinking = { type = "enabled", budget_tokens = 1024 } } }):collect()
    for _, e in ipairs(evs) do if e.type == "STEP_FINISHED" and e.signature then signed = e end end
    assert.is_table(signed, "a STEP_FINISHED with the signature")
    assert.equal("sig-abc123", signed.signature)
    assert.equal("RUN_FINISHED", evs[#evs].type)
    local reqs = emu:requests("anthropic")
    assert.equal(2, #reqs)
    local second = reqs[2].json
    local assistant = second.messages[2]
    assert.equal("assistant", assistant.role)
    assert.same({ type = "thinking", thinking = "Need the weather.", signature = "sig-abc123" }, assistant.content[1])
    assert.equal("tool_use", assistant.content[2].type)
    assert.equal("tool_result", second.messages[3].content[1].type)
  end)
end)
