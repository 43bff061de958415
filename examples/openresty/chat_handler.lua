-- The chat endpoint's logic, apart from nginx: a RunAgentInput body in, a stream of AG-UI events out (or a status
-- and a message). examples/openresty/chat.lua serves it from nginx; spec/security drives the same code with the
-- attacks a browser can post.
--
-- What the browser may do here: send its messages, its own client tools, and answers to the interrupts this
-- server issued. What it cannot: run a server tool with arguments of its choosing (tool calls in the history run
-- only when they carry this server's signature, see docs/security.md), run one twice (the once-only ledger),
-- approve a call it forged or another run asked for, add system prompts (refused by
-- chat_params_from_request_body), pick the model, or spend another browser's budget (each client is a consumer:
-- its session cookie, or its address behind trusted proxies).
--
-- Environment (nginx passes only what nginx.conf lists with `env`):
--   CHAT_SIGNING_SECRET   the tool-call signing secret (the same on every worker and host)
--   CHAT_SERVER_TOOLS     a Lua module returning a list of extra server tools (served beside get_weather)
--   CHAT_APPROVAL_TTL     seconds an approval the server asked for may be answered (default 600)
--   CHAT_CLIENT_KEY       "session" (default: the session cookie this server issues) or "address"
--   CHAT_TRUSTED_PROXIES  "10.0.0.0/8,192.168.1.7": proxies whose X-Forwarded-For is believed ("address")
local ai = require("tanstack.ai")
local core = require("tanstack.ai.core")
local host = require("tanstack.ai.host")

local M = {}

M.MODEL = os.getenv("CHAT_MODEL") or "@cf/meta/llama-4-scout-17b-16e-instruct"
-- the route of routes.lua the page's runs take (the browser does not pick the model)
M.ROUTE = "default"
M.SESSION_COOKIE = "cf_ai_session"

