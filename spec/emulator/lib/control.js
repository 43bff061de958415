'use strict';
// The control API, /__emulator/* (table "control" in lib/tables.js). These requests are
// not recorded and take no scenario. handler(ctx, res, params).

const { state, queueScenario } = require('./state');
const { tryJson } = require('./util');

function sendJson(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
}

function requests(ctx, res) {
  let recs = state.records;
  if (ctx.query.match) recs = recs.filter((r) => r.path.indexOf(ctx.query.match) >= 0);
  return sendJson(res, 200, recs);
}

function reset(ctx, res) {
  state.records = [];
  state.scenarios = [];
  return sendJson(res, 200, { ok: true });
}

function next(ctx, res) {
  const body = tryJson(ctx.body);
  try {
    if (Array.isArray(body)) body.forEach(queueScenario); else queueScenario(body);
  } catch (e) {
    return sendJson(res, 400, { ok: false, error: e.message });
  }
  return sendJson(res, 200, { ok: true, queued: state.scenarios.length });
}

function scenarios(ctx, res) {
  return sendJson(res, 200, state.scenarios.map((s) => Object.assign({}, s, { times_left: s.__left })));
}

function health(ctx, res) {
  return sendJson(res, 200, { ok: true, pid: process.pid, requests: state.records.length, queued: state.scenarios.length });
}

function shutdown(ctx, res) {
  sendJson(res, 200, { ok: true });
  setTimeout(() => state.shutdown(0), 10);
  return undefined;
}

function unknown(ctx, res) {
  return sendJson(res, 404, { ok: false, error: 'unknown control endpoint' });
}

module.exports = { sendJson, requests, reset, next, scenarios, health, shutdown, unknown };
