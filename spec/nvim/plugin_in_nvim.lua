-- Run inside `nvim --headless` with the plugin on 'runtimepath' (spec/nvim/plugin_spec.lua starts it): each
-- command of the plugin against the emulator. Writes a JSON report to $CF_TEST_OUT and quits.
-- Environment: CF_TEST_EMU (the emulator's URL), CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_KEY /
-- CLOUDFLARE_API_BASE_URL / CLOUDFLARE_AI_GATEWAY_BASE_URL (the credentials, as a user would set them).
local cjson = require("cjson")
local api = vim.api
local out_path, emu = os.getenv("CF_TEST_OUT"), os.getenv("CF_TEST_EMU")
local report = { notes = {}, steps = {} }

-- every vim.notify, with its level
local notes = report.notes
vim.notify = function(msg, level) notes[#notes + 1] = { msg = msg, level = level or vim.log.levels.INFO } end -- luacheck: ignore 122

local function control(path, body)
  local core = require("tanstack.ai.core")
  local r = core.http_request({ method = "POST", url = emu .. "/__emulator/" .. path,
    headers = { ["Content-Type"] = "application/json" }, body = body and cjson.encode(body) or "{}" })
  assert(r:read_all())
  r:close()
end

local function lines(buf) return table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), "\n") end
local function wait(cond, ms) return vim.wait(ms or 5000, cond, 10) end
local function notes_since(n)
  local t = {}
  for i = n + 1, #notes do t[#t + 1] = notes[i] end
  return t
end

local plugin = require("cf_ai")
local step = report.steps

local only = os.getenv("CF_TEST_STEPS") -- a comma-separated subset
local function run(name, fn)
  if only and not ("," .. only .. ","):find("," .. name .. ",", 1, true) then return end
  local ok, err = pcall(fn)
  step[name] = step[name] or {}
  if not ok then step[name].failed = tostring(err) end
end

-- :CfAiAsk: the answer streams into a scratch buffer; the cursor stays where it was
run("ask", function()
  local win = api.nvim_get_current_win()
  vim.cmd("CfAiAsk What is a monad?")
  local job
  for _, j in pairs(plugin.jobs()) do job = j end
  assert(job, "no job started")
  wait(function() return job.done end)
  step.ask = { text = lines(job.buf), done = job.done == true, stayed = api.nvim_get_current_win() == win,
    buftype = vim.bo[job.buf].buftype, name = api.nvim_buf_get_name(job.buf) }
end)

-- :CfAiChat twice: one buffer holds the conversation, the second prompt carries the first exchange
run("chat", function()
  vim.cmd("CfAiChat first question")
  local buf = api.nvim_get_current_buf()
  wait(function() return next(plugin.jobs()) == nil end)
  vim.cmd("wincmd p") -- elsewhere: the next prompt still continues the same conversation
  vim.cmd("CfAiChat second question")
  wait(function() return next(plugin.jobs()) == nil end)
  -- typed in the buffer under the last "## You", sent with a bare :CfAiChat
  local n = api.nvim_buf_line_count(buf)
  api.nvim_buf_set_lines(buf, n - 1, n, false, { "third, typed in the buffer" }) -- on the empty line under "## You"
  api.nvim_set_current_buf(buf)
  vim.cmd("CfAiChat")
  wait(function() return next(plugin.jobs()) == nil end)
  step.chat = { text = lines(buf), same_buffer = api.nvim_get_current_buf() == buf }
end)

-- :'<,'>CfAiSelection on a linewise selection, and a charwise one through :CfAiAsk with a range
run("selection", function()
  vim.cmd("enew")
  api.nvim_buf_set_lines(0, 0, -1, false, { "local x = 1", "local function add(a, b)", "  return a + b", "end" })
  vim.bo.filetype = "lua" -- luacheck: ignore 122
  vim.cmd("normal! 2GVj\27")
  vim.cmd("'<,'>CfAiSelection What does this do?")
  wait(function() return next(plugin.jobs()) == nil end)
  local ans = api.nvim_get_current_buf()
  vim.cmd("normal! 3G02lvll\27") -- "return" -> "tur"
  vim.cmd("'<,'>CfAiAsk")
  wait(function() return next(plugin.jobs()) == nil end)
  step.selection = { charwise = plugin.selection_text(ans, 3, 3) }
end)

