-- :checkhealth cloudflare_tanstack_ai: the C core build, the socket-driven wakeups, lua-cjson, the credentials
-- (present or not: never their values) and whether the endpoint answers.
local M = {}

if type(vim) ~= "table" then -- outside Neovim the module loads (a rock's smoke test); :checkhealth runs it inside
  function M.check() error("cloudflare_tanstack_ai.health: run it with :checkhealth in Neovim", 2) end
  return M
end

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
  local status, msg, kind = req:response()
  req:close()
  if not status then return nil, tostring(msg) .. " (" .. tostring(kind) .. ")" end
  return status
end

function M.check()
  local plugin = require("cloudflare_tanstack_ai")
  local o = plugin.options

  start("Neovim")
  local v = vim.version()
  info(string.format("Neovim %d.%d.%d, libuv through %s", v.major, v.minor, v.patch, vim.uv and "vim.uv" or "vim.loop"))

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
    local async = require("tanstack.ai.async")
    if async.socket_driven() then
      ok("wakeups driven by libcurl's sockets and timer: the editor sleeps while nothing streams")
    else
      warn("this build of the core cannot report its sockets: requests poll every 10 ms while they run",
        { "rebuild it: make LUA=luajit" })
    end
  end
  local has_cjson = pcall(require, "cjson")
  if has_cjson then ok("lua-cjson found") else error_("lua-cjson not found", { "apt-get install lua-cjson" }) end

  start("Credentials (from the environment; values never shown)")
  local provider = o.provider
  local cfg = plugin.adapter_config(o)
  local gateway = cfg.gatewayId or cfg.gateway_id
  info("provider: " .. tostring(type(o.adapter) == "table" and "(an adapter given to setup)" or provider) ..
    ", model: " .. tostring(o.model or (plugin.PROVIDERS[provider] or {}).model) ..
    (gateway and ", through AI Gateway" or ""))
  local account = cfg.accountId or cfg.account_id or os.getenv("CLOUDFLARE_ACCOUNT_ID")
  local key = cfg.apiKey or cfg.api_key or os.getenv("CLOUDFLARE_API_KEY") or os.getenv("CLOUDFLARE_API_TOKEN")
  if account and account ~= "" then
    ok("account id: set" .. ((cfg.accountId or cfg.account_id) and " (setup config)" or " (CLOUDFLARE_ACCOUNT_ID)"))
  else
    error_("account id: not set", { "export CLOUDFLARE_ACCOUNT_ID=... or setup({ config = { accountId = ... } })" })
  end
  if provider == "workers-ai" or not gateway then
    if key and key ~= "" then
      ok("API key: set" .. (present("CLOUDFLARE_API_KEY") and " (CLOUDFLARE_API_KEY)" or
        present("CLOUDFLARE_API_TOKEN") and " (CLOUDFLARE_API_TOKEN)" or " (setup config)"))
    else
      error_("API key: not set", { "export CLOUDFLARE_API_KEY=... (a token with Workers AI permission)" })
    end
  else
    info("gateway id: set")
    local pkey = plugin.PROVIDERS[provider] and plugin.PROVIDERS[provider].key
    if cfg.apiKey or cfg.api_key then
      ok("provider key: set" .. (pkey and present(pkey) and (" (" .. pkey .. ")") or " (setup config)"))
    else
      info("provider key: not set (fine when the gateway holds the key or bills you: BYOK, unified billing)" ..
        (pkey and ("; else export " .. pkey) or ""))
    end
    if cfg.cfApiKey or cfg.cf_api_key then ok("gateway token (cf-aig-authorization): set") else
      info("gateway token: not set (needed only for an authenticated gateway: CLOUDFLARE_API_KEY)") end
  end

  start("Endpoint")
  if not has_core then
    warn("not checked: the C core is missing")
    return
  end
  local base, url, headers
  if gateway then
    base = cfg.gatewayBaseUrl or cfg.gateway_base_url or os.getenv("CLOUDFLARE_AI_GATEWAY_BASE_URL") or
      "https://gateway.ai.cloudflare.com/v1"
    url = base
  else
    base = cfg.apiBaseUrl or cfg.api_base_url or os.getenv("CLOUDFLARE_API_BASE_URL") or
      "https://api.cloudflare.com/client/v4"
    if account and key then
      url = base:gsub("/+$", "") .. "/accounts/" .. account .. "/ai/models/search?per_page=1"
      headers = { Authorization = "Bearer " .. key }
    else
      url = base
    end
  end
  local status, err = probe(url, headers)
  if not status then
    error_(host_of(base) .. " does not answer: " .. tostring(err), { "check the network, a proxy, the base URL" })
  elseif headers and (status == 401 or status == 403) then
    warn(host_of(base) .. " answers, but refuses the credentials (HTTP " .. status .. ")")
  else
    ok(host_of(base) .. " answers (HTTP " .. status .. ")")
  end
end

return M
