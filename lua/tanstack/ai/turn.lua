-- One model turn: open the request, frame the answer (SSE or a whole JSON body) and feed a protocol
-- translator, handing out AG-UI events one at a time. Pull-driven: nothing is read before the caller asks
-- for the next event, so memory stays flat however long the stream is.
--
-- A response (from any transport or binding) is one of:
--   { status, headers, read = fn() -> bytes | nil (end) | nil, err, close = fn }   streaming or not
--   { status, headers, body = "<bytes>" }                                          whole body
--   { value = <decoded table> }                                                     a binding's JSON result
-- A translator has: event(sse_event) (a framed SSE event), body(decoded_json), finish(), fail(err), finished.
local json = require("tanstack.ai.json")
local errors = require("tanstack.ai.errors")
local events = require("tanstack.ai.events")
local ok_core, core = pcall(require, "tanstack.ai.core")

local type = type
local now_ms = events.now_ms

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
    if chunk ~= false then buf[#buf + 1] = chunk end
  end
  return table.concat(buf)
end

local function close(res)
  if res and res.close then res.close() end
end

local function feed_events(tr, evs)
  for i = 1, #evs do
    tr:event(evs[i])
    if tr.finished then return end
  end
end

--- Start a turn. ctx: open = fn() -> res | nil, err ; translator (built with emit = the queue's push).
--- Returns a producer { next, close } and the queue the translator emits into.
function _M.new(open, make_translator)
  local queue = events.queue()
  local tr = make_translator(function(e) -- push, inlined (once per event)
    local t = queue.tail + 1
    queue.tail = t
    queue[t] = e
  end)
  local res, parser
  local done = false

  local function fail(err)
    tr:fail(err)
    done = true
    close(res)
  end

  local function step()
    if not res then
      local err
      res, err = open()
      if not res then return fail(errors.wrap(err or "request failed", { kind = "network" })) end
      if res.value ~= nil then
        tr:body(res.value)
        tr:finish()
        done = true
        return
      end
      local ct = content_type(res)
      if is_json_type(ct) or (res.body ~= nil and type(res.body) == "string" and not (ct and ct:find("event-stream"))) then
        local bytes, rerr = _M.read_all(res)
        close(res)
        if not bytes then return fail(rerr) end
        local decoded, derr = json.decode(bytes)
        if decoded == nil then
          return fail(errors.new({ message = "invalid JSON in response: " .. tostring(derr), kind = "decode" }))
        end
        tr:body(decoded)
        tr:finish()
        done = true
        return
      end
      if not ok_core then return fail(errors.new({ message = "tanstack.ai.core is not available", kind = "internal" })) end
      if type(res.body) == "string" and not res.read then
        -- a whole SSE body in one string (some bindings): read it as a single chunk
        local b = res.body
        res.body = nil
        res.read = function() local x = b; b = nil; return x end
      end
      parser = core.sse_parser()
      return
    end
    local chunk, err = res.read()
    local evs
    if chunk == nil then
      if err then return fail(errors.wrap(err, { kind = "network" })) end
      evs = parser:finish()
      for i = 1, #evs do
        tr:event(evs[i])
        if tr.finished then break end
      end
      if not tr.finished then tr:finish() end
      done = true
      close(res)
      return
    end
    if chunk == false then return end
    tr.ts = now_ms() -- every event framed from this read arrived now
    local perr
    evs, perr = parser:feed(chunk)
    if not evs then
      return fail(errors.new({ message = "stream framing error: " .. tostring(perr), kind = "decode" }))
    end
    -- one protected call per read instead of one per event: a malformed event raises inside and ends the
    -- turn with one RUN_ERROR after the events before it
    tr.raise_on_bad_json = true
    local ok, rerr = pcall(feed_events, tr, evs)
    tr.raise_on_bad_json = nil
    if not ok then
      return fail(errors.new({ message = "malformed stream event: " .. tostring(rerr), kind = "decode" }))
    end
    if tr.finished then
      done = true
      close(res)
    end
  end

  local producer = {}
  function producer.next()
    -- the queue's pop, inlined: this runs once per event
    local h = queue.head
    while h > queue.tail and not done do step() end
    if h > queue.tail then return nil end
    local e = queue[h]
    queue[h] = nil
    queue.head = h + 1
    return e
  end
  function producer.close()
    if not done then
      done = true
      close(res)
    end
  end
  return producer
end

return _M