-- :CfAiCancel stops a slow stream at once
run("cancel", function()
  control("next", { drip_ms = 300, text = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12" })
  local n0 = #notes
  vim.cmd("CfAiAsk slow please")
  local job
  for _, j in pairs(plugin.jobs()) do job = j end
  wait(function() return job.buf and lines(job.buf) ~= "" end)
  local t0 = vim.loop.now()
  vim.cmd("CfAiCancel")
  wait(function() return job.done end)
  vim.loop.update_time()
  step.cancel = { text = lines(job.buf), ms = vim.loop.now() - t0, done = job.done == true,
    notes = notes_since(n0) }
end)

-- an HTTP error is shown with vim.notify and reaches on_error; nothing is swallowed
run("error", function()
  control("next", { status = 400, message = "bad model input" })
  local n0 = #notes
  local got
  plugin.ask("this fails", { on_error = function(err) got = tostring(err) end })
  wait(function() return got ~= nil end)
  step.error = { on_error = got, notes = notes_since(n0) }
end)

-- callbacks run on the main loop: the editor API works in them (no E5560), and an error in one is shown
run("callbacks", function()
  local n0 = #notes
  local seen = { fast = {}, calls = 0 }
  local scratch = api.nvim_create_buf(false, true)
  plugin.setup({
    on_token = function(delta)
      seen.calls = seen.calls + 1
      seen.fast[#seen.fast + 1] = vim.in_fast_event and vim.in_fast_event() or false
      api.nvim_buf_set_lines(scratch, -1, -1, false, { delta }) -- E5560 in a libuv callback
      vim.fn.bufnr("%")
    end,
    on_done = function() error("boom in on_done") end,
  })
  local job = plugin.ask("callbacks")
  wait(function() return job.done end)
  wait(function() return #notes > n0 end, 1000)
  seen.scratch = lines(scratch)
  seen.notes = notes_since(n0)
  step.callbacks = seen
  plugin.setup({})
end)

-- the adapter cannot be made (a third-party provider without a gateway): shown, not raised
run("config_error", function()
  local n0 = #notes
  plugin.setup({ provider = "openai" })
  local job = plugin.ask("no gateway")
  step.config_error = { job = job ~= nil, notes = notes_since(n0) }
  -- no account id, then no key (Workers AI): the environment variable and the setup{ config } key to set
  local account, key = os.getenv("CLOUDFLARE_ACCOUNT_ID"), os.getenv("CLOUDFLARE_API_KEY")
  local before = {}
  for _, w in ipairs(api.nvim_list_wins()) do before[w] = true end
  vim.env.CLOUDFLARE_ACCOUNT_ID = nil -- luacheck: ignore 122
  plugin.setup({})
  n0 = #notes
  local no_account = plugin.ask("no account") ~= nil
  step.config_error.no_account = { job = no_account, notes = notes_since(n0) }
  vim.env.CLOUDFLARE_ACCOUNT_ID, vim.env.CLOUDFLARE_API_KEY = account, nil -- luacheck: ignore 122
  plugin.setup({})
  n0 = #notes
  local no_key = plugin.ask("no key") ~= nil
  step.config_error.no_key = { job = no_key, notes = notes_since(n0) }
  vim.env.CLOUDFLARE_API_KEY = key -- luacheck: ignore 122
  for _, w in ipairs(api.nvim_list_wins()) do -- the two answer windows opened here (room for the next steps)
    if not before[w] then api.nvim_win_close(w, true) end
  end
  plugin.setup({})
end)

-- setup{} mistakes raise at the caller, naming setup{} keys and the providers of the provider files
run("setup_errors", function()
  local _, unknown_key = pcall(plugin.setup, { modle = "x" })
  local _, unknown_provider = pcall(plugin.setup, { provider = "groq" })
  step.setup_errors = { key = tostring(unknown_key), provider = tostring(unknown_provider) }
  plugin.setup({})
end)

-- another provider through AI Gateway, and an adapter given directly
run("providers", function()
  plugin.setup({ provider = "anthropic", gateway = "gw-test", model = "claude-test" })
  local a = plugin.ask("through the gateway")
  wait(function() return a.done end)
  local cf = require("cloudflare.tanstack_ai")
  plugin.setup({ adapter = cf.create_workers_ai_chat("@cf/meta/llama-3.2-1b-instruct", {}) })
  local b = plugin.ask("given adapter")
  wait(function() return b.done end)
  step.providers = { anthropic = lines(a.buf), given = lines(b.buf) }
  plugin.setup({})
end)

-- :checkhealth, with credentials, then without the key
run("health", function()
  vim.cmd("checkhealth cf_ai")
  local with = lines(0)
  vim.cmd("bwipeout!")
  local key = os.getenv("CLOUDFLARE_API_KEY")
  vim.env.CLOUDFLARE_API_KEY = nil -- luacheck: ignore 122
  vim.cmd("checkhealth cf_ai")
  local without = lines(0)
  vim.cmd("bwipeout!")
  vim.env.CLOUDFLARE_API_KEY = key -- luacheck: ignore 122
  step.health = { with = with, without = without }
end)

-- a bare :checkhealth runs every health check on the runtimepath (each lua/**/health.lua of this repo too)
run("health_all", function()
  vim.cmd("checkhealth")
  step.health_all = { text = lines(0) }
  vim.cmd("bwipeout!")
end)

-- the old module name still works: the same module, and one deprecation warning however often it is required
run("shim", function()
  local n0 = #notes
  local old = require("cloudflare_tanstack_ai")
  local again = require("cloudflare_tanstack_ai")
  step.shim = { same = old == plugin and again == plugin, notes = notes_since(n0) }
end)

-- The Neovim blocks of README.md and docs/*.md (docs/neovim.md) run here as a user's init.lua would (lazy.nvim and
-- packer stand-ins call each config). A Neovim block loads the plugin as `cf_ai` (or by its old name).
run("readme", function()
  local ran = {}
  local function configure(spec) if type(spec) == "table" and spec.config then spec.config() end end
  package.loaded.lazy = { setup = function(specs) for _, s in ipairs(specs) do configure(s) end end }
  package.loaded.packer = { startup = function(fn) fn(configure) end }
  local pages = vim.fn.glob("docs/*.md", false, true)
  table.sort(pages)
  table.insert(pages, 1, "README.md")
  for _, page in ipairs(pages) do
    local f = assert(io.open(page, "r"))
    local text = f:read("*a")
    f:close()
    for code in text:gmatch("```lua\n(.-)```") do
      if code:find("cloudflare_tanstack_ai", 1, true) or code:find("require%s*%(?%s*[\"']cf_ai[\"']") then
        local fn = assert(loadstring(code, page))
        fn()
        ran[#ran + 1] = { page = page, first = code:match("[^\n]+"), provider = plugin.options.provider }
      end
    end
  end
  step.readme = { ran = ran, commands = vim.fn.exists(":CfAiChat") == 2 }
  plugin.setup({})
end)

report.async = require("tanstack.ai.async").stats()
report.uv = vim.uv and "vim.uv" or "vim.loop"
local f = assert(io.open(out_path, "w"))
f:write(cjson.encode(report))
f:close()
vim.cmd("qall!")
