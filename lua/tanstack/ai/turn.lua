-- One model turn: open the request, frame the answer (SSE, or a whole JSON body), decode each event with the
-- turn's wire format into canonical deltas (deltas.lua), and hand out AG-UI events one at a time.
-- Pull-driven: nothing is read before the caller asks for the next event, so memory stays flat however long
-- the stream is. Responses (their shapes: http.lua) are read by http.lua's one reader.
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local deltas = require("tanstack.ai.deltas")
local formats = require("tanstack.ai.formats")
local http = require("tanstack.ai.http")
local queue = require("tanstack.ai.queue")
local core = require("tanstack.ai.core")

local type, pairs, pcall, tostring, setmetatable = type, pairs, pcall, tostring, setmetatable
local now_ms = events.now_ms
local decode_raising = require("tanstack.ai.json").decode_fast
local answer_kind, close = http.answer_kind, http.close

local _M = {}

--- Read everything left in a response (kept for callers of 0.2; the reader is http.read_all, published to
--- adapters and scripts as tanstack.ai.adapter.read_all).
_M.read_all = http.read_all

-- Feed the events framed from one read. Raises on a malformed event (caught once per read, not per event).
-- A string in `evs` is a text delta the parser picked out (the format's `pick` shapes): what decode_event would
-- have made of that event, without a JSON decode.
local function feed_events(decode_event, state, out, evs, done_marker, from)
  for i = from, #evs do
    out.at = i
    local e = evs[i]
    if type(e) == "string" then
      if not out.done_seen then out:text(e) end
    else
      local data = e.data
      if data == done_marker then
        out.done_seen = true
      elseif data ~= "" and not out.done_seen then
        local v = decode_raising(data)
        if type(v) ~= "table" then error("not an object", 0) end
        decode_event(state, v, out)
      end
    end
    if out.finished then return end
  end
end

local Decoder = {}
Decoder.__index = Decoder

--- The sans-I/O half of a turn: framed events or a whole body in, AG-UI events out through ctx.emit.
--- ctx: format (a wire format, see formats/init.lua), emit, model, runId, threadId, used_ids, provider,
--- classify (the provider's error classifier). `decoder.out` is the deltas object (deltas.lua).
function _M.decoder(ctx)
  local format = formats.check(ctx.format)
  if ctx.provider == nil and format.default_provider then
    local c = {}
    for k, v in pairs(ctx) do c[k] = v end
    c.provider = format.default_provider
    ctx = c
  end
  return setmetatable({ format = format, state = format.new_state and format.new_state() or nil,
    decode_event = format.decode_event, done_marker = format.done_marker, out = deltas.new(ctx),
    -- a lenient format skips a malformed event (a warning on the final event) unless the caller is strict
    lenient = format.lenient == true and not ctx.strict }, Decoder)
end

--- The SSE parser for this turn: with the format's pick shapes (format.pick(state)) when it has them.
function Decoder:sse_parser()
  local pick = self.format.pick
  pick = pick and pick(self.state)
  return core.sse_parser(pick and { pick = pick } or nil)
end

--- Feed framed SSE events ({data = ...}, or a picked text string) that arrived in one read; a malformed one ends the turn with one
--- RUN_ERROR after the events before it (one protected call per read, not per event).
function Decoder:feed(evs)
  local out = self.out
  local from = 1
  while true do
    local ok, rerr = pcall(feed_events, self.decode_event, self.state, out, evs, self.done_marker, from)
    if ok then return end
    if not self.lenient then
      return out:fail(errors.new({ message = "malformed stream event: " .. tostring(rerr), kind = "decode" }))
    end
    local data = evs[out.at] and evs[out.at].data or ""
    out:warn("skipped a malformed stream event: " .. data:sub(1, 120))
    from = out.at + 1
  end
end

function Decoder:event(ev) return self:feed({ ev }) end

--- A whole decoded answer: its events, then RUN_FINISHED (or RUN_ERROR).
function Decoder:body(v)
  local out = self.out
  out:start()
  self.format.decode_body(self.state, v, out)
  out:finish()
end

--- The end of a stream: the format's own end check (an answer cut short), then RUN_FINISHED.
function Decoder:finish()
  if self.format.finish and not self.out.finished then self.format.finish(self.state, self.out) end
  self.out:finish()
end
function Decoder:fail(err) self.out:fail(err) end
function Decoder:finished() return self.out.finished end

-- The I/O half of a turn: its fields are the request's opener, the decoder, the response, the stream's reader
-- (once started) and whether the turn is over.
local Turn = {}
Turn.__index = Turn

function Turn:fail(err)
  self.out:fail(err)
  self.done = true
  close(self.res)
end

function Turn:body(v)
  self.dec:body(v)
  self.done = true
end

-- The reader of a started stream: one read per call, its events decoded; the end of the stream finishes the
-- turn. A closure over the response, parser and decoder (a read may hold a single event: this is the hot path,
-- without a field lookup per use).
local function stream_reader(t, res, parser, dec)
  local out, read, feed = dec.out, res.read, dec.feed
  return function()
    local chunk, err = read()
    local evs
    if chunk == nil then
      if err then return t:fail(errors.wrap(err, { kind = "network" })) end
      evs = parser:finish()
    else
      out.ts = now_ms() -- every event framed from this read arrived now
      local perr
      evs, perr = parser:feed(chunk)
      if not evs then
        return t:fail(errors.new({ message = "stream framing error: " .. tostring(perr), kind = "decode" }))
      end
    end
    feed(dec, evs)
    if chunk == nil then
      dec:finish()
      t.done = true
      close(res)
    elseif out.finished then
      t.done = true
      close(res)
    end
  end
end

-- Send the request and see what came back: a whole answer is decoded at once (http.lua, the one reader), a stream
-- gets its parser.
function Turn:start()
  local res, err = self.open()
  if not res then return self:fail(errors.wrap(err or "request failed", { kind = "network" })) end
  self.res = res
  self.out.ts = now_ms()
  local kind = answer_kind(res, true)
  if kind == "value" then return self:body(res.value) end
  if kind == "json" then
    local whole, derr = http.decoded(res)
    if not whole then return self:fail(derr) end
    return self:body(whole.value)
  end
  http.as_stream(res)
  self.read = stream_reader(self, res, self.dec:sse_parser(), self.dec)
  self.out:start()
end

function Turn:close()
  if not self.done then
    self.done = true
    close(self.res)
  end
end

--- Start a turn.
---   open()  -> res | nil, err     sends the request (with retries) when the first event is asked for
---   ctx     as for decoder (without emit)
--- Returns a producer { next = fn() -> event | nil, pending = fn() -> n, close = fn() } (tanstack.ai.queue):
--- `pending` counts the events ready now (a relay writes them as one piece).
function _M.new(open, ctx)
  local t
  -- one step per empty FIFO: the request first, then one read (its events land in the FIFO through emit)
  local function fill()
    local read = t.read
    if read then read() else t:start() end
    return not t.done
  end
  local producer, push = queue.stream(fill, function() t:close() end)
  local c = {}
  for k, v in pairs(ctx) do c[k] = v end
  c.emit = push -- once per event: one closure call, no method lookup
  local dec = _M.decoder(c)
  t = setmetatable({ open = open, dec = dec, out = dec.out, res = nil, read = nil, done = false }, Turn)
  return producer
end

return _M
