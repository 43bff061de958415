-- SSE parser of the C core (tanstack.ai.core.sse_parser): WHATWG event-stream
-- rules, arbitrary feed boundaries, limits. Lua 5.1 syntax (runs on LuaJIT too).
local core = require("tanstack.ai.core")

local function append(dst, src)
  for i = 1, #src do dst[#dst + 1] = src[i] end
end

-- Feeds the chunks, then finish(); returns all events in order.
local function parse(chunks, opts)
  local p = core.sse_parser(opts)
  local all = {}
  for _, c in ipairs(chunks) do
    local evs, err = p:feed(c)
    assert(evs, err)
    append(all, evs)
  end
  append(all, assert(p:finish()))
  return all
end

local function bytes(s)
  local t = {}
  for i = 1, #s do t[i] = s:sub(i, i) end
  return t
end

-- The stream must give `want` whole, split at every offset and byte by byte.
local function check_stream(stream, want)
  assert.same(want, parse({ stream }))
  for i = 0, #stream do
    assert.same(want, parse({ stream:sub(1, i), stream:sub(i + 1) }), "split at " .. i)
  end
  assert.same(want, parse(bytes(stream)), "one byte at a time")
end

describe("core.sse_parser", function()
  it("returns an (empty) array from every feed", function()
    local p = core.sse_parser()
    local evs = p:feed("data: partial")
    assert.same({}, evs)
    evs = p:feed("\n\n")
    assert.same({ { data = "partial" } }, evs)
    assert.same({}, p:finish())
  end)

  it("dispatches simple events", function()
    check_stream("data: hello\n\n", { { data = "hello" } })
    check_stream("data:hello\n\ndata: world\n\n", { { data = "hello" }, { data = "world" } })
  end)

  it("removes exactly one leading space from the value", function()
    check_stream("data:  two\n\n", { { data = " two" } })
    check_stream("data:no-space\n\n", { { data = "no-space" } })
    check_stream("data: a:b: c\n\n", { { data = "a:b: c" } })
  end)

  it("joins multi-line data with LF", function()
    check_stream("data: a\ndata: b\ndata:\ndata: c\n\n", { { data = "a\nb\n\nc" } })
  end)

  it("treats a line without colon as a field with an empty value", function()
    check_stream("data\n\n", { { data = "" } })
    check_stream("data\ndata\n\n", { { data = "\n" } })
  end)

  it("accepts LF, CR and CRLF line ends, also mixed", function()
    check_stream("data: a\r\ndata: b\r\n\r\n", { { data = "a\nb" } })
    check_stream("data: a\rdata: b\r\r", { { data = "a\nb" } })
    check_stream("data: 1\r\n\rdata: 2\n\r\ndata: 3\r\r\n",
      { { data = "1" }, { data = "2" }, { data = "3" } })
    check_stream("data: x\r\r\ndata: y\n\n", { { data = "x" }, { data = "y" } })
  end)

  it("treats CR at the end of one feed and LF at the start of the next as one line end", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("data: a\r"))
    -- the LF completes the CRLF: it must not count as the blank line
    assert.same({}, p:feed("\ndata: b\r"))
    assert.same({ { data = "a\nb" } }, p:feed("\n\r\n"))
    -- whereas CR followed by CR is a blank line
    assert.same({}, p:feed("data: c\r"))
    assert.same({ { data = "c" } }, p:feed("\r"))
  end)

  it("ignores comments and unknown fields", function()
    check_stream(": comment\n:\nfoo: bar\nDATA: no\ndata : no\ndata: yes\n\n", { { data = "yes" } })
    check_stream(": only comments\n\n", {})
  end)

  it("sets event type per event and id persistently", function()
    check_stream("event: update\nid: 42\ndata: {\"x\":1}\n\ndata: next\n\n", {
      { data = "{\"x\":1}", event = "update", id = "42" },
      { data = "next", id = "42" },
    })
  end)

  it("does not dispatch an event without data but resets its type", function()
    check_stream("event: only\n\ndata: x\n\n", { { data = "x" } })
    check_stream("event: a\nretry: 5\n\ndata: x\n\n", { { data = "x" } })
  end)

  it("treats an empty event field as no event type", function()
    check_stream("event:\ndata: x\n\n", { { data = "x" } })
  end)

  it("reports id only once set; an empty id resets it to the empty string", function()
    check_stream("data: a\n\nid: 1\ndata: b\n\nid\ndata: c\n\n", {
      { data = "a" }, { data = "b", id = "1" }, { data = "c", id = "" },
    })
  end)

  it("ignores an id containing NUL", function()
    check_stream("id: ok\nid: a\0b\ndata: x\n\n", { { data = "x", id = "ok" } })
  end)

  it("reports an event's own retry field as an integer only when all ASCII digits", function()
    check_stream("retry: 1500\ndata: x\n\ndata: y\n\n", {
      { data = "x", retry = 1500 }, { data = "y" },
    })
    check_stream("retry: 12a\ndata: x\n\nretry:\ndata: y\n\nretry: -1\ndata: z\n\nretry:  5\ndata: w\n\n", {
      { data = "x" }, { data = "y" }, { data = "z" }, { data = "w" },
    })
    local evs = parse({ "retry: 0042\ndata: x\n\n" })
    assert.equal(42, evs[1].retry)
    if math.type then assert.equal("integer", math.type(evs[1].retry)) end
  end)

  describe("reconnection_time() (WHATWG HTML 9.2.6, the retry field)", function()
    -- the reconnection time after the stream, fed whole, split anywhere and byte-wise (then finish)
    local function reconnection(stream)
      local function run(chunks)
        local p = core.sse_parser()
        for _, c in ipairs(chunks) do assert(p:feed(c)) end
        assert(p:finish())
        return p:reconnection_time()
      end
      local want = run({ stream })
      for i = 0, #stream do
        assert.equal(want, run({ stream:sub(1, i), stream:sub(i + 1) }), "split at " .. i)
      end
      assert.equal(want, run(bytes(stream)), "one byte at a time")
      return want
    end

    it("is nil until a retry field sets it", function()
      assert.is_nil(core.sse_parser():reconnection_time())
      assert.is_nil(reconnection("data: x\n\nevent: y\nid: 1\n\n"))
    end)

    it("is set when the field is processed, in a block that dispatches no event too", function()
      assert.equal(1500, reconnection("retry: 1500\n\n"))
      assert.equal(1500, reconnection("event: ping\nretry: 1500\n\ndata: x\n\n"))
      assert.equal(1500, reconnection("retry: 1500\n"))
      assert.equal(7, reconnection("retry:7\r"))
      local p = core.sse_parser()
      assert.same({}, p:feed("retry: 2500\n"))
      assert.equal(2500, p:reconnection_time()) -- before any blank line
      if math.type then assert.equal("integer", math.type(p:reconnection_time())) end
    end)

    it("takes the last valid value, leading zeros included, zero too", function()
      assert.equal(20, reconnection("retry: 10\ndata: x\n\nretry: 20\n\n"))
      assert.equal(42, reconnection("retry: 0042\n\n"))
      assert.equal(0, reconnection("retry: 10\nretry: 0\n\n"))
    end)

    it("ignores a value that is not only ASCII digits, keeping the previous one", function()
      for _, v in ipairs({ "", " 5", "5 ", "-1", "+5", "1.5", "1e3", "0x10", "12a", "\217\163",
        "99999999999999999999999" }) do
        assert.equal(10, reconnection("retry: 10\n\nretry: " .. v .. "\n\n"), v)
        assert.is_nil(reconnection("retry: " .. v .. "\ndata: x\n\n"), v)
      end
      assert.is_nil(reconnection("retry\n\n"))
    end)

    it("is set by the field named exactly retry, never by a comment", function()
      assert.is_nil(reconnection("Retry: 5\nRETRY: 5\nretry : 5\n: retry: 5\nretryx: 5\n\n"))
    end)

    it("outlives finish(): it is what a client waits before reconnecting", function()
      local p = core.sse_parser()
      assert.same({ { data = "x" } }, p:feed("retry: 3000\n\ndata: x\n\n"))
      assert.same({}, p:finish())
      assert.equal(3000, p:reconnection_time())
      assert.same({ { data = "y" } }, p:feed("data: y\n\n"))
      assert.equal(3000, p:reconnection_time())
    end)

    it("is applied before a later failure in the same feed", function()
      local p = core.sse_parser({ max_event_bytes = 16 })
      assert.is_nil((p:feed("retry: 5\ndata: 0123456789abcdefghij\n")))
      assert.equal(5, p:reconnection_time())
    end)
  end)

  describe("retry notices: core.sse_parser{ retry = true }", function()
    it("reports each valid retry field when it is processed, in order with the events", function()
      check_stream("retry: 3000\n\n", {}) -- off by default: no notice
      local function notices(stream) return parse({ stream }, { retry = true }) end
      assert.same({ { retry = 3000 } }, notices("retry: 3000\n\n"))
      assert.same({ { retry = 10 }, { data = "a", retry = 10 } }, notices("retry: 10\ndata: a\n\n"))
      assert.same({ { retry = 1 }, { retry = 2 }, { data = "b" } },
        notices("retry: 1\nretry: x\nretry:\nretry: 2\n\ndata: b\n\n"))
      assert.same({ { data = "a" }, { retry = 5 }, { data = "c" }, { retry = 7 } },
        notices("data: a\n\nretry: 5\n\ndata: c\n\nretry: 7"))
      if math.type then assert.equal("integer", math.type(notices("retry: 9\n")[1].retry)) end
    end)

    it("come out of a picking parser too, the picked events unchanged", function()
      local shapes = { { text = { "response" } } }
      local evs = parse({ 'retry: 4\n\ndata: {"response":"hi"}\n\n' }, { retry = true, pick = shapes })
      assert.same({ { retry = 4 }, "hi" }, evs)
    end)

    -- What eventsource-parser and the standard report that a plain event list does not: a retry field in a block that
    -- dispatches no event. Random ASCII streams, split at random, against spec/helpers/sse_reference.lua.
    it("agree with a transcription of WHATWG HTML 9.2.6 over 20,000 random streams", function()
      local reference = require("helpers.sse_reference")
      local PIECES = { "data", "data:", "data: x", "data:y", "data:  z", "event: e", "event:", "id: 7", "id",
        "id:", "retry: 100", "retry:5", "retry: 0042", "retry: x", "retry:", "retry", "retry: 1 ", "Retry: 3",
        ": comment", ":", "", "da", "ta: q", "\239\187\191" }
      local ENDS = { "\n", "\r\n", "\r", "\n\n", "" }
      local seed = 18
      local function rand(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n + 1 end
      local disagreements = 0
      local first
      for _ = 1, 20000 do
        local parts = {}
        for j = 1, rand(10) do parts[j] = PIECES[rand(#PIECES)] .. ENDS[rand(#ENDS)] end
        local stream = table.concat(parts)
        local cut = rand(#stream + 1) - 1
        local got = parse({ stream:sub(1, cut), stream:sub(cut + 1) }, { retry = true })
        for _, ev in ipairs(got) do if ev.data then ev.retry = nil end end -- an event's own copy of the field
        local ok = pcall(assert.same, reference.parse(stream), got)
        if not ok then
          disagreements = disagreements + 1
          first = first or stream
        end
      end
      assert.equal(0, disagreements, "first disagreement: " .. string.format("%q", tostring(first)))
    end)
  end)

  it("skips a UTF-8 BOM once, at the very start", function()
    check_stream("\239\187\191data: bom\n\n", { { data = "bom" } })
    -- a second BOM is part of the next field name (so that line is ignored)
    check_stream("\239\187\191data: a\n\n\239\187\191data: b\n\n", { { data = "a" } })
    check_stream("\239\187\191\239\187\191data: x\n\n", {})
    -- a partial BOM is ordinary bytes
    check_stream("\239\187data: x\n\n", {})
    check_stream("\239\ndata: x\n\n", { { data = "x" } })
  end)

  it("handles a BOM split across feeds", function()
    assert.same({ { data = "x" } }, parse({ "\239", "\187", "\191", "data: x\n\n" }))
  end)

  it("finish() processes a final unterminated line and dispatches pending data", function()
    check_stream("data: x\n\ndata: tail", { { data = "x" }, { data = "tail" } })
    check_stream("data: a\ndata: b\n", { { data = "a\nb" } })
    check_stream("event: x\n", {})
    assert.same({}, parse({ "" }))
  end)

  it("finish() resets the parser (id, BOM handling)", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("id: 7\ndata: a"))
    assert.same({ { data = "a", id = "7" } }, p:finish())
    assert.same({ { data = "b" } }, p:feed("\239\187\191data: b\n\n"))
  end)

  it("keeps binary bytes intact", function()
    local all = {}
    for i = 0, 255 do
      if i ~= 10 and i ~= 13 then all[#all + 1] = string.char(i) end
    end
    local payload = table.concat(all)
    check_stream("data: " .. payload .. "\n\n", { { data = payload } })
  end)

  it("gives identical events for a realistic stream at every split", function()
    local stream = table.concat({
      "\239\187\191: keep-alive\r\n",
      "retry: 3000\r\n",
      "event: message_start\r\nid: evt-1\r\ndata: {\"type\":\"start\"}\r\n\r\n",
      "data: {\"delta\":\"Hel\"}\n\n",
      "data: {\"delta\":\"lo\"}\rdata: more\r\r",
      "event: done\ndata: [DONE]\n\n",
    })
    check_stream(stream, {
      { data = "{\"type\":\"start\"}", event = "message_start", id = "evt-1", retry = 3000 },
      { data = "{\"delta\":\"Hel\"}", id = "evt-1" },
      { data = "{\"delta\":\"lo\"}\nmore", id = "evt-1" },
      { data = "[DONE]", event = "done", id = "evt-1" },
    })
  end)

  describe("max_event_bytes", function()
    it("accepts events up to the limit", function()
      local p = core.sse_parser({ max_event_bytes = 16 })
      assert.same({ { data = "0123456789" } }, p:feed("data: 0123456789\n\n"))
    end)

    it("fails when data accumulates past the limit, and stays failed", function()
      local p = core.sse_parser({ max_event_bytes = 16 })
      local evs, err = p:feed("data: 01234567\ndata: 01234567\n")
      assert.is_nil(evs)
      assert.matches("max_event_bytes", err)
      evs, err = p:feed("data: x\n\n")
      assert.is_nil(evs)
      assert.matches("max_event_bytes", err)
      evs, err = p:finish()
      assert.is_nil(evs)
      assert.is_string(err)
      -- finish() reset it
      assert.same({ { data = "x" } }, p:feed("data: x\n\n"))
    end)

    it("fails on a long line before it is complete (bounded memory)", function()
      local p = core.sse_parser({ max_event_bytes = 1024 })
      local piece = string.rep("a", 100)
      local failed
      for _ = 1, 20 do
        local evs, err = p:feed(piece)
        if not evs then failed = err break end
      end
      assert.matches("max_event_bytes", failed)
    end)

    it("rejects bad options", function()
      assert.has_error(function() core.sse_parser({ max_event_bytes = 0 }) end)
      assert.has_error(function() core.sse_parser({ max_event_bytes = "big" }) end)
      assert.has_error(function() core.sse_parser(42) end)
    end)
  end)

  it("raises on a non-string feed", function()
    local p = core.sse_parser()
    assert.has_error(function() p:feed({}) end)
    assert.has_error(function() p.feed(nil, "x") end)
  end)

  it("streams many events fed in large chunks", function()
    local parts = {}
    local n = 20000
    for i = 1, n do
      parts[i] = "data: {\"i\":" .. i .. ",\"text\":\"some token text\"}\n\n"
    end
    local stream = table.concat(parts)
    local p = core.sse_parser()
    local count, last = 0, nil
    local pos = 1
    while pos <= #stream do
      local evs = assert(p:feed(stream:sub(pos, pos + 65535)))
      count = count + #evs
      if #evs > 0 then last = evs[#evs] end
      pos = pos + 65536
    end
    assert.equal(n, count)
    assert.equal("{\"i\":" .. n .. ",\"text\":\"some token text\"}", last.data)
  end)

  it("handles a very long line fed in small pieces", function()
    local p = core.sse_parser()
    assert.same({}, p:feed("data: "))
    local piece = string.rep("x", 4096)
    for _ = 1, 512 do assert.same({}, p:feed(piece)) end
    local evs = p:feed("\n\n")
    assert.equal(1, #evs)
    assert.equal(4096 * 512, #evs[1].data)
  end)

  it("has a descriptive tostring", function()
    assert.matches("^tanstack%.ai%.sse_parser", tostring(core.sse_parser()))
  end)
end)
