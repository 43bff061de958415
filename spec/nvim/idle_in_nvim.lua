-- Run inside `nvim --headless` (spec/nvim/idle_spec.lua): get into the state to measure, write
-- "<pid> <note>" to $CF_TEST_OUT, then sit idle until killed (or CF_IDLE_EXIT_MS, a safety net).
--   CF_IDLE_MODE=bare     Neovim alone (started without the plugin)
--   CF_IDLE_MODE=plugin   the plugin loaded, one answer streamed, the socket-driven scheduler still attached
--   CF_IDLE_MODE=poll     the same with the scheduler forced to poll every 10 ms (what attach_uv did before)
local mode = os.getenv("CF_IDLE_MODE")
local uv = vim.loop

local function ready(note)
  local f = assert(io.open(os.getenv("CF_TEST_OUT"), "w"))
  f:write(vim.fn.getpid() .. " " .. note)
  f:close()
end

local guard = uv.new_timer()
guard:start(tonumber(os.getenv("CF_IDLE_EXIT_MS") or "20000"), 0, vim.schedule_wrap(function() vim.cmd("qall!") end))

if mode == "bare" then
  ready("bare")
  return
end

local last_note
vim.notify = function(msg) last_note = msg end -- luacheck: ignore 122
local stop_poll
if mode == "poll" then stop_poll = require("tanstack.ai.async").attach_uv(uv, { poll = 10 }) end
local plugin = require("cf_ai")
local job = plugin.ask("warm up", { on_done = function()
  local s = require("tanstack.ai.async").stats()
  ready(string.format("%s wakeups=%d sockets=%d", s.kind, s.wakeups, s.sockets))
end, on_error = function(err) ready("error " .. tostring(err)) end })
if not job then ready("error no job: " .. tostring(last_note)) end
_G.cf_idle_keep = stop_poll
