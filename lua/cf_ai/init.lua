-- Neovim plugin of cloudflare-tanstack-ai: ask, chat, ask about the selection, cancel.
--
--   require("cf_ai").setup({
--     provider = "workers-ai",        -- or openai, anthropic, gemini, grok, openrouter (through AI Gateway)
--     model = "@cf/meta/llama-4-scout-17b-16e-instruct",
--     config = {},                    -- the adapter's config; CLOUDFLARE_* environment variables fill the rest
--   })
--
-- Requests run as tanstack.ai.async tasks on the editor's own libuv loop (vim.uv, vim.loop on 0.9 and older),
-- woken by the sockets: nothing runs while nothing streams. Every buffer update and every callback the user
-- gives runs through vim.schedule, on the main loop, where the whole editor API is allowed (no E5560).
-- Errors are shown with vim.notify, never swallowed; they name setup{} keys, not the library's.
-- The providers' facts (default models, key variables, constructors) come from cloudflare/tanstack_ai/providers.
-- luacheck: globals vim (options are set through vim.bo / vim.wo)

-- Outside Neovim (a rock's smoke test, plain Lua) the module loads, and each of its functions says where it runs.
if type(vim) ~= "table" then
  return setmetatable({}, { __index = function(_, k)
    error("cf_ai." .. tostring(k) .. ": this is the Neovim plugin: use it inside Neovim", 2)
  end })
end

local providers = require("cloudflare.tanstack_ai.providers")
local transcript = require("cf_ai.transcript")

local M = {}

local api = vim.api
local uv = vim.uv or vim.loop

local DEFAULTS = {
  provider = "workers-ai",
  model = nil,         -- default: the provider's (providers/<name>.lua, models.chat)
  gateway = nil,       -- AI Gateway id (third-party providers need one; Workers AI goes through it when set)
  config = nil,        -- table passed to the adapter constructor (accountId, apiKey, cfApiKey, apiBaseUrl, ...)
  adapter = nil,       -- any adapter of the module, or function(model, config) -> adapter: wins over provider
  system = nil,        -- a system prompt (string)
  chat_options = nil,  -- more ai.chat options (temperature, maxTokens, modelOptions, ...)
  open = "split",      -- where answers open: "split", "vsplit", "tab", "current"
  focus = false,       -- move the cursor to the answer window
  on_token = nil,      -- function(delta, job)        run scheduled, on the main loop
  on_done = nil,       -- function(text, job)
  on_error = nil,      -- function(err, job); errors are also shown with vim.notify unless notify_errors = false
  notify_errors = true,
  keymaps = {          -- buffer-local in chat buffers; false (or a key set to false) leaves it unmapped
    send = "<C-s>",    -- normal and insert mode: send what is typed under the last "## You"
    close = "q",       -- normal mode: close the chat window (the conversation stays, :CfAiChat reopens it)
    cancel = "<C-c>",  -- normal mode: stop the answer
  },
  save_chats = true,   -- keep each chat under stdpath("data")/cf_ai/chats/ (:CfAiChats lists and reopens them)
}

local KEYS = { "provider", "model", "gateway", "config", "adapter", "system", "chat_options", "open", "focus",
  "on_token", "on_done", "on_error", "notify_errors", "keymaps", "save_chats" }
local KEYMAP_KEYS = { send = true, close = true, cancel = true }
local KNOWN = {}
for _, k in ipairs(KEYS) do KNOWN[k] = true end

M.options = vim.deepcopy(DEFAULTS)
local jobs = {}        -- id -> job, while running
local next_id = 0
local stop_driver      -- async.attach_uv's stop function
local chat_bufs = {}   -- buf -> true

local function notify(msg, level)
  vim.notify("cf-ai: " .. msg, level or vim.log.levels.ERROR)
end
M._notify = notify

-- Call each of the callbacks a, b (either may be nil) with ..., on the main loop already; an error in one is
-- shown, not lost.
local function call_each(label, a, b, ...)
  for _, cb in ipairs({ a or false, b or false }) do
    if cb then
      local ok, err = pcall(cb, ...)
      if not ok then notify(label .. ": " .. tostring(err)) end
    end
  end
end

local function loaded()
  local ok, err = pcall(require, "tanstack.ai.core")
  if not ok then
    return nil, "the C core (tanstack.ai.core) is not built for this Neovim: run `make LUA=luajit` in the plugin's " ..
      "directory (lazy.nvim/packer: build = \"make LUA=luajit\"), or install the rock for LuaJIT (" ..
      tostring(err):match("^[^\n]*") .. ")"
  end
  return true
end

--- The provider setup{ provider = ... } names (providers/<name>.lua), or nil.
function M.provider(o)
  return providers.find((o or M.options).provider)
end

--- The model the options ask for: setup{ model }, else the provider's default chat model.
function M.model(o)
  o = o or M.options
  local p = M.provider(o)
  return o.model or (p and p.models.chat)
end

function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("cf_ai.setup: expected a table: setup({ provider = ..., ... })", 2) end
  for k in pairs(opts) do
    if not KNOWN[k] then
      error("cf_ai.setup: unknown key '" .. tostring(k) .. "' (setup{} takes " .. table.concat(KEYS, ", ") .. ")", 2)
    end
  end
  if opts.keymaps ~= nil and opts.keymaps ~= false then
    if type(opts.keymaps) ~= "table" then error("cf_ai.setup: setup{ keymaps } is a table or false", 2) end
    for k in pairs(opts.keymaps) do
      if not KEYMAP_KEYS[k] then
        error("cf_ai.setup: unknown key '" .. tostring(k) .. "' in setup{ keymaps } (send, close, cancel)", 2)
      end
    end
  end
  local o = vim.tbl_extend("force", vim.deepcopy(DEFAULTS), opts)
  if type(opts.keymaps) == "table" then o.keymaps = vim.tbl_extend("force", vim.deepcopy(DEFAULTS.keymaps), opts.keymaps) end
  if not o.adapter and not M.provider(o) then
    error("cf_ai.setup: unknown provider '" .. tostring(o.provider) .. "' (setup{ provider = ... }: one of " ..
      providers.names() .. ")", 2)
  end
  M.options = o
  M._adapter = nil
  -- installed as a rock without a plugin manager, plugin/ is not sourced: setup makes the commands
  if not M._commands then M.create_commands() end
  return M
end

local function unset(cfg, camel, snake) return cfg[camel] == nil and cfg[snake] == nil end

--- The adapter config the options describe: setup's config, the gateway id, and for a third-party provider its
--- key from the provider's usual environment variable; CLOUDFLARE_* variables fill the rest (in the library).
function M.adapter_config(o)
  o = o or M.options
  local cfg = vim.deepcopy(o.config or {})
  local p = M.provider(o)
  if o.gateway and unset(cfg, "gatewayId", "gateway_id") then cfg.gatewayId = o.gateway end
  if not (cfg.gatewayId or cfg.gateway_id) or cfg.binding ~= nil then return cfg end
  if unset(cfg, "accountId", "account_id") then cfg.accountId = os.getenv("CLOUDFLARE_ACCOUNT_ID") end
  -- through AI Gateway a third-party provider's key is its own; the Cloudflare key authenticates the gateway
  if p and p.gateway_only and unset(cfg, "cfApiKey", "cf_api_key") then
    cfg.cfApiKey = providers.key_from_env(providers.get("workers-ai"), os.getenv)
  end
  if p and unset(cfg, "apiKey", "api_key") then cfg.apiKey = providers.key_from_env(p, os.getenv) end
  return cfg
end

local function env_set(name) local v = os.getenv(name) return v ~= nil and v ~= "" end

-- What the options lack, said in setup{} keys before the library would say it in its config's (nil: nothing).
local function setup_problem(o, cfg)
  local p = M.provider(o)
  if not p or cfg.binding ~= nil then return nil end
  if p.gateway_only and not (cfg.gatewayId or cfg.gateway_id) then
    return "provider '" .. p.name .. "' goes through AI Gateway: set setup{ gateway = \"<gateway id>\" }"
  end
  if unset(cfg, "accountId", "account_id") and not env_set("CLOUDFLARE_ACCOUNT_ID") then
    return "no account id: export CLOUDFLARE_ACCOUNT_ID=... or set setup{ config = { accountId = \"...\" } }"
  end
  if not p.gateway_only and unset(cfg, "apiKey", "api_key") and unset(cfg, "cfApiKey", "cf_api_key") and
    not providers.key_from_env(p, os.getenv) then
    return "no API key: export CLOUDFLARE_API_KEY=... or set setup{ config = { apiKey = \"...\" } }"
  end
end

local function make_adapter(o)
  if type(o.adapter) == "table" then return o.adapter end
  local cfg = M.adapter_config(o)
  if type(o.adapter) == "function" then return o.adapter(M.model(o), cfg) end
  local problem = setup_problem(o, cfg)
  if problem then error(problem, 0) end
  local ctor = providers.constructor_names(M.provider(o), "chat")
  return require("cloudflare.tanstack_ai")[ctor](M.model(o), cfg)
end

--- The adapter for the current options (made once per setup). nil, message when it cannot be made.
function M.adapter()
  if M._adapter then return M._adapter end
  local ok, err = loaded()
  if not ok then return nil, err end
  local made
  ok, made = pcall(make_adapter, M.options)
  if not ok then return nil, "setup{}: " .. tostring(made):gsub("^[^:]*:%d+: ", "") end
  if type(made) ~= "table" then return nil, "setup{ adapter = ... } did not give an adapter" end
  M._adapter = made
  return made
end

local function attach()
  if not stop_driver then
    stop_driver = require("tanstack.ai.async").attach_uv(uv)
  end
end

local function detach_if_polling()
  -- an old C core (no socket reporting) polls every 10 ms: only while something runs
  if stop_driver and next(jobs) == nil and require("tanstack.ai.async").attached() == "poll" then
    stop_driver()
    stop_driver = nil
  end
end

---------------------------------------------------------------------------------------------------
-- Buffers
---------------------------------------------------------------------------------------------------

-- vim.bo / vim.wo: on 0.7.2 and on releases where nvim_buf_set_option is deprecated
local function set_opt(buf, name, value) vim.bo[buf][name] = value end

local function scratch(name, filetype)
  local buf = api.nvim_create_buf(false, true)
  set_opt(buf, "bufhidden", "hide")
  set_opt(buf, "swapfile", false)
  set_opt(buf, "filetype", filetype or "markdown")
  pcall(api.nvim_buf_set_name, buf, name)
  return buf
end

local function window_of(buf)
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(w) == buf then return w end
  end
end

local SPLIT = { vsplit = "vsplit", tab = "tabnew", current = nil }

local function show(buf, open, focus)
  local w = window_of(buf)
  if w then
    if focus then api.nvim_set_current_win(w) end
    return w
  end
  local prev = api.nvim_get_current_win()
  local cmd = SPLIT[open]
  if cmd == nil and open ~= "current" then cmd = "split" end
  if cmd then vim.cmd(cmd) end
  local win = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, buf)
  vim.wo[win].wrap = true
  vim.wo[win].linebreak = true
  if not focus and open ~= "current" and open ~= "tab" and api.nvim_win_is_valid(prev) then
    api.nvim_set_current_win(prev)
  end
  return win
