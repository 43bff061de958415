-- POST /api/chat for nginx (content_by_lua_file): the Lua twin of TanStack's canonical route
--
--   const params = await chatParamsFromRequest(request)
--   const stream = chat({ adapter, messages: params.messages, threadId: params.threadId, runId: params.runId,
--                         parentRunId: params.parentRunId, resume: params.resume, tools })
--   return toServerSentEventsResponse(stream)
--
-- Client tools (declared by the page, run in the browser) round-trip as with a TanStack server: a model turn that
-- calls one ends the run with an interrupt (RUN_FINISHED outcome {type = "interrupt"}); @tanstack/ai-client runs
-- the tool and posts a new run with parentRunId + resume, which continues the conversation here. The ids must be
-- the client's (threadId / runId from the body): the interrupt's binding names the run it interrupted.
--
-- Credentials come from the environment (CLOUDFLARE_ACCOUNT_ID + CLOUDFLARE_API_KEY or CLOUDFLARE_API_TOKEN;
-- CLOUDFLARE_API_BASE_URL points it at the local emulator). Every network wait here is a cosocket wait: the
-- worker keeps serving other requests while a model answer streams.
local ai = require("tanstack.ai")
local cf = require("cloudflare.tanstack_ai")

local ngx = ngx

local MODEL = os.getenv("CHAT_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct"

local function reply(status, text)
  ngx.status = status
  ngx.header["Content-Type"] = "text/plain; charset=utf-8"
  ngx.say(text)
  return ngx.exit(status)
end

if ngx.req.get_method() ~= "POST" then
  ngx.header["Allow"] = "POST"
  return reply(405, "POST a chat request (an AG-UI RunAgentInput) here")
end

ngx.req.read_body()
local body = ngx.req.get_body_data()
if body == nil then
  local file = ngx.req.get_body_file() -- a body larger than client_body_buffer_size
  if file then
    local f = io.open(file, "rb")
    if f then
      body = f:read("*a")
      f:close()
    end
  end
end

-- chatParamsFromRequestBody: a 400 with the reason for anything that is not a valid RunAgentInput
local params, err = ai.chat_params_from_request_body(body or "")
if not params then return reply(400, err.message) end

-- A server tool: runs here, its result goes back to the model (TanStack's agent loop).
local get_weather = ai.tool_definition({
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

-- Server tools first; tools the page declared (client tools, no execute) are handed back to it (mergeAgentTools).
local tools = ai.merge_agent_tools({ get_weather }, params.tools)

local ok, adapter = pcall(cf.create_workers_ai_chat, MODEL, {})
if not ok then
  ngx.log(ngx.ERR, "chat: adapter configuration: ", tostring(adapter))
  return reply(500, "the chat backend is not configured (see the nginx error log)")
end

local stream = ai.chat({
  adapter = adapter,
  messages = params.messages,
  threadId = params.threadId,
  runId = params.runId,
  parentRunId = params.parentRunId, -- a resumed run: the interrupted run's id and the answers to its interrupts
  resume = params.resume,
  tools = tools,
})

-- Inside the content phase this writes status, headers and every event itself (ngx.print + ngx.flush(true)),
-- and cancels the model stream when the client goes away. ?format=ndjson serves fetchHttpStream clients.
local respond = ngx.var.arg_format == "ndjson" and ai.to_http_response or ai.to_server_sent_events_response
local sent, serr = respond(stream)
if not sent then ngx.log(ngx.INFO, "chat: stream ended early: ", tostring(serr)) end
