'use strict';
// temporary stub; replaced below
function errorReply(ctx, sc) {
  return { status: Number(sc.status) || 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ result: null, success: false, errors: [{ code: sc.code || 3040, message: 'error' }], messages: [] }) };
}
async function dispatch(ctx) {
  const sc = ctx.takeScenario(ctx.path);
  if (sc && sc.status) { const r = errorReply(ctx, sc); r.scenario = sc; return r; }
  return { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ result: null, success: false, errors: [{ code: 7003, message: 'No route for that URI' }], messages: [] }) };
}
module.exports = { dispatch, errorReply };
