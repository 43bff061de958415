-- One run, one RUN_STARTED: the AG-UI events of one ai.chat call whose model calls a server tool, the
-- same as TanStack's TypeScript chat() emits for the same agent loop. spec/reference/ts_agent_events.mjs runs
-- chat() of @tanstack/ai (pinned in bench/package-lock.json) with a scripted adapter answering turn 1 with a tool
-- call and turn 2 with text; this spec runs ai.chat with the same script and compares the event types. Without
-- node or bench/node_modules (npm ci --prefix bench) the comparison is pending; the expected sequence, taken from
-- that run of @tanstack/ai 0.58.0, is asserted either way.
local ai = require("tanstack.ai")
local json = require("tanstack.ai.json")
local shell = require("helpers.shell")

-- What @tanstack/ai 0.58.0 emits: one RUN_STARTED (a later turn's is dropped: hasPublicRunStarted), the tool call,
-- the tool_calls turn's RUN_FINISHED, the tool's result, the second turn, its RUN_FINISHED.
local EXPECTED = { "RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED",
  "TOOL_CALL_RESULT", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" }

-- The scripted adapter: the same two turns as ts_agent_events.mjs.
local function turn(n)
  if n == 1 then
    return {
      { type = "RUN_STARTED", runId = "run-1", threadId = "thread-1", model = "m" },
      { type = "TOOL_CALL_START", toolCallId = "call-1", toolCallName = "get_weather", index = 0, model = "m" },
      { type = "TOOL_CALL_ARGS", toolCallId = "call-1", delta = '{"city":"Paris"}', model = "m" },
      { type = "TOOL_CALL_END", toolCallId = "call-1", toolCallName = "get_weather", input = { city = "Paris" },
        model = "m" },
      { type = "RUN_FINISHED", runId = "run-1", threadId = "thread-1", finishReason = "tool_calls", model = "m" },
    }
  end
  return {
    { type = "RUN_STARTED", runId = "run-2", threadId = "thread-1", model = "m" },
    { type = "TEXT_MESSAGE_START", messageId = "msg-2", role = "assistant", model = "m" },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "msg-2", delta = "Sunny in Paris.", model = "m" },
    { type = "TEXT_MESSAGE_END", messageId = "msg-2", model = "m" },
    { type = "RUN_FINISHED", runId = "run-2", threadId = "thread-1", finishReason = "stop", model = "m" },
  }
end

local function scripted()
  local a = { model = "m", turns = 0 }
  function a.chat_stream()
    a.turns = a.turns + 1
    local evs, i = turn(a.turns), 0
    return { next = function() i = i + 1 return evs[i] end, pending = function() return #evs - i end,
      close = function() end }
  end
  return a
end

local function lua_types()
  local tool = ai.tool_definition({ name = "get_weather", description = "The weather of a city",
    inputSchema = { type = "object", properties = { city = { type = "string" } }, required = { "city" } } })
    :server(function(input) return { city = input.city, sky = "sunny" } end)
  local a = scripted()
  local types = {}
  for ev in ai.chat({ adapter = a, messages = { { role = "user", content = "Weather in Paris?" } },
    tools = { tool } }) do
    types[#types + 1] = ev.type
  end
  return types, a.turns
end

describe("one ai.chat call with a server tool", function()
  it("emits one RUN_STARTED, each turn's RUN_FINISHED, the tool result between them", function()
    local types, turns = lua_types()
    assert.equal(2, turns)
    assert.same(EXPECTED, types)
  end)

  local node = shell.run("command -v node 2>/dev/null"):gsub("%s+$", "")
  local installed = io.open("bench/node_modules/@tanstack/ai/package.json", "r")
  if installed then installed:close() end
  if node == "" or not installed then
    pending("the TypeScript reference needs node and bench/node_modules (npm ci --prefix bench)")
    return
  end

  it("emits what TanStack's TypeScript chat() emits for the same loop", function()
    local out = shell.run(node .. " spec/reference/ts_agent_events.mjs 2>&1")
    local ok, got = pcall(json.decode, out:match("[^\n]*"))
    assert.is_true(ok and type(got) == "table", out)
    assert.equal(2, got.turns)
    assert.same(EXPECTED, got.types) -- the reference still says what EXPECTED says
    assert.same(got.types, (lua_types()))
  end)
end)
