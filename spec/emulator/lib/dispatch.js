'use strict';
// The dispatcher: matches each request against the route tables (lib/tables.js, via
// lib/router.js) and runs what matched according to the owning table's kind:
//
//   control  handler(ctx, res, params) answers; the request is not recorded.
//   socket   (/__test/*) the scenario is taken first (status -> error answer,
//            head_delay_ms -> wait), then handler(ctx, req, res, params) writes the answer.
//   direct   handler(ctx, params) -> Reply; no scenario is taken (the universal endpoint
//            takes one per step itself).
//   model    the provider pipeline (route()): take the scenario, then
//            scenario error (status >= 400, in the route's `shape`)
//            > gateway auth (`gateway`: ids starting with "auth" need cf-aig-authorization)
//            > `auth: 'bearer'` (Authorization: Bearer, else 401 10000)
//            > strict mode's refusals (lib/strict.js; Workers AI REST only, off by default)
//            > handler(ctx, sc, params) -> Reply, with the scenario's overrides applied;
//            then cf-ai-req-id (`workersAi`) and the cf-aig-* headers (`gateway`).
//
// Anything else (no table, or a table none of whose routes matches) goes through the
// model pipeline as "no route": 404 code 7003, or the scenario's error.

const U = require('./util');
const { sendReply } = require('./send');
const { match } = require('./router');
const { TABLES } = require('./tables');
const { takeScenario, recordRequest } = require('./state');
const { errorReply, simpleError } = require('./errors');
const { bearer, gatewayHeaders, gatewayAuthFails } = require('./gateway');
const strict = require('./strict');

// ---------------------------------------------------------------- scenario overrides
function splitSseRaw(raw) {
  const events = [];
  let rest = String(raw);
  for (;;) {
    const m = /\r?\n\r?\n/.exec(rest);
    if (!m) break;
    const end = m.index + m[0].length;
    events.push(rest.slice(0, end));
    rest = rest.slice(end);
  }
  if (rest.length) events.push(rest);
  return events;
}

function applyOverrides(reply, sc) {
  if (!sc) return reply;
  const headers = Object.assign({}, reply.headers || {});
  let r = Object.assign({}, reply, { headers });
  if (Array.isArray(sc.sse) || typeof sc.sse_raw === 'string' || Array.isArray(sc.chunks)) {
    let events;
    if (Array.isArray(sc.sse)) events = sc.sse.map((x) => 'data: ' + (typeof x === 'string' ? x : JSON.stringify(x)) + '\n\n');
    else if (typeof sc.sse_raw === 'string') events = splitSseRaw(sc.sse_raw);
    else events = sc.chunks.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    r = { status: 200, headers, events };
    delete headers['content-length'];
    headers['content-type'] = 'text/event-stream';
    headers['cache-control'] = 'no-cache';
  } else if (sc.json !== undefined || sc.raw !== undefined || sc.raw_base64 !== undefined) {
    let body;
    if (sc.json !== undefined) { body = JSON.stringify(sc.json); headers['content-type'] = 'application/json'; } else if (sc.raw !== undefined) { body = String(sc.raw); } else { body = Buffer.from(String(sc.raw_base64), 'base64'); }
    r = { status: 200, headers, body };
    if (sc.raw !== undefined || sc.raw_base64 !== undefined) {
      if (!sc.content_type && /event-stream/.test(headers['content-type'] || '')) headers['content-type'] = 'application/octet-stream';
    }
  }
  if (sc.content_type) headers['content-type'] = sc.content_type;
  if (sc.status !== undefined && Number(sc.status) < 400) r.status = Number(sc.status);
  if (sc.retry_after !== undefined) headers['retry-after'] = String(sc.retry_after);
  return r;
}

// ---------------------------------------------------------------- model pipeline
// Answer one (possibly virtual: a universal step) request with its scenario. `hit` is the
// match for ctx when the caller has it. Returns a Reply.
function route(ctx, sc, opts, hit) {
  sc = sc || {};
  opts = opts || {};
  if (hit === undefined) hit = match(TABLES, ctx.method, ctx.path);
  const r = hit && hit.route && hit.table.kind === 'model' ? hit : null;
  const o = r ? r.route.opts : null;
  const scError = sc.status !== undefined && Number(sc.status) >= 400;
  let reply;
  if (!r) {
    reply = scError ? errorReply(ctx, sc, 'cloudflare') : simpleError('cloudflare', 404, 7003, 'No route for that URI');
  } else if (scError) {
    reply = errorReply(ctx, sc, o.shape);
  } else if (o.gateway && !opts.skipGatewayAuth && gatewayAuthFails(ctx, r.params.gw)) {
    reply = simpleError('gateway', 401, 2009, 'Unauthorized');
  } else {
    const refused = r.table.name === 'workers-ai' ? strict.refusal(ctx, r.params) : null;
    const answer = o.auth === 'bearer' && !bearer(ctx.headers.authorization)
      ? simpleError('cloudflare', 401, 10000, 'Authentication error')
      : refused || r.route.handler(ctx, sc, r.params);
    reply = applyOverrides(answer, sc);
    reply.headers = reply.headers || {};
    if (o.workersAi) reply.headers['cf-ai-req-id'] = U.uuid();
  }
  reply.headers = reply.headers || {};
  if (r && o.gateway) Object.assign(reply.headers, gatewayHeaders(ctx, sc));
  reply.scenario = sc;
  return reply;
}

async function replyFor(ctx, hit) {
  if (hit && hit.route && hit.table.kind === 'direct') return hit.route.handler(ctx, hit.params);
  return route(ctx, takeScenario(ctx.path) || {}, {}, hit);
}

// ---------------------------------------------------------------- the dispatcher
// ctx: { method, path, rawQuery, query, headers, body (Buffer), conn_id, localPort, started }
async function dispatch(ctx, req, res) {
  const hit = match(TABLES, ctx.method, ctx.path);
  const kind = hit ? hit.table.kind : null;
  if (kind === 'control' && hit.route) return hit.route.handler(ctx, res, hit.params);

  const record = recordRequest(ctx, req, res);

  if (kind === 'socket') {
    const sc = takeScenario(ctx.path);
    if (sc) record.scenario = sc;
    if (sc && (sc.status !== undefined || sc.head_delay_ms !== undefined)) {
      const reply = sc.status !== undefined ? errorReply(ctx, sc, 'test') : null;
      if (reply) { record.status = reply.status; return sendReply(req, res, reply, sc); }
      await new Promise((r) => setTimeout(r, Number(sc.head_delay_ms) || 0));
    }
    if (hit.route) {
      await hit.route.handler(ctx, req, res, hit.params);
      record.status = res.statusCode;
      return undefined;
    }
  }

  ctx.takeScenario = takeScenario;
  ctx.routeStep = route;
  let reply;
  try {
    reply = await replyFor(ctx, hit);
  } catch (e) {
    process.stderr.write('emulator: handler error: ' + (e && e.stack || e) + '\n');
    reply = {
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: null, success: false, errors: [{ code: 3043, message: 'Emulator internal error: ' + (e && e.message) }], messages: [] }),
    };
  }
  if (reply.scenario) record.scenario = reply.scenario;
  return sendReply(req, res, reply, reply.scenario || {}, {
    onHead: (status) => { record.status = status; },
  });
}

module.exports = { dispatch, route, applyOverrides, TABLES };