end

--- Append text at the end of buf (newlines split lines); windows whose cursor was on the last line follow.
local function append(buf, text)
  if not api.nvim_buf_is_valid(buf) or text == "" then return end
  text = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  local n = api.nvim_buf_line_count(buf)
  local last = api.nvim_buf_get_lines(buf, n - 1, n, false)[1] or ""
  local follow = {}
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(w) == buf and api.nvim_win_get_cursor(w)[1] == n then follow[#follow + 1] = w end
  end
  local lines = vim.split(last .. text, "\n", { plain = true })
  api.nvim_buf_set_lines(buf, n - 1, n, false, lines)
  local count = api.nvim_buf_line_count(buf)
  for _, w in ipairs(follow) do
    if api.nvim_win_is_valid(w) then api.nvim_win_set_cursor(w, { count, 0 }) end
  end
end
M._append = append

---------------------------------------------------------------------------------------------------
-- Requests: a job is one streamed chat (its fields: id, buf, task, stream, done, text, err, canceled, cancel)
---------------------------------------------------------------------------------------------------

-- What to do, in setup{} keys and the variables, for the failures that say it.
local function advice(err)
  if type(err) ~= "table" then return "" end
  local p = M.provider()
  if err.status == 401 or err.status == 403 then
    local var = p and p.key_env[1] or "CLOUDFLARE_API_KEY"
    return " (the key was refused: check " .. var .. " or setup{ config = { apiKey = ... } })"
  elseif err.kind == "connect" or err.kind == "dns" then
    return " (the base URL: CLOUDFLARE_API_BASE_URL or setup{ config = { apiBaseUrl = ... } })"
  end
  return ""
end

local function message_of(err)
  if type(err) == "table" then
    local mt = getmetatable(err)
    local a = advice(err)
    if a ~= "" then err.hint = nil end -- the plugin's advice (setup{} keys) replaces the library's hint
    if mt and mt.__tostring then return tostring(err) .. a end
    return tostring(err.message or vim.inspect(err)) .. a
  end
  return tostring(err)
end

local Job = {}
Job.__index = Job

function Job.new(req, o)
  next_id = next_id + 1
  local job = setmetatable({ id = next_id, buf = req.buf, started = uv.now(), req = req, o = o,
    pending = {}, flushing = false, received = 0, model = M.model(o) }, Job)
  job.cancel = function() return job:stop() end -- job.cancel(), as callers always wrote it
  job.flush_cb = function() job:flush() end
  -- a chat answer: its lines from req.answer_row on are the model's (header lines in them get escaped)
  job.checked = req.answer_row
  return job
end

-- The answer's complete lines (all = true: the last one too) as the buffer keeps them: a line the model wrote
-- as "## System" or "## You" is escaped so that it cannot open a section (lua/cf_ai/transcript.lua).
function Job:escape_headers(all)
  if not self.checked or not api.nvim_buf_is_valid(self.buf) then return end
  local n = api.nvim_buf_line_count(self.buf)
  local upto = all and n or n - 1
  if upto <= self.checked then return end
  local lines = api.nvim_buf_get_lines(self.buf, self.checked, upto, false)
  for i, line in ipairs(lines) do
    local safe = transcript.escape_line(line)
    if safe ~= line then
      api.nvim_buf_set_lines(self.buf, self.checked + i - 1, self.checked + i, false, { safe })
    end
  end
  self.checked = upto
end

-- Deltas are coalesced: one scheduled flush for however many arrived since the last one.
function Job:flush()
  self.flushing = false
  local text = table.concat(self.pending)
  self.pending = {}
  if text == "" then return end
  self.received = self.received + #text
  if self.buf then
    append(self.buf, text)
    self:escape_headers(false)
  end
  call_each("on_token", self.o.on_token, self.req.on_token, text, self)
end

---------------------------------------------------------------------------------------------------
-- Progress: a spinner at the end of the answer's header line (virtual text: not in the buffer's text) and
-- M.status() for a statusline
---------------------------------------------------------------------------------------------------