-- A server tool: runs here, its result goes back to the model (TanStack's agent loop).
M.get_weather = ai.tool_definition({
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

local loaded_tools
--- The server tools: get_weather, then those of the module CHAT_SERVER_TOOLS names (a list of tools, or a
--- function returning one). A module that fails to load is a configuration error (raised, named).
function M.server_tools()
  if loaded_tools then return loaded_tools end
  local list = { M.get_weather }
  local name = os.getenv("CHAT_SERVER_TOOLS")
  if name and name ~= "" then
    local ok, mod = pcall(require, name)
    if not ok then error("CHAT_SERVER_TOOLS: cannot load '" .. name .. "': " .. tostring(mod), 2) end
    if type(mod) == "function" then mod = mod() end
    for _, t in ipairs(type(mod) == "table" and (mod.tools or mod) or {}) do list[#list + 1] = t end
  end
  loaded_tools = list
  return list
end

--- CHAT_APPROVAL_TTL (seconds), or nil for the library's default (600).
function M.approval_ttl()
  local v = tonumber(os.getenv("CHAT_APPROVAL_TTL") or "")
  if v and v > 0 then return v end
  return nil
end

local derived_logged = false
--- The signing secret: CHAT_SIGNING_SECRET; else, inside nginx, one secret drawn once and shared by every worker
--- of this host through the lua_shared_dict chat_state (and said so in the log); else nil (the library draws one
--- per process). With REDIS_URL set (several hosts) and no CHAT_SIGNING_SECRET: nil, err (refuse to serve:
--- each host would sign with its own secret).
function M.signing_secret()
  local s = os.getenv("CHAT_SIGNING_SECRET")
  if s and s ~= "" then return s end
  local redis = os.getenv("REDIS_URL")
  if redis and redis ~= "" then
    return nil, "REDIS_URL is set (several hosts share state) but CHAT_SIGNING_SECRET is not: every host would "
      .. "sign tool calls with its own secret. Set CHAT_SIGNING_SECRET to the same value on every host."
  end
  local dict = host.shared_dict("chat_state")
  if not dict then return nil end
  dict:add("signing_secret", core.random_hex(32)) -- the first worker's draw wins; the others read it
  local secret = dict:get("signing_secret")
  if not derived_logged then
    derived_logged = true
    local ngx = host.ngx()
    ngx.log(ngx.NOTICE, "chat: CHAT_SIGNING_SECRET is not set: the workers of this host share one random secret ",
      "(lua_shared_dict chat_state; it survives a reload, not a restart). Set it for several hosts.")
  end
  return secret
end

local function cookie_mac(secret, sid)
  local mac = core.hmac_sha256(secret, "cf_ai_session:" .. sid)
  return (mac:sub(1, 12):gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

--- The session: the signed cookie's id, or a new one. Returns the session id and, when it is new, the
--- Set-Cookie value to send. cookie_header: the request's Cookie header; secret: the signing secret (a cookie
--- signed under another secret is replaced).
function M.session(cookie_header, secret)
  local v = type(cookie_header) == "string" and cookie_header:match(M.SESSION_COOKIE .. "=([%x%.]+)") or nil
  local sid, mac = (v or ""):match("^(%x+)%.(%x+)$")
  if sid and secret and #sid == 32 and core.timing_safe_equal(cookie_mac(secret, sid), mac) then return sid end
  sid = core.random_hex(16)
  local value = sid .. "." .. (secret and cookie_mac(secret, sid) or "0")
  return sid, M.SESSION_COOKIE .. "=" .. value .. "; Path=/; HttpOnly; SameSite=Lax"
end

-- "a.b.c.d" in "a.b.c.d/n"?
local function ipv4(s)
  local a, b, c, d = (s or ""):match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end
local function in_list(addr, list)
  for item in (list or ""):gmatch("[^,%s]+") do
    local net, bits = item:match("^([%d%.]+)/(%d+)$")
    if not net then
      if item == addr then return true end
    else
      local x, n, size = ipv4(addr), ipv4(net), 2 ^ (32 - tonumber(bits))
      if x and n and math.floor(x / size) == math.floor(n / size) then return true end
    end
  end
  return false
end

--- Who is calling, for the limiter: the session (CHAT_CLIENT_KEY=session, the default) or the client address
--- (=address): the connection's, or, when it comes from a trusted proxy (CHAT_TRUSTED_PROXIES), the rightmost
--- address of X-Forwarded-For that is not a trusted proxy. req: { session, remote_addr, forwarded_for }.
function M.client_key(req)
  if (os.getenv("CHAT_CLIENT_KEY") or "session") ~= "address" and req.session then return "session:" .. req.session end
  local addr = req.remote_addr or "unknown"
  local trusted = os.getenv("CHAT_TRUSTED_PROXIES")
  if trusted and in_list(addr, trusted) and type(req.forwarded_for) == "string" then
    local hops = {}
    for h in req.forwarded_for:gmatch("[^,%s]+") do hops[#hops + 1] = h end
    for i = #hops, 1, -1 do
      addr = hops[i]
      if not in_list(addr, trusted) then break end
    end
  end
  return "addr:" .. addr
end

--- handle(body, opts) -> stream | nil, status, message, detail
--- opts: adapter (default: the "default" route of routes.lua, whose first target is CHAT_MODEL), route, consumer
--- (the client key), request_id and logConsumer (the run's ctx: the access line's id and consumer),
--- conversation (the session id: tool calls are bound to it), server_tools (default
--- M.server_tools()), ledger (a state store; default routes.lua's: Redis with REDIS_URL, else the host's
--- lua_shared_dict chat_state, else the process's), approvalTtl (default CHAT_APPROVAL_TTL),
--- signingSecret (default M.signing_secret()).
function M.handle(body, opts)
  opts = opts or {}
  -- chatParamsFromRequestBody: a 400 (or 413) with the reason for anything that is not a valid RunAgentInput
  local params, err = ai.chat_params_from_request_body(body or "")
  if not params then return nil, err.status or 400, err.message end
  local secret, serr = opts.signingSecret, nil
  if secret == nil then secret, serr = M.signing_secret() end
  if serr then return nil, 503, "the chat server is misconfigured; see its log", serr end
  -- server tools first; tools the page declared (client tools, no execute) are handed back to it
  local tools = ai.merge_agent_tools(opts.server_tools or M.server_tools(), params.tools)
  local run = {
    messages = params.messages,
    threadId = params.threadId,
    runId = params.runId,
    parentRunId = params.parentRunId, -- a resumed run: the interrupted run's id and the answers to its interrupts
    resume = params.resume,
    tools = tools,
    signingSecret = secret,
    conversationId = opts.conversation,
    approvalTtl = opts.approvalTtl or M.approval_ttl(),
    logErrors = opts.logErrors, -- outside nginx: refusals and failing tools to stderr (nginx: its error log)
  }
  if opts.ledger ~= nil then
    run.ledger = opts.ledger
  elseif host.is_nginx() then
    local ok, routes = pcall(require, "routes")
    if ok then run.ledger = routes.state_store() end
  end
  if opts.adapter == nil then
    -- the route table shared with POST /v1/chat/completions (routes.lua): fallback, health, usage, limits
    local ok, router = pcall(require("routes").router)
    if not ok then return nil, 500, "the chat backend is not configured", router end
    -- metrics count every browser as "browser" (a bounded label); the access line tells them apart (logConsumer)
    local stream, rerr = router:chat(opts.route or M.ROUTE, run, { consumer = opts.consumer or "browser",
      request_id = opts.request_id, endpoint = "chat", metricsConsumer = "browser", logConsumer = opts.logConsumer })
    if not stream then return nil, rerr.status or 500, rerr.message, nil, rerr end
    return stream
  end
  run.adapter = opts.adapter
  return ai.chat(run)
end

return M
