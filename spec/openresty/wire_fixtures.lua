-- In-process AG-UI events (what ai.chat yields) covering every rule of the wire form: spec keys per type,
-- extras moved to metadata.tanstack, keys dropped on delta events, usage -> spec array + leftover, RUN_ERROR's
-- error object, existing metadata merged. Used by spec/openresty/wire_spec.lua and compared with @tanstack/ai's
-- own toWireChunk in spec/openresty/nginx_test.lua.
local M = {}

function M.events()
  local m = "@cf/meta/llama-3.1-8b-instruct"
  return {
    { type = "RUN_STARTED", runId = "run-1", threadId = "thread-1", model = m, timestamp = 1000 },
    { type = "TEXT_MESSAGE_START", messageId = "msg-1", role = "assistant", model = m, timestamp = 1001 },
    { type = "TEXT_MESSAGE_CONTENT", messageId = "msg-1", delta = "Hel", content = "Hel", model = m, timestamp = 1002 },
    { type = "STEP_STARTED", stepName = "thinking", stepId = "step-1", stepType = "thinking", model = m,
      timestamp = 1003 },
    { type = "STEP_FINISHED", stepName = "thinking", stepId = "step-1", stepType = "thinking", delta = "hmm",
      model = m, timestamp = 1004 },
    { type = "TOOL_CALL_START", toolCallId = "call-1", toolCallName = "get_weather", toolName = "get_weather",
      index = 0, parentMessageId = "msg-1", model = m, timestamp = 1005 },
    { type = "TOOL_CALL_ARGS", toolCallId = "call-1", delta = '{"city":', args = '{"city":', model = m,
      timestamp = 1006 },
    { type = "TOOL_CALL_END", toolCallId = "call-1", toolName = "get_weather", input = { city = "Paris" }, model = m,
      timestamp = 1007 },
    { type = "TEXT_MESSAGE_END", messageId = "msg-1", model = m, timestamp = 1008 },
    { type = "RUN_FINISHED", runId = "run-1", threadId = "thread-1", finishReason = "tool_calls", model = m,
      timestamp = 1009, usage = { promptTokens = 12, completionTokens = 34, totalTokens = 46,
        promptTokensDetails = { cachedTokens = 2, audioTokens = 1 }, completionTokensDetails = { reasoningTokens = 3 },
        cost = 0.5 } },
    { type = "TOOL_CALL_RESULT", toolCallId = "call-1", messageId = "msg-1", content = '{"error":"boom"}',
      role = "tool", toolName = "get_weather", state = "output-error", model = m, timestamp = 1010 },
    { type = "CUSTOM", name = "progress", value = { pct = 50 }, threadId = "thread-1", runId = "run-1", model = m,
      timestamp = 1011 },
    { type = "TOOL_CALL_START", toolCallId = "call-2", toolName = "lookup", index = 1, model = m,
      metadata = { thoughtSignature = "sig-1", tanstack = { kept = true } }, timestamp = 1012 },
    { type = "RUN_FINISHED", runId = "run-1", threadId = "thread-1", finishReason = "stop", model = m,
      timestamp = 1013, usage = { promptTokens = 1, completionTokens = 2, totalTokens = 3 } },
    { type = "RUN_ERROR", runId = "run-1", threadId = "thread-1", model = m, timestamp = 1014,
      error = { message = "upstream said no", code = "3040" }, usage = { promptTokens = 5, completionTokens = 0,
        totalTokens = 5 } },
    { type = "RUN_ERROR", runId = "run-2", threadId = "thread-2", message = "explicit", code = "429", model = m,
      error = { message = "ignored", code = "ignored", body = "secret body" }, timestamp = 1015 },
  }
end

return M
