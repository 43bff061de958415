#!/usr/bin/env node
'use strict';
// Self-check of the emulator's route tables (Node standard library only):
//
//   node spec/emulator/selfcheck.js          check the tables, the pattern syntax and
//                                            sample routings, then a short live run
//   node spec/emulator/selfcheck.js --list   print every table and route
//
// Ends with "N passed, N failed"; exits 1 when something failed.

const path = require('path');
const { spawn } = require('child_process');
const http = require('http');
const { compilePattern, compileTables, match } = require('./lib/router');
const { TABLES } = require('./lib/tables');

if (process.argv.includes('--list')) {
  for (const t of TABLES) {
    const flags = ['shape', 'gateway', 'workersAi', 'auth'].filter((k) => t[k] !== undefined).map((k) => k + '=' + t[k]);
    process.stdout.write(t.name + '  [' + t.kind + ']  ' + t.mount + (t.strip.length ? '  strip ' + JSON.stringify(t.strip) : '') + (flags.length ? '  ' + flags.join(' ') : '') + '\n');
    for (const r of t.routes) {
      const over = ['shape', 'gateway', 'workersAi', 'auth'].filter((k) => r[k] !== undefined).map((k) => k + '=' + r[k]);
      process.stdout.write('    ' + (r.methods ? r.methods.join(',') : '*').padEnd(5) + ' ' + JSON.stringify(r.path).padEnd(60) + ' ' + (r.handler.name || '(anonymous)') + (over.length ? '  ' + over.join(' ') : '') + '\n');
    }
  }
  process.exit(0);
}

let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
  } catch (e) {
    failed++;
    process.stdout.write('not ok - ' + name + ': ' + (e && e.message || e) + '\n');
  }
}
function eq(a, b, what) {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error((what || 'value') + ': got ' + JSON.stringify(a) + ', want ' + JSON.stringify(b));
}
function throws(fn, what) {
  let ok = false;
  try { fn(); } catch (e) { ok = true; }
  if (!ok) throw new Error(what + ' should have been rejected');
}

// ---------------------------------------------------------------- pattern syntax
const PATTERNS = [
  ['run/{model*}', 'run/@cf/meta/llama', { model: '@cf/meta/llama' }],
  ['run/{model*}', 'run/', { model: '' }],
  ['run/{model*}', 'run', null],
  ['{model+}', '', null],
  ['{model+}', 'a/b', { model: 'a/b' }],
  ['/v1/{acct}/{gw}{/rest*}', '/v1/a/g', { acct: 'a', gw: 'g', rest: '' }],
  ['/v1/{acct}/{gw}{/rest*}', '/v1/a/g/', { acct: 'a', gw: 'g', rest: '' }],
  ['/v1/{acct}/{gw}{/rest*}', '/v1/a/g/x/y', { acct: 'a', gw: 'g', rest: 'x/y' }],
  ['/v1/{acct}/{gw}{/rest*}', '/v1/a', null],
  ['status/{code:[0-9]{3}}', 'status/404', { code: '404' }],
  ['status/{code:[0-9]{3}}', 'status/4040', null],
  ['{v:v1beta|v1}/models/{m:[^:/]+}:{op:[A-Za-z]+}', 'v1/models/g-1.5:countTokens', { v: 'v1', m: 'g-1.5', op: 'countTokens' }],
  ['{v:v1beta|v1}/models/{m:[^:/]+}:{op:[A-Za-z]+}', 'v2/models/g:countTokens', null],
  ['a.b', 'a.b', {}],
  ['a.b', 'axb', null],
  ['', '', {}],
];
for (const [pat, s, want] of PATTERNS) {
  check('pattern ' + pat + ' ~ ' + JSON.stringify(s), () => {
    const p = compilePattern(pat);
    const m = p.re.exec(s);
    if (!want) { eq(m === null, true, 'no match'); return; }
    if (!m) throw new Error('did not match');
    const got = {};
    for (const n of p.names) got[n] = m.groups[n] === undefined ? '' : m.groups[n];
    eq(got, want, 'params');
  });
}
for (const bad of ['{', '}', 'a{b', '{1x}', '{a}{a}', '{a:(}']) {
  check('pattern rejected: ' + bad, () => throws(() => compilePattern(bad), bad));
}

