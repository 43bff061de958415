-- POST /v1/embeddings for nginx (content_by_lua_file): OpenAI's Embeddings API over the route table's "embedding"
-- routes (routes.lua: Workers AI's bge models; an OpenAI target through AI Gateway works the same way). The same
-- auth, limits, usage hook, access line and metrics as /v1/chat/completions; errors in OpenAI's shape.
local compat = require("tanstack.ai.openai_compat")
local embeddings = require("tanstack.ai.wire.openai_embeddings")
local json = require("tanstack.ai.json")
local routes = require("routes")

local ngx = ngx

local request_id = routes.request_id()
local consumer

local function fail(err, ran, counted)
  local body, status = compat.error_body(err)
  if status >= 500 then ngx.log(ngx.ERR, "embeddings: ", tostring(err)) end
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  if type(err) == "table" and err.admission then routes.ratelimit_headers(err.admission) end
  if type(err) == "table" and err.retry_after then ngx.header["Retry-After"] = tostring(err.retry_after) end
  if not ran then routes.refused("embeddings", status, err, consumer, counted) end
  if status == 401 then ngx.header["WWW-Authenticate"] = 'Bearer realm="router"' end
  ngx.print(body)
  return ngx.exit(status)
end

if ngx.req.get_method() ~= "POST" then
  ngx.header["Allow"] = "POST"
  return fail(compat.error(405, "POST an embeddings request here", "method_not_allowed"))
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
local req, perr = embeddings.parse_request(body or "")
if not req then return fail(perr) end

local res, err = router:embed(req.model, { input = req.input },
  { consumer = consumer, request_id = request_id, endpoint = "embeddings" })
if not res then return fail(err, err.kind ~= "router", err.kind == "router") end
routes.ratelimit_headers(res.run.admission)
ngx.header["Content-Type"] = "application/json"
ngx.print(json.encode(embeddings.to_response(res, { model = req.model, encodingFormat = req.encodingFormat,
  dimensions = req.dimensions, promptTokens = res.run.input })))
