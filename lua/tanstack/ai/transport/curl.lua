-- The libcurl transport (plain Lua 5.4 / LuaJIT outside nginx): moves bytes, knows no protocol.
-- request(req) -> { status, headers, read, close, info } | nil, err
--   req: method, url, headers (map), body, timeout, connect_timeout, idle_timeout (ms), ca_file,
--        max_response_bytes: response body bytes allowed (a number >= 0; nil: any). A final head announcing a larger
--          Content-Length fails request() before a byte of the body is read; a chunked or close-delimited body
--          growing past it fails the read() that would pass it. Both: nil, err with err.kind "too_large" (not
--          retryable); no byte past the limit is ever handed out.
--   A header name or value holding a control character other than HTAB (0x00-0x08, 0x0A-0x1F, 0x7F) raises; the
--   message names the header, never its value.
--   on_progress(done, total, phase): called between waits, never from inside libcurl: "upload" while the body is
--     sent (bytes of req.body), then "download" after each read (total: the Content-Length, 0 when unknown)
--   read() -> bytes | nil (end) | nil, err;  close() stops the request (idempotent)
-- Blocking by default; inside a tanstack.ai.async task it yields instead of waiting.
local core = require("tanstack.ai.core")
local errors = require("tanstack.ai.errors")

local _M = { name = "curl" }

local function failure(msg, kind)
  -- a body over max_response_bytes would be as large on a retry
  return errors.new({ message = msg or "request failed", kind = kind or "network",
    retryable = (kind == "too_large") and false or nil })
end

-- the async scheduler, only when the program loaded it and we run inside one of its tasks
local function task_scheduler()
  local async = package.loaded["tanstack.ai.async"]
  if async and async.current() then return async end
end

function _M.request(req)
  local h = core.http_request({
    method = req.method or "POST",
    url = req.url,
    headers = req.headers,
    body = req.body,
    timeout = req.timeout,
    connect_timeout = req.connect_timeout,
    idle_timeout = req.idle_timeout,
    ca_file = req.ca_file,
    max_response_bytes = req.max_response_bytes,
  })
  local async = task_scheduler()
  local progress = req.on_progress
  local status, headers, kind
  if async then
    status, headers, kind = async.await(function()
      local s, hd, k = h:response(false)
      if s == false and progress then
        local up, up_total = h:progress()
        progress(up, up_total, "upload")
      end
      return s, hd, k
    end, progress == nil and h or nil) -- with a progress callback: every round (uploads report no data)
  elseif progress then
    -- short waits, so that the caller hears how the upload goes
    local last = -1
    while true do
      status, headers, kind = h:response(false)
      if status ~= false then break end
      core.http_wait(100)
      local up, up_total = h:progress()
      if up ~= last then
        last = up
        progress(up, up_total, "upload")
      end
    end
  else
    status, headers, kind = h:response()
  end
  if not status then
    h:close()
    return nil, failure(headers, kind)
  end
  local res = { status = status, headers = headers }
  function res.read()
    local chunk, msg, k
    local a = task_scheduler()
    if a then
      chunk, msg, k = a.await(function() return h:read(false) end, h)
    else
      chunk, msg, k = h:read()
    end
    if chunk == nil and msg then return nil, failure(msg, k) end
    if progress and chunk then
      local _, _, down, down_total = h:progress()
      progress(down, down_total, "download")
    end
    return chunk
  end
  function res.close() h:close() end
  function res.info() return h:info() end
  res.handle = h
  return res
end

function _M.sleep(ms)
  local async = task_scheduler()
  if async then return async.sleep(ms) end
  return core.sleep_ms(ms)
end

return _M
