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
local handler = require("chat_handler") -- examples/openresty/chat_handler.lua: the logic, apart from nginx

local ngx = ngx

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

local stream, status, message, detail = handler.handle(body)
if not stream then
  if detail then ngx.log(ngx.ERR, "chat: ", tostring(detail)) end
  return reply(status, message)
end

-- Inside the content phase this writes status, headers and every event itself (ngx.print + ngx.flush(true)),
-- and cancels the model stream when the client goes away. ?format=ndjson serves fetchHttpStream clients.
local respond = ngx.var.arg_format == "ndjson" and ai.to_http_response or ai.to_server_sent_events_response
local sent, serr = respond(stream)
if not sent then ngx.log(ngx.INFO, "chat: stream ended early: ", tostring(serr)) end
