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
--
-- Each browser gets a session cookie (cf_ai_session, signed with the signing secret): it is the client's key for
-- the limiter (CHAT_CLIENT_KEY=address, or a request without the cookie: its address, behind
-- CHAT_TRUSTED_PROXIES) and the conversation the server's tool calls are bound to (a call pasted into another
-- browser's conversation does not verify).
local ai = require("tanstack.ai")
local json = require("tanstack.ai.json")
local handler = require("chat_handler") -- examples/openresty/chat_handler.lua: the logic, apart from nginx
local core = require("tanstack.ai.core")
local routes = require("routes") -- examples/openresty/routes.lua: the router, request ids, the access line

local ngx = ngx

-- Errors as JSON ({"error": {"message", "status"}}), as every client library of this endpoint parses them.
local request_id = routes.request_id()
local log_consumer = "browser"

local function reply(status, text, err)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  if type(err) == "table" and err.admission then routes.ratelimit_headers(err.admission) end
  if type(err) == "table" and err.retry_after then ngx.header["Retry-After"] = tostring(err.retry_after) end
  routes.refused("chat", status, err, log_consumer, type(err) == "table" and err.kind == "router")
  ngx.say(json.encode({ error = { message = text, status = status } }))
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

local secret, secret_err = handler.signing_secret()
if secret_err then
  ngx.log(ngx.ERR, "chat: ", secret_err)
  return reply(503, "the chat server is misconfigured; see its log")
end
-- A request with a valid session cookie is bound to it (the conversation, the limiter's key); one without (a
-- client without a cookie jar, a first visit) gets a cookie for next time and counts by its address.
local sid, set_cookie = handler.session(ngx.var.http_cookie, secret)
if set_cookie then
  ngx.header["Set-Cookie"] = set_cookie
  sid = nil
end
local consumer = handler.client_key({ session = sid, remote_addr = ngx.var.remote_addr,
  forwarded_for = ngx.var.http_x_forwarded_for })

-- the access line tells browsers apart by a digest of their key, never the session id itself
log_consumer = "browser:" .. core.sha256(consumer):sub(1, 6):gsub(".", function(c)
  return string.format("%02x", c:byte()) end)
local stream, status, message, detail, err = handler.handle(body, { consumer = consumer, conversation = sid,
  signingSecret = secret, request_id = request_id, logConsumer = log_consumer })
if not stream then
  if detail then ngx.log(ngx.ERR, "chat: ", tostring(detail)) end
  return reply(status, message, err)
end

-- Inside the content phase this writes status, headers and every event itself (ngx.print + ngx.flush(true)),
-- and cancels the model stream when the client goes away. ?format=ndjson serves fetchHttpStream clients.
if type(stream) == "table" then routes.ratelimit_headers(stream.admission) end
local respond = ngx.var.arg_format == "ndjson" and ai.to_http_response or ai.to_server_sent_events_response
local sent, serr = respond(stream)
if not sent then ngx.log(ngx.INFO, "chat: stream ended early: ", tostring(serr)) end
