-- Wire formats: one module per format a model speaks (openai.lua: Chat Completions; anthropic.lua: Messages;
-- gemini.lua: generateContent). Provider-neutral and pure (no I/O). A provider package may add its own
-- (Workers AI's native events: cloudflare/tanstack_ai/workers_ai/format.lua).
--
-- The interface every format implements:
--   format.name                          a short name ("openai")
--   format.build_request(options)        TanStack chat options (model, messages = ModelMessages, systemPrompts,
--                                        tools, modelOptions, temperature, maxTokens, stream, outputSchema)
--                                        -> the request body (a table for json.encode)
--   format.new_state()                   (optional) the per-turn decoder state, passed back to the decoders
--   format.decode_event(state, v, out)   one decoded stream event (the JSON of one SSE `data:`) -> canonical
--                                        deltas on `out` (tanstack/ai/deltas.lua documents them)
--   format.decode_body(state, v, out)    a whole decoded JSON answer -> the same deltas as the stream
--   format.structured(v, provider, classify)  a whole answer to a structured-output request -> data, raw_json
--                                        | nil, err
--   format.done_marker                   (optional) an SSE data line that carries no event ("[DONE]")
--   format.default_provider              (optional) the provider named in errors when the adapter names none
--   format.lenient                       (optional) true: one malformed stream event is skipped with a warning on
--                                        the final event instead of ending the turn (unless the caller is strict)
--   format.finish(state, out)            (optional) the end of a stream, before RUN_FINISHED: flush what the
--                                        state holds, or fail an answer that was cut short
--   format.pick(state)                   (optional) the stream hot path: shapes of events that decode_event would
--                                        turn into exactly one out:text(s) and nothing else (csrc/json_pick.h;
--                                        core.sse_parser{pick}); the C parser hands out `s` for those, with no
--                                        JSON decode, and the full event for anything else. nil: none this turn
-- The turn runner (turn.lua) frames the bytes, decodes the JSON, and calls the decoders; deltas.lua turns the
-- deltas into AG-UI events. Adding a wire format is one new module here plus its provider's catalog entry.
local type, error, tostring = type, error, tostring

local _M = {}

local REQUIRED = { "build_request", "decode_event", "decode_body", "structured" }

--- Check that a module implements the interface (a programmer error raises).
function _M.check(format)
  if type(format) ~= "table" then error("a wire format must be a table, got " .. type(format), 2) end
  for _, name in ipairs(REQUIRED) do
    if type(format[name]) ~= "function" then
      error("wire format '" .. tostring(format.name) .. "' has no " .. name .. " function", 2)
    end
  end
  return format
end

--- A format by name ("openai", "anthropic", "gemini").
function _M.get(name)
  return _M.check(require("tanstack.ai.formats." .. name))
end

return _M
