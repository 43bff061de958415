'use strict';
// Chat generation: request normalisation per wire format, a deterministic "plan" of
// what the model says, and serialisers for each wire format (OpenAI chat completions,
// Workers AI native, Anthropic Messages, Gemini generateContent).

const U = require('./util');

// ---------------------------------------------------------------- replies
function jsonReply(status, obj, headers) {
  return {
    status,
    headers: Object.assign({ 'content-type': 'application/json' }, headers || {}),
    body: JSON.stringify(obj),
  };
}
function sseReply(events, headers) {
  return {
    status: 200,
    headers: Object.assign({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, headers || {}),
    events,
  };
}
function data(obj) { return 'data: ' + (typeof obj === 'string' ? obj : JSON.stringify(obj)) + '\n\n'; }
function named(event, obj) { return 'event: ' + event + '\ndata: ' + JSON.stringify(obj) + '\n\n'; }

// ---------------------------------------------------------------- normalisation
function partsText(content) {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => {
      if (typeof p === 'string') return p;
      if (!p || typeof p !== 'object') return '';
      if (typeof p.text === 'string') return p.text;
      if (p.type === 'tool_result') return partsText(p.content);
      return '';
    }).filter((s) => s !== '').join(' ');
  }
  if (typeof content === 'object') {
    if (typeof content.text === 'string') return content.text;
    return JSON.stringify(content);
  }
  return String(content);
}

function maxTokensOf(body, keys) {
  for (const k of keys) {
    const v = body && body[k];
    if (typeof v === 'number' && v > 0) return v;
  }
  return undefined;
}

function structuredFromResponseFormat(rf, body) {
  if (body && body.guided_json && typeof body.guided_json === 'object') return { schema: body.guided_json, kind: 'json_schema' };
  if (!rf || typeof rf !== 'object') return null;
  if (rf.type === 'json_schema') {
    let js = rf.json_schema;
    let schema = null;
    if (js && typeof js === 'object') {
      if (js.schema && typeof js.schema === 'object') schema = js.schema;
      else schema = js; // Workers AI native: bare schema
    } else if (rf.schema && typeof rf.schema === 'object') schema = rf.schema;
    return { schema, kind: 'json_schema' };
  }
  if (rf.type === 'json_object') return { schema: null, kind: 'json_object' };
  return null;
}

// OpenAI chat body (also Workers AI native messages/prompt form).
function fromOpenAI(body) {
  body = body || {};
  const msgs = [];
  if (typeof body.prompt === 'string') msgs.push({ role: 'user', text: body.prompt });
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (!m || typeof m !== 'object') continue;
      const text = partsText(m.content);
      msgs.push({ role: m.role || 'user', text });
    }
  }
  const tools = [];
  if (Array.isArray(body.tools)) {
    for (const t of body.tools) {
      if (!t || typeof t !== 'object') continue;
      if (t.function && typeof t.function === 'object') tools.push({ name: t.function.name, schema: t.function.parameters });
      else if (t.name) tools.push({ name: t.name, schema: t.parameters || t.input_schema });
    }
  }
  let forced = null;
  const tc = body.tool_choice;
  if (tc && typeof tc === 'object' && tc.function && tc.function.name) forced = { name: tc.function.name, mode: 'args' };
  else if (tc === 'required' && tools.length) forced = { name: tools[0].name, mode: 'args' };
  return finishNorm({
    messages: msgs,
    tools,
    forced: tc === 'none' ? null : forced,
    toolsDisabled: tc === 'none',
    structured: structuredFromResponseFormat(body.response_format, body),
    maxTokens: maxTokensOf(body, ['max_completion_tokens', 'max_tokens']),
    stream: body.stream === true,
    includeUsage: !!(body.stream_options && body.stream_options.include_usage),
    model: body.model,
    body,
  });
}

