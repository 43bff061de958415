-- A relay writes the events that arrived in one read of the model stream as one piece. Checked here:
--   * pending() along the chain (turn -> ai.chat's engine -> the router's stream): next() hands out that many events
--     without reading, and the counts are what the reads hold;
--   * the coalesced output (wire.encoded's and openai_compat.to_chunks' batches) is byte for byte the per-event
--     output, one piece per read, error endings included;
--   * ngx_response writes one piece (print + flush) per read.
local json = require("tanstack.ai.json")
local wire = require("tanstack.ai.wire")
local compat = require("tanstack.ai.openai_compat")
local turn = require("tanstack.ai.turn")
local formats = require("tanstack.ai.formats")
local events = require("tanstack.ai.events")
local ai = require("tanstack.ai")
local router = require("cloudflare.tanstack_ai.router")
local fixtures = require("openresty.wire_fixtures")

local function sse(v) return "data: " .. (type(v) == "string" and v or json.encode(v)) .. "\n\n" end
local function chunk(delta, finish)
  return sse({ id = "c1", object = "chat.completion.chunk", created = 1, model = "m",
    choices = { { index = 0, delta = delta, finish_reason = finish or json.null } } })
end
local function text(d) return chunk({ content = d }) end
local function call_start(id, name) return chunk({ tool_calls = { { index = 0, id = id, type = "function",
  ["function"] = { name = name, arguments = "" } } } }) end
local function call_args(a) return chunk({ tool_calls = { { index = 0, ["function"] = { arguments = a } } } }) end
local DONE = sse("[DONE]")

-- Scripted model turns in the OpenAI wire format: turns[i] is the list of reads of turn i (each a string).
-- reads.n counts the reads made so far.
local function scripted(turns)
  local reads = { n = 0 }
  local k = 0
  local adapter = { model = "m", name = "scripted" }
  function adapter.chat_stream(_, options)
    k = k + 1
    local list = assert(turns[k], "no scripted turn " .. k)
    local i = 0
    return turn.new(function()
      return { status = 200, headers = { ["content-type"] = "text/event-stream" },
        read = function()
          reads.n = reads.n + 1
          i = i + 1
          return list[i]
        end }
    end, { format = formats.get("openai"), model = "m", runId = options.runId, threadId = options.threadId,
      used_ids = options.used_ids })
  end
  return adapter, reads
end

