-- :checkhealth cf_ai: the C core build, the socket-driven wakeups, lua-cjson, the credentials (present or not:
-- never their values) and whether the endpoint answers. Each section is a function of its own.
local M = {}

if type(vim) ~= "table" then -- outside Neovim the module loads (a rock's smoke test); :checkhealth runs it inside
  function M.check() error("cf_ai.health: run it with :checkhealth in Neovim", 2) end
  return M
end

local providers = require("cloudflare.tanstack_ai.providers")

local h = vim.health or require("health")
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local error_ = h.error or h.report_error
local info = h.info or h.report_info

local function present(name) local v = os.getenv(name) return v ~= nil and v ~= "" end

local function host_of(url) return (url:match("^(%a+://[^/]+)") or url) end

-- GET url (blocking, a few seconds at most): status or nil, message.
local function probe(url, headers)
  local core = require("tanstack.ai.core")
  local okc, req = pcall(core.http_request, { method = "GET", url = url, headers = headers, timeout = 5000,
    connect_timeout = 3000, max_response_bytes = 65536 })
  if not okc then return nil, tostring(req) end
  local status, msg, err_kind = req:response()
  req:close()
  if not status then return nil, tostring(msg) .. " (" .. tostring(err_kind) .. ")" end
  return status
end

local function check_neovim()
  start("Neovim")
  local v = vim.version()
  info(string.format("Neovim %d.%d.%d, libuv through %s", v.major, v.minor, v.patch, vim.uv and "vim.uv" or "vim.loop"))
end

-- The C core and lua-cjson; true when the core loads.
local function check_core()
  start("C core (tanstack.ai.core)")
  local has_core, core = pcall(require, "tanstack.ai.core")
  if not has_core then
    error_("not found: " .. tostring(core):match("^[^\n]*"), {
      "From a checkout: run `make LUA=luajit` in the plugin directory (lazy.nvim / packer: build = \"make LUA=luajit\")",
      "As a rock: luarocks --lua-version=5.1 install cloudflare-tanstack-ai, with the tree on package.cpath",
    })
  else
    local path = package.searchpath and package.searchpath("tanstack.ai.core", package.cpath) or "?"
    ok("loaded from " .. tostring(path) .. (core.version and (" (version " .. tostring(core.version) .. ")") or ""))
    if require("tanstack.ai.async").socket_driven() then
      ok("wakeups driven by libcurl's sockets and timer: the editor sleeps while nothing streams")
    else
      warn("this build of the core cannot report its sockets: requests poll every 10 ms while they run",
        { "rebuild it: make LUA=luajit" })
    end
  end
  if pcall(require, "cjson") then ok("lua-cjson found") else error_("lua-cjson not found", { "apt-get install lua-cjson" }) end
  return has_core
end

-- Where a setting came from: setup{ config } or the environment variable.
local function source(from_setup, env_name)
  return from_setup and " (setup{ config })" or (" (" .. env_name .. ")")
end

-- The Cloudflare key (Workers AI, not through a gateway).
local function check_cloudflare_key(cfg)
  local from_setup = cfg.apiKey or cfg.api_key
  local env_key, env_name = providers.key_from_env(providers.get("workers-ai"), os.getenv)
  if from_setup or env_key then
    ok("API key: set" .. source(from_setup, env_name))
  else
    error_("API key: not set", { "export CLOUDFLARE_API_KEY=... (a token with Workers AI permission)",
      "or setup{ config = { apiKey = ... } }" })
  end
end

-- A provider through AI Gateway: its own key (optional: BYOK, unified billing) and the gateway token.
local function check_gateway_keys(cfg, p)
  info("gateway id: set")
  local var = p and p.key_env[1]
  if cfg.apiKey or cfg.api_key then
    local env_name
    if p then env_name = select(2, providers.key_from_env(p, os.getenv)) end
    ok("provider key: set" .. (env_name and (" (" .. env_name .. ")") or " (setup{ config })"))
  else
    info("provider key: not set (fine when the gateway holds the key or bills you: BYOK, unified billing)" ..
      (var and ("; else export " .. var) or ""))
  end
  if cfg.cfApiKey or cfg.cf_api_key then ok("gateway token (cf-aig-authorization): set") else
    info("gateway token: not set (needed only for an authenticated gateway: CLOUDFLARE_API_KEY)") end
end

local function check_credentials(plugin, o, cfg, gateway)
  start("Credentials (from the environment; values never shown)")
  local p = plugin.provider(o)
  info("provider: " .. tostring(type(o.adapter) == "table" and "(an adapter given to setup{ adapter })" or o.provider) ..
    ", model: " .. tostring(plugin.model(o)) .. (gateway and ", through AI Gateway" or ""))
  local from_setup = cfg.accountId or cfg.account_id
  if from_setup or present("CLOUDFLARE_ACCOUNT_ID") then
    ok("account id: set" .. source(from_setup, "CLOUDFLARE_ACCOUNT_ID"))
  else
    error_("account id: not set", { "export CLOUDFLARE_ACCOUNT_ID=... or setup{ config = { accountId = ... } }" })
  end
  if (p and not p.gateway_only) or not gateway then
    check_cloudflare_key(cfg)
  else
    check_gateway_keys(cfg, p)
  end
end

-- The URL to probe (and its headers): the gateway's base, or the REST API's model search with the credentials.
local function endpoint(cfg, gateway)
  if gateway then
    local base = cfg.gatewayBaseUrl or cfg.gateway_base_url or os.getenv("CLOUDFLARE_AI_GATEWAY_BASE_URL") or
      "https://gateway.ai.cloudflare.com/v1"
    return base, base
  end
  local base = cfg.apiBaseUrl or cfg.api_base_url or os.getenv("CLOUDFLARE_API_BASE_URL") or
    "https://api.cloudflare.com/client/v4"
  local account = cfg.accountId or cfg.account_id or os.getenv("CLOUDFLARE_ACCOUNT_ID")
  local key = cfg.apiKey or cfg.api_key or providers.key_from_env(providers.get("workers-ai"), os.getenv)
  if account and key then
    return base, base:gsub("/+$", "") .. "/accounts/" .. account .. "/ai/models/search?per_page=1",
      { Authorization = "Bearer " .. key }
  end
  return base, base
end

-- What an answer's status says. Workers AI's model search needs the account id and the key: 2xx is the truth that
-- both work; 401/403 a refused key; 404 a wrong account id or base URL. The gateway's base says only "reachable".
local function judge(host, url, status, credentials, gateway)
  if gateway or not credentials then
    local why = gateway and "the gateway's keys are checked by the first request" or
      "the credentials are not set, so they were not tried"
    return "info", host .. " is reachable (HTTP " .. status .. "); " .. why
  end
  if status >= 200 and status < 300 then
    return "ok", host .. " answers (HTTP " .. status .. "): the account id and the API key work"
  elseif status == 401 or status == 403 then
    return "error", host .. " refuses the credentials (HTTP " .. status .. ")", {
      "check the key: CLOUDFLARE_API_KEY, or setup{ config = { apiKey = ... } } (a token with Workers AI Read)" }
  elseif status == 404 then
    local path = url:match("^%a+://[^/]+(/[^?]*)") or url
    return "error", host .. " has no " .. path .. " (HTTP 404)", {
      "check the account id (CLOUDFLARE_ACCOUNT_ID or setup{ config = { accountId } }) and the base URL " ..
      "(CLOUDFLARE_API_BASE_URL or setup{ config = { apiBaseUrl } })" }
  end
  return "warn", host .. " answers HTTP " .. status .. " to the model search", { "try again; see Cloudflare's status page" }
end

local function check_endpoint(has_core, cfg, gateway)
  start("Endpoint")
  if not has_core then
    warn("not checked: the C core is missing")
    return
  end
  local base, url, headers = endpoint(cfg, gateway)
  local status, err = probe(url, headers)
  if not status then
    error_(host_of(base) .. " does not answer: " .. tostring(err), { "check the network, a proxy, the base URL" })
    return
  end
  local level, msg, advice = judge(host_of(base), url, status, headers ~= nil, gateway)
  local report = ({ ok = ok, info = info, warn = warn, error = error_ })[level]
  report(msg, advice)
end

function M.check()
  local plugin = require("cf_ai")
  local o = plugin.options
  local cfg = plugin.adapter_config(o)
  local gateway = cfg.gatewayId or cfg.gateway_id
  check_neovim()
  local has_core = check_core()
  check_credentials(plugin, o, cfg, gateway)
  check_endpoint(has_core, cfg, gateway)
end

return M
