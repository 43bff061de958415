-- tanstack.ai.ledger: the once-only ledger of server tool calls and the approvals the server issued, over any
-- state store (router/store.lua).
local ledger = require("tanstack.ai.ledger")
local store = require("tanstack.ai.router.store")

describe("ledger", function()
  it("claims a call once; the second claim gets the recorded outcome (and whether it failed)", function()
    local l = ledger.new({ store = store.memory() })
    assert.equals("run", l:claim("call_1"))
    assert.equals("busy", l:claim("call_1")) -- running, no outcome yet
    l:record("call_1", '{"ok":true}', false)
    assert.same({ "done", '{"ok":true}', false }, { l:claim("call_1") })
    assert.equals("run", l:claim("call_2"))
    l:record("call_2", '{"error":"x"}', true)
    assert.same({ "done", '{"error":"x"}', true }, { l:claim("call_2") })
  end)

  it("a result too large to keep is answered with a note", function()
    local l = ledger.new({ store = store.memory() })
    l:claim("c")
    l:record("c", string.rep("x", ledger.MAX_RECORDED + 1))
    local state, content, failed = l:claim("c")
    assert.equals("done", state)
    assert.matches("too large to keep", content)
    assert.is_true(failed)
  end)

  it("approvals: valid for the run that asked, until approvalTtl", function()
    local t = 1000
    local l = ledger.new({ store = store.memory({ clock = function() return t end }), approvalTtl = 60 })
    assert.same({ false, "expired" }, { l:approval("c", "run-1") }) -- never issued
    l:issue("c", "run-1")
    assert.is_true(l:approval("c", "run-1"))
    assert.same({ false, "wrong_run" }, { l:approval("c", "run-2") })
    t = 1061
    assert.same({ false, "expired" }, { l:approval("c", "run-1") })
  end)

  it("a store that fails: nil, err (the caller fails closed for side effects)", function()
    local down = { add = function() return nil, "down" end, get = function() return nil, "down" end,
      set = function() return nil, "down" end }
    local l = ledger.new({ store = down })
    assert.same({ nil, "down" }, { l:claim("c") })
    assert.same({ nil, "down" }, { l:approval("c", "r") })
  end)

  it("side effects: sideEffects = true, or needsApproval unless sideEffects = false", function()
    assert.is_true(ledger.has_side_effects({ sideEffects = true }))
    assert.is_true(ledger.has_side_effects({ needsApproval = true }))
    assert.is_false(ledger.has_side_effects({ needsApproval = true, sideEffects = false }))
    assert.is_false(ledger.has_side_effects({}))
  end)

  it("without a store: one bounded per-process store", function()
    assert.equals(ledger.new().store, ledger.new().store)
    assert.equals(ledger.MAX_KEYS, ledger.default_store().max)
  end)
end)
