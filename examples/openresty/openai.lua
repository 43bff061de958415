-- POST /v1/chat/completions for nginx (content_by_lua_file): OpenAI's Chat Completions API in front of the route
-- table of routes.lua. Any OpenAI SDK (baseURL = http://host/v1) or curl can call it: streaming
-- (chat.completion.chunk SSE, stream_options.include_usage, data: [DONE]) or not (one chat.completion), tools
-- (the calls come back to the client), response_format json_schema; errors in OpenAI's shape.
local compat = require("tanstack.ai.openai_compat")
local routes = require("routes") -- examples/openresty/routes.lua
local json = require("tanstack.ai.json")

local ngx = ngx

local request_id = routes.request_id()
local consumer

-- An error before any run (or every target failing: the run's own access line is written by the usage hook);
-- counted: the router counted the refusal in its metrics already (admission: 403, 404, 429, 503).
local function fail(err, ran, counted)
  local body, status = compat.error_body(err)
  if status >= 500 then ngx.log(ngx.ERR, "openai: ", tostring(err)) end
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  if type(err) == "table" and err.admission then routes.ratelimit_headers(err.admission) end
  if type(err) == "table" and err.retry_after then ngx.header["Retry-After"] = tostring(err.retry_after) end
  if not ran then routes.refused("openai", status, err, consumer, counted) end
  if status == 401 then ngx.header["WWW-Authenticate"] = 'Bearer realm="router"' end
  ngx.print(body)
  return ngx.exit(status)
end

if ngx.req.get_method() ~= "POST" then
  ngx.header["Allow"] = "POST"
  return fail(compat.error(405, "POST a Chat Completions request here", "method_not_allowed"))
end

local router = routes.router()
local aerr
consumer, aerr = router:authenticate(ngx.var.http_authorization)
if not consumer then return fail(aerr) end

ngx.req.read_body()
local body = ngx.req.get_body_data()
if body == nil and ngx.req.get_body_file() then
  return fail(compat.error(413, "the request body is too large", "request_too_large"))
end
local req, perr = compat.parse_request(body or "")
if not req then return fail(perr) end

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