function fromAnthropic(body) {
  body = body || {};
  const msgs = [];
  if (body.system) msgs.push({ role: 'system', text: partsText(body.system) });
  let toolResult = null;
  if (Array.isArray(body.messages)) {
    body.messages.forEach((m, i) => {
      if (!m || typeof m !== 'object') return;
      let role = m.role || 'user';
      const text = partsText(m.content);
      if (Array.isArray(m.content) && m.content.some((b) => b && b.type === 'tool_result')) {
        if (i === body.messages.length - 1) {
          toolResult = m.content.filter((b) => b && b.type === 'tool_result').map((b) => partsText(b.content)).join(' ');
        }
        role = 'tool';
      }
      msgs.push({ role, text });
    });
  }
  const tools = [];
  if (Array.isArray(body.tools)) {
    for (const t of body.tools) if (t && t.name) tools.push({ name: t.name, schema: t.input_schema });
  }
  let forced = null;
  const tc = body.tool_choice;
  if (tc && typeof tc === 'object') {
    if (tc.type === 'tool' && tc.name) forced = { name: tc.name, mode: 'structured' };
    else if (tc.type === 'any' && tools.length) forced = { name: tools[0].name, mode: 'args' };
  }
  return finishNorm({
    messages: msgs, tools, forced, toolsDisabled: !!(tc && tc.type === 'none'), toolResult,
    structured: null,
    maxTokens: maxTokensOf(body, ['max_tokens']),
    stream: body.stream === true,
    includeUsage: true,
    model: body.model,
    thinking: !!(body.thinking && body.thinking.type === 'enabled'),
    body,
  });
}

function fromGemini(body, model) {
  body = body || {};
  const msgs = [];
  if (body.systemInstruction) {
    const si = body.systemInstruction;
    msgs.push({ role: 'system', text: typeof si === 'string' ? si : partsText(si.parts) });
  }
  let toolResult = null;
  const contents = Array.isArray(body.contents) ? body.contents : (body.contents ? [body.contents] : []);
  contents.forEach((c, i) => {
    if (!c || typeof c !== 'object') return;
    const parts = Array.isArray(c.parts) ? c.parts : [];
    const fr = parts.filter((p) => p && p.functionResponse);
    let role = c.role === 'model' ? 'assistant' : 'user';
    if (fr.length) {
      role = 'tool';
      if (i === contents.length - 1) toolResult = fr.map((p) => JSON.stringify(p.functionResponse.response)).join(' ');
    }
    msgs.push({ role, text: partsText(parts) });
  });
  const tools = [];
  if (Array.isArray(body.tools)) {
    for (const t of body.tools) {
      const decls = (t && (t.functionDeclarations || t.function_declarations)) || [];
      for (const d of decls) if (d && d.name) tools.push({ name: d.name, schema: d.parameters || d.parametersJsonSchema });
    }
  }
  const gc = body.generationConfig || {};
  let structured = null;
  if (gc.responseSchema || gc.responseJsonSchema || gc.response_schema) {
    structured = { schema: gc.responseSchema || gc.responseJsonSchema || gc.response_schema, kind: 'json_schema' };
  } else if (gc.responseMimeType === 'application/json') structured = { schema: null, kind: 'json_object' };
  let forced = null;
  const fcc = body.toolConfig && body.toolConfig.functionCallingConfig;
  if (fcc && fcc.mode === 'ANY' && tools.length) {
    const allowed = Array.isArray(fcc.allowedFunctionNames) && fcc.allowedFunctionNames.length ? fcc.allowedFunctionNames[0] : tools[0].name;
    forced = { name: allowed, mode: 'args' };
  }
  return finishNorm({
    messages: msgs, tools, forced, toolsDisabled: !!(fcc && fcc.mode === 'NONE'), toolResult, structured,
    maxTokens: maxTokensOf(gc, ['maxOutputTokens']),
    stream: false,
    includeUsage: true,
    model,
    modalities: Array.isArray(gc.responseModalities) ? gc.responseModalities.map((x) => String(x).toUpperCase()) : null,
    speechConfig: gc.speechConfig,
    thinking: !!(gc.thinkingConfig && gc.thinkingConfig.includeThoughts),
    body,
  });
}

function finishNorm(n) {
  const last = n.messages[n.messages.length - 1];
  n.lastRole = last ? last.role : null;
  if (n.toolResult === undefined || n.toolResult === null) {
    n.toolResult = last && last.role === 'tool' ? last.text : null;
  }
  let lastUser = '';
  for (let i = n.messages.length - 1; i >= 0; i--) {
    if (n.messages[i].role === 'user') { lastUser = n.messages[i].text; break; }
  }
  n.lastUserText = lastUser;
  n.promptTokens = n.messages.reduce((a, m) => a + U.countWords(m.text), 0);
  return n;
}