// ---------------------------------------------------------------- table validation
const ok = { name: 't', mount: '/x/{rest*}', routes: [{ path: 'a', handler: () => {} }] };
check('a minimal table compiles', () => compileTables([ok]));
const BAD_TABLES = {
  'mount without {rest}': { name: 't', mount: '/x/{a}', routes: [] },
  'unknown kind': Object.assign({}, ok, { kind: 'nope' }),
  'handler missing': { name: 't', mount: '/x/{rest*}', routes: [{ path: 'a' }] },
  'unknown method': { name: 't', mount: '/x/{rest*}', routes: [{ method: 'FETCH', path: 'a', handler: () => {} }] },
  'route repeats a mount parameter': { name: 't', mount: '/x/{a}/{rest*}', routes: [{ path: '{a}', handler: () => {} }] },
  'strip not a list': Object.assign({}, ok, { strip: 'v1/' }),
};
for (const k of Object.keys(BAD_TABLES)) check('table rejected: ' + k, () => throws(() => compileTables([BAD_TABLES[k]]), k));
check('table names are unique', () => throws(() => compileTables([ok, ok]), 'duplicate name'));

// The real tables: a catch-all route ({x*} for every method) must be the last of its table.
for (const t of TABLES) {
  check('table ' + t.name + ': nothing after a catch-all', () => {
    t.routes.forEach((r, i) => {
      const catchAll = !r.methods && /^\{\w+\*\}$/.test(r.path);
      if (catchAll && i !== t.routes.length - 1) throw new Error('route ' + JSON.stringify(r.path) + ' hides the routes after it');
    });
  });
  check('table ' + t.name + ': model tables say their error shape', () => {
    if (t.kind === 'model') t.routes.forEach((r) => { if (!r.opts.shape) throw new Error('route ' + r.path + ' has no shape'); });
  });
}

// ---------------------------------------------------------------- sample routings
// [method, path, table (null = none), route path (null = the table has no route for it), params subset]
const G = '/v1/acct/gw';
const W = '/client/v4/accounts/acct/ai';
const GEMINI = '{version:v1beta|v1|v1alpha}/models/{model:[^:/]+}:';
const ROUTINGS = [
  ['GET', '/__emulator/requests', 'control', 'requests'],
  ['POST', '/__emulator/requests', 'control', '{ep*}'],
  ['POST', '/__emulator/next', 'control', 'next'],
  ['GET', '/__emulator', null],
  ['GET', '/__test/status/503', 'test', 'status/{code:[0-9]{3}}', { code: '503' }],
  ['GET', '/__test/nope', 'test', null],
  ['GET', '/__files/image.png', 'files', 'image.png'],
  ['POST', W + '/run/@cf/meta/llama-3.1-8b-instruct', 'workers-ai', 'run/{model*}', { acct: 'acct', model: '@cf/meta/llama-3.1-8b-instruct' }],
  ['POST', W + '/run', 'workers-ai', 'run'],
  ['POST', W + '/v1/chat/completions', 'workers-ai', 'v1/chat/completions'],
  ['POST', W + '/v1/messages', 'workers-ai', 'v1/messages'],
  ['POST', W + '/v1/nope', 'workers-ai', null],
  ['POST', W, null],
  ['POST', G, 'gateway/universal', ''],
  ['POST', G + '/', 'gateway/universal', ''],
  ['GET', G, 'gateway/universal', null],
  ['POST', G + '/workers-ai', 'gateway/workers-ai', null],
  ['POST', G + '/workers-ai/@cf/meta/llama', 'gateway/workers-ai', '{model+}', { gw: 'gw', model: '@cf/meta/llama' }],
  ['POST', G + '/workers-ai/run/@cf/meta/llama', 'gateway/workers-ai', 'run/{model*}', { model: '@cf/meta/llama' }],
  ['POST', G + '/workers-ai/v1/chat/completions', 'gateway/workers-ai', 'v1/chat/completions'],
  ['POST', G + '/openai/chat/completions', 'gateway/openai', 'chat/completions'],
  ['POST', G + '/openai/v1/chat/completions', 'gateway/openai', 'chat/completions'],
  ['POST', G + '/openai/api/v1/audio/speech', 'gateway/openai', 'audio/speech'],
  ['POST', G + '/openai/v1/v1/chat/completions', 'gateway/openai', '{ep*}', { ep: 'v1/chat/completions' }],
  ['POST', G + '/openai', 'gateway/openai', '{ep*}', { ep: '' }],
  ['POST', G + '/anthropic/v1/messages', 'gateway/anthropic', 'messages'],
  ['POST', G + '/google-ai-studio/v1beta/models/gemini-2.0-flash:streamGenerateContent', 'gateway/google-ai-studio', GEMINI + 'streamGenerateContent', { version: 'v1beta', model: 'gemini-2.0-flash' }],
  ['POST', G + '/google-ai-studio/v1beta/models/g:fooBar', 'gateway/google-ai-studio', GEMINI + '{method:[A-Za-z]+}', { method: 'fooBar' }],
  ['POST', G + '/google-ai-studio/v2/models/g:generateContent', 'gateway/google-ai-studio', '{ep*}'],
  ['POST', G + '/grok/v1/messages', 'gateway/grok', 'messages'],
  ['POST', G + '/openrouter/v1/images/generations', 'gateway/openrouter', 'images/generations'],
  ['POST', G + '/compat/images/generations', 'gateway/compat', '{ep*}'],
  ['POST', G + '/azure-openai/chat', 'gateway/other', '{ep*}', { provider: 'azure-openai', ep: 'chat' }],
  ['POST', G + '//x', 'gateway/universal', null],
  ['GET', '/', null],
];
for (const [method, p, table, routePath, params] of ROUTINGS) {
  check('route ' + method + ' ' + p, () => {
    const hit = match(TABLES, method, p);
    eq(hit ? hit.table.name : null, table, 'table');
    if (!hit) return;
    eq(hit.route ? hit.route.path : null, routePath, 'route');
    for (const k of Object.keys(params || {})) eq(hit.params[k], params[k], 'param ' + k);
  });
}

