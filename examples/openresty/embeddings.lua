-- POST /v1/embeddings for nginx (content_by_lua_file): OpenAI's Embeddings API over the route table's "embedding"
-- routes (routes.lua: Workers AI's bge models; an OpenAI target through AI Gateway works the same way). The same
-- auth, limits, usage hook, access line and metrics as /v1/chat/completions; errors in OpenAI's shape.
local embeddings = require("tanstack.ai.wire.openai_embeddings")
local json = require("tanstack.ai.json")
local routes = require("routes")

local ngx = ngx

local req, consumer, request_id, fail = routes.openai_front("embeddings", "an embeddings request",
  embeddings.parse_request)
if not req then return end
local router = routes.router()

local res, err = router:embed(req.model, { input = req.input },
  { consumer = consumer, request_id = request_id, endpoint = "embeddings" })
if not res then return fail(err, err.kind ~= "router", err.kind == "router") end
routes.ratelimit_headers(res.run.admission)
ngx.header["Content-Type"] = "application/json"
ngx.print(json.encode(embeddings.to_response(res, { model = req.model, encodingFormat = req.encodingFormat,
  dimensions = req.dimensions, promptTokens = res.run.input })))