local SPINNER = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" }
local ns = api.nvim_create_namespace("cf_ai")
local frame = 1

local function progress_text(job)
  local secs = string.format("%.1fs", (uv.now() - job.started) / 1000)
  if job.received > 0 then
    return string.format("%s %s: receiving, %d bytes, %s", SPINNER[frame], tostring(job.model), job.received, secs)
  end
  return string.format("%s %s: waiting for the answer, %s", SPINNER[frame], tostring(job.model), secs)
end

function Job:show_progress()
  if not (self.buf and api.nvim_buf_is_valid(self.buf)) then return end
  local row = self.req.header_row or 0
  if self.mark then
    local pos = api.nvim_buf_get_extmark_by_id(self.buf, ns, self.mark, {})
    row = pos[1] or row
  end
  self.mark = api.nvim_buf_set_extmark(self.buf, ns, row, 0, { id = self.mark,
    virt_text = { { progress_text(self), "Comment" } }, virt_text_pos = "eol" })
end

function Job:start_progress()
  self.timer = uv.new_timer()
  self:show_progress()
  self.timer:start(100, 100, vim.schedule_wrap(function()
    if self.done or not self.timer then return end
    frame = frame % #SPINNER + 1
    self:show_progress()
  end))
end

function Job:stop_progress()
  if self.timer then
    self.timer:stop()
    self.timer:close()
    self.timer = nil
  end
  if self.mark and api.nvim_buf_is_valid(self.buf) then pcall(api.nvim_buf_del_extmark, self.buf, ns, self.mark) end
  self.mark = nil
