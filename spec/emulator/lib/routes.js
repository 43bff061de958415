'use strict';
// Routing: Workers AI REST (/client/v4/accounts/:acct/ai/...), AI Gateway provider paths
// (/v1/:acct/:gw/:provider/...), the universal endpoint (/v1/:acct/:gw) and errors.

const url = require('url');
const U = require('./util');
const C = require('./chat');
const M = require('./media');

const { jsonReply } = C;

// ---------------------------------------------------------------- error bodies
const CF_MESSAGES = {
  10000: 'Authentication error',
  7003: 'No route for that URI',
  3003: 'Request is missing headers or body',
  3006: 'Request is too large',
  3007: 'Request timeout',
  3008: 'Request aborted',
  3010: 'Invalid or incomplete input for the model',
  3023: 'Service unavailable for account',
  3036: 'Account limited: you have used up your daily free allocation of 10,000 neurons',
  3040: 'Capacity temporarily exceeded, please try again.',
  3041: 'The account is not allowed to access this model',
  3042: 'The model name is invalid',
  3043: 'Internal server error',
  5004: 'Invalid data type for base64 input',
  5005: 'Model does not support LoRA',
  5006: 'Error: input validation failed',
  5007: 'No such model or task',
  5016: 'User has not agreed to the model terms',
  5018: 'The account is not allowed to access this model',
  5019: 'Deprecated SDK version',
  2001: 'Internal error',
  2003: 'Rate limited',
  2009: 'Unauthorized',
  2016: 'Prompt blocked due to security configurations',
  2017: 'Response blocked due to security configurations',
  2021: 'Insufficient wholesale credits',
  2040: "Provider has no BYOK credential with that alias",
};
const CF_DEFAULT_CODE = { 400: 5006, 401: 10000, 403: 10000, 404: 7003, 405: 5019, 408: 3007, 413: 3006, 429: 3040, 500: 3043, 502: 3043, 503: 3040, 504: 3007 };
const GW_DEFAULT_CODE = { 400: 2001, 401: 2009, 402: 2021, 403: 2009, 404: 7003, 429: 2003 };
const STATUS_TEXT = {
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large', 422: 'Unprocessable Entity',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 529: 'Overloaded',
};
const OPENAI_ERR = {
  400: ['invalid_request_error', null, 'Invalid request'],
  401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
  403: ['permission_error', 'unsupported_country_region_territory', 'Forbidden'],
  404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 1s.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
};
const ANTHROPIC_ERR = {
  400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error',
  413: 'request_too_large', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error', 503: 'overloaded_error',
};
const GEMINI_STATUS = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

