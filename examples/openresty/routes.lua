-- The route table both endpoints of the example share: POST /api/chat (TanStack's wire, route "default") and
-- POST /v1/chat/completions (OpenAI's, the route the request's `model` names). See docs/openresty.md, "Edge router".
--
-- Environment (nginx passes only what nginx.conf lists with `env`):
--   CHAT_MODEL            the first target of the "default" route (default @cf/meta/llama-4-scout-17b-16e-instruct)
--   CHAT_FALLBACK_MODEL   its fallback (default @cf/meta/llama-3.1-8b-instruct)
--   ROUTER_API_KEYS       "key1:consumer1,key2:consumer2": turns the bearer-key auth of /v1/chat/completions on
--                         (unset: off, every caller is "anonymous")
--   ROUTER_TOKENS_PER_MINUTE  a token limit per consumer (per host in lua_shared_dict router_limits, or shared by
--                         every host through REDIS_URL); unset: none
--   ROUTER_CONCURRENT     a cap on each consumer's concurrent runs; unset: none
--   ROUTER_LIMITS_ON_STORE_ERROR  "open" (default: admit when the store is down) or "closed" (503)
--   REDIS_URL             redis://[:password@]host:port/db: limits, health, usage counters and the once-only
--                         ledger shared by every nginx pointed at it (unset: per host, lua_shared_dict)
--   ROUTER_ROUTES         a Lua module returning router.new's options, to replace this table entirely (the
--                         example adds its metrics and its JSON access line as onUsage when they are not set)
--   EMBEDDING_MODEL       the "embeddings" route's Workers AI model (default @cf/baai/bge-base-en-v1.5)
-- Credentials: CLOUDFLARE_ACCOUNT_ID + CLOUDFLARE_API_KEY (or _TOKEN), read by every Workers AI target.
-- The router is provider-neutral (tanstack.ai.router): the targets below name Cloudflare's constructors, which
-- this example hands it (cloudflare.tanstack_ai.router is the same router with them already registered).
local router = require("tanstack.ai.router")
local cloudflare_router = require("cloudflare.tanstack_ai.router")
local host = require("tanstack.ai.host")
local store_mod = require("tanstack.ai.router.store")
local store_redis = require("tanstack.ai.router.store_redis")
local ops = require("ops") -- examples/openresty/ops.lua: request ids, the access line, metrics

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

local redis_store
--- The Redis store of REDIS_URL (one per worker: its connections go back to the cosocket pool), or nil.
function M.redis()
  local url = os.getenv("REDIS_URL")
  if url == nil or url == "" then return nil end
  redis_store = redis_store or store_redis.new({ url = url, prefix = os.getenv("REDIS_PREFIX") or "tsai:" })
  return redis_store
end

