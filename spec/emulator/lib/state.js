'use strict';
// What the emulator remembers: the recorded requests and the queued scenarios.

const util = require('./util');

const state = {
  records: [],
  scenarios: [],
  lastActivity: Date.now(),
  active: 0,
  connCounter: 0,
  shutdown: (code) => process.exit(code || 0),   // replaced by server.js
};

function scenarioMatches(sc, path) {
  if (sc.match === undefined || sc.match === null || sc.match === '') return true;
  return String(path).indexOf(String(sc.match)) >= 0;
}

// Take (consume one use of) the first queued scenario matching this path.
function takeScenario(path) {
  for (let i = 0; i < state.scenarios.length; i++) {
    const sc = state.scenarios[i];
    if (!scenarioMatches(sc, path)) continue;
    sc.__left -= 1;
    if (sc.__left <= 0) state.scenarios.splice(i, 1);
    const copy = Object.assign({}, sc);
    delete copy.__left;
    return copy;
  }
  return null;
}

function queueScenario(sc) {
  if (!sc || typeof sc !== 'object' || Array.isArray(sc)) throw new Error('scenario must be a JSON object');
  const s = Object.assign({}, sc);
  let times = s.times === undefined ? 1 : Number(s.times);
  if (!Number.isFinite(times) || times < 1) times = 1;
  s.__left = times;
  state.scenarios.push(s);
}

// Record a request (everything except /__emulator/*); sets ctx.json, ctx.multipart, ctx.record.
function recordRequest(ctx, req, res) {
  const body = ctx.body;
  const json = util.tryJson(body);
  const record = {
    method: ctx.method,
    path: ctx.path,
    query: ctx.query,
    headers: ctx.headers,
    body: body.toString('utf8'),
    body_base64: body.toString('base64'),
    closed_early: false,
    conn_id: ctx.conn_id,
    t: ctx.started,
  };
  if (json !== undefined) record.json = json;
  const mp = util.parseMultipart(body, req.headers['content-type']);
  if (mp) record.multipart = mp;
  state.records.push(record);
  ctx.json = json;
  ctx.multipart = mp;
  ctx.record = record;

  res.on('close', () => {
    if (!res.writableFinished && !res.__serverDropped) {
      record.closed_early = true;
    }
    if (res.__serverDropped) record.dropped = true;
  });
  return record;
}

module.exports = { state, takeScenario, queueScenario, recordRequest };
