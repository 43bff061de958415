-- Neovim plugin of cloudflare-tanstack-ai: ask, chat, ask about the selection, cancel.
--
--   require("cloudflare_tanstack_ai").setup({
--     provider = "workers-ai",        -- or openai, anthropic, gemini, grok, openrouter (through AI Gateway)
--     model = "@cf/meta/llama-4-scout-17b-16e-instruct",
--     config = {},                    -- the adapter's config; CLOUDFLARE_* environment variables fill the rest
--   })
--
-- Requests run as tanstack.ai.async tasks on the editor's own libuv loop (vim.uv, vim.loop on 0.9 and older),
-- woken by the sockets: nothing runs while nothing streams. Every buffer update and every callback the user
-- gives runs through vim.schedule, on the main loop, where the whole editor API is allowed (no E5560).
-- Errors are shown with vim.notify, never swallowed.
-- luacheck: globals vim (options are set through vim.bo / vim.wo)

-- Outside Neovim (a rock's smoke test, plain Lua) the module loads, and each of its functions says where it runs.
if type(vim) ~= "table" then
  return setmetatable({}, { __index = function(_, k)
    error("cloudflare_tanstack_ai." .. tostring(k) .. ": this is the Neovim plugin: use it inside Neovim", 2)
  end })
end

local M = {}

local api = vim.api
local uv = vim.uv or vim.loop

local PROVIDERS = {
  ["workers-ai"] = { ctor = "create_workers_ai_chat", model = "@cf/meta/llama-4-scout-17b-16e-instruct" },
  openai = { ctor = "create_openai_chat", model = "gpt-4o-mini", key = "OPENAI_API_KEY" },
  anthropic = { ctor = "create_anthropic_chat", model = "claude-sonnet-4-5", key = "ANTHROPIC_API_KEY" },
  gemini = { ctor = "create_gemini_chat", model = "gemini-2.5-flash", key = "GEMINI_API_KEY" },
  grok = { ctor = "create_grok_chat", model = "grok-4", key = "XAI_API_KEY" },
  openrouter = { ctor = "create_openrouter_chat", model = "openai/gpt-4o-mini", key = "OPENROUTER_API_KEY" },
}
M.PROVIDERS = PROVIDERS

local DEFAULTS = {
  provider = "workers-ai",
  model = nil,         -- default: the provider's (PROVIDERS[provider].model)
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
}

local KNOWN = {}
for _, k in ipairs({ "provider", "model", "gateway", "config", "adapter", "system", "chat_options", "open", "focus",
  "on_token", "on_done", "on_error", "notify_errors" }) do KNOWN[k] = true end

M.options = vim.deepcopy(DEFAULTS)
local jobs = {}        -- id -> job, while running
local next_id = 0
local stop_driver      -- async.attach_uv's stop function
local chat_bufs = {}   -- buf -> true

local function notify(msg, level)
  vim.notify("cloudflare-tanstack-ai: " .. msg, level or vim.log.levels.ERROR)
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

function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("cloudflare_tanstack_ai.setup: expected a table", 2) end
  for k in pairs(opts) do
    if not KNOWN[k] then error("cloudflare_tanstack_ai.setup: unknown option '" .. tostring(k) .. "'", 2) end
  end
  local o = vim.tbl_extend("force", vim.deepcopy(DEFAULTS), opts)
  if not o.adapter and not PROVIDERS[o.provider] then
    local names = vim.tbl_keys(PROVIDERS)
    table.sort(names)
    error("cloudflare_tanstack_ai.setup: unknown provider '" .. tostring(o.provider) .. "' (one of " ..
      table.concat(names, ", ") .. ")", 2)
  end
  M.options = o
  M._adapter = nil
  -- installed as a rock without a plugin manager, plugin/ is not sourced: setup makes the commands
  if not M._commands then M.create_commands() end
  return M
end

--- The adapter config the options describe: setup's config, the gateway id, and for a third-party provider its
--- key from the provider's usual environment variable; CLOUDFLARE_* variables fill the rest (in the library).
function M.adapter_config(o)
  o = o or M.options
  local cfg = vim.deepcopy(o.config or {})
  local p = PROVIDERS[o.provider]
  if o.gateway and cfg.gatewayId == nil and cfg.gateway_id == nil then cfg.gatewayId = o.gateway end
  local gw = cfg.gatewayId or cfg.gateway_id
  if gw and cfg.binding == nil then
    if cfg.accountId == nil and cfg.account_id == nil then cfg.accountId = os.getenv("CLOUDFLARE_ACCOUNT_ID") end
    local cf_key = os.getenv("CLOUDFLARE_API_KEY") or os.getenv("CLOUDFLARE_API_TOKEN")
    if o.provider == "workers-ai" then
      if cfg.apiKey == nil and cfg.api_key == nil then cfg.apiKey = cf_key end
    else
      if cfg.cfApiKey == nil and cfg.cf_api_key == nil then cfg.cfApiKey = cf_key end
      if cfg.apiKey == nil and cfg.api_key == nil and p and p.key then cfg.apiKey = os.getenv(p.key) end
    end
  end
  return cfg
end

--- The adapter for the current options (made once per setup). nil, message when it cannot be made.
function M.adapter()
  if M._adapter then return M._adapter end
  local ok, err = loaded()
  if not ok then return nil, err end
  local o = M.options
  local made
  ok, err = pcall(function()
    if type(o.adapter) == "table" then
      made = o.adapter
    else
      local cf = require("cloudflare.tanstack_ai")
      local model = o.model or (PROVIDERS[o.provider] and PROVIDERS[o.provider].model)
      if type(o.adapter) == "function" then
        made = o.adapter(model, M.adapter_config(o))
      else
        made = cf[PROVIDERS[o.provider].ctor](model, M.adapter_config(o))
      end
    end
  end)
  if not ok then return nil, tostring(err):gsub("^[^:]*:%d+: ", "") end
  if type(made) ~= "table" then return nil, "options.adapter did not give an adapter" end
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

local function show(buf, open, focus)
  for _, w in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(w) == buf then
      if focus then api.nvim_set_current_win(w) end
      return w
    end
  end
  local prev = api.nvim_get_current_win()
  if open == "vsplit" then
    vim.cmd("vsplit")
  elseif open == "tab" then
    vim.cmd("tabnew")
  elseif open ~= "current" then
    vim.cmd("split")
  end
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
-- Requests
---------------------------------------------------------------------------------------------------

local function message_of(err)
  if type(err) == "table" then
    local mt = getmetatable(err)
    if mt and mt.__tostring then return tostring(err) end
    return tostring(err.message or vim.inspect(err))
  end
  return tostring(err)
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
  local ai = require("tanstack.ai")
  local async = require("tanstack.ai.async")
  attach()
  next_id = next_id + 1
  local job = { id = next_id, buf = req.buf, started = uv.now() }

  -- deltas are coalesced: one scheduled flush for however many arrived since the last one
  local pending, flushing = {}, false
  local function flush()
    flushing = false
    local text = table.concat(pending)
    pending = {}
    if text == "" then return end
    if job.buf then append(job.buf, text) end
    call_each("on_token", o.on_token, req.on_token, text, job)
  end
  local function on_delta(delta)
    pending[#pending + 1] = delta
    if not flushing then
      flushing = true
      vim.schedule(flush)
    end
  end

  local options = vim.tbl_extend("force", o.chat_options or {}, {
    adapter = adapter,
    messages = req.messages,
    stream = true,
  })
  if o.system and not options.systemPrompts then options.systemPrompts = { o.system } end

  job.task = async.spawn(function()
    local stream = ai.chat(options)
    job.stream = stream
    if job.canceled then stream:cancel() end
    local parts = {}
    for ev in stream do
      if ev.type == "TEXT_MESSAGE_CONTENT" then
        parts[#parts + 1] = ev.delta
        on_delta(ev.delta)
      elseif ev.type == "RUN_ERROR" then
        job.error = ev.error or { message = ev.message, code = ev.code }
      end
    end
    return table.concat(parts)
  end)
  job.task.on_done = function(t)
    vim.schedule(function()
      jobs[job.id] = nil -- here, after the last text is in the buffer: the next prompt sees the whole answer
      flush()
      detach_if_polling()
      local err
      if job.canceled then
        if job.buf then append(job.buf, "\n\n[canceled]\n") end
        notify("request " .. job.id .. " canceled", vim.log.levels.INFO)
        err = nil
      elseif not t.ok then
        err = t.err
      elseif job.error then
        err = job.error
      end
      job.done, job.text = true, t.ok and t.result or nil
      if err then
        job.err = err
        if o.notify_errors then notify(message_of(err)) end
        call_each("on_error", o.on_error, req.on_error, err, job)
      elseif not job.canceled then
        call_each("on_done", o.on_done, req.on_done, job.text, job)
      end
    end)
  end
  function job.cancel()
    if job.canceled or job.task.done then return false end
    job.canceled = true
    if job.stream then job.stream:cancel() end
    async.wake() -- the task is waiting on a socket that will say nothing more
    return true
  end
  jobs[job.id] = job
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

local HEADERS = { ["## You"] = "user", ["## Assistant"] = "assistant", ["## System"] = "system" }

--- The messages of a chat buffer's text: sections under "## You", "## Assistant", "## System" (text above the
--- first one is a title). Empty sections are left out.
function M.parse_chat(lines)
  local msgs, cur = {}, nil
  local function close()
    if cur then
      local text = table.concat(cur.lines, "\n"):gsub("^%s+", ""):gsub("%s+$", "")
      if text ~= "" then msgs[#msgs + 1] = { role = cur.role, content = text } end
    end
  end
  for _, line in ipairs(lines) do
    local role = HEADERS[line:gsub("%s+$", "")]
    if role then
      close()
      cur = { role = role, lines = {} }
    elseif cur then
      cur.lines[#cur.lines + 1] = line
    end
  end
  close()
  return msgs
end

local function chat_title()
  local o = M.options
  if type(o.adapter) == "table" then return "# cf-ai chat" end
  local model = o.model or (PROVIDERS[o.provider] and PROVIDERS[o.provider].model) or "?"
  return "# cf-ai chat: " .. model .. " (" .. tostring(o.provider) .. (o.gateway and (" via AI Gateway " .. o.gateway) or "") .. ")"
end

local current_chat

--- The chat buffer: the current buffer if it is one, else the last one used, else a new one (new = true: always
--- a new one).
function M.chat_buffer(new)
  local cur = api.nvim_get_current_buf()
  if not new and chat_bufs[cur] then return cur end
  if not new and current_chat and api.nvim_buf_is_valid(current_chat) then return current_chat end
  local buf = scratch(string.format("cf-ai://chat/%d", vim.tbl_count(chat_bufs) + 1))
  api.nvim_buf_set_lines(buf, 0, -1, false, { chat_title(), "", "## You", "" })
  chat_bufs[buf] = true
  current_chat = buf
  return buf
end

--- Continue the conversation of the chat buffer with prompt (nil: send what is typed under the last "## You").
--- The answer streams in under "## Assistant", then a new "## You" section waits for the next prompt.
function M.chat(prompt, opts)
  opts = opts or {}
  local o = M.options
  local buf = M.chat_buffer(opts.new)
  current_chat = buf
  show(buf, opts.open or o.open, opts.focus == nil and true or opts.focus)
  for _, j in pairs(jobs) do
    if j.buf == buf then
      notify("chat: this conversation is still answering (:CfAiCancel stops it)", vim.log.levels.WARN)
      return nil
    end
  end
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local last_you
  for i = #lines, 1, -1 do
    if lines[i]:gsub("%s+$", "") == "## You" then last_you = i break end
    if HEADERS[lines[i]:gsub("%s+$", "")] then break end
  end
  if prompt and not prompt:match("^%s*$") then
    if not last_you then
      append(buf, "\n\n## You\n")
    end
    -- the prompt becomes the last "## You" section (replacing what was typed there)
    lines = api.nvim_buf_get_lines(buf, 0, -1, false)
    for i = #lines, 1, -1 do
      if lines[i]:gsub("%s+$", "") == "## You" then last_you = i break end
    end
    local pl = vim.split(prompt, "\n", { plain = true })
    api.nvim_buf_set_lines(buf, last_you, -1, false, pl)
  end
  local msgs = M.parse_chat(api.nvim_buf_get_lines(buf, 0, -1, false))
  if #msgs == 0 or msgs[#msgs].role ~= "user" then
    notify("chat: nothing to send: type a prompt under the last \"## You\" or give one (:CfAiChat Hello)",
      vim.log.levels.WARN)
    return nil
  end
  -- trim trailing blank lines, then open the answer section
  lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local n = #lines
  while n > 1 and lines[n]:match("^%s*$") do n = n - 1 end
  api.nvim_buf_set_lines(buf, n, -1, false, { "", "## Assistant", "" })
  local function next_prompt()
    append(buf, "\n\n## You\n")
    -- the cursor of a window on the conversation goes where the next prompt is typed
    local last = api.nvim_buf_line_count(buf)
    for _, w in ipairs(api.nvim_list_wins()) do
      if api.nvim_win_get_buf(w) == buf then api.nvim_win_set_cursor(w, { last, 0 }) end
    end
  end
  return M.request({ buf = buf, messages = msgs,
    on_token = opts.on_token,
    on_done = function(text, job)
      next_prompt()
      if opts.on_done then opts.on_done(text, job) end
    end,
    on_error = function(err, job)
      next_prompt()
      if opts.on_error then opts.on_error(err, job) end
    end,
  })
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
-- Commands (plugin/cloudflare_tanstack_ai.lua calls this)
---------------------------------------------------------------------------------------------------

local function with_prompt(args, label, fn)
  if args ~= "" then return fn(args) end
  vim.ui.input({ prompt = label .. ": " }, function(input)
    if input and input ~= "" then fn(input) end
  end)
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
  cmd("CfAiChat", function(a)
    if a.args == "" then
      local buf = M.chat_buffer(a.bang)
      local msgs = M.parse_chat(api.nvim_buf_get_lines(buf, 0, -1, false))
      if #msgs > 0 and msgs[#msgs].role == "user" then return M.chat(nil, { new = a.bang }) end
      return with_prompt("", "Chat", function(p) M.chat(p, { new = a.bang }) end)
    end
    M.chat(a.args, { new = a.bang })
  end, { nargs = "*", bang = true, desc = "Continue the chat buffer's conversation (! starts a new one)" })
  cmd("CfAiCancel", function() M.cancel() end, { nargs = 0, desc = "Cancel the running requests" })
end

return M