local local_state
--- The state store of the once-only ledger and the usage counters: Redis with REDIS_URL, else the host's
--- lua_shared_dict chat_state, else nil (the library's per-process store).
function M.state_store()
  local r = M.redis()
  if r then return r end
  local dict = host.shared_dict("chat_state")
  if dict then
    local_state = local_state or store_mod.shared(dict)
    return local_state
  end
  return nil
end

-- Where a piece of router state lives: { store = Redis } with REDIS_URL, else { dict = name } when the
-- lua_shared_dict exists, else {} (per worker).
local function placed(name)
  local r = M.redis()
  if r then return { store = r } end
  return { dict = shared(name) }
end

local function with(t, extra)
  for k, v in pairs(extra) do t[k] = v end
  return t
end

-- Usage counters per consumer and day (requests, tokens, estimated runs), in the state store.
local function count_usage(u)
  local st = M.state_store()
  if not st then return end
  local day = os.date("!%Y%m%d")
  local key = "u:" .. tostring(u.consumer) .. ":" .. day .. ":"
  pcall(st.incr, st, key .. "requests", 1, 0, 2 * 86400)
  pcall(st.incr, st, key .. "tokens", (u.inputTokens or 0) + (u.outputTokens or 0), 0, 2 * 86400)
  if u.estimated then pcall(st.incr, st, key .. "estimated", 1, 0, 2 * 86400) end
end
M.count_usage = count_usage

--- router.new's options for this example.
function M.options()
  local custom = os.getenv("ROUTER_ROUTES")
  if custom and custom ~= "" then return require(custom) end
  local tpm = tonumber(os.getenv("ROUTER_TOKENS_PER_MINUTE") or "")
  local concurrent = tonumber(os.getenv("ROUTER_CONCURRENT") or "")
  local limits
  if tpm or concurrent then
    limits = with(placed("router_limits"), { tokensPerMinute = tpm, concurrent = concurrent,
      onStoreError = os.getenv("ROUTER_LIMITS_ON_STORE_ERROR") or "open" })
  end
  return {
    routes = {
      -- POST /v1/embeddings: OpenAI SDK users may keep their embedding model's name
      embeddings = {
        kind = "embedding",
        aliases = { "text-embedding-3-small" },
        targets = {
          { name = "bge", adapter = "create_workers_ai_embedding",
            model = os.getenv("EMBEDDING_MODEL") or "@cf/baai/bge-base-en-v1.5" },
        },
      },
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
    health = with(placed("router_health"), { failures = 3, cooldown = 30 }),
    limits = limits,
    auth = api_keys(),
    -- one JSON access line per request (nginx.conf: access_log logs/ai_access.log), and the usage counters
    onUsage = function(u)
      count_usage(u)
      ops.on_usage(u)
    end,
  }
end

-- The example's operations on any route table (ROUTER_ROUTES's too): metrics, and the access line as the usage
-- hook when the table has none.
local function with_ops(opts)
  if opts.constructors == nil then opts.constructors = cloudflare_router.constructors() end
  if opts.metrics == nil and host.is_nginx() then opts.metrics = ops.metrics() end
  if opts.onUsage == nil and opts.on_usage == nil then opts.onUsage = ops.on_usage end
  return opts
end

-- Build every target's adapter once: an unknown constructor, missing credentials or a bad config raise here.
local function construct_targets(r)
  for name, route in pairs(r.routes) do
    for _, t in ipairs(route.targets) do
      local cfg = {}
      for k, v in pairs(r.defaults.config or {}) do cfg[k] = v end
      for k, v in pairs(t.config or {}) do cfg[k] = v end
      local ok, err = pcall(t.make, t.model, cfg)
      if not ok then
        error("route '" .. name .. "' target '" .. t.name .. "': " .. tostring(err), 0)
      end
    end
  end
end

--- Refuse a route table that cannot work, when nginx starts (init_by_lua in nginx.conf: nginx does not start,
--- and a reload keeps the old configuration): an unknown constructor, a target without credentials, several
--- workers (or REDIS_URL) without a shared signing secret. Raises with one clear message.
function M.check(workers)
  local ok, err = pcall(function()
    local r = router.new(with_ops(M.options()))
    construct_targets(r)
  end)
  if not ok then error("routes: the route table cannot work: " .. tostring(err), 0) end
  local secret = os.getenv("CHAT_SIGNING_SECRET")
  if secret == nil or secret == "" then
    local redis = os.getenv("REDIS_URL")
    if redis and redis ~= "" then
      error("routes: REDIS_URL is set but CHAT_SIGNING_SECRET is not: every host would sign tool calls with its "
        .. "own secret; set CHAT_SIGNING_SECRET to the same value on every host", 0)
    end
    if (workers or 1) > 1 and not host.shared_dict("chat_state") then
      error("routes: " .. workers .. " workers and no CHAT_SIGNING_SECRET nor lua_shared_dict chat_state: each "
        .. "worker would sign tool calls with its own secret; set CHAT_SIGNING_SECRET", 0)
    end
  end
  return true
end

local instance
--- The worker's router (built once per worker, at its first request).
function M.router()
  if instance == nil then instance = router.new(with_ops(M.options())) end
  return instance
end

return M
