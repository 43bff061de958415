-- Writing a streamed response to the client from an nginx content handler (OpenResty / lua-nginx-module).
-- Used by ai.to_server_sent_events_response / ai.to_http_response when they run in the content phase:
--   send({ status, headers, body = iterator of strings, cancel = fn }) -> true | nil, err
-- Headers go out at once (the client sees the 200 before the first token); every piece is written with
-- ngx.print + ngx.flush(true), so a slow client pushes back on the model stream instead of filling memory. The wire
-- helpers hand over one piece per read of the model stream (every event that arrived in it: wire.encoded's and
-- openai_compat.to_chunks' batches), so that is one write per read, not per event.
-- When the client goes away the upstream model stream is canceled:
--   * with `lua_check_client_abort on;` at once, through ngx.on_abort (the request then ends with 499);
--   * otherwise at the next failed ngx.print / ngx.flush.
-- Lua 5.1 syntax; no side effects at require time. The wires reach it through edge/relay.lua's respond.
local host = require("tanstack.ai.host")

local type, pairs, pcall, tostring, error = type, pairs, pcall, tostring, error

local _M = {}

-- Headers nginx manages itself for the client connection.
local NGINX_OWNED = { connection = true, ["transfer-encoding"] = true, ["content-length"] = true,
  ["keep-alive"] = true }

-- "cache-control" -> "Cache-Control" (nginx sends names as given)
local function canonical(name)
  return (name:gsub("(%a)([%w]*)", function(a, b) return a:upper() .. b:lower() end))
end

local function get_ngx()
  local ngx = host.ngx()
  if ngx == nil or type(ngx.print) ~= "function" then
    error("tanstack.ai.ngx_response needs OpenResty (ngx.print)", 3)
  end
  return ngx
end

--- Send a response table to the client. Returns true when the body was fully written, or nil, err when the
--- client went away or the body failed (the upstream is canceled in both cases).
function _M.send(res)
  local ngx = get_ngx()
  local cancel = type(res.cancel) == "function" and res.cancel or function() end
  local body = res.body

  -- Stop the upstream as soon as nginx notices the client is gone (needs lua_check_client_abort on).
  -- The handler's own thread may be parked in a cosocket read from the model, so it cannot be told politely:
  -- cancel what can be canceled, then end the request, which aborts that thread and closes its sockets.
  ngx.on_abort(function()
    pcall(cancel)
    ngx.exit(499)
  end) -- nil, "lua_check_client_abort is off" / "duplicate call": the write checks below still apply

  if not ngx.headers_sent then
    ngx.status = res.status or 200
    local h = res.headers
    if type(h) == "table" then
      for k, v in pairs(h) do
        if type(k) == "string" and not NGINX_OWNED[k:lower()] then ngx.header[canonical(k)] = v end
      end
    end
    local ok, err = ngx.send_headers()
    if not ok then
      pcall(cancel)
      return nil, "cannot send the response headers: " .. tostring(err)
    end
  end
  local ok, err = ngx.flush(true)
  if not ok then
    pcall(cancel)
    return nil, "client went away: " .. tostring(err)
  end
  if body == nil then return true end
  if type(body) == "string" then
    ok, err = ngx.print(body)
    if ok then ok, err = ngx.flush(true) end
    if not ok then
      pcall(cancel)
      return nil, "client went away: " .. tostring(err)
    end
    return true
  end
  if type(body) ~= "function" then
    pcall(cancel)
    return nil, "response body must be a string or an iterator function"
  end
  while true do
    local okp, piece = pcall(body)
    if not okp then
      pcall(cancel)
      return nil, "response body failed: " .. tostring(piece)
    end
    if piece == nil then break end
    ok, err = ngx.print(piece)
    if ok then ok, err = ngx.flush(true) end
    if not ok then
      pcall(cancel)
      return nil, "client went away: " .. tostring(err)
    end
  end
  return true
end

return _M
