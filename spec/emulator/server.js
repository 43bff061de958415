#!/usr/bin/env node
'use strict';
// Local emulator of Cloudflare Workers AI (REST), AI Gateway (provider paths + universal
// endpoint) and the upstream providers routed through it (OpenAI, Anthropic, Gemini, xAI,
// OpenRouter). Node standard library only (Node >= 18).
//
//   node spec/emulator/server.js [--port 0] [--parent-pid PID] [--idle-exit SECONDS] [--api-key KEY] [--lenient]
//
// The Workers AI REST API refuses a malformed account id, a missing key and an unknown model as Cloudflare does;
// --api-key KEY: and any other key; --lenient: no refusals (lib/strict.js). --strict (the default) is accepted.
//
// Prints exactly one line "EMULATOR LISTENING http://127.0.0.1:<port>" when ready.
// See spec/emulator/README.md for the control API, scenarios and routes.

const http = require('http');

const { parseQuery } = require('./lib/util');
const { state } = require('./lib/state');
const { dispatch } = require('./lib/dispatch');
const strict = require('./lib/strict');

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
    else if (key === '--strict') strict.config.on = true;
    else if (key === '--lenient') strict.config.on = false;
    else if (key === '--api-key') { strict.config.on = true; strict.config.apiKey = val(); }
    else if (key === '--help' || key === '-h') {
      process.stdout.write('usage: node server.js [--port 0] [--parent-pid PID] [--idle-exit SECONDS] [--api-key KEY] ' +
        '[--lenient]\n');
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

// ---------------------------------------------------------------- request handling
// Read the whole body, then hand the request to the dispatcher (lib/dispatch.js), which
// matches it against the route tables (lib/tables.js).
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
    started,
  };
  return dispatch(ctx, req, res);
}

function sendJson(res, status, obj) {
  const body = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(body.length) });
  res.end(body);
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
state.shutdown = shutdown;
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