function errorBody(shape, status, code, message) {
  switch (shape) {
    case 'gateway': {
      const c = code !== undefined ? code : (GW_DEFAULT_CODE[status] || 2001);
      return { success: false, result: [], messages: [], error: [{ code: c, message: message || CF_MESSAGES[c] || STATUS_TEXT[status] || 'Error' }] };
    }
    case 'openai': {
      const d = OPENAI_ERR[status] || (status >= 500 ? OPENAI_ERR[500] : OPENAI_ERR[400]);
      return { error: { message: message || d[2], type: d[0], param: null, code: code !== undefined ? code : d[1] } };
    }
    case 'anthropic': {
      const t = ANTHROPIC_ERR[status] || (status >= 500 ? 'api_error' : 'invalid_request_error');
      return { type: 'error', error: { type: code !== undefined ? String(code) : t, message: message || (t === 'overloaded_error' ? 'Overloaded' : (STATUS_TEXT[status] || 'Error')) } };
    }
    case 'gemini': {
      const st = GEMINI_STATUS[status] || (status >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
      const msg = message || (status === 429 ? 'Resource has been exhausted (e.g. check quota).' : (STATUS_TEXT[status] || 'Error'));
      return { error: { code: status, message: msg, status: code !== undefined ? String(code) : st } };
    }
    default: {
      const c = code !== undefined ? code : (CF_DEFAULT_CODE[status] || (status >= 500 ? 3043 : 5006));
      return { result: null, success: false, errors: [{ code: c, message: message || CF_MESSAGES[c] || STATUS_TEXT[status] || 'Error' }], messages: [] };
    }
  }
}

function errorReply(ctx, sc, shape) {
  const status = Number(sc.status) || 500;
  if (shape === 'test' || !shape) shape = 'cloudflare';
  const code = sc.code !== undefined ? sc.code : undefined;
  if (typeof code === 'number' && code >= 2000 && code < 3000 && !sc.error_shape) shape = 'gateway';
  if (sc.error_shape) shape = sc.error_shape;
  const headers = {};
  let body;
  if (sc.body !== undefined && sc.body !== null) {
    if (typeof sc.body === 'string') { body = sc.body; headers['content-type'] = 'text/plain; charset=utf-8'; } else { body = JSON.stringify(sc.body); headers['content-type'] = 'application/json'; }
  } else {
    body = JSON.stringify(errorBody(shape, status, code, sc.message));
    headers['content-type'] = 'application/json';
  }
  if (sc.content_type) headers['content-type'] = sc.content_type;
  if (sc.retry_after !== undefined) headers['retry-after'] = String(sc.retry_after);
  if (sc.retry_after_ms !== undefined) headers['retry-after-ms'] = String(sc.retry_after_ms);
  return { status, headers, body, scenario: sc };
}

function simpleError(shape, status, code, message) {
  return jsonReply(status, errorBody(shape, status, code, message));
}

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

// ---------------------------------------------------------------- auth helpers
function bearer(v) {
  if (!v) return null;
  const m = /^\s*Bearer\s+(\S.*)$/i.exec(String(v));
  return m ? m[1].trim() : null;
}

// ---------------------------------------------------------------- handlers
function badJson(shape) {
  return simpleError(shape, 400, shape === 'cloudflare' ? 5006 : undefined, shape === 'cloudflare' ? 'Error: request body is not valid JSON' : 'We could not parse the JSON body of your request.');
}

function waiRun(ctx, model, sc, input) {
  model = safeDecode(model || '');
  if (!model) return simpleError('cloudflare', 400, 5007, 'No such model  or task');
  if (!/^@(cf|hf)\//.test(model) && !/^[\w.-]+\/[\w.-]+/.test(model)) {
    return simpleError('cloudflare', 400, 5007, 'No such model ' + model + ' or task');
  }
  if (ctx.query.queueRequest === 'true' || ctx.query.queueRequest === true) {
    return jsonReply(200, C.envelope({ status: 'queued', request_id: U.uuid(), model }));
  }
  if (M.isMediaModel(model)) {
    const r = M.waiMedia(ctx, model, input);
    if (r) return r;
  }
  let body = input !== undefined ? input : ctx.json;
  if (ctx.body.length && input === undefined && body === undefined) return badJson('cloudflare');
  if (!body || typeof body !== 'object') return simpleError('cloudflare', 400, 5006, "Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt'; required properties at '/' are 'messages'");
  if (Array.isArray(body.requests)) {
    return jsonReply(200, C.envelope({ status: 'queued', request_id: U.uuid(), model }));
  }
  if (body.request_id && !body.messages && !body.prompt) {
    return jsonReply(200, C.envelope({ status: 'running', request_id: body.request_id }));
  }
  if (typeof body.prompt !== 'string' && !Array.isArray(body.messages)) {
    return simpleError('cloudflare', 400, 5006, "Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt'; required properties at '/' are 'messages'");
  }
  const norm = C.fromOpenAI(body);
  norm.model = model;
  const stream = norm.stream && !sc.json_body_for_stream;
  const p = C.plan(norm, sc, 'workers-ai');
  if (sc.format === 'openai') {
    if (stream) return C.openaiChat(norm, p, { stream: true, provider: 'workers-ai' });
    const r = C.openaiChat(norm, p, { stream: false, provider: 'workers-ai' });
    return jsonReply(200, C.envelope(JSON.parse(r.body)));
  }
  return C.nativeRun(norm, p, { stream, scenario: sc });
}

function waiChatCompletions(ctx, sc) {
  const body = ctx.json;
  if (ctx.body.length && body === undefined) return badJson('cloudflare');
  if (!body || typeof body !== 'object') return simpleError('cloudflare', 400, 5006, "Error: required properties at '/' are 'model,messages'");
  if (!body.model) return simpleError('cloudflare', 400, 5006, "Error: required properties at '/' are 'model'");
  if (!Array.isArray(body.messages)) return simpleError('cloudflare', 400, 5006, "Error: required properties at '/' are 'messages'");
  const norm = C.fromOpenAI(body);
  const stream = norm.stream && !sc.json_body_for_stream;
  const p = C.plan(norm, sc, 'workers-ai');
  if (sc.format === 'native') return C.nativeRun(norm, p, { stream, scenario: sc });
  return C.openaiChat(norm, p, { stream, provider: 'workers-ai' });
}

function openaiChatRoute(ctx, sc, provider) {
  const body = ctx.json;
  if (ctx.body.length && body === undefined) return badJson('openai');
  if (!body || typeof body !== 'object' || !Array.isArray(body.messages)) {
    return jsonReply(400, { error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' } });
  }
  const norm = C.fromOpenAI(body);
  const stream = norm.stream && !sc.json_body_for_stream;
  let label = provider;
  if (provider === 'compat') {
    const slug = String(body.model || '').split('/')[0];
    label = { 'google-ai-studio': 'gemini', 'workers-ai': 'workers-ai', grok: 'grok', anthropic: 'anthropic', openai: 'openai' }[slug] || slug || 'compat';
  }
  const p = C.plan(norm, sc, label);
  let images;
  if (Array.isArray(body.modalities) && body.modalities.indexOf('image') >= 0) {
    images = [{ type: 'image_url', image_url: { url: 'data:image/png;base64,' + U.makePng(8, 8).toString('base64') } }];
  }
  const headers = {};
  if (provider === 'openrouter') headers['x-generation-id'] = 'gen-' + U.randomAlnum(20);
  if (provider === 'openai') headers['x-request-id'] = 'req_' + U.randomAlnum(24);
  return C.openaiChat(norm, p, { stream, provider, images, headers });
}

function anthropicRoute(ctx, sc, requireVersion) {
  if (requireVersion && !ctx.headers['anthropic-version']) {
    return simpleError('anthropic', 400, undefined, 'anthropic-version: header is required');
  }
  const body = ctx.json;
  if (ctx.body.length && body === undefined) return simpleError('anthropic', 400, undefined, 'There was an issue with your request body. Please make sure it is valid JSON.');
  if (!body || typeof body !== 'object') return simpleError('anthropic', 400, undefined, 'messages: Field required');
  if (!Array.isArray(body.messages)) return simpleError('anthropic', 400, undefined, 'messages: Field required');
  if (typeof body.max_tokens !== 'number') return simpleError('anthropic', 400, undefined, 'max_tokens: Field required');
  if (!body.model) return simpleError('anthropic', 400, undefined, 'model: Field required');
  const norm = C.fromAnthropic(body);
  const stream = norm.stream && !sc.json_body_for_stream;
  const p = C.plan(norm, sc, 'anthropic');
  return C.anthropicMessages(norm, p, { stream, scenario: sc, headers: { 'request-id': 'req_' + U.randomAlnum(24) } });
}

function geminiRoute(ctx, sc, rest) {
  const m = /^(v1beta|v1|v1alpha)\/models\/([^:/]+):([A-Za-z]+)$/.exec(rest);
  if (!m) return simpleError('gemini', 404, undefined, 'Requested entity was not found.');
  const model = safeDecode(m[2]);
  const method = m[3];
  const body = ctx.json;
  if (ctx.body.length && body === undefined) return simpleError('gemini', 400, undefined, 'Invalid JSON payload received.');
  if (method === 'generateContent' || method === 'streamGenerateContent') {
    if (!body || typeof body !== 'object' || !body.contents || (Array.isArray(body.contents) && !body.contents.length)) {
      return simpleError('gemini', 400, undefined, '* GenerateContentRequest.contents: contents is not specified\n');
    }
    const norm = C.fromGemini(body, model);
    const streamReq = method === 'streamGenerateContent';
    const stream = streamReq && !sc.json_body_for_stream;
    const p = C.plan(norm, sc, 'gemini');
    return C.geminiGenerate(norm, p, { stream, jsonArray: stream && ctx.query.alt !== 'sse', scenario: sc });
  }
  if (method === 'embedContent') {
    const text = body && body.content ? JSON.stringify(body.content) : '';
    return jsonReply(200, { embedding: { values: U.embedding(text, Number(body && body.outputDimensionality) || 768) } });
  }
  if (method === 'batchEmbedContents') {
    const reqs = (body && body.requests) || [];
    return jsonReply(200, { embeddings: reqs.map((r) => ({ values: U.embedding(JSON.stringify(r.content || ''), Number(r.outputDimensionality) || 768) })) });
  }
  if (method === 'countTokens') {
    const norm = C.fromGemini(body || {}, model);
    return jsonReply(200, { totalTokens: norm.promptTokens });
  }
  if (method === 'predict') {
    const params = (body && body.parameters) || {};
    const n = Math.max(1, Math.min(4, Number(params.sampleCount) || 1));
    const preds = [];
    for (let i = 0; i < n; i++) preds.push({ bytesBase64Encoded: U.makePng(8, 8).toString('base64'), mimeType: 'image/png' });
    return jsonReply(200, { predictions: preds });
  }
  return simpleError('gemini', 404, undefined, 'Method ' + method + ' not found for model ' + model);
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (e) { return s; }
}

// ---------------------------------------------------------------- route table
const REST_RE = /^\/client\/v4\/accounts\/([^/]+)\/ai\/(.*)$/;
const GW_RE = /^\/v1\/([^/]+)\/([^/]+)\/([^/]+)(?:\/(.*))?$/;
const UNIVERSAL_RE = /^\/v1\/([^/]+)\/([^/]+)\/?$/;

function providerShape(provider) {
  switch (provider) {
    case 'workers-ai': return 'cloudflare';
    case 'openai': case 'grok': case 'openrouter': case 'compat': case 'groq': case 'mistral': case 'deepseek': return 'openai';
    case 'anthropic': return 'anthropic';
    case 'google-ai-studio': return 'gemini';
    default: return 'gateway';
  }
}

function stripPrefix(rest, prefixes) {
  for (const p of prefixes) if (rest.startsWith(p)) return rest.slice(p.length);
  return rest;
}

// Resolve a path -> { shape, gateway: {acct, gw, provider} | null, handler(ctx, sc) }.
function resolve(ctx) {
  const path = ctx.path;
  let m = REST_RE.exec(path);
  if (m) {
    const rest = m[2];
    const needAuth = (fn) => (c, sc) => {
      if (!bearer(c.headers.authorization)) return simpleError('cloudflare', 401, 10000, 'Authentication error');
      return fn(c, sc);
    };
    if (rest.startsWith('run/')) return { shape: 'cloudflare', handler: needAuth((c, sc) => waiRun(c, rest.slice(4), sc)), wai: true };
    if (rest === 'run') {
      return {
        shape: 'cloudflare', wai: true,
        handler: needAuth((c, sc) => {
          const b = c.json;
          if (!b || typeof b !== 'object' || !b.model) return simpleError('cloudflare', 400, 5006, "Error: required properties at '/' are 'model,input'");
          if (!/^@(cf|hf)\//.test(b.model)) {
            // Third-party catalogue model via the unified API: answer OpenAI chat shape.
            const sub = Object.assign({}, c, { json: Object.assign({ model: b.model }, b.input || {}) });
            return openaiChatRoute(sub, sc, 'compat');
          }
          return waiRun(c, b.model, sc, b.input || {});
        }),
      };
    }
    if (rest === 'v1/chat/completions') return { shape: 'cloudflare', handler: needAuth(waiChatCompletions), wai: true };
    if (rest === 'v1/embeddings') return { shape: 'cloudflare', handler: needAuth((c) => M.openaiEmbeddings(c, M.waiDims)), wai: true };
    if (rest === 'v1/messages') return { shape: 'anthropic', handler: needAuth((c, sc) => anthropicRoute(c, sc, false)) };
    return null;
  }
  m = GW_RE.exec(path);
  if (m) {
    const gateway = { acct: m[1], gw: m[2], provider: m[3] };
    const rest = m[4] || '';
    const provider = m[3];
    const shape = providerShape(provider);
    const r = { shape, gateway };
    if (provider === 'workers-ai') {
      r.wai = true;
      const auth = (fn) => (c, sc) => {
        if (!bearer(c.headers.authorization)) return simpleError('cloudflare', 401, 10000, 'Authentication error');
        return fn(c, sc);
      };
      if (rest === 'v1/chat/completions') r.handler = auth(waiChatCompletions);
      else if (rest === 'v1/embeddings') r.handler = auth((c) => M.openaiEmbeddings(c, M.waiDims));
      else if (rest.startsWith('run/')) r.handler = auth((c, sc) => waiRun(c, rest.slice(4), sc));
      else if (rest) r.handler = auth((c, sc) => waiRun(c, rest, sc));
      else return null;
      return r;
    }
    if (provider === 'openai' || provider === 'grok' || provider === 'openrouter' || provider === 'compat' ||
        provider === 'groq' || provider === 'mistral' || provider === 'deepseek') {
      const ep = stripPrefix(rest, ['api/v1/', 'v1/', 'openai/v1/']);
      const base = 'http://127.0.0.1:' + (ctx.localPort || '');
      if (ep === 'chat/completions') r.handler = (c, sc) => openaiChatRoute(c, sc, provider);
      else if (ep === 'images/generations' && provider !== 'compat') r.handler = (c) => M.openaiImages(c, provider, base);
      else if (ep === 'embeddings') r.handler = (c) => M.openaiEmbeddings(c);
      else if (provider === 'openai' && (ep === 'audio/transcriptions' || ep === 'audio/translations')) r.handler = (c) => M.openaiTranscription(c);
      else if (provider === 'openai' && ep === 'audio/speech') r.handler = (c) => M.openaiSpeech(c);
      else if (provider === 'grok' && ep === 'messages') r.handler = (c, sc) => anthropicRoute(c, sc, false);
      else r.handler = () => simpleError('openai', 404, 'unknown_url', 'Invalid URL (POST /v1/' + ep + ')');
      return r;
    }
    if (provider === 'anthropic') {
      const ep = stripPrefix(rest, ['v1/']);
      if (ep === 'messages') r.handler = (c, sc) => anthropicRoute(c, sc, true);
      else r.handler = () => simpleError('anthropic', 404, undefined, 'Not Found');
      return r;
    }
    if (provider === 'google-ai-studio') {
      r.handler = (c, sc) => geminiRoute(c, sc, rest);
      return r;
    }
    return { shape: 'gateway', gateway, handler: () => simpleError('cloudflare', 404, 7003, 'No route for that URI') };
  }
  return null;
}

function gatewayHeaders(ctx, sc) {
  const h = {
    'cf-aig-log-id': U.ulid(),
    'cf-aig-cache-status': (sc && sc.cache_status) || 'MISS',
  };
  if (ctx.headers['cf-aig-event-id']) h['cf-aig-event-id'] = ctx.headers['cf-aig-event-id'];
  return h;
}

function gatewayAuthFails(ctx, gw) {
  if (!/^auth/.test(gw)) return false;
  return !bearer(ctx.headers['cf-aig-authorization']);
}

// Handle one (possibly virtual) request with its scenario. Returns a Reply.
function routeOne(ctx, sc, opts) {
  sc = sc || {};
  opts = opts || {};
  const r = resolve(ctx);
  let reply;
  if (!r) {
    reply = sc.status !== undefined && Number(sc.status) >= 400 ? errorReply(ctx, sc, 'cloudflare')
      : simpleError('cloudflare', 404, 7003, 'No route for that URI');
  } else if (sc.status !== undefined && Number(sc.status) >= 400) {
    reply = errorReply(ctx, sc, r.shape);
  } else if (r.gateway && !opts.skipGatewayAuth && gatewayAuthFails(ctx, r.gateway.gw)) {
    reply = simpleError('gateway', 401, 2009, 'Unauthorized');
  } else {
    reply = applyOverrides(r.handler(ctx, sc), sc);
    reply.headers = reply.headers || {};
    if (r.wai) reply.headers['cf-ai-req-id'] = U.uuid();
  }
  reply.headers = reply.headers || {};
  if (r && r.gateway) Object.assign(reply.headers, gatewayHeaders(ctx, sc));
  reply.scenario = sc;
  return reply;
}

function universal(ctx, acct, gw) {
  const baseHeaders = gatewayHeaders(ctx, null);
  if (gatewayAuthFails(ctx, gw)) {
    const sc = ctx.takeScenario(ctx.path) || {};
    const r = simpleError('gateway', 401, 2009, 'Unauthorized');
    Object.assign(r.headers, baseHeaders);
    r.scenario = sc;
    return r;
  }
  let steps = ctx.json;
  if (steps && !Array.isArray(steps) && typeof steps === 'object') steps = [steps];
  if (!Array.isArray(steps) || !steps.length || steps.some((s) => !s || typeof s !== 'object' || !s.provider)) {
    const sc = ctx.takeScenario(ctx.path) || {};
    if (sc.status !== undefined && Number(sc.status) >= 400) return Object.assign(errorReply(ctx, sc, 'gateway'), { scenario: sc });
    const r = simpleError('gateway', 400, 2008, 'Invalid request: expected a JSON array of {provider, endpoint, headers, query}');
    Object.assign(r.headers, baseHeaders);
    r.scenario = sc;
    return r;
  }
  const outer = Object.assign({}, ctx.headers);
  delete outer['content-length'];
  delete outer['transfer-encoding'];
  ctx.record.universal_steps = [];
  let last = null;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    let endpoint = String(step.endpoint || '').replace(/^\/+/, '');
    let rawQuery = '';
    const qi = endpoint.indexOf('?');
    if (qi >= 0) { rawQuery = endpoint.slice(qi + 1); endpoint = endpoint.slice(0, qi); }
    const subPath = '/v1/' + acct + '/' + gw + '/' + step.provider + (endpoint ? '/' + endpoint : '');
    const headers = Object.assign({}, outer);
    if (step.headers && typeof step.headers === 'object') {
      for (const k of Object.keys(step.headers)) {
        const v = step.headers[k];
        headers[k.toLowerCase()] = typeof v === 'string' ? v : (typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
    }
    let bodyBuf;
    let json;
    if (step.query === undefined || step.query === null) { bodyBuf = Buffer.alloc(0); json = undefined; } else if (typeof step.query === 'string') {
      bodyBuf = Buffer.from(step.query); json = undefined;
      try { json = JSON.parse(step.query); } catch (e) { /* raw */ }
    } else { json = step.query; bodyBuf = Buffer.from(JSON.stringify(step.query)); }
    const sub = {
      method: 'POST', path: subPath, rawQuery, query: parseQueryString(rawQuery), headers, body: bodyBuf, json,
      multipart: null, conn_id: ctx.conn_id, record: ctx.record, takeScenario: ctx.takeScenario, localPort: ctx.localPort,
    };
    const sc = ctx.takeScenario(subPath) || {};
    const timeout = step.config && Number(step.config.requestTimeout);
    let reply;
    if (timeout && sc.head_delay_ms && Number(sc.head_delay_ms) > timeout && i < steps.length - 1) {
      ctx.record.universal_steps.push({ index: i, provider: step.provider, endpoint: step.endpoint, path: subPath, status: 'timeout' });
      continue;
    }
    reply = routeOne(sub, sc, { skipGatewayAuth: true });
    ctx.record.universal_steps.push({ index: i, provider: step.provider, endpoint: step.endpoint, path: subPath, status: reply.status });
    reply.headers['cf-aig-step'] = String(i);
    last = reply;
    if ((reply.status >= 500 || reply.status === 429) && i < steps.length - 1) continue;
    return reply;
  }
  return last || simpleError('gateway', 504, 2001, 'All steps timed out');
}

function parseQueryString(qs) {
  const out = {};
  if (!qs) return out;
  for (const [k, v] of new url.URLSearchParams(qs)) out[k] = v;
  return out;
}

const FILES = {
  '/__files/image.png': () => ({ ct: 'image/png', data: U.makePng(8, 8) }),
  '/__files/image.jpg': () => ({ ct: 'image/jpeg', data: U.makeJpeg() }),
  '/__files/audio.mp3': () => ({ ct: 'audio/mpeg', data: U.makeMp3() }),
  '/__files/audio.wav': () => ({ ct: 'audio/wav', data: U.makeWav(16000, 0.5) }),
};

async function dispatch(ctx) {
  if (FILES[ctx.path]) {
    const f = FILES[ctx.path]();
    return { status: 200, headers: { 'content-type': f.ct }, body: f.data };
  }
  const um = UNIVERSAL_RE.exec(ctx.path);
  if (um && ctx.method === 'POST') return universal(ctx, um[1], um[2]);
  const sc = ctx.takeScenario(ctx.path) || {};
  return routeOne(ctx, sc);
}

module.exports = { dispatch, errorReply, errorBody, resolve };
