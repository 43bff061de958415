-- What the native-format providers (Anthropic, Gemini) share: media content parts as inline base64 with a media
-- type or a URL (a data: URI given as a URL source is inline data), role merging, and tool-call argument objects.
local json = require("tanstack.ai.json")

local type = type

local _M = {}

--- source ({type = "data"|"url", value, mimeType}) -> "inline", mime, base64 | "url", url, mime
function _M.resolve(source)
  local v = source.value
  if source.type == "data" then return "inline", source.mimeType, v end
  if type(v) == "string" and v:sub(1, 5) == "data:" then
    local mime, data = v:match("^data:([^;,]*);base64,(.*)$")
    if mime then return "inline", (mime ~= "" and mime or source.mimeType), data end
  end
  return "url", v, source.mimeType
end

--- push(role, items) appending to `out` as {role, [key] = items}, merging into the previous message when it has
--- the same role (Anthropic and Gemini want alternating roles; consecutive tool results share one user turn).
function _M.role_merger(out, key)
  return function(role, items)
    if #items == 0 then return end
    local last = out[#out]
    if last and last.role == role then
      local into = last[key]
      for i = 1, #items do into[#into + 1] = items[i] end
    else
      out[#out + 1] = { role = role, [key] = items }
    end
  end
end

--- Tool-call arguments (JSON text or a decoded table) as an object, or nil when they are not one.
function _M.decode_object(s)
  if type(s) == "table" then return s end
  if type(s) == "string" and s:match("%S") then
    local v = json.decode(s)
    if type(v) == "table" and not json.is_array(v) then return v end
  end
  return nil
end

--- A provider-neutral error for a part a provider cannot take (a programmer error: raises).
function _M.unsupported(provider, part_type, where)
  error(where .. ": " .. provider .. " does not support " .. tostring(part_type) .. " content", 0)
end

return _M
