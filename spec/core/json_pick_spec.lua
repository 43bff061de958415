-- The stream fast path (csrc/json_pick.c through core.sse_parser{pick}): for every wire format with pick shapes,
-- the events must be exactly those of the plain path (every event decoded in full by cjson), on every recorded
-- stream split at every byte, and on thousands of generated events built to hit the corner cases (nulls,
-- repeated and escaped keys, escapes, numbers cjson reads beyond RFC 8259, cut-short and malformed JSON).
local core = require("tanstack.ai.core")
local replay = require("helpers.replay")
local openai = require("tanstack.ai.formats.openai")
local anthropic = require("tanstack.ai.formats.anthropic")
local gemini = require("tanstack.ai.formats.gemini")
local workers_ai = require("cloudflare.tanstack_ai.workers_ai.format")

local function events(format, chunks, plain)
  local evs, picked = replay.events(format, chunks, { used_ids = {} }, { plain = plain })
  return replay.canon(evs), picked
end

-- every two-piece split and a byte-by-byte feed, against the plain path over the whole stream
local function check_every_split(format, bytes)
  local expected = events(format, { bytes }, true)
  local got, picked = events(format, { bytes })
  assert.same(expected, got, "whole stream")
  for k = 1, #bytes - 1 do
    assert.same(expected, (events(format, { bytes:sub(1, k), bytes:sub(k + 1) })), "split at byte " .. k)
  end
  local bytewise = {}
  for i = 1, #bytes do bytewise[i] = bytes:sub(i, i) end
  assert.same(expected, (events(format, bytewise)), "byte by byte")
  return picked, expected
end

