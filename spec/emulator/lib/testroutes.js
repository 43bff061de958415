'use strict';
// Generic /__test/* endpoints for the C HTTP layer tests (table "test" in lib/tables.js).
// They write to the socket directly (they are the faults themselves):
// handler(ctx, req, res, params) -> Promise, done when the answer is written.

const { sleepWhileConnected, writeAsync, isGone, destroyAfterFlush } = require('./send');

function intParam(q, name, dflt) {
  const v = q[name];
  if (v === undefined || v === '') return dflt;
  const n = parseInt(Array.isArray(v) ? v[v.length - 1] : v, 10);
  return Number.isFinite(n) ? n : dflt;
}

function json(res, status, obj, extra) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, Object.assign({ 'content-type': 'application/json', 'content-length': String(body.length) }, extra || {}));
  res.end(body);
}

function patternBytes(n, offset) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + (offset || 0)) % 256;
  return b;
}

async function echo(ctx, req, res) {
  json(res, 200, {
    method: ctx.method, path: ctx.path, query: ctx.query, headers: ctx.headers,
    body_base64: ctx.body.toString('base64'), conn_id: ctx.conn_id,
  });
}

async function conn(ctx, req, res) {
  json(res, 200, { conn_id: ctx.conn_id });
}

async function bytes(ctx, req, res) {
  const n = Math.max(0, intParam(ctx.query, 'n', 0));
  const body = patternBytes(n);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
  res.end(body);
}

async function drip(ctx, req, res) {
  const q = ctx.query;
  const n = Math.max(0, intParam(q, 'n', 10));
  const delay = Math.max(0, intParam(q, 'delay_ms', 50));
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  for (let i = 0; i < n; i++) {
    if (i > 0 && delay > 0 && !(await sleepWhileConnected(res, delay))) return;
    if (!(await writeAsync(res, 'chunk-' + i + '\n'))) return;
  }
  if (!isGone(res)) res.end();
}

async function stall(ctx, req, res) {
  const q = ctx.query;
  const after = Math.max(0, intParam(q, 'after_bytes', 0));
  const ms = Math.max(0, intParam(q, 'ms', 10000));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-cache' });
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  if (after > 0 && !(await writeAsync(res, patternBytes(after)))) return;
  if (!(await sleepWhileConnected(res, ms))) return;
  if (!isGone(res)) res.end(patternBytes(16, after));
}

async function drop(ctx, req, res) {
  const q = ctx.query;
  const after = Math.max(0, intParam(q, 'after_bytes', 0));
  const declared = Math.max(after + 1, intParam(q, 'content_length', after * 2 + 100));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(declared) });
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  if (after > 0) await writeAsync(res, patternBytes(after));
  res.__serverDropped = true;
  destroyAfterFlush(res.socket || req.socket, res);
}

async function status(ctx, req, res, params) {
  const code = parseInt(params.code, 10);
  const extra = {};
  if (ctx.query.retry_after !== undefined) extra['retry-after'] = String(ctx.query.retry_after);
  if (code === 204 || code === 304 || (code >= 100 && code < 200)) {
    res.writeHead(code === 101 || code < 200 ? 200 : code, extra);
    res.end();
  } else {
    json(res, code, { status: code }, extra);
  }
}

async function headDelay(ctx, req, res) {
  const ms = Math.max(0, intParam(ctx.query, 'ms', 1000));
  if (!(await sleepWhileConnected(res, ms))) return;
  json(res, 200, { ok: true, delayed_ms: ms });
}

// n SSE events "data: {"i":k}" with delay_ms between them, then [DONE].
async function sse(ctx, req, res) {
  const q = ctx.query;
  const n = Math.max(0, intParam(q, 'n', 3));
  const delay = Math.max(0, intParam(q, 'delay_ms', 0));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  for (let i = 0; i < n; i++) {
    if (i > 0 && delay > 0 && !(await sleepWhileConnected(res, delay))) return;
    if (!(await writeAsync(res, 'data: {"i":' + i + '}\n\n'))) return;
  }
  if (!isGone(res)) res.end('data: [DONE]\n\n');
}

module.exports = { echo, conn, bytes, drip, stall, drop, status, headDelay, sse };
