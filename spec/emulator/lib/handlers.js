'use strict';
// Route handlers named by lib/tables.js.
//
// "model" handlers: (ctx, sc, params) -> Reply. ctx: the request (lib/dispatch.js),
// sc: the scenario taken for it ({} when none), params: the route's path parameters.
// "direct" handlers: (ctx, params) -> Reply (no scenario is taken for them).

const url = require('url');
const U = require('./util');
const C = require('./chat');
const M = require('./media');
const CAT = require('./catalog');
const { simpleError, errorReply } = require('./errors');
const { gatewayHeaders, gatewayAuthFails } = require('./gateway');

const { jsonReply } = C;

// Name a handler made by a factory (shows in `node selfcheck.js --list`).
function named(name, fn) {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch (e) { return s; }
}

function badJson(shape) {
  return simpleError(shape, 400, shape === 'cloudflare' ? 5006 : undefined, shape === 'cloudflare' ? 'Error: request body is not valid JSON' : 'We could not parse the JSON body of your request.');
}

// ---------------------------------------------------------------- Workers AI
function waiRun(ctx, model, sc, input) {
  model = safeDecode(model || '');
  if (!model) return simpleError('cloudflare', 400, 5007, 'No such model  or task');
  if (!/^@(cf|hf)\//.test(model) && !/^[\w.-]+\/[\w.-]+/.test(model)) {
    return simpleError('cloudflare', 400, 5007, 'No such model ' + model + ' or task');
  }
  if (ctx.query.queueRequest === 'true' || ctx.query.queueRequest === true) {
    return jsonReply(200, C.envelope({ status: 'queued', request_id: U.uuid(), model }));
  }
  // A catalog model: its input is checked against the model's schema (the same data as the Lua adapters)
  const e = CAT.entry(model);
  if (e) {
    const r = M.waiCatalog(ctx, model, e, input);
    if (r) return r;
  }
  if (M.isMediaModel(model)) {
    const r = M.waiMedia(ctx, model, input);
    if (r) return r;
  }
  const body = input !== undefined ? input : ctx.json;
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

// run/<model>, and the gateway's workers-ai/<model>
function workersAiModel(ctx, sc, params) {
  return waiRun(ctx, params.model, sc);
}

// run with the envelope {model, input}
function workersAiRunEnvelope(ctx, sc) {
  const b = ctx.json;
  if (!b || typeof b !== 'object' || !b.model) return simpleError('cloudflare', 400, 5006, "Error: required properties at '/' are 'model,input'");
  if (!/^@(cf|hf)\//.test(b.model)) {
    // Third-party catalogue model via the unified API: answer OpenAI chat shape.
    const sub = Object.assign({}, ctx, { json: Object.assign({ model: b.model }, b.input || {}) });
    return openaiChatFor(sub, sc, 'compat');
  }
  return waiRun(ctx, b.model, sc, b.input || {});
}

function workersAiChatCompletions(ctx, sc) {
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

// GET /accounts/{acct}/ai/models/search: Cloudflare's "Model Search" (the catalog's models; ?task=, ?search=,
// ?per_page=, ?page=), what a health check asks to see that the account and the key are right.
// https://developers.cloudflare.com/api/resources/ai/subresources/models/methods/list/
function workersAiModelSearch(ctx) {
  const q = ctx.query || {};
  const perPage = Math.max(1, Math.min(1000, parseInt(q.per_page, 10) || 100));
  const page = Math.max(1, parseInt(q.page, 10) || 1);
  const names = Object.keys(CAT.data.models).sort().filter((n) => {
    const e = CAT.data.models[n];
    if (q.task && e.task !== q.task) return false;
    return !q.search || n.indexOf(q.search) >= 0;
  });
  const result = names.slice((page - 1) * perPage, page * perPage).map((name) => ({
    name, description: '', task: { name: CAT.data.models[name].task }, properties: [],
  }));
  return jsonReply(200, { success: true, errors: [], messages: [], result,
    result_info: { count: result.length, page, per_page: perPage, total_count: names.length } });
}

function workersAiEmbeddings(ctx) {
  return M.openaiEmbeddings(ctx, M.waiDims);
}

// ---------------------------------------------------------------- OpenAI-compatible
function openaiChatFor(ctx, sc, provider) {
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

// Handler factories: the provider name decides ids, labels and image format.
function openaiChat(provider) {
  return named('openaiChat(' + provider + ')', (ctx, sc) => openaiChatFor(ctx, sc, provider));
}
function openaiImages(provider) {
  return named('openaiImages(' + provider + ')', (ctx) => M.openaiImages(ctx, provider, 'http://127.0.0.1:' + (ctx.localPort || '')));
}
function openaiEmbeddings(ctx) { return M.openaiEmbeddings(ctx); }
function openaiTranscription(ctx) { return M.openaiTranscription(ctx); }
function openaiSpeech(ctx) { return M.openaiSpeech(ctx); }
function openaiUnknownUrl(ctx, sc, params) {
  return simpleError('openai', 404, 'unknown_url', 'Invalid URL (POST /v1/' + params.ep + ')');
}

// ---------------------------------------------------------------- Anthropic
function anthropicFor(ctx, sc, requireVersion) {
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

// The Anthropic API itself wants anthropic-version; the Messages-shaped endpoints of
// Workers AI and xAI do not.
function anthropicMessages(ctx, sc) { return anthropicFor(ctx, sc, true); }
function anthropicMessagesLax(ctx, sc) { return anthropicFor(ctx, sc, false); }
function anthropicNotFound() { return simpleError('anthropic', 404, undefined, 'Not Found'); }

// ---------------------------------------------------------------- Gemini
// Every models/<m>:<method> handler first rejects a body that is not JSON.
function gemini(name, fn) {
  return named(name, (ctx, sc, params) => {
    const model = safeDecode(params.model);
    const body = ctx.json;
    if (ctx.body.length && body === undefined) return simpleError('gemini', 400, undefined, 'Invalid JSON payload received.');
    return fn(ctx, sc, model, body, params);
  });
}

function geminiGenerateFor(streamReq) {
  return gemini(streamReq ? 'geminiStreamGenerateContent' : 'geminiGenerateContent', (ctx, sc, model, body) => {
    if (!body || typeof body !== 'object' || !body.contents || (Array.isArray(body.contents) && !body.contents.length)) {
      return simpleError('gemini', 400, undefined, '* GenerateContentRequest.contents: contents is not specified\n');
    }
    const norm = C.fromGemini(body, model);
    const stream = streamReq && !sc.json_body_for_stream;
    const p = C.plan(norm, sc, 'gemini');
    return C.geminiGenerate(norm, p, { stream, jsonArray: stream && ctx.query.alt !== 'sse', scenario: sc });
  });
}

const geminiGenerateContent = geminiGenerateFor(false);
const geminiStreamGenerateContent = geminiGenerateFor(true);

const geminiEmbedContent = gemini('geminiEmbedContent', (ctx, sc, model, body) => {
  const text = body && body.content ? JSON.stringify(body.content) : '';
  return jsonReply(200, { embedding: { values: U.embedding(text, Number(body && body.outputDimensionality) || 768) } });
});

const geminiBatchEmbedContents = gemini('geminiBatchEmbedContents', (ctx, sc, model, body) => {
  const reqs = (body && body.requests) || [];
  return jsonReply(200, { embeddings: reqs.map((r) => ({ values: U.embedding(JSON.stringify(r.content || ''), Number(r.outputDimensionality) || 768) })) });
});

const geminiCountTokens = gemini('geminiCountTokens', (ctx, sc, model, body) => {
  const norm = C.fromGemini(body || {}, model);
  return jsonReply(200, { totalTokens: norm.promptTokens });
});

const geminiPredict = gemini('geminiPredict', (ctx, sc, model, body) => {
  const params = (body && body.parameters) || {};
  const n = Math.max(1, Math.min(4, Number(params.sampleCount) || 1));
  const preds = [];
  for (let i = 0; i < n; i++) preds.push({ bytesBase64Encoded: U.makePng(8, 8).toString('base64'), mimeType: 'image/png' });
  return jsonReply(200, { predictions: preds });
});

const geminiUnknownMethod = gemini('geminiUnknownMethod', (ctx, sc, model, body, params) => simpleError('gemini', 404, undefined, 'Method ' + params.method + ' not found for model ' + model));

function geminiNotFound() { return simpleError('gemini', 404, undefined, 'Requested entity was not found.'); }

// ---------------------------------------------------------------- gateway, other providers
function gatewayNoRoute() { return simpleError('cloudflare', 404, 7003, 'No route for that URI'); }

// ---------------------------------------------------------------- universal endpoint
function parseQueryString(qs) {
  const out = {};
  if (!qs) return out;
  for (const [k, v] of new url.URLSearchParams(qs)) out[k] = v;
  return out;
}

// POST /v1/:acct/:gw with an array of steps. Each step is routed as a virtual request to
// /v1/<acct>/<gw>/<provider>/<endpoint> through the same tables (ctx.routeStep), with its
// own scenario; 429 and 5xx fall through to the next step.
function universal(ctx, params) {
  const acct = params.acct;
  const gw = params.gw;
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
    if (timeout && sc.head_delay_ms && Number(sc.head_delay_ms) > timeout && i < steps.length - 1) {
      ctx.record.universal_steps.push({ index: i, provider: step.provider, endpoint: step.endpoint, path: subPath, status: 'timeout' });
      continue;
    }
    const reply = ctx.routeStep(sub, sc, { skipGatewayAuth: true });
    ctx.record.universal_steps.push({ index: i, provider: step.provider, endpoint: step.endpoint, path: subPath, status: reply.status });
    reply.headers['cf-aig-step'] = String(i);
    last = reply;
    if ((reply.status >= 500 || reply.status === 429) && i < steps.length - 1) continue;
    return reply;
  }
  return last || simpleError('gateway', 504, 2001, 'All steps timed out');
}

// ---------------------------------------------------------------- /__files/*
function file(contentType, make) {
  return named('file(' + contentType + ')', () => ({ status: 200, headers: { 'content-type': contentType }, body: make() }));
}

module.exports = {
  workersAiModel, workersAiRunEnvelope, workersAiChatCompletions, workersAiEmbeddings, workersAiModelSearch,
  openaiChat, openaiImages, openaiEmbeddings, openaiTranscription, openaiSpeech, openaiUnknownUrl,
  anthropicMessages, anthropicMessagesLax, anthropicNotFound,
  geminiGenerateContent, geminiStreamGenerateContent, geminiEmbedContent, geminiBatchEmbedContents,
  geminiCountTokens, geminiPredict, geminiUnknownMethod, geminiNotFound,
  gatewayNoRoute, universal, file,
};