describe("the stream fast path (core.sse_parser{pick})", function()
  describe("on every recorded stream split at every byte", function()
    local cases = {
      { "recorded/openai_text.sse", { openai, workers_ai } },
      { "recorded/openai_unicode.sse", { openai, workers_ai } },
      { "recorded/openai_reasoning.sse", { openai, workers_ai } },
      { "recorded/openai_tools.sse", { openai, workers_ai } },
      { "recorded/openai_length.sse", { openai, workers_ai } },
      { "recorded/openai_error.sse", { openai, workers_ai } },
      { "recorded/gateway_openai.sse", { openai } },
      { "recorded/native_text.sse", { workers_ai } },
      { "recorded/native_tools.sse", { workers_ai } },
      { "recorded/anthropic_text.sse", { anthropic } },
      { "recorded/anthropic_thinking.sse", { anthropic } },
      { "anthropic/text.sse", { anthropic } },
      { "anthropic/tools.sse", { anthropic } },
      { "anthropic/max_tokens.sse", { anthropic } },
      { "anthropic/error.sse", { anthropic } },
      { "workers_ai/openai_truncated_bom_cr.sse", { workers_ai } },
      { "workers_ai/openai_reasoning_tools.sse", { workers_ai } },
      { "workers_ai/native_text_tools.sse", { workers_ai } },
      -- finish_reason "error" on a chunk that carries text: RUN_ERROR after that text, both paths
      { "workers_ai/openai_finish_error.sse", { openai, workers_ai } },
      { "workers_ai/native_finish_error.sse", { workers_ai } },
      { "gemini/text.sse", { gemini } },
    }
    for _, case in ipairs(cases) do
      for _, format in ipairs(case[2]) do
        it(case[1] .. " as " .. format.name, function()
          local bytes = replay.fixture(case[1])
          local picked, evs = check_every_split(format, bytes)
          local texts = #replay.of_type(evs, "TEXT_MESSAGE_CONTENT")
          if format ~= gemini and texts > 1 then
            -- the fast path took part: most text deltas came out of the parser as strings
            assert.is_true(picked > 0 and picked >= texts / 2, picked .. " picked of " .. texts)
          else
            assert.equal(format == gemini and 0 or picked, picked)
          end
        end)
      end
    end
  end)

  describe("on generated events", function()
    -- a small deterministic generator (the same cases on every run and interpreter)
    local seed = 12345
    local function rnd(n) -- Park-Miller: exact in doubles (LuaJIT) and integers (5.4)
      seed = (seed * 16807) % 2147483647
      return math.floor(seed / 2147483647 * n) + 1
    end
    local function pick_one(list) return list[rnd(#list)] end

    local STRINGS = { '"hi"', '""', '" tok"', '"a\\nb"', '"\\u00e9\\u20ac"', '"\\ud83d\\ude00"', '"\\ud83d"',
      '"\\ude00x"', '"\\u0000"', '"tab\there"', '"q\\"uote\\\\"', '"\\/"', '"\\x"', '"\255\254"', '"unterminated' }
    local SCALARS = { "null", "null", "1", "-0.5e+3", "01", "1.", "0x10", "true", "false", "nul", "[]", "{}",
      '{"a":[1,{"b":null}]}', "[[[[[[[[[[]]]]]]]]]]" }
    local function value(strings_weight)
      if rnd(10) <= strings_weight then return pick_one(STRINGS) end
      return pick_one(SCALARS)
    end
    -- a key as written: now and then escaped, or with a typo
    local function key(k)
      local r = rnd(40)
      if r == 1 and #k > 1 then return '"' .. k:sub(1, 1) .. "\\u00" .. string.format("%02x", k:byte(2)) .. k:sub(3) .. '"' end
      if r == 2 then return '"' .. k .. 'x"' end
      return '"' .. k .. '"'
    end
    -- an object from {name, value-or-nil}: members in random order, some repeated, whitespace here and there
    local function object(members)
      local parts = {}
      for _, m in ipairs(members) do
        if m[2] ~= nil then
          local ws = rnd(8) == 1 and " \t" or ""
          table.insert(parts, rnd(#parts + 1), key(m[1]) .. ws .. ":" .. ws .. m[2])
          if rnd(30) == 1 then parts[#parts + 1] = key(m[1]) .. ":" .. value(5) end
        end
      end
      local s = "{" .. table.concat(parts, ",") .. "}"
      local r = rnd(60)
      if r == 1 then return s .. "," end
      if r == 2 then return s:sub(1, -2) end
      if r == 3 then return " " .. s .. " \t" end
      return s
    end
    local function maybe(v, absent_weight)
      if rnd(10) <= (absent_weight or 5) then return nil end
      return v
    end

    local function openai_event()
      local delta = object({ { "role", maybe('"assistant"', 7) }, { "content", maybe(value(8), 1) },
        { "reasoning_content", maybe(value(5), 8) }, { "reasoning", maybe(value(5), 9) },
        { "tool_calls", maybe(pick_one({ "null", "[]", '[{"index":0,"function":{"name":"f","arguments":"{}"}}]' }), 8) } })
      local choice = object({ { "index", "0" }, { "delta", maybe(rnd(12) == 1 and value(3) or delta, 1) },
        { "finish_reason", maybe(pick_one({ "null", "null", '"stop"', '""', '"length"', '"eos"', '"error"' }), 4) },
        { "logprobs", maybe("null") } })
      local choices = rnd(15) == 1 and pick_one({ "null", "[]", '"x"', '{"0":' .. choice .. "}" })
        or ("[" .. choice .. (rnd(10) == 1 and ("," .. choice) or "") .. "]")
      return object({ { "id", '"chatcmpl-1"' }, { "object", '"chat.completion.chunk"' }, { "choices", maybe(choices, 1) },
        { "usage", maybe(pick_one({ "null", '{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}' }), 7) },
        { "error", maybe(pick_one({ "null", '{"message":"boom","code":500}', '"oops"' }), 9) } })
    end

    local function native_event()
      return object({ { "response", maybe(value(8), 1) }, { "p", maybe('"abc"') },
        { "usage", maybe(pick_one({ "null", '{"prompt_tokens":1,"completion_tokens":2}' }), 8) },
        { "tool_calls", maybe(pick_one({ "null", "[]", '[{"name":"f","arguments":{}}]' }), 9) },
        { "finish_reason", maybe(pick_one({ "null", '"stop"', '""', '"error"' }), 8) },
        { "choices", maybe(pick_one({ "null", "[]" }), 9) },
        { "error", maybe(pick_one({ "null", '"bad"' }), 9) }, { "success", maybe(pick_one({ "false", "true" }), 9) },
        { "type", maybe(pick_one({ '"error"', '"x"' }), 9) } })
    end

    local function anthropic_event()
      local delta = object({ { "type", pick_one({ '"text_delta"', '"text_delta"', '"thinking_delta"',
        '"text_d\\u0065lta"', "null" }) }, { "text", maybe(value(8), 1) }, { "thinking", maybe('"hm"', 8) } })
      return object({ { "type", pick_one({ '"content_block_delta"', '"content_block_delta"', '"error"', '"ping"',
        '"content_block_d\\u0065lta"' }) }, { "index", "0" }, { "delta", maybe(delta, 1) },
        { "error", maybe(pick_one({ "null", '{"type":"overloaded_error","message":"busy"}' }), 9) } })
    end

    local generators = {
      { openai, openai_event }, { workers_ai, openai_event }, { workers_ai, native_event },
      { anthropic, anthropic_event },
    }
    for _, g in ipairs(generators) do
      local format, gen = g[1], g[2]
      it(format.name .. " (" .. debug.getinfo(gen, "S").linedefined .. "): 1500 streams of 1-3 events", function()
        local picked_total, differ = 0, 0
        for _ = 1, 1500 do
          local parts = {}
          for j = 1, rnd(3) do parts[j] = "data: " .. gen() .. "\n\n" end
          local bytes = table.concat(parts)
          local plain = events(format, { bytes }, true)
          local fast, picked = events(format, { bytes })
          picked_total = picked_total + picked
          assert.same(plain, fast, bytes)
          if picked < #parts then differ = differ + 1 end
        end
        -- both paths were exercised: many events picked, many left to the full decode
        assert.is_true(picked_total > 100, "picked " .. picked_total)
        assert.is_true(differ > 300, "streams with a full decode " .. differ)
      end)
    end
  end)

  describe("shapes", function()
    it("are checked when the parser is made, naming what is wrong", function()
      assert.has_error(function() core.sse_parser({ pick = { {} } }) end,
        "sse_parser: pick: text must be a path (a list of keys and positions)")
      assert.has_error(function() core.sse_parser({ pick = { { text = {} } } }) end,
        "sse_parser: pick: text is an empty path")
      assert.has_error(function() core.sse_parser({ pick = { { text = { "a", 0 } } } }) end,
        "sse_parser: pick: text: a position must be an integer >= 1")
      assert.has_error(function() core.sse_parser({ pick = { { text = { "a", true } } } }) end,
        "sse_parser: pick: text: a step must be a key or a position")
      assert.has_error(function() core.sse_parser({ pick = { { text = { "a" }, equal = { { path = { "t" } } } } } }) end,
        "sse_parser: pick: equal[1].value must be a string")
      assert.has_error(function() core.sse_parser({ pick = { { text = { "a", "b", "c", "d", "e", "f", "g" } } } }) end,
        "sse_parser: pick: text: too many steps or keys too long")
    end)

    it("hand out the picked string, and a table for anything else, in order", function()
      local p = core.sse_parser({ pick = openai.pick() })
      local evs = assert(p:feed('data: {"choices":[{"delta":{"content":"a\\u00e9"}}]}\n\n' ..
        'data: {"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'))
      assert.equal(3, #evs)
      assert.equal("a\u{e9}", evs[1])
      assert.equal('{"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}', evs[2].data)
      assert.equal("[DONE]", evs[3].data)
    end)

    it("stay alive with the parser when the shapes table itself is gone (compiled once, held by the parser)", function()
      local parsers = {}
      for i = 1, 3 do
        parsers[i] = core.sse_parser({ pick = { { text = { "t" }, none = { { "n" } } } } })
      end
      collectgarbage("collect")
      collectgarbage("collect")
      for i = 1, 3 do
        local evs = assert(parsers[i]:feed('data: {"t":"x' .. i .. '"}\n\ndata: {"t":"y","n":1}\n\n'))
        assert.equal("x" .. i, evs[1])
        assert.equal('{"t":"y","n":1}', evs[2].data)
      end
    end)

    it("are not used while Workers AI holds text for a forced tool", function()
      assert.is_table(workers_ai.pick({}))
      assert.is_nil(workers_ai.pick({ forced = "get_weather" }))
      assert.is_nil(gemini.pick)
    end)
  end)
end)
