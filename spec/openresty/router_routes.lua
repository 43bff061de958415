-- The route table of spec/openresty/router_nginx_test.lua (ROUTER_ROUTES=openresty.router_routes), against the
-- emulator (CLOUDFLARE_API_BASE_URL). Usage records go to the test's lua_shared_dict (GET /__router_usage).
local json = require("tanstack.ai.json")

local function wai(name, model, extra)
  local t = { name = name, adapter = "create_workers_ai_chat", model = model, config = {} }
  for k, v in pairs(extra or {}) do t.config[k] = v end
  return t
end

local M = {
  routes = {
    -- the TanStack endpoint's route and the OpenAI default: primary, then fallback
    -- (its own health threshold: the fallback tests fail its primary on purpose, and must not take it out)
    default = { aliases = { "gpt-4o-mini" }, health = { failures = 1000 }, targets = {
      wai("primary", "@cf/meta/llama-3.1-8b-instruct-fp8", { idleTimeout = 1500 }),
      wai("fallback", "@cf/meta/llama-3.2-3b-instruct"),
    } },
    -- the first target refuses connections
    refused = { health = { failures = 1000 }, targets = {
      wai("dead", "@cf/meta/llama-3.1-8b-instruct-fp8", { apiBaseUrl = "http://127.0.0.1:9/client/v4",
        connectTimeout = 1000 }),
      wai("alive", "@cf/meta/llama-3.2-3b-instruct"),
    } },
    -- health: its own targets, so other tests do not move their counts
    health = { targets = {
      wai("flaky", "@cf/meta/llama-3.1-8b-instruct-fp8"),
      wai("steady", "@cf/meta/llama-3.2-3b-instruct"),
    } },
    -- weighted: two equal-priority targets, 3:1
    weighted = { targets = {
      { name = "heavy", adapter = "create_workers_ai_chat", model = "@cf/meta/llama-3.1-8b-instruct-fp8", weight = 3,
        priority = 1 },
      { name = "light", adapter = "create_workers_ai_chat", model = "@cf/meta/llama-3.2-3b-instruct", weight = 1,
        priority = 1 },
    } },
    -- through AI Gateway (the emulator's gateway answers carry cf-aig-cache-status)
    gateway = { targets = {
      wai("gw", "@cf/meta/llama-3.1-8b-instruct-fp8", { gatewayId = "router-gw", apiKey = os.getenv("CLOUDFLARE_API_KEY"),
        gatewayBaseUrl = (os.getenv("CLOUDFLARE_API_BASE_URL") or ""):gsub("/client/v4$", "/v1") }),
    } },
    private = { consumers = { "tester" }, targets = { wai("only", "@cf/meta/llama-3.1-8b-instruct-fp8") } },
    -- OpenAI's embeddings through AI Gateway (POST /v1/embeddings)
    ["text-embedding-3-large"] = { kind = "embedding", targets = {
      { name = "openai-gw", adapter = "create_openai_embedding", model = "text-embedding-3-large",
        config = { gatewayId = "router-gw", apiKey = "sk-openai-test", accountId = os.getenv("CLOUDFLARE_ACCOUNT_ID"),
          gatewayBaseUrl = (os.getenv("CLOUDFLARE_API_BASE_URL") or ""):gsub("/client/v4$", "/v1") } },
    } },
  },
  health = { failures = 2, cooldown = 5, dict = "router_health" },
  limits = { window = 3, dict = "router_limits",
    tokensPerMinute = function(consumer) if consumer == "limited" then return 20 end end },
  auth = { keys = { ["sk-tester"] = "tester", ["sk-limited"] = "limited", ["sk-guest"] = "guest" } },
  onUsage = function(u)
    local d = ngx.shared.tanstack_test
    local n = d:incr("usage:n", 1, 0)
    u.context = nil
    d:set("usage:" .. n, json.encode(u))
  end,
}

-- the browser endpoint runs without a key: give it one consumer
M.routes.default.consumers = nil

--- GET /__router_usage: every usage record so far (a JSON array); ?reset=1 clears them.
function M.usage_endpoint()
  local d = ngx.shared.tanstack_test
  if ngx.var.arg_reset then
    local n = d:get("usage:n") or 0
    for i = 1, n do d:delete("usage:" .. i) end
    d:set("usage:n", 0)
    ngx.say("[]")
    return
  end
  local out = {}
  for i = 1, d:get("usage:n") or 0 do
    local v = d:get("usage:" .. i)
    if v then out[#out + 1] = json.decode(v) end
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(json.encode(json.array(out)))
end

--- GET /__router_health?key=route/target: the health state this worker sees (shared dict: the host's)
function M.health_endpoint()
  local r = require("routes").router()
  ngx.say(json.encode(r:health_state(ngx.var.arg_key)))
end

return M
