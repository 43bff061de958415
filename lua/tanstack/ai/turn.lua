-- One model turn: open the request, frame the answer (SSE, or a whole JSON body), decode each event with the
-- turn's wire format into canonical deltas (deltas.lua), and hand out AG-UI events one at a time.
-- Pull-driven: nothing is read before the caller asks for the next event, so memory stays flat however long
-- the stream is.
--
-- A response (from any transport or binding) is one of:
--   { status, headers, read = fn() -> bytes | nil (end) | nil, err, close = fn }   streaming or not
--   { status, headers, body = "<bytes>" }                                          whole body
--   { value = <decoded table> }                                                     a binding's JSON result
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local deltas = require("tanstack.ai.deltas")
local formats = require("tanstack.ai.formats")
local core = require("tanstack.ai.core")

local type, pairs, pcall, tostring, setmetatable = type, pairs, pcall, tostring, setmetatable
local now_ms = events.now_ms
local decode, decode_raising = json.decode, json.decode_fast

local _M = {}

local function is_json_type(ct)
  return type(ct) == "string" and (ct:find("json", 1, true) ~= nil) and not ct:find("ndjson", 1, true)
end

local function content_type(res)
  local h = res.headers
  return h and (h["content-type"] or h["Content-Type"]) or nil
end

--- Read everything left in a response. Returns the bytes, or nil, err.
function _M.read_all(res)
  if res.body ~= nil then
    local b = res.body
    res.body = nil
    if type(b) == "string" then return b end
    if type(b) == "function" then res.read = b else return nil, errors.new({ message = "unsupported body" }) end
  end
  if not res.read then return "" end
  local buf = {}
  while true do
    local chunk, err = res.read()
    if chunk == nil then
      if err then return nil, errors.wrap(err, { kind = "network" }) end
      break
    end
    buf[#buf + 1] = chunk
  end
  return table.concat(buf)
end

local function close(res)
  if res and res.close then res.close() end
end

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

--- Start a turn.
---   open()  -> res | nil, err     sends the request (with retries) when the first event is asked for
---   ctx     as for decoder (without emit)
--- Returns a producer { next = fn() -> event | nil, close = fn() }.
function _M.new(open, ctx)
  local head, tail = 1, 0
  local queue = {}
  local c = {}
  for k, v in pairs(ctx) do c[k] = v end
  c.emit = function(e) -- the queue's push, inlined (once per event)
    tail = tail + 1
    queue[tail] = e
  end
  local dec = _M.decoder(c)
  local out = dec.out
  local res, parser
  local done = false

  local function fail(err)
    out:fail(err)
    done = true
    close(res)
  end

  local function body(v)
    dec:body(v)
    done = true
  end

  local function step()
    if not res then
      local err
      res, err = open()
      if not res then return fail(errors.wrap(err or "request failed", { kind = "network" })) end
      out.ts = now_ms()
      if res.value ~= nil then return body(res.value) end
      local ct = content_type(res)
      if is_json_type(ct) or (type(res.body) == "string" and not (ct and ct:find("event-stream", 1, true))) then
        local bytes, rerr = _M.read_all(res)
        close(res)
        if not bytes then return fail(rerr) end
        local decoded, derr = decode(bytes)
        if decoded == nil then
          return fail(errors.new({ message = "invalid JSON in response: " .. tostring(derr), kind = "decode" }))
        end
        return body(decoded)
      end
      if type(res.body) == "string" and not res.read then
        -- a whole SSE body in one string (some bindings): read it as a single chunk
        local b = res.body
        res.body = nil
        res.read = function() local x = b; b = nil; return x end
      end
      parser = dec:sse_parser()
      out:start()
      return
    end
    local chunk, err = res.read()
    local evs
    if chunk == nil then
      if err then return fail(errors.wrap(err, { kind = "network" })) end
      evs = parser:finish()
    else
      out.ts = now_ms() -- every event framed from this read arrived now
      local perr
      evs, perr = parser:feed(chunk)
      if not evs then
        return fail(errors.new({ message = "stream framing error: " .. tostring(perr), kind = "decode" }))
      end
    end
    dec:feed(evs)
    if chunk == nil then
      dec:finish()
      done = true
      close(res)
    elseif out.finished then
      done = true
      close(res)
    end
  end

  local producer = {}
  function producer.next()
    while head > tail and not done do step() end
    if head > tail then return nil end
    local e = queue[head]
    queue[head] = nil
    head = head + 1
    return e
  end
  --- Events ready now: next() returns that many without reading (a relay writes them as one piece).
  function producer.pending() return tail - head + 1 end
  function producer.close()
    if not done then
      done = true
      close(res)
    end
  end
  return producer
end

return _M