// ---------------------------------------------------------------- plan
function toolCallFromSpec(spec, i, tools) {
  let args = spec.arguments !== undefined ? spec.arguments : (spec.args !== undefined ? spec.args : spec.input);
  const name = spec.name || (tools[0] && tools[0].name) || 'tool';
  if (args === undefined) {
    const t = tools.find((x) => x.name === name);
    args = U.toolArgsExample(t && t.schema);
  }
  let argsJson;
  let argsObj;
  if (typeof args === 'string') {
    argsJson = args;
    try { argsObj = JSON.parse(args); } catch (e) { argsObj = args; }
  } else {
    argsObj = args;
    argsJson = JSON.stringify(args);
  }
  return { name, args: argsObj, argsJson, id: spec.id, pieces: U.splitPieces(argsJson, 3), index: i };
}

const LABELS = {
  'workers-ai': 'Workers AI', openai: 'OpenAI', anthropic: 'Anthropic', gemini: 'Gemini',
  grok: 'xAI', openrouter: 'OpenRouter', compat: 'AI Gateway',
};

function plan(norm, sc, provider) {
  sc = sc || {};
  const p = {
    reasoningDeltas: U.splitWords(sc.reasoning),
    textDeltas: [],
    toolCalls: [],
    finish: 'stop',
    structuredValue: undefined,
    structuredKind: null,
  };
  let text = null;
  if (Array.isArray(sc.tool_calls) && sc.tool_calls.length) {
    p.toolCalls = sc.tool_calls.map((s, i) => toolCallFromSpec(s || {}, i, norm.tools));
    if (sc.text !== undefined) text = String(sc.text);
  } else if (sc.text !== undefined && sc.text !== null) {
    text = String(sc.text);
  } else if (norm.toolResult !== null && norm.toolResult !== undefined) {
    text = 'The tool said: ' + norm.toolResult;
  } else if (norm.forced && !norm.toolsDisabled) {
    const t = norm.tools.find((x) => x.name === norm.forced.name) || norm.tools[0];
    const args = norm.forced.mode === 'structured' ? U.schemaExample(t && t.schema) : U.toolArgsExample(t && t.schema);
    p.toolCalls = [toolCallFromSpec({ name: norm.forced.name, arguments: args }, 0, norm.tools)];
  } else if (norm.tools.length && !norm.toolsDisabled && norm.lastRole === 'user' && /weather/i.test(norm.lastUserText || '')) {
    p.toolCalls = [toolCallFromSpec({ name: norm.tools[0].name }, 0, norm.tools)];
  } else if (norm.structured) {
    const v = norm.structured.schema ? U.schemaExample(norm.structured.schema) : { result: 'example' };
    p.structuredValue = v;
    p.structuredKind = norm.structured.kind;
    text = JSON.stringify(v);
  } else {
    text = 'Hello from the ' + (LABELS[provider] || provider) + ' emulator! You said: ' + (norm.lastUserText || '');
  }
  if (sc.events !== undefined && Number(sc.events) > 0) {
    const n = Math.floor(Number(sc.events));
    p.textDeltas = new Array(n);
    for (let i = 0; i < n; i++) p.textDeltas[i] = 'tok ';
    p.bulk = true;
  } else if (p.structuredValue !== undefined) {
    // a model streams a JSON answer token by token, not as one piece: after each ',' ':' '{' '[' (and in
    // between when a run is long), so a client's structured-output reader sees the object cut mid-value
    p.textDeltas = text.match(/[^,:{[]{1,12}[,:{[]?|[,:{[]/g) || [text];
  } else {
    p.textDeltas = U.splitWords(text);
  }
  if (p.toolCalls.length) p.finish = 'tool_calls';
  if (norm.maxTokens && !p.toolCalls.length && p.textDeltas.length > norm.maxTokens && !p.bulk) {
    p.textDeltas = p.textDeltas.slice(0, norm.maxTokens);
    p.finish = 'length';
    p.structuredValue = undefined;
  }
  p.text = p.textDeltas.join('');
  p.reasoning = p.reasoningDeltas.join('');
  if (sc.finish_reason) p.finish = String(sc.finish_reason);
  p.noFinish = !!sc.no_finish;
  const pieces = p.toolCalls.reduce((a, c) => a + c.pieces.length, 0);
  p.usage = {
    prompt: norm.promptTokens,
    completion: p.textDeltas.length + p.reasoningDeltas.length + pieces,
  };
  if (sc.usage && typeof sc.usage === 'object') {
    if (sc.usage.prompt_tokens !== undefined) p.usage.prompt = sc.usage.prompt_tokens;
    if (sc.usage.completion_tokens !== undefined) p.usage.completion = sc.usage.completion_tokens;
  }
  return p;
}

function nowSec() { return Math.floor(Date.now() / 1000); }

// ---------------------------------------------------------------- OpenAI chat
function openaiUsage(p) {
  return { prompt_tokens: p.usage.prompt, completion_tokens: p.usage.completion, total_tokens: p.usage.prompt + p.usage.completion };
}

function openaiFinish(p) { return p.finish; }

function openaiChat(norm, p, info) {
  const id = 'chatcmpl-' + U.randomAlnum(24);
  const model = norm.model || info.defaultModel || 'emulator-model';
  const created = nowSec();
  p.toolCalls.forEach((c) => { if (!c.id) c.id = 'call_' + U.randomAlnum(24); });
  if (!info.stream) {
    const message = { role: 'assistant', content: p.text === '' && p.toolCalls.length ? null : p.text, refusal: null };
    if (p.reasoning) message.reasoning_content = p.reasoning;
    if (p.toolCalls.length) {
      message.tool_calls = p.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.argsJson } }));
    }
    if (info.images) message.images = info.images;
    return jsonReply(200, {
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: p.noFinish ? null : openaiFinish(p) }],
      usage: openaiUsage(p),
    }, info.headers);
  }
  const usageTail = norm.includeUsage ? ',"usage":null' : '';
  const head = 'data: {"id":' + JSON.stringify(id) + ',"object":"chat.completion.chunk","created":' + created +
    ',"model":' + JSON.stringify(model) + ',"choices":[{"index":0,"delta":';
  const tailOpen = ',"logprobs":null,"finish_reason":null}]' + usageTail + '}\n\n';
  const chunk = (delta) => head + JSON.stringify(delta) + tailOpen;
  const events = [];
  if (info.provider === 'openrouter') {
    events.push(': OPENROUTER PROCESSING\n\n');
    events.push(': OPENROUTER PROCESSING\n\n');
  }
  events.push(chunk({ role: 'assistant', content: '' }));
  for (const d of p.reasoningDeltas) events.push(chunk({ reasoning_content: d }));
  if (p.bulk) {
    for (let i = 0; i < p.textDeltas.length; i++) events.push(head + '{"content":"tok "}' + tailOpen);
  } else {
    for (const d of p.textDeltas) events.push(chunk({ content: d }));
  }
  if (info.images) events.push(chunk({ images: info.images }));
  for (const c of p.toolCalls) {
    events.push(chunk({ tool_calls: [{ index: c.index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const piece of c.pieces) events.push(chunk({ tool_calls: [{ index: c.index, function: { arguments: piece } }] }));
  }
  if (!p.noFinish) {
    const fin = { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: openaiFinish(p) }] };
    if (norm.includeUsage) fin.usage = null;
    events.push(data(fin));
    if (norm.includeUsage) {
      events.push(data({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: openaiUsage(p) }));
    }
    events.push('data: [DONE]\n\n');
  }
  return sseReply(events, info.headers);
}

// ---------------------------------------------------------------- Workers AI native
// Random-length padding ("p" field, side-channel mitigation); drawn from a pool for speed.
const PAD_POOL = [];
for (let i = 0; i < 97; i++) PAD_POOL.push(U.randomAlnum(1 + ((i * 7) % 24)));
function pad() { return PAD_POOL[Math.floor(Math.random() * PAD_POOL.length)]; }

function nativeUsage(p) {
  return { prompt_tokens: p.usage.prompt, completion_tokens: p.usage.completion, total_tokens: p.usage.prompt + p.usage.completion };
}

function envelope(result) { return { result, success: true, errors: [], messages: [] }; }

function nativeText(p) {
  // Native models have no reasoning channel; reasoning models inline it as <think>.
  if (p.reasoning) return '<think>\n' + p.reasoning + '\n</think>\n\n' + p.text;
  return p.text;
}

function nativeRun(norm, p, info) {
  const sc = info.scenario || {};
  if (!info.stream) {
    let response = nativeText(p);
    if (p.structuredValue !== undefined && p.structuredKind === 'json_schema' && !p.reasoning) response = p.structuredValue;
    if (p.toolCalls.length && response === '') response = null;
    const result = {
      response,
      tool_calls: p.toolCalls.map((c) => ({ name: c.name, arguments: c.args })),
      usage: nativeUsage(p),
    };
    return jsonReply(200, info.envelope === false ? result : envelope(result), info.headers);
  }
  const events = [];
  if (p.reasoning) {
    events.push(data({ response: '<think>\n', p: pad() }));
    for (const d of p.reasoningDeltas) events.push(data({ response: d, p: pad() }));
    events.push(data({ response: '\n</think>\n\n', p: pad() }));
  }
  if (p.bulk) {
    for (let i = 0; i < p.textDeltas.length; i++) events.push('data: {"response":"tok ","p":"' + pad() + '"}\n\n');
  } else {
    for (const d of p.textDeltas) events.push(data({ response: d, p: pad() }));
  }
  if (p.toolCalls.length) {
    if (sc.native_tool_style === 'flat') {
      events.push(data({ response: '', tool_calls: p.toolCalls.map((c) => ({ name: c.name, arguments: c.args })), p: pad() }));
    } else {
      for (const c of p.toolCalls) {
        if (!c.id) c.id = 'chatcmpl-tool-' + U.randomAlnum(32).toLowerCase();
        events.push(data({ response: '', tool_calls: [{ id: c.id, type: 'function', index: c.index, function: { name: c.name, arguments: '' } }], p: pad() }));
        for (const piece of c.pieces) events.push(data({ response: '', tool_calls: [{ index: c.index, function: { arguments: piece } }], p: pad() }));
      }
      const last = p.toolCalls[p.toolCalls.length - 1];
      events.push(data({ response: '', tool_calls: [{ id: null, type: null, index: last.index, function: { name: null, arguments: '' } }], p: pad() }));
    }
  }
  if (!p.noFinish) {
    events.push(data({ response: '', usage: nativeUsage(p) }));
    events.push('data: [DONE]\n\n');
  }
  return sseReply(events, info.headers);
}

// ---------------------------------------------------------------- Anthropic
function anthropicStop(p) {
  if (p.finish === 'tool_calls') return 'tool_use';
  if (p.finish === 'length') return 'max_tokens';
  if (p.finish === 'stop') return 'end_turn';
  return p.finish;
}

function anthropicMessages(norm, p, info) {
  const sc = info.scenario || {};
  const id = 'msg_' + U.randomAlnum(24);
  const model = norm.model || 'claude-emulator';
  p.toolCalls.forEach((c) => { if (!c.id) c.id = 'toolu_' + U.randomAlnum(24); });
  const signature = 'sig_' + U.randomAlnum(32);
  if (!info.stream) {
    const content = [];
    if (p.reasoning) content.push({ type: 'thinking', thinking: p.reasoning, signature });
    if (p.text !== '' || !p.toolCalls.length) content.push({ type: 'text', text: p.text });
    for (const c of p.toolCalls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: typeof c.args === 'object' && c.args !== null ? c.args : {} });
    return jsonReply(200, {
      id, type: 'message', role: 'assistant', model, content,
      stop_reason: p.noFinish ? null : anthropicStop(p), stop_sequence: null,
      usage: { input_tokens: p.usage.prompt, output_tokens: p.usage.completion, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    }, info.headers);
  }
  const events = [];
  events.push(named('message_start', {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: p.usage.prompt, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
  }));
  let index = 0;
  let pinged = false;
  const ping = () => { if (!pinged) { pinged = true; events.push(named('ping', { type: 'ping' })); } };
  if (p.reasoning) {
    events.push(named('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    ping();
    for (const d of p.reasoningDeltas) events.push(named('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: d } }));
    events.push(named('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature } }));
    events.push(named('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  if (p.textDeltas.length || !p.toolCalls.length) {
    events.push(named('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    ping();
    if (p.bulk) {
      const pre = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + index + ',"delta":{"type":"text_delta","text":"tok "}}\n\n';
      for (let i = 0; i < p.textDeltas.length; i++) events.push(pre);
    } else {
      for (const d of p.textDeltas) events.push(named('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: d } }));
    }
    events.push(named('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  for (const c of p.toolCalls) {
    events.push(named('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }));
    ping();
    events.push(named('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }));
    for (const piece of c.pieces) events.push(named('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }));
    events.push(named('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  if (sc.mid_stream_error) {
    const after = Math.max(1, Math.min(events.length, Number(sc.error_after) || 3));
    events.length = after;
    events.push(named('error', { type: 'error', error: { type: sc.error_type || 'overloaded_error', message: sc.error_message || 'Overloaded' } }));
    return sseReply(events, info.headers);
  }
  if (!p.noFinish) {
    events.push(named('message_delta', { type: 'message_delta', delta: { stop_reason: anthropicStop(p), stop_sequence: null }, usage: { output_tokens: p.usage.completion } }));
    events.push(named('message_stop', { type: 'message_stop' }));
  }
  return sseReply(events, info.headers);
}

// ---------------------------------------------------------------- Gemini
function geminiFinish(p) {
  if (p.finish === 'length') return 'MAX_TOKENS';
  if (p.finish === 'stop' || p.finish === 'tool_calls') return 'STOP';
  return p.finish;
}

function geminiMedia(norm) {
  const mods = norm.modalities || [];
  const parts = [];
  if (mods.indexOf('IMAGE') >= 0) parts.push({ inlineData: { mimeType: 'image/png', data: U.makePng(8, 8).toString('base64') } });
  if (mods.indexOf('AUDIO') >= 0) parts.push({ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: U.pcm16(24000, 0.25).toString('base64') } });
  return parts;
}

function geminiGenerate(norm, p, info) {
  const model = norm.model || 'gemini-emulator';
  const responseId = U.randomAlnum(20);
  const mods = norm.modalities || [];
  const mediaParts = geminiMedia(norm);
  const textWanted = !mods.length || mods.indexOf('TEXT') >= 0;
  const usageAt = (completion, final) => {
    // Thought tokens are reported apart from candidate tokens.
    const thoughts = Math.min(p.reasoningDeltas.length, completion);
    const u = { promptTokenCount: p.usage.prompt, candidatesTokenCount: completion - thoughts, totalTokenCount: p.usage.prompt + completion };
    if (thoughts) u.thoughtsTokenCount = thoughts;
    if (final) u.promptTokensDetails = [{ modality: 'TEXT', tokenCount: p.usage.prompt }];
    return u;
  };
  const fcPart = (c) => ({ functionCall: { name: c.name, args: typeof c.args === 'object' && c.args !== null ? c.args : {} } });
  if (!info.stream) {
    const parts = [];
    if (p.reasoning) parts.push({ text: p.reasoning, thought: true });
    if (textWanted && (p.text !== '' || (!p.toolCalls.length && !mediaParts.length))) parts.push({ text: p.text });
    for (const mp of mediaParts) parts.push(mp);
    for (const c of p.toolCalls) parts.push(fcPart(c));
    const cand = { content: { role: 'model', parts }, index: 0 };
    if (!p.noFinish) cand.finishReason = geminiFinish(p);
    return jsonReply(200, { candidates: [cand], usageMetadata: usageAt(p.usage.completion, true), modelVersion: model, responseId }, info.headers);
  }
  const chunks = [];
  let produced = 0;
  const push = (parts, final) => {
    const cand = { content: { role: 'model', parts }, index: 0 };
    if (final && !p.noFinish) cand.finishReason = geminiFinish(p);
    chunks.push({ candidates: [cand], usageMetadata: usageAt(produced, final), modelVersion: model, responseId });
  };
  for (const d of p.reasoningDeltas) { produced++; push([{ text: d, thought: true }], false); }
  if (textWanted) {
    for (const d of p.textDeltas) { produced++; push([{ text: d }], false); }
  }
  const tail = [];
  for (const mp of mediaParts) tail.push(mp);
  for (const c of p.toolCalls) { tail.push(fcPart(c)); produced += c.pieces.length; }
  produced = p.usage.completion;
  if (tail.length) push(tail, true);
  else if (chunks.length) {
    // The finish reason rides on the last content event.
    const last = chunks[chunks.length - 1];
    if (!p.noFinish) last.candidates[0].finishReason = geminiFinish(p);
    last.usageMetadata = usageAt(produced, true);
  } else push([{ text: '' }], true);
  if (info.jsonArray) {
    // streamGenerateContent without alt=sse: a JSON array streamed incrementally.
    const events = [];
    chunks.forEach((c, i) => events.push((i === 0 ? '[' : ',\r\n') + JSON.stringify(c)));
    events.push(']');
    return { status: 200, headers: Object.assign({ 'content-type': 'application/json; charset=UTF-8' }, info.headers || {}), events };
  }
  return sseReply(chunks.map((c) => 'data: ' + JSON.stringify(c) + '\r\n\r\n'), info.headers);
}

module.exports = {
  jsonReply, sseReply, data, named, envelope,
  fromOpenAI, fromAnthropic, fromGemini, plan,
  openaiChat, nativeRun, anthropicMessages, geminiGenerate,
};