-- Drain next/pending, checking that the pending() events come without a read; returns the events and the groups
-- (sizes of 1 + pending() runs).
local function drain(next_ev, pending, reads)
  local evs, groups = {}, {}
  while true do
    local ev = next_ev()
    if ev == nil then break end
    evs[#evs + 1] = ev
    local before = reads.n
    local n = pending()
    for _ = 1, n do
      local e = next_ev()
      assert.is_table(e, "pending() counted an event next() did not hand out")
      evs[#evs + 1] = e
    end
    assert.equals(before, reads.n, "an event pending() counted needed a read")
    groups[#groups + 1] = 1 + n
  end
  return evs, groups
end

-- Events without what differs between runs (ids, timestamps): the same run twice compares equal.
local function stable(evs)
  local ids, n, out = {}, 0, {}
  local function id(v)
    if type(v) ~= "string" then return v end
    if not ids[v] then n = n + 1; ids[v] = "id" .. n end
    return ids[v]
  end
  for i, e in ipairs(evs) do
    local c = {}
    for k, v in pairs(e) do c[k] = v end
    c.timestamp = nil
    c.messageId, c.toolCallId, c.parentMessageId, c.stepId = id(c.messageId), id(c.toolCallId),
      id(c.parentMessageId), id(c.stepId)
    c.content = nil -- a tool result carries the call's (signed) id in its text
    out[i] = c
  end
  return out
end

local function types(evs)
  local t = {}
  for i, e in ipairs(evs) do t[i] = e.type end
  return t
end

local ONE_TURN = {
  chunk({ role = "assistant", content = "" }) .. text("a") .. text("b") .. text("c"),
  text("d") .. text("e"),
  text("f") .. chunk({}, "stop") .. DONE,
}

describe("pending(): the events ready without a read", function()
  it("a turn counts what its last read framed", function()
    local adapter, reads = scripted({ ONE_TURN })
    local p = adapter:chat_stream({ runId = "r", threadId = "t" })
    assert.equals(0, p.pending())
    local evs, groups = drain(p.next, p.pending, reads)
    -- RUN_STARTED alone (no read); TEXT_MESSAGE_START + a b c; d e; f and TEXT_MESSAGE_END; RUN_FINISHED after the
    -- end of the stream (the usage may follow the finish reason)
    assert.same({ 1, 4, 2, 2, 1 }, groups)
    assert.equals("RUN_FINISHED", evs[#evs].type)
    assert.equals(0, p.pending())
  end)

  it("ai.chat without tools: the turn's ready events, through the run's bookkeeping", function()
    local adapter, reads = scripted({ ONE_TURN })
    local s = ai.chat({ adapter = adapter, messages = { { role = "user", content = "hi" } } })
    assert.equals(0, s:pending())
    local evs, groups = drain(function() return s:next() end, function() return s:pending() end, reads)
    assert.same({ 1, 4, 2, 2, 1 }, groups)
    assert.equals("abcdef", (function()
      local t = {}
      for _, e in ipairs(evs) do if e.type == "TEXT_MESSAGE_CONTENT" then t[#t + 1] = e.delta end end
      return table.concat(t)
    end)())
    assert.equals(0, s:pending())
  end)

  local function tool_turns()
    return {
      { -- turn 1: a tool call whose arguments come in two reads
        chunk({ role = "assistant", content = "" }) .. text("let me look") .. call_start("call_1", "get_weather")
          .. call_args('{"city":'),
        call_args('"Paris"}') .. chunk({}, "tool_calls") .. DONE,
      },
      { -- turn 2: the answer
        chunk({ role = "assistant", content = "" }) .. text("sunny") .. text(" in Paris"),
        chunk({}, "stop") .. DONE,
      },
    }
  end
  local weather = ai.tool_definition({ name = "get_weather", description = "w", inputSchema = { type = "object",
    properties = { city = { type = "string" } } } }):server(function(input) return { city = input.city, t = 21 } end)

  it("ai.chat with a server tool and signed ids: held tool calls are counted once released", function()
    local adapter, reads = scripted(tool_turns())
    local s = ai.chat({ adapter = adapter, messages = { { role = "user", content = "weather?" } }, tools = { weather },
      signingSecret = "0123456789abcdef0123456789abcdef", threadId = "t", runId = "r" })
    local evs, groups = drain(function() return s:next() end, function() return s:pending() end, reads)
    -- the same run pulled one event at a time gives the same events
    local adapter2 = scripted(tool_turns())
    local plain = ai.chat({ adapter = adapter2, messages = { { role = "user", content = "weather?" } },
      tools = { weather }, signingSecret = "0123456789abcdef0123456789abcdef", threadId = "t", runId = "r" }):collect()
    assert.same(stable(plain), stable(evs))
    assert.same(types(plain), types(evs))
    local n = 0
    for _, g in ipairs(groups) do n = n + g end
    assert.equals(#evs, n)
    -- the first read's text went out together; the held call left with its arguments, complete, in one group
    local start_at
    for i, e in ipairs(evs) do if e.type == "TOOL_CALL_START" then start_at = i break end end
    assert.equals("TOOL_CALL_ARGS", evs[start_at + 1].type)
    assert.equals("TOOL_CALL_ARGS", evs[start_at + 2].type)
    assert.equals("TOOL_CALL_END", evs[start_at + 3].type)
  end)

  it("the router's stream: what priming held, then the committed target's ready events", function()
    local list = { chunk({ role = "assistant", content = "" }) .. text("a") .. text("b"),
      text("c") .. text("d") .. text("e"), chunk({}, "stop") .. DONE }
    local reads = { n = 0 }
    local transport = { name = "scripted", request = function()
      local i = 0
      return { status = 200, headers = { ["content-type"] = "text/event-stream" },
        read = function() reads.n = reads.n + 1 i = i + 1 return list[i] end, close = function() end }
    end }
    local r = router.new({ routes = { chat = { targets = { { name = "a", adapter = "create_workers_ai_chat",
      model = "@cf/meta/llama-3.1-8b-instruct" } } } },
      defaults = { config = { accountId = "acct", apiKey = "key", transport = transport } } })
    local s = assert(r:chat("chat", { messages = { { role = "user", content = "hi" } } }))
    assert.is_nil(s.error)
    -- primed: RUN_STARTED, TEXT_MESSAGE_START and the first delta are buffered, "b" is ready in the turn
    assert.equals(1, reads.n)
    assert.equals(4, s:pending())
    local evs, groups = drain(function() return s:next() end, function() return s:pending() end, reads)
    assert.same({ 4, 3, 1, 1 }, groups)
    assert.same({ "RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED" },
      types(evs))
    assert.equals(0, s:pending())
    s:cancel()
    assert.equals(0, s:pending())
  end)
end)

-- A stream-like source delivering `groups` of events: the events of a group after its first are pending.
local function grouped(groups, raise_at)
  local flat, group_end = {}, {}
  for _, g in ipairs(groups) do
    for _, e in ipairs(g) do flat[#flat + 1] = e end
    group_end[#group_end + 1] = #flat
  end
  local s = { i = 0, canceled = 0 }
  local g = 1
  function s:next()
    self.i = self.i + 1
    if raise_at and self.i == raise_at then error({ message = "boom at " .. self.i, code = "E_BOOM" }) end
    while group_end[g] and group_end[g] < self.i do g = g + 1 end
    return flat[self.i]
  end
  function s:pending()
    local e = group_end[g]
    if e == nil or self.i == 0 then return 0 end
    return e - self.i
  end
  function s:cancel() self.canceled = self.canceled + 1 end
  return s
end

local function collect(iter)
  local out = {}
  for piece in iter do out[#out + 1] = piece end
  return out
end

local function split(list, sizes)
  local groups, i = {}, 0
  for _, n in ipairs(sizes) do
    local g = {}
    for _ = 1, n do i = i + 1; g[#g + 1] = list[i] end
    groups[#groups + 1] = g
  end
  return groups
end

-- fixed clock for the RUN_ERROR an ending failure adds (its timestamp is the time of the failure)
local real_now
local function freeze() real_now = events.now_ms; events.now_ms = function() return 1234 end end
local function thaw() events.now_ms = real_now end

describe("wire.encoded batches", function()
  before_each(freeze)
  after_each(thaw)
  local SIZES = { 1, 4, 3, 1, 7 }

  for _, enc in ipairs({ { "SSE", wire.encode_sse }, { "NDJSON", wire.encode_ndjson } }) do
    it(enc[1] .. ": one piece per read, byte for byte the per-event strings", function()
      local evs = fixtures.events()
      local per_event = collect((wire.encoded(evs, enc[2])))
      assert.equals(#evs, #per_event)
      local _, _, batches = wire.encoded(grouped(split(evs, SIZES)), enc[2])
      local pieces = collect(batches)
      assert.equals(#SIZES, #pieces)
      local i = 0
      for k, n in ipairs(SIZES) do
        assert.equals(table.concat(per_event, "", i + 1, i + n), pieces[k])
        i = i + n
      end
      -- an array is all ready: one piece
      local _, _, whole = wire.encoded(fixtures.events(), enc[2])
      assert.same({ table.concat(per_event) }, collect(whole))
    end)
  end

  it("a source failing inside a read: the events before it, then the one RUN_ERROR, as per event", function()
    local evs = fixtures.events()
    for _, at in ipairs({ 1, 2, 5, 6, 9 }) do
      local src1 = grouped(split(evs, SIZES), at)
      local per_event = table.concat(collect((wire.encoded(src1, wire.encode_sse))))
      local src2 = grouped(split(evs, SIZES), at)
      local _, _, batches = wire.encoded(src2, wire.encode_sse)
      assert.equals(per_event, table.concat(collect(batches)))
      assert.equals(1, src2.canceled)
      assert.equals(at, src2.i) -- nothing pulled after the failure
      assert.matches('"message":"boom at ' .. at .. '"', per_event)
    end
  end)

  it("an event that cannot be encoded and a value that is not an event end the piece as per event", function()
    local function list()
      return { { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "a", timestamp = 1 },
        { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "b", timestamp = 2 },
        { type = "CUSTOM", name = "bad", value = 0 / 0, timestamp = 3 },
        { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "c", timestamp = 4 } }
    end
    local bad_value = list()
    bad_value[3] = "not an event"
    for _, evs in ipairs({ list(), bad_value }) do
      local per_event = collect((wire.encoded(grouped({ evs }), wire.encode_sse, { logErrors = false })))
      local _, _, batches = wire.encoded(grouped({ evs }), wire.encode_sse, { logErrors = false })
      local pieces = collect(batches)
      assert.equals(3, #per_event)
      assert.equals("RUN_ERROR", json.decode(per_event[3]:sub(7, -3)).type)
      assert.same({ table.concat(per_event) }, pieces)
    end
  end)

  it("a RUN_ERROR event and a raise after it: still one RUN_ERROR", function()
    local evs = { { type = "RUN_STARTED", runId = "r", threadId = "t", timestamp = 1 },
      { type = "RUN_ERROR", message = "explicit", code = "E", timestamp = 2 },
      { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = "x", timestamp = 3 } }
    local per_event = table.concat(collect((wire.encoded(grouped({ evs }, 3), wire.encode_sse))))
    local _, _, batches = wire.encoded(grouped({ evs }, 3), wire.encode_sse)
    assert.equals(per_event, table.concat(collect(batches)))
    local _, n = per_event:gsub("RUN_ERROR", "")
    assert.equals(1, n)
  end)
end)

describe("openai_compat.to_chunks batches", function()
  local function chat_events(deltas)
    local evs = { { type = "RUN_STARTED", runId = "r", threadId = "t", timestamp = 1 },
      { type = "TEXT_MESSAGE_START", messageId = "m", role = "assistant", timestamp = 1 } }
    for i, d in ipairs(deltas) do
      evs[#evs + 1] = { type = "TEXT_MESSAGE_CONTENT", messageId = "m", delta = d, timestamp = 1 + i }
    end
    evs[#evs + 1] = { type = "TOOL_CALL_START", toolCallId = "call_1", toolCallName = "f", timestamp = 50 }
    evs[#evs + 1] = { type = "TOOL_CALL_ARGS", toolCallId = "call_1", delta = '{"a":1}', timestamp = 51 }
    evs[#evs + 1] = { type = "TOOL_CALL_END", toolCallId = "call_1", timestamp = 52 }
    evs[#evs + 1] = { type = "TEXT_MESSAGE_END", messageId = "m", timestamp = 53 }
    evs[#evs + 1] = { type = "RUN_FINISHED", runId = "r", threadId = "t", finishReason = "tool_calls", timestamp = 54,
      usage = { promptTokens = 3, completionTokens = 4, totalTokens = 7 } }
    return evs
  end

  local function deltas()
    local list = { "", "hello", "quote \" backslash \\ slash /", "line\nbreak\ttab", "\1\31\127", "ünïcødé ✓ 🙂",
      "\1tanstack.ai:content\1" }
    math.randomseed(11)
    for _ = 1, 60 do
      local t = {}
      for i = 1, math.random(0, 12) do t[i] = string.char(math.random(1, 255)) end
      list[#list + 1] = table.concat(t)
    end
    return list
  end

  -- what the chunk of a text delta is: the generic encoding
  local function generic_text(id, created, model, d)
    return "data: " .. json.encode({ id = id, object = "chat.completion.chunk", created = created, model = model,
      choices = { { index = 0, delta = { content = d }, finish_reason = json.null, logprobs = json.null } } }) .. "\n\n"
  end

  it("a text delta's chunk is the generic encoding, for any text and any model name", function()
    local ds = deltas()
    for _, model in ipairs({ "gpt-4o-mini", 'we"ird/\\model ✓', "\1tanstack.ai:content\1" }) do
      local out = collect((compat.to_chunks(chat_events(ds), { id = "chatcmpl-1", created = 1700000000,
        model = model })))
      local k = 1 -- the role chunk first
      for _, d in ipairs(ds) do
        if d ~= "" then
          k = k + 1
          assert.equals(generic_text("chatcmpl-1", 1700000000, model, d), out[k])
        end
      end
    end
  end)

  it("batches: one piece per read, byte for byte the per-event chunks", function()
    local ds = deltas()
    local opts = { id = "chatcmpl-1", created = 1700000000, model = "m", includeUsage = true }
    local per_event = collect((compat.to_chunks(chat_events(ds), opts)))
    local evs = chat_events(ds)
    local sizes, left = {}, #evs
    while left > 0 do
      local n = math.min(left, #sizes % 5 + 1)
      sizes[#sizes + 1] = n
      left = left - n
    end
    local _, _, batches = compat.to_chunks(grouped(split(evs, sizes)), opts)
    local pieces = collect(batches)
    assert.equals(table.concat(per_event), table.concat(pieces))
    assert.is_true(#pieces < #per_event)
    assert.is_true(#pieces <= #sizes)
    for _, p in ipairs(pieces) do assert.is_true(#p > 0) end
    -- an array is all ready: one piece
    local _, _, whole = compat.to_chunks(chat_events(ds), opts)
    assert.same({ table.concat(per_event) }, collect(whole))
  end)

  it("a source failing inside a read, and one ending without RUN_FINISHED: as per event", function()
    local evs = chat_events({ "a", "b", "c", "d" })
    local opts = { id = "chatcmpl-1", created = 1, model = "m" }
    for _, at in ipairs({ 1, 3, 5, 7 }) do
      local per_event = table.concat(collect((compat.to_chunks(grouped(split(evs, { 2, 3, 4, 3 }), at), opts))))
      local src = grouped(split(evs, { 2, 3, 4, 3 }), at)
      local _, _, batches = compat.to_chunks(src, opts)
      assert.equals(per_event, table.concat(collect(batches)))
      assert.equals(1, src.canceled)
    end
    local cut = { evs[1], evs[2], evs[3] }
    local per_event = table.concat(collect((compat.to_chunks(grouped({ cut }), opts))))
    local _, _, batches = compat.to_chunks(grouped({ cut }), opts)
    assert.equals(per_event, table.concat(collect(batches)))
    assert.matches("data: %[DONE%]\n\n$", per_event)
  end)
end)

describe("ngx_response writes one piece per read", function()
  local real_ngx
  before_each(function() real_ngx = rawget(_G, "ngx") end)
  after_each(function() rawset(_G, "ngx", real_ngx) end)

  it("print + flush(true) once per read, the bytes of the per-event writes", function()
    local n = { header = {}, printed = {}, flushes = 0, headers_sent = false }
    n.get_phase = function() return "content" end
    n.on_abort = function() return 1 end
    n.send_headers = function() n.headers_sent = true return 1 end
    n.print = function(s) n.printed[#n.printed + 1] = s return 1 end
    n.flush = function(wait)
      assert.is_true(wait)
      n.flushes = n.flushes + 1
      return 1
    end
    rawset(_G, "ngx", n)
    local sizes = { 3, 1, 5, 7 }
    assert.is_true(ai.to_server_sent_events_response(grouped(split(fixtures.events(), sizes))))
    assert.equals(#sizes, #n.printed)
    assert.equals(#sizes + 1, n.flushes) -- the head, then each piece
    local per_event = collect(ai.to_server_sent_events(fixtures.events(), { logErrors = false }))
    assert.equals(table.concat(per_event), table.concat(n.printed))
  end)
end)