end

--- For a statusline: the spinner and the model while a request runs, else "".
function M.status()
  local _, job = next(jobs)
  return job and progress_text(job) or ""
end

function Job:on_delta(delta)
  self.pending[#self.pending + 1] = delta
  if not self.flushing then
    self.flushing = true
    vim.schedule(self.flush_cb)
  end
end

-- The ai.chat options: setup's chat_options, the adapter, the messages, the system prompt.
local function chat_options(o, adapter, messages)
  local options = vim.tbl_extend("force", o.chat_options or {}, { adapter = adapter, messages = messages,
    stream = true })
  if o.system and not options.systemPrompts then options.systemPrompts = { o.system } end
  return options
end

-- The task's body: stream the chat, hand each text delta on; the whole text is the task's result.
function Job:run(options)
  local stream = require("tanstack.ai").chat(options)
  self.stream = stream
  if self.canceled then stream:cancel() end
  local parts = {}
  for ev in stream do
    if ev.type == "TEXT_MESSAGE_CONTENT" then
      parts[#parts + 1] = ev.delta
      self:on_delta(ev.delta)
    elseif ev.type == "RUN_ERROR" then
      self.error = ev.error or { message = ev.message, code = ev.code }
    end
  end
  return table.concat(parts)
end

-- An error goes into the buffer too (an empty answer section would say nothing), as a note the next turn skips.
function Job:write_error(err)
  if not (self.buf and api.nvim_buf_is_valid(self.buf)) then return end
  local n = api.nvim_buf_line_count(self.buf)
  local last = api.nvim_buf_get_lines(self.buf, n - 1, n, false)[1] or ""
  local lines = transcript.error_lines("cf-ai: " .. message_of(err))
  if last ~= "" then table.insert(lines, 1, "") end
  api.nvim_buf_set_lines(self.buf, n, n, false, lines)
end

-- On the main loop, after the task: the last text, then on_done / on_error (or the cancel note).
function Job:finish(t)
  jobs[self.id] = nil -- here, after the last text is in the buffer: the next prompt sees the whole answer
  self:flush()
  self:escape_headers(true)
  self:stop_progress()
  detach_if_polling()
  local err
  if self.canceled then
    if self.buf then append(self.buf, "\n\n[canceled]\n") end
    notify("request " .. self.id .. " canceled", vim.log.levels.INFO)
  elseif not t.ok then
    err = t.err
  else
    err = self.error
  end
  self.done, self.text = true, t.ok and t.result or nil
  if err then
    self.err = err
    self:write_error(err)
    if self.o.notify_errors then notify(message_of(err)) end
    call_each("on_error", self.o.on_error, self.req.on_error, err, self)
  elseif not self.canceled then
    call_each("on_done", self.o.on_done, self.req.on_done, self.text, self)
  end
end

function Job:stop()
  if self.canceled or self.task.done then return false end
  self.canceled = true
  if self.stream then self.stream:cancel() end
  require("tanstack.ai.async").wake() -- the task is waiting on a socket that will say nothing more
  return true
end

--- Stream a chat. req: messages, buf (answers are appended to it), on_token, on_done, on_error (each scheduled,
--- after the setup's own). Returns the job ({ id, buf, task, stream, cancel = function }), or nil, err when the
--- request cannot start (also shown with vim.notify).
function M.request(req)
  local adapter, aerr = M.adapter()
  if not adapter then
    notify(aerr)
    return nil, aerr
  end
  local o = M.options
  attach()
  local job = Job.new(req, o)
  local options = chat_options(o, adapter, req.messages)
  job.task = require("tanstack.ai.async").spawn(function() return job:run(options) end)
  job.task.on_done = function(t) vim.schedule(function() job:finish(t) end) end
  jobs[job.id] = job
  if job.buf then job:start_progress() end
  return job
end

--- Ask once; the answer streams into a new scratch buffer. Returns the job (job.buf is the buffer).
function M.ask(prompt, opts)
  opts = opts or {}
  if type(prompt) ~= "string" or prompt:match("^%s*$") then
    notify("ask: give a prompt (:CfAiAsk What is a monad?)")
    return nil
  end
  local o = M.options
  local buf = scratch(string.format("cf-ai://ask/%d", next_id + 1))
  api.nvim_buf_set_var(buf, "cf_ai_prompt", prompt)
  show(buf, opts.open or o.open, opts.focus == nil and o.focus or opts.focus)
  return M.request({ buf = buf, messages = { { role = "user", content = prompt } },
    on_token = opts.on_token, on_done = opts.on_done, on_error = opts.on_error })
end

--- The text of lines line1..line2 of buf; with a charwise visual selection on exactly those lines, only the
--- selected characters.
function M.selection_text(buf, line1, line2)
  local lines = api.nvim_buf_get_lines(buf, line1 - 1, line2, false)
  local s, e = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  if vim.fn.visualmode() == "v" and s[2] == line1 and e[2] == line2 and #lines > 0 then
    local last = lines[#lines]
    lines[#lines] = last:sub(1, math.min(e[3], #last))
    lines[1] = lines[1]:sub(s[3])
  end
  return table.concat(lines, "\n")
end

--- Ask about lines line1..line2 of the current buffer (a visual selection); the answer streams into a scratch
--- buffer.
function M.ask_selection(question, line1, line2, opts)
  local buf = api.nvim_get_current_buf()
  local text = M.selection_text(buf, line1, line2)
  if text:match("^%s*$") then
    notify("ask about the selection: the selection is empty")
    return nil
  end
  local ft = vim.bo[buf].filetype
  local name = vim.fn.fnamemodify(api.nvim_buf_get_name(buf), ":.")
  if question == nil or question:match("^%s*$") then question = "Explain this." end
  local prompt = string.format("%s\n\n%s```%s\n%s\n```", question,
    name ~= "" and ("From " .. name .. ", lines " .. line1 .. "-" .. line2 .. ":\n") or "", ft or "", text)
  return M.ask(prompt, opts)
end

---------------------------------------------------------------------------------------------------
-- Chat buffers: the buffer is the conversation ("## You" / "## Assistant" / "## System" sections)
---------------------------------------------------------------------------------------------------

local header_of = transcript.header_of

--- The messages of a chat buffer's text: sections under "## You", "## Assistant", "## System" (text above the
--- first one is a title). Empty sections are left out; header lines a model wrote (escaped in the buffer) stay
--- its text, and error notes are not sent (lua/cf_ai/transcript.lua).
M.parse_chat = transcript.parse

local function chat_title()
  local o = M.options
  if type(o.adapter) == "table" then return "# cf-ai chat" end
  return "# cf-ai chat: " .. (M.model(o) or "?") .. " (" .. tostring(o.provider) ..
    (o.gateway and (" via AI Gateway " .. o.gateway) or "") .. ")"
end

local current_chat
local chat_ids = {} -- buf -> the id its saved file is named after

---------------------------------------------------------------------------------------------------
-- Saved chats: each chat buffer is written to stdpath("data")/cf_ai/chats/<id>.md after every answer
---------------------------------------------------------------------------------------------------

--- Where saved chats go.
function M.chats_dir() return vim.fn.stdpath("data") .. "/cf_ai/chats" end

local function save_chat(buf)
  if not M.options.save_chats or not chat_ids[buf] or not api.nvim_buf_is_valid(buf) then return end
  local dir = M.chats_dir()
  vim.fn.mkdir(dir, "p")
  local ok, err = pcall(vim.fn.writefile, api.nvim_buf_get_lines(buf, 0, -1, false), dir .. "/" .. chat_ids[buf] .. ".md")
  if not ok then notify("cannot save the chat in " .. dir .. ": " .. tostring(err), vim.log.levels.WARN) end
end

--- The saved chats, newest first: { { id, path, title } } (title: the first prompt).
function M.saved_chats()
  local out = {}
  for _, path in ipairs(vim.fn.glob(M.chats_dir() .. "/*.md", false, true)) do
    local msgs = transcript.parse(vim.fn.readfile(path))
    local first = msgs[1] and msgs[1].content:match("[^\n]*") or ""
    out[#out + 1] = { id = vim.fn.fnamemodify(path, ":t:r"), path = path, title = first }
  end
  table.sort(out, function(a, b) return a.id > b.id end)
  return out
end

local set_keymaps -- (forward) the chat buffer's keymaps

local function new_chat_buffer(lines, id)
  local buf = scratch(string.format("cf-ai://chat/%d", vim.tbl_count(chat_bufs) + 1))
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  chat_bufs[buf] = true
  chat_ids[buf] = id or (os.date("%Y%m%d-%H%M%S") .. string.format("-%d", buf))
  set_keymaps(buf)
  current_chat = buf
  return buf
end

--- The chat buffer: the current buffer if it is one, else the last one used, else a new one (new = true: always
--- a new one).
function M.chat_buffer(new)
  local cur = api.nvim_get_current_buf()
  if not new and chat_bufs[cur] then return cur end
  if not new and current_chat and api.nvim_buf_is_valid(current_chat) then return current_chat end
  return new_chat_buffer({ chat_title(), "", "## You", "" })
end

--- Reopen a saved chat (its path, from M.saved_chats()) as the current chat buffer; answers keep saving to it.
function M.open_chat(path)
  local buf = new_chat_buffer(vim.fn.readfile(path), vim.fn.fnamemodify(path, ":t:r"))
  show(buf, M.options.open, true)
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(buf), 0 })
  return buf
end

--- Choose a saved chat with vim.ui.select and reopen it.
function M.pick_chat()
  local chats = M.saved_chats()
  if #chats == 0 then
    notify("no saved chats yet (" .. M.chats_dir() .. ")", vim.log.levels.INFO)
    return
  end
  vim.ui.select(chats, { prompt = "cf-ai chats", format_item = function(c) return c.id .. "  " .. c.title end },
    function(c) if c then M.open_chat(c.path) end end)
end

local function answering(buf)
  for _, j in pairs(jobs) do
    if j.buf == buf then return true end
  end
  return false
end

-- The line of the last "## You" header when no other section follows it, or nil.
local function last_you(lines)
  for i = #lines, 1, -1 do
    local role = header_of(lines[i])
    if role then return role == "user" and i or nil end
  end
end

-- The prompt becomes the last "## You" section (replacing what was typed there).
-- keep = true: after what is there (the context :CfAiAdd put in).
local function put_prompt(buf, prompt, keep)
  if not last_you(api.nvim_buf_get_lines(buf, 0, -1, false)) then append(buf, "\n\n## You\n") end
  local at = last_you(api.nvim_buf_get_lines(buf, 0, -1, false))
  if keep then at = api.nvim_buf_line_count(buf) end
  api.nvim_buf_set_lines(buf, at, -1, false, vim.split(prompt, "\n", { plain = true }))
end

-- Trailing blank lines go, then the answer section opens. Returns the rows (0-based) of its header and of the
-- answer's first line.
local function open_answer(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local n = #lines
  while n > 1 and lines[n]:match("^%s*$") do n = n - 1 end
  api.nvim_buf_set_lines(buf, n, -1, false, { "", "## Assistant", "" })
  return n + 1, n + 2
end

-- A new "## You" section; the cursor of a window on the conversation goes where the next prompt is typed.
local function next_prompt(buf)
  append(buf, "\n\n## You\n")
  local last = api.nvim_buf_line_count(buf)
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(w) == buf then api.nvim_win_set_cursor(w, { last, 0 }) end
  end
end

--- Continue the conversation of the chat buffer with prompt (nil: send what is typed under the last "## You").
--- The answer streams in under "## Assistant", then a new "## You" section waits for the next prompt.
function M.chat(prompt, opts)
  opts = opts or {}
  local o = M.options
  local buf = M.chat_buffer(opts.new)
  current_chat = buf
  show(buf, opts.open or o.open, opts.focus == nil and true or opts.focus)
  if answering(buf) then
    notify("chat: this conversation is still answering (:CfAiCancel stops it)", vim.log.levels.WARN)
    return nil
  end
  if prompt and not prompt:match("^%s*$") then put_prompt(buf, prompt, opts.keep) end
  local msgs = M.parse_chat(api.nvim_buf_get_lines(buf, 0, -1, false))
  if #msgs == 0 or msgs[#msgs].role ~= "user" then
    notify("chat: nothing to send: type a prompt under the last \"## You\" or give one (:CfAiChat Hello)",
      vim.log.levels.WARN)
    return nil
  end
  local header_row, answer_row = open_answer(buf)
  local function after(cb)
    return function(x, job)
      next_prompt(buf)
      save_chat(buf)
      if cb then cb(x, job) end
    end
  end
  return M.request({ buf = buf, messages = msgs, on_token = opts.on_token, on_done = after(opts.on_done),
    on_error = after(opts.on_error), header_row = header_row, answer_row = answer_row })
end

--- Cancel every running request (or only those answering into buf). Returns how many were cancelled.
function M.cancel(buf)
  local n = 0
  for _, job in pairs(jobs) do
    if (buf == nil or job.buf == buf) and job.cancel() then n = n + 1 end
  end
  if n == 0 then notify("nothing to cancel", vim.log.levels.INFO) end
  return n
end

--- The running jobs (id -> job).
function M.jobs() return jobs end

---------------------------------------------------------------------------------------------------
-- The chat buffer's keymaps, the model at runtime, context from other buffers
---------------------------------------------------------------------------------------------------

local function close_chat(buf)
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_is_valid(w) and api.nvim_win_get_buf(w) == buf and not pcall(api.nvim_win_close, w, false) then
      vim.cmd("enew") -- the last window: it shows another buffer instead
    end
  end
end

set_keymaps = function(buf)
  local km = M.options.keymaps
  if not km or not vim.keymap then return end
  local function map(modes, lhs, fn, desc)
    if lhs then vim.keymap.set(modes, lhs, fn, { buffer = buf, silent = true, desc = "cf-ai: " .. desc }) end
  end
  map({ "n", "i" }, km.send, function()
    vim.cmd("stopinsert")
    M.chat(nil, { focus = true })
  end, "send the prompt under the last ## You")
  map("n", km.close, function() close_chat(buf) end, "close the chat window")
  map("n", km.cancel, function() M.cancel(buf) end, "stop the answer")
end

--- The chat models to offer for the provider (Workers AI: the catalog's text-generation models) and the current.
function M.model_names()
  local p = M.provider()
  local names, seen = {}, {}
  local function add(n) if n and not seen[n] then seen[n] = true names[#names + 1] = n end end
  add(M.model())
  if p and p.name == "workers-ai" then
    local ok, catalog = pcall(require, "cloudflare.tanstack_ai.workers_ai.catalog")
    if ok then
      for name, e in pairs(catalog.models) do if e.task == "text-generation" then add(name) end end
    end
  elseif p then
    add(p.models.chat)
  end
  table.sort(names)
  return names
end

--- Switch the model (setup{ model }) for the next requests; the running ones keep theirs.
function M.set_model(name)
  if type(name) ~= "string" or name:match("^%s*$") then
    notify("model: give a model name (:CfAiModel <Tab> lists them)")
    return false
  end
  if type(M.options.adapter) == "table" then
    notify("model: setup{ adapter } gives a made adapter, whose model cannot change; give setup{ model } instead")
    return false
  end
  M.options.model = name
  M._adapter = nil
  notify("model: " .. name, vim.log.levels.INFO)
  return true
end

local function model_command(a)
  if a.args ~= "" then return M.set_model(a.args) end
  vim.ui.select(M.model_names(), { prompt = "cf-ai model (now " .. tostring(M.model()) .. ")" }, function(choice)
    if choice then M.set_model(choice) end
  end)
end

--- Add lines line1..line2 of the current buffer (whole = true: all of it) to the chat's prompt, as a fenced block
--- under the last "## You". Returns the chat buffer.
function M.add_context(line1, line2, whole)
  local src = api.nvim_get_current_buf()
  if chat_bufs[src] then
    notify("add: this is the chat buffer; run it from the buffer to add", vim.log.levels.WARN)
    return nil
  end
  local text = whole and table.concat(api.nvim_buf_get_lines(src, 0, -1, false), "\n") or
    M.selection_text(src, line1, line2)
  local name = vim.fn.fnamemodify(api.nvim_buf_get_name(src), ":.")
  local where = (name ~= "" and name or "[No Name]") .. (whole and "" or (", lines " .. line1 .. "-" .. line2))
  local buf = M.chat_buffer(false)
  if not last_you(api.nvim_buf_get_lines(buf, 0, -1, false)) then append(buf, "\n\n## You\n") end
  local lines = { "From " .. where .. ":", "```" .. (vim.bo[src].filetype or "") }
  vim.list_extend(lines, vim.split(text, "\n", { plain = true }))
  vim.list_extend(lines, { "```", "" })
  -- on the empty line right under "## You" (where a prompt is typed), else after what is there
  local n = api.nvim_buf_line_count(buf)
  local tail = api.nvim_buf_get_lines(buf, math.max(0, n - 2), n, false)
  local at = (#tail == 2 and tail[2] == "" and header_of(tail[1]) == "user") and n - 1 or n
  api.nvim_buf_set_lines(buf, at, -1, false, lines)
  show(buf, M.options.open, true)
  api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(buf), 0 })
  return buf
end

---------------------------------------------------------------------------------------------------
-- Commands (plugin/cf_ai.lua calls this)
---------------------------------------------------------------------------------------------------

local function with_prompt(args, label, fn)
  if args ~= "" then return fn(args) end
  vim.ui.input({ prompt = label .. ": " }, function(input)
    if input and input ~= "" then fn(input) end
  end)
end

local function chat_command(a)
  if a.range > 0 then
    if not M.add_context(a.line1, a.line2, false) then return end
    if a.args == "" then return end -- the selection waits in the prompt; type the question and send
  end
  if a.args ~= "" then return M.chat(a.args, { new = a.bang and a.range == 0, keep = a.range > 0 }) end
  local buf = M.chat_buffer(a.bang)
  local msgs = M.parse_chat(api.nvim_buf_get_lines(buf, 0, -1, false))
  if #msgs > 0 and msgs[#msgs].role == "user" then return M.chat(nil, { new = a.bang }) end
  return with_prompt("", "Chat", function(p) M.chat(p, { new = a.bang }) end)
end

function M.create_commands()
  M._commands = true
  local cmd = api.nvim_create_user_command
  cmd("CfAiAsk", function(a)
    if a.range == 2 then return M.ask_selection(a.args, a.line1, a.line2) end
    with_prompt(a.args, "Ask", function(p) M.ask(p) end)
  end, { nargs = "*", range = true, desc = "Ask the model; the answer streams into a scratch buffer" })
  cmd("CfAiSelection", function(a)
    M.ask_selection(a.args, a.line1, a.line2)
  end, { nargs = "*", range = true, desc = "Ask about the selected lines" })
  cmd("CfAiChat", chat_command, { nargs = "*", bang = true, range = true,
    desc = "Continue the chat buffer's conversation (! starts a new one; a range adds those lines first)" })
  cmd("CfAiAdd", function(a) M.add_context(a.line1, a.line2, a.range == 0) end,
    { range = true, desc = "Add the selection (or the whole buffer) to the chat's prompt" })
  cmd("CfAiModel", model_command, { nargs = "?", desc = "Switch the model (no argument: choose from a list)",
    complete = function(lead)
      return vim.tbl_filter(function(n) return n:find(lead, 1, true) == 1 end, M.model_names())
    end })
  cmd("CfAiChats", function() M.pick_chat() end, { nargs = 0, desc = "Reopen a saved chat" })
  cmd("CfAiCancel", function() M.cancel() end, { nargs = 0, desc = "Cancel the running requests" })
end

return M
