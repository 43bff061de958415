-- The once-only ledger of server tool calls, and the approvals the server issued. A server tool call executes at
-- most once per issued (signed) call id: its first execution claims the id (the store's set-if-absent) and records
-- the outcome; a re-posted history or approval gets the recorded outcome back instead of a second run. An
-- approval is valid only for the run that asked for it and for approvalTtl seconds.
--
-- The state lives in a state store (router/store.lua): the process's own bounded memory store by default (the
-- library outside nginx), a lua_shared_dict (per host) or Redis (across hosts) when the caller passes one as
-- ai.chat's `ledger`. When the store fails, tools with side effects (sideEffects = true, or needsApproval) do not
-- run (fail closed); others run without the ledger (docs/security.md).
local store_mod = require("tanstack.ai.router.store")

local type, tostring, setmetatable = type, tostring, setmetatable

local _M = {}

_M.TTL = 86400           -- how long an executed call is remembered (s)
_M.APPROVAL_TTL = 600    -- how long an issued approval may be answered (s)
_M.MAX_KEYS = 100000     -- calls and approvals the per-process store keeps (router/store.lua's memory store)
_M.MAX_RECORDED = 65536  -- the largest outcome kept for a replay (bytes); a larger one is answered with a note

local process_store
--- The per-process store of ai.chat without a `ledger` option (bounded: router/store.lua's memory store).
function _M.default_store()
  process_store = process_store or store_mod.memory({ maxKeys = _M.MAX_KEYS })
  return process_store
end

local Ledger = {}
Ledger.__index = Ledger

--- new{ store = a state store (default: the process's), ttl = 86400, approvalTtl = 600 }
function _M.new(opts)
  opts = opts or {}
  return setmetatable({ store = opts.store or _M.default_store(), ttl = opts.ttl or _M.TTL,
    approval_ttl = opts.approvalTtl or _M.APPROVAL_TTL }, Ledger)
end

--- A tool whose second run would do harm: marked sideEffects = true, or needsApproval (unless sideEffects = false).
function _M.has_side_effects(tool)
  if type(tool) ~= "table" then return false end
  if tool.sideEffects ~= nil then return tool.sideEffects == true end
  return tool.needsApproval == true
end

--- Claim a call id before running it: "run" (this caller runs it), "done", content, failed (it ran; its
--- recorded outcome), "busy" (it is running), or nil, err (the store failed).
function Ledger:claim(id)
  local ok, cur = self.store:add("x:" .. id, "p", self.ttl)
  if ok == true then return "run" end
  if ok == nil then return nil, cur end
  if type(cur) == "string" then
    local tag = cur:sub(1, 2)
    if tag == "r:" or tag == "f:" then return "done", cur:sub(3), tag == "f:" end
  end
  return "busy"
end

--- Record the outcome of a claimed call (the content its TOOL_CALL_RESULT carried; failed: an output-error).
function Ledger:record(id, content, failed)
  content = tostring(content)
  if #content > _M.MAX_RECORDED then
    content, failed = '{"error":"This tool call already ran; its result was too large to keep"}', true
  end
  return self.store:set("x:" .. id, (failed and "f:" or "r:") .. content, self.ttl)
end

--- The server asked `run_id` for an approval of call `id`.
function Ledger:issue(id, run_id)
  return self.store:set("a:" .. id, "r:" .. tostring(run_id), self.approval_ttl)
end

--- May an approval of call `id` posted by a run whose parent is `parent_run_id` be taken? true, or false and
--- "expired" (never issued here, or older than approvalTtl) / "wrong_run", or nil, err (the store failed).
function Ledger:approval(id, parent_run_id)
  local v, err = self.store:get("a:" .. id)
  if v == nil then
    if err ~= nil then return nil, err end
    return false, "expired"
  end
  if v ~= "r:" .. tostring(parent_run_id) then return false, "wrong_run" end
  return true
end

return _M
