-- Interrupts (TanStack AI 0.58's pause/resume protocol for client tools and approvals): the descriptors a run ends
-- with (RUN_FINISHED outcome {type = "interrupt", interrupts}), their resume bindings, and the validation of a
-- resume batch (RunAgentInput.resume) against the calls pending in the history.
--
-- A binding carries hashes that @tanstack/ai-client recomputes before it treats a descriptor as its own
-- (`tanstack:interruptBinding`): "sha256:<hex>" of TanStack's canonical JSON (object keys sorted, JSON.stringify
-- scalars). The canonical JSON is here; the digest is OpenSSL's SHA-256 (core.sha256, csrc/l_crypto.c).
local json = require("tanstack.ai.json")
local sha256 = require("tanstack.ai.core").sha256

local type, pairs, ipairs, tostring, tonumber, error, next = type, pairs, ipairs, tostring, tonumber, error, next
local byte, format, gsub, rep, sub = string.byte, string.format, string.gsub, string.rep, string.sub
local concat, sort = table.concat, table.sort
local floor = math.floor

local _M = {}

_M.BINDING_KEY = "tanstack:interruptBinding"
_M.BINDING_VERSION = 1
_M.CLIENT_TOOL_REASON = "tanstack:client_tool_execution"

---------------------------------------------------------------------------------------------------
-- Canonical JSON (canonicalInterruptJson)
---------------------------------------------------------------------------------------------------

local ESC = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t" }

-- JSON.stringify(string): only '"', '\' and control characters are escaped (not '/', not non-ASCII).
local function js_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local e = ESC[c]
    if e then return e end
    local b = byte(c)
    if b < 32 then return format("\\u%04x", b) end
    return c -- DEL (0x7f) is not escaped by JSON.stringify
  end) .. '"'
end
_M.js_string = js_string

-- JSON.stringify(number) (ECMAScript Number::toString): shortest round-trip digits, fixed notation for
-- exponents in [-7, 20], else d.ddde+N.
local function js_number(x)
  if x ~= x or x == 1 / 0 or x == -1 / 0 then error("Interrupt values must be JSON-compatible.", 0) end
  if x == 0 then return "0" end
  local neg = x < 0
  if neg then x = -x end
  local out
  if x == floor(x) and x < 9007199254740992 then
    out = format("%.0f", x)
  else
    local s
    for p = 1, 17 do
      s = format("%." .. (p - 1) .. "e", x)
      if tonumber(s) == x then break end
    end
    local mant, exp = s:match("^([%d%.]+)e([-+]%d+)$")
    local digits = mant:gsub("%.", ""):gsub("0+$", "")
    if digits == "" then digits = "0" end
    local k = #digits
    local n = tonumber(exp) + 1 -- position of the decimal point
    if k <= n and n <= 21 then
      out = digits .. rep("0", n - k)
    elseif 0 < n and n <= 21 then
      out = sub(digits, 1, n) .. "." .. sub(digits, n + 1)
    elseif -6 < n and n <= 0 then
      out = "0." .. rep("0", -n) .. digits
    else
      local e = n - 1
      local es = (e >= 0 and "+" or "-") .. tostring(e >= 0 and e or -e)
      if k == 1 then out = digits .. "e" .. es else out = sub(digits, 1, 1) .. "." .. sub(digits, 2) .. "e" .. es end
    end
  end
  return neg and ("-" .. out) or out
end
_M.js_number = js_number

