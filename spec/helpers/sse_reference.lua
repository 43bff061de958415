-- A line-by-line transcription of WHATWG HTML 9.2.6 ("Interpreting an event stream"), the oracle the C parser is
-- compared with. Differences from the letter of the standard, each also the C parser's documented behaviour:
--   * bytes, not decoded text (no U+FFFD replacement; the streams compared are ASCII);
--   * at the end of the stream a pending event with data is dispatched (servers often close without a blank
--     line), where the standard discards it;
--   * an event's type is nil when the event type buffer is empty (the standard's "message").
-- Each valid retry field also yields a notice { retry = n } when it is processed (the standard sets the
-- reconnection time then; eventsource-parser calls onRetry then).
local M = {}

function M.parse(stream)
  local out = {}
  local data, etype, last_id, id_set = nil, "", "", false
  data = ""
  local function dispatch()
    -- "1. Set the last event ID string of the event source to the value of the last event ID buffer."
    if data == "" then etype = "" return end -- "2. If the data buffer is an empty string, ... return."
    if data:sub(-1) == "\n" then data = data:sub(1, -2) end -- "3. If the data buffer's last character is LF"
    local ev = { data = data }
    if etype ~= "" then ev.event = etype end
    if id_set then ev.id = last_id end
    out[#out + 1] = ev
    data, etype = "", ""
  end
  local function field(name, value)
    if name == "event" then etype = value
    elseif name == "data" then data = data .. value .. "\n"
    elseif name == "id" then
      if not value:find("\0", 1, true) then last_id, id_set = value, true end
    elseif name == "retry" then
      if value:match("^%d+$") and #value <= 18 then out[#out + 1] = { retry = tonumber(value) } end
    end
  end
  local function line(l)
    if l == "" then return dispatch() end
    if l:sub(1, 1) == ":" then return end
    local c = l:find(":", 1, true)
    if c then
      local value = l:sub(c + 1)
      if value:sub(1, 1) == " " then value = value:sub(2) end
      field(l:sub(1, c - 1), value)
    else
      field(l, "")
    end
  end
  if stream:sub(1, 3) == "\239\187\191" then stream = stream:sub(4) end
  local pos = 1
  while true do
    local s, e = stream:find("\r\n", pos, true)
    local s2 = stream:find("[\r\n]", pos)
    if not s2 then break end
    if s == s2 then line(stream:sub(pos, s - 1)); pos = e + 1
    else line(stream:sub(pos, s2 - 1)); pos = s2 + 1 end
  end
  if pos <= #stream then line(stream:sub(pos)) end
  dispatch()
  return out
end

return M
