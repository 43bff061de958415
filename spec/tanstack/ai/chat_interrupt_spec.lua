-- TanStack's interrupt semantics with a history the caller vouches for (trustHistory: ids as the model gave
-- them, nothing verified); the signed-history path is spec/security/tool_calls_spec.lua.
-- Client tools and approvals: the run ends with TanStack's interrupt terminal (RUN_FINISHED with
-- outcome {type = "interrupt"}), and the next request resumes it (parentRunId + resume, or results carried in the
-- messages). End to end against the emulator; the same scenarios are compared with @tanstack/ai's own engine in
-- spec/openresty/nginx_test.lua, and the real @tanstack/ai-client round trip runs there too.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")
local interrupts = require("tanstack.ai.interrupts")
local emulator = require("helpers.emulator")

local function of_type(evs, ty)
  local out = {}
  for _, e in ipairs(evs) do if e.type == ty then out[#out + 1] = e end end
  return out
end

local function text_of(evs)
  local t = {}
  for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then t[#t + 1] = e.delta end end
  return table.concat(t)
end

local NOTIFY_SCHEMA = { type = "object", properties = { text = { type = "string" } }, required = { "text" } }

describe("interrupts (client tools, approvals) and resume", function()
  local emu, adapter, notify, weather, delete_file, deleted

  setup(function()
    emu = emulator.shared()
  end)

  before_each(function()
    emu:reset()
    adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.3-70b-instruct-fp8-fast", {
      accountId = "0123456789abcdef0123456789abcdef", apiKey = "secret-token-interrupts", apiBaseUrl = emu.url .. "/client/v4",
      idleTimeout = 2000, timeout = 20000, maxRetries = 0,
    })
    notify = ai.tool_definition({ name = "notify", description = "Show a notice in the browser",
      inputSchema = NOTIFY_SCHEMA }):client()
    weather = ai.tool_definition({ name = "get_weather", description = "Weather",
      inputSchema = { type = "object", properties = { city = { type = "string" } } } }):server(function(input)
      return { city = input.city, temperatureC = 21 }
    end)
    deleted = {}
    delete_file = ai.tool_definition({ name = "delete_file", description = "Delete a file", needsApproval = true,
      inputSchema = { type = "object", properties = { path = { type = "string" } } } }):server(function(input)
      deleted[#deleted + 1] = input.path
      return "deleted " .. input.path
    end)
  end)

  local function history_with(calls, results)
    local tcs = {}
    for i, c in ipairs(calls) do
      tcs[i] = { id = c.id, type = "function", ["function"] = { name = c.name, arguments = json.encode(c.args) } }
    end
    local h = { { role = "user", content = "do it" }, { role = "assistant", content = "", toolCalls = tcs } }
    for _, r in ipairs(results or {}) do h[#h + 1] = { role = "tool", toolCallId = r[1], content = r[2] } end
    return h
  end

  describe("the interrupt terminal", function()
    it("ends the run when the model calls a client tool, in TanStack's shape", function()
      emu:next({ tool_calls = { { name = "notify", arguments = { text = "hi" }, id = "call_n1" } } })
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, runId = "run-1", threadId = "thread-1",
        messages = { { role = "user", content = "notify me" } } }):collect()
      -- the turn's RUN_FINISHED(tool_calls) becomes the terminal: exactly one, last
      local fins = of_type(evs, "RUN_FINISHED")
      assert.equals(1, #fins)
      local fin = evs[#evs]
      assert.equals(fins[1], fin)
      assert.equals("tool_calls", fin.finishReason)
      assert.equals("run-1", fin.runId)
      assert.equals("thread-1", fin.threadId)
      assert.is_table(fin.usage)
      assert.equals("interrupt", fin.outcome.type)
      assert.equals(1, #fin.outcome.interrupts)
      local it1 = fin.outcome.interrupts[1]
      assert.equals("client_tool_call_n1", it1.id)
      assert.equals("tanstack:client_tool_execution", it1.reason)
      assert.equals("Client tool notify is ready to run", it1.message)
      assert.equals("call_n1", it1.toolCallId)
      assert.same({}, it1.responseSchema)
      assert.equals("client_tool", it1.metadata.kind)
      assert.equals("notify", it1.metadata.toolName)
      assert.same({ text = "hi" }, it1.metadata.input)
      assert.same({
        v = 1, kind = "client-tool-execution", interruptId = "client_tool_call_n1", toolName = "notify",
        toolCallId = "call_n1", interruptedRunId = "run-1", generation = 0,
        -- what @tanstack/ai-client recomputes: sha256 of the canonical JSON ("undefined" for no outputSchema)
        outputSchemaHash = "sha256:eb045d78d273107348b0300c01d29b7552d622abbc6faf81b3ec55359aa9950c",
        responseSchemaHash = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      }, it1.metadata["tanstack:interruptBinding"])
      -- no tool result, one model call
      assert.equals(0, #of_type(evs, "TOOL_CALL_RESULT"))
      assert.equals(1, #emu:requests("/chat/completions"))

      -- the wire form: outcome is an AG-UI key of RUN_FINISHED; TanStack's extras under metadata.tanstack
      local w = json.decode(wire.encode_sse(fin):sub(7))
      assert.equals("interrupt", w.outcome.type)
      assert.equals("client_tool_call_n1", w.outcome.interrupts[1].id)
      assert.equals("tool_calls", w.metadata.tanstack.finishReason)
      assert.is_nil(w.finishReason)
      assert.equals("run-1", w.runId)
      assert.is_true(wire.encode_sse(fin):find('"responseSchema":{}', 1, true) ~= nil)
    end)

    it("runs the server tools of a mixed batch first, then interrupts for the client tool", function()
      emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Paris" }, id = "call_w" },
        { name = "notify", arguments = { text = "21 degrees" }, id = "call_n" } } })
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { weather, notify }, runId = "run-m",
        messages = { { role = "user", content = "weather, then notify" } } }):collect()
      local results = of_type(evs, "TOOL_CALL_RESULT")
      assert.equals(1, #results)
      assert.equals("call_w", results[1].toolCallId)
      assert.same({ city = "Paris", temperatureC = 21 }, json.decode(results[1].content))
      local fin = evs[#evs]
      assert.equals("RUN_FINISHED", fin.type)
      assert.equals(1, #fin.outcome.interrupts)
      assert.equals("client_tool_call_n", fin.outcome.interrupts[1].id)
      assert.equals(1, #of_type(evs, "RUN_FINISHED"))
      assert.equals(1, #emu:requests("/chat/completions"))
    end)

    it("asks for an approval, and holds back the rest of the batch's server tools", function()
      emu:next({ tool_calls = { { name = "delete_file", arguments = { path = "a.txt" }, id = "call_d" },
        { name = "get_weather", arguments = { city = "Paris" }, id = "call_w" },
        { name = "notify", arguments = { text = "x" }, id = "call_n" } } })
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { delete_file, weather, notify }, runId = "run-a",
        messages = { { role = "user", content = "clean up" } } }):collect()
      assert.equals(0, #of_type(evs, "TOOL_CALL_RESULT")) -- get_weather waits for the decision
      assert.same({}, deleted)
      local list = evs[#evs].outcome.interrupts
      assert.equals(2, #list) -- approvals first, then the client tools (still requested)
      assert.equals("approval_call_d", list[1].id)
      assert.equals("tool_call", list[1].reason)
      assert.equals("Approval required to run delete_file", list[1].message)
      assert.equals("approval", list[1].metadata.kind)
      local b = list[1].metadata["tanstack:interruptBinding"]
      assert.equals("tool-approval", b.kind)
      assert.same({ path = "a.txt" }, b.originalArgs)
      assert.equals(interrupts.hash_schema(delete_file.inputSchema), b.inputSchemaHash)
      assert.equals(interrupts.digest(interrupts.canonical(list[1].responseSchema)), b.responseSchemaHash)
      assert.equals(2, #list[1].responseSchema.oneOf)
      assert.equals("client_tool_call_n", list[2].id)
    end)

    it("mirrors `state` in a STATE_SNAPSHOT right before the terminal", function()
      emu:next({ tool_calls = { { name = "notify", arguments = { text = "hi" }, id = "call_s" } } })
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, state = { step = 2 },
        messages = { { role = "user", content = "x" } } }):collect()
      assert.equals("STATE_SNAPSHOT", evs[#evs - 1].type)
      assert.same({ step = 2 }, evs[#evs - 1].snapshot)
    end)

    it("is no error for stream:text(), and an error for structured output", function()
      emu:next({ tool_calls = { { name = "notify", arguments = { text = "hi" }, id = "call_t" } } })
      local text, err = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, stream = false,
        messages = { { role = "user", content = "x" } } })
      assert.is_nil(err)
      assert.equals("", text)
      emu:next({ tool_calls = { { name = "notify", arguments = { text = "hi" }, id = "call_u" } } })
      local data, serr = ai.chat({ trustHistory = true, adapter = adapter, tools = { weather, notify },
        outputSchema = { type = "object", properties = { a = { type = "string" } } },
        messages = { { role = "user", content = "x" } } })
      assert.is_nil(data)
      assert.equals("interrupt", serr.kind)
    end)
  end)

  describe("resume", function()
    it("applies the client's output from `resume` and continues to the final answer", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, runId = "run-2", parentRunId = "run-1",
        messages = history_with({ { id = "call_n1", name = "notify", args = { text = "hi" } } }),
        resume = { { interruptId = "client_tool_call_n1", status = "resolved", payload = { shown = true } } },
      }):collect()
      local results = of_type(evs, "TOOL_CALL_RESULT")
      assert.equals(1, #results)
      assert.equals("call_n1", results[1].toolCallId)
      assert.equals('{"shown":true}', results[1].content)
      assert.equals('The tool said: {"shown":true}', text_of(evs))
      local fin = evs[#evs]
      assert.equals("RUN_FINISHED", fin.type)
      assert.equals("stop", fin.finishReason)
      assert.is_nil(fin.outcome)
      local msgs = emu:last_request("/chat/completions").json.messages
      assert.equals("tool", msgs[#msgs].role)
      assert.equals("call_n1", msgs[#msgs].tool_call_id)
      assert.equals('{"shown":true}', msgs[#msgs].content)
    end)

    it("continues from the body @tanstack/ai-client posts (the output already in the messages)", function()
      -- what ChatClient sends after running the tool: the tool fan-out message, plus the resume entry
      local params = assert(ai.chat_params_from_request_body({
        threadId = "thread-1", runId = "run-2", parentRunId = "run-1",
        resume = { { interruptId = "client_tool_call_n1", status = "resolved", payload = { shown = true } } },
        state = {}, context = {}, forwardedProps = {},
        tools = { { name = "notify", description = "Show a notice", parameters = NOTIFY_SCHEMA } },
        messages = {
          { id = "u1", role = "user", content = "notify me" },
          { id = "a1", role = "assistant", toolCalls = { { id = "call_n1", type = "function",
            ["function"] = { name = "notify", arguments = '{"text":"hi"}' } } } },
          { id = "tool-call_n1", role = "tool", toolCallId = "call_n1", content = '{"shown":true}' },
        },
      }))
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = ai.merge_agent_tools({ weather }, params.tools),
        messages = params.messages, threadId = params.threadId, runId = params.runId,
        parentRunId = params.parentRunId, resume = params.resume }):collect()
      assert.equals(0, #of_type(evs, "TOOL_CALL_RESULT")) -- nothing pending: straight to the model
      assert.equals('The tool said: {"shown":true}', text_of(evs))
      assert.equals("run-2", evs[1].runId)
      assert.equals(1, #emu:requests("/chat/completions"))
    end)

    it("takes client outputs carried by UIMessage tool-call parts (no resume)", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, messages = {
        { id = "u1", role = "user", parts = { { type = "text", content = "notify me" } } },
        { id = "a1", role = "assistant", parts = { { type = "tool-call", id = "call_p", name = "notify",
          arguments = '{"text":"hi"}', state = "complete", output = { shown = "yes" } } } },
      } }):collect()
      assert.equals(0, #of_type(evs, "TOOL_CALL_RESULT"))
      assert.equals('The tool said: {"shown":"yes"}', text_of(evs))
    end)

    it("round-trips a mixed batch: the second request runs nothing twice", function()
      emu:next({ tool_calls = { { name = "get_weather", arguments = { city = "Oslo" }, id = "call_w" },
        { name = "notify", arguments = { text = "cold" }, id = "call_n" } } })
      local calls = 0
      local counted = ai.tool_definition({ name = "get_weather", description = "Weather" }):server(function(input)
        calls = calls + 1
        return { city = input.city, temperatureC = -3 }
      end)
      local first = ai.chat({ trustHistory = true, adapter = adapter, tools = { counted, notify }, runId = "run-1",
        messages = { { role = "user", content = "weather in Oslo, then notify" } } }):collect()
      local result = of_type(first, "TOOL_CALL_RESULT")[1]
      -- the next request as a client sends it: the server result and the client's output in the history
      local history = history_with({ { id = "call_w", name = "get_weather", args = { city = "Oslo" } },
        { id = "call_n", name = "notify", args = { text = "cold" } } },
        { { "call_w", result.content }, { "call_n", '{"shown":true}' } })
      history[1].content = "weather in Oslo, then notify"
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { counted, notify }, runId = "run-2", parentRunId = "run-1",
        messages = history,
        resume = { { interruptId = "client_tool_call_n", status = "resolved", payload = { shown = true } } },
      }):collect()
      assert.equals(1, calls)
      assert.equals('The tool said: {"shown":true}', text_of(evs))
      local msgs = emu:last_request("/chat/completions").json.messages
      assert.equals("call_w", msgs[#msgs - 1].tool_call_id)
      assert.equals("call_n", msgs[#msgs].tool_call_id)
    end)

    it("runs an approved tool (with edited arguments), then the model", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { delete_file }, runId = "run-2", parentRunId = "run-1",
        messages = history_with({ { id = "call_d", name = "delete_file", args = { path = "a.txt" } } }),
        resume = { { interruptId = "approval_call_d", status = "resolved",
          payload = { approved = true, editedArgs = { path = "b.txt" } } } },
      }):collect()
      assert.same({ "b.txt" }, deleted)
      assert.equals("deleted b.txt", of_type(evs, "TOOL_CALL_RESULT")[1].content)
      assert.equals("The tool said: deleted b.txt", text_of(evs))
    end)

    it("turns a denial into an output-error result the model sees", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { delete_file }, parentRunId = "run-1",
        messages = history_with({ { id = "call_d", name = "delete_file", args = { path = "a.txt" } } }),
        resume = { { interruptId = "approval_call_d", status = "resolved", payload = false } },
      }):collect()
      assert.same({}, deleted)
      local r = of_type(evs, "TOOL_CALL_RESULT")[1]
      assert.equals("output-error", r.state)
      assert.same({ error = "User declined tool execution" }, json.decode(r.content))
      assert.equals('The tool said: {"error":"User declined tool execution"}', text_of(evs))
    end)

    it("takes approvals from UIMessage parts (approval-responded, the older path)", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { delete_file }, messages = {
        { id = "u1", role = "user", parts = { { type = "text", content = "delete a.txt" } } },
        { id = "a1", role = "assistant", parts = { { type = "tool-call", id = "call_d", name = "delete_file",
          arguments = '{"path":"a.txt"}', state = "approval-responded",
          approval = { id = "approval_call_d", needsApproval = true, approved = true } } } },
      } }):collect()
      assert.same({ "a.txt" }, deleted)
      assert.equals("The tool said: deleted a.txt", text_of(evs))
    end)

    it("cancelled: the call gets {error = 'Tool execution cancelled'}", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, parentRunId = "run-1",
        messages = history_with({ { id = "call_n", name = "notify", args = { text = "hi" } } }),
        resume = { { interruptId = "client_tool_call_n", status = "cancelled" } },
      }):collect()
      local r = of_type(evs, "TOOL_CALL_RESULT")[1]
      assert.equals("output-error", r.state)
      assert.equals('{"error":"Tool execution cancelled"}', r.content)
    end)

    it("interrupts again (synthetic RUN_STARTED first) when a pending client call has no answer", function()
      local evs = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, runId = "run-3",
        messages = history_with({ { id = "call_n", name = "notify", args = { text = "hi" } } }) }):collect()
      assert.equals(2, #evs)
      assert.equals("RUN_STARTED", evs[1].type)
      assert.equals("run-3", evs[1].runId)
      assert.equals("client_tool_call_n", evs[2].outcome.interrupts[1].id)
      assert.equals("tool_calls", evs[2].finishReason)
      assert.equals(0, #emu:requests("/chat/completions"))
    end)

    it("rejects a resume without parentRunId with one RUN_ERROR (code stale)", function()
      local s = ai.chat({ trustHistory = true, adapter = adapter, tools = { notify }, runId = "run-2",
        messages = history_with({ { id = "call_n", name = "notify", args = { text = "hi" } } }),
        resume = { { interruptId = "client_tool_call_n", status = "resolved", payload = 1 } } })
      local evs = s:collect()
      assert.equals(1, #evs)
      assert.equals("RUN_ERROR", evs[1].type)
      assert.equals("stale", evs[1].code)
      assert.equals("Interrupt continuation requires parentRunId to identify the interrupted run.", evs[1].message)
      local w = json.decode(wire.encode_sse(evs[1]):sub(7))
      assert.equals("run-2", w.metadata.tanstack.runId)
      assert.equals("batch", w.metadata.tanstack.interruptErrors[1].scope)
      assert.equals(0, #emu:requests("/chat/completions"))
    end)

    it("rejects an incomplete or unknown resume batch before running anything", function()
      local text, err = ai.chat({ trustHistory = true, adapter = adapter, tools = { delete_file }, parentRunId = "run-1", stream = false,
        messages = history_with({ { id = "call_d", name = "delete_file", args = { path = "a.txt" } } }),
        resume = { { interruptId = "approval_nope", status = "resolved", payload = true } } })
      assert.is_nil(text)
      assert.equals("unknown-interrupt", err.code)
      assert.truthy(err.message:find("Missing resume entry for interrupt approval_call_d.", 1, true))
      assert.truthy(err.message:find("Resume entry references unknown interrupt approval_nope.", 1, true))
      assert.same({}, deleted)
      assert.equals(0, #emu:requests("/chat/completions"))
    end)

    it("checks the resume option", function()
      assert.has_error(function() ai.chat({ trustHistory = true, adapter = adapter, resume = "x" }) end)
      assert.has_error(function() ai.chat({ trustHistory = true, adapter = adapter, resume = { { status = "resolved" } } }) end)
    end)
  end)
end)