local function canonical(v, depth)
  if depth > 200 then error("Interrupt values must not cycle.", 0) end
  local tv = type(v)
  if v == nil or v == json.null then return "null" end
  if tv == "boolean" then return v and "true" or "false" end
  if tv == "string" then return js_string(v) end
  if tv == "number" then return js_number(v) end
  if tv ~= "table" then error("Interrupt values must be JSON-compatible.", 0) end
  if json.is_array(v) then
    local items = {}
    for i = 1, #v do items[i] = canonical(v[i], depth + 1) end
    return "[" .. concat(items, ",") .. "]"
  end
  local keys = {}
  for k, x in pairs(v) do
    local tx = type(x)
    if tx ~= "function" and tx ~= "thread" then keys[#keys + 1] = tostring(k) end
  end
  sort(keys)
  local items = {}
  for i, k in ipairs(keys) do
    local x = v[k]
    if x == nil then x = v[tonumber(k)] end
    items[i] = js_string(k) .. ":" .. canonical(x, depth + 1)
  end
  return "{" .. concat(items, ",") .. "}"
end

--- canonicalInterruptJson(value): keys sorted, no whitespace, JSON.stringify scalars.
function _M.canonical(v) return canonical(v, 0) end

---------------------------------------------------------------------------------------------------
-- SHA-256 (FIPS 180-4): OpenSSL's, through the C core
---------------------------------------------------------------------------------------------------

--- SHA-256 of a byte string, as 64 lower-case hex digits.
function _M.sha256_hex(msg)
  return (gsub(sha256(msg), ".", function(c) return format("%02x", byte(c)) end))
end

--- digestInterruptJson(canonicalJson) with TanStack's default hash: "sha256:<hex>".
function _M.digest(canonical_json)
  return "sha256:" .. _M.sha256_hex(canonical_json)
end

--- hashSchemaInput(schema): a plain JSON Schema is hashed as is; no schema hashes the text "undefined".
function _M.hash_schema(schema)
  if schema == nil then return _M.digest("undefined") end
  return _M.digest(canonical(schema, 0))
end

---------------------------------------------------------------------------------------------------
-- Descriptors (buildActionableInterrupts + completeEphemeralInterruptBindings)
---------------------------------------------------------------------------------------------------

local function obj(t) return json.object(t) end

-- normalizeApprovalSchema for plain JSON Schemas: the decision envelopes, their hash and the approval hash.
function _M.approval_schema(tool)
  local input = tool.inputSchema
  local cfg = tool.approvalSchema
  local approve, reject
  if type(cfg) == "table" then
    local branch_map = next(cfg) ~= nil
    for k in pairs(cfg) do if k ~= "approve" and k ~= "reject" then branch_map = false end end
    if branch_map then
      approve, reject = cfg.approve, cfg.reject
    else
      approve, reject = cfg, cfg
    end
  end
  local function envelope(approved, payload, input_schema)
    local properties = obj({ approved = obj({ const = approved }) })
    local required = json.array({ "approved" })
    if approved and input_schema ~= nil then properties.editedArgs = input_schema end
    if payload ~= nil then
      properties.payload = payload
      required[#required + 1] = "payload"
    end
    return obj({ type = "object", properties = properties, required = required, additionalProperties = false })
  end
  local response = obj({ oneOf = json.array({ envelope(true, approve, input), envelope(false, reject, nil) }) })
  return {
    responseSchema = response,
    responseSchemaHash = _M.digest(canonical(response, 0)),
    approvalSchemaHash = _M.digest(canonical(obj({ approve = approve or json.null, reject = reject or json.null }), 0)),
  }
end

--- The interrupt asking the caller to run a client tool: client_tool_<toolCallId>.
function _M.client_tool(tool, call_id, tool_name, input, run_id)
  local response = (tool and tool.outputSchema) or obj()
  local id = "client_tool_" .. call_id
  return {
    id = id,
    reason = _M.CLIENT_TOOL_REASON,
    message = "Client tool " .. tool_name .. " is ready to run",
    toolCallId = call_id,
    responseSchema = response,
    metadata = obj({
      kind = "client_tool",
      toolName = tool_name,
      input = input,
      [_M.BINDING_KEY] = obj({
        v = _M.BINDING_VERSION,
        kind = "client-tool-execution",
        interruptId = id,
        toolName = tool_name,
        toolCallId = call_id,
        outputSchemaHash = _M.hash_schema(tool and tool.outputSchema),
        responseSchemaHash = _M.digest(canonical(response, 0)),
        interruptedRunId = run_id,
        generation = 0,
      }),
    }),
  }
end

--- The interrupt asking for an approval: approval_<toolCallId>.
function _M.approval(tool, call_id, tool_name, input, run_id)
  local a = _M.approval_schema(tool)
  local id = "approval_" .. call_id
  return {
    id = id,
    reason = "tool_call",
    message = "Approval required to run " .. tool_name,
    toolCallId = call_id,
    responseSchema = a.responseSchema,
    metadata = obj({
      kind = "approval",
      toolName = tool_name,
      input = input,
      [_M.BINDING_KEY] = obj({
        v = _M.BINDING_VERSION,
        kind = "tool-approval",
        interruptId = id,
        toolName = tool_name,
        toolCallId = call_id,
        originalArgs = input,
        inputSchemaHash = _M.hash_schema(tool.inputSchema),
        approvalSchemaHash = a.approvalSchemaHash,
        responseSchemaHash = a.responseSchemaHash,
        interruptedRunId = run_id,
        generation = 0,
      }),
    }),
  }
end

---------------------------------------------------------------------------------------------------
-- Resume validation (validateInterruptResumeBatch, for tool interrupts)
---------------------------------------------------------------------------------------------------

local function item_error(ctx, interrupt_id, code, message, source)
  return { scope = "item", threadId = ctx.threadId, interruptedRunId = ctx.interruptedRunId, generation = 0,
    interruptId = interrupt_id, code = code, message = message, source = source or "client", retryable = false }
end

local function batch_error(ctx, code, message, ids, source)
  return { scope = "batch", threadId = ctx.threadId, interruptedRunId = ctx.interruptedRunId, generation = 0,
    code = code, message = message, source = source or "client", retryable = false, interruptIds = json.array(ids) }
end

--- The error of a resume without parentRunId.
function _M.missing_parent_error(thread_id, run_id, resume)
  local ids = {}
  for i, r in ipairs(resume) do ids[i] = tostring(r.interruptId) end
  return { batch_error({ threadId = thread_id, interruptedRunId = run_id }, "stale",
    "Interrupt continuation requires parentRunId to identify the interrupted run.", ids, "server") }
end

-- Errors grouped by interrupt id; listed by sorted id (a group exists only where there is an error: sorting one
-- per record cost O(n log n) on success).
local function error_groups()
  local by, order = {}, {}
  local g = {}
  function g.add(id, e)
    local list = by[id]
    if not list then list = {}; by[id] = list; order[#order + 1] = id end
    list[#list + 1] = e
  end
  function g.has(id) return by[id] ~= nil end
  function g.sorted()
    sort(order)
    local out = {}
    for _, id in ipairs(order) do
      for _, e in ipairs(by[id]) do out[#out + 1] = e end
    end
    return out
  end
  return g
end

-- Resume entries by interruptId (the first of duplicates), and how often each id appears.
local function index_resume(resume)
  local by_id, counts = {}, {}
  for _, r in ipairs(resume) do
    local id = r.interruptId
    counts[id] = (counts[id] or 0) + 1
    if by_id[id] == nil then by_id[id] = r end
  end
  return by_id, counts
end

-- What is wrong with a pending record's resume entry (nil: none).
local function entry_problem(ctx, rec, entry)
  local id = rec.interruptId
  if not entry then
    return item_error(ctx, id, "unknown-interrupt", "Missing resume entry for interrupt " .. id .. ".")
  elseif entry.status ~= "resolved" and entry.status ~= "cancelled" then
    return item_error(ctx, id, "invalid-payload",
      "Interrupt " .. id .. " has invalid status " .. tostring(entry.status) .. ".")
  elseif entry.status == "cancelled" then
    if entry.payload ~= nil then
      return item_error(ctx, id, "invalid-payload", "Cancelled interrupt " .. id .. " must not include a payload.")
    end
  elseif rec.kind == "approval" then
    local p = entry.payload
    local envelope = type(p) == "table" and p or nil
    if type(p) ~= "boolean" and not (envelope and type(envelope.approved) == "boolean") then
      return item_error(ctx, id, "invalid-payload", "Approval " .. id .. " must be a boolean or decision envelope.")
    elseif envelope and envelope.approved and envelope.editedArgs ~= nil and rec.tool.inputSchema == nil then
      return item_error(ctx, id, "invalid-edited-args",
        "Approval " .. id .. " cannot edit arguments without an input schema.")
    end
  end
  return nil
end

-- The state a valid batch resolves to (see validate).
local function resolved_state(records, by_id)
  local state = { approvals = {}, clientResults = {}, cancelled = {}, denied = {} }
  for _, rec in ipairs(records) do
    local entry = by_id[rec.interruptId]
    local call_id = rec.toolCallId
    if entry.status == "cancelled" then
      state.cancelled[call_id] = true
    elseif rec.kind == "client" then
      state.clientResults[call_id] = { value = entry.payload }
    else
      local p = entry.payload
      local resolution
      if type(p) == "boolean" then
        resolution = p
      elseif p.approved == true then
        resolution = { approved = true, editedArgs = p.editedArgs, payload = p.payload }
      else
        resolution = { approved = false, payload = p.payload }
      end
      state.approvals[call_id] = resolution
      if resolution == false or (type(resolution) == "table" and not resolution.approved) then
        state.denied[call_id] = type(resolution) == "table" and resolution.payload or nil
      end
    end
  end
  return state
end

--- Validate resume entries against the pending records ({interruptId, kind = "client"|"approval", toolCallId,
--- tool}). Returns the errors (an array, empty when the batch is valid) and the resolved state:
--- { approvals = {[toolCallId] = true|false|{approved, editedArgs?, payload?}}, clientResults = {[toolCallId] =
--- {value = payload}}, cancelled = {[toolCallId] = true}, denied = {[toolCallId] = payload} }.
function _M.validate(ctx, records, resume)
  local groups = error_groups()
  local by_id, counts = index_resume(resume)
  for _, r in ipairs(resume) do
    local id = r.interruptId
    if counts[id] > 1 and not groups.has(id) then
      groups.add(id, item_error(ctx, id, "conflict", "Interrupt " .. id .. " has duplicate resume entries."))
    end
  end
  local pending_ids, known = {}, {}
  local incomplete = false
  for _, rec in ipairs(records) do
    local id = rec.interruptId
    pending_ids[#pending_ids + 1] = id
    known[id] = true
    if not by_id[id] then incomplete = true end
    local e = entry_problem(ctx, rec, by_id[id])
    if e then groups.add(id, e) end
  end
  for _, r in ipairs(resume) do
    local id = r.interruptId
    if not known[id] then
      incomplete = true
      groups.add(id, item_error(ctx, id, "unknown-interrupt", "Resume entry references unknown interrupt " .. id .. "."))
    end
  end
  local errs = groups.sorted()
  if #errs > 0 then
    if incomplete then
      errs[#errs + 1] = batch_error(ctx, "incomplete-batch",
        "Resume entries must resolve or cancel the complete interrupt batch.", pending_ids)
    end
    errs[#errs + 1] = batch_error(ctx, "item-validation-failed", "One or more interrupt resolutions are invalid.",
      pending_ids)
    return errs
  end
  return errs, resolved_state(records, by_id)
end

--- RUN_ERROR text for a failed validation: every message joined with " "; the code is the first error's.
function _M.failure(errs)
  local msgs = {}
  for i, e in ipairs(errs) do msgs[i] = e.message end
  return concat(msgs, " "), errs[1] and errs[1].code or "server"
end

return _M
