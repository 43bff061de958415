-- A non-chat Workers AI call on any of the four paths, read into one result shape:
--   { value = <decoded JSON, REST {result} envelope removed> }  or  { bytes = "<binary>", content_type = ... }
local route = require("cloudflare.tanstack_ai.route")
local native = require("cloudflare.tanstack_ai.workers_ai.native")


local _M = {}

--- req: json (inputs table for JSON paths), raw (bytes) + content_type + query (raw REST form, optional),
--- binding_inputs (plain binding form; default json), gateway_inputs (universal entry form; default json),
--- label.
function _M.call(cfg, model, req)
  local mode = cfg.mode
  local spec = {
    provider = "workers-ai", model = model, label = req.label,
    rest_path = "/ai/run/" .. model, gateway_path = model, endpoint = model,
  }
  if mode == "binding" then
    spec.binding_inputs = req.binding_inputs or req.json
  elseif mode == "gateway_binding" then
    spec.body = req.gateway_inputs or req.json
  elseif req.raw then
    spec.body, spec.content_type, spec.query = req.raw, req.content_type, req.query
  else
    spec.body = req.json
  end
  local res, err = route.send(cfg, spec)
  if not res then
    if err and not err.label then err.label = req.label end
    return nil, err
  end
  local out, rerr = route.read_result(res, req.label, "workers-ai")
  if not out then return nil, rerr end
  if out.value ~= nil then out.value = native.unwrap(out.value) end
  return out
end

--- Sniff a media type from magic bytes (the response's word is not always there or right).
function _M.sniff(bytes)
  local b4 = bytes:sub(1, 4)
  if bytes:sub(1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if bytes:sub(1, 3) == "\255\216\255" then return "image/jpeg" end
  if b4 == "RIFF" and bytes:sub(9, 12) == "WEBP" then return "image/webp" end
  if b4 == "RIFF" and bytes:sub(9, 12) == "WAVE" then return "audio/wav" end
  if bytes:sub(1, 3) == "ID3" or (bytes:byte(1) == 255 and (bytes:byte(2) or 0) >= 224) then return "audio/mpeg" end
  if b4 == "OggS" then return "audio/ogg" end
  if b4 == "fLaC" then return "audio/flac" end
  if b4 == "\26\69\223\163" then return "audio/webm" end
  return nil
end

return _M
