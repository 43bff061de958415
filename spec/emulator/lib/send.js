'use strict';
// Writes a Reply to the wire, applying the fault-injection keys of a scenario.
//
// Reply shape (produced by the route handlers):
//   { status, headers: {name: value}, body: Buffer|string }          -> fixed-length body
//   { status, headers, events: [string|Buffer, ...] }                 -> chunked stream,
//        each element is one SSE event (or one raw chunk) written as-is.
//
// Scenario keys honoured here: head_delay_ms, drip_ms, stall_after, stall_ms,
// drop_after, malformed_after. Event counting is 0-based on the reply's events;
// for a fixed body the body counts as one event.

const BATCH_BYTES = 64 * 1024;

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function isGone(res) { return res.destroyed || (res.socket && res.socket.destroyed) || res.__clientGone; }

function writeAsync(res, chunk) {
  return new Promise((resolve) => {
    if (isGone(res)) return resolve(false);
    const ok = res.write(chunk);
    if (ok) return resolve(true);
    const onDrain = () => { cleanup(); resolve(true); };
    const onClose = () => { cleanup(); resolve(false); };
    const cleanup = () => { res.removeListener('drain', onDrain); res.removeListener('close', onClose); };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

// Sleep that ends early if the client goes away.
function sleepWhileConnected(res, ms) {
  return new Promise((resolve) => {
    if (isGone(res)) return resolve(false);
    const t = setTimeout(() => { res.removeListener('close', onClose); resolve(true); }, ms);
    const onClose = () => { clearTimeout(t); resolve(false); };
    res.once('close', onClose);
  });
}

function num(v) {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

async function sendReply(req, res, reply, scenario, hooks) {
  scenario = scenario || {};
  hooks = hooks || {};
  const headDelay = num(scenario.head_delay_ms);
  if (headDelay && headDelay > 0) {
    const alive = await sleepWhileConnected(res, headDelay);
    if (!alive) return;
  }
  if (isGone(res)) return;
  const headers = Object.assign({}, reply.headers || {});
  if (scenario.headers && typeof scenario.headers === 'object') Object.assign(headers, scenario.headers);
  const status = reply.status || 200;

  const dripMs = num(scenario.drip_ms);
  const stallAfter = num(scenario.stall_after);
  const stallMs = num(scenario.stall_ms) !== undefined ? num(scenario.stall_ms) : 10000;
  const dropAfter = num(scenario.drop_after);
  const malformedAfter = num(scenario.malformed_after);

  let events;
  if (reply.events) {
    events = reply.events;
    delete headers['content-length'];
  } else {
    let body = reply.body;
    if (body === undefined || body === null) body = Buffer.alloc(0);
    if (!Buffer.isBuffer(body)) body = Buffer.from(String(body), 'utf8');
    headers['content-length'] = String(body.length);
    events = [body];
    if (req.method === 'HEAD' || status === 204 || status === 304) events = [];
  }

  res.writeHead(status, headers);
  if (typeof res.flushHeaders === 'function') res.flushHeaders();
  if (hooks.onHead) hooks.onHead(status, headers);

  const faulty = (dripMs && dripMs > 0) || stallAfter !== undefined || dropAfter !== undefined || malformedAfter !== undefined;
  if (!faulty) {
    // Fast path: batch writes, respect back-pressure only.
    let batch = [];
    let size = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      batch.push(e);
      size += e.length;
      if (size >= BATCH_BYTES) {
        const ok = await writeAsync(res, batch.length === 1 ? batch[0] : Buffer.concat(batch.map(toBuf)));
        batch = []; size = 0;
        if (!ok) return;
      }
    }
    if (batch.length) {
      const ok = await writeAsync(res, batch.length === 1 ? batch[0] : Buffer.concat(batch.map(toBuf)));
      if (!ok) return;
    }
    if (!isGone(res)) res.end();
    return;
  }

  for (let i = 0; i <= events.length; i++) {
    if (isGone(res)) return;
    if (malformedAfter !== undefined && i === malformedAfter) {
      if (!(await writeAsync(res, 'data: {not json\n\n'))) return;
    }
    if (dropAfter !== undefined && i === dropAfter) {
      if (hooks.onDrop) hooks.onDrop();
      res.__serverDropped = true;
      destroyAfterFlush(res.socket || req.socket, res);
      return;
    }
    if (stallAfter !== undefined && i === stallAfter) {
      const alive = await sleepWhileConnected(res, stallMs);
      if (!alive) return;
    }
    if (i === events.length) break;
    if (dripMs && dripMs > 0 && i > 0) {
      const alive = await sleepWhileConnected(res, dripMs);
      if (!alive) return;
    }
    if (!(await writeAsync(res, events[i]))) return;
  }
  if (!isGone(res)) res.end();
}

// Let already-written bytes reach the kernel, then kill the connection.
function destroyAfterFlush(sock, res) {
  if (!sock) { res.destroy(); return; }
  let done = false;
  const kill = () => { if (!done) { done = true; setImmediate(() => sock.destroy()); } };
  // An empty write's callback runs once everything queued before it is flushed.
  try { sock.write(Buffer.alloc(0), kill); } catch (e) { kill(); }
  setTimeout(kill, 200);
}

function toBuf(x) { return Buffer.isBuffer(x) ? x : Buffer.from(x, 'utf8'); }

module.exports = { sendReply, destroyAfterFlush, sleep, sleepWhileConnected, writeAsync, isGone, num };
