-- Neovim stays responsive while an answer streams (socket-driven wakeups on the editor's own loop), and an idle
-- editor with the plugin loaded does not wake: CPU time and wakeups over a few idle seconds, against the same
-- editor without the plugin (and, to show the measurement catches it, with the old 10 ms polling).
local emulator = require("helpers.emulator")
local shell = require("helpers.shell")
local nvim = require("nvim.helper")

local IDLE_S = 2

-- CPU ms (user + system, all threads) and context switches (voluntary: the process went to sleep and was woken)
local function sample(pid)
  local stat = shell.read_file("/proc/" .. pid .. "/stat")
  if not stat then return nil end
  local fields = {}
  for f in stat:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = f end
  local hz = tonumber((shell.run("getconf CLK_TCK"):gsub("%s+", ""))) or 100
  local cpu_ms = (tonumber(fields[12]) + tonumber(fields[13])) * 1000 / hz -- utime, stime (fields 14, 15)
  local switches = 0
  for line in shell.run("cat /proc/" .. pid .. "/task/*/status 2>/dev/null"):gmatch("[^\n]+") do
    local v = line:match("^voluntary_ctxt_switches:%s*(%d+)")
    if v then switches = switches + tonumber(v) end
  end
  return { cpu_ms = cpu_ms, switches = switches }
end

describe("Neovim plugin, responsiveness", function()
  local emu
  before_each(function()
    if not nvim.have_nvim() then pending("nvim is not installed") end
    emu = emulator.shared()
  end)

  it("keeps handling keys and scheduled work while an answer streams", function()
    if not nvim.have_nvim() then return end
    local words = {}
    for i = 1, 30 do words[i] = "word" .. i end
    emu:reset()
    emu:next({ drip_ms = 40, text = table.concat(words, " ") })
    local r = nvim.run("responsive_in_nvim.lua", nvim.env(emu))
    print(string.format("\n  nvim, streaming 30 deltas 40 ms apart: %d ms; %d of %d keystrokes handled during the stream;" ..
      " scheduled work ran %.1f ms late at worst (median %.1f, %d probes); the answer grew in %d steps",
      r.stream_ms, r.typed_during, r.keys_sent, r.lateness_max, r.lateness_p50, r.lateness_n, #r.answer_lengths))
    assert.is_true(r.done)
    assert.equal(table.concat(words, " "), r.answer)
    assert.is_true(r.stream_ms >= 1000, "the stream was not slow: " .. r.stream_ms)
    -- keys typed during the stream were handled during it (all but the last one or two, still in flight)
    assert.is_true(r.keys_sent >= 25, "keys sent: " .. r.keys_sent)
    assert.is_true(r.typed_during >= r.keys_sent - 2, r.typed_during .. " of " .. r.keys_sent)
    assert.is_true(r.lateness_n >= 50)
    assert.is_true(r.lateness_max < 200, "scheduled work waited " .. r.lateness_max .. " ms")
    -- the buffer filled as the deltas came, not at the end
    assert.is_true(#r.answer_lengths >= 10, "answer lengths seen: " .. #r.answer_lengths)
    assert.equal("n", r.mode)
  end)

  it("an idle editor with the plugin loaded does not wake (CPU time and wakeups over a few idle seconds)", function()
    if not nvim.have_nvim() then return end
    local modes = { "bare", "plugin", "poll" }
    local procs = {}
    for _, mode in ipairs(modes) do
      local out = os.tmpname()
      os.remove(out)
      local env = nvim.env(emu, { CF_IDLE_MODE = mode, CF_TEST_OUT = out, CF_IDLE_EXIT_MS = "15000" })
      local cmd = nvim.command("idle_in_nvim.lua", env, { plugin = mode ~= "bare" })
      shell.exec_ok("cd " .. shell.quote(nvim.root()) .. " && (" .. cmd .. " >/dev/null 2>&1 </dev/null &)")
      procs[mode] = { out = out }
    end
    -- each writes "<pid> <state>" once it is where we measure
    local deadline = os.time() + 15
    for _, mode in ipairs(modes) do
      local p = procs[mode]
      repeat
        local text = shell.read_file(p.out)
        if text and text ~= "" then
          p.pid, p.note = text:match("^(%d+) (.*)$")
        else
          shell.sleep(0.05)
        end
      until p.pid or os.time() > deadline
      assert.is_string(p.pid, mode .. ": nvim did not get ready")
    end
    shell.sleep(0.3) -- let the startup settle
    local before = {}
    for _, mode in ipairs(modes) do before[mode] = sample(procs[mode].pid) end
    shell.sleep(IDLE_S)
    local lines = { string.format("\n  idle Neovim over %d s (CPU time of the process, voluntary context switches = wakeups):",
      IDLE_S) }
    local used = {}
    for _, mode in ipairs(modes) do
      local p = procs[mode]
      local after = sample(p.pid)
      shell.exec_ok("kill " .. p.pid .. " 2>/dev/null")
      os.remove(p.out)
      assert.is_table(after, mode .. ": nvim exited early")
      used[mode] = { cpu_ms = after.cpu_ms - before[mode].cpu_ms, switches = after.switches - before[mode].switches }
      lines[#lines + 1] = string.format("    %-7s %5.0f ms CPU, %5d wakeups   (%s)", mode, used[mode].cpu_ms,
        used[mode].switches, p.note)
    end
    print(table.concat(lines, "\n"))
    assert.truthy(procs.plugin.note:find("^sockets"), procs.plugin.note)
    assert.truthy(procs.poll.note:find("^poll"), procs.poll.note)
    -- the plugin's editor sleeps like the bare one; the polling one wakes ~100 times a second
    assert.is_true(used.plugin.switches <= used.bare.switches + 10,
      "plugin woke " .. used.plugin.switches .. " times, bare " .. used.bare.switches)
    assert.is_true(used.plugin.cpu_ms <= used.bare.cpu_ms + 20)
    assert.is_true(used.poll.switches >= used.bare.switches + 50 * IDLE_S,
      "the polling editor woke only " .. used.poll.switches .. " times: the measurement would not catch polling")
  end)
end)
