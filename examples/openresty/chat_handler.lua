-- The chat endpoint's logic, apart from nginx: a RunAgentInput body in, a stream of AG-UI events out (or a status
-- and a message). examples/openresty/chat.lua serves it from nginx; spec/security drives the same code with the
-- attacks a browser can post.
--
-- What the browser may do here: send its messages, its own client tools, and answers to the interrupts this
-- server issued. What it cannot: run a server tool with arguments of its choosing (tool calls in the history run
-- only when they carry this server's signature, see docs/security.md), approve a call it forged, add system
-- prompts (refused by chat_params_from_request_body), or pick the model.
local ai = require("tanstack.ai")

local M = {}

M.MODEL = os.getenv("CHAT_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct"
-- the route of routes.lua the page's runs take (the browser does not pick the model)
M.ROUTE = "default"

-- A server tool: runs here, its result goes back to the model (TanStack's agent loop).
M.get_weather = ai.tool_definition({
  name = "get_weather",
  description = "Current weather for a city",
  inputSchema = {
    type = "object",
    properties = { city = { type = "string", description = "City name" } },
    required = { "city" },
  },
}):server(function(input)
  return { city = input.city, temperatureC = 21, conditions = "sunny" }
end)

--- handle(body, opts) -> stream | nil, status, message
--- opts: adapter (default: the "default" route of routes.lua, whose first target is CHAT_MODEL), route, consumer,
--- server_tools (default {get_weather}),
--- signingSecret (default: CHAT_SIGNING_SECRET from the environment, else one random secret per process:
--- set it when several workers or hosts serve the same clients).
function M.handle(body, opts)
  opts = opts or {}
  -- chatParamsFromRequestBody: a 400 (or 413) with the reason for anything that is not a valid RunAgentInput
  local params, err = ai.chat_params_from_request_body(body or "")
  if not params then return nil, err.status or 400, err.message end
  -- server tools first; tools the page declared (client tools, no execute) are handed back to it
  local tools = ai.merge_agent_tools(opts.server_tools or { M.get_weather }, params.tools)
  local run = {
    messages = params.messages,
    threadId = params.threadId,
    runId = params.runId,
    parentRunId = params.parentRunId, -- a resumed run: the interrupted run's id and the answers to its interrupts
    resume = params.resume,
    tools = tools,
    signingSecret = opts.signingSecret or os.getenv("CHAT_SIGNING_SECRET"),
  }
  if opts.adapter == nil then
    -- the route table shared with POST /v1/chat/completions (routes.lua): fallback, health, usage, limits
    local ok, router = pcall(require("routes").router)
    if not ok then return nil, 500, "the chat backend is not configured", router end
    local stream, rerr = router:chat(opts.route or M.ROUTE, run, { consumer = opts.consumer or "browser" })
    if not stream then return nil, rerr.status or 500, rerr.message end
    return stream
  end
  run.adapter = opts.adapter
  return ai.chat(run)
end

return M
