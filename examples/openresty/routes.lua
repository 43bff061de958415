-- The route table both endpoints of the example share: POST /api/chat (TanStack's wire, route "default") and
-- POST /v1/chat/completions (OpenAI's, the route the request's `model` names). See docs/openresty.md, "Edge router".
--
-- Environment (nginx passes only what nginx.conf lists with `env`):
--   CHAT_MODEL            the first target of the "default" route (default @cf/meta/llama-4-scout-17b-16e-instruct)
--   CHAT_FALLBACK_MODEL   its fallback (default @cf/meta/llama-3.1-8b-instruct)
--   ROUTER_API_KEYS       "key1:consumer1,key2:consumer2": turns the bearer-key auth of /v1/chat/completions on
--                         (unset: off, every caller is "anonymous")
--   ROUTER_TOKENS_PER_MINUTE  a token limit per consumer (per host, lua_shared_dict router_limits); unset: none
--   ROUTER_ROUTES         a Lua module returning router.new's options, to replace this table entirely
-- Credentials: CLOUDFLARE_ACCOUNT_ID + CLOUDFLARE_API_KEY (or _TOKEN), read by every Workers AI target.
-- The router is provider-neutral (tanstack.ai.router): the targets below name Cloudflare's constructors, which
-- this example hands it (cloudflare.tanstack_ai.router is the same router with them already registered).
local router = require("tanstack.ai.router")
local cloudflare_router = require("cloudflare.tanstack_ai.router")
local host = require("tanstack.ai.host")

local M = {}

local function shared(name)
  if host.shared_dict(name) then return name end
  return nil -- outside nginx, or without the lua_shared_dict: per process
end

local function api_keys()
  local spec = os.getenv("ROUTER_API_KEYS")
  if spec == nil or spec == "" then return nil end
  local keys = {}
  for pair in spec:gmatch("[^,%s]+") do
    local key, consumer = pair:match("^([^:]+):(.+)$")
    keys[key or pair] = consumer or "default"
  end
  return { keys = keys }
end

--- router.new's options for this example.
function M.options()
  local custom = os.getenv("ROUTER_ROUTES")
  if custom and custom ~= "" then return require(custom) end
  local tpm = tonumber(os.getenv("ROUTER_TOKENS_PER_MINUTE") or "")
  return {
    routes = {
      default = {
        -- OpenAI SDK users can keep their model names: they map to this route
        aliases = { "gpt-4o-mini", "llama" },
        targets = {
          { name = "primary", adapter = "create_workers_ai_chat",
            model = os.getenv("CHAT_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct",
            config = { idleTimeout = 30000 } },
          { name = "fallback", adapter = "create_workers_ai_chat",
            model = os.getenv("CHAT_FALLBACK_MODEL") or "@cf/meta/llama-3.1-8b-instruct" },
        },
      },
    },
    health = { failures = 3, cooldown = 30, dict = shared("router_health") },
    limits = tpm and { tokensPerMinute = tpm, dict = shared("router_limits") } or nil,
    auth = api_keys(),
    onUsage = function(u)
      local ngx = host.ngx()
      if ngx then
        ngx.log(ngx.NOTICE, "usage: consumer=", tostring(u.consumer), " route=", u.route, " target=",
          tostring(u.target), " model=", tostring(u.model), " in=", u.inputTokens, " out=", u.outputTokens,
          " ms=", u.latencyMs, " cache=", tostring(u.cacheStatus), " ok=", tostring(u.ok))
      end
    end,
  }
end

local instance
--- The worker's router (built once per worker, at its first request).
function M.router()
  if instance == nil then
    local opts = M.options()
    if opts.constructors == nil then opts.constructors = cloudflare_router.constructors() end
    instance = router.new(opts)
  end
  return instance
end

return M