// ---------------------------------------------------------------- live run
function request(port, method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function live() {
  const proc = spawn(process.execPath, [path.join(__dirname, 'server.js'), '--port', '0', '--idle-exit', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; const m = /LISTENING http:\/\/127\.0\.0\.1:(\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    proc.on('exit', (c) => reject(new Error('server exited with ' + c)));
  });
  const J = { 'content-type': 'application/json' };
  const auth = Object.assign({ authorization: 'Bearer t' }, J);
  const cases = [
    ['Workers AI chat', async () => {
      // a well-formed account id and a catalog model: the emulator refuses others as Cloudflare does (lib/strict.js)
      const WL = '/client/v4/accounts/0123456789abcdef0123456789abcdef/ai';
      const r = await request(port, 'POST', WL + '/v1/chat/completions', auth, JSON.stringify({ model: '@cf/meta/llama-3.2-1b-instruct', messages: [{ role: 'user', content: 'hi' }] }));
      eq(r.status, 200, 'status');
      if (!r.headers['cf-ai-req-id']) throw new Error('no cf-ai-req-id');
      eq(JSON.parse(r.body).choices[0].message.content, 'Hello from the Workers AI emulator! You said: hi', 'text');
    }],
    ['Workers AI needs a bearer token', async () => {
      eq((await request(port, 'POST', W + '/run/@cf/m', J, '{"prompt":"x"}')).status, 401, 'status');
    }],
    ['gateway scenario error in the provider shape', async () => {
      await request(port, 'POST', '/__emulator/next', J, JSON.stringify({ status: 529 }));
      const r = await request(port, 'POST', G + '/anthropic/v1/messages', J, '{}');
      eq(r.status, 529, 'status');
      eq(JSON.parse(r.body).error.type, 'overloaded_error', 'error type');
      if (!r.headers['cf-aig-log-id']) throw new Error('no cf-aig-log-id');
    }],
    ['universal falls through to the next step', async () => {
      await request(port, 'POST', '/__emulator/next', J, JSON.stringify({ status: 500 }));
      const steps = [{ provider: 'openai', endpoint: 'chat/completions', query: { messages: [{ role: 'user', content: 'a' }] } },
        { provider: 'grok', endpoint: 'v1/chat/completions', query: { messages: [{ role: 'user', content: 'b' }] } }];
      const r = await request(port, 'POST', G, J, JSON.stringify(steps));
      eq([r.status, r.headers['cf-aig-step']], [200, '1'], 'status and step');
    }],
    ['test route and control API', async () => {
      eq((await request(port, 'GET', '/__test/status/418')).status, 418, 'status');
      const recs = JSON.parse((await request(port, 'GET', '/__emulator/requests?match=/__test/')).body);
      eq(recs.map((x) => [x.path, x.status]), [['/__test/status/418', 418]], 'records');
    }],
    ['no route', async () => {
      const r = await request(port, 'GET', '/nowhere');
      eq([r.status, JSON.parse(r.body).errors[0].code], [404, 7003], 'status and code');
    }],
  ];
  try {
    for (const [name, fn] of cases) {
      try { await fn(); passed++; } catch (e) { failed++; process.stdout.write('not ok - live: ' + name + ': ' + e.message + '\n'); }
    }
  } finally {
    await request(port, 'POST', '/__emulator/shutdown').catch(() => {});
    proc.kill('SIGTERM');
  }
}

live().catch((e) => { failed++; process.stdout.write('not ok - live run: ' + e.message + '\n'); }).then(() => {
  process.stdout.write(passed + ' passed, ' + failed + ' failed\n');
  process.exit(failed ? 1 : 0);
});
