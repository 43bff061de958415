-- POST /v1/chat/completions for nginx (content_by_lua_file): OpenAI's Chat Completions API in front of the route
-- table of routes.lua. Any OpenAI SDK (baseURL = http://host/v1) or curl can call it: streaming
-- (chat.completion.chunk SSE, stream_options.include_usage, data: [DONE]) or not (one chat.completion), tools
-- (the calls come back to the client), response_format json_schema; errors in OpenAI's shape.
local compat = require("tanstack.ai.openai_compat")
local routes = require("routes") -- examples/openresty/routes.lua
local json = require("tanstack.ai.json")

local ngx = ngx

local req, consumer, request_id, fail = routes.openai_front("openai", "a Chat Completions request",
  compat.parse_request)
if not req then return end
local router = routes.router()

local stream, rerr = router:chat(req.model, {
  messages = req.messages, tools = req.tools, temperature = req.temperature, maxTokens = req.maxTokens,
  modelOptions = req.modelOptions,
  -- the tools are the client's (nothing runs here): their calls go back to it, ids as the model gave them
  trustHistory = true, maxIterations = 1,
}, { consumer = consumer, user = req.user, request_id = request_id, endpoint = "openai" })
if not stream then return fail(rerr, false, true) end
if stream.error then
  -- every target failed before the first byte: an HTTP error, not a stream
  stream.run.ctx.status = compat.status_of(stream.error)
  stream:cancel()
  return fail(stream.error, true)
end
routes.ratelimit_headers(stream.admission)

if not req.stream then
  local completion, cerr = compat.to_completion(stream, { model = stream.model })
  if not completion then
    stream.run.ctx.status = compat.status_of(cerr)
    return fail(cerr, true)
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.print(json.encode(completion))
  return
end

-- written by the edge's relay: the chunks of every event that arrived in one read of the model stream, as one piece
local sent, serr = compat.to_sse_response(stream, { model = stream.model, includeUsage = req.includeUsage,
  onError = function(err) ngx.log(ngx.ERR, "openai: the stream failed after its first byte: ", tostring(err)) end })
if not sent then ngx.log(ngx.INFO, "openai: stream ended early: ", tostring(serr)) end
