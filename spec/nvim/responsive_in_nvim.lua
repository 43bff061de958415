-- Run inside `nvim --headless` with the plugin (spec/nvim/responsive_spec.lua): while :CfAiAsk streams a slow
-- answer, keys typed into another buffer are handled and the main loop runs scheduled work on time. Nothing
-- here waits with vim.wait: the editor's own main loop runs, as for a user. Writes a JSON report and quits.
local cjson = require("cjson")
local api = vim.api
local uv = vim.loop
local out_path = os.getenv("CF_TEST_OUT")

local plugin = require("cf_ai")
vim.cmd("CfAiAsk stream slowly please")
local job
for _, j in pairs(plugin.jobs()) do job = j end
local typing = api.nvim_get_current_buf() -- the cursor stayed here: the user keeps typing
local t0 = uv.now()

local r = { keys_sent = 0, lateness = {}, answer_lengths = {}, typed_during = nil, stream_ms = nil }

-- keystrokes arrive like a terminal's, every 30 ms: "ix<Esc>" appends an x
local keys = uv.new_timer()
keys:start(30, 30, function()
  if job.done then return end
  r.keys_sent = r.keys_sent + 1
  api.nvim_input("Ax<Esc>")
end)

-- how late does work scheduled on the main loop run (every 10 ms)?
local probe = uv.new_timer()
probe:start(10, 10, function()
  local asked = uv.hrtime()
  vim.schedule(function() r.lateness[#r.lateness + 1] = (uv.hrtime() - asked) / 1e6 end)
end)

-- what the answer buffer holds over time, and the end of the stream
local watch = uv.new_timer()
watch:start(25, 25, vim.schedule_wrap(function()
  local text = table.concat(api.nvim_buf_get_lines(job.buf, 0, -1, false), "\n")
  if r.answer_lengths[#r.answer_lengths] ~= #text then r.answer_lengths[#r.answer_lengths + 1] = #text end
  if (job.done or uv.now() - t0 > 15000) and not r.stream_ms then
    r.stream_ms = uv.now() - t0
    r.typed_during = select(2, table.concat(api.nvim_buf_get_lines(typing, 0, -1, false)):gsub("x", ""))
    r.answer = text
    r.done = job.done == true
    for _, t in ipairs({ keys, probe, watch }) do t:stop() t:close() end
    table.sort(r.lateness)
    r.lateness_max = r.lateness[#r.lateness]
    r.lateness_p50 = r.lateness[math.floor(#r.lateness / 2) + 1]
    r.lateness_n = #r.lateness
    r.lateness = nil
    r.mode = api.nvim_get_mode().mode
    local f = assert(io.open(out_path, "w"))
    f:write(cjson.encode(r))
    f:close()
    vim.cmd("qall!")
  end
end))
