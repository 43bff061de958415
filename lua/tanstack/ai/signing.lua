-- Signed tool calls: the server's proof that a tool call in a posted history is one its own model turn produced,
-- with these arguments, in this thread. Stateless (one shared secret serves every worker and host).
--
-- A signed tool call id is  "call_" <10 hex nonce> "_" <24 hex MAC>  (40 characters: the longest tool call id
-- OpenAI accepts), where MAC = HMAC-SHA256(secret, canonical JSON of {v, thread, nonce, name, args}) truncated to
-- 96 bits, compared in constant time. The arguments are canonicalized (TanStack's canonical JSON of the decoded
-- object) so that a client re-serializing them changes nothing, while any change of a value breaks the MAC.
-- The id travels through @tanstack/ai-client verbatim: in the assistant message's tool calls, and inside the
-- interrupt ids (approval_<id>, client_tool_<id>) that a resume echoes.
-- The nonce's first two hex digits are a fingerprint of the secret: a call signed under another secret (another
-- worker without the shared one, a rotation) is told apart from a tampered one in the server's log. With a
-- conversation id (a value the server handed out, e.g. its session cookie: ai.chat's conversationId) the MAC
-- covers it too, so a call pasted into another client's conversation does not verify, whatever thread id it names.
local core = require("tanstack.ai.core")
local interrupts = require("tanstack.ai.interrupts")
local json = require("tanstack.ai.json")
local store_mod = require("tanstack.ai.router.store")

local type, setmetatable, tostring = type, setmetatable, tostring
local byte, format, rep = string.byte, string.format, string.rep

local _M = {}

_M.VERSION = 1
_M.MIN_SECRET_BYTES = 16
local MAC_HEX = 24

local process_secret -- one random secret per process when the caller gives none

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local Signer = {}
Signer.__index = Signer
Signer.__tostring = function() return "tanstack.ai.signing.signer" end -- never the secret

--- A signer for a secret (a string of at least 16 bytes), or the per-process random one when secret is nil.
function _M.new(secret)
  if secret == nil then
    process_secret = process_secret or core.random_hex(32)
    secret = process_secret
  end
  if type(secret) ~= "string" or #secret < _M.MIN_SECRET_BYTES then
    error("signingSecret must be a string of at least " .. _M.MIN_SECRET_BYTES .. " bytes", 3)
  end
  return setmetatable({ secret = secret, fp = hex(core.hmac_sha256(secret, "tanstack.ai fingerprint")):sub(1, 2) },
    Signer)
end

local function mac(secret, thread, nonce, name, args, conversation)
  -- through JSON once, so that a marked empty object and a decoded one ({} both) canonicalize alike
  args = json.decode(json.encode(args))
  local msg = interrupts.canonical(json.object({ v = _M.VERSION, thread = thread, nonce = nonce, name = name,
    args = args, conversation = conversation }))
  return hex(core.hmac_sha256(secret, msg)):sub(1, MAC_HEX)
end

local function conv(c)
  if c == nil or c == "" then return nil end
  return tostring(c)
end

--- The signed id for a call: thread (the caller's thread id, "" when none), the tool name, its arguments (a
--- decoded table) and the server-issued conversation id (optional).
function Signer:sign(thread, name, args, conversation)
  local nonce = self.fp .. core.random_hex(4)
  return "call_" .. nonce .. "_" .. mac(self.secret, thread or "", nonce, tostring(name), args, conv(conversation))
end

--- Does `id` carry a valid MAC for this thread, name, arguments and conversation? true, or false and why:
--- "unsigned" (not an id this library signs), "secret" (signed under another secret: a misconfigured or rotated
--- secret), "tampered" (this secret's id, but another thread, conversation, tool or arguments).
function Signer:verify(thread, id, name, args, conversation)
  if type(id) ~= "string" or type(name) ~= "string" or type(args) ~= "table" then return false, "unsigned" end
  local nonce, got = id:match("^call_(%x%x%x%x%x%x%x%x%x%x)_(" .. rep("%x", MAC_HEX) .. ")$")
  if not nonce then return false, "unsigned" end
  local ok, want = pcall(mac, self.secret, thread or "", nonce, name, args, conv(conversation))
  if ok and core.timing_safe_equal(want, got) then return true end
  if nonce:sub(1, 2) ~= self.fp then return false, "secret" end
  return false, "tampered"
end

--- Does a JSON text repeat a key inside one object? (A decoder keeps the last value, a reader of the text sees
--- the first: the MAC must not cover something else than what the user approved.) Escapes are decoded before
--- keys are compared; a malformed text is the decoder's to refuse (false here).
function _M.duplicate_keys(s)
  if type(s) ~= "string" or not s:find('"', 1, true) then return false end
  local stack, top, expect_key = {}, 0, false
  local i = s:find('[{}%[%],"]', 1)
  while i do
    local c = byte(s, i)
    if c == 123 then -- {
      top = top + 1
      stack[top] = {}
      expect_key = true
    elseif c == 91 then -- [
      top = top + 1
      stack[top] = false
      expect_key = false
    elseif c == 125 or c == 93 then -- } ]
      stack[top] = nil
      top = top - 1
      expect_key = false
    elseif c == 44 then -- ,
      expect_key = type(stack[top]) == "table"
    else -- a string: find its end
      local j = i + 1
      while true do
        local q = s:find('["\\]', j)
        if not q then return false end
        if byte(s, q) == 92 then j = q + 2 else j = q break end
      end
      if expect_key and type(stack[top]) == "table" then
        local key = s:sub(i + 1, j - 1)
        if key:find("\\", 1, true) then key = json.decode('"' .. key .. '"') or key end
        if stack[top][key] then return true end
        stack[top][key] = true
        expect_key = false
      end
      i = j
    end
    i = s:find('[{}%[%],"]', i + 1)
  end
  return false
end


---------------------------------------------------------------------------------------------------
-- The once-only ledger
---------------------------------------------------------------------------------------------------

-- The once-only ledger of server tool calls, and the approvals the server issued. A server tool call executes at
-- most once per issued (signed) call id: its first execution claims the id (the store's set-if-absent) and records
-- the outcome; a re-posted history or approval gets the recorded outcome back instead of a second run. An
-- approval is valid only for the run that asked for it and for approvalTtl seconds.
--
-- The state lives in a state store (router/store.lua): the process's own bounded memory store by default (the
-- library outside nginx), a lua_shared_dict (per host) or Redis (across hosts) when the caller passes one as
-- ai.chat's `ledger`. When the store fails, tools with side effects (sideEffects = true, or needsApproval) do not
-- run (fail closed); others run without the ledger (docs/security.md).

_M.LEDGER_TTL = 86400           -- how long an executed call is remembered (s)
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

--- ledger{ store = a state store (default: the process's), ttl = 86400, approvalTtl = 600 }
function _M.ledger(opts)
  opts = opts or {}
  return setmetatable({ store = opts.store or _M.default_store(), ttl = opts.ttl or _M.LEDGER_TTL,
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
