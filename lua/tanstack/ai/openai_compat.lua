-- OpenAI Chat Completions at the edge, provider-neutral: read a Chat Completions request into ai.chat options, and
-- write the AG-UI stream back as OpenAI's `chat.completion.chunk` SSE (ending with `data: [DONE]`) or as one
-- `chat.completion` JSON; errors in OpenAI's shape ({error = {message, type, param, code}}) with their status.
--
--   local compat = require("tanstack.ai.openai_compat")
--   local req, err = compat.parse_request(body)          -- err.status (400/413), compat.error_body(err)
--   local stream = ai.chat({ adapter = ..., messages = req.messages, tools = req.tools, ... })
--   for piece in compat.to_chunks(stream, { model = req.model, includeUsage = req.includeUsage }) do ... end
--   local completion = compat.to_completion(stream, { model = req.model })   -- or nil, err
--
-- The tools of a request are client tools (no execute): a model turn that calls one ends the run, and the calls go
-- back to the client as `tool_calls` with finish_reason "tool_calls", as OpenAI does. tool_choice, stop,
-- response_format, top_p, seed, the penalties and parallel_tool_calls reach the provider as modelOptions (verbatim
-- for OpenAI-format providers: Workers AI, OpenAI, Grok, OpenRouter and the compat endpoint).
--
-- This name gathers the OpenAI wire's two halves: wire/openai_request.lua (parse_request, LIMITS) and
-- wire/openai.lua (to_chunks, to_completion, error, error_body, status_of, usage_of); their shared request and
-- response layers are edge/ingress.lua and edge/relay.lua.
local request = require("tanstack.ai.wire.openai_request")
local writer = require("tanstack.ai.wire.openai")

local pairs = pairs

local _M = {}
for k, v in pairs(writer) do _M[k] = v end
for k, v in pairs(request) do _M[k] = v end

return _M
