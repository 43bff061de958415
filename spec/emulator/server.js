#!/usr/bin/env node
'use strict';
// Local emulator of Cloudflare Workers AI (REST), AI Gateway (provider paths + universal
// endpoint) and the upstream providers routed through it (OpenAI, Anthropic, Gemini, xAI,
// OpenRouter). Node standard library only (Node >= 18).
//
//   node spec/emulator/server.js [--port 0] [--parent-pid PID] [--idle-exit SECONDS]
//
// Prints exactly one line "EMULATOR LISTENING http://127.0.0.1:<port>" when ready.
// See spec/emulator/README.md for the control API, scenarios and routes.

const http = require('http');
const url = require('url');

const util = require('./lib/util');
const { sendReply } = require('./lib/send');
const testroutes = require('./lib/testroutes');
const routes = require('./lib/routes');

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = { port: 0, parentPid: 0, idleExit: 300, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(0, eq) : a;
    const val = () => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (key === '--port') o.port = parseInt(val(), 10) || 0;
    else if (key === '--parent-pid') o.parentPid = parseInt(val(), 10) || 0;
    else if (key === '--idle-exit') { const v = Number(val()); o.idleExit = Number.isFinite(v) ? v : 300; }
    else if (key === '--host') o.host = val();
    else if (key === '--help' || key === '-h') {
      process.stdout.write('usage: node server.js [--port 0] [--parent-pid PID] [--idle-exit SECONDS]\n');
      process.exit(0);
    }
  }
  if (o.host !== '127.0.0.1' && o.host !== 'localhost') {
    process.stderr.write('emulator: refusing to bind to ' + o.host + ' (127.0.0.1 only)\n');
    process.exit(2);
  }
  o.host = '127.0.0.1';
  return o;
}
const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- state
const state = {
  records: [],
  scenarios: [],
  lastActivity: Date.now(),
  active: 0,
  connCounter: 0,
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

// ---------------------------------------------------------------- helpers
function parseQuery(search) {
  const out = {};
  if (!search) return out;
  const sp = new url.URLSearchParams(search);
  for (const [k, v] of sp) {
    if (Object.prototype.hasOwnProperty.call(out, k)) {
      if (Array.isArray(out[k])) out[k].push(v); else out[k] = [out[k], v];
    } else out[k] = v;
  }
  return out;
}

function sendJson(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
}

function tryJson(buf) {
  if (!buf || buf.length === 0) return undefined;
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  if (i >= buf.length) return undefined;
  const c = buf[i];
  // Only objects/arrays/strings/literals that look like JSON.
  if (!(c === 0x7b || c === 0x5b || c === 0x22 || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e)) return undefined;
  try { return JSON.parse(buf.toString('utf8')); } catch (e) { return undefined; }
}

// ---------------------------------------------------------------- control API
async function handleControl(ctx, req, res) {
  const p = ctx.path;
  if (p === '/__emulator/requests' && ctx.method === 'GET') {
    let recs = state.records;
    if (ctx.query.match) recs = recs.filter((r) => r.path.indexOf(ctx.query.match) >= 0);
    return sendJson(res, 200, recs);
  }
  if (p === '/__emulator/reset') {
    state.records = [];
    state.scenarios = [];
    return sendJson(res, 200, { ok: true });
  }
  if (p === '/__emulator/next') {
    const body = tryJson(ctx.body);
    try {
      if (Array.isArray(body)) body.forEach(queueScenario); else queueScenario(body);
    } catch (e) {
      return sendJson(res, 400, { ok: false, error: e.message });
    }
    return sendJson(res, 200, { ok: true, queued: state.scenarios.length });
  }
  if (p === '/__emulator/scenarios') {
    return sendJson(res, 200, state.scenarios.map((s) => Object.assign({}, s, { times_left: s.__left })));
  }
  if (p === '/__emulator/health') {
    return sendJson(res, 200, { ok: true, pid: process.pid, requests: state.records.length, queued: state.scenarios.length });
  }
  if (p === '/__emulator/shutdown') {
    sendJson(res, 200, { ok: true });
    setTimeout(() => shutdown(0), 10);
    return undefined;
  }
  return sendJson(res, 404, { ok: false, error: 'unknown control endpoint' });
}

// ---------------------------------------------------------------- request handling
async function handle(req, res) {
  const started = Date.now();
  const rawUrl = req.url || '/';
  const qpos = rawUrl.indexOf('?');
  const parsed = { pathname: qpos >= 0 ? rawUrl.slice(0, qpos) : rawUrl, query: qpos >= 0 ? rawUrl.slice(qpos + 1) : '' };
  const path = parsed.pathname || '/';
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const ctx = {
    method: req.method,
    path,
    rawQuery: parsed.query || '',
    query: parseQuery(parsed.query || ''),
    headers: Object.assign({}, req.headers),
    body,
    conn_id: req.socket.__connId,
    localPort: req.socket.localPort,
  };
  if (path.startsWith('/__emulator/')) return handleControl(ctx, req, res);

  const json = tryJson(body);
  const record = {
    method: ctx.method,
    path,
    query: ctx.query,
    headers: ctx.headers,
    body: body.toString('utf8'),
    body_base64: body.toString('base64'),
    closed_early: false,
    conn_id: ctx.conn_id,
    t: started,
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

  if (path.startsWith('/__test/')) {
    const sc = takeScenario(path);
    if (sc) record.scenario = sc;
    if (sc && (sc.status !== undefined || sc.head_delay_ms !== undefined)) {
      const reply = sc.status !== undefined ? routes.errorReply(ctx, sc, 'test') : null;
      if (reply) { record.status = reply.status; return sendReply(req, res, reply, sc); }
      await new Promise((r) => setTimeout(r, Number(sc.head_delay_ms) || 0));
    }
    if (await testroutes.handle(ctx, req, res)) { record.status = res.statusCode; return undefined; }
  }

  ctx.takeScenario = takeScenario;
  let reply;
  try {
    reply = await routes.dispatch(ctx);
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

const server = http.createServer((req, res) => {
  state.active += 1;
  state.lastActivity = Date.now();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    state.active -= 1;
    state.lastActivity = Date.now();
  };
  res.on('close', finish);
  res.on('finish', finish);
  handle(req, res).catch((e) => {
    process.stderr.write('emulator: ' + (e && e.stack || e) + '\n');
    try {
      if (!res.headersSent) sendJson(res, 500, { error: String(e && e.message || e) });
      else res.destroy();
    } catch (e2) { /* ignore */ }
  });
});
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.requestTimeout = 0;
server.timeout = 0;
server.maxHeadersCount = 0;

server.on('connection', (sock) => {
  state.connCounter += 1;
  sock.__connId = state.connCounter;
  sock.setNoDelay(true);
  const ra = sock.remoteAddress || '';
  if (!(ra === '127.0.0.1' || ra === '::1' || ra === '::ffff:127.0.0.1' || ra.startsWith('127.'))) sock.destroy();
});
server.on('clientError', (err, sock) => {
  if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
});

let shuttingDown = false;
function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  try { server.close(); } catch (e) { /* ignore */ }
  if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
  setTimeout(() => process.exit(code || 0), 50).unref();
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));
process.stdout.on('error', () => { /* parent gone; keep serving until other checks fire */ });

const watchdog = setInterval(() => {
  if (opts.parentPid > 0) {
    try { process.kill(opts.parentPid, 0); } catch (e) {
      if (e.code === 'ESRCH') return shutdown(0);
    }
  }
  if (opts.idleExit > 0 && state.active === 0 && Date.now() - state.lastActivity > opts.idleExit * 1000) {
    shutdown(0);
  }
}, 500);
watchdog.unref();

server.listen(opts.port, opts.host, () => {
  const addr = server.address();
  process.stdout.write('EMULATOR LISTENING http://127.0.0.1:' + addr.port + '\n');
});
server.on('error', (e) => {
  process.stderr.write('emulator: listen failed: ' + e.message + '\n');
  process.exit(1);
});
// Keep the process alive even though the watchdog is unref'd.
setInterval(() => {}, 1 << 30);
