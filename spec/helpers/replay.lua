-- Replay a recorded SSE byte stream through core.sse_parser into a wire format's decoder (turn.decoder, the
-- sans-I/O half of turn.lua), and compare event lists whatever the chunking.
local core = require("tanstack.ai.core")
local turn = require("tanstack.ai.turn")
local luassert = require("luassert")

local M = {}

local function this_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) == "@" then src = src:sub(2) end
  return src:match("^(.*)/[^/]*$") or "."
end

M.fixtures_dir = this_dir() .. "/../fixtures"

--- The bytes of spec/fixtures/<name>.
function M.fixture(name)
  return M.read(M.fixtures_dir .. "/" .. name)
end

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

--- A decoder for a wire format (tanstack/ai/formats/*) emitting into `out`; RUN_STARTED already sent, as
--- turn.lua does when an answer arrives.
function M.decoder(format, out, ctx)
  local c = { format = format, model = "m", runId = "run-1", threadId = "thread-1" }
  for k, v in pairs(ctx or {}) do c[k] = v end
  c.emit = function(e) out[#out + 1] = e end
  return turn.decoder(c)
end

--- Feed `chunks` (strings) to a fresh parser and decoder, one read per chunk, as turn.lua does (with the
--- format's pick shapes; opts.plain: without them, every event decoded in full). Returns the events and how many
--- the parser picked.
function M.events(format, chunks, ctx, opts)
  local out = {}
  local dec = M.decoder(format, out, ctx)
  dec.out:start()
  local p = (opts and opts.plain) and core.sse_parser() or dec:sse_parser()
  local picked = 0
  local feed = dec.feed
  dec.feed = function(self, evs)
    for _, e in ipairs(evs) do if type(e) == "string" then picked = picked + 1 end end
    return feed(self, evs)
  end
  for _, chunk in ipairs(chunks) do
    if dec:finished() then break end
    dec:feed(assert(p:feed(chunk)))
  end
  if not dec:finished() then dec:feed(assert(p:finish())) end
  dec:finish()
  return out, picked
end

-- deep copy without timestamps and with generated ids replaced by their first-seen order
local ID_FIELDS = { messageId = true, toolCallId = true, stepId = true, parentMessageId = true }

function M.canon(evs)
  local ids, n = {}, 0
  local function id(v)
    if ids[v] == nil then
      n = n + 1
      ids[v] = "id" .. n
    end
    return ids[v]
  end
  local function copy(v, key)
    if type(v) ~= "table" then
      if ID_FIELDS[key] and type(v) == "string" then return id(v) end
      return v
    end
    local o = {}
    for k, x in pairs(v) do
      if k ~= "timestamp" then o[k] = copy(x, k) end
    end
    return o
  end
  local out = {}
  for i, e in ipairs(evs) do out[i] = copy(e) end
  return out
end

--- The canonical events for the whole stream, then assert that every two-piece split and a byte-by-byte
--- feed give the same. Returns the events of the whole-stream run.
function M.check_all_splits(mod, bytes, ctx)
  local whole = M.events(mod, { bytes }, ctx)
  local expected = M.canon(whole)
  for k = 0, #bytes do
    local got = M.canon(M.events(mod, { bytes:sub(1, k), bytes:sub(k + 1) }, ctx))
    luassert.same(expected, got, "split at byte " .. k)
  end
  local bytewise = {}
  for i = 1, #bytes do bytewise[i] = bytes:sub(i, i) end
  luassert.same(expected, M.canon(M.events(mod, bytewise, ctx)), "byte by byte")
  return whole
end

function M.types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

function M.of_type(evs, ty)
  local out = {}
  for _, e in ipairs(evs) do if e.type == ty then out[#out + 1] = e end end
  return out
end

function M.joined(evs, ty, field)
  local s = {}
  for _, e in ipairs(evs) do if e.type == ty then s[#s + 1] = e[field or "delta"] end end
  return table.concat(s)
end

return M
